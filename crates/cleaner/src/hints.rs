//! What an element's class and id say it is: one classifier of markup
//! words, shared by the cleaner (widgets inside a feed item) and the
//! extractor (furniture around an article on a page).
//!
//! Class names are written by people for people, so they carry roles
//! (`share-buttons`, `related-posts`, `comments-area`), but they also carry
//! data: a WordPress post wrapper lists its tags and categories as classes
//! (`tag-cookie-recipes`, `category-social_business`), headings get ids made
//! from their text (`id="related-research-shows"`), and a site names its own
//! components (`github-project-share` on each card of an article that is a
//! list of projects). Matching a junk word anywhere inside such a name
//! throws articles away. So:
//!
//! 1. Each class token and the id is one *token*; it is split into words on
//!    `-`, `_`, `:`, `.` and camelCase boundaries, trailing digits dropped.
//! 2. A token names a role only when it is made *entirely* of interface
//!    vocabulary: role words (`share`, `related`, `comments`, …) and
//!    structural words (`buttons`, `wrapper`, `top`, `facebook`, …), with at
//!    most one short unknown first word (a site or theme prefix: `td-`,
//!    `jp-`, `bbc-`). One unknown word anywhere else (`project`, `recipes`,
//!    `research`) means the token is the site's own name for something, and
//!    it says nothing about furniture.
//! 3. A token that starts with a taxonomy word followed by role words
//!    (`tag-…`, `category-…`, `entry-category-…`, `format-…`) is a generated
//!    slug: data, never a role.
//! 4. The id of a heading is an anchor made from its text: never a role.
//! 5. A token written without separators (`sharedaddy`, `relatedposts`,
//!    `newsletterbox`) is a role word itself or two vocabulary words run
//!    together, one of them a role word.
//!
//! 6. Atomic CSS utilities (`Mx(0)--modalCentered`, `W(100%)`) style an
//!    element and name nothing; a role after a relation word (`has-sidebar`,
//!    `page-with-sidebar`, `no-comments`) is something the element has, not
//!    what it is.
//!
//! Content hints (`article`, `entry-content`, `post-body`) are the opposite
//! signal: a word of a non-slug token that is a content word or two run
//! together (`articlebody`, `posttext`, `maincontent`), but not in a token
//! that names a role (`sidebar-content` is the sidebar's), and never a word
//! that merely holds one (`history`, `domain`, `textwidget`) or a plural
//! (`articles` is a list).
//!
//! What each role means to a consumer (drop, score down, record as which
//! kind) is the consumer's decision; this module only names roles.

use markup5ever::local_name;
use scraper::node::Element;

use crate::parse::attr;

/// A set of roles, as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Roles(u32);

impl Roles {
    pub(crate) const NONE: Roles = Roles(0);
    /// Share buttons and bars.
    pub(crate) const SHARE: Roles = Roles(1 << 0);
    /// Related, recommended, "more stories" lists and recirculation.
    pub(crate) const RELATED: Roles = Roles(1 << 1);
    /// Newsletter boxes, sign-ups, subscription offers, calls to action.
    pub(crate) const SUBSCRIBE: Roles = Roles(1 << 2);
    /// Ad slots and sponsored units.
    pub(crate) const AD: Roles = Roles(1 << 3);
    /// Comment sections.
    pub(crate) const COMMENTS: Roles = Roles(1 << 4);
    /// Menus, navigation, breadcrumbs, pagination.
    pub(crate) const NAV: Roles = Roles(1 << 5);
    /// Sidebars and rails.
    pub(crate) const SIDEBAR: Roles = Roles(1 << 6);
    /// Cookie and consent banners.
    pub(crate) const CONSENT: Roles = Roles(1 << 7);
    /// Page and article footers.
    pub(crate) const FOOTER: Roles = Roles(1 << 8);
    /// Bylines and author bios.
    pub(crate) const BYLINE: Roles = Roles(1 << 9);
    /// Tag and category lists.
    pub(crate) const TAGS: Roles = Roles(1 << 10);
    /// Social-network follow boxes.
    pub(crate) const SOCIAL: Roles = Roles(1 << 11);
    /// Promotions, trending and popular lists, banners.
    pub(crate) const PROMO: Roles = Roles(1 << 12);
    /// Modals, pop-ups, overlays.
    pub(crate) const POPUP: Roles = Roles(1 << 13);
    /// Generic widgets and tool rows.
    pub(crate) const WIDGET: Roles = Roles(1 << 14);
    /// Small metadata: dates, single tags, authors' names, ratings, print
    /// links, skip links, captions and credits, "more" links.
    pub(crate) const META: Roles = Roles(1 << 15);
    /// Page headers.
    pub(crate) const HEADER: Roles = Roles(1 << 16);
    /// Hidden and screen-reader-only elements.
    pub(crate) const HIDDEN: Roles = Roles(1 << 17);
    /// The article itself: `article`, `entry-content`, `post-body`, `story`.
    pub(crate) const CONTENT: Roles = Roles(1 << 18);

    /// Whether any role of `other` is in this set.
    pub(crate) fn any(self, other: Roles) -> bool {
        self.0 & other.0 != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Both sets together (usable in constants).
    pub(crate) const fn union(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }

    pub(crate) fn add(&mut self, other: Roles) {
        self.0 |= other.0;
    }
}

impl std::ops::BitOr for Roles {
    type Output = Roles;
    fn bitor(self, rhs: Roles) -> Roles {
        Roles(self.0 | rhs.0)
    }
}

/// The roles an element's class and id name.
pub(crate) fn roles(e: &Element) -> Roles {
    let mut words = Words::default();
    let mut out = attr(e, local_name!("class")).map_or(Roles::NONE, |class| class_roles(class, &mut words));
    out.add(id_roles(e, &mut words));
    out
}

/// The roles a class attribute names.
pub(crate) fn class_roles(class: &str, words: &mut Words) -> Roles {
    let mut out = Roles::NONE;
    for token in class.split_ascii_whitespace() {
        out.add(token_roles_into(token, words));
    }
    out
}

/// The roles an element's id names. A heading's id is an anchor made from
/// its text, not a role.
pub(crate) fn id_roles(e: &Element, words: &mut Words) -> Roles {
    match e.id() {
        Some(id) if !matches!(e.name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6") => token_roles_into(id, words),
        _ => Roles::NONE,
    }
}

/// The roles one class token or id names (see the module docs).
#[cfg(test)]
pub(crate) fn token_roles(token: &str) -> Roles {
    token_roles_into(token, &mut Words::default())
}

/// What a word of a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Role(Roles),
    Structural,
    Taxonomy,
    Unknown,
}

/// The words of one token, lowercased into one buffer: reused from token
/// to token, so splitting allocates nothing once it has grown.
#[derive(Default)]
pub(crate) struct Words {
    buf: String,
    spans: Vec<(usize, usize)>,
}

impl Words {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn get(&self, i: usize) -> &str {
        self.spans.get(i).map_or("", |&(a, b)| &self.buf[a..b])
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|&(a, b)| &self.buf[a..b])
    }

    /// Split a token into lowercase words on separators and camelCase
    /// boundaries; trailing digits are dropped and words of digits skipped.
    fn split(&mut self, token: &str) {
        self.buf.clear();
        self.spans.clear();
        let mut start = 0;
        let mut prev_lower = false;
        for c in token.chars() {
            if matches!(c, '-' | '_' | ':' | '.' | '/') || !c.is_alphanumeric() {
                self.end_word(start);
                start = self.buf.len();
                prev_lower = false;
                continue;
            }
            if c.is_uppercase() && prev_lower {
                self.end_word(start);
                start = self.buf.len();
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            if c.is_ascii() {
                self.buf.push(c.to_ascii_lowercase());
            } else {
                self.buf.extend(c.to_lowercase());
            }
        }
        self.end_word(start);
    }

    fn end_word(&mut self, start: usize) {
        let end = start + self.buf[start..].trim_end_matches(|c: char| c.is_ascii_digit()).len();
        self.buf.truncate(end);
        if end > start {
            self.spans.push((start, end));
        }
    }
}

fn token_roles_into(token: &str, words: &mut Words) -> Roles {
    // Atomic CSS utilities (`Mx(0)--modalCentered`, `W(100%)`) style an
    // element; they do not name it.
    if token.len() > 96 || token.contains(['(', ')', '$', '%', '!', '[', ']', '#']) {
        return Roles::NONE;
    }
    words.split(token);
    let n = words.len();
    if n == 0 {
        return Roles::NONE;
    }
    let mut content = false;
    let mut roles = Roles::NONE;
    // Positions of unknown words: only the first may be (a site prefix).
    let mut unknown_first = false;
    let mut unknown_later = false;
    let mut taxonomy_at: Option<usize> = None;
    let mut relation_at: Option<usize> = None;
    let mut role_after_relation = false;
    let mut not_structural_after_taxonomy = false;
    for (i, w) in words.iter().enumerate() {
        // What follows a taxonomy word is a name (`tag-story`), not a hint.
        content |= taxonomy_at.is_none() && is_content_word(w);
        let kind = word_kind(w);
        if taxonomy_at.is_some() && kind != Word::Structural {
            not_structural_after_taxonomy = true;
        }
        if relation_at.is_some() && matches!(kind, Word::Role(_)) {
            role_after_relation = true;
        }
        match kind {
            Word::Role(r) => roles.add(r),
            Word::Structural => {}
            Word::Taxonomy => {
                if taxonomy_at.is_none() {
                    taxonomy_at = Some(i);
                }
            }
            Word::Unknown => {
                if i == 0 {
                    unknown_first = true;
                } else {
                    unknown_later = true;
                }
            }
        }
        if relation_at.is_none() && is_relation(w) {
            relation_at = Some(i);
        }
    }
    // A taxonomy word followed by more words is a generated slug
    // (`tag-cookie-recipes`, `entry-category-social_business`), unless
    // what follows is purely structural (`tag-links`, `cat-list`).
    if not_structural_after_taxonomy {
        return Roles::NONE;
    }
    // A role after a relation word is something the element has or lacks
    // (`has-sidebar`, `page-with-sidebar`, `no-comments`), not what it is.
    if role_after_relation {
        return Roles::NONE;
    }
    if roles.is_empty() {
        return if content { Roles::CONTENT } else { Roles::NONE };
    }
    // The content of a role is the role's (`sidebar-content`,
    // `comment-body`): not the article. Every word must be interface
    // vocabulary, but for a short site or theme prefix (`td-post-sharing`,
    // `jp-relatedposts`).
    let prefix_ok = !unknown_first || n > 1 && words.get(0).len() <= 3;
    if !unknown_later && prefix_ok { roles } else { Roles::NONE }
}

/// Words that say what an element has rather than what it is.
fn is_relation(w: &str) -> bool {
    matches!(w, "has" | "with" | "without" | "no" | "sans")
}

fn word_kind(w: &str) -> Word {
    if let Some(r) = role_word(w) {
        return Word::Role(r);
    }
    if is_taxonomy(w) {
        return Word::Taxonomy;
    }
    if is_structural(w) {
        return Word::Structural;
    }
    // Two vocabulary words run together, one of them a role word:
    // `sharebar`, `relatedposts`, `newsletterbox`, `socialicons`.
    if (5..=24).contains(&w.len()) && w.is_ascii() {
        for cut in 2..=w.len() - 2 {
            let (a, b) = w.split_at(cut);
            match (role_word(a), role_word(b)) {
                (Some(r), Some(s)) => return Word::Role(r | s),
                (Some(r), None) if is_structural(b) => return Word::Role(r),
                (None, Some(r)) if is_structural(a) => return Word::Role(r),
                _ => {}
            }
        }
    }
    Word::Unknown
}

/// Whether a word names the article: a content word, or two run together
/// (`articlebody`, `posttext`, `maincontent`, `pagebody`). Only whole
/// words: `history`, `domain`, `context` and `textwidget` hold a content
/// word and name none, and plurals (`articles`, `posts`) name lists.
fn is_content_word(w: &str) -> bool {
    const STEMS: [&str; 9] = ["article", "content", "entry", "story", "body", "text", "main", "prose", "post"];
    const LEADS: [&str; 12] =
        ["article", "post", "page", "news", "main", "story", "entry", "body", "blog", "single", "the", "full"];
    if w == "hentry" || STEMS.contains(&w) {
        return true;
    }
    LEADS.iter().any(|lead| {
        w.strip_prefix(lead)
            .is_some_and(|rest| ["body", "content", "text", "article", "story", "entry"].contains(&rest))
    })
}

/// Words that begin a generated slug when followed by a name.
fn is_taxonomy(w: &str) -> bool {
    matches!(
        w,
        "tag"
            | "category"
            | "categories"
            | "cat"
            | "term"
            | "topic"
            | "label"
            | "format"
            | "type"
            | "status"
            | "postid"
            | "genre"
            | "series"
            | "keyword"
            | "kategorie"
            | "categoria"
            | "categorie"
    )
}

/// Words that name a role. Localised words of the six languages the
/// cleaner knows are here too: sites name classes in their language.
fn role_word(w: &str) -> Option<Roles> {
    let r = match w {
        "share" | "shares" | "sharing" | "sharedaddy" | "addtoany" | "shareaholic" | "sharethis" | "ssba"
        | "heateor" | "sharebar" | "compartir" | "partage" | "partager" | "teilen" | "compartilhar" | "condividi"
        | "a2a" | "addthis" | "shariff" | "sociallinks" => Roles::SHARE,
        "related" | "relatedposts" | "yarpp" | "crp" | "rp4wp" | "recommended" | "recommendations" | "recirc"
        | "recirculation" | "outbrain" | "taboola" | "zergnet" | "relacionados" | "correlati" | "relacionadas"
        | "connexes" | "verwandte" | "lesen" | "aussi" => Roles::RELATED,
        "newsletter" | "newsletters" | "subscribe" | "subscription" | "subscriptions" | "signup" | "mc4wp"
        | "optin" | "cta" | "infolettre" | "paywall" | "abonnement" | "suscripcion" | "iscriviti" | "assine" => {
            Roles::SUBSCRIBE
        }
        "ad" | "ads" | "advert" | "adverts" | "advertisement" | "advertising" | "adsbygoogle" | "adslot"
        | "adsense" | "dfp" | "gpt" | "publicite" | "publicidad" | "anzeige" | "werbung" | "pub" | "publicidade"
        | "pubblicita" | "sponsor" | "sponsored" | "sponsors" | "adunit" | "adblock" => Roles::AD,
        "comment" | "comments" | "coms" | "comms" | "commentlist" | "disqus" | "respond" | "discussion" | "replies"
        | "commentaires" | "comentarios" | "kommentare" | "commenti" => Roles::COMMENTS,
        "nav" | "navbar" | "navigation" | "menu" | "menus" | "breadcrumb" | "breadcrumbs" | "pagination" | "pager"
        | "masthead" | "navi" | "submenu" | "megamenu" | "dropdown" | "pagenav" => Roles::NAV,
        "sidebar" | "sidebars" | "rail" | "aside" | "secondary" => Roles::SIDEBAR,
        "cookie" | "cookies" | "consent" | "gdpr" | "cmp" | "privacy" => Roles::CONSENT,
        "footer" | "colophon" | "copyright" => Roles::FOOTER,
        "byline" | "bio" | "biography" | "authorbox" => Roles::BYLINE,
        "tags" | "taglist" | "tagcloud" | "keywords" | "topics" => Roles::TAGS,
        "social" | "follow" | "socialmedia" => Roles::SOCIAL,
        "promo" | "promos" | "promotion" | "trending" | "popular" | "banner" | "mostread" | "mostpopular" => {
            Roles::PROMO
        }
        "modal" | "popup" | "overlay" | "lightbox" | "interstitial" => Roles::POPUP,
        "widget" | "widgets" | "toolbar" | "tools" => Roles::WIDGET,
        "meta" | "author" | "authors" | "date" | "timestamp" | "time" | "dateline" | "print" | "skip" | "caption"
        | "credit" | "credits" | "rating" | "ratings" | "more" | "published" | "updated" => Roles::META,
        "header" | "topbar" => Roles::HEADER,
        "hidden" | "hide" | "invisible" | "sr" | "visually" | "offscreen" => Roles::HIDDEN,
        _ => return None,
    };
    Some(r)
}

/// Words of interface structure: they say how a thing is built or where it
/// sits, not what it is about. The six languages' words for the article
/// and for buttons, links and networks are here too (`compartir-nota`).
fn is_structural(w: &str) -> bool {
    is_structural_localised(w)
        || matches!(
            w,
            "a" | "about"
                | "above"
                | "active"
                | "after"
                | "alt"
                | "app"
                | "area"
                | "article"
                | "articles"
                | "aux"
                | "below"
                | "before"
                | "big"
                | "block"
                | "blocks"
                | "body"
                | "bottom"
                | "box"
                | "boxes"
                | "btn"
                | "btns"
                | "button"
                | "buttons"
                | "c"
                | "card"
                | "cards"
                | "center"
                | "classic"
                | "close"
                | "col"
                | "column"
                | "columns"
                | "component"
                | "container"
                | "content"
                | "count"
                | "counter"
                | "counts"
                | "custom"
                | "default"
                | "desktop"
                | "details"
                | "e"
                | "el"
                | "element"
                | "email"
                | "embed"
                | "enabled"
                | "end"
                | "entry"
                | "extra"
                | "facebook"
                | "feed"
                | "feature"
                | "fixed"
                | "float"
                | "floating"
                | "for"
                | "form"
                | "full"
                | "global"
                | "google"
                | "grid"
                | "group"
                | "has"
                | "head"
                | "heading"
                | "headline"
                | "holder"
                | "horizontal"
                | "icon"
                | "icons"
                | "in"
                | "info"
                | "inline"
                | "inner"
                | "input"
                | "instagram"
                | "is"
                | "item"
                | "items"
                | "js"
                | "jp"
                | "l"
                | "label"
                | "large"
                | "layout"
                | "left"
                | "line"
                | "link"
                | "linkedin"
                | "links"
                | "list"
                | "listing"
                | "lower"
                | "mail"
                | "main"
                | "mastodon"
                | "mid"
                | "middle"
                | "mini"
                | "mobile"
                | "mod"
                | "module"
                | "most"
                | "msg"
                | "native"
                | "network"
                | "networks"
                | "new"
                | "news"
                | "next"
                | "no"
                | "notice"
                | "now"
                | "o"
                | "official"
                | "on"
                | "open"
                | "options"
                | "other"
                | "outer"
                | "page"
                | "pages"
                | "panel"
                | "pinterest"
                | "placeholder"
                | "placement"
                | "plugin"
                | "position"
                | "post"
                | "posts"
                | "prev"
                | "previous"
                | "primary"
                | "read"
                | "reader"
                | "reddit"
                | "region"
                | "responsive"
                | "right"
                | "row"
                | "save"
                | "screen"
                | "sd"
                | "section"
                | "service"
                | "services"
                | "show"
                | "side"
                | "only"
                | "site"
                | "slot"
                | "small"
                | "sss"
                | "stack"
                | "static"
                | "sticky"
                | "stories"
                | "story"
                | "style"
                | "sub"
                | "telegram"
                | "text"
                | "theme"
                | "thread"
                | "thumb"
                | "thumbnail"
                | "thumbnails"
                | "threads"
                | "tiktok"
                | "title"
                | "tpl"
                | "template"
                | "to"
                | "toggle"
                | "top"
                | "trail"
                | "trigger"
                | "twitter"
                | "u"
                | "ui"
                | "unit"
                | "units"
                | "upper"
                | "us"
                | "v"
                | "vertical"
                | "view"
                | "visible"
                | "w"
                | "whatsapp"
                | "with"
                | "wp"
                | "wrap"
                | "wrapper"
                | "x"
                | "youtube"
                | "zone"
        )
}

fn is_structural_localised(w: &str) -> bool {
    matches!(
        w,
        "nota"
            | "notas"
            | "noticia"
            | "noticias"
            | "articulo"
            | "articulos"
            | "artigo"
            | "artigos"
            | "articolo"
            | "articoli"
            | "notizia"
            | "notizie"
            | "materia"
            | "artikel"
            | "beitrag"
            | "beitrage"
            | "contenu"
            | "billet"
            | "boton"
            | "botones"
            | "botao"
            | "botoes"
            | "bouton"
            | "boutons"
            | "pulsanti"
            | "enlaces"
            | "liens"
            | "redes"
            | "sociales"
            | "sociais"
            | "reseaux"
            | "sociaux"
            | "leia"
            | "lea"
            | "lire"
            | "leggi"
            | "tambien"
            | "anche"
            | "auch"
            | "mehr"
            | "plus"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_carry_their_role() {
        for (token, role) in [
            ("share", Roles::SHARE),
            ("social-share-buttons", Roles::SHARE),
            ("sharedaddy", Roles::SHARE),
            ("td-post-sharing-top", Roles::SHARE),
            ("shareButtons", Roles::SHARE),
            ("heateor_sss_sharing_container", Roles::SHARE),
            ("jp-relatedposts", Roles::RELATED),
            ("related-posts", Roles::RELATED),
            ("relatedPosts", Roles::RELATED),
            ("newsletter-signup", Roles::SUBSCRIBE),
            ("newsletterbox", Roles::SUBSCRIBE),
            ("ad-slot", Roles::AD),
            ("adsbygoogle", Roles::AD),
            ("comments-area", Roles::COMMENTS),
            ("disqus_thread", Roles::COMMENTS),
            ("post-navigation", Roles::NAV),
            ("breadcrumb-trail-wrapper", Roles::NAV),
            ("cookie-notice", Roles::CONSENT),
            ("site-footer", Roles::FOOTER),
            ("widget", Roles::WIDGET),
            ("ssba-classic-2", Roles::SHARE),
            ("compartir-nota", Roles::SHARE),
            ("lire-aussi", Roles::RELATED),
        ] {
            assert!(token_roles(token).any(role), "{token} should name {role:?}, got {:?}", token_roles(token));
        }
    }

    #[test]
    fn a_junk_word_inside_the_sites_own_name_is_not_a_role() {
        for token in [
            "github-project-share",
            "market-share-chart",
            "related-research-shows",
            "subscription-economy",
            "nav-single",
            "advanced",
            "shadow",
            "address",
            "header-image-credit-photographer",
        ] {
            let r = token_roles(token);
            assert!(r == Roles::NONE || r == Roles::CONTENT, "{token} named {r:?}");
        }
    }

    #[test]
    fn generated_slugs_are_data() {
        for token in
            ["tag-cookie-recipes", "category-social_business", "entry-category-social", "tag-share", "format-related"]
        {
            assert_eq!(token_roles(token), Roles::NONE, "{token}");
        }
        // Taxonomy words followed by structure are lists of tags.
        assert!(token_roles("tags-links").any(Roles::TAGS));
    }

    #[test]
    fn atomic_css_utilities_and_relations_name_nothing() {
        for token in ["Mx(0)--modalFloatingCloseBtn", "W(100%)", "has-sidebar", "page-with-sidebar", "no-comments"] {
            assert_eq!(token_roles(token), Roles::NONE, "{token}");
        }
    }

    #[test]
    fn the_content_of_a_role_is_the_roles() {
        for token in ["sidebar-content", "comment-body", "widget-content", "related-text"] {
            assert!(!token_roles(token).any(Roles::CONTENT), "{token}: {:?}", token_roles(token));
        }
        assert!(token_roles("sidebar-content").any(Roles::SIDEBAR));
    }

    #[test]
    fn content_words_are_whole_words() {
        for token in ["entry-content", "articleBody", "posttext", "main-content", "story_body", "hentry"] {
            assert!(token_roles(token).any(Roles::CONTENT), "{token}");
        }
        for token in ["history", "domain", "context", "textwidget", "articles", "latest-posts"] {
            assert!(!token_roles(token).any(Roles::CONTENT), "{token}");
        }
        assert!(!token_roles("tag-story").any(Roles::CONTENT));
    }

    #[test]
    fn a_headings_id_is_an_anchor() {
        let html = crate::parse::fragment(r#"<h2 id="share">Share of voters</h2><div id="share">x</div>"#);
        let mut found = Vec::new();
        for n in html.tree.root().descendants() {
            if let Some(e) = n.value().as_element()
                && matches!(e.name(), "h2" | "div")
            {
                found.push((e.name().to_string(), roles(e)));
            }
        }
        assert_eq!(found, vec![("h2".to_string(), Roles::NONE), ("div".to_string(), Roles::SHARE)]);
    }
}
