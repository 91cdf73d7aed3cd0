//! The ingest seam and its worker. A webhook handler stores the raw event (durable, deduped),
//! answers the provider, and publishes the event on the [`IngestQueue`]; the processor takes
//! events in batches, parses them with the channel's adapter and has the store turn them into
//! messages on cases in one transaction. In-process the queue is a channel; across nodes it is
//! NATS JetStream. Whatever was stored but not processed (a crash) is re-queued at start.

use crate::AppState;
use crate::metrics::global;
use switchboard_core::ChannelEvent;
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
            ch.adapter.parse(&ev.body).map_err(|e| e.message),
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
            let lane = lane_of(&item, lanes);
            if senders[lane].send(item).is_err() {
                return;
            }
        }
    }
}

fn lane_of(item: &IngestItem, lanes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    item.channel_id.hash(&mut h);
    // Events of one raw body stay together; a body's first message names its thread.
    if let Ok(events) = &item.parsed
        && let Some(thread) = events.iter().find_map(|e| match e {
            ChannelEvent::Message(m) => Some(&m.thread),
            ChannelEvent::Echo(m) => Some(&m.thread),
            _ => None,
        })
    {
        thread.hash(&mut h);
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
