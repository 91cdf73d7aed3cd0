//! The two append-only logs: live events (what the stream pushes, resumable by `seq`) and the
//! audit log (who changed what). Both are written in the same transaction as the change.

use crate::sql::{Backend, Conn, Row, Value};
use crate::{Actor, AuditEntry, Event, Page, Store, StoreError, params};
use switchboard_core::{CaseId, Timestamp};

/// Key of the transaction-scoped advisory lock taken before appending events on PostgreSQL.
/// Held from the append to the commit, it makes `seq` order equal commit order even with
/// several writers (several lanes, several nodes), so a reader that has seen `seq` n has seen
/// everything before it.
const EVENTS_LOCK: i64 = 7_462_017;

fn lock_events(conn: &mut dyn Conn) -> Result<(), StoreError> {
    if conn.backend() == Backend::Postgres {
        conn.query("SELECT pg_advisory_xact_lock($1)", params![EVENTS_LOCK])?;
    }
    Ok(())
}

/// An event not yet appended.
pub(crate) struct PendingEvent {
    pub kind: &'static str,
    pub case_id: Option<CaseId>,
    pub data: serde_json::Value,
    pub at: Timestamp,
}

/// Appends events in one statement; call it last in a transaction (the lock it takes on
/// PostgreSQL is held until commit).
pub(crate) fn emit_many(
    conn: &mut dyn Conn,
    pending: Vec<PendingEvent>,
) -> Result<Vec<Event>, StoreError> {
    if pending.is_empty() {
        return Ok(vec![]);
    }
    lock_events(conn)?;
    let mut out = Vec::with_capacity(pending.len());
    // Chunks keep the statement under the parameter limits.
    for chunk in pending.chunks(1000) {
        let mut sql = String::from("INSERT INTO events (kind, case_id, data, created_at) VALUES ");
        let mut args = Vec::with_capacity(chunk.len() * 4);
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let b = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
            args.push(Value::from(e.kind));
            args.push(e.case_id.map(|c| c.to_string()).into());
            args.push(Value::Text(e.data.to_string()));
            args.push(Value::Int(e.at.as_unix_micros()));
        }
        sql.push_str(" RETURNING seq");
        // Identity values are drawn in row order within one statement.
        let mut seqs = conn
            .query(&sql, &args)?
            .iter()
            .map(|r| r.int(0))
            .collect::<Result<Vec<_>, _>>()?;
        seqs.sort_unstable();
        if seqs.len() != chunk.len() {
            return Err(StoreError::Backend(
                "event insert returned a different number of rows".into(),
            ));
        }
        for (e, seq) in chunk.iter().zip(seqs) {
            out.push(Event {
                seq,
                kind: e.kind.to_owned(),
                case_id: e.case_id,
                data: e.data.clone(),
                created_at: e.at,
            });
        }
    }
    Ok(out)
}

pub(crate) fn emit(
    conn: &mut dyn Conn,
    kind: &str,
    case_id: Option<CaseId>,
    data: serde_json::Value,
    now: Timestamp,
) -> Result<Event, StoreError> {
    lock_events(conn)?;
    let row = conn.query_one(
        "INSERT INTO events (kind, case_id, data, created_at) VALUES ($1, $2, $3, $4) RETURNING seq",
        params![kind, case_id.map(|c| c.to_string()), data.to_string(), now.as_unix_micros()],
    )?;
    Ok(Event {
        seq: row.int(0)?,
        kind: kind.to_owned(),
        case_id,
        data,
        created_at: now,
    })
}

pub(crate) fn audit(
    conn: &mut dyn Conn,
    actor: &Actor,
    action: &str,
    subject: (&str, String),
    details: serde_json::Value,
    now: Timestamp,
) -> Result<(), StoreError> {
    let (kind, id, name) = actor.parts();
    conn.execute(
        "INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, subject_kind, subject_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![now.as_unix_micros(), kind, id, name, action, subject.0, subject.1, details.to_string()],
    )?;
    Ok(())
}

fn event_from_row(r: &Row) -> Result<Event, StoreError> {
    Ok(Event {
        seq: r.int(0)?,
        kind: r.text(1)?,
        case_id: r
            .opt_text(2)?
            .map(|s| CaseId::parse(&s))
            .transpose()
            .map_err(bad)?,
        data: serde_json::from_str(&r.text(3)?).map_err(|e| StoreError::Backend(e.to_string()))?,
        created_at: Timestamp::from_unix_micros(r.int(4)?),
    })
}

pub(crate) fn bad(e: switchboard_core::ParseError) -> StoreError {
    StoreError::Backend(format!("stored value does not parse: {e}"))
}

impl Store {
    /// Events with `seq > after`, oldest first.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    "SELECT seq, kind, case_id, data, created_at FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                    params![after, limit],
                )?
                .iter()
                .map(event_from_row)
                .collect()
            })
            .await
    }

    /// The newest event's `seq` (0 when there is none).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        self.pool
            .read(|c| {
                c.query_one("SELECT COALESCE(MAX(seq), 0) FROM events", &[])?
                    .int(0)
            })
            .await
    }

    /// The audit log, newest first. The cursor is the last entry's `seq`.
    pub async fn list_audit(
        &self,
        cursor: Option<i64>,
        limit: i64,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.pool
            .read(move |c| {
                let rows = c.query(
                    "SELECT seq, at, actor_kind, actor_id, actor_name, action, subject_kind, subject_id, details \
                     FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
                    params![cursor.unwrap_or(i64::MAX), limit + 1],
                )?;
                let items = rows
                    .iter()
                    .map(|r| {
                        Ok(AuditEntry {
                            seq: r.int(0)?,
                            at: Timestamp::from_unix_micros(r.int(1)?),
                            actor_kind: r.text(2)?,
                            actor_id: r.opt_text(3)?,
                            actor_name: r.text(4)?,
                            action: r.text(5)?,
                            subject_kind: r.text(6)?,
                            subject_id: r.text(7)?,
                            details: serde_json::from_str(&r.text(8)?).unwrap_or(serde_json::Value::Null),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(Page::from_overfetch(items, limit, |e| e.seq.to_string()))
            })
            .await
    }
}
