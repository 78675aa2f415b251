//! How a command fails: one line on stderr naming the problem (or, with `--output json`,
//! one JSON object with a stable `code`), and the exit status.
//!
//! Exit statuses: 0 success, 1 the command failed, 2 bad configuration or usage.

use twofold_client::ClientError;
use twofold_proto::ErrorCode;

use crate::args::Output;

/// A failure, the exit status it deserves and a stable machine code: the server's problem
/// code where the server said no, else one of the CLI's own (`usage`, `not_signed_in`,
/// `input_required`, `unreachable`, `failed`).
#[derive(Debug)]
pub struct Failure {
    pub exit: u8,
    pub code: String,
    pub message: String,
    /// Seconds before trying again makes sense (a lock, a rate limit).
    pub retry_after: Option<u64>,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            exit: 1,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// Bad usage or configuration: exit status 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            exit: 2,
            ..Failure::new("usage", message)
        }
    }

    /// Prints the failure as `--output` asks and answers the exit status.
    pub fn report(&self, output: Output) -> u8 {
        match output {
            Output::Text => eprintln!("twofold: {}", self.message),
            Output::Json => {
                let mut error = serde_json::json!({"code": self.code, "message": self.message});
                if let Some(s) = self.retry_after {
                    error["retry_after"] = s.into();
                }
                eprintln!("{}", serde_json::json!({ "error": error }));
            }
        }
        self.exit
    }
}

/// Errors of the offline commands (the domain's, I/O, configuration): their text.
impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::new("failed", e.to_string())
    }
}

/// An answer from the server, in plain words for a person, with the problem's code.
pub fn from_client(e: ClientError) -> Failure {
    match e {
        ClientError::Api(p) => {
            let message = match p.code {
                ErrorCode::TooManyAttempts => format!(
                    "Too many wrong codes: this account's second step is locked. {}",
                    try_again(p.retry_after)
                ),
                ErrorCode::RateLimited => format!(
                    "Too many attempts: the server asks to wait. {}",
                    try_again(p.retry_after)
                ),
                ErrorCode::Unauthenticated => {
                    "you are not signed in to this server: run `twofold login`".to_owned()
                }
                ErrorCode::EnrollmentRequired => "this needs a second factor and you have none: \
                     add one with `twofold mfa add-app` (or `add-email`) first"
                    .to_owned(),
                _ => p.detail.clone(),
            };
            Failure {
                retry_after: p.retry_after,
                ..Failure::new(p.code.as_str(), message)
            }
        }
        ClientError::Http(e) => Failure::new(
            "unreachable",
            format!("cannot reach the server: {}", root_cause(&e)),
        ),
        ClientError::Unexpected { status, body } => Failure::new(
            "failed",
            format!("unexpected answer from the server ({status}): {body}"),
        ),
    }
}

/// "Try again in 2 minutes." from a problem's `retry_after`.
pub fn try_again(seconds: Option<u64>) -> String {
    match seconds {
        None => "Try again later.".to_owned(),
        Some(s) if s < 90 => format!("Try again in {s} seconds."),
        Some(s) => format!("Try again in {} minutes.", s.div_ceil(60)),
    }
}

/// The innermost cause of a connection failure ("Connection refused"), which says more
/// than reqwest's outer "error sending request".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_said_in_plain_words() {
        assert_eq!(try_again(Some(58)), "Try again in 58 seconds.");
        assert_eq!(try_again(Some(600)), "Try again in 10 minutes.");
        assert_eq!(try_again(None), "Try again later.");
    }
}
