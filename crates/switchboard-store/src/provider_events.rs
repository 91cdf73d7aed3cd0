//! What providers report besides customer messages: echoes of the account's own sends,
//! edits, deletes, reactions, and delivery receipts. Each is applied in the ingest
//! transaction; each is idempotent, so a repeated webhook changes nothing the second time.
//! An event about a message Switchboard does not have is counted as ignored (a receipt is
//! kept until the send it reports on is recorded).

use crate::cases::{case_by_id, json_list, message_by_id};
use crate::journal::{PendingEvent, audit, bad};
use crate::sql::Conn;
use crate::{Actor, IngestItem, IngestReport, MessageReaction, StoreError, params};
use serde_json::json;
use switchboard_core::*;

/// How far an outbound message got; a receipt only ever moves it forward.
fn rank(state: &str) -> i32 {
    match state {
        "queued" | "sending" => 0,
        "sent" => 1,
        "delivered" => 2,
        "read" => 3,
        _ => 4, // failed, rejected, anything final: never moved by a receipt
    }
}

/// How long an unmatched echo may take to find the reply it repeats (by text).
const ECHO_MATCH_MICROS: i64 = 10 * 60 * 1_000_000;

pub(crate) fn ingest_event(
    c: &mut dyn Conn,
    item: &IngestItem,
    event: &ChannelEvent,
    now: Timestamp,
    report: &mut IngestReport,
    events: &mut Vec<PendingEvent>,
) -> Result<(), StoreError> {
    let channel = item.channel_id.to_string();
    let applied = match event {
        ChannelEvent::Message(_) => {
            return Err(StoreError::Invalid(
                "a customer message is not a provider event".into(),
            ));
        }
        ChannelEvent::Echo(echo) => echo_event(c, item, echo, now, events)?,
        ChannelEvent::Edited {
            external_id,
            text,
            at,
        } => {
            let Some(id) = inbound_id(c, &channel, external_id)? else {
                report.ignored += 1;
                return Ok(());
            };
            let n = c.execute(
                "UPDATE messages SET original_text = COALESCE(original_text, text), text = $1, edited_at = $2, updated_at = $3 \
                 WHERE id = $4 AND text <> $1",
                params![
                    text.as_str(),
                    at.unwrap_or(now).as_unix_micros(),
                    now.as_unix_micros(),
                    id.to_string()
                ],
            )?;
            n > 0 && updated(c, id, now, events)?
        }
        ChannelEvent::Deleted { external_id, at } => {
            let Some(id) = inbound_id(c, &channel, external_id)? else {
                report.ignored += 1;
                return Ok(());
            };
            let n = c.execute(
                "UPDATE messages SET deleted_at = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL",
                params![at.unwrap_or(now).as_unix_micros(), now.as_unix_micros(), id.to_string()],
            )?;
            n > 0 && updated(c, id, now, events)?
        }
        ChannelEvent::Reaction(r) => reaction(c, &channel, r, now, events)?,
        ChannelEvent::Receipt(r) => apply_receipt(
            c,
            &channel,
            &r.external_id,
            r.state,
            r.error.as_deref(),
            r.at.unwrap_or(now),
            now,
            Some(events),
        )?,
        ChannelEvent::ReadUpTo { thread, up_to } => {
            // Our messages on the thread, and the private replies (kept on the public comment's
            // conversation) to the person whose private thread this is: they read those here.
            let rows = c.query(
                "SELECT m.id FROM messages m JOIN conversations v ON v.id = m.conversation_id \
                 WHERE v.channel_id = $1 AND m.direction = 'outbound' \
                 AND m.delivery_state IN ('sent', 'delivered') AND m.sent_at <= $3 \
                 AND (v.thread = $2 OR (m.private_reply = $4 AND v.contact_id IN \
                      (SELECT d.contact_id FROM conversations d WHERE d.channel_id = $1 AND d.thread = $2 AND d.public = $5)))",
                params![channel.as_str(), thread.as_str(), up_to.as_unix_micros(), true, false],
            )?;
            for r in &rows {
                let id = MessageId::parse(&r.text(0)?).map_err(bad)?;
                c.execute(
                    "UPDATE messages SET delivery_state = 'read', updated_at = $1 WHERE id = $2",
                    params![now.as_unix_micros(), id.to_string()],
                )?;
                updated(c, id, now, events)?;
            }
            !rows.is_empty()
        }
        ChannelEvent::Ignored { .. } | ChannelEvent::Malformed { .. } => false,
    };
    if applied {
        report.updates += 1;
    } else {
        report.ignored += 1;
    }
    Ok(())
}

fn inbound_id(
    c: &mut dyn Conn,
    channel: &str,
    external_id: &str,
) -> Result<Option<MessageId>, StoreError> {
    c.query_opt(
        "SELECT id FROM messages WHERE channel_id = $1 AND external_id = $2",
        params![channel, external_id],
    )?
    .map(|r| MessageId::parse(&r.text(0)?).map_err(bad))
    .transpose()
}

fn updated(
    c: &mut dyn Conn,
    id: MessageId,
    now: Timestamp,
    events: &mut Vec<PendingEvent>,
) -> Result<bool, StoreError> {
    crate::chat::number_if_visible(c, id)?;
    let message = message_by_id(c, id)?;
    events.push(PendingEvent {
        kind: "message.updated",
        case_id: Some(message.case_id),
        data: json!({ "message": message }),
        at: now,
    });
    Ok(true)
}

fn reaction(
    c: &mut dyn Conn,
    channel: &str,
    r: &Reaction,
    now: Timestamp,
    events: &mut Vec<PendingEvent>,
) -> Result<bool, StoreError> {
    let Some(row) = c.query_opt(
        "SELECT id, reactions FROM messages WHERE channel_id = $1 AND external_id = $2",
        params![channel, r.target.as_str()],
    )?
    else {
        return Ok(false);
    };
    let id = MessageId::parse(&row.text(0)?).map_err(bad)?;
    let before: Vec<MessageReaction> = json_list(row.opt_text(1)?, "reactions")?;
    let mut after: Vec<MessageReaction> = before
        .iter()
        .filter(|x| x.author_id != r.author.external_id)
        .cloned()
        .collect();
    if let Some(emoji) = &r.emoji {
        after.push(MessageReaction {
            author_id: r.author.external_id.clone(),
            name: r.author.name.clone().or_else(|| r.author.handle.clone()),
            emoji: emoji.clone(),
        });
    }
    if after == before {
        return Ok(false);
    }
    let stored =
        (!after.is_empty()).then(|| serde_json::to_string(&after).unwrap_or_else(|_| "[]".into()));
    c.execute(
        "UPDATE messages SET reactions = $1, updated_at = $2 WHERE id = $3",
        params![stored, now.as_unix_micros(), id.to_string()],
    )?;
    updated(c, id, now, events)
}

/// Moves an outbound message forward by a provider's receipt. A receipt for a message not
/// (yet) known is kept in `early_receipts` and applied when the send is recorded; returns
/// whether a message changed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_receipt(
    c: &mut dyn Conn,
    channel: &str,
    external_id: &str,
    state: DeliveryState,
    error: Option<&str>,
    at: Timestamp,
    now: Timestamp,
    events: Option<&mut Vec<PendingEvent>>,
) -> Result<bool, StoreError> {
    if !matches!(
        state,
        DeliveryState::Sent
            | DeliveryState::Delivered
            | DeliveryState::Read
            | DeliveryState::Failed
    ) {
        return Ok(false);
    }
    let Some(row) = c.query_opt(
        "SELECT id, delivery_state, case_id FROM messages WHERE channel_id = $1 AND external_id = $2 AND direction = 'outbound'",
        params![channel, external_id],
    )?
    else {
        c.execute(
            "INSERT INTO early_receipts (channel_id, external_id, state, error, at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
            params![channel, external_id, state.as_str(), error, at.as_unix_micros()],
        )?;
        return Ok(false);
    };
    let id = MessageId::parse(&row.text(0)?).map_err(bad)?;
    let old = row.text(1)?;
    let moves = match state {
        DeliveryState::Failed => rank(&old) <= 1,
        s => rank(s.as_str()) > rank(&old),
    };
    if !moves {
        return Ok(false);
    }
    c.execute(
        "UPDATE messages SET delivery_state = $1, delivery_error = COALESCE($2, delivery_error), next_attempt_at = NULL, \
         updated_at = $3 WHERE id = $4",
        params![state.as_str(), error, now.as_unix_micros(), id.to_string()],
    )?;
    crate::chat::number_if_visible(c, id)?;
    if state == DeliveryState::Failed {
        audit(
            c,
            &Actor::System,
            "message.failed",
            ("message", id.to_string()),
            json!({"case_id": row.text(2)?, "error": error, "reported_by": "provider"}),
            now,
        )?;
    }
    if let Some(events) = events {
        updated(c, id, now, events)?;
    }
    Ok(true)
}

/// Records the provider's id for a sent message (unless an echo already stored that id on
/// another row) and applies the receipts that arrived before it.
pub(crate) fn record_provider_id(
    c: &mut dyn Conn,
    id: MessageId,
    provider_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let message = message_by_id(c, id)?;
    let channel = message.channel_id.to_string();
    let taken = c
        .query_opt(
            "SELECT id FROM messages WHERE channel_id = $1 AND external_id = $2",
            params![channel.as_str(), provider_id],
        )?
        .is_some();
    if taken {
        return Ok(());
    }
    c.execute(
        "UPDATE messages SET external_id = $1 WHERE id = $2",
        params![provider_id, id.to_string()],
    )?;
    let early = c.query(
        "SELECT state, error, at FROM early_receipts WHERE channel_id = $1 AND external_id = $2",
        params![channel.as_str(), provider_id],
    )?;
    let mut receipts = Vec::with_capacity(early.len());
    for r in &early {
        let state = DeliveryState::parse(&r.text(0)?).map_err(bad)?;
        receipts.push((
            state,
            r.opt_text(1)?,
            Timestamp::from_unix_micros(r.int(2)?),
        ));
    }
    // In the order they happened on the provider's side: sent, delivered, read.
    receipts.sort_by_key(|(s, _, _)| rank(s.as_str()));
    for (state, error, at) in receipts {
        apply_receipt(
            c,
            &channel,
            provider_id,
            state,
            error.as_deref(),
            at,
            now,
            None,
        )?;
    }
    c.execute(
        "DELETE FROM early_receipts WHERE channel_id = $1 AND external_id = $2",
        params![channel.as_str(), provider_id],
    )?;
    Ok(())
}

/// The conversation an event belongs to: the one holding the message it answers, else the
/// channel's thread.
/// The thread prefix that names a conversation by its id.
pub const EXPLICIT_CONVERSATION: &str = "conversation:";

pub(crate) fn conversation_for(
    c: &mut dyn Conn,
    channel: &str,
    reply_to: Option<&str>,
    thread: &str,
) -> Result<Option<(ConversationId, bool)>, StoreError> {
    if let Some(parent) = reply_to
        && let Some(r) = c.query_opt(
            "SELECT v.id, v.public FROM messages m JOIN conversations v ON v.id = m.conversation_id \
             WHERE m.channel_id = $1 AND m.external_id = $2",
            params![channel, parent],
        )?
    {
        return Ok(Some((
            ConversationId::parse(&r.text(0)?).map_err(bad)?,
            r.bool(1)?,
        )));
    }
    // `conversation:<id>` names one of the channel's conversations itself (an e-mail sent to
    // a per-conversation reply address), or a web chat's whose visitor is answered by mail.
    if let Some(id) = thread
        .strip_prefix(EXPLICIT_CONVERSATION)
        .and_then(|t| uuid::Uuid::parse_str(t).ok())
        && let Some(r) = c.query_opt(
            "SELECT v.id, v.public FROM conversations v JOIN channels ch ON ch.id = v.channel_id \
             WHERE v.id = $2 AND (v.channel_id = $1 OR ch.kind = 'webchat')",
            params![channel, id.to_string()],
        )?
    {
        return Ok(Some((
            ConversationId::parse(&r.text(0)?).map_err(bad)?,
            r.bool(1)?,
        )));
    }
    c.query_opt(
        "SELECT id, public FROM conversations WHERE channel_id = $1 AND thread = $2",
        params![channel, thread],
    )?
    .map(|r| Ok((ConversationId::parse(&r.text(0)?).map_err(bad)?, r.bool(1)?)))
    .transpose()
}

/// An echo of the account's own send: matched to the Switchboard reply it repeats (by the id
/// the provider handed back, by its provider id, or by text on the same conversation within
/// ten minutes), else stored as the brand's reply, sent from the provider's own app. It
/// counts as a response: the case's first response time is set and its status moves as for
/// an agent's reply. An echo on a conversation Switchboard does not have is ignored.
fn echo_event(
    c: &mut dyn Conn,
    item: &IngestItem,
    echo: &EchoMessage,
    now: Timestamp,
    events: &mut Vec<PendingEvent>,
) -> Result<bool, StoreError> {
    let channel = item.channel_id.to_string();
    if echo.text.contains('\0') || echo.external_id.contains('\0') {
        return Err(StoreError::Invalid(
            "the message contains a NUL character".into(),
        ));
    }
    if inbound_id(c, &channel, &echo.external_id)?.is_some() {
        return Ok(false);
    }
    if let Some(ours) = echo.ours.as_deref().and_then(|o| MessageId::parse(o).ok())
        && c.query_opt(
            "SELECT 1 FROM messages WHERE id = $1 AND channel_id = $2",
            params![ours.to_string(), channel.as_str()],
        )?
        .is_some()
    {
        c.execute(
            "UPDATE messages SET external_id = $1 WHERE id = $2 AND external_id IS NULL",
            params![echo.external_id.as_str(), ours.to_string()],
        )?;
        return Ok(true);
    }
    let Some((conversation, _)) =
        conversation_for(c, &channel, echo.reply_to.as_deref(), &echo.thread)?
    else {
        return Ok(false);
    };
    if !echo.other_app
        && let Some(r) = c.query_opt(
            "SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'outbound' AND external_id IS NULL \
             AND text = $2 AND created_at >= $3 ORDER BY created_at, id LIMIT 1",
            params![
                conversation.to_string(),
                echo.text.as_str(),
                now.as_unix_micros() - ECHO_MATCH_MICROS
            ],
        )?
    {
        c.execute(
            "UPDATE messages SET external_id = $1 WHERE id = $2",
            params![echo.external_id.as_str(), r.text(0)?],
        )?;
        return Ok(true);
    }
    // The brand answered from the provider's own app: its reply belongs on the case.
    let Some(row) = c.query_opt(
        "SELECT id, merged_into FROM cases WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1",
        params![conversation.to_string()],
    )?
    else {
        return Ok(false);
    };
    let mut case_id = CaseId::parse(&row.text(0)?).map_err(bad)?;
    let mut merged = row.opt_text(1)?;
    for _ in 0..8 {
        let Some(target) = merged else { break };
        case_id = CaseId::parse(&target).map_err(bad)?;
        merged = c
            .query_one(
                "SELECT merged_into FROM cases WHERE id = $1",
                params![target],
            )?
            .opt_text(0)?;
    }
    let case = case_by_id(c, case_id)?;
    let sent_at = echo.sent_at.unwrap_or(item.received_at);
    let id = MessageId::new_at(now);
    let in_reply_to = match echo.reply_to.as_deref() {
        Some(parent) => inbound_id(c, &channel, parent)?.map(|m| m.to_string()),
        None => None,
    };
    let name = format!("{} (sent outside Switchboard)", item.channel_kind);
    c.execute(
        "INSERT INTO messages (id, case_id, conversation_id, channel_id, direction, external_id, author_name, text, sent_at, \
         created_at, delivery_state, attempts, in_reply_to, updated_at, author_kind, attachments, reply_to_external) \
         VALUES ($1, $2, $3, $4, 'outbound', $5, $6, $7, $8, $9, 'delivered', 0, $10, $9, 'channel', $11, $12)",
        params![
            id.to_string(),
            case_id.to_string(),
            conversation.to_string(),
            channel.as_str(),
            echo.external_id.as_str(),
            name,
            echo.text.as_str(),
            sent_at.as_unix_micros(),
            now.as_unix_micros(),
            in_reply_to,
            (!echo.attachments.is_empty())
                .then(|| serde_json::to_string(&echo.attachments).unwrap_or_default()),
            echo.reply_to.clone()
        ],
    )?;
    crate::chat::number_if_visible(c, id)?;
    if case.status != CaseStatus::Closed {
        let status = case.status.on_agent_reply();
        c.execute(
            "UPDATE cases SET status = $1, first_response_at = COALESCE(first_response_at, $2), updated_at = $3, sla_check_at = $3 \
             WHERE id = $4",
            params![status.as_str(), sent_at.as_unix_micros(), now.as_unix_micros(), case_id.to_string()],
        )?;
        let case = case_by_id(c, case_id)?;
        events.push(PendingEvent {
            kind: "case.updated",
            case_id: Some(case_id),
            data: json!({ "case": case }),
            at: now,
        });
    }
    audit(
        c,
        &Actor::System,
        "message.echo_stored",
        ("case", case_id.to_string()),
        json!({"message_id": id, "external_id": echo.external_id}),
        now,
    )?;
    let message = message_by_id(c, id)?;
    events.push(PendingEvent {
        kind: "message.created",
        case_id: Some(case_id),
        data: json!({ "message": message }),
        at: now,
    });
    Ok(true)
}
