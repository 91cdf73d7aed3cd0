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

/// A token bucket per channel: `rate` sends per second on average, bursts of `burst`, and a
/// pause until a time a provider's throttling answer (429, `Retry-After`) named. Time is an
/// input (milliseconds), so the bucket is pure.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate_per_sec: f64,
    burst: f64,
    tokens: f64,
    last_ms: i64,
    paused_until_ms: i64,
}

impl TokenBucket {
    pub fn new(rate_per_sec: f64, burst: f64, now_ms: i64) -> Self {
        let rate_per_sec = rate_per_sec.max(0.001);
        let burst = burst.max(1.0);
        TokenBucket {
            rate_per_sec,
            burst,
            tokens: burst,
            last_ms: now_ms,
            paused_until_ms: i64::MIN,
        }
    }

    /// Takes a token if one is free now (`Ok`), else says how many milliseconds until one is.
    pub fn take(&mut self, now_ms: i64) -> Result<(), i64> {
        if now_ms < self.paused_until_ms {
            return Err(self.paused_until_ms - now_ms);
        }
        let elapsed = (now_ms - self.last_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * self.rate_per_sec).min(self.burst);
        self.last_ms = now_ms.max(self.last_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.rate_per_sec * 1000.0;
            Err(wait.ceil().max(1.0) as i64)
        }
    }

    /// Sends nothing before `until_ms` (the provider said so).
    pub fn pause_until(&mut self, until_ms: i64) {
        self.paused_until_ms = self.paused_until_ms.max(until_ms);
        self.tokens = 0.0;
        self.last_ms = self.last_ms.max(until_ms);
    }
}

/// The seconds a `Retry-After` header asks for: a number of seconds, or an HTTP date
/// (`now_secs` is the current Unix time). `None` when it says neither.
pub fn retry_after_secs(value: &str, now_secs: i64) -> Option<u64> {
    let v = value.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(v, &format)
        .ok()?
        .assume_utc();
    Some((at.unix_timestamp() - now_secs).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_spends_bursts_then_paces_and_pauses() {
        let mut b = TokenBucket::new(2.0, 3.0, 0);
        assert_eq!(b.take(0), Ok(()));
        assert_eq!(b.take(0), Ok(()));
        assert_eq!(b.take(0), Ok(()));
        // Empty: the next token comes in half a second at 2/s.
        assert_eq!(b.take(0), Err(500));
        assert_eq!(b.take(500), Ok(()));
        assert_eq!(b.take(600), Err(400));
        // A 429 said "not before 10 s".
        b.pause_until(10_000);
        assert_eq!(b.take(9_000), Err(1_000));
        assert_eq!(b.take(10_000), Err(500));
        assert_eq!(b.take(10_500), Ok(()));
        // Time going backwards never mints tokens.
        let mut c = TokenBucket::new(1.0, 1.0, 5_000);
        assert_eq!(c.take(5_000), Ok(()));
        assert!(c.take(1_000).is_err());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after_secs("120", 0), Some(120));
        assert_eq!(retry_after_secs(" 7 ", 0), Some(7));
        // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480.
        assert_eq!(
            retry_after_secs("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_470),
            Some(10)
        );
        assert_eq!(
            retry_after_secs("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_490),
            Some(0)
        );
        assert_eq!(retry_after_secs("soon", 0), None);
        assert_eq!(retry_after_secs("-5", 0), None);
    }

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
