//! Purposes: the built-in five and the custom ones an admin registers.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Json};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use switchboard_core::playbook::PurposeDecl;
use switchboard_core::{Name, Purpose};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPurpose {
    id: String,
    name: String,
    description: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        json!({ "items": state.store.purposes().await?, "next_cursor": null }),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Json(body): Json<NewPurpose>,
) -> Result<impl IntoResponse, ApiError> {
    let id = Purpose::parse(&body.id).map_err(|e| ApiError::invalid_field("id", e.0))?;
    let name = Name::parse(&body.name)
        .map_err(|_| ApiError::invalid_field("name", "must be 1 to 200 visible characters"))?;
    if body.description.as_ref().is_some_and(|d| d.len() > 2000) {
        return Err(ApiError::invalid_field(
            "description",
            "must be at most 2000 bytes",
        ));
    }
    let created = state
        .store
        .add_purpose(
            PurposeDecl {
                id,
                name: Some(name.as_str().to_owned()),
                description: body.description,
            },
            caller.actor,
            state.clock.now(),
        )
        .await
        .map_err(|e| ApiError::from_store("purpose")(e).on_field("id"))?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}
