//! CPU time and memory of a process, from Linux's `/proc/<pid>/stat` and `/proc/<pid>/status`
//! (proc(5)). The server is measured from outside, so the numbers include everything it
//! does for the load (the HTTP stack, SQLite, Argon2 on its blocking pool), and nothing of
//! the tool's own work.

use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::LoadError;

/// Clock ticks per second of `utime`/`stime` (`sysconf(_SC_CLK_TCK)`). Asked of
/// `getconf` because `sysconf` needs unsafe FFI; 100 is what Linux uses nearly everywhere.
pub fn clock_ticks_per_sec() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// `utime + stime` in clock ticks from the text of `/proc/<pid>/stat`.
///
/// The second field, the command name, is in parentheses and may itself contain spaces
/// and parentheses, so the fields are counted from the *last* `)`: after it come field 3
/// (`state`) onwards, which puts `utime` (field 14) and `stime` (15) at 11 and 12.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
}

/// The value in KiB of a `Key:   123 kB` line of `/proc/<pid>/status`.
pub fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.split_ascii_whitespace().next()?.parse().ok()
    })
}

fn read(pid: u32, file: &str) -> Result<String, LoadError> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}")).map_err(|e| LoadError::Proc {
        pid,
        message: format!("reading /proc/{pid}/{file}: {e}"),
    })
}

/// The process's CPU time so far, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64, LoadError> {
    parse_stat_cpu_ticks(&read(pid, "stat")?).ok_or_else(|| LoadError::Proc {
        pid,
        message: "unexpected /proc/<pid>/stat format".into(),
    })
}

/// Resident memory now and at its peak (`VmRSS`, `VmHWM`), in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64), LoadError> {
    let status = read(pid, "status")?;
    let get = |key| {
        parse_status_kib(&status, key).ok_or_else(|| LoadError::Proc {
            pid,
            message: format!("no {key} in /proc/{pid}/status"),
        })
    };
    Ok((get("VmRSS")?, get("VmHWM")?))
}

/// A process's CPU and memory over the measured phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessUsage {
    pub pid: u32,
    /// User + system CPU time during the phase (tick resolution: 10 ms at 100 Hz).
    pub cpu_us: u64,
    /// `cpu_us` divided by the phase's requests (all classes).
    pub cpu_us_per_request: f64,
    /// `cpu_us` over the phase's wall time: 1.0 is one core busy all along.
    pub cores_busy: f64,
    pub rss_kib: u64,
    /// Peak resident memory since the process started (`VmHWM`), not just this phase.
    pub peak_rss_kib: u64,
    pub clock_ticks_per_sec: u64,
}

/// A CPU reading at the start of a phase.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    pid: u32,
    ticks_per_sec: u64,
    start_ticks: u64,
}

impl Probe {
    pub fn start(pid: u32) -> Result<Probe, LoadError> {
        Ok(Probe {
            pid,
            ticks_per_sec: clock_ticks_per_sec(),
            start_ticks: cpu_ticks(pid)?,
        })
    }

    /// The usage since [`Probe::start`], over `requests` requests and `wall` time.
    pub fn finish(
        self,
        requests: u64,
        wall: std::time::Duration,
    ) -> Result<ProcessUsage, LoadError> {
        let ticks = cpu_ticks(self.pid)?.saturating_sub(self.start_ticks);
        let (rss_kib, peak_rss_kib) = memory_kib(self.pid)?;
        let cpu_us = ticks.saturating_mul(1_000_000) / self.ticks_per_sec.max(1);
        let wall_us = wall.as_secs_f64() * 1e6;
        Ok(ProcessUsage {
            pid: self.pid,
            cpu_us,
            cpu_us_per_request: if requests > 0 {
                cpu_us as f64 / requests as f64
            } else {
                0.0
            },
            cores_busy: if wall_us > 0.0 {
                cpu_us as f64 / wall_us
            } else {
                0.0
            },
            rss_kib,
            peak_rss_kib,
            clock_ticks_per_sec: self.ticks_per_sec,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        // A command name with spaces and parentheses; utime 1234, stime 56.
        let stat = "4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 9 0 100 1000 50";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(1290));
        assert_eq!(parse_stat_cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_stat_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn status_lines_in_kib() {
        let status = "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(20480));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(10240));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let probe = Probe::start(pid).unwrap();
        // Burn a little CPU so the reading can move (it may still be 0 ticks: coarse).
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let usage = probe
            .finish(10, std::time::Duration::from_millis(5))
            .unwrap();
        assert_eq!(usage.pid, pid);
        assert!(usage.rss_kib > 0);
        assert!(usage.peak_rss_kib >= usage.rss_kib);
        assert!(usage.clock_ticks_per_sec > 0);
        assert!(cpu_ticks(pid).is_ok());
    }

    #[test]
    fn a_missing_process_is_an_error_naming_it() {
        // Above the kernel's pid_max (at most 2^22), so it cannot exist.
        let e = cpu_ticks(u32::MAX).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("process {}: reading /proc/", u32::MAX)),
            "{e}"
        );
    }
}
