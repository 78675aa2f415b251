//! Recovery codes on a page: how many are left, a new set made and shown once, to copy or
//! download as a text file. Offered right after the first factor is set up.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::sessions::Caller;

use super::cookies;
use super::fresh;
use super::page::{Page, Viewer, csrf_field, failure, frame, see_other};
use super::{caller_of_form, signed_in};
use crate::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
pub(crate) struct Shown {
    /// Right after the first factor was set up.
    first: Option<String>,
}

/// How many codes are left, and the button for a new set.
pub(crate) async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Shown>,
) -> Response {
    let Some(caller) = signed_in(&st, &headers).await else {
        return see_other("/login", vec![]);
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let left = match st.twofold.recovery_codes_remaining(&caller).await {
        Ok(n) => n,
        Err(e) => return ApiError::from(e).into_response(),
    };
    Page::ok(offer(&csrf, left, q.first.is_some(), None, None))
        .cookie(cookie)
        .into_response()
}

/// The page; `err` with `how` the person confirms it is them, when a code is needed.
fn offer(
    csrf: &str,
    left: u32,
    first: bool,
    err: Option<&ApiError>,
    how: Option<&fresh::Confirm>,
) -> Markup {
    let viewer = Viewer {
        signed_in: true,
        csrf,
        console: None,
    };
    frame(
        &viewer,
        "Recovery codes",
        html! {
            @if first {
                p.notice role="status" { "Two-step sign-in is on. You are signed in." }
            }
            p { "Recovery codes let you sign in on the day your phone and your mailbox are \
                 both out of reach. Each works once. Keep them somewhere safe, apart from \
                 your phone." }
            p #left { @if left == 0 { "You have no unused recovery codes." }
                      @else { "You have " (left) " unused recovery codes." } }
            form method="post" action="/account/recovery-codes" {
                (csrf_field(csrf))
                @if let Some(e) = err {
                    @if let Some(how) = how {
                        p { "Making new codes replaces the old ones, so first confirm it is you." }
                        (fresh::ask(how, Some(e), "/account/recovery-codes"))
                    } @else {
                        (failure(e, "recovery-error"))
                    }
                }
                button type="submit" {
                    @if left == 0 { "Make recovery codes" } @else { "Make a new set" }
                }
            }
            p { a href="/account/security" { "Back to Security" } }
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct MakeForm {
    #[serde(default)]
    csrf: String,
    /// A code, when the session's second factor is not recent (`fresh`).
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// A new set, shown once.
pub(crate) async fn make(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<MakeForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let left = st
        .twofold
        .recovery_codes_remaining(&caller)
        .await
        .unwrap_or(0);
    let method = form.step_up_method.clone();
    let fail = async |caller: &Caller, e: ApiError| {
        let how = fresh::after(&st, caller, &e, method.as_deref()).await;
        Page::ok(offer(&csrf, left, false, Some(&e), how.as_ref()))
            .cookie(cookie.clone())
            .failed(&e)
            .into_response()
    };
    // Asked inline for a code: pass it first, then go on.
    let caller = match fresh::pass_if_given(
        &st,
        &headers,
        caller.clone(),
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return fail(&caller, e).await,
    };
    let codes = match st.twofold.regenerate_recovery_codes(&caller, None).await {
        Ok(c) => c,
        // Step-up required: the page asks for a code inline and this goes on with it.
        Err(e) => return fail(&caller, ApiError::from(e)).await,
    };
    let text = codes.join("\n") + "\n";
    let viewer = Viewer {
        signed_in: true,
        csrf: &csrf,
        console: None,
    };
    Page::ok(frame(
        &viewer,
        "Your recovery codes",
        html! {
            p role="status" { "These are shown only now. Keep them somewhere safe; \
                               any earlier codes no longer work." }
            ol.codes #codes data-text=(text) {
                @for c in &codes { li { code { (c) } } }
            }
            p {
                button.secondary type="button" data-copy="codes" hidden { "Copy" }
                " "
                a.button download="twofold-recovery-codes.txt" data-download="codes" hidden {
                    "Download as a text file"
                }
            }
            p { a href="/account/security" { "Done" } }
        },
    ))
    .cookie(cookie)
    .into_response()
}
