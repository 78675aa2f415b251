//! Asking for a second factor's code until the server takes one: at sign-in, for a change
//! that needs a fresh second factor, and when adding a factor. A wrong code is said in
//! plain words (with the clock-drift hint when the server gives one) and asked again; at
//! the prompt, `email`, `app` or `recovery` switches the method. Scripts (`--code-stdin`)
//! get the failure at once instead.

use twofold_client::ClientError;
use twofold_proto::{EmailCodeSent, ErrorCode, Method, Problem};

use super::term::Term;
use crate::failure::{Failure, from_client};

/// The methods offered, the one asked for first, and where a mailed code went already.
pub struct Choices {
    pub methods: Vec<Method>,
    pub current: Method,
    pub sent_to: Option<String>,
}

/// Asks for a code of the current method until `submit` takes one; `send_email` mails a
/// code when email is chosen and none was sent yet.
pub async fn ask<T>(
    term: &mut Term,
    mut choices: Choices,
    submit: impl AsyncFn(Method, &str) -> twofold_client::Result<T>,
    send_email: impl AsyncFn() -> twofold_client::Result<EmailCodeSent>,
) -> Result<T, Failure> {
    // A passkey needs a browser: a terminal asks for one of the user's other methods.
    choices.methods.retain(|m| *m != Method::Webauthn);
    if choices.current == Method::Webauthn {
        match choices.methods.first() {
            Some(other) => choices.current = *other,
            None => return Err(passkey_only()),
        }
    }
    let mut hinted = None;
    let mut last_sent = choices.sent_to.clone();
    loop {
        let method = choices.current;
        if method == Method::Email && choices.sent_to.is_none() {
            match send_email().await {
                Ok(sent) => last_sent = Some(sent.sent_to),
                // Mailed in the last 30 s: that code still works, so go on with it.
                Err(e) if e.code() == Some(ErrorCode::RateLimited) => term.say(
                    "A code was mailed less than 30 seconds ago: it still works. \
                     (A new one may be asked for after that.)",
                ),
                Err(e) => return Err(from_client(e)),
            }
            choices.sent_to = Some(last_sent.clone().unwrap_or_else(|| "your email".into()));
        }
        if hinted != Some(method) && !term.scripted() {
            if let Some(hint) = others_hint(&choices.methods, method) {
                term.say(&hint);
            }
            hinted = Some(method);
        }
        let prompt = match method {
            Method::Totp => "Code from your authenticator app: ".to_owned(),
            Method::Email => format!(
                "Your one-time code (sent to {}): ",
                choices.sent_to.as_deref().unwrap_or("your email")
            ),
            Method::RecoveryCode => "Recovery code: ".to_owned(),
            Method::Webauthn => return Err(passkey_only()),
        };
        let input = term.code(&prompt, method == Method::RecoveryCode)?;
        let input = input.trim();
        if let Some(missing) = unavailable(input, &choices.methods) {
            term.say(missing);
            continue;
        }
        if let Some(other) = switch_to(input, &choices.methods) {
            if other == Method::Email {
                // Asking for email again means "mail me a (new) code".
                choices.sent_to = None;
            }
            choices.current = other;
            continue;
        }
        if input.is_empty() {
            continue;
        }
        match submit(method, input).await {
            Ok(v) => return Ok(v),
            Err(e) if e.code() == Some(ErrorCode::CodeExpired) && !term.scripted() => {
                term.say("That code has expired or used up its tries: type `email` for a new one.");
            }
            Err(e) => retry_or_fail(term, e)?,
        }
    }
}

/// Asks for a code with `prompt` until `submit` takes one (an app's first code, a mailed
/// confirmation).
pub async fn until_accepted<T>(
    term: &mut Term,
    prompt: &str,
    submit: impl AsyncFn(&str) -> twofold_client::Result<T>,
) -> Result<T, Failure> {
    loop {
        let code = term.code(prompt, false)?;
        if code.trim().is_empty() {
            continue;
        }
        match submit(code.trim()).await {
            Ok(v) => return Ok(v),
            Err(e) => retry_or_fail(term, e)?,
        }
    }
}

/// Says why a code was refused and goes on, or gives up: anything but a wrong or reused
/// code, and any refusal when a script gives the codes.
fn retry_or_fail(term: &Term, e: ClientError) -> Result<(), Failure> {
    if term.scripted() {
        return Err(from_client(e));
    }
    match e.problem() {
        Some(p) if p.code == ErrorCode::InvalidCode => {
            term.say(&wrong_code(p));
            Ok(())
        }
        Some(p) if p.code == ErrorCode::InvalidRequest => {
            term.say(&format!("That is not a code: {}.", p.detail));
            Ok(())
        }
        Some(p) if p.code == ErrorCode::CodeReused => {
            term.say("That code was used already: wait for your app to show the next one.");
            Ok(())
        }
        _ => Err(from_client(e)),
    }
}

/// "That code is not right", and what the server saw of the device's clock.
pub fn wrong_code(p: &Problem) -> String {
    match p.clock_skew_seconds {
        Some(s) if s != 0 => format!(
            "That code is not right, but it would have been {} seconds {}: your device's \
             clock looks {} seconds {}. Set it to update automatically, then try again.",
            s.unsigned_abs(),
            if s < 0 { "ago" } else { "from now" },
            s.unsigned_abs(),
            if s < 0 { "behind" } else { "ahead" },
        ),
        _ => "That code is not right. Try again.".to_owned(),
    }
}

/// The method a word at the prompt names (`email`, `app`, `recovery`), if it names one.
fn named_method(input: &str) -> Option<Method> {
    match input.to_ascii_lowercase().as_str() {
        "email" => Some(Method::Email),
        "app" | "totp" => Some(Method::Totp),
        "recovery" => Some(Method::RecoveryCode),
        _ => None,
    }
}

/// The failure when a passkey is the only second factor offered: a terminal cannot use one
/// (the server's own code for a method that cannot be used).
fn passkey_only() -> Failure {
    Failure::new(
        ErrorCode::MethodNotAvailable.as_str(),
        "this account's only second factor here is a passkey, which needs a browser: sign in \
         on Twofold's web pages, or add an authenticator app there",
    )
}

/// The method a word at the prompt asks for, if it is one the user has.
fn switch_to(input: &str, methods: &[Method]) -> Option<Method> {
    named_method(input).filter(|m| methods.contains(m))
}

/// What to say when a word at the prompt names a method the user does not have.
fn unavailable(input: &str, methods: &[Method]) -> Option<&'static str> {
    let method = named_method(input).filter(|m| !methods.contains(m))?;
    Some(match method {
        Method::Email => "You have no email factor: use another way.",
        Method::Totp => "You have no authenticator app: use another way.",
        Method::RecoveryCode => "You have no recovery codes: use another way.",
        Method::Webauthn => "A passkey needs a browser: use another way.",
    })
}

/// "(Or type `email` …)" for the methods besides `current`.
fn others_hint(methods: &[Method], current: Method) -> Option<String> {
    let others: Vec<&str> = methods
        .iter()
        .filter(|m| **m != current)
        .map(|m| match m {
            Method::Totp => "`app` for your authenticator app",
            Method::Email => "`email` to have a code mailed to you",
            Method::RecoveryCode => "`recovery` for a recovery code",
            Method::Webauthn => "",
        })
        .filter(|hint| !hint.is_empty())
        .collect();
    (!others.is_empty()).then(|| format!("(Or type {}.)", others.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(skew: Option<i64>) -> Problem {
        Problem {
            type_uri: String::new(),
            title: String::new(),
            status: 401,
            detail: String::new(),
            code: ErrorCode::InvalidCode,
            retry_after: None,
            clock_skew_seconds: skew,
            scope: None,
            providers: None,
        }
    }

    #[test]
    fn clock_drift_is_said_in_plain_words() {
        let behind = wrong_code(&problem(Some(-90)));
        assert!(behind.contains("clock looks 90 seconds behind"), "{behind}");
        let ahead = wrong_code(&problem(Some(60)));
        assert!(ahead.contains("60 seconds ahead"), "{ahead}");
        assert_eq!(
            wrong_code(&problem(None)),
            "That code is not right. Try again."
        );
    }

    #[test]
    fn only_the_users_own_methods_can_be_switched_to() {
        let methods = [Method::Totp, Method::RecoveryCode];
        assert_eq!(switch_to("Recovery", &methods), Some(Method::RecoveryCode));
        assert_eq!(switch_to("email", &methods), None);
        assert_eq!(switch_to("123456", &methods), None);
        assert_eq!(
            others_hint(&methods, Method::Totp).as_deref(),
            Some("(Or type `recovery` for a recovery code.)")
        );
    }
}
