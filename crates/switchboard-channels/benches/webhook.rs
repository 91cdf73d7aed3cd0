//! The CPU cost of one inbound webhook before it touches the store: verify the signature over
//! the raw body, then parse it. Run: `cargo bench -p switchboard-channels --bench webhook`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard_channels::webhook;

const BODY: &[u8] = br#"{"id":"ext-1","conversation":"thread-9","public":false,"from":{"id":"u-1","name":"Ann Lee","handle":"@ann"},"text":"Hello, my order has not arrived yet and the tracking page shows nothing. Can you help?","sent_at":"2026-11-22T10:00:00Z"}"#;

fn bench(c: &mut Criterion) {
    let secret = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let sig = webhook::sign(secret, BODY);
    let mut g = c.benchmark_group("webhook");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify", |b| {
        b.iter(|| webhook::verify(secret, black_box(BODY), Some(black_box(&sig))))
    });
    g.bench_function("parse_inbound", |b| {
        b.iter(|| webhook::parse_inbound(black_box(BODY)))
    });
    g.bench_function("verify_and_parse", |b| {
        b.iter(|| {
            webhook::verify(secret, black_box(BODY), Some(&sig)).ok();
            webhook::parse_inbound(black_box(BODY))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
