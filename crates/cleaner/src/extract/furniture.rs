//! The block classifier's view of the whole page, for choosing the
//! article's container: how much of each element's text the classifier
//! calls furniture.
//!
//! [`PageFurniture::of`] walks the page (without the hard junk) into
//! blocks the way the cleaner's HTML walk does (block elements break
//! paragraphs, `<br>`s break lines; the classifier's own path tracker
//! reads the tag path and class/id tokens, taking the roles the junk walk
//! already read), notes which blocks start inside every element (a range:
//! blocks are in document order), and scores a block with the shipped
//! model, the page as one item (as it was trained: whole pages), when the
//! container choice first reads the share of an element holding it
//! ([`PageFurniture::share`]: the text-weighted mean of its blocks'
//! scores). Unlike the cleaner, it scores long and prose blocks too: a
//! teaser's sentence or a comment is prose the model can still place as
//! furniture by its neighbours, its position and its markup.
//!
//! The cleaner's markup and text rules do not run here: the signal is
//! the model's, on the page as it stands. Scoring is linear in the blocks
//! (one dot product each, at most once); a page of more than
//! [`MAX_BLOCKS`] gets none. Most blocks of a page (menus, link rows, a
//! sidebar's short lines) are never scored: the choice reads only the
//! paragraphs it weighs and the siblings it would merge
//! (docs/extraction.md, "Block scores in choosing the container").

use std::cell::RefCell;

use ego_tree::iter::Edge;
use ego_tree::{NodeId, NodeRef};
use scraper::Node;

use super::content::{RoleMap, is_silent};
use super::table::{NodeSet, index};
use crate::classifier::features::{Page, PathTracker};
use crate::classifier::{BlockMarkup, Model, score_of};
use crate::html::{Nesting, ParaFlags, is_block, join_lines};

/// Pages with more blocks than this get no signal (the choice is made
/// without it): scoring is linear, but such a page is hostile or an index.
const MAX_BLOCKS: usize = 5_000;

/// The page's blocks, scored when first read: the container choice reads
/// the shares of the paragraphs it weighs (of 25 characters or more) and
/// of the siblings it would merge, so the blocks outside them (menus,
/// link rows, the short lines of a sidebar) are never scored. A block's
/// score is the same whichever others are scored (its features read the
/// others' shapes, all taken up front).
pub(crate) struct PageFurniture {
    model: &'static Model,
    paragraphs: Vec<String>,
    flags: Vec<ParaFlags>,
    markup: Vec<BlockMarkup>,
    lazy: RefCell<Lazy>,
}

/// What reading shares fills in.
struct Lazy {
    page: Page,
    /// Per block: its furniture score, NaN until scored.
    scores: Vec<f32>,
    /// Per element, by [`index`].
    spans: Vec<Span>,
}

/// An element's blocks, those whose first text lies inside it (blocks are
/// in document order), and their share once read.
#[derive(Clone, Copy)]
struct Span {
    from: u32,
    to: u32,
    /// NaN until read.
    share: f32,
}

impl Default for Span {
    fn default() -> Span {
        Span { from: 0, to: 0, share: f32::NAN }
    }
}

impl PageFurniture {
    /// The text-weighted mean furniture score of the blocks that start
    /// inside `id` (0 for an element without scored text).
    pub(crate) fn share(&self, id: NodeId) -> f32 {
        let at = index(id);
        let mut lazy = self.lazy.borrow_mut();
        let Lazy { page, scores, spans } = &mut *lazy;
        let Some(span) = spans.get_mut(at) else { return 0.0 };
        if !span.share.is_nan() {
            return span.share;
        }
        let (from, to) = (span.from, span.to);
        let (mut bytes, mut furniture) = (0.0f32, 0.0f32);
        let mut words = Vec::new();
        let blocks = from as usize..to as usize;
        let (Some(texts), Some(scored)) = (self.paragraphs.get(blocks.clone()), scores.get_mut(blocks.clone())) else {
            return 0.0;
        };
        for ((b, p), score) in blocks.zip(texts).zip(scored) {
            if score.is_nan() {
                let flag = self.flags.get(b).copied();
                page.features(&self.paragraphs, &self.markup, b, &mut words, |f| {
                    *score = score_of(self.model, f, flag);
                });
            }
            let n = p.len() as f32;
            bytes += n;
            furniture += n * *score;
        }
        let share = if bytes > 0.0 { furniture / bytes } else { 0.0 };
        span.share = share;
        share
    }

    /// The blocks of the page under `root` without the subtrees in `skip`,
    /// to be scored by `model`; None when the page has no blocks or too
    /// many. `roles`: those the junk walk read of every element outside
    /// `skip`, so the classifier's path tracker does not read them again.
    pub(crate) fn of(
        root: NodeRef<'_, Node>,
        skip: &NodeSet,
        roles: &RoleMap,
        model: &'static Model,
    ) -> Option<PageFurniture> {
        let len = root.tree().values().len();
        let mut walk = Walk { begun_pushed: vec![0], ..Walk::default() };
        // Per element: the blocks begun before it opened and closed.
        let mut spans = vec![Span::default(); len];
        let mut skipping: Option<NodeId> = None;
        for edge in root.traverse() {
            match edge {
                Edge::Open(n) => {
                    if skipping.is_some() {
                        continue;
                    }
                    match n.value() {
                        Node::Text(t) => walk.text(t),
                        Node::Element(e) => {
                            let name = e.name();
                            if skip.contains(&n.id()) || is_silent(name) {
                                skipping = Some(n.id());
                                if is_block(name) {
                                    walk.flush();
                                }
                                continue;
                            }
                            if name == "br" {
                                walk.breaks.push(walk.current.len());
                                continue;
                            }
                            if is_block(name) {
                                walk.flush();
                            }
                            walk.nesting.nest(name, true);
                            walk.path.open_with(n.id(), e, Some(roles.get(&n.id()).copied().unwrap_or_default()));
                            walk.open.push(n.id());
                            if let Some(span) = spans.get_mut(index(n.id())) {
                                span.from = walk.begun();
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
                    if e.name() == "br" {
                        continue;
                    }
                    if is_block(e.name()) {
                        walk.flush();
                    }
                    walk.nesting.nest(e.name(), false);
                    walk.path.close(n.id());
                    walk.open.pop();
                    if let Some(span) = spans.get_mut(index(n.id())) {
                        span.to = walk.begun();
                    }
                }
            }
        }
        walk.flush();
        if walk.paragraphs.is_empty() || walk.paragraphs.len() > MAX_BLOCKS {
            return None;
        }
        // Blocks begun → blocks kept (a block of only invisible text is
        // begun but normalised away).
        let kept = |k: u32| walk.begun_pushed.get(k as usize).copied().unwrap_or_default();
        for span in &mut spans {
            (span.from, span.to) = (kept(span.from), kept(span.to.max(span.from)));
        }
        let (page, _) = Page::new(&walk.paragraphs, &walk.markup, false);
        let n = walk.paragraphs.len();
        Some(PageFurniture {
            model,
            lazy: RefCell::new(Lazy { page, scores: vec![f32::NAN; n], spans }),
            paragraphs: walk.paragraphs,
            flags: walk.flags,
            markup: walk.markup,
        })
    }
}

/// The blocks of a page, built as the cleaner's HTML walk builds them.
#[derive(Default)]
struct Walk {
    paragraphs: Vec<String>,
    flags: Vec<ParaFlags>,
    markup: Vec<BlockMarkup>,
    /// Per block begun (one whose first text was read), in order: how
    /// many blocks were kept up to it, the first entry 0.
    begun_pushed: Vec<u32>,
    current: String,
    breaks: Vec<usize>,
    current_markup: BlockMarkup,
    current_owner: Option<NodeId>,
    path: PathTracker,
    /// The open elements, innermost last.
    open: Vec<NodeId>,
    /// How many `<pre>`, table cells, headings and blockquotes are open,
    /// and which of them the current paragraph's text sat in.
    nesting: Nesting,
    current_flag: Option<ParaFlags>,
}

impl Walk {
    fn text(&mut self, t: &str) {
        if t.trim().is_empty() {
            if !self.current.is_empty() {
                self.current.push(' ');
            }
            return;
        }
        if self.current_owner.is_none() {
            self.current_owner = self.open.last().copied();
        }
        // The classifier reads one flag per block here (the cleaner's walk
        // keeps them all; a block is rarely two of them).
        if self.current_flag.is_none() {
            let n = self.nesting;
            self.current_flag = if n.pre > 0 {
                Some(ParaFlags::PRE)
            } else if n.cell > 0 {
                Some(ParaFlags::CELL)
            } else if n.heading > 0 {
                Some(ParaFlags::HEADING)
            } else if n.quote > 0 {
                Some(ParaFlags::QUOTE)
            } else {
                None
            };
        }
        self.path.text(t, self.current.is_empty(), &mut self.current_markup);
        self.current.push_str(t);
    }

    /// Blocks begun so far, the current one included once its first text
    /// is read.
    fn begun(&self) -> u32 {
        let n = self.begun_pushed.len() - 1 + usize::from(self.current_owner.is_some());
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn flush(&mut self) {
        let p = join_lines(&self.current, &self.breaks);
        if self.current_owner.is_some() {
            if !p.is_empty() {
                self.paragraphs.push(p);
                self.flags.push(self.current_flag.unwrap_or_default());
                self.markup.push(self.current_markup);
            }
            self.begun_pushed.push(u32::try_from(self.paragraphs.len()).unwrap_or(u32::MAX));
        }
        self.current_markup.clear();
        self.current.clear();
        self.breaks.clear();
        self.current_owner = None;
        self.current_flag = None;
    }
}

#[cfg(test)]
impl PageFurniture {
    /// Given shares of some elements of a tree of `len` nodes, the rest 0.
    pub(crate) fn fixed(len: usize, shares: &[(NodeId, f32)]) -> PageFurniture {
        let mut spans = vec![Span { from: 0, to: 0, share: 0.0 }; len];
        for &(id, share) in shares {
            spans[index(id)].share = share;
        }
        let (page, _) = Page::new(&[], &[], false);
        PageFurniture {
            model: Model::shipped().expect("the shipped model reads"),
            paragraphs: Vec::new(),
            flags: Vec::new(),
            markup: Vec::new(),
            lazy: RefCell::new(Lazy { page, scores: Vec::new(), spans }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a page of its own making: the rows of a menu score as furniture,
    /// the article's sentences as article text; an element's share is the
    /// byte-weighted mean of the blocks in it; the subtrees skipped count
    /// for nothing.
    #[test]
    fn menu_rows_score_as_furniture_prose_as_article_text() {
        let menu: String = ["Home", "News", "Sport", "Business", "Culture", "Weather", "Travel", "Contact"]
            .iter()
            .map(|m| format!("<li><a href=\"/{m}\">{m}</a></li>"))
            .collect();
        let p = |t: &str| {
            format!(
                "<p>The {t} reopened on Monday after two years of repairs, and the first cars crossed at dawn. \
                 Engineers said the deck, the cables and the towers had all been checked.</p>"
            )
        };
        let html = format!(
            "<html><body><ul id=\"top\">{menu}</ul><div id=\"story\"><h1>Bridge reopens</h1>{}{}{}{}</div>\
             <div id=\"side\"><p>A paragraph of text that the walk never reads, skipped as junk.</p></div>\
             <ul id=\"bottom\">{menu}</ul></body></html>",
            p("bridge"),
            p("quay"),
            p("tunnel"),
            p("ramp")
        );
        let doc = crate::parse::document(&html);
        let by_id = |id: &str| {
            doc.tree
                .root()
                .descendants()
                .find(|n| n.value().as_element().is_some_and(|e| e.id() == Some(id)))
                .expect("element of the page")
        };
        let mut skip = NodeSet::new(doc.tree.values().len());
        skip.insert(by_id("side").id());
        let model = Model::shipped().expect("the shipped model reads");
        let mut roles = RoleMap::new(doc.tree.values().len());
        for n in doc.tree.root().descendants() {
            if let Some(e) = n.value().as_element()
                && !crate::hints::roles(e).is_empty()
            {
                roles.insert(n.id(), crate::hints::roles(e));
            }
        }
        let f = PageFurniture::of(doc.tree.root(), &skip, &roles, model).expect("the page has blocks");
        for menu in ["top", "bottom"] {
            assert!(f.share(by_id(menu).id()) > 0.8, "{menu}: {}", f.share(by_id(menu).id()));
        }
        let story = by_id("story");
        let paragraphs: Vec<NodeRef<'_, Node>> =
            story.children().filter(|n| n.value().as_element().is_some_and(|e| e.name() == "p")).collect();
        assert_eq!(paragraphs.len(), 4);
        for p in &paragraphs {
            assert!(f.share(p.id()) < 0.25, "{}", f.share(p.id()));
        }
        assert!(f.share(story.id()) < 0.1, "{}", f.share(story.id()));
        assert_eq!(f.share(by_id("side").id()), 0.0);
        // The body's share is the mean of the page's blocks by their bytes:
        // between the story's and the menus'.
        let body = story.parent().expect("body");
        let (s, m) = (f.share(story.id()), f.share(by_id("top").id()));
        assert!(f.share(body.id()) > s && f.share(body.id()) < m, "{}", f.share(body.id()));
        // Scored one by one, as read, the blocks score as all of them at
        // once, and every element's share is the mean over its blocks.
        let every = crate::classifier::scores_of(model, &f.paragraphs, &f.flags, &f.markup, false);
        let lazy = f.lazy.borrow();
        for (b, s) in lazy.scores.iter().enumerate() {
            assert!(s.is_nan() || (s - every[b]).abs() < 1e-6, "block {b}: {s} vs {}", every[b]);
        }
        drop(lazy);
        for n in doc.tree.root().descendants() {
            let share = f.share(n.id());
            let span = f.lazy.borrow().spans[index(n.id())];
            let blocks = span.from as usize..span.to as usize;
            let bytes: f32 = f.paragraphs[blocks.clone()].iter().map(|p| p.len() as f32).sum();
            let furniture: f32 = blocks.map(|b| f.paragraphs[b].len() as f32 * every[b]).sum();
            let mean = if bytes > 0.0 { furniture / bytes } else { 0.0 };
            assert!((share - mean).abs() < 1e-5, "{share} vs {mean}");
        }
        // One paragraph read: its block and no other is scored.
        let g = PageFurniture::of(doc.tree.root(), &skip, &roles, model).expect("the page has blocks");
        assert!(g.share(paragraphs[1].id()) < 0.25);
        assert_eq!(g.lazy.borrow().scores.iter().filter(|s| !s.is_nan()).count(), 1);
    }
}
