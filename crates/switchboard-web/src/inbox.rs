//! The inbox: queues with counts on the left (mine, my teams by purpose, unassigned, waiting
//! for approval, with an expert, SLA at risk, everything active, done), filters and search on
//! top, the cases in the middle. `?fragment=1` answers only the rows and counts: the script
//! swaps them in when the live stream says something changed, so the list stays current
//! without a reload.

use crate::page::{
    Purposes, Section, Viewer, ago, badge, channel_mark, respond, shell, status_tone,
};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use switchboard_core::search::Query as SearchQuery;
use switchboard_core::*;
use switchboard_server::AppState;
use switchboard_store::{InboxFilter, InboxRow, Queue, QueueCounts, SearchFilter};

/// Rows per page.
const ROWS: i64 = 50;

/// The most matching messages a search in the inbox looks at (their cases are listed).
const SEARCH_HITS: i64 = 1000;

#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    queue: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    q: String,
    /// The next page: cases older than this one.
    #[serde(default)]
    before: String,
    #[serde(default)]
    fragment: String,
}

/// The queue a `queue=` value names; `None` when it names none.
fn parse_queue(s: &str, me: UserId) -> Option<Queue> {
    Some(match s {
        "" | "mine" => Queue::Mine(me),
        "unassigned" => Queue::Unassigned,
        "approval" => Queue::Approval,
        "expert" => Queue::WithExpert,
        "at_risk" => Queue::AtRisk,
        "active" => Queue::Active,
        "done" => Queue::Done,
        team => {
            let rest = team.strip_prefix("team:")?;
            let (id, purpose) = match rest.split_once(':') {
                Some((id, p)) => (id, Some(Purpose::parse(p).ok()?)),
                None => (rest, None),
            };
            Queue::Team(TeamId::parse(id).ok()?, purpose)
        }
    })
}

/// What the page shows besides the rows: names for ids.
struct Names {
    teams: HashMap<TeamId, String>,
    users: HashMap<UserId, String>,
    channels: Vec<(ChannelId, String, String)>,
    purposes: Purposes,
}

impl Names {
    fn purpose(&self, id: &str) -> String {
        self.purposes.name(id)
    }
}

async fn names(state: &AppState) -> Result<Names, switchboard_store::StoreError> {
    let teams = state.store.list_teams().await?;
    let users = state.store.list_users().await?;
    let channels = state.store.list_channels().await?;
    let purposes = state.store.purposes().await?;
    Ok(Names {
        teams: teams.into_iter().map(|t| (t.id, t.name)).collect(),
        users: users.into_iter().map(|u| (u.id, u.display_name)).collect(),
        channels: channels
            .into_iter()
            .map(|c| (c.id, c.kind, c.name))
            .collect(),
        purposes: Purposes::new(purposes),
    })
}

pub async fn page(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<InboxQuery>,
) -> Response {
    let Some(queue) = parse_queue(&q.queue, v.id) else {
        return crate::page::error_page(
            StatusCode::BAD_REQUEST,
            "That queue does not exist; pick one from the list.",
        );
    };
    let mut problems = Vec::new();
    let mut filter = InboxFilter::default();
    if !q.purpose.is_empty() {
        match Purpose::parse(&q.purpose) {
            Ok(p) => filter.purpose = Some(p),
            Err(_) => problems.push(format!("There is no purpose {:?}.", q.purpose)),
        }
    }
    if !q.status.is_empty() {
        match CaseStatus::parse(&q.status) {
            Ok(s) => filter.status = Some(s),
            Err(_) => problems.push(format!("There is no status {:?}.", q.status)),
        }
    }
    if !q.channel.is_empty() {
        match ChannelId::parse(&q.channel) {
            Ok(c) => filter.channel = Some(c),
            Err(_) => problems.push("That channel does not exist.".to_owned()),
        }
    }
    if !q.before.is_empty() {
        match CaseId::parse(&q.before) {
            Ok(c) => filter.before = Some(c),
            Err(_) => problems.push("That page does not exist; start from the newest.".to_owned()),
        }
    }
    let mut capped = false;
    let search = q.q.trim();
    if !search.is_empty() {
        match SearchQuery::parse(search) {
            Ok(parsed) => match state
                .store
                .search_messages(parsed, SearchFilter::default(), SEARCH_HITS)
                .await
            {
                Ok(found) => {
                    capped = found.len() as i64 >= SEARCH_HITS;
                    let mut ids: Vec<CaseId> = found.iter().map(|f| f.message.case_id).collect();
                    ids.sort();
                    ids.dedup();
                    filter.cases = Some(ids);
                }
                Err(e) => return crate::page::store_error(e, "search"),
            },
            Err(why) => problems.push(format!("The search cannot be read: {why}.")),
        }
    }
    let seq = state.store.last_event_seq().await.unwrap_or(0);
    // One row more than a page says whether there is a next one.
    let mut rows = if problems.is_empty() {
        match state.store.inbox(queue.clone(), filter, ROWS + 1).await {
            Ok(r) => r,
            Err(e) => return crate::page::store_error(e, "inbox"),
        }
    } else {
        Vec::new()
    };
    let more = rows.len() as i64 > ROWS;
    rows.truncate(ROWS as usize);
    let paging = Paging { more, capped };
    let counts = match state.store.queue_counts(Some(v.id)).await {
        Ok(c) => c,
        Err(e) => return crate::page::store_error(e, "inbox"),
    };
    let names = match names(&state).await {
        Ok(n) => n,
        Err(e) => return crate::page::store_error(e, "inbox"),
    };
    let now = state.clock.now();
    let current = if q.queue.is_empty() {
        "mine"
    } else {
        q.queue.as_str()
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let live = html! {
        div #inbox-live data-seq=(seq) {
            (queues(&counts, &names, current, &q))
            (list(&rows, &names, now, &problems, &q, paging, current))
        }
    };
    if q.fragment == "1" {
        return respond(status, live);
    }
    let body = html! {
        div.inbox {
            h1.visually-hidden { "Inbox" }
            (filters(&q, &names, current))
            (live)
        }
    };
    respond(status, shell(&v, Section::Inbox, "Inbox", body))
}

/// The link to a queue, keeping the filters.
fn queue_href(queue: &str, q: &InboxQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("queue", queue);
    for (k, v) in [
        ("purpose", &q.purpose),
        ("status", &q.status),
        ("channel", &q.channel),
        ("q", &q.q),
    ] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    format!("/inbox?{}", s.finish())
}

fn queues(c: &QueueCounts, names: &Names, current: &str, q: &InboxQuery) -> Markup {
    let fixed: [(&str, &str, i64); 5] = [
        ("mine", "Mine", c.mine),
        ("unassigned", "Unassigned", c.unassigned),
        ("approval", "Waiting for approval", c.approval),
        ("expert", "With an expert", c.with_expert),
        ("at_risk", "SLA at risk", c.at_risk),
    ];
    html! {
        nav.queues aria-label="Queues" {
            ul {
                @for (key, label, n) in fixed {
                    li { a href=(queue_href(key, q)) aria-current=[(current == key).then_some("page")]
                        data-queue=(key) {
                        span { (label) } span.count { (n) } } }
                }
            }
            @if !c.teams.is_empty() {
                h2 { "My teams" }
                ul {
                    @for (team, purpose, n) in &c.teams {
                        @let key = format!("team:{team}:{purpose}");
                        li { a href=(queue_href(&key, q)) aria-current=[(current == key).then_some("page")] {
                            span { (names.teams.get(team).map_or("team", String::as_str)) " · " (names.purpose(purpose)) }
                            span.count { (n) } } }
                    }
                }
            }
            ul {
                li { a href=(queue_href("active", q)) aria-current=[(current == "active").then_some("page")] {
                    span { "All active" } span.count { (c.active) } } }
                li { a href=(queue_href("done", q)) aria-current=[(current == "done").then_some("page")] {
                    span { "Resolved" } } }
            }
        }
    }
}

fn filters(q: &InboxQuery, names: &Names, current: &str) -> Markup {
    let statuses = [
        "new",
        "open",
        "pending",
        "with_expert",
        "resolved",
        "closed",
    ];
    html! {
        form.filters method="get" action="/inbox" role="search" {
            input type="hidden" name="queue" value=(current);
            label for="q" { "Search" }
            input #q type="search" name="q" value=(q.q) placeholder="Search messages (press /)";
            label for="purpose" { "Purpose" }
            select #purpose name="purpose" {
                option value="" { "Any" }
                @for (p, name) in names.purposes.list() {
                    option value=(p) selected[q.purpose == *p] { (name) }
                }
            }
            label for="status" { "Status" }
            select #status name="status" {
                option value="" { "Any" }
                @for s in statuses {
                    option value=(s) selected[q.status == s] { (s.replace('_', " ")) }
                }
            }
            label for="channel" { "Channel" }
            select #channel name="channel" {
                option value="" { "Any" }
                @for (id, kind, name) in &names.channels {
                    @let id = id.to_string();
                    option value=(id) selected[q.channel == id] { (name) " (" (kind) ")" }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}

/// Whether the list goes on, and whether a search stopped at its most hits.
#[derive(Clone, Copy)]
struct Paging {
    more: bool,
    capped: bool,
}

fn list(
    rows: &[InboxRow],
    names: &Names,
    now: Timestamp,
    problems: &[String],
    q: &InboxQuery,
    paging: Paging,
    current: &str,
) -> Markup {
    let page_href = |before: Option<CaseId>| {
        let href = queue_href(current, q);
        match before {
            Some(id) => format!("{href}&before={id}"),
            None => href,
        }
    };
    html! {
        section.cases aria-label="Cases" {
            @for p in problems { p.error role="alert" { (p) } }
            @if rows.is_empty() && problems.is_empty() {
                p.empty { @if q.q.trim().is_empty() { "Nothing here. " } @else { "No case in this queue matches. " } }
                // A search looks in one queue: offer the wider ones, with the same filters.
                @if !q.q.trim().is_empty() && current != "active" && current != "done" {
                    p.hint #search-wider {
                        "Search " a href=(queue_href("active", q)) { "all active cases" }
                        " or " a href=(queue_href("done", q)) { "resolved ones" } "."
                    }
                }
            }
            @if paging.capped {
                p.hint { "Showing the cases of the " (SEARCH_HITS) " best-matching messages: add words to narrow the search." }
            }
            ol #rows data-count=(rows.len()) {
                @for r in rows {
                    (row(r, names, now))
                }
            }
            @if paging.more || !q.before.is_empty() {
                nav.pager aria-label="Pages" {
                    @if !q.before.is_empty() { a href=(page_href(None)) { "← Newest" } }
                    @if paging.more && let Some(last) = rows.last() {
                        a href=(page_href(Some(last.case.id))) rel="next" { "Older cases →" }
                    }
                }
            }
        }
    }
}

fn row(r: &InboxRow, names: &Names, now: Timestamp) -> Markup {
    let c = &r.case;
    let preview: String = crate::personal::without_card_and_id_numbers(&r.last_text)
        .chars()
        .take(140)
        .collect();
    html! {
        li.row data-case=(c.id) .risk[r.at_risk] .unread[r.last_inbound && c.status.is_active()] {
            a href={"/cases/" (c.id)} {
                span.who { (channel_mark(&r.channel_kind)) " " strong { (r.contact_name) }
                    @if c.public { " " span.pub title="Public conversation" { "public" } } }
                span.preview { (preview) }
                span.meta {
                    (badge("", &names.purpose(c.purpose.as_str()), "neutral"))
                    (badge("", &c.status.as_str().replace('_', " "), status_tone(c.status.as_str())))
                    @if r.at_risk { (badge("SLA", "at risk", "bad")) }
                    @if c.escalated { (badge("", "escalated", "bad")) }
                    @if let Some(t) = c.team { span.team { (names.teams.get(&t).map_or("", String::as_str)) } }
                    @if let Some(u) = c.assignee { span.assignee { "→ " (names.users.get(&u).map_or("someone", String::as_str)) } }
                    (ago(now, r.last_at))
                }
            }
        }
    }
}
