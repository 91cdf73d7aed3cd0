//! The records the store reads and writes. They serialize to the JSON the API returns.

use serde::Serialize;
use switchboard_core::*;

/// Who did something: a person, a program with a token, or Switchboard itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    User {
        id: UserId,
        name: String,
    },
    Token {
        id: TokenId,
        name: String,
    },
    /// Someone outside the contact center answering through an expert link.
    Expert {
        link: ExpertLinkId,
        name: String,
    },
    System,
}

impl Actor {
    pub(crate) fn parts(&self) -> (&'static str, Option<String>, String) {
        match self {
            Actor::User { id, name } => ("user", Some(id.to_string()), name.clone()),
            Actor::Token { id, name } => ("token", Some(id.to_string()), name.clone()),
            Actor::Expert { link, name } => ("expert", Some(link.to_string()), name.clone()),
            Actor::System => ("system", None, "switchboard".to_owned()),
        }
    }
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }
    pub fn name(&self) -> String {
        self.parts().2
    }
}

/// One page of a list, and the cursor to ask for the next (`null` on the last page).
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// From a query that fetched `limit + 1` rows: the extra row, if any, proves there is a
    /// next page, whose cursor is the last kept item's.
    pub(crate) fn from_overfetch(
        mut items: Vec<T>,
        limit: i64,
        cursor: impl Fn(&T) -> String,
    ) -> Page<T> {
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(cursor)
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub availability: switchboard_core::assign::Availability,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub display_name: Name,
    pub role: Role,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A connected channel. `secret_sealed` is the encrypted secret: only the server's key opens
/// it, and it is never serialized.
#[derive(Clone, PartialEq, Serialize)]
pub struct Channel {
    pub id: ChannelId,
    pub kind: String,
    pub name: String,
    pub config: serde_json::Value,
    pub active: bool,
    pub created_at: Timestamp,
    #[serde(skip)]
    pub secret_sealed: Vec<u8>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("config", &self.config)
            .field("active", &self.active)
            .field("secret_sealed", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamMember {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub skills: Vec<String>,
    pub availability: switchboard_core::assign::Availability,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Team {
    pub id: TeamId,
    /// The short name playbooks use (`front-desk`).
    pub slug: String,
    pub name: String,
    pub strategy: switchboard_core::assign::Strategy,
    /// Most open cases per member before assignment skips them; `null`: no limit.
    pub capacity: Option<u32>,
    /// The team that takes new cases when this one is full or closed.
    pub overflow: Option<String>,
    /// Replies by e-mail on the team's cases come from this address (answers still reach
    /// the channel: it is their Reply-To), signed with `email_signature`.
    pub email_from: Option<String>,
    pub email_signature: Option<String>,
    pub created_at: Timestamp,
    pub members: Vec<TeamMember>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    pub channel_id: ChannelId,
    pub channel_kind: String,
    pub external_id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
    /// Followers on the network, as its latest message said.
    pub followers: Option<u64>,
    pub verified: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub id: ContactId,
    pub display_name: Option<String>,
    pub created_at: Timestamp,
    pub tags: Vec<String>,
    pub identities: Vec<Identity>,
    /// Phone numbers and e-mail addresses known for the person, and where each came from.
    pub keys: Vec<StoredKey>,
    /// Set when this record was merged into another; it then has no identities or keys.
    pub merged_into: Option<ContactId>,
}

/// A contact's phone number or e-mail address, and where it was learnt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredKey {
    pub kind: switchboard_core::KeyKind,
    pub value: String,
    pub source: switchboard_core::KeySource,
}

/// Another contact that may be the same person, and the keys they share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateContact {
    pub contact: Contact,
    pub shared: Vec<switchboard_core::ContactKey>,
}

/// Two contacts that may be one person: `a` is the older record (the one to keep, usually).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeSuggestion {
    pub a: Contact,
    pub b: Contact,
    pub shared: Vec<switchboard_core::ContactKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub id: CaseId,
    pub status: CaseStatus,
    pub purpose: Purpose,
    pub team: Option<TeamId>,
    pub assignee: Option<UserId>,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub contact_id: ContactId,
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    pub public: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub reopen_count: i64,
    /// Skills the assignee needs (from the playbook).
    pub skills: Vec<String>,
    /// Replies need a reviewer of this team to approve them.
    pub approval_team: Option<TeamId>,
    pub escalated: bool,
    /// How the playbook routed the case: its version, the rules that fired and why, and where
    /// the case landed (with any overflow). `null` when no playbook was active.
    pub routing: Option<serde_json::Value>,
    /// The case that absorbed this one (`POST /cases/{id}/merge`); its messages moved there and
    /// it is closed. `null` for every case that was not merged away.
    pub merged_into: Option<CaseId>,
    /// How a resolved case was resolved when no person did it: `deflected` (an automatic
    /// answer, see `then.auto_answer`); `null` otherwise, and again once the case reopens.
    pub resolution: Option<String>,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Author {
    /// `contact`, `user` or `system`.
    pub kind: String,
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub case_id: CaseId,
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    pub direction: Direction,
    pub external_id: Option<String>,
    pub author: Author,
    pub text: String,
    pub sent_at: Timestamp,
    pub created_at: Timestamp,
    pub delivery_state: DeliveryState,
    pub delivery_error: Option<String>,
    pub attempts: i64,
    pub in_reply_to: Option<MessageId>,
    /// The team whose approval this reply needs (or needed).
    pub review_team: Option<TeamId>,
    pub reviewed_by: Option<UserId>,
    /// Why a reviewer rejected the reply.
    pub review_comment: Option<String>,
    /// A note an outside expert wrote as a reply for the agent to send.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suggested: bool,
    /// What the understanding step made of an inbound message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub understanding: Option<switchboard_core::Understood>,
    /// Files and media sent with it, as references.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<switchboard_core::Attachment>,
    /// The provider's id of the message this one answers or quotes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_external: Option<String>,
    /// When the customer last edited it; `original_text` is the text as first received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
    /// When the customer deleted it on the channel (the text is kept for the case's record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<MessageReaction>,
    /// An answer to a public comment sent privately (Meta private reply, X DM).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub private_reply: bool,
    /// Sent as this approved template (WhatsApp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<switchboard_core::Template>,
    /// Its number among the messages the customer can see on the conversation, given when it
    /// became visible (received, or a reply sent); none for notes and unsent replies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

/// One person's reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MessageReaction {
    /// The reacting person's id on the channel.
    pub author_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub emoji: String,
}

/// A reply as stored, and what the guards did to it (`redacted: a phone number`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyOutcome {
    pub message: Message,
    pub events: Vec<Event>,
    pub guard: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: Case,
    pub messages: Vec<Message>,
    /// What became of the automatic answer a playbook rule asked for, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_answer: Option<crate::AutoAnswerRecord>,
}

/// A change pushed to live clients, in commit order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub seq: i64,
    pub kind: String,
    pub case_id: Option<CaseId>,
    pub data: serde_json::Value,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub details: serde_json::Value,
}

/// A webhook body as received, stored before it is acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub id: RawEventId,
    pub channel_id: ChannelId,
    /// The provider's id for deduplication, when the envelope has one.
    pub external_id: Option<String>,
    pub body: Vec<u8>,
    pub received_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Stored,
    Duplicate,
}

/// A raw event after its channel adapter parsed it.
#[derive(Debug, Clone)]
pub struct IngestItem {
    pub raw_id: RawEventId,
    pub channel_id: ChannelId,
    pub channel_kind: String,
    pub received_at: Timestamp,
    /// The events in the raw body (customer messages, echoes, receipts…), or why it could
    /// not be read.
    pub parsed: Result<Vec<ChannelEvent>, String>,
    /// What was understood of each parsed event, in the same order (empty, or a default
    /// for events that are not customer messages: nothing).
    pub understood: Vec<switchboard_core::Understood>,
}

/// What ingesting a batch did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub messages: u64,
    pub duplicates: u64,
    pub cases_opened: u64,
    /// New cases queued for an automatic answer.
    pub auto_answers: u64,
    pub failed: u64,
    /// Provider events applied: echoes, edits, deletes, reactions, receipts.
    pub updates: u64,
    /// Provider events with nothing to act on (unknown kinds, events about messages
    /// Switchboard does not have).
    pub ignored: u64,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<CaseStatus>,
    pub purpose: Option<Purpose>,
    pub team: Option<TeamId>,
    pub assignee: Option<UserId>,
    pub unassigned: bool,
}

/// A change to a case. `Some(None)` clears a field.
#[derive(Debug, Clone, Default)]
pub struct CasePatch {
    pub status: Option<CaseStatus>,
    pub purpose: Option<Purpose>,
    pub team: Option<Option<TeamId>>,
    pub assignee: Option<Option<UserId>>,
    pub priority: Option<Priority>,
    pub tags: Option<Vec<Tag>>,
}

/// An outbound message claimed for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundJob {
    pub message_id: MessageId,
    pub case_id: CaseId,
    /// The conversation it goes out on (a per-conversation e-mail reply address names it).
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    pub thread: String,
    /// The provider's id of the customer message this answers.
    pub in_reply_to: Option<String>,
    /// The customer's id on the channel.
    pub to: String,
    pub text: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The conversation is public (a comment or mention).
    pub public: bool,
    /// Answers the public comment `in_reply_to` privately.
    pub private_reply: bool,
    /// When the customer last wrote on the conversation (for a private reply: when the
    /// comment was written), for the providers' reply windows.
    pub last_inbound_at: Option<Timestamp>,
    /// Send as this approved template (WhatsApp).
    pub template: Option<switchboard_core::Template>,
    /// The case's team's e-mail identity, for replies by mail: (team name, from address,
    /// signature).
    pub team_email: Option<(String, Option<String>, Option<String>)>,
}

/// How a send attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Delivered,
    /// Accepted by the provider: its id for the message, and `Sent` (receipts will follow)
    /// or `Delivered`.
    Accepted {
        external_id: Option<String>,
        state: DeliveryState,
    },
    Retry {
        at: Timestamp,
        error: String,
    },
    Failed {
        error: String,
    },
}
