//! Referral: Tier 1 hands a case to the owning department in one step — a new purpose if it
//! was misread, the team, the reason as a note, and optionally a reply telling the customer
//! who will answer and when — all in one transaction.

use crate::cases::{ReplyTo, add_message, case_by_id};
use crate::journal::audit;
use crate::routing::team_hours;
use crate::sql::Conn;
use crate::{Actor, Case, Event, Message, Store, StoreError, params};
use serde_json::json;
use switchboard_core::referral::{Expectation, expect};
use switchboard_core::sla::Target;
use switchboard_core::*;

/// What referring a case did.
#[derive(Debug, Clone)]
pub struct Referral {
    pub case: Case,
    pub expectation: Expectation,
    /// The reply that told the customer, if one did.
    pub told: Option<Message>,
    pub events: Vec<Event>,
}

/// What the customer can expect from `team` for `case` (with `purpose`, if it changes).
fn expectation(
    c: &mut dyn Conn,
    cache: &crate::routing::PlaybookCache,
    case: &Case,
    team: TeamId,
    purpose: &Purpose,
    now: Timestamp,
) -> Result<Expectation, StoreError> {
    let Some(row) = c.query_opt(
        "SELECT name, hours FROM teams WHERE id = $1",
        params![team.to_string()],
    )?
    else {
        return Err(StoreError::Invalid(format!("no team with id {team}")));
    };
    let name = row.text(0)?;
    let hours = team_hours(row.opt_text(1)?)?;
    let target = match cache.current(c)? {
        Some(active) => {
            switchboard_core::sla::select(&active.playbook.slas, purpose, case.priority).and_then(
                |policy| {
                    let wanted = if case.first_response_at.is_none() {
                        Target::FirstResponse
                    } else {
                        Target::NextResponse
                    };
                    policy
                        .target(wanted)
                        .or_else(|| policy.target(Target::FirstResponse))
                },
            )
        }
        None => None,
    };
    Ok(expect(&name, &hours, target, now))
}

impl Store {
    /// What the customer can expect if `case` is referred to `team` now: who answers and by
    /// when (the SLA's response target in the team's business hours). Changes nothing.
    pub async fn referral_expectation(
        &self,
        case: CaseId,
        team: TeamId,
        purpose: Option<Purpose>,
        now: Timestamp,
    ) -> Result<Expectation, StoreError> {
        let cache = self.playbooks.clone();
        self.pool
            .read(move |c| {
                let current = case_by_id(c, case)?;
                let purpose = purpose.unwrap_or_else(|| current.purpose.clone());
                expectation(c, &cache, &current, team, &purpose, now)
            })
            .await
    }

    /// Refers `case` to `team` (its strategy picks a person when the team is open), with
    /// `purpose` if the case was misread (a person's correction, which teaches the purpose
    /// model), the reason kept as a note, and `tell` sent to the customer as a reply.
    #[allow(clippy::too_many_arguments)]
    pub async fn refer_case(
        &self,
        case: CaseId,
        team: TeamId,
        purpose: Option<Purpose>,
        reason: String,
        tell: Option<String>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Referral, StoreError> {
        let cache = self.playbooks.clone();
        self.pool
            .write(move |c| {
                let before = case_by_id(c, case)?;
                if let Some(p) = &purpose
                    && *p != before.purpose
                {
                    crate::purposes::ensure_known(c, p)?;
                    c.execute(
                        "UPDATE cases SET purpose = $1 WHERE id = $2",
                        params![p.as_str(), case.to_string()],
                    )?;
                    crate::training::purpose_corrected(c, case, p.as_str(), &actor, now)?;
                }
                let to_purpose = purpose.unwrap_or_else(|| before.purpose.clone());
                let expected = expectation(c, &cache, &before, team, &to_purpose, now)?;
                let (_, mut events) = crate::review::transfer(
                    c,
                    case,
                    Some(team),
                    None,
                    &reason,
                    actor.clone(),
                    now,
                )?;
                audit(
                    c,
                    &actor,
                    "case.referred",
                    ("case", case.to_string()),
                    json!({"from_purpose": before.purpose, "purpose": to_purpose, "team": team,
                           "reason": reason, "expectation": expected, "told": tell.is_some()}),
                    now,
                )?;
                let told = match tell {
                    Some(text) => {
                        let active = cache.current(c)?;
                        let (m, mut more, _) = add_message(
                            c,
                            case,
                            ReplyTo::default(),
                            Direction::Outbound,
                            text,
                            actor,
                            now,
                            active.as_deref(),
                        )?;
                        events.append(&mut more);
                        Some(m)
                    }
                    None => None,
                };
                Ok(Referral {
                    case: case_by_id(c, case)?,
                    expectation: expected,
                    told,
                    events,
                })
            })
            .await
    }
}
