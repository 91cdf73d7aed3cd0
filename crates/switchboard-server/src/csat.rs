//! The satisfaction survey after a person resolves a case: asked when the playbook's `[csat]`
//! covers the case and the channel's rules allow the question now (a closed 24-hour window
//! means no survey, never a refused send). The store asks once per case.

use crate::AppState;
use switchboard_store::Case;

/// Asks `case`'s customer the playbook's survey question, if it wants one. Failures are
/// logged: resolving the case has already succeeded.
pub async fn ask_if_wanted(state: &AppState, case: &Case) {
    let policy = match state.store.csat_policy().await {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the survey policy");
            return;
        }
    };
    if !policy.applies(&case.purpose, case.public) {
        return;
    }
    if let Err(refused) =
        crate::api::cases::check_channel_rules(state, case.id, None, false, &policy.question, None)
            .await
    {
        tracing::info!(case = %case.id, reason = refused.code, "no satisfaction survey: the channel's rules");
        return;
    }
    match state
        .store
        .ask_csat(case.id, policy.question, state.clock.now())
        .await
    {
        Ok(Some(events)) => state.bus.publish(events),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(case = %case.id, error = %e, "the satisfaction survey was not asked")
        }
    }
}
