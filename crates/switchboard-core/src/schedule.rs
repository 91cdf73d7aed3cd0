//! Business hours: when a team is working, as a time zone, weekly opening intervals and
//! holidays. Pure: every query takes the instant it is about and returns data.
//!
//! # Format
//! ```toml
//! [team.hours]
//! timezone = "Europe/Berlin"          # an IANA name, looked up in the bundled database
//! mon = "09:00-17:00"
//! tue = "09:00-17:00"
//! wed = "09:00-12:00, 13:00-17:00"    # several intervals a day: a lunch break
//! thu = "09:00-17:00"
//! fri = "09:00-15:00"
//! sat = "closed"                      # same as leaving the day out
//! sun = "00:00-24:00"                 # the whole day
//! holidays = ["2026-12-25", "2026-12-26"]
//! ```
//! A day is a comma-separated list of `HH:MM-HH:MM` intervals in the team's local time; an
//! interval includes its start and excludes its end, `24:00` may end one, intervals may touch
//! (`09:00-12:00, 12:00-17:00`) but not overlap. A day that is absent, empty or `closed` is
//! closed. At least one day must have an interval.
//!
//! # Semantics
//! - Intervals belong to the local **date** they are written for, so `sun = "22:00-24:00"` ends
//!   at Monday 00:00. A **holiday** is a local date (`YYYY-MM-DD`, in the team's time zone) on
//!   which the intervals of its weekday do not apply: the team is closed from 00:00 to 24:00 of
//!   that date. Intervals of the previous day that end at `24:00` still end at midnight.
//! - Each interval becomes a span of real time from the instant its start is shown on the wall
//!   clock to the instant its end is shown. Open time is always **real elapsed time**: a
//!   `09:00-17:00` day is 8 hours, except when a daylight saving switch falls inside it
//!   (`00:00-24:00` is 23 hours on the day clocks go forward and 25 hours on the day they go
//!   back).
//! - Local times that **do not exist** (the hour skipped when clocks go forward) are skipped: a
//!   boundary inside the gap stands for the moment of the switch (in Europe/Berlin on
//!   2026-03-29, `02:30` means 03:00 CEST, the instant clocks jumped from 02:00).
//! - Local times that **occur twice** (the hour repeated when clocks go back) are counted once
//!   per real instant: a boundary inside the repeated hour stands for its first occurrence, and
//!   an interval that spans the repeated hour contains both occurrences (Europe/Berlin on
//!   2026-10-25: `01:00-04:00` is 4 hours, `02:30-05:00` is 3.5 hours).
//! - Queries look at most [`HORIZON_MICROS`] (ten years) ahead of the instant they start from:
//!   [`BusinessHours::add_business`] saturates at that horizon, [`BusinessHours::next_open`]
//!   gives up, [`BusinessHours::business_between`] counts only that far. They step from open
//!   interval to open interval, so a long duration costs one step per day, not per minute.
//! - [`BusinessHours::always`] is open all the time (24/7, UTC, no holidays): the default for a
//!   team that configured nothing. Hours open `00:00-24:00` every day with no holidays are
//!   always open in any time zone and take the same fast path.

use crate::{ParseError, Timestamp};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

const MINUTES_PER_DAY: u16 = 24 * 60;
const DAY_MICROS: i64 = 86_400_000_000;
/// How far ahead a query looks: ten years (3653 days) of real time.
pub const HORIZON_MICROS: i64 = 3653 * DAY_MICROS;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Business hours as written in a playbook (`[team.hours]`). Check them with
/// [`BusinessHours::from_spec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursSpec {
    /// An IANA time zone name such as `Europe/Berlin` or `UTC`.
    pub timezone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sun: Option<String>,
    /// Local dates `YYYY-MM-DD` on which the team is closed all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

impl HoursSpec {
    fn days(&self) -> [Option<&str>; 7] {
        [
            self.mon.as_deref(),
            self.tue.as_deref(),
            self.wed.as_deref(),
            self.thu.as_deref(),
            self.fri.as_deref(),
            self.sat.as_deref(),
            self.sun.as_deref(),
        ]
    }
}

/// Checked business hours, ready to query. See the module docs for the semantics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    tz: TimeZone,
    timezone: String,
    /// Monday first; each day's intervals as minutes since local midnight, sorted, disjoint.
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<Date>,
    always_open: bool,
}

impl Default for BusinessHours {
    fn default() -> Self {
        Self::always()
    }
}

impl BusinessHours {
    /// Open all the time: 24/7, UTC, no holidays.
    pub fn always() -> Self {
        Self::build(
            TimeZone::UTC,
            "UTC".to_owned(),
            std::array::from_fn(|_| vec![(0, MINUTES_PER_DAY)]),
            BTreeSet::new(),
        )
    }

    pub fn from_spec(spec: &HoursSpec) -> Result<Self, ParseError> {
        let name = spec.timezone.trim();
        let tz = TimeZone::get(name)
            .map_err(|_| ParseError::new(format!("unknown time zone {:?}", spec.timezone)))?;
        let timezone = tz.iana_name().unwrap_or(name).to_owned();
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for (i, day) in spec.days().into_iter().enumerate() {
            if let Some(text) = day {
                week[i] = parse_day(DAY_NAMES[i], text)?;
            }
        }
        let mut holidays = BTreeSet::new();
        for h in &spec.holidays {
            let date = parse_date(h.trim()).ok_or_else(|| {
                ParseError::new(format!("holidays: {h:?} is not a date YYYY-MM-DD"))
            })?;
            holidays.insert(date);
        }
        if week.iter().all(Vec::is_empty) {
            return Err(ParseError::new("the hours are never open"));
        }
        Ok(Self::build(tz, timezone, week, holidays))
    }

    fn build(
        tz: TimeZone,
        timezone: String,
        week: [Vec<(u16, u16)>; 7],
        holidays: BTreeSet<Date>,
    ) -> Self {
        let always_open =
            holidays.is_empty() && week.iter().all(|d| d.as_slice() == [(0, MINUTES_PER_DAY)]);
        BusinessHours {
            tz,
            timezone,
            week,
            holidays,
            always_open,
        }
    }

    /// The IANA name of the time zone (as the database spells it).
    pub fn timezone(&self) -> &str {
        &self.timezone
    }

    /// Open every instant (like [`BusinessHours::always`], in whatever time zone).
    pub fn is_always_open(&self) -> bool {
        self.always_open
    }

    /// The hours written back in the playbook format (normalized: sorted intervals, canonical
    /// time zone name, closed days left out, holidays sorted and deduplicated).
    pub fn to_spec(&self) -> HoursSpec {
        let day = |i: usize| -> Option<String> {
            let ivs = &self.week[i];
            if ivs.is_empty() {
                return None;
            }
            let parts: Vec<String> = ivs
                .iter()
                .map(|&(s, e)| format!("{}-{}", fmt_hm(s), fmt_hm(e)))
                .collect();
            Some(parts.join(", "))
        };
        HoursSpec {
            timezone: self.timezone.clone(),
            mon: day(0),
            tue: day(1),
            wed: day(2),
            thu: day(3),
            fri: day(4),
            sat: day(5),
            sun: day(6),
            holidays: self.holidays.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// Whether the team is working at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        if self.always_open {
            return true;
        }
        let t = at.as_unix_micros();
        let mut open = false;
        self.for_each_period(t, t.saturating_add(1), |_, _| {
            open = true;
            ControlFlow::Break(())
        });
        open
    }

    /// The first open instant at or after `at` (`at` itself when open); `None` when the hours
    /// are not open within the next ten years.
    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        if self.always_open {
            return Some(at);
        }
        let t = at.as_unix_micros();
        let mut found = None;
        self.for_each_period(t, t.saturating_add(HORIZON_MICROS), |s, _| {
            found = Some(Timestamp::from_unix_micros(s));
            ControlFlow::Break(())
        });
        found
    }

    /// The instant at which `micros` of open time have elapsed, counting from `start`. Closed
    /// time (nights, weekends, holidays) does not count. The result is the end of an open
    /// stretch when the time runs out exactly there (a target of 8 hours from Monday 09:00 is
    /// due Monday 17:00, not Tuesday 09:00). `micros <= 0` gives `start`. Saturates at
    /// `start + HORIZON_MICROS` when the open time is not reached within ten years.
    pub fn add_business(&self, start: Timestamp, micros: i64) -> Timestamp {
        if micros <= 0 {
            return start;
        }
        let from = start.as_unix_micros();
        let horizon = from.saturating_add(HORIZON_MICROS);
        if self.always_open {
            return Timestamp::from_unix_micros(from.saturating_add(micros.min(HORIZON_MICROS)));
        }
        let mut left = micros;
        let mut result = horizon;
        self.for_each_period(from, horizon, |s, e| {
            let len = e - s;
            if left <= len {
                result = s + left;
                ControlFlow::Break(())
            } else {
                left -= len;
                ControlFlow::Continue(())
            }
        });
        Timestamp::from_unix_micros(result)
    }

    /// Microseconds of open time in `[a, b)`; 0 when `b <= a`. Counts at most the ten years
    /// after `a`.
    pub fn business_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        let from = a.as_unix_micros();
        let until = b.as_unix_micros().min(from.saturating_add(HORIZON_MICROS));
        if until <= from {
            return 0;
        }
        if self.always_open {
            return until - from;
        }
        let mut total = 0i64;
        self.for_each_period(from, until, |s, e| {
            total += e - s;
            ControlFlow::Continue(())
        });
        total
    }

    /// Calls `f` with each open period, clipped to `[from, until)`, in chronological order.
    /// Periods are disjoint (they may touch) because each day's intervals are, and the mapping
    /// from wall-clock time to instants never goes backwards.
    fn for_each_period(
        &self,
        from: i64,
        until: i64,
        mut f: impl FnMut(i64, i64) -> ControlFlow<()>,
    ) {
        if until <= from {
            return;
        }
        // One day of margin each side: with a switch at midnight, an instant's local date can
        // differ from the date whose intervals cover it.
        let first = self.local_date(from);
        let mut date = first.yesterday().unwrap_or(first);
        let last = self.local_date(until);
        let last = last.tomorrow().unwrap_or(last);
        let mut periods = Vec::with_capacity(4);
        while date <= last {
            periods.clear();
            self.day_periods(date, &mut periods);
            for &(s, e) in &periods {
                let (s, e) = (s.max(from), e.min(until));
                if s < e && f(s, e).is_break() {
                    return;
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
    }

    /// The open periods of one local date, as unix microseconds.
    fn day_periods(&self, date: Date, out: &mut Vec<(i64, i64)>) {
        if self.holidays.contains(&date) {
            return;
        }
        let weekday = date.weekday().to_monday_zero_offset() as usize;
        for &(s, e) in &self.week[weekday] {
            if let (Some(a), Some(b)) = (self.instant_of(date, s), self.instant_of(date, e))
                && a < b
            {
                out.push((a, b));
            }
        }
    }

    /// The instant that wall-clock time `minute` (since midnight, up to 24:00) on `date`
    /// stands for: the first occurrence in a fold, the moment of the switch in a gap.
    fn instant_of(&self, date: Date, minute: u16) -> Option<i64> {
        let (date, minute) = if minute >= MINUTES_PER_DAY {
            (date.tomorrow().ok()?, minute - MINUTES_PER_DAY)
        } else {
            (date, minute)
        };
        let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
        let dt = DateTime::from_parts(date, time);
        let ts = match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok()?,
            AmbiguousOffset::Fold { before, after } => {
                let (a, b) = (before.to_timestamp(dt).ok()?, after.to_timestamp(dt).ok()?);
                a.min(b)
            }
            AmbiguousOffset::Gap { before, after } => {
                let (a, b) = (before.to_timestamp(dt).ok()?, after.to_timestamp(dt).ok()?);
                let (lo, hi) = (a.min(b), a.max(b));
                // The switch lies strictly after `lo` and no later than `hi`.
                self.tz
                    .following(lo)
                    .next()
                    .map(|t| t.timestamp())
                    .filter(|t| *t <= hi)
                    .unwrap_or(hi)
            }
        };
        Some(ts.as_microsecond())
    }

    fn local_date(&self, micros: i64) -> Date {
        let min = jiff::Timestamp::MIN.as_microsecond();
        let max = jiff::Timestamp::MAX.as_microsecond();
        let ts = jiff::Timestamp::from_microsecond(micros.clamp(min, max))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        self.tz.to_datetime(ts).date()
    }
}

fn parse_day(day: &str, text: &str) -> Result<Vec<(u16, u16)>, ParseError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    let mut intervals = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let bad = || {
            ParseError::new(format!(
                "{day}: {part:?} is not an interval HH:MM-HH:MM (e.g. \"09:00-17:00\")"
            ))
        };
        let (a, b) = part.split_once('-').ok_or_else(bad)?;
        let start = parse_hm(a.trim()).ok_or_else(bad)?;
        let end = parse_hm(b.trim()).ok_or_else(bad)?;
        if end < start {
            return Err(ParseError::new(format!(
                "{day}: {part:?} ends before it starts"
            )));
        }
        if end == start {
            return Err(ParseError::new(format!("{day}: {part:?} is empty")));
        }
        intervals.push((start, end));
    }
    intervals.sort_unstable();
    if intervals.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err(ParseError::new(format!("{day}: intervals overlap")));
    }
    Ok(intervals)
}

/// `H:MM` or `HH:MM`, 00:00 to 24:00, as minutes since midnight.
fn parse_hm(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&h.len()) || m.len() != 2 || !digits(h) || !digits(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

fn fmt_hm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Exactly `YYYY-MM-DD`, a real calendar date.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    let y: i16 = s[0..4].parse().ok()?;
    let m: i8 = s[5..7].parse().ok()?;
    let d: i8 = s[8..10].parse().ok()?;
    Date::new(y, m, d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;
    const MINUTE: i64 = 60_000_000;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn spec(timezone: &str, days: [Option<&str>; 7], holidays: &[&str]) -> HoursSpec {
        let d = |i: usize| days[i].map(str::to_owned);
        HoursSpec {
            timezone: timezone.to_owned(),
            mon: d(0),
            tue: d(1),
            wed: d(2),
            thu: d(3),
            fri: d(4),
            sat: d(5),
            sun: d(6),
            holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    /// The example from the module docs, minus the Sunday.
    fn berlin() -> BusinessHours {
        let toml = r#"
            timezone = "Europe/Berlin"
            mon = "09:00-17:00"
            tue = "09:00-17:00"
            wed = "09:00-12:00, 13:00-17:00"
            thu = "09:00-17:00"
            fri = "09:00-15:00"
            holidays = ["2026-12-25", "2026-12-26"]
        "#;
        let spec: HoursSpec = toml::from_str(toml).unwrap();
        BusinessHours::from_spec(&spec).unwrap()
    }

    /// Monday to Friday 09:00-17:00 in Berlin, no lunch, no holidays.
    fn berlin_plain() -> BusinessHours {
        let d = Some("09:00-17:00");
        BusinessHours::from_spec(&spec("Europe/Berlin", [d, d, d, d, d, None, None], &[])).unwrap()
    }

    /// Berlin, open only on Sundays, with the given interval.
    fn berlin_sunday(interval: &str) -> BusinessHours {
        let days = [None, None, None, None, None, None, Some(interval)];
        BusinessHours::from_spec(&spec("Europe/Berlin", days, &[])).unwrap()
    }

    #[test]
    fn spec_from_toml_and_back() {
        let hours = berlin();
        let back = hours.to_spec();
        assert_eq!(back.timezone, "Europe/Berlin");
        assert_eq!(back.wed.as_deref(), Some("09:00-12:00, 13:00-17:00"));
        assert_eq!(back.sat, None);
        assert_eq!(back.holidays, ["2026-12-25", "2026-12-26"]);
        assert_eq!(BusinessHours::from_spec(&back).unwrap(), hours);
        let value = toml::Value::try_from(&back).unwrap();
        assert_eq!(value["wed"].as_str(), Some("09:00-12:00, 13:00-17:00"));
        assert_eq!(value.get("sat"), None);
        assert_eq!(value.try_into::<HoursSpec>().unwrap(), back);
    }

    #[test]
    fn spec_rejects_unknown_fields() {
        let err = toml::from_str::<HoursSpec>("timezone = \"UTC\"\nmonday = \"09:00-17:00\"")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `monday`"), "{err}");
    }

    #[test]
    fn spec_errors() {
        let berlin = "Europe/Berlin";
        let day =
            |wed: &'static str| [Some("09:00-17:00"), None, Some(wed), None, None, None, None];
        let table: [(HoursSpec, &str); 11] = [
            (
                spec("Europe/Berlinn", day("09:00-17:00"), &[]),
                "unknown time zone \"Europe/Berlinn\"",
            ),
            (spec("", day("09:00-17:00"), &[]), "unknown time zone \"\""),
            (
                spec(berlin, day("13:00-12:00"), &[]),
                "wed: \"13:00-12:00\" ends before it starts",
            ),
            (
                spec(berlin, day("09:00-12:00, 11:00-17:00"), &[]),
                "wed: intervals overlap",
            ),
            (
                spec(berlin, day("13:00-17:00, 09:00-13:30"), &[]),
                "wed: intervals overlap",
            ),
            (
                spec(berlin, day("12:00-12:00"), &[]),
                "wed: \"12:00-12:00\" is empty",
            ),
            (
                spec(berlin, day("9-17"), &[]),
                "wed: \"9-17\" is not an interval HH:MM-HH:MM (e.g. \"09:00-17:00\")",
            ),
            (
                spec(berlin, day("09:00-24:30"), &[]),
                "wed: \"09:00-24:30\" is not an interval HH:MM-HH:MM (e.g. \"09:00-17:00\")",
            ),
            (
                spec(berlin, day("09:00-17:00"), &["2026-13-01"]),
                "holidays: \"2026-13-01\" is not a date YYYY-MM-DD",
            ),
            (
                spec(berlin, day("09:00-17:00"), &["2026-2-01"]),
                "holidays: \"2026-2-01\" is not a date YYYY-MM-DD",
            ),
            (
                spec(
                    berlin,
                    [None, None, Some("closed"), None, Some(""), None, None],
                    &[],
                ),
                "the hours are never open",
            ),
        ];
        for (spec, msg) in table {
            assert_eq!(
                BusinessHours::from_spec(&spec),
                Err(ParseError::new(msg)),
                "{spec:?}"
            );
        }
    }

    #[test]
    fn spec_accepts_touching_intervals_24h_and_closed() {
        let days = [
            Some(" 09:00-12:00 ,12:00-17:00 "),
            Some("00:00-24:00"),
            Some("closed"),
            Some("9:30-10:00"),
            None,
            None,
            None,
        ];
        let hours = BusinessHours::from_spec(&spec("europe/berlin", days, &[])).unwrap();
        assert_eq!(hours.timezone(), "Europe/Berlin");
        let back = hours.to_spec();
        assert_eq!(back.mon.as_deref(), Some("09:00-12:00, 12:00-17:00"));
        assert_eq!(back.tue.as_deref(), Some("00:00-24:00"));
        assert_eq!(back.wed, None);
        assert_eq!(back.thu.as_deref(), Some("09:30-10:00"));
    }

    #[test]
    fn is_open_table() {
        let hours = berlin();
        // 2026-11-23 is a Monday; Berlin is UTC+1 in winter.
        let table = [
            ("2026-11-23T07:59:59Z", false), // Mon 08:59:59
            ("2026-11-23T08:00:00Z", true),  // Mon 09:00 opens
            ("2026-11-23T15:59:59Z", true),
            ("2026-11-23T16:00:00Z", false), // Mon 17:00 closed (end excluded)
            ("2026-11-25T11:30:00Z", false), // Wed 12:30 lunch
            ("2026-11-25T12:00:00Z", true),  // Wed 13:00
            ("2026-11-27T13:59:00Z", true),  // Fri 14:59
            ("2026-11-27T14:00:00Z", false), // Fri 15:00
            ("2026-11-28T10:00:00Z", false), // Saturday
            ("2026-11-29T10:00:00Z", false), // Sunday
            ("2026-12-24T10:00:00Z", true),  // Thursday
            ("2026-12-25T10:00:00Z", false), // Friday, holiday
            ("2026-07-06T07:00:00Z", true),  // Mon 09:00 CEST (UTC+2)
            ("2026-07-06T06:59:00Z", false),
        ];
        for (at, open) in table {
            assert_eq!(hours.is_open(ts(at)), open, "{at}");
        }
    }

    #[test]
    fn next_open_table() {
        let hours = berlin();
        let table = [
            ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z"), // open: itself
            ("2026-11-23T05:00:00Z", "2026-11-23T08:00:00Z"), // early morning
            ("2026-11-25T11:15:00Z", "2026-11-25T12:00:00Z"), // lunch
            ("2026-11-27T14:00:00Z", "2026-11-30T08:00:00Z"), // Friday after closing
            ("2026-12-24T16:00:00Z", "2026-12-28T08:00:00Z"), // holiday + weekend
            ("2026-03-27T15:00:00Z", "2026-03-30T07:00:00Z"), // over the DST weekend
        ];
        for (at, next) in table {
            assert_eq!(hours.next_open(ts(at)), Some(ts(next)), "{at}");
        }
    }

    #[test]
    fn add_business_table() {
        let hours = berlin();
        let table = [
            // Within the day.
            ("2026-11-23T08:00:00Z", 2 * HOUR, "2026-11-23T10:00:00Z"),
            // Ending exactly at closing time stays on that day.
            ("2026-11-23T08:00:00Z", 8 * HOUR, "2026-11-23T16:00:00Z"),
            // Started before opening: the clock starts at 09:00.
            ("2026-11-23T06:00:00Z", 30 * MINUTE, "2026-11-23T08:30:00Z"),
            // Overnight: 1h Monday, 1h Tuesday.
            ("2026-11-23T15:00:00Z", 2 * HOUR, "2026-11-24T09:00:00Z"),
            // Lunch break: Wed 11:30 + 1h = 12:00, then 13:00-13:30.
            ("2026-11-25T10:30:00Z", HOUR, "2026-11-25T12:30:00Z"),
            // Friday closes 15:00, weekend, Monday.
            ("2026-11-27T13:00:00Z", 2 * HOUR, "2026-11-30T09:00:00Z"),
            // Started on Saturday.
            ("2026-11-28T12:00:00Z", 15 * MINUTE, "2026-11-30T08:15:00Z"),
            // Thursday before Christmas: 1h Thu, Fri holiday, weekend, Sat holiday anyway.
            ("2026-12-24T15:00:00Z", 2 * HOUR, "2026-12-28T09:00:00Z"),
            // Across the spring DST weekend: Fri 14:00 CET + 2h = Mon 10:00 CEST.
            ("2026-03-27T13:00:00Z", 2 * HOUR, "2026-03-30T08:00:00Z"),
            // Across the autumn DST weekend: Fri 14:00 CEST + 2h = Mon 10:00 CET.
            ("2026-10-23T12:00:00Z", 2 * HOUR, "2026-10-26T09:00:00Z"),
            // Zero and negative durations give the start, even when closed.
            ("2026-11-28T12:00:00Z", 0, "2026-11-28T12:00:00Z"),
            ("2026-11-28T12:00:00Z", -HOUR, "2026-11-28T12:00:00Z"),
        ];
        for (start, micros, due) in table {
            assert_eq!(
                hours.add_business(ts(start), micros),
                ts(due),
                "{start} + {micros}"
            );
        }
    }

    #[test]
    fn thirty_business_days() {
        let hours = berlin_plain();
        // Monday 2026-11-02 09:00 CET + 30 × 8h = six full weeks, ending Friday 2026-12-11 17:00.
        let start = ts("2026-11-02T08:00:00Z");
        let due = hours.add_business(start, 30 * 8 * HOUR);
        assert_eq!(due, ts("2026-12-11T16:00:00Z"));
        assert_eq!(hours.business_between(start, due), 30 * 8 * HOUR);
    }

    #[test]
    fn business_between_table() {
        let hours = berlin();
        let table = [
            ("2026-11-23T08:00:00Z", "2026-11-23T16:00:00Z", 8 * HOUR),
            ("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z", 8 * HOUR),
            ("2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z", 7 * HOUR), // lunch
            ("2026-11-27T00:00:00Z", "2026-11-30T00:00:00Z", 6 * HOUR), // Fri + weekend
            ("2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z", 37 * HOUR), // a week
            ("2026-12-21T00:00:00Z", "2026-12-28T00:00:00Z", 31 * HOUR), // Christmas week
            ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z", 0),
            ("2026-11-23T12:00:00Z", "2026-11-23T10:00:00Z", 0), // reversed
            ("2026-11-28T00:00:00Z", "2026-11-29T23:00:00Z", 0), // weekend
        ];
        for (a, b, micros) in table {
            assert_eq!(hours.business_between(ts(a), ts(b)), micros, "{a} .. {b}");
        }
    }

    #[test]
    fn add_and_between_agree() {
        let hours = berlin();
        let starts = [
            "2026-11-23T07:00:00Z",
            "2026-11-25T11:45:00Z",
            "2026-12-24T15:30:00Z",
            "2026-03-27T14:59:00Z",
            "2026-10-23T12:00:00Z",
        ];
        for start in starts {
            for micros in [MINUTE, HOUR, 7 * HOUR, 40 * HOUR, 300 * HOUR] {
                let due = hours.add_business(ts(start), micros);
                assert_eq!(hours.business_between(ts(start), due), micros, "{start}");
                assert!(hours.is_open(due.plus_micros(-1)), "{start} + {micros}");
            }
        }
    }

    #[test]
    fn dst_days_count_real_time() {
        // 2026-03-29: Berlin skips 02:00-03:00. 2026-10-25: repeats 02:00-03:00.
        let spring = ("2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z");
        let autumn = ("2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z");
        let table = [
            ("00:00-24:00", spring, 23 * HOUR),
            ("00:00-24:00", autumn, 25 * HOUR),
            ("09:00-17:00", spring, 8 * HOUR),
            ("09:00-17:00", autumn, 8 * HOUR),
            ("01:00-04:00", spring, 2 * HOUR),
            ("01:00-04:00", autumn, 4 * HOUR),
            // A boundary in the gap is the moment of the switch (03:00 CEST).
            ("02:30-05:00", spring, 2 * HOUR),
            ("00:00-02:30", spring, 2 * HOUR),
            // A boundary in the repeated hour is its first occurrence.
            ("02:30-05:00", autumn, 3 * HOUR + 30 * MINUTE),
            ("00:00-02:30", autumn, 2 * HOUR + 30 * MINUTE),
        ];
        for (interval, (a, b), micros) in table {
            let hours = berlin_sunday(interval);
            assert_eq!(
                hours.business_between(ts(a), ts(b)),
                micros,
                "{interval} {a}"
            );
        }
    }

    #[test]
    fn dst_boundaries_and_add_business() {
        let spring = berlin_sunday("02:30-05:00");
        // Opens at the switch, 03:00 CEST = 01:00Z, closes 05:00 CEST = 03:00Z.
        assert_eq!(
            spring.next_open(ts("2026-03-28T12:00:00Z")),
            Some(ts("2026-03-29T01:00:00Z"))
        );
        assert!(!spring.is_open(ts("2026-03-29T00:59:59Z")));
        assert!(spring.is_open(ts("2026-03-29T01:00:00Z")));
        assert!(!spring.is_open(ts("2026-03-29T03:00:00Z")));

        // Autumn: 00:00-24:00 Sunday is 25 hours, 22:00Z Saturday to 23:00Z Sunday.
        let autumn = berlin_sunday("00:00-24:00");
        let start = ts("2026-10-24T22:00:00Z");
        assert_eq!(autumn.next_open(ts("2026-10-24T12:00:00Z")), Some(start));
        assert_eq!(
            autumn.add_business(start, 25 * HOUR),
            ts("2026-10-25T23:00:00Z")
        );
        assert_eq!(
            autumn.add_business(start, 26 * HOUR),
            ts("2026-11-01T00:00:00Z")
        );
        // Both occurrences of 02:30 are open.
        assert!(autumn.is_open(ts("2026-10-25T00:30:00Z")));
        assert!(autumn.is_open(ts("2026-10-25T01:30:00Z")));

        // Spring: 23 hours, 23:00Z Saturday to 22:00Z Sunday.
        let spring = berlin_sunday("00:00-24:00");
        let start = ts("2026-03-28T23:00:00Z");
        assert_eq!(
            spring.add_business(start, 23 * HOUR),
            ts("2026-03-29T22:00:00Z")
        );
        assert_eq!(
            spring.add_business(start, 3 * HOUR),
            ts("2026-03-29T02:00:00Z")
        );
    }

    #[test]
    fn always_open() {
        let hours = BusinessHours::always();
        assert!(hours.is_always_open());
        assert_eq!(hours.timezone(), "UTC");
        assert_eq!(BusinessHours::default(), hours);
        let t = ts("2026-12-25T03:00:00Z");
        assert!(hours.is_open(t));
        assert_eq!(hours.next_open(t), Some(t));
        assert_eq!(
            hours.add_business(t, 90 * MINUTE),
            ts("2026-12-25T04:30:00Z")
        );
        assert_eq!(
            hours.business_between(t, ts("2026-12-26T03:00:00Z")),
            24 * HOUR
        );
        // The general path agrees with the fast path around a DST switch in Berlin.
        let all = Some("00:00-24:00");
        let berlin_24_7 = BusinessHours::from_spec(&spec("Europe/Berlin", [all; 7], &[])).unwrap();
        assert!(berlin_24_7.is_always_open());
        let a = ts("2026-03-28T12:00:00Z");
        assert_eq!(
            berlin_24_7.add_business(a, 30 * HOUR),
            a.plus_micros(30 * HOUR)
        );
        let with_holiday =
            BusinessHours::from_spec(&spec("Europe/Berlin", [all; 7], &["2026-12-25"])).unwrap();
        assert!(!with_holiday.is_always_open());
        assert_eq!(
            with_holiday.add_business(a, 30 * HOUR),
            a.plus_micros(30 * HOUR)
        );
        assert_eq!(
            with_holiday.business_between(ts("2026-12-24T00:00:00Z"), ts("2026-12-27T00:00:00Z")),
            48 * HOUR
        );
    }

    #[test]
    fn saturates_at_the_horizon() {
        // One minute a week: thirty days of open time are not reached in ten years.
        let hours = BusinessHours::from_spec(&spec(
            "UTC",
            [Some("09:00-09:01"), None, None, None, None, None, None],
            &[],
        ))
        .unwrap();
        let start = ts("2026-11-23T00:00:00Z");
        assert_eq!(
            hours.add_business(start, 30 * 24 * HOUR),
            start.plus_micros(HORIZON_MICROS)
        );
        let weeks = HORIZON_MICROS / (7 * 24 * HOUR);
        let counted = hours.business_between(start, Timestamp::from_unix_micros(i64::MAX));
        assert!((weeks * MINUTE..=(weeks + 1) * MINUTE).contains(&counted));
        // Extreme instants do not panic.
        let far = Timestamp::from_unix_micros(i64::MAX - 1);
        assert!(!hours.is_open(far));
        assert_eq!(
            hours.add_business(far, HOUR),
            Timestamp::from_unix_micros(i64::MAX)
        );
        assert!(!hours.is_open(Timestamp::from_unix_micros(i64::MIN)));
    }
}
