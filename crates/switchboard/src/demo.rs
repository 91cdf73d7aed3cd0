//! `switchboard demo`: the server with Lakeside College's workspace (teams, people, channels of
//! every kind, playbook, SLAs, knowledge base) and a live stream of inbound traffic, so a
//! newcomer sees cases arrive, get routed, breach SLAs and get answered.
//!
//! The channels run in simulated mode: each points its provider API at an in-process fake
//! ([`fake_providers`]) that accepts every send, so replies are delivered. The traffic is
//! real webhooks, signed as each provider signs them, posted to the server's own `/hooks`:
//! the same path a provider's message takes.

use crate::demo_data::{self as data, Sample};
use anyhow::Context;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use switchboard_channels::{meta, twilio, webhook, x};
use switchboard_core::Timestamp;

/// Starts the fake providers on a free local port; returns their base URL.
pub async fn fake_providers() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let counter = Arc::new(AtomicU64::new(1));
    let app = axum::Router::new().route(
        "/{kind}/{*rest}",
        axum::routing::any(move |Path((kind, _)): Path<(String, String)>| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move { provider_answer(&kind, n) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(base)
}

/// What each provider answers to an accepted send.
fn provider_answer(kind: &str, n: u64) -> axum::response::Response {
    let (status, body) = match kind {
        "x" => (
            StatusCode::CREATED,
            json!({"data": {"id": format!("{}", 9_000_000 + n), "text": ""}}),
        ),
        "whatsapp" => (
            StatusCode::OK,
            json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.demo{n}")}]}),
        ),
        "messenger" | "instagram" => (
            StatusCode::OK,
            json!({"recipient_id": "demo", "message_id": format!("m_demo{n}")}),
        ),
        "twilio" => (
            StatusCode::CREATED,
            json!({"sid": format!("SMdemo{n:026}"), "status": "queued"}),
        ),
        "telegram" => (
            StatusCode::OK,
            json!({"ok": true, "result": {"message_id": n, "chat": {"id": 1, "type": "private"}, "date": 1, "text": ""}}),
        ),
        _ => (StatusCode::OK, json!({"id": format!("demo-{n}")})),
    };
    (status, axum::Json(body)).into_response()
}

/// A channel the traffic generator writes on.
#[derive(Debug, Clone)]
pub struct DemoChannel {
    pub kind: &'static str,
    pub id: String,
    pub secret: String,
    pub public: bool,
}

/// Calls the server's own API with the seeding token.
struct Api<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    token: &'a str,
}

impl Api<'_> {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let r = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .bearer_auth(self.token)
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("{method} {path}: {status} {v}");
        }
        Ok(v)
    }
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, body).await
    }
}

/// Fills an empty workspace through the API; returns the channels traffic goes to.
pub async fn seed(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    fake: &str,
    playbook: &str,
) -> anyhow::Result<Vec<DemoChannel>> {
    let api = Api { http, base, token };
    api.call(
        reqwest::Method::PUT,
        "/playbook",
        json!({"source": playbook}),
    )
    .await
    .context("the demo playbook")?;
    let teams = api
        .call(reqwest::Method::GET, "/teams", Value::Null)
        .await?;
    let team_id = |slug: &str| -> Option<String> {
        teams["items"]
            .as_array()?
            .iter()
            .find(|t| t["slug"] == slug)?["id"]
            .as_str()
            .map(str::to_owned)
    };
    for (username, name, role, member_of) in data::PEOPLE {
        let user = api
            .post(
                "/users",
                json!({"username": username, "display_name": name, "role": role, "password": data::PASSWORD}),
            )
            .await?;
        let uid = user["id"].as_str().unwrap_or_default().to_owned();
        for slug in *member_of {
            if let Some(t) = team_id(slug) {
                api.post(&format!("/teams/{t}/members"), json!({"user_id": uid}))
                    .await?;
            }
        }
        if *role == "agent" {
            api.call(
                reqwest::Method::PUT,
                &format!("/users/{uid}/availability"),
                json!({"availability": "online"}),
            )
            .await?;
        }
    }
    let kb: String = data::KB.join("\n");
    let r = http
        .post(format!("{base}/api/v1/kb/import"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(kb)
        .send()
        .await?;
    if !r.status().is_success() {
        anyhow::bail!(
            "the demo knowledge base: {}",
            r.text().await.unwrap_or_default()
        );
    }
    let mut out = Vec::new();
    let provider = |kind: &str, config: Value, credentials: Value| json!({"kind": kind, "name": channel_name(kind), "config": config, "credentials": credentials});
    let specs: Vec<(&'static str, Value, String, bool)> = vec![
        (
            "x",
            provider(
                "x",
                json!({"user_id": "1000", "api_base": format!("{fake}/x")}),
                json!({"consumer_secret": "demo-x-consumer-secret", "access_token": "demo-x-token"}),
            ),
            "demo-x-consumer-secret".into(),
            true,
        ),
        (
            "whatsapp",
            provider(
                "whatsapp",
                json!({"phone_number_id": "PN-LAKESIDE", "api_base": format!("{fake}/whatsapp")}),
                json!({"app_secret": "demo-wa-app-secret", "verify_token": "demo-wa-verify", "access_token": "demo-wa-token"}),
            ),
            "demo-wa-app-secret".into(),
            false,
        ),
        (
            "messenger",
            provider(
                "messenger",
                json!({"page_id": "PAGE-LAKESIDE", "app_id": "APP1", "api_base": format!("{fake}/messenger")}),
                json!({"app_secret": "demo-fb-app-secret", "verify_token": "demo-fb-verify", "access_token": "demo-fb-token"}),
            ),
            "demo-fb-app-secret".into(),
            false,
        ),
        (
            "instagram",
            provider(
                "instagram",
                json!({"ig_id": "IG-LAKESIDE", "app_id": "APP1", "api_base": format!("{fake}/instagram")}),
                json!({"app_secret": "demo-ig-app-secret", "verify_token": "demo-ig-verify", "access_token": "demo-ig-token"}),
            ),
            "demo-ig-app-secret".into(),
            false,
        ),
        (
            "twilio",
            provider(
                "twilio",
                json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "from": "+15550001111", "api_base": format!("{fake}/twilio")}),
                json!({"auth_token": "demo-twilio-auth-token"}),
            ),
            "demo-twilio-auth-token".into(),
            false,
        ),
        (
            "telegram",
            provider(
                "telegram",
                json!({"api_base": format!("{fake}/telegram"), "bot_username": "lakeside_bot"}),
                json!({"bot_token": "123456:DEMO-telegram-token", "secret_token": "demo-tg-secret"}),
            ),
            "demo-tg-secret".into(),
            false,
        ),
        (
            "webchat",
            provider(
                "webchat",
                json!({"greeting": "Hi! Ask Lakeside College anything.", "color": "#16325c",
                       "allowed_origins": [crate::demo_more::CHAT_ORIGIN]}),
                json!({"widget_secret": "a-demo-widget-secret-of-32-chars"}),
            ),
            String::new(),
            false,
        ),
    ];
    for (kind, body, secret, public) in specs {
        let ch = api
            .post("/channels", body)
            .await
            .with_context(|| format!("the demo {kind} channel"))?;
        if !secret.is_empty() {
            out.push(DemoChannel {
                kind,
                id: ch["id"].as_str().unwrap_or_default().to_owned(),
                secret,
                public,
            });
        }
    }
    // The generic webhook (a form on the college's site) generates its own secret.
    let ch = api
        .post(
            "/channels",
            json!({"kind": "webhook", "name": "Website contact form", "outbound_url": format!("{fake}/webhook/replies")}),
        )
        .await?;
    out.push(DemoChannel {
        kind: "webhook",
        id: ch["id"].as_str().unwrap_or_default().to_owned(),
        secret: ch["secret"].as_str().unwrap_or_default().to_owned(),
        public: false,
    });
    Ok(out)
}

/// The demo's e-mail and web chat channels, whose traffic is mail and WebSockets.
#[derive(Debug, Clone, Default)]
pub struct MoreChannels {
    /// The e-mail channel, and the server's SMTP listener (`host:port`) its mail arrives on.
    pub email: Option<(String, String)>,
    /// The web chat channel.
    pub webchat: Option<String>,
}

/// Wires the channels to this run's fakes (every start: the fake providers, the fake relay
/// and the SMTP listener have new ports): provider channels send to `fake`, the generic
/// webhook posts its replies there, the e-mail channel (made if an older demo lacks it) sends
/// through `relay`; the chat allows the demo's site.
pub async fn wire_run(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    fake: &str,
    relay: &str,
    smtp_in: &str,
) -> anyhow::Result<MoreChannels> {
    let api = Api { http, base, token };
    let listed = api
        .call(reqwest::Method::GET, "/channels", Value::Null)
        .await?;
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    for c in &items {
        let (Some(id), Some(kind)) = (c["id"].as_str(), c["kind"].as_str()) else {
            continue;
        };
        let change = match kind {
            "x" | "whatsapp" | "messenger" | "instagram" | "twilio" | "telegram" => {
                json!({"config": {"api_base": format!("{fake}/{kind}")}})
            }
            "webhook" => json!({"outbound_url": format!("{fake}/webhook/replies")}),
            _ => continue,
        };
        api.call(reqwest::Method::PATCH, &format!("/channels/{id}"), change)
            .await
            .with_context(|| format!("the demo {kind} channel"))?;
    }
    let of_kind = |kind: &str| {
        items
            .iter()
            .find(|c| c["kind"] == kind)
            .and_then(|c| c["id"].as_str())
            .map(str::to_owned)
    };
    let email = match of_kind("email") {
        Some(id) => {
            api.call(
                reqwest::Method::PATCH,
                &format!("/channels/{id}"),
                json!({"credentials": {"smtp_url": relay}}),
            )
            .await
            .context("the demo e-mail channel")?;
            id
        }
        None => {
            let ch = api
                .post(
                    "/channels",
                    json!({"kind": "email", "name": channel_name("email"),
                           "config": {"address": crate::demo_more::MAILBOX, "from_name": "Lakeside College"},
                           "credentials": {"smtp_url": relay}}),
                )
                .await
                .context("the demo e-mail channel")?;
            ch["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let webchat = match of_kind("webchat") {
        Some(id) => {
            api.call(
                reqwest::Method::PATCH,
                &format!("/channels/{id}"),
                json!({"config": {"allowed_origins": [crate::demo_more::CHAT_ORIGIN]}}),
            )
            .await
            .context("the demo web chat channel")?;
            Some(id)
        }
        None => None,
    };
    Ok(MoreChannels {
        email: Some((email, smtp_in.to_owned())),
        webchat,
    })
}

/// The generic webhook of a demo workspace seeded by an earlier run, with a new secret: its
/// first one was generated and shown once, so a restarted demo rotates it (nobody else signs
/// with it) to keep posting the website form's traffic.
pub async fn webhook_with_new_secret(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<Option<DemoChannel>> {
    let api = Api { http, base, token };
    let listed = api
        .call(reqwest::Method::GET, "/channels", Value::Null)
        .await?;
    let Some(id) = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["kind"] == "webhook")
        .and_then(|c| c["id"].as_str())
        .map(str::to_owned)
    else {
        return Ok(None);
    };
    let rotated = api
        .post(&format!("/channels/{id}/secret"), Value::Null)
        .await
        .context("a new secret for the demo's webhook channel")?;
    Ok(rotated["secret"].as_str().map(|secret| DemoChannel {
        kind: "webhook",
        id,
        secret: secret.to_owned(),
        public: false,
    }))
}

/// The channels of a demo workspace seeded by an earlier run: those whose secrets are the
/// demo's own constants (the generic webhook's is rotated: [`webhook_with_new_secret`]).
pub async fn known_channels(store: &switchboard_store::Store) -> anyhow::Result<Vec<DemoChannel>> {
    let secrets = [
        ("x", "demo-x-consumer-secret", true),
        ("whatsapp", "demo-wa-app-secret", false),
        ("messenger", "demo-fb-app-secret", false),
        ("instagram", "demo-ig-app-secret", false),
        ("twilio", "demo-twilio-auth-token", false),
        ("telegram", "demo-tg-secret", false),
    ];
    Ok(store
        .list_channels()
        .await?
        .into_iter()
        .filter_map(|c| {
            let (kind, secret, public) = secrets.iter().find(|s| s.0 == c.kind)?;
            Some(DemoChannel {
                kind,
                id: c.id.to_string(),
                secret: (*secret).to_owned(),
                public: *public,
            })
        })
        .collect())
}

fn channel_name(kind: &str) -> &'static str {
    match kind {
        "x" => "@LakesideCollege on X",
        "whatsapp" => "WhatsApp +1 555 000 1111",
        "messenger" => "Lakeside on Messenger",
        "instagram" => "@lakeside.college on Instagram",
        "twilio" => "SMS +1 555 000 1111",
        "telegram" => "@lakeside_bot on Telegram",
        "webchat" => "Chat on lakeside.example",
        "email" => "help@lakeside.example",
        _ => "Lakeside",
    }
}

/// One message from a made-up person, as the channel's provider would post it.
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Builds the signed webhook for `text` from person `who` on `ch`.
pub fn envelope(
    base: &str,
    ch: &DemoChannel,
    who: u64,
    name: &str,
    text: &str,
    n: u64,
) -> Outgoing {
    let url = format!("{base}/hooks/{}/{}", ch.kind, ch.id);
    let now = Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc());
    let secs = now.as_unix_micros() / 1_000_000;
    let json = |v: Value| v.to_string().into_bytes();
    match ch.kind {
        "x" => {
            let tweet = x::ReplayTweet {
                id: format!("{}", 7_000_000_000u64 + n),
                author_id: format!("{}", 50_000 + who),
                author_screen_name: format!("{}{who}", name.to_lowercase()),
                text: format!("@LakesideCollege {text}"),
                created_at: now,
                in_reply_to_status_id: None,
                in_reply_to_user_id: Some("1000".into()),
            };
            let body = x::account_activity_tweet("1000", &tweet);
            let sig = x::sign(ch.secret.as_bytes(), &body);
            Outgoing {
                url,
                headers: vec![("x-twitter-webhooks-signature", sig)],
                content_type: "application/json",
                body,
            }
        }
        "whatsapp" => {
            let phone = format!("1555{:07}", 1000 + who);
            let body = json(
                json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA-LAKESIDE", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PN-LAKESIDE"},
                    "contacts": [{"profile": {"name": name}, "wa_id": phone}],
                    "messages": [{"from": phone, "id": format!("wamid.in{n}"), "timestamp": secs.to_string(), "type": "text", "text": {"body": text}}]
                }}]}]}),
            );
            let sig = meta::sign(ch.secret.as_bytes(), &body);
            Outgoing {
                url,
                headers: vec![("x-hub-signature-256", sig)],
                content_type: "application/json",
                body,
            }
        }
        // Messenger and Instagram DMs: one Meta envelope, each with its own object and ids.
        "messenger" | "instagram" => {
            let (object, account, sender, mid) = if ch.kind == "messenger" {
                (
                    "page",
                    "PAGE-LAKESIDE",
                    format!("PSID-{who}"),
                    format!("m_in{n}"),
                )
            } else {
                (
                    "instagram",
                    "IG-LAKESIDE",
                    format!("IGSID-{who}"),
                    format!("ig_in{n}"),
                )
            };
            let body = json(
                json!({"object": object, "entry": [{"id": account, "time": secs * 1000, "messaging": [{
                "sender": {"id": sender}, "recipient": {"id": account}, "timestamp": secs * 1000,
                "message": {"mid": mid, "text": text}}]}]}),
            );
            let sig = meta::sign(ch.secret.as_bytes(), &body);
            Outgoing {
                url,
                headers: vec![("x-hub-signature-256", sig)],
                content_type: "application/json",
                body,
            }
        }
        "twilio" => {
            let params: Vec<(String, String)> = vec![
                (
                    "AccountSid".into(),
                    "AC0123456789abcdef0123456789abcdef".into(),
                ),
                ("Body".into(), text.into()),
                ("From".into(), format!("+1555{:07}", 2000 + who)),
                ("MessageSid".into(), format!("SMin{n:028}")),
                ("NumMedia".into(), "0".into()),
                ("To".into(), "+15550001111".into()),
            ];
            let sig = twilio::sign(ch.secret.as_bytes(), &url, &params);
            let body = form_body(&params);
            Outgoing {
                url,
                headers: vec![("x-twilio-signature", sig)],
                content_type: "application/x-www-form-urlencoded",
                body,
            }
        }
        "telegram" => {
            let body = json(
                json!({"update_id": n, "message": {"message_id": n, "from": {"id": 70_000 + who, "is_bot": false, "first_name": name},
                "chat": {"id": 70_000 + who, "type": "private", "first_name": name}, "date": secs, "text": text}}),
            );
            Outgoing {
                url,
                headers: vec![("x-telegram-bot-api-secret-token", ch.secret.clone())],
                content_type: "application/json",
                body,
            }
        }
        _ => {
            let body = json(
                json!({"id": format!("form-{n}"), "conversation": format!("visitor-{who}"), "public": false,
                "from": {"id": format!("visitor-{who}"), "name": name}, "text": text}),
            );
            let sig = webhook::sign(ch.secret.as_bytes(), &body);
            Outgoing {
                url,
                headers: vec![("x-switchboard-signature", sig)],
                content_type: "application/json",
                body,
            }
        }
    }
}

fn form_body(params: &[(String, String)]) -> Vec<u8> {
    let mut s = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(&percent(k));
        s.push('=');
        s.push_str(&percent(v));
    }
    s.into_bytes()
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Posts one envelope; logs a refusal (the demo goes on) and says whether it was taken.
pub async fn send(http: &reqwest::Client, out: Outgoing) -> bool {
    let r = http
        .post(&out.url)
        .header("content-type", out.content_type)
        .headers(
            out.headers
                .iter()
                .filter_map(|(k, v)| {
                    Some((reqwest::header::HeaderName::from_static(k), v.parse().ok()?))
                })
                .collect(),
        )
        .body(out.body)
        .send()
        .await;
    match r {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            tracing::warn!(status = %r.status(), "the demo traffic was refused");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "the demo traffic could not be sent");
            false
        }
    }
}

/// The live traffic: a message every few seconds (questions most, then complaints, leads,
/// praise), and a small crisis burst on the public channel soon after start and every few
/// minutes. Now and then a mail to the e-mail channel or a visitor on the web chat; and some
/// who asked a question answer the answer half a minute later: a thank-you, or that it did
/// not help. Runs until the process ends.
pub async fn traffic(
    http: reqwest::Client,
    base: String,
    channels: Vec<DemoChannel>,
    more: MoreChannels,
) {
    let mut n: u64 = (Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc())
        .as_unix_micros()
        / 1000) as u64;
    let public: Vec<&DemoChannel> = channels.iter().filter(|c| c.public).collect();
    let mut since_burst = 0u32;
    let mut first_burst = true;
    // Questions whose askers will answer the answer: (when, channel, who, name, mail id).
    let mut follow_ups: std::collections::VecDeque<(
        std::time::Instant,
        Option<usize>,
        u64,
        &str,
        u64,
    )> = std::collections::VecDeque::new();
    loop {
        let pause = rand::thread_rng().gen_range(1_500..4_500);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        n += 1;
        since_burst += 1;
        // A crisis burst: three people on the public channel within a few seconds.
        if (first_burst && since_burst == 8) || since_burst >= 90 {
            first_burst = false;
            since_burst = 0;
            if let Some(ch) = public.first() {
                for (i, sample) in data::CRISIS.iter().enumerate() {
                    let who = 900 + rand::thread_rng().gen_range(0..100);
                    let name = pick(data::FIRST_NAMES);
                    send(
                        &http,
                        envelope(&base, ch, who, name, sample.text, n + i as u64 * 7),
                    )
                    .await;
                    tokio::time::sleep(Duration::from_millis(600)).await;
                }
                n += 50;
            }
            continue;
        }
        // Someone answers the answer they got.
        if follow_ups
            .front()
            .is_some_and(|f| f.0 <= std::time::Instant::now())
            && let Some((_, ch, who, name, first)) = follow_ups.pop_front()
        {
            let text = if rand::thread_rng().gen_bool(0.6) {
                *pick(crate::demo_more::THANKS)
            } else {
                *pick(crate::demo_more::NOT_HELPED)
            };
            match ch {
                Some(i) => {
                    send(&http, envelope(&base, &channels[i], who, name, text, n)).await;
                }
                None => {
                    if let Some((_, smtp)) = &more.email
                        && let Err(e) =
                            crate::demo_more::mail(smtp, who, name, text, n, Some(first)).await
                    {
                        tracing::warn!(error = %e, "the demo could not mail its follow-up");
                    }
                }
            }
            continue;
        }
        let who = rand::thread_rng().gen_range(0..400);
        let name = data::FIRST_NAMES[(who as usize) % data::FIRST_NAMES.len()];
        let question = pick(data::QUESTIONS);
        let answers_back = rand::thread_rng().gen_bool(0.35);
        let later = std::time::Instant::now() + Duration::from_secs(25);
        let roll = rand::thread_rng().gen_range(0..100);
        match roll {
            // A mail: questions mostly, as people write to a help address.
            0..=9 if more.email.is_some() => {
                if let Some((_, smtp)) = &more.email {
                    if let Err(e) =
                        crate::demo_more::mail(smtp, who, name, question.text, n, None).await
                    {
                        tracing::warn!(error = %e, "the demo could not mail");
                    } else if answers_back {
                        follow_ups.push_back((later, None, who, name, n));
                    }
                }
            }
            // A visitor on the web chat, who may say whether the answer helped.
            10..=19 if more.webchat.is_some() => {
                if let Some(channel) = more.webchat.clone() {
                    let base = base.clone();
                    let helped = rand::thread_rng().gen_bool(0.6);
                    let follow = answers_back.then(|| {
                        *pick(if helped {
                            crate::demo_more::THANKS
                        } else {
                            crate::demo_more::NOT_HELPED
                        })
                    });
                    tokio::spawn(async move {
                        if let Err(e) = crate::demo_more::chat_visitor(
                            &base,
                            &channel,
                            name,
                            question.text,
                            follow,
                        )
                        .await
                        {
                            tracing::warn!(error = %e, "a demo chat visitor could not chat");
                        }
                    });
                }
            }
            _ => {
                let picked = next_message(&mut rand::thread_rng(), &channels);
                let Some((sample, ch)) = picked else {
                    continue;
                };
                send(&http, envelope(&base, ch, who, name, sample.text, n)).await;
                // Private conversations keep one thread per person: the answer joins it.
                let asked = data::QUESTIONS.iter().any(|q| q.text == sample.text);
                if asked && answers_back && !ch.public {
                    let i = channels.iter().position(|c| c.id == ch.id);
                    follow_ups.push_back((later, i, who, name, n));
                }
            }
        }
    }
}

/// The traffic's mix: questions most, then complaints, leads, praise, and now and then a
/// crisis post; with a channel that can carry it (public-only samples need a public one).
pub fn next_message<'c>(
    rng: &mut impl Rng,
    channels: &'c [DemoChannel],
) -> Option<(Sample, &'c DemoChannel)> {
    let pool: &[Sample] = match rng.gen_range(0..100) {
        0..=44 => data::QUESTIONS,
        45..=62 => data::COMPLAINTS,
        63..=82 => data::LEADS,
        83..=97 => data::PRAISE,
        _ => data::CRISIS,
    };
    let sample = pool[rng.gen_range(0..pool.len())];
    let candidates: Vec<&DemoChannel> = channels
        .iter()
        .filter(|c| !sample.public_only || c.public)
        .collect();
    let ch = candidates.choose(rng)?;
    Some((sample, ch))
}

fn pick<T>(items: &[T]) -> &T {
    &items[rand::thread_rng().gen_range(0..items.len())]
}
