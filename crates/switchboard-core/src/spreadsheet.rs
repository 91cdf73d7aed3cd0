//! Cells a spreadsheet would run as formulas. A CSV cell starting with `=`, `+`, `-`, `@`, a
//! tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets (CSV
//! injection): exports write it with a leading `'`, which spreadsheets read as "text", and
//! imports take that `'` off again, so a file round-trips exactly (a cell that itself starts
//! with `'` before such a character gets one more, for the same reason).

const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn looks_like_formula(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA)
}

/// The cell as an export writes it.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_formula(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The cell an export wrote, as it was before [`defuse`].
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if looks_like_formula(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_everything_round_trips() {
        for (cell, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1 555", "'+1 555"),
            ("- a Markdown list", "'- a Markdown list"),
            ("@team", "'@team"),
            ("\tindented", "'\tindented"),
            ("'=already quoted", "''=already quoted"),
            ("plain text", "plain text"),
            ("'quoted", "'quoted"),
            ("", ""),
            ("a = b", "a = b"),
        ] {
            assert_eq!(defuse(cell), written, "{cell:?}");
            assert_eq!(restore(written), cell, "{written:?}");
        }
    }
}
