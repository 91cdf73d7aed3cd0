//! Raw events are appended in groups: every webhook waiting to be made durable joins one
//! multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING id`, committed once. On PostgreSQL the
//! appender has its own connection, so acknowledgements never wait behind case processing; on
//! SQLite (one writer per database) its batch is one job on the shared writer.
//! If a batch statement fails, its rows are retried one by one, each in a savepoint, so one bad
//! row cannot refuse its neighbours.

use crate::pool::{Connector, Pool};
use crate::sql::{Backend, Conn, Value};
use crate::{Appended, RawEvent, StoreError, params};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Most raw events in one statement (5 parameters each).
const MAX_BATCH: usize = 500;

type Reply = oneshot::Sender<Result<Appended, StoreError>>;

pub(crate) struct Appender {
    tx: flume::Sender<(RawEvent, Reply)>,
}

impl Appender {
    pub(crate) fn start(pool: Arc<Pool>, connector: Connector) -> Result<Self, StoreError> {
        let (tx, rx) = flume::unbounded::<(RawEvent, Reply)>();
        let own = match pool.backend {
            Backend::Postgres => Some(connector.clone()),
            Backend::Sqlite => None,
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sb-db-appender".into())
            .spawn(move || {
                let conn = match own.as_ref().map(|c| c(true)).transpose() {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                appender_loop(rx, pool, conn, own);
            })
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        ready_rx.recv().map_err(|_| StoreError::Closed)??;
        Ok(Appender { tx })
    }

    pub(crate) async fn append(&self, ev: RawEvent) -> Result<Appended, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send((ev, tx)).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

fn appender_loop(
    rx: flume::Receiver<(RawEvent, Reply)>,
    pool: Arc<Pool>,
    mut conn: Option<Box<dyn Conn>>,
    connector: Option<Connector>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(x) => batch.push(x),
                Err(_) => break,
            }
        }
        let (events, replies): (Vec<RawEvent>, Vec<Reply>) = batch.into_iter().unzip();
        let n = events.len() as u64;
        let result = match conn.as_mut() {
            Some(c) => {
                if c.is_broken()
                    && let Some(connect) = &connector
                {
                    match connect(true) {
                        Ok(fresh) => *c = fresh,
                        Err(e) => tracing::error!(error = %e, "raw appender cannot reconnect"),
                    }
                }
                let r = own_transaction(c.as_mut(), &events);
                if r.is_ok() {
                    pool.stats
                        .commits
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    pool.stats
                        .committed_jobs
                        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                }
                r
            }
            None => pool.write_blocking(move |c| insert_batch(c, &events)),
        };
        match result {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

fn own_transaction(c: &mut dyn Conn, events: &[RawEvent]) -> Result<Vec<Outcome>, StoreError> {
    c.batch("BEGIN")?;
    match insert_batch(c, events).and_then(|r| c.batch("COMMIT").map(|()| r)) {
        Ok(r) => Ok(r),
        Err(e) => {
            let _ = c.batch("ROLLBACK");
            Err(e)
        }
    }
}

const INSERT: &str =
    "INSERT INTO raw_events (id, channel_id, external_id, body, received_at) VALUES ";
const ON_CONFLICT: &str = " ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id";

fn values(ev: &RawEvent) -> [Value; 5] {
    [
        Value::Text(ev.id.to_string()),
        Value::Text(ev.channel_id.to_string()),
        ev.external_id.clone().into(),
        Value::Blob(ev.body.clone()),
        Value::Int(ev.received_at.as_unix_micros()),
    ]
}

type Outcome = Result<Appended, StoreError>;

/// Inserts the batch inside the caller's transaction; says for each event whether it was
/// stored, was a duplicate (of an earlier event, or of one earlier in the same batch), or was
/// refused. The outer error means the transaction itself failed.
fn insert_batch(c: &mut dyn Conn, events: &[RawEvent]) -> Result<Vec<Outcome>, StoreError> {
    c.batch("SAVEPOINT raw_batch")?;
    let mut sql = String::with_capacity(INSERT.len() + events.len() * 32 + ON_CONFLICT.len());
    sql.push_str(INSERT);
    let mut args = Vec::with_capacity(events.len() * 5);
    for (i, ev) in events.iter().enumerate() {
        let b = i * 5;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
        args.extend(values(ev));
    }
    sql.push_str(ON_CONFLICT);
    match c.query(&sql, &args) {
        Ok(rows) => {
            c.batch("RELEASE raw_batch")?;
            let stored: HashSet<String> = rows.iter().filter_map(|r| r.text(0).ok()).collect();
            Ok(events
                .iter()
                .map(|e| {
                    Ok(if stored.contains(&e.id.to_string()) {
                        Appended::Stored
                    } else {
                        Appended::Duplicate
                    })
                })
                .collect())
        }
        Err(e) if events.len() > 1 => {
            tracing::warn!(error = %e, rows = events.len(), "raw batch insert failed; inserting one by one");
            c.batch("ROLLBACK TO raw_batch; RELEASE raw_batch")?;
            events.iter().map(|ev| insert_one(c, ev)).collect()
        }
        Err(e) => {
            c.batch("ROLLBACK TO raw_batch; RELEASE raw_batch")?;
            Ok(vec![Err(e)])
        }
    }
}

fn insert_one(c: &mut dyn Conn, ev: &RawEvent) -> Result<Outcome, StoreError> {
    c.batch("SAVEPOINT raw_one")?;
    let [a, b, d, e, f] = values(ev);
    match c.query(
        &format!("{INSERT}($1, $2, $3, $4, $5){ON_CONFLICT}"),
        params![a, b, d, e, f],
    ) {
        Ok(rows) => {
            c.batch("RELEASE raw_one")?;
            Ok(Ok(if rows.is_empty() {
                Appended::Duplicate
            } else {
                Appended::Stored
            }))
        }
        Err(err) => {
            c.batch("ROLLBACK TO raw_one; RELEASE raw_one")?;
            Ok(Err(err))
        }
    }
}
