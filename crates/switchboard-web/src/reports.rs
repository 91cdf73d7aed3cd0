//! Reports: the KPI table for a range, grouped and bucketed as the manager chooses, with the
//! same parameters (and checks) as `GET /api/v1/reports/kpis`, and a link that downloads it as
//! CSV. Every number is core's (`switchboard_core::kpi`); docs/REPORTS.md defines them.

use crate::chart::{self, Scale, Series};
use crate::page::{Purposes, Section, Viewer, respond, shell};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use std::collections::HashMap;
use switchboard_core::Permission;
use switchboard_core::Timestamp;
use switchboard_core::kpi::{self, Bucket, KpiRow, Spread};
use switchboard_server::AppState;
use switchboard_server::api::reports::{KpiParams, kpi_query};

const GROUPS: &[(&str, &str)] = &[
    ("purpose", "Purpose"),
    ("team", "Team"),
    ("channel", "Channel"),
    ("channel_kind", "Kind of channel"),
    ("agent", "Agent"),
    ("language", "Language"),
    ("intent", "Intent"),
    ("none", "Everything"),
];
const BUCKETS: &[(&str, &str)] = &[
    ("all", "The whole range"),
    ("day", "Day"),
    ("week", "Week"),
    ("month", "Month"),
    ("hour", "Hour"),
];

fn duration(s: &Spread) -> String {
    s.median_s.map_or("—".to_owned(), chart::duration)
}

fn percent(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

/// A group as a person reads it: purposes by the workspace's names for them (one it no longer
/// lists, and channel kinds, without underscores), languages by name, names (channels, teams,
/// people) as they are, and the cases with no value named for what they lack.
pub fn group_label(group_by: &str, group: &str, purposes: &Purposes) -> String {
    if group == "(none)" {
        return match group_by {
            "none" => "All cases",
            "intent" => "No intent",
            "language" => "Language not detected",
            "agent" => "Unassigned",
            "team" => "No team",
            _ => "(none)",
        }
        .to_owned();
    }
    match group_by {
        "purpose" => purposes.name(group),
        "channel_kind" => group.replace('_', " "),
        "language" => switchboard_core::language::by_code(group)
            .map_or_else(|| group.to_owned(), |k| format!("{} ({})", k.name, k.code)),
        _ => group.to_owned(),
    }
}

fn table(group_by: &str, rows: &[KpiRow], purposes: &Purposes) -> Markup {
    html! {
        div.scroll {
            table.grid #kpis {
                caption.visually-hidden { "KPIs per group and period" }
                thead { tr {
                    th scope="col" { "Group" } th scope="col" { "Period" }
                    th scope="col" { "Inbound" } th scope="col" { "Opened" } th scope="col" { "Resolved" }
                    th scope="col" { "First response (median)" } th scope="col" { "p90" }
                    th scope="col" { "Resolution (median)" } th scope="col" { "First contact" }
                    th scope="col" { "Reopened" } th scope="col" { "Deflected" } th scope="col" { "SLA met" }
                    th scope="col" { "Leads won" } th scope="col" { "Net sentiment" } th scope="col" { "CSAT" }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            th scope="row" { (group_label(group_by, &r.group, purposes)) }
                            td { (r.bucket) }
                            td { (r.inbound_messages) }
                            td { (r.cases_opened) }
                            td { (r.cases_resolved) }
                            td { (duration(&r.first_response)) }
                            td { (duration(&Spread { median_s: r.first_response.p90_s, ..r.first_response })) }
                            td { (duration(&r.resolution)) }
                            td { (percent(r.first_contact_resolution)) }
                            td { (percent(r.reopen_rate)) }
                            td { (percent(r.deflection_rate)) }
                            td { (percent(r.sla_attainment)) }
                            td { @if r.leads > 0 { (r.won) " / " (r.leads) } @else { "—" } }
                            td { (r.net_sentiment.map_or("—".to_owned(), |v| format!("{v:+.2}"))) }
                            td { @match r.csat_average { Some(a) => { (format!("{a:.1}")) " (" (r.csat_answered) ")" }, None => "—" } }
                        }
                    }
                }
            }
        }
    }
}

/// The `days` days that end today in the time zone `tz` (the workspace's day, not UTC's), as
/// `(first, today)` dates for a report's `from` and `to`. An unknown zone counts in UTC.
pub fn last_days(now: Timestamp, tz: &str, days: i64) -> (String, String) {
    let tz = kpi::time_zone(tz).unwrap_or(kpi::TimeZone::UTC);
    let today = Bucket::Day.label(now, &tz);
    let mut parts = today.split('-').map(|p| p.parse::<i32>().ok());
    let first = match (
        parts.next().flatten(),
        parts.next().flatten(),
        parts.next().flatten(),
    ) {
        (Some(y), Some(m), Some(d)) => u8::try_from(m)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .zip(u8::try_from(d).ok())
            .and_then(|(m, d)| time::Date::from_calendar_date(y, m, d).ok())
            .map(|t| (t - time::Duration::days(days - 1)).to_string()),
        _ => None,
    };
    (first.unwrap_or_else(|| today.clone()), today)
}

/// The most periods a chart draws; a longer axis (hours over months) gets the table only.
pub const MAX_PERIODS: usize = 400;
/// The most groups a chart draws, those with the most cases opened.
const MAX_LINES: usize = 6;

/// A chart: its title, its scale, a period's value, and (for a figure that rests on some of
/// the messages) how many it rests on, said in the legend: ("messages", count of a row).
type Metric = (
    &'static str,
    Scale,
    fn(Option<&KpiRow>) -> Option<f64>,
    Option<(&'static str, fn(&KpiRow) -> usize)>,
);

/// The KPIs drawn over time. A period with no row opened no case: a count of 0, and no
/// median, share or sentiment (a gap in the line, not a zero).
const METRICS: &[Metric] = &[
    (
        "Cases opened",
        Scale::Count,
        |r| Some(r.map_or(0.0, |r| r.cases_opened as f64)),
        None,
    ),
    (
        "First response by a person (median)",
        Scale::Duration,
        |r| r.and_then(|r| r.first_response.median_s),
        None,
    ),
    (
        "SLA targets met",
        Scale::Share,
        |r| r.and_then(|r| r.sla_attainment),
        None,
    ),
    (
        "Deflected by automatic answers",
        Scale::Share,
        |r| r.and_then(|r| r.deflection_rate),
        None,
    ),
    (
        "Net sentiment (share of messages positive minus negative)",
        Scale::Signed,
        |r| r.and_then(|r| r.net_sentiment),
        Some(("messages", |r| {
            r.sentiment_negative + r.sentiment_neutral + r.sentiment_positive
        })),
    ),
];

/// Line charts of the main KPIs over `periods`, a line per group.
pub fn trends(group_by: &str, rows: &[KpiRow], periods: &[String], purposes: &Purposes) -> Markup {
    let mut opened: HashMap<&str, usize> = HashMap::new();
    let mut at: HashMap<(&str, &str), &KpiRow> = HashMap::new();
    for r in rows {
        *opened.entry(r.group.as_str()).or_default() += r.cases_opened;
        at.insert((r.group.as_str(), r.bucket.as_str()), r);
    }
    let mut groups: Vec<(&str, usize)> = opened.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let left_out = groups.len().saturating_sub(MAX_LINES);
    groups.truncate(MAX_LINES);
    html! {
        div.charts {
            @for (title, scale, value, basis) in METRICS {
                @let series: Vec<Series> = groups.iter().enumerate().map(|(i, (g, _))| Series {
                    class: format!("s{i}"),
                    label: match basis {
                        // What the line rests on, over the whole range.
                        Some((unit, count)) => format!(
                            "{} ({} {unit})",
                            group_label(group_by, g, purposes),
                            rows.iter().filter(|r| r.group == *g).map(count).sum::<usize>()
                        ),
                        None => group_label(group_by, g, purposes),
                    },
                    values: periods.iter().map(|p| value(at.get(&(*g, p.as_str())).copied())).collect(),
                }).collect();
                (chart::line(title, *scale, periods, &series))
            }
        }
        @if left_out > 0 {
            p.hint { "The charts show the " (MAX_LINES) " groups with the most cases; " (left_out) " more are in the table." }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    v: Viewer,
    Query(p): Query<KpiParams>,
) -> Response {
    if let Some(r) = v.refuse(Permission::ViewReports) {
        return r;
    }
    let default_tz = match state.store.workspace_time_zone().await {
        Ok(tz) => tz,
        Err(e) => return crate::page::store_error(e, "report"),
    };
    let now = state.clock.now();
    let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let (month_ago, today) = last_days(now, given(&p.tz).as_deref().unwrap_or(&default_tz), 31);
    let params = KpiParams {
        from: given(&p.from).or(Some(month_ago)),
        to: given(&p.to).or(Some(today)),
        group_by: given(&p.group_by),
        bucket: given(&p.bucket),
        tz: given(&p.tz),
        format: None,
    };
    let checked = kpi_query(&params, now, &default_tz);
    let (rows, periods, problem) = match checked {
        Ok((q, _)) => {
            let periods = match q.bucket {
                Bucket::All => None,
                b => b.labels(q.from, q.until, &q.tz, MAX_PERIODS),
            };
            match state.store.kpi_report(q).await {
                Ok(rows) => (rows, periods, None),
                Err(e) => return crate::page::store_error(e, "report"),
            }
        }
        Err(e) => (
            Vec::new(),
            None,
            Some((e.field.unwrap_or_default(), e.detail)),
        ),
    };
    let purposes = match state.store.purposes().await {
        Ok(p) => Purposes::new(p),
        Err(e) => return crate::page::store_error(e, "purposes"),
    };
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let (from, to) = (value(&params.from), value(&params.to));
    let group = params.group_by.clone().unwrap_or_else(|| "purpose".into());
    let bucket = params.bucket.clone().unwrap_or_else(|| "all".into());
    let tz = params.tz.clone().unwrap_or(default_tz);
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("from", &from)
        .append_pair("to", &to)
        .append_pair("group_by", &group)
        .append_pair("bucket", &bucket)
        .append_pair("tz", &tz)
        .append_pair("format", "csv")
        .finish();
    let body = html! {
        h1 { "Reports" }
        form.filters method="get" action="/reports" {
            label { "From " input type="date" name="from" value=(from); }
            label { "To " input type="date" name="to" value=(to); }
            label { "By " select name="group_by" {
                @for (v, label) in GROUPS { option value=(v) selected[*v == group] { (label) } }
            } }
            label { "Per " select name="bucket" {
                @for (v, label) in BUCKETS { option value=(v) selected[*v == bucket] { (label) } }
            } }
            label { "Time zone " input type="text" name="tz" value=(tz) size="16"; }
            button type="submit" { "Show" }
        }
        @if let Some((field, detail)) = &problem {
            // The detail names the field already ("tz: …").
            p.error role="alert" data-field=(field) { (detail) }
        } @else {
            p { a href={"/api/v1/reports/kpis?" (query)} download="kpis.csv" { "Download as CSV" }
                " · every definition: docs/REPORTS.md" }
            @if rows.is_empty() { p.hint { "Nothing in this range." } } @else {
                @if let Some(periods) = &periods { (trends(&group, &rows, periods, &purposes)) }
                @else if bucket != "all" { p.hint { "Too many periods to draw (more than " (MAX_PERIODS) "): choose a longer period or a shorter range for charts." } }
                (table(&group, &rows, &purposes))
            }
        }
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(status, shell(&v, Section::Reports, "Reports", body))
}

#[cfg(test)]
mod tests {
    use super::group_label;
    use crate::page::Purposes;

    #[test]
    fn groups_read_as_people_name_them() {
        for (by, group, shown) in [
            ("none", "(none)", "All cases"),
            ("intent", "(none)", "No intent"),
            ("language", "(none)", "Language not detected"),
            ("language", "es", "Spanish (es)"),
            ("language", "zz", "zz"),
            ("purpose", "marketing_pr", "Marketing & PR"),
            ("purpose", "gone_now", "gone now"),
            (
                "channel",
                "@lakeside_bot on Telegram",
                "@lakeside_bot on Telegram",
            ),
            ("agent", "(none)", "Unassigned"),
        ] {
            let names = Purposes::from(vec![("marketing_pr".into(), "Marketing & PR".into())]);
            assert_eq!(group_label(by, group, &names), shown, "{by} {group}");
        }
    }
}
