//! The dataset: labelled blocks from the extraction corpus's pages and the
//! boilerplate cases, each with its site, set and language.
//!
//! A page's blocks are the paragraphs the cleaner's HTML walk makes of it
//! ([`newswire_cleaner::classifier::blocks`]); a block whose text is in the
//! page's gold is content, one whose text is not is furniture, and one
//! that is half in is left out (the gold and the walk cut text in
//! different places). A case's blocks are its input paragraphs; those in
//! its expected output are content.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use markup5ever::data::C1_REPLACEMENTS;
use newswire_cleaner::classifier::{Blocks, Vector};
use newswire_cleaner::{Input, detect_language};

/// One labelled block.
pub struct Example {
    pub vector: Vector,
    pub furniture: bool,
    /// Index into [`Dataset::groups`].
    pub group: u32,
}

/// Where a block came from: its page or case.
pub struct Group {
    /// The site (host) or case name: the unit of the split.
    pub site: String,
    /// `dragnet`, `readability`, `cleaneval`, or the cases' folder name.
    pub set: String,
    /// Detected language of the gold text, or `?`.
    pub lang: String,
    /// The page or case name.
    pub name: String,
}

#[derive(Default)]
pub struct Dataset {
    pub examples: Vec<Example>,
    pub groups: Vec<Group>,
    /// Blocks left out as ambiguous.
    pub ambiguous: usize,
}

/// `\w+` runs, as the extraction benchmark tokenises.
fn tokens(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|t| !t.is_empty()).collect()
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The gold text of a page, ready to look blocks up in.
struct Gold {
    lines: HashSet<String>,
    joined: String,
    shingles: HashSet<[String; 4]>,
}

impl Gold {
    fn new(text: &str) -> Gold {
        let lines: HashSet<String> = text.lines().map(collapse).filter(|l| !l.is_empty()).collect();
        let t = tokens(text);
        let shingles =
            t.windows(4).map(|w| [w[0].to_string(), w[1].to_string(), w[2].to_string(), w[3].to_string()]).collect();
        Gold { lines, joined: collapse(text), shingles }
    }

    /// Some(true) when the block is content, Some(false) when furniture,
    /// None when it is ambiguous.
    fn label(&self, block: &str) -> Option<bool> {
        let text = collapse(&block.replace('\n', " "));
        let t = tokens(&text);
        if t.is_empty() {
            return None;
        }
        if t.len() < 4 {
            if self.lines.contains(&text) {
                return Some(true);
            }
            return if self.joined.contains(&text) { None } else { Some(false) };
        }
        let total = t.len() - 3;
        let hit = t
            .windows(4)
            .filter(|w| {
                self.shingles.contains(&[w[0].to_string(), w[1].to_string(), w[2].to_string(), w[3].to_string()])
            })
            .count();
        let share = hit as f64 / total as f64;
        if share >= 0.5 {
            Some(true)
        } else if share <= 0.1 {
            Some(false)
        } else {
            None
        }
    }
}

/// Bytes of a page as text: UTF-16 with a byte-order mark, UTF-8, else
/// Windows-1252 (the corpus holds all three).
fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

fn windows_1252(b: u8) -> char {
    match b {
        0x80..=0x9F => C1_REPLACEMENTS[usize::from(b - 0x80)].unwrap_or(char::from(b)),
        _ => char::from(b),
    }
}

/// The site of a page: the host of its canonical or `og:url` link, else the
/// host most of its absolute links point to, else the page's own name.
fn site_of(html: &str, fallback: &str) -> String {
    let lower = html.to_ascii_lowercase();
    for marker in ["rel=\"canonical\"", "property=\"og:url\"", "rel='canonical'"] {
        if let Some(at) = lower.find(marker) {
            let from = lower[..at].rfind('<').unwrap_or(at);
            let end = lower[at..].find('>').map_or(lower.len(), |e| at + e);
            if let Some(h) = host_in(&lower[from..end]) {
                return h;
            }
        }
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("href=") {
        rest = &rest[at + 5..];
        let link: String = rest.chars().take(120).collect();
        if let Some(h) = host_in(&link) {
            *counts.entry(h).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(h, n)| (*n, std::cmp::Reverse(h.clone())))
        .map_or_else(|| fallback.to_string(), |(h, _)| h)
}

/// The host of the first http(s) URL in `text`, without `www.`.
fn host_in(text: &str) -> Option<String> {
    let at = text.find("http://").map(|i| i + 7).or_else(|| text.find("https://").map(|i| i + 8))?;
    let host: String = text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect();
    let host = host.trim_start_matches("www.").to_string();
    (host.contains('.') && !host.ends_with("facebook.com") && !host.ends_with("twitter.com")).then_some(host)
}

impl Dataset {
    fn push(&mut self, group: Group, vectors: Vec<Vector>, labels: &[Option<bool>]) {
        let g = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
        self.groups.push(group);
        for (v, label) in vectors.into_iter().zip(labels) {
            match *label {
                Some(content) => self.examples.push(Example { vector: v, furniture: !content, group: g }),
                None => self.ambiguous += 1,
            }
        }
    }

    /// Every page of the extraction corpus under `corpus` (pages.tar.xz
    /// unpacked once into `scratch`, outside the repository).
    pub fn add_pages(&mut self, corpus: &Path, scratch: &Path) -> anyhow::Result<usize> {
        let truth_path = corpus.join("truth.json");
        let truth: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&truth_path).with_context(|| format!("cannot read {}", truth_path.display()))?,
        )
        .with_context(|| format!("{} is not JSON", truth_path.display()))?;
        let Some(truth) = truth.as_object() else { bail!("{}: not an object", truth_path.display()) };
        let pages = unpack(&corpus.join("pages.tar.xz"), scratch)?;
        let mut names: Vec<&String> = truth.keys().collect();
        names.sort();
        let mut n = 0;
        for name in names {
            let entry = &truth[name.as_str()];
            let (Some(set), Some(gold)) = (entry["set"].as_str(), entry["articleBody"].as_str()) else {
                eprintln!("newswire-train: {name}: no set or articleBody, skipped");
                continue;
            };
            let path = pages.join(format!("{name}.html"));
            let Ok(bytes) = std::fs::read(&path) else {
                eprintln!("newswire-train: {}: unreadable, skipped", path.display());
                continue;
            };
            let html = decode(&bytes);
            let gold_index = Gold::new(gold);
            let blocks = Blocks::of(Input::Html(&html));
            let site = format!("{set}:{}", site_of(&html, name));
            let lang = detect_language(gold).unwrap_or_else(|| "?".into());
            let labels: Vec<Option<bool>> = blocks.paragraphs.iter().map(|p| gold_index.label(p)).collect();
            let all = 0..blocks.paragraphs.len();
            let group = |mode: &str| Group {
                site: site.clone(),
                set: format!("{set}{mode}"),
                lang: lang.clone(),
                name: name.clone(),
            };
            self.push(group(""), blocks.vectors(all, true), &labels);
            // The article with a little of the page around it, as a feed
            // item or the extractor's container shows it: in markup and as
            // lines of text.
            let first = labels.iter().position(|l| *l == Some(true));
            let last = labels.iter().rposition(|l| *l == Some(true));
            if let (Some(first), Some(last)) = (first, last) {
                let h = seed_of(name);
                let before = (h % 6) as usize;
                let after = ((h >> 8) % 6) as usize;
                let crop = first.saturating_sub(before)..(last + 1 + after).min(labels.len());
                self.push(group("/item"), blocks.vectors(crop.clone(), true), &labels[crop.clone()]);
                self.push(group("/text"), blocks.vectors(crop.clone(), false), &labels[crop]);
                // The article between the page's own edges: its first and
                // last few blocks (the header's menus and sign-in rows, the
                // footer's links), as a feed item that carries its site's
                // chrome shows it.
                let head = ((h >> 16) % 5) as usize;
                let tail = ((h >> 24) % 5) as usize;
                let core = first.saturating_sub(1)..(last + 2).min(labels.len());
                let mut at: Vec<usize> = (0..head.min(core.start)).collect();
                at.extend(core.clone());
                at.extend(labels.len().saturating_sub(tail).max(core.end)..labels.len());
                if head + tail > 0 {
                    let edge_labels: Vec<Option<bool>> = at.iter().map(|&i| labels[i]).collect();
                    self.push(group("/edges"), blocks.vectors_at(&at, true), &edge_labels);
                    self.push(group("/edges-text"), blocks.vectors_at(&at, false), &edge_labels);
                }
            }
            n += 1;
        }
        Ok(n)
    }

    /// Every case in `dir` (`NAME.input.txt|html` and `NAME.expected.txt`).
    pub fn add_cases(&mut self, dir: &Path, set: &str) -> anyhow::Result<usize> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".expected.txt").map(str::to_string))
            .collect();
        names.sort();
        for name in &names {
            let expected_text = std::fs::read_to_string(dir.join(format!("{name}.expected.txt")))?;
            let mut expected: HashMap<String, usize> = HashMap::new();
            for line in expected_text.lines().map(collapse).filter(|l| !l.is_empty()) {
                *expected.entry(line).or_default() += 1;
            }
            let html = dir.join(format!("{name}.input.html"));
            let blocks = if html.exists() {
                Blocks::of(Input::Html(&std::fs::read_to_string(&html)?))
            } else {
                Blocks::of(Input::Text(&std::fs::read_to_string(dir.join(format!("{name}.input.txt")))?))
            };
            let group = Group {
                site: format!("{set}:{name}"),
                set: set.to_string(),
                lang: detect_language(&expected_text).unwrap_or_else(|| "?".into()),
                name: name.clone(),
            };
            let labels: Vec<Option<bool>> = blocks
                .paragraphs
                .iter()
                .map(|p| match expected.get_mut(&collapse(&p.replace('\n', " "))) {
                    Some(c) if *c > 0 => {
                        *c -= 1;
                        Some(true)
                    }
                    _ => Some(false),
                })
                .collect();
            self.push(group, blocks.vectors(0..labels.len(), true), &labels);
        }
        Ok(names.len())
    }
}

/// A number fixed per page name, for its crop.
fn seed_of(name: &str) -> u64 {
    held_hash(name, 0x5eed)
}

/// Unpack the pages once; the directory of `<set>-<n>.html` files.
fn unpack(archive: &Path, scratch: &Path) -> anyhow::Result<PathBuf> {
    let done = scratch.join(".complete");
    if !done.exists() {
        std::fs::create_dir_all(scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
        let status = Command::new("tar")
            .arg("-xJf")
            .arg(archive)
            .arg("-C")
            .arg(scratch)
            .status()
            .context("cannot run tar to unpack the pages")?;
        if !status.success() {
            bail!("tar failed on {}", archive.display());
        }
        std::fs::write(&done, "")?;
    }
    Ok(scratch.join("pages"))
}

/// Whether a site falls in the validation split: a fixed hash of the site
/// and the seed, one site in `folds`.
pub fn held_out(site: &str, seed: u64, folds: u64) -> bool {
    held_hash(site, seed).is_multiple_of(folds)
}

fn held_hash(text: &str, seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_labelled_by_the_gold() {
        let gold = Gold::new(
            "The council voted on Tuesday to close the bridge for repairs.\nIngredients\nIt reopens in May, officials said.",
        );
        assert_eq!(gold.label("The council voted on Tuesday to close the bridge for repairs."), Some(true));
        assert_eq!(gold.label("Ingredients"), Some(true));
        assert_eq!(gold.label("Home"), Some(false));
        assert_eq!(gold.label("Tuesday"), None, "a word of the gold, alone, is ambiguous");
        assert_eq!(gold.label("Sign up to our newsletter for the latest news every morning"), Some(false));
    }

    #[test]
    fn sites_come_from_canonical_links_then_most_linked_hosts() {
        let html = r#"<link rel="canonical" href="https://www.example.org/a/1"><a href="http://other.net/x">"#;
        assert_eq!(site_of(html, "p"), "example.org");
        let html = r#"<a href="http://news.example.com/1"></a><a href="http://news.example.com/2"></a><a href="http://ads.net/"></a>"#;
        assert_eq!(site_of(html, "p"), "news.example.com");
        assert_eq!(site_of("<p>no links</p>", "page-1"), "page-1");
    }

    #[test]
    fn the_split_is_by_site_and_fixed() {
        let sites: Vec<String> = (0..1000).map(|i| format!("site{i}.example")).collect();
        let held: Vec<bool> = sites.iter().map(|s| held_out(s, 26, 5)).collect();
        let share = held.iter().filter(|&&h| h).count();
        assert!((150..250).contains(&share), "{share}");
        assert_eq!(held, sites.iter().map(|s| held_out(s, 26, 5)).collect::<Vec<_>>());
    }

    #[test]
    fn pages_decode_from_each_encoding() {
        assert_eq!(decode(b"caf\xe9 \x93quoted\x94"), "café “quoted”");
        assert_eq!(decode(&[0xFF, 0xFE, b'h', 0, b'i', 0]), "hi");
        assert_eq!(decode("héllo".as_bytes()), "héllo");
    }
}
