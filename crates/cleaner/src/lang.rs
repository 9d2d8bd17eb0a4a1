//! Language detection of a clean body, as a BCP 47 code.

/// Characters of the body the detector reads.
const SAMPLE_CHARS: usize = 400;

/// The BCP 47 code of the body's language, when the detector is confident.
/// Short texts (under 20 words) return `None`: a guess is worse than null.
pub fn detect_language(text: &str) -> Option<String> {
    if text.split_whitespace().take(20).count() < 20 {
        return None;
    }
    // The detector's cost grows with the text; the first sixty-odd words
    // (the lede) decide the language as well as the whole article does, and
    // detection was half of all record building when it read 4,000
    // characters (docs/performance.md).
    let sample = match text.char_indices().nth(SAMPLE_CHARS) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let info = whatlang::detect(sample)?;
    if !info.is_reliable() {
        return None;
    }
    Some(bcp47(info.lang()).to_string())
}

/// ISO 639-1 where it exists (BCP 47 prefers the shortest code), else the
/// ISO 639-3 code whatlang gives.
fn bcp47(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang::*;
    match lang {
        Eng => "en",
        Fra => "fr",
        Spa => "es",
        Deu => "de",
        Por => "pt",
        Ita => "it",
        Rus => "ru",
        Ukr => "uk",
        Pol => "pl",
        Nld => "nl",
        Swe => "sv",
        Dan => "da",
        Nob => "nb",
        Fin => "fi",
        Tur => "tr",
        Ara => "ar",
        Heb => "he",
        Hin => "hi",
        Jpn => "ja",
        Kor => "ko",
        Cmn => "zh",
        Ell => "el",
        Ces => "cs",
        Slk => "sk",
        Hun => "hu",
        Ron => "ro",
        Bul => "bg",
        Hrv => "hr",
        Srp => "sr",
        Slv => "sl",
        Lit => "lt",
        Lav => "lv",
        Est => "et",
        Ind => "id",
        Vie => "vi",
        Tha => "th",
        Ben => "bn",
        Urd => "ur",
        Pes => "fa",
        Tam => "ta",
        Tel => "te",
        Mar => "mr",
        Guj => "gu",
        Kan => "kn",
        Mal => "ml",
        Pan => "pa",
        Epo => "eo",
        Cat => "ca",
        Bel => "be",
        Aze => "az",
        Kat => "ka",
        Hye => "hy",
        Afr => "af",
        Zul => "zu",
        Tgl => "tl",
        Jav => "jv",
        Amh => "am",
        Nep => "ne",
        Sin => "si",
        Khm => "km",
        Mya => "my",
        Yid => "yi",
        Lat => "la",
        Uzb => "uz",
        Aka => "ak",
        Sna => "sn",
        Ori => "or",
        Tuk => "tk",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_common_languages_and_refuses_short_text() {
        let en = "The council voted on Tuesday to extend the programme for another year, after officials said the results had been better than expected across the region.";
        assert_eq!(detect_language(en).as_deref(), Some("en"));
        let fr = "Le conseil municipal a voté mardi la prolongation du programme pour une année supplémentaire, après que les responsables ont déclaré que les résultats étaient meilleurs que prévu dans toute la région.";
        assert_eq!(detect_language(fr).as_deref(), Some("fr"));
        assert_eq!(detect_language("Too short."), None);
    }
}
