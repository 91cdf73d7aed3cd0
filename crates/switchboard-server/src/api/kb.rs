//! The knowledge base over HTTP: articles (`/kb/articles`) and canned responses
//! (`/kb/canned`) with versions, search, JSONL import and export, and the suggestions for a
//! case (`/cases/{id}/suggestions`). Anyone signed in reads; people who work cases write.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Path, Query};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use switchboard_core::kb::{
    ArticleDraft, Context, FieldError, ImportKind, checked_document, parse_import, render,
};
use switchboard_core::{CaseId, Direction};
use switchboard_store::{KbItem, KbKind};
use switchboard_understand::retrieve::{Entry, Index, with_intent};

/// The largest import accepted.
const MAX_IMPORT: usize = 20 << 20;

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

fn entry_of(item: &KbItem) -> Entry {
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
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let item = state
        .store
        .archive_kb(item_id(&id)?, kind, caller.actor, state.clock.now())
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
pub async fn import(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    if body.len() > MAX_IMPORT {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("an import is at most {MAX_IMPORT} bytes"),
        ));
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return Err(ApiError::bad_request(
            "invalid_import",
            "the import is not UTF-8 text",
        ));
    };
    let items: Vec<(KbKind, Value)> = match parse_import(text) {
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
    let count = |k: KbKind| items.iter().filter(|(kind, _)| *kind == k).count();
    let (articles, canned) = (count(KbKind::Article), count(KbKind::Canned));
    let ids = state
        .store
        .import_kb(items, caller.actor, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"articles": articles, "canned": canned, "ids": ids})),
    ))
}

/// `GET /kb/export`: every entry that is not archived, as JSON Lines `import` reads back.
pub async fn export(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
) -> Result<Response, ApiError> {
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
/// in force (in the case's language, when known) and canned responses, with scores and the
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
    let understood = question.understanding.as_ref();
    let language = understood.and_then(|u| u.language.clone());
    let intent = understood.and_then(|u| u.intent.as_ref());
    let now = state.clock.now();

    let articles: Vec<KbItem> = state
        .store
        .kb_items(KbKind::Article, false)
        .await?
        .into_iter()
        .filter(|a| {
            let d: ArticleDraft = serde_json::from_value(a.data.clone()).unwrap_or_default();
            d.in_force(now)
                && match (&d.language, &language) {
                    (Some(l), Some(want)) => l == want,
                    _ => true,
                }
        })
        .collect();
    let index = Index::build(&articles.iter().map(entry_of).collect::<Vec<_>>());
    let mut ranked = index.search(&question.text, 10);
    if let Some(intent) = intent {
        let linked: Vec<usize> = articles
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.data["intents"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(&intent.label)))
            })
            .map(|(i, _)| i)
            .collect();
        ranked = with_intent(
            ranked,
            &linked,
            &intent.label,
            f64::from(intent.confidence),
            10,
        );
    }
    ranked.truncate(5);
    let articles_out: Vec<Value> = ranked
        .iter()
        .map(|h| {
            let a = &articles[h.entry];
            json!({"id": a.id, "title": a.data["title"], "public": a.data["public"],
                   "score": h.score, "confidence": h.confidence, "matched": h.matched,
                   "snippet": snippet(a.data["body"].as_str().unwrap_or(""), &h.terms),
                   "answer": a.data["body"]})
        })
        .collect();

    let canned: Vec<KbItem> = state.store.kb_items(KbKind::Canned, false).await?;
    let contact = state.store.contact(detail.case.contact_id).await.ok();
    let team = match detail.case.team {
        Some(t) => state.store.team(t).await.ok(),
        None => None,
    };
    let ctx = Context {
        contact_name: contact.and_then(|c| c.display_name),
        agent_name: Some(caller.actor.name()),
        team_name: team.map(|t| t.name.to_string()),
        case_id: Some(case_id.to_string()),
    };
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
