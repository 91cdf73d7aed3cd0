//! The playbook: an ordered set of rules, kept as TOML, that decides each case's purpose, team,
//! priority and more from what is known about the message. Pure: parsing, checking and
//! evaluation take data and return data.
//!
//! # Evaluation (deterministic)
//! Rules run in file order. A rule **fires** when every condition it states holds; a rule with
//! no conditions always fires. For single-valued actions (`purpose`, `team`, `assignee`,
//! `priority`, `require_approval`, `auto_answer`, `escalate`) the **first** rule that fired and
//! set the action wins: later rules cannot change it, so put specific rules first and the
//! catch-all last. `tags`, `skills` and `notify` accumulate over every rule that fired. A rule with
//! `then.stop = true` ends evaluation after it fires. Every fired rule is recorded with the
//! reasons its conditions held.
//!
//! # Format
//! ```toml
//! [[team]]
//! id = "pr"
//! name = "Marketing & PR"
//!
//! [[rule]]
//! name = "Outage or legal threat in public goes to PR"
//! when.public = true
//! when.text_any = ["outage", "lawsuit"]
//! then.purpose = "crisis"
//! then.team = "pr"
//! then.priority = "urgent"
//! ```
//! A `[[team]]` may also say how it assigns: `strategy` (`round_robin`, `least_loaded` or
//! `manual`, the default), `capacity` (open cases per member) and `overflow` (the team that
//! takes new cases when this one is full or closed) and `[team.hours]`, its business hours
//! (see [`crate::schedule`]); outside them the team is closed. A top-level `[hours]` table is
//! the workspace's business hours, which `when.business_hours` tests. `[[sla]]` tables declare
//! SLA policies (see [`crate::sla`]); the first that matches a case's purpose and priority
//! applies. `[guards]` says what public replies are checked for (`personal_data = "block"`,
//! `"redact"` or `"allow"`; `banned_phrases = [...]`; see [`crate::guard`]). Each
//! `[[approval]]` names a reviewer team (`reviewers`) whose approval replies need, optionally
//! only on cases of a `team`, `channel`, `purpose` or `public` (or private) conversation; a
//! rule's `then.require_approval` asks the same for the cases it routes. `[[purpose]]` declares
//! a custom purpose (`id`, optional `name` and `description`), registered in the workspace when
//! the playbook is applied. `[lifecycle]` sets `reopen_within` (default `"7d"`): how long after
//! resolution a customer's message reopens the case rather than opening a new one. `[csat]`
//! asks the customer one question after a person resolves a case (`question`; optional
//! `purposes` and `public = true`; see [`crate::csat`]).
//! Conditions (`when.*`): `channel_kind_any`, `channel_any` (channel ids or names), `public`, `text_any` (words or
//! phrases, case-insensitive, on word boundaries), `text_regex`, `intent_any`,
//! `purpose_any` (the understood purpose), `min_confidence` (of the intent, or else of the
//! understood purpose), `sentiment_any` (`negative`, `neutral`, `positive`), `language_any`
//! (codes such as `en`, from [`crate::language::KNOWN`]), `personal_data_any` (what the
//! message carries: `card_number`, `iban`, `national_id`, `email`, `phone`, or a national id's
//! scheme such as `br_cpf`), `author_tags_any` (e.g. `vip`), `min_followers`, `verified`, `min_open_cases`,
//! `business_hours`. Actions (`then.*`): `purpose`, `team`, `assignee` (a username), `priority`, `tags`,
//! `skills` (the assignee must have them all),
//! `require_approval` (a reviewer team), `auto_answer`, `notify` (a URL), `escalate`, `stop`.
//!
//! `then.auto_answer = true` lets Switchboard answer the case's first message on its own with
//! the best public article when retrieval is confident enough; `false` forbids it (and, first
//! rule wins, overrides later rules). As a table it says more:
//! `then.auto_answer = { min_confidence = 0.9, on_negative = true, on_crisis = true }`; without
//! `on_negative`/`on_crisis` a negative or crisis case is never answered automatically (see
//! [`AutoAnswer`]).

use crate::assign::Strategy;
use crate::guard::{GuardPolicy, OnPersonalData};
use crate::schedule::{BusinessHours, HoursSpec};
use crate::sla::{SlaPolicy, SlaSpec};
use crate::{Priority, Purpose, Tag};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use std::collections::BTreeSet;
use toml::Spanned;

/// The kinds of personal data `when.personal_data_any` names (as the understanding step
/// writes them).
pub const PERSONAL_DATA_KINDS: [&str; 5] = ["card_number", "iban", "national_id", "email", "phone"];

/// A problem in a playbook file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlaybookError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// A team the playbook declares. What the file states about a team is the whole truth:
/// an unstated setting takes its default (manual assignment, no capacity limit, no overflow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamDecl {
    pub id: String,
    pub name: String,
    pub strategy: Strategy,
    /// Most open cases one member may hold before assignment skips them.
    pub capacity: Option<u32>,
    /// Where new cases go when this team is full (nobody can take one) or closed.
    pub overflow: Option<String>,
    /// When the team works (checked); `None`: always.
    pub hours: Option<HoursSpec>,
}

/// Replies on matching cases wait for a reviewer of `reviewers` (a team) before they are
/// sent. Every stated filter must hold; a policy with none applies to every reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPolicy {
    pub reviewers: String,
    /// The case's team (slug).
    pub team: Option<String>,
    /// The channel's id or name.
    pub channel: Option<String>,
    pub purpose: Option<Purpose>,
    pub public: Option<bool>,
}

impl ApprovalPolicy {
    pub fn applies(
        &self,
        team: Option<&str>,
        channel: (&str, &str),
        purpose: &Purpose,
        public: bool,
    ) -> bool {
        self.team.as_deref().is_none_or(|t| Some(t) == team)
            && self
                .channel
                .as_deref()
                .is_none_or(|c| c == channel.0 || c.eq_ignore_ascii_case(channel.1))
            && self.purpose.as_ref().is_none_or(|p| p == purpose)
            && self.public.is_none_or(|p| p == public)
    }
}

/// A checked playbook, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// What public replies are checked for before they are sent (`[guards]`).
    pub guards: GuardPolicy,
    /// Which replies need a reviewer's approval (`[[approval]]`), in file order.
    pub approvals: Vec<ApprovalPolicy>,
    /// The workspace's business hours (`[hours]`), for `when.business_hours`; default: always.
    pub hours: BusinessHours,
    /// SLA policies in file order (the first that matches a case applies).
    pub slas: Vec<SlaPolicy>,
    pub teams: Vec<TeamDecl>,
    /// Every purpose rules may use: the built-in ones, those the file declares, and those the
    /// workspace had registered.
    pub purposes: Vec<Purpose>,
    /// The custom purposes the file declares (`[[purpose]]`), registered when it is applied.
    pub purpose_decls: Vec<PurposeDecl>,
    pub lifecycle: Lifecycle,
    /// The satisfaction survey after a person resolves a case (`[csat]`), if any.
    pub csat: Option<crate::csat::CsatPolicy>,
    pub rules: Vec<Rule>,
}

/// A custom purpose the playbook declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeDecl {
    pub id: Purpose,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// How cases live (`[lifecycle]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// A customer message within this long (microseconds) after resolution reopens the case;
    /// later, a new case opens. `reopen_within = "7d"` by default.
    pub reopen_within: i64,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            reopen_within: crate::case::DEFAULT_REOPEN_WINDOW_MICROS,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    /// 1-based line of the rule in its file.
    pub line: usize,
    pub when: Conditions,
    pub then: Actions,
}

#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub channel_kind_any: Option<Vec<String>>,
    pub channel_any: Option<Vec<String>>,
    pub public: Option<bool>,
    pub text_any: Option<Vec<String>>,
    pub text_regex: Option<Regex>,
    pub intent_any: Option<Vec<String>>,
    pub purpose_any: Option<Vec<Purpose>>,
    pub min_confidence: Option<f64>,
    pub sentiment_any: Option<Vec<Sentiment>>,
    pub language_any: Option<Vec<String>>,
    pub personal_data_any: Option<Vec<String>>,
    pub author_tags_any: Option<Vec<String>>,
    pub min_followers: Option<u64>,
    pub verified: Option<bool>,
    pub min_open_cases: Option<u32>,
    pub business_hours: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actions {
    pub purpose: Option<Purpose>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub priority: Option<Priority>,
    pub tags: Vec<Tag>,
    /// Skills the assignee must have (all of them).
    pub skills: Vec<String>,
    pub require_approval: Option<String>,
    /// Whether (and how) to answer automatically; `Some(None)`: a rule forbade it.
    pub auto_answer: Option<Option<AutoAnswer>>,
    /// Signed outbound webhooks to notify (accumulated over the rules that fired).
    pub notify: Vec<String>,
    pub escalate: Option<bool>,
    pub stop: bool,
}

/// When a rule lets Switchboard answer on its own.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AutoAnswer {
    /// The least retrieval confidence (0 to 1) of the best article; `None`: the default,
    /// [`AutoAnswer::DEFAULT_MIN_CONFIDENCE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<f64>,
    /// Answer even when the message's sentiment is negative.
    #[serde(default)]
    pub on_negative: bool,
    /// Answer even when the case's purpose is `crisis`.
    #[serde(default)]
    pub on_crisis: bool,
}

/// Why a case that a rule allowed to be answered automatically is left to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withheld {
    Crisis,
    Negative,
}

impl Withheld {
    pub fn as_str(self) -> &'static str {
        match self {
            Withheld::Crisis => "crisis",
            Withheld::Negative => "negative_sentiment",
        }
    }
}

impl AutoAnswer {
    /// Measured on banking77 (`docs/KNOWLEDGE.md`): at 0.95 about 1% of automatic answers
    /// are wrong.
    pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.95;

    pub fn min_confidence(&self) -> f64 {
        self.min_confidence.unwrap_or(Self::DEFAULT_MIN_CONFIDENCE)
    }

    /// May a case of `purpose` whose message reads as `sentiment` be answered automatically?
    pub fn allows(&self, purpose: &Purpose, sentiment: Option<Sentiment>) -> Result<(), Withheld> {
        if purpose.as_str() == "crisis" && !self.on_crisis {
            return Err(Withheld::Crisis);
        }
        if sentiment == Some(Sentiment::Negative) && !self.on_negative {
            return Err(Withheld::Negative);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub fn parse(s: &str) -> Option<Sentiment> {
        match s {
            "negative" => Some(Sentiment::Negative),
            "neutral" => Some(Sentiment::Neutral),
            "positive" => Some(Sentiment::Positive),
            _ => None,
        }
    }
}

/// What is known about a message when it is routed.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub channel_id: String,
    pub channel_name: String,
    pub channel_kind: String,
    pub public: bool,
    pub text: String,
    /// The understood intent and its confidence.
    pub intent: Option<(String, f64)>,
    /// The understood purpose and its confidence.
    pub purpose: Option<(Purpose, f64)>,
    pub sentiment: Option<Sentiment>,
    pub language: Option<String>,
    /// The personal data the message carries, each by its kind (`card_number`) and, for a
    /// national id with one, its scheme (`br_cpf`).
    pub personal_data: Vec<String>,
    pub author_tags: Vec<String>,
    pub followers: Option<u64>,
    pub verified: bool,
    pub open_cases: u32,
    pub in_business_hours: Option<bool>,
}

/// A rule that fired, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub rule: String,
    pub line: usize,
    pub reasons: Vec<String>,
}

/// The outcome of evaluating a playbook for one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub actions: Actions,
    pub fired: Vec<Fired>,
}

// ----- parsing -------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    guards: Option<Spanned<RawGuards>>,
    #[serde(default)]
    approval: Vec<Spanned<RawApproval>>,
    hours: Option<Spanned<HoursSpec>>,
    #[serde(default)]
    sla: Vec<Spanned<SlaSpec>>,
    #[serde(default)]
    team: Vec<Spanned<RawTeam>>,
    #[serde(default)]
    purpose: Vec<Spanned<RawPurpose>>,
    lifecycle: Option<Spanned<RawLifecycle>>,
    csat: Option<Spanned<RawCsat>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsat {
    question: Spanned<String>,
    #[serde(default)]
    purposes: Vec<Spanned<String>>,
    #[serde(default)]
    public: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    id: Spanned<String>,
    name: Spanned<String>,
    strategy: Option<Spanned<String>>,
    capacity: Option<Spanned<u32>>,
    overflow: Option<Spanned<String>>,
    hours: Option<Spanned<HoursSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuards {
    personal_data: Option<OnPersonalData>,
    #[serde(default)]
    banned_phrases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    reviewers: Spanned<String>,
    team: Option<Spanned<String>>,
    channel: Option<String>,
    purpose: Option<Spanned<String>>,
    public: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    id: Spanned<String>,
    name: Option<Spanned<String>>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLifecycle {
    reopen_within: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    #[serde(default)]
    when: RawWhen,
    #[serde(default)]
    then: RawThen,
}

type List = Option<Spanned<Vec<Spanned<String>>>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    channel_kind_any: List,
    channel_any: List,
    public: Option<bool>,
    text_any: List,
    text_regex: Option<Spanned<String>>,
    intent_any: List,
    purpose_any: List,
    min_confidence: Option<Spanned<f64>>,
    sentiment_any: List,
    language_any: List,
    personal_data_any: List,
    author_tags_any: List,
    min_followers: Option<u64>,
    verified: Option<bool>,
    min_open_cases: Option<u32>,
    business_hours: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawThen {
    purpose: Option<Spanned<String>>,
    team: Option<Spanned<String>>,
    assignee: Option<Spanned<String>>,
    priority: Option<Spanned<String>>,
    tags: List,
    skills: List,
    require_approval: Option<Spanned<String>>,
    auto_answer: Option<Spanned<toml::Value>>,
    notify: Option<Spanned<String>>,
    escalate: Option<bool>,
    stop: Option<bool>,
}

impl RawThen {
    /// States no action at all (as opposed to stating invalid ones).
    fn is_empty(&self) -> bool {
        self.purpose.is_none()
            && self.team.is_none()
            && self.assignee.is_none()
            && self.priority.is_none()
            && self.tags.is_none()
            && self.skills.is_none()
            && self.require_approval.is_none()
            && self.auto_answer.is_none()
            && self.notify.is_none()
            && self.escalate.is_none()
            && self.stop.is_none()
    }
}

/// Byte offset → 1-based (line, column in characters).
fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The TOML reader's "invalid type: string \"ten\", expected u32" in an admin's words, naming
/// the key: `capacity: must be a whole number, not the text "ten"`. Other messages as they are.
fn plain_type_error(source: &str, offset: usize, message: &str) -> String {
    let Some((got, expected)) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|m| m.rsplit_once(", expected "))
    else {
        return message.to_owned();
    };
    let expected = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" => "text in quotes",
        "a sequence" => "a list in [ ]",
        other => other,
    };
    let got = if let Some(text) = got.strip_prefix("string ") {
        format!("the text {text}")
    } else if let Some(n) = got.strip_prefix("integer ") {
        format!("the number {}", n.trim_matches('`'))
    } else if let Some(n) = got.strip_prefix("floating point ") {
        format!("the number {}", n.trim_matches('`'))
    } else if let Some(b) = got.strip_prefix("boolean ") {
        b.trim_matches('`').to_owned()
    } else {
        got.to_owned()
    };
    let start = source[..offset.min(source.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    // The key just before the value: `capacity = "ten"`, or `public` in `when = { public = 1 }`.
    let key = source[start..offset.min(source.len())]
        .rsplit_once('=')
        .map(|(k, _)| k.rsplit(['{', ',']).next().unwrap_or(k).trim())
        .filter(|k| !k.is_empty());
    match key {
        Some(k) => format!("{k}: must be {expected}, not {got}"),
        None => format!("must be {expected}, not {got}"),
    }
}

/// At most this many problems of the kind [`read_raw`] can read past.
const MAX_READ_PROBLEMS: usize = 20;

/// The file as TOML, into the playbook's shape. The TOML reader stops at its first problem;
/// when that is a value of the wrong type or an unknown key, its line is set aside (blanked,
/// so every other line and column stays where it is) and the file read again, so one check
/// lists every such problem instead of one at a time. A problem the setting aside could have
/// caused (a key now missing, a broken list) ends the reading unreported; the checks after
/// it run once the file reads whole.
fn read_raw(source: &str) -> Result<RawPlaybook, Vec<PlaybookError>> {
    let mut text = source.to_owned();
    let mut problems = Vec::new();
    let mut set_aside: Vec<String> = Vec::new();
    let mut replaced: Vec<usize> = Vec::new();
    loop {
        let e = match toml::from_str::<RawPlaybook>(&text) {
            Ok(raw) if problems.is_empty() => return Ok(raw),
            Ok(_) => return Err(in_file_order(problems)),
            Err(e) => e,
        };
        let message = e.message().trim();
        let ours = !set_aside.is_empty()
            && (text.parse::<toml::Table>().is_err()
                || message
                    .strip_prefix("missing field `")
                    .and_then(|m| m.strip_suffix('`'))
                    .is_some_and(|f| set_aside.iter().any(|k| k == f)));
        let span = e.span().unwrap_or(0..0);
        // A problem with a value put in place of another is ours too.
        if ours || replaced.contains(&span.start) {
            return Err(in_file_order(problems));
        }
        let (line, column) = position(&text, span.start);
        problems.push(PlaybookError {
            line,
            column,
            message: plain_type_error(&text, span.start, message),
        });
        let readable_past = [
            "invalid type:",
            "invalid value:",
            "invalid length",
            "unknown field",
            "unknown variant",
        ]
        .iter()
        .any(|p| message.starts_with(p));
        if !readable_past {
            return Err(in_file_order(problems));
        }
        if problems.len() >= MAX_READ_PROBLEMS {
            let mut problems = in_file_order(problems);
            let last = problems.last().map_or((1, 1), |p| (p.line, p.column));
            problems.push(PlaybookError {
                line: last.0,
                column: last.1,
                message: format!("… and perhaps more: the first {MAX_READ_PROBLEMS} are listed; fix them and check again"),
            });
            return Err(problems);
        }
        let start = span.start.min(text.len());
        let end = span.end.clamp(start, text.len());
        // A value of the wrong type: a value of the type asked for takes its place (a
        // required key stays, so later tables are still read). An unknown key, or a type
        // with no simple value: its whole line is set aside.
        if let Some(value) = placeholder(message)
            && end > start
            && !text[start..end].contains('\n')
        {
            let padding = (end - start).saturating_sub(value.len());
            text.replace_range(start..end, &format!("{value}{}", " ".repeat(padding)));
            replaced.push(start);
            continue;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        let line_text = &text[line_start..line_end];
        if line_text.trim().is_empty() || line_text.trim_start().starts_with('[') {
            return Err(in_file_order(problems));
        }
        // Every part of the key: `when.public` set aside may leave `when` missing.
        if let Some((key, _)) = line_text.split_once('=') {
            set_aside.extend(
                key.split(['.', '{', ','])
                    .map(|k| k.trim().trim_matches('"').to_owned()),
            );
        }
        // Blank, line breaks kept: every later problem keeps its line.
        let blank: String = line_text
            .chars()
            .flat_map(|c| {
                let keep = matches!(c, '\n' | '\r');
                std::iter::repeat_n(
                    if keep { c } else { ' ' },
                    if keep { 1 } else { c.len_utf8() },
                )
            })
            .collect();
        text.replace_range(line_start..line_end, &blank);
    }
}

/// A TOML value of the type a "…, expected T" message asks for, no longer than it must be.
fn placeholder(message: &str) -> Option<&'static str> {
    let (_, expected) = message.rsplit_once(", expected ")?;
    Some(match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => "0",
        "f32" | "f64" => "0e0",
        "a boolean" => "false",
        "a string" => "\"\"",
        "a sequence" => "[]",
        _ => return None,
    })
}

fn in_file_order(mut problems: Vec<PlaybookError>) -> Vec<PlaybookError> {
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

struct Errors<'a> {
    source: &'a str,
    list: Vec<PlaybookError>,
}

impl Errors<'_> {
    fn at(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = position(self.source, offset);
        self.list.push(PlaybookError {
            line,
            column,
            message: message.into(),
        });
    }
}

/// Parses and checks a playbook. `known_teams` are team ids that exist in the workspace
/// already (the file may also declare its own). Returns every problem found, in file order.
pub fn parse(source: &str, known_teams: &[String]) -> Result<Playbook, Vec<PlaybookError>> {
    parse_in(source, known_teams, &[])
}

/// [`parse`], where `known_purposes` are custom purposes the workspace has registered already
/// (usable without a `[[purpose]]` declaration in the file).
pub fn parse_in(
    source: &str,
    known_teams: &[String],
    known_purposes: &[Purpose],
) -> Result<Playbook, Vec<PlaybookError>> {
    parse_with(source, known_teams, known_purposes, Checks::All)
}

/// [`parse_in`] for a playbook already in force, as stored: checks added since it was applied
/// do not stop it from loading (routing and replies need it). A `language_any` code that
/// detection never gives (`"english"`, accepted before codes were checked) is kept as written,
/// matching nothing, as it did.
pub fn parse_stored(
    source: &str,
    known_teams: &[String],
    known_purposes: &[Purpose],
) -> Result<Playbook, Vec<PlaybookError>> {
    parse_with(source, known_teams, known_purposes, Checks::AsStored)
}

/// Which checks a parse makes.
#[derive(Clone, Copy, PartialEq)]
enum Checks {
    All,
    /// All but those added after a stored playbook may have been applied.
    AsStored,
}

fn parse_with(
    source: &str,
    known_teams: &[String],
    known_purposes: &[Purpose],
    checks: Checks,
) -> Result<Playbook, Vec<PlaybookError>> {
    let raw = read_raw(source)?;
    let mut errs = Errors {
        source,
        list: Vec::new(),
    };

    let mut teams = Vec::new();
    let mut team_ids: BTreeSet<String> = known_teams.iter().cloned().collect();
    for t in &raw.team {
        let t = t.get_ref();
        let id = t.id.get_ref();
        if !is_slug(id) {
            errs.at(
                t.id.span().start,
                format!("team id {id:?} must be a lowercase slug (a-z, 0-9, _, -)"),
            );
        } else if teams.iter().any(|d: &TeamDecl| &d.id == id) {
            errs.at(t.id.span().start, format!("team {id:?} is declared twice"));
        }
        if crate::Name::parse(t.name.get_ref()).is_err() {
            errs.at(
                t.name.span().start,
                "a team name is 1 to 200 visible characters",
            );
        }
        let strategy = t
            .strategy
            .as_ref()
            .map_or(Ok(Strategy::Manual), |s| {
                Strategy::parse(s.get_ref()).map_err(|e| errs.at(s.span().start, e.0))
            })
            .unwrap_or_default();
        if let Some(c) = &t.capacity
            && *c.get_ref() == 0
        {
            errs.at(
                c.span().start,
                "capacity must be at least 1 (leave it out for no limit)",
            );
        }
        let hours = t.hours.as_ref().and_then(|h| {
            check_hours(h, &format!("team {id:?} hours"), &mut errs).map(|_| h.get_ref().clone())
        });
        team_ids.insert(id.clone());
        teams.push(TeamDecl {
            id: id.clone(),
            name: t.name.get_ref().trim().to_owned(),
            strategy,
            capacity: t.capacity.as_ref().map(|c| *c.get_ref()),
            overflow: t.overflow.as_ref().map(|o| o.get_ref().clone()),
            hours,
        });
    }
    // Overflow may name any team, declared before or after, but not the team itself.
    for t in &raw.team {
        let t = t.get_ref();
        if let Some(o) = &t.overflow {
            if o.get_ref() == t.id.get_ref() {
                errs.at(o.span().start, "a team cannot overflow to itself");
            } else if !team_ids.contains(o.get_ref()) {
                errs.at(
                    o.span().start,
                    format!(
                        "overflow: unknown team {:?}; declare it with [[team]]",
                        o.get_ref()
                    ),
                );
            }
        }
    }

    let mut purposes: Vec<Purpose> = Purpose::BUILT_IN
        .iter()
        .filter_map(|p| Purpose::parse(p).ok())
        .collect();
    let mut purpose_decls = Vec::new();
    for p in &raw.purpose {
        let p = p.get_ref();
        let id = p.id.get_ref();
        match Purpose::parse(id) {
            Ok(pp) if !purposes.contains(&pp) => {
                let name = p.name.as_ref().map(|n| n.get_ref().trim().to_owned());
                if let Some(n) = &p.name
                    && crate::Name::parse(n.get_ref()).is_err()
                {
                    errs.at(
                        n.span().start,
                        "a purpose name is 1 to 200 visible characters",
                    );
                }
                purposes.push(pp.clone());
                purpose_decls.push(PurposeDecl {
                    id: pp,
                    name,
                    description: p.description.clone(),
                });
            }
            Ok(_) => errs.at(
                p.id.span().start,
                format!("purpose {id:?} is declared twice or built in"),
            ),
            Err(e) => errs.at(p.id.span().start, e.0),
        }
    }
    for p in known_purposes {
        if !purposes.contains(p) {
            purposes.push(p.clone());
        }
    }
    let lifecycle = match &raw.lifecycle {
        Some(l) => {
            let mut out = Lifecycle::default();
            if let Some(w) = &l.get_ref().reopen_within {
                match crate::sla::parse_duration(w.get_ref()) {
                    Ok(micros) => out.reopen_within = micros,
                    Err(e) => errs.at(w.span().start, format!("reopen_within: {e}")),
                }
            }
            out
        }
        None => Lifecycle::default(),
    };

    let csat = raw.csat.as_ref().map(|c| {
        let c = c.get_ref();
        let question = c.question.get_ref().trim().to_owned();
        if question.is_empty() || question.chars().count() > 500 {
            errs.at(
                c.question.span().start,
                "csat.question: must be 1 to 500 characters".to_owned(),
            );
        }
        let purposes = c
            .purposes
            .iter()
            .filter_map(|p| match Purpose::parse(p.get_ref()) {
                Ok(pp) if purposes.contains(&pp) => Some(pp),
                _ => {
                    errs.at(
                        p.span().start,
                        format!("csat.purposes: unknown purpose {:?}", p.get_ref()),
                    );
                    None
                }
            })
            .collect();
        crate::csat::CsatPolicy {
            question,
            purposes,
            public: c.public,
        }
    });

    let hours = raw
        .hours
        .as_ref()
        .and_then(|h| check_hours(h, "hours", &mut errs))
        .unwrap_or_default();
    let mut slas = Vec::new();
    for spec in &raw.sla {
        let at = spec.span().start;
        let spec = spec.get_ref();
        match SlaPolicy::from_spec(spec) {
            Ok(policy) => {
                if let Some(p) = &policy.purpose
                    && !purposes.contains(p)
                {
                    errs.at(at, format!("sla {:?}: unknown purpose \"{p}\"", spec.name));
                }
                for team in policy.referenced_teams() {
                    if !team_ids.contains(team) {
                        errs.at(
                            at,
                            format!("sla {:?}: on_breach: unknown team {team:?}", spec.name),
                        );
                    }
                }
                slas.push(policy);
            }
            Err(e) => errs.at(at, format!("sla {:?}: {e}", spec.name)),
        }
    }

    let guards = match &raw.guards {
        Some(g) => {
            let r = g.get_ref();
            GuardPolicy::new(r.personal_data.unwrap_or_default(), &r.banned_phrases).unwrap_or_else(
                |e| {
                    errs.at(g.span().start, format!("guards: {e}"));
                    GuardPolicy::default()
                },
            )
        }
        None => GuardPolicy::default(),
    };
    let mut approvals = Vec::new();
    for a in &raw.approval {
        let a = a.get_ref();
        let mut team_ref = |t: &Spanned<String>, what: &str| {
            if !team_ids.contains(t.get_ref()) {
                errs.at(
                    t.span().start,
                    format!(
                        "{what}: unknown team {:?}; declare it with [[team]]",
                        t.get_ref()
                    ),
                );
            }
        };
        team_ref(&a.reviewers, "reviewers");
        if let Some(t) = &a.team {
            team_ref(t, "team");
        }
        let purpose = a
            .purpose
            .as_ref()
            .and_then(|p| match Purpose::parse(p.get_ref()) {
                Ok(pp) if purposes.contains(&pp) => Some(pp),
                _ => {
                    errs.at(p.span().start, format!("unknown purpose {:?}", p.get_ref()));
                    None
                }
            });
        approvals.push(ApprovalPolicy {
            reviewers: a.reviewers.get_ref().clone(),
            team: a.team.as_ref().map(|t| t.get_ref().clone()),
            channel: a.channel.clone(),
            purpose,
            public: a.public,
        });
    }

    let mut rules = Vec::new();
    let mut names = BTreeSet::new();
    for r in &raw.rule {
        let rule_at = r.span().start;
        let r = r.get_ref();
        let name = r.name.get_ref().trim().to_owned();
        if name.is_empty() {
            errs.at(r.name.span().start, "a rule needs a name");
        } else if !names.insert(name.clone()) {
            errs.at(
                r.name.span().start,
                format!("two rules are named {name:?}; names say which rule fired"),
            );
        }
        let when = check_when(&r.when, &purposes, checks, &mut errs);
        let then = check_then(&r.then, &purposes, &team_ids, &mut errs);
        if r.then.is_empty() {
            errs.at(
                r.name.span().start,
                format!("rule {name:?} has no `then` actions: it would do nothing"),
            );
        }
        rules.push(Rule {
            name,
            line: position(source, rule_at).0,
            when,
            then,
        });
    }
    if errs.list.is_empty() {
        Ok(Playbook {
            guards,
            approvals,
            hours,
            slas,
            teams,
            purposes,
            purpose_decls,
            lifecycle,
            csat,
            rules,
        })
    } else {
        errs.list.sort_by_key(|e| (e.line, e.column));
        Err(errs.list)
    }
}

fn check_hours(h: &Spanned<HoursSpec>, what: &str, errs: &mut Errors<'_>) -> Option<BusinessHours> {
    match BusinessHours::from_spec(h.get_ref()) {
        Ok(b) => Some(b),
        Err(e) => {
            errs.at(h.span().start, format!("{what}: {e}"));
            None
        }
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn strings(list: &List) -> Option<Vec<String>> {
    list.as_ref()
        .map(|l| l.get_ref().iter().map(|s| s.get_ref().clone()).collect())
}

fn check_when(
    w: &RawWhen,
    purposes: &[Purpose],
    checks: Checks,
    errs: &mut Errors<'_>,
) -> Conditions {
    let text_regex = w.text_regex.as_ref().and_then(|r| {
        match RegexBuilder::new(r.get_ref())
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
        {
            Ok(re) => Some(re),
            Err(e) => {
                let why = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("invalid")
                    .trim()
                    .to_owned();
                errs.at(r.span().start, format!("bad regex: {why}"));
                None
            }
        }
    });
    if let Some(c) = &w.min_confidence
        && !(0.0..=1.0).contains(c.get_ref())
    {
        errs.at(c.span().start, "min_confidence must be between 0 and 1");
    }
    let mut each = |list: &List, what: &str, ok: &dyn Fn(&str) -> bool| {
        if let Some(l) = list {
            if l.get_ref().is_empty() {
                errs.at(l.span().start, format!("{what} must not be empty"));
            }
            for s in l.get_ref() {
                if !ok(s.get_ref()) {
                    errs.at(
                        s.span().start,
                        format!("{what}: {:?} is not valid", s.get_ref()),
                    );
                }
            }
        }
    };
    each(
        &w.sentiment_any,
        "sentiment_any (negative, neutral, positive)",
        &|s| Sentiment::parse(s).is_some(),
    );
    each(
        &w.purpose_any,
        "purpose_any (a built-in or declared purpose)",
        &|s| Purpose::parse(s).is_ok_and(|p| purposes.contains(&p)),
    );
    each(&w.text_any, "text_any", &|s| !s.trim().is_empty());
    each(&w.intent_any, "intent_any", &|s| !s.trim().is_empty());
    each(&w.channel_kind_any, "channel_kind_any", &|s| {
        !s.trim().is_empty()
    });
    each(&w.channel_any, "channel_any", &|s| !s.trim().is_empty());
    each(&w.language_any, "language_any", &|_| true);
    each(
        &w.personal_data_any,
        &format!(
            "personal_data_any ({}, or a national id's scheme: {})",
            PERSONAL_DATA_KINDS.join(", "),
            crate::guard::IdScheme::codes().join(", ")
        ),
        &|s| PERSONAL_DATA_KINDS.contains(&s) || crate::guard::IdScheme::by_code(s).is_some(),
    );
    each(&w.author_tags_any, "author_tags_any", &|s| {
        !s.trim().is_empty()
    });
    if let Some(l) = &w.language_any
        && checks == Checks::All
    {
        for s in l.get_ref() {
            if let Err(e) = crate::language::parse(s.get_ref()) {
                errs.at(s.span().start, format!("language_any: {e}"));
            }
        }
    }
    Conditions {
        channel_kind_any: strings(&w.channel_kind_any),
        channel_any: strings(&w.channel_any),
        public: w.public,
        text_any: strings(&w.text_any).map(|v| v.into_iter().map(|s| s.to_lowercase()).collect()),
        text_regex,
        intent_any: strings(&w.intent_any),
        purpose_any: strings(&w.purpose_any)
            .map(|v| v.iter().filter_map(|s| Purpose::parse(s).ok()).collect()),
        min_confidence: w.min_confidence.as_ref().map(|c| *c.get_ref()),
        sentiment_any: strings(&w.sentiment_any)
            .map(|v| v.iter().filter_map(|s| Sentiment::parse(s)).collect()),
        // (A code detection never gives stays as written, lower-cased: it matches nothing.)
        language_any: strings(&w.language_any).map(|v| {
            v.iter()
                .map(|s| {
                    crate::language::parse(s)
                        .map_or_else(|_| s.trim().to_lowercase(), str::to_owned)
                })
                .collect()
        }),
        personal_data_any: strings(&w.personal_data_any),
        author_tags_any: strings(&w.author_tags_any)
            .map(|v| v.into_iter().map(|s| s.to_lowercase()).collect()),
        min_followers: w.min_followers,
        verified: w.verified,
        min_open_cases: w.min_open_cases,
        business_hours: w.business_hours,
    }
}

fn check_then(
    t: &RawThen,
    purposes: &[Purpose],
    teams: &BTreeSet<String>,
    errs: &mut Errors<'_>,
) -> Actions {
    let purpose = t
        .purpose
        .as_ref()
        .and_then(|p| match Purpose::parse(p.get_ref()) {
            Ok(pp) if purposes.contains(&pp) => Some(pp),
            _ => {
                errs.at(
                    p.span().start,
                    format!(
                        "unknown purpose {:?}; declare it with [[purpose]] or use a built-in one",
                        p.get_ref()
                    ),
                );
                None
            }
        });
    let mut team_ref = |t: &Option<Spanned<String>>, what: &str| {
        t.as_ref().and_then(|team| {
            if teams.contains(team.get_ref()) {
                Some(team.get_ref().clone())
            } else {
                errs.at(
                    team.span().start,
                    format!(
                        "{what}: unknown team {:?}; declare it with [[team]]",
                        team.get_ref()
                    ),
                );
                None
            }
        })
    };
    let team = team_ref(&t.team, "team");
    let require_approval = team_ref(&t.require_approval, "require_approval");
    let priority = t
        .priority
        .as_ref()
        .and_then(|p| match Priority::parse(p.get_ref()) {
            Ok(pr) => Some(pr),
            Err(e) => {
                errs.at(p.span().start, e.0);
                None
            }
        });
    let mut tags = Vec::new();
    if let Some(list) = &t.tags {
        for s in list.get_ref() {
            match Tag::parse(s.get_ref()) {
                Ok(tag) => tags.push(tag),
                Err(e) => errs.at(s.span().start, e.0),
            }
        }
    }
    let mut skills = Vec::new();
    if let Some(list) = &t.skills {
        for s in list.get_ref() {
            let skill = s.get_ref().trim().to_lowercase();
            if skill.is_empty() || skill.len() > 60 || skill.contains(char::is_control) {
                errs.at(s.span().start, "a skill is 1 to 60 visible characters");
            } else if !skills.contains(&skill) {
                skills.push(skill);
            }
        }
    }
    let notify = t.notify.as_ref().and_then(|n| {
        let u = n.get_ref();
        if (u.starts_with("http://") || u.starts_with("https://"))
            && !u.contains(char::is_whitespace)
        {
            Some(u.clone())
        } else {
            errs.at(n.span().start, "notify must be an http:// or https:// URL");
            None
        }
    });
    Actions {
        purpose,
        team,
        assignee: t.assignee.as_ref().map(|a| a.get_ref().clone()),
        priority,
        tags,
        skills,
        require_approval,
        auto_answer: t.auto_answer.as_ref().and_then(|a| auto_answer(a, errs)),
        notify: notify.into_iter().collect(),
        escalate: t.escalate,
        stop: t.stop.unwrap_or(false),
    }
}

/// `then.auto_answer`: `true`, `false`, or a table of [`AutoAnswer`]'s fields.
fn auto_answer(v: &Spanned<toml::Value>, errs: &mut Errors<'_>) -> Option<Option<AutoAnswer>> {
    let at = v.span().start;
    match v.get_ref() {
        toml::Value::Boolean(true) => Some(Some(AutoAnswer {
            min_confidence: None,
            on_negative: false,
            on_crisis: false,
        })),
        toml::Value::Boolean(false) => Some(None),
        toml::Value::Table(t) => {
            let mut a = AutoAnswer {
                min_confidence: None,
                on_negative: false,
                on_crisis: false,
            };
            for (k, val) in t {
                match (k.as_str(), val) {
                    ("min_confidence", toml::Value::Float(f)) if (0.0..=1.0).contains(f) => {
                        a.min_confidence = Some(*f)
                    }
                    ("min_confidence", toml::Value::Integer(i)) if (0..=1).contains(i) => {
                        a.min_confidence = Some(*i as f64)
                    }
                    ("min_confidence", _) => {
                        errs.at(at, "auto_answer.min_confidence is a number from 0.0 to 1.0");
                        return None;
                    }
                    ("on_negative", toml::Value::Boolean(b)) => a.on_negative = *b,
                    ("on_crisis", toml::Value::Boolean(b)) => a.on_crisis = *b,
                    ("on_negative" | "on_crisis", _) => {
                        errs.at(at, format!("auto_answer.{k} is true or false"));
                        return None;
                    }
                    _ => {
                        errs.at(
                            at,
                            format!(
                                "auto_answer has no field {k:?}; expected min_confidence, on_negative, on_crisis"
                            ),
                        );
                        return None;
                    }
                }
            }
            Some(Some(a))
        }
        _ => {
            errs.at(
                at,
                "auto_answer is true, false, or a table { min_confidence, on_negative, on_crisis }",
            );
            None
        }
    }
}

// ----- evaluation ----------------------------------------------------------------------------

/// Does `text` (lowercase) contain `phrase` (lowercase) starting and ending on word
/// boundaries?
fn contains_phrase(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(i, m)| {
        let before = text[..i].chars().next_back();
        let after = text[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The reasons every condition of `c` holds for `f`, or `None` if one does not.
fn holds(c: &Conditions, f: &Facts, lower_text: &str) -> Option<Vec<String>> {
    let mut why = Vec::new();
    if let Some(kinds) = &c.channel_kind_any {
        kinds.iter().find(|k| **k == f.channel_kind)?;
        why.push(format!("channel kind is {}", f.channel_kind));
    }
    if let Some(ids) = &c.channel_any {
        let hit = ids
            .iter()
            .find(|k| **k == f.channel_id || k.eq_ignore_ascii_case(&f.channel_name))?;
        why.push(format!("channel is {hit}"));
    }
    if let Some(p) = c.public {
        if p != f.public {
            return None;
        }
        why.push(if p { "public".into() } else { "private".into() });
    }
    if let Some(words) = &c.text_any {
        let hit = words.iter().find(|w| contains_phrase(lower_text, w))?;
        why.push(format!("text contains {hit:?}"));
    }
    if let Some(re) = &c.text_regex {
        let m = re.find(&f.text)?;
        why.push(format!(
            "text matches /{}/ at {:?}",
            re.as_str(),
            m.as_str()
        ));
    }
    if let Some(intents) = &c.intent_any {
        let (intent, conf) = f.intent.as_ref()?;
        intents.iter().find(|i| *i == intent)?;
        why.push(format!("intent is {intent} ({conf:.2})"));
    }
    if let Some(purposes) = &c.purpose_any {
        let (p, conf) = f.purpose.as_ref()?;
        purposes.iter().find(|x| *x == p)?;
        why.push(format!("understood purpose is {p} ({conf:.2})"));
    }
    if let Some(min) = c.min_confidence {
        let conf = f
            .intent
            .as_ref()
            .map(|i| i.1)
            .or(f.purpose.as_ref().map(|p| p.1))?;
        if conf < min {
            return None;
        }
        why.push(format!("confidence {conf:.2} ≥ {min:.2}"));
    }
    if let Some(s) = &c.sentiment_any {
        let have = f.sentiment?;
        s.iter().find(|x| **x == have)?;
        why.push(format!("sentiment is {have:?}").to_lowercase());
    }
    if let Some(langs) = &c.language_any {
        // (Messages stored before codes were checked may say `nb` for `no`.)
        let lang = crate::language::parse(f.language.as_ref()?).ok()?;
        langs.iter().find(|l| *l == lang)?;
        why.push(format!("language is {lang}"));
    }
    if let Some(kinds) = &c.personal_data_any {
        let hit = kinds.iter().find(|k| f.personal_data.contains(k))?;
        why.push(match crate::guard::IdScheme::by_code(hit) {
            Some(scheme) => format!("carries personal data: {hit} ({})", scheme.name()),
            None => format!("carries personal data: {hit}"),
        });
    }
    if let Some(tags) = &c.author_tags_any {
        let hit = tags
            .iter()
            .find(|t| f.author_tags.iter().any(|a| a.eq_ignore_ascii_case(t)))?;
        why.push(format!("author is tagged {hit}"));
    }
    if let Some(min) = c.min_followers {
        let n = f.followers?;
        if n < min {
            return None;
        }
        why.push(format!("author has {n} followers (≥ {min})"));
    }
    if let Some(v) = c.verified {
        if v != f.verified {
            return None;
        }
        why.push(if v {
            "author is verified".into()
        } else {
            "author is not verified".into()
        });
    }
    if let Some(min) = c.min_open_cases {
        if f.open_cases < min {
            return None;
        }
        why.push(format!("contact has {} open cases (≥ {min})", f.open_cases));
    }
    if let Some(b) = c.business_hours {
        if f.in_business_hours? != b {
            return None;
        }
        why.push(if b {
            "within business hours".into()
        } else {
            "outside business hours".into()
        });
    }
    if why.is_empty() {
        why.push("no conditions: always".into());
    }
    Some(why)
}

fn first<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(value);
    }
}

impl Playbook {
    /// Decides what to do with a message (see the module docs for the order of rules).
    pub fn evaluate(&self, facts: &Facts) -> Decision {
        let lower = facts.text.to_lowercase();
        let mut d = Decision::default();
        for rule in &self.rules {
            let Some(reasons) = holds(&rule.when, facts, &lower) else {
                continue;
            };
            let a = &mut d.actions;
            let t = &rule.then;
            first(&mut a.purpose, &t.purpose);
            first(&mut a.team, &t.team);
            first(&mut a.assignee, &t.assignee);
            first(&mut a.priority, &t.priority);
            first(&mut a.require_approval, &t.require_approval);
            first(&mut a.auto_answer, &t.auto_answer);
            first(&mut a.escalate, &t.escalate);
            for url in &t.notify {
                if !a.notify.contains(url) {
                    a.notify.push(url.clone());
                }
            }
            for tag in &t.tags {
                if !a.tags.contains(tag) {
                    a.tags.push(tag.clone());
                }
            }
            for skill in &t.skills {
                if !a.skills.contains(skill) {
                    a.skills.push(skill.clone());
                }
            }
            d.fired.push(Fired {
                rule: rule.name.clone(),
                line: rule.line,
                reasons,
            });
            if t.stop {
                a.stop = true;
                break;
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value of the wrong type is named by its key, in words an admin reads.
    #[test]
    fn a_wrong_type_names_its_key_in_plain_words() {
        let cases = [
            (
                "[[team]]\nid = \"a\"\nname = \"A\"\ncapacity = \"ten\"\n",
                4,
                "capacity: must be a whole number of 0 or more, not the text \"ten\"",
            ),
            (
                "[[rule]]\nname = 1\n",
                2,
                "name: must be text in quotes, not the number 1",
            ),
            (
                "[[rule]]\nname = \"r\"\nwhen.public = \"yes\"\n",
                3,
                "when.public: must be true or false, not the text \"yes\"",
            ),
            (
                "[[rule]]\nname = \"r\"\nwhen = { channel_any = [\"sms\"], public = \"yes\" }\n",
                3,
                "public: must be true or false, not the text \"yes\"",
            ),
        ];
        for (source, line, message) in cases {
            let errs = parse(source, &[]).unwrap_err();
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!((errs[0].line, errs[0].message.as_str()), (line, message));
        }
    }

    /// Every value of the wrong type is listed in one check, with its line, not only the first;
    /// what setting a line aside causes (a required key now missing) is not.
    #[test]
    fn every_wrong_type_is_listed_at_once() {
        let source = "[[team]]\nid = \"a\"\nname = \"A\"\ncapacity = \"ten\"\n\n\
                      [[team]]\nid = \"b\"\nname = 7\nstrategy = \"round_robin\"\n\n\
                      [[rule]]\nname = \"r\"\nwhen = { public = \"yes\" }\nthen.team = \"a\"\n\
                      then.priority = \"high\"\ncolour = \"red\"\n";
        let errs = parse(source, &[]).unwrap_err();
        let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.message.as_str())).collect();
        assert_eq!(got.len(), 4, "{got:#?}");
        assert_eq!(
            got[0],
            (
                4,
                "capacity: must be a whole number of 0 or more, not the text \"ten\""
            )
        );
        assert_eq!(
            got[1],
            (8, "name: must be text in quotes, not the number 7")
        );
        assert_eq!(
            got[2],
            (13, "public: must be true or false, not the text \"yes\"")
        );
        assert!(got[3].0 == 16 && got[3].1.contains("colour"), "{got:#?}");
        // A required key of the wrong type in the tables read first (rules) does not hide the
        // problems of those read after (teams), and a value over several lines set aside keeps
        // every later line where it is.
        let source = "[[rule]]\nname = 7\nwhen.text_any = \"\"\"\nrefund\n\"\"\"\nthen.team = \"a\"\n\n\
                      [[team]]\nid = \"a\"\nname = \"A\"\ncapacity = \"ten\"\n";
        let errs = parse(source, &[]).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 11], "{errs:#?}");
        // Past twenty, the list says there may be more.
        let many: String = (0..25)
            .map(|i| format!("[[team]]\nid = \"t{i}\"\nname = \"T\"\ncapacity = \"ten\"\n"))
            .collect();
        let errs = parse(&many, &[]).unwrap_err();
        assert_eq!(errs.len(), MAX_READ_PROBLEMS + 1);
        assert!(
            errs[MAX_READ_PROBLEMS].message.contains("and perhaps more"),
            "{errs:?}"
        );
        // A file that does not read as TOML at all still reports only where it breaks.
        let errs = parse("[[team]\nid = 1\n", &[]).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
    }

    /// The example of issue 3, exactly as written.
    const EXAMPLE: &str = r#"[[team]]
id = "front-desk"
name = "Front desk"

[[team]]
id = "sales"
name = "Sales"

[[team]]
id = "pr"
name = "Marketing & PR"

[[team]]
id = "legal"
name = "Legal"

[[rule]]
name = "Outage or legal threat in public goes to PR"
when.public = true
when.text_any = ["outage", "lawsuit", "boycott", "data breach"]
then.purpose = "crisis"
then.team = "pr"
then.priority = "urgent"
then.require_approval = "legal"

[[rule]]
name = "Pricing questions go to Sales"
when.intent_any = ["pricing", "upgrade", "demo_request"]
when.min_confidence = 0.6
then.purpose = "sales"
then.team = "sales"

[[rule]]
name = "Everything else starts at the front desk"
then.purpose = "tier1"
then.team = "front-desk"
"#;

    fn facts(public: bool, text: &str, intent: Option<(&str, f64)>) -> Facts {
        Facts {
            channel_kind: "webhook".into(),
            public,
            text: text.into(),
            intent: intent.map(|(i, c)| (i.to_owned(), c)),
            ..Facts::default()
        }
    }

    #[test]
    fn the_issue_example_checks_in_an_empty_workspace() {
        let pb = parse(EXAMPLE, &[]).unwrap();
        assert_eq!(
            pb.teams.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["front-desk", "sales", "pr", "legal"]
        );
        assert_eq!(pb.rules.len(), 3);
        assert_eq!(pb.rules[0].line, 17);
        assert_eq!(pb.rules[2].line, 33);
    }

    /// (public, text, intent, purpose, team, priority, approval, indexes of the rules fired)
    type Row<'a> = (
        bool,
        &'a str,
        Option<(&'a str, f64)>,
        &'a str,
        &'a str,
        Option<Priority>,
        Option<&'a str>,
        &'a [usize],
    );

    #[test]
    fn evaluation_table() {
        let pb = parse(EXAMPLE, &[]).unwrap();
        // (public, text, intent, purpose, team, priority, approval, rules fired)
        let table: &[Row] = &[
            (
                true,
                "Is there an OUTAGE right now?",
                None,
                "crisis",
                "pr",
                Some(Priority::Urgent),
                Some("legal"),
                &[0, 2],
            ),
            (
                true,
                "We will file a lawsuit",
                Some(("pricing", 0.9)),
                "crisis",
                "pr",
                Some(Priority::Urgent),
                Some("legal"),
                &[0, 1, 2],
            ),
            (
                false,
                "outage again",
                None,
                "tier1",
                "front-desk",
                None,
                None,
                &[2],
            ),
            (
                true,
                "three outages this week",
                None,
                "tier1",
                "front-desk",
                None,
                None,
                &[2],
            ),
            (
                true,
                "a DATA BREACH!",
                None,
                "crisis",
                "pr",
                Some(Priority::Urgent),
                Some("legal"),
                &[0, 2],
            ),
            (
                false,
                "how much is it?",
                Some(("pricing", 0.8)),
                "sales",
                "sales",
                None,
                None,
                &[1, 2],
            ),
            (
                false,
                "how much is it?",
                Some(("pricing", 0.5)),
                "tier1",
                "front-desk",
                None,
                None,
                &[2],
            ),
            (
                false,
                "how much is it?",
                Some(("refund", 0.99)),
                "tier1",
                "front-desk",
                None,
                None,
                &[2],
            ),
            (
                false,
                "what time does the game start?",
                None,
                "tier1",
                "front-desk",
                None,
                None,
                &[2],
            ),
        ];
        for (public, text, intent, purpose, team, priority, approval, fired) in table {
            let d = pb.evaluate(&facts(*public, text, *intent));
            let a = &d.actions;
            assert_eq!(
                a.purpose.as_ref().map(Purpose::as_str),
                Some(*purpose),
                "{text}"
            );
            assert_eq!(a.team.as_deref(), Some(*team), "{text}");
            assert_eq!(a.priority, *priority, "{text}");
            assert_eq!(a.require_approval.as_deref(), *approval, "{text}");
            let names: Vec<usize> = d
                .fired
                .iter()
                .map(|f| pb.rules.iter().position(|r| r.name == f.rule).unwrap())
                .collect();
            assert_eq!(&names, fired, "{text}");
        }
    }

    #[test]
    fn reasons_say_why_each_rule_fired() {
        let pb = parse(EXAMPLE, &[]).unwrap();
        let d = pb.evaluate(&facts(true, "Lawsuit incoming", Some(("pricing", 0.75))));
        assert_eq!(d.fired[0].reasons, ["public", "text contains \"lawsuit\""]);
        assert_eq!(
            d.fired[1].reasons,
            ["intent is pricing (0.75)", "confidence 0.75 ≥ 0.60"]
        );
        assert_eq!(d.fired[2].reasons, ["no conditions: always"]);
    }

    #[test]
    fn stop_tags_and_notify() {
        let src = r#"
[[rule]]
name = "vip"
when.author_tags_any = ["VIP"]
then.tags = ["vip"]
then.priority = "high"
then.notify = "https://crm.example/hook"

[[rule]]
name = "angry"
when.sentiment_any = ["negative"]
then.tags = ["angry", "vip"]
then.priority = "urgent"
then.stop = true

[[rule]]
name = "never after stop"
then.purpose = "support"
"#;
        let pb = parse(src, &[]).unwrap();
        let f = Facts {
            author_tags: vec!["vip".into()],
            sentiment: Some(Sentiment::Negative),
            ..Facts::default()
        };
        let d = pb.evaluate(&f);
        assert_eq!(
            d.actions.priority,
            Some(Priority::High),
            "the first rule to set it wins"
        );
        assert_eq!(
            d.actions.tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
            ["vip", "angry"]
        );
        assert_eq!(d.actions.notify, ["https://crm.example/hook"]);
        assert!(d.actions.stop && d.actions.purpose.is_none());
        assert_eq!(d.fired.len(), 2);
        let calm = pb.evaluate(&Facts::default());
        assert_eq!(calm.fired.len(), 1);
        assert_eq!(
            calm.actions.purpose.as_ref().map(Purpose::as_str),
            Some("support")
        );
    }

    /// Languages are checked against what detection can name: a name or an unknown code would
    /// match nothing; another code for a known language is read as the stored one.
    #[test]
    fn language_codes_are_checked_and_read_as_stored() {
        let errs = parse(
            "[[rule]]\nname = \"a\"\nwhen.language_any = [\"en\", \"English\", \"zz\"]\nthen.tags = [\"x\"]\n",
            &[],
        )
        .unwrap_err();
        let got: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains("write its code, \"en\""), "{got:?}");
        assert!(
            got[1].contains("\"zz\" is not a language Switchboard detects"),
            "{got:?}"
        );
        let pb = parse(
            "[[rule]]\nname = \"nordic\"\nwhen.language_any = [\"nb\", \"SV\"]\nthen.tags = [\"nordic\"]\n",
            &[],
        )
        .unwrap();
        let fires_on = |pb: &Playbook, detected: &str| {
            let f = Facts {
                language: Some(detected.into()),
                ..Facts::default()
            };
            !pb.evaluate(&f).fired.is_empty()
        };
        for (detected, fires) in [("no", true), ("nb", true), ("sv", true), ("da", false)] {
            assert_eq!(fires_on(&pb, detected), fires, "{detected}");
        }
        assert!(pb.evaluate(&Facts::default()).fired.is_empty());
        // A playbook in force from before codes were checked still loads, and its unknown
        // code still matches nothing.
        let stored = "[[rule]]\nname = \"a\"\nwhen.language_any = [\"english\", \"ES\"]\nthen.tags = [\"x\"]\n";
        assert!(parse(stored, &[]).is_err());
        let pb = parse_stored(stored, &[], &[]).unwrap();
        for (detected, fires) in [("es", true), ("en", false), ("english", false)] {
            assert_eq!(fires_on(&pb, detected), fires, "{detected}");
        }
    }

    /// `personal_data_any` names kinds or national id schemes; anything else is refused by
    /// line, and a rule fires on a message that carries one of those it names.
    #[test]
    fn rules_route_by_the_personal_data_a_message_carries() {
        let errs = parse(
            "[[rule]]\nname = \"a\"\nwhen.personal_data_any = [\"card\", \"email\"]\nthen.tags = [\"x\"]\n\n[[rule]]\nname = \"b\"\nwhen.personal_data_any = []\nthen.tags = [\"x\"]\n",
            &[],
        )
        .unwrap_err();
        let got: Vec<String> = errs
            .iter()
            .map(|e| format!("{}: {}", e.line, e.message))
            .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("3: personal_data_any (card_number, iban"),
            "{got:?}"
        );
        assert!(got[0].contains("\"card\" is not valid"), "{got:?}");
        assert!(
            got[0].contains("us_ssn, uk_nino, es_dni, br_cpf"),
            "{got:?}"
        );
        assert!(got[1].contains("personal_data_any"), "{got:?}");
        assert!(got[1].contains("must not be empty"), "{got:?}");
        let pb = parse(
            "[[rule]]\nname = \"cards\"\nwhen.personal_data_any = [\"card_number\", \"br_cpf\"]\nthen.tags = [\"pci\"]\n",
            &[],
        )
        .unwrap();
        let fires = |carried: &[&str]| {
            let f = Facts {
                personal_data: carried.iter().map(|s| s.to_string()).collect(),
                ..Facts::default()
            };
            pb.evaluate(&f).fired.first().map(|f| f.reasons.clone())
        };
        assert_eq!(
            fires(&["email", "card_number"]),
            Some(vec!["carries personal data: card_number".to_owned()])
        );
        assert_eq!(
            fires(&["national_id", "br_cpf"]),
            Some(vec![
                "carries personal data: br_cpf (Brazilian CPF)".to_owned()
            ])
        );
        assert_eq!(fires(&["national_id", "us_ssn"]), None);
        assert_eq!(fires(&[]), None);
    }

    #[test]
    fn teams_state_how_they_assign() {
        let src = r#"[[team]]
id = "support"
name = "Support"
strategy = "least_loaded"
capacity = 5
overflow = "front-desk"

[[team]]
id = "front-desk"
name = "Front desk"

[[rule]]
name = "German speakers"
when.channel_any = ["DE Facebook"]
then.team = "support"
then.skills = ["German", "billing"]
"#;
        let pb = parse(src, &[]).unwrap();
        assert_eq!(pb.teams[0].strategy, Strategy::LeastLoaded);
        assert_eq!(pb.teams[0].capacity, Some(5));
        assert_eq!(pb.teams[0].overflow.as_deref(), Some("front-desk"));
        assert_eq!(pb.teams[1].strategy, Strategy::Manual, "the default");
        assert_eq!(
            (pb.teams[1].capacity, pb.teams[1].overflow.as_deref()),
            (None, None)
        );
        let f = Facts {
            channel_id: "0193".into(),
            channel_name: "de facebook".into(),
            ..Facts::default()
        };
        let d = pb.evaluate(&f);
        assert_eq!(d.actions.skills, ["german", "billing"]);
        assert_eq!(d.fired[0].reasons, ["channel is DE Facebook"]);

        let bad = r#"[[team]]
id = "a"
name = "A"
strategy = "random"
capacity = 0
overflow = "a"

[[team]]
id = "b"
name = "B"
overflow = "nowhere"
"#;
        let shown: Vec<String> = parse(bad, &[])
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let expect = [
            "4:12: unknown assignment strategy",
            "5:12: capacity must be at least 1",
            "6:12: a team cannot overflow to itself",
            "11:12: overflow: unknown team \"nowhere\"",
        ];
        assert_eq!(shown.len(), expect.len(), "{shown:#?}");
        for (got, want) in shown.iter().zip(expect) {
            assert!(got.starts_with(want), "{got} should start with {want}");
        }
    }

    #[test]
    fn hours_and_slas_are_checked() {
        let src = r#"[hours]
timezone = "Europe/Berlin"
mon = "09:00-17:00"

[[sla]]
name = "urgent"
priority = "urgent"
first_response = "15m"
on_breach = ["reassign:pr"]

[[team]]
id = "pr"
name = "PR"
[team.hours]
timezone = "America/New_York"
fri = "09:00-17:00"

[[rule]]
name = "after hours"
when.business_hours = false
then.team = "pr"
"#;
        let pb = parse(src, &[]).unwrap();
        assert_eq!(pb.slas.len(), 1);
        assert_eq!(pb.hours.timezone(), "Europe/Berlin");
        assert_eq!(
            pb.teams[0].hours.as_ref().map(|h| h.timezone.as_str()),
            Some("America/New_York")
        );

        let bad = r#"[hours]
timezone = "Mars/Olympus"
mon = "09:00-17:00"

[[sla]]
name = "x"
purpose = "nope"
first_response = "15m"
on_breach = ["reassign:ghosts"]

[[sla]]
name = "y"
first_response = "soon"
"#;
        let shown: Vec<String> = parse(bad, &[])
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let expect = [
            "1:1: hours: unknown time zone \"Mars/Olympus\"",
            "5:1: sla \"x\": unknown purpose \"nope\"",
            "5:1: sla \"x\": on_breach: unknown team \"ghosts\"",
            "11:1: sla \"y\": first_response: not a duration",
        ];
        assert_eq!(shown.len(), expect.len(), "{shown:#?}");
        for (got, want) in shown.iter().zip(expect) {
            assert!(got.starts_with(want), "{got} should start with {want}");
        }
    }

    #[test]
    fn guards_and_approvals() {
        let src = r#"[guards]
personal_data = "redact"
banned_phrases = ["guaranteed refund"]

[[approval]]
reviewers = "legal"
public = true
purpose = "crisis"

[[team]]
id = "legal"
name = "Legal"
"#;
        let pb = parse(src, &[]).unwrap();
        assert_eq!(pb.guards.on_personal_data(), OnPersonalData::Redact);
        assert_eq!(pb.guards.banned_phrases(), ["guaranteed refund"]);
        let a = &pb.approvals[0];
        let crisis = Purpose::parse("crisis").unwrap();
        assert!(a.applies(None, ("id", "name"), &crisis, true));
        assert!(!a.applies(None, ("id", "name"), &crisis, false));
        assert!(!a.applies(None, ("id", "name"), &Purpose::tier1(), true));

        let bad = "[guards]\npersonal_data = \"shout\"\n";
        assert!(parse(bad, &[]).is_err());
        let bad = "[guards]\nbanned_phrases = [\" \"]\n\n[[approval]]\nreviewers = \"nobody\"\n";
        let shown: Vec<String> = parse(bad, &[])
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with("1:1: guards: banned phrase 1 is empty"),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with("5:13: reviewers: unknown team \"nobody\""),
            "{shown:?}"
        );
    }

    #[test]
    fn known_teams_may_be_used_without_declaring_them() {
        let src = "[[rule]]\nname = \"r\"\nthen.team = \"billing\"\n";
        assert!(parse(src, &[]).is_err());
        assert!(parse(src, &["billing".to_owned()]).is_ok());
    }

    #[test]
    fn csat_is_read_and_checked() {
        let pb = parse(
            "[csat]\nquestion = \"How did we do? 1 to 5\"\npurposes = [\"support\"]\n",
            &[],
        )
        .unwrap();
        let csat = pb.csat.expect("a survey");
        assert_eq!(csat.question, "How did we do? 1 to 5");
        assert_eq!(csat.purposes, vec![Purpose::parse("support").unwrap()]);
        assert!(!csat.public);
        assert!(parse("", &[]).unwrap().csat.is_none());
        let errs = parse("[csat]\nquestion = \"\"\npurposes = [\"gardening\"]\n", &[]).unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(text.iter().any(|e| e.contains("csat.question")), "{text:?}");
        assert!(
            text.iter()
                .any(|e| e.starts_with("3:") && e.contains("gardening")),
            "{text:?}"
        );
        assert!(parse("[csat]\nquestion = \"Q\"\ncolour = 1\n", &[]).is_err());
    }

    #[test]
    fn custom_purposes_are_declared_or_known_and_lifecycle_is_checked() {
        let src = "[[purpose]]\nid = \"warranty\"\nname = \"Warranty claims\"\n\n\
                   [lifecycle]\nreopen_within = \"2d\"\n\n\
                   [[rule]]\nname = \"r\"\nthen.purpose = \"warranty\"\n";
        let pb = parse(src, &[]).unwrap();
        assert_eq!(pb.purpose_decls[0].id.as_str(), "warranty");
        assert_eq!(pb.purpose_decls[0].name.as_deref(), Some("Warranty claims"));
        assert_eq!(pb.lifecycle.reopen_within, 2 * 24 * 3600 * 1_000_000);
        assert_eq!(parse("", &[]).unwrap().lifecycle, Lifecycle::default());

        let uses = "[[rule]]\nname = \"r\"\nthen.purpose = \"returns\"\n";
        assert!(parse(uses, &[]).is_err());
        let known = [Purpose::parse("returns").unwrap()];
        assert!(parse_in(uses, &[], &known).is_ok());

        let bad = "[lifecycle]\nreopen_within = \"soon\"\n";
        let errs = parse(bad, &[]).unwrap_err();
        assert_eq!((errs[0].line, errs[0].column), (2, 17), "{errs:?}");
        assert!(errs[0].message.starts_with("reopen_within:"), "{errs:?}");
    }

    #[test]
    fn every_semantic_error_is_reported_with_its_position() {
        let src = r#"[[team]]
id = "pr"
name = "PR"

[[rule]]
name = "one"
when.text_regex = "(unclosed"
when.min_confidence = 1.5
then.team = "nobody"
then.purpose = "nope"
then.priority = "asap"

[[rule]]
name = "one"
when.sentiment_any = ["grumpy"]
then.require_approval = "legal"

[[rule]]
name = "idle"
when.public = true
"#;
        let errs = parse(src, &[]).unwrap_err();
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        let expect = [
            ("7:19:", "bad regex"),
            ("8:23:", "min_confidence"),
            ("9:13:", "unknown team \"nobody\""),
            ("10:16:", "unknown purpose \"nope\""),
            ("11:17:", "unknown priority"),
            ("14:8:", "two rules are named \"one\""),
            ("15:23:", "\"grumpy\" is not valid"),
            ("16:25:", "require_approval: unknown team \"legal\""),
            ("19:8:", "has no `then` actions"),
        ];
        assert_eq!(shown.len(), expect.len(), "{shown:#?}");
        for (got, (pos, text)) in shown.iter().zip(expect) {
            assert!(
                got.starts_with(pos) && got.contains(text),
                "{got} should be at {pos} and say {text}"
            );
        }
    }

    #[test]
    fn structural_errors_have_positions_too() {
        let unknown_key = parse(
            "[[rule]]\nname = \"r\"\nwhen.txt_any = [\"x\"]\nthen.team = \"t\"\n",
            &["t".into()],
        )
        .unwrap_err();
        assert_eq!(
            (unknown_key[0].line, unknown_key[0].column),
            (3, 6),
            "{unknown_key:?}"
        );
        assert!(
            unknown_key[0].message.contains("txt_any"),
            "{unknown_key:?}"
        );
        let wrong_type = parse(
            "[[rule]]\nname = \"r\"\nwhen.public = \"yes\"\nthen.team = \"t\"\n",
            &["t".into()],
        )
        .unwrap_err();
        assert_eq!(wrong_type[0].line, 3, "{wrong_type:?}");
        let not_toml = parse("[[rule]\n", &[]).unwrap_err();
        assert_eq!(not_toml[0].line, 1);
    }
    #[test]
    fn auto_answer_is_a_flag_or_a_table_and_the_first_rule_wins() {
        let src = r#"
[[rule]]
name = "Crisis never"
when.text_any = ["outage"]
then.purpose = "crisis"
then.auto_answer = false

[[rule]]
name = "Angry customers too, carefully"
when.text_any = ["furious"]
then.auto_answer = { min_confidence = 0.99, on_negative = true }

[[rule]]
name = "Tier 1 answers itself"
then.purpose = "tier1"
then.auto_answer = true
"#;
        let pb = parse(src, &[]).expect("valid");
        let decide = |text: &str| {
            pb.evaluate(&Facts {
                text: text.into(),
                ..Facts::default()
            })
            .actions
            .auto_answer
        };
        assert_eq!(decide("there is an outage"), Some(None));
        let careful = decide("I am furious").unwrap().unwrap();
        assert_eq!(careful.min_confidence(), 0.99);
        assert!(careful.on_negative && !careful.on_crisis);
        let plain = decide("when do you open?").unwrap().unwrap();
        assert_eq!(plain.min_confidence(), AutoAnswer::DEFAULT_MIN_CONFIDENCE);
        assert_eq!(
            plain.allows(&Purpose::tier1(), Some(Sentiment::Negative)),
            Err(Withheld::Negative)
        );
        assert_eq!(
            plain.allows(&Purpose::parse("crisis").unwrap(), None),
            Err(Withheld::Crisis)
        );
        assert_eq!(
            plain.allows(&Purpose::tier1(), Some(Sentiment::Neutral)),
            Ok(())
        );
        assert_eq!(
            careful.allows(&Purpose::tier1(), Some(Sentiment::Negative)),
            Ok(())
        );

        for (bad, says) in [
            (
                "then.auto_answer = \"yes\"",
                "auto_answer is true, false, or a table",
            ),
            (
                "then.auto_answer = { min_confidence = 1.5 }",
                "from 0.0 to 1.0",
            ),
            (
                "then.auto_answer = { on_crisis = \"y\" }",
                "on_crisis is true or false",
            ),
            (
                "then.auto_answer = { always = true }",
                "no field \"always\"",
            ),
        ] {
            let src = format!("[[rule]]\nname = \"r\"\n{bad}\n");
            let errs = parse(&src, &[]).expect_err(bad);
            assert!(
                errs.iter().any(|e| e.line == 3 && e.message.contains(says)),
                "{bad}: {errs:?}"
            );
        }
    }
}
