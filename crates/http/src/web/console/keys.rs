//! API keys, for applications that introspect tokens: made with a name and shown once
//! (with a Copy button), listed with their last use, revoked.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::api_keys::ApiKeyCreated;

use super::{Admin, Section, admin_of, admin_of_form, guarded, stopped};
use crate::AppState;
use crate::error::ApiError;
use crate::web::CsrfForm;
use crate::web::account::when_cell;
use crate::web::page::{failure, see_other_to};

const TITLE: &str = "API keys";

/// The keys, and the form for a new one.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let admin = match admin_of(&st, &headers, &org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    render(&st, &admin, None, None).await
}

async fn render(
    st: &AppState,
    admin: &Admin,
    created: Option<&ApiKeyCreated>,
    err: Option<&ApiError>,
) -> Response {
    let keys = match st.twofold.list_api_keys(&admin.caller, &admin.org).await {
        Ok(k) => k,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let body = html! {
        @if let Some(k) = created { (shown_once(k)) }
        p { "Applications send a key as " code { "Authorization: Bearer <key>" }
            " to ask Twofold whether a token is valid (" code { "POST /api/v1/introspect" } ")." }
        @if keys.is_empty() {
            p #no-keys { "No keys yet." }
        } @else {
            table #keys {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Created" } th scope="col" { "Last used" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @for k in &keys {
                        tr {
                            td { (k.name) }
                            td.when data-label="Created" { (when_cell(k.created_at)) }
                            td.when data-label="Last used" {
                                @match k.last_used_at { Some(t) => (when_cell(t)), None => "Never" }
                            }
                            td.actions {
                                form method="post" action=(admin.url(&format!("api-keys/{}/revoke", k.id))) {
                                    (admin.csrf_field())
                                    button.link type="submit" { "Revoke" span.visually-hidden { ": " (k.name) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "New key" }
        form method="post" action=(admin.url("api-keys")) {
            (admin.csrf_field())
            label for="key-name" { "Name (which application uses it)" }
            input #key-name type="text" name="name" required maxlength="64";
            @if let Some(e) = err { (failure(e, "key-error")) }
            button type="submit" { "Create key" }
        }
    };
    admin
        .page(Section::Keys, TITLE, body)
        .failed_if(err)
        .into_response()
}

/// The new key, this once.
fn shown_once(k: &ApiKeyCreated) -> Markup {
    html! {
        div.card.created role="status" {
            p { strong { "Key “" (k.name) "” created." } " Copy it now: it is shown only this once." }
            p.secret { code #new-key data-text=(k.key) { (k.key) } }
            button.secondary type="button" data-copy="new-key" hidden { "Copy" }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct NewKey {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// "Create key".
pub(crate) async fn create(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Form(form): Form<NewKey>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let outcome = guarded(
        &st,
        &headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| st.twofold.create_api_key(c, &org, &form.name, None).await,
    )
    .await;
    match outcome {
        Ok(k) => render(&st, &admin, Some(&k), None).await,
        Err(stop) if stop.ask.is_none() => render(&st, &admin, None, Some(&stop.error)).await,
        Err(stop) => stopped(
            &admin,
            Section::Keys,
            TITLE,
            &admin.url("api-keys"),
            &[("name", &form.name)],
            "An API key is a credential, so first confirm it is you.",
            &stop,
        ),
    }
}

#[derive(Deserialize)]
pub(crate) struct KeyPath {
    org: String,
    id: String,
}

/// "Revoke": applications using the key are refused from now on.
pub(crate) async fn revoke(
    State(st): State<AppState>,
    Path(p): Path<KeyPath>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &p.org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    match st
        .twofold
        .revoke_api_key(&admin.caller, &p.org, &p.id)
        .await
    {
        Ok(()) => see_other_to(&admin.url("api-keys"), vec![]),
        Err(e) => super::refused_page(&admin, ApiError::from(e)),
    }
}
