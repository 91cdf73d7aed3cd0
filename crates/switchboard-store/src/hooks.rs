//! Notify hooks: the playbook's `then.notify` URLs, each told about a routed case by a signed
//! POST. A delivery is queued in the same transaction that opens the case, so none is lost
//! and none is sent for a case that was rolled back. The server's worker claims due ones
//! under a lease, signs and sends them, and records each attempt here; a delivery ends
//! `delivered` or `failed` with the receiver's last answer, and an admin can send it again.
//!
//! The signing secret lives in settings, sealed by the server (the store never sees it in
//! the clear). Rotating keeps the previous one for a grace period so receivers can switch.

use crate::journal::{audit, bad};
use crate::sql::{Conn, Row, Value};
use crate::{Actor, Page, Store, StoreError, params};
use serde::Serialize;
use serde_json::json;
use switchboard_core::{CaseId, DeliveryId, Timestamp};

const SECRET_KEY: &str = "notify.secret";
/// Rotated-out secrets still signing: a JSON list of `{"sealed": hex, "until": micros}`.
const PREVIOUS_KEY: &str = "notify.secret.previous_list";

/// One notify request and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookDelivery {
    pub id: DeliveryId,
    pub url: String,
    /// What happened: `case.routed`.
    pub event: String,
    pub case_id: Option<CaseId>,
    /// `queued`, `sending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// The JSON that is (or was) posted; left out of lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// A claimed delivery, ready to sign and send.
#[derive(Debug, Clone)]
pub struct HookJob {
    pub id: DeliveryId,
    pub url: String,
    pub event: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum HookOutcome {
    Delivered {
        status: u16,
    },
    Retry {
        at: Timestamp,
        status: Option<u16>,
        error: String,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

const COLS: &str = "id, url, event, case_id, state, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at";

fn from_row(r: &Row) -> Result<HookDelivery, StoreError> {
    Ok(HookDelivery {
        id: DeliveryId::parse(&r.text(0)?).map_err(bad)?,
        url: r.text(1)?,
        event: r.text(2)?,
        case_id: r
            .opt_text(3)?
            .map(|s| CaseId::parse(&s))
            .transpose()
            .map_err(bad)?,
        state: r.text(4)?,
        attempts: r.int(5)?,
        next_attempt_at: r.opt_int(6)?.map(Timestamp::from_unix_micros),
        last_status: r.opt_int(7)?,
        last_error: r.opt_text(8)?,
        created_at: Timestamp::from_unix_micros(r.int(9)?),
        delivered_at: r.opt_int(10)?.map(Timestamp::from_unix_micros),
        body: None,
    })
}

/// Queues one delivery of `event` per URL; `payload` is posted with the delivery's `id`,
/// `event` and `created_at` added.
pub(crate) fn enqueue(
    c: &mut dyn Conn,
    urls: &[String],
    event: &str,
    case: Option<CaseId>,
    payload: &serde_json::Value,
    now: Timestamp,
) -> Result<Vec<DeliveryId>, StoreError> {
    let mut ids = Vec::with_capacity(urls.len());
    for url in urls {
        let id = DeliveryId::new_at(now);
        let mut body = json!({ "id": id, "event": event, "created_at": now });
        if let (Some(out), Some(extra)) = (body.as_object_mut(), payload.as_object()) {
            for (k, v) in extra {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        c.execute(
            "INSERT INTO webhook_deliveries (id, url, event, case_id, body, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6)",
            params![
                id.to_string(),
                url.as_str(),
                event,
                case.map(|c| c.to_string()),
                body.to_string(),
                now.as_unix_micros()
            ],
        )?;
        ids.push(id);
    }
    Ok(ids)
}

fn delivery(c: &mut dyn Conn, id: DeliveryId) -> Result<HookDelivery, StoreError> {
    let r = c
        .query_opt(
            &format!("SELECT {COLS}, body FROM webhook_deliveries WHERE id = $1"),
            params![id.to_string()],
        )?
        .ok_or(StoreError::NotFound)?;
    let mut d = from_row(&r)?;
    d.body = Some(
        serde_json::from_str(&r.text(11)?)
            .map_err(|e| StoreError::Backend(format!("stored delivery body: {e}")))?,
    );
    Ok(d)
}

fn set(c: &mut dyn Conn, key: &str, value: Option<String>) -> Result<(), StoreError> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, v],
        )?,
        None => c.execute("DELETE FROM settings WHERE key = $1", params![key])?,
    };
    Ok(())
}

fn get(c: &mut dyn Conn, key: &str) -> Result<Option<String>, StoreError> {
    c.query_opt("SELECT value FROM settings WHERE key = $1", params![key])?
        .map(|r| r.text(0))
        .transpose()
}

fn unhex(key: &str, v: String) -> Result<Vec<u8>, StoreError> {
    hex::decode(v).map_err(|e| StoreError::Backend(format!("setting {key}: {e}")))
}

/// The sealed signing secrets in force at one instant: the current one, and every rotated-out
/// one whose grace period lasts (newest first), so rotating twice in a day never drops a
/// secret a receiver may still use.
#[derive(Clone, Default)]
pub struct SealedHookSecrets {
    pub current: Option<Vec<u8>>,
    pub previous: Vec<Vec<u8>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Retired {
    sealed: String,
    until: i64,
}

/// The rotated-out secrets still in their grace period at `now`, newest first.
fn retired(c: &mut dyn Conn, now: Timestamp) -> Result<Vec<Retired>, StoreError> {
    let list: Vec<Retired> = match get(c, PREVIOUS_KEY)? {
        Some(v) => serde_json::from_str(&v)
            .map_err(|e| StoreError::Backend(format!("setting {PREVIOUS_KEY}: {e}")))?,
        None => Vec::new(),
    };
    Ok(list
        .into_iter()
        .filter(|r| now.as_unix_micros() < r.until)
        .collect())
}

impl std::fmt::Debug for SealedHookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedHookSecrets(..)")
    }
}

impl Store {
    /// Stores the first sealed signing secret, unless there is one; returns whether it did.
    pub async fn init_hook_secret(&self, sealed: Vec<u8>) -> Result<bool, StoreError> {
        self.pool
            .write(move |c| {
                Ok(c.execute(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                    params![SECRET_KEY, hex::encode(sealed)],
                )? == 1)
            })
            .await
    }

    /// The sealed secrets to sign with at `now`.
    pub async fn hook_secrets(&self, now: Timestamp) -> Result<SealedHookSecrets, StoreError> {
        self.pool
            .read(move |c| {
                let current = get(c, SECRET_KEY)?
                    .map(|v| unhex(SECRET_KEY, v))
                    .transpose()?;
                let previous = retired(c, now)?
                    .into_iter()
                    .map(|r| unhex(PREVIOUS_KEY, r.sealed))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(SealedHookSecrets { current, previous })
            })
            .await
    }

    /// Makes `sealed` the signing secret; the old one still signs (as another signature)
    /// until `grace_until`, beside any earlier one still in its own grace period. Audited.
    pub async fn rotate_hook_secret(
        &self,
        sealed: Vec<u8>,
        grace_until: Timestamp,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                let old = get(c, SECRET_KEY)?;
                let had_old = old.is_some();
                let mut list = retired(c, now)?;
                if let Some(old) = old {
                    list.insert(
                        0,
                        Retired {
                            sealed: old,
                            until: grace_until.as_unix_micros(),
                        },
                    );
                }
                set(
                    c,
                    PREVIOUS_KEY,
                    Some(
                        serde_json::to_string(&list)
                            .map_err(|e| StoreError::Backend(e.to_string()))?,
                    ),
                )?;
                set(c, SECRET_KEY, Some(hex::encode(sealed)))?;
                audit(
                    c,
                    &actor,
                    "notify.secret_rotated",
                    ("setting", SECRET_KEY.to_owned()),
                    json!({ "previous_valid_until": had_old.then_some(grace_until) }),
                    now,
                )
            })
            .await
    }

    /// Claims up to `limit` deliveries due at `now`, leasing them until `lease_until` (a node
    /// that dies mid-send leaves them to be sent again when the lease ends).
    pub async fn claim_hooks(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<HookJob>, StoreError> {
        self.pool
            .write(move |c| {
                let rows = c.query(
                    "SELECT id, url, event, body, attempts FROM webhook_deliveries \
                     WHERE state IN ('queued', 'sending') AND next_attempt_at <= $1 \
                     ORDER BY next_attempt_at LIMIT $2",
                    params![now.as_unix_micros(), limit],
                )?;
                let mut jobs = Vec::with_capacity(rows.len());
                for r in &rows {
                    let id = DeliveryId::parse(&r.text(0)?).map_err(bad)?;
                    c.execute(
                        "UPDATE webhook_deliveries SET state = 'sending', next_attempt_at = $1 WHERE id = $2",
                        params![lease_until.as_unix_micros(), id.to_string()],
                    )?;
                    jobs.push(HookJob {
                        id,
                        url: r.text(1)?,
                        event: r.text(2)?,
                        body: r.text(3)?,
                        attempts: r.int(4)?,
                    });
                }
                Ok(jobs)
            })
            .await
    }

    /// Records how an attempt ended; a delivery that is no longer in flight (sent again by an
    /// admin meanwhile) is left alone. A final outcome is audited.
    pub async fn record_hook(
        &self,
        id: DeliveryId,
        outcome: HookOutcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                let (state, status, error, next, delivered) = match &outcome {
                    HookOutcome::Delivered { status } => {
                        ("delivered", Some(*status), None, None, Some(now.as_unix_micros()))
                    }
                    HookOutcome::Retry { at, status, error } => {
                        ("queued", *status, Some(error.clone()), Some(at.as_unix_micros()), None)
                    }
                    HookOutcome::Failed { status, error } => {
                        ("failed", *status, Some(error.clone()), None, None)
                    }
                };
                let n = c.execute(
                    "UPDATE webhook_deliveries SET state = $1, last_status = $2, last_error = $3, next_attempt_at = $4, \
                     delivered_at = $5, attempts = attempts + 1 WHERE id = $6 AND state = 'sending'",
                    params![
                        state,
                        status.map(i64::from),
                        error.clone(),
                        next,
                        delivered,
                        id.to_string()
                    ],
                )?;
                if n == 1 && state != "queued" {
                    let d = delivery(c, id)?;
                    audit(
                        c,
                        &Actor::System,
                        if state == "delivered" { "notify.delivered" } else { "notify.failed" },
                        ("webhook_delivery", id.to_string()),
                        json!({"url": d.url, "event": d.event, "case_id": d.case_id, "attempts": d.attempts, "status": status, "error": error}),
                        now,
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Deliveries, newest first; optionally of one case, or in one state.
    pub async fn hook_deliveries(
        &self,
        case: Option<CaseId>,
        state: Option<String>,
        cursor: Option<DeliveryId>,
        limit: i64,
    ) -> Result<Page<HookDelivery>, StoreError> {
        self.pool
            .read(move |c| {
                let mut sql = format!("SELECT {COLS} FROM webhook_deliveries WHERE 1 = 1");
                let mut args: Vec<Value> = Vec::new();
                if let Some(case) = case {
                    args.push(case.to_string().into());
                    sql.push_str(&format!(" AND case_id = ${}", args.len()));
                }
                if let Some(state) = state {
                    args.push(state.into());
                    sql.push_str(&format!(" AND state = ${}", args.len()));
                }
                if let Some(cur) = cursor {
                    args.push(cur.to_string().into());
                    sql.push_str(&format!(" AND id < ${}", args.len()));
                }
                args.push((limit + 1).into());
                sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", args.len()));
                let items = c
                    .query(&sql, &args)?
                    .iter()
                    .map(from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetch(items, limit, |d| d.id.to_string()))
            })
            .await
    }

    /// One delivery, with the body it posts.
    pub async fn hook_delivery(&self, id: DeliveryId) -> Result<HookDelivery, StoreError> {
        self.pool.read(move |c| delivery(c, id)).await
    }

    /// Queues a finished delivery again, with a fresh count of attempts (the same body and
    /// id, so a receiver that did get it can tell). One in flight is refused. Audited.
    pub async fn redeliver_hook(
        &self,
        id: DeliveryId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<HookDelivery, StoreError> {
        self.pool
            .write(move |c| {
                let d = delivery(c, id)?;
                if matches!(d.state.as_str(), "queued" | "sending") {
                    return Err(StoreError::Conflict(format!(
                        "delivery {id} is still {}; it can be sent again once it has ended",
                        d.state
                    )));
                }
                c.execute(
                    "UPDATE webhook_deliveries SET state = 'queued', attempts = 0, next_attempt_at = $1, \
                     delivered_at = NULL WHERE id = $2",
                    params![now.as_unix_micros(), id.to_string()],
                )?;
                audit(
                    c,
                    &actor,
                    "notify.redelivered",
                    ("webhook_delivery", id.to_string()),
                    json!({"url": d.url, "event": d.event, "was": d.state}),
                    now,
                )?;
                delivery(c, id)
            })
            .await
    }

    /// Deliveries waiting to be sent (queued or in flight).
    pub async fn hooks_pending(&self) -> Result<i64, StoreError> {
        self.pool
            .read(|c| {
                c.query_one(
                    "SELECT COUNT(*) FROM webhook_deliveries WHERE state IN ('queued', 'sending')",
                    &[],
                )?
                .int(0)
            })
            .await
    }
}
