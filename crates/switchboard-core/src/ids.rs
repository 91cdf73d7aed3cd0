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
                let micros = at.as_unix_micros().max(0) as u64;
                let ts = uuid::Timestamp::from_unix(
                    uuid::NoContext,
                    micros / 1_000_000,
                    ((micros % 1_000_000) * 1000) as u32,
                );
                $name(Uuid::new_v7(ts))
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
    fn parse_round_trips_and_rejects_garbage() {
        let a = ChannelId::new_at(Timestamp::from_unix_micros(5));
        assert_eq!(ChannelId::parse(&a.to_string()), Ok(a));
        let err = ChannelId::parse("nope").unwrap_err();
        assert!(err.0.contains("channel"), "{err}");
    }
}
