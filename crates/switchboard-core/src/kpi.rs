//! KPI definitions: what a case's first response, resolution and outcome are, and how cases
//! add up into a report. Pure functions over facts the store reads; every number a report
//! shows is computed here, so its definition lives in one place with its edge cases tested.
//!
//! Times are the messages' own (`sent_at`: the provider's time for a customer's message, the
//! moment of sending for a reply), never when Switchboard received them, so replayed or
//! imported history reports as it happened. Arrival order is used only to tell which replies
//! answer the customer (a reply stored before the customer first wrote is outreach, not a
//! response).
//!
//! Definitions, per case:
//! - **start**: the earliest `sent_at` of the customer's messages (messages may arrive out of
//!   order). A case the customer never wrote on has no start and no response times.
//! - **first response** (by a person: an agent, an API token, an expert, or the brand's own
//!   post made outside Switchboard; separately, by an automatic answer): the earliest
//!   `sent_at` among replies stored after the customer's first stored message, minus the start.
//!   Replies waiting for approval, rejected or failed never reached the customer and do not
//!   count. A reply whose clock says it came before the start (clock skew between the
//!   provider and us) counts as 0 and is counted in `clock_skew`.
//! - **resolution time**: the case's last resolution minus the start (0 if skewed).
//! - **business time**: the same spans counted only in the case's team's business hours.
//! - **first-contact resolution**: resolved, never reopened, and at most one reply by a
//!   person.
//! - **deflected**: resolved by an automatic answer and not reopened.
//!
//! Percentiles are nearest-rank: of n sorted values, pK is the one at rank ⌈K/100 · n⌉, so
//! the median of an even count is the lower middle value, and every percentile is a value
//! that occurred.

use crate::schedule::BusinessHours;
use crate::timestamp::Timestamp;
use jiff::civil::Weekday;
pub use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::BTreeMap;

/// Who wrote a message of a case, as the KPIs see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The customer.
    Customer,
    /// A person answering: an agent, an API token, an expert, the brand outside Switchboard.
    Person,
    /// Switchboard's automatic answer.
    Automatic,
}

/// One message of a case: only what the KPIs read.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageFact {
    pub side: Side,
    /// The message's own time.
    pub sent_at: Timestamp,
    /// When Switchboard stored it (orders arrival).
    pub stored_at: Timestamp,
    /// For replies: it reached (or is on its way to) the customer; false while it waits for
    /// approval, or once rejected or failed.
    pub delivered: bool,
    /// For the customer's messages: the sentiment label, if understood.
    pub sentiment: Option<Sentiment>,
    /// For the customer's messages: the author's followers, where the channel tells.
    pub followers: Option<i64>,
}

/// The understood sentiment of a message (the playbook's kind).
pub use crate::playbook::Sentiment;

/// A case's response and resolution times, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaseTimes {
    pub start: Option<Timestamp>,
    pub first_person_reply: Option<Timestamp>,
    pub first_automatic_reply: Option<Timestamp>,
    /// First response by a person, `first_person_reply - start`, at least 0.
    pub person_response: Option<i64>,
    pub automatic_response: Option<i64>,
    /// Replies by a person that count (delivered, after the customer wrote).
    pub person_replies: usize,
    /// From the first to the last counted reply by a person: the span the case was worked.
    pub handle_time: Option<i64>,
    /// A counted first reply's clock is before the start.
    pub clock_skew: bool,
}

/// A case's times from its messages (in any order).
pub fn case_times(messages: &[MessageFact]) -> CaseTimes {
    let customer = messages.iter().filter(|m| m.side == Side::Customer);
    let Some(start) = customer.clone().map(|m| m.sent_at).min() else {
        return CaseTimes::default();
    };
    let first_stored = customer.map(|m| m.stored_at).min().unwrap_or(start);
    let answers = |side: Side| {
        messages
            .iter()
            .filter(move |m| m.side == side && m.delivered && m.stored_at >= first_stored)
    };
    let first = |side: Side| answers(side).map(|m| m.sent_at).min();
    let first_person_reply = first(Side::Person);
    let first_automatic_reply = first(Side::Automatic);
    let span =
        |t: Option<Timestamp>| t.map(|t| (t.as_unix_micros() - start.as_unix_micros()).max(0));
    CaseTimes {
        start: Some(start),
        first_person_reply,
        first_automatic_reply,
        person_response: span(first_person_reply),
        automatic_response: span(first_automatic_reply),
        person_replies: answers(Side::Person).count(),
        handle_time: first_person_reply.and_then(|first| {
            answers(Side::Person)
                .map(|m| m.sent_at)
                .max()
                .map(|last| (last.as_unix_micros() - first.as_unix_micros()).max(0))
        }),
        clock_skew: [first_person_reply, first_automatic_reply]
            .into_iter()
            .flatten()
            .any(|t| t < start),
    }
}

/// Everything a report needs of one case.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    /// The values of the report's grouping dimension for this case (for example its purpose);
    /// `None` groups under `(none)`.
    pub group: Option<String>,
    pub public: bool,
    pub messages: Vec<MessageFact>,
    /// The last time it was resolved, if it is resolved now.
    pub resolved_at: Option<Timestamp>,
    pub reopened: bool,
    /// Resolved by an automatic answer.
    pub deflected: bool,
    /// An automatic answer was tried (a rule asked for one).
    pub auto_answer_tried: bool,
    pub lead: bool,
    pub won: bool,
    pub lost: bool,
    /// Index into the report's business hours (the case's team's); `None`: always open.
    pub hours: Option<usize>,
    /// The case's purpose is `crisis`.
    pub crisis: bool,
    /// The SLA policy that applies to the case, and what became of its targets.
    pub sla: Option<SlaOutcome>,
    /// Time the case spent with outside experts, in microseconds.
    pub expert_micros: i64,
    /// The team a Tier-1 referral sent the case to (the last referral's), by name.
    pub referred_to: Option<String>,
    /// Replies on the case that needed a reviewer's approval.
    pub approvals: Vec<ApprovalFact>,
    /// The satisfaction survey: `None` if not asked; `Some(score)` once asked, the score once
    /// the customer answered.
    pub csat: Option<Option<u8>>,
}

/// The SLA policy of a case and its targets' fate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaOutcome {
    pub policy: String,
    pub first_response_target: bool,
    pub resolution_target: bool,
    /// A breach of the target fired.
    pub first_response_breached: bool,
    pub resolution_breached: bool,
}

/// A reply that waited for a reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalFact {
    /// Microseconds from writing to the reviewer's decision; `None` while it waits.
    pub waited: Option<i64>,
    pub rejected: bool,
}

/// Time buckets of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
    Week,
    Month,
    /// One bucket for the whole range.
    All,
}

impl Bucket {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            "all" | "none" => Some(Self::All),
            _ => None,
        }
    }

    /// The bucket an instant falls in, named by its local start: `2026-03-29T02` (hour),
    /// `2026-03-29` (day), `2026-03-23` (the Monday starting the ISO week), `2026-03`, or
    /// `all`.
    pub fn label(self, t: Timestamp, tz: &TimeZone) -> String {
        if self == Bucket::All {
            return "all".to_owned();
        }
        let Ok(ts) = jiff::Timestamp::from_microsecond(t.as_unix_micros()) else {
            return "invalid".to_owned();
        };
        let dt = ts.to_zoned(tz.clone()).datetime();
        let date = dt.date();
        match self {
            Bucket::Hour => format!("{date}T{:02}", dt.hour()),
            Bucket::Day => date.to_string(),
            Bucket::Week => {
                let back = date.weekday().since(Weekday::Monday);
                date.checked_sub(jiff::Span::new().days(i64::from(back)))
                    .map(|d| d.to_string())
                    .unwrap_or_else(|_| date.to_string())
            }
            Bucket::Month => format!("{:04}-{:02}", date.year(), date.month()),
            Bucket::All => "all".to_owned(),
        }
    }

    /// Every bucket `[from, until)` touches, in order, whether or not anything happened in
    /// it (a chart's axis: an empty day is a point, not a gap closed up). `None` when there
    /// are more than `max`. Steps through the range by less than the shortest bucket can last
    /// in any time zone (a local hour can be 30 minutes where daylight saving moves by half an
    /// hour, a day 23 hours), so no bucket is stepped over; the range's last instant names the
    /// last one.
    pub fn labels(
        self,
        from: Timestamp,
        until: Timestamp,
        tz: &TimeZone,
        max: usize,
    ) -> Option<Vec<String>> {
        const MINUTE: i64 = 60_000_000;
        let step = match self {
            Bucket::Hour => 15 * MINUTE,
            Bucket::Day => 12 * 60 * MINUTE,
            Bucket::Week => 3 * 24 * 60 * MINUTE,
            Bucket::Month => 14 * 24 * 60 * MINUTE,
            Bucket::All => i64::MAX / 4,
        };
        let mut labels: Vec<String> = Vec::new();
        let mut add = |label: String| {
            if labels.last() == Some(&label) {
                return true;
            }
            labels.push(label);
            labels.len() <= max
        };
        if from >= until {
            return Some(labels);
        }
        let mut t = from;
        while t < until {
            if !add(self.label(t, tz)) {
                return None;
            }
            t = t.plus_micros(step);
        }
        if !add(self.label(until.plus_micros(-1), tz)) {
            return None;
        }
        Some(labels)
    }
}

/// An IANA time zone by name (`Europe/Berlin`, `UTC`), from the bundled database.
pub fn time_zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

/// A report's range from what a person types: a local date `YYYY-MM-DD` in `tz` (`to` counts
/// the whole day) or an RFC 3339 instant (`to` excluded). `from` must come before `to`.
pub fn parse_range(from: &str, to: &str, tz: &TimeZone) -> Result<(Timestamp, Timestamp), String> {
    let read = |field: &str, s: &str, end: bool| -> Result<Timestamp, String> {
        if let Ok(date) = s.trim().parse::<jiff::civil::Date>() {
            let date = if end {
                date.tomorrow().map_err(|e| format!("{field}: {e}"))?
            } else {
                date
            };
            let zoned = date
                .to_zoned(tz.clone())
                .map_err(|e| format!("{field}: {e}"))?;
            return Ok(Timestamp::from_unix_micros(
                zoned.timestamp().as_microsecond(),
            ));
        }
        Timestamp::parse_rfc3339(s.trim()).map_err(|_| {
            format!("{field} must be a date (YYYY-MM-DD) or an RFC 3339 time, not {s:?}")
        })
    };
    let (a, b) = (read("from", from, false)?, read("to", to, true)?);
    if a >= b {
        return Err("from must be before to".to_owned());
    }
    Ok((a, b))
}

/// Median, p90 and mean of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Spread {
    pub count: usize,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub mean_s: Option<f64>,
}

/// The value at nearest rank ⌈p · n⌉ of `sorted` (ascending); `None` when empty.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl Spread {
    /// From durations in microseconds.
    pub fn of(mut micros: Vec<i64>) -> Self {
        micros.sort_unstable();
        let secs = |v: i64| v as f64 / 1e6;
        let mean = (!micros.is_empty()).then(|| {
            micros.iter().map(|&v| v as i128).sum::<i128>() as f64 / micros.len() as f64 / 1e6
        });
        Spread {
            count: micros.len(),
            median_s: percentile(&micros, 0.5).map(secs),
            p90_s: percentile(&micros, 0.9).map(secs),
            mean_s: mean,
        }
    }
}

/// A share `part / whole`, `None` when there is no whole.
fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The KPIs of one group in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiRow {
    pub group: String,
    pub bucket: String,
    /// Customers' messages sent in this bucket (on the group's cases).
    pub inbound_messages: usize,
    pub public_messages: usize,
    pub private_messages: usize,
    /// Cases whose start is in this bucket; those resolved now, reopened at least once.
    pub cases_opened: usize,
    pub cases_resolved: usize,
    pub cases_reopened: usize,
    pub first_response: Spread,
    pub first_response_business: Spread,
    pub first_automatic_response: Spread,
    pub resolution: Spread,
    pub resolution_business: Spread,
    pub unanswered: usize,
    pub clock_skew: usize,
    /// Resolved cases resolved at first contact, as a share of the resolved.
    pub first_contact_resolution: Option<f64>,
    /// Reopened cases as a share of the opened.
    pub reopen_rate: Option<f64>,
    pub auto_answers_tried: usize,
    pub deflected: usize,
    /// Deflected cases as a share of the opened.
    pub deflection_rate: Option<f64>,
    pub leads: usize,
    pub won: usize,
    pub lost: usize,
    /// Won as a share of leads.
    pub conversion: Option<f64>,
    pub lead_first_response: Spread,
    pub sentiment_negative: usize,
    pub sentiment_neutral: usize,
    pub sentiment_positive: usize,
    /// (positive − negative) / understood messages, from −1 to 1.
    pub net_sentiment: Option<f64>,
    /// Sum of the followers of the authors of public messages, where known.
    pub reach: i64,
    /// Crisis cases: the first response of any kind (a person's or automatic).
    pub crisis_acknowledge: Spread,
    /// Replies by people on the cases opened.
    pub person_replies: usize,
    /// Cases answered by a person: from their first to their last reply (an approximation of
    /// handle time; Switchboard does not time an agent's work itself).
    pub handle_time: Spread,
    /// SLA attainment per policy.
    pub sla: BTreeMap<String, SlaAttainment>,
    /// Of all policies: targets met / targets met or breached.
    pub sla_attainment: Option<f64>,
    /// Cases referred by Tier 1, and to which team.
    pub referrals: usize,
    pub referral_rate: Option<f64>,
    pub referred_to: BTreeMap<String, usize>,
    /// Cases that went to an outside expert, and how long they stayed with experts.
    pub expert_cases: usize,
    pub expert_time: Spread,
    /// Replies held for approval; rejected; still waiting; time waiting for a reviewer.
    pub approvals: usize,
    pub approvals_rejected: usize,
    pub approvals_waiting: usize,
    pub approval_wait: Spread,
    /// Rejected, of those decided.
    pub rejection_rate: Option<f64>,
    /// Satisfaction surveys asked and answered; answered / asked; the mean score (1–5); the
    /// share of scores of 4 or 5.
    pub csat_asked: usize,
    pub csat_answered: usize,
    pub csat_response_rate: Option<f64>,
    pub csat_average: Option<f64>,
    pub csat_satisfied: Option<f64>,
}

/// One SLA policy's targets: met (reached without a breach) and breached. A target still
/// running and not breached is neither.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct SlaAttainment {
    pub first_response_met: usize,
    pub first_response_breached: usize,
    pub resolution_met: usize,
    pub resolution_breached: usize,
    /// Met / (met + breached), both targets together.
    pub attainment: Option<f64>,
}

#[derive(Default)]
struct Acc {
    inbound: usize,
    public_messages: usize,
    private_messages: usize,
    opened: usize,
    resolved: usize,
    reopened: usize,
    fr: Vec<i64>,
    fr_business: Vec<i64>,
    fr_auto: Vec<i64>,
    resolution: Vec<i64>,
    resolution_business: Vec<i64>,
    unanswered: usize,
    skew: usize,
    fcr: usize,
    tried: usize,
    deflected: usize,
    leads: usize,
    won: usize,
    lost: usize,
    lead_fr: Vec<i64>,
    sentiment: [usize; 3],
    reach: i64,
    crisis_ack: Vec<i64>,
    person_replies: usize,
    handle: Vec<i64>,
    sla: BTreeMap<String, SlaAttainment>,
    referrals: usize,
    referred_to: BTreeMap<String, usize>,
    expert_time: Vec<i64>,
    approvals: usize,
    rejected: usize,
    waiting: usize,
    approval_wait: Vec<i64>,
    csat_asked: usize,
    csat_scores: Vec<u8>,
}

/// The report's range and buckets.
#[derive(Debug, Clone)]
pub struct ReportSpec {
    /// Cases whose start, and messages whose time, fall in `[from, until)`.
    pub from: Timestamp,
    pub until: Timestamp,
    pub bucket: Bucket,
    pub tz: TimeZone,
    /// The business hours cases point at with [`CaseFacts::hours`].
    pub hours: Vec<BusinessHours>,
}

/// Adds the cases up, one row per group and bucket, sorted by group then bucket.
pub fn report(spec: &ReportSpec, cases: &[CaseFacts]) -> Vec<KpiRow> {
    let mut acc: BTreeMap<(String, String), Acc> = BTreeMap::new();
    let within = |t: Timestamp| t >= spec.from && t < spec.until;
    let always = BusinessHours::always();
    for case in cases {
        let group = case.group.clone().unwrap_or_else(|| "(none)".to_owned());
        for m in case.messages.iter().filter(|m| m.side == Side::Customer) {
            if !within(m.sent_at) {
                continue;
            }
            let a = acc
                .entry((group.clone(), spec.bucket.label(m.sent_at, &spec.tz)))
                .or_default();
            a.inbound += 1;
            if case.public {
                a.public_messages += 1;
                a.reach += m.followers.unwrap_or(0).max(0);
            } else {
                a.private_messages += 1;
            }
            match m.sentiment {
                Some(Sentiment::Negative) => a.sentiment[0] += 1,
                Some(Sentiment::Neutral) => a.sentiment[1] += 1,
                Some(Sentiment::Positive) => a.sentiment[2] += 1,
                None => {}
            }
        }
        let times = case_times(&case.messages);
        let Some(start) = times.start.filter(|&s| within(s)) else {
            continue;
        };
        let hours = case
            .hours
            .and_then(|i| spec.hours.get(i))
            .unwrap_or(&always);
        let a = acc
            .entry((group, spec.bucket.label(start, &spec.tz)))
            .or_default();
        a.opened += 1;
        if case.reopened {
            a.reopened += 1;
        }
        if times.clock_skew {
            a.skew += 1;
        }
        match (times.person_response, times.first_person_reply) {
            (Some(fr), Some(at)) => {
                a.fr.push(fr);
                a.fr_business
                    .push(hours.business_between(start, at.max(start)));
                if case.lead {
                    a.lead_fr.push(fr);
                }
            }
            _ if times.automatic_response.is_none() => a.unanswered += 1,
            _ => {}
        }
        if let Some(fr) = times.automatic_response {
            a.fr_auto.push(fr);
        }
        if let Some(done) = case.resolved_at {
            a.resolved += 1;
            a.resolution
                .push((done.as_unix_micros() - start.as_unix_micros()).max(0));
            a.resolution_business
                .push(hours.business_between(start, done.max(start)));
            if !case.reopened && times.person_replies <= 1 {
                a.fcr += 1;
            }
        }
        if case.auto_answer_tried {
            a.tried += 1;
        }
        if case.deflected && !case.reopened && case.resolved_at.is_some() {
            a.deflected += 1;
        }
        if case.lead {
            a.leads += 1;
            a.won += usize::from(case.won);
            a.lost += usize::from(case.lost && !case.won);
        }
        a.person_replies += times.person_replies;
        if let Some(h) = times.handle_time {
            a.handle.push(h);
        }
        if case.crisis {
            let ack = [times.person_response, times.automatic_response]
                .into_iter()
                .flatten()
                .min();
            if let Some(ack) = ack {
                a.crisis_ack.push(ack);
            }
        }
        if let Some(sla) = &case.sla {
            let e = a.sla.entry(sla.policy.clone()).or_default();
            if sla.first_response_target {
                if sla.first_response_breached {
                    e.first_response_breached += 1;
                } else if times.start.is_some()
                    && (times.person_response.is_some() || times.automatic_response.is_some())
                {
                    e.first_response_met += 1;
                }
            }
            if sla.resolution_target {
                if sla.resolution_breached {
                    e.resolution_breached += 1;
                } else if case.resolved_at.is_some() {
                    e.resolution_met += 1;
                }
            }
        }
        if let Some(team) = &case.referred_to {
            a.referrals += 1;
            *a.referred_to.entry(team.clone()).or_default() += 1;
        }
        if case.expert_micros > 0 {
            a.expert_time.push(case.expert_micros);
        }
        if let Some(answer) = case.csat {
            a.csat_asked += 1;
            a.csat_scores.extend(answer);
        }
        for ap in &case.approvals {
            a.approvals += 1;
            match ap.waited {
                Some(w) => {
                    a.approval_wait.push(w.max(0));
                    a.rejected += usize::from(ap.rejected);
                }
                None => a.waiting += 1,
            }
        }
    }
    acc.into_iter()
        .map(|((group, bucket), a)| {
            let understood = a.sentiment.iter().sum::<usize>();
            KpiRow {
                group,
                bucket,
                inbound_messages: a.inbound,
                public_messages: a.public_messages,
                private_messages: a.private_messages,
                cases_opened: a.opened,
                cases_resolved: a.resolved,
                cases_reopened: a.reopened,
                first_response: Spread::of(a.fr),
                first_response_business: Spread::of(a.fr_business),
                first_automatic_response: Spread::of(a.fr_auto),
                resolution: Spread::of(a.resolution),
                resolution_business: Spread::of(a.resolution_business),
                unanswered: a.unanswered,
                clock_skew: a.skew,
                first_contact_resolution: share(a.fcr, a.resolved),
                reopen_rate: share(a.reopened, a.opened),
                auto_answers_tried: a.tried,
                deflected: a.deflected,
                deflection_rate: share(a.deflected, a.opened),
                leads: a.leads,
                won: a.won,
                lost: a.lost,
                conversion: share(a.won, a.leads),
                lead_first_response: Spread::of(a.lead_fr),
                sentiment_negative: a.sentiment[0],
                sentiment_neutral: a.sentiment[1],
                sentiment_positive: a.sentiment[2],
                net_sentiment: (understood > 0)
                    .then(|| (a.sentiment[2] as f64 - a.sentiment[0] as f64) / understood as f64),
                reach: a.reach,
                crisis_acknowledge: Spread::of(a.crisis_ack),
                person_replies: a.person_replies,
                handle_time: Spread::of(a.handle),
                sla_attainment: {
                    let (met, all) = a.sla.values().fold((0, 0), |(m, n), s| {
                        let met = s.first_response_met + s.resolution_met;
                        (
                            m + met,
                            n + met + s.first_response_breached + s.resolution_breached,
                        )
                    });
                    share(met, all)
                },
                sla: a
                    .sla
                    .into_iter()
                    .map(|(k, mut v)| {
                        let met = v.first_response_met + v.resolution_met;
                        v.attainment =
                            share(met, met + v.first_response_breached + v.resolution_breached);
                        (k, v)
                    })
                    .collect(),
                referrals: a.referrals,
                referral_rate: share(a.referrals, a.opened),
                referred_to: a.referred_to,
                expert_cases: a.expert_time.len(),
                expert_time: Spread::of(a.expert_time),
                approvals: a.approvals,
                approvals_rejected: a.rejected,
                approvals_waiting: a.waiting,
                rejection_rate: share(a.rejected, a.approvals - a.waiting),
                approval_wait: Spread::of(a.approval_wait),
                csat_asked: a.csat_asked,
                csat_answered: a.csat_scores.len(),
                csat_response_rate: share(a.csat_scores.len(), a.csat_asked),
                csat_average: (!a.csat_scores.is_empty()).then(|| {
                    a.csat_scores.iter().map(|&v| f64::from(v)).sum::<f64>()
                        / a.csat_scores.len() as f64
                }),
                csat_satisfied: share(
                    a.csat_scores.iter().filter(|&&v| v >= 4).count(),
                    a.csat_scores.len(),
                ),
            }
        })
        .collect()
}

/// The CSV header for [`csv_record`].
pub const CSV_HEADER: &[&str] = &[
    "group",
    "bucket",
    "inbound_messages",
    "public_messages",
    "private_messages",
    "cases_opened",
    "cases_resolved",
    "cases_reopened",
    "first_response_count",
    "first_response_median_s",
    "first_response_p90_s",
    "first_response_mean_s",
    "first_response_business_median_s",
    "first_response_business_p90_s",
    "first_automatic_response_count",
    "first_automatic_response_median_s",
    "first_automatic_response_p90_s",
    "resolution_count",
    "resolution_median_s",
    "resolution_p90_s",
    "resolution_business_median_s",
    "resolution_business_p90_s",
    "unanswered",
    "clock_skew",
    "first_contact_resolution",
    "reopen_rate",
    "auto_answers_tried",
    "deflected",
    "deflection_rate",
    "leads",
    "won",
    "lost",
    "conversion",
    "lead_first_response_median_s",
    "sentiment_negative",
    "sentiment_neutral",
    "sentiment_positive",
    "net_sentiment",
    "reach",
    "crisis_acknowledge_median_s",
    "person_replies",
    "handle_time_median_s",
    "sla_attainment",
    "referrals",
    "referral_rate",
    "referred_to",
    "expert_cases",
    "expert_time_median_s",
    "approvals",
    "approvals_rejected",
    "approvals_waiting",
    "approval_wait_median_s",
    "rejection_rate",
    "csat_asked",
    "csat_answered",
    "csat_response_rate",
    "csat_average",
    "csat_satisfied",
];

/// One row as CSV cells, in [`CSV_HEADER`]'s order; an absent value is an empty cell.
pub fn csv_record(r: &KpiRow) -> Vec<String> {
    let n = |v: usize| v.to_string();
    let f = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    vec![
        r.group.clone(),
        r.bucket.clone(),
        n(r.inbound_messages),
        n(r.public_messages),
        n(r.private_messages),
        n(r.cases_opened),
        n(r.cases_resolved),
        n(r.cases_reopened),
        n(r.first_response.count),
        f(r.first_response.median_s),
        f(r.first_response.p90_s),
        f(r.first_response.mean_s),
        f(r.first_response_business.median_s),
        f(r.first_response_business.p90_s),
        n(r.first_automatic_response.count),
        f(r.first_automatic_response.median_s),
        f(r.first_automatic_response.p90_s),
        n(r.resolution.count),
        f(r.resolution.median_s),
        f(r.resolution.p90_s),
        f(r.resolution_business.median_s),
        f(r.resolution_business.p90_s),
        n(r.unanswered),
        n(r.clock_skew),
        f(r.first_contact_resolution),
        f(r.reopen_rate),
        n(r.auto_answers_tried),
        n(r.deflected),
        f(r.deflection_rate),
        n(r.leads),
        n(r.won),
        n(r.lost),
        f(r.conversion),
        f(r.lead_first_response.median_s),
        n(r.sentiment_negative),
        n(r.sentiment_neutral),
        n(r.sentiment_positive),
        f(r.net_sentiment),
        r.reach.to_string(),
        f(r.crisis_acknowledge.median_s),
        n(r.person_replies),
        f(r.handle_time.median_s),
        f(r.sla_attainment),
        n(r.referrals),
        f(r.referral_rate),
        r.referred_to
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; "),
        n(r.expert_cases),
        f(r.expert_time.median_s),
        n(r.approvals),
        n(r.approvals_rejected),
        n(r.approvals_waiting),
        f(r.approval_wait.median_s),
        f(r.rejection_rate),
        n(r.csat_asked),
        n(r.csat_answered),
        f(r.csat_response_rate),
        f(r.csat_average),
        f(r.csat_satisfied),
    ]
}

/// The rows as CSV with [`CSV_HEADER`]. A cell a spreadsheet would run as a formula (a team or
/// channel name can be one) is written with a leading `'` ([`crate::spreadsheet`]).
pub fn to_csv(rows: &[KpiRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_HEADER);
    for r in rows {
        let mut cells = csv_record(r);
        for cell in cells.iter_mut().take(2) {
            *cell = crate::spreadsheet::defuse(cell).into_owned();
        }
        let _ = w.write_record(&cells);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::HoursSpec;

    const MIN: i64 = 60_000_000;

    /// A time `minutes` after 2026-03-02 00:00 UTC (a Monday).
    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_unix_micros(1_772_409_600_000_000 + minutes * MIN)
    }

    fn msg(side: Side, sent: i64, stored: i64) -> MessageFact {
        MessageFact {
            side,
            sent_at: at(sent),
            stored_at: at(stored),
            delivered: true,
            sentiment: None,
            followers: None,
        }
    }

    fn case(messages: Vec<MessageFact>) -> CaseFacts {
        CaseFacts {
            group: Some("support".into()),
            public: false,
            messages,
            resolved_at: None,
            reopened: false,
            deflected: false,
            auto_answer_tried: false,
            lead: false,
            won: false,
            lost: false,
            hours: None,
            crisis: false,
            sla: None,
            expert_micros: 0,
            referred_to: None,
            approvals: vec![],
            csat: None,
        }
    }

    fn spec(bucket: Bucket) -> ReportSpec {
        ReportSpec {
            from: at(-100_000),
            until: at(100_000),
            bucket,
            tz: TimeZone::UTC,
            hours: vec![],
        }
    }

    #[test]
    fn first_response_edge_cases() {
        use Side::*;
        // (what, messages, expected person response in minutes, skew)
        let table: Vec<(&str, Vec<MessageFact>, Option<i64>, bool)> = vec![
            (
                "plain",
                vec![msg(Customer, 0, 0), msg(Person, 10, 10)],
                Some(10),
                false,
            ),
            ("no reply", vec![msg(Customer, 0, 0)], None, false),
            ("no customer message", vec![msg(Person, 0, 0)], None, false),
            (
                "the earliest of several replies",
                vec![
                    msg(Customer, 0, 0),
                    msg(Person, 30, 30),
                    msg(Person, 12, 31),
                ],
                Some(12),
                false,
            ),
            (
                // Stored after the customer's message, but its clock says before.
                "clock skew",
                vec![msg(Customer, 10, 10), msg(Person, 8, 11)],
                Some(0),
                true,
            ),
            (
                // Outreach stored before the customer ever wrote is not a response.
                "brand wrote first",
                vec![msg(Person, 0, 0), msg(Customer, 5, 5), msg(Person, 9, 9)],
                Some(4),
                false,
            ),
            (
                // The customer's messages arrive out of order: the start is the earliest
                // sent, and a reply stored after the first arrival counts.
                "customer messages out of order",
                vec![
                    msg(Customer, 20, 21),
                    msg(Customer, 3, 22),
                    msg(Person, 25, 25),
                ],
                Some(22),
                false,
            ),
            (
                "an automatic answer is not a person's",
                vec![msg(Customer, 0, 0), msg(Automatic, 1, 1)],
                None,
                false,
            ),
        ];
        for (what, messages, expected, skew) in table {
            let t = case_times(&messages);
            assert_eq!(t.person_response, expected.map(|m| m * MIN), "{what}");
            assert_eq!(t.clock_skew, skew, "{what}");
        }
        // A reply held for approval (or rejected, or failed) did not reach the customer.
        let mut held = msg(Side::Person, 5, 5);
        held.delivered = false;
        let t = case_times(&[msg(Side::Customer, 0, 0), held, msg(Side::Person, 9, 9)]);
        assert_eq!((t.person_response, t.person_replies), (Some(9 * MIN), 1));
        let t = case_times(&[msg(Side::Customer, 0, 0), msg(Side::Automatic, 1, 1)]);
        assert_eq!((t.automatic_response, t.handle_time), (Some(MIN), None));
        // Handle time: the first to the last reply by a person.
        let t = case_times(&[
            msg(Side::Customer, 0, 0),
            msg(Side::Person, 4, 4),
            msg(Side::Customer, 10, 10),
            msg(Side::Person, 30, 30),
        ]);
        assert_eq!((t.handle_time, t.person_replies), (Some(26 * MIN), 2));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.5), Some(3));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 0.9), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(percentile(&eleven, 0.9), Some(10));
        let s = Spread::of(vec![4_000_000, 1_000_000, 2_000_000, 3_000_000]);
        assert_eq!(
            (s.count, s.median_s, s.p90_s, s.mean_s),
            (4, Some(2.0), Some(4.0), Some(2.5))
        );
    }

    #[test]
    fn resolution_reopen_fcr_and_deflection() {
        let mut resolved = case(vec![msg(Side::Customer, 0, 0), msg(Side::Person, 5, 5)]);
        resolved.resolved_at = Some(at(60));
        let mut reopened = resolved.clone();
        reopened.reopened = true;
        let mut two_replies = resolved.clone();
        two_replies.messages.push(msg(Side::Person, 20, 20));
        let mut deflected = case(vec![msg(Side::Customer, 0, 0), msg(Side::Automatic, 1, 1)]);
        deflected.resolved_at = Some(at(1));
        deflected.deflected = true;
        deflected.auto_answer_tried = true;
        let mut deflected_then_reopened = deflected.clone();
        deflected_then_reopened.reopened = true;
        deflected_then_reopened.resolved_at = None;
        let open = case(vec![msg(Side::Customer, 0, 0)]);
        let rows = report(
            &spec(Bucket::All),
            &[
                resolved,
                reopened,
                two_replies,
                deflected,
                deflected_then_reopened,
                open,
            ],
        );
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (r.cases_opened, r.cases_resolved, r.cases_reopened),
            (6, 4, 2)
        );
        // First contact: `resolved` and `deflected` (no person reply, never reopened).
        assert_eq!(r.first_contact_resolution, Some(0.5));
        assert_eq!(r.reopen_rate, Some(2.0 / 6.0));
        assert_eq!((r.auto_answers_tried, r.deflected), (2, 1));
        assert_eq!(r.first_automatic_response.count, 2);
        // Three cases answered by a person; `open` unanswered; the automatic ones not.
        assert_eq!((r.first_response.count, r.unanswered), (3, 1));
        assert_eq!(r.resolution.median_s, Some(3600.0));
    }

    #[test]
    fn business_time_spans_midnight_and_a_time_zone_change() {
        // Open 22:00–02:00 every night in Berlin. The case starts on Saturday 2026-03-28 at
        // 23:30 local (22:30 UTC) and is answered at 01:30, just before the clocks go forward
        // at 02:00 on the 29th: 2 h of open time across midnight. It is resolved the next
        // evening, in summer time.
        let spec_hours = HoursSpec {
            timezone: "Europe/Berlin".into(),
            mon: Some("00:00-02:00, 22:00-24:00".into()),
            tue: Some("00:00-02:00, 22:00-24:00".into()),
            wed: Some("00:00-02:00, 22:00-24:00".into()),
            thu: Some("00:00-02:00, 22:00-24:00".into()),
            fri: Some("00:00-02:00, 22:00-24:00".into()),
            sat: Some("00:00-02:00, 22:00-24:00".into()),
            sun: Some("00:00-02:00, 22:00-24:00".into()),
            holidays: vec![],
        };
        let hours = BusinessHours::from_spec(&spec_hours).expect("hours");
        let utc = |s: &str| Timestamp::parse_rfc3339(s).expect("time");
        let start = utc("2026-03-28T22:30:00Z"); // 23:30 CET
        let reply = utc("2026-03-29T00:30:00Z"); // 01:30 CET, before the 02:00 switch
        let later = utc("2026-03-29T20:30:00Z"); // 22:30 CEST
        let mut c = case(vec![
            MessageFact {
                side: Side::Customer,
                sent_at: start,
                stored_at: start,
                delivered: true,
                sentiment: None,
                followers: None,
            },
            MessageFact {
                side: Side::Person,
                sent_at: reply,
                stored_at: reply,
                delivered: true,
                sentiment: None,
                followers: None,
            },
        ]);
        c.hours = Some(0);
        c.resolved_at = Some(later);
        let rows = report(
            &ReportSpec {
                from: utc("2026-03-01T00:00:00Z"),
                until: utc("2026-04-01T00:00:00Z"),
                bucket: Bucket::Day,
                tz: TimeZone::get("Europe/Berlin").expect("tz"),
                hours: vec![hours],
            },
            &[c],
        );
        let r = &rows[0];
        assert_eq!(r.bucket, "2026-03-28");
        assert_eq!(r.first_response.median_s, Some(7200.0));
        assert_eq!(r.first_response_business.median_s, Some(7200.0));
        // Resolution: 22 h of calendar time; open 23:30–00:00 and 00:00–02:00 (CET), then
        // 22:00–22:30 (CEST): 3 h.
        assert_eq!(r.resolution.median_s, Some(22.0 * 3600.0));
        assert_eq!(r.resolution_business.median_s, Some(3.0 * 3600.0));
    }

    #[test]
    fn buckets_follow_the_workspace_time_zone() {
        let utc = |s: &str| Timestamp::parse_rfc3339(s).expect("time");
        let ny = TimeZone::get("America/New_York").expect("tz");
        let t = utc("2026-03-02T03:30:00Z"); // Sunday 1 March 22:30 in New York
        assert_eq!(Bucket::Day.label(t, &ny), "2026-03-01");
        assert_eq!(Bucket::Day.label(t, &TimeZone::UTC), "2026-03-02");
        assert_eq!(Bucket::Hour.label(t, &ny), "2026-03-01T22");
        assert_eq!(Bucket::Week.label(t, &ny), "2026-02-23");
        assert_eq!(Bucket::Week.label(t, &TimeZone::UTC), "2026-03-02");
        assert_eq!(Bucket::Month.label(t, &ny), "2026-03");
        assert_eq!(
            Bucket::Month.label(utc("2026-03-01T03:00:00Z"), &ny),
            "2026-02"
        );
        assert_eq!(Bucket::All.label(t, &ny), "all");
    }

    #[test]
    fn a_range_names_every_bucket_it_touches_even_empty_ones() {
        let utc = |s: &str| Timestamp::parse_rfc3339(s).expect("time");
        let berlin = TimeZone::get("Europe/Berlin").expect("tz");
        let kolkata = TimeZone::get("Asia/Kolkata").expect("tz"); // UTC+5:30
        // Berlin's spring change: 29 March 2026 has 23 hours, and each day is still one.
        let days = Bucket::Day
            .labels(
                utc("2026-03-27T23:00:00Z"),
                utc("2026-03-31T22:00:00Z"),
                &berlin,
                100,
            )
            .expect("few");
        assert_eq!(
            days,
            ["2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"]
        );
        // The local hour 02 does not exist that night.
        let hours = Bucket::Hour
            .labels(
                utc("2026-03-29T00:00:00Z"),
                utc("2026-03-29T02:00:00Z"),
                &berlin,
                100,
            )
            .expect("few");
        assert_eq!(hours, ["2026-03-29T01", "2026-03-29T03"]);
        // Half-hour zones: a range starting mid-hour still meets each local hour once.
        let hours = Bucket::Hour
            .labels(
                utc("2026-06-01T00:10:00Z"),
                utc("2026-06-01T02:00:00Z"),
                &kolkata,
                100,
            )
            .expect("few");
        assert_eq!(hours, ["2026-06-01T05", "2026-06-01T06", "2026-06-01T07"]);
        let weeks = Bucket::Week
            .labels(
                utc("2026-03-01T00:00:00Z"),
                utc("2026-03-16T00:00:00Z"),
                &TimeZone::UTC,
                100,
            )
            .expect("few");
        assert_eq!(weeks, ["2026-02-23", "2026-03-02", "2026-03-09"]);
        let months = Bucket::Month
            .labels(
                utc("2026-01-31T00:00:00Z"),
                utc("2026-03-01T00:00:00Z"),
                &TimeZone::UTC,
                100,
            )
            .expect("few");
        assert_eq!(months, ["2026-01", "2026-02"]);
        assert_eq!(
            Bucket::All.labels(
                utc("2026-01-01T00:00:00Z"),
                utc("2027-01-01T00:00:00Z"),
                &berlin,
                5
            ),
            Some(vec!["all".to_owned()])
        );
        // Too many to draw: none, rather than a cut-off axis.
        assert_eq!(
            Bucket::Hour.labels(
                utc("2026-01-01T00:00:00Z"),
                utc("2026-01-02T00:00:00Z"),
                &berlin,
                23
            ),
            None
        );
        assert_eq!(
            Bucket::Day.labels(
                utc("2026-01-02T00:00:00Z"),
                utc("2026-01-01T00:00:00Z"),
                &berlin,
                5
            ),
            Some(vec![])
        );
    }

    #[test]
    fn messages_and_cases_go_to_their_own_buckets_and_range() {
        let mut first = msg(Side::Customer, 0, 0);
        first.sentiment = Some(Sentiment::Negative);
        let mut next_day = msg(Side::Customer, 24 * 60 + 5, 24 * 60 + 5);
        next_day.sentiment = Some(Sentiment::Positive);
        let mut c = case(vec![first, msg(Side::Person, 10, 10), next_day]);
        c.public = true;
        c.lead = true;
        c.won = true;
        let before = case(vec![msg(Side::Customer, -200_000, -200_000)]);
        let rows = report(&spec(Bucket::Day), &[c, before]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let (d1, d2) = (&rows[0], &rows[1]);
        assert_eq!(
            (d1.bucket.as_str(), d2.bucket.as_str()),
            ("2026-03-02", "2026-03-03")
        );
        assert_eq!((d1.inbound_messages, d1.cases_opened), (1, 1));
        assert_eq!((d2.inbound_messages, d2.cases_opened), (1, 0));
        assert_eq!((d1.public_messages, d1.private_messages), (1, 0));
        assert_eq!(d1.net_sentiment, Some(-1.0));
        assert_eq!(d2.net_sentiment, Some(1.0));
        assert_eq!((d1.leads, d1.won, d1.conversion), (1, 1, Some(1.0)));
        assert_eq!(d1.lead_first_response.median_s, Some(600.0));
        // No case: nothing, not a row of zeros.
        assert!(report(&spec(Bucket::Day), &[]).is_empty());
    }

    #[test]
    fn sla_referrals_experts_approvals_crisis_and_reach() {
        let policy = |fr_breached: bool, res_breached: bool| SlaOutcome {
            policy: "Everyone".into(),
            first_response_target: true,
            resolution_target: true,
            first_response_breached: fr_breached,
            resolution_breached: res_breached,
        };
        // Answered and resolved in time: both targets met.
        let mut met = case(vec![msg(Side::Customer, 0, 0), msg(Side::Person, 5, 5)]);
        met.resolved_at = Some(at(30));
        met.sla = Some(policy(false, false));
        // Answered late, not resolved yet: one breach, the resolution still running.
        let mut late = case(vec![msg(Side::Customer, 0, 0), msg(Side::Person, 50, 50)]);
        late.sla = Some(policy(true, false));
        // Referred to Admissions after an expert's help, with a reply held then approved
        // after 20 minutes and another rejected; one still waiting.
        let mut referred = case(vec![msg(Side::Customer, 0, 0)]);
        referred.referred_to = Some("Admissions".into());
        referred.expert_micros = 90 * MIN;
        referred.approvals = vec![
            ApprovalFact {
                waited: Some(20 * MIN),
                rejected: false,
            },
            ApprovalFact {
                waited: Some(2 * MIN),
                rejected: true,
            },
            ApprovalFact {
                waited: None,
                rejected: false,
            },
        ];
        // A public crisis post by an account with 5,000 followers, acknowledged
        // automatically after 1 minute and by a person after 3.
        let mut crisis_post = msg(Side::Customer, 0, 0);
        crisis_post.followers = Some(5_000);
        let mut crisis = case(vec![
            crisis_post,
            msg(Side::Automatic, 1, 1),
            msg(Side::Person, 3, 3),
        ]);
        crisis.crisis = true;
        crisis.public = true;
        let rows = report(&spec(Bucket::All), &[met, late, referred, crisis]);
        let r = &rows[0];
        let sla = &r.sla["Everyone"];
        assert_eq!(
            (
                sla.first_response_met,
                sla.first_response_breached,
                sla.resolution_met,
                sla.resolution_breached
            ),
            (1, 1, 1, 0)
        );
        assert_eq!(sla.attainment, Some(2.0 / 3.0));
        assert_eq!(r.sla_attainment, Some(2.0 / 3.0));
        assert_eq!((r.referrals, r.referral_rate), (1, Some(0.25)));
        assert_eq!(r.referred_to.get("Admissions"), Some(&1));
        assert_eq!((r.expert_cases, r.expert_time.median_s), (1, Some(5400.0)));
        assert_eq!(
            (r.approvals, r.approvals_rejected, r.approvals_waiting),
            (3, 1, 1)
        );
        assert_eq!(r.rejection_rate, Some(0.5));
        assert_eq!(r.approval_wait.p90_s, Some(1200.0));
        assert_eq!(r.crisis_acknowledge.median_s, Some(60.0));
        assert_eq!(r.reach, 5_000);
        assert_eq!(r.person_replies, 3);
    }

    #[test]
    fn csat_response_rate_average_and_satisfied() {
        let surveyed = |score: Option<u8>| {
            let mut c = case(vec![msg(Side::Customer, 0, 0)]);
            c.csat = Some(score);
            c
        };
        let rows = report(
            &spec(Bucket::All),
            &[
                surveyed(Some(5)),
                surveyed(Some(2)),
                surveyed(Some(4)),
                surveyed(None),
                case(vec![msg(Side::Customer, 0, 0)]),
            ],
        );
        let r = &rows[0];
        assert_eq!((r.csat_asked, r.csat_answered), (4, 3));
        assert_eq!(r.csat_response_rate, Some(0.75));
        assert_eq!(r.csat_average, Some(11.0 / 3.0));
        assert_eq!(r.csat_satisfied, Some(2.0 / 3.0));
    }

    #[test]
    fn ranges_read_dates_in_the_time_zone_and_instants() {
        let ny = TimeZone::get("America/New_York").expect("tz");
        let (a, b) = parse_range("2026-03-01", "2026-03-01", &ny).expect("range");
        assert_eq!(a.to_rfc3339(), "2026-03-01T05:00:00Z");
        assert_eq!(b.to_rfc3339(), "2026-03-02T05:00:00Z");
        // Across the switch to summer time (8 March 2026 in New York): 23 hours that day.
        let (a, b) = parse_range("2026-03-08", "2026-03-08", &ny).expect("range");
        assert_eq!(b.as_unix_micros() - a.as_unix_micros(), 23 * 3_600_000_000);
        let (a, b) = parse_range(
            "2026-03-01T00:00:00Z",
            "2026-03-01T01:00:00Z",
            &TimeZone::UTC,
        )
        .expect("range");
        assert_eq!(b.as_unix_micros() - a.as_unix_micros(), 3_600_000_000);
        for (from, to, says) in [
            ("2026-03-02", "2026-03-01", "before"),
            ("yesterday", "2026-03-01", "from must be a date"),
            ("2026-03-01", "2026-02-30", "to must be a date"),
            ("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "before"),
        ] {
            let e = parse_range(from, to, &TimeZone::UTC).expect_err(from);
            assert!(e.contains(says), "{from} {to}: {e}");
        }
    }

    #[test]
    fn csv_record_matches_the_header() {
        let mut c = case(vec![msg(Side::Customer, 0, 0)]);
        c.group = Some("=HYPERLINK(\"x\")".into());
        let rows = report(&spec(Bucket::All), &[c]);
        assert_eq!(csv_record(&rows[0]).len(), CSV_HEADER.len());
        let csv = to_csv(&rows);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(CSV_HEADER.join(",").as_str()));
        let row = lines.next().expect("a row");
        assert!(
            row.starts_with("\"'=HYPERLINK(\"\"x\"\")\",all,1,"),
            "{row}"
        );
    }
}
