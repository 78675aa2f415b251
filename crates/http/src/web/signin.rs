//! Signing in from a browser: the password page, the second step (the preferred method,
//! another one for this sign-in, Remember me on this browser) and signing out. Each form
//! calls the same domain action as `/api/v1/auth/…`.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use twofold_core::domain::confirm::RESEND_AFTER_SECS;
use twofold_core::domain::signin::{LoginOutcome, SignInChoices};
use twofold_core::domain::{DomainError, Method};

use super::cookies::{self, Jar};
use super::page::{Page, Viewer, csrf_field, failure, frame, see_other};
use super::{CsrfForm, flow_of_form, forbidden, signed_in};
use crate::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    username: String,
    /// Wiped when dropped (see `Drop`).
    #[serde(default)]
    password: String,
}

impl Drop for LoginForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

/// `/`: the account for a signed-in browser, the sign-in page for any other.
pub(crate) async fn home(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if signed_in(&st, &headers).await.is_some() {
        see_other("/account/security", vec![])
    } else {
        see_other("/login", vec![])
    }
}

/// The sign-in page.
#[derive(Deserialize)]
pub(crate) struct LoginNotice {
    /// Every session of the organisation just ended (MFA was required by this admin).
    ended: Option<String>,
    /// The organisation, filled in (and its identity providers offered).
    org: Option<String>,
}

pub(crate) async fn login_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(n): Query<LoginNotice>,
) -> Response {
    if signed_in(&st, &headers).await.is_some() {
        return see_other("/account/security", vec![]);
    }
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let notice = n.ended.is_some().then(|| {
        html! { p.notice #notice role="status" { "MFA is now required, and every session of             your organisation ended, yours too. Sign in again." } }
    });
    let org = n.org.as_deref().unwrap_or("");
    let providers = providers_of(&st, org).await;
    let view = LoginView {
        csrf: &csrf,
        org,
        username: "",
        providers: &providers,
    };
    Page::ok(login_form(&view, None, notice))
        .cookie(cookie)
        .into_response()
}

/// Organisation `org`'s identity providers, to offer on the sign-in page.
async fn providers_of(st: &AppState, org: &str) -> Vec<String> {
    if org.is_empty() {
        return Vec::new();
    }
    st.twofold.sign_in_providers(org).await.unwrap_or_default()
}

/// The sign-in page's fields as typed so far, and the organisation's providers.
struct LoginView<'a> {
    csrf: &'a str,
    org: &'a str,
    username: &'a str,
    providers: &'a [String],
}

/// The organisation and username fields, as typed so far (sign-in and `/welcome`).
pub(crate) fn who_fields(org: &str, username: &str) -> Markup {
    html! {
        label for="org" { "Organisation" }
        input #org type="text" name="org" value=(org) required
            autocomplete="organization" autocapitalize="none" spellcheck="false";
        label for="username" { "Username" }
        input #username type="text" name="username" value=(username) required
            autocomplete="username" autocapitalize="none" spellcheck="false";
    }
}

fn login_form(v: &LoginView<'_>, err: Option<&ApiError>, notice: Option<Markup>) -> Markup {
    let (csrf, org, username) = (v.csrf, v.org, v.username);
    let viewer = Viewer {
        signed_in: false,
        csrf,
        console: None,
    };
    frame(
        &viewer,
        "Sign in",
        html! {
            @if let Some(n) = notice { (n) }
            form method="post" action="/login" {
                (csrf_field(csrf))
                (who_fields(org, username))
                label for="password" { "Password" }
                input #password type="password" name="password" required
                    autocomplete="current-password"
                    aria-describedby=[err.map(|_| "login-error")];
                @if let Some(e) = err {
                    (failure(e, "login-error"))
                }
                button type="submit" { "Sign in" }
            }
            @if !v.providers.is_empty() {
                section.federated aria-labelledby="federated-title" {
                    h2 #federated-title { "Or sign in through your organisation" }
                    ul.providers {
                        @for p in v.providers {
                            li { a.button.secondary href=(format!("/auth/oidc/{org}/{p}/start")) {
                                "Sign in with " (p)
                            } }
                        }
                    }
                }
            }
            p.others { a href="/welcome" { "I have an invitation" } }
        },
    )
}

/// The password step.
pub(crate) async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(mut form): Form<LoginForm>,
) -> Response {
    if !cookies::same_site_form(&headers, &form.csrf) {
        return forbidden(&headers);
    }
    let secure = cookies::secure(&headers);
    let device = cookies::read(&headers, Jar::Device);
    let outcome = st
        .twofold
        .login(
            &form.org,
            &form.username,
            Zeroizing::new(std::mem::take(&mut form.password)),
            device.as_deref(),
        )
        .await;
    let now = st.twofold.now();
    match outcome {
        Ok(LoginOutcome::Authenticated { session, .. }) => {
            let age = now.secs_until(session.expires_at);
            see_other(
                "/account/security",
                vec![
                    cookies::set(secure, Jar::Session, &session.token, Some(age)),
                    cookies::clear(secure, Jar::Flow),
                ],
            )
        }
        Ok(LoginOutcome::MfaRequired {
            flow_token,
            expires_at,
            ..
        }) => {
            let age = now.secs_until(expires_at);
            see_other(
                "/login/code",
                vec![cookies::set(secure, Jar::Flow, &flow_token, Some(age))],
            )
        }
        Ok(LoginOutcome::EnrollmentRequired {
            flow_token,
            expires_at,
        }) => {
            let age = now.secs_until(expires_at);
            see_other(
                "/login/enroll",
                vec![cookies::set(secure, Jar::Flow, &flow_token, Some(age))],
            )
        }
        Err(e) => {
            let e = ApiError::from(e);
            let (csrf, cookie) = cookies::csrf_token(&headers);
            let providers = providers_of(&st, &form.org).await;
            let view = LoginView {
                csrf: &csrf,
                org: &form.org,
                username: &form.username,
                providers: &providers,
            };
            Page::ok(login_form(&view, Some(&e), None))
                .cookie(cookie)
                .failed(&e)
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CodeQuery {
    method: Option<String>,
    /// Set after "Email me a code": say that it went.
    sent: Option<String>,
}

fn method_named(name: Option<&str>) -> Option<Method> {
    match name? {
        "totp" => Some(Method::Totp),
        "email" => Some(Method::Email),
        "recovery_code" => Some(Method::RecoveryCode),
        "webauthn" => Some(Method::Webauthn),
        _ => None,
    }
}

/// The second step: a code for the preferred method, or the one chosen for this sign-in.
pub(crate) async fn code_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Response {
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let Some(flow) = cookies::read(&headers, Jar::Flow) else {
        return see_other("/login", vec![]);
    };
    match st.twofold.sign_in_choices(&flow).await {
        Ok(choices) => {
            let method = method_named(q.method.as_deref())
                .filter(|m| choices.methods.contains(m))
                .unwrap_or(choices.preferred);
            let just_sent = q.sent.is_some() || method == Method::Email && q.method.is_none();
            let view = code_view(&st, &csrf, &choices);
            Page::ok(code_form(&view, method, just_sent, None))
                .cookie(cookie)
                .into_response()
        }
        Err(e) => expired(&headers, &csrf, cookie, &ApiError::from(e)),
    }
}

/// The sign-in page again, saying why: the flow ended (expired, used, or never was).
fn expired(
    headers: &HeaderMap,
    csrf: &str,
    cookie: Option<axum::http::HeaderValue>,
    e: &ApiError,
) -> Response {
    let view = LoginView {
        csrf,
        org: "",
        username: "",
        providers: &[],
    };
    Page::ok(login_form(&view, Some(e), None))
        .cookie(cookie)
        .cookie(Some(cookies::clear(cookies::secure(headers), Jar::Flow)))
        .failed(e)
        .into_response()
}

fn code_view<'a>(st: &AppState, csrf: &'a str, choices: &'a SignInChoices) -> CodeView<'a> {
    CodeView {
        csrf,
        choices,
        remember_days: st.twofold.remember_device_ttl().as_secs() / 86_400,
    }
}

/// The second step's page; `remember_days` is how long "Remember me" lasts.
#[derive(Clone, Copy)]
struct CodeView<'a> {
    csrf: &'a str,
    choices: &'a SignInChoices,
    remember_days: u64,
}

fn code_form(
    view: &CodeView<'_>,
    method: Method,
    just_sent: bool,
    err: Option<&ApiError>,
) -> Markup {
    let CodeView {
        csrf,
        choices,
        remember_days,
    } = *view;
    let viewer = Viewer {
        signed_in: false,
        csrf,
        console: None,
    };
    let email_to = choices.email_to.as_deref().unwrap_or("your address");
    let (prompt, label) = match method {
        Method::Totp => (
            "Open your authenticator app and enter the code it shows for Twofold.".to_owned(),
            "One-Time Password",
        ),
        Method::Email => (
            if just_sent {
                format!("We emailed a code to {email_to}. It works once, for 5 minutes.")
            } else {
                format!("Enter the code we emailed to {email_to}.")
            },
            "Code from the email",
        ),
        Method::RecoveryCode => (
            "Enter one of the recovery codes you kept when you set up two-step sign-in. \
             Each works once."
                .to_owned(),
            "Recovery code",
        ),
        Method::Webauthn => (
            "Use your passkey: your browser will ask you to touch your security key or \
             unlock your device."
                .to_owned(),
            "Passkey",
        ),
    };
    let numeric = method != Method::RecoveryCode;
    let described = if err.is_some() {
        "code-error"
    } else {
        "code-prompt"
    };
    frame(
        &viewer,
        "Two-step verification",
        html! {
            p #code-prompt { (prompt) }
            @if method == Method::Webauthn {
                form #passkey-form method="post" action="/login/code"
                    data-passkey="sign-in" data-options="/login/code/passkey" {
                    (csrf_field(csrf))
                    input type="hidden" name="method" value="webauthn";
                    @if let Some(e) = err {
                        (failure(e, "code-error"))
                    }
                    @if choices.remember_device {
                        label .check for="remember" {
                            input #remember type="checkbox" name="remember" value="yes";
                            "Remember me on this browser (" (remember_days) " days)"
                        }
                    }
                    button #use-passkey type="submit" autofocus aria-describedby=(described) {
                        "Use a passkey"
                    }
                }
                noscript { p { "Using a passkey needs JavaScript in your browser." } }
            } @else {
            form method="post" action="/login/code" {
                (csrf_field(csrf))
                input type="hidden" name="method" value=(method.as_str());
                label for="code" { (label) }
                @if numeric {
                    input #code .code type="text" name="code" required autofocus
                        inputmode="numeric" autocomplete="one-time-code"
                        maxlength="10" aria-describedby=(described);
                } @else {
                    input #code type="text" name="code" required autofocus
                        autocomplete="off" autocapitalize="none" spellcheck="false"
                        aria-describedby=(described);
                }
                @if let Some(e) = err {
                    (failure(e, "code-error"))
                }
                @if choices.remember_device {
                    label .check for="remember" {
                        input #remember type="checkbox" name="remember" value="yes";
                        "Remember me on this browser (" (remember_days) " days)"
                    }
                }
                button type="submit" { "Verify" }
            }
            }
            (other_methods(csrf, choices, method, email_to))
        },
    )
}

/// Links to finish this sign-in another way.
fn other_methods(csrf: &str, choices: &SignInChoices, current: Method, email_to: &str) -> Markup {
    let has = |m: Method| choices.methods.contains(&m);
    html! {
        section.others aria-labelledby="others-heading" {
            h2 #others-heading { "Other ways to sign in" }
            ul {
                @if has(Method::Webauthn) && current != Method::Webauthn {
                    li {
                        form method="post" action="/login/code" data-passkey="sign-in"
                            data-options="/login/code/passkey" {
                            (csrf_field(csrf))
                            input type="hidden" name="method" value="webauthn";
                            button.link #use-passkey type="submit" { "Use a passkey" }
                        }
                    }
                }
                @if has(Method::Totp) && current != Method::Totp {
                    li { a href="/login/code?method=totp" { "Use your authenticator app" } }
                }
                @if has(Method::Email) {
                    li {
                        form method="post" action="/login/code/email" {
                            (csrf_field(csrf))
                            button.link type="submit" {
                                @if current == Method::Email { "Email me a new code" }
                                @else { "Email me a code at " (email_to) }
                            }
                        }
                        @if current == Method::Email {
                            " " span.hint { "(at most one every " (RESEND_AFTER_SECS) " seconds)" }
                        }
                    }
                }
                @if has(Method::RecoveryCode) && current != Method::RecoveryCode {
                    li { a href="/login/code?method=recovery_code" { "Use a recovery code" } }
                }
                li { a href="/login" { "Start again" } }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    /// A passkey's answer (`method=webauthn`), put here by the page's script.
    #[serde(default)]
    credential: String,
    remember: Option<String>,
}

/// The second step's answer.
pub(crate) async fn code(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let flow = match flow_of_form(&headers, &form.csrf) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let secure = cookies::secure(&headers);
    let Some(method) = method_named(Some(&form.method)) else {
        return see_other("/login/code", vec![]);
    };
    // A passkey's answer goes where a code would; without the page's script there is none.
    let answer = match method {
        Method::Webauthn if form.credential.trim().is_empty() => {
            let e = ApiError::bad_request(
                "your browser sent no answer from a passkey: using one needs JavaScript; \
                 turn it on, or choose another way below",
            );
            return code_failed(&st, &headers, &flow, method, &e).await;
        }
        Method::Webauthn => form.credential.as_str(),
        _ => form.code.as_str(),
    };
    let res = st
        .twofold
        .complete_mfa(&flow, method, answer, form.remember.is_some())
        .await;
    match res {
        Ok(done) => {
            tracing::info!(
                event = "signin.succeeded",
                method = method.as_str(),
                via = "web"
            );
            let now = st.twofold.now();
            let mut set = vec![
                cookies::set(
                    secure,
                    Jar::Session,
                    &done.session.token,
                    Some(now.secs_until(done.session.expires_at)),
                ),
                cookies::clear(secure, Jar::Flow),
            ];
            if let Some(device) = done.device_token {
                let age = st.twofold.remember_device_ttl().as_secs();
                set.push(cookies::set(secure, Jar::Device, &device, Some(age)));
            }
            see_other("/account/security", set)
        }
        Err(e) => {
            let e = ApiError::from(e);
            tracing::info!(event = "mfa.failed", method = method.as_str(), via = "web", reason = %e.detail());
            code_failed(&st, &headers, &flow, method, &e).await
        }
    }
}

/// The second step's page again with `e` beside the field, or the sign-in page when the
/// flow is over (expired, or its last try locked it).
async fn code_failed(
    st: &AppState,
    headers: &HeaderMap,
    flow: &str,
    method: Method,
    e: &ApiError,
) -> Response {
    let (csrf, cookie) = cookies::csrf_token(headers);
    match st.twofold.sign_in_choices(flow).await {
        Ok(choices) => Page::ok(code_form(
            &code_view(st, &csrf, &choices),
            method,
            false,
            Some(e),
        ))
        .cookie(cookie)
        .failed(e)
        .into_response(),
        Err(_) => expired(headers, &csrf, cookie, e),
    }
}

/// "Email me a code": a code for this sign-in, to the user's email factor.
pub(crate) async fn send_email_code(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let flow = match flow_of_form(&headers, &form.csrf) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    match st.twofold.send_sign_in_code(&flow).await {
        Ok(_) => see_other("/login/code?method=email&sent=1", vec![]),
        // Too soon: the last code still works, which the page says beside the field.
        Err(DomainError::TooSoon { retry_after }) => {
            let e = ApiError::rate_limited(
                retry_after,
                "we emailed you a code less than 30 seconds ago, and it still works",
            );
            code_failed(&st, &headers, &flow, Method::Email, &e).await
        }
        Err(e) => code_failed(&st, &headers, &flow, Method::Email, &ApiError::from(e)).await,
    }
}

/// Signing out: the session ends on the server, and its cookie here.
pub(crate) async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !cookies::same_site_form(&headers, &form.csrf) {
        return forbidden(&headers);
    }
    if let Some(caller) = signed_in(&st, &headers).await
        && let Err(e) = st.twofold.logout(&caller).await
    {
        tracing::warn!(error = %e, "could not end a session at sign-out");
    }
    let secure = cookies::secure(&headers);
    see_other("/login", vec![cookies::clear(secure, Jar::Session)])
}
