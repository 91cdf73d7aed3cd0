//! Customer satisfaction surveys: the question goes out once per case, as Switchboard's own
//! message, when a person resolves it (the server checks the playbook's `[csat]` and the
//! channel's rules first); the customer's score is recorded by ingest, which keeps the case
//! resolved instead of reopening it (see `ingest.rs`).

use crate::cases::{ReplyTo, add_message, case_by_id};
use crate::journal::audit;
use crate::sql::Conn;
use crate::{Actor, Event, Store, StoreError, params};
use serde_json::json;
use switchboard_core::csat::CsatPolicy;
use switchboard_core::*;

/// `cases.csat_state` once the question went out.
pub(crate) const ASKED: &str = "asked";

impl Store {
    /// The survey of the playbook in force, if it has one.
    pub async fn csat_policy(&self) -> Result<Option<CsatPolicy>, StoreError> {
        let playbooks = self.playbooks.clone();
        self.pool
            .read(move |c| Ok(playbooks.current(c)?.and_then(|p| p.playbook.csat.clone())))
            .await
    }

    /// The workspace's time zone: the playbook's top-level `[hours]`, else UTC. Reports count
    /// their days and weeks in it unless asked otherwise.
    pub async fn workspace_time_zone(&self) -> Result<String, StoreError> {
        let playbooks = self.playbooks.clone();
        self.pool
            .read(move |c| {
                Ok(playbooks.current(c)?.map_or_else(
                    || "UTC".to_owned(),
                    |p| p.playbook.hours.timezone().to_owned(),
                ))
            })
            .await
    }

    /// Asks the case's customer `question`, once: only while the case is resolved and was
    /// never asked. Returns the events, or `None` when it was not asked.
    pub async fn ask_csat(
        &self,
        case: CaseId,
        question: String,
        now: Timestamp,
    ) -> Result<Option<Vec<Event>>, StoreError> {
        let playbooks = self.playbooks.clone();
        self.pool
            .write(move |c| {
                let current = case_by_id(c, case)?;
                let asked = c
                    .query_one(
                        "SELECT csat_state FROM cases WHERE id = $1",
                        params![case.to_string()],
                    )?
                    .opt_text(0)?;
                if current.status != CaseStatus::Resolved || asked.is_some() {
                    return Ok(None);
                }
                let active = playbooks.current(c)?;
                let (message, events, _guard) = add_message(
                    c,
                    case,
                    ReplyTo::default(),
                    Direction::Outbound,
                    question,
                    Actor::System,
                    now,
                    active.as_deref(),
                )?;
                c.execute(
                    "UPDATE cases SET csat_state = $1, csat_asked_at = $2, csat_message_id = $3 WHERE id = $4",
                    params![ASKED, now.as_unix_micros(), message.id.to_string(), case.to_string()],
                )?;
                audit(
                    c,
                    &Actor::System,
                    "case.csat_asked",
                    ("case", case.to_string()),
                    json!({"message_id": message.id}),
                    now,
                )?;
                Ok(Some(events))
            })
            .await
    }
}

/// Records the customer's score on a case that was asked.
pub(crate) fn answered(
    c: &mut dyn Conn,
    case: CaseId,
    score: u8,
    sent_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE cases SET csat_state = 'answered', csat_score = $1, csat_answered_at = $2 WHERE id = $3",
        params![i64::from(score), sent_at.as_unix_micros(), case.to_string()],
    )?;
    audit(
        c,
        &Actor::System,
        "case.csat_answered",
        ("case", case.to_string()),
        json!({"score": score}),
        now,
    )
}
