//! Secrets at rest: channel secrets are sealed with ChaCha20-Poly1305 under a 32-byte key that
//! lives outside the database (`<data-dir>/secret.key`, created on first start with mode 0600,
//! or `SWITCHBOARD_SECRET_KEY` as 64 hex characters so several nodes share one key).
//! Sealed form: 12-byte random nonce ‖ ciphertext ‖ tag.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use std::path::Path;

/// Bytes that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
    /// Signs links (expert hand-offs): derived from the key, never the key itself.
    link_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("SWITCHBOARD_SECRET_KEY must be 64 hexadecimal characters (32 bytes)")]
    BadEnv,
    #[error(
        "the key file {0} is not 32 bytes of hex; restore it from backup (without it, stored secrets cannot be read)"
    )]
    BadFile(String),
    #[error("SWITCHBOARD_SECRET_KEY is not the key in {0}; use one or the other")]
    Conflict(String),
    #[error("cannot read or create the key file {0}: {1}")]
    Io(String, std::io::Error),
}

impl SecretBox {
    pub fn from_key(key: [u8; 32]) -> Self {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"switchboard link signing v1");
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            link_key: mac.finalize().into_bytes().into(),
        }
    }

    /// The key from `SWITCHBOARD_SECRET_KEY`, else from `<dir>/secret.key` (created if absent).
    pub fn load_or_create(dir: &Path, env_key: Option<&str>) -> Result<Self, KeyError> {
        let path = dir.join("secret.key");
        let shown = path.display().to_string();
        if let Some(hex_key) = env_key {
            let key = parse_key(hex_key).ok_or(KeyError::BadEnv)?;
            // Two keys for one data directory is a mistake waiting to lose secrets.
            if let Ok(text) = std::fs::read_to_string(&path)
                && parse_key(text.trim()) != Some(key)
            {
                return Err(KeyError::Conflict(shown));
            }
            return Ok(Self::from_key(key));
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => parse_key(text.trim())
                .map(Self::from_key)
                .ok_or(KeyError::BadFile(shown)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_private_dir(dir).map_err(|e| KeyError::Io(shown.clone(), e))?;
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private(&path, hex::encode(key).as_bytes())
                    .map_err(|e| KeyError::Io(shown, e))?;
                Ok(Self::from_key(key))
            }
            Err(e) => Err(KeyError::Io(shown, e)),
        }
    }

    /// HMAC-SHA256 of `data` under the link-signing key.
    pub fn sign_link(&self, data: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.link_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    pub fn seal(&self, plain: &Secret) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce does not fail.
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), plain.expose())
                .unwrap_or_default(),
        );
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Option<Secret> {
        if sealed.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .ok()
            .map(Secret)
    }
}

fn parse_key(hex_key: &str) -> Option<[u8; 32]> {
    hex::decode(hex_key.trim()).ok()?.try_into().ok()
}

/// Creates the data directory readable by its owner only (it holds the database and the key).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let b = SecretBox::from_key([7; 32]);
        let s = Secret::new(b"hunter2".to_vec());
        let sealed = b.seal(&s);
        assert!(
            !sealed.windows(7).any(|w| w == b"hunter2"),
            "plaintext must not appear"
        );
        assert_eq!(b.open(&sealed), Some(s.clone()));
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(b.open(&bad), None);
        assert_eq!(SecretBox::from_key([8; 32]).open(&sealed), None);
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn key_file_created_once_and_reused() {
        let dir = tempfile_dir();
        let a = SecretBox::load_or_create(&dir, None).unwrap();
        let sealed = a.seal(&Secret::new(b"x".to_vec()));
        let b = SecretBox::load_or_create(&dir, None).unwrap();
        assert!(b.open(&sealed).is_some());
        assert!(SecretBox::load_or_create(&dir, Some("zz")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let mut p = std::env::temp_dir();
        p.push(format!("sb-key-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }
}
