//! `GET /api/v1/reports/kpis`: KPIs per purpose, team, channel, agent or language over
//! hour/day/week/month buckets, as JSON or CSV. Every definition is `core::kpi`'s.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Query};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::Timestamp;
use switchboard_core::kpi::{self, Bucket};
use switchboard_store::{GroupBy, KpiQuery};

/// Days a report covers when no range is given.
const DEFAULT_DAYS: i64 = 30;

/// A report's parameters as written (query string or command line).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KpiParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_by: Option<String>,
    pub bucket: Option<String>,
    pub tz: Option<String>,
    pub format: Option<String>,
}

/// Checks a report's parameters: what a report needs, or the field that is wrong. Without
/// `tz`, days and buckets are in `default_tz` (the workspace's).
pub fn kpi_query(
    p: &KpiParams,
    now: Timestamp,
    default_tz: &str,
) -> Result<(KpiQuery, bool), ApiError> {
    let tz_name = p.tz.as_deref().unwrap_or(default_tz);
    let tz = kpi::time_zone(tz_name).ok_or_else(|| {
        ApiError::invalid_field("tz", format!("{tz_name:?} is not an IANA time zone"))
    })?;
    let group_by = match p.group_by.as_deref() {
        None => GroupBy::Purpose,
        Some(g) => GroupBy::parse(g).ok_or_else(|| {
            ApiError::invalid_field("group_by", format!("must be one of {}", GroupBy::NAMES))
        })?,
    };
    let bucket = match p.bucket.as_deref() {
        None => Bucket::All,
        Some(b) => Bucket::parse(b).ok_or_else(|| {
            ApiError::invalid_field("bucket", "must be hour, day, week, month or all")
        })?,
    };
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid_field("format", "must be json or csv")),
    };
    let (from, until) = match (p.from.as_deref(), p.to.as_deref()) {
        (None, None) => (
            now.plus_micros(-DEFAULT_DAYS * 86_400_000_000),
            now.plus_micros(1),
        ),
        (Some(f), Some(t)) => kpi::parse_range(f, t, &tz).map_err(|m| {
            let field = if m.starts_with("to") { "to" } else { "from" };
            ApiError::invalid_field(field, m)
        })?,
        (Some(_), None) => return Err(ApiError::invalid_field("to", "is needed with from")),
        (None, Some(_)) => return Err(ApiError::invalid_field("from", "is needed with to")),
    };
    Ok((
        KpiQuery {
            from,
            until,
            bucket,
            tz,
            group_by,
        },
        csv,
    ))
}

pub async fn kpis(
    State(state): State<AppState>,
    _: Allowed<need::ViewReports>,
    Query(p): Query<KpiParams>,
) -> Result<Response, ApiError> {
    let default_tz = state
        .store
        .workspace_time_zone()
        .await
        .map_err(ApiError::from_store("report"))?;
    let (q, csv) = kpi_query(
        &p,
        Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc()),
        &default_tz,
    )?;
    let (from, until) = (q.from, q.until);
    let rows = state
        .store
        .kpi_report(q)
        .await
        .map_err(ApiError::from_store("report"))?;
    if csv {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"kpis.csv\"",
                ),
            ],
            kpi::to_csv(&rows),
        )
            .into_response());
    }
    Ok(axum::Json(serde_json::json!({
        "from": from,
        "to": until,
        "group_by": p.group_by.as_deref().unwrap_or("purpose"),
        "bucket": p.bucket.as_deref().unwrap_or("all"),
        "tz": p.tz.as_deref().unwrap_or(&default_tz),
        "rows": rows,
    }))
    .into_response())
}
