//! The store alone, without HTTP, on SQLite in a temporary directory:
//! - `append_raw`: 1,000 raw events appended concurrently (group commit: one fsync per group);
//! - `ingest`: 1,000 parsed messages (5 per conversation) turned into contacts, conversations,
//!   cases, messages, events and audit rows in batches of 256, as the processor does.
//!
//! Run: `cargo bench -p switchboard-store --bench ingest`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchboard_core::{Author, ChannelId, InboundMessage, Name, RawEventId, Timestamp};
use switchboard_store::{Actor, Appended, IngestItem, Location, RawEvent, Store};

const N: usize = 1000;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn bench(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&Location::Sqlite(dir.path().join("bench.db"))).expect("open");
    let channel: ChannelId = rt.block_on(async {
        store.migrate().await.expect("migrate");
        let name = Name::parse("bench").expect("name");
        store
            .create_channel(
                "webhook".into(),
                name,
                serde_json::json!({}),
                vec![0; 40],
                Actor::System,
                Timestamp::from_unix_micros(1),
            )
            .await
            .expect("channel")
            .id
    });
    let mut round = 0u64;
    let mut g = c.benchmark_group("store_sqlite");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);

    g.bench_function("append_raw_1000_concurrent", |b| {
        b.iter(|| {
            round += 1;
            let store = store.clone();
            rt.block_on(async move {
                let tasks: Vec<_> = (0..N)
                    .map(|i| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            let at = Timestamp::from_unix_micros(
                                1_790_000_000_000_000 + round as i64 * 1_000_000 + i as i64,
                            );
                            let ev = RawEvent {
                                id: RawEventId::new_at(at),
                                channel_id: channel,
                                external_id: Some(format!("a-{round}-{i}")),
                                body: vec![b'x'; 200],
                                received_at: at,
                            };
                            store.append_raw(ev).await
                        })
                    })
                    .collect();
                for t in tasks {
                    assert_eq!(t.await.expect("join").expect("append"), Appended::Stored);
                }
            })
        })
    });

    g.bench_function("ingest_1000_messages", |b| {
        b.iter(|| {
            round += 1;
            let store = store.clone();
            rt.block_on(async move {
                // Time moves on between rounds, as the server's clock does.
                let at =
                    Timestamp::from_unix_micros(1_790_000_000_000_000 + round as i64 * 1_000_000);
                let items: Vec<IngestItem> = (0..N)
                    .map(|i| IngestItem {
                        raw_id: RawEventId::new_at(at),
                        channel_id: channel,
                        channel_kind: "webhook".into(),
                        received_at: at,
                        parsed: Ok(vec![switchboard_core::ChannelEvent::Message(
                            InboundMessage {
                                external_id: format!("m-{round}-{i}"),
                                thread: format!("c:{round}-{}", i / 5),
                                public: false,
                                author: Author {
                                    external_id: format!("u-{round}-{}", i / 5),
                                    name: Some("Customer".into()),
                                    handle: None,
                                    followers: None,
                                    verified: None,
                                },
                                text: "Hello, my order has not arrived yet, can you help?".into(),
                                sent_at: None,
                                attachments: vec![],
                                reply_to: None,
                            },
                        )]),
                        understood: vec![],
                    })
                    .collect();
                for chunk in items.chunks(256) {
                    let r = store.ingest(chunk.to_vec(), at).await.expect("ingest");
                    assert_eq!(r.failed, 0);
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
