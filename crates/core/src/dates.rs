//! Lenient dates: whatever a feed wrote in a date element, read as a UTC time.
//!
//! Feeds write RFC 822 (RSS), RFC 3339 (Atom, JSON Feed), and a long tail of
//! neither: ISO without seconds or time zone, `2020/1/10 14:33:00`, RFC 822
//! without the comma or with single-digit fields, AM/PM clocks, unknown zone
//! names, month and day names in the feed's own language. Rather than a list
//! of formats, the text is split into tokens (numbers, a clock, an offset,
//! words) and read by what each token can be. A missing or unknown zone is
//! UTC. A date that cannot be read is `None`: never a guess at "now".

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

/// Month names and abbreviations: en, fr, de, es, it, pt, nl. Lowercase,
/// accents kept (a word is lowercased before lookup).
const MONTHS: [&[&str]; 12] = [
    &[
        "january", "jan", "janvier", "janv", "januar", "jänner", "jän", "enero", "ene", "gennaio", "gen", "janeiro",
        "januari",
    ],
    &[
        "february",
        "feb",
        "février",
        "fevrier",
        "févr",
        "fév",
        "fevr",
        "februar",
        "febrero",
        "febbraio",
        "fevereiro",
        "fev",
        "februari",
    ],
    &["march", "mar", "mars", "märz", "maerz", "mär", "mrz", "marzo", "março", "marco", "maart", "mrt"],
    &["april", "apr", "avril", "avr", "abril", "abr", "aprile"],
    &["may", "mai", "mayo", "maggio", "mag", "maio", "mei"],
    &["june", "jun", "juin", "juni", "junio", "giugno", "giu", "junho"],
    &["july", "jul", "juillet", "juil", "juli", "julio", "luglio", "lug", "julho"],
    &["august", "aug", "août", "aout", "agosto", "ago", "augustus"],
    &["september", "sep", "sept", "septembre", "septiembre", "setiembre", "set", "settembre", "setembro"],
    &["october", "oct", "octobre", "oktober", "okt", "octubre", "ottobre", "ott", "outubro", "out"],
    &["november", "nov", "novembre", "noviembre", "novembro"],
    &["december", "dec", "décembre", "decembre", "déc", "dezember", "dez", "diciembre", "dic", "dicembre", "dezembro"],
];

/// Zone abbreviations with their offset in minutes east of UTC.
const ZONES: &[(&str, i32)] = &[
    ("gmt", 0),
    ("ut", 0),
    ("utc", 0),
    ("z", 0),
    ("wet", 0),
    ("est", -300),
    ("edt", -240),
    ("cst", -360),
    ("cdt", -300),
    ("mst", -420),
    ("mdt", -360),
    ("pst", -480),
    ("pdt", -420),
    ("akst", -540),
    ("akdt", -480),
    ("hst", -600),
    ("ast", -240),
    ("adt", -180),
    ("bst", 60),
    ("cet", 60),
    ("cest", 120),
    ("met", 60),
    ("mest", 120),
    ("mez", 60),
    ("mesz", 120),
    ("west", 60),
    ("eet", 120),
    ("eest", 180),
    ("msk", 180),
    ("ist", 330),
    ("sgt", 480),
    ("hkt", 480),
    ("jst", 540),
    ("kst", 540),
    ("aest", 600),
    ("aedt", 660),
    ("nzst", 720),
    ("nzdt", 780),
];

#[derive(Debug)]
enum Token {
    /// A run of digits, with its length (leading zeros count).
    Number(u32, usize),
    /// `h:mm[:ss[.frac]]`.
    Clock(u32, u32, u32),
    /// A numeric offset in minutes east of UTC.
    Offset(i32),
    /// A word, lowercased, without trailing dots.
    Word(String),
    /// A date separator between numbers: `-`, `/` or `.`.
    Sep(char),
}

/// Reads a date as a feed wrote it; `None` when it is not a date.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 200 {
        return None;
    }
    let tokens = tokenize(text)?;
    interpret(&tokens)
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let seen_clock = |tokens: &Vec<Token>| tokens.iter().any(|t| matches!(t, Token::Clock(..)));
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let (n, len, next) = digits(&chars, i);
            i = next;
            if i + 1 < chars.len() && chars[i] == ':' && chars[i + 1].is_ascii_digit() {
                let (m, _, next) = digits(&chars, i + 1);
                i = next;
                let mut s = 0;
                if i + 1 < chars.len() && chars[i] == ':' && chars[i + 1].is_ascii_digit() {
                    let (sec, _, next) = digits(&chars, i + 1);
                    s = sec;
                    i = next;
                    if i + 1 < chars.len() && matches!(chars[i], '.' | ',') && chars[i + 1].is_ascii_digit() {
                        i = digits(&chars, i + 1).2;
                    }
                }
                tokens.push(Token::Clock(n, m, s));
            } else if len == 8 && tokens.is_empty() && i < chars.len() && chars[i] == 'T' {
                // Compact ISO: 20200110T143300Z.
                tokens.push(Token::Number(n / 10000, 4));
                tokens.push(Token::Sep('-'));
                tokens.push(Token::Number(n / 100 % 100, 2));
                tokens.push(Token::Sep('-'));
                tokens.push(Token::Number(n % 100, 2));
                i += 1;
                let (t, tlen, next) = digits(&chars, i);
                if tlen == 6 || tlen == 4 {
                    let t = if tlen == 4 { t * 100 } else { t };
                    tokens.push(Token::Clock(t / 10000, t / 100 % 100, t % 100));
                    i = next;
                }
            } else {
                tokens.push(Token::Number(n, len));
            }
            continue;
        }
        if (c == '+' || c == '-' || c == '\u{2212}')
            && i + 1 < chars.len()
            && chars[i + 1].is_ascii_digit()
            && seen_clock(&tokens)
        {
            let sign = if c == '+' { 1 } else { -1 };
            let (n, len, next) = digits(&chars, i + 1);
            i = next;
            let minutes = if len == 4 {
                (n / 100 * 60 + n % 100) as i32
            } else if len <= 2 && i + 1 < chars.len() && chars[i] == ':' && chars[i + 1].is_ascii_digit() {
                let (m, _, next) = digits(&chars, i + 1);
                i = next;
                (n * 60 + m) as i32
            } else if len <= 2 {
                (n * 60) as i32
            } else {
                0
            };
            if minutes <= 14 * 60 {
                tokens.push(Token::Offset(sign * minutes));
            }
            continue;
        }
        if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '.') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().to_lowercase().replace('.', "");
            // `T` between a date and a clock, as in ISO 8601.
            if word != "t" && !word.is_empty() {
                tokens.push(Token::Word(word));
            }
            continue;
        }
        if matches!(c, '-' | '/' | '.') {
            tokens.push(Token::Sep(c));
        }
        i += 1;
    }
    Some(tokens)
}

fn digits(chars: &[char], start: usize) -> (u32, usize, usize) {
    let mut n: u32 = 0;
    let mut i = start;
    while i < chars.len() && chars[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add(chars[i].to_digit(10).unwrap_or(0));
        i += 1;
    }
    (n, i - start, i)
}

fn month_of(word: &str) -> Option<u32> {
    for (i, names) in MONTHS.iter().enumerate() {
        if names.contains(&word) {
            return Some(i as u32 + 1);
        }
    }
    // A longer abbreviation ("sept", "janv", "juil", "Okt") that starts the full name of
    // exactly one month.
    if word.chars().count() < 3 {
        return None;
    }
    let mut found = None;
    for (i, names) in MONTHS.iter().enumerate() {
        if names.iter().any(|n| n.chars().count() > 3 && n.starts_with(word)) {
            if found.is_some_and(|f| f != i as u32 + 1) {
                return None;
            }
            found = Some(i as u32 + 1);
        }
    }
    found
}

fn interpret(tokens: &[Token]) -> Option<DateTime<Utc>> {
    let mut numbers: Vec<(u32, usize)> = Vec::new();
    let mut seps: Vec<char> = Vec::new();
    let mut month_word = None;
    let mut clock = None;
    let mut offset = None;
    let mut pm = None;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Number(n, len) => {
                // A number after the clock is a year (asctime: "Tue Jan 10 14:33:00 2020") or junk
                // such as a zone written as digits; keep it.
                numbers.push((*n, *len));
            }
            Token::Clock(h, m, s) => {
                if clock.is_none() {
                    clock = Some((*h, *m, *s));
                }
            }
            Token::Offset(o) => {
                if offset.is_none() {
                    offset = Some(*o);
                }
            }
            Token::Sep(c) => {
                if clock.is_none() && matches!(tokens.get(i + 1), Some(Token::Number(..))) {
                    seps.push(*c);
                }
            }
            Token::Word(w) => {
                if let Some(m) = month_of(w) {
                    // Day names can look like months ("mar." is Tuesday in French and Spanish);
                    // the last month word is the month.
                    month_word = Some(m);
                } else if matches!(w.as_str(), "am" | "pm") {
                    pm = Some(w == "pm");
                } else if offset.is_none()
                    && let Some((_, o)) = ZONES.iter().find(|(z, _)| *z == w)
                {
                    offset = Some(*o);
                }
            }
        }
    }
    let (year, month, day) = match month_word {
        Some(month) => {
            let mut year = None;
            let mut day = None;
            for &(n, len) in &numbers {
                if len >= 3 || n > 31 {
                    if year.is_none() {
                        year = Some(n);
                    }
                } else if day.is_none() {
                    day = Some(n);
                } else if year.is_none() {
                    year = Some(two_digit_year(n));
                }
            }
            (year?, month, day?)
        }
        None => {
            let [a, b, c] = [numbers.first()?, numbers.get(1)?, numbers.get(2)?];
            if a.1 == 4 {
                (a.0, b.0, c.0)
            } else if c.1 == 4 || c.1 == 2 {
                let y = if c.1 == 2 { two_digit_year(c.0) } else { c.0 };
                // Day first unless that cannot be, or the separator is the US slash and the
                // second number cannot be a month.
                if a.0 > 12 || (seps.first() != Some(&'/') && b.0 <= 12) { (y, b.0, a.0) } else { (y, a.0, b.0) }
            } else {
                return None;
            }
        }
    };
    if !(1000..=9999).contains(&year) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let (mut h, m, s) = clock.unwrap_or((0, 0, 0));
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let (date, h) = if h == 24 && m == 0 && s == 0 { (date.succ_opt()?, 0) } else { (date, h) };
    let time = NaiveTime::from_hms_opt(h, m, s.min(59))?;
    let local = date.and_time(time);
    let utc = Utc.from_utc_datetime(&local) - Duration::minutes(i64::from(offset.unwrap_or(0)));
    Some(utc)
}

fn two_digit_year(n: u32) -> u32 {
    match n {
        0..=69 => 2000 + n,
        70..=99 => 1900 + n,
        _ => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<String> {
        parse_date(s).map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    }

    #[test]
    fn reads_the_standard_formats() {
        assert_eq!(at("Tue, 14 Sep 2021 10:00:00 GMT").as_deref(), Some("2021-09-14T10:00:00Z"));
        assert_eq!(at("Tue, 14 Sep 2021 10:00:00 +0200").as_deref(), Some("2021-09-14T08:00:00Z"));
        assert_eq!(at("2021-09-14T10:00:00Z").as_deref(), Some("2021-09-14T10:00:00Z"));
        assert_eq!(at("2021-09-14T10:00:00.123-05:00").as_deref(), Some("2021-09-14T15:00:00Z"));
        assert_eq!(at("Tue, 14 Sep 2021 10:00:00 EDT").as_deref(), Some("2021-09-14T14:00:00Z"));
    }

    #[test]
    fn reads_the_long_tail() {
        assert_eq!(at("2020-01-10T14:33Z").as_deref(), Some("2020-01-10T14:33:00Z"), "no seconds");
        assert_eq!(at("2020-01-10 14:33").as_deref(), Some("2020-01-10T14:33:00Z"), "no zone");
        assert_eq!(at("2020/1/10 14:33:00").as_deref(), Some("2020-01-10T14:33:00Z"));
        assert_eq!(at("2020-01-10").as_deref(), Some("2020-01-10T00:00:00Z"));
        assert_eq!(at("Fri 10 Jan 2020 14:33:00 GMT").as_deref(), Some("2020-01-10T14:33:00Z"), "no comma");
        assert_eq!(at("Fri, 3 Jan 2020 4:05:06 GMT").as_deref(), Some("2020-01-03T04:05:06Z"), "single digits");
        assert_eq!(at("January 10, 2020 2:33 PM").as_deref(), Some("2020-01-10T14:33:00Z"));
        assert_eq!(at("Jan 10, 2020 12:05 am").as_deref(), Some("2020-01-10T00:05:00Z"));
        assert_eq!(at("Fri, 10 Jan 2020 14:33:00 XYZ").as_deref(), Some("2020-01-10T14:33:00Z"), "bad zone");
        assert_eq!(at("Fri, 10 Jan 20 14:33:00 +0000").as_deref(), Some("2020-01-10T14:33:00Z"), "two-digit year");
        assert_eq!(at("Fri Jan 10 14:33:00 2020").as_deref(), Some("2020-01-10T14:33:00Z"), "asctime");
        assert_eq!(at("20200110T143300Z").as_deref(), Some("2020-01-10T14:33:00Z"));
        assert_eq!(at("10.01.2020 14:33").as_deref(), Some("2020-01-10T14:33:00Z"));
        assert_eq!(at("Tue, 14 Sep 2021 24:00:00 GMT").as_deref(), Some("2021-09-15T00:00:00Z"));
    }

    #[test]
    fn reads_localised_names() {
        assert_eq!(at("ven., 10 janv. 2020 14:33:00 +0100").as_deref(), Some("2020-01-10T13:33:00Z"));
        assert_eq!(at("mar., 14 sept. 2021 10:00:00").as_deref(), Some("2021-09-14T10:00:00Z"));
        assert_eq!(at("Di, 14 Okt 2021 10:00:00 MESZ").as_deref(), Some("2021-10-14T08:00:00Z"));
        assert_eq!(at("14 de diciembre de 2021 10:00").as_deref(), Some("2021-12-14T10:00:00Z"));
        assert_eq!(at("mar, 14 dic 2021 10:00:00 +0000").as_deref(), Some("2021-12-14T10:00:00Z"));
        assert_eq!(at("martedì 14 settembre 2021 10:00").as_deref(), Some("2021-09-14T10:00:00Z"));
        assert_eq!(at("ter, 14 set 2021 10:00:00 -0300").as_deref(), Some("2021-09-14T13:00:00Z"));
        assert_eq!(at("di 14 mei 2021 10:00").as_deref(), Some("2021-05-14T10:00:00Z"));
        assert_eq!(at("14 März 2021").as_deref(), Some("2021-03-14T00:00:00Z"));
        assert_eq!(at("jeudi 1 août 2019 08:00").as_deref(), Some("2019-08-01T08:00:00Z"));
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        assert_eq!(at(""), None);
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("2021-02-30"), None);
        assert_eq!(at("not 12 a date"), None);
    }
}
