//! People, credentials, channels and teams.

use crate::journal::{audit, bad};
use crate::sql::{Conn, Row};
use crate::{Actor, ApiToken, Channel, NewUser, Store, StoreError, Team, TeamMember, User, params};
use serde_json::json;
use switchboard_core::assign::{Availability, Strategy};
use switchboard_core::*;

const USER_COLS: &str = "id, username, display_name, role, active, created_at, availability";

fn user_from_row(r: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::parse(&r.text(0)?).map_err(bad)?,
        username: r.text(1)?,
        display_name: r.text(2)?,
        role: Role::parse(&r.text(3)?).map_err(bad)?,
        active: r.bool(4)?,
        created_at: Timestamp::from_unix_micros(r.int(5)?),
        availability: Availability::parse(&r.text(6)?).map_err(bad)?,
    })
}

pub(crate) fn user_by_id(c: &mut dyn Conn, id: UserId) -> Result<User, StoreError> {
    user_from_row(&c.query_one(
        &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
        params![id.to_string()],
    )?)
}

const CHANNEL_COLS: &str = "id, kind, name, config, active, created_at, secret";

fn channel_from_row(r: &Row) -> Result<Channel, StoreError> {
    Ok(Channel {
        id: ChannelId::parse(&r.text(0)?).map_err(bad)?,
        kind: r.text(1)?,
        name: r.text(2)?,
        config: serde_json::from_str(&r.text(3)?)
            .map_err(|e| StoreError::Backend(e.to_string()))?,
        active: r.bool(4)?,
        created_at: Timestamp::from_unix_micros(r.int(5)?),
        secret_sealed: r.blob(6)?,
    })
}

fn team_members(conn: &mut dyn Conn, team: TeamId) -> Result<Vec<TeamMember>, StoreError> {
    conn.query(
        "SELECT u.id, u.username, u.display_name, u.role, m.skills, u.availability FROM team_members m JOIN users u ON u.id = m.user_id \
         WHERE m.team_id = $1 ORDER BY u.username",
        params![team.to_string()],
    )?
    .iter()
    .map(|r| {
        Ok(TeamMember {
            user_id: UserId::parse(&r.text(0)?).map_err(bad)?,
            username: r.text(1)?,
            display_name: r.text(2)?,
            role: Role::parse(&r.text(3)?).map_err(bad)?,
            skills: json_list(&r.text(4)?)?,
            availability: Availability::parse(&r.text(5)?).map_err(bad)?,
        })
    })
    .collect()
}

/// A slug made from a team's name (`Marketing & PR` → `marketing-pr`), not yet taken.
fn free_slug(c: &mut dyn Conn, name: &str) -> Result<String, StoreError> {
    let mut base = String::new();
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_alphanumeric() {
            base.push(ch);
        } else if !base.is_empty() && !base.ends_with('-') {
            base.push('-');
        }
    }
    let mut base: String = base.trim_end_matches('-').chars().take(34).collect();
    if base.is_empty() {
        base = "team".into();
    }
    for n in 1..1000 {
        let slug = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        if c.query_opt(
            "SELECT 1 FROM teams WHERE slug = $1",
            params![slug.as_str()],
        )?
        .is_none()
        {
            return Ok(slug);
        }
    }
    Err(StoreError::Conflict(format!(
        "no free short name for team {name:?}"
    )))
}

/// A JSON array of strings, as stored in `tags` and `skills` columns.
pub(crate) fn json_list(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Backend(format!("a stored list is not JSON: {e}")))
}

pub(crate) fn team_by_id(conn: &mut dyn Conn, id: TeamId) -> Result<Team, StoreError> {
    let r = conn.query_one(
        "SELECT t.id, t.name, t.created_at, t.slug, t.strategy, t.capacity, o.slug, t.email_from, t.email_signature \
         FROM teams t LEFT JOIN teams o ON o.id = t.overflow_team_id WHERE t.id = $1",
        params![id.to_string()],
    )?;
    Ok(Team {
        id,
        slug: r.text(3)?,
        name: r.text(1)?,
        strategy: Strategy::parse(&r.text(4)?).map_err(bad)?,
        capacity: r.opt_int(5)?.map(|c| c.clamp(0, u32::MAX as i64) as u32),
        overflow: r.opt_text(6)?,
        email_from: r.opt_text(7)?,
        email_signature: r.opt_text(8)?,
        created_at: Timestamp::from_unix_micros(r.int(2)?),
        members: team_members(conn, id)?,
    })
}

impl Store {
    // ----- settings ------------------------------------------------------------------------

    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.pool
            .read(move |c| {
                c.query_opt("SELECT value FROM settings WHERE key = $1", params![key])?
                    .map(|r| r.text(0))
                    .transpose()
            })
            .await
    }

    /// Sets `key` only if it has no value yet; returns whether it was set.
    pub async fn set_setting_once(&self, key: &str, value: &str) -> Result<bool, StoreError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.pool
            .write(move |c| {
                Ok(c.execute(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                    params![key, value],
                )? == 1)
            })
            .await
    }

    // ----- users and sessions --------------------------------------------------------------

    pub async fn create_user(
        &self,
        new: NewUser,
        actor: Actor,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        self.pool
            .write(move |c| {
                let id = UserId::new_at(now);
                c.execute(
                    "INSERT INTO users (id, username, display_name, role, password_hash, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    params![
                        id.to_string(),
                        new.username.as_str(),
                        new.display_name.as_str(),
                        new.role.as_str(),
                        new.password_hash,
                        true,
                        now.as_unix_micros()
                    ],
                )
                .map_err(|e| match e {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("username {} is taken", new.username)),
                    e => e,
                })?;
                audit(c, &actor, "user.created", ("user", id.to_string()), json!({"username": new.username.as_str(), "role": new.role}), now)?;
                Ok(User {
                    id,
                    username: new.username.into_string(),
                    display_name: new.display_name.into_string(),
                    role: new.role,
                    active: true,
                    created_at: now,
                    availability: Availability::Offline,
                })
            })
            .await
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.pool
            .read(|c| {
                c.query(
                    &format!("SELECT {USER_COLS} FROM users ORDER BY username"),
                    &[],
                )?
                .iter()
                .map(user_from_row)
                .collect()
            })
            .await
    }

    pub async fn user(&self, id: UserId) -> Result<User, StoreError> {
        self.pool.read(move |c| user_by_id(c, id)).await
    }

    /// The user and their password hash, for a login attempt.
    pub async fn user_credentials(
        &self,
        username: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let username = username.to_owned();
        self.pool
            .read(move |c| {
                c.query_opt(
                    &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = $1"),
                    params![username],
                )?
                .map(|r| Ok((user_from_row(&r)?, r.opt_text(7)?)))
                .transpose()
            })
            .await
    }

    pub async fn create_session(
        &self,
        token_hash: String,
        user: UserId,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                c.execute(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    params![token_hash, user.to_string(), now.as_unix_micros(), expires.as_unix_micros()],
                )?;
                // Logging in means being at work: an offline agent comes online (away stays away).
                c.execute(
                    "UPDATE users SET availability = 'online' WHERE id = $1 AND availability = 'offline'",
                    params![user.to_string()],
                )?;
                let name = c.query_one("SELECT display_name FROM users WHERE id = $1", params![user.to_string()])?.text(0)?;
                audit(c, &Actor::User { id: user, name }, "session.created", ("user", user.to_string()), json!({}), now)
            })
            .await
    }

    /// The active user behind a session that has not expired.
    pub async fn session_user(
        &self,
        token_hash: String,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    "SELECT u.id, u.username, u.display_name, u.role, u.active, u.created_at, u.availability FROM sessions s \
                     JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
                    params![token_hash, now.as_unix_micros()],
                )?
                .map(|r| user_from_row(&r))
                .transpose()
                .map(|u| u.filter(|u| u.active))
            })
            .await
    }

    pub async fn delete_session(&self, token_hash: String) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                c.execute(
                    "DELETE FROM sessions WHERE token_hash = $1",
                    params![token_hash],
                )
                .map(|_| ())
            })
            .await
    }

    // ----- API tokens ------------------------------------------------------------------------

    pub async fn create_token(
        &self,
        name: Name,
        role: Role,
        token_hash: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<ApiToken, StoreError> {
        self.pool
            .write(move |c| {
                let id = TokenId::new_at(now);
                c.execute(
                    "INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                    params![id.to_string(), name.as_str(), role.as_str(), token_hash, now.as_unix_micros()],
                )?;
                audit(c, &actor, "token.created", ("token", id.to_string()), json!({"name": name.as_str(), "role": role}), now)?;
                Ok(ApiToken { id, name: name.into_string(), role, created_at: now, revoked_at: None })
            })
            .await
    }

    /// The token with this hash, if it exists and is not revoked.
    pub async fn token_by_hash(&self, token_hash: String) -> Result<Option<ApiToken>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    "SELECT id, name, role, created_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
                    params![token_hash],
                )?
                .map(|r| {
                    Ok(ApiToken {
                        id: TokenId::parse(&r.text(0)?).map_err(bad)?,
                        name: r.text(1)?,
                        role: Role::parse(&r.text(2)?).map_err(bad)?,
                        created_at: Timestamp::from_unix_micros(r.int(3)?),
                        revoked_at: None,
                    })
                })
                .transpose()
            })
            .await
    }

    // ----- channels --------------------------------------------------------------------------

    pub async fn create_channel(
        &self,
        kind: String,
        name: Name,
        config: serde_json::Value,
        secret_sealed: Vec<u8>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Channel, StoreError> {
        self.pool
            .write(move |c| {
                let id = ChannelId::new_at(now);
                c.execute(
                    "INSERT INTO channels (id, kind, name, config, secret, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    params![id.to_string(), kind.as_str(), name.as_str(), config.to_string(), secret_sealed.clone(), true, now.as_unix_micros()],
                )?;
                audit(c, &actor, "channel.created", ("channel", id.to_string()), json!({"kind": kind, "name": name.as_str(), "config": config}), now)?;
                Ok(Channel { id, kind, name: name.into_string(), config, active: true, created_at: now, secret_sealed })
            })
            .await
    }

    pub async fn channel(&self, id: ChannelId) -> Result<Channel, StoreError> {
        self.pool
            .read(move |c| {
                channel_from_row(&c.query_one(
                    &format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = $1"),
                    params![id.to_string()],
                )?)
            })
            .await
    }

    pub async fn list_channels(&self) -> Result<Vec<Channel>, StoreError> {
        self.pool
            .read(|c| {
                c.query(
                    &format!("SELECT {CHANNEL_COLS} FROM channels ORDER BY id"),
                    &[],
                )?
                .iter()
                .map(channel_from_row)
                .collect()
            })
            .await
    }

    // ----- teams -----------------------------------------------------------------------------

    pub async fn create_team(
        &self,
        name: Name,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        self.pool
            .write(move |c| {
                let id = TeamId::new_at(now);
                let slug = free_slug(c, name.as_str())?;
                c.execute(
                    "INSERT INTO teams (id, name, created_at, slug) VALUES ($1, $2, $3, $4)",
                    params![
                        id.to_string(),
                        name.as_str(),
                        now.as_unix_micros(),
                        slug.as_str()
                    ],
                )
                .map_err(|e| match e {
                    StoreError::Conflict(_) => {
                        StoreError::Conflict(format!("a team named {name} exists"))
                    }
                    e => e,
                })?;
                audit(
                    c,
                    &actor,
                    "team.created",
                    ("team", id.to_string()),
                    json!({"name": name.as_str(), "slug": slug}),
                    now,
                )?;
                team_by_id(c, id)
            })
            .await
    }

    pub async fn team(&self, id: TeamId) -> Result<Team, StoreError> {
        self.pool.read(move |c| team_by_id(c, id)).await
    }

    pub async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
        self.pool
            .read(|c| {
                let ids = c.query("SELECT id FROM teams ORDER BY name", &[])?;
                ids.iter()
                    .map(|r| team_by_id(c, TeamId::parse(&r.text(0)?).map_err(bad)?))
                    .collect()
            })
            .await
    }

    /// Adds a member (no-op if already a member); returns the team.
    pub async fn add_team_member(
        &self,
        team: TeamId,
        user: UserId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        self.pool
            .write(move |c| {
                team_by_id(c, team)?;
                if c.query_opt("SELECT 1 FROM users WHERE id = $1", params![user.to_string()])?.is_none() {
                    return Err(StoreError::Invalid(format!("no user with id {user}")));
                }
                let n = c.execute(
                    "INSERT INTO team_members (team_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT (team_id, user_id) DO NOTHING",
                    params![team.to_string(), user.to_string(), now.as_unix_micros()],
                )?;
                if n == 1 {
                    audit(c, &actor, "team.member_added", ("team", team.to_string()), json!({"user_id": user}), now)?;
                }
                team_by_id(c, team)
            })
            .await
    }

    pub async fn remove_team_member(
        &self,
        team: TeamId,
        user: UserId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        self.pool
            .write(move |c| {
                team_by_id(c, team)?;
                let n = c.execute(
                    "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2",
                    params![team.to_string(), user.to_string()],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                audit(
                    c,
                    &actor,
                    "team.member_removed",
                    ("team", team.to_string()),
                    json!({"user_id": user}),
                    now,
                )?;
                team_by_id(c, team)
            })
            .await
    }
}

/// A change to a channel. `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    pub name: Option<Name>,
    pub config: Option<serde_json::Value>,
    pub active: Option<bool>,
    /// A new sealed secret (rotation).
    pub secret_sealed: Option<Vec<u8>>,
}

impl Store {
    /// Replaces a user's password hash (the caller has checked the old password).
    pub async fn set_password(
        &self,
        user: UserId,
        password_hash: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                let n = c.execute(
                    "UPDATE users SET password_hash = $1 WHERE id = $2",
                    params![password_hash, user.to_string()],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                // Other sessions of this user end: a changed password logs everyone else out.
                c.execute(
                    "DELETE FROM sessions WHERE user_id = $1",
                    params![user.to_string()],
                )?;
                audit(
                    c,
                    &actor,
                    "user.password_changed",
                    ("user", user.to_string()),
                    json!({}),
                    now,
                )
            })
            .await
    }

    /// API tokens, newest first (never their values).
    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.pool
            .read(|c| {
                c.query("SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY id DESC", &[])?
                    .iter()
                    .map(|r| {
                        Ok(ApiToken {
                            id: TokenId::parse(&r.text(0)?).map_err(bad)?,
                            name: r.text(1)?,
                            role: Role::parse(&r.text(2)?).map_err(bad)?,
                            created_at: Timestamp::from_unix_micros(r.int(3)?),
                            revoked_at: r.opt_int(4)?.map(Timestamp::from_unix_micros),
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Revokes a token; it stops working at once. Revoking twice is a no-op.
    pub async fn revoke_token(
        &self,
        id: TokenId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                c.query_one(
                    "SELECT 1 FROM api_tokens WHERE id = $1",
                    params![id.to_string()],
                )?;
                let n = c.execute(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                    params![now.as_unix_micros(), id.to_string()],
                )?;
                if n == 1 {
                    audit(
                        c,
                        &actor,
                        "token.revoked",
                        ("token", id.to_string()),
                        json!({}),
                        now,
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Changes a channel's name, config, active flag or secret.
    pub async fn update_channel(
        &self,
        id: ChannelId,
        patch: ChannelPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Channel, StoreError> {
        self.pool
            .write(move |c| {
                let before = channel_from_row(&c.query_one(&format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = $1"), params![id.to_string()])?)?;
                let mut after = before.clone();
                let mut changed = Vec::new();
                if let Some(n) = patch.name {
                    after.name = n.into_string();
                    changed.push("name");
                }
                if let Some(cfg) = patch.config {
                    after.config = cfg;
                    changed.push("config");
                }
                if let Some(a) = patch.active {
                    after.active = a;
                    changed.push("active");
                }
                if let Some(s) = patch.secret_sealed {
                    after.secret_sealed = s;
                    changed.push("secret");
                }
                c.execute(
                    "UPDATE channels SET name = $1, config = $2, active = $3, secret = $4 WHERE id = $5",
                    params![after.name.as_str(), after.config.to_string(), after.active, after.secret_sealed.clone(), id.to_string()],
                )?;
                audit(c, &actor, "channel.updated", ("channel", id.to_string()), json!({ "changed": changed, "active": after.active }), now)?;
                Ok(after)
            })
            .await
    }
}

/// A change to how a team assigns. `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct TeamPatch {
    pub name: Option<Name>,
    pub strategy: Option<Strategy>,
    pub capacity: Option<Option<u32>>,
    /// A team slug, or `None` to clear.
    pub overflow: Option<Option<String>>,
    pub email_from: Option<Option<String>>,
    pub email_signature: Option<Option<String>>,
}

impl Store {
    pub async fn update_team(
        &self,
        id: TeamId,
        patch: TeamPatch,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        self.pool
            .write(move |c| {
                let before = team_by_id(c, id)?;
                if let Some(name) = &patch.name {
                    c.execute("UPDATE teams SET name = $1 WHERE id = $2", params![name.as_str(), id.to_string()])
                        .map_err(|e| match e {
                            StoreError::Conflict(_) => StoreError::Conflict(format!("a team named {name} exists")),
                            e => e,
                        })?;
                }
                if let Some(s) = patch.strategy {
                    c.execute("UPDATE teams SET strategy = $1 WHERE id = $2", params![s.as_str(), id.to_string()])?;
                }
                if let Some(cap) = patch.capacity {
                    c.execute("UPDATE teams SET capacity = $1 WHERE id = $2", params![cap.map(i64::from), id.to_string()])?;
                }
                if let Some(overflow) = &patch.overflow {
                    let target = match overflow {
                        Some(slug) => {
                            let r = c
                                .query_opt("SELECT id FROM teams WHERE slug = $1", params![slug.as_str()])?
                                .ok_or_else(|| StoreError::Invalid(format!("no team {slug:?} to overflow to")))?;
                            let target = r.text(0)?;
                            if target == id.to_string() {
                                return Err(StoreError::Invalid("a team cannot overflow to itself".into()));
                            }
                            Some(target)
                        }
                        None => None,
                    };
                    c.execute("UPDATE teams SET overflow_team_id = $1 WHERE id = $2", params![target, id.to_string()])?;
                }
                if let Some(from) = &patch.email_from {
                    c.execute("UPDATE teams SET email_from = $1 WHERE id = $2", params![from.clone(), id.to_string()])?;
                }
                if let Some(sig) = &patch.email_signature {
                    c.execute("UPDATE teams SET email_signature = $1 WHERE id = $2", params![sig.clone(), id.to_string()])?;
                }
                let after = team_by_id(c, id)?;
                audit(
                    c,
                    &actor,
                    "team.updated",
                    ("team", id.to_string()),
                    json!({
                        "before": {"name": before.name, "strategy": before.strategy, "capacity": before.capacity, "overflow": before.overflow,
                                   "email_from": before.email_from, "email_signature": before.email_signature},
                        "after": {"name": after.name, "strategy": after.strategy, "capacity": after.capacity, "overflow": after.overflow,
                                  "email_from": after.email_from, "email_signature": after.email_signature},
                    }),
                    now,
                )?;
                Ok(after)
            })
            .await
    }

    /// Replaces a member's skills (lowercased, deduplicated).
    pub async fn set_member_skills(
        &self,
        team: TeamId,
        user: UserId,
        skills: Vec<String>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        self.pool
            .write(move |c| {
                let mut list: Vec<String> = Vec::new();
                for s in skills {
                    let s = s.trim().to_lowercase();
                    if !s.is_empty() && !list.contains(&s) {
                        list.push(s);
                    }
                }
                let n = c.execute(
                    "UPDATE team_members SET skills = $1 WHERE team_id = $2 AND user_id = $3",
                    params![
                        serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()),
                        team.to_string(),
                        user.to_string()
                    ],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                audit(
                    c,
                    &actor,
                    "team.member_skills",
                    ("team", team.to_string()),
                    json!({"user_id": user, "skills": list}),
                    now,
                )?;
                team_by_id(c, team)
            })
            .await
    }

    /// Sets whether a user takes new cases now.
    pub async fn set_availability(
        &self,
        user: UserId,
        availability: Availability,
        actor: Actor,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        self.pool
            .write(move |c| {
                let n = c.execute(
                    "UPDATE users SET availability = $1 WHERE id = $2",
                    params![availability.as_str(), user.to_string()],
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                audit(
                    c,
                    &actor,
                    "user.availability",
                    ("user", user.to_string()),
                    json!({"availability": availability}),
                    now,
                )?;
                user_from_row(&c.query_one(
                    &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
                    params![user.to_string()],
                )?)
            })
            .await
    }
}
