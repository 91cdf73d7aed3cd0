//! The ingest seam and its worker. A webhook handler stores the raw event (durable, deduped),
//! answers the provider, and publishes the event on the [`IngestQueue`]; the processor takes
//! events in batches, parses them with the channel's adapter and has the store turn them into
//! messages on cases in one transaction. In-process the queue is a channel; across nodes it is
//! NATS JetStream. Whatever was stored but not processed (a crash) is re-queued at start.

use crate::AppState;
use crate::metrics::global;
use switchboard_core::{ChannelEvent, ChannelId};
use switchboard_store::{IngestItem, RawEvent};
use tokio::sync::mpsc;

/// Most raw events handed to the store in one transaction.
const BATCH: usize = 256;

pub trait IngestQueue: Send + Sync {
    fn publish(&self, event: RawEvent);
}

pub struct InProcessQueue {
    tx: mpsc::UnboundedSender<RawEvent>,
}

impl InProcessQueue {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<RawEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (InProcessQueue { tx }, rx)
    }
}

impl IngestQueue for InProcessQueue {
    fn publish(&self, event: RawEvent) {
        // The receiver lives as long as the server; if it is gone the event stays pending in
        // the store and is processed at the next start.
        let _ = self.tx.send(event);
    }
}

/// Queues every stored-but-unprocessed raw event; returns how many.
pub async fn recover(state: &AppState) -> anyhow::Result<usize> {
    let mut after = None;
    let mut n = 0;
    loop {
        let page = state.store.pending_raw(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        n += page.len();
        for ev in page {
            state.ingest.publish(ev);
        }
    }
    Ok(n)
}

async fn parse(state: &AppState, ev: &RawEvent) -> IngestItem {
    let (kind, parsed) = match state.channels.get(ev.channel_id).await {
        Ok(Some(ch)) => (
            ch.kind.as_str().to_owned(),
            // An admin's test message is read here, not by the channel's adapter.
            crate::channel_test::parse(ev)
                .unwrap_or_else(|| ch.adapter.parse(&ev.body).map_err(|e| e.message)),
        ),
        Ok(None) => (
            "unknown".to_owned(),
            Err(format!("channel {} no longer exists", ev.channel_id)),
        ),
        Err(e) => ("unknown".to_owned(), Err(e.to_string())),
    };
    IngestItem {
        raw_id: ev.id,
        channel_id: ev.channel_id,
        channel_kind: kind,
        received_at: ev.received_at,
        parsed,
        understood: Vec::new(),
    }
}

/// Understands every parsed message of `items` (CPU work: call it off the async threads).
pub fn understand(analyzer: &switchboard_understand::Analyzer, items: &mut [IngestItem]) {
    for item in items {
        if let Ok(events) = &item.parsed {
            item.understood = events
                .iter()
                .map(|e| match e {
                    ChannelEvent::Message(m) if !m.text.trim().is_empty() => {
                        analyzer.analyze(&m.text)
                    }
                    _ => Default::default(),
                })
                .collect();
        }
    }
}

/// Reads raw events, parses them, and hands each to the lane that owns its conversation
/// (a hash of channel and thread), so one conversation is never processed on two lanes at once.
pub async fn run_processor(state: AppState, mut rx: mpsc::UnboundedReceiver<RawEvent>) {
    let lanes = state.store.ingest_lanes().max(1);
    let mut senders = Vec::with_capacity(lanes);
    for lane in 0..lanes {
        let (tx, lane_rx) = mpsc::unbounded_channel();
        tokio::spawn(run_lane(state.clone(), lane, lane_rx));
        senders.push(tx);
    }
    let mut router = LaneRouter::new(lanes);
    let mut batch: Vec<RawEvent> = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let mut items = Vec::with_capacity(batch.len());
        for ev in batch.drain(..) {
            items.push(parse(&state, &ev).await);
        }
        // Understood here, on a blocking thread, while the lanes store the previous batch.
        let analyzer = state.analyzer();
        let items = match tokio::task::spawn_blocking(move || {
            understand(&analyzer, &mut items);
            items
        })
        .await
        {
            Ok(items) => items,
            Err(e) => {
                // Only a bug can get here; the raw events stay pending and are retried at start.
                tracing::error!(error = %e, "understanding a batch failed");
                continue;
            }
        };
        for item in items {
            let lane = router.lane(&item);
            if senders[lane].send(item).is_err() {
                return;
            }
        }
    }
}

/// The most message ids and threads [`LaneRouter`] remembers before it starts afresh.
const ROUTER_MEMORY: usize = 200_000;

/// Picks the lane for each item so that one conversation stays on one lane: by a hash of
/// channel and thread, except that an item answering a message seen recently (a reply, a
/// brand's echo, a follow-up) goes to that message's lane, and its thread follows it there.
/// Without that, a reply chain whose thread keys differ (X tweets, Meta comment replies)
/// would be stored by two lanes at once, which on PostgreSQL waits on, and deadlocks with,
/// the other lane's open batch.
struct LaneRouter {
    lanes: usize,
    /// (channel, the provider's message id) → lane.
    messages: std::collections::HashMap<(ChannelId, String), usize>,
    /// (channel, thread) → lane, for threads moved off their hash lane.
    threads: std::collections::HashMap<(ChannelId, String), usize>,
}

impl LaneRouter {
    fn new(lanes: usize) -> Self {
        LaneRouter {
            lanes: lanes.max(1),
            messages: std::collections::HashMap::new(),
            threads: std::collections::HashMap::new(),
        }
    }

    fn lane(&mut self, item: &IngestItem) -> usize {
        if self.lanes == 1 {
            return 0;
        }
        let events = item.parsed.as_deref().unwrap_or_default();
        let keys = || {
            events.iter().filter_map(|e| match e {
                ChannelEvent::Message(m) => Some((&m.external_id, &m.thread, &m.reply_to)),
                ChannelEvent::Echo(m) => Some((&m.external_id, &m.thread, &m.reply_to)),
                _ => None,
            })
        };
        let ch = item.channel_id;
        let answered = keys().find_map(|(_, _, reply_to)| {
            reply_to
                .as_ref()
                .and_then(|r| self.messages.get(&(ch, r.clone())).copied())
        });
        let thread = keys().map(|(_, t, _)| t).next();
        let lane = answered
            .or_else(|| thread.and_then(|t| self.threads.get(&(ch, t.clone())).copied()))
            .unwrap_or_else(|| hash_lane(ch, thread, self.lanes));
        if self.messages.len() >= ROUTER_MEMORY || self.threads.len() >= ROUTER_MEMORY {
            self.messages.clear();
            self.threads.clear();
        }
        for (id, t, _) in keys() {
            self.messages.insert((ch, id.clone()), lane);
            if lane != hash_lane(ch, Some(t), self.lanes) {
                self.threads.insert((ch, t.clone()), lane);
            }
        }
        lane
    }
}

/// The lane of a channel's thread (events of one raw body stay together; the body's first
/// message names the thread).
fn hash_lane(channel: ChannelId, thread: Option<&String>, lanes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    channel.hash(&mut h);
    if let Some(t) = thread {
        t.hash(&mut h);
    }
    (h.finish() % lanes as u64) as usize
}

async fn run_lane(state: AppState, lane: usize, mut rx: mpsc::UnboundedReceiver<IngestItem>) {
    let mut items: Vec<IngestItem> = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut items, BATCH).await == 0 {
            return;
        }
        loop {
            match state
                .store
                .ingest_on(lane, items.clone(), state.clock.now())
                .await
            {
                Ok(report) => {
                    let m = global();
                    m.ingest_messages.inc_by(report.messages);
                    m.ingest_duplicates.inc_by(report.duplicates);
                    m.ingest_failed.inc_by(report.failed);
                    m.cases_opened.inc_by(report.cases_opened);
                    if report.auto_answers > 0 {
                        state.auto_answer_wake.notify_one();
                    }
                    state.bus.publish(report.events);
                    break;
                }
                Err(e) => {
                    // The raw events are safe in the store; try the same batch again.
                    tracing::error!(error = %e, lane, events = items.len(), "ingest batch failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
        items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::{Author, EchoMessage, InboundMessage, RawEventId, Timestamp};

    fn item(channel: ChannelId, events: Vec<ChannelEvent>) -> IngestItem {
        IngestItem {
            raw_id: RawEventId::new_at(Timestamp::from_unix_micros(0)),
            channel_id: channel,
            channel_kind: "x".into(),
            received_at: Timestamp::from_unix_micros(0),
            parsed: Ok(events),
            understood: vec![],
        }
    }

    fn tweet(id: &str, thread: &str, reply_to: Option<&str>) -> ChannelEvent {
        ChannelEvent::Message(InboundMessage {
            external_id: id.into(),
            thread: thread.into(),
            public: true,
            author: Author {
                external_id: "2000".into(),
                name: None,
                handle: None,
                followers: None,
                verified: None,
            },
            text: "hi".into(),
            sent_at: None,
            attachments: vec![],
            reply_to: reply_to.map(str::to_owned),
        })
    }

    fn echo(id: &str, thread: &str, reply_to: &str) -> ChannelEvent {
        ChannelEvent::Echo(EchoMessage {
            external_id: id.into(),
            thread: thread.into(),
            public: true,
            to: Author {
                external_id: "2000".into(),
                name: None,
                handle: None,
                followers: None,
                verified: None,
            },
            text: "hello".into(),
            sent_at: None,
            attachments: vec![],
            reply_to: Some(reply_to.into()),
            ours: None,
            other_app: false,
        })
    }

    #[test]
    fn a_reply_chain_stays_on_the_lane_of_its_first_message() {
        let ch = ChannelId::new_at(Timestamp::from_unix_micros(1));
        let lanes = 8;
        // Threads that hash to different lanes than the root's.
        let root_lane = hash_lane(ch, Some(&"tweet:1".to_owned()), lanes);
        let other: Vec<String> = (2..200)
            .map(|n| format!("tweet:{n}"))
            .filter(|t| hash_lane(ch, Some(t), lanes) != root_lane)
            .take(3)
            .collect();
        let mut r = LaneRouter::new(lanes);
        assert_eq!(
            r.lane(&item(ch, vec![tweet("1", "tweet:1", None)])),
            root_lane
        );
        // The brand's answer, on its own thread key, goes where the tweet it answers went.
        assert_eq!(
            r.lane(&item(ch, vec![echo("2", &other[0], "1")])),
            root_lane
        );
        // The customer's follow-up answers the brand's answer: the same lane again.
        assert_eq!(
            r.lane(&item(ch, vec![tweet("3", &other[1], Some("2"))])),
            root_lane
        );
        // A later message on a thread that moved follows it, reply or not.
        assert_eq!(
            r.lane(&item(ch, vec![tweet("4", &other[1], None)])),
            root_lane
        );
        // A reply to something never seen goes by its thread's hash.
        assert_eq!(
            r.lane(&item(ch, vec![tweet("5", &other[2], Some("999"))])),
            hash_lane(ch, Some(&other[2]), lanes)
        );
        // Receipts and other events have no thread: by channel alone.
        let receipt = item(ch, vec![ChannelEvent::Ignored { kind: "x".into() }]);
        assert_eq!(r.lane(&receipt), hash_lane(ch, None, lanes));
        assert_eq!(LaneRouter::new(1).lane(&receipt), 0);
    }
}
