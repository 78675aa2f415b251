//! The admin console: an organisation's owners and admins run it from pages under
//! `/orgs/{org}/…` — the MFA requirement and options, the users table, a user's page
//! (reset, unlock, role), identity providers, the audit log and API keys. Every form calls the same domain
//! action as `/api/v1/orgs/{org}/…`, so it asks for the same fresh second factor and is
//! refused in the same words. Members are refused (403) and another organisation's pages
//! do not exist (404), as on the API.

mod audit;
mod keys;
mod mfa;
mod providers;
mod user;
mod users;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};

use twofold_core::domain::DomainError;
use twofold_core::domain::sessions::Caller;
use twofold_core::domain::users::Role;
use twofold_proto::ErrorCode;

use super::cookies;
use super::fresh;
use super::page::{Page, Viewer, csrf_field, document, failure, see_other};
use crate::AppState;
use crate::error::ApiError;

/// The console's pages and the forms that take no code (`guarded`: the ones that may
/// take a second-factor code, behind the per-address failure throttle).
pub(crate) fn routes() -> (Router<AppState>, Router<AppState>) {
    let open = Router::new()
        .route("/orgs/{org}", get(users::home))
        .route("/orgs/{org}/mfa", get(mfa::page))
        .route("/orgs/{org}/mfa/disable/close", post(mfa::close_disable))
        .route("/orgs/{org}/users", get(users::page))
        .route("/orgs/{org}/users/new", get(users::new_page))
        .route("/orgs/{org}/users/{id}", get(user::page))
        .route("/orgs/{org}/users/{id}/reset", get(user::reset_page))
        .route("/orgs/{org}/audit", get(audit::page))
        .route("/orgs/{org}/audit/export", get(audit::export))
        .route("/orgs/{org}/api-keys", get(keys::page))
        .route("/orgs/{org}/api-keys/{id}/revoke", post(keys::revoke))
        .route("/orgs/{org}/identity-providers", get(providers::page));
    let guarded = Router::new()
        .route("/orgs/{org}/mfa/enable", post(mfa::enable))
        .route("/orgs/{org}/mfa/disable", post(mfa::disable))
        .route("/orgs/{org}/mfa/grace", post(mfa::grace))
        .route("/orgs/{org}/mfa/options", post(mfa::options))
        .route("/orgs/{org}/users", post(users::create))
        .route("/orgs/{org}/users/{id}/reset", post(user::reset))
        .route("/orgs/{org}/users/{id}/unlock", post(user::unlock))
        .route("/orgs/{org}/users/{id}/role", post(user::role))
        .route("/orgs/{org}/users/{id}/invitation", post(user::reinvite))
        .route("/orgs/{org}/api-keys", post(keys::create))
        .route("/orgs/{org}/identity-providers", post(providers::save))
        .route(
            "/orgs/{org}/identity-providers/{name}/remove",
            post(providers::remove),
        );
    (open, guarded)
}

/// The organisation `caller` runs, if they are one of its owners or admins.
pub(crate) fn console_of(caller: &Caller) -> Option<&str> {
    (caller.role() != Role::Member).then_some(caller.org_slug())
}

/// The console's sections, in the side panel's order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Mfa,
    Users,
    Audit,
    Keys,
    Providers,
}

impl Section {
    const ALL: [Section; 5] = [
        Section::Users,
        Section::Mfa,
        Section::Providers,
        Section::Audit,
        Section::Keys,
    ];

    fn path(self) -> &'static str {
        match self {
            Section::Mfa => "mfa",
            Section::Users => "users",
            Section::Audit => "audit",
            Section::Keys => "api-keys",
            Section::Providers => "identity-providers",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Section::Mfa => "Multi-Factor Authentication",
            Section::Users => "Users",
            Section::Audit => "Audit log",
            Section::Keys => "API keys",
            Section::Providers => "Identity providers",
        }
    }
}

/// An owner or admin at their organisation's console, with the CSRF token its forms
/// repeat.
pub(crate) struct Admin {
    pub(crate) caller: Caller,
    pub(crate) org: String,
    pub(crate) csrf: String,
    pub(crate) cookie: Option<HeaderValue>,
}

impl Admin {
    /// `path` under this organisation's console: `/orgs/acme/users`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("/orgs/{}/{path}", self.org)
    }

    /// A console page: the side panel with `section` marked, `title` and `body`.
    pub(crate) fn page(&self, section: Section, title: &str, body: Markup) -> Page {
        let viewer = Viewer {
            signed_in: true,
            csrf: &self.csrf,
            console: Some(&self.org),
        };
        let main = html! {
            div.console {
                nav.side aria-label="Organisation" {
                    p.org { (self.org) }
                    ul {
                        @for s in Section::ALL {
                            li {
                                a href=(self.url(s.path()))
                                    aria-current=[(s == section).then_some("page")] { (s.name()) }
                            }
                        }
                    }
                }
                div.panel {
                    h1 { (title) }
                    (body)
                }
            }
        };
        Page::ok(document(&viewer, title, Some("wide"), main)).cookie(self.cookie.clone())
    }

    /// The hidden CSRF field of this admin's forms.
    pub(crate) fn csrf_field(&self) -> Markup {
        csrf_field(&self.csrf)
    }
}

/// The signed-in owner or admin of `org` looking at a console page; a page saying why
/// not otherwise (the sign-in page without a session).
pub(crate) async fn admin_of(
    st: &AppState,
    headers: &HeaderMap,
    org: &str,
) -> Result<Admin, Box<Response>> {
    let Some(caller) = super::signed_in(st, headers).await else {
        return Err(Box::new(see_other("/login", vec![])));
    };
    admitted(st, headers, caller, org).await
}

/// [`admin_of`] for a form: refused without this site's CSRF token.
pub(crate) async fn admin_of_form(
    st: &AppState,
    headers: &HeaderMap,
    org: &str,
    csrf: &str,
) -> Result<Admin, Box<Response>> {
    let caller = super::caller_of_form(st, headers, csrf).await?;
    admitted(st, headers, caller, org).await
}

async fn admitted(
    st: &AppState,
    headers: &HeaderMap,
    caller: Caller,
    org: &str,
) -> Result<Admin, Box<Response>> {
    let (csrf, cookie) = cookies::csrf_token(headers);
    if let Err(e) = st.twofold.check_org_admin(&caller, org).await {
        return Err(Box::new(refused(&ApiError::from(e), &csrf, cookie)));
    }
    Ok(Admin {
        caller,
        org: org.to_owned(),
        csrf,
        cookie,
    })
}

/// Another organisation's page (404, as if it did not exist) or a member's (403).
fn refused(e: &ApiError, csrf: &str, cookie: Option<HeaderValue>) -> Response {
    let viewer = Viewer {
        signed_in: true,
        csrf,
        console: None,
    };
    let (title, words) = if e.code() == ErrorCode::NotFound {
        ("Not found", "There is no such page.")
    } else {
        (
            "Not allowed",
            "Only the organisation's owners and admins can see this page.",
        )
    };
    let mut page = Page::ok(super::page::frame(
        &viewer,
        title,
        html! {
            p.error role="alert" data-code=(e.code().as_str()) { (words) }
            p { a href="/account/security" { "Back to your account" } }
        },
    ))
    .cookie(cookie)
    .failed(e);
    if page.status != StatusCode::NOT_FOUND {
        page.status = StatusCode::FORBIDDEN;
    }
    page.into_response()
}

/// Why an action stopped, and how to ask for a code if that is the reason.
pub(crate) struct Stop {
    pub(crate) error: ApiError,
    pub(crate) ask: Option<fresh::Confirm>,
}

/// Runs `act` as the admin, after passing the code the form carries, if any (asked for by
/// an earlier answer). A refusal that a fresh second factor would lift says how to ask.
pub(crate) async fn guarded<T>(
    st: &AppState,
    headers: &HeaderMap,
    admin: &Admin,
    method: Option<&str>,
    code: Option<&str>,
    act: impl AsyncFnOnce(&Caller) -> Result<T, DomainError>,
) -> Result<T, Stop> {
    let stop = async |e: ApiError| Stop {
        ask: fresh::after(st, &admin.caller, &e, method).await,
        error: e,
    };
    let caller = match fresh::pass_if_given(st, headers, admin.caller.clone(), method, code).await {
        Ok(c) => c,
        Err(e) => return Err(stop(e).await),
    };
    match act(&caller).await {
        Ok(v) => Ok(v),
        Err(e) => Err(stop(ApiError::from(e)).await),
    }
}

/// The answer to a stopped action: the same form again (its fields kept, hidden) with a
/// code field when a fresh second factor is needed, or the failure in words.
pub(crate) fn stopped(
    admin: &Admin,
    section: Section,
    title: &str,
    action: &str,
    fields: &[(&str, &str)],
    why: &str,
    stop: &Stop,
) -> Response {
    let e = &stop.error;
    let back = admin.url(section.path());
    let body = match &stop.ask {
        Some(how) => html! {
            form method="post" action=(action) {
                (admin.csrf_field())
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                p { (why) }
                (fresh::ask(how, Some(e), &back))
                // At the provider there is nothing to type here: it comes back to `back`.
                @if !matches!(how, fresh::Confirm::Provider(_)) {
                    button type="submit" { "Continue" }
                }
            }
            p { a href=(back) { "Cancel" } }
        },
        None if e.code() == ErrorCode::EnrollmentRequired => html! {
            p.error role="alert" data-code=(e.code().as_str()) {
                "You need a second factor of your own before you can do this. Set one up on "
                "your Security page, then come back."
            }
            p { a href="/account/security" { "Set up a second factor" } }
        },
        None => html! {
            (failure(e, "console-error"))
            p { a href=(back) { "Back" } }
        },
    };
    admin.page(section, title, body).failed(e).into_response()
}

/// A console page for something that is not there (another organisation's user: 404);
/// any other failure as the API words it.
pub(crate) fn refused_page(admin: &Admin, e: ApiError) -> Response {
    match e.code() {
        ErrorCode::NotFound | ErrorCode::Forbidden => {
            refused(&e, &admin.csrf, admin.cookie.clone())
        }
        _ => e.into_response(),
    }
}
