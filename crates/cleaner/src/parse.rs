//! newswire's HTML tree builder: one linear pass from bytes to the same
//! `scraper::Html` tree html5ever builds, for the markup news pages carry.
//!
//! html5ever implements the whole WHATWG parsing algorithm, character by
//! character through a queue of tendrils; on a 100 KB page that alone took
//! longer than the issue's budget for the whole extraction (docs/extraction.md).
//! The extractor and the cleaner read text, tag names, attributes and the
//! nesting of blocks, so this builder does the part of the algorithm that
//! decides those and skips the rest:
//!
//! - the tokenizer: tags and attributes (quoted, unquoted, duplicates),
//!   comments, doctypes and other bogus markup, raw text (`script`, `style`,
//!   …), RCDATA (`title`, `textarea`), `plaintext`, character references
//!   (html5ever's own table of named references, numeric ones with the
//!   Windows-1252 remapping), newline normalisation; a `<` that opens
//!   nothing is text;
//! - the tree: implied `html`, `head` and `body`, head content before the
//!   body, void elements, the implied end tags (a block closes an open `p`,
//!   `li` closes `li`, `dd`/`dt`, headings, `option`, nested `a`, table rows
//!   and cells with implied `tbody` and `tr`), end tags matched within the
//!   spec's scopes (an end tag that would cross a block it did not open is
//!   ignored, a block's end tag closes what is open inside it), SVG and
//!   MathML as foreign content with their self-closing tags and the HTML
//!   tags that break out of them.
//!
//! Also the script data states (a `<script>` written inside `<!--` in a
//! script does not end it), quirks mode from the doctype (a `<table>` inside
//! an open `<p>`), ruby's implied end tags, a `<table>` where a table's parts
//! go closing that table, a second `<html>`/`<body>` adding its attributes,
//! the HTML integration points of SVG and MathML as scope boundaries.
//!
//! Also the list of active formatting elements and its reconstruction: a
//! `<b>` a block closed is re-opened (a copy, same attributes) for the next
//! text or inline element, as the standard does; it matters to the text
//! where the copy outlives a block around it (`</form>` takes the form off
//! the stack and leaves what is open inside it open:
//! `<form><ol><b></ol>word</form>more` reads `wordmore`, one line).
//!
//! Not done, because no text or block changes with it but for a paragraph
//! break it can move: the adoption agency (a misnested `<b>` ends where its
//! end tag or its parent ends), foster parenting (text misplaced in a
//! table stays where it was written), the `select` and `frameset` modes. The
//! builder reports when an input takes the algorithm there ([`Deviation`]);
//! on every other input its text and outline of blocks are the standard's:
//! the html5lib tree-construction suite (`crate::html5lib_suite`), the
//! fixture pages and generated markup (`tests` below) hold it to that.
//!
//! Hostile markup stays linear: start tags nested deeper than [`MAX_DEPTH`]
//! are dropped with their end tags, tags keep at most [`MAX_ATTRIBUTES`]
//! attributes, and the list of formatting elements to re-open holds at
//! most [`MAX_ACTIVE`] (three alike at most, as the standard's "Noah's Ark"
//! clause says), so a text re-opens at most that many, however many came
//! before (html5ever re-opens every one: paragraph N of hostile markup held
//! N nested `<b>`s).
//!
//! In page mode ([`document`]) what the extractor never reads is not built:
//! scripts (but JSON-LD), styles, `noscript`, `template`, inline SVG and
//! MathML, `textarea`. Left in the tree they would sway its structure rules,
//! and they are most of a real page's bytes.

use std::borrow::Cow;

use ego_tree::{NodeId, Tree};
use markup5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};
use markup5ever::interface::QuirksMode;
use markup5ever::{Attribute, LocalName, Namespace, QualName, local_name, ns};
use scraper::node::{Element, Text};
use scraper::{Html, Node, StrTendril};

/// Start tags nested deeper than this are dropped, with their end tags.
pub(crate) const MAX_DEPTH: usize = 256;

/// Attributes of one tag beyond this are dropped.
pub(crate) const MAX_ATTRIBUTES: usize = 128;

/// Parse a whole page, leaving out what the extractor never reads.
pub(crate) fn document(html: &str) -> Html {
    Builder::new(html, true).run().0
}

/// Parse a fragment as html5ever does in a `<body>` context: a fragment
/// root holding an `html` element holding the nodes.
pub(crate) fn fragment(html: &str) -> Html {
    Builder::new(html, false).run().0
}

/// Where the builder left the standard's algorithm on an input, so that
/// its tree may differ from a conforming parser's beyond the text and the
/// outline of blocks it promises (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Deviation {
    /// A formatting end tag with a block open inside its element, or an
    /// `<a>` while one is open across a block: the adoption agency would
    /// move the blocks.
    AdoptionAgency,
    /// Text or elements where a table allows none: foster parenting would
    /// move them before the table.
    FosterParenting,
    /// A `<select>`'s own parsing mode.
    Select,
    /// A `<frameset>` page.
    Frameset,
    /// Inside a `<template>`: its own insertion modes (table parts as
    /// children) are not modelled.
    Template,
    /// A formatting element closed by something else than its end tag (a
    /// block's end, `</p>`), then its end tag or (for `a`, `nobr`) its start
    /// tag: the standard re-opens such elements, and its adoption agency
    /// may then close others than this builder does.
    Reconstruction,
    /// A self-closed raw-text element (`<script src=… />`, `<textarea/>`)
    /// is taken as empty, not as text to the next end tag: XHTML-style
    /// feeds write it, and the rest of the item must not become script.
    SelfClosedRawText,
}

#[cfg(test)]
impl Deviation {
    /// Why a tree may differ where the builder deviated.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Deviation::AdoptionAgency => {
                "adoption agency: a formatting element closed across a block is not split and re-opened"
            }
            Deviation::FosterParenting => "foster parenting: text or elements misplaced in a table stay where written",
            Deviation::Select => "select mode: tags inside a <select> are built as written",
            Deviation::Frameset => "frameset pages: a <frameset> is ignored and the page read as a body",
            Deviation::Template => "template contents: the parts of a <template> are built as written",
            Deviation::Reconstruction => {
                "re-opened formatting: an end tag for a formatting element closed earlier by a block"
            }
            Deviation::SelfClosedRawText => {
                "a self-closed <script/>, <style/>, <textarea/> … is empty, not text to the next end tag"
            }
        }
    }
}

/// [`document`], with where the builder left the standard's algorithm.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn document_checked(html: &str) -> (Html, Vec<Deviation>) {
    Builder::new(html, true).run()
}

/// [`fragment`], with where the builder left the standard's algorithm.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fragment_checked(html: &str) -> (Html, Vec<Deviation>) {
    Builder::new(html, false).run()
}

// What the tree builder needs to know of a tag name.
const VOID: u32 = 1;
/// The spec's "special" elements: an ordinary end tag never closes one.
const SPECIAL: u32 = 1 << 1;
/// Its start tag closes an open `p`.
const CLOSES_P: u32 = 1 << 2;
const HEADING: u32 = 1 << 3;
const FORMATTING: u32 = 1 << 4;
/// A boundary of the default scope.
const SCOPE: u32 = 1 << 5;
/// Its end tag closes everything open inside it (when it is in scope).
const BLOCK_END: u32 = 1 << 6;
/// Goes in the head when it comes before the body.
const HEAD_CONTENT: u32 = 1 << 7;
/// Its contents are text up to its end tag.
const RAW: u32 = 1 << 8;
/// Raw text with character references.
const RCDATA: u32 = 1 << 9;
/// Not built in page mode.
const UNREAD: u32 = 1 << 10;
const TABLE_SECTION: u32 = 1 << 11;
/// An HTML start tag that ends foreign (SVG, MathML) content.
const BREAKOUT: u32 = 1 << 12;
/// `ol`, `ul`: a boundary of list item scope.
const LIST: u32 = 1 << 13;
/// `html`, `table`, `template`: the boundaries of table scope.
const TABLE_SCOPE: u32 = 1 << 14;
/// `button`: a boundary of button scope besides the default ones.
const BUTTON: u32 = 1 << 15;
/// A foreign element whose children are HTML (SVG `foreignObject`, `desc`,
/// `title`; MathML `mi` … `mtext`, `annotation-xml` of HTML).
const INTEGRATION: u32 = 1 << 16;
/// A foreign element that bounds the default scope.
const FOREIGN_SCOPE: u32 = 1 << 17;
/// A foreign element in the MathML namespace (else SVG).
const MATHML: u32 = 1 << 18;

fn classify(name: &str) -> u32 {
    match name {
        "area" | "wbr" | "keygen" | "frame" | "param" | "source" | "track" | "col" | "input" => VOID | SPECIAL,
        "br" | "img" | "embed" | "hr" => VOID | SPECIAL | BREAKOUT | if name == "hr" { CLOSES_P } else { 0 },
        "base" | "basefont" | "bgsound" | "link" => VOID | SPECIAL | HEAD_CONTENT,
        "meta" => VOID | SPECIAL | HEAD_CONTENT | BREAKOUT,
        "image" => VOID,
        "title" => SPECIAL | HEAD_CONTENT | RCDATA,
        "textarea" => SPECIAL | RCDATA | UNREAD,
        "style" | "noscript" => SPECIAL | HEAD_CONTENT | RAW | UNREAD,
        "script" => SPECIAL | HEAD_CONTENT | RAW | UNREAD,
        "template" => SPECIAL | HEAD_CONTENT | SCOPE | TABLE_SCOPE | UNREAD,
        "xmp" => SPECIAL | RAW | CLOSES_P,
        "iframe" | "noembed" => SPECIAL | RAW,
        "noframes" => SPECIAL | RAW | HEAD_CONTENT,
        "plaintext" => SPECIAL | CLOSES_P,
        "svg" | "math" => UNREAD,
        "address" | "article" | "aside" | "blockquote" | "center" | "details" | "dialog" | "dir" | "div"
        | "fieldset" | "figcaption" | "figure" | "footer" | "header" | "hgroup" | "main" | "menu" | "nav"
        | "search" | "section" | "summary" => {
            SPECIAL
                | CLOSES_P
                | BLOCK_END
                | if matches!(name, "blockquote" | "center" | "div" | "menu") { BREAKOUT } else { 0 }
        }
        "dl" => SPECIAL | CLOSES_P | BLOCK_END | BREAKOUT,
        "ol" | "ul" => SPECIAL | CLOSES_P | BLOCK_END | LIST | BREAKOUT,
        "pre" | "listing" => SPECIAL | CLOSES_P | BLOCK_END | BREAKOUT,
        "p" => SPECIAL | CLOSES_P | BREAKOUT,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => SPECIAL | CLOSES_P | HEADING | BREAKOUT,
        "form" => SPECIAL | CLOSES_P | BLOCK_END,
        "li" | "dd" | "dt" => SPECIAL | BREAKOUT,
        "table" => SPECIAL | CLOSES_P | SCOPE | TABLE_SCOPE | BREAKOUT,
        "tbody" | "thead" | "tfoot" => SPECIAL | TABLE_SECTION,
        "tr" => SPECIAL,
        "td" | "th" | "caption" => SPECIAL | SCOPE,
        "colgroup" => SPECIAL,
        "applet" | "marquee" | "object" => SPECIAL | SCOPE | BLOCK_END,
        "button" => SPECIAL | BLOCK_END | BUTTON,
        "html" => SPECIAL | SCOPE | TABLE_SCOPE,
        "head" => SPECIAL | BREAKOUT,
        "body" => SPECIAL | BREAKOUT,
        "frameset" | "select" => SPECIAL,
        "a" | "big" | "code" | "em" | "font" | "i" | "nobr" | "s" | "small" | "strike" | "strong" | "tt" | "u" => {
            FORMATTING | if matches!(name, "a" | "font" | "nobr") { 0 } else { BREAKOUT }
        }
        "b" => FORMATTING | BREAKOUT,
        "span" | "sub" | "sup" | "var" | "ruby" => BREAKOUT,
        _ => 0,
    }
}

/// Entries of the list of active formatting elements kept at most: past
/// it a formatting element is not listed (and not re-opened), so hostile
/// markup stays linear.
const MAX_ACTIVE: usize = 12;

/// An entry of the list of active formatting elements.
enum Active {
    /// Opened by `td`, `th`, `caption`, `applet`, `marquee`, `object` or
    /// `template` (the element, at its depth in the stack): what was listed
    /// before it is not re-opened inside it, and what is listed after it
    /// goes when it closes.
    Marker { id: NodeId, depth: usize },
    /// A formatting element, with the attributes a re-opened copy gets,
    /// and its depth in the stack while it is open there.
    Element { id: NodeId, depth: usize, name: LocalName, attrs: Vec<Attribute> },
}

impl Active {
    fn at(&self) -> (NodeId, usize) {
        match self {
            Active::Marker { id, depth } | Active::Element { id, depth, .. } => (*id, *depth),
        }
    }
}

/// Whether a start tag re-opens the formatting elements a block closed
/// before it is inserted: inline elements and the phrasing-level special
/// ones do, blocks, list items, headings, tables and their parts, and the
/// head's elements do not.
fn reopens_formatting(name: &str, flags: u32) -> bool {
    if name == "xmp" {
        return true;
    }
    flags & (CLOSES_P | HEAD_CONTENT) == 0
        && !matches!(
            name,
            "li" | "dd"
                | "dt"
                | "textarea"
                | "iframe"
                | "noembed"
                | "noscript"
                | "rb"
                | "rtc"
                | "rp"
                | "rt"
                | "param"
                | "source"
                | "track"
                | "frame"
                | "caption"
                | "col"
                | "colgroup"
                | "tbody"
                | "td"
                | "tfoot"
                | "th"
                | "thead"
                | "tr"
                | "html"
                | "body"
                | "head"
                | "frameset"
        )
}

/// One element of the stack of open elements.
struct Open {
    id: NodeId,
    name: LocalName,
    flags: u32,
    /// SVG or MathML.
    foreign: bool,
}

struct Builder<'a> {
    src: &'a str,
    page: bool,
    tree: Tree<Node>,
    html: Option<NodeId>,
    head: Option<NodeId>,
    /// The body, or the fragment's `html` element: where the stack starts.
    body: Option<NodeId>,
    stack: Vec<Open>,
    /// Start tags dropped for depth whose end tags are still to come.
    dropped: Vec<LocalName>,
    /// The attributes of the tag being read.
    attrs: Vec<Attribute>,
    scratch: String,
    /// The next element built is cut from the tree at the end (page mode).
    cut: bool,
    /// A form is open: another `<form>` is ignored (the form element pointer).
    form: bool,
    cuts: Vec<NodeId>,
    /// Where the builder left the standard's algorithm (for the tests and
    /// the fuzz target that hold it to html5ever).
    deviations: Vec<Deviation>,
    /// `<select>` elements seen: only then is a start tag checked against
    /// an open one.
    selects: usize,
    /// `<template>` elements seen, likewise.
    templates: usize,
    /// Formatting elements popped by something else than their end tag
    /// (a block's end, `</p>`), by name; past 32, only that there were many.
    closed_formatting: Vec<LocalName>,
    many_closed_formatting: bool,
    /// The list of active formatting elements (the standard's, bounded by
    /// [`MAX_ACTIVE`]): what a block closed is re-opened for the next text
    /// or inline element.
    active: Vec<Active>,
    /// Quirks mode, once the first token decides it (documents only: no
    /// doctype, or a legacy one, means quirks).
    quirks: Option<bool>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Whether `bytes[at..]` starts with `word`, ignoring ASCII case.
fn starts_with_ci(bytes: &[u8], at: usize, word: &[u8]) -> bool {
    bytes.get(at..at + word.len()).is_some_and(|s| s.eq_ignore_ascii_case(word))
}

/// Where the tag whose attributes start at `at` ends (just past its `>`),
/// honouring quoted values; None when the input ends first.
fn skip_tag(bytes: &[u8], mut at: usize) -> Option<usize> {
    while at < bytes.len() {
        match bytes[at] {
            b'>' => return Some(at + 1),
            b'=' => {
                at += 1;
                while at < bytes.len() && is_space(bytes[at]) {
                    at += 1;
                }
                if let Some(&q) = bytes.get(at)
                    && (q == b'"' || q == b'\'')
                {
                    at += 1 + memchr::memchr(q, &bytes[at + 1..])?;
                }
                at += 1;
            }
            _ => at += 1,
        }
    }
    None
}

/// Where a comment whose `<!--` ends at `at` ends.
fn comment_end(bytes: &[u8], at: usize) -> usize {
    if bytes.get(at) == Some(&b'>') {
        return at + 1;
    }
    if bytes.get(at..at + 2) == Some(b"->") {
        return at + 2;
    }
    let mut from = at;
    while let Some(k) = memchr::memmem::find(&bytes[from..], b"--") {
        let dash = from + k;
        let mut after = dash + 2;
        if bytes.get(after) == Some(&b'!') {
            after += 1;
        }
        if bytes.get(after) == Some(&b'>') {
            return after + 1;
        }
        from = dash + 1;
    }
    bytes.len()
}

/// The end of the raw text of element `name` starting at `at`: where its
/// contents end, and where its end tag ends. The contents run to the end
/// of the input when the end tag is missing.
fn raw_end(bytes: &[u8], at: usize, name: &[u8]) -> (usize, usize) {
    if name.eq_ignore_ascii_case(b"script") {
        return script_end(bytes, at);
    }
    let mut from = at;
    while let Some(k) = memchr::memmem::find(&bytes[from..], b"</") {
        let lt = from + k;
        let after = lt + 2 + name.len();
        if starts_with_ci(bytes, lt + 2, name)
            && bytes.get(after).is_none_or(|&b| is_space(b) || b == b'/' || b == b'>')
        {
            return (lt, skip_tag(bytes, after).unwrap_or(bytes.len()));
        }
        from = lt + 2;
    }
    (bytes.len(), bytes.len())
}

/// An SVG element's name as the standard spells it (the HTML tokenizer
/// lowercases every tag).
fn svg_tag_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "altglyph" => "altGlyph",
        "altglyphdef" => "altGlyphDef",
        "altglyphitem" => "altGlyphItem",
        "animatecolor" => "animateColor",
        "animatemotion" => "animateMotion",
        "animatetransform" => "animateTransform",
        "clippath" => "clipPath",
        "feblend" => "feBlend",
        "fecolormatrix" => "feColorMatrix",
        "fecomponenttransfer" => "feComponentTransfer",
        "fecomposite" => "feComposite",
        "feconvolvematrix" => "feConvolveMatrix",
        "fediffuselighting" => "feDiffuseLighting",
        "fedisplacementmap" => "feDisplacementMap",
        "fedistantlight" => "feDistantLight",
        "fedropshadow" => "feDropShadow",
        "feflood" => "feFlood",
        "fefunca" => "feFuncA",
        "fefuncb" => "feFuncB",
        "fefuncg" => "feFuncG",
        "fefuncr" => "feFuncR",
        "fegaussianblur" => "feGaussianBlur",
        "feimage" => "feImage",
        "femerge" => "feMerge",
        "femergenode" => "feMergeNode",
        "femorphology" => "feMorphology",
        "feoffset" => "feOffset",
        "fepointlight" => "fePointLight",
        "fespecularlighting" => "feSpecularLighting",
        "fespotlight" => "feSpotLight",
        "fetile" => "feTile",
        "feturbulence" => "feTurbulence",
        "foreignobject" => "foreignObject",
        "glyphref" => "glyphRef",
        "lineargradient" => "linearGradient",
        "radialgradient" => "radialGradient",
        "textpath" => "textPath",
        _ => return None,
    })
}

/// An SVG attribute's name as the standard spells it.
fn svg_attribute_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "attributename" => "attributeName",
        "attributetype" => "attributeType",
        "basefrequency" => "baseFrequency",
        "baseprofile" => "baseProfile",
        "calcmode" => "calcMode",
        "clippathunits" => "clipPathUnits",
        "diffuseconstant" => "diffuseConstant",
        "edgemode" => "edgeMode",
        "filterunits" => "filterUnits",
        "glyphref" => "glyphRef",
        "gradienttransform" => "gradientTransform",
        "gradientunits" => "gradientUnits",
        "kernelmatrix" => "kernelMatrix",
        "kernelunitlength" => "kernelUnitLength",
        "keypoints" => "keyPoints",
        "keysplines" => "keySplines",
        "keytimes" => "keyTimes",
        "lengthadjust" => "lengthAdjust",
        "limitingconeangle" => "limitingConeAngle",
        "markerheight" => "markerHeight",
        "markerunits" => "markerUnits",
        "markerwidth" => "markerWidth",
        "maskcontentunits" => "maskContentUnits",
        "maskunits" => "maskUnits",
        "numoctaves" => "numOctaves",
        "pathlength" => "pathLength",
        "patterncontentunits" => "patternContentUnits",
        "patterntransform" => "patternTransform",
        "patternunits" => "patternUnits",
        "pointsatx" => "pointsAtX",
        "pointsaty" => "pointsAtY",
        "pointsatz" => "pointsAtZ",
        "preservealpha" => "preserveAlpha",
        "preserveaspectratio" => "preserveAspectRatio",
        "primitiveunits" => "primitiveUnits",
        "refx" => "refX",
        "refy" => "refY",
        "repeatcount" => "repeatCount",
        "repeatdur" => "repeatDur",
        "requiredextensions" => "requiredExtensions",
        "requiredfeatures" => "requiredFeatures",
        "specularconstant" => "specularConstant",
        "specularexponent" => "specularExponent",
        "spreadmethod" => "spreadMethod",
        "startoffset" => "startOffset",
        "stddeviation" => "stdDeviation",
        "stitchtiles" => "stitchTiles",
        "surfacescale" => "surfaceScale",
        "systemlanguage" => "systemLanguage",
        "tablevalues" => "tableValues",
        "targetx" => "targetX",
        "targety" => "targetY",
        "textlength" => "textLength",
        "viewbox" => "viewBox",
        "viewtarget" => "viewTarget",
        "xchannelselector" => "xChannelSelector",
        "ychannelselector" => "yChannelSelector",
        "zoomandpan" => "zoomAndPan",
        _ => return None,
    })
}

/// Public identifiers whose doctype puts a page in quirks mode (the
/// standard's list, as prefixes, compared without case).
const QUIRKY_PUBLIC_PREFIXES: [&str; 55] = [
    "+//silmaril//dtd html pro v0r11 19970101//",
    "-//as//dtd html 3.0 aswedit + extensions//",
    "-//advasoft ltd//dtd html 3.0 aswedit + extensions//",
    "-//ietf//dtd html 2.0 level 1//",
    "-//ietf//dtd html 2.0 level 2//",
    "-//ietf//dtd html 2.0 strict level 1//",
    "-//ietf//dtd html 2.0 strict level 2//",
    "-//ietf//dtd html 2.0 strict//",
    "-//ietf//dtd html 2.0//",
    "-//ietf//dtd html 2.1e//",
    "-//ietf//dtd html 3.0//",
    "-//ietf//dtd html 3.2 final//",
    "-//ietf//dtd html 3.2//",
    "-//ietf//dtd html 3//",
    "-//ietf//dtd html level 0//",
    "-//ietf//dtd html level 1//",
    "-//ietf//dtd html level 2//",
    "-//ietf//dtd html level 3//",
    "-//ietf//dtd html strict level 0//",
    "-//ietf//dtd html strict level 1//",
    "-//ietf//dtd html strict level 2//",
    "-//ietf//dtd html strict level 3//",
    "-//ietf//dtd html strict//",
    "-//ietf//dtd html//",
    "-//metrius//dtd metrius presentational//",
    "-//microsoft//dtd internet explorer 2.0 html strict//",
    "-//microsoft//dtd internet explorer 2.0 html//",
    "-//microsoft//dtd internet explorer 2.0 tables//",
    "-//microsoft//dtd internet explorer 3.0 html strict//",
    "-//microsoft//dtd internet explorer 3.0 html//",
    "-//microsoft//dtd internet explorer 3.0 tables//",
    "-//netscape comm. corp.//dtd html//",
    "-//netscape comm. corp.//dtd strict html//",
    "-//o'reilly and associates//dtd html 2.0//",
    "-//o'reilly and associates//dtd html extended 1.0//",
    "-//o'reilly and associates//dtd html extended relaxed 1.0//",
    "-//sq//dtd html 2.0 hotmetal + extensions//",
    "-//softquad software//dtd hotmetal pro 6.0::19990601::extensions to html 4.0//",
    "-//softquad//dtd hotmetal pro 4.0::19971010::extensions to html 4.0//",
    "-//spyglass//dtd html 2.0 extended//",
    "-//sun microsystems corp.//dtd hotjava html//",
    "-//sun microsystems corp.//dtd hotjava strict html//",
    "-//w3c//dtd html 3 1995-03-24//",
    "-//w3c//dtd html 3.2 draft//",
    "-//w3c//dtd html 3.2 final//",
    "-//w3c//dtd html 3.2//",
    "-//w3c//dtd html 3.2s draft//",
    "-//w3c//dtd html 4.0 frameset//",
    "-//w3c//dtd html 4.0 transitional//",
    "-//w3c//dtd html experimental 19960712//",
    "-//w3c//dtd html experimental 970421//",
    "-//w3c//dtd w3 html//",
    "-//w3o//dtd w3 html 3.0//",
    "-//webtechs//dtd mozilla html 2.0//",
    "-//webtechs//dtd mozilla html//",
];

/// Whether a doctype (what follows `<!doctype` up to its `>`) puts the page
/// in quirks mode, as the standard decides it: no name, a name other than
/// `html`, a legacy public identifier, or an HTML 4.01 transitional or
/// frameset one without a system identifier.
fn quirky_doctype(rest: &[u8]) -> bool {
    let text = String::from_utf8_lossy(rest).to_ascii_lowercase();
    let t = text.as_str();
    fn skip(s: &str) -> &str {
        s.trim_start_matches(['\t', '\n', '\x0c', '\r', ' '])
    }
    // A quoted identifier at the start of `s`: (it, what follows), or None
    // (a missing quote: the tokenizer sets force-quirks).
    let quoted = |s: &str| -> Option<(String, usize)> {
        let q = s.chars().next().filter(|&c| c == '"' || c == '\'')?;
        let body = &s[1..];
        let close = body.find(q)?;
        Some((body[..close].to_string(), 1 + close + 1))
    };
    let t = skip(t);
    let name_len = t.find(['\t', '\n', '\x0c', '\r', ' ']).unwrap_or(t.len());
    let name = &t[..name_len];
    if name.is_empty() || name != "html" {
        return true;
    }
    let mut r = skip(&t[name_len..]);
    let (mut public, mut system) = (None, None);
    if r.is_empty() {
        return false;
    } else if let Some(after) = r.strip_prefix("public") {
        let Some((p, used)) = quoted(skip(after)) else { return true };
        public = Some(p);
        r = skip(&skip(after)[used..]);
        if !r.is_empty() {
            let Some((sys, _)) = quoted(r) else { return true };
            system = Some(sys);
        }
    } else if let Some(after) = r.strip_prefix("system") {
        let Some((sys, _)) = quoted(skip(after)) else { return true };
        system = Some(sys);
    } else {
        // Anything else after the name: a bogus doctype, force-quirks.
        return true;
    }
    if let Some(p) = public.as_deref()
        && (matches!(p, "-//w3o//dtd w3 html strict 3.0//en//" | "-/w3c/dtd html 4.0 transitional/en" | "html")
            || QUIRKY_PUBLIC_PREFIXES.iter().any(|prefix| p.starts_with(prefix))
            || system.is_none()
                && (p.starts_with("-//w3c//dtd html 4.01 frameset//")
                    || p.starts_with("-//w3c//dtd html 4.01 transitional//")))
    {
        return true;
    }
    system.as_deref() == Some("http://www.ibm.com/data/dtd/v11/ibmxhtml1-transitional.dtd")
}

/// Whether `bytes[at..]` is `</name` or `<name` (`close`) followed by
/// what ends a tag name.
fn tag_at(bytes: &[u8], at: usize, name: &[u8], close: bool) -> bool {
    let open = if close { 2 } else { 1 };
    (bytes.get(at + 1) == Some(&b'/')) == close
        && starts_with_ci(bytes, at + open, name)
        && bytes.get(at + open + name.len()).is_some_and(|&b| is_space(b) || b == b'/' || b == b'>')
}

/// [`raw_end`] for a script: the standard's script data states, where
/// `<!--` escapes the text and a `<script>` inside the escape is a nested
/// one whose `</script>` does not end this one (`document.write` of a
/// script tag inside an HTML comment, as old pages wrote ad code).
fn script_end(bytes: &[u8], at: usize) -> (usize, usize) {
    #[derive(PartialEq)]
    enum State {
        Data,
        Escaped,
        DoubleEscaped,
    }
    let mut state = State::Data;
    let mut i = at;
    while let Some(k) = memchr::memchr2(b'<', b'-', &bytes[i..]) {
        let at_ = i + k;
        if bytes[at_] == b'-' {
            if state != State::Data && bytes[at_..].starts_with(b"-->") {
                state = State::Data;
                i = at_ + 3;
            } else {
                i = at_ + 1;
            }
            continue;
        }
        if state == State::Data && bytes[at_..].starts_with(b"<!--") {
            // `<!-->` and `<!--->` close as they open.
            let after = at_ + 4;
            if bytes.get(after) == Some(&b'>') {
                i = after + 1;
            } else {
                state = State::Escaped;
                i = after;
            }
            continue;
        }
        if tag_at(bytes, at_, b"script", true) {
            if state == State::DoubleEscaped {
                state = State::Escaped;
                i = at_ + 8;
                continue;
            }
            return (at_, skip_tag(bytes, at_ + 8).unwrap_or(bytes.len()));
        }
        if state == State::Escaped && tag_at(bytes, at_, b"script", false) {
            state = State::DoubleEscaped;
            i = at_ + 7;
            continue;
        }
        i = at_ + 1;
    }
    (bytes.len(), bytes.len())
}

/// Where the element `name` whose start tag ends at `at` ends (past its
/// end tag), counting nested elements of the same name; None when it is
/// never closed, or, in `foreign` content, when an HTML tag breaks out of it
/// first.
fn element_end(bytes: &[u8], at: usize, name: &[u8], foreign: bool) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = at;
    while let Some(k) = memchr::memchr(b'<', &bytes[i..]) {
        let lt = i + k;
        if bytes[lt..].starts_with(b"<!--") {
            i = comment_end(bytes, lt + 4);
            continue;
        }
        if foreign && bytes[lt..].starts_with(b"<![CDATA[") {
            // Foreign content's CDATA is text, tags and all.
            i = memchr::memmem::find(&bytes[lt + 9..], b"]]>").map_or(bytes.len(), |k| lt + 9 + k + 3);
            continue;
        }
        let (close, start) = if bytes.get(lt + 1) == Some(&b'/') { (true, lt + 2) } else { (false, lt + 1) };
        // A tag name starts with a letter and runs to whitespace, `/` or `>`.
        if !bytes.get(start).is_some_and(u8::is_ascii_alphabetic) {
            i = lt + 1;
            continue;
        }
        let mut name_end = start;
        while name_end < bytes.len() && !is_space(bytes[name_end]) && bytes[name_end] != b'/' && bytes[name_end] != b'>'
        {
            name_end += 1;
        }
        let end = skip_tag(bytes, name_end)?;
        let tag = &bytes[start..name_end];
        if tag.eq_ignore_ascii_case(name) {
            if close {
                depth -= 1;
                if depth == 0 {
                    return Some(end);
                }
            } else if bytes[end - 2] != b'/' {
                depth += 1;
            }
        } else if foreign && !close {
            let tag = String::from_utf8_lossy(tag).to_ascii_lowercase();
            // An HTML tag breaks out; inside an integration point the
            // content is HTML, where `</svg>` may close nothing: both are
            // left to the tree builder.
            if classify(&tag) & BREAKOUT != 0
                || tag == "font"
                || matches!(
                    &*tag,
                    "foreignobject" | "desc" | "title" | "mi" | "mo" | "mn" | "ms" | "mtext" | "annotation-xml"
                )
            {
                return None;
            }
        } else if !foreign && !close {
            // HTML content: a raw-text element's text is not markup, and
            // `<plaintext>` is text to the end.
            let tag = String::from_utf8_lossy(tag).to_ascii_lowercase();
            if tag == "plaintext" {
                return None;
            }
            if classify(&tag) & (RAW | RCDATA) != 0 && bytes[end - 2] != b'/' {
                i = raw_end(bytes, end, tag.as_bytes()).1;
                continue;
            }
        }
        i = end;
    }
    None
}

/// The character a numeric reference names, as the spec maps it.
fn numeric_char(value: u32) -> char {
    match value {
        0 => '\u{fffd}',
        0x80..=0x9f => {
            C1_REPLACEMENTS[(value - 0x80) as usize].unwrap_or_else(|| char::from_u32(value).unwrap_or('\u{fffd}'))
        }
        _ => char::from_u32(value).unwrap_or('\u{fffd}'),
    }
}

/// Decode the character reference at `s[0] == '&'` into `out`; returns
/// how many bytes it took (1 when it is a plain ampersand).
fn reference(s: &str, in_attribute: bool, out: &mut String) -> usize {
    let bytes = s.as_bytes();
    if bytes.get(1) == Some(&b'#') {
        let hex = matches!(bytes.get(2), Some(b'x' | b'X'));
        let start = if hex { 3 } else { 2 };
        let mut end = start;
        let mut value: u32 = 0;
        while let Some(&b) = bytes.get(end) {
            let digit = match b {
                b'0'..=b'9' => u32::from(b - b'0'),
                b'a'..=b'f' if hex => u32::from(b - b'a' + 10),
                b'A'..=b'F' if hex => u32::from(b - b'A' + 10),
                _ => break,
            };
            value = value.saturating_mul(if hex { 16 } else { 10 }).saturating_add(digit);
            end += 1;
        }
        if end == start {
            out.push('&');
            return 1;
        }
        out.push(numeric_char(value.min(0x11_0000)));
        return if bytes.get(end) == Some(&b';') { end + 1 } else { end };
    }
    let mut end = 1;
    while end < bytes.len() && end <= 32 && bytes[end].is_ascii_alphanumeric() {
        end += 1;
    }
    if end > 1
        && bytes.get(end) == Some(&b';')
        && let Some(&(a, b)) = NAMED_ENTITIES.get(&s[1..=end])
        && a != 0
    {
        push_codepoints(a, b, out);
        return end + 1;
    }
    // Legacy references without a semicolon: the longest known prefix.
    for len in (2..=end).rev() {
        if let Some(&(a, b)) = NAMED_ENTITIES.get(&s[1..len])
            && a != 0
        {
            let next = bytes.get(len).copied();
            if in_attribute && next.is_some_and(|n| n.is_ascii_alphanumeric() || n == b'=') {
                break;
            }
            push_codepoints(a, b, out);
            return len;
        }
    }
    out.push('&');
    1
}

fn push_codepoints(a: u32, b: u32, out: &mut String) {
    out.extend(char::from_u32(a));
    if b != 0 {
        out.extend(char::from_u32(b));
    }
}

/// `s` with character references decoded, carriage returns turned into
/// newlines and NULs dropped (or, `nul_kept`, U+FFFD), appended to `out`.
fn decode_into(s: &str, in_attribute: bool, nul_kept: bool, out: &mut String) {
    let mut rest = s;
    while let Some(k) = memchr::memchr3(b'&', b'\r', b'\0', rest.as_bytes()) {
        out.push_str(&rest[..k]);
        rest = &rest[k..];
        match rest.as_bytes()[0] {
            b'&' => {
                let n = reference(rest, in_attribute, out);
                rest = &rest[n..];
            }
            b'\r' => {
                out.push('\n');
                rest = rest.strip_prefix("\r\n").unwrap_or(&rest[1..]);
            }
            _ => {
                // NUL: dropped in HTML text, U+FFFD in attributes, RCDATA
                // and foreign content.
                if nul_kept {
                    out.push('\u{fffd}');
                }
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

fn needs_decoding(s: &str) -> bool {
    memchr::memchr3(b'&', b'\r', b'\0', s.as_bytes()).is_some()
}

/// A tag as read: its name (lower case), whether it ends in `/>`, and where
/// it ends. Attributes of start tags go to the builder's `attrs`.
struct Tag<'a> {
    name: Cow<'a, str>,
    self_closing: bool,
    end: usize,
}

impl<'a> Builder<'a> {
    fn new(src: &'a str, page: bool) -> Builder<'a> {
        let mut b = Builder {
            src,
            page,
            tree: Tree::new(if page { Node::Document } else { Node::Fragment }),
            html: None,
            head: None,
            body: None,
            stack: Vec::with_capacity(64),
            dropped: Vec::new(),
            attrs: Vec::new(),
            scratch: String::new(),
            cut: false,
            form: false,
            cuts: Vec::new(),
            deviations: Vec::new(),
            selects: 0,
            templates: 0,
            closed_formatting: Vec::new(),
            many_closed_formatting: false,
            active: Vec::new(),
            quirks: if page { None } else { Some(false) },
        };
        if !page {
            // The fragment's `html` element is its head and body alike.
            let html = b.ensure_html(Vec::new());
            b.head = Some(html);
            b.body = Some(html);
        }
        b
    }

    fn run(mut self) -> (Html, Vec<Deviation>) {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let Some(k) = memchr::memchr(b'<', &bytes[i..]) else {
                self.text(&src[i..]);
                break;
            };
            if k > 0 {
                self.text(&src[i..i + k]);
            }
            i = self.markup(i + k);
        }
        if self.page {
            self.ensure_body(None);
        }
        for id in std::mem::take(&mut self.cuts) {
            if let Some(mut n) = self.tree.get_mut(id) {
                n.detach();
            }
        }
        let mut deviations = std::mem::take(&mut self.deviations);
        deviations.sort();
        deviations.dedup();
        (Html { quirks_mode: QuirksMode::NoQuirks, tree: self.tree }, deviations)
    }

    fn deviate(&mut self, d: Deviation) {
        if self.deviations.len() < 64 {
            self.deviations.push(d);
        }
    }

    fn append(&mut self, parent: NodeId, node: Node) -> NodeId {
        match self.tree.get_mut(parent) {
            Some(mut p) => p.append(node).id(),
            None => parent,
        }
    }

    /// Read the markup at `bytes[at] == '<'`; returns where reading goes on.
    fn markup(&mut self, at: usize) -> usize {
        let bytes = self.src.as_bytes();
        match bytes.get(at + 1).copied() {
            Some(c) if c.is_ascii_alphabetic() => match self.read_tag(at + 1, true) {
                Some(tag) => self.start_tag(tag),
                None => bytes.len(),
            },
            Some(b'/') => match bytes.get(at + 2).copied() {
                Some(c) if c.is_ascii_alphabetic() => match self.read_tag(at + 2, false) {
                    Some(tag) => {
                        self.end_tag(&tag.name);
                        tag.end
                    }
                    None => bytes.len(),
                },
                Some(b'>') => at + 3,
                None => {
                    self.text("</");
                    bytes.len()
                }
                _ => memchr::memchr(b'>', &bytes[at..]).map_or(bytes.len(), |k| at + k + 1),
            },
            Some(b'!') if bytes[at..].starts_with(b"<!--") => comment_end(bytes, at + 4),
            Some(b'!') if self.in_foreign() && bytes[at..].starts_with(b"<![CDATA[") => {
                let from = at + 9;
                let end = memchr::memmem::find(&bytes[from..], b"]]>").map_or(bytes.len(), |k| from + k);
                let text = &self.src[from..end];
                self.text(text);
                (end + 3).min(bytes.len())
            }
            Some(b'!') if starts_with_ci(bytes, at + 2, b"doctype") => {
                let end = memchr::memchr(b'>', &bytes[at..]).map_or(bytes.len(), |k| at + k + 1);
                if self.quirks.is_none() {
                    self.quirks = Some(quirky_doctype(&bytes[at + 9..end.saturating_sub(1).max(at + 9)]));
                }
                end
            }
            Some(b'!' | b'?') => memchr::memchr(b'>', &bytes[at..]).map_or(bytes.len(), |k| at + k + 1),
            _ => {
                self.text("<");
                at + 1
            }
        }
    }

    /// Read a tag whose name starts at `at`. None when the input ends inside
    /// it (the tokenizer drops such a tag).
    fn read_tag(&mut self, at: usize, keep_attributes: bool) -> Option<Tag<'a>> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut i = at;
        while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'/' && bytes[i] != b'>' {
            i += 1;
        }
        let name = lower(&src[at..i]);
        self.attrs.clear();
        let mut self_closing = false;
        loop {
            while i < bytes.len() && (is_space(bytes[i]) || bytes[i] == b'/') {
                self_closing = bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'>');
                i += 1;
            }
            match bytes.get(i) {
                None => return None,
                Some(b'>') => return Some(Tag { name, self_closing, end: i + 1 }),
                Some(_) => {}
            }
            self_closing = false;
            // A name may start with '='; it ends at space, '/', '>' or '='.
            let name_start = i;
            i += 1;
            while i < bytes.len() && !is_space(bytes[i]) && !matches!(bytes[i], b'/' | b'>' | b'=') {
                i += 1;
            }
            let name_end = i;
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            let mut value = "";
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                while i < bytes.len() && is_space(bytes[i]) {
                    i += 1;
                }
                match bytes.get(i).copied() {
                    None => return None,
                    Some(q @ (b'"' | b'\'')) => {
                        let close = i + 1 + memchr::memchr(q, &bytes[i + 1..])?;
                        value = &src[i + 1..close];
                        i = close + 1;
                    }
                    Some(b'>') => {}
                    Some(_) => {
                        let start = i;
                        while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
                            i += 1;
                        }
                        value = &src[start..i];
                    }
                }
            }
            if keep_attributes && self.attrs.len() < MAX_ATTRIBUTES {
                let attr_name = lower(&src[name_start..name_end]);
                if !self.attrs.iter().any(|a| *a.name.local == *attr_name) {
                    let value = if needs_decoding(value) {
                        self.scratch.clear();
                        decode_into(value, true, true, &mut self.scratch);
                        StrTendril::from_slice(&self.scratch)
                    } else {
                        StrTendril::from_slice(value)
                    };
                    self.attrs.push(Attribute { name: QualName::new(None, ns!(), atom(&attr_name)), value });
                }
            }
        }
    }

    fn in_foreign(&self) -> bool {
        self.stack.last().is_some_and(|o| o.foreign && o.flags & INTEGRATION == 0)
    }

    fn current(&self) -> NodeId {
        self.stack.last().map_or_else(|| self.tree.root().id(), |o| o.id)
    }

    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if self.body.is_none() {
            if s.bytes().all(is_space) {
                return;
            }
            self.quirks.get_or_insert(true);
            self.ensure_body(None);
        }
        if self.in_table_body() && !s.bytes().all(is_space) {
            self.deviate(Deviation::FosterParenting);
        } else if !self.in_foreign() && !self.in_table_body() {
            self.reconstruct();
        }
        let parent = self.current();
        let nul_kept = self.in_foreign();
        self.insert_text(parent, s, nul_kept);
    }

    fn insert_text(&mut self, parent: NodeId, s: &str, nul_kept: bool) {
        let mut decoded = String::new();
        let s = if needs_decoding(s) {
            decode_into(s, false, nul_kept, &mut decoded);
            decoded.as_str()
        } else {
            s
        };
        if s.is_empty() {
            return;
        }
        let Some(mut p) = self.tree.get_mut(parent) else { return };
        if let Some(mut last) = p.last_child()
            && let Node::Text(t) = last.value()
        {
            t.text.push_slice(s);
            return;
        }
        p.append(Node::Text(Text { text: StrTendril::from_slice(s) }));
    }

    fn ensure_html(&mut self, attrs: Vec<Attribute>) -> NodeId {
        if let Some(html) = self.html {
            return html;
        }
        let root = self.tree.root().id();
        let html = self.append(root, Node::Element(element(local_name!("html"), ns!(html), attrs)));
        self.html = Some(html);
        self.stack.push(Open {
            id: html,
            name: local_name!("html"),
            flags: SPECIAL | SCOPE | TABLE_SCOPE,
            foreign: false,
        });
        html
    }

    fn ensure_head(&mut self) -> NodeId {
        if let Some(head) = self.head {
            return head;
        }
        let html = self.ensure_html(Vec::new());
        let head = self.append(html, Node::Element(element(local_name!("head"), ns!(html), Vec::new())));
        self.head = Some(head);
        head
    }

    fn ensure_body(&mut self, attrs: Option<Vec<Attribute>>) -> NodeId {
        if let Some(body) = self.body {
            return body;
        }
        self.ensure_head();
        let html = self.ensure_html(Vec::new());
        let body = self.append(html, Node::Element(element(local_name!("body"), ns!(html), attrs.unwrap_or_default())));
        self.body = Some(body);
        self.stack.truncate(1);
        self.stack.push(Open { id: body, name: local_name!("body"), flags: SPECIAL | BREAKOUT, foreign: false });
        body
    }

    /// Index in the stack of the nearest open `name` before a boundary.
    fn in_scope(&self, name: &LocalName, boundaries: u32) -> Option<usize> {
        for (i, o) in self.stack.iter().enumerate().rev() {
            if o.foreign {
                if o.flags & FOREIGN_SCOPE != 0 && boundaries & SCOPE != 0 {
                    return None;
                }
                continue;
            }
            if o.name == *name {
                return Some(i);
            }
            if o.flags & boundaries != 0 {
                return None;
            }
        }
        None
    }

    /// Note the formatting elements about to be popped from `from` up: the
    /// standard keeps them in its list of active formatting elements and
    /// may re-open them, which this builder does not.
    fn record_popped(&mut self, from: usize) {
        for o in self.stack.get(from..).unwrap_or_default() {
            if o.flags & FORMATTING != 0 && !o.foreign {
                if self.closed_formatting.len() < 32 {
                    self.closed_formatting.push(o.name.clone());
                } else {
                    self.many_closed_formatting = true;
                }
            }
        }
    }

    /// Whether a formatting element named `name` was closed by something
    /// else than its end tag: the standard could re-open it, so an end tag
    /// or an `<a>` or `<nobr>` start tag for it may close other elements
    /// there than here.
    fn closed_implicitly(&self, name: &LocalName) -> bool {
        self.many_closed_formatting || self.closed_formatting.contains(name)
    }

    /// Close the open `p` in button scope, if any.
    fn close_p(&mut self) {
        if let Some(i) = self.in_scope(&local_name!("p"), SCOPE | BUTTON) {
            self.record_popped(i);
            self.stack.truncate(i);
        }
    }

    /// Keep the stack at least one deep (the body or the fragment root).
    fn pop_to(&mut self, i: usize) {
        self.record_popped(i.max(1));
        self.stack.truncate(i.max(1));
    }

    fn start_tag(&mut self, tag: Tag<'a>) -> usize {
        let Tag { name, self_closing, end } = tag;
        // No doctype before the first tag: quirks mode.
        self.quirks.get_or_insert(true);
        let flags = classify(&name);
        let bytes = self.src.as_bytes();

        // Page mode: what is never read is not built.
        // (In SVG or MathML a `<template>`, `<style>` … is a foreign element.)
        let foreign_tag = self.in_foreign() && !self.breaks_out(&name, flags);
        if self.page && flags & UNREAD != 0 && !foreign_tag && !(name == "script" && self.is_json_ld()) {
            // A self-closed raw-text element (XHTML feeds write
            // `<script src=… />`) is empty: it must not swallow the page.
            if self_closing && (name == "svg" || name == "math" || flags & (RAW | RCDATA) != 0) {
                if flags & (RAW | RCDATA) != 0 {
                    self.deviate(Deviation::SelfClosedRawText);
                }
                return end;
            }
            if flags & (RAW | RCDATA) != 0 {
                return raw_end(bytes, end, name.as_bytes()).1;
            }
            if let Some(after) = element_end(bytes, end, name.as_bytes(), name != "template") {
                return after;
            }
            // Never closed (or broken out of): built, and cut at the end.
            self.cut = true;
        }

        // Before the body: the document's html, head and head content.
        if self.body.is_none() {
            match &*name {
                "html" => {
                    match self.html {
                        Some(html) => self.merge_attributes(html),
                        None => {
                            let attrs = std::mem::take(&mut self.attrs);
                            self.ensure_html(attrs);
                        }
                    }
                    return end;
                }
                "head" => {
                    self.ensure_head();
                    return end;
                }
                "body" => {
                    let attrs = std::mem::take(&mut self.attrs);
                    self.ensure_body(Some(attrs));
                    return end;
                }
                _ if flags & HEAD_CONTENT != 0 && (flags & (VOID | RAW | RCDATA) != 0) => {
                    let head = self.ensure_head();
                    return self.insert(head, &name, flags, self_closing, end, false);
                }
                _ => {
                    self.ensure_body(None);
                }
            }
        }

        // Foreign content: SVG and MathML until an HTML tag breaks out.
        if self.in_foreign() {
            if !self.breaks_out(&name, flags) {
                let parent = self.current();
                let ns = self.stack.last().map_or(ns!(svg), |o| {
                    // A foreign element's children are in its namespace.
                    if o.flags & MATHML != 0 { ns!(mathml) } else { ns!(svg) }
                });
                return self.insert_element(parent, &name, 0, self_closing, end, ns);
            }
            while self.stack.len() > 1 && self.stack.last().is_some_and(|o| o.foreign && o.flags & INTEGRATION == 0) {
                self.stack.pop();
            }
        }

        self.check_start(&name);
        match &*name {
            "html" | "body" => {
                // A second `<html>` or `<body>` adds the attributes the first
                // did not have.
                // (A fragment's `<body>` has no body element to add to.)
                let target = if name == "html" {
                    self.html
                } else if self.page {
                    self.body
                } else {
                    None
                };
                if let Some(id) = target {
                    self.merge_attributes(id);
                }
                return end;
            }
            "head" | "frame" => return end,
            "frameset" => {
                self.deviate(Deviation::Frameset);
                return end;
            }
            "svg" | "math" => {
                self.reconstruct();
                let parent = self.current();
                let ns = if name == "svg" { ns!(svg) } else { ns!(mathml) };
                return self.insert_element(parent, &name, 0, self_closing, end, ns);
            }
            "li" | "dd" | "dt" => {
                let closes = |n: &LocalName| {
                    if name == "li" {
                        *n == local_name!("li")
                    } else {
                        *n == local_name!("dd") || *n == local_name!("dt")
                    }
                };
                for i in (0..self.stack.len()).rev() {
                    let o = &self.stack[i];
                    if closes(&o.name) {
                        self.pop_to(i);
                        break;
                    }
                    if o.flags & SPECIAL != 0 && !matches!(&*o.name, "address" | "div" | "p") {
                        break;
                    }
                }
                self.close_p();
            }
            "tr" | "td" | "th" | "tbody" | "thead" | "tfoot" | "caption" | "colgroup" | "col"
                if !self.table_context(&name) =>
            {
                return end;
            }
            "a" => {
                if self.closed_implicitly(&local_name!("a")) {
                    self.deviate(Deviation::Reconstruction);
                }
                let mut special = false;
                for i in (0..self.stack.len()).rev() {
                    let o = &self.stack[i];
                    if o.name == local_name!("a") {
                        if special {
                            // An `<a>` open across a block: the adoption
                            // agency would split it.
                            self.deviate(Deviation::AdoptionAgency);
                        } else {
                            let id = o.id;
                            self.pop_to(i);
                            self.forget_active(id);
                        }
                        break;
                    }
                    special |= o.flags & SPECIAL != 0;
                }
            }
            "rb" | "rtc" | "rp" | "rt" => {
                // Ruby annotations end each other inside a `<ruby>`.
                if let Some(ruby) = self.in_scope(&local_name!("ruby"), SCOPE) {
                    let keep_rtc = matches!(&*name, "rp" | "rt");
                    while self.stack.len() > ruby + 1
                        && self.stack.last().is_some_and(|o| {
                            matches!(&*o.name, "rb" | "rp" | "rt" | "p" | "li" | "dd" | "dt" | "option" | "optgroup")
                                || !keep_rtc && &*o.name == "rtc"
                        })
                    {
                        self.stack.pop();
                    }
                }
            }
            "table" => {
                // A table started where a table's parts go closes that table.
                if self.stack.last().is_some_and(|o| {
                    matches!(&*o.name, "table" | "tbody" | "thead" | "tfoot" | "tr" | "caption" | "colgroup")
                }) {
                    if let Some(t) = self.in_scope(&local_name!("table"), TABLE_SCOPE) {
                        self.pop_to(t);
                    }
                } else if self.quirks != Some(true) {
                    // In quirks mode a table goes inside an open `<p>`.
                    self.close_p();
                }
            }
            "form" => {
                if self.form {
                    return end;
                }
                self.form = true;
                self.close_p();
            }
            "button" | "nobr" => {
                if name == "nobr" && self.closed_implicitly(&local_name!("nobr")) {
                    self.deviate(Deviation::Reconstruction);
                }
                if let Some(i) = self.in_scope(&atom(&name), SCOPE) {
                    // A `<nobr>` open across a block: the adoption agency
                    // would split it.
                    if name == "nobr" && self.stack[i + 1..].iter().any(|o| o.flags & SPECIAL != 0) {
                        self.deviate(Deviation::AdoptionAgency);
                    }
                    let id = self.stack[i].id;
                    self.pop_to(i);
                    self.forget_active(id);
                }
            }
            "option" | "optgroup" => {
                if self.stack.last().is_some_and(|o| o.name == local_name!("option")) {
                    self.stack.pop();
                }
                // In a select an optgroup ends the one before; in the body
                // optgroups nest.
                if name == "optgroup"
                    && self.stack.last().is_some_and(|o| o.name == local_name!("optgroup"))
                    && self.selects > 0
                    && self.stack.iter().any(|o| o.name == local_name!("select"))
                {
                    self.stack.pop();
                }
            }
            _ if flags & CLOSES_P != 0 => {
                self.close_p();
                if flags & HEADING != 0 && self.stack.last().is_some_and(|o| o.flags & HEADING != 0) {
                    self.stack.pop();
                }
            }
            _ => {}
        }
        if reopens_formatting(&name, flags) {
            self.reconstruct();
        }
        let name = if name == "image" { Cow::Borrowed("img") } else { name };
        let listed = if flags & FORMATTING != 0 {
            Some(self.attrs.clone())
        } else if matches!(&*name, "td" | "th" | "caption" | "applet" | "marquee" | "object" | "template") {
            None
        } else {
            let parent = self.current();
            if name == "plaintext" {
                // The rest of the input is its text, markup and all.
                let id = self.new_element(parent, atom(&name), ns!(html));
                let rest = &self.src[end..];
                self.insert_raw(id, rest);
                return bytes.len();
            }
            return self.insert(parent, &name, flags, self_closing, end, true);
        };
        let depth = self.stack.len();
        let parent = self.current();
        let after = self.insert(parent, &name, flags, self_closing, end, true);
        if self.stack.len() == depth + 1 {
            let id = self.stack[depth].id;
            match listed {
                Some(attrs) => self.list_active(id, depth, atom(&name), attrs),
                None => self.active.push(Active::Marker { id, depth }),
            }
        }
        after
    }

    /// Whether the entry's element is open in the stack.
    fn is_open(&self, a: &Active) -> bool {
        let (id, depth) = a.at();
        self.stack.get(depth).is_some_and(|o| o.id == id)
    }

    /// Drop what a closed marker ended: the standard clears the list up to
    /// the last marker when its element closes; here it is done when the
    /// list is next read.
    fn clear_closed_markers(&mut self) {
        while let Some(k) = self.active.iter().rposition(|a| matches!(a, Active::Marker { .. })) {
            if self.is_open(&self.active[k]) {
                break;
            }
            self.active.truncate(k);
        }
    }

    /// List a formatting element just opened: at most three alike (name
    /// and attributes) after the last marker, the earliest going first.
    fn list_active(&mut self, id: NodeId, depth: usize, name: LocalName, attrs: Vec<Attribute>) {
        self.clear_closed_markers();
        let from = self.active.iter().rposition(|a| matches!(a, Active::Marker { .. })).map_or(0, |k| k + 1);
        let alike = |a: &Active| match a {
            Active::Element { name: n, attrs: x, .. } => {
                *n == name && x.len() == attrs.len() && x.iter().all(|a| attrs.contains(a))
            }
            Active::Marker { .. } => false,
        };
        let same: Vec<usize> = (from..self.active.len()).filter(|&k| alike(&self.active[k])).collect();
        if same.len() >= 3 {
            self.active.remove(same[0]);
        }
        if self.active.len() >= MAX_ACTIVE {
            self.deviate(Deviation::Reconstruction);
            return;
        }
        self.active.push(Active::Element { id, depth, name, attrs });
    }

    /// Take an element its end tag (or the next `<a>`, `<nobr>`) closed
    /// off the list.
    fn forget_active(&mut self, id: NodeId) {
        if let Some(k) = self.active.iter().rposition(|a| a.at().0 == id) {
            self.active.remove(k);
        }
    }

    /// Re-open the formatting elements a block closed (the standard's
    /// "reconstruct the active formatting elements"): copies of the listed
    /// elements after the last marker that are no longer open, in order,
    /// each inside the one before.
    fn reconstruct(&mut self) {
        self.clear_closed_markers();
        let Some(last) = self.active.last() else { return };
        if matches!(last, Active::Marker { .. }) || self.is_open(last) {
            return;
        }
        let mut k = self.active.len() - 1;
        while k > 0 && matches!(self.active[k - 1], Active::Element { .. }) && !self.is_open(&self.active[k - 1]) {
            k -= 1;
        }
        for j in k..self.active.len() {
            if self.stack.len() >= MAX_DEPTH {
                return;
            }
            let Active::Element { name, attrs, .. } = &self.active[j] else { return };
            let (name, attrs) = (name.clone(), attrs.clone());
            let parent = self.current();
            let saved = std::mem::replace(&mut self.attrs, attrs);
            let id = self.new_element(parent, name.clone(), ns!(html));
            self.attrs = saved;
            let depth = self.stack.len();
            self.stack.push(Open { id, name: name.clone(), flags: classify(&name), foreign: false });
            if let Active::Element { id: at, depth: d, .. } = &mut self.active[j] {
                (*at, *d) = (id, depth);
            }
        }
    }

    /// Record where a start tag takes the standard's algorithm somewhere
    /// the builder does not follow (foster parenting, a select's own mode).
    fn check_start(&mut self, name: &str) {
        let table_part = matches!(
            name,
            "caption"
                | "colgroup"
                | "col"
                | "tbody"
                | "thead"
                | "tfoot"
                | "tr"
                | "td"
                | "th"
                | "table"
                | "script"
                | "style"
                | "template"
                | "form"
        );
        let hidden_input = name == "input"
            && self.attrs.iter().any(|a| &*a.name.local == "type" && a.value.eq_ignore_ascii_case("hidden"));
        if !table_part && !hidden_input && self.in_table_body() {
            self.deviate(Deviation::FosterParenting);
        }
        if self.selects > 0
            && !matches!(name, "option" | "optgroup" | "script" | "template")
            && self.stack.iter().any(|o| o.name == local_name!("select"))
        {
            self.deviate(Deviation::Select);
        }
        if name == "select" {
            self.selects += 1;
        }
        if self.templates > 0 && self.stack.iter().any(|o| o.name == local_name!("template") && !o.foreign) {
            self.deviate(Deviation::Template);
        }
        if name == "template" {
            self.templates += 1;
        }
    }

    /// Whether the current node is a table or one of its row groups or rows,
    /// where text and other elements are foster-parented.
    fn in_table_body(&self) -> bool {
        self.stack.last().is_some_and(|o| matches!(&*o.name, "table" | "tbody" | "thead" | "tfoot" | "tr" | "colgroup"))
    }

    /// Add the attributes of the tag being read that `id` lacks.
    fn merge_attributes(&mut self, id: NodeId) {
        let attrs = std::mem::take(&mut self.attrs);
        if let Some(mut node) = self.tree.get_mut(id)
            && let Node::Element(e) = node.value()
        {
            let mut all: Vec<Attribute> =
                e.attrs.iter().map(|(q, v)| Attribute { name: q.clone(), value: v.clone() }).collect();
            for a in attrs {
                if !all.iter().any(|b| b.name.local == a.name.local) {
                    all.push(a);
                }
            }
            *e = Element::new(e.name.clone(), all);
        }
    }

    fn is_json_ld(&self) -> bool {
        self.attrs
            .iter()
            .any(|a| &*a.name.local == "type" && a.value.trim().eq_ignore_ascii_case("application/ld+json"))
    }

    /// Open the table structure `name` needs: implied `tbody` and `tr`,
    /// closing an open cell or row. False when no table is open (the tag is
    /// ignored).
    fn table_context(&mut self, name: &str) -> bool {
        let Some(table) = self.in_scope(&local_name!("table"), TABLE_SCOPE) else { return false };
        // Close what is open above the level this tag belongs at.
        let keep = |o: &Open| -> bool {
            match name {
                "tr" => o.flags & TABLE_SECTION != 0 || o.name == local_name!("table"),
                "td" | "th" => o.name == local_name!("tr") || o.flags & TABLE_SECTION != 0,
                "col" => o.name == local_name!("colgroup") || o.name == local_name!("table"),
                _ => o.name == local_name!("table"),
            }
        };
        let mut top = self.stack.len();
        while top > table + 1 && !keep(&self.stack[top - 1]) {
            top -= 1;
        }
        self.pop_to(top);
        let implied = |b: &mut Builder<'_>, n: &'static str| {
            let parent = b.current();
            // The tag's own attributes (in `attrs`) stay for the tag.
            let id = b.append(parent, Node::Element(element(LocalName::from(n), ns!(html), Vec::new())));
            b.stack.push(Open { id, name: LocalName::from(n), flags: classify(n), foreign: false });
        };
        match name {
            "tr" if self.stack.last().is_some_and(|o| o.name == local_name!("table")) => implied(self, "tbody"),
            "col" if self.stack.last().is_some_and(|o| o.name == local_name!("table")) => implied(self, "colgroup"),
            "td" | "th" => {
                if self.stack.last().is_some_and(|o| o.name == local_name!("table")) {
                    implied(self, "tbody");
                }
                if self.stack.last().is_some_and(|o| o.flags & TABLE_SECTION != 0) {
                    implied(self, "tr");
                }
            }
            _ => {}
        }
        true
    }

    /// Insert an HTML element, reading its raw text when it has one.
    fn insert(&mut self, parent: NodeId, name: &str, flags: u32, self_closing: bool, end: usize, push: bool) -> usize {
        // Unlike HTML5 (where `<script … />` opens raw text that runs to the
        // next `</script>`), a self-closed raw-text element is taken as
        // empty: XHTML-style feeds write `<script src=… />` and the rest of
        // the item must not become script text.
        if flags & (RAW | RCDATA) != 0 && self_closing {
            self.deviate(Deviation::SelfClosedRawText);
            self.new_element(parent, atom(name), ns!(html));
            return end;
        }
        if flags & (RAW | RCDATA) != 0 {
            let bytes = self.src.as_bytes();
            let (text_end, after) = raw_end(bytes, end, name.as_bytes());
            let id = self.new_element(parent, atom(name), ns!(html));
            let text = &self.src[end..text_end];
            if flags & RCDATA != 0 {
                self.insert_text(id, text, true);
            } else if text.contains('\r') {
                self.insert_raw(id, &text.replace("\r\n", "\n").replace('\r', "\n"));
            } else {
                self.insert_raw(id, text);
            }
            return after;
        }
        if !push {
            self.new_element(parent, atom(name), ns!(html));
            return end;
        }
        self.insert_element(parent, name, flags, self_closing, end, ns!(html))
    }

    fn insert_raw(&mut self, parent: NodeId, s: &str) {
        if s.is_empty() {
            return;
        }
        let replaced;
        let s = if s.contains('\0') {
            replaced = s.replace('\0', "\u{fffd}");
            replaced.as_str()
        } else {
            s
        };
        if let Some(mut p) = self.tree.get_mut(parent) {
            p.append(Node::Text(Text { text: StrTendril::from_slice(s) }));
        }
    }

    fn new_element(&mut self, parent: NodeId, name: LocalName, ns: Namespace) -> NodeId {
        let attrs = std::mem::take(&mut self.attrs);
        let id = self.append(parent, Node::Element(element(name, ns, attrs)));
        if std::mem::take(&mut self.cut) {
            self.cuts.push(id);
        }
        id
    }

    /// Append an element and open it, unless it is void, self-closed
    /// foreign content, or too deep.
    fn insert_element(
        &mut self,
        parent: NodeId,
        name: &str,
        flags: u32,
        self_closing: bool,
        end: usize,
        ns: Namespace,
    ) -> usize {
        let foreign = ns != ns!(html);
        let opens = if foreign { !self_closing } else { flags & VOID == 0 };
        if opens && self.stack.len() >= MAX_DEPTH {
            self.dropped.push(atom(name));
            self.attrs.clear();
            self.cut = false;
            return end;
        }
        let flags = if foreign { self.foreign_flags(name) | if ns == ns!(mathml) { MATHML } else { 0 } } else { flags };
        if foreign {
            self.adjust_foreign_attributes(ns == ns!(mathml));
        }
        let name = if ns == ns!(svg) { svg_tag_name(name).unwrap_or(name) } else { name };
        let name = atom(name);
        let id = self.new_element(parent, name.clone(), ns);
        if opens {
            self.stack.push(Open { id, name, flags, foreign });
        }
        end
    }

    /// Whether an HTML start tag ends foreign content: the breakout tags,
    /// and `<font>` with `color`, `face` or `size`.
    fn breaks_out(&self, name: &str, flags: u32) -> bool {
        flags & BREAKOUT != 0 || name == "font" && self.attrs.iter().any(|a| is_font_breakout(&a.name.local))
    }

    /// Give a foreign element's attributes (in `attrs`) the names the
    /// standard does: SVG's camelCase (`viewBox`), MathML's `definitionURL`,
    /// and `xlink:`, `xml:`, `xmlns:` prefixes as namespaces.
    fn adjust_foreign_attributes(&mut self, mathml: bool) {
        for a in &mut self.attrs {
            let name: &str = &a.name.local;
            let adjusted = if mathml && name == "definitionurl" {
                Some(QualName::new(None, ns!(), LocalName::from("definitionURL")))
            } else if !mathml && let Some(camel) = svg_attribute_name(name) {
                Some(QualName::new(None, ns!(), LocalName::from(camel)))
            } else if let Some(local) = name
                .strip_prefix("xlink:")
                .filter(|l| matches!(*l, "actuate" | "arcrole" | "href" | "role" | "show" | "title" | "type"))
            {
                Some(QualName::new(Some(markup5ever::Prefix::from("xlink")), ns!(xlink), LocalName::from(local)))
            } else if let Some(local) = name.strip_prefix("xml:").filter(|l| matches!(*l, "lang" | "space")) {
                Some(QualName::new(Some(markup5ever::Prefix::from("xml")), ns!(xml), LocalName::from(local)))
            } else if name == "xmlns" {
                Some(QualName::new(None, ns!(xmlns), LocalName::from("xmlns")))
            } else if name == "xmlns:xlink" {
                Some(QualName::new(Some(markup5ever::Prefix::from("xmlns")), ns!(xmlns), LocalName::from("xlink")))
            } else {
                None
            };
            if let Some(q) = adjusted {
                a.name = q;
            }
        }
    }

    /// What a foreign element (its attributes still in `attrs`) is to the
    /// tree builder.
    fn foreign_flags(&self, name: &str) -> u32 {
        match name {
            "foreignobject" | "desc" | "title" | "mi" | "mo" | "mn" | "ms" | "mtext" => INTEGRATION | FOREIGN_SCOPE,
            "annotation-xml" => {
                let html = self.attrs.iter().any(|a| {
                    &*a.name.local == "encoding"
                        && (a.value.eq_ignore_ascii_case("text/html")
                            || a.value.eq_ignore_ascii_case("application/xhtml+xml"))
                });
                FOREIGN_SCOPE | if html { INTEGRATION } else { 0 }
            }
            _ => 0,
        }
    }

    fn end_tag(&mut self, name: &str) {
        self.quirks.get_or_insert(true);
        let local = atom(name);
        if self.dropped.last() == Some(&local) {
            self.dropped.pop();
            return;
        }
        if self.body.is_none() {
            // Before the body only `</head>` means nothing; `</br>`,
            // `</body>` and `</html>` start the body.
            if !matches!(name, "br" | "body" | "html") {
                return;
            }
            self.ensure_body(None);
        }
        // `</p>` and `</br>` break out of foreign content.
        if matches!(name, "p" | "br") && self.in_foreign() {
            while self.stack.len() > 1 && self.stack.last().is_some_and(|o| o.foreign && o.flags & INTEGRATION == 0) {
                self.stack.pop();
            }
        }
        // Foreign content: the nearest foreign element of that name.
        if self.stack.last().is_some_and(|o| o.foreign) {
            for i in (1..self.stack.len()).rev() {
                let o = &self.stack[i];
                if !o.foreign {
                    break;
                }
                if str::eq_ignore_ascii_case(&o.name, name) {
                    self.pop_to(i);
                    return;
                }
            }
        }
        let flags = classify(name);
        match name {
            "html" | "body" | "head" => {}
            "br" => {
                if self.in_table_body() {
                    self.deviate(Deviation::FosterParenting);
                }
                let parent = self.current();
                self.attrs.clear();
                self.new_element(parent, local_name!("br"), ns!(html));
            }
            "p" => {
                if self.in_scope(&local_name!("p"), SCOPE | BUTTON).is_none() {
                    // A stray `</p>` is an empty paragraph.
                    if self.in_table_body() {
                        self.deviate(Deviation::FosterParenting);
                    }
                    let parent = self.current();
                    self.attrs.clear();
                    self.new_element(parent, local_name!("p"), ns!(html));
                }
                self.close_p();
            }
            "li" => {
                if let Some(i) = self.in_scope(&local, SCOPE | LIST) {
                    self.pop_to(i);
                }
            }
            _ if flags & HEADING != 0 => {
                for i in (0..self.stack.len()).rev() {
                    let o = &self.stack[i];
                    if o.flags & HEADING != 0 && !o.foreign {
                        self.pop_to(i);
                        break;
                    }
                    if o.flags & SCOPE != 0 {
                        break;
                    }
                }
            }
            "form" => {
                self.form = false;
                // Implied end tags close; then the form leaves the stack, and
                // what else was open inside it stays open.
                if let Some(i) = self.in_scope(&local, SCOPE)
                    && i > 0
                {
                    while self.stack.len() > i + 1
                        && self
                            .stack
                            .last()
                            .is_some_and(|o| matches!(&*o.name, "p" | "li" | "dd" | "dt" | "option" | "optgroup"))
                    {
                        self.stack.pop();
                    }
                    self.stack.remove(i);
                    for a in &mut self.active {
                        if let Active::Marker { depth, .. } | Active::Element { depth, .. } = a
                            && *depth > i
                        {
                            *depth -= 1;
                        }
                    }
                }
            }
            "table" | "tbody" | "thead" | "tfoot" | "tr" | "td" | "th" | "caption" | "colgroup" => {
                if let Some(i) = self.in_scope(&local, TABLE_SCOPE) {
                    self.pop_to(i);
                }
            }
            _ if flags & (BLOCK_END | SPECIAL) != 0 || name == "dd" || name == "dt" => {
                if let Some(i) = self.in_scope(&local, SCOPE) {
                    self.pop_to(i);
                }
            }
            _ => {
                if flags & FORMATTING != 0 && self.closed_implicitly(&local) {
                    self.deviate(Deviation::Reconstruction);
                }
                // Any other end tag: the nearest open element of that name,
                // unless a special element is open above it.
                let mut special = false;
                for i in (1..self.stack.len()).rev() {
                    let o = &self.stack[i];
                    if o.name == local && !o.foreign {
                        if special {
                            // A formatting element closed across a block:
                            // the adoption agency would move the block.
                            if flags & FORMATTING != 0 {
                                self.deviate(Deviation::AdoptionAgency);
                            }
                            return;
                        }
                        let id = self.stack[i].id;
                        self.pop_to(i);
                        self.forget_active(id);
                        // The element its end tag closed is not closed
                        // implicitly.
                        if let Some(k) = self.closed_formatting.iter().rposition(|n| *n == local) {
                            self.closed_formatting.remove(k);
                        }
                        return;
                    }
                    special |= o.flags & SPECIAL != 0;
                }
            }
        }
    }
}

/// An element's attribute, found by atom: `Element::attr` interns the name
/// it is given on every call, which was a tenth of the extractor's time.
pub(crate) fn attr(e: &Element, name: LocalName) -> Option<&str> {
    e.attrs.iter().find(|(q, _)| q.local == name && q.ns == ns!()).map(|(_, v)| &**v)
}

fn element(name: LocalName, ns: Namespace, attrs: Vec<Attribute>) -> Element {
    Element::new(QualName::new(None, ns, name), attrs)
}

/// A tag or attribute name as the tokenizer makes it: ASCII lower case,
/// NUL as U+FFFD.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || b == 0) {
        Cow::Owned(s.to_ascii_lowercase().replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// The atom of a tag or attribute name: the common ones without hashing
/// (interning was a tenth of the parse).
fn atom(name: &str) -> LocalName {
    match name {
        "a" => local_name!("a"),
        "p" => local_name!("p"),
        "div" => local_name!("div"),
        "span" => local_name!("span"),
        "li" => local_name!("li"),
        "ul" => local_name!("ul"),
        "img" => local_name!("img"),
        "br" => local_name!("br"),
        "b" => local_name!("b"),
        "i" => local_name!("i"),
        "em" => local_name!("em"),
        "strong" => local_name!("strong"),
        "h1" => local_name!("h1"),
        "h2" => local_name!("h2"),
        "h3" => local_name!("h3"),
        "section" => local_name!("section"),
        "article" => local_name!("article"),
        "header" => local_name!("header"),
        "footer" => local_name!("footer"),
        "nav" => local_name!("nav"),
        "aside" => local_name!("aside"),
        "main" => local_name!("main"),
        "figure" => local_name!("figure"),
        "figcaption" => local_name!("figcaption"),
        "picture" => local_name!("picture"),
        "source" => local_name!("source"),
        "time" => local_name!("time"),
        "button" => local_name!("button"),
        "form" => local_name!("form"),
        "input" => local_name!("input"),
        "label" => local_name!("label"),
        "meta" => local_name!("meta"),
        "link" => local_name!("link"),
        "script" => local_name!("script"),
        "title" => local_name!("title"),
        "table" => local_name!("table"),
        "tr" => local_name!("tr"),
        "td" => local_name!("td"),
        "blockquote" => local_name!("blockquote"),
        "iframe" => local_name!("iframe"),
        "class" => local_name!("class"),
        "id" => local_name!("id"),
        "href" => local_name!("href"),
        "src" => local_name!("src"),
        "rel" => local_name!("rel"),
        "type" => local_name!("type"),
        "name" => local_name!("name"),
        "content" => local_name!("content"),
        "property" => local_name!("property"),
        "itemprop" => local_name!("itemprop"),
        "alt" => local_name!("alt"),
        "style" => local_name!("style"),
        "lang" => local_name!("lang"),
        "datetime" => local_name!("datetime"),
        "width" => local_name!("width"),
        "height" => local_name!("height"),
        "target" => local_name!("target"),
        "srcset" => local_name!("srcset"),
        "loading" => local_name!("loading"),
        "role" => local_name!("role"),
        "aria-label" => local_name!("aria-label"),
        "aria-hidden" => local_name!("aria-hidden"),
        _ => LocalName::from(name),
    }
}

fn is_font_breakout(attr: &LocalName) -> bool {
    matches!(&**attr, "color" | "face" | "size")
}

/// What the builder promises, as a reading of a tree: for the tests and
/// the fuzz target that hold it to the standard.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod promise {
    use super::*;
    use ego_tree::NodeRef;

    /// Blocks break the text; formatting elements are left out of the
    /// outline (html5ever re-opens them after blocks, this builder does
    /// not), so a tree reads as its text, line by line, and the outline of
    /// its other elements: name, id, classes, depth.
    pub(crate) fn reading(root: NodeRef<'_, Node>) -> (Vec<String>, Vec<String>) {
        let mut text = String::new();
        let mut outline = Vec::new();
        fn walk(n: NodeRef<'_, Node>, depth: usize, text: &mut String, outline: &mut Vec<String>) {
            match n.value() {
                Node::Text(t) => text.push_str(t),
                Node::Element(e) => {
                    let formatting = classify(e.name()) & FORMATTING != 0;
                    if !formatting {
                        let mut attrs: Vec<String> = e.attrs().map(|(k, v)| format!("{k}={v:?}")).collect();
                        attrs.sort();
                        outline.push(format!("{}{} {}", "  ".repeat(depth), e.name(), attrs.join(" ")));
                        text.push('\n');
                    }
                    let depth = if formatting { depth } else { depth + 1 };
                    for c in n.children() {
                        walk(c, depth, text, outline);
                    }
                    if !formatting {
                        text.push('\n');
                    }
                }
                _ => {
                    for c in n.children() {
                        walk(c, depth, text, outline);
                    }
                }
            }
        }
        walk(root, 0, &mut text, &mut outline);
        let lines = text
            .split('\n')
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect();
        (lines, outline)
    }

    /// A tree less the elements the page mode leaves out.
    pub(crate) fn without_unread(mut doc: Html) -> Html {
        let unread: Vec<NodeId> = doc
            .tree
            .root()
            .descendants()
            .filter(|n| {
                n.value().as_element().is_some_and(|e| match e.name() {
                    "script" => e.attr("type").is_none_or(|t| !t.trim().eq_ignore_ascii_case("application/ld+json")),
                    name => ["style", "noscript", "template", "svg", "math", "textarea"].contains(&name),
                })
            })
            .map(|n| n.id())
            .collect();
        for id in unread {
            if let Some(mut n) = doc.tree.get_mut(id) {
                n.detach();
            }
        }
        doc
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::promise::{reading, without_unread};
    use super::*;

    /// The page as html5ever parses it, less the elements the tree builder's
    /// page mode leaves out: the reference the builder is held to.
    pub(crate) fn html5ever_page(html: &str) -> Html {
        without_unread(Html::parse_document(html))
    }

    pub(crate) fn files(dir: &str, suffix: &str) -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("fixture directory")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("read fixture")))
            .collect();
        out.sort();
        out
    }

    /// Every fixture page (`tests/fixtures/pages`, `full-article`): (path, html).
    pub(crate) fn fixture_pages() -> Vec<(String, String)> {
        let mut pages = files("../../tests/fixtures/pages", ".html");
        pages.extend(files("../../tests/fixtures/full-article", ".html"));
        pages
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::{files, fixture_pages, html5ever_page, reading};
    use super::*;

    fn same(ours: &Html, theirs: &Html, what: &str) {
        let (a, b) = (reading(ours.tree.root()), reading(theirs.tree.root()));
        assert_eq!(a.0, b.0, "text of {what}");
        assert_eq!(a.1, b.1, "outline of {what}");
    }

    #[test]
    fn pages_read_as_html5ever_reads_them() {
        let pages = fixture_pages();
        assert!(pages.len() >= 25);
        for (path, html) in &pages {
            same(&document(html), &html5ever_page(html), path);
        }
    }

    #[test]
    fn corpus_fragments_read_as_html5ever_reads_them() {
        let cases = files("tests/corpus", ".input.html");
        assert!(!cases.is_empty());
        for (path, html) in cases.iter().chain(&files("tests/corpus", ".input.txt")) {
            same(&fragment(html), &Html::parse_fragment(html), path);
        }
    }

    #[test]
    fn markup_the_builder_must_get_right() {
        let cases = [
            "<p>one<p>two<div>three</div>four",
            "<ul><li>a<li>b<ul><li>c</ul><li>d</ul>",
            "<dl><dt>t<dd>d<dt>u</dl>",
            "<table><tr><td>a<td>b<tr><td>c</table>after",
            "<table><td>cell</td></table>",
            "<h1>a<h2>b</h1>c",
            "<a href=x>one<a href=y>two</a>",
            "<p>a</span>b</p>",
            "<div><p>a</div>b",
            "<select><option>a<option>b</select>",
            "<p>x &amp; y &lt; z &copy 2024 &notin; &#x41;&#66;&#x80; &bogus; &amp</p>",
            "<a title='a &amp b' href=\"?a=1&copy=2\" data-x=&lt;>t</a>",
            "<p>café\r\nnext\rline</p>",
            "<title>A &amp; B</title><p>x",
            "<br/><img src=a /><p/>after",
            "</br>text",
            "<p>a<!-- <p>hidden --> b<!--> c<!---> d</p>",
            "<![CDATA[x]]><?php echo ?><!doctype html><p>t",
            "<p>1 < 2 and 3 <> 4 </ 5</p>",
            "<button>a<button>b</button>",
            "<form><p>a</form>b",
            "<iframe src=v>fallback <b>text</b></iframe><p>t",
            "<textarea>a &amp; <b>b</b></textarea>",
            "<svg><path d=x/><circle/><title>t</title></svg><p>after",
            "<svg><p>breaks out</svg>",
            "<math><mi>x</mi></math>y",
            "<center><p>a</center>b",
            "<DIV CLASS=Big ID=x>Upper</DIV>",
            "<div a=1 a=2 b>dup</div>",
            "<p>unterminated <b tag",
            "<p>a</p></p>b",
            "<nobr>a<nobr>b",
            "<table><caption>c</caption><colgroup><col></colgroup><thead><tr><th>h</thead><tbody><tr><td>d</tbody></table>",
            "<table><tr><td><table><tr><td>inner</table>outer</td></tr></table>",
            "<li>stray<li>items",
            "<p><li>list in p",
            // Found by the fuzz target `tree` (docs/fuzzing.md), fixed:
            "<svg>\0<frameset>",
            "<svg><font color=red>s<t/vg>",
            "<dv><svg><path></svg><pativ><svg><path></svg&><path>",
            "<table><thead><td>x</table>",
            "<math DEFINITIONURL><mi>x</mi></math>",
            "<svg viewbox=\"0 0 1 1\" xlink:href=a><foreignobject><p>x</foreignobject></svg>",
            "<math><foo><lineargradient attributename=x>y</lineargradient></foo></math>",
            "<body class=foo>X",
            "<!DOCTYPE html PUBLIC \"x\" junk><p><table>",
            "<optgroup>a<optgroup>b",
            "<script><!--<script></script>x</script>y",
            "<P\0X>a</P\0X>",
            // Found by the tag-soup property test, fixed: the `<b>` the
            // `</ol>` closed is re-opened in the form for `word`, and stays
            // open when `</form>` takes the form off the stack.
            "<form><ol><b></ol>word</form>a &amp; b",
            "<div><form><p><i>x</div>y</form>z",
            "<p><b class=x>one</p>two<p>three</b>four",
            "<table><tr><td><b>cell</td></tr></table>after",
        ];
        for case in cases {
            same(&fragment(case), &Html::parse_fragment(case), case);
            let page = format!(
                "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>T</title></head><body class=b>{case}</body></html>"
            );
            same(&document(&page), &html5ever_page(&page), &page);
        }
    }

    /// Where this builder parts from html5ever on purpose: a self-closed
    /// raw-text element is empty, so the text after it is read (html5ever
    /// makes the rest of the input script text).
    #[test]
    fn self_closed_raw_text_elements_are_empty() {
        for tag in ["<script src=\"https://x.example/e.js\" />", "<script/>", "<style />", "<iframe src=v />"] {
            let html = format!("<p>Before.</p>{tag}<p>After one.</p><p>After two.</p>");
            let text = reading(fragment(&html).tree.root()).0;
            assert_eq!(text, ["Before.", "After one.", "After two."], "{html}");
            let page = format!("<html><body>{html}</body></html>");
            let text = reading(document(&page).tree.root()).0;
            assert_eq!(text, ["Before.", "After one.", "After two."], "{page}");
        }
        // A script with content after one still holds its text, markup and all.
        let html = "<script src=a /><p>Kept.</p><script>var x = '<p>no</p>';</script><p>End.</p>";
        assert_eq!(reading(fragment(html).tree.root()).0, ["Kept.", "var x = '<p>no</p>';", "End."]);
    }
}

#[cfg(test)]
mod soup {
    use super::tests_support::*;
    use proptest::prelude::*;

    /// Start and end tags of blocks and inline elements, start tags of
    /// formatting elements but `a`: their end tags across blocks, and an
    /// `<a>` while one is open, are where html5ever runs the adoption
    /// agency, which this builder does not (module docs).
    fn token() -> impl Strategy<Value = String> {
        let names = prop::sample::select(vec![
            "p",
            "div",
            "span",
            "li",
            "ul",
            "ol",
            "h2",
            "h3",
            "section",
            "br",
            "img",
            "blockquote",
            "dl",
            "dt",
            "dd",
            "article",
            "header",
            "footer",
            "nav",
            "aside",
            "figure",
            "figcaption",
            "pre",
            "button",
            "form",
        ]);
        let formatting = prop::sample::select(vec!["b", "i", "em", "strong", "font", "small"]);
        prop_oneof![
            (names.clone(), any::<bool>()).prop_map(|(n, c)| if c {
                format!("<{n} class=\"k\">")
            } else {
                format!("<{n}>")
            }),
            names.prop_map(|n| format!("</{n}>")),
            formatting.prop_map(|n| format!("<{n}>")),
            prop::sample::select(vec!["word", "two words", " ", "a &amp; b", "&copy;", "x&y", "1 < 2", "\n"])
                .prop_map(str::to_string),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// Tag soup reads as html5ever reads it: the same text, line by line.
        #[test]
        fn tag_soup_reads_as_html5ever_reads_it(tokens in prop::collection::vec(token(), 0..40)) {
            let html = tokens.concat();
            let ours = reading(super::fragment(&html).tree.root()).0;
            let theirs = reading(scraper::Html::parse_fragment(&html).tree.root()).0;
            prop_assert_eq!(ours, theirs, "{}", html);
        }
    }

    /// Pieces of markup, cut anywhere: the builder never panics, and every
    /// text node it builds is non-empty.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "<",
            "</",
            "<!--",
            "-->",
            "--!>",
            "<!",
            "<?",
            "<![CDATA[",
            "]]>",
            ">",
            "/>",
            "/",
            "=",
            "\"",
            "'",
            " ",
            "\r",
            "\0",
            "&",
            "&#",
            "&#x",
            "&amp",
            ";",
            "&notin",
            "a",
            "p",
            "div",
            "script",
            "style",
            "svg",
            "math",
            "title",
            "textarea",
            "template",
            "table",
            "tr",
            "td",
            "li",
            "form",
            "plaintext",
            "b",
            "é",
            "中",
            "type=application/ld+json",
        ])
    }

    proptest! {
        #[test]
        fn any_cut_of_markup_parses(pieces in prop::collection::vec(piece(), 0..60)) {
            let html = pieces.concat();
            for doc in [super::document(&html), super::fragment(&html)] {
                for node in doc.tree.root().descendants() {
                    if let scraper::Node::Text(t) = node.value() {
                        prop_assert!(!t.text.is_empty(), "{:?}", html);
                    }
                }
            }
        }
    }
}
