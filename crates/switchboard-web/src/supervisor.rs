//! The supervisor's dashboard: live queue sizes per team and purpose, people's status and
//! load, SLAs at risk, the last day's volume and the last two weeks' main KPIs as SVG charts
//! (`chart.rs`, no chart library).
//! `?fragment=1` answers the live part alone, which the script refreshes on every change.

use crate::chart::{self, Scale, Series};
use crate::page::{Section, Viewer, respond, shell};
use crate::reports;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use switchboard_core::Permission;
use switchboard_server::AppState;
use switchboard_server::api::reports::{KpiParams, kpi_query};
use switchboard_store::{HourBucket, StoreError};

const HOUR: i64 = 3_600_000_000;
const HOURS: usize = 24;
/// The days the dashboard's KPI charts cover.
const DAYS: i64 = 14;

#[derive(Deserialize)]
pub struct Params {
    #[serde(default)]
    fragment: String,
    /// `days`: the last days' KPI charts alone.
    #[serde(default)]
    part: String,
}

pub async fn page(State(state): State<AppState>, v: Viewer, Query(p): Query<Params>) -> Response {
    if let Some(r) = v.refuse(Permission::ManageTeams) {
        return r;
    }
    if p.part == "days" {
        return match days(&state).await {
            Ok(m) => respond(StatusCode::OK, html! { div #dash-days { (m) } }),
            Err(e) => crate::page::store_error(e, "dashboard"),
        };
    }
    let now = state.clock.now().as_unix_micros();
    let from = (now / HOUR - (HOURS as i64 - 1)) * HOUR;
    let seq = state.store.last_event_seq().await.unwrap_or(0);
    let (teams, agents, counts, hours) = match tokio::try_join!(
        state.store.team_loads(),
        state.store.agent_loads(),
        state.store.queue_counts(None),
        state.store.hourly(from, HOURS),
    ) {
        Ok(x) => x,
        Err(e) => return crate::page::store_error(e, "dashboard"),
    };
    let live = html! {
        div #dash-live data-seq=(seq) {
            section.tiles aria-label="Now" {
                div.tile { span.n #tile-active { (counts.active) } span { "active cases" } }
                div.tile { span.n #tile-unassigned { (counts.unassigned) } span { "unassigned" } }
                div.tile.bad[counts.at_risk > 0] { span.n #tile-at-risk { (counts.at_risk) } span { "SLA at risk" } }
                div.tile { span.n #tile-approval { (counts.approval) } span { "waiting for approval" } }
                div.tile { span.n #tile-expert { (counts.with_expert) } span { "with an expert" } }
            }
            section {
                h2 { "Queues by team and purpose" }
                table.grid #queues {
                    thead { tr { th scope="col" { "Team" } th scope="col" { "Active by purpose" } th scope="col" { "Unassigned" } th scope="col" { "SLA at risk" } } }
                    tbody {
                        @for t in &teams {
                            tr data-team=(t.team) {
                                th scope="row" { a href={"/inbox?queue=team:" (t.team)} { (t.name) } }
                                td { @if t.by_purpose.is_empty() { "—" }
                                    @for (p, n) in &t.by_purpose { span.pill { (p.replace('_', " ")) " " strong { (n) } } " " } }
                                td { (t.unassigned) }
                                td.bad[t.at_risk > 0] { (t.at_risk) }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "People" }
                table.grid #agents {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Status" } th scope="col" { "Active cases" } } }
                    tbody {
                        @for a in &agents {
                            tr { th scope="row" { (a.name) } td { (a.role) }
                                td { span class={"avail " (a.availability)} { (a.availability) } }
                                td { (a.active_cases) } }
                        }
                    }
                }
            }
        }
    };
    if p.fragment == "1" {
        return respond(StatusCode::OK, live);
    }
    let hour_labels: Vec<String> = hours
        .iter()
        .map(|b| format!("{:02}:00", b.hour / HOUR % 24))
        .collect();
    let body = html! {
        h1 { "Supervisor" }
        (live)
        section {
            h2 { "The last 24 hours" }
            div.charts {
                (chart::line("Cases opened and resolved per hour (UTC)", Scale::Count, &hour_labels, &[
                    hourly(&hours, "s0", "Opened", |b| b.opened),
                    hourly(&hours, "s1", "Resolved", |b| b.resolved),
                ]))
                (chart::line("Inbound messages per hour (UTC)", Scale::Count, &hour_labels, &[
                    hourly(&hours, "s2", "Inbound messages", |b| b.inbound),
                ]))
            }
        }
        section {
            h2 { "The last " (DAYS) " days" }
            // Drawn from the KPI report, the page's dearest part: the script loads it after
            // the page (`?part=days`); without script, the link shows the same on Reports.
            div #dash-days data-load="/supervisor?part=days" {
                p { a href=(days_report(&state).await) { "The main KPIs per day" } }
            }
            p.hint { a href="/reports" { "Reports" } ": KPIs by purpose, team, channel, agent or language, over any range, as a table, charts or CSV." }
        }
    };
    respond(
        StatusCode::OK,
        shell(&v, Section::Supervisor, "Supervisor", body),
    )
}

fn hourly(hours: &[HourBucket], class: &str, label: &str, get: fn(&HourBucket) -> i64) -> Series {
    Series {
        class: class.to_owned(),
        label: label.to_owned(),
        values: hours.iter().map(|b| Some(get(b) as f64)).collect(),
    }
}

/// The Reports page showing what [`days`] draws.
async fn days_report(state: &AppState) -> String {
    let tz = state
        .store
        .workspace_time_zone()
        .await
        .unwrap_or_else(|_| "UTC".to_owned());
    let (from, to) = reports::last_days(state.clock.now(), &tz, DAYS);
    format!("/reports?group_by=none&bucket=day&from={from}&to={to}")
}

/// The main KPIs of the last [`DAYS`] days, a point a day in the workspace's time zone: the
/// same report, and the same definitions, as the Reports page.
async fn days(state: &AppState) -> Result<Markup, StoreError> {
    let tz = state.store.workspace_time_zone().await?;
    let now = state.clock.now();
    let (from, to) = reports::last_days(now, &tz, DAYS);
    let params = KpiParams {
        from: Some(from),
        to: Some(to),
        group_by: Some("none".into()),
        bucket: Some("day".into()),
        tz: None,
        format: None,
    };
    // Fixed, valid parameters: a refusal here would be a bug, shown as no charts.
    let Ok((q, _)) = kpi_query(&params, now, &tz) else {
        return Ok(html! { p.hint { "No charts: the workspace's time zone is not known." } });
    };
    let periods = q
        .bucket
        .labels(q.from, q.until, &q.tz, reports::MAX_PERIODS);
    let rows = state.store.kpi_report(q).await?;
    Ok(match periods {
        Some(periods) => {
            reports::trends("none", &rows, &periods, &crate::page::Purposes::default())
        }
        None => html! {},
    })
}
