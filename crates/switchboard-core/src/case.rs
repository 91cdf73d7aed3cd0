//! The case lifecycle as a state machine, and case priorities.
//!
//! ```text
//!   new ──► open ◄──► pending
//!    │       ▲ │        │
//!    │       │ ▼        ▼
//!    └──► with_expert ──► resolved ──► closed
//! ```
//! Any non-final status may move to any other non-final status or to `resolved`/`closed`;
//! `resolved` may only reopen (`open`) or close; `closed` is final: a customer who writes
//! again after that starts a new case. A customer message reopens a `resolved` case within the
//! reopen window (a playbook's `[lifecycle] reopen_within`, 7 days by default) and wakes a
//! `pending` one; after the window, the resolved case is closed and a new case opens.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    New,
    Open,
    Pending,
    WithExpert,
    Resolved,
    Closed,
}

/// A status change that the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a case cannot move from {from} to {to}")]
pub struct InvalidTransition {
    pub from: CaseStatus,
    pub to: CaseStatus,
}

/// What a new customer message does to the conversation's latest case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInbound {
    /// Attach the message to the case, which now has this status.
    Attach { status: CaseStatus, reopened: bool },
    /// Open a new case; `close_previous`: the latest case was resolved longer ago than the
    /// reopen window, so it is closed first.
    NewCase { close_previous: bool },
}

/// How long after resolution a customer's message still reopens a case, by default.
pub const DEFAULT_REOPEN_WINDOW_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;

impl CaseStatus {
    pub const ALL: [CaseStatus; 6] = [
        CaseStatus::New,
        CaseStatus::Open,
        CaseStatus::Pending,
        CaseStatus::WithExpert,
        CaseStatus::Resolved,
        CaseStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::New => "new",
            CaseStatus::Open => "open",
            CaseStatus::Pending => "pending",
            CaseStatus::WithExpert => "with_expert",
            CaseStatus::Resolved => "resolved",
            CaseStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            ParseError::new(format!(
                "unknown status {s:?}; expected one of new, open, pending, with_expert, resolved, closed"
            ))
        })
    }

    /// Still needs work (counts in queues and SLAs).
    pub fn is_active(self) -> bool {
        !matches!(self, CaseStatus::Resolved | CaseStatus::Closed)
    }

    /// A person or rule asks to move the case to `to`.
    pub fn transition(self, to: CaseStatus) -> Result<CaseStatus, InvalidTransition> {
        use CaseStatus::*;
        let allowed = match (self, to) {
            (a, b) if a == b => true,
            (Closed, _) => false,
            (Resolved, Open | Closed) => true,
            (Resolved, _) => false,
            (_, New) => false,
            _ => true,
        };
        if allowed {
            Ok(to)
        } else {
            Err(InvalidTransition { from: self, to })
        }
    }

    /// A customer wrote again, at `now`, in a conversation whose latest case has this status
    /// (and, if resolved, was resolved at `resolved_at`). A resolved case reopens if the
    /// message comes within `reopen_window` microseconds of its resolution (an unknown
    /// resolution time counts as within).
    pub fn on_inbound(
        self,
        resolved_at: Option<crate::Timestamp>,
        now: crate::Timestamp,
        reopen_window: i64,
    ) -> OnInbound {
        use CaseStatus::*;
        match self {
            Closed => OnInbound::NewCase {
                close_previous: false,
            },
            Resolved
                if resolved_at.is_some_and(|r| {
                    now.as_unix_micros().saturating_sub(r.as_unix_micros()) > reopen_window
                }) =>
            {
                OnInbound::NewCase {
                    close_previous: true,
                }
            }
            Resolved => OnInbound::Attach {
                status: Open,
                reopened: true,
            },
            Pending => OnInbound::Attach {
                status: Open,
                reopened: false,
            },
            other => OnInbound::Attach {
                status: other,
                reopened: false,
            },
        }
    }

    /// A person answered the customer.
    pub fn on_agent_reply(self) -> CaseStatus {
        match self {
            CaseStatus::New => CaseStatus::Open,
            other => other,
        }
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| {
            ParseError::new(format!(
                "unknown priority {s:?}; expected low, normal, high or urgent"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::CaseStatus::*;
    use super::*;

    #[test]
    fn transition_table() {
        // (from, to, allowed)
        let table = [
            (New, Open, true),
            (New, Resolved, true),
            (New, New, true),
            (Open, New, false),
            (Open, Pending, true),
            (Open, WithExpert, true),
            (Pending, Open, true),
            (WithExpert, Resolved, true),
            (Resolved, Open, true),
            (Resolved, Closed, true),
            (Resolved, Pending, false),
            (Resolved, WithExpert, false),
            (Closed, Open, false),
            (Closed, Closed, true),
        ];
        for (from, to, ok) in table {
            assert_eq!(from.transition(to).is_ok(), ok, "{from} -> {to}");
        }
    }

    #[test]
    fn inbound_reopens_resolved_within_the_window_and_wakes_pending() {
        let at = |s: &str| crate::Timestamp::parse_rfc3339(s).unwrap();
        let day = 24 * 3600 * 1_000_000;
        let now = at("2026-03-10T12:00:00Z");
        let attach = |status, reopened| OnInbound::Attach { status, reopened };
        let new_case = |close_previous| OnInbound::NewCase { close_previous };
        // (status, resolved_at, window, expected)
        let table = [
            (
                Resolved,
                Some("2026-03-09T12:00:00Z"),
                7 * day,
                attach(Open, true),
            ),
            (
                Resolved,
                Some("2026-03-03T12:00:00Z"),
                7 * day,
                attach(Open, true),
            ),
            (
                Resolved,
                Some("2026-03-03T11:59:59Z"),
                7 * day,
                new_case(true),
            ),
            (Resolved, Some("2026-03-10T11:00:00Z"), 0, new_case(true)),
            (Resolved, None, 0, attach(Open, true)),
            // A resolution stamped after the message (clock skew) is within any window.
            (
                Resolved,
                Some("2026-03-11T00:00:00Z"),
                0,
                attach(Open, true),
            ),
            (Pending, None, 7 * day, attach(Open, false)),
            (New, None, 7 * day, attach(New, false)),
            (WithExpert, None, 7 * day, attach(WithExpert, false)),
            (
                Closed,
                Some("2026-03-10T11:00:00Z"),
                7 * day,
                new_case(false),
            ),
        ];
        for (status, resolved, window, expected) in table {
            assert_eq!(
                status.on_inbound(resolved.map(at), now, window),
                expected,
                "{status} resolved {resolved:?} window {window}"
            );
        }
    }

    #[test]
    fn reply_opens_new_case_only() {
        assert_eq!(New.on_agent_reply(), Open);
        assert_eq!(Pending.on_agent_reply(), Pending);
    }

    #[test]
    fn parse_and_display_agree() {
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.as_str()), Ok(s));
        }
        assert!(CaseStatus::parse("done").is_err());
        assert_eq!(Priority::parse("urgent"), Ok(Priority::Urgent));
        assert!(Priority::parse("meh").is_err());
    }
}
