//! The delivery worker: claims due outbound messages, sends each through its channel, and
//! records the outcome. Failures are retried with exponential backoff and jitter up to the
//! configured attempts; then the message is `failed` with the reason. The claim is a lease,
//! so a message being sent when a node dies is retried by another.

use crate::AppState;
use crate::channels::{LiveChannel, redact_url};
use crate::metrics::global;
use std::sync::Arc;
use std::time::Duration;
use switchboard_channels::retry::{
    TokenBucket, Verdict, backoff_millis, classify_status, retry_after_secs,
};
use switchboard_channels::{ChannelKind, SendJob, SendOutcome, twilio, webhook};
use switchboard_core::{ChannelId, DeliveryState};
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

/// How one attempt ended.
enum Attempt {
    Accepted {
        external_id: Option<String>,
        state: DeliveryState,
    },
    /// Try again: at the time the provider named (throttling), else after the backoff.
    Retry {
        after_secs: Option<u64>,
        error: String,
    },
    Reject(String),
}

/// Sends per second and burst for a channel: `config.rate_per_sec` if set, else the
/// provider's documented pace (Meta's Send API 300/s per Page, WhatsApp 80/s per number,
/// Telegram 30/s per bot, a Twilio long code 1/s, X's windows are per 15 minutes).
fn pace(channel: &LiveChannel) -> (f64, f64) {
    if let Some(r) = channel.config.get("rate_per_sec").and_then(|r| r.as_f64())
        && r > 0.0
    {
        return (r, r.max(1.0));
    }
    let rate = match channel.kind {
        ChannelKind::Webhook => 1000.0,
        ChannelKind::Messenger => 250.0,
        ChannelKind::Instagram => 100.0,
        ChannelKind::Whatsapp => 80.0,
        ChannelKind::Telegram => 30.0,
        ChannelKind::Twilio => 1.0,
        ChannelKind::X => 1.0,
        ChannelKind::Email => 20.0,
        ChannelKind::Webchat => 1000.0,
    };
    (rate, rate.max(5.0))
}

/// Waits for the channel's bucket (up to two seconds); a longer wait is a retry later.
async fn take_token(state: &AppState, channel: &LiveChannel) -> Result<(), u64> {
    for _ in 0..20 {
        let now_ms = state.clock.now().as_unix_micros() / 1000;
        let wait = {
            let mut limits = state.rate_limits.lock().unwrap_or_else(|p| p.into_inner());
            let (rate, burst) = pace(channel);
            let bucket = limits
                .entry(channel.id)
                .or_insert_with(|| TokenBucket::new(rate, burst, now_ms));
            bucket.take(now_ms)
        };
        match wait {
            Ok(()) => return Ok(()),
            Err(ms) if ms > 2_000 => return Err((ms as u64).div_ceil(1000)),
            Err(ms) => tokio::time::sleep(Duration::from_millis(ms as u64)).await,
        }
    }
    Err(1)
}

fn pause_channel(state: &AppState, channel: ChannelId, secs: u64) {
    let now_ms = state.clock.now().as_unix_micros() / 1000;
    let mut limits = state.rate_limits.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(b) = limits.get_mut(&channel) {
        b.pause_until(now_ms + (secs.min(3600) as i64) * 1000);
    }
}

/// One attempt.
/// One attempt, and the channel's kind for metrics (`unknown` if it is gone).
async fn attempt(state: &AppState, job: &OutboundJob) -> (Attempt, &'static str) {
    match state.channels.get(job.channel_id).await {
        Ok(Some(c)) if !c.active => (
            Attempt::Reject("the channel is disabled".into()),
            c.kind.as_str(),
        ),
        Ok(Some(c)) => (attempt_on(state, &c, job).await, c.kind.as_str()),
        Ok(None) => (
            Attempt::Reject("the channel no longer exists".into()),
            "unknown",
        ),
        Err(e) => (
            Attempt::Retry {
                after_secs: None,
                error: e.to_string(),
            },
            "unknown",
        ),
    }
}

async fn attempt_on(state: &AppState, channel: &LiveChannel, job: &OutboundJob) -> Attempt {
    // The customer of an admin's test message is made up: nothing to send.
    if crate::channel_test::is_test_thread(&job.thread) {
        return Attempt::Accepted {
            external_id: None,
            state: DeliveryState::Delivered,
        };
    }
    let send_job = SendJob {
        message_id: job.message_id.to_string(),
        thread: job.thread.clone(),
        public: job.public,
        to: job.to.clone(),
        in_reply_to: job.in_reply_to.clone(),
        private_reply: job.private_reply,
        text: job.text.clone(),
        template: job.template.clone(),
        last_inbound_at: job.last_inbound_at,
        now: state.clock.now(),
    };
    if let switchboard_channels::adapter::Adapter::Webchat(cfg, _) = &*channel.adapter {
        if let Err(rule) = channel.adapter.check_reply(&send_job) {
            return Attempt::Reject(format!("{}: {}", rule.code, rule.message));
        }
        return webchat_attempt(state, channel, cfg, job).await;
    }
    if let switchboard_channels::adapter::Adapter::Email(cfg, creds) = &*channel.adapter {
        if let Err(rule) = channel.adapter.check_reply(&send_job) {
            return Attempt::Reject(format!("{}: {}", rule.code, rule.message));
        }
        return email_attempt(state, channel, cfg, creds, job).await;
    }
    let mut req = match channel.adapter.send_request(&send_job) {
        None => return webhook_attempt(state, channel, job).await,
        Some(Err(rule)) => return Attempt::Reject(format!("{}: {}", rule.code, rule.message)),
        Some(Ok(req)) => req,
    };
    if channel.kind == ChannelKind::Twilio {
        let callback = format!(
            "{}/hooks/twilio/{}",
            state.config.public_url.trim_end_matches('/'),
            channel.id
        );
        twilio::with_status_callback(&mut req, &callback);
    }
    if let Err(after) = take_token(state, channel).await {
        return Attempt::Retry {
            after_secs: Some(after),
            error: "waiting for the channel's send rate".into(),
        };
    }
    let mut builder = state
        .http
        .request(
            reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::POST),
            &req.url,
        )
        .timeout(Duration::from_millis(state.config.outbound_timeout_ms))
        .body(req.body);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let kind = channel.kind.as_str();
    let res = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            return Attempt::Retry {
                after_secs: None,
                error: format!(
                    "cannot reach the {kind} API: {}",
                    error_chain(&e.without_url())
                ),
            };
        }
    };
    let status = res.status().as_u16();
    let now_secs = state.clock.now().as_unix_secs();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // X names the end of its window instead of a Retry-After.
    let retry_after = header("retry-after")
        .and_then(|v| retry_after_secs(&v, now_secs))
        .or_else(|| {
            header("x-rate-limit-reset")
                .and_then(|v| v.trim().parse::<i64>().ok())
                .map(|reset| (reset - now_secs).max(0) as u64)
        })
        .map(|s| s.to_string());
    let body = res.bytes().await.unwrap_or_default();
    match channel
        .adapter
        .read_response(status, retry_after.as_deref(), &body)
    {
        SendOutcome::Accepted { external_id, state } => Attempt::Accepted { external_id, state },
        SendOutcome::Retry { after_secs, error } => {
            if let Some(secs) = after_secs {
                pause_channel(state, channel.id, secs);
            }
            Attempt::Retry {
                after_secs,
                error: format!("{kind} API: {error}"),
            }
        }
        SendOutcome::Failed { error } => Attempt::Reject(format!("{kind} API: {error}")),
    }
}

/// The generic webhook: signed and posted to the channel's `outbound_url`.
async fn webhook_attempt(state: &AppState, channel: &LiveChannel, job: &OutboundJob) -> Attempt {
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
    match judge(res, url).await {
        Ok(_) => Attempt::Accepted {
            external_id: None,
            state: DeliveryState::Delivered,
        },
        Err((Verdict::Reject, _, error)) => Attempt::Reject(error),
        Err((_, _, error)) => Attempt::Retry {
            after_secs: None,
            error,
        },
    }
}

/// A reply by mail, threaded under the customer's mail it answers (whose subject and
/// `References` are read back from its raw copy), through the channel's relay or the server's.
async fn email_attempt(
    state: &AppState,
    channel: &LiveChannel,
    cfg: &switchboard_channels::email::Config,
    creds: &switchboard_channels::email::Credentials,
    job: &OutboundJob,
) -> Attempt {
    let Some(url) = relay_url(state, creds) else {
        return Attempt::Reject(
            "no SMTP relay: set the channel's credentials.smtp_url or the server's SWITCHBOARD_SMTP_URL"
                .into(),
        );
    };
    let parent = match &job.in_reply_to {
        Some(id) => state
            .store
            .raw_body(channel.id, format!("mid:{id}"))
            .await
            .ok()
            .flatten()
            .and_then(|raw| switchboard_email::parse(&raw).ok()),
        None => None,
    };
    let message_id = format!("sb.{}@{}", job.message_id, cfg.reply_domain);
    // The case's team may have its own address and signature; answers still come back to the
    // channel's address (Reply-To).
    let (from, from_name) = match &job.team_email {
        Some((team, Some(address), _)) => (address.as_str(), Some(team.as_str())),
        _ => (cfg.address.as_str(), cfg.from_name.as_deref()),
    };
    let text = match &job.team_email {
        Some((_, _, Some(signature))) => format!("{}\n\n-- \n{signature}", job.text),
        _ => job.text.clone(),
    };
    // Answers come back to the conversation's own address (`reply+<id>@…`), which threads
    // them even when the customer's mail program drops In-Reply-To and References.
    let reply_to = format!(
        "reply+{}@{}",
        job.conversation_id.to_string().replace('-', ""),
        cfg.reply_domain
    );
    let reply = crate::mail::Reply {
        from,
        from_name,
        reply_to: &reply_to,
        to: &job.to,
        message_id: &message_id,
        subject: parent.as_ref().map_or("", |p| p.subject.as_str()),
        in_reply_to: job.in_reply_to.as_deref(),
        references: parent.as_ref().map_or(&[][..], |p| p.references.as_slice()),
        text: &text,
    };
    // Accepted by the relay; a bounce may still fail it (matched on this Message-ID).
    let sent = Attempt::Accepted {
        external_id: Some(message_id.clone()),
        state: DeliveryState::Sent,
    };
    mailed(crate::mail::send_reply(&url, &reply).await, sent)
}

/// The SMTP relay for an e-mail channel: its own, else the server's.
fn relay_url(state: &AppState, creds: &switchboard_channels::email::Credentials) -> Option<String> {
    creds
        .smtp_url
        .clone()
        .or_else(|| state.config.smtp.as_ref().map(|s| s.url.clone()))
}

/// What a relay's answer means for the send: `sent` when it took the mail.
fn mailed(res: Result<(), crate::mail::SendError>, sent: Attempt) -> Attempt {
    match res {
        Ok(()) => sent,
        Err(crate::mail::SendError::Transient(error)) => Attempt::Retry {
            after_secs: None,
            error,
        },
        Err(crate::mail::SendError::Permanent(error)) => Attempt::Reject(error),
    }
}

/// A chat reply. The visitor's open chats show it from the event bus, and a closed one on its
/// next visit; a visitor who is gone and left an address also gets it by mail, from the
/// channel's e-mail channel, with a Reply-To that brings their answer back to this
/// conversation.
async fn webchat_attempt(
    state: &AppState,
    channel: &LiveChannel,
    cfg: &switchboard_channels::webchat::Config,
    job: &OutboundJob,
) -> Attempt {
    let shown = Attempt::Accepted {
        external_id: None,
        state: DeliveryState::Sent,
    };
    if state.chats.is_open(channel.id, &job.thread) {
        return shown;
    }
    let Some(mail_channel) = cfg
        .email_channel_id
        .as_deref()
        .and_then(|id| switchboard_core::ChannelId::parse(id).ok())
    else {
        return shown;
    };
    let address = match state
        .store
        .chat_followup(channel.id, job.thread.clone())
        .await
    {
        Ok(Some(a)) => a,
        Ok(None) => return shown,
        Err(e) => {
            return Attempt::Retry {
                after_secs: None,
                error: e.to_string(),
            };
        }
    };
    let mail = match state.channels.get(mail_channel).await {
        Ok(Some(c)) if c.active => c,
        Ok(_) => {
            tracing::warn!(channel = %channel.id, "the chat's e-mail channel is missing or off: the reply waits in the chat");
            return shown;
        }
        Err(e) => {
            return Attempt::Retry {
                after_secs: None,
                error: e.to_string(),
            };
        }
    };
    let switchboard_channels::adapter::Adapter::Email(mail_cfg, creds) = &*mail.adapter else {
        tracing::warn!(channel = %channel.id, "the chat's email_channel_id is not an e-mail channel");
        return shown;
    };
    let Some(url) = relay_url(state, creds) else {
        return Attempt::Retry {
            after_secs: Some(300),
            error: "no SMTP relay for the chat's e-mail channel".into(),
        };
    };
    let message_id = format!("sb.{}@{}", job.message_id, mail_cfg.reply_domain);
    let reply_to = format!(
        "reply+{}@{}",
        job.conversation_id.to_string().replace('-', ""),
        mail_cfg.reply_domain
    );
    let team = mail_cfg.from_name.as_deref().unwrap_or(&mail_cfg.address);
    let subject = format!("Your chat with {team}");
    let text = format!(
        "{}\n\n-- \nYou wrote to us in the chat on our website. Reply to this e-mail to continue the conversation.",
        job.text
    );
    // Answers to a mail of theirs on this conversation thread under it.
    let in_reply_to = job
        .in_reply_to
        .as_deref()
        .filter(|id| id.contains('@') && !id.starts_with("visitor:") && !id.starts_with("user:"));
    let reply = crate::mail::Reply {
        from: &mail_cfg.address,
        from_name: mail_cfg.from_name.as_deref(),
        reply_to: &reply_to,
        to: &address,
        message_id: &message_id,
        subject: &subject,
        in_reply_to,
        references: &[],
        text: &text,
    };
    mailed(crate::mail::send_reply(&url, &reply).await, shown)
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
    let (outcome, kind) = attempt(state, &job).await;
    let attempt_no = job.attempts as u32 + 1;
    let cfg = &state.config;
    let now = state.clock.now();
    let (delivery, label) = match outcome {
        Attempt::Accepted { external_id, state } => {
            (Delivery::Accepted { external_id, state }, "delivered")
        }
        Attempt::Reject(error) => (Delivery::Failed { error }, "rejected"),
        Attempt::Retry { error, .. } if attempt_no >= cfg.outbound_max_attempts => (
            Delivery::Failed {
                error: format!("gave up after {attempt_no} attempts; last error: {error}"),
            },
            "failed",
        ),
        Attempt::Retry { after_secs, error } => {
            let delay = match after_secs {
                Some(secs) => secs.saturating_mul(1000).max(1),
                None => backoff_millis(
                    attempt_no,
                    cfg.outbound_base_delay_ms,
                    cfg.outbound_max_delay_ms,
                    rand::random::<f64>(),
                ),
            };
            (
                Delivery::Retry {
                    at: now.plus_millis(delay as i64),
                    error,
                },
                "retry",
            )
        }
    };
    global().outbound(kind, label);
    if label != "delivered" {
        let reason = match &delivery {
            Delivery::Retry { error, .. } | Delivery::Failed { error } => error.as_str(),
            Delivery::Delivered | Delivery::Accepted { .. } => "",
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
