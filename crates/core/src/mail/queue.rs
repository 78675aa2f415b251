//! The delivery queue: requests push a message and return; a background task delivers
//! it, a few at a time, retrying what may pass later.
//!
//! ```text
//! push ──> queued ──> attempt ──ok──────────────> sent          (mail.sent)
//!                       │  ▲
//!                       │  └── wait first_delay·2^n (≤ max_delay) ◄─┐
//!                       ├──transient (no connection, timeout, 4xx) ──┘ (mail.retry)
//!                       ├──transient, attempts used up ──────> given up  (mail.failed)
//!                       └──refused (5xx) ────────────────────> given up  (mail.failed)
//! ```
//!
//! The queue is memory only. Mail is a notice or a code the user can ask for again;
//! the action that caused it is already in the database and never waits on the mail.
//! A full queue (a long SMTP outage under a flood) drops new messages with an error
//! line rather than growing without bound.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::Message;
use tokio::sync::{Semaphore, mpsc, watch};
use tracing::Instrument;

use super::{MailError, outbox, smtp};
use crate::clock::Timestamp;
use crate::metrics::MailMetrics;

/// Messages waiting at most; beyond it new ones are dropped (and logged).
const CAPACITY: usize = 10_000;
/// SMTP deliveries in flight at once.
const SMTP_CONCURRENCY: usize = 4;

/// How often and how patiently a transient failure is retried.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure; each further one doubles it.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Retry {
    /// Eight attempts over about twenty minutes: a relay restarting or greylisting
    /// (typically a few minutes) is waited out.
    fn default() -> Self {
        Self {
            attempts: 8,
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(600),
        }
    }
}

impl Retry {
    /// The longest a message can take from its first attempt to its last: the waits
    /// between attempts, and each attempt's own time, at most `attempt_timeout`.
    pub fn longest(&self, attempt_timeout: Duration) -> Duration {
        (1..self.attempts).map(|n| self.delay_after(n)).fold(
            attempt_timeout.saturating_mul(self.attempts),
            Duration::saturating_add,
        )
    }

    /// The wait before attempt `n + 1`, after `n` failed attempts (n ≥ 1).
    fn delay_after(&self, failed: u32) -> Duration {
        let doubled = self.first_delay.saturating_mul(
            1u32.checked_shl(failed.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        doubled.min(self.max_delay)
    }
}

pub enum Transport {
    Outbox(PathBuf),
    Smtp(smtp::SmtpTransport),
}

/// A message in the queue: its id, the message, and the span it was queued in.
type Queued = (String, Job, tracing::Span);

pub struct Job {
    pub to: String,
    pub subject: String,
    pub at: Timestamp,
    pub message: Message,
}

pub struct Queue {
    tx: mpsc::Sender<Queued>,
    waiting: Waiting,
}

/// The messages pushed and not yet sent or given up on: when each was queued, by id, on
/// the service's clock (the one the message is dated by, so tests can move it), for how
/// long the oldest has waited; and their number, which `idle` waits on.
#[derive(Clone)]
struct Waiting {
    since: Arc<Mutex<BTreeMap<String, Timestamp>>>,
    count: watch::Sender<usize>,
}

impl Waiting {
    fn new() -> Self {
        Self {
            since: Arc::default(),
            count: watch::channel(0).0,
        }
    }

    /// Changes the list and keeps the count in step.
    fn update(&self, change: impl FnOnce(&mut BTreeMap<String, Timestamp>)) {
        let mut since = self.since.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut since);
        self.count.send_replace(since.len());
    }

    fn add(&self, id: &str, at: Timestamp) {
        self.update(|w| {
            w.insert(id.to_owned(), at);
        });
    }

    /// `id` left the queue, sent or given up on.
    fn remove(&self, id: &str) {
        self.update(|w| {
            w.remove(id);
        });
    }

    fn oldest_age(&self, now: Timestamp) -> Option<Duration> {
        let since = self.since.lock().unwrap_or_else(|p| p.into_inner());
        let oldest = since.values().min()?;
        Some(Duration::from_secs(oldest.secs_until(now)))
    }
}

impl Queue {
    /// Spawns the delivery task on the current Tokio runtime.
    pub fn start(transport: Transport, retry: Retry, metrics: MailMetrics) -> Queue {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let waiting = Waiting::new();
        tokio::spawn(deliver_forever(
            rx,
            Arc::new(transport),
            retry,
            metrics,
            waiting.clone(),
        ));
        Queue { tx, waiting }
    }

    pub fn push(&self, job: Job, metrics: &MailMetrics) {
        // Time-ordered, so the outbox lists messages in the order they were sent.
        let id = uuid::Uuid::now_v7().simple().to_string();
        self.waiting.add(&id, job.at);
        let (to, subject) = (job.to.clone(), job.subject.clone());
        // Delivered in the span of the request that queued it: its lines carry that
        // request's id.
        match self
            .tx
            .try_send((id.clone(), job, tracing::Span::current()))
        {
            Ok(()) => {
                metrics.queued.inc();
                tracing::debug!(event = "mail.queued", %to, %subject)
            }
            Err(e) => {
                metrics.failed.inc();
                self.waiting.remove(&id);
                tracing::error!(event = "mail.failed", %to, %subject, error = %e, "mail queue unavailable; message dropped");
            }
        }
    }

    /// Messages not yet sent or given up on.
    pub fn pending(&self) -> usize {
        *self.waiting.count.borrow()
    }

    /// How long the oldest undelivered message has waited at `now` (none waiting:
    /// `None`).
    pub fn oldest_age(&self, now: Timestamp) -> Option<Duration> {
        self.waiting.oldest_age(now)
    }

    /// Whether the delivery task is still taking messages.
    pub fn running(&self) -> bool {
        !self.tx.is_closed()
    }

    pub async fn idle(&self) {
        let mut rx = self.waiting.count.subscribe();
        // Err only when the sender is gone, and then nothing is pending either.
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

async fn deliver_forever(
    mut rx: mpsc::Receiver<Queued>,
    transport: Arc<Transport>,
    retry: Retry,
    metrics: MailMetrics,
    waiting: Waiting,
) {
    // Files are written one at a time, in order; SMTP deliveries overlap, so one slow
    // or retried message does not hold up the others.
    let permits = Arc::new(Semaphore::new(match *transport {
        Transport::Outbox(_) => 1,
        Transport::Smtp(_) => SMTP_CONCURRENCY,
    }));
    while let Some((id, job, span)) = rx.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (transport, retry) = (transport.clone(), retry.clone());
        let (metrics, waiting) = (metrics.clone(), waiting.clone());
        tokio::spawn(async move {
            deliver(&transport, &retry, &id, job, &metrics)
                .instrument(span)
                .await;
            waiting.remove(&id);
            drop(permit);
        });
    }
}

/// Delivers one message, retrying transient failures; logs the outcome.
async fn deliver(transport: &Transport, retry: &Retry, id: &str, job: Job, metrics: &MailMetrics) {
    let (to, subject) = (&job.to, &job.subject);
    let mut attempt = 1;
    loop {
        let result = match transport {
            Transport::Outbox(dir) => outbox::write(dir, id, &job.message, job.at).map(
                |path| tracing::info!(event = "mail.sent", %to, %subject, file = %path.display()),
            ),
            Transport::Smtp(t) => smtp::send(t, job.message.clone())
                .await
                .map(|()| tracing::info!(event = "mail.sent", %to, %subject, attempt)),
        };
        match result {
            Ok(()) => {
                metrics.sent.inc();
                return;
            }
            Err(e) if e.is_transient() && attempt < retry.attempts => {
                metrics.retried.inc();
                let wait = retry.delay_after(attempt);
                tracing::warn!(event = "mail.retry", %to, %subject, attempt, retry_in_ms = wait.as_millis() as u64, error = %e);
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => {
                let why: &str = if matches!(e, MailError::Refused(_)) {
                    "refused"
                } else {
                    "attempts used up"
                };
                metrics.failed.inc();
                tracing::error!(event = "mail.failed", %to, %subject, attempt, why, error = %e);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_longest() {
        let r = Retry {
            attempts: 10,
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(60),
        };
        let d: Vec<u64> = (1..=6).map(|n| r.delay_after(n).as_secs()).collect();
        assert_eq!(d, [5, 10, 20, 40, 60, 60]);
        assert_eq!(r.delay_after(200).as_secs(), 60);
    }

    #[test]
    fn the_longest_a_message_takes_adds_every_wait_and_attempt() {
        let r = Retry {
            attempts: 3,
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(60),
        };
        // Three attempts of at most 30 s, and waits of 5 s and 10 s between them.
        assert_eq!(r.longest(Duration::from_secs(30)).as_secs(), 105);
    }
}
