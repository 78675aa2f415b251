//! "Confirm it's you": a change that needs a second factor passed in the last minutes
//! asks for a code inline (or a passkey, through the page's script), then goes on with the
//! same form — never a dead end. The code or the passkey's answer is checked by the same
//! domain action as `POST /api/v1/me/session/mfa`.

use axum::http::HeaderMap;
use maud::{Markup, html};

use twofold_core::domain::Method;
use twofold_core::domain::factors::{Factor, FactorDetails, FactorState};
use twofold_core::domain::sessions::Caller;

use super::page::failure;
use crate::AppState;
use crate::error::ApiError;

/// The code a form carries after it was asked for one: `totp`, `email`, or `webauthn`
/// (the passkey's answer, which the script put in the code's place).
pub(crate) fn method_of(name: Option<&str>) -> Method {
    match name {
        Some("email") => Method::Email,
        Some("webauthn") => Method::Webauthn,
        _ => Method::Totp,
    }
}

/// Passes the session's second factor again with `code`, when the form carries one, and
/// answers the caller as they are now (their session's second factor just passed).
pub(crate) async fn pass_if_given(
    st: &AppState,
    headers: &HeaderMap,
    caller: Caller,
    method: Option<&str>,
    code: Option<&str>,
) -> Result<Caller, ApiError> {
    let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
        return Ok(caller);
    };
    st.twofold
        .pass_second_factor_in_session(&caller, method_of(method), code)
        .await
        .map_err(ApiError::from)?;
    // The session row changed; the caller read before it did must not be used on.
    super::signed_in(st, headers)
        .await
        .ok_or_else(|| ApiError::from(twofold_core::domain::DomainError::Unauthenticated))
}

/// Whether `e` asks for a fresh second factor (the form should ask for a code).
pub(crate) fn wants_code(e: &ApiError) -> bool {
    e.code() == twofold_proto::ErrorCode::StepUpRequired
}

/// How the person confirms it is them.
pub(crate) enum Confirm {
    /// A code by `method`; for email, where it was mailed just now. `passkey`: a passkey
    /// may be used instead.
    Code {
        method: Method,
        sent_to: Option<String>,
        passkey: bool,
    },
    /// With a passkey, their only way here (no app, or email codes left unmailed).
    Passkey,
    /// Signing in again at their identity provider (a federated user).
    Provider(String),
}

/// What the person has to confirm with: an active authenticator app, an active email
/// factor, a passkey that can be used.
struct Ways {
    app: bool,
    email: bool,
    passkey: bool,
}

async fn ways(st: &AppState, caller: &Caller) -> Ways {
    let factors = st.twofold.list_factors(caller).await.unwrap_or_default();
    let active = factors
        .iter()
        .filter(|f: &&Factor| f.state == FactorState::Active);
    let mut ways = Ways {
        app: false,
        email: false,
        passkey: false,
    };
    for f in active {
        match &f.details {
            FactorDetails::Totp => ways.app = true,
            FactorDetails::Email { .. } => ways.email = true,
            FactorDetails::Passkey {
                possibly_cloned, ..
            } => ways.passkey |= !possibly_cloned,
        }
    }
    ways
}

/// How the person will confirm: at their identity provider when they sign in through
/// one, with their app when they have one (or a passkey instead), with a passkey when they
/// have one and no app (no code is mailed then), else with a code mailed to their email
/// factor now (where it went is said; a code mailed under 30 seconds ago still works, so
/// none is sent then).
async fn prepare(st: &AppState, caller: &Caller) -> Confirm {
    if let Ok(Some(provider)) = st.twofold.step_up_provider(caller).await {
        return Confirm::Provider(provider);
    }
    let ways = ways(st, caller).await;
    if ways.app || (!ways.email && !ways.passkey) {
        return Confirm::Code {
            method: Method::Totp,
            sent_to: None,
            passkey: ways.passkey,
        };
    }
    if ways.passkey {
        return Confirm::Passkey;
    }
    let sent_to = match st.twofold.send_step_up_code(caller).await {
        Ok(sent) => Some(sent.sent_to),
        Err(_) => None,
    };
    Confirm::Code {
        method: Method::Email,
        sent_to,
        passkey: false,
    }
}

/// How to ask again after a refused code or passkey, sent by `method`, mailing nothing.
async fn again(st: &AppState, caller: &Caller, method: Method) -> Confirm {
    let ways = ways(st, caller).await;
    match method {
        Method::Webauthn if ways.app => Confirm::Code {
            method: Method::Totp,
            sent_to: None,
            passkey: ways.passkey,
        },
        Method::Webauthn => Confirm::Passkey,
        method => Confirm::Code {
            method,
            sent_to: None,
            passkey: ways.passkey,
        },
    }
}

/// How to ask again after `e`, if `e` is about confirming it is them: a step-up required
/// prepares one (mailing a code to an email-only person), a refused code asks again the
/// same way (`method`, as the form sent it) without mailing another.
pub(crate) async fn after(
    st: &AppState,
    caller: &Caller,
    e: &ApiError,
    method: Option<&str>,
) -> Option<Confirm> {
    use twofold_proto::ErrorCode as C;
    match e.code() {
        C::StepUpRequired => Some(prepare(st, caller).await),
        C::InvalidCode
        | C::CodeReused
        | C::CodeExpired
        | C::TooManyAttempts
        | C::PasskeyRefused
        | C::ChallengeExpired
        | C::PasskeyCloned
        | C::InvalidRequest
            if method.is_some() =>
        {
            Some(again(st, caller, method_of(method)).await)
        }
        _ => None,
    }
}

/// The code field inside a form that posts its action again with it, and a **Use a
/// passkey** button where the person has one (the page's script asks the browser for the
/// passkey and posts the form with its answer in the code's place); for a federated user,
/// a button that takes them to their identity provider to sign in again, and then back to
/// `back` (the page to do it again from).
pub(crate) fn ask(how: &Confirm, err: Option<&ApiError>, back: &str) -> Markup {
    let (method, sent_to, passkey) = match how {
        Confirm::Code {
            method,
            sent_to,
            passkey,
        } => (method, sent_to, *passkey),
        Confirm::Passkey => {
            return html! {
                fieldset.confirm {
                    legend { "Confirm it's you" }
                    p #fresh-hint {
                        "Use your passkey: your browser will ask you to touch your security \
                         key or unlock your device."
                    }
                    input type="hidden" name="step_up_method" value="webauthn";
                    (use_passkey())
                    @if let Some(e) = err.filter(|e| !wants_code(e)) {
                        (failure(e, "fresh-error"))
                    }
                }
            };
        }
        Confirm::Provider(name) => {
            return html! {
                fieldset.confirm {
                    legend { "Confirm it's you" }
                    p #fresh-hint {
                        "Sign in again at " strong { (name) } " to confirm it is you, then do \
                         this again (for the next 10 minutes, without being asked)."
                    }
                    input type="hidden" name="return_to" value=(back);
                    button.secondary #step-up-provider type="submit"
                        formaction="/account/step-up/oidc" formnovalidate {
                        "Confirm with " (name)
                    }
                }
            };
        }
    };
    html! {
        fieldset.confirm {
            legend { "Confirm it's you" }
            p #fresh-hint {
                @match (method, sent_to) {
                    (Method::Email, Some(to)) => { "We emailed a code to " (to) ". Enter it here." }
                    (Method::Email, None) => { "Enter the code we emailed you a moment ago." }
                    _ if passkey => { "Enter the code your authenticator app shows now, or use a passkey." }
                    _ => { "Enter the code your authenticator app shows now." }
                }
            }
            input type="hidden" name="step_up_method" value=(method.as_str());
            label for="step-up-code" { "Code" }
            input #step-up-code .code type="text" name="step_up_code" required
                inputmode="numeric" autocomplete="one-time-code" maxlength="10"
                aria-describedby=(if err.is_some_and(|e| !wants_code(e)) { "fresh-error" } else { "fresh-hint" });
            @if let Some(e) = err.filter(|e| !wants_code(e)) {
                (failure(e, "fresh-error"))
            }
            @if passkey {
                (use_passkey())
            }
        }
    }
}

/// "Use a passkey" in a form that confirms it is them: hidden until the page's script
/// shows it (it needs the script), and a note said in its place without one.
fn use_passkey() -> Markup {
    html! {
        p.passkey-action {
            button.secondary #step-up-passkey type="button" hidden
                data-passkey="confirm" data-options="/account/passkey/options" {
                "Use a passkey"
            }
            noscript { "Using a passkey needs JavaScript in your browser." }
        }
    }
}
