//! Finding the knowledge-base entries that answer a question: BM25F over each entry's title,
//! the questions it answers (other ways people ask) and its body, with light stemming, stop
//! words dropped, and typo tolerance (a query word missing from the vocabulary matches words
//! one edit away, two for long words, at a discount). Pure and in memory: a workspace's
//! knowledge base is thousands of entries, not millions.
//!
//! Each hit has a `confidence` in 0..=1: how much of the query's weight the entry covers (a
//! query word no entry uses counts as much as the rarest word they use), lowered when the
//! runner-up scores close to it. Automatic answers compare it with a
//! threshold measured on held-out questions (`docs/PERFORMANCE.md`).

use std::collections::HashMap;

/// One entry to index.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub title: String,
    /// Other ways people ask what this entry answers.
    pub questions: Vec<String>,
    pub body: String,
}

/// A ranked match.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The entry's position in the list the index was built from.
    pub entry: usize,
    pub score: f64,
    pub confidence: f64,
    /// The query's words (as written, lower-cased) this entry matched: why it ranks.
    pub matched: Vec<String>,
    /// The indexed terms (stems, typos resolved) it matched on: to pick a snippet with.
    pub terms: Vec<String>,
}

const FIELDS: usize = 3;
/// Title, questions, body.
const WEIGHTS: [f64; FIELDS] = [2.5, 1.5, 1.0];
const K1: f64 = 1.2;
const B: f64 = 0.75;

const STOP: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "for", "with", "by",
    "from", "as", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "i", "me",
    "my", "you", "your", "we", "our", "it", "its", "this", "that", "these", "those", "there",
    "here", "so", "than", "then", "can", "could", "would", "should", "will", "just", "please",
    "hi", "hello", "thanks", "thank", "have", "has", "had", "what", "how", "why", "when", "where",
    "which", "who", "im", "i'm", "about", "any", "some", "get", "got", "into", "out", "up",
    // Contractions, and the words of asking and chatting that say nothing of the subject.
    "what's", "whats", "when's", "where's", "how's", "who's", "it's", "that's", "there's", "i'd",
    "i'll", "i've", "you're", "we're", "they're", "don't", "dont", "doesn't", "didn't", "can't",
    "cant", "won't", "isn't", "aren't", "wasn't", "pls", "plz", "thx", "ty", "hey", "hiya", "dear",
    "ok", "okay", "need", "want", "know", "tell", "like", "let", "also", "still",
];

/// Folds a word to its stem: plural and verb endings off (`cards` → `card`, `charged` →
/// `charg`, `charging` → `charg`), enough to match forms of the same word.
fn stem(w: &str) -> String {
    let n = w.chars().count();
    if n <= 3 {
        return w.to_owned();
    }
    for (suffix, keep) in [
        ("ies", "y"),
        ("ing", ""),
        ("edly", ""),
        ("ed", ""),
        ("es", ""),
        ("ly", ""),
        ("s", ""),
    ] {
        if let Some(root) = w.strip_suffix(suffix)
            && root.chars().count() >= 3
            && !(suffix == "s" && root.ends_with('s'))
        {
            let mut r = format!("{root}{keep}");
            // `charge`/`charged`/`charges` meet at `charg`.
            if keep.is_empty() && r.ends_with('e') && r.chars().count() > 3 {
                r.pop();
            }
            return r;
        }
    }
    let mut r = w.to_owned();
    if r.ends_with('e') {
        r.pop();
    }
    r
}

/// The words of a text that carry meaning: (stem, the word as written, lower-cased).
fn words(text: &str) -> Vec<(String, String)> {
    // Phones type a curly apostrophe: "what’s" is "what's", not "what" and "s".
    text.to_lowercase()
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| w.chars().count() > 1 && !STOP.contains(w))
        .map(|w| (stem(&w.replace('\'', "")), w.to_owned()))
        .collect()
}

/// The stemmed words of a text that carry meaning.
pub fn terms(text: &str) -> Vec<String> {
    words(text).into_iter().map(|(t, _)| t).collect()
}

/// At most `max` edits (insert, delete, substitute, swap neighbours) apart?
fn within_edits(a: &str, b: &str, max: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        if cur.iter().min().copied().unwrap_or(0) > max {
            return false;
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()] <= max
}

/// An index over a list of entries.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// term → (entry, term frequency per field).
    postings: HashMap<String, Vec<(usize, [f32; FIELDS])>>,
    /// Field lengths per entry, in terms.
    lengths: Vec<[f32; FIELDS]>,
    average: [f64; FIELDS],
}

impl Index {
    pub fn build(entries: &[Entry]) -> Index {
        let mut postings: HashMap<String, HashMap<usize, [f32; FIELDS]>> = HashMap::new();
        let mut lengths = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let fields = [
                terms(&e.title),
                e.questions.iter().flat_map(|q| terms(q)).collect(),
                terms(&e.body),
            ];
            let mut len = [0f32; FIELDS];
            for (f, words) in fields.iter().enumerate() {
                len[f] = words.len() as f32;
                for w in words {
                    postings.entry(w.clone()).or_default().entry(i).or_default()[f] += 1.0;
                }
            }
            lengths.push(len);
        }
        let n = lengths.len().max(1) as f64;
        let mut average = [0f64; FIELDS];
        for (f, avg) in average.iter_mut().enumerate() {
            *avg = (lengths.iter().map(|l| l[f] as f64).sum::<f64>() / n).max(1.0);
        }
        Index {
            postings: postings
                .into_iter()
                .map(|(t, docs)| {
                    let mut list: Vec<_> = docs.into_iter().collect();
                    list.sort_by_key(|(d, _)| *d);
                    (t, list)
                })
                .collect(),
            lengths,
            average,
        }
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    fn idf(&self, term: &str) -> f64 {
        self.idf_of(self.postings.get(term).map_or(0, Vec::len))
    }

    /// The weight of a term in `df` entries.
    fn idf_of(&self, df: usize) -> f64 {
        let (n, df) = (self.lengths.len() as f64, df as f64);
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// The query's terms with the weight each counts for: exact terms in full, a word missing
    /// from the vocabulary through its near spellings.
    fn expand(&self, query: &str) -> Vec<(String, String, f64)> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (q, surface) in words(query) {
            if !seen.insert(q.clone()) {
                continue;
            }
            if self.postings.contains_key(&q) {
                out.push((surface, q, 1.0));
                continue;
            }
            let len = q.chars().count();
            let max = match len {
                0..=3 => continue,
                4..=7 => 1,
                _ => 2,
            };
            for t in self.postings.keys() {
                if within_edits(&q, t, max) {
                    out.push((surface.clone(), t.clone(), 0.7));
                }
            }
        }
        out
    }

    /// The best `k` entries for `query`, best first; entries matching nothing are left out.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        let expanded = self.expand(query);
        if expanded.is_empty() || self.is_empty() {
            return Vec::new();
        }
        let mut scores: HashMap<usize, (f64, Vec<String>, Vec<String>)> = HashMap::new();
        // What a perfect entry would score: every query word, once, in every field.
        let mut ideal = 0.0;
        let mut counted = std::collections::HashSet::new();
        for (word, term, weight) in &expanded {
            let idf = self.idf(term);
            if counted.insert(word.clone()) {
                ideal += idf * weight.max(1.0);
            }
            for (doc, tf) in self.postings.get(term).map_or(&[][..], Vec::as_slice) {
                let len = self.lengths[*doc];
                let mut combined = 0.0;
                for f in 0..FIELDS {
                    let norm = 1.0 - B + B * len[f] as f64 / self.average[f];
                    combined += WEIGHTS[f] * tf[f] as f64 / norm;
                }
                let s = idf * weight * combined * (K1 + 1.0) / (combined + K1);
                let e = scores.entry(*doc).or_default();
                e.0 += s;
                if !e.1.contains(word) {
                    e.1.push(word.clone());
                }
                if !e.2.contains(term) {
                    e.2.push(term.clone());
                }
            }
        }
        // A word no entry uses (nor a near spelling of it) is part of the question too, as
        // weighty as the rarest word the entries use: an entry matching one word of a question
        // about something else ("Where is the nearest pizza place?") covers little of it.
        // (By stem: "parking" after "park" is the word matched already. A number is no word
        // an article would hold.)
        let matched: std::collections::HashSet<String> =
            counted.iter().map(|w| stem(&w.replace('\'', ""))).collect();
        let mut unmatched = std::collections::HashSet::new();
        for (q, _) in words(query) {
            if !matched.contains(&q)
                && !q.chars().all(|c| c.is_ascii_digit())
                && unmatched.insert(q)
            {
                ideal += self.idf_of(1);
            }
        }
        let mut hits: Vec<Hit> = scores
            .into_iter()
            .map(|(entry, (score, matched, terms))| Hit {
                entry,
                score,
                confidence: 0.0,
                matched,
                terms,
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        let best = (K1 + 1.0) * ideal;
        let runner_up = hits.get(1).map_or(0.0, |h| h.score);
        for (i, h) in hits.iter_mut().enumerate() {
            let coverage = (h.score / best).clamp(0.0, 1.0);
            let margin = if i == 0 && h.score > 0.0 {
                1.0 - 0.5 * runner_up / h.score
            } else {
                0.5
            };
            h.confidence = (coverage * margin).clamp(0.0, 1.0);
        }
        hits.truncate(k);
        hits
    }
}

/// Folds in what the intent model said: each entry in `linked` (those answering the intent
/// the text was classified as) counts with at least the model's `confidence`, and is added
/// when the words alone did not find it. Then ranks by confidence, score breaking ties, and
/// keeps `k`.
pub fn with_intent(
    mut hits: Vec<Hit>,
    linked: &[usize],
    intent: &str,
    confidence: f64,
    k: usize,
) -> Vec<Hit> {
    for &entry in linked {
        match hits.iter_mut().find(|h| h.entry == entry) {
            Some(h) => h.confidence = h.confidence.max(confidence),
            None => hits.push(Hit {
                entry,
                score: 0.0,
                confidence,
                matched: vec![format!("intent:{intent}")],
                terms: Vec::new(),
            }),
        }
    }
    hits.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.score.total_cmp(&a.score))
            .then(a.entry.cmp(&b.entry))
    });
    hits.truncate(k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> Vec<Entry> {
        vec![
            Entry {
                title: "When does the game start?".into(),
                questions: vec!["What time is kick-off on Saturday?".into()],
                body: "Saturday's home game starts at 7 pm; gates open at 6.".into(),
            },
            Entry {
                title: "Applying for financial aid".into(),
                questions: vec!["How do I get a scholarship?".into()],
                body: "Financial aid applications close on 1 March. The aid office answers questions about grants and loans.".into(),
            },
            Entry {
                title: "Parking on campus".into(),
                questions: vec![],
                body: "Visitors park in lot C; parking is free after 5 pm and on game days.".into(),
            },
        ]
    }

    #[test]
    fn stems_and_stop_words() {
        assert_eq!(
            terms("The cards were charged twice!"),
            ["card", "charg", "twic"]
        );
        assert_eq!(terms("Charging a card"), ["charg", "card"]);
        assert_eq!(
            terms("I'm asking about applications"),
            ["ask", "application"]
        );
        assert_eq!(stem("classes"), "class");
        assert_eq!(stem("class"), "class");
        assert_eq!(stem("policies"), "policy");
    }

    #[test]
    fn edits_are_counted_with_swaps() {
        assert!(within_edits("parking", "parkign", 1));
        assert!(within_edits("scholarship", "scolarshp", 2));
        assert!(!within_edits("scholarship", "scolarsh", 2));
        assert!(within_edits("game", "game", 0));
        assert!(!within_edits("game", "lame", 0));
    }

    /// A question about something no entry covers, sharing one word with one, is covered
    /// little: the words no entry uses count against it. (They did not: "Where is the nearest
    /// pizza place?" shared "place" with an entry and was answered with it at 0.66.)
    #[test]
    fn one_shared_word_of_a_question_about_something_else_is_little_cover() {
        let mut entries = kb();
        entries[1]
            .body
            .push_str(" Late applications are read if places remain.");
        let index = Index::build(&entries);
        let hits = index.search("Where is the nearest pizza place?", 3);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].confidence < 0.2, "{hits:?}");
        let asked = index.search("When does the game start on Saturday?", 3);
        assert!(asked[0].confidence > 2.0 * hits[0].confidence, "{asked:?}");
    }

    /// Another form of a word matched already, a number, a contraction (with a phone's curly
    /// apostrophe) or a chat word is no unanswered part of the question.
    #[test]
    fn repeated_forms_numbers_and_chat_words_cost_nothing() {
        let index = Index::build(&kb());
        let of = |q: &str| index.search(q, 1)[0].confidence;
        let park = of("where do visitors park");
        for q in [
            "where do visitors park? visitors parking?",
            "where do visitors park 1700",
            "What\u{2019}s where do visitors park pls",
            "hey I need to know where do visitors park",
        ] {
            assert!((of(q) - park).abs() < 0.05, "{q}: {} against {park}", of(q));
        }
    }

    #[test]
    fn the_right_entry_ranks_first_with_a_reason() {
        let index = Index::build(&kb());
        let hits = index.search("what time does the game start", 3);
        assert_eq!(hits[0].entry, 0, "{hits:?}");
        assert!(hits[0].matched.contains(&"game".to_owned()));
        assert!(hits[0].confidence > 0.5, "{hits:?}");
        let hits = index.search("how can I apply for a scholarship?", 3);
        assert_eq!(hits[0].entry, 1, "{hits:?}");
        let hits = index.search("where do visitors park", 3);
        assert_eq!(hits[0].entry, 2, "{hits:?}");
        // Scores fall, confidences are in range.
        for w in hits.windows(2) {
            assert!(w[0].score >= w[1].score);
        }
        assert!(hits.iter().all(|h| (0.0..=1.0).contains(&h.confidence)));
    }

    #[test]
    fn typos_still_find_the_entry_at_a_discount() {
        let index = Index::build(&kb());
        let exact = index.search("financial aid deadline", 1);
        let typo = index.search("finacial aid dedline", 1);
        assert_eq!((exact[0].entry, typo[0].entry), (1, 1));
        assert!(typo[0].score < exact[0].score);
    }

    #[test]
    fn the_intent_model_lifts_its_linked_entries() {
        let index = Index::build(&kb());
        let words = index.search("is there parking on game day", 3);
        assert_eq!(words[0].entry, 2, "{words:?}");
        // The model says "financial aid" with 0.9: that entry leads, the others follow.
        let lifted = with_intent(words.clone(), &[1], "aid", 0.9, 3);
        assert_eq!(lifted[0].entry, 1);
        assert_eq!(lifted[0].matched, ["intent:aid"]);
        assert_eq!(lifted.len(), 3);
        // A weak model's guess does not push a strong word match down.
        let weak = with_intent(words, &[1], "aid", 0.01, 2);
        assert_eq!(weak[0].entry, 2);
    }

    #[test]
    fn nothing_matches_nothing() {
        let index = Index::build(&kb());
        assert!(index.search("zebra quantum", 3).is_empty());
        assert!(index.search("", 3).is_empty());
        assert!(index.search("the of and", 3).is_empty());
        assert!(Index::build(&[]).search("game", 3).is_empty());
        // An unrelated question scores low even when a word matches.
        let weak = index.search("is the cafeteria open on game days for vegans", 1);
        assert!(weak[0].confidence < 0.6, "{weak:?}");
    }
}
