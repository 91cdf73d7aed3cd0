//! `switchboard bench kpis`: the KPI report over a large store against the equivalent
//! hand-written SQL aggregate on the same database (issue 9: at most twice its time).
//!
//! It fills (once; later runs reuse it) a migrated store with N cases over the last year, with
//! SQL that generates the rows inside the database: 8 channels, 5 teams, 20 agents, one
//! contact and conversation per case, the customer's message (with sentiment and language, as
//! ingest stores them) and, for 4 cases in 5, a reply from an agent; 3 in 5 cases resolved,
//! some tagged `lead`. Then it times, on the same connection settings:
//! - the baseline: one SQL statement computing each purpose's cases, answered cases, mean first
//!   response and resolved cases (what one would write by hand; no percentiles, which neither
//!   engine's SQL gives cheaply);
//! - `Store::kpi_report` for the same range grouped by purpose (medians and p90s, business
//!   time, sentiment, reach, SLA, referrals, approvals, CSAT: everything the report shows).

use anyhow::{Context, bail};
use std::time::{Duration, Instant};
use switchboard_core::Timestamp;
use switchboard_core::kpi::{self, Bucket};
use switchboard_store::{GroupBy, KpiQuery, Location, Store};

/// The settings key that marks a finished fill (its value: the number of cases).
const MARKER: &str = "bench.kpis";
const YEAR_MICROS: i64 = 365 * 24 * 3600 * 1_000_000;

pub struct Options {
    pub cases: usize,
    pub location: Location,
    pub runs: usize,
}

/// The fill, in the engine's SQL. `{n}` cases; `{t0}` the first case's time (unix micros).
fn fill_sql(postgres: bool, n: usize, t0: i64) -> Vec<String> {
    let step = YEAR_MICROS / n.max(1) as i64;
    // Series and helpers per engine.
    let series_of = |count: usize| {
        if postgres {
            format!("SELECT generate_series(1::bigint, {count}) AS i")
        } else {
            format!(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {count}) SELECT i FROM s"
            )
        }
    };
    let (series, ts, tru, fals) = if postgres {
        (
            series_of(n),
            "to_timestamp(({t})::double precision / 1000000)",
            "true",
            "false",
        )
    } else {
        (series_of(n), "({t})", "1", "0")
    };
    // The last 12 digits of an id, from an integer expression.
    let digits = |e: &str| {
        if postgres {
            format!("lpad(({e})::text, 12, '0')")
        } else {
            format!("printf('%012d', {e})")
        }
    };
    let id = digits("i");
    let id = id.as_str();
    let at = |expr: &str| ts.replace("{t}", expr);
    // PostgreSQL keeps ids as uuid and documents as jsonb: text built here is cast.
    let cast = |e: String, ty: &str| if postgres { format!("({e})::{ty}") } else { e };
    let uid = |prefix: &str| cast(format!("'{prefix}' || {id}"), "uuid");
    let start = format!("{t0} + i * {step}");
    let mut sql = Vec::new();
    sql.push(format!(
        "INSERT INTO channels (id, kind, name, config, secret, active, created_at) \
         SELECT {cid}, 'webhook', 'Bench channel ' || i, '{{}}', {blob}, {tru}, {now} FROM ({series8}) s",
        cid = uid("00000000-0000-7000-8000-"),
        blob = if postgres { "'\\x00'::bytea" } else { "x'00'" },
        now = at(&t0.to_string()),
        series8 = series_of(8),
    ));
    sql.push(format!(
        "INSERT INTO teams (id, name, created_at, slug, strategy) \
         SELECT {tid}, 'Team ' || i, {now}, 'team-' || i, 'manual' FROM ({series5}) s",
        tid = uid("00000000-0000-7000-8001-"),
        now = at(&t0.to_string()),
        series5 = series_of(5),
    ));
    sql.push(format!(
        "INSERT INTO users (id, username, display_name, role, active, created_at) \
         SELECT {aid}, 'agent' || i, 'Agent ' || i, 'agent', {tru}, {now} FROM ({series20}) s",
        aid = uid("00000000-0000-7000-8002-"),
        now = at(&t0.to_string()),
        series20 = series_of(20),
    ));
    let channel = cast(
        format!("'00000000-0000-7000-8000-' || {}", digits("i % 8 + 1")),
        "uuid",
    );
    let team = cast(
        format!("'00000000-0000-7000-8001-' || {}", digits("i % 5 + 1")),
        "uuid",
    );
    let agent = cast(
        format!("'00000000-0000-7000-8002-' || {}", digits("i % 20 + 1")),
        "uuid",
    );
    sql.push(format!(
        "INSERT INTO contacts (id, display_name, created_at) SELECT {}, 'Customer ' || i, {} FROM ({series}) s",
        uid("00000000-0000-7000-8003-"),
        at(&start),
    ));
    sql.push(format!(
        "INSERT INTO identities (channel_id, external_id, contact_id, channel_kind, name, created_at, followers) \
         SELECT {channel}, 'person-' || i, {}, 'webhook', 'Customer ' || i, {}, CASE WHEN i % 4 = 0 THEN i % 5000 END FROM ({series}) s",
        uid("00000000-0000-7000-8003-"),
        at(&start),
    ));
    sql.push(format!(
        "INSERT INTO conversations (id, channel_id, thread, public, contact_id, created_at, last_message_at) \
         SELECT {}, {channel}, 'thread-' || i, CASE WHEN i % 3 = 0 THEN {tru} ELSE {fals} END, {}, {}, {} FROM ({series}) s",
        uid("00000000-0000-7000-8004-"),
        uid("00000000-0000-7000-8003-"),
        at(&start),
        at(&start),
    ));
    let purpose = "CASE i % 5 WHEN 0 THEN 'tier1' WHEN 1 THEN 'support' WHEN 2 THEN 'sales' WHEN 3 THEN 'marketing_pr' ELSE 'crisis' END";
    let resolved = "i % 5 < 3";
    sql.push(format!(
        "INSERT INTO cases (id, status, purpose, team_id, assignee_id, priority, tags, contact_id, conversation_id, \
         created_at, updated_at, first_response_at, resolved_at, reopen_count) \
         SELECT {case}, CASE WHEN {resolved} THEN 'resolved' ELSE 'open' END, {purpose}, {team}, {agent}, 'normal', \
         {tags}, {contact}, {conv}, {created}, {created}, \
         CASE WHEN i % 5 < 4 THEN {replied} END, CASE WHEN {resolved} THEN {done} END, CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END \
         FROM ({series}) s",
        case = uid("00000000-0000-7000-8005-"),
        contact = uid("00000000-0000-7000-8003-"),
        conv = uid("00000000-0000-7000-8004-"),
        tags = cast(
            "CASE WHEN i % 10 = 2 THEN '[\"lead\"]' ELSE '[]' END".into(),
            "jsonb"
        ),
        created = at(&start),
        replied = at(&format!("{start} + (i % 7200) * 1000000")),
        done = at(&format!("{start} + (i % 86400) * 1000000 + 7200000000")),
    ));
    let understanding = "CASE i % 3 WHEN 0 THEN '{\"sentiment\":{\"label\":\"negative\",\"score\":-0.6},\"language\":\"en\"}' \
         WHEN 1 THEN '{\"sentiment\":{\"label\":\"neutral\",\"score\":0.0},\"language\":\"en\"}' \
         ELSE '{\"sentiment\":{\"label\":\"positive\",\"score\":0.7},\"language\":\"de\"}' END";
    sql.push(format!(
        "INSERT INTO messages (id, case_id, conversation_id, channel_id, direction, external_id, contact_id, author_kind, \
         author_name, text, sent_at, created_at, delivery_state, updated_at, understanding) \
         SELECT {mid}, {case}, {conv}, {channel}, 'inbound', 'm-' || i, {contact}, 'contact', 'Customer ' || i, \
         'my order ' || i || ' has not arrived', {sent}, {sent}, 'received', {sent}, {understanding} FROM ({series}) s",
        understanding = cast(understanding.into(), "jsonb"),
        mid = uid("00000000-0000-7000-8006-"),
        case = uid("00000000-0000-7000-8005-"),
        conv = uid("00000000-0000-7000-8004-"),
        contact = uid("00000000-0000-7000-8003-"),
        sent = at(&start),
    ));
    sql.push(format!(
        "INSERT INTO messages (id, case_id, conversation_id, channel_id, direction, user_id, author_kind, \
         author_name, text, sent_at, created_at, delivery_state, updated_at) \
         SELECT {mid}, {case}, {conv}, {channel}, 'outbound', {agent}, 'user', 'Agent', \
         'sorry, we are on it', {sent}, {sent}, 'delivered', {sent} FROM ({series}) s WHERE i % 5 < 4",
        mid = uid("00000000-0000-7000-8007-"),
        case = uid("00000000-0000-7000-8005-"),
        conv = uid("00000000-0000-7000-8004-"),
        sent = at(&format!("{start} + (i % 7200) * 1000000")),
    ));
    sql
}

/// The hand-written aggregate: per purpose, cases, answered cases, mean first response (s)
/// and resolved cases, with first responses from the messages' own times.
fn baseline_sql(postgres: bool) -> String {
    let micros = |col: &str| {
        if postgres {
            format!("(EXTRACT(EPOCH FROM {col}) * 1000000)")
        } else {
            col.to_owned()
        }
    };
    format!(
        "SELECT c.purpose, COUNT(*), COUNT(m.replied), CAST(AVG(m.replied - m.started) / 1000000.0 AS DOUBLE PRECISION), \
         SUM(CASE WHEN c.status IN ('resolved', 'closed') THEN 1 ELSE 0 END) \
         FROM cases c JOIN (SELECT case_id, \
           MIN(CASE WHEN direction = 'inbound' THEN {s} END) AS started, \
           MIN(CASE WHEN direction = 'outbound' AND author_kind <> 'system' THEN {s} END) AS replied \
           FROM messages GROUP BY case_id) m ON m.case_id = c.id \
         WHERE c.merged_into IS NULL GROUP BY c.purpose ORDER BY c.purpose",
        s = micros("sent_at")
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let store = Store::open(&o.location).context("cannot open the bench database")?;
    store.migrate().await?;
    let postgres = matches!(o.location, Location::Postgres(_));
    let now = Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc());
    let t0 = now.as_unix_micros() - YEAR_MICROS;
    let filled = store.setting(MARKER).await?;
    if filled.as_deref() != Some(&o.cases.to_string()) {
        if filled.is_some() || !store.list_channels().await?.is_empty() {
            bail!(
                "the bench database holds other data; point --data-dir or --database at a new one"
            );
        }
        let started = Instant::now();
        eprintln!("filling {} cases (once; later runs reuse them)…", o.cases);
        let statements = fill_sql(postgres, o.cases, t0);
        run_sql(&o.location, statements).await?;
        store.set_setting_once(MARKER, &o.cases.to_string()).await?;
        eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    }

    settle(&o.location).await?;
    let query = KpiQuery {
        from: Timestamp::from_unix_micros(0),
        until: now.plus_micros(YEAR_MICROS),
        bucket: Bucket::All,
        tz: kpi::TimeZone::UTC,
        group_by: GroupBy::Purpose,
    };
    let mut report_times = Vec::new();
    let mut baseline_times = Vec::new();
    let mut rows = Vec::new();
    let mut baseline_rows = Vec::new();
    for _ in 0..o.runs {
        let t = Instant::now();
        baseline_rows = baseline(&o.location, baseline_sql(postgres)).await?;
        baseline_times.push(t.elapsed());
        let t = Instant::now();
        rows = store.kpi_report(query.clone()).await?;
        report_times.push(t.elapsed());
    }
    // The two must agree where they overlap.
    for (purpose, cases, answered, mean) in &baseline_rows {
        let row = rows
            .iter()
            .find(|r| &r.group == purpose)
            .with_context(|| format!("no report row for {purpose}"))?;
        let ours = row.first_response.mean_s.unwrap_or(0.0);
        if row.cases_opened as i64 != *cases
            || row.first_response.count as i64 != *answered
            || (ours - mean).abs() > 0.01
        {
            bail!(
                "the report and the SQL disagree on {purpose}: {} / {} / {ours} against {cases} / {answered} / {mean}",
                row.cases_opened,
                row.first_response.count
            );
        }
    }
    let (r, b) = (median(report_times), median(baseline_times));
    let out = serde_json::json!({
        "engine": if postgres { "postgres" } else { "sqlite" },
        "cases": o.cases,
        "runs": o.runs,
        "report_ms": r.as_secs_f64() * 1e3,
        "baseline_sql_ms": b.as_secs_f64() * 1e3,
        "ratio": r.as_secs_f64() / b.as_secs_f64(),
        "rows": rows.len(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Copies SQLite's write-ahead log back into the database (the store's checkpointer would,
/// in the background, during the timing), or refreshes PostgreSQL's statistics.
async fn settle(location: &Location) -> anyhow::Result<()> {
    let location = location.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        match location {
            Location::Sqlite(path) => {
                let c = rusqlite::Connection::open(path)?;
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
            Location::Postgres(url) => {
                let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
                c.batch_execute("VACUUM ANALYZE")?;
            }
        }
        Ok(())
    })
    .await?
}

/// Fills a new store at `location` with `cases` cases over the year before `now`.
pub async fn fill(location: &Location, cases: usize, now: Timestamp) -> anyhow::Result<()> {
    let postgres = matches!(location, Location::Postgres(_));
    run_sql(
        location,
        fill_sql(postgres, cases, now.as_unix_micros() - YEAR_MICROS),
    )
    .await?;
    settle(location).await
}

/// Runs the fill statements in one transaction, on a connection of its own.
async fn run_sql(location: &Location, statements: Vec<String>) -> anyhow::Result<()> {
    let location = location.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        match location {
            Location::Sqlite(path) => {
                let mut c = rusqlite::Connection::open(path)?;
                let tx = c.transaction()?;
                for s in &statements {
                    tx.execute_batch(s)
                        .with_context(|| s.chars().take(120).collect::<String>())?;
                }
                tx.commit()?;
            }
            Location::Postgres(url) => {
                let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
                let mut tx = c.transaction()?;
                for s in &statements {
                    tx.batch_execute(s)
                        .with_context(|| s.chars().take(120).collect::<String>())?;
                }
                tx.commit()?;
            }
        }
        Ok(())
    })
    .await?
}

/// The baseline's rows: (purpose, cases, answered, mean first response in seconds).
async fn baseline(
    location: &Location,
    sql: String,
) -> anyhow::Result<Vec<(String, i64, i64, f64)>> {
    let location = location.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(String, i64, i64, f64)>> {
        match location {
            Location::Sqlite(path) => {
                let c = rusqlite::Connection::open(path)?;
                let mut st = c.prepare(&sql)?;
                let rows = st
                    .query_map([], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get::<_, Option<f64>>(3)?.unwrap_or(0.0),
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            }
            Location::Postgres(url) => {
                let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
                let rows = c
                    .query(&sql, &[])?
                    .iter()
                    .map(|r| {
                        let mean: Option<f64> = r.get(3);
                        (r.get(0), r.get(1), r.get(2), mean.unwrap_or(0.0))
                    })
                    .collect();
                Ok(rows)
            }
        }
    })
    .await?
}
