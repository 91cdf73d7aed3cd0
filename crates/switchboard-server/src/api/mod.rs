//! The HTTP API under `/api/v1`, plus `/healthz`, `/metrics` and the webhooks. Every route
//! authenticates with [`Caller`](crate::auth::Caller) and checks its permission first.

pub(crate) mod cases;
mod contacts;
mod directory;
mod experts;
pub mod kb;
mod merge;
pub mod models;
mod notifications;
mod notify;
mod playbook;
mod purposes;
pub mod reports;
mod session;
mod stream;
mod understand;
mod users;

pub use playbook::parse_since;

use crate::AppState;
use crate::error::ApiError;
use crate::metrics::global;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use tower_http::trace::TraceLayer;

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `?limit=&cursor=` on every list that comes a page at a time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=200).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::invalid_field(
                "limit",
                "must be between 1 and 200",
            )),
        }
    }
    pub fn cursor<T>(
        &self,
        parse: impl Fn(&str) -> Result<T, switchboard_core::ParseError>,
    ) -> Result<Option<T>, ApiError> {
        self.cursor
            .as_deref()
            .map(|c| {
                parse(c).map_err(|_| {
                    ApiError::invalid_field("cursor", "is not a cursor this list returned")
                })
            })
            .transpose()
    }
}

pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] with more routes beside the API: the browser workspace's pages.
pub fn router_with(state: AppState, pages: Router<AppState>) -> Router {
    let api = Router::new()
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/cases", get(cases::list))
        .route("/cases/{id}", get(cases::get_one).patch(cases::update))
        .route("/cases/{id}/replies", post(cases::reply))
        .route("/cases/{id}/notes", post(cases::note))
        .route("/cases/{id}/transfer", post(cases::transfer))
        .route("/cases/{id}/refer", post(cases::refer))
        .route("/cases/{id}/typing", post(cases::typing))
        .route("/cases/{id}/viewing", post(cases::viewing))
        .route("/cases/{id}/merge", post(merge::merge))
        .route("/cases/{id}/split", post(merge::split))
        .route("/messages/{id}/approve", post(cases::approve))
        .route("/messages/{id}/reject", post(cases::reject))
        .route("/approvals", get(cases::approvals))
        .route(
            "/cases/{id}/experts",
            get(experts::list).post(experts::invite),
        )
        .route("/cases/{id}/experts/{link}/revoke", post(experts::revoke))
        .route("/expert/{token}", get(experts::api_view))
        .route("/expert/{token}/answer", post(experts::api_answer))
        .route("/purposes", get(purposes::list).post(purposes::create))
        .route("/notifications", get(notifications::list))
        .route("/notifications/read", post(notifications::mark_read))
        .route("/analyze", post(understand::analyze))
        .route("/reports/kpis", get(reports::kpis))
        .route("/models", get(models::list))
        .route("/training-examples", get(models::examples))
        .route("/messages/{id}/intent", post(models::correct_intent))
        .route("/messages/{id}/sentiment", post(models::correct_sentiment))
        .route(
            "/models/{kind}",
            put(models::install).layer(axum::extract::DefaultBodyLimit::max(
                models::MAX_MODEL_BYTES,
            )),
        )
        .route(
            "/models/{kind}/versions/{version}/activate",
            post(models::activate),
        )
        .route("/models/{kind}/deactivate", post(models::deactivate))
        .route(
            "/models/{kind}/train",
            post(models::train)
                .layer(axum::extract::DefaultBodyLimit::max(
                    models::MAX_MODEL_BYTES,
                ))
                .delete(models::stop_training),
        )
        .route("/notify/deliveries", get(notify::list))
        .route("/notify/deliveries/{id}", get(notify::get_one))
        .route("/notify/deliveries/{id}/redeliver", post(notify::redeliver))
        .route("/notify/secret", get(notify::secret))
        .route("/notify/secret/rotate", post(notify::rotate_secret))
        .route("/contacts", get(contacts::list))
        .route("/chat-files/{id}", get(crate::chat_upload::download))
        .route(
            "/kb/import",
            post(kb::import).layer(axum::extract::DefaultBodyLimit::max(kb::MAX_IMPORT)),
        )
        .route("/kb/export", get(kb::export))
        .route("/kb/gaps", get(kb::gaps))
        .route("/search", get(kb::search))
        .route("/messages/{id}/promote", post(kb::promote))
        .route("/kb/{kind}", get(kb::list).post(kb::create))
        .route(
            "/kb/{kind}/{id}",
            get(kb::get_one).put(kb::replace).delete(kb::archive),
        )
        .route("/kb/{kind}/{id}/revisions", get(kb::revisions))
        .route("/kb/{kind}/{id}/restore", post(kb::restore))
        .route("/cases/{id}/suggestions", get(kb::suggestions))
        .route(
            "/contacts/{id}",
            get(contacts::get_one).patch(contacts::update),
        )
        .route("/contacts/{id}/timeline", get(contacts::timeline))
        .route("/contacts/duplicates", get(contacts::suggestions))
        .route("/contacts/{id}/duplicates", get(contacts::duplicates))
        .route("/contacts/{id}/merge", post(contacts::merge))
        .route("/contacts/{id}/distinct", post(contacts::distinct))
        .route(
            "/channels",
            get(directory::list_channels).post(directory::create_channel),
        )
        .route(
            "/channels/{id}",
            get(directory::get_channel).patch(directory::update_channel),
        )
        .route("/channels/{id}/secret", post(directory::rotate_secret))
        .route("/channels/{id}/test", post(crate::channel_test::send))
        .route(
            "/teams",
            get(directory::list_teams).post(directory::create_team),
        )
        .route(
            "/teams/{id}",
            get(directory::get_team).patch(directory::update_team),
        )
        .route(
            "/teams/{id}/members/{user_id}/skills",
            put(directory::set_member_skills),
        )
        .route(
            "/users/{id}/availability",
            put(directory::set_user_availability),
        )
        .route("/me/availability", put(directory::set_my_availability))
        .route("/playbook", get(playbook::get_active).put(playbook::apply))
        .route("/playbook/check", post(playbook::check))
        .route("/playbook/simulate", post(playbook::simulate))
        .route("/playbook/versions", get(playbook::versions))
        .route("/playbook/versions/{version}", get(playbook::get_version))
        .route(
            "/playbook/versions/{version}/restore",
            post(playbook::restore),
        )
        .route("/teams/{id}/members", post(directory::add_member))
        .route(
            "/teams/{id}/members/{user_id}",
            delete(directory::remove_member),
        )
        .route(
            "/users",
            get(directory::list_users).post(directory::create_user),
        )
        .route(
            "/users/{id}",
            get(users::get_user).patch(users::update_user),
        )
        .route(
            "/tokens",
            get(directory::list_tokens).post(directory::create_token),
        )
        .route("/tokens/{id}", delete(directory::revoke_token))
        .route("/me/password", post(session::change_password))
        .route("/audit", get(directory::audit))
        .route("/stream", get(stream::stream))
        .route("/openapi.json", get(openapi))
        .route_layer(axum::middleware::from_fn(refuse_undeclared_query))
        .route_layer(axum::middleware::from_fn(refuse_undeclared_body))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api/v1", api)
        .route(
            "/hooks/{kind}/{channel_id}",
            get(crate::hooks::handshake).post(crate::hooks::inbound),
        )
        .route("/chat/{channel_id}", get(crate::chat::upgrade))
        .route("/chat/{channel_id}/config", get(crate::chat::config))
        .route(
            "/chat/{channel_id}/files",
            post(crate::chat_upload::upload)
                .options(crate::chat_upload::preflight)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/widget.js", get(crate::chat::widget_js))
        .route("/widget.css", get(crate::chat::widget_css))
        .route(
            "/expert/{token}",
            get(experts::page).post(experts::page_answer),
        )
        .merge(pages)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let path = req
                .extensions()
                .get::<MatchedPath>()
                .map_or(req.uri().path(), |p| p.as_str());
            tracing::info_span!("http", method = %req.method(), path)
        }))
        .with_state(state)
}

/// The operations (`GET /api/v1/models`) whose OpenAPI entry declares no query parameter.
fn takes_no_query() -> &'static std::collections::HashSet<String> {
    static NONE: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NONE.get_or_init(|| {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap_or_default();
        let declared = |p: &serde_json::Value| {
            let p = match p["$ref"].as_str() {
                Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap_or("")],
                None => p,
            };
            p["in"] == "query"
        };
        let mut none = std::collections::HashSet::new();
        for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let params = op["parameters"].as_array().into_iter().flatten();
                if !params.clone().any(declared) {
                    none.insert(format!("{} {path}", method.to_ascii_uppercase()));
                }
            }
        }
        none
    })
}

/// The operations (`POST /api/v1/models/{kind}/deactivate`) that change something and whose
/// OpenAPI entry declares no request body.
fn takes_no_body() -> &'static std::collections::HashSet<String> {
    static NONE: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NONE.get_or_init(|| {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap_or_default();
        let mut none = std::collections::HashSet::new();
        for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let changes = ["post", "put", "patch", "delete"].contains(&method.as_str());
                if changes && op.get("requestBody").is_none() {
                    none.insert(format!("{} {path}", method.to_ascii_uppercase()));
                }
            }
        }
        none
    })
}

/// The most of a body read to tell whether it says anything (`{}` and whitespace do not).
const NO_BODY_PEEK: usize = 64;

/// A body sent to an endpoint that takes none is refused (400 `unexpected_body`): `{"x": 1}`
/// to `activate` is a request for something this endpoint does not do, so nothing happens.
/// An empty body, `{}` or `null` (what forms and clients send by habit) pass.
async fn refuse_undeclared_body(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let key = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| format!("{} {}", req.method(), p.as_str()));
    if !key.is_some_and(|k| takes_no_body().contains(&k)) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let refused = || {
        // Inside the nested API router the path has lost its `/api/v1`.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(parts.uri.path(), |u| u.0.path());
        ApiError::bad_request(
            "unexpected_body",
            format!(
                "{} {path} takes no request body; send none (nothing was changed)",
                parts.method,
            ),
        )
        .into_response()
    };
    let Ok(bytes) = axum::body::to_bytes(body, NO_BODY_PEEK).await else {
        return refused();
    };
    let said = bytes.trim_ascii();
    let empty = said.is_empty()
        || said == b"null"
        || serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(said)
            .is_ok_and(|m| m.is_empty());
    if !empty {
        return refused();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// A query parameter on an endpoint that takes none is refused (400 `invalid_field`, naming
/// it), as the endpoints that take some refuse the ones they do not know: a typo never
/// silently does something else.
async fn refuse_undeclared_query(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let query = req.uri().query().filter(|q| !q.is_empty());
    if let (Some(query), Some(path)) = (query, req.extensions().get::<MatchedPath>())
        && takes_no_query().contains(&format!("{} {}", req.method(), path.as_str()))
    {
        let first = query.split('&').next().unwrap_or(query);
        let name: String = first
            .split('=')
            .next()
            .unwrap_or(first)
            .chars()
            .take(60)
            .collect();
        return ApiError::invalid_field(
            &name,
            "there is no such parameter (this endpoint takes none)",
        )
        .into_response();
    }
    next.run(req).await
}

async fn not_found(req: Request) -> axum::response::Response {
    if wants_page(&req) {
        return page(StatusCode::NOT_FOUND, "There is no page at this address.");
    }
    ApiError::not_found("route").into_response()
}

async fn method_not_allowed(req: Request) -> axum::response::Response {
    if wants_page(&req) {
        return page(
            StatusCode::METHOD_NOT_ALLOWED,
            "This page cannot be opened from the address bar; use its button or link.",
        );
    }
    let method = req.method();
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here; see /api/v1/openapi.json"),
    )
    .into_response()
}

/// A browser opening an address outside the API (it accepts HTML): it gets a page, not JSON.
fn wants_page(req: &Request) -> bool {
    // Inside the nested API router the path has lost its `/api/v1`.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or(req.uri().path(), |u| u.0.path());
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    html && !path.starts_with("/api/") && !path.starts_with("/hooks/")
}

/// A plain error page with a way back (the workspace's pages have their own; these are the
/// addresses none of them answers).
fn page(status: StatusCode, message: &str) -> axum::response::Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{reason} · Switchboard</title></head><body><main><h1>{reason}</h1>\
         <p>{message}</p><p><a href=\"/\">Back to Switchboard</a></p></main></body></html>"
    );
    (status, axum::response::Html(body)).into_response()
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "database unreachable"})),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // One scrape at a time: the gauges read from the store are set, then rendered, without
    // another scrape (another store, in tests) setting them in between.
    static SCRAPE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = SCRAPE.lock().await;
    let m = global();
    if let Ok(counts) = state.store.case_counts().await {
        for s in switchboard_core::CaseStatus::ALL {
            m.set_cases(
                s.as_str(),
                counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n),
            );
        }
    }
    if let Ok(loads) = state.store.team_loads().await {
        let queues: Vec<(String, String, i64)> = loads
            .iter()
            .flat_map(|t| {
                t.by_purpose
                    .iter()
                    .map(|(p, n)| (t.name.clone(), p.clone(), *n))
            })
            .collect();
        let at_risk: Vec<(String, i64)> =
            loads.iter().map(|t| (t.name.clone(), t.at_risk)).collect();
        m.set_queues(&queues, &at_risk);
    }
    if let Ok(n) = state.store.outbox_depth().await {
        m.outbox_depth.set(n);
    }
    if let Ok(n) = state.store.pending_raw_count().await {
        m.raw_pending.set(n);
    }
    let stats = state.store.stats();
    m.db_commits
        .set(stats.commits.load(std::sync::atomic::Ordering::Relaxed) as i64);
    m.db_committed_jobs.set(
        stats
            .committed_jobs
            .load(std::sync::atomic::Ordering::Relaxed) as i64,
    );
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
}
