//! Changing one's password from a page: the current one (wrong guesses count towards the
//! lockout, as on `PUT /api/v1/me/password`), the new one twice.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use twofold_proto::ErrorCode;

use super::cookies;
use super::page::{Page, Viewer, csrf_field, failure, frame, see_other};
use super::{caller_of_form, signed_in};
use crate::AppState;
use crate::error::ApiError;

fn form_page(csrf: &str, err: Option<&ApiError>) -> Markup {
    // Which field the failure belongs beside.
    let on_current = err.is_some_and(|e| {
        matches!(
            e.code(),
            ErrorCode::InvalidCredentials | ErrorCode::TooManyAttempts
        )
    });
    let viewer = Viewer {
        signed_in: true,
        csrf,
        console: None,
    };
    frame(
        &viewer,
        "Change password",
        html! {
            form method="post" action="/account/password" {
                (csrf_field(csrf))
                label for="current" { "Current password" }
                input #current type="password" name="current" required
                    autocomplete="current-password"
                    aria-describedby=[(on_current).then_some("password-error")];
                @if let Some(e) = err.filter(|_| on_current) {
                    (failure(e, "password-error"))
                }
                label for="new" { "New password" }
                p.hint #new-hint {
                    "At least " (twofold_core::crypto::password::MIN_LEN)
                    " characters; a few unrelated words make a good one."
                }
                input #new type="password" name="new" required autocomplete="new-password"
                    aria-describedby=(if err.is_some() && !on_current { "new-error" } else { "new-hint" });
                label for="again" { "New password again" }
                input #again type="password" name="again" required autocomplete="new-password";
                @if let Some(e) = err.filter(|_| !on_current) {
                    (failure(e, "new-error"))
                }
                button type="submit" { "Change password" }
            }
            p { a href="/account/security" { "Cancel" } }
        },
    )
}

/// The form.
pub(crate) async fn page(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if signed_in(&st, &headers).await.is_none() {
        return see_other("/login", vec![]);
    }
    let (csrf, cookie) = cookies::csrf_token(&headers);
    Page::ok(form_page(&csrf, None))
        .cookie(cookie)
        .into_response()
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

impl Drop for PasswordForm {
    fn drop(&mut self) {
        self.current.zeroize();
        self.new.zeroize();
        self.again.zeroize();
    }
}

/// The change: other sessions and remembered browsers end, and the person is mailed.
pub(crate) async fn change(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(mut form): Form<PasswordForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let done = if form.new == form.again {
        st.twofold
            .change_password(
                &caller,
                Zeroizing::new(std::mem::take(&mut form.current)),
                Zeroizing::new(std::mem::take(&mut form.new)),
            )
            .await
            .map_err(ApiError::from)
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "the two new passwords differ",
        ))
    };
    match done {
        Ok(()) => {
            let viewer = Viewer {
                signed_in: true,
                csrf: &csrf,
                console: None,
            };
            Page::ok(frame(
                &viewer,
                "Password changed",
                html! {
                    p role="status" { "Your password was changed. Your other sessions and \
                                       remembered browsers were signed out, and we emailed \
                                       you about it." }
                    p { a href="/account/security" { "Back to Security" } }
                },
            ))
            .cookie(cookie)
            .into_response()
        }
        Err(e) => Page::ok(form_page(&csrf, Some(&e)))
            .cookie(cookie)
            .failed(&e)
            .into_response(),
    }
}
