//! Full-text search over messages: SQLite's FTS5 (BM25 ranking) or PostgreSQL's text search
//! (`ts_rank_cd`), both kept in step with the messages in the same transaction.

use crate::cases::{MESSAGE_COLS, message_from_row};
use crate::sql::{Backend, Value};
use crate::{Message, Store, StoreError};
use switchboard_core::search::{MARK_END, MARK_START, Query};
use switchboard_core::{ChannelId, Direction, TeamId, Timestamp};

/// What to search within.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub channel: Option<ChannelId>,
    pub team: Option<TeamId>,
    pub purpose: Option<String>,
    pub direction: Option<Direction>,
    /// Sent at or after / before.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// One message found, with a snippet whose matches are marked with
/// [`switchboard_core::search::MARK_START`] and `MARK_END`.
#[derive(Debug, Clone)]
pub struct Found {
    pub message: Message,
    pub snippet: String,
}

impl Store {
    /// The best `limit` messages for `query` within `filter`, best first.
    pub async fn search_messages(
        &self,
        query: Query,
        filter: SearchFilter,
        limit: i64,
    ) -> Result<Vec<Found>, StoreError> {
        self.pool
            .read(move |c| {
                let cols = MESSAGE_COLS
                    .split(", ")
                    .map(|c| format!("m.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut args: Vec<Value> = Vec::new();
                let (select, matching, order) = match c.backend() {
                    Backend::Sqlite => {
                        args.push(Value::Text(query.to_fts5()));
                        (
                            format!(
                                "SELECT {cols}, snippet(messages_fts, 0, '{MARK_START}', '{MARK_END}', '…', 16) \
                                 FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid \
                                 JOIN cases k ON k.id = m.case_id"
                            ),
                            "messages_fts MATCH $1".to_owned(),
                            "bm25(messages_fts)".to_owned(),
                        )
                    }
                    Backend::Postgres => {
                        args.push(Value::Text(query.to_websearch()));
                        (
                            format!(
                                "SELECT {cols}, ts_headline('simple', m.text, q.q, \
                                 'StartSel=\"{MARK_START}\", StopSel=\"{MARK_END}\", MaxWords=24, MinWords=8') \
                                 FROM messages m JOIN cases k ON k.id = m.case_id, \
                                 websearch_to_tsquery('simple', $1) AS q(q)"
                            ),
                            "to_tsvector('simple', m.text) @@ q.q".to_owned(),
                            "ts_rank_cd(to_tsvector('simple', m.text), q.q) DESC".to_owned(),
                        )
                    }
                };
                let mut sql = format!("{select} WHERE {matching}");
                let mut add = |clause: &str, v: Value| {
                    args.push(v);
                    sql.push_str(&format!(" AND {clause} ${}", args.len()));
                };
                if let Some(ch) = filter.channel {
                    add("m.channel_id =", Value::Text(ch.to_string()));
                }
                if let Some(t) = filter.team {
                    add("k.team_id =", Value::Text(t.to_string()));
                }
                if let Some(p) = &filter.purpose {
                    add("k.purpose =", Value::Text(p.clone()));
                }
                if let Some(d) = filter.direction {
                    add("m.direction =", Value::Text(d.as_str().to_owned()));
                }
                if let Some(f) = filter.from {
                    add("m.sent_at >=", Value::Int(f.as_unix_micros()));
                }
                if let Some(t) = filter.to {
                    add("m.sent_at <", Value::Int(t.as_unix_micros()));
                }
                args.push(Value::Int(limit));
                sql.push_str(&format!(" ORDER BY {order}, m.id LIMIT ${}", args.len()));
                c.query(&sql, &args)?
                    .iter()
                    .map(|r| {
                        Ok(Found {
                            message: message_from_row(r)?,
                            snippet: r.opt_text(31)?.unwrap_or_default(),
                        })
                    })
                    .collect()
            })
            .await
    }
}
