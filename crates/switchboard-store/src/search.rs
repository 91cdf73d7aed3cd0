//! Full-text search over messages: SQLite's FTS5 (BM25 ranking) or PostgreSQL's text search
//! (`ts_rank_cd`), both kept in step with the messages in the same transaction.

use crate::cases::{MESSAGE_COLS, message_from_row};
use crate::sql::{Backend, Conn, Value};
use crate::{Message, Store, StoreError};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use switchboard_core::search::{
    MARK_END, MARK_START, Query, best_correction, max_typos, vocabulary,
};
use switchboard_core::{ChannelId, Direction, TeamId, Timestamp};

/// What to search within.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub channel: Option<ChannelId>,
    pub team: Option<TeamId>,
    pub purpose: Option<String>,
    pub direction: Option<Direction>,
    /// What the understanding step read in the message: `negative`, `neutral`, `positive`.
    pub sentiment: Option<String>,
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

/// The most words [`KnownWords`] holds before it starts afresh.
const KNOWN_WORDS_MAX: usize = 1_000_000;

/// Words already in `search_words`: most words of a new message are, and writing them again
/// costs the ingest a lookup each.
#[derive(Default)]
pub(crate) struct KnownWords(Mutex<HashSet<String>>);

impl KnownWords {
    /// The vocabulary words of `texts` not known to be stored, sorted.
    pub(crate) fn unknown<'a>(&self, texts: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        for t in texts {
            all.extend(vocabulary(t));
        }
        let known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|w| !known.contains(w));
        all
    }

    /// `words` are committed in `search_words`.
    pub(crate) fn add(&self, words: BTreeSet<String>) {
        let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() + words.len() > KNOWN_WORDS_MAX {
            known.clear();
        }
        known.extend(words);
    }
}

/// Adds `words` to the vocabulary, in sorted order. Only ingest calls it, once per batch, last
/// in its transaction: two PostgreSQL lanes adding the same new words then wait for each other
/// in one order, never in a cycle. (Replies and notes do not add words: the main writer
/// commits many jobs in one transaction, whose words would not be in one order. Customers'
/// words are what people search for; the migration took every stored message's.)
pub(crate) fn remember_words(c: &mut dyn Conn, words: &BTreeSet<String>) -> Result<(), StoreError> {
    let words: Vec<&String> = words.iter().collect();
    for chunk in words.chunks(200) {
        let values: Vec<String> = (1..=chunk.len()).map(|i| format!("(${i})")).collect();
        let args: Vec<Value> = chunk.iter().map(|w| Value::Text((*w).clone())).collect();
        c.execute(
            &format!(
                "INSERT INTO search_words (word) VALUES {} ON CONFLICT DO NOTHING",
                values.join(", ")
            ),
            &args,
        )?;
    }
    Ok(())
}

impl Store {
    /// `query` with each word that no stored message contains replaced by the closest word
    /// one does (see [`switchboard_core::search`]); `None` when there is nothing to correct.
    pub async fn correct_query(&self, query: &Query) -> Result<Option<Query>, StoreError> {
        let words = query.checkable_words();
        let q = query.clone();
        self.pool
            .read(move |c| {
                let mut fixes = HashMap::new();
                for w in words {
                    if c.query_opt(
                        "SELECT 1 FROM search_words WHERE word = $1",
                        &[Value::Text(w.clone())],
                    )?
                    .is_some()
                    {
                        continue;
                    }
                    let Some(first) = w.chars().next() else {
                        continue;
                    };
                    let Some(next) = char::from_u32(first as u32 + 1) else {
                        continue;
                    };
                    let n = w.chars().count() as i64;
                    let slack = max_typos(&w) as i64;
                    let candidates: Vec<String> = c
                        .query(
                            "SELECT word FROM search_words WHERE word >= $1 AND word < $2 \
                             AND length(word) BETWEEN $3 AND $4 ORDER BY word LIMIT 50000",
                            &[
                                Value::Text(first.to_string()),
                                Value::Text(next.to_string()),
                                Value::Int(n - slack),
                                Value::Int(n + slack),
                            ],
                        )?
                        .iter()
                        .map(|r| r.text(0))
                        .collect::<Result<_, _>>()?;
                    if let Some(fix) = best_correction(&w, candidates.iter().map(String::as_str)) {
                        fixes.insert(w, fix);
                    }
                }
                Ok((!fixes.is_empty()).then(|| q.corrected(&fixes)))
            })
            .await
    }

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
                if let Some(s) = &filter.sentiment {
                    // The same JSON operators on both (SQLite 3.38 and later).
                    add(
                        "m.understanding -> 'sentiment' ->> 'label' =",
                        Value::Text(s.clone()),
                    );
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
