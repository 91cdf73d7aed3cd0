//! `switchboard report kpis`: the KPI report of `GET /api/v1/reports/kpis`, read from the
//! server's database (pass its `--data-dir` / `--database`), as JSON or CSV on stdout.

use crate::{StoreArgs, usage};
use clap::Subcommand;
use switchboard_core::Timestamp;
use switchboard_core::kpi;
use switchboard_server::api::reports::{KpiParams, kpi_query};

#[derive(Subcommand)]
pub enum ReportCommand {
    /// KPIs per purpose, team, channel, channel kind, agent or language (see docs/REPORTS.md
    /// for every definition).
    Kpis {
        #[command(flatten)]
        store: StoreArgs,
        /// First day (YYYY-MM-DD, in --tz) or instant (RFC 3339).
        #[arg(long)]
        from: String,
        /// Last day, included (YYYY-MM-DD), or an instant, excluded (RFC 3339).
        #[arg(long)]
        to: String,
        /// purpose, team, channel, channel_kind, agent, language, intent or none.
        #[arg(long, default_value = "purpose")]
        group_by: String,
        /// hour, day, week, month or all.
        #[arg(long, default_value = "all")]
        bucket: String,
        /// The time zone of dates and buckets (an IANA name); default: the workspace's (the
        /// playbook's `[hours]`), else UTC.
        #[arg(long)]
        tz: Option<String>,
        /// json or csv.
        #[arg(long, default_value = "json")]
        format: String,
    },
}

pub async fn run(command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::Kpis {
            store,
            from,
            to,
            group_by,
            bucket,
            tz,
            format,
        } => {
            let params = KpiParams {
                from: Some(from),
                to: Some(to),
                group_by: Some(group_by),
                bucket: Some(bucket),
                tz,
                format: Some(format),
            };
            let now = Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc());
            let store = store.open_existing().await?;
            let default_tz = store.workspace_time_zone().await?;
            let (q, csv) = kpi_query(&params, now, &default_tz).map_err(|e| {
                usage(format!(
                    "--{}: {}",
                    e.field.as_deref().unwrap_or("?").replace('_', "-"),
                    e.detail
                ))
            })?;
            let (from, until) = (q.from, q.until);
            let rows = store.kpi_report(q).await?;
            if csv {
                print!("{}", kpi::to_csv(&rows));
            } else {
                let out = serde_json::json!({
                    "from": from,
                    "to": until,
                    "group_by": params.group_by,
                    "bucket": params.bucket,
                    "tz": params.tz.as_deref().unwrap_or(&default_tz),
                    "rows": rows,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            Ok(())
        }
    }
}
