//! `GET /api/v1/stream`: Server-Sent Events for case and message changes. Each event's `id`
//! is the store's `seq`; a client that reconnects with `Last-Event-ID` (or `?last_event_id=`)
//! first receives everything it missed from the store, then live events. Live events arrive
//! from the bus; a gap in `seq` (a lagging subscriber) is filled from the store, so nothing is
//! skipped or repeated. A `notification.created` event goes only to the person it is for.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Query};
use crate::metrics::global;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use switchboard_store::Event;
use tokio::sync::broadcast::error::RecvError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    last_event_id: Option<i64>,
}

struct Cursor {
    state: AppState,
    rx: tokio::sync::broadcast::Receiver<std::sync::Arc<Event>>,
    last: i64,
    ready: VecDeque<Event>,
    /// The last backfill filled a whole page: there may be more in the store.
    more: bool,
    _gauge: GaugeGuard,
}

/// Events read from the store per catch-up query.
const BACKFILL_PAGE: i64 = 500;

/// How often an open stream checks that its credential is still valid.
const RECHECK: Duration = Duration::from_secs(5);

struct GaugeGuard;

impl GaugeGuard {
    fn new() -> Self {
        global().stream_clients.inc();
        GaugeGuard
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        global().stream_clients.dec();
    }
}

/// Presence moments (`{"kind": "typing", …}`) as SSE events named by their kind, without id.
fn tokio_stream_of(
    rx: tokio::sync::broadcast::Receiver<std::sync::Arc<serde_json::Value>>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(v) => {
                    let kind = v["kind"].as_str().unwrap_or("presence").to_owned();
                    return Some((Ok(SseEvent::default().event(kind).data(v.to_string())), rx));
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// A notification goes to the person it is for; every other event to everyone who may read.
fn is_for(e: &Event, me: Option<&str>) -> bool {
    e.kind != "notification.created" || e.data["notification"]["user_id"].as_str() == me
}

fn to_sse(e: &Event) -> SseEvent {
    let data = serde_json::json!({ "seq": e.seq, "kind": e.kind, "case_id": e.case_id, "data": e.data, "created_at": e.created_at });
    SseEvent::default()
        .id(e.seq.to_string())
        .event(e.kind.clone())
        .data(data.to_string())
}

impl Cursor {
    /// Loads from the store everything after `last` (up to `upto` if given).
    async fn backfill(&mut self) -> bool {
        let after = self
            .ready
            .back()
            .map_or(self.last, |e| e.seq.max(self.last));
        match self.state.store.events_after(after, BACKFILL_PAGE).await {
            Ok(events) => {
                self.more = events.len() as i64 == BACKFILL_PAGE;
                self.ready.extend(events);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "live stream: cannot read events");
                false
            }
        }
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                if e.seq <= self.last {
                    continue;
                }
                self.last = e.seq;
                return Some(e);
            }
            if self.more {
                // The store had more than one page to catch up on.
                if !self.backfill().await {
                    return None;
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(e) if e.seq <= self.last => continue,
                Ok(e) if e.seq == self.last + 1 => self.ready.push_back((*e).clone()),
                // A gap: what is missing was committed before this was published.
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    if !self.backfill().await {
                        return None;
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

pub async fn stream(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::Read>,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let from_header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().parse::<i64>());
    let resume = match from_header {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Err(ApiError::invalid_field(
                "Last-Event-ID",
                "must be an event id this stream sent",
            ));
        }
        None => q.last_event_id,
    };
    // Subscribe before reading the store, so nothing committed in between is missed.
    let rx = state.bus.subscribe();
    let newest = state.store.last_event_seq().await?;
    // An id from the future (another database, a restored backup) would skip every event
    // until the store caught up with it: start from now instead.
    let last = match resume {
        Some(n) if (0..=newest).contains(&n) => n,
        _ => newest,
    };
    let mut stop = state.shutdown.subscribe();
    let mut cursor = Cursor {
        state,
        rx,
        last,
        ready: VecDeque::new(),
        more: false,
        _gauge: GaugeGuard::new(),
    };
    if resume.is_some() && !cursor.backfill().await {
        return Err(ApiError::internal("cannot read events"));
    }
    let presence = tokio_stream_of(cursor.state.presence.subscribe());
    let cursor_state = cursor.state.clone();
    let me = caller.actor.user_id().map(|u| u.to_string());
    let events = futures_util::stream::unfold(cursor, move |mut c| {
        let me = me.clone();
        async move {
            loop {
                let e = c.next().await?;
                if is_for(&e, me.as_deref()) {
                    return Some((Ok(to_sse(&e)), c));
                }
            }
        }
    });
    // The stream ends with the server, or when its credential stops being valid (a revoked
    // token; a session ended by logout, a new password or a deactivation), checked every
    // [`RECHECK`].
    let state = cursor_state;
    let ended = async move {
        tokio::select! {
            _ = stop.wait_for(|stopping| *stopping) => {}
            _ = async {
                loop {
                    tokio::time::sleep(RECHECK).await;
                    if !crate::auth::still_valid(&state, &headers).await {
                        break;
                    }
                }
            } => {}
        }
    };
    // Typing and the like are not stored: they come between events, without an id.
    let stream = futures_util::stream::select(events, presence).take_until(ended);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
