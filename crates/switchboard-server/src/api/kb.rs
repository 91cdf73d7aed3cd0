//! The knowledge base over HTTP: articles (`/kb/articles`) and canned responses
//! (`/kb/canned`) with versions, search, JSONL import and export, and the suggestions for a
//! case (`/cases/{id}/suggestions`). Anyone signed in reads; people who work cases write.

use crate::AppState;
use crate::answers::{Audience, Ranked, context_for, linked_to, rank_articles};
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Path, Query};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use switchboard_core::kb::{FieldError, ImportKind, checked_document, parse_import, render};
use switchboard_core::{CaseId, Direction};
use switchboard_store::{KbItem, KbKind, Question};
use switchboard_understand::examples::{Format, JSON_ARRAY, opens_with};
use switchboard_understand::retrieve::{Entry, Index, with_intent};

/// The largest import accepted (the route's body limit too).
pub const MAX_IMPORT: usize = 20 << 20;

fn kind_of(segment: &str) -> Result<KbKind, ApiError> {
    match segment {
        "articles" => Ok(KbKind::Article),
        "canned" => Ok(KbKind::Canned),
        _ => Err(ApiError::not_found("route")),
    }
}

fn import_kind(kind: KbKind) -> ImportKind {
    match kind {
        KbKind::Article => ImportKind::Article,
        KbKind::Canned => ImportKind::Canned,
    }
}

/// A document checked as its kind, as stored.
fn checked(kind: KbKind, v: Value) -> Result<Value, FieldError> {
    checked_document(import_kind(kind), v)
}

fn field_error(e: FieldError) -> ApiError {
    ApiError::invalid_field(&e.field, e.message)
}

/// An entry as the API shows it: its document's fields, with id, version and times.
fn shown(item: &KbItem) -> Value {
    let mut out = match &item.data {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    out.insert("id".into(), json!(item.id));
    out.insert("version".into(), json!(item.version));
    out.insert("created_at".into(), json!(item.created_at));
    out.insert("updated_at".into(), json!(item.updated_at));
    if let Some(a) = item.archived_at {
        out.insert("archived_at".into(), json!(a));
    }
    Value::Object(out)
}

/// What retrieval indexes of an entry (the API, suggestions, gaps and `switchboard kb search`
/// all rank the same way).
pub fn entry_of(item: &KbItem) -> Entry {
    let s = |k: &str| item.data[k].as_str().unwrap_or("").to_owned();
    let list = |k: &str| -> Vec<String> {
        item.data[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    match item.kind {
        KbKind::Article => Entry {
            title: s("title"),
            questions: [list("questions"), list("tags")].concat(),
            body: s("body"),
        },
        KbKind::Canned => Entry {
            title: s("name").replace(['-', '_', '/'], " "),
            questions: list("tags"),
            body: s("text"),
        },
    }
}

/// The first sentence of `text` with most of the matched `terms` (stems): a snippet to show
/// under a hit.
fn snippet(text: &str, terms: &[String]) -> String {
    let mut best = ("", 0usize);
    for sentence in text
        .split_inclusive(['.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let have = switchboard_understand::retrieve::terms(sentence);
        let n = terms.iter().filter(|t| have.contains(t)).count();
        if best.0.is_empty() || n > best.1 {
            best = (sentence, n);
        }
    }
    let best = best.0;
    let cut: String = best.chars().take(240).collect();
    if cut.len() < best.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    archived: Option<bool>,
    limit: Option<usize>,
}

/// `GET /kb/{articles|canned}`: all of them, or with `q` the best matches, ranked.
pub async fn list(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(kind): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let items = state
        .store
        .kb_items(kind, q.archived.unwrap_or(false))
        .await?;
    let limit = q.limit.unwrap_or(20).clamp(1, 200);
    let Some(query) = q.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(axum::Json(
            json!({"items": items.iter().map(shown).collect::<Vec<_>>()}),
        ));
    };
    if query.chars().count() > 1000 {
        return Err(ApiError::invalid_field("q", "is at most 1000 characters"));
    }
    let index = Index::build(&items.iter().map(entry_of).collect::<Vec<_>>());
    let hits: Vec<Value> = index
        .search(query, limit)
        .into_iter()
        .map(|h| {
            let item = &items[h.entry];
            let body = entry_of(item).body;
            json!({"item": shown(item), "score": h.score, "confidence": h.confidence,
                   "matched": h.matched, "snippet": snippet(&body, &h.terms)})
        })
        .collect();
    Ok(axum::Json(json!({"items": hits})))
}

/// `POST /kb/{articles|canned}`.
pub async fn create(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(kind): Path<String>,
    crate::error::Json(body): crate::error::Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let data = checked(kind, body).map_err(field_error)?;
    let item = state
        .store
        .create_kb(kind, data, caller.actor, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(shown(&item))))
}

/// `GET /kb/{kind}/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let item = state
        .store
        .kb_item(item_id(&id)?, kind)
        .await
        .map_err(ApiError::from_store("entry"))?;
    Ok(axum::Json(shown(&item)))
}

fn item_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("entry"))
}

/// `PUT /kb/{kind}/{id}`: the whole document again; with `"version"`, only if nobody saved
/// another version in between (else 409).
pub async fn replace(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path((kind, id)): Path<(String, String)>,
    crate::error::Json(body): crate::error::Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let id = item_id(&id)?;
    let mut body = body;
    let expected = match body.as_object_mut().and_then(|o| o.remove("version")) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(_) => return Err(ApiError::invalid_field("version", "must be a whole number")),
    };
    let data = checked(kind, body).map_err(field_error)?;
    let item = state
        .store
        .update_kb(id, kind, data, expected, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("entry"))?;
    Ok(axum::Json(shown(&item)))
}

/// `DELETE /kb/{kind}/{id}`: archived (kept with its history, no longer suggested).
pub async fn archive(
    state: State<AppState>,
    caller: Allowed<need::WorkCases>,
    path: Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    set_archived(state, caller, path, true).await
}

/// `POST /kb/{kind}/{id}/restore`: an archived entry back, as it was.
pub async fn restore(
    state: State<AppState>,
    caller: Allowed<need::WorkCases>,
    path: Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    set_archived(state, caller, path, false).await
}

async fn set_archived(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path((kind, id)): Path<(String, String)>,
    archived: bool,
) -> Result<axum::Json<Value>, ApiError> {
    let kind = kind_of(&kind)?;
    let item = state
        .store
        .set_kb_archived(
            item_id(&id)?,
            kind,
            archived,
            caller.actor,
            state.clock.now(),
        )
        .await
        .map_err(ApiError::from_store("entry"))?;
    Ok(axum::Json(shown(&item)))
}

/// `GET /kb/{kind}/{id}/revisions`: every version, newest first.
pub async fn revisions(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let list = state
        .store
        .kb_revisions(item_id(&id)?, kind)
        .await
        .map_err(ApiError::from_store("entry"))?;
    Ok(axum::Json(json!({"items": list})))
}

/// `POST /kb/import`: JSON Lines, one entry a line, `{"type": "article"|"canned", …}`. Every
/// line is checked first; any bad line refuses the whole import (400 `invalid_import`, each
/// problem with its line number) and nothing is stored.
#[derive(serde::Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

/// `jsonl` or `csv`, from `?format=`, else the request's content type (`text/csv`, or a JSON
/// Lines one), else the file's first line (JSON Lines when it opens with `{`, else CSV).
fn format_of(
    q: &FormatQuery,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<&'static str, ApiError> {
    match q.format.as_deref() {
        Some("csv") => Ok("csv"),
        Some("jsonl") => Ok("jsonl"),
        Some(_) => Err(ApiError::invalid_field("format", "must be jsonl or csv")),
        None => {
            let kind = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            Ok(if kind.starts_with("text/csv") {
                "csv"
            } else if kind.contains("ndjson")
                || kind.contains("jsonl")
                || kind.contains("json-lines")
                || Format::of_content(body) == Format::Jsonl
            {
                "jsonl"
            } else {
                "csv"
            })
        }
    }
}

pub async fn import(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Query(q): Query<FormatQuery>,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "an import is at most {} MB ({MAX_IMPORT} bytes)",
                MAX_IMPORT >> 20
            ),
        )
    };
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::new(e.status(), "invalid_body", e.body_text())
        }
    })?;
    let format = format_of(&q, &headers, &body)?;
    if opens_with(&body, b'[') {
        return Err(ApiError::bad_request("invalid_import", JSON_ARRAY));
    }
    let text = switchboard_understand::examples::utf8_text(Vec::from(body))
        .map_err(|e| ApiError::bad_request("invalid_import", format!("the import: {e}")))?;
    let parsed = if format == "csv" {
        switchboard_core::kb_csv::parse_csv(&text)
    } else {
        parse_import(&text)
    };
    let items: Vec<(KbKind, Value)> = match parsed {
        Ok(items) => items
            .into_iter()
            .map(|(kind, data)| {
                let kind = match kind {
                    ImportKind::Article => KbKind::Article,
                    ImportKind::Canned => KbKind::Canned,
                };
                (kind, data)
            })
            .collect(),
        Err(errors) => {
            let mut e = ApiError::bad_request(
                "invalid_import",
                format!(
                    "{} line(s) are not valid; nothing was imported",
                    errors.len()
                ),
            );
            e.errors = Some(serde_json::to_value(errors).map_err(ApiError::internal)?);
            return Err(e);
        }
    };
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_import",
            "the import has no entries",
        ));
    }
    // An entry already there word for word (an export imported again) is not added twice.
    let (items, skipped) = state.store.without_stored_kb(items).await?;
    let count = |k: KbKind| items.iter().filter(|(kind, _)| *kind == k).count();
    let (articles, canned) = (count(KbKind::Article), count(KbKind::Canned));
    if items.is_empty() {
        return Ok((
            StatusCode::OK,
            axum::Json(json!({"articles": 0, "canned": 0, "skipped": skipped, "ids": []})),
        )
            .into_response());
    }
    let ids = state
        .store
        .import_kb(items, caller.actor, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"articles": articles, "canned": canned, "skipped": skipped, "ids": ids})),
    )
        .into_response())
}

/// `GET /kb/export`: every entry that is not archived, as JSON Lines `import` reads back.
pub async fn export(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    if q.format.as_deref() == Some("csv") {
        let mut all = Vec::new();
        for kind in [KbKind::Article, KbKind::Canned] {
            all.extend(state.store.kb_items(kind, false).await?);
        }
        let rows: Vec<(ImportKind, &Value)> =
            all.iter().map(|i| (import_kind(i.kind), &i.data)).collect();
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            switchboard_core::kb_csv::to_csv(&rows),
        )
            .into_response());
    }
    format_of(&q, &axum::http::HeaderMap::new(), b"")?;
    let mut out = String::new();
    for kind in [KbKind::Article, KbKind::Canned] {
        for item in state.store.kb_items(kind, false).await? {
            let mut v = shown(&item);
            if let Some(o) = v.as_object_mut() {
                o.insert("type".into(), json!(kind.as_str()));
            }
            out.push_str(&v.to_string());
            out.push('\n');
        }
    }
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8")],
        out,
    )
        .into_response())
}

/// `GET /cases/{id}/suggestions`: for the case's latest customer message, the best articles
/// in force and canned responses (both in the case's language, when known), with scores and the
/// words that matched; canned responses filled in for this case. An article linked to the
/// intent the message was understood as ranks with at least that intent's confidence.
pub async fn suggestions(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let case_id = ApiError::path_id(&id, CaseId::parse, "case")?;
    let detail = state
        .store
        .case(case_id)
        .await
        .map_err(ApiError::from_store("case"))?;
    let Some(question) = detail
        .messages
        .iter()
        .rev()
        .find(|m| m.direction == Direction::Inbound)
    else {
        return Ok(axum::Json(
            json!({"query": null, "articles": [], "canned": []}),
        ));
    };
    let Ranked { articles, hits } = rank_articles(
        &state,
        &question.text,
        question.understanding.as_ref(),
        Audience::Agent,
        5,
    )
    .await?;
    let articles_out: Vec<Value> = hits
        .iter()
        .map(|h| {
            let a = &articles[h.entry];
            json!({"id": a.id, "title": a.data["title"], "public": a.data["public"],
                   "score": h.score, "confidence": h.confidence, "matched": h.matched,
                   "snippet": snippet(a.data["body"].as_str().unwrap_or(""), &h.terms),
                   "answer": a.data["body"]})
        })
        .collect();

    // Canned responses in the question's language, or in none said, as articles are.
    let language = question
        .understanding
        .as_ref()
        .and_then(|u| u.language.clone());
    let canned: Vec<KbItem> = state
        .store
        .kb_items(KbKind::Canned, false)
        .await?
        .into_iter()
        .filter(|c| match (c.data["language"].as_str(), &language) {
            (Some(l), Some(want)) => switchboard_core::language::same(l, want),
            _ => true,
        })
        .collect();
    let ctx = context_for(&state, &detail.case, Some(caller.actor.name())).await;
    let cindex = Index::build(&canned.iter().map(entry_of).collect::<Vec<_>>());
    let canned_out: Vec<Value> = cindex
        .search(&question.text, 5)
        .into_iter()
        .map(|h| {
            let c = &canned[h.entry];
            json!({"id": c.id, "name": c.data["name"], "score": h.score, "confidence": h.confidence,
                   "matched": h.matched, "text": render(c.data["text"].as_str().unwrap_or(""), &ctx)})
        })
        .collect();
    Ok(axum::Json(json!({
        "query": question.text, "message_id": question.id,
        "articles": articles_out, "canned": canned_out,
    })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    /// `article` or `canned`.
    #[serde(rename = "as")]
    as_kind: String,
    title: Option<String>,
    name: Option<String>,
    public: Option<bool>,
}

/// The first `max` characters of `s`, on a word boundary when there is one.
fn shortened(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max).collect();
    match cut.rfind(' ') {
        Some(i) if i > max / 2 => cut[..i].to_owned(),
        _ => cut,
    }
}

/// `POST /messages/{id}/promote`: an agent's answer becomes an article (the question it
/// answered as its first phrasing, the case's purpose, team and the question's intent) or a
/// canned response, in one step. The entry is then edited like any other.
/// The customer's question an answer answers: of the customer's messages since the reply
/// before it (up to the one it replied to, when it names one, which is their latest), the
/// last that asks (a `?`), else the longest ("Do students get a discount?", not the "thx!"
/// after it).
fn question_answered<'a>(
    messages: &'a [switchboard_store::Message],
    answer: &switchboard_store::Message,
) -> Option<&'a switchboard_store::Message> {
    let until = answer
        .in_reply_to
        .and_then(|q| messages.iter().find(|m| m.id == q))
        .map_or(answer.created_at, |q| q.created_at);
    let before: Vec<_> = messages
        .iter()
        .filter(|m| m.created_at <= until && m.id != answer.id)
        .collect();
    let since = before
        .iter()
        .rposition(|m| m.direction == Direction::Outbound)
        .map_or(0, |i| i + 1);
    let asked: Vec<_> = before[since..]
        .iter()
        .copied()
        .filter(|m| m.direction == Direction::Inbound && !m.text.trim().is_empty())
        .collect();
    asked
        .iter()
        .rev()
        .find(|m| m.text.contains('?'))
        .or_else(|| {
            asked
                .iter()
                .rev()
                .max_by_key(|m| m.text.split_whitespace().count())
        })
        .copied()
        // None since the last reply: the customer's last message before it, as before.
        .or_else(|| {
            before
                .iter()
                .rev()
                .find(|m| m.direction == Direction::Inbound)
                .copied()
        })
}

pub async fn promote(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    crate::error::Json(p): crate::error::Json<Promote>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, switchboard_core::MessageId::parse, "message")?;
    let answer = state
        .store
        .message(id)
        .await
        .map_err(ApiError::from_store("message"))?;
    if answer.direction != Direction::Outbound {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rule_violated",
            "only a reply to a customer can be promoted",
        ));
    }
    let detail = state.store.case(answer.case_id).await?;
    let question = question_answered(&detail.messages, &answer);
    let (kind, doc) = match p.as_kind.as_str() {
        "article" => {
            // Articles may be public: the customer's card and id numbers stay out.
            let question_text = question
                .map(|q| switchboard_core::guard::hide_card_and_id_numbers(&q.text))
                .unwrap_or_default();
            let title = p
                .title
                .clone()
                .unwrap_or_else(|| shortened(&question_text, 200));
            let intents: Vec<String> = question
                .and_then(|q| q.understanding.as_ref())
                .and_then(|u| u.intent.as_ref())
                .filter(|i| i.label != "unknown")
                .map(|i| vec![i.label.clone()])
                .unwrap_or_default();
            (
                KbKind::Article,
                json!({"title": title, "body": answer.text, "public": p.public.unwrap_or(true),
                       "purpose": detail.case.purpose.as_str(), "team_id": detail.case.team,
                       "questions": if question_text.trim().is_empty() { vec![] } else { vec![shortened(&question_text, 300)] },
                       "intents": intents}),
            )
        }
        "canned" => {
            // The case page's one box is a title; for a canned response it is the name.
            let name = p
                .name
                .clone()
                .or_else(|| p.title.clone())
                .unwrap_or_else(|| shortened(&answer.text, 60));
            (
                KbKind::Canned,
                json!({"name": name, "text": answer.text, "team_id": detail.case.team}),
            )
        }
        _ => return Err(ApiError::invalid_field("as", "must be article or canned")),
    };
    let data = checked(kind, doc).map_err(field_error)?;
    let item = state
        .store
        .create_kb(kind, data, caller.actor, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(shown(&item))))
}

#[derive(serde::Deserialize)]
pub struct GapsQuery {
    days: Option<i64>,
    purpose: Option<String>,
    min_confidence: Option<f64>,
}

/// One gap: how many questions, up to three of them, the closest article (its position and
/// confidence), and the language of the first.
type Gap = (usize, Vec<String>, Option<(usize, f64)>, Option<String>);

/// Below this an article does not answer a question well enough for the gaps report: the
/// demo's automatic-answer threshold, where no answer was wrong (docs/PERFORMANCE.md).
pub const GAP_FLOOR: f64 = 0.35;

/// The intent probability from which an intent's linked articles count as answering a
/// question in the gaps report.
const INTENT_FLOOR: f32 = 0.5;

/// The most questions read for a gaps report.
const GAP_WINDOW: i64 = 5_000;

/// `GET /kb/gaps`: customer questions of the last `days` (default 30; on `purpose` cases,
/// default `tier1`) that no article answers with at least `min_confidence` (default 0.35, the
/// demo's automatic-answer threshold),
/// grouped by intent (or by their main words), most frequent first, with examples and the
/// closest article.
pub async fn gaps(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Query(q): Query<GapsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::invalid_field("days", "must be 1 to 365"));
    }
    let floor = q.min_confidence.unwrap_or(GAP_FLOOR);
    if !(0.0..=1.0).contains(&floor) {
        return Err(ApiError::invalid_field("min_confidence", "must be 0 to 1"));
    }
    let purpose = match q.purpose.as_deref() {
        None => Some("tier1".to_owned()),
        Some("any") => None,
        Some(p) => Some(p.to_owned()),
    };
    Ok(axum::Json(gap_report(&state, days, purpose, floor).await?))
}

/// The knowledge gaps of the last `days` on `purpose` cases (all: `None`), as
/// `GET /kb/gaps` answers them (the knowledge page shows the same).
pub async fn gap_report(
    state: &AppState,
    days: i64,
    purpose: Option<String>,
    floor: f64,
) -> Result<Value, ApiError> {
    let now = state.clock.now();
    let since = switchboard_core::Timestamp::from_unix_micros(
        now.as_unix_micros() - days * 86_400 * 1_000_000,
    );
    let mut questions = state
        .store
        .questions_since(purpose, since, GAP_WINDOW)
        .await?;
    // "@LakesideCollege which bus…" asks what "which bus…" asks: handles the post opens with
    // are the address, not the question.
    for q in &mut questions {
        q.text = without_leading_handles(&q.text).to_owned();
    }
    // Thanks and greetings ("thx!", "hi there") ask nothing, nor does a follow-up such as
    // "still confused, this didn't help": a message counts when it asks (a `?`), or when it
    // opens its case and carries two words or more that retrieval reads.
    questions.retain(|q| {
        q.text.contains('?')
            || (q.opens_case && switchboard_understand::retrieve::terms(&q.text).len() >= 2)
    });
    let articles: Vec<KbItem> = state.store.kb_items(KbKind::Article, false).await?;
    let asked = questions.len();
    // Thousands of searches: CPU work, off the async threads.
    let list = tokio::task::spawn_blocking(move || gaps_of(&questions, &articles, floor))
        .await
        .map_err(|e| ApiError::internal(format!("knowledge gaps: {e}")))?;
    Ok(json!({
        "questions": asked, "days": days, "min_confidence": floor, "gaps": list,
    }))
}

/// The questions no article answers with at least `floor`, grouped by intent (or by their
/// main words), most frequent first, with up to three examples and the closest article.
fn gaps_of(questions: &[Question], articles: &[KbItem], floor: f64) -> Vec<Value> {
    let mut groups: std::collections::BTreeMap<String, Gap> = std::collections::BTreeMap::new();
    // An article in another language answers no one: a Portuguese question stays a gap until
    // an article in Portuguese (or in none said) answers it. Each language's questions are
    // matched against an index of the articles that fit it, as automatic answers are (so the
    // words' rarity and the runner-up are the same as there).
    let fits = |i: usize, language: &Option<String>| match (
        articles[i].data["language"].as_str(),
        language,
    ) {
        (Some(l), Some(want)) => switchboard_core::language::same(l, want),
        _ => true,
    };
    let mut indexes: std::collections::HashMap<Option<String>, (Index, Vec<usize>)> =
        std::collections::HashMap::new();
    // One question asked both with an intent and without one (before an intent model was
    // in force) is one gap: the askings without take the intent of the same words.
    // (Its words must say something: a question of stop words alone borrows nothing.)
    let words_of = |text: &str| switchboard_understand::retrieve::terms(text).join(" ");
    let mut intent_of_words: std::collections::HashMap<String, (&str, f32)> =
        std::collections::HashMap::new();
    for q in questions {
        if let Some((label, c)) = q.intent.as_ref().filter(|(l, _)| l != "unknown") {
            let words = words_of(&q.text);
            if words.is_empty() {
                continue;
            }
            let kept = intent_of_words.entry(words).or_insert((label, *c));
            if *c > kept.1 {
                *kept = (label, *c);
            }
        }
    }
    for question in questions {
        // Its own intent, or the one the same words were understood as.
        let intent: Option<(&str, f32)> = match &question.intent {
            Some((label, c)) if label != "unknown" => Some((label.as_str(), *c)),
            _ => intent_of_words.get(&words_of(&question.text)).copied(),
        };
        let (index, positions) = indexes.entry(question.language.clone()).or_insert_with(|| {
            let positions: Vec<usize> = (0..articles.len())
                .filter(|&i| fits(i, &question.language))
                .collect();
            let entries: Vec<_> = positions.iter().map(|&i| entry_of(&articles[i])).collect();
            (Index::build(&entries), positions)
        });
        let mut hits = index.search(&question.text, 3);
        // An intent model's guess links its articles only when it is fairly sure: its
        // probabilities are on another scale than the words' share covered.
        if let Some((label, confidence)) = intent.filter(|(_, c)| *c >= INTENT_FLOOR) {
            let linked: Vec<usize> = linked_to(articles, label)
                .into_iter()
                .filter_map(|i| positions.iter().position(|&p| p == i))
                .collect();
            hits = with_intent(hits, &linked, label, f64::from(confidence), 3);
        }
        // Back from the language's index to the article list.
        for h in &mut hits {
            h.entry = positions[h.entry];
        }
        let best = hits.first().map(|h| (h.entry, h.confidence));
        if best.is_some_and(|(_, c)| c >= floor) {
            continue;
        }
        let key = match intent {
            Some((label, _)) => format!("intent:{label}"),
            None => {
                let mut words = switchboard_understand::retrieve::terms(&question.text);
                words.truncate(4);
                format!("words:{}", words.join(" "))
            }
        };
        let g = groups
            .entry(key)
            .or_insert((0, Vec::new(), None, question.language.clone()));
        g.0 += 1;
        // Shown to writers and copied into articles that may be public: no card or id numbers.
        let shown = switchboard_core::guard::hide_card_and_id_numbers(&question.text);
        if g.1.len() < 3 && !g.1.contains(&shown) {
            g.1.push(shown);
        }
        if let Some((entry, c)) = best
            && g.2.is_none_or(|(_, old)| c > old)
        {
            g.2 = Some((entry, c));
        }
    }
    let mut list: Vec<Value> = groups
        .into_iter()
        .map(|(key, (count, examples, closest, language))| {
            json!({"key": key, "count": count, "examples": examples, "language": language,
                   "closest": closest.map(|(i, c)| json!({"id": articles[i].id, "title": articles[i].data["title"], "confidence": c}))})
        })
        .collect();
    list.sort_by(|a, b| b["count"].as_u64().cmp(&a["count"].as_u64()));
    list
}

/// The text after the `@handles` it starts with.
fn without_leading_handles(text: &str) -> &str {
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix('@') {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        rest = after[end..].trim_start();
    }
    if rest.is_empty() { text } else { rest }
}

#[derive(serde::Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    channel: Option<String>,
    team: Option<String>,
    purpose: Option<String>,
    direction: Option<String>,
    sentiment: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
}

/// `GET /search?q=…`: every conversation's messages, best first (words must all match,
/// `"phrases"`, `-excluded`), with filters, and a snippet with its matches as character
/// ranges. A query without words is 400 `invalid_query`; odd characters are only text. When
/// nothing matches and some words are in no stored message (typos), they are corrected to
/// the closest stored words and the search runs again: `corrected_query` says so.
pub async fn search(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Query(q): Query<SearchQuery>,
) -> Result<impl IntoResponse, ApiError> {
    use switchboard_core::search::{Query as Parsed, highlights};
    let text = q.q.as_deref().unwrap_or("");
    let parsed =
        Parsed::parse(text).map_err(|m| ApiError::bad_request("invalid_query", m).on_field("q"))?;
    let time = |name: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| {
                switchboard_core::Timestamp::parse_rfc3339(s)
                    .map_err(|_| ApiError::invalid_field(name, "must be an RFC 3339 time"))
            })
            .transpose()
    };
    let filter = switchboard_store::SearchFilter {
        channel: q
            .channel
            .as_deref()
            .map(|c| {
                switchboard_core::ChannelId::parse(c)
                    .map_err(|_| ApiError::invalid_field("channel", "must be a channel id"))
            })
            .transpose()?,
        team: q
            .team
            .as_deref()
            .map(|t| {
                switchboard_core::TeamId::parse(t)
                    .map_err(|_| ApiError::invalid_field("team", "must be a team id"))
            })
            .transpose()?,
        purpose: q.purpose.clone(),
        direction: q
            .direction
            .as_deref()
            .map(|d| {
                Direction::parse(d).map_err(|_| {
                    ApiError::invalid_field("direction", "must be inbound, outbound or note")
                })
            })
            .transpose()?,
        sentiment: match q.sentiment.as_deref() {
            None => None,
            Some(s @ ("negative" | "neutral" | "positive")) => Some(s.to_owned()),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "sentiment",
                    "must be negative, neutral or positive",
                ));
            }
        },
        from: time("from", &q.from)?,
        to: time("to", &q.to)?,
    };
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be 1 to 100"));
    }
    let mut found = state
        .store
        .search_messages(parsed.clone(), filter.clone(), limit)
        .await?;
    let mut corrected = None;
    if found.is_empty()
        && let Some(fixed) = state.store.correct_query(&parsed).await?
    {
        found = state
            .store
            .search_messages(fixed.clone(), filter, limit)
            .await?;
        corrected = Some(fixed.to_string());
    }
    let items: Vec<Value> = found
        .into_iter()
        .map(|f| {
            let (snippet, ranges) = highlights(&f.snippet);
            json!({"message": f.message, "snippet": snippet, "highlights": ranges})
        })
        .collect();
    let mut out = json!({"items": items});
    if let Some(c) = corrected {
        out["corrected_query"] = json!(c);
    }
    Ok(axum::Json(out))
}
