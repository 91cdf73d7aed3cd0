//! A whole workspace as JSON Lines, out of one engine and into another (`switchboard export`
//! and `switchboard import`).
//!
//! Nothing here names a table: tables, columns, primary keys and foreign keys are read from the
//! database's catalog, so whatever a later migration adds moves too. Left out: the migration
//! record (the header carries its highest version instead, and an import needs the same),
//! log-in sessions, and SQLite's full-text index (the FTS5 table and its shadow tables), which
//! the triggers on `messages` rebuild as the messages arrive (PostgreSQL's is an index).
//!
//! The file: a header line, then one line per row, tables in an order that satisfies their
//! foreign keys, then an end line with the number of rows, so a cut-off file is detected:
//!
//! ```text
//! {"switchboard_export":1,"schema_version":15,"source":"sqlite","exported_at":"2026-…Z"}
//! {"table":"users","row":{"id":"0199…","username":"ann","active":1,…}}
//! {"end":true,"rows":1234}
//! ```
//!
//! Values are the same whichever engine wrote them: integers (times in microseconds since the
//! Unix epoch; booleans as 0 or 1, since SQLite cannot tell them from integers), floats, text
//! (UUIDs, and JSON documents as their text), null, and `{"base64": "…"}` for bytes. A JSON
//! document read from PostgreSQL's `jsonb` is in PostgreSQL's spelling (keys in its order, a
//! space after `:` and `,`): the same document, not the same characters as SQLite kept.
//!
//! An import goes into a migrated database that holds no rows, in one transaction of the
//! writer: any bad line (reported with its number) leaves nothing behind.

use crate::sql::{Backend, Conn, Row, Value};
use crate::{Store, StoreError};
use base64::Engine as _;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use switchboard_core::Timestamp;

/// The version of the file format, in the header's `switchboard_export`.
pub const EXPORT_FORMAT: i64 = 1;

/// Tables that do not move: the migration record (the header's `schema_version` stands for
/// it) and log-in sessions.
const NOT_EXPORTED: &[&str] = &["schema_migrations", "sessions"];

/// Rows read per query when exporting.
const PAGE: usize = 1000;
/// Rows inserted per statement when importing, and the most parameters one statement binds.
const BATCH_ROWS: usize = 100;
const BATCH_PARAMS: usize = 30_000;

/// Rows moved, per table (in the file's order) and in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferSummary {
    pub tables: Vec<(String, u64)>,
    pub rows: u64,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export")]
    Write(#[from] std::io::Error),
}

impl Store {
    /// Writes every row of the workspace to `out` as JSON Lines (the format is described in
    /// `store/src/export.rs`), all read in one snapshot, and flushes it. Runs on a reader
    /// thread for as long as it takes.
    pub async fn export_data(
        &self,
        out: Box<dyn Write + Send>,
        exported_at: Timestamp,
    ) -> Result<TransferSummary, ExportError> {
        self.pool
            .read(move |c| {
                let mut out = out;
                Ok(export(c, &mut *out, exported_at))
            })
            .await?
    }

    /// Loads a file written by [`Store::export_data`] into this database, which must be
    /// migrated to the file's schema version and hold no rows. One transaction: on any error
    /// (`StoreError::Invalid` naming the line and the problem) nothing is stored.
    pub async fn import_data(
        &self,
        input: Box<dyn BufRead + Send>,
    ) -> Result<TransferSummary, StoreError> {
        self.pool
            .write(move |c| {
                let mut input = input;
                import(c, &mut *input)
            })
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// The catalog

/// What a column holds, as far as moving it is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Integer,
    Real,
    Boolean,
    Timestamp,
    Text,
    Uuid,
    Json,
    Blob,
    /// A PostgreSQL type [`Value`] does not read (e.g. `numeric`, arrays): moved as its text
    /// form and cast back to this type (the catalog's `udt_name`).
    PgText(String),
    /// SQLite, no declared type that says more.
    Any,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
    /// PostgreSQL: filled from a sequence (serial or identity), reset after an import.
    sequence: bool,
    /// PostgreSQL: an identity column, which takes a value only with OVERRIDING SYSTEM VALUE.
    identity: bool,
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<Column>,
    /// The primary key's columns, in key order (indexes into `columns`).
    key: Vec<usize>,
    /// Foreign keys: (column index, referenced table).
    refs: Vec<(usize, String)>,
}

impl Table {
    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// The tables that move, in an order where each comes after the tables it references (ties by
/// name; a table in a cycle other than with itself comes after the others, alphabetically).
fn catalog(c: &mut dyn Conn) -> Result<Vec<Table>, StoreError> {
    let tables = match c.backend() {
        Backend::Sqlite => sqlite_catalog(c)?,
        Backend::Postgres => pg_catalog(c)?,
    };
    Ok(in_reference_order(tables))
}

fn sqlite_catalog(c: &mut dyn Conn) -> Result<Vec<Table>, StoreError> {
    // Virtual tables (FTS5) and their shadow tables have their own types here.
    let names: Vec<String> = c
        .query(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
            &[],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    let mut tables = Vec::new();
    for name in names {
        if NOT_EXPORTED.contains(&name.as_str()) {
            continue;
        }
        let mut columns = Vec::new();
        let mut key = Vec::new();
        for (i, r) in c
            .query(
                "SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid",
                &[Value::Text(name.clone())],
            )?
            .iter()
            .enumerate()
        {
            columns.push(Column {
                name: r.text(0)?,
                kind: sqlite_kind(&r.opt_text(1)?.unwrap_or_default()),
                sequence: false,
                identity: false,
            });
            let pk = r.int(2)?;
            if pk > 0 {
                key.push((pk, i));
            }
        }
        key.sort_unstable();
        let mut table = Table {
            name: name.clone(),
            columns,
            key: key.into_iter().map(|(_, i)| i).collect(),
            refs: Vec::new(),
        };
        for r in c.query(
            "SELECT \"from\", \"table\" FROM pragma_foreign_key_list($1)",
            &[Value::Text(name)],
        )? {
            if let Some(col) = table.column(&r.text(0)?) {
                table.refs.push((col, r.text(1)?));
            }
        }
        tables.push(table);
    }
    Ok(tables)
}

/// SQLite's type affinity rules, read from a declared type.
fn sqlite_kind(declared: &str) -> Kind {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Kind::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Kind::Text
    } else if t.contains("BLOB") {
        Kind::Blob
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Kind::Real
    } else if t.contains("BOOL") {
        Kind::Boolean
    } else {
        Kind::Any
    }
}

fn pg_kind(data_type: &str, udt_name: &str) -> Kind {
    match data_type {
        "bigint" | "integer" | "smallint" => Kind::Integer,
        "double precision" | "real" => Kind::Real,
        "boolean" => Kind::Boolean,
        "timestamp with time zone" | "timestamp without time zone" => Kind::Timestamp,
        "text" | "character varying" | "character" => Kind::Text,
        "uuid" => Kind::Uuid,
        "jsonb" | "json" => Kind::Json,
        "bytea" => Kind::Blob,
        _ => Kind::PgText(udt_name.to_owned()),
    }
}

fn pg_catalog(c: &mut dyn Conn) -> Result<Vec<Table>, StoreError> {
    let mut tables: Vec<Table> = Vec::new();
    for r in c.query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.udt_name::text, \
                c.is_identity::text, c.column_default::text, c.is_generated::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
        &[],
    )? {
        let table = r.text(0)?;
        if NOT_EXPORTED.contains(&table.as_str()) {
            continue;
        }
        // A generated column is computed, never written.
        if r.opt_text(6)?.as_deref() == Some("ALWAYS") {
            continue;
        }
        let identity = r.opt_text(4)?.as_deref() == Some("YES");
        let serial = r.opt_text(5)?.is_some_and(|d| d.starts_with("nextval("));
        let column = Column {
            name: r.text(1)?,
            kind: pg_kind(&r.text(2)?, &r.text(3)?),
            sequence: identity || serial,
            identity,
        };
        match tables.last_mut() {
            Some(t) if t.name == table => t.columns.push(column),
            _ => tables.push(Table {
                name: table,
                columns: vec![column],
                key: Vec::new(),
                refs: Vec::new(),
            }),
        }
    }
    let by_name: HashMap<String, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    for r in c.query(
        "SELECT tc.table_name::text, k.column_name::text \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage k \
           ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name \
          AND k.table_name = tc.table_name \
         WHERE tc.table_schema = 'public' AND tc.constraint_type = 'PRIMARY KEY' \
         ORDER BY tc.table_name, k.ordinal_position",
        &[],
    )? {
        if let Some(t) = by_name.get(&r.text(0)?).and_then(|&i| tables.get_mut(i))
            && let Some(col) = t.column(&r.text(1)?)
        {
            t.key.push(col);
        }
    }
    for r in c.query(
        "SELECT src.relname::text, a.attname::text, dst.relname::text \
         FROM pg_constraint k \
         JOIN pg_class src ON src.oid = k.conrelid \
         JOIN pg_namespace n ON n.oid = src.relnamespace \
         JOIN pg_class dst ON dst.oid = k.confrelid \
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) \
         WHERE k.contype = 'f' AND n.nspname = 'public' \
         ORDER BY 1, 2",
        &[],
    )? {
        if let Some(t) = by_name.get(&r.text(0)?).and_then(|&i| tables.get_mut(i))
            && let Some(col) = t.column(&r.text(1)?)
        {
            t.refs.push((col, r.text(2)?));
        }
    }
    Ok(tables)
}

/// A topological sort by foreign keys. References to the table itself, or to a table not
/// moved, do not count; a cycle is broken at its alphabetically first table.
fn in_reference_order(mut tables: Vec<Table>) -> Vec<Table> {
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let known: HashSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let next = tables
            .iter()
            .position(|t| {
                t.refs
                    .iter()
                    .all(|(_, to)| *to == t.name || placed.contains(to) || !known.contains(to))
            })
            .unwrap_or(0);
        let t = tables.remove(next);
        placed.insert(t.name.clone());
        out.push(t);
    }
    out
}

/// For each table (in `tables`' order), the columns an import fills only once every row is in:
/// references to the table itself (`cases.merged_into`) or to a table that comes later.
fn later_columns(tables: &[Table]) -> Vec<Vec<usize>> {
    let position: HashMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut cols: Vec<usize> = t
                .refs
                .iter()
                .filter(|(_, to)| position.get(to.as_str()).is_some_and(|&p| p >= i))
                .map(|(col, _)| *col)
                .collect();
            cols.sort_unstable();
            cols.dedup();
            cols
        })
        .collect()
}

fn schema_version(c: &mut dyn Conn) -> Result<i64, StoreError> {
    c.query_one("SELECT MAX(version) FROM schema_migrations", &[])?
        .opt_int(0)?
        .ok_or_else(|| StoreError::Invalid("the database is not migrated".into()))
}

/// `name` as an SQL identifier (both engines take double quotes).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The placeholder `$n` for a value of `col` (cast back from text for the types moved as
/// text).
fn placeholder(col: &Column, n: usize) -> String {
    match &col.kind {
        Kind::PgText(udt) => format!("CAST(${n} AS text)::{}", quoted(udt)),
        _ => format!("${n}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Export

fn export(
    c: &mut dyn Conn,
    out: &mut dyn Write,
    exported_at: Timestamp,
) -> Result<TransferSummary, ExportError> {
    // One snapshot for every table, so the file is one consistent moment.
    c.batch(match c.backend() {
        Backend::Sqlite => "BEGIN",
        Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    })?;
    let result = export_snapshot(c, out, exported_at);
    let ended = c.batch("ROLLBACK");
    let summary = result?;
    ended?;
    Ok(summary)
}

fn export_snapshot(
    c: &mut dyn Conn,
    out: &mut dyn Write,
    exported_at: Timestamp,
) -> Result<TransferSummary, ExportError> {
    let version = schema_version(c)?;
    let tables = catalog(c)?;
    let source = match c.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let mut line = Vec::with_capacity(4096);
    line.extend_from_slice(format!("{{\"switchboard_export\":{EXPORT_FORMAT},\"schema_version\":{version},\"source\":\"{source}\",\"exported_at\":").as_bytes());
    serde_json::to_writer(&mut line, &exported_at.to_rfc3339()).map_err(std::io::Error::from)?;
    line.extend_from_slice(b"}\n");
    out.write_all(&line)?;
    let mut summary = TransferSummary::default();
    for table in &tables {
        let n = export_table(c, table, out, &mut line)?;
        summary.tables.push((table.name.clone(), n));
        summary.rows += n;
    }
    out.write_all(format!("{{\"end\":true,\"rows\":{}}}\n", summary.rows).as_bytes())?;
    out.flush()?;
    Ok(summary)
}

/// Writes one table's rows, a page at a time in primary key order; returns how many.
fn export_table(
    c: &mut dyn Conn,
    table: &Table,
    out: &mut dyn Write,
    line: &mut Vec<u8>,
) -> Result<u64, ExportError> {
    let select = table
        .columns
        .iter()
        .map(|col| match col.kind {
            Kind::PgText(_) => format!("{}::text", quoted(&col.name)),
            _ => quoted(&col.name),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let from = format!("SELECT {select} FROM {}", quoted(&table.name));
    let mut prefix = b"{\"table\":".to_vec();
    serde_json::to_writer(&mut prefix, &table.name).map_err(std::io::Error::from)?;
    prefix.extend_from_slice(b",\"row\":{");
    let names: Vec<Vec<u8>> = table
        .columns
        .iter()
        .map(|col| serde_json::to_vec(&col.name))
        .collect::<Result<_, _>>()
        .map_err(std::io::Error::from)?;

    let mut written = 0;
    let mut last: Option<Vec<Value>> = None;
    loop {
        let rows = if table.key.is_empty() {
            // No key to page by: the whole table at once.
            c.query(&from, &[])?
        } else {
            let order = table
                .key
                .iter()
                .map(|&i| quoted(&table.columns[i].name))
                .collect::<Vec<_>>()
                .join(", ");
            match &last {
                None => c.query(&format!("{from} ORDER BY {order} LIMIT {PAGE}"), &[])?,
                Some(after) => {
                    let marks = table
                        .key
                        .iter()
                        .enumerate()
                        .map(|(n, &i)| placeholder(&table.columns[i], n + 1))
                        .collect::<Vec<_>>()
                        .join(", ");
                    c.query(
                        &format!(
                            "{from} WHERE ({order}) > ({marks}) ORDER BY {order} LIMIT {PAGE}"
                        ),
                        after,
                    )?
                }
            }
        };
        let full = !table.key.is_empty() && rows.len() == PAGE;
        for row in &rows {
            line.clear();
            line.extend_from_slice(&prefix);
            for (i, (col, value)) in table.columns.iter().zip(&row.0).enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(&names[i]);
                line.push(b':');
                write_value(line, col, value)?;
            }
            line.extend_from_slice(b"}}\n");
            out.write_all(line)?;
            written += 1;
        }
        if !full {
            return Ok(written);
        }
        last = rows.last().map(|r| key_of(table, r));
    }
}

fn key_of(table: &Table, row: &Row) -> Vec<Value> {
    table
        .key
        .iter()
        .map(|&i| row.0.get(i).cloned().unwrap_or(Value::Null))
        .collect()
}

/// One value, engine-neutral (see the module's documentation).
fn write_value(out: &mut Vec<u8>, col: &Column, value: &Value) -> std::io::Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Int(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Value::Bool(b) => out.push(if *b { b'1' } else { b'0' }),
        Value::Real(v) if v.is_finite() => serde_json::to_writer(&mut *out, v)?,
        Value::Real(v) => {
            let name = if v.is_nan() {
                "NaN"
            } else if *v > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            out.extend_from_slice(format!("{{\"real\":\"{name}\"}}").as_bytes());
        }
        // SQLite keeps what it was given: text in a BLOB column is still bytes.
        Value::Text(s) if col.kind == Kind::Blob => write_blob(out, s.as_bytes()),
        Value::Text(s) => serde_json::to_writer(&mut *out, s)?,
        Value::Blob(b) => write_blob(out, b),
    }
    Ok(())
}

fn write_blob(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(b"{\"base64\":\"");
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .as_bytes(),
    );
    out.extend_from_slice(b"\"}");
}

// ---------------------------------------------------------------------------------------------
// Import

fn refused(line: u64, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("line {line}: {problem}"))
}

/// serde's message without its position (always line 1: the file's line number says more).
fn not_json(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let what = message.split(" at line ").next().unwrap_or(&message);
    format!("not valid JSON at column {}: {what}", e.column())
}

/// Rows of one table with the same columns, waiting to be inserted together.
struct Batch {
    table: usize,
    cols: Vec<usize>,
    rows: Vec<(u64, Vec<Value>)>,
}

/// A column left NULL at insert, set once every row is in.
struct Later {
    line: u64,
    table: usize,
    col: usize,
    value: Value,
    key: Vec<Value>,
}

fn import(c: &mut dyn Conn, input: &mut dyn BufRead) -> Result<TransferSummary, StoreError> {
    let backend = c.backend();
    let mut text = String::new();
    let mut number: u64 = 0;
    // The next line that is not blank, with its number; None at the end of the file.
    let mut next_line = |text: &mut String| -> Result<Option<u64>, StoreError> {
        loop {
            text.clear();
            number += 1;
            match input.read_line(text) {
                Ok(0) => return Ok(None),
                Ok(_) if text.trim().is_empty() => continue,
                Ok(_) => return Ok(Some(number)),
                Err(e) => return Err(refused(number, format!("cannot read it: {e}"))),
            }
        }
    };

    // The header.
    let Some(first) = next_line(&mut text)? else {
        return Err(refused(
            1,
            "the file is empty: a Switchboard export starts with its header line",
        ));
    };
    let not_header = || {
        refused(
            first,
            "not a Switchboard export: the first line must be the header \
             {\"switchboard_export\": 1, \"schema_version\": …}",
        )
    };
    let header: serde_json::Value = serde_json::from_str(&text).map_err(|_| not_header())?;
    let format = header
        .get("switchboard_export")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(not_header)?;
    if format != EXPORT_FORMAT {
        return Err(refused(
            first,
            format!("export format {format}; this switchboard reads format {EXPORT_FORMAT}"),
        ));
    }
    let version = header
        .get("schema_version")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| refused(first, "the header has no schema_version"))?;
    let ours = schema_version(c)?;
    if version != ours {
        return Err(refused(
            first,
            format!(
                "the export is of schema version {version} but this database is at version \
                 {ours}; import it with a switchboard release at schema version {version}, \
                 then upgrade"
            ),
        ));
    }

    let tables = catalog(c)?;
    for t in &tables {
        if c.query_opt(&format!("SELECT 1 FROM {} LIMIT 1", quoted(&t.name)), &[])?
            .is_some()
        {
            return Err(StoreError::Invalid(format!(
                "the database is not empty (table {} has rows): import only into a new database",
                t.name
            )));
        }
    }
    let by_name: HashMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let later_cols = later_columns(&tables);

    let mut counts = vec![0u64; tables.len()];
    let mut total: u64 = 0;
    let mut batch: Option<Batch> = None;
    let mut later: Vec<Later> = Vec::new();
    let mut ended = false;
    while let Some(n) = next_line(&mut text)? {
        if ended {
            return Err(refused(n, "a line after the end line"));
        }
        let parsed: serde_json::Value =
            serde_json::from_str(text.trim_end()).map_err(|e| refused(n, not_json(&e)))?;
        let serde_json::Value::Object(mut line) = parsed else {
            return Err(refused(n, "not a JSON object"));
        };
        if let Some(end) = line.get("end") {
            if end != &serde_json::Value::Bool(true) {
                return Err(refused(n, "\"end\" must be true"));
            }
            let said = line
                .get("rows")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| refused(n, "the end line has no \"rows\" count"))?;
            if said != total {
                return Err(refused(
                    n,
                    format!(
                        "the end line counts {said} rows but {total} came before it: \
                         the file is incomplete or was edited"
                    ),
                ));
            }
            ended = true;
            continue;
        }
        let table_name = match line.get("table") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(_) => return Err(refused(n, "\"table\" must be a string")),
            None => {
                return Err(refused(
                    n,
                    "neither a row ({\"table\": …, \"row\": {…}}) nor the end line",
                ));
            }
        };
        let Some(&ti) = by_name.get(table_name.as_str()) else {
            return Err(refused(n, format!("unknown table {table_name:?}")));
        };
        let table = &tables[ti];
        let Some(serde_json::Value::Object(row)) = line.remove("row") else {
            return Err(refused(n, "\"row\" must be an object of column values"));
        };
        let mut values: Vec<(usize, Value)> = Vec::with_capacity(row.len());
        for (name, json) in row {
            let Some(ci) = table.column(&name) else {
                return Err(refused(
                    n,
                    format!("table {} has no column {name:?}", table.name),
                ));
            };
            let col = &table.columns[ci];
            let value = value_of(json, col)
                .map_err(|e| refused(n, format!("{}.{}: {e}", table.name, col.name)))?;
            values.push((ci, value));
        }
        values.sort_by_key(|(ci, _)| *ci);
        if later_cols[ti]
            .iter()
            .any(|ci| values.iter().any(|(c, v)| c == ci && *v != Value::Null))
        {
            let mut key = Vec::with_capacity(table.key.len());
            for ki in &table.key {
                match values.iter().find(|(c, _)| c == ki) {
                    Some((_, v)) => key.push(v.clone()),
                    None => {
                        return Err(refused(
                            n,
                            format!(
                                "the row has no {} (part of the primary key of {})",
                                table.columns[*ki].name, table.name
                            ),
                        ));
                    }
                }
            }
            if key.is_empty() {
                return Err(refused(
                    n,
                    format!(
                        "table {} has no primary key, so its references to rows not yet \
                         imported cannot be set",
                        table.name
                    ),
                ));
            }
            for (ci, v) in values.iter_mut() {
                if later_cols[ti].contains(ci) && *v != Value::Null {
                    later.push(Later {
                        line: n,
                        table: ti,
                        col: *ci,
                        value: std::mem::replace(v, Value::Null),
                        key: key.clone(),
                    });
                }
            }
        }
        let cols: Vec<usize> = values.iter().map(|(ci, _)| *ci).collect();
        let fits = batch.as_ref().is_some_and(|b| {
            b.table == ti
                && b.cols == cols
                && b.rows.len() < BATCH_ROWS
                && (b.rows.len() + 1) * cols.len() <= BATCH_PARAMS
        });
        if !fits {
            if let Some(b) = batch.take() {
                insert(c, &tables, &b)?;
            }
            batch = Some(Batch {
                table: ti,
                cols,
                rows: Vec::new(),
            });
        }
        if let Some(b) = batch.as_mut() {
            b.rows
                .push((n, values.into_iter().map(|(_, v)| v).collect()));
        }
        counts[ti] += 1;
        total += 1;
    }
    if !ended {
        return Err(refused(
            number.saturating_sub(1).max(1),
            format!(
                "the file ends here, after {total} rows, without its end line \
                 ({{\"end\": true, \"rows\": …}}): it is cut off"
            ),
        ));
    }
    if let Some(b) = batch.take() {
        insert(c, &tables, &b)?;
    }
    for l in &later {
        set_later(c, &tables[l.table], l)?;
    }
    if backend == Backend::Postgres {
        reset_sequences(c, &tables)?;
    }
    Ok(TransferSummary {
        tables: tables
            .iter()
            .zip(counts)
            .map(|(t, n)| (t.name.clone(), n))
            .collect(),
        rows: total,
    })
}

/// A JSON value of the file as a value for `col`, refused if it is of the wrong sort for the
/// column's type: PostgreSQL would misread it (it binds by type), SQLite would keep it and the
/// store could not read it back.
fn value_of(json: serde_json::Value, col: &Column) -> Result<Value, String> {
    use serde_json::Value as J;
    let value = match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None if n.is_u64() => return Err(format!("{n} is too large for an integer")),
            None => Value::Real(n.as_f64().ok_or_else(|| format!("{n} is not a number"))?),
        },
        J::String(s) => Value::Text(s),
        J::Object(o) if o.len() == 1 => match o.into_iter().next() {
            Some((k, J::String(s))) if k == "base64" => Value::Blob(
                base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| format!("bad base64: {e}"))?,
            ),
            Some((k, J::String(s))) if k == "real" => Value::Real(match s.as_str() {
                "NaN" => f64::NAN,
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => return Err(format!("{s:?} is not NaN, inf or -inf")),
            }),
            _ => return Err("an object must be {\"base64\": \"…\"} or {\"real\": \"…\"}".into()),
        },
        J::Object(_) | J::Array(_) => {
            return Err(
                "a value is a number, a string, true, false, null or {\"base64\": \"…\"}".into(),
            );
        }
    };
    if value == Value::Null {
        return Ok(value);
    }
    let fits = match (&col.kind, &value) {
        (Kind::Integer, Value::Int(_) | Value::Bool(_)) => true,
        (Kind::Timestamp, Value::Int(_)) => true,
        (Kind::Boolean, Value::Bool(_)) => true,
        (Kind::Boolean, Value::Int(i)) => *i == 0 || *i == 1,
        (Kind::Real, Value::Int(_) | Value::Real(_)) => true,
        (Kind::Text, Value::Text(_) | Value::Int(_)) => true,
        (Kind::Uuid | Kind::Json | Kind::PgText(_), Value::Text(_)) => true,
        (Kind::Blob, Value::Blob(_) | Value::Text(_)) => true,
        (Kind::Any, _) => true,
        _ => false,
    };
    if fits {
        Ok(value)
    } else {
        let wanted = match &col.kind {
            Kind::Integer => "an integer",
            Kind::Timestamp => "an integer (microseconds since 1970)",
            Kind::Boolean => "0, 1, true or false",
            Kind::Real => "a number",
            Kind::Text | Kind::Uuid | Kind::Json | Kind::PgText(_) => "a string",
            Kind::Blob => "{\"base64\": \"…\"}",
            Kind::Any => "a value",
        };
        Err(format!("expected {wanted}"))
    }
}

fn insert_sql(table: &Table, cols: &[usize], rows: usize) -> String {
    let names = cols
        .iter()
        .map(|&i| quoted(&table.columns[i].name))
        .collect::<Vec<_>>()
        .join(", ");
    let overriding = if cols.iter().any(|&i| table.columns[i].identity) {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    if cols.is_empty() {
        return format!("INSERT INTO {} DEFAULT VALUES", quoted(&table.name));
    }
    let mut n = 0;
    let tuples = (0..rows)
        .map(|_| {
            let marks = cols
                .iter()
                .map(|&i| {
                    n += 1;
                    placeholder(&table.columns[i], n)
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("({marks})")
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {} ({names}){overriding} VALUES {tuples}",
        quoted(&table.name)
    )
}

/// Inserts a batch in one statement; if that fails, finds the row that fails and names its
/// line.
fn insert(c: &mut dyn Conn, tables: &[Table], b: &Batch) -> Result<(), StoreError> {
    let table = &tables[b.table];
    if b.cols.is_empty() {
        for (line, _) in &b.rows {
            c.execute(&insert_sql(table, &[], 1), &[])
                .map_err(|e| refused(*line, format!("{}: {e}", table.name)))?;
        }
        return Ok(());
    }
    let params: Vec<Value> = b.rows.iter().flat_map(|(_, r)| r.iter().cloned()).collect();
    c.batch("SAVEPOINT sb_import")?;
    let Err(all) = c.execute(&insert_sql(table, &b.cols, b.rows.len()), &params) else {
        return c.batch("RELEASE SAVEPOINT sb_import");
    };
    c.batch("ROLLBACK TO SAVEPOINT sb_import")?;
    for (line, row) in &b.rows {
        c.batch("SAVEPOINT sb_import_row")?;
        if let Err(e) = c.execute(&insert_sql(table, &b.cols, 1), row) {
            return Err(refused(*line, format!("{}: {e}", table.name)));
        }
        c.batch("RELEASE SAVEPOINT sb_import_row")?;
    }
    // Each row went in alone: what failed was the rows together.
    Err(refused(
        b.rows.first().map_or(0, |(l, _)| *l),
        format!(
            "{} (with the {} rows after it): {all}",
            table.name,
            b.rows.len().saturating_sub(1)
        ),
    ))
}

fn set_later(c: &mut dyn Conn, table: &Table, l: &Later) -> Result<(), StoreError> {
    let col = &table.columns[l.col];
    let mut params = vec![l.value.clone()];
    let matches = table
        .key
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let k = &table.columns[i];
            format!("{} = {}", quoted(&k.name), placeholder(k, n + 2))
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    params.extend(l.key.iter().cloned());
    c.execute(
        &format!(
            "UPDATE {} SET {} = {} WHERE {matches}",
            quoted(&table.name),
            quoted(&col.name),
            placeholder(col, 1)
        ),
        &params,
    )
    .map_err(|e| refused(l.line, format!("{}.{}: {e}", table.name, col.name)))?;
    Ok(())
}

/// PostgreSQL: each serial or identity column's sequence continues after the largest value
/// imported (SQLite's AUTOINCREMENT keeps track by itself).
fn reset_sequences(c: &mut dyn Conn, tables: &[Table]) -> Result<(), StoreError> {
    for t in tables {
        for col in t.columns.iter().filter(|col| col.sequence) {
            let max = c
                .query_one(
                    &format!("SELECT MAX({}) FROM {}", quoted(&col.name), quoted(&t.name)),
                    &[],
                )?
                .opt_int(0)?;
            if let Some(max) = max {
                c.query(
                    "SELECT setval(pg_get_serial_sequence($1, $2), $3)",
                    &[
                        Value::Text(quoted(&t.name)),
                        Value::Text(col.name.clone()),
                        Value::Int(max),
                    ],
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn table(name: &str, refs: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: vec![Column {
                name: "id".into(),
                kind: Kind::Text,
                sequence: false,
                identity: false,
            }],
            key: vec![0],
            refs: refs.iter().map(|r| (0, (*r).to_owned())).collect(),
        }
    }

    fn names(tables: &[Table]) -> Vec<&str> {
        tables.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn tables_come_after_the_tables_they_reference() {
        let order = in_reference_order(vec![
            table("messages", &["cases", "channels"]),
            table("cases", &["cases", "teams", "contacts"]),
            table("teams", &["teams"]),
            table("contacts", &["contacts"]),
            table("channels", &[]),
            table("notes", &["elsewhere"]),
        ]);
        assert_eq!(
            names(&order),
            [
                "channels", "contacts", "notes", "teams", "cases", "messages"
            ]
        );
        // Only references to the table itself wait for the end.
        let later = later_columns(&order);
        assert_eq!(later[0], Vec::<usize>::new());
        assert_eq!(later[4], vec![0]);
        assert_eq!(later[5], Vec::<usize>::new());
    }

    #[test]
    fn a_cycle_is_broken_and_its_back_reference_set_later() {
        let order = in_reference_order(vec![table("b", &["a"]), table("a", &["b"])]);
        assert_eq!(names(&order), ["a", "b"]);
        assert_eq!(later_columns(&order), [vec![0], vec![]]);
    }

    #[test]
    fn declared_types_are_read_as_sqlite_does() {
        assert_eq!(sqlite_kind("INTEGER"), Kind::Integer);
        assert_eq!(sqlite_kind("BIGINT"), Kind::Integer);
        assert_eq!(sqlite_kind("TEXT"), Kind::Text);
        assert_eq!(sqlite_kind("BLOB"), Kind::Blob);
        assert_eq!(sqlite_kind("REAL"), Kind::Real);
        assert_eq!(sqlite_kind("BOOLEAN"), Kind::Boolean);
        assert_eq!(sqlite_kind(""), Kind::Any);
    }

    fn col(kind: Kind) -> Column {
        Column {
            name: "c".into(),
            kind,
            sequence: false,
            identity: false,
        }
    }

    fn written(kind: Kind, v: Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, &col(kind), &v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_written_the_same_from_either_engine() {
        assert_eq!(written(Kind::Boolean, Value::Bool(true)), "1");
        assert_eq!(written(Kind::Integer, Value::Int(1)), "1");
        assert_eq!(written(Kind::Real, Value::Real(1.0)), "1.0");
        assert_eq!(
            written(Kind::Real, Value::Real(0.1 + 0.2)),
            "0.30000000000000004"
        );
        assert_eq!(
            written(Kind::Real, Value::Real(f64::NAN)),
            r#"{"real":"NaN"}"#
        );
        assert_eq!(
            written(Kind::Real, Value::Real(f64::NEG_INFINITY)),
            r#"{"real":"-inf"}"#
        );
        assert_eq!(
            written(Kind::Blob, Value::Blob(vec![0, 255])),
            r#"{"base64":"AP8="}"#
        );
        assert_eq!(
            written(Kind::Blob, Value::Text("hi".into())),
            r#"{"base64":"aGk="}"#
        );
        assert_eq!(
            written(Kind::Text, Value::Text("a \"b\"\n\u{1F389}".into())),
            "\"a \\\"b\\\"\\n\u{1F389}\""
        );
        assert_eq!(written(Kind::Text, Value::Null), "null");
    }

    #[test]
    fn values_are_read_back_as_written() {
        let read =
            |json: &str, kind: Kind| value_of(serde_json::from_str(json).unwrap(), &col(kind));
        assert_eq!(read("1", Kind::Boolean), Ok(Value::Int(1)));
        assert_eq!(read("true", Kind::Boolean), Ok(Value::Bool(true)));
        assert_eq!(read("-5", Kind::Integer), Ok(Value::Int(-5)));
        assert_eq!(read("1.0", Kind::Real), Ok(Value::Real(1.0)));
        assert_eq!(read("2", Kind::Real), Ok(Value::Int(2)));
        assert_eq!(
            read(r#"{"base64":"AP8="}"#, Kind::Blob),
            Ok(Value::Blob(vec![0, 255]))
        );
        assert_eq!(read("null", Kind::Timestamp), Ok(Value::Null));
        assert_eq!(
            read("[1]", Kind::Any).map(|_| ()),
            Err("a value is a number, a string, true, false, null or {\"base64\": \"…\"}".into())
        );
        assert!(
            read(r#"{"real":"NaN"}"#, Kind::Real)
                .is_ok_and(|v| matches!(v, Value::Real(f) if f.is_nan()))
        );
        assert!(read(r#"{"base64":"%%"}"#, Kind::Blob).is_err());
        assert!(read("18446744073709551615", Kind::Integer).is_err());
        // A value of the wrong sort is refused, not misread (PostgreSQL) or kept where the
        // store cannot read it (SQLite).
        assert!(read("\"soon\"", Kind::Timestamp).is_err());
        assert!(read("\"soon\"", Kind::Integer).is_err());
        assert!(read("2", Kind::Boolean).is_err());
        assert!(read("1.5", Kind::Integer).is_err());
        assert!(read("1.5", Kind::Text).is_err());
        assert_eq!(read("\"x\"", Kind::Any), Ok(Value::Text("x".into())));
    }
}
