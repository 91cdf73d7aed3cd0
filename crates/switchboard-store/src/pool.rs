//! Database threads: one writer that commits in groups, and a few readers.
//!
//! Every write is a closure sent to the writer thread. The writer takes what is queued (up to
//! [`MAX_GROUP`] jobs), runs each inside its own savepoint in one transaction, commits once, and
//! only then answers each caller. Under load many webhooks share one `fsync`; a job that fails
//! rolls back only itself. Readers each own a connection and take read closures from a shared
//! queue; with SQLite's WAL they never wait for the writer.

use crate::StoreError;
use crate::sql::{Backend, Conn};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::oneshot;

/// The most jobs committed together.
pub const MAX_GROUP: usize = 512;

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type WriteJob = Box<dyn FnOnce(&mut dyn Conn) -> (bool, Finish) + Send>;
type ReadJob = Box<dyn FnOnce(&mut dyn Conn) + Send>;

pub(crate) type Connector = Arc<dyn Fn(bool) -> Result<Box<dyn Conn>, StoreError> + Send + Sync>;

/// Counters the server exports as metrics.
#[derive(Debug, Default)]
pub struct PoolStats {
    pub commits: AtomicU64,
    pub committed_jobs: AtomicU64,
    pub failed_commits: AtomicU64,
}

pub(crate) struct Pool {
    writer: flume::Sender<WriteJob>,
    /// Dropping it stops the SQLite checkpointer.
    _checkpointer: Option<flume::Sender<()>>,
    /// Extra writers for ingest on PostgreSQL (empty on SQLite, which has one writer).
    lanes: Vec<flume::Sender<WriteJob>>,
    readers: flume::Sender<ReadJob>,
    pub(crate) backend: Backend,
    pub(crate) stats: Arc<PoolStats>,
}

impl Pool {
    pub(crate) fn start(
        connector: Connector,
        backend: Backend,
        readers: usize,
        lanes: usize,
    ) -> Result<Self, StoreError> {
        let stats = Arc::new(PoolStats::default());
        let (wtx, wrx) = flume::unbounded::<WriteJob>();
        let (rtx, rrx) = flume::unbounded::<ReadJob>();
        // Each thread opens its own connection (the synchronous PostgreSQL client may not be
        // created on an async runtime's thread). The writer first: on a new SQLite file it
        // switches the journal to WAL, which must not race with the readers opening.
        {
            let (connector2, stats) = (connector.clone(), stats.clone());
            spawn_with_conn("sb-db-writer".into(), &connector, true, move |conn| {
                writer_loop(conn, connector2, wrx, stats)
            })?;
        }
        for i in 0..readers.max(1) {
            let (connector2, rrx) = (connector.clone(), rrx.clone());
            spawn_with_conn(
                format!("sb-db-reader-{i}"),
                &connector,
                false,
                move |conn| reader_loop(conn, connector2, rrx),
            )?;
        }
        let mut lane_senders = Vec::new();
        for i in 0..lanes {
            let (ltx, lrx) = flume::unbounded::<WriteJob>();
            let (connector2, stats) = (connector.clone(), stats.clone());
            spawn_with_conn(format!("sb-db-lane-{i}"), &connector, true, move |conn| {
                writer_loop(conn, connector2, lrx, stats)
            })?;
            lane_senders.push(ltx);
        }
        let checkpointer = match backend {
            Backend::Sqlite => Some(start_checkpointer(connector.clone())?),
            Backend::Postgres => None,
        };
        Ok(Pool {
            _checkpointer: checkpointer,
            writer: wtx,
            lanes: lane_senders,
            readers: rtx,
            backend,
            stats,
        })
    }

    /// How many writers ingest may use at once: the lanes on PostgreSQL, else 1.
    pub(crate) fn lane_count(&self) -> usize {
        self.lanes.len().max(1)
    }

    /// [`Pool::write`] on ingest lane `lane` (the main writer when there are no lanes).
    pub(crate) async fn write_on<T, F>(&self, lane: usize, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        match self.lanes.get(lane % self.lanes.len().max(1)) {
            Some(sender) => Self::submit(sender, f).await,
            None => self.write(f).await,
        }
    }

    /// Runs `f` in the writer's current transaction; returns once its group has committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        Self::submit(&self.writer, f).await
    }

    async fn submit<T, F>(writer: &flume::Sender<WriteJob>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, rx) = write_job(f);
        writer.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// [`Pool::write`] for a plain thread (not an async task): blocks until committed.
    pub(crate) fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, rx) = write_job(f);
        self.writer.send(job).map_err(|_| StoreError::Closed)?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a reader connection.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.readers.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

fn writer_loop(
    mut conn: Box<dyn Conn>,
    connector: Connector,
    rx: flume::Receiver<WriteJob>,
    stats: Arc<PoolStats>,
) {
    let begin = match conn.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    let mut jobs: Vec<WriteJob> = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = rx.recv() {
        jobs.push(first);
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if conn.is_broken() {
            match connector(true) {
                Ok(c) => conn = c,
                Err(e) => {
                    tracing::error!(error = %e, "database writer cannot reconnect");
                    for job in jobs.drain(..) {
                        fail_job(job, e.clone());
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    continue;
                }
            }
        }
        let single = jobs.len() == 1;
        let n = jobs.len() as u64;
        let mut finishers: Vec<Finish> = Vec::with_capacity(jobs.len());
        let outcome = (|| -> Result<(), StoreError> {
            conn.batch(begin)?;
            let mut any_ok = false;
            for job in jobs.drain(..) {
                if !single {
                    conn.batch("SAVEPOINT job")?;
                }
                let (ok, finish) = job(conn.as_mut());
                any_ok |= ok;
                finishers.push(finish);
                if !single {
                    conn.batch(if ok {
                        "RELEASE job"
                    } else {
                        "ROLLBACK TO job; RELEASE job"
                    })?;
                }
            }
            // A job that failed alone had no savepoint: undo whatever it did.
            conn.batch(if any_ok { "COMMIT" } else { "ROLLBACK" })
        })();
        // Jobs not yet run when the transaction broke are answered with the same error.
        let leftover: Vec<WriteJob> = std::mem::take(&mut jobs);
        match &outcome {
            Ok(()) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.committed_jobs.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, jobs = n, "database commit failed; rolled back");
                let _ = conn.batch("ROLLBACK");
            }
        }
        for f in finishers {
            f(outcome.clone());
        }
        for job in leftover {
            fail_job(job, outcome.clone().err().unwrap_or(StoreError::Closed));
        }
    }
}

/// Copies the SQLite WAL back into the database file every half second, on its own
/// connection, so commits never pay for it. PASSIVE never blocks the writer or the readers; once
/// everything is copied, the next commit starts the WAL from the beginning again.
fn start_checkpointer(connector: Connector) -> Result<flume::Sender<()>, StoreError> {
    let (stop_tx, stop_rx) = flume::bounded::<()>(1);
    let mut conn = connector(true)?;
    std::thread::Builder::new()
        .name("sb-db-checkpointer".into())
        .spawn(move || {
            while let Err(flume::RecvTimeoutError::Timeout) =
                stop_rx.recv_timeout(std::time::Duration::from_millis(500))
            {
                if let Err(e) = conn.query("PRAGMA wal_checkpoint(PASSIVE)", &[]) {
                    tracing::warn!(error = %e, "WAL checkpoint failed; will try again");
                }
            }
        })
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(stop_tx)
}

/// Starts a named thread that opens a connection and hands it to `body`; returns once the
/// connection is open, or with the error that kept it from opening.
fn spawn_with_conn(
    name: String,
    connector: &Connector,
    writer: bool,
    body: impl FnOnce(Box<dyn Conn>) + Send + 'static,
) -> Result<(), StoreError> {
    let (ready, ready_rx) = std::sync::mpsc::channel();
    let connector = connector.clone();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || match connector(writer) {
            Ok(conn) => {
                let _ = ready.send(Ok(()));
                body(conn)
            }
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        })
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    ready_rx.recv().map_err(|_| StoreError::Closed)?
}

/// Wraps `f` as a job for a writer, and the receiver its caller awaits: the job's result,
/// delivered only after its group's commit (or the commit's error).
fn write_job<T, F>(f: F) -> (WriteJob, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: WriteJob = Box::new(move |conn| {
        let result = f(conn);
        let ok = result.is_ok();
        let finish: Finish = Box::new(move |commit| {
            let _ = tx.send(commit.and(result));
        });
        (ok, finish)
    });
    (job, rx)
}

fn fail_job(job: WriteJob, e: StoreError) {
    // The job must not run; answer its caller through a connection that refuses everything.
    let mut dead = DeadConn(e.clone());
    let (_, finish) = job(&mut dead);
    finish(Err(e));
}

/// A connection that fails every call, used to answer jobs that cannot run.
struct DeadConn(StoreError);

impl Conn for DeadConn {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    fn execute(&mut self, _: &str, _: &[crate::sql::Value]) -> Result<u64, StoreError> {
        Err(self.0.clone())
    }
    fn query_each(
        &mut self,
        _: &str,
        _: &[crate::sql::Value],
        _: &mut dyn FnMut(&crate::sql::Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
    fn batch(&mut self, _: &str) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
    fn is_broken(&self) -> bool {
        true
    }
}

fn reader_loop(mut conn: Box<dyn Conn>, connector: Connector, rx: flume::Receiver<ReadJob>) {
    while let Ok(job) = rx.recv() {
        if conn.is_broken() {
            match connector(false) {
                Ok(c) => conn = c,
                Err(e) => {
                    tracing::error!(error = %e, "database reader cannot reconnect");
                    let mut dead = DeadConn(e);
                    job(&mut dead);
                    continue;
                }
            }
        }
        job(conn.as_mut());
    }
}
