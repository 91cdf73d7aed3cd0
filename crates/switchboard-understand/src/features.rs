//! From text to a sparse vector: normalisation, tokens, hashed word and character n-grams.
//!
//! - **Normalisation**: lower case; URLs become `url`, `@handles` become `@user`, every digit
//!   becomes `0` (amounts and order numbers generalise; their length survives). Fullwidth
//!   forms (`ｈｅｌｌｏ！`, common in Japanese and Chinese text) read as their ASCII letters and
//!   marks, and decomposed accents (`e` + U+0301, as macOS writes file names and some
//!   keyboards send) as the composed letter (`é`), so both spell the same words.
//! - **Tokens**: runs of letters and digits (with inner apostrophes: `can't`); every other
//!   visible character that is not ASCII punctuation (an emoji, a symbol) is a token of its
//!   own, and so are `!` and `?`.
//! - **Features**: word unigrams and bigrams, and character n-grams of 3 to 5 characters
//!   inside each word padded with spaces (`" card "` → `" ca"`, `"car"`, …, `"ard "`). Each is
//!   hashed to 64 bits with FNV-1a under its own namespace, so a model stores no strings and
//!   two kinds of feature never collide by construction.
//!
//! The hash is part of the model format: changing it (or the normalisation) is a new
//! [`FORMAT`](crate::model::FORMAT).

use crate::scratch;
use serde::{Deserialize, Serialize};
use std::cell::Cell;

/// Which n-grams to extract.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Longest word n-gram (1: unigrams only).
    pub word_max: usize,
    /// Character n-gram lengths, inclusive.
    pub char_min: usize,
    pub char_max: usize,
    /// Whether `!` is a feature. Sentiment models leave it out: how loud a text is says
    /// nothing about which way it leans (the lexicon uses it as a strengthener).
    #[serde(default = "yes")]
    pub exclamations: bool,
}

fn yes() -> bool {
    true
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            word_max: 2,
            // 3 to 5: as accurate as 2 to 5 on BANKING77 and on the purpose examples
            // (docs/PERFORMANCE.md), with a third fewer n-grams to look up.
            char_min: 3,
            char_max: 5,
            exclamations: true,
        }
    }
}

/// The block a feature belongs to; each block is weighted and normalised on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Word,
    Char,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(ns: u8, parts: &[&[u8]]) -> u64 {
    let mut h = FNV_OFFSET ^ u64::from(ns);
    h = h.wrapping_mul(FNV_PRIME);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(FNV_PRIME);
        }
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// FNV-1a as a `Hasher`, for fixed tables of short strings (the lexicon's modifier phrases):
/// a cheap hash matters more than resistance to chosen collisions (the tables never grow
/// from input). Single words go in a [`WordTable`], found by the key already computed.
pub(crate) struct WordHasher(u64);

impl Default for WordHasher {
    fn default() -> Self {
        WordHasher(FNV_OFFSET)
    }
}

impl std::hash::Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map from words, hashed with [`WordHasher`].
pub(crate) type WordMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<WordHasher>>;

/// The key of a word (its unigram feature's key).
pub fn word_key(token: &str) -> u64 {
    fnv(1, &[token.as_bytes()])
}

/// Each token's [`word_key`].
pub fn keys_of(tokens: &[Token]) -> Vec<u64> {
    tokens.iter().map(|t| word_key(t)).collect()
}

/// Passes a key that is a hash already through, folded and mixed (`HashMap` takes the low
/// bits for the slot and the top bits for its tag).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed with this; any other key still gets a hash.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = (k ^ (k >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Words and what is known about each, looked up by the word's [`word_key`]: a text's
/// tokens are hashed once ([`crate::model::Prepared`]), and each table (the sentiment
/// lexicon, the function words, a model's cache of character n-grams) finds a token by that
/// key, then checks the word itself (two words with one key are told apart: the first one
/// added keeps the key).
#[derive(Debug, Clone)]
pub(crate) struct WordTable<V> {
    map: std::collections::HashMap<u64, (Box<str>, V), std::hash::BuildHasherDefault<KeyHasher>>,
}

impl<V> Default for WordTable<V> {
    fn default() -> Self {
        WordTable {
            map: Default::default(),
        }
    }
}

impl<V> WordTable<V> {
    /// What the table holds for `word`, whose key is `key`.
    #[inline]
    pub fn get(&self, key: u64, word: &str) -> Option<&V> {
        match self.map.get(&key) {
            Some((w, v)) if **w == *word => Some(v),
            _ => None,
        }
    }

    /// The entry of `word`, made with `V::default()` if new; `None` when another word holds
    /// its key.
    pub fn entry(&mut self, word: &str) -> Option<&mut V>
    where
        V: Default,
    {
        let (w, v) = self
            .map
            .entry(word_key(word))
            .or_insert_with(|| (word.into(), V::default()));
        (**w == *word).then_some(v)
    }

    /// Puts `value` under `word` (whose key is `key`), replacing whatever held that key.
    pub fn insert(&mut self, key: u64, word: &str, value: V) {
        self.map.insert(key, (word.into(), value));
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

/// The key of a dense, hand-made feature (for example a lexicon score), numbered `i`.
pub fn dense_key(i: u8) -> u64 {
    fnv(9, &[&[i]])
}

/// A token: a word, a mark or an emoticon, lower-cased. Kept inline (no allocation) up to 23
/// bytes, which is nearly every word: a tweet has about 18 tokens, and allocating each was a
/// tenth of the understanding step.
pub type Token = smol_str::SmolStr;

fn char_token(c: char) -> Token {
    Token::new(c.encode_utf8(&mut [0; 4]))
}

/// Lower-cased tokens of `text`, normalised as the module describes.
pub fn tokens(text: &str) -> Vec<Token> {
    tokens_in_clauses(text).0
}

/// Whether `c` ends a clause: a negation or a contrast never reaches past one ("not arrived,
/// so annoying"). A `.` or `;` ends one only before a space or the end of the text, so
/// emoticons and numbers survive; the CJK comma and full stop and the Devanagari danda always.
fn ends_clause(c: char, last_in_word: bool) -> bool {
    matches!(c, ',' | '!' | '?' | '、' | '。' | '।' | '॥')
        || (matches!(c, '.' | ';') && last_in_word)
}

/// [`tokens`], and beside each the number of its clause (clauses end at a line break, a
/// comma, `!`, `?`, and a `.` or `;` before a space or the end of the text); a `!` or `?`
/// token belongs to the clause it ends. A link or an `@handle` is one token and is never
/// split, but a mark at its end still ends the clause; an emoticon followed by marks (`:)!`,
/// `:(.`) stays an emoticon. One pass serves the n-grams, the sentiment lexicon and the
/// language's function words.
pub fn tokens_in_clauses(text: &str) -> (Vec<Token>, Vec<u32>) {
    let (mut out, mut clauses) = (Vec::new(), Vec::new());
    tokens_in_clauses_into(text, &mut out, &mut clauses);
    (out, clauses)
}

/// [`tokens_in_clauses`] into buffers the caller keeps (they are emptied first).
pub(crate) fn tokens_in_clauses_into(text: &str, out: &mut Vec<Token>, clauses: &mut Vec<u32>) {
    out.clear();
    clauses.clear();
    out.reserve(text.len() / 4 + 1);
    clauses.reserve(text.len() / 4 + 1);
    let mut clause = 0u32;
    // One buffer for every word's lower case (ASCII, the common case, without allocating).
    let mut lower = String::new();
    let mut word = String::new();
    let mut gap_from = 0;
    for raw in text.split_whitespace() {
        let at = raw.as_ptr() as usize - text.as_ptr() as usize;
        if text.as_bytes()[gap_from..at].contains(&b'\n') && !out.is_empty() {
            clause += 1;
        }
        gap_from = at + raw.len();
        if raw.is_ascii() {
            lower.clear();
            lower.push_str(raw);
            lower.make_ascii_lowercase();
        } else {
            lower = fold(raw);
        }
        // An emoticon with clause marks after it: the emoticon, then the marks.
        let marks = lower.trim_end_matches([',', '.', ';', '!', '?']);
        if marks.len() < lower.len() && is_emoticon(marks) {
            out.push(Token::new(marks));
            clauses.push(clause);
            for c in lower[marks.len()..]
                .chars()
                .filter(|&c| c == '!' || c == '?')
            {
                out.push(char_token(c));
                clauses.push(clause);
            }
            clause += 1;
            continue;
        }
        let whole = if lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www.")
        {
            Some(Token::new_inline("url"))
        } else if is_emoticon(&lower) {
            Some(Token::new(&lower))
        } else if lower.len() > 1 && lower.starts_with('@') {
            Some(Token::new_inline("@user"))
        } else if lower.bytes().all(|b| b.is_ascii_alphanumeric()) {
            // The common case, a plain ASCII word or number: the same token as the loop
            // below makes, without going through it a character at a time.
            Some(if lower.bytes().any(|b| b.is_ascii_digit()) {
                lower
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '0' } else { c })
                    .collect()
            } else {
                Token::new(&lower)
            })
        } else {
            None
        };
        if let Some(token) = whole {
            out.push(token);
            clauses.push(clause);
            // A link or a handle is one token, but a comma after it still ends the clause (no
            // emoticon and no plain word ends with one).
            if lower
                .chars()
                .next_back()
                .is_some_and(|c| ends_clause(c, true))
            {
                clause += 1;
            }
            continue;
        }
        word.clear();
        let mut chars = lower.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_alphanumeric() {
                word.push(if c.is_ascii_digit() { '0' } else { c });
            } else if !word.is_empty() && is_mark_in_word(c) {
                word.push(c);
            } else if (c == '\'' || c == '’')
                && !word.is_empty()
                && chars.peek().is_some_and(|n| n.is_alphanumeric())
            {
                word.push('\'');
            } else {
                if !word.is_empty() {
                    out.push(Token::new(&word));
                    word.clear();
                    clauses.push(clause);
                }
                let keep = c == '!' || c == '?' || is_symbol(c);
                if keep {
                    out.push(char_token(c));
                    clauses.push(clause);
                }
                if ends_clause(c, chars.peek().is_none()) {
                    clause += 1;
                }
            }
        }
        if !word.is_empty() {
            out.push(Token::new(&word));
            clauses.push(clause);
        }
    }
}

/// The lower case of a word that is not plain ASCII, with fullwidth forms as ASCII and
/// decomposed accents composed (NFC).
fn fold(raw: &str) -> String {
    use unicode_normalization::{IsNormalized, is_nfc_quick};
    let lower = raw.to_lowercase();
    // Decomposed text is not "quickly NFC": accents, but also kana voicing marks and Hangul
    // jamo as macOS writes them.
    if !lower.chars().any(is_fullwidth_ascii) && is_nfc_quick(lower.chars()) == IsNormalized::Yes {
        return lower;
    }
    let ascii = lower.chars().map(|c| {
        if is_fullwidth_ascii(c) {
            // The block mirrors ASCII 0x21..=0x7e at a fixed distance.
            char::from_u32(c as u32 - 0xfee0).unwrap_or(c)
        } else {
            c
        }
    });
    // Fullwidth capitals are lower-cased by `to_lowercase` into fullwidth small letters,
    // which map to ASCII small letters here.
    unicode_normalization::UnicodeNormalization::nfc(ascii).collect()
}

/// U+FF01..=U+FF5E: the fullwidth forms of ASCII's visible characters.
fn is_fullwidth_ascii(c: char) -> bool {
    ('\u{ff01}'..='\u{ff5e}').contains(&c)
}

/// Whether `s` is an emoticon, kept as a token when it stands alone (its punctuation would
/// be dropped). A `match` on the literals, not a scan of a list: every token asks.
pub(crate) fn is_emoticon(s: &str) -> bool {
    // None is longer than 3 bytes: most words are rejected by their length.
    s.len() <= 3
        && matches!(
            s,
            ":)" | ":-)"
                | ":("
                | ":-("
                | ":d"
                | ":-d"
                | ";)"
                | ";-)"
                | ":p"
                | ":-p"
                | ":/"
                | ":-/"
                | ":'("
                | ":o"
                | ":-o"
                | ":|"
                | "<3"
                | "</3"
                | "xd"
                | "^_^"
                | "^^"
                | ":]"
                | ":["
                | "=)"
                | "=("
                | ":*"
                | ":3"
                | "-_-"
                | "t_t"
                | ";("
                | ":s"
        )
}

/// A visible mark worth a token of its own (an emoji, an arrow, a currency sign), as opposed
/// to punctuation (ASCII, Latin-1's `¿ ¡ « »`, the General Punctuation block's quotes and
/// dashes, CJK punctuation, the danda) and the joiners that glue emoji.
fn is_symbol(c: char) -> bool {
    !c.is_ascii()
        && !c.is_whitespace()
        && !('\u{a0}'..='\u{bf}').contains(&c)
        && !('\u{2000}'..='\u{206f}').contains(&c)
        && !('\u{3000}'..='\u{303f}').contains(&c)
        && !matches!(c, '\u{0964}' | '\u{0965}')
        && !is_joiner(c)
}

/// A mark that belongs to the letter before it, though it is not alphanumeric itself:
/// combining accents (decomposed `é`), the vowel signs and viramas of Indic scripts, Thai
/// vowels and tone marks, Arabic and Hebrew points, and the zero-width (non-)joiners inside
/// Persian and Indic words. Cutting a word at one ("नमस्ते" into "नमस", "्", "ते") made
/// n-grams and languages of fragments.
fn is_mark_in_word(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036f}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05bd}'
        | '\u{05bf}'
        | '\u{05c1}'..='\u{05c2}'
        | '\u{05c4}'..='\u{05c5}'
        | '\u{05c7}'
        | '\u{0610}'..='\u{061a}'
        | '\u{064b}'..='\u{065f}'
        | '\u{0670}'
        | '\u{06d6}'..='\u{06ed}'
        | '\u{0e31}'
        | '\u{0e34}'..='\u{0e3a}'
        | '\u{0e47}'..='\u{0e4e}'
        | '\u{1ab0}'..='\u{1aff}'
        | '\u{1dc0}'..='\u{1dff}'
        | '\u{200c}'..='\u{200d}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{fe20}'..='\u{fe2f}'
    ) || (('\u{0900}'..='\u{0dff}').contains(&c)
        && !matches!(c, '\u{0964}' | '\u{0965}' | '\u{0970}'))
}

/// Zero-width joiners and variation selectors glue emoji; they are not tokens themselves.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200d}' | '\u{fe0e}' | '\u{fe0f}') || ('\u{1f3fb}'..='\u{1f3ff}').contains(&c)
}

thread_local! {
    static PADDED: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    static STARTS: Cell<Vec<usize>> = const { Cell::new(Vec::new()) };
}

/// Calls `emit(key, block, first, last, len)` for every n-gram occurrence in `tokens`, with
/// the tokens it came from (`first..=last`: so an explanation can credit words, not
/// fragments) and its length (in characters for a character n-gram, in words for a word
/// n-gram; a pair with a word skipped counts 2).
pub fn ngrams(
    cfg: &FeatureConfig,
    tokens: &[Token],
    emit: &mut impl FnMut(u64, Block, usize, usize, usize),
) {
    for (i, t) in tokens.iter().enumerate() {
        emit(word_key(t), Block::Word, i, i, 1);
        if cfg.word_max >= 2
            && let Some(next) = tokens.get(i + 1)
        {
            emit(
                fnv(2, &[t.as_bytes(), next.as_bytes()]),
                Block::Word,
                i,
                i + 1,
                2,
            );
        }
        if cfg.word_max >= 3
            && let Some(skip) = tokens.get(i + 2)
        {
            // A pair with one word between: "card … arrive" whatever the middle word.
            emit(
                fnv(4, &[t.as_bytes(), skip.as_bytes()]),
                Block::Word,
                i,
                i + 2,
                2,
            );
        }
    }
    if cfg.char_max == 0 {
        return;
    }
    let (lo, hi) = (cfg.char_min.max(1), cfg.char_max.min(8));
    let mut buffers = (scratch::take(&PADDED), scratch::take(&STARTS));
    for (i, t) in tokens.iter().enumerate() {
        char_grams(lo, hi, t, &mut buffers, &mut |k, n| {
            emit(k, Block::Char, i, i, n)
        });
    }
    scratch::give(&PADDED, buffers.0);
    scratch::give(&STARTS, buffers.1);
}

/// Calls `emit(key, len)` for every character n-gram of `lo..=hi` characters of one token
/// (none for emoji and marks, which are words already), in [`ngrams`]' order. `buffers`
/// are scratch space.
pub(crate) fn char_grams(
    lo: usize,
    hi: usize,
    t: &str,
    (padded, starts): &mut (Vec<u8>, Vec<usize>),
    emit: &mut impl FnMut(u64, usize),
) {
    if !t.chars().next().is_some_and(char::is_alphanumeric) {
        return;
    }
    // The token padded with a space each side, and where each of its characters starts.
    let start = (FNV_OFFSET ^ 3).wrapping_mul(FNV_PRIME);
    padded.clear();
    padded.push(b' ');
    padded.extend_from_slice(t.as_bytes());
    padded.push(b' ');
    if t.is_ascii() {
        // Most words: a character is a byte, so an n-gram is a run of bytes.
        for from in 0..padded.len() {
            let mut h = start;
            let run = &padded[from..padded.len().min(from + hi)];
            for (n, &b) in run.iter().enumerate() {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
                if n + 1 >= lo {
                    emit(h, n + 1);
                }
            }
        }
        return;
    }
    starts.clear();
    starts.push(0);
    starts.extend(t.char_indices().map(|(at, _)| at + 1));
    starts.extend([t.len() + 1, t.len() + 2]);
    let chars = starts.len() - 1;
    // FNV-1a is incremental: the hash of "abc" continues the hash of "ab".
    for from in 0..chars {
        let mut h = start;
        for n in 0..hi.min(chars - from) {
            for &b in &padded[starts[from + n]..starts[from + n + 1]] {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
            if n + 1 >= lo {
                emit(h, n + 1);
            }
        }
    }
}

/// The text of an n-gram's tokens, for explanations.
pub fn span_text(tokens: &[Token], first: usize, last: usize) -> String {
    tokens[first..=last].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word is found by its key and only as itself: another word under the same key (a
    /// hash collision, forced here) is not it, and `entry` refuses to share the key.
    #[test]
    fn word_tables_check_the_word_behind_the_key() {
        let mut t: WordTable<u32> = WordTable::default();
        *t.entry("good").unwrap() += 2;
        *t.entry("good").unwrap() += 1;
        assert_eq!(t.get(word_key("good"), "good"), Some(&3));
        assert_eq!(t.get(word_key("good"), "food"), None);
        assert_eq!(t.get(word_key("food"), "food"), None);
        t.insert(word_key("bad"), "bad", 7);
        t.insert(word_key("bad"), "sad", 8);
        assert_eq!(
            t.get(word_key("bad"), "bad"),
            None,
            "replaced by the colliding word"
        );
        assert_eq!(t.get(word_key("bad"), "sad"), Some(&8));
        assert_eq!(t.len(), 2);
        let mut u: WordTable<u32> = WordTable::default();
        u.insert(word_key("sad"), "bad", 1);
        assert!(u.entry("sad").is_none(), "its key is held by another word");
        u.clear();
        assert_eq!(u.len(), 0);
        assert_eq!(
            keys_of(&tokens("Good food")),
            [word_key("good"), word_key("food")]
        );
    }

    #[test]
    fn tokens_table() {
        let cases: &[(&str, &[&str])] = &[
            (
                "My card got declined!!",
                &["my", "card", "got", "declined", "!", "!"],
            ),
            ("I can't log in", &["i", "can't", "log", "in"]),
            ("Paid $25.50 twice", &["paid", "00", "00", "twice"]),
            (
                "@Bank_Help see https://x.co/a?b=1 pls",
                &["@user", "see", "url", "pls"],
            ),
            ("love it 😍😍", &["love", "it", "😍", "😍"]),
            ("thumbs 👍🏽 ok", &["thumbs", "👍", "ok"]),
            ("¿Dónde está?", &["dónde", "está", "?"]),
            ("SOOOO GOOD", &["soooo", "good"]),
            // Marks stay in their word: a virama, a decomposed accent, a Persian non-joiner.
            ("नमस्ते दोस्तों।", &["नमस्ते", "दोस्तों"]),
            // A decomposed accent is composed: the same word as `está`.
            ("esta\u{301} bien", &["está", "bien"]),
            ("E\u{301}TAIT", &["était"]),
            // Kana with a decomposed voicing mark, as macOS writes file names.
            ("か\u{3099}", &["が"]),
            // Fullwidth letters, digits and marks read as ASCII.
            ("ｈｅｌｌｏ！ Ｗｏｒｌｄ？", &["hello", "!", "world", "?"]),
            ("注文１２３", &["注文000"]),
            ("می\u{200c}خواهم", &["می\u{200c}خواهم"]),
            ("สวัสดีครับ", &["สวัสดีครับ"]),
            ("meh :( but ok :D", &["meh", ":(", "but", "ok", ":d"]),
            ("", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(tokens(text), *want, "{text}");
        }
    }

    #[test]
    fn clauses_table() {
        let cases: &[(&str, &[(&str, u32)])] = &[
            (
                "not arrived, so annoying",
                &[("not", 0), ("arrived", 0), ("so", 1), ("annoying", 1)],
            ),
            (
                "great!! but meh",
                &[("great", 0), ("!", 0), ("!", 1), ("but", 2), ("meh", 2)],
            ),
            // A full stop ends a clause before a space, not inside a number or an emoticon.
            (
                "paid 2.50. ok ;) fine",
                &[
                    ("paid", 0),
                    ("0", 0),
                    ("00", 0),
                    ("ok", 1),
                    (";)", 1),
                    ("fine", 1),
                ],
            ),
            (
                "line one\nline two",
                &[("line", 0), ("one", 0), ("line", 1), ("two", 1)],
            ),
            (
                "thanks @Acme, bye",
                &[("thanks", 0), ("@user", 0), ("bye", 1)],
            ),
            // A fullwidth comma ends a clause as a comma does, after a handle too.
            (
                "ｎｏｔ ｇｏｏｄ，ｂｕｔ ｏｋ",
                &[("not", 0), ("good", 0), ("but", 1), ("ok", 1)],
            ),
            (
                "ｔｈａｎｋｓ ＠Ａｃｍｅ， ｂｙｅ",
                &[("thanks", 0), ("@user", 0), ("bye", 1)],
            ),
            (
                "see https://x.co/a?b=1 now",
                &[("see", 0), ("url", 0), ("now", 0)],
            ),
            (
                "see https://x.co/a. then",
                &[("see", 0), ("url", 0), ("then", 1)],
            ),
            // An emoticon keeps its token when marks follow it.
            (
                "love it :)! thanks :), bye ugh :(.",
                &[
                    ("love", 0),
                    ("it", 0),
                    (":)", 0),
                    ("!", 0),
                    ("thanks", 1),
                    (":)", 1),
                    ("bye", 2),
                    ("ugh", 2),
                    (":(", 2),
                ],
            ),
            ("\nhi,\nthere", &[("hi", 0), ("there", 2)]),
            ("", &[]),
        ];
        for (text, want) in cases {
            let (toks, clauses) = tokens_in_clauses(text);
            let got: Vec<(&str, u32)> = toks.iter().map(Token::as_str).zip(clauses).collect();
            assert_eq!(got, *want, "{text}");
        }
    }

    #[test]
    fn ngrams_cover_words_pairs_and_characters() {
        let cfg = FeatureConfig::default();
        let toks = tokens("to me");
        let mut seen = Vec::new();
        ngrams(&cfg, &toks, &mut |_, b, first, last, _| {
            seen.push((b, span_text(&toks, first, last)))
        });
        let words: Vec<&str> = seen
            .iter()
            .filter(|(b, _)| *b == Block::Word)
            .map(|(_, n)| n.as_str())
            .collect();
        assert_eq!(words, ["to", "to me", "me"]);
        // " to", "to ", " to " for "to", the same three for "me".
        let chars: Vec<&str> = seen
            .iter()
            .filter(|(b, _)| *b == Block::Char)
            .map(|(_, n)| n.as_str())
            .collect();
        assert_eq!(chars, ["to", "to", "to", "me", "me", "me"]);
    }

    #[test]
    fn character_grams_hash_as_their_text() {
        // "día" takes the path for any text, "card" the one for plain ASCII: both must give
        // the hash of each n-gram's text, in order, whatever the lengths asked for.
        for word in ["día", "card", "a", "naïve"] {
            for (lo, hi) in [(3, 5), (4, 4), (1, 2), (2, 6)] {
                let toks = tokens(word);
                let mut keys = Vec::new();
                ngrams(
                    &FeatureConfig {
                        word_max: 1,
                        char_min: lo,
                        char_max: hi,
                        ..FeatureConfig::default()
                    },
                    &toks,
                    &mut |k, b, _, _, n| {
                        if b == Block::Char {
                            keys.push((k, n))
                        }
                    },
                );
                let padded: Vec<char> = format!(" {word} ").chars().collect();
                let mut want = Vec::new();
                for from in 0..padded.len() {
                    for n in lo..=hi {
                        if from + n <= padded.len() {
                            let s: String = padded[from..from + n].iter().collect();
                            want.push((fnv(3, &[s.as_bytes()]), n));
                        }
                    }
                }
                assert_eq!(keys, want, "{word} {lo}..={hi}");
            }
        }
    }

    #[test]
    fn namespaces_keep_kinds_apart() {
        // The word "ab" and the character bigram "ab" are different features.
        let mut keys = Vec::new();
        ngrams(
            &FeatureConfig::default(),
            &[Token::new("ab")],
            &mut |k, _, _, _, _| keys.push(k),
        );
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
        assert_ne!(fnv(1, &[b"a", b"b"]), fnv(1, &[b"ab"]));
    }

    #[test]
    fn the_hash_is_stable() {
        // Part of the model format: a saved model must keep meaning the same thing (the value
        // is FNV-1a 64 of namespace 1 then "card", computed independently in Python).
        assert_eq!(fnv(1, &[b"card"]), 0xc33c_e6d3_08c8_f602_u64);
    }
}
