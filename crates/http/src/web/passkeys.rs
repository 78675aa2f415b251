//! Passkeys on the pages: **Add a passkey** on the security page, and the options the
//! page's script fetches before it asks the browser for a passkey (to sign in, or to
//! confirm it is them). The same domain actions as `POST /api/v1/me/factors/webauthn/…`,
//! `/auth/mfa/webauthn/options` and `/auth/step-up/webauthn/options`.
//!
//! ```text
//!  Add a passkey ──(script: fetch, Accept: application/json)──► POST /account/factors/passkey
//!     ├─ a code mailed first / a fresh second factor needed: that page (the same form again)
//!     └─ the options ──navigator.credentials.create()──► POST /account/factors/passkey/finish
//!                                                          ──► 303 /account/security?added=passkey
//! ```
//!
//! Without the script the form posts as any other: the guards ask the same way, and the
//! page that would have asked the browser says a passkey needs JavaScript.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::passkeys::AddPasskeyStart;

use super::cookies;
use super::fresh;
use super::page::{csrf_field, failure, see_other, signed_in_page as page};
use super::{CsrfForm, caller_of_form, flow_of_form};
use crate::AppState;
use crate::error::ApiError;

/// The name a passkey gets when none is typed.
const DEFAULT_NAME: &str = "Passkey";

/// Whether the page's script asked (it wants the options as JSON, not a page).
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

#[derive(Deserialize)]
pub(crate) struct AddForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    confirmation_code: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// "Add a passkey": the options for `navigator.credentials.create()` to the page's
/// script, once the guards of a new factor passed (a code mailed first for a first
/// factor, a fresh second factor otherwise, asked for on a page as for an app).
pub(crate) async fn add(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<AddForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let name = form
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_NAME)
        .to_owned();
    let started = match fresh::pass_if_given(
        &st,
        &headers,
        caller.clone(),
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
    )
    .await
    {
        Ok(fresh) => st
            .twofold
            .begin_passkey_registration(
                &fresh,
                Some(&name),
                form.confirmation_code.as_deref(),
                None,
            )
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let title = "Add a passkey";
    let body = match started {
        Ok(AddPasskeyStart::Options(options)) if wants_json(&headers) => {
            return Json(options).into_response();
        }
        Ok(AddPasskeyStart::Options(_)) => html! {
            p.error #passkey-error role="alert" {
                "Creating a passkey needs JavaScript, which this browser did not run. Turn it \
                 on and try again, or add an authenticator app instead."
            }
            p { a href="/account/security" { "Back to Security" } }
        },
        Ok(AddPasskeyStart::ConfirmationRequired { .. }) => confirm(&csrf, &name, None),
        Err(e) => {
            let body = match (
                form.confirmation_code.is_some(),
                fresh::after(&st, &caller, &e, form.step_up_method.as_deref()).await,
            ) {
                // A wrong mailed code: beside its field.
                (true, _) => confirm(&csrf, &name, Some(&e)),
                (false, Some(how)) => html! {
                    form method="post" action="/account/factors/passkey" data-passkey="register" {
                        (csrf_field(&csrf))
                        input type="hidden" name="name" value=(name);
                        p { "Adding a way to sign in changes your account's security." }
                        (fresh::ask(&how, Some(&e), "/account/security"))
                        button type="submit" { "Continue" }
                    }
                    p { a href="/account/security" { "Cancel" } }
                },
                (false, None) => html! {
                    (failure(&e, "add-error"))
                    p { a href="/account/security" { "Back to Security" } }
                },
            };
            return page(&csrf, title, body)
                .cookie(cookie)
                .failed(&e)
                .into_response();
        }
    };
    page(&csrf, title, body).cookie(cookie).into_response()
}

/// The code mailed to the registered address before a first factor, then the passkey.
fn confirm(csrf: &str, name: &str, err: Option<&ApiError>) -> Markup {
    html! {
        p #confirm-hint { "We emailed a verification code to your registered address. \
                           It works once, for 5 minutes." }
        form method="post" action="/account/factors/passkey" data-passkey="register" {
            (csrf_field(csrf))
            input type="hidden" name="name" value=(name);
            label for="confirmation" { "Verification code" }
            input #confirmation .code type="text" name="confirmation_code" required
                inputmode="numeric" autocomplete="one-time-code" maxlength="10"
                aria-describedby=(if err.is_some() { "confirm-error" } else { "confirm-hint" });
            @if let Some(e) = err {
                (failure(e, "confirm-error"))
            }
            button type="submit" { "Continue" }
        }
        p { a href="/account/security" { "Cancel" } }
    }
}

#[derive(Deserialize)]
pub(crate) struct FinishForm {
    #[serde(default)]
    csrf: String,
    /// The authenticator's answer, `PublicKeyCredential` JSON (the script's).
    #[serde(default)]
    credential: String,
}

/// The authenticator's answer: the passkey is added (active at once).
pub(crate) async fn finish(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<FinishForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let done = match serde_json::from_str::<serde_json::Value>(&form.credential) {
        Ok(credential) => st
            .twofold
            .finish_passkey_registration(&caller, &credential, None)
            .await
            .map_err(ApiError::from),
        Err(_) => Err(ApiError::bad_request(
            "the browser sent no passkey to add; creating one needs JavaScript",
        )),
    };
    match done {
        Ok(_) => see_other("/account/security?added=passkey", vec![]),
        Err(e) => {
            let (csrf, cookie) = cookies::csrf_token(&headers);
            page(
                &csrf,
                "Add a passkey",
                html! {
                    (failure(&e, "add-error"))
                    p { a href="/account/security" { "Back to Security" } }
                },
            )
            .cookie(cookie)
            .failed(&e)
            .into_response()
        }
    }
}

/// The options for `navigator.credentials.get()` that confirm, in this session, that it
/// is them (the "Use a passkey" of a guarded change).
pub(crate) async fn session_options(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    match st.twofold.passkey_session_options(&caller).await {
        Ok(options) => Json(options).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The options for `navigator.credentials.get()` that finish the sign-in under way
/// ("Use a passkey" on the second step).
pub(crate) async fn sign_in_options(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let flow = match flow_of_form(&headers, &form.csrf) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    match st.twofold.passkey_sign_in_options(&flow).await {
        Ok(options) => Json(options).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
