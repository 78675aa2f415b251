//! Scenarios: what the tool sends, and the two phases every run goes through.
//!
//! ```text
//!  users.csv ─► up front, not measured: the password step (POST /auth/login) → flow tokens
//!            ─► measured phase: `concurrency` workers until --duration elapses, the
//!               prepared flows run out or --max-requests are sent (whichever is first)
//!            ─► Report
//! ```
//!
//! | scenario      | up front                  | measured, per request                        |
//! |---------------|---------------------------|----------------------------------------------|
//! | `mfa-step`    | `--flows` logins          | one valid code for one prepared flow         |
//! | `sign-in`     | nothing                   | login + code: the whole sign-in              |
//! | `wrong-codes` | one login per user        | a wrong code, round-robin over the users     |
//! | `storm`       | logins for the mfa class  | sign-in flood + 4 mfa-step workers + healthz |
//! | `hello`       | nothing                   | `GET --path` (the ceiling server)            |
//!
//! Every loop ends by itself: workers stop at the deadline, each request has a timeout,
//! and the number of requests is capped.

mod mfa_step;
mod plain;
mod setup;
mod sign_in;
mod steps;
mod storm;
mod wire;
mod wrong_codes;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use twofold_otp::Totp;

use crate::LoadError;
use crate::during::During;
use crate::procstat::{self, Probe, ProcessUsage};
use crate::report::{Report, SetupReport, StepWaits, StopReason, WrongCodesCheck};
use crate::stats::Recorder;
use crate::target::loopback_url;
use crate::users::LoadUser;

use steps::{StepTracker, unix_now};
use wire::Wire;

/// What to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// The hot path: only the second step, with flows prepared up front.
    MfaStep,
    /// Password and code, measured together.
    SignIn,
    /// An attacker who knows the passwords guesses codes: the lockout must hold.
    WrongCodes,
    /// A sign-in flood with code checks and health checks beside it.
    Storm,
    /// Plain GETs, against `twofold-load hello` (or any path with `--path`).
    Hello,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::MfaStep,
        Scenario::SignIn,
        Scenario::WrongCodes,
        Scenario::Storm,
        Scenario::Hello,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::MfaStep => "mfa-step",
            Scenario::SignIn => "sign-in",
            Scenario::WrongCodes => "wrong-codes",
            Scenario::Storm => "storm",
            Scenario::Hello => "hello",
        }
    }

    /// Whether the scenario signs users in (and so needs a users file).
    pub fn needs_users(self) -> bool {
        self != Scenario::Hello
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown scenario {s:?}: use mfa-step, sign-in, wrong-codes, storm or hello"
                )
            })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most concurrent workers a run may have.
pub const MAX_CONCURRENCY: usize = 4096;
/// The longest measured phase.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The most flows a run may prepare.
pub const MAX_FLOWS: usize = 10_000_000;
/// Workers of the password step up front, at least: enough to keep the server's hash
/// pool busy while answers travel.
const SETUP_MIN_CONCURRENCY: usize = 32;
/// The up-front phase gives up after this long.
const SETUP_LIMIT: Duration = Duration::from_secs(3600);
/// Storm: the code-check workers beside the flood.
const STORM_MFA_WORKERS: usize = 4;

/// A run's settings. [`RunConfig::new`] gives the command line's defaults.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub scenario: Scenario,
    /// The server's root: a loopback `http://` URL.
    pub url: String,
    /// Further servers sharing the first one's database (loopback roots too): sign-ins
    /// and second steps are spread over all of them in turn.
    pub also: Vec<String>,
    /// The organisation the users were imported into.
    pub org: String,
    /// The population (read with [`crate::users::read_users_csv`]); empty for `hello`.
    pub users: Vec<LoadUser>,
    /// Workers of the measured phase (the sign-in flood for `storm`).
    pub concurrency: usize,
    /// The measured phase's length at most.
    pub duration: Duration,
    /// Flows prepared up front for `mfa-step` (and `storm`'s mfa class); default one per
    /// user. `wrong-codes` always prepares one per user.
    pub flows: Option<usize>,
    /// Requests of the measured phase at most.
    pub max_requests: u64,
    /// The server's process id, to measure its CPU time and memory.
    pub server_pid: Option<u32>,
    /// A shell command run only through the measured phase (a profiler attached to the
    /// server, say): started before the phase, sent SIGINT after it and waited for.
    pub during: Option<String>,
    /// The path `hello` requests.
    pub path: String,
    /// Where to write every request of the measured phase (see [`crate::timeline`]).
    pub timeline: Option<std::path::PathBuf>,
    /// How long one request may take before it counts as `0 timeout`.
    pub request_timeout: Duration,
}

impl RunConfig {
    pub fn new(
        scenario: Scenario,
        url: impl Into<String>,
        org: impl Into<String>,
        users: Vec<LoadUser>,
    ) -> RunConfig {
        RunConfig {
            scenario,
            url: url.into(),
            also: Vec::new(),
            org: org.into(),
            users,
            concurrency: 64,
            duration: Duration::from_secs(10),
            flows: None,
            max_requests: 10_000_000,
            server_pid: None,
            during: None,
            path: "/".into(),
            timeline: None,
            request_timeout: Duration::from_secs(30),
        }
    }

    fn validate(&self) -> Result<(), LoadError> {
        let bad = |m: String| Err(LoadError::Config(m));
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return bad(format!("--concurrency must be 1 to {MAX_CONCURRENCY}"));
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return bad("--duration must be more than 0 and at most 24h".into());
        }
        if self.flows.is_some_and(|f| !(1..=MAX_FLOWS).contains(&f)) {
            return bad(format!("--flows must be 1 to {MAX_FLOWS}"));
        }
        if self.max_requests == 0 {
            return bad("--max-requests must be at least 1".into());
        }
        if self.request_timeout.is_zero() {
            return bad("the request timeout must be more than 0".into());
        }
        if !self.path.starts_with('/') {
            return bad(format!("--path {:?} must start with '/'", self.path));
        }
        if self.scenario.needs_users() {
            if self.users.is_empty() {
                return bad(format!(
                    "scenario {} needs users: give --users-file (written by `twofold-load prepare`)",
                    self.scenario
                ));
            }
            if self.org.is_empty() {
                return bad("--org must not be empty".into());
            }
        }
        Ok(())
    }
}

/// A user as the workers need them: the authenticator and the login body, built once.
pub(crate) struct UserEntry {
    pub username: String,
    pub totp: Totp,
    pub period: u64,
    pub login_body: Vec<u8>,
}

/// What every worker shares.
pub(crate) struct Ctx {
    pub wire: Wire,
    pub users: Vec<UserEntry>,
    pub steps: StepTracker,
    pub org: String,
    pub url: String,
}

impl Ctx {
    fn new(config: &RunConfig) -> Result<Ctx, LoadError> {
        let base = loopback_url(&config.url)?;
        let pool = config.concurrency.max(SETUP_MIN_CONCURRENCY) + STORM_MFA_WORKERS + 4;
        let also = config
            .also
            .iter()
            .map(|u| loopback_url(u))
            .collect::<Result<Vec<_>, _>>()?;
        let wire = Wire::new(&base, &also, pool, config.request_timeout)?;
        let users = config
            .users
            .iter()
            .map(|u| {
                let totp = u.totp()?;
                Ok(UserEntry {
                    period: totp.params().period,
                    totp,
                    login_body: wire::login_body(&config.org, &u.username, u.password())?,
                    username: u.username.clone(),
                })
            })
            .collect::<Result<Vec<_>, LoadError>>()?;
        Ok(Ctx {
            wire,
            steps: StepTracker::new(users.len()),
            users,
            org: config.org.clone(),
            url: config.url.clone(),
        })
    }
}

/// The measured phase's clock and request budget.
pub(crate) struct Phase {
    pub deadline: Instant,
    sent: AtomicU64,
    max: u64,
}

impl Phase {
    /// Whether there is time left.
    pub fn check(&self) -> Result<(), StopReason> {
        if Instant::now() >= self.deadline {
            Err(StopReason::Duration)
        } else {
            Ok(())
        }
    }

    /// Time left and one request taken from the budget.
    pub fn take(&self) -> Result<(), StopReason> {
        self.check()?;
        if self.sent.fetch_add(1, Ordering::Relaxed) >= self.max {
            return Err(StopReason::MaxRequests);
        }
        Ok(())
    }
}

/// Starts and ends the measured phase, with the process readings around it.
pub(crate) struct Measure {
    phase: Arc<Phase>,
    start: Instant,
    server: Option<Probe>,
    client: Option<Probe>,
    during: Option<During>,
}

/// The phase's wall time and the processes' usage over it.
pub(crate) struct Measured {
    pub elapsed: Duration,
    pub server: Option<ProcessUsage>,
    pub client: Option<ProcessUsage>,
}

impl Measure {
    pub fn begin(config: &RunConfig) -> Result<Measure, LoadError> {
        let during = config.during.as_deref().map(During::start).transpose()?;
        let server = config.server_pid.map(Probe::start).transpose()?;
        // The tool's own usage is a bonus: where /proc is missing it is simply left out.
        let client = Probe::start(std::process::id()).ok();
        crate::stats::fix_epoch();
        let start = Instant::now();
        Ok(Measure {
            phase: Arc::new(Phase {
                deadline: start + config.duration,
                sent: AtomicU64::new(0),
                max: config.max_requests,
            }),
            start,
            server,
            client,
            during,
        })
    }

    pub fn phase(&self) -> Arc<Phase> {
        self.phase.clone()
    }

    /// Ends the phase; `requests` is what it sent, for CPU per request.
    pub fn end(self, requests: u64) -> Result<Measured, LoadError> {
        let elapsed = self.start.elapsed();
        if let Some(during) = self.during {
            during.stop()?;
        }
        Ok(Measured {
            elapsed,
            server: self
                .server
                .map(|p| p.finish(requests, elapsed))
                .transpose()?,
            client: self.client.and_then(|p| p.finish(requests, elapsed).ok()),
        })
    }
}

/// What one worker saw.
#[derive(Default)]
pub(crate) struct WorkerOut {
    pub recorder: Recorder,
    pub stop: Option<StopReason>,
    pub waits: StepWaits,
}

impl WorkerOut {
    fn stopped(mut self, reason: StopReason) -> WorkerOut {
        self.stop = Some(reason);
        self
    }
}

/// Runs `config.concurrency` copies of one worker through a measured phase and reports
/// them as one class: the shape of every scenario but `storm` and `wrong-codes`.
/// `setup` is what was prepared up front; `steps` says whether TOTP step waits matter.
pub(crate) async fn run_one_class<W, F>(
    config: &RunConfig,
    class: &'static str,
    setup: Option<SetupReport>,
    steps: bool,
    worker: W,
) -> Result<Outcome, LoadError>
where
    W: Fn(Arc<Phase>) -> F,
    F: std::future::Future<Output = WorkerOut> + Send + 'static,
{
    let measure = Measure::begin(config)?;
    let mut set = JoinSet::new();
    for _ in 0..config.concurrency {
        set.spawn(worker(measure.phase()));
    }
    let outs = join_all(set).await?;
    let stop = overall_stop(&outs);
    let (recorder, waits) = merge(outs);
    let measured = measure.end(recorder.requests())?;
    Ok(Outcome {
        setup,
        classes: vec![(class, recorder)],
        stop,
        waits: steps.then_some(waits),
        wrong_codes: None,
        measured,
    })
}

/// Waits for every task; a task that panicked or was cancelled is an error.
pub(crate) async fn join_all<T: 'static>(mut set: JoinSet<T>) -> Result<Vec<T>, LoadError> {
    let mut out = Vec::with_capacity(set.len());
    while let Some(done) = set.join_next().await {
        out.push(done.map_err(|e| LoadError::Task(e.to_string()))?);
    }
    Ok(out)
}

/// Why the phase ended, from why its main workers stopped: the deadline if any worker
/// reached it, else the request cap, else a wait past the deadline, else the flows.
pub(crate) fn overall_stop<'a>(outs: impl IntoIterator<Item = &'a WorkerOut>) -> StopReason {
    let reasons: Vec<StopReason> = outs.into_iter().filter_map(|o| o.stop).collect();
    [
        StopReason::Duration,
        StopReason::MaxRequests,
        StopReason::NextStepAfterDeadline,
        StopReason::FlowsExhausted,
    ]
    .into_iter()
    .find(|r| reasons.contains(r))
    .unwrap_or(StopReason::Duration)
}

/// Sums the workers' recorders and step waits.
pub(crate) fn merge(outs: impl IntoIterator<Item = WorkerOut>) -> (Recorder, StepWaits) {
    let mut recorder = Recorder::default();
    let mut waits = StepWaits::default();
    for o in outs {
        recorder.merge(o.recorder);
        waits.waits += o.waits.waits;
        waits.total_wait_ms += o.waits.total_wait_ms;
        waits.longest_wait_ms = waits.longest_wait_ms.max(o.waits.longest_wait_ms);
        waits.stopped_at_deadline += o.waits.stopped_at_deadline;
    }
    (recorder, waits)
}

/// A little past the step boundary, so the wall clock is surely inside the new step when
/// the code is computed (timers and the wall clock are different clocks).
const STEP_MARGIN: Duration = Duration::from_millis(5);

/// Reserves `user`'s next TOTP step (see [`steps`]) and waits for it to begin.
pub(crate) async fn reserve_step(
    ctx: &Ctx,
    phase: &Phase,
    user: usize,
    waits: &mut StepWaits,
) -> Result<u64, StopReason> {
    let period = ctx.users.get(user).map_or(30, |u| u.period);
    let now = unix_now();
    let until = now + phase.deadline.saturating_duration_since(Instant::now());
    let Some(reserved) = ctx.steps.reserve(user, period, now, until) else {
        waits.stopped_at_deadline += 1;
        return Err(StopReason::NextStepAfterDeadline);
    };
    if !reserved.wait.is_zero() {
        let wait = reserved.wait + STEP_MARGIN;
        tokio::time::sleep(wait).await;
        let ms = wait.as_secs_f64() * 1000.0;
        waits.waits += 1;
        waits.total_wait_ms += ms;
        waits.longest_wait_ms = waits.longest_wait_ms.max(ms);
    }
    Ok(reserved.step)
}

/// Workers for the password step up front.
fn setup_concurrency(config: &RunConfig, flows: usize) -> usize {
    config
        .concurrency
        .max(SETUP_MIN_CONCURRENCY)
        .min(flows.max(1))
}

/// What a scenario hands back to [`run`].
pub(crate) struct Outcome {
    pub setup: Option<SetupReport>,
    pub classes: Vec<(&'static str, Recorder)>,
    pub stop: StopReason,
    pub waits: Option<StepWaits>,
    pub wrong_codes: Option<WrongCodesCheck>,
    pub measured: Measured,
}

/// Runs one scenario against a running server and reports what it saw.
pub async fn run(config: RunConfig) -> Result<Report, LoadError> {
    config.validate()?;
    if let Some(pid) = config.server_pid {
        // Fail before the up-front work, not after it.
        procstat::cpu_ticks(pid)?;
    }
    let ctx = Arc::new(Ctx::new(&config)?);
    let outcome = match config.scenario {
        Scenario::MfaStep => mfa_step::run(&ctx, &config).await?,
        Scenario::SignIn => sign_in::run(&ctx, &config).await?,
        Scenario::WrongCodes => wrong_codes::run(&ctx, &config).await?,
        Scenario::Storm => storm::run(&ctx, &config).await?,
        Scenario::Hello => plain::run(&ctx, &config).await?,
    };
    let elapsed = outcome.measured.elapsed;
    if let Some(path) = &config.timeline {
        crate::timeline::write(path, &outcome.classes)?;
    }
    let classes: std::collections::BTreeMap<_, _> = outcome
        .classes
        .into_iter()
        .map(|(name, r)| (name.to_owned(), r.summarize(elapsed)))
        .collect();
    let mut report = Report {
        scenario: config.scenario.as_str().into(),
        url: ctx.url.clone(),
        org: ctx.org.clone(),
        users: ctx.users.len(),
        concurrency: config.concurrency,
        duration_limit_secs: config.duration.as_secs_f64(),
        elapsed_secs: elapsed.as_secs_f64(),
        stop_reason: outcome.stop,
        setup: outcome.setup,
        classes,
        step_waits: outcome.waits,
        wrong_codes: outcome.wrong_codes,
        server: outcome.measured.server,
        client: outcome.measured.client,
        notes: Vec::new(),
    };
    report.notes = notes(&report, &config);
    Ok(report)
}

/// Hints about answers that usually mean the setup, not the server, is at fault.
fn notes(report: &Report, config: &RunConfig) -> Vec<String> {
    let mut notes = Vec::new();
    let count = |suffix: &str| -> u64 {
        report
            .classes
            .values()
            .flat_map(|c| c.answers.iter())
            .filter(|(a, _)| a.ends_with(suffix))
            .map(|(_, n)| n)
            .sum()
    };
    let reused = count(" code_reused");
    if reused > 0 {
        notes.push(format!(
            "{reused} code_reused: those users' current TOTP step was already used, most likely by an earlier run; wait one TOTP period between runs (each one also counts towards the user's lockout)"
        ));
    }
    let expired = count(" flow_expired");
    if expired > 0 {
        notes.push(format!(
            "{expired} flow_expired: flows live 5 minutes by default, and the up-front phase plus the measured one took longer; prepare fewer flows or shorten --duration"
        ));
    }
    let locked = count(" too_many_attempts");
    if locked > 0 && config.scenario != Scenario::WrongCodes {
        notes.push(format!(
            "{locked} too_many_attempts: some users are locked (an earlier wrong-codes run or replays); wait for the lock to pass or use other users"
        ));
    }
    let no_answer: u64 = report
        .classes
        .values()
        .flat_map(|c| c.answers.iter())
        .filter(|(a, _)| a.starts_with("0 "))
        .map(|(_, n)| n)
        .sum();
    if no_answer > 0 {
        notes.push(format!(
            "{no_answer} requests got no HTTP answer (status 0: timeouts or connection errors)"
        ));
    }
    let fast_hashes = config
        .users
        .first()
        .is_some_and(|u| u.password_hash_or_password.contains("$m=8,"));
    if fast_hashes && matches!(config.scenario, Scenario::SignIn | Scenario::Storm) {
        notes.push(
            "these users have fast (m=8 KiB) password hashes: the sign-ins cost far less than real ones; prepare with --password-cost owasp to measure sign-in".into(),
        );
    }
    if config.scenario == Scenario::WrongCodes && config.duration >= Duration::from_secs(60) {
        notes.push(
            "runs of a minute or more outlast the server's first lock (60 s by default), after which one more attempt per user is allowed by design".into(),
        );
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse_by_name() {
        for s in Scenario::ALL {
            assert_eq!(s.as_str().parse::<Scenario>(), Ok(s));
        }
        assert!("nope".parse::<Scenario>().is_err());
    }

    #[test]
    fn the_deadline_wins_over_the_flows() {
        let out = |r| WorkerOut::default().stopped(r);
        let all = [out(StopReason::FlowsExhausted), out(StopReason::Duration)];
        assert_eq!(overall_stop(&all), StopReason::Duration);
        let all = [
            out(StopReason::FlowsExhausted),
            out(StopReason::NextStepAfterDeadline),
        ];
        assert_eq!(overall_stop(&all), StopReason::NextStepAfterDeadline);
        assert_eq!(
            overall_stop(&[out(StopReason::FlowsExhausted)]),
            StopReason::FlowsExhausted
        );
        assert_eq!(overall_stop(&[]), StopReason::Duration);
    }

    #[test]
    fn settings_are_checked() {
        let cfg = RunConfig::new(Scenario::MfaStep, "http://127.0.0.1:1", "load", Vec::new());
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("needs users")
        );
        let hello = RunConfig::new(Scenario::Hello, "http://127.0.0.1:1", "", Vec::new());
        assert!(hello.validate().is_ok());
        let zero = RunConfig {
            concurrency: 0,
            ..hello.clone()
        };
        assert!(zero.validate().is_err());
        let path = RunConfig {
            path: "x".into(),
            ..hello
        };
        assert!(path.validate().is_err());
    }

    #[tokio::test]
    async fn a_remote_url_is_refused_before_anything_is_sent() {
        let cfg = RunConfig::new(Scenario::Hello, "http://192.0.2.1:8080", "", Vec::new());
        let e = run(cfg).await.unwrap_err().to_string();
        assert!(e.contains("not a loopback address"), "{e}");
    }

    #[tokio::test]
    async fn a_remote_second_server_is_refused_too() {
        let cfg = RunConfig {
            also: vec!["http://192.0.2.1:8080".into()],
            ..RunConfig::new(Scenario::Hello, "http://127.0.0.1:1", "", Vec::new())
        };
        let e = run(cfg).await.unwrap_err().to_string();
        assert!(
            e.contains("192.0.2.1") && e.contains("not a loopback address"),
            "{e}"
        );
    }
}
