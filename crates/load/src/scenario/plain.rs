//! Plain GETs: the `hello` scenario (the HTTP ceiling, against `twofold-load hello` or any
//! `--path`) and `storm`'s `/healthz` poller. A 200 is a success.

use std::sync::Arc;
use std::time::Instant;

use reqwest::Url;

use super::{Ctx, Outcome, Phase, WorkerOut, run_one_class};
use crate::LoadError;

pub(crate) async fn run(ctx: &Arc<Ctx>, config: &super::RunConfig) -> Result<Outcome, LoadError> {
    let url = Arc::new(ctx.wire.url(&config.path)?);
    run_one_class(config, "get", None, false, |phase| {
        worker(ctx.clone(), phase, url.clone())
    })
    .await
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
        out.recorder.record(sent, reply.answer, ok);
    };
    out.stopped(stop)
}
