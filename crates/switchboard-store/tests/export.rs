//! `Store::export_data` and `Store::import_data` on both engines, with a file written by hand:
//! values that engines keep differently (booleans, floats, bytes, JSON documents, times),
//! references to rows that come later, sequences, the search index; and every way a file can
//! be wrong, each refused with its line and leaving nothing behind.
//!
//! The PostgreSQL parts run when `SWITCHBOARD_TEST_DATABASE_URL` is set (each gets its own
//! database, dropped at the end); without it they say so on stderr and pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, HashSet};
use switchboard_core::search::Query;
use switchboard_core::{Name, Role, Timestamp};
use switchboard_store::sql::Backend;
use switchboard_store::{Actor, Location, SearchFilter, Store, StoreError};

const PG_ENV: &str = "SWITCHBOARD_TEST_DATABASE_URL";

/// A fresh, migrated database; dropped (PostgreSQL) or deleted (SQLite) with the value.
struct Db {
    store: Store,
    location: Location,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Db {
    async fn sqlite() -> Db {
        let dir = tempfile::TempDir::new().unwrap();
        let location = Location::Sqlite(dir.path().join("switchboard.db"));
        Db::migrated(location, Some(dir), None).await
    }

    async fn postgres() -> Option<Db> {
        let Ok(admin) = std::env::var(PG_ENV) else {
            eprintln!("skipped: {PG_ENV} not set");
            return None;
        };
        let name = format!("sb_export_{}", random_hex());
        let sql = format!("CREATE DATABASE {name}");
        on_admin(&admin, sql);
        let (base, _) = admin.rsplit_once('/').unwrap();
        let location = Location::Postgres(format!("{base}/{name}"));
        Some(Db::migrated(location, None, Some((admin, name))).await)
    }

    async fn migrated(
        location: Location,
        dir: Option<tempfile::TempDir>,
        pg: Option<(String, String)>,
    ) -> Db {
        let l = location.clone();
        let store = std::thread::spawn(move || Store::open(&l))
            .join()
            .unwrap()
            .unwrap();
        store.migrate().await.unwrap();
        Db {
            store,
            location,
            _dir: dir,
            pg,
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            on_admin(
                admin,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

fn on_admin(url: &str, sql: String) {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute(&sql).unwrap();
    })
    .join()
    .unwrap();
}

/// The databases to run on: SQLite, and PostgreSQL when there is one.
async fn engines() -> Vec<Db> {
    let mut out = vec![Db::sqlite().await];
    out.extend(Db::postgres().await);
    out
}

const T: i64 = 1_767_225_600_123_456;

fn id(n: u32) -> String {
    format!("01900000-0000-7000-8000-{n:012}")
}

/// A workspace written by hand. Rows that reference later rows: team 1 overflows to team 2,
/// contact 1 and case 1 were merged into contact 2 and case 2.
fn workspace() -> Vec<String> {
    let row = |table: &str, row: Json| json!({"table": table, "row": row}).to_string();
    let mut lines = vec![
        json!({"switchboard_export": 1, "schema_version": switchboard_store::schema_version(), "source": "sqlite", "exported_at": "2026-01-01T00:00:00Z"}).to_string(),
        row("settings", json!({"key": "greeting", "value": "hi"})),
        row("users", json!({"id": id(1), "username": "ann", "display_name": "Ann", "role": "agent",
            "password_hash": null, "active": 0, "created_at": T, "availability": "online", "last_assigned_at": null})),
        row("channels", json!({"id": id(10), "kind": "webhook", "name": "Web",
            "config": "{\"outbound_url\":\"http://x.invalid\",\"b\":1,\"a\":[1,2.5]}",
            "secret": {"base64": "AAEC/w=="}, "active": 1, "created_at": T})),
        row("teams", json!({"id": id(20), "name": "Support", "created_at": T, "slug": "support",
            "strategy": "round_robin", "capacity": 3, "overflow_team_id": id(21), "hours": null})),
        row("teams", json!({"id": id(21), "name": "Backup", "created_at": T + 1, "slug": "backup"})),
        row("team_members", json!({"team_id": id(20), "user_id": id(1), "added_at": T, "skills": "[\"german\"]"})),
        row("contacts", json!({"id": id(30), "display_name": "Old", "created_at": T, "tags": "[]", "merged_into": id(31)})),
        row("contacts", json!({"id": id(31), "display_name": "Zoë \"Z\" Ünal", "created_at": T, "tags": "[\"vip\"]"})),
        row("conversations", json!({"id": id(40), "channel_id": id(10), "thread": "t-1", "public": 1,
            "contact_id": id(31), "created_at": T, "last_message_at": T, "last_seq": 1})),
        row("cases", json!({"id": id(50), "status": "closed", "purpose": "support", "priority": "normal",
            "tags": "[]", "contact_id": id(30), "conversation_id": id(40), "created_at": T, "updated_at": T,
            "merged_into": id(51), "escalated": 1})),
        row("cases", json!({"id": id(51), "status": "open", "purpose": "support", "priority": "high",
            "tags": "[\"vip\",\"late\"]", "contact_id": id(31), "conversation_id": id(40), "created_at": T,
            "updated_at": T + 5, "team_id": id(20), "assignee_id": id(1)})),
        row("messages", json!({"id": id(60), "case_id": id(51), "conversation_id": id(40), "channel_id": id(10),
            "direction": "inbound", "external_id": "e-1", "contact_id": id(31), "author_kind": "contact",
            "text": "The quokka ate my homework — ünïcødé\n\ttab 🎉", "sent_at": T - 1_000_000, "created_at": T,
            "delivery_state": "received", "updated_at": T, "seq": 1,
            "understanding": "{\"language\":\"en\",\"sentiment\":{\"label\":\"negative\",\"score\":-0.42}}"})),
        row("auto_answers", json!({"case_id": id(51), "message_id": id(60), "policy": "{\"min_confidence\":0.65}",
            "state": "skipped", "reason": "low_confidence", "confidence": 0.30000000000000004,
            "created_at": T, "updated_at": T})),
        row("models", json!({"kind": "intent", "version": 1, "bytes": {"base64": "/wCAgQ=="}, "digest": "d",
            "summary": "s", "created_at": T, "created_by": "ann", "active": 1})),
        row("events", json!({"seq": 42, "kind": "case.created", "case_id": id(51), "data": "{}", "created_at": T})),
        row("audit_log", json!({"seq": 7, "at": T, "actor_kind": "system", "actor_id": null, "actor_name": "switchboard",
            "action": "case.merged", "subject_kind": "case", "subject_id": id(50), "details": "{\"z\":1,\"a\":\"x\"}"})),
        row("search_words", json!({"word": "quokka"})),
    ];
    let rows = lines.len() - 1;
    lines.push(json!({"end": true, "rows": rows}).to_string());
    lines
}

fn text(lines: &[String]) -> Vec<u8> {
    let mut t = lines.join("\n").into_bytes();
    t.push(b'\n');
    t
}

async fn import(store: &Store, bytes: Vec<u8>) -> Result<u64, StoreError> {
    store
        .import_data(Box::new(std::io::Cursor::new(bytes)))
        .await
        .map(|s| s.rows)
}

/// Exports through a pipe the test reads back.
async fn export(store: &Store) -> Vec<String> {
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Shared::default();
    let summary = store
        .export_data(Box::new(out.clone()), Timestamp::from_unix_micros(T))
        .await
        .unwrap();
    let bytes = out.0.lock().unwrap().clone();
    let lines: Vec<String> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(summary.rows as usize, lines.len() - 2);
    lines
}

/// Rows per table (sorted), with the columns named in `documents` compared as JSON
/// documents.
fn rows(lines: &[String], documents: &HashSet<&str>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in &lines[1..lines.len() - 1] {
        let mut v: Json = serde_json::from_str(l).unwrap();
        let table = v["table"].as_str().unwrap().to_owned();
        for (col, value) in v["row"].as_object_mut().unwrap().iter_mut() {
            if documents.contains(format!("{table}.{col}").as_str())
                && let Some(s) = value.as_str()
            {
                *value = json!({"document": serde_json::from_str::<Json>(s).unwrap()});
            }
        }
        out.entry(table).or_default().push(v["row"].to_string());
    }
    out.values_mut().for_each(|r| r.sort());
    out
}

/// The JSON document columns of the hand-written workspace (`jsonb` on PostgreSQL).
const DOCUMENTS: &[&str] = &[
    "channels.config",
    "team_members.skills",
    "contacts.tags",
    "cases.tags",
    "cases.skills",
    "cases.sla_fired",
    "messages.understanding",
    "auto_answers.policy",
    "events.data",
    "audit_log.details",
];

fn row(lines: &[String], table: &str, key: &str, value: &str) -> Json {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .find(|v| v["table"] == table && v["row"][key] == value)
        .unwrap_or_else(|| panic!("no {table} row with {key} = {value}"))["row"]
        .clone()
}

#[tokio::test]
async fn a_hand_written_workspace_moves_between_engines_unchanged() {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut backends = Vec::new();
    let mut input = workspace();
    // SQLite, PostgreSQL (if any), SQLite again: each exports what the next imports.
    let mut dbs = engines().await;
    if dbs.len() == 2 {
        dbs.push(Db::sqlite().await);
    }
    for db in &dbs {
        let n = import(&db.store, text(&input)).await.unwrap();
        assert_eq!(n as usize, input.len() - 2);
        let lines = export(&db.store).await;
        let header: Json = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            header["schema_version"],
            switchboard_store::schema_version()
        );
        assert_eq!(header["exported_at"], "2026-01-01T00:00:00.123456Z");

        // Values as written, whichever engine kept them.
        let ann = row(&lines, "users", "id", &id(1));
        assert_eq!(ann["active"], 0);
        assert_eq!(ann["created_at"], T);
        let web = row(&lines, "channels", "id", &id(10));
        assert_eq!(web["secret"], json!({"base64": "AAEC/w=="}));
        assert_eq!(web["active"], 1);
        let answer = row(&lines, "auto_answers", "case_id", &id(51));
        assert_eq!(answer["confidence"], json!(0.30000000000000004));
        assert_eq!(
            row(&lines, "models", "kind", "intent")["bytes"]["base64"],
            "/wCAgQ=="
        );
        assert_eq!(
            row(&lines, "teams", "id", &id(20))["overflow_team_id"],
            id(21)
        );
        assert_eq!(row(&lines, "cases", "id", &id(50))["merged_into"], id(51));
        assert_eq!(row(&lines, "cases", "id", &id(50))["escalated"], 1);
        assert_eq!(
            row(&lines, "contacts", "id", &id(30))["merged_into"],
            id(31)
        );
        // Left out, so the database's default: the same on both engines.
        assert_eq!(row(&lines, "cases", "id", &id(51))["reopen_count"], 0);
        assert_eq!(row(&lines, "teams", "id", &id(21))["strategy"], "manual");

        // The search index was built as the messages went in.
        let found = db
            .store
            .search_messages(Query::parse("quokka").unwrap(), SearchFilter::default(), 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].message.external_id.as_deref(), Some("e-1"));

        backends.push(db.store.backend());
        out.push(lines.clone());
        input = lines;
    }
    let documents: HashSet<&str> = DOCUMENTS.iter().copied().collect();
    let exact = HashSet::new();
    for pair in out.windows(2) {
        assert_eq!(rows(&pair[0], &documents), rows(&pair[1], &documents));
    }
    // PostgreSQL → SQLite changes not a character.
    if let [_, p, s] = &out[..] {
        assert_eq!(rows(p, &exact), rows(s, &exact));
    }

    // New rows take numbers after the imported ones (PostgreSQL sequences are reset).
    for db in &dbs {
        db.store
            .create_token(
                Name::parse("after").unwrap(),
                Role::Admin,
                "h".repeat(64),
                Actor::System,
                Timestamp::from_unix_micros(T + 10),
            )
            .await
            .unwrap();
        let lines = export(&db.store).await;
        let seqs: Vec<i64> = lines
            .iter()
            .map(|l| serde_json::from_str::<Json>(l).unwrap())
            .filter(|v| v["table"] == "audit_log")
            .map(|v| v["row"]["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, [7, 8], "{:?}", db.store.backend());
    }
    assert_eq!(backends.first(), Some(&Backend::Sqlite));
}

/// Each bad file, the line it fails on and what the error says.
fn bad_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let good = workspace();
    let n = good.len();
    let with = |i: usize, line: &str| {
        let mut l = good.clone();
        l[i] = line.to_owned();
        text(&l)
    };
    let inserted = |i: usize, line: &str| {
        let mut l = good.clone();
        l.insert(i, line.to_owned());
        text(&l)
    };
    let end = |rows: usize| json!({"end": true, "rows": rows}).to_string();
    let mut duplicate = good.clone();
    duplicate.insert(3, good[2].clone());
    duplicate[n] = end(n - 1);
    let mut dangling = good.clone();
    let mut c: Json = serde_json::from_str(&good[11]).unwrap();
    c["row"]["merged_into"] = json!(id(99));
    dangling[11] = c.to_string();
    let mut invalid_utf8 = text(&good[..4]);
    invalid_utf8.extend_from_slice(b"{\"table\":\"settings\",\"row\":{\"key\":\"\xff\"}}\n");
    let mut typed = good.clone();
    let mut u: Json = serde_json::from_str(&good[2]).unwrap();
    u["row"]["created_at"] = json!("yesterday");
    typed[2] = u.to_string();
    let mut after = good.clone();
    after.push(good[1].clone());
    vec![
        ("empty", Vec::new(), "line 1: the file is empty"),
        ("blank", b"\n  \n".to_vec(), "line 1: the file is empty"),
        (
            "not JSON header",
            text(&["hello".to_owned()]),
            "line 1: not a Switchboard export",
        ),
        (
            "newer format",
            with(
                0,
                &json!({"switchboard_export": 2, "schema_version": switchboard_store::schema_version()})
                    .to_string(),
            ),
            "line 1: export format 2; this switchboard reads format 1",
        ),
        (
            "no version",
            with(0, r#"{"switchboard_export":1}"#),
            "line 1: the header has no schema_version",
        ),
        (
            "unknown table",
            inserted(2, r#"{"table":"nope","row":{}}"#),
            "line 3: unknown table \"nope\"",
        ),
        (
            "sessions",
            inserted(2, r#"{"table":"sessions","row":{}}"#),
            "line 3: unknown table \"sessions\"",
        ),
        (
            "unknown column",
            with(1, r#"{"table":"settings","row":{"key":"a","nope":1}}"#),
            "line 2: table settings has no column \"nope\"",
        ),
        (
            "malformed",
            with(5, r#"{"table":"teams","#),
            "line 6: not valid JSON at column 17: EOF while parsing a value",
        ),
        ("array", with(5, "[1,2]"), "line 6: not a JSON object"),
        (
            "no table",
            with(5, r#"{"row":{}}"#),
            "line 6: neither a row",
        ),
        (
            "row not object",
            with(5, r#"{"table":"teams","row":[]}"#),
            "line 6: \"row\" must be an object",
        ),
        (
            "nested value",
            with(1, r#"{"table":"settings","row":{"key":"a","value":[1]}}"#),
            "line 2: settings.value: a value is a number",
        ),
        (
            "bad base64",
            with(3, &good[3].replace("AAEC/w==", "%%%")),
            "line 4: channels.secret: bad base64",
        ),
        ("cut", text(&good[..n - 1]), "the file ends here, after"),
        (
            "miscounted",
            with(n - 1, &end(3)),
            "the end line counts 3 rows but",
        ),
        (
            "end not true",
            with(n - 1, r#"{"end":1,"rows":1}"#),
            "\"end\" must be true",
        ),
        ("after the end", text(&after), "a line after the end line"),
        ("duplicate row", text(&duplicate), "line 4: users: conflict"),
        (
            "dangling reference",
            text(&dangling),
            "line 12: cases.merged_into: ",
        ),
        ("not UTF-8", invalid_utf8, "line 5: cannot read it"),
        (
            "text for a time",
            text(&typed),
            "line 3: users.created_at: expected an integer",
        ),
    ]
}

#[tokio::test]
async fn bad_files_are_refused_with_their_line_and_leave_nothing() {
    for db in engines().await {
        let backend = db.store.backend();
        for (name, bytes, expected) in bad_files() {
            let err = import(&db.store, bytes).await.unwrap_err();
            let StoreError::Invalid(message) = &err else {
                panic!("{backend:?} {name}: {err:?}");
            };
            assert!(
                message.contains(expected),
                "{backend:?} {name}: expected {expected:?} in {message:?}"
            );
            // Nothing stored.
            let left = export(&db.store).await;
            assert_eq!(left.len(), 2, "{backend:?} {name}: {left:?}");
        }
        // The garbage never panics either.
        for garbage in [
            b"{}".to_vec(),
            b"\x00\x01".to_vec(),
            format!(
                "{}\n\x00",
                json!({"switchboard_export": 1, "schema_version": switchboard_store::schema_version()})
            )
            .into_bytes(),
        ] {
            assert!(import(&db.store, garbage).await.is_err());
        }
        // Into a database that has rows: refused by name; what is there stays.
        import(&db.store, text(&workspace())).await.unwrap();
        let before = export(&db.store).await;
        let err = import(&db.store, text(&workspace())).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("the database is not empty (table "),
            "{err}"
        );
        assert_eq!(export(&db.store).await[1..], before[1..]);
    }
}

#[tokio::test]
async fn an_export_of_another_schema_version_is_refused() {
    for db in engines().await {
        let mut lines = workspace();
        let older = switchboard_store::schema_version() - 1;
        lines[0] = json!({"switchboard_export": 1, "schema_version": older}).to_string();
        let err = import(&db.store, text(&lines)).await.unwrap_err();
        assert!(
            err.to_string().contains(
                &format!(
                    "line 1: the export is of schema version {older} but this database is at version {}",
                    switchboard_store::schema_version()
                )
            ),
            "{err}"
        );
    }
}

/// Runs `sql` on the database beside the store (as a later migration would).
fn run_sql(location: &Location, sql: &'static str) {
    match location.clone() {
        Location::Sqlite(path) => {
            let c = rusqlite::Connection::open(path).unwrap();
            c.execute_batch(sql).unwrap();
        }
        Location::Postgres(url) => std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute(sql).unwrap();
        })
        .join()
        .unwrap(),
    }
}

#[tokio::test]
async fn a_table_added_later_moves_without_code_changes() {
    // Types the store itself does not use (moved as their text), a self-reference to a later
    // row, a key that is not text.
    const PG: &str = "CREATE TABLE later_added (id numeric(10,2) PRIMARY KEY, tags text[], day date, \
        parent numeric(10,2) REFERENCES later_added(id), n integer, flag boolean, \
        made timestamptz DEFAULT now(), doubled integer GENERATED ALWAYS AS (n * 2) STORED); \
        CREATE TABLE many (a integer, b text, v text, PRIMARY KEY (a, b))";
    const PG_ROWS: &str = "INSERT INTO later_added (id, tags, day, parent, n, flag) VALUES \
        (1.50, '{a,\"b c\"}', '2026-02-03', 2.25, 7, true), (2.25, NULL, NULL, NULL, NULL, false); \
        INSERT INTO many SELECT i / 10, 'k' || (i % 10), md5(i::text) FROM generate_series(1, 2345) i";
    const SQLITE: &str = "CREATE TABLE later_added (id INTEGER PRIMARY KEY, label TEXT, \
        parent INTEGER REFERENCES later_added(id), body BLOB, anything); \
        CREATE TABLE many (a integer, b text, v text, PRIMARY KEY (a, b))";
    const SQLITE_ROWS: &str = "INSERT INTO later_added VALUES (1, 'one', NULL, NULL, NULL); \
        INSERT INTO later_added VALUES (2, 'two', NULL, x'00ff', 2.5); \
        UPDATE later_added SET parent = 2 WHERE id = 1; \
        WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2345) \
        INSERT INTO many SELECT i / 10, 'k' || (i % 10), hex(randomblob(4)) FROM s";
    let mut pairs = vec![(Db::sqlite().await, Db::sqlite().await, SQLITE, SQLITE_ROWS)];
    if let (Some(a), Some(b)) = (Db::postgres().await, Db::postgres().await) {
        pairs.push((a, b, PG, PG_ROWS));
    }
    for (from, to, create, fill) in pairs {
        run_sql(&from.location, create);
        run_sql(&from.location, fill);
        run_sql(&to.location, create);
        let first = export(&from.store).await;
        let added: Vec<&String> = first
            .iter()
            .filter(|l| l.contains("\"later_added\""))
            .collect();
        assert_eq!(added.len(), 2, "{first:?}");
        assert!(
            !added[0].contains("doubled"),
            "a generated column is not moved: {added:?}"
        );
        // More rows than one page, read by a two-column key.
        let many = first
            .iter()
            .filter(|l| l.starts_with("{\"table\":\"many\""))
            .count();
        assert_eq!(many, 2345);
        import(&to.store, text(&first)).await.unwrap();
        let second = export(&to.store).await;
        let exact = HashSet::new();
        assert_eq!(
            rows(&first, &exact),
            rows(&second, &exact),
            "{:?}",
            from.store.backend()
        );
        if from.store.backend() == Backend::Postgres {
            let one = row(&second, "later_added", "id", "1.50");
            assert_eq!(one["tags"], r#"{a,"b c"}"#);
            assert_eq!(one["day"], "2026-02-03");
            assert_eq!(one["parent"], "2.25");
            assert_eq!(one["flag"], 1);
        } else {
            assert_eq!(
                row(&second, "later_added", "label", "two")["body"],
                json!({"base64": "AP8="})
            );
        }
    }
}
