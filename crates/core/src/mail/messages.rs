//! The messages Twofold sends, in plain text and HTML.

use super::Mail;

/// One message: each line a paragraph, in plain text and in HTML. The HTML is written with
/// maud, which escapes every interpolated value (names and organisations are chosen by
/// users, and may hold `<`, `&`, quotes or apostrophes). Each paragraph ends its line:
/// quoted-printable breaks lines longer than 76 characters, and a code on a short line of
/// its own is never split, for whoever reads the raw message.
fn mail(to: &str, subject: &str, lines: &[String]) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: lines.join("\n\n"),
        html: maud::html! {
            @for line in lines {
                p { (line) } "\n"
            }
        }
        .into_string(),
    }
}

/// The code that confirms turning the organisation's MFA requirement off.
pub fn policy_disable_code(to: &str, org: &str, code: &str, minutes: u64) -> Mail {
    mail(
        to,
        "Your code to turn off MFA",
        &[
            format!("Someone — hopefully you — asked to stop requiring MFA in {org}."),
            format!("Your code: {code}"),
            format!(
                "It works once, for {minutes} minutes. If you did not ask for this, ignore this \
                 message: nothing changes without the code."
            ),
        ],
    )
}

/// What a mailed one-time code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeUse {
    /// Activating email as a second factor.
    Activate,
    /// The second step of a sign-in.
    SignIn,
    /// Confirming a change (a step-up, removing the email factor).
    StepUp,
    /// Adding a first authenticator app: proof that whoever asks reads this mailbox.
    AddApp,
    /// Registering a first passkey: the same proof.
    AddPasskey,
}

/// A one-time code of the user's email factor.
pub fn email_code(to: &str, code_use: CodeUse, code: &str, minutes: u64) -> Mail {
    let (subject, why, if_not) = match code_use {
        CodeUse::Activate => (
            "Your code to set up sign-in codes by email",
            "Someone — hopefully you — asked to receive sign-in codes at this address.",
            "If you did not ask for this, ignore this message: nothing changes without the code.",
        ),
        CodeUse::SignIn => (
            "Your sign-in code",
            "Someone — hopefully you — entered your password and asked for a code to finish \
             signing in.",
            "If this was not you, do not share the code, and change your password now: \
             whoever asked knows it.",
        ),
        CodeUse::AddApp => (
            "Your code to add an authenticator app",
            "Someone signed in with your password — hopefully you — and asked to add an \
             authenticator app to your account.",
            "If this was not you, do not share the code, and change your password now: \
             whoever asked knows it.",
        ),
        CodeUse::AddPasskey => (
            "Your code to add a passkey",
            "Someone signed in with your password — hopefully you — and asked to add a passkey \
             (a security key or a device) to your account.",
            "If this was not you, do not share the code, and change your password now: \
             whoever asked knows it.",
        ),
        CodeUse::StepUp => (
            "Your code to confirm a change",
            "Someone signed in as you — hopefully you — asked for a code to confirm a sensitive \
             change to your account.",
            "If this was not you, do not share the code, and tell your administrator at once.",
        ),
    };
    mail(
        to,
        subject,
        &[
            why.to_owned(),
            format!("Your code: {code}"),
            format!("It works once, for {minutes} minutes. {if_not}"),
        ],
    )
}

/// An admin removed the user's second factors.
pub fn mfa_reset_notice(to: &str, org: &str) -> Mail {
    mail(
        to,
        "Your two-step sign-in was reset",
        &[
            format!("An administrator of {org} removed your second factors and signed you out."),
            "If MFA is required, you will set up an authenticator app at your next sign-in.".into(),
            "If you did not ask for this, tell your administrator.".into(),
        ],
    )
}

/// Repeated wrong codes locked the user's second step.
pub fn lock_notice(to: &str, at: &str, ip: Option<&str>) -> Mail {
    mail(
        to,
        "Someone failed your second sign-in step",
        &[
            format!(
                "At {at}, someone entered your password but failed the second step, from {}.",
                ip.unwrap_or("an unknown address")
            ),
            "Your second step is locked for a while. If this was not you, change your password \
             now: whoever tried knows it."
                .into(),
        ],
    )
}

/// A second factor was added to the account.
pub fn factor_added(to: &str, name: &str) -> Mail {
    mail(
        to,
        "A second factor was added to your account",
        &[
            format!("The second factor \"{name}\" can now be used to sign in to your account."),
            "If this was not you, tell your administrator at once.".into(),
        ],
    )
}

/// Another second factor is now asked for first.
pub fn factor_preferred(to: &str, name: &str) -> Mail {
    mail(
        to,
        "Your preferred second factor changed",
        &[
            format!(
                "The second factor \"{name}\" is now the one asked for first when you sign in."
            ),
            "If this was not you, tell your administrator at once.".into(),
        ],
    )
}

/// A second factor was removed from the account.
pub fn factor_removed(to: &str, name: &str) -> Mail {
    mail(
        to,
        "A second factor was removed from your account",
        &[
            format!("The second factor \"{name}\" was removed from your account."),
            "If this was not you, tell your administrator at once.".into(),
        ],
    )
}

/// A passkey's signature counter went backwards: it may have been copied.
pub fn passkey_possibly_cloned(to: &str, name: &str) -> Mail {
    mail(
        to,
        "One of your passkeys may have been copied",
        &[
            format!(
                "The passkey \"{name}\" answered with a signature counter lower than one it had \
                 already used, which is what a copy of it would do. Twofold refused it, and \
                 will refuse it from now on."
            ),
            "Remove it from your account's Security page and register the device again. If you \
             did not use it just now, tell your administrator at once."
                .into(),
        ],
    )
}

/// A new set of recovery codes replaced the old one.
pub fn recovery_codes_generated(to: &str) -> Mail {
    mail(
        to,
        "New recovery codes were made for your account",
        &[
            "A new set of recovery codes was made for your account; the old ones no longer work."
                .into(),
            "If this was not you, tell your administrator at once.".into(),
        ],
    )
}

/// A recovery code was used (to sign in, or to step up); `warning` says that few are left.
pub fn recovery_code_used(to: &str, remaining: u32, warning: Option<String>) -> Mail {
    let left = match remaining {
        1 => "You have 1 recovery code left.".to_owned(),
        n => format!("You have {n} recovery codes left."),
    };
    let mut lines = vec![
        "One of your recovery codes was just used on your account, in place of your \
         authenticator."
            .to_owned(),
        left,
    ];
    lines.extend(warning);
    lines.push("If this was not you, tell your administrator at once.".into());
    mail(to, "A recovery code was used on your account", &lines)
}

/// An active authenticator's QR code was shown again.
pub fn factor_qr_viewed(to: &str, name: &str) -> Mail {
    mail(
        to,
        "Your authenticator's QR code was shown",
        &[
            format!(
                "The QR code of your authenticator \"{name}\" was just shown again, so that it \
                 can be added to another device."
            ),
            "Anyone who saw it can make your codes. If this was not you, regenerate that \
             authenticator and tell your administrator at once."
                .into(),
        ],
    )
}

/// An authenticator was moved to a new secret.
pub fn factor_regenerated(to: &str, name: &str) -> Mail {
    mail(
        to,
        "Your authenticator was set up again",
        &[
            format!(
                "Your authenticator \"{name}\" now uses a new secret; codes from its old setup \
                 no longer work."
            ),
            "If this was not you, tell your administrator at once.".into(),
        ],
    )
}

/// The user's password was changed.
pub fn password_changed(to: &str, sessions_ended: u64) -> Mail {
    mail(
        to,
        "Your password was changed",
        &[
            format!(
                "The password of your account was just changed. Your other sessions ({sessions_ended}) \
                 were ended and your remembered devices forgotten."
            ),
            "If this was not you, tell your administrator at once.".into(),
        ],
    )
}

/// An admin created an account for the user: a code to set their first password with.
pub fn invitation(
    to: &str,
    org: &str,
    username: &str,
    code: &str,
    welcome: Option<&str>,
    days: u64,
) -> Mail {
    let whereto = match welcome {
        Some(url) => format!("Open {url} and enter:"),
        None => "Open Twofold's sign-in page, choose \"I have an invitation\" and enter:".into(),
    };
    mail(
        to,
        "You are invited to Twofold",
        &[
            format!("An administrator of {org} made you an account."),
            whereto,
            format!("Organisation: {org}"),
            format!("Username: {username}"),
            format!("Invitation code: {code}"),
            format!("Then choose your password. The code works once and for {days} days."),
            "If you did not expect this, ignore this message.".into(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_users_typed_is_escaped_in_the_html_and_kept_in_the_text() {
        let name = r#"<img src=x onerror='alert(1)'> & "Bob's""#;
        let m = factor_added("a@example.com", name);
        assert!(m.text.contains(name), "{}", m.text);
        // `'` needs no escape: maud writes text and double-quoted attributes only, where
        // an apostrophe cannot end anything.
        assert_eq!(
            m.html,
            "<p>The second factor &quot;&lt;img src=x onerror='alert(1)'&gt; &amp; \
             &quot;Bob's&quot;&quot; can now be used to sign in to your account.</p>\n\
             <p>If this was not you, tell your administrator at once.</p>\n"
        );
    }

    // Quoted-printable breaks long lines with `=`: in a message whose HTML is one long
    // line, a code could read `7207=` `32` in the raw message (the README's `code`
    // helper, an operator's grep of the outbox).
    #[test]
    fn a_code_is_whole_in_both_parts_of_the_raw_message() {
        let m = email_code("a@example.com", CodeUse::AddApp, "720732", 5);
        let from = "Twofold <no-reply@localhost>".parse().unwrap();
        let raw = super::super::message::build(&m, &from, crate::clock::Timestamp::from_millis(0))
            .unwrap()
            .formatted();
        let raw = String::from_utf8(raw).unwrap();
        assert_eq!(raw.matches("Your code: 720732").count(), 2, "{raw}");
    }
}
