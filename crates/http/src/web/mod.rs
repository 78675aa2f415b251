//! The pages people use — signing in, My Account > Security, and the admin console
//! (`console`) — as server-rendered HTML that works without JavaScript. Every form calls the same domain action the API calls,
//! so a page can do nothing the API would refuse, and refuses it in the same words.

mod account;
mod add;
mod console;
mod cookies;
mod enroll;
mod factors;
mod federation;
mod fresh;
mod page;
mod passkeys;
mod password;
mod recovery;
mod signin;
mod welcome;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;

use twofold_core::domain::sessions::Caller;

use self::cookies::Jar;
use self::page::{Page, Viewer, failure, frame};
use crate::AppState;
use crate::error::ApiError;

/// The pages' router.
pub fn routes(state: &AppState) -> Router<AppState> {
    let (console, console_guarded) = console::routes();
    // The forms that take a password or a code: failures there count against the
    // client's address, as on the API (`http::throttle`).
    let guessable = Router::new()
        .route("/welcome", get(welcome::page).post(welcome::accept))
        .merge(console_guarded)
        .route("/login", get(signin::login_page).post(signin::login))
        .route("/login/code", get(signin::code_page).post(signin::code))
        .route("/login/enroll/app", post(enroll::app))
        .route("/login/enroll/activate", post(enroll::activate))
        .route(
            "/account/recovery-codes",
            get(recovery::page).post(recovery::make),
        )
        .route("/account/factors/app", post(add::app))
        .route("/account/factors/activate", post(add::activate))
        .route("/account/factors/passkey", post(passkeys::add))
        .route("/account/factors/passkey/finish", post(passkeys::finish))
        .route(
            "/account/password",
            get(password::page).post(password::change),
        )
        .route("/account/factors/{id}/preferred", post(factors::prefer))
        .route("/account/factors/{id}/qr", post(factors::show_qr))
        .route(
            "/account/factors/{id}/regenerate",
            post(factors::regenerate),
        )
        .route(
            "/account/factors/{id}/delete",
            get(factors::delete_page).post(factors::delete),
        )
        .route(
            "/account/factors/{id}/rename",
            get(factors::rename_page).post(factors::rename),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_failures,
        ));
    Router::new()
        .route("/", get(signin::home))
        .route("/login/code/email", post(signin::send_email_code))
        .route("/login/code/passkey", post(passkeys::sign_in_options))
        .route("/account/passkey/options", post(passkeys::session_options))
        .route("/login/enroll", get(enroll::start))
        .route("/login/enroll/email", post(enroll::email))
        .route("/logout", post(signin::logout))
        .route("/account/security", get(account::security))
        .route("/account/sessions/others", post(account::end_others))
        .route("/account/factors/email", post(add::email))
        .route("/account/devices/{id}/forget", post(account::forget_device))
        .route("/auth/oidc/{org}/{provider}/start", get(federation::start))
        .route("/auth/oidc/callback", get(federation::callback))
        .route("/account/step-up/oidc", post(federation::step_up))
        .route("/account/link/{provider}", post(federation::link))
        .merge(console)
        .merge(guessable)
        .layer(axum::middleware::map_response(protect))
        .route("/static/twofold.css", get(stylesheet))
        .route("/static/twofold.js", get(script))
}

/// The headers every page carries (`page::protect`).
async fn protect(mut res: Response) -> Response {
    page::protect(res.headers_mut());
    res
}

/// The stylesheet; it changes only with the binary, so browsers may keep it a day.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        page::STYLESHEET,
    )
        .into_response()
}

/// The script, kept like the stylesheet.
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        page::SCRIPT,
    )
        .into_response()
}

/// The signed-in person of this browser, if its session cookie holds a live session.
async fn signed_in(st: &AppState, headers: &HeaderMap) -> Option<Caller> {
    let token = cookies::read(headers, Jar::Session)?;
    st.twofold.authenticate(&token).await.ok()
}

/// A form with nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

/// The sign-in under way that a form posted during it belongs to: a form without this
/// site's CSRF token is refused (a page saying so), and one without a live sign-in sends
/// the browser back to the sign-in page.
fn flow_of_form(headers: &HeaderMap, csrf: &str) -> Result<String, Box<Response>> {
    if !cookies::same_site_form(headers, csrf) {
        return Err(Box::new(forbidden(headers)));
    }
    cookies::read(headers, Jar::Flow).ok_or_else(|| Box::new(page::see_other("/login", vec![])))
}

/// The signed-in person a form was posted by, refused like [`flow_of_form`] without the
/// CSRF token and sent to the sign-in page without a live session.
async fn caller_of_form(
    st: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Caller, Box<Response>> {
    if !cookies::same_site_form(headers, csrf) {
        return Err(Box::new(forbidden(headers)));
    }
    signed_in(st, headers)
        .await
        .ok_or_else(|| Box::new(page::see_other("/login", vec![])))
}

/// A form that did not come from this site's own page (no CSRF token, or another
/// origin's): refused, changing nothing.
fn forbidden(headers: &HeaderMap) -> Response {
    let (csrf, cookie) = cookies::csrf_token(headers);
    let viewer = Viewer {
        signed_in: false,
        csrf: &csrf,
        console: None,
    };
    let mut page = Page::ok(frame(
        &viewer,
        "Form refused",
        html! {
            p.error role="alert" data-code="csrf_refused" {
                "This form was not sent from Twofold's own page, or the page was too old. \
                 Nothing was changed. Go back, reload the page and try again."
            }
            p { a href="/" { "Back to Twofold" } }
        },
    ))
    .cookie(cookie);
    page.status = StatusCode::FORBIDDEN;
    page.into_response()
}

/// The per-address throttle in front of the sign-in forms, answering with a page.
async fn limit_failures(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    crate::throttle::guard(&st, req, next, move |wait| {
        let e = ApiError::rate_limited(wait, "too many failed attempts from your address");
        let (csrf, cookie) = cookies::csrf_token(&headers);
        let viewer = Viewer {
            signed_in: false,
            csrf: &csrf,
            console: None,
        };
        let mut res = Page::ok(frame(
            &viewer,
            "Sign in",
            html! { (failure(&e, "throttle-error")) p { a href="/login" { "Back to sign in" } } },
        ))
        .cookie(cookie)
        .failed(&e)
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    })
    .await
}
