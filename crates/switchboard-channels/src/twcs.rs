//! Kaggle's "Customer Support on Twitter" (TWCS) CSV, read and turned into a replay plan:
//! which posts to deliver, in what order, to which company's X channel.
//!
//! Columns (by header name, so the leading unnamed index column some copies carry is ignored):
//! `tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id`.
//! The reader copes with the file's quirks: ids written as floats (`3.0`), bare `\r` inside
//! unquoted text (only `\n` ends a record), comma-separated `response_tweet_id` lists,
//! `created_at` as `Tue Oct 31 22:10:47 +0000 2017`, `inbound` as `True`/`False`.
//!
//! Companies are the authors of `inbound=False` rows; their author ids are their screen names
//! (`AppleSupport`), while customers' ids are anonymised numbers that also stand for their
//! handles in the texts (`@115712`). Pure: no files, no clock.

use crate::x::{ReplayTweet, parse_created_at};
use std::collections::{BTreeMap, HashMap};
use switchboard_core::Timestamp;

/// One row of the data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwcsRow {
    pub tweet_id: String,
    /// A company's screen name, or a customer's anonymised numeric id.
    pub author_id: String,
    /// `true` for customers' posts, `false` for companies'.
    pub inbound: bool,
    pub created_at: Timestamp,
    pub text: String,
    /// The posts that answer this one.
    pub response_tweet_ids: Vec<String>,
    /// The post this one answers.
    pub in_response_to_tweet_id: Option<String>,
}

/// A row the reader cannot use, with its line (1-based, where the record starts) and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TwcsError {
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl TwcsError {
    fn new(line: u64, column: &str, message: impl Into<String>) -> Self {
        TwcsError {
            line,
            column: column.to_owned(),
            message: message.into(),
        }
    }
}

const COLUMNS: [&str; 7] = [
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
];

/// A value for an error message: short, on one line.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    format!("{out:?}")
}

/// A tweet id: digits, or a float with nothing after the point (`3.0`, `2.9e6`) as pandas
/// writes ids in a column with blanks.
fn parse_id(s: &str) -> Option<String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(s.to_owned());
    }
    let f: f64 = s.parse().ok()?;
    // Below 2^53 every integer is exact in a float.
    if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 9_007_199_254_740_992.0 {
        return Some(format!("{}", f as u64));
    }
    None
}

/// Reads the CSV. Every row must be usable; the first bad one is reported with its line and
/// column.
pub fn read(input: &[u8]) -> Result<Vec<TwcsRow>, TwcsError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // Only `\n` ends a record: the data holds bare `\r` inside unquoted text.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input);
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        TwcsError::new(line, "record", format!("not readable as CSV: {e}"))
    };
    let mut record = csv::StringRecord::new();
    if !reader.read_record(&mut record).map_err(csv_error)? {
        return Err(TwcsError::new(1, "header", "the file is empty"));
    }
    let header: Vec<String> = record
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = h.trim_end_matches('\r').trim();
            if i == 0 {
                h.trim_start_matches('\u{feff}')
            } else {
                h
            }
            .to_owned()
        })
        .collect();
    let mut at = [0usize; 7];
    for (slot, name) in at.iter_mut().zip(COLUMNS) {
        *slot = header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| TwcsError::new(1, name, "is missing from the header"))?;
    }
    let [
        c_id,
        c_author,
        c_inbound,
        c_created,
        c_text,
        c_responses,
        c_in_response,
    ] = at;

    let mut rows = Vec::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            return Err(TwcsError::new(
                line,
                "record",
                format!(
                    "has {} fields where the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
        }
        let last = record.len().saturating_sub(1);
        // A `\r\n` line ending leaves its `\r` on the last field.
        let field = |i: usize| -> &str {
            let f = record.get(i).unwrap_or_default();
            if i == last {
                f.strip_suffix('\r').unwrap_or(f)
            } else {
                f
            }
        };
        let id_at = |i: usize, name: &str| {
            parse_id(field(i)).ok_or_else(|| {
                TwcsError::new(
                    line,
                    name,
                    format!("expected a tweet id, found {}", shown(field(i))),
                )
            })
        };
        let tweet_id = id_at(c_id, "tweet_id")?;
        let author_id = field(c_author).trim().to_owned();
        if author_id.is_empty() {
            return Err(TwcsError::new(line, "author_id", "is empty"));
        }
        let inbound = match field(c_inbound).trim() {
            s if s.eq_ignore_ascii_case("true") => true,
            s if s.eq_ignore_ascii_case("false") => false,
            other => {
                return Err(TwcsError::new(
                    line,
                    "inbound",
                    format!("expected True or False, found {}", shown(other)),
                ));
            }
        };
        let created_at = parse_created_at(field(c_created)).ok_or_else(|| {
            TwcsError::new(
                line,
                "created_at",
                format!(
                    "expected a time like \"Tue Oct 31 22:10:47 +0000 2017\", found {}",
                    shown(field(c_created))
                ),
            )
        })?;
        let mut response_tweet_ids = Vec::new();
        for part in field(c_responses).split(',').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            response_tweet_ids.push(parse_id(part).ok_or_else(|| {
                TwcsError::new(
                    line,
                    "response_tweet_id",
                    format!("expected comma-separated tweet ids, found {}", shown(part)),
                )
            })?);
        }
        let in_response_to_tweet_id = if field(c_in_response).trim().is_empty() {
            None
        } else {
            Some(id_at(c_in_response, "in_response_to_tweet_id")?)
        };
        rows.push(TwcsRow {
            tweet_id,
            author_id,
            inbound,
            created_at,
            text: field(c_text).to_owned(),
            response_tweet_ids,
            in_response_to_tweet_id,
        });
    }
    Ok(rows)
}

/// What to deliver to one company's channel, in delivery order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyReplay {
    /// The company's author id, which is also its screen name and the channel's `user_id`.
    pub company: String,
    /// Customers' posts (mentions and replies) and the company's own posts (echoes), ordered
    /// by `created_at`, then tweet id.
    pub tweets: Vec<ReplayTweet>,
}

/// How many posts each rule placed, in the order the rules are tried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssignmentCounts {
    /// Companies' own posts.
    pub company_posts: usize,
    /// Customers' posts answering a company's post.
    pub reply_to_company: usize,
    /// Customers' posts a company answered (`response_tweet_id`).
    pub answered_by_company: usize,
    /// Customers' posts starting with a company's @handle.
    pub leading_mention: usize,
    /// Customers' posts naming a company's @handle later in the text.
    pub mention_in_text: usize,
    /// Customers' posts in a conversation placed by one of the rules above (they answer, or
    /// are answered by, a post already placed).
    pub thread: usize,
}

/// The replay of a TWCS file: one list per company, and the customer posts no rule placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayPlan {
    /// One entry per company, by company id.
    pub channels: Vec<CompanyReplay>,
    /// Ids of the customer posts that could not be placed, in file order (reported, not
    /// replayed).
    pub unassigned: Vec<String>,
    pub assigned_by: AssignmentCounts,
}

impl ReplayPlan {
    /// Posts the plan delivers, over all channels.
    pub fn tweet_count(&self) -> usize {
        self.channels.iter().map(|c| c.tweets.len()).sum()
    }
}

/// The @handles at the start of a text (`@a @b hello` → `a`, `b`).
fn leading_handles(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix('@') {
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if end == 0 {
            break;
        }
        out.push(after.get(..end).unwrap_or_default());
        rest = after.get(end..).unwrap_or_default().trim_start();
    }
    out
}

/// Every @handle in a text.
fn all_handles(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if c == '@' && prev.is_none_or(|p| !word(p)) {
            let after = text.get(i + 1..).unwrap_or_default();
            let end = after.find(|c: char| !word(c)).unwrap_or(after.len());
            if end > 0 {
                out.push(after.get(..end).unwrap_or_default());
            }
        }
        prev = Some(c);
    }
    out
}

/// Orders ids as numbers when both are digits, else as text.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(a) && digits(b) {
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

/// Places every post on a company's channel. A company's posts go to its own channel; a
/// customer's post goes to the company whose post it answers, else the company that answers
/// it, else the company whose @handle starts the text, else one named later in the text, else
/// the company of the conversation it belongs to (a placed post it answers or that answers it).
/// What remains is counted in [`ReplayPlan::unassigned`].
pub fn plan(rows: &[TwcsRow]) -> ReplayPlan {
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        by_id.entry(r.tweet_id.as_str()).or_insert(i);
    }
    let mut companies: BTreeMap<&str, ()> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.inbound) {
        companies.insert(&r.author_id, ());
    }
    let by_lower: HashMap<String, &str> = companies
        .keys()
        .map(|c| (c.to_ascii_lowercase(), *c))
        .collect();
    let company_of_handle = |h: &str| by_lower.get(&h.to_ascii_lowercase()).copied();
    let company_post = |id: &str| {
        by_id
            .get(id)
            .and_then(|i| rows.get(*i))
            .filter(|r| !r.inbound)
            .map(|r| r.author_id.as_str())
    };

    let mut counts = AssignmentCounts::default();
    let mut placed: Vec<Option<&str>> = vec![None; rows.len()];
    for (slot, r) in placed.iter_mut().zip(rows) {
        let (company, counter) = if !r.inbound {
            (Some(r.author_id.as_str()), &mut counts.company_posts)
        } else if let Some(c) = r.in_response_to_tweet_id.as_deref().and_then(company_post) {
            (Some(c), &mut counts.reply_to_company)
        } else if let Some(c) = r.response_tweet_ids.iter().find_map(|id| company_post(id)) {
            (Some(c), &mut counts.answered_by_company)
        } else if let Some(c) = leading_handles(&r.text)
            .into_iter()
            .find_map(company_of_handle)
        {
            (Some(c), &mut counts.leading_mention)
        } else if let Some(c) = all_handles(&r.text).into_iter().find_map(company_of_handle) {
            (Some(c), &mut counts.mention_in_text)
        } else {
            continue;
        };
        *slot = company;
        *counter += 1;
    }
    // Conversations: follow replies both ways from placed posts until nothing changes.
    loop {
        let mut changed = false;
        for i in 0..rows.len() {
            let (Some(r), Some(None)) = (rows.get(i), placed.get(i)) else {
                continue;
            };
            let inherited = r
                .in_response_to_tweet_id
                .iter()
                .chain(&r.response_tweet_ids)
                .filter_map(|id| by_id.get(id.as_str()))
                .find_map(|j| placed.get(*j).copied().flatten());
            if let (Some(c), Some(slot)) = (inherited, placed.get_mut(i)) {
                *slot = Some(c);
                counts.thread += 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    let mut channels: BTreeMap<&str, Vec<ReplayTweet>> =
        companies.keys().map(|c| (*c, Vec::new())).collect();
    let mut unassigned = Vec::new();
    for (r, company) in rows.iter().zip(&placed) {
        let Some(list) = company.and_then(|c| channels.get_mut(c)) else {
            unassigned.push(r.tweet_id.clone());
            continue;
        };
        list.push(ReplayTweet {
            id: r.tweet_id.clone(),
            author_id: r.author_id.clone(),
            author_screen_name: r.author_id.clone(),
            text: r.text.clone(),
            created_at: r.created_at,
            in_reply_to_status_id: r.in_response_to_tweet_id.clone(),
            in_reply_to_user_id: r
                .in_response_to_tweet_id
                .as_deref()
                .and_then(|id| by_id.get(id))
                .and_then(|j| rows.get(*j))
                .map(|parent| parent.author_id.clone()),
        });
    }
    let channels = channels
        .into_iter()
        .map(|(company, mut tweets)| {
            tweets.sort_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| id_order(&a.id, &b.id))
            });
            CompanyReplay {
                company: company.to_owned(),
                tweets,
            }
        })
        .collect();
    ReplayPlan {
        channels,
        unassigned,
        assigned_by: counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n";

    fn at(s: &str) -> Timestamp {
        parse_created_at(s).unwrap()
    }

    #[test]
    fn reads_the_published_layout() {
        let csv = format!(
            "{HEADER}\
0,1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017,@115712 I understand.,2,3.0\n\
1,2,115712,True,Tue Oct 31 22:11:45 +0000 2017,@sprintcare and how,,1.0\n\
6,8,115712,True,Tue Oct 31 21:45:10 +0000 2017,@sprintcare is the worst,\"9,6,10\",\n\
5,6,sprintcare,False,Tue Oct 31 21:46:24 +0000 2017,\"@115712 Can you, please, DM us?\",\"5,7\",8.0\n"
        );
        let rows = read(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0],
            TwcsRow {
                tweet_id: "1".into(),
                author_id: "sprintcare".into(),
                inbound: false,
                created_at: at("Tue Oct 31 22:10:47 +0000 2017"),
                text: "@115712 I understand.".into(),
                response_tweet_ids: vec!["2".into()],
                in_response_to_tweet_id: Some("3".into()),
            }
        );
        assert!(rows[1].inbound);
        assert!(rows[1].response_tweet_ids.is_empty());
        assert_eq!(rows[1].in_response_to_tweet_id.as_deref(), Some("1"));
        assert_eq!(rows[2].response_tweet_ids, ["9", "6", "10"]);
        assert_eq!(rows[2].in_response_to_tweet_id, None);
        assert_eq!(rows[3].text, "@115712 Can you, please, DM us?");
        assert_eq!(rows[2].created_at.to_rfc3339(), "2017-10-31T21:45:10Z");
    }

    #[test]
    fn a_bare_carriage_return_stays_inside_its_field() {
        let csv = format!(
            "{HEADER}\
2484,3399,116510,True,Tue Oct 31 18:13:06 +0000 2017,@AskPayPal \r\rI just love the start of email 😁 https://t.co/8u1Pf5rJoN,3398,\n\
2485,3398,AskPayPal,False,Tue Oct 31 18:20:00 +0000 2017,@116510 Hi!,,3399.0\n"
        );
        let rows = read(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].text,
            "@AskPayPal \r\rI just love the start of email 😁 https://t.co/8u1Pf5rJoN"
        );
        assert_eq!(rows[0].response_tweet_ids, ["3398"]);
        assert_eq!(rows[1].in_response_to_tweet_id.as_deref(), Some("3399"));
    }

    #[test]
    fn crlf_files_and_files_without_the_index_column() {
        let csv = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\r\n\
1,AppleSupport,False,Tue Oct 31 22:10:47 +0000 2017,\"two\r\nlines\",,2.0\r\n\
2,115800,True,Tue Oct 31 22:00:00 +0000 2017,@AppleSupport help,1,\r\n";
        let rows = read(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text, "two\r\nlines");
        assert_eq!(rows[0].in_response_to_tweet_id.as_deref(), Some("2"));
        assert_eq!(rows[1].in_response_to_tweet_id, None);
        assert_eq!(rows[1].response_tweet_ids, ["1"]);
        // Columns in another order, with a byte-order mark.
        let csv = "\u{feff}text,tweet_id,author_id,inbound,created_at,response_tweet_id,in_response_to_tweet_id\n\
hi,7,x,True,Tue Oct 31 22:00:00 +0000 2017,,\n";
        let rows = read(csv.as_bytes()).unwrap();
        assert_eq!(
            (rows[0].tweet_id.as_str(), rows[0].text.as_str()),
            ("7", "hi")
        );
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let ok = "0,1,a,True,Tue Oct 31 22:10:47 +0000 2017,hi,,\n";
        let table: Vec<(String, u64, &str)> = vec![
            (
                format!("{HEADER}{ok}1,x1,a,True,Tue Oct 31 22:10:47 +0000 2017,hi,,\n"),
                3,
                "tweet_id",
            ),
            (
                format!("{HEADER}{ok}1,2,,True,Tue Oct 31 22:10:47 +0000 2017,hi,,\n"),
                3,
                "author_id",
            ),
            (
                format!("{HEADER}{ok}1,2,a,yes,Tue Oct 31 22:10:47 +0000 2017,hi,,\n"),
                3,
                "inbound",
            ),
            (
                format!("{HEADER}{ok}1,2,a,True,2017-10-31 22:10:47,hi,,\n"),
                3,
                "created_at",
            ),
            (
                format!("{HEADER}{ok}1,2,a,True,Tue Oct 31 22:10:47 +0000 2017,hi,\"3,x\",\n"),
                3,
                "response_tweet_id",
            ),
            (
                format!("{HEADER}{ok}1,2,a,True,Tue Oct 31 22:10:47 +0000 2017,hi,,3.5\n"),
                3,
                "in_response_to_tweet_id",
            ),
            (
                format!("{HEADER}{ok}1,2,a,True,Tue Oct 31 22:10:47 +0000 2017,hi,,-3.0\n"),
                3,
                "in_response_to_tweet_id",
            ),
            (
                format!("{HEADER}{ok}1,2,a,True,Tue Oct 31 22:10:47 +0000 2017,hi,,,extra\n"),
                3,
                "record",
            ),
            (format!("{HEADER}{ok}1,2,a,True\n"), 3, "record"),
            // A quoted text over two lines: the next record starts on line 4.
            (
                format!(
                    "{HEADER}0,1,a,True,Tue Oct 31 22:10:47 +0000 2017,\"two\nlines\",,\n1,2,a,Maybe,Tue Oct 31 22:10:47 +0000 2017,x,,\n"
                ),
                4,
                "inbound",
            ),
            (
                "tweet_id,author_id,inbound,created_at,text,response_tweet_id\n".into(),
                1,
                "in_response_to_tweet_id",
            ),
            (String::new(), 1, "header"),
        ];
        for (csv, line, column) in table {
            let e = read(csv.as_bytes()).unwrap_err();
            assert_eq!((e.line, e.column.as_str()), (line, column), "{csv:?}: {e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("line {line}, column {column}: ")),
                "{e}"
            );
        }
        // Invalid UTF-8 is an error, not a panic.
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"0,1,a,True,Tue Oct 31 22:10:47 +0000 2017,\xff\xfe,,\n");
        assert_eq!(read(&bytes).unwrap_err().line, 2);
        // Floats of every kind pandas writes.
        assert_eq!(parse_id("3.0").as_deref(), Some("3"));
        assert_eq!(parse_id("2.9e6").as_deref(), Some("2900000"));
        assert_eq!(parse_id(" 12 ").as_deref(), Some("12"));
        assert_eq!(parse_id("NaN"), None);
        assert_eq!(parse_id("inf"), None);
        assert_eq!(parse_id(""), None);
    }

    fn row(
        id: &str,
        author: &str,
        inbound: bool,
        time: &str,
        text: &str,
        responses: &[&str],
        in_response: Option<&str>,
    ) -> TwcsRow {
        TwcsRow {
            tweet_id: id.into(),
            author_id: author.into(),
            inbound,
            created_at: at(&format!("Tue Oct 31 {time} +0000 2017")),
            text: text.into(),
            response_tweet_ids: responses.iter().map(|s| s.to_string()).collect(),
            in_response_to_tweet_id: in_response.map(str::to_owned),
        }
    }

    fn ids(c: &CompanyReplay) -> Vec<&str> {
        c.tweets.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn plan_places_every_post_by_the_rules() {
        let rows = vec![
            // A conversation with AcmeHelp: 10 → 11 (company) → 12 (customer replies).
            row(
                "10",
                "101",
                true,
                "10:00:00",
                "@AcmeHelp my parcel is late",
                &["11"],
                None,
            ),
            row(
                "11",
                "AcmeHelp",
                false,
                "10:05:00",
                "@101 Sorry! DM us",
                &["12"],
                Some("10"),
            ),
            row(
                "12",
                "101",
                true,
                "10:07:00",
                "@AcmeHelp done",
                &["13"],
                Some("11"),
            ),
            // 13 follows up on 12 (a customer post): placed through the conversation.
            row(
                "13",
                "101",
                true,
                "10:08:00",
                "@somebody also this",
                &[],
                Some("12"),
            ),
            // Answered by BetaCare, mentioning nobody.
            row(
                "20",
                "102",
                true,
                "09:00:00",
                "help please",
                &["21"],
                Some("999"),
            ),
            row(
                "21",
                "BetaCare",
                false,
                "09:30:00",
                "@102 Hi there",
                &[],
                Some("20"),
            ),
            // A leading mention, in another case.
            row(
                "30",
                "103",
                true,
                "08:00:00",
                "@115 @betacare is down?",
                &[],
                None,
            ),
            // A mention later in the text.
            row(
                "40",
                "104",
                true,
                "08:00:00",
                "So frustrated with @AcmeHelp today",
                &[],
                None,
            ),
            // Nobody.
            row(
                "50",
                "105",
                true,
                "07:00:00",
                "lovely weather",
                &["51"],
                None,
            ),
            row(
                "51",
                "106",
                true,
                "07:01:00",
                "@105 indeed",
                &[],
                Some("50"),
            ),
        ];
        let p = plan(&rows);
        assert_eq!(
            p.channels
                .iter()
                .map(|c| c.company.as_str())
                .collect::<Vec<_>>(),
            ["AcmeHelp", "BetaCare"]
        );
        assert_eq!(ids(&p.channels[0]), ["40", "10", "11", "12", "13"]);
        assert_eq!(ids(&p.channels[1]), ["30", "20", "21"]);
        assert_eq!(p.unassigned, ["50", "51"]);
        assert_eq!(
            p.assigned_by,
            AssignmentCounts {
                company_posts: 2,
                reply_to_company: 1,
                answered_by_company: 2,
                leading_mention: 1,
                mention_in_text: 1,
                thread: 1,
            }
        );
        assert_eq!(p.tweet_count() + p.unassigned.len(), rows.len());

        let reply = &p.channels[0].tweets[2];
        assert_eq!(
            reply,
            &ReplayTweet {
                id: "11".into(),
                author_id: "AcmeHelp".into(),
                author_screen_name: "AcmeHelp".into(),
                text: "@101 Sorry! DM us".into(),
                created_at: at("Tue Oct 31 10:05:00 +0000 2017"),
                in_reply_to_status_id: Some("10".into()),
                in_reply_to_user_id: Some("101".into()),
            }
        );
        // A reply to a post outside the file keeps the post id but knows no user.
        let outside = &p.channels[1].tweets[1];
        assert_eq!(outside.in_reply_to_status_id.as_deref(), Some("999"));
        assert_eq!(outside.in_reply_to_user_id, None);
    }

    #[test]
    fn plan_orders_by_time_then_numeric_id() {
        let rows = vec![
            row("100", "C", false, "10:00:00", "@1 a", &[], None),
            row("9", "C", false, "10:00:00", "@1 b", &[], None),
            row("10", "C", false, "09:00:00", "@1 c", &[], None),
        ];
        assert_eq!(ids(&plan(&rows).channels[0]), ["10", "9", "100"]);
        assert_eq!(id_order("abc", "abd"), std::cmp::Ordering::Less);
        assert_eq!(id_order("007", "10"), std::cmp::Ordering::Less);
    }

    #[test]
    fn the_plan_replays_as_mentions_and_echoes() {
        use crate::x::{Config, account_activity_tweet, parse};
        use switchboard_core::ChannelEvent;
        let rows = vec![
            row(
                "10",
                "101",
                true,
                "10:00:00",
                "@AcmeHelp my parcel is late",
                &["11"],
                None,
            ),
            row(
                "11",
                "AcmeHelp",
                false,
                "10:05:00",
                "@101 Sorry! DM us",
                &["12"],
                Some("10"),
            ),
            row(
                "12",
                "101",
                true,
                "10:07:00",
                "@AcmeHelp done",
                &[],
                Some("11"),
            ),
        ];
        let p = plan(&rows);
        let channel = &p.channels[0];
        let cfg = Config::from_json(&serde_json::json!({"user_id": channel.company})).unwrap();
        let kinds: Vec<String> = channel
            .tweets
            .iter()
            .flat_map(|t| parse(&account_activity_tweet(&channel.company, t), &cfg).unwrap())
            .map(|e| match e {
                ChannelEvent::Message(m) => format!("message {} {:?}", m.thread, m.reply_to),
                ChannelEvent::Echo(e) => format!("echo {} to {}", e.thread, e.to.external_id),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "message tweet:10 None",
                "echo tweet:10 to 101",
                "message tweet:11 Some(\"11\")"
            ]
        );
    }

    #[test]
    fn handles_at_the_start_and_anywhere() {
        assert_eq!(leading_handles("  @a @B_2  hi @c"), ["a", "B_2"]);
        assert_eq!(leading_handles("hi @a"), Vec::<&str>::new());
        assert_eq!(leading_handles("@ x"), Vec::<&str>::new());
        // As twitter-text: only an ASCII word character before `@` makes it no mention.
        assert_eq!(all_handles("x@y @z, (@w) é@v"), ["z", "w", "v"]);
    }
}
