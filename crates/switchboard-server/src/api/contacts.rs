//! Contacts and their timeline across every channel and case.

use super::PageQuery;
use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Path, Query};
use axum::extract::State;
use axum::response::IntoResponse;
use switchboard_core::{ContactId, MessageId};

pub async fn list(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        state
            .store
            .list_contacts(q.cursor(ContactId::parse)?, q.limit()?)
            .await?,
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        state
            .store
            .contact(ApiError::path_id(&id, ContactId::parse, "contact")?)
            .await
            .map_err(ApiError::from_store("contact"))?,
    ))
}

pub async fn timeline(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = state
        .store
        .contact_timeline(
            ApiError::path_id(&id, ContactId::parse, "contact")?,
            q.cursor(MessageId::parse)?,
            q.limit()?,
        )
        .await
        .map_err(ApiError::from_store("contact"))?;
    Ok(axum::Json(page))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    tags: Vec<String>,
}

/// `PATCH /contacts/{id}`: replaces the contact's tags (`vip`, `enterprise`…).
pub async fn update(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    crate::error::Json(body): crate::error::Json<ContactPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, ContactId::parse, "contact")?;
    if body.tags.len() > 50 {
        return Err(ApiError::invalid_field("tags", "at most 50 tags"));
    }
    let tags = body
        .tags
        .iter()
        .map(|t| switchboard_core::Tag::parse(t).map_err(|e| ApiError::invalid_field("tags", e.0)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(axum::Json(
        state
            .store
            .set_contact_tags(id, tags, caller.actor, state.clock.now())
            .await
            .map_err(ApiError::from_store("contact"))?,
    ))
}
