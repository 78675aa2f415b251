//! `mfa-step`, the hot path: flows are prepared up front (the password step, not measured),
//! then each request submits one fresh valid code for one flow. A flow is finished by its
//! code, so each flow gives exactly one request; flows are bound to users round-robin, and
//! a user whose current step is used waits for the next one (see `steps`).

use std::sync::Arc;
use std::time::Instant;

use super::setup::{Flows, prepare_flows};
use super::wire::{AUTHENTICATED, mfa_body};
use super::{Ctx, Outcome, Phase, WorkerOut, reserve_step, run_one_class, setup_concurrency};
use crate::LoadError;
use crate::report::StopReason;

pub(crate) async fn run(ctx: &Arc<Ctx>, config: &super::RunConfig) -> Result<Outcome, LoadError> {
    let everyone: Arc<Vec<usize>> = Arc::new((0..ctx.users.len()).collect());
    let count = config.flows.unwrap_or(ctx.users.len());
    let (flows, setup) =
        prepare_flows(ctx, everyone, count, setup_concurrency(config, count)).await?;
    let flows = Arc::new(flows);

    run_one_class(config, "mfa_step", Some(setup), true, |phase| {
        worker(ctx.clone(), phase, flows.clone())
    })
    .await
}

/// Takes prepared flows one at a time and finishes each with a valid code.
pub(crate) async fn worker(ctx: Arc<Ctx>, phase: Arc<Phase>, flows: Arc<Flows>) -> WorkerOut {
    let mut out = WorkerOut::default();
    let stop = loop {
        if let Err(stop) = phase.check() {
            break stop;
        }
        let Some(flow) = flows.take() else {
            break StopReason::FlowsExhausted;
        };
        let Some(user) = ctx.users.get(flow.user) else {
            break StopReason::FlowsExhausted;
        };
        let step = match reserve_step(&ctx, &phase, flow.user, &mut out.waits).await {
            Ok(step) => step,
            Err(stop) => break stop,
        };
        if let Err(stop) = phase.take() {
            break stop;
        }
        let body = mfa_body(&flow.body_prefix, &user.totp.generate_for_step(step));
        let sent = Instant::now();
        let reply = ctx.wire.post_json(ctx.wire.mfa(), body).await;
        let ok = reply.answer == AUTHENTICATED;
        out.recorder.record(sent, reply.answer, ok);
    };
    out.stopped(stop)
}
