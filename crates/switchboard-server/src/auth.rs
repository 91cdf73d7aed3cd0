//! Who is calling: a bearer token (programs) or a session cookie (people in the browser).
//! Tokens and session ids are random 32-byte values; only their SHA-256 is stored.
//! Passwords are hashed with Argon2id, off the async threads.

use crate::AppState;
use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_core::{Permission, Role, Timestamp};
use switchboard_store::Actor;

pub const SESSION_COOKIE: &str = "sb_session";

/// A new random credential: `<prefix>_<43 base64url characters>`.
pub fn new_credential(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What is stored for a credential.
pub fn credential_hash(credential: &str) -> String {
    hex::encode(Sha256::digest(credential.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// An Argon2 hash of a random password, made once: verified against when a login names no
/// user, so that case takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&new_credential("dummy")).unwrap_or_default())
}

/// The CSRF token of a browser session: derived from the session id, which only the server
/// and the cookie (HttpOnly, so no script) know. Pages carry it; every state-changing request
/// made with the cookie must send it back as `X-CSRF-Token` or as the form field `csrf`.
pub fn csrf_token(session: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"switchboard csrf\0");
    h.update(session.as_bytes());
    hex::encode(&h.finalize()[..20])
}

/// Compares a presented CSRF token with the session's, in constant time.
pub fn csrf_matches(session: &str, presented: &str) -> bool {
    let want = csrf_token(session);
    want.len() == presented.len()
        && want
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Methods that change nothing, and so need no CSRF token.
pub fn is_safe_method(m: &axum::http::Method) -> bool {
    matches!(
        *m,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    )
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The active user with this username and password, or `None`. Unknown users cost the same
/// Argon2 verification as known ones, so response times do not tell which usernames exist.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: String,
) -> Result<Option<switchboard_store::User>, ApiError> {
    // A name that cannot be a username names no one (and never reaches the database).
    let found = match switchboard_core::Username::parse(username) {
        Ok(u) => state.store.user_credentials(u.as_str()).await?,
        Err(_) => None,
    };
    let (user, hash) = match found {
        Some((user, Some(hash))) => (Some(user), hash),
        _ => (None, dummy_hash().to_owned()),
    };
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    Ok(user.filter(|u| ok && u.active))
}

/// Starts a browser session for `user`: the session id and its `Set-Cookie` value
/// (HttpOnly, SameSite=Lax, for the configured lifetime).
pub async fn start_session(
    state: &AppState,
    user: switchboard_core::UserId,
) -> Result<(String, String), ApiError> {
    let session = new_credential("sbs");
    let now = state.clock.now();
    let ttl = state.config.session_ttl_hours;
    state
        .store
        .create_session(
            credential_hash(&session),
            user,
            now,
            now.plus_millis(ttl * 3_600_000),
        )
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}",
        ttl * 3600
    );
    Ok((session, cookie))
}

/// The authenticated caller of an API route.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub role: Role,
}

impl Caller {
    /// Fails with 403 unless the caller's role grants `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.role.can(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }
}

fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the request's cookie `name`.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(&parts.headers) {
            let t = state
                .store
                .token_by_hash(credential_hash(token))
                .await?
                .ok_or_else(|| ApiError::unauthorized("the bearer token is not valid"))?;
            return Ok(Caller {
                actor: Actor::Token {
                    id: t.id,
                    name: t.name,
                },
                role: t.role,
            });
        }
        if let Some(session) = session_cookie(&parts.headers) {
            // A cookie rides along with any request the browser makes, even one another site
            // starts: a change needs the page's CSRF token too.
            if !is_safe_method(&parts.method) {
                let presented = parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !csrf_matches(&session, presented) {
                    return Err(ApiError {
                        field: Some("X-CSRF-Token".into()),
                        ..ApiError::new(
                            axum::http::StatusCode::FORBIDDEN,
                            "csrf",
                            "a change made with a session cookie needs the X-CSRF-Token header \
                             (the csrf_token the login answered, or the page's)",
                        )
                    });
                }
            }
            let now = state.clock.now();
            if let Some(u) = state
                .store
                .session_user(credential_hash(&session), now)
                .await?
            {
                return Ok(Caller {
                    actor: Actor::User {
                        id: u.id,
                        name: u.display_name,
                    },
                    role: u.role,
                });
            }
            return Err(ApiError::unauthorized(
                "the session is not valid or has expired; log in again",
            ));
        }
        Err(ApiError::unauthorized(
            "send Authorization: Bearer <token>, or log in",
        ))
    }
}

/// Whether the credential on these headers still names someone (the token is not revoked;
/// the session was not ended by a logout, a new password or a deactivation). Long-lived
/// responses (the live stream) ask it now and then.
pub async fn still_valid(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    if let Some(token) = bearer(headers) {
        return matches!(
            state.store.token_by_hash(credential_hash(token)).await,
            Ok(Some(_))
        );
    }
    if let Some(session) = session_cookie(headers) {
        let now = state.clock.now();
        return matches!(
            state
                .store
                .session_user(credential_hash(&session), now)
                .await,
            Ok(Some(_))
        );
    }
    false
}

/// The server's clock; tests may replace it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn credentials_are_random_and_hash_stably() {
        let a = new_credential("sbt");
        assert!(a.starts_with("sbt_") && a.len() == 4 + 43);
        assert_ne!(a, new_credential("sbt"));
        assert_eq!(credential_hash(&a), credential_hash(&a));
        assert_eq!(credential_hash(&a).len(), 64);
    }
}

/// A caller whose role grants `N`'s permission, checked while extracting: before the body is
/// read, so a forbidden request is a 403 whatever its body. Use it as
/// `Allowed(caller, _): Allowed<need::WorkCases>`.
pub struct Allowed<N>(pub Caller, pub std::marker::PhantomData<N>);

/// The permission a route needs, as a type.
pub trait Needs {
    const PERMISSION: Permission;
}

/// One marker type per [`Permission`].
pub mod need {
    use super::{Needs, Permission};

    macro_rules! needs {
        ($($name:ident),*) => {$(
            pub struct $name;
            impl Needs for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*};
    }
    needs!(
        Read,
        WorkCases,
        ManageTeams,
        ManageChannels,
        ManageUsers,
        ReadAudit,
        ManageRouting,
        ReviewReplies,
        ViewReports
    );
}

impl<N: Needs + Send + Sync> FromRequestParts<AppState> for Allowed<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(N::PERMISSION)?;
        Ok(Allowed(caller, std::marker::PhantomData))
    }
}
