//! Guards on outbound public replies (a reply under a public post, a public review answer).
//! Before a reply is sent, [`check`] looks for personal data and for banned phrases and says
//! whether it may go out as written, must go out redacted, or must not go out at all. Pure:
//! text in, verdict out.
//!
//! # Verdicts
//! - A **banned phrase** always blocks, whatever the policy says about personal data.
//! - **Personal data** blocks, is redacted or is allowed, per [`OnPersonalData`]. Redaction
//!   replaces each finding with a label such as `[card number removed]` and keeps every other
//!   byte of the text as written.
//! - Every verdict explains itself in plain English ([`Verdict::explain`]):
//!   `blocked: contains a card number and an e-mail address`, `redacted: a phone number`,
//!   `passed`.
//!
//! Findings carry byte ranges into the checked text, sorted by start and never overlapping.
//! When two candidates overlap, the first in this order wins: banned phrase, e-mail address,
//! card number, national id number, phone number (so a card number is never also a phone
//! number, and a number inside an e-mail address is part of the address).
//!
//! # What is detected
//! Full-width forms (`４１１１`, `＠`, `－`, the ideographic space), as Japanese and Chinese
//! keyboards type them, count as their ASCII characters; positions are the original text's.
//! - **Card numbers**: 13 to 19 digits passing the Luhn check, not starting with 0, written
//!   as one run (`4111111111111111`) or in groups joined by single spaces, dashes or dots,
//!   the same separator throughout: a first group of 4, middle groups of 4 or 6 and a last
//!   group of 3 to 6 digits (`4111 1111 1111 1111`, `3782-822463-10005`,
//!   `6304 0000 0000 0000 000`, `4111.1111.1111.1111`; dotted, the whole dotted number must
//!   be the card, as dots also write versions and addresses). Never a part of a longer digit run, of a longer number
//!   grouped the same way (a tracking number `9400 1000 0000 …`), of a word (`ID4111…`) or
//!   of a decimal number, and never a number after `+` (that is a phone number). A Luhn-valid
//!   number is reported as a card even after `Order`: a card wrongly held back costs less
//!   than one published.
//! - **National id numbers**: US Social Security numbers written `123-45-6789` (area not
//!   000, 666 or 900–999, group not 00, serial not 0000); UK National Insurance numbers
//!   written `AB 12 34 56 C` or `AB123456C` (upper case; lower case only in the compact
//!   form), suffix A–D, without the prefixes HMRC never issues (first letter D, F, I, Q, U or
//!   V; second letter D, F, I, O, Q, U or V; BG, GB, KN, NK, NT, TN, ZZ); Spanish DNIs
//!   (`12345678Z`) and NIEs (`X1234567L`), whose last letter must be their number's check
//!   letter; Brazilian CPFs written `123.456.789-09` or `123456789-09` (both mod-11 check
//!   digits right, not eleven equal digits); Indian Aadhaar numbers in three groups of four
//!   (`2345 6789 0124`, first digit 2–9, Verhoeff check digit right) and PANs (`ABCPE1234F`:
//!   upper case, the fourth letter a holder type); Italian codici fiscali (`RSSMRA85T10A562S`,
//!   all upper or all lower case, a month letter, the check letter right); Chinese resident identity numbers
//!   (17 digits and a check digit or `X`, ISO 7064 mod 11-2, with a birth date of 1900–2099);
//!   French social security numbers (NIR, `1 85 05 78 006 084 91` or its 15 digits together:
//!   sex 1 or 2, a month 01–12, the département (`2A`, `2B` for Corsica), and the key, 97
//!   minus the first 13 digits modulo 97).
//! - **IBANs**: a country code, two check digits and the account, compact
//!   (`DE89370400440532013000`) or in groups of four (`GB82 WEST 1234 5698 7654 32`), of the
//!   country's registered length and passing the ISO 7064 mod-97 check.
//! - **E-mail addresses**: `local@domain.tld` with a dotted domain and a top-level domain of
//!   two or more letters (letters may be non-ASCII). Image names such as `logo@2x.png` are
//!   not addresses.
//! - **Phone numbers**, where precision matters more than recall:
//!   - international: `+` and a country code, 8 to 15 digits (a `(0)` not counted), with
//!     single spaces, dashes or dots and at most one pair of parentheses
//!     (`+1 (555) 123-4567`, `+44 (0)20 7946 0958`, `+49-30-1234567`, `+33 1 23 45 67 89`,
//!     `+4930123456`); or `00`, a country code and groups, 10 to 15 digits
//!     (`0044 20 7946 0958`);
//!   - North American: `555-123-4567`, `555.123.4567`, `555 123 4567`, optionally with a
//!     leading `1` (`1-800-555-0199`), and `(555) 123-4567`;
//!   - with a leading trunk `0`, 9 to 12 digits in groups of 2 to 8 joined by one kind of
//!     separator (space, dash or dot; or a `/` after the area code): `030 1234567`,
//!     `030/1234567`, `020 7946 0958`, `06 12 34 56 78`, `06.12.34.56.78`;
//!   - an area code in parentheses, 9 to 12 digits: `(555) 123-4567`, `(030) 1234567`;
//!   - Spanish, nine digits from 6 to 9 grouped by spaces: `612 345 678`, `912 34 56 78`.
//!
//! # What is deliberately not detected
//! - SSNs without dashes (`123456789`), CPFs without their dash, Aadhaar numbers not in
//!   groups of four, and other countries' id numbers: a bare run of nine to twelve digits is
//!   far more often an order number. (A Chinese id is found as a bare run of 18: its birth
//!   date and mod 11-2 check leave about 7 random runs in 100,000.)
//! - Known to be taken for ids: one 12-digit number in ten written in groups of four and
//!   starting 2–9 passes Aadhaar's check (a FedEx number so written, a voucher PIN), and a
//!   code shaped like a PAN (`BLACK2025F`) is one by its form.
//! - National phone numbers written as one run of digits (`5551234567`, `07700900123`) and
//!   short local numbers (`555-1234`): they look like order numbers and ranges.
//! - As phone numbers: numbers glued to letters or symbols (`ORD-555-123-4567`,
//!   `#555-123-4567`, `v555.123.4567`, `$555 123 4567`, `555-123-4567x89`), numbers written
//!   with spaces that more digits continue (`555 123 4567 8901`), numbers introduced as ids
//!   (`Order 123-456-7890`, `ticket no. 555 123 4567`), dates (`2026-11-23`, `01.12.2026`),
//!   times (`10:30`, `0930-1730`) and prices (`$1,299.00`).
//! - Other phone layouts: `089 / 123 456 78`, `(0)20 7946 0958`, en dashes
//!   (`555–123–4567`), and numbers without a trunk `0` other than the Spanish ones above.
//! - Card numbers written with mixed separators or double spaces.
//!
//! # Banned phrases
//! Matched case-insensitively (full Unicode lower-casing) as whole words: a phrase matches
//! only where the characters just before and just after it are not letters or digits, so
//! a banned `refund` matches `Refund!` but not `refunded` or `nonrefund`. Any run of
//! whitespace in the text matches the single space between two words of a phrase, so
//! `guaranteed refund` also matches `Guaranteed\n  refund`. Phrases repeated in the list
//! (after that normalisation) count once.

use crate::ParseError;
use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// What a guard does when a reply contains personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnPersonalData {
    /// Refuse to send (the default).
    #[default]
    Block,
    /// Send with each finding replaced by a label.
    Redact,
    /// Send as written.
    Allow,
}

/// A workspace's guard settings, with the banned phrases compiled. The default blocks
/// personal data and bans no phrase.
#[derive(Debug, Clone, Default)]
pub struct GuardPolicy {
    on_personal_data: OnPersonalData,
    /// The phrases as configured (trimmed), one per pattern of `matcher`.
    phrases: Vec<String>,
    /// `None` when no phrase is banned.
    matcher: Option<AhoCorasick>,
}

impl GuardPolicy {
    /// A policy banning `banned_phrases`. A phrase that is empty or only whitespace is an
    /// error naming its position in the list.
    pub fn new(
        on_personal_data: OnPersonalData,
        banned_phrases: &[String],
    ) -> Result<Self, ParseError> {
        let mut phrases = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        for (i, p) in banned_phrases.iter().enumerate() {
            let trimmed = p.trim();
            if trimmed.is_empty() {
                return Err(ParseError::new(format!(
                    "banned phrase {} is empty: {p:?}",
                    i + 1
                )));
            }
            let key = fold(trimmed).text;
            if !keys.contains(&key) {
                keys.push(key);
                phrases.push(trimmed.to_owned());
            }
        }
        let matcher = if keys.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&keys)
                .map_err(|e| {
                    ParseError::new(format!("the banned phrases could not be compiled: {e}"))
                })?;
            Some(ac)
        };
        Ok(GuardPolicy {
            on_personal_data,
            phrases,
            matcher,
        })
    }

    pub fn on_personal_data(&self) -> OnPersonalData {
        self.on_personal_data
    }

    /// The banned phrases, trimmed, without repeats, in the order given.
    pub fn banned_phrases(&self) -> &[String] {
        &self.phrases
    }
}

/// What was found, and where: `start..end` is a byte range of the checked text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    #[serde(flatten)]
    pub kind: FindingKind,
    pub start: usize,
    pub end: usize,
}

/// Serialized as `{"kind": "card_number"}` or
/// `{"kind": "banned_phrase", "phrase": "guaranteed refund"}` (flattened into [`Finding`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "phrase", rename_all = "snake_case")]
pub enum FindingKind {
    CardNumber,
    Iban,
    NationalId,
    Email,
    Phone,
    /// The phrase as configured in the policy.
    BannedPhrase(String),
}

impl FindingKind {
    /// The finding in a sentence: `a card number`, `the banned phrase "guaranteed refund"`.
    pub fn describe(&self) -> String {
        match self {
            FindingKind::BannedPhrase(p) => format!("the banned phrase \"{p}\""),
            FindingKind::Email => "an e-mail address".to_owned(),
            FindingKind::Iban => "an IBAN".to_owned(),
            other => format!("a {}", other.noun()),
        }
    }

    /// Whether a page shows only the finding (`span`, its text)'s last four digits or letters
    /// ([`hide_card_and_id_numbers`]): a card number (an agent never needs it whole, and a
    /// screen shows it to anyone passing) and a national id number (one that is seen can be
    /// used to pass as its holder), except a PAN, known by its form alone: a promotion code
    /// such as `BLACK2025F` has that form, and an agent must read it. An IBAN, an address or
    /// a phone number is what an agent answers or pays to, and stays.
    pub fn is_hidden_when_shown(&self, span: &str) -> bool {
        match self {
            FindingKind::CardNumber => true,
            FindingKind::NationalId => IdScheme::of(span) != Some(IdScheme::InPan),
            _ => false,
        }
    }

    /// What replaces the finding in a redacted text: `[card number removed]`.
    pub fn redaction_label(&self) -> String {
        format!("[{} removed]", self.noun())
    }

    fn noun(&self) -> &'static str {
        match self {
            FindingKind::CardNumber => "card number",
            FindingKind::Iban => "IBAN",
            FindingKind::NationalId => "national id number",
            FindingKind::Email => "e-mail address",
            FindingKind::Phone => "phone number",
            FindingKind::BannedPhrase(_) => "banned phrase",
        }
    }

    fn plural(&self) -> &'static str {
        match self {
            FindingKind::CardNumber => "card numbers",
            FindingKind::Iban => "IBANs",
            FindingKind::NationalId => "national id numbers",
            FindingKind::Email => "e-mail addresses",
            FindingKind::Phone => "phone numbers",
            FindingKind::BannedPhrase(_) => "banned phrases",
        }
    }
}

/// The outcome of [`check`]. Serialized with an `outcome` tag: `{"outcome": "pass"}`,
/// `{"outcome": "redacted", "text": …, "findings": […]}`, `{"outcome": "blocked",
/// "findings": […]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing found: send as written.
    Pass,
    /// Send `text` instead; `findings` are ranges of the original text.
    Redacted {
        text: String,
        findings: Vec<Finding>,
    },
    /// Do not send. Lists banned phrases and, unless the policy allows it, personal data.
    Blocked { findings: Vec<Finding> },
}

impl Verdict {
    /// The verdict as a sentence for the agent: `blocked: contains a card number and an
    /// e-mail address`, `redacted: a phone number`, `passed`.
    pub fn explain(&self) -> String {
        match self {
            Verdict::Pass => "passed".to_owned(),
            Verdict::Redacted { findings, .. } => format!("redacted: {}", describe(findings)),
            Verdict::Blocked { findings } => format!("blocked: contains {}", describe(findings)),
        }
    }

    /// What was found (none when the reply passed).
    pub fn findings(&self) -> &[Finding] {
        match self {
            Verdict::Pass => &[],
            Verdict::Redacted { findings, .. } | Verdict::Blocked { findings } => findings,
        }
    }
}

/// Checks an outbound public reply against `policy`.
pub fn check(text: &str, policy: &GuardPolicy) -> Verdict {
    let mut ranked = vec![banned_phrases(text, policy)];
    if policy.on_personal_data != OnPersonalData::Allow {
        ranked.extend(personal_data_candidates(text));
    }
    let findings = resolve(ranked);
    if findings.is_empty() {
        return Verdict::Pass;
    }
    let banned = findings
        .iter()
        .any(|f| matches!(f.kind, FindingKind::BannedPhrase(_)));
    if banned || policy.on_personal_data == OnPersonalData::Block {
        Verdict::Blocked { findings }
    } else {
        Verdict::Redacted {
            text: redact(text, &findings),
            findings,
        }
    }
}

/// `text` with each payment card number and national id number hidden but for its last four
/// digits or letters ("•••• 1111", "•••• 6789"), for showing a message where its reader does
/// not need the number: pages, notifications, an outside expert's view. Cut a text only after
/// this (a number cut in half is no card).
pub fn hide_card_and_id_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in personal_data(text) {
        if f.start >= at
            && f.end <= text.len()
            && f.kind.is_hidden_when_shown(&text[f.start..f.end])
        {
            out.push_str(&text[at..f.start]);
            out.push_str("•••• ");
            out.push_str(&last_four(&text[f.start..f.end]));
            at = f.end;
        }
    }
    out.push_str(&text[at..]);
    out
}

/// The last four digits or letters of a number as written, separators left out and
/// full-width forms as ASCII ones (`529.982.247-25` → `4725`, `rssmra85t10a562s` → `562s`).
pub fn last_four(number: &str) -> String {
    let kept: Vec<char> = number
        .chars()
        .map(narrow)
        .filter(char::is_ascii_alphanumeric)
        .collect();
    kept[kept.len().saturating_sub(4)..].iter().collect()
}

/// `text` with its full-width forms as ASCII characters (`ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ` →
/// `ann@example.com`): what a finding's span reads as.
pub fn narrowed(text: &str) -> std::borrow::Cow<'_, str> {
    match Narrowed::of(text) {
        Some(n) => std::borrow::Cow::Owned(n.text),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// A full-width form (`４`, `＠`, `－`, the ideographic space) as its ASCII character; any
/// other character as it is.
fn narrow(c: char) -> char {
    match c {
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// A text with its full-width forms as ASCII (so `４１１１ １１１１ …`, typed on a Japanese or
/// Chinese keyboard, is the card it is), and where each of its bytes came from.
struct Narrowed {
    text: String,
    /// The original byte offset of each byte of `text`, and the original length after them.
    from: Vec<usize>,
}

impl Narrowed {
    /// `None` when the text has no full-width form: nothing to do. Every such form is written
    /// with the lead byte 0xEF (the ideographic space, 0xE3): `memchr` finds neither in most
    /// texts, and only a text with one is read character by character.
    fn of(text: &str) -> Option<Narrowed> {
        let bytes = text.as_bytes();
        if !(bytes.contains(&0xef) || bytes.contains(&0xe3))
            || !text.chars().any(|c| narrow(c) != c)
        {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut from = Vec::with_capacity(text.len() + 1);
        for (i, c) in text.char_indices() {
            let before = out.len();
            out.push(narrow(c));
            from.extend(std::iter::repeat_n(i, out.len() - before));
        }
        from.push(text.len());
        Some(Narrowed { text: out, from })
    }

    /// Findings in the narrowed text, at their places in the original.
    fn back(&self, found: Vec<Finding>) -> Vec<Finding> {
        found
            .into_iter()
            .map(|f| Finding {
                start: self.from[f.start],
                end: self.from[f.end],
                ..f
            })
            .collect()
    }
}

/// The personal data in `text` (e-mail addresses, card numbers, IBANs, national id numbers,
/// phone numbers), by position, never overlapping: what the guards look for, for anyone who
/// needs to know what a message carries. Full-width digits and marks count as ASCII ones.
pub fn personal_data(text: &str) -> Vec<Finding> {
    if let Some(n) = Narrowed::of(text) {
        return n.back(personal_data(&n.text));
    }
    let bytes = text.as_bytes();
    // Every detector needs a digit or an `@`: most messages have neither.
    if !bytes.iter().any(|b| b.is_ascii_digit() || *b == b'@') {
        return Vec::new();
    }
    // Most that do hold only a handle or a short number: no detector can find anything.
    let run = Detectors::needed_by(text);
    if run == Detectors::NONE {
        return Vec::new();
    }
    resolve(candidates_of(text, run))
}

/// A detector: the byte ranges of what it finds in a text.
type Detector = fn(&str) -> Vec<(usize, usize)>;

/// Which national id a [`FindingKind::NationalId`] finding is: each finding's text is read
/// again by the detectors, the first whose number it is in full names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdScheme {
    UsSsn,
    UkNino,
    EsDni,
    BrCpf,
    InAadhaar,
    InPan,
    ItCodiceFiscale,
    CnResidentId,
    FrNir,
}

impl IdScheme {
    const ALL: [(IdScheme, Detector); 9] = [
        (IdScheme::UsSsn, ssns),
        (IdScheme::UkNino, ninos),
        (IdScheme::EsDni, dnis),
        (IdScheme::BrCpf, cpfs),
        (IdScheme::InAadhaar, aadhaars),
        (IdScheme::InPan, pans),
        (IdScheme::ItCodiceFiscale, codici_fiscali),
        (IdScheme::CnResidentId, china_ids),
        (IdScheme::FrNir, nirs),
    ];

    /// The scheme of `id`, the text of a national id finding (full-width forms read as
    /// ASCII); `None` for any other text.
    pub fn of(id: &str) -> Option<IdScheme> {
        if let Some(n) = Narrowed::of(id) {
            return IdScheme::of(&n.text);
        }
        let id = id.trim();
        IdScheme::ALL
            .iter()
            .find(|(_, find)| find(id) == [(0, id.len())])
            .map(|&(scheme, _)| scheme)
    }

    /// As the API writes it: `us_ssn`, `br_cpf`.
    pub fn code(self) -> &'static str {
        match self {
            IdScheme::UsSsn => "us_ssn",
            IdScheme::UkNino => "uk_nino",
            IdScheme::EsDni => "es_dni",
            IdScheme::BrCpf => "br_cpf",
            IdScheme::InAadhaar => "in_aadhaar",
            IdScheme::InPan => "in_pan",
            IdScheme::ItCodiceFiscale => "it_codice_fiscale",
            IdScheme::CnResidentId => "cn_resident_id",
            IdScheme::FrNir => "fr_nir",
        }
    }

    /// For people: `US social security number`.
    pub fn name(self) -> &'static str {
        match self {
            IdScheme::UsSsn => "US social security number",
            IdScheme::UkNino => "UK National Insurance number",
            IdScheme::EsDni => "Spanish DNI or NIE",
            IdScheme::BrCpf => "Brazilian CPF",
            IdScheme::InAadhaar => "Indian Aadhaar number",
            IdScheme::InPan => "Indian PAN",
            IdScheme::ItCodiceFiscale => "Italian codice fiscale",
            IdScheme::CnResidentId => "Chinese resident identity number",
            IdScheme::FrNir => "French social security number (NIR)",
        }
    }

    /// Every scheme's [`IdScheme::code`].
    pub fn codes() -> Vec<&'static str> {
        IdScheme::ALL.iter().map(|&(s, _)| s.code()).collect()
    }

    /// The scheme with this [`IdScheme::code`].
    pub fn by_code(code: &str) -> Option<IdScheme> {
        IdScheme::ALL
            .iter()
            .map(|&(scheme, _)| scheme)
            .find(|s| s.code() == code)
    }
}

/// `text` with its personal data replaced by labels (`[card number removed]`): for text kept
/// longer than it must be, such as training examples.
pub fn without_personal_data(text: &str) -> String {
    redact(text, &personal_data(text))
}

/// Candidates per kind, in priority order (see the module's documentation); full-width forms
/// as ASCII ones.
fn personal_data_candidates(text: &str) -> Vec<Vec<Finding>> {
    match Narrowed::of(text) {
        Some(n) => candidates_of(&n.text, Detectors::needed_by(&n.text))
            .into_iter()
            .map(|kind| n.back(kind))
            .collect(),
        None => candidates_of(text, Detectors::needed_by(text)),
    }
}

/// Which detectors can find anything in a text. An address needs an `@` right after a word
/// character (a handle's `@` follows a space); every other kind needs a number of ASCII digits
/// (its patterns say `[0-9]`, and its checks count them): an IBAN its 2 check digits right
/// after two ASCII letters (half of all tweets have 2 digits, 4% that shape), a
/// National Insurance number 6, a phone number 8 (`valid_phone`), a Social Security number 9,
/// a card 13 (`Chain::longest_card_from`), a DNI 7, a CPF 11, an Aadhaar number 12, a NIR 13,
/// a Chinese id 17; a PAN its 4 digits right after five upper-case ASCII letters, a codice
/// fiscale 7 digits and its first six letters, in one case, right before a digit (so a year or
/// a time alone does not run them). A post that names an `@handle` and a time runs one
/// detector, not five; the phone forms alone are nine patterns.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Detectors {
    email: bool,
    iban: bool,
    card: bool,
    ssn: bool,
    nino: bool,
    dni: bool,
    cpf: bool,
    aadhaar: bool,
    pan: bool,
    codice_fiscale: bool,
    china_id: bool,
    nir: bool,
    phone: bool,
}

impl Detectors {
    const NONE: Detectors = Detectors {
        email: false,
        iban: false,
        card: false,
        ssn: false,
        nino: false,
        dni: false,
        cpf: false,
        aadhaar: false,
        pan: false,
        codice_fiscale: false,
        china_id: false,
        nir: false,
        phone: false,
    };

    #[cfg(test)]
    const ALL: Detectors = Detectors {
        email: true,
        iban: true,
        card: true,
        ssn: true,
        nino: true,
        dni: true,
        cpf: true,
        aadhaar: true,
        pan: true,
        codice_fiscale: true,
        china_id: true,
        nir: true,
        phone: true,
    };

    fn needed_by(text: &str) -> Detectors {
        let digits = digit_count(text);
        let capitals = if digits >= 4 {
            letters_before_a_digit(text, u8::is_ascii_uppercase)
        } else {
            0
        };
        let email = text.match_indices('@').any(|(at, _)| {
            text[..at].chars().next_back().is_some_and(|c| {
                !c.is_whitespace()
                    && (!c.is_ascii() || c.is_ascii_alphanumeric() || "_.%+-".contains(c))
            })
        });
        // An IBAN starts with its country's two ASCII letters and two check digits
        // (`valid_iban`), written together.
        let iban = digits >= 2
            && text.as_bytes().windows(4).any(|w| {
                w[0].is_ascii_alphabetic()
                    && w[1].is_ascii_alphabetic()
                    && w[2].is_ascii_digit()
                    && w[3].is_ascii_digit()
            });
        Detectors {
            email,
            iban,
            card: digits >= 13,
            ssn: digits >= 9,
            nino: digits >= 6,
            dni: digits >= 7,
            cpf: digits >= 11,
            aadhaar: digits >= 12,
            pan: digits >= 4 && capitals >= 5,
            codice_fiscale: digits >= 7
                && (capitals >= 6 || letters_before_a_digit(text, u8::is_ascii_lowercase) >= 6),
            china_id: digits >= 17,
            nir: digits >= 13,
            phone: digits >= 8,
        }
    }
}

/// The most `letter` bytes `text` has in a row right before a digit (a PAN's five capitals,
/// a codice fiscale's six letters).
fn letters_before_a_digit(text: &str, letter: fn(&u8) -> bool) -> usize {
    let (mut run, mut most) = (0, 0);
    for c in text.bytes() {
        if letter(&c) {
            run += 1;
        } else {
            if c.is_ascii_digit() {
                most = usize::max(most, run);
            }
            run = 0;
        }
    }
    most
}

fn candidates_of(text: &str, run: Detectors) -> Vec<Vec<Finding>> {
    let found = |yes: bool, find: Detector| {
        if yes { find(text) } else { Vec::new() }
    };
    let mut ids = found(run.ssn, ssns);
    ids.extend(found(run.nino, ninos));
    ids.extend(found(run.dni, dnis));
    ids.extend(found(run.cpf, cpfs));
    ids.extend(found(run.aadhaar, aadhaars));
    ids.extend(found(run.pan, pans));
    ids.extend(found(run.codice_fiscale, codici_fiscali));
    ids.extend(found(run.china_id, china_ids));
    ids.extend(found(run.nir, nirs));
    vec![
        ranges(FindingKind::Email, found(run.email, emails)),
        ranges(FindingKind::Iban, found(run.iban, ibans)),
        ranges(FindingKind::CardNumber, found(run.card, card_numbers)),
        ranges(FindingKind::NationalId, ids),
        ranges(FindingKind::Phone, found(run.phone, phone_numbers)),
    ]
}

// ----- findings ------------------------------------------------------------------------------

fn ranges(kind: FindingKind, found: Vec<(usize, usize)>) -> Vec<Finding> {
    found
        .into_iter()
        .map(|(start, end)| Finding {
            kind: kind.clone(),
            start,
            end,
        })
        .collect()
}

/// Keeps the candidates that overlap no earlier kept one. Kinds come in priority order;
/// within a kind, the leftmost and then longest wins.
fn resolve(ranked: Vec<Vec<Finding>>) -> Vec<Finding> {
    // Kept findings by start; they never overlap, so only the last one starting before a
    // candidate ends can overlap it.
    let mut kept: BTreeMap<usize, Finding> = BTreeMap::new();
    for mut candidates in ranked {
        candidates.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        for c in candidates {
            let overlaps = kept
                .range(..c.end)
                .next_back()
                .is_some_and(|(_, k)| k.end > c.start);
            if !overlaps {
                kept.insert(c.start, c);
            }
        }
    }
    kept.into_values().collect()
}

/// `text` with each finding replaced by its label.
fn redact(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        out.push_str(&text[at..f.start]);
        out.push_str(&f.kind.redaction_label());
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The findings as an English list: banned phrases first (each once, in order of
/// appearance), then card numbers, national ids, e-mail addresses and phone numbers, counted.
fn describe(findings: &[Finding]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for f in findings {
        if let FindingKind::BannedPhrase(_) = &f.kind {
            let d = f.kind.describe();
            if !parts.contains(&d) {
                parts.push(d);
            }
        }
    }
    for kind in [
        FindingKind::CardNumber,
        FindingKind::Iban,
        FindingKind::NationalId,
        FindingKind::Email,
        FindingKind::Phone,
    ] {
        match findings.iter().filter(|f| f.kind == kind).count() {
            0 => {}
            1 => parts.push(kind.describe()),
            n => parts.push(format!("{n} {}", kind.plural())),
        }
    }
    match parts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

// ----- banned phrases ------------------------------------------------------------------------

/// A text lower-cased, with each run of whitespace as one space, and for every byte of
/// `text` the byte range of the original character (or whitespace run) it came from.
struct Folded {
    text: String,
    from: Vec<(usize, usize)>,
}

fn fold(original: &str) -> Folded {
    let mut text = String::with_capacity(original.len());
    let mut from = Vec::with_capacity(original.len());
    let mut chars = original.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let mut end = i + c.len_utf8();
        if c.is_whitespace() {
            while let Some((j, d)) = chars.next_if(|(_, d)| d.is_whitespace()) {
                end = j + d.len_utf8();
            }
            text.push(' ');
            from.push((i, end));
        } else {
            for l in c.to_lowercase() {
                text.push(l);
                from.extend(std::iter::repeat_n((i, end), l.len_utf8()));
            }
        }
    }
    Folded { text, from }
}

fn banned_phrases(text: &str, policy: &GuardPolicy) -> Vec<Finding> {
    let Some(matcher) = &policy.matcher else {
        return Vec::new();
    };
    let folded = fold(text);
    let from = &folded.from;
    matcher
        .find_overlapping_iter(&folded.text)
        .filter_map(|m| {
            let (s, e) = (m.start(), m.end());
            // Whole original characters only (a lower-cased character may be several).
            let whole = s < e
                && (s == 0 || from[s - 1] != from[s])
                && (e == from.len() || from[e] != from[e - 1]);
            if !whole {
                return None;
            }
            let (start, end) = (from[s].0, from[e - 1].1);
            on_word_boundaries(text, start, end).then(|| Finding {
                kind: FindingKind::BannedPhrase(policy.phrases[m.pattern().as_usize()].clone()),
                start,
                end,
            })
        })
        .collect()
}

fn on_word_boundaries(text: &str, start: usize, end: usize) -> bool {
    !prev_char(text, start).is_some_and(glues) && !next_char(text, end).is_some_and(glues)
}

// ----- shared helpers ------------------------------------------------------------------------

/// A regex known to be valid (every one is exercised by the tests).
fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("{e}"))
}

/// Whether `c` joins the characters beside it into one word: a letter or digit, except those
/// of scripts written without spaces between words (Chinese, Japanese, Korean, Thai), where a
/// number or an address stands right beside the words of its sentence
/// (`カード番号は4111111111111111です`).
fn glues(c: char) -> bool {
    c.is_alphanumeric() && !unspaced_script(c)
}

/// The scripts written without spaces between words: Thai, Hangul, Hiragana, Katakana and
/// the CJK ideographs.
const UNSPACED: &[(char, char)] = &[
    ('\u{0e00}', '\u{0e7f}'),
    ('\u{1100}', '\u{11ff}'),
    ('\u{3040}', '\u{30ff}'),
    ('\u{3130}', '\u{318f}'),
    ('\u{31f0}', '\u{31ff}'),
    ('\u{3400}', '\u{4dbf}'),
    ('\u{4e00}', '\u{9fff}'),
    ('\u{ac00}', '\u{d7af}'),
    ('\u{f900}', '\u{faff}'),
    ('\u{ff66}', '\u{ff9f}'),
    ('\u{20000}', '\u{2fa1f}'),
];

fn unspaced_script(c: char) -> bool {
    UNSPACED.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// [`UNSPACED`] as the ranges of a regex class.
fn unspaced_ranges() -> String {
    UNSPACED
        .iter()
        .map(|&(lo, hi)| format!("\\x{{{:x}}}-\\x{{{:x}}}", lo as u32, hi as u32))
        .collect()
}

fn prev_char(text: &str, i: usize) -> Option<char> {
    text[..i].chars().next_back()
}

fn next_char(text: &str, i: usize) -> Option<char> {
    text[i..].chars().next()
}

/// The matches of `re` that `keep` accepts. After a rejected match the search resumes one
/// character after its start, so a rejected candidate does not hide a later one.
fn matches_where(
    re: &Regex,
    text: &str,
    mut keep: impl FnMut(&str, usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(m) = re.find_at(text, at) {
        if m.start() < m.end() && keep(m.as_str(), m.start(), m.end()) {
            found.push((m.start(), m.end()));
            at = m.end();
        } else {
            at = m.start() + next_char(text, m.start()).map_or(1, char::len_utf8);
        }
        if at > text.len() {
            break;
        }
    }
    found
}

/// The lengths of the digit runs in `s`.
fn digit_groups(s: &str) -> Vec<usize> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::len)
        .collect()
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// The first and last separator (space, dash, dot, slash) inside a number.
fn separators(s: &str) -> (Option<char>, Option<char>) {
    let is_sep = |c: &char| matches!(c, ' ' | '-' | '.' | '/');
    (s.chars().find(is_sep), s.chars().rev().find(is_sep))
}

/// Does the number `text[start..end]` stand on its own, rather than being part of a word,
/// an identifier, an amount or a longer number? A number whose first (last) separator is a
/// space, preceded (followed) by a space and more digits, is part of something longer,
/// unless it opens with `+` or `(`.
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let (first_sep, last_sep) = separators(&text[start..end]);
    let before = prev_char(text, start);
    let before2 = before.and_then(|c| prev_char(text, start - c.len_utf8()));
    let after = next_char(text, end);
    let after2 = after.and_then(|c| next_char(text, end + c.len_utf8()));
    let glued_before = match before {
        None => false,
        Some(c) if glues(c) || "_+#$€£¥@/\\=&".contains(c) => true,
        Some('-' | '.') => before2.is_some_and(glues),
        Some(',' | ':') => before2.is_some_and(|c| c.is_ascii_digit()),
        Some(' ') => {
            first_sep == Some(' ')
                && text[start..].starts_with(|c: char| c.is_ascii_digit())
                && before2.is_some_and(|c| c.is_ascii_digit())
        }
        Some(_) => false,
    };
    let glued_after = match after {
        None => false,
        Some(c) if glues(c) || "_+#%@/\\=&".contains(c) => true,
        Some('-' | '.') => after2.is_some_and(glues),
        Some(',' | ':') => after2.is_some_and(|c| c.is_ascii_digit()),
        Some(' ') => last_sep == Some(' ') && after2.is_some_and(|c| c.is_ascii_digit()),
        Some(_) => false,
    };
    !glued_before && !glued_after
}

/// Day-month-year or year-month-day: three digit groups shaped 1–2, 1–2, 4 or 4, 1–2, 1–2.
fn looks_like_date(s: &str) -> bool {
    matches!(
        digit_groups(s).as_slice(),
        [1 | 2, 1 | 2, 4] | [4, 1 | 2, 1 | 2]
    )
}

// ----- e-mail addresses ----------------------------------------------------------------------

/// `\w` without the scripts written without spaces ([`unspaced_script`]): an address ends
/// where the sentence's words begin (`…はann@example.comです`).
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    let w = format!(r"[\w&&[^{}]]", unspaced_ranges());
    regex(&format!(
        r"{w}[{w}.%+-]*@(?:[{w}-]+\.)+([{w}&&[^\d_]]{{2,}})"
    ))
});

/// File extensions that follow `@2x` in image names.
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "svg", "webp"];

fn emails(text: &str) -> Vec<(usize, usize)> {
    EMAIL
        .captures_iter(text)
        .filter(|c| {
            let tld = c.get(1).map_or("", |m| m.as_str());
            !IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(tld))
        })
        .filter_map(|c| c.get(0))
        .map(|m| (m.start(), m.end()))
        .collect()
}

// ----- IBANs ---------------------------------------------------------------------------------

/// A country code, check digits and the account, compact or in groups of four.
static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b[a-z]{2}[0-9]{2}(?:[a-z0-9]{11,30}|(?: [a-z0-9]{4}){2,7}(?: [a-z0-9]{1,3})?)\b")
});

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

fn ibans(text: &str) -> Vec<(usize, usize)> {
    IBAN.find_iter(text)
        .filter(|m| valid_iban(m.as_str()))
        .map(|m| (m.start(), m.end()))
        .collect()
}

/// The country's length and the ISO 7064 mod-97 check (the remainder must be 1).
pub fn valid_iban(s: &str) -> bool {
    let compact: Vec<u8> = s
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    let Some(country) = compact.get(..2).and_then(|c| std::str::from_utf8(c).ok()) else {
        return false;
    };
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
        return false;
    };
    if compact.len() != len || !compact[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

// ----- card numbers --------------------------------------------------------------------------

/// Digit runs joined by single spaces or dashes.
static DIGIT_CHAIN: LazyLock<Regex> = LazyLock::new(|| regex(r"[0-9]+(?:[ -][0-9]+)*"));

/// Digit runs joined by dots (`4111.1111.1111.1111`): a card only when its groups are as cards
/// print them, never a long run with cents (`4111111111111111.50` is an amount).
static DOTTED_CHAIN: LazyLock<Regex> = LazyLock::new(|| regex(r"[0-9]+(?:\.[0-9]+)+"));

fn card_numbers(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for chain in DIGIT_CHAIN.find_iter(text) {
        cards_in_chain(
            text,
            chain.start(),
            chain.as_str(),
            &[' ', '-'],
            true,
            &mut found,
        );
    }
    if !text.contains('.') {
        return found;
    }
    let plain = found.len();
    for chain in DOTTED_CHAIN.find_iter(text) {
        cards_in_chain(
            text,
            chain.start(),
            chain.as_str(),
            &['.'],
            false,
            &mut found,
        );
    }
    if found.len() > plain {
        found.sort_unstable();
    }
    found
}

/// The card numbers in one chain of digit groups starting at byte `start`, split at `seps`.
/// `spaced`: the groups are spaced or dashed, and a card may be one run of digits or part of
/// the chain; else (dots, which also write versions, addresses and amounts) only the whole
/// chain, in groups, is a card.
fn cards_in_chain(
    text: &str,
    start: usize,
    chain: &str,
    seps: &[char],
    spaced: bool,
    found: &mut Vec<(usize, usize)>,
) {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut at = start;
    for g in chain.split(seps) {
        groups.push((at, at + g.len()));
        at += g.len() + 1;
    }
    let chain = Chain {
        text,
        groups,
        open_start: !card_glued_before(text, start),
        open_end: !card_glued_after(text, start + chain.len()),
    };
    let last = chain.groups.len() - 1;
    if !spaced {
        if last > 0 && chain.longest_card_from(0) == Some(last) {
            found.push((chain.groups[0].0, chain.groups[last].1));
        }
        return;
    }
    let mut i = 0;
    while i < chain.groups.len() {
        match chain.longest_card_from(i) {
            Some(j) => {
                found.push((chain.groups[i].0, chain.groups[j].1));
                i = j + 1;
            }
            None => i += 1,
        }
    }
}

/// A `.` or `,` between digits glues them into one amount (`1,299.00`) when the digits on its
/// other side are a group an amount has (1 to 3); a long run there is another number
/// (`4111111111111111,5500000000000004`: two cards in a list).
fn card_glued_before(text: &str, start: usize) -> bool {
    match prev_char(text, start) {
        Some(c) if glues(c) || c == '_' || c == '+' => true,
        Some('.' | ',') => {
            let run = text[..start - 1]
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .count();
            (1..=3).contains(&run)
        }
        _ => false,
    }
}

fn card_glued_after(text: &str, end: usize) -> bool {
    match next_char(text, end) {
        Some(c) if glues(c) || c == '_' => true,
        Some('.' | ',') => {
            let run = text[end + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .count();
            (1..=3).contains(&run)
        }
        _ => false,
    }
}

/// The digit groups of one [`DIGIT_CHAIN`] match (byte ranges) and whether the chain is
/// free of words and amounts on each side.
struct Chain<'a> {
    text: &'a str,
    groups: Vec<(usize, usize)>,
    open_start: bool,
    open_end: bool,
}

impl Chain<'_> {
    fn len(&self, k: usize) -> usize {
        self.groups[k].1 - self.groups[k].0
    }

    /// The separator between group `k` and group `k + 1`.
    fn sep(&self, k: usize) -> u8 {
        self.text.as_bytes()[self.groups[k].1]
    }

    /// The last group of the longest card number starting at group `i`.
    fn longest_card_from(&self, i: usize) -> Option<usize> {
        let mut digits = 0;
        let mut ends = Vec::new();
        for j in i..self.groups.len() {
            digits += self.len(j);
            if digits > 19 {
                break;
            }
            if digits >= 13 {
                ends.push(j);
            }
        }
        ends.into_iter().rev().find(|&j| self.is_card(i, j))
    }

    fn is_card(&self, i: usize, j: usize) -> bool {
        let last = self.groups.len() - 1;
        if (i == 0 && !self.open_start) || (j == last && !self.open_end) {
            return false;
        }
        let digits: Vec<u8> = self.groups[i..=j]
            .iter()
            .flat_map(|&(s, e)| self.text.as_bytes()[s..e].iter().copied())
            .collect();
        if digits.first() == Some(&b'0') || !luhn(&digits) {
            return false;
        }
        if i == j {
            return true; // one run of digits, bounded by non-digits
        }
        let sep = self.sep(i);
        let grouped = self.len(i) == 4
            && (i + 1..j).all(|k| matches!(self.len(k), 4 | 6))
            && (3..=6).contains(&self.len(j))
            && (i..j).all(|k| self.sep(k) == sep);
        // A neighbouring group of four with the same separator: a longer grouped number.
        let continued_before = i > 0 && self.sep(i - 1) == sep && self.len(i - 1) == 4;
        let continued_after = j < last && self.sep(j) == sep && self.len(j + 1) == 4;
        grouped && !continued_before && !continued_after
    }
}

/// The Luhn checksum of ASCII digits.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d - b'0');
            match (i % 2 == 1, d * 2) {
                (false, _) => d,
                (true, x) if x > 9 => x - 9,
                (true, x) => x,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

// ----- national id numbers -------------------------------------------------------------------

static SSN: LazyLock<Regex> = LazyLock::new(|| regex(r"([0-9]{3})-([0-9]{2})-([0-9]{4})"));
static NINO: LazyLock<Regex> =
    LazyLock::new(|| regex(r"[A-Za-z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Da-d]"));

/// The matches of an id's pattern that pass its check and stand alone (not part of a longer
/// number or word).
fn standing_alone(re: &Regex, text: &str, valid: fn(&str) -> bool) -> Vec<(usize, usize)> {
    matches_where(re, text, |s, start, end| {
        valid(s) && stands_alone(text, start, end)
    })
}

fn ssns(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&SSN, text, valid_ssn)
}

fn ninos(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&NINO, text, valid_nino)
}

/// `s` is `ddd-dd-dddd`.
fn valid_ssn(s: &str) -> bool {
    let (area, group, serial) = (&s[0..3], &s[4..6], &s[7..11]);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// `s` is two letters, six digits (maybe in pairs) and a suffix letter.
fn valid_nino(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| *c != ' ').collect();
    let upper = compact.to_ascii_uppercase();
    let case_ok = compact == upper || (compact == compact.to_ascii_lowercase() && s == compact);
    let b = upper.as_bytes();
    case_ok
        && !b"DFIQUV".contains(&b[0])
        && !b"DFIOQUV".contains(&b[1])
        && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&&upper[0..2])
}

/// A Spanish DNI (`12345678Z`) or NIE (`X1234567L`), the letter optionally after a dash.
static DNI: LazyLock<Regex> = LazyLock::new(|| regex(r"[XYZxyz]?[0-9]{7,8}-?[A-Za-z]"));

fn dnis(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&DNI, text, valid_dni)
}

/// `s` is a DNI (eight digits) or NIE (X, Y or Z and seven digits) whose letter is the
/// check letter of its number: the letter of the remainder by 23 (an NIE's X, Y, Z count as
/// 0, 1, 2 before the digits). One string in 23 passes by chance, so an order number with a
/// letter after it rarely does.
fn valid_dni(s: &str) -> bool {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let b = s.as_bytes();
    let (lead, rest) = match b[0].to_ascii_uppercase() {
        b'X' => (Some(0u64), &b[1..]),
        b'Y' => (Some(1), &b[1..]),
        b'Z' => (Some(2), &b[1..]),
        _ => (None, b),
    };
    let letter = rest[rest.len() - 1];
    let digits: Vec<u8> = rest.iter().copied().filter(u8::is_ascii_digit).collect();
    let upper_or_compact = letter.is_ascii_uppercase() || !s.contains('-');
    let expected = if lead.is_some() { 7 } else { 8 };
    if digits.len() != expected || !upper_or_compact {
        return false;
    }
    let number = digits
        .iter()
        .fold(lead.unwrap_or(0), |n, d| n * 10 + u64::from(d - b'0'));
    LETTERS[(number % 23) as usize] == letter.to_ascii_uppercase()
}

/// The digits of `s` as numbers 0–9.
fn digit_values(s: &str) -> Vec<u32> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .collect()
}

/// A Brazilian CPF, `123.456.789-09` or `123456789-09`.
static CPF: LazyLock<Regex> =
    LazyLock::new(|| regex(r"[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}|[0-9]{9}-[0-9]{2}"));

fn cpfs(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&CPF, text, valid_cpf)
}

/// `s` is a CPF whose two check digits are right: each is 11 minus the remainder by 11 of
/// the digits before it weighted 10, 9, … (11, 10, … for the second), or 0 where that is
/// 10 or 11. Eleven equal digits pass the check and are never issued. (Both remainders 0 and
/// 1 give the digit 0, so about one single-digit error in 550 still passes.)
fn valid_cpf(s: &str) -> bool {
    let d = digit_values(s);
    let check = |n: usize| {
        let sum: u32 = (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum();
        (sum * 10) % 11 % 10
    };
    d.len() == 11 && d.iter().any(|&x| x != d[0]) && check(9) == d[9] && check(10) == d[10]
}

/// An Indian Aadhaar number in three groups of four, the same separator between them.
static AADHAAR: LazyLock<Regex> =
    LazyLock::new(|| regex(r"[2-9][0-9]{3} [0-9]{4} [0-9]{4}|[2-9][0-9]{3}-[0-9]{4}-[0-9]{4}"));

fn aadhaars(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&AADHAAR, text, |s| verhoeff(&digit_values(s)))
}

/// The Verhoeff check (dihedral group D5) of digits whose last is the check digit: it
/// catches every single-digit error and every swap of neighbours.
fn verhoeff(digits: &[u32]) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let c = digits.iter().rev().enumerate().fold(0u8, |c, (i, &d)| {
        D[usize::from(c)][usize::from(P[i % 8][d as usize])]
    });
    !digits.is_empty() && c == 0
}

/// An Indian PAN: five letters, four digits, a letter; the fourth letter says who holds it
/// (P a person, C a company, H a family, F a firm, A an association, T a trust, B a body of
/// individuals, L a local authority, J a juridical person, G the government). Its last letter
/// is a check character whose rule is not published, so the form alone decides: a code of
/// that exact shape (`BLACK2025F`) is taken for one.
static PAN: LazyLock<Regex> = LazyLock::new(|| regex(r"[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z]"));

fn pans(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&PAN, text, |_| true)
}

/// An Italian codice fiscale: six letters of the names, the year, a month letter, the day
/// (plus 40 for women), the place's letter and three digits, and a check letter; in upper or
/// in lower case (typed into a phone), not in both.
static CODICE_FISCALE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"[A-Z]{6}[0-9]{2}[ABCDEHLMPRST][0-7][0-9][A-Z][0-9]{3}[A-Z]|[a-z]{6}[0-9]{2}[abcdehlmprst][0-7][0-9][a-z][0-9]{3}[a-z]",
    )
});

fn codici_fiscali(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&CODICE_FISCALE, text, valid_codice_fiscale)
}

/// `s` (16 letters and digits, its letters in one case) ends with its check letter: the sum of its first
/// fifteen characters' values, by the table for odd positions and by their value (0–9 for a
/// digit, 0–25 for a letter) for even ones, modulo 26.
fn valid_codice_fiscale(s: &str) -> bool {
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let b = s.as_bytes();
    if b.len() != 16 {
        return false;
    }
    let value = |c: u8| {
        u32::from(if c.is_ascii_digit() {
            c - b'0'
        } else {
            c.to_ascii_uppercase() - b'A'
        })
    };
    let sum: u32 = b[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i % 2 == 0 {
                ODD[value(c) as usize]
            } else {
                value(c)
            }
        })
        .sum();
    value(b[15]) == sum % 26
}

/// A Chinese resident identity number: a region, a birth date `YYYYMMDD`, a sequence and a
/// check character.
static CHINA_ID: LazyLock<Regex> = LazyLock::new(|| regex(r"[1-9][0-9]{16}[0-9Xx]"));

fn china_ids(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&CHINA_ID, text, valid_china_id)
}

/// `s` has a birth date of 1900–2099 and its ISO 7064 mod 11-2 check character (`X` or `x`).
fn valid_china_id(s: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let d = digit_values(&s[..17]);
    let number = |from: usize, to: usize| d[from..to].iter().fold(0, |n, x| n * 10 + x);
    let (year, month, day) = (number(6, 10), number(10, 12), number(12, 14));
    let sum: u32 = d.iter().zip(WEIGHTS).map(|(x, w)| x * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    (1900..=2099).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && s.as_bytes()[17].to_ascii_uppercase() == check
}

/// A French NIR: sex, year, month, département, commune, order and key, in groups separated
/// by single spaces or written together.
static NIR: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"[12] ?[0-9]{2} ?(?:0[1-9]|1[0-2]) ?(?:[0-9]{2}|2[ABab]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}")
});

fn nirs(text: &str) -> Vec<(usize, usize)> {
    standing_alone(&NIR, text, valid_nir)
}

/// `s` is written in its seven groups or all together, and its key is 97 minus its first 13
/// digits modulo 97 (Corsica's `2A` and `2B` counting as 19 and 18).
fn valid_nir(s: &str) -> bool {
    let spaces = s.bytes().filter(|&b| b == b' ').count();
    if spaces != 0 && spaces != 6 {
        return false;
    }
    let compact: Vec<u8> = s.bytes().filter(|&b| b != b' ').collect();
    let dept = match &compact[5..7] {
        b"2A" | b"2a" => Some(19),
        b"2B" | b"2b" => Some(18),
        _ => None,
    };
    let number = |bytes: &[u8]| {
        bytes
            .iter()
            .fold(0u64, |n, &b| n * 10 + u64::from(b.wrapping_sub(b'0')))
    };
    let head = match dept {
        // The département's two characters stand for its two digits.
        Some(d) => number(&compact[..5]) * 100_000_000 + d * 1_000_000 + number(&compact[7..13]),
        None => number(&compact[..13]),
    };
    number(&compact[13..15]) == 97 - head % 97
}

// ----- phone numbers -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhoneForm {
    /// `+` and a country code.
    International,
    /// `555-123-4567` and its dotted, spaced and `1-` prefixed forms.
    NorthAmerican,
    /// `(555) 123-4567`, `(030) 1234567`.
    AreaInParentheses,
    /// A trunk `0` (or an international `00`) and groups: `030 1234567`, `06 12 34 56 78`.
    Trunk,
    /// Spain's nine digits without a trunk prefix, first digit 6 to 9, grouped:
    /// `612 345 678`, `612 34 56 78`.
    Spanish,
}

/// The forms, each as a regex. Repetitions are bounded (a phone number has at most 15
/// digits) so that a rejected match is short and the search after it stays linear; a longer
/// run is then rejected because more digits continue it.
static PHONE_FORMS: LazyLock<Vec<(PhoneForm, Regex)>> = LazyLock::new(|| {
    use PhoneForm::*;
    [
        (
            International,
            r"\+[0-9]{1,15}(?:(?:[ .\-]|[ ]?\(|\)[ .\-]?)[0-9]{1,15}){0,15}",
        ),
        (NorthAmerican, r"(?:1-)?[0-9]{3}-[0-9]{3}-[0-9]{4}"),
        (NorthAmerican, r"(?:1\.)?[0-9]{3}\.[0-9]{3}\.[0-9]{4}"),
        (NorthAmerican, r"(?:1 )?[0-9]{3} [0-9]{3} [0-9]{4}"),
        (
            AreaInParentheses,
            r"(?:1[ -]?)?\([0-9]{2,5}\) ?[0-9]{2,8}(?:[ .\-][0-9]{2,8}){0,5}",
        ),
        (Trunk, r"0[0-9]{1,4}(?: [0-9]{2,8}){1,6}"),
        (Trunk, r"0[0-9]{1,4}(?:-[0-9]{2,8}){1,6}"),
        (Trunk, r"0[0-9]{1,4}(?:\.[0-9]{2,8}){1,6}"),
        (Trunk, r"0[0-9]{1,4}/[0-9]{2,8}(?:[ \-][0-9]{2,8}){0,5}"),
        (Spanish, r"[6-9][0-9]{2} [0-9]{3} [0-9]{3}"),
        (Spanish, r"[6-9][0-9]{2} [0-9]{2} [0-9]{2} [0-9]{2}"),
    ]
    .into_iter()
    .map(|(form, pattern)| (form, regex(pattern)))
    .collect()
});

fn phone_numbers(text: &str) -> Vec<(usize, usize)> {
    PHONE_FORMS
        .iter()
        .flat_map(|(form, re)| {
            matches_where(re, text, |s, start, end| {
                valid_phone(*form, s)
                    && !looks_like_date(s)
                    && stands_alone(text, start, end)
                    && !named_as_an_id(text, start)
            })
        })
        .collect()
}

/// Words that, just before a number, say it is not a phone number: `Order 123-456-7890`,
/// `ticket no. 555 123 4567`, `Rechnung 030 1234567`.
const ID_WORDS: &[&str] = &[
    "account",
    "acct",
    "article",
    "auftrag",
    "booking",
    "case",
    "confirmation",
    "id",
    "invoice",
    "item",
    "kundennummer",
    "order",
    "parcel",
    "po",
    "product",
    "receipt",
    "ref",
    "reference",
    "rechnung",
    "reservation",
    "serial",
    "shipment",
    "sku",
    "ticket",
    "tracking",
    "transaction",
];

/// Words that stand between an id word and its number: `order no. 555-123-4567`.
const NUMBER_WORDS: &[&str] = &["no", "nr", "num", "number"];

/// Is the number at `start` introduced as an id (`Order #`, `ticket no.`, `Ref:`)?
fn named_as_an_id(text: &str, start: usize) -> bool {
    let mut before = &text[..start];
    for _ in 0..2 {
        let trimmed = before.trim_end_matches(|c: char| c.is_whitespace() || "#:.-".contains(c));
        let word_start = trimmed
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphabetic())
            .last()
            .map_or(trimmed.len(), |(i, _)| i);
        let word = trimmed[word_start..].to_lowercase();
        if ID_WORDS.contains(&word.as_str()) {
            return true;
        }
        if !NUMBER_WORDS.contains(&word.as_str()) {
            return false;
        }
        before = &trimmed[..word_start];
    }
    false
}

fn valid_phone(form: PhoneForm, s: &str) -> bool {
    let digits = digit_count(s);
    match form {
        PhoneForm::International => {
            let trunk_in_parens = usize::from(s.contains("(0)"));
            (8..=15).contains(&(digits - trunk_in_parens)) && one_pair_of_parentheses_at_most(s)
        }
        PhoneForm::NorthAmerican => true,
        // `700 000 000` is an amount written with spaces, not a number to call.
        PhoneForm::Spanish => !s.split(' ').skip(1).all(|g| g.bytes().all(|b| b == b'0')),
        PhoneForm::AreaInParentheses => (9..=12).contains(&digits),
        PhoneForm::Trunk => {
            let first = s.split([' ', '-', '.', '/']).next().unwrap_or(s);
            if first.bytes().all(|b| b == b'0') {
                false
            } else if let Some(rest) = s.strip_prefix("00") {
                !rest.starts_with('0') && (10..=15).contains(&digits)
            } else {
                (9..=12).contains(&digits)
            }
        }
    }
}

fn one_pair_of_parentheses_at_most(s: &str) -> bool {
    let open = s.matches('(').count();
    let close = s.matches(')').count();
    match (open, close) {
        (0, 0) => true,
        (1, 1) => s.find('(') < s.find(')'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FindingKind::*;

    fn policy(on: OnPersonalData, banned: &[&str]) -> GuardPolicy {
        let banned: Vec<String> = banned.iter().map(|s| (*s).to_owned()).collect();
        GuardPolicy::new(on, &banned).unwrap()
    }

    /// Every finding under the default policy, as (kind, the text it covers).
    fn found(text: &str) -> Vec<(FindingKind, &str)> {
        found_with(text, &GuardPolicy::default())
    }

    fn found_with<'a>(text: &'a str, policy: &GuardPolicy) -> Vec<(FindingKind, &'a str)> {
        check(text, policy)
            .findings()
            .iter()
            .map(|f| (f.kind.clone(), &text[f.start..f.end]))
            .collect()
    }

    /// (text, the one finding of `kind` expected, or None for none at all)
    fn run_table(kind: FindingKind, table: &[(&str, Option<&str>)]) {
        for (text, want) in table {
            let want: Vec<(FindingKind, &str)> = want.iter().map(|w| (kind.clone(), *w)).collect();
            assert_eq!(found(text), want, "in {text:?}");
        }
    }

    #[test]
    fn luhn_checksum() {
        for (digits, ok) in [
            ("4111111111111111", true),
            ("4111111111111112", false),
            ("5555555555554444", true),
            ("378282246310005", true),
            ("1234567890123456", false),
            ("0", true),
            ("18", true),
            ("19", false),
        ] {
            assert_eq!(luhn(digits.as_bytes()), ok, "{digits}");
        }
    }

    /// A card or national id number is hidden but its last four digits or letters, wherever
    /// it stands; the rest (an IBAN, an address, a phone number) stays.
    #[test]
    fn card_and_id_numbers_are_hidden_for_showing() {
        assert_eq!(
            hide_card_and_id_numbers(
                "SSN 123-45-6789, NI AB 12 34 56 C? CF rssmra85t10a562s; 身份证号11010519491231002X。"
            ),
            "SSN •••• 6789, NI •••• 456C? CF •••• 562s; 身份证号•••• 002X。"
        );
        assert_eq!(
            hide_card_and_id_numbers(
                "NIR 2 69 05 2A 123 456 88, DNI 12345678-Z, NIE X1234567L, aadhaar 2345 6789 0124"
            ),
            "NIR •••• 5688, DNI •••• 678Z, NIE •••• 567L, aadhaar •••• 0124"
        );
        // A PAN is known by its form alone, which a promotion code can have: it stays.
        assert_eq!(
            hide_card_and_id_numbers("PAN ABCPE1234F, code BLACK2025F"),
            "PAN ABCPE1234F, code BLACK2025F"
        );
        assert_eq!(
            hide_card_and_id_numbers("IBAN GB82 WEST 1234 5698 7654 32, +44 20 7946 0958"),
            "IBAN GB82 WEST 1234 5698 7654 32, +44 20 7946 0958"
        );
        assert_eq!(last_four("１２３-４５-６７８９"), "6789");
        assert_eq!(last_four("rssmra85t10a562s"), "562s");
        assert_eq!(last_four("12"), "12");
        assert_eq!(
            hide_card_and_id_numbers(
                "card 4111 1111 1111 1111, or 5500000000000004? ann@example.com"
            ),
            "card •••• 1111, or •••• 0004? ann@example.com"
        );
        assert_eq!(
            hide_card_and_id_numbers("order 4111111111111112"),
            "order 4111111111111112"
        );
        assert_eq!(
            hide_card_and_id_numbers("café ☕ 4111111111111111"),
            "café ☕ •••• 1111"
        );
    }

    /// Full-width digits and marks are read as ASCII ones; positions stay the original's.
    #[test]
    fn full_width_forms_are_read_as_ascii() {
        let text =
            "カード ４１１１ １１１１ １１１１ １１１１ です、ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ";
        let found = personal_data(text);
        let kinds: Vec<(&FindingKind, &str)> = found
            .iter()
            .map(|f| (&f.kind, &text[f.start..f.end]))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    &FindingKind::CardNumber,
                    "４１１１ １１１１ １１１１ １１１１"
                ),
                (&FindingKind::Email, "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
            ]
        );
        assert_eq!(
            hide_card_and_id_numbers(text),
            "カード •••• 1111 です、ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"
        );
        // The ideographic space between groups, and a Luhn failure still no card.
        assert_eq!(
            personal_data("４１１１\u{3000}１１１１\u{3000}１１１１\u{3000}１１１１").len(),
            1
        );
        assert!(personal_data("注文 ４１１１１１１１１１１１１１１２").is_empty());
        // Written without spaces, as these languages are: the number and the address end
        // where the words begin.
        let text = "カード番号は４１１１１１１１１１１１１１１１です。メールはａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍです";
        let kinds: Vec<(FindingKind, &str)> = personal_data(text)
            .into_iter()
            .map(|f| (f.kind, &text[f.start..f.end]))
            .collect();
        assert_eq!(
            kinds,
            [
                (FindingKind::CardNumber, "４１１１１１１１１１１１１１１１"),
                (FindingKind::Email, "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
            ]
        );
        let text = "카드번호는4111111111111111입니다 電話は030 1234567まで";
        let kinds: Vec<FindingKind> = personal_data(text).into_iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [FindingKind::CardNumber, FindingKind::Phone],
            "{text}"
        );
        // A Latin letter still glues: an identifier, not a card.
        assert!(personal_data("ID4111111111111111です").is_empty());
        // The outbound guard sees it too.
        let policy = GuardPolicy::new(OnPersonalData::Block, &[]).unwrap();
        assert!(matches!(
            check("カード ４１１１１１１１１１１１１１１１", &policy),
            Verdict::Blocked { .. }
        ));
    }

    /// Texts pieced together from full-width and ASCII digits, CJK words, separators and
    /// addresses: never a panic, every finding on character boundaries, and the same kinds
    /// found as in the text typed in ASCII.
    #[test]
    fn property_full_width_text_is_found_as_its_ascii_form() {
        const PIECES: &[&str] = &[
            "４",
            "１",
            "0",
            "4",
            "1",
            "９",
            "５",
            "５",
            " ",
            "\u{3000}",
            "－",
            "-",
            ".",
            "．",
            "＠",
            "@",
            "ａｎｎ",
            "ann",
            "ｅｘａｍｐｌｅ．ｃｏｍ",
            "example.com",
            "カード",
            "です",
            "番号",
            "는",
            "é",
            "😀",
            "4111 1111 1111 1111",
            "４１１１ １１１１ １１１１ １１１１",
            "+44 20 7946 0958",
            "＋４４ ２０ ７９４６ ０９５８",
        ];
        let mut rng = Digits(0x51f1_5eed_c0ff_ee11);
        let mut wide_found = 0;
        for _ in 0..20_000 {
            let n = 1 + rng.next(10) as usize;
            let text: String = (0..n)
                .map(|_| PIECES[rng.next(PIECES.len() as u64) as usize])
                .collect();
            let found = personal_data(&text);
            for f in &found {
                assert!(
                    f.start < f.end
                        && text.is_char_boundary(f.start)
                        && text.is_char_boundary(f.end),
                    "{text:?}: {f:?}"
                );
            }
            if text.chars().any(|c| narrow(c) != c) {
                wide_found += found.len();
            }
            let ascii: String = text.chars().map(narrow).collect();
            let kinds = |v: &[Finding]| v.iter().map(|f| f.kind.clone()).collect::<Vec<_>>();
            assert_eq!(kinds(&found), kinds(&personal_data(&ascii)), "{text:?}");
            // Hiding keeps the text around the cards and ids as it was.
            let hidden = hide_card_and_id_numbers(&text);
            let hides: Vec<&Finding> = found
                .iter()
                .filter(|f| f.kind.is_hidden_when_shown(&text[f.start..f.end]))
                .collect();
            assert!(!hides.is_empty() || hidden == text, "{text:?}");
            // What is hidden does not survive whole: each hidden number is written once less
            // (the same digits may stand elsewhere unfound, glued to a word).
            for f in &hides {
                let whole = &text[f.start..f.end];
                let times = hides
                    .iter()
                    .filter(|h| &text[h.start..h.end] == whole)
                    .count();
                assert!(
                    hidden.matches(whole).count() + times <= text.matches(whole).count(),
                    "{whole:?} in {hidden:?} (from {text:?})"
                );
            }
        }
        assert!(wide_found > 1000, "the pieces make findings ({wide_found})");
    }

    /// Two cards in a list, joined by a comma or a dot, are two cards; an amount stays one.
    #[test]
    fn cards_in_a_list_are_each_found() {
        for text in [
            "4111111111111111,5500000000000004",
            "4111111111111111.5500000000000004",
        ] {
            assert_eq!(
                found(text),
                [
                    (FindingKind::CardNumber, "4111111111111111"),
                    (FindingKind::CardNumber, "5500000000000004")
                ],
                "{text}"
            );
        }
        // Up to three digits after the mark are an amount's (a card with cents is no card);
        // four or more, another number.
        assert!(found("4111111111111111.123").is_empty());
        assert_eq!(
            found("4111111111111111.1234"),
            [(FindingKind::CardNumber, "4111111111111111")]
        );
    }

    #[test]
    fn card_numbers_table() {
        run_table(
            CardNumber,
            &[
                (
                    "Card 4111 1111 1111 1111 was charged",
                    Some("4111 1111 1111 1111"),
                ),
                ("4111111111111111", Some("4111111111111111")),
                ("4111-1111-1111-1111.", Some("4111-1111-1111-1111")),
                // Dotted as some people write them; a long run with cents is an amount.
                ("my card 4111.1111.1111.1111.", Some("4111.1111.1111.1111")),
                ("amex 3782.822463.10005", Some("3782.822463.10005")),
                ("4111.1111.1111.1112", None),
                ("v1.4111.1111.1111.1111", None),
                ("4111.1111.1111.1111.1111", None),
                ("ip 10.4111.1111.1111", None),
                (
                    "Mastercard 5555 5555 5555 4444",
                    Some("5555 5555 5555 4444"),
                ),
                ("amex 3782 822463 10005 ok", Some("3782 822463 10005")),
                ("amex 378282246310005", Some("378282246310005")),
                ("diners 3056 930902 5904", Some("3056 930902 5904")),
                ("visa-13 4222222222222", Some("4222222222222")),
                (
                    "19 digits 6304 0000 0000 0000 000",
                    Some("6304 0000 0000 0000 000"),
                ),
                ("(4111111111111111)", Some("4111111111111111")),
                (
                    "card: 4111 1111 1111 1111, exp 12/27",
                    Some("4111 1111 1111 1111"),
                ),
                ("4111 1111 1111 1111 12/27", Some("4111 1111 1111 1111")),
                ("ref 12 4111111111111111", Some("4111111111111111")),
                // Luhn fails: an order number, not a card.
                ("Card 4111 1111 1111 1112 was charged", None),
                ("order 1234567890123456", None),
                ("Order #100234567", None),
                // Inside a longer digit run or a longer grouped number.
                ("41111111111111111111111", None),
                ("94004111111111111111", None),
                ("tracking 9400 4111 1111 1111 1111 00", None),
                ("4111 1111 1111 1111 1111", None),
                // Glued to a word, a plus sign or a decimal point.
                ("ID4111111111111111", None),
                ("4111111111111111abc", None),
                ("+4111111111111111", None),
                ("1.4111111111111111", None),
                ("4111111111111111,5", None),
                // Mixed separators, double spaces, odd grouping, leading zero.
                ("4111 1111-1111 1111", None),
                ("4111  1111  1111  1111", None),
                ("41 1111 1111 1111 11", None),
                ("04111111111111111", None),
                ("ISBN 978-3-16-148410-0", None),
                ("too short 411111111111", None),
            ],
        );
    }

    #[test]
    fn national_ids_table() {
        run_table(
            NationalId,
            &[
                ("SSN 123-45-6789 on file", Some("123-45-6789")),
                ("ssn:078-05-1120.", Some("078-05-1120")),
                ("(665-01-0001)", Some("665-01-0001")),
                ("SSN 000-45-6789", None),
                ("SSN 666-45-6789", None),
                ("SSN 900-45-6789", None),
                ("SSN 999-45-6789", None),
                ("SSN 123-00-6789", None),
                ("SSN 123-45-0000", None),
                ("123456789", None),
                ("1123-45-6789", None),
                ("123-45-67890", None),
                ("123-45-6789-1", None),
                ("X-123-45-6789", None),
                ("#123-45-6789", None),
                ("NI number AB 12 34 56 C.", Some("AB 12 34 56 C")),
                ("NI number AB123456C", Some("AB123456C")),
                ("ni ab123456c", Some("ab123456c")),
                ("JG 10 37 26 D", Some("JG 10 37 26 D")),
                ("AB 12 34 56 E", None),
                ("DA123456C", None),
                ("AO123456C", None),
                ("QQ123456C", None),
                ("GB123456A", None),
                ("ZZ123456A", None),
                ("NT 12 34 56 A", None),
                ("ab 12 34 56 c", None),
                ("Ab123456C", None),
                ("XAB123456C", None),
                ("AB123456CD", None),
                ("AB1234567C", None),
                ("mi DNI es 12345678Z, gracias", Some("12345678Z")),
                ("DNI 12345678-Z", Some("12345678-Z")),
                ("dni 12345678z", Some("12345678z")),
                ("NIE X1234567L", Some("X1234567L")),
                ("NIE Y1234567X", Some("Y1234567X")),
                ("12345678A", None),
                ("X1234567A", None),
                ("1234567Z", None),
                ("A12345678Z", None),
                ("123456789Z", None),
                ("12345678ZZ", None),
                // Brazil, India, Italy, China.
                ("meu CPF é 529.982.247-25.", Some("529.982.247-25")),
                ("CPF 529982247-25", Some("529982247-25")),
                ("CPF 529.982.247-26", None),
                ("CPF 529.982247-25", None),
                ("CPF 111.111.111-11", None),
                ("1529.982.247-25", None),
                ("Aadhaar 2345 6789 0124 please", Some("2345 6789 0124")),
                ("aadhaar: 2345-6789-0124", Some("2345-6789-0124")),
                ("2345 6789 0125", None),
                ("2345 6789-0124", None),
                ("1345 6789 0124", None),
                ("4111 2345 6789 0124", None),
                ("PAN ABCPE1234F.", Some("ABCPE1234F")),
                ("PAN ABCXE1234F", None),
                ("pan abcpe1234f", None),
                ("XABCPE1234F", None),
                ("CF RSSMRA85T10A562S", Some("RSSMRA85T10A562S")),
                ("CF RSSMRA85T10A562T", None),
                ("cf rssmra85t10a562s", Some("rssmra85t10a562s")),
                ("cf rssmra85t10a562t", None),
                ("CF RssMRA85T10A562S", None),
                ("CF RSSMRA85T10A562s", None),
                ("CF RSSMRA85Z10A562S", None),
                ("身份证号11010519491231002X。", Some("11010519491231002X")),
                ("ID 11010519491231002x", Some("11010519491231002x")),
                ("ID 110105194912310021", None),
                ("ID 11010518491231002X", None),
                (
                    "n° sécu 1 85 05 78 006 084 91",
                    Some("1 85 05 78 006 084 91"),
                ),
                ("NIR 185057800608491.", Some("185057800608491")),
                ("NIR 2 69 05 2A 123 456 88", Some("2 69 05 2A 123 456 88")),
                ("1 85 05 78 006 084 92", None),
                ("1 85 05 78006 084 91", None),
                ("3 85 05 78 006 084 91", None),
                ("1 85 13 78 006 084 91", None),
            ],
        );
    }

    /// Each national id found is named by its scheme; other text is none.
    #[test]
    fn a_national_id_names_its_scheme() {
        for (text, scheme) in [
            ("SSN 123-45-6789 on file", IdScheme::UsSsn),
            ("NI number AB 12 34 56 C.", IdScheme::UkNino),
            ("NIE X1234567L", IdScheme::EsDni),
            ("DNI 12345678-Z", IdScheme::EsDni),
            ("meu CPF é 529.982.247-25.", IdScheme::BrCpf),
            ("aadhaar: 2345-6789-0124", IdScheme::InAadhaar),
            ("PAN ABCPE1234F.", IdScheme::InPan),
            ("CF RSSMRA85T10A562S", IdScheme::ItCodiceFiscale),
            ("身份证号11010519491231002X。", IdScheme::CnResidentId),
            ("NIR 2 69 05 2A 123 456 88", IdScheme::FrNir),
            // Full-width digits are read as ASCII ones.
            ("SSN １２３-４５-６７８９", IdScheme::UsSsn),
        ] {
            let found = personal_data(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert_eq!(found[0].kind, NationalId, "{text}");
            let id = &text[found[0].start..found[0].end];
            assert_eq!(IdScheme::of(id), Some(scheme), "{text}");
            assert_eq!(IdScheme::by_code(scheme.code()), Some(scheme));
        }
        for other in ["4111 1111 1111 1111", "ann@example.com", "123-45-67890", ""] {
            assert_eq!(IdScheme::of(other), None, "{other}");
        }
    }

    #[test]
    fn emails_table() {
        run_table(
            Email,
            &[
                ("write to ann.lee@example.com.", Some("ann.lee@example.com")),
                (
                    "<ann+vip@mail.example.co.uk>",
                    Some("ann+vip@mail.example.co.uk"),
                ),
                ("mailto:SUPPORT@Example.ORG", Some("SUPPORT@Example.ORG")),
                ("jörg@müller.de schreibt", Some("jörg@müller.de")),
                ("...ann@example.com", Some("ann@example.com")),
                (
                    "4111111111111111@example.com",
                    Some("4111111111111111@example.com"),
                ),
                ("thanks @ann for the tip", None),
                ("hi@everyone", None),
                ("user@localhost", None),
                ("see logo@2x.png", None),
                ("ann@example.c", None),
                ("price @ 5.99", None),
            ],
        );
    }

    #[test]
    fn phone_numbers_table() {
        run_table(
            Phone,
            &[
                ("Call (555) 123-4567 today", Some("(555) 123-4567")),
                ("Call 555-123-4567.", Some("555-123-4567")),
                ("Call 555.123.4567", Some("555.123.4567")),
                ("Call 555 123 4567", Some("555 123 4567")),
                ("Call 1-800-555-0199", Some("1-800-555-0199")),
                ("Call 1 (800) 555-0199", Some("1 (800) 555-0199")),
                ("Call 555-123-4567 24/7", Some("555-123-4567")),
                ("Ruf an: 030 1234567", Some("030 1234567")),
                ("Ruf an: 030/1234567", Some("030/1234567")),
                ("Ruf an: 030-1234567", Some("030-1234567")),
                ("Ruf an: (030) 1234567", Some("(030) 1234567")),
                ("call 020 7946 0958 now", Some("020 7946 0958")),
                ("appelez le 06 12 34 56 78", Some("06 12 34 56 78")),
                ("appelez le 06.12.34.56.78", Some("06.12.34.56.78")),
                ("call 0044 20 7946 0958", Some("0044 20 7946 0958")),
                ("call +1 (555) 123-4567", Some("+1 (555) 123-4567")),
                ("call +44 (0)20 7946 0958.", Some("+44 (0)20 7946 0958")),
                ("call +44 20 7946 0958", Some("+44 20 7946 0958")),
                ("call +49-30-1234567", Some("+49-30-1234567")),
                ("call +33 1 23 45 67 89", Some("+33 1 23 45 67 89")),
                ("call +1.555.123.4567", Some("+1.555.123.4567")),
                ("llámame al 612 345 678", Some("612 345 678")),
                ("llámame al 912 34 56 78.", Some("912 34 56 78")),
                ("(+4930123456)", Some("+4930123456")),
                // Luhn-valid, but after a plus sign it is a phone number, not a card.
                ("call +4930123456786", Some("+4930123456786")),
                // Dates, times, prices, amounts, short numbers.
                ("on 2026-11-23 at 10:30", None),
                ("on 23.11.2026 or 01.12.2026", None),
                ("on 01-12-2026", None),
                ("on +2026-11-23", None),
                ("open 0930-1730", None),
                ("open 09.30-17.30", None),
                ("now $1,299.00", None),
                ("now € 1.299,00 or 1 299 000 €", None),
                ("now $555 123 4567", None),
                ("call 555-1234", None),
                ("code 12345", None),
                ("+1 for this idea", None),
                ("+30 days", None),
                ("+49 30 123", None),
                // Ids: glued to letters or symbols, or part of longer numbers.
                ("Order #100234567", None),
                ("Order #555-123-4567", None),
                ("ORD-555-123-4567", None),
                ("A555-123-4567", None),
                ("555-123-4567-B", None),
                ("555-123-4567x89", None),
                ("v555.123.4567", None),
                ("1555-123-4567", None),
                ("555 123 4567 8901", None),
                ("2024 555 123 4567", None),
                ("5551234567", None),
                ("07700900123", None),
                ("tracking 1Z999AA10123456784", None),
                ("IBAN DE88 3704 0044 0532 0130 00", None), // check digits wrong: not an IBAN, and not a phone,
                ("+1 555 123 4567 890 123", None),
                ("0000 123 4567", None),
                ("000 1234 5678", None),
                ("12 34 56 78 90", None),
                ("un total de 700 000 000 €", None),
                ("512 345 678", None),
                ("6123 456 789", None),
                ("100-200 items", None),
                ("4111 1111 1111 1112", None),
                ("ratio 1:555-123-4567", None),
                // Introduced as an id.
                ("Order 123-456-7890 is on its way", None),
                ("Ticket: 555 123 4567", None),
                ("order no. 555-123-4567", None),
                ("Rechnung Nr. 030 1234567", None),
                ("Tel. no. 555-123-4567", Some("555-123-4567")),
                ("my number: 555-123-4567", Some("555-123-4567")),
                ("for your order, call 555-123-4567", Some("555-123-4567")),
                ("tel:+1-555-123-4567", Some("+1-555-123-4567")),
            ],
        );
    }

    #[test]
    fn a_card_number_is_never_also_a_phone_number() {
        for text in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555 5555 5555 4444",
            "4930123456786",
        ] {
            assert_eq!(found(text), [(CardNumber, text)], "{text}");
        }
    }

    #[test]
    fn banned_phrases_table() {
        let p = policy(
            OnPersonalData::Allow,
            &["refund", "guaranteed refund", "Ü-Bahn", "100%", "straße"],
        );
        // (text, the phrases found, as written in the text)
        let table: &[(&str, &[&str])] = &[
            ("We offer a refund.", &["refund"]),
            ("REFUND!", &["REFUND"]),
            ("(Refund)", &["Refund"]),
            ("It was refunded", &[]),
            ("nonrefund policy", &[]),
            ("refund_2", &["refund"]),
            ("A guaranteed refund!", &["guaranteed refund"]),
            ("A Guaranteed\n   REFUND", &["Guaranteed\n   REFUND"]),
            ("A guaranteedrefund", &[]),
            ("a refund, a refund", &["refund", "refund"]),
            ("ü-bahn fährt", &["ü-bahn"]),
            ("Ü-Bahnhof", &[]),
            ("100% sure", &["100%"]),
            ("1100% sure", &[]),
            ("STRASSE", &[]),
            ("Hauptstraße 5", &[]),
            ("die STRAßE", &["STRAßE"]),
            ("", &[]),
        ];
        for (text, want) in table {
            let got: Vec<&str> = found_with(text, &p).into_iter().map(|(_, s)| s).collect();
            assert_eq!(&got, want, "in {text:?}");
        }
        // The finding names the phrase as configured, the longest phrase wins.
        assert_eq!(
            found_with("A GUARANTEED refund", &p),
            [(
                BannedPhrase("guaranteed refund".into()),
                "GUARANTEED refund"
            )]
        );
    }

    #[test]
    fn phrases_are_checked_when_the_policy_is_built() {
        let bad = GuardPolicy::new(OnPersonalData::Block, &["ok".into(), "  ".into()]);
        assert_eq!(
            bad.unwrap_err().to_string(),
            "banned phrase 2 is empty: \"  \""
        );
        assert!(GuardPolicy::new(OnPersonalData::Block, &[String::new()]).is_err());
        let p = policy(
            OnPersonalData::Redact,
            &[" Guaranteed refund ", "guaranteed  REFUND", "lawsuit"],
        );
        assert_eq!(p.banned_phrases(), ["Guaranteed refund", "lawsuit"]);
        assert_eq!(p.on_personal_data(), OnPersonalData::Redact);
        let d = GuardPolicy::default();
        assert_eq!(d.on_personal_data(), OnPersonalData::Block);
        assert!(d.banned_phrases().is_empty());
    }

    #[test]
    fn verdicts_and_explanations() {
        let block = GuardPolicy::default();
        let redact = policy(OnPersonalData::Redact, &["guaranteed refund"]);
        let allow = policy(OnPersonalData::Allow, &["guaranteed refund"]);
        // (policy, text, explanation, redacted text if redacted)
        let table: &[(&GuardPolicy, &str, &str, Option<&str>)] = &[
            (&block, "", "passed", None),
            (&block, "Thanks, we are on it!", "passed", None),
            (
                &block,
                "Card 4111 1111 1111 1111",
                "blocked: contains a card number",
                None,
            ),
            (
                &block,
                "4111 1111 1111 1111 / ann@example.com",
                "blocked: contains a card number and an e-mail address",
                None,
            ),
            (
                &block,
                "ann@example.com, 555-123-4567, 555-123-4568, 123-45-6789",
                "blocked: contains a national id number, an e-mail address and 2 phone numbers",
                None,
            ),
            (
                &redact,
                "Call us on 555-123-4567 :)",
                "redacted: a phone number",
                Some("Call us on [phone number removed] :)"),
            ),
            (
                &redact,
                "Is 4111 1111 1111 1111 yours? Mail ann@example.com.",
                "redacted: a card number and an e-mail address",
                Some("Is [card number removed] yours? Mail [e-mail address removed]."),
            ),
            (
                &redact,
                "SSN 123-45-6789, NI AB123456C",
                "redacted: 2 national id numbers",
                Some("SSN [national id number removed], NI [national id number removed]"),
            ),
            (
                &redact,
                "A guaranteed refund to ann@example.com",
                "blocked: contains the banned phrase \"guaranteed refund\" and an e-mail address",
                None,
            ),
            (
                &redact,
                "Guaranteed refund! guaranteed refund!",
                "blocked: contains the banned phrase \"guaranteed refund\"",
                None,
            ),
            (
                &allow,
                "Mail ann@example.com or 555-123-4567",
                "passed",
                None,
            ),
            (
                &allow,
                "guaranteed refund for 4111 1111 1111 1111",
                "blocked: contains the banned phrase \"guaranteed refund\"",
                None,
            ),
            (
                &redact,
                "Your order 4111 1111 1111 1112 ships on 2026-11-23 for $1,299.00",
                "passed",
                None,
            ),
        ];
        for (p, text, explanation, redacted) in table {
            let v = check(text, p);
            assert_eq!(v.explain(), *explanation, "for {text:?}");
            match (&v, redacted) {
                (Verdict::Redacted { text: out, .. }, Some(want)) => assert_eq!(out, want),
                (Verdict::Redacted { .. }, None) => panic!("{text:?} was redacted"),
                (_, Some(_)) => panic!("{text:?} was not redacted: {v:?}"),
                (_, None) => {}
            }
        }
    }

    #[test]
    fn counts_in_explanations() {
        let v = check(
            "a@example.com b@example.com c@example.com 4111111111111111 5555555555554444",
            &GuardPolicy::default(),
        );
        assert_eq!(
            v.explain(),
            "blocked: contains 2 card numbers and 3 e-mail addresses"
        );
        let v = check(
            "123-45-6789 078-05-1120 +1 555 123 4567 ann@example.com",
            &policy(OnPersonalData::Redact, &[]),
        );
        assert_eq!(
            v.explain(),
            "redacted: 2 national id numbers, an e-mail address and a phone number"
        );
    }

    #[test]
    fn several_banned_phrases_are_each_named() {
        let p = policy(OnPersonalData::Block, &["lawsuit", "guaranteed refund"]);
        let v = check("Guaranteed refund, no lawsuit, guaranteed refund", &p);
        assert_eq!(
            v.explain(),
            "blocked: contains the banned phrase \"guaranteed refund\" and the banned phrase \"lawsuit\""
        );
        assert_eq!(v.findings().len(), 3);
    }

    #[test]
    fn findings_are_sorted_and_do_not_overlap() {
        let p = policy(OnPersonalData::Block, &["call", "ann@example.com"]);
        let text = "call +1 555 123 4567, ann@example.com, 4111111111111111 or \
                    AB 12 34 56 C; call 030 1234567";
        let got = found_with(text, &p);
        assert_eq!(
            got,
            [
                (BannedPhrase("call".into()), "call"),
                (Phone, "+1 555 123 4567"),
                (BannedPhrase("ann@example.com".into()), "ann@example.com"),
                (CardNumber, "4111111111111111"),
                (NationalId, "AB 12 34 56 C"),
                (BannedPhrase("call".into()), "call"),
                (Phone, "030 1234567"),
            ]
        );
        let v = check(text, &p);
        for pair in v.findings().windows(2) {
            assert!(pair[0].end <= pair[1].start, "{pair:?}");
        }
    }

    #[test]
    fn multi_byte_text_around_findings() {
        let redact = policy(OnPersonalData::Redact, &["café crème"]);
        let text = "Zoë 🎉 écrit à zoë@exemple.fr — 📞 +33 6 12 34 56 78 ✓ 4111 1111 1111 1111€";
        let v = check(text, &redact);
        assert_eq!(
            v,
            Verdict::Redacted {
                text: "Zoë 🎉 écrit à [e-mail address removed] — 📞 [phone number removed] ✓ \
                       [card number removed]€"
                    .into(),
                findings: vec![
                    Finding {
                        kind: Email,
                        start: text.find("zoë@").unwrap(),
                        end: text.find(" —").unwrap(),
                    },
                    Finding {
                        kind: Phone,
                        start: text.find("+33").unwrap(),
                        end: text.find(" ✓").unwrap(),
                    },
                    Finding {
                        kind: CardNumber,
                        start: text.find("4111").unwrap(),
                        end: text.find('€').unwrap(),
                    },
                ],
            }
        );
        assert_eq!(
            check("Un CAFÉ CRÈME 😋", &redact).explain(),
            "blocked: contains the banned phrase \"café crème\""
        );
        assert_eq!(check("Un cafécrème", &redact), Verdict::Pass);
    }

    #[test]
    fn no_panic_on_any_slice_of_mixed_text() {
        let p = policy(OnPersonalData::Redact, &["i̇stanbul", "ß", "refund"]);
        let text = "İstanbul ẞ 🎉é+44 (0)20 7946 0958é4111 1111 1111 1111ñ ann@ex.com \
                    123-45-6789 AB123456C Σ refund ﬁ 030/1234567";
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        for &a in &bounds {
            for &b in bounds.iter().filter(|&&b| b >= a) {
                let s = &text[a..b];
                let v = check(s, &p);
                for f in v.findings() {
                    assert!(s.is_char_boundary(f.start) && s.is_char_boundary(f.end));
                    assert!(f.start < f.end && f.end <= s.len());
                }
                if let Verdict::Redacted { text: out, .. } = &v {
                    assert!(out.contains("removed]"));
                }
            }
        }
    }

    #[test]
    fn lower_casing_that_changes_length_maps_back_to_the_original() {
        // 'İ' lower-cases to two characters; the finding still covers whole characters.
        let p = policy(OnPersonalData::Block, &["i̇stanbul"]);
        assert_eq!(
            found_with("in İSTANBUL!", &p),
            [(BannedPhrase("i̇stanbul".into()), "İSTANBUL")]
        );
        // A phrase that matches only half of a lower-cased character does not count.
        let p = policy(OnPersonalData::Block, &["i"]);
        assert_eq!(found_with("İ", &p), []);
    }

    #[test]
    fn serialized_shapes() {
        let p = policy(OnPersonalData::Block, &["guaranteed refund"]);
        let v = check("guaranteed refund to ann@example.com", &p);
        let got = toml::Value::try_from(&v).unwrap();
        let want: toml::Value = toml::from_str(
            r#"
            outcome = "blocked"
            [[findings]]
            kind = "banned_phrase"
            phrase = "guaranteed refund"
            start = 0
            end = 17
            [[findings]]
            kind = "email"
            start = 21
            end = 36
            "#,
        )
        .unwrap();
        assert_eq!(got, want);

        let v = check("ok 555-123-4567", &policy(OnPersonalData::Redact, &[]));
        let got = toml::Value::try_from(&v).unwrap();
        let want: toml::Value = toml::from_str(
            r#"
            outcome = "redacted"
            text = "ok [phone number removed]"
            [[findings]]
            kind = "phone"
            start = 3
            end = 15
            "#,
        )
        .unwrap();
        assert_eq!(got, want);

        let got = toml::Value::try_from(Verdict::Pass).unwrap();
        assert_eq!(
            got,
            toml::from_str::<toml::Value>(r#"outcome = "pass""#).unwrap()
        );

        #[derive(Deserialize)]
        struct Config {
            on_personal_data: OnPersonalData,
        }
        for (s, want) in [
            ("block", OnPersonalData::Block),
            ("redact", OnPersonalData::Redact),
            ("allow", OnPersonalData::Allow),
        ] {
            let c: Config = toml::from_str(&format!("on_personal_data = {s:?}")).unwrap();
            assert_eq!(c.on_personal_data, want);
        }
        assert!(toml::from_str::<Config>(r#"on_personal_data = "warn""#).is_err());
    }

    #[test]
    fn every_static_regex_compiles() {
        LazyLock::force(&EMAIL);
        LazyLock::force(&DIGIT_CHAIN);
        LazyLock::force(&SSN);
        LazyLock::force(&NINO);
        LazyLock::force(&DNI);
        LazyLock::force(&CPF);
        LazyLock::force(&AADHAAR);
        LazyLock::force(&PAN);
        LazyLock::force(&CODICE_FISCALE);
        LazyLock::force(&CHINA_ID);
        LazyLock::force(&NIR);
        assert_eq!(PHONE_FORMS.len(), 11);
    }

    #[test]
    fn ibans_table() {
        // (text, found)
        let cases = [
            (
                "pay to DE89370400440532013000 today",
                Some("DE89370400440532013000"),
            ),
            (
                "IBAN: GB82 WEST 1234 5698 7654 32.",
                Some("GB82 WEST 1234 5698 7654 32"),
            ),
            (
                "fr14 2004 1010 0505 0001 3m02 606",
                Some("fr14 2004 1010 0505 0001 3m02 606"),
            ),
            ("NL91ABNA0417164300", Some("NL91ABNA0417164300")),
            // Check digits wrong, length wrong, unknown country.
            ("DE88370400440532013000", None),
            ("DE8937040044053201300", None),
            ("ZZ89370400440532013000", None),
            ("order AB12 3456 7890", None),
        ];
        for (text, want) in cases {
            let found: Vec<&str> = personal_data(text)
                .iter()
                .filter(|f| f.kind == FindingKind::Iban)
                .map(|f| &text[f.start..f.end])
                .collect();
            assert_eq!(found, want.into_iter().collect::<Vec<_>>(), "{text}");
        }
        assert!(valid_iban("BE68 5390 0754 7034"));
        assert!(!valid_iban("BE68 5390 0754 7035"));
    }

    #[test]
    fn personal_data_lists_every_kind_by_position() {
        let text = "Ann ann@example.com card 4111 1111 1111 1111 IBAN DE89370400440532013000 tel +44 20 7946 0958";
        let kinds: Vec<(FindingKind, &str)> = personal_data(text)
            .into_iter()
            .map(|f| (f.kind.clone(), &text[f.start..f.end]))
            .collect();
        assert_eq!(
            kinds,
            [
                (FindingKind::Email, "ann@example.com"),
                (FindingKind::CardNumber, "4111 1111 1111 1111"),
                (FindingKind::Iban, "DE89370400440532013000"),
                (FindingKind::Phone, "+44 20 7946 0958"),
            ]
        );
        assert!(personal_data("no digits here, nor at-signs").is_empty());
        assert_eq!(
            without_personal_data("card 4111 1111 1111 1111, mail ann@example.com"),
            "card [card number removed], mail [e-mail address removed]"
        );
    }

    /// xorshift: a seeded source of digits for the property tests below.
    struct Digits(u64);

    impl Digits {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below
        }
    }

    /// The Luhn check digit that completes `body`.
    fn check_digit(body: &[u8]) -> u8 {
        let sum: u32 = body
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                let d = u32::from(d);
                if i % 2 == 0 {
                    let x = d * 2;
                    if x > 9 { x - 9 } else { x }
                } else {
                    d
                }
            })
            .sum();
        ((10 - sum % 10) % 10) as u8
    }

    /// The digits as one run, or (16 of them, `sep` given) in groups of four.
    fn card_text(digits: &[u8], sep: Option<&str>) -> String {
        let plain: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        match sep {
            Some(sep) if digits.len() == 16 => plain
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(sep),
            _ => plain,
        }
    }

    /// Skipping the detectors a text cannot satisfy never hides a finding: texts pieced
    /// together from personal data, numbers, handles and separators give the same findings
    /// as running every detector.
    #[test]
    fn property_skipped_detectors_would_have_found_nothing() {
        const PIECES: &[&str] = &[
            "4111 1111 1111 1111",
            "4111.1111.1111.1111",
            "4111111111111111",
            "+44 20 7946 0958",
            "(030) 1234 5678",
            "212-555-0199",
            "123-45-6789",
            "AB 12 34 56 C",
            "QQ123456C",
            "RSSMRA85T10A562S",
            "rssmra85t10a562s",
            "ABCPE1234F",
            "GB82 WEST 1234 5698 7654 32",
            "DE89370400440532013000",
            "de89 3704 0044 0532 0130 00",
            "DE89",
            "3704 0044 0532 0130 00",
            "370400440532013000",
            "ann@example.com",
            "x_y@mail.co",
            "é@b.fr",
            "@handle",
            "@",
            "1",
            "12",
            "555",
            "2024",
            "0",
            " ",
            " ",
            "-",
            ".",
            "/",
            "(",
            ")",
            "+",
            ",",
            "order",
            "call",
            "me",
            "é",
            "a",
            "GB",
            "\n",
        ];
        let mut rng = Digits(0x2545_f491_4f6c_dd1d);
        let mut found = 0;
        for _ in 0..20_000 {
            let n = 1 + rng.next(8) as usize;
            let text: String = (0..n)
                .map(|_| PIECES[rng.next(PIECES.len() as u64) as usize])
                .collect();
            let all = resolve(candidates_of(&text, Detectors::ALL));
            found += all.len();
            assert_eq!(personal_data(&text), all, "{text:?}");
        }
        assert!(found > 1000, "the pieces make findings ({found})");
    }

    /// National ids with a check digit: every valid one is found where it stands, and the same
    /// number with one digit changed is not (every single-digit error fails Verhoeff's, the
    /// mod 11-2 and the NIR's mod 97 check; a CPF's check maps two remainders to 0, so there
    /// only a changed check digit always fails).
    #[test]
    fn property_every_valid_national_id_is_found_and_a_changed_digit_is_not() {
        let mut rng = Digits(0x51_7cc1_b727_220a);
        let digits = |rng: &mut Digits, n: usize| -> Vec<u32> {
            (0..n).map(|_| rng.next(10) as u32).collect()
        };
        let text_of = |d: &[u32]| {
            d.iter()
                .map(|x| char::from(b'0' + *x as u8))
                .collect::<String>()
        };
        for round in 0..4000 {
            let id = match round % 4 {
                0 => {
                    // A CPF: nine digits and the two check digits.
                    let mut d = digits(&mut rng, 9);
                    for n in [9u32, 10] {
                        let sum: u32 = (0..n as usize).map(|i| d[i] * (n + 1 - i as u32)).sum();
                        d.push((sum * 10) % 11 % 10);
                    }
                    let t = text_of(&d);
                    format!("{}.{}.{}-{}", &t[0..3], &t[3..6], &t[6..9], &t[9..11])
                }
                1 => {
                    // An Aadhaar number: the check digit that makes the Verhoeff check pass.
                    let mut d = digits(&mut rng, 11);
                    d[0] = 2 + rng.next(8) as u32;
                    d.push(0);
                    while !verhoeff(&d) {
                        d[11] += 1;
                    }
                    let t = text_of(&d);
                    format!("{} {} {}", &t[0..4], &t[4..8], &t[8..12])
                }
                3 => {
                    // A French NIR: sex, year, month, département, commune, order, key.
                    let head = format!(
                        "{}{:02}{:02}{:02}{:03}{:03}",
                        1 + rng.next(2),
                        rng.next(100),
                        1 + rng.next(12),
                        1 + rng.next(95),
                        1 + rng.next(999),
                        1 + rng.next(999)
                    );
                    let key = 97 - head.parse::<u64>().unwrap() % 97;
                    let t = format!("{head}{key:02}");
                    [
                        &t[0..1],
                        &t[1..3],
                        &t[3..5],
                        &t[5..7],
                        &t[7..10],
                        &t[10..13],
                        &t[13..15],
                    ]
                    .join(" ")
                }
                _ => {
                    // A Chinese resident id born 1950–2009.
                    let mut d = digits(&mut rng, 6);
                    d[0] = 1 + rng.next(9) as u32;
                    let date = format!(
                        "{}{:02}{:02}",
                        1950 + rng.next(60),
                        1 + rng.next(12),
                        1 + rng.next(28)
                    );
                    d.extend(digit_values(&date));
                    d.extend(digits(&mut rng, 3));
                    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
                    let sum: u32 = d.iter().zip(W).map(|(x, w)| x * w).sum();
                    let check = char::from(b"10X98765432"[(sum % 11) as usize]);
                    format!("{}{check}", text_of(&d))
                }
            };
            if d_all_equal(&id) {
                continue;
            }
            let text = format!("my id is {id}, thanks");
            let kinds: Vec<(FindingKind, &str)> = personal_data(&text)
                .iter()
                .map(|f| (f.kind.clone(), &text[f.start..f.end]))
                .collect();
            // A Chinese id can also pass Luhn's check: it is then held back as a card.
            assert!(
                kinds == [(FindingKind::NationalId, id.as_str())]
                    || kinds == [(FindingKind::CardNumber, id.as_str())],
                "{text}: {kinds:?}"
            );
            let scheme = [
                IdScheme::BrCpf,
                IdScheme::InAadhaar,
                IdScheme::CnResidentId,
                IdScheme::FrNir,
            ][(round % 4) as usize];
            assert_eq!(IdScheme::of(&id), Some(scheme), "{id}");
            // One digit changed (not the check character of a Chinese id, an `X`).
            let cpf = round % 4 == 0;
            let positions: Vec<usize> = id
                .bytes()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_digit())
                .map(|(i, _)| i)
                .filter(|&i| !cpf || i >= id.len() - 2)
                .collect();
            let at = positions[rng.next(positions.len() as u64) as usize];
            let mut changed = id.clone().into_bytes();
            changed[at] = b'0' + ((changed[at] - b'0' + 1 + rng.next(9) as u8) % 10);
            let changed = String::from_utf8(changed).unwrap();
            let text = format!("order {changed} is late");
            assert!(
                personal_data(&text)
                    .iter()
                    .all(|f| f.kind != FindingKind::NationalId),
                "{text}"
            );
        }
    }

    /// Whether every digit of `id` is the same (a CPF never issued).
    fn d_all_equal(id: &str) -> bool {
        let d = digit_values(id);
        d.iter().all(|&x| x == d[0])
    }

    #[test]
    fn verhoeff_checks_the_published_example() {
        assert!(verhoeff(&[2, 3, 6, 3]));
        assert!(!verhoeff(&[2, 3, 6, 4]));
        assert!(!verhoeff(&[3, 2, 6, 3]), "a swap of neighbours");
    }

    #[test]
    fn property_every_luhn_valid_card_is_found_and_no_luhn_invalid_number_is() {
        let mut rng = Digits(0x9e37_79b9_7f4a_7c15);
        for round in 0..2000 {
            let len = 13 + rng.next(7) as usize; // 13..=19 digits
            let mut body: Vec<u8> = (0..len - 1).map(|_| rng.next(10) as u8).collect();
            body[0] = 1 + rng.next(9) as u8; // cards never start with 0
            let check = check_digit(&body);
            let grouped = [None, Some(" "), Some("-"), Some(".")][round % 4];
            let mut valid = body.clone();
            valid.push(check);
            let card = card_text(&valid, grouped);
            let text = format!("my card is {card} thanks");
            let cards: Vec<&str> = personal_data(&text)
                .iter()
                .filter(|f| f.kind == FindingKind::CardNumber)
                .map(|f| &text[f.start..f.end])
                .collect();
            assert_eq!(cards, [card.as_str()], "{text}");

            let mut invalid = body;
            invalid.push((check + 1 + rng.next(9) as u8) % 10);
            let order = card_text(&invalid, grouped);
            let text = format!("order {order} has not arrived");
            assert!(
                personal_data(&text)
                    .iter()
                    .all(|f| f.kind != FindingKind::CardNumber),
                "{text}"
            );
        }
    }
}
