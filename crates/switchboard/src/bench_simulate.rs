//! `switchboard bench simulate`: playbook simulation over a large store (issue 3: "well under a
//! minute" for 1,000,000 messages).
//!
//! It builds (once; later runs reuse it) an SQLite database of N customer messages on cases
//! spread over the last 30 days: varied texts from a small vocabulary, several channels of
//! several kinds, some public, some authors with followers or verified, some contacts tagged.
//! A generated playbook of R realistic rules is applied before filling, so the stored cases are
//! routed by it. Then it times `Store::simulate_playbook` over the whole window with:
//! - a 1-rule playbook (the catch-all alone): the floor, i.e. reading the cases from SQLite;
//! - the 3-rule example (`examples/playbook.toml`);
//! - the R-rule playbook (the one the store was routed with);
//! - the R-rule playbook without its open-cases rule (that condition costs a second,
//!   single-threaded evaluation of every case whose contact had cases open);
//!
//! and, to split the time, evaluation alone: each playbook over as many facts generated in
//! memory, on every core, with no database.

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchboard_core::playbook::{Facts, Playbook};
use switchboard_core::{
    Author, ChannelId, ContactId, InboundMessage, Name, RawEventId, Tag, Timestamp,
};
use switchboard_store::{Actor, IngestItem, IngestReport, Location, Store, StoreError};

/// The example, simulated as the candidate a team would try first.
const EXAMPLE_PLAYBOOK: &str = include_str!("../../../examples/playbook.toml");
/// The floor: every case matches the one rule, which costs next to nothing to evaluate.
const FLOOR_PLAYBOOK: &str = "[[team]]\nid = \"front-desk\"\nname = \"Front desk\"\n\n\
     [[rule]]\nname = \"Everything starts at the front desk\"\nthen.purpose = \"tier1\"\nthen.team = \"front-desk\"\n";
/// Messages per ingest call (one job for the writer, one savepoint).
const BATCH: usize = 5_000;
/// The window the cases are spread over.
const WINDOW_MICROS: i64 = 30 * 24 * 3600 * 1_000_000;
/// The settings key that marks a finished fill (its value describes it).
const MARKER: &str = "bench.simulate";
const SEED: u64 = 0x5b_5eed;

pub struct Options {
    pub messages: usize,
    pub messages_per_case: usize,
    pub rules: usize,
    pub data_dir: Option<PathBuf>,
    /// Times each playbook is simulated (in rounds over all of them).
    pub runs: usize,
}

// ----- the vocabulary ----------------------------------------------------------------------

struct Topic {
    slug: &'static str,
    purpose: &'static str,
    team: &'static str,
    /// Words and phrases the rules look for.
    keywords: &'static [&'static str],
    /// Message openings: `{p}` is a product, `{n}` a number.
    openers: &'static [&'static str],
    /// Relative frequency among customer messages.
    weight: u32,
}

const TOPICS: &[Topic] = &[
    Topic {
        slug: "delivery",
        purpose: "support",
        team: "logistics",
        keywords: &[
            "order",
            "package",
            "delivery",
            "tracking",
            "shipment",
            "not arrived",
        ],
        openers: &[
            "my order #{n} has not arrived yet",
            "where is my package? I ordered the {p} two weeks ago",
            "the tracking page for order {n} says nothing since Monday",
            "my {p} delivery is late, the shipment seems stuck",
            "the courier says delivered but there is no package here",
        ],
        weight: 22,
    },
    Topic {
        slug: "billing",
        purpose: "support",
        team: "billing",
        keywords: &[
            "refund",
            "charged twice",
            "invoice",
            "payment failed",
            "billing",
        ],
        openers: &[
            "I was charged twice for my {p} subscription",
            "can I get a refund for invoice {n}?",
            "my payment failed but the money left my account",
            "there is a billing error on invoice {n}",
        ],
        weight: 14,
    },
    Topic {
        slug: "account",
        purpose: "support",
        team: "accounts",
        keywords: &["log in", "password", "locked out", "2fa", "account"],
        openers: &[
            "I cannot log in to my account since yesterday",
            "the password reset email never comes",
            "I am locked out after the {p} update",
            "my 2FA code is not accepted",
        ],
        weight: 12,
    },
    Topic {
        slug: "bug",
        purpose: "support",
        team: "engineering",
        keywords: &["crash", "crashes", "error", "bug", "broken", "not working"],
        openers: &[
            "the {p} app crashes when I open settings",
            "I get error {n} on checkout",
            "the export button is broken in {p}",
            "sync is not working on my {p} since the update, is it a bug?",
        ],
        weight: 12,
    },
    Topic {
        slug: "pricing",
        purpose: "sales",
        team: "sales",
        keywords: &[
            "pricing",
            "price",
            "demo",
            "upgrade",
            "enterprise plan",
            "quote",
        ],
        openers: &[
            "how much is the enterprise plan for {p}?",
            "can we book a demo of {p} for our team of {n}?",
            "I would like to upgrade to {p} Pro, what is the price?",
            "please send a quote for {n} seats",
        ],
        weight: 8,
    },
    Topic {
        slug: "returns",
        purpose: "support",
        team: "logistics",
        keywords: &["return", "exchange", "wrong size", "damaged"],
        openers: &[
            "I want to return my {p}, it arrived damaged",
            "can I exchange the {p} for a different colour?",
            "you sent the wrong size, order {n}",
        ],
        weight: 8,
    },
    Topic {
        slug: "address",
        purpose: "support",
        team: "logistics",
        keywords: &["address", "change delivery", "wrong address"],
        openers: &[
            "I need to change the delivery address for order {n}",
            "I typed the wrong address, can you fix it before it ships?",
        ],
        weight: 5,
    },
    Topic {
        slug: "cancel",
        purpose: "sales",
        team: "retention",
        keywords: &["cancel", "unsubscribe", "close my account", "switch to"],
        openers: &[
            "I want to cancel my {p} subscription",
            "please close my account, we are going to switch to another tool",
            "how do I unsubscribe from {p}?",
        ],
        weight: 5,
    },
    Topic {
        slug: "praise",
        purpose: "marketing_pr",
        team: "social",
        keywords: &["thank you", "love", "awesome", "great service"],
        openers: &[
            "thank you for the great service, the {p} is awesome",
            "love the new {p} update!",
        ],
        weight: 5,
    },
    Topic {
        slug: "french",
        purpose: "support",
        team: "intl",
        keywords: &["bonjour", "commande", "merci"],
        openers: &[
            "bonjour, ma commande {n} n'est pas arrivée",
            "bonjour, le {p} ne marche plus, merci de m'aider",
        ],
        weight: 3,
    },
    Topic {
        slug: "spanish",
        purpose: "support",
        team: "intl",
        keywords: &["hola", "pedido", "gracias"],
        openers: &[
            "hola, mi pedido {n} no ha llegado",
            "hola, necesito ayuda con el {p}, gracias",
        ],
        weight: 3,
    },
    Topic {
        slug: "crisis",
        purpose: "crisis",
        team: "pr",
        keywords: &["outage", "lawsuit", "boycott", "data breach", "down again"],
        openers: &[
            "{p} is down again, third outage this week",
            "was there a data breach? my {p} account sent spam",
            "my lawyer will hear about this, expect a lawsuit",
            "everyone should boycott {p} after this",
        ],
        weight: 3,
    },
];

const PRODUCTS: &[&str] = &[
    "Aurora", "Basil", "Cobalt", "Dune", "Ember", "Fjord", "Garnet", "Harbor", "Indigo", "Juniper",
    "Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer",
];

const GREETINGS: &[&str] = &[
    "",
    "Hi, ",
    "Hello, ",
    "Hey team, ",
    "Good morning, ",
    "Hi there! ",
];
const CLOSINGS: &[&str] = &[
    "",
    " Thanks.",
    " Please help.",
    " ASAP please!",
    " Can you check?",
    " Regards.",
    " This is the second time I write.",
];
const GENERIC: &[&str] = &[
    "Hi, I have a question.",
    "Hello? Is anyone there?",
    "Can someone call me back please?",
    "I need help with something.",
];
const FOLLOW_UPS: &[&str] = &[
    "Any update on this?",
    "Hello? Still waiting.",
    "I attached a screenshot.",
    "Thanks, that worked.",
    "Please escalate this.",
    "It is still not resolved.",
    "Order {n} is still not here.",
    "OK, thank you.",
];

/// (name, kind, share of public messages in %).
const CHANNELS: &[(&str, &str, u32)] = &[
    ("Website chat", "webhook", 0),
    ("Mobile app", "webhook", 0),
    ("Support inbox", "email", 0),
    ("WhatsApp", "whatsapp", 0),
    ("Acme on X", "twitter", 60),
    ("Facebook page", "facebook", 40),
];
/// An author's usual channel, by `author % 10`: chat and the app carry most of the volume.
const CHANNEL_OF: [usize; 10] = [0, 0, 0, 1, 1, 2, 2, 3, 4, 5];

const TEAMS: &[(&str, &str)] = &[
    ("front-desk", "Front desk"),
    ("sales", "Sales"),
    ("pr", "Marketing & PR"),
    ("logistics", "Logistics"),
    ("billing", "Billing"),
    ("accounts", "Accounts"),
    ("engineering", "Engineering"),
    ("social", "Social media"),
    ("retention", "Retention"),
    ("intl", "International"),
    ("key-accounts", "Key accounts"),
];

fn fill(template: &str, rng: &mut StdRng) -> String {
    let mut s = template.replace("{p}", PRODUCTS[rng.gen_range(0..PRODUCTS.len())]);
    if s.contains("{n}") {
        s = s.replace("{n}", &rng.gen_range(10_000..100_000).to_string());
    }
    s
}

/// A case's first customer message.
fn first_text(rng: &mut StdRng) -> String {
    if rng.gen_range(0..100) < 8 {
        return GENERIC[rng.gen_range(0..GENERIC.len())].to_owned();
    }
    let total: u32 = TOPICS.iter().map(|t| t.weight).sum();
    let mut pick = rng.gen_range(0..total);
    let topic = TOPICS
        .iter()
        .find(|t| {
            if pick < t.weight {
                true
            } else {
                pick -= t.weight;
                false
            }
        })
        .unwrap_or(&TOPICS[0]);
    let opener = fill(topic.openers[rng.gen_range(0..topic.openers.len())], rng);
    let greeting = GREETINGS[rng.gen_range(0..GREETINGS.len())];
    let closing = CLOSINGS[rng.gen_range(0..CLOSINGS.len())];
    format!("{greeting}{opener}.{closing}")
}

/// What is fixed for one conversation (one case).
struct Thread {
    key: String,
    author: usize,
    channel: usize,
    public: bool,
}

fn thread(index: usize, authors: usize, rng: &mut StdRng) -> Thread {
    let author = rng.gen_range(0..authors);
    let channel = if rng.gen_range(0..100) < 85 {
        CHANNEL_OF[author % CHANNEL_OF.len()]
    } else {
        rng.gen_range(0..CHANNELS.len())
    };
    let public = rng.gen_range(0..100) < CHANNELS[channel].2;
    Thread {
        key: format!("t{index}"),
        author,
        channel,
        public,
    }
}

fn author(t: &Thread) -> Author {
    let social = matches!(CHANNELS[t.channel].1, "twitter" | "facebook");
    Author {
        external_id: format!("u{}", t.author),
        name: Some(format!("Customer {}", t.author)),
        handle: social.then(|| format!("@customer{}", t.author)),
        followers: social.then(|| {
            if t.author.is_multiple_of(97) {
                50_000 + (t.author as u64 % 1000) * 100
            } else {
                (t.author as u64 * 7919) % 5_000
            }
        }),
        verified: social.then_some(t.author.is_multiple_of(53)),
    }
}

// ----- the playbook ------------------------------------------------------------------------

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// A playbook of `rules` rules in the spirit of a real one: a few specific rules first (public
/// crises, influencers, key accounts, repeat contacts), then keyword, regex, channel and
/// visibility rules per topic and product, and a catch-all last. Without `open_cases`, the
/// rule on the contact's open cases is left out (and one more generated rule takes its place):
/// that condition makes the simulation evaluate a case again, on one core, when its contact
/// had cases open.
pub fn playbook_source(rules: usize, open_cases: bool) -> String {
    let mut s = String::new();
    for (id, name) in TEAMS {
        s.push_str(&format!("[[team]]\nid = {id:?}\nname = {name:?}\n\n"));
    }
    let rule = |s: &mut String, name: String, body: String| {
        s.push_str(&format!("[[rule]]\nname = {name:?}\n{body}\n"));
    };
    let crisis: Vec<String> = TOPICS
        .iter()
        .filter(|t| t.slug == "crisis")
        .flat_map(|t| t.keywords.iter().map(|k| (*k).to_owned()))
        .collect();
    let special: Vec<(String, String)> = [
        (
            "Outage or legal threat in public goes to PR".to_owned(),
            format!(
                "when.public = true\nwhen.text_any = {}\nthen.purpose = \"crisis\"\nthen.team = \"pr\"\nthen.priority = \"urgent\"\n",
                list(&crisis)
            ),
        ),
        (
            "Influencers in public go to social media".to_owned(),
            "when.public = true\nwhen.min_followers = 10000\nthen.purpose = \"marketing_pr\"\nthen.team = \"social\"\nthen.priority = \"high\"\n".to_owned(),
        ),
        (
            "VIP and enterprise customers go to key accounts".to_owned(),
            "when.author_tags_any = [\"vip\", \"enterprise\"]\nthen.team = \"key-accounts\"\nthen.priority = \"high\"\nthen.tags = [\"key-account\"]\n".to_owned(),
        ),
        (
            "Contacts with three open cases are a priority".to_owned(),
            "when.min_open_cases = 3\nthen.priority = \"high\"\nthen.tags = [\"repeat\"]\n".to_owned(),
        ),
        (
            "Verified accounts are tagged".to_owned(),
            "when.verified = true\nthen.tags = [\"verified\"]\n".to_owned(),
        ),
    ]
    .into_iter()
    .filter(|(_, body)| open_cases || !body.contains("min_open_cases"))
    .collect();
    // Keep room for the catch-all.
    let body_rules = rules.saturating_sub(1);
    let specials = special.len().min(body_rules);
    for (name, body) in special.into_iter().take(specials) {
        rule(&mut s, name, body);
    }
    let generated = body_rules - specials;
    for i in 0..generated {
        let topic = &TOPICS[i % TOPICS.len()];
        let k = i / TOPICS.len();
        let product = PRODUCTS[k % PRODUCTS.len()];
        let p = product.to_lowercase();
        let kw: Vec<String> = topic.keywords.iter().map(|w| (*w).to_owned()).collect();
        let (name, body) = match k % 4 {
            0 => (
                format!("{} about {product}", topic.slug),
                format!(
                    "when.text_regex = '(?i)\\b{p}\\b.*\\b({})\\b'\nthen.purpose = {:?}\nthen.team = {:?}\nthen.tags = [\"{}-{p}\"]\n",
                    topic.keywords.join("|"),
                    topic.purpose,
                    topic.team,
                    topic.slug
                ),
            ),
            1 => {
                let (_, kind, _) = CHANNELS[k % CHANNELS.len()];
                (
                    format!("{} on {kind} ({product} wave)", topic.slug),
                    format!(
                        "when.channel_kind_any = [{kind:?}]\nwhen.text_any = {}\nthen.purpose = {:?}\nthen.team = {:?}\nthen.tags = [\"{}-{kind}\"]\n",
                        list(&kw),
                        topic.purpose,
                        topic.team,
                        topic.slug
                    ),
                )
            }
            2 => {
                let (channel, _, _) = CHANNELS[k % CHANNELS.len()];
                let phrases: Vec<String> = kw.iter().map(|w| format!("{p} {w}")).collect();
                (
                    format!("{} for {product} on {channel}", topic.slug),
                    format!(
                        "when.channel_any = [{channel:?}]\nwhen.text_any = {}\nthen.team = {:?}\nthen.priority = \"high\"\n",
                        list(&phrases),
                        topic.team
                    ),
                )
            }
            _ => {
                let public = k % 2 == 1;
                (
                    format!(
                        "{} in {} ({product} wave)",
                        topic.slug,
                        if public { "public" } else { "private" }
                    ),
                    format!(
                        "when.public = {public}\nwhen.text_any = {}\nthen.purpose = {:?}\nthen.team = {:?}\nthen.tags = [\"{}\"]\n",
                        list(&kw),
                        topic.purpose,
                        topic.team,
                        topic.slug
                    ),
                )
            }
        };
        rule(&mut s, format!("{name} #{i}"), body);
    }
    rule(
        &mut s,
        "Everything else starts at the front desk".to_owned(),
        "then.purpose = \"tier1\"\nthen.team = \"front-desk\"\n".to_owned(),
    );
    s
}

// ----- filling the store -------------------------------------------------------------------

fn database_path(o: &Options) -> PathBuf {
    let dir = o.data_dir.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target"))
            .join("bench-simulate")
    });
    dir.join(format!(
        "simulate-{}m-{}pc-{}r.db",
        o.messages, o.messages_per_case, o.rules
    ))
}

fn marker(o: &Options, since: Timestamp, until: Timestamp) -> String {
    serde_json::json!({
        "messages": o.messages,
        "messages_per_case": o.messages_per_case,
        "rules": o.rules,
        "since": since.as_unix_micros(),
        "until": until.as_unix_micros(),
    })
    .to_string()
}

/// The window of a finished fill, if the database holds one made with these options.
async fn existing_fill(
    store: &Store,
    o: &Options,
) -> anyhow::Result<Option<(Timestamp, Timestamp)>> {
    let Some(value) = store.setting(MARKER).await? else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_str(&value)?;
    let same = v["messages"].as_u64() == Some(o.messages as u64)
        && v["messages_per_case"].as_u64() == Some(o.messages_per_case as u64)
        && v["rules"].as_u64() == Some(o.rules as u64);
    match (same, v["since"].as_i64(), v["until"].as_i64()) {
        (true, Some(since), Some(until)) => Ok(Some((
            Timestamp::from_unix_micros(since),
            Timestamp::from_unix_micros(until),
        ))),
        _ => Ok(None),
    }
}

fn remove_database(path: &std::path::Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {p:?}")),
        }
    }
    Ok(())
}

fn check_ingest(r: &IngestReport) -> anyhow::Result<()> {
    if r.failed > 0 {
        bail!("{} messages failed to ingest", r.failed);
    }
    Ok(())
}

/// Fills a fresh store; returns the window that covers every case.
async fn fill_store(store: &Store, o: &Options) -> anyhow::Result<(Timestamp, Timestamp)> {
    let started = Instant::now();
    let until_real = crate::now();
    let since = until_real.plus_micros(-WINDOW_MICROS);
    let setup_at = since.plus_micros(-1_000_000);
    let mut channels: Vec<(ChannelId, String)> = Vec::new();
    for (name, kind, _) in CHANNELS {
        let ch = store
            .create_channel(
                (*kind).to_owned(),
                Name::parse(name)?,
                serde_json::json!({}),
                vec![0; 40],
                Actor::System,
                setup_at,
            )
            .await?;
        channels.push((ch.id, ch.kind));
    }
    let source = playbook_source(o.rules, true);
    store
        .apply_playbook(source, Actor::System, setup_at)
        .await
        .map_err(playbook_error)?;

    let per_case = o.messages_per_case;
    let cases = o.messages.div_ceil(per_case);
    let authors = (cases * 2 / 5).max(1);
    let threads_per_batch = (BATCH / per_case).max(1);
    let batches = cases.div_ceil(threads_per_batch);
    let step = WINDOW_MICROS / batches.max(1) as i64;
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut in_flight: Option<tokio::task::JoinHandle<Result<IngestReport, StoreError>>> = None;
    let mut stored = 0usize;
    let mut last_report = Instant::now();
    let mut sent = 0usize;
    for b in 0..batches {
        let at = since.plus_micros(step * b as i64);
        let first = b * threads_per_batch;
        let threads: Vec<Thread> = (first..(first + threads_per_batch).min(cases))
            .map(|i| thread(i, authors, &mut rng))
            .collect();
        // Round-major: every conversation's first message, then every second one…, so each
        // case opens on its first message and the others attach to it.
        let mut items = Vec::with_capacity(threads.len() * per_case);
        for round in 0..per_case {
            for (j, t) in threads.iter().enumerate() {
                let index = (first + j) * per_case + round;
                if index >= o.messages {
                    continue;
                }
                let text = if round == 0 {
                    first_text(&mut rng)
                } else {
                    fill(FOLLOW_UPS[rng.gen_range(0..FOLLOW_UPS.len())], &mut rng)
                };
                let (channel_id, kind) = &channels[t.channel];
                items.push(IngestItem {
                    raw_id: RawEventId::new_at(at),
                    channel_id: *channel_id,
                    channel_kind: kind.clone(),
                    received_at: at,
                    parsed: Ok(vec![switchboard_core::ChannelEvent::Message(
                        InboundMessage {
                            external_id: format!("m{}-{round}", t.key),
                            thread: t.key.clone(),
                            public: t.public,
                            author: author(t),
                            text,
                            sent_at: None,
                            attachments: vec![],
                            reply_to: None,
                        },
                    )]),
                    understood: vec![],
                });
            }
        }
        sent += items.len();
        // Two batches in flight: the next one is generated while the writer stores this one.
        let store2 = store.clone();
        let next = tokio::spawn(async move { store2.ingest(items, at).await });
        if let Some(prev) = in_flight.replace(next) {
            let r = prev.await??;
            check_ingest(&r)?;
            stored += r.messages as usize;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  filled {stored} of {} messages in {secs:.0}s ({:.0} msg/s)",
                o.messages,
                stored as f64 / secs
            );
        }
    }
    if let Some(prev) = in_flight {
        let r = prev.await??;
        check_ingest(&r)?;
        stored += r.messages as usize;
    }
    if stored != o.messages || sent != o.messages {
        bail!("stored {stored} messages of {} ({sent} sent)", o.messages);
    }
    let filled = started.elapsed();
    eprintln!(
        "  filled {stored} messages in {:.1}s ({:.0} msg/s); tagging contacts…",
        filled.as_secs_f64(),
        stored as f64 / filled.as_secs_f64()
    );
    let tagged = tag_contacts(store, crate::now()).await?;
    eprintln!(
        "  tagged {tagged} contacts in {:.1}s",
        (started.elapsed() - filled).as_secs_f64()
    );
    // Every case was created at or after `since` and before the last batch's time plus its
    // ticks, well before the real now.
    let until = crate::now();
    store
        .set_setting_once(MARKER, &marker(o, since, until))
        .await?;
    Ok((since, until))
}

/// Tags every 25th contact `vip` and every 40th `enterprise` (after the fill: routing at
/// ingest did not see the tags; the simulation does, as it uses tags as they are now).
async fn tag_contacts(store: &Store, now: Timestamp) -> anyhow::Result<usize> {
    let vip = Tag::parse("vip")?;
    let enterprise = Tag::parse("enterprise")?;
    let mut ids: Vec<ContactId> = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_contacts(cursor, 1000).await?;
        cursor = page.items.last().map(|c| c.id);
        ids.extend(page.items.iter().map(|c| c.id));
        if page.next_cursor.is_none() {
            break;
        }
    }
    let chosen: Vec<(ContactId, Tag)> = ids
        .into_iter()
        .enumerate()
        .filter_map(|(i, id)| match (i % 25, i % 40) {
            (0, _) => Some((id, vip.clone())),
            (_, 7) => Some((id, enterprise.clone())),
            _ => None,
        })
        .collect();
    // Many at once, so the writer commits them in groups.
    for group in chosen.chunks(pool_group()) {
        let handles: Vec<_> = group
            .iter()
            .map(|(id, tag)| {
                let (store, id, tag) = (store.clone(), *id, tag.clone());
                tokio::spawn(async move {
                    store
                        .set_contact_tags(id, vec![tag], Actor::System, now)
                        .await
                })
            })
            .collect();
        for h in handles {
            h.await??;
        }
    }
    Ok(chosen.len())
}

fn pool_group() -> usize {
    switchboard_store::pool::MAX_GROUP
}

fn playbook_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::InvalidPlaybook(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("invalid playbook:\n{}", lines.join("\n"))
        }
        e => e.into(),
    }
}

// ----- measuring ---------------------------------------------------------------------------

/// Facts like the stored cases' (same generator, tags and open cases as in the store's
/// proportions), for timing evaluation alone.
fn sample_facts(cases: usize) -> Vec<Facts> {
    let mut rng = StdRng::seed_from_u64(SEED ^ 0xfac7);
    let authors = (cases * 2 / 5).max(1);
    (0..cases)
        .map(|i| {
            let t = thread(i, authors, &mut rng);
            let a = author(&t);
            let (name, kind, _) = CHANNELS[t.channel];
            let tags = match (t.author % 25, t.author % 40) {
                (0, _) => vec!["vip".to_owned()],
                (_, 7) => vec!["enterprise".to_owned()],
                _ => vec![],
            };
            Facts {
                channel_id: format!("channel-{}", t.channel),
                channel_name: name.to_owned(),
                channel_kind: kind.to_owned(),
                public: t.public,
                text: first_text(&mut rng),
                author_tags: tags,
                followers: a.followers,
                verified: a.verified.unwrap_or(false),
                open_cases: rng.gen_range(0..4),
                in_business_hours: Some(true),
                ..Facts::default()
            }
        })
        .collect()
}

/// Evaluates `pb` over `facts` on every core; returns the time and the decisions that fired
/// at least one rule.
fn evaluate_only(pb: &Playbook, facts: &[Facts]) -> (Duration, usize) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = facts.len().div_ceil(workers).max(1);
    let started = Instant::now();
    let matched = std::thread::scope(|s| {
        let handles: Vec<_> = facts
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter(|f| !black_box(pb.evaluate(f)).fired.is_empty())
                        .count()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0))
            .sum::<usize>()
    });
    (started.elapsed(), matched)
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let path = database_path(&o);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let open = || -> anyhow::Result<Store> {
        Store::open(&Location::Sqlite(path.clone()))
            .with_context(|| format!("cannot open {}", path.display()))
    };
    let mut store = open()?;
    store.migrate().await?;
    let (since, until, fill_time) = match existing_fill(&store, &o).await? {
        Some((since, until)) => {
            eprintln!("reusing {} (already filled)", path.display());
            (since, until, None)
        }
        None => {
            drop(store);
            remove_database(&path)?;
            store = open()?;
            store.migrate().await?;
            eprintln!(
                "filling {} with {} messages ({} per case)…",
                path.display(),
                o.messages,
                o.messages_per_case
            );
            let started = Instant::now();
            let (since, until) = fill_store(&store, &o).await?;
            (since, until, Some(started.elapsed()))
        }
    };
    let cases: i64 = store.case_counts().await?.iter().map(|(_, n)| n).sum();
    println!("cores             {cores}");
    println!("database          {}", path.display());
    println!("messages          {}", o.messages);
    println!("cases             {cases}");
    match fill_time {
        Some(t) => println!(
            "fill              {:.1}s ({:.0} msg/s, including tagging)",
            t.as_secs_f64(),
            o.messages as f64 / t.as_secs_f64()
        ),
        None => println!("fill              reused"),
    }
    let facts = sample_facts(cases.max(0) as usize);
    let candidates = [
        ("1 rule (read floor)".to_owned(), FLOOR_PLAYBOOK.to_owned()),
        (
            "3 rules (examples/playbook.toml)".to_owned(),
            EXAMPLE_PLAYBOOK.to_owned(),
        ),
        (
            format!("{} rules (generated, the store's own)", o.rules),
            playbook_source(o.rules, true),
        ),
        (
            format!("{} rules (generated, without the open-cases rule)", o.rules),
            playbook_source(o.rules, false),
        ),
    ];
    for run in 1..=o.runs {
        for (label, source) in &candidates {
            simulate_once(&store, label, source, run, since, until, &facts).await?;
        }
    }
    Ok(())
}

async fn simulate_once(
    store: &Store,
    label: &str,
    source: &str,
    run: usize,
    since: Timestamp,
    until: Timestamp,
    facts: &[Facts],
) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pb = store
        .check_playbook(source.to_owned())
        .await
        .map_err(playbook_error)?;
    let (eval_time, _) = evaluate_only(&pb, facts);
    let started = Instant::now();
    let report = store.simulate_playbook(pb, since, until).await?;
    let wall = started.elapsed();
    println!("simulate {label}, run {run}");
    println!(
        "  wall            {:.2}s  ({:.0} cases/s)",
        wall.as_secs_f64(),
        report.cases as f64 / wall.as_secs_f64()
    );
    println!(
        "  cases {}  unmatched {}  routed_differently {}  rules that fired {} of {}",
        report.cases,
        report.unmatched,
        report.routed_differently,
        report.rules.iter().filter(|r| r.matched > 0).count(),
        report.rules.len()
    );
    println!(
        "  evaluation alone, in memory, {cores} cores: {:.2}s ({:.0} cases/s)",
        eval_time.as_secs_f64(),
        facts.len() as f64 / eval_time.as_secs_f64()
    );
    Ok(())
}
