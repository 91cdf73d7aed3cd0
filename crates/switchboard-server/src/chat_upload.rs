//! Files in the web chat. A visitor uploads with `POST /chat/{channel_id}/files?name=<file
//! name>` (the bytes as the body, their type as `Content-Type`, and `Authorization: Bearer
//! <upload_token>` from the chat's welcome), from a page the channel allows; the answer's `id`
//! then goes in a message's `attachments`. Agents read the file at
//! `GET /api/v1/chat-files/{id}`.
//!
//! Refusals: 401 (no or a bad upload token), 403 (origin), 400 (empty), 413 (over the
//! channel's `max_attachment_bytes`), 415 (a type not on [`chat_files::ALLOWED`], or content
//! that is not the type it claims), 429 (over the visitor's hourly quota). All are counted in
//! `switchboard_webhook_requests_total{kind="webchat"}` and store nothing.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Path as ApiPath};
use crate::metrics::global;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::Digest;
use switchboard_channels::{chat_files, webchat};
use switchboard_store::ChatFile;

/// How many of its largest files a visitor may upload per hour.
const QUOTA_FILES_PER_HOUR: u64 = 5;

#[derive(serde::Deserialize)]
pub struct UploadQuery {
    name: Option<String>,
}

fn with_cors(mut res: Response, origin: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(origin) {
        res.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

fn refuse(status: StatusCode, code: &'static str, detail: String, origin: &str) -> Response {
    global().webhook("webchat", code);
    with_cors(ApiError::new(status, code, detail).into_response(), origin)
}

/// `OPTIONS /chat/{channel_id}/files`: the browser's preflight for an upload.
pub async fn preflight(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (_, _, _, origin) = match crate::chat::open_chat(&state, &channel, &headers).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let mut res = with_cors(StatusCode::NO_CONTENT.into_response(), &origin);
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    res
}

/// `POST /chat/{channel_id}/files`.
pub async fn upload(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (channel, cfg, creds, origin) =
        match crate::chat::open_chat(&state, &channel, &headers).await {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
    let now = state.clock.now();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(visitor) = webchat::check_upload_token(
        creds.widget_secret.as_bytes(),
        token.trim(),
        now.as_unix_secs(),
    ) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_upload_token",
            "uploads need the upload_token of an open chat (Authorization: Bearer …)".into(),
            &origin,
        );
    };
    let max = cfg.max_attachment_bytes;
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("files are at most {max} bytes here"),
            &origin,
        )
    };
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > max as u64) {
        return too_large();
    }
    let since =
        switchboard_core::Timestamp::from_unix_micros(now.as_unix_micros() - 3_600 * 1_000_000);
    match state
        .store
        .chat_upload_bytes(channel, visitor.clone(), since)
        .await
    {
        Ok(used) if used + declared_len.unwrap_or(0) > QUOTA_FILES_PER_HOUR * max as u64 => {
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "upload_quota",
                "too many files this hour; try again later".into(),
                &origin,
            );
        }
        Ok(_) => {}
        Err(e) => return with_cors(ApiError::from(e).into_response(), &origin),
    }
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = match chat_files::check(declared, &bytes, max) {
        Ok(m) => m,
        Err(e) => {
            let (status, code) = match e {
                chat_files::FileRefusal::Empty => (StatusCode::BAD_REQUEST, "empty_file"),
                chat_files::FileRefusal::TooLarge(_) => return too_large(),
                chat_files::FileRefusal::Type(_) => {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type")
                }
                chat_files::FileRefusal::Mismatch(_) => {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_mismatch")
                }
            };
            return refuse(status, code, e.to_string(), &origin);
        }
    };
    let file = ChatFile {
        id: uuid::Uuid::new_v4(),
        channel_id: channel,
        visitor,
        name: chat_files::safe_name(q.name.as_deref().unwrap_or("")),
        mime_type: mime.to_owned(),
        size: bytes.len() as u64,
        sha256: hex::encode(sha2::Sha256::digest(&bytes)),
        body: bytes.to_vec(),
        created_at: now,
    };
    let answer = serde_json::json!({"id": file.id, "name": file.name, "mime_type": file.mime_type, "size": file.size});
    if let Err(e) = state.store.put_chat_file(file).await {
        return with_cors(ApiError::from(e).into_response(), &origin);
    }
    global().webhook("webchat", "file_stored");
    with_cors(
        (StatusCode::CREATED, axum::Json(answer)).into_response(),
        &origin,
    )
}

/// `GET /api/v1/chat-files/{id}`: a visitor's file, for agents. Served as a download (images
/// inline), never sniffed, in a sandbox: an upload cannot run script on Switchboard's origin.
pub async fn download(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found("file"))?;
    let file = state
        .store
        .chat_file(id)
        .await?
        .ok_or_else(|| ApiError::not_found("file"))?;
    let disposition = if file.mime_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    let encoded: String =
        percent_encoding::utf8_percent_encode(&file.name, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    Ok((
        [
            (header::CONTENT_TYPE, file.mime_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename*=UTF-8''{encoded}"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        file.body,
    )
        .into_response())
}
