//! Federated sign-in in the browser: the redirect to the organisation's identity provider
//! (binding the sign-in to this browser with a cookie), the provider's redirect back, and
//! the signed-in person's re-authentication (step-up) and account linking there. The rules
//! are the domain's (`domain::federation`); these handlers only carry the browser.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use twofold_core::domain::DomainError;
use twofold_core::domain::federation::{AppReturn, Finished, Started};

use super::caller_of_form;
use super::cookies::{self, Jar};
use super::page::{Page, Viewer, failure, frame, see_other_to};
use crate::AppState;
use crate::error::ApiError;

/// An application's part of a sign-in it opened in the browser (all three, or none).
#[derive(Deserialize)]
pub(crate) struct StartQuery {
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
}

/// `GET /auth/oidc/{org}/{provider}/start`: off to the provider.
pub(crate) async fn start(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((org, provider)): Path<(String, String)>,
    Query(q): Query<StartQuery>,
) -> Response {
    let app = match (q.redirect_uri, q.state, q.code_challenge) {
        (None, None, None) => None,
        (Some(redirect_uri), state, Some(code_challenge)) => Some(AppReturn {
            redirect_uri,
            state: state.unwrap_or_default(),
            code_challenge,
        }),
        _ => {
            let e = DomainError::InvalidInput(
                "an application's sign-in gives redirect_uri and code_challenge (and state)".into(),
            );
            return failed(&headers, &ApiError::from(e));
        }
    };
    let started = st
        .twofold
        .start_federated_sign_in(&org, &provider, app)
        .await;
    off_to_provider(&st, &headers, started, false)
}

/// The redirect to the provider of a trip that started (through a page, after a form),
/// or the page saying why not.
fn off_to_provider(
    st: &AppState,
    headers: &HeaderMap,
    started: Result<Started, DomainError>,
    from_form: bool,
) -> Response {
    match started {
        Ok(started) if from_form => via_page_to_provider(st, headers, &started),
        Ok(started) => to_provider(st, headers, &started),
        Err(e) => failed(headers, &ApiError::from(e)),
    }
}

/// From a form (a step-up, a link): a page that sends the browser on to the provider.
/// Not a redirect: the pages' `form-action 'self'` rightly forbids a form's answer to
/// redirect to another site, while a page may still lead the browser there (a
/// `refresh`, and the link for browsers that do not follow it).
fn via_page_to_provider(st: &AppState, headers: &HeaderMap, started: &Started) -> Response {
    let (csrf, csrf_cookie) = cookies::csrf_token(headers);
    let viewer = Viewer {
        signed_in: true,
        csrf: &csrf,
        console: None,
    };
    let url = &started.authorize_url;
    let body = html! {
        p #to-provider { "Taking you to your identity provider… "
            a href=(url) { "Continue" } }
    };
    let mut res = Page::ok(frame(&viewer, "Identity provider", body))
        .cookie(csrf_cookie)
        .cookie(Some(binding_cookie(st, headers, started)))
        .into_response();
    match HeaderValue::from_str(&format!("0;url={url}")) {
        Ok(v) => {
            res.headers_mut().insert(header::REFRESH, v);
            res
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// The cookie that binds the callback of `started` to this browser, until it ends.
fn binding_cookie(st: &AppState, headers: &HeaderMap, started: &Started) -> HeaderValue {
    let age = st.twofold.now().secs_until(started.expires_at);
    cookies::set(
        cookies::secure(headers),
        Jar::OidcBinding,
        &started.binding,
        Some(age),
    )
}

/// The redirect to the provider (the URL the domain made), with the binding cookie.
fn to_provider(st: &AppState, headers: &HeaderMap, started: &Started) -> Response {
    see_other_to(
        &started.authorize_url,
        vec![binding_cookie(st, headers, started)],
    )
}

/// The provider's redirect back (RFC 6749 §4.1.2 and §4.1.2.1).
#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    #[serde(default)]
    state: String,
    code: Option<String>,
    error: Option<String>,
}

/// `GET /auth/oidc/callback`.
pub(crate) async fn callback(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let secure = cookies::secure(&headers);
    let binding = cookies::read(&headers, Jar::OidcBinding);
    let done = st
        .twofold
        .finish_federated(
            &q.state,
            q.code.as_deref(),
            q.error.as_deref(),
            binding.as_deref(),
        )
        .await;
    let unbind = cookies::clear(secure, Jar::OidcBinding);
    match done {
        Ok(Finished::SignedIn { session, return_to }) => {
            let age = st.twofold.now().secs_until(session.expires_at);
            see_other_to(
                &return_to,
                vec![
                    cookies::set(secure, Jar::Session, &session.token, Some(age)),
                    cookies::clear(secure, Jar::Flow),
                    unbind,
                ],
            )
        }
        Ok(Finished::SteppedUp { return_to } | Finished::Linked { return_to }) => {
            see_other_to(&return_to, vec![unbind])
        }
        // The application's own loopback address (checked when the sign-in started).
        Ok(Finished::ToApp { redirect }) => see_other_to(&redirect, vec![unbind]),
        Err(e) => {
            let mut res = failed(&headers, &ApiError::from(e));
            res.headers_mut().append(header::SET_COOKIE, unbind);
            res
        }
    }
}

/// A page saying why a federated sign-in stopped, with the way back.
fn failed(headers: &HeaderMap, e: &ApiError) -> Response {
    let (csrf, cookie) = cookies::csrf_token(headers);
    let viewer = Viewer {
        signed_in: false,
        csrf: &csrf,
        console: None,
    };
    Page::ok(frame(
        &viewer,
        "Sign-in failed",
        html! {
            (failure(e, "federation-error"))
            p { "Nothing was changed. " a href="/" { "Back to Twofold" } }
        },
    ))
    .cookie(cookie)
    .failed(e)
    .into_response()
}

/// A form that starts a trip to the provider from a signed-in page.
#[derive(Deserialize)]
pub(crate) struct ReturnForm {
    #[serde(default)]
    csrf: String,
    /// The page to come back to (a path of this site).
    return_to: Option<String>,
}

/// `POST /account/step-up/oidc`: re-authenticate at the provider, then back to the page
/// that asked for a fresh second factor.
pub(crate) async fn step_up(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ReturnForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let started = st
        .twofold
        .start_federated_step_up(&caller, None, form.return_to.as_deref())
        .await;
    off_to_provider(&st, &headers, started, true)
}

/// `POST /account/link/{provider}`: link the provider to this password account.
pub(crate) async fn link(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(provider): Path<String>,
    Form(form): Form<ReturnForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let started = st
        .twofold
        .start_federated_link(&caller, &provider, form.return_to.as_deref())
        .await;
    off_to_provider(&st, &headers, started, true)
}
