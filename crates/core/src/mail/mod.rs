//! Mail to users: the messages (`messages`), how one becomes MIME (`message`), where it
//! goes (`outbox`: `.eml` files; `smtp`: a real SMTP server) and the queue that delivers
//! it in the background with retries (`queue`).
//!
//! Sending never blocks a request for long and never fails the action that caused it: a
//! message is built and queued at once, a background task delivers it, retrying transient
//! failures with growing delays, and logs the outcome (address and subject, never a code).
//! With no SMTP server configured (the embedded default) each message is written as an
//! `.eml` file to `<data-dir>/outbox/`.

pub mod message;
pub mod messages;
mod outbox;
mod queue;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::config::MailConfig;
use crate::metrics::MailMetrics;

pub use queue::Retry;

/// One message to one address.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{0}: a header would hold a line break")]
    HeaderInjection(&'static str),
    #[error("invalid address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("cannot write to the outbox {path}: {source}")]
    Outbox {
        path: String,
        source: std::io::Error,
    },
    #[error("SMTP configuration: {0}")]
    SmtpConfig(String),
    /// The server refused the message for good (a 5xx answer): retrying cannot help.
    #[error("SMTP server refused the message: {0}")]
    Refused(String),
    /// Anything that may pass: no connection, a timeout, a 4xx answer.
    #[error("SMTP delivery failed: {0}")]
    Transient(String),
}

impl MailError {
    /// Whether another attempt later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, MailError::Transient(_) | MailError::Outbox { .. })
    }
}

/// Sends Twofold's mail: a cheap handle onto the delivery queue.
#[derive(Clone)]
pub struct Mailer {
    queue: Arc<queue::Queue>,
    /// Parsed once, at start: a bad `from` stops the server there.
    from: lettre::message::Mailbox,
    outbox: PathBuf,
    metrics: MailMetrics,
    /// Past this, the oldest undelivered message shows the queue is stuck (see
    /// [`Mailer::stuck`]).
    stuck_after: Duration,
}

/// Slack beyond the retry schedule before a waiting message means a stuck queue: the
/// time a queue thousands of messages long takes to go through at 4 at once.
const STUCK_MARGIN: Duration = Duration::from_secs(300);
/// The most one write to the outbox is allowed in the schedule's reckoning.
const OUTBOX_ATTEMPT: Duration = Duration::from_secs(10);

impl Mailer {
    /// Starts the delivery task for `config` (SMTP when configured, else the outbox in
    /// `data_dir`). Must be called inside a Tokio runtime.
    pub fn start(
        config: &MailConfig,
        data_dir: &Path,
        metrics: MailMetrics,
    ) -> Result<Mailer, MailError> {
        let outbox = data_dir.join("outbox");
        tighten_outbox(&outbox);
        let (transport, attempt) = match &config.smtp {
            Some(smtp) => (queue::Transport::Smtp(smtp::transport(smtp)?), smtp.timeout),
            None => (queue::Transport::Outbox(outbox.clone()), OUTBOX_ATTEMPT),
        };
        let from = message::mailbox(&config.from)?;
        let queue = queue::Queue::start(transport, config.retry.clone(), metrics.clone());
        Ok(Mailer {
            queue: Arc::new(queue),
            from,
            outbox,
            metrics,
            stuck_after: config.retry.longest(attempt).saturating_add(STUCK_MARGIN),
        })
    }

    /// Messages not yet delivered or given up on.
    pub fn pending(&self) -> usize {
        self.queue.pending()
    }

    /// How long the oldest undelivered message has waited at `now` (`None`: nothing
    /// waits).
    pub fn oldest_pending_age(&self, now: Timestamp) -> Option<Duration> {
        self.queue.oldest_age(now)
    }

    /// Why the queue is stuck, if it is: its delivery task has stopped, or a message has
    /// waited longer than its retries can take (every message is sent or given up on
    /// within that time, so one still there means deliveries are not moving). An SMTP
    /// relay that refuses or is down is not "stuck": its messages are given up on in
    /// time, and the server goes on signing people in with their apps.
    pub fn stuck(&self, now: Timestamp) -> Option<String> {
        if !self.queue.running() {
            return Some("the mail delivery task has stopped".into());
        }
        let age = self.oldest_pending_age(now)?;
        (age > self.stuck_after).then(|| {
            format!(
                "the oldest undelivered mail has waited {} s (longer than its retries can take: {} s)",
                age.as_secs(),
                self.stuck_after.as_secs()
            )
        })
    }

    /// The folder `.eml` files are written to when no SMTP server is configured.
    pub fn outbox_dir(&self) -> &Path {
        &self.outbox
    }

    /// Queues `mail` for delivery and returns at once. Never fails the caller: what
    /// caused the mail has happened and must be answered as such; problems are logged.
    pub fn send(&self, mail: &Mail, at: Timestamp) {
        match message::build(mail, &self.from, at) {
            Ok(msg) => self.queue.push(
                queue::Job {
                    to: mail.to.clone(),
                    subject: mail.subject.clone(),
                    at,
                    message: msg,
                },
                &self.metrics,
            ),
            Err(e) => {
                self.metrics.failed.inc();
                tracing::error!(event = "mail.failed", to = %mail.to, subject = %mail.subject, error = %e)
            }
        }
    }

    /// Completes when every queued message has been delivered or given up on (tests
    /// wait on this instead of sleeping; shutdown waits on it for a while).
    pub async fn idle(&self) {
        self.queue.idle().await;
    }
}

/// Mail an older release left readable by other users (it holds codes) is made private.
fn tighten_outbox(outbox: &Path) {
    let Ok(entries) = std::fs::read_dir(outbox) else {
        return;
    };
    let mut paths = vec![outbox.to_path_buf()];
    paths.extend(entries.flatten().map(|e| e.path()));
    for path in paths {
        let mode = if path == outbox { 0o700 } else { 0o600 };
        if let Err(e) = crate::files::tighten(&path, mode) {
            tracing::warn!(path = %path.display(), error = %e, "cannot make the outbox private");
        }
    }
}
