//! What can tie two contact records to one person: a phone number or an e-mail address, in
//! one canonical form, so that equal keys on two contacts suggest merging them.
//!
//! - **Phone numbers** are kept only in international form, `+` and 8 to 15 digits (E.164):
//!   written `+44 20 7946 0958`, `0044 20 7946 0958` or `(+1) 555-010-0199`. A national
//!   number (`020 7946 0958`) names no country, so it is no key: matching it on its digits
//!   alone would tie strangers in two countries together.
//! - **E-mail addresses** are trimmed and lower-cased (`Ana@Example.COM` is
//!   `ana@example.com`); `mailto:` is dropped. Nothing else is rewritten: providers disagree on
//!   dots and `+tags` in the local part.
//!
//! Where keys come from ([`KeySource`]): an identity whose id *is* a phone number or an
//! address (Twilio SMS, WhatsApp, e-mail), an agent who typed one in, or what a customer wrote
//! in a private message. A key written in a message is weaker: customers also write the
//! company's own address, or a friend's number. Pure: strings in, keys out.

use crate::PersonalDataSpan;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Phone,
    Email,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Phone => "phone",
            KeyKind::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::ParseError> {
        match s {
            "phone" => Ok(KeyKind::Phone),
            "email" => Ok(KeyKind::Email),
            other => Err(crate::ParseError(format!(
                "{other:?} is not a contact key kind (phone or email)"
            ))),
        }
    }
}

/// Where a key was learnt; the first two are strong enough to suggest a merge on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The identity's id on its channel is the key (the number an SMS came from).
    Identity,
    /// An agent entered it on the contact.
    Agent,
    /// The customer wrote it in a private message.
    Message,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Identity => "identity",
            KeySource::Agent => "agent",
            KeySource::Message => "message",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::ParseError> {
        match s {
            "identity" => Ok(KeySource::Identity),
            "agent" => Ok(KeySource::Agent),
            "message" => Ok(KeySource::Message),
            other => Err(crate::ParseError(format!(
                "{other:?} is not a contact key source"
            ))),
        }
    }

    /// A strong key suggests a merge on its own; two weak ones (both only written in
    /// messages) do not.
    pub fn is_strong(self) -> bool {
        self != KeySource::Message
    }
}

/// A phone number or e-mail address in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContactKey {
    pub kind: KeyKind,
    pub value: String,
}

impl ContactKey {
    /// A phone number in international form, or `None` (see the module docs).
    pub fn phone(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let mut digits = String::with_capacity(raw.len());
        let mut plus = false;
        for ch in raw.chars() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if digits.is_empty() && !plus => plus = true,
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
                _ => return None,
            }
        }
        let digits = match (plus, digits.strip_prefix("00")) {
            (true, _) => digits,
            (false, Some(rest)) => rest.to_string(),
            (false, None) => return None,
        };
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return None;
        }
        Some(ContactKey {
            kind: KeyKind::Phone,
            value: format!("+{digits}"),
        })
    }

    /// An e-mail address, trimmed and lower-cased, or `None` when it is not one.
    pub fn email(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let raw = raw
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("mailto:"))
            .map_or(raw, |_| &raw[7..]);
        let (local, domain) = raw.split_once('@')?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && domain.len() <= 253
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
        ok.then(|| ContactKey {
            kind: KeyKind::Email,
            value: raw.to_lowercase(),
        })
    }

    /// The key in a value of the given kind, as someone typed it.
    pub fn parse(kind: KeyKind, raw: &str) -> Option<Self> {
        match kind {
            KeyKind::Phone => Self::phone(raw),
            KeyKind::Email => Self::email(raw),
        }
    }

    /// The key an identity's id is, by its channel's kind: the sender's number on Twilio (also
    /// `whatsapp:+…` through Twilio), the `wa_id` on WhatsApp (international digits without
    /// the `+`), the address on e-mail.
    pub fn of_identity(channel_kind: &str, external_id: &str) -> Option<Self> {
        match channel_kind {
            "twilio" => Self::phone(external_id.strip_prefix("whatsapp:").unwrap_or(external_id)),
            "whatsapp" if external_id.bytes().all(|b| b.is_ascii_digit()) => {
                Self::phone(&format!("+{external_id}"))
            }
            "email" => Self::email(external_id),
            _ => None,
        }
    }

    /// The keys in what a customer wrote, from the personal data the understanding step found
    /// (`email` and `phone` spans); each once, in the order written.
    pub fn in_text(text: &str, spans: &[PersonalDataSpan]) -> Vec<Self> {
        let mut out: Vec<Self> = Vec::new();
        for s in spans {
            let Some(slice) = text.get(s.start..s.end) else {
                continue;
            };
            // Typed full-width (`ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ`), it is the same address.
            let slice = &*crate::guard::narrowed(slice);
            let key = match s.kind.as_str() {
                "email" => Self::email(slice),
                "phone" => Self::phone(slice),
                _ => None,
            };
            if let Some(k) = key
                && !out.contains(&k)
            {
                out.push(k);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(s: &str) -> Option<String> {
        ContactKey::phone(s).map(|k| k.value)
    }

    #[test]
    fn phone_numbers_in_international_form_only() {
        let cases: &[(&str, Option<&str>)] = &[
            ("+15550100199", Some("+15550100199")),
            ("+1 (555) 010-0199", Some("+15550100199")),
            ("(+1) 555.010.0199", Some("+15550100199")), // the '+' still leads the digits
            ("0044 20 7946 0958", Some("+442079460958")),
            ("+44 20 7946 0958", Some("+442079460958")),
            ("020 7946 0958", None),
            ("555-0199", None),
            ("+1234567", None),          // 7 digits: too short for any country
            ("+1234567890123456", None), // 16 digits: longer than E.164 allows
            ("+0441234567", None),       // no country code starts with 0
            ("++15550100199", None),
            ("+1555abc0199", None),
            ("", None),
            ("  +49 30 1234567 ", Some("+49301234567")),
        ];
        for (raw, want) in cases {
            assert_eq!(phone(raw).as_deref(), *want, "{raw:?}");
        }
    }

    #[test]
    fn email_addresses_lower_cased() {
        let e = |s: &str| ContactKey::email(s).map(|k| k.value);
        assert_eq!(e("Ana@Example.COM").as_deref(), Some("ana@example.com"));
        assert_eq!(
            e("mailto:ana.b+x@example.co.uk ").as_deref(),
            Some("ana.b+x@example.co.uk")
        );
        assert_eq!(e("MAILTO:a@b.io").as_deref(), Some("a@b.io"));
        for bad in [
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "ana@.com",
            "ana@com.",
            "a b@c.de",
            "a@b@c.de",
        ] {
            assert_eq!(e(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn identities_whose_id_is_a_key() {
        let k = |kind: &str, id: &str| ContactKey::of_identity(kind, id).map(|k| k.value);
        assert_eq!(k("twilio", "+15550100199").as_deref(), Some("+15550100199"));
        assert_eq!(
            k("twilio", "whatsapp:+15550100199").as_deref(),
            Some("+15550100199")
        );
        assert_eq!(
            k("whatsapp", "15550100199").as_deref(),
            Some("+15550100199")
        );
        assert_eq!(k("whatsapp", "not-a-number"), None);
        assert_eq!(
            k("email", "Ana@Example.com").as_deref(),
            Some("ana@example.com")
        );
        // A tweet's author id, a Telegram user id: numbers, but not phone numbers.
        assert_eq!(k("x", "15550100199"), None);
        assert_eq!(k("telegram", "15550100199"), None);
        assert_eq!(k("messenger", "15550100199"), None);
    }

    #[test]
    fn keys_written_in_a_message() {
        let text = "reach me at Ana@Example.com or +44 20 7946 0958, card 4111111111111111, again ana@example.com";
        let span = |kind: &str, needle: &str, nth: usize| {
            let start = text.match_indices(needle).nth(nth).unwrap().0;
            PersonalDataSpan {
                kind: kind.into(),
                start,
                end: start + needle.len(),
                scheme: None,
            }
        };
        let spans = vec![
            span("email", "Ana@Example.com", 0),
            span("phone", "+44 20 7946 0958", 0),
            span("card_number", "4111111111111111", 0),
            span("email", "ana@example.com", 0),
            PersonalDataSpan {
                kind: "email".into(),
                start: 500,
                end: 510,
                scheme: None,
            },
        ];
        let keys = ContactKey::in_text(text, &spans);
        assert_eq!(
            keys,
            vec![
                ContactKey {
                    kind: KeyKind::Email,
                    value: "ana@example.com".into()
                },
                ContactKey {
                    kind: KeyKind::Phone,
                    value: "+442079460958".into()
                },
            ]
        );
    }

    /// Typed full-width, an address or a number is the same key.
    #[test]
    fn full_width_details_are_the_same_keys() {
        let text =
            "メールはａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ、電話は＋４４ ２０ ７９４６ ０９５８です";
        let spans = crate::guard::personal_data(text)
            .into_iter()
            .map(|f| PersonalDataSpan {
                kind: match f.kind {
                    crate::guard::FindingKind::Email => "email".into(),
                    _ => "phone".into(),
                },
                start: f.start,
                end: f.end,
                scheme: None,
            })
            .collect::<Vec<_>>();
        let values: Vec<String> = ContactKey::in_text(text, &spans)
            .into_iter()
            .map(|k| k.value)
            .collect();
        assert_eq!(values, ["ana@example.com", "+442079460958"]);
    }

    #[test]
    fn kinds_and_sources_round_trip() {
        for k in [KeyKind::Phone, KeyKind::Email] {
            assert_eq!(KeyKind::parse(k.as_str()), Ok(k));
        }
        for s in [KeySource::Identity, KeySource::Agent, KeySource::Message] {
            assert_eq!(KeySource::parse(s.as_str()), Ok(s));
        }
        assert!(KeyKind::parse("fax").is_err());
        assert!(KeySource::Agent.is_strong() && !KeySource::Message.is_strong());
    }
}
