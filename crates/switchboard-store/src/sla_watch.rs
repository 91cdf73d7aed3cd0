//! The SLA watch: each active case stores when its clocks next change state
//! (`cases.sla_check_at`); the server's SLA worker asks for the due ones and checks each.
//! A check warns before a breach (the assignee, or the team's supervisors when nobody has the
//! case) and acts at a breach as the policy says: raise the priority, notify the supervisors,
//! reassign to a team. Each warning and breach is acted on once (`cases.sla_fired`), audited,
//! and published as an `sla.warning` / `sla.breached` event.

use crate::cases::{case_by_id, case_messages};
use crate::journal::{audit, bad, emit};
use crate::notify::{notify, supervisors_of};
use crate::routing::{PlaybookCache, case_sla, team_id_by_slug};
use crate::sql::Conn;
use crate::{Actor, Event, Store, StoreError, params};
use serde::Serialize;
use serde_json::json;
use switchboard_core::sla::{BreachAction, Crossing, SlaStatus, crossings, next_wakeup, select};
use switchboard_core::*;

/// What one check did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SlaCheck {
    pub warnings: u32,
    pub breaches: u32,
    /// The actions taken at breaches, as `raise_priority`, `notify_supervisor`, `reassign:<team>`.
    pub actions: Vec<String>,
    pub next_check_at: Option<Timestamp>,
}

fn fired_list(c: &mut dyn Conn, id: CaseId) -> Result<Vec<String>, StoreError> {
    let text = c
        .query_one(
            "SELECT sla_fired FROM cases WHERE id = $1",
            params![id.to_string()],
        )?
        .text(0)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Backend(format!("sla_fired: {e}")))
}

fn set_check(
    c: &mut dyn Conn,
    id: CaseId,
    at: Option<Timestamp>,
    fired: &[String],
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE cases SET sla_check_at = $1, sla_fired = $2 WHERE id = $3",
        params![
            at.map(|t| t.as_unix_micros()),
            serde_json::to_string(fired).map_err(|e| StoreError::Backend(e.to_string()))?,
            id.to_string()
        ],
    )?;
    Ok(())
}

fn describe(x: &Crossing) -> String {
    let what = x.target.as_str().replace('_', " ");
    match x.status {
        SlaStatus::Breached => format!(
            "The {what} target was breached (due {})",
            x.due_at.to_rfc3339()
        ),
        _ => format!("The {what} target is due at {}", x.due_at.to_rfc3339()),
    }
}

/// Checks one case at `now`; see the module docs.
pub(crate) fn check(
    c: &mut dyn Conn,
    cache: &PlaybookCache,
    id: CaseId,
    now: Timestamp,
) -> Result<(SlaCheck, Vec<Event>), StoreError> {
    let mut out = SlaCheck::default();
    let mut events = Vec::new();
    let case = case_by_id(c, id)?;
    let mut fired = fired_list(c, id)?;
    if !case.status.is_active() {
        set_check(c, id, None, &fired)?;
        return Ok((out, events));
    }
    let messages = case_messages(c, id)?;
    let Some(view) = case_sla(c, cache, &case, &messages, now)? else {
        set_check(c, id, None, &fired)?;
        return Ok((out, events));
    };
    let active = cache.current(c)?;
    let policy = active
        .as_ref()
        .and_then(|a| select(&a.playbook.slas, &case.purpose, case.priority).cloned());
    let mut changed = false;
    for x in crossings(&view.targets, &fired) {
        let body = format!("{}: {}", view.policy, describe(&x));
        let details = json!({"policy": view.policy, "target": x.target, "due_at": x.due_at});
        if x.status == SlaStatus::Warning {
            out.warnings += 1;
            let to = match case.assignee {
                Some(u) => vec![u],
                None => supervisors_of(c, case.team)?,
            };
            audit(
                c,
                &Actor::System,
                "sla.warning",
                ("case", id.to_string()),
                details.clone(),
                now,
            )?;
            events.push(emit(c, "sla.warning", Some(id), details, now)?);
            events.extend(notify(c, &to, "sla.warning", Some(id), &body, now)?);
        } else {
            out.breaches += 1;
            let mut taken = Vec::new();
            let mut to: Vec<UserId> = case.assignee.into_iter().collect();
            for action in policy
                .as_ref()
                .map(|p| p.on_breach.clone())
                .unwrap_or_default()
            {
                match &action {
                    BreachAction::RaisePriority => {
                        let now_priority = case_by_id(c, id)?.priority;
                        let raised = match now_priority {
                            Priority::Low => Priority::Normal,
                            Priority::Normal => Priority::High,
                            Priority::High | Priority::Urgent => Priority::Urgent,
                        };
                        if raised != now_priority {
                            c.execute(
                                "UPDATE cases SET priority = $1, updated_at = $2 WHERE id = $3",
                                params![raised.as_str(), now.as_unix_micros(), id.to_string()],
                            )?;
                            changed = true;
                        }
                    }
                    BreachAction::NotifySupervisor => to.extend(supervisors_of(c, case.team)?),
                    BreachAction::Reassign(slug) => match team_id_by_slug(c, slug)? {
                        Some(team) if Some(team) != case.team => {
                            let reason =
                                format!("{} ({} breached)", view.policy, x.target.as_str());
                            let (_, ev) = crate::review::transfer(
                                c,
                                id,
                                Some(team),
                                None,
                                &reason,
                                Actor::System,
                                now,
                            )?;
                            events.extend(ev);
                        }
                        Some(_) => {}
                        None => {
                            tracing::warn!(case = %id, team = %slug, "SLA reassign: no such team");
                            continue;
                        }
                    },
                }
                taken.push(action.to_string());
            }
            let details = json!({
                "policy": view.policy, "target": x.target, "due_at": x.due_at, "actions": taken,
            });
            audit(
                c,
                &Actor::System,
                "sla.breached",
                ("case", id.to_string()),
                details.clone(),
                now,
            )?;
            events.push(emit(c, "sla.breached", Some(id), details, now)?);
            events.extend(notify(c, &to, "sla.breached", Some(id), &body, now)?);
            out.actions.extend(taken);
        }
        fired.push(x.key);
    }
    if changed {
        let case = case_by_id(c, id)?;
        events.push(emit(
            c,
            "case.updated",
            Some(id),
            json!({ "case": case }),
            now,
        )?);
    }
    // A raised priority or a new team may change the policy or the hours: measure again.
    let case = case_by_id(c, id)?;
    let next = match case_sla(c, cache, &case, &messages, now)? {
        Some(v) if !crossings(&v.targets, &fired).is_empty() => Some(now),
        Some(v) => next_wakeup(&v.targets),
        None => None,
    };
    out.next_check_at = next;
    set_check(c, id, next, &fired)?;
    Ok((out, events))
}

impl Store {
    /// Active cases whose SLA check is due at `now`, most overdue first.
    pub async fn sla_due(&self, now: Timestamp, limit: i64) -> Result<Vec<CaseId>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    "SELECT id FROM cases WHERE sla_check_at <= $1 ORDER BY sla_check_at, id LIMIT $2",
                    params![now.as_unix_micros(), limit],
                )?
                .iter()
                .map(|r| CaseId::parse(&r.text(0)?).map_err(bad))
                .collect()
            })
            .await
    }

    /// Checks one case's SLA at `now`: warnings, breaches and their actions, and when to
    /// look next.
    pub async fn sla_check(
        &self,
        id: CaseId,
        now: Timestamp,
    ) -> Result<(SlaCheck, Vec<Event>), StoreError> {
        let cache = self.playbooks.clone();
        self.pool.write(move |c| check(c, &cache, id, now)).await
    }
}
