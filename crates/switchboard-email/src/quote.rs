//! What a person newly wrote in an e-mail, without the history their mail program quoted below
//! it or their signature: for the case view (the whole mail is kept).
//!
//! The reply ends at the first of:
//! - an attribution line, alone or wrapped over two lines: `On Tue, 3 Mar 2026 at 10:02, Ann
//!   <ann@example.com> wrote:` and its German, French, Spanish, Dutch, Italian and Portuguese
//!   forms (`Am … schrieb …:`, `Le … a écrit :`, `El … escribió:`, `Op … schreef …:`, `Il … ha
//!   scritto:`, `Em … escreveu:`);
//! - an Outlook separator: `-----Original Message-----` (and its translations), or a `From:`
//!   line followed within four lines by `Sent:`/`Date:` and `To:`/`Subject:` (a line of
//!   underscores just above goes too);
//! - a block of `>`-quoted lines that runs to the end of the mail (quotes answered inline,
//!   with text after them, are kept);
//! - a signature delimiter (`-- `), or a trailing "Sent from my iPhone".
//!
//! When nothing would be left (a mail that is all quote), the whole text is the reply.

/// The verbs of attribution lines, lower-cased: the line ends with a colon after one of them
/// (`… wrote:`, `Am … schrieb Ann <ann@…>:`).
const WROTE: &[&str] = &[
    "wrote",
    "schrieb",
    "a écrit",
    "escribió",
    "schreef",
    "ha scritto",
    "escreveu",
    "skrev",
    "napisał",
];

/// Beginnings of attribution lines, lower-cased.
const ATTRIBUTION_START: &[&str] = &[
    "on ", "am ", "le ", "el ", "op ", "il ", "em ", "den ", "w dniu ",
];

/// Outlook's "original message" separators, lower-cased and without the dashes.
const ORIGINAL: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "message d'origine",
    "mensaje original",
    "oorspronkelijk bericht",
    "messaggio originale",
    "mensagem original",
    "forwarded message",
];

/// Lines mail programs add at the end of a reply, lower-cased.
const SENT_FROM: &[&str] = &[
    "sent from my iphone",
    "sent from my ipad",
    "sent from my android",
    "sent from my samsung",
    "sent from my mobile",
    "get outlook for ios",
    "get outlook for android",
    "sent from outlook",
    "von meinem iphone gesendet",
    "envoyé de mon iphone",
    "enviado desde mi iphone",
];

fn is_attribution(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    l.len() <= 300
        && l.ends_with(':')
        && WROTE.iter().any(|w| {
            l.match_indices(w).any(|(i, _)| {
                let before = l[..i].chars().next_back();
                let after = l[i + w.len()..].chars().next();
                before.is_none_or(|c| !c.is_alphanumeric())
                    && after.is_none_or(|c| !c.is_alphanumeric())
            })
        })
        && (ATTRIBUTION_START.iter().any(|s| l.starts_with(s))
            || l.contains('@')
            || l.bytes().any(|b| b.is_ascii_digit()))
}

fn is_original_separator(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    let inner = l.trim_matches(|c: char| c == '-' || c.is_whitespace());
    l.starts_with("---") && ORIGINAL.contains(&inner)
}

fn header_line(line: &str, names: &[&str]) -> bool {
    let l = line.trim_start().to_lowercase();
    names
        .iter()
        .any(|n| l.starts_with(n) && l[n.len()..].starts_with(':'))
}

/// A `From:` line that opens a block of quoted headers (Outlook's reply layout).
fn is_header_block(lines: &[&str], i: usize) -> bool {
    if !header_line(lines[i], &["from", "von", "de", "van", "da"]) {
        return false;
    }
    let next = &lines[i + 1..lines.len().min(i + 5)];
    next.iter().any(|l| {
        header_line(
            l,
            &[
                "sent",
                "date",
                "gesendet",
                "datum",
                "envoyé",
                "enviado",
                "verzonden",
                "inviato",
            ],
        )
    }) && next.iter().any(|l| {
        header_line(
            l,
            &[
                "to",
                "subject",
                "an",
                "betreff",
                "à",
                "objet",
                "para",
                "asunto",
                "aan",
                "onderwerp",
                "a",
                "oggetto",
            ],
        )
    })
}

/// The reply part of `text` (see the module docs).
pub fn reply_part(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut end = lines.len();
    for i in 0..lines.len() {
        let line = lines[i];
        let two = lines
            .get(i + 1)
            .map(|next| format!("{} {}", line.trim(), next.trim()));
        if is_attribution(line) || is_original_separator(line) || is_header_block(&lines, i) {
            end = i;
            // An underscore rule just above an Outlook header block goes with it.
            if end > 0
                && lines[end - 1].trim().chars().all(|c| c == '_')
                && !lines[end - 1].trim().is_empty()
            {
                end -= 1;
            }
            break;
        }
        if !line.trim().is_empty()
            && two.as_deref().is_some_and(is_attribution)
            && !is_attribution(lines.get(i + 1).copied().unwrap_or(""))
        {
            end = i;
            break;
        }
        if line == "-- " || line.trim_end() == "--" {
            end = i;
            break;
        }
    }
    let mut kept: Vec<&str> = lines[..end].to_vec();
    // A trailing block of `>` quotes (with blank lines among them) goes.
    let mut cut = kept.len();
    for (i, l) in kept.iter().enumerate().rev() {
        if l.trim().is_empty() {
            continue;
        }
        if l.trim_start().starts_with('>') {
            cut = i;
        } else {
            break;
        }
    }
    kept.truncate(cut);
    // Trailing blank lines and "Sent from my …" lines go.
    while let Some(last) = kept.last() {
        let l = last.trim().to_lowercase();
        if l.is_empty() || SENT_FROM.iter().any(|s| l.starts_with(s)) {
            kept.pop();
        } else {
            break;
        }
    }
    let reply = kept.join("\n").trim().to_owned();
    if reply.is_empty() {
        text.trim().to_owned()
    } else {
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribution_lines_in_many_languages() {
        let cases = [
            "Thanks, that works.\n\nOn Tue, 3 Mar 2026 at 10:02, Acme Support <help@acme.example> wrote:\n> Try restarting.\n",
            "Thanks, that works.\n\nOn Tue, 3 Mar 2026 at 10:02, Acme Support <help@acme.example>\nwrote:\n> Try restarting.\n",
            "Thanks, that works.\n\nAm 03.03.2026 um 10:02 schrieb Acme Support <help@acme.example>:\n> Versuchen Sie es neu.\n",
            "Thanks, that works.\n\nLe mar. 3 mars 2026 à 10:02, Acme Support <help@acme.example> a écrit :\n> Redémarrez.\n",
            "Thanks, that works.\n\nEl mar, 3 mar 2026 a las 10:02, Acme Support (<help@acme.example>) escribió:\n> Reinicie.\n",
            "Thanks, that works.\n\nOp di 3 mrt 2026 om 10:02 schreef Acme Support <help@acme.example>:\n> Herstart.\n",
        ];
        for c in cases {
            assert_eq!(reply_part(c), "Thanks, that works.", "{c}");
        }
    }

    #[test]
    fn outlook_layouts() {
        let separator = "Still broken.\r\n\r\n-----Original Message-----\r\nFrom: Acme Support\r\nSent: Tuesday\r\nTo: Ann\r\nSubject: RE: login\r\n\r\nTry again.";
        assert_eq!(reply_part(separator), "Still broken.");
        let block = "Still broken.\n\n________________________________\nFrom: Acme Support <help@acme.example>\nSent: Tuesday, March 3, 2026 10:02 AM\nTo: Ann Lee <ann@example.com>\nSubject: RE: login\n\nTry again.";
        assert_eq!(reply_part(block), "Still broken.");
        let german = "Geht nicht.\n\nVon: Acme Support <help@acme.example>\nGesendet: Dienstag, 3. März 2026 10:02\nAn: Ann Lee\nBetreff: AW: Login\n\nBitte neu starten.";
        assert_eq!(reply_part(german), "Geht nicht.");
        // "From:" in the customer's own words is not a header block.
        let prose = "From: my side everything looks fine.\nThe order number is 5521.";
        assert_eq!(reply_part(prose), prose);
    }

    #[test]
    fn trailing_quotes_signatures_and_mobile_footers() {
        assert_eq!(
            reply_part("Yes please.\n\n> Shall we refund?\n>\n> Acme\n"),
            "Yes please."
        );
        // Inline answers keep the quotes they answer.
        let inline = "> Which order?\n5521\n> Which size?\nM";
        assert_eq!(reply_part(inline), inline);
        assert_eq!(
            reply_part("Order 5521 please.\n\n-- \nAnn Lee\nCEO, Example Corp\n"),
            "Order 5521 please."
        );
        assert_eq!(
            reply_part("Order 5521 please.\n\nSent from my iPhone\n"),
            "Order 5521 please."
        );
    }

    #[test]
    fn all_quote_keeps_everything() {
        let text = "> only a quote\n> nothing else";
        assert_eq!(reply_part(text), text);
        assert_eq!(reply_part(""), "");
    }
}
