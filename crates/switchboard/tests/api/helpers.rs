//! Starting a real server for one test, and talking HTTP to it.
//!
//! Every test gets its own server on `127.0.0.1:0` over its own database: an SQLite file in a
//! temporary directory, or (for the PostgreSQL tests) a fresh database created for the test and
//! dropped afterwards. Tokens for the four roles are written straight into the store, the way
//! `switchboard token create` does it.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_core::{Name, Role, Timestamp};
use switchboard_server::ServerConfig;
use switchboard_server::auth::{credential_hash, new_credential};
use switchboard_server::crypto::SecretBox;
use switchboard_store::{Actor, Location, Store};

/// The example body from the issue, byte for byte.
pub const ISSUE_BODY: &str = r#"{"id":"ext-1","conversation":"thread-9","public":false,"from":{"id":"u-1","name":"Ann Lee","handle":"@ann"},"text":"…","sent_at":"2026-11-22T10:00:00Z"}"#;

/// Where nothing listens: outbound deliveries to it fail (and are retried) quietly.
pub const NOWHERE: &str = "http://127.0.0.1:9/switchboard";

pub const ADMIN_TOKEN_NAME: &str = "test admin";
pub const AGENT_TOKEN_NAME: &str = "test agent";

/// How long a test waits for something that should happen within milliseconds.
const PATIENCE: Duration = Duration::from_secs(15);

pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub supervisor: String,
    pub agent: String,
    pub reviewer: String,
    /// The key sealing channel secrets, as `SWITCHBOARD_SECRET_KEY` takes it (64 hex digits).
    pub secret_key: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    // Dropped last: the database outlives everything that uses it.
    _pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

/// A server on a fresh SQLite database.
/// The CSRF token a page of the session `cookie` (`sb_session=…`) carries.
pub fn csrf_of(cookie: &str) -> String {
    let session = cookie.strip_prefix("sb_session=").unwrap_or(cookie);
    switchboard_server::auth::csrf_token(session)
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&Location::Sqlite(dir.path().join("switchboard.db"))).expect("open");
    start(store, dir, None, |_| {}).await
}

/// A server on a database that already holds a workspace (one `switchboard import` filled),
/// with the secret key it was sealed with; `pg` is kept alive (and dropped) with the server.
pub async fn spawn_app_on(location: Location, pg: Option<PgDatabase>, secret_key: &str) -> TestApp {
    let store = std::thread::spawn(move || Store::open(&location))
        .join()
        .expect("open thread")
        .expect("open the store");
    let key: [u8; 32] = hex::decode(secret_key)
        .expect("hex key")
        .try_into()
        .expect("32 bytes");
    let dir = tempfile::tempdir().expect("temp dir");
    start_with_key(store, dir, pg, key, |_| {}).await
}

/// [`spawn_app`] with settings changed (the public URL is the server's own address).
pub async fn spawn_app_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&Location::Sqlite(dir.path().join("switchboard.db"))).expect("open");
    start(store, dir, None, tweak).await
}

/// A server on a fresh PostgreSQL database, or `None` (and a note saying why) when
/// `SWITCHBOARD_TEST_DATABASE_URL` is not set.
pub async fn spawn_app_pg(test: &str) -> Option<TestApp> {
    let db = PgDatabase::for_test(test)?;
    let url = db.url.clone();
    // The synchronous PostgreSQL client must not run on a tokio thread: open on a plain one.
    let store = std::thread::spawn(move || Store::open(&Location::Postgres(url)))
        .join()
        .expect("open thread")
        .expect("open the PostgreSQL store");
    let dir = tempfile::tempdir().expect("temp dir");
    Some(start(store, dir, Some(db), |_| {}).await)
}

async fn start(
    store: Store,
    dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
    tweak: impl FnOnce(&mut ServerConfig),
) -> TestApp {
    start_with_key(store, dir, pg, rand::random::<[u8; 32]>(), tweak).await
}

async fn start_with_key(
    store: Store,
    dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
    key: [u8; 32],
    tweak: impl FnOnce(&mut ServerConfig),
) -> TestApp {
    store.migrate().await.expect("migrate");
    let mut tokens = Vec::new();
    for (name, role) in [
        (ADMIN_TOKEN_NAME, Role::Admin),
        ("test supervisor", Role::Supervisor),
        (AGENT_TOKEN_NAME, Role::Agent),
        ("test reviewer", Role::Reviewer),
    ] {
        let token = new_credential("sbt");
        store
            .create_token(
                Name::parse(name).expect("name"),
                role,
                credential_hash(&token),
                Actor::System,
                Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc()),
            )
            .await
            .expect("create token");
        tokens.push(token);
    }
    launch(store, dir, pg, key, tokens, tweak).await
}

/// Serves `store` with the four tokens (admin, supervisor, agent, reviewer) already in it.
async fn launch(
    store: Store,
    dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
    key: [u8; 32],
    tokens: Vec<String>,
    tweak: impl FnOnce(&mut ServerConfig),
) -> TestApp {
    let secrets = SecretBox::from_key(key);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let mut config = ServerConfig {
        public_url: address.clone(),
        outbound_base_delay_ms: 20,
        outbound_max_attempts: 3,
        outbound_timeout_ms: 2000,
        sla_tick_ms: 100,
        ..Default::default()
    };
    tweak(&mut config);
    tokio::spawn(async move {
        let stopped = async {
            let _ = stop.await;
        };
        if let Err(e) = switchboard_server::launch_with(
            listener,
            store,
            secrets,
            config,
            switchboard_web::routes(),
            stopped,
        )
        .await
        {
            eprintln!("the test server stopped: {e:#}");
        }
    });
    let mut tokens = tokens.into_iter();
    let mut next = || tokens.next().expect("token");
    let app = TestApp {
        address,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        admin: next(),
        supervisor: next(),
        agent: next(),
        reviewer: next(),
        secret_key: hex::encode(key),
        _shutdown: shutdown,
        _pg: pg,
        _dir: dir,
    };
    wait_for("the server to answer /healthz", || async {
        let r = app.http.get(app.url("/healthz")).send().await.ok()?;
        (r.status() == StatusCode::OK).then_some(())
    })
    .await;
    app
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON, or `Null` if it is not JSON.
    pub json: Value,
}

impl Answer {
    pub async fn read(r: reqwest::Response) -> Answer {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("read body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status and code; returns the problem.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.json["status"], json!(status), "{}", self.text);
        assert_eq!(self.json["code"], json!(code), "{}", self.text);
        assert!(
            self.json["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a problem says what went wrong: {}",
            self.text
        );
        &self.json
    }
}

/// A webhook channel as created through the API.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: String,
    pub secret: String,
}

impl TestApp {
    /// The SQLite file of a server started on one (a second `Store` may open it, as another
    /// process would).
    pub fn sqlite_path(&self) -> std::path::PathBuf {
        self._dir.path().join("switchboard.db")
    }

    /// Stops this server and starts a new one on the same SQLite database, key and tokens
    /// (a restart: what was only in the old process's memory is gone).
    pub async fn restart(self, tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
        let TestApp {
            admin,
            supervisor,
            agent,
            reviewer,
            secret_key,
            _shutdown,
            _pg,
            _dir,
            ..
        } = self;
        drop(_shutdown);
        let path = _dir.path().join("switchboard.db");
        let store = Store::open(&Location::Sqlite(path)).expect("reopen");
        let key: [u8; 32] = hex::decode(secret_key)
            .expect("hex key")
            .try_into()
            .expect("32 bytes");
        launch(
            store,
            _dir,
            _pg,
            key,
            vec![admin, supervisor, agent, reviewer],
            tweak,
        )
        .await
    }

    pub fn pg_url(&self) -> Option<String> {
        self._pg.as_ref().map(|d| d.url.clone())
    }

    /// The server's database as `--database` takes it: its PostgreSQL URL, or `sqlite:PATH`.
    pub fn database(&self) -> String {
        self.pg_url().unwrap_or_else(|| {
            format!(
                "sqlite:{}",
                self._dir.path().join("switchboard.db").display()
            )
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Answer::read(req.send().await.expect("send")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// A request with a raw body (for bodies that are not valid JSON).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("send");
        Answer::read(r).await
    }

    /// Applies a playbook (as the admin), asserting it was accepted.
    pub async fn apply_playbook(&self, source: &str) {
        let r = self
            .put(
                "/api/v1/playbook",
                &self.admin,
                &json!({ "source": source }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }

    /// The id of the team the playbook calls `slug`.
    pub async fn team_id(&self, slug: &str) -> String {
        let teams = self.get("/api/v1/teams", &self.admin).await;
        teams.json["items"]
            .as_array()
            .expect("teams")
            .iter()
            .find(|t| t["slug"] == slug)
            .and_then(|t| t["id"].as_str())
            .unwrap_or_else(|| panic!("no team {slug}: {}", teams.text))
            .to_owned()
    }

    /// Creates a webhook channel; returns its id and the secret shown once.
    pub async fn create_channel(&self, outbound_url: &str) -> Channel {
        let a = self
            .post(
                "/api/v1/channels",
                &self.admin,
                &json!({"kind": "webhook", "name": "Partner app", "outbound_url": outbound_url}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        let id = a.json["id"].as_str().expect("channel id").to_owned();
        let secret = a.json["secret"]
            .as_str()
            .expect("channel secret")
            .to_owned();
        assert!(!secret.is_empty());
        Channel { id, secret }
    }

    /// POSTs `body` to the channel's webhook with a correct signature.
    pub async fn post_webhook(&self, channel: &Channel, body: &str) -> Answer {
        let sig = sign(&channel.secret, body.as_bytes());
        self.post_webhook_with(&channel.id, Some(&sig), body.as_bytes().to_vec())
            .await
    }

    /// POSTs to `/hooks/webhook/{channel}` with whatever signature header (or none).
    pub async fn post_webhook_with(
        &self,
        channel: &str,
        signature: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = self
            .http
            .post(self.url(&format!("/hooks/webhook/{channel}")))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(s) = signature {
            req = req.header("X-Switchboard-Signature", s);
        }
        Answer::read(req.send().await.expect("send webhook")).await
    }

    /// POSTs a signed webhook and asserts it was accepted.
    pub async fn deliver(&self, channel: &Channel, body: &str) {
        let a = self.post_webhook(channel, body).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.json["status"], "accepted", "{}", a.text);
    }

    /// Every case, following the cursor (with the default page size).
    pub async fn all_cases(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut path = "/api/v1/cases".to_owned();
        loop {
            let a = self.get(&path, &self.admin).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text);
            out.extend(a.json["items"].as_array().expect("items").iter().cloned());
            match a.json["next_cursor"].as_str() {
                Some(c) => path = format!("/api/v1/cases?cursor={c}"),
                None => return out,
            }
        }
    }

    pub async fn case(&self, id: &str) -> Value {
        let a = self.get(&format!("/api/v1/cases/{id}"), &self.admin).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.json
    }

    /// Every message on every case.
    pub async fn all_messages(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for c in self.all_cases().await {
            let detail = self.case(c["id"].as_str().expect("case id")).await;
            out.extend(detail["messages"].as_array().expect("messages").clone());
        }
        out
    }

    /// Waits until the case with an inbound message of this external id exists; returns the
    /// case detail.
    pub async fn wait_for_message(&self, external_id: &str) -> Value {
        wait_for(&format!("message {external_id} on a case"), || async {
            for c in self.all_cases().await {
                let detail = self.case(c["id"].as_str()?).await;
                if detail["messages"]
                    .as_array()?
                    .iter()
                    .any(|m| m["external_id"] == external_id)
                {
                    return Some(detail);
                }
            }
            None
        })
        .await
    }

    /// Waits until exactly `n` inbound messages are stored; returns them.
    pub async fn wait_for_inbound(&self, n: usize) -> Vec<Value> {
        wait_for(&format!("{n} inbound messages"), || async {
            let msgs: Vec<Value> = self
                .all_messages()
                .await
                .into_iter()
                .filter(|m| m["direction"] == "inbound")
                .collect();
            (msgs.len() == n).then_some(msgs)
        })
        .await
    }

    /// A counter or gauge from `/metrics` (0 if the series is absent).
    /// The actions of the last 200 audit entries.
    pub async fn audit_actions(&self) -> Vec<String> {
        let a = self.get("/api/v1/audit?limit=200", &self.admin).await;
        a.json["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e["action"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let r = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics");
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await.expect("metrics body");
        metric_value(&text, name, labels).unwrap_or(0.0)
    }

    pub async fn webhook_outcomes(&self, outcome: &str) -> f64 {
        self.metric(
            "switchboard_webhook_requests_total",
            &[("kind", "webhook"), ("outcome", outcome)],
        )
        .await
    }
}

/// Finds `name{labels…} value` in Prometheus/OpenMetrics text.
pub fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let Some(rest) = l.strip_prefix(name) else {
                return false;
            };
            let series_labels = match rest.strip_prefix('{') {
                Some(r) => r.split_once('}').map_or("", |(ls, _)| ls),
                None if rest.starts_with(' ') => "",
                None => return false,
            };
            labels.iter().all(|(k, v)| {
                series_labels
                    .split(',')
                    .any(|p| p == format!("{k}=\"{v}\""))
            })
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, computed here, independently of the product.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook body.
pub fn message(id: &str, conversation: &str, from: &str, text: &str) -> String {
    json!({
        "id": id,
        "conversation": conversation,
        "from": {"id": from, "name": format!("Customer {from}")},
        "text": text,
    })
    .to_string()
}

/// Polls `check` until it yields a value; panics after a deadline.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {PATIENCE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ----- a fake partner endpoint -------------------------------------------------------------

/// One request the fake partner received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

struct PartnerState {
    /// Statuses to answer, in order; then `otherwise`.
    script: Mutex<VecDeque<u16>>,
    otherwise: u16,
    received: Mutex<Vec<Received>>,
}

/// An HTTP server playing the partner app's `outbound_url`: it records every request and
/// answers from a script.
pub struct FakePartner {
    pub url: String,
    state: Arc<PartnerState>,
}

impl FakePartner {
    pub async fn start(script: &[u16], otherwise: u16) -> FakePartner {
        let state = Arc::new(PartnerState {
            script: Mutex::new(script.iter().copied().collect()),
            otherwise,
            received: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/inbox", axum::routing::post(partner_inbox))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/inbox", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakePartner { url, state }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("lock").clone()
    }
}

async fn partner_inbox(
    axum::extract::State(state): axum::extract::State<Arc<PartnerState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    state.received.lock().expect("lock").push(Received {
        headers,
        body: body.to_vec(),
    });
    let code = state
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(state.otherwise);
    axum::http::StatusCode::from_u16(code).expect("status")
}

// ----- PostgreSQL --------------------------------------------------------------------------

/// A database created for one test and dropped after it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// A fresh database on `SWITCHBOARD_TEST_DATABASE_URL`'s server, or `None` (and a note
    /// saying why) when the variable is not set.
    pub fn for_test(test: &str) -> Option<PgDatabase> {
        let Ok(base) = std::env::var("SWITCHBOARD_TEST_DATABASE_URL") else {
            eprintln!("{test}: skipped: SWITCHBOARD_TEST_DATABASE_URL not set");
            return None;
        };
        Some(PgDatabase::create(&base))
    }

    fn create(admin_url: &str) -> PgDatabase {
        let name = format!("sb_api_{}", hex::encode(rand::random::<[u8; 8]>()));
        let mut url = reqwest::Url::parse(admin_url).expect("SWITCHBOARD_TEST_DATABASE_URL");
        url.set_path(&format!("/{name}"));
        let db = PgDatabase {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        };
        let (admin, name) = (db.admin_url.clone(), db.name.clone());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)
                .expect("connect to SWITCHBOARD_TEST_DATABASE_URL");
            c.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
        })
        .join()
        .expect("create thread");
        db
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}

// ----- people with sessions ----------------------------------------------------------------

/// A person logged in through `/api/v1/login`: their id and session cookie.
pub struct Person {
    pub id: String,
    pub cookie: String,
}

impl TestApp {
    /// Creates a user with a password and logs them in.
    pub async fn person(&self, username: &str, role: &str) -> Person {
        let password = "a long enough password";
        let a = self
            .post(
                "/api/v1/users",
                &self.admin,
                &serde_json::json!({"username": username, "display_name": username, "role": role, "password": password}),
            )
            .await;
        assert_eq!(a.status.as_u16(), 201, "{}", a.text);
        let id = a.json["id"].as_str().expect("user id").to_owned();
        let cookie = self.login_cookie(username, password).await;
        Person { id, cookie }
    }

    /// Logs in; the session cookie (`sb_session=…`).
    pub async fn login_cookie(&self, username: &str, password: &str) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status().as_u16(), 200);
        r.headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned()
    }

    /// A request as a logged-in person.
    pub async fn as_person(
        &self,
        person: &Person,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("Cookie", &person.cookie)
            .header("X-CSRF-Token", csrf_of(&person.cookie));
        if let Some(b) = body {
            req = req.json(b);
        }
        Answer::read(req.send().await.expect("request")).await
    }
}

/// A loopback port nothing listens on right now, for a server started after this returns.
///
/// Taken below the kernel's ephemeral range (32768–60999 on Linux), from a sequence that
/// starts at a random place: a port the kernel handed out for `bind(…:0)` could be handed
/// again to another test's listener or outgoing connection before the server binds it (a
/// chat test once failed with "Address already in use" that way); the kernel never hands out
/// these, and this process hands out each once.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20_000;
    const SPAN: u16 = 12_000;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        1 + rand::random::<u16>() % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = FIRST + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + SPAN)
}

// ----- a real SMTP server ------------------------------------------------------------------

/// aiosmtpd (Python, installed by `.ci/run`) storing every mail it accepts in a Maildir.
pub struct SmtpPeer {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: std::process::Child,
}

impl SmtpPeer {
    /// The server, or `None` (the test skips, saying why) when Python's aiosmtpd is missing.
    pub async fn start() -> Option<SmtpPeer> {
        let installed = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            // CI installs it: there, a missing server is a failure, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "Python's aiosmtpd is not installed, and CI is set (.ci/run installs it)"
            );
            eprintln!(
                "skipped: Python's aiosmtpd is not installed (pip install aiosmtpd; .ci/run does)"
            );
            return None;
        }
        let port = free_port();
        let maildir = tempfile::tempdir().expect("maildir");
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd; .ci/run does)");
        let peer = SmtpPeer {
            port,
            maildir,
            child,
        };
        wait_for("the SMTP server to listen", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        Some(peer)
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far, as raw text, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let dir = self.maildir.path().join("mail").join("new");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- a real IMAP server ------------------------------------------------------------------

/// Dovecot (Debian's `dovecot-imapd`, installed by `.ci/run`) on a free loopback port, with one
/// user whose mail lives in a temporary Maildir. `None` (and a note) when Dovecot is absent.
pub struct ImapPeer {
    pub port: u16,
    pub user: String,
    pub password: String,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl ImapPeer {
    pub async fn start() -> Option<ImapPeer> {
        if std::process::Command::new("dovecot")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!(
                "skipped: dovecot is not installed (apt-get install dovecot-imapd; .ci/run does)"
            );
            return None;
        }
        let port = free_port();
        let dir = tempfile::tempdir().expect("dir");
        let d = dir.path().display().to_string();
        for sub in ["run", "mail", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        // Mail is owned by Dovecot's own user (it refuses root).
        let _ = std::process::Command::new("chown")
            .args([
                "-R",
                "dovecot:dovecot",
                &format!("{d}/mail"),
                &format!("{d}/home"),
            ])
            .status();
        let _ = std::process::Command::new("chmod")
            .args(["755", &d])
            .status();
        let (user, password) = ("help@acme.example".to_owned(), "imap-secret".to_owned());
        std::fs::write(
            dir.path().join("passwd"),
            format!("{user}:{{PLAIN}}{password}\n"),
        )
        .expect("passwd");
        let conf = format!(
            "base_dir = {d}/run\nlog_path = {d}/dovecot.log\nprotocols = imap\nlisten = 127.0.0.1\nssl = no\n\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\nmail_location = maildir:{d}/mail/%u\n\
             first_valid_uid = 1\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/home/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    port = 0\n  }}\n  chroot =\n}}\nservice anvil {{\n  chroot =\n}}\n"
        );
        std::fs::write(dir.path().join("dovecot.conf"), conf).expect("conf");
        let child = std::process::Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(dir.path().join("dovecot.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("dovecot");
        let peer = ImapPeer {
            port,
            user,
            password,
            dir,
            child,
        };
        wait_for("Dovecot to listen", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        Some(peer)
    }

    /// Runs Python `imaplib` against the server: `script` sees `m`, logged in.
    pub async fn imaplib(&self, script: &str) -> String {
        let code = format!(
            "import imaplib, sys\nm = imaplib.IMAP4('127.0.0.1', {})\nm.login('{}', '{}')\n{script}\nm.logout()\n",
            self.port, self.user, self.password
        );
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new("python3")
                .args(["-c", &code])
                .output()
                .expect("python3");
            assert!(
                out.status.success(),
                "imaplib: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        })
        .await
        .expect("join")
    }

    /// Appends a mail to `mailbox` (creating it if needed).
    pub async fn append(&self, mailbox: &str, raw: &str) {
        let raw = raw.replace('\n', "\r\n");
        let script = format!(
            "m.create({mailbox:?})\nprint(m.append({mailbox:?}, None, None, {raw:?}.encode()))"
        );
        self.imaplib(&script).await;
    }

    /// Deletes `mailbox` and creates it again: its UIDVALIDITY changes.
    pub async fn recreate(&self, mailbox: &str) {
        self.imaplib(&format!(
            "print(m.delete({mailbox:?}))\nprint(m.create({mailbox:?}))"
        ))
        .await;
    }

    #[allow(dead_code)]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for ImapPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Held by the tests that replay a whole data set through a server (thousands of webhooks on
/// a 2-core machine), so two such loads never run at once and each measures its own server.
pub static REPLAY_LOAD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The `text` of each JSON body a fake partner received, in order.
pub fn partner_texts(partner: &FakePartner) -> Vec<String> {
    partner
        .received()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect()
}

/// Waits for version `version` of model `kind` to be installed, active and in force (`GET
/// /models` names a version once this node analyses with it).
pub async fn active_version(app: &TestApp, kind: &str, version: i64) -> Value {
    wait_for("the model version to be active and in force", || async {
        let list = app.get("/api/v1/models", &app.admin).await;
        if list.json["in_force"][kind] != version {
            return None;
        }
        list.json["items"]
            .as_array()?
            .iter()
            .find(|m| m["kind"] == kind && m["version"] == version && m["active"] == true)
            .cloned()
    })
    .await
}

/// The admin's Models page, as `person` sees it.
pub async fn models_page(app: &TestApp, person: &Person) -> String {
    let r = app
        .http
        .get(app.url("/admin/models"))
        .header("Cookie", person.cookie.clone())
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.expect("body")
}
