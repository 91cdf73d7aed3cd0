//! `switchboard export` and `switchboard import`, with the real binary: a workspace filled
//! through the API and webhooks moves SQLite → PostgreSQL → SQLite with the same rows, reads
//! the same through the API and is found by search; bad files and a database that is not empty
//! are refused with the line and the problem, and nothing is stored.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use switchboard_store::Location;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// Runs the binary off the async threads, in `cwd`, with no SWITCHBOARD_* settings but `key`.
async fn switchboard(cwd: &Path, args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = std::process::Command::new(BIN);
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("SWITCHBOARD_DATA_DIR")
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .env_remove("SWITCHBOARD_SECRET_KEY")
        .env_remove("SWITCHBOARD_CONFIG")
        .env("RUST_LOG", "warn");
    if let Some(k) = key {
        cmd.env("SWITCHBOARD_SECRET_KEY", k);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("run switchboard"))
        .await
        .expect("join")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the binary and asserts it succeeded; returns its stderr.
async fn ok(cwd: &Path, args: &[&str], key: Option<&str>) -> String {
    let o = switchboard(cwd, args, key).await;
    assert!(o.status.success(), "switchboard {args:?}: {}", stderr(&o));
    stderr(&o)
}

/// Runs the binary and asserts it failed with exit code 1; returns its stderr.
async fn fails(cwd: &Path, args: &[&str]) -> String {
    let o = switchboard(cwd, args, None).await;
    assert_eq!(
        o.status.code(),
        Some(1),
        "switchboard {args:?}: {}",
        stderr(&o)
    );
    stderr(&o)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read export")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn header(path: &Path) -> Value {
    serde_json::from_str(&lines(path)[0]).expect("header")
}

/// An export's rows per table, each row as JSON text, sorted. The columns in `documents`
/// (`table.column`) hold JSON documents and are compared as documents: PostgreSQL's `jsonb`
/// spells a document its own way (key order, spaces). Checks the end line's count.
fn rows_of(path: &Path, documents: &HashSet<String>) -> BTreeMap<String, Vec<String>> {
    let all = lines(path);
    let end: Value = serde_json::from_str(all.last().expect("lines")).expect("end line");
    assert_eq!(end["end"], true, "{}", path.display());
    assert_eq!(end["rows"], json!(all.len() - 2), "{}", path.display());
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in &all[1..all.len() - 1] {
        let mut v: Value = serde_json::from_str(line).expect("row line");
        let table = v["table"].as_str().expect("table").to_owned();
        for (col, value) in v["row"].as_object_mut().expect("row").iter_mut() {
            if documents.contains(&format!("{table}.{col}"))
                && let Some(text) = value.as_str()
            {
                *value = json!({ "document": serde_json::from_str::<Value>(text).expect("JSON") });
            }
        }
        out.entry(table)
            .or_default()
            .push(serde_json::to_string(&v["row"]).expect("row"));
    }
    for rows in out.values_mut() {
        rows.sort();
    }
    out
}

/// The `jsonb` columns of a PostgreSQL database, as `table.column`.
fn jsonb_columns(url: &str) -> HashSet<String> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        c.query(
            "SELECT table_name::text || '.' || column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type = 'jsonb'",
            &[],
        )
        .expect("catalog")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
    })
    .join()
    .expect("catalog thread")
}

fn row_count(rows: &BTreeMap<String, Vec<String>>, table: &str) -> usize {
    rows.get(table).map_or(0, Vec::len)
}

/// Rows of `table` whose `column` is not null.
fn with_value(rows: &BTreeMap<String, Vec<String>>, table: &str, column: &str) -> usize {
    rows.get(table).map_or(0, |rs| {
        rs.iter()
            .filter(|r| serde_json::from_str::<Value>(r).expect("row")[column] != Value::Null)
            .count()
    })
}

const PLAYBOOK: &str = r#"[[team]]
id = "support"
name = "Support"
strategy = "round_robin"
overflow = "backup"

[[team]]
id = "backup"
name = "Backup"

[[rule]]
name = "Support"
then.purpose = "support"
then.team = "support"
"#;

/// A word only one message has, to search for.
const RARE: &str = "zephyrine";

/// Fills `app` through the API and webhooks: two teams (one overflowing to the other), an
/// agent in a team, cases with replies and a note, a case merged into a newer one (and its
/// contact), a knowledge base article in two versions; the audit log follows. Waits until the
/// replies are delivered, so nothing changes afterwards.
async fn fill(app: &TestApp) {
    app.apply_playbook(PLAYBOOK).await;
    let support = app.team_id("support").await;
    let ann = app.person("ann", "agent").await;
    let a = app
        .post(
            &format!("/api/v1/teams/{support}/members"),
            &app.admin,
            &json!({"user_id": ann.id}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let partner = FakePartner::start(&[], 200).await;
    let ch = app.create_channel(&partner.url).await;
    // A second channel: the contacts of the two cases merged below must not both have an
    // identity on one channel.
    let other = app.create_channel(&partner.url).await;
    let texts = [
        ("m-1", "c-1", "u-1", "My parcel never arrived, order 1234"),
        (
            "m-2",
            "c-2",
            "u-2",
            "Ünïcødé — \"quotes\", a tab\tand emoji 🎉\nsecond line",
        ),
        (
            "m-3",
            "c-3",
            "u-3",
            "Where is the zephyrine scarf I ordered?",
        ),
        ("m-4", "c-1", "u-1", "Any news about order 1234?"),
    ];
    for (id, conversation, from, text) in texts {
        let on = if id == "m-3" { &other } else { &ch };
        app.deliver(on, &message(id, conversation, from, text))
            .await;
        app.wait_for_message(id).await;
    }
    let first = app.wait_for_message("m-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app.wait_for_message("m-2").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = app.wait_for_message("m-3").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (case, text) in [
        (&first, "Sorry! It left today."),
        (&third, "It is on its way."),
    ] {
        let r = app
            .post(
                &format!("/api/v1/cases/{case}/replies"),
                &app.agent,
                &json!({ "text": text }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = app
        .post(
            &format!("/api/v1/cases/{first}/notes"),
            &app.agent,
            &json!({"text": "Courier says Tuesday."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The older case goes into the newer one: its `merged_into` points at a row exported after
    // it (and so does its contact's), which an import sets once both are in.
    let r = app
        .post(
            &format!("/api/v1/cases/{third}/merge"),
            &app.agent,
            &json!({"cases": [second], "merge_contacts": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let article = json!({
        "title": "Where is my parcel?",
        "body": "Parcels arrive within 3 working days.",
        "tags": ["delivery"],
        "questions": ["Where is my order?"],
    });
    let r = app.post("/api/v1/kb/articles", &app.agent, &article).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_owned();
    let mut v2 = article.clone();
    v2["body"] = json!("Parcels arrive within 2 working days.");
    let r = app
        .put(&format!("/api/v1/kb/articles/{id}"), &app.agent, &v2)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    wait_for("the replies to be delivered", || async {
        let messages = app.all_messages().await;
        messages
            .iter()
            .all(|m| m["delivery_state"] != "queued" && m["delivery_state"] != "sending")
            .then_some(())
    })
    .await;
}

/// Every case with its messages, as the API shows them (without the SLA view, which depends
/// on the time of asking).
async fn everything(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for c in app.all_cases().await {
        let mut detail = app.case(c["id"].as_str().unwrap()).await;
        detail.as_object_mut().unwrap().remove("sla");
        out.push(detail);
    }
    out
}

/// A server on an imported database shows what the source showed, finds the imported messages
/// and keeps working (new audit entries and events take numbers after the imported ones).
async fn check_served(target: &TestApp, source: &[Value], imported_audit: i64) {
    assert_eq!(everything(target).await, source);
    let r = target
        .get(&format!("/api/v1/search?q={RARE}"), &target.agent)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let found = r.json["items"].as_array().expect("items");
    assert_eq!(found.len(), 1, "{}", r.text);
    assert_eq!(found[0]["message"]["external_id"], "m-3");
    // The vocabulary moved too: a typo is corrected to the imported word.
    let r = target
        .get("/api/v1/search?q=zephyrime", &target.agent)
        .await;
    assert_eq!(r.json["corrected_query"], RARE, "{}", r.text);

    // The server's start wrote audit entries (its test tokens): numbered after the imported
    // ones. A new note adds a message and events.
    let audit = target.get("/api/v1/audit?limit=200", &target.admin).await;
    let newest = audit.json["items"]
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["seq"].as_i64())
        .max();
    assert!(newest > Some(imported_audit), "{}", audit.text);
    let case = source[0]["id"].as_str().unwrap();
    let r = target
        .post(
            &format!("/api/v1/cases/{case}/notes"),
            &target.agent,
            &json!({"text": "Written after the move."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// The largest audit `seq` in an export.
fn last_audit_seq(rows: &BTreeMap<String, Vec<String>>) -> i64 {
    rows["audit_log"]
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(r).expect("row")["seq"].as_i64())
        .max()
        .expect("audit rows")
}

#[tokio::test]
async fn a_workspace_moves_from_sqlite_to_postgres_and_back_without_loss() {
    let source = spawn_app().await;
    fill(&source).await;
    let shown = everything(&source).await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let one = dir.join("one.jsonl");
    let db = source.database();
    let err = ok(
        dir,
        &["export", "--database", &db, "--out", "one.jsonl"],
        None,
    )
    .await;
    assert!(
        err.contains("exported") && err.contains("messages"),
        "{err}"
    );
    assert!(!dir.join("one.jsonl.partial").exists());
    assert_eq!(header(&one)["source"], "sqlite");
    assert_eq!(header(&one)["switchboard_export"], 1);

    let plain = rows_of(&one, &HashSet::new());
    for table in [
        "users",
        "api_tokens",
        "channels",
        "teams",
        "team_members",
        "playbooks",
        "contacts",
        "identities",
        "conversations",
        "cases",
        "messages",
        "raw_events",
        "events",
        "audit_log",
        "kb_items",
        "kb_revisions",
        "search_words",
    ] {
        assert!(row_count(&plain, table) > 0, "no {table} in the export");
    }
    for skipped in [
        "sessions",
        "schema_migrations",
        "messages_fts",
        "messages_fts_data",
    ] {
        assert_eq!(row_count(&plain, skipped), 0, "{skipped} is not exported");
    }
    // The references an import must set after the rows they point at are in.
    assert_eq!(with_value(&plain, "cases", "merged_into"), 1);
    assert_eq!(with_value(&plain, "contacts", "merged_into"), 1);
    assert_eq!(with_value(&plain, "teams", "overflow_team_id"), 1);
    assert_eq!(row_count(&plain, "messages"), 7);
    assert_eq!(row_count(&plain, "kb_revisions"), 2);

    // SQLite → PostgreSQL (when there is one to test with), exported again.
    let pg =
        PgDatabase::for_test("a_workspace_moves_from_sqlite_to_postgres_and_back_without_loss");
    let (middle, documents) = match &pg {
        Some(pg) => {
            let err = ok(
                dir,
                &["import", "--file", "one.jsonl", "--database", &pg.url],
                Some(&source.secret_key),
            )
            .await;
            assert!(err.contains("imported"), "{err}");
            assert!(!err.contains("warning"), "the key opens the secrets: {err}");
            let two = dir.join("two.jsonl");
            ok(
                dir,
                &["export", "--database", &pg.url, "--out", "two.jsonl"],
                None,
            )
            .await;
            assert_eq!(header(&two)["source"], "postgres");
            assert_eq!(
                header(&two)["schema_version"],
                header(&one)["schema_version"]
            );
            let documents = jsonb_columns(&pg.url);
            assert!(documents.contains("cases.tags"), "{documents:?}");
            assert_eq!(rows_of(&two, &documents), rows_of(&one, &documents));
            (two, documents)
        }
        None => (one.clone(), HashSet::new()),
    };

    // → a new SQLite database: the very same rows as the file it came from.
    let err = ok(
        dir,
        &[
            "import",
            "--file",
            middle.to_str().unwrap(),
            "--data-dir",
            "copy",
        ],
        Some(&source.secret_key),
    )
    .await;
    assert!(!err.contains("warning"), "{err}");
    let three = dir.join("three.jsonl");
    ok(
        dir,
        &["export", "--data-dir", "copy", "--out", "three.jsonl"],
        None,
    )
    .await;
    let exact = HashSet::new();
    assert_eq!(rows_of(&three, &exact), rows_of(&middle, &exact));
    assert_eq!(rows_of(&three, &documents), rows_of(&one, &documents));

    // Servers on the imported databases read the same and search the imported messages.
    let copy = Location::Sqlite(dir.join("copy").join("switchboard.db"));
    let audited = last_audit_seq(&plain);
    check_served(
        &spawn_app_on(copy, None, &source.secret_key).await,
        &shown,
        audited,
    )
    .await;
    if let Some(pg) = pg {
        let location = Location::Postgres(pg.url.clone());
        let target = spawn_app_on(location, Some(pg), &source.secret_key).await;
        check_served(&target, &shown, audited).await;
    }

    // Another key than the source's: imported all the same, with a warning.
    let other = "11".repeat(32);
    let err = ok(
        dir,
        &["import", "--file", "one.jsonl", "--data-dir", "elsewhere"],
        Some(&other),
    )
    .await;
    assert!(
        err.contains("warning: the secret key (SWITCHBOARD_SECRET_KEY) does not open 2 of the 2"),
        "{err}"
    );
    // No key at all: the warning says where it goes, and none is made.
    let err = ok(
        dir,
        &["import", "--file", "one.jsonl", "--data-dir", "keyless"],
        None,
    )
    .await;
    assert!(
        err.contains("there is no key at keyless/secret.key"),
        "{err}"
    );
    assert!(!dir.join("keyless").join("secret.key").exists());
}

/// `lines` written to `name` in `dir`.
fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn bad_files_and_full_databases_are_refused_and_change_nothing() {
    let source = spawn_app().await;
    let ch = source.create_channel(NOWHERE).await;
    source
        .deliver(&ch, &message("b-1", "t-1", "u-1", "Hello there"))
        .await;
    source.wait_for_message("b-1").await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let db = source.database();
    ok(
        dir,
        &["export", "--database", &db, "--out", "good.jsonl"],
        None,
    )
    .await;
    let good = lines(&dir.join("good.jsonl"));
    let n = good.len();
    assert!(n > 5, "{good:?}");

    let mut cut = good.clone();
    cut.pop();
    let mut unknown_table = good.clone();
    unknown_table.insert(1, r#"{"table":"nonsense","row":{"id":1}}"#.into());
    let mut malformed = good.clone();
    malformed[2] = r#"{"table": "users", "row": {"id": "#.into();
    let mut unknown_column = good.clone();
    let mut row: Value = serde_json::from_str(&unknown_column[1]).unwrap();
    row["row"]["colour"] = json!("blue");
    unknown_column[1] = row.to_string();
    let mut miscounted = good.clone();
    miscounted[n - 1] = format!(r#"{{"end":true,"rows":{}}}"#, n - 1);
    let mut wrong_version = good.clone();
    let mut h: Value = serde_json::from_str(&good[0]).unwrap();
    h["schema_version"] = json!(3);
    wrong_version[0] = h.to_string();

    let cases: Vec<(&str, Vec<String>, String)> = vec![
        ("empty", vec![], "line 1: the file is empty".into()),
        (
            "cut",
            cut,
            format!(
                "line {}: the file ends here, after {} rows, without its end line",
                n - 1,
                n - 2
            ),
        ),
        (
            "header",
            std::iter::once(r#"{"hello":"world"}"#.to_owned())
                .chain(good[1..].iter().cloned())
                .collect(),
            "line 1: not a Switchboard export".into(),
        ),
        (
            "version",
            wrong_version,
            "line 1: the export is of schema version 3".into(),
        ),
        (
            "table",
            unknown_table,
            "line 2: unknown table \"nonsense\"".into(),
        ),
        ("malformed", malformed, "line 3: not valid JSON".into()),
        ("column", unknown_column, "has no column \"colour\"".into()),
        (
            "count",
            miscounted,
            format!(
                "line {n}: the end line counts {} rows but {} came before it",
                n - 1,
                n - 2
            ),
        ),
    ];
    for (name, content, expected) in cases {
        let file = if content.is_empty() {
            let p = dir.join("empty.jsonl");
            std::fs::write(&p, "").unwrap();
            p
        } else {
            write(dir, &format!("{name}.jsonl"), &content)
        };
        let err = fails(
            dir,
            &[
                "import",
                "--file",
                file.to_str().unwrap(),
                "--data-dir",
                "target",
            ],
        )
        .await;
        assert!(
            err.contains(&expected),
            "{name}: expected {expected:?} in {err}"
        );
        assert!(err.contains("nothing was imported"), "{name}: {err}");
        // Nothing stored: the target exports no rows.
        ok(
            dir,
            &["export", "--data-dir", "target", "--out", "left.jsonl"],
            None,
        )
        .await;
        let left = lines(&dir.join("left.jsonl"));
        assert_eq!(left.len(), 2, "{name}: {left:?}");
        assert_eq!(left[1], r#"{"end":true,"rows":0}"#, "{name}");
    }
    // A missing file: refused before any database is made.
    let err = fails(
        dir,
        &["import", "--file", "missing.jsonl", "--data-dir", "never"],
    )
    .await;
    assert!(err.contains("cannot open missing.jsonl"), "{err}");
    assert!(!dir.join("never").exists());

    // The good file goes in; a second import into the now full database is refused, naming a
    // table with rows, and leaves it as it was.
    ok(
        dir,
        &["import", "--file", "good.jsonl", "--data-dir", "target"],
        Some(&source.secret_key),
    )
    .await;
    let err = fails(
        dir,
        &["import", "--file", "good.jsonl", "--data-dir", "target"],
    )
    .await;
    assert!(
        err.contains("the database is not empty (table ") && err.contains(" has rows)"),
        "{err}"
    );
    ok(
        dir,
        &["export", "--data-dir", "target", "--out", "after.jsonl"],
        None,
    )
    .await;
    let exact = HashSet::new();
    assert_eq!(
        rows_of(&dir.join("after.jsonl"), &exact),
        rows_of(&dir.join("good.jsonl"), &exact)
    );
    // Usage errors exit 2.
    let o = switchboard(dir, &["import"], None).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
