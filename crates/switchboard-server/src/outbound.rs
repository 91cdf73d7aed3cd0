//! The delivery worker: claims due outbound messages, sends each through its channel, and
//! records the outcome. Failures are retried with exponential backoff and jitter up to the
//! configured attempts; then the message is `failed` with the reason. The claim is a lease,
//! so a message being sent when a node dies is retried by another.

use crate::AppState;
use crate::channels::redact_url;
use crate::metrics::global;
use std::sync::Arc;
use std::time::Duration;
use switchboard_channels::retry::{Verdict, backoff_millis, classify_status};
use switchboard_channels::{ChannelKind, webhook};
use switchboard_store::{Delivery, OutboundJob};
use tokio::sync::Semaphore;

const LEASE_MS: i64 = 60_000;

pub async fn run(state: AppState) {
    let permits = Arc::new(Semaphore::new(32));
    loop {
        tokio::select! {
            _ = state.outbound_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        let now = state.clock.now();
        let lease = (state.config.outbound_timeout_ms as i64 + LEASE_MS).max(LEASE_MS);
        let jobs = match state
            .store
            .claim_outbound(now, now.plus_millis(lease), 64)
            .await
        {
            Ok((jobs, events)) => {
                state.bus.publish(events);
                jobs
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot claim outbound messages");
                continue;
            }
        };
        for job in jobs {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                send(&state, job).await;
                drop(permit);
            });
        }
    }
}

/// One attempt; returns the outcome to record.
async fn attempt(state: &AppState, job: &OutboundJob) -> Result<(), (Verdict, String)> {
    let channel = match state.channels.get(job.channel_id).await {
        Ok(Some(c)) if !c.active => {
            return Err((Verdict::Reject, "the channel is disabled".into()));
        }
        Ok(Some(c)) => c,
        Ok(None) => return Err((Verdict::Reject, "the channel no longer exists".into())),
        Err(e) => return Err((Verdict::Retry, e.to_string())),
    };
    match channel.kind {
        ChannelKind::Webhook => {
            let url = channel
                .config
                .get("outbound_url")
                .and_then(|u| u.as_str())
                .unwrap_or_default();
            let req = webhook::outbound_request(
                channel.secret.expose(),
                &job.message_id.to_string(),
                &job.thread,
                job.in_reply_to.as_deref(),
                &job.to,
                &job.text,
            );
            let res = state
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(webhook::SIGNATURE_HEADER, &req.signature)
                .header(webhook::IDEMPOTENCY_HEADER, &req.idempotency_key)
                .timeout(Duration::from_millis(state.config.outbound_timeout_ms))
                .body(req.body)
                .send()
                .await;
            judge(res, url)
                .await
                .map(|_| ())
                .map_err(|(verdict, _, error)| (verdict, error))
        }
    }
}

/// What the answer to one POST means: its status when delivered, else whether to retry, the
/// status if there was one, and the reason (the URL redacted, the body's first 200 chars).
pub(crate) async fn judge(
    res: reqwest::Result<reqwest::Response>,
    url: &str,
) -> Result<u16, (Verdict, Option<u16>, String)> {
    match res {
        Ok(r) => {
            let status = r.status().as_u16();
            match classify_status(status) {
                Verdict::Delivered => Ok(status),
                v => {
                    let body = r.text().await.unwrap_or_default();
                    let snippet: String = body.chars().take(200).collect();
                    Err((
                        v,
                        Some(status),
                        format!("HTTP {status} from {}: {snippet}", redact_url(url)),
                    ))
                }
            }
        }
        // reqwest's message repeats the URL, query included: drop it (ours is redacted).
        Err(e) => Err((
            Verdict::Retry,
            None,
            format!(
                "cannot reach {}: {}",
                redact_url(url),
                error_chain(&e.without_url())
            ),
        )),
    }
}

/// An error and its causes ("error sending request: … : Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = cause.source();
    }
    msg
}

async fn send(state: &AppState, job: OutboundJob) {
    let outcome = attempt(state, &job).await;
    let attempt_no = job.attempts as u32 + 1;
    let cfg = &state.config;
    let now = state.clock.now();
    let (delivery, label) = match outcome {
        Ok(()) => (Delivery::Delivered, "delivered"),
        Err((Verdict::Reject, error)) => (Delivery::Failed { error }, "rejected"),
        Err((_, error)) if attempt_no >= cfg.outbound_max_attempts => (
            Delivery::Failed {
                error: format!("gave up after {attempt_no} attempts; last error: {error}"),
            },
            "failed",
        ),
        Err((_, error)) => {
            let delay = backoff_millis(
                attempt_no,
                cfg.outbound_base_delay_ms,
                cfg.outbound_max_delay_ms,
                rand::random::<f64>(),
            );
            (
                Delivery::Retry {
                    at: now.plus_millis(delay as i64),
                    error,
                },
                "retry",
            )
        }
    };
    global().outbound("webhook", label);
    if label != "delivered" {
        let reason = match &delivery {
            Delivery::Retry { error, .. } | Delivery::Failed { error } => error.as_str(),
            Delivery::Delivered => "",
        };
        tracing::warn!(message = %job.message_id, attempt = attempt_no, outcome = label, reason, "outbound attempt did not deliver");
    }
    match state
        .store
        .record_delivery(job.message_id, delivery, now)
        .await
    {
        Ok(events) => state.bus.publish(events),
        Err(e) => {
            tracing::error!(message = %job.message_id, error = %e, "cannot record delivery; the lease will expire and it is retried")
        }
    }
}
