//! Reports: the KPI table for a range, grouped and bucketed as the manager chooses, with the
//! same parameters (and checks) as `GET /api/v1/reports/kpis`, and a link that downloads it as
//! CSV. Every number is core's (`switchboard_core::kpi`); docs/REPORTS.md defines them.

use crate::page::{Section, Viewer, respond, shell};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use switchboard_core::Permission;
use switchboard_core::kpi::{KpiRow, Spread};
use switchboard_server::AppState;
use switchboard_server::api::reports::{KpiParams, kpi_query};

const GROUPS: &[(&str, &str)] = &[
    ("purpose", "Purpose"),
    ("team", "Team"),
    ("channel", "Channel"),
    ("channel_kind", "Kind of channel"),
    ("agent", "Agent"),
    ("language", "Language"),
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
    match s.median_s {
        None => "—".to_owned(),
        Some(v) if v < 90.0 => format!("{v:.0} s"),
        Some(v) if v < 5400.0 => format!("{:.0} min", v / 60.0),
        Some(v) if v < 172_800.0 => format!("{:.1} h", v / 3600.0),
        Some(v) => format!("{:.1} d", v / 86_400.0),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

fn table(rows: &[KpiRow]) -> Markup {
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
                            th scope="row" { (r.group.replace('_', " ")) }
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

pub async fn page(
    State(state): State<AppState>,
    v: Viewer,
    Query(p): Query<KpiParams>,
) -> Response {
    if let Some(r) = v.refuse(Permission::ViewReports) {
        return r;
    }
    let now = state.clock.now();
    let today = time::OffsetDateTime::from_unix_timestamp(now.as_unix_micros() / 1_000_000)
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    let month_ago = today - time::Duration::days(30);
    let params = KpiParams {
        from: p
            .from
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| Some(month_ago.to_string())),
        to: p
            .to
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| Some(today.to_string())),
        group_by: p.group_by.clone().filter(|s| !s.is_empty()),
        bucket: p.bucket.clone().filter(|s| !s.is_empty()),
        tz: p.tz.clone().filter(|s| !s.is_empty()),
        format: None,
    };
    let default_tz = match state.store.workspace_time_zone().await {
        Ok(tz) => tz,
        Err(e) => return crate::page::store_error(e, "report"),
    };
    let checked = kpi_query(&params, now, &default_tz);
    let (rows, problem) = match checked {
        Ok((q, _)) => match state.store.kpi_report(q).await {
            Ok(rows) => (rows, None),
            Err(e) => return crate::page::store_error(e, "report"),
        },
        Err(e) => (Vec::new(), Some((e.field.unwrap_or_default(), e.detail))),
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
            p.error role="alert" { (field) ": " (detail) }
        } @else {
            p { a href={"/api/v1/reports/kpis?" (query)} download="kpis.csv" { "Download as CSV" }
                " · every definition: docs/REPORTS.md" }
            @if rows.is_empty() { p.hint { "Nothing in this range." } } @else { (table(&rows)) }
        }
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(status, shell(&v, Section::Reports, "Reports", body))
}
