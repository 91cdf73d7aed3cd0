//! A trained text classifier: hashed n-gram features weighted by TF-IDF, one linear SVM per
//! label, and a temperature that turns scores into calibrated probabilities.
//!
//! # Training ([`train`])
//! 1. Every example is tokenised and its n-grams hashed ([`crate::features`]).
//! 2. The vocabulary is every hashed n-gram seen in at least `min_df` examples; each gets an
//!    inverse document frequency `ln((1 + N) / (1 + df)) + 1`.
//! 3. An example's vector: per n-gram `(1 + ln tf) · idf`, each block (words, characters)
//!    L2-normalised on its own and scaled by its weight.
//! 4. One-vs-rest linear SVMs ([`crate::linear`]).
//! 5. Calibration: with enough examples, a stratified tenth is held back, a model trained on
//!    the rest scores it, and the softmax temperature minimising the held-back negative
//!    log-likelihood is kept; then the model is trained again on everything.
//! 6. Weights are stored as `i8` with one scale per label (a few MB for 77 intents).
//!
//! # Predicting
//! `softmax(T · scores)`; the best label, or `unknown` when its probability is below the
//! model's `unknown_below`. [`TextModel::explain`] credits each word of the text with its
//! n-grams' contributions to the winning label.
//!
//! # File format ([`TextModel::to_bytes`])
//! `SBMODEL\0`, a little-endian `u32` header length, the JSON [`Header`], then the
//! vocabulary keys (`u64`), idf (`f32`), per-label scales and biases (`f32`), the weights
//! (`i8`, feature-major), and a SHA-256 of everything before it. A file that fails any check
//! is refused whole.

use crate::features::{self, Block, FeatureConfig, Token};
use crate::linear::{Rng, Sparse, SvmConfig, train_one_vs_rest};
use crate::scratch;
use crate::vocab::{Feature, Vocabulary};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

/// The file format's version of a linear model; a model of another format is refused.
pub const FORMAT: u32 = 1;
/// The format of a model with a hidden layer ([`crate::mlp`]): builds that read only
/// [`FORMAT`] refuse it by number instead of misreading it.
pub const FORMAT_NETWORK: u32 = 2;
const MAGIC: &[u8; 8] = b"SBMODEL\0";
/// The label of a prediction below the model's confidence floor.
pub const UNKNOWN: &str = "unknown";

type Index = Vocabulary;

/// Hand-made features a model adds to its n-grams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extras {
    None,
    /// Lexicon scores and style marks ([`crate::sentiment::lexicon_features`]).
    SentimentLexicon,
}

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub features: FeatureConfig,
    /// Weight of the character block against the word block (1.0 each by default).
    pub char_weight: f32,
    /// Scale of the hand-made features ([`Extras`]) against the n-gram blocks.
    pub dense_weight: f32,
    pub min_df: u32,
    pub svm: SvmConfig,
    /// Below this probability, a prediction is `unknown`.
    pub unknown_below: f32,
    /// A text more than this share of whose words the model does not know as words is
    /// `unknown` too, unless the model is all but sure ([`SURE_DESPITE_NEW_WORDS`]): a
    /// question about something else often shares the model's "how do I" and little more.
    /// `None` (the shipped models): only the floor decides.
    pub new_words_above: Option<f32>,
    pub extras: Extras,
    /// Threads for training (classes are independent problems).
    pub threads: usize,
    /// Multiplies the temperature fitted on the held-back examples (1: as fitted). Below 1
    /// when the examples are known to be easier than the texts the model will read, so its
    /// confidence would otherwise claim more than it delivers (the shipped models:
    /// [`crate::defaults::purpose_config`], [`crate::defaults::sentiment_config`]). The best
    /// label never changes with it, but a confidence floor (`unknown_below`, a playbook's
    /// `min_confidence`) then sees lower confidences. Must be positive.
    pub temperature_scale: f32,
    /// A hidden layer ([`crate::mlp`]) instead of one linear model per label, when set.
    pub mlp: Option<crate::mlp::MlpConfig>,
    /// The examples from this index on keep every n-gram they have, however few examples
    /// share it (`min_df` applies to the others): the learning loop's corrections, so that
    /// one agent's correction with a new word teaches a network that word.
    pub keep_all_from: Option<usize>,
}

/// The share of a text's words new to an intent model above which it is `unknown` (unless the
/// model is sure, [`SURE_DESPITE_NEW_WORDS`]). Chosen on CLINC150's 1,000 out-of-scope test
/// queries and 20% of BANKING77 held out (docs/PERFORMANCE.md); on CLINC150's 100 validation
/// queries, not used to choose, a network trained on the other 80% leaves 87 `unknown` at the
/// default floor instead of 68, and answers 99.3% of the bank questions instead of 99.45%, as
/// accurately. On real customer tweets to banks it took the intent from 16 of 45, nearly all
/// of them wrong.
pub const NEW_WORDS_ABOVE: f32 = 0.2;

/// Whether an intent model trained on `examples` examples says `unknown` for new words by
/// default ([`NEW_WORDS_ABOVE`]): from as many as make a network ([`NETWORK_FROM`]). A few
/// dozen examples a label leave most of a real customer's words new to the model (`it's been
/// ten days and my shoes never came`, asked of 75 shop examples), so a small model decides by
/// its floor alone unless told otherwise.
pub fn default_new_words_above(examples: usize) -> Option<f32> {
    (examples >= NETWORK_FROM).then_some(NEW_WORDS_ABOVE)
}

/// A confidence at which new words do not make a prediction `unknown` (`I prefer Mastecard`:
/// a misspelling the character n-grams read).
pub const SURE_DESPITE_NEW_WORDS: f32 = 0.95;

/// What a text gives a model to read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    /// Whether the model knows any of its words, as a word or by a character n-gram of one.
    pub reads_a_word: bool,
    /// Its words (not links, handles, numbers or emoticons), counted only for a model with
    /// [`Header::new_words_above`] (0 for the others).
    pub words: u32,
    /// Those the model does not know as words (likewise).
    pub new_words: u32,
}

/// Examples from which a network is the default ([`default_hidden`]).
pub const NETWORK_FROM: usize = 1000;

/// The hidden layer `model train` and the API give a training set of `examples` when not
/// told: 256 units from [`NETWORK_FROM`] examples, none (a linear model) below. Measured on
/// BANKING77 (77 labels; trained on every 10th, 4th or every row of the 80% part of the
/// 80/20 split, scored on the 20%): 800 examples, linear 0.728 and network 0.750; 2,000,
/// 0.835 and 0.845; 8,003, 0.9095 and 0.913–0.918 (3 seeds). Below that nothing was
/// measured, so a small set stays linear.
pub fn default_hidden(examples: usize) -> usize {
    if examples >= NETWORK_FROM { 256 } else { 0 }
}

impl TrainConfig {
    /// How a model of this kind learns by default: a `sentiment` model reads the shipped
    /// lexicon's features beside its words, as the shipped sentiment model does (its
    /// confidence fitted to the examples as they are); any other kind, word and character
    /// n-grams.
    pub fn for_kind(kind: &str) -> TrainConfig {
        match kind {
            "sentiment" => TrainConfig {
                temperature_scale: 1.0,
                ..crate::defaults::sentiment_config()
            },
            // Every message has some purpose: words new to the model say nothing of its scope.
            "purpose" => TrainConfig {
                new_words_above: None,
                ..TrainConfig::default()
            },
            _ => TrainConfig::default(),
        }
    }

    /// These settings with a network of `hidden` units instead of linear models (0: linear,
    /// unchanged). A network keeps n-grams seen in at least 2 examples: on BANKING77 that
    /// halves its first layer (9.1 → 5.1 MB) and scored 0.9152 against 0.9128 (3 seeds, the
    /// 80/20 split); the linear model keeps every n-gram (0.9095 against 0.9045 with 2).
    /// Its character n-grams are 4-grams only (when it has any): on the same split they
    /// scored as 3- to 5-grams did (0.9155 against 0.9152, 3 seeds) with a 3.5 MB file
    /// instead of 5.1, in 60% of the training time and of the time to predict, because its
    /// cost is a first-layer row per n-gram (docs/PERFORMANCE.md).
    pub fn with_network(self, hidden: usize) -> TrainConfig {
        if hidden == 0 {
            return self;
        }
        let features = if self.features.char_max > 0 {
            FeatureConfig {
                char_min: 4,
                char_max: 4,
                ..self.features
            }
        } else {
            self.features
        };
        TrainConfig {
            mlp: Some(crate::mlp::MlpConfig {
                hidden,
                ..Default::default()
            }),
            min_df: self.min_df.max(2),
            features,
            ..self
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            features: FeatureConfig::default(),
            char_weight: 1.0,
            dense_weight: 1.0,
            min_df: 1,
            svm: SvmConfig::default(),
            unknown_below: 0.3,
            new_words_above: Some(NEW_WORDS_ABOVE),
            extras: Extras::None,
            threads: 2,
            temperature_scale: 1.0,
            mlp: None,
            keep_all_from: None,
        }
    }
}

/// What a model file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    /// What it predicts: `purpose`, `intent`, `sentiment`, or a name a workspace chose.
    pub kind: String,
    pub labels: Vec<String>,
    pub features: FeatureConfig,
    pub char_weight: f32,
    #[serde(default = "one")]
    pub dense_weight: f32,
    pub extras: Extras,
    pub temperature: f32,
    pub unknown_below: f32,
    /// See [`TrainConfig::new_words_above`]; absent in files made before it, which then
    /// decide by the floor alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_words_above: Option<f32>,
    /// Examples it was trained on.
    pub examples: usize,
    /// Accuracy on the held-back tenth used for calibration, if there was one.
    pub holdout_accuracy: Option<f32>,
    /// Hidden units, for a network ([`FORMAT_NETWORK`]); absent (0) for a linear model.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hidden: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn one() -> f32 {
    1.0
}

/// A trained classifier, ready to predict.
#[derive(Clone)]
pub struct TextModel {
    header: Header,
    /// The vocabulary: each n-gram's key to its feature (id and idf).
    index: Index,
    /// This model in [`WordCache`]s (a clone shares it: the same vocabulary).
    id: u64,
    /// The hand-made features' entries in it, looked up once.
    dense: Vec<Option<Feature>>,
    scales: Vec<f32>,
    bias: Vec<f32>,
    /// `n_features × n_labels`, feature-major.
    weights: Vec<i8>,
    /// A network's layers, when the model is one (then `weights`, `scales` and `bias` are
    /// empty).
    net: Option<crate::mlp::Quantized>,
}

impl std::fmt::Debug for TextModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextModel")
            .field("kind", &self.header.kind)
            .field("labels", &self.header.labels.len())
            .field("features", &self.index.len())
            .finish()
    }
}

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub label: String,
}

/// Why training or loading failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("no examples to train on")]
    Empty,
    #[error("the training was stopped before it ended")]
    Stopped,
    #[error("only one label ({0:?}): a classifier needs at least two")]
    OneLabel(String),
    #[error("label {label:?} has only {count} example(s); every label needs at least 2")]
    TooFewExamples { label: String, count: usize },
    #[error("not a Switchboard model file (it does not start with SBMODEL)")]
    NotAModel,
    #[error(
        "model format {0} is not supported (this build reads formats {FORMAT} and {FORMAT_NETWORK})"
    )]
    Format(u32),
    #[error("the model file is damaged: {0}")]
    Corrupt(String),
    #[error("bad training setting: {0}")]
    Setting(String),
    #[error(
        "a sentiment model's labels are negative, neutral and positive; {0:?} is not one \
         (map the file's labels to these first)"
    )]
    SentimentLabel(String),
    #[error(
        "a sentiment model needs examples of negative, neutral and positive; there are none \
         labelled {0}"
    )]
    SentimentMissing(String),
    #[error(
        "\"{0}\" cannot be a label: a model answers \"unknown\" when it is not sure (name what \
         these examples are about)"
    )]
    ReservedLabel(String),
    #[error(
        "calibrating needs at least {MIN_TO_CALIBRATE} examples whose labels the model knows; \
         there are {0}"
    )]
    TooFewToCalibrate(usize),
    #[error(
        "the model is right on {0} of these {0} examples with room to spare, so they cannot \
         show how sure it should be (fitting would make it certain of everything); calibrate \
         on examples it was not trained on, a held-back part of the labelled data"
    )]
    NothingToCalibrate(usize),
    #[error(
        "the model is right on {right:.1}% of these {examples} examples, against {holdout:.1}% \
         on the examples held back when it was trained: these look like the examples it was \
         trained on, and fitted on them it would be surer than it should be; calibrate on \
         labelled messages it has not seen (or, if these are, with --anyway)"
    )]
    LooksLikeTraining {
        examples: usize,
        right: f32,
        holdout: f32,
    },
}

/// Why a model has no `holdout_accuracy`.
pub const HOLDOUT_NONE: &str = "none held back: that takes 100 examples or more and 3 of every \
     label; the confidences use a fixed temperature, not one fitted on held-back examples";

/// The fewest labelled examples [`TextModel::recalibrate`] fits a temperature on.
pub const MIN_TO_CALIBRATE: usize = 20;

/// What [`TextModel::recalibrate`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recalibrated {
    /// The examples it fitted on (those whose label the model knows).
    pub examples: usize,
    pub temperature_before: f32,
    pub temperature_after: f32,
    /// The expected calibration error on those examples, before and after.
    pub ece_before: f64,
    pub ece_after: f64,
    /// Whether the temperature changed: a fit that does not lower the calibration error on
    /// these examples is not kept (`temperature_after` is then the one before).
    pub changed: bool,
}

/// A prediction: the label (or `unknown`) and its calibrated probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub label: String,
    pub confidence: f32,
}

/// A word or word pair of the text and how much it pushed toward the predicted label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub feature: String,
    pub weight: f32,
}

/// An n-gram occurrence: its key, block, tokens (`first..=last`) and length
/// ([`features::ngrams`]).
type Gram = (u64, Block, usize, usize, usize);
type Grams = Vec<Gram>;

/// One text's tokens, n-grams and hand-made features, before weighting.
fn raw_features(cfg: &FeatureConfig, extras: Extras, text: &str) -> (Vec<Token>, Grams, Vec<f32>) {
    let mut p = Prepared::new(text, cfg);
    let mut grams = p.grams_for(cfg).into_owned();
    if cfg.char_max > 0 {
        let (lo, hi) = (cfg.char_min.max(1), cfg.char_max.min(8));
        let mut buffers = Default::default();
        for (i, t) in p.tokens.iter().enumerate() {
            features::char_grams(lo, hi, t, &mut buffers, &mut |k, n| {
                grams.push((k, Block::Char, i, i, n))
            });
        }
    }
    let dense = dense_features(extras, &p).to_vec();
    (std::mem::take(&mut p.tokens), grams, dense)
}

/// A model's hand-made features of a text (none, or the lexicon's).
#[derive(Clone, Copy)]
struct Dense {
    values: [f32; crate::sentiment::LEXICON_FEATURES],
    len: usize,
}

impl std::ops::Deref for Dense {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.values[..self.len]
    }
}

fn dense_features(extras: Extras, p: &Prepared) -> Dense {
    match extras {
        Extras::None => Dense {
            values: Default::default(),
            len: 0,
        },
        Extras::SentimentLexicon => Dense {
            values: crate::sentiment::lexicon_features(p.text, &p.tokens, &p.keys, &p.clauses),
            len: crate::sentiment::LEXICON_FEATURES,
        },
    }
}

thread_local! {
    static TOKENS: Cell<Vec<Token>> = const { Cell::new(Vec::new()) };
    static CLAUSES: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
    static KEYS: Cell<Vec<u64>> = const { Cell::new(Vec::new()) };
    static GRAMS: Cell<Grams> = const { Cell::new(Vec::new()) };
    static MODEL_GRAMS: Cell<Grams> = const { Cell::new(Vec::new()) };
    static WORD_CACHES: std::cell::RefCell<Vec<WordCache>> = const { std::cell::RefCell::new(Vec::new()) };
    static IDS: Cell<Vec<Option<Feature>>> = const { Cell::new(Vec::new()) };
    static VECTOR: Cell<Sparse> = const { Cell::new(Vec::new()) };
    static SHARES: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    static TABLE: Cell<Vec<u64>> = const { Cell::new(Vec::new()) };
    static COUNTS: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
    static PLACED: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
    static BY_SPAN: Cell<Vec<[f32; 3]>> = const { Cell::new(Vec::new()) };
    static PUSHES: Cell<Vec<(f32, usize, usize)>> = const { Cell::new(Vec::new()) };
    static MERGED: Cell<Vec<(f32, usize, usize)>> = const { Cell::new(Vec::new()) };
}

/// A text tokenised and its word n-grams hashed once, for every model with the same word
/// n-grams (whether `!` counts aside): the purpose, intent and sentiment models of an
/// [`Analyzer`](crate::Analyzer) share one pass. Each model adds the character n-grams of
/// its own lengths, from its [`WordCache`].
pub struct Prepared<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    /// Each token's clause ([`features::tokens_in_clauses`]).
    clauses: Vec<u32>,
    /// Each token's [`features::word_key`] (its unigram's key), hashed once for every table
    /// that looks words up.
    keys: Vec<u64>,
    /// Every word n-gram, `!` included.
    grams: Grams,
    cfg: FeatureConfig,
}

impl<'a> Prepared<'a> {
    pub fn new(text: &'a str, cfg: &FeatureConfig) -> Prepared<'a> {
        let cfg = FeatureConfig {
            exclamations: true,
            char_min: 0,
            char_max: 0,
            ..*cfg
        };
        let (mut tokens, mut clauses) = (scratch::take(&TOKENS), scratch::take(&CLAUSES));
        features::tokens_in_clauses_into(text, &mut tokens, &mut clauses);
        let mut grams = scratch::take(&GRAMS);
        grams.reserve(tokens.len() * cfg.word_max);
        let mut keys = scratch::take(&KEYS);
        keys.reserve(tokens.len());
        features::ngrams(&cfg, &tokens, &mut |k, b, f, l, n| {
            // Each token's unigram comes before any n-gram starting after it.
            if b == Block::Word && n == 1 {
                keys.push(k);
            }
            grams.push((k, b, f, l, n))
        });
        debug_assert_eq!(keys.len(), tokens.len());
        Prepared {
            text,
            tokens,
            clauses,
            keys,
            grams,
            cfg,
        }
    }

    /// Whether the text has a word to read: not only links, `@handles`, numbers, punctuation,
    /// emoticons (`xD`, `:p`) or emoji.
    pub fn has_words(&self) -> bool {
        self.tokens.iter().any(is_word)
    }

    /// The text's language, from the same tokens.
    pub fn language(&self) -> Option<crate::language::Language> {
        crate::language::detect_keyed(&self.tokens, &self.keys)
    }

    /// Whether a model with settings `cfg` can use these word n-grams (`!` aside).
    fn serves(&self, cfg: &FeatureConfig) -> bool {
        cfg.word_max == self.cfg.word_max
    }

    /// The word n-grams a model with `cfg` sees: without those touching a `!` when it
    /// leaves `!` out. The order is kept.
    fn grams_for(&self, cfg: &FeatureConfig) -> std::borrow::Cow<'_, [Gram]> {
        let bangs = !cfg.exclamations && self.tokens.iter().any(|t| t == "!");
        if !bangs {
            return std::borrow::Cow::Borrowed(&self.grams[..]);
        }
        self.grams
            .iter()
            .copied()
            .filter(|&(_, _, first, last, _)| self.tokens[first..=last].iter().all(|t| t != "!"))
            .collect()
    }
}

/// Whether a token is a word to read: not a link, a handle, an emoticon, a number or a mark.
fn is_word(t: &Token) -> bool {
    *t != "url" && *t != "@user" && !features::is_emoticon(t) && t.chars().any(char::is_alphabetic)
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        scratch::give(&TOKENS, std::mem::take(&mut self.tokens));
        scratch::give(&CLAUSES, std::mem::take(&mut self.clauses));
        scratch::give(&KEYS, std::mem::take(&mut self.keys));
        scratch::give(&GRAMS, std::mem::take(&mut self.grams));
    }
}

/// Each word's character n-grams that a model knows, as its features, per thread.
///
/// A word's character n-grams are the same wherever it appears, and words repeat from one
/// message to the next: hashing every n-gram of every word and looking each up in the
/// vocabulary (most of them absent, the table larger than the core's cache) was the largest
/// part of the understanding step. Only known n-grams are kept: an unknown one adds nothing
/// to the vector or to the evidence. The order is the one [`features::ngrams`] gives, so the
/// sums, and so the results, are exactly those of the uncached path.
struct WordCache {
    model: u64,
    spans: features::WordTable<(u32, u32)>,
    /// Each known n-gram: its feature and its length in characters.
    features: Vec<(Feature, u8)>,
    buffers: (Vec<u8>, Vec<usize>),
}

/// Words kept per model and thread; the cache is emptied when full (a few hundred kB).
const CACHED_WORDS: usize = 8192;
/// Models with a cache per thread (a workspace's purpose and intent models, and a few more).
const CACHED_MODELS: usize = 4;

impl WordCache {
    /// Runs `f` with `model`'s cache on this thread.
    fn with<R>(model: &TextModel, f: impl FnOnce(&mut WordCache) -> R) -> R {
        WORD_CACHES.with(|caches| {
            let mut caches = caches.borrow_mut();
            let at = match caches.iter().position(|c| c.model == model.id) {
                Some(at) => at,
                None => {
                    if caches.len() >= CACHED_MODELS {
                        caches.remove(0);
                    }
                    caches.push(WordCache {
                        model: model.id,
                        spans: Default::default(),
                        features: Vec::new(),
                        buffers: Default::default(),
                    });
                    caches.len() - 1
                }
            };
            f(&mut caches[at])
        })
    }

    /// The known character n-grams of `word` (whose [`features::word_key`] is `key`), from
    /// the cache or worked out now.
    fn features(&mut self, model: &TextModel, word: &Token, key: u64) -> &[(Feature, u8)] {
        let (from, to) = match self.spans.get(key, word) {
            Some(&span) => span,
            None => {
                if self.spans.len() >= CACHED_WORDS {
                    self.spans.clear();
                    self.features.clear();
                }
                let cfg = &model.header.features;
                let (lo, hi) = (cfg.char_min.max(1), cfg.char_max.min(8));
                let from = self.features.len();
                let (features, index) = (&mut self.features, &model.index);
                features::char_grams(lo, hi, word, &mut self.buffers, &mut |k, n| {
                    if let Some(f) = index.get(k) {
                        features.push((f, n as u8));
                    }
                });
                let span = (from as u32, self.features.len() as u32);
                self.spans.insert(key, word, span);
                span
            }
        };
        &self.features[from as usize..to as usize]
    }
}

/// `acc += Σ v · weights[f]` over a sparse vector, for rows of `N` labels (the same sums, in
/// the same order, as the general loop).
fn accumulate<const N: usize>(weights: &[i8], x: &Sparse, acc: &mut [f32]) {
    let mut sum = [0f32; N];
    for &(f, v) in x {
        let at = f as usize * N;
        if let Some(row) = weights.get(at..at + N) {
            for (a, &w) in sum.iter_mut().zip(row) {
                *a += v * f32::from(w);
            }
        }
    }
    for (a, s) in acc.iter_mut().zip(sum) {
        *a += s;
    }
}

/// A number no other model in this process has.
fn next_model_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The vocabulary's entries for the hand-made features ([`Extras`]), by number.
fn dense_ids(index: &Index) -> Vec<Option<Feature>> {
    (0..crate::sentiment::LEXICON_FEATURES)
        .map(|i| index.get(features::dense_key(i as u8)))
        .collect()
}

/// The model's feature id of each n-gram occurrence (`None`: not in the vocabulary), looked
/// up once for both the vector and the explanation.
fn lookup(index: &Index, raw: &[Gram]) -> Vec<Option<Feature>> {
    let mut ids = scratch::take(&IDS);
    // Each n-gram's slot is read once first, in a loop with nothing else to do: their cache
    // misses overlap, and the look-ups below find the slots in the cache.
    std::hint::black_box(raw.iter().fold(0u64, |a, &(k, ..)| a ^ index.touch(k)));
    ids.extend(raw.iter().map(|&(k, ..)| index.get(k)));
    ids
}

/// Weights raw features (word n-grams first, then character n-grams, as [`Prepared`] gives
/// them) into a sparse vector (`ids` from [`lookup`]; unknown n-grams are
/// dropped): per block, `(1 + ln tf) · idf`, normalised to the block's weight. Features come
/// out block by block, each in the order of its first occurrence.
///
/// With `shares`, also gives each occurrence its equal share of its feature's value (zero for
/// unknown n-grams), for explanations.
///
/// Repeats are counted in an open-addressing table of twice as many slots as the text has
/// known n-grams (for a post, a few kilobytes: it stays in the first-level cache); sorting
/// the occurrences cost a quarter of the understanding step.
fn weigh(
    dense_ids: &[Option<Feature>],
    (char_weight, dense_weight): (f32, f32),
    raw: &[Gram],
    ids: &[Option<Feature>],
    dense: &[f32],
    shares: Option<&mut Vec<f32>>,
) -> Sparse {
    let known = ids.iter().flatten().count();
    let bits = (2 * known).max(16).next_power_of_two().trailing_zeros();
    // Slot: (feature id + 1) << 32 | its place in `out`; 0 is empty.
    let mut table = scratch::take(&TABLE);
    table.resize(1 << bits, 0);
    let mask = (1usize << bits) - 1;
    let mut out: Sparse = scratch::take(&VECTOR);
    out.reserve(known + dense.len());
    // How often each feature of `out` occurs, and where each occurrence went.
    let mut counts = scratch::take(&COUNTS);
    let mut placed = scratch::take(&PLACED);
    if shares.is_some() {
        placed.resize(raw.len(), u32::MAX);
    }
    // The word n-grams come first, then the character n-grams.
    let words = raw.partition_point(|g| g.1 == Block::Word);
    debug_assert!(raw[words..].iter().all(|g| g.1 == Block::Char));
    for (range, weight) in [(0..words, 1.0f32), (words..raw.len(), char_weight)] {
        let start = out.len();
        for (at, id) in ids[range.clone()].iter().enumerate() {
            let Some(Feature { id, idf }) = *id else {
                continue;
            };
            let at = range.start + at;
            let tag = u64::from(id) + 1;
            let mut slot =
                (u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize;
            let k = loop {
                let entry = table[slot];
                if entry == 0 {
                    let k = out.len();
                    table[slot] = (tag << 32) | k as u64;
                    out.push((id, idf));
                    counts.push(1);
                    break k;
                }
                if entry >> 32 == tag {
                    let k = (entry & 0xffff_ffff) as usize;
                    counts[k] += 1;
                    break k;
                }
                slot = (slot + 1) & mask;
            };
            if let Some(p) = placed.get_mut(at) {
                *p = k as u32;
            }
        }
        for (e, &n) in out[start..].iter_mut().zip(&counts[start..]) {
            // 1 + ln 1 is 1: most n-grams occur once, so skip the logarithm for them.
            if n > 1 {
                e.1 *= 1.0 + (n as f32).ln();
            }
        }
        let norm = out[start..].iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for e in &mut out[start..] {
                e.1 *= weight / norm;
            }
        }
    }
    if let Some(shares) = shares {
        shares.clear();
        shares.extend(placed.iter().map(|&k| match k {
            u32::MAX => 0.0,
            k => out[k as usize].1 / counts[k as usize] as f32,
        }));
    }
    for (&v, f) in dense.iter().zip(dense_ids) {
        if v != 0.0
            && let Some(f) = f
        {
            out.push((f.id, v * dense_weight));
        }
    }
    scratch::give(&TABLE, table);
    scratch::give(&COUNTS, counts);
    scratch::give(&PLACED, placed);
    out
}

fn softmax(scores: &[f32], temperature: f32) -> Vec<f32> {
    let mut p = scores.to_vec();
    softmax_in_place(&mut p, temperature);
    p
}

/// Turns scores into probabilities where they are (every message goes through here).
fn softmax_in_place(scores: &mut [f32], temperature: f32) {
    let max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
    for s in scores.iter_mut() {
        *s = ((*s - max) * temperature).exp();
    }
    let sum: f32 = scores.iter().sum();
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

/// The temperature minimising the negative log-likelihood of `gold` under `softmax(T·s)`.
/// The sharpest temperature [`fit_temperature`] tries.
const MAX_TEMPERATURE: f32 = 200.0;

fn fit_temperature(scores: &[Vec<f32>], gold: &[usize]) -> f32 {
    let nll = |t: f32| -> f64 {
        scores
            .iter()
            .zip(gold)
            .map(|(s, &g)| -f64::from(softmax(s, t)[g].max(1e-12)).ln())
            .sum()
    };
    // Golden-section search over ln T in [ln 0.1, ln MAX_TEMPERATURE].
    let (mut lo, mut hi) = (0.1f32.ln(), MAX_TEMPERATURE.ln());
    let phi = 0.618_034_f32;
    let mut a = hi - phi * (hi - lo);
    let mut b = lo + phi * (hi - lo);
    let (mut fa, mut fb) = (nll(a.exp()), nll(b.exp()));
    for _ in 0..60 {
        if fa < fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - phi * (hi - lo);
            fa = nll(a.exp());
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + phi * (hi - lo);
            fb = nll(b.exp());
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// Checks the examples: at least two labels, each with at least two examples. Returns the
/// labels, sorted, and each example's label number.
fn label_examples(examples: &[Example]) -> Result<(Vec<String>, Vec<usize>), ModelError> {
    if examples.is_empty() {
        return Err(ModelError::Empty);
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in examples {
        *counts.entry(e.label.as_str()).or_default() += 1;
    }
    if counts.len() < 2 {
        return Err(ModelError::OneLabel(examples[0].label.clone()));
    }
    if let Some((label, &count)) = counts.iter().find(|(_, c)| **c < 2) {
        return Err(ModelError::TooFewExamples {
            label: (*label).to_owned(),
            count,
        });
    }
    let labels: Vec<String> = counts.keys().map(|s| (*s).to_owned()).collect();
    let ids = examples
        .iter()
        .map(|e| labels.binary_search(&e.label).unwrap_or(0))
        .collect();
    Ok((labels, ids))
}

/// The labels a `sentiment` model may have: what the analyzer turns into a sentiment.
pub const SENTIMENT_LABELS: [&str; 3] = ["negative", "neutral", "positive"];

/// A sentiment model knows [`SENTIMENT_LABELS`], all three and only them; other kinds name
/// their own labels, except [`UNKNOWN`], which a model answers when it is not sure.
fn check_labels(kind: &str, labels: &[String]) -> Result<(), ModelError> {
    if let Some(reserved) = labels.iter().find(|l| l.eq_ignore_ascii_case(UNKNOWN)) {
        return Err(ModelError::ReservedLabel(reserved.clone()));
    }
    if kind != "sentiment" {
        return Ok(());
    }
    if let Some(other) = labels
        .iter()
        .find(|l| !SENTIMENT_LABELS.contains(&l.as_str()))
    {
        return Err(ModelError::SentimentLabel(other.clone()));
    }
    match SENTIMENT_LABELS
        .iter()
        .find(|l| !labels.iter().any(|k| k == *l))
    {
        Some(missing) => Err(ModelError::SentimentMissing((*missing).to_owned())),
        None => Ok(()),
    }
}

/// A sentiment file's labels in any case and spacing (`Negative`, ` positive`) are the three
/// labels; other kinds' labels are kept as written.
fn normalised<'a>(kind: &str, examples: &'a [Example]) -> std::borrow::Cow<'a, [Example]> {
    let off = |e: &Example| e.label.trim() != e.label || e.label.chars().any(char::is_uppercase);
    if kind != "sentiment" || !examples.iter().any(off) {
        return std::borrow::Cow::Borrowed(examples);
    }
    std::borrow::Cow::Owned(
        examples
            .iter()
            .map(|e| Example {
                text: e.text.clone(),
                label: e.label.trim().to_lowercase(),
            })
            .collect(),
    )
}

/// Trains a model of `kind` on `examples`.
pub fn train(kind: &str, examples: &[Example], cfg: &TrainConfig) -> Result<TextModel, ModelError> {
    train_stoppable(kind, examples, cfg, &AtomicBool::new(false))
}

/// [`train`], which someone else can stop: once `stop` is set, the training ends within one
/// pass over the examples (one batch of a network) and gives [`ModelError::Stopped`].
pub fn train_stoppable(
    kind: &str,
    examples: &[Example],
    cfg: &TrainConfig,
    stop: &AtomicBool,
) -> Result<TextModel, ModelError> {
    let stopped = || {
        if stop.load(Ordering::Relaxed) {
            Err(ModelError::Stopped)
        } else {
            Ok(())
        }
    };
    if !(cfg.temperature_scale.is_finite() && cfg.temperature_scale > 0.0) {
        // Zero or NaN would write a file `load` refuses; a negative one would flip every label.
        return Err(ModelError::Setting(format!(
            "temperature_scale must be a positive number, not {}",
            cfg.temperature_scale
        )));
    }
    let examples = &*normalised(kind, examples);
    let (labels, gold) = label_examples(examples)?;
    check_labels(kind, &labels)?;
    let raws: Vec<_> = examples
        .iter()
        .map(|e| raw_features(&cfg.features, cfg.extras, &e.text))
        .collect();
    stopped()?;

    // Vocabulary: keys in at least min_df examples, in key order (deterministic).
    let mut df: HashMap<u64, u32> = HashMap::new();
    let mut kept = std::collections::HashSet::new();
    let mut seen = Vec::new();
    for (i, (_, raw, _)) in raws.iter().enumerate() {
        seen.clear();
        seen.extend(raw.iter().map(|r| r.0));
        seen.sort_unstable();
        seen.dedup();
        for &k in &seen {
            *df.entry(k).or_default() += 1;
        }
        if cfg.keep_all_from.is_some_and(|from| i >= from) {
            kept.extend(seen.iter().copied());
        }
    }
    let n_docs = examples.len() as f32;
    let mut keys: Vec<(u64, u32)> = df
        .into_iter()
        .filter(|(k, d)| *d >= cfg.min_df.max(1) || kept.contains(k))
        .collect();
    if cfg.extras != Extras::None {
        for i in 0..crate::sentiment::LEXICON_FEATURES {
            keys.push((features::dense_key(i as u8), 0));
        }
    }
    keys.sort_unstable();
    keys.dedup_by_key(|k| k.0);
    let mut index = Index::with_capacity(keys.len());
    for (i, &(k, d)) in keys.iter().enumerate() {
        let idf = ((1.0 + n_docs) / (1.0 + d as f32)).ln() + 1.0;
        index.insert(k, Feature { id: i as u32, idf });
    }
    let dense_ids = dense_ids(&index);
    let xs: Vec<Sparse> = raws
        .iter()
        .map(|(_, raw, dense)| {
            weigh(
                &dense_ids,
                (cfg.char_weight, cfg.dense_weight),
                raw,
                &lookup(&index, raw),
                dense,
                None,
            )
        })
        .collect();
    let n_features = index.len();
    let n_labels = labels.len();

    // Calibration on a stratified held-back tenth, when every label can spare one. Below
    // that, a fixed temperature: cross-validated fits on small BANKING77 sets (5 to 20
    // intents, 3 to 15 examples each) came out sharper nearly always (4.7 to 27), better
    // calibrated on the intents the model has, but answering far more questions it has no
    // intent for (docs/PERFORMANCE.md).
    let mut temperature = 5.0;
    let mut holdout_accuracy = None;
    // A network's final training (on every example) does not depend on the trial one (on
    // nine tenths, for calibration): with two threads they run side by side.
    let final_net = || {
        cfg.mlp.map(|m| {
            crate::mlp::Quantized::of(&crate::mlp::train(
                &xs, &gold, n_labels, n_features, &m, stop,
            ))
        })
    };
    let net = std::thread::scope(|s| {
        let side = (cfg.mlp.is_some() && cfg.threads > 1).then(|| s.spawn(final_net));
        let mut per_label: Vec<Vec<usize>> = vec![Vec::new(); n_labels];
        for (i, &g) in gold.iter().enumerate() {
            per_label[g].push(i);
        }
        if examples.len() >= 100 && per_label.iter().all(|v| v.len() >= 3) {
            let mut rng = Rng::new(cfg.svm.seed ^ 0x5eed);
            let mut held = vec![false; examples.len()];
            for members in &mut per_label {
                rng.shuffle(members);
                let take = (members.len() / 10).max(1);
                for &i in members.iter().take(take) {
                    held[i] = true;
                }
            }
            let (mut tx, mut ty, mut hx, mut hy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (i, x) in xs.iter().enumerate() {
                if held[i] {
                    hx.push(x);
                    hy.push(gold[i]);
                } else {
                    tx.push(x.clone());
                    ty.push(gold[i]);
                }
            }
            let scores: Vec<Vec<f32>> = match &cfg.mlp {
                Some(m) => {
                    let net = crate::mlp::train(&tx, &ty, n_labels, n_features, m, stop);
                    let net = crate::mlp::Quantized::of(&net);
                    hx.iter().map(|x| net.scores(x)).collect()
                }
                None => {
                    let trial = train_one_vs_rest(
                        &tx,
                        &ty,
                        n_labels,
                        n_features,
                        &cfg.svm,
                        cfg.threads,
                        stop,
                    );
                    hx.iter()
                        .map(|x| {
                            trial
                                .iter()
                                .map(|(w, b)| {
                                    x.iter().map(|&(j, v)| w[j as usize] * v).sum::<f32>() + b
                                })
                                .collect()
                        })
                        .collect()
                }
            };
            let right = scores
                .iter()
                .zip(&hy)
                .filter(|(s, g)| argmax(s) == **g)
                .count();
            holdout_accuracy = Some(right as f32 / hy.len() as f32);
            temperature = fit_temperature(&scores, &hy);
        }

        match side {
            // A panic in the trainer is a bug; surface it where it happened.
            Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            None => final_net(),
        }
    });
    let trained = if net.is_some() {
        Vec::new()
    } else {
        train_one_vs_rest(
            &xs,
            &gold,
            n_labels,
            n_features,
            &cfg.svm,
            cfg.threads,
            stop,
        )
    };
    // Whatever was made after the stop is half trained.
    stopped()?;
    let mut scales = Vec::with_capacity(n_labels);
    let mut bias = Vec::with_capacity(n_labels);
    let mut weights = if net.is_some() {
        Vec::new()
    } else {
        vec![0i8; n_features * n_labels]
    };
    for (c, (w, b)) in trained.iter().enumerate() {
        let max = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        for (f, &v) in w.iter().enumerate() {
            weights[f * n_labels + c] = (v / scale).round().clamp(-127.0, 127.0) as i8;
        }
        scales.push(scale);
        bias.push(*b);
    }
    Ok(TextModel {
        header: Header {
            format: if net.is_some() {
                FORMAT_NETWORK
            } else {
                FORMAT
            },
            kind: kind.to_owned(),
            labels,
            features: cfg.features,
            char_weight: cfg.char_weight,
            dense_weight: cfg.dense_weight,
            extras: cfg.extras,
            temperature: temperature * cfg.temperature_scale,
            unknown_below: cfg.unknown_below,
            new_words_above: cfg.new_words_above,
            examples: examples.len(),
            holdout_accuracy,
            hidden: net.as_ref().map_or(0, |n| n.hidden),
        },
        id: next_model_id(),
        dense: dense_ids,
        index,
        scales,
        bias,
        weights,
        net,
    })
}

pub(crate) fn argmax(s: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in s.iter().enumerate() {
        if v > s[best] {
            best = i;
        }
    }
    best
}

impl TextModel {
    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn labels(&self) -> &[String] {
        &self.header.labels
    }

    fn vector(&self, text: &str) -> Sparse {
        let p = Prepared::new(text, &self.header.features);
        let (grams, ids, x, _) = self.vector_of(&p, None);
        scratch::give(&MODEL_GRAMS, grams);
        scratch::give(&IDS, ids);
        x
    }

    /// The n-grams this model sees in `p`, their feature ids, the weighted vector, and
    /// whether the model knows any of the text's words (itself or by its character n-grams);
    /// with `shares`, each n-gram occurrence's share of its feature's value (for
    /// explanations).
    fn vector_of(
        &self,
        p: &Prepared,
        shares: Option<&mut Vec<f32>>,
    ) -> (Grams, Vec<Option<Feature>>, Sparse, Reading) {
        let cfg = &self.header.features;
        let mut grams = scratch::take(&MODEL_GRAMS);
        grams.extend_from_slice(&p.grams_for(cfg));
        let mut ids = lookup(&self.index, &grams);
        let known_word = |&(&(_, block, first, _, n), id): &(&Gram, &Option<Feature>)| {
            block == Block::Word && n == 1 && id.is_some() && is_word(&p.tokens[first])
        };
        // Counting the words is for a model that weighs new ones; the others only ask
        // whether one is known, which the first known word answers.
        let (words, known_words) = if self.header.new_words_above.is_some() {
            let known = grams.iter().zip(&ids).filter(known_word).count() as u32;
            (p.tokens.iter().filter(|t| is_word(t)).count() as u32, known)
        } else {
            (0, u32::from(grams.iter().zip(&ids).any(|g| known_word(&g))))
        };
        let mut reads_a_word = known_words > 0;
        if cfg.char_max > 0 {
            WordCache::with(self, |cache| {
                for (i, (t, &key)) in p.tokens.iter().zip(&p.keys).enumerate() {
                    let known = cache.features(self, t, key);
                    reads_a_word |= !known.is_empty() && is_word(t);
                    for &(f, len) in known {
                        // Its feature is known already: the key is not read again.
                        grams.push((0, Block::Char, i, i, usize::from(len)));
                        ids.push(Some(f));
                    }
                }
            });
        }
        let dense = dense_features(self.header.extras, p);
        let x = weigh(
            &self.dense,
            (self.header.char_weight, self.header.dense_weight),
            &grams,
            &ids,
            &dense,
            shares,
        );
        let reading = Reading {
            reads_a_word,
            words,
            new_words: words.saturating_sub(known_words),
        };
        (grams, ids, x, reading)
    }

    /// The n-gram settings this model was trained with.
    pub fn feature_config(&self) -> &FeatureConfig {
        &self.header.features
    }

    /// Every label's probability for a prepared text, the `top` words that pushed most toward
    /// the most likely label (one featurisation for both), and whether the model knows any of
    /// the text's words (without one, it answers from marks such as `!` alone). Falls back to
    /// preparing the text again when `p` was made with other n-gram settings.
    pub fn assess(&self, p: &Prepared, top: usize) -> (Vec<f32>, Vec<Evidence>, Reading) {
        let own;
        let p = if p.serves(&self.header.features) {
            p
        } else {
            own = Prepared::new(p.text, &self.header.features);
            &own
        };
        let mut shares = scratch::take(&SHARES);
        let (grams, ids, x, reading) = self.vector_of(p, (top > 0).then_some(&mut shares));
        let probs = self.probabilities_of(&x);
        let evidence = if top > 0 {
            let push = self.weight_toward(&x, argmax(&probs));
            self.credit(&p.tokens, &grams, &ids, &shares, push, top)
        } else {
            Vec::new()
        };
        scratch::give(&SHARES, shares);
        scratch::give(&MODEL_GRAMS, grams);
        scratch::give(&IDS, ids);
        scratch::give(&VECTOR, x);
        (probs, evidence, reading)
    }

    /// [`TextModel::decide`], and `unknown` at confidence 0 when more of the text's words than
    /// the model's [`Header::new_words_above`] share are new to it and it is not sure
    /// ([`SURE_DESPITE_NEW_WORDS`]): the model's confidence in a label it does not give would
    /// pass a playbook's `min_confidence` (an `unknown` at 0.93), where an `unknown` below the
    /// floor never does.
    pub fn decide_reading(&self, probs: &[f32], reading: Reading) -> Prediction {
        let p = self.decide(probs);
        if p.label != UNKNOWN && self.too_many_new_words(reading, p.confidence) {
            return Prediction {
                label: UNKNOWN.to_owned(),
                confidence: 0.0,
            };
        }
        p
    }

    /// Whether the new-words rule turns a label given at `confidence` into `unknown`.
    pub fn too_many_new_words(&self, r: Reading, confidence: f32) -> bool {
        // A share outside 0..1 (a file written by hand) is no rule.
        self.header
            .new_words_above
            .filter(|share| (0.0..1.0).contains(share))
            .is_some_and(|share| {
                confidence < SURE_DESPITE_NEW_WORDS && r.new_words as f32 > share * r.words as f32
            })
    }

    /// The best label, even below the floor, its probability, and whether the model answers
    /// with it: the text has a word the model reads, the probability is at or above the floor,
    /// and not too many of its words are new ([`TextModel::decide_reading`]), as `analyze`
    /// and the server decide.
    pub fn best_and_answers(&self, text: &str) -> (usize, f32, bool) {
        let p = Prepared::new(text, &self.header.features);
        let (probs, _, reading) = self.assess(&p, 0);
        let best = argmax(&probs);
        let confidence = probs.get(best).copied().unwrap_or(0.0);
        let answers = p.has_words()
            && reading.reads_a_word
            && self.decide_reading(&probs, reading).label != UNKNOWN;
        (best, confidence, answers)
    }

    /// The label a probability vector stands for: the best, or `unknown` below the floor.
    pub fn decide(&self, probs: &[f32]) -> Prediction {
        let best = argmax(probs);
        Prediction {
            label: if probs[best] < self.header.unknown_below {
                UNKNOWN.to_owned()
            } else {
                self.header.labels[best].clone()
            },
            confidence: probs[best],
        }
    }

    fn scores(&self, x: &Sparse) -> Vec<f32> {
        if let Some(net) = &self.net {
            return net.scores(x);
        }
        let n = self.header.labels.len();
        let mut acc = vec![0f32; n];
        // The shipped models have 3 and 5 labels: with the row length known, the sums stay
        // in registers.
        match n {
            3 => accumulate::<3>(&self.weights, x, &mut acc),
            5 => accumulate::<5>(&self.weights, x, &mut acc),
            _ => {
                for &(f, v) in x {
                    let row = &self.weights[f as usize * n..(f as usize + 1) * n];
                    for (a, &w) in acc.iter_mut().zip(row) {
                        *a += v * f32::from(w);
                    }
                }
            }
        }
        for ((a, s), b) in acc.iter_mut().zip(&self.scales).zip(&self.bias) {
            *a = *a * s + b;
        }
        acc
    }

    /// Every label's probability for a weighted vector.
    fn probabilities_of(&self, x: &Sparse) -> Vec<f32> {
        let mut p = self.scores(x);
        softmax_in_place(&mut p, self.header.temperature);
        p
    }

    /// Every label's probability, in label order.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let x = self.vector(text);
        let p = self.probabilities_of(&x);
        scratch::give(&VECTOR, x);
        p
    }

    /// The most likely label, or `unknown` below the model's floor.
    pub fn predict(&self, text: &str) -> Prediction {
        let p = Prepared::new(text, &self.header.features);
        let (probs, _, reading) = self.assess(&p, 0);
        self.decide_reading(&probs, reading)
    }

    /// Fits the temperature anew on labelled examples of the texts the model will really
    /// read (a workspace's own messages, labelled by people), where the examples it was
    /// trained on were easier or different. Examples whose label the model does not know are
    /// skipped. The best label of every text stays the same; the confidences, and so what a
    /// confidence floor lets through, change.
    ///
    /// Examples it is right on far more often than on the tenth held back when it was trained
    /// look like its training examples and are refused ([`ModelError::LooksLikeTraining`]),
    /// unless `anyway` (real traffic that is easier than the training examples).
    pub fn recalibrate(
        &mut self,
        examples: &[Example],
        anyway: bool,
    ) -> Result<Recalibrated, ModelError> {
        let (mut scores, mut gold) = (Vec::new(), Vec::new());
        for e in examples {
            if let Some(g) = self.header.labels.iter().position(|l| *l == e.label) {
                scores.push(self.scores(&self.vector(&e.text)));
                gold.push(g);
            }
        }
        if scores.len() < MIN_TO_CALIBRATE {
            return Err(ModelError::TooFewToCalibrate(scores.len()));
        }
        let ece = |t: f32| {
            let (confidence, correct): (Vec<f32>, Vec<bool>) = scores
                .iter()
                .zip(&gold)
                .map(|(s, &g)| {
                    let p = softmax(s, t);
                    let best = argmax(&p);
                    (p[best], best == g)
                })
                .unzip();
            calibration(&confidence, &correct, self.header.unknown_below, 10)
                .expected_calibration_error
        };
        // Examples the model was trained on are easier for it than any it will read: right
        // far more often than on its held-back tenth (by four standard errors of the
        // difference, both samples' uncertainty counted, and 5 points), unless `anyway`.
        if let Some(h) = self.header.holdout_accuracy
            && !anyway
        {
            let n = scores.len() as f32;
            let right = scores
                .iter()
                .zip(&gold)
                .filter(|(s, g)| argmax(s) == **g)
                .count() as f32
                / n;
            // The held-back tenth: a tenth of each label, one at least.
            let held = (self.header.examples as f32 / 10.0).max(self.header.labels.len() as f32);
            let spread = (h * (1.0 - h) / held + right * (1.0 - right) / n)
                .sqrt()
                .max(1e-3);
            if right - h > 0.05 && (right - h) / spread > 4.0 {
                return Err(ModelError::LooksLikeTraining {
                    examples: scores.len(),
                    right: right * 100.0,
                    holdout: h * 100.0,
                });
            }
        }
        let before = self.header.temperature;
        let after = fit_temperature(&scores, &gold);
        if after >= MAX_TEMPERATURE * 0.99 {
            // The likelihood only grows with a sharper model: no example is wrong, or near.
            return Err(ModelError::NothingToCalibrate(scores.len()));
        }
        let (ece_before, ece_fitted) = (ece(before), ece(after));
        // The fit maximises likelihood; a model it leaves worse calibrated keeps what it had.
        let changed = ece_fitted < ece_before;
        let after = if changed { after } else { before };
        self.header.temperature = after;
        Ok(Recalibrated {
            examples: scores.len(),
            temperature_before: before,
            temperature_after: after,
            ece_before,
            ece_after: if changed { ece_fitted } else { ece_before },
            changed,
        })
    }

    /// The most likely label, even when below the floor (for evaluation).
    pub fn best(&self, text: &str) -> usize {
        self.best_with_confidence(text).0
    }

    /// [`best`](Self::best), with its probability.
    pub fn best_with_confidence(&self, text: &str) -> (usize, f32) {
        let p = self.probabilities(text);
        let best = argmax(&p);
        (best, p.get(best).copied().unwrap_or(0.0))
    }

    /// The words (and word pairs) that pushed most toward `label`, strongest first.
    pub fn explain(&self, text: &str, label: &str, top: usize) -> Vec<Evidence> {
        let Some(c) = self.header.labels.iter().position(|l| l == label) else {
            return Vec::new();
        };
        let p = Prepared::new(text, &self.header.features);
        let mut shares = Vec::new();
        let (grams, ids, x, _) = self.vector_of(&p, Some(&mut shares));
        let evidence = self.credit(
            &p.tokens,
            &grams,
            &ids,
            &shares,
            self.weight_toward(&x, c),
            top,
        );
        scratch::give(&MODEL_GRAMS, grams);
        scratch::give(&IDS, ids);
        scratch::give(&VECTOR, x);
        evidence
    }

    /// Credits each word (or word pair) of the text with its n-grams' push toward a label
    /// (`push(share, id)`: [`TextModel::weight_toward`]).
    fn credit(
        &self,
        tokens: &[Token],
        raw: &[Gram],
        ids: &[Option<Feature>],
        shares: &[f32],
        push: impl Fn(f32, u32) -> f32,
        top: usize,
    ) -> Vec<Evidence> {
        let mut by_span = scratch::take(&BY_SPAN);
        by_span.resize(tokens.len(), [0f32; 3]);
        // Each occurrence carries its share of its feature's value (from `weigh`).
        for ((&(_, _, first, last, _), id), &share) in raw.iter().zip(ids).zip(shares) {
            let Some(id) = id else { continue };
            let pushed = push(share, id.id);
            if let Some(slot) = by_span.get_mut(first).and_then(|s| s.get_mut(last - first)) {
                *slot += pushed;
            }
        }
        // The same words at two places are one piece of evidence. Both places carry the same
        // push (the same features, each occurrence with an equal share of its value), so a
        // span's evidence is its push times the times it occurs, and only spans pushing
        // toward the label can be evidence. Equal spans are found among equal pushes.
        let mut pushes = scratch::take(&PUSHES);
        for (first, lens) in by_span.iter().enumerate() {
            for (len, &w) in lens.iter().enumerate() {
                if w > 0.0 && first + len < tokens.len() {
                    pushes.push((w, first, first + len + 1));
                }
            }
        }
        // A total order (push, then place, then length, the order the spans were pushed
        // in), so an unstable sort gives what a stable one would.
        pushes.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut merged = scratch::take(&MERGED);
        let mut run = 0;
        for (k, &(w, from, to)) in pushes.iter().enumerate() {
            if k > 0 && pushes[k - 1].0 != w {
                run = merged.len();
            }
            let span = &tokens[from..to];
            match merged[run..].iter_mut().find(|m| &tokens[m.1..m.2] == span) {
                Some(m) => m.0 += w,
                None => merged.push((w, from, to)),
            }
        }
        merged.sort_by(|a, b| b.0.total_cmp(&a.0));
        let evidence = merged
            .iter()
            .take(top)
            .map(|&(weight, from, to)| Evidence {
                feature: tokens[from..to].join(" "),
                weight,
            })
            .collect();
        scratch::give(&BY_SPAN, by_span);
        scratch::give(&PUSHES, pushes);
        scratch::give(&MERGED, merged);
        evidence
    }

    /// The push toward label `c` of `value` of a feature, for the text whose vector is `x`.
    /// A network's score is linear in its input once the hidden units that fire for `x` are
    /// fixed: a feature's weight is its first-layer row through those units.
    fn weight_toward(&self, x: &Sparse, c: usize) -> impl Fn(f32, u32) -> f32 + '_ {
        let n = self.header.labels.len();
        let through = self.net.as_ref().map(|net| (net, net.through(x, c)));
        move |value: f32, id: u32| match &through {
            Some((net, on)) => value * net.weight_through(id, on),
            None => value * f32::from(self.weights[id as usize * n + c]) * self.scales[c],
        }
    }

    /// What a workspace is shown about an installed model.
    pub fn summary(&self) -> serde_json::Value {
        let mut s = serde_json::json!({
            "labels": self.header.labels.len(),
            "examples": self.header.examples,
            "holdout_accuracy": self.header.holdout_accuracy,
            "format": self.header.format,
        });
        if self.header.hidden > 0 {
            s["hidden"] = self.header.hidden.into();
        }
        if let Some(share) = self.header.new_words_above {
            // How it says `unknown`, beside its floor.
            s["unknown_below"] = shortest(self.header.unknown_below).into();
            s["new_words_above"] = shortest(share).into();
        }
        if self.header.holdout_accuracy.is_none() {
            s["holdout"] = HOLDOUT_NONE.into();
        }
        s
    }

    /// Its hidden layer's width (0: a linear model), to retrain it the same way
    /// ([`TrainConfig::with_network`]).
    pub fn hidden(&self) -> usize {
        self.header.hidden
    }

    /// Reads a file meant to be installed as a `kind` model: checked whole, and of that kind.
    pub fn for_install(bytes: &[u8], kind: &str) -> Result<TextModel, String> {
        let model = TextModel::from_bytes(bytes).map_err(|e| e.to_string())?;
        if model.header.kind != kind {
            return Err(format!(
                "the file's model kind is {:?}, not {kind:?} (train it with --kind {kind})",
                model.header.kind
            ));
        }
        check_labels(kind, &model.header.labels).map_err(|e| e.to_string())?;
        Ok(model)
    }

    /// The model as a file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).unwrap_or_default();
        let n = self.index.len();
        let (mut keys, mut idf) = (vec![0u64; n], vec![0f32; n]);
        for (k, f) in self.index.iter() {
            keys[f.id as usize] = k;
            idf[f.id as usize] = f.idf;
        }
        let mut out = Vec::with_capacity(64 + header.len() + n * 12 + self.weights.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        for k in keys {
            out.extend_from_slice(&k.to_le_bytes());
        }
        match &self.net {
            // idf, then the small layers' f32s, then the first layer's i8s.
            Some(net) => {
                let floats = idf
                    .iter()
                    .chain(&net.scales)
                    .chain(&net.b1)
                    .chain(&net.w2)
                    .chain(&net.b2);
                for v in floats {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                out.extend(net.w1.iter().map(|&w| w as u8));
            }
            None => {
                for v in idf.iter().chain(&self.scales).chain(&self.bias) {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                out.extend(self.weights.iter().map(|&w| w as u8));
            }
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Reads a model file, checking everything; a damaged file is refused whole.
    pub fn from_bytes(bytes: &[u8]) -> Result<TextModel, ModelError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        if bytes.len() < MAGIC.len() + 4 + 32 {
            return Err(ModelError::Corrupt("it is truncated".into()));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(ModelError::Corrupt("its checksum does not match".into()));
        }
        let mut r = Reader {
            bytes: body,
            at: MAGIC.len(),
        };
        let header_len = r.u32()? as usize;
        let header: Header = serde_json::from_slice(r.take(header_len)?)
            .map_err(|e| ModelError::Corrupt(format!("its header: {e}")))?;
        let network = match header.format {
            FORMAT => false,
            FORMAT_NETWORK => true,
            other => return Err(ModelError::Format(other)),
        };
        if network != (header.hidden > 0) {
            return Err(ModelError::Corrupt(
                "its format and its hidden layer disagree".into(),
            ));
        }
        let labels = header.labels.len();
        if labels < 2 {
            return Err(ModelError::Corrupt("it has fewer than two labels".into()));
        }
        let n = r.u32()? as usize;
        // The checksum has no key: a file can be crafted. Nothing is reserved before the
        // sizes it claims are known to fit in the bytes it has.
        let hn = header.hidden;
        let needed = if network {
            // Keys and idf, then scales and b1 (2h), w2 (h·labels), b2 as f32, then w1 (n·h).
            hn.checked_mul(labels)
                .and_then(|w2| w2.checked_add(2 * hn + labels))
                .and_then(|floats| floats.checked_mul(4))
                .and_then(|small| {
                    n.checked_mul(8 + 4)?
                        .checked_add(n.checked_mul(hn)?)?
                        .checked_add(small)
                })
        } else {
            n.checked_mul(8 + 4 + labels)
                .and_then(|x| x.checked_add(labels * 8))
        }
        .ok_or_else(|| ModelError::Corrupt("its sizes overflow".into()))?;
        if needed != body.len() - r.at {
            return Err(ModelError::Corrupt(format!(
                "it says {n} features and {labels} labels, which do not match its length"
            )));
        }
        let keys: Vec<u64> = (0..n)
            .map(|_| Ok(u64::from_le_bytes(r.array()?)))
            .collect::<Result<_, ModelError>>()?;
        let mut floats = |count: usize| -> Result<Vec<f32>, ModelError> {
            (0..count)
                .map(|_| Ok(f32::from_le_bytes(r.array()?)))
                .collect()
        };
        let idf = floats(n)?;
        let mut index = Index::with_capacity(n);
        for (i, (&k, &idf)) in keys.iter().zip(&idf).enumerate() {
            let f = Feature { id: i as u32, idf };
            if index.insert(k, f).is_some() {
                return Err(ModelError::Corrupt("a feature appears twice".into()));
            }
        }
        let (scales, bias, weights, net) = if network {
            let scales = floats(hn)?;
            let b1 = floats(hn)?;
            let w2 = floats(hn * labels)?;
            let b2 = floats(labels)?;
            // The sizes were checked against the length above: this takes the rest exactly.
            let w1: Vec<i8> = r.take(n * hn)?.iter().map(|&b| b as i8).collect();
            let net = crate::mlp::Quantized {
                hidden: hn,
                labels,
                w1,
                scales,
                b1,
                w2,
                b2,
            };
            (Vec::new(), Vec::new(), Vec::new(), Some(net))
        } else {
            let scales = floats(labels)?;
            let bias = floats(labels)?;
            let weights: Vec<i8> = r.take(n * labels)?.iter().map(|&b| b as i8).collect();
            (scales, bias, weights, None)
        };
        if !header.temperature.is_finite() || header.temperature <= 0.0 {
            return Err(ModelError::Corrupt(
                "its temperature is not positive".into(),
            ));
        }
        Ok(TextModel {
            header,
            id: next_model_id(),
            dense: dense_ids(&index),
            index,
            scales,
            bias,
            weights,
            net,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| ModelError::Corrupt("it is truncated".into()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
}

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// How well predictions match the gold labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_label: BTreeMap<String, LabelScore>,
}

/// How often each gold label was predicted as each label: `gold → predicted → count`, the
/// cells that occur only (a 77-intent model's mistakes fit on a screen).
pub fn confusion(gold: &[&str], predicted: &[&str]) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (g, p) in gold.iter().zip(predicted) {
        *out.entry((*g).to_owned())
            .or_default()
            .entry((*p).to_owned())
            .or_default() += 1;
    }
    out
}

/// Scores `predicted` against `gold` (label names; a predicted label outside `labels`, such
/// as `unknown`, counts as wrong). Macro F1 averages over the gold labels.
pub fn score(labels: &[String], gold: &[&str], predicted: &[&str]) -> Scores {
    let mut per_label = BTreeMap::new();
    let mut f1_sum = 0.0;
    let mut present = 0usize;
    for l in labels {
        let tp = gold
            .iter()
            .zip(predicted)
            .filter(|(g, p)| *g == l && *p == l)
            .count();
        let predicted_l = predicted.iter().filter(|p| *p == l).count();
        let support = gold.iter().filter(|g| *g == l).count();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let (precision, recall) = (ratio(tp, predicted_l), ratio(tp, support));
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        if support > 0 {
            f1_sum += f1;
            present += 1;
        }
        per_label.insert(
            l.clone(),
            LabelScore {
                precision,
                recall,
                f1,
                support,
            },
        );
    }
    let right = gold.iter().zip(predicted).filter(|(g, p)| g == p).count();
    Scores {
        examples: gold.len(),
        accuracy: if gold.is_empty() {
            0.0
        } else {
            right as f64 / gold.len() as f64
        },
        macro_f1: if present == 0 {
            0.0
        } else {
            f1_sum / present as f64
        },
        per_label,
    }
}

/// How far a model's confidence can be trusted, from its predictions on labelled texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The mean gap between confidence and accuracy, over equal-width confidence bins, each
    /// weighted by its share of the predictions (0: confidence means what it says).
    pub expected_calibration_error: f64,
    /// The floor below which the model answers `unknown` (as the f32 in the file reads:
    /// 0.3, not 0.30000001192092896).
    pub unknown_below: f64,
    /// The share of predictions at or above the floor: the ones a workspace acts on (with
    /// [`Calibration::answered_as`], those the model answers by all its rules).
    pub answered: f64,
    /// The accuracy of those (0 when none is).
    pub answered_accuracy: f64,
    /// The model's new-words rule, when it has one ([`Calibration::answered_as`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_words_above: Option<f64>,
    /// The bins with predictions in them, lowest confidence first.
    pub bins: Vec<CalibrationBin>,
}

impl Calibration {
    /// `answered` and `answered_accuracy` as the model decides (its floor and its new-words
    /// rule, [`TextModel::best_and_answers`]), not by the floor alone: `answers` and
    /// `correct` say, for each prediction, whether the model answers and whether its best
    /// label is right.
    pub fn answered_as(self, model: &TextModel, answers: &[bool], correct: &[bool]) -> Self {
        let (mut answered, mut right) = (0usize, 0usize);
        for (&a, &ok) in answers.iter().zip(correct) {
            answered += usize::from(a);
            right += usize::from(a && ok);
        }
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Calibration {
            answered: ratio(answered, answers.len().min(correct.len())),
            answered_accuracy: ratio(right, answered),
            new_words_above: model.header.new_words_above.map(shortest),
            ..self
        }
    }
}

/// Predictions whose confidence fell in `from..to` (the last bin includes 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub from: f64,
    pub to: f64,
    pub examples: usize,
    /// Their mean confidence.
    pub confidence: f64,
    /// The share of them that was right.
    pub accuracy: f64,
}

/// `x` as the f64 with the same shortest decimal form (so 0.3f32 shows as 0.3).
pub fn shortest(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// [`Calibration`] of predictions with `confidence` (the best label's probability) and
/// whether each was `correct` (two slices of the same length), over `bins` equal-width bins
/// (1 to 1,000). A confidence that is not a number counts as 0.
pub fn calibration(
    confidence: &[f32],
    correct: &[bool],
    unknown_below: f32,
    bins: usize,
) -> Calibration {
    debug_assert_eq!(confidence.len(), correct.len());
    let bins = bins.clamp(1, 1000);
    let n = confidence.len().min(correct.len());
    // Per bin: predictions, summed confidence, right ones.
    let mut acc = vec![(0usize, 0f64, 0usize); bins];
    let (mut answered, mut answered_right) = (0usize, 0usize);
    for (&c, &ok) in confidence.iter().zip(correct) {
        let c = if c.is_finite() {
            c.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // In f32, as the confidences are: 0.7 is in the bin that starts at 0.7.
        let b = ((c * bins as f32) as usize).min(bins - 1);
        acc[b].0 += 1;
        acc[b].1 += f64::from(c);
        acc[b].2 += usize::from(ok);
        if c >= unknown_below {
            answered += 1;
            answered_right += usize::from(ok);
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut ece = 0.0;
    let mut out = Vec::new();
    for (i, &(count, sum, right)) in acc.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let (confidence, accuracy) = (sum / count as f64, ratio(right, count));
        ece += (confidence - accuracy).abs() * count as f64 / n as f64;
        out.push(CalibrationBin {
            from: i as f64 / bins as f64,
            to: (i + 1) as f64 / bins as f64,
            examples: count,
            confidence,
            accuracy,
        });
    }
    Calibration {
        expected_calibration_error: ece,
        unknown_below: shortest(unknown_below),
        answered: ratio(answered, n),
        answered_accuracy: ratio(answered_right, answered),
        new_words_above: None,
        bins: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, label: &str) -> Example {
        Example {
            text: text.to_owned(),
            label: label.to_owned(),
        }
    }

    /// A network small and quick enough for the toy examples.
    fn small_net() -> crate::mlp::MlpConfig {
        crate::mlp::MlpConfig {
            hidden: 16,
            epochs: 40,
            batch: 4,
            learning_rate: 1e-2,
            ..Default::default()
        }
    }

    fn toy() -> Vec<Example> {
        let mut out = Vec::new();
        for (i, w) in ["card", "cards", "debit card", "credit card", "my card"]
            .iter()
            .enumerate()
        {
            out.push(ex(
                &format!("{w} was declined at the shop {i}"),
                "card_declined",
            ));
            out.push(ex(
                &format!("where is the {w} I ordered {i}"),
                "card_arrival",
            ));
            out.push(ex(
                &format!("I want a refund for order {i} please"),
                "refund",
            ));
        }
        out
    }

    /// A training told to stop gives `Stopped`, linear or network; one not stopped gives its
    /// model. (That the trainers stop within an epoch or a batch is tested beside them.)
    #[test]
    fn a_stopped_training_gives_no_model() {
        let examples = toy();
        for mlp in [None, Some(small_net())] {
            let cfg = TrainConfig {
                mlp,
                ..TrainConfig::default()
            };
            let stop = AtomicBool::new(true);
            assert!(matches!(
                train_stoppable("intent", &examples, &cfg, &stop),
                Err(ModelError::Stopped)
            ));
            assert!(train_stoppable("intent", &examples, &cfg, &AtomicBool::new(false)).is_ok());
        }
    }

    /// A sentiment model knows only negative, neutral and positive, and reads the lexicon's
    /// features; other kinds name their own labels.
    #[test]
    fn a_sentiment_model_knows_only_the_three_sentiments() {
        let mut examples = Vec::new();
        for i in 0..3 {
            examples.push(ex(&format!("I love it {i}"), "positive"));
            examples.push(ex(&format!("this is awful {i}"), "negative"));
            examples.push(ex(&format!("it came on monday {i}"), "meh"));
        }
        let cfg = TrainConfig::for_kind("sentiment");
        assert_eq!(cfg.extras, Extras::SentimentLexicon);
        assert_eq!(TrainConfig::for_kind("intent"), TrainConfig::default());
        match train("sentiment", &examples, &cfg) {
            Err(ModelError::SentimentLabel(l)) => assert_eq!(l, "meh"),
            other => panic!(
                "expected a refused label, got {:?}",
                other.map(|m| m.header)
            ),
        }
        let feelings = train("feelings", &examples, &cfg).unwrap();
        assert!(
            TextModel::for_install(&feelings.to_bytes(), "sentiment")
                .unwrap_err()
                .contains("not \"sentiment\"")
        );
        for e in &mut examples {
            if e.label == "meh" {
                e.label = "neutral".into();
            }
        }
        let m = train("sentiment", &examples, &cfg).unwrap();
        assert!(TextModel::for_install(&m.to_bytes(), "sentiment").is_ok());
        assert_eq!(m.labels()[m.best("I love it so much")], "positive");

        // Labels in other letters are the three; a file without one of them is refused.
        let shouted: Vec<Example> = examples
            .iter()
            .map(|e| ex(&e.text, &format!(" {} ", e.label.to_uppercase())))
            .collect();
        let m = train("sentiment", &shouted, &cfg).unwrap();
        assert_eq!(m.labels(), ["negative", "neutral", "positive"]);
        let two: Vec<Example> = examples
            .iter()
            .filter(|e| e.label != "neutral")
            .cloned()
            .collect();
        match train("sentiment", &two, &cfg) {
            Err(ModelError::SentimentMissing(l)) => assert_eq!(l, "neutral"),
            other => panic!(
                "expected a missing label, got {:?}",
                other.map(|m| m.header)
            ),
        }
        // Other kinds keep their labels as written, and none may be `unknown`.
        let m = train("feelings", &shouted, &cfg).unwrap();
        assert_eq!(m.labels()[0], " NEGATIVE ");
        let mut guessed = two.clone();
        for e in guessed.iter_mut().filter(|e| e.label == "negative") {
            e.label = "Unknown".into();
        }
        match train("intent", &guessed, &TrainConfig::default()) {
            Err(ModelError::ReservedLabel(l)) => assert_eq!(l, "Unknown"),
            other => panic!(
                "expected a reserved label, got {:?}",
                other.map(|m| m.header)
            ),
        }
    }

    /// A pass prepared for more n-gram lengths gives a model the n-grams its own settings
    /// make, in the same order; and a `!`-less model drops those touching a `!`.
    /// One preparation serves every model with the same word n-grams, whatever its
    /// character n-grams and whether it counts `!`; each reads the word n-grams its own
    /// settings make.
    #[test]
    fn one_preparation_serves_any_character_lengths() {
        let wide = FeatureConfig::default();
        let text = "Thanks!! my card 1234 got declined :( at the café, pls help";
        let p = Prepared::new(text, &wide);
        for (lo, hi, bangs) in [(4, 4, true), (2, 6, true), (5, 5, false), (0, 0, false)] {
            let cfg = FeatureConfig {
                char_min: lo,
                char_max: hi,
                exclamations: bangs,
                ..wide
            };
            assert!(p.serves(&cfg), "{cfg:?}");
            let own = Prepared::new(text, &cfg);
            assert_eq!(p.grams_for(&cfg), own.grams_for(&cfg), "{cfg:?}");
        }
        let trigrams = FeatureConfig {
            word_max: 3,
            ..wide
        };
        assert!(!p.serves(&trigrams), "other word n-grams");
    }

    /// The cached character n-grams give exactly the vector and evidence of n-grams hashed
    /// and looked up afresh, for words seen before and new ones, with two models of other
    /// lengths sharing the thread, and after the cache is emptied.
    #[test]
    fn cached_character_grams_change_nothing() {
        let four = train(
            "four",
            &toy(),
            &TrainConfig {
                features: FeatureConfig {
                    char_min: 4,
                    char_max: 4,
                    ..FeatureConfig::default()
                },
                ..TrainConfig::default()
            },
        )
        .unwrap();
        let wide = train("wide", &toy(), &TrainConfig::default()).unwrap();
        let texts = [
            "my card was declined at the shop again",
            "where is the parcel I ordered, déjà vu",
            "refund refund REFUND please 😍",
            "zzzz unseen wörds qqq",
        ];
        let fresh = |m: &TextModel, text: &str| {
            let (_, raw, dense) = raw_features(&m.header.features, m.header.extras, text);
            let ids = lookup(&m.index, &raw);
            let mut shares = Vec::new();
            let x = weigh(
                &m.dense,
                (m.header.char_weight, m.header.dense_weight),
                &raw,
                &ids,
                &dense,
                Some(&mut shares),
            );
            let p = Prepared::new(text, &m.header.features);
            let why = m.credit(&p.tokens, &raw, &ids, &shares, m.weight_toward(&x, 0), 5);
            (x, why)
        };
        for round in 0..3 {
            if round == 2 {
                WORD_CACHES.with(|c| c.borrow_mut().clear());
            }
            for text in texts {
                for m in [&four, &wide] {
                    let (want, want_why) = fresh(m, text);
                    assert_eq!(m.vector(text), want, "{text}");
                    assert_eq!(m.explain(text, &m.labels()[0], 5), want_why, "{text}");
                }
            }
        }
    }

    /// `weigh` against a plain reference: counts in a `BTreeMap`, `(1 + ln tf) · idf` per
    /// feature, each block normalised to its weight, and every occurrence's share equal.
    #[test]
    fn weighing_matches_a_reference() {
        let mut index = Index::default();
        for id in 0..3000u32 {
            let idf = 1.0 + (id % 7) as f32 / 3.0;
            index.insert(u64::from(id) * 977 + 5, Feature { id, idf });
        }
        let mut rng = Rng::new(11);
        for round in 0..50 {
            // Many repeats, unknown n-grams, both blocks; long enough to make slots collide.
            let n = 1 + rng.below(400) * (1 + round % 3);
            let mut raw: Vec<Gram> = (0..n)
                .map(|_| {
                    let id = rng.below(if round % 2 == 0 { 40 } else { 3500 }) as u64;
                    // A key is of one block (their namespaces never collide).
                    let block = if id.is_multiple_of(3) {
                        Block::Word
                    } else {
                        Block::Char
                    };
                    (id * 977 + 5, block, 0, 0, 1)
                })
                .collect();
            // Word n-grams first, as texts give them.
            raw.sort_by_key(|g| g.1 != Block::Word);
            let ids = lookup(&index, &raw);
            let mut shares = Vec::new();
            let x = weigh(&[], (1.0, 1.0), &raw, &ids, &[], Some(&mut shares));
            let got: std::collections::BTreeMap<u32, f32> = x.iter().copied().collect();
            assert_eq!(got.len(), x.len(), "a feature came out twice");
            let mut want = std::collections::BTreeMap::new();
            for block in [Block::Word, Block::Char] {
                let mut counts: std::collections::BTreeMap<u32, (u32, f32)> = Default::default();
                for f in raw
                    .iter()
                    .zip(&ids)
                    .filter(|(g, _)| g.1 == block)
                    .filter_map(|(_, f)| *f)
                {
                    counts.entry(f.id).or_insert((0, f.idf)).0 += 1;
                }
                let values: Vec<(u32, f32)> = counts
                    .iter()
                    .map(|(&id, &(n, idf))| (id, (1.0 + (n as f32).ln()) * idf))
                    .collect();
                let norm = values.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
                for (id, v) in values {
                    want.insert(id, (v / norm, counts[&id].0));
                }
            }
            assert_eq!(got.len(), want.len());
            for (id, (v, _)) in &want {
                assert!(
                    (got[id] - v).abs() < 1e-5,
                    "feature {id}: {} against {v}",
                    got[id]
                );
            }
            for ((g, f), share) in raw.iter().zip(&ids).zip(&shares) {
                match f {
                    None => assert_eq!(*share, 0.0, "{g:?}"),
                    Some(f) => {
                        let (v, n) = want[&f.id];
                        assert!((share - v / n as f32).abs() < 1e-5);
                    }
                }
            }
        }
    }

    #[test]
    fn learns_known_examples_and_explains_itself() {
        let model = train("intent", &toy(), &TrainConfig::default()).unwrap();
        assert_eq!(model.labels(), ["card_arrival", "card_declined", "refund"]);
        let p = model.predict("my card got declined");
        assert_eq!(p.label, "card_declined");
        assert!(p.confidence > 0.34, "{p:?}");
        assert_eq!(model.predict("refund please").label, "refund");
        let why = model.explain("my card got declined", "card_declined", 3);
        assert!(!why.is_empty());
        assert!(
            why.iter().any(|e| e.feature.contains("declined")),
            "{why:?}"
        );
        let probs = model.probabilities("anything at all");
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    /// A question most of whose words the model never learned is `unknown` unless the model
    /// is sure; with the rule off (`None`, the shipped models and files made before it) the
    /// floor alone decides. The setting travels in the file, and a file without it has none.
    #[test]
    fn a_text_of_mostly_new_words_is_unknown() {
        let cfg = TrainConfig {
            unknown_below: 0.0,
            ..TrainConfig::default()
        };
        let with = train("intent", &toy(), &cfg).unwrap();
        assert_eq!(with.header().new_words_above, Some(NEW_WORDS_ABOVE));
        let without = train(
            "intent",
            &toy(),
            &TrainConfig {
                new_words_above: None,
                ..cfg
            },
        )
        .unwrap();
        // "a", "for", "the" are known; "parrot" and "hotel" are not.
        let odd = "a parrot for the hotel";
        let reading = {
            let p = Prepared::new(odd, &with.header().features);
            with.assess(&p, 0).2
        };
        assert_eq!(
            reading,
            Reading {
                reads_a_word: true,
                words: 5,
                new_words: 2
            }
        );
        assert!(without.predict(odd).confidence < SURE_DESPITE_NEW_WORDS);
        assert_eq!(with.predict(odd).label, UNKNOWN);
        assert_ne!(without.predict(odd).label, UNKNOWN);
        assert_eq!(
            with.predict(odd).confidence,
            0.0,
            "an unknown for its new words passes no min_confidence"
        );
        assert!(!with.best_and_answers(odd).2 && without.best_and_answers(odd).2);
        // Sure despite its new words ("where is the … I ordered" is all card_arrival here).
        assert_eq!(
            with.predict("where is the parrot hotel tonight").label,
            "card_arrival"
        );
        // One new word in seven is not too many.
        let fine = "where is the card I ordered yesterday";
        assert_eq!(with.predict(fine).label, "card_arrival");
        assert!(with.best_and_answers(fine).2);
        // Round trip, and a file from before the setting.
        let back = TextModel::from_bytes(&with.to_bytes()).unwrap();
        assert_eq!(back.header().new_words_above, Some(NEW_WORDS_ABOVE));
        let old = TextModel::from_bytes(&without.to_bytes()).unwrap();
        assert_eq!(old.header().new_words_above, None);
        let json = serde_json::to_string(without.header()).unwrap();
        assert!(!json.contains("new_words_above"), "{json}");
        assert_eq!(TrainConfig::for_kind("purpose").new_words_above, None);
        assert_eq!(default_new_words_above(NETWORK_FROM - 1), None);
        assert_eq!(default_new_words_above(NETWORK_FROM), Some(NEW_WORDS_ABOVE));
        assert_eq!(TrainConfig::for_kind("sentiment").new_words_above, None);
    }

    #[test]
    fn training_is_deterministic() {
        let a = train("intent", &toy(), &TrainConfig::default()).unwrap();
        let b = train("intent", &toy(), &TrainConfig::default()).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn low_confidence_is_unknown() {
        let cfg = TrainConfig {
            unknown_below: 0.99,
            ..TrainConfig::default()
        };
        let model = train("intent", &toy(), &cfg).unwrap();
        assert_eq!(model.predict("zebra xylophone").label, UNKNOWN);
    }

    #[test]
    fn bad_training_sets_are_refused_by_name() {
        assert_eq!(
            train("x", &[], &TrainConfig::default()).unwrap_err(),
            ModelError::Empty
        );
        let one = vec![ex("a", "only"), ex("b", "only")];
        assert_eq!(
            train("x", &one, &TrainConfig::default()).unwrap_err(),
            ModelError::OneLabel("only".into())
        );
        let lonely = vec![ex("a", "x"), ex("b", "x"), ex("c", "y")];
        assert_eq!(
            train("x", &lonely, &TrainConfig::default()).unwrap_err(),
            ModelError::TooFewExamples {
                label: "y".into(),
                count: 1
            }
        );
    }

    #[test]
    fn files_round_trip_and_damage_is_refused() {
        let model = train("intent", &toy(), &TrainConfig::default()).unwrap();
        let bytes = model.to_bytes();
        let back = TextModel::from_bytes(&bytes).unwrap();
        assert_eq!(
            back.index, model.index,
            "the vocabulary and its idf come back"
        );
        assert_eq!(back.header(), model.header());
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(
            back.predict("my card got declined"),
            model.predict("my card got declined")
        );

        assert_eq!(
            TextModel::from_bytes(b"hello").unwrap_err(),
            ModelError::NotAModel
        );
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 1;
        assert!(matches!(
            TextModel::from_bytes(&flipped),
            Err(ModelError::Corrupt(m)) if m.contains("checksum")
        ));
        assert!(matches!(
            TextModel::from_bytes(&bytes[..bytes.len() - 40]),
            Err(ModelError::Corrupt(_))
        ));
    }

    /// A network reads character 4-grams (as accurate as 3 to 5 on BANKING77, at 60% of the
    /// time); one without character n-grams (a sentiment network) stays without; a linear
    /// model keeps its settings.
    #[test]
    fn a_network_reads_character_four_grams() {
        let net = TrainConfig::default().with_network(64);
        assert_eq!((net.features.char_min, net.features.char_max), (4, 4));
        assert_eq!(net.features.word_max, FeatureConfig::default().word_max);
        let words_only = TrainConfig::for_kind("sentiment").with_network(64);
        assert_eq!(words_only.features.char_max, 0);
        assert_eq!(
            TrainConfig::default().with_network(0),
            TrainConfig::default()
        );
        let m = train("intent", &toy(), &TrainConfig::default().with_network(8)).unwrap();
        assert_eq!(m.feature_config().char_min, 4);
    }

    /// A network keeps n-grams of two examples or more, except those of the examples from
    /// `keep_all_from` on (the learning loop's corrections): one correction with a new word
    /// teaches it.
    #[test]
    fn a_single_correction_teaches_a_network_its_new_word() {
        let cfg = TrainConfig {
            mlp: Some(small_net()),
            // As `with_network` sets it.
            min_df: 2,
            ..Default::default()
        };
        let mut examples = toy();
        let corrections = examples.len();
        // One correction says a new word means a declined card.
        examples.push(ex("zyxqjwvk please", "card_declined"));
        let without = train("intent", &examples, &cfg).unwrap();
        let with = train(
            "intent",
            &examples,
            &TrainConfig {
                keep_all_from: Some(corrections),
                ..cfg.clone()
            },
        )
        .unwrap();
        // The word and its character n-grams are new.
        assert!(
            with.index.len() >= without.index.len() + 10,
            "{} against {}",
            with.index.len(),
            without.index.len()
        );
        // Without, the word is unknown: the model reads it as an empty text.
        assert_eq!(without.probabilities("zyxqjwvk"), without.probabilities(""));
        // With, it is a word of its own, and it pushes toward the label it was taught.
        assert_ne!(with.probabilities("zyxqjwvk"), with.probabilities(""));
        assert_eq!(with.labels()[1], "card_declined");
        let declined = |m: &TextModel, text: &str| m.probabilities(text)[1];
        assert!(
            declined(&with, "zyxqjwvk") > declined(&with, ""),
            "{} against {}",
            declined(&with, "zyxqjwvk"),
            declined(&with, "")
        );
        assert_eq!(with.predict("zyxqjwvk").label, "card_declined");
    }

    /// A network model learns the same examples, explains itself with words of the text,
    /// trains the same twice, and goes through its file (format 2) whole; damage, a wrong
    /// format number and a truncated first layer are refused.
    #[test]
    fn a_network_learns_explains_and_round_trips() {
        let cfg = TrainConfig {
            mlp: Some(small_net()),
            ..Default::default()
        };
        let model = train("intent", &toy(), &cfg).unwrap();
        assert_eq!(model.header().format, FORMAT_NETWORK);
        assert_eq!(model.header().hidden, 16);
        assert!(model.weights.is_empty());
        assert_eq!(model.predict("my card got declined").label, "card_declined");
        assert_eq!(model.predict("refund please").label, "refund");
        assert_eq!(
            model.predict("where is the card I ordered").label,
            "card_arrival"
        );
        let why = model.explain("my card got declined", "card_declined", 3);
        assert!(
            why.iter().any(|e| e.feature.contains("declined")),
            "{why:?}"
        );
        assert!(why.iter().all(|e| e.weight > 0.0), "{why:?}");
        assert_eq!(
            train("intent", &toy(), &cfg).unwrap().to_bytes(),
            model.to_bytes()
        );
        // With 100 examples or more a trial network is fitted on nine tenths for the
        // temperature; the final one trains beside it on two threads, after it on one: the
        // same file either way.
        let many: Vec<Example> = (0..8)
            .flat_map(|k| {
                toy()
                    .into_iter()
                    .map(move |e| ex(&format!("{} ref {k}", e.text), &e.label))
            })
            .collect();
        let two = train("intent", &many, &cfg).unwrap();
        assert!(two.header().holdout_accuracy.is_some());
        let one = TrainConfig { threads: 1, ..cfg };
        assert_eq!(
            train("intent", &many, &one).unwrap().to_bytes(),
            two.to_bytes()
        );

        let bytes = model.to_bytes();
        let back = TextModel::from_bytes(&bytes).unwrap();
        assert_eq!(back.net, model.net);
        assert_eq!(back.header(), model.header());
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(
            back.probabilities("my card got declined"),
            model.probabilities("my card got declined")
        );
        let mut flipped = bytes.clone();
        let end = flipped.len() - 40;
        flipped[end] ^= 1;
        assert!(matches!(
            TextModel::from_bytes(&flipped),
            Err(ModelError::Corrupt(m)) if m.contains("checksum")
        ));
        // Re-sealed with a valid checksum, a file whose header claims another format or
        // whose first layer is short is still refused.
        let reseal = |body: &[u8]| {
            let mut out = body.to_vec();
            out.extend_from_slice(&Sha256::digest(body));
            out
        };
        let body = &bytes[..bytes.len() - 32];
        assert!(matches!(
            TextModel::from_bytes(&reseal(&body[..body.len() - 1])),
            Err(ModelError::Corrupt(m)) if m.contains("do not match its length")
        ));
        let mut relabelled = body.to_vec();
        let at = body.windows(10).position(|w| w == b"\"format\":2").unwrap();
        relabelled[at + 9] = b'1';
        assert!(matches!(
            TextModel::from_bytes(&reseal(&relabelled)),
            Err(ModelError::Corrupt(m)) if m.contains("disagree")
        ));
        // A header claiming a wider layer than the file holds.
        let mut wider = body.to_vec();
        let at = body
            .windows(11)
            .position(|w| w == b"\"hidden\":16")
            .unwrap();
        wider[at + 9..at + 11].copy_from_slice(b"99");
        assert!(matches!(
            TextModel::from_bytes(&reseal(&wider)),
            Err(ModelError::Corrupt(m)) if m.contains("do not match its length")
        ));
    }

    #[test]
    fn a_crafted_file_claiming_huge_sizes_is_refused_without_allocating() {
        let model = train("intent", &toy(), &TrainConfig::default()).unwrap();
        let mut bytes = model.to_bytes();
        bytes.truncate(bytes.len() - 32);
        let header_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let at = 12 + header_len;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        // A valid checksum over the altered bytes: only the sizes can catch it.
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        assert!(matches!(
            TextModel::from_bytes(&bytes),
            Err(ModelError::Corrupt(m)) if m.contains("do not match its length")
        ));
    }

    #[test]
    fn confusion_counts_each_pair() {
        let c = confusion(&["a", "a", "a", "b"], &["a", "b", "a", "unknown"]);
        assert_eq!(c["a"]["a"], 2);
        assert_eq!(c["a"]["b"], 1);
        assert_eq!(c["b"]["unknown"], 1);
        assert!(!c["b"].contains_key("b"));
        assert!(confusion(&[], &[]).is_empty());
    }

    #[test]
    fn calibration_table() {
        // Two bins of ten. 0.95-confident: 3 of 4 right; 0.35-confident: 1 of 2 right.
        let conf = [0.95, 0.95, 0.95, 0.95, 0.35, 0.35];
        let right = [true, true, true, false, true, false];
        let c = calibration(&conf, &right, 0.5, 10);
        assert_eq!(c.bins.len(), 2);
        assert_eq!((c.bins[0].examples, c.bins[1].examples), (2, 4));
        assert!((c.bins[0].from - 0.3).abs() < 1e-9 && (c.bins[1].to - 1.0).abs() < 1e-9);
        assert!((c.bins[1].accuracy - 0.75).abs() < 1e-9);
        // |0.35 − 0.5| · 2/6 + |0.95 − 0.75| · 4/6
        let want = 0.15 * 2.0 / 6.0 + 0.2 * 4.0 / 6.0;
        assert!((c.expected_calibration_error - want).abs() < 1e-6, "{c:?}");
        assert!((c.answered - 4.0 / 6.0).abs() < 1e-9);
        assert!((c.answered_accuracy - 0.75).abs() < 1e-9);
        let seven = calibration(&[0.7], &[true], 0.5, 10);
        assert!((seven.bins[0].from - 0.7).abs() < 1e-9, "{seven:?}");
        // Confidence 1 falls in the last bin; nothing, or nothing answered, is no division.
        assert_eq!(calibration(&[1.0], &[true], 0.5, 10).bins[0].from, 0.9);
        let none = calibration(&[], &[], 0.5, 10);
        assert_eq!((none.answered, none.expected_calibration_error), (0.0, 0.0));
        assert_eq!(calibration(&[0.2], &[true], 0.5, 10).answered_accuracy, 0.0);
    }

    #[test]
    fn scores_table() {
        let labels: Vec<String> = ["a", "b"].iter().map(|s| (*s).to_owned()).collect();
        let s = score(&labels, &["a", "a", "b", "b"], &["a", "b", "b", "unknown"]);
        assert_eq!(s.accuracy, 0.5);
        assert_eq!(s.per_label["a"].precision, 1.0);
        assert_eq!(s.per_label["a"].recall, 0.5);
        assert_eq!(s.per_label["b"].precision, 0.5);
        assert_eq!(s.per_label["b"].recall, 0.5);
        let f1_a = 2.0 * 1.0 * 0.5 / 1.5;
        assert!((s.macro_f1 - (f1_a + 0.5) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_temperature_scale_softens_confidence_but_never_the_label() {
        let plain = train("intent", &toy(), &TrainConfig::default()).unwrap();
        let cfg = TrainConfig {
            temperature_scale: 0.3,
            ..TrainConfig::default()
        };
        let soft = train("intent", &toy(), &cfg).unwrap();
        let (t, s) = (plain.header().temperature, soft.header().temperature);
        assert!((s - 0.3 * t).abs() < 1e-5, "{t} {s}");
        for bad in [0.0, -1.0, f32::NAN] {
            let cfg = TrainConfig {
                temperature_scale: bad,
                ..TrainConfig::default()
            };
            assert!(
                matches!(train("intent", &toy(), &cfg), Err(ModelError::Setting(_))),
                "{bad}"
            );
        }
        for text in ["my card never arrived", "refund please", "zebra xylophone"] {
            let (a, b) = (
                plain.best_with_confidence(text),
                soft.best_with_confidence(text),
            );
            assert_eq!(a.0, b.0, "{text}");
            assert!(b.1 <= a.1 + 1e-6, "{text}: {a:?} {b:?}");
        }
    }

    #[test]
    fn recalibrating_on_harder_texts_softens_confidence_not_labels() {
        let mut model = train("intent", &toy(), &TrainConfig::default()).unwrap();
        let before = model.clone();
        // Real traffic the model gets right only half the time: every other example's label
        // swapped for another the model knows.
        let seen: Vec<Example> = toy().into_iter().cycle().take(40).collect();
        let real = half_mislabelled(&seen, model.labels());
        let r = model.recalibrate(&real, false).unwrap();
        assert_eq!(r.examples, 40);
        assert!(r.temperature_after < r.temperature_before, "{r:?}");
        assert!(r.ece_after < r.ece_before && r.changed, "{r:?}");
        assert_eq!(model.header().temperature, r.temperature_after);
        for e in toy() {
            assert_eq!(model.best(&e.text), before.best(&e.text), "{}", e.text);
        }
        // Too few examples the model knows: refused, the model unchanged.
        let mut again = before.clone();
        let unknown: Vec<Example> = (0..30).map(|i| ex(&format!("text {i}"), "zzz")).collect();
        assert_eq!(
            again.recalibrate(&unknown, false).unwrap_err(),
            ModelError::TooFewToCalibrate(0)
        );
        assert_eq!(again.header().temperature, before.header().temperature);
    }

    /// Calibrating on the examples a model was trained on is refused: it is right on far more
    /// of them than on its held-back tenth, and would be fitted overconfident. Examples it
    /// gets right about as often as the held-back ones are taken.
    #[test]
    fn recalibrating_on_the_training_examples_is_refused() {
        let mut model = train("intent", &toy(), &TrainConfig::default()).unwrap();
        // As if trained on 1,000 examples, right on 60% of the hundred held back.
        model.header.holdout_accuracy = Some(0.6);
        model.header.examples = 1000;
        let before = model.header().temperature;
        // All but one right (one label swapped), as the examples it learnt from would be.
        let seen: Vec<Example> = toy().into_iter().cycle().take(40).collect();
        let mut mostly = seen.clone();
        mostly[0].label = model
            .labels()
            .iter()
            .find(|l| **l != mostly[0].label)
            .unwrap()
            .clone();
        match model.recalibrate(&mostly, false) {
            Err(e @ ModelError::LooksLikeTraining { examples: 40, .. }) => {
                assert!(
                    e.to_string()
                        .contains("right on 97.5% of these 40 examples, against 60.0%"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(model.header().temperature, before);
        // Asked to anyway: fitted.
        assert!(model.clone().recalibrate(&mostly, true).is_ok());
        // Held back from only 20 examples, 60% is too unsure to tell: fitted.
        let mut few = model.clone();
        few.header.examples = 20;
        assert!(few.recalibrate(&mostly, false).is_ok());
        // Half of them mislabelled: right about as often as held back, so calibrated.
        let real = half_mislabelled(&seen, model.labels());
        assert!(model.recalibrate(&real, false).is_ok());
    }

    /// `examples` with every other label swapped for another of `labels`.
    fn half_mislabelled(examples: &[Example], labels: &[String]) -> Vec<Example> {
        examples
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut e = e.clone();
                if i % 2 == 1 {
                    e.label = labels.iter().find(|l| **l != e.label).unwrap().clone();
                }
                e
            })
            .collect()
    }

    #[test]
    fn temperature_fits_confident_and_unsure_data() {
        // Scores that separate perfectly want a high temperature; noisy ones a lower one.
        let clean: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                if i % 2 == 0 {
                    vec![1.0, -1.0]
                } else {
                    vec![-1.0, 1.0]
                }
            })
            .collect();
        let gold: Vec<usize> = (0..50).map(|i| i % 2).collect();
        let noisy_gold: Vec<usize> = (0..50)
            .map(|i| if i % 5 == 0 { 1 - i % 2 } else { i % 2 })
            .collect();
        assert!(fit_temperature(&clean, &gold) > fit_temperature(&clean, &noisy_gold));
    }
}
