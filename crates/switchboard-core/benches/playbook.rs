//! Routing decisions per second for a 200-rule playbook on one core (issue 3's benchmark):
//! 180 keyword rules (5 phrases each), 10 intent rules with a confidence floor, 9 regex
//! rules, and a catch-all; the message matches only late rules, the costly case.
//! Run: `cargo bench -p switchboard-core --bench playbook`.

#![allow(clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard_core::Purpose;
use switchboard_core::playbook::{Facts, parse};

fn playbook_source() -> String {
    let mut s = String::from("[[team]]\nid = \"t\"\nname = \"Team\"\n\n");
    for i in 0..180 {
        s.push_str(&format!(
            "[[rule]]\nname = \"keywords {i}\"\nwhen.public = {}\nwhen.text_any = [\"alpha{i}\", \"beta {i}\", \"gamma{i}\", \"delta{i}\", \"epsilon {i}\"]\nthen.tags = [\"k{i}\"]\n\n",
            i % 2 == 0
        ));
    }
    for i in 0..10 {
        s.push_str(&format!(
            "[[rule]]\nname = \"intent {i}\"\nwhen.intent_any = [\"intent{i}\", \"other{i}\"]\nwhen.min_confidence = 0.6\nthen.purpose = \"sales\"\n\n"
        ));
    }
    for i in 0..9 {
        s.push_str(&format!("[[rule]]\nname = \"regex {i}\"\nwhen.text_regex = \"order\\\\s*#?{i}\\\\d{{4}}\"\nthen.priority = \"high\"\n\n"));
    }
    s.push_str("[[rule]]\nname = \"catch-all\"\nthen.purpose = \"tier1\"\nthen.team = \"t\"\n");
    s
}

fn bench(c: &mut Criterion) {
    let pb = parse(&playbook_source(), &[]).expect("the generated playbook is valid");
    assert_eq!(pb.rules.len(), 200);
    let facts = Facts {
        channel_kind: "webhook".into(),
        public: true,
        text: "Hello, my order #51234 has not arrived and the tracking page says nothing. Can you help me with intent9?".into(),
        intent: Some(("intent9".into(), 0.8)),
        purpose: Some((Purpose::tier1(), 0.5)),
        ..Facts::default()
    };
    let d = pb.evaluate(&facts);
    assert_eq!(d.fired.len(), 3, "intent 9, regex 5 and the catch-all fire");
    let mut g = c.benchmark_group("playbook");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decide_200_rules", |b| {
        b.iter(|| pb.evaluate(black_box(&facts)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
