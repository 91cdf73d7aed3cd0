//! SLA policies (service level targets per purpose and priority) and the clocks that measure a
//! case against them. Pure: the current time is an argument, and so are the case's facts and the
//! owning team's [`BusinessHours`].
//!
//! # Format
//! ```toml
//! [[sla]]
//! name = "Urgent anything"
//! priority = "urgent"          # optional; absent = any priority
//! # purpose = "crisis"         # optional; absent = any purpose
//! first_response = "15m"
//! next_response = "1h"         # optional
//! resolution = "4h"            # optional
//! warn_before = "5m"           # optional; default: 20% of each target
//! on_breach = ["raise_priority", "notify_supervisor", "reassign:front-desk"]   # optional
//! ```
//! Every target is optional but a policy needs at least one. Durations are whole numbers with a
//! unit, largest unit first, each unit at most once: `90s`, `15m`, `4h`, `2d`, `1h30m`,
//! `1d12h`. `d` is always 24 hours. Targets are at most `365d` and longer than `0s`.
//!
//! # Semantics
//! - **Selection**: [`select`] returns the first policy, in file order, whose `purpose` and
//!   `priority` filters both match (an absent filter matches anything). First match wins, like
//!   the playbook's rules: put specific policies first and a catch-all last. No match means the
//!   case has no SLA.
//! - **Business time**: targets count open time of the owning team's [`BusinessHours`]; a
//!   `15m` first response for a case created on Friday evening is due 15 minutes after the team
//!   opens on Monday. `2d` is 48 hours of open time (six working days of 8 hours), which is why
//!   short units are usually clearer. A team without hours uses [`BusinessHours::always`].
//! - **First response** runs from `created_at` until `first_response_at`. **Next response**
//!   exists only after the first response, while a customer message waits for an answer: it
//!   runs from `awaiting_since` (or the first response, if later) and disappears when the
//!   message is answered. **Resolution** runs from `created_at` until `resolved_at`, extended by
//!   `paused_micros`, the business time the case spent in statuses that stop the clock
//!   (`pending`). While the case is paused, the caller includes the ongoing pause up to `now`,
//!   so the due time moves along with the clock.
//! - A **resolved** case stops every clock: a target not yet met counts as met at
//!   `resolved_at`.
//! - `due_at` is when the target's business time has elapsed; `warn_at` is `warn_before`
//!   earlier in business time (never before the clock's start). A met target is `met` when the
//!   event came before `due_at` and `met_late` otherwise; an open target is `breached` from
//!   `due_at` on, `warning` from `warn_at` on, and `running` before.
//! - [`next_wakeup`] says when the next open target changes state, so a worker knows when to
//!   look again.

use crate::schedule::BusinessHours;
use crate::{ParseError, Priority, Purpose, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The longest target or warning a policy accepts: 365 days.
pub const MAX_TARGET_MICROS: i64 = 365 * DAY;

const UNITS: [(char, i64); 4] = [('d', DAY), ('h', HOUR), ('m', MINUTE), ('s', SECOND)];

/// Parses a duration such as `90s`, `15m`, `4h`, `2d` or `1h30m` into microseconds. Units are
/// `d` (24 hours), `h`, `m` and `s`, largest first, each at most once.
pub fn parse_duration(s: &str) -> Result<i64, ParseError> {
    let bad = || {
        ParseError::new(format!(
            "not a duration: {s:?}; expected e.g. \"90s\", \"15m\", \"4h\", \"2d\" or \"1h30m\""
        ))
    };
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    // Index into UNITS of the next unit allowed (units must go from largest to smallest).
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let (number, tail) = rest.split_at(digits);
        let mut chars = tail.chars();
        let unit = chars.next().ok_or_else(bad)?;
        let pos = UNITS[next_unit..]
            .iter()
            .position(|&(u, _)| u == unit)
            .ok_or_else(bad)?;
        let scale = UNITS[next_unit + pos].1;
        next_unit += pos + 1;
        let too_long = || ParseError::new(format!("duration too long: {s:?}"));
        let n: i64 = number.parse().map_err(|_| too_long())?;
        total = n
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(too_long)?;
        rest = chars.as_str();
    }
    Ok(total)
}

/// Formats microseconds as a duration [`parse_duration`] reads back: largest units first, zero
/// parts left out (`5400 s` is `1h30m`, `0` is `0s`). Fractions of a second are dropped;
/// negative durations get a leading `-`.
pub fn format_duration(micros: i64) -> String {
    let mut secs = (micros / SECOND).unsigned_abs();
    let mut out = String::new();
    if micros < 0 && secs > 0 {
        out.push('-');
    }
    for (unit, scale) in UNITS {
        let scale = (scale / SECOND).unsigned_abs();
        let n = secs / scale;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(unit);
            secs %= scale;
        }
    }
    if out.is_empty() || out == "-" {
        out = "0s".to_owned();
    }
    out
}

/// What happens when a target is breached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BreachAction {
    /// Raise the case's priority one step (urgent stays urgent).
    RaisePriority,
    /// Tell the supervisors of the owning team.
    NotifySupervisor,
    /// Move the case to this team (a team slug; the playbook checks it exists).
    Reassign(String),
}

impl BreachAction {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "raise_priority" => Ok(BreachAction::RaisePriority),
            "notify_supervisor" => Ok(BreachAction::NotifySupervisor),
            _ => match s.strip_prefix("reassign:") {
                Some(team) if !team.is_empty() && !team.contains(char::is_whitespace) => {
                    Ok(BreachAction::Reassign(team.to_owned()))
                }
                Some(_) => Err(ParseError::new(format!(
                    "{s:?} needs a team: \"reassign:<team>\""
                ))),
                None => Err(ParseError::new(format!(
                    "unknown action {s:?}; expected raise_priority, notify_supervisor or reassign:<team>"
                ))),
            },
        }
    }

    /// The team this action refers to, if any.
    pub fn team(&self) -> Option<&str> {
        match self {
            BreachAction::Reassign(team) => Some(team),
            _ => None,
        }
    }
}

impl fmt::Display for BreachAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreachAction::RaisePriority => f.write_str("raise_priority"),
            BreachAction::NotifySupervisor => f.write_str("notify_supervisor"),
            BreachAction::Reassign(team) => write!(f, "reassign:{team}"),
        }
    }
}

impl Serialize for BreachAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BreachAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BreachAction::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An SLA policy as written in a playbook (`[[sla]]`). Check it with [`SlaPolicy::from_spec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_before: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_breach: Vec<String>,
}

/// A checked SLA policy. Durations are microseconds of business time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    pub name: String,
    /// `None` matches any purpose.
    pub purpose: Option<Purpose>,
    /// `None` matches any priority.
    pub priority: Option<Priority>,
    pub first_response: Option<i64>,
    pub next_response: Option<i64>,
    pub resolution: Option<i64>,
    /// `None`: warn when 20% of each target is left.
    pub warn_before: Option<i64>,
    pub on_breach: Vec<BreachAction>,
}

impl SlaPolicy {
    pub fn from_spec(spec: &SlaSpec) -> Result<Self, ParseError> {
        let name = spec.name.trim();
        if name.is_empty() {
            return Err(ParseError::new("an SLA needs a name"));
        }
        let purpose = spec
            .purpose
            .as_deref()
            .map(|p| Purpose::parse(p).map_err(|e| ParseError::new(format!("purpose: {e}"))))
            .transpose()?;
        let priority = spec
            .priority
            .as_deref()
            .map(|p| Priority::parse(p).map_err(|e| ParseError::new(format!("priority: {e}"))))
            .transpose()?;
        let first_response = target("first_response", spec.first_response.as_deref(), 1)?;
        let next_response = target("next_response", spec.next_response.as_deref(), 1)?;
        let resolution = target("resolution", spec.resolution.as_deref(), 1)?;
        let warn_before = target("warn_before", spec.warn_before.as_deref(), 0)?;
        if first_response.is_none() && next_response.is_none() && resolution.is_none() {
            return Err(ParseError::new(
                "an SLA needs at least one of first_response, next_response, resolution",
            ));
        }
        let on_breach = spec
            .on_breach
            .iter()
            .map(|a| BreachAction::parse(a).map_err(|e| ParseError::new(format!("on_breach: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SlaPolicy {
            name: name.to_owned(),
            purpose,
            priority,
            first_response,
            next_response,
            resolution,
            warn_before,
            on_breach,
        })
    }

    /// The policy written back in the playbook format (durations in canonical form).
    pub fn to_spec(&self) -> SlaSpec {
        SlaSpec {
            name: self.name.clone(),
            purpose: self.purpose.as_ref().map(|p| p.as_str().to_owned()),
            priority: self.priority.map(|p| p.as_str().to_owned()),
            first_response: self.first_response.map(format_duration),
            next_response: self.next_response.map(format_duration),
            resolution: self.resolution.map(format_duration),
            warn_before: self.warn_before.map(format_duration),
            on_breach: self.on_breach.iter().map(ToString::to_string).collect(),
        }
    }

    /// Whether this policy applies to a case with this purpose and priority.
    pub fn matches(&self, purpose: &Purpose, priority: Priority) -> bool {
        self.purpose.as_ref().is_none_or(|p| p == purpose)
            && self.priority.is_none_or(|p| p == priority)
    }

    /// The target's duration, if this policy sets it.
    pub fn target(&self, target: Target) -> Option<i64> {
        match target {
            Target::FirstResponse => self.first_response,
            Target::NextResponse => self.next_response,
            Target::Resolution => self.resolution,
        }
    }

    /// How long before a target's due time the warning starts: `warn_before`, or 20% of it.
    pub fn warn_before_for(&self, target_micros: i64) -> i64 {
        self.warn_before.unwrap_or(target_micros / 5)
    }

    /// Team slugs the breach actions refer to, for the caller to check.
    pub fn referenced_teams(&self) -> impl Iterator<Item = &str> {
        self.on_breach.iter().filter_map(BreachAction::team)
    }
}

fn target(field: &str, value: Option<&str>, min: i64) -> Result<Option<i64>, ParseError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let micros = parse_duration(value).map_err(|e| ParseError::new(format!("{field}: {e}")))?;
    if micros < min {
        return Err(ParseError::new(format!("{field}: must be longer than 0s")));
    }
    if micros > MAX_TARGET_MICROS {
        return Err(ParseError::new(format!(
            "{field}: at most 365d, got {value:?}"
        )));
    }
    Ok(Some(micros))
}

/// The policy that applies to a case: the first one, in file order, whose purpose and priority
/// filters both match. `None` when no policy matches (the case has no SLA).
pub fn select<'a>(
    policies: &'a [SlaPolicy],
    purpose: &Purpose,
    priority: Priority,
) -> Option<&'a SlaPolicy> {
    policies.iter().find(|p| p.matches(purpose, priority))
}

/// What the store knows about a case, as far as its SLA clocks are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClock {
    pub created_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    /// The last customer message not yet answered (for `next_response`); `None` if answered.
    pub awaiting_since: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// Business time spent in statuses that stop the resolution clock (`pending`), including
    /// an ongoing pause up to `now`. May be 0.
    pub paused_micros: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::NextResponse => "next_response",
            Target::Resolution => "resolution",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// Not met yet, before `warn_at`.
    Running,
    /// Not met yet, from `warn_at` on.
    Warning,
    /// Not met, from `due_at` on.
    Breached,
    /// Met before `due_at`.
    Met,
    /// Met, but at or after `due_at`.
    MetLate,
}

impl SlaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaStatus::Running => "running",
            SlaStatus::Warning => "warning",
            SlaStatus::Breached => "breached",
            SlaStatus::Met => "met",
            SlaStatus::MetLate => "met_late",
        }
    }

    /// Still counting (`running` or `warning`).
    pub fn is_open(self) -> bool {
        matches!(self, SlaStatus::Running | SlaStatus::Warning)
    }
}

impl fmt::Display for SlaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One target of a case, measured at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    pub target: Target,
    pub due_at: Timestamp,
    pub warn_at: Timestamp,
    pub met_at: Option<Timestamp>,
    pub status: SlaStatus,
}

/// Measures a case against its policy at `now`, in the owning team's business hours. Returns
/// the targets the policy sets and that apply (see the module docs), in the order first
/// response, next response, resolution.
pub fn evaluate(
    policy: &SlaPolicy,
    hours: &BusinessHours,
    clock: &CaseClock,
    now: Timestamp,
) -> Vec<TargetState> {
    let mut states = Vec::with_capacity(3);
    let measure = |target: Target, start: Timestamp, extra: i64, met_at: Option<Timestamp>| {
        let micros = policy.target(target)?;
        let warn_before = policy.warn_before_for(micros);
        let extra = extra.max(0);
        let due_at = hours.add_business(start, micros.saturating_add(extra));
        let warn_at = hours.add_business(start, (micros - warn_before).saturating_add(extra));
        let status = match met_at {
            Some(m) if m < due_at => SlaStatus::Met,
            Some(_) => SlaStatus::MetLate,
            None if now >= due_at => SlaStatus::Breached,
            None if now >= warn_at => SlaStatus::Warning,
            None => SlaStatus::Running,
        };
        Some(TargetState {
            target,
            due_at,
            warn_at,
            met_at,
            status,
        })
    };
    let resolved = clock.resolved_at;
    states.extend(measure(
        Target::FirstResponse,
        clock.created_at,
        0,
        clock.first_response_at.or(resolved),
    ));
    if let (Some(first), Some(waiting)) = (clock.first_response_at, clock.awaiting_since) {
        states.extend(measure(
            Target::NextResponse,
            waiting.max(first),
            0,
            resolved,
        ));
    }
    states.extend(measure(
        Target::Resolution,
        clock.created_at,
        clock.paused_micros,
        resolved,
    ));
    states
}

/// When the next open target changes state: the earliest `warn_at` of a running target or
/// `due_at` of a warning one. `None` when nothing is counting.
pub fn next_wakeup(states: &[TargetState]) -> Option<Timestamp> {
    states
        .iter()
        .filter_map(|s| match s.status {
            SlaStatus::Running => Some(s.warn_at),
            SlaStatus::Warning => Some(s.due_at),
            _ => None,
        })
        .min()
}

/// A target that reached a new level (warning or breach) not acted on yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Crossing {
    pub target: Target,
    /// [`SlaStatus::Warning`] or [`SlaStatus::Breached`].
    pub status: SlaStatus,
    pub due_at: Timestamp,
    /// Remembered once acted on, so each level fires once per target and due time: a next
    /// response target that starts again (the customer wrote again) fires again.
    pub key: String,
}

/// The warnings and breaches among `states` whose key is not in `fired`. A target found
/// already breached fires its breach only (its warning is moot).
pub fn crossings(states: &[TargetState], fired: &[String]) -> Vec<Crossing> {
    states
        .iter()
        .filter(|s| matches!(s.status, SlaStatus::Warning | SlaStatus::Breached))
        .map(|s| Crossing {
            target: s.target,
            status: s.status,
            due_at: s.due_at,
            key: format!("{}:{}:{}", s.target, s.status, s.due_at.as_unix_micros()),
        })
        .filter(|c| !fired.contains(&c.key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::HoursSpec;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn policy(toml_text: &str) -> SlaPolicy {
        SlaPolicy::from_spec(&toml::from_str::<SlaSpec>(toml_text).unwrap()).unwrap()
    }

    /// Monday to Friday 09:00-17:00 in Berlin, Christmas off.
    fn berlin() -> BusinessHours {
        let d = Some("09:00-17:00".to_owned());
        BusinessHours::from_spec(&HoursSpec {
            timezone: "Europe/Berlin".into(),
            mon: d.clone(),
            tue: d.clone(),
            wed: d.clone(),
            thu: d.clone(),
            fri: d,
            sat: None,
            sun: None,
            holidays: vec!["2026-12-25".into()],
        })
        .unwrap()
    }

    fn clock(created_at: &str) -> CaseClock {
        CaseClock {
            created_at: ts(created_at),
            first_response_at: None,
            awaiting_since: None,
            resolved_at: None,
            paused_micros: 0,
        }
    }

    fn only(states: &[TargetState], target: Target) -> TargetState {
        let found: Vec<_> = states.iter().filter(|s| s.target == target).collect();
        assert_eq!(found.len(), 1, "{states:?}");
        *found[0]
    }

    #[test]
    fn parse_duration_table() {
        let table = [
            ("90s", 90 * SECOND),
            ("15m", 15 * MINUTE),
            ("4h", 4 * HOUR),
            ("2d", 2 * DAY),
            ("1h30m", 90 * MINUTE),
            ("1d12h", 36 * HOUR),
            ("1d2h3m4s", DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND),
            ("0s", 0),
            (" 5m ", 5 * MINUTE),
            ("120m", 2 * HOUR),
        ];
        for (s, micros) in table {
            assert_eq!(parse_duration(s), Ok(micros), "{s}");
        }
    }

    #[test]
    fn parse_duration_errors() {
        for s in [
            "", "15", "m", "15x", "1.5h", "-5m", "30m1h", "1h1h", "1h 30m", "15M", "h15",
        ] {
            assert_eq!(
                parse_duration(s),
                Err(ParseError::new(format!(
                    "not a duration: {s:?}; expected e.g. \"90s\", \"15m\", \"4h\", \"2d\" or \"1h30m\""
                ))),
                "{s}"
            );
        }
        for s in ["99999999999999999999s", "9999999999999d"] {
            assert_eq!(
                parse_duration(s),
                Err(ParseError::new(format!("duration too long: {s:?}")))
            );
        }
    }

    #[test]
    fn format_duration_table() {
        let table = [
            (0, "0s"),
            (90 * SECOND, "1m30s"),
            (15 * MINUTE, "15m"),
            (90 * MINUTE, "1h30m"),
            (2 * DAY, "2d"),
            (DAY + 4 * SECOND, "1d4s"),
            (90 * SECOND + 999_999, "1m30s"),
            (-15 * MINUTE, "-15m"),
            (-1, "0s"),
        ];
        for (micros, s) in table {
            assert_eq!(format_duration(micros), s, "{micros}");
            if micros >= 0 {
                assert_eq!(parse_duration(s), Ok(micros / SECOND * SECOND));
            }
        }
    }

    #[test]
    fn spec_from_toml() {
        #[derive(Deserialize)]
        struct File {
            sla: Vec<SlaSpec>,
        }
        let text = r#"
            [[sla]]
            name = "Urgent anything"
            priority = "urgent"
            first_response = "15m"
            next_response = "1h"
            resolution = "4h"
            warn_before = "5m"
            on_breach = ["raise_priority", "notify_supervisor", "reassign:front-desk"]

            [[sla]]
            name = "Crisis"
            purpose = "crisis"
            resolution = "1d"
        "#;
        let file: File = toml::from_str(text).unwrap();
        let urgent = SlaPolicy::from_spec(&file.sla[0]).unwrap();
        assert_eq!(
            urgent,
            SlaPolicy {
                name: "Urgent anything".into(),
                purpose: None,
                priority: Some(Priority::Urgent),
                first_response: Some(15 * MINUTE),
                next_response: Some(HOUR),
                resolution: Some(4 * HOUR),
                warn_before: Some(5 * MINUTE),
                on_breach: vec![
                    BreachAction::RaisePriority,
                    BreachAction::NotifySupervisor,
                    BreachAction::Reassign("front-desk".into()),
                ],
            }
        );
        assert_eq!(
            urgent.referenced_teams().collect::<Vec<_>>(),
            ["front-desk"]
        );
        assert_eq!(urgent.to_spec(), file.sla[0]);
        let crisis = SlaPolicy::from_spec(&file.sla[1]).unwrap();
        assert_eq!(crisis.purpose, Some(Purpose::parse("crisis").unwrap()));
        assert_eq!(crisis.first_response, None);
        assert_eq!(crisis.resolution, Some(DAY));
        assert_eq!(crisis.warn_before_for(DAY), DAY / 5);
        assert_eq!(crisis.referenced_teams().count(), 0);
        assert_eq!(SlaPolicy::from_spec(&crisis.to_spec()), Ok(crisis));
    }

    #[test]
    fn spec_rejects_unknown_fields() {
        let err = toml::from_str::<SlaSpec>("name = \"x\"\nfirst_reply = \"1h\"").unwrap_err();
        assert!(
            err.to_string().contains("unknown field `first_reply`"),
            "{err}"
        );
    }

    #[test]
    fn spec_errors() {
        let table = [
            ("name = \" \"\nresolution = \"1h\"", "an SLA needs a name"),
            (
                "name = \"x\"",
                "an SLA needs at least one of first_response, next_response, resolution",
            ),
            (
                "name = \"x\"\nwarn_before = \"5m\"",
                "an SLA needs at least one of first_response, next_response, resolution",
            ),
            (
                "name = \"x\"\nfirst_response = \"15 minutes\"",
                "first_response: not a duration: \"15 minutes\"; expected e.g. \"90s\", \"15m\", \"4h\", \"2d\" or \"1h30m\"",
            ),
            (
                "name = \"x\"\nresolution = \"0m\"",
                "resolution: must be longer than 0s",
            ),
            (
                "name = \"x\"\nnext_response = \"366d\"",
                "next_response: at most 365d, got \"366d\"",
            ),
            (
                "name = \"x\"\nresolution = \"1h\"\npriority = \"meh\"",
                "priority: unknown priority \"meh\"; expected low, normal, high or urgent",
            ),
            (
                "name = \"x\"\nresolution = \"1h\"\npurpose = \"Crisis\"",
                "purpose: purpose must be a lowercase slug starting with a letter (a-z, 0-9, _, -; at most 40): \"Crisis\"",
            ),
            (
                "name = \"x\"\nresolution = \"1h\"\non_breach = [\"page_everyone\"]",
                "on_breach: unknown action \"page_everyone\"; expected raise_priority, notify_supervisor or reassign:<team>",
            ),
            (
                "name = \"x\"\nresolution = \"1h\"\non_breach = [\"reassign:\"]",
                "on_breach: \"reassign:\" needs a team: \"reassign:<team>\"",
            ),
        ];
        for (text, msg) in table {
            let spec: SlaSpec = toml::from_str(text).unwrap();
            assert_eq!(
                SlaPolicy::from_spec(&spec),
                Err(ParseError::new(msg)),
                "{text}"
            );
        }
    }

    #[test]
    fn warn_before_zero_is_allowed() {
        let p = policy("name = \"x\"\nresolution = \"1h\"\nwarn_before = \"0s\"");
        assert_eq!(p.warn_before_for(HOUR), 0);
    }

    #[test]
    fn breach_actions_round_trip() {
        for s in ["raise_priority", "notify_supervisor", "reassign:front-desk"] {
            assert_eq!(BreachAction::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            BreachAction::parse("reassign:front-desk").unwrap().team(),
            Some("front-desk")
        );
        assert_eq!(BreachAction::RaisePriority.team(), None);
        assert!(BreachAction::parse("reassign:front desk").is_err());
        assert!(BreachAction::parse("Raise_Priority").is_err());
    }

    #[test]
    fn select_first_match_wins() {
        let policies = [
            policy(
                "name = \"urgent crisis\"\npurpose = \"crisis\"\npriority = \"urgent\"\nfirst_response = \"5m\"",
            ),
            policy("name = \"urgent\"\npriority = \"urgent\"\nfirst_response = \"15m\""),
            policy("name = \"sales\"\npurpose = \"sales\"\nfirst_response = \"4h\""),
            policy("name = \"sales again\"\npurpose = \"sales\"\nfirst_response = \"1h\""),
        ];
        let p = |s: &str| Purpose::parse(s).unwrap();
        let table = [
            ("crisis", Priority::Urgent, Some("urgent crisis")),
            ("crisis", Priority::High, None),
            ("sales", Priority::Urgent, Some("urgent")),
            ("sales", Priority::Low, Some("sales")),
            ("support", Priority::Urgent, Some("urgent")),
            ("support", Priority::Normal, None),
        ];
        for (purpose, priority, name) in table {
            assert_eq!(
                select(&policies, &p(purpose), priority).map(|s| s.name.as_str()),
                name,
                "{purpose} {priority:?}"
            );
        }
        assert_eq!(select(&[], &p("sales"), Priority::Low), None);
    }

    #[test]
    fn first_response_states_over_time() {
        // 1h target, 20% warning: warn at 10:48, due at 11:00, always open.
        let p = policy("name = \"x\"\nfirst_response = \"1h\"");
        let hours = BusinessHours::always();
        let c = clock("2026-11-23T10:00:00Z");
        let table = [
            ("2026-11-23T10:00:00Z", SlaStatus::Running),
            ("2026-11-23T10:47:59Z", SlaStatus::Running),
            ("2026-11-23T10:48:00Z", SlaStatus::Warning),
            ("2026-11-23T10:59:59Z", SlaStatus::Warning),
            ("2026-11-23T11:00:00Z", SlaStatus::Breached),
            ("2026-11-30T11:00:00Z", SlaStatus::Breached),
        ];
        for (now, status) in table {
            let states = evaluate(&p, &hours, &c, ts(now));
            assert_eq!(
                states,
                [TargetState {
                    target: Target::FirstResponse,
                    due_at: ts("2026-11-23T11:00:00Z"),
                    warn_at: ts("2026-11-23T10:48:00Z"),
                    met_at: None,
                    status,
                }],
                "{now}"
            );
        }
    }

    #[test]
    fn met_and_met_late() {
        let p = policy("name = \"x\"\nfirst_response = \"1h\"");
        let hours = BusinessHours::always();
        let table = [
            ("2026-11-23T10:30:00Z", SlaStatus::Met),
            ("2026-11-23T10:59:59Z", SlaStatus::Met),
            ("2026-11-23T11:00:00Z", SlaStatus::MetLate),
            ("2026-11-23T13:00:00Z", SlaStatus::MetLate),
        ];
        for (answered, status) in table {
            let c = CaseClock {
                first_response_at: Some(ts(answered)),
                ..clock("2026-11-23T10:00:00Z")
            };
            // The verdict does not change with time.
            for now in ["2026-11-23T13:00:00Z", "2026-12-23T13:00:00Z"] {
                let s = only(&evaluate(&p, &hours, &c, ts(now)), Target::FirstResponse);
                assert_eq!(
                    (s.status, s.met_at),
                    (status, Some(ts(answered))),
                    "{answered}"
                );
            }
        }
    }

    #[test]
    fn business_hours_move_due_times() {
        // 15m first response, 4h resolution, Berlin office hours (UTC+1 in November).
        let p = policy("name = \"x\"\nfirst_response = \"15m\"\nresolution = \"4h\"");
        let hours = berlin();
        let table = [
            // Friday 16:50: 10 minutes left on Friday, 5 on Monday.
            (
                "2026-11-27T15:50:00Z",
                "2026-11-30T08:05:00Z",
                "2026-11-30T08:02:00Z",
                "2026-11-30T11:50:00Z",
            ),
            // Saturday: everything counts from Monday 09:00.
            (
                "2026-11-28T10:00:00Z",
                "2026-11-30T08:15:00Z",
                "2026-11-30T08:12:00Z",
                "2026-11-30T12:00:00Z",
            ),
            // Thursday before the Christmas holiday: Friday is off.
            (
                "2026-12-24T15:30:00Z",
                "2026-12-24T15:45:00Z",
                "2026-12-24T15:42:00Z",
                "2026-12-28T11:30:00Z",
            ),
            // Friday before the spring DST switch: Monday is UTC+2.
            (
                "2026-03-27T15:50:00Z",
                "2026-03-30T07:05:00Z",
                "2026-03-30T07:02:00Z",
                "2026-03-30T10:50:00Z",
            ),
            // Friday before the autumn DST switch: Monday is UTC+1.
            (
                "2026-10-23T14:50:00Z",
                "2026-10-26T08:05:00Z",
                "2026-10-26T08:02:00Z",
                "2026-10-26T11:50:00Z",
            ),
        ];
        for (created, first_due, first_warn, resolution_due) in table {
            let states = evaluate(&p, &hours, &clock(created), ts(created));
            let first = only(&states, Target::FirstResponse);
            assert_eq!(
                (first.due_at, first.warn_at, first.status),
                (ts(first_due), ts(first_warn), SlaStatus::Running),
                "{created}"
            );
            assert_eq!(
                only(&states, Target::Resolution).due_at,
                ts(resolution_due),
                "{created}"
            );
        }
    }

    #[test]
    fn next_response_only_after_first_response() {
        let p = policy("name = \"x\"\nfirst_response = \"1h\"\nnext_response = \"30m\"");
        let hours = BusinessHours::always();
        let base = clock("2026-11-23T10:00:00Z");
        let now = ts("2026-11-23T12:00:00Z");
        // Waiting, but nobody answered yet: only the first response counts.
        let waiting_only = CaseClock {
            awaiting_since: Some(ts("2026-11-23T10:00:00Z")),
            ..base
        };
        let targets = |c: &CaseClock| -> Vec<Target> {
            evaluate(&p, &hours, c, now)
                .iter()
                .map(|s| s.target)
                .collect()
        };
        assert_eq!(targets(&waiting_only), [Target::FirstResponse]);
        // Answered, and the customer has not written since: no next response clock.
        let answered = CaseClock {
            first_response_at: Some(ts("2026-11-23T10:10:00Z")),
            ..base
        };
        assert_eq!(targets(&answered), [Target::FirstResponse]);
        // The customer wrote again at 11:00: due 11:30, warned at 11:24.
        let again = CaseClock {
            awaiting_since: Some(ts("2026-11-23T11:00:00Z")),
            ..answered
        };
        let s = only(&evaluate(&p, &hours, &again, now), Target::NextResponse);
        assert_eq!(
            (s.due_at, s.warn_at, s.status),
            (
                ts("2026-11-23T11:30:00Z"),
                ts("2026-11-23T11:24:00Z"),
                SlaStatus::Breached
            )
        );
        let s = only(
            &evaluate(&p, &hours, &again, ts("2026-11-23T11:25:00Z")),
            Target::NextResponse,
        );
        assert_eq!(s.status, SlaStatus::Warning);
        // A message that came before the first response counts from the first response.
        let early = CaseClock {
            awaiting_since: Some(ts("2026-11-23T10:05:00Z")),
            ..answered
        };
        let s = only(&evaluate(&p, &hours, &early, now), Target::NextResponse);
        assert_eq!(s.due_at, ts("2026-11-23T10:40:00Z"));
    }

    #[test]
    fn pause_extends_resolution_only() {
        let p = policy("name = \"x\"\nfirst_response = \"1h\"\nresolution = \"8h\"");
        let hours = berlin();
        // Monday 09:00; pending for 3 business hours.
        let c = CaseClock {
            paused_micros: 3 * HOUR,
            ..clock("2026-11-23T08:00:00Z")
        };
        let states = evaluate(&p, &hours, &c, ts("2026-11-23T16:30:00Z"));
        // Without the pause due Monday 17:00; with it Tuesday 12:00. Warning at 8h - 1h36m.
        let r = only(&states, Target::Resolution);
        assert_eq!(r.due_at, ts("2026-11-24T11:00:00Z"));
        assert_eq!(r.warn_at, ts("2026-11-24T09:24:00Z"));
        assert_eq!(r.status, SlaStatus::Running);
        assert_eq!(
            only(&states, Target::FirstResponse).due_at,
            ts("2026-11-23T09:00:00Z")
        );
        // A negative pause (a caller bug) is treated as none.
        let c = CaseClock {
            paused_micros: -HOUR,
            ..c
        };
        let r = only(
            &evaluate(&p, &hours, &c, ts("2026-11-23T08:00:00Z")),
            Target::Resolution,
        );
        assert_eq!(r.due_at, ts("2026-11-23T16:00:00Z"));
    }

    #[test]
    fn resolved_case_stops_every_clock() {
        let p = policy(
            "name = \"x\"\nfirst_response = \"1h\"\nnext_response = \"1h\"\nresolution = \"4h\"",
        );
        let hours = BusinessHours::always();
        let c = CaseClock {
            first_response_at: Some(ts("2026-11-23T10:30:00Z")),
            awaiting_since: Some(ts("2026-11-23T11:00:00Z")),
            resolved_at: Some(ts("2026-11-23T12:30:00Z")),
            ..clock("2026-11-23T10:00:00Z")
        };
        let states = evaluate(&p, &hours, &c, ts("2026-11-25T00:00:00Z"));
        let summary: Vec<_> = states.iter().map(|s| (s.target, s.status)).collect();
        assert_eq!(
            summary,
            [
                (Target::FirstResponse, SlaStatus::Met),
                (Target::NextResponse, SlaStatus::MetLate),
                (Target::Resolution, SlaStatus::Met),
            ]
        );
        assert_eq!(next_wakeup(&states), None);
        // Closed without any answer: the first response counts as met at resolution.
        let silent = CaseClock {
            resolved_at: Some(ts("2026-11-23T10:20:00Z")),
            ..clock("2026-11-23T10:00:00Z")
        };
        let s = only(
            &evaluate(&p, &hours, &silent, ts("2026-11-25T00:00:00Z")),
            Target::FirstResponse,
        );
        assert_eq!(
            (s.status, s.met_at),
            (SlaStatus::Met, Some(ts("2026-11-23T10:20:00Z")))
        );
    }

    #[test]
    fn warn_before_explicit_and_saturating() {
        let hours = BusinessHours::always();
        let c = clock("2026-11-23T10:00:00Z");
        let table = [
            ("5m", "2026-11-23T10:55:00Z"),
            ("0s", "2026-11-23T11:00:00Z"),
            ("1h", "2026-11-23T10:00:00Z"),
            ("3h", "2026-11-23T10:00:00Z"), // longer than the target: warn from the start
        ];
        for (warn_before, warn_at) in table {
            let p = policy(&format!(
                "name = \"x\"\nfirst_response = \"1h\"\nwarn_before = \"{warn_before}\""
            ));
            let s = only(
                &evaluate(&p, &hours, &c, c.created_at),
                Target::FirstResponse,
            );
            assert_eq!(s.warn_at, ts(warn_at), "{warn_before}");
            assert_eq!(s.due_at, ts("2026-11-23T11:00:00Z"));
        }
        // With no warning window, the target goes straight from running to breached.
        let p = policy("name = \"x\"\nfirst_response = \"1h\"\nwarn_before = \"0s\"");
        let at = |now: &str| only(&evaluate(&p, &hours, &c, ts(now)), Target::FirstResponse);
        assert_eq!(at("2026-11-23T10:59:59Z").status, SlaStatus::Running);
        assert_eq!(at("2026-11-23T11:00:00Z").status, SlaStatus::Breached);
    }

    #[test]
    fn next_wakeup_picks_the_earliest_change() {
        let p = policy("name = \"x\"\nfirst_response = \"1h\"\nresolution = \"4h\"");
        let hours = BusinessHours::always();
        let c = clock("2026-11-23T10:00:00Z");
        let table = [
            // Both running: the first response warns first (10:48).
            ("2026-11-23T10:00:00Z", Some("2026-11-23T10:48:00Z")),
            // First response warning (due 11:00), resolution running (warns 13:12).
            ("2026-11-23T10:50:00Z", Some("2026-11-23T11:00:00Z")),
            // First response breached: only the resolution counts.
            ("2026-11-23T11:00:00Z", Some("2026-11-23T13:12:00Z")),
            ("2026-11-23T13:12:00Z", Some("2026-11-23T14:00:00Z")),
            // Everything breached.
            ("2026-11-23T14:00:00Z", None),
        ];
        for (now, wakeup) in table {
            let states = evaluate(&p, &hours, &c, ts(now));
            assert_eq!(next_wakeup(&states), wakeup.map(ts), "{now}");
        }
        assert_eq!(next_wakeup(&[]), None);
    }

    #[test]
    fn states_serialize_in_snake_case() {
        let p = policy("name = \"x\"\nfirst_response = \"1h\"");
        let c = CaseClock {
            first_response_at: Some(ts("2026-11-23T12:00:00Z")),
            ..clock("2026-11-23T10:00:00Z")
        };
        let states = evaluate(&p, &BusinessHours::always(), &c, ts("2026-11-23T12:00:00Z"));
        let value = toml::Value::try_from(states[0]).unwrap();
        let table = [
            ("target", "first_response"),
            ("status", "met_late"),
            ("due_at", "2026-11-23T11:00:00Z"),
            ("warn_at", "2026-11-23T10:48:00Z"),
            ("met_at", "2026-11-23T12:00:00Z"),
        ];
        for (key, expected) in table {
            assert_eq!(value[key].as_str(), Some(expected), "{key}");
        }
        assert_eq!(value.try_into::<TargetState>().unwrap(), states[0]);
        let clock_value = toml::Value::try_from(c).unwrap();
        assert_eq!(clock_value.try_into::<CaseClock>().unwrap(), c);
    }

    #[test]
    fn crossings_fire_once_per_level_and_due_time() {
        let due = ts("2026-03-02T10:00:00Z");
        let state = |target, status| TargetState {
            target,
            due_at: due,
            warn_at: ts("2026-03-02T09:00:00Z"),
            met_at: None,
            status,
        };
        let states = [
            state(Target::FirstResponse, SlaStatus::Warning),
            state(Target::Resolution, SlaStatus::Running),
            state(Target::NextResponse, SlaStatus::Breached),
        ];
        let first = crossings(&states, &[]);
        assert_eq!(
            first.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
            [
                format!("first_response:warning:{}", due.as_unix_micros()),
                format!("next_response:breached:{}", due.as_unix_micros()),
            ]
        );
        let fired: Vec<String> = first.into_iter().map(|c| c.key).collect();
        assert!(crossings(&states, &fired).is_empty());
        // The same target breached later fires its breach; a new due time fires again.
        let later = [state(Target::FirstResponse, SlaStatus::Breached)];
        assert_eq!(crossings(&later, &fired).len(), 1);
        let mut moved = state(Target::NextResponse, SlaStatus::Breached);
        moved.due_at = ts("2026-03-03T10:00:00Z");
        assert_eq!(crossings(&[moved], &fired).len(), 1);
        // Met and running targets never fire.
        let quiet = [
            state(Target::FirstResponse, SlaStatus::Met),
            state(Target::Resolution, SlaStatus::MetLate),
            state(Target::NextResponse, SlaStatus::Running),
        ];
        assert!(crossings(&quiet, &[]).is_empty());
    }
}
