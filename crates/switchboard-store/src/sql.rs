//! The one SQL seam both backends sit behind.
//!
//! Queries are written once, in the subset SQLite and PostgreSQL share: `$1` placeholders,
//! `ON CONFLICT … DO NOTHING`, `RETURNING`. [`Value`] converts by the column's declared type, so
//! the PostgreSQL schema keeps real `uuid`, `timestamptz`, `jsonb` and `boolean` columns while
//! the SQLite one stores text and integers. Times are microseconds since the Unix epoch here.

use crate::StoreError;
use std::collections::HashMap;
use std::sync::Arc;

/// A value bound to or read from a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a `&[Value]` from a list of expressions.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::sql::Value::from($v)),*] as &[$crate::sql::Value] };
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Backend(format!("column {i} missing")))
    }
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.at(i)? {
            Value::Int(v) => Ok(*v),
            Value::Bool(b) => Ok(*b as i64),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected integer, got {other:?}"
            ))),
        }
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.at(i)? {
            Value::Text(s) => Ok(s.clone()),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected text, got {other:?}"
            ))),
        }
    }
    /// The text of column `i`, borrowed.
    pub fn text_ref(&self, i: usize) -> Result<&str, StoreError> {
        match self.at(i)? {
            Value::Text(s) => Ok(s),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected text, got {other:?}"
            ))),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn opt_real(&self, i: usize) -> Result<Option<f64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Real(v) => Ok(Some(*v)),
            Value::Int(v) => Ok(Some(*v as f64)),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected a number, got {other:?}"
            ))),
        }
    }
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        self.int(i).map(|v| v != 0)
    }
    pub fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.at(i)? {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.clone().into_bytes()),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected bytes, got {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database connection, owned by one thread.
pub trait Conn: Send {
    fn backend(&self) -> Backend;
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;

    /// Runs one or more statements without parameters (transactions, migrations).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// The connection is unusable and must be replaced.
    fn is_broken(&self) -> bool;

    /// Runs a query and hands each row to `f` in turn, streamed: the rows are never all held
    /// at once.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs a query and collects its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        self.query_each(sql, params, &mut |r| {
            out.push(r.clone());
            Ok(())
        })?;
        Ok(out)
    }
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?.ok_or(StoreError::NotFound)
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite

pub(crate) struct SqliteConn {
    conn: rusqlite::Connection,
    /// `$N` → `?N`: SQLite numbers `$1` by order of appearance, `?1` by its digits.
    translated: HashMap<String, Arc<str>>,
}

impl SqliteConn {
    pub(crate) fn open(path: &std::path::Path, writer: bool) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(sqlite_err)?;
        conn.set_prepared_statement_cache_capacity(512);
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite_err)?;
        // WAL: readers never block the writer. synchronous=FULL: a commit is on disk before
        // it returns, so an acknowledged webhook survives power loss, not just a crash.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; \
             PRAGMA mmap_size=1073741824;",
        )
        .map_err(sqlite_err)?;
        // A page cache big enough for the hot indexes (64 MiB for the writer, 16 for readers).
        // The writer never checkpoints the WAL itself: a checkpointer thread does, off the
        // commit path (see `pool.rs`).
        conn.execute_batch(if writer {
            "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=0;"
        } else {
            "PRAGMA cache_size=-16384;"
        })
        .map_err(sqlite_err)?;
        if !writer {
            conn.execute_batch("PRAGMA query_only=ON;")
                .map_err(sqlite_err)?;
        }
        Ok(SqliteConn {
            conn,
            translated: HashMap::new(),
        })
    }

    fn translate(&mut self, sql: &str) -> Arc<str> {
        if let Some(t) = self.translated.get(sql) {
            return t.clone();
        }
        // `$` before a digit is a placeholder; any other (a JSON path such as '$.a.b') stays.
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                out.push('?');
            } else {
                out.push(ch);
            }
        }
        let t: Arc<str> = out.into();
        if self.translated.len() < 4096 {
            self.translated.insert(sql.to_owned(), t.clone());
        }
        t
    }
}

fn sqlite_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && f.code == rusqlite::ErrorCode::ConstraintViolation
    {
        return StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()));
    }
    StoreError::Backend(e.to_string())
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(*b as i64)),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl Conn for SqliteConn {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let sql = self.translate(sql);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(sqlite_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(sqlite_err)?;
        Ok(n as u64)
    }
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let sql = self.translate(sql);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(sqlite_err)?;
        let cols = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(sqlite_err)?;
        // One row buffer, refilled in place: a text column reuses the string it held in the
        // row before, so a long read allocates next to nothing per row.
        let mut row = Row(vec![Value::Null; cols]);
        while let Some(r) = rows.next().map_err(sqlite_err)? {
            for (i, slot) in row.0.iter_mut().enumerate() {
                let v = r.get_ref(i).map_err(sqlite_err)?;
                match (slot, v) {
                    (Value::Text(s), rusqlite::types::ValueRef::Text(t)) => {
                        s.clear();
                        s.push_str(&String::from_utf8_lossy(t));
                    }
                    (slot, v) => *slot = sqlite_value(v),
                }
            }
            f(&row)?;
        }
        Ok(())
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(sqlite_err)
    }
    fn is_broken(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

pub(crate) struct PgConn {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl PgConn {
    pub(crate) fn open(url: &str) -> Result<Self, StoreError> {
        let client = postgres::Client::connect(url, postgres::NoTls).map_err(pg_err)?;
        Ok(PgConn {
            client,
            statements: HashMap::new(),
        })
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(pg_err)?;
        if self.statements.len() < 4096 {
            self.statements.insert(sql.to_owned(), s.clone());
        }
        Ok(s)
    }
}

fn pg_err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        use postgres::error::SqlState;
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict(db.message().to_owned());
        }
        if *db.code() == SqlState::T_R_DEADLOCK_DETECTED
            || *db.code() == SqlState::T_R_SERIALIZATION_FAILURE
        {
            return StoreError::Contention(db.message().to_owned());
        }
        if *db.code() == SqlState::CHARACTER_NOT_IN_REPERTOIRE {
            // U+0000 in text: PostgreSQL cannot store it. The API refuses it first; this is the
            // backstop, so it is a refusal, not a server error.
            return StoreError::Invalid("text must not contain NUL characters".into());
        }
        return StoreError::Backend(format!("{}: {}", db.code().code(), db.message()));
    }
    // Connection errors say little at the top ("error connecting to server"): add the causes.
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
        source = cause.source();
    }
    StoreError::Backend(msg)
}

mod pg_types {
    use super::{PG_EPOCH_MICROS, Value};
    use bytes::{BufMut, BytesMut};
    use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
    use std::error::Error;

    type BoxErr = Box<dyn Error + Sync + Send>;

    impl ToSql for Value {
        fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxErr> {
            match self {
                Value::Null => Ok(IsNull::Yes),
                Value::Int(v) => match *ty {
                    Type::INT8 => v.to_sql(ty, out),
                    Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                    Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                    Type::TIMESTAMPTZ | Type::TIMESTAMP => {
                        out.put_i64(v - PG_EPOCH_MICROS);
                        Ok(IsNull::No)
                    }
                    Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                    Type::BOOL => (*v != 0).to_sql(ty, out),
                    Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                    _ => Err(format!("cannot bind an integer to a {ty} parameter").into()),
                },
                Value::Real(v) => match *ty {
                    Type::FLOAT8 => v.to_sql(ty, out),
                    Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                    _ => Err(format!("cannot bind a float to a {ty} parameter").into()),
                },
                Value::Bool(b) => match *ty {
                    Type::BOOL => b.to_sql(ty, out),
                    Type::INT8 => (*b as i64).to_sql(ty, out),
                    Type::INT4 => (*b as i32).to_sql(ty, out),
                    _ => Err(format!("cannot bind a boolean to a {ty} parameter").into()),
                },
                Value::Text(s) => match *ty {
                    Type::UUID => {
                        out.put_slice(uuid::Uuid::try_parse(s)?.as_bytes());
                        Ok(IsNull::No)
                    }
                    Type::JSONB => {
                        out.put_u8(1);
                        out.put_slice(s.as_bytes());
                        Ok(IsNull::No)
                    }
                    Type::BYTEA => s.as_bytes().to_sql(ty, out),
                    _ => {
                        out.put_slice(s.as_bytes());
                        Ok(IsNull::No)
                    }
                },
                Value::Blob(b) => b.as_slice().to_sql(&Type::BYTEA, out),
            }
        }
        fn accepts(_: &Type) -> bool {
            true
        }
        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for Value {
        fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxErr> {
            Ok(match *ty {
                Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
                Type::INT4 => Value::Int(i32::from_sql(ty, raw)? as i64),
                Type::INT2 => Value::Int(i16::from_sql(ty, raw)? as i64),
                Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
                Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)? as f64),
                Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
                Type::TIMESTAMPTZ | Type::TIMESTAMP => {
                    Value::Int(i64::from_sql(&Type::INT8, raw)? + PG_EPOCH_MICROS)
                }
                Type::UUID => Value::Text(uuid::Uuid::from_slice(raw)?.hyphenated().to_string()),
                Type::JSONB => {
                    Value::Text(std::str::from_utf8(raw.get(1..).unwrap_or_default())?.to_owned())
                }
                Type::BYTEA => Value::Blob(raw.to_vec()),
                _ => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            })
        }
        fn from_sql_null(_: &Type) -> Result<Self, BoxErr> {
            Ok(Value::Null)
        }
        fn accepts(_: &Type) -> bool {
            true
        }
    }
}

impl Conn for PgConn {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            params.iter().map(|p| p as _).collect();
        self.client.execute(&stmt, &refs).map_err(pg_err)
    }
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let stmt = self.statement(sql)?;
        let mut rows = self
            .client
            .query_raw(&stmt, params.iter())
            .map_err(pg_err)?;
        let mut row = Row(Vec::with_capacity(stmt.columns().len()));
        while let Some(r) = rows.next().map_err(pg_err)? {
            row.0.clear();
            for i in 0..r.len() {
                row.0.push(r.try_get::<_, Value>(i).map_err(pg_err)?);
            }
            f(&row)?;
        }
        Ok(())
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).map_err(pg_err)
    }
    fn is_broken(&self) -> bool {
        self.client.is_closed()
    }
}
