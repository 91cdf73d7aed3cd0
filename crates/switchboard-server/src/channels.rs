//! Connected channels as the server uses them: kind, config and the opened secret, cached in
//! memory (a channel is read on every webhook).

use crate::crypto::{Secret, SecretBox};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use switchboard_channels::ChannelKind;
use switchboard_channels::adapter::Adapter;
use switchboard_core::ChannelId;
use switchboard_store::{Store, StoreError};

#[derive(Debug)]
pub struct LiveChannel {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub name: String,
    pub config: serde_json::Value,
    /// A disabled channel refuses webhooks (410) and replies (422).
    pub active: bool,
    /// The generic webhook's signing secret (for a provider channel: its credentials, JSON).
    pub secret: Secret,
    /// Verifies, parses and sends for the channel's provider.
    pub adapter: Arc<Adapter>,
}

/// A channel and when it was read.
type Cached = (Instant, Arc<LiveChannel>);

#[derive(Clone)]
pub struct ChannelCache {
    store: Store,
    secrets: SecretBox,
    map: Arc<RwLock<HashMap<ChannelId, Cached>>>,
}

/// How long a cached channel is trusted before it is read again, so a change made through
/// another node (a rename, a disabled channel, a rotated secret) takes effect here too.
const FRESH_FOR: Duration = Duration::from_secs(5);

impl ChannelCache {
    pub fn new(store: Store, secrets: SecretBox) -> Self {
        ChannelCache {
            store,
            secrets,
            map: Arc::default(),
        }
    }

    /// Forgets a channel so the next use reads it again (after it changed).
    /// With several nodes each keeps its own cache; see ARCHITECTURE.md.
    pub fn invalidate(&self, id: ChannelId) {
        if let Ok(mut m) = self.map.write() {
            m.remove(&id);
        }
    }

    /// The channel, or `None` if no such channel exists.
    pub async fn get(&self, id: ChannelId) -> Result<Option<Arc<LiveChannel>>, StoreError> {
        if let Some((at, c)) = self.map.read().ok().and_then(|m| m.get(&id).cloned())
            && at.elapsed() < FRESH_FOR
        {
            return Ok(Some(c));
        }
        let ch = match self.store.channel(id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let kind = ChannelKind::parse(&ch.kind).ok_or_else(|| {
            StoreError::Backend(format!("channel {id} has unknown kind {}", ch.kind))
        })?;
        let secret = self.secrets.open(&ch.secret_sealed).ok_or_else(|| {
            StoreError::Backend(format!(
                "channel {id}: the secret does not open with this server's key"
            ))
        })?;
        let adapter = adapter_for(kind, &ch.config, &secret)
            .map_err(|e| StoreError::Backend(format!("channel {id}: {e}")))?;
        let live = Arc::new(LiveChannel {
            adapter: Arc::new(adapter),
            id,
            kind,
            name: ch.name,
            config: ch.config,
            active: ch.active,
            secret,
        });
        if let Ok(mut m) = self.map.write() {
            m.insert(id, (Instant::now(), live.clone()));
        }
        Ok(Some(live))
    }
}

/// The adapter for a channel: the generic webhook's secret is the sealed string itself;
/// a provider channel's sealed secret is its credentials as a JSON object.
pub fn adapter_for(
    kind: ChannelKind,
    config: &serde_json::Value,
    secret: &Secret,
) -> Result<Adapter, switchboard_channels::PayloadError> {
    let credentials = match kind {
        ChannelKind::Webhook => serde_json::json!({
            "secret": String::from_utf8_lossy(secret.expose()),
        }),
        _ => serde_json::from_slice(secret.expose()).map_err(|_| {
            switchboard_channels::PayloadError::body("the stored credentials are not a JSON object")
        })?,
    };
    Adapter::new(kind, config, &credentials)
}

/// A URL fit to show: the password in it and the values of its query replaced with `***`
/// (webhook URLs often carry credentials there).
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(url) else {
        return "<invalid url>".into();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, _)| (k.into_owned(), "***".to_owned()))
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// A channel as the API shows it: no secret (never serialized) and credentials in its
/// outbound URL redacted.
pub fn public_channel(ch: &switchboard_store::Channel) -> serde_json::Value {
    let mut v = serde_json::to_value(ch).unwrap_or_default();
    if let Some(url) = v["config"]["outbound_url"].as_str() {
        v["config"]["outbound_url"] = serde_json::Value::String(redact_url(url));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords_and_query_values() {
        assert_eq!(
            redact_url("https://user:hunter2@example.com/x?token=abc&a=1"),
            "https://user:***@example.com/x?token=***&a=***"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9/hook"),
            "http://127.0.0.1:9/hook"
        );
        assert_eq!(redact_url("not a url"), "<invalid url>");
    }
}
