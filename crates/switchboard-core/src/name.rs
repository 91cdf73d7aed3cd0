//! Small validated strings: display names, tags, usernames.

use crate::ParseError;
use serde::{Deserialize, Deserializer, Serialize};

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $name::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A human-facing name (a channel, a team, a person): trimmed, 1 to 200 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);
string_newtype!(Name);

impl Name {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        if t.chars().count() > 200 {
            return Err(ParseError::new("must be at most 200 characters"));
        }
        if t.chars().any(char::is_control) {
            return Err(ParseError::new("must not contain control characters"));
        }
        if t.chars().any(is_invisible) {
            return Err(ParseError::new(
                "must not contain invisible or direction-changing characters",
            ));
        }
        Ok(Name(t.to_owned()))
    }
}

/// Zero-width and bidirectional-override characters: they let one name pass for another
/// ("admin\u{202E}" shows as something else).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// A case tag: 1 to 50 characters, no whitespace or control characters, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);
string_newtype!(Tag);

impl Tag {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty()
            || s.chars().count() > 50
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ParseError::new(format!(
                "a tag is 1 to 50 characters without spaces: {s:?}"
            )));
        }
        Ok(Tag(s.to_owned()))
    }
}

/// A login name: 1 to 64 of `a-z 0-9 . _ @ -`, lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);
string_newtype!(Username);

impl Username {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b));
        if ok {
            Ok(Username(s.to_owned()))
        } else {
            Err(ParseError::new(format!(
                "a username is 1 to 64 of a-z, 0-9, '.', '_', '@', '-': {s:?}"
            )))
        }
    }
}

/// The usernames a note mentions: `@name` where `@` starts a word (not an e-mail address's),
/// lowercased, trailing dots dropped, each once, in order.
pub fn mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for (i, ch) in text.char_indices() {
        let starts_word = prev.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '.'));
        if ch == '@' && starts_word {
            let rest = &text[i + 1..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect();
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if !name.is_empty() && name.len() <= 64 && !out.contains(&name) {
                out.push(name);
            }
        }
        prev = Some(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_words_starting_with_at() {
        assert_eq!(
            mentions("@sam can you check? cc @Lee.Sales and @sam."),
            vec!["sam", "lee.sales"]
        );
        assert!(mentions("write to ann@example.com or @ alone").is_empty());
        assert_eq!(mentions("(@rita) please"), vec!["rita"]);
        assert!(mentions("").is_empty());
    }

    #[test]
    fn names() {
        assert_eq!(
            Name::parse("  Partner app ").unwrap().as_str(),
            "Partner app"
        );
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("a\u{0}b").is_err());
        assert!(Name::parse(&"é".repeat(201)).is_err());
        assert!(Name::parse("admin\u{202E}").is_err());
        assert!(Name::parse("ad\u{200B}min").is_err());
        assert!(Name::parse("Zoë Ångström").is_ok());
    }

    #[test]
    fn tags_and_usernames() {
        assert!(Tag::parse("vip").is_ok());
        assert!(Tag::parse("two words").is_err());
        assert!(Tag::parse("").is_err());
        assert!(Username::parse("ann.lee@example.com").is_ok());
        assert!(Username::parse("Ann").is_err());
    }
}
