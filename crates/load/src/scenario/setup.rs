//! The password step up front: log in `count` times, round-robin over a list of users,
//! and keep each flow token as a ready-made `MfaRequest` body prefix. This is not measured;
//! it only has to be quick, so it runs with plenty of workers, and it stops at the first
//! answer that is not `mfa_required` with a message that says what is probably wrong.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use tokio::task::JoinSet;

use super::wire::{AUTHENTICATED, MFA_REQUIRED, mfa_body_prefix};
use super::{Ctx, SETUP_LIMIT, join_all};
use crate::LoadError;
use crate::report::SetupReport;
use crate::stats::Answer;

/// A flow waiting for its code.
pub(crate) struct Flow {
    /// Index into the run's users.
    pub user: usize,
    /// `{"flow_token":"…","method":"totp","code":"`.
    pub body_prefix: Vec<u8>,
}

/// The prepared flows, handed out once each ([`Flows::take`]) or by index.
pub(crate) struct Flows {
    flows: Vec<Flow>,
    next: AtomicUsize,
}

impl Flows {
    /// The next flow not yet taken.
    pub fn take(&self) -> Option<&Flow> {
        self.flows.get(self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// Flow `i` modulo their number (for round-robin reuse).
    pub fn cycle(&self, i: u64) -> Option<&Flow> {
        let len = self.flows.len() as u64;
        if len == 0 {
            return None;
        }
        self.flows.get(usize::try_from(i % len).ok()?)
    }
}

fn hint(answer: &Answer, ctx: &Ctx) -> String {
    match (answer.status, answer.label.as_ref()) {
        (401, "invalid_credentials") => format!(
            " (is the users file imported into organisation {:?}?)",
            ctx.org
        ),
        (200, "authenticated") => {
            " (the user has no active TOTP factor: was the file imported with its totp_uri column?)"
                .into()
        }
        (0, _) => format!(" (is the server running at {}?)", ctx.url),
        _ => String::new(),
    }
}

/// Logs in `count` times, flow `i` for user `users[i % users.len()]`, with `concurrency`
/// workers. Answers the flows in order.
pub(crate) async fn prepare_flows(
    ctx: &Arc<Ctx>,
    users: Arc<Vec<usize>>,
    count: usize,
    concurrency: usize,
) -> Result<(Flows, SetupReport), LoadError> {
    if users.is_empty() {
        return Err(LoadError::Setup("no users to prepare flows for".into()));
    }
    let start = Instant::now();
    let give_up = start + SETUP_LIMIT;
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let mut set = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (ctx, users, next, failed) = (ctx.clone(), users.clone(), next.clone(), failed.clone());
        set.spawn(async move {
            let mut got = Vec::new();
            while !failed.load(Ordering::Relaxed) {
                if Instant::now() > give_up {
                    failed.store(true, Ordering::Relaxed);
                    return Err(LoadError::Setup(format!(
                        "gave up after {} s; prepare fewer flows or give the users fast password hashes",
                        SETUP_LIMIT.as_secs()
                    )));
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let Some(&user) = users.get(i % users.len()) else {
                    break;
                };
                let Some(entry) = ctx.users.get(user) else {
                    break;
                };
                let reply = ctx
                    .wire
                    .post_json(ctx.wire.login(), entry.login_body.clone())
                    .await;
                match reply.flow_token {
                    Some(token) if reply.answer == MFA_REQUIRED => got.push((
                        i,
                        Flow {
                            user,
                            body_prefix: mfa_body_prefix(&token)?,
                        },
                    )),
                    _ => {
                        failed.store(true, Ordering::Relaxed);
                        let shown = if reply.answer == AUTHENTICATED {
                            "200 authenticated (no second factor asked)".to_owned()
                        } else {
                            reply.answer.to_string()
                        };
                        return Err(LoadError::Setup(format!(
                            "signing in {} answered {shown}{}",
                            entry.username,
                            hint(&reply.answer, &ctx)
                        )));
                    }
                }
            }
            Ok(got)
        });
    }
    let mut flows = Vec::with_capacity(count);
    for part in join_all(set).await? {
        flows.extend(part?);
    }
    flows.sort_unstable_by_key(|(i, _)| *i);
    let elapsed = start.elapsed().as_secs_f64();
    let report = SetupReport {
        flows: flows.len(),
        elapsed_secs: elapsed,
        logins_per_sec: if elapsed > 0.0 {
            flows.len() as f64 / elapsed
        } else {
            0.0
        },
    };
    Ok((
        Flows {
            flows: flows.into_iter().map(|(_, f)| f).collect(),
            next: AtomicUsize::new(0),
        },
        report,
    ))
}
