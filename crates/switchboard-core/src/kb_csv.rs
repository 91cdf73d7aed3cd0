//! The knowledge base as CSV, for people who keep it in a spreadsheet. One row per entry, a
//! header row naming the columns (any order, any subset): `type` (`article` or `canned`;
//! without the column, every row is an article when there is a `title` column, else a canned
//! response),
//! the documents' fields (`title`, `body`, `name`, `text`, `language`, `purpose`, `team_id`,
//! `public`, `valid_from`, `valid_until`) and the lists `tags`, `questions`, `intents`, whose
//! items are separated by `|`. An empty cell is an absent field, except in `public`, which
//! must say `true` or `false` when the column is there (without the column, articles are
//! public). Export writes every column; a cell a spreadsheet would run as a formula gets a
//! leading `'`, which import takes off ([`crate::spreadsheet`]).

use crate::kb::{FieldError, ImportKind, LineError, checked_document};
use serde_json::{Map, Value};

/// The columns, in the order export writes them.
pub const COLUMNS: &[&str] = &[
    "type",
    "title",
    "name",
    "body",
    "text",
    "tags",
    "questions",
    "intents",
    "language",
    "purpose",
    "team_id",
    "public",
    "valid_from",
    "valid_until",
];

const LISTS: &[&str] = &["tags", "questions", "intents"];

/// What separates the items of a list cell.
pub const LIST_SEPARATOR: char = '|';

fn line_error(line: u64, field: &str, message: impl Into<String>) -> LineError {
    LineError {
        line: line as usize,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Reads a CSV import. Every row is checked; the checked documents, or every row's problem
/// (with the line the row starts on).
pub fn parse_csv(text: &str) -> Result<Vec<(ImportKind, Value)>, Vec<LineError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => return Err(vec![line_error(1, "", format!("not CSV: {e}"))]),
    };
    let mut errors = Vec::new();
    for h in &headers {
        if !COLUMNS.contains(&h.as_str()) {
            errors.push(line_error(
                1,
                h,
                format!("unknown column; expected some of {}", COLUMNS.join(", ")),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut items = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(line_error(line, "", format!("not CSV: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let default = if headers.iter().any(|h| h == "title") {
            ImportKind::Article
        } else {
            ImportKind::Canned
        };
        match row(&headers, &record, default) {
            Ok(item) => items.push(item),
            Err(e) => errors.push(line_error(line, &e.field, e.message)),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

fn row(
    headers: &[String],
    record: &csv::StringRecord,
    default: ImportKind,
) -> Result<(ImportKind, Value), FieldError> {
    let mut doc = Map::new();
    let mut kind = None;
    let mut blank_public = false;
    for (h, cell) in headers.iter().zip(record.iter()) {
        let cell = crate::spreadsheet::restore(cell.trim());
        if cell.is_empty() {
            blank_public |= h == "public";
            continue;
        }
        let value = match h.as_str() {
            "type" => {
                kind = Some(match cell {
                    "article" => ImportKind::Article,
                    "canned" => ImportKind::Canned,
                    _ => {
                        return Err(FieldError {
                            field: "type".into(),
                            message: "must be article or canned".into(),
                        });
                    }
                });
                continue;
            }
            "public" => match cell.to_lowercase().as_str() {
                "true" | "yes" | "1" => Value::Bool(true),
                "false" | "no" | "0" => Value::Bool(false),
                _ => {
                    return Err(FieldError {
                        field: "public".into(),
                        message: "must be true or false".into(),
                    });
                }
            },
            l if LISTS.contains(&l) => Value::Array(
                cell.split(LIST_SEPARATOR)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
            _ => Value::String(cell.to_owned()),
        };
        doc.insert(h.clone(), value);
    }
    let kind = kind.unwrap_or(default);
    if blank_public && kind == ImportKind::Article {
        // Absent would mean public: with the column there, say which.
        return Err(FieldError {
            field: "public".into(),
            message: "say true or false (an empty cell would make the article public)".into(),
        });
    }
    Ok((kind, checked_document(kind, Value::Object(doc))?))
}

/// Writes entries (their stored documents) as CSV, every column, that [`parse_csv`] reads back.
pub fn to_csv(items: &[(ImportKind, &Value)]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(COLUMNS);
    for (kind, doc) in items {
        let cells: Vec<String> = COLUMNS
            .iter()
            .map(|c| match (*c, &doc[*c]) {
                ("type", _) => match kind {
                    ImportKind::Article => "article".to_owned(),
                    ImportKind::Canned => "canned".to_owned(),
                },
                (_, Value::Null) => String::new(),
                (_, Value::String(s)) => s.clone(),
                (_, Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(&LIST_SEPARATOR.to_string()),
                (_, other) => other.to_string(),
            })
            .map(|cell: String| crate::spreadsheet::defuse(&cell).into_owned())
            .collect();
        let _ = w.write_record(&cells);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_round_trips() {
        let sheet = "\u{feff}Type,Title,Body,Tags,Questions,Public,Valid_until,Name,Text\n\
            article,Opening hours,\"We are open 9-5.\nClosed on Sundays.\",hours | visit,When are you open?|Are you open Sunday?,yes,2030-01-01T00:00:00Z,,\n\
            canned,,,greeting,,,,hello,\"Hi {{contact.first_name}}, thanks!\"\n";
        let items = parse_csv(sheet).expect("valid");
        assert_eq!(items.len(), 2);
        let (kind, a) = &items[0];
        assert_eq!(*kind, ImportKind::Article);
        assert_eq!(a["body"], "We are open 9-5.\nClosed on Sundays.");
        assert_eq!(a["tags"], serde_json::json!(["hours", "visit"]));
        assert_eq!(a["questions"][1], "Are you open Sunday?");
        assert_eq!(a["public"], true);
        assert_eq!(items[1].0, ImportKind::Canned);
        assert_eq!(items[1].1["text"], "Hi {{contact.first_name}}, thanks!");

        let out = to_csv(&items.iter().map(|(k, v)| (*k, v)).collect::<Vec<_>>());
        assert_eq!(parse_csv(&out).expect("reads back"), items);

        // A body a spreadsheet would run as a formula is written defused and read back whole.
        let risky = parse_csv(
            r#"title,body,public
Sum,"=1+2",true
List,"- one
- two",true
"#,
        )
        .expect("valid");
        let out = to_csv(&risky.iter().map(|(k, v)| (*k, v)).collect::<Vec<_>>());
        assert!(out.contains("'=1+2") && out.contains("'- one"), "{out}");
        assert_eq!(parse_csv(&out).expect("reads back"), risky);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let sheet = "title,body,public\n\
            Fine,ok,true\n\
            ,no title,true\n\
            \"Multi\nline\",body,maybe\n\
            Short,row\n";
        let errors = parse_csv(sheet).expect_err("bad rows");
        let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(got, [(3, "title"), (4, "public"), (6, "")], "{errors:?}");
        let blank = parse_csv("title,body,public\nInternal,codes,\n").expect_err("blank public");
        assert_eq!((blank[0].line, blank[0].field.as_str()), (2, "public"));
        let unknown = parse_csv("title,colour\nx,red\n").expect_err("unknown column");
        assert_eq!((unknown[0].line, unknown[0].field.as_str()), (1, "colour"));
        assert!(parse_csv("").expect("empty: nothing").is_empty());
    }
}
