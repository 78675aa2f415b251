//! Enrolment at sign-in, when the organisation requires a second factor and the person
//! has none: an authenticator app (seed 000's order: the code mailed to the registered
//! address first, where that rule applies, then the QR code or the key typed by hand,
//! then a code from the app) or email codes. Activating one signs the person in, and
//! recovery codes are offered next. The same domain actions as `/api/v1/auth/enroll/…`.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use twofold_core::domain::factors::AddApp;

use super::cookies::{self, Jar};
use super::page::{Page, Viewer, csrf_field, failure, frame, see_other};
use super::{CsrfForm, flow_of_form};
use crate::AppState;
use crate::error::ApiError;

/// The QR code of Key URI `uri`, drawn inline (no request, no script), with words for
/// those who cannot see it.
pub(crate) fn qr(uri: &str) -> Markup {
    match twofold_core::qr::svg(uri) {
        Ok(svg) => {
            // The SVG is drawn by the QR encoder from the URI's modules alone: no text of
            // anybody's in it. Only the XML declaration goes.
            let start = svg.find("<svg").unwrap_or(0);
            html! {
                figure.qr role="img" aria-label="QR code to scan with your authenticator app" {
                    (PreEscaped(&svg[start..]))
                }
            }
        }
        Err(_) => html! { p { "The QR code could not be drawn: type the key below instead." } },
    }
}

/// `JBSWY3DPEHPK3PXP` as `JBSW Y3DP EHPK 3PXP`, for typing.
pub(crate) fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The secret in Key URI `uri` (its `secret=` parameter).
pub(crate) fn secret_of(uri: &str) -> String {
    uri.split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap_or_default()
        .to_owned()
}

/// "Scan this, or type the key", then the code field: the heart of adding an app.
pub(crate) fn scan_and_verify(
    csrf: &str,
    action: &str,
    id: &str,
    uri: &str,
    button: &str,
    err: Option<&ApiError>,
    then: Option<&str>,
) -> Markup {
    html! {
        ol.steps {
            li { "Open your authenticator app and add an account by scanning this QR code:" }
        }
        (qr(uri))
        details.key {
            summary { "Can't scan the QR code?" }
            p { "Add an account by hand with this key (time-based, 6 digits, every 30 seconds):" }
            p.secret #secret { code { (grouped(&secret_of(uri))) } }
        }
        form method="post" action=(action) {
            (csrf_field(csrf))
            input type="hidden" name="id" value=(id);
            @if let Some(t) = then { input type="hidden" name="then" value=(t); }
            label for="code" { "One-Time Password" }
            p.hint #code-hint { "The 6-digit code the app shows for Twofold." }
            input #code .code type="text" name="code" required inputmode="numeric"
                autocomplete="one-time-code" maxlength="10"
                aria-describedby=(if err.is_some() { "code-error" } else { "code-hint" });
            @if let Some(e) = err {
                (failure(e, "code-error"))
            }
            button type="submit" { (button) }
        }
    }
}

fn viewer(csrf: &str) -> Viewer<'_> {
    Viewer {
        signed_in: false,
        csrf,
        console: None,
    }
}

/// The choice: an app or email codes.
pub(crate) async fn start(headers: HeaderMap) -> Response {
    if cookies::read(&headers, Jar::Flow).is_none() {
        return see_other("/login", vec![]);
    }
    let (csrf, cookie) = cookies::csrf_token(&headers);
    Page::ok(choose(&csrf, None)).cookie(cookie).into_response()
}

fn choose(csrf: &str, err: Option<&ApiError>) -> Markup {
    frame(
        &viewer(csrf),
        "Set up two-step sign-in",
        html! {
            p { "Your organisation asks for a second step at every sign-in. Set one up now: \
                 you are signed in as soon as it works." }
            @if let Some(e) = err {
                (failure(e, "enroll-error"))
            }
            h2 { "An authenticator app" }
            p.hint { "Google Authenticator, Microsoft Authenticator, 1Password, and the like." }
            form method="post" action="/login/enroll/app" {
                (csrf_field(csrf))
                label for="app-name" { "Name" }
                input #app-name type="text" name="name" value="Authenticator app" maxlength="64";
                button type="submit" { "Add authenticator app" }
            }
            h2 { "Codes by email" }
            form method="post" action="/login/enroll/email" {
                (csrf_field(csrf))
                button.secondary type="submit" { "Email me codes instead" }
            }
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct AppForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    confirmation_code: Option<String>,
}

/// Adding an app: the mailed code first (where the organisation asks for it), then the QR
/// code.
pub(crate) async fn app(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<AppForm>,
) -> Response {
    let flow = match flow_of_form(&headers, &form.csrf) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let name = form.name.as_deref().filter(|n| !n.trim().is_empty());
    let confirmation = form.confirmation_code.as_deref();
    match st.twofold.enroll_in_flow(&flow, name, confirmation).await {
        Ok(AddApp::ConfirmationRequired { .. }) => {
            Page::ok(confirm(&csrf, name.unwrap_or(""), None))
                .cookie(cookie)
                .into_response()
        }
        Ok(AddApp::Enrolled(e)) => Page::ok(frame(
            &viewer(&csrf),
            "Add your authenticator app",
            scan_and_verify(
                &csrf,
                "/login/enroll/activate",
                &e.id,
                &e.uri,
                "Verify",
                None,
                None,
            ),
        ))
        .cookie(cookie)
        .into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            let page = match confirmation {
                // A wrong mailed code: say so beside its field.
                Some(_) => confirm(&csrf, name.unwrap_or(""), Some(&e)),
                None => choose(&csrf, Some(&e)),
            };
            Page::ok(page).cookie(cookie).failed(&e).into_response()
        }
    }
}

/// "Enter the code we emailed you": proof that the person adding a first app reads the
/// registered mailbox, not only knows the password. The form posts to `action` with the
/// app's `name`, at sign-in and on the security page alike.
pub(crate) fn confirm_form(
    csrf: &str,
    action: &str,
    name: &str,
    err: Option<&ApiError>,
    then: Option<&str>,
) -> Markup {
    html! {
        p #confirm-hint { "We emailed a verification code to your registered address. \
                           It works once, for 5 minutes." }
        form method="post" action=(action) {
            (csrf_field(csrf))
            input type="hidden" name="name" value=(name);
            @if let Some(t) = then { input type="hidden" name="then" value=(t); }
            label for="confirmation" { "Verification code" }
            input #confirmation .code type="text" name="confirmation_code" required
                inputmode="numeric" autocomplete="one-time-code" maxlength="10"
                aria-describedby=(if err.is_some() { "confirm-error" } else { "confirm-hint" });
            @if let Some(e) = err {
                (failure(e, "confirm-error"))
            }
            button type="submit" { "Continue" }
        }
    }
}

/// The first code of a new email factor, mailed to `sent_to`, posted to `action` with the
/// factor's `id` (and `sent_to`, to show the page again).
pub(crate) fn email_code_form(
    csrf: &str,
    action: &str,
    id: &str,
    sent_to: &str,
    button: &str,
    err: Option<&ApiError>,
) -> Markup {
    html! {
        p #code-hint { "We emailed a code to " (sent_to) ". It works once, for 5 minutes." }
        form method="post" action=(action) {
            (csrf_field(csrf))
            input type="hidden" name="id" value=(id);
            input type="hidden" name="sent_to" value=(sent_to);
            label for="code" { "Code from the email" }
            input #code .code type="text" name="code" required inputmode="numeric"
                autocomplete="one-time-code" maxlength="10"
                aria-describedby=(if err.is_some() { "code-error" } else { "code-hint" });
            @if let Some(e) = err {
                (failure(e, "code-error"))
            }
            button type="submit" { (button) }
        }
    }
}

fn confirm(csrf: &str, name: &str, err: Option<&ApiError>) -> Markup {
    frame(
        &viewer(csrf),
        "Add your authenticator app",
        confirm_form(csrf, "/login/enroll/app", name, err, None),
    )
}

/// Email codes: a code goes to the registered address now.
pub(crate) async fn email(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let flow = match flow_of_form(&headers, &form.csrf) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    match st.twofold.enroll_email_in_flow(&flow, None).await {
        Ok((id, sent)) => Page::ok(email_code(&csrf, &id, &sent.sent_to, None))
            .cookie(cookie)
            .into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            Page::ok(choose(&csrf, Some(&e)))
                .cookie(cookie)
                .failed(&e)
                .into_response()
        }
    }
}

fn email_code(csrf: &str, id: &str, sent_to: &str, err: Option<&ApiError>) -> Markup {
    frame(
        &viewer(csrf),
        "Set up codes by email",
        email_code_form(csrf, "/login/enroll/activate", id, sent_to, "Verify", err),
    )
}

#[derive(Deserialize)]
pub(crate) struct ActivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    code: String,
    /// Set for an email factor (where its code went), to show the page again.
    sent_to: Option<String>,
}

/// The first code: the factor is active and the person signed in; recovery codes next.
pub(crate) async fn activate(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ActivateForm>,
) -> Response {
    let flow = match flow_of_form(&headers, &form.csrf) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let secure = cookies::secure(&headers);
    match st
        .twofold
        .activate_in_flow(&flow, &form.id, &form.code)
        .await
    {
        Ok(session) => {
            let age = st.twofold.now().secs_until(session.expires_at);
            see_other(
                "/account/recovery-codes?first=1",
                vec![
                    cookies::set(secure, Jar::Session, &session.token, Some(age)),
                    cookies::clear(secure, Jar::Flow),
                ],
            )
        }
        Err(e) => {
            let e = ApiError::from(e);
            let (csrf, cookie) = cookies::csrf_token(&headers);
            let page = match &form.sent_to {
                Some(to) => email_code(&csrf, &form.id, to, Some(&e)),
                None => match st.twofold.enrollment_uri(&flow, &form.id).await {
                    Ok(uri) => frame(
                        &viewer(&csrf),
                        "Add your authenticator app",
                        scan_and_verify(
                            &csrf,
                            "/login/enroll/activate",
                            &form.id,
                            &uri,
                            "Verify",
                            Some(&e),
                            None,
                        ),
                    ),
                    // The flow or the factor is gone: start again.
                    Err(_) => return see_other("/login", vec![cookies::clear(secure, Jar::Flow)]),
                },
            };
            Page::ok(page).cookie(cookie).failed(&e).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_grouped_by_four_for_typing() {
        assert_eq!(grouped("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
        assert_eq!(grouped("ABCDEF"), "ABCD EF");
    }

    #[test]
    fn the_secret_is_read_from_the_key_uri() {
        let uri = "otpauth://totp/Twofold:alice?secret=JBSWY3DP&issuer=Twofold&period=30";
        assert_eq!(secret_of(uri), "JBSWY3DP");
    }
}
