//! Merging cases and splitting messages off a case (`POST /cases/{id}/merge`, `…/split`).
//!
//! Bad ids and lists are 400 `invalid_field`; what the store refuses is 422 with a code of its
//! own (see [`refused`]), and a refusal changes nothing.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use switchboard_core::{CaseId, MessageId, ParseError};
use switchboard_store::StoreError;

/// The most cases one merge takes.
const MAX_CASES: usize = 50;
/// The most messages one split moves.
const MAX_MESSAGES: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The cases that join this one.
    cases: Vec<String>,
    /// Also merge the other cases' contacts into this case's contact (one person, two records).
    #[serde(default)]
    merge_contacts: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// The messages that move to the new case.
    messages: Vec<String>,
}

/// A list of ids from the body: not empty, not too long, each an id, none twice.
fn id_list<T: PartialEq>(
    field: &str,
    items: &[String],
    max: usize,
    kind: &str,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<Vec<T>, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid_field(
            field,
            format!("name at least one {kind}"),
        ));
    }
    if items.len() > max {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {max} {kind}s at a time"),
        ));
    }
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for s in items {
        let id = parse(s)
            .map_err(|_| ApiError::invalid_field(field, format!("{s:?} is not a {kind} id")))?;
        if out.contains(&id) {
            return Err(ApiError::invalid_field(
                field,
                format!("names the {kind} {s} twice"),
            ));
        }
        out.push(id);
    }
    Ok(out)
}

/// What the store refused, as a 422 with a specific code and the request field it is about;
/// an unknown case in the path is a 404.
pub(super) fn refused(e: StoreError) -> ApiError {
    let StoreError::Invalid(m) = e else {
        return ApiError::from_store("case")(e);
    };
    let (code, field) = if m.contains("cannot be merged into itself") {
        ("self_merge", Some("cases"))
    } else if m.starts_with("no case with id") {
        ("unknown_case", Some("cases"))
    } else if m.contains("was already merged into") {
        ("case_merged", Some("cases"))
    } else if m.contains("was merged into") {
        ("case_merged", None)
    } else if m.contains("both have an identity on the channel") {
        ("identities_clash", Some("merge_contacts"))
    } else if m.contains("\"merge_contacts\"") {
        ("contacts_differ", Some("merge_contacts"))
    } else if m.contains("is closed") {
        ("case_closed", None)
    } else if m.contains("is not on case") {
        ("message_not_in_case", Some("messages"))
    } else if m.contains("all the messages") {
        ("split_takes_all", Some("messages"))
    } else if m.contains("more than one conversation") {
        ("split_across_conversations", Some("messages"))
    } else if m.contains("is not one of this case's conversations") {
        ("conversation_not_in_case", Some("conversation_id"))
    } else {
        ("rule_violated", None)
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, m).on_some_field(field)
}

/// `POST /cases/{id}/merge`: the named cases join this one; answers with the merged case.
pub async fn merge(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    Json(body): Json<MergeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let sources = id_list("cases", &body.cases, MAX_CASES, "case", CaseId::parse)?;
    let (case, events) = state
        .store
        .merge_cases(
            id,
            sources,
            body.merge_contacts,
            caller.actor,
            state.clock.now(),
        )
        .await
        .map_err(refused)?;
    state.bus.publish(events);
    Ok(axum::Json(case))
}

/// `POST /cases/{id}/split`: the named messages (of one conversation) move to a new case;
/// answers 201 with it.
pub async fn split(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    Json(body): Json<SplitBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let messages = id_list(
        "messages",
        &body.messages,
        MAX_MESSAGES,
        "message",
        MessageId::parse,
    )?;
    let (case, events) = state
        .store
        .split_case(id, messages, caller.actor, state.clock.now())
        .await
        .map_err(refused)?;
    state.bus.publish(events);
    Ok((StatusCode::CREATED, axum::Json(case)))
}
