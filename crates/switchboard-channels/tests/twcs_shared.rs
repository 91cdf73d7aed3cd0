//! Reads the first 5,000 rows of Kaggle's "Customer Support on Twitter" from the shared data
//! folder, plans their replay, and replays every planned post through the X adapter.
//! Skips when the folder is absent.

use std::collections::{BTreeSet, HashSet};
use switchboard_channels::twcs;
use switchboard_channels::x;
use switchboard_core::ChannelEvent;

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/twcs/twcs_head5000.csv"
);

#[test]
fn the_shared_twcs_head_reads_plans_and_replays() {
    let Ok(bytes) = std::fs::read(FILE) else {
        eprintln!("skipped: {FILE} is absent");
        return;
    };
    let rows = twcs::read(&bytes).unwrap();
    let inbound = rows.iter().filter(|r| r.inbound).count();
    let companies: BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r.inbound)
        .map(|r| r.author_id.as_str())
        .collect();
    println!(
        "rows {}, inbound {inbound}, outbound {}, companies {}",
        rows.len(),
        rows.len() - inbound,
        companies.len()
    );
    assert_eq!(rows.len(), 5_000);
    assert_eq!(inbound, 2_778);
    assert_eq!(companies.len(), 76);
    // The quirks: tweet 3399 keeps its two bare carriage returns; float ids were read.
    let cr = rows.iter().find(|r| r.tweet_id == "3399").unwrap();
    assert_eq!(cr.text.matches('\r').count(), 2);
    assert_eq!(rows[0].in_response_to_tweet_id.as_deref(), Some("3"));

    let plan = twcs::plan(&rows);
    println!(
        "planned {} posts on {} channels, unassigned {}: {:?}",
        plan.tweet_count(),
        plan.channels.len(),
        plan.unassigned.len(),
        plan.assigned_by
    );
    assert_eq!(plan.channels.len(), 76);
    let mut seen: HashSet<&str> = HashSet::new();
    for c in &plan.channels {
        for t in &c.tweets {
            assert!(seen.insert(&t.id), "tweet {} planned twice", t.id);
        }
        assert!(
            c.tweets
                .windows(2)
                .all(|w| w[0].created_at <= w[1].created_at),
            "{} out of order",
            c.company
        );
    }
    for id in &plan.unassigned {
        assert!(seen.insert(id), "tweet {id} both planned and unassigned");
    }
    let all: HashSet<&str> = rows.iter().map(|r| r.tweet_id.as_str()).collect();
    assert_eq!(seen, all, "the plan covers every row but the unassigned");
    let a = plan.assigned_by;
    assert_eq!(
        a.company_posts
            + a.reply_to_company
            + a.answered_by_company
            + a.leading_mention
            + a.mention_in_text
            + a.thread
            + plan.unassigned.len(),
        rows.len()
    );
    assert_eq!(a.company_posts, 2_222);

    // Replay: every customer post is a mention or reply on its company's channel; every
    // company post an echo, or ignored when it addresses nobody.
    let (mut messages, mut echoes, mut own) = (0, 0, 0);
    for c in &plan.channels {
        let cfg = x::Config::from_json(&serde_json::json!({"user_id": c.company})).unwrap();
        for t in &c.tweets {
            let body = x::account_activity_tweet(&c.company, t);
            let sig = x::sign(b"replay", &body);
            x::verify(b"replay", &body, Some(&sig)).unwrap();
            match x::parse(&body, &cfg).unwrap().as_slice() {
                [ChannelEvent::Message(m)] => {
                    assert_ne!(t.author_id, c.company);
                    assert_eq!(m.external_id, t.id);
                    messages += 1;
                }
                [ChannelEvent::Echo(e)] => {
                    assert_eq!(t.author_id, c.company);
                    assert_eq!(e.external_id, t.id);
                    echoes += 1;
                }
                [ChannelEvent::Ignored { kind }] if kind == "own_tweet" => own += 1,
                other => panic!("tweet {}: {other:?}", t.id),
            }
        }
    }
    println!("replayed: {messages} messages, {echoes} echoes, {own} own posts addressed to nobody");
    assert_eq!(messages, inbound - plan.unassigned.len());
    assert_eq!(echoes + own, rows.len() - inbound);
}
