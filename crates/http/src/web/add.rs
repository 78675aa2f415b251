//! Adding a factor from the security page (seed 000): **+ Add authenticator app** — the
//! code mailed to the registered address first where that rule applies (a first app),
//! then the QR code or the key, then the app's code and **Add** — and **Add email codes**.
//! The same domain actions as `POST /api/v1/me/factors/…`.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::factors::AddApp;

use super::caller_of_form;
use super::cookies;
use super::enroll::{confirm_form, email_code_form, scan_and_verify};
use super::fresh;
use super::page::{csrf_field, failure, see_other, see_other_to, signed_in_page as page};
use crate::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
pub(crate) struct AppForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    confirmation_code: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
    /// Where to go once the app is added (the console, on the way to requiring MFA).
    then: Option<String>,
}

/// `then` if it is a page of the console to come back to; anything else is dropped (a
/// form must not send the browser off the site).
fn then_path(then: Option<&str>) -> Option<&str> {
    then.filter(|t| {
        t.starts_with("/orgs/")
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-.?=&".contains(&b))
    })
}

/// "+ Add authenticator app".
pub(crate) async fn app(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<AppForm>,
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
        .unwrap_or("Authenticator app")
        .to_owned();
    let added = match fresh::pass_if_given(
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
            .enroll_totp(&fresh, Some(&name), form.confirmation_code.as_deref(), None)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let title = "Add authenticator app";
    let then = then_path(form.then.as_deref());
    match added {
        Ok(AddApp::ConfirmationRequired { .. }) => {
            page(&csrf, title, confirm(&csrf, &name, None, then))
                .cookie(cookie)
                .into_response()
        }
        Ok(AddApp::Enrolled(e)) => page(
            &csrf,
            title,
            scan_and_verify(
                &csrf,
                "/account/factors/activate",
                &e.id,
                &e.uri,
                "Add",
                None,
                then,
            ),
        )
        .cookie(cookie)
        .into_response(),
        Err(e) => {
            let body = match (
                form.confirmation_code.is_some(),
                fresh::after(&st, &caller, &e, form.step_up_method.as_deref()).await,
            ) {
                // A wrong mailed code: beside its field.
                (true, _) => confirm(&csrf, &name, Some(&e), then),
                (false, Some(how)) => html! {
                    form method="post" action="/account/factors/app" {
                        (csrf_field(&csrf))
                        input type="hidden" name="name" value=(name);
                        @if let Some(t) = then { input type="hidden" name="then" value=(t); }
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
            page(&csrf, title, body)
                .cookie(cookie)
                .failed(&e)
                .into_response()
        }
    }
}

/// The code mailed to the registered address, before a first app is added.
fn confirm(csrf: &str, name: &str, err: Option<&ApiError>, then: Option<&str>) -> Markup {
    html! {
        (confirm_form(csrf, "/account/factors/app", name, err, then))
        p { a href="/account/security" { "Cancel" } }
    }
}

#[derive(Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    csrf: String,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// "Add email codes": a code goes to the registered address now.
pub(crate) async fn email(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let title = "Add email codes";
    let added = match fresh::pass_if_given(
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
            .enroll_email(&fresh, None, None)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match added {
        Ok((id, sent)) => page(&csrf, title, email_code(&csrf, &id, &sent.sent_to, None))
            .cookie(cookie)
            .into_response(),
        Err(e) => {
            let body = match fresh::after(&st, &caller, &e, form.step_up_method.as_deref()).await {
                Some(how) => html! {
                    form method="post" action="/account/factors/email" {
                        (csrf_field(&csrf))
                        p { "Adding a way to sign in changes your account's security." }
                        (fresh::ask(&how, Some(&e), "/account/security"))
                        button type="submit" { "Continue" }
                    }
                    p { a href="/account/security" { "Cancel" } }
                },
                None => html! {
                    (failure(&e, "add-error"))
                    p { a href="/account/security" { "Back to Security" } }
                },
            };
            page(&csrf, title, body)
                .cookie(cookie)
                .failed(&e)
                .into_response()
        }
    }
}

fn email_code(csrf: &str, id: &str, sent_to: &str, err: Option<&ApiError>) -> Markup {
    html! {
        (email_code_form(csrf, "/account/factors/activate", id, sent_to, "Add", err))
        p { a href="/account/security" { "Cancel" } }
    }
}

#[derive(Deserialize)]
pub(crate) struct ActivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    code: String,
    /// Set for email codes (where the code went), to show the page again.
    sent_to: Option<String>,
    then: Option<String>,
}

/// The new factor's first code: it is active.
pub(crate) async fn activate(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ActivateForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    match st
        .twofold
        .activate_factor(&caller, &form.id, &form.code, false, None)
        .await
    {
        Ok(_) => match then_path(form.then.as_deref()) {
            Some(then) => see_other_to(then, vec![]),
            None => see_other("/account/security", vec![]),
        },
        Err(e) => {
            let e = ApiError::from(e);
            let (csrf, cookie) = cookies::csrf_token(&headers);
            let (title, body) = match &form.sent_to {
                Some(to) => ("Add email codes", email_code(&csrf, &form.id, to, Some(&e))),
                None => match st.twofold.factor_qr_uri(&caller, &form.id, None).await {
                    Ok(uri) => (
                        "Add authenticator app",
                        scan_and_verify(
                            &csrf,
                            "/account/factors/activate",
                            &form.id,
                            &uri,
                            "Add",
                            Some(&e),
                            then_path(form.then.as_deref()),
                        ),
                    ),
                    Err(_) => return see_other("/account/security", vec![]),
                },
            };
            page(&csrf, title, body)
                .cookie(cookie)
                .failed(&e)
                .into_response()
        }
    }
}
