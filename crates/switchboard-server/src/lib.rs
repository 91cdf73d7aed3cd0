//! Switchboard's HTTP server: the API under `/api/v1`, provider webhooks under `/hooks`, the
//! live stream, `/metrics`, and the background workers (ingest processing, outbound delivery, notify hooks, SLA watch, expert reminders).
//! This is the only crate that knows HTTP. Start it with [`launch`], from `main` or a test.

pub mod answers;
pub mod api;
pub mod auth;
pub mod auto_answer;
pub mod bus;
pub mod channel_test;
pub mod channels;
pub mod chat;
pub mod chat_upload;
pub mod crypto;
mod csat;
pub mod error;
pub mod expert_page;
pub mod experts;
pub mod hooks;
pub mod imap_in;
pub mod ingest;
pub mod learning;
pub mod mail;
pub mod metrics;
pub mod notify_hooks;
pub mod outbound;
pub mod sla;
pub mod smtp_in;
pub mod understanding;

use auth::Clock;
use bus::LiveBus;
use channels::ChannelCache;
use crypto::SecretBox;
use ingest::IngestQueue;
use std::future::Future;
use std::sync::Arc;
use switchboard_store::Store;
use tokio::sync::Notify;

/// Tunables, with defaults fit for production.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Attempts before an outbound message is marked failed.
    pub outbound_max_attempts: u32,
    /// First retry delay; doubles per attempt.
    pub outbound_base_delay_ms: u64,
    pub outbound_max_delay_ms: u64,
    /// Per-attempt HTTP timeout.
    pub outbound_timeout_ms: u64,
    /// How long a browser session lasts.
    pub session_ttl_hours: i64,
    /// How often the SLA and reminder workers look for due work.
    pub sla_tick_ms: u64,
    /// The address people reach this server at, for links in e-mails
    /// (`SWITCHBOARD_PUBLIC_URL`).
    pub public_url: String,
    /// The relay that sends e-mail; `None`: no mail (links are shown to the agent instead).
    pub smtp: Option<mail::SmtpConfig>,
    /// Where the SMTP listener for e-mail channels listens (`SWITCHBOARD_SMTP_LISTEN`,
    /// e.g. `127.0.0.1:2525`); `None`: no listener.
    pub smtp_listen: Option<String>,
    /// When a silent expert is first reminded (then as often again, three times at most).
    pub expert_remind_after_micros: i64,
    /// How often the learning loop looks for new corrections
    /// (`SWITCHBOARD_RETRAIN_EVERY_SECS`).
    pub retrain_tick_ms: u64,
    /// New corrections of a kind needed before its model is retrained
    /// (`SWITCHBOARD_RETRAIN_AFTER`).
    pub retrain_min_new: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            outbound_max_attempts: 8,
            outbound_base_delay_ms: 1_000,
            outbound_max_delay_ms: 10 * 60_000,
            outbound_timeout_ms: 10_000,
            session_ttl_hours: 12,
            sla_tick_ms: 1_000,
            public_url: "http://127.0.0.1:8080".to_owned(),
            smtp: None,
            smtp_listen: None,
            expert_remind_after_micros: 24 * 3600 * 1_000_000,
            retrain_tick_ms: 60_000,
            retrain_min_new: 20,
        }
    }
}

/// The trainings from a file running on this node: (kind, a number of its own) → who started
/// it, when, and the flag that stops it. Two trainings of one kind are two entries, so the
/// first to end does not take the other off the list.
pub type Trainings = Arc<
    std::sync::Mutex<
        std::collections::BTreeMap<
            (String, u64),
            (
                String,
                switchboard_core::Timestamp,
                Arc<std::sync::atomic::AtomicBool>,
            ),
        >,
    >,
>;

/// What every handler and worker shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub secrets: SecretBox,
    pub clock: Arc<dyn Clock>,
    pub bus: Arc<dyn LiveBus>,
    /// Moments that are not stored (someone is typing): to live streams and chats only.
    pub presence: tokio::sync::broadcast::Sender<Arc<serde_json::Value>>,
    /// Open web chat sessions on this node.
    pub chats: Arc<chat::Sessions>,
    pub ingest: Arc<dyn IngestQueue>,
    pub channels: ChannelCache,
    pub config: Arc<ServerConfig>,
    pub outbound_wake: Arc<Notify>,
    /// Rung when ingest queued new cases for an automatic answer.
    pub auto_answer_wake: Arc<Notify>,
    pub http: reqwest::Client,
    /// Sends e-mail, when a relay is configured.
    pub mailer: Option<Arc<mail::Mailer>>,
    /// The models inbound messages are understood with (replaced when a workspace installs
    /// its own).
    pub understanding: Arc<std::sync::RwLock<understanding::InForce>>,
    /// Held while the models are reloaded (see [`understanding::reload`]).
    pub reloading: Arc<tokio::sync::Mutex<()>>,
    /// Held while a model version is installed, made active or deactivated: the learning loop
    /// installs its candidate only over the version its round started from.
    pub installing: Arc<tokio::sync::Mutex<()>>,
    /// The trainings from a file running on this node: who started each, when, and the flag
    /// that stops it (the Models page says so; they finish even when their client has left,
    /// unless someone stops them).
    pub trainings: Trainings,
    /// Flips to true when the server starts shutting down; long-lived responses (the live
    /// stream) end on it, so a graceful shutdown never waits for them.
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    /// Each channel's send pace (token buckets, paused by a provider's 429).
    pub rate_limits: Arc<
        std::sync::Mutex<
            std::collections::HashMap<
                switchboard_core::ChannelId,
                switchboard_channels::retry::TokenBucket,
            >,
        >,
    >,
}

impl AppState {
    /// The analyzer in force now.
    pub fn analyzer(&self) -> Arc<switchboard_understand::Analyzer> {
        self.in_force().analyzer
    }

    /// The version of each kind of model this node understands messages with
    /// ([`understanding::KINDS`] order; `None`: the shipped model, or no intent model).
    pub fn models_in_force(&self) -> understanding::Loaded {
        self.in_force().versions
    }

    fn in_force(&self) -> understanding::InForce {
        match self.understanding.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Builds the state with the in-process queue and bus, and starts the workers. Returns the
/// state for [`serve`].
pub async fn start(
    store: Store,
    secrets: SecretBox,
    config: ServerConfig,
) -> anyhow::Result<AppState> {
    let (queue, rx) = ingest::InProcessQueue::new();
    let http = reqwest::Client::builder()
        .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mailer = config
        .smtp
        .as_ref()
        .map(mail::Mailer::new)
        .transpose()?
        .map(Arc::new);
    let state = AppState {
        mailer,
        channels: ChannelCache::new(store.clone(), secrets.clone()),
        store,
        secrets,
        clock: Arc::new(auth::SystemClock),
        bus: Arc::new(bus::InProcessBus::new()),
        presence: tokio::sync::broadcast::channel(1024).0,
        chats: Arc::default(),
        ingest: Arc::new(queue),
        config: Arc::new(config),
        outbound_wake: Arc::new(Notify::new()),
        auto_answer_wake: Arc::new(Notify::new()),
        http,
        shutdown: Arc::new(tokio::sync::watch::channel(false).0),
        rate_limits: Arc::default(),
        // The shipped models train on first use (well under a second); do it before serving.
        understanding: Arc::new(std::sync::RwLock::new(understanding::InForce::new(
            tokio::task::spawn_blocking(switchboard_understand::Analyzer::builtin).await?,
        ))),
        reloading: Arc::default(),
        installing: Arc::default(),
        trainings: Arc::default(),
    };
    // Raw events acknowledged before a crash are processed first.
    let recovered = ingest::recover(&state).await?;
    if recovered > 0 {
        tracing::info!(
            recovered,
            "re-queued raw events left unprocessed by the last run"
        );
    }
    notify_hooks::ensure_secret(&state).await?;
    // The workspace's models; one that does not load is logged, and messages are understood
    // with the shipped ones.
    if let Err(e) = understanding::reload(&state).await {
        tracing::error!(error = %e, "an active model does not load; understanding with the shipped ones");
    }
    tokio::spawn(understanding::run_watch(state.clone()));
    tokio::spawn(learning::run(state.clone()));
    tokio::spawn(ingest::run_processor(state.clone(), rx));
    tokio::spawn(notify_hooks::run(state.clone()));
    tokio::spawn(outbound::run(state.clone()));
    tokio::spawn(auto_answer::run(state.clone()));
    tokio::spawn(sla::run(state.clone()));
    tokio::spawn(experts::run_reminders(state.clone()));
    tokio::spawn(imap_in::run(state.clone()));
    tokio::spawn(chat::dispatch(state.clone()));
    if let Some(addr) = &state.config.smtp_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for SMTP on {addr}: {e}"))?;
        tracing::info!(%addr, "SMTP listener for e-mail channels");
        tokio::spawn(smtp_in::serve(listener, state.clone()));
    }
    Ok(state)
}

/// Serves HTTP on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, state, axum::Router::new(), shutdown).await
}

/// [`serve`] with more routes beside the API (the browser workspace's pages).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    pages: axum::Router<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let trigger = state.shutdown.clone();
    let app = api::router_with(state, pages);
    let shutdown = async move {
        shutdown.await;
        // End the live streams first: graceful shutdown waits for open responses.
        let _ = trigger.send(true);
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// [`start`] then [`serve`]: the whole server.
pub async fn launch(
    listener: tokio::net::TcpListener,
    store: Store,
    secrets: SecretBox,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    launch_with(
        listener,
        store,
        secrets,
        config,
        axum::Router::new(),
        shutdown,
    )
    .await
}

/// [`launch`] with the browser workspace's pages (or other routes) beside the API.
pub async fn launch_with(
    listener: tokio::net::TcpListener,
    store: Store,
    secrets: SecretBox,
    config: ServerConfig,
    pages: axum::Router<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = start(store, secrets, config).await?;
    serve_with(listener, state, pages, shutdown).await
}
