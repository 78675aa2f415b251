//! The messages Twofold sends, in plain text and HTML.

use super::Mail;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn mail(to: &str, subject: &str, lines: &[String]) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: lines.join("\n\n"),
        html: lines
            .iter()
            .map(|l| format!("<p>{}</p>", esc(l)))
            .collect::<Vec<_>>()
            .join("\n"),
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
