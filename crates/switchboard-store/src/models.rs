//! Classifier models a workspace installs, by kind (`intent`): every version is kept, one is
//! active, and an older one can be made active again (a rollback). The store keeps the bytes
//! and a summary; the server checks a file before it is installed (a damaged one never is).

use crate::journal::audit;
use crate::sql::{Conn, Row};
use crate::{Actor, Store, StoreError, params};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use switchboard_core::Timestamp;

/// One installed model version (without its bytes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelVersion {
    pub kind: String,
    pub version: i64,
    /// SHA-256 of the file, hex.
    pub digest: String,
    /// What the file says about itself (labels, examples, held-back accuracy).
    pub summary: serde_json::Value,
    pub created_at: Timestamp,
    pub created_by: String,
    pub active: bool,
}

const COLS: &str = "kind, version, digest, summary, created_at, created_by, active";

fn from_row(r: &Row) -> Result<ModelVersion, StoreError> {
    Ok(ModelVersion {
        kind: r.text(0)?,
        version: r.int(1)?,
        digest: r.text(2)?,
        summary: serde_json::from_str(&r.text(3)?)
            .map_err(|e| StoreError::Backend(format!("a stored model summary: {e}")))?,
        created_at: Timestamp::from_unix_micros(r.int(4)?),
        created_by: r.text(5)?,
        active: r.bool(6)?,
    })
}

fn version_row(c: &mut dyn Conn, kind: &str, version: i64) -> Result<ModelVersion, StoreError> {
    c.query_opt(
        &format!("SELECT {COLS} FROM models WHERE kind = $1 AND version = $2"),
        params![kind, version],
    )?
    .as_ref()
    .map(from_row)
    .transpose()?
    .ok_or(StoreError::NotFound)
}

fn make_active(c: &mut dyn Conn, kind: &str, version: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE models SET active = $1 WHERE kind = $2 AND active = $3",
        params![false, kind, true],
    )?;
    c.execute(
        "UPDATE models SET active = $1 WHERE kind = $2 AND version = $3",
        params![true, kind, version],
    )?;
    Ok(())
}

impl Store {
    /// Installs `bytes` (already checked by the caller) as the next version of `kind` and
    /// makes it active, or, when a version of `kind` is this very file (the same SHA-256),
    /// makes that one active again instead of adding a copy. Audited. Returns the version and
    /// whether it is new. When the caller knows how the file was made (`trained_by` in
    /// `summary`: trained here from examples it stored) and the version did not say, the
    /// version takes that summary: the same bytes trained from those examples are what the
    /// learning loop may retrain from them (a file installed first, then trained again here
    /// from its own examples, otherwise left the loop off).
    pub async fn install_model(
        &self,
        kind: String,
        bytes: Vec<u8>,
        summary: serde_json::Value,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(ModelVersion, bool), StoreError> {
        self.pool
            .write(move |c| {
                let digest = hex::encode(Sha256::digest(&bytes));
                let same = c.query_opt(
                    "SELECT version FROM models WHERE kind = $1 AND digest = $2",
                    params![kind.as_str(), digest.as_str()],
                )?;
                if let Some(r) = same {
                    let version = r.int(0)?;
                    let mut adopted = false;
                    if summary["trained_by"].is_string() {
                        let known: serde_json::Value = serde_json::from_str(
                            &c.query_one(
                                "SELECT summary FROM models WHERE kind = $1 AND version = $2",
                                params![kind.as_str(), version],
                            )?
                            .text(0)?,
                        )
                        .unwrap_or_default();
                        if !known["trained_by"].is_string() {
                            c.execute(
                                "UPDATE models SET summary = $1 WHERE kind = $2 AND version = $3",
                                params![summary.to_string(), kind.as_str(), version],
                            )?;
                            adopted = true;
                        }
                    }
                    let mut detail = json!({"kind": kind, "version": version, "digest": digest, "reinstalled": true});
                    if adopted {
                        // How it was made is known now: the learning loop may retrain it.
                        detail["summary_adopted"] = summary.clone();
                    }
                    make_active(c, &kind, version)?;
                    audit(
                        c,
                        &actor,
                        "model.activated",
                        ("model", format!("{kind}/{version}")),
                        detail,
                        now,
                    )?;
                    return Ok((version_row(c, &kind, version)?, false));
                }
                let version = c
                    .query_one(
                        "SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE kind = $1",
                        params![kind.as_str()],
                    )?
                    .int(0)?;
                c.execute(
                    "INSERT INTO models (kind, version, bytes, digest, summary, created_at, created_by, active) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    params![
                        kind.as_str(),
                        version,
                        bytes,
                        digest.as_str(),
                        summary.to_string(),
                        now.as_unix_micros(),
                        actor.name(),
                        false
                    ],
                )?;
                make_active(c, &kind, version)?;
                audit(
                    c,
                    &actor,
                    "model.installed",
                    ("model", format!("{kind}/{version}")),
                    json!({"kind": kind, "version": version, "digest": digest, "summary": summary}),
                    now,
                )?;
                Ok((version_row(c, &kind, version)?, true))
            })
            .await
    }

    /// Makes an installed version of `kind` the active one again. Audited.
    pub async fn activate_model(
        &self,
        kind: String,
        version: i64,
        actor: Actor,
        now: Timestamp,
    ) -> Result<ModelVersion, StoreError> {
        self.pool
            .write(move |c| {
                let before = version_row(c, &kind, version)?;
                make_active(c, &kind, version)?;
                audit(
                    c,
                    &actor,
                    "model.activated",
                    ("model", format!("{kind}/{version}")),
                    json!({"kind": kind, "version": version, "digest": before.digest}),
                    now,
                )?;
                version_row(c, &kind, version)
            })
            .await
    }

    /// Every version of every kind, newest first.
    pub async fn list_models(&self) -> Result<Vec<ModelVersion>, StoreError> {
        self.pool
            .read(|c| {
                c.query(
                    &format!("SELECT {COLS} FROM models ORDER BY kind, version DESC"),
                    &[],
                )?
                .iter()
                .map(from_row)
                .collect()
            })
            .await
    }

    /// The active version of `kind` and its bytes, if one is installed.
    pub async fn active_model(
        &self,
        kind: String,
    ) -> Result<Option<(ModelVersion, Vec<u8>)>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    &format!("SELECT {COLS}, bytes FROM models WHERE kind = $1 AND active = $2"),
                    params![kind.as_str(), true],
                )?
                .map(|r| Ok((from_row(&r)?, r.blob(7)?)))
                .transpose()
            })
            .await
    }
}
