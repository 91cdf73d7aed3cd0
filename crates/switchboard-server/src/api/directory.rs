//! Channels, teams, users, API tokens and the audit log.

use super::PageQuery;
use crate::AppState;
use crate::auth::{Allowed, credential_hash, hash_password, need, new_credential};
use crate::channels::public_channel;
use crate::crypto::Secret;
use crate::error::{ApiError, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use switchboard_channels::ChannelKind;
use switchboard_core::*;
use switchboard_store::{ChannelPatch, NewUser, StoreError};

fn name(field: &str, s: &str) -> Result<Name, ApiError> {
    Name::parse(s).map_err(|e| ApiError::invalid_field(field, e.0))
}

// ----- channels ----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    kind: String,
    name: String,
    /// The generic webhook's reply URL.
    outbound_url: Option<String>,
    /// A provider channel's settings (`page_id`, `phone_number_id`, `account_sid`, `api_base`…).
    config: Option<serde_json::Value>,
    /// A provider channel's secrets (`app_secret`, `access_token`, `auth_token`…), sealed at
    /// rest and never shown again.
    credentials: Option<serde_json::Value>,
}

fn kinds_list() -> String {
    ChannelKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a provider channel's config and credentials the way its adapter reads them.
fn check_provider(
    kind: ChannelKind,
    config: &serde_json::Value,
    credentials: &serde_json::Value,
) -> Result<(), ApiError> {
    if !config.is_object() {
        return Err(ApiError::invalid_field("config", "must be a JSON object"));
    }
    if !credentials.is_object() {
        return Err(ApiError::invalid_field(
            "credentials",
            "must be a JSON object",
        ));
    }
    for key in ["api_base", "webhook_url"] {
        if let Some(v) = config.get(key) {
            let url = v.as_str().ok_or_else(|| {
                ApiError::invalid_field(&format!("config.{key}"), "must be a URL")
            })?;
            http_url(&format!("config.{key}"), url)?;
        }
    }
    switchboard_channels::adapter::Adapter::new(kind, config, credentials).map_err(|e| match e
        .field
    {
        Some(f) => ApiError::invalid_field(&f, e.message),
        None => ApiError::bad_request("invalid_channel", e.message),
    })?;
    Ok(())
}

/// The full URL to paste at the provider.
fn webhook_url(state: &AppState, ch: &switchboard_store::Channel) -> String {
    format!(
        "{}/hooks/{}/{}",
        state.config.public_url.trim_end_matches('/'),
        ch.kind,
        ch.id
    )
}

pub async fn create_channel(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageChannels>,
    Json(body): Json<NewChannel>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = ChannelKind::parse(&body.kind).ok_or_else(|| {
        ApiError::invalid_field(
            "kind",
            format!(
                "unknown channel kind {:?}; supported: {}",
                body.kind,
                kinds_list()
            ),
        )
    })?;
    let name = name("name", &body.name)?;
    let (config, secret, shown) = match kind {
        ChannelKind::Webhook => {
            if body.config.is_some() || body.credentials.is_some() {
                return Err(ApiError::invalid_field(
                    "config",
                    "a webhook channel takes outbound_url only; its secret is generated",
                ));
            }
            let url = body.outbound_url.ok_or_else(|| {
                ApiError::invalid_field("outbound_url", "is required for a webhook channel")
            })?;
            let secret = new_channel_secret();
            (
                json!({ "outbound_url": http_url("outbound_url", &url)? }),
                secret.clone().into_bytes(),
                Some(secret),
            )
        }
        _ => {
            if body.outbound_url.is_some() {
                return Err(ApiError::invalid_field(
                    "outbound_url",
                    "is for webhook channels; a provider channel sends through config.api_base",
                ));
            }
            let config = body.config.unwrap_or_else(|| json!({}));
            let credentials = body
                .credentials
                .ok_or_else(|| ApiError::invalid_field("credentials", "is required"))?;
            check_provider(kind, &config, &credentials)?;
            (config, credentials.to_string().into_bytes(), None)
        }
    };
    let sealed = state.secrets.seal(&Secret::new(secret));
    let ch = state
        .store
        .create_channel(
            kind.as_str().to_owned(),
            name,
            config,
            sealed,
            caller.actor,
            state.clock.now(),
        )
        .await?;
    let mut out = public_channel(&ch);
    if let Some(secret) = shown {
        out["secret"] = json!(secret);
    }
    out["webhook_url"] = json!(webhook_url(&state, &ch));
    Ok((StatusCode::CREATED, axum::Json(out)))
}

pub async fn list_channels(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        json!({ "items": state.store.list_channels().await?.iter().map(public_channel).collect::<Vec<_>>(), "next_cursor": null }),
    ))
}

pub async fn get_channel(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ChannelId::parse(&id).map_err(|_| ApiError::not_found("channel"))?;
    match state.store.channel(id).await {
        Ok(c) => {
            let mut out = public_channel(&c);
            out["webhook_url"] = json!(webhook_url(&state, &c));
            Ok(axum::Json(out))
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found("channel")),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelChange {
    name: Option<String>,
    outbound_url: Option<String>,
    active: Option<bool>,
    /// Keys to set in a provider channel's config (`null` removes one).
    config: Option<serde_json::Map<String, serde_json::Value>>,
    /// Credentials to set (`null` removes one); the others stay.
    credentials: Option<serde_json::Map<String, serde_json::Value>>,
}

fn http_url(field: &str, url: &str) -> Result<String, ApiError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::invalid_field(field, format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::invalid_field(
            field,
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(url.to_owned())
}

fn overlay(base: &mut serde_json::Value, changes: serde_json::Map<String, serde_json::Value>) {
    if !base.is_object() {
        *base = json!({});
    }
    if let Some(obj) = base.as_object_mut() {
        for (k, v) in changes {
            if v.is_null() {
                obj.remove(&k);
            } else {
                obj.insert(k, v);
            }
        }
    }
}

pub async fn update_channel(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageChannels>,
    Path(id): Path<String>,
    Json(body): Json<ChannelChange>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, ChannelId::parse, "channel")?;
    let current = state
        .store
        .channel(id)
        .await
        .map_err(ApiError::from_store("channel"))?;
    let kind = ChannelKind::parse(&current.kind)
        .ok_or_else(|| ApiError::internal(format!("unknown kind {}", current.kind)))?;
    let mut patch = ChannelPatch {
        name: body.name.as_deref().map(|n| name("name", n)).transpose()?,
        active: body.active,
        ..Default::default()
    };
    if kind == ChannelKind::Webhook {
        if body.config.is_some() || body.credentials.is_some() {
            return Err(ApiError::invalid_field(
                "config",
                "a webhook channel takes outbound_url only; rotate its secret with POST /channels/{id}/secret",
            ));
        }
        if let Some(url) = body.outbound_url {
            let mut config = current.config.clone();
            config["outbound_url"] = json!(http_url("outbound_url", &url)?);
            patch.config = Some(config);
        }
    } else {
        if body.outbound_url.is_some() {
            return Err(ApiError::invalid_field(
                "outbound_url",
                "is for webhook channels; a provider channel sends through config.api_base",
            ));
        }
        if body.config.is_some() || body.credentials.is_some() {
            let mut config = current.config.clone();
            if let Some(changes) = body.config {
                overlay(&mut config, changes);
            }
            let opened = state.secrets.open(&current.secret_sealed).ok_or_else(|| {
                ApiError::internal("the channel's credentials do not open with this server's key")
            })?;
            let mut credentials: serde_json::Value =
                serde_json::from_slice(opened.expose()).unwrap_or_else(|_| json!({}));
            let new_credentials = body.credentials.is_some();
            if let Some(changes) = body.credentials {
                overlay(&mut credentials, changes);
            }
            check_provider(kind, &config, &credentials)?;
            patch.config = Some(config);
            if new_credentials {
                patch.secret_sealed = Some(
                    state
                        .secrets
                        .seal(&Secret::new(credentials.to_string().into_bytes())),
                );
            }
        }
    }
    let ch = state
        .store
        .update_channel(id, patch, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("channel"))?;
    state.channels.invalidate(id);
    let mut out = public_channel(&ch);
    out["webhook_url"] = json!(webhook_url(&state, &ch));
    Ok(axum::Json(out))
}

/// A new secret for the channel; the old one stops verifying at once. Shown only here.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageChannels>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, ChannelId::parse, "channel")?;
    let current = state
        .store
        .channel(id)
        .await
        .map_err(ApiError::from_store("channel"))?;
    if current.kind != ChannelKind::Webhook.as_str() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_webhook_channel",
            "a provider channel's secrets are its credentials: set them with PATCH /channels/{id} {\"credentials\": {…}}",
        ));
    }
    let secret = new_channel_secret();
    let sealed = state
        .secrets
        .seal(&Secret::new(secret.clone().into_bytes()));
    let patch = ChannelPatch {
        secret_sealed: Some(sealed),
        ..Default::default()
    };
    let ch = state
        .store
        .update_channel(id, patch, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("channel"))?;
    state.channels.invalidate(id);
    let mut out = public_channel(&ch);
    out["secret"] = json!(secret);
    Ok(axum::Json(out))
}

fn new_channel_secret() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

// ----- teams -------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    name: String,
}

pub async fn create_team(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageTeams>,
    Json(body): Json<NewTeam>,
) -> Result<impl IntoResponse, ApiError> {
    let team = state
        .store
        .create_team(name("name", &body.name)?, caller.actor, state.clock.now())
        .await
        .map_err(|e| ApiError::from(e).on_field("name"))?;
    Ok((StatusCode::CREATED, axum::Json(team)))
}

pub async fn list_teams(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        json!({ "items": state.store.list_teams().await?, "next_cursor": null }),
    ))
}

pub async fn get_team(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        state
            .store
            .team(ApiError::path_id(&id, TeamId::parse, "team")?)
            .await
            .map_err(ApiError::from_store("team"))?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    user_id: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageTeams>,
    Path(id): Path<String>,
    Json(body): Json<NewMember>,
) -> Result<impl IntoResponse, ApiError> {
    let user = UserId::parse(&body.user_id).map_err(|e| ApiError::invalid_field("user_id", e.0))?;
    Ok(axum::Json(
        state
            .store
            .add_team_member(
                ApiError::path_id(&id, TeamId::parse, "team")?,
                user,
                caller.actor,
                state.clock.now(),
            )
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) => ApiError::from(e).on_field("user_id"),
                e => ApiError::from_store("team")(e),
            })?,
    ))
}

pub async fn remove_member(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageTeams>,
    Path((id, user)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let user = UserId::parse(&user).map_err(|_| ApiError::not_found("member"))?;
    match state
        .store
        .remove_team_member(
            ApiError::path_id(&id, TeamId::parse, "team")?,
            user,
            caller.actor,
            state.clock.now(),
        )
        .await
    {
        Ok(t) => Ok(axum::Json(t)),
        Err(StoreError::NotFound) => Err(ApiError::not_found("team member")),
        Err(e) => Err(e.into()),
    }
}

// ----- users and tokens --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    username: String,
    display_name: Option<String>,
    role: String,
    password: Option<String>,
}

pub async fn create_user(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageUsers>,
    Json(body): Json<NewUserBody>,
) -> Result<impl IntoResponse, ApiError> {
    let username =
        Username::parse(&body.username).map_err(|e| ApiError::invalid_field("username", e.0))?;
    let display_name = name(
        "display_name",
        body.display_name.as_deref().unwrap_or(username.as_str()),
    )?;
    let role = Role::parse(&body.role).map_err(|e| ApiError::invalid_field("role", e.0))?;
    let password_hash = match body.password {
        Some(p) if password_problem(&p).is_some() => {
            return Err(ApiError::invalid_field(
                "password",
                password_problem(&p).unwrap_or_default(),
            ));
        }
        Some(p) => Some(
            tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(ApiError::internal)??,
        ),
        None => None,
    };
    let user = state
        .store
        .create_user(
            NewUser {
                username,
                display_name,
                role,
                password_hash,
            },
            caller.actor,
            state.clock.now(),
        )
        .await
        .map_err(|e| ApiError::from(e).on_field("username"))?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

pub async fn list_users(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        json!({ "items": state.store.list_users().await?, "next_cursor": null }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    role: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageUsers>,
    Json(body): Json<NewToken>,
) -> Result<impl IntoResponse, ApiError> {
    let name = name("name", &body.name)?;
    let role = Role::parse(&body.role).map_err(|e| ApiError::invalid_field("role", e.0))?;
    let token = new_credential("sbt");
    let record = state
        .store
        .create_token(
            name,
            role,
            credential_hash(&token),
            caller.actor,
            state.clock.now(),
        )
        .await?;
    let mut out = serde_json::to_value(&record).map_err(ApiError::internal)?;
    out["token"] = json!(token);
    Ok((StatusCode::CREATED, axum::Json(out)))
}

pub async fn list_tokens(
    State(state): State<AppState>,
    _: Allowed<need::ManageUsers>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        json!({ "items": state.store.list_tokens().await?, "next_cursor": null }),
    ))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageUsers>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = TokenId::parse(&id).map_err(|_| ApiError::not_found("token"))?;
    match state
        .store
        .revoke_token(id, caller.actor, state.clock.now())
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(ApiError::not_found("token")),
        Err(e) => Err(e.into()),
    }
}

// ----- audit -------------------------------------------------------------------------------

pub async fn audit(
    State(state): State<AppState>,
    _: Allowed<need::ReadAudit>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let cursor = q.cursor(|s| s.parse::<i64>().map_err(|e| ParseError::new(e.to_string())))?;
    Ok(axum::Json(
        state.store.list_audit(cursor, q.limit()?).await?,
    ))
}

/// Why a new password is not acceptable, if it is not.
pub fn password_problem(p: &str) -> Option<&'static str> {
    let n = p.chars().count();
    if n < 12 || p.trim().chars().count() < 12 {
        Some("must be at least 12 characters, not counting spaces at either end")
    } else if n > 1024 {
        Some("must be at most 1024 characters")
    } else {
        None
    }
}

/// `PATCH /teams/{id}`: `name`, `strategy`, `capacity` (a number or null), `overflow` (a
/// team slug or null), `email_from` (an address or null) and `email_signature` (text or
/// null). Absent fields stay as they are.
pub async fn update_team(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<impl IntoResponse, ApiError> {
    use serde_json::Value;
    const FIELDS: [&str; 6] = [
        "name",
        "strategy",
        "capacity",
        "overflow",
        "email_from",
        "email_signature",
    ];
    let id = ApiError::path_id(&id, TeamId::parse, "team")?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("invalid_body", "the body must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid_field(
            k,
            format!(
                "is not a field that can be changed; use {}",
                FIELDS.join(", ")
            ),
        ));
    }
    let text = |k: &str| match obj.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::invalid_field(k, "must be a string")),
    };
    let patch = switchboard_store::TeamPatch {
        name: text("name")?.map(|s| name("name", s)).transpose()?,
        strategy: text("strategy")?
            .map(|s| {
                switchboard_core::assign::Strategy::parse(s)
                    .map_err(|e| ApiError::invalid_field("strategy", e.0))
            })
            .transpose()?,
        capacity: match obj.get("capacity") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(v) => match v.as_u64() {
                Some(n @ 1..=10_000) => Some(Some(n as u32)),
                _ => {
                    return Err(ApiError::invalid_field(
                        "capacity",
                        "must be a whole number from 1 to 10000, or null for no limit",
                    ));
                }
            },
        },
        overflow: match obj.get("overflow") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "overflow",
                    "must be a team slug or null",
                ));
            }
        },
        email_from: match obj.get("email_from") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => match switchboard_core::ContactKey::email(s) {
                Some(k) => Some(Some(k.value)),
                None => {
                    return Err(ApiError::invalid_field(
                        "email_from",
                        format!("{s:?} is not an e-mail address"),
                    ));
                }
            },
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "email_from",
                    "must be an e-mail address or null",
                ));
            }
        },
        email_signature: match obj.get("email_signature") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) if s.chars().count() <= 2000 && !s.contains('\0') => {
                Some(Some(s.trim_end().to_owned()).filter(|s| !s.is_empty()))
            }
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "email_signature",
                    "must be text of at most 2000 characters, or null",
                ));
            }
        },
    };
    let team = state
        .store
        .update_team(id, patch, caller.actor, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::Invalid(_) => ApiError::from(e).on_field("overflow"),
            StoreError::Conflict(_) => ApiError::from(e).on_field("name"),
            e => ApiError::from_store("team")(e),
        })?;
    Ok(axum::Json(team))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skills {
    skills: Vec<String>,
}

/// `PUT /teams/{id}/members/{user_id}/skills`: replaces the member's skills.
pub async fn set_member_skills(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageTeams>,
    Path((id, user)): Path<(String, String)>,
    Json(body): Json<Skills>,
) -> Result<impl IntoResponse, ApiError> {
    let team = ApiError::path_id(&id, TeamId::parse, "team")?;
    let user = ApiError::path_id(&user, UserId::parse, "team member")?;
    if body.skills.len() > 50 {
        return Err(ApiError::invalid_field("skills", "at most 50 skills"));
    }
    if let Some(bad) = body
        .skills
        .iter()
        .find(|s| s.trim().is_empty() || s.len() > 60 || s.contains(char::is_control))
    {
        return Err(ApiError::invalid_field(
            "skills",
            format!("{bad:?} is not a skill: 1 to 60 visible characters"),
        ));
    }
    let team = state
        .store
        .set_member_skills(team, user, body.skills, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("team member"))?;
    Ok(axum::Json(team))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityBody {
    availability: String,
}

fn availability(
    body: &AvailabilityBody,
) -> Result<switchboard_core::assign::Availability, ApiError> {
    switchboard_core::assign::Availability::parse(&body.availability)
        .map_err(|e| ApiError::invalid_field("availability", e.0))
}

/// `PUT /users/{id}/availability`: a supervisor sets someone online, away or offline.
pub async fn set_user_availability(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageTeams>,
    Path(id): Path<String>,
    Json(body): Json<AvailabilityBody>,
) -> Result<impl IntoResponse, ApiError> {
    let user = ApiError::path_id(&id, UserId::parse, "user")?;
    let a = availability(&body)?;
    Ok(axum::Json(
        state
            .store
            .set_availability(user, a, caller.actor, state.clock.now())
            .await
            .map_err(ApiError::from_store("user"))?,
    ))
}

/// `PUT /me/availability`: an agent says whether they take new cases now.
pub async fn set_my_availability(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Json(body): Json<AvailabilityBody>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(user) = caller.actor.user_id() else {
        return Err(ApiError::forbidden(
            "an API token is not a person; set a user's availability with PUT /users/{id}/availability",
        ));
    };
    let a = availability(&body)?;
    Ok(axum::Json(
        state
            .store
            .set_availability(user, a, caller.actor, state.clock.now())
            .await
            .map_err(ApiError::from_store("user"))?,
    ))
}
