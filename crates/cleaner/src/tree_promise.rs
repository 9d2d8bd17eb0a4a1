//! For the fuzz target only (cargo feature `fuzzing`): newswire's tree
//! builder held to html5ever under what it promises (docs/extraction.md,
//! "The tree builder"): on any input it does not report as leaving the
//! standard's algorithm, the text line by line and the outline of
//! non-formatting elements equal html5ever's, in page mode (against
//! html5ever's tree less the elements page mode leaves out) and in fragment
//! mode.

use scraper::Html;

use crate::parse::promise::{reading, without_unread};
use crate::parse::{document_checked, fragment_checked};

/// Where the builder and html5ever read an input differently.
#[derive(Debug)]
pub struct Mismatch {
    /// `page` or `fragment`.
    pub mode: &'static str,
    /// The builder's reading: text lines, then outline lines.
    pub ours: (Vec<String>, Vec<String>),
    /// html5ever's.
    pub theirs: (Vec<String>, Vec<String>),
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} mode: ours {:#?}\nhtml5ever {:#?}", self.mode, self.ours, self.theirs)
    }
}

/// Compare the builder with html5ever on `html`; Ok when they read the same
/// or the builder reports that the input leaves its promise. Inputs with
/// `annotation-xml` are not compared: html5ever does not take one whose
/// `encoding` is `text/html` in another case for an HTML integration point,
/// as the standard (and the builder, and the html5lib suite) do.
pub fn check(html: &str) -> Result<(), Mismatch> {
    if memchr::memmem::find(html.to_ascii_lowercase().as_bytes(), b"annotation-xml").is_some() {
        return Ok(());
    }
    let (page, deviations) = document_checked(html);
    if deviations.is_empty() {
        let ours = reading(page.tree.root());
        let theirs = reading(without_unread(Html::parse_document(html)).tree.root());
        if ours != theirs {
            return Err(Mismatch { mode: "page", ours, theirs });
        }
    }
    let (fragment, deviations) = fragment_checked(html);
    if deviations.is_empty() {
        let ours = reading(fragment.tree.root());
        let theirs = reading(Html::parse_fragment(html).tree.root());
        if ours != theirs {
            return Err(Mismatch { mode: "fragment", ours, theirs });
        }
    }
    Ok(())
}
