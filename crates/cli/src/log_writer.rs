//! Where log lines go: standard error, in batches. A line is appended to a shared buffer
//! (a short lock, no system call and no thread woken), and a thread of its own writes
//! what has gathered every few milliseconds in one write. On the code-check hot path a
//! write of its own per request line, or a wake-up of a writing thread per line, cost more
//! than the rest of the logging (docs/PERFORMANCE.md).
//!
//! Nothing is dropped and memory stays bounded: when the buffer holds [`MAX_PENDING`]
//! bytes (standard error is slower than the lines come), the line's own thread writes the
//! buffer out itself, as every line was written before. [`Flush`], dropped when the
//! command ends, writes what is left.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How often the writing thread writes what has gathered: a line reaches the log at most
/// this late.
const EVERY: Duration = Duration::from_millis(10);
/// Bytes gathered at most before the logging thread writes them itself.
const MAX_PENDING: usize = 1 << 20;

/// The lines not yet written.
type Pending = Arc<Mutex<Vec<u8>>>;

/// What `tracing_subscriber` writes through: appends each line to the buffer.
#[derive(Clone)]
pub struct LogWriter {
    pending: Pending,
}

/// Writes what is left when dropped.
pub struct Flush {
    pending: Pending,
}

/// Starts the writing thread; without one (the system refused a thread) lines are written
/// where they are logged, as before.
pub fn start() -> Option<(LogWriter, Flush)> {
    let pending = Pending::default();
    let gathered = pending.clone();
    std::thread::Builder::new()
        .name("twofold-log".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EVERY);
                write_out(&gathered);
            }
        })
        .ok()?;
    Some((
        LogWriter {
            pending: pending.clone(),
        },
        Flush { pending },
    ))
}

/// Writes the buffer to standard error and empties it. The lock is held through the write
/// so that lines keep their order.
fn write_out(pending: &Mutex<Vec<u8>>) {
    let mut buf = pending.lock().unwrap_or_else(|p| p.into_inner());
    if buf.is_empty() {
        return;
    }
    // Nowhere to report a failed write of the log itself.
    let _ = std::io::stderr().lock().write_all(&buf);
    buf.clear();
    // A burst's buffer is not kept for ever.
    buf.shrink_to(64 * 1024);
}

impl Drop for Flush {
    fn drop(&mut self) {
        write_out(&self.pending);
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            buf: Vec::new(),
            pending: &self.pending,
        }
    }
}

/// One log line as it is formatted; appended to the buffer whole when complete (dropped),
/// so lines from several threads never interleave.
pub struct Line<'a> {
    buf: Vec<u8>,
    pending: &'a Mutex<Vec<u8>>,
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.extend_from_slice(&self.buf);
            pending.len() >= MAX_PENDING
        };
        if full {
            write_out(self.pending);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lines_gather_whole_and_in_order() {
        let writer = LogWriter {
            pending: Pending::default(),
        };
        for n in 0..3 {
            let mut line = writer.make_writer();
            write!(line, "line ").unwrap();
            writeln!(line, "{n}").unwrap();
        }
        assert_eq!(
            writer.pending.lock().unwrap().as_slice(),
            b"line 0\nline 1\nline 2\n"
        );
    }
}
