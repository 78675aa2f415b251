//! A user's page: what the Users table shows, their factors (kinds and names, never a
//! secret), and what an admin can do for them — Reset MFA (seed 001, for a lost phone)
//! behind a confirmation that says what it does, Unlock, a new invitation, and a role
//! change where the admin may. Owners are protected as the API protects them, and an
//! admin does none of this to themselves here (their own account page does, with a code).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::factors::{FactorDetails, FactorState};
use twofold_core::domain::org_admin::{MfaStatus, OrgUserDetail};
use twofold_core::domain::users::{Role, parse_role, role_str};

use super::users::{mfa_words, role_words, status};
use super::{Admin, Section, admin_of, admin_of_form, guarded, stopped};
use crate::AppState;
use crate::error::ApiError;
use crate::web::account::{when, when_cell};
use crate::web::page::{Page, failure, see_other_to};

#[derive(Deserialize)]
pub(crate) struct UserPath {
    org: String,
    id: String,
}

/// What the admin may do to this user: nothing to themselves, nothing to an owner unless
/// they are one.
fn may_act(admin: &Admin, u: &OrgUserDetail) -> bool {
    u.user.id != admin.caller.user_id()
        && (u.user.role != Role::Owner || admin.caller.role() == Role::Owner)
}

async fn detail(st: &AppState, admin: &Admin, id: &str) -> Result<OrgUserDetail, Response> {
    st.twofold
        .org_user_detail(&admin.caller, &admin.org, id)
        .await
        .map_err(|e| super::refused_page(admin, ApiError::from(e)))
}

/// The user's page; `notice`: what was just done.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(p): Path<UserPath>,
    headers: HeaderMap,
    axum::extract::Query(n): axum::extract::Query<Done>,
) -> Response {
    let admin = match admin_of(&st, &headers, &p.org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let u = match detail(&st, &admin, &p.id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    render(&admin, &u, n.done.as_deref(), None).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

fn render(admin: &Admin, u: &OrgUserDetail, done: Option<&str>, err: Option<&ApiError>) -> Page {
    let user = &u.user;
    let base = format!("users/{}", user.id);
    let notice = match done {
        Some("reset") => Some(
            "MFA was reset. They were signed out and emailed; they set up a \
                               second factor again at their next sign-in.",
        ),
        Some("unlocked") => Some("Unlocked: they can try their code and password again now."),
        Some("role") => Some("The role is saved."),
        Some("invited") => Some("A new invitation was emailed; the earlier code no longer works."),
        _ => None,
    };
    let active: Vec<_> = u
        .factors
        .iter()
        .filter(|f| f.state == FactorState::Active)
        .collect();
    let acts = may_act(admin, u);
    let body = html! {
        @if let Some(n) = notice { p.notice #notice role="status" { (n) } }
        @if let Some(e) = err { (failure(e, "user-error")) }
        dl.facts {
            dt { "Email" } dd { (user.email) }
            dt { "Role" } dd #role-now { (role_words(user.role)) }
            dt { "MFA" } dd #mfa data-mfa=(user.mfa.as_str()) { (mfa_words(user.mfa)) }
            dt { "Identity provider" } dd #providers {
                @if user.providers.is_empty() {
                    @if user.federated { "None yet (not signed in)" } @else { "None: signs in with a password" }
                } @else { (user.providers.join(", ")) }
            }
            dt { "Status" } dd #status { (status(user)) }
            dt { "Last sign-in" } dd {
                @match user.last_login_at { Some(t) => (when(t)), None => "Never" }
            }
            @if user.mfa != MfaStatus::NotApplicable {
                dt { "Recovery codes left" } dd { (u.recovery_codes) }
            }
        }
        h2 { "Second factors" }
        @if active.is_empty() {
            p #factors { "None." }
        } @else {
            table #factors {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Kind" }
                    th scope="col" { "Added" } th scope="col" { "Last used" }
                } }
                tbody {
                    @for f in &active {
                        tr {
                            td { (f.name) @if f.preferred { " " span.badge { "Preferred" } } }
                            td data-label="Kind" {
                                @match f.details {
                                    FactorDetails::Totp => "Authenticator app",
                                    FactorDetails::Email { .. } => "Email codes",
                                    FactorDetails::Passkey { .. } => "Passkey",
                                }
                            }
                            td.when data-label="Added" { (when_cell(f.created_at)) }
                            td.when data-label="Last used" {
                                @match f.last_used_at { Some(t) => (when_cell(t)), None => "Never" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Actions" }
        @if user.id == admin.caller.user_id() {
            p #self-note { "This is you. Change your own factors on "
                a href="/account/security" { "your Security page" } ", with a code from one of them." }
        } @else if !acts {
            p #owner-note { "Only an owner can change an owner." }
        } @else {
            div.actions {
                @if user.mfa != MfaStatus::NotApplicable {
                    a.button #reset href=(admin.url(&format!("{base}/reset"))) { "Reset MFA" }
                }
                form method="post" action=(admin.url(&format!("{base}/unlock"))) {
                    (admin.csrf_field())
                    button.secondary #unlock type="submit" { "Unlock" }
                }
                @if !user.has_password && !user.federated {
                    form method="post" action=(admin.url(&format!("{base}/invitation"))) {
                        (admin.csrf_field())
                        button.secondary #reinvite type="submit" { "Send a new invitation" }
                    }
                }
            }
            p.hint { "Unlock clears a lock after wrong codes and the wait after wrong passwords." }
            (role_form(admin, u))
        }
        p { a href=(admin.url("users")) { "← All users" } }
    };
    admin
        .page(Section::Users, &user.username, body)
        .failed_if(err)
}

fn role_form(admin: &Admin, u: &OrgUserDetail) -> Markup {
    let owner = admin.caller.role() == Role::Owner;
    let current = u.user.role;
    html! {
        form.role method="post" action=(admin.url(&format!("users/{}/role", u.user.id))) {
            (admin.csrf_field())
            label for="role" { "Role" }
            select #role name="role" {
                @for r in [Role::Member, Role::Admin, Role::Owner] {
                    @if r != Role::Owner || owner {
                        option value=(role_str(r)) selected[r == current] { (role_words(r)) }
                    }
                }
            }
            button.secondary type="submit" { "Change role" }
        }
    }
}

/// "Reset MFA": what it does, and the button that does it.
pub(crate) async fn reset_page(
    State(st): State<AppState>,
    Path(p): Path<UserPath>,
    headers: HeaderMap,
) -> Response {
    let admin = match admin_of(&st, &headers, &p.org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let u = match detail(&st, &admin, &p.id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let title = format!("Reset MFA for {}", u.user.username);
    let body = html! {
        p #what { "For a lost or replaced phone. Resetting " strong { (u.user.username) } "'s MFA:" }
        ul {
            li { "removes all their second factors (authenticator apps and email codes) and their recovery codes;" }
            li { "forgets the browsers they asked to remember;" }
            li { "signs them out everywhere and clears any lock;" }
            li { "emails them that it happened. If MFA is required, they set up a second factor again at their next sign-in." }
        }
        @if may_act(&admin, &u) {
            form method="post" action=(admin.url(&format!("users/{}/reset", u.user.id))) {
                (admin.csrf_field())
                button.danger #confirm-reset type="submit" { "Reset MFA" }
            }
        } @else {
            p.error role="alert" { "You cannot reset this user's MFA here." }
        }
        p { a href=(admin.url(&format!("users/{}", u.user.id))) { "Cancel" } }
    };
    admin.page(Section::Users, &title, body).into_response()
}

#[derive(Deserialize)]
pub(crate) struct ActForm {
    #[serde(default)]
    csrf: String,
    role: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// The user actions' one shape: check the form, act with a fresh second factor, back to
/// the user's page saying what was done.
async fn act(
    st: &AppState,
    headers: &HeaderMap,
    p: &UserPath,
    form: &ActForm,
    what: Act,
) -> Response {
    let admin = match admin_of_form(st, headers, &p.org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let role = match (&what, form.role.as_deref().map(parse_role)) {
        (Act::Role, Some(Ok(r))) => Some(r),
        (Act::Role, _) => {
            let e = ApiError::bad_request("choose a role: member, admin or owner");
            return match detail(st, &admin, &p.id).await {
                Ok(u) => render(&admin, &u, None, Some(&e)).into_response(),
                Err(r) => r,
            };
        }
        _ => None,
    };
    let (org, id) = (p.org.as_str(), p.id.as_str());
    let welcome = crate::web::console::users::welcome_url(headers);
    let outcome = guarded(
        st,
        headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| match (what, role) {
            (Act::Reset, _) => st.twofold.reset_user_mfa(c, org, id, None).await,
            (Act::Unlock, _) => st.twofold.unlock_user(c, org, id, None).await,
            (Act::Reinvite, _) => {
                st.twofold
                    .reinvite_user(c, org, id, welcome.as_deref(), None)
                    .await
            }
            (Act::Role, Some(r)) => st
                .twofold
                .set_user_role(c, org, id, r, None)
                .await
                .map(|_| ()),
            (Act::Role, None) => Ok(()),
        },
    )
    .await;
    let user_url = admin.url(&format!("users/{id}"));
    match outcome {
        Ok(()) => see_other_to(&format!("{user_url}?done={}", what.done()), vec![]),
        Err(stop) if stop.ask.is_none() => match detail(st, &admin, id).await {
            Ok(u) => render(&admin, &u, None, Some(&stop.error)).into_response(),
            Err(r) => r,
        },
        Err(stop) => {
            let role = form.role.clone().unwrap_or_default();
            let fields: Vec<(&str, &str)> = match what {
                Act::Role => vec![("role", role.as_str())],
                _ => vec![],
            };
            stopped(
                &admin,
                Section::Users,
                what.title(),
                &admin.url(&format!("users/{id}/{}", what.path())),
                &fields,
                "This changes how someone signs in, so first confirm it is you.",
                &stop,
            )
        }
    }
}

#[derive(Clone, Copy)]
enum Act {
    Reset,
    Unlock,
    Role,
    Reinvite,
}

impl Act {
    fn path(self) -> &'static str {
        match self {
            Act::Reset => "reset",
            Act::Unlock => "unlock",
            Act::Role => "role",
            Act::Reinvite => "invitation",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Act::Reset => "reset",
            Act::Unlock => "unlocked",
            Act::Role => "role",
            Act::Reinvite => "invited",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Act::Reset => "Reset MFA",
            Act::Unlock => "Unlock",
            Act::Role => "Change role",
            Act::Reinvite => "Send a new invitation",
        }
    }
}

pub(crate) async fn reset(
    State(st): State<AppState>,
    Path(p): Path<UserPath>,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
) -> Response {
    act(&st, &headers, &p, &form, Act::Reset).await
}

pub(crate) async fn unlock(
    State(st): State<AppState>,
    Path(p): Path<UserPath>,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
) -> Response {
    act(&st, &headers, &p, &form, Act::Unlock).await
}

pub(crate) async fn role(
    State(st): State<AppState>,
    Path(p): Path<UserPath>,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
) -> Response {
    act(&st, &headers, &p, &form, Act::Role).await
}

pub(crate) async fn reinvite(
    State(st): State<AppState>,
    Path(p): Path<UserPath>,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
) -> Response {
    act(&st, &headers, &p, &form, Act::Reinvite).await
}
