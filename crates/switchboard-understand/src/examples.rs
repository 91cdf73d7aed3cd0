//! Labelled examples from CSV or TSV (with a header row) or JSON Lines, with errors that name
//! the line and the problem.

use crate::model::Example;

/// The shape of a training or evaluation file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// Tab-separated values with a header row (quotes as in CSV), as many published data sets
    /// and spreadsheets' "tab-delimited" export write them.
    Tsv,
    Jsonl,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "jsonl" => Ok(Format::Jsonl),
            other => Err(format!(
                "unknown format {other:?}; expected csv, tsv or jsonl"
            )),
        }
    }
}

impl Format {
    /// The format a file's first line says, when nothing else does (after a byte-order mark
    /// and blanks): JSON Lines when it opens a JSON object; TSV when the header row holds more
    /// tabs than commas; else CSV.
    pub fn of_content(body: &[u8]) -> Format {
        if opens_with(body, b'{') {
            return Format::Jsonl;
        }
        let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
        let start = body.iter().position(|&b| b != b'\n' && b != b'\r');
        let header = start.map_or(&[][..], |s| {
            let rest = &body[s..];
            &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())]
        });
        let count = |c: u8| header.iter().filter(|&&b| b == c).count();
        if count(b'\t') > count(b',') {
            Format::Tsv
        } else {
            Format::Csv
        }
    }
}

/// Whether `body`'s first character, after a byte-order mark and blanks, is `first`.
pub fn opens_with(body: &[u8], first: u8) -> bool {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&first)
}

/// What to say of a file that is one JSON array: neither format, and easily taken for one.
pub const JSON_ARRAY: &str = "the file is a JSON array; write one JSON object a line (JSON Lines) or a CSV or TSV file with a header row";

/// A training file's bytes as text, or where it stops being UTF-8: the line and the byte.
pub fn utf8_text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        format!("line {line} is not UTF-8 text (byte {at}); save the file as UTF-8")
    })
}

/// Reads examples: `text_column` and `label_column` name a CSV header's columns or a JSON
/// object's keys. Refuses an empty input, an unknown column, a row without text or label.
pub fn read(
    input: &str,
    format: Format,
    text_column: &str,
    label_column: &str,
) -> Result<Vec<Example>, String> {
    // A byte-order mark (spreadsheets write one) is not part of the first line.
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    if opens_with(input.as_bytes(), b'[') {
        return Err(JSON_ARRAY.into());
    }
    let examples = match format {
        Format::Csv => csv_examples(input, b',', text_column, label_column)?,
        Format::Tsv => csv_examples(input, b'\t', text_column, label_column)?,
        Format::Jsonl => jsonl_examples(input, text_column, label_column)?,
    };
    if examples.is_empty() {
        return Err("the file has no examples".into());
    }
    Ok(examples)
}

/// Rows of a CSV (`delimiter` `,`) or TSV (`\t`) file with a header row.
fn csv_examples(
    input: &str,
    delimiter: u8,
    text_col: &str,
    label_col: &str,
) -> Result<Vec<Example>, String> {
    let tsv = delimiter == b'\t';
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(input.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("the header row: {e}"))?
        .clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
        return Err(format!(
            "the file is empty (a {} file needs a header row)",
            if tsv { "TSV" } else { "CSV" }
        ));
    }
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                // A header of one column holding the other delimiter: the file's format
                // was taken for the other one.
                let other = match (tsv, headers.len()) {
                    (false, 1) if headers[0].contains('\t') => {
                        " (the header is separated by tabs: read the file as TSV)"
                    }
                    (true, 1) if headers[0].contains(',') => {
                        " (the header is separated by commas: read the file as CSV)"
                    }
                    _ => "",
                };
                format!(
                    "no column {name:?}; the columns are {}{other}",
                    headers
                        .iter()
                        .map(|h| format!("{h:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    };
    for name in [text_col, label_col] {
        let columns: Vec<usize> = (0..headers.len())
            .filter(|&i| headers[i].trim() == name)
            .map(|i| i + 1)
            .collect();
        if columns.len() > 1 {
            return Err(format!(
                "the header names {name:?} {} times (columns {}): rename the others, or the \
                 wrong one may be read",
                columns.len(),
                columns
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let (ti, li) = (find(text_col)?, find(label_col)?);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(input, tsv, &e))?;
        let line = record.position().map_or(0, |p| p.line());
        let text = record.get(ti).unwrap_or_default().trim();
        let label = record.get(li).unwrap_or_default().trim();
        if text.is_empty() {
            return Err(format!("line {line}: the {text_col:?} column is empty"));
        }
        if label.is_empty() {
            return Err(format!("line {line}: the {label_col:?} column is empty"));
        }
        out.push(Example {
            text: text.to_owned(),
            label: label.to_owned(),
        });
    }
    Ok(out)
}

/// A CSV or TSV reading error in words, naming its line: a row with the wrong number of
/// fields says how many it has and needs, and whether a quote opened on that line is never
/// closed (which makes the rest of the file one field).
fn csv_error(input: &str, tsv: bool, e: &csv::Error) -> String {
    let Some(line) = e.position().map(|p| p.line()) else {
        return e.to_string();
    };
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            let text = input
                .lines()
                .nth(line.saturating_sub(1) as usize)
                .unwrap_or("");
            let open_quote = text.matches('"').count() % 2 == 1;
            format!(
                "line {line}: {len} field{} where the header has {expected_len}{}",
                if *len == 1 { "" } else { "s" },
                if open_quote {
                    " (a quote opened on this line is never closed)"
                } else if tsv {
                    " (a text with a tab needs quotes)"
                } else {
                    " (a text with a comma needs quotes: \"like, this\")"
                }
            )
        }
        _ => format!("line {line}: {e}"),
    }
}

fn jsonl_examples(input: &str, text_key: &str, label_key: &str) -> Result<Vec<Example>, String> {
    let mut out = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let n = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            format!(
                "line {n}: not JSON: {} (column {})",
                json_problem(&e),
                e.column()
            )
        })?;
        let obj = v
            .as_object()
            .ok_or_else(|| format!("line {n}: expected a JSON object"))?;
        let field = |key: &str| -> Result<String, String> {
            match obj.get(key) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => {
                    Ok(s.trim().to_owned())
                }
                Some(serde_json::Value::String(_)) => Err(format!("line {n}: {key:?} is empty")),
                Some(serde_json::Value::Number(x)) => Ok(x.to_string()),
                Some(_) => Err(format!("line {n}: {key:?} must be a string")),
                None => Err(format!(
                    "line {n}: no key {key:?}; the keys are {}",
                    obj.keys()
                        .map(|k| format!("{k:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        };
        out.push(Example {
            text: field(text_key)?,
            label: field(label_key)?,
        });
    }
    Ok(out)
}

/// serde_json's message without its own "at line 1 column 7" (each JSON line is parsed
/// alone, so its line is always 1; the file's line is named instead).
fn json_problem(e: &serde_json::Error) -> String {
    let m = e.to_string();
    match m.rfind(" at line ") {
        Some(i) => m[..i].to_owned(),
        None => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_with_the_wrong_number_of_fields_is_named_with_the_likely_cause() {
        let err = |csv: &str| read(csv, Format::Csv, "text", "label").unwrap_err();
        assert_eq!(
            err("text,label\nhello,greet\n\"where is it,lost\nbye,leave\n"),
            "line 3: 1 field where the header has 2 (a quote opened on this line is never closed)"
        );
        assert_eq!(
            err("text,label\nhello,greet\nwell, hello,greet\n"),
            "line 3: 3 fields where the header has 2 (a text with a comma needs quotes: \"like, this\")"
        );
    }

    #[test]
    fn csv_with_quotes_and_commas() {
        let input =
            "text,category\n\"Hi, my card, it broke\",card_broken\nwhere is it,card_arrival\n";
        let got = read(input, Format::Csv, "text", "category").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, "Hi, my card, it broke");
        assert_eq!(got[1].label, "card_arrival");
    }

    #[test]
    fn tsv_is_read_and_known_by_its_header() {
        let input = "text\tcategory\nHi, my card broke\tcard_broken\n\"a \ttab\"\tcard_arrival\n";
        assert_eq!(Format::of_content(input.as_bytes()), Format::Tsv);
        assert_eq!(Format::parse("tsv"), Ok(Format::Tsv));
        let got = read(input, Format::Tsv, "text", "category").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, "Hi, my card broke", "a comma is text in TSV");
        assert_eq!(got[1].text, "a \ttab");
        assert_eq!(got[1].label, "card_arrival");
        // A comma-separated header, even with a tab in a later row, is CSV; so is one line
        // with as many commas as tabs.
        for csv in [
            "text,label\na\tb,c\n",
            "\u{feff}\n\ntext,label\n",
            "a\tb,c\n",
            "",
        ] {
            assert_eq!(Format::of_content(csv.as_bytes()), Format::Csv, "{csv:?}");
        }
        assert_eq!(
            Format::of_content(b"\xef\xbb\xbf\r\ntext\tlabel\r\nhi\ta\r\n"),
            Format::Tsv
        );
    }

    #[test]
    fn a_file_read_in_the_other_delimiter_says_which_it_is() {
        let err = read("text\tlabel\nhi\ta\n", Format::Csv, "text", "label").unwrap_err();
        assert_eq!(
            err,
            "no column \"text\"; the columns are \"text\\tlabel\" (the header is separated by tabs: read the file as TSV)"
        );
        let err = read("text,label\nhi,a\n", Format::Tsv, "text", "label").unwrap_err();
        assert!(
            err.ends_with("(the header is separated by commas: read the file as CSV)"),
            "{err}"
        );
        assert_eq!(
            read("text\tlabel\nhi\ta\tb\n", Format::Tsv, "text", "label").unwrap_err(),
            "line 2: 3 fields where the header has 2 (a text with a tab needs quotes)"
        );
        assert_eq!(
            read("", Format::Tsv, "text", "label").unwrap_err(),
            "the file is empty (a TSV file needs a header row)"
        );
    }

    /// A byte-order mark before the first line is not read as text, in either format.
    #[test]
    fn a_byte_order_mark_is_skipped() {
        let jsonl = "\u{feff}{\"text\":\"hi\",\"label\":\"a\"}\n";
        assert_eq!(
            read(jsonl, Format::Jsonl, "text", "label").unwrap()[0].text,
            "hi"
        );
        let csv = "\u{feff}text,label\nhi,a\n";
        assert_eq!(
            read(csv, Format::Csv, "text", "label").unwrap()[0].label,
            "a"
        );
    }

    #[test]
    fn text_that_is_not_utf8_is_named_by_line_and_byte() {
        assert_eq!(utf8_text(b"a,b\nok\n".to_vec()).unwrap(), "a,b\nok\n");
        assert_eq!(
            utf8_text(b"text,label\ncaf\xe9,a\n".to_vec()).unwrap_err(),
            "line 2 is not UTF-8 text (byte 14); save the file as UTF-8"
        );
    }

    #[test]
    fn jsonl_examples_read() {
        let input = "{\"text\":\"hi\",\"label\":\"a\"}\n\n{\"text\":\"yo\",\"label\":2}\n";
        let got = read(input, Format::Jsonl, "text", "label").unwrap();
        assert_eq!(got[1].label, "2");
    }

    #[test]
    fn errors_name_the_problem() {
        let cases: &[(&str, Format, &str)] = &[
            ("", Format::Csv, "empty"),
            ("text,category\n", Format::Csv, "no examples"),
            ("text,category\nhi,a\n", Format::Jsonl, "line 1: not JSON"),
            (
                "txt,category\nhi,a\n",
                Format::Csv,
                "no column \"text\"; the columns are \"txt\", \"category\"",
            ),
            ("text,category\nhi,a,extra\n", Format::Csv, "line 2"),
            (
                "text,category\n,a\n",
                Format::Csv,
                "line 2: the \"text\" column is empty",
            ),
            (
                "{\"text\":\"hi\"}\n",
                Format::Jsonl,
                "line 1: no key \"category\"",
            ),
            ("[1]\n", Format::Jsonl, "the file is a JSON array"),
            ("1\n", Format::Jsonl, "expected a JSON object"),
            (
                "text,category,text\nhi,a,b\n",
                Format::Csv,
                "the header names \"text\" 2 times (columns 1, 3)",
            ),
            (
                "{\"text\":\"hi\",\"category\":\"a\"}\n{\"text\": oops}\n",
                Format::Jsonl,
                "line 2: not JSON: expected value (column 10)",
            ),
            (
                "{\"text\":\"hi\",\"category\":[]}\n",
                Format::Jsonl,
                "must be a string",
            ),
        ];
        for (input, format, want) in cases {
            let err = read(input, *format, "text", "category").unwrap_err();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }
}
