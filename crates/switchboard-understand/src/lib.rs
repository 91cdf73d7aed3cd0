//! Understanding a message before it is routed: its purpose and intent (trainable linear
//! classifiers over hashed n-grams), its sentiment, its language, and the personal data it
//! carries. Pure, CPU-bound code: no I/O, no async; callers run training off their async
//! threads.
//!
//! - [`model`]: the classifier (train, predict with calibrated confidence, explain, save,
//!   load), and the scores `model eval` prints.
//! - [`sentiment`], [`language`]: the other signals.
//! - [`defaults`]: the models and lexicon that ship in the binary, trained from examples the
//!   project wrote (`data/`).
//! - [`Analyzer`]: all of it for one text.

pub mod defaults;
pub mod examples;
pub mod features;
pub mod language;
pub mod linear;
pub mod model;
pub mod sentiment;

use model::{Prediction, TextModel};
use std::sync::Arc;
use switchboard_core::{
    Classification, Evidence, PersonalDataSpan, SentimentScore, Understood, guard,
};

/// The models one workspace understands messages with.
#[derive(Debug, Clone)]
pub struct Analyzer {
    pub purpose: Arc<TextModel>,
    pub intent: Option<Arc<TextModel>>,
    pub sentiment: Arc<TextModel>,
    /// How many words of evidence to give with each classification (0: none, fastest).
    pub evidence: usize,
}

impl Analyzer {
    /// The shipped purpose and sentiment models, no intent model.
    pub fn builtin() -> Analyzer {
        Analyzer {
            purpose: defaults::purpose_model(),
            intent: None,
            sentiment: defaults::sentiment_model(),
            evidence: 3,
        }
    }

    fn classify(&self, model: &TextModel, text: &str) -> Classification {
        let Prediction { label, confidence } = model.predict(text);
        let because = if self.evidence > 0 && label != model::UNKNOWN {
            model
                .explain(text, &label, self.evidence)
                .into_iter()
                .map(|e| Evidence {
                    feature: e.feature,
                    weight: e.weight,
                })
                .collect()
        } else {
            Vec::new()
        };
        Classification {
            label,
            confidence,
            because,
        }
    }

    /// Everything about one text.
    pub fn analyze(&self, text: &str) -> Understood {
        let s = sentiment_of(&self.sentiment, text);
        Understood {
            intent: self.intent.as_ref().map(|m| self.classify(m, text)),
            purpose: Some(self.classify(&self.purpose, text)),
            sentiment: Some(SentimentScore {
                label: s.label.to_owned(),
                score: s.score,
            }),
            language: language::detect(text).map(|l| l.code.to_owned()),
            personal_data: personal_data(text),
        }
    }
}

/// A sentiment model's verdict: the most likely label, and `P(positive) − P(negative)`.
pub fn sentiment_of(model: &TextModel, text: &str) -> sentiment::Sentiment {
    let p = model.probabilities(text);
    let prob = |l: &str| {
        model
            .labels()
            .iter()
            .position(|x| x == l)
            .map_or(0.0, |i| p[i])
    };
    let best = (0..p.len())
        .reduce(|a, b| if p[b] > p[a] { b } else { a })
        .unwrap_or(0);
    let label = match model.labels()[best].as_str() {
        "negative" => "negative",
        "positive" => "positive",
        _ => "neutral",
    };
    sentiment::Sentiment {
        label,
        score: prob("positive") - prob("negative"),
    }
}

/// Personal data by kind and position (the guards' detectors).
pub fn personal_data(text: &str) -> Vec<PersonalDataSpan> {
    guard::personal_data(text)
        .into_iter()
        .map(|f| PersonalDataSpan {
            kind: match f.kind {
                guard::FindingKind::CardNumber => "card_number",
                guard::FindingKind::Iban => "iban",
                guard::FindingKind::NationalId => "national_id",
                guard::FindingKind::Email => "email",
                guard::FindingKind::Phone => "phone",
                guard::FindingKind::BannedPhrase(_) => "banned_phrase",
            }
            .to_owned(),
            start: f.start,
            end: f.end,
        })
        .collect()
}
