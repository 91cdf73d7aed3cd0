//! One entry point for every provider: a channel's kind, config and credentials become an
//! [`Adapter`] that verifies, parses and sends. The server holds one per connected channel.

use crate::{
    ChannelKind, HttpRequest, PayloadError, RuleError, SendJob, SendOutcome, SignatureError, email,
    meta, telegram, twilio, webchat, webhook, whatsapp, x,
};
use serde_json::Value;
use switchboard_core::ChannelEvent;

/// A webhook request as the server received it.
pub struct InboundRequest<'a> {
    /// The URL the provider called, as configured there (Twilio signs it).
    pub url: &'a str,
    pub content_type: Option<&'a str>,
    /// A header's value by its lower-case name.
    pub header: &'a dyn Fn(&str) -> Option<&'a str>,
    pub body: &'a [u8],
}

/// What a `GET` on a channel's webhook URL answers: a provider's verification handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// Answer 200 with this body and content type.
    Answer {
        content_type: &'static str,
        body: String,
    },
    /// The request is not the provider's handshake or its token is wrong: 403.
    Refused(String),
    /// This kind of channel has no handshake: 405.
    NotSupported,
}

pub enum Adapter {
    /// The generic webhook: its secret is the whole credential.
    Webhook {
        secret: Vec<u8>,
    },
    Messenger(meta::Config, meta::Credentials),
    Instagram(meta::Config, meta::Credentials),
    Whatsapp(whatsapp::Config, whatsapp::Credentials),
    X(x::Config, x::Credentials),
    Twilio(twilio::Config, twilio::Credentials),
    Telegram(telegram::Config, telegram::Credentials),
    Email(email::Config, email::Credentials),
    Webchat(webchat::Config, webchat::Credentials),
}

impl std::fmt::Debug for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Adapter({})", self.kind().as_str())
    }
}

impl Adapter {
    /// Checks a channel's config and credentials (names the key at fault).
    pub fn new(
        kind: ChannelKind,
        config: &Value,
        credentials: &Value,
    ) -> Result<Adapter, PayloadError> {
        Ok(match kind {
            ChannelKind::Webhook => Adapter::Webhook {
                secret: credentials
                    .get("secret")
                    .and_then(Value::as_str)
                    .ok_or_else(|| PayloadError::field("credentials.secret", "is required"))?
                    .as_bytes()
                    .to_vec(),
            },
            ChannelKind::Messenger => Adapter::Messenger(
                meta::Config::from_json(config, meta::Product::Messenger)?,
                meta::Credentials::from_json(credentials)?,
            ),
            ChannelKind::Instagram => Adapter::Instagram(
                meta::Config::from_json(config, meta::Product::Instagram)?,
                meta::Credentials::from_json(credentials)?,
            ),
            ChannelKind::Whatsapp => Adapter::Whatsapp(
                whatsapp::Config::from_json(config)?,
                whatsapp::Credentials::from_json(credentials)?,
            ),
            ChannelKind::X => Adapter::X(
                x::Config::from_json(config)?,
                x::Credentials::from_json(credentials)?,
            ),
            ChannelKind::Twilio => Adapter::Twilio(
                twilio::Config::from_json(config)?,
                twilio::Credentials::from_json(credentials)?,
            ),
            ChannelKind::Telegram => Adapter::Telegram(
                telegram::Config::from_json(config)?,
                telegram::Credentials::from_json(credentials)?,
            ),
            ChannelKind::Email => {
                let cfg = email::Config::from_json(config)?;
                let creds = email::Credentials::from_json(credentials)?;
                if cfg.imap.is_some() && creds.imap_password.is_none() {
                    return Err(PayloadError::field(
                        "credentials.imap_password",
                        "is required when config.imap is set",
                    ));
                }
                Adapter::Email(cfg, creds)
            }
            ChannelKind::Webchat => Adapter::Webchat(
                webchat::Config::from_json(config)?,
                webchat::Credentials::from_json(credentials)?,
            ),
        })
    }

    pub fn kind(&self) -> ChannelKind {
        match self {
            Adapter::Webhook { .. } => ChannelKind::Webhook,
            Adapter::Messenger(..) => ChannelKind::Messenger,
            Adapter::Instagram(..) => ChannelKind::Instagram,
            Adapter::Whatsapp(..) => ChannelKind::Whatsapp,
            Adapter::X(..) => ChannelKind::X,
            Adapter::Twilio(..) => ChannelKind::Twilio,
            Adapter::Telegram(..) => ChannelKind::Telegram,
            Adapter::Email(..) => ChannelKind::Email,
            Adapter::Webchat(..) => ChannelKind::Webchat,
        }
    }

    /// The provider's handshake for a `GET` with this raw query string.
    pub fn handshake(&self, query: &str) -> Handshake {
        let meta_answer = |r: Result<String, meta::HandshakeError>| match r {
            Ok(challenge) => Handshake::Answer {
                content_type: "text/plain",
                body: challenge,
            },
            Err(e) => Handshake::Refused(e.to_string()),
        };
        match self {
            Adapter::Messenger(_, k) | Adapter::Instagram(_, k) => {
                meta_answer(meta::handshake(query, &k.verify_token))
            }
            Adapter::Whatsapp(_, k) => meta_answer(whatsapp::handshake(query, &k.verify_token)),
            Adapter::X(_, k) => {
                match form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == "crc_token") {
                    Some((_, token)) if !token.is_empty() => Handshake::Answer {
                        content_type: "application/json",
                        body: x::crc_response(k.consumer_secret(), &token),
                    },
                    _ => Handshake::Refused("crc_token is missing".into()),
                }
            }
            _ => Handshake::NotSupported,
        }
    }

    /// Checks the request's signature (or secret token) against the raw body.
    pub fn verify(&self, req: &InboundRequest<'_>) -> Result<(), SignatureError> {
        let h = req.header;
        match self {
            Adapter::Webhook { secret } => {
                webhook::verify(secret, req.body, h(webhook::SIGNATURE_HEADER))
            }
            Adapter::Messenger(_, k) | Adapter::Instagram(_, k) => meta::verify(
                k.app_secret.as_bytes(),
                req.body,
                h("x-hub-signature-256"),
                h("x-hub-signature"),
            ),
            Adapter::Whatsapp(_, k) => meta::verify(
                k.app_secret.as_bytes(),
                req.body,
                h("x-hub-signature-256"),
                h("x-hub-signature"),
            ),
            Adapter::X(_, k) => x::verify(
                k.consumer_secret(),
                req.body,
                h("x-twitter-webhooks-signature"),
            ),
            Adapter::Twilio(_, k) => twilio::verify(
                k.auth_token(),
                req.url,
                req.content_type,
                req.body,
                h("x-twilio-signature"),
            ),
            Adapter::Telegram(_, k) => {
                telegram::verify(k.secret_token(), h("x-telegram-bot-api-secret-token"))
            }
            // Mail comes over SMTP or IMAP, never signed over HTTP.
            Adapter::Email(..) => Err(SignatureError::Missing(
                "(e-mail channels take no webhooks)",
            )),
            Adapter::Webchat(..) => Err(SignatureError::Missing("(web chat takes no webhooks)")),
        }
    }

    /// Every event in a verified body.
    pub fn parse(&self, body: &[u8]) -> Result<Vec<ChannelEvent>, PayloadError> {
        match self {
            Adapter::Webhook { .. } => {
                webhook::parse_inbound(body).map(|m| vec![ChannelEvent::Message(m)])
            }
            Adapter::Messenger(c, _) | Adapter::Instagram(c, _) => meta::parse(body, c),
            Adapter::Whatsapp(c, _) => whatsapp::parse(body, c),
            Adapter::X(c, _) => x::parse(body, c),
            Adapter::Twilio(c, _) => twilio::parse(body, c),
            Adapter::Telegram(c, _) => telegram::parse(body, c),
            Adapter::Email(c, _) => email::parse(body, c),
            Adapter::Webchat(..) => webchat::parse(body),
        }
    }

    /// The envelope's own id to deduplicate raw deliveries on, if it has one.
    pub fn dedupe_key(&self, body: &[u8]) -> Option<String> {
        match self {
            Adapter::Webhook { .. } => None,
            Adapter::Messenger(..) | Adapter::Instagram(..) => meta::dedupe_key(body),
            Adapter::Whatsapp(..) => whatsapp::dedupe_key(body),
            Adapter::X(..) => x::dedupe_key(body),
            Adapter::Twilio(..) => twilio::dedupe_key(body),
            Adapter::Telegram(..) => telegram::dedupe_key(body),
            Adapter::Email(..) => email::dedupe_key(body),
            Adapter::Webchat(..) => serde_json::from_slice::<webchat::ChatMessage>(body)
                .ok()
                .map(|m| m.external_id()),
        }
    }

    /// The provider's rules for a reply (length, reply windows, what is allowed).
    pub fn check_reply(&self, job: &SendJob) -> Result<(), RuleError> {
        if job.private_reply && !self.private_replies() {
            return Err(RuleError::new(
                "not_supported",
                format!(
                    "{} has no private replies to public messages",
                    self.kind().as_str()
                ),
            ));
        }
        if let Some(t) = &job.template {
            if !matches!(self, Adapter::Whatsapp(..)) {
                return Err(RuleError::new(
                    "not_supported",
                    format!(
                        "{} has no message templates; send a text reply",
                        self.kind().as_str()
                    ),
                ));
            }
            t.check()
                .map_err(|e| RuleError::new("invalid_template", e.0))?;
        }
        match self {
            Adapter::Webhook { .. } => Ok(()),
            Adapter::Messenger(c, _) | Adapter::Instagram(c, _) => meta::check_reply(c, job),
            Adapter::Whatsapp(..) => whatsapp::check_reply(job),
            Adapter::X(..) => x::check_reply(job),
            Adapter::Twilio(..) => twilio::check_reply(job),
            Adapter::Telegram(..) => telegram::check_reply(job),
            Adapter::Email(..) => email::check_reply(job),
            Adapter::Webchat(c, _) => webchat::check_reply(c, job),
        }
    }

    /// Whether a public comment can be answered privately on this channel.
    pub fn private_replies(&self) -> bool {
        matches!(
            self,
            Adapter::Messenger(..) | Adapter::Instagram(..) | Adapter::X(..)
        )
    }

    /// The provider's API request for a reply; `None` for the generic webhook (the server
    /// signs and posts it itself).
    pub fn send_request(&self, job: &SendJob) -> Option<Result<HttpRequest, RuleError>> {
        if job.template.is_some()
            && let Err(e) = self.check_reply(job)
        {
            return Some(Err(e));
        }
        Some(match self {
            // Mail goes out over SMTP: the server builds and sends it.
            Adapter::Webhook { .. } | Adapter::Email(..) | Adapter::Webchat(..) => return None,
            Adapter::Messenger(c, k) | Adapter::Instagram(c, k) => meta::send_request(c, k, job),
            Adapter::Whatsapp(c, k) => whatsapp::send_request(c, k, job),
            Adapter::X(c, k) => x::send_request(c, k, job),
            Adapter::Twilio(c, k) => twilio::send_request(c, k, job),
            Adapter::Telegram(c, k) => telegram::send_request(c, k, job),
        })
    }

    /// What the provider's answer to a send means.
    pub fn read_response(
        &self,
        status: u16,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> SendOutcome {
        match self {
            Adapter::Webhook { .. } => match crate::retry::classify_status(status) {
                crate::retry::Verdict::Delivered => SendOutcome::Accepted {
                    external_id: None,
                    state: switchboard_core::DeliveryState::Delivered,
                },
                crate::retry::Verdict::Retry => SendOutcome::Retry {
                    after_secs: retry_after.and_then(|s| s.trim().parse().ok()),
                    error: format!("HTTP {status}"),
                },
                crate::retry::Verdict::Reject => SendOutcome::Failed {
                    error: format!("HTTP {status}"),
                },
            },
            Adapter::Messenger(..) | Adapter::Instagram(..) => {
                meta::read_response(status, retry_after, body)
            }
            Adapter::Whatsapp(..) => whatsapp::read_response(status, retry_after, body),
            Adapter::X(..) => x::read_response(status, retry_after, body),
            Adapter::Twilio(..) => twilio::read_response(status, retry_after, body),
            Adapter::Telegram(..) => telegram::read_response(status, retry_after, body),
            Adapter::Email(..) | Adapter::Webchat(..) => SendOutcome::Failed {
                error: "this channel does not send over HTTP".into(),
            },
        }
    }
}
