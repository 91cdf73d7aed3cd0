//! Sarcasm a text marks as such: praise that the writer takes back (`#sarcasm`, a closing
//! `/s`, `yeah right`, a final `Not.`). A model trained on plainly written posts reads the
//! praise and misses the mark (`So helpful. Not.` was positive at 0.64), so a positive
//! verdict on a marked text is turned round ([`crate::Analyzer::analyze`]).
//!
//! Only marks a writer puts there to be read as sarcasm count. Praise beside a complaint
//! (`Love waiting on hold for 2 hours`) is sarcasm too, but the same words thank a brand that
//! fixed a delay; measured on labelled tweets, a rule for it cost more than it gained
//! (docs/PERFORMANCE.md).

/// Hashtags writers use to say they do not mean it.
const HASHTAGS: [&str; 3] = ["#sarcasm", "#sarcastic", "#not"];

/// Phrases that take back what was said, as whole words.
const PHRASES: [&str; 4] = ["yeah right", "yea right", "ya right", "yeah, right"];

/// Whether `text` marks itself as sarcastic: one of [`HASHTAGS`] (as a whole tag, any case),
/// one of [`PHRASES`], `/s` as its last word, or `not` as the last word of a text whose
/// sentence ended before it (`So helpful. Not.`, `Best airline ever... NOT!`).
pub fn marked(text: &str) -> bool {
    // Most texts have no `#`, no `right`, and do not end in `/s` or `not`: refused without
    // lower-casing them (a link's `/` is no mark).
    let bytes = text.as_bytes();
    let end = text
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '!' | '.'))
        .as_bytes();
    let ends = |mark: &[u8]| {
        end.len() >= mark.len() && end[end.len() - mark.len()..].eq_ignore_ascii_case(mark)
    };
    let tagged = memchr::memchr(b'#', bytes).is_some();
    let right = memchr::memchr2_iter(b'r', b'R', bytes).any(|i| {
        bytes[i..]
            .get(..5)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"right"))
    });
    if !(tagged || right || ends(b"/s") || ends(b"not")) {
        return false;
    }
    let lower = text.to_lowercase();
    let words_end = |at: usize| {
        lower[at..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_')
    };
    let starts_word = |at: usize| {
        lower[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '#')
    };
    let whole = |needle: &str| {
        lower
            .match_indices(needle)
            .any(|(at, _)| starts_word(at) && words_end(at + needle.len()))
    };
    if tagged && HASHTAGS.iter().any(|t| whole(t)) || right && PHRASES.iter().any(|p| whole(p)) {
        return true;
    }
    let trimmed = lower.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '!' | '.'));
    if let Some(before) = trimmed.strip_suffix("/s") {
        return before.is_empty() || before.ends_with(char::is_whitespace);
    }
    if let Some(before) = trimmed.strip_suffix("not") {
        // `not` alone after a sentence's end: `helpful. not`, `ever... not`, `ever - not`.
        let before = before.trim_end();
        return before.ends_with(['.', '!', '…', '-', '—'])
            && before
                .trim_end_matches(['.', '!', '…', '-', '—', ' '])
                .chars()
                .any(char::is_alphabetic);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_found_as_whole_words() {
        for text in [
            "So helpful. Not.",
            "Best airline ever... NOT!",
            "Great service - not",
            "love waiting in line #sarcasm",
            "Great job guys #Sarcastic",
            "on time again #not",
            "yeah right, like that will ever happen",
            "Yeah, right.",
            "sure it will be fixed today /s",
            "amazing support /s.",
        ] {
            assert!(marked(text), "{text}");
        }
        for text in [
            "",
            "I can not log in",
            "not happy",
            "Why not?",
            "it is not",
            "this is not. not at all",
            "#notfair",
            "#sarcasmo",
            "fix it right now",
            "yeah rightly so",
            "see a/s/l",
            "km/s",
            "the right thing",
            "Thanks for the quick help!",
            "knot",
        ] {
            assert!(!marked(text), "{text}");
        }
    }
}
