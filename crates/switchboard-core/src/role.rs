//! Roles and what each may do. Every API route names the permission it needs; the server
//! checks it with [`Role::can`] before touching anything.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Supervisor,
    Agent,
    Reviewer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See cases, contacts, messages, channels, teams and users (without secrets).
    Read,
    /// Reply, write notes, change a case's status, assignee, tags, purpose, team.
    WorkCases,
    /// Create teams and change their members.
    ManageTeams,
    /// Connect and change channels.
    ManageChannels,
    /// Create users and API tokens.
    ManageUsers,
    /// Read the audit log.
    ReadAudit,
    /// Apply, restore and simulate playbooks; change how teams assign.
    ManageRouting,
    /// Approve or reject replies held for review (never one's own).
    ReviewReplies,
    /// Read KPI reports and export them.
    ViewReports,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Supervisor, Role::Agent, Role::Reviewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::Reviewer => "reviewer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "unknown role {s:?}; expected admin, supervisor, agent or reviewer"
                ))
            })
    }

    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Supervisor => {
                matches!(
                    p,
                    Read | WorkCases | ManageTeams | ManageRouting | ReviewReplies | ViewReports
                )
            }
            Role::Agent => matches!(p, Read | WorkCases),
            Role::Reviewer => matches!(p, Read | ReviewReplies),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn permission_table() {
        let table = [
            (Role::Admin, [true; 9]),
            (
                Role::Supervisor,
                [true, true, true, false, false, false, true, true, true],
            ),
            (
                Role::Agent,
                [true, true, false, false, false, false, false, false, false],
            ),
            (
                Role::Reviewer,
                [true, false, false, false, false, false, false, true, false],
            ),
        ];
        for (role, expect) in table {
            let got = [
                Read,
                WorkCases,
                ManageTeams,
                ManageChannels,
                ManageUsers,
                ReadAudit,
                ManageRouting,
                ReviewReplies,
                ViewReports,
            ]
            .map(|p| role.can(p));
            assert_eq!(got, expect, "{role}");
        }
    }

    #[test]
    fn parse() {
        assert_eq!(Role::parse("agent"), Ok(Role::Agent));
        assert!(Role::parse("root").is_err());
    }
}
