//! Which language a message is in, as one of the ISO 639-1 codes of
//! [`switchboard_core::language::KNOWN`] (`en`, `es`).
//!
//! Only the text's words are read (its tokens, links, `@handles` and numbers aside). Fast path
//! first, because every inbound message goes through here:
//! 1. A script only one language writes (Greek, Hebrew, Thai, Hangul, kana, Georgian,
//!    Armenian) names the language.
//! 2. In Latin script, the function words the project lists below for 15 languages are
//!    counted; a clear winner (at least one whole word's weight, and more than any other) is
//!    the answer.
//! 3. Otherwise character trigram profiles decide (the `whatlang` crate, which embeds its
//!    profiles: nothing is downloaded), among the languages customers most often write in;
//!    a short text (under 40 letters) gets their answer only when they are sure of it, and a
//!    short one in plain ASCII is unknown without asking them (they are never sure there).

use crate::features::{Token, WordTable, keys_of};
use serde::Serialize;
use std::sync::LazyLock;
use whatlang::{Detector, Lang, Script};

/// A detected language.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Language {
    pub code: &'static str,
    /// 0..=1, as the detector reports it.
    pub confidence: f32,
}

/// Fewer letters than this, in Latin script, is a short text (see [`detect`]).
const SHORT: usize = 40;

/// The language of `text`: the detector's best guess and its confidence (low for a few
/// words, where similar languages are hard to tell apart), or `None` when its words (links,
/// `@handles` and numbers aside) have fewer than 3 letters, or a short Latin-script text
/// without a function word that the detector is unsure of.
pub fn detect(text: &str) -> Option<Language> {
    detect_tokens(&crate::features::tokens(text))
}

/// [`detect`] for a text already split into [`crate::features::tokens`]. Only the words are
/// read: a link or a handle is in no language, and their letters only mislead the trigram
/// profiles (`@Uber_Support https://t.co/Fc42zHkmDA` used to get a language).
pub fn detect_tokens(tokens: &[crate::features::Token]) -> Option<Language> {
    detect_keyed(tokens, &keys_of(tokens))
}

/// [`detect_tokens`] with each token's [`crate::features::word_key`] known.
pub(crate) fn detect_keyed(tokens: &[crate::features::Token], keys: &[u64]) -> Option<Language> {
    let words = || {
        tokens
            .iter()
            .filter(|t| *t != "url" && *t != "@user" && t.chars().any(char::is_alphabetic))
    };
    // Most messages are plain ASCII: their script is Latin and their letters are bytes, so
    // neither the script pass nor a copy of the words is needed before the function words.
    let (mut letters, mut ascii) = (0, true);
    for t in tokens {
        let plain = t.is_ascii();
        let n = if plain {
            t.bytes().filter(u8::is_ascii_alphabetic).count()
        } else {
            t.chars().filter(|c| c.is_alphabetic()).count()
        };
        if n > 0 && t != "url" && t != "@user" {
            letters += n;
            ascii &= plain;
        }
    }
    if letters < 3 {
        return None;
    }
    let join = || words().map(Token::as_str).collect::<Vec<_>>().join(" ");
    let joined = (!ascii).then(join);
    let script = match &joined {
        None => Some(Script::Latin),
        // Japanese mixes in Latin brand names ("amazonのfireTVstickが見れない"), which can
        // outnumber its kana; three kana are Japanese whatever else is there (one could be a
        // shrug's ツ).
        Some(text) if text.chars().filter(|&c| is_kana(c)).nth(2).is_some() => {
            Some(Script::Hiragana)
        }
        Some(text) => whatlang::detect_script(text),
    };
    if let Some(code) = script.and_then(only_language_of) {
        return Some(Language {
            code,
            confidence: 1.0,
        });
    }
    if script == Some(Script::Latin)
        && let Some(found) = by_function_words(tokens, keys)
    {
        return Some(found);
    }
    // A short Latin-script text with no function word ("refund pls", "lol", "good morning")
    // is where trigram profiles guess wrong (see the tests): unless the detector is sure,
    // unknown beats wrong there. Longer texts keep its best guess. In plain ASCII it is never
    // sure of one (none of the 120 such TWCS tweets; the languages it could tell apart there
    // have function words above), so those are not asked: a twentieth of the tweets, whose
    // trigram profiles cost a tenth of the whole understanding step.
    if script == Some(Script::Latin) && letters < SHORT && ascii {
        return None;
    }
    let text = joined.unwrap_or_else(join);
    let info = DETECTOR.detect(&text)?;
    if script == Some(Script::Latin) && letters < SHORT && !info.is_reliable() {
        return None;
    }
    Some(Language {
        code: iso639_1(info.lang().code()),
        confidence: info.confidence() as f32,
    })
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{309f}' | '\u{30a0}'..='\u{30ff}')
}

fn only_language_of(script: Script) -> Option<&'static str> {
    match script {
        Script::Greek => Some("el"),
        Script::Hebrew => Some("he"),
        Script::Thai => Some("th"),
        Script::Hangul => Some("ko"),
        Script::Hiragana | Script::Katakana => Some("ja"),
        Script::Georgian => Some("ka"),
        Script::Armenian => Some("hy"),
        _ => None,
    }
}

/// The trigram detector, limited to widely written languages (fewer profiles: faster, and
/// fewer look-alike rare languages chosen for short texts).
static DETECTOR: LazyLock<Detector> = LazyLock::new(|| Detector::with_allowlist(ALLOWED.to_vec()));

const ALLOWED: &[Lang] = &[
    Lang::Eng,
    Lang::Spa,
    Lang::Fra,
    Lang::Deu,
    Lang::Ita,
    Lang::Por,
    Lang::Nld,
    Lang::Swe,
    Lang::Dan,
    Lang::Nob,
    Lang::Fin,
    Lang::Pol,
    Lang::Ces,
    Lang::Slk,
    Lang::Ron,
    Lang::Hun,
    Lang::Tur,
    Lang::Ind,
    Lang::Vie,
    Lang::Tgl,
    Lang::Cat,
    Lang::Hrv,
    Lang::Srp,
    Lang::Slv,
    Lang::Rus,
    Lang::Ukr,
    Lang::Bul,
    Lang::Ell,
    Lang::Heb,
    Lang::Ara,
    Lang::Pes,
    Lang::Urd,
    Lang::Hin,
    Lang::Ben,
    Lang::Jpn,
    Lang::Kor,
    Lang::Cmn,
    Lang::Tha,
];

/// Frequent function words that mostly belong to one language (written by the project).
const FUNCTION_WORDS: &[(&str, &str)] = &[
    (
        "en",
        "the and is are was were you your my this that with have has for not but what when \
            where how can will would could should there their they it's i'm don't please thanks \
            do does did i me to of in on at it be an or if so why who which from about just \
            get got been am any our us hello hi thank yes doesn't didn't can't won't isn't \
            aren't wasn't haven't i've i'll you're that's what's there's let's dont cant \
            doesnt didnt wont isnt ive whats like all out up off now only very really again \
            than then because some more she his him \
            where's here these those itself myself you've we've they're we're you'll i'd",
    ),
    (
        "es",
        "el la los las es está están por para pero qué cómo cuándo dónde muy mi mis tu \
            usted gracias hola tengo tiene también nada porque sí del una \
            y lo con un que te se nos hemos estoy ya hay sus desde nuestro nuestra puedo \
            pueden eso esto me les había ahora este",
    ),
    (
        "fr",
        "le les est sont avec pour mais quoi comment quand où très mon ma mes votre vous \
            merci bonjour j'ai c'est n'est pas je nous une des du \
            et un que avons sommes cette notre nos peux suis",
    ),
    (
        "de",
        "der die das ist sind und mit für aber nicht wie wann wo sehr mein meine ihr ich \
            danke hallo habe hat auch kein eine ein den dem du \
            sie wir uns zu auf bei von dich dir bitte",
    ),
    (
        "it",
        "il lo gli sono con per ma che come quando dove molto mio mia vostro grazie ciao \
            ho ha anche non della una sei è \
            un di se abbiamo siamo questo questa nostro nostra posso qual",
    ),
    (
        "pt",
        "os está estão com para mas não como quando onde muito meu minha você obrigado \
            olá tenho tem também nada porque uma \
            que se te eu seu sua nosso nossa estou temos posso podem isso isto este \
            por pela pelo foi do da é qual gostaria gostaríamos ao aos obrigada",
    ),
    (
        "nl",
        "het een zijn met voor maar niet hoe wanneer waar zeer mijn jullie bedankt hallo \
            heb heeft ook geen ik wij dat",
    ),
    (
        "sv",
        "och är med för men inte hur när var mycket min mitt ni tack hej har också ingen \
            jag vi det",
    ),
    (
        "da",
        "og er med for men ikke hvordan hvornår hvor meget min mit tak hej har også ingen \
            jeg vi det",
    ),
    (
        "no",
        "og er med for men ikke hvordan når hvor veldig min mitt takk hei har også ingen \
            jeg vi det",
    ),
    (
        "fi",
        "ja on ei se että mutta miten milloin missä hyvin minun teidän kiitos hei olen \
            myös mitään minä me",
    ),
    (
        "pl",
        "i jest są z dla ale nie jak kiedy gdzie bardzo mój moja wasz dziękuję cześć mam \
            ma też nic ja my to",
    ),
    (
        "tr",
        "ve bir bu için ama değil nasıl ne zaman nerede çok benim sizin teşekkürler \
            merhaba var da yok ben biz",
    ),
    (
        "id",
        "dan yang ini itu untuk tetapi tidak bagaimana kapan di mana sangat saya anda \
            terima kasih halo ada juga",
    ),
    (
        // Often written without its diacritics, which trigram profiles then call Portuguese.
        "ro",
        "și sunt pentru multumesc mulțumesc mulţumesc buna bună ziua rog inca încă acest \
            aceasta acesta foarte să mă vă când unde cum mea nu este",
    ),
];

// One bit per language in a `u16`, and one vote counter each in `by_function_words`.
const _: () = assert!(FUNCTION_WORDS.len() <= 16);

/// Word → the languages (bit per [`FUNCTION_WORDS`] entry) that list it.
static WORDS: LazyLock<WordTable<u16>> = LazyLock::new(|| {
    let mut map: WordTable<u16> = WordTable::default();
    for (i, (_, words)) in FUNCTION_WORDS.iter().enumerate() {
        for w in words.split_whitespace() {
            // No two of these few hundred words share a hash (a test checks).
            if let Some(langs) = map.entry(w) {
                *langs |= 1 << i;
            }
        }
    }
    map
});

/// Counts function words per language, each word weighing 1 / the number of languages that
/// list it ("my" is English and Polish: half each). A language wins with at least one whole
/// word's weight, more than any other.
fn by_function_words(tokens: &[crate::features::Token], keys: &[u64]) -> Option<Language> {
    let mut hits = [0f32; 16];
    let mut total = 0f32;
    for (token, &key) in tokens.iter().zip(keys) {
        if let Some(&langs) = WORDS.get(key, token) {
            let share = 1.0 / langs.count_ones() as f32;
            total += 1.0;
            for (i, h) in hits.iter_mut().enumerate() {
                if langs & (1 << i) != 0 {
                    *h += share;
                }
            }
        }
    }
    let (mut first, mut second) = (0, 1);
    for i in 1..FUNCTION_WORDS.len() {
        if hits[i] > hits[first] {
            (first, second) = (i, first);
        } else if hits[i] > hits[second] {
            second = i;
        }
    }
    let (best, second) = (hits[first], hits[second]);
    if best >= 1.0 && best > second {
        Some(Language {
            code: FUNCTION_WORDS[first].0,
            confidence: (best - second) / total.max(1.0),
        })
    } else {
        None
    }
}

/// The code Switchboard stores for the detector's ISO 639-3 code (the allowlist holds only
/// languages [`switchboard_core::language::KNOWN`] lists; a test checks).
fn iso639_1(code: &'static str) -> &'static str {
    switchboard_core::language::from_iso639_3(code).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::language::by_code;

    /// Every code detection can give is one the playbook and the knowledge base accept, so a
    /// rule or an article can name it.
    #[test]
    fn every_code_detection_gives_is_a_known_language() {
        for lang in ALLOWED {
            let code = iso639_1(lang.code());
            assert!(by_code(code).is_some(), "{lang:?} → {code}");
        }
        for (code, _) in FUNCTION_WORDS {
            assert!(by_code(code).is_some(), "{code}");
        }
        for script in [
            Script::Greek,
            Script::Hebrew,
            Script::Thai,
            Script::Hangul,
            Script::Hiragana,
            Script::Georgian,
            Script::Armenian,
        ] {
            let code = only_language_of(script).unwrap();
            assert!(by_code(code).is_some(), "{script:?} → {code}");
        }
        assert_eq!(
            detect(
                "Hei, jeg har ikke fått pakken min ennå, og det er veldig dårlig service fra dere"
            )
            .map(|l| l.code),
            Some("no")
        );
    }

    /// Every function word has its own key: none was dropped for sharing a hash.
    #[test]
    fn every_function_word_is_in_the_table() {
        let mut words: Vec<&str> = FUNCTION_WORDS
            .iter()
            .flat_map(|(_, w)| w.split_whitespace())
            .collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(WORDS.len(), words.len());
        for w in words {
            assert!(WORDS.get(crate::features::word_key(w), w).is_some(), "{w}");
        }
    }

    #[test]
    fn common_languages() {
        // A short Spanish text with a word Portuguese shares is not called Portuguese.
        assert_ne!(detect("Me cobraron dos veces").map(|l| l.code), Some("pt"));
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
            // Short Portuguese questions, once read as Turkish ("da") or none ("do" is English
            // too).
            ("Qual é o horário de funcionamento da secretaria?", "pt"),
            ("Olá, gostaria de saber o preço do curso", "pt"),
            ("Qual é o horário?", "pt"),
            // Words Portuguese shares ("dos", "das") are not its votes.
            ("Das Paket kommt morgen?", "de"),
        ];
        for (text, want) in cases {
            assert_eq!(detect(text).map(|l| l.code), Some(want), "{text}");
        }
    }

    #[test]
    fn decomposed_accents_and_fullwidth_text_read_as_their_usual_spelling() {
        // `¿dónde está?` with combining accents: "está" is a Spanish function word only once
        // composed, and this short text has no other.
        let nfd = "Paquete: ¿do\u{301}nde esta\u{301}?";
        assert_eq!(detect("Paquete: ¿dónde está?").map(|l| l.code), Some("es"));
        assert_eq!(detect(nfd).map(|l| l.code), Some("es"), "{nfd}");
        let fullwidth = "ｗｈｅｒｅ ｉｓ ｍｙ ｐａｒｃｅｌ？";
        assert_eq!(detect(fullwidth).map(|l| l.code), Some("en"), "{fullwidth}");
    }

    #[test]
    fn short_social_texts() {
        let cases = [
            ("where is my parcel? it was due yesterday", "en"),
            ("thanks, that fixed it", "en"),
            ("How do I reset my password?", "en"),
            ("hello", "en"),
            ("¿dónde está mi pedido? gracias", "es"),
            ("merci pour votre aide, c'est parfait", "fr"),
            ("wo ist meine Bestellung, danke", "de"),
            (
                "Buna ziua, comanda mea nu a ajuns inca, va rog sa ma ajutati",
                "ro",
            ),
            ("Καλημέρα, πού είναι η παραγγελία μου;", "el"),
            ("주문이 아직 안 왔어요", "ko"),
            ("注文がまだ届いていません", "ja"),
            ("amazonのfireTVstickが見れない😢", "ja"),
            ("MY HOME BUTTON DOESN’T WORK #IOS11 @AppleSupport", "en"),
            ("whats wrong w/ amazon leavin stuff outside like ups", "en"),
            ("¯\\_(ツ)_/¯ the app is down again", "en"),
            // Short, without listed function words, but with letters plain ASCII does not
            // have: the trigram profiles are asked, and sure.
            ("köszönöm szépen", "hu"),
            ("cảm ơn bạn", "vi"),
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
        // Links and handles are in no language, however many letters they have.
        assert_eq!(detect("@Uber_Support  https://t.co/Fc42zHkmDA"), None);
        assert_eq!(detect("@116116 @Tesco https://t.co/OOFePDl9eC #42"), None);
        assert_eq!(
            detect("@AskPlayStation Creí que lo había hecho. Ahora les vuelvo a escribir")
                .map(|l| l.code),
            Some("es")
        );
    }

    #[test]
    fn a_short_text_without_function_words_is_unknown_rather_than_a_guess() {
        // Trigram profiles alone called "help again" (before "again" was listed), "lol" and
        // "good morning" Turkish, Spanish and Swedish.
        for text in ["refund pls", "lol", "good morning"] {
            assert_eq!(detect(text), None, "{text}");
        }
        // Customers' tweets to support accounts that the profiles called Danish, French and
        // Spanish when "short" ended at 20 letters, not 40.
        for text in [
            "@116191 Well played, my friend. -Becky",
            "@VerizonSupport Same problem on both boxes",
            "@British_Airways I already replied via DIRECT MESSAGE",
        ] {
            assert_eq!(detect(text), None, "{text}");
        }
        assert_eq!(
            detect("@Tesco You've lost me as a customer").map(|l| l.code),
            Some("en")
        );
        // A function word decides a short text; a longer one keeps the detector's guess.
        assert_eq!(detect("thanks").map(|l| l.code), Some("en"));
        assert_eq!(detect("merci beaucoup").map(|l| l.code), Some("fr"));
        assert_eq!(
            detect("Köszönöm szépen a segítséget, a rendelésem megérkezett").map(|l| l.code),
            Some("hu")
        );
    }
}
