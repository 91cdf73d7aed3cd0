//! People, credentials, channels and teams.

use crate::journal::{audit, bad};
use crate::sql::{Conn, Row};
use crate::{Actor, ApiToken, Channel, NewUser, Store, StoreError, Team, TeamMember, User, params};
use serde_json::json;
use switchboard_core::*;

const USER_COLS: &str = "id, username, display_name, role, active, created_at";

fn user_from_row(r: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::parse(&r.text(0)?).map_err(bad)?,
        username: r.text(1)?,
        display_name: r.text(2)?,
        role: Role::parse(&r.text(3)?).map_err(bad)?,
        active: r.bool(4)?,
        created_at: Timestamp::from_unix_micros(r.int(5)?),
    })
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
        "SELECT u.id, u.username, u.display_name, u.role FROM team_members m JOIN users u ON u.id = m.user_id \
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
        })
    })
    .collect()
}

fn team_by_id(conn: &mut dyn Conn, id: TeamId) -> Result<Team, StoreError> {
    let r = conn.query_one(
        "SELECT id, name, created_at FROM teams WHERE id = $1",
        params![id.to_string()],
    )?;
    Ok(Team {
        id,
        name: r.text(1)?,
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
        self.pool
            .read(move |c| {
                user_from_row(&c.query_one(
                    &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
                    params![id.to_string()],
                )?)
            })
            .await
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
                .map(|r| Ok((user_from_row(&r)?, r.opt_text(6)?)))
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
                    "SELECT u.id, u.username, u.display_name, u.role, u.active, u.created_at FROM sessions s \
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
                c.execute(
                    "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)",
                    params![id.to_string(), name.as_str(), now.as_unix_micros()],
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
                    json!({"name": name.as_str()}),
                    now,
                )?;
                Ok(Team {
                    id,
                    name: name.into_string(),
                    created_at: now,
                    members: vec![],
                })
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
