//! The supervisor's dashboard: live queue sizes per team and purpose, people's status and
//! load, SLAs at risk, and the last day's volume as SVG charts (drawn here, no chart library).
//! `?fragment=1` answers the live part alone, which the script refreshes on every change.

use crate::page::{Section, Viewer, respond, shell};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use switchboard_core::Permission;
use switchboard_server::AppState;
use switchboard_store::HourBucket;

const HOUR: i64 = 3_600_000_000;
const HOURS: usize = 24;

#[derive(Deserialize)]
pub struct Params {
    #[serde(default)]
    fragment: String,
}

pub async fn page(State(state): State<AppState>, v: Viewer, Query(p): Query<Params>) -> Response {
    if let Some(r) = v.refuse(Permission::ManageTeams) {
        return r;
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
    let body = html! {
        h1 { "Supervisor" }
        (live)
        section {
            h2 { "The last 24 hours" }
            (chart(&hours, "Cases opened and resolved per hour", &[("opened", "Opened", |b: &HourBucket| b.opened), ("resolved", "Resolved", |b: &HourBucket| b.resolved)]))
            (chart(&hours, "Inbound messages per hour", &[("inbound", "Inbound messages", |b: &HourBucket| b.inbound)]))
            p.hint { a href="/reports" { "Reports" } ": KPIs by purpose, team, channel, agent or language, over any range, as a table or CSV." }
        }
    };
    respond(
        StatusCode::OK,
        shell(&v, Section::Supervisor, "Supervisor", body),
    )
}

type Series<'a> = (&'a str, &'a str, fn(&HourBucket) -> i64);

/// A line chart of hourly series, with a table of the same numbers for screen readers.
fn chart(hours: &[HourBucket], title: &str, series: &[Series]) -> Markup {
    let (w, h, pad) = (720.0_f64, 180.0_f64, 28.0_f64);
    let max = hours
        .iter()
        .flat_map(|b| series.iter().map(move |s| (s.2)(b)))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = (w - 2.0 * pad) / (hours.len().max(2) - 1) as f64;
    let point = |i: usize, n: i64| {
        (
            pad + i as f64 * step,
            h - pad - (n as f64 / max) * (h - 2.0 * pad),
        )
    };
    html! {
        figure.chart {
            figcaption { (title) }
            svg viewBox={"0 0 " (w) " " (h)} role="img" aria-label=(title) {
                line x1=(pad) y1=(h - pad) x2=(w - pad) y2=(h - pad) class="axis" {}
                text x=(2) y=(pad) class="tick" { (max as i64) }
                text x=(2) y=(h - pad) class="tick" { "0" }
                @for (class, _, get) in series {
                    @let pts: Vec<String> = hours.iter().enumerate().map(|(i, b)| { let (x, y) = point(i, get(b)); format!("{x:.1},{y:.1}") }).collect();
                    polyline class={"series " (class)} points=(pts.join(" ")) {}
                }
            }
            p.legend { @for (class, label, _) in series { span class={"key " (class)} { (label) } " " } }
            table.visually-hidden {
                caption { (title) }
                thead { tr { th { "Hour (UTC)" } @for (_, label, _) in series { th { (label) } } } }
                tbody { @for b in hours { tr { td { (b.hour / HOUR % 24) ":00" } @for (_, _, get) in series { td { (get(b)) } } } } }
            }
        }
    }
}
