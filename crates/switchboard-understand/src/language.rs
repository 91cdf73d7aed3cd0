//! Which language a message is in, by character trigram profiles (the `whatlang` crate, which
//! embeds its profiles: nothing is downloaded). Codes are ISO 639-1 where one exists (`en`,
//! `es`), else ISO 639-3.

use serde::Serialize;

/// A detected language.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Language {
    pub code: &'static str,
    /// 0..=1, as the detector reports it.
    pub confidence: f32,
}

/// The language of `text`: the detector's best guess and its confidence (low for a few
/// words, where similar languages are hard to tell apart), or `None` when there are fewer
/// than 3 letters.
pub fn detect(text: &str) -> Option<Language> {
    if text.chars().filter(|c| c.is_alphabetic()).count() < 3 {
        return None;
    }
    let info = whatlang::detect(text)?;
    Some(Language {
        code: iso639_1(info.lang().code()),
        confidence: info.confidence() as f32,
    })
}

/// ISO 639-3 to 639-1 for the languages that have a two-letter code.
fn iso639_1(code: &'static str) -> &'static str {
    const TABLE: &[(&str, &str)] = &[
        ("afr", "af"),
        ("aka", "ak"),
        ("amh", "am"),
        ("ara", "ar"),
        ("aze", "az"),
        ("bel", "be"),
        ("ben", "bn"),
        ("bul", "bg"),
        ("cat", "ca"),
        ("ces", "cs"),
        ("cmn", "zh"),
        ("dan", "da"),
        ("deu", "de"),
        ("ell", "el"),
        ("eng", "en"),
        ("epo", "eo"),
        ("est", "et"),
        ("fin", "fi"),
        ("fra", "fr"),
        ("guj", "gu"),
        ("heb", "he"),
        ("hin", "hi"),
        ("hrv", "hr"),
        ("hun", "hu"),
        ("hye", "hy"),
        ("ind", "id"),
        ("ita", "it"),
        ("jav", "jv"),
        ("jpn", "ja"),
        ("kan", "kn"),
        ("kat", "ka"),
        ("khm", "km"),
        ("kor", "ko"),
        ("lat", "la"),
        ("lav", "lv"),
        ("lit", "lt"),
        ("mal", "ml"),
        ("mar", "mr"),
        ("mkd", "mk"),
        ("mya", "my"),
        ("nep", "ne"),
        ("nld", "nl"),
        ("nob", "nb"),
        ("ori", "or"),
        ("pan", "pa"),
        ("pes", "fa"),
        ("pol", "pl"),
        ("por", "pt"),
        ("ron", "ro"),
        ("rus", "ru"),
        ("sin", "si"),
        ("slk", "sk"),
        ("slv", "sl"),
        ("sna", "sn"),
        ("spa", "es"),
        ("srp", "sr"),
        ("swe", "sv"),
        ("tam", "ta"),
        ("tel", "te"),
        ("tgl", "tl"),
        ("tha", "th"),
        ("tuk", "tk"),
        ("tur", "tr"),
        ("ukr", "uk"),
        ("urd", "ur"),
        ("uzb", "uz"),
        ("vie", "vi"),
        ("yid", "yi"),
        ("zul", "zu"),
    ];
    TABLE
        .iter()
        .find(|(three, _)| *three == code)
        .map_or(code, |(_, two)| two)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_languages() {
        let cases = [
            (
                "My card was charged twice for the same order, please help",
                "en",
            ),
            (
                "Mi tarjeta fue cobrada dos veces por el mismo pedido, ayuda por favor",
                "es",
            ),
            (
                "Ma carte a été débitée deux fois pour la même commande, aidez-moi",
                "fr",
            ),
            (
                "Meine Karte wurde für dieselbe Bestellung zweimal belastet, bitte helfen Sie",
                "de",
            ),
            (
                "O meu cartão foi cobrado duas vezes pela mesma encomenda, ajudem por favor",
                "pt",
            ),
            ("Моя карта была списана дважды за один и тот же заказ", "ru"),
        ];
        for (text, want) in cases {
            assert_eq!(detect(text).map(|l| l.code), Some(want), "{text}");
        }
    }

    #[test]
    fn too_little_text_is_none() {
        assert_eq!(detect("👍"), None);
        assert_eq!(detect("ok"), None);
        assert_eq!(detect("12345"), None);
    }
}
