//! Messages: their direction, delivery state, and the normalized inbound message every
//! channel adapter produces.

use crate::{ParseError, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    Note,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Note => "note",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            "note" => Ok(Direction::Note),
            _ => Err(ParseError::new(format!("unknown direction {s:?}"))),
        }
    }
}

/// Where a message is on its way. Inbound messages are `received`; notes are `internal`;
/// outbound ones go `queued` → `sending` → `delivered` (→ `read`), or end `failed` with a
/// reason after their retries. A reply that needs review waits as `pending_approval` until a
/// reviewer approves it (→ `queued`) or rejects it (`rejected`, never sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Received,
    Internal,
    Queued,
    Sending,
    Delivered,
    Read,
    Failed,
    PendingApproval,
    Rejected,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Received => "received",
            DeliveryState::Internal => "internal",
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Read => "read",
            DeliveryState::Failed => "failed",
            DeliveryState::PendingApproval => "pending_approval",
            DeliveryState::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        use DeliveryState::*;
        [
            Received,
            Internal,
            Queued,
            Sending,
            Delivered,
            Read,
            Failed,
            PendingApproval,
            Rejected,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
        .ok_or_else(|| ParseError::new(format!("unknown delivery state {s:?}")))
    }
    /// No further attempt will be made.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryState::Delivered
                | DeliveryState::Read
                | DeliveryState::Failed
                | DeliveryState::Rejected
        )
    }
}

/// The person who wrote an inbound message, as the channel knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// The channel's id for the person; with the channel it is the contact's identity.
    pub external_id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
    /// Followers on a social network, when the channel says (a routing signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
    /// The network verified the account, when the channel says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// An inbound message after its channel adapter parsed it: the same shape for every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The channel's id for the message; (channel, external_id) is unique.
    pub external_id: String,
    /// The channel's thread key. Messages with the same key on the same channel form one
    /// conversation.
    pub thread: String,
    /// A public comment or mention (true) or a private message (false).
    pub public: bool,
    pub author: Author,
    pub text: String,
    /// When the customer sent it, if the channel says.
    pub sent_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        use DeliveryState::*;
        for d in [Received, Internal, Queued, Sending, Delivered, Read, Failed] {
            assert_eq!(DeliveryState::parse(d.as_str()), Ok(d));
        }
        assert!(
            Failed.is_final() && Delivered.is_final() && !Queued.is_final() && !Sending.is_final()
        );
        for d in [Direction::Inbound, Direction::Outbound, Direction::Note] {
            assert_eq!(Direction::parse(d.as_str()), Ok(d));
        }
    }
}
