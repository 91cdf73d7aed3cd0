//! Embedded migrations, one list per backend, applied in order inside the writer's
//! transaction. The applied versions are recorded in `schema_migrations`.

use crate::StoreError;
use crate::sql::{Backend, Conn};

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, include_str!("../migrations/sqlite/0002_routing.sql")),
    (3, include_str!("../migrations/sqlite/0003_approvals.sql")),
    (4, include_str!("../migrations/sqlite/0004_lifecycle.sql")),
    (
        5,
        include_str!("../migrations/sqlite/0005_understanding.sql"),
    ),
    (6, include_str!("../migrations/sqlite/0006_models.sql")),
    (7, include_str!("../migrations/sqlite/0007_training.sql")),
    (8, include_str!("../migrations/sqlite/0008_channels.sql")),
    (
        9,
        include_str!("../migrations/sqlite/0009_contact_keys.sql"),
    ),
    (10, include_str!("../migrations/sqlite/0010_imap.sql")),
    (11, include_str!("../migrations/sqlite/0011_chat.sql")),
    (12, include_str!("../migrations/sqlite/0012_kb.sql")),
    (13, include_str!("../migrations/sqlite/0013_search.sql")),
    (
        14,
        include_str!("../migrations/sqlite/0014_auto_answer.sql"),
    ),
    (
        15,
        include_str!("../migrations/sqlite/0015_search_words.sql"),
    ),
    (
        16,
        include_str!("../migrations/sqlite/0016_csat_reports.sql"),
    ),
    (
        17,
        include_str!("../migrations/sqlite/0017_channel_activity.sql"),
    ),
    (
        18,
        include_str!("../migrations/sqlite/0018_referral_index.sql"),
    ),
    (19, include_str!("../migrations/sqlite/0019_learning.sql")),
    (
        20,
        include_str!("../migrations/sqlite/0020_corrections_by_case.sql"),
    ),
];
const POSTGRES: &[(i64, &str)] = &[
    (
        1,
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (2, include_str!("../migrations/postgres/0002_routing.sql")),
    (3, include_str!("../migrations/postgres/0003_approvals.sql")),
    (4, include_str!("../migrations/postgres/0004_lifecycle.sql")),
    (
        5,
        include_str!("../migrations/postgres/0005_understanding.sql"),
    ),
    (6, include_str!("../migrations/postgres/0006_models.sql")),
    (7, include_str!("../migrations/postgres/0007_training.sql")),
    (8, include_str!("../migrations/postgres/0008_channels.sql")),
    (
        9,
        include_str!("../migrations/postgres/0009_contact_keys.sql"),
    ),
    (10, include_str!("../migrations/postgres/0010_imap.sql")),
    (11, include_str!("../migrations/postgres/0011_chat.sql")),
    (12, include_str!("../migrations/postgres/0012_kb.sql")),
    (13, include_str!("../migrations/postgres/0013_search.sql")),
    (
        14,
        include_str!("../migrations/postgres/0014_auto_answer.sql"),
    ),
    (
        15,
        include_str!("../migrations/postgres/0015_search_words.sql"),
    ),
    (
        16,
        include_str!("../migrations/postgres/0016_csat_reports.sql"),
    ),
    (
        17,
        include_str!("../migrations/postgres/0017_channel_activity.sql"),
    ),
    (
        18,
        include_str!("../migrations/postgres/0018_referral_index.sql"),
    ),
    (19, include_str!("../migrations/postgres/0019_learning.sql")),
    (
        20,
        include_str!("../migrations/postgres/0020_corrections_by_case.sql"),
    ),
];

/// The schema version this build migrates to: its last migration (the same on both engines).
pub fn latest() -> i64 {
    SQLITE
        .last()
        .map_or(0, |m| m.0)
        .max(POSTGRES.last().map_or(0, |m| m.0))
}

pub(crate) fn run(conn: &mut dyn Conn) -> Result<Vec<i64>, StoreError> {
    let list = match conn.backend() {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    if conn.backend() == Backend::Postgres {
        // Two nodes starting at once must not both migrate.
        conn.batch("SELECT pg_advisory_xact_lock(7462016)")?;
    }
    conn.batch("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)")?;
    let applied: Vec<i64> = conn
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )?
        .iter()
        .map(|r| r.int(0))
        .collect::<Result<_, _>>()?;
    let mut done = Vec::new();
    for (version, sql) in list {
        if applied.contains(version) {
            continue;
        }
        conn.batch(sql)
            .map_err(|e| StoreError::Backend(format!("migration {version} failed: {e}")))?;
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            crate::params![*version, format!("{:?}", std::time::SystemTime::now())],
        )?;
        done.push(*version);
    }
    Ok(done)
}
