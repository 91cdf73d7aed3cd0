//! A person's notifications: @mentions in notes, SLA warnings and breaches, experts' answers,
//! escalations. Newest first, unread ones marked; "Mark all read" empties the count in the
//! navigation.

use crate::page::{Section, Viewer, ago, respond, shell};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use switchboard_server::AppState;

/// How many notifications the page shows (the API pages through all of them).
const SHOWN: i64 = 100;

/// A notification's kind in words.
fn kind_in_words(kind: &str) -> &str {
    match kind {
        "mention" => "Mentioned you",
        "sla.warning" => "SLA at risk",
        "sla.breached" => "SLA breached",
        "expert.answered" => "An expert answered",
        "expert.late" => "An expert is late",
        "case.escalated" => "Escalated",
        "reply.rejected" => "Reply not approved",
        other => other,
    }
}

pub async fn page(State(state): State<AppState>, v: Viewer) -> Response {
    let items = match state.store.notifications(v.id, false, None, SHOWN).await {
        Ok(p) => p.items,
        Err(e) => return crate::page::store_error(e, "notifications"),
    };
    let now = state.clock.now();
    let body = html! {
        h1 { "Notifications" @if v.unread > 0 { span.count { (v.unread) " unread" } } }
        @if items.is_empty() {
            p.empty { "Nothing yet. You are told here when a colleague writes @ and your username in a note, when a case of yours nears or misses its SLA, and when an expert you asked answers." }
        } @else {
            @if v.unread > 0 {
                form #read-all data-api="/api/v1/notifications/read" data-after="reload" {
                    div.form-error role="alert" {}
                    button type="submit" { "Mark all read" }
                }
            }
            ol.notifications #notifications {
                @for n in &items {
                    li class=(if n.read_at.is_none() { "unread" } else { "read" }) data-notification=(n.id) {
                        strong { (kind_in_words(&n.kind)) } " " span.hint { (ago(now, n.created_at)) }
                        @if n.read_at.is_none() { " " span.new { "new" } }
                        p { (n.body) }
                        @if let Some(case) = n.case_id { a href={"/cases/" (case)} { "Open the case" } }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        shell(&v, Section::Notifications, "Notifications", body),
    )
}
