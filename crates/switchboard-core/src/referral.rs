//! Referral: Tier 1 hands a case to the department that owns it and can tell the customer who
//! will answer and when, from the team's business hours and the SLA that applies. Pure.

use crate::Timestamp;
use crate::schedule::BusinessHours;
use serde::Serialize;

/// What a customer can be promised about a referred case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expectation {
    /// The team's name, as the customer reads it.
    pub team: String,
    pub open_now: bool,
    /// When the team is next at work, if it is not now.
    pub opens_at: Option<Timestamp>,
    /// When the team will have answered, by the SLA's response target counted in the team's
    /// business hours; `None` without an SLA.
    pub answer_by: Option<Timestamp>,
    /// The team's time zone, that the times are told in.
    pub timezone: String,
}

/// What to expect from `team` for a case referred at `now`, whose SLA response target is
/// `target_micros` of business time (if one applies).
pub fn expect(
    team: &str,
    hours: &BusinessHours,
    target_micros: Option<i64>,
    now: Timestamp,
) -> Expectation {
    let open_now = hours.is_open(now);
    Expectation {
        team: team.to_owned(),
        open_now,
        opens_at: if open_now { None } else { hours.next_open(now) },
        answer_by: target_micros.map(|t| hours.add_business(now, t)),
        timezone: hours.timezone().to_owned(),
    }
}

/// `at` as a customer reads it in `timezone`: "Monday 25 November, 09:30 (Europe/Berlin)".
pub fn local_time(at: Timestamp, timezone: &str) -> String {
    let ts = jiff::Timestamp::from_microsecond(at.as_unix_micros())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = ts.to_zoned(tz);
    format!("{} ({timezone})", zoned.strftime("%A %-d %B, %H:%M"))
}

/// The message that tells the customer (English; agents may write their own).
pub fn tell(e: &Expectation, now: Timestamp) -> String {
    let passed = format!(
        "Thank you for your message. I have passed it to our {} team, who will answer you here.",
        e.team
    );
    match (e.answer_by, e.opens_at) {
        (Some(by), _) if by.as_unix_micros() - now.as_unix_micros() <= 3_600_000_000 => {
            format!("{passed} You can expect their answer within the hour.")
        }
        (Some(by), _) => format!(
            "{passed} You can expect their answer by {}.",
            local_time(by, &e.timezone)
        ),
        (None, Some(opens)) => format!(
            "{passed} They are away now and back on {}.",
            local_time(opens, &e.timezone)
        ),
        (None, None) => passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::HoursSpec;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("timestamp")
    }

    fn office() -> BusinessHours {
        let spec: HoursSpec = toml::from_str(
            r#"
timezone = "Europe/Berlin"
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"
"#,
        )
        .expect("spec");
        BusinessHours::from_spec(&spec).expect("hours")
    }

    #[test]
    fn a_referral_on_friday_evening_is_answered_in_next_week_s_business_hours() {
        // Friday 20 November 2026, 18:00 in Berlin (17:00 UTC): closed.
        let now = at("2026-11-20T17:00:00Z");
        let e = expect("Admissions", &office(), Some(4 * 3_600_000_000), now);
        assert!(!e.open_now);
        assert_eq!(e.opens_at, Some(at("2026-11-23T08:00:00Z")));
        // Four business hours from Monday 09:00 is Monday 13:00 in Berlin.
        assert_eq!(e.answer_by, Some(at("2026-11-23T12:00:00Z")));
        assert_eq!(
            tell(&e, now),
            "Thank you for your message. I have passed it to our Admissions team, who will answer \
             you here. You can expect their answer by Monday 23 November, 13:00 (Europe/Berlin)."
        );
    }

    #[test]
    fn without_an_sla_the_customer_hears_when_the_team_is_back() {
        let now = at("2026-11-21T10:00:00Z");
        let e = expect("Financial aid", &office(), None, now);
        assert_eq!(e.answer_by, None);
        assert!(
            tell(&e, now).ends_with(
                "They are away now and back on Monday 23 November, 09:00 (Europe/Berlin)."
            ),
            "{}",
            tell(&e, now)
        );
        // Open, no SLA: just who.
        let open = at("2026-11-23T10:00:00Z");
        let e = expect("Financial aid", &office(), None, open);
        assert!(e.open_now && e.opens_at.is_none());
        assert!(tell(&e, open).ends_with("who will answer you here."));
        // A short target while open: within the hour.
        let e = expect("Sales", &BusinessHours::always(), Some(1_800_000_000), open);
        assert!(tell(&e, open).ends_with("within the hour."));
    }
}
