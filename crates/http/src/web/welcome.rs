//! "I have an invitation": a user an admin created chooses their first password with the
//! code mailed to them (`domain::invitations`), then signs in as anyone does.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use twofold_core::domain::invitations::Acceptance;
use twofold_proto::ErrorCode;

use super::cookies;
use super::page::{Page, Viewer, csrf_field, failure, frame};
use super::signin::who_fields;
use crate::AppState;
use crate::error::ApiError;

const TITLE: &str = "Welcome to Twofold";

#[derive(Deserialize, Default)]
pub(crate) struct Prefill {
    #[serde(default)]
    org: String,
    #[serde(default)]
    username: String,
}

/// The form: organisation, username, the invitation code, the password twice.
pub(crate) async fn page(headers: HeaderMap, Query(p): Query<Prefill>) -> Response {
    let (csrf, cookie) = cookies::csrf_token(&headers);
    Page::ok(form(&csrf, &p.org, &p.username, None))
        .cookie(cookie)
        .into_response()
}

fn form(csrf: &str, org: &str, username: &str, err: Option<&ApiError>) -> Markup {
    let viewer = Viewer {
        signed_in: false,
        csrf,
        console: None,
    };
    // Which field a failure belongs beside: the code, or the new password.
    let on_code =
        err.is_some_and(|e| matches!(e.code(), ErrorCode::InvalidCode | ErrorCode::CodeExpired));
    frame(
        &viewer,
        TITLE,
        html! {
            p { "Your administrator made you an account and emailed you an invitation code. \
                 Enter it with your organisation and username, and choose your password." }
            form method="post" action="/welcome" {
                (csrf_field(csrf))
                (who_fields(org, username))
                label for="code" { "Invitation code" }
                input #code type="text" name="code" required autocomplete="off"
                    autocapitalize="characters" spellcheck="false" maxlength="40"
                    aria-describedby=[on_code.then_some("welcome-error")];
                @if let Some(e) = err.filter(|_| on_code) { (words(e)) }
                label for="new" { "Password" }
                p.hint #new-hint {
                    "At least " (twofold_core::crypto::password::MIN_LEN)
                    " characters; a few unrelated words make a good one."
                }
                input #new type="password" name="new" required autocomplete="new-password"
                    aria-describedby=(if err.is_some() && !on_code { "welcome-error" } else { "new-hint" });
                label for="again" { "Password again" }
                input #again type="password" name="again" required autocomplete="new-password";
                @if let Some(e) = err.filter(|_| !on_code) { (words(e)) }
                button type="submit" { "Set password" }
            }
            p.others { a href="/login" { "Back to sign in" } }
        },
    )
}

/// A refusal in words. A wrong code, an unknown user and one without an invitation read
/// the same: the page tells a stranger nothing about who is invited.
fn words(e: &ApiError) -> Markup {
    let text = match e.code() {
        ErrorCode::InvalidCode => Some(
            "That invitation code is not right for this organisation and username. Check \
             the email, or ask your administrator to send a new invitation.",
        ),
        ErrorCode::CodeExpired => Some(
            "That invitation has expired, or was tried too many times. Ask your \
             administrator to send a new one.",
        ),
        _ => None,
    };
    match text {
        Some(t) => {
            html! { p.error #welcome-error role="alert" data-code=(e.code().as_str()) { (t) } }
        }
        None => failure(e, "welcome-error"),
    }
}

#[derive(Deserialize)]
pub(crate) struct WelcomeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

/// "Set password".
pub(crate) async fn accept(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(mut f): Form<WelcomeForm>,
) -> Response {
    if !cookies::same_site_form(&headers, &f.csrf) {
        return super::forbidden(&headers);
    }
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let new = Zeroizing::new(std::mem::take(&mut f.new));
    let same = *new == f.again;
    f.again.zeroize();
    let done = if same {
        st.twofold
            .accept_invitation(Acceptance {
                org: &f.org,
                username: &f.username,
                code: &f.code,
                password: new,
            })
            .await
            .map_err(ApiError::from)
    } else {
        Err(ApiError::bad_request("the two passwords are not the same"))
    };
    match done {
        Ok(()) => {
            let viewer = Viewer {
                signed_in: false,
                csrf: &csrf,
                console: None,
            };
            Page::ok(frame(
                &viewer,
                "Your password is set",
                html! {
                    p role="status" { "You can sign in now with your username and new password." }
                    p { a.button #to-login href="/login" { "Sign in" } }
                },
            ))
            .cookie(cookie)
            .into_response()
        }
        Err(e) => Page::ok(form(&csrf, &f.org, &f.username, Some(&e)))
            .cookie(cookie)
            .failed(&e)
            .into_response(),
    }
}
