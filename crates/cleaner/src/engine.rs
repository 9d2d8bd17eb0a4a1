//! The rule engine: which paragraphs of an article are boilerplate.
//!
//! Rules are matched per paragraph, once: a `RegexSet` over all built-in
//! patterns answers "does anything match?" in one pass, and only the rare
//! paragraph that matches pays for finding which rules did. Paragraphs
//! longer than every built-in length cap skip matching altogether.
//!
//! Then three steps decide what goes, each on the paragraphs still kept:
//!
//! 1. Context-free rules (`Role::Line`, position "any") drop their paragraph.
//! 2. Embed anchors take their neighbours: an attribution line takes the
//!    post text above it (two lines for a tweet whose link line is a short
//!    fragment), "View this post on Instagram" runs to "A post shared by …",
//!    "Watch on YouTube" takes the title above it, a share heading takes the
//!    widget items below it. Then single-paragraph posts go.
//! 3. Position-constrained rules ("start", "end", "edge") run until nothing
//!    changes: the start and the end are counted in kept paragraphs, so a
//!    footer under other footers is still at the end.
//!
//! Nothing is dropped without a rule matching it or an anchor claiming it,
//! and every anchor's claim is bounded (one or two paragraphs, short,
//! not ending in a colon that introduces the embed).

use std::sync::{LazyLock, OnceLock};

use newswire_core::config::{CleanRuleConfig, RulePosition};
use newswire_core::{Embed, Removed, RemovedKind};
use regex::{Captures, Regex, RegexSet};

use crate::guards::reports_speech;
use crate::html::ParaFlags;
use crate::rules::{BUILTIN, EDGE, Platform, Position, Role};

/// Rules per `RegexSet`. One set over every rule makes the lazy DFA track
/// all of them at once; with ~80 rules its states outgrow the cache and
/// matching falls back to the slow engine (2 MB/s instead of 100+). Sets
/// of 16 rules each stay on the DFA: measured 35 times faster than one set
/// on the corpus paragraphs, and faster than sets of 5 or 40.
const RULES_PER_SET: usize = 16;

/// The built-in rules, compiled once per process.
pub(crate) struct Compiled {
    /// Each rule's own regex, for its captures (an embed's handle, date
    /// and link): compiled when a rule first needs it, not with the sets.
    /// Only the anchors' and the markup reader's rules ever do, and
    /// compiling all of them took half of the rules' start-up cost (some
    /// 280 M of 550 M instructions), which a `newswire extract` of one page
    /// paid in full (docs/performance.md, "Start-up").
    regexes: Vec<OnceLock<Regex>>,
    /// The rules by their `max_len`, longest first, `RULES_PER_SET` per
    /// set: (the rules' indices in [`BUILTIN`], the set, the longest
    /// `max_len` in it). A paragraph is matched only against the sets that
    /// hold a rule long enough for it: most article paragraphs are longer
    /// than all but one set's rules (furniture lines are short), and the
    /// sets were a tenth of a backfill's CPU when every paragraph met all.
    sets: Vec<(Vec<usize>, RegexSet, usize)>,
}

pub(crate) static COMPILED: LazyLock<Compiled> = LazyLock::new(Compiled::new);

impl Compiled {
    /// The sets, compiled now; each rule's own regex waits for its first
    /// use. The patterns are constants checked by the unit tests; a failure
    /// here is a programming error caught before any release.
    fn new() -> Compiled {
        let regexes = BUILTIN.iter().map(|_| OnceLock::new()).collect();
        let mut by_len: Vec<usize> = (0..BUILTIN.len()).collect();
        by_len.sort_by_key(|&i| std::cmp::Reverse(BUILTIN[i].max_len));
        let sets = by_len
            .chunks(RULES_PER_SET)
            .map(|chunk| {
                let set = RegexSet::new(chunk.iter().map(|&i| BUILTIN[i].pattern))
                    .expect("built-in patterns compile as a set");
                let longest = chunk.iter().map(|&i| BUILTIN[i].max_len).max().unwrap_or(0);
                (chunk.to_vec(), set, longest)
            })
            .collect();
        Compiled { regexes, sets }
    }

    /// Built-in rule `i`'s own regex, compiled on first use.
    fn regex(&self, i: usize) -> &Regex {
        self.regexes[i].get_or_init(|| {
            let spec = &BUILTIN[i];
            Regex::new(spec.pattern).unwrap_or_else(|e| panic!("built-in rule {}: {e}", spec.name))
        })
    }
}

/// A rule from the config.
#[derive(Debug, Clone)]
pub(crate) struct CustomRule {
    pub(crate) name: String,
    pub(crate) kind: RemovedKind,
    pub(crate) position: Position,
    pub(crate) regex: Regex,
}

impl CustomRule {
    pub(crate) fn compile(config: &CleanRuleConfig) -> Result<CustomRule, regex::Error> {
        Ok(CustomRule {
            name: config.name.clone(),
            kind: config.kind,
            position: match config.position {
                RulePosition::Any => Position::Any,
                RulePosition::Start => Position::Start,
                RulePosition::End => Position::End,
            },
            regex: Regex::new(&config.pattern)?,
        })
    }
}

/// A rule that matched: a built-in (index into `BUILTIN`) or a custom rule
/// (index into the cleaner's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleRef {
    Builtin(u16),
    Custom(u16),
}

/// What matching found for one paragraph.
#[derive(Debug, Clone, Copy, Default)]
struct Hits {
    /// A context-free rule that drops the paragraph.
    line: Option<RuleRef>,
    /// An embed rule (built-in only), when it came before any `line` rule.
    structural: Option<u16>,
    /// Position-constrained rules that matched: the first built-in and the
    /// first custom one.
    positional: [Option<RuleRef>; 2],
    /// The paragraph could be an item of a share widget.
    item: bool,
    /// It is a share button's action label ("Tweet", "Email"): the rule.
    action: Option<u16>,
}

impl Hits {
    fn is_empty(&self) -> bool {
        self.line.is_none() && self.structural.is_none() && self.positional == [None, None] && !self.item
    }
}

/// The rules in force for one feed.
pub(crate) struct RuleSet<'a> {
    pub(crate) disabled: &'a [bool],
    pub(crate) custom: &'a [CustomRule],
}

/// A paragraph's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Kept,
    /// Removed as part of group `g` (index into `groups`).
    Removed(usize),
}

/// Paragraphs removed together (an embed and its attribution), and the
/// rule that removed them.
struct Group {
    rule: RuleRef,
    first: usize,
    lines: Vec<usize>,
    embed: Option<Embed>,
}

/// The outcome for a list of paragraphs.
pub(crate) struct Outcome {
    pub(crate) kept: Vec<String>,
    /// The index of each kept paragraph in the input.
    pub(crate) kept_at: Vec<usize>,
    /// Removed pieces with the index of the (first) paragraph they held.
    pub(crate) removed: Vec<(usize, Removed)>,
    pub(crate) embeds: Vec<(usize, Embed)>,
}

fn has_double_quote(p: &str) -> bool {
    p.contains(['“', '”', '„', '«', '»', '"'])
}

impl RuleSet<'_> {
    fn hits(&self, p: &str) -> Hits {
        // The lines of a paragraph broken by `<br>` are matched as one line,
        // as the paragraph reads.
        if p.contains('\n') {
            return self.hits(&p.replace('\n', " "));
        }
        let mut hits = Hits::default();
        let compiled = &*COMPILED;
        // The rules that match, in priority order (BUILTIN's).
        let mut matched: Vec<usize> = compiled
            .sets
            .iter()
            .filter(|(_, set, longest)| p.len() <= *longest && set.is_match(p))
            .flat_map(|(rules, set, _)| set.matches(p).into_iter().map(move |i| rules[i]))
            .collect();
        matched.sort_unstable();
        if !matched.is_empty() {
            let quoted = has_double_quote(p);
            for idx in matched {
                if self.disabled.get(idx).copied().unwrap_or(false) {
                    continue;
                }
                let spec = &BUILTIN[idx];
                if p.len() > spec.max_len || (spec.no_quotes && quoted) || spec.guard.vetoes(p) {
                    continue;
                }
                let r = idx as u16;
                match spec.role {
                    Role::WidgetItem => hits.item = true,
                    Role::ShareAction => {
                        hits.item = true;
                        hits.action = Some(r);
                    }
                    Role::Line => match spec.position {
                        Position::Any => {
                            hits.line = Some(RuleRef::Builtin(r));
                            break;
                        }
                        _ => {
                            if hits.positional[0].is_none() {
                                hits.positional[0] = Some(RuleRef::Builtin(r));
                            }
                        }
                    },
                    _ => {
                        hits.structural = Some(r);
                        break;
                    }
                }
            }
        }
        if hits.line.is_none() && hits.structural.is_none() {
            for (i, rule) in self.custom.iter().enumerate() {
                if rule.regex.is_match(p) {
                    let r = RuleRef::Custom(i as u16);
                    if rule.position == Position::Any {
                        hits.line = Some(r);
                        break;
                    } else if hits.positional[1].is_none() {
                        hits.positional[1] = Some(r);
                    }
                }
            }
        }
        hits
    }

    fn name_of(&self, r: RuleRef) -> &str {
        match r {
            RuleRef::Builtin(i) => BUILTIN[usize::from(i)].name,
            RuleRef::Custom(i) => &self.custom[usize::from(i)].name,
        }
    }

    fn kind_of(&self, r: RuleRef) -> RemovedKind {
        match r {
            RuleRef::Builtin(i) => BUILTIN[usize::from(i)].kind,
            RuleRef::Custom(i) => self.custom[usize::from(i)].kind,
        }
    }

    fn position_of(&self, r: RuleRef) -> Position {
        match r {
            RuleRef::Builtin(i) => BUILTIN[usize::from(i)].position,
            RuleRef::Custom(i) => self.custom[usize::from(i)].position,
        }
    }

    /// Decide which of `paragraphs` are boilerplate. `flags` says where
    /// each paragraph of an HTML input sat (empty for text input): see
    /// [`markup_guard`].
    pub(crate) fn apply(&self, paragraphs: Vec<String>, flags: &[ParaFlags]) -> Outcome {
        let n = paragraphs.len();
        let mut hits: Vec<Hits> = paragraphs.iter().map(|p| self.hits(p)).collect();
        if !flags.is_empty() {
            markup_guard(&paragraphs, flags, &mut hits, |r| self.kind_of(r));
        }
        let mut fate = vec![Fate::Kept; n];
        let mut groups: Vec<Group> = Vec::new();

        // 1. Context-free rules.
        for i in 0..n {
            if let Some(r) = hits[i].line {
                fate[i] = Fate::Removed(groups.len());
                groups.push(Group { rule: r, first: i, lines: vec![i], embed: None });
            }
        }

        // 2. Embed anchors, then lone posts.
        if hits.iter().any(|h| h.structural.is_some()) {
            let mut ctx = Context { paragraphs: &paragraphs, hits: &hits, fate: &mut fate, groups: &mut groups };
            ctx.anchors();
            ctx.lone_posts();
        }

        // 2b. Flattened share bars: runs of widget items at an edge with an
        // action label among them.
        if hits.iter().any(|h| h.action.is_some()) {
            let kept: Vec<usize> = (0..n).filter(|&i| fate[i] == Fate::Kept).collect();
            let mut pos = 0;
            while pos < kept.len() {
                let is_item = |i: usize| hits[i].item && hits[i].structural.is_none() && hits[i].line.is_none();
                let mut end = pos;
                while end < kept.len() && is_item(kept[end]) {
                    end += 1;
                }
                let action = kept[pos..end].iter().find_map(|&i| hits[i].action);
                let at_edge = pos < EDGE || end + EDGE > kept.len();
                if end - pos >= 2
                    && at_edge
                    && let Some(r) = action
                {
                    let lines: Vec<usize> = kept[pos..end].to_vec();
                    for &l in &lines {
                        fate[l] = Fate::Removed(groups.len());
                    }
                    groups.push(Group { rule: RuleRef::Builtin(r), first: lines[0], lines, embed: None });
                }
                pos = end.max(pos + 1);
            }
        }

        // 3. Position-constrained rules, to a fixed point.
        if hits.iter().any(|h| h.positional.iter().any(Option::is_some)) {
            loop {
                let kept: Vec<usize> = (0..n).filter(|&i| fate[i] == Fate::Kept).collect();
                let mut changed = false;
                for (pos, &i) in kept.iter().enumerate() {
                    for r in hits[i].positional.into_iter().flatten() {
                        if in_zone(self.position_of(r), pos, kept.len()) {
                            fate[i] = Fate::Removed(groups.len());
                            groups.push(Group { rule: r, first: i, lines: vec![i], embed: None });
                            changed = true;
                            break;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
        }

        let mut removed = Vec::with_capacity(groups.len());
        let mut embeds = Vec::new();
        groups.sort_by_key(|g| g.first);
        for g in groups {
            let mut text = String::new();
            for &l in &g.lines {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&paragraphs[l]);
            }
            removed.push((g.first, Removed::new(self.kind_of(g.rule), self.name_of(g.rule), text)));
            if let Some(e) = g.embed {
                embeds.push((g.first, e));
            }
        }
        let mut kept = Vec::with_capacity(n);
        let mut kept_at = Vec::with_capacity(n);
        for (i, p) in paragraphs.into_iter().enumerate() {
            if fate[i] == Fate::Kept {
                kept.push(p);
                kept_at.push(i);
            }
        }
        Outcome { kept, kept_at, removed, embeds }
    }
}

impl RuleSet<'_> {
    /// The rules again on what `outcome` kept (after the classifier
    /// removed some of it), merged into it. Whether anything more went.
    pub(crate) fn again(&self, outcome: &mut Outcome, flags: &[ParaFlags]) -> bool {
        let sub_flags: Vec<ParaFlags> =
            outcome.kept_at.iter().map(|&i| flags.get(i).copied().unwrap_or_default()).collect();
        let next = self.apply(outcome.kept.clone(), &sub_flags);
        if next.removed.is_empty() {
            return false;
        }
        let at = |j: usize| outcome.kept_at.get(j).copied().unwrap_or(j);
        outcome.removed.extend(next.removed.into_iter().map(|(j, r)| (at(j), r)));
        outcome.embeds.extend(next.embeds.into_iter().map(|(j, e)| (at(j), e)));
        outcome.removed.sort_by_key(|(a, _)| *a);
        outcome.embeds.sort_by_key(|(a, _)| *a);
        outcome.kept_at = next.kept_at.iter().map(|&j| at(j)).collect();
        outcome.kept = next.kept;
        true
    }
}

/// A heading is followed by article text when the paragraph after it is a
/// paragraph of at least this many bytes that no rule matched.
const MIN_TEXT_AFTER_HEADING: usize = 80;

/// What the markup around a paragraph forbids, applied to its hits:
///
/// - a `<pre>` block or a table cell: no rule at all (code, poems, data);
/// - a plain `<blockquote>`: only the embed rules (a flattened tweet whose
///   embed class was stripped still goes; a quoted "© 1982 …" stays);
/// - a heading followed by article text: no rule ("Advertising", "Sponsored
///   content" as a section heading of a company's results).
fn markup_guard(
    paragraphs: &[String],
    flags: &[ParaFlags],
    hits: &mut [Hits],
    kind_of: impl Fn(RuleRef) -> RemovedKind,
) {
    let is_embed = |k: RemovedKind| matches!(k, RemovedKind::SocialEmbed | RemovedKind::MediaEmbed);
    for i in 0..paragraphs.len() {
        let f = flags.get(i).copied().unwrap_or_default();
        if f.has(ParaFlags::PRE) || f.has(ParaFlags::CELL) {
            hits[i] = Hits::default();
        } else if f.has(ParaFlags::QUOTE) {
            let h = &mut hits[i];
            h.line = h.line.filter(|&r| is_embed(kind_of(r)));
            h.positional = [None, None];
            h.item = false;
        } else if f.has(ParaFlags::HEADING)
            && let Some(next) = paragraphs.get(i + 1)
            && !flags.get(i + 1).copied().unwrap_or_default().has(ParaFlags::HEADING)
            && next.len() >= MIN_TEXT_AFTER_HEADING
            && hits[i + 1].is_empty()
        {
            hits[i] = Hits::default();
        }
    }
}

fn in_zone(position: Position, pos: usize, len: usize) -> bool {
    let start = pos < EDGE;
    let end = pos + EDGE >= len;
    match position {
        Position::Any => true,
        Position::Start => start,
        Position::End => end,
        Position::Edge => start || end,
        Position::Last => pos + 1 == len && len > 1,
    }
}

/// Step 2's working state.
struct Context<'a> {
    paragraphs: &'a [String],
    hits: &'a [Hits],
    fate: &'a mut Vec<Fate>,
    groups: &'a mut Vec<Group>,
}

/// Longest post text (in characters) an attribution line may claim.
const MAX_TWEET_CHARS: usize = 400;
const MAX_POST_CHARS: usize = 2_500;
/// A link line whose own text is shorter than this (a sign-off: "Proud of
/// this team.", "More soon 👇") may be the last line of a tweet whose text
/// runs over two lines; a link line with more text is the whole tweet.
const FRAGMENT_CHARS: usize = 40;
/// The first line of such a tweet.
const MAX_FIRST_TWEET_LINE_CHARS: usize = 200;
/// Both lines together: the text of a tweet, links counted short.
const MAX_TWO_LINE_TWEET_CHARS: usize = 300;
/// YouTube titles are at most 100 characters.
const MAX_VIDEO_TITLE_CHARS: usize = 100;
/// How far below "View this post on Instagram" its closing line may be.
const MAX_EMBED_SPAN: usize = 4;

/// Whether a line reads like the first line of a tweet rather than article
/// prose: it has a hashtag, a mention, an emoji, an exclamation or a
/// first-person word, or it is telegraphic (two or more sentences, each
/// short). Article paragraphs before an embed are rarely any of these.
fn tweet_like(p: &str) -> bool {
    const FIRST_PERSON: [&str; 40] = [
        "i", "i'm", "i’m", "we", "we're", "we’re", "our", "my", "me", "us", "je", "nous", "notre", "nos", "mon", "mes",
        "yo", "nosotros", "nuestro", "nuestra", "mi", "mis", "ich", "wir", "unser", "unsere", "mein", "meine", "eu",
        "nós", "nosso", "nossa", "meu", "minha", "io", "noi", "nostro", "nostra", "mio", "mia",
    ];
    let marked = p.char_indices().any(|(i, c)| {
        let next_is_letter = p[i + c.len_utf8()..].chars().next().is_some_and(char::is_alphanumeric);
        ((c == '#' || c == '@') && next_is_letter)
            || c == '!'
            || matches!(u32::from(c), 0x1F300..=0x1FAFF | 0x2600..=0x27BF)
    });
    if marked {
        return true;
    }
    let lower = p.to_lowercase();
    if lower.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’').any(|w| FIRST_PERSON.contains(&w)) {
        return true;
    }
    let sentences: Vec<&str> = p.split_inclusive(['.', '?', '!']).map(str::trim).filter(|s| !s.is_empty()).collect();
    sentences.len() >= 2 && sentences.iter().all(|s| s.chars().count() <= 80)
}

/// Where a tweet's link starts in a line, if it has one.
fn post_link_start(p: &str) -> Option<usize> {
    const LINKS: [&str; 6] = ["pic.twitter.com/", "pic.x.com/", "t.co/", "twitter.com/", "x.com/", "bsky.app/"];
    LINKS.iter().filter_map(|l| p.find(l)).min().map(|i| {
        // Back up over "https://".
        let head = &p[..i];
        head.rfind(' ').map_or(0, |s| s + 1)
    })
}

impl Context<'_> {
    fn kept(&self) -> Vec<usize> {
        (0..self.paragraphs.len()).filter(|&i| self.fate[i] == Fate::Kept).collect()
    }

    fn remove(&mut self, lines: Vec<usize>, rule: u16, embed: Option<Embed>) {
        let g = self.groups.len();
        for &l in &lines {
            self.fate[l] = Fate::Removed(g);
        }
        let first = lines.iter().copied().min().unwrap_or(0);
        self.groups.push(Group { rule: RuleRef::Builtin(rule), first, lines, embed });
    }

    /// A kept paragraph that may be claimed as an embed's text.
    fn claimable(&self, i: usize, max_chars: usize) -> bool {
        let p = &self.paragraphs[i];
        self.fate[i] == Fate::Kept
            && self.hits[i].structural.is_none_or(|r| matches!(BUILTIN[usize::from(r)].role, Role::Post(_)))
            && !p.ends_with(':')
            && p.chars().count() <= max_chars
    }

    fn anchors(&mut self) {
        let kept = self.kept();
        for (pos, &i) in kept.iter().enumerate() {
            if self.fate[i] != Fate::Kept {
                continue;
            }
            let Some(r) = self.hits[i].structural else { continue };
            let spec = &BUILTIN[usize::from(r)];
            let caps = COMPILED.regex(usize::from(r)).captures(&self.paragraphs[i]);
            let prev = pos.checked_sub(1).map(|p| kept[p]);
            match spec.role {
                Role::Attribution(Platform::Twitter) => {
                    let mut lines = Vec::new();
                    if let Some(p) = prev.filter(|&p| self.claimable(p, MAX_TWEET_CHARS)) {
                        lines.push(p);
                        let text = &self.paragraphs[p];
                        let fragment =
                            post_link_start(text).is_some_and(|s| text[..s].chars().count() < FRAGMENT_CHARS);
                        if fragment
                            && let Some(p2) = pos.checked_sub(2).map(|q| kept[q])
                            && self.claimable(p2, MAX_FIRST_TWEET_LINE_CHARS)
                            && !has_double_quote(&self.paragraphs[p2])
                            && !reports_speech(&self.paragraphs[p2])
                            && tweet_like(&self.paragraphs[p2])
                            && self.paragraphs[p2].chars().count() + text.chars().count() <= MAX_TWO_LINE_TWEET_CHARS
                        {
                            lines.insert(0, p2);
                        }
                    }
                    let embed = self.post_embed(Platform::Twitter, &lines, caps.as_ref());
                    lines.push(i);
                    self.remove(lines, r, Some(embed));
                }
                Role::Attribution(platform) => {
                    let mut lines = Vec::new();
                    if let Some(p) = prev.filter(|&p| self.claimable(p, MAX_POST_CHARS)) {
                        lines.push(p);
                    }
                    let embed = self.post_embed(platform, &lines, caps.as_ref());
                    lines.push(i);
                    self.remove(lines, r, Some(embed));
                }
                Role::Opener(platform) => {
                    let mut lines = vec![i];
                    let mut closer = None;
                    for &j in kept.iter().skip(pos + 1).take(MAX_EMBED_SPAN) {
                        if self.fate[j] != Fate::Kept {
                            break;
                        }
                        match self.hits[j].structural.map(|r| BUILTIN[usize::from(r)].role) {
                            Some(Role::Closer(p)) if p == platform => {
                                closer = Some(j);
                                break;
                            }
                            Some(Role::Post(_)) | None => {}
                            Some(_) => break,
                        }
                    }
                    let mut embed = Embed { kind: platform.as_str().to_string(), ..Embed::default() };
                    if let Some(c) = closer {
                        let body: Vec<usize> = kept[pos + 1..].iter().copied().take_while(|&j| j < c).collect();
                        let cr = self.hits[c].structural.map(usize::from).unwrap_or(usize::from(r));
                        let ccaps = COMPILED.regex(cr).captures(&self.paragraphs[c]);
                        embed = self.post_embed(platform, &body, ccaps.as_ref());
                        lines.extend(body);
                        lines.push(c);
                    }
                    self.remove(lines, r, Some(embed));
                }
                Role::WatchOn(platform) => {
                    let mut lines = Vec::new();
                    if let Some(p) = prev.filter(|&p| {
                        self.claimable(p, MAX_VIDEO_TITLE_CHARS)
                            && !self.paragraphs[p].ends_with(['.', '”', '"', '»', '!', '?'])
                    }) {
                        lines.push(p);
                    }
                    let embed = Embed {
                        kind: platform.as_str().to_string(),
                        text: lines.first().map(|&p| self.paragraphs[p].clone()),
                        ..Embed::default()
                    };
                    lines.push(i);
                    self.remove(lines, r, Some(embed));
                }
                Role::WidgetHeader => {
                    let mut lines = vec![i];
                    for &j in kept.iter().skip(pos + 1) {
                        if self.fate[j] == Fate::Kept && self.hits[j].item && self.hits[j].structural.is_none() {
                            lines.push(j);
                        } else {
                            break;
                        }
                    }
                    // The items are widget chrome; the heading decides the kind.
                    self.remove(lines, r, None);
                }
                Role::Line | Role::Post(_) | Role::Closer(_) | Role::WidgetItem | Role::ShareAction => {}
            }
        }
    }

    fn lone_posts(&mut self) {
        for i in 0..self.paragraphs.len() {
            if self.fate[i] != Fate::Kept {
                continue;
            }
            let Some(r) = self.hits[i].structural else { continue };
            let spec = &BUILTIN[usize::from(r)];
            let (platform, take) = match spec.role {
                Role::Post(p) => (p, true),
                Role::Closer(p) => (p, false),
                _ => continue,
            };
            let caps = COMPILED.regex(usize::from(r)).captures(&self.paragraphs[i]);
            let embed = if take {
                self.single_post_embed(platform, caps.as_ref())
            } else {
                self.post_embed(platform, &[], caps.as_ref())
            };
            self.remove(vec![i], r, Some(embed));
        }
    }

    /// An embed from post text lines and the anchor's captures.
    fn post_embed(&self, platform: Platform, lines: &[usize], caps: Option<&Captures<'_>>) -> Embed {
        let text = lines.iter().map(|&l| self.paragraphs[l].as_str()).collect::<Vec<_>>().join(" ");
        let cap = |name: &str| {
            caps.and_then(|c| c.name(name)).map(|m| m.as_str().trim().to_string()).filter(|s| !s.is_empty())
        };
        let handle = cap("handle");
        let kind = match (platform, handle.as_deref()) {
            (Platform::Twitter, Some(h)) if h.contains('@') => "mastodon",
            (Platform::Twitter, Some(h)) if h.ends_with(".bsky.social") => "bluesky",
            (Platform::Twitter, _) if text.contains("bsky.app/") => "bluesky",
            (p, _) => p.as_str(),
        };
        Embed {
            kind: kind.to_string(),
            url: post_url(&text),
            author: cap("author"),
            handle,
            text: if text.is_empty() { None } else { Some(text) },
            posted_at: cap("date"),
        }
    }

    /// An embed from a single-paragraph post.
    fn single_post_embed(&self, platform: Platform, caps: Option<&Captures<'_>>) -> Embed {
        let cap = |name: &str| {
            caps.and_then(|c| c.name(name)).map(|m| m.as_str().trim().to_string()).filter(|s| !s.is_empty())
        };
        let url = cap("url").map(|u| if u.starts_with("http") { u } else { format!("https://{u}") });
        let kind = match platform {
            Platform::ByUrl => url.as_deref().map_or("media", kind_of_url),
            p => p.as_str(),
        };
        Embed {
            kind: kind.to_string(),
            url,
            author: cap("author"),
            handle: cap("handle"),
            text: cap("text"),
            posted_at: cap("date"),
        }
    }
}

/// The first link in a post's text, preferring a link to the post itself.
fn post_url(text: &str) -> Option<String> {
    let mut first = None;
    for word in text.split(' ') {
        let w = word.trim_end_matches(['.', ',', ')', '”', '"']);
        let bare = w.trim_start_matches("https://").trim_start_matches("http://");
        let is_link = [
            "pic.twitter.com/",
            "pic.x.com/",
            "t.co/",
            "twitter.com/",
            "x.com/",
            "bsky.app/",
            "instagram.com/",
            "facebook.com/",
            "tiktok.com/",
        ]
        .iter()
        .any(|p| bare.starts_with(p) || bare.starts_with(&format!("www.{p}")));
        if !is_link {
            continue;
        }
        let url = if w.starts_with("http") { w.to_string() } else { format!("https://{w}") };
        if bare.contains("/status/") || bare.contains("/post/") || bare.contains("/p/") {
            return Some(url);
        }
        first.get_or_insert(url);
    }
    first
}

/// `Embed::kind` for a link.
pub(crate) fn kind_of_url(url: &str) -> &'static str {
    let host = url.split("://").nth(1).unwrap_or(url).split(['/', '?', '#']).next().unwrap_or("");
    let host = host.trim_start_matches("www.").trim_start_matches("m.").trim_start_matches("mobile.");
    match host {
        "twitter.com" | "x.com" | "t.co" | "pic.twitter.com" | "pic.x.com" | "platform.twitter.com" => "twitter",
        "instagram.com" => "instagram",
        "facebook.com" | "fb.watch" | "web.facebook.com" => "facebook",
        "tiktok.com" | "vm.tiktok.com" => "tiktok",
        "youtube.com" | "youtu.be" | "youtube-nocookie.com" => "youtube",
        "vimeo.com" | "player.vimeo.com" => "vimeo",
        "bsky.app" | "embed.bsky.app" => "bluesky",
        "threads.net" | "threads.com" => "threads",
        h if h.starts_with("mastodon.") || h.ends_with(".social") => "mastodon",
        _ => "media",
    }
}

/// A built-in rule's compiled pattern, by name (the HTML side reuses the
/// attribution patterns to read embed markup).
pub(crate) fn builtin_regex(name: &str) -> Option<&'static Regex> {
    BUILTIN.iter().position(|s| s.name == name).map(|i| COMPILED.regex(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rules_own_regex_is_compiled_when_first_used_and_is_its_pattern() {
        let compiled = Compiled::new();
        assert!(compiled.regexes.iter().all(|r| r.get().is_none()), "no rule's own regex compiled with the sets");
        let i = BUILTIN.iter().position(|s| s.name == "embed.tiktok_sound").expect("a rule of that name");
        assert_eq!(compiled.regex(i).as_str(), BUILTIN[i].pattern);
        let compiled_now: Vec<usize> = (0..BUILTIN.len()).filter(|&j| compiled.regexes[j].get().is_some()).collect();
        assert_eq!(compiled_now, vec![i], "only the rule asked for");
        // Every rule's own regex compiles, and matches what its set says.
        for (j, spec) in BUILTIN.iter().enumerate() {
            assert_eq!(compiled.regex(j).as_str(), spec.pattern, "{}", spec.name);
        }
        let (rules, set, _) = &compiled.sets[0];
        for p in ["Follow us on Facebook", "Share this article", "The minister said on Tuesday."] {
            let by_set: Vec<usize> = set.matches(p).into_iter().map(|k| rules[k]).collect();
            let by_own: Vec<usize> = rules.iter().copied().filter(|&j| compiled.regex(j).is_match(p)).collect();
            assert_eq!(by_set, by_own, "{p}");
        }
    }
}
