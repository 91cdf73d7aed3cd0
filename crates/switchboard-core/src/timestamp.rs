//! Instants as microseconds since the Unix epoch, UTC. Parsing and formatting use RFC 3339.
//! There is no `now()` here: the clock is an input, supplied by the server.

use crate::ParseError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_micros(micros: i64) -> Self {
        Timestamp(micros)
    }
    /// Milliseconds since the Unix epoch (provider timestamps); `None` outside years 1970–9999.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        (0..=253_402_300_799_999)
            .contains(&millis)
            .then(|| Timestamp(millis * 1000))
    }
    /// Seconds since the Unix epoch (provider timestamps); `None` outside years 1970–9999.
    pub fn from_unix_secs(secs: i64) -> Option<Self> {
        (0..=253_402_300_799)
            .contains(&secs)
            .then(|| Timestamp(secs * 1_000_000))
    }
    pub const fn as_unix_micros(self) -> i64 {
        self.0
    }
    /// Whole seconds since the Unix epoch (rounded down).
    pub const fn as_unix_secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    pub fn from_offset_datetime(t: OffsetDateTime) -> Self {
        Timestamp((t.unix_timestamp_nanos() / 1000) as i64)
    }
    pub fn parse_rfc3339(s: &str) -> Result<Self, ParseError> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Self::from_offset_datetime)
            .map_err(|_| ParseError::new(format!("not an RFC 3339 time: {s:?}")))
    }
    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }
    /// `self + micros` microseconds, saturating.
    pub fn plus_micros(self, micros: i64) -> Self {
        Timestamp(self.0.saturating_add(micros))
    }
    /// `self + millis` milliseconds, saturating.
    pub fn plus_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis.saturating_mul(1000)))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        for s in ["2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123456Z"] {
            assert_eq!(Timestamp::parse_rfc3339(s).unwrap().to_rfc3339(), s);
        }
        let t = Timestamp::parse_rfc3339("2026-11-22T12:00:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T10:00:00Z");
    }

    #[test]
    fn rejects_non_rfc3339() {
        for s in ["", "yesterday", "2026-11-22", "2026-13-01T00:00:00Z"] {
            assert!(Timestamp::parse_rfc3339(s).is_err(), "{s}");
        }
    }
}
