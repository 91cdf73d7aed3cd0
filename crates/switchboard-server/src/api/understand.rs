//! `POST /api/v1/analyze`: what Switchboard understands of a text, with the models in force
//! (the same step every inbound message goes through before it is routed).

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Json};
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;

/// Longest text analysed, in bytes (the inbound message limit).
const MAX_TEXT: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeBody {
    text: String,
}

pub async fn analyze(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Json(body): Json<AnalyzeBody>,
) -> Result<impl IntoResponse, ApiError> {
    if body.text.trim().is_empty() {
        return Err(ApiError::invalid_field("text", "must not be empty"));
    }
    if body.text.len() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            "text",
            format!("must be at most {MAX_TEXT} bytes"),
        ));
    }
    let analyzer = state.analyzer();
    let understood = tokio::task::spawn_blocking(move || analyzer.analyze(&body.text))
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(understood))
}
