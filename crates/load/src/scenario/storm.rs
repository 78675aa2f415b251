//! `storm`: a flood of full sign-ins (`concurrency` workers) with, beside it, 4 workers
//! finishing prepared flows with codes and 1 worker polling `/healthz` back to back. It
//! shows whether the expensive password step starves the cheap requests: each class is
//! reported on its own.
//!
//! With two users or more, the first half signs in and the second half's flows feed the
//! code workers, so the two never compete for a user's TOTP step.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::setup::prepare_flows;
use super::sign_in::RoundRobin;
use super::{
    Ctx, Measure, Outcome, STORM_MFA_WORKERS, WorkerOut, join_all, merge, mfa_step, overall_stop,
    plain, setup_concurrency, sign_in,
};
use crate::LoadError;
use crate::report::StepWaits;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    SignIn,
    MfaStep,
    Healthz,
}

pub(crate) async fn run(ctx: &Arc<Ctx>, config: &super::RunConfig) -> Result<Outcome, LoadError> {
    let n = ctx.users.len();
    let (flood, checkers): (Vec<usize>, Vec<usize>) = if n >= 2 {
        ((0..n / 2).collect(), (n / 2..n).collect())
    } else {
        ((0..n).collect(), (0..n).collect())
    };
    let count = config.flows.unwrap_or(checkers.len());
    let (flows, setup) = prepare_flows(
        ctx,
        Arc::new(checkers),
        count,
        setup_concurrency(config, count),
    )
    .await?;
    let flows = Arc::new(flows);
    let pool = Arc::new(RoundRobin::new(flood));
    let healthz = Arc::new(ctx.wire.healthz.clone());

    let measure = Measure::begin(config)?;
    let mut set = JoinSet::new();
    for _ in 0..config.concurrency {
        let w = sign_in::worker(ctx.clone(), measure.phase(), pool.clone());
        set.spawn(async move { (Class::SignIn, w.await) });
    }
    for _ in 0..STORM_MFA_WORKERS {
        let w = mfa_step::worker(ctx.clone(), measure.phase(), flows.clone());
        set.spawn(async move { (Class::MfaStep, w.await) });
    }
    let w = plain::worker(ctx.clone(), measure.phase(), healthz);
    set.spawn(async move { (Class::Healthz, w.await) });
    let outs = join_all(set).await?;

    // The phase lasts as long as its longest-running class (normally the deadline).
    let stop = overall_stop(outs.iter().map(|(_, o)| o));
    let take = |class: Class, outs: &mut Vec<(Class, WorkerOut)>| -> Vec<WorkerOut> {
        let (mine, rest) = std::mem::take(outs)
            .into_iter()
            .partition(|(c, _)| *c == class);
        *outs = rest;
        mine.into_iter().map(|(_, o)| o).collect()
    };
    let mut outs = outs;
    let sign_ins = take(Class::SignIn, &mut outs);
    let mfas = take(Class::MfaStep, &mut outs);
    let polls = take(Class::Healthz, &mut outs);
    let (sign_in, sign_in_waits) = merge(sign_ins);
    let (mfa, mfa_waits) = merge(mfas);
    let (health, _) = merge(polls);
    let requests = sign_in.requests() + mfa.requests() + health.requests();
    let measured = measure.end(requests)?;
    let waits = StepWaits {
        waits: sign_in_waits.waits + mfa_waits.waits,
        total_wait_ms: sign_in_waits.total_wait_ms + mfa_waits.total_wait_ms,
        longest_wait_ms: sign_in_waits.longest_wait_ms.max(mfa_waits.longest_wait_ms),
        stopped_at_deadline: sign_in_waits.stopped_at_deadline + mfa_waits.stopped_at_deadline,
    };
    Ok(Outcome {
        setup: Some(setup),
        classes: vec![("sign_in", sign_in), ("mfa_step", mfa), ("healthz", health)],
        stop,
        waits: Some(waits),
        wrong_codes: None,
        measured,
    })
}
