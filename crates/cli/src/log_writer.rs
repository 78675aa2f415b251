//! Where log lines go: standard error, written by a thread of its own that writes every
//! line waiting in one go. A request's log line then costs a copy and a channel send, not
//! a system call of its own; under load one write carries many lines (measured on the
//! code-check hot path: docs/PERFORMANCE.md).
//!
//! Nothing is dropped: the channel is bounded, and a full one makes the logging thread
//! wait, as a slow terminal or pipe made it wait before. [`Flush`], dropped when the
//! command ends, waits until every line is written.

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Lines waiting at most before a logging thread waits for the writer.
const QUEUE: usize = 16 * 1024;
/// How long the end of a command waits for the last lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

enum Msg {
    Line(Vec<u8>),
    /// Answered once every line sent before it is written.
    Flush(mpsc::SyncSender<()>),
}

/// Hands each line to the writing thread; what `tracing_subscriber` writes through.
#[derive(Clone)]
pub struct LogWriter {
    tx: mpsc::SyncSender<Msg>,
}

/// Waits, when dropped, until every line logged so far is on standard error.
pub struct Flush {
    tx: mpsc::SyncSender<Msg>,
}

/// Starts the writing thread; without one (the system refused a thread) lines are written
/// where they are logged, as before.
pub fn start() -> Option<(LogWriter, Flush)> {
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    std::thread::Builder::new()
        .name("twofold-log".into())
        .spawn(move || write_forever(&rx))
        .ok()?;
    Some((LogWriter { tx: tx.clone() }, Flush { tx }))
}

fn write_forever(rx: &mpsc::Receiver<Msg>) {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Line(line) => out.extend_from_slice(&line),
                Msg::Flush(ack) => acks.push(ack),
            }
            next = rx.try_recv().ok();
        }
        // Nowhere to report a failed write of the log itself.
        let _ = std::io::stderr().lock().write_all(&out);
        out.clear();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.recv_timeout(FLUSH_WAIT);
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            buf: Vec::new(),
            tx: &self.tx,
        }
    }
}

/// One log line as it is formatted; sent to the writing thread when complete (dropped).
pub struct Line<'a> {
    buf: Vec<u8>,
    tx: &'a mpsc::SyncSender<Msg>,
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
        let line = std::mem::take(&mut self.buf);
        if let Err(mpsc::SendError(Msg::Line(line))) = self.tx.send(Msg::Line(line)) {
            // The writing thread is gone: write it here rather than lose it.
            let _ = std::io::stderr().lock().write_all(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lines_reach_the_thread_whole_and_in_order_and_flush_waits_for_them() {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let writer = LogWriter { tx };
        for n in 0..3 {
            let mut line = writer.make_writer();
            write!(line, "line ").unwrap();
            writeln!(line, "{n}").unwrap();
        }
        let got: Vec<Vec<u8>> = rx
            .try_iter()
            .map(|m| match m {
                Msg::Line(l) => l,
                Msg::Flush(_) => Vec::new(),
            })
            .collect();
        assert_eq!(
            got,
            [
                b"line 0\n".to_vec(),
                b"line 1\n".to_vec(),
                b"line 2\n".to_vec()
            ]
        );
    }
}
