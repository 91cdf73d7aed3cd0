//! When to try a failed send again: exponential backoff with a cap and jitter, and which
//! answers are worth retrying at all.

/// Delay before attempt `attempt + 1`, after `attempt` failed attempts (1-based): `base * 2^(attempt-1)`,
/// capped at `max`, then scaled by `jitter` (0.0..=1.0 maps to 50%..100% of the delay) so that
/// many failed sends do not retry in lockstep.
pub fn backoff_millis(attempt: u32, base_ms: u64, max_ms: u64, jitter: f64) -> u64 {
    let exp = attempt.saturating_sub(1).min(32);
    let raw = base_ms.saturating_mul(1u64 << exp).min(max_ms);
    let factor = 0.5 + 0.5 * jitter.clamp(0.0, 1.0);
    ((raw as f64) * factor).round() as u64
}

/// What an HTTP answer from a receiver means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again later (server errors, timeouts, throttling).
    Retry,
    /// The receiver refused it; retrying will not help.
    Reject,
}

pub fn classify_status(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        408 | 409 | 425 | 429 => Verdict::Retry,
        400..=499 => Verdict::Reject,
        _ => Verdict::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_table() {
        // (attempt, jitter, expected)
        let table = [
            (1, 1.0, 500),
            (2, 1.0, 1000),
            (3, 1.0, 2000),
            (10, 1.0, 60_000),
            (40, 1.0, 60_000),
            (1, 0.0, 250),
            (2, 0.5, 750),
        ];
        for (attempt, jitter, want) in table {
            assert_eq!(
                backoff_millis(attempt, 500, 60_000, jitter),
                want,
                "attempt {attempt} jitter {jitter}"
            );
        }
    }

    #[test]
    fn classification() {
        assert_eq!(classify_status(200), Verdict::Delivered);
        assert_eq!(classify_status(204), Verdict::Delivered);
        assert_eq!(classify_status(429), Verdict::Retry);
        assert_eq!(classify_status(503), Verdict::Retry);
        assert_eq!(classify_status(400), Verdict::Reject);
        assert_eq!(classify_status(404), Verdict::Reject);
        assert_eq!(classify_status(301), Verdict::Retry);
    }
}
