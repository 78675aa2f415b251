//! The audit log: every security event is stored with its time, actor, subject, the
//! client's address and user agent, and details; admins read it newest first.
//!
//! Where a request came from is set once per request by the HTTP layer ([`with_origin`])
//! and read here, so the rules that record events need no HTTP types and no extra
//! parameters. Commands run from the CLI have no origin.

use std::future::Future;

use serde_json::Value;

use crate::clock::Timestamp;
use crate::mail::Mail;
use crate::store::{AuditFilter, AuditRow, Checked, UserRow};

use super::sessions::Caller;
use super::{DomainError, Result, Twofold};

/// A recorded security event, as an admin reads it.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub id: String,
    pub at: Timestamp,
    /// `signin.succeeded`, `mfa.failed`, `factor.enrolled`, …
    pub event: String,
    /// Who did it; `None` when nobody was signed in (a sign-in attempt).
    pub actor_id: Option<String>,
    /// Whom it concerns.
    pub subject_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// More about the event (a JSON object; its members depend on `event`).
    pub details: Value,
}

/// Where a request came from.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

tokio::task_local! {
    static ORIGIN: Origin;
}

/// Runs `fut` (a request) with `origin` as the origin of the events it records.
pub async fn with_origin<F: Future>(origin: Origin, fut: F) -> F::Output {
    ORIGIN.scope(origin, fut).await
}

/// Where the current request came from (nothing outside a request).
pub(crate) fn current_origin() -> Origin {
    ORIGIN.try_with(Clone::clone).unwrap_or_default()
}

/// When and from where an attempt came: what the events it causes carry. Built before a
/// check, so the rules the store runs inside its transaction can make their rows.
#[derive(Clone, Debug)]
pub(crate) struct AuditAt {
    pub now: Timestamp,
    pub origin: Origin,
}

impl AuditAt {
    /// At `now`, from the current request's origin.
    pub(crate) fn current(now: Timestamp) -> Self {
        Self {
            now,
            origin: current_origin(),
        }
    }

    /// `e` as a row, at this time and from this origin.
    pub(crate) fn event(&self, e: Event<'_>) -> AuditRow {
        AuditRow {
            id: Twofold::new_id(),
            org_id: e.org_id.to_owned(),
            at: self.now.as_millis(),
            event: e.event.to_owned(),
            actor_id: e.actor_id.map(str::to_owned),
            subject_id: e.subject_id.map(str::to_owned),
            ip: self.origin.ip.clone(),
            user_agent: self.origin.user_agent.clone(),
            details: details_json(&e.details),
        }
    }

    /// Event `event` about `who`; `actor`: they did it themselves (a sign-in), else the
    /// actor is unknown (a failed attempt).
    pub(crate) fn row(
        &self,
        who: Checked<'_>,
        event: &'static str,
        actor: bool,
        details: Value,
    ) -> AuditRow {
        self.event(Event {
            org_id: who.org_id,
            event,
            actor_id: actor.then_some(who.user_id),
            subject_id: Some(who.user_id),
            details,
        })
    }

    /// A failed attempt's events: `event` with `details`, and `mfa.locked` if attempt
    /// number `attempt` locked `who` until `lock` (Unix ms).
    pub(crate) fn failed(
        &self,
        who: Checked<'_>,
        attempt: i64,
        event: &'static str,
        details: Value,
        lock: Option<i64>,
    ) -> Vec<AuditRow> {
        let mut rows = vec![self.row(who, event, false, details)];
        if let Some(until) = lock {
            let secs = self.now.secs_until(Timestamp::from_millis(until));
            let details = serde_json::json!({"attempt": attempt, "locked_for_secs": secs});
            rows.push(self.row(who, "mfa.locked", false, details));
        }
        rows
    }
}

/// Which events to read, a page at a time.
#[derive(Clone, Copy, Debug, Default)]
pub struct AuditQuery<'a> {
    pub limit: Option<u32>,
    /// An event's id: the events older than it.
    pub before: Option<&'a str>,
    /// Only events this user did or that concern them.
    pub user_id: Option<&'a str>,
    /// Only events of this name (`mfa.reset`) or area (`mfa`).
    pub event: Option<&'a str>,
}

/// The most events one page holds.
pub const MAX_PAGE: u32 = 500;
/// A page's size when the caller does not say.
pub const DEFAULT_PAGE: u32 = 50;

/// The details of an event as stored: compact JSON, written straight into a `String`
/// (`Value`'s `Display` goes through the formatting machinery: twice the instructions,
/// on the writer thread of every sign-in).
fn details_json(details: &Value) -> String {
    // Serialising a `Value` cannot fail: its map keys are strings and the writer is a
    // `Vec`. The fallback is for the impossible case only.
    serde_json::to_string(details).unwrap_or_else(|_| "{}".to_owned())
}

/// One event to record.
pub(crate) struct Event<'a> {
    pub org_id: &'a str,
    pub event: &'static str,
    pub actor_id: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    pub details: Value,
}

impl Twofold {
    /// Stores `e`. The action it describes has already happened, so a failure to store
    /// it is logged, not returned: the caller's answer must match what was done.
    pub(crate) async fn record(&self, e: Event<'_>) {
        self.record_row(&self.audit_row(e)).await;
    }

    /// Stores `row`; like [`Twofold::record`], a failure is logged, not returned.
    pub(crate) async fn record_row(&self, row: &AuditRow) {
        if let Err(err) = self.store.insert_audit(row).await {
            tracing::error!(event = row.event, error = %err, "audit event not stored");
        }
    }

    /// The row for `e`, now, from the current request's origin (for a store operation
    /// that records it in its own transaction).
    pub(crate) fn audit_row(&self, e: Event<'_>) -> AuditRow {
        AuditAt::current(self.now()).event(e)
    }

    /// Records an event `user` did to themselves.
    pub(crate) async fn record_by(&self, user: &UserRow, event: &'static str, details: Value) {
        self.record(Event {
            org_id: &user.org_id,
            event,
            actor_id: Some(&user.id),
            subject_id: Some(&user.id),
            details,
        })
        .await;
    }

    /// Mails user `user_id` the message `make` builds for their address; logged if the
    /// user cannot be read (the mail is a notice, never the action itself).
    pub(crate) async fn mail_user(&self, user_id: &str, make: impl FnOnce(&str) -> Mail) {
        match self.store.user_by_id(user_id).await {
            Ok(Some(user)) => self.mailer.send(&make(&user.email), self.now()),
            Ok(None) => {}
            Err(e) => tracing::error!(user_id, error = %e, "mail not sent"),
        }
    }

    /// The organisation's events that pass `q`'s filters, newest first: up to `limit`
    /// (default 50, at most 500), older than event `before` if given.
    pub async fn audit_events(
        &self,
        caller: &Caller,
        slug: &str,
        q: AuditQuery<'_>,
    ) -> Result<Vec<AuditEvent>> {
        let org = self.org_for_admin(caller, slug).await?;
        let AuditQuery {
            limit,
            before,
            user_id,
            event,
        } = q;
        let mut filter = AuditFilter {
            user_id: user_id.unwrap_or_default().to_owned(),
            ..AuditFilter::default()
        };
        if let Some(kind) = event.map(str::trim).filter(|e| !e.is_empty()) {
            if kind.len() > 64
                || !kind
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
            {
                return Err(DomainError::InvalidInput(
                    "event: an event's name (`mfa.reset`) or its area (`mfa`)".into(),
                ));
            }
            match kind.trim_end_matches('.') {
                area if !area.contains('.') => filter.area = format!("{area}."),
                exact => filter.event = exact.to_owned(),
            }
        }
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(DomainError::InvalidInput(format!(
                "limit must be 1 to {MAX_PAGE}"
            )));
        }
        let cursor = match before {
            // No event id holds a NUL (and PostgreSQL text cannot).
            Some(id) if id.contains('\0') => {
                return Err(DomainError::InvalidInput(
                    "before: no such event in this organisation".into(),
                ));
            }
            Some(id) => Some(self.store.audit_cursor(&org.id, id).await?.ok_or_else(|| {
                DomainError::InvalidInput("before: no such event in this organisation".into())
            })?),
            None => None,
        };
        self.store
            .audit_page(&org.id, &filter, cursor.as_ref(), i64::from(limit))
            .await?
            .into_iter()
            .map(|r| {
                Ok(AuditEvent {
                    id: r.id,
                    at: Timestamp::from_millis(r.at),
                    event: r.event,
                    actor_id: r.actor_id,
                    subject_id: r.subject_id,
                    ip: r.ip,
                    user_agent: r.user_agent,
                    details: serde_json::from_str(&r.details)
                        .map_err(|e| DomainError::Internal(format!("audit details: {e}")))?,
                })
            })
            .collect()
    }
}
