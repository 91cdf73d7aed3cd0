//! The reviewers' queue: replies held for approval, oldest first, each with its case's last
//! customer words. Approve as written, edit and approve, or reject with a comment.

use crate::page::{Section, Viewer, ago, respond, shell};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use switchboard_core::{Permission, Role};

/// How many replies, from the top of the queue, are shown with what they answer.
const CONTEXT: usize = 50;
use switchboard_server::AppState;

pub async fn page(State(state): State<AppState>, v: Viewer) -> Response {
    if let Some(r) = v.refuse(Permission::ReviewReplies) {
        return r;
    }
    let reviewer = (v.role != Role::Admin).then_some(v.id);
    let items = match state.store.pending_approvals(reviewer).await {
        Ok(i) => i,
        Err(e) => return crate::page::store_error(e, "approvals"),
    };
    let now = state.clock.now();
    let channels = match state.store.list_channels().await {
        Ok(c) => c,
        Err(e) => return crate::page::store_error(e, "channels"),
    };
    // What each reply answers, where, and whether in public (the first ones: a long queue
    // is worked from the top), in one read.
    let first: Vec<_> = items.iter().take(CONTEXT).cloned().collect();
    let found = match state.store.approval_context(first).await {
        Ok(f) => f,
        Err(e) => return crate::page::store_error(e, "approvals"),
    };
    let mut context = std::collections::HashMap::new();
    for (m, x) in items.iter().zip(found) {
        let asked = x.asked.map(|q| {
            (
                q.author.name.unwrap_or_else(|| "The customer".into()),
                q.text,
            )
        });
        let channel = channels
            .iter()
            .find(|c| c.id == x.channel_id)
            .map(|c| format!("{} ({})", c.name, c.kind));
        context.insert(m.id, (asked, channel, x.public && !m.private_reply));
    }
    let body = html! {
        h1 { "Waiting for approval" span.count { (items.len()) } }
        @if items.is_empty() { p.empty { "Nothing is waiting for you." } }
        ol.approvals #approvals {
            @for m in &items {
                li.approval data-message=(m.id) {
                    p.meta { "Reply by " strong { (m.author.name.clone().unwrap_or_default()) } " "
                        (ago(now, m.created_at)) " on "
                        a href={"/cases/" (m.case_id)} { "its case" }
                        @if let Some((_, channel, public)) = context.get(&m.id) {
                            @if let Some(channel) = channel { " · " (channel) }
                            " · " @if *public { strong.public { "public: everyone sees it" } } @else { "private" }
                        }
                    }
                    @if let Some((Some((who, text)), _, _)) = context.get(&m.id) {
                        blockquote.asked { span.who { (who) " wrote:" } " " (crate::personal::marked(text)) }
                    }
                    form data-api={"/api/v1/messages/" (m.id) "/approve"} data-after="reload" {
                        label for={"text-" (m.id)} { "The reply (edit it before approving if needed)" }
                        textarea id={"text-" (m.id)} name="text" rows="3" required data-optional="unchanged" { (m.text) }
                        div.form-error role="alert" {}
                        button.primary type="submit" { "Approve and send" }
                    }
                    form data-api={"/api/v1/messages/" (m.id) "/reject"} data-after="reload" {
                        label for={"comment-" (m.id)} { "Why not" }
                        input id={"comment-" (m.id)} name="comment" required;
                        div.form-error role="alert" {}
                        button.danger type="submit" { "Reject" }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        shell(&v, Section::Approvals, "Approvals", body),
    )
}
