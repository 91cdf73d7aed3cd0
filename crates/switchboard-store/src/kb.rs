//! The knowledge base: articles and canned responses stored as checked JSON documents, each
//! change a new version kept in `kb_revisions`, imports all or nothing.

use crate::journal::audit;
use crate::sql::{Conn, Row};
use crate::{Actor, Store, StoreError, params};
use serde::Serialize;
use serde_json::{Value, json};
use switchboard_core::Timestamp;

/// An article or a canned response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KbKind {
    Article,
    Canned,
}

impl KbKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KbKind::Article => "article",
            KbKind::Canned => "canned",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "article" => Ok(KbKind::Article),
            "canned" => Ok(KbKind::Canned),
            other => Err(StoreError::Backend(format!(
                "unknown knowledge-base kind {other:?}"
            ))),
        }
    }
}

/// One stored entry: its document as the latest version has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbItem {
    pub id: String,
    pub kind: KbKind,
    pub data: Value,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
}

/// One version of an entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbRevision {
    pub version: i64,
    pub data: Value,
    pub by: String,
    pub at: Timestamp,
}

const COLS: &str = "id, kind, data, version, created_at, updated_at, archived_at";

fn json_doc(s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Backend(format!("a stored knowledge-base entry is not JSON: {e}")))
}

fn item_from_row(r: &Row) -> Result<KbItem, StoreError> {
    Ok(KbItem {
        id: r.text(0)?,
        kind: KbKind::parse(&r.text(1)?)?,
        data: json_doc(&r.text(2)?)?,
        version: r.int(3)?,
        created_at: Timestamp::from_unix_micros(r.int(4)?),
        updated_at: Timestamp::from_unix_micros(r.int(5)?),
        archived_at: r.opt_int(6)?.map(Timestamp::from_unix_micros),
    })
}

fn get(c: &mut dyn Conn, id: &str) -> Result<KbItem, StoreError> {
    c.query_opt(
        &format!("SELECT {COLS} FROM kb_items WHERE id = $1"),
        params![id],
    )?
    .map(|r| item_from_row(&r))
    .transpose()?
    .ok_or(StoreError::NotFound)
}

/// Archives an entry (`archived`) or brings it back, audited; a no-op when it already is so.
fn set_archived(
    c: &mut dyn Conn,
    id: &str,
    kind: KbKind,
    archived: bool,
    actor: &Actor,
    now: Timestamp,
) -> Result<KbItem, StoreError> {
    let item = get_kind(c, id, kind)?;
    if item.archived_at.is_some() != archived {
        c.execute(
            "UPDATE kb_items SET archived_at = $1, updated_at = $2 WHERE id = $3",
            params![
                archived.then_some(now.as_unix_micros()),
                now.as_unix_micros(),
                id
            ],
        )?;
        let action = if archived { "archived" } else { "restored" };
        audit(
            c,
            actor,
            &format!("kb.{}_{action}", kind.as_str()),
            ("kb", id.to_owned()),
            json!({"version": item.version}),
            now,
        )?;
    }
    get(c, id)
}

/// The entry with this id, if it is of `kind`.
fn get_kind(c: &mut dyn Conn, id: &str, kind: KbKind) -> Result<KbItem, StoreError> {
    let item = get(c, id)?;
    if item.kind != kind {
        return Err(StoreError::NotFound);
    }
    Ok(item)
}

fn revise(
    c: &mut dyn Conn,
    id: &str,
    version: i64,
    data: &Value,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO kb_revisions (item_id, version, data, actor_name, created_at) VALUES ($1, $2, $3, $4, $5)",
        params![id, version, data.to_string(), actor.name(), now.as_unix_micros()],
    )?;
    Ok(())
}

fn insert(
    c: &mut dyn Conn,
    kind: KbKind,
    data: &Value,
    actor: &Actor,
    now: Timestamp,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    c.execute(
        "INSERT INTO kb_items (id, kind, data, version, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $4)",
        params![id.as_str(), kind.as_str(), data.to_string(), now.as_unix_micros()],
    )?;
    revise(c, &id, 1, data, actor, now)?;
    audit(
        c,
        actor,
        &format!("kb.{}_created", kind.as_str()),
        ("kb", id.clone()),
        json!({"version": 1}),
        now,
    )?;
    Ok(id)
}

impl Store {
    /// Stores a new entry (its document already checked).
    pub async fn create_kb(
        &self,
        kind: KbKind,
        data: Value,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbItem, StoreError> {
        self.pool
            .write(move |c| {
                let id = insert(c, kind, &data, &actor, now)?;
                get(c, &id)
            })
            .await
    }

    /// The entries of `items` not already stored word for word (the same kind and document)
    /// among those not archived, nor earlier in `items`, and how many were left out: an export
    /// imported again adds nothing.
    pub async fn without_stored_kb(
        &self,
        items: Vec<(KbKind, Value)>,
    ) -> Result<(Vec<(KbKind, Value)>, usize), StoreError> {
        let key = |kind: KbKind, data: &Value| format!("{}\t{data}", kind.as_str());
        let mut stored = std::collections::HashSet::new();
        for kind in [KbKind::Article, KbKind::Canned] {
            for item in self.kb_items(kind, false).await? {
                stored.insert(key(kind, &item.data));
            }
        }
        let before = items.len();
        let items: Vec<(KbKind, Value)> = items
            .into_iter()
            .filter(|(kind, data)| stored.insert(key(*kind, data)))
            .collect();
        let skipped = before - items.len();
        Ok((items, skipped))
    }

    /// Stores many entries at once: all of them, or (on any error) none.
    pub async fn import_kb(
        &self,
        items: Vec<(KbKind, Value)>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        self.pool
            .write(move |c| {
                items
                    .iter()
                    .map(|(kind, data)| insert(c, *kind, data, &actor, now))
                    .collect()
            })
            .await
    }

    /// Replaces an entry's document, as a new version. With `expected`, refuses (conflict)
    /// when someone saved another version in between. Archived entries cannot change.
    pub async fn update_kb(
        &self,
        id: String,
        kind: KbKind,
        data: Value,
        expected: Option<i64>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbItem, StoreError> {
        self.pool
            .write(move |c| {
                let item = get_kind(c, &id, kind)?;
                if item.archived_at.is_some() {
                    return Err(StoreError::Invalid("the entry is archived".into()));
                }
                if let Some(v) = expected.filter(|v| *v != item.version) {
                    // Who saved in between, so the person knows whom to ask.
                    let by = c
                        .query_opt(
                            "SELECT actor_name FROM kb_revisions WHERE item_id = $1 AND version = $2",
                            params![id.as_str(), item.version],
                        )?
                        .map(|r| r.text(0))
                        .transpose()?
                        .unwrap_or_else(|| "someone".into());
                    return Err(StoreError::Conflict(format!(
                        "{by} saved this entry after you opened it (it is at version {}, you \
                         edited version {v}); nothing was saved: copy your text, reload to see \
                         theirs, and edit again",
                        item.version,
                    )));
                }
                let version = item.version + 1;
                c.execute(
                    "UPDATE kb_items SET data = $1, version = $2, updated_at = $3 WHERE id = $4",
                    params![data.to_string(), version, now.as_unix_micros(), id.as_str()],
                )?;
                revise(c, &id, version, &data, &actor, now)?;
                audit(
                    c,
                    &actor,
                    &format!("kb.{}_updated", kind.as_str()),
                    ("kb", id.clone()),
                    json!({"version": version}),
                    now,
                )?;
                get(c, &id)
            })
            .await
    }

    /// Archives an entry (`archived`: it stays, with its history, but is no longer listed or
    /// suggested) or brings it back as it was; a no-op when it already is so.
    pub async fn set_kb_archived(
        &self,
        id: String,
        kind: KbKind,
        archived: bool,
        actor: Actor,
        now: Timestamp,
    ) -> Result<KbItem, StoreError> {
        self.pool
            .write(move |c| set_archived(c, &id, kind, archived, &actor, now))
            .await
    }

    /// One entry of a kind.
    pub async fn kb_item(&self, id: String, kind: KbKind) -> Result<KbItem, StoreError> {
        self.pool
            .read(move |c| {
                let item = get_kind(c, &id, kind)?;
                Ok(item)
            })
            .await
    }

    /// Every entry of a kind, oldest first (archived ones only when asked).
    pub async fn kb_items(&self, kind: KbKind, archived: bool) -> Result<Vec<KbItem>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    &format!(
                        "SELECT {COLS} FROM kb_items WHERE kind = $1 AND ($2 OR archived_at IS NULL) ORDER BY created_at, id"
                    ),
                    params![kind.as_str(), archived],
                )?
                .iter()
                .map(item_from_row)
                .collect()
            })
            .await
    }

    /// An entry's versions, newest first.
    pub async fn kb_revisions(
        &self,
        id: String,
        kind: KbKind,
    ) -> Result<Vec<KbRevision>, StoreError> {
        self.pool
            .read(move |c| {
                get_kind(c, &id, kind)?;
                c.query(
                    "SELECT version, data, actor_name, created_at FROM kb_revisions WHERE item_id = $1 ORDER BY version DESC",
                    params![id.as_str()],
                )?
                .iter()
                .map(|r| {
                    Ok(KbRevision {
                        version: r.int(0)?,
                        data: json_doc(&r.text(1)?)?,
                        by: r.text(2)?,
                        at: Timestamp::from_unix_micros(r.int(3)?),
                    })
                })
                .collect()
            })
            .await
    }
}

/// A customer's question, for finding what the knowledge base does not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub message_id: switchboard_core::MessageId,
    pub case_id: switchboard_core::CaseId,
    pub text: String,
    /// The intent it was understood as, if the workspace has an intent model.
    pub intent: Option<(String, f32)>,
    pub language: Option<String>,
    /// The first customer message of its case (not a follow-up).
    pub opens_case: bool,
}

impl Store {
    /// The newest customer messages since `since` (on cases of `purpose`, if given), at most
    /// `limit`.
    pub async fn questions_since(
        &self,
        purpose: Option<String>,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<Question>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    "SELECT m.id, m.case_id, m.text, m.understanding, NOT EXISTS (SELECT 1 FROM messages e \
                       WHERE e.case_id = m.case_id AND e.direction = 'inbound' \
                       AND (e.created_at < m.created_at OR (e.created_at = m.created_at AND e.id < m.id))) \
                     FROM messages m JOIN cases k ON k.id = m.case_id \
                     WHERE m.direction = 'inbound' AND m.created_at >= $1 AND ($2 OR k.purpose = $3) \
                     ORDER BY m.created_at DESC LIMIT $4",
                    params![since.as_unix_micros(), purpose.is_none(), purpose.clone().unwrap_or_default(), limit],
                )?
                .iter()
                .map(|r| {
                    let understood: Option<switchboard_core::Understood> = r
                        .opt_text(3)?
                        .and_then(|s| serde_json::from_str(&s).ok());
                    Ok(Question {
                        message_id: switchboard_core::MessageId::parse(&r.text(0)?)
                            .map_err(crate::journal::bad)?,
                        case_id: switchboard_core::CaseId::parse(&r.text(1)?)
                            .map_err(crate::journal::bad)?,
                        text: r.text(2)?,
                        intent: understood
                            .as_ref()
                            .and_then(|u| u.intent.as_ref())
                            .map(|i| (i.label.clone(), i.confidence)),
                        language: understood.and_then(|u| u.language),
                        opens_case: r.bool(4)?,
                    })
                })
                .collect()
            })
            .await
    }

    /// One message by id.
    pub async fn message(
        &self,
        id: switchboard_core::MessageId,
    ) -> Result<crate::Message, StoreError> {
        self.pool
            .read(move |c| crate::cases::message_by_id(c, id))
            .await
    }
}
