//! `sign-in`: each request is a whole sign-in, the password step and then a code, timed
//! together, round-robin over the users. The users should have OWASP-cost hashes
//! (`prepare --password-cost owasp`) so the password step costs what it does for real.
//!
//! A user signs in at most once per TOTP step (the server accepts each step once), so a
//! sustained rate needs at least rate × period users; with fewer, workers wait for the
//! next step and the report counts the waits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::steps::unix_now;
use super::wire::{AUTHENTICATED, MFA_REQUIRED, mfa_body, mfa_body_prefix};
use super::{Ctx, Outcome, Phase, WorkerOut, reserve_step, run_one_class};
use crate::LoadError;
use crate::report::StopReason;
use crate::stats::Answer;

/// Users handed out round-robin.
pub(crate) struct RoundRobin {
    users: Vec<usize>,
    next: AtomicUsize,
}

impl RoundRobin {
    pub fn new(users: Vec<usize>) -> RoundRobin {
        RoundRobin {
            users,
            next: AtomicUsize::new(0),
        }
    }

    pub fn next(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.users.get(i.checked_rem(self.users.len())?).copied()
    }
}

pub(crate) async fn run(ctx: &Arc<Ctx>, config: &super::RunConfig) -> Result<Outcome, LoadError> {
    let pool = Arc::new(RoundRobin::new((0..ctx.users.len()).collect()));
    run_one_class(config, "sign_in", None, true, |phase| {
        worker(ctx.clone(), phase, pool.clone())
    })
    .await
}

/// Signs users in, start to finish, until the phase ends.
pub(crate) async fn worker(ctx: Arc<Ctx>, phase: Arc<Phase>, pool: Arc<RoundRobin>) -> WorkerOut {
    let mut out = WorkerOut::default();
    let stop = loop {
        if let Err(stop) = phase.check() {
            break stop;
        }
        let Some(index) = pool.next() else {
            break StopReason::FlowsExhausted;
        };
        let Some(user) = ctx.users.get(index) else {
            break StopReason::FlowsExhausted;
        };
        // The step is reserved before the password step, so no login is wasted on a user
        // who could not finish within the phase.
        let step = match reserve_step(&ctx, &phase, index, &mut out.waits).await {
            Ok(step) => step,
            Err(stop) => break stop,
        };
        if let Err(stop) = phase.take() {
            break stop;
        }
        let started = Instant::now();
        let login = ctx
            .wire
            .post_json(ctx.wire.login(), user.login_body.clone())
            .await;
        let answer = match login.flow_token {
            Some(token) if login.answer == MFA_REQUIRED => match mfa_body_prefix(&token) {
                Ok(prefix) => {
                    let step = ctx.steps.refresh(index, user.period, step, unix_now());
                    let body = mfa_body(&prefix, &user.totp.generate_for_step(step));
                    ctx.wire.post_json(ctx.wire.mfa(), body).await.answer
                }
                Err(_) => Answer::new(200, "unusable_flow_token"),
            },
            // A session from the password alone: the user has no active factor, so this
            // is not the sign-in being measured.
            _ if login.answer == AUTHENTICATED => Answer::new(200, "authenticated_without_mfa"),
            _ => login.answer,
        };
        let ok = answer == AUTHENTICATED;
        out.recorder.record(started, answer, ok);
    };
    out.stopped(stop)
}
