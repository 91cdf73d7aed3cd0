//! Changing a user: their name, their role, a password an admin sets, and deactivation.
//! Deactivating signs the user out everywhere, makes them unavailable (routing only picks
//! active users) and hands their open cases back to their team's queue, so nothing waits on
//! someone who has left. The last active admin can be neither deactivated nor demoted.

use crate::cases::case_by_id;
use crate::journal::{PendingEvent, audit, emit_many};
use crate::sql::Conn;
use crate::{Actor, Event, Store, StoreError, User, params};
use serde_json::json;
use switchboard_core::*;

/// A change to a user. `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<Name>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// A new password's hash, set by an admin (the user's sessions end).
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPatch")
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("active", &self.active)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// What a change did besides the user: the cases handed back and their events.
#[derive(Debug)]
pub struct UserChange {
    pub user: User,
    pub unassigned_cases: Vec<CaseId>,
    pub events: Vec<Event>,
}

impl Store {
    /// Changes a user (see the module's rules). [`StoreError::NotFound`] for an unknown user,
    /// [`StoreError::Invalid`] when the change would leave no active admin.
    pub async fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<UserChange, StoreError> {
        self.pool
            .write(move |c| {
                let before = crate::directory::user_by_id(c, id)?;
                let role = patch.role.unwrap_or(before.role);
                let active = patch.active.unwrap_or(before.active);
                let was_admin = before.active && before.role == Role::Admin;
                if was_admin && !(active && role == Role::Admin) && other_admins(c, id)? == 0 {
                    return Err(StoreError::Invalid(
                        "this is the last active admin: make someone else an admin first".into(),
                    ));
                }
                let mut changed = Vec::new();
                if let Some(name) = &patch.display_name
                    && name.as_str() != before.display_name
                {
                    c.execute(
                        "UPDATE users SET display_name = $1 WHERE id = $2",
                        params![name.as_str(), id.to_string()],
                    )?;
                    changed.push("display_name");
                }
                if role != before.role {
                    c.execute(
                        "UPDATE users SET role = $1 WHERE id = $2",
                        params![role.as_str(), id.to_string()],
                    )?;
                    changed.push("role");
                }
                if let Some(hash) = &patch.password_hash {
                    c.execute(
                        "UPDATE users SET password_hash = $1 WHERE id = $2",
                        params![hash.as_str(), id.to_string()],
                    )?;
                    changed.push("password");
                }
                if active != before.active {
                    c.execute(
                        "UPDATE users SET active = $1, availability = 'offline' WHERE id = $2",
                        params![active, id.to_string()],
                    )?;
                    changed.push("active");
                }
                // A new password or a deactivation ends every session of the user.
                if patch.password_hash.is_some() || !active {
                    c.execute(
                        "DELETE FROM sessions WHERE user_id = $1",
                        params![id.to_string()],
                    )?;
                }
                let unassigned = if before.active && !active {
                    hand_back_cases(c, id, &actor, now)?
                } else {
                    vec![]
                };
                if !changed.is_empty() {
                    audit(
                        c,
                        &actor,
                        if before.active && !active {
                            "user.deactivated"
                        } else if !before.active && active {
                            "user.reactivated"
                        } else {
                            "user.updated"
                        },
                        ("user", id.to_string()),
                        json!({"changed": changed, "role": role, "active": active,
                               "cases_handed_back": unassigned.len()}),
                        now,
                    )?;
                }
                let mut pending = Vec::with_capacity(unassigned.len());
                for case in &unassigned {
                    pending.push(PendingEvent {
                        kind: "case.updated",
                        case_id: Some(*case),
                        data: json!({ "case": case_by_id(c, *case)? }),
                        at: now,
                    });
                }
                let events = emit_many(c, pending)?;
                Ok(UserChange {
                    user: crate::directory::user_by_id(c, id)?,
                    unassigned_cases: unassigned,
                    events,
                })
            })
            .await
    }
}

fn other_admins(c: &mut dyn Conn, except: UserId) -> Result<i64, StoreError> {
    // On PostgreSQL the active admins' rows are locked first, so two admins stepping down at
    // once on two nodes cannot both count the other (SQLite has one writer already).
    if c.backend() == crate::sql::Backend::Postgres {
        c.query(
            "SELECT id FROM users WHERE role = 'admin' AND active = $1 ORDER BY id FOR UPDATE",
            params![true],
        )?;
    }
    c.query_one(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = $1 AND id <> $2",
        params![true, except.to_string()],
    )?
    .int(0)
}

/// The user's cases still in progress lose their assignee (they stay with their team).
fn hand_back_cases(
    c: &mut dyn Conn,
    user: UserId,
    actor: &Actor,
    now: Timestamp,
) -> Result<Vec<CaseId>, StoreError> {
    let ids = c
        .query(
            "SELECT id FROM cases WHERE assignee_id = $1 AND status NOT IN ('resolved', 'closed') ORDER BY id",
            params![user.to_string()],
        )?
        .iter()
        .map(|r| CaseId::parse(&r.text(0)?).map_err(crate::journal::bad))
        .collect::<Result<Vec<_>, _>>()?;
    for id in &ids {
        c.execute(
            "UPDATE cases SET assignee_id = NULL, updated_at = $1, sla_check_at = $1 WHERE id = $2",
            params![now.as_unix_micros(), id.to_string()],
        )?;
        audit(
            c,
            actor,
            "case.updated",
            ("case", id.to_string()),
            json!({"assignee": {"from": user, "to": null}, "cause": "the assignee was deactivated"}),
            now,
        )?;
    }
    Ok(ids)
}
