//! Password login for people: a session cookie (HttpOnly, SameSite=Lax).

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE, credential_hash, session_cookie, verify_password};
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
    let user = crate::auth::authenticate(&state, &body.username, body.password)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown username or wrong password"))?;
    let (session, cookie) = crate::auth::start_session(&state, user.id).await?;
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cookie)],
        axum::Json(json!({ "user": user, "csrf_token": crate::auth::csrf_token(&session) })),
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
