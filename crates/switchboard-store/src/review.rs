//! Approvals and transfers: a reviewer approves (perhaps edited) or rejects a held reply; a
//! case moves to another team or person with a reason. Both go to the audit log.

use crate::cases::{
    MESSAGE_COLS, add_message, case_by_id, case_on_conversation, message_by_id, message_from_row,
    screen,
};
use crate::journal::{audit, emit};
use crate::routing::team_state_by_id;
use crate::sql::Conn;
use crate::{Actor, Case, Event, Message, Store, StoreError, params};
use serde_json::json;
use switchboard_core::assign::assign;
use switchboard_core::*;

/// What a held reply answers and where it goes ([`Store::approval_context`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalContext {
    pub reply: MessageId,
    /// The customer's message it answers, if the case has one before it.
    pub asked: Option<Message>,
    pub channel_id: ChannelId,
    pub public: bool,
}

fn approval_context_of(c: &mut dyn Conn, m: &Message) -> Result<ApprovalContext, StoreError> {
    let asked = match m.in_reply_to {
        Some(id) => c.query_opt(
            &format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = $1 AND direction = 'inbound'"),
            params![id.to_string()],
        )?,
        None => c.query_opt(
            &format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE case_id = $1 AND direction = 'inbound' \
                 AND created_at <= $2 ORDER BY created_at DESC, id DESC LIMIT 1"
            ),
            params![m.case_id.to_string(), m.created_at.as_unix_micros()],
        )?,
    };
    let asked = asked.as_ref().map(message_from_row).transpose()?;
    let place = c.query_one(
        "SELECT channel_id, public FROM conversations WHERE id = $1",
        params![m.conversation_id.to_string()],
    )?;
    Ok(ApprovalContext {
        reply: m.id,
        asked,
        channel_id: ChannelId::parse(&place.text(0)?).map_err(crate::journal::bad)?,
        public: place.bool(1)?,
    })
}

/// What a reviewer decides about a held reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    /// Send it, with `text` in place of the agent's when the reviewer edited it.
    Approve { text: Option<String> },
    /// Do not send it; the comment tells the agent why.
    Reject { comment: String },
}

fn team_name(c: &mut dyn Conn, id: TeamId) -> Result<String, StoreError> {
    c.query_one(
        "SELECT name FROM teams WHERE id = $1",
        params![id.to_string()],
    )?
    .text(0)
}

/// Checks that `reviewer` may decide on `message`; returns the message's case.
fn may_review(c: &mut dyn Conn, message: &Message, reviewer: &Actor) -> Result<Case, StoreError> {
    if message.delivery_state != DeliveryState::PendingApproval {
        return Err(StoreError::Conflict(format!(
            "the reply is not waiting for approval (it is {})",
            message.delivery_state.as_str()
        )));
    }
    let Some(user) = reviewer.user_id() else {
        return Err(StoreError::Forbidden(
            "replies are approved by people: log in as a reviewer".into(),
        ));
    };
    if message.author.kind == "user" && message.author.id.as_deref() == Some(&user.to_string()) {
        return Err(StoreError::Forbidden(
            "reviewers cannot approve or reject their own replies".into(),
        ));
    }
    let team = message
        .review_team
        .ok_or_else(|| StoreError::Backend("a held reply without a review team".into()))?;
    let member = c
        .query_opt(
            "SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2",
            params![team.to_string(), user.to_string()],
        )?
        .is_some();
    if !member {
        return Err(StoreError::Forbidden(format!(
            "only members of the team {:?} may review this reply",
            team_name(c, team)?
        )));
    }
    case_by_id(c, message.case_id)
}

impl Store {
    /// A reviewer's decision on a reply held for approval.
    pub async fn review_reply(
        &self,
        id: MessageId,
        decision: Review,
        reviewer: Actor,
        now: Timestamp,
    ) -> Result<(Message, Vec<Event>), StoreError> {
        let playbooks = self.playbooks.clone();
        self.pool
            .write(move |c| {
                let message = message_by_id(c, id)?;
                let case = may_review(c, &message, &reviewer)?;
                let mut events = Vec::new();
                match decision {
                    Review::Approve { text } => {
                        let edited = text.as_ref().is_some_and(|t| *t != message.text);
                        let text = match text {
                            // An edit is screened again; the approval itself stands in for review.
                            Some(t) if edited => {
                                let active = playbooks.current(c)?;
                                // Screened as it goes out: on the held reply's conversation.
                                let mut unheld = case_on_conversation(c, &case, message.conversation_id)?;
                                unheld.approval_team = None;
                                screen(c, &unheld, t, active.as_deref(), &reviewer, now)?.text
                            }
                            _ => message.text.clone(),
                        };
                        c.execute(
                            "UPDATE messages SET delivery_state = 'queued', next_attempt_at = $1, text = $2, reviewed_by = $3, \
                             updated_at = $1 WHERE id = $4",
                            params![now.as_unix_micros(), text, reviewer.user_id().map(|u| u.to_string()), id.to_string()],
                        )?;
                        let status = case.status.on_agent_reply();
                        c.execute(
                            "UPDATE cases SET status = $1, first_response_at = COALESCE(first_response_at, $2), updated_at = $2 WHERE id = $3",
                            params![status.as_str(), now.as_unix_micros(), case.id.to_string()],
                        )?;
                        audit(c, &reviewer, "message.approved", ("message", id.to_string()), json!({"case_id": case.id, "edited": edited}), now)?;
                        let case = case_by_id(c, case.id)?;
                        events.push(emit(c, "case.updated", Some(case.id), json!({ "case": case }), now)?);
                    }
                    Review::Reject { comment } => {
                        c.execute(
                            "UPDATE messages SET delivery_state = 'rejected', review_comment = $1, reviewed_by = $2, updated_at = $3 WHERE id = $4",
                            params![comment.as_str(), reviewer.user_id().map(|u| u.to_string()), now.as_unix_micros(), id.to_string()],
                        )?;
                        audit(c, &reviewer, "message.rejected", ("message", id.to_string()), json!({"case_id": case.id, "comment": comment}), now)?;
                        // Its author is told why, to write it again.
                        let author = (message.author.kind == "user")
                            .then(|| message.author.id.as_deref().and_then(|a| UserId::parse(a).ok()))
                            .flatten();
                        if let Some(author) = author {
                            let body = format!("Your reply was not approved: {comment}");
                            events.extend(crate::notify::notify(c, &[author], "reply.rejected", Some(case.id), &body, now)?);
                        }
                    }
                }
                let message = message_by_id(c, id)?;
                events.push(emit(c, "message.updated", Some(message.case_id), json!({ "message": message }), now)?);
                Ok((message, events))
            })
            .await
    }

    /// Replies waiting for approval, oldest first; with `reviewer`, only those their teams
    /// review.
    pub async fn pending_approvals(
        &self,
        reviewer: Option<UserId>,
    ) -> Result<Vec<Message>, StoreError> {
        self.pool
            .read(move |c| {
                let cols = MESSAGE_COLS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ");
                let rows = match reviewer {
                    Some(u) => c.query(
                        &format!(
                            "SELECT {cols} FROM messages m JOIN team_members t ON t.team_id = m.review_team_id AND t.user_id = $1 \
                             WHERE m.delivery_state = 'pending_approval' ORDER BY m.created_at, m.id LIMIT 500"
                        ),
                        params![u.to_string()],
                    )?,
                    None => c.query(
                        &format!("SELECT {cols} FROM messages m WHERE m.delivery_state = 'pending_approval' ORDER BY m.created_at, m.id LIMIT 500"),
                        &[],
                    )?,
                };
                rows.iter().map(message_from_row).collect()
            })
            .await
    }

    /// What each held reply answers, for the reviewers' queue, in one read: the customer's
    /// message it replies to (else the last one before it), the channel it goes out on and
    /// whether it goes out in public (its conversation's, as the guards and approval policies
    /// read it).
    pub async fn approval_context(
        &self,
        replies: Vec<Message>,
    ) -> Result<Vec<ApprovalContext>, StoreError> {
        self.pool
            .read(move |c| replies.iter().map(|m| approval_context_of(c, m)).collect())
            .await
    }

    /// Moves a case to `team` (and/or a person) with a reason. Without a person, the new
    /// team's strategy picks one (no overflow: the sender chose this team). The reason and the
    /// route are kept as a note in the case's history and in the audit log.
    pub async fn transfer_case(
        &self,
        id: CaseId,
        team: Option<TeamId>,
        assignee: Option<UserId>,
        reason: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Case, Vec<Event>), StoreError> {
        self.pool
            .write(move |c| transfer(c, id, team, assignee, &reason, actor, now))
            .await
    }
}

/// Whether a case in `team` may be handed to `u`: an active person who answers cases (not a
/// reviewer) and, when the case has a team, one of its members. Refused on `assignee`.
pub(crate) fn assignable(
    c: &mut dyn Conn,
    u: UserId,
    team: Option<TeamId>,
) -> Result<(), StoreError> {
    let refuse = |m: String| StoreError::InvalidField("assignee", m);
    // An update that changes nothing, for its row lock: on PostgreSQL a deactivation in
    // flight is waited for and then seen (as in routing), so a case is never handed to
    // someone who can no longer log in. A plain read would see them still active.
    let active = c.execute(
        "UPDATE users SET active = active WHERE id = $1 AND active = $2",
        params![u.to_string(), true],
    )? == 1;
    if !active {
        return Err(refuse(format!("no active user with id {u}")));
    }
    let row = c.query_one(
        "SELECT role, display_name FROM users WHERE id = $1",
        params![u.to_string()],
    )?;
    let name = row.text(1)?;
    // A reviewer approves replies; a case handed to one would sit with no one to answer it.
    if row.text_ref(0)? == "reviewer" {
        return Err(refuse(format!(
            "{name} is a reviewer: reviewers approve replies, they do not answer cases"
        )));
    }
    // A person outside the case's team would work it apart from the team that owns it (its
    // queue, hours and SLA): transfer to their team, or add them to it.
    if let Some(t) = team
        && c.query_opt(
            "SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2",
            params![t.to_string(), u.to_string()],
        )?
        .is_none()
    {
        return Err(refuse(format!(
            "{name} is not in the team {:?}: add them to the team first, or transfer the case \
             to a team they are in",
            team_name(c, t)?
        )));
    }
    Ok(())
}

/// Moves a case to another team and/or person, with a reason that joins the case as a note.
/// Without a named person, the new team's strategy picks one (if the team is open).
pub(crate) fn transfer(
    c: &mut dyn Conn,
    id: CaseId,
    team: Option<TeamId>,
    assignee: Option<UserId>,
    reason: &str,
    actor: Actor,
    now: Timestamp,
) -> Result<(Case, Vec<Event>), StoreError> {
    let before = case_by_id(c, id)?;
    if !before.status.is_active() {
        return Err(StoreError::Invalid(format!(
            "the case is {}; reopen it before transferring it",
            before.status.as_str()
        )));
    }
    let to_team = team.or(before.team);
    if let Some(t) = team
        && c.query_opt("SELECT 1 FROM teams WHERE id = $1", params![t.to_string()])?
            .is_none()
    {
        return Err(StoreError::Invalid(format!("no team with id {t}")));
    }
    let to_assignee = match assignee {
        Some(u) => {
            assignable(c, u, to_team)?;
            Some(u)
        }
        None => match (team, to_team) {
            (Some(_), Some(t)) => {
                let state = team_state_by_id(c, t, now)?;
                let chosen = if state.open_now {
                    assign(
                        state.strategy,
                        state.capacity,
                        &state.agents,
                        &before.skills,
                        state.last_assigned,
                    )
                    .ok()
                } else {
                    None
                };
                // Only while the person is still active (their row's lock orders this against
                // a deactivation, as in routing): else the case waits in the team.
                let chosen = match chosen {
                    Some(u) => {
                        let active = c.execute(
                            "UPDATE users SET last_assigned_at = $1 WHERE id = $2 AND active = $3",
                            params![now.as_unix_micros(), u.to_string(), true],
                        )? == 1;
                        active.then_some(u)
                    }
                    None => None,
                };
                if let Some(u) = chosen {
                    c.execute(
                        "UPDATE teams SET last_assigned_id = $1 WHERE id = $2",
                        params![u.to_string(), t.to_string()],
                    )?;
                }
                chosen
            }
            _ => before.assignee,
        },
    };
    c.execute(
        "UPDATE cases SET team_id = $1, assignee_id = $2, updated_at = $3, sla_check_at = $3 WHERE id = $4",
        params![to_team.map(|t| t.to_string()), to_assignee.map(|u| u.to_string()), now.as_unix_micros(), id.to_string()],
    )?;
    let name_of_team = |c: &mut dyn Conn, t: Option<TeamId>| -> Result<String, StoreError> {
        t.map_or(Ok("no team".to_owned()), |t| team_name(c, t))
    };
    let name_of_user = |c: &mut dyn Conn, u: Option<UserId>| -> Result<String, StoreError> {
        match u {
            Some(u) => c
                .query_one(
                    "SELECT display_name FROM users WHERE id = $1",
                    params![u.to_string()],
                )?
                .text(0),
            None => Ok("nobody".to_owned()),
        }
    };
    let from = format!(
        "{} ({})",
        name_of_team(c, before.team)?,
        name_of_user(c, before.assignee)?
    );
    let to = format!(
        "{} ({})",
        name_of_team(c, to_team)?,
        name_of_user(c, to_assignee)?
    );
    let note = format!("Transferred from {from} to {to}: {reason}");
    audit(
        c,
        &actor,
        "case.transferred",
        ("case", id.to_string()),
        json!({
            "from": {"team": before.team, "assignee": before.assignee},
            "to": {"team": to_team, "assignee": to_assignee},
            "reason": reason,
        }),
        now,
    )?;
    // The reason joins the case's history as a note (the same path as any note).
    let (_, mut events, _) = add_message(
        c,
        id,
        crate::cases::ReplyTo::default(),
        Direction::Note,
        note,
        actor,
        now,
        None,
    )?;
    let case = case_by_id(c, id)?;
    events.insert(
        0,
        emit(c, "case.updated", Some(id), json!({ "case": case }), now)?,
    );
    Ok((case, events))
}
