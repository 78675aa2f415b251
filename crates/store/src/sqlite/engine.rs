//! The SQLite engine: reads on pooled connections run in place, writes run on one writer
//! thread that commits them in groups.
//!
//! Why not an async driver: SQLite is a library, not a server, and a statement costs it a
//! few microseconds. A driver that runs each connection on a thread of its own and sends
//! it every statement over a channel (sqlx does) spends tens of microseconds per statement
//! on the hand-off — ten times the statement itself, and most of a code check's cost.
//!
//! - **Reads** take a connection from a small pool and run on the calling task's thread.
//!   They are index lookups over a WAL database, which never waits for the writer.
//! - **Writes** are jobs sent to the writer thread, which owns the only writing
//!   connection (several writers would meet SQLite's busy handler, which sleeps). The
//!   thread takes every job that is waiting, runs each inside a savepoint of one
//!   `BEGIN IMMEDIATE` transaction, commits once, and only then answers them: a job's
//!   answer always means its writes are committed, and under load one commit (one set of
//!   WAL frames) serves many requests. A job that fails is rolled back to its savepoint
//!   alone. The code check, the hot path, runs without a savepoint (see
//!   [`Sqlite::write_unguarded`]).
//! - **Checkpoints** of the WAL run on a thread of their own, in large passes that sync
//!   what they copied, with a short catch-up on the writer between two batches, rarely,
//!   before the WAL starts again (see [`run_writer`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::Error;
use twofold_core::config::SqliteSync;
use twofold_core::metrics::StoreMetrics;
use twofold_core::store::StoreError;

/// How long a connection waits for a lock another process holds (the admin CLI, a second
/// server on the same file) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Jobs committed together at most; bounds the time the first of them waits.
const MAX_BATCH: usize = 256;
/// When the writer has the WAL copied into the database, and when it starts the WAL
/// again (see [`run_writer`]). [`Checkpoints::DEFAULT`] is what a server uses; tests use
/// smaller ones.
#[derive(Clone, Copy, Debug)]
struct Checkpoints {
    /// Jobs after which the checkpointer is woken for a pass. Larger passes copy a page
    /// that many jobs changed once instead of once per pass, with one pair of `fsync`s
    /// for all of them, but a pass is a burst of CPU on the core the writer and the HTTP
    /// side share: 250 jobs cost less CPU per check than 50 and stall less than 1,000
    /// (docs/PERFORMANCE.md, "Issue 21, third round").
    pass_jobs: u64,
    /// WAL frames (pages) after which the WAL is due to start again: 32 MiB. Each restart
    /// is a pause of a few milliseconds that every write waits out, so they are made rare
    /// under load; when the writer idles, the WAL starts again without one.
    restart_frames: u64,
    /// A restart waits for the checkpointer's passes until no more than this many jobs,
    /// beyond the batch just committed, are left for the writer to copy while every
    /// write waits.
    catch_up_jobs: u64,
    /// Jobs written since the checkpointer was last woken that make an idle moment worth
    /// a pass: fewer would cost a pass, and its `fsync`s, for nearly every write of a
    /// lightly loaded server.
    idle_jobs: u64,
}

impl Checkpoints {
    const DEFAULT: Checkpoints = Checkpoints {
        pass_jobs: 250,
        restart_frames: 8_192,
        catch_up_jobs: 128,
        idle_jobs: 32,
    };
}

/// How long the writer waits for a job before it counts as idle (see [`run_writer`]).
const IDLE: Duration = Duration::from_millis(2);
/// The WAL file is cut back to this when it starts again. It is larger than the WAL
/// grows between two restarts (at most 10,240 frames of 4 KiB and a pass's more), so that
/// frames overwrite pages the file already has: cutting the file on the writer's first
/// commit after a restart, and growing it again, cost milliseconds each.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;
/// Idle reader connections kept for reuse.
const MAX_IDLE_READERS: usize = 16;
/// Prepared statements cached per connection (rusqlite's default is 16; a code check
/// alone uses about ten).
const STATEMENT_CACHE: usize = 64;

/// A handle on one SQLite database; cheap to clone.
#[derive(Clone)]
pub struct Sqlite {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    jobs: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    /// The writer's batches and commits (its thread holds a clone).
    metrics: StoreMetrics,
    /// What the writer and checkpointer threads report (for tests).
    #[cfg_attr(not(test), allow(dead_code))]
    progress: Arc<Progress>,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// Opens one connection with the settings every connection needs.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // NORMAL in WAL mode: a commit is durable once the WAL is synced at the next
    // checkpoint; a power cut may lose the last commits but never corrupts the file
    // (docs/PERFORMANCE.md, "durability").
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Keeps the writer's savepoint journals in memory instead of temporary files.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path`, brings its schema up to date and
    /// starts the writer thread.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        Self::open_with(path, SqliteSync::Normal)
    }

    /// [`Sqlite::open`], the writer's commits and the checkpoints synced as `sync` says.
    pub fn open_with(path: &Path, sync: SqliteSync) -> Result<Sqlite, StoreError> {
        Self::open_tuned(path, sync, Checkpoints::DEFAULT)
    }

    fn open_tuned(
        path: &Path,
        sync: SqliteSync,
        checkpoints: Checkpoints,
    ) -> Result<Sqlite, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            twofold_core::files::private_dir(parent)
                .map_err(|e| StoreError::Connect(format!("{}: {e}", parent.display())))?;
        }
        // The file is made 0600 before SQLite opens it: SQLite gives its WAL and
        // shared-memory files the database file's permissions. Ones left looser by an
        // older release are tightened.
        let private = |p: &Path| {
            twofold_core::files::private_file(p)
                .map_err(|e| StoreError::Connect(format!("{}: {e}", p.display())))
        };
        private(path)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            twofold_core::files::tighten(Path::new(&side), 0o600)
                .map_err(|e| StoreError::Connect(format!("{}: {e}", path.display())))?;
        }
        let err = |e: rusqlite::Error| StoreError::Connect(format!("{}: {e}", path.display()));
        let mut writer = connect(path).map_err(err)?;
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Connect(format!(
                "{}: cannot switch to WAL mode (got {mode})",
                path.display()
            )));
        }
        super::migrate::run(&mut writer)?;
        // Checkpoints are run by the writer and checkpointer threads (see `run_writer`).
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(err)?;
        writer
            .pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(err)?;
        // The writer touches the hot pages of every table; a larger cache than the 2 MiB
        // default keeps them (negative: KiB).
        writer
            .pragma_update(None, "cache_size", -16_384)
            .map_err(err)?;

        let checkpointer = connect(path).map_err(err)?;
        if sync == SqliteSync::Full {
            for conn in [&writer, &checkpointer] {
                conn.pragma_update(None, "synchronous", "FULL")
                    .map_err(err)?;
            }
        }
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        let metrics = StoreMetrics::sqlite();
        let writer_metrics = metrics.clone();
        let checkpointer_metrics = metrics.clone();
        let progress = Arc::new(Progress::default());
        // For the checkpointer's own syncs of the file (see `run_checkpointer`); without
        // it, SQLite's syncs alone remain, which are correct, only later.
        let db_file = std::fs::File::open(path)
            .inspect_err(|e| tracing::warn!(error = %e, "cannot open the database file to sync it"))
            .ok();
        let writer_progress = progress.clone();
        let checkpointer_progress = progress.clone();
        let spawn_err =
            |e: std::io::Error| StoreError::Connect(format!("cannot start a database thread: {e}"));
        std::thread::Builder::new()
            .name("twofold-sqlite-ckpt".into())
            .spawn(move || {
                run_checkpointer(
                    checkpointer,
                    db_file,
                    woken,
                    &checkpointer_progress,
                    &checkpointer_metrics,
                )
            })
            .map_err(spawn_err)?;
        std::thread::Builder::new()
            .name("twofold-sqlite-writer".into())
            .spawn(move || {
                run_writer(
                    writer,
                    rx,
                    wake,
                    &writer_progress,
                    &writer_metrics,
                    checkpoints,
                );
            })
            .map_err(spawn_err)?;
        Ok(Sqlite {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
                jobs: Mutex::new(Some(tx)),
                metrics,
                progress,
            }),
        })
    }

    /// The writer's batch sizes and commit times.
    pub(crate) fn metrics(&self) -> &StoreMetrics {
        &self.inner.metrics
    }

    /// Runs `f` on a reader connection, on this thread.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.take_reader()?;
        let out = f(&conn);
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out.map_err(super::driver)
    }

    fn take_reader(&self) -> Result<Connection, StoreError> {
        // Closed means closed for reads too, as on PostgreSQL.
        if self
            .inner
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
        {
            return Err(StoreError::Closed);
        }
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => connect(&self.inner.path)
                .map_err(|e| StoreError::Connect(format!("{}: {e}", self.inner.path.display()))),
        }
    }

    /// Runs `f` on the writer thread inside its own savepoint, and answers once the
    /// transaction holding it is committed. An `Err` from `f` rolls back its writes only.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        self.send(f, true).await
    }

    /// [`Sqlite::write`] without a savepoint of its own, for a job that returns an `Err`
    /// only before its first write or for a failure that fails the commit anyway (I/O,
    /// a full disk): if it fails after writing, the whole batch is rolled back and every
    /// job in it fails with it. A savepoint copies each page the job changes into a
    /// journal first; for the code check that was 5 % of the server's CPU
    /// (docs/PERFORMANCE.md).
    pub(crate) async fn write_unguarded<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        self.send(f, false).await
    }

    async fn send<T, F>(&self, f: F, guarded: bool) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob {
            work: Some(f),
            out: None,
            guarded,
            reply,
        });
        {
            let jobs = self.inner.jobs.lock().unwrap_or_else(|p| p.into_inner());
            let sent = jobs.as_ref().map(|tx| tx.send(job));
            if !matches!(sent, Some(Ok(()))) {
                return Err(StoreError::Closed);
            }
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops the writer thread once it has finished the jobs already sent.
    pub fn close(&self) {
        self.inner
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// A write waiting for the writer thread: it runs, then is settled after the commit.
trait Job: Send {
    /// Runs the work; false if it failed.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Whether it runs inside a savepoint of its own (see [`Sqlite::write_unguarded`]).
    fn guarded(&self) -> bool;
    /// Answers the caller: its own result if the commit succeeded, else the commit's error.
    fn settle(self: Box<Self>, commit: Result<(), String>);
}

struct TypedJob<F, T> {
    work: Option<F>,
    out: Option<Result<T, StoreError>>,
    guarded: bool,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Job for TypedJob<F, T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // A panic in one job must not take the writer thread (and every later write) down.
        let out = match catch_unwind(AssertUnwindSafe(|| work(conn))) {
            Ok(out) => out.map_err(StoreError::from),
            Err(_) => Err(StoreError::Commit("a write job panicked".into())),
        };
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn guarded(&self) -> bool {
        self.guarded
    }

    fn settle(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (self.out, commit) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(e)) => Err(StoreError::Commit(e)),
            (None, Ok(())) => Err(StoreError::Commit("the write did not run".into())),
        };
        // The caller may have gone (its request was cancelled): nothing to tell.
        let _ = self.reply.send(answer);
    }
}

/// What the writer and the checkpointer tell each other.
#[derive(Default)]
struct Progress {
    /// Jobs committed so far (set by the writer after each commit).
    written: AtomicU64,
    /// What the checkpointer's passes found (set by the checkpointer after each pass).
    passes: Mutex<Passes>,
    /// Times the writer has started the WAL again (set by the writer; read by tests).
    restarts: AtomicU64,
}

/// The checkpointer's passes, in the writer's count of jobs committed.
#[derive(Clone, Copy, Default)]
struct Passes {
    /// `written` when the last pass began, and the frames it found in the WAL.
    began_at: u64,
    frames: u64,
    /// `written` when the last pass that copied every frame it found began: every job up
    /// to it is in the database file.
    covered: u64,
}

/// The writer thread: batches of jobs, one transaction and one commit per batch.
///
/// Checkpoints take two steps. The checkpointer thread copies the WAL into the database
/// on its own connection, with the `fsync`s that takes, while the writer goes on: a pass
/// every [`Checkpoints::pass_jobs`] jobs. But a WAL starts again from its beginning only
/// after a checkpoint that nothing wrote beside; otherwise it grows without end, every
/// frame a fresh page of file (measured: a fifth of the CPU went to the kernel zeroing
/// them). That last copy is the writer's to make, between two batches, and every write
/// waits for it; its length is what the checkpointer left. So once a pass has found
/// [`Checkpoints::restart_frames`] frames in the WAL, the writer wakes the checkpointer
/// after every batch: each pass copies what was written during the one before, so the
/// passes shorten, until at most [`Checkpoints::catch_up_jobs`] jobs (beyond the batch
/// just committed) are left and the writer catches up. A catch-up that meets a pass (it
/// holds the checkpoint lock) copies nothing and is tried again after the next batch.
/// Should the passes not shorten (a writer faster than the copies), the writer catches
/// up anyway once the WAL holds a quarter more, so that it stays bounded. And when no job
/// has come for [`IDLE`] after [`Checkpoints::idle_jobs`] or more, the writer wakes the
/// checkpointer: a pass with nothing written beside it copies every frame, and the next
/// commit starts the WAL again by itself.
fn run_writer(
    conn: Connection,
    jobs: mpsc::Receiver<Box<dyn Job>>,
    wake: mpsc::SyncSender<()>,
    progress: &Progress,
    metrics: &StoreMetrics,
    tuning: Checkpoints,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut written = 0u64;
    let mut woken_at = 0u64;
    let mut restarted_at = 0u64;
    loop {
        // Unless enough was written since the checkpointer was last woken, the writer
        // sleeps until the next job instead of waking after IDLE.
        let next = if written - woken_at >= tuning.idle_jobs {
            jobs.recv_timeout(IDLE)
        } else {
            jobs.recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        };
        let first = match next {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: a pass now copies every frame with nothing written beside it, so
                // the next commit starts the WAL again without a catch-up.
                woken_at = written;
                let _ = wake.try_send(());
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let commit = run_batch(&conn, &mut batch);
        metrics.observe_batch(batch.len(), started.elapsed());
        let size = batch.len() as u64;
        written = written.saturating_add(size);
        progress.written.store(written, Ordering::Release);
        for job in batch.drain(..) {
            job.settle(commit.clone());
        }
        let passes = *progress.passes.lock().unwrap_or_else(|p| p.into_inner());
        // A pass that began before the first commit since the last restart found the old
        // WAL: its frames count for nothing.
        let frames = if passes.began_at > restarted_at {
            passes.frames
        } else {
            0
        };
        let left = written.saturating_sub(passes.covered);
        if frames >= tuning.restart_frames
            && (left <= size + tuning.catch_up_jobs
                || frames >= tuning.restart_frames + tuning.restart_frames / 4)
        {
            if checkpoint(&conn, Some((By::Writer, metrics))).is_some_and(|c| c.complete) {
                progress.restarts.fetch_add(1, Ordering::Release);
                restarted_at = written;
                woken_at = written;
            }
        } else if frames >= tuning.restart_frames || written - woken_at >= tuning.pass_jobs {
            woken_at = written;
            // If a wake-up is already pending, the checkpointer will cover these too.
            let _ = wake.try_send(());
        }
    }
    checkpoint(&conn, None);
}

/// The checkpointer thread (see [`run_writer`]). Ends with the writer thread.
///
/// After each pass it syncs the database file itself. SQLite syncs it only when a pass
/// reaches the end of the WAL, which under load, with the writer committing beside it,
/// none does: the pages every pass copied stayed dirty until the writer's catch-up, whose
/// `fsync` then wrote them all out while every write waited (measured: 9–38 ms with a
/// restart every 4,000 jobs). Synced here, they leave the catch-up only its own pages.
fn run_checkpointer(
    conn: Connection,
    db_file: Option<std::fs::File>,
    wake: mpsc::Receiver<()>,
    progress: &Progress,
    metrics: &StoreMetrics,
) {
    while wake.recv().is_ok() {
        // Jobs committed before the pass begins are in the WAL it finds.
        let written = progress.written.load(Ordering::Acquire);
        let Some(pass) = checkpoint(&conn, Some((By::Checkpointer, metrics))) else {
            continue;
        };
        if let Some(file) = &db_file
            && let Err(e) = file.sync_data()
        {
            tracing::warn!(error = %e, "syncing the SQLite database file failed");
        }
        let mut passes = progress.passes.lock().unwrap_or_else(|p| p.into_inner());
        passes.began_at = written;
        passes.frames = pass.frames;
        if pass.complete {
            passes.covered = written;
        }
    }
}

/// Runs the jobs in one `BEGIN IMMEDIATE` transaction, each in a savepoint unless it is
/// unguarded, and commits.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| e.to_string())?;
    for job in batch.iter_mut() {
        if !job.guarded() {
            // Rows changed by statements that completed: a statement that fails undoes
            // its own changes, so an unchanged count means nothing is left to undo.
            let before = conn.total_changes();
            if !job.run(conn) && conn.total_changes() != before {
                let _ = conn.execute_batch("ROLLBACK");
                return Err("a write failed part-way, so its whole batch was rolled back".into());
            }
            continue;
        }
        let step = (|| -> rusqlite::Result<()> {
            conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            if job.run(conn) {
                conn.prepare_cached("RELEASE job")?.execute([])?;
            } else {
                conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
                conn.prepare_cached("RELEASE job")?.execute([])?;
            }
            Ok(())
        })();
        if let Err(e) = step {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.to_string());
        }
    }
    match conn
        .prepare_cached("COMMIT")
        .and_then(|mut s| s.execute([]))
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e.to_string())
        }
    }
}

/// Which thread ran a checkpoint: the writer's stop every write (see [`run_writer`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Writer,
    Checkpointer,
}

impl By {
    fn as_str(self) -> &'static str {
        match self {
            By::Writer => "writer",
            By::Checkpointer => "checkpointer",
        }
    }
}

/// What a checkpoint found and did.
#[derive(Clone, Copy, Debug)]
struct Pass {
    /// Frames in the WAL when it began.
    frames: u64,
    /// Whether every one of them is now in the database, so the WAL can start again
    /// (not if a reader's snapshot kept some back).
    complete: bool,
}

/// Copies WAL pages into the database without waiting for readers: `None` if another
/// checkpoint held the lock or it failed (logged). Timed into `timed`'s metrics and
/// logged at debug level (so that a slow request can be matched with one), unless it is
/// the last one at close.
fn checkpoint(conn: &Connection, timed: Option<(By, &StoreMetrics)>) -> Option<Pass> {
    let started = Instant::now();
    // The pragma's row: busy (1 if the lock was taken), frames in the WAL, frames copied.
    let res = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    let took = started.elapsed();
    match res {
        Ok((busy, frames, copied)) => {
            if let Some((by, metrics)) = timed {
                metrics.observe_checkpoint(by == By::Writer, took);
                tracing::debug!(
                    by = by.as_str(),
                    took_us = took.as_micros(),
                    busy,
                    frames,
                    copied,
                    "SQLite checkpoint"
                );
            }
            (busy == 0).then(|| Pass {
                frames: u64::try_from(frames).unwrap_or(0),
                complete: frames == copied,
            })
        }
        Err(e) => {
            tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
            None
        }
    }
}

/// True if `e` is a UNIQUE or PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn temp_db() -> PathBuf {
        std::env::temp_dir()
            .join(format!("twofold-sqlite-{}", uuid::Uuid::new_v4()))
            .join("twofold.db")
    }

    fn temp_conn() -> Connection {
        let path = temp_db();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        connect(&path).unwrap()
    }

    type Answer<T> = oneshot::Receiver<Result<T, StoreError>>;

    fn job<T, F>(f: F) -> (Box<dyn Job>, Answer<T>)
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        made(f, true)
    }

    fn unguarded<T, F>(f: F) -> (Box<dyn Job>, Answer<T>)
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        made(f, false)
    }

    fn made<T, F>(f: F, guarded: bool) -> (Box<dyn Job>, Answer<T>)
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            work: Some(f),
            out: None,
            guarded,
            reply,
        };
        (Box::new(job), answer)
    }

    fn insert(v: i64) -> impl FnOnce(&Connection) -> Result<(), Error> + Send + 'static {
        move |c| {
            c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(())
        }
    }

    fn values(conn: &Connection, table: &str) -> Vec<i64> {
        conn.prepare(&format!("SELECT v FROM {table} ORDER BY v"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Runs one batch the way the writer thread does and answers each job's result.
    fn run_and_settle(conn: &Connection, mut batch: Vec<Box<dyn Job>>) {
        let commit = run_batch(conn, &mut batch);
        for job in batch {
            job.settle(commit.clone());
        }
    }

    #[test]
    fn a_failing_job_in_a_batch_rolls_back_only_its_own_writes() {
        type Failing = fn() -> (Box<dyn Job>, Answer<()>);
        let cases: [Failing; 2] = [
            // Writes 2, then fails on a duplicate: its savepoint must undo the 2.
            || {
                job(|c| {
                    insert(2)(c)?;
                    insert(1)(c)
                })
            },
            // Without a savepoint, its only statement fails: SQLite undoes the statement
            // itself, so the job fails alone too.
            || unguarded(insert(1)),
        ];
        for failing in cases {
            let conn = temp_conn();
            conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
                .unwrap();
            let (a, a_answer) = job(insert(1));
            let (b, mut b_answer) = failing();
            let (d, d_answer) = unguarded(insert(3));
            run_and_settle(&conn, vec![a, b, d]);

            a_answer.blocking_recv().unwrap().unwrap();
            d_answer.blocking_recv().unwrap().unwrap();
            let failed = b_answer.try_recv().unwrap();
            assert!(
                matches!(&failed, Err(StoreError::Database(e)) if e.is_unique_violation()),
                "{failed:?}"
            );
            assert_eq!(values(&conn, "t"), [1, 3]);
        }
    }

    #[test]
    fn an_unguarded_job_that_fails_after_writing_fails_its_whole_batch() {
        let conn = temp_conn();
        conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
            .unwrap();
        let (a, a_answer) = job(insert(1));
        // Writes 2, then fails: without a savepoint its 2 can only go with the batch.
        let (b, b_answer) = unguarded(|c| {
            insert(2)(c)?;
            insert(1)(c)
        });
        let (d, d_answer) = job(insert(3));
        run_and_settle(&conn, vec![a, b, d]);

        let failed = b_answer.blocking_recv().unwrap();
        assert!(
            matches!(&failed, Err(StoreError::Database(e)) if e.is_unique_violation()),
            "its own error: {failed:?}"
        );
        // Those that ran before it in the batch, and those that never ran, are told.
        for answer in [a_answer, d_answer] {
            let got = answer.blocking_recv().unwrap();
            assert!(matches!(got, Err(StoreError::Commit(_))), "{got:?}");
        }
        assert!(values(&conn, "t").is_empty());
        // The connection is usable again: the next batch commits.
        let (e, e_answer) = unguarded(insert(4));
        run_and_settle(&conn, vec![e]);
        e_answer.blocking_recv().unwrap().unwrap();
        assert_eq!(values(&conn, "t"), [4]);
    }

    #[test]
    fn when_the_commit_fails_every_job_of_the_batch_is_told_and_nothing_stays() {
        let conn = temp_conn();
        // A deferred foreign key is checked only at COMMIT: a dangling row makes the
        // commit itself fail, after every job has run and released its savepoint.
        conn.execute_batch(
            "CREATE TABLE t (v INTEGER NOT NULL UNIQUE); \
             CREATE TABLE parent (v INTEGER PRIMARY KEY); \
             CREATE TABLE child (v INTEGER REFERENCES parent (v) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
        let (a, a_answer) = job(insert(1));
        let (b, b_answer) = job(|c| {
            c.execute("INSERT INTO child (v) VALUES (42)", [])?;
            Ok(())
        });
        run_and_settle(&conn, vec![a, b]);

        for answer in [a_answer, b_answer] {
            let got = answer.blocking_recv().unwrap();
            assert!(matches!(got, Err(StoreError::Commit(_))), "{got:?}");
        }
        assert!(values(&conn, "t").is_empty());
        assert!(values(&conn, "child").is_empty());
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_writer_goes_on() {
        let db = Sqlite::open(&temp_db()).unwrap();
        let panicked = db
            .write(|_| -> Result<(), Error> { panic!("a bug in a write job") })
            .await;
        assert!(
            matches!(panicked, Err(StoreError::Commit(_))),
            "{panicked:?}"
        );
        let count = db
            .write(|c| Ok(c.query_row("SELECT COUNT(*) FROM orgs", [], |r| r.get::<_, i64>(0))?))
            .await
            .unwrap();
        assert_eq!(count, 0);
        db.close();
        let closed = db.write(|_| Ok(())).await;
        assert!(matches!(closed, Err(StoreError::Closed)), "{closed:?}");
    }

    #[tokio::test]
    async fn the_writer_syncs_every_commit_only_when_asked_to() {
        let level = |db: Sqlite| async move {
            let level = db
                .write(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))?))
                .await
                .unwrap();
            db.close();
            level
        };
        // SQLite's numbers: 1 NORMAL, 2 FULL.
        assert_eq!(level(Sqlite::open(&temp_db()).unwrap()).await, 1);
        let full = Sqlite::open_with(&temp_db(), SqliteSync::Full).unwrap();
        assert_eq!(level(full).await, 2);
    }

    #[tokio::test]
    async fn the_wal_starts_again_under_a_steady_stream_of_writes() {
        let path = temp_db();
        let tuning = Checkpoints {
            pass_jobs: 20,
            restart_frames: 256,
            catch_up_jobs: 8,
            idle_jobs: 4,
        };
        let db = Sqlite::open_tuned(&path, SqliteSync::Normal, tuning).unwrap();
        db.write(|c| Ok(c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")?))
            .await
            .unwrap();
        // One commit each, so at least one WAL frame (a 4 KiB page) each: a WAL that never
        // started again would hold 6,000 frames, eight times what it may.
        let jobs = 6_000;
        for v in 0..jobs {
            db.write(insert(v)).await.unwrap();
        }
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let frames = std::fs::metadata(&wal).unwrap().len() / (4096 + 24);
        let restarts = db.inner.progress.restarts.load(Ordering::Acquire);
        // Started again every 256 frames or so, at most every 512 and what the writer
        // wrote meanwhile: some 6–20 times, and the file never longer than a third.
        assert!(restarts >= 4, "the WAL started again {restarts} times");
        assert!(
            frames < 2_000,
            "the WAL holds {frames} frames after {jobs} commits"
        );
        let count = db
            .write(|c| Ok(c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0))?))
            .await
            .unwrap();
        assert_eq!(count, jobs);
        db.close();
    }
}
