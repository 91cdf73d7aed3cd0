//! Automatic answers: the queue a playbook rule's `then.auto_answer` fills when a case is
//! created, the worker's view of it, and what answering (or not) does to the case. The
//! decision itself (is the best article good enough?) is the server's; here everything that
//! changes data happens in one transaction, so a crash never leaves a sent answer on an
//! unresolved case or a resolved case without its answer.

use crate::cases::{ReplyTo, add_message, case_by_id};
use crate::journal::{audit, bad, emit};
use crate::sql::{Conn, Row};
use crate::{Actor, Event, Message, Store, StoreError, params};
use serde::Serialize;
use serde_json::json;
use switchboard_core::playbook::AutoAnswer;
use switchboard_core::*;

/// `cases.resolution` of a case an automatic answer resolved.
pub(crate) const DEFLECTED: &str = "deflected";

/// A case waiting for its automatic answer.
#[derive(Debug, Clone)]
pub struct AutoAnswerJob {
    pub case_id: CaseId,
    pub message_id: MessageId,
    pub question: String,
    pub understanding: Option<Understood>,
    pub purpose: Purpose,
    pub policy: AutoAnswer,
}

/// What became of a case's automatic answer, as the case shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoAnswerRecord {
    /// `pending`, `answered`, `held` (a reviewer must approve it first), `skipped`,
    /// `confirmed` (the customer thanked), `reopened` (the customer wrote back) or
    /// `undelivered` (the channel refused it; the case opened again).
    pub state: String,
    /// Why it was skipped: `low_confidence`, `no_article`, `crisis`, `negative_sentiment`,
    /// `case_moved_on`, `channel_rules: …`.
    pub reason: Option<String>,
    pub article_id: Option<String>,
    pub confidence: Option<f64>,
    pub reply_id: Option<MessageId>,
    pub policy: AutoAnswer,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What the worker decided for one case.
#[derive(Debug, Clone)]
pub enum AutoAnswerDecision {
    Answer {
        text: String,
        article_id: String,
        confidence: f64,
    },
    Skip {
        reason: String,
        /// The best article's confidence, if there was one.
        confidence: Option<f64>,
    },
}

/// What finishing a job did.
#[derive(Debug, Clone)]
pub struct AutoAnswered {
    pub state: String,
    pub reply: Option<Message>,
    pub events: Vec<Event>,
}

pub(crate) fn queue(
    c: &mut dyn Conn,
    case: CaseId,
    message: MessageId,
    policy: &AutoAnswer,
    now: Timestamp,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO auto_answers (case_id, message_id, policy, state, created_at, updated_at) \
         VALUES ($1, $2, $3, 'pending', $4, $4)",
        params![
            case.to_string(),
            message.to_string(),
            serde_json::to_string(policy).map_err(|e| StoreError::Backend(e.to_string()))?,
            now.as_unix_micros()
        ],
    )?;
    Ok(())
}

fn set_state(
    c: &mut dyn Conn,
    case: CaseId,
    from: &str,
    to: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE auto_answers SET state = $1, updated_at = $2 WHERE case_id = $3 AND state = $4",
        params![to, now.as_unix_micros(), case.to_string(), from],
    )?;
    Ok(())
}

/// The customer thanked for the automatic answer.
pub(crate) fn confirmed(c: &mut dyn Conn, case: CaseId, now: Timestamp) -> Result<(), StoreError> {
    set_state(c, case, "answered", "confirmed", now)?;
    audit(
        c,
        &Actor::System,
        "case.deflection_confirmed",
        ("case", case.to_string()),
        json!({"cause": "the customer thanked for the automatic answer"}),
        now,
    )
}

/// The automatic answer did not settle it: the case is open again, for a person.
pub(crate) fn reopened(c: &mut dyn Conn, case: CaseId, now: Timestamp) -> Result<(), StoreError> {
    set_state(c, case, "answered", "reopened", now)?;
    set_state(c, case, "confirmed", "reopened", now)
}

/// An automatic answer could not be delivered: the customer got nothing, so the case it
/// resolved opens again for a person. Returns the case's event, if it was one.
pub(crate) fn undeliverable(
    c: &mut dyn Conn,
    reply: MessageId,
    case: CaseId,
    now: Timestamp,
) -> Result<Option<Event>, StoreError> {
    let n = c.execute(
        "UPDATE auto_answers SET state = 'undelivered', updated_at = $1 WHERE case_id = $2 AND reply_id = $3 \
         AND state IN ('answered', 'held')",
        params![now.as_unix_micros(), case.to_string(), reply.to_string()],
    )?;
    if n == 0 {
        return Ok(None);
    }
    let current = case_by_id(c, case)?;
    if current.status != CaseStatus::Resolved || current.resolution.as_deref() != Some(DEFLECTED) {
        return Ok(None);
    }
    crate::lifecycle::leave_status(c, case, now)?;
    c.execute(
        "UPDATE cases SET status = 'open', resolved_at = NULL, resolution = NULL, updated_at = $1, \
         status_since = $1, sla_check_at = $1, reopen_count = reopen_count + 1 WHERE id = $2",
        params![now.as_unix_micros(), case.to_string()],
    )?;
    audit(
        c,
        &Actor::System,
        "case.reopened",
        ("case", case.to_string()),
        json!({"from": "resolved", "to": "open", "cause": "the automatic answer could not be delivered"}),
        now,
    )?;
    let reopened = case_by_id(c, case)?;
    Ok(Some(emit(
        c,
        "case.updated",
        Some(case),
        json!({ "case": reopened }),
        now,
    )?))
}

fn policy_of(r: &Row, i: usize) -> Result<AutoAnswer, StoreError> {
    serde_json::from_str(&r.text(i)?)
        .map_err(|e| StoreError::Backend(format!("a stored auto-answer policy is not JSON: {e}")))
}

pub(crate) fn record_of(
    c: &mut dyn Conn,
    case: CaseId,
) -> Result<Option<AutoAnswerRecord>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT state, reason, article_id, confidence, reply_id, policy, created_at, updated_at \
         FROM auto_answers WHERE case_id = $1",
        params![case.to_string()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(AutoAnswerRecord {
        state: r.text(0)?,
        reason: r.opt_text(1)?,
        article_id: r.opt_text(2)?,
        confidence: r.opt_real(3)?,
        reply_id: r
            .opt_text(4)?
            .map(|s| MessageId::parse(&s))
            .transpose()
            .map_err(bad)?,
        policy: policy_of(&r, 5)?,
        created_at: Timestamp::from_unix_micros(r.int(6)?),
        updated_at: Timestamp::from_unix_micros(r.int(7)?),
    }))
}

impl Store {
    /// Cases waiting for their automatic answer, oldest first.
    pub async fn pending_auto_answers(
        &self,
        limit: usize,
    ) -> Result<Vec<AutoAnswerJob>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    "SELECT a.case_id, a.message_id, m.text, m.understanding, k.purpose, a.policy \
                     FROM auto_answers a JOIN messages m ON m.id = a.message_id JOIN cases k ON k.id = a.case_id \
                     WHERE a.state = 'pending' ORDER BY a.created_at, a.case_id LIMIT $1",
                    params![limit as i64],
                )?
                .iter()
                .map(|r| {
                    Ok(AutoAnswerJob {
                        case_id: CaseId::parse(&r.text(0)?).map_err(bad)?,
                        message_id: MessageId::parse(&r.text(1)?).map_err(bad)?,
                        question: r.text(2)?,
                        understanding: r
                            .opt_text(3)?
                            .and_then(|s| serde_json::from_str(&s).ok()),
                        purpose: Purpose::parse(&r.text(4)?).map_err(bad)?,
                        policy: policy_of(r, 5)?,
                    })
                })
                .collect()
            })
            .await
    }

    /// What became of a case's automatic answer, if a rule asked for one.
    pub async fn auto_answer_of(
        &self,
        case: CaseId,
    ) -> Result<Option<AutoAnswerRecord>, StoreError> {
        self.pool.read(move |c| record_of(c, case)).await
    }

    /// Acts on the worker's decision for a pending case. An answer is sent only if the case
    /// is still untouched (new, nothing sent on it): it goes out as a reply of Switchboard's
    /// own, through the guards and approval policies like any reply, and resolves the case as
    /// `deflected`; a reply held for approval leaves the case open. Finishing a job that is no
    /// longer pending does nothing.
    pub async fn finish_auto_answer(
        &self,
        case: CaseId,
        decision: AutoAnswerDecision,
        now: Timestamp,
    ) -> Result<AutoAnswered, StoreError> {
        let playbooks = self.playbooks.clone();
        self.pool
            .write(move |c| {
                let nothing = |state: String| AutoAnswered {
                    state,
                    reply: None,
                    events: vec![],
                };
                let Some(state) = c
                    .query_opt(
                        "SELECT state FROM auto_answers WHERE case_id = $1",
                        params![case.to_string()],
                    )?
                    .map(|r| r.text(0))
                    .transpose()?
                else {
                    return Err(StoreError::NotFound);
                };
                if state != "pending" {
                    return Ok(nothing(state));
                }
                let skip = |c: &mut dyn Conn, reason: &str, confidence: Option<f64>| {
                    c.execute(
                        "UPDATE auto_answers SET state = 'skipped', reason = $1, confidence = $2, updated_at = $3 \
                         WHERE case_id = $4",
                        params![reason, confidence, now.as_unix_micros(), case.to_string()],
                    )?;
                    Ok::<_, StoreError>(nothing("skipped".into()))
                };
                let (text, article_id, confidence) = match decision {
                    AutoAnswerDecision::Skip { reason, confidence } => {
                        return skip(c, &reason, confidence);
                    }
                    AutoAnswerDecision::Answer {
                        text,
                        article_id,
                        confidence,
                    } => (text, article_id, confidence),
                };
                // Anything on the case besides the question (a second customer message, a
                // reply, a note, a transfer's note) means someone or something moved on.
                let current = case_by_id(c, case)?;
                let touched = current.status != CaseStatus::New
                    || c.query_one(
                        "SELECT COUNT(*) FROM messages WHERE case_id = $1",
                        params![case.to_string()],
                    )?
                    .int(0)?
                        > 1;
                if touched {
                    return skip(c, "case_moved_on", Some(confidence));
                }
                let active = playbooks.current(c)?;
                let (reply, mut events, _guard) = add_message(
                    c,
                    case,
                    ReplyTo::default(),
                    Direction::Outbound,
                    text,
                    Actor::System,
                    now,
                    active.as_deref(),
                )?;
                let held = reply.delivery_state == DeliveryState::PendingApproval;
                let state = if held { "held" } else { "answered" };
                c.execute(
                    "UPDATE auto_answers SET state = $1, article_id = $2, confidence = $3, reply_id = $4, updated_at = $5 \
                     WHERE case_id = $6",
                    params![
                        state,
                        article_id.as_str(),
                        confidence,
                        reply.id.to_string(),
                        now.as_unix_micros(),
                        case.to_string()
                    ],
                )?;
                if !held {
                    crate::lifecycle::leave_status(c, case, now)?;
                    c.execute(
                        "UPDATE cases SET status = 'resolved', resolved_at = $1, resolution = $2, updated_at = $1, \
                         status_since = $1, first_response_at = COALESCE(first_response_at, $1) WHERE id = $3",
                        params![now.as_unix_micros(), DEFLECTED, case.to_string()],
                    )?;
                    audit(
                        c,
                        &Actor::System,
                        "case.deflected",
                        ("case", case.to_string()),
                        json!({"article_id": article_id, "confidence": confidence, "reply_id": reply.id}),
                        now,
                    )?;
                    let resolved = case_by_id(c, case)?;
                    events.push(emit(
                        c,
                        "case.updated",
                        Some(case),
                        json!({ "case": resolved }),
                        now,
                    )?);
                }
                Ok(AutoAnswered {
                    state: state.into(),
                    reply: Some(reply),
                    events,
                })
            })
            .await
    }
}
