//! Password login for people: a session cookie (HttpOnly, SameSite=Lax).

use crate::AppState;
use crate::auth::{
    Caller, SESSION_COOKIE, credential_hash, new_credential, session_cookie, verify_password,
};
use crate::error::{ApiError, Json};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    Json(body): Json<Login>,
) -> Result<Response, ApiError> {
    let denied = || ApiError::unauthorized("unknown username or wrong password");
    // A name that cannot be a username names no one (and never reaches the database).
    let found = match switchboard_core::Username::parse(&body.username) {
        Ok(u) => state.store.user_credentials(u.as_str()).await?,
        Err(_) => None,
    };
    // Unknown users cost the same Argon2 verification as known ones, so response times do
    // not tell which usernames exist.
    let (user, hash) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        _ => (None, crate::auth::dummy_hash().to_owned()),
    };
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let user = match user {
        Some(u) if ok && u.active => u,
        _ => return Err(denied()),
    };
    let session = new_credential("sbs");
    let now = state.clock.now();
    let ttl = state.config.session_ttl_hours;
    state
        .store
        .create_session(
            credential_hash(&session),
            user.id,
            now,
            now.plus_millis(ttl * 3_600_000),
        )
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}",
        ttl * 3600
    );
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cookie)],
        axum::Json(json!({ "user": user })),
    )
        .into_response())
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(s) = session_cookie(&headers) {
        state.store.delete_session(credential_hash(&s)).await?;
    }
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

pub async fn me(caller: Caller) -> impl IntoResponse {
    axum::Json(json!({ "actor": caller.actor, "role": caller.role }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// A person changes their own password; their other sessions end.
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<PasswordChange>,
) -> Result<Response, ApiError> {
    let Some(user_id) = caller.actor.user_id() else {
        return Err(ApiError::bad_request(
            "not_a_person",
            "API tokens have no password; log in as a person",
        ));
    };
    let user = state.store.user(user_id).await?;
    if let Some(problem) = super::directory::password_problem(&body.new_password) {
        return Err(ApiError::invalid_field("new_password", problem));
    }
    let (_, hash) = state
        .store
        .user_credentials(&user.username)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown user"))?;
    let current = body.current_password;
    let ok = match hash {
        Some(h) => tokio::task::spawn_blocking(move || verify_password(&current, &h))
            .await
            .map_err(ApiError::internal)?,
        None => false,
    };
    if !ok {
        return Err(ApiError {
            field: Some("current_password".into()),
            ..ApiError::forbidden("the current password is wrong")
        });
    }
    let new = body.new_password;
    let new_hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&new))
        .await
        .map_err(ApiError::internal)??;
    state
        .store
        .set_password(user_id, new_hash, caller.actor, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
