//! The result of a run: serialisable (`--json`, and for scripts that compare runs) and
//! printable as text for people.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::procstat::ProcessUsage;
use crate::stats::ClassReport;

/// Why the measured phase ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `--duration` elapsed.
    Duration,
    /// Every prepared flow was used.
    FlowsExhausted,
    /// `--max-requests` were sent.
    MaxRequests,
    /// The remaining work needed a user's next TOTP step, which starts after the deadline.
    NextStepAfterDeadline,
}

impl StopReason {
    pub fn describe(self) -> &'static str {
        match self {
            StopReason::Duration => "the duration elapsed",
            StopReason::FlowsExhausted => "the prepared flows ran out",
            StopReason::MaxRequests => "--max-requests was reached",
            StopReason::NextStepAfterDeadline => {
                "every remaining user had used the current TOTP step and the next starts after the deadline"
            }
        }
    }
}

/// The unmeasured password step done before the measured phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetupReport {
    pub flows: usize,
    pub elapsed_secs: f64,
    pub logins_per_sec: f64,
}

/// Waits for a user's next TOTP step (the server accepts each step once per factor).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepWaits {
    /// Requests that waited for the next step boundary before being sent.
    pub waits: u64,
    pub total_wait_ms: f64,
    pub longest_wait_ms: f64,
    /// Workers that stopped because the step they needed begins after the deadline.
    pub stopped_at_deadline: u64,
}

/// The brute-force check of `wrong-codes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WrongCodesCheck {
    pub users: usize,
    /// Failed attempts the server evaluates before it locks a user (the design's 5).
    pub budget_per_user: u64,
    /// `users × budget_per_user`.
    pub budget: u64,
    /// Attempts the server evaluated: its `invalid_code` answers.
    pub evaluated_attempts: u64,
    /// The most `invalid_code` answers any one user got.
    pub max_per_user: u64,
    pub users_over_budget: u64,
    /// Wrong codes the server accepted (must be 0).
    pub accepted: u64,
    /// `evaluated_attempts > budget`, a user over budget, or an accepted code.
    pub exceeded: bool,
}

/// Everything a run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    pub url: String,
    pub org: String,
    pub users: usize,
    pub concurrency: usize,
    pub duration_limit_secs: f64,
    /// Wall time of the measured phase.
    pub elapsed_secs: f64,
    pub stop_reason: StopReason,
    pub setup: Option<SetupReport>,
    /// Per class of request: `mfa_step`, `sign_in`, `wrong_code`, `healthz`, `get`.
    pub classes: BTreeMap<String, ClassReport>,
    pub step_waits: Option<StepWaits>,
    pub wrong_codes: Option<WrongCodesCheck>,
    /// The server's CPU and memory, with `--server-pid`.
    pub server: Option<ProcessUsage>,
    /// The tool's own, to see whether the client was the bottleneck.
    pub client: Option<ProcessUsage>,
    /// Hints about what the answers suggest (e.g. replays from an earlier run).
    pub notes: Vec<String>,
}

impl Report {
    /// Requests of the measured phase, all classes together.
    pub fn total_requests(&self) -> u64 {
        self.classes.values().map(|c| c.requests).sum()
    }

    pub fn class(&self, name: &str) -> Option<&ClassReport> {
        self.classes.get(name)
    }

    /// Whether a check failed (today: the wrong-codes budget), for a non-zero exit.
    pub fn check_failed(&self) -> bool {
        self.wrong_codes.as_ref().is_some_and(|w| w.exceeded)
    }

    pub fn to_json(&self) -> String {
        // A plain struct of numbers, strings and string-keyed maps always serialises;
        // the fallback only keeps this infallible without a panic path.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn usage_line(f: &mut fmt::Formatter<'_>, who: &str, u: &ProcessUsage) -> fmt::Result {
    writeln!(
        f,
        "{who} (pid {}): CPU {:.3} s = {:.1} µs/request ({:.2} cores busy); RSS {:.1} MiB, peak {:.1} MiB",
        u.pid,
        u.cpu_us as f64 / 1e6,
        u.cpu_us_per_request,
        u.cores_busy,
        mib(u.rss_kib),
        mib(u.peak_rss_kib),
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scenario {} against {} (", self.scenario, self.url)?;
        if self.users > 0 {
            write!(f, "org {}, {} users, ", self.org, self.users)?;
        }
        writeln!(
            f,
            "concurrency {}, duration {:.1} s)",
            self.concurrency, self.duration_limit_secs
        )?;
        if let Some(s) = &self.setup {
            writeln!(
                f,
                "up front, not measured: {} flows in {:.3} s ({:.1} logins/s)",
                s.flows, s.elapsed_secs, s.logins_per_sec
            )?;
        }
        writeln!(
            f,
            "measured phase: {:.3} s, {} requests, ended because {}",
            self.elapsed_secs,
            self.total_requests(),
            self.stop_reason.describe()
        )?;
        for (name, c) in &self.classes {
            writeln!(
                f,
                "  {name:<11} {:>8} requests {:>10.1}/s   {:>8} successes {:>10.1}/s",
                c.requests, c.requests_per_sec, c.successes, c.successes_per_sec
            )?;
            let l = &c.latency;
            writeln!(
                f,
                "  {:<11} latency µs: p50 {}  p90 {}  p99 {}  max {}  (min {}, mean {})",
                "", l.p50_us, l.p90_us, l.p99_us, l.max_us, l.min_us, l.mean_us
            )?;
            for (answer, n) in &c.answers {
                writeln!(f, "  {:<11} {answer:<28} {n:>8}", "")?;
            }
        }
        if let Some(w) = &self.step_waits {
            writeln!(
                f,
                "step waits: {} requests waited for the next TOTP step ({:.0} ms in all, longest {:.0} ms); {} workers stopped because the next step starts after the deadline",
                w.waits, w.total_wait_ms, w.longest_wait_ms, w.stopped_at_deadline
            )?;
        }
        if let Some(w) = &self.wrong_codes {
            writeln!(
                f,
                "wrong codes: {} attempts evaluated (budget {} = {} users × {}), at most {} for one user, {} users over budget, {} wrong codes accepted: {}",
                w.evaluated_attempts,
                w.budget,
                w.users,
                w.budget_per_user,
                w.max_per_user,
                w.users_over_budget,
                w.accepted,
                if w.exceeded {
                    "BUDGET EXCEEDED"
                } else {
                    "within budget"
                }
            )?;
        }
        if let Some(u) = &self.server {
            usage_line(f, "server", u)?;
        }
        if let Some(u) = &self.client {
            usage_line(f, "client", u)?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Answer, Recorder};
    use std::time::{Duration, Instant};

    fn sample() -> Report {
        let mut r = Recorder::default();
        let now = Instant::now();
        let ok = Answer::new(200, "authenticated");
        r.sample(now, Duration::from_micros(900), ok, true);
        let reused = Answer::new(401, "code_reused");
        r.sample(now, Duration::from_micros(1100), reused, false);
        Report {
            scenario: "mfa-step".into(),
            url: "http://127.0.0.1:8080/".into(),
            org: "load".into(),
            users: 2,
            concurrency: 4,
            duration_limit_secs: 10.0,
            elapsed_secs: 1.0,
            stop_reason: StopReason::FlowsExhausted,
            setup: Some(SetupReport {
                flows: 2,
                elapsed_secs: 0.5,
                logins_per_sec: 4.0,
            }),
            classes: [("mfa_step".to_owned(), r.summarize(Duration::from_secs(1)))].into(),
            step_waits: Some(StepWaits::default()),
            wrong_codes: None,
            server: None,
            client: None,
            notes: vec!["a note".into()],
        }
    }

    #[test]
    fn json_round_trip() {
        let report = sample();
        let back: Report = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(back, report);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["stop_reason"], "flows_exhausted");
        assert_eq!(v["classes"]["mfa_step"]["answers"]["200 authenticated"], 1);
        assert_eq!(v["classes"]["mfa_step"]["latency"]["p50_us"], 900);
    }

    #[test]
    fn text_names_every_answer() {
        let text = sample().to_string();
        assert!(text.contains("200 authenticated"), "{text}");
        assert!(text.contains("401 code_reused"), "{text}");
        assert!(
            text.contains("ended because the prepared flows ran out"),
            "{text}"
        );
        assert!(text.contains("note: a note"), "{text}");
        assert!(!sample().check_failed());
    }
}
