//! Cases: list, read, change, reply, note.

use super::PageQuery;
use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchboard_core::*;
use switchboard_store::{CaseFilter, CasePatch, Review};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    purpose: Option<String>,
    team: Option<String>,
    /// A user id, or `none` for unassigned cases.
    assignee: Option<String>,
    // Not `#[serde(flatten)] PageQuery`: flattened query fields arrive as strings.
    limit: Option<i64>,
    cursor: Option<String>,
}

/// A purpose a case may have: a built-in one or one the workspace registered.
async fn known_purpose(state: &AppState, s: &str) -> Result<Purpose, ApiError> {
    let known = state
        .store
        .purposes()
        .await
        .map_err(ApiError::from_store("purpose"))?;
    match Purpose::parse(s) {
        Ok(p) if known.iter().any(|k| k.id == p) => Ok(p),
        _ => Err(ApiError::invalid_field(
            "purpose",
            format!(
                "unknown purpose {s:?}; expected one of {} (GET /api/v1/purposes lists them)",
                known
                    .iter()
                    .map(|k| k.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn field<T>(name: &str, r: Result<T, ParseError>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::invalid_field(name, e.0))
}

pub async fn list(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let mut filter = CaseFilter {
        status: q
            .status
            .as_deref()
            .map(|s| field("status", CaseStatus::parse(s)))
            .transpose()?,
        purpose: match q.purpose.as_deref() {
            Some(p) => Some(known_purpose(&state, p).await?),
            None => None,
        },
        team: q
            .team
            .as_deref()
            .map(|s| field("team", TeamId::parse(s)))
            .transpose()?,
        ..Default::default()
    };
    match q.assignee.as_deref() {
        Some("none") => filter.unassigned = true,
        Some(u) => filter.assignee = Some(field("assignee", UserId::parse(u))?),
        None => {}
    }
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = state
        .store
        .list_cases(filter, page.cursor(CaseId::parse)?, page.limit()?)
        .await?;
    Ok(axum::Json(page))
}

pub async fn get_one(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let (detail, sla) = state
        .store
        .case_at(
            ApiError::path_id(&id, CaseId::parse, "case")?,
            state.clock.now(),
        )
        .await
        .map_err(ApiError::from_store("case"))?;
    let mut body = serde_json::to_value(&detail).map_err(ApiError::internal)?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert(
            "sla".into(),
            serde_json::to_value(&sla).map_err(ApiError::internal)?,
        );
    }
    Ok(axum::Json(body))
}

/// Reads an optional, nullable id field: absent → None, null → Some(None).
fn nullable_id<T>(
    obj: &Map<String, Value>,
    key: &str,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<Option<Option<T>>, ApiError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(field(key, parse(s))?))),
        Some(_) => Err(ApiError::invalid_field(key, "must be an id or null")),
    }
}

fn string_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid_field(key, "must be a string")),
    }
}

/// The most tags a case may carry.
const MAX_TAGS: usize = 50;

const PATCHABLE: [&str; 6] = ["status", "purpose", "team", "assignee", "priority", "tags"];

pub async fn update(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("invalid_body", "the body must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| !PATCHABLE.contains(&k.as_str())) {
        return Err(ApiError::invalid_field(
            k,
            format!(
                "is not a field that can be changed; use {}",
                PATCHABLE.join(", ")
            ),
        ));
    }
    let patch = CasePatch {
        status: string_of(obj, "status")?
            .map(|s| field("status", CaseStatus::parse(s)))
            .transpose()?,
        purpose: match string_of(obj, "purpose")? {
            Some(p) => Some(known_purpose(&state, p).await?),
            None => None,
        },
        priority: string_of(obj, "priority")?
            .map(|s| field("priority", Priority::parse(s)))
            .transpose()?,
        team: nullable_id(obj, "team", TeamId::parse)?,
        assignee: nullable_id(obj, "assignee", UserId::parse)?,
        tags: match obj.get("tags") {
            None => None,
            Some(Value::Array(items)) if items.len() > MAX_TAGS => {
                return Err(ApiError::invalid_field(
                    "tags",
                    format!("at most {MAX_TAGS} tags"),
                ));
            }
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|t| {
                        t.as_str()
                            .ok_or_else(|| {
                                ApiError::invalid_field("tags", "must be an array of strings")
                            })
                            .and_then(|s| field("tags", Tag::parse(s)))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "tags",
                    "must be an array of strings",
                ));
            }
        },
    };
    let resolving = patch.status == Some(CaseStatus::Resolved);
    let (case, events) = state
        .store
        .update_case(id, patch, caller.actor, state.clock.now())
        .await
        .map_err(|e| {
            // Name the field a refused change is about.
            let field = match &e {
                switchboard_store::StoreError::Invalid(m) if m.starts_with("no team") => {
                    Some("team")
                }
                switchboard_store::StoreError::Invalid(m) if m.contains("cannot move") => {
                    Some("status")
                }
                _ => None,
            };
            ApiError::from_store("case")(e).on_some_field(field)
        })?;
    let resolved_now = resolving && !events.is_empty() && case.status == CaseStatus::Resolved;
    state.bus.publish(events);
    if resolved_now {
        crate::csat::ask_if_wanted(&state, &case).await;
    }
    Ok(axum::Json(case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    text: String,
}

fn message_text(body: TextBody) -> Result<String, ApiError> {
    if body.text.trim().is_empty() {
        return Err(ApiError::invalid_field("text", "must not be empty"));
    }
    if body.text.contains('\0') {
        return Err(ApiError::invalid_field(
            "text",
            "must not contain NUL characters",
        ));
    }
    if body.text.len() > switchboard_channels::webhook::MAX_TEXT {
        return Err(ApiError::invalid_field(
            "text",
            format!(
                "must be at most {} bytes",
                switchboard_channels::webhook::MAX_TEXT
            ),
        ));
    }
    Ok(body.text)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    text: String,
    /// One of the case's conversations (a merged case can have several); default: its own.
    conversation_id: Option<String>,
    /// Answer the conversation's public comment privately (Meta private reply, X DM).
    #[serde(default)]
    private: bool,
    /// Send as an approved template (WhatsApp): allowed outside the 24-hour window. `text` is
    /// what the template reads as, kept on the case.
    template: Option<switchboard_core::Template>,
}

pub async fn reply(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    Json(body): Json<ReplyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let conversation = body
        .conversation_id
        .as_deref()
        .map(|v| field("conversation_id", ConversationId::parse(v)))
        .transpose()?;
    let text = message_text(TextBody { text: body.text })?;
    if let Some(t) = &body.template {
        t.check().map_err(|e| {
            let field = e.0.split(':').next().unwrap_or("template").to_owned();
            ApiError::invalid_field(&field, e.0)
        })?;
    }
    check_channel_rules(
        &state,
        id,
        conversation,
        body.private,
        &text,
        body.template.as_ref(),
    )
    .await?;
    let to = switchboard_store::ReplyTo {
        conversation,
        private_reply: body.private,
        template: body.template,
    };
    let out = state
        .store
        .reply_to(id, to, text, caller.actor, state.clock.now())
        .await
        .map_err(|e| match e {
            switchboard_store::StoreError::Invalid(m)
                if m.contains("is not one of this case's conversations") =>
            {
                super::merge::refused(switchboard_store::StoreError::Invalid(m))
            }
            e => ApiError::from_store("case")(e),
        })?;
    state.bus.publish(out.events);
    state.outbound_wake.notify_one();
    let mut body = serde_json::to_value(&out.message).map_err(ApiError::internal)?;
    if let (Some(guard), Some(obj)) = (out.guard, body.as_object_mut()) {
        obj.insert("guard".into(), Value::String(guard));
    }
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// The channel's own rules for this reply (length, reply windows, private replies): a
/// reply the provider would refuse is refused now, with what is allowed instead.
pub(crate) async fn check_channel_rules(
    state: &AppState,
    case: CaseId,
    conversation: Option<ConversationId>,
    private: bool,
    text: &str,
    template: Option<&switchboard_core::Template>,
) -> Result<(), ApiError> {
    let ctx = match state.store.reply_context(case, conversation).await {
        Ok(ctx) => ctx,
        // The reply itself reports a missing case or a foreign conversation.
        Err(_) => return Ok(()),
    };
    let Some(channel) = state.channels.get(ctx.channel_id).await? else {
        return Ok(());
    };
    // An admin's test conversation reaches no provider: no provider's rules apply.
    if crate::channel_test::is_test_thread(&ctx.thread) {
        return Ok(());
    }
    if private && !ctx.public {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_public",
            "a private reply answers a public comment; this conversation is already private",
        ));
    }
    let job = switchboard_channels::SendJob {
        message_id: String::new(),
        thread: ctx.thread,
        public: ctx.public,
        to: ctx.to.unwrap_or_default(),
        in_reply_to: ctx.last_inbound_external,
        private_reply: private,
        text: text.to_owned(),
        template: template.cloned(),
        last_inbound_at: ctx.last_inbound_at,
        now: state.clock.now(),
    };
    channel
        .adapter
        .check_reply(&job)
        .map_err(|rule| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, rule.code, rule.message))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// The reviewer's edit of the reply, if any.
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    comment: String,
}

/// `POST /messages/{id}/approve`: a reviewer sends a held reply, perhaps edited.
pub async fn approve(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ReviewReplies>,
    Path(id): Path<String>,
    Json(body): Json<ApproveBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, MessageId::parse, "message")?;
    let text = body
        .text
        .map(|t| message_text(TextBody { text: t }))
        .transpose()?;
    let (message, events) = state
        .store
        .review_reply(
            id,
            Review::Approve { text },
            caller.actor,
            state.clock.now(),
        )
        .await
        .map_err(ApiError::from_store("message"))?;
    state.bus.publish(events);
    state.outbound_wake.notify_one();
    Ok(axum::Json(message))
}

/// `POST /messages/{id}/reject`: a reviewer refuses a held reply; the comment says why.
pub async fn reject(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ReviewReplies>,
    Path(id): Path<String>,
    Json(body): Json<RejectBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, MessageId::parse, "message")?;
    let comment = body.comment.trim().to_owned();
    if comment.is_empty() || comment.len() > 2000 {
        return Err(ApiError::invalid_field(
            "comment",
            "say why, in 1 to 2000 bytes; the agent sees it",
        ));
    }
    let (message, events) = state
        .store
        .review_reply(
            id,
            Review::Reject { comment },
            caller.actor,
            state.clock.now(),
        )
        .await
        .map_err(ApiError::from_store("message"))?;
    state.bus.publish(events);
    Ok(axum::Json(message))
}

/// `GET /approvals`: replies waiting for the caller's review (all of them for an admin).
pub async fn approvals(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ReviewReplies>,
) -> Result<impl IntoResponse, ApiError> {
    let reviewer = match caller.role {
        Role::Admin => None,
        _ => caller.actor.user_id(),
    };
    let items = state.store.pending_approvals(reviewer).await?;
    Ok(axum::Json(json!({ "items": items, "next_cursor": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    team: Option<String>,
    assignee: Option<String>,
    reason: String,
}

/// `POST /cases/{id}/typing`: the agent is writing a reply; a chat visitor on the case's
/// conversation sees it, and so do the other agents' streams. Nothing is stored. 204.
pub async fn typing(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let case = state
        .store
        .case(id)
        .await
        .map_err(ApiError::from_store("case"))?
        .case;
    let _ = state.presence.send(std::sync::Arc::new(serde_json::json!({
        "kind": "typing", "from": "agent", "case_id": id,
        "conversation_id": case.conversation_id, "author": caller.actor.name(),
        "user_id": caller.actor.user_id(),
    })));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewingQuery {
    /// The page was closed: colleagues stop showing the caller at once.
    left: Option<bool>,
}

/// `POST /cases/{id}/viewing`: the caller has the case open (the workspace sends it every
/// 10 s while the page is open, and `?left=true` when it closes); the other agents' streams
/// show who else is looking. Nothing is stored. 204.
pub async fn viewing(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::Read>,
    Path(id): Path<String>,
    Query(q): Query<ViewingQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    // The case must exist: a presence moment names a real case.
    state
        .store
        .case_at(id, state.clock.now())
        .await
        .map_err(ApiError::from_store("case"))?;
    let _ = state.presence.send(std::sync::Arc::new(serde_json::json!({
        "kind": "viewing", "from": "agent", "case_id": id, "author": caller.actor.name(),
        "user_id": caller.actor.user_id(), "left": q.left.unwrap_or(false),
    })));
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /cases/{id}/transfer`: to another team and/or person, with a reason.
pub async fn transfer(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    Json(body): Json<TransferBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let team = body
        .team
        .as_deref()
        .map(|t| field("team", TeamId::parse(t)))
        .transpose()?;
    let assignee = body
        .assignee
        .as_deref()
        .map(|u| field("assignee", UserId::parse(u)))
        .transpose()?;
    if team.is_none() && assignee.is_none() {
        return Err(ApiError::invalid_field(
            "team",
            "name a team, an assignee, or both",
        ));
    }
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() || reason.len() > 2000 {
        return Err(ApiError::invalid_field(
            "reason",
            "say why, in 1 to 2000 bytes; it stays in the case's history",
        ));
    }
    let (case, events) = state
        .store
        .transfer_case(id, team, assignee, reason, caller.actor, state.clock.now())
        .await
        .map_err(|e| match e {
            switchboard_store::StoreError::Invalid(m) if m.starts_with("no team") => {
                ApiError::from(switchboard_store::StoreError::Invalid(m)).on_field("team")
            }
            e => ApiError::from_store("case")(e),
        })?;
    state.bus.publish(events);
    Ok(axum::Json(case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferBody {
    team: String,
    /// The case's purpose, when Tier 1 read it differently (e.g. `sales`).
    purpose: Option<String>,
    reason: String,
    /// Reply to the customer saying who will answer and when.
    #[serde(default)]
    tell_customer: bool,
    /// The words to tell them instead of Switchboard's own.
    text: Option<String>,
    /// Only say what would happen: nothing changes.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /cases/{id}/refer`: Tier 1 hands the case to the department that owns it, in one
/// step: purpose, team, the reason as a note, and (`tell_customer`) a reply saying who will
/// answer and by when, from the team's business hours and the SLA that applies.
pub async fn refer(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    Json(body): Json<ReferBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let team = field("team", TeamId::parse(&body.team))?;
    let purpose = body
        .purpose
        .as_deref()
        .map(|p| field("purpose", switchboard_core::Purpose::parse(p)))
        .transpose()?;
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() || reason.len() > 2000 {
        return Err(ApiError::invalid_field(
            "reason",
            "say why, in 1 to 2000 bytes; it stays in the case's history",
        ));
    }
    if body.text.is_some() && !body.tell_customer {
        return Err(ApiError::invalid_field(
            "text",
            "is what the customer is told: set tell_customer too",
        ));
    }
    let custom = body
        .text
        .map(|t| {
            message_text(TextBody { text: t }).map_err(|e| ApiError {
                field: Some("text".into()),
                ..e
            })
        })
        .transpose()?;
    let now = state.clock.now();
    let refused = |e: switchboard_store::StoreError| match e {
        switchboard_store::StoreError::Invalid(m) if m.starts_with("no team") => {
            ApiError::from(switchboard_store::StoreError::Invalid(m)).on_field("team")
        }
        switchboard_store::StoreError::Invalid(m) if m.contains("purpose") => {
            ApiError::from(switchboard_store::StoreError::Invalid(m)).on_field("purpose")
        }
        e => ApiError::from_store("case")(e),
    };
    let expectation = state
        .store
        .referral_expectation(id, team, purpose.clone(), now)
        .await
        .map_err(refused)?;
    let text = custom.unwrap_or_else(|| switchboard_core::referral::tell(&expectation, now));
    if body.dry_run {
        return Ok(axum::Json(json!({
            "expectation": expectation, "text": text, "dry_run": true,
        })));
    }
    if body.tell_customer {
        check_channel_rules(&state, id, None, false, &text, None).await?;
    }
    let done = state
        .store
        .refer_case(
            id,
            team,
            purpose,
            reason,
            body.tell_customer.then_some(text.clone()),
            caller.actor,
            now,
        )
        .await
        .map_err(refused)?;
    state.bus.publish(done.events);
    if done.told.is_some() {
        state.outbound_wake.notify_one();
    }
    Ok(axum::Json(json!({
        "case": done.case, "expectation": done.expectation, "text": text, "told": done.told,
    })))
}

pub async fn note(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    Json(body): Json<TextBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let text = message_text(body)?;
    let (message, events) = state
        .store
        .add_note(id, text, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("case"))?;
    state.bus.publish(events);
    Ok((StatusCode::CREATED, axum::Json(message)))
}
