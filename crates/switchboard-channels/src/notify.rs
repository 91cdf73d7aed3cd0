//! Notify hooks: the playbook's `then.notify` URLs, told about a routed case by a signed POST
//! (the contract for receivers is in `docs/WEBHOOK.md`, "Notify hooks").
//!
//! The signature covers a timestamp and the raw body, so a receiver can refuse replays:
//!
//! ```text
//! X-Switchboard-Hook-Signature: t=1732363200,v1=<hex HMAC-SHA256(secret, "1732363200." + body)>
//! ```
//!
//! While a rotated-out secret is still honoured, a second `v1=` signed with it follows; a
//! receiver accepts the request when any `v1` matches a secret it knows.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-switchboard-hook-signature";
pub const EVENT_HEADER: &str = "x-switchboard-event";
pub const DELIVERY_HEADER: &str = "x-switchboard-delivery";
/// How far a receiver should let the signed time stray from its clock, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], unix_secs: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(unix_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value: the time, then one `v1` per secret (current first).
pub fn sign(secrets: &[&[u8]], unix_secs: i64, body: &[u8]) -> String {
    let mut out = format!("t={unix_secs}");
    for secret in secrets {
        out.push_str(",v1=");
        out.push_str(&hex::encode(
            mac(secret, unix_secs, body).finalize().into_bytes(),
        ));
    }
    out
}

/// Why a receiver should refuse a notify request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookSignatureError {
    #[error("the X-Switchboard-Hook-Signature header is missing")]
    Missing,
    #[error("the X-Switchboard-Hook-Signature header is not of the form t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error("the signed time is {0} s away from now, more than allowed")]
    Stale(i64),
    #[error("no signature matches the body")]
    Mismatch,
}

/// Checks a notify request as a receiver would: the header's form, the time within
/// `tolerance_secs` of `now_unix_secs`, and a `v1` matching `secret` (in constant time).
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now_unix_secs: i64,
    tolerance_secs: i64,
) -> Result<(), HookSignatureError> {
    let header = header.ok_or(HookSignatureError::Missing)?;
    let mut time = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) if time.is_none() => {
                time = Some(
                    v.parse::<i64>()
                        .map_err(|_| HookSignatureError::Malformed)?,
                )
            }
            Some(("v1", v)) => {
                sigs.push(hex::decode(v).map_err(|_| HookSignatureError::Malformed)?)
            }
            // Later schemes may add their own entries; they are not ours to judge.
            Some((k, _)) if k != "t" => {}
            _ => return Err(HookSignatureError::Malformed),
        }
    }
    let time = time.ok_or(HookSignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(HookSignatureError::Malformed);
    }
    let skew = now_unix_secs.saturating_sub(time);
    if skew.abs() > tolerance_secs {
        return Err(HookSignatureError::Stale(skew));
    }
    let expected = mac(secret, time, body);
    if sigs
        .iter()
        .any(|s| expected.clone().verify_slice(s).is_ok())
    {
        Ok(())
    } else {
        Err(HookSignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"event":"case.routed"}"#;

    #[test]
    fn known_vector() {
        // printf '1732363200.{"event":"case.routed"}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign(&[b"key"], 1_732_363_200, BODY),
            "t=1732363200,v1=974b7cdaf047e38198a0c485aaf9ce9a3fc3eed36aa416ab793034c91d368c39"
        );
    }

    /// (what, header, body, now, expected)
    type Case = (
        &'static str,
        Option<String>,
        &'static [u8],
        i64,
        Result<(), HookSignatureError>,
    );

    #[test]
    fn verification_table() {
        let now = 1_732_363_200;
        let both = sign(&[b"new", b"old"], now, BODY);
        let cases: Vec<Case> = vec![
            ("current secret", Some(both.clone()), BODY, now, Ok(())),
            (
                "old secret during rotation",
                Some(both.clone()),
                BODY,
                now,
                Ok(()),
            ),
            (
                "within tolerance",
                Some(both.clone()),
                BODY,
                now + 300,
                Ok(()),
            ),
            (
                "too late",
                Some(both.clone()),
                BODY,
                now + 301,
                Err(HookSignatureError::Stale(301)),
            ),
            (
                "from the future",
                Some(both.clone()),
                BODY,
                now - 400,
                Err(HookSignatureError::Stale(-400)),
            ),
            (
                "body changed",
                Some(both.clone()),
                b"{}",
                now,
                Err(HookSignatureError::Mismatch),
            ),
            ("missing", None, BODY, now, Err(HookSignatureError::Missing)),
            (
                "sha256= form",
                Some("sha256=abcd".into()),
                BODY,
                now,
                Err(HookSignatureError::Malformed),
            ),
            (
                "no v1",
                Some(format!("t={now}")),
                BODY,
                now,
                Err(HookSignatureError::Malformed),
            ),
            (
                "bad hex",
                Some(format!("t={now},v1=zz")),
                BODY,
                now,
                Err(HookSignatureError::Malformed),
            ),
            (
                "time not a number",
                Some("t=soon,v1=00".into()),
                BODY,
                now,
                Err(HookSignatureError::Malformed),
            ),
            (
                "unknown scheme ignored",
                Some(format!("{both},v9=00")),
                BODY,
                now,
                Ok(()),
            ),
        ];
        for (what, header, body, at, want) in cases {
            let secret: &[u8] = if what == "old secret during rotation" {
                b"old"
            } else {
                b"new"
            };
            assert_eq!(
                verify(secret, header.as_deref(), body, at, DEFAULT_TOLERANCE_SECS),
                want,
                "{what}"
            );
        }
    }

    #[test]
    fn a_retired_secret_stops_verifying() {
        let now = 1_732_363_200;
        let only_new = sign(&[b"new"], now, BODY);
        assert_eq!(
            verify(b"old", Some(&only_new), BODY, now, 300),
            Err(HookSignatureError::Mismatch)
        );
    }
}
