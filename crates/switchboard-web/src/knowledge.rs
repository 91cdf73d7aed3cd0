//! The knowledge base as agents see it: articles and canned responses, and the questions no
//! article answered well (knowledge gaps). Editing stays in the API and CLI for now.

use crate::page::{Section, Viewer, ago, respond, shell};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use switchboard_server::AppState;
use switchboard_store::KbKind;

pub async fn page(State(state): State<AppState>, v: Viewer) -> Response {
    let (articles, canned) = match tokio::try_join!(
        state.store.kb_items(KbKind::Article, false),
        state.store.kb_items(KbKind::Canned, false)
    ) {
        Ok(x) => x,
        Err(e) => return crate::page::store_error(e, "knowledge base"),
    };
    let now = state.clock.now();
    let text =
        |d: &serde_json::Value, k: &str| d.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    let body = html! {
        h1 { "Knowledge" }
        section {
            h2 { "Articles " span.count { (articles.len()) } }
            ul.kb {
                @for a in &articles {
                    li { details {
                        summary { strong { (text(&a.data, "title")) } " "
                            @if a.data.get("public").and_then(|p| p.as_bool()) == Some(false) { span.priv { "internal" } }
                            " " span.hint { "v" (a.version) ", " (ago(now, a.updated_at)) } }
                        div.text { (text(&a.data, "body")) }
                    } }
                }
            }
        }
        section {
            h2 { "Canned responses " span.count { (canned.len()) } }
            ul.kb {
                @for c in &canned {
                    li { strong { (text(&c.data, "name")) } div.text { (text(&c.data, "text")) } }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        shell(&v, Section::Knowledge, "Knowledge", body),
    )
}
