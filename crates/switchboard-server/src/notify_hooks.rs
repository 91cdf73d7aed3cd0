//! The notify-hook worker: claims due deliveries (queued by ingest when a playbook rule with
//! `then.notify` fires), signs each with the workspace's hook secret (see
//! [`switchboard_channels::notify`]) and POSTs it. Failures are retried with the outbound
//! backoff up to the outbound attempt limit; a 4xx other than 408/409/425/429 ends it at once.

use crate::AppState;
use crate::crypto::Secret;
use crate::metrics::{Metrics, global};
use rand::RngCore;
use std::sync::Arc;
use std::time::Duration;
use switchboard_channels::notify;
use switchboard_channels::retry::{Verdict, backoff_millis};
use switchboard_store::{HookJob, HookOutcome, StoreError};
use tokio::sync::Semaphore;

const LEASE_MS: i64 = 60_000;
/// How long a rotated-out secret still signs, beside the new one.
pub const ROTATION_GRACE_MICROS: i64 = 24 * 3600 * 1_000_000;

/// A fresh secret, as shown to an admin (64 hex digits); the HMAC key is its text.
pub fn new_secret() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

/// Creates the workspace's hook secret on first start.
pub async fn ensure_secret(state: &AppState) -> Result<(), StoreError> {
    let sealed = state.secrets.seal(&Secret::new(new_secret().into_bytes()));
    if state.store.init_hook_secret(sealed).await? {
        tracing::info!("created the signing secret for notify hooks");
    }
    Ok(())
}

/// The secrets to sign with now, opened: current first, then those in their grace period.
pub async fn signing_secrets(state: &AppState) -> Result<Vec<Secret>, StoreError> {
    let sealed = state.store.hook_secrets(state.clock.now()).await?;
    let mut out = Vec::new();
    for s in sealed.current.into_iter().chain(sealed.previous) {
        match state.secrets.open(&s) {
            Some(secret) => out.push(secret),
            None => {
                return Err(StoreError::Backend(
                    "the notify hook secret does not open with this server's key".into(),
                ));
            }
        }
    }
    Ok(out)
}

pub async fn run(state: AppState) {
    let permits = Arc::new(Semaphore::new(16));
    let mut shutdown = state.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = shutdown.changed() => return,
        }
        let now = state.clock.now();
        let lease = (state.config.outbound_timeout_ms as i64 + LEASE_MS).max(LEASE_MS);
        let jobs = match state
            .store
            .claim_hooks(now, now.plus_millis(lease), 32)
            .await
        {
            Ok(jobs) if jobs.is_empty() => continue,
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim notify hook deliveries");
                continue;
            }
        };
        let secrets = match signing_secrets(&state).await {
            Ok(s) if !s.is_empty() => Arc::new(s),
            Ok(_) => {
                tracing::error!("no notify hook secret; deliveries wait for the lease to end");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the notify hook secret");
                continue;
            }
        };
        for job in jobs {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (state, secrets) = (state.clone(), secrets.clone());
            tokio::spawn(async move {
                send(&state, &secrets, job).await;
                drop(permit);
            });
        }
    }
}

/// One attempt: `Ok(status)` when delivered, else the verdict, status and reason.
async fn attempt(
    state: &AppState,
    secrets: &[Secret],
    job: &HookJob,
) -> Result<u16, (Verdict, Option<u16>, String)> {
    let keys: Vec<&[u8]> = secrets.iter().map(Secret::expose).collect();
    let signature = notify::sign(&keys, state.clock.now().as_unix_secs(), job.body.as_bytes());
    let res = state
        .http
        .post(&job.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(notify::SIGNATURE_HEADER, signature)
        .header(notify::EVENT_HEADER, &job.event)
        .header(notify::DELIVERY_HEADER, job.id.to_string())
        .timeout(Duration::from_millis(state.config.outbound_timeout_ms))
        .body(job.body.clone())
        .send()
        .await;
    crate::outbound::judge(res, &job.url).await
}

async fn send(state: &AppState, secrets: &[Secret], job: HookJob) {
    let attempt_no = job.attempts as u32 + 1;
    let cfg = &state.config;
    let outcome = match attempt(state, secrets, &job).await {
        Ok(status) => HookOutcome::Delivered { status },
        Err((Verdict::Reject, status, error)) => HookOutcome::Failed { status, error },
        Err((_, status, error)) if attempt_no >= cfg.outbound_max_attempts => HookOutcome::Failed {
            status,
            error: format!("gave up after {attempt_no} attempts; last error: {error}"),
        },
        Err((_, status, error)) => {
            let delay = backoff_millis(
                attempt_no,
                cfg.outbound_base_delay_ms,
                cfg.outbound_max_delay_ms,
                rand::random::<f64>(),
            );
            HookOutcome::Retry {
                at: state.clock.now().plus_millis(delay as i64),
                status,
                error,
            }
        }
    };
    let label = match &outcome {
        HookOutcome::Delivered { .. } => "delivered",
        HookOutcome::Retry { .. } => "retry",
        HookOutcome::Failed { .. } => "failed",
    };
    Metrics::count(&global().notify_webhooks, label, 1);
    if let HookOutcome::Retry { error, .. } | HookOutcome::Failed { error, .. } = &outcome {
        tracing::warn!(delivery = %job.id, attempt = attempt_no, outcome = label, reason = %error, "notify hook attempt did not deliver");
    }
    if let Err(e) = state
        .store
        .record_hook(job.id, outcome, state.clock.now())
        .await
    {
        tracing::error!(delivery = %job.id, error = %e, "cannot record a notify hook attempt; the lease will expire and it is sent again");
    }
}
