//! Purposes: why someone wrote to us. Five are built in; a workspace may define more.

use crate::ParseError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A case's purpose. Built-ins: `tier1`, `support`, `sales`, `marketing_pr`, `crisis`.
/// Custom purposes are lowercase slugs (`a-z`, `0-9`, `_`, `-`, 1 to 40 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Purpose(String);

impl Purpose {
    pub const BUILT_IN: [&'static str; 5] = ["tier1", "support", "sales", "marketing_pr", "crisis"];

    pub fn tier1() -> Self {
        Purpose("tier1".into())
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = !s.is_empty()
            && s.len() <= 40
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            && s.as_bytes()[0].is_ascii_lowercase();
        if ok {
            Ok(Purpose(s.to_owned()))
        } else {
            Err(ParseError::new(format!(
                "purpose must be a lowercase slug starting with a letter (a-z, 0-9, _, -; at most 40): {s:?}"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_built_in(&self) -> bool {
        Self::BUILT_IN.contains(&self.0.as_str())
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Purpose {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Purpose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Purpose::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_parse() {
        for p in Purpose::BUILT_IN {
            assert!(Purpose::parse(p).unwrap().is_built_in());
        }
        assert!(!Purpose::parse("warranty").unwrap().is_built_in());
    }

    #[test]
    fn bad_slugs_rejected() {
        for s in ["", "Tier1", "1abc", "a b", "sales!", &"x".repeat(41)] {
            assert!(Purpose::parse(s).is_err(), "{s:?}");
        }
    }
}
