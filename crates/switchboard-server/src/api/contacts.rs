//! Contacts and their timeline across every channel and case.

use super::PageQuery;
use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Path, Query};
use axum::extract::State;
use axum::response::IntoResponse;
use switchboard_core::{ContactId, MessageId};
use switchboard_store::StoreError;

fn contact_id(s: &str) -> Result<ContactId, ApiError> {
    ContactId::parse(s).map_err(|_| ApiError::not_found("contact"))
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("contact"),
        e => e.into(),
    }
}

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
            .contact(contact_id(&id)?)
            .await
            .map_err(not_found)?,
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
        .contact_timeline(contact_id(&id)?, q.cursor(MessageId::parse)?, q.limit()?)
        .await
        .map_err(not_found)?;
    Ok(axum::Json(page))
}
