//! A person's notifications: SLA warnings and breaches, experts' answers, escalations.

use crate::AppState;
use crate::api::PageQuery;
use crate::auth::Caller;
use crate::error::Query;
use crate::error::{ApiError, Json};
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use switchboard_core::{NotificationId, UserId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    unread: Option<bool>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// The notifications to mark read; absent: all of them.
    ids: Option<Vec<String>>,
}

fn person(caller: &Caller) -> Result<UserId, ApiError> {
    caller
        .actor
        .user_id()
        .ok_or_else(|| ApiError::forbidden("notifications belong to people; an API token has none"))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let user = person(&caller)?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(axum::Json(
        state
            .store
            .notifications(
                user,
                q.unread.unwrap_or(false),
                page.cursor(NotificationId::parse)?,
                page.limit()?,
            )
            .await?,
    ))
}

pub async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ReadBody>,
) -> Result<impl IntoResponse, ApiError> {
    let user = person(&caller)?;
    let ids = body
        .ids
        .map(|ids| {
            if ids.len() > 500 {
                return Err(ApiError::invalid_field("ids", "at most 500 at a time"));
            }
            ids.iter()
                .map(|s| NotificationId::parse(s).map_err(|e| ApiError::invalid_field("ids", e.0)))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let changed = state
        .store
        .mark_notifications_read(user, ids, state.clock.now())
        .await?;
    Ok(axum::Json(json!({ "marked_read": changed })))
}
