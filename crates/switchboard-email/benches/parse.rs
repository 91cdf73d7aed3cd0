//! E-mails parsed per second: every mail of the project's corpus (plain, HTML-only, legacy
//! charsets, replies with quotes, attachments, auto-replies, a bounce, broken MIME) read into
//! a `Mail` and turned into events.
//! Run: `cargo bench -p switchboard-email --bench parse`.

#![allow(clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn corpus() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mails = corpus();
    let mut g = c.benchmark_group("email");
    g.throughput(Throughput::Elements(mails.len() as u64));
    g.bench_function("parse_and_events_corpus", |b| {
        b.iter(|| {
            for raw in &mails {
                if let Ok(m) = switchboard_email::parse(black_box(raw)) {
                    black_box(m.events("sha256:x"));
                }
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
