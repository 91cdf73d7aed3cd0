//! Customer satisfaction: after a person resolves a case, an optional one-question survey on
//! the same conversation (`[csat]` in the playbook), and reading the customer's answer, a
//! score from 1 to 5. The reader is strict on purpose: only a short answer that is plainly a
//! score counts ("4", "5/5", "3 stars", "⭐⭐⭐⭐", "5 - great"); anything else is an ordinary
//! message, which reopens the case as it would have.

use crate::Purpose;

/// The survey a playbook's `[csat]` table asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatPolicy {
    /// What the customer is asked; it should say how to answer (a number from 1 to 5).
    pub question: String,
    /// Only cases of these purposes; empty: every purpose.
    pub purposes: Vec<Purpose>,
    /// Also on public conversations (a survey under a public post is rarely wanted).
    pub public: bool,
}

impl CsatPolicy {
    /// Whether a case of `purpose` on a conversation that is `public` is asked.
    pub fn applies(&self, purpose: &Purpose, public: bool) -> bool {
        (self.public || !public) && (self.purposes.is_empty() || self.purposes.contains(purpose))
    }
}

/// Longest text read as a score, in characters.
const MAX_ANSWER: usize = 24;

/// The score a customer's answer gives, if it is plainly one.
pub fn score(text: &str) -> Option<u8> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > MAX_ANSWER {
        return None;
    }
    let stars = t.chars().filter(|&c| c == '⭐' || c == '★').count();
    if stars > 0 {
        let rest_is_stars = t
            .chars()
            .all(|c| c == '⭐' || c == '★' || c.is_whitespace() || c == '\u{fe0f}');
        return (rest_is_stars && stars <= 5).then_some(stars as u8);
    }
    let digits: Vec<char> = t.chars().filter(char::is_ascii_digit).collect();
    let first = *digits.first()?;
    let value = first.to_digit(10)? as u8;
    if !(1..=5).contains(&value) {
        return None;
    }
    // "4/5" and "4 out of 5" name the scale; any other second digit is not a score.
    let lower = t.to_lowercase();
    let after: String = lower
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .skip(1)
        .collect();
    let after = after.trim_start();
    let rest = after
        .strip_prefix("/5")
        .or_else(|| after.strip_prefix("/ 5"))
        .or_else(|| after.strip_prefix("out of 5"))
        .or_else(|| after.strip_prefix("of 5"))
        .unwrap_or(after);
    if rest.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    // Before the number, at most a word like "score" or "rating"; after it, a short remark.
    let before: String = lower.chars().take_while(|c| !c.is_ascii_digit()).collect();
    let before_ok = before
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .all(|w| {
            matches!(
                w,
                "score" | "rating" | "rate" | "i" | "give" | "a" | "my" | "is" | "it"
            )
        });
    before_ok.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scores_are_read_and_everything_else_is_not() {
        for (text, expected) in [
            ("5", Some(5)),
            (" 4 ", Some(4)),
            ("1", Some(1)),
            ("4/5", Some(4)),
            ("3 / 5", Some(3)),
            ("2 out of 5", Some(2)),
            ("5 stars", Some(5)),
            ("5!", Some(5)),
            ("4 - good", Some(4)),
            ("Score: 3", Some(3)),
            ("I give it a 4", Some(4)),
            ("⭐⭐⭐⭐", Some(4)),
            ("★★", Some(2)),
            ("⭐️⭐️⭐️", Some(3)),
            ("0", None),
            ("6", None),
            ("10", None),
            ("45", None),
            ("5/10", None),
            ("my order 12345 is late", None),
            ("call me at 5", None),
            ("still broken, 3 days now", None),
            ("", None),
            ("thanks", None),
            ("⭐⭐⭐⭐⭐⭐", None),
            ("⭐⭐ but the app is still broken", None),
            ("5 but honestly the app is still broken again", None),
        ] {
            assert_eq!(score(text), expected, "{text:?}");
        }
    }

    #[test]
    fn the_policy_picks_purposes_and_private_conversations() {
        let support = Purpose::parse("support").expect("purpose");
        let sales = Purpose::parse("sales").expect("purpose");
        let p = CsatPolicy {
            question: "How did we do?".into(),
            purposes: vec![support.clone()],
            public: false,
        };
        assert!(p.applies(&support, false));
        assert!(!p.applies(&support, true));
        assert!(!p.applies(&sales, false));
        let everyone = CsatPolicy {
            purposes: vec![],
            public: true,
            ..p
        };
        assert!(everyone.applies(&sales, true));
    }
}
