//! The library's one error type. Messages are one line and meant for the operator.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A users file that is not what `prepare` writes.
    #[error("{}: line {line}: {message}", .path.display())]
    Csv {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A target that is not a loopback HTTP URL.
    #[error("--url {url}: {reason}")]
    Url { url: String, reason: String },
    /// A setting out of range or missing.
    #[error("{0}")]
    Config(String),
    /// The unmeasured preparation (the password step up front) did not go as expected.
    #[error("preparing flows: {0}")]
    Setup(String),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("Argon2: {0}")]
    Argon2(String),
    #[error("TOTP: {0}")]
    Otp(#[from] twofold_otp::Error),
    /// Reading `/proc/<pid>/…` failed (no such process, or not Linux).
    #[error("process {pid}: {message}")]
    Proc { pid: u32, message: String },
    /// A worker task ended abnormally.
    #[error("worker task: {0}")]
    Task(String),
}

impl LoadError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LoadError::Io {
            path: path.into(),
            source,
        }
    }
}
