//! What each worker records per request (when it was sent, its latency, its answer) and
//! how it is summed up: nearest-rank percentiles over the sorted latencies and counts per
//! answer.
//!
//! Each worker owns its [`Recorder`], so recording is a push and a hash-map bump with no
//! lock; the recorders are merged once the phase is over. Requests are kept whole (24
//! bytes each: a minute at 10,000 requests/s is under 15 MB), which makes exact
//! percentiles a sort and lets a run write its timeline (see [`crate::timeline`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// How a request was answered: the HTTP status and a label, which is the problem's `code`
/// for an error, the body's `status` for a 200 sign-in answer, the body for a short text
/// answer, or the kind of failure when there was no answer at all (status 0).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Answer {
    pub status: u16,
    pub label: Cow<'static, str>,
}

impl Answer {
    pub const fn new(status: u16, label: &'static str) -> Answer {
        Answer {
            status,
            label: Cow::Borrowed(label),
        }
    }
}

impl fmt::Display for Answer {
    /// `"200 authenticated"`, `"429 too_many_attempts"`, `"0 timeout"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.label)
    }
}

/// The process's clock reading at its first use and the wall clock's at the same moment,
/// as time since the Unix epoch: requests are timed on the monotonic clock and placed on
/// the wall clock through it, so a timeline can be laid beside another process's log.
static EPOCH: LazyLock<(Instant, Duration)> = LazyLock::new(|| {
    let wall = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    (Instant::now(), wall.unwrap_or_default())
});

/// Fixes the epoch of [`Sample::sent_unix_us`]: called as a measured phase begins.
pub fn fix_epoch() {
    LazyLock::force(&EPOCH);
}

/// Microseconds, saturating (a run is hours at most).
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One request: when it was sent, how long its answer took, the answer's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Microseconds since the Unix epoch, on the wall clock.
    pub sent_unix_us: u64,
    pub latency_us: u64,
    pub status: u16,
}

/// One worker's observations for one class of request.
#[derive(Debug, Default)]
pub struct Recorder {
    samples: Vec<Sample>,
    answers: HashMap<Answer, u64>,
    successes: u64,
}

impl Recorder {
    /// A request sent at `sent` and answered now.
    pub fn record(&mut self, sent: Instant, answer: Answer, success: bool) {
        self.sample(sent, sent.elapsed(), answer, success);
    }

    /// A request sent at `sent` that took `latency`.
    pub fn sample(&mut self, sent: Instant, latency: Duration, answer: Answer, success: bool) {
        let (epoch, since_unix) = *EPOCH;
        // The epoch is fixed when a measured phase begins ([`fix_epoch`]), before any
        // request of it is sent; one sent earlier would be placed at the epoch.
        let sent_unix_us = micros(since_unix + sent.saturating_duration_since(epoch));
        self.samples.push(Sample {
            sent_unix_us,
            latency_us: micros(latency),
            status: answer.status,
        });
        *self.answers.entry(answer).or_insert(0) += 1;
        self.successes += u64::from(success);
    }

    pub fn requests(&self) -> u64 {
        self.samples.len() as u64
    }

    /// Every request recorded, in the order recorded.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// How many answers were `answer`.
    pub fn count(&self, answer: &Answer) -> u64 {
        self.answers.get(answer).copied().unwrap_or(0)
    }

    pub fn merge(&mut self, other: Recorder) {
        self.samples.extend(other.samples);
        for (answer, n) in other.answers {
            *self.answers.entry(answer).or_insert(0) += n;
        }
        self.successes += other.successes;
    }

    /// The summary over `elapsed`, the length of the measured phase.
    pub fn summarize(self, elapsed: Duration) -> ClassReport {
        let requests = self.requests();
        let secs = elapsed.as_secs_f64();
        let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        ClassReport {
            requests,
            successes: self.successes,
            requests_per_sec: rate(requests),
            successes_per_sec: rate(self.successes),
            latency: LatencySummary::of(self.samples.iter().map(|s| s.latency_us).collect()),
            answers: self
                .answers
                .into_iter()
                .map(|(a, n)| (a.to_string(), n))
                .collect(),
        }
    }
}

/// The numbers for one class of request (e.g. `mfa_step`, `healthz`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub requests: u64,
    /// Answers that were what a real client wanted: a session for sign-ins and codes
    /// (for `wrong_code`: a wrong code accepted, which must stay 0), a 200 for plain GETs.
    pub successes: u64,
    pub requests_per_sec: f64,
    pub successes_per_sec: f64,
    pub latency: LatencySummary,
    /// `"<status> <code or status>"` → count, e.g. `"200 authenticated": 1000`.
    pub answers: BTreeMap<String, u64>,
}

impl ClassReport {
    /// How many answers were `answer`, e.g. `"401 invalid_code"`.
    pub fn answered(&self, answer: &str) -> u64 {
        self.answers.get(answer).copied().unwrap_or(0)
    }
}

/// Latency percentiles in microseconds (nearest rank: the smallest value with at least
/// p% of the samples at or below it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl LatencySummary {
    pub fn of(mut samples: Vec<u64>) -> LatencySummary {
        if samples.is_empty() {
            return LatencySummary::default();
        }
        samples.sort_unstable();
        let count = samples.len() as u64;
        let sum: u128 = samples.iter().map(|&v| u128::from(v)).sum();
        LatencySummary {
            count,
            min_us: samples.first().copied().unwrap_or(0),
            mean_us: u64::try_from(sum / u128::from(count)).unwrap_or(u64::MAX),
            p50_us: percentile(&samples, 50.0),
            p90_us: percentile(&samples, 90.0),
            p99_us: percentile(&samples, 99.0),
            max_us: samples.last().copied().unwrap_or(0),
        }
    }
}

/// The nearest-rank `p`th percentile (0 < p <= 100) of ascending `sorted`; 0 if empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len();
    // rank = ceil(p/100 · n), clamped to 1..=n. The float is small and non-negative.
    let rank = ((p / 100.0) * n as f64).ceil();
    let rank = if rank.is_finite() && rank >= 1.0 {
        (rank as usize).min(n)
    } else {
        1
    };
    sorted.get(rank - 1).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&v, 0.5), 1);
        assert_eq!(percentile(&v, 0.0), 1);
        // Few samples: p99 of 10 is the largest, p50 of 10 is the 5th.
        let v: Vec<u64> = (1..=10).map(|x| x * 10).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        // Between ranks the next one up is taken: 3 samples, p50 → rank ceil(1.5) = 2.
        assert_eq!(percentile(&[1, 2, 3], 50.0), 2);
    }

    #[test]
    fn summary_sorts_and_averages() {
        let s = LatencySummary::of(vec![300, 100, 200, 1000]);
        assert_eq!(
            s,
            LatencySummary {
                count: 4,
                min_us: 100,
                mean_us: 400,
                p50_us: 200,
                p90_us: 1000,
                p99_us: 1000,
                max_us: 1000,
            }
        );
        assert_eq!(LatencySummary::of(Vec::new()), LatencySummary::default());
    }

    #[test]
    fn recorders_merge_and_summarize() {
        let now = Instant::now();
        let mut a = Recorder::default();
        let ok = Answer::new(200, "authenticated");
        a.sample(now, Duration::from_micros(10), ok.clone(), true);
        let refused = Answer::new(401, "invalid_code");
        a.sample(now, Duration::from_micros(30), refused, false);
        let mut b = Recorder::default();
        b.sample(now, Duration::from_micros(20), ok, true);
        a.merge(b);
        assert_eq!(a.count(&Answer::new(200, "authenticated")), 2);
        let r = a.summarize(Duration::from_secs(2));
        assert_eq!(r.requests, 3);
        assert_eq!(r.successes, 2);
        assert_eq!(r.requests_per_sec, 1.5);
        assert_eq!(r.successes_per_sec, 1.0);
        assert_eq!(r.answered("200 authenticated"), 2);
        assert_eq!(r.answered("401 invalid_code"), 1);
        assert_eq!(r.latency.p50_us, 20);
        assert_eq!(r.latency.max_us, 30);
    }
}
