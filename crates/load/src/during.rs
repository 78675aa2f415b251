//! A command run only through a measured phase, such as a profiler attached to the server:
//! profiling the whole run would mix in the unmeasured preparation (password sign-ins, in
//! `mfa-step`), which costs the server far more than the phase being measured.

use std::process::{Child, Command};
use std::time::Duration;

use crate::LoadError;

/// How long the command is given to attach before the phase begins (`perf` takes a few
/// tens of milliseconds; the server is idle meanwhile, so nothing is lost but time).
const ATTACH: Duration = Duration::from_millis(300);

/// The running command.
pub(crate) struct During {
    command: String,
    child: Child,
}

impl During {
    /// Runs `command` with `sh -c 'exec …'`, so the signal at the end reaches the command
    /// itself rather than a shell, and gives it [`ATTACH`] to start.
    pub(crate) fn start(command: &str) -> Result<During, LoadError> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {command}"))
            .spawn()
            .map_err(|e| LoadError::Config(format!("--during {command}: {e}")))?;
        std::thread::sleep(ATTACH);
        Ok(During {
            command: command.to_owned(),
            child,
        })
    }

    /// Sends SIGINT (what `perf` ends a recording on cleanly) and waits for the command.
    /// A command that ended before the phase did is an error: what it recorded does not
    /// cover the phase.
    pub(crate) fn stop(mut self) -> Result<(), LoadError> {
        let command = self.command.clone();
        let failed = |e: String| LoadError::Config(format!("--during {command}: {e}"));
        if let Some(status) = self.child.try_wait().map_err(|e| failed(e.to_string()))? {
            return Err(failed(format!(
                "it ended before the measured phase did ({status})"
            )));
        }
        let signalled = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .map_err(|e| failed(e.to_string()))?;
        if !signalled.success() {
            return Err(failed("it ended before the phase did".into()));
        }
        self.child.wait().map_err(|e| failed(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_command_runs_through_the_phase_and_is_stopped_after_it() {
        let dir = std::env::temp_dir().join(format!("twofold-during-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mark = dir.join("ran");
        // It marks that it started, then waits to be interrupted (as `perf` does, the
        // process that gets the signal is the one that waits).
        let during = During::start(&format!("sh -c 'touch {}; exec sleep 60'", mark.display()));
        let during = during.unwrap();
        assert!(
            mark.exists(),
            "the command had not started when the phase began"
        );
        let started = std::time::Instant::now();
        during.stop().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "SIGINT did not stop it"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_command_that_ends_before_the_phase_is_an_error() {
        let e = During::start("true")
            .unwrap()
            .stop()
            .unwrap_err()
            .to_string();
        assert!(e.contains("ended before the measured phase did"), "{e}");
    }
}
