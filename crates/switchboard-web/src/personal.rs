//! Personal data in a message as the pages show it: a payment card number or a national id
//! number hidden but for its last four digits or letters (an agent never needs the whole
//! number to help, and a screen shows it to anyone passing), the rest marked with what it is.
//! Found by the guards' own detectors.

use maud::{Markup, html};
use switchboard_core::guard::{self, FindingKind};

/// `text` with its personal data marked, card and national id numbers hidden.
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
                // The same findings `hide_card_and_id_numbers` hides in previews.
                Some(k) if k.is_hidden_when_shown(part) => mark.pii title=(hidden_title(k, part)) {
                    "•••• " (guard::last_four(part))
                },
                Some(k) => mark.pii title=(title(k, part)) { (part) },
            }
        }
    }
}

/// `text` with its card and national id numbers hidden but for their last four digits or
/// letters (for one-line previews).
pub fn without_card_and_id_numbers(text: &str) -> String {
    guard::hide_card_and_id_numbers(text)
}

/// What a finding is: a national id by its scheme ("Brazilian CPF").
fn title(kind: &FindingKind, part: &str) -> String {
    let scheme = (*kind == FindingKind::NationalId)
        .then(|| guard::IdScheme::of(part))
        .flatten();
    scheme.map_or_else(|| kind.describe(), |s| s.name().to_owned())
}

/// A hidden finding's title: what it is, and that it is hidden.
fn hidden_title(kind: &FindingKind, part: &str) -> String {
    match kind {
        FindingKind::CardNumber => "card number: hidden but its last four digits".to_owned(),
        _ => format!(
            "{}: hidden but its last four digits or letters",
            title(kind, part)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_and_id_numbers_are_hidden_and_the_rest_marked() {
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
            html.contains(
                "title=\"Brazilian CPF: hidden but its last four digits or letters\">•••• 4725</mark>"
            ),
            "{html}"
        );
        assert!(!html.contains("529.982"), "{html}");
        let html = marked("NI number AB 12 34 56 C, SSN 123-45-6789").into_string();
        assert!(html.contains(">•••• 456C</mark>"), "{html}");
        assert!(html.contains(">•••• 6789</mark>"), "{html}");
        assert!(!html.contains("123-45"), "{html}");
        // A PAN, known by its form alone, is shown and named.
        let html = marked("code BLACK2025F").into_string();
        assert!(
            html.contains("title=\"Indian PAN\">BLACK2025F</mark>"),
            "{html}"
        );
        assert_eq!(marked("nothing here").into_string(), "nothing here");
        assert_eq!(
            without_card_and_id_numbers("my card 4111111111111111 was charged"),
            "my card •••• 1111 was charged"
        );
        assert_eq!(
            without_card_and_id_numbers("CPF 529.982.247-25, IBAN GB82 WEST 1234 5698 7654 32"),
            "CPF •••• 4725, IBAN GB82 WEST 1234 5698 7654 32"
        );
        assert_eq!(without_card_and_id_numbers("order 1234"), "order 1234");
    }
}
