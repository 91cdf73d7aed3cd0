//! Labelled examples from agents' corrections: a case's purpose changed by a person becomes a
//! `purpose` example (the text of the case's first customer message, the new purpose); a
//! message's intent corrected becomes an `intent` example. The learning loop retrains on them.
//! Personal data (card numbers, IBANs, e-mail addresses, …) is removed from a correction's
//! text before it is kept.

use crate::journal::{audit, bad, emit};
use crate::sql::{Conn, Row};
use crate::{Actor, Store, StoreError, params};
use serde::Serialize;
use serde_json::json;
use switchboard_core::{CaseId, ExampleId, MessageId, Timestamp};

/// One labelled example.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingExample {
    pub id: ExampleId,
    /// `purpose` or `intent`.
    pub kind: String,
    pub text: String,
    pub label: String,
    pub case_id: Option<CaseId>,
    pub message_id: Option<MessageId>,
    pub created_by: String,
    pub created_at: Timestamp,
}

const COLS: &str = "id, kind, text, label, case_id, message_id, created_by, created_at";

fn from_row(r: &Row) -> Result<TrainingExample, StoreError> {
    Ok(TrainingExample {
        id: ExampleId::parse(&r.text(0)?).map_err(bad)?,
        kind: r.text(1)?,
        text: r.text(2)?,
        label: r.text(3)?,
        case_id: r
            .opt_text(4)?
            .map(|s| CaseId::parse(&s))
            .transpose()
            .map_err(bad)?,
        message_id: r
            .opt_text(5)?
            .map(|s| MessageId::parse(&s))
            .transpose()
            .map_err(bad)?,
        created_by: r.text(6)?,
        created_at: Timestamp::from_unix_micros(r.int(7)?),
    })
}

/// Records an example from a person or an integration's token (a change the system made,
/// such as an SLA reassignment, teaches nothing).
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    c: &mut dyn Conn,
    kind: &str,
    text: &str,
    label: &str,
    case: Option<CaseId>,
    message: Option<MessageId>,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), StoreError> {
    if matches!(actor, Actor::System | Actor::Expert { .. }) || text.trim().is_empty() {
        return Ok(());
    }
    // Kept for as long as models are retrained: never with the personal data it carried.
    let text = switchboard_core::guard::without_personal_data(text);
    // A message's latest correction is the one that counts: an agent changing their mind
    // leaves one example, not two that contradict each other.
    if let Some(m) = message {
        c.execute(
            "DELETE FROM training_examples WHERE kind = $1 AND message_id = $2",
            params![kind, m.to_string()],
        )?;
    }
    c.execute(
        &format!("INSERT INTO training_examples ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
        params![
            ExampleId::new_at(now).to_string(),
            kind,
            text.as_str(),
            label,
            case.map(|c| c.to_string()),
            message.map(|m| m.to_string()),
            actor.name(),
            now.as_unix_micros()
        ],
    )?;
    Ok(())
}

/// A purpose correction on `case`: its first customer message, relabelled.
pub(crate) fn purpose_corrected(
    c: &mut dyn Conn,
    case: CaseId,
    purpose: &str,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), StoreError> {
    let first = c.query_opt(
        "SELECT id, text FROM messages WHERE case_id = $1 AND direction = 'inbound' ORDER BY created_at, id LIMIT 1",
        params![case.to_string()],
    )?;
    if let Some(r) = first {
        let message = MessageId::parse(&r.text(0)?).map_err(bad)?;
        record(
            c,
            "purpose",
            &r.text(1)?,
            purpose,
            Some(case),
            Some(message),
            actor,
            now,
        )?;
    }
    Ok(())
}

/// What the learning loop last decided for a kind of model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearningDecision {
    /// The newest correction this decision covered (later ones are waiting).
    pub decided_through: String,
    pub decided_at: Timestamp,
    /// `training`, `shipped`, `kept`, `unchanged`, `skipped`, `failed` or `interrupted` (a
    /// restart came while training).
    pub outcome: String,
    /// Scores, the version shipped, labels left out, or the error.
    pub detail: serde_json::Value,
}

impl Store {
    /// The learning loop's last decision on `kind`, if it made one.
    pub async fn learning_decision(
        &self,
        kind: String,
    ) -> Result<Option<LearningDecision>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    "SELECT decided_through, decided_at, outcome, detail FROM learning_state WHERE kind = $1",
                    params![kind],
                )?
                .map(|r| {
                    Ok(LearningDecision {
                        decided_through: r.text(0)?,
                        decided_at: Timestamp::from_unix_micros(r.int(1)?),
                        outcome: r.text(2)?,
                        detail: serde_json::from_str(&r.text(3)?).map_err(|e| StoreError::Backend(format!("a stored learning decision: {e}")))?,
                    })
                })
                .transpose()
            })
            .await
    }

    /// Records a decision on `kind` only if the last one covered `expected` corrections
    /// (`""`: none yet) or is this same one (`decision.decided_through == expected`, an
    /// outcome replacing `training`). Returns false when another node decided first.
    pub async fn record_learning_decision(
        &self,
        kind: String,
        expected: String,
        decision: LearningDecision,
    ) -> Result<bool, StoreError> {
        self.pool
            .write(move |c| {
                let n = c.execute(
                    "INSERT INTO learning_state (kind, decided_through, decided_at, outcome, detail) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (kind) DO UPDATE SET decided_through = $2, decided_at = $3, \
                     outcome = $4, detail = $5 WHERE learning_state.decided_through = $6",
                    params![
                        kind.as_str(),
                        decision.decided_through.as_str(),
                        decision.decided_at.as_unix_micros(),
                        decision.outcome.as_str(),
                        decision.detail.to_string(),
                        expected.as_str()
                    ],
                )?;
                Ok(n > 0)
            })
            .await
    }

    /// Corrects the intent understood in an inbound message: stored on the message and kept as
    /// an `intent` example. Audited; returns the message and its `message.updated` event.
    pub async fn correct_intent(
        &self,
        message: MessageId,
        label: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(crate::Message, crate::Event), StoreError> {
        self.correct_understood(message, "intent", label, actor, now, |u, label| {
            let before = u.intent.as_ref().map(|i| i.label.clone());
            u.intent = Some(switchboard_core::Classification {
                label: label.to_owned(),
                confidence: 1.0,
                because: vec![],
                unknown: None,
            });
            before
        })
        .await
    }

    /// Corrects the sentiment understood in an inbound message (`negative`, `neutral` or
    /// `positive`; the score becomes −1, 0 or 1, as a person said so): stored on the message
    /// and kept as a `sentiment` example. Audited; returns the message and its
    /// `message.updated` event.
    pub async fn correct_sentiment(
        &self,
        message: MessageId,
        label: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(crate::Message, crate::Event), StoreError> {
        let score = match label.as_str() {
            "negative" => -1.0,
            "neutral" => 0.0,
            "positive" => 1.0,
            other => {
                return Err(StoreError::Invalid(format!(
                    "a sentiment is negative, neutral or positive, not {other:?}"
                )));
            }
        };
        self.correct_understood(message, "sentiment", label, actor, now, move |u, label| {
            let before = u.sentiment.as_ref().map(|s| s.label.clone());
            u.sentiment = Some(switchboard_core::SentimentScore {
                label: label.to_owned(),
                score,
                by_person: true,
            });
            before
        })
        .await
    }

    /// Sets what was understood of `kind` in an inbound message (`set` returns the label
    /// before), keeps the text and label as an example of `kind`, and audits
    /// `message.{kind}_corrected`; the `message.updated` event tells open case pages.
    async fn correct_understood(
        &self,
        message: MessageId,
        kind: &'static str,
        label: String,
        actor: Actor,
        now: Timestamp,
        set: impl FnOnce(&mut switchboard_core::Understood, &str) -> Option<String> + Send + 'static,
    ) -> Result<(crate::Message, crate::Event), StoreError> {
        self.pool
            .write(move |c| {
                let m = crate::cases::message_by_id(c, message)?;
                if m.direction != switchboard_core::Direction::Inbound {
                    return Err(StoreError::Invalid(format!(
                        "only a customer's message can have its {kind} corrected"
                    )));
                }
                let mut understood = m.understanding.clone().unwrap_or_default();
                let before = set(&mut understood, &label);
                c.execute(
                    "UPDATE messages SET understanding = $1 WHERE id = $2",
                    params![
                        serde_json::to_string(&understood)
                            .map_err(|e| StoreError::Backend(e.to_string()))?,
                        message.to_string()
                    ],
                )?;
                record(
                    c,
                    kind,
                    &m.text,
                    &label,
                    Some(m.case_id),
                    Some(message),
                    &actor,
                    now,
                )?;
                audit(
                    c,
                    &actor,
                    &format!("message.{kind}_corrected"),
                    ("message", message.to_string()),
                    json!({"from": before, "to": label, "case_id": m.case_id}),
                    now,
                )?;
                let updated = crate::cases::message_by_id(c, message)?;
                let event = emit(
                    c,
                    "message.updated",
                    Some(updated.case_id),
                    json!({ "message": updated }),
                    now,
                )?;
                Ok((updated, event))
            })
            .await
    }

    /// Leaves no version of `kind` active (the shipped purpose or sentiment model, or no
    /// intent model, is used again). Audited; returns whether one was active.
    pub async fn deactivate_model(
        &self,
        kind: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.pool
            .write(move |c| {
                let n = c.execute(
                    "UPDATE models SET active = $1 WHERE kind = $2 AND active = $3",
                    params![false, kind.as_str(), true],
                )?;
                if n > 0 {
                    audit(
                        c,
                        &actor,
                        "model.deactivated",
                        ("model", kind.clone()),
                        json!({"kind": kind}),
                        now,
                    )?;
                }
                Ok(n > 0)
            })
            .await
    }

    /// Writes one audit entry (for decisions made outside the store, such as a retrained
    /// model kept out).
    pub async fn audit_event(
        &self,
        actor: Actor,
        action: &'static str,
        subject: (&'static str, String),
        details: serde_json::Value,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| audit(c, &actor, action, (subject.0, subject.1), details, now))
            .await
    }

    /// Replaces the examples of `kind` that came from a training file (not from corrections)
    /// with `examples`, in one transaction. Returns how many were stored.
    pub async fn replace_base_examples(
        &self,
        kind: String,
        examples: Vec<(String, String)>,
        source: String,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        self.pool
            .write(move |c| {
                c.execute(
                    "DELETE FROM training_examples WHERE kind = $1 AND message_id IS NULL AND case_id IS NULL",
                    params![kind.as_str()],
                )?;
                // One microsecond apart, so they list in the file's order.
                for (i, (text, label)) in examples.iter().enumerate() {
                    let at = Timestamp::from_unix_micros(now.as_unix_micros() + i as i64);
                    c.execute(
                        &format!("INSERT INTO training_examples ({COLS}) VALUES ($1, $2, $3, $4, NULL, NULL, $5, $6)"),
                        params![
                            ExampleId::new_at(at).to_string(),
                            kind.as_str(),
                            text.as_str(),
                            label.as_str(),
                            source.as_str(),
                            at.as_unix_micros()
                        ],
                    )?;
                }
                Ok(examples.len())
            })
            .await
    }

    /// One page of the examples of `kind`, oldest first, after the example `after`:
    /// `corrections` true only agents' corrections, false only a training file's, `None` both.
    pub async fn training_examples_page(
        &self,
        kind: String,
        corrections: Option<bool>,
        after: Option<ExampleId>,
        limit: i64,
    ) -> Result<crate::Page<TrainingExample>, StoreError> {
        self.pool
            .read(move |c| {
                let mut sql = format!("SELECT {COLS} FROM training_examples WHERE kind = $1");
                let mut args: Vec<crate::sql::Value> = vec![kind.into()];
                match corrections {
                    Some(true) => sql.push_str(" AND message_id IS NOT NULL"),
                    Some(false) => sql.push_str(" AND message_id IS NULL"),
                    None => {}
                }
                if let Some(a) = after {
                    args.push(a.to_string().into());
                    sql.push_str(&format!(" AND id > ${}", args.len()));
                }
                args.push(crate::sql::Value::Int(limit + 1));
                sql.push_str(&format!(" ORDER BY id LIMIT ${}", args.len()));
                let items = c
                    .query(&sql, &args)?
                    .iter()
                    .map(from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(crate::Page::from_overfetch(items, limit, |e| {
                    e.id.to_string()
                }))
            })
            .await
    }

    /// The distinct labels of `kind`'s examples, sorted.
    pub async fn training_labels(&self, kind: String) -> Result<Vec<String>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    "SELECT DISTINCT label FROM training_examples WHERE kind = $1 ORDER BY label",
                    params![kind],
                )?
                .iter()
                .map(|r| r.text(0))
                .collect()
            })
            .await
    }

    /// Examples of `kind`, oldest first.
    pub async fn training_examples(
        &self,
        kind: String,
    ) -> Result<Vec<TrainingExample>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    &format!("SELECT {COLS} FROM training_examples WHERE kind = $1 ORDER BY created_at, id"),
                    params![kind],
                )?
                .iter()
                .map(from_row)
                .collect()
            })
            .await
    }
}
