//! Personal data in a message as the pages show it: a payment card number hidden but for its
//! last four digits (an agent never needs the whole number to help, and a screen shows it to
//! anyone passing), the rest marked with what it is. Found by the guards' own detectors.

use maud::{Markup, html};
use switchboard_core::guard::{self, FindingKind};

/// `text` with its personal data marked, card numbers hidden.
pub fn marked(text: &str) -> Markup {
    let found = guard::personal_data(text);
    let mut at = 0;
    let mut parts: Vec<(&str, Option<&FindingKind>)> = Vec::new();
    for f in &found {
        if f.start < at || f.end > text.len() || f.start >= f.end {
            continue;
        }
        parts.push((&text[at..f.start], None));
        parts.push((&text[f.start..f.end], Some(&f.kind)));
        at = f.end;
    }
    parts.push((&text[at..], None));
    html! {
        @for (part, kind) in parts {
            @match kind {
                None => (part),
                Some(FindingKind::CardNumber) => mark.pii title="card number: hidden but its last four digits" {
                    "•••• " (last_four(part))
                },
                Some(FindingKind::NationalId) => mark.pii title=(guard::IdScheme::of(part).map_or("a national id number", |s| s.name())) { (part) },
                Some(k) => mark.pii title=(k.describe()) { (part) },
            }
        }
    }
}

/// `text` with its card numbers hidden but for their last four digits (for one-line previews).
pub fn without_card_numbers(text: &str) -> String {
    guard::hide_card_numbers(text)
}

fn last_four(number: &str) -> String {
    guard::last_four(number).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_hidden_and_the_rest_marked() {
        let html = marked("card 4111 1111 1111 1111, mail ann@example.com <b>").into_string();
        assert!(!html.contains("4111 1111"), "{html}");
        assert!(html.contains("•••• 1111</mark>"), "{html}");
        assert!(
            html.contains("title=\"an e-mail address\">ann@example.com</mark>")
                || html.contains(">ann@example.com</mark>"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;"), "escaped: {html}");
        let html = marked("meu CPF é 529.982.247-25").into_string();
        assert!(
            html.contains("title=\"Brazilian CPF\">529.982.247-25</mark>"),
            "{html}"
        );
        assert_eq!(marked("nothing here").into_string(), "nothing here");
        assert_eq!(
            without_card_numbers("my card 4111111111111111 was charged"),
            "my card •••• 1111 was charged"
        );
        assert_eq!(without_card_numbers("order 1234"), "order 1234");
    }
}
