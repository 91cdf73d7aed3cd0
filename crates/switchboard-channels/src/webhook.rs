//! The generic signed-webhook channel: the contract for integrators (see `docs/WEBHOOK.md`).
//!
//! Inbound: `POST /hooks/webhook/{channel_id}` with `X-Switchboard-Signature:
//! sha256=<hex HMAC-SHA256(secret, raw body)>` and a JSON body (see [`parse_inbound`]).
//! Outbound: replies are POSTed to the channel's `outbound_url`, signed the same way, with an
//! `Idempotency-Key` header (see [`outbound_request`]).

use crate::{PayloadError, SignatureError};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use switchboard_core::{Author, InboundMessage, Timestamp};

pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Longest id, thread or handle accepted, in bytes.
const MAX_ID: usize = 256;
/// Longest message text accepted, in bytes.
pub const MAX_TEXT: usize = 64 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// `sha256=<lowercase hex HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    }
}

/// Checks the signature header against the raw body, in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing("X-Switchboard-Signature"))?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed(
            "X-Switchboard-Signature",
            "sha256=<hex>",
        ))?;
    let sig = hex::decode(hex_sig)
        .map_err(|_| SignatureError::Malformed("X-Switchboard-Signature", "sha256=<hex>"))?;
    let mut mac = mac(secret);
    mac.update(body);
    mac.verify_slice(&sig).map_err(|_| SignatureError::Mismatch)
}

fn string_field(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
    required: bool,
    max: usize,
) -> Result<Option<String>, PayloadError> {
    match obj.get(key) {
        None | Some(Value::Null) if required => Err(PayloadError::field(path, "is required")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if required && s.trim().is_empty() => {
            Err(PayloadError::field(path, "must not be empty"))
        }
        Some(Value::String(s)) if s.len() > max => Err(PayloadError::field(
            path,
            format!("must be at most {max} bytes"),
        )),
        Some(Value::String(s))
            if s.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
                && max <= MAX_ID =>
        {
            Err(PayloadError::field(
                path,
                "must not contain control characters",
            ))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PayloadError::field(path, "must be a string")),
    }
}

/// Parses an inbound webhook body:
///
/// ```json
/// {"id":"ext-1","conversation":"thread-9","public":false,
///  "from":{"id":"u-1","name":"Ann Lee","handle":"@ann","followers":1200,"verified":false},
///  "text":"…","sent_at":"2026-11-22T10:00:00Z"}
/// ```
/// `id`, `from.id` and `text` are required; `conversation`, `public`, `from.name`,
/// `from.handle`, `from.followers`, `from.verified` and `sent_at` are optional. Without `conversation`, a private message joins
/// the sender's direct thread (`dm:<from.id>`) and a public one starts its own (`post:<id>`).
/// Unknown fields are ignored, so senders may add their own.
pub fn parse_inbound(body: &[u8]) -> Result<InboundMessage, PayloadError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError::body(format!("the body is not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| PayloadError::body("the body must be a JSON object"))?;
    let id = string_field(obj, "id", "id", true, MAX_ID)?.unwrap_or_default();
    let text = string_field(obj, "text", "text", false, MAX_TEXT)?
        .ok_or_else(|| PayloadError::field("text", "is required"))?;
    if text.trim().is_empty() {
        return Err(PayloadError::field("text", "must not be empty"));
    }
    if text.contains('\0') {
        return Err(PayloadError::field(
            "text",
            "must not contain NUL characters",
        ));
    }
    let public = match obj.get("public") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(PayloadError::field("public", "must be true or false")),
    };
    let from = match obj.get("from") {
        None | Some(Value::Null) => return Err(PayloadError::field("from", "is required")),
        Some(Value::Object(f)) => f,
        Some(_) => return Err(PayloadError::field("from", "must be an object")),
    };
    let author = Author {
        external_id: string_field(from, "from.id", "id", true, MAX_ID)?.unwrap_or_default(),
        name: string_field(from, "from.name", "name", false, MAX_ID)?
            .filter(|s| !s.trim().is_empty()),
        handle: string_field(from, "from.handle", "handle", false, MAX_ID)?
            .filter(|s| !s.trim().is_empty()),
        followers: match from.get("followers") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(_) => {
                return Err(PayloadError::field(
                    "from.followers",
                    "must be a whole number, 0 or more",
                ));
            }
        },
        verified: match from.get("verified") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(PayloadError::field(
                    "from.verified",
                    "must be true or false",
                ));
            }
        },
    };
    let conversation =
        string_field(obj, "conversation", "conversation", false, MAX_ID)?.filter(|s| !s.is_empty());
    let sent_at = string_field(obj, "sent_at", "sent_at", false, MAX_ID)?
        .map(|s| Timestamp::parse_rfc3339(&s).map_err(|e| PayloadError::field("sent_at", e.0)))
        .transpose()?;
    let thread = match conversation {
        Some(c) => format!("c:{c}"),
        None if public => format!("post:{id}"),
        None => format!("dm:{}", author.external_id),
    };
    Ok(InboundMessage {
        external_id: id,
        thread,
        public,
        author,
        text,
        sent_at,
        attachments: Vec::new(),
        reply_to: None,
    })
}

/// The external id to deduplicate a raw body on, if it has one (read without full parsing).
pub fn external_id(msg: &InboundMessage) -> &str {
    &msg.external_id
}

/// What Switchboard POSTs to the channel's `outbound_url` for a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    pub body: Vec<u8>,
    /// `X-Switchboard-Signature` value.
    pub signature: String,
    /// `Idempotency-Key` value: the message id, the same on every retry.
    pub idempotency_key: String,
}

/// Builds the signed reply: `{"id","conversation","in_reply_to","to":{"id"},"text"}`.
/// `conversation` is the thread as the sender named it (without Switchboard's prefix).
pub fn outbound_request(
    secret: &[u8],
    message_id: &str,
    thread: &str,
    in_reply_to: Option<&str>,
    to: &str,
    text: &str,
) -> OutboundRequest {
    let conversation = thread.strip_prefix("c:").unwrap_or(thread);
    let body = json!({
        "id": message_id,
        "conversation": conversation,
        "in_reply_to": in_reply_to,
        "to": { "id": to },
        "text": text,
    })
    .to_string()
    .into_bytes();
    OutboundRequest {
        signature: sign(secret, &body),
        body,
        idempotency_key: message_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"s3cret";

    #[test]
    fn signature_round_trip_and_rejections() {
        let body = br#"{"id":"1"}"#;
        let sig = sign(SECRET, body);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert_eq!(verify(SECRET, body, Some(&sig)), Ok(()));
        assert_eq!(
            verify(SECRET, b"{}", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", body, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(SECRET, body, None),
            Err(SignatureError::Missing(_))
        ));
        assert!(matches!(
            verify(SECRET, body, Some("md5=abc")),
            Err(SignatureError::Malformed(..))
        ));
        assert!(matches!(
            verify(SECRET, body, Some("sha256=zz")),
            Err(SignatureError::Malformed(..))
        ));
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        let mut mac = mac(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn parses_the_documented_example() {
        let body = br#"{"id":"ext-1","conversation":"thread-9","public":false,"from":{"id":"u-1","name":"Ann Lee","handle":"@ann"},"text":"Hello","sent_at":"2026-11-22T10:00:00Z"}"#;
        let m = parse_inbound(body).unwrap();
        assert_eq!(m.external_id, "ext-1");
        assert_eq!(m.thread, "c:thread-9");
        assert!(!m.public);
        assert_eq!(m.author.external_id, "u-1");
        assert_eq!(m.author.name.as_deref(), Some("Ann Lee"));
        assert_eq!(m.author.handle.as_deref(), Some("@ann"));
        assert_eq!(m.text, "Hello");
        assert_eq!(m.sent_at.unwrap().to_rfc3339(), "2026-11-22T10:00:00Z");
    }

    #[test]
    fn optional_fields_default() {
        let m = parse_inbound(br#"{"id":"e","from":{"id":"u"},"text":"hi"}"#).unwrap();
        assert_eq!(m.thread, "dm:u");
        assert!(!m.public && m.sent_at.is_none() && m.author.name.is_none());
        let p =
            parse_inbound(br#"{"id":"e","public":true,"from":{"id":"u"},"text":"hi"}"#).unwrap();
        assert_eq!(p.thread, "post:e");
    }

    #[test]
    fn errors_name_the_field() {
        let table: &[(&[u8], Option<&str>)] = &[
            (b"not json", None),
            (b"[1,2]", None),
            (br#"{"from":{"id":"u"},"text":"t"}"#, Some("id")),
            (br#"{"id":"","from":{"id":"u"},"text":"t"}"#, Some("id")),
            (br#"{"id":5,"from":{"id":"u"},"text":"t"}"#, Some("id")),
            (br#"{"id":"e","text":"t"}"#, Some("from")),
            (br#"{"id":"e","from":"u","text":"t"}"#, Some("from")),
            (br#"{"id":"e","from":{},"text":"t"}"#, Some("from.id")),
            (br#"{"id":"e","from":{"id":"u"}}"#, Some("text")),
            (br#"{"id":"e","from":{"id":"u"},"text":"  "}"#, Some("text")),
            (
                br#"{"id":"e","from":{"id":"u"},"text":"a\u0000b"}"#,
                Some("text"),
            ),
            (
                br#"{"id":"e\u0000","from":{"id":"u"},"text":"t"}"#,
                Some("id"),
            ),
            (
                br#"{"id":"e","from":{"id":"u"},"text":"t","public":"yes"}"#,
                Some("public"),
            ),
            (
                br#"{"id":"e","from":{"id":"u"},"text":"t","sent_at":"monday"}"#,
                Some("sent_at"),
            ),
            (
                br#"{"id":"e","from":{"id":"u","name":7},"text":"t"}"#,
                Some("from.name"),
            ),
        ];
        for (body, field) in table {
            let err = parse_inbound(body).unwrap_err();
            assert_eq!(
                err.field.as_deref(),
                *field,
                "{}: {err}",
                String::from_utf8_lossy(body)
            );
            if let Some(f) = field {
                assert!(err.message.starts_with(f), "{err}");
            }
        }
    }

    #[test]
    fn outbound_is_signed_and_shaped() {
        let req = outbound_request(SECRET, "m-1", "c:thread-9", Some("ext-1"), "u-1", "Hi Ann");
        assert_eq!(verify(SECRET, &req.body, Some(&req.signature)), Ok(()));
        let v: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            v,
            json!({"id":"m-1","conversation":"thread-9","in_reply_to":"ext-1","to":{"id":"u-1"},"text":"Hi Ann"})
        );
        assert_eq!(req.idempotency_key, "m-1");
        let dm = outbound_request(SECRET, "m-2", "dm:u-1", None, "u-1", "x");
        let v: Value = serde_json::from_slice(&dm.body).unwrap();
        assert_eq!(v["conversation"], "dm:u-1");
        assert_eq!(v["in_reply_to"], Value::Null);
    }
}
