//! `switchboard`: the one binary. A thin main: parse flags, open the store, hand over to the
//! server crate. Exit codes: 0 success, 1 runtime failure (the message says why), 2 bad usage.

mod bench;
mod bench_chat;
mod bench_deflection;
mod bench_kpis;
mod bench_pages;
mod bench_search;
mod bench_simulate;
mod channel_cmd;
mod config;
mod demo;
mod demo_data;
mod demo_more;
mod export_cmd;
mod kb_cmd;
mod model_cmd;
mod playbook_cmd;
mod replay;
mod report_cmd;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::{Path, PathBuf};
use switchboard_core::{Name, Role, Timestamp, Username};
use switchboard_server::ServerConfig;
use switchboard_server::crypto::SecretBox;
use switchboard_store::{Actor, Location, NewUser, Store};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Switchboard: every message, routed by purpose, tracked to resolution."
)]
struct Cli {
    /// A TOML file of settings (data_dir, database, listen, outbound_max_attempts,
    /// outbound_base_delay_ms, public_url, smtp_url, smtp_from, smtp_listen, retrain_after,
    /// retrain_every_secs). Defaults to ./switchboard.toml when it exists. Environment
    /// variables and flags override it.
    #[arg(long, env = "SWITCHBOARD_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Where Switchboard keeps its SQLite database and the key that encrypts channel secrets
    /// (secret.key; or set SWITCHBOARD_SECRET_KEY to 64 hex characters).
    #[arg(
        long,
        env = "SWITCHBOARD_DATA_DIR",
        default_value = "switchboard-data",
        global = true
    )]
    data_dir: PathBuf,
    /// Use PostgreSQL (postgres://user:pass@host/db) instead of the embedded SQLite, or
    /// sqlite:PATH for an SQLite file outside the data directory.
    #[arg(
        long,
        env = "SWITCHBOARD_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database: Option<String>,
}

impl StoreArgs {
    fn location(&self) -> anyhow::Result<Location> {
        match &self.database {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Location::Postgres(url.clone()))
            }
            Some(url) if url.starts_with("sqlite:") => Ok(Location::Sqlite(PathBuf::from(
                url.trim_start_matches("sqlite:").trim_start_matches("//"),
            ))),
            Some(_) => {
                Err(Usage("--database must be a postgres:// URL or sqlite:PATH".into()).into())
            }
            None => Ok(Location::Sqlite(self.data_dir.join("switchboard.db"))),
        }
    }

    async fn open(&self) -> anyhow::Result<Store> {
        let location = self.location()?;
        let store = Store::open(&location)
            .with_context(|| format!("cannot open the database {location:?}"))?;
        store
            .migrate()
            .await
            .context("cannot migrate the database")?;
        Ok(store)
    }

    /// Flags that point another command at this same database, for hints.
    fn hint(&self) -> String {
        match &self.database {
            Some(_) => " --database \"$SWITCHBOARD_DATABASE_URL\"".into(),
            None if self.data_dir == Path::new("switchboard-data") => String::new(),
            None => format!(" --data-dir {}", self.data_dir.display()),
        }
    }

    /// For SQLite: an exclusive lock held while serving, so two servers never share a
    /// database (each would only see its own live events).
    fn lock(&self, location: &Location) -> anyhow::Result<Option<std::fs::File>> {
        let Location::Sqlite(db) = location else {
            return Ok(None);
        };
        let path = db.with_extension("lock");
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {
                anyhow::bail!(
                    "another switchboard server is using {}; stop it first",
                    db.display()
                )
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    /// The store of a database that must exist already (for commands other than serve and
    /// migrate, so a mistyped --data-dir is an error, not a new empty database).
    async fn open_existing(&self) -> anyhow::Result<Store> {
        if let Location::Sqlite(db) = self.location()?
            && !db.exists()
        {
            anyhow::bail!(
                "there is no database at {}; start `switchboard serve` first, or pass the --data-dir / --database the server uses",
                db.display()
            );
        }
        self.open().await
    }

    fn secrets(&self) -> anyhow::Result<SecretBox> {
        let env = std::env::var("SWITCHBOARD_SECRET_KEY").ok();
        Ok(SecretBox::load_or_create(&self.data_dir, env.as_deref())?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run Switchboard with a demo workspace (Lakeside College: teams, people, channels of
    /// every kind in simulated mode, playbook, SLAs, knowledge base) and live inbound traffic.
    /// Open the printed URL and log in with a printed name.
    Demo {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on.
        #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seed the workspace but send no traffic.
        #[arg(long)]
        quiet: bool,
    },
    /// Run Switchboard: the API, the webhooks, the live stream and the workers.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on.
        #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Attempts before an outbound message is marked failed (1 to 100).
        #[arg(long, env = "SWITCHBOARD_OUTBOUND_MAX_ATTEMPTS", default_value_t = 8,
              value_parser = clap::value_parser!(u32).range(1..=100))]
        outbound_max_attempts: u32,
        /// First outbound retry delay in milliseconds (doubles per attempt).
        #[arg(long, env = "SWITCHBOARD_OUTBOUND_BASE_DELAY_MS", default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
        outbound_base_delay_ms: u64,
        /// The address people reach Switchboard at, for links in e-mails
        /// (default: http://<listen>).
        #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
        public_url: Option<String>,
        /// SMTP relay for e-mail to experts: smtp://[user:pass@]host[:port] (add
        /// ?tls=required for STARTTLS) or smtps://…. Without it, links are shown to the agent.
        #[arg(long, env = "SWITCHBOARD_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// The sender of those e-mails.
        #[arg(
            long,
            env = "SWITCHBOARD_SMTP_FROM",
            default_value = "switchboard@localhost"
        )]
        smtp_from: String,
        /// Listen for mail to e-mail channels on this address (e.g. 127.0.0.1:2525), for an MX
        /// or relay pointed at Switchboard. No AUTH, no TLS: keep it on a private network.
        #[arg(long, env = "SWITCHBOARD_SMTP_LISTEN")]
        smtp_listen: Option<String>,
        /// Agents' corrections of a model kind needed before it is retrained (1 to 100000).
        #[arg(long, env = "SWITCHBOARD_RETRAIN_AFTER", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=100_000))]
        retrain_after: u32,
        /// How often, in seconds, the learning loop looks for new corrections (1 to 86400).
        #[arg(long, env = "SWITCHBOARD_RETRAIN_EVERY_SECS", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(1..=86_400))]
        retrain_every_secs: u64,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Work with playbook files (routing rules as code).
    Playbook {
        #[command(subcommand)]
        command: playbook_cmd::PlaybookCommand,
    },
    /// Train and evaluate text classifiers (intent, purpose, sentiment).
    Model {
        #[command(subcommand)]
        command: model_cmd::ModelCommand,
    },
    /// Understand texts: one per line on stdin, one JSON object per line on stdout (intent,
    /// purpose, sentiment, language, personal data with byte positions). A line that is not
    /// UTF-8 or is longer than 64 KiB gets `{"line": N, "error": …}` in its place, and the
    /// command then exits with status 1 naming those lines. A text with no word to read (only
    /// a link, a handle, a number, marks), or none the model knows (a language it was not
    /// trained on), has purpose and intent `unknown`.
    Analyze {
        /// A model from `model train`: an intent model is added to the shipped purpose and
        /// sentiment models; a `purpose` or `sentiment` one replaces the shipped model of its
        /// kind.
        #[arg(long)]
        model: Option<String>,
        /// A sentiment model (from `model train --kind sentiment`) to use instead of the
        /// shipped one.
        #[arg(long)]
        sentiment_model: Option<String>,
        /// How many features that weighed most to show with each label (`because`; 0: none,
        /// fastest).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
        evidence: u32,
        /// Understand with the workspace's models in force (at --data-dir, or --database), as
        /// the server and `POST /api/v1/analyze` do: its intent model, and the purpose and
        /// sentiment models the learning loop or an admin made active. --model and
        /// --sentiment-model still take the place of their kind. Implied by --data-dir or
        /// --database on the command line.
        #[arg(long)]
        workspace: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Connect and list channels (social networks, messaging, SMS, the generic webhook).
    Channel {
        #[command(subcommand)]
        command: channel_cmd::ChannelCommand,
    },
    /// The knowledge base: import, export, search.
    Kb {
        #[command(subcommand)]
        command: kb_cmd::KbCommand,
    },
    /// Reports: KPIs per purpose, team, channel, agent or language, as JSON or CSV.
    Report {
        #[command(subcommand)]
        command: report_cmd::ReportCommand,
    },
    /// Replay recorded traffic through a running server's real webhook path.
    Replay(replay::ReplayArgs),
    /// Write the whole workspace (contacts, cases, messages, teams, playbooks, knowledge base,
    /// audit log, settings, …; not log-in sessions) as JSON Lines, for `switchboard import`.
    ///
    /// Read in one snapshot, so it can run beside the server. Channel secrets stay sealed with
    /// this data directory's secret.key (or SWITCHBOARD_SECRET_KEY): the target needs that same
    /// key. Prints the rows per table on stderr.
    Export(export_cmd::ExportArgs),
    /// Load a `switchboard export` file into a new database, SQLite or PostgreSQL (created and
    /// migrated first), all or nothing.
    ///
    /// The database must hold no rows and be at the export's schema version. A bad line is
    /// reported with its number and nothing is stored. Use the source's secret.key (or
    /// SWITCHBOARD_SECRET_KEY) with the imported data: channel secrets are sealed with it (a
    /// warning says when this key does not open them).
    Import(export_cmd::ImportArgs),
    /// Manage people.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Benchmarks: load on a running server, and playbook simulation over a generated store (see docs/PERFORMANCE.md).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it (only the token) on stdout. Works while the server runs.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// What the token is for, e.g. "CRM sync".
        #[arg(long)]
        name: String,
        /// admin, supervisor, agent or reviewer.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Give a user a new random password, print it (only it) on stdout, and end their sessions.
    /// For when the admin password is lost.
    ResetPassword {
        #[command(flatten)]
        store: StoreArgs,
        /// The user's login name, e.g. admin.
        #[arg(long)]
        username: String,
    },
}

/// A mistake in how the command was called (exit code 2), as opposed to a failure while
/// running it (exit code 1).
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    Usage(e.to_string()).into()
}

/// Parses flags and environment, then fills what they left to defaults from the file.
fn parse_cli() -> anyhow::Result<Cli> {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches)?;
    let file = config::FileConfig::load(cli.config.as_deref())?;
    let m = config::leaf(&matches);
    let store = match &mut cli.command {
        Command::Serve {
            store,
            listen,
            outbound_max_attempts,
            outbound_base_delay_ms,
            public_url,
            smtp_url,
            smtp_from,
            smtp_listen,
            retrain_after,
            retrain_every_secs,
        } => {
            config::layer(m, "retrain_after", retrain_after, file.retrain_after);
            config::layer(
                m,
                "retrain_every_secs",
                retrain_every_secs,
                file.retrain_every_secs,
            );
            config::layer(m, "listen", listen, file.listen);
            config::layer(m, "smtp_listen", smtp_listen, file.smtp_listen.map(Some));
            config::layer(m, "public_url", public_url, file.public_url.map(Some));
            config::layer(m, "smtp_url", smtp_url, file.smtp_url.map(Some));
            config::layer(m, "smtp_from", smtp_from, file.smtp_from);
            config::layer(
                m,
                "outbound_max_attempts",
                outbound_max_attempts,
                file.outbound_max_attempts,
            );
            config::layer(
                m,
                "outbound_base_delay_ms",
                outbound_base_delay_ms,
                file.outbound_base_delay_ms,
            );
            Some(store)
        }
        Command::Demo { store, listen, .. } => {
            config::layer(m, "listen", listen, file.listen);
            Some(store)
        }
        Command::Migrate { store } => Some(store),
        Command::Token {
            command: TokenCommand::Create { store, .. },
        } => Some(store),
        Command::User {
            command: UserCommand::ResetPassword { store, .. },
        } => Some(store),
        Command::Bench { .. }
        | Command::Playbook { .. }
        | Command::Model { .. }
        | Command::Channel { .. }
        | Command::Kb { .. }
        | Command::Report { .. }
        | Command::Replay(_)
        | Command::Export(_)
        | Command::Import(_) => None,
        Command::Analyze {
            store, workspace, ..
        } => {
            // Naming a workspace on the command line means its models: --workspace.
            let named = |id: &str| {
                matches!(
                    m.try_contains_id(id).ok().and(m.value_source(id)),
                    Some(clap::parser::ValueSource::CommandLine)
                )
            };
            if named("data_dir") || named("database") {
                *workspace = true;
            }
            Some(store)
        }
    };
    if let Some(store) = store {
        config::layer(m, "data_dir", &mut store.data_dir, file.data_dir);
        config::layer(m, "database", &mut store.database, file.database.map(Some));
    }
    Ok(cli)
}

/// Output piped into a reader that stops early (`… | head`) ends the command quietly, as it
/// does for other command-line tools, instead of panicking in `println!` (the workspace
/// forbids the `unsafe` it takes to restore the default SIGPIPE handling).
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info)
    }));
}

fn main() -> std::process::ExitCode {
    quiet_on_closed_stdout();
    let cli = match parse_cli() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                "info,tower_http=warn,postgres=warn,tokio_postgres=warn".into()
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = if e.downcast_ref::<Usage>().is_some() {
                2
            } else {
                1
            };
            std::process::ExitCode::from(code)
        }
    }
}

fn now() -> Timestamp {
    Timestamp::from_offset_datetime(time_now())
}

fn time_now() -> ::time::OffsetDateTime {
    ::time::OffsetDateTime::now_utc()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            store: args,
            listen,
            outbound_max_attempts,
            outbound_base_delay_ms,
            public_url,
            smtp_url,
            smtp_from,
            smtp_listen,
            retrain_after,
            retrain_every_secs,
        } => {
            // Everything that can fail comes before the first admin is made, so its password,
            // printed once, is never lost to a failed start.
            let location = args.location()?;
            // The key first: it creates the data directory, readable by its owner only.
            let secrets = args.secrets()?;
            let _lock = args.lock(&location)?;
            let store = args.open().await?;
            check_key(&store, &secrets, &args).await?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let addr = listener.local_addr()?;
            let first_password = ensure_admin(&store).await?;
            let config = ServerConfig {
                outbound_max_attempts,
                outbound_base_delay_ms,
                public_url: public_url.unwrap_or_else(|| format!("http://{addr}")),
                smtp: smtp_url.map(|url| switchboard_server::mail::SmtpConfig {
                    url,
                    from: smtp_from,
                }),
                smtp_listen,
                retrain_min_new: retrain_after as usize,
                retrain_tick_ms: retrain_every_secs * 1000,
                ..ServerConfig::default()
            };
            let state = switchboard_server::start(store, secrets, config).await?;
            println!("Switchboard is listening on http://{addr}  (database: {location:?})");
            if let Some(pw) = first_password {
                let hint = args.hint();
                println!("First start: log in as \"admin\" with password {pw}");
                println!(
                    "(shown only this once; if it is lost: switchboard user reset-password{hint} --username admin)"
                );
                println!(
                    "API tokens for programs: switchboard token create{hint} --name NAME --role admin"
                );
            }
            tracing::info!(%addr, "listening");
            switchboard_server::serve_with(
                listener,
                state,
                switchboard_web::routes(),
                shutdown_signal(),
            )
            .await
        }
        Command::Demo {
            store: args,
            listen,
            quiet,
        } => run_demo(args, listen, quiet).await,
        Command::Migrate { store: args } => {
            let store = Store::open(&args.location()?)?;
            let applied = store.migrate().await?;
            if applied.is_empty() {
                println!("the database is up to date");
            } else {
                println!("applied migrations {applied:?}");
            }
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    store: args,
                    name,
                    role,
                },
        } => {
            let name = Name::parse(&name).map_err(|e| usage(format!("--name: {e}")))?;
            let role = Role::parse(&role).map_err(|e| usage(format!("--role: {e}")))?;
            let store = args.open_existing().await?;
            let token = switchboard_server::auth::new_credential("sbt");
            store
                .create_token(
                    name,
                    role,
                    switchboard_server::auth::credential_hash(&token),
                    Actor::System,
                    now(),
                )
                .await?;
            println!("{token}");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::ResetPassword {
                    store: args,
                    username,
                },
        } => {
            let username =
                Username::parse(&username).map_err(|e| usage(format!("--username: {e}")))?;
            let store = args.open_existing().await?;
            let (user, _) = store
                .user_credentials(username.as_str())
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no user named {username}"))?;
            let password = new_password();
            let hash = hash(&password).await?;
            store
                .set_password(user.id, hash, Actor::System, now())
                .await?;
            println!("{password}");
            Ok(())
        }
        Command::Playbook { command } => playbook_cmd::run(command).await,
        Command::Model { command } => model_cmd::run(command).await,
        Command::Channel { command } => channel_cmd::run(command).await,
        Command::Kb { command } => kb_cmd::run(command).await,
        Command::Report { command } => report_cmd::run(command).await,
        Command::Replay(args) => replay::run(args).await,
        Command::Export(args) => export_cmd::export(args).await,
        Command::Import(args) => export_cmd::import(args).await,
        Command::Analyze {
            model,
            sentiment_model,
            evidence,
            workspace,
            store,
        } => {
            let base = if workspace {
                model_cmd::workspace_analyzer(&store.open_existing().await?).await?
            } else {
                switchboard_understand::Analyzer::builtin()
            };
            tokio::task::spawn_blocking(move || {
                model_cmd::analyze(base, model, sentiment_model, evidence as usize)
            })
            .await?
        }
        Command::Bench {
            command: bench::BenchCommand::Deflection(b),
        } => run_deflection_bench(b).await,
        Command::Bench { command } => bench::run(command).await,
    }
}

/// Refuses to serve with a key that cannot open the channel secrets already stored (a lost
/// or different `secret.key`): every webhook would fail.
async fn check_key(store: &Store, secrets: &SecretBox, args: &StoreArgs) -> anyhow::Result<()> {
    if let Some(ch) = store.list_channels().await?.first()
        && secrets.open(&ch.secret_sealed).is_none()
    {
        anyhow::bail!(
            "the secret key ({}) does not open the channel secrets stored in this database; \
             restore the secret.key that was used with it, or set SWITCHBOARD_SECRET_KEY to that key",
            if std::env::var_os("SWITCHBOARD_SECRET_KEY").is_some() {
                "SWITCHBOARD_SECRET_KEY".to_owned()
            } else {
                args.data_dir.join("secret.key").display().to_string()
            }
        );
    }
    Ok(())
}

fn new_password() -> String {
    switchboard_server::auth::new_credential("pw")
        .split_off(3)
        .chars()
        .take(20)
        .collect()
}

async fn hash(password: &str) -> anyhow::Result<String> {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || switchboard_server::auth::hash_password(&pw))
        .await?
        .map_err(|e| anyhow::anyhow!(e.detail))
}

/// On the very first start, creates the `admin` user with a random password and returns it.
async fn ensure_admin(store: &Store) -> anyhow::Result<Option<String>> {
    if !store.list_users().await?.is_empty() {
        return Ok(None);
    }
    if !store.set_setting_once("admin_created", "yes").await? {
        return Ok(None);
    }
    let password = new_password();
    let hash = hash(&password).await?;
    let new = NewUser {
        username: Username::parse("admin").map_err(|e| anyhow::anyhow!(e))?,
        display_name: Name::parse("Administrator").map_err(|e| anyhow::anyhow!(e))?,
        role: Role::Admin,
        password_hash: Some(hash),
    };
    store.create_user(new, Actor::System, now()).await?;
    Ok(Some(password))
}

/// `switchboard demo`: see [`demo`].
async fn run_demo(args: StoreArgs, listen: String, quiet: bool) -> anyhow::Result<()> {
    let location = args.location()?;
    let _lock = args.lock(&location)?;
    let running = start_demo(&args, &listen, demo_data::PLAYBOOK).await?;
    println!(
        "Switchboard demo: {}   (database: {location:?})",
        running.base
    );
    println!(
        "Log in with any of these (password {:?}):",
        demo_data::PASSWORD
    );
    println!("  admin    Avery Admin      admin (channels, teams, users, playbook)");
    for (username, name, role, teams) in demo_data::PEOPLE {
        println!("  {username:<8} {name:<16} {role} ({})", teams.join(", "));
    }
    println!(
        "Outside expert: from a case's Transfer, ask {} <{}> (with no mail relay, the link is shown to you).",
        demo_data::EXPERT.1,
        demo_data::EXPERT.0
    );
    if let Some((_, smtp)) = &running.more.email {
        println!(
            "Mail to {} arrives over SMTP at {smtp}; replies leave through a fake relay.",
            demo_more::MAILBOX
        );
    }
    if quiet {
        println!("No traffic (--quiet).");
    } else {
        println!(
            "Live traffic is arriving on {} channels; press Ctrl-C to stop.",
            running.channels.len()
                + usize::from(running.more.email.is_some())
                + usize::from(running.more.webchat.is_some())
        );
        tokio::spawn(demo::traffic(
            reqwest::Client::new(),
            running.base.clone(),
            running.channels.clone(),
            running.more.clone(),
        ));
    }
    running.server.await??;
    Ok(())
}

/// A demo workspace being served: seeded now (with `playbook`) or by an earlier run.
struct DemoRunning {
    base: String,
    store: Store,
    channels: Vec<demo::DemoChannel>,
    /// The e-mail and web chat channels (their traffic is not webhooks).
    more: demo::MoreChannels,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Opens the demo's store, starts the server on `listen` with the fake providers, and seeds
/// the workspace unless an earlier run did. Refuses a store that holds another workspace.
async fn start_demo(args: &StoreArgs, listen: &str, playbook: &str) -> anyhow::Result<DemoRunning> {
    let secrets = args.secrets()?;
    let store = args.open().await?;
    check_key(&store, &secrets, args).await?;
    let seeded = store.setting("demo_seeded").await?.is_some();
    if !seeded && !store.list_channels().await?.is_empty() {
        anyhow::bail!(
            "this data directory holds a workspace that is not a demo; \
             run the demo with --data-dir pointing somewhere else"
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let fake = demo::fake_providers().await?;
    let relay = demo_more::fake_relay().await?;
    let smtp_in = demo_more::free_smtp_address()?;
    let config = ServerConfig {
        public_url: base.clone(),
        smtp_listen: Some(smtp_in.clone()),
        ..ServerConfig::default()
    };
    if !seeded {
        let password = hash(demo_data::PASSWORD).await?;
        if store.list_users().await?.is_empty() {
            store
                .create_user(
                    NewUser {
                        username: Username::parse("admin").map_err(|e| anyhow::anyhow!(e))?,
                        display_name: Name::parse("Avery Admin").map_err(|e| anyhow::anyhow!(e))?,
                        role: Role::Admin,
                        password_hash: Some(password),
                    },
                    Actor::System,
                    now(),
                )
                .await?;
            store.set_setting_once("admin_created", "yes").await?;
        }
    }
    // The demo wires itself through its own API, with a token that lives while it does so.
    let token = switchboard_server::auth::new_credential("sbt");
    let wiring = store
        .create_token(
            Name::parse("demo wiring").map_err(|e| anyhow::anyhow!(e))?,
            Role::Admin,
            switchboard_server::auth::credential_hash(&token),
            Actor::System,
            now(),
        )
        .await?;
    let state = switchboard_server::start(store.clone(), secrets, config).await?;
    let server = tokio::spawn(switchboard_server::serve_with(
        listener,
        state,
        switchboard_web::routes(),
        shutdown_signal(),
    ));
    let http = reqwest::Client::new();
    let wired = async {
        let channels = if seeded {
            let mut known = demo::known_channels(&store).await?;
            known.extend(demo::webhook_with_new_secret(&http, &base, &token).await?);
            known
        } else {
            let channels = demo::seed(&http, &base, &token, &fake, playbook).await?;
            store.set_setting_once("demo_seeded", "yes").await?;
            channels
        };
        let more = demo::wire_run(&http, &base, &token, &fake, &relay, &smtp_in).await?;
        anyhow::Ok((channels, more))
    }
    .await;
    // The wiring token goes whether the wiring worked or not.
    store.revoke_token(wiring.id, Actor::System, now()).await?;
    let (channels, more) = wired?;
    Ok(DemoRunning {
        base,
        store,
        channels,
        more,
        server,
    })
}

/// `switchboard bench deflection`: a fresh demo workspace in its own data directory, fed
/// labelled traffic (see [`bench_deflection`]).
async fn run_deflection_bench(b: bench::DeflectionArgs) -> anyhow::Result<()> {
    let dir = b.data_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("switchboard-deflection-{}", uuid::Uuid::now_v7()))
    });
    if dir.join("switchboard.db").exists() {
        anyhow::bail!(
            "{} already holds a workspace; the bench needs a fresh one",
            dir.display()
        );
    }
    let args = StoreArgs {
        data_dir: dir.clone(),
        database: None,
    };
    let playbook = match b.min_confidence {
        Some(t) => bench_deflection::with_threshold(demo_data::PLAYBOOK, t)?,
        None => demo_data::PLAYBOOK.to_owned(),
    };
    let running = start_demo(&args, "127.0.0.1:0", &playbook).await?;
    let report = bench_deflection::measure(
        &running.store,
        &running.base,
        &running.channels,
        b.messages as usize,
        b.seed,
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    running.server.abort();
    if b.data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
