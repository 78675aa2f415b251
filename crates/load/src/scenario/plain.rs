//! Plain GETs: the `hello` scenario (the HTTP ceiling, against `twofold-load hello` or any
//! `--path`) and `storm`'s `/healthz` poller. A 200 is a success.

use std::sync::Arc;
use std::time::Instant;

use reqwest::Url;
use tokio::task::JoinSet;

use super::{Ctx, Measure, Outcome, Phase, WorkerOut, join_all, merge, overall_stop};
use crate::LoadError;

pub(crate) async fn run(ctx: &Arc<Ctx>, config: &super::RunConfig) -> Result<Outcome, LoadError> {
    let url = Arc::new(ctx.wire.url(&config.path)?);
    let measure = Measure::begin(config)?;
    let mut set = JoinSet::new();
    for _ in 0..config.concurrency {
        set.spawn(worker(ctx.clone(), measure.phase(), url.clone()));
    }
    let outs = join_all(set).await?;
    let stop = overall_stop(&outs);
    let (recorder, _) = merge(outs);
    let measured = measure.end(recorder.requests())?;
    Ok(Outcome {
        setup: None,
        classes: vec![("get", recorder)],
        stop,
        waits: None,
        wrong_codes: None,
        measured,
    })
}

/// GETs `url` back to back until the phase ends.
pub(crate) async fn worker(ctx: Arc<Ctx>, phase: Arc<Phase>, url: Arc<Url>) -> WorkerOut {
    let mut out = WorkerOut::default();
    let stop = loop {
        if let Err(stop) = phase.take() {
            break stop;
        }
        let sent = Instant::now();
        let reply = ctx.wire.get(&url).await;
        let ok = reply.answer.status == 200;
        out.recorder.record(sent.elapsed(), reply.answer, ok);
    };
    out.stopped(stop)
}
