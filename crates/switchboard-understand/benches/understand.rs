//! Throughput of the understanding step, per message on one core:
//! `cargo bench -p switchboard-understand --bench understand`.
//!
//! With `../shared/data/banking77/train.csv` present, a 77-intent model is trained on it and
//! measured too (the step as a bank's workspace would run it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard_understand::examples::{Format, read};
use switchboard_understand::model::{TrainConfig, train};
use switchboard_understand::{Analyzer, language, personal_data, sentiment_of};

const TEXTS: &[&str] = &[
    "@AcmeBank my card got declined at the store again, what is going on??",
    "What time does the game start on Saturday? Is there parking near the stadium",
    "How much is the pro plan for a team of 20? we'd like a demo next week",
    "Loved the new ad 😍😍 so creative, well done team!!",
    "Your app is down for everyone in Chicago, this is a total outage #fail",
    "I was charged twice for order 123-456, please refund me. my email is ann@example.com",
    "thanks, that fixed it 👍",
    "Mi tarjeta no funciona desde ayer, ¿pueden ayudarme?",
];

fn bench(c: &mut Criterion) {
    let mut analyzer = Analyzer::builtin();
    analyzer.evidence = 0;
    let mut g = c.benchmark_group("understand");
    g.throughput(Throughput::Elements(TEXTS.len() as u64));
    g.bench_function(
        "analyze (purpose, sentiment, language, personal data)",
        |b| {
            b.iter(|| {
                for t in TEXTS {
                    black_box(analyzer.analyze(black_box(t)));
                }
            })
        },
    );
    let mut as_ingest = Analyzer::builtin();
    as_ingest.evidence = 3;
    g.bench_function("analyze as ingest runs it (3 words of evidence)", |b| {
        b.iter(|| {
            for t in TEXTS {
                black_box(as_ingest.analyze(black_box(t)));
            }
        })
    });
    let cfg = *analyzer.purpose.feature_config();
    g.bench_function(
        "prepare (tokens and word n-grams, once for all models)",
        |b| {
            b.iter(|| {
                for t in TEXTS {
                    black_box(switchboard_understand::model::Prepared::new(
                        black_box(t),
                        &cfg,
                    ));
                }
            })
        },
    );
    g.bench_function("purpose", |b| {
        b.iter(|| {
            for t in TEXTS {
                black_box(analyzer.purpose.predict(black_box(t)));
            }
        })
    });
    g.bench_function("sentiment", |b| {
        b.iter(|| {
            for t in TEXTS {
                black_box(sentiment_of(&analyzer.sentiment, black_box(t)));
            }
        })
    });
    g.bench_function("language", |b| {
        b.iter(|| {
            for t in TEXTS {
                black_box(language::detect(black_box(t)));
            }
        })
    });
    g.bench_function("personal data", |b| {
        b.iter(|| {
            for t in TEXTS {
                black_box(personal_data(black_box(t)));
            }
        })
    });
    // Real traffic: customers' tweets to support accounts, as ingest would see them.
    let twcs = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/twcs/twcs_head5000.csv");
    match std::fs::read_to_string(&twcs) {
        Ok(csv) => {
            // One row holds bare carriage returns inside an unquoted field (see the data's
            // README): they are spaces here.
            let csv = csv.replace("\r\n", "\n").replace('\r', " ");
            let rows = read(&csv, Format::Csv, "text", "inbound").unwrap();
            let tweets: Vec<&str> = rows
                .iter()
                .filter(|r| r.label == "True")
                .take(1000)
                .map(|r| r.text.as_str())
                .collect();
            g.throughput(Throughput::Elements(tweets.len() as u64));
            g.bench_function(
                "analyze as ingest runs it, 1,000 customer tweets (TWCS)",
                |b| {
                    b.iter(|| {
                        for t in &tweets {
                            black_box(as_ingest.analyze(black_box(t)));
                        }
                    })
                },
            );
        }
        Err(_) => eprintln!("skipped the tweets benchmark: {} not found", twcs.display()),
    }
    let banking = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/banking77/train.csv");
    match std::fs::read_to_string(&banking) {
        Ok(csv) => {
            let examples = read(&csv, Format::Csv, "text", "category").unwrap();
            let model = train("intent", &examples, &TrainConfig::default()).unwrap();
            let texts: Vec<&str> = examples
                .iter()
                .take(1000)
                .map(|e| e.text.as_str())
                .collect();
            g.throughput(Throughput::Elements(texts.len() as u64));
            g.bench_function("intent, 77 labels (BANKING77)", |b| {
                b.iter(|| {
                    for t in &texts {
                        black_box(model.predict(black_box(t)));
                    }
                })
            });
            analyzer.intent = Some(std::sync::Arc::new(model));
            g.bench_function("analyze with the 77-intent model", |b| {
                b.iter(|| {
                    for t in &texts {
                        black_box(analyzer.analyze(black_box(t)));
                    }
                })
            });
            // What `model train` makes of this many examples by default: a network.
            let hidden = switchboard_understand::model::default_hidden(examples.len());
            let cfg = TrainConfig::default().with_network(hidden);
            let network = train("intent", &examples, &cfg).unwrap();
            g.bench_function("intent network, 77 labels (BANKING77)", |b| {
                b.iter(|| {
                    for t in &texts {
                        black_box(network.predict(black_box(t)));
                    }
                })
            });
            analyzer.intent = Some(std::sync::Arc::new(network));
            g.bench_function("analyze with the 77-intent network", |b| {
                b.iter(|| {
                    for t in &texts {
                        black_box(analyzer.analyze(black_box(t)));
                    }
                })
            });
        }
        Err(_) => eprintln!(
            "skipped the intent benchmarks: {} not found",
            banking.display()
        ),
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
