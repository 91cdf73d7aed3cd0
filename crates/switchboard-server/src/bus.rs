//! The live-event fan-out seam. In-process it is a broadcast channel; with several nodes it
//! becomes NATS (each node publishes what it committed and every node's subscribers see it).
//! Events carry the store's `seq`, so a subscriber that sees a gap fills it from the store.

use std::sync::Arc;
use switchboard_store::Event;
use tokio::sync::broadcast;

pub trait LiveBus: Send + Sync {
    /// Publishes committed events, in `seq` order.
    fn publish(&self, events: Vec<Event>);
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>>;
}

pub struct InProcessBus {
    tx: broadcast::Sender<Arc<Event>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        InProcessBus {
            tx: broadcast::channel(8192).0,
        }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveBus for InProcessBus {
    fn publish(&self, events: Vec<Event>) {
        for e in events {
            // No subscribers is fine: the events are in the store.
            let _ = self.tx.send(Arc::new(e));
        }
    }
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}
