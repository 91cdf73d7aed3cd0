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
pub mod mlp;
pub mod model;
pub mod retrieve;
pub mod sarcasm;
mod scratch;
pub mod sentiment;
mod vocab;

use model::{Prediction, Prepared, TextModel};
use std::sync::Arc;
use switchboard_core::{
    Classification, Evidence, Leaning, PersonalDataSpan, SentimentScore, Understood, UnknownReason,
    WhyUnknown, guard,
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

    /// A text with no word to read (only a link, a handle, a number, `?`, an emoticon such as
    /// `xD`), or none the model knows (a language it was not trained on), is `unknown` with
    /// confidence 0: a model would answer from its link, digit or `!` features alone, sure of
    /// itself (a bare link read as PR at 0.99, `Моя карта не работает!` as PR at 0.88).
    /// Every `unknown` says which rule gave it and, where the model read the text, the label
    /// it leaned to.
    fn classify(&self, model: &TextModel, p: &Prepared<'_>) -> Classification {
        let unknown = |confidence: f32, why: WhyUnknown| Classification {
            label: model::UNKNOWN.to_owned(),
            confidence,
            because: Vec::new(),
            unknown: Some(why),
        };
        let nothing_read = |reason| WhyUnknown {
            reason,
            leaned_to: None,
            floor: None,
            words: None,
            new_words: None,
        };
        if !p.has_words() {
            return unknown(0.0, nothing_read(UnknownReason::NoWords));
        }
        let (probs, because, reading) = model.assess(p, self.evidence);
        if !reading.reads_a_word {
            return unknown(0.0, nothing_read(UnknownReason::NoKnownWords));
        }
        let Prediction { label, confidence } = model.decide_reading(&probs, reading);
        if label == model::UNKNOWN {
            let best = model::argmax(&probs);
            let leaned_to = Some(Leaning {
                label: model.labels()[best].clone(),
                confidence: probs[best],
            });
            let below = probs[best] < model.header().unknown_below;
            return unknown(
                confidence,
                if below {
                    WhyUnknown {
                        reason: UnknownReason::BelowFloor,
                        leaned_to,
                        floor: Some(model::shortest(model.header().unknown_below)),
                        words: None,
                        new_words: None,
                    }
                } else {
                    WhyUnknown {
                        reason: UnknownReason::NewWords,
                        leaned_to,
                        floor: None,
                        words: Some(reading.words),
                        new_words: Some(reading.new_words),
                    }
                },
            );
        }
        Classification {
            label,
            confidence,
            because: because
                .into_iter()
                .map(|e| Evidence {
                    feature: e.feature,
                    weight: e.weight,
                })
                .collect(),
            unknown: None,
        }
    }

    /// Everything about one text. The text is tokenised and its word n-grams hashed once for
    /// all the models (when their word n-grams agree); each model adds the character n-grams
    /// of the lengths it was trained with.
    pub fn analyze(&self, text: &str) -> Understood {
        let p = Prepared::new(text, self.purpose.feature_config());
        let (probs, _, _) = self.sentiment.assess(&p, 0);
        let s = unless_sarcastic(sentiment_from(&self.sentiment, &probs), text);
        Understood {
            intent: self.intent.as_ref().map(|m| self.classify(m, &p)),
            purpose: Some(self.classify(&self.purpose, &p)),
            sentiment: Some(SentimentScore {
                label: s.label.to_owned(),
                score: s.score,
                by_person: false,
            }),
            language: p.language().map(|l| l.code.to_owned()),
            personal_data: personal_data(text),
        }
    }
}

/// A sentiment model's verdict: the most likely label, and `P(positive) − P(negative)`;
/// praise the text marks as sarcasm is negative ([`sarcasm::marked`]).
pub fn sentiment_of(model: &TextModel, text: &str) -> sentiment::Sentiment {
    unless_sarcastic(sentiment_from(model, &model.probabilities(text)), text)
}

/// A positive verdict on a text marked as sarcasm, turned round: negative, its score negated.
fn unless_sarcastic(s: sentiment::Sentiment, text: &str) -> sentiment::Sentiment {
    if s.label == "positive" && sarcasm::marked(text) {
        sentiment::Sentiment {
            label: "negative",
            score: -s.score,
        }
    } else {
        s
    }
}

fn sentiment_from(model: &TextModel, p: &[f32]) -> sentiment::Sentiment {
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
            scheme: (f.kind == guard::FindingKind::NationalId)
                .then(|| guard::IdScheme::of(&text[f.start..f.end]))
                .flatten()
                .map(|s| s.code().to_owned()),
            start: f.start,
            end: f.end,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An intent model trained with `model train`'s n-grams (characters 3 to 5, where the
    /// shipped purpose model reads 4 only).
    fn with_intents() -> Analyzer {
        let a = intents_with(model::TrainConfig::default());
        assert_ne!(
            a.intent.as_ref().unwrap().feature_config(),
            Analyzer::builtin().purpose.feature_config()
        );
        a
    }

    fn intents_with(cfg: model::TrainConfig) -> Analyzer {
        let intent = model::train("intent", &intent_examples(), &cfg).unwrap();
        Analyzer {
            intent: Some(Arc::new(intent)),
            ..Analyzer::builtin()
        }
    }

    fn intent_examples() -> Vec<model::Example> {
        [
            ("my card was declined at the shop", "card_declined"),
            ("card payment declined again", "card_declined"),
            ("why was my card refused", "card_declined"),
            ("I want a refund for my order", "refund"),
            ("please refund the double charge", "refund"),
            ("refund me, the parcel never came", "refund"),
        ]
        .into_iter()
        .map(|(text, label)| model::Example {
            text: text.to_owned(),
            label: label.to_owned(),
        })
        .collect()
    }

    /// A text with nothing but a link, a handle, a number or marks has no purpose or intent to
    /// read: `unknown` at 0, with no evidence; a word beside them is read as usual.
    #[test]
    fn a_text_without_words_is_unknown() {
        let a = with_intents();
        for text in [
            "https://t.co/abc",
            "@lakeside_help",
            "?",
            "12345",
            "!!!",
            "🙏🙏",
            "@a https://x.y 42 ?!",
            "",
            // Emoticons written with letters are marks too.
            "xD",
            ":D :p",
            // Words in a language the models do not know: once PR at 0.88, from the `!`.
            "Моя карта не работает!",
            "Картата ми не работи!",
        ] {
            let u = a.analyze(text);
            for c in [u.purpose.unwrap(), u.intent.unwrap()] {
                assert_eq!((c.label.as_str(), c.confidence), ("unknown", 0.0), "{text}");
                assert!(c.because.is_empty(), "{text}");
            }
        }
        let u = a.analyze("@lakeside_help refund?");
        assert_ne!(u.purpose.unwrap().label, "unknown");
    }

    /// Each `unknown` names its rule; where the model read the text, it names the label the
    /// model leaned to, the floor it missed or the words that were new.
    #[test]
    fn an_unknown_says_why() {
        let why = |a: &Analyzer, text: &str| {
            let c = a.analyze(text).intent.unwrap();
            assert_eq!(c.label, "unknown", "{text}");
            assert!(c.because.is_empty(), "{text}");
            c.unknown.unwrap()
        };
        let a = with_intents();
        assert_eq!(why(&a, "!!!").reason, UnknownReason::NoWords);
        let cyrillic = why(&a, "Моя карта не работает!");
        assert_eq!(cyrillic.reason, UnknownReason::NoKnownWords);
        assert_eq!(cyrillic.leaned_to, None);
        // A label is given with no reason.
        let known = a.analyze("my card was declined").intent.unwrap();
        assert_eq!(
            (known.label.as_str(), known.unknown),
            ("card_declined", None)
        );

        // The same examples with a floor no answer reaches: the model leans to the label it
        // would have given, and the confidence is still the model's.
        let strict = intents_with(model::TrainConfig {
            unknown_below: 1.0,
            ..model::TrainConfig::default()
        });
        let c = strict
            .analyze("was my card refund declined")
            .intent
            .unwrap();
        let w = c.unknown.clone().unwrap();
        assert_eq!(w.reason, UnknownReason::BelowFloor);
        assert_eq!(w.floor, Some(1.0));
        let leaned = w.leaned_to.unwrap();
        assert!(["card_declined", "refund"].contains(&leaned.label.as_str()));
        assert_eq!(leaned.confidence, c.confidence);
        assert!(leaned.confidence < 1.0);

        // With the new-words rule, a question about something else: new words, counted.
        let wary = intents_with(model::TrainConfig {
            unknown_below: 0.0,
            new_words_above: Some(0.2),
            ..model::TrainConfig::default()
        });
        let c = wary
            .analyze("what a lovely sunny afternoon for my card")
            .intent
            .unwrap();
        assert_eq!((c.label.as_str(), c.confidence), ("unknown", 0.0));
        let w = c.unknown.unwrap();
        assert_eq!(w.reason, UnknownReason::NewWords);
        // `a`, `for`, `my` and `card` are in the examples.
        assert_eq!((w.words, w.new_words), (Some(8), Some(4)));
        assert!(w.leaned_to.is_some());
        assert_eq!(w.floor, None);
    }

    /// Praise the writer marks as sarcasm is negative; unmarked praise stays positive.
    #[test]
    fn marked_sarcasm_is_negative() {
        let a = Analyzer::builtin();
        for (text, want) in [
            ("So helpful. Not.", "negative"),
            ("yeah right, like that will ever happen /s", "negative"),
            ("So helpful, thank you!", "positive"),
        ] {
            let u = a.analyze(text).sentiment.unwrap();
            assert_eq!(u.label, want, "{text}");
            assert_eq!(sentiment_of(&a.sentiment, text).label, want, "{text}");
        }
        let plain = sentiment_of(&a.sentiment, "So helpful.");
        let marked = sentiment_of(&a.sentiment, "So helpful. Not.");
        assert!(
            plain.score > 0.0 && marked.score < 0.0,
            "{plain:?} {marked:?}"
        );
    }

    /// One shared featurisation gives exactly what each model says on its own, also when the
    /// models read different character n-gram lengths.
    #[test]
    fn shared_preparation_changes_nothing() {
        for a in [Analyzer::builtin(), with_intents()] {
            shared_preparation_matches(&a);
        }
    }

    fn shared_preparation_matches(a: &Analyzer) {
        for text in [
            "Terrible!! My order never arrived. So angry",
            "wow, love the new ad!!! 😍",
            "How much is the pro plan? need a quote",
            "my card was declined, I want a refund!!",
            "",
            "!!!",
        ] {
            let u = a.analyze(text);
            if !Prepared::new(text, a.purpose.feature_config()).has_words() {
                assert_eq!(
                    u.purpose.map(|c| (c.label, c.confidence)),
                    Some(("unknown".into(), 0.0))
                );
                continue;
            }
            if let Some(intent) = &a.intent {
                let alone = intent.predict(text);
                let got = u.intent.as_ref().map(|c| (c.label.clone(), c.confidence));
                assert_eq!(got, Some((alone.label, alone.confidence)), "{text}");
            }
            let purpose = a.purpose.predict(text);
            let got = u.purpose.as_ref().map(|c| (c.label.clone(), c.confidence));
            assert_eq!(
                got,
                Some((purpose.label.clone(), purpose.confidence)),
                "{text}"
            );
            if purpose.label != model::UNKNOWN {
                let why = a.purpose.explain(text, &purpose.label, a.evidence);
                let because: Vec<(String, f32)> = u
                    .purpose
                    .as_ref()
                    .map(|c| {
                        c.because
                            .iter()
                            .map(|e| (e.feature.clone(), e.weight))
                            .collect()
                    })
                    .unwrap_or_default();
                let want: Vec<(String, f32)> =
                    why.into_iter().map(|e| (e.feature, e.weight)).collect();
                assert_eq!(because, want, "{text}");
            }
            assert_eq!(
                u.language,
                language::detect(text).map(|l| l.code.to_owned()),
                "{text}"
            );
            let s = sentiment_of(&a.sentiment, text);
            let got = u.sentiment.as_ref().map(|s| (s.label.clone(), s.score));
            assert_eq!(got, Some((s.label.to_owned(), s.score)), "{text}");
        }
    }
}
