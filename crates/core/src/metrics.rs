//! Prometheus metrics: what an operator graphs and alerts on (the panels of
//! `docs/grafana-dashboard.json`). Each service has its own registry rather than a
//! process-wide recorder, so the many servers a test process starts keep theirs apart.
//!
//! The parts are recorded where things happen: the HTTP edge (requests), the verification
//! path (second factors, lockouts), the mail queue, the password hashing threads and the
//! storage engine; gauges that are a reading rather than a count (the mail queue's age, the
//! connection pool) are refreshed when Prometheus scrapes.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The content type of [`Metrics::render`]'s text (OpenMetrics, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds, from half a millisecond (a code check on one core) to ten
/// seconds (a request about to time out).
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// A histogram of durations in seconds.
pub fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// An HTTP request, as the edge answered it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    /// The route as declared (`/api/v1/me/factors/{id}`), `-` when none matched: a
    /// bounded set, with no ids in it.
    pub route: String,
    pub status: u16,
}

/// A second factor checked: for what, how, and what came of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SecondFactorLabels {
    /// `sign_in` or `step_up` (a step-up, a raised session or a guarded change).
    pub purpose: &'static str,
    /// `totp`, `email`, `recovery_code`, `webauthn`.
    pub method: &'static str,
    /// `accepted`, `refused`, `replayed` (an app's code already used), `expired` (the
    /// sign-in or the passkey request gone), `invalid` (malformed), `locked` or `error`
    /// (the server's own failure).
    pub outcome: &'static str,
}

/// A password step of a sign-in and what came of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignInLabels {
    /// `signed_in` (no second factor asked), `second_factor` (one asked for),
    /// `enrollment_required`, `refused` (wrong name or password), `throttled`,
    /// `overloaded` or `error`.
    pub outcome: &'static str,
}

/// The mail queue's counts.
#[derive(Clone, Debug, Default)]
pub struct MailMetrics {
    pub queued: Counter,
    pub sent: Counter,
    pub retried: Counter,
    pub failed: Counter,
    /// Messages queued and not yet sent or given up on (set when scraped).
    pub pending: Gauge,
    /// How long the oldest of them has waited (set when scraped).
    pub oldest_pending_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

/// What a storage engine reports about itself: the SQLite writer's batches, or the
/// PostgreSQL pool's use.
#[derive(Clone, Debug)]
pub enum StoreMetrics {
    Sqlite {
        /// Jobs (writes) per batch, one transaction and one commit each.
        batch_jobs: Histogram,
        /// Time to run a batch and commit it.
        commit_seconds: Histogram,
        /// The writer's pauses between batches to finish a checkpoint so the WAL can
        /// start again: every write waiting meanwhile waits this long too.
        writer_pause_seconds: Histogram,
        /// The checkpointer thread's passes (they do not hold the writer up).
        checkpoint_seconds: Histogram,
    },
    Postgres {
        /// Connections open, in use or idle (set when scraped).
        connections: Gauge,
        idle: Gauge,
    },
}

impl StoreMetrics {
    pub fn sqlite() -> Self {
        StoreMetrics::Sqlite {
            batch_jobs: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            commit_seconds: latency_histogram(),
            writer_pause_seconds: latency_histogram(),
            checkpoint_seconds: latency_histogram(),
        }
    }

    pub fn postgres() -> Self {
        StoreMetrics::Postgres {
            connections: Gauge::default(),
            idle: Gauge::default(),
        }
    }

    /// Records one SQLite batch of `jobs` that took `took`; nothing for PostgreSQL.
    pub fn observe_batch(&self, jobs: usize, took: Duration) {
        if let StoreMetrics::Sqlite {
            batch_jobs,
            commit_seconds,
            ..
        } = self
        {
            batch_jobs.observe(jobs as f64);
            commit_seconds.observe(took.as_secs_f64());
        }
    }

    /// Records a SQLite checkpoint that took `took`: on the writer (`by_writer`, a pause
    /// of every write) or on the checkpointer thread; nothing for PostgreSQL.
    pub fn observe_checkpoint(&self, by_writer: bool, took: Duration) {
        if let StoreMetrics::Sqlite {
            writer_pause_seconds,
            checkpoint_seconds,
            ..
        } = self
        {
            let h = if by_writer {
                writer_pause_seconds
            } else {
                checkpoint_seconds
            };
            h.observe(took.as_secs_f64());
        }
    }

    fn register(&self, r: &mut Registry) {
        match self {
            StoreMetrics::Sqlite {
                batch_jobs,
                commit_seconds,
                writer_pause_seconds,
                checkpoint_seconds,
            } => {
                r.register(
                    "twofold_sqlite_batch_jobs",
                    "Writes per SQLite writer batch (one transaction, one commit)",
                    batch_jobs.clone(),
                );
                r.register_with_unit(
                    "twofold_sqlite_commit",
                    "Time the SQLite writer took to run and commit a batch",
                    Unit::Seconds,
                    commit_seconds.clone(),
                );
                r.register_with_unit(
                    "twofold_sqlite_writer_pause",
                    "Pauses of the SQLite writer between batches to finish a checkpoint",
                    Unit::Seconds,
                    writer_pause_seconds.clone(),
                );
                r.register_with_unit(
                    "twofold_sqlite_checkpoint",
                    "Checkpoint passes of the SQLite checkpointer thread",
                    Unit::Seconds,
                    checkpoint_seconds.clone(),
                );
            }
            StoreMetrics::Postgres { connections, idle } => {
                r.register(
                    "twofold_postgres_pool_connections",
                    "PostgreSQL connections open (in use or idle)",
                    connections.clone(),
                );
                r.register(
                    "twofold_postgres_pool_idle_connections",
                    "PostgreSQL connections open and idle",
                    idle.clone(),
                );
            }
        }
    }
}

/// Every metric of one service.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Histogram>,
    pub sign_ins: Family<SignInLabels, Counter>,
    pub second_factors: Family<SecondFactorLabels, Counter>,
    pub lockouts: Counter,
    pub mail: MailMetrics,
    /// Password hashes waiting or running on the Argon2id threads (set when scraped).
    pub password_queue: Gauge,
    pub password_wait: Histogram,
}

impl Metrics {
    /// The registry with every metric, the store's and the hashing threads' wait included.
    pub fn new(store: &StoreMetrics, password_wait: Histogram) -> Metrics {
        let mut r = Registry::default();
        let requests = Family::<RequestLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        r.register_with_unit(
            "twofold_http_request_duration",
            "HTTP requests by method, route and status, with the time taken to answer",
            Unit::Seconds,
            requests.clone(),
        );
        let sign_ins = Family::<SignInLabels, Counter>::default();
        r.register(
            "twofold_sign_ins",
            "Password steps of sign-ins by outcome",
            sign_ins.clone(),
        );
        let second_factors = Family::<SecondFactorLabels, Counter>::default();
        r.register(
            "twofold_second_factors",
            "Second factors checked, by purpose, method and outcome (replayed: a code already used)",
            second_factors.clone(),
        );
        let lockouts = Counter::default();
        r.register(
            "twofold_lockouts",
            "Second-factor lockouts started",
            lockouts.clone(),
        );
        let mail = MailMetrics::default();
        r.register("twofold_mail_queued", "Mails queued", mail.queued.clone());
        r.register("twofold_mail_sent", "Mails delivered", mail.sent.clone());
        r.register(
            "twofold_mail_retries",
            "Delivery attempts that failed and will be retried",
            mail.retried.clone(),
        );
        r.register(
            "twofold_mail_failed",
            "Mails given up on (refused, attempts used up, or the queue full)",
            mail.failed.clone(),
        );
        r.register(
            "twofold_mail_pending",
            "Mails queued and not yet delivered or given up on",
            mail.pending.clone(),
        );
        r.register_with_unit(
            "twofold_mail_oldest_pending_age",
            "How long the oldest undelivered mail has waited",
            Unit::Seconds,
            mail.oldest_pending_seconds.clone(),
        );
        let password_queue = Gauge::default();
        r.register(
            "twofold_password_hash_queue",
            "Password hashes (Argon2id) waiting or running",
            password_queue.clone(),
        );
        r.register_with_unit(
            "twofold_password_hash_wait",
            "Time a password hash waited for a hashing thread",
            Unit::Seconds,
            password_wait.clone(),
        );
        store.register(&mut r);
        Metrics {
            registry: r,
            requests,
            sign_ins,
            second_factors,
            lockouts,
            mail,
            password_queue,
            password_wait,
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail; an encoding error would be a bug in a label.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics not encoded");
        }
        out
    }

    /// Counts one second factor checked.
    pub fn second_factor(
        &self,
        purpose: &'static str,
        method: &'static str,
        outcome: &'static str,
    ) {
        self.second_factors
            .get_or_create(&SecondFactorLabels {
                purpose,
                method,
                outcome,
            })
            .inc();
    }

    /// Counts one password step.
    pub fn sign_in(&self, outcome: &'static str) {
        self.sign_ins.get_or_create(&SignInLabels { outcome }).inc();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn renders_every_family_with_its_type_and_an_end() {
        let m = Metrics::new(&StoreMetrics::sqlite(), latency_histogram());
        m.second_factor("sign_in", "totp", "replayed");
        m.requests
            .get_or_create(&RequestLabels {
                method: "POST",
                route: "/api/v1/auth/mfa".into(),
                status: 401,
            })
            .observe(0.003);
        let text = m.render();
        assert!(
            text.contains(
                "twofold_second_factors_total{purpose=\"sign_in\",method=\"totp\",outcome=\"replayed\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("twofold_http_request_duration_seconds_bucket{le=\"0.005\",method=\"POST\",route=\"/api/v1/auth/mfa\",status=\"401\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE twofold_sqlite_commit_seconds histogram"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    /// Every series the Grafana dashboard in docs/ queries is one a server exposes, on
    /// either engine: a renamed metric cannot leave a panel empty.
    #[test]
    fn the_dashboard_queries_only_metrics_that_exist() {
        let dashboard = include_str!("../../../docs/grafana-dashboard.json");
        let mut exposed = String::new();
        for store in [StoreMetrics::sqlite(), StoreMetrics::postgres()] {
            let m = Metrics::new(&store, latency_histogram());
            // Families show once they have a member.
            m.second_factor("sign_in", "totp", "accepted");
            m.sign_in("second_factor");
            m.requests
                .get_or_create(&RequestLabels {
                    method: "GET",
                    route: "/healthz".into(),
                    status: 200,
                })
                .observe(0.001);
            exposed.push_str(&m.render());
        }
        let names: std::collections::BTreeSet<&str> = dashboard
            .match_indices("twofold_")
            .map(|(i, _)| {
                let rest = &dashboard[i..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .filter(|n| *n != "twofold_" && !n.starts_with("twofold_overview"))
            .collect();
        assert!(names.len() >= 15, "{names:?}");
        for name in names {
            assert!(
                exposed
                    .lines()
                    .any(|l| l.starts_with(&format!("{name} "))
                        || l.starts_with(&format!("{name}{{"))),
                "the dashboard queries {name}, which no server exposes"
            );
        }
    }
}
