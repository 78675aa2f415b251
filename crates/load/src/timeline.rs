//! A run's timeline: one CSV line per request of the measured phase, in the order they
//! were sent, with wall-clock times, so that slow requests can be laid beside the server's
//! own log of what it was doing at that moment (a pause of its writer, say).
//!
//! ```text
//! class,sent_unix_us,latency_us,status
//! mfa_step,1733353089123456,4120,200
//! ```

use std::io::Write;
use std::path::Path;

use crate::LoadError;
use crate::stats::{Recorder, Sample};

/// Writes every request of `classes` to `path`, sorted by the time it was sent.
pub fn write(path: &Path, classes: &[(&'static str, Recorder)]) -> Result<(), LoadError> {
    let mut rows: Vec<(&str, Sample)> = classes
        .iter()
        .flat_map(|(class, r)| r.samples().iter().map(move |s| (*class, *s)))
        .collect();
    rows.sort_by_key(|(_, s)| s.sent_unix_us);
    let io = |e: std::io::Error| LoadError::io(path, e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "class,sent_unix_us,latency_us,status").map_err(io)?;
    for (class, s) in rows {
        writeln!(
            out,
            "{class},{},{},{}",
            s.sent_unix_us, s.latency_us, s.status
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::stats::Answer;
    use std::time::{Duration, Instant};

    #[test]
    fn one_line_per_request_in_the_order_sent() {
        let first = Instant::now();
        let later = first + Duration::from_millis(3);
        let mut mfa = Recorder::default();
        mfa.sample(
            later,
            Duration::from_micros(700),
            Answer::new(401, "x"),
            false,
        );
        let mut health = Recorder::default();
        health.sample(
            first,
            Duration::from_micros(90),
            Answer::new(200, "ok"),
            true,
        );
        let dir = std::env::temp_dir().join(format!("twofold-timeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        write(&path, &[("mfa_step", mfa), ("healthz", health)]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "class,sent_unix_us,latency_us,status");
        let fields = |l: &str| l.split(',').map(str::to_owned).collect::<Vec<_>>();
        let (a, b) = (fields(lines[1]), fields(lines[2]));
        assert_eq!(
            (a[0].as_str(), a[2].as_str(), a[3].as_str()),
            ("healthz", "90", "200")
        );
        assert_eq!(
            (b[0].as_str(), b[2].as_str(), b[3].as_str()),
            ("mfa_step", "700", "401")
        );
        let (ta, tb): (u64, u64) = (a[1].parse().unwrap(), b[1].parse().unwrap());
        assert_eq!(tb - ta, 3_000);
        assert_eq!(lines.len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
