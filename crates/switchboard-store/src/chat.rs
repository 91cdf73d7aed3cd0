//! What the web chat needs from the store: each conversation's visible messages numbered in the
//! order the customer could first see them, visitors' uploaded files, and the e-mail addresses
//! visitors left to be answered by mail.

use crate::cases::{MESSAGE_COLS, message_from_row};
use crate::journal::bad;
use crate::sql::Conn;
use crate::{Message, Store, StoreError, params};
use switchboard_core::*;

/// The next number of a conversation's visible messages (1 for the first).
pub(crate) fn next_seq(c: &mut dyn Conn, conversation: ConversationId) -> Result<i64, StoreError> {
    c.query_one(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        params![conversation.to_string()],
    )?
    .int(0)
}

/// Numbers a message once the customer can see it (their own, or a reply that went out); a
/// message keeps the number it was given first. Notes and replies not sent yet get none.
pub(crate) fn number_if_visible(c: &mut dyn Conn, id: MessageId) -> Result<(), StoreError> {
    let Some(r) = c.query_opt(
        "SELECT conversation_id, direction, delivery_state, seq FROM messages WHERE id = $1",
        params![id.to_string()],
    )?
    else {
        return Ok(());
    };
    if r.opt_int(3)?.is_some() {
        return Ok(());
    }
    let visible = match r.text(1)?.as_str() {
        "inbound" => true,
        "outbound" => matches!(r.text(2)?.as_str(), "sent" | "delivered" | "read"),
        _ => false,
    };
    if visible {
        let conversation = ConversationId::parse(&r.text(0)?).map_err(bad)?;
        let seq = next_seq(c, conversation)?;
        c.execute(
            "UPDATE messages SET seq = $1 WHERE id = $2",
            params![seq, id.to_string()],
        )?;
    }
    Ok(())
}

/// A chat conversation's visible messages after a point, and its last number.
#[derive(Debug, Clone, Default)]
pub struct ChatLog {
    /// `None` until the visitor's first message is stored.
    pub conversation: Option<ConversationId>,
    pub messages: Vec<Message>,
    pub last_seq: i64,
}

/// A file a chat visitor uploaded.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatFile {
    pub id: uuid::Uuid,
    pub channel_id: ChannelId,
    /// `visitor:<id>` or `user:<identifier>`: only they may send it in a message.
    pub visitor: String,
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub body: Vec<u8>,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for ChatFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatFile")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("mime_type", &self.mime_type)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

fn file_from_row(r: &crate::sql::Row) -> Result<ChatFile, StoreError> {
    Ok(ChatFile {
        id: uuid::Uuid::parse_str(&r.text(0)?)
            .map_err(|e| StoreError::Backend(format!("a stored file id is not valid: {e}")))?,
        channel_id: ChannelId::parse(&r.text(1)?).map_err(bad)?,
        visitor: r.text(2)?,
        name: r.text(3)?,
        mime_type: r.text(4)?,
        size: r.int(5)?.max(0) as u64,
        sha256: r.text(6)?,
        body: r.blob(7)?,
        created_at: Timestamp::from_unix_micros(r.int(8)?),
    })
}

impl Store {
    /// What a chat visitor sees of their conversation (`channel`, `thread`) after message
    /// number `after`, in order: their messages and the replies that went out (not notes, not
    /// replies waiting for approval or still queued).
    pub async fn chat_log(
        &self,
        channel: ChannelId,
        thread: String,
        after: i64,
    ) -> Result<ChatLog, StoreError> {
        self.pool
            .read(move |c| {
                let Some(conv) = c.query_opt(
                    "SELECT id, last_seq FROM conversations WHERE channel_id = $1 AND thread = $2",
                    params![channel.to_string(), thread],
                )?
                else {
                    return Ok(ChatLog::default());
                };
                let conversation = ConversationId::parse(&conv.text(0)?).map_err(bad)?;
                let last_seq = conv.int(1)?;
                let messages = if last_seq <= after {
                    Vec::new()
                } else {
                    c.query(
                        &format!(
                            "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq"
                        ),
                        params![conversation.to_string(), after],
                    )?
                    .iter()
                    .map(message_from_row)
                    .collect::<Result<Vec<_>, _>>()?
                };
                Ok(ChatLog {
                    conversation: Some(conversation),
                    messages,
                    last_seq,
                })
            })
            .await
    }

    /// Keeps a file a visitor uploaded.
    pub async fn put_chat_file(&self, file: ChatFile) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                c.execute(
                    "INSERT INTO chat_files (id, channel_id, visitor, name, mime_type, size, sha256, body, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    params![
                        file.id.to_string(),
                        file.channel_id.to_string(),
                        file.visitor,
                        file.name,
                        file.mime_type,
                        file.size as i64,
                        file.sha256,
                        crate::sql::Value::Blob(file.body),
                        file.created_at.as_unix_micros()
                    ],
                )?;
                Ok(())
            })
            .await
    }

    /// A visitor's file by id.
    pub async fn chat_file(&self, id: uuid::Uuid) -> Result<Option<ChatFile>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    "SELECT id, channel_id, visitor, name, mime_type, size, sha256, body, created_at \
                     FROM chat_files WHERE id = $1",
                    params![id.to_string()],
                )?
                .map(|r| file_from_row(&r))
                .transpose()
            })
            .await
    }

    /// Bytes a visitor uploaded on a channel since `since` (their upload quota).
    pub async fn chat_upload_bytes(
        &self,
        channel: ChannelId,
        visitor: String,
        since: Timestamp,
    ) -> Result<u64, StoreError> {
        self.pool
            .read(move |c| {
                let r = c.query_one(
                    "SELECT COALESCE(SUM(size), 0) FROM chat_files WHERE channel_id = $1 AND visitor = $2 AND created_at >= $3",
                    params![channel.to_string(), visitor, since.as_unix_micros()],
                )?;
                Ok(r.int(0)?.max(0) as u64)
            })
            .await
    }

    /// Records the address a visitor wants answers mailed to while they are away (replacing
    /// one given before). Once the visitor has a contact, the address is also a (weak) key of
    /// it, so agents see it.
    pub async fn set_chat_followup(
        &self,
        channel: ChannelId,
        thread: String,
        email: String,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                c.execute(
                    "INSERT INTO chat_followups (channel_id, thread, email, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (channel_id, thread) DO UPDATE SET email = excluded.email, created_at = excluded.created_at",
                    params![channel.to_string(), thread.as_str(), email.as_str(), now.as_unix_micros()],
                )?;
                let visitor = thread.strip_prefix("chat:").unwrap_or(&thread);
                let contact = c.query_opt(
                    "SELECT contact_id FROM identities WHERE channel_id = $1 AND external_id = $2",
                    params![channel.to_string(), visitor],
                )?;
                if let (Some(r), Some(key)) = (contact, ContactKey::email(&email)) {
                    let contact = ContactId::parse(&r.text(0)?).map_err(bad)?;
                    crate::contact_keys::add(c, contact, &key, KeySource::Message, now)?;
                }
                Ok(())
            })
            .await
    }

    /// The address a visitor left on a chat conversation, if any.
    pub async fn chat_followup(
        &self,
        channel: ChannelId,
        thread: String,
    ) -> Result<Option<String>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    "SELECT email FROM chat_followups WHERE channel_id = $1 AND thread = $2",
                    params![channel.to_string(), thread],
                )?
                .map(|r| r.text(0))
                .transpose()
            })
            .await
    }
}
