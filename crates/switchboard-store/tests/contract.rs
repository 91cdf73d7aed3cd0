//! The store's contract, written once and run against every backend.
//!
//! Every test runs against SQLite (a file in a fresh temporary directory), and against
//! PostgreSQL when `SWITCHBOARD_TEST_DATABASE_URL` is set (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`): each PostgreSQL test then gets its own
//! `sb_test_<hex>` database, dropped at the end. Without the variable the PostgreSQL variants
//! say so on stderr and pass.
//!
//! Only the crate's public API is used. Times are fixed, increasing instants (see [`t`]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use switchboard_core::assign::Availability;
use switchboard_core::{
    Author as Sender, CaseId, CaseStatus, ChannelEvent, ChannelId, ContactId, ContactKey,
    DeliveryId, DeliveryState, Direction, InboundMessage, KeyKind, KeySource, MessageId, Name,
    PersonalDataSpan, Priority, Purpose, RawEventId, Role, Tag, TeamId, Timestamp, Understood,
    UserId, Username,
};
use switchboard_store::sql::Backend;
use switchboard_store::{
    Actor, Appended, AuditEntry, Case, CaseDetail, CaseFilter, CasePatch, Channel, Contact,
    ContactUpdate, Delivery, Event, Identity, IngestItem, IngestReport, LearningDecision, Location,
    Message, NewUser, OutboundJob, RawEvent, Store, StoreError, Team, TeamMember, User,
};

const PG_ENV: &str = "SWITCHBOARD_TEST_DATABASE_URL";

// =============================================================================================
// Harness: one fresh database per test.

/// A fresh, unmigrated database and a store on it. Dropping it drops the store first, then the
/// database (the temporary directory, or the PostgreSQL database).
struct TestDb {
    store: Store,
    location: Location,
    _cleanup: Cleanup,
}

enum Cleanup {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, database: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Postgres {
            admin_url,
            database,
        } = self
        {
            // Best effort: FORCE ends the store's connections if its threads have not yet.
            let sql = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
            if let Err(e) = on_admin_connection(admin_url.clone(), move |c| c.batch_execute(&sql)) {
                eprintln!("could not drop test database {database}: {e}");
            }
        }
    }
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::TempDir::new().unwrap();
        let location = Location::Sqlite(dir.path().join("switchboard.db"));
        let store = open_store(location.clone());
        assert_eq!(store.backend(), Backend::Sqlite);
        TestDb {
            store,
            location,
            _cleanup: Cleanup::Sqlite { _dir: dir },
        }
    }

    /// `None` (after saying so on stderr) when no PostgreSQL server is configured.
    fn postgres() -> Option<TestDb> {
        let admin_url = match std::env::var(PG_ENV) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                eprintln!("skipped: {PG_ENV} not set");
                return None;
            }
        };
        let database = format!("sb_test_{}", random_hex());
        let mut attempt = 0;
        loop {
            let sql = format!("CREATE DATABASE {database}");
            match on_admin_connection(admin_url.clone(), move |c| c.batch_execute(&sql)) {
                Ok(()) => break,
                // Concurrent CREATE DATABASE from the same template can collide; try again.
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    eprintln!("CREATE DATABASE {database} failed ({e}); retrying");
                    std::thread::sleep(std::time::Duration::from_millis(200 * attempt));
                }
                Err(e) => panic!("cannot create test database {database}: {e}"),
            }
        }
        let cleanup = Cleanup::Postgres {
            admin_url: admin_url.clone(),
            database: database.clone(),
        };
        let location = Location::Postgres(with_database(&admin_url, &database));
        let store = open_store(location.clone());
        assert_eq!(store.backend(), Backend::Postgres);
        Some(TestDb {
            store,
            location,
            _cleanup: cleanup,
        })
    }
}

/// Opens a store on a plain thread: for PostgreSQL, `Store::open` connects with the synchronous
/// `postgres` crate, which must not run on a tokio runtime thread.
///
/// A failed open is retried a few times (and said on stderr) so that the other tests check their
/// own contract; `fresh_stores_open_reliably` is the test that opening works the first time.
fn open_store(location: Location) -> Store {
    let mut attempt = 0;
    loop {
        match try_open_store(location.clone()) {
            Ok(store) => return store,
            Err(e) if attempt < 4 => {
                attempt += 1;
                eprintln!(
                    "Store::open({location:?}) failed ({e}); retrying (see fresh_stores_open_reliably)"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("Store::open({location:?}): {e:?}"),
        }
    }
}

fn try_open_store(location: Location) -> Result<Store, StoreError> {
    std::thread::spawn(move || Store::open(&location))
        .join()
        .expect("the thread opening the store panicked")
}

/// Runs `f` on a new connection to the server's admin database, on a plain thread (the
/// synchronous `postgres` crate must not be called from a tokio runtime thread).
fn on_admin_connection<T, F>(url: String, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
{
    std::thread::spawn(move || {
        let mut client =
            postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
        f(&mut client).map_err(|e| e.to_string())
    })
    .join()
    .map_err(|_| "the admin connection thread panicked".to_owned())?
}

/// `url` with its database (the path) replaced by `database`; the query string is kept.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let mut out = format!("{scheme}://{authority}/{database}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// Generates `#[tokio::test] async fn $sqlite()` and `async fn $postgres()` for each contract
/// `async fn $test(store: Store)`. With `location:` the test also gets the database's location.
macro_rules! contract {
    (location: $($test:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test]
        async fn $sqlite() {
            let db = TestDb::sqlite();
            $test(db.store.clone(), db.location.clone()).await;
        }

        #[tokio::test]
        async fn $postgres() {
            let Some(db) = TestDb::postgres() else { return };
            $test(db.store.clone(), db.location.clone()).await;
        }
    )*};
    ($($test:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test]
        async fn $sqlite() {
            let db = TestDb::sqlite();
            $test(db.store.clone()).await;
        }

        #[tokio::test]
        async fn $postgres() {
            let Some(db) = TestDb::postgres() else { return };
            $test(db.store.clone()).await;
        }
    )*};
}

contract! { location:
    migrations_are_idempotent => sqlite_migrations_are_idempotent, postgres_migrations_are_idempotent;
    fresh_stores_open_reliably => sqlite_fresh_stores_open_reliably, postgres_fresh_stores_open_reliably;
}

contract! {
    parallel_lanes_share_new_authors => sqlite_parallel_lanes_share_new_authors, postgres_parallel_lanes_share_new_authors;
    users => sqlite_users, postgres_users;
    sessions => sqlite_sessions, postgres_sessions;
    tokens => sqlite_tokens, postgres_tokens;
    channels => sqlite_channels, postgres_channels;
    teams => sqlite_teams, postgres_teams;
    raw_events => sqlite_raw_events, postgres_raw_events;
    ingest_creates_contact_conversation_and_case => sqlite_ingest_creates_contact_conversation_and_case,
        postgres_ingest_creates_contact_conversation_and_case;
    ingest_threads_messages_into_cases => sqlite_ingest_threads_messages_into_cases,
        postgres_ingest_threads_messages_into_cases;
    ingest_deduplicates_messages => sqlite_ingest_deduplicates_messages, postgres_ingest_deduplicates_messages;
    ingest_isolates_failed_items => sqlite_ingest_isolates_failed_items, postgres_ingest_isolates_failed_items;
    ingest_reopens_resolved_and_replaces_closed_cases => sqlite_ingest_reopens_resolved_and_replaces_closed_cases,
        postgres_ingest_reopens_resolved_and_replaces_closed_cases;
    ingest_wakes_pending_case => sqlite_ingest_wakes_pending_case, postgres_ingest_wakes_pending_case;
    case_messages_in_time_order => sqlite_case_messages_in_time_order, postgres_case_messages_in_time_order;
    ingest_batch_keeps_message_order => sqlite_ingest_batch_keeps_message_order,
        postgres_ingest_batch_keeps_message_order;
    list_cases_filters => sqlite_list_cases_filters, postgres_list_cases_filters;
    list_cases_pagination => sqlite_list_cases_pagination, postgres_list_cases_pagination;
    update_case_transitions => sqlite_update_case_transitions, postgres_update_case_transitions;
    update_case_rejects_invalid_changes => sqlite_update_case_rejects_invalid_changes,
        postgres_update_case_rejects_invalid_changes;
    update_case_fields_events_and_audit => sqlite_update_case_fields_events_and_audit,
        postgres_update_case_fields_events_and_audit;
    add_reply_queues_outbound => sqlite_add_reply_queues_outbound, postgres_add_reply_queues_outbound;
    add_reply_to_closed_case_is_invalid => sqlite_add_reply_to_closed_case_is_invalid,
        postgres_add_reply_to_closed_case_is_invalid;
    add_note_is_internal => sqlite_add_note_is_internal, postgres_add_note_is_internal;
    claim_outbound_leases => sqlite_claim_outbound_leases, postgres_claim_outbound_leases;
    record_delivery_outcomes => sqlite_record_delivery_outcomes, postgres_record_delivery_outcomes;
    visible_messages_are_numbered_when_seen => sqlite_visible_messages_are_numbered_when_seen, postgres_visible_messages_are_numbered_when_seen;
    knowledge_base_versions_and_imports => sqlite_knowledge_base_versions_and_imports, postgres_knowledge_base_versions_and_imports;
    questions_since_reads_recent_customer_messages => sqlite_questions_since_reads_recent_customer_messages, postgres_questions_since_reads_recent_customer_messages;
    a_case_goes_only_to_a_member_of_its_team => sqlite_a_case_goes_only_to_a_member_of_its_team, postgres_a_case_goes_only_to_a_member_of_its_team;
    messages_are_searchable_at_once => sqlite_messages_are_searchable_at_once, postgres_messages_are_searchable_at_once;
    events_after_resumes => sqlite_events_after_resumes, postgres_events_after_resumes;
    list_audit_pagination => sqlite_list_audit_pagination, postgres_list_audit_pagination;
    contact_and_timeline => sqlite_contact_and_timeline, postgres_contact_and_timeline;
    audit_log_is_append_only => sqlite_audit_log_is_append_only, postgres_audit_log_is_append_only;
    concurrent_appends_are_isolated => sqlite_concurrent_appends_are_isolated,
        postgres_concurrent_appends_are_isolated;
    text_round_trips => sqlite_text_round_trips, postgres_text_round_trips;
    text_with_nul_round_trips => sqlite_text_with_nul_round_trips, postgres_text_with_nul_round_trips;
    ingest_report_matches_what_was_stored => sqlite_ingest_report_matches_what_was_stored,
        postgres_ingest_report_matches_what_was_stored;
    concurrent_writes_are_isolated => sqlite_concurrent_writes_are_isolated, postgres_concurrent_writes_are_isolated;
    names_sort_the_same_on_every_backend => sqlite_names_sort_the_same_on_every_backend,
        postgres_names_sort_the_same_on_every_backend;
    playbook_versions => sqlite_playbook_versions, postgres_playbook_versions;
    ingest_routes_by_the_active_playbook => sqlite_ingest_routes_by_the_active_playbook,
        postgres_ingest_routes_by_the_active_playbook;
    simulation_replays_stored_cases => sqlite_simulation_replays_stored_cases,
        postgres_simulation_replays_stored_cases;
    sla_watch_warns_breaches_and_acts_once => sqlite_sla_watch_warns_breaches_and_acts_once,
        postgres_sla_watch_warns_breaches_and_acts_once;
    lifecycle_reopen_window_pause_and_custom_purposes =>
        sqlite_lifecycle_reopen_window_pause_and_custom_purposes,
        postgres_lifecycle_reopen_window_pause_and_custom_purposes;
    merge_moves_messages_and_closes_sources => sqlite_merge_moves_messages_and_closes_sources,
        postgres_merge_moves_messages_and_closes_sources;
    merge_refusals_change_nothing => sqlite_merge_refusals_change_nothing, postgres_merge_refusals_change_nothing;
    merge_contacts_links_a_mention_and_its_follow_up => sqlite_merge_contacts_links_a_mention_and_its_follow_up,
        postgres_merge_contacts_links_a_mention_and_its_follow_up;
    contact_keys_suggest_merges => sqlite_contact_keys_suggest_merges, postgres_contact_keys_suggest_merges;
    templates_reach_the_outbound_job => sqlite_templates_reach_the_outbound_job,
        postgres_templates_reach_the_outbound_job;
    merge_contacts_moves_everything_or_nothing => sqlite_merge_contacts_moves_everything_or_nothing,
        postgres_merge_contacts_moves_everything_or_nothing;
    split_moves_messages_to_a_new_case => sqlite_split_moves_messages_to_a_new_case,
        postgres_split_moves_messages_to_a_new_case;
    split_refusals_change_nothing => sqlite_split_refusals_change_nothing, postgres_split_refusals_change_nothing;
    notify_hooks_are_queued_with_the_case_and_tracked_to_the_end =>
        sqlite_notify_hooks_are_queued_with_the_case_and_tracked_to_the_end,
        postgres_notify_hooks_are_queued_with_the_case_and_tracked_to_the_end;
    escalation_notifies_the_teams_supervisors => sqlite_escalation_notifies_the_teams_supervisors,
        postgres_escalation_notifies_the_teams_supervisors;
    models_are_versioned_and_one_is_active => sqlite_models_are_versioned_and_one_is_active,
        postgres_models_are_versioned_and_one_is_active;
    languages_are_reported_under_todays_codes => sqlite_languages_are_reported_under_todays_codes,
        postgres_languages_are_reported_under_todays_codes;
    corrections_become_training_examples => sqlite_corrections_become_training_examples,
        postgres_corrections_become_training_examples;
    a_learning_decision_is_taken_once => sqlite_a_learning_decision_is_taken_once,
        postgres_a_learning_decision_is_taken_once;
}

// =============================================================================================
// Fixtures.

/// 2026-01-01T00:00:00Z, in microseconds.
const T0: i64 = 1_767_225_600_000_000;

/// `T0` plus `sec` seconds. Tests use distinct seconds for things that must be ordered.
fn t(sec: i64) -> Timestamp {
    Timestamp::from_unix_micros(T0 + sec * 1_000_000)
}

/// Migrates a fresh database and checks a second run applies nothing.
async fn migrated(store: &Store) {
    let first = store.migrate().await.unwrap();
    assert!(!first.is_empty(), "a fresh database applies migrations");
    assert!(
        first.windows(2).all(|w| w[0] < w[1]),
        "applied in order: {first:?}"
    );
    assert_eq!(
        store.migrate().await.unwrap(),
        Vec::<i64>::new(),
        "a second migrate applies nothing"
    );
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn as_user(u: &User) -> Actor {
    Actor::User {
        id: u.id,
        name: u.display_name.clone(),
    }
}

async fn make_user(store: &Store, username: &str, role: Role, at: Timestamp) -> User {
    store
        .create_user(
            NewUser {
                username: Username::parse(username).unwrap(),
                display_name: name(&format!("User {username}")),
                role,
                password_hash: Some(format!("$argon2id$hash-of-{username}")),
            },
            Actor::System,
            at,
        )
        .await
        .unwrap()
}

async fn make_channel(store: &Store, kind: &str, label: &str, at: Timestamp) -> Channel {
    store
        .create_channel(
            kind.to_owned(),
            name(label),
            json!({ "label": label }),
            vec![1, 2, 3],
            Actor::System,
            at,
        )
        .await
        .unwrap()
}

async fn make_team(store: &Store, label: &str, at: Timestamp) -> Team {
    store
        .create_team(name(label), Actor::System, at)
        .await
        .unwrap()
}

/// A private message from `author` (the channel's id for them) on `thread`.
fn msg(external_id: &str, thread: &str, author: &str) -> InboundMessage {
    InboundMessage {
        external_id: external_id.to_owned(),
        thread: thread.to_owned(),
        public: false,
        author: Sender {
            external_id: author.to_owned(),
            name: Some(format!("Customer {author}")),
            handle: None,
            followers: None,
            verified: None,
        },
        text: format!("text of {external_id}"),
        sent_at: None,
        attachments: vec![],
        reply_to: None,
    }
}

/// A raw event holding `msgs`, received at `t(at)` on `channel`, stored and not yet ingested.
async fn raw_item(
    store: &Store,
    channel: &Channel,
    at: Timestamp,
    msgs: Vec<InboundMessage>,
) -> IngestItem {
    let raw = RawEvent {
        id: RawEventId::new_at(at),
        channel_id: channel.id,
        external_id: None,
        body: b"{}".to_vec(),
        received_at: at,
    };
    assert_eq!(
        store.append_raw(raw.clone()).await.unwrap(),
        Appended::Stored
    );
    IngestItem {
        raw_id: raw.id,
        channel_id: channel.id,
        channel_kind: channel.kind.clone(),
        received_at: at,
        parsed: Ok(msgs.into_iter().map(ChannelEvent::Message).collect()),
        understood: vec![],
    }
}

/// Stores one raw event with `msgs` and ingests it at `t(at)`.
async fn deliver(
    store: &Store,
    channel: &Channel,
    at: i64,
    msgs: Vec<InboundMessage>,
) -> IngestReport {
    let item = raw_item(store, channel, t(at), msgs).await;
    store.ingest(vec![item], t(at)).await.unwrap()
}

/// The case the last message of an ingest went to.
fn case_of(report: &IngestReport) -> CaseId {
    report
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "message.created")
        .and_then(|e| e.case_id)
        .expect("a message.created event with a case id")
}

/// The id of the last message an ingest created.
fn message_of(report: &IngestReport) -> MessageId {
    let ev = report
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "message.created")
        .expect("a message.created event");
    MessageId::parse(
        ev.data["message"]["id"]
            .as_str()
            .expect("message id in the event"),
    )
    .unwrap()
}

async fn case(store: &Store, id: CaseId) -> Case {
    store.case(id).await.unwrap().case
}

async fn detail(store: &Store, id: CaseId) -> CaseDetail {
    store.case(id).await.unwrap()
}

fn status(s: CaseStatus) -> CasePatch {
    CasePatch {
        status: Some(s),
        ..CasePatch::default()
    }
}

/// The whole audit log, newest first.
async fn all_audit(store: &Store) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_audit(cursor, 100).await.unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c.parse::<i64>().expect("audit cursor is a seq")),
            None => return out,
        }
    }
}

async fn all_events(store: &Store) -> Vec<Event> {
    store.events_after(0, 10_000).await.unwrap()
}

async fn all_cases(store: &Store, filter: CaseFilter) -> Vec<CaseId> {
    store
        .list_cases(filter, None, 1000)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.id)
        .collect()
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn assert_invalid<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(StoreError::Invalid(_) | StoreError::InvalidField(..)) => {}
        other => panic!("{what}: expected StoreError::Invalid, got {other:?}"),
    }
}

fn assert_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected StoreError::Conflict, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(StoreError::NotFound) => {}
        other => panic!("{what}: expected StoreError::NotFound, got {other:?}"),
    }
}

// =============================================================================================
// Migrations.

async fn migrations_are_idempotent(store: Store, location: Location) {
    // Two nodes (here: two callers) migrating at once: the migrations are applied once.
    let (a, b) = tokio::join!(store.migrate(), store.migrate());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.is_empty() != b.is_empty(),
        "exactly one of two concurrent migrations applies: {a:?} {b:?}"
    );
    let applied = if a.is_empty() { b } else { a };
    assert!(applied.windows(2).all(|w| w[0] < w[1]), "{applied:?}");
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    store.ping().await.unwrap();

    assert!(store.set_setting_once("instance", "first").await.unwrap());
    assert!(
        !store.set_setting_once("instance", "second").await.unwrap(),
        "a set setting is kept"
    );
    assert_eq!(
        store.setting("instance").await.unwrap().as_deref(),
        Some("first")
    );
    assert_eq!(store.setting("missing").await.unwrap(), None);
    let ann = make_user(&store, "ann", Role::Admin, t(1)).await;
    drop(store);

    // Reopened: nothing to migrate, the data is there.
    let again = open_store(location);
    assert_eq!(again.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(
        again.setting("instance").await.unwrap().as_deref(),
        Some("first")
    );
    assert_eq!(again.user(ann.id).await.unwrap(), ann);
}

/// Opening a store succeeds the first time: on a new SQLite file (next to this test's database)
/// and, on PostgreSQL, several stores at once on the same database.
async fn fresh_stores_open_reliably(store: Store, location: Location) {
    migrated(&store).await;
    let mut failures = Vec::new();
    match &location {
        Location::Sqlite(path) => {
            let dir = path.parent().expect("the test database is in a directory");
            for i in 0..40 {
                let fresh = Location::Sqlite(dir.join(format!("fresh-{i}.db")));
                match try_open_store(fresh) {
                    Ok(s) => {
                        assert_eq!(s.migrate().await.map(|v| v.is_empty()), Ok(false));
                        s.ping().await.unwrap();
                    }
                    Err(e) => failures.push(format!("fresh-{i}.db: {e:?}")),
                }
            }
        }
        Location::Postgres(_) => {
            let opened: Vec<_> = (0..5)
                .map(|_| {
                    let location = location.clone();
                    std::thread::spawn(move || Store::open(&location))
                })
                .collect();
            for (i, h) in opened.into_iter().enumerate() {
                match h.join().expect("open thread panicked") {
                    Ok(s) => {
                        assert_eq!(s.migrate().await, Ok(vec![]));
                        s.ping().await.unwrap();
                    }
                    Err(e) => failures.push(format!("store {i}: {e:?}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "Store::open failed: {failures:#?}");
}

// =============================================================================================
// People, credentials, channels, teams.

async fn users(store: Store) {
    migrated(&store).await;
    let ann = store
        .create_user(
            NewUser {
                username: Username::parse("ann").unwrap(),
                display_name: name("Ann Lee"),
                role: Role::Admin,
                password_hash: Some("$argon2id$v=19$ann".into()),
            },
            Actor::System,
            t(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            ann.username.as_str(),
            ann.display_name.as_str(),
            ann.role,
            ann.active,
            ann.created_at
        ),
        ("ann", "Ann Lee", Role::Admin, true, t(1))
    );
    let bob = store
        .create_user(
            NewUser {
                username: Username::parse("bob").unwrap(),
                display_name: name("Bob"),
                role: Role::Agent,
                password_hash: None,
            },
            as_user(&ann),
            t(2),
        )
        .await
        .unwrap();

    let dup = store
        .create_user(
            NewUser {
                username: Username::parse("ann").unwrap(),
                display_name: name("Another Ann"),
                role: Role::Reviewer,
                password_hash: None,
            },
            Actor::System,
            t(3),
        )
        .await;
    assert_conflict(dup, "duplicate username");

    assert_eq!(
        store.list_users().await.unwrap(),
        vec![ann.clone(), bob.clone()]
    );
    assert_eq!(store.user(ann.id).await.unwrap(), ann);
    assert_eq!(store.user(bob.id).await.unwrap(), bob);
    assert_not_found(store.user(UserId::new_at(t(4))).await, "unknown user");

    let (user, hash) = store
        .user_credentials("ann")
        .await
        .unwrap()
        .expect("ann exists");
    assert_eq!(user, ann);
    assert_eq!(hash.as_deref(), Some("$argon2id$v=19$ann"));
    let (user, hash) = store
        .user_credentials("bob")
        .await
        .unwrap()
        .expect("bob exists");
    assert_eq!((user, hash), (bob.clone(), None));
    assert_eq!(store.user_credentials("nobody").await.unwrap(), None);

    // Each creation is audited, with its actor; the refused duplicate is not.
    let created: Vec<AuditEntry> = all_audit(&store)
        .await
        .into_iter()
        .filter(|e| e.action == "user.created")
        .collect();
    assert_eq!(created.len(), 2, "{created:?}");
    let (for_bob, for_ann) = (&created[0], &created[1]);
    assert_eq!(
        (for_ann.subject_kind.as_str(), for_ann.subject_id.clone()),
        ("user", ann.id.to_string())
    );
    assert_eq!(
        (for_ann.actor_kind.as_str(), for_ann.actor_id.clone()),
        ("system", None)
    );
    assert_eq!(for_ann.at, t(1));
    assert_eq!(for_ann.details["username"], "ann");
    assert_eq!(
        (for_bob.actor_kind.as_str(), for_bob.actor_id.clone()),
        ("user", Some(ann.id.to_string()))
    );
    assert_eq!(for_bob.actor_name, "Ann Lee");
}

async fn sessions(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    store
        .create_session("session-1".into(), ann.id, t(10), t(20))
        .await
        .unwrap();
    store
        .create_session("session-2".into(), ann.id, t(10), t(20))
        .await
        .unwrap();
    assert_eq!(ann.availability, Availability::Offline);
    let ann = User {
        availability: Availability::Online,
        ..ann
    };

    assert_eq!(
        store.session_user("session-1".into(), t(11)).await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        store.session_user("session-1".into(), t(19)).await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        store.session_user("session-1".into(), t(20)).await.unwrap(),
        None,
        "expired at expiry"
    );
    assert_eq!(
        store.session_user("session-1".into(), t(21)).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store
            .session_user("no-such-session".into(), t(11))
            .await
            .unwrap(),
        None
    );

    store.delete_session("session-2".into()).await.unwrap();
    assert_eq!(
        store.session_user("session-2".into(), t(11)).await.unwrap(),
        None,
        "deleted"
    );
    assert_eq!(
        store.session_user("session-1".into(), t(11)).await.unwrap(),
        Some(ann.clone()),
        "others stay"
    );
    store
        .delete_session("no-such-session".into())
        .await
        .unwrap();

    // A session must belong to a user.
    let orphan = store
        .create_session("session-3".into(), UserId::new_at(t(2)), t(10), t(20))
        .await;
    assert!(orphan.is_err(), "a session for an unknown user: {orphan:?}");
    assert_eq!(
        store.session_user("session-3".into(), t(11)).await.unwrap(),
        None
    );
}

async fn tokens(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Admin, t(1)).await;
    let token = store
        .create_token(
            name("CI bot"),
            Role::Agent,
            "token-hash-1".into(),
            as_user(&ann),
            t(2),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            token.name.as_str(),
            token.role,
            token.created_at,
            token.revoked_at
        ),
        ("CI bot", Role::Agent, t(2), None)
    );
    assert_eq!(
        store.token_by_hash("token-hash-1".into()).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store
            .token_by_hash("token-hash-unknown".into())
            .await
            .unwrap(),
        None
    );

    let dup = store
        .create_token(
            name("Other"),
            Role::Reviewer,
            "token-hash-1".into(),
            as_user(&ann),
            t(3),
        )
        .await;
    assert_conflict(dup, "duplicate token hash");
    assert_eq!(
        store.token_by_hash("token-hash-1".into()).await.unwrap(),
        Some(token.clone())
    );

    let audit = all_audit(&store).await;
    let entry = audit
        .iter()
        .find(|e| e.action == "token.created")
        .expect("token.created audited");
    assert_eq!(entry.subject_id, token.id.to_string());
    assert_eq!(entry.actor_id, Some(ann.id.to_string()));
    assert!(
        !entry.details.to_string().contains("token-hash-1"),
        "the token hash is not audited"
    );
}

async fn channels(store: Store) {
    migrated(&store).await;
    // Every byte value, and a recognizable marker.
    let mut secret: Vec<u8> = (0..=255u8).rev().collect();
    secret.extend_from_slice(b"TOPSECRET-7f3a");
    let config = json!({ "page_id": "1234567890", "nested": { "list": [1, 2, 3], "flag": true }, "ratio": 0.5 });
    let fb = store
        .create_channel(
            "facebook".into(),
            name("Main page"),
            config.clone(),
            secret.clone(),
            Actor::System,
            t(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            fb.kind.as_str(),
            fb.name.as_str(),
            &fb.config,
            fb.active,
            fb.created_at
        ),
        ("facebook", "Main page", &config, true, t(1))
    );
    assert_eq!(fb.secret_sealed, secret);
    let hook = store
        .create_channel(
            "webhook".into(),
            name("Partner app"),
            json!({}),
            b"plain".to_vec(),
            Actor::System,
            t(2),
        )
        .await
        .unwrap();

    let got = store.channel(fb.id).await.unwrap();
    assert_eq!(
        got.secret_sealed, secret,
        "the sealed secret round-trips byte for byte"
    );
    assert_eq!(got, fb);
    assert_eq!(
        store.channel(hook.id).await.unwrap().secret_sealed,
        b"plain".to_vec()
    );
    assert_eq!(
        store.list_channels().await.unwrap(),
        vec![fb.clone(), hook.clone()]
    );
    assert_not_found(
        store.channel(ChannelId::new_at(t(3))).await,
        "unknown channel",
    );

    // The secret never shows in Debug output, serialization or the audit log.
    let secret_list = format!("{:?}", &secret[..8]);
    let secret_list = secret_list.trim_end_matches(']');
    for text in [
        format!("{fb:?}"),
        format!("{got:?}"),
        format!("{:?}", store.list_channels().await.unwrap()),
        serde_json::to_string(&got).unwrap(),
        format!("{:?}", all_audit(&store).await),
    ] {
        assert!(!text.contains("TOPSECRET"), "secret marker leaked: {text}");
        assert!(!text.contains(secret_list), "secret bytes leaked: {text}");
    }
    assert!(
        !serde_json::to_string(&got).unwrap().contains("secret"),
        "secret_sealed is not serialized"
    );
}

async fn teams(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Supervisor, t(1)).await;
    let bob = make_user(&store, "bob", Role::Agent, t(2)).await;
    let member = |u: &User| TeamMember {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        skills: vec![],
        availability: Availability::Offline,
    };

    let support = store
        .create_team(name("Support EU"), as_user(&ann), t(3))
        .await
        .unwrap();
    assert_eq!(
        (
            support.name.as_str(),
            support.created_at,
            support.members.len()
        ),
        ("Support EU", t(3), 0)
    );
    assert_conflict(
        store
            .create_team(name("Support EU"), as_user(&ann), t(4))
            .await,
        "duplicate team name",
    );
    assert_conflict(
        store
            .create_team(name("  Support EU "), as_user(&ann), t(4))
            .await,
        "duplicate after trimming",
    );

    let team = store
        .add_team_member(support.id, bob.id, as_user(&ann), t(5))
        .await
        .unwrap();
    assert_eq!(team.members, vec![member(&bob)]);
    let again = store
        .add_team_member(support.id, bob.id, as_user(&ann), t(6))
        .await
        .unwrap();
    assert_eq!(
        again.members,
        vec![member(&bob)],
        "adding a member twice is a no-op"
    );
    let team = store
        .add_team_member(support.id, ann.id, as_user(&ann), t(7))
        .await
        .unwrap();
    assert_eq!(
        team.members,
        vec![member(&ann), member(&bob)],
        "members by username"
    );
    assert_eq!(store.team(support.id).await.unwrap(), team);

    assert_invalid(
        store
            .add_team_member(support.id, UserId::new_at(t(8)), as_user(&ann), t(8))
            .await,
        "unknown user",
    );
    assert_not_found(
        store
            .add_team_member(TeamId::new_at(t(8)), bob.id, as_user(&ann), t(8))
            .await,
        "unknown team",
    );
    assert_eq!(
        store.team(support.id).await.unwrap(),
        team,
        "failed adds change nothing"
    );

    let team = store
        .remove_team_member(support.id, bob.id, as_user(&ann), t(9))
        .await
        .unwrap();
    assert_eq!(team.members, vec![member(&ann)]);
    assert_not_found(
        store
            .remove_team_member(support.id, bob.id, as_user(&ann), t(10))
            .await,
        "not a member",
    );
    assert_not_found(store.team(TeamId::new_at(t(10))).await, "unknown team");

    let sales = make_team(&store, "Sales", t(11)).await;
    let listed = store.list_teams().await.unwrap();
    assert_eq!(listed, vec![sales, team], "teams by name");

    let audit = all_audit(&store).await;
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!(count("team.created"), 2);
    assert_eq!(
        count("team.member_added"),
        2,
        "the repeated add is not audited"
    );
    assert_eq!(count("team.member_removed"), 1);
}

// =============================================================================================
// Raw events and ingest.

async fn raw_events(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let other = make_channel(&store, "instagram", "Insta", t(2)).await;
    let ev = |sec: i64, channel: &Channel, external_id: Option<&str>, body: Vec<u8>| RawEvent {
        id: RawEventId::new_at(t(sec)),
        channel_id: channel.id,
        external_id: external_id.map(str::to_owned),
        body,
        received_at: t(sec),
    };
    let e1 = ev(10, &ch, Some("evt-1"), b"{\"n\":1}".to_vec());
    let e1_again = ev(11, &ch, Some("evt-1"), b"{\"n\":\"again\"}".to_vec());
    let e1_elsewhere = ev(12, &other, Some("evt-1"), b"{\"n\":2}".to_vec());
    let anon_a = ev(13, &ch, None, vec![0, 159, 146, 150, 255]);
    let anon_b = ev(14, &ch, None, Vec::new());

    assert_eq!(
        store.append_raw(e1.clone()).await.unwrap(),
        Appended::Stored
    );
    assert_eq!(
        store.append_raw(e1_again.clone()).await.unwrap(),
        Appended::Duplicate
    );
    assert_eq!(
        store.append_raw(e1_elsewhere.clone()).await.unwrap(),
        Appended::Stored,
        "another channel"
    );
    assert_eq!(
        store.append_raw(anon_a.clone()).await.unwrap(),
        Appended::Stored
    );
    assert_eq!(
        store.append_raw(anon_b.clone()).await.unwrap(),
        Appended::Stored,
        "no external id: never a duplicate"
    );

    let pending = store.pending_raw(None, 100).await.unwrap();
    assert_eq!(
        pending,
        vec![
            e1.clone(),
            e1_elsewhere.clone(),
            anon_a.clone(),
            anon_b.clone()
        ],
        "oldest first, as stored"
    );
    assert_eq!(store.pending_raw_count().await.unwrap(), 4);
    assert_eq!(
        store.pending_raw(None, 2).await.unwrap(),
        vec![e1.clone(), e1_elsewhere.clone()]
    );
    assert_eq!(
        store.pending_raw(Some(e1_elsewhere.id), 100).await.unwrap(),
        vec![anon_a.clone(), anon_b.clone()]
    );

    let item = |raw: &RawEvent, parsed: Result<Vec<InboundMessage>, String>| IngestItem {
        parsed: parsed.map(|msgs| msgs.into_iter().map(ChannelEvent::Message).collect()),
        raw_id: raw.id,
        channel_id: raw.channel_id,
        channel_kind: if raw.channel_id == ch.id {
            "facebook".into()
        } else {
            "instagram".into()
        },
        received_at: raw.received_at,
        understood: vec![],
    };
    let report = store
        .ingest(
            vec![
                item(&e1, Ok(vec![msg("m-1", "thread-1", "cust-1")])),
                item(&anon_a, Err("unreadable body".into())),
            ],
            t(20),
        )
        .await
        .unwrap();
    assert_eq!((report.messages, report.failed), (1, 1));
    assert_eq!(
        store.pending_raw(None, 100).await.unwrap(),
        vec![e1_elsewhere.clone(), anon_b.clone()]
    );
    assert_eq!(store.pending_raw_count().await.unwrap(), 2);

    let report = store
        .ingest(
            vec![item(&e1_elsewhere, Ok(vec![])), item(&anon_b, Ok(vec![]))],
            t(21),
        )
        .await
        .unwrap();
    assert_eq!((report.messages, report.failed), (0, 0));
    assert_eq!(store.pending_raw(None, 100).await.unwrap(), Vec::new());
    assert_eq!(store.pending_raw_count().await.unwrap(), 0);

    // Once processed, the deduplication still holds.
    assert_eq!(
        store.append_raw(e1_again).await.unwrap(),
        Appended::Duplicate
    );
}

/// Raw events appended at once (and so possibly stored in one batch): each gets its own answer.
/// Duplicates within the burst are told apart, and an event that cannot be stored (its channel
/// does not exist) is refused alone, without refusing or losing its neighbours.
async fn concurrent_appends_are_isolated(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "webhook", "Partner app", t(1)).await;
    let mut events = Vec::new();
    for i in 0..20 {
        events.push((Some(format!("evt-{i}")), ch.id));
    }
    for i in 0..5 {
        events.push((Some(format!("evt-{i}")), ch.id)); // the provider sends it again
    }
    for _ in 0..3 {
        events.push((None, ch.id));
    }
    events.insert(7, (Some("evt-ghost-1".into()), ChannelId::new_at(t(2))));
    events.insert(15, (None, ChannelId::new_at(t(3))));

    let mut set = tokio::task::JoinSet::new();
    for (i, (external_id, channel_id)) in events.into_iter().enumerate() {
        let store = store.clone();
        let ev = RawEvent {
            id: RawEventId::new_at(t(10 + i as i64)),
            channel_id,
            external_id,
            body: format!("body {i}").into_bytes(),
            received_at: t(10 + i as i64),
        };
        set.spawn(async move { (ev.clone(), store.append_raw(ev).await) });
    }
    let mut stored: Vec<RawEvent> = Vec::new();
    let mut duplicates: Vec<RawEvent> = Vec::new();
    let mut refused: Vec<(RawEvent, StoreError)> = Vec::new();
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            (ev, Ok(Appended::Stored)) => stored.push(ev),
            (ev, Ok(Appended::Duplicate)) => duplicates.push(ev),
            (ev, Err(e)) => refused.push((ev, e)),
        }
    }
    let ghosts: Vec<&RawEvent> = refused
        .iter()
        .map(|(ev, _)| ev)
        .filter(|ev| ev.channel_id != ch.id)
        .collect();
    let in_store = store.pending_raw(None, 100).await.unwrap();
    assert_eq!(
        (stored.len(), duplicates.len(), refused.len(), ghosts.len()),
        (23, 5, 2, 2),
        "stored {stored:?}\nduplicates {duplicates:?}\nrefused {refused:?}\n{} events in the store",
        in_store.len()
    );
    for i in 0..5 {
        let ext = Some(format!("evt-{i}"));
        let n = stored.iter().filter(|e| e.external_id == ext).count();
        assert_eq!(n, 1, "exactly one evt-{i} stored");
    }
    stored.sort_by_key(|e| e.id);
    assert_eq!(
        store.pending_raw(None, 100).await.unwrap(),
        stored,
        "what was acknowledged as stored is stored"
    );
}

async fn ingest_creates_contact_conversation_and_case(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let mut first = msg("m-1", "thread-1", "cust-1");
    first.author = Sender {
        external_id: "cust-1".into(),
        name: Some("Carla".into()),
        handle: Some("@carla".into()),
        followers: None,
        verified: None,
    };
    first.text = "Hello, my order is late".into();
    first.sent_at = Some(t(9));
    let item = raw_item(&store, &ch, t(10), vec![first]).await;
    let report = store.ingest(vec![item], t(10)).await.unwrap();
    assert_eq!(
        (
            report.messages,
            report.duplicates,
            report.cases_opened,
            report.failed
        ),
        (1, 0, 1, 0)
    );
    assert_eq!(kinds(&report.events), ["case.created", "message.created"]);
    assert_eq!(store.pending_raw_count().await.unwrap(), 0);

    let cases = store
        .list_cases(CaseFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(cases.items.len(), 1);
    assert_eq!(cases.next_cursor, None);
    let c = cases.items[0].clone();
    assert!(report.events.iter().all(|e| e.case_id == Some(c.id)));
    assert_eq!(c.status, CaseStatus::New);
    assert_eq!(c.purpose, Purpose::tier1());
    assert_eq!(c.priority, Priority::Normal);
    assert_eq!(
        (c.team, c.assignee, c.tags.clone()),
        (None, None, Vec::<String>::new())
    );
    assert_eq!((c.channel_id, c.public), (ch.id, false));
    assert_eq!(
        (
            c.created_at,
            c.updated_at,
            c.first_response_at,
            c.resolved_at,
            c.reopen_count
        ),
        (t(10), t(10), None, None, 0)
    );

    let contact = store.contact(c.contact_id).await.unwrap();
    assert_eq!(contact.display_name.as_deref(), Some("Carla"));
    assert_eq!(contact.created_at, t(10));
    assert_eq!(
        contact.identities,
        vec![Identity {
            channel_id: ch.id,
            channel_kind: "facebook".into(),
            external_id: "cust-1".into(),
            name: Some("Carla".into()),
            handle: Some("@carla".into()),
            followers: None,
            verified: None,
        }]
    );
    let contacts = store.list_contacts(None, 10).await.unwrap();
    assert_eq!(contacts.items, vec![contact.clone()]);

    let d = detail(&store, c.id).await;
    assert_eq!(d.case, c);
    assert_eq!(d.messages.len(), 1);
    let m = &d.messages[0];
    assert_eq!(
        (m.case_id, m.conversation_id, m.channel_id),
        (c.id, c.conversation_id, ch.id)
    );
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.external_id.as_deref(), Some("m-1"));
    assert_eq!(m.author.kind, "contact");
    assert_eq!(m.author.id, Some(contact.id.to_string()));
    assert_eq!(m.author.name.as_deref(), Some("Carla"));
    assert_eq!(m.text, "Hello, my order is late");
    assert_eq!(
        (m.sent_at, m.created_at),
        (t(9), t(10)),
        "sent_at is the customer's time"
    );
    assert_eq!(
        (
            m.delivery_state,
            m.delivery_error.clone(),
            m.attempts,
            m.in_reply_to
        ),
        (DeliveryState::Received, None, 0, None)
    );
    assert_eq!(message_of(&report), m.id);

    // The events carry the records; the audit log names the system as the actor.
    assert_eq!(report.events[0].data["case"]["id"], c.id.to_string());
    assert_eq!(
        report.events[1].data["message"]["text"],
        "Hello, my order is late"
    );
    assert_eq!(
        all_events(&store).await,
        report.events,
        "the live events are the stored ones"
    );
    let audit = all_audit(&store).await;
    let created = audit
        .iter()
        .find(|e| e.action == "case.created")
        .expect("case.created audited");
    assert_eq!(
        (created.actor_kind.as_str(), created.subject_id.clone()),
        ("system", c.id.to_string())
    );

    // Without sent_at the message is dated when received; a public comment makes a public case.
    let mut comment = msg("m-2", "post-9", "cust-2");
    comment.public = true;
    comment.author.name = None;
    comment.author.handle = Some("@dora".into());
    let report = deliver(&store, &ch, 11, vec![comment]).await;
    let c2 = case(&store, case_of(&report)).await;
    assert!(c2.public);
    assert_eq!(
        store
            .contact(c2.contact_id)
            .await
            .unwrap()
            .display_name
            .as_deref(),
        Some("@dora"),
        "handle as name"
    );
    let d2 = detail(&store, c2.id).await;
    assert_eq!(d2.messages[0].sent_at, t(11));
    assert_eq!(store.list_contacts(None, 10).await.unwrap().items.len(), 2);
}

async fn ingest_threads_messages_into_cases(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let r1 = deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await;
    let case1 = case_of(&r1);

    let r2 = deliver(&store, &ch, 11, vec![msg("m-2", "thread-a", "cust-1")]).await;
    assert_eq!((r2.messages, r2.cases_opened), (1, 0));
    assert_eq!(
        case_of(&r2),
        case1,
        "the same thread attaches to the same case"
    );
    assert_eq!(
        kinds(&r2.events),
        ["message.created"],
        "a New case stays New"
    );

    let r3 = deliver(&store, &ch, 12, vec![msg("m-3", "thread-b", "cust-1")]).await;
    assert_eq!((r3.messages, r3.cases_opened), (1, 1));
    let case2 = case_of(&r3);
    assert_ne!(case2, case1, "another thread opens another case");

    let (c1, c2) = (case(&store, case1).await, case(&store, case2).await);
    assert_eq!(c1.contact_id, c2.contact_id, "one contact");
    assert_ne!(c1.conversation_id, c2.conversation_id, "two conversations");
    assert_eq!(
        c1.updated_at,
        t(10),
        "attaching a message to a New case does not change it"
    );
    let contact = store.contact(c1.contact_id).await.unwrap();
    assert_eq!(contact.identities.len(), 1);
    assert_eq!(store.list_contacts(None, 10).await.unwrap().items.len(), 1);

    let texts = |d: CaseDetail| {
        d.messages
            .into_iter()
            .map(|m| m.external_id.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(detail(&store, case1).await), ["m-1", "m-2"]);
    assert_eq!(texts(detail(&store, case2).await), ["m-3"]);
    assert_eq!(
        all_cases(&store, CaseFilter::default()).await,
        vec![case2, case1]
    );

    // The same thread key on another channel is another conversation, and another contact.
    let ig = make_channel(&store, "instagram", "Insta", t(2)).await;
    let r4 = deliver(&store, &ig, 13, vec![msg("m-1", "thread-a", "cust-1")]).await;
    assert_eq!((r4.messages, r4.duplicates, r4.cases_opened), (1, 0, 1));
    let c4 = case(&store, case_of(&r4)).await;
    assert_eq!(c4.channel_id, ig.id);
    assert_ne!(c4.contact_id, c1.contact_id, "an identity is per channel");
    assert_eq!(store.list_contacts(None, 10).await.unwrap().items.len(), 2);
}

async fn ingest_deduplicates_messages(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let r1 = deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await;
    let case1 = case_of(&r1);

    // The provider sends the same message again, in another raw event.
    let r2 = deliver(&store, &ch, 11, vec![msg("m-1", "thread-a", "cust-1")]).await;
    assert_eq!(
        (r2.messages, r2.duplicates, r2.cases_opened, r2.failed),
        (0, 1, 0, 0)
    );
    assert!(
        r2.events.is_empty(),
        "a duplicate emits nothing: {:?}",
        r2.events
    );

    // Twice within one batch.
    let r3 = deliver(
        &store,
        &ch,
        12,
        vec![
            msg("m-2", "thread-a", "cust-1"),
            msg("m-2", "thread-a", "cust-1"),
        ],
    )
    .await;
    assert_eq!((r3.messages, r3.duplicates), (1, 1));

    let ids: Vec<String> = detail(&store, case1)
        .await
        .messages
        .into_iter()
        .map(|m| m.external_id.unwrap())
        .collect();
    assert_eq!(ids, ["m-1", "m-2"]);
    assert_eq!(all_cases(&store, CaseFilter::default()).await, vec![case1]);
    assert_eq!(
        store.pending_raw_count().await.unwrap(),
        0,
        "duplicates are processed too"
    );
}

async fn ingest_isolates_failed_items(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let good_a = raw_item(&store, &ch, t(10), vec![msg("m-a", "thread-a", "cust-a")]).await;
    let mut unreadable = raw_item(&store, &ch, t(11), vec![]).await;
    unreadable.parsed = Err("not JSON".into());
    // A message for a channel that does not exist: the database refuses it.
    let ghost = IngestItem {
        raw_id: RawEventId::new_at(t(12)),
        channel_id: ChannelId::new_at(t(12)),
        channel_kind: "facebook".into(),
        received_at: t(12),
        parsed: Ok(vec![ChannelEvent::Message(msg(
            "m-ghost", "thread-g", "cust-g",
        ))]),
        understood: vec![],
    };
    let good_b = raw_item(&store, &ch, t(13), vec![msg("m-b", "thread-b", "cust-b")]).await;

    let report = store
        .ingest(vec![good_a, unreadable, ghost, good_b], t(20))
        .await
        .unwrap();
    assert_eq!(
        (
            report.messages,
            report.duplicates,
            report.cases_opened,
            report.failed
        ),
        (2, 0, 2, 2),
        "{report:?}"
    );
    assert_eq!(
        kinds(&report.events),
        [
            "case.created",
            "message.created",
            "case.created",
            "message.created"
        ]
    );

    let cases = store
        .list_cases(CaseFilter::default(), None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(cases.len(), 2);
    let contacts = store.list_contacts(None, 10).await.unwrap().items;
    assert_eq!(
        contacts.len(),
        2,
        "the failed item's contact was rolled back: {contacts:?}"
    );
    let mut ext: Vec<String> = Vec::new();
    for c in &cases {
        ext.extend(
            detail(&store, c.id)
                .await
                .messages
                .into_iter()
                .map(|m| m.external_id.unwrap()),
        );
    }
    ext.sort();
    assert_eq!(ext, ["m-a", "m-b"]);
    assert_eq!(
        store.pending_raw_count().await.unwrap(),
        0,
        "failed items are marked with their error"
    );
    assert_eq!(
        all_events(&store).await,
        report.events,
        "no events from the failed items"
    );
}

async fn ingest_reopens_resolved_and_replaces_closed_cases(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let case1 = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);
    let (resolved, _) = store
        .update_case(case1, status(CaseStatus::Resolved), Actor::System, t(11))
        .await
        .unwrap();
    assert_eq!(
        (resolved.status, resolved.resolved_at),
        (CaseStatus::Resolved, Some(t(11)))
    );

    // A customer message reopens a resolved case.
    let r = deliver(&store, &ch, 12, vec![msg("m-2", "thread-a", "cust-1")]).await;
    assert_eq!((r.messages, r.cases_opened), (1, 0));
    assert_eq!(case_of(&r), case1);
    assert_eq!(kinds(&r.events), ["case.updated", "message.created"]);
    assert_eq!(r.events[0].data["case"]["status"], "open");
    let c = case(&store, case1).await;
    assert_eq!(
        (c.status, c.reopen_count, c.resolved_at, c.updated_at),
        (CaseStatus::Open, 1, None, t(12))
    );
    let audit = all_audit(&store).await;
    assert_eq!(audit[0].action, "case.reopened", "{audit:?}");
    assert_eq!(
        (audit[0].actor_kind.as_str(), audit[0].subject_id.clone()),
        ("system", case1.to_string())
    );

    // Into a closed case: a new case on the same conversation.
    store
        .update_case(case1, status(CaseStatus::Closed), Actor::System, t(13))
        .await
        .unwrap();
    let r = deliver(&store, &ch, 14, vec![msg("m-3", "thread-a", "cust-1")]).await;
    assert_eq!((r.messages, r.cases_opened), (1, 1));
    let case2 = case_of(&r);
    assert_ne!(case2, case1);
    let (c1, c2) = (case(&store, case1).await, case(&store, case2).await);
    assert_eq!(
        (c1.status, c1.reopen_count),
        (CaseStatus::Closed, 1),
        "the closed case stays closed"
    );
    assert_eq!((c2.status, c2.reopen_count), (CaseStatus::New, 0));
    assert_eq!(
        (c2.conversation_id, c2.contact_id),
        (c1.conversation_id, c1.contact_id)
    );
    let ext = |d: CaseDetail| {
        d.messages
            .into_iter()
            .map(|m| m.external_id.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ext(detail(&store, case1).await), ["m-1", "m-2"]);
    assert_eq!(ext(detail(&store, case2).await), ["m-3"]);

    // The next message goes to the new case.
    let r = deliver(&store, &ch, 15, vec![msg("m-4", "thread-a", "cust-1")]).await;
    assert_eq!((case_of(&r), r.cases_opened), (case2, 0));
    assert_eq!(
        all_cases(&store, status_filter(CaseStatus::Closed)).await,
        vec![case1]
    );
}

fn status_filter(s: CaseStatus) -> CaseFilter {
    CaseFilter {
        status: Some(s),
        ..CaseFilter::default()
    }
}

async fn ingest_wakes_pending_case(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let case1 = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);
    store
        .update_case(case1, status(CaseStatus::Pending), Actor::System, t(11))
        .await
        .unwrap();
    let r = deliver(&store, &ch, 12, vec![msg("m-2", "thread-a", "cust-1")]).await;
    assert_eq!((case_of(&r), r.cases_opened), (case1, 0));
    let c = case(&store, case1).await;
    assert_eq!(
        (c.status, c.reopen_count, c.updated_at),
        (CaseStatus::Open, 0, t(12)),
        "woken, not reopened"
    );

    // With an expert, a customer message changes nothing but adds the message.
    store
        .update_case(case1, status(CaseStatus::WithExpert), Actor::System, t(13))
        .await
        .unwrap();
    let r = deliver(&store, &ch, 14, vec![msg("m-3", "thread-a", "cust-1")]).await;
    assert_eq!(kinds(&r.events), ["message.created"]);
    assert_eq!(case(&store, case1).await.status, CaseStatus::WithExpert);
}

async fn case_messages_in_time_order(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let ch = make_channel(&store, "facebook", "Page", t(2)).await;
    let r = deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await;
    let case1 = case_of(&r);
    let (reply1, _) = store
        .add_reply(case1, "first answer".into(), as_user(&ann), t(11))
        .await
        .unwrap();
    let (note, _) = store
        .add_note(case1, "customer seems upset".into(), as_user(&ann), t(12))
        .await
        .unwrap();
    let r2 = deliver(&store, &ch, 13, vec![msg("m-2", "thread-a", "cust-1")]).await;
    let (reply2, _) = store
        .add_reply(case1, "second answer".into(), as_user(&ann), t(14))
        .await
        .unwrap();

    let d = detail(&store, case1).await;
    let got: Vec<(MessageId, Direction, Timestamp)> = d
        .messages
        .iter()
        .map(|m| (m.id, m.direction, m.created_at))
        .collect();
    assert_eq!(
        got,
        vec![
            (message_of(&r), Direction::Inbound, t(10)),
            (reply1.id, Direction::Outbound, t(11)),
            (note.id, Direction::Note, t(12)),
            (message_of(&r2), Direction::Inbound, t(13)),
            (reply2.id, Direction::Outbound, t(14)),
        ]
    );
    assert_eq!(d.messages[1], reply1);
    assert_eq!(d.messages[2], note);
    assert_eq!(reply2.in_reply_to, Some(message_of(&r2)));
    assert_not_found(store.case(CaseId::new_at(t(20))).await, "unknown case");
}

/// Messages that arrive together (one ingest batch, one `now`) keep their order: the order the
/// customer sent them, which is also the order of the batch.
async fn ingest_batch_keeps_message_order(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let mut items = Vec::new();
    for i in 0..8 {
        let mut m = msg(&format!("m-{i}"), "thread-a", "cust-1");
        m.sent_at = Some(t(10 + i));
        items.push(raw_item(&store, &ch, t(10 + i), vec![m]).await);
    }
    let report = store.ingest(items, t(30)).await.unwrap();
    assert_eq!((report.messages, report.cases_opened), (8, 1));
    let expected: Vec<String> = (0..8).map(|i| format!("m-{i}")).collect();

    let d = detail(&store, case_of(&report)).await;
    let got: Vec<String> = d
        .messages
        .iter()
        .map(|m| m.external_id.clone().unwrap())
        .collect();
    assert_eq!(
        got, expected,
        "case messages of one batch, in the order sent (and ingested)"
    );

    let contact = d.case.contact_id;
    let timeline = store.contact_timeline(contact, None, 100).await.unwrap();
    let got: Vec<String> = timeline
        .items
        .iter()
        .map(|m| m.external_id.clone().unwrap())
        .collect();
    assert_eq!(
        got, expected,
        "the contact timeline of one batch, in the order sent (and ingested)"
    );
}

// =============================================================================================
// Listing and changing cases.

async fn list_cases_filters(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let support = make_team(&store, "Support", t(2)).await;
    let ch = make_channel(&store, "facebook", "Page", t(3)).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let r = deliver(
            &store,
            &ch,
            10 + i,
            vec![msg(
                &format!("m-{i}"),
                &format!("thread-{i}"),
                &format!("cust-{i}"),
            )],
        )
        .await;
        ids.push(case_of(&r));
    }
    let (c1, c2, c3, c4) = (ids[0], ids[1], ids[2], ids[3]);
    let sales = Purpose::parse("sales").unwrap();
    // A case goes to a member of its team.
    store
        .add_team_member(support.id, ann.id, Actor::System, t(19))
        .await
        .unwrap();
    let patch = CasePatch {
        status: Some(CaseStatus::Open),
        assignee: Some(Some(ann.id)),
        team: Some(Some(support.id)),
        ..CasePatch::default()
    };
    store
        .update_case(c1, patch, as_user(&ann), t(20))
        .await
        .unwrap();
    let patch = CasePatch {
        purpose: Some(sales.clone()),
        ..CasePatch::default()
    };
    store
        .update_case(c2, patch, as_user(&ann), t(21))
        .await
        .unwrap();
    let patch = CasePatch {
        status: Some(CaseStatus::Pending),
        team: Some(Some(support.id)),
        ..CasePatch::default()
    };
    store
        .update_case(c3, patch, as_user(&ann), t(22))
        .await
        .unwrap();

    let f = CaseFilter::default;
    assert_eq!(
        all_cases(&store, f()).await,
        vec![c4, c3, c2, c1],
        "newest first"
    );
    assert_eq!(
        all_cases(&store, status_filter(CaseStatus::New)).await,
        vec![c4, c2]
    );
    assert_eq!(
        all_cases(&store, status_filter(CaseStatus::Open)).await,
        vec![c1]
    );
    assert_eq!(
        all_cases(&store, status_filter(CaseStatus::Pending)).await,
        vec![c3]
    );
    assert_eq!(
        all_cases(&store, status_filter(CaseStatus::Closed)).await,
        vec![]
    );
    assert_eq!(
        all_cases(
            &store,
            CaseFilter {
                purpose: Some(sales.clone()),
                ..f()
            }
        )
        .await,
        vec![c2]
    );
    assert_eq!(
        all_cases(
            &store,
            CaseFilter {
                purpose: Some(Purpose::tier1()),
                ..f()
            }
        )
        .await,
        vec![c4, c3, c1]
    );
    assert_eq!(
        all_cases(
            &store,
            CaseFilter {
                team: Some(support.id),
                ..f()
            }
        )
        .await,
        vec![c3, c1]
    );
    assert_eq!(
        all_cases(
            &store,
            CaseFilter {
                team: Some(TeamId::new_at(t(5))),
                ..f()
            }
        )
        .await,
        vec![]
    );
    assert_eq!(
        all_cases(
            &store,
            CaseFilter {
                assignee: Some(ann.id),
                ..f()
            }
        )
        .await,
        vec![c1]
    );
    assert_eq!(
        all_cases(
            &store,
            CaseFilter {
                unassigned: true,
                ..f()
            }
        )
        .await,
        vec![c4, c3, c2]
    );
    assert_eq!(
        all_cases(
            &store,
            CaseFilter {
                team: Some(support.id),
                unassigned: true,
                ..f()
            }
        )
        .await,
        vec![c3]
    );
    assert_eq!(
        all_cases(
            &store,
            CaseFilter {
                status: Some(CaseStatus::Open),
                purpose: Some(sales),
                ..f()
            }
        )
        .await,
        vec![]
    );

    let mut counts = store.case_counts().await.unwrap();
    counts.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(
        counts,
        vec![
            (CaseStatus::New, 2),
            (CaseStatus::Open, 1),
            (CaseStatus::Pending, 1)
        ]
    );
}

async fn list_cases_pagination(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let mut created = Vec::new();
    for i in 0..5 {
        let r = deliver(
            &store,
            &ch,
            10 + i,
            vec![msg(&format!("m-{i}"), &format!("thread-{i}"), "cust-1")],
        )
        .await;
        created.push(case_of(&r));
    }
    let newest_first: Vec<CaseId> = created.iter().rev().copied().collect();

    let mut seen: Vec<Case> = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_cases(CaseFilter::default(), cursor, 2)
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(CaseId::parse(&c).unwrap()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let ids: Vec<CaseId> = seen.iter().map(|c| c.id).collect();
    assert_eq!(ids, newest_first, "5 distinct cases, newest first");
    assert!(seen.windows(2).all(|w| w[0].created_at > w[1].created_at));

    // A page that ends exactly at the last case has no next cursor.
    let page = store
        .list_cases(CaseFilter::default(), None, 5)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next_cursor), (5, None));
    let page = store
        .list_cases(CaseFilter::default(), None, 4)
        .await
        .unwrap();
    assert_eq!(page.next_cursor, Some(created[1].to_string()));
    let last = store
        .list_cases(CaseFilter::default(), Some(created[1]), 4)
        .await
        .unwrap();
    assert_eq!(
        (
            last.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            last.next_cursor
        ),
        (vec![created[0]], None)
    );

    // Filters and cursors together.
    store
        .update_case(created[1], status(CaseStatus::Open), Actor::System, t(20))
        .await
        .unwrap();
    store
        .update_case(created[3], status(CaseStatus::Open), Actor::System, t(21))
        .await
        .unwrap();
    let p1 = store
        .list_cases(status_filter(CaseStatus::New), None, 2)
        .await
        .unwrap();
    assert_eq!(
        p1.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![created[4], created[2]]
    );
    let cursor = CaseId::parse(&p1.next_cursor.expect("more New cases")).unwrap();
    let p2 = store
        .list_cases(status_filter(CaseStatus::New), Some(cursor), 2)
        .await
        .unwrap();
    assert_eq!(
        (
            p2.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            p2.next_cursor
        ),
        (vec![created[0]], None)
    );
}

async fn update_case_transitions(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let id = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);

    let steps = [
        (CaseStatus::Open, 11),
        (CaseStatus::Pending, 12),
        (CaseStatus::WithExpert, 13),
        (CaseStatus::Open, 14),
        (CaseStatus::Resolved, 15),
    ];
    for (to, at) in steps {
        let (c, events) = store
            .update_case(id, status(to), Actor::System, t(at))
            .await
            .unwrap();
        assert_eq!((c.status, c.updated_at), (to, t(at)));
        assert_eq!(kinds(&events), ["case.updated"]);
        assert_eq!(case(&store, id).await, c);
    }
    let c = case(&store, id).await;
    assert_eq!((c.resolved_at, c.reopen_count), (Some(t(15)), 0));

    // Reopened by a person.
    let (c, _) = store
        .update_case(id, status(CaseStatus::Open), Actor::System, t(16))
        .await
        .unwrap();
    assert_eq!(
        (c.status, c.resolved_at, c.reopen_count),
        (CaseStatus::Open, None, 1)
    );
    let (c, _) = store
        .update_case(id, status(CaseStatus::Resolved), Actor::System, t(17))
        .await
        .unwrap();
    assert_eq!(c.resolved_at, Some(t(17)));
    let (c, _) = store
        .update_case(id, status(CaseStatus::Closed), Actor::System, t(18))
        .await
        .unwrap();
    assert_eq!(
        (c.status, c.resolved_at, c.reopen_count),
        (CaseStatus::Closed, Some(t(17)), 1),
        "closing keeps resolved_at"
    );

    // A change to the same status changes nothing.
    let seq = store.last_event_seq().await.unwrap();
    let (same, events) = store
        .update_case(id, status(CaseStatus::Closed), Actor::System, t(19))
        .await
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(same, c);
    assert_eq!(store.last_event_seq().await.unwrap(), seq);

    // New → Closed directly.
    let other = case_of(&deliver(&store, &ch, 20, vec![msg("m-2", "thread-b", "cust-1")]).await);
    let (c, _) = store
        .update_case(other, status(CaseStatus::Closed), Actor::System, t(21))
        .await
        .unwrap();
    assert_eq!((c.status, c.resolved_at), (CaseStatus::Closed, Some(t(21))));
}

async fn update_case_rejects_invalid_changes(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let ch = make_channel(&store, "facebook", "Page", t(2)).await;
    let id = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);
    store
        .update_case(id, status(CaseStatus::Open), as_user(&ann), t(11))
        .await
        .unwrap();

    let snapshot = |store: Store| async move {
        (
            store.case(id).await.unwrap(),
            store.last_event_seq().await.unwrap(),
            all_audit(&store).await.len(),
        )
    };
    let before = snapshot(store.clone()).await;
    assert_invalid(
        store
            .update_case(id, status(CaseStatus::New), as_user(&ann), t(12))
            .await,
        "Open -> New",
    );
    let patch = CasePatch {
        team: Some(Some(TeamId::new_at(t(3)))),
        ..CasePatch::default()
    };
    assert_invalid(
        store.update_case(id, patch, as_user(&ann), t(12)).await,
        "unknown team",
    );
    let patch = CasePatch {
        assignee: Some(Some(UserId::new_at(t(3)))),
        ..CasePatch::default()
    };
    assert_invalid(
        store.update_case(id, patch, as_user(&ann), t(12)).await,
        "unknown assignee",
    );
    // A valid field in the same patch as an invalid one is not applied either.
    let patch = CasePatch {
        priority: Some(Priority::Urgent),
        team: Some(Some(TeamId::new_at(t(3)))),
        ..CasePatch::default()
    };
    assert_invalid(
        store.update_case(id, patch, as_user(&ann), t(12)).await,
        "unknown team with priority",
    );
    assert_eq!(snapshot(store.clone()).await, before, "nothing changed");

    store
        .update_case(id, status(CaseStatus::Resolved), as_user(&ann), t(13))
        .await
        .unwrap();
    assert_invalid(
        store
            .update_case(id, status(CaseStatus::Pending), as_user(&ann), t(14))
            .await,
        "Resolved -> Pending",
    );
    store
        .update_case(id, status(CaseStatus::Closed), as_user(&ann), t(15))
        .await
        .unwrap();
    let before = snapshot(store.clone()).await;
    for to in [
        CaseStatus::Open,
        CaseStatus::New,
        CaseStatus::Pending,
        CaseStatus::WithExpert,
        CaseStatus::Resolved,
    ] {
        assert_invalid(
            store
                .update_case(id, status(to), as_user(&ann), t(16))
                .await,
            &format!("Closed -> {to}"),
        );
    }
    assert_eq!(snapshot(store.clone()).await, before, "nothing changed");
    assert_eq!(before.0.case.status, CaseStatus::Closed);

    assert_not_found(
        store
            .update_case(
                CaseId::new_at(t(17)),
                status(CaseStatus::Open),
                as_user(&ann),
                t(17),
            )
            .await,
        "unknown case",
    );
}

async fn update_case_fields_events_and_audit(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Supervisor, t(1)).await;
    let bob = make_user(&store, "bob", Role::Agent, t(2)).await;
    let support = make_team(&store, "Support", t(3)).await;
    let ch = make_channel(&store, "facebook", "Page", t(4)).await;
    let id = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);

    let tags = ["vip", "billing", "vip", "angry"]
        .map(|s| Tag::parse(s).unwrap())
        .to_vec();
    store
        .add_team_member(support.id, bob.id, Actor::System, t(10))
        .await
        .unwrap();
    let patch = CasePatch {
        status: Some(CaseStatus::Open),
        purpose: Some(Purpose::parse("support").unwrap()),
        team: Some(Some(support.id)),
        assignee: Some(Some(bob.id)),
        priority: Some(Priority::High),
        tags: Some(tags),
    };
    let seq_before = store.last_event_seq().await.unwrap();
    let (c, events) = store
        .update_case(id, patch, as_user(&ann), t(11))
        .await
        .unwrap();
    assert_eq!(c.status, CaseStatus::Open);
    assert_eq!(c.purpose.as_str(), "support");
    assert_eq!(
        (c.team, c.assignee, c.priority),
        (Some(support.id), Some(bob.id), Priority::High)
    );
    assert_eq!(
        c.tags,
        ["angry", "billing", "vip"],
        "tags sorted and deduplicated"
    );
    assert_eq!(c.updated_at, t(11));
    assert_eq!(case(&store, id).await, c);

    // One case.updated event, carrying the case, in the log too.
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    assert_eq!(
        (ev.kind.as_str(), ev.case_id, ev.created_at),
        ("case.updated", Some(id), t(11))
    );
    assert!(ev.seq > seq_before);
    assert_eq!(ev.data["case"]["id"], id.to_string());
    assert_eq!(ev.data["case"]["tags"], json!(["angry", "billing", "vip"]));
    assert_eq!(store.events_after(seq_before, 10).await.unwrap(), events);

    // The audit entry names who and what changed.
    let entry = all_audit(&store).await.remove(0);
    assert_eq!(entry.action, "case.updated");
    assert_eq!(
        (entry.subject_kind.as_str(), entry.subject_id.clone()),
        ("case", id.to_string())
    );
    assert_eq!(
        (entry.actor_kind.as_str(), entry.actor_id.clone()),
        ("user", Some(ann.id.to_string()))
    );
    assert_eq!((entry.actor_name.as_str(), entry.at), ("User ann", t(11)));
    assert_eq!(
        entry.details["status"],
        json!({ "from": "new", "to": "open" })
    );
    assert_eq!(
        entry.details["priority"],
        json!({ "from": "normal", "to": "high" })
    );
    assert_eq!(entry.details["team"]["to"], json!(support.id.to_string()));
    assert_eq!(
        entry.details["tags"]["to"],
        json!(["angry", "billing", "vip"])
    );

    // Clearing fields; the audit shows only what changed.
    let patch = CasePatch {
        team: Some(None),
        assignee: Some(None),
        ..CasePatch::default()
    };
    let (c, events) = store
        .update_case(id, patch, as_user(&ann), t(12))
        .await
        .unwrap();
    assert_eq!((c.team, c.assignee), (None, None));
    assert_eq!(events.len(), 1);
    let entry = all_audit(&store).await.remove(0);
    let mut keys: Vec<&String> = entry.details.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["assignee", "team"]);

    // A patch that changes nothing writes nothing.
    let audit_len = all_audit(&store).await.len();
    let seq = store.last_event_seq().await.unwrap();
    let patch = CasePatch {
        priority: Some(Priority::High),
        tags: Some(vec![
            Tag::parse("vip").unwrap(),
            Tag::parse("angry").unwrap(),
            Tag::parse("billing").unwrap(),
        ]),
        ..CasePatch::default()
    };
    let (same, events) = store
        .update_case(id, patch, as_user(&ann), t(13))
        .await
        .unwrap();
    assert!(events.is_empty());
    assert_eq!(same, c);
    assert_eq!(
        (
            all_audit(&store).await.len(),
            store.last_event_seq().await.unwrap()
        ),
        (audit_len, seq)
    );
}

// =============================================================================================
// Replies, notes and the outbox.

async fn add_reply_queues_outbound(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let ch = make_channel(&store, "facebook", "Page", t(2)).await;
    let r1 = deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await;
    let id = case_of(&r1);
    let r2 = deliver(&store, &ch, 11, vec![msg("m-2", "thread-a", "cust-1")]).await;
    let last_inbound = message_of(&r2);
    let before = case(&store, id).await;

    let (reply, events) = store
        .add_reply(id, "We're on it".into(), as_user(&ann), t(12))
        .await
        .unwrap();
    assert_eq!(reply.direction, Direction::Outbound);
    assert_eq!(reply.delivery_state, DeliveryState::Queued);
    assert_eq!(
        (
            reply.attempts,
            reply.delivery_error.clone(),
            reply.external_id.clone()
        ),
        (0, None, None)
    );
    assert_eq!(
        reply.in_reply_to,
        Some(last_inbound),
        "answers the last inbound message"
    );
    assert_eq!(
        (reply.case_id, reply.conversation_id, reply.channel_id),
        (id, before.conversation_id, ch.id)
    );
    assert_eq!(reply.author.kind, "user");
    assert_eq!(reply.author.id, Some(ann.id.to_string()));
    assert_eq!(reply.author.name.as_deref(), Some("User ann"));
    assert_eq!(
        (reply.text.as_str(), reply.sent_at, reply.created_at),
        ("We're on it", t(12), t(12))
    );

    assert_eq!(kinds(&events), ["case.updated", "message.created"]);
    assert_eq!(events[0].data["case"]["status"], "open");
    assert_eq!(events[1].data["message"]["id"], reply.id.to_string());

    // What a reply answers, as the reviewers' queue reads it: the message it replies to, or
    // (without one) the customer's last message before it; and where it goes.
    let unlinked = Message {
        in_reply_to: None,
        created_at: t(10),
        ..reply.clone()
    };
    let context = store
        .approval_context(vec![reply.clone(), unlinked])
        .await
        .unwrap();
    let asked: Vec<Option<MessageId>> = context
        .iter()
        .map(|x| x.asked.as_ref().map(|m| m.id))
        .collect();
    let first_inbound = message_of(&r1);
    assert_eq!(asked, [Some(last_inbound), Some(first_inbound)]);
    assert_eq!(
        (context[0].reply, context[0].channel_id, context[0].public),
        (reply.id, ch.id, before.public)
    );

    let c = case(&store, id).await;
    assert_eq!(
        (c.status, c.first_response_at, c.updated_at),
        (CaseStatus::Open, Some(t(12)), t(12))
    );
    let d = detail(&store, id).await;
    assert_eq!(d.messages.last(), Some(&reply));

    // A second reply: the first response time stays.
    let (second, _) = store
        .add_reply(id, "Any news?".into(), Actor::System, t(13))
        .await
        .unwrap();
    assert_eq!(second.in_reply_to, Some(last_inbound));
    assert_eq!(second.author.kind, "system");
    let c = case(&store, id).await;
    assert_eq!(
        (c.status, c.first_response_at, c.updated_at),
        (CaseStatus::Open, Some(t(12)), t(13))
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 2);

    let audit = all_audit(&store).await;
    let queued: Vec<&AuditEntry> = audit
        .iter()
        .filter(|e| e.action == "message.reply_queued")
        .collect();
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[1].details["message_id"], reply.id.to_string());

    // A reply to a Pending case keeps it Pending.
    store
        .update_case(id, status(CaseStatus::Pending), Actor::System, t(14))
        .await
        .unwrap();
    store
        .add_reply(id, "Waiting for you".into(), as_user(&ann), t(15))
        .await
        .unwrap();
    assert_eq!(case(&store, id).await.status, CaseStatus::Pending);

    assert_not_found(
        store
            .add_reply(CaseId::new_at(t(16)), "x".into(), Actor::System, t(16))
            .await,
        "unknown case",
    );
}

async fn add_reply_to_closed_case_is_invalid(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let id = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);
    store
        .update_case(id, status(CaseStatus::Closed), Actor::System, t(11))
        .await
        .unwrap();
    let before = detail(&store, id).await;
    let seq = store.last_event_seq().await.unwrap();

    assert_invalid(
        store
            .add_reply(id, "too late".into(), Actor::System, t(12))
            .await,
        "reply to a closed case",
    );
    assert_eq!(detail(&store, id).await, before, "nothing added");
    assert_eq!(store.last_event_seq().await.unwrap(), seq);
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
}

async fn add_note_is_internal(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let ch = make_channel(&store, "facebook", "Page", t(2)).await;
    let id = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);
    let before = case(&store, id).await;

    let (note, events) = store
        .add_note(id, "VIP customer".into(), as_user(&ann), t(11))
        .await
        .unwrap();
    assert_eq!(
        (note.direction, note.delivery_state),
        (Direction::Note, DeliveryState::Internal)
    );
    assert_eq!(
        (note.in_reply_to, note.attempts, note.external_id.clone()),
        (None, 0, None)
    );
    assert_eq!(
        (note.author.kind.as_str(), note.author.id.clone()),
        ("user", Some(ann.id.to_string()))
    );
    assert_eq!(kinds(&events), ["message.created"]);
    assert_eq!(
        case(&store, id).await,
        before,
        "a note does not change the case"
    );
    assert_eq!(detail(&store, id).await.messages.last(), Some(&note));
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
    assert!(
        store
            .claim_outbound(t(100), t(160), 10)
            .await
            .unwrap()
            .0
            .is_empty(),
        "notes are never sent"
    );
    assert!(
        all_audit(&store)
            .await
            .iter()
            .any(|e| e.action == "message.note_added")
    );
}

async fn claim_outbound_leases(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let ch = make_channel(&store, "facebook", "Page", t(2)).await;
    let r = deliver(&store, &ch, 10, vec![msg("m-ext-1", "thread-a", "cust-42")]).await;
    let id = case_of(&r);
    store
        .add_note(id, "internal".into(), as_user(&ann), t(11))
        .await
        .unwrap();
    let (reply, _) = store
        .add_reply(id, "Hi there".into(), as_user(&ann), t(12))
        .await
        .unwrap();

    assert!(
        store
            .claim_outbound(t(11), t(71), 10)
            .await
            .unwrap()
            .0
            .is_empty(),
        "not due yet"
    );
    let jobs = store.claim_outbound(t(20), t(80), 10).await.unwrap().0;
    assert_eq!(
        jobs,
        vec![OutboundJob {
            message_id: reply.id,
            case_id: id,
            channel_id: ch.id,
            thread: "thread-a".into(),
            in_reply_to: Some("m-ext-1".into()),
            to: "cust-42".into(),
            text: "Hi there".into(),
            attempts: 0,
            public: false,
            private_reply: false,
            // The customer's message was received (no provider time) at t(10).
            last_inbound_at: Some(t(10)),
            template: None,
            team_email: None,
            conversation_id: reply.conversation_id,
        }]
    );
    let state = |d: CaseDetail, m: MessageId| {
        d.messages
            .into_iter()
            .find(|x| x.id == m)
            .unwrap()
            .delivery_state
    };
    assert_eq!(
        state(detail(&store, id).await, reply.id),
        DeliveryState::Sending
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 1, "in flight counts");

    assert!(
        store
            .claim_outbound(t(21), t(81), 10)
            .await
            .unwrap()
            .0
            .is_empty(),
        "leased"
    );
    assert!(
        store
            .claim_outbound(t(79), t(139), 10)
            .await
            .unwrap()
            .0
            .is_empty(),
        "still leased"
    );
    let again = store.claim_outbound(t(81), t(141), 10).await.unwrap().0;
    assert_eq!(
        again.iter().map(|j| j.message_id).collect::<Vec<_>>(),
        vec![reply.id],
        "claimable after the lease"
    );
    assert_eq!(again[0].attempts, 0);

    // The limit holds, and the earliest due goes first.
    let (r2, _) = store
        .add_reply(id, "second".into(), as_user(&ann), t(90))
        .await
        .unwrap();
    let (r3, _) = store
        .add_reply(id, "third".into(), as_user(&ann), t(91))
        .await
        .unwrap();
    let first = store.claim_outbound(t(100), t(160), 1).await.unwrap().0;
    assert_eq!(
        first.iter().map(|j| j.message_id).collect::<Vec<_>>(),
        vec![r2.id]
    );
    let rest = store.claim_outbound(t(100), t(160), 10).await.unwrap().0;
    assert_eq!(
        rest.iter().map(|j| j.message_id).collect::<Vec<_>>(),
        vec![r3.id]
    );

    // Another customer on another case gets their own address.
    let other = case_of(
        &deliver(
            &store,
            &ch,
            101,
            vec![msg("m-ext-2", "thread-b", "cust-43")],
        )
        .await,
    );
    store
        .add_reply(other, "hello".into(), as_user(&ann), t(102))
        .await
        .unwrap();
    let jobs = store.claim_outbound(t(103), t(163), 10).await.unwrap().0;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (
            jobs[0].to.as_str(),
            jobs[0].in_reply_to.as_deref(),
            jobs[0].thread.as_str()
        ),
        ("cust-43", Some("m-ext-2"), "thread-b")
    );
}

async fn record_delivery_outcomes(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let id = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);
    let (r1, _) = store
        .add_reply(id, "one".into(), Actor::System, t(11))
        .await
        .unwrap();
    let (r2, _) = store
        .add_reply(id, "two".into(), Actor::System, t(12))
        .await
        .unwrap();
    let (r3, _) = store
        .add_reply(id, "three".into(), Actor::System, t(13))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_outbound(t(20), t(80), 10)
            .await
            .unwrap()
            .0
            .len(),
        3
    );
    let get = |store: Store, m: MessageId| async move {
        store
            .case(id)
            .await
            .unwrap()
            .messages
            .into_iter()
            .find(|x| x.id == m)
            .unwrap()
    };

    let events = store
        .record_delivery(r1.id, Delivery::Delivered, t(21))
        .await
        .unwrap();
    assert_eq!(kinds(&events), ["message.updated"]);
    assert_eq!(events[0].data["message"]["delivery_state"], "delivered");
    let m = get(store.clone(), r1.id).await;
    assert_eq!(
        (m.delivery_state, m.attempts, m.delivery_error),
        (DeliveryState::Delivered, 1, None)
    );

    let retry = Delivery::Retry {
        at: t(100),
        error: "HTTP 503".into(),
    };
    let events = store.record_delivery(r2.id, retry, t(22)).await.unwrap();
    assert_eq!(kinds(&events), ["message.updated"]);
    let m = get(store.clone(), r2.id).await;
    assert_eq!(
        (m.delivery_state, m.attempts, m.delivery_error.as_deref()),
        (DeliveryState::Queued, 1, Some("HTTP 503"))
    );

    let events = store
        .record_delivery(
            r3.id,
            Delivery::Failed {
                error: "recipient blocked".into(),
            },
            t(23),
        )
        .await
        .unwrap();
    assert_eq!(kinds(&events), ["message.updated"]);
    let m = get(store.clone(), r3.id).await;
    assert_eq!(
        (m.delivery_state, m.attempts, m.delivery_error.as_deref()),
        (DeliveryState::Failed, 1, Some("recipient blocked"))
    );
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        1,
        "only the retry waits"
    );

    // The retry is due at its time, not before; it carries its attempts.
    assert!(
        store
            .claim_outbound(t(99), t(159), 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    let jobs = store.claim_outbound(t(100), t(160), 10).await.unwrap().0;
    assert_eq!(
        jobs.iter()
            .map(|j| (j.message_id, j.attempts))
            .collect::<Vec<_>>(),
        vec![(r2.id, 1)]
    );
    store
        .record_delivery(r2.id, Delivery::Delivered, t(101))
        .await
        .unwrap();
    let m = get(store.clone(), r2.id).await;
    assert_eq!(
        (m.delivery_state, m.attempts),
        (DeliveryState::Delivered, 2)
    );

    // Final states are final.
    let seq = store.last_event_seq().await.unwrap();
    assert!(
        store
            .record_delivery(r3.id, Delivery::Delivered, t(102))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .record_delivery(
                r1.id,
                Delivery::Failed {
                    error: "late".into()
                },
                t(102)
            )
            .await
            .unwrap()
            .is_empty()
    );
    let retry = Delivery::Retry {
        at: t(200),
        error: "again".into(),
    };
    assert!(
        store
            .record_delivery(r1.id, retry, t(102))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .record_delivery(MessageId::new_at(t(102)), Delivery::Delivered, t(102))
            .await
            .unwrap()
            .is_empty()
    );
    let m = get(store.clone(), r3.id).await;
    assert_eq!(
        (m.delivery_state, m.attempts, m.delivery_error.as_deref()),
        (DeliveryState::Failed, 1, Some("recipient blocked"))
    );
    let m = get(store.clone(), r1.id).await;
    assert_eq!(
        (m.delivery_state, m.attempts, m.delivery_error),
        (DeliveryState::Delivered, 1, None)
    );
    assert_eq!(
        store.last_event_seq().await.unwrap(),
        seq,
        "no-ops emit nothing"
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
    assert!(
        store
            .claim_outbound(t(300), t(360), 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );

    let audit = all_audit(&store).await;
    let failed = audit
        .iter()
        .find(|e| e.action == "message.failed")
        .expect("failure audited");
    assert_eq!(
        (failed.subject_id.clone(), failed.details["error"].clone()),
        (r3.id.to_string(), json!("recipient blocked"))
    );
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "message.delivered")
            .count(),
        2
    );
}

// =============================================================================================
// Events, audit, contacts.

/// A conversation's messages are numbered in the order the customer could first see them: a
/// reply when it goes out, not when it was written; notes and failed replies never.
async fn visible_messages_are_numbered_when_seen(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "webchat", "Chat", t(1)).await;
    let first = deliver(&store, &ch, 10, vec![msg("m-1", "chat:v", "v")]).await;
    let id = case_of(&first);
    let (late, _) = store
        .add_reply(id, "written first, sent last".into(), Actor::System, t(11))
        .await
        .unwrap();
    let (failing, _) = store
        .add_reply(id, "never sent".into(), Actor::System, t(11))
        .await
        .unwrap();
    assert_eq!((late.seq, failing.seq), (None, None), "not visible yet");
    store
        .add_note(id, "internal".into(), Actor::System, t(12))
        .await
        .unwrap();
    deliver(&store, &ch, 13, vec![msg("m-2", "chat:v", "v")]).await;
    store.claim_outbound(t(20), t(80), 10).await.unwrap();
    store
        .record_delivery(failing.id, Delivery::Failed { error: "no".into() }, t(21))
        .await
        .unwrap();
    let events = store
        .record_delivery(
            late.id,
            Delivery::Accepted {
                external_id: None,
                state: DeliveryState::Sent,
            },
            t(22),
        )
        .await
        .unwrap();
    assert_eq!(events[0].data["message"]["seq"], 3, "the event carries it");
    // Read receipts and later states keep the number.
    store
        .record_delivery(late.id, Delivery::Delivered, t(23))
        .await
        .unwrap();

    let log = store.chat_log(ch.id, "chat:v".into(), 0).await.unwrap();
    let seen: Vec<(Option<i64>, &str)> = log
        .messages
        .iter()
        .map(|m| (m.seq, m.text.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(1), "text of m-1"),
            (Some(2), "text of m-2"),
            (Some(3), "written first, sent last")
        ]
    );
    assert_eq!(log.last_seq, 3);
    let after = store.chat_log(ch.id, "chat:v".into(), 2).await.unwrap();
    assert_eq!(after.messages.len(), 1);
    assert_eq!(after.conversation, log.conversation);
    let none = store
        .chat_log(ch.id, "chat:nobody".into(), 0)
        .await
        .unwrap();
    assert_eq!(
        (none.conversation, none.messages.len(), none.last_seq),
        (None, 0, 0)
    );
}

/// Knowledge-base entries keep every version; a stale edit is a conflict; archived entries
/// stay, unlisted and frozen.
async fn knowledge_base_versions_and_imports(store: Store) {
    use switchboard_store::KbKind;
    migrated(&store).await;
    let doc = |title: &str| json!({"title": title, "body": "b", "tags": ["x"], "public": true});
    let a = store
        .create_kb(KbKind::Article, doc("one"), Actor::System, t(1))
        .await
        .unwrap();
    assert_eq!((a.version, a.data["title"].as_str()), (1, Some("one")));
    let a2 = store
        .update_kb(
            a.id.clone(),
            KbKind::Article,
            doc("two"),
            Some(1),
            Actor::System,
            t(2),
        )
        .await
        .unwrap();
    assert_eq!((a2.version, a2.updated_at, a2.created_at), (2, t(2), t(1)));
    assert_conflict(
        store
            .update_kb(
                a.id.clone(),
                KbKind::Article,
                doc("three"),
                Some(1),
                Actor::System,
                t(3),
            )
            .await,
        "stale version",
    );
    assert_not_found(
        store.kb_item(a.id.clone(), KbKind::Canned).await,
        "another kind",
    );
    let revs = store
        .kb_revisions(a.id.clone(), KbKind::Article)
        .await
        .unwrap();
    let titles: Vec<(i64, &str)> = revs
        .iter()
        .map(|r| (r.version, r.data["title"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(titles, [(2, "two"), (1, "one")]);

    // An import is one transaction: both entries, each with its first revision.
    let ids = store
        .import_kb(
            vec![
                (KbKind::Article, doc("i1")),
                (KbKind::Canned, json!({"name": "n", "text": "t"})),
            ],
            Actor::System,
            t(4),
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        store.kb_items(KbKind::Article, false).await.unwrap().len(),
        2
    );
    // What is stored word for word is left out of the next import; another kind, or another
    // word, is not.
    let (fresh, skipped) = store
        .without_stored_kb(vec![
            (KbKind::Article, doc("i1")),
            (KbKind::Canned, doc("i1")),
            (KbKind::Canned, json!({"name": "n", "text": "t"})),
            (KbKind::Canned, json!({"name": "n", "text": "t2"})),
            (KbKind::Canned, json!({"name": "n", "text": "t2"})),
        ])
        .await
        .unwrap();
    assert_eq!(skipped, 3, "twice in the file is once");
    assert_eq!(
        fresh,
        vec![
            (KbKind::Canned, doc("i1")),
            (KbKind::Canned, json!({"name": "n", "text": "t2"}))
        ]
    );
    assert_eq!(
        store.kb_items(KbKind::Canned, false).await.unwrap().len(),
        1
    );

    let archived = store
        .set_kb_archived(a.id.clone(), KbKind::Article, true, Actor::System, t(5))
        .await
        .unwrap();
    assert_eq!(archived.archived_at, Some(t(5)));
    assert_eq!(
        store.kb_items(KbKind::Article, false).await.unwrap().len(),
        1
    );
    assert_eq!(
        store.kb_items(KbKind::Article, true).await.unwrap().len(),
        2
    );
    assert_invalid(
        store
            .update_kb(
                a.id.clone(),
                KbKind::Article,
                doc("four"),
                None,
                Actor::System,
                t(6),
            )
            .await,
        "archived",
    );
    // Restored as it was (archived_at back to NULL), then a stale edit names who saved.
    let back = store
        .set_kb_archived(a.id.clone(), KbKind::Article, false, Actor::System, t(7))
        .await
        .unwrap();
    assert_eq!((back.archived_at, back.version), (None, 2));
    assert_eq!(
        store.kb_items(KbKind::Article, false).await.unwrap().len(),
        2
    );
    match store
        .update_kb(
            a.id.clone(),
            KbKind::Article,
            doc("five"),
            Some(1),
            Actor::System,
            t(8),
        )
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(
            m.contains(
                "saved this entry after you opened it (it is at version 2, you edited version 1)"
            ) && !m.starts_with("someone"),
            "{m}"
        ),
        other => panic!("a conflict, got {other:?}"),
    }
}

/// A transfer or an assignment hands a case only to an active member of the team it will be
/// in, who answers cases (not a reviewer); refused on `assignee`, nothing changed.
async fn a_case_goes_only_to_a_member_of_its_team(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "webhook", "Hook", t(1)).await;
    let case = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);
    let team = make_team(&store, "Billing", t(2)).await;
    let bob = make_user(&store, "bob", Role::Agent, t(2)).await;
    let rita = make_user(&store, "rita", Role::Reviewer, t(2)).await;
    for u in [&rita] {
        store
            .add_team_member(team.id, u.id, Actor::System, t(3))
            .await
            .unwrap();
    }
    for (who, says) in [
        (&bob, "User bob is not in the team \"Billing\""),
        (&rita, "User rita is a reviewer"),
    ] {
        match store
            .transfer_case(
                case,
                Some(team.id),
                Some(who.id),
                "why".into(),
                Actor::System,
                t(4),
            )
            .await
        {
            Err(StoreError::InvalidField("assignee", m)) => assert!(m.starts_with(says), "{m}"),
            other => panic!("refused on assignee, got {other:?}"),
        }
    }
    store
        .add_team_member(team.id, bob.id, Actor::System, t(5))
        .await
        .unwrap();
    let (moved, _) = store
        .transfer_case(
            case,
            Some(team.id),
            Some(bob.id),
            "why".into(),
            Actor::System,
            t(6),
        )
        .await
        .unwrap();
    assert_eq!((moved.team, moved.assignee), (Some(team.id), Some(bob.id)));
}

/// The questions a knowledge-gaps report reads: customer messages only, newest first, since a
/// time, on cases of a purpose when asked.
async fn questions_since_reads_recent_customer_messages(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "webhook", "Hook", t(1)).await;
    let first = deliver(&store, &ch, 10, vec![msg("q-1", "thread-a", "cust-1")]).await;
    deliver(&store, &ch, 20, vec![msg("q-2", "thread-b", "cust-2")]).await;
    store
        .add_reply(case_of(&first), "an answer".into(), Actor::System, t(21))
        .await
        .unwrap();
    let all = store.questions_since(None, t(0), 10).await.unwrap();
    let texts: Vec<&str> = all.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(texts, ["text of q-2", "text of q-1"]);
    assert_eq!(all[1].case_id, case_of(&first));
    assert_eq!(
        store.questions_since(None, t(15), 10).await.unwrap().len(),
        1
    );
    assert_eq!(store.questions_since(None, t(0), 1).await.unwrap().len(), 1);
    let purpose = case(&store, case_of(&first)).await.purpose.to_string();
    assert_eq!(
        store
            .questions_since(Some(purpose), t(0), 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .questions_since(Some("no-such-purpose".into()), t(0), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let m = store.message(all[0].message_id).await.unwrap();
    assert_eq!(m.text, "text of q-2");
    // A follow-up on a case is not the message that opened it.
    deliver(&store, &ch, 30, vec![msg("q-3", "thread-a", "cust-1")]).await;
    let all = store.questions_since(None, t(0), 10).await.unwrap();
    let opens: Vec<(&str, bool)> = all
        .iter()
        .map(|q| (q.text.as_str(), q.opens_case))
        .collect();
    assert_eq!(
        opens,
        [
            ("text of q-3", false),
            ("text of q-2", true),
            ("text of q-1", true)
        ]
    );
}

/// Every message is searchable as soon as it is stored (the index commits with it): words,
/// phrases, exclusions and filters, best first, with the matches marked in a snippet; an
/// edited text is found by its new words only.
async fn messages_are_searchable_at_once(store: Store) {
    use switchboard_core::search::{Query, highlights};
    use switchboard_store::SearchFilter;
    migrated(&store).await;
    let web = make_channel(&store, "webhook", "Web", t(1)).await;
    let other = make_channel(&store, "webhook", "Other", t(1)).await;
    let said = |id: &str, thread: &str, text: &str| {
        let mut m = msg(id, thread, "cust-1");
        m.text = text.to_owned();
        m
    };
    let r = deliver(
        &store,
        &web,
        10,
        vec![said("s-1", "a", "My refund for order 5521 has not arrived")],
    )
    .await;
    deliver(
        &store,
        &web,
        11,
        vec![said("s-2", "b", "Late delivery again, where is my order?")],
    )
    .await;
    deliver(
        &store,
        &other,
        12,
        vec![said("s-3", "c", "Refund please, the delivery was late")],
    )
    .await;
    let find = |q: &str, f: SearchFilter| {
        let store = store.clone();
        let q = Query::parse(q).unwrap();
        async move {
            store
                .search_messages(q, f, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|x| x.message.external_id.unwrap_or_default())
                .collect::<Vec<_>>()
        }
    };
    let mut refund = find("refund", SearchFilter::default()).await;
    refund.sort();
    assert_eq!(refund, ["s-1", "s-3"]);
    assert_eq!(
        find("\"late delivery\"", SearchFilter::default()).await,
        ["s-2"]
    );
    let mut late = find("late delivery", SearchFilter::default()).await;
    late.sort();
    assert_eq!(late, ["s-2", "s-3"]);
    assert_eq!(
        find("refund -please", SearchFilter::default()).await,
        ["s-1"]
    );
    assert_eq!(
        find(
            "refund",
            SearchFilter {
                channel: Some(other.id),
                ..Default::default()
            }
        )
        .await,
        ["s-3"]
    );
    assert!(
        find(
            "refund",
            SearchFilter {
                from: Some(t(13)),
                ..Default::default()
            }
        )
        .await
        .is_empty()
    );
    assert!(find("zebra", SearchFilter::default()).await.is_empty());
    // Typos: words no message has become the closest words one has; known words stay.
    let fixed = store
        .correct_query(&Query::parse("refnud delievry -plaese arrived").unwrap())
        .await
        .unwrap()
        .expect("corrections");
    assert_eq!(fixed.to_string(), "refund delivery -plaese arrived");
    assert_eq!(
        store
            .correct_query(&Query::parse("refund zebra").unwrap())
            .await
            .unwrap(),
        None
    );
    // Operators and stray quotes are only text.
    assert_eq!(
        find("refund* (5521 \"order", SearchFilter::default()).await,
        ["s-1"]
    );

    // The snippet marks the match.
    let found = store
        .search_messages(Query::parse("5521").unwrap(), SearchFilter::default(), 1)
        .await
        .unwrap();
    let (text, ranges) = highlights(&found[0].snippet);
    assert!(text.contains("order 5521"), "{text}");
    let marked: Vec<String> = ranges
        .iter()
        .map(|(a, b)| text.chars().skip(*a).take(b - a).collect())
        .collect();
    assert_eq!(marked, ["5521"]);

    // An edit is searchable by its new words only.
    let item = raw_item(&store, &web, t(20), vec![]).await;
    let item = IngestItem {
        parsed: Ok(vec![ChannelEvent::Edited {
            external_id: "s-1".into(),
            text: "Sorry, the parcel came today".into(),
            at: None,
        }]),
        ..item
    };
    store.ingest(vec![item], t(20)).await.unwrap();
    assert!(find("5521", SearchFilter::default()).await.is_empty());
    assert_eq!(find("parcel", SearchFilter::default()).await, ["s-1"]);
    let _ = case_of(&r);
}

async fn events_after_resumes(store: Store) {
    migrated(&store).await;
    assert_eq!(store.last_event_seq().await.unwrap(), 0);
    assert!(store.events_after(0, 100).await.unwrap().is_empty());

    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let ch = make_channel(&store, "facebook", "Page", t(2)).await;
    let r = deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await;
    let id = case_of(&r);
    let mut live = r.events.clone();
    live.extend(
        store
            .add_reply(id, "hi".into(), as_user(&ann), t(11))
            .await
            .unwrap()
            .1,
    );
    live.extend(
        store
            .add_note(id, "note".into(), as_user(&ann), t(12))
            .await
            .unwrap()
            .1,
    );
    live.extend(
        store
            .update_case(id, status(CaseStatus::Pending), as_user(&ann), t(13))
            .await
            .unwrap()
            .1,
    );

    let all = all_events(&store).await;
    assert_eq!(
        kinds(&all),
        [
            "case.created",
            "message.created",
            "case.updated",
            "message.created",
            "message.created",
            "case.updated"
        ]
    );
    assert_eq!(all, live, "the log holds exactly what was returned live");
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "seq order");
    assert!(all.iter().all(|e| e.case_id == Some(id)));
    assert_eq!(
        all.iter().map(|e| e.created_at).collect::<Vec<_>>(),
        [t(10), t(10), t(11), t(11), t(12), t(13)]
    );
    assert_eq!(store.last_event_seq().await.unwrap(), all[5].seq);

    assert_eq!(
        store.events_after(all[2].seq, 100).await.unwrap(),
        all[3..].to_vec(),
        "resumes after a seq"
    );
    assert_eq!(
        store.events_after(0, 2).await.unwrap(),
        all[..2].to_vec(),
        "limit"
    );
    assert_eq!(
        store.events_after(all[1].seq, 2).await.unwrap(),
        all[2..4].to_vec()
    );
    assert!(
        store
            .events_after(all[5].seq, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn list_audit_pagination(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Admin, t(1)).await;
    for (i, u) in ["bob", "cid", "dee", "eve"].into_iter().enumerate() {
        store
            .create_user(
                NewUser {
                    username: Username::parse(u).unwrap(),
                    display_name: name(u),
                    role: Role::Agent,
                    password_hash: None,
                },
                as_user(&ann),
                t(2 + i as i64),
            )
            .await
            .unwrap();
    }
    make_channel(&store, "facebook", "Page", t(6)).await;

    let mut entries: Vec<AuditEntry> = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store.list_audit(cursor, 2).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        entries.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c.parse::<i64>().unwrap()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(
        pages, 3,
        "6 entries, 2 per page, the last page has no cursor"
    );
    assert_eq!(entries.len(), 6);
    assert!(
        entries.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first, distinct"
    );
    assert_eq!(
        entries.iter().map(|e| e.at).collect::<Vec<_>>(),
        [t(6), t(5), t(4), t(3), t(2), t(1)]
    );
    assert_eq!(entries[0].action, "channel.created");
    assert!(entries[1..].iter().all(|e| e.action == "user.created"));
    assert_eq!(entries[5].subject_id, ann.id.to_string());
    assert_eq!(
        (
            entries[5].actor_kind.as_str(),
            entries[5].actor_name.as_str()
        ),
        ("system", "switchboard")
    );
    assert_eq!(
        (entries[4].actor_kind.as_str(), entries[4].actor_id.clone()),
        ("user", Some(ann.id.to_string()))
    );
    assert_eq!(entries[4].details["username"], "bob");
    assert_eq!(entries, all_audit(&store).await);

    let exact = store.list_audit(None, 6).await.unwrap();
    assert_eq!((exact.items.len(), exact.next_cursor), (6, None));
    let after_first = store.list_audit(Some(entries[0].seq), 100).await.unwrap();
    assert_eq!(after_first.items, entries[1..].to_vec());
}

async fn contact_and_timeline(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let fb = make_channel(&store, "facebook", "Page", t(2)).await;
    let ig = make_channel(&store, "instagram", "Insta", t(3)).await;

    let r = deliver(&store, &fb, 10, vec![msg("m-1", "thread-a", "cust-7")]).await;
    let (case1, in1) = (case_of(&r), message_of(&r));
    let (reply, _) = store
        .add_reply(case1, "hello".into(), as_user(&ann), t(11))
        .await
        .unwrap();
    let (note, _) = store
        .add_note(case1, "note".into(), as_user(&ann), t(12))
        .await
        .unwrap();
    store
        .update_case(case1, status(CaseStatus::Closed), as_user(&ann), t(13))
        .await
        .unwrap();
    let r = deliver(&store, &fb, 14, vec![msg("m-2", "thread-a", "cust-7")]).await;
    let (case2, in2) = (case_of(&r), message_of(&r));
    let r = deliver(&store, &fb, 15, vec![msg("m-3", "thread-b", "cust-7")]).await;
    let (case3, in3) = (case_of(&r), message_of(&r));
    // Someone else, and the same id on another channel: other contacts.
    deliver(&store, &fb, 16, vec![msg("m-4", "thread-c", "cust-8")]).await;
    let r = deliver(&store, &ig, 17, vec![msg("m-1", "thread-a", "cust-7")]).await;
    let ig_contact = case(&store, case_of(&r)).await.contact_id;

    let contact_id = case(&store, case1).await.contact_id;
    assert_ne!(ig_contact, contact_id);
    assert_eq!(case(&store, case3).await.contact_id, contact_id);
    let contact = store.contact(contact_id).await.unwrap();
    assert_eq!(
        (
            contact.id,
            contact.display_name.as_deref(),
            contact.created_at
        ),
        (contact_id, Some("Customer cust-7"), t(10))
    );
    assert_eq!(contact.identities.len(), 1);
    assert_eq!(
        (
            contact.identities[0].channel_id,
            contact.identities[0].external_id.as_str()
        ),
        (fb.id, "cust-7")
    );

    let expected = vec![
        (in1, case1, Direction::Inbound),
        (reply.id, case1, Direction::Outbound),
        (note.id, case1, Direction::Note),
        (in2, case2, Direction::Inbound),
        (in3, case3, Direction::Inbound),
    ];
    let timeline = store.contact_timeline(contact_id, None, 100).await.unwrap();
    assert_eq!(timeline.next_cursor, None);
    let got: Vec<_> = timeline
        .items
        .iter()
        .map(|m| (m.id, m.case_id, m.direction))
        .collect();
    assert_eq!(
        got, expected,
        "every case of the contact, oldest first, with replies and notes"
    );
    assert_eq!(timeline.items[1], reply);

    let mut paged = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store.contact_timeline(contact_id, cursor, 2).await.unwrap();
        pages += 1;
        paged.extend(page.items.iter().map(|m| (m.id, m.case_id, m.direction)));
        match page.next_cursor {
            Some(c) => cursor = Some(MessageId::parse(&c).unwrap()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!((paged, pages), (expected, 3));

    let other = store.contact_timeline(ig_contact, None, 100).await.unwrap();
    assert_eq!(other.items.len(), 1);

    // Contacts list newest first, with cursor.
    let contacts = store.list_contacts(None, 100).await.unwrap().items;
    assert_eq!(contacts.len(), 3);
    assert_eq!(contacts[2].id, contact_id);
    assert_eq!(contacts[0].id, ig_contact);
    let page = store.list_contacts(None, 2).await.unwrap();
    let cursor = ContactId::parse(&page.next_cursor.expect("a third contact")).unwrap();
    let rest = store.list_contacts(Some(cursor), 2).await.unwrap();
    assert_eq!(
        (
            rest.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            rest.next_cursor
        ),
        (vec![contact_id], None)
    );

    assert_not_found(
        store.contact(ContactId::new_at(t(20))).await,
        "unknown contact",
    );
    assert_not_found(
        store
            .contact_timeline(ContactId::new_at(t(20)), None, 10)
            .await,
        "unknown contact's timeline",
    );
}

/// The crate offers no raw SQL, so tampering with the log directly is not tried here; what the
/// API can show is checked: entries, once written, stay exactly as they were while the store
/// keeps changing, and new ones only come after them.
async fn audit_log_is_append_only(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Admin, t(1)).await;
    let bob = make_user(&store, "bob", Role::Agent, t(2)).await;
    let team = make_team(&store, "Support", t(3)).await;
    store
        .add_team_member(team.id, bob.id, as_user(&ann), t(4))
        .await
        .unwrap();
    let ch = make_channel(&store, "facebook", "Page", t(5)).await;
    let id = case_of(&deliver(&store, &ch, 10, vec![msg("m-1", "thread-a", "cust-1")]).await);
    let before = all_audit(&store).await;
    assert!(before.len() >= 6, "{before:?}");

    // Change the very things the entries are about.
    store
        .remove_team_member(team.id, bob.id, as_user(&ann), t(20))
        .await
        .unwrap();
    store
        .update_case(id, status(CaseStatus::Resolved), as_user(&ann), t(21))
        .await
        .unwrap();
    store
        .update_case(id, status(CaseStatus::Closed), as_user(&ann), t(22))
        .await
        .unwrap();
    deliver(&store, &ch, 23, vec![msg("m-2", "thread-a", "cust-1")]).await;
    let _ = store
        .update_case(id, status(CaseStatus::Open), as_user(&ann), t(24))
        .await;

    let after = all_audit(&store).await;
    assert!(after.len() > before.len());
    let (new, old) = after.split_at(after.len() - before.len());
    assert_eq!(old, before.as_slice(), "earlier entries are unchanged");
    let newest_old = before[0].seq;
    assert!(
        new.iter().all(|e| e.seq > newest_old),
        "new entries come after"
    );
}

// =============================================================================================
// Text, consistency under concurrency, ordering.

/// Whatever a customer or an agent writes comes back exactly.
async fn text_round_trips(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let ch = make_channel(&store, "webhook", "Partner app", t(2)).await;
    let text = "Grüße 👋🏽 — 你好, مرحبا, e\u{301}\n\ttab \"quotes\" 'single' \\backslash \\u0000 $1 ?1 '); DROP TABLE cases; --";
    let mut m = msg("ext-ü-1", "c:thread-✓", "user-🙂");
    m.text = text.to_owned();
    m.author.name = Some("Zoë O'Brien".into());
    m.author.handle = Some("@zoë".into());
    let r = deliver(&store, &ch, 10, vec![m]).await;
    assert_eq!((r.messages, r.failed), (1, 0));
    let d = detail(&store, case_of(&r)).await;
    assert_eq!(d.messages[0].text, text);
    assert_eq!(d.messages[0].external_id.as_deref(), Some("ext-ü-1"));
    assert_eq!(d.messages[0].author.name.as_deref(), Some("Zoë O'Brien"));
    let contact = store.contact(d.case.contact_id).await.unwrap();
    assert_eq!(contact.identities[0].external_id, "user-🙂");
    assert_eq!(contact.identities[0].handle.as_deref(), Some("@zoë"));

    let (reply, _) = store
        .add_reply(d.case.id, text.to_owned(), as_user(&ann), t(11))
        .await
        .unwrap();
    let (note, _) = store
        .add_note(d.case.id, text.to_owned(), as_user(&ann), t(12))
        .await
        .unwrap();
    assert_eq!((reply.text.as_str(), note.text.as_str()), (text, text));
    let jobs = store.claim_outbound(t(20), t(80), 10).await.unwrap().0;
    assert_eq!(
        (
            jobs[0].text.as_str(),
            jobs[0].thread.as_str(),
            jobs[0].to.as_str()
        ),
        (text, "c:thread-✓", "user-🙂")
    );
    let events = all_events(&store).await;
    assert_eq!(events.last().unwrap().data["message"]["text"], text);
}

/// U+0000 cannot be stored in PostgreSQL text, so both backends refuse it the same way: the
/// item fails alone (the adapters already refuse it at the door with a 400).
async fn text_with_nul_round_trips(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "webhook", "Partner app", t(1)).await;
    let text = "before\u{0}after";
    let mut m = msg("m-1", "c:thread-1", "u-1");
    m.text = text.to_owned();
    let r = deliver(&store, &ch, 10, vec![m]).await;
    assert_eq!(
        (r.messages, r.failed),
        (0, 1),
        "a message with U+0000 in its text fails on every backend: {r:?}"
    );
    let _ = text;
}

/// The report of an ingest counts what was committed: a failed item contributes only to
/// `failed`, even when some of its messages were processed before the one that failed.
async fn ingest_report_matches_what_was_stored(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "webhook", "Partner app", t(1)).await;
    let first = raw_item(&store, &ch, t(10), vec![msg("m-a", "c:a", "u-a")]).await;
    // One event with two messages; the second carries U+0000 (see text_with_nul_round_trips),
    // which a backend may refuse: then the whole item fails and is rolled back.
    let mut nul = msg("m-c", "c:b", "u-b");
    nul.text = "x\u{0}y".into();
    let second = raw_item(&store, &ch, t(11), vec![msg("m-b", "c:b", "u-b"), nul]).await;
    let mut third = raw_item(&store, &ch, t(12), vec![]).await;
    third.parsed = Err("unreadable".into());

    let report = store
        .ingest(vec![first, second, third], t(20))
        .await
        .unwrap();
    let cases = store
        .list_cases(CaseFilter::default(), None, 100)
        .await
        .unwrap()
        .items;
    let mut stored_messages = 0;
    for c in &cases {
        stored_messages += detail(&store, c.id).await.messages.len() as u64;
    }
    assert!(report.failed == 1 || report.failed == 2, "{report:?}");
    assert_eq!(
        report.messages, stored_messages,
        "messages reported vs stored: {report:?}"
    );
    assert_eq!(
        report.cases_opened,
        cases.len() as u64,
        "cases reported vs stored: {report:?}"
    );
    assert_eq!(report.duplicates, 0);
    assert_eq!(
        all_events(&store).await,
        report.events,
        "events reported vs stored"
    );
    let contacts = store.list_contacts(None, 100).await.unwrap().items;
    assert_eq!(contacts.len(), cases.len(), "one contact per case here");
}

/// Writes that run at once (and so may be committed in one group) do not see or spoil each
/// other: a failing one fails alone, and leases are not handed out twice.
async fn concurrent_writes_are_isolated(store: Store) {
    migrated(&store).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..24 {
        let store = store.clone();
        // user-00 … user-19, and four names taken twice.
        let username = format!("user-{:02}", if i < 20 { i } else { i - 20 });
        set.spawn(async move {
            let new = NewUser {
                username: Username::parse(&username).unwrap(),
                display_name: name(&username),
                role: Role::Agent,
                password_hash: None,
            };
            store.create_user(new, Actor::System, t(1 + i)).await
        });
    }
    let (mut ok, mut conflicts) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((ok, conflicts), (20, 4));
    assert_eq!(store.list_users().await.unwrap().len(), 20);
    let audited = all_audit(&store)
        .await
        .iter()
        .filter(|e| e.action == "user.created")
        .count();
    assert_eq!(audited, 20, "only the committed creations are audited");

    // Concurrent ingests of the same message: one message.
    let ch = make_channel(&store, "facebook", "Page", t(30)).await;
    let a = raw_item(&store, &ch, t(31), vec![msg("m-1", "thread-a", "cust-1")]).await;
    let b = raw_item(&store, &ch, t(32), vec![msg("m-1", "thread-a", "cust-1")]).await;
    let (ra, rb) = tokio::join!(store.ingest(vec![a], t(33)), store.ingest(vec![b], t(33)));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        (ra.messages + rb.messages, ra.duplicates + rb.duplicates),
        (1, 1)
    );
    let id = case_of(if ra.messages == 1 { &ra } else { &rb });

    // Concurrent claims share the outbox without overlap.
    for i in 0..5 {
        store
            .add_reply(id, format!("reply {i}"), Actor::System, t(40 + i))
            .await
            .unwrap();
    }
    let (x, y, z) = tokio::join!(
        store.claim_outbound(t(50), t(110), 2),
        store.claim_outbound(t(50), t(110), 2),
        store.claim_outbound(t(50), t(110), 2),
    );
    let mut claimed: Vec<MessageId> = [x.unwrap().0, y.unwrap().0, z.unwrap().0]
        .into_iter()
        .flatten()
        .map(|j| j.message_id)
        .collect();
    assert_eq!(claimed.len(), 5, "each reply claimed once");
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 5, "no reply claimed twice");
    assert_eq!(
        store
            .stats()
            .failed_commits
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

/// Lists ordered by a name come out in the same order on every backend: byte order, as SQLite
/// compares text (a PostgreSQL database with a linguistic collation would order them otherwise).
async fn names_sort_the_same_on_every_backend(store: Store) {
    migrated(&store).await;
    for (i, u) in ["annb", "ann_b", "ann.lee", "ann-c"]
        .into_iter()
        .enumerate()
    {
        make_user(&store, u, Role::Agent, t(1 + i as i64)).await;
    }
    let users: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(users, ["ann-c", "ann.lee", "ann_b", "annb"]);

    for (i, n) in ["alpha", "Zeta", "Beta", "beta 2"].into_iter().enumerate() {
        make_team(&store, n, t(10 + i as i64)).await;
    }
    let teams: Vec<String> = store
        .list_teams()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(teams, ["Beta", "Zeta", "alpha", "beta 2"]);
}

/// Ingest lanes run at once (several on PostgreSQL). The same new author writing in different
/// threads on different lanes at the same moment becomes one contact, and every message is
/// stored exactly once; the events' `seq` follows commit order with no gaps.
async fn parallel_lanes_share_new_authors(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "webhook", "Partner app", t(1)).await;
    let lanes = store.ingest_lanes();
    let mut batches = Vec::new();
    for lane in 0..4 {
        let mut items = Vec::new();
        for k in 0..25 {
            // Authors a-0 … a-9 appear on every lane, each lane in threads of its own.
            let m = msg(
                &format!("m-{lane}-{k}"),
                &format!("c:t-{lane}-{k}"),
                &format!("a-{}", k % 10),
            );
            items.push(raw_item(&store, &ch, t(10), vec![m]).await);
        }
        batches.push((lane, items));
    }
    let runs = batches.into_iter().map(|(lane, items)| {
        let store = store.clone();
        tokio::spawn(async move { store.ingest_on(lane % lanes, items, t(20)).await })
    });
    let mut stored = 0;
    for r in futures_join(runs.collect()).await {
        let report = r.unwrap().unwrap();
        assert_eq!(report.failed, 0, "{report:?}");
        stored += report.messages;
    }
    assert_eq!(stored, 100);
    let contacts = store.list_contacts(None, 200).await.unwrap();
    assert_eq!(
        contacts.items.len(),
        10,
        "one contact per author across lanes"
    );
    let events = all_events(&store).await;
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "event seqs are gapless: {seqs:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "message.created")
            .count(),
        100
    );
}

async fn futures_join<T>(
    handles: Vec<tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await);
    }
    out
}

// =============================================================================================
// Playbooks and routing (issue 3).

const PLAYBOOK_V1: &str = r#"[[team]]
id = "support"
name = "Support"
strategy = "round_robin"
overflow = "desk"
[team.hours]
timezone = "Europe/Berlin"
mon = "09:00-17:00"

[[team]]
id = "desk"
name = "Front desk"

[[rule]]
name = "Refunds"
when.text_any = ["refund"]
then.purpose = "support"
then.team = "support"
then.priority = "high"
then.tags = ["money"]

[[rule]]
name = "Rest"
then.team = "desk"
"#;

async fn playbook_versions(store: Store) {
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    assert_eq!(
        store.playbook(None).await.unwrap_err(),
        StoreError::NotFound
    );
    let v1 = store
        .apply_playbook(PLAYBOOK_V1.into(), as_user(&admin), t(2))
        .await
        .unwrap();
    assert_eq!(
        (v1.version, v1.summary.as_str(), v1.active),
        (1, "2 teams, 2 rules", true)
    );
    let teams = store.list_teams().await.unwrap();
    let support = teams.iter().find(|t| t.slug == "support").unwrap();
    assert_eq!(support.overflow.as_deref(), Some("desk"));

    // Invalid: refused with positions, nothing stored.
    let err = store
        .apply_playbook(
            "[[rule]]\nname = \"x\"\nthen.team = \"ghost\"\n".into(),
            as_user(&admin),
            t(3),
        )
        .await
        .unwrap_err();
    let StoreError::InvalidPlaybook(list) = err else {
        panic!("{err:?}")
    };
    assert_eq!((list[0].line, list[0].column), (3, 13));
    assert_eq!(store.list_playbooks().await.unwrap().len(), 1);

    // A second version may refer to teams that exist only in the database now.
    let v2 = store
        .apply_playbook(
            "[[rule]]\nname = \"all\"\nthen.team = \"desk\"\n".into(),
            as_user(&admin),
            t(4),
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let v3 = store
        .restore_playbook(1, as_user(&admin), t(5))
        .await
        .unwrap();
    assert_eq!((v3.version, v3.restored_from), (3, Some(1)));
    let list = store.list_playbooks().await.unwrap();
    assert_eq!(
        list.iter()
            .map(|v| (v.version, v.active))
            .collect::<Vec<_>>(),
        [(3, true), (2, false), (1, false)]
    );
    assert_eq!(
        store.playbook(Some(2)).await.unwrap().source.as_deref(),
        Some("[[rule]]\nname = \"all\"\nthen.team = \"desk\"\n")
    );
    assert_eq!(store.playbook(None).await.unwrap().version, 3);
    assert_eq!(
        store
            .restore_playbook(9, as_user(&admin), t(6))
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    let audit = store.list_audit(None, 50).await.unwrap();
    assert_eq!(
        audit
            .items
            .iter()
            .filter(|e| e.action.starts_with("playbook."))
            .count(),
        3
    );
}

async fn ingest_routes_by_the_active_playbook(store: Store) {
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    let bob = make_user(&store, "bob", Role::Agent, t(1)).await;
    let cy = make_user(&store, "cy", Role::Agent, t(2)).await;
    let ch = make_channel(&store, "webhook", "Shop", t(1)).await;
    // Before any playbook: cases open unrouted.
    let r = deliver(&store, &ch, 2, vec![msg("m-0", "th-0", "c-0")]).await;
    let plain = detail(&store, case_of(&r)).await.case;
    assert_eq!((plain.team, plain.routing.clone()), (None, None));

    store
        .apply_playbook(PLAYBOOK_V1.into(), as_user(&admin), t(3))
        .await
        .unwrap();
    let teams = store.list_teams().await.unwrap();
    let id = |slug: &str| teams.iter().find(|t| t.slug == slug).unwrap().id;
    for u in [&bob, &cy] {
        store
            .add_team_member(id("support"), u.id, as_user(&admin), t(3))
            .await
            .unwrap();
        store
            .set_availability(u.id, Availability::Online, as_user(&admin), t(3))
            .await
            .unwrap();
    }
    // 2026-01-05 is a Monday: 10:00 Berlin is 09:00 UTC; t(0) is 2026-01-01 (Thursday) 00:00 UTC.
    let monday_10 = 4 * 86_400 + 9 * 3600;
    let mut refund = msg("m-1", "th-1", "c-1");
    refund.text = "I want a REFUND".into();
    let r = deliver(&store, &ch, monday_10, vec![refund]).await;
    let first = detail(&store, case_of(&r)).await.case;
    assert_eq!(first.purpose.as_str(), "support");
    assert_eq!(first.priority, Priority::High);
    assert_eq!(first.tags, ["money"]);
    assert_eq!(first.team, Some(id("support")));
    assert_eq!(
        first.assignee,
        Some(bob.id),
        "round robin starts with the first member"
    );
    let routing = first.routing.clone().unwrap();
    assert_eq!(
        routing["fired"][0]["reasons"],
        json!(["text contains \"refund\""])
    );
    assert_eq!(routing["playbook_version"], 1);

    let mut again = msg("m-2", "th-2", "c-2");
    again.text = "refund please".into();
    let r = deliver(&store, &ch, monday_10 + 1, vec![again]).await;
    assert_eq!(
        detail(&store, case_of(&r)).await.case.assignee,
        Some(cy.id),
        "then the next"
    );

    // Saturday: support is closed and overflows to the desk (manual: nobody assigned).
    let saturday = 9 * 86_400 + 9 * 3600;
    let mut weekend = msg("m-3", "th-3", "c-3");
    weekend.text = "refund?".into();
    let r = deliver(&store, &ch, saturday, vec![weekend]).await;
    let c = detail(&store, case_of(&r)).await.case;
    assert_eq!((c.team, c.assignee), (Some(id("desk")), None));
    let hop = &c.routing.unwrap()["placement"]["overflow"][0];
    assert_eq!(hop["reason"], "the team is outside its business hours");

    // A follow-up in an existing case does not route again.
    let r = deliver(&store, &ch, saturday + 1, vec![msg("m-4", "th-1", "c-1")]).await;
    assert_eq!(r.cases_opened, 0);
    assert_eq!(detail(&store, first.id).await.case.assignee, Some(bob.id));
}

async fn simulation_replays_stored_cases(store: Store) {
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    store
        .apply_playbook(PLAYBOOK_V1.into(), as_user(&admin), t(2))
        .await
        .unwrap();
    let ch = make_channel(&store, "webhook", "Shop", t(1)).await;
    for (i, text) in ["refund now", "hello", "where is my parcel", "refund?"]
        .iter()
        .enumerate()
    {
        let mut m = msg(&format!("m-{i}"), &format!("th-{i}"), &format!("c-{i}"));
        m.text = (*text).into();
        deliver(&store, &ch, 10 + i as i64, vec![m]).await;
    }
    let candidate = switchboard_core::playbook::parse(
        "[[rule]]\nname = \"Parcels\"\nwhen.text_any = [\"parcel\"]\nthen.purpose = \"support\"\nthen.team = \"support\"\n\n[[rule]]\nname = \"Refunds\"\nwhen.text_any = [\"refund\"]\nthen.purpose = \"support\"\nthen.team = \"support\"\n",
        &["support".into(), "desk".into()],
    )
    .unwrap();
    let report = store
        .simulate_playbook(candidate, t(0), t(100))
        .await
        .unwrap();
    assert_eq!(report.cases, 4);
    assert_eq!(
        report
            .rules
            .iter()
            .map(|r| (r.rule.as_str(), r.matched))
            .collect::<Vec<_>>(),
        [("Parcels", 1), ("Refunds", 2)]
    );
    assert_eq!(report.unmatched, 1);
    // "hello" would have no team (was desk); the parcel question would go to support.
    assert_eq!(report.routed_differently, 2);
    assert_eq!(report.examples.len(), 2);
    assert_eq!(report.examples[0].text, "hello");
    assert_eq!(report.examples[0].actual.team.as_deref(), Some("desk"));
    assert_eq!(report.examples[0].simulated.team, None);
    // The window is respected.
    let none = store
        .simulate_playbook(
            switchboard_core::playbook::parse(
                "[[rule]]\nname = \"a\"\nthen.team = \"desk\"\n",
                &["desk".into()],
            )
            .unwrap(),
            t(12),
            t(13),
        )
        .await
        .unwrap();
    assert_eq!(none.cases, 1);
}

const SLA_PLAYBOOK: &str = r#"[[team]]
id = "support"
name = "Support"
strategy = "round_robin"

[[team]]
id = "tier2"
name = "Tier 2"

[[sla]]
name = "standard"
first_response = "1h"
resolution = "8h"
warn_before = "15m"
on_breach = ["raise_priority", "notify_supervisor", "reassign:tier2"]

[[rule]]
name = "All to support"
then.purpose = "support"
then.team = "support"
"#;

async fn sla_watch_warns_breaches_and_acts_once(store: Store) {
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    let sue = make_user(&store, "sue", Role::Supervisor, t(2)).await;
    let bob = make_user(&store, "bob", Role::Agent, t(3)).await;
    store
        .apply_playbook(SLA_PLAYBOOK.into(), as_user(&admin), t(4))
        .await
        .unwrap();
    let teams = store.list_teams().await.unwrap();
    let id = |slug: &str| teams.iter().find(|t| t.slug == slug).unwrap().id;
    for u in [&bob, &sue] {
        store
            .add_team_member(id("support"), u.id, as_user(&admin), t(4))
            .await
            .unwrap();
    }
    store
        .set_availability(bob.id, Availability::Online, as_user(&admin), t(4))
        .await
        .unwrap();
    let ch = make_channel(&store, "webhook", "Shop", t(1)).await;
    let start = 100;
    let r = deliver(&store, &ch, start, vec![msg("m-1", "th-1", "c-1")]).await;
    let case = case_of(&r);
    assert_eq!(detail(&store, case).await.case.assignee, Some(bob.id));

    // A new case is due for a check at once; the check says when next (the warning).
    assert_eq!(store.sla_due(t(start), 10).await.unwrap(), [case]);
    let (first, events) = store.sla_check(case, t(start)).await.unwrap();
    assert_eq!((first.warnings, first.breaches), (0, 0));
    assert!(events.is_empty());
    assert_eq!(first.next_check_at, Some(t(start + 45 * 60)));
    assert!(
        store
            .sla_due(t(start + 45 * 60 - 1), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // 45 minutes in: the assignee is warned, once.
    let at = start + 46 * 60;
    assert_eq!(store.sla_due(t(at), 10).await.unwrap(), [case]);
    let (warned, events) = store.sla_check(case, t(at)).await.unwrap();
    assert_eq!((warned.warnings, warned.breaches), (1, 0));
    assert_eq!(warned.next_check_at, Some(t(start + 3600)));
    assert!(events.iter().any(|e| e.kind == "sla.warning"));
    let bobs = store
        .notifications(bob.id, true, None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(bobs.len(), 1, "{bobs:?}");
    assert_eq!(bobs[0].kind, "sla.warning");
    assert!(bobs[0].body.contains("first response"), "{}", bobs[0].body);
    let (again, events) = store.sla_check(case, t(at)).await.unwrap();
    assert_eq!((again.warnings, again.breaches, events.len()), (0, 0, 0));

    // At the breach: priority raised, supervisor notified, case reassigned to tier 2.
    let at = start + 3600 + 1;
    let (breached, events) = store.sla_check(case, t(at)).await.unwrap();
    assert_eq!((breached.warnings, breached.breaches), (0, 1));
    assert_eq!(
        breached.actions,
        ["raise_priority", "notify_supervisor", "reassign:tier2"]
    );
    assert!(events.iter().any(|e| e.kind == "sla.breached"));
    let after = detail(&store, case).await;
    assert_eq!(after.case.priority, Priority::High);
    assert_eq!(after.case.team, Some(id("tier2")));
    assert!(
        after
            .messages
            .iter()
            .any(|m| m.direction == Direction::Note && m.text.contains("first_response breached")),
        "the reassignment leaves a note"
    );
    let sues = store
        .notifications(sue.id, false, None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(
        sues.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
        ["sla.breached"]
    );
    let audit = store.list_audit(None, 200).await.unwrap().items;
    assert!(
        audit
            .iter()
            .any(|a| a.action == "sla.breached" && a.subject_id == case.to_string())
    );
    let (quiet, _) = store.sla_check(case, t(at + 10)).await.unwrap();
    assert_eq!((quiet.warnings, quiet.breaches), (0, 0), "acted on once");

    // Marking read: only one's own, and only once.
    assert_eq!(
        store
            .mark_notifications_read(sue.id, Some(vec![bobs[0].id]), t(at))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .mark_notifications_read(bob.id, None, t(at))
            .await
            .unwrap(),
        2,
        "the warning and the breach"
    );
    assert!(
        store
            .notifications(bob.id, true, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // A resolved case has nothing counting: the check clears itself.
    store
        .update_case(
            case,
            CasePatch {
                status: Some(CaseStatus::Resolved),
                ..Default::default()
            },
            as_user(&admin),
            t(at + 20),
        )
        .await
        .unwrap();
    let (done, _) = store.sla_check(case, t(at + 20)).await.unwrap();
    assert_eq!(done.next_check_at, None);
    assert!(
        store
            .sla_due(t(at + 1_000_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

const LIFECYCLE_PLAYBOOK: &str = r#"[[purpose]]
id = "warranty"
name = "Warranty claims"

[lifecycle]
reopen_within = "1h"

[[sla]]
name = "resolution"
resolution = "2h"

[[rule]]
name = "Warranty"
when.text_any = ["warranty"]
then.purpose = "warranty"
"#;

async fn lifecycle_reopen_window_pause_and_custom_purposes(store: Store) {
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    store
        .apply_playbook(LIFECYCLE_PLAYBOOK.into(), as_user(&admin), t(2))
        .await
        .unwrap();
    let purposes = store.purposes().await.unwrap();
    let warranty = purposes
        .iter()
        .find(|p| p.id.as_str() == "warranty")
        .unwrap();
    assert_eq!(
        (warranty.name.as_str(), warranty.built_in),
        ("Warranty claims", false)
    );
    assert_eq!(purposes.iter().filter(|p| p.built_in).count(), 5);

    let ch = make_channel(&store, "webhook", "Shop", t(1)).await;
    let mut m = msg("m-1", "th-1", "c-1");
    m.text = "my warranty ran out".into();
    let case = case_of(&deliver(&store, &ch, 10, vec![m]).await);
    assert_eq!(detail(&store, case).await.case.purpose.as_str(), "warranty");

    // Pending stops the resolution clock: 1 hour pending moves the due time by 1 hour.
    let set = |status| CasePatch {
        status: Some(status),
        ..Default::default()
    };
    store
        .update_case(case, set(CaseStatus::Pending), as_user(&admin), t(10))
        .await
        .unwrap();
    store
        .update_case(case, set(CaseStatus::Open), as_user(&admin), t(10 + 3600))
        .await
        .unwrap();
    let (_, sla) = store.case_at(case, t(10 + 3600)).await.unwrap();
    let resolution = &sla.unwrap().targets[0];
    assert_eq!(resolution.due_at, t(10 + 3 * 3600));

    // Within the window a customer message reopens; after it, a new case opens and the old
    // one is closed.
    store
        .update_case(case, set(CaseStatus::Resolved), as_user(&admin), t(5000))
        .await
        .unwrap();
    let r = deliver(&store, &ch, 5000 + 3000, vec![msg("m-2", "th-1", "c-1")]).await;
    assert_eq!(case_of(&r), case);
    assert_eq!(detail(&store, case).await.case.status, CaseStatus::Open);
    store
        .update_case(case, set(CaseStatus::Resolved), as_user(&admin), t(9000))
        .await
        .unwrap();
    let r = deliver(&store, &ch, 9000 + 3601, vec![msg("m-3", "th-1", "c-1")]).await;
    let newer = case_of(&r);
    assert_ne!(newer, case);
    assert_eq!(r.cases_opened, 1);
    assert_eq!(detail(&store, case).await.case.status, CaseStatus::Closed);
    assert_eq!(detail(&store, newer).await.case.status, CaseStatus::New);

    // Custom purposes: unknown ones are refused and nothing changes; registered ones work.
    let patch = |p: &str| CasePatch {
        purpose: Some(Purpose::parse(p).unwrap()),
        ..Default::default()
    };
    let err = store
        .update_case(newer, patch("returns"), as_user(&admin), t(20000))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("unknown purpose")),
        "{err:?}"
    );
    assert_eq!(detail(&store, newer).await.case.purpose.as_str(), "tier1");
    store
        .add_purpose(
            switchboard_core::playbook::PurposeDecl {
                id: Purpose::parse("returns").unwrap(),
                name: Some("Returns".into()),
                description: None,
            },
            as_user(&admin),
            t(20000),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_purpose(
                switchboard_core::playbook::PurposeDecl {
                    id: Purpose::parse("sales").unwrap(),
                    name: None,
                    description: None,
                },
                as_user(&admin),
                t(20000),
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .update_case(newer, patch("returns"), as_user(&admin), t(20001))
        .await
        .unwrap();
    assert_eq!(detail(&store, newer).await.case.purpose.as_str(), "returns");
    // A registered purpose may be used by a later playbook without declaring it.
    store
        .check_playbook("[[rule]]\nname = \"r\"\nthen.purpose = \"returns\"\n".into())
        .await
        .unwrap();
}
// =============================================================================================
// Merging and splitting cases.

/// A public comment from `author` on `thread`.
fn public_msg(external_id: &str, thread: &str, author: &str) -> InboundMessage {
    InboundMessage {
        public: true,
        ..msg(external_id, thread, author)
    }
}

/// Everything a merge or a split could change, to compare before and after a refusal.
async fn snapshot(store: &Store) -> (Vec<CaseDetail>, Vec<Contact>, usize, i64) {
    let mut cases = Vec::new();
    for id in all_cases(store, CaseFilter::default()).await {
        cases.push(detail(store, id).await);
    }
    let contacts = store.list_contacts(None, 200).await.unwrap().items;
    let audit = all_audit(store).await.len();
    (
        cases,
        contacts,
        audit,
        store.last_event_seq().await.unwrap(),
    )
}

/// `r` is `StoreError::Invalid` with a message that says `phrase`.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(r: Result<T, StoreError>, phrase: &str) {
    match r {
        Err(StoreError::Invalid(m)) if m.contains(phrase) => {}
        other => panic!("expected StoreError::Invalid saying {phrase:?}, got {other:?}"),
    }
}

fn tags(list: &[&str]) -> Vec<Tag> {
    list.iter().map(|t| Tag::parse(t).unwrap()).collect()
}

async fn merge_moves_messages_and_closes_sources(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let ch = make_channel(&store, "facebook", "Page", t(2)).await;
    // The customer writes in private first (case b), then comments in public (case a).
    let r = deliver(&store, &ch, 10, vec![msg("dm-1", "dm:cust-1", "cust-1")]).await;
    let (b, dm1) = (case_of(&r), message_of(&r));
    let r = deliver(
        &store,
        &ch,
        11,
        vec![public_msg("post-1", "post:1", "cust-1")],
    )
    .await;
    let (a, post1) = (case_of(&r), message_of(&r));
    let (answer, _) = store
        .add_reply(b, "Hello in private".into(), as_user(&ann), t(12))
        .await
        .unwrap();
    let dm2 = message_of(&deliver(&store, &ch, 13, vec![msg("dm-2", "dm:cust-1", "cust-1")]).await);
    let tagged = |list: &[&str]| CasePatch {
        tags: Some(tags(list)),
        ..CasePatch::default()
    };
    store
        .update_case(a, tagged(&["social"]), Actor::System, t(14))
        .await
        .unwrap();
    let patch = CasePatch {
        priority: Some(Priority::High),
        ..tagged(&["billing", "social"])
    };
    store
        .update_case(b, patch, Actor::System, t(14))
        .await
        .unwrap();
    let (before_a, before_b) = (case(&store, a).await, case(&store, b).await);
    assert_eq!(before_a.contact_id, before_b.contact_id);
    let (public, private) = (before_a.conversation_id, before_b.conversation_id);
    let seq = store.last_event_seq().await.unwrap();

    let (merged, events) = store
        .merge_cases(a, vec![b], false, as_user(&ann), t(20))
        .await
        .unwrap();
    assert_eq!(merged.id, a);
    assert_eq!(
        (merged.created_at, merged.first_response_at),
        (t(10), Some(t(12))),
        "the earliest of both cases"
    );
    assert_eq!(
        (merged.tags.clone(), merged.priority),
        (
            vec!["billing".to_owned(), "social".to_owned()],
            Priority::High
        )
    );
    assert_eq!(
        (
            merged.status,
            merged.conversation_id,
            merged.public,
            merged.merged_into,
            merged.updated_at
        ),
        (before_a.status, public, true, None, t(20)),
        "the target keeps its own conversation"
    );
    assert_eq!(kinds(&events), ["case.updated", "case.updated"]);
    assert_eq!(
        events.iter().map(|e| e.case_id).collect::<Vec<_>>(),
        [Some(b), Some(a)]
    );
    assert!(events[0].seq > seq);
    assert_eq!(events[0].data["case"]["merged_into"], a.to_string());
    assert_eq!(events[1].data["case"]["tags"], json!(["billing", "social"]));

    let d = detail(&store, a).await;
    assert_eq!(d.case, merged);
    assert_eq!(
        d.messages
            .iter()
            .map(|m| (m.id, m.conversation_id))
            .collect::<Vec<_>>(),
        [
            (dm1, private),
            (post1, public),
            (answer.id, private),
            (dm2, private)
        ],
        "every message in time order, each on its own conversation"
    );
    assert!(d.messages.iter().all(|m| m.case_id == a));
    let source = detail(&store, b).await;
    assert!(source.messages.is_empty());
    assert_eq!(
        (
            source.case.status,
            source.case.merged_into,
            source.case.resolved_at,
            source.case.updated_at
        ),
        (CaseStatus::Closed, Some(a), Some(t(20)), t(20))
    );
    // Lists hide nothing: the source is a closed case.
    assert_eq!(all_cases(&store, CaseFilter::default()).await, [a, b]);
    assert_eq!(
        all_cases(&store, status_filter(CaseStatus::Closed)).await,
        [b]
    );

    let audit = all_audit(&store).await;
    let merges: Vec<&AuditEntry> = audit.iter().filter(|e| e.action == "case.merged").collect();
    assert_eq!(merges.len(), 1);
    assert_eq!(
        (merges[0].subject_id.clone(), merges[0].actor_id.clone()),
        (b.to_string(), Some(ann.id.to_string()))
    );
    assert_eq!(merges[0].details["into"], a.to_string());
    assert_eq!(merges[0].details["messages"], 3);

    // Replies go out on the case's own (public) conversation, or on the one asked for: the
    // guards go by that conversation, and the reply answers its last customer message.
    let text = "Write to help@example.com";
    match store.reply(a, text.into(), as_user(&ann), t(21)).await {
        Err(StoreError::ReplyBlocked { .. }) => {}
        other => panic!("a public reply with an e-mail address is blocked: {other:?}"),
    }
    let on_dm = store
        .reply_on(a, Some(private), text.into(), as_user(&ann), t(21))
        .await
        .unwrap();
    assert_eq!(
        (
            on_dm.message.conversation_id,
            on_dm.message.channel_id,
            on_dm.message.text.as_str(),
            on_dm.message.in_reply_to,
            on_dm.guard
        ),
        (private, ch.id, text, Some(dm2), None)
    );
    let on_post = store
        .reply_on(
            a,
            Some(public),
            "Thanks, see your DMs".into(),
            as_user(&ann),
            t(22),
        )
        .await
        .unwrap();
    assert_eq!(
        (on_post.message.conversation_id, on_post.message.in_reply_to),
        (public, Some(post1))
    );
    let default = store
        .reply(a, "And here".into(), as_user(&ann), t(23))
        .await
        .unwrap();
    assert_eq!(default.message.conversation_id, public);
    let (jobs, _) = store.claim_outbound(t(30), t(90), 10).await.unwrap();
    let job = jobs
        .iter()
        .find(|j| j.message_id == on_dm.message.id)
        .expect("the DM reply is sent");
    assert_eq!(
        (
            job.thread.as_str(),
            job.in_reply_to.as_deref(),
            job.to.as_str()
        ),
        ("dm:cust-1", Some("dm-2"), "cust-1")
    );

    // A conversation that is not the case's is refused, and nothing is stored.
    let other = case_of(&deliver(&store, &ch, 24, vec![msg("x-1", "dm:cust-2", "cust-2")]).await);
    let foreign = case(&store, other).await.conversation_id;
    let before = snapshot(&store).await;
    assert_refused(
        store
            .reply_on(a, Some(foreign), "hi".into(), as_user(&ann), t(25))
            .await,
        "is not one of this case's conversations",
    );
    assert_eq!(snapshot(&store).await, before);
}

async fn merge_refusals_change_nothing(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let on = |at: i64, thread: &str, author: &str| {
        let (store, ch) = (&store, &ch);
        let (thread, author) = (thread.to_owned(), author.to_owned());
        async move {
            let id = format!("m-{at}");
            case_of(&deliver(store, ch, at, vec![msg(&id, &thread, &author)]).await)
        }
    };
    let a = on(10, "thread-a", "cust-1").await;
    let b = on(11, "thread-b", "cust-1").await;
    let gone = on(12, "thread-c", "cust-1").await;
    let closed = on(13, "thread-d", "cust-1").await;
    let stranger = on(14, "thread-e", "cust-2").await;
    store
        .merge_cases(b, vec![gone], false, Actor::System, t(15))
        .await
        .unwrap();
    store
        .update_case(closed, status(CaseStatus::Closed), Actor::System, t(16))
        .await
        .unwrap();
    let unknown = CaseId::new_at(t(17));

    let before = snapshot(&store).await;
    for (target, sources, phrase) in [
        (a, vec![], "name at least one case"),
        (a, vec![a], "cannot be merged into itself"),
        (a, vec![b, a], "cannot be merged into itself"),
        (a, vec![b, b], "is named twice"),
        (a, vec![b, unknown], "no case with id"),
        (a, vec![gone], "was already merged into case"),
        (gone, vec![a], "merge into that case instead"),
        (closed, vec![a], "is closed"),
        (a, vec![b, stranger], "\"merge_contacts\": true"),
    ] {
        assert_refused(
            store
                .merge_cases(target, sources.clone(), false, Actor::System, t(18))
                .await,
            phrase,
        );
        assert_eq!(
            snapshot(&store).await,
            before,
            "merging {sources:?} into {target} changed something"
        );
    }
    assert_not_found(
        store
            .merge_cases(unknown, vec![a], false, Actor::System, t(18))
            .await,
        "unknown target",
    );
    assert_eq!(snapshot(&store).await, before);

    // A closed source may be merged: its history joins the target, and it stays resolved when
    // it was.
    let resolved_at = case(&store, closed).await.resolved_at;
    assert_eq!(resolved_at, Some(t(16)));
    let (merged, _) = store
        .merge_cases(a, vec![closed], false, Actor::System, t(19))
        .await
        .unwrap();
    assert_eq!(detail(&store, a).await.messages.len(), 2);
    assert_eq!(merged.status, CaseStatus::New);
    let source = case(&store, closed).await;
    assert_eq!(
        (source.status, source.merged_into, source.resolved_at),
        (CaseStatus::Closed, Some(a), Some(t(16)))
    );
    // A resolved target that takes an active case opens again.
    store
        .update_case(a, status(CaseStatus::Resolved), Actor::System, t(20))
        .await
        .unwrap();
    let (merged, _) = store
        .merge_cases(a, vec![b], false, Actor::System, t(21))
        .await
        .unwrap();
    assert_eq!(
        (merged.status, merged.resolved_at, merged.reopen_count),
        (CaseStatus::Open, None, 1)
    );
    assert_eq!(detail(&store, a).await.messages.len(), 4);
}

/// A public mention and the e-mail that follows it come from two contact records of one
/// person: merging the cases with `merge_contacts` makes them one contact.
async fn merge_contacts_links_a_mention_and_its_follow_up(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let social = make_channel(&store, "twitter", "Social", t(2)).await;
    let mail = make_channel(&store, "email", "Mail", t(3)).await;
    let old = case_of(
        &deliver(
            &store,
            &mail,
            5,
            vec![msg("mail-0", "mail-0", "ann@example.com")],
        )
        .await,
    );
    store
        .update_case(old, status(CaseStatus::Closed), Actor::System, t(6))
        .await
        .unwrap();
    let mention = case_of(
        &deliver(
            &store,
            &social,
            10,
            vec![public_msg("tw-1", "post:1", "@ann")],
        )
        .await,
    );
    let email = case_of(
        &deliver(
            &store,
            &mail,
            11,
            vec![msg("mail-1", "mail-1", "ann@example.com")],
        )
        .await,
    );
    let (x, y) = (
        case(&store, mention).await.contact_id,
        case(&store, email).await.contact_id,
    );
    assert_ne!(x, y);
    assert_eq!(case(&store, old).await.contact_id, y);
    store
        .set_contact_tags(x, tags(&["vip"]), Actor::System, t(12))
        .await
        .unwrap();
    store
        .set_contact_tags(y, tags(&["enterprise", "vip"]), Actor::System, t(12))
        .await
        .unwrap();

    let before = snapshot(&store).await;
    assert_refused(
        store
            .merge_cases(mention, vec![email], false, as_user(&ann), t(13))
            .await,
        "\"merge_contacts\": true",
    );
    assert_eq!(snapshot(&store).await, before, "a refusal changes nothing");

    let (merged, events) = store
        .merge_cases(mention, vec![email], true, as_user(&ann), t(14))
        .await
        .unwrap();
    assert_eq!(merged.contact_id, x);
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind.as_str(), e.case_id))
            .collect::<Vec<_>>(),
        [
            ("case.updated", Some(email)),
            ("case.updated", Some(old)),
            ("case.updated", Some(mention))
        ],
        "every case that changed, the target last"
    );
    let contact = store.contact(x).await.unwrap();
    assert_eq!(
        contact
            .identities
            .iter()
            .map(|i| (i.channel_id, i.external_id.as_str()))
            .collect::<Vec<_>>(),
        [(mail.id, "ann@example.com"), (social.id, "@ann")],
        "both identities, oldest first"
    );
    assert_eq!(contact.tags, ["vip", "enterprise"]);
    assert_eq!(contact.display_name.as_deref(), Some("Customer @ann"));
    for id in [old, email, mention] {
        assert_eq!(case(&store, id).await.contact_id, x, "case {id}");
    }
    let timeline = store.contact_timeline(x, None, 100).await.unwrap().items;
    assert_eq!(timeline.len(), 3);
    assert!(timeline.iter().all(|m| m.author.id == Some(x.to_string())));
    // The emptied contact stays, with nothing left on it.
    let emptied = store.contact(y).await.unwrap();
    assert!(emptied.identities.is_empty());
    assert!(
        store
            .contact_timeline(y, None, 100)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let audit = all_audit(&store).await;
    let entry = audit
        .iter()
        .find(|e| e.action == "contact.merged")
        .expect("contact.merged is audited");
    assert_eq!(
        (entry.subject_kind.as_str(), entry.subject_id.clone()),
        ("contact", y.to_string())
    );
    assert_eq!(entry.details["into"], x.to_string());
    assert_eq!(entry.details["identities"], 1);
    assert!(
        audit
            .iter()
            .any(|e| e.action == "case.merged" && e.subject_id == email.to_string())
    );

    // The e-mail address is now the merged contact's: a new mail from it is theirs.
    let next = case_of(
        &deliver(
            &store,
            &mail,
            20,
            vec![msg("mail-2", "mail-2", "ann@example.com")],
        )
        .await,
    );
    assert_eq!(case(&store, next).await.contact_id, x);

    // A second address on the same channel cannot join: a reply there could not tell which
    // of the two to write to.
    let work = case_of(
        &deliver(
            &store,
            &mail,
            21,
            vec![msg("mail-3", "mail-3", "ann@work.example")],
        )
        .await,
    );
    let before = snapshot(&store).await;
    assert_refused(
        store
            .merge_cases(mention, vec![work], true, as_user(&ann), t(22))
            .await,
        "both have an identity on the channel \"Mail\"",
    );
    assert_eq!(snapshot(&store).await, before, "a refusal changes nothing");
}

async fn split_moves_messages_to_a_new_case(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let team = make_team(&store, "Care", t(1)).await;
    let ch = make_channel(&store, "facebook", "Page", t(2)).await;
    let r = deliver(&store, &ch, 10, vec![msg("dm-1", "dm:cust-1", "cust-1")]).await;
    let (b, dm1) = (case_of(&r), message_of(&r));
    let r = deliver(
        &store,
        &ch,
        11,
        vec![public_msg("post-1", "post:1", "cust-1")],
    )
    .await;
    let (a, post1) = (case_of(&r), message_of(&r));
    let (answer, _) = store
        .add_reply(b, "Hello".into(), as_user(&ann), t(12))
        .await
        .unwrap();
    let dm2 = message_of(&deliver(&store, &ch, 13, vec![msg("dm-2", "dm:cust-1", "cust-1")]).await);
    store
        .add_team_member(team.id, ann.id, Actor::System, t(13))
        .await
        .unwrap();
    let patch = CasePatch {
        purpose: Some(Purpose::parse("support").unwrap()),
        team: Some(Some(team.id)),
        assignee: Some(Some(ann.id)),
        priority: Some(Priority::Urgent),
        tags: Some(tags(&["social"])),
        ..CasePatch::default()
    };
    store
        .update_case(a, patch, Actor::System, t(14))
        .await
        .unwrap();
    store
        .merge_cases(a, vec![b], false, Actor::System, t(15))
        .await
        .unwrap();
    let (public, private) = (
        case(&store, a).await.conversation_id,
        case(&store, b).await.conversation_id,
    );
    let before = case(&store, a).await;

    let (new, events) = store
        .split_case(a, vec![dm2, dm1, answer.id], as_user(&ann), t(20))
        .await
        .unwrap();
    assert_ne!(new.id, a);
    assert_eq!(
        (
            new.status,
            new.contact_id,
            new.purpose.clone(),
            new.team,
            new.assignee,
            new.priority,
            new.tags.clone()
        ),
        (
            CaseStatus::Open,
            before.contact_id,
            before.purpose.clone(),
            Some(team.id),
            Some(ann.id),
            Priority::Urgent,
            before.tags.clone()
        )
    );
    assert_eq!(
        (
            new.conversation_id,
            new.public,
            new.channel_id,
            new.merged_into
        ),
        (private, false, ch.id, None),
        "the new case is on the messages' conversation"
    );
    assert_eq!(
        (new.created_at, new.first_response_at, new.updated_at),
        (t(10), Some(t(12)), t(20)),
        "from its earliest message and its earliest reply"
    );
    assert_eq!(
        detail(&store, new.id)
            .await
            .messages
            .iter()
            .map(|m| (m.id, m.case_id))
            .collect::<Vec<_>>(),
        [(dm1, new.id), (answer.id, new.id), (dm2, new.id)]
    );
    let left = detail(&store, a).await;
    assert_eq!(
        left.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        [post1]
    );
    assert_eq!(
        (
            left.case.conversation_id,
            left.case.status,
            left.case.updated_at
        ),
        (public, before.status, t(20))
    );
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind.as_str(), e.case_id))
            .collect::<Vec<_>>(),
        [("case.created", Some(new.id)), ("case.updated", Some(a))]
    );
    let splits: Vec<AuditEntry> = all_audit(&store)
        .await
        .into_iter()
        .filter(|e| e.action == "case.split")
        .collect();
    assert_eq!(
        splits
            .iter()
            .map(|e| e.subject_id.clone())
            .collect::<Vec<_>>(),
        [new.id.to_string(), a.to_string()],
        "one entry on each case (newest first)"
    );
    assert_eq!(splits[1].details["into"], new.id.to_string());
    assert_eq!(splits[0].details["from"], a.to_string());
    assert_eq!(splits[0].actor_id, Some(ann.id.to_string()));

    // Merged back, then the public comment split off instead: the case follows its customer
    // to the private conversation.
    store
        .merge_cases(a, vec![new.id], false, Actor::System, t(21))
        .await
        .unwrap();
    let (comment, _) = store
        .split_case(a, vec![post1], Actor::System, t(22))
        .await
        .unwrap();
    assert_eq!((comment.conversation_id, comment.public), (public, true));
    let left = case(&store, a).await;
    assert_eq!((left.conversation_id, left.public), (private, false));
    assert_eq!(detail(&store, a).await.messages.len(), 3);
}

async fn split_refusals_change_nothing(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "facebook", "Page", t(1)).await;
    let r = deliver(&store, &ch, 10, vec![msg("dm-1", "dm:cust-1", "cust-1")]).await;
    let (b, dm1) = (case_of(&r), message_of(&r));
    let r = deliver(
        &store,
        &ch,
        11,
        vec![public_msg("post-1", "post:1", "cust-1")],
    )
    .await;
    let (a, post1) = (case_of(&r), message_of(&r));
    let dm2 = message_of(&deliver(&store, &ch, 12, vec![msg("dm-2", "dm:cust-1", "cust-1")]).await);
    let r = deliver(&store, &ch, 13, vec![msg("x-1", "dm:cust-2", "cust-2")]).await;
    let (other, foreign) = (case_of(&r), message_of(&r));
    store
        .merge_cases(a, vec![b], false, Actor::System, t(14))
        .await
        .unwrap();
    let closed = case_of(
        &deliver(
            &store,
            &ch,
            15,
            vec![
                msg("y-1", "dm:cust-3", "cust-3"),
                msg("y-2", "dm:cust-3", "cust-3"),
            ],
        )
        .await,
    );
    let closed_msg = detail(&store, closed).await.messages[0].id;
    store
        .update_case(closed, status(CaseStatus::Closed), Actor::System, t(16))
        .await
        .unwrap();

    let before = snapshot(&store).await;
    for (case, messages, phrase) in [
        (a, vec![], "name at least one message"),
        (a, vec![dm1, post1, dm2], "all the messages"),
        (a, vec![dm1, foreign], "is not on case"),
        (a, vec![MessageId::new_at(t(17))], "is not on case"),
        (a, vec![dm1, dm1], "is named twice"),
        (a, vec![dm1, post1], "more than one conversation"),
        (b, vec![dm1], "was merged into case"),
        (closed, vec![closed_msg], "is closed"),
        (other, vec![foreign], "all the messages"),
    ] {
        assert_refused(
            store
                .split_case(case, messages.clone(), Actor::System, t(18))
                .await,
            phrase,
        );
        assert_eq!(
            snapshot(&store).await,
            before,
            "splitting {messages:?} off {case} changed something"
        );
    }
    assert_not_found(
        store
            .split_case(CaseId::new_at(t(18)), vec![dm1], Actor::System, t(18))
            .await,
        "unknown case",
    );
    assert_eq!(snapshot(&store).await, before);
}

// =============================================================================================
// Notify hooks and escalation.

const NOTIFY_PLAYBOOK: &str = r#"
[[team]]
id = "pr"
name = "PR"

[[rule]]
name = "Outages wake the status page and the on-call"
when.text_any = ["outage"]
then.team = "pr"
then.notify = "https://status.example/hook"
then.escalate = true

[[rule]]
name = "Everything is copied to the CRM"
then.notify = "https://crm.example/hook"
"#;

async fn notify_hooks_are_queued_with_the_case_and_tracked_to_the_end(store: Store) {
    use switchboard_store::HookOutcome;
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    store
        .apply_playbook(NOTIFY_PLAYBOOK.into(), as_user(&admin), t(2))
        .await
        .unwrap();
    let ch = make_channel(&store, "webhook", "Shop", t(3)).await;
    let mut m = msg("m-1", "th-1", "c-1");
    m.text = "Is there an outage?".into();
    let case = case_of(&deliver(&store, &ch, 10, vec![m]).await);

    // One delivery per URL of every rule that fired, queued with the case.
    let page = store
        .hook_deliveries(Some(case), None, None, 10)
        .await
        .unwrap();
    let mut urls: Vec<_> = page.items.iter().map(|d| d.url.as_str()).collect();
    urls.sort();
    assert_eq!(
        urls,
        ["https://crm.example/hook", "https://status.example/hook"]
    );
    assert!(
        page.items
            .iter()
            .all(|d| d.state == "queued" && d.attempts == 0)
    );
    assert!(
        page.items
            .iter()
            .all(|d| d.event == "case.routed" && d.body.is_none())
    );
    let first = store.hook_delivery(page.items[0].id).await.unwrap();
    let body = first.body.clone().unwrap();
    assert_eq!(body["id"], json!(first.id));
    assert_eq!(body["event"], "case.routed");
    assert_eq!(body["case"]["id"], json!(case));
    assert_eq!(body["message"]["text"], "Is there an outage?");
    assert_eq!(
        body["case"]["routing"]["fired"][0]["rule"],
        "Outages wake the status page and the on-call"
    );

    // A second message on the same case queues nothing more (the playbook routes new cases).
    let again = case_of(&deliver(&store, &ch, 11, vec![msg("m-2", "th-1", "c-1")]).await);
    assert_eq!(again, case);
    assert_eq!(store.hooks_pending().await.unwrap(), 2);

    // Claimed under a lease: not due again until it ends.
    let jobs = store.claim_hooks(t(20), t(80), 10).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(
        store
            .claim_hooks(t(21), t(81), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let (a, b) = (jobs[0].id, jobs[1].id);
    store
        .record_hook(a, HookOutcome::Delivered { status: 204 }, t(22))
        .await
        .unwrap();
    store
        .record_hook(
            b,
            HookOutcome::Retry {
                at: t(30),
                status: Some(503),
                error: "HTTP 503".into(),
            },
            t(22),
        )
        .await
        .unwrap();
    let delivered = store.hook_delivery(a).await.unwrap();
    assert_eq!(
        (
            delivered.state.as_str(),
            delivered.attempts,
            delivered.last_status,
            delivered.delivered_at
        ),
        ("delivered", 1, Some(204), Some(t(22)))
    );
    // A late answer for a delivery no longer in flight changes nothing.
    store
        .record_hook(
            a,
            HookOutcome::Failed {
                status: None,
                error: "late".into(),
            },
            t(23),
        )
        .await
        .unwrap();
    assert_eq!(store.hook_delivery(a).await.unwrap(), delivered);

    // The retry is due at its time, not before.
    assert!(
        store
            .claim_hooks(t(29), t(90), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = store.claim_hooks(t(30), t(90), 10).await.unwrap();
    assert_eq!((retry.len(), retry[0].id, retry[0].attempts), (1, b, 1));
    // Refused while in flight.
    assert!(matches!(
        store.redeliver_hook(b, as_user(&admin), t(31)).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .record_hook(
            b,
            HookOutcome::Failed {
                status: Some(410),
                error: "HTTP 410 Gone".into(),
            },
            t(32),
        )
        .await
        .unwrap();
    let failed = store
        .hook_deliveries(None, Some("failed".into()), None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0].id,
            failed[0].attempts,
            failed[0].last_status,
            failed[0].last_error.as_deref()
        ),
        (b, 2, Some(410), Some("HTTP 410 Gone"))
    );
    assert_eq!(store.hooks_pending().await.unwrap(), 0);

    // Sent again by an admin: queued with a fresh count, the same body; audited.
    let requeued = store
        .redeliver_hook(b, as_user(&admin), t(40))
        .await
        .unwrap();
    assert_eq!((requeued.state.as_str(), requeued.attempts), ("queued", 0));
    assert_eq!(requeued.body, store.hook_delivery(b).await.unwrap().body);
    assert_eq!(store.claim_hooks(t(40), t(99), 10).await.unwrap().len(), 1);
    let audit = all_audit(&store).await;
    for action in ["notify.delivered", "notify.failed", "notify.redelivered"] {
        assert!(audit.iter().any(|e| e.action == action), "{action} audited");
    }
    assert!(matches!(
        store.hook_delivery(DeliveryId::new_at(t(1))).await,
        Err(StoreError::NotFound)
    ));
}

async fn escalation_notifies_the_teams_supervisors(store: Store) {
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    let sue = make_user(&store, "sue", Role::Supervisor, t(2)).await;
    let other = make_user(&store, "otto", Role::Supervisor, t(2)).await;
    store
        .apply_playbook(NOTIFY_PLAYBOOK.into(), as_user(&admin), t(3))
        .await
        .unwrap();
    let pr = store
        .list_teams()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.slug == "pr")
        .unwrap()
        .id;
    store
        .add_team_member(pr, sue.id, as_user(&admin), t(4))
        .await
        .unwrap();
    let ch = make_channel(&store, "webhook", "Shop", t(5)).await;

    // No escalation: nobody is notified.
    deliver(&store, &ch, 10, vec![msg("m-1", "th-1", "c-1")]).await;
    assert!(
        store
            .notifications(sue.id, false, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let mut m = msg("m-2", "th-2", "c-2");
    m.text = "Total outage here".into();
    let report = deliver(&store, &ch, 11, vec![m]).await;
    let case = case_of(&report);
    let detail = detail(&store, case).await;
    assert!(detail.case.escalated);
    let sues = store
        .notifications(sue.id, false, None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(sues.len(), 1, "{sues:?}");
    assert_eq!(
        (sues[0].kind.as_str(), sues[0].case_id),
        ("case.escalated", Some(case))
    );
    assert!(sues[0].body.contains("Customer c-2"), "{}", sues[0].body);
    // The team has a supervisor, so others are not disturbed; the event is in the ingest's.
    assert!(
        store
            .notifications(other.id, false, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        report
            .events
            .iter()
            .any(|e| e.kind == "notification.created")
    );
}

async fn models_are_versioned_and_one_is_active(store: Store) {
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    assert!(store.active_model("intent".into()).await.unwrap().is_none());
    let one = store
        .install_model(
            "intent".into(),
            vec![1, 2, 3],
            json!({"labels": 3}),
            as_user(&admin),
            t(2),
        )
        .await
        .unwrap()
        .0;
    assert_eq!((one.version, one.active), (1, true));
    let two = store
        .install_model(
            "intent".into(),
            vec![4, 5],
            json!({"labels": 4}),
            as_user(&admin),
            t(3),
        )
        .await
        .unwrap()
        .0;
    assert_eq!((two.version, two.active), (2, true));
    // The same file again is that version, active again, not a third copy.
    let (again, new) = store
        .install_model(
            "intent".into(),
            vec![1, 2, 3],
            json!({"labels": 3}),
            as_user(&admin),
            t(4),
        )
        .await
        .unwrap();
    assert_eq!((again.version, again.active, new), (1, true, false));
    assert_eq!(store.list_models().await.unwrap().len(), 2);
    store
        .activate_model("intent".into(), 2, as_user(&admin), t(5))
        .await
        .unwrap();
    let (active, bytes) = store.active_model("intent".into()).await.unwrap().unwrap();
    assert_eq!((active.version, bytes), (2, vec![4, 5]));
    let back = store
        .activate_model("intent".into(), 1, as_user(&admin), t(4))
        .await
        .unwrap();
    assert!(back.active);
    let list = store.list_models().await.unwrap();
    let actives: Vec<i64> = list
        .iter()
        .filter(|m| m.active)
        .map(|m| m.version)
        .collect();
    assert_eq!(actives, [1]);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].summary, json!({"labels": 4}));
    assert!(matches!(
        store
            .activate_model("intent".into(), 7, as_user(&admin), t(5))
            .await,
        Err(StoreError::NotFound)
    ));
    let (active, bytes) = store.active_model("intent".into()).await.unwrap().unwrap();
    assert_eq!((active.version, bytes), (1, vec![1, 2, 3]));
    // The same file trained here from stored examples: the version learns how it was made
    // (the learning loop reads it), once; a later plain install does not erase it.
    let trained = json!({"labels": 4, "trained_by": "api", "base_digest": "d1"});
    for summary in [
        trained.clone(),
        json!({"labels": 4}),
        json!({"labels": 4, "trained_by": "api", "base_digest": "d2"}),
    ] {
        let (v, new) = store
            .install_model("intent".into(), vec![4, 5], summary, as_user(&admin), t(6))
            .await
            .unwrap();
        assert_eq!((v.version, new), (2, false));
        assert_eq!(v.summary, trained);
    }
}

/// A message stored with `nb` (what detection said for Norwegian before codes were one list)
/// is reported with those stored as `no`: one language, not two.
async fn languages_are_reported_under_todays_codes(store: Store) {
    migrated(&store).await;
    let ch = make_channel(&store, "webhook", "Shop", t(2)).await;
    for (i, code) in ["nb", "no", "en"].iter().enumerate() {
        let understood = Understood {
            language: Some((*code).to_owned()),
            ..Understood::default()
        };
        let id = format!("m-{i}");
        deliver_understood(
            &store,
            &ch,
            10 + i as i64,
            vec![(msg(&id, &format!("th-{i}"), &format!("c-{i}")), understood)],
        )
        .await;
    }
    let rows = store
        .kpi_report(switchboard_store::KpiQuery {
            from: t(0),
            until: t(1_000),
            bucket: switchboard_core::kpi::Bucket::All,
            tz: switchboard_core::kpi::TimeZone::UTC,
            group_by: switchboard_store::GroupBy::Language,
        })
        .await
        .unwrap();
    let mut groups: Vec<(&str, usize)> = rows
        .iter()
        .map(|r| (r.group.as_str(), r.cases_opened))
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, [("en", 1), ("no", 2)], "{rows:?}");
}

async fn corrections_become_training_examples(store: Store) {
    migrated(&store).await;
    let admin = make_user(&store, "ann", Role::Admin, t(1)).await;
    let ch = make_channel(&store, "webhook", "Shop", t(2)).await;
    let mut m = msg("m-1", "th-1", "c-1");
    m.text = "How much for fifty seats? ann@example.com".into();
    let case = case_of(&deliver(&store, &ch, 10, vec![m]).await);
    let patch = |p: &str| CasePatch {
        purpose: Some(Purpose::parse(p).unwrap()),
        ..CasePatch::default()
    };
    // A change the system makes teaches nothing; a person's does.
    store
        .update_case(case, patch("support"), Actor::System, t(11))
        .await
        .unwrap();
    assert!(
        store
            .training_examples("purpose".into())
            .await
            .unwrap()
            .is_empty()
    );
    store
        .update_case(case, patch("sales"), as_user(&admin), t(12))
        .await
        .unwrap();
    let examples = store.training_examples("purpose".into()).await.unwrap();
    assert_eq!(examples.len(), 1);
    assert_eq!(
        (
            examples[0].text.as_str(),
            examples[0].label.as_str(),
            examples[0].case_id
        ),
        (
            "How much for fifty seats? [e-mail address removed]",
            "sales",
            Some(case)
        )
    );

    // An intent correction is stored on the message and kept as an example.
    let message = detail(&store, case).await.messages[0].id;
    let (corrected, event) = store
        .correct_intent(message, "pricing".into(), as_user(&admin), t(13))
        .await
        .unwrap();
    let intent = corrected.understanding.unwrap().intent.unwrap();
    assert_eq!((intent.label.as_str(), intent.confidence), ("pricing", 1.0));
    // Open case pages hear of it.
    assert_eq!(
        (event.kind.as_str(), event.case_id),
        ("message.updated", Some(case))
    );
    assert_eq!(
        event.data["message"]["understanding"]["intent"]["label"],
        "pricing"
    );
    // A sentiment correction likewise, with the score a person's word gets.
    let (corrected, event) = store
        .correct_sentiment(message, "negative".into(), as_user(&admin), t(13))
        .await
        .unwrap();
    let sentiment = corrected.understanding.unwrap().sentiment.unwrap();
    assert_eq!(
        (sentiment.label.as_str(), sentiment.score),
        ("negative", -1.0)
    );
    assert_eq!(event.kind, "message.updated");
    let sentiments = store.training_examples("sentiment".into()).await.unwrap();
    assert_eq!(
        (sentiments.len(), sentiments[0].message_id),
        (1, Some(message))
    );
    assert!(matches!(
        store
            .correct_sentiment(message, "meh".into(), as_user(&admin), t(13))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let intents = store.training_examples("intent".into()).await.unwrap();
    assert_eq!((intents.len(), intents[0].message_id), (1, Some(message)));
    assert!(matches!(
        store
            .correct_intent(MessageId::new_at(t(1)), "x".into(), as_user(&admin), t(14))
            .await,
        Err(StoreError::NotFound)
    ));
    // A second correction of the same message replaces the first as its example.
    store
        .correct_intent(message, "discount".into(), as_user(&admin), t(15))
        .await
        .unwrap();
    let intents = store.training_examples("intent".into()).await.unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].label, "discount");
    store
        .update_case(case, patch("support"), as_user(&admin), t(16))
        .await
        .unwrap();
    let purposes = store.training_examples("purpose".into()).await.unwrap();
    assert_eq!(purposes.len(), 1);
    assert_eq!(purposes[0].label, "support");
    let page = store
        .training_examples_page("intent".into(), Some(true), None, 10)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next_cursor), (1, None));
    let none = store
        .training_examples_page("intent".into(), Some(false), None, 10)
        .await
        .unwrap();
    assert!(none.items.is_empty());
}

async fn a_learning_decision_is_taken_once(store: Store) {
    migrated(&store).await;
    let decision = |through: &str, outcome: &str| LearningDecision {
        decided_through: through.into(),
        decided_at: t(1),
        outcome: outcome.into(),
        detail: serde_json::json!({"corrections": 3}),
    };
    assert_eq!(
        store.learning_decision("purpose".into()).await.unwrap(),
        None
    );
    // Two nodes claim the same round: the first wins.
    assert!(
        store
            .record_learning_decision("purpose".into(), "".into(), decision("b", "training"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_learning_decision("purpose".into(), "".into(), decision("b", "training"))
            .await
            .unwrap()
    );
    // The winner records its outcome over its own claim.
    assert!(
        store
            .record_learning_decision("purpose".into(), "b".into(), decision("b", "shipped"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.learning_decision("purpose".into()).await.unwrap(),
        Some(decision("b", "shipped"))
    );
    assert!(
        !store
            .record_learning_decision("purpose".into(), "a".into(), decision("c", "training"))
            .await
            .unwrap()
    );
    // Kinds are separate.
    assert!(
        store
            .record_learning_decision("intent".into(), "".into(), decision("z", "kept"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .learning_decision("purpose".into())
            .await
            .unwrap()
            .unwrap()
            .decided_through,
        "b"
    );
}

// =============================================================================================
// One person, two contact records: keys, suggestions and contact merges.

fn phone(s: &str) -> ContactKey {
    ContactKey::phone(s).unwrap()
}

fn email(s: &str) -> ContactKey {
    ContactKey::email(s).unwrap()
}

/// A private message whose text says `text`, with the e-mail addresses and phone numbers the
/// guards' detectors (which the understanding step uses) find in it.
fn saying(
    external_id: &str,
    thread: &str,
    author: &str,
    text: &str,
) -> (InboundMessage, Understood) {
    use switchboard_core::guard::{FindingKind, personal_data};
    let mut m = msg(external_id, thread, author);
    m.text = text.to_owned();
    let spans = personal_data(text)
        .into_iter()
        .filter_map(|f| {
            let kind = match f.kind {
                FindingKind::Email => "email",
                FindingKind::Phone => "phone",
                _ => return None,
            };
            Some(PersonalDataSpan {
                kind: kind.into(),
                start: f.start,
                end: f.end,
                scheme: None,
            })
        })
        .collect();
    (
        m,
        Understood {
            personal_data: spans,
            ..Understood::default()
        },
    )
}

/// Delivers messages with what was understood of them.
async fn deliver_understood(
    store: &Store,
    channel: &Channel,
    at: i64,
    msgs: Vec<(InboundMessage, Understood)>,
) -> IngestReport {
    let (msgs, understood): (Vec<_>, Vec<_>) = msgs.into_iter().unzip();
    let mut item = raw_item(store, channel, t(at), msgs).await;
    item.understood = understood;
    store.ingest(vec![item], t(at)).await.unwrap()
}

async fn contact_of(store: &Store, report: &IngestReport) -> ContactId {
    case(store, case_of(report)).await.contact_id
}

fn key_list(c: &Contact) -> Vec<(KeyKind, &str, KeySource)> {
    c.keys
        .iter()
        .map(|k| (k.kind, k.value.as_str(), k.source))
        .collect()
}

async fn contact_keys_suggest_merges(store: Store) {
    migrated(&store).await;
    let sms = make_channel(&store, "twilio", "SMS", t(1)).await;
    let wa = make_channel(&store, "whatsapp", "WhatsApp", t(2)).await;
    let dm = make_channel(&store, "x", "X", t(3)).await;

    // The same number on SMS (E.164) and WhatsApp (wa_id): two records, one strong key each.
    let on_sms = contact_of(
        &store,
        &deliver(
            &store,
            &sms,
            10,
            vec![msg("SM1", "+15550100199", "+15550100199")],
        )
        .await,
    )
    .await;
    let on_wa = contact_of(
        &store,
        &deliver(
            &store,
            &wa,
            11,
            vec![msg("wamid.1", "15550100199", "15550100199")],
        )
        .await,
    )
    .await;
    assert_ne!(on_sms, on_wa);
    let c = store.contact(on_sms).await.unwrap();
    assert_eq!(
        key_list(&c),
        [(KeyKind::Phone, "+15550100199", KeySource::Identity)]
    );

    // On X, a customer writes their number and address in a DM (weak keys); another writes
    // the company's help address, and so does a third.
    let writer = contact_of(
        &store,
        &deliver_understood(
            &store,
            &dm,
            12,
            vec![saying(
                "x1",
                "dm:1",
                "1001",
                "call me on +1 555 010 0199, or ana@example.com",
            )],
        )
        .await,
    )
    .await;
    let c = store.contact(writer).await.unwrap();
    assert_eq!(
        key_list(&c),
        [
            (KeyKind::Email, "ana@example.com", KeySource::Message),
            (KeyKind::Phone, "+15550100199", KeySource::Message)
        ],
        "the spans' text, canonical"
    );
    let help1 = contact_of(
        &store,
        &deliver_understood(
            &store,
            &dm,
            13,
            vec![saying(
                "x2",
                "dm:2",
                "1002",
                "I wrote to help@shop.example already",
            )],
        )
        .await,
    )
    .await;
    let help2 = contact_of(
        &store,
        &deliver_understood(
            &store,
            &dm,
            14,
            vec![saying(
                "x3",
                "dm:3",
                "1003",
                "help@shop.example never answers",
            )],
        )
        .await,
    )
    .await;
    // A public tweet's numbers are not the author's.
    let public = {
        let (mut m, u) = saying("x4", "post:4", "1004", "my number is +15550100199");
        m.public = true;
        contact_of(
            &store,
            &deliver_understood(&store, &dm, 15, vec![(m, u)]).await,
        )
        .await
    };
    assert!(store.contact(public).await.unwrap().keys.is_empty());

    let dupes = store.contact_duplicates(on_sms).await.unwrap();
    let mut others: Vec<(ContactId, Vec<ContactKey>)> = dupes
        .iter()
        .map(|d| (d.contact.id, d.shared.clone()))
        .collect();
    others.sort_by_key(|o| o.0);
    let mut want = vec![
        (on_wa, vec![phone("+15550100199")]),
        (writer, vec![phone("+15550100199")]),
    ];
    want.sort_by_key(|o| o.0);
    assert_eq!(others, want, "a strong key matches a strong or a weak one");
    assert!(
        store.contact_duplicates(help1).await.unwrap().is_empty(),
        "two weak keys suggest nothing"
    );
    assert!(store.contact_duplicates(help2).await.unwrap().is_empty());
    assert_not_found(
        store.contact_duplicates(ContactId::new_at(t(99))).await,
        "unknown contact",
    );

    let pairs = store.merge_suggestions(50).await.unwrap();
    let mut got: Vec<(ContactId, ContactId)> = pairs.iter().map(|p| (p.a.id, p.b.id)).collect();
    got.sort();
    let mut want = vec![(on_sms, on_wa), (on_sms, writer), (on_wa, writer)];
    want.sort();
    assert_eq!(got, want, "each pair once, the older record first");
    assert!(pairs.iter().all(|p| p.a.created_at <= p.b.created_at));
    assert_eq!(
        store.merge_suggestions(1).await.unwrap().len(),
        1,
        "the limit holds"
    );

    // An agent says the X writer is someone else: that pair is no longer suggested.
    store
        .mark_distinct(writer, on_sms, Actor::System, t(20))
        .await
        .unwrap();
    store
        .mark_distinct(on_sms, writer, Actor::System, t(20))
        .await
        .unwrap();
    let others: Vec<ContactId> = store
        .contact_duplicates(on_sms)
        .await
        .unwrap()
        .iter()
        .map(|d| d.contact.id)
        .collect();
    assert_eq!(others, [on_wa]);
    assert_refused(
        store
            .mark_distinct(on_sms, on_sms, Actor::System, t(20))
            .await,
        "distinct from itself",
    );
    assert_refused(
        store
            .mark_distinct(on_sms, ContactId::new_at(t(99)), Actor::System, t(20))
            .await,
        "no contact with id",
    );
    assert_not_found(
        store
            .mark_distinct(ContactId::new_at(t(99)), on_sms, Actor::System, t(20))
            .await,
        "unknown contact",
    );

    // Agents type keys in; an agent key makes the help address strong, but a key more than
    // COMMON_KEY contacts share suggests nothing.
    let update = |keys: Vec<ContactKey>| ContactUpdate {
        tags: None,
        keys: Some(keys),
    };
    store
        .update_contact(
            help1,
            update(vec![email("Help@Shop.example")]),
            Actor::System,
            t(21),
        )
        .await
        .unwrap();
    let c = store.contact(help1).await.unwrap();
    assert_eq!(
        key_list(&c),
        [(KeyKind::Email, "help@shop.example", KeySource::Agent)],
        "agent beats message"
    );
    assert_eq!(store.contact_duplicates(help2).await.unwrap().len(), 1);
    let mut crowd = Vec::new();
    for i in 0..switchboard_store::COMMON_KEY {
        let id = contact_of(
            &store,
            &deliver(
                &store,
                &dm,
                30 + i,
                vec![msg(
                    &format!("c{i}"),
                    &format!("dm:c{i}"),
                    &format!("20{i}"),
                )],
            )
            .await,
        )
        .await;
        store
            .update_contact(
                id,
                update(vec![email("help@shop.example")]),
                Actor::System,
                t(40),
            )
            .await
            .unwrap();
        crowd.push(id);
    }
    assert!(
        store.contact_duplicates(help2).await.unwrap().is_empty(),
        "a key everyone has ties no one"
    );
    // Replacing the agent's keys drops the old ones and keeps the identity's.
    store
        .update_contact(
            on_sms,
            update(vec![email("ana@example.com"), phone("+442079460958")]),
            Actor::System,
            t(41),
        )
        .await
        .unwrap();
    store
        .update_contact(
            on_sms,
            update(vec![phone("+442079460958")]),
            Actor::System,
            t(42),
        )
        .await
        .unwrap();
    let c = store.contact(on_sms).await.unwrap();
    assert_eq!(
        key_list(&c),
        [
            (KeyKind::Phone, "+15550100199", KeySource::Identity),
            (KeyKind::Phone, "+442079460958", KeySource::Agent)
        ]
    );
    assert_not_found(
        store
            .update_contact(
                ContactId::new_at(t(99)),
                update(vec![]),
                Actor::System,
                t(43),
            )
            .await,
        "unknown contact",
    );
}

async fn merge_contacts_moves_everything_or_nothing(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let sms = make_channel(&store, "twilio", "SMS", t(2)).await;
    let wa = make_channel(&store, "whatsapp", "WhatsApp", t(3)).await;
    let on_sms_case = case_of(
        &deliver(
            &store,
            &sms,
            10,
            vec![msg("SM1", "+15550100199", "+15550100199")],
        )
        .await,
    );
    let on_wa_case = case_of(
        &deliver(
            &store,
            &wa,
            11,
            vec![msg("wamid.1", "15550100199", "15550100199")],
        )
        .await,
    );
    let (on_sms, on_wa) = (
        case(&store, on_sms_case).await.contact_id,
        case(&store, on_wa_case).await.contact_id,
    );
    let other = contact_of(
        &store,
        &deliver(
            &store,
            &sms,
            12,
            vec![msg("SM2", "+15550100200", "+15550100200")],
        )
        .await,
    )
    .await;
    store
        .set_contact_tags(on_wa, tags(&["vip"]), Actor::System, t(13))
        .await
        .unwrap();
    // An agent typed the same number on a third record, and said it is not the WhatsApp one.
    let typed = ContactUpdate {
        tags: None,
        keys: Some(vec![phone("+15550100199")]),
    };
    store
        .update_contact(other, typed, Actor::System, t(13))
        .await
        .unwrap();
    store
        .mark_distinct(other, on_wa, Actor::System, t(13))
        .await
        .unwrap();
    let dupes = |store: Store, id| async move {
        let mut v: Vec<ContactId> = store
            .contact_duplicates(id)
            .await
            .unwrap()
            .iter()
            .map(|d| d.contact.id)
            .collect();
        v.sort();
        v
    };
    let mut want = vec![on_wa, other];
    want.sort();
    assert_eq!(dupes(store.clone(), on_sms).await, want);

    // Refusals change nothing.
    let before = snapshot(&store).await;
    let unknown = ContactId::new_at(t(99));
    assert_refused(
        store
            .merge_contacts(on_wa, on_wa, as_user(&ann), t(14))
            .await,
        "cannot be merged into itself",
    );
    assert_refused(
        store
            .merge_contacts(on_wa, unknown, as_user(&ann), t(14))
            .await,
        "no contact with id",
    );
    assert_not_found(
        store
            .merge_contacts(unknown, on_wa, as_user(&ann), t(14))
            .await,
        "unknown source",
    );
    assert_refused(
        store
            .merge_contacts(other, on_sms, as_user(&ann), t(14))
            .await,
        "both have an identity on the channel \"SMS\"",
    );
    assert_eq!(snapshot(&store).await, before, "a refusal changes nothing");

    let (merged, events) = store
        .merge_contacts(on_wa, on_sms, as_user(&ann), t(15))
        .await
        .unwrap();
    assert_eq!(merged.id, on_sms);
    assert_eq!(
        merged
            .identities
            .iter()
            .map(|i| i.channel_id)
            .collect::<Vec<_>>(),
        [sms.id, wa.id]
    );
    assert_eq!(
        key_list(&merged),
        [(KeyKind::Phone, "+15550100199", KeySource::Identity)],
        "one key, not two"
    );
    assert_eq!(merged.tags, ["vip"]);
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind.as_str(), e.case_id))
            .collect::<Vec<_>>(),
        [("case.updated", Some(on_wa_case))]
    );
    assert_eq!(
        case(&store, on_wa_case).await.contact_id,
        on_sms,
        "the case moved; it stays its own case"
    );
    assert_eq!(case(&store, on_wa_case).await.status, CaseStatus::New);
    let emptied = store.contact(on_wa).await.unwrap();
    assert_eq!(emptied.merged_into, Some(on_sms));
    assert!(emptied.identities.is_empty() && emptied.keys.is_empty());
    let listed: Vec<ContactId> = store
        .list_contacts(None, 50)
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    assert!(
        !listed.contains(&on_wa) && listed.contains(&on_sms),
        "merged records are not listed"
    );
    assert!(
        dupes(store.clone(), on_sms).await.is_empty(),
        "nothing left to suggest: the third record is distinct from the merged person"
    );
    assert_eq!(
        store
            .contact_timeline(on_sms, None, 50)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let audit = all_audit(&store).await;
    let entry = audit
        .iter()
        .find(|a| a.action == "contact.merged")
        .expect("audited");
    assert_eq!(entry.subject_id, on_wa.to_string());
    assert_eq!(entry.details["into"], json!(on_sms));

    // A message on the merged identity now lands on the surviving contact.
    let later = deliver(
        &store,
        &wa,
        20,
        vec![msg("wamid.2", "15550100199", "15550100199")],
    )
    .await;
    assert_eq!(contact_of(&store, &later).await, on_sms);

    // The merged record can be merged no further, nor into; nor changed.
    assert_refused(
        store
            .merge_contacts(on_wa, other, as_user(&ann), t(21))
            .await,
        "was already merged into",
    );
    assert_refused(
        store
            .merge_contacts(other, on_wa, as_user(&ann), t(21))
            .await,
        "merge into that contact instead",
    );
    assert_refused(
        store
            .set_contact_tags(on_wa, tags(&["x"]), Actor::System, t(21))
            .await,
        "was merged into",
    );
}

async fn templates_reach_the_outbound_job(store: Store) {
    migrated(&store).await;
    let ann = make_user(&store, "ann", Role::Agent, t(1)).await;
    let wa = make_channel(&store, "whatsapp", "WhatsApp", t(2)).await;
    let id = case_of(
        &deliver(
            &store,
            &wa,
            10,
            vec![msg("wamid.1", "dm:4915112345678", "4915112345678")],
        )
        .await,
    );
    let template = switchboard_core::Template {
        name: "order_shipped".into(),
        language: "en_US".into(),
        parameters: vec!["5521".into()],
    };
    let to = switchboard_store::ReplyTo {
        template: Some(template.clone()),
        ..Default::default()
    };
    let out = store
        .reply_to(id, to, "Order 5521 shipped.".into(), as_user(&ann), t(20))
        .await
        .unwrap();
    assert_eq!(out.message.template.as_ref(), Some(&template));
    let plain = store
        .add_reply(id, "And a plain one".into(), as_user(&ann), t(21))
        .await
        .unwrap()
        .0;
    assert_eq!(plain.template, None);
    let (jobs, _) = store.claim_outbound(t(30), t(90), 10).await.unwrap();
    let by_id = |m: MessageId| jobs.iter().find(|j| j.message_id == m).expect("claimed");
    assert_eq!(by_id(out.message.id).template.as_ref(), Some(&template));
    assert_eq!(by_id(plain.id).template, None);
    let stored = detail(&store, id).await;
    let m = stored
        .messages
        .iter()
        .find(|m| m.id == out.message.id)
        .unwrap();
    assert_eq!(m.template.as_ref(), Some(&template), "read back");
}
