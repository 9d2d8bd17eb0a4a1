//! Guards on text rules: tests that tell a boilerplate line from a
//! sentence of prose that uses the same words.
//!
//! A rule's pattern says what the boilerplate line looks like ("Sign up for
//! … newsletter", "Image Credit: …"); a guard says what article prose
//! looks like, and vetoes the match. Articles quote boilerplate all the
//! time ("Subscribe to our newsletter, pleads the footer of every site,
//! and …"), and a rule that sees the words cannot tell on its own.
//!
//! Which guards a rule takes is part of the rule's data ([`TextGuard`] in
//! `rules.rs`); each test is a plain function, tested here.

/// The guards a rule takes, as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TextGuard(u8);

impl TextGuard {
    pub(crate) const NONE: TextGuard = TextGuard(0);
    /// Veto a paragraph that reports speech or writing ("…, said agent
    /// Carys Pugh", "…, explique le rapport", "heißt es"): a call to
    /// action or a notice never reports what someone said.
    pub(crate) const SPEECH: TextGuard = TextGuard(1 << 0);
    /// Veto a paragraph of more than one sentence: a credit line is one
    /// ("Image Credit: NASA. The rover landed …" is a paragraph that starts
    /// with a credit).
    pub(crate) const ONE_SENTENCE: TextGuard = TextGuard(1 << 1);
    /// Veto a credit whose words are not names: "(Additional) reporting by
    /// Jane Doe in Lagos" names people and places; "Additional reporting by
    /// local journalists helped the team …" is a sentence.
    pub(crate) const NAMES: TextGuard = TextGuard(1 << 2);

    pub(crate) const fn union(self, other: TextGuard) -> TextGuard {
        TextGuard(self.0 | other.0)
    }

    fn has(self, other: TextGuard) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether these guards veto a match on `p` (normalised, one line).
    pub(crate) fn vetoes(self, p: &str) -> bool {
        (self.has(TextGuard::SPEECH) && reports_speech(p))
            || (self.has(TextGuard::ONE_SENTENCE) && !one_sentence(p))
            || (self.has(TextGuard::NAMES) && !names_only(p))
    }
}

/// Whether a paragraph reports speech or writing the way article prose
/// does: "said", "according to", "…, the notice says", and their kin in
/// French, Spanish, German, Portuguese and Italian.
pub(crate) fn reports_speech(p: &str) -> bool {
    // Matched anywhere in the lowercased paragraph.
    const ANYWHERE: [&str; 48] = [
        " said",
        " says",
        " told",
        "according to",
        " reported",
        " announced",
        " a déclaré",
        " a dit",
        " a indiqué",
        "selon ",
        " dijo",
        " afirmó",
        " declaró",
        "según ",
        " informó",
        " sagte",
        " sagt ",
        " erklärte",
        "laut ",
        " disse",
        " afirmou",
        " declarou",
        "segundo ",
        " ha detto",
        " ha dichiarato",
        "secondo ",
        " ha spiegato",
        " told reporters",
        "heißt es",
        "si legge",
        " explique",
        " rappelle",
        " souligne",
        " constate",
        " insisten",
        " explica ",
        " explica,",
        " señala",
        " advierte",
        " schreibt",
        " betont",
        " warb ",
        " spiega",
        " sottolinea",
        " scrive",
        " sublinha",
        " escreve",
        " refere",
    ];
    // Verbs of saying or urging anywhere in a later clause: "…, the
    // presenters say at the end of each bulletin", "…, proposent désormais
    // tous les quotidiens", "…, scrivono molti club".
    const IN_CLAUSE: [&str; 64] = [
        "say",
        "says",
        "said",
        "tell",
        "tells",
        "advises",
        "advise",
        "advised",
        "notes",
        "noted",
        "writes",
        "write",
        "wrote",
        "explains",
        "explained",
        "asks",
        "asked",
        "warns",
        "warned",
        "insists",
        "insisted",
        "argues",
        "urges",
        "urged",
        "recommends",
        "dit",
        "disent",
        "écrit",
        "écrivent",
        "précise",
        "estime",
        "demande",
        "demandent",
        "insiste",
        "proposent",
        "propose",
        "conseille",
        "dice",
        "dicen",
        "pide",
        "piden",
        "escribe",
        "escriben",
        "asegura",
        "proponen",
        "rät",
        "raten",
        "fordert",
        "erklärt",
        "sagen",
        "schreiben",
        "diz",
        "dizem",
        "pede",
        "pedem",
        "explica",
        "escrevem",
        "afferma",
        "chiede",
        "chiedono",
        "avverte",
        "dicono",
        "scrivono",
        "propongono",
    ];
    let lower = p.to_lowercase();
    if ANYWHERE.iter().any(|v| lower.contains(v)) {
        return true;
    }
    for clause in lower.split([',', ';', '.']).skip(1) {
        if clause.split_whitespace().any(|w| IN_CLAUSE.contains(&w.trim_matches(|c: char| !c.is_alphanumeric()))) {
            return true;
        }
    }
    false
}

/// Whether `p` is at most one sentence: no sentence end followed by a
/// capitalised word and another word ("… NASA. The rover has …").
/// Initials ("J. R. Smith / AP", "Ing. C. Olivetti") are single letters.
pub(crate) fn one_sentence(p: &str) -> bool {
    let words: Vec<&str> = p.split(' ').collect();
    for w in words.windows(3) {
        let letters = |w: &str| w.chars().filter(|c| c.is_alphabetic()).count();
        let ends = w[0].ends_with(['.', '!', '?', '…']) && letters(w[0]) > 1;
        let capital = w[1].chars().next().is_some_and(char::is_uppercase) && letters(w[1]) > 1;
        let word = letters(w[2]) > 1;
        if ends && capital && word {
            return false;
        }
    }
    true
}

/// Whether the words of a credit line are names: at most two lowercase
/// words besides the credit's own vocabulary ("additional reporting by",
/// "in", "and", "de", "von", …).
pub(crate) fn names_only(p: &str) -> bool {
    const CREDIT_WORDS: [&str; 85] = [
        "additional",
        "reporting",
        "reported",
        "writing",
        "written",
        "editing",
        "edited",
        "research",
        "with",
        "files",
        "by",
        "from",
        "and",
        "in",
        "at",
        "of",
        "the",
        "for",
        "to",
        "this",
        "report",
        "contributed",
        "de",
        "da",
        "do",
        "dos",
        "das",
        "del",
        "la",
        "le",
        "les",
        "el",
        "los",
        "y",
        "e",
        "et",
        "und",
        "von",
        "van",
        "der",
        "di",
        "al",
        "avec",
        "con",
        "mit",
        "com",
        "información",
        "informaciones",
        "informações",
        "material",
        "agences",
        "agencias",
        "agências",
        "agenzie",
        "agenturen",
        "fonti",
        "d’agenzia",
        "d'agenzia",
        // Contributor lines: "… contributed to this report", "…
        // colaboró con esta información", "… colaborou com esta reportagem".
        "contributed",
        "story",
        "article",
        "colaboró",
        "colaboraron",
        "colaborou",
        "colaboraram",
        "esta",
        "este",
        "nota",
        "artículo",
        "reportaje",
        "reportagem",
        "artigo",
        "texto",
        "cet",
        "ce",
        "reportage",
        "collaboré",
        "ont",
        "a",
        "ha",
        "hanno",
        "collaborato",
        "staff",
        "writer",
        "correspondent",
    ];
    let mut unknown = 0;
    for word in p.split(' ') {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '’' && c != '\'');
        let Some(first) = w.chars().next() else { continue };
        if first.is_lowercase() && !CREDIT_WORDS.contains(&w.to_lowercase().as_str()) {
            unknown += 1;
        }
    }
    unknown <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_prose_is_speech() {
        for p in [
            "We earn a commission only when a house sells, said agent Carys Pugh.",
            "Get the newsletter habit early, a study of 40 local publishers advises, because readers stay.",
            "Abonnez-vous à notre newsletter : la formule reste le premier moyen, explique le rapport.",
            "Suscríbete a nuestro boletín, insisten los correos de bienvenida.",
            "Der Artikel erschien ursprünglich nur für Abonnenten, heißt es in vielen Suchergebnissen.",
            "Assine a nossa newsletter, pede o rodapé de quase todos os sites.",
            "Iscriviti alla newsletter, si legge in fondo a quasi tutti gli articoli.",
            "Follow the council on Facebook, residents were told at Tuesday’s meeting.",
        ] {
            assert!(reports_speech(p), "{p}");
        }
        for p in [
            "Sign up for our newsletter to get the news in your inbox every morning.",
            "Abonnez-vous à notre infolettre pour ne rien manquer.",
            "This article was originally published by The Conversation. Read the original article.",
            "Folgen Sie uns auf Facebook, Instagram und X.",
            "Iscriviti alla newsletter e ricevi ogni mattina le notizie.",
        ] {
            assert!(!reports_speech(p), "{p}");
        }
    }

    #[test]
    fn a_credit_is_one_sentence() {
        for p in ["Photo: J. R. Smith / AP", "Image: NASA/JPL-Caltech.", "Foto: Ing. C. Olivetti & C., S.p.A."] {
            assert!(one_sentence(p), "{p}");
        }
        assert!(!one_sentence("Image Credit: NASA/JPL-Caltech. The Perseverance rover has collected its sample."));
    }

    #[test]
    fn credits_name_people_and_places() {
        for p in [
            "Additional reporting by Tran Thi Mai in Buon Ma Thuot.",
            "With files from The Canadian Press",
            "Reporting by Ama Mensah; Editing by Peter Lindqvist",
            "Con información de EFE y Europa Press",
        ] {
            assert!(names_only(p), "{p}");
        }
        for p in [
            "Additional reporting by local journalists in Lagos and Accra helped the team reach the pharmacists.",
            "With reporting from three continents, the documentary traces how a single shipment moved.",
        ] {
            assert!(!names_only(p), "{p}");
        }
    }
}
