//! Switchboard's storage: one [`Store`] over SQLite (embedded, the default) or PostgreSQL,
//! chosen by the URL's scheme.
//!
//! Both backends sit behind one seam, the [`sql::Conn`] trait: queries are written once and run
//! on either. Each backend has its own migrations (`migrations/sqlite`, `migrations/postgres`),
//! embedded in the binary and applied in order; an applied migration is never edited.
//! Writes go through a single writer thread that commits in groups (see [`pool`]).

mod append;
mod auto_answer;
mod cases;
mod channel_activity;
mod chat;
mod contact_keys;
mod contacts;
mod csat;
mod directory;
mod experts;
mod export;
mod hooks;
mod inbox;
mod ingest;
mod journal;
mod kb;
mod kpi;
mod lifecycle;
mod merge;
mod migrate;
pub mod model;
mod models;
mod notify;
pub mod pool;
mod provider_events;
mod purposes;
mod referral;
mod review;
mod routing;
mod search;
mod simulate;
mod sla_watch;
pub mod sql;
mod training;
mod users;

pub use auto_answer::{AutoAnswerDecision, AutoAnswerJob, AutoAnswerRecord, AutoAnswered};
pub use cases::{ReplyContext, ReplyTo};
pub use channel_activity::ChannelActivity;
pub use chat::{ChatFile, ChatLog};
pub use contact_keys::COMMON_KEY;
pub use contacts::ContactUpdate;
pub use directory::{ChannelPatch, TeamPatch};
pub use experts::{ExpertLink, ExpertView, LinkProblem, NewExpertLink};
pub use export::{EXPORT_FORMAT, ExportError, TransferSummary};
pub use hooks::{HookDelivery, HookJob, HookOutcome, SealedHookSecrets};
pub use inbox::{AgentLoad, HourBucket, InboxFilter, InboxRow, Queue, QueueCounts, TeamLoad};
pub use kb::{KbItem, KbKind, KbRevision, Question};
pub use kpi::{GroupBy, KpiQuery};
pub use migrate::latest as schema_version;
pub use model::*;
pub use models::ModelVersion;
pub use notify::Notification;
pub use pool::PoolStats;
pub use purposes::PurposeInfo;
pub use referral::Referral;
pub use review::{ApprovalContext, Review};
pub use routing::{PlaybookVersion, SlaView};
pub use search::{Found, SearchFilter};
pub use simulate::SimulationReport;
pub use sla_watch::SlaCheck;
pub use training::{LearningDecision, TrainingExample};
pub use users::{UserChange, UserPatch};

use pool::{Connector, Pool};
use sql::{Backend, Conn, PgConn, SqliteConn};
use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in the store, in terms the server can map to HTTP.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken (a name taken, a duplicate id).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Another transaction held what this one needed (a PostgreSQL deadlock or serialization
    /// failure): nothing was written; the same work can simply be tried again.
    #[error("contention: {0}")]
    Contention(String),
    /// The request breaks a domain rule (an invalid status change, an unknown team).
    #[error("{0}")]
    Invalid(String),
    /// As [`StoreError::Invalid`], about one field of the request (`assignee`).
    #[error("{1}")]
    InvalidField(&'static str, String),
    /// The caller may not do this (e.g. approve their own reply).
    #[error("{0}")]
    Forbidden(String),
    /// A reply the guards refused: the explanation, and what was found where.
    #[error("{explanation}")]
    ReplyBlocked {
        explanation: String,
        findings: serde_json::Value,
    },
    /// A playbook that does not check; every problem, with its line and column.
    #[error("the playbook has {} problem(s)", .0.len())]
    InvalidPlaybook(Vec<switchboard_core::playbook::PlaybookError>),
    #[error("database error: {0}")]
    Backend(String),
    #[error("the store is shut down")]
    Closed,
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://…`).
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            // A URL may carry a password: never print it.
            Location::Postgres(url) => write!(f, "postgres://{}", redact_url(url)),
        }
    }
}

fn redact_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => rest.to_owned(),
    }
}

/// Writers that ingest in parallel on PostgreSQL.
const INGEST_LANES: usize = 4;

/// The store. Cheap to clone; all clones share the same threads.
#[derive(Clone)]
pub struct Store {
    pool: Arc<Pool>,
    appender: Arc<append::Appender>,
    playbooks: Arc<routing::PlaybookCache>,
    /// Words known to be in `search_words` (committed), so ingest skips writing them again.
    known_words: Arc<search::KnownWords>,
}

impl Store {
    /// Opens the database (creating an SQLite file if needed) and starts its threads.
    /// Does not migrate: call [`Store::migrate`].
    pub fn open(location: &Location) -> Result<Store, StoreError> {
        let (connector, backend): (Connector, Backend) = match location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Backend(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let path = path.clone();
                (
                    Arc::new(move |writer| {
                        Ok(Box::new(SqliteConn::open(&path, writer)?) as Box<dyn Conn>)
                    }),
                    Backend::Sqlite,
                )
            }
            Location::Postgres(url) => {
                let url = url.clone();
                (
                    Arc::new(move |_| Ok(Box::new(PgConn::open(&url)?) as Box<dyn Conn>)),
                    Backend::Postgres,
                )
            }
        };
        // SQLite has one writer per database; PostgreSQL takes several ingest lanes at once.
        let lanes = match backend {
            Backend::Sqlite => 0,
            Backend::Postgres => INGEST_LANES,
        };
        let pool = Arc::new(Pool::start(connector.clone(), backend, 4, lanes)?);
        let appender = Arc::new(append::Appender::start(pool.clone(), connector)?);
        Ok(Store {
            pool,
            appender,
            playbooks: Arc::default(),
            known_words: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.pool.backend
    }

    pub fn stats(&self) -> Arc<PoolStats> {
        self.pool.stats.clone()
    }

    /// Applies the migrations not yet applied; returns their versions.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        self.pool.write(migrate::run).await
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool
            .read(|c| c.query("SELECT 1", &[]).map(|_| ()))
            .await
    }
}
