//! `switchboard bench deflection`: how many cases the demo workspace answers on its own, and
//! how many of those answers are wrong. A fresh demo (its playbook, knowledge base and
//! channels, optionally with another `auto_answer` threshold) is fed the demo traffic's mix
//! of messages, each from a new person so each opens its own case, through the real signed
//! webhooks. Every general question in the mix is labelled with the article that answers it,
//! or with none; once every automatic answer has settled, each case is judged: answered with
//! the right article, answered wrongly (another article, or any article where none fits), or
//! left to a person, and why.

use crate::demo::{self, DemoChannel};
use crate::demo_data::{self as data, Sample};
use anyhow::{Context, bail};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use switchboard_store::{AutoAnswerRecord, CaseFilter, KbKind, Store};

/// What `measure` found.
#[derive(Debug, Serialize)]
pub struct DeflectionReport {
    /// Messages posted, and the cases they opened.
    pub messages: usize,
    pub cases: usize,
    /// General questions among them, and those an article answers.
    pub questions: usize,
    pub answerable: usize,
    /// Cases resolved by an automatic answer, right and wrong.
    pub auto_answered: usize,
    pub correct: usize,
    pub wrong: usize,
    /// Automatic answers held for a reviewer (not counted as answered).
    pub held: usize,
    /// `auto_answered / cases`: the share of all inbound cases nobody had to touch.
    pub deflection_rate: f64,
    /// `correct / answerable`: how many of the questions the knowledge base can answer were.
    pub answerable_deflected: f64,
    /// `wrong / auto_answered`: the figure the threshold must keep under 2%.
    pub wrong_share: f64,
    /// Cases a rule sent to an automatic answer that was not given, by reason.
    pub skipped: BTreeMap<String, usize>,
    /// Up to ten wrong answers: the question and the article sent.
    pub wrong_examples: Vec<(String, String)>,
}

/// How one case ended, judged against its message's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Correct,
    Wrong {
        sent: String,
    },
    Held,
    Skipped(String),
    /// No rule asked for an automatic answer.
    NotAsked,
}

/// Judges a case: `record` is its automatic answer, `title` the title of the article sent.
pub fn judge(sample: &Sample, record: Option<&AutoAnswerRecord>, title: Option<&str>) -> Verdict {
    let Some(r) = record else {
        return Verdict::NotAsked;
    };
    match r.state.as_str() {
        "answered" | "confirmed" | "reopened" => {
            let sent = title.unwrap_or("(an unknown article)");
            if sample.answer == Some(sent) {
                Verdict::Correct
            } else {
                Verdict::Wrong {
                    sent: sent.to_owned(),
                }
            }
        }
        "held" => Verdict::Held,
        "skipped" | "undelivered" => Verdict::Skipped(
            r.reason
                .clone()
                .unwrap_or_else(|| r.state.clone())
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
        other => Verdict::Skipped(other.to_owned()),
    }
}

/// The demo playbook with every `auto_answer` threshold set to `t`.
pub fn with_threshold(playbook: &str, t: f64) -> anyhow::Result<String> {
    if !(0.0..=1.0).contains(&t) {
        bail!("--min-confidence must be between 0 and 1");
    }
    let from = "then.auto_answer = { min_confidence = 0.35 }";
    if !playbook.contains(from) {
        bail!("the demo playbook has no auto_answer threshold to change");
    }
    Ok(playbook.replace(
        from,
        &format!("then.auto_answer = {{ min_confidence = {t} }}"),
    ))
}

/// Every sample the traffic can send, by text.
fn samples() -> HashMap<&'static str, Sample> {
    [
        data::QUESTIONS,
        data::COMPLAINTS,
        data::LEADS,
        data::PRAISE,
        data::CRISIS,
    ]
    .into_iter()
    .flatten()
    .map(|s| (s.text, *s))
    .collect()
}

/// Posts `messages` messages of the demo's mix (seeded, so runs compare), waits until every
/// automatic answer has settled, and judges each case.
pub async fn measure(
    store: &Store,
    base: &str,
    channels: &[DemoChannel],
    messages: usize,
    seed: u64,
) -> anyhow::Result<DeflectionReport> {
    let mut rng = StdRng::seed_from_u64(seed);
    let http = reqwest::Client::new();
    let first_id = 1_000_000_000_000u64 + seed * 1_000_000;
    for i in 0..messages {
        let (sample, ch) =
            demo::next_message(&mut rng, channels).context("the demo has no channel to send on")?;
        let who = 100_000 + i as u64;
        let name = data::FIRST_NAMES[i % data::FIRST_NAMES.len()];
        let out = demo::envelope(base, ch, who, name, sample.text, first_id + i as u64);
        if !demo::send(&http, out).await {
            bail!("the server refused message {i}; see the log");
        }
    }

    // Wait for every message to be on a case and every automatic answer decided.
    let started = Instant::now();
    let cases = loop {
        let page = store
            .list_cases(CaseFilter::default(), None, messages as i64 + 10)
            .await?;
        let pending = store.pending_auto_answers(1).await?;
        if page.items.len() >= messages && pending.is_empty() {
            break page.items;
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!(
                "after 5 minutes {} of {messages} cases exist and answers are still pending",
                page.items.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let titles: HashMap<String, String> = store
        .kb_items(KbKind::Article, false)
        .await?
        .into_iter()
        .map(|a| {
            let title = a.data["title"].as_str().unwrap_or_default().to_owned();
            (a.id, title)
        })
        .collect();
    let known = samples();
    let questions: Vec<&str> = data::QUESTIONS.iter().map(|s| s.text).collect();
    let mut report = DeflectionReport {
        messages,
        cases: cases.len(),
        questions: 0,
        answerable: 0,
        auto_answered: 0,
        correct: 0,
        wrong: 0,
        held: 0,
        deflection_rate: 0.0,
        answerable_deflected: 0.0,
        wrong_share: 0.0,
        skipped: BTreeMap::new(),
        wrong_examples: Vec::new(),
    };
    for case in &cases {
        let detail = store.case(case.id).await?;
        let first = detail.messages.first().context("a case without messages")?;
        let text = first
            .text
            .strip_prefix("@LakesideCollege ")
            .unwrap_or(&first.text);
        let sample = known
            .get(text)
            .with_context(|| format!("a case for a message the bench did not send: {text:?}"))?;
        if questions.contains(&sample.text) {
            report.questions += 1;
        }
        if sample.answer.is_some() {
            report.answerable += 1;
        }
        let record = detail.auto_answer.as_ref();
        let title = record
            .and_then(|r| r.article_id.as_ref())
            .and_then(|id| titles.get(id))
            .map(String::as_str);
        match judge(sample, record, title) {
            Verdict::Correct => {
                report.auto_answered += 1;
                report.correct += 1;
            }
            Verdict::Wrong { sent } => {
                report.auto_answered += 1;
                report.wrong += 1;
                if report.wrong_examples.len() < 10 {
                    report.wrong_examples.push((sample.text.to_owned(), sent));
                }
            }
            Verdict::Held => report.held += 1,
            Verdict::Skipped(reason) => *report.skipped.entry(reason).or_default() += 1,
            Verdict::NotAsked => {}
        }
    }
    let share = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            (a as f64 / b as f64 * 10_000.0).round() / 10_000.0
        }
    };
    report.deflection_rate = share(report.auto_answered, report.cases);
    report.answerable_deflected = share(report.correct, report.answerable);
    report.wrong_share = share(report.wrong, report.auto_answered);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::Timestamp;
    use switchboard_core::playbook::AutoAnswer;

    fn record(state: &str, reason: Option<&str>) -> AutoAnswerRecord {
        AutoAnswerRecord {
            state: state.into(),
            reason: reason.map(str::to_owned),
            article_id: Some("a1".into()),
            confidence: Some(0.9),
            reply_id: None,
            policy: AutoAnswer {
                min_confidence: None,
                on_negative: false,
                on_crisis: false,
            },
            created_at: Timestamp::from_unix_micros(0),
            updated_at: Timestamp::from_unix_micros(0),
        }
    }

    #[test]
    fn every_labelled_answer_is_an_article_of_the_demo() {
        let titles: Vec<String> = data::KB
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["title"].as_str().map(str::to_owned))
            .collect();
        for s in samples().values() {
            if let Some(a) = s.answer {
                assert!(titles.iter().any(|t| t == a), "{a:?} is not a demo article");
            }
        }
        // And some general questions have no article, so wrong answers can show.
        assert!(data::QUESTIONS.iter().any(|s| s.answer.is_none()));
    }

    #[test]
    fn cases_are_judged_by_their_label() {
        let game = data::QUESTIONS[0];
        let canteen = *data::QUESTIONS
            .iter()
            .find(|s| s.answer.is_none())
            .expect("a question without an article");
        let answered = record("answered", None);
        assert_eq!(judge(&game, Some(&answered), game.answer), Verdict::Correct);
        assert_eq!(
            judge(&game, Some(&answered), Some("Campus tours")),
            Verdict::Wrong {
                sent: "Campus tours".into()
            }
        );
        assert_eq!(
            judge(&canteen, Some(&answered), Some("When is the library open?")),
            Verdict::Wrong {
                sent: "When is the library open?".into()
            }
        );
        assert_eq!(
            judge(
                &game,
                Some(&record("skipped", Some("channel_rules: too_long"))),
                None
            ),
            Verdict::Skipped("channel_rules".into())
        );
        assert_eq!(
            judge(&game, Some(&record("held", None)), game.answer),
            Verdict::Held
        );
        assert_eq!(judge(&game, None, None), Verdict::NotAsked);
    }

    #[test]
    fn the_threshold_is_replaced_or_refused() {
        let p = with_threshold(data::PLAYBOOK, 0.8).expect("a threshold");
        assert!(p.contains("min_confidence = 0.8 }"));
        assert!(!p.contains("min_confidence = 0.35 }"));
        assert!(with_threshold(data::PLAYBOOK, 1.5).is_err());
        assert!(with_threshold("[[team]]", 0.8).is_err());
    }
}
