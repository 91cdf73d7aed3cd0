//! Cases and their messages: listing, reading, changing, replying, notes, and the outbox that
//! the delivery worker drains.

use crate::journal::{audit, bad, emit};
use crate::routing::ActivePlaybook;
use crate::sql::{Conn, Row, Value};
use crate::{
    Actor, Author, Case, CaseDetail, CaseFilter, CasePatch, Delivery, Event, Message, OutboundJob,
    Page, ReplyOutcome, Store, StoreError, params,
};
use serde_json::json;
use switchboard_core::guard::{self, GuardPolicy, Verdict};
use switchboard_core::*;

pub(crate) const CASE_COLS: &str = "c.id, c.status, c.purpose, c.team_id, c.assignee_id, c.priority, c.tags, c.contact_id, \
    c.conversation_id, v.channel_id, v.public, c.created_at, c.updated_at, c.first_response_at, c.resolved_at, c.reopen_count, \
    c.skills, c.approval_team_id, c.escalated, c.routing, c.merged_into, c.resolution";
pub(crate) const CASE_FROM: &str = "cases c JOIN conversations v ON v.id = c.conversation_id";

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_unix_micros)
}

pub(crate) fn case_from_row(r: &Row) -> Result<Case, StoreError> {
    Ok(Case {
        id: CaseId::parse(&r.text(0)?).map_err(bad)?,
        status: CaseStatus::parse(&r.text(1)?).map_err(bad)?,
        purpose: Purpose::parse(&r.text(2)?).map_err(bad)?,
        team: r
            .opt_text(3)?
            .map(|s| TeamId::parse(&s))
            .transpose()
            .map_err(bad)?,
        assignee: r
            .opt_text(4)?
            .map(|s| UserId::parse(&s))
            .transpose()
            .map_err(bad)?,
        priority: Priority::parse(&r.text(5)?).map_err(bad)?,
        tags: serde_json::from_str(&r.text(6)?).map_err(|e| StoreError::Backend(e.to_string()))?,
        contact_id: ContactId::parse(&r.text(7)?).map_err(bad)?,
        conversation_id: ConversationId::parse(&r.text(8)?).map_err(bad)?,
        channel_id: ChannelId::parse(&r.text(9)?).map_err(bad)?,
        public: r.bool(10)?,
        created_at: Timestamp::from_unix_micros(r.int(11)?),
        updated_at: Timestamp::from_unix_micros(r.int(12)?),
        first_response_at: ts(r.opt_int(13)?),
        resolved_at: ts(r.opt_int(14)?),
        reopen_count: r.int(15)?,
        skills: crate::directory::json_list(&r.text(16)?)?,
        approval_team: r
            .opt_text(17)?
            .map(|s| TeamId::parse(&s))
            .transpose()
            .map_err(bad)?,
        escalated: r.bool(18)?,
        routing: r
            .opt_text(19)?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| {
                StoreError::Backend(format!("a stored routing record is not JSON: {e}"))
            })?,
        merged_into: r
            .opt_text(20)?
            .map(|s| CaseId::parse(&s))
            .transpose()
            .map_err(bad)?,
        resolution: r.opt_text(21)?,
    })
}

pub(crate) const MESSAGE_COLS: &str = "id, case_id, conversation_id, channel_id, direction, external_id, contact_id, user_id, \
    author_name, text, sent_at, created_at, delivery_state, delivery_error, attempts, in_reply_to, author_kind, \
    review_team_id, reviewed_by, review_comment, suggested, understanding, attachments, reply_to_external, edited_at, \
    original_text, deleted_at, reactions, private_reply, template, seq";

pub(crate) fn message_from_row(r: &Row) -> Result<Message, StoreError> {
    let direction = Direction::parse(&r.text(4)?).map_err(bad)?;
    let kind = r.text(16)?;
    let id = match kind.as_str() {
        "contact" => r.opt_text(6)?,
        _ => r.opt_text(7)?,
    };
    let author = Author {
        kind,
        id,
        name: r.opt_text(8)?,
    };
    Ok(Message {
        id: MessageId::parse(&r.text(0)?).map_err(bad)?,
        case_id: CaseId::parse(&r.text(1)?).map_err(bad)?,
        conversation_id: ConversationId::parse(&r.text(2)?).map_err(bad)?,
        channel_id: ChannelId::parse(&r.text(3)?).map_err(bad)?,
        direction,
        external_id: r.opt_text(5)?,
        author,
        text: r.text(9)?,
        sent_at: Timestamp::from_unix_micros(r.int(10)?),
        created_at: Timestamp::from_unix_micros(r.int(11)?),
        delivery_state: DeliveryState::parse(&r.text(12)?).map_err(bad)?,
        delivery_error: r.opt_text(13)?,
        attempts: r.int(14)?,
        in_reply_to: r
            .opt_text(15)?
            .map(|s| MessageId::parse(&s))
            .transpose()
            .map_err(bad)?,
        review_team: r
            .opt_text(17)?
            .map(|s| TeamId::parse(&s))
            .transpose()
            .map_err(bad)?,
        reviewed_by: r
            .opt_text(18)?
            .map(|s| UserId::parse(&s))
            .transpose()
            .map_err(bad)?,
        review_comment: r.opt_text(19)?,
        suggested: r.bool(20)?,
        understanding: r
            .opt_text(21)?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| {
                StoreError::Backend(format!("a stored understanding is not valid: {e}"))
            })?,
        attachments: json_list(r.opt_text(22)?, "attachments")?,
        reply_to_external: r.opt_text(23)?,
        edited_at: r.opt_int(24)?.map(Timestamp::from_unix_micros),
        original_text: r.opt_text(25)?,
        deleted_at: r.opt_int(26)?.map(Timestamp::from_unix_micros),
        reactions: json_list(r.opt_text(27)?, "reactions")?,
        private_reply: r.bool(28)?,
        template: r
            .opt_text(29)?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| StoreError::Backend(format!("a stored template is not valid: {e}")))?,
        seq: r.opt_int(30)?,
    })
}

/// A JSON list column (`NULL` is the empty list).
pub(crate) fn json_list<T: serde::de::DeserializeOwned>(
    s: Option<String>,
    what: &str,
) -> Result<Vec<T>, StoreError> {
    match s {
        None => Ok(Vec::new()),
        Some(s) => serde_json::from_str(&s)
            .map_err(|e| StoreError::Backend(format!("stored {what} are not valid: {e}"))),
    }
}

pub(crate) fn case_by_id(c: &mut dyn Conn, id: CaseId) -> Result<Case, StoreError> {
    case_from_row(&c.query_one(
        &format!("SELECT {CASE_COLS} FROM {CASE_FROM} WHERE c.id = $1"),
        params![id.to_string()],
    )?)
}

pub(crate) fn message_by_id(c: &mut dyn Conn, id: MessageId) -> Result<Message, StoreError> {
    message_from_row(&c.query_one(
        &format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = $1"),
        params![id.to_string()],
    )?)
}

pub(crate) fn case_messages(c: &mut dyn Conn, id: CaseId) -> Result<Vec<Message>, StoreError> {
    c.query(
        &format!("SELECT {MESSAGE_COLS} FROM messages WHERE case_id = $1 ORDER BY created_at, id"),
        params![id.to_string()],
    )?
    .iter()
    .map(message_from_row)
    .collect()
}

/// The case as seen from one of its conversations: `conversation_id`, `channel_id` and `public`
/// are that conversation's, so the guards and approval policies apply by where a reply goes.
/// A merged case holds messages from several conversations; `conversation` must be the case's
/// own or one of its messages'.
pub(crate) fn case_on_conversation(
    c: &mut dyn Conn,
    case: &Case,
    conversation: ConversationId,
) -> Result<Case, StoreError> {
    if conversation == case.conversation_id {
        return Ok(case.clone());
    }
    let found = c.query_opt(
        "SELECT v.channel_id, v.public FROM conversations v \
         WHERE v.id = $1 AND EXISTS (SELECT 1 FROM messages m WHERE m.case_id = $2 AND m.conversation_id = v.id)",
        params![conversation.to_string(), case.id.to_string()],
    )?;
    let Some(r) = found else {
        return Err(StoreError::Invalid(format!(
            "conversation {conversation} is not one of this case's conversations"
        )));
    };
    Ok(Case {
        conversation_id: conversation,
        channel_id: ChannelId::parse(&r.text(0)?).map_err(bad)?,
        public: r.bool(1)?,
        ..case.clone()
    })
}

/// What the guards and approval policies make of a reply before it is stored.
pub(crate) struct Screened {
    pub text: String,
    /// The team whose approval the reply needs.
    pub review_team: Option<TeamId>,
    /// `redacted: …` when the guards changed the text.
    pub guard: Option<String>,
}

/// Runs a public reply through the guards (the active playbook's, else the default: personal
/// data blocks) and finds whether it needs approval.
pub(crate) fn screen(
    c: &mut dyn Conn,
    case: &Case,
    text: String,
    active: Option<&ActivePlaybook>,
    actor: &Actor,
    now: Timestamp,
) -> Result<Screened, StoreError> {
    let default = GuardPolicy::default();
    let policy = active.map_or(&default, |a| &a.playbook.guards);
    let mut out = Screened {
        text,
        review_team: case.approval_team,
        guard: None,
    };
    if case.public {
        let verdict = guard::check(&out.text, policy);
        let kinds: Vec<String> = verdict
            .findings()
            .iter()
            .map(|f| f.kind.describe())
            .collect();
        let explanation = verdict.explain();
        match verdict {
            Verdict::Pass => {}
            Verdict::Redacted { text, .. } => {
                out.guard = Some(explanation);
                audit(
                    c,
                    actor,
                    "message.redacted",
                    ("case", case.id.to_string()),
                    json!({ "found": kinds }),
                    now,
                )?;
                out.text = text;
            }
            Verdict::Blocked { findings } => {
                // What was found is named by kind and place, never repeated.
                return Err(StoreError::ReplyBlocked {
                    findings: serde_json::to_value(findings).unwrap_or_default(),
                    explanation,
                });
            }
        }
    }
    if out.review_team.is_none()
        && let Some(active) = active
        && !active.playbook.approvals.is_empty()
    {
        // The channel is the one the reply goes out on (see `case_on_conversation`).
        let r = c.query_one(
            "SELECT t.slug, ch.name FROM cases k JOIN channels ch ON ch.id = $2 \
             LEFT JOIN teams t ON t.id = k.team_id WHERE k.id = $1",
            params![case.id.to_string(), case.channel_id.to_string()],
        )?;
        let (team, channel_name) = (r.opt_text(0)?, r.text(1)?);
        let channel_id = case.channel_id.to_string();
        if let Some(policy) = active.playbook.approvals.iter().find(|p| {
            p.applies(
                team.as_deref(),
                (&channel_id, &channel_name),
                &case.purpose,
                case.public,
            )
        }) {
            out.review_team = c
                .query_opt(
                    "SELECT id FROM teams WHERE slug = $1",
                    params![policy.reviewers.as_str()],
                )?
                .map(|r| TeamId::parse(&r.text(0)?).map_err(bad))
                .transpose()?;
        }
    }
    Ok(out)
}

/// Where a reply goes: one of the case's conversations (default: its own), and whether it
/// answers that conversation's public comment privately.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyTo {
    pub conversation: Option<ConversationId>,
    pub private_reply: bool,
    /// Send as this approved template (WhatsApp); the text is what it reads as.
    pub template: Option<Template>,
}

/// Adds an outbound message or a note to a case, on `to.conversation` (one of the case's;
/// `None`: the case's own); returns it, the events it caused, and what the guards did to it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_message(
    c: &mut dyn Conn,
    case_id: CaseId,
    to: ReplyTo,
    direction: Direction,
    text: String,
    actor: Actor,
    now: Timestamp,
    active: Option<&ActivePlaybook>,
) -> Result<(Message, Vec<Event>, Option<String>), StoreError> {
    let case = case_by_id(c, case_id)?;
    if direction == Direction::Outbound && case.status == CaseStatus::Closed {
        return Err(StoreError::Invalid(
            "the case is closed; the customer's next message opens a new case".into(),
        ));
    }
    let mut case = match to.conversation {
        Some(v) => case_on_conversation(c, &case, v)?,
        None => case,
    };
    let private_reply = to.private_reply && direction == Direction::Outbound;
    if private_reply {
        if !case.public {
            return Err(StoreError::Invalid(
                "a private reply answers a public comment; this conversation is already private"
                    .into(),
            ));
        }
        // The guards for public replies do not apply to a private one.
        case.public = false;
    }
    let screened = if direction == Direction::Outbound {
        screen(c, &case, text, active, &actor, now)?
    } else {
        Screened {
            text,
            review_team: None,
            guard: None,
        }
    };
    let text = screened.text;
    let held = screened.review_team.is_some();
    // The reply answers the last customer message on the conversation it goes out on.
    let in_reply_to = if direction == Direction::Outbound {
        c.query_opt(
            "SELECT id FROM messages WHERE case_id = $1 AND conversation_id = $2 AND direction = 'inbound' \
             ORDER BY created_at DESC, id DESC LIMIT 1",
            params![case_id.to_string(), case.conversation_id.to_string()],
        )?
        .map(|r| r.text(0))
        .transpose()?
    } else {
        None
    };
    if private_reply {
        let Some(comment) = in_reply_to.as_deref() else {
            return Err(StoreError::Invalid(
                "there is no customer comment on this conversation to answer privately".into(),
            ));
        };
        if c.query_opt(
            "SELECT 1 FROM messages WHERE in_reply_to = $1 AND private_reply = $2 \
             AND delivery_state NOT IN ('failed', 'rejected')",
            params![comment, true],
        )?
        .is_some()
        {
            return Err(StoreError::Conflict(
                "this comment already has a private reply; the provider allows one".into(),
            ));
        }
    }
    let template_json = match (&to.template, direction) {
        (Some(t), Direction::Outbound) => {
            Some(serde_json::to_string(t).map_err(|e| StoreError::Backend(e.to_string()))?)
        }
        _ => None,
    };
    let id = MessageId::new_at(now);
    let state = match direction {
        Direction::Outbound if held => DeliveryState::PendingApproval,
        Direction::Outbound => DeliveryState::Queued,
        _ => DeliveryState::Internal,
    };
    let next_attempt = (state == DeliveryState::Queued).then_some(now.as_unix_micros());
    c.execute(
        "INSERT INTO messages (id, case_id, conversation_id, channel_id, direction, user_id, author_name, text, sent_at, \
         created_at, delivery_state, attempts, next_attempt_at, in_reply_to, updated_at, author_kind, review_team_id, private_reply, template) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $14, $15, $16, $17, $18)",
        params![
            id.to_string(),
            case_id.to_string(),
            case.conversation_id.to_string(),
            case.channel_id.to_string(),
            direction.as_str(),
            actor.parts().1,
            actor.name(),
            text,
            now.as_unix_micros(),
            now.as_unix_micros(),
            state.as_str(),
            next_attempt,
            in_reply_to,
            now.as_unix_micros(),
            actor.parts().0,
            screened.review_team.map(|t| t.to_string()),
            private_reply,
            template_json
        ],
    )?;
    let mut events = Vec::new();
    let action = match state {
        DeliveryState::PendingApproval => "message.held_for_approval",
        DeliveryState::Queued => "message.reply_queued",
        _ => "message.note_added",
    };
    audit(
        c,
        &actor,
        action,
        ("case", case_id.to_string()),
        json!({"message_id": id, "review_team": screened.review_team}),
        now,
    )?;
    if state == DeliveryState::Queued {
        let status = case.status.on_agent_reply();
        c.execute(
            "UPDATE cases SET status = $1, first_response_at = COALESCE(first_response_at, $2), updated_at = $2 WHERE id = $3",
            params![status.as_str(), now.as_unix_micros(), case_id.to_string()],
        )?;
        let case = case_by_id(c, case_id)?;
        events.push(emit(
            c,
            "case.updated",
            Some(case_id),
            json!({ "case": case }),
            now,
        )?);
    }
    let message = message_by_id(c, id)?;
    events.push(emit(
        c,
        "message.created",
        Some(case_id),
        json!({ "message": message }),
        now,
    )?);
    Ok((message, events, screened.guard))
}

/// What a channel's reply rules need to know before a reply is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyContext {
    pub channel_id: ChannelId,
    pub thread: String,
    pub public: bool,
    /// The customer's id on the channel.
    pub to: Option<String>,
    /// The last customer message on the conversation: when it was sent, and its provider id.
    pub last_inbound_at: Option<Timestamp>,
    pub last_inbound_external: Option<String>,
}

impl Store {
    /// The conversation a reply would go out on (the case's own, or `conversation`), for the
    /// providers' rules.
    pub async fn reply_context(
        &self,
        case: CaseId,
        conversation: Option<ConversationId>,
    ) -> Result<ReplyContext, StoreError> {
        self.pool
            .read(move |c| {
                let case = case_by_id(c, case)?;
                let case = match conversation {
                    Some(v) => case_on_conversation(c, &case, v)?,
                    None => case,
                };
                let v = c.query_one(
                    "SELECT v.thread, v.public, i.external_id FROM conversations v \
                     LEFT JOIN identities i ON i.contact_id = v.contact_id AND i.channel_id = v.channel_id \
                     WHERE v.id = $1",
                    params![case.conversation_id.to_string()],
                )?;
                let last = c.query_opt(
                    "SELECT sent_at, external_id FROM messages WHERE case_id = $1 AND conversation_id = $2 \
                     AND direction = 'inbound' ORDER BY created_at DESC, id DESC LIMIT 1",
                    params![case.id.to_string(), case.conversation_id.to_string()],
                )?;
                Ok(ReplyContext {
                    channel_id: case.channel_id,
                    thread: v.text(0)?,
                    public: v.bool(1)?,
                    to: v.opt_text(2)?,
                    last_inbound_at: last
                        .as_ref()
                        .map(|r| r.int(0))
                        .transpose()?
                        .map(Timestamp::from_unix_micros),
                    last_inbound_external: last.as_ref().map(|r| r.opt_text(1)).transpose()?.flatten(),
                })
            })
            .await
    }
}

impl Store {
    /// Cases, newest first, filtered. The cursor is the last case's id.
    pub async fn list_cases(
        &self,
        filter: CaseFilter,
        cursor: Option<CaseId>,
        limit: i64,
    ) -> Result<Page<Case>, StoreError> {
        self.pool
            .read(move |c| {
                let mut sql = format!("SELECT {CASE_COLS} FROM {CASE_FROM} WHERE 1 = 1");
                let mut args: Vec<Value> = Vec::new();
                let mut add = |sql: &mut String, clause: &str, v: Value| {
                    args.push(v);
                    sql.push_str(&format!(" AND {clause} ${}", args.len()));
                };
                if let Some(s) = filter.status {
                    add(&mut sql, "c.status =", s.as_str().into());
                }
                if let Some(p) = &filter.purpose {
                    add(&mut sql, "c.purpose =", p.as_str().into());
                }
                if let Some(t) = filter.team {
                    add(&mut sql, "c.team_id =", t.to_string().into());
                }
                if let Some(u) = filter.assignee {
                    add(&mut sql, "c.assignee_id =", u.to_string().into());
                }
                if let Some(cur) = cursor {
                    add(&mut sql, "c.id <", cur.to_string().into());
                }
                if filter.unassigned {
                    sql.push_str(" AND c.assignee_id IS NULL");
                }
                args.push(Value::Int(limit + 1));
                sql.push_str(&format!(" ORDER BY c.id DESC LIMIT ${}", args.len()));
                let items = c
                    .query(&sql, &args)?
                    .iter()
                    .map(case_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetch(items, limit, |c| c.id.to_string()))
            })
            .await
    }

    /// A case with all its messages in time order.
    pub async fn case(&self, id: CaseId) -> Result<CaseDetail, StoreError> {
        self.pool
            .read(move |c| {
                let case = case_by_id(c, id)?;
                Ok(CaseDetail {
                    case,
                    messages: case_messages(c, id)?,
                    auto_answer: crate::auto_answer::record_of(c, id)?,
                })
            })
            .await
    }

    /// Changes a case. Status changes follow the lifecycle; the team and assignee must exist.
    pub async fn update_case(
        &self,
        id: CaseId,
        patch: CasePatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Case, Vec<Event>), StoreError> {
        self.pool
            .write(move |c| {
                let before = case_by_id(c, id)?;
                let mut after = before.clone();
                if let Some(to) = patch.status {
                    after.status = before.status.transition(to).map_err(|e| StoreError::Invalid(e.to_string()))?;
                }
                if let Some(p) = patch.purpose {
                    crate::purposes::ensure_known(c, &p)?;
                    after.purpose = p;
                }
                if let Some(team) = patch.team {
                    if let Some(t) = team
                        && c.query_opt("SELECT 1 FROM teams WHERE id = $1", params![t.to_string()])?.is_none()
                    {
                        return Err(StoreError::Invalid(format!("no team with id {t}")));
                    }
                    after.team = team;
                }
                if let Some(assignee) = patch.assignee {
                    after.assignee = assignee;
                }
                // Someone new works the case, or the case moves to another team under its
                // person: checked as a transfer would check them.
                if let Some(u) = after.assignee
                    && (after.assignee != before.assignee || after.team != before.team)
                {
                    crate::review::assignable(c, u, after.team)?;
                }
                if let Some(p) = patch.priority {
                    after.priority = p;
                }
                if let Some(tags) = patch.tags {
                    let mut tags: Vec<String> = tags.into_iter().map(Tag::into_string).collect();
                    tags.sort();
                    tags.dedup();
                    after.tags = tags;
                }
                if after == before {
                    return Ok((before, vec![]));
                }
                let resolved_at = match (before.status.is_active() || before.status == CaseStatus::Resolved, after.status) {
                    (_, CaseStatus::Resolved) if before.status != CaseStatus::Resolved => Some(now),
                    (_, CaseStatus::Resolved | CaseStatus::Closed) => before.resolved_at.or(Some(now)),
                    _ => None,
                };
                let reopened = before.status == CaseStatus::Resolved && after.status == CaseStatus::Open;
                if after.status != before.status {
                    crate::lifecycle::leave_status(c, id, now)?;
                    // A person moved the case: whatever resolved it before no longer does.
                    after.resolution = None;
                    if reopened && before.resolution.is_some() {
                        crate::auto_answer::reopened(c, id, now)?;
                    }
                }
                c.execute(
                    "UPDATE cases SET status = $1, purpose = $2, team_id = $3, assignee_id = $4, priority = $5, tags = $6, \
                     updated_at = $7, resolved_at = $8, reopen_count = reopen_count + $9, sla_check_at = $7, resolution = $11 WHERE id = $10",
                    params![
                        after.status.as_str(),
                        after.purpose.as_str(),
                        after.team.map(|t| t.to_string()),
                        after.assignee.map(|u| u.to_string()),
                        after.priority.as_str(),
                        serde_json::to_string(&after.tags).map_err(|e| StoreError::Backend(e.to_string()))?,
                        now.as_unix_micros(),
                        resolved_at.map(|t| t.as_unix_micros()),
                        reopened as i64,
                        id.to_string(),
                        after.resolution.clone()
                    ],
                )?;
                let mut changes = serde_json::Map::new();
                let b = serde_json::to_value(&before).map_err(|e| StoreError::Backend(e.to_string()))?;
                let a = serde_json::to_value(&after).map_err(|e| StoreError::Backend(e.to_string()))?;
                for key in ["status", "purpose", "team", "assignee", "priority", "tags"] {
                    if b[key] != a[key] {
                        changes.insert(key.into(), json!({"from": b[key], "to": a[key]}));
                    }
                }
                audit(c, &actor, "case.updated", ("case", id.to_string()), serde_json::Value::Object(changes), now)?;
                if after.purpose != before.purpose {
                    // A person's correction teaches the purpose model.
                    crate::training::purpose_corrected(c, id, after.purpose.as_str(), &actor, now)?;
                }
                let case = case_by_id(c, id)?;
                let ev = emit(c, "case.updated", Some(id), json!({ "case": case }), now)?;
                Ok((case, vec![ev]))
            })
            .await
    }

    /// Queues a reply to the customer on the case's conversation, after the guards (a public
    /// reply with personal data is blocked or redacted, per the playbook) and held for
    /// approval when the case or an approval policy asks for it.
    pub async fn reply(
        &self,
        case: CaseId,
        text: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<ReplyOutcome, StoreError> {
        self.reply_on(case, None, text, actor, now).await
    }

    /// [`Store::reply`] on one of the case's conversations (a merged case can hold a public
    /// comment and a private message): `conversation` must be the case's own or one its
    /// messages are on, else [`StoreError::Invalid`]. The guards go by that conversation's
    /// public flag, and the reply answers its last customer message.
    pub async fn reply_on(
        &self,
        case: CaseId,
        conversation: Option<ConversationId>,
        text: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<ReplyOutcome, StoreError> {
        let to = ReplyTo {
            conversation,
            ..ReplyTo::default()
        };
        self.reply_to(case, to, text, actor, now).await
    }

    /// [`Store::reply_on`], or with `private_reply` an answer to the conversation's public
    /// comment sent privately (Meta private reply, X DM): once per comment
    /// ([`StoreError::Conflict`] for a second), and only on a public conversation.
    pub async fn reply_to(
        &self,
        case: CaseId,
        to: ReplyTo,
        text: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<ReplyOutcome, StoreError> {
        let playbooks = self.playbooks.clone();
        self.pool
            .write(move |c| {
                let active = playbooks.current(c)?;
                let (message, events, guard) = add_message(
                    c,
                    case,
                    to,
                    Direction::Outbound,
                    text,
                    actor,
                    now,
                    active.as_deref(),
                )?;
                Ok(ReplyOutcome {
                    message,
                    events,
                    guard,
                })
            })
            .await
    }

    /// [`Store::reply`], without what the guards said.
    pub async fn add_reply(
        &self,
        case: CaseId,
        text: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Message, Vec<Event>), StoreError> {
        let r = self.reply(case, text, actor, now).await?;
        Ok((r.message, r.events))
    }

    /// Adds an internal note, never sent to the customer.
    pub async fn add_note(
        &self,
        case: CaseId,
        text: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Message, Vec<Event>), StoreError> {
        self.pool
            .write(move |c| {
                let mentioned = switchboard_core::name::mentions(&text);
                let (message, mut events, _) = add_message(
                    c,
                    case,
                    ReplyTo::default(),
                    Direction::Note,
                    text.clone(),
                    actor.clone(),
                    now,
                    None,
                )?;
                // Each active person the note names with `@username` is told, except its author.
                let mut users = Vec::new();
                for name in &mentioned {
                    if let Some(r) = c.query_opt(
                        "SELECT id FROM users WHERE username = $1 AND active = $2",
                        params![name.as_str(), true],
                    )? {
                        let id = UserId::parse(&r.text(0)?).map_err(crate::journal::bad)?;
                        if actor.user_id() != Some(id) {
                            users.push(id);
                        }
                    }
                }
                if !users.is_empty() {
                    let excerpt: String = switchboard_core::guard::hide_card_and_id_numbers(&text)
                        .chars()
                        .take(200)
                        .collect();
                    let body = format!("{} mentioned you in a note: {excerpt}", actor.name());
                    events.extend(crate::notify::notify(
                        c,
                        &users,
                        "mention",
                        Some(case),
                        &body,
                        now,
                    )?);
                }
                Ok((message, events))
            })
            .await
    }

    /// Claims up to `limit` outbound messages due at `now`, leasing them until `lease_until`:
    /// a node that dies mid-send leaves them to be retried once the lease ends. Each claimed
    /// message becomes `sending` (one `message.updated` event each). The reply goes to the
    /// author of the message it answers (in a shared thread, not always who started it).
    pub async fn claim_outbound(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<(Vec<OutboundJob>, Vec<Event>), StoreError> {
        self.pool
            .write(move |c| {
                let rows = c.query(
                    "SELECT m.id, m.case_id, m.channel_id, v.thread, r.external_id, i.external_id, m.text, m.attempts, \
                     v.public, m.private_reply, r.sent_at, m.template, \
                     (SELECT t.name FROM cases k JOIN teams t ON t.id = k.team_id WHERE k.id = m.case_id), \
                     (SELECT t.email_from FROM cases k JOIN teams t ON t.id = k.team_id WHERE k.id = m.case_id), \
                     (SELECT t.email_signature FROM cases k JOIN teams t ON t.id = k.team_id WHERE k.id = m.case_id), \
                     m.conversation_id, \
                     (SELECT MAX(x.sent_at) FROM messages x WHERE x.conversation_id = m.conversation_id AND x.direction = 'inbound') \
                     FROM messages m JOIN conversations v ON v.id = m.conversation_id \
                     LEFT JOIN messages r ON r.id = m.in_reply_to \
                     LEFT JOIN identities i ON i.contact_id = COALESCE(r.contact_id, v.contact_id) AND i.channel_id = m.channel_id \
                     WHERE m.delivery_state IN ('queued', 'sending') AND m.next_attempt_at <= $1 \
                     ORDER BY m.next_attempt_at LIMIT $2",
                    params![now.as_unix_micros(), limit],
                )?;
                let mut jobs = Vec::with_capacity(rows.len());
                let mut events = Vec::with_capacity(rows.len());
                for r in &rows {
                    let id = MessageId::parse(&r.text(0)?).map_err(bad)?;
                    c.execute(
                        "UPDATE messages SET delivery_state = 'sending', next_attempt_at = $1, updated_at = $2 WHERE id = $3",
                        params![lease_until.as_unix_micros(), now.as_unix_micros(), id.to_string()],
                    )?;
                    jobs.push(OutboundJob {
                        message_id: id,
                        case_id: CaseId::parse(&r.text(1)?).map_err(bad)?,
                        channel_id: ChannelId::parse(&r.text(2)?).map_err(bad)?,
                        thread: r.text(3)?,
                        in_reply_to: r.opt_text(4)?,
                        to: r.opt_text(5)?.unwrap_or_default(),
                        text: r.text(6)?,
                        attempts: r.int(7)?,
                        public: r.bool(8)?,
                        private_reply: r.bool(9)?,
                        // A private reply's window runs from the comment it answers.
                        last_inbound_at: if r.bool(9)? { r.opt_int(10)? } else { r.opt_int(16)? }
                            .map(Timestamp::from_unix_micros),
                        conversation_id: ConversationId::parse(&r.text(15)?).map_err(bad)?,
                        team_email: r.opt_text(12)?.map(|name| Ok::<_, StoreError>((name, r.opt_text(13)?, r.opt_text(14)?))).transpose()?,
                        template: r
                            .opt_text(11)?
                            .map(|s| serde_json::from_str(&s))
                            .transpose()
                            .map_err(|e| StoreError::Backend(format!("a stored template is not valid: {e}")))?,
                    });
                    let message = message_by_id(c, id)?;
                    events.push(emit(c, "message.updated", Some(message.case_id), json!({ "message": message }), now)?);
                }
                Ok((jobs, events))
            })
            .await
    }

    /// Records how a send attempt ended.
    pub async fn record_delivery(
        &self,
        id: MessageId,
        delivery: Delivery,
        now: Timestamp,
    ) -> Result<Vec<Event>, StoreError> {
        self.pool
            .write(move |c| {
                let mut provider_id = None;
                let (state, error, next) = match &delivery {
                    Delivery::Delivered => (DeliveryState::Delivered, None, None),
                    Delivery::Accepted { external_id, state } => {
                        provider_id = external_id.clone();
                        (*state, None, None)
                    }
                    Delivery::Retry { at, error } => (DeliveryState::Queued, Some(error.clone()), Some(at.as_unix_micros())),
                    Delivery::Failed { error } => (DeliveryState::Failed, Some(error.clone()), None),
                };
                let n = c.execute(
                    "UPDATE messages SET delivery_state = $1, delivery_error = $2, next_attempt_at = $3, attempts = attempts + 1, \
                     updated_at = $4 WHERE id = $5 AND delivery_state IN ('queued', 'sending')",
                    params![state.as_str(), error.clone(), next, now.as_unix_micros(), id.to_string()],
                )?;
                if n == 0 {
                    return Ok(vec![]);
                }
                let mut events = Vec::new();
                if let Some(pid) = provider_id {
                    crate::provider_events::record_provider_id(c, id, &pid, now)?;
                }
                crate::chat::number_if_visible(c, id)?;
                let message = message_by_id(c, id)?;
                if state.is_final() {
                    let action = if state == DeliveryState::Failed { "message.failed" } else { "message.delivered" };
                    audit(c, &Actor::System, action, ("message", id.to_string()), json!({"case_id": message.case_id, "error": error}), now)?;
                }
                let ev = emit(c, "message.updated", Some(message.case_id), json!({ "message": message }), now)?;
                events.insert(0, ev);
                if state == DeliveryState::Failed
                    && let Some(reopened) = crate::auto_answer::undeliverable(c, id, message.case_id, now)?
                {
                    events.push(reopened);
                }
                Ok(events)
            })
            .await
    }

    /// Outbound messages waiting to be sent (queued or in flight).
    pub async fn outbox_depth(&self) -> Result<i64, StoreError> {
        self.pool
            .read(|c| {
                c.query_one(
                    "SELECT COUNT(*) FROM messages WHERE delivery_state IN ('queued', 'sending')",
                    &[],
                )?
                .int(0)
            })
            .await
    }

    /// Cases per status, for the queue gauges.
    pub async fn case_counts(&self) -> Result<Vec<(CaseStatus, i64)>, StoreError> {
        self.pool
            .read(|c| {
                c.query("SELECT status, COUNT(*) FROM cases GROUP BY status", &[])?
                    .iter()
                    .map(|r| Ok((CaseStatus::parse(&r.text(0)?).map_err(bad)?, r.int(1)?)))
                    .collect()
            })
            .await
    }
}
