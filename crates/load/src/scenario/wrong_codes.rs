//! `wrong-codes`: an attacker who knows every password guesses codes. One flow per user is
//! prepared up front; then workers send well-formed wrong codes round-robin over the users.
//! The server must evaluate at most 5 per user (its lockout budget: `invalid_code`) and
//! refuse every other one unevaluated (429 `too_many_attempts`), however many arrive at
//! once. The report counts the evaluated attempts per user and flags any excess.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::task::JoinSet;
use twofold_otp::Totp;

use super::setup::{Flows, prepare_flows};
use super::steps::unix_now;
use super::wire::{AUTHENTICATED, INVALID_CODE, mfa_body};
use super::{
    Ctx, Measure, Outcome, Phase, WorkerOut, join_all, merge, overall_stop, setup_concurrency,
};
use crate::LoadError;
use crate::report::{StopReason, WrongCodesCheck};

/// Failed attempts the server evaluates before locking a user (the design's lockout rule).
pub const BUDGET_PER_USER: u64 = 5;

/// A code of the right length that matches none of the steps within two of the current
/// one at `unix_secs`: the server checks ±1, and the extra step on each side covers a
/// boundary passing while the request travels. `seed` spreads the guesses.
pub(crate) fn wrong_code(totp: &Totp, unix_secs: u64, seed: u64) -> Option<String> {
    let digits = usize::from(totp.params().digits);
    let modulus = 10u64.checked_pow(u32::try_from(digits).ok()?)?;
    let current = totp.step_at(unix_secs);
    let near: Vec<String> = (current.saturating_sub(2)..=current.saturating_add(2))
        .map(|s| totp.generate_for_step(s))
        .collect();
    let start = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) % modulus;
    first_free(&near, start, modulus, digits)
}

/// The first of `start`, `start + 1`, … (mod `modulus`, `digits` wide) not in `taken`.
/// At most `taken.len()` candidates can be taken, so one of the first len+1 is free.
fn first_free(taken: &[String], start: u64, modulus: u64, digits: usize) -> Option<String> {
    (0..=taken.len() as u64)
        .map(|i| format!("{:0digits$}", (start + i) % modulus))
        .find(|c| !taken.contains(c))
}

pub(crate) async fn run(ctx: &Arc<Ctx>, config: &super::RunConfig) -> Result<Outcome, LoadError> {
    let n = ctx.users.len();
    let (flows, setup) = prepare_flows(
        ctx,
        Arc::new((0..n).collect()),
        n,
        setup_concurrency(config, n),
    )
    .await?;
    let flows = Arc::new(flows);
    let evaluated: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let counter = Arc::new(AtomicU64::new(0));

    let measure = Measure::begin(config)?;
    let mut set = JoinSet::new();
    for _ in 0..config.concurrency {
        set.spawn(worker(
            ctx.clone(),
            measure.phase(),
            flows.clone(),
            counter.clone(),
            evaluated.clone(),
        ));
    }
    let outs = join_all(set).await?;
    let stop = overall_stop(&outs);
    let (recorder, _) = merge(outs);
    let measured = measure.end(recorder.requests())?;

    let per_user: Vec<u64> = evaluated
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .collect();
    let evaluated_attempts = recorder.count(&INVALID_CODE);
    let budget = BUDGET_PER_USER * n as u64;
    let users_over_budget = per_user.iter().filter(|&&k| k > BUDGET_PER_USER).count() as u64;
    let accepted = recorder.count(&AUTHENTICATED);
    let check = WrongCodesCheck {
        users: n,
        budget_per_user: BUDGET_PER_USER,
        budget,
        evaluated_attempts,
        max_per_user: per_user.iter().copied().max().unwrap_or(0),
        users_over_budget,
        accepted,
        exceeded: evaluated_attempts > budget || users_over_budget > 0 || accepted > 0,
    };
    Ok(Outcome {
        setup: Some(setup),
        classes: vec![("wrong_code", recorder)],
        stop,
        waits: None,
        wrong_codes: Some(check),
        measured,
    })
}

async fn worker(
    ctx: Arc<Ctx>,
    phase: Arc<Phase>,
    flows: Arc<Flows>,
    counter: Arc<AtomicU64>,
    evaluated: Arc<Vec<AtomicU64>>,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    let stop = loop {
        if let Err(stop) = phase.take() {
            break stop;
        }
        let k = counter.fetch_add(1, Ordering::Relaxed);
        let Some(flow) = flows.cycle(k) else {
            break StopReason::FlowsExhausted;
        };
        let Some(user) = ctx.users.get(flow.user) else {
            break StopReason::FlowsExhausted;
        };
        let Some(code) = wrong_code(&user.totp, unix_now().as_secs(), k) else {
            continue;
        };
        let body = mfa_body(&flow.body_prefix, &code);
        let sent = Instant::now();
        let reply = ctx.wire.post_json(ctx.wire.mfa(), body).await;
        if let Some(n) = evaluated
            .get(flow.user)
            .filter(|_| reply.answer == INVALID_CODE)
        {
            n.fetch_add(1, Ordering::Relaxed);
        }
        // For the attacker, success is a wrong code accepted: it must never happen.
        let accepted = reply.answer == AUTHENTICATED;
        out.recorder.record(sent, reply.answer, accepted);
    };
    out.stopped(stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twofold_otp::{Secret, TotpParams, Window};

    #[test]
    fn wrong_codes_never_verify_around_now() {
        let totp = Totp::new(Secret::generate().unwrap(), TotpParams::default()).unwrap();
        let now = 1_700_000_000;
        for seed in 0..2000 {
            let code = wrong_code(&totp, now, seed).unwrap();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
            assert!(
                totp.verify(&code, now, Window::symmetric(1)).is_none(),
                "{code}"
            );
            // Still wrong if a step boundary passes before the server looks.
            assert!(
                totp.verify(&code, now + 30, Window::symmetric(1)).is_none(),
                "{code}"
            );
        }
    }

    #[test]
    fn taken_codes_are_skipped_with_wrap_around() {
        let taken = [
            "999999".to_owned(),
            "000000".to_owned(),
            "000001".to_owned(),
        ];
        assert_eq!(
            first_free(&taken, 999_999, 1_000_000, 6).as_deref(),
            Some("000002")
        );
        assert_eq!(
            first_free(&taken, 5, 1_000_000, 6).as_deref(),
            Some("000005")
        );
        assert_eq!(
            first_free(&[], 42, 100_000_000, 8).as_deref(),
            Some("00000042")
        );
    }
}
