//! Main-content selection: which subtrees of the page are the article.
//!
//! Three linear walks over the one parsed tree, no re-parsing:
//!
//! 1. [`measure`] everything, bottom-up: per element, its text length, link
//!    text length, commas, `<p>` and `<br>` counts, the text outside its
//!    block children, and how many block children it has. The metadata
//!    collector rides along.
//! 2. [`hard_junk`], top-down: what is never the article (controls, hidden
//!    elements, non-content landmarks, comment sections) and the site's
//!    `remove` selectors; every element's class/id roles are read here once.
//!    Its subtrees are [`subtract`]ed from the numbers (one walk up per
//!    subtree), and [`densest_prose`] scores the page as Readability does to
//!    find the container of the densest prose, preferring one outside
//!    regions named as furniture. With the block classifier on, every
//!    paragraph's score is weighed by the square of its chance of being
//!    article text ([`PageFurniture`], read once for the page).
//! 3. [`soft_junk`]: furniture by its markup (class and id words, `aside`,
//!    `footer`, boxes of links), never on the ancestors of that container or
//!    of a trusted body (site `body` selector, `itemprop=articleBody`): class
//!    names mislead, prose does not. Subtracted in turn, and
//!    [`best_candidate`] scores again: the best container, its siblings that
//!    score close to it or read like paragraphs, unless the classifier
//!    calls a sibling furniture. The chosen subtrees are
//!    serialised without their junk for the cleaner.

use crate::parse::attr;
use markup5ever::local_name;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use ego_tree::iter::Edge;
use ego_tree::{NodeId, NodeRef};
use scraper::Node;
use scraper::node::Element;

use super::furniture::PageFurniture;
use super::table::{NodeMap, NodeSet};
use crate::hints::{self, Roles};
use crate::html::is_block;

/// Hashes a `NodeId` (an index) with one multiply: the maps here are keyed
/// only by node ids, and SipHash would be a good part of the time spent.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type IdMap<V> = HashMap<NodeId, V, BuildHasherDefault<IdHasher>>;

/// What an element holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Bytes of text, whitespace runs counted once.
    pub(crate) text: u32,
    /// Bytes of that text inside links.
    pub(crate) link: u32,
    pub(crate) commas: u32,
    /// `<p>` descendants.
    pub(crate) paras: u32,
    /// `<br>` descendants: line breaks in text without paragraphs.
    pub(crate) brs: u32,
    /// The part of the text outside block descendants (its own text and
    /// its inline elements'), with its commas and `<br>`s: the text of a
    /// container that mixes paragraphs with bare text.
    pub(crate) inline: u32,
    pub(crate) inline_commas: u32,
    pub(crate) inline_brs: u32,
    /// Block elements among the children.
    pub(crate) blocks: u32,
}

impl Stats {
    pub(crate) fn link_density(&self) -> f32 {
        if self.text == 0 { 0.0 } else { self.link as f32 / self.text as f32 }
    }
}

/// Elements whose content is never text.
pub(crate) fn is_silent(name: &str) -> bool {
    matches!(name, "script" | "style" | "noscript" | "template" | "svg" | "math" | "canvas" | "select" | "textarea")
}

fn text_len(t: &str) -> (u32, u32) {
    let mut len = 0u32;
    let mut commas = 0u32;
    let mut space = true;
    let bytes = t.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_whitespace() {
            if !space {
                len += 1;
                space = true;
            }
            continue;
        }
        space = false;
        len += 1;
        // ",", and the fullwidth "，" (EF BC 8C) and Arabic "،" (D8 8C).
        if b == b',' || (b == 0x8C && i >= 1 && (bytes[i - 1] == 0xBC || bytes[i - 1] == 0xD8)) {
            commas += 1;
        }
    }
    (len, commas)
}

/// Measure every element under `root`, skipping the subtrees in `skip`.
/// `open` sees each element entered (silent ones too, before they are
/// skipped); `close` each measured element with its numbers.
pub(crate) fn measure<'a>(
    root: NodeRef<'a, Node>,
    skip: &NodeSet,
    mut open: impl FnMut(NodeRef<'a, Node>, &'a Element),
    mut close: impl FnMut(NodeRef<'a, Node>, &'a Element, &Stats),
) -> NodeMap<Stats> {
    let mut map = NodeMap::new(root.tree().values().len());
    let mut stack: Vec<Stats> = Vec::with_capacity(64);
    let mut skipping: Option<NodeId> = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(n) => {
                if skipping.is_some() {
                    continue;
                }
                match n.value() {
                    Node::Element(e) => {
                        if skip.contains(&n.id()) {
                            skipping = Some(n.id());
                            continue;
                        }
                        open(n, e);
                        if is_silent(e.name()) {
                            skipping = Some(n.id());
                            continue;
                        }
                        stack.push(Stats::default());
                    }
                    Node::Text(t) => {
                        if let Some(top) = stack.last_mut() {
                            let (len, commas) = text_len(t);
                            top.text += len;
                            top.commas += commas;
                            top.inline += len;
                            top.inline_commas += commas;
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(n) => {
                if let Some(id) = skipping {
                    if id == n.id() {
                        skipping = None;
                    }
                    continue;
                }
                let Node::Element(e) = n.value() else { continue };
                let Some(mut s) = stack.pop() else { continue };
                let name = e.name();
                if name == "a" {
                    s.link = s.text;
                }
                if let Some(parent) = stack.last_mut() {
                    parent.text += s.text;
                    parent.link += s.link;
                    parent.commas += s.commas;
                    parent.paras += s.paras + u32::from(name == "p");
                    parent.brs += s.brs + u32::from(name == "br");
                    if is_block(name) {
                        parent.blocks += 1;
                    } else {
                        parent.inline += s.inline;
                        parent.inline_commas += s.inline_commas;
                        parent.inline_brs += s.inline_brs + u32::from(name == "br");
                    }
                }
                close(n, e, &s);
                map.insert(n.id(), s);
            }
        }
    }
    map
}

/// Roles that mark page furniture, dropped whatever else the element says.
const STRONG_NEGATIVE: Roles = Roles::SHARE
    .union(Roles::RELATED)
    .union(Roles::SUBSCRIBE)
    .union(Roles::AD)
    .union(Roles::COMMENTS)
    .union(Roles::NAV)
    .union(Roles::SIDEBAR)
    .union(Roles::CONSENT)
    .union(Roles::FOOTER)
    .union(Roles::BYLINE)
    .union(Roles::TAGS)
    .union(Roles::SOCIAL)
    .union(Roles::PROMO)
    .union(Roles::POPUP)
    .union(Roles::WIDGET);

/// Roles of small furniture: dropped when the element is short.
const WEAK_NEGATIVE: Roles = Roles::META.union(Roles::HEADER).union(Roles::HIDDEN);

/// Class/id weight for scoring: +25 for content words, −25 for furniture.
fn class_weight(roles: Roles) -> f32 {
    let mut weight = 0.0;
    if roles.any(Roles::CONTENT) {
        weight += 25.0;
    }
    if roles.any(STRONG_NEGATIVE.union(WEAK_NEGATIVE)) {
        weight -= 25.0;
    }
    weight
}

fn tag_weight(name: &str) -> f32 {
    match name {
        "div" | "article" | "main" | "section" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
}

/// The class/id roles of the page's elements (those that have a class or
/// an id and are not hard junk), read once.
pub(crate) type RoleMap = NodeMap<Roles>;

fn roles_of(roles: &RoleMap, id: NodeId) -> Roles {
    roles.get(&id).copied().unwrap_or(Roles::NONE)
}

/// Junk found by one walk, and what the walk saw outside it.
pub(crate) struct Junk {
    /// Every junk subtree's root (all junk so far, of this walk and before).
    pub(crate) set: NodeSet,
    /// The roots this walk found, outermost only.
    pub(crate) roots: Vec<NodeId>,
    /// Elements outside the junk that may hold text to score, in document
    /// order (see [`is_prose_unit`]; decided once the numbers are final).
    pub(crate) candidates: Vec<NodeId>,
}

/// Whether an element may be a unit of prose, by its name alone.
fn may_be_prose(name: &str) -> bool {
    matches!(
        name,
        "p" | "pre"
            | "div"
            | "section"
            | "article"
            | "main"
            | "span"
            | "font"
            | "center"
            | "blockquote"
            | "li"
            | "td"
            | "dd"
            | "form"
    )
}

/// The hard junk under `root`, on top of `forced` (the site's `remove`
/// matches): what is never the article whatever else the page says
/// (navigation and form controls, hidden elements, non-content ARIA
/// landmarks, comment sections). Also the roles of every element outside
/// it.
pub(crate) fn hard_junk<'a>(root: NodeRef<'a, Node>, raw: &NodeMap<Stats>, forced: &NodeSet) -> (Junk, RoleMap) {
    let mut junk = Junk { set: forced.clone(), roots: Vec::new(), candidates: Vec::new() };
    let mut roles = RoleMap::new(root.tree().values().len());
    let mut classes: HashMap<&str, Roles> = HashMap::new();
    let mut words = hints::Words::default();
    let mut skipping: Option<NodeId> = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(n) => {
                if skipping.is_some() {
                    continue;
                }
                let Node::Element(e) = n.value() else { continue };
                if junk.set.contains(&n.id()) {
                    junk.roots.push(n.id());
                    skipping = Some(n.id());
                    continue;
                }
                let Some(s) = raw.get(&n.id()) else { continue };
                // Pages repeat their class lists (every comment, every
                // teaser): each distinct one is read once.
                let mut r = match attr(e, local_name!("class")) {
                    Some(class) => *classes.entry(class).or_insert_with(|| hints::class_roles(class, &mut words)),
                    None => Roles::NONE,
                };
                r = r | hints::id_roles(e, &mut words);
                if is_hard_junk(e, s, r) {
                    junk.set.insert(n.id());
                    junk.roots.push(n.id());
                    skipping = Some(n.id());
                    continue;
                }
                if !r.is_empty() {
                    roles.insert(n.id(), r);
                }
                if may_be_prose(e.name()) {
                    junk.candidates.push(n.id());
                }
            }
            Edge::Close(n) => {
                if skipping == Some(n.id()) {
                    skipping = None;
                }
            }
        }
    }
    (junk, roles)
}

/// All the junk under `root`: the `hard` junk, and furniture by its markup
/// (sectioning tags, class and id words, boxes of links), but not in
/// `protected` (the trusted bodies, the container of the densest prose and
/// their ancestors). Inside `anchor` (that container), a subtree holding
/// more than half of its text is furniture only when its class names
/// strong furniture.
pub(crate) fn soft_junk(
    root: NodeRef<'_, Node>,
    firm: &NodeMap<Stats>,
    hard: &NodeSet,
    roles: &RoleMap,
    protected: &NodeSet,
    anchor: Option<NodeId>,
) -> Junk {
    let page = firm.get(&root.id()).map_or(0, |s| s.text);
    let mut container = page;
    let mut inside = false;
    let mut junk = Junk { set: hard.clone(), roots: Vec::new(), candidates: Vec::new() };
    let mut skipping: Option<NodeId> = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(n) => {
                if skipping.is_some() {
                    continue;
                }
                let Node::Element(e) = n.value() else { continue };
                if junk.set.contains(&n.id()) {
                    skipping = Some(n.id());
                    continue;
                }
                let Some(s) = firm.get(&n.id()) else { continue };
                if anchor == Some(n.id()) {
                    container = s.text;
                    inside = true;
                }
                if !protected.contains(&n.id()) && is_soft_junk(e, s, roles_of(roles, n.id()), container, inside) {
                    junk.set.insert(n.id());
                    junk.roots.push(n.id());
                    skipping = Some(n.id());
                    continue;
                }
                if may_be_prose(e.name()) {
                    junk.candidates.push(n.id());
                }
            }
            Edge::Close(n) => {
                if skipping == Some(n.id()) {
                    skipping = None;
                } else if anchor == Some(n.id()) {
                    container = page;
                    inside = false;
                }
            }
        }
    }
    junk
}

/// Take the junk subtrees `roots` out of the numbers of their ancestors, as
/// if [`measure`] had skipped them (it is one walk up per root instead of a
/// walk over the page), and drop the roots' own numbers.
pub(crate) fn subtract(stats: &mut NodeMap<Stats>, tree: &ego_tree::Tree<Node>, roots: &[NodeId]) {
    for &id in roots {
        let Some(node) = tree.get(id) else { continue };
        let Some(j) = stats.remove(&id) else { continue };
        let Some(e) = node.value().as_element() else { continue };
        let name = e.name();
        let block = is_block(name);
        let mut in_link = name == "a";
        let mut inline_path = !block;
        let mut direct = true;
        for a in node.ancestors() {
            let Node::Element(ae) = a.value() else { break };
            let Some(s) = stats.get_mut(&a.id()) else { break };
            in_link |= ae.name() == "a";
            s.text -= j.text;
            s.link -= if in_link { j.text } else { j.link };
            s.commas -= j.commas;
            s.paras -= j.paras + u32::from(name == "p");
            s.brs -= j.brs + u32::from(name == "br");
            if direct && block {
                s.blocks -= 1;
            }
            if inline_path {
                s.inline -= j.inline;
                s.inline_commas -= j.inline_commas;
                s.inline_brs -= j.inline_brs + u32::from(name == "br");
            }
            inline_path &= !is_block(ae.name());
            direct = false;
        }
    }
}

/// Never the article: controls, hidden elements, landmarks that say so,
/// comment sections.
fn is_hard_junk(e: &Element, s: &Stats, roles: Roles) -> bool {
    let name = e.name();
    if matches!(name, "html" | "body" | "main" | "a") {
        return false;
    }
    if matches!(name, "nav" | "dialog" | "menu" | "button" | "input" | "label") {
        return true;
    }
    if attr(e, local_name!("hidden")).is_some()
        || attr(e, local_name!("aria-hidden")).is_some_and(|v| v == "true") && s.text < 200
        || attr(e, local_name!("style")).is_some_and(|st| {
            let st = st.to_ascii_lowercase();
            st.contains("display:none") || st.contains("display: none") || st.contains("visibility:hidden")
        })
    {
        return true;
    }
    if let Some(role) = attr(e, local_name!("role"))
        && matches!(
            role,
            "navigation" | "banner" | "contentinfo" | "complementary" | "dialog" | "alertdialog" | "search" | "menu"
        )
    {
        return true;
    }
    name != "article" && roles.any(Roles::COMMENTS)
}

/// Furniture by its markup: sectioning tags, class and id words, boxes of
/// links. The caller keeps these rules off the article's container.
///
/// A subtree with most of the text of the article's container
/// (`container`: that container's text inside it, else the page's) is the
/// article unless its class names strong furniture (a slideshow in a
/// `promo` box): small-furniture words, boxes of links and sectioning tags
/// do not count against it.
fn is_soft_junk(e: &Element, s: &Stats, roles: Roles, container: u32, inside: bool) -> bool {
    let name = e.name();
    if matches!(name, "html" | "body" | "main" | "a") {
        return false;
    }
    // A paragraph that is one link: "Back to news", "More from Sport".
    if name == "p" {
        return s.text > 0 && s.text < 200 && s.link * 10 >= s.text * 9;
    }
    let roles = if name == "article" { Roles::NONE } else { roles };
    // An inline element is a byline, a share link, a tag: short. One that
    // holds paragraphs of prose wraps them by a markup slip (a byline
    // `<span>` left open over the post).
    if roles.any(STRONG_NEGATIVE) && (is_block(name) || s.text < 300) {
        return true;
    }
    if u64::from(s.text) * 2 > u64::from(container) {
        return false;
    }
    if matches!(name, "aside" | "footer" | "header" | "form") {
        return true;
    }
    if roles.any(WEAK_NEGATIVE) && s.text < 400 {
        return true;
    }
    // Lists and boxes of links: menus, related stories, tag clouds. Inside
    // the article's container, one that holds a quarter of its text is the
    // article's (a link roundup, a list of sources).
    if !(inside && u64::from(s.text) * 4 >= u64::from(container))
        && matches!(name, "ul" | "ol" | "dl" | "div" | "section" | "table" | "span")
        && s.text > 0
        && s.text < 2_000
        && s.link_density() > 0.5
        && !attr(e, local_name!("class"))
            .is_some_and(|c| c.contains("tweet") || c.contains("embed") || c.contains("media"))
    {
        return true;
    }
    false
}

/// Whether an element is a paragraph of text for scoring.
fn is_paragraph_like(name: &str, s: &Stats) -> bool {
    match name {
        "p" | "pre" => true,
        "div" | "section" | "article" | "span" | "font" | "center" | "blockquote" | "li" | "td" => s.blocks == 0,
        _ => false,
    }
}

/// The `candidates` that hold text to score, by their final numbers.
pub(crate) fn prose_units(tree: &ego_tree::Tree<Node>, stats: &NodeMap<Stats>, candidates: &[NodeId]) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(candidates.len() / 2);
    for &id in candidates {
        let Some(s) = stats.get(&id) else { continue };
        if let Some(e) = tree.get(id).and_then(|n| n.value().as_element())
            && is_prose_unit(e.name(), s)
        {
            out.push(id);
        }
    }
    out
}

/// Whether an element holds text to score: a paragraph, or a container
/// with bare text beside its blocks (text and `<br>`s without `<p>`).
fn is_prose_unit(name: &str, s: &Stats) -> bool {
    is_paragraph_like(name, s)
        || s.inline >= 25
            && matches!(
                name,
                "div" | "section" | "article" | "main" | "td" | "li" | "dd" | "blockquote" | "center" | "form"
            )
}

/// The chosen article: top-level nodes in document order, and their text.
pub(crate) struct Chosen {
    pub(crate) nodes: Vec<NodeId>,
    pub(crate) text: u32,
}

/// Readability-class scores of the containers of `paragraphs`: each
/// paragraph of 25+ characters scores 1 + commas + min(length/100, 3) for
/// its parent, half that for its grandparent, a sixth for the next, on top
/// of the container's tag and class/id weights.
fn scores(
    tree: &ego_tree::Tree<Node>,
    net: &NodeMap<Stats>,
    roles: &RoleMap,
    paragraphs: &[NodeId],
    furniture: Option<&PageFurniture>,
) -> IdMap<f32> {
    let mut scores: IdMap<f32> = IdMap::default();
    for &id in paragraphs {
        let Some(node) = tree.get(id) else { continue };
        let Some(s) = net.get(&id) else { continue };
        let Some(e) = node.value().as_element() else { continue };
        // A paragraph scores for its parent; the bare text of a container
        // is a paragraph of that container.
        let (text, commas, brs, mut ancestor) = if is_paragraph_like(e.name(), s) {
            (s.text, s.commas, s.brs, node.parent())
        } else {
            (s.inline, s.inline_commas, s.inline_brs, Some(node))
        };
        if text < 25 {
            continue;
        }
        // Text broken by `<br>`s instead of paragraphs weighs as the
        // paragraphs it would be (one per two breaks), not as one.
        let cap = 3.0 * (1.0 + brs as f32 / 2.0);
        let mut score = 1.0 + commas as f32 + (text as f32 / 100.0).min(cap);
        // What the block classifier calls furniture counts for little: the
        // paragraph weighs by the square of its chance of being article
        // text (docs/extraction.md, "Block scores in choosing the
        // container").
        if let Some(f) = furniture {
            let content = 1.0 - f.share(id);
            score *= content * content;
        }
        for level in 0..3 {
            let Some(a) = ancestor else { break };
            let Some(e) = a.value().as_element() else { break };
            if e.name() == "html" {
                break;
            }
            let divider = match level {
                0 => 1.0,
                1 => 2.0,
                _ => level as f32 * 3.0,
            };
            let entry =
                scores.entry(a.id()).or_insert_with(|| tag_weight(e.name()) + class_weight(roles_of(roles, a.id())));
            *entry += score / divider;
            ancestor = a.parent();
        }
    }
    scores
}

/// The best-scoring container, its score discounted by link density.
fn top(scores: &IdMap<f32>, net: &NodeMap<Stats>) -> Option<(NodeId, f32)> {
    let mut best: Option<(NodeId, f32)> = None;
    for (&id, &score) in scores {
        let density = net.get(&id).map_or(0.0, Stats::link_density);
        let final_score = score * (1.0 - density);
        let better = match best {
            None => true,
            Some((bid, bs)) => final_score > bs || (final_score == bs && id < bid),
        };
        if better {
            best = Some((id, final_score));
        }
    }
    best
}

/// Roles that name a region of furniture: prose inside one is not the
/// article's unless nothing else on the page comes close. A generic
/// `widget` is not among them (a blog platform wraps the post in one).
const FURNITURE_REGION: Roles = Roles::SIDEBAR
    .union(Roles::RELATED)
    .union(Roles::NAV)
    .union(Roles::FOOTER)
    .union(Roles::AD)
    .union(Roles::PROMO)
    .union(Roles::SUBSCRIBE)
    .union(Roles::SHARE)
    .union(Roles::SOCIAL)
    .union(Roles::BYLINE)
    .union(Roles::POPUP)
    .union(Roles::CONSENT)
    .union(Roles::TAGS);

/// Whether `node` or one of its ancestors is named or tagged as a furniture
/// region (and not also named as content: `leftRail article`).
fn in_furniture(node: NodeRef<'_, Node>, roles: &RoleMap) -> bool {
    for a in std::iter::once(node).chain(node.ancestors()) {
        let Some(e) = a.value().as_element() else { break };
        if matches!(e.name(), "body" | "html") {
            break;
        }
        if matches!(e.name(), "aside" | "footer" | "header") {
            return true;
        }
        let r = roles_of(roles, a.id());
        if r.any(FURNITURE_REGION) && !r.any(Roles::CONTENT) {
            return true;
        }
    }
    false
}

/// The container of the page's densest prose, scored on the whole page
/// but its hard junk: the guard that keeps the softer junk rules (class
/// names, boxes of links, sectioning tags) off the article's ancestors.
/// When it lies in a region named as furniture (a sidebar's "About me"),
/// the densest prose outside such regions is taken instead if it scores at
/// least a third as high.
pub(crate) fn densest_prose(
    root: NodeRef<'_, Node>,
    firm: &NodeMap<Stats>,
    roles: &RoleMap,
    paragraphs: &[NodeId],
    furniture: Option<&PageFurniture>,
) -> Option<NodeId> {
    let tree = root.tree();
    let all = scores(tree, firm, roles, paragraphs, furniture);
    let (first, best) = top(&all, firm)?;
    if !in_furniture(tree.get(first)?, roles) {
        return Some(first);
    }
    let outside: Vec<NodeId> =
        paragraphs.iter().copied().filter(|&p| tree.get(p).is_some_and(|n| !in_furniture(n, roles))).collect();
    match top(&scores(tree, firm, roles, &outside, furniture), firm) {
        Some((id, score)) if score * 3.0 >= best => Some(id),
        _ => Some(first),
    }
}

/// A sibling of the chosen container whose text the block classifier
/// scores this high on average ([`PageFurniture::share`]) is not merged
/// into the article. Flat from 0.5 to 0.9 on the extraction corpus
/// (docs/extraction.md, "Block scores in choosing the container").
const FURNITURE_SIBLING: f32 = 0.7;

/// How many close runners-up [`best_candidate`] weighs.
const MAX_RUNNERS: usize = 10;

/// Readability-class scoring over the measured (junk-free) tree.
pub(crate) fn best_candidate(
    root: NodeRef<'_, Node>,
    net: &NodeMap<Stats>,
    roles: &RoleMap,
    paragraphs: &[NodeId],
    furniture: Option<&PageFurniture>,
) -> Chosen {
    let tree = root.tree();
    let scores = scores(tree, net, roles, paragraphs, furniture);
    let Some((mut top, top_score)) = top(&scores, net) else {
        return Chosen { nodes: vec![root.id()], text: net.get(&root.id()).map_or(0, |s| s.text) };
    };
    let text_of = |id: NodeId| net.get(&id).map_or(0, |s| s.text);
    // Several close runners-up under one ancestor (live-blog entries, an
    // article split by ads): that ancestor is the article.
    let final_score = |id: &NodeId, score: f32| score * (1.0 - net.get(id).map_or(0.0, Stats::link_density));
    let mut close: Vec<(f32, NodeId)> =
        scores.iter().map(|(id, s)| (final_score(id, *s), *id)).filter(|(s, _)| *s >= top_score * 0.75).collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    // The best few are enough to see a pattern (Readability looks at five),
    // and keep hostile pages of thousands of equal paragraphs linear.
    close.truncate(MAX_RUNNERS);
    // One per branch: a runner-up inside or around another is the same
    // text counted again.
    let related = |a: NodeId, b: NodeId| {
        tree.get(a).is_some_and(|n| n.ancestors().any(|x| x.id() == b))
            || tree.get(b).is_some_and(|n| n.ancestors().any(|x| x.id() == a))
    };
    let mut runners: Vec<NodeId> = vec![top];
    for &(_, id) in &close {
        if !runners.iter().any(|&r| r == id || related(r, id)) {
            runners.push(id);
        }
    }
    if runners.len() >= 3 {
        let mut ancestor = tree.get(top).and_then(|n| n.parent());
        while let Some(a) = ancestor {
            if a.value().as_element().is_none_or(|e| matches!(e.name(), "body" | "html")) {
                break;
            }
            let inside = runners
                .iter()
                .filter(|&&r| tree.get(r).is_some_and(|n| n.ancestors().any(|x| x.id() == a.id())))
                .count();
            if inside >= 3 {
                top = a.id();
                break;
            }
            ancestor = a.parent();
        }
    }
    // An only child: its parent holds the same text, and its siblings may
    // be the rest of the article.
    while let Some(parent) = tree.get(top).and_then(|n| n.parent()) {
        let Some(e) = parent.value().as_element() else { break };
        if matches!(e.name(), "body" | "html") || text_of(parent.id()) != text_of(top) {
            break;
        }
        top = parent.id();
    }
    let Some(top_node) = tree.get(top) else { return Chosen { nodes: vec![top], text: text_of(top) } };
    let Some(parent) = top_node.parent() else { return Chosen { nodes: vec![top], text: text_of(top) } };
    let top_class = top_node.value().as_element().and_then(|e| attr(e, local_name!("class"))).unwrap_or_default();
    let threshold = (top_score * 0.2).max(10.0);
    // The best candidate inside each sibling: a sibling wrapping the next
    // part of the article several levels above its paragraphs (sections of
    // one article, each in its own wrapper) has no score of its own.
    let mut inner: IdMap<f32> = IdMap::default();
    for (&id, &score) in &scores {
        let Some(n) = tree.get(id) else { continue };
        let score = final_score(&id, score);
        for a in std::iter::once(n).chain(n.ancestors()) {
            match a.parent() {
                Some(p) if p.id() == parent.id() => {
                    let best = inner.entry(a.id()).or_insert(f32::MIN);
                    *best = best.max(score);
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
    }
    let mut nodes = Vec::new();
    let mut text = 0;
    for sibling in parent.children() {
        let Some(e) = sibling.value().as_element() else { continue };
        let Some(s) = net.get(&sibling.id()) else { continue };
        let include = if sibling.id() == top {
            true
        } else {
            let same_class = !top_class.is_empty() && attr(e, local_name!("class")) == Some(top_class);
            let mut score = scores.get(&sibling.id()).copied().unwrap_or(0.0) * (1.0 - s.link_density());
            if same_class {
                score += top_score * 0.2;
            }
            let best_inside = inner.get(&sibling.id()).copied().unwrap_or(f32::MIN);
            // A sibling of the top's own kind (same class) with a good
            // candidate inside is the next part of the article.
            if score >= threshold && scores.contains_key(&sibling.id()) || best_inside >= threshold && same_class {
                true
            } else if e.name() == "p" {
                let density = s.link_density();
                if s.text > 80 && density < 0.25 {
                    true
                } else if s.text > 0 && s.text <= 80 && density == 0.0 {
                    let t = crate::markup::text_of(sibling);
                    t.ends_with('.') || t.contains(". ")
                } else {
                    false
                }
            } else {
                false
            }
        };
        // Mostly furniture to the block classifier: a tool row, a pager, a
        // teaser beside the article, whatever its shape. (Read last: the
        // blocks of a sibling left out anyway need no scores.)
        let include =
            include && (sibling.id() == top || !furniture.is_some_and(|f| f.share(sibling.id()) >= FURNITURE_SIBLING));
        if include {
            nodes.push(sibling.id());
            text += s.text;
        }
    }
    Chosen { nodes, text }
}

fn escape(text: &str, attr: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// The name an element is serialised under: a `form` that is not junk
/// wraps the page's content (ASP.NET wraps every page in one), and the
/// cleaner drops forms.
fn serialized_name(name: &str) -> &str {
    if name == "form" { "div" } else { name }
}

/// The elements down from `node` that hold more than half of its text:
/// the article's own containers. Serialised without class and id, so the
/// cleaner's markup rules (a `caption` box, a `share` wrapper) cannot take
/// the article for furniture around it.
pub(crate) fn spine(node: NodeRef<'_, Node>, net: &NodeMap<Stats>, out: &mut NodeSet) {
    let half = net.get(&node.id()).map_or(0, |s| s.text) / 2;
    let mut cur = Some(node);
    while let Some(n) = cur {
        out.insert(n.id());
        cur = n.children().find(|c| net.get(&c.id()).is_some_and(|s| s.text > half));
    }
}

/// Serialise a subtree as HTML without its junk (and without scripts), and
/// the `plain` elements without class and id.
pub(crate) fn serialize(node: NodeRef<'_, Node>, junk: &NodeSet, plain: &NodeSet, out: &mut String) {
    let mut skipping: Option<NodeId> = None;
    for edge in node.traverse() {
        match edge {
            Edge::Open(n) => {
                if skipping.is_some() {
                    continue;
                }
                match n.value() {
                    Node::Element(e) => {
                        if junk.contains(&n.id()) || matches!(e.name(), "script" | "style" | "noscript" | "template") {
                            skipping = Some(n.id());
                            continue;
                        }
                        out.push('<');
                        out.push_str(serialized_name(e.name()));
                        let named = !plain.contains(&n.id());
                        for (k, v) in e.attrs() {
                            // Only what the cleaner reads: classes, ids, links.
                            if matches!(k, "href" | "src" | "title" | "cite" | "lang")
                                || named && (matches!(k, "class" | "id") || k.starts_with("data-"))
                            {
                                out.push(' ');
                                out.push_str(k);
                                out.push_str("=\"");
                                escape(v, true, out);
                                out.push('"');
                            }
                        }
                        out.push('>');
                    }
                    Node::Text(t) => escape(t, false, out),
                    _ => {}
                }
            }
            Edge::Close(n) => {
                if let Some(id) = skipping {
                    if id == n.id() {
                        skipping = None;
                        // A dropped block still ends the paragraph before it.
                        if let Node::Element(e) = n.value()
                            && is_block(e.name())
                        {
                            out.push_str("<div></div>");
                        }
                    }
                    continue;
                }
                if let Node::Element(e) = n.value()
                    && !is_void(e.name())
                {
                    out.push_str("</");
                    out.push_str(serialized_name(e.name()));
                    out.push('>');
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_length_collapses_whitespace_and_counts_commas() {
        assert_eq!(text_len("  a,  b ,c  "), (8, 2));
        assert_eq!(text_len("一，二"), (9, 1));
    }

    /// The chosen container of a page of hand-written blocks: its
    /// elements' ids, with `furniture` shares of the given elements (by id).
    fn chosen(html: &str, furniture: &[(&str, f32)]) -> Vec<String> {
        let doc = crate::parse::document(html);
        let tree = &doc.tree;
        let body = super::super::body_of(&doc);
        let none = NodeSet::new(tree.values().len());
        let mut stats = measure(tree.root(), &none, |_, _| {}, |_, _, _| {});
        let (hard, roles) = hard_junk(body, &stats, &none);
        subtract(&mut stats, tree, &hard.roots);
        let junk = soft_junk(body, &stats, &hard.set, &roles, &none, None);
        subtract(&mut stats, tree, &junk.roots);
        let paragraphs = prose_units(tree, &stats, &junk.candidates);
        let id_of = |n: NodeRef<'_, Node>| n.value().as_element().and_then(|e| e.id()).unwrap_or("").to_string();
        let shares: Vec<(NodeId, f32)> = tree
            .root()
            .descendants()
            .filter_map(|n| furniture.iter().find(|(id, _)| *id == id_of(n)).map(|&(_, s)| (n.id(), s)))
            .collect();
        assert_eq!(shares.len(), furniture.len(), "every element named is on the page");
        let f = (!furniture.is_empty()).then(|| PageFurniture::fixed(tree.values().len(), &shares));
        let c = best_candidate(body, &stats, &roles, &paragraphs, f.as_ref());
        c.nodes.iter().filter_map(|&id| tree.get(id)).map(id_of).collect()
    }

    /// A schedule beside the article holds more text and more commas than
    /// the article, in paragraphs of its own and with no class to name it:
    /// by Readability's numbers it is the page's main text, and its
    /// container was chosen. When the block classifier calls its lines
    /// furniture, they count for little and the article's container is
    /// chosen, without the schedule as a sibling.
    #[test]
    fn paragraphs_the_classifier_calls_furniture_count_for_little() {
        let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
        let mut schedule = String::new();
        for (i, day) in days.iter().cycle().take(36).enumerate() {
            schedule.push_str(&format!(
                "<p id=\"s{i}\">{day}, {} November, {}:30 PM, Harbour Hall, Room {}, Free entry, Register now</p>",
                i + 3,
                i % 9 + 1,
                100 + i
            ));
        }
        let p = |t: &str| {
            format!(
                "<p>The {t} reopened on Monday after two years of repairs, and the first cars crossed at dawn. \
                 Engineers said the deck, the cables and the towers had all been checked.</p>"
            )
        };
        let html = format!(
            "<html><body><div id=\"page\"><div id=\"story\"><h1>Bridge reopens</h1>{}{}{}</div>\
             <div id=\"schedule\">{schedule}</div></div></body></html>",
            p("bridge"),
            p("quay"),
            p("tunnel")
        );
        assert_eq!(chosen(&html, &[]), ["schedule"]);
        let mut furniture: Vec<(String, f32)> = (0..36).map(|i| (format!("s{i}"), 0.9)).collect();
        furniture.push(("schedule".to_string(), 0.9));
        let named: Vec<(&str, f32)> = furniture.iter().map(|(id, s)| (id.as_str(), *s)).collect();
        assert_eq!(chosen(&html, &named), ["story"]);
        // Lines the classifier is unsure of (0.5) still win by their
        // numbers, and the article comes as their sibling: the signal
        // weighs, it does not decide alone.
        let unsure: Vec<(&str, f32)> = named.iter().map(|&(id, _)| (id, 0.5)).collect();
        assert_eq!(chosen(&html, &unsure), ["story", "schedule"]);

        // A sibling of the article that scores as a part of it is merged,
        // unless the classifier calls its text furniture.
        let html = format!(
            "<html><body><div id=\"page\"><div id=\"story\"><h1>Bridge reopens</h1>{}{}{}</div>\
             <div id=\"part\">{}</div></div></body></html>",
            p("bridge"),
            p("quay"),
            p("tunnel"),
            schedule.split("</p>").take(2).collect::<Vec<_>>().join("</p>") + "</p>"
        );
        assert_eq!(chosen(&html, &[]), ["story", "part"]);
        assert_eq!(chosen(&html, &[("part", 0.6)]), ["story", "part"]);
        assert_eq!(chosen(&html, &[("part", FURNITURE_SIBLING)]), ["story"]);
    }

    #[test]
    fn furniture_roles_weigh_down_content_roles_up() {
        assert!(class_weight(hints::token_roles("comments")) < 0.0);
        assert_eq!(class_weight(hints::token_roles("shadow")), 0.0);
        assert!(class_weight(hints::token_roles("articlebody")) > 0.0);
        assert!(class_weight(hints::token_roles("sidebar")) < 0.0);
        // A tag slug on an article wrapper weighs nothing either way.
        assert_eq!(class_weight(hints::token_roles("tag-cookie-recipes")), 0.0);
    }
}
