//! Switchboard's domain, with no I/O: typed ids, timestamps, purposes, the case lifecycle,
//! roles and permissions, and the normalized shape of an inbound message.
//!
//! Everything here is plain data and pure functions. The clock, the database, HTTP and the
//! providers live in other crates and call into this one; `cargo tree -p switchboard-core`
//! must never show tokio, sqlx, rusqlite, postgres, axum or reqwest (CI checks it).

pub mod assign;
pub mod case;
pub mod contact_key;
pub mod csat;
pub mod guard;
pub mod ids;
pub mod kb;
pub mod kb_csv;
pub mod kpi;
pub mod language;
pub mod message;
pub mod name;
pub mod playbook;
pub mod purpose;
pub mod referral;
pub mod role;
pub mod routing;
pub mod schedule;
pub mod search;
pub mod sla;
pub mod spreadsheet;
pub mod timestamp;

pub use case::{CaseStatus, InvalidTransition, Priority};
pub use contact_key::{ContactKey, KeyKind, KeySource};
pub use ids::*;
pub use message::{
    Attachment, Author, ChannelEvent, Classification, DeliveryState, Direction, EchoMessage,
    Evidence, InboundMessage, Leaning, PersonalDataSpan, Reaction, Receipt, SentimentScore,
    Template, Understood, UnknownReason, WhyUnknown,
};
pub use name::{Name, Tag, Username};
pub use purpose::Purpose;
pub use role::{Permission, Role};
pub use timestamp::Timestamp;

/// A value that could not be parsed into a domain type. The message names what was wrong,
/// suitable to show to the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(msg: impl Into<String>) -> Self {
        ParseError(msg.into())
    }
}
