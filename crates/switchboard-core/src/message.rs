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
    /// Accepted by a provider that reports delivery later (a receipt moves it on).
    Sent,
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
            DeliveryState::Sent => "sent",
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
            Sent,
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
            DeliveryState::Sent
                | DeliveryState::Delivered
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
    /// May be empty when the message is only attachments.
    pub text: String,
    /// When the customer sent it, if the channel says.
    pub sent_at: Option<Timestamp>,
    /// Files, media, locations: references only (never downloaded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The channel's id of the message this one answers or quotes. When Switchboard has that
    /// message, this one joins its conversation (threads replies to public posts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// A file or media item sent with a message, kept as a reference with its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// `image`, `video`, `audio`, `file`, `sticker`, `location`, `contact` or `other`.
    pub kind: String,
    /// Where the provider serves it, when the payload says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The provider's media id (WhatsApp and Telegram send ids, not URLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// A file name, caption or a location's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Everything a channel adapter can read from a provider's webhook: one envelope may carry
/// many of these (Meta batches entries; X sends several event lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChannelEvent {
    /// A customer's message.
    Message(InboundMessage),
    /// A message the connected account itself sent: an echo of a Switchboard reply (matched
    /// and not stored twice) or one the brand sent in the provider's own app (stored as the
    /// brand's reply on the case).
    Echo(EchoMessage),
    /// The customer edited a message.
    Edited {
        external_id: String,
        text: String,
        at: Option<Timestamp>,
    },
    /// The customer deleted a message.
    Deleted {
        external_id: String,
        at: Option<Timestamp>,
    },
    Reaction(Reaction),
    /// A delivery report for one outbound message.
    Receipt(Receipt),
    /// Every outbound message of a thread sent up to `up_to` was read (Messenger and
    /// Instagram watermarks, X read markers).
    ReadUpTo {
        thread: String,
        up_to: Timestamp,
    },
    /// An event the adapter recognises and Switchboard does not act on (counted; the raw
    /// body stays in the store).
    Ignored {
        kind: String,
    },
    /// One item of a batched envelope that could not be read (a required field missing or of
    /// the wrong type). The rest of the envelope is processed; the raw body stays in the
    /// store; the item is counted. `field` is the JSON path of the offending field; `reason`
    /// starts with it and says what is wrong.
    Malformed {
        field: Option<String>,
        reason: String,
    },
}

impl ChannelEvent {
    /// A short name for metrics and logs.
    pub fn kind(&self) -> &str {
        match self {
            ChannelEvent::Message(_) => "message",
            ChannelEvent::Echo(_) => "echo",
            ChannelEvent::Edited { .. } => "edited",
            ChannelEvent::Deleted { .. } => "deleted",
            ChannelEvent::Reaction(_) => "reaction",
            ChannelEvent::Receipt(_) => "receipt",
            ChannelEvent::ReadUpTo { .. } => "read_up_to",
            ChannelEvent::Ignored { .. } => "ignored",
            ChannelEvent::Malformed { .. } => "malformed",
        }
    }
}

/// A message the connected account sent, seen coming back from the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoMessage {
    pub external_id: String,
    /// The thread as for the customer's messages (`dm:<customer id>` for a DM).
    pub thread: String,
    pub public: bool,
    /// The customer it was sent to.
    pub to: Author,
    pub text: String,
    pub sent_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Switchboard's own message id when the provider hands it back (Messenger `metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ours: Option<String>,
    /// The sender is an app other than Switchboard (so certainly not one of our sends).
    #[serde(default)]
    pub other_app: bool,
}

/// A reaction to a message; `emoji: None` removes the author's reaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The channel's id of the message reacted to.
    pub target: String,
    pub author: Author,
    pub emoji: Option<String>,
    pub at: Option<Timestamp>,
}

/// What a provider reports about an outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The provider's id of our message (the id its send API returned).
    pub external_id: String,
    /// `Sent`, `Delivered`, `Read` or `Failed`.
    pub state: DeliveryState,
    /// The provider's error, for `Failed` (`131047: Re-engagement message`).
    pub error: Option<String>,
    pub at: Option<Timestamp>,
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
    /// Why the model said `unknown`, and what it leaned to (absent for a label, and on
    /// messages understood before 2026-12-07).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<WhyUnknown>,
}

/// Which rule made a model say `unknown`, so an agent can see whether the message was about
/// something else (`new_words`), in between two labels (`below_floor`), or had nothing to
/// read (`no_words`, `no_known_words`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhyUnknown {
    pub reason: UnknownReason,
    /// The label the model would have given, and its probability (`below_floor` and
    /// `new_words`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaned_to: Option<Leaning>,
    /// `below_floor`: the probability a label needs (as the model's file writes it: 0.3,
    /// not 0.30000001192092896).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<f64>,
    /// `new_words`: the text's words, and how many of them the model has never seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_words: Option<u32>,
}

/// A label a model leaned to without giving it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaning {
    pub label: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownReason {
    /// Only links, handles, numbers, marks or emoticons.
    NoWords,
    /// Words, none of which the model knows (another language, say).
    NoKnownWords,
    /// The best label's probability is under the model's floor.
    BelowFloor,
    /// Too many of the text's words are new to the model (an intent model's rule).
    NewWords,
    /// A reason a newer version wrote (written back as `other`).
    #[serde(other)]
    Other,
}

/// A word (or word pair) and how much it pushed toward a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub feature: String,
    pub weight: f32,
}

/// `negative`, `neutral` or `positive`, and a score from −1 to 1 (a model's: the probability
/// of positive less that of negative).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentScore {
    pub label: String,
    pub score: f32,
    /// Set by a person (an agent's correction; the score is then −1, 0 or 1), not a model.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_person: bool,
}

/// An approved message template (WhatsApp): what may open a conversation, or go out after the
/// customer's 24-hour window has closed. `parameters` fill the template body's `{{1}}`,
/// `{{2}}`… in order; the reply's text is what the customer will read, kept for the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// The template's name as approved: lower-case letters, digits and `_`.
    pub name: String,
    /// Its language code: `en`, `en_US`, `pt_BR`, `zh_Hant_HK`…
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// The most body parameters a template takes.
pub const MAX_TEMPLATE_PARAMETERS: usize = 20;

impl Template {
    /// Checks the name, language and parameters; the error names the field.
    pub fn check(&self) -> Result<(), crate::ParseError> {
        let err = |m: String| Err(crate::ParseError(m));
        if self.name.is_empty()
            || self.name.len() > 512
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return err(format!(
                "template.name: {:?} is not a template name (lower-case letters, digits and _)",
                self.name
            ));
        }
        let mut parts = self.language.split('_');
        let lang_ok = parts.next().is_some_and(|l| {
            (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase())
        }) && parts
            .all(|p| (2..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !lang_ok {
            return err(format!(
                "template.language: {:?} is not a language code such as en or en_US",
                self.language
            ));
        }
        if self.parameters.len() > MAX_TEMPLATE_PARAMETERS {
            return err(format!(
                "template.parameters: at most {MAX_TEMPLATE_PARAMETERS}"
            ));
        }
        for (i, p) in self.parameters.iter().enumerate() {
            if p.trim().is_empty() || p.chars().count() > 1024 || p.contains(['\n', '\t']) {
                return err(format!(
                    "template.parameters[{i}]: must be 1 to 1024 characters on one line (no tabs)"
                ));
            }
        }
        Ok(())
    }
}

/// Personal data found in the text: its kind (`card_number`, `iban`, `national_id`, `email`,
/// `phone`) and byte range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalDataSpan {
    pub kind: String,
    pub start: usize,
    pub end: usize,
    /// A national id's scheme (`us_ssn`, `br_cpf`: [`crate::guard::IdScheme`]); absent for
    /// other kinds, and on messages understood before 2026-12-07.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
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
