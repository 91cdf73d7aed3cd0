//! What a person types into a search box, read forgivingly: words (all must match),
//! `"quoted phrases"`, and `-excluded` words. Anything else — an unbalanced quote, `AND`,
//! brackets, `*`, `:` — is just text, so no query is a syntax error. The parsed query is then
//! written in each database's own syntax (SQLite FTS5, PostgreSQL `websearch_to_tsquery`),
//! always valid there.

/// One part of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Words that must appear, in this order, side by side (one word is a phrase of one).
    Phrase(Vec<String>),
    /// A word that must not appear.
    Not(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub parts: Vec<Part>,
}

/// The longest query read.
pub const MAX_QUERY: usize = 500;

/// Lower-cased words: letters and digits, everything else separates.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Query {
    /// Reads a query; `Err` says why there is nothing to search for.
    pub fn parse(q: &str) -> Result<Query, String> {
        if q.chars().count() > MAX_QUERY {
            return Err(format!("a query is at most {MAX_QUERY} characters"));
        }
        let mut parts = Vec::new();
        let mut rest = q;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('"') {
                // A phrase runs to the closing quote, or to the end when there is none.
                let (inside, next) = after.split_once('"').unwrap_or((after, ""));
                let w = words(inside);
                if !w.is_empty() {
                    parts.push(Part::Phrase(w));
                }
                rest = next;
                continue;
            }
            let end = rest.find([' ', '\t', '\n', '"']).unwrap_or(rest.len());
            let (token, next) = rest.split_at(end);
            rest = next.trim_start_matches([' ', '\t', '\n']);
            if let Some(excluded) = token.strip_prefix('-') {
                parts.extend(words(excluded).into_iter().map(Part::Not));
            } else {
                parts.extend(words(token).into_iter().map(|w| Part::Phrase(vec![w])));
            }
        }
        if !parts.iter().any(|p| matches!(p, Part::Phrase(_))) {
            return Err("the query has no words to look for".into());
        }
        Ok(Query { parts })
    }

    /// The query in SQLite FTS5 syntax: every term quoted, so no character is an operator.
    pub fn to_fts5(&self) -> String {
        let quote = |ws: &[String]| format!("\"{}\"", ws.join(" "));
        let must: Vec<String> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Phrase(w) => Some(quote(w)),
                Part::Not(_) => None,
            })
            .collect();
        let mut out = must.join(" AND ");
        for p in &self.parts {
            if let Part::Not(w) = p {
                out = format!("({out}) NOT {}", quote(std::slice::from_ref(w)));
            }
        }
        out
    }

    /// The query in PostgreSQL's `websearch_to_tsquery` syntax.
    pub fn to_websearch(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Phrase(w) if w.len() == 1 => w[0].clone(),
                Part::Phrase(w) => format!("\"{}\"", w.join(" ")),
                Part::Not(w) => format!("-{w}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Display for Query {
    /// The query as a person would type it again (`word "a phrase" -not`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<String> = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Phrase(w) if w.len() == 1 => w[0].clone(),
                Part::Phrase(w) => format!("\"{}\"", w.join(" ")),
                Part::Not(w) => format!("-{w}"),
            })
            .collect();
        f.write_str(&shown.join(" "))
    }
}

// ----- typo tolerance ------------------------------------------------------------------------
//
// Every word stored messages contain (3 to 30 characters, not a number) is kept in a
// vocabulary. A query word the vocabulary does not have cannot match anything, so it is
// replaced by the closest word it has: one edit away (a letter wrong, missing, extra, or two
// swapped), two for words of eight letters or more, with the same first letter.

/// The words of `text` the vocabulary keeps.
pub fn vocabulary(text: &str) -> std::collections::BTreeSet<String> {
    words(text).into_iter().filter(|w| correctable(w)).collect()
}

/// Is `word` one that the vocabulary keeps (and so one a typo can be corrected in)?
pub fn correctable(word: &str) -> bool {
    let n = word.chars().count();
    (3..=30).contains(&n) && !word.chars().all(|c| c.is_ascii_digit())
}

/// How many edits a word of this length may be off by.
pub fn max_typos(word: &str) -> usize {
    if word.chars().count() >= 8 { 2 } else { 1 }
}

/// Edits (insert, delete, substitute, swap two neighbours) between `a` and `b`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// The closest of `candidates` (in the order given, which breaks ties) within `word`'s
/// allowance, if any.
pub fn best_correction<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = max_typos(word);
    let n = word.chars().count();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word || c.chars().count().abs_diff(n) > limit {
            continue;
        }
        let d = edit_distance(word, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_owned())
}

impl Query {
    /// The words a typo may be in: those to look for (never the excluded ones) that the
    /// vocabulary would keep.
    pub fn checkable_words(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in &self.parts {
            if let Part::Phrase(ws) = p {
                for w in ws {
                    if correctable(w) && !out.contains(w) {
                        out.push(w.clone());
                    }
                }
            }
        }
        out
    }

    /// The query with each word in `fixes` replaced.
    pub fn corrected(&self, fixes: &std::collections::HashMap<String, String>) -> Query {
        let fix = |w: &String| fixes.get(w).cloned().unwrap_or_else(|| w.clone());
        Query {
            parts: self
                .parts
                .iter()
                .map(|p| match p {
                    Part::Phrase(ws) => Part::Phrase(ws.iter().map(fix).collect()),
                    Part::Not(w) => Part::Not(w.clone()),
                })
                .collect(),
        }
    }
}

/// Where a highlight starts and ends in a snippet (the store marks them with these).
pub const MARK_START: char = '\u{e000}';
pub const MARK_END: char = '\u{e001}';

/// A snippet with its highlights as character ranges `[start, end)`, the markers removed.
pub fn highlights(marked: &str) -> (String, Vec<(usize, usize)>) {
    let mut text = String::with_capacity(marked.len());
    let mut ranges = Vec::new();
    let (mut n, mut open) = (0usize, None);
    for c in marked.chars() {
        match c {
            MARK_START => open = Some(n),
            MARK_END => {
                if let Some(s) = open.take() {
                    ranges.push((s, n));
                }
            }
            c => {
                text.push(c);
                n += 1;
            }
        }
    }
    (text, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(w: &[&str]) -> Part {
        Part::Phrase(w.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn words_phrases_and_exclusions() {
        let q = Query::parse(r#"Refund "late delivery" -spam order#5521"#).unwrap();
        assert_eq!(
            q.parts,
            [
                phrase(&["refund"]),
                phrase(&["late", "delivery"]),
                Part::Not("spam".into()),
                phrase(&["order"]),
                phrase(&["5521"])
            ]
        );
        assert_eq!(
            q.to_fts5(),
            r#"("refund" AND "late delivery" AND "order" AND "5521") NOT "spam""#
        );
        assert_eq!(
            q.to_websearch(),
            r#"refund "late delivery" -spam order 5521"#
        );
    }

    #[test]
    fn nothing_is_a_syntax_error() {
        for (q, fts) in [
            (r#"broken "quote"#, r#""broken" AND "quote""#),
            (
                "a AND (b OR c*)",
                r#""a" AND "and" AND "b" AND "or" AND "c""#,
            ),
            (
                "NEAR(x y) col:val ^z",
                r#""near" AND "x" AND "y" AND "col" AND "val" AND "z""#,
            ),
            (r#""""#, ""),
        ] {
            match Query::parse(q) {
                Ok(parsed) => assert_eq!(parsed.to_fts5(), fts, "{q}"),
                Err(_) => assert_eq!(fts, "", "{q}"),
            }
        }
        assert!(Query::parse("").is_err());
        assert!(Query::parse("-only -exclusions").is_err());
        assert!(Query::parse("!!! ???").is_err());
        assert!(Query::parse(&"x".repeat(MAX_QUERY + 1)).is_err());
    }

    #[test]
    fn highlights_become_ranges() {
        let marked = format!("the {MARK_START}game{MARK_END} starts at {MARK_START}7{MARK_END}");
        let (text, ranges) = highlights(&marked);
        assert_eq!(text, "the game starts at 7");
        assert_eq!(ranges, [(4, 8), (19, 20)]);
        assert_eq!(highlights("plain"), ("plain".to_owned(), vec![]));
    }

    #[test]
    fn typos_are_corrected_to_the_closest_known_word() {
        assert_eq!(edit_distance("gaem", "game"), 1);
        assert_eq!(edit_distance("strat", "start"), 1);
        assert_eq!(edit_distance("refnud", "refund"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        let known = ["gamer", "game", "gate", "games"];
        assert_eq!(best_correction("gaem", known), Some("game".into()));
        assert_eq!(best_correction("xyzzy", known), None);
        // Two edits only for long words.
        assert_eq!(
            best_correction("restaurnat", ["restaurant"]),
            Some("restaurant".into())
        );
        assert_eq!(best_correction("gmae", ["game"]), Some("game".into()));
        assert_eq!(best_correction("gxyz", ["game"]), None);
        let q = Query::parse("when does the gaem strat -tickets \"home gaem\" 42").unwrap();
        assert_eq!(
            q.checkable_words(),
            ["when", "does", "the", "gaem", "strat", "home"]
        );
        let fixes = [("gaem", "game"), ("strat", "start")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        assert_eq!(
            q.corrected(&fixes).to_string(),
            "when does the game start -tickets \"home game\" 42"
        );
        assert_eq!(
            vocabulary("Die Öffnungszeiten: 9-17 Uhr, ok? 2026")
                .into_iter()
                .collect::<Vec<_>>(),
            ["die", "uhr", "öffnungszeiten"]
        );
    }
}
