//! The built-in boilerplate rules, as data.
//!
//! Each rule is a regular expression over one normalised paragraph, with a
//! stable name (what `clean_disable` refers to), the [`RemovedKind`] it
//! records, the language it was written for, where in the article it may
//! match, a length cap, and a [`Role`] saying what a match does: drop the
//! paragraph, or anchor a multi-paragraph embed (a tweet's attribution line
//! takes the tweet text above it with it).
//!
//! Rules describe classes, not strings: "a line that is only a caption label,
//! a colon and a credit", "an attribution line `— Name (@handle) date`". The
//! precision guards are part of the data: most patterns are anchored at both
//! ends, so a sentence that merely starts like boilerplate ("Follow-up scans
//! on Monday…", "Photo by photo, the team…") does not match, and every rule
//! has a length cap (boilerplate lines are short; article paragraphs longer
//! than every cap skip matching altogether).
//!
//! Patterns run on normalised text: whitespace is a single ASCII space and
//! the paragraph is trimmed. They avoid `\b` (Unicode word boundaries make
//! the regex engine leave its fast DFA on non-ASCII text) and unbounded
//! counted repetitions (they bloat the compiled automaton).

use newswire_core::RemovedKind;

use crate::guards::TextGuard;

/// Where in the article a rule may match, counted in paragraphs that are
/// still kept once other rules have run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Any paragraph.
    Any,
    /// Among the first [`EDGE`] kept paragraphs.
    Start,
    /// Among the last [`EDGE`] kept paragraphs.
    End,
    /// Among the first or the last [`EDGE`] kept paragraphs.
    Edge,
    /// The last kept paragraph, when it is not the only one: where a
    /// truncated item ends.
    Last,
}

/// How many paragraphs at each end count as the start or the end.
pub const EDGE: usize = 3;

/// The social network or media host of an embed, as in `Embed::kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Twitter,
    Instagram,
    Facebook,
    TikTok,
    YouTube,
    Vimeo,
    /// Decided from the URL the rule captured.
    ByUrl,
}

impl Platform {
    /// The `Embed::kind` string; `ByUrl` is resolved by the caller.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Twitter => "twitter",
            Platform::Instagram => "instagram",
            Platform::Facebook => "facebook",
            Platform::TikTok => "tiktok",
            Platform::YouTube => "youtube",
            Platform::Vimeo => "vimeo",
            Platform::ByUrl => "media",
        }
    }
}

/// What a match does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Drop the paragraph.
    Line,
    /// The paragraph is a whole flattened post or media title (a TikTok
    /// caption line, "… - YouTube", a bare embed URL): drop it, record an
    /// embed.
    Post(Platform),
    /// An attribution line that closes a flattened post ("— Name (@handle)
    /// Month D, YYYY", "Posted by Name on Tuesday, …"): drop it and the post
    /// text just above it.
    Attribution(Platform),
    /// Opens a flattened embed ("View this post on Instagram") that runs to
    /// the matching [`Role::Closer`] a few paragraphs below.
    Opener(Platform),
    /// Closes an embed ("A post shared by Name (@handle)"); alone, it is
    /// dropped by itself.
    Closer(Platform),
    /// "Watch on YouTube": drop it and the video title just above it.
    WatchOn(Platform),
    /// A share widget's heading ("Share this:"): drop it and the widget items
    /// that follow.
    WidgetHeader,
    /// A widget item ("Facebook", "Email"): dropped only in a widget run.
    WidgetItem,
    /// A share button's action label ("Tweet", "Email", "Print"): with
    /// other widget items, a run of two or more at the start or the end of
    /// the article is a flattened share bar, dropped whole.
    ShareAction,
}

/// One built-in rule.
#[derive(Debug, Clone, Copy)]
pub struct RuleSpec {
    /// Stable name: `class.what_it_matches`.
    pub name: &'static str,
    /// What a match is recorded as.
    pub kind: RemovedKind,
    /// ISO 639-1 code of the language the rule was written for, or "*".
    pub lang: &'static str,
    /// Where it may match.
    pub position: Position,
    /// Paragraphs longer than this (bytes) never match.
    pub max_len: usize,
    /// Skip paragraphs holding a double quotation mark: quoted speech is
    /// article text even when it sounds like a call to action.
    pub no_quotes: bool,
    /// What a match does.
    pub role: Role,
    /// Tests of prose that veto a match (see `guards.rs`).
    pub guard: TextGuard,
    /// The regular expression, matched against the normalised paragraph.
    pub pattern: &'static str,
}

const fn rule(
    name: &'static str,
    kind: RemovedKind,
    lang: &'static str,
    max_len: usize,
    pattern: &'static str,
) -> RuleSpec {
    RuleSpec {
        name,
        kind,
        lang,
        position: Position::Any,
        max_len,
        no_quotes: false,
        role: Role::Line,
        guard: TextGuard::NONE,
        pattern,
    }
}

impl RuleSpec {
    const fn at(mut self, position: Position) -> RuleSpec {
        self.position = position;
        self
    }
    const fn role(mut self, role: Role) -> RuleSpec {
        self.role = role;
        self
    }
    const fn unquoted(mut self) -> RuleSpec {
        self.no_quotes = true;
        self
    }
    const fn guarded(mut self, guard: TextGuard) -> RuleSpec {
        self.guard = self.guard.union(guard);
        self
    }
}

use Platform as P;
use RemovedKind as K;

/// Networks named in "follow us on …" lines (case-insensitive context).
macro_rules! networks {
    () => {
        "(?:facebook|twitter|x|instagram|tiktok|threads|bluesky|youtube|linkedin|whatsapp|telegram|google news|mastodon|snapchat|flipboard|social media|social|les réseaux sociaux|réseaux sociaux|redes sociales|redes sociais|sozialen medien|social network|i social)"
    };
}

/// A date as social embeds print it, in the six languages' orders:
/// "September 14, 2021", "14 September 2024", "Tuesday, January 9, 2024",
/// "5 de junio de 2024", "12. März 2024", "Jan 17, 2024 at 12:41am PST".
macro_rules! date {
    () => {
        r"(?:(?:[\p{L}\-]+,? )?(?:\d{1,2}(?:\.|er|º|st|nd|rd|th)? (?:de )?)?\p{L}+\.?(?: \d{1,2}(?:st|nd|rd|th)?,?)?(?: de)? (?:19|20)\d\d|\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d\d)(?: (?:at|à|a las|a las|um|às|alle) [0-9:.]+ ?(?:[AaPp]\.?[Mm]\.?)?(?: [A-Z]{2,5})?)?"
    };
}

/// A handle in parentheses, as in "(@name)", "(@name.bsky.social)",
/// "(@user@mastodon.social)".
macro_rules! handle {
    () => {
        r"\(@(?P<handle>[A-Za-z0-9_.\-]+(?:@[A-Za-z0-9_.\-]+)?)\)"
    };
}

/// Every built-in rule, in priority order: when a paragraph matches several,
/// the first one that applies decides.
pub static BUILTIN: &[RuleSpec] = &[
    // ---------------------------------------------------------------- embeds
    // "— Name (@handle) September 14, 2021" / "14 September 2024" /
    // "4 novembre 2024" / "5. Juni 2024": a dash, a name, a handle in
    // parentheses, and a date that ends in (or near) a year.
    rule(
        "embed.post_attribution",
        K::SocialEmbed,
        "*",
        240,
        concat!(r"^[—–―\-]{1,2} ?(?P<author>[^()]*?) ?", handle!(), r" (?:on )?(?P<date>", date!(), r")$"),
    )
    .role(Role::Attribution(P::Twitter)),
    // Facebook's flattened embed: "Posted by Name on Tuesday, January 9, 2024".
    rule(
        "embed.facebook_posted_by",
        K::SocialEmbed,
        "*",
        240,
        concat!(r"^(?:Posted by|Publiée? par|Publicado por|Gepostet von|Geteilt von|Pubblicato da|Diposting oleh) (?P<author>.+?) (?:on|sur|le|en|em|am|su|il|pada) (?P<date>", date!(), r")$"),
    )
    .role(Role::Attribution(P::Facebook)),
    // Instagram: "View this post on Instagram" … "A post shared by Name (@handle)".
    rule(
        "embed.instagram_view_post",
        K::SocialEmbed,
        "*",
        80,
        r"(?i)^(?:view this (?:post|photo|video|reel) on instagram|voir cette publication sur instagram|ver esta publicación en instagram|ver esta (?:publicação|foto) no instagram|ver essa (?:publicação|foto) no instagram|diesen beitrag auf instagram ansehen|visualizza questo post su instagram|lihat postingan ini di instagram)$",
    )
    .role(Role::Opener(P::Instagram)),
    rule(
        "embed.instagram_shared_by",
        K::SocialEmbed,
        "*",
        240,
        concat!(
            r"^(?:A post shared by|Une publication partagée par|Una publicación compartida por|Una publicación compartida de|Ein Beitrag geteilt von|Uma publicação compartilhada por|Uma publicação partilhada por|Un post condiviso da|Postingan yang dibagikan oleh) ?(?P<author>[^()]*?) ?",
            handle!(),
            r"(?: (?:on|le|el|am|em|il) (?P<date>", date!(), r"))?$"
        ),
    )
    .role(Role::Closer(P::Instagram)),
    // TikTok: "@user caption #tags ♬ original sound - user".
    rule(
        "embed.tiktok_sound",
        K::SocialEmbed,
        "*",
        2400,
        r"^(?:@(?P<handle>[A-Za-z0-9_.]+) )?(?P<text>.*?) ?♬ ?(?P<sound>[^♬]+ [-–] [^♬]+)$",
    )
    .role(Role::Post(P::TikTok)),
    // A video title as the flattened player shows it: "Title | Channel - YouTube".
    rule(
        "embed.youtube_title",
        K::MediaEmbed,
        "*",
        300,
        r"(?i)^(?:(?:watch|video|vidéo|vídeo|ver|mira|regarder|anschauen|guarda|assista|assistir) ?: )?(?P<text>.+?) [-–—|] youtube$",
    )
    .role(Role::Post(P::YouTube)),
    rule(
        "embed.youtube_watch_on",
        K::MediaEmbed,
        "*",
        60,
        r"(?i)^(?:watch on youtube|watch this video on youtube|regarder sur youtube|voir sur youtube|ver en youtube|mira en youtube|auf youtube ansehen|auf youtube anschauen|assistir no youtube|assista no youtube|ver no youtube|guarda su youtube)$",
    )
    .role(Role::WatchOn(P::YouTube)),
    rule("embed.vimeo_title", K::MediaEmbed, "en", 300, r"^(?P<text>.+) from (?P<author>.+) on Vimeo\.?$")
        .role(Role::Post(P::Vimeo)),
    // A line that is only a link to a post or a video: WordPress turns such
    // lines into embeds, so feeds often carry them bare.
    rule(
        "embed.bare_post_url",
        K::SocialEmbed,
        "*",
        300,
        r"(?i)^(?P<url>https?://(?:www\.|m\.|mobile\.|vm\.)?(?:twitter\.com|x\.com|instagram\.com|tiktok\.com|facebook\.com|fb\.watch|bsky\.app|threads\.net|threads\.com|mastodon\.social)/[^ ]*)$",
    )
    .role(Role::Post(P::ByUrl)),
    rule(
        "embed.bare_media_url",
        K::MediaEmbed,
        "*",
        300,
        r"(?i)^(?P<url>https?://(?:www\.|m\.)?(?:youtube\.com|youtu\.be|vimeo\.com|soundcloud\.com|open\.spotify\.com|dailymotion\.com)/[^ ]*)$",
    )
    .role(Role::Post(P::ByUrl)),
    // A line ending in a tweet's media or short link is a tweet whose
    // attribution line was lost (articles do not print t.co links).
    rule(
        "embed.tweet_link_line",
        K::SocialEmbed,
        "*",
        700,
        r"(?i)^(?:(?P<text>.*) )?(?P<url>(?:https?://)?(?:pic\.twitter\.com|pic\.x\.com|t\.co)/[A-Za-z0-9]{4,20})$",
    )
    .role(Role::Post(P::Twitter)),
    // ---------------------------------------------------------------- captions
    // A caption label, a colon, a credit: "Photo: Jane Doe / Agency",
    // "Photo : Archives", "Foto: …", "Credit: Handout".
    rule(
        "caption.credit_label",
        K::Caption,
        "*",
        160,
        r"(?i)^(?:photo|photos|photograph|photographs|photography|photo credit|photo credits|image|images|image credit|image source|picture|pictures|pic|pics|credit|credits|illustration|graphic|artwork|video credit|foto|fotos|fotografía|fotografia|fotografie|imagen|imagens|imagem|immagine|immagini|crédito|créditos|credito|crediti|crédit|crédits|crédit photo|crédits photo|bild|bilder|bildquelle|fotoquelle|grafik|ilustración|ilustração|illustrazione) ?[:：] ?\S.*$",
    )
    .guarded(TextGuard::ONE_SENTENCE.union(TextGuard::SPEECH)),
    // "(Photo by Jane Doe / Getty Images)", "(Foto: EFE)".
    rule(
        "caption.parenthesised_credit",
        K::Caption,
        "*",
        250,
        r"(?i)^\((?:photo|photos|image|images|picture|pic|foto|fotos|imagen|imagem|immagine|bild|credit|crédit|crédito|credito)(?: ?[:：]| by| de| par| von| di| por| courtesy| via)[^()]+\)\.?$",
    ),
    // "Photo by Jane Doe/Getty Images", "Image via Reuters".
    rule(
        "caption.photo_by_agency",
        K::Caption,
        "*",
        160,
        r"(?i)^(?:photo|photos|image|picture|foto|imagen|imagem|immagine|bild)(?: by| de| par| von| di| por) [^.,;:]+?(?: ?/ ?| via | for | \| )[^.;:]+$",
    ),
    // "AP Photo/Jane Doe", "Jane Doe/AFP via Getty Images".
    rule(
        "caption.agency_credit",
        K::Caption,
        "*",
        120,
        r"(?i)^(?:(?:ap|afp|reuters|epa|dpa|efe|ansa|lusa) (?:photo|foto)(?: ?/ ?[^.;:]+)?|[^.,;:/]+ ?/ ?(?:getty images|afp|reuters|ap|epa|dpa|efe|ansa|lusa|anadolu|shutterstock|alamy|imago|picture alliance|afp via getty images|reuters via getty images))$",
    ),
    // -------------------------------------------------------------- syndication
    // WordPress feed footers in the six languages' stock translations.
    rule(
        "syndication.wordpress_footer",
        K::Syndication,
        "*",
        600,
        r"^(?:The post .+ appeared first on [^.]+(?:\..{0,20})?|L['’](?:article|entrée|billet|post) .+ est apparu en premier sur .+|La entrada .+ (?:se publicó primero|apareció primero|aparece primero) en .+|Der (?:Beitrag|Artikel|Post) .+ erschien zuerst (?:auf|bei|in) .+|O (?:post|artigo) .+ (?:apareceu primeiro|foi publicado primeiro) (?:em|no|na) .+|L['’](?:articolo|post) .+ (?:sembra essere il primo su|proviene da|è apparso per la prima volta su) .+)$",
    ),
    // "This article has been adapted from its original source.", "This
    // story was originally published by …", "This report by X was first
    // published …", "This story is part of a content-sharing partnership …".
    rule(
        "syndication.this_article_origin",
        K::Syndication,
        "en",
        420,
        r"(?i)^(?:this|the following|the above|an earlier version of this) (?:article|story|report|piece|post|review|column|essay|interview|op-ed|commentary|analysis|feature|content|item|text|excerpt|extract|translation)(?: (?:by|from|for|about|de|par|pour|sur|por|sobre|von|aus|für|über|di|da|del|della|per|su|dos|das|do|da) [^ ,;:]+(?: [^ ,;:]+){0,5}?)? (?:(?:has been |was |is |were )?(?:adapted|republished|reproduced|reprinted|syndicated|translated)|(?:was |is |has been )?(?:originally|first) (?:published|appeared|posted|ran|produced|written)|appeared (?:first|originally)|(?:was |is )?part of (?:a |an |the )?(?:[^ ,;:]+ ){0,6}?(?:partnership|collaboration|syndication)|(?:was )?produced (?:by|in partnership|in collaboration)|(?:was |is )?(?:distributed|shared|provided|supplied|contributed) by)(?: .*)?$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    rule(
        "syndication.this_article_origin_fr",
        K::Syndication,
        "fr",
        420,
        r"(?i)^(?:cet|cette|ce|le présent) (?:article|texte|reportage|billet|chronique|entretien|entrevue|contenu|dossier)(?: (?:by|from|for|about|de|par|pour|sur|por|sobre|von|aus|für|über|di|da|del|della|per|su|dos|das|do|da) [^ ,;:]+(?: [^ ,;:]+){0,5}?)? (?:(?:a été |est |fut )?(?:adapté|publié|paru|reproduit|republié|repris|traduit|diffusé)e?s? (?:[^ ,;:]+ ){0,6}?(?:original|originellement|initialement|d['’]abord|en premier|à l['’]origine|avec l['’]autorisation|avec la permission|sous licence|en partenariat|grâce à un accord)|(?:est |a été )?(?:initialement|originellement|d['’]abord|précédemment) (?:publié|paru)).*$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    rule(
        "syndication.this_article_origin_es",
        K::Syndication,
        "es",
        420,
        r"(?i)^(?:este|esta|el presente|la presente) (?:artículo|texto|reportaje|nota|contenido|informe|crónica|columna|entrevista)(?: (?:by|from|for|about|de|par|pour|sur|por|sobre|von|aus|für|über|di|da|del|della|per|su|dos|das|do|da) [^ ,;:]+(?: [^ ,;:]+){0,5}?)? (?:(?:fue |ha sido |se |es )?(?:publicad[oa]|adaptad[oa]|reproducid[oa]|republicad[oa]|traducid[oa]|publicó|apareció|reproduce|distribuid[oa]) (?:[^ ,;:]+ ){0,6}?(?:originalmente|originariamente|por primera vez|primero|con autorización|con permiso|bajo licencia|en alianza|gracias a un acuerdo|en colaboración)|(?:fue |se )?(?:publicad[oa]|apareció) (?:originalmente|originariamente|por primera vez)).*$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    rule(
        "syndication.this_article_origin_de",
        K::Syndication,
        "de",
        420,
        r"(?i)^(?:dieser|der|dieses|diese|die) (?:artikel|beitrag|text|bericht|inhalt|kommentar|gastbeitrag|übersetzung)(?: (?:by|from|for|about|de|par|pour|sur|por|sobre|von|aus|für|über|di|da|del|della|per|su|dos|das|do|da) [^ ,;:]+(?: [^ ,;:]+){0,5}?)? (?:(?:erschien|ist|wurde) (?:[^ ,;:]+ ){0,6}?(?:zuerst|ursprünglich|erstmals|im original|mit genehmigung|mit erlaubnis|unter der lizenz|unter einer lizenz|in kooperation|in partnerschaft)|(?:zuerst|ursprünglich|erstmals) (?:[^ ,;:]+ ){0,6}?(?:erschienen|veröffentlicht|publiziert)).*$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    rule(
        "syndication.this_article_origin_pt",
        K::Syndication,
        "pt",
        420,
        r"(?i)^(?:este|esta|o presente|a presente) (?:artigo|texto|reportagem|conteúdo|matéria|coluna|entrevista)(?: (?:by|from|for|about|de|par|pour|sur|por|sobre|von|aus|für|über|di|da|del|della|per|su|dos|das|do|da) [^ ,;:]+(?: [^ ,;:]+){0,5}?)? (?:(?:foi |é |está sendo )?(?:publicad[oa]|adaptad[oa]|reproduzid[oa]|republicad[oa]|traduzid[oa]|distribuíd[oa]) (?:[^ ,;:]+ ){0,6}?(?:originalmente|originariamente|pela primeira vez|primeiro|com autorização|com permissão|sob licença|em parceria|graças a um acordo)|(?:foi )?(?:originalmente|primeiramente) (?:publicad[oa]|veiculad[oa])).*$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    rule(
        "syndication.this_article_origin_it",
        K::Syndication,
        "it",
        420,
        r"(?i)^(?:questo|questa|quest['’]|il presente|la presente|l['’]) ?(?:articolo|testo|pezzo|contenuto|reportage|intervista|intervento|traduzione)(?: (?:by|from|for|about|de|par|pour|sur|por|sobre|von|aus|für|über|di|da|del|della|per|su|dos|das|do|da) [^ ,;:]+(?: [^ ,;:]+){0,5}?)? (?:(?:è stat[oa] |fu |viene )?(?:pubblicat[oa]|apparso|apparsa|ripres[oa]|riprodott[oa]|adattat[oa]|tradott[oa]|ripubblicat[oa]) (?:[^ ,;:]+ ){0,6}?(?:originariamente|originalmente|per la prima volta|prima|su autorizzazione|con il permesso|sotto licenza|in collaborazione|in partnership|grazie a un accordo)|(?:è stat[oa] )?(?:originariamente|originalmente) (?:pubblicat[oa]|apparso|apparsa)).*$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    // "Originally published at https://…", "First appeared on Outlet." (no
    // comma: "Originally published in 1962, the novel…" is prose).
    rule(
        "syndication.originally_published",
        K::Syndication,
        "*",
        300,
        r"(?i)^(?:originally|first) (?:published|posted|appeared|ran) (?:at|on|in|by) (?:https?://[^ ]+|[^,;]+?)\.?$|^(?:publié|paru) (?:initialement|originellement|à l['’]origine|d['’]abord) (?:sur|dans|par) [^,;]+?\.?$|^(?:publicado|aparecido|publicada) (?:originalmente|originariamente|por primera vez) (?:en|por) [^,;]+?\.?$|^(?:zuerst|ursprünglich|erstmals) (?:erschienen|veröffentlicht) (?:auf|bei|in|im) [^,;]+?\.?$|^(?:publicado originalmente|originalmente publicado|publicada originalmente|originalmente publicada) (?:em|no|na|por) [^,;]+?\.?$|^(?:pubblicato|apparso|pubblicata|apparsa) (?:originariamente|originalmente|per la prima volta) (?:su|in|da|sul|sulla) [^,;]+?\.?$|^(?:article|artículo|artigo|articolo|artikel|texto|testo|texte|text) (?:publié|paru|publicado|pubblicato|erschienen|veröffentlicht) (?:originalmente|originariamente|originellement|initialement|ursprünglich|zuerst) .*$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::SPEECH),
    // "Republished with permission from …", "Reproduced under a Creative Commons licence."
    rule(
        "syndication.republished_with_permission",
        K::Syndication,
        "*",
        350,
        r"(?i)^(?:(?:republished|reprinted|reproduced|published|shared|posted|used|syndicated) (?:here )?(?:with (?:the )?(?:kind )?(?:permission|consent)|by (?:kind )?permission|courtesy of|under (?:a |the )?(?:creative commons|cc[ -]by|licen[cs]e|partnership|agreement)|through (?:a |an )?(?:partnership|agreement))|(?:republié|reproduit|publié|repris) avec (?:l['’](?:aimable )?autorisation|la permission|l['’]accord)|(?:republicad[oa]|reproducid[oa]|publicad[oa]) con (?:autorización|permiso)|(?:veröffentlicht|übernommen|nachdruck|wiedergabe) mit (?:freundlicher )?(?:genehmigung|erlaubnis)|(?:republicad[oa]|reproduzid[oa]|publicad[oa]) com (?:autorização|permissão)|(?:ripubblicat[oa]|riprodott[oa]|pubblicat[oa]) (?:con|su) (?:autorizzazione|permesso|gentile concessione))(?:[^,;]*)(?:, [^ ,;]+(?: [^ ,;]+){0,5})?\.?$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::SPEECH),
    rule(
        "syndication.creative_commons",
        K::Syndication,
        "*",
        420,
        r"(?i)^(?:(?:this|the following|this original) (?:article|story|post|piece|work|text|content|essay|report|column|interview|photo|image|material|translation)s?(?: [^ ,;:]+){0,10}? (?:is |was |are |were |has been |have been )?(?:republished|reproduced|published|licensed|distributed|shared|reprinted|made available|available)|(?:republished|reproduced|reprinted|licensed|shared|published|distributed) (?:here )?(?:from (?:[^ ,;:]+ ){1,8}?)?|(?:cet|ce|cette) (?:article|texte|contenu)(?: [^ ,;:]+){0,10}? (?:est |a été )?(?:republié|reproduit|publié|diffusé|traduit)e?|(?:este|esta) (?:artículo|texto|contenido|nota)(?: [^ ,;:]+){0,10}? (?:es |fue |ha sido |se )?(?:republicad[oa]|reproducid[oa]|publicad[oa]|publica|distribuid[oa])|(?:dieser|diese|dieses) (?:artikel|text|beitrag|inhalt)(?: [^ ,;:]+){0,10}? (?:ist|wurde|erscheint|steht)|(?:este|esta) (?:artigo|texto|conteúdo)(?: [^ ,;:]+){0,10}? (?:é |foi )?(?:republicad[oa]|reproduzid[oa]|publicad[oa]|distribuíd[oa])|(?:questo|questa) (?:articolo|testo|contenuto)(?: [^ ,;:]+){0,10}? (?:è |è stat[oa] )?(?:ripubblicat[oa]|riprodott[oa]|pubblicat[oa]|distribuit[oa]))(?: (?:by|from|for|about|de|par|pour|sur|por|sobre|von|aus|für|über|di|da|del|della|per|su|dos|das|do|da) [^ ,;:]+(?: [^ ,;:]+){0,5}?)? (?:under|using|with|sous|bajo|con|unter|sob|sotto|mit) (?:a |an |the |une |la |una |einer |uma |la )?(?:licen[cs]e |licencia |lizenz |licença |licenza )?(?:creative commons|cc by|cc-by)(?: [^.,;]{0,60}?)?(?:\.(?: [^.,;]{1,60}\.?)?)?$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    // "Read the original article.", "Read the original here."
    rule(
        "syndication.read_original",
        K::Syndication,
        "*",
        80,
        r"(?i)^(?:read the original(?: article| story| post| version| here| piece)?(?: here)?|lire l['’]article original|lire l['’]original|lea el (?:artículo|texto) original|leer el (?:artículo|texto) original|zum originalartikel|zum original|originalartikel lesen|leia o (?:artigo|texto) original|leggi l['’]articolo originale)[.!]?$",
    )
    .guarded(TextGuard::SPEECH),
    // "Distributed by Nordlicht Media Syndication. For licensing …".
    rule(
        "syndication.distributed_by",
        K::Syndication,
        "en",
        260,
        r"^(?:Distributed|Syndicated|Licensed) (?:by|through|via) \p{Lu}.*$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::SPEECH),
    // ------------------------------------------------------------ wire credits
    rule(
        "wire.reporting_by_parenthesised",
        K::WireCredit,
        "*",
        360,
        r"(?i)^\((?:additional )?(?:reporting|reported|writing|written|editing|edited|compiled|research|fact-checking|graphics|production|produced|with reporting|additional reporting) (?:by|from) [^()]+\)\.?$|^\((?:reportage|rédaction|rédigé par|édité par|édition|avec|version française|traduction|reporte de|reportaje de|información de|redacción de|redacción|editado por|edición de|con información de|con reportes de|bericht von|berichterstattung|redigiert von|geschrieben von|mitarbeit|übersetzt von|reportagem de|reportagem|redação|edição de|com informações d[aeo]s?|reportage di|redazione|hanno collaborato|tradotto da|a cura di|scritto da)[ :][^()]+\)\.?$",
    ),
    rule(
        "wire.additional_reporting",
        K::WireCredit,
        "*",
        260,
        r"(?i)^(?:[—–] ?)?(?:additional reporting|with (?:additional )?reporting|with files) (?:by|from) [^“”«»]+$|^(?:reporting|writing) by [^.;]+; ?(?:editing|writing|additional reporting) by [^“”«»]+$|^(?:avec|con|mit|com) (?:la |l['’])?(?:afp|ap|reuters|efe|dpa|ansa|lusa|agences|agencias|agências|agenzie|agenturen|europa press|kna|epd)(?: et| y| und| e| ed)?(?: ?(?:afp|ap|reuters|efe|dpa|ansa|lusa|agences|agencias|agências|agenzie|agenturen))?\.?$|^(?:con información de|con informaciones de|mit material (?:von|der)|com informações d[aeo]s?|con fonti d['’]agenzia|con informazioni di|colaboró|colaborou|ont collaboré|mitarbeit) [^“”«»]+$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::NAMES.union(TextGuard::SPEECH)),
    // --------------------------------------------------------------- copyright
    rule(
        "copyright.notice",
        K::Copyright,
        "*",
        260,
        r"(?i)^(?:©|\(c\) ?(?:19|20)\d\d|copyright ?(?:©|\(c\))? ?(?:19|20)\d\d|copyright ?©|copyright:? ?(?:the )?(?-i:\p{Lu})[^.]*(?:19|20)\d\d\.?$).*$",
    )
    .at(Position::End)
    .guarded(TextGuard::SPEECH),
    rule(
        "copyright.all_rights_reserved",
        K::Copyright,
        "*",
        420,
        r"(?i)^(?:[^.“”«»]*\. )?(?:all rights reserved|tous droits réservés|todos los derechos reservados|alle rechte vorbehalten|todos os direitos reservados|tutti i diritti riservati|riproduzione riservata)(?:\.|$).*$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::SPEECH),
    rule(
        "copyright.no_redistribution",
        K::Copyright,
        "*",
        420,
        r"(?i)^(?:this (?:material|article|content|story) )?may not be (?:published|reproduced|republished|redistributed|broadcast|rewritten|copied)(?:,| or| and|,? in whole| without).*$|^(?:reproduction|redistribution|republication|copying|any reproduction)[^.]* (?:is |are )?(?:strictly )?(?:prohibited|forbidden|not permitted|not allowed)\.?.*$|^(?:reproduction|redistribution|republication) (?:without|in whole or in part)[^.]*(?:prohibited|forbidden|permission)\.?.*$|^(?:reproduction interdite|toute reproduction (?:est )?interdite|prohibida su reproducción|queda prohibida la reproducción|vervielfältigung nur mit genehmigung|nachdruck verboten|proibida a reprodução|é proibida a reprodução|riproduzione vietata|vietata la riproduzione).*$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::SPEECH),
    // ----------------------------------------------------------- advertisement
    // "Advertisement", "ADVERTISEMENT", "Advertisement - Scroll to continue",
    // "Publicité", "Anzeige".
    rule(
        "advertisement.label",
        K::Advertisement,
        "*",
        80,
        r"(?i)^(?:advertisement|advertising|advert|ad|ads|sponsored|sponsored content|paid content|paid post|anzeige|werbung|publicité|publicidad|publicidade|pubblicità|annonce|anuncio|anúncio|skip advertisement|reklame) ?(?:[-–—·:|] ?(?:scroll|continue|story|article|content|reading|sigue|continúa|continua|la suite|weiterlesen|lesen sie weiter)[^.]*)?[.:]?$",
    ),
    rule(
        "advertisement.story_continues",
        K::Advertisement,
        "*",
        90,
        r"(?i)^(?:the )?(?:story|article|text|content|report) continues (?:below|after)(?: (?:this|the))?(?: (?:advertisement|advert|ad|sponsored message))?\.?$|^(?:l['’]article|la suite|le texte) (?:continue|se poursuit) (?:sous|après) (?:la|cette) publicité\.?$|^(?:la nota|el artículo|la noticia|el texto|la información) (?:continúa|sigue) (?:debajo|después|tras)(?: de)? (?:la|esta) publicidad\.?$|^(?:der artikel|der text|artikel|text) (?:geht|wird) (?:nach|unter) der (?:anzeige|werbung) (?:weiter|fortgesetzt)\.?$|^weiter nach der (?:anzeige|werbung)\.?$|^(?:continua|continue|a matéria continua|o texto continua) (?:após|depois d[ae]|abaixo d[ae]) (?:a )?publicidade\.?$|^(?:l['’]articolo|il testo|l['’]articolo) (?:continua|prosegue) (?:dopo|sotto) (?:la )?pubblicità\.?$",
    ),
    // ----------------------------------------------------------- calls to action
    // "READ MORE: headline", "Related: headline", "Lire aussi : titre".
    rule(
        "call_to_action.read_more_label",
        K::CallToAction,
        "*",
        300,
        r"(?i)^(?:read more|read also|also read|read next|read|see also|also see|related|related stories|related story|related articles|related article|related content|related coverage|related reading|related link|related links|more on this(?: story)?|more coverage|you may also like|you might also like|recommended|recommended reading|must read|don['’]t miss|watch|listen|lire aussi|à lire aussi|a lire aussi|lire également|à lire également|voir aussi|à voir aussi|sur le même sujet|lea también|lee también|leer también|lea además|le puede interesar|te puede interesar|ver también|más información|relacionado|relacionada|relacionadas|mehr zum thema|lesen sie auch|lesen sie mehr|auch interessant|das könnte sie auch interessieren|leia também|leia mais|veja também|saiba mais|relacionadas|leggi anche|potrebbe interessarti|vedi anche|approfondisci|(?-i:More from \p{Lu}[\p{L}&'’]*(?: [\p{L}&'’]+){0,3})|(?-i:MORE FROM [\p{Lu}&'’]+(?: [\p{Lu}&'’]+){0,3})) ?[:：|»›>] ?\S.*$",
    ),
    // The same leads with a dash: "READ MORE — headline", "Lire aussi –
    // titre". Only the multi-word labels: "Read – and reread – the
    // contract" is a sentence.
    rule(
        "call_to_action.read_more_dash",
        K::CallToAction,
        "*",
        300,
        r"(?i)^(?:read more|read also|also read|read next|more on this(?: story)?|see also|related stories|related articles|related coverage|lire aussi|à lire aussi|a lire aussi|lire également|voir aussi|sur le même sujet|lea también|lee también|leer también|ver también|lesen sie auch|mehr zum thema|leia também|leia mais|veja também|leggi anche|vedi anche) ?[-–—] ?\S.*$",
    ),
    // A lone "Related" / "Related posts" heading of a flattened widget.
    rule(
        "widget.related_heading",
        K::Widget,
        "*",
        40,
        r"(?i)^(?:related|related posts|related articles|related stories|you may also like|you might also like|more stories|recommended for you|articles liés|à lire aussi|artículos relacionados|notas relacionadas|noticias relacionadas|ähnliche artikel|verwandte artikel|artigos relacionados|notícias relacionadas|articoli correlati|potrebbe interessarti anche)\s*:?$",
    ),
    // "Follow us on Facebook, X and Instagram …", "Follow @Name on X …".
    rule(
        "call_to_action.follow_us",
        K::CallToAction,
        "*",
        300,
        concat!(
            r"(?i)^(?:(?:like|join|find|connect with) us|(?:follow|keep up with|stay connected with|stay up to date with) (?:us|@[A-Za-z0-9_.]+|[^.:;,“”«»]+?)) (?:on|via) (?:[^.:;,“”«»]+? )?",
            networks!(),
            r"(?:[ ,.!:;]|$).*$|^(?:suivez|suivez-nous|retrouvez-nous|rejoignez-nous|abonnez-vous à) [^.:;,“”«»]*?(?:sur|on) (?:[^.:;,“”«»]+? )?",
            networks!(),
            r"(?:[ ,.!:;]|$).*$|^(?:síguenos|sígannos|síganos|sigue a|siga a|sigue|siga-nos|siga|sigam|acompanhe|acompanhe-nos|curta) [^.:;,“”«»]*?(?:en|on|no|na|em|nas|nos) (?:[^.:;,“”«»]+? )?",
            networks!(),
            r"(?:[ ,.!:;]|$).*$|^(?:folgen sie|folge|folgt|besuchen sie) [^.:;,“”«»]*?(?:auf|bei|on|in) (?:[^.:;,“”«»]+? )?",
            networks!(),
            r"(?:[ ,.!:;]|$).*$|^(?:seguici|segui|seguite|seguiteci) [^.:;,“”«»]*?(?:su|on|sui|sul) (?:[^.:;,“”«»]+? )?",
            networks!(),
            r"(?:[ ,.!:;]|$).*$"
        ),
    )
    .unquoted()
    .guarded(TextGuard::SPEECH),
    // "Sign up for X, our free weekly newsletter", "Abonnez-vous à notre infolettre".
    rule(
        "call_to_action.newsletter",
        K::CallToAction,
        "*",
        320,
        r"(?i)^(?:sign up|signup|subscribe|register|get|join|receive|want|enter your email|don['’]t miss|never miss|to receive|click here|sign me up)(?: .*)? (?:newsletter|newsletters|inbox|e-?mail alerts?|email updates|news alerts|daily briefing|morning briefing|briefing|digest|bulletin)(?:[ ,.!:;]|$).*$|^(?:sign up|subscribe) (?:now|today|here|for free)[.!]?(?: ?[→»›])?$|^(?:abonnez-vous|inscrivez-vous|recevez|inscris-toi|abonne-toi)(?: .*)? (?:infolettre|newsletter|lettre d['’]information|lettre d['’]info|courriel|bulletin)(?:[ ,.!:;]|$).*$|^(?:suscríbete|suscríbase|suscribite|regístrate|regístrese|recibe|reciba|apúntate)(?: .*)? (?:newsletter|boletín|boletines|correo)(?:[ ,.!:;]|$).*$|^(?:abonnieren sie|melden sie sich|jetzt|bestellen sie|abonniere|hier|registrieren sie sich)(?: .*)? (?:newsletter|newsletters)(?:[ ,.!:;]|$).*$|^(?:assine|inscreva-se|cadastre-se|receba|assina)(?: .*)? (?:newsletter|newsletters|boletim)(?:[ ,.!:;]|$).*$|^(?:iscriviti|abbonati|registrati|ricevi)(?: .*)? (?:newsletter|notiziario)(?:[ ,.!:;]|$).*$",
    )
    .unquoted()
    .guarded(TextGuard::SPEECH),
    // "Share this article", "Share this:", "Compartir:", "Partager".
    rule(
        "call_to_action.share",
        K::CallToAction,
        "*",
        60,
        r"(?i)^(?:share(?: this)?(?: article| story| post| page| on social media)?|share on (?:facebook|twitter|x|whatsapp|linkedin)|share with a friend|partager(?: cet article| l['’]article)?|partagez(?: cet article)?|compartir(?: esta nota| este artículo| la nota)?|comparte(?: esta nota| este artículo)?|teilen|artikel teilen|diesen artikel teilen|beitrag teilen|compartilhe(?: este artigo| esta matéria)?|compartilhar|partilhar|condividi(?: questo articolo| l['’]articolo)?|condividere)\s*[:!]?$",
    )
    .role(Role::WidgetHeader),
    // Items of a flattened share widget: dropped only after a share heading.
    rule(
        "widget.share_item",
        K::Widget,
        "*",
        80,
        r"(?i)^(?:tweet|share|pin|pin it|save|twitter|x|facebook|email|e-mail|mail|print|imprimer|imprimir|drucken|stampa|whatsapp|linkedin|reddit|pinterest|telegram|tumblr|pocket|mastodon|threads|bluesky|messenger|flipboard|sms|copy link|copy|copier le lien|copiar enlace|link kopieren|copiar link|copia link|more|plus|más|mehr|mais|altro|like this:|like loading\.{3}|related|click to (?:share|email|print) .+|share on .+|(?:facebook|twitter|x|whatsapp|linkedin|email|telegram|reddit|pinterest|bluesky|threads)(?: ?[|·•,] ?(?:facebook|twitter|x|whatsapp|linkedin|email|telegram|reddit|pinterest|bluesky|threads))+)\s*$",
    )
    .role(Role::WidgetItem),
    // Jetpack's "Like this:" / "Like Loading..." leftovers.
    rule("widget.jetpack_like", K::Widget, "en", 40, r"^(?:Like this:|Like Loading\.\.\.|Like Loading…)$"),
    // "Listen to this article · 5 min".
    rule(
        "call_to_action.listen",
        K::CallToAction,
        "*",
        90,
        r"(?i)^(?:listen to (?:this|the) (?:article|story|episode|podcast|report)|listen to article|audio version|play audio|écouter (?:cet|l['’]) ?article|écouter|escuchar (?:este|la|el) (?:artículo|nota|noticia)|escuchar|artikel (?:anhören|vorlesen lassen)|hören sie (?:diesen|den) artikel|ouvir (?:este|o) (?:artigo|texto|matéria)|ouça (?:este|o) (?:artigo|texto)|ouvir|ascolta (?:questo|l['’]) ?articolo|ascolta)(?: ?[·•|:—–\-] ?[^.]*| ?\([^()]*\))?$",
    )
    .guarded(TextGuard::SPEECH),
    // Affiliate disclosures: "We may earn a commission when you buy …".
    rule(
        "call_to_action.affiliate_disclosure",
        K::CallToAction,
        "*",
        420,
        r"(?i)^(?:this|the following|our) (?:article|post|page|story|review|guide|list|content|site|website)s? (?:contains?|includes?|may contain|features?|uses?) affiliate links?.*$|^(?:.*[.!,;:] )?(?:we|i) (?:may |might |will |could |can |do |also |sometimes |often )?(?:earn|receive|get|make|collect) (?:a |an )?(?:small |affiliate |modest |tiny )?(?:commission|commissions|share of (?:the )?(?:sales|revenue)|compensation|fee)(?:[ ,.!:;]|$).*$|^.*(?:liens? (?:d['’])?affiliation|liens? affiliés?|nous (?:pouvons |pourrions )?(?:percevoir|recevoir|toucher) une (?:petite )?commission|enlaces? de afiliad[oa]s?|enlaces? afiliad[oa]s?|(?:podemos|podríamos) (?:recibir|obtener|ganar|cobrar) una (?:pequeña )?comisión|affiliate-links?|provisions-links?|(?:erhalten|bekommen) wir (?:eine |ggf\. eine )?(?:kleine )?provision|links? de afiliad[oa]s?|(?:podemos|poderemos) (?:receber|ganhar) uma (?:pequena )?comissão|link di affiliazione|link affiliati|(?:potremmo|possiamo) (?:ricevere|guadagnare) una (?:piccola )?commissione).*$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    // ---------------------------------------------------------------- consent
    // A consent wall standing in for an embed: "This content is blocked
    // until you accept cookies", "External content", "Load video". The
    // whole line is the notice: a sentence quoting it ("…, read a notice
    // that replaced the videos") does not match.
    rule(
        "consent.blocked_content",
        K::Consent,
        "*",
        260,
        r"(?i)^(?:(?:this|the) (?:content|embed|video|post|media|element|player) (?:is |has been |was )?(?:blocked|hidden|not (?:available|displayed|shown|loaded))|(?:to (?:view|see|display|watch|load) (?:this|the) (?:content|embed|video|post|media))|ce contenu (?:est )?(?:bloqué|masqué|non disponible)|(?:pour (?:afficher|voir|lire) ce contenu)|este contenido (?:está )?(?:bloqueado|oculto|no (?:está )?disponible)|(?:para (?:ver|mostrar|cargar) este contenido)|dieser inhalt (?:ist |wird )?(?:blockiert|ausgeblendet|nicht (?:verfügbar|angezeigt))|(?:um (?:diesen|den) inhalt (?:zu sehen|anzuzeigen|zu laden))|este conteúdo (?:está )?(?:bloqueado|oculto|indisponível)|(?:para (?:ver|exibir|carregar) este conteúdo)|questo contenuto (?:è )?(?:bloccato|nascosto|non (?:è )?disponibile)|(?:per (?:vedere|visualizzare|caricare) questo contenuto))(?:(?:[^.,;]|, (?:weil|da|bis|solange|sofern|wenn|because|until|unless|car|parce que|tant que|porque|hasta que|mientras|enquanto|até|perché|finché) )*?(?:cookies?|cookie|consent|consentement|consentimiento|einwilligung|zustimmung|consentimento|consenso|privacy|datenschutz|confidentialité|privacidad|privacidade|third[- ]party|tiers|terceros|dritt\w*|terceiros|terze parti|accept\w*|akzeptier\w*|acept\w*|aceit\w*|accett\w*|zugestimmt|einverstanden)[^.,;]*|(?:[^.,;]|, (?:weil|da|bis|solange|sofern|wenn|because|until|unless|car|parce que|tant que|porque|hasta que|mientras|enquanto|até|perché|finché) )*[.!] [^.]*?(?:cookies?|cookie|consent|consentement|consentimiento|einwilligung|zustimmung|consentimento|consenso|privacy|datenschutz|confidentialité|privacidad|privacidade|third[- ]party|tiers|terceros|dritt\w*|terceiros|terze parti|accept\w*|akzeptier\w*|acept\w*|aceit\w*|accett\w*|zugestimmt|einverstanden)[^.]*)(?:[.!](?: [^.]+[.!]?){0,2})?$",
    )
    .guarded(TextGuard::SPEECH),
    // The wall's title and buttons, each a line of its own.
    rule(
        "consent.wall_label",
        K::Consent,
        "*",
        70,
        r"(?i)^(?:external content|external media|third[- ]party content|recommended (?:external )?content|accept(?: all)?(?: cookies)?|accept and (?:continue|show|load)|manage (?:cookies|consent|preferences|cookie settings)|cookie settings|privacy settings|load (?:external )?(?:content|video|embed|tweet|post)|show (?:external )?content|contenu externe|contenus externes|accepter(?: et continuer| les cookies| tout)?|gérer (?:les cookies|mes choix|le consentement)|paramètres des cookies|charger le contenu|afficher le contenu|contenido externo|aceptar(?: y continuar| cookies| todo| todas)?|configurar cookies|gestionar (?:cookies|consentimiento)|cargar contenido|mostrar contenido|externer inhalt|externe inhalte|empfohlener externer inhalt|inhalt (?:laden|anzeigen)|externe inhalte (?:laden|anzeigen|zulassen)|alle akzeptieren|akzeptieren(?: und anzeigen)?|cookie-einstellungen|datenschutzeinstellungen|conteúdo externo|aceitar(?: e continuar| cookies| todos)?|gerir cookies|gerenciar cookies|carregar conteúdo|mostrar conteúdo|contenuto esterno|contenuti esterni|accetta(?: e continua| i cookie| tutto| tutti)?|gestisci (?:i cookie|le preferenze|il consenso)|carica (?:il )?contenuto|mostra (?:il )?contenuto)[.!]?$",
    )
    .at(Position::Any),
    // --------------------------------------------------------------- comments
    // "12 comments", "Comments (3)", "Leave a comment", "Join the
    // discussion", "Comments are closed." — lines of their own, anchored.
    rule(
        "comments.counter",
        K::Comments,
        "*",
        40,
        r"(?i)^(?:(?:\d[\d.,]*|no|one|zero|aucun|sin|keine|nenhum|nessun)\s?(?:comments?|responses?|replies|commentaires?|réactions?|comentarios?|kommentare?|comentários?|commenti|commento)|(?:comments?|commentaires?|réactions?|comentarios?|kommentare?|comentários?|commenti)\s?[(:\[]?\s?\d[\d.,]*\s?[)\]]?)$",
    ),
    rule(
        "comments.call",
        K::Comments,
        "*",
        120,
        r"(?i)^(?:leave a (?:comment|reply)|add (?:a|your) comment|post a comment|write a comment|comment on this (?:story|article|post)|view(?: all)? comments|show comments|read (?:all )?(?:the )?comments|see (?:all )?comments|join the (?:conversation|discussion|debate)|be the first to comment|comments are closed|comments (?:are|have been) (?:disabled|turned off)|no comments yet|what do you think\?? ?(?:let us know|tell us|share your (?:thoughts|views)) in the comments(?: below)?|(?:let us know|tell us|share your (?:thoughts|views)) in the comments(?: below| section)?|laisser un commentaire|laissez un commentaire|ajouter un commentaire|réagir(?: à cet article)?|réagissez(?: à cet article)?|voir les commentaires|les commentaires sont fermés|donnez votre avis dans les commentaires|deja (?:tu|un|su) comentario|dejar un comentario|añadir comentario|ver comentarios|comenta(?: esta noticia)?|los comentarios están cerrados|(?:einen )?kommentar (?:schreiben|verfassen|hinterlassen)|kommentieren|kommentare (?:anzeigen|lesen|ansehen)|diskutieren sie mit|die kommentarfunktion ist (?:geschlossen|deaktiviert)|deixe (?:seu|o seu|um) comentário|deixar um comentário|comente(?: esta notícia)?|ver comentários|os comentários estão fechados|lascia un commento|lascia il tuo commento|commenta(?: la notizia| l['’]articolo)?|vedi i commenti|i commenti sono chiusi)(?: (?:below|ci-dessous|abajo|unten|abaixo|qui sotto))?\s?[.!:»→]*$",
    ),
    // -------------------------------------------------------------- promotion
    // The publisher's own promotion: messaging channels, apps, memberships,
    // donations, offers. Anchored as a whole line or at most two short
    // sentences; quoted in reported prose it stays (SPEECH).
    rule(
        "promotion.channels",
        K::Promotion,
        "*",
        220,
        r"(?i)^(?:join|follow|subscribe to|get|find) (?:us|our|the)[^.:;]*? (?:whatsapp|telegram|signal|viber|google news|apple news|flipboard|youtube|facebook|linkedin|threads|bluesky|mastodon|discord)(?: (?:channel|group|community|page|account|feed))?(?:[ ,.!:;→]|$)[^.]*\.?$|^(?:rejoignez|rejoins|suivez|abonnez-vous à)[- ](?:nous|notre|la|le)[^.:;]*? (?:whatsapp|telegram|google (?:news|actualités)|youtube|facebook|linkedin|threads|bluesky)(?:[ ,.!:;→]|$)[^.]*\.?$|^(?:únete|únase|sigue|síguenos|suscríbete)(?: a)? (?:nuestro|nuestra|nuestros|el|la)[^.:;]*? (?:whatsapp|telegram|google (?:news|noticias)|youtube|facebook)(?:[ ,.!:;→]|$)[^.]*\.?$|^(?:folgen sie uns|folge uns|abonnieren sie unseren|treten sie unserem)[^.:;]*? (?:whatsapp|telegram|google news|youtube|facebook)(?:[- ]kanal| channel| gruppe| bei)?(?:[ ,.!:;→]|$)[^.]*\.?$|^(?:entre|participe|siga|inscreva-se)(?: no| em| na)? (?:nosso|nossa|o|a)[^.:;]*? (?:whatsapp|telegram|google (?:news|notícias)|youtube|facebook)(?:[ ,.!:;→]|$)[^.]*\.?$|^(?:unisciti|iscriviti|seguici)(?: al| alla| su)? (?:nostro|nostra|canale|gruppo)?[^.:;]*? ?(?:whatsapp|telegram|google news|youtube|facebook)(?:[ ,.!:;→]|$)[^.]*\.?$",
    )
    .unquoted()
    .guarded(TextGuard::SPEECH),
    rule(
        "promotion.support_us",
        K::Promotion,
        "*",
        260,
        r"(?i)^(?:support (?:our|independent|local|quality|this|the) (?:journalism|reporting|work|newsroom)|support us|become a (?:member|supporter|subscriber|patron|friend of)|donate(?: now| today| here)?|make a (?:donation|contribution)|give (?:now|today)|(?:please )?consider (?:supporting|donating|subscribing|a donation)|if you (?:value|enjoyed|like|liked|appreciate) (?:this|our|what)[^.]*(?:support|donat|subscri|member|contribut)|soutenez(?:-nous| notre| le| un)?|faites un don|devenez (?:membre|abonné|abonnée)|apoya (?:nuestro|el|al) periodismo|hazte (?:socio|socia|miembro|suscriptor|mecenas)|haz una donación|dona(?: ahora)?|unterstützen sie (?:uns|unseren|unabhängigen)|jetzt unterstützen|jetzt spenden|werden sie (?:mitglied|abonnent)|apoie (?:o|nosso) jornalismo|faça uma doação|seja (?:assinante|membro|apoiador)|sostieni (?:il|il nostro) giornalismo|sostienici|fai una donazione|diventa (?:socio|abbonato|membro))(?:[ ,.!:;→»]|$)[^.]*(?:\.[^.]*)?[.!]?$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    rule(
        "promotion.offer",
        K::Promotion,
        "*",
        220,
        r"(?i)^(?:(?:already a (?:subscriber|member)\??)(?: ?(?:log|sign) in[.!]?)?|subscribe (?:now|today)(?: for| from| and| to)?[^.]*|(?:try|get|read) [^.]*(?:free for|for (?:just|only)? ?[$€£]\s?\d|[$€£]\s?\d[\d.,]*(?: a| per| /) ?(?:month|week|year))[^.]*|download (?:our|the) (?:free )?app[^.]*|get (?:our|the) (?:free )?app[^.]*|déjà abonné\s?\??(?: ?connectez-vous)?|abonnez-vous (?:dès maintenant|maintenant|pour \d)[^.]*|téléchargez (?:notre|l['’])application[^.]*|¿?ya eres suscriptor\??(?: ?inicia sesión)?|suscríbete (?:ahora|ya|por \d)[^.]*|descarga (?:nuestra|la) app[^.]*|schon abonnent\??(?: ?jetzt anmelden)?|jetzt (?:abonnieren|testen|für \d)[^.]*|laden sie (?:unsere|die) app[^.]*|já é assinante\??(?: ?faça login| ?entre)?|assine (?:já|agora|por \d)[^.]*|baixe (?:o nosso|nosso|o) app[^.]*|sei già abbonato\??(?: ?accedi)?|abbonati (?:ora|subito|a \d)[^.]*|scarica (?:la nostra|l['’])app[^.]*)[.!]?$",
    )
    .unquoted()
    .guarded(TextGuard::SPEECH),
    // ------------------------------------------------------------- origin notes
    // "A version of this story first ran in …", "This story was first
    // published by …" in other words, editor's notes about a partnership.
    rule(
        "origin_note.version_of",
        K::OriginNote,
        "*",
        320,
        r"(?i)^(?:an? (?:earlier |shorter |longer |different |edited |abridged )?version of this (?:story|article|piece|post|essay|report|interview|column)(?: [^ ,;:]+){0,3}? (?:first |originally |previously )?(?:ran|appeared|was published|was posted|was broadcast|aired|is published|appears)|une (?:première |autre )?version(?: antérieure| précédente| abrégée| courte)? de cet (?:article|texte)(?: [^ ,;:]+){0,3}? (?:a été publiée|est parue|a paru)|una (?:primera )?versión(?: anterior| previa| reducida| abreviada)? de (?:este|esta) (?:artículo|nota|texto|reportaje)(?: [^ ,;:]+){0,3}? (?:se publicó|fue publicada|apareció)|eine (?:frühere |kürzere |andere )?(?:version|fassung) (?:dieses|des) (?:artikels|textes|beitrags)(?: [^ ,;:]+){0,3}? (?:erschien|ist erschienen|wurde veröffentlicht)|uma (?:primeira |outra )?versão(?: anterior| prévia| reduzida)? (?:deste|desta) (?:artigo|texto|reportagem)(?: [^ ,;:]+){0,3}? (?:foi publicada|apareceu)|una (?:prima |precedente )?versione(?: precedente| ridotta| breve)? di questo (?:articolo|testo|pezzo)(?: [^ ,;:]+){0,3}? (?:è stata pubblicata|è apparsa|è uscita))(?: .*)?$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::SPEECH),
    rule(
        "origin_note.editors_note",
        K::OriginNote,
        "*",
        420,
        r"(?i)^(?:\(?editor['’]s note|note de la rédaction|n\.d\.l\.r\.|nota del editor|nota de la redacción|nota de los editores|anmerkung der redaktion|hinweis der redaktion|nota do editor|nota da redação|nota della redazione)\)?\s?[:：.—–-]\s?[^“”«»]*?(?:partnership|collaboration|in association with|produced (?:by|with)|supported by|funded by|grant from|republish|originally|first (?:published|appeared|ran)|partenariat|collaboration avec|publié (?:initialement|d['’]abord)|alianza|colaboración con|publicad[oa] originalmente|kooperation|partnerschaft|zuerst erschienen|parceria|colaboração com|publicad[oa] originalmente|collaborazione con|pubblicat[oa] originariamente)[^“”«»]*\)?$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::SPEECH),
    // -------------------------------------------------------------- contributor
    // "Jane Doe contributed to this report.", "… contributed reporting."
    rule(
        "contributor.contributed",
        K::Contributor,
        "*",
        240,
        r"(?i)^(?:[—–] ?)?[^.;:“”«»]+? contributed (?:to this (?:report|story|article)|reporting|additional reporting|research|to this)(?: from [^.;:]+| for this (?:report|story))?\.?$|^[^.;:“”«»]+? (?:a|ont) collaboré à (?:cet article|ce reportage)\.?$|^[^.;:“”«»]+? (?:colaboró|colaboraron) (?:en|con) (?:esta (?:información|nota)|este (?:artículo|reportaje))\.?$|^(?:mitarbeit|mitgearbeitet haben|an diesem (?:artikel|bericht) (?:hat|haben) [^.;:]+ mitgearbeitet)[:]?[^.;:]*\.?$|^[^.;:“”«»]+? (?:colaborou|colaboraram) (?:com|para) (?:esta reportagem|este (?:artigo|texto))\.?$|^(?:ha collaborato|hanno collaborato)[:]? [^.;:]+\.?$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::NAMES.union(TextGuard::SPEECH)),
    // ----------------------------------------------------------------- sponsor
    // Sponsorship notes and sponsor reads: "Sponsored by X", "This episode
    // is brought to you by X", "Paid partnership with X".
    rule(
        "sponsor.note",
        K::Sponsor,
        "*",
        360,
        r"(?i)^(?:this (?:article|story|post|content|episode|newsletter|series|guide|feature|podcast|video|issue)(?: [^ ,;:]+){0,2}? (?:is|was|has been) (?:sponsored|brought to you|presented|paid for|underwritten|supported|made possible) by|(?:today['’]s|this week['’]s|this episode['’]s|our) sponsor(?: is)?:?|thanks to (?:our sponsor|[^.,;]+? for sponsoring (?:this|today['’]s))|(?:este|esta) (?:artículo|contenido|episodio) (?:está|es) patrocinad[oa] por|(?:cet|cette) (?:article|épisode|contenu) (?:est )?(?:sponsorisé|parrainé)e? par|(?:dieser|diese|dieses) (?:artikel|folge|beitrag|inhalt) (?:wird|wurde|ist) (?:gesponsert|präsentiert|unterstützt) von|(?:este|esta) (?:artigo|episódio|conteúdo) (?:é|foi) patrocinad[oa] por|(?:questo|questa) (?:articolo|episodio|contenuto) (?:è )?sponsorizzat[oa] da)(?:[ :]|$)[^.]*(?:\.[^.]*){0,2}\.?$",
    )
    .at(Position::Edge)
    .unquoted()
    .guarded(TextGuard::SPEECH),
    // A bare label: "Sponsored by Acme Bank", "In partnership with X",
    // "Contenu sponsorisé". It ends with the sponsor's name: "Sponsored by
    // Acme, the race began." is a sentence.
    rule(
        "sponsor.label",
        K::Sponsor,
        "*",
        120,
        r"(?i)^(?:sponsored|presented|brought to you|supported|paid for) by [^,;.]+\.?$|^(?:sponsored content|sponsored post|paid (?:partnership|post|content)(?: (?:with|by|for) [^,;.]+)?|in (?:paid )?partnership with [^,;.]+|contenu (?:sponsorisé|partenaire)|article (?:sponsorisé|partenaire)|(?:sponsorisé|parrainé) par [^,;.]+|en partenariat avec [^,;.]+|contenido patrocinado|patrocinado por [^,;.]+|en colaboración con [^,;.]+|gesponsert von [^,;.]+|gesponserter (?:beitrag|inhalt)|präsentiert von [^,;.]+|in kooperation mit [^,;.]+|conteúdo patrocinado|oferecido por [^,;.]+|em parceria com [^,;.]+|contenuto sponsorizzato|sponsorizzato da [^,;.]+|offerto da [^,;.]+|in collaborazione con [^,;.]+)\.?$",
    )
    .at(Position::Edge)
    .guarded(TextGuard::SPEECH),
    // --------------------------------------------------------------- shortcodes
    // A paragraph that is only CMS shortcodes: `[gallery ids="1,2"]`,
    // `[/caption]`, `[embed]https://…[/embed]`.
    rule(
        "shortcode.only",
        K::Shortcode,
        "*",
        700,
        r#"^(?:\[/?[A-Za-z_][A-Za-z0-9_-]*(?: [^\[\]]*)?/?\] ?)+$|^\[(?:embed|video|audio|youtube|vimeo|tweet|instagram|caption|soundcloud|playlist)(?: [^\[\]]*)?\][^\[\] ]*\[/(?:embed|video|audio|youtube|vimeo|tweet|instagram|caption|soundcloud|playlist)\]$"#,
    ),
    // -------------------------------------------------------------- feed footers
    // "Tags: …", "Posted in …", "Filed under: …", "Posted on June 3, 2024",
    // "submitted by /u/name [link] [comments]", "If the formatting looks
    // odd in your feed reader, …".
    rule(
        "feed_footer.taxonomy",
        K::FeedFooter,
        "*",
        300,
        r"(?i)^(?:tags|tag|tagged(?: with| as)?|topics|categories|category|filed under|posted in|labels|keywords|étiquettes|mots-clés|mots clés|catégories|catégorie|classé dans|etiquetas|categorías|categoría|temas|archivado en|schlagwörter|schlagworte|stichwörter|kategorien|kategorie|themen|tags e categorias|categorias|categoria|marcadores|arquivado em|categorie|argomenti|archiviato in)\s?[:：]?\s(?:[^.!?:;]+(?:,|\s[|·•]|$)\s?){1,15}$",
    )
    .at(Position::End),
    rule(
        "feed_footer.posted_on",
        K::FeedFooter,
        "*",
        160,
        concat!(
            r"(?i)^(?:posted|published|updated|last updated|first published)(?: by [^.,;]+?)?(?: on| at)? (?:",
            date!(),
            r")(?:,? (?:at |à )?\d{1,2}[:.h]\d\d ?(?:[ap]\.?m\.?)?(?: [A-Z]+)?)?(?: (?:by|in) [^.;]+)?\.?$|^(?:publié|mis à jour|publicado|actualizado|veröffentlicht|aktualisiert|atualizado|pubblicato|aggiornato)(?: le| el| em| am| il)? (?:",
            date!(),
            r")(?:,? (?:à |a las |um |às |alle )?\d{1,2}[:.h]\d\d(?: uhr)?)?\.?$"
        ),
    )
    .at(Position::Edge),
    rule(
        "feed_footer.reddit_submitted",
        K::FeedFooter,
        "*",
        300,
        r"(?i)^(?:submitted by /?u/[A-Za-z0-9_-]+(?: to /?r/[A-Za-z0-9_]+)?(?: \[link\])?(?: \[comments\])?|\[link\](?: \[comments\])?|\[comments\])$",
    ),
    rule(
        "feed_footer.reader_note",
        K::FeedFooter,
        "*",
        300,
        r"(?i)^(?:if (?:the|this) (?:formatting|layout|article|post|text)[^.]*(?:looks|appears|seems) (?:odd|off|strange|broken|wrong)[^.]*(?:feed reader|rss reader|reader|email|inbox)[^.]*\.?|(?:you are|you're) (?:reading|receiving) this (?:post|article|email|via|in|through) [^.]*(?:rss|feed|reader)[^.]*\.?|this (?:post|article|feed|content) (?:is|was) (?:for|intended for) (?:personal|non-commercial) use only[^.]*\.?|this (?:rss )?feed is (?:provided|offered) for[^.]*\.?)$",
    )
    .at(Position::Edge),
    rule(
        "feed_footer.view_fullsize",
        K::FeedFooter,
        "*",
        40,
        r"(?i)^(?:view fullsize|view full size|view full-size|ver en tamaño completo|voir en plein écran|vollbild anzeigen)$",
    ),
    // ------------------------------------------------------------ share labels
    // Action labels of share buttons, one per line: with the network names
    // beside them (`widget.share_item`), a run of two or more lines at an
    // edge is a flattened share bar. A list of networks alone stays.
    rule(
        "share_labels.run",
        K::ShareLabels,
        "*",
        40,
        r"(?i)^(?:tweet|share|email|e-mail|mail|print|pin|pin it|save|copy link|copy url|flip|partager|envoyer|imprimer|compartir|enviar|imprimir|teilen|drucken|senden|compartilhar|partilhar|condividi|stampa|invia)\s*$",
    )
    .role(Role::ShareAction),
    // A line of several share-button labels: "Facebook Twitter Email".
    rule(
        "share_labels.inline",
        K::ShareLabels,
        "*",
        120,
        r"(?i)^(?:share|tweet|email|e-mail|mail|print|pin|pin it|copy link|facebook|twitter|x|whatsapp|linkedin|reddit|pinterest|telegram|threads|bluesky|messenger|flipboard|pocket|sms|partager|imprimer|compartir|imprimir|teilen|drucken|compartilhar|condividi|stampa)(?:(?: ?[|·•,/] ?| )(?:share|tweet|email|e-mail|mail|print|pin|pin it|copy link|facebook|twitter|x|whatsapp|linkedin|reddit|pinterest|telegram|threads|bluesky|messenger|flipboard|pocket|sms|partager|imprimer|compartir|imprimir|teilen|drucken|compartilhar|condividi|stampa)){2,}$",
    )
    .at(Position::Edge),
    // -------------------------------------------------------- embed residue
    // What a social embed leaves when its markup is gone: "View on
    // Threads", "Post by @name", "See this post on Instagram".
    rule(
        "embed.view_on_residue",
        K::SocialEmbed,
        "*",
        100,
        r"(?i)^(?:(?:view|see|watch|open|read) (?:this |the )?(?:post |thread |video |reel |photo )?on (?:threads|instagram|x|twitter|bluesky|mastodon|facebook|tiktok|youtube)|(?:a )?(?:post|thread|reel) (?:by|from|shared by) @[A-Za-z0-9_.]+(?: on (?:threads|instagram|x|bluesky|mastodon))?|voir (?:la publication |ce post )?sur (?:threads|instagram|x|bluesky|facebook|tiktok)|ver (?:la publicación |esta publicación )?en (?:threads|instagram|x|bluesky|facebook|tiktok)|(?:beitrag )?auf (?:threads|instagram|x|bluesky|facebook|tiktok) (?:ansehen|anzeigen)|ver (?:a publicação |esta publicação )?no (?:threads|instagram|x|bluesky|facebook|tiktok)|visualizza (?:il post )?su (?:threads|instagram|x|bluesky|facebook|tiktok))[.!]?$",
    ),
    // ------------------------------------------------------------ truncation
    // "To read this article in full, please click here", "Read the full
    // story at Outlet".
    rule(
        "truncation.read_in_full",
        K::Truncation,
        "*",
        160,
        r"(?i)^(?:to (?:read|continue reading|view) (?:this|the) (?:full )?(?:article|story|post)(?: in full)?,? (?:please )?(?:click|go|visit|head) [^.]*|(?:click|tap) here to (?:read|continue reading|view) (?:the )?(?:full |rest of the |whole )?(?:article|story|post)[^.]*|read the (?:full|complete|whole|rest of the) (?:story|article|post) (?:at|on|in) [^.]+|continue reading (?:at|on) [^.]+|pour lire (?:la suite|l['’]intégralité)(?: de cet article)?,? (?:cliquez|rendez-vous) [^.]*|para (?:leer|seguir leyendo) (?:la nota|el artículo) completo?,? (?:haz clic|pulsa|ingresa) [^.]*|(?:den ganzen|den vollständigen) artikel (?:lesen sie )?(?:auf|bei) [^.]+|para ler (?:a matéria|o artigo) completo?,? (?:clique|acesse) [^.]*|per leggere l['’]articolo completo,? (?:clicca|vai) [^.]*)[.!]?$",
    )
    .at(Position::End),
    // -------------------------------------------------------------- truncation
    // "[…]", "[...]", "(more…)".
    // Only the last paragraph: "…" alone in the middle is an elision (a
    // quotation cut, a list item, a table cell), not a cut item.
    rule("truncation.ellipsis", K::Truncation, "*", 20, r"^(?:\[ ?(?:…|\.\.\.) ?\]|…|\.\.\.|\(more ?(?:…|\.\.\.)\))$")
        .at(Position::Last),
    // "Continue reading…", "Continue reading “Title” →", "Lire la suite".
    rule(
        "truncation.continue_reading",
        K::Truncation,
        "*",
        260,
        r"(?i)^(?:continue reading|keep reading|read the (?:full|rest of the|whole|complete) (?:story|article|post|report)|read the rest(?: of (?:this|the) (?:story|article|post|entry))?|read more|read full (?:story|article|post)|full story|lire la suite|la suite|continuer (?:la lecture|à lire)|lire l['’]article complet|seguir leyendo|sigue leyendo|continuar leyendo|leer más|leer completo|leer la nota completa|weiterlesen|mehr lesen|(?:den )?ganzen artikel lesen|zum vollständigen artikel|continue lendo|continuar lendo|leia mais|leia a matéria completa|continua a leggere|continua la lettura|leggi tutto|leggi di più|leggi l['’]articolo completo)(?: ?(?:…|\.\.\.|→|»|›|>>|\.)+)?$|^(?i:continue reading|keep reading|lire la suite|seguir leyendo|continuar leyendo|weiterlesen|continue lendo|continua a leggere) .+? ?(?:→|»|›|…|\.\.\.|>>)$",
    ),
];
