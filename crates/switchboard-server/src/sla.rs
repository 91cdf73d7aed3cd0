//! The SLA worker: every tick, checks the active cases whose SLA clocks are due (warnings,
//! breaches and their actions happen in the store, one case per transaction) and publishes
//! what changed. Several nodes may run it: a check is idempotent, since each warning and
//! breach is recorded as acted on in the same transaction that acts on it.

use crate::AppState;
use crate::metrics::{Metrics, global};
use std::time::Duration;

/// Cases checked per tick, at most.
const BATCH: i64 = 200;

pub async fn run(state: AppState) {
    let tick = Duration::from_millis(state.config.sla_tick_ms.max(10));
    let mut shutdown = state.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = tick_once(&state).await {
            tracing::error!(error = %e, "SLA check failed");
        }
    }
}

/// One pass: every due case, checked at the same `now`. Returns how many were checked.
pub async fn tick_once(state: &AppState) -> Result<usize, switchboard_store::StoreError> {
    let now = state.clock.now();
    let due = state.store.sla_due(now, BATCH).await?;
    for &id in &due {
        let (check, events) = state.store.sla_check(id, now).await?;
        let m = global();
        Metrics::count(&m.sla_events, "warning", check.warnings.into());
        Metrics::count(&m.sla_events, "breach", check.breaches.into());
        state.bus.publish(events);
    }
    Ok(due.len())
}
