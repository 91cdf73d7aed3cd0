//! Hand-off to experts outside the contact center: agents invite, list and revoke; the expert
//! opens `/expert/<token>` (a small server-rendered page, or its JSON twin under
//! `/api/v1/expert/<token>`) and answers once.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Json, Path};
use crate::experts::{TokenError, check_token, link_url, mail, make_token, token_hash};
use crate::metrics::{Metrics, global};
use axum::extract::{Form, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use switchboard_core::{CaseId, ExpertLinkId, sla::parse_duration};
use switchboard_store::{ExpertView, LinkProblem, NewExpertLink};

const MAX_TEXT: usize = 20_000;
const DEFAULT_TTL: &str = "7d";
const MAX_TTL_MICROS: i64 = 30 * 24 * 3600 * 1_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    email: String,
    name: Option<String>,
    question: String,
    /// How long the link works: `7d` by default, at most `30d`.
    expires_in: Option<String>,
    /// When to remind a silent expert (then again as often, three times at most); default
    /// from the server's configuration (24 hours).
    remind_after: Option<String>,
}

fn duration_field(name: &str, v: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    match v {
        None => Ok(default),
        Some(s) => match parse_duration(s) {
            Ok(d) if d > 0 && d <= max => Ok(d),
            Ok(_) => Err(ApiError::invalid_field(
                name,
                "must be more than 0 and at most 30d",
            )),
            Err(e) => Err(ApiError::invalid_field(name, e.0)),
        },
    }
}

/// An e-mail address as people type them: one `@`, no spaces, a dot in the domain.
fn email(s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    let ok = s.len() <= 254
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        });
    if ok {
        Ok(s.to_owned())
    } else {
        Err(ApiError::invalid_field("email", "is not an e-mail address"))
    }
}

/// `POST /cases/{id}/experts`: invite an expert; the answer carries the link once.
pub async fn invite(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    Json(body): Json<InviteBody>,
) -> Result<impl IntoResponse, ApiError> {
    let case = ApiError::path_id(&id, CaseId::parse, "case")?;
    let email = email(&body.email)?;
    let question = body.question.trim().to_owned();
    if question.is_empty() || question.len() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            "question",
            format!("ask in 1 to {MAX_TEXT} bytes"),
        ));
    }
    let name = match body.name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(
            switchboard_core::Name::parse(n)
                .map_err(|e| ApiError::invalid_field("name", e.0))?
                .as_str()
                .to_owned(),
        ),
    };
    let default_ttl = parse_duration(DEFAULT_TTL).unwrap_or(MAX_TTL_MICROS);
    let ttl = duration_field(
        "expires_in",
        body.expires_in.as_deref(),
        default_ttl,
        MAX_TTL_MICROS,
    )?;
    let remind = duration_field(
        "remind_after",
        body.remind_after.as_deref(),
        state.config.expert_remind_after_micros,
        MAX_TTL_MICROS,
    )?;
    let now = state.clock.now();
    let link_id = ExpertLinkId::new_at(now);
    let expires_at = now.plus_micros(ttl);
    let token = make_token(&state.secrets, link_id, expires_at);
    let sealed = state
        .secrets
        .seal(&crate::crypto::Secret::new(token.clone().into_bytes()));
    let new = NewExpertLink {
        id: link_id,
        case_id: case,
        email,
        name,
        question,
        token_hash: token_hash(&token),
        token_sealed: sealed,
        expires_at,
        remind_at: Some(now.plus_micros(remind)).filter(|t| *t < expires_at),
    };
    let (link, events) = state
        .store
        .invite_expert(new, caller.actor, now)
        .await
        .map_err(ApiError::from_store("case"))?;
    state.bus.publish(events);
    Metrics::count(&global().expert_events, "sent", 1);
    let url = link_url(&state, &token);
    let mailed = mail(&state, &link, &url, false).await;
    let mail_error = mailed.clone().err();
    state
        .store
        .record_expert_mail(link.id, mail_error.clone(), state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "link": link,
            "url": url,
            "mailed": mailed.is_ok(),
            "mail_error": mail_error,
        })),
    ))
}

/// `GET /cases/{id}/experts`: the case's invitations.
pub async fn list(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let case = ApiError::path_id(&id, CaseId::parse, "case")?;
    let (items, spent) = state
        .store
        .expert_links(case, state.clock.now())
        .await
        .map_err(ApiError::from_store("case"))?;
    Ok(axum::Json(json!({
        "items": items,
        "next_cursor": null,
        "time_with_experts_seconds": spent / 1_000_000,
    })))
}

/// `POST /cases/{id}/experts/{link}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path((id, link)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let case = ApiError::path_id(&id, CaseId::parse, "case")?;
    let link = ApiError::path_id(&link, ExpertLinkId::parse, "expert link")?;
    let (link, events) = state
        .store
        .revoke_expert_link(case, link, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("expert link"))?;
    state.bus.publish(events);
    Metrics::count(&global().expert_events, "revoked", 1);
    Ok(axum::Json(link))
}

// ----- the expert's side ---------------------------------------------------------------------

fn link_error(kind: &str) -> ApiError {
    let (status, code, detail) = match kind {
        "tampered" => (
            StatusCode::FORBIDDEN,
            "invalid_link",
            "this link is not valid: it was changed or cut short; use the link exactly as it was sent",
        ),
        "expired" => (
            StatusCode::GONE,
            "link_expired",
            "this link has expired; ask the person who sent it for a new one",
        ),
        "revoked" => (
            StatusCode::GONE,
            "link_revoked",
            "this link was withdrawn by the person who sent it",
        ),
        "answered" => (
            StatusCode::GONE,
            "link_used",
            "this link was used already: the answer was received, thank you",
        ),
        _ => (StatusCode::NOT_FOUND, "not_found", "no such link"),
    };
    ApiError::new(status, code, detail)
}

/// The token's signature and expiry, checked before anything is read.
fn signed(state: &AppState, token: &str) -> Result<(), ApiError> {
    check_token(&state.secrets, token, state.clock.now()).map_err(|e| {
        link_error(match e {
            TokenError::Tampered => "tampered",
            TokenError::Expired => "expired",
        })
    })?;
    Ok(())
}

async fn view(state: &AppState, token: &str) -> Result<ExpertView, ApiError> {
    signed(state, token)?;
    match state
        .store
        .expert_view(token_hash(token), state.clock.now())
        .await?
    {
        Ok(v) => Ok(v),
        Err(p) => Err(problem(p)),
    }
}

fn problem(p: LinkProblem) -> ApiError {
    link_error(match p {
        LinkProblem::Unknown => "unknown",
        LinkProblem::Expired => "expired",
        LinkProblem::Revoked => "revoked",
        LinkProblem::Answered => "answered",
    })
}

fn view_json(v: &ExpertView) -> serde_json::Value {
    json!({
        "question": v.link.question,
        "name": v.link.name,
        "expires_at": v.link.expires_at,
        "purpose": v.purpose,
        "channel_kind": v.channel_kind,
        "public": v.public,
        "messages": v.messages,
    })
}

async fn answer(
    state: &AppState,
    token: &str,
    text: &str,
    suggested: bool,
) -> Result<(), ApiError> {
    // The store checks revoked, used and expired in the transaction that takes the answer.
    signed(state, token)?;
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            "text",
            format!("write 1 to {MAX_TEXT} bytes"),
        ));
    }
    match state
        .store
        .expert_answer(
            token_hash(token),
            text.to_owned(),
            suggested,
            state.clock.now(),
        )
        .await?
    {
        Ok((_, events)) => {
            state.bus.publish(events);
            Metrics::count(&global().expert_events, "answered", 1);
            Ok(())
        }
        Err(p) => Err(problem(p)),
    }
}

/// Headers for everything an expert sees: the token is in the URL, so no referrer leaves the
/// page, nothing is cached, and the page runs no script.
fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    );
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    text: String,
    /// `true`: a reply for the agent to send; `false` (default): an internal note.
    #[serde(default)]
    suggested_reply: bool,
}

/// `GET /api/v1/expert/{token}`.
pub async fn api_view(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    private(match view(&state, &token).await {
        Ok(v) => axum::Json(view_json(&v)).into_response(),
        Err(e) => e.into_response(),
    })
}

/// `POST /api/v1/expert/{token}/answer`.
pub async fn api_answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(body): Json<AnswerBody>,
) -> Response {
    private(
        match answer(&state, &token, &body.text, body.suggested_reply).await {
            Ok(()) => (StatusCode::CREATED, axum::Json(json!({"received": true}))).into_response(),
            Err(e) => e.into_response(),
        },
    )
}

#[derive(Deserialize)]
pub struct AnswerForm {
    text: String,
    kind: Option<String>,
}

/// `GET /expert/{token}`: the page.
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    private(match view(&state, &token).await {
        Ok(v) => Html(crate::expert_page::render(&v, None)).into_response(),
        Err(e) => (e.status, Html(crate::expert_page::message(&e.detail))).into_response(),
    })
}

/// `POST /expert/{token}`: the page's form.
pub async fn page_answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Response {
    let suggested = form.kind.as_deref() == Some("reply");
    private(match answer(&state, &token, &form.text, suggested).await {
        Ok(()) => Html(crate::expert_page::message(
            "Thank you: your answer was received and the team has been told.",
        ))
        .into_response(),
        Err(e) if e.status == StatusCode::BAD_REQUEST => match view(&state, &token).await {
            Ok(v) => (
                e.status,
                Html(crate::expert_page::render(&v, Some(&e.detail))),
            )
                .into_response(),
            Err(e) => (e.status, Html(crate::expert_page::message(&e.detail))).into_response(),
        },
        Err(e) => (e.status, Html(crate::expert_page::message(&e.detail))).into_response(),
    })
}
