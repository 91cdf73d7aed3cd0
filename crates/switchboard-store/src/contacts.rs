//! Contacts, their identities, and their timeline across every channel and case.

use crate::cases::{MESSAGE_COLS, message_from_row};
use crate::journal::bad;
use crate::sql::{Conn, Row};
use crate::{Contact, Identity, Message, Page, Store, StoreError, params};
use switchboard_core::*;

fn identities(c: &mut dyn Conn, id: ContactId) -> Result<Vec<Identity>, StoreError> {
    c.query(
        "SELECT channel_id, channel_kind, external_id, name, handle FROM identities WHERE contact_id = $1 ORDER BY created_at",
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
        })
    })
    .collect()
}

fn contact_from_row(c: &mut dyn Conn, r: &Row) -> Result<Contact, StoreError> {
    let id = ContactId::parse(&r.text(0)?).map_err(bad)?;
    Ok(Contact {
        id,
        display_name: r.opt_text(1)?,
        created_at: Timestamp::from_unix_micros(r.int(2)?),
        tags: crate::directory::json_list(&r.text(3)?)?,
        identities: identities(c, id)?,
    })
}

impl Store {
    /// Contacts, newest first.
    pub async fn list_contacts(
        &self,
        cursor: Option<ContactId>,
        limit: i64,
    ) -> Result<Page<Contact>, StoreError> {
        self.pool
            .read(move |c| {
                let cursor = cursor.map(|c| c.to_string()).unwrap_or_else(|| "ffffffff-ffff-ffff-ffff-ffffffffffff".into());
                let rows = c.query(
                    "SELECT id, display_name, created_at, tags FROM contacts WHERE id < $1 ORDER BY id DESC LIMIT $2",
                    params![cursor, limit + 1],
                )?;
                let items = rows.iter().map(|r| contact_from_row(c, r)).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetch(items, limit, |c| c.id.to_string()))
            })
            .await
    }

    pub async fn contact(&self, id: ContactId) -> Result<Contact, StoreError> {
        self.pool
            .read(move |c| {
                let r = c.query_one(
                    "SELECT id, display_name, created_at, tags FROM contacts WHERE id = $1",
                    params![id.to_string()],
                )?;
                contact_from_row(c, &r)
            })
            .await
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
                        "SELECT {cols} FROM messages m JOIN cases k ON k.id = m.case_id \
                         WHERE (k.contact_id = $1 OR m.contact_id = $1) AND m.id > $2 ORDER BY m.id LIMIT $3"
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

impl Store {
    /// Replaces a contact's tags (`vip`, `enterprise`…), which the playbook can route on.
    pub async fn set_contact_tags(
        &self,
        id: ContactId,
        tags: Vec<Tag>,
        actor: crate::Actor,
        now: Timestamp,
    ) -> Result<Contact, StoreError> {
        self.pool
            .write(move |c| {
                let mut list: Vec<&str> = Vec::new();
                for t in &tags {
                    if !list.contains(&t.as_str()) {
                        list.push(t.as_str());
                    }
                }
                let n = c.execute(
                    "UPDATE contacts SET tags = $1 WHERE id = $2",
                    params![
                        serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()),
                        id.to_string()
                    ],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                crate::journal::audit(
                    c,
                    &actor,
                    "contact.tags",
                    ("contact", id.to_string()),
                    serde_json::json!({"tags": list}),
                    now,
                )?;
                let r = c.query_one(
                    "SELECT id, display_name, created_at, tags FROM contacts WHERE id = $1",
                    params![id.to_string()],
                )?;
                contact_from_row(c, &r)
            })
            .await
    }
}
