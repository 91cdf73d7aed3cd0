//! The languages Switchboard tells apart, by the codes it stores: ISO 639-1 (`en`, `es`).
//! Language detection (`switchboard-understand`) answers with one of these codes or none, so
//! a playbook's `language_any` and an article's `language` are checked against this list: a
//! code the detector never gives (`english`, `zz`, `nb` beside the stored `no`) would match no
//! message, silently.

use crate::ParseError;

/// A language the detector can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// The code stored and shown: ISO 639-1.
    pub code: &'static str,
    /// ISO 639-3, as the trigram detector names it (`cmn` for Chinese, `pes` for Persian).
    pub iso639_3: &'static str,
    /// In English.
    pub name: &'static str,
}

const fn known(code: &'static str, iso639_3: &'static str, name: &'static str) -> Known {
    Known {
        code,
        iso639_3,
        name,
    }
}

/// Every language detection can answer with, in the order of the code.
pub const KNOWN: &[Known] = &[
    known("af", "afr", "Afrikaans"),
    known("am", "amh", "Amharic"),
    known("ar", "ara", "Arabic"),
    known("be", "bel", "Belarusian"),
    known("bg", "bul", "Bulgarian"),
    known("bn", "ben", "Bengali"),
    known("ca", "cat", "Catalan"),
    known("cs", "ces", "Czech"),
    known("da", "dan", "Danish"),
    known("de", "deu", "German"),
    known("el", "ell", "Greek"),
    known("en", "eng", "English"),
    known("es", "spa", "Spanish"),
    known("et", "est", "Estonian"),
    known("fa", "pes", "Persian"),
    known("fi", "fin", "Finnish"),
    known("fr", "fra", "French"),
    known("gu", "guj", "Gujarati"),
    known("he", "heb", "Hebrew"),
    known("hi", "hin", "Hindi"),
    known("hr", "hrv", "Croatian"),
    known("hu", "hun", "Hungarian"),
    known("hy", "hye", "Armenian"),
    known("id", "ind", "Indonesian"),
    known("it", "ita", "Italian"),
    known("ja", "jpn", "Japanese"),
    known("ka", "kat", "Georgian"),
    known("km", "khm", "Khmer"),
    known("kn", "kan", "Kannada"),
    known("ko", "kor", "Korean"),
    known("lt", "lit", "Lithuanian"),
    known("lv", "lav", "Latvian"),
    known("mk", "mkd", "Macedonian"),
    known("ml", "mal", "Malayalam"),
    known("mr", "mar", "Marathi"),
    known("my", "mya", "Burmese"),
    known("ne", "nep", "Nepali"),
    known("nl", "nld", "Dutch"),
    known("no", "nob", "Norwegian"),
    known("or", "ori", "Odia"),
    known("pa", "pan", "Punjabi"),
    known("pl", "pol", "Polish"),
    known("pt", "por", "Portuguese"),
    known("ro", "ron", "Romanian"),
    known("ru", "rus", "Russian"),
    known("si", "sin", "Sinhala"),
    known("sk", "slk", "Slovak"),
    known("sl", "slv", "Slovenian"),
    known("sr", "srp", "Serbian"),
    known("sv", "swe", "Swedish"),
    known("ta", "tam", "Tamil"),
    known("te", "tel", "Telugu"),
    known("th", "tha", "Thai"),
    known("tl", "tgl", "Tagalog"),
    known("tr", "tur", "Turkish"),
    known("uk", "ukr", "Ukrainian"),
    known("ur", "urd", "Urdu"),
    known("vi", "vie", "Vietnamese"),
    known("zh", "cmn", "Chinese"),
];

/// Other codes people write for the same languages: Norwegian Bokmål and Nynorsk, the
/// macro-language codes, and codes ISO has retired.
const ALIASES: &[(&str, &str)] = &[
    ("nb", "no"),
    ("nn", "no"),
    ("nor", "no"),
    ("nno", "no"),
    ("zho", "zh"),
    ("fas", "fa"),
    ("fil", "tl"),
    ("iw", "he"),
    ("in", "id"),
];

/// The language stored under `code`.
pub fn by_code(code: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.code == code)
}

/// The stored code for an ISO 639-3 code the detector gives.
pub fn from_iso639_3(code: &str) -> Option<&'static str> {
    KNOWN.iter().find(|k| k.iso639_3 == code).map(|k| k.code)
}

/// A language code as a person wrote it (any case, two or three letters, an alias such as
/// `nb`, or a tag with its region, `pt-BR`) → the code Switchboard stores. A language's name
/// (`"english"`) is refused with its code; anything else unknown, with the list of codes.
pub fn parse(text: &str) -> Result<&'static str, ParseError> {
    let lower = text.trim().to_ascii_lowercase();
    // A region or script is not told apart: `pt-BR` and `pt_PT` are both `pt`. Each part of
    // such a tag is 1 to 8 letters or digits (BCP 47), so `en-` or `en-!!` is no code.
    let mut parts = lower.split(['-', '_']);
    let lower = parts.next().unwrap_or_default();
    let tag =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !tag {
        return Err(unknown(text));
    }
    if let Some(k) = KNOWN
        .iter()
        .find(|k| k.code == lower || k.iso639_3 == lower)
    {
        return Ok(k.code);
    }
    if let Some((_, code)) = ALIASES.iter().find(|(alias, _)| *alias == lower) {
        return Ok(code);
    }
    if let Some(k) = KNOWN
        .iter()
        .find(|k| k.name.eq_ignore_ascii_case(text.trim()))
    {
        return Err(ParseError(format!(
            "{text:?} is a language's name: write its code, \"{}\" ({})",
            k.code, k.name
        )));
    }
    Err(unknown(text))
}

/// Whether two stored codes name the same language (`nb`, stored before codes were checked,
/// is `no`); a code outside the list equals only itself.
pub fn same(a: &str, b: &str) -> bool {
    match (parse(a), parse(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

fn unknown(text: &str) -> ParseError {
    let codes: Vec<&str> = KNOWN.iter().map(|k| k.code).collect();
    ParseError(format!(
        "{text:?} is not a language Switchboard detects; use one of {}",
        codes.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_any_form_become_the_stored_code() {
        for (written, stored) in [
            ("en", "en"),
            (" EN ", "en"),
            ("eng", "en"),
            ("nb", "no"),
            ("NOB", "no"),
            ("cmn", "zh"),
            ("zho", "zh"),
            ("fil", "tl"),
            ("pt-BR", "pt"),
            ("zh_Hant", "zh"),
        ] {
            assert_eq!(parse(written), Ok(stored), "{written}");
        }
    }

    #[test]
    fn stored_codes_compare_by_language() {
        assert!(same("nb", "no") && same("EN", "en") && same("zz", "ZZ"));
        assert!(!same("en", "es") && !same("zz", "en"));
    }

    #[test]
    fn a_name_is_refused_with_its_code() {
        let e = parse("English").unwrap_err().0;
        assert!(e.contains("\"en\" (English)"), "{e}");
    }

    #[test]
    fn an_unknown_code_is_refused_with_the_list() {
        for bad in [
            "zz",
            "",
            "e",
            "klingon",
            "-en",
            "xx-US",
            "en-",
            "en-!!",
            "es_🙂",
            "en-toolongsubtag",
        ] {
            let e = parse(bad).unwrap_err().0;
            assert!(e.contains("use one of af, am, ar, be, bg"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_list_is_sorted_and_has_no_repeats() {
        assert!(KNOWN.windows(2).all(|w| w[0].code < w[1].code));
        for k in KNOWN {
            assert_eq!(k.code.len(), 2, "{}", k.code);
            assert_eq!(k.iso639_3.len(), 3, "{}", k.iso639_3);
            assert_eq!(KNOWN.iter().filter(|o| o.iso639_3 == k.iso639_3).count(), 1);
        }
        for (alias, code) in ALIASES {
            assert!(by_code(code).is_some(), "{alias} → {code}");
            assert!(
                by_code(alias).is_none() && from_iso639_3(alias).is_none(),
                "{alias}"
            );
        }
    }
}
