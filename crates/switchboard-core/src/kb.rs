//! The knowledge base's rules, without I/O: what an article and a canned response may hold,
//! when an article is in force (time-bound facts such as a game's start time), and how a canned
//! response's placeholders (`{{contact.name}}`) are filled in.

use crate::{TeamId, Timestamp};
use serde::{Deserialize, Serialize};

/// A field that is not acceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 20_000;
pub const MAX_QUESTIONS: usize = 50;
pub const MAX_LIST_ITEM: usize = 300;
pub const MAX_TAGS: usize = 20;

/// What an article says, as written by a person (or an import line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ArticleDraft {
    pub title: String,
    /// Markdown.
    pub body: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `en`, `de`…; none: any language.
    #[serde(default)]
    pub language: Option<String>,
    /// The purpose this article serves (`tier1`, `support`…), if one.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The team that owns it.
    #[serde(default)]
    pub team_id: Option<TeamId>,
    /// Public: may be sent to customers (and automatically); internal: agents only.
    #[serde(default = "yes")]
    pub public: bool,
    /// In force from / until (a game's start time stops being true after the game).
    #[serde(default)]
    pub valid_from: Option<Timestamp>,
    #[serde(default)]
    pub valid_until: Option<Timestamp>,
    /// Other ways people ask what this answers (they help find it).
    #[serde(default)]
    pub questions: Vec<String>,
    /// The intents (of the workspace's intent model) this article answers.
    #[serde(default)]
    pub intents: Vec<String>,
}

fn yes() -> bool {
    true
}

fn text(name: &str, s: &str, max: usize, required: bool) -> Result<String, FieldError> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(field(name, "is required"));
    }
    if t.chars().count() > max {
        return Err(field(name, format!("must be at most {max} characters")));
    }
    if t.contains('\0') {
        return Err(field(name, "must not contain NUL characters"));
    }
    Ok(t.to_owned())
}

fn list(name: &str, items: &[String], max_items: usize) -> Result<Vec<String>, FieldError> {
    if items.len() > max_items {
        return Err(field(name, format!("must have at most {max_items} items")));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let t = text(&format!("{name}[{i}]"), item, MAX_LIST_ITEM, true)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Lower-cased, without repeats.
fn tags(items: &[String]) -> Result<Vec<String>, FieldError> {
    let lower: Vec<String> = items.iter().map(|t| t.to_lowercase()).collect();
    list("tags", &lower, MAX_TAGS)
}

fn language(l: &Option<String>) -> Result<Option<String>, FieldError> {
    match l.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(code) => crate::language::parse(code)
            .map(|c| Some(c.to_owned()))
            .map_err(|e| field("language", e.0)),
    }
}

impl ArticleDraft {
    /// The draft with its text trimmed and lists de-duplicated, or the first field at fault.
    pub fn checked(&self) -> Result<ArticleDraft, FieldError> {
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until <= from
        {
            return Err(field("valid_until", "must be after valid_from"));
        }
        Ok(ArticleDraft {
            title: text("title", &self.title, MAX_TITLE, true)?,
            body: text("body", &self.body, MAX_BODY, true)?,
            tags: tags(&self.tags)?,
            language: language(&self.language)?,
            purpose: match self.purpose.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(p) => Some(text("purpose", p, 64, true)?),
            },
            team_id: self.team_id,
            public: self.public,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            questions: list("questions", &self.questions, MAX_QUESTIONS)?,
            intents: list("intents", &self.intents, MAX_QUESTIONS)?,
        })
    }

    /// Whether the article is in force at `now`.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| f <= now) && self.valid_until.is_none_or(|u| now < u)
    }
}

/// A short reply template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CannedDraft {
    /// How agents find it (`/refund-policy`).
    pub name: String,
    /// The reply, with placeholders from [`PLACEHOLDERS`].
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub team_id: Option<TeamId>,
}

impl CannedDraft {
    pub fn checked(&self) -> Result<CannedDraft, FieldError> {
        let text_ = text("text", &self.text, 5_000, true)?;
        placeholders(&text_).map_err(|m| field("text", m))?;
        Ok(CannedDraft {
            name: text("name", &self.name, 100, true)?,
            text: text_,
            tags: tags(&self.tags)?,
            language: language(&self.language)?,
            team_id: self.team_id,
        })
    }
}

/// Which kind of entry an import line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Article,
    Canned,
}

/// One line of an import that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

/// Reads a JSON Lines import: one `{"type": "article"|"canned", …document}` a line (an
/// export's `id`, `version` and times are ignored; blank lines too). Every line is checked;
/// the checked documents, or every line's problem.
pub fn parse_import(text: &str) -> Result<Vec<(ImportKind, serde_json::Value)>, Vec<LineError>> {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match import_line(line) {
            Ok(item) => items.push(item),
            Err(e) => errors.push(LineError {
                line: i + 1,
                field: e.field,
                message: e.message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

fn import_line(line: &str) -> Result<(ImportKind, serde_json::Value), FieldError> {
    let mut v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| field("", format!("not JSON: {e}")))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(field("", "a line is one JSON object"));
    };
    let kind = match obj.remove("type").as_ref().and_then(|t| t.as_str()) {
        Some("article") => ImportKind::Article,
        Some("canned") => ImportKind::Canned,
        _ => return Err(field("type", "must be article or canned")),
    };
    for k in ["id", "version", "created_at", "updated_at", "archived_at"] {
        obj.remove(k);
    }
    Ok((kind, checked_document(kind, v)?))
}

/// A document checked as its kind, normalised as it is stored.
pub fn checked_document(
    kind: ImportKind,
    v: serde_json::Value,
) -> Result<serde_json::Value, FieldError> {
    // serde names the field it missed or did not know: "missing field `title`", said as the
    // API says it ("title: is required").
    let bad = |e: serde_json::Error| {
        let message = e.to_string();
        let missing = message.starts_with("missing field");
        let name = message
            .split('`')
            .nth(1)
            .filter(|_| missing || message.starts_with("unknown field"))
            .unwrap_or("body")
            .to_owned();
        FieldError {
            field: name,
            message: if missing {
                "is required".to_owned()
            } else {
                message
            },
        }
    };
    match kind {
        ImportKind::Article => {
            let d: ArticleDraft = serde_json::from_value(v).map_err(bad)?;
            serde_json::to_value(d.checked()?).map_err(bad)
        }
        ImportKind::Canned => {
            let d: CannedDraft = serde_json::from_value(v).map_err(bad)?;
            serde_json::to_value(d.checked()?).map_err(bad)
        }
    }
}

/// The placeholders a canned response may use.
pub const PLACEHOLDERS: &[&str] = &[
    "contact.name",
    "contact.first_name",
    "agent.name",
    "team.name",
    "case.id",
];

/// The placeholders in a template, or why it is malformed (an unknown name, an unclosed
/// `{{`).
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        check_braces(&rest[..start])?;
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("has a {{ without its }}".into());
        };
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "{{{{{name}}}}} is not a placeholder; use one of {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{{{p}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        found.push(name);
        rest = &after[end + 2..];
        if rest.starts_with('}') {
            return Err(format!("has a }} too many after {{{{{name}}}}}"));
        }
    }
    check_braces(rest)?;
    Ok(found)
}

/// Text between placeholders: a half-written one (`{contact.name}}`, `{agent.name}`) would
/// reach the customer as it is.
fn check_braces(text: &str) -> Result<(), String> {
    if text.contains("}}") {
        return Err("has a }} without its {{".into());
    }
    for p in PLACEHOLDERS {
        if text.contains(&format!("{{{p}")) || text.contains(&format!("{p}}}")) {
            return Err(format!("write {{{{{p}}}}} with two braces on each side"));
        }
    }
    Ok(())
}

/// What the placeholders stand for in one case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub contact_name: Option<String>,
    pub agent_name: Option<String>,
    pub team_name: Option<String>,
    pub case_id: Option<String>,
}

/// The template with its placeholders filled in; one with no value reads naturally
/// (`there` for a name, empty otherwise).
pub fn render(template: &str, ctx: &Context) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let value = match after[..end].trim() {
            "contact.name" => ctx.contact_name.clone().unwrap_or_else(|| "there".into()),
            "contact.first_name" => ctx
                .contact_name
                .as_deref()
                .and_then(|n| n.split_whitespace().next())
                .unwrap_or("there")
                .to_owned(),
            "agent.name" => ctx.agent_name.clone().unwrap_or_default(),
            "team.name" => ctx.team_name.clone().unwrap_or_default(),
            "case.id" => ctx.case_id.clone().unwrap_or_default(),
            _ => after[..end].to_owned(),
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Markdown as a customer reads it on a channel that shows plain text (SMS, WhatsApp, a
/// public comment): no emphasis marks or heading hashes, links as `text (url)`, list items
/// as `- `.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for (i, line) in markdown.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        let line = match trimmed.strip_prefix(['*', '+']) {
            Some(rest) if rest.starts_with(' ') => format!("-{rest}"),
            _ => trimmed.trim_start_matches('#').trim_start().to_owned(),
        };
        let mut rest = line.as_str();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[')
                && let Some(close) = after.find("](")
                && let Some(end) = after[close + 2..].find(')')
            {
                let text = &after[..close];
                let url = &after[close + 2..close + 2 + end];
                out.push_str(text);
                if !url.is_empty() && url != text {
                    out.push_str(" (");
                    out.push_str(url);
                    out.push(')');
                }
                rest = &after[close + 3 + end..];
                continue;
            }
            if let Some(after) = rest.strip_prefix("**").or_else(|| rest.strip_prefix("__")) {
                rest = after;
                continue;
            }
            if let Some(after) = rest.strip_prefix('`') {
                rest = after;
                continue;
            }
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
        }
    }
    out.trim().to_owned()
}

/// Does a customer's answer to an automatic answer only thank (so the case stays resolved),
/// rather than say it did not help or ask more (which reopens it)? Deliberately narrow: a
/// question, a negation or a long message is never a thank-you.
pub fn is_thanks(text: &str) -> bool {
    // Words of gratitude only: "great" or "super" alone are as often sarcastic.
    const THANKS: &[&str] = &[
        "thanks",
        "thank",
        "thx",
        "ty",
        "cheers",
        "appreciated",
        "merci",
        "danke",
        "gracias",
    ];
    const NOT: &[&str] = &[
        "not", "no", "nope", "didn't", "didnt", "doesn't", "doesnt", "don't", "dont", "still",
        "but", "however", "won't", "can't", "cant", "wrong", "useless", "isn't", "wasn't", "nicht",
        "nein", "pas",
    ];
    if text.contains('?') {
        return false;
    }
    // Phones type a curly apostrophe: "didn’t" is "didn't".
    let lower = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    !words.is_empty()
        && words.len() <= 12
        && words.iter().any(|w| THANKS.contains(w))
        && !words.iter().any(|w| NOT.contains(w) || w.ends_with("n't"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ArticleDraft {
        ArticleDraft {
            title: "  When does the game start? ".into(),
            body: "At 7 pm.".into(),
            tags: vec!["Sports".into(), "sports".into()],
            language: Some("EN".into()),
            public: true,
            questions: vec!["kick-off time".into(), "kick-off time".into()],
            ..Default::default()
        }
    }

    #[test]
    fn articles_are_trimmed_and_checked() {
        let a = draft().checked().unwrap();
        assert_eq!(a.title, "When does the game start?");
        assert_eq!(a.tags, ["sports"]);
        assert_eq!(a.language.as_deref(), Some("en"));
        assert_eq!(a.questions, ["kick-off time"]);
        let t = |s| Timestamp::from_unix_secs(s).unwrap();
        for (bad, f) in [
            (
                ArticleDraft {
                    title: " ".into(),
                    ..draft()
                },
                "title",
            ),
            (
                ArticleDraft {
                    body: "x".repeat(MAX_BODY + 1),
                    ..draft()
                },
                "body",
            ),
            (
                ArticleDraft {
                    language: Some("english".into()),
                    ..draft()
                },
                "language",
            ),
            (
                ArticleDraft {
                    language: Some("zz".into()),
                    ..draft()
                },
                "language",
            ),
            (
                ArticleDraft {
                    tags: vec![String::new()],
                    ..draft()
                },
                "tags[0]",
            ),
            (
                ArticleDraft {
                    body: "a\0b".into(),
                    ..draft()
                },
                "body",
            ),
            (
                ArticleDraft {
                    valid_from: Some(t(20)),
                    valid_until: Some(t(10)),
                    ..draft()
                },
                "valid_until",
            ),
        ] {
            assert_eq!(bad.checked().unwrap_err().field, f);
        }
        let game = ArticleDraft {
            valid_from: Some(t(10)),
            valid_until: Some(t(20)),
            ..draft()
        };
        assert!(!game.in_force(t(9)) && game.in_force(t(10)) && !game.in_force(t(20)));
        assert!(draft().in_force(t(0)));
    }

    #[test]
    fn imports_report_every_bad_line() {
        let text = [
            r#"{"type": "article", "title": "t", "body": "b", "id": "x", "version": 3}"#,
            "",
            r#"{"type": "article", "body": "no title"}"#,
            "{oops",
            r#"[1, 2]"#,
            r#"{"type": "recipe"}"#,
            r#"{"type": "canned", "name": "n", "text": "{{nope}}"}"#,
            r#"{"type": "article", "title": "t", "body": "b", "colour": "red"}"#,
        ]
        .join("\n");
        let errors = parse_import(&text).unwrap_err();
        let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (3, "title"),
                (4, ""),
                (5, ""),
                (6, "type"),
                (7, "text"),
                (8, "colour")
            ]
        );
        let ok = parse_import(r#"{"type": "canned", "name": "n", "text": "Hi {{agent.name}}"}"#)
            .unwrap();
        assert_eq!(ok[0].0, ImportKind::Canned);
        assert_eq!(ok[0].1["tags"], serde_json::json!([]));
    }

    #[test]
    fn canned_placeholders_are_known_and_filled() {
        let c = CannedDraft {
            name: "greeting".into(),
            text: "Hi {{contact.first_name}}, {{ agent.name }} from {{team.name}} here.".into(),
            ..Default::default()
        };
        let c = c.checked().unwrap();
        let ctx = Context {
            contact_name: Some("Ann Lee".into()),
            agent_name: Some("Bo".into()),
            team_name: Some("Support".into()),
            case_id: None,
        };
        assert_eq!(render(&c.text, &ctx), "Hi Ann, Bo from Support here.");
        assert_eq!(
            render("Hello {{contact.name}}!", &Context::default()),
            "Hello there!"
        );
        for bad in [
            "Hi {{customer}}",
            "Hi {{contact.name",
            "Hi {contact.first_name}}",
            "Hi {contact.name}, I am {{agent.name}}",
            "Hi {{contact.name}}}}",
            "Hi {{contact.name}}}",
            "Hi {{{contact.name}}",
        ] {
            let e = CannedDraft {
                name: "x".into(),
                text: bad.into(),
                ..Default::default()
            }
            .checked()
            .unwrap_err();
            assert_eq!(e.field, "text", "{bad}");
        }
        assert_eq!(placeholders("no placeholders").unwrap(), Vec::<&str>::new());
        assert_eq!(
            placeholders("Hi {{contact.first_name}}, {{agent.name}} here {braces} ok").unwrap(),
            ["contact.first_name", "agent.name"]
        );
        assert_eq!(render("a {{b", &Context::default()), "a {{b");
    }

    #[test]
    fn only_a_plain_thank_you_counts_as_thanks() {
        for yes in [
            "Thanks!",
            "thank you so much, that helped",
            "Perfect, cheers",
            "ty 🙏",
            "Danke",
        ] {
            assert!(is_thanks(yes), "{yes}");
        }
        for no in [
            "thanks but that didn't help",
            "Thanks, it didn\u{2019}t work",
            "Great, now I'm locked out",
            "Super annoyed",
            "Thanks, but my card is still blocked",
            "that did not help",
            "thanks? I asked about fees",
            "no thanks",
            "I need to speak to a person",
            "",
            "thanks thanks thanks thanks thanks thanks thanks and also my card has been charged twice",
        ] {
            assert!(!is_thanks(no), "{no}");
        }
    }

    #[test]
    fn markdown_reads_as_plain_text() {
        assert_eq!(
            plain_text(
                "## Opening hours\n\nWe are open **9 to 5**.\n* Mon-Fri\n* see [our page](https://x.test/h) or `call`"
            ),
            "Opening hours\n\nWe are open 9 to 5.\n- Mon-Fri\n- see our page (https://x.test/h) or call"
        );
        assert_eq!(
            plain_text("[https://a.test](https://a.test) and [broken"),
            "https://a.test and [broken"
        );
        assert_eq!(plain_text("ünïcödé *stays* 2 * 3"), "ünïcödé *stays* 2 * 3");
    }
}
