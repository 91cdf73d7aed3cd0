//! Sentiment of short social text: negative, neutral or positive, with a score in -1..=1.
//!
//! Two layers:
//! - A **lexicon scorer** written for social media: term valences (words, slang, emoticons,
//!   emoji) adjusted by negation ("not good"), boosters and dampeners ("so good", "kinda
//!   good"), a contrast ("…, but …" weighs what follows), elongation ("sooooo good"), a
//!   shouted word in otherwise normal text, and exclamation marks. It gives
//!   [`lexicon_features`], which a trained model adds to its n-grams
//!   ([`Extras::SentimentLexicon`](crate::model::Extras)), and a lexicon-only verdict used
//!   when no model is at hand.
//! - A trained [`TextModel`](crate::model::TextModel) over n-grams plus those features; its
//!   score is `P(positive) − P(negative)`.

use crate::features::{Token, WordMap, WordTable, keys_of, word_key};
use crate::scratch;
use serde::Serialize;
use std::cell::Cell;

/// How many features [`lexicon_features`] returns.
pub const LEXICON_FEATURES: usize = 8;

/// How a term changes the sentiment words after it (before it: [`Modifier::NegationAfter`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Modifier {
    Negation,
    /// Turns the sentiment word one or two words before it, as Hindi's `nahi` does
    /// ("achha nahi hai": not good).
    NegationAfter,
    /// Adds to the strength of the next sentiment word (negative values weaken it).
    Scale(f32),
    Contrast,
}

/// Term valences (−4..=4) and modifiers.
#[derive(Debug, Default)]
pub struct Lexicon {
    /// Every single word the lexicon knows, with all it knows about it: one look-up a token.
    words: WordTable<Term>,
    /// Modifier phrases of two words or more ("a bit", "not at all").
    phrases: WordMap<String, Modifier>,
    /// The longest modifier phrase, in words.
    longest_modifier: usize,
    /// How many terms have a valence.
    valences: usize,
}

/// What the lexicon knows about one word.
#[derive(Debug, Default, Clone, Copy)]
struct Term {
    valence: Option<f32>,
    /// The modifier the word is on its own.
    modifier: Option<Modifier>,
    /// Whether a modifier phrase ends with this word.
    ends_phrase: bool,
}

impl Lexicon {
    /// Parses `term<TAB>valence` lines and `term<TAB>kind<TAB>value` modifier lines; a line
    /// that does not parse is an error naming it.
    pub fn parse(valences: &str, modifiers: &str) -> Result<Lexicon, String> {
        let mut lex = Lexicon::default();
        for (n, line) in valences.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (term, v) = line
                .split_once('\t')
                .ok_or_else(|| format!("lexicon line {}: expected term<TAB>valence", n + 1))?;
            let v: f32 = v
                .trim()
                .parse()
                .map_err(|_| format!("lexicon line {}: {v:?} is not a number", n + 1))?;
            let term = term.trim().to_lowercase();
            if term.contains(' ') {
                // A token never holds a space, so a phrase's valence could never be read.
                return Err(format!(
                    "lexicon line {}: {term:?} is a phrase; valences are for single words",
                    n + 1
                ));
            }
            let Some(entry) = lex.words.entry(&term) else {
                return Err(format!(
                    "lexicon line {}: {term:?} shares its hash with another term",
                    n + 1
                ));
            };
            if entry.valence.is_none() {
                lex.valences += 1;
            }
            entry.valence = Some(v.clamp(-4.0, 4.0));
        }
        for (n, line) in modifiers.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split('\t');
            let (Some(term), Some(kind)) = (parts.next(), parts.next()) else {
                return Err(format!(
                    "modifiers line {}: expected term<TAB>kind<TAB>value",
                    n + 1
                ));
            };
            let value: f32 = parts
                .next()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0);
            let m = match kind.trim() {
                "negation" => Modifier::Negation,
                "negation_after" => Modifier::NegationAfter,
                "booster" | "dampener" => Modifier::Scale(value),
                "contrast" => Modifier::Contrast,
                other => return Err(format!("modifiers line {}: unknown kind {other:?}", n + 1)),
            };
            let term = term.trim().to_lowercase();
            let words = term.split(' ').count();
            lex.longest_modifier = lex.longest_modifier.max(words);
            if words == 1 {
                let Some(entry) = lex.words.entry(&term) else {
                    return Err(format!(
                        "modifiers line {}: {term:?} shares its hash with another term",
                        n + 1
                    ));
                };
                entry.modifier = Some(m);
            } else {
                let last = term.rsplit(' ').next().unwrap_or_default().to_owned();
                let Some(entry) = lex.words.entry(&last) else {
                    return Err(format!(
                        "modifiers line {}: {last:?} shares its hash with another term",
                        n + 1
                    ));
                };
                entry.ends_phrase = true;
                lex.phrases.insert(term, m);
            }
        }
        Ok(lex)
    }

    pub fn len(&self) -> usize {
        self.valences
    }

    pub fn is_empty(&self) -> bool {
        self.valences == 0
    }

    /// What the lexicon knows about a token (whose [`word_key`] is `key`), and its valence,
    /// trying an elongated word's shorter spellings ("gooood" → "good"; then `elongated` is
    /// true).
    fn read(&self, token: &str, key: u64) -> Read {
        let term = self.words.get(key, token).copied().unwrap_or_default();
        let mut read = Read {
            valence: term.valence,
            long_run: has_long_run(token),
            elongated: false,
            modifier: term.modifier,
            ends_phrase: term.ends_phrase,
        };
        if read.valence.is_none() && read.long_run {
            let valence = |w: &str| self.words.get(word_key(w), w).and_then(|t| t.valence);
            read.valence = valence(&squeeze(token, 2)).or_else(|| valence(&squeeze(token, 1)));
            read.elongated = read.valence.is_some();
        }
        read
    }

    /// The modifier made by the phrase of up to `longest_modifier` tokens ending at `i`
    /// (the longest phrase first, then the word alone).
    fn modifier_at(&self, tokens: &[Token], read: &[Read], i: usize) -> Option<Modifier> {
        if read[i].ends_phrase {
            let mut phrase = String::new();
            for len in (2..=self.longest_modifier.min(i + 1)).rev() {
                phrase.clear();
                for (k, w) in tokens[i + 1 - len..=i].iter().enumerate() {
                    if k > 0 {
                        phrase.push(' ');
                    }
                    phrase.push_str(w);
                }
                if let Some(&m) = self.phrases.get(phrase.as_str()) {
                    return Some(m);
                }
            }
        }
        read[i].modifier
    }
}

/// One token as the lexicon reads it.
#[derive(Debug, Clone, Copy)]
struct Read {
    valence: Option<f32>,
    /// A letter repeats 3 or more times in a row ("sooo"), whether or not that helped.
    long_run: bool,
    /// The valence was found by shortening such a run.
    elongated: bool,
    modifier: Option<Modifier>,
    ends_phrase: bool,
}

/// Whether a letter repeats 3 or more times in a row ("sooo").
fn has_long_run(token: &str) -> bool {
    if token.is_ascii() {
        return token
            .as_bytes()
            .windows(3)
            .any(|w| w[0] == w[1] && w[1] == w[2]);
    }
    let mut last = None;
    let mut run = 0;
    token.chars().any(|c| {
        if Some(c) == last {
            run += 1;
        } else {
            last = Some(c);
            run = 1;
        }
        run >= 3
    })
}

/// Runs of 3 or more of one letter cut to `keep`; other words unchanged.
fn squeeze(token: &str, keep: usize) -> String {
    if !has_long_run(token) {
        return token.to_owned();
    }
    let mut out = String::with_capacity(token.len());
    let mut last = None;
    let mut run = 0;
    for c in token.chars() {
        if Some(c) == last {
            run += 1;
        } else {
            last = Some(c);
            run = 1;
        }
        if run <= keep {
            out.push(c);
        }
    }
    out
}

/// What the lexicon makes of a text.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LexiconScore {
    pub positive: f32,
    pub negative: f32,
    /// `(pos − neg) / sqrt((pos − neg)² + 15)`, in −1..=1.
    pub compound: f32,
    pub negated: u32,
    /// Some word stretches a letter ("sooo"), known to the lexicon or not.
    pub elongated: bool,
}

/// Scores `text` with `lex`, clause by clause.
pub fn score_text(lex: &Lexicon, text: &str) -> LexiconScore {
    let (tokens, clauses) = crate::features::tokens_in_clauses(text);
    score_tokens(lex, text, &tokens, &keys_of(&tokens), &clauses)
}

/// [`score_text`] for a text already split by [`crate::features::tokens_in_clauses`], with
/// each token's [`word_key`] (a token without a clause number is not read).
pub(crate) fn score_tokens(
    lex: &Lexicon,
    text: &str,
    tokens: &[Token],
    keys: &[u64],
    clauses: &[u32],
) -> LexiconScore {
    let tokens = &tokens[..tokens.len().min(clauses.len()).min(keys.len())];
    let shouted = shouted_words(text);
    let mut read = scratch::take(&READ);
    read.extend(tokens.iter().zip(keys).map(|(t, &k)| lex.read(t, k)));
    let mut values = scratch::take(&VALUES);
    let mut contrast_at = None;
    let mut negated = 0;
    let mut from = 0;
    while from < tokens.len() {
        let to = from
            + clauses[from..]
                .iter()
                .take_while(|&&c| c == clauses[from])
                .count();
        let (tokens, read) = (&tokens[from..to], &read[from..to]);
        from = to;
        for (i, (t, r)) in tokens.iter().zip(read).enumerate() {
            if let Some(Modifier::Contrast) = r.modifier {
                contrast_at = Some(values.len());
            }
            let Some(mut v) = r.valence else {
                continue;
            };
            // Modifiers in the three tokens before, within the clause.
            let mut flip = false;
            for back in 1..=3 {
                if back > i {
                    break;
                }
                match lex.modifier_at(tokens, read, i - back) {
                    Some(Modifier::Negation) => flip = true,
                    Some(Modifier::Scale(s)) if back <= 2 => {
                        let s = if back == 2 { s * 0.8 } else { s };
                        v += v.signum() * s;
                    }
                    _ => {}
                }
            }
            // A negation that follows the word (Hindi), within the clause.
            flip |= read
                .iter()
                .skip(i + 1)
                .take(2)
                .any(|r| r.modifier == Some(Modifier::NegationAfter));
            if r.elongated {
                v *= 1.2;
            }
            if shouted.iter().any(|s| s == t) {
                v *= 1.3;
            }
            if flip {
                v *= -0.74;
                negated += 1;
            }
            values.push(v);
        }
    }
    if let Some(at) = contrast_at {
        for (j, v) in values.iter_mut().enumerate() {
            *v *= if j < at { 0.5 } else { 1.5 };
        }
    }
    let positive: f32 = values.iter().filter(|v| **v > 0.0).sum();
    let negative: f32 = -values.iter().filter(|v| **v < 0.0).sum::<f32>();
    let mut raw = positive - negative;
    let bangs = text.bytes().filter(|&b| b == b'!').count().min(4) as f32;
    if raw != 0.0 {
        raw += raw.signum() * bangs * 0.292;
    }
    let elongated = read.iter().any(|r| r.long_run);
    scratch::give(&READ, read);
    scratch::give(&VALUES, values);
    LexiconScore {
        positive,
        negative,
        compound: raw / (raw * raw + 15.0).sqrt(),
        negated,
        elongated,
    }
}

thread_local! {
    static READ: Cell<Vec<Read>> = const { Cell::new(Vec::new()) };
    static VALUES: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Lower-cased words written in capitals (2+ letters) when the text is not all capitals.
fn shouted_words(text: &str) -> Vec<String> {
    // A shouted word has two capitals in a row; most texts have none.
    let pair = if text.is_ascii() {
        text.as_bytes()
            .windows(2)
            .any(|w| w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase())
    } else {
        let mut last_upper = false;
        text.chars().any(|c| {
            let upper = c.is_uppercase();
            let pair = upper && last_upper;
            last_upper = upper;
            pair
        })
    };
    if !pair {
        return Vec::new();
    }
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 2)
        .collect();
    let caps: Vec<&&str> = words
        .iter()
        .filter(|w| w.chars().all(|c| c.is_uppercase()))
        .collect();
    if caps.is_empty() || caps.len() == words.len() {
        return Vec::new();
    }
    caps.iter().map(|w| w.to_lowercase()).collect()
}

/// Features for a trained model: positive and negative strength, compound, negations,
/// exclamation and question marks, share of capitals, elongation. `keys` are the tokens'
/// [`word_key`]s ([`keys_of`]).
pub fn lexicon_features(
    text: &str,
    tokens: &[Token],
    keys: &[u64],
    clauses: &[u32],
) -> [f32; LEXICON_FEATURES] {
    let s = score_tokens(crate::defaults::lexicon(), text, tokens, keys, clauses);
    let squash = |x: f32| x / (1.0 + x);
    let (letters, upper) = letters_and_capitals(text);
    let (letters, upper) = (letters.max(1) as f32, upper as f32);
    [
        squash(s.positive / 2.0),
        squash(s.negative / 2.0),
        s.compound,
        squash(s.negated as f32),
        // Exclamation marks strengthen what the lexicon found (in the compound), whichever
        // way it points; alone they say nothing about polarity.
        0.0,
        f32::from(u8::from(text.contains('?'))),
        if letters >= 4.0 { upper / letters } else { 0.0 },
        f32::from(u8::from(s.elongated)),
    ]
}

/// How many letters `text` has, and how many of them are capitals.
fn letters_and_capitals(text: &str) -> (usize, usize) {
    if text.is_ascii() {
        // One pass, branch-free: a byte is a letter when its lower case is `a..=z`.
        return text.bytes().fold((0, 0), |(l, u), b| {
            (
                l + usize::from((b | 0x20).wrapping_sub(b'a') < 26),
                u + usize::from(b.wrapping_sub(b'A') < 26),
            )
        });
    }
    text.chars().fold((0, 0), |(l, u), c| {
        (
            l + usize::from(c.is_alphabetic()),
            u + usize::from(c.is_uppercase()),
        )
    })
}

/// A sentiment verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sentiment {
    /// `negative`, `neutral` or `positive`.
    pub label: &'static str,
    /// −1 (very negative) to 1 (very positive).
    pub score: f32,
}

/// The label for a score, with a band around zero for neutral.
pub fn label_for(score: f32, neutral_band: f32) -> &'static str {
    if score >= neutral_band {
        "positive"
    } else if score <= -neutral_band {
        "negative"
    } else {
        "neutral"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::parse(
            "good\t1.9\ngreat\t3.1\nbad\t-2.5\nhate\t-2.7\n😍\t2.7\n:(\t-1.9\n",
            "not\tnegation\t0\nvery\tbooster\t0.3\nkinda\tdampener\t-0.3\nbut\tcontrast\t0\na bit\tdampener\t-0.3\n",
        )
        .unwrap()
    }

    fn compound(text: &str) -> f32 {
        score_text(&lex(), text).compound
    }

    /// How clauses were found before the tokeniser numbered them: the text cut at the marks,
    /// each piece tokenised on its own.
    fn old_clauses(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let next_is_space = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
            if matches!(c, ',' | '!' | '?' | '\n') || (matches!(c, '.' | ';') && next_is_space) {
                out.push(&text[start..i]);
                start = i + c.len_utf8();
            }
        }
        out.push(&text[start..]);
        out
    }

    #[test]
    fn numbered_clauses_score_as_cut_clauses_did() {
        let lex = crate::defaults::lexicon();
        for text in [
            "not good, so annoying",
            "I don't love it. But the staff were great!!",
            "never again; worst service ever",
            "not bad at all :)",
            "kinda good\nnot great",
            "Paid 2.50. Not happy",
            "NOT impressed, but ok",
            "wasn't worth it... really wasn't",
            "",
        ] {
            let mut want = LexiconScore::default();
            let (tokens, clauses) = crate::features::tokens_in_clauses(text);
            let cut: Vec<Token> = old_clauses(text)
                .into_iter()
                .flat_map(crate::features::tokens)
                .filter(|t| t != "!" && t != "?")
                .collect();
            let kept: Vec<Token> = tokens
                .iter()
                .filter(|t| *t != "!" && *t != "?")
                .cloned()
                .collect();
            assert_eq!(kept, cut, "{text}: the same words");
            let got = score_tokens(lex, text, &tokens, &keys_of(&tokens), &clauses);
            // Score clause by clause the old way, through the public entry point on each
            // piece, and compare what can be compared piecewise: negations per clause.
            for piece in old_clauses(text) {
                want.negated += score_text(lex, piece).negated;
            }
            assert_eq!(got.negated, want.negated, "{text}");
        }
    }

    #[test]
    fn lexicon_rules() {
        assert!(compound("good") > 0.0);
        assert!(compound("not good") < 0.0, "negation flips");
        assert!(
            compound("very good") > compound("good"),
            "boosters strengthen"
        );
        assert!(
            compound("kinda good") < compound("good"),
            "dampeners weaken"
        );
        assert!(
            compound("a bit good") < compound("good"),
            "phrases modify too"
        );
        assert!(
            compound("gooooood") > compound("good"),
            "elongation strengthens"
        );
        assert!(
            compound("this is GOOD stuff") > compound("this is good stuff"),
            "shouting"
        );
        assert!(compound("good!!!") > compound("good"), "exclamation");
        assert!(
            compound("good but bad") < 0.0,
            "what follows but weighs more"
        );
        assert!(compound("love it 😍") > 0.0, "emoji");
        assert_eq!(compound("the meeting is at noon"), 0.0);
        assert!(
            compound("so sad :(") < 0.0,
            "emoticons are tokens? {}",
            compound("so sad :(")
        );
        // Hindi's negation follows the word it turns, within two words and the clause.
        let hindi =
            Lexicon::parse("achhi\t1.8\nproblem\t-1.5\n", "nahi\tnegation_after\t0\n").unwrap();
        let in_hindi = |text: &str| score_text(&hindi, text).compound;
        assert!(
            in_hindi("service achhi nahi hai") < 0.0,
            "a negation after flips"
        );
        assert!(in_hindi("service achhi hai") > 0.0);
        assert!(in_hindi("koi problem nahi") > 0.0, "no problem");
        assert!(
            in_hindi("achhi service, paise nahi mile") > 0.0,
            "another clause"
        );
        assert!(
            in_hindi("achhi hai service paise nahi") > 0.0,
            "three words on"
        );
    }

    #[test]
    fn bad_lexicon_lines_are_named() {
        assert!(
            Lexicon::parse("good\tlots\n", "")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(
            Lexicon::parse("", "very\tshouty\t1\n")
                .unwrap_err()
                .contains("unknown kind")
        );
    }

    #[test]
    fn squeeze_table() {
        for (word, keep, want) in [
            ("sooooo", 2, "soo"),
            ("sooooo", 1, "so"),
            ("good", 2, "good"),
            ("good", 1, "good"),
            ("nooooo", 1, "no"),
        ] {
            assert_eq!(squeeze(word, keep), want, "{word} {keep}");
        }
    }

    #[test]
    fn elongation_is_seen_in_any_word() {
        let elongated = |text: &str| {
            let (tokens, clauses) = crate::features::tokens_in_clauses(text);
            let keys = keys_of(&tokens);
            let s = score_tokens(crate::defaults::lexicon(), text, &tokens, &keys, &clauses);
            let feature = lexicon_features(text, &tokens, &keys, &clauses)[LEXICON_FEATURES - 1];
            assert_eq!(feature, f32::from(u8::from(s.elongated)), "{text}");
            s.elongated
        };
        // A word the lexicon knows once shortened, one it does not know, and none.
        assert!(elongated("this is goooood"));
        assert!(elongated("wheeeere is my parcel"));
        assert!(!elongated("where is my parcel, good"));
        assert!(!elongated(""));
    }

    #[test]
    fn label_bands() {
        assert_eq!(label_for(0.5, 0.2), "positive");
        assert_eq!(label_for(-0.5, 0.2), "negative");
        assert_eq!(label_for(0.1, 0.2), "neutral");
    }
}
