//! Hand-off to experts outside the contact center. An agent invites someone by e-mail; the
//! server gives them a signed, expiring link (only its SHA-256 is stored here) that shows
//! that one case and takes one answer: an internal note for the agent or a suggested reply.
//! Meanwhile the case is `with_expert`; the answer puts it back to `open`, notifies its owner,
//! and the time spent with the expert is banked on the case. Links can be revoked; late
//! experts are reminded.

use crate::cases::{add_message, case_by_id, case_messages};
use crate::journal::{audit, bad, emit};
use crate::lifecycle::leave_status;
use crate::notify::notify;
use crate::sql::{Conn, Row};
use crate::{Actor, Event, Message, Store, StoreError, params};
use serde::Serialize;
use serde_json::json;
use switchboard_core::*;

/// An invitation to an expert, as agents see it (the link itself is never stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpertLink {
    pub id: ExpertLinkId,
    pub case_id: CaseId,
    pub email: String,
    pub name: Option<String>,
    pub question: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub remind_at: Option<Timestamp>,
    pub reminders: i64,
    pub revoked_at: Option<Timestamp>,
    pub answered_at: Option<Timestamp>,
    pub mailed_at: Option<Timestamp>,
    pub mail_error: Option<String>,
    /// `waiting`, `answered`, `revoked` or `expired` (at the time it was read).
    pub state: &'static str,
}

/// A new invitation.
#[derive(Debug, Clone)]
pub struct NewExpertLink {
    /// Made by the caller, who signs it into the link.
    pub id: ExpertLinkId,
    pub case_id: CaseId,
    pub email: String,
    pub name: Option<String>,
    pub question: String,
    pub token_hash: String,
    /// The token sealed with the secret key (reminders carry the link again).
    pub token_sealed: Vec<u8>,
    pub expires_at: Timestamp,
    pub remind_at: Option<Timestamp>,
}

/// What an expert may see: the question and the conversation, nothing else.
#[derive(Debug, Clone, Serialize)]
pub struct ExpertView {
    pub link: ExpertLink,
    pub purpose: Purpose,
    pub channel_kind: String,
    pub public: bool,
    /// Customer messages and sent replies, oldest first: `{from, text, at}` with `from` one of
    /// `customer`, `agent`. Internal notes are not shown.
    pub messages: Vec<serde_json::Value>,
}

/// Why a link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Expired,
    Revoked,
    Answered,
}

const COLS: &str = "id, case_id, email, name, question, created_by, created_at, expires_at, remind_at, reminders, \
    revoked_at, answered_at, mailed_at, mail_error";

fn ts(r: &Row, i: usize) -> Result<Option<Timestamp>, StoreError> {
    Ok(r.opt_int(i)?.map(Timestamp::from_unix_micros))
}

fn from_row(r: &Row, now: Timestamp) -> Result<ExpertLink, StoreError> {
    let expires_at = Timestamp::from_unix_micros(r.int(7)?);
    let revoked_at = ts(r, 10)?;
    let answered_at = ts(r, 11)?;
    let state = match (answered_at, revoked_at) {
        (Some(_), _) => "answered",
        (None, Some(_)) => "revoked",
        _ if now >= expires_at => "expired",
        _ => "waiting",
    };
    Ok(ExpertLink {
        id: ExpertLinkId::parse(&r.text(0)?).map_err(bad)?,
        case_id: CaseId::parse(&r.text(1)?).map_err(bad)?,
        email: r.text(2)?,
        name: r.opt_text(3)?,
        question: r.text(4)?,
        created_by: UserId::parse(&r.text(5)?).map_err(bad)?,
        created_at: Timestamp::from_unix_micros(r.int(6)?),
        expires_at,
        remind_at: ts(r, 8)?,
        reminders: r.int(9)?,
        revoked_at,
        answered_at,
        mailed_at: ts(r, 12)?,
        mail_error: r.opt_text(13)?,
        state,
    })
}

fn link_by_id(
    c: &mut dyn Conn,
    id: ExpertLinkId,
    now: Timestamp,
) -> Result<ExpertLink, StoreError> {
    from_row(
        &c.query_one(
            &format!("SELECT {COLS} FROM expert_links WHERE id = $1"),
            params![id.to_string()],
        )?,
        now,
    )
}

/// A usable link by its token's hash, or why it is not.
fn usable(
    c: &mut dyn Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Result<ExpertLink, LinkProblem>, StoreError> {
    let Some(r) = c.query_opt(
        &format!("SELECT {COLS} FROM expert_links WHERE token_hash = $1"),
        params![token_hash],
    )?
    else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let link = from_row(&r, now)?;
    Ok(match link.state {
        "answered" => Err(LinkProblem::Answered),
        "revoked" => Err(LinkProblem::Revoked),
        "expired" => Err(LinkProblem::Expired),
        _ => Ok(link),
    })
}

/// Who owns the case for notifications: its assignee, else whoever invited the expert.
fn owner(c: &mut dyn Conn, link: &ExpertLink) -> Result<UserId, StoreError> {
    Ok(case_by_id(c, link.case_id)?
        .assignee
        .unwrap_or(link.created_by))
}

/// Moves a `with_expert` case back to `open` once no invitation is waiting any more.
fn back_from_expert(
    c: &mut dyn Conn,
    case: CaseId,
    now: Timestamp,
) -> Result<Option<Event>, StoreError> {
    let current = case_by_id(c, case)?;
    let waiting = c
        .query_opt(
            "SELECT 1 FROM expert_links WHERE case_id = $1 AND answered_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
            params![case.to_string(), now.as_unix_micros()],
        )?
        .is_some();
    if current.status != CaseStatus::WithExpert || waiting {
        return Ok(None);
    }
    leave_status(c, case, now)?;
    c.execute(
        "UPDATE cases SET status = 'open', updated_at = $1 WHERE id = $2",
        params![now.as_unix_micros(), case.to_string()],
    )?;
    let case = case_by_id(c, case)?;
    Ok(Some(emit(
        c,
        "case.updated",
        Some(case.id),
        json!({ "case": case }),
        now,
    )?))
}

impl Store {
    /// Invites an expert: the case moves to `with_expert` and its history gets a note with
    /// the question. The caller made the token and keeps it; only its hash is given here.
    pub async fn invite_expert(
        &self,
        new: NewExpertLink,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(ExpertLink, Vec<Event>), StoreError> {
        let Some(by) = actor.user_id() else {
            return Err(StoreError::Forbidden(
                "experts are invited by a person (log in), not an API token".into(),
            ));
        };
        self.pool
            .write(move |c| {
                let case = case_by_id(c, new.case_id)?;
                if !case.status.is_active() {
                    return Err(StoreError::Invalid(format!(
                        "the case is {}; reopen it before asking an expert",
                        case.status
                    )));
                }
                let id = new.id;
                c.execute(
                    "INSERT INTO expert_links (id, case_id, email, name, question, token_hash, created_by, created_at, expires_at, remind_at, token_sealed) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    params![
                        id.to_string(), new.case_id.to_string(), new.email.as_str(), new.name.clone(), new.question.as_str(),
                        new.token_hash.as_str(), by.to_string(), now.as_unix_micros(), new.expires_at.as_unix_micros(),
                        new.remind_at.map(|t| t.as_unix_micros()),
                        new.token_sealed.clone()
                    ],
                )?;
                let mut events = Vec::new();
                if case.status != CaseStatus::WithExpert {
                    leave_status(c, case.id, now)?;
                    c.execute(
                        "UPDATE cases SET status = 'with_expert', updated_at = $1 WHERE id = $2",
                        params![now.as_unix_micros(), case.id.to_string()],
                    )?;
                    let after = case_by_id(c, case.id)?;
                    events.push(emit(c, "case.updated", Some(case.id), json!({ "case": after }), now)?);
                }
                audit(
                    c,
                    &actor,
                    "expert.invited",
                    ("case", case.id.to_string()),
                    json!({"link_id": id, "email": new.email, "expires_at": new.expires_at}),
                    now,
                )?;
                let who = new.name.clone().map_or(new.email.clone(), |n| format!("{n} <{}>", new.email));
                let note = format!("Asked {who}: {}", new.question);
                let (_, ev, _) = add_message(c, case.id, crate::cases::ReplyTo::default(), Direction::Note, note, actor, now, None)?;
                events.extend(ev);
                Ok((link_by_id(c, id, now)?, events))
            })
            .await
    }

    /// Records whether the invitation e-mail went out.
    pub async fn record_expert_mail(
        &self,
        id: ExpertLinkId,
        error: Option<String>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                c.execute(
                    "UPDATE expert_links SET mailed_at = $1, mail_error = $2 WHERE id = $3",
                    params![
                        error.is_none().then_some(now.as_unix_micros()),
                        error,
                        id.to_string()
                    ],
                )?;
                Ok(())
            })
            .await
    }

    /// The invitations of a case, oldest first, and the time the case has spent with experts
    /// (microseconds, including a wait going on now).
    pub async fn expert_links(
        &self,
        case: CaseId,
        now: Timestamp,
    ) -> Result<(Vec<ExpertLink>, i64), StoreError> {
        self.pool
            .read(move |c| {
                let r = c.query_one(
                    "SELECT status, status_since, expert_micros FROM cases WHERE id = $1",
                    params![case.to_string()],
                )?;
                let mut spent = r.int(2)?;
                if r.text(0)? == "with_expert"
                    && let Some(since) = r.opt_int(1)?
                {
                    spent += (now.as_unix_micros() - since).max(0);
                }
                let links = c.query(
                    &format!("SELECT {COLS} FROM expert_links WHERE case_id = $1 ORDER BY created_at, id"),
                    params![case.to_string()],
                )?
                .iter()
                .map(|r| from_row(r, now))
                .collect::<Result<Vec<_>, _>>()?;
                Ok((links, spent))
            })
            .await
    }

    /// What the expert behind `token_hash` may see, or why the link cannot be used.
    pub async fn expert_view(
        &self,
        token_hash: String,
        now: Timestamp,
    ) -> Result<Result<ExpertView, LinkProblem>, StoreError> {
        self.pool
            .read(move |c| {
                let link = match usable(c, &token_hash, now)? {
                    Ok(l) => l,
                    Err(p) => return Ok(Err(p)),
                };
                let case = case_by_id(c, link.case_id)?;
                let kind = c
                    .query_one("SELECT kind FROM channels WHERE id = $1", params![case.channel_id.to_string()])?
                    .text(0)?;
                let messages = case_messages(c, case.id)?
                    .into_iter()
                    .filter(|m| match m.direction {
                        Direction::Inbound => true,
                        Direction::Outbound => matches!(m.delivery_state, DeliveryState::Queued | DeliveryState::Sending | DeliveryState::Delivered | DeliveryState::Read),
                        Direction::Note => false,
                    })
                    .map(|m: Message| {
                        json!({
                            "from": if m.direction == Direction::Inbound { "customer" } else { "agent" },
                            // An outside expert never needs a customer's card or id number.
                            "text": switchboard_core::guard::hide_card_and_id_numbers(&m.text),
                            "at": m.created_at,
                        })
                    })
                    .collect();
                // The question is the agent's words, which may quote the customer's.
                let link = ExpertLink { question: switchboard_core::guard::hide_card_and_id_numbers(&link.question), ..link };
                Ok(Ok(ExpertView { link, purpose: case.purpose, channel_kind: kind, public: case.public, messages }))
            })
            .await
    }

    /// Takes the expert's one answer: a note for the agent (`suggested`: a reply the agent
    /// may send as is). The case goes back to `open` and its owner is notified.
    pub async fn expert_answer(
        &self,
        token_hash: String,
        text: String,
        suggested: bool,
        now: Timestamp,
    ) -> Result<Result<(Message, Vec<Event>), LinkProblem>, StoreError> {
        self.pool
            .write(move |c| {
                let link = match usable(c, &token_hash, now)? {
                    Ok(l) => l,
                    Err(p) => return Ok(Err(p)),
                };
                let name = link.name.clone().map_or(link.email.clone(), |n| format!("{n} ({})", link.email));
                let actor = Actor::Expert { link: link.id, name };
                let (message, mut events, _) = add_message(c, link.case_id, crate::cases::ReplyTo::default(), Direction::Note, text, actor.clone(), now, None)?;
                if suggested {
                    c.execute("UPDATE messages SET suggested = $1 WHERE id = $2", params![true, message.id.to_string()])?;
                }
                c.execute(
                    "UPDATE expert_links SET answered_at = $1, remind_at = NULL WHERE id = $2",
                    params![now.as_unix_micros(), link.id.to_string()],
                )?;
                audit(
                    c,
                    &actor,
                    "expert.answered",
                    ("case", link.case_id.to_string()),
                    json!({"link_id": link.id, "message_id": message.id, "suggested_reply": suggested}),
                    now,
                )?;
                events.extend(back_from_expert(c, link.case_id, now)?);
                let owner = owner(c, &link)?;
                let what = if suggested { "suggested a reply" } else { "answered" };
                let body = format!("{} {what}: {}", link.name.as_deref().unwrap_or(&link.email), link.question);
                events.extend(notify(c, &[owner], "expert.answered", Some(link.case_id), &body, now)?);
                let message = crate::cases::message_by_id(c, message.id)?;
                Ok(Ok((message, events)))
            })
            .await
    }

    /// Revokes an invitation; a `with_expert` case with no other waiting one goes back to `open`.
    pub async fn revoke_expert_link(
        &self,
        case: CaseId,
        id: ExpertLinkId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(ExpertLink, Vec<Event>), StoreError> {
        self.pool
            .write(move |c| {
                let link = link_by_id(c, id, now)?;
                if link.case_id != case {
                    return Err(StoreError::NotFound);
                }
                if link.state != "waiting" {
                    return Err(StoreError::Invalid(format!(
                        "the link is {} already",
                        link.state
                    )));
                }
                c.execute(
                    "UPDATE expert_links SET revoked_at = $1, remind_at = NULL WHERE id = $2",
                    params![now.as_unix_micros(), id.to_string()],
                )?;
                audit(
                    c,
                    &actor,
                    "expert.revoked",
                    ("case", case.to_string()),
                    json!({"link_id": id}),
                    now,
                )?;
                let events = back_from_expert(c, case, now)?.into_iter().collect();
                Ok((link_by_id(c, id, now)?, events))
            })
            .await
    }

    /// Waiting invitations whose reminder is due, each with its sealed token.
    pub async fn expert_reminders_due(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(ExpertLink, Vec<u8>)>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    &format!(
                        "SELECT {COLS}, token_sealed FROM expert_links WHERE remind_at <= $1 AND answered_at IS NULL AND revoked_at IS NULL \
                         AND expires_at > $1 ORDER BY remind_at LIMIT $2"
                    ),
                    params![now.as_unix_micros(), limit],
                )?
                .iter()
                .map(|r| Ok((from_row(r, now)?, r.blob(14)?)))
                .collect()
            })
            .await
    }

    /// Cases still `with_expert` whose every invitation has expired unanswered go back to
    /// `open`, and their owner is told (`expert.expired`).
    pub async fn expire_expert_waits(&self, now: Timestamp) -> Result<Vec<Event>, StoreError> {
        self.pool
            .write(move |c| {
                let stale = c.query(
                    "SELECT k.id FROM cases k WHERE k.status = 'with_expert' \
                     AND EXISTS (SELECT 1 FROM expert_links l WHERE l.case_id = k.id) \
                     AND NOT EXISTS (SELECT 1 FROM expert_links l WHERE l.case_id = k.id AND l.answered_at IS NULL \
                                     AND l.revoked_at IS NULL AND l.expires_at > $1) LIMIT 100",
                    params![now.as_unix_micros()],
                )?;
                let mut events = Vec::new();
                for r in stale {
                    let case = CaseId::parse(&r.text(0)?).map_err(bad)?;
                    events.extend(back_from_expert(c, case, now)?);
                    let last = from_row(
                        &c.query_one(
                            &format!("SELECT {COLS} FROM expert_links WHERE case_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1"),
                            params![case.to_string()],
                        )?,
                        now,
                    )?;
                    audit(c, &Actor::System, "expert.expired", ("case", case.to_string()), json!({"link_id": last.id}), now)?;
                    let owner = owner(c, &last)?;
                    let body = format!(
                        "{} did not answer before the link expired: {}",
                        last.name.as_deref().unwrap_or(&last.email),
                        last.question
                    );
                    events.extend(notify(c, &[owner], "expert.expired", Some(case), &body, now)?);
                }
                Ok(events)
            })
            .await
    }

    /// Records a reminder (the e-mail's outcome in `mail_error`), notifies the case's owner
    /// that the expert is late, and sets the next reminder (`None`: no more).
    pub async fn record_expert_reminder(
        &self,
        id: ExpertLinkId,
        next: Option<Timestamp>,
        mail_error: Option<String>,
        now: Timestamp,
    ) -> Result<Vec<Event>, StoreError> {
        self.pool
            .write(move |c| {
                let link = link_by_id(c, id, now)?;
                c.execute(
                    "UPDATE expert_links SET reminders = reminders + 1, remind_at = $1, mail_error = $2 WHERE id = $3",
                    params![next.map(|t| t.as_unix_micros()), mail_error.clone(), id.to_string()],
                )?;
                audit(
                    c,
                    &Actor::System,
                    "expert.reminded",
                    ("case", link.case_id.to_string()),
                    json!({"link_id": id, "reminder": link.reminders + 1, "mail_error": mail_error}),
                    now,
                )?;
                let owner = owner(c, &link)?;
                let body = format!(
                    "{} has not answered yet (asked {}): {}",
                    link.name.as_deref().unwrap_or(&link.email),
                    link.created_at.to_rfc3339(),
                    link.question
                );
                notify(c, &[owner], "expert.late", Some(link.case_id), &body, now)
            })
            .await
    }
}
