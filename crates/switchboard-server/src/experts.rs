//! Expert hand-off, the server's part: signed links, the invitation and reminder e-mails,
//! and the reminder worker. A link is `/expert/<token>`, where the token is
//! base64url(link id ‖ expiry ‖ HMAC-SHA256 truncated to 16 bytes) under a key derived from
//! the secret key. A tampered token fails the signature before any database read; the store
//! keeps only the token's SHA-256, so a database leak gives no working links.

use crate::AppState;
use crate::auth::credential_hash;
use crate::crypto::SecretBox;
use crate::metrics::{Metrics, global};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::Duration;
use switchboard_core::{ExpertLinkId, Timestamp};
use switchboard_store::ExpertLink;
use uuid::Uuid;

const SIG_LEN: usize = 16;
const TOKEN_LEN: usize = 16 + 8 + SIG_LEN;
/// Reminders per invitation, at most.
pub const MAX_REMINDERS: i64 = 3;

/// A signed token for `id`, valid until `expires`.
pub fn make_token(secrets: &SecretBox, id: ExpertLinkId, expires: Timestamp) -> String {
    let mut data = Vec::with_capacity(TOKEN_LEN);
    data.extend_from_slice(id.as_uuid().as_bytes());
    data.extend_from_slice(&expires.as_unix_micros().to_be_bytes());
    let sig = secrets.sign_link(&data);
    data.extend_from_slice(&sig[..SIG_LEN]);
    URL_SAFE_NO_PAD.encode(data)
}

/// Why a token is refused before the store is asked.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token this server signed (malformed or altered).
    Tampered,
    Expired,
}

/// The link id of a token this server signed and that has not expired; the store still
/// decides whether it was revoked or used.
pub fn check_token(
    secrets: &SecretBox,
    token: &str,
    now: Timestamp,
) -> Result<ExpertLinkId, TokenError> {
    let data = URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| TokenError::Tampered)?;
    if data.len() != TOKEN_LEN {
        return Err(TokenError::Tampered);
    }
    let (signed, sig) = data.split_at(16 + 8);
    let expected = secrets.sign_link(signed);
    // Constant time: the comparison must not say how many bytes matched.
    let diff = expected[..SIG_LEN]
        .iter()
        .zip(sig)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return Err(TokenError::Tampered);
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&signed[..16]);
    let mut exp = [0u8; 8];
    exp.copy_from_slice(&signed[16..]);
    if now.as_unix_micros() >= i64::from_be_bytes(exp) {
        return Err(TokenError::Expired);
    }
    Ok(ExpertLinkId::from_uuid(Uuid::from_bytes(id)))
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    credential_hash(token)
}

/// The address an expert opens.
pub fn link_url(state: &AppState, token: &str) -> String {
    format!(
        "{}/expert/{token}",
        state.config.public_url.trim_end_matches('/')
    )
}

fn invitation_text(link: &ExpertLink, url: &str, reminder: bool) -> String {
    let hello = link
        .name
        .as_deref()
        .map_or("Hello,".to_owned(), |n| format!("Hello {n},"));
    let intro = if reminder {
        "A reminder: a customer's case is still waiting for your answer."
    } else {
        "A colleague in our contact center would like your help with a customer's case."
    };
    format!(
        "{hello}\n\n{intro}\n\nTheir question:\n{}\n\nOpen the case and answer here (no account needed):\n{url}\n\n\
         The link works for this one case until {} and only once. Please do not forward it.\n",
        // The agent's words may quote a customer's card or id number.
        switchboard_core::guard::hide_card_and_id_numbers(&link.question),
        link.expires_at.to_rfc3339()
    )
}

/// Mails an invitation or a reminder. `Err`: why it did not go out (no relay configured, or
/// the relay's answer).
pub async fn mail(
    state: &AppState,
    link: &ExpertLink,
    url: &str,
    reminder: bool,
) -> Result<(), String> {
    let Some(mailer) = &state.mailer else {
        return Err(
            "no SMTP relay is configured (SWITCHBOARD_SMTP_URL); share the link yourself".into(),
        );
    };
    let subject = if reminder {
        "Reminder: a customer is waiting for your answer"
    } else {
        "Your help is needed on a customer case"
    };
    let result = mailer
        .send(&link.email, subject, invitation_text(link, url, reminder))
        .await;
    let kind = if result.is_ok() {
        "mailed"
    } else {
        "mail_failed"
    };
    Metrics::count(&global().expert_events, kind, 1);
    result
}

/// The reminder worker: late experts get a reminder with their link again (kept sealed with
/// the secret key) and the case's owner is told.
pub async fn run_reminders(state: AppState) {
    let mut shutdown = state.shutdown.subscribe();
    let tick = Duration::from_millis(state.config.sla_tick_ms.max(10));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        let now = state.clock.now();
        match state.store.expire_expert_waits(now).await {
            Ok(events) => state.bus.publish(events),
            Err(e) => tracing::error!(error = %e, "cannot end expired expert waits"),
        }
        let due = match state.store.expert_reminders_due(now, 50).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "cannot read due expert reminders");
                continue;
            }
        };
        for (link, sealed) in due {
            let result = match state.secrets.open(&sealed) {
                Some(token) => {
                    let token = String::from_utf8_lossy(token.expose()).into_owned();
                    mail(&state, &link, &link_url(&state, &token), true).await
                }
                None => Err("the stored link cannot be opened with this secret key".to_owned()),
            };
            let next = (link.reminders + 1 < MAX_REMINDERS)
                .then(|| now.plus_micros(state.config.expert_remind_after_micros))
                .filter(|t| *t < link.expires_at);
            match state
                .store
                .record_expert_reminder(link.id, next, result.err(), now)
                .await
            {
                Ok(events) => {
                    Metrics::count(&global().expert_events, "reminded", 1);
                    state.bus.publish(events);
                }
                Err(e) => tracing::error!(error = %e, "cannot record an expert reminder"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_refuse_tampering_and_expiry() {
        let secrets = SecretBox::from_key([7; 32]);
        let now = Timestamp::from_unix_micros(1_700_000_000_000_000);
        let id = ExpertLinkId::new_at(now);
        let expires = now.plus_micros(3_600_000_000);
        let token = make_token(&secrets, id, expires);
        assert_eq!(check_token(&secrets, &token, now), Ok(id));
        assert_eq!(
            check_token(&secrets, &token, expires),
            Err(TokenError::Expired)
        );
        // Every single-character change is caught.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for i in 0..token.len() {
            let orig = token.as_bytes()[i] as char;
            let other = alphabet.chars().find(|c| *c != orig).unwrap_or('A');
            let mut t = token.clone();
            t.replace_range(i..=i, &other.to_string());
            assert!(check_token(&secrets, &t, now).is_err(), "changed at {i}");
        }
        // Another server's key, truncation, junk.
        let other = SecretBox::from_key([8; 32]);
        assert_eq!(check_token(&other, &token, now), Err(TokenError::Tampered));
        assert_eq!(
            check_token(&secrets, &token[..10], now),
            Err(TokenError::Tampered)
        );
        assert_eq!(check_token(&secrets, "%%%", now), Err(TokenError::Tampered));
    }
}
