//! Time a case spends in a status: business time `pending` (which stops the resolution clock)
//! and calendar time `with_expert`, added up when the case leaves the status.

use crate::journal::bad;
use crate::routing::team_hours;
use crate::sql::Conn;
use crate::{StoreError, params};
use switchboard_core::{CaseId, CaseStatus, Timestamp};

/// The case's team hours (always open without a team).
pub(crate) fn case_hours(
    c: &mut dyn Conn,
    id: CaseId,
) -> Result<switchboard_core::schedule::BusinessHours, StoreError> {
    let hours = c
        .query_opt(
            "SELECT t.hours FROM cases k JOIN teams t ON t.id = k.team_id WHERE k.id = $1",
            params![id.to_string()],
        )?
        .map(|r| r.opt_text(0))
        .transpose()?
        .flatten();
    team_hours(hours)
}

/// Business time the case has been paused: what is stored, plus the ongoing pause if it is
/// `pending` now.
pub(crate) fn paused_micros(
    c: &mut dyn Conn,
    id: CaseId,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let r = c.query_one(
        "SELECT status, status_since, paused_micros FROM cases WHERE id = $1",
        params![id.to_string()],
    )?;
    let mut paused = r.int(2)?;
    if CaseStatus::parse(&r.text(0)?).map_err(bad)? == CaseStatus::Pending
        && let Some(since) = r.opt_int(1)?
    {
        paused += case_hours(c, id)?.business_between(Timestamp::from_unix_micros(since), now);
    }
    Ok(paused)
}

/// Call before changing a case's status: banks the time spent in the current one (business
/// time if `pending`, calendar time if `with_expert`) and restarts `status_since` at `now`.
pub(crate) fn leave_status(c: &mut dyn Conn, id: CaseId, now: Timestamp) -> Result<(), StoreError> {
    let r = c.query_one(
        "SELECT status, status_since FROM cases WHERE id = $1",
        params![id.to_string()],
    )?;
    let status = CaseStatus::parse(&r.text(0)?).map_err(bad)?;
    if let Some(since) = r.opt_int(1)?.map(Timestamp::from_unix_micros) {
        match status {
            CaseStatus::Pending => {
                let paused = case_hours(c, id)?.business_between(since, now);
                c.execute(
                    "UPDATE cases SET paused_micros = paused_micros + $1 WHERE id = $2",
                    params![paused, id.to_string()],
                )?;
            }
            CaseStatus::WithExpert => {
                let spent = (now.as_unix_micros() - since.as_unix_micros()).max(0);
                c.execute(
                    "UPDATE cases SET expert_micros = expert_micros + $1 WHERE id = $2",
                    params![spent, id.to_string()],
                )?;
            }
            _ => {}
        }
    }
    c.execute(
        "UPDATE cases SET status_since = $1, sla_check_at = $1 WHERE id = $2",
        params![now.as_unix_micros(), id.to_string()],
    )?;
    Ok(())
}
