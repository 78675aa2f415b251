//! Identity providers: the organisation's OpenID Connect providers, listed for its owners
//! and admins (with the redirect URI to register at each), added, replaced and removed by
//! its owners with a fresh second factor — the same domain actions as
//! `/api/v1/orgs/{org}/oidc-providers`. The client secret is typed once and never shown.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use zeroize::Zeroizing;

use twofold_core::domain::federation::ProviderSettings;
use twofold_core::domain::users::Role;

use super::{Admin, Section, admin_of, admin_of_form, guarded, stopped};
use crate::AppState;
use crate::error::ApiError;
use crate::web::account::when_cell;
use crate::web::page::{failure, see_other_to};

const TITLE: &str = "Identity providers";

/// The providers, and (for owners) the form to add or replace one.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let admin = match admin_of(&st, &headers, &org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    render(&st, &admin, &ProviderForm::default(), None).await
}

fn words(list: &[String]) -> String {
    list.join(" ")
}

async fn render(
    st: &AppState,
    admin: &Admin,
    typed: &ProviderForm,
    err: Option<&ApiError>,
) -> Response {
    let providers = match st.twofold.oidc_providers(&admin.caller, &admin.org).await {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let owner = admin.caller.role() == Role::Owner;
    let redirect_uri = st.twofold.oidc_redirect_uri();
    let body = html! {
        p { "People of this organisation can sign in through its identity provider (OpenID \
             Connect), which does their two-step sign-in: Twofold asks them for no code. \
             Register this redirect URI at the provider:" }
        p.secret { code #redirect-uri data-text=(redirect_uri) { (redirect_uri) } }
        @if providers.is_empty() {
            p #no-providers { "No identity provider yet." }
        } @else {
            table #providers {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Issuer" }
                    th scope="col" { "Client ID" } th scope="col" { "New users" }
                    th scope="col" { "Email domains" } th scope="col" { "Changed" }
                    @if owner { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @for p in &providers {
                        tr {
                            td { (p.name) }
                            td data-label="Issuer" { (p.issuer) }
                            td data-label="Client ID" { (p.client_id) }
                            td data-label="New users" {
                                @if p.create_users { "Created at first sign-in" } @else { "Added by an admin" }
                            }
                            td data-label="Email domains" {
                                @if p.allowed_email_domains.is_empty() { "Any" }
                                @else { (p.allowed_email_domains.join(", ")) }
                            }
                            td.when data-label="Changed" { (when_cell(p.updated_at)) }
                            @if owner {
                                td.actions {
                                    form method="post" action=(admin.url(&format!("identity-providers/{}/remove", p.name))) {
                                        (admin.csrf_field())
                                        button.link type="submit" { "Remove" span.visually-hidden { ": " (p.name) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { "People start at " code { (st.twofold.public_url()) "/auth/oidc/" (admin.org) "/<name>/start" }
                ", or from the sign-in page, which offers the providers once they type the organisation." }
        }
        h2 { "Add or replace a provider" }
        @if !owner {
            p #owners-only { "Only the organisation's owners can change its identity providers." }
        } @else {
            form.provider method="post" action=(admin.url("identity-providers")) {
                (admin.csrf_field())
                @if let Some(e) = err { (failure(e, "provider-error")) }
                label for="p-name" { "Name (in the sign-in address; lowercase letters, digits, hyphens)" }
                input #p-name type="text" name="name" value=(typed.name) required maxlength="40"
                    pattern="[a-z0-9]([a-z0-9-]*[a-z0-9])?" autocapitalize="none" spellcheck="false";
                label for="p-issuer" { "Issuer URL" }
                input #p-issuer type="url" name="issuer" value=(typed.issuer) required
                    placeholder="https://login.example.com" spellcheck="false";
                label for="p-client-id" { "Client ID" }
                input #p-client-id type="text" name="client_id" value=(typed.client_id) required
                    autocapitalize="none" spellcheck="false";
                label for="p-secret" { "Client secret (leave empty to keep the stored one)" }
                input #p-secret type="password" name="client_secret" autocomplete="off";
                label for="p-scopes" { "Scopes besides openid (space-separated)" }
                input #p-scopes type="text" name="scopes" value=(typed.scopes) spellcheck="false";
                label for="p-claim" { "Claim that holds the username" }
                input #p-claim type="text" name="username_claim" value=(typed.username_claim) spellcheck="false";
                label for="p-domains" { "Allowed email domains (space-separated; empty: any)" }
                input #p-domains type="text" name="allowed_email_domains"
                    value=(typed.allowed_email_domains) spellcheck="false";
                label.check {
                    input type="checkbox" name="create_users" checked[typed.create_users.is_some()];
                    " Create people at their first sign-in (as members)"
                }
                label.check {
                    input type="checkbox" name="link_by_email" checked[typed.link_by_email.is_some()];
                    " Let people with a password here link the provider from their Security page \
                     (same verified email, with their password and second factor)"
                }
                button type="submit" { "Save provider" }
            }
        }
    };
    admin
        .page(Section::Providers, TITLE, body)
        .failed_if(err)
        .into_response()
}

/// The form, as typed (kept when it is asked again; never the secret).
#[derive(Deserialize)]
pub(crate) struct ProviderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    username_claim: String,
    #[serde(default)]
    allowed_email_domains: String,
    create_users: Option<String>,
    link_by_email: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

impl Default for ProviderForm {
    fn default() -> Self {
        ProviderForm {
            csrf: String::new(),
            name: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            scopes: words(&["profile".into(), "email".into()]),
            username_claim: "preferred_username".into(),
            allowed_email_domains: String::new(),
            create_users: None,
            link_by_email: None,
            step_up_method: None,
            step_up_code: None,
        }
    }
}

impl Drop for ProviderForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.client_secret);
    }
}

fn list(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// "Save provider".
pub(crate) async fn save(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Form(mut form): Form<ProviderForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let secret = std::mem::take(&mut form.client_secret);
    let settings = || ProviderSettings {
        issuer: form.issuer.trim().to_owned(),
        client_id: form.client_id.trim().to_owned(),
        client_secret: (!secret.is_empty()).then(|| Zeroizing::new(secret.clone())),
        scopes: Some(list(&form.scopes)),
        username_claim: Some(form.username_claim.trim().to_owned()).filter(|c| !c.is_empty()),
        allowed_email_domains: Some(list(&form.allowed_email_domains)),
        create_users: Some(form.create_users.is_some()),
        link_by_email: Some(form.link_by_email.is_some()),
    };
    let outcome = guarded(
        &st,
        &headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| {
            st.twofold
                .put_oidc_provider(c, &org, form.name.trim(), settings(), None)
                .await
        },
    )
    .await;
    let secret = Zeroizing::new(secret);
    match outcome {
        Ok(_) => see_other_to(&admin.url("identity-providers"), vec![]),
        Err(stop) if stop.ask.is_none() => render(&st, &admin, &form, Some(&stop.error)).await,
        Err(stop) => stopped(
            &admin,
            Section::Providers,
            TITLE,
            &admin.url("identity-providers"),
            &[
                ("name", &form.name),
                ("issuer", &form.issuer),
                ("client_id", &form.client_id),
                // Kept in the confirming form only: it goes back to the server that had it.
                ("client_secret", &secret),
                ("scopes", &form.scopes),
                ("username_claim", &form.username_claim),
                ("allowed_email_domains", &form.allowed_email_domains),
                (
                    "create_users",
                    if form.create_users.is_some() {
                        "on"
                    } else {
                        ""
                    },
                ),
                (
                    "link_by_email",
                    if form.link_by_email.is_some() {
                        "on"
                    } else {
                        ""
                    },
                ),
            ],
            "Identity providers decide who may sign in, so first confirm it is you.",
            &stop,
        ),
    }
}

#[derive(Deserialize)]
pub(crate) struct ProviderPath {
    org: String,
    name: String,
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(default)]
    csrf: String,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// "Remove": its people can no longer sign in until a provider is configured again.
pub(crate) async fn remove(
    State(st): State<AppState>,
    Path(p): Path<ProviderPath>,
    headers: HeaderMap,
    Form(form): Form<RemoveForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &p.org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let outcome = guarded(
        &st,
        &headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| {
            st.twofold
                .delete_oidc_provider(c, &p.org, &p.name, None)
                .await
        },
    )
    .await;
    match outcome {
        Ok(()) => see_other_to(&admin.url("identity-providers"), vec![]),
        Err(stop) => stopped(
            &admin,
            Section::Providers,
            TITLE,
            &admin.url(&format!("identity-providers/{}/remove", p.name)),
            &[],
            "Removing a provider stops its people signing in, so first confirm it is you.",
            &stop,
        ),
    }
}
