//! `switchboard channel connect|list`: connect a provider channel from the command line,
//! the same checks as `POST /api/v1/channels`, the credentials sealed with the data
//! directory's key. Works while the server runs (it reads channels afresh within seconds).

use crate::{StoreArgs, usage};
use anyhow::Context;
use clap::Subcommand;
use serde_json::{Map, Value, json};
use switchboard_channels::ChannelKind;
use switchboard_channels::adapter::Adapter;
use switchboard_core::{Name, Timestamp};
use switchboard_server::crypto::Secret;

#[derive(Subcommand)]
pub enum ChannelCommand {
    /// Connect a channel and print its id and the webhook path to give the provider.
    Connect {
        #[command(flatten)]
        store: StoreArgs,
        /// webhook, messenger, instagram, whatsapp, x, twilio or telegram.
        #[arg(long)]
        kind: String,
        /// What agents see, e.g. "Acme on WhatsApp".
        #[arg(long)]
        name: String,
        /// A setting, KEY=VALUE (repeatable): page_id, ig_id, app_id, phone_number_id,
        /// user_id, account_sid, from, messaging_service_sid, api_base, webhook_url…
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// A secret, KEY=VALUE (repeatable): app_secret, verify_token, access_token,
        /// consumer_secret, auth_token, bot_token, secret_token. Prefer --credentials-file:
        /// command lines are visible to other users of the machine.
        #[arg(long = "credential", value_name = "KEY=VALUE")]
        credential: Vec<String>,
        /// A JSON object file with the secrets.
        #[arg(long)]
        credentials_file: Option<std::path::PathBuf>,
        /// The generic webhook's reply URL (kind webhook only).
        #[arg(long)]
        outbound_url: Option<String>,
    },
    /// List the connected channels.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn pairs(what: &str, items: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut map = Map::new();
    for item in items {
        let (k, v) = item
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| usage(format!("--{what} {item:?}: expected KEY=VALUE")))?;
        map.insert(k.trim().to_owned(), Value::String(v.to_owned()));
    }
    Ok(map)
}

fn now() -> Timestamp {
    Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc())
}

pub async fn run(command: ChannelCommand) -> anyhow::Result<()> {
    match command {
        ChannelCommand::Connect {
            store,
            kind,
            name,
            config,
            credential,
            credentials_file,
            outbound_url,
        } => {
            let kind = ChannelKind::parse(&kind).ok_or_else(|| {
                usage(format!(
                    "unknown channel kind {kind:?}; expected one of {}",
                    ChannelKind::ALL.map(|k| k.as_str()).join(", ")
                ))
            })?;
            let name = Name::parse(&name).map_err(|e| usage(format!("--name: {e}")))?;
            let mut config = Value::Object(pairs("config", &config)?);
            let mut credentials = Value::Object(pairs("credential", &credential)?);
            if let Some(file) = credentials_file {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let Value::Object(from_file) = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", file.display()))?
                else {
                    return Err(usage(format!("{} must hold a JSON object", file.display())));
                };
                if let Some(obj) = credentials.as_object_mut() {
                    obj.extend(from_file);
                }
            }
            let shown_secret;
            let secret = if kind == ChannelKind::Webhook {
                let url = outbound_url
                    .ok_or_else(|| usage("--outbound-url is required for a webhook channel"))?;
                config = json!({ "outbound_url": url });
                let mut raw = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
                let secret = hex::encode(raw);
                credentials = json!({ "secret": secret });
                shown_secret = Some(secret.clone());
                secret.into_bytes()
            } else {
                shown_secret = None;
                credentials.to_string().into_bytes()
            };
            Adapter::new(kind, &config, &credentials).map_err(|e| usage(e.message))?;
            let secrets = store.secrets()?;
            let sealed = secrets.seal(&Secret::new(secret));
            let ch = store
                .open_existing()
                .await?
                .create_channel(
                    kind.as_str().to_owned(),
                    name,
                    config,
                    sealed,
                    switchboard_store::Actor::System,
                    now(),
                )
                .await?;
            println!("connected {} channel {} ({})", ch.kind, ch.id, ch.name);
            println!(
                "webhook: /hooks/{}/{} (after the server's public URL)",
                ch.kind, ch.id
            );
            if let Some(secret) = shown_secret {
                println!("secret: {secret}");
            }
            Ok(())
        }
        ChannelCommand::List { store } => {
            for ch in store.open_existing().await?.list_channels().await? {
                println!(
                    "{} {} {:?} {}",
                    ch.id,
                    ch.kind,
                    ch.name,
                    if ch.active { "active" } else { "disabled" }
                );
            }
            Ok(())
        }
    }
}
