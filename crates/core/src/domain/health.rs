//! What a running server reports about itself to its operator: whether it can serve
//! (`/readyz`: the database, its schema, the key, the mail queue) and its metrics.
//!
//! Liveness (`/healthz`) is not here on purpose: it touches nothing, so a busy database
//! or hashing queue never gets a live process restarted.

use std::time::Duration;

use super::Twofold;

/// How long a readiness check may wait for the database before it counts as down.
const DATABASE_WAIT: Duration = Duration::from_secs(2);

/// `check`'s answer, or a timeout after [`DATABASE_WAIT`] as its error.
async fn within_wait<T>(
    check: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(DATABASE_WAIT, check)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the database did not answer within {} s",
                DATABASE_WAIT.as_secs()
            ))
        })
}

/// One readiness check and, when it fails, why.
#[derive(Clone, Debug)]
pub struct Check {
    /// `database`, `migrations`, `secret_key` or `mail_queue`.
    pub name: &'static str,
    pub problem: Option<String>,
    /// Worth knowing, not a reason to take the server out of service.
    pub note: Option<String>,
}

impl Check {
    fn new(name: &'static str, problem: Option<String>) -> Check {
        Check {
            name,
            problem,
            note: None,
        }
    }
}

/// Every readiness check, in a fixed order.
#[derive(Clone, Debug)]
pub struct Readiness {
    pub checks: Vec<Check>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|c| c.problem.is_none())
    }
}

impl Twofold {
    /// Whether this server can serve sign-ins now; see the module documentation.
    pub async fn readiness(&self) -> Readiness {
        let database = within_wait(async {
            self.store
                .ping()
                .await
                .map_err(|e| format!("the database cannot be reached: {e}"))
        })
        .await
        .err();
        let (migrations, secret_key) = if database.is_some() {
            let skipped = || Some("not checked: the database cannot be reached".to_owned());
            (Check::new("migrations", skipped()), skipped())
        } else {
            let secret_key = within_wait(self.key_check()).await.err();
            (self.schema_check().await, secret_key)
        };
        Readiness {
            checks: vec![
                Check::new("database", database),
                migrations,
                Check::new("secret_key", secret_key),
                Check::new("mail_queue", self.mailer.stuck(self.now())),
            ],
        }
    }

    /// Every migration this build has is applied. A database a newer release already
    /// migrated further is only noted: during a rolling upgrade on PostgreSQL the first
    /// new server migrates it while the old ones still serve (migrations add, so old
    /// servers keep working), and failing them all at that moment would send every request
    /// to the one new server.
    async fn schema_check(&self) -> Check {
        let mut check = Check::new("migrations", None);
        match within_wait(async {
            self.store
                .schema_versions()
                .await
                .map_err(|e| e.to_string())
        })
        .await
        {
            Ok(v) if v.applied == v.known => {}
            Ok(v) if v.applied > v.known => {
                check.note = Some(format!(
                    "the database has {} migrations applied and this server knows {}: a newer \
                     release migrated it; upgrade this server",
                    v.applied, v.known
                ));
            }
            Ok(v) => {
                check.problem = Some(format!(
                    "the database has {} of this server's {} migrations applied: restart it \
                     to migrate",
                    v.applied, v.known
                ));
            }
            Err(e) => check.problem = Some(format!("cannot read the applied migrations: {e}")),
        }
        check
    }

    /// The key this server seals with is the database's, and it holds every key the
    /// database's secrets are sealed with (another server may have been given a new key
    /// this one lacks: it could not read what that server seals).
    async fn key_check(&self) -> Result<(), String> {
        let ids = self
            .store
            .secret_key_ids()
            .await
            .map_err(|e| format!("cannot read the secret key ids: {e}"))?;
        if !ids.iter().any(|id| id == self.keys.current_id()) {
            return Err(format!(
                "this server's key {} is not registered in the database",
                self.keys.current_id()
            ));
        }
        let missing: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| !self.keys.has_key(id))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the database holds secrets sealed with key {}, which this server does not have",
            missing.join(", ")
        ))
    }

    /// The metrics in Prometheus's text format, the readings among them taken now.
    pub fn render_metrics(&self) -> String {
        let m = &self.metrics;
        m.password_queue
            .set(i64::try_from(self.passwords.queued()).unwrap_or(i64::MAX));
        m.mail
            .pending
            .set(i64::try_from(self.mailer.pending()).unwrap_or(i64::MAX));
        m.mail.oldest_pending_seconds.set(
            self.mailer
                .oldest_pending_age(self.now())
                .map_or(0.0, |age| age.as_secs_f64()),
        );
        self.store.refresh_metrics();
        m.render()
    }

    /// Where the HTTP edge records requests, and the rules record their outcomes.
    pub fn metrics(&self) -> &std::sync::Arc<crate::metrics::Metrics> {
        &self.metrics
    }
}
