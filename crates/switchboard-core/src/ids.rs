//! Typed identifiers. Each is a UUIDv7 (time-ordered, so ids sort by creation time and make
//! good cursors), wrapped so a `CaseId` can never be passed where a `ContactId` is expected.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id for something created at `at` (UUIDv7 embeds the time).
            pub fn new_at(at: crate::Timestamp) -> Self {
                $name(uuid_v7_micros(at))
            }
            pub fn from_uuid(u: Uuid) -> Self {
                $name(u)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// Parses the canonical hyphenated form.
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                Uuid::try_parse(s)
                    .map($name)
                    .map_err(|_| ParseError(format!(concat!("not a valid ", $what, " id: {:?}"), s)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                Self::parse(s)
            }
        }
    };
}

/// A UUIDv7 whose 12 `rand_a` bits carry the sub-millisecond part of `at` (RFC 9562, section
/// 6.2, method 3), so ids made at distinct microseconds sort in time order.
fn uuid_v7_micros(at: crate::Timestamp) -> Uuid {
    let micros = at.as_unix_micros().max(0) as u64;
    let millis = micros / 1000;
    let sub = ((micros % 1000) * 4096 / 1000) as u16;
    // Random bits (and the variant) come from a v4 uuid; the rest is overwritten.
    let mut bytes = *Uuid::new_v4().as_bytes();
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (sub >> 8) as u8;
    bytes[7] = (sub & 0xff) as u8;
    Uuid::from_bytes(bytes)
}

typed_id!(/// A case: the unit of work.
    CaseId, "case");
typed_id!(/// A person who writes to us, across channels.
    ContactId, "contact");
typed_id!(/// A thread on one channel.
    ConversationId, "conversation");
typed_id!(/// One message: inbound, outbound or a note.
    MessageId, "message");
typed_id!(/// A connected account (a page, a number, a webhook source).
    ChannelId, "channel");
typed_id!(/// A person who works in Switchboard.
    UserId, "user");
typed_id!(/// A team that owns cases.
    TeamId, "team");
typed_id!(/// An API token.
    TokenId, "token");
typed_id!(/// A raw inbound event, stored before it is acknowledged.
    RawEventId, "raw event");
typed_id!(/// Something a person should know (an SLA breach, an expert's answer).
    NotificationId, "notification");
typed_id!(/// A signed link that lets an outside expert answer one case.
    ExpertLinkId, "expert link");
typed_id!(/// One signed outbound webhook call.
    DeliveryId, "webhook delivery");
typed_id!(/// A labelled example an agent's correction made.
    ExampleId, "training example");
typed_id!(/// A knowledge-base article.
    ArticleId, "article");
typed_id!(/// A canned response: a short reply template.
    CannedId, "canned response");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    #[test]
    fn ids_sort_by_creation_time() {
        let a = CaseId::new_at(Timestamp::from_unix_micros(1_000_000));
        let b = CaseId::new_at(Timestamp::from_unix_micros(2_000_000));
        assert!(a < b);
        assert!(a.to_string() < b.to_string(), "text form sorts too");
    }

    #[test]
    fn ids_at_distinct_microseconds_sort_in_order() {
        let base = 1_790_000_000_000_000;
        let ids: Vec<MessageId> = (0..2000)
            .map(|i| MessageId::new_at(Timestamp::from_unix_micros(base + i)))
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids made a microsecond apart must sort in order"
        );
        let id = ids[0].as_uuid();
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let a = ChannelId::new_at(Timestamp::from_unix_micros(5));
        assert_eq!(ChannelId::parse(&a.to_string()), Ok(a));
        let err = ChannelId::parse("nope").unwrap_err();
        assert!(err.0.contains("channel"), "{err}");
    }
}
