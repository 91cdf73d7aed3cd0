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
pub struct Login {
    username: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    Json(body): Json<Login>,
) -> Result<Response, ApiError> {
    let denied = || ApiError::unauthorized("unknown username or wrong password");
    let (user, hash) = state
        .store
        .user_credentials(&body.username)
        .await?
        .ok_or_else(denied)?;
    let hash = hash.ok_or_else(denied)?;
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    if !ok || !user.active {
        return Err(denied());
    }
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
