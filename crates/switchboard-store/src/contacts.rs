//! Contacts, their identities, and their timeline across every channel and case.

use crate::cases::{MESSAGE_COLS, message_from_row};
use crate::journal::bad;
use crate::sql::{Conn, Row};
use crate::{Contact, Identity, Message, Page, Store, StoreError, StoredKey, params};
use switchboard_core::*;

fn identities(c: &mut dyn Conn, id: ContactId) -> Result<Vec<Identity>, StoreError> {
    c.query(
        "SELECT channel_id, channel_kind, external_id, name, handle, followers, verified FROM identities \
         WHERE contact_id = $1 ORDER BY created_at",
        params![id.to_string()],
    )?
    .iter()
    .map(|r| {
        Ok(Identity {
            channel_id: ChannelId::parse(&r.text(0)?).map_err(bad)?,
            channel_kind: r.text(1)?,
            external_id: r.text(2)?,
            name: r.opt_text(3)?,
            handle: r.opt_text(4)?,
            followers: r.opt_int(5)?.map(|f| f.max(0) as u64),
            verified: r.opt_int(6)?.map(|v| v != 0),
        })
    })
    .collect()
}

fn keys(c: &mut dyn Conn, id: ContactId) -> Result<Vec<StoredKey>, StoreError> {
    c.query(
        "SELECT kind, value, source FROM contact_keys WHERE contact_id = $1 ORDER BY created_at, kind, value",
        params![id.to_string()],
    )?
    .iter()
    .map(|r| {
        Ok(StoredKey {
            kind: KeyKind::parse(&r.text(0)?).map_err(bad)?,
            value: r.text(1)?,
            source: KeySource::parse(&r.text(2)?).map_err(bad)?,
        })
    })
    .collect()
}

const CONTACT_COLS: &str = "id, display_name, created_at, tags, merged_into";

fn contact_from_row(c: &mut dyn Conn, r: &Row) -> Result<Contact, StoreError> {
    let id = ContactId::parse(&r.text(0)?).map_err(bad)?;
    Ok(Contact {
        id,
        display_name: r.opt_text(1)?,
        created_at: Timestamp::from_unix_micros(r.int(2)?),
        tags: crate::directory::json_list(&r.text(3)?)?,
        merged_into: r
            .opt_text(4)?
            .map(|m| ContactId::parse(&m))
            .transpose()
            .map_err(bad)?,
        identities: identities(c, id)?,
        keys: keys(c, id)?,
    })
}

/// The contact with this id; [`StoreError::NotFound`] when there is none.
pub(crate) fn contact_by_id(c: &mut dyn Conn, id: ContactId) -> Result<Contact, StoreError> {
    let r = c.query_one(
        &format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1"),
        params![id.to_string()],
    )?;
    contact_from_row(c, &r)
}

impl Store {
    /// Contacts, newest first; merged records are left out.
    pub async fn list_contacts(
        &self,
        cursor: Option<ContactId>,
        limit: i64,
    ) -> Result<Page<Contact>, StoreError> {
        self.pool
            .read(move |c| {
                let cursor = cursor.map(|c| c.to_string()).unwrap_or_else(|| "ffffffff-ffff-ffff-ffff-ffffffffffff".into());
                let rows = c.query(
                    &format!(
                        "SELECT {CONTACT_COLS} FROM contacts WHERE id < $1 AND merged_into IS NULL ORDER BY id DESC LIMIT $2"
                    ),
                    params![cursor, limit + 1],
                )?;
                let items = rows.iter().map(|r| contact_from_row(c, r)).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetch(items, limit, |c| c.id.to_string()))
            })
            .await
    }

    /// One contact, also a merged one (its `merged_into` names where its records went).
    pub async fn contact(&self, id: ContactId) -> Result<Contact, StoreError> {
        self.pool.read(move |c| contact_by_id(c, id)).await
    }

    /// Everything on the contact's cases, from every channel and team, oldest first: what they
    /// wrote, what we answered, and the notes. The cursor is the last message's id.
    pub async fn contact_timeline(
        &self,
        id: ContactId,
        cursor: Option<MessageId>,
        limit: i64,
    ) -> Result<Page<Message>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_one(
                    "SELECT 1 FROM contacts WHERE id = $1",
                    params![id.to_string()],
                )?;
                let cursor = cursor
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| uuid::Uuid::nil().to_string());
                let cols = MESSAGE_COLS
                    .split(", ")
                    .map(|c| format!("m.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let rows = c.query(
                    &format!(
                        "SELECT {cols} FROM messages m WHERE m.id IN (\
                           SELECT x.id FROM messages x JOIN cases k ON k.id = x.case_id WHERE k.contact_id = $1 \
                           UNION SELECT y.id FROM messages y WHERE y.contact_id = $1) \
                         AND m.id > $2 ORDER BY m.id LIMIT $3"
                    ),
                    params![id.to_string(), cursor, limit + 1],
                )?;
                let items = rows
                    .iter()
                    .map(message_from_row)
                    .collect::<Result<Vec<Message>, _>>()?;
                Ok(Page::from_overfetch(items, limit, |m| m.id.to_string()))
            })
            .await
    }
}

/// What `PATCH /contacts/{id}` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ContactUpdate {
    /// Replaces the tags (`vip`, `enterprise`…), which the playbook can route on.
    pub tags: Option<Vec<Tag>>,
    /// Replaces the keys an agent entered (identity and message keys stay).
    pub keys: Option<Vec<ContactKey>>,
}

impl Store {
    /// Changes a contact's tags and the keys agents entered on it. A merged contact is refused
    /// ([`StoreError::Invalid`]): change the one it was merged into.
    pub async fn update_contact(
        &self,
        id: ContactId,
        update: ContactUpdate,
        actor: crate::Actor,
        now: Timestamp,
    ) -> Result<Contact, StoreError> {
        self.pool
            .write(move |c| {
                let before = contact_by_id(c, id)?;
                if let Some(into) = before.merged_into {
                    return Err(StoreError::Invalid(format!(
                        "contact {id} was merged into contact {into}; change that one"
                    )));
                }
                let mut details = serde_json::Map::new();
                if let Some(tags) = &update.tags {
                    let mut list: Vec<&str> = Vec::new();
                    for t in tags {
                        if !list.contains(&t.as_str()) {
                            list.push(t.as_str());
                        }
                    }
                    c.execute(
                        "UPDATE contacts SET tags = $1 WHERE id = $2",
                        params![
                            serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()),
                            id.to_string()
                        ],
                    )?;
                    details.insert("tags".into(), serde_json::json!(list));
                }
                if let Some(keys) = &update.keys {
                    c.execute(
                        "DELETE FROM contact_keys WHERE contact_id = $1 AND source = 'agent'",
                        params![id.to_string()],
                    )?;
                    for k in keys {
                        crate::contact_keys::add(c, id, k, KeySource::Agent, now)?;
                    }
                    details.insert("keys".into(), serde_json::json!(keys));
                }
                crate::journal::audit(
                    c,
                    &actor,
                    "contact.updated",
                    ("contact", id.to_string()),
                    serde_json::Value::Object(details),
                    now,
                )?;
                contact_by_id(c, id)
            })
            .await
    }
}

impl Store {
    /// Replaces a contact's tags; [`Store::update_contact`] with only tags.
    pub async fn set_contact_tags(
        &self,
        id: ContactId,
        tags: Vec<Tag>,
        actor: crate::Actor,
        now: Timestamp,
    ) -> Result<Contact, StoreError> {
        let update = ContactUpdate {
            tags: Some(tags),
            keys: None,
        };
        self.update_contact(id, update, actor, now).await
    }
}
