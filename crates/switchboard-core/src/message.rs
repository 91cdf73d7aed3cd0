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

/// What the understanding step made of an inbound message (see the `switchboard-understand`
/// crate): stored with the message, offered to the playbook as facts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Understood {
    /// Present when the workspace has an intent model.
    #[serde(default)]
    pub intent: Option<Classification>,
    #[serde(default)]
    pub purpose: Option<Classification>,
    #[serde(default)]
    pub sentiment: Option<SentimentScore>,
    /// ISO 639-1 (or 639-3) code; absent when the text is too short to tell.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub personal_data: Vec<PersonalDataSpan>,
}

/// A classifier's label (`unknown` below its confidence floor), its calibrated probability,
/// and the words that weighed most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub label: String,
    pub confidence: f32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<Evidence>,
}

/// A word (or word pair) and how much it pushed toward a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub feature: String,
    pub weight: f32,
}

/// `negative`, `neutral` or `positive`, and a score from −1 to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentScore {
    pub label: String,
    pub score: f32,
}

/// Personal data found in the text: its kind (`card_number`, `iban`, `national_id`, `email`,
/// `phone`) and byte range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalDataSpan {
    pub kind: String,
    pub start: usize,
    pub end: usize,
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
