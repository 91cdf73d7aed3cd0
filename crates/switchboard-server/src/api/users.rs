//! One user: read it, or change the name, role, password or whether the account is active.
//! Deactivating hands the user's open cases back to their teams (see the store's `users`).

use crate::AppState;
use crate::api::directory::password_problem;
use crate::auth::{Allowed, hash_password, need};
use crate::error::{ApiError, Json, Path};
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use switchboard_core::*;
use switchboard_store::{Actor, StoreError, UserPatch};

fn user_id(id: &str) -> Result<UserId, ApiError> {
    ApiError::path_id(id, UserId::parse, "user")
}

pub async fn get_user(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match state.store.user(user_id(&id)?).await {
        Ok(u) => Ok(axum::Json(u)),
        Err(StoreError::NotFound) => Err(ApiError::not_found("user")),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    display_name: Option<String>,
    role: Option<String>,
    active: Option<bool>,
    password: Option<String>,
}

impl std::fmt::Debug for UserBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserBody")
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("active", &self.active)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

pub async fn update_user(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageUsers>,
    Path(id): Path<String>,
    Json(body): Json<UserBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = user_id(&id)?;
    let display_name = body
        .display_name
        .as_deref()
        .map(|n| Name::parse(n).map_err(|e| ApiError::invalid_field("display_name", e.0)))
        .transpose()?;
    let role = body
        .role
        .as_deref()
        .map(|r| Role::parse(r).map_err(|e| ApiError::invalid_field("role", e.0)))
        .transpose()?;
    let is_self = matches!(&caller.actor, Actor::User { id: me, .. } if *me == id);
    if is_self && body.active == Some(false) {
        return Err(ApiError::invalid_field(
            "active",
            "you cannot deactivate yourself: ask another admin",
        ));
    }
    if is_self && role.is_some_and(|r| r != caller.role) {
        return Err(ApiError::invalid_field(
            "role",
            "you cannot change your own role: ask another admin",
        ));
    }
    if is_self && body.password.is_some() {
        return Err(ApiError::invalid_field(
            "password",
            "change your own password with POST /api/v1/me/password (it asks for the current one)",
        ));
    }
    let password_hash = match body.password {
        Some(p) => {
            if let Some(problem) = password_problem(&p) {
                return Err(ApiError::invalid_field("password", problem));
            }
            Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(ApiError::internal)??,
            )
        }
        None => None,
    };
    // The field to blame if the change would leave no active admin.
    let admin_field = if body.active == Some(false) {
        "active"
    } else {
        "role"
    };
    let patch = UserPatch {
        display_name,
        role,
        active: body.active,
        password_hash,
    };
    match state
        .store
        .update_user(id, patch, caller.actor, state.clock.now())
        .await
    {
        Ok(change) => {
            state.bus.publish(change.events);
            Ok(axum::Json(json!({
                "user": change.user,
                "unassigned_cases": change.unassigned_cases,
            })))
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found("user")),
        Err(e @ StoreError::Invalid(_)) => Err(ApiError::from(e).on_field(admin_field)),
        Err(e) => Err(e.into()),
    }
}
