//! Table-driven tests of the rule classes: boilerplate lines that must go
//! (with the kind they are recorded as) and trap sentences that look like
//! boilerplate but are article text, in English, French, Spanish, German,
//! Portuguese and Italian.

use newswire_cleaner::{Cleaner, Input, builtin_rules, clean};
use newswire_core::RemovedKind;
use newswire_core::RemovedKind::*;

const LEDE: &str = "The regional council voted on Tuesday to extend the tram line to the northern suburbs, after a two-year study found that the route would carry about 40,000 passengers a day.";
const BODY: &str = "Construction is expected to begin next spring and to take about three years, with the first section opening in 2028, officials said at a briefing after the vote.";
const LAST: &str = "The council will publish the full study on its website next week, together with the answers to the objections raised during the public consultation.";

/// The kind `line` is removed as at the end of an article, or None if kept.
fn at_end(line: &str) -> Option<RemovedKind> {
    let text = format!("{LEDE}\n{BODY}\n{LAST}\n{line}");
    let c = clean(Input::Text(&text));
    assert_eq!(&c.paragraphs[..3], [LEDE, BODY, LAST], "article text lost around {line:?}");
    if c.paragraphs.len() == 3 {
        assert_eq!(c.removed.len(), 1, "{line:?}: {:?}", c.removed);
        Some(c.removed[0].kind)
    } else {
        assert!(c.removed.is_empty(), "{line:?}: {:?}", c.removed);
        None
    }
}

/// Whether `line` is kept in the middle of an article and at both ends.
fn kept_everywhere(line: &str) -> bool {
    let texts = [
        format!("{LEDE}\n{BODY}\n{line}\n{BODY}\n{LAST}\n{LAST}"),
        format!("{line}\n{LEDE}\n{BODY}\n{LAST}"),
        format!("{LEDE}\n{BODY}\n{LAST}\n{line}"),
    ];
    texts.iter().all(|t| {
        let c = clean(Input::Text(t));
        c.paragraphs.iter().any(|p| p == line) && c.removed.is_empty()
    })
}

fn check_dropped(cases: &[(&str, RemovedKind)]) {
    let mut failures = Vec::new();
    for &(line, kind) in cases {
        let got = at_end(line);
        if got != Some(kind) {
            failures.push(format!("{line:?}: expected {kind:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "boilerplate not removed as expected:\n{}", failures.join("\n"));
}

fn check_kept(traps: &[&str]) {
    let failures: Vec<&&str> = traps.iter().filter(|t| !kept_everywhere(t)).collect();
    assert!(failures.is_empty(), "article text dropped:\n{failures:#?}");
}

#[test]
fn captions_and_credits() {
    check_dropped(&[
        ("Photo: Jane Mwangi / Lakeside Tribune", Caption),
        ("Photograph: Tomás Ruiz/Reuters", Caption),
        ("Image: Supplied", Caption),
        ("Credit: Handout", Caption),
        ("(Photo by Anna Keller / Getty Images)", Caption),
        ("Photo by Anna Keller/AFP via Getty Images", Caption),
        ("AP Photo/Carlos Mendes", Caption),
        ("Photo : Archives / Le Courrier du Nord", Caption),
        ("Crédit photo : Mairie de Lyon", Caption),
        ("Foto: Martín Giordano / Diario del Sur", Caption),
        ("Imagen: EFE", Caption),
        ("Foto: dpa", Caption),
        ("Bild: Stadtverwaltung Kassel", Caption),
        ("Foto: Divulgação / Prefeitura de Recife", Caption),
        ("Imagem: Reprodução", Caption),
        ("Foto: ANSA", Caption),
        ("Immagine: Comune di Bologna", Caption),
    ]);
    check_kept(&[
        "Photo-finish images showed the runner crossing the line a hundredth of a second ahead of her rival.",
        "Photo by photo, the volunteers rebuilt the town archive that the flood had destroyed.",
        "Image processing software allowed the team to separate the signal from the noise.",
        "Credit for the design goes to a group of students at the technical university, the mayor said.",
        "Credit rating agencies have placed the city's debt on review for a downgrade.",
        "Photographers were kept behind a barrier for most of the ceremony.",
        "Crédit d'impôt : le gouvernement a présenté mardi une réforme du dispositif, qui coûtera 2 milliards d'euros par an aux finances publiques.",
        "Fotografía y pintura se mezclan en la exposición, que abre el sábado en el museo municipal.",
        "Bildung ist nach Ansicht der Ministerin der Schlüssel für die Integration.",
        "Fotografia e memória são os temas da mostra, que fica em cartaz até março.",
        "Immagine e reputazione della città sono in gioco, ha detto il sindaco.",
    ]);
}

#[test]
fn syndication_notices() {
    check_dropped(&[
        ("This article has been adapted from its original source.", Syndication),
        (
            "This story originally appeared on Grist and is republished here as part of Covering Climate Now.",
            Syndication,
        ),
        ("This article was originally published on The Conversation. Read the original article.", Syndication),
        ("This piece first appeared in the Harbour Gazette.", Syndication),
        ("Republished with permission from the Valley Courier.", Syndication),
        ("Reprinted with permission from Atlas Weekly.", Syndication),
        ("Originally published at https://example.org/2024/05/story", Syndication),
        ("First published on Riverside Voice.", Syndication),
        ("The post City backs tram extension appeared first on Metro Ledger.", Syndication),
        ("This story is part of a content-sharing partnership between Coast Wire and Inland News.", Syndication),
        ("This article is republished from Inland News under a Creative Commons license.", Syndication),
        ("Read the original article.", Syndication),
        ("Distributed by Alpine Media Syndication.", Syndication),
        ("Cet article a été publié initialement sur le site de La Voix du Sud.", Syndication),
        ("Cet article est paru d'abord dans Le Courrier de l'Ouest.", Syndication),
        ("L’article Le tramway arrive à Nantes est apparu en premier sur Ouest Actu.", Syndication),
        ("Este artículo fue publicado originalmente en El Diario del Norte.", Syndication),
        ("Esta nota se publicó originalmente en Página Sur y se reproduce con autorización.", Syndication),
        ("La entrada El tranvía llega a Rosario se publicó primero en Rosario Hoy.", Syndication),
        ("Dieser Artikel erschien zuerst bei der Berliner Morgenpost.", Syndication),
        ("Der Beitrag Straßenbahn nach Nordstadt erschien zuerst auf Stadtblog.", Syndication),
        ("Este artigo foi publicado originalmente no Jornal do Norte.", Syndication),
        ("O post Bonde chega a Porto Alegre apareceu primeiro em Gaúcha Hoje.", Syndication),
        ("Questo articolo è stato pubblicato originariamente su Il Corriere del Nord.", Syndication),
        ("L'articolo Il tram arriva a Torino sembra essere il primo su Torino Oggi.", Syndication),
        ("Pubblicato originariamente su Il Giornale di Brescia.", Syndication),
    ]);
    check_kept(&[
        "The film, adapted from the 2011 novel of the same name, follows three generations of a family of salt farmers.",
        "Several of the chapters originally appeared as stand-alone stories in literary magazines.",
        "Some of the images originally appeared in a local newspaper in the 1930s, credited only to an amateur.",
        "The post appeared first on the ministry's Facebook page shortly after midnight and was shared thousands of times.",
        "Originally published in 1962, the novel has never been out of print.",
        "The post-production schedule slipped by four months after the director reshot the final act.",
        "Le film, adapté du roman de Marie Ndiaye, sortira en salles le 12 mars.",
        "La película, adaptada de la novela de Isabel Allende, se estrena en marzo.",
        "Der Film wurde nach dem gleichnamigen Roman adaptiert und kommt im März in die Kinos.",
        "O filme, adaptado do romance de Jorge Amado, estreia em março nos cinemas.",
        "Il film, tratto dal romanzo di Elena Ferrante, uscirà nelle sale a marzo.",
    ]);
}

#[test]
fn wire_credits_and_copyright() {
    check_dropped(&[
        ("(Reporting by Kaori Fujimoto; Editing by Daniel Ashford)", WireCredit),
        ("(Additional reporting by Tom Reyes in Manila)", WireCredit),
        ("Additional reporting by Tran Thi Mai in Hanoi.", WireCredit),
        ("(Reportage Jean Dupont, édité par Marie Martin)", WireCredit),
        ("(Reporte de Ana López; Editado en español por Pedro Ruiz)", WireCredit),
        ("(Bericht von Klaus Weber; redigiert von Anna Schmidt)", WireCredit),
        ("(Reportagem de Paulo Souza; Edição de Maria Lima)", WireCredit),
        ("Avec AFP", WireCredit),
        ("Con información de EFE.", WireCredit),
        ("Mit Material von dpa", WireCredit),
        ("Com informações da Reuters", WireCredit),
        ("© 2024 Lakeside Tribune. All rights reserved.", Copyright),
        ("Copyright 2024 The Associated Press. All rights reserved.", Copyright),
        ("This material may not be published, broadcast, rewritten or redistributed.", Copyright),
        ("© 2024 Le Courrier du Nord. Tous droits réservés.", Copyright),
        ("Todos los derechos reservados.", Copyright),
        ("Alle Rechte vorbehalten.", Copyright),
        ("© 2024 Jornal do Norte. Todos os direitos reservados.", Copyright),
        ("Riproduzione riservata", Copyright),
    ]);
    check_kept(&[
        "Reporting by the independent news site Gobi Observer in 2022 found that district governments had received little of the revenue.",
        "Copyright in the images has been transferred to the museum by the family.",
        "Copyright lawyers said the ruling would force streaming services to renegotiate their licences.",
        "Additional reporting requirements for banks will take effect next year, the regulator said.",
        "Le droit d'auteur sur les photographies a été cédé au musée par la famille.",
    ]);
}

#[test]
fn calls_to_action_and_ads() {
    check_dropped(&[
        ("Advertisement", Advertisement),
        ("ADVERTISEMENT", Advertisement),
        ("Advertisement - Scroll to continue", Advertisement),
        ("Story continues below advertisement", Advertisement),
        ("Publicité", Advertisement),
        ("Publicidad", Advertisement),
        ("Anzeige", Advertisement),
        ("Publicidade", Advertisement),
        ("Pubblicità", Advertisement),
        ("READ MORE: Council approves new bus lanes", CallToAction),
        ("Read more: Regulator tightens data rules", CallToAction),
        ("RELATED: Mayor unveils budget", CallToAction),
        ("More from Sport: Squad named for Asian championships", CallToAction),
        ("Lire aussi : Le budget 2025 adopté", CallToAction),
        ("À lire aussi : la ville lance son plan vélo", CallToAction),
        ("Lea también: El boleto aumenta un 12%", CallToAction),
        ("Lesen Sie auch: Stadtrat beschließt Haushalt", CallToAction),
        ("Mehr zum Thema: Die neue Straßenbahn", CallToAction),
        ("Leia também: Prefeitura anuncia novo plano", CallToAction),
        ("Leggi anche: Il sindaco presenta il bilancio", CallToAction),
        ("Follow us on Facebook, X and Instagram for more news from the region.", CallToAction),
        ("Follow @CityDesk on X for live updates.", CallToAction),
        ("Suivez-nous sur Facebook et Instagram.", CallToAction),
        ("Síguenos en X, Facebook e Instagram.", CallToAction),
        ("Folgen Sie uns auf Instagram und Facebook.", CallToAction),
        ("Siga-nos no Instagram e no Facebook.", CallToAction),
        ("Seguici su Facebook e Instagram.", CallToAction),
        ("Sign up for The Morning Brief, our free daily newsletter.", CallToAction),
        ("Subscribe to our newsletter for the week's top stories.", CallToAction),
        ("Abonnez-vous à notre infolettre pour recevoir les nouvelles de votre région.", CallToAction),
        ("Suscríbete a nuestro boletín para recibir las noticias de la semana.", CallToAction),
        ("Abonnieren Sie unseren Newsletter.", CallToAction),
        ("Assine a nossa newsletter e receba as notícias do dia.", CallToAction),
        ("Iscriviti alla nostra newsletter.", CallToAction),
        ("Share this article", CallToAction),
        ("Compartir:", CallToAction),
        ("Listen to this article · 5 min", CallToAction),
        ("We may earn a commission when you buy through links on our site.", CallToAction),
        ("This article contains affiliate links.", CallToAction),
    ]);
    check_kept(&[
        "Follow-up scans on Monday will determine whether the injury needs surgery.",
        "Follow the money",
        "Follow-on financing is expected once the first phase begins operation.",
        "Read out in the community hall on Thursday, the letter apologised for the disruption.",
        "Read alongside the earlier surveys, the data suggests the problem is local.",
        "Read aloud at the meeting, the statement drew applause from residents.",
        "Related talks between the two parties are expected to begin later this week.",
        "Share prices across the sector fell in sympathy, with rivals down as much as 6%.",
        "Share the Road, a campaign group set up after the last outage, called for a second vessel.",
        "Share buybacks announced in May will go ahead as planned.",
        "Sign-ups for new library cards have risen since the plan was announced.",
        "Subscribers to the city's text alert service received a message at 6:48 a.m.",
        "Advertisement of the construction tender will begin in June.",
        "Advertising revenue fell by 12% in the quarter, the company said.",
        "More from the minister's speech was expected to be published on Friday.",
        "Like many residents on Facebook, she posted photos of the flooded street.",
        "“Follow us on Instagram,” the sign at the entrance says, next to a QR code.",
        "Lire aussi entre les lignes n'est pas donné à tout le monde, a ironisé le maire.",
        "Partager la route avec les déneigeuses reste le principal défi.",
        "Publicidad engañosa: la autoridad multó a la empresa con 2 millones de pesos por sus anuncios.",
        "Suivez le guide : la ville propose des visites gratuites tout l'été.",
        "Seguimos trabajando para restablecer el servicio, dijo el alcalde.",
        "Folgen der Hitze sind in der ganzen Region zu spüren.",
        "Siga as orientações da Defesa Civil, pediu o prefeito aos moradores.",
        "Segui il percorso del fiume per tre chilometri, ha raccontato il testimone.",
    ]);
}

#[test]
fn truncation_markers() {
    check_dropped(&[
        ("[…]", Truncation),
        ("[...]", Truncation),
        ("Continue reading…", Truncation),
        ("Continue reading “Council backs tram plan” →", Truncation),
        ("Lire la suite", Truncation),
        ("Seguir leyendo", Truncation),
        ("Weiterlesen", Truncation),
        ("Continue lendo", Truncation),
        ("Continua a leggere", Truncation),
    ]);
    check_kept(&[
        "Continue reading the 64-page complaint and a second theme emerges: the errors themselves are the evidence.",
        "“We will continue reading the documents until we find the answer,” the investigator said.",
    ]);
}

#[test]
fn flattened_embeds_go_whole() {
    let text = format!(
        "{LEDE}\n{BODY}\nTalks over. The Greens leave the room after five hours. More shortly.\n— Lena Hartmann (@lhartmann) 12 March 2024\n{LAST}\n\
         Le conseil a voté à 5 contre 2. https://t.co/Fh3kQp9LmZ\n— Radio Vallée (@radiovallee) 4 novembre 2024\n{BODY}\n\
         Ver esta publicación en Instagram\nDía 3 de la campaña. ¡Gracias a todos!\nUna publicación compartida por Salud Córdoba (@saludcba)\n{LAST}\n\
         Neue Fahrpläne ab Montag. Alle Infos auf unserer Seite.\nGepostet von Stadtwerke Kassel am Dienstag, 9. Januar 2024\n{LEDE}\n\
         @tram.fan quando il tram arriva finalmente #torino ♬ suono originale - tram.fan\n{BODY}"
    );
    let c = clean(Input::Text(&text));
    assert_eq!(c.paragraphs, [LEDE, BODY, LAST, BODY, LAST, LEDE, BODY]);
    let kinds: Vec<&str> = c.embeds.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["twitter", "twitter", "instagram", "facebook", "tiktok"]);
    assert_eq!(c.embeds[0].handle.as_deref(), Some("lhartmann"));
    assert_eq!(c.embeds[0].posted_at.as_deref(), Some("12 March 2024"));
    assert_eq!(c.embeds[1].url.as_deref(), Some("https://t.co/Fh3kQp9LmZ"));
    assert_eq!(c.embeds[2].text.as_deref(), Some("Día 3 de la campaña. ¡Gracias a todos!"));
    assert_eq!(c.embeds[3].author.as_deref(), Some("Stadtwerke Kassel"));
    assert_eq!(c.embeds[4].handle.as_deref(), Some("tram.fan"));
}

#[test]
fn prose_about_social_media_stays() {
    check_kept(&[
        "The governor responded on X within minutes, writing: “We will return with the same budget.”",
        "Community activist Sipho Ndlovu, whose account @SiphoNdlovu_ZA has posted daily videos, said deliveries were unpredictable.",
        "A post shared by the lifesaving club on Wednesday morning had been viewed more than 300,000 times by the evening.",
        "Posted by the regional health authority on Monday, the figures showed that one in six patients left without being seen.",
        "The clip, set to the “original sound” the user recorded on TikTok, was viewed two million times. #Estonia trended for hours.",
        "In a video posted to the company’s YouTube channel in February, the chief executive described the chip as “our bet.”",
        "— The Tidy House, p. 143",
        "— from “Winter Inventory,” in Night Ferry (Halden Press, 2023)",
        "— Rosalind Ferreira, “Night Ferry,” section 40",
        "The full study is published at https://example.org/study so that others can check the results.",
    ]);
}

#[test]
fn a_short_paragraph_before_a_tweet_stays() {
    let text = "Harwick host Colnebridge Rovers on Saturday.\nBig win tonight, proud of the lads 🔥 pic.twitter.com/AbCdEf12\n— Harwick Town FC (@HarwickFC) 14 September 2024\nThe club confirmed the signing on Monday.";
    let c = clean(Input::Text(text));
    assert_eq!(
        c.paragraphs,
        ["Harwick host Colnebridge Rovers on Saturday.", "The club confirmed the signing on Monday."]
    );
    assert_eq!(c.embeds[0].text.as_deref(), Some("Big win tonight, proud of the lads 🔥 pic.twitter.com/AbCdEf12"));
    // A tweet over two lines goes whole when its first line reads like one.
    let text = "The shelter held through the storm.\nWe did it! Water reached 1.4m, deck stayed dry.\nProud of this team. pic.twitter.com/AbCdEf12\n— Farhana Rahman (@farhana_lab) September 19, 2024";
    assert_eq!(clean(Input::Text(text)).paragraphs, ["The shelter held through the storm."]);
    // An introduction ending in a colon is never taken as the tweet.
    let text = "The club posted on X after the match:\nWhat a night. pic.twitter.com/AbCdEf12\n— Harwick Town FC (@HarwickFC) 14 September 2024";
    assert_eq!(clean(Input::Text(text)).paragraphs, ["The club posted on X after the match:"]);
}

#[test]
fn flattened_share_widget_goes_whole() {
    let text = format!(
        "{LEDE}\n{LAST}\nShare this:\nTwitter\nFacebook\nLike this:\nLike Loading...\nThe post Tram plan approved appeared first on Metro Ledger."
    );
    let c = clean(Input::Text(&text));
    assert_eq!(c.paragraphs, [LEDE, LAST]);
    // Without a share heading, a line naming a network is text (a subhead).
    let text = format!("{LEDE}\nFacebook\n{LAST}");
    assert_eq!(clean(Input::Text(&text)).paragraphs, [LEDE, "Facebook", LAST]);
}

#[test]
fn every_builtin_rule_can_be_disabled_by_name() {
    let names: Vec<String> = builtin_rules().map(|r| r.name.to_string()).collect();
    let mut seen = std::collections::HashSet::new();
    for name in &names {
        assert!(seen.insert(name), "duplicate rule name {name}");
        let (class, what) = name.split_once('.').expect("rule names are class.what");
        assert!(
            !class.is_empty()
                && !what.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
            "{name}"
        );
    }
    let cleaner = Cleaner::new(&[], &["advertisement.label".to_string()]).expect("known rule");
    let text = format!("{LEDE}\nAdvertisement\n{LAST}");
    assert_eq!(cleaner.clean(Input::Text(&text)).paragraphs, [LEDE, "Advertisement", LAST]);
    assert_eq!(clean(Input::Text(&text)).paragraphs, [LEDE, LAST]);
}

#[test]
fn patterns_avoid_unicode_word_boundaries() {
    // `\b` makes the regex engine fall back from its DFA on non-ASCII text.
    for r in builtin_rules() {
        assert!(!r.pattern.contains(r"\b"), "{} uses \\b", r.name);
    }
}

#[test]
fn every_removal_names_its_rule() {
    let names: std::collections::HashSet<&str> = builtin_rules().map(|r| r.name).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let text = std::fs::read_to_string(&path).expect("read");
        let c = if name.ends_with(".input.html") {
            clean(Input::Html(&text))
        } else if name.ends_with(".input.txt") {
            clean(Input::Text(&text))
        } else {
            continue;
        };
        for r in &c.removed {
            assert!(names.contains(r.rule.as_str()), "{name}: {r:?} names no built-in rule");
            let rule = builtin_rules().find(|b| b.name == r.rule).expect("known");
            assert_eq!(rule.kind, r.kind, "{name}: {r:?}");
            seen += 1;
        }
    }
    assert!(seen > 100, "only {seen} removals in the corpus");
}

#[test]
fn markup_rules_can_be_disabled_by_name() {
    let html = format!(
        "<p>{LEDE}</p><div class=\"sharedaddy\"><h3>Share this:</h3><a href=\"?share=x\">X</a></div><figure><img src=a.jpg><figcaption>Photo: Jane Doe / Agency</figcaption></figure><p>{LAST}</p>"
    );
    let c = clean(Input::Html(&html));
    assert_eq!(c.paragraphs, [LEDE, LAST]);
    let rules: Vec<&str> = c.removed.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, ["markup.share_widget", "markup.figcaption"]);
    // Without the figcaption rule, the caption is a paragraph, and the
    // text rule for credit lines takes it; without both, it stays.
    let cleaner = Cleaner::new(&[], &["markup.figcaption".to_string()]).expect("known rule");
    let c = cleaner.clean(Input::Html(&html));
    assert_eq!(c.paragraphs, [LEDE, LAST]);
    let rules: Vec<&str> = c.removed.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, ["markup.share_widget", "caption.credit_label"]);
    let off = ["markup.figcaption".to_string(), "caption.credit_label".to_string()];
    let c = Cleaner::new(&[], &off).expect("known rules").clean(Input::Html(&html));
    assert_eq!(c.paragraphs, [LEDE, "Photo: Jane Doe / Agency", LAST]);
}

/// Prose that uses the words of a notice, a call to action or a credit:
/// the issue-18 classes (copyright, licences, origin words, credits run on
/// into the paragraph, quoted calls to action, wire words).
#[test]
fn prose_with_the_words_of_boilerplate_stays() {
    check_kept(&[
        "Released under a Creative Commons licence, the book can be adapted freely, which is what the authors hoped teachers would do.",
        "The collective publishes its maps under a Creative Commons licence so that schools can print them without asking.",
        "This article was written as a companion to the exhibition catalogue, which was first published in 1998 and is out of print.",
        "This piece of legislation was first published in draft form in 2021, and ministers have rewritten it twice since.",
        "Image Credit: NASA/JPL-Caltech. The rover has collected its 25th rock sample, a piece of a boulder at the edge of the crater.",
        "Reproduced with permission of the National Archives, the memo shows that ministers were warned in 2019.",
        "Subscribe to our newsletter, the pop-up insists, before the reader has seen a single paragraph of the story.",
        "Sign up for alerts, the council urged residents on Tuesday, after the second flood warning in a week.",
        "We may earn a commission on that, the broker said, but only if the sale goes through before March.",
        "With reporting from three continents, the documentary traces how one shipment of fake medicine reached four countries.",
        "Additional reporting by volunteers in twelve towns made the survey the largest of its kind, the authors said.",
        "Cet article a été rédigé à partir du rapport annuel, publié d’abord en version abrégée le mois dernier.",
        "Suscríbete a nuestro boletín, insisten los correos de bienvenida, que llegan hasta cinco veces por semana.",
        "Der Artikel erschien ursprünglich nur für Abonnenten, heißt es in vielen Suchergebnissen.",
        "Iscriviti alla newsletter, si legge in fondo a quasi tutti gli articoli dei quotidiani locali.",
        "Publicado com autorização dos autores, o estudo mostra que um em cada cinco pedidos foi recusado.",
    ]);
}

/// "…" alone is a cut item's end only as the last paragraph; in the middle
/// it is an elision (a quotation, a list item, a table cell).
#[test]
fn an_ellipsis_goes_only_at_the_end() {
    let text = format!("{LEDE}\n…\n{BODY}\n[…]\n{LAST}");
    assert_eq!(clean(Input::Text(&text)).paragraphs, [LEDE, "…", BODY, "[…]", LAST]);
    let text = format!("{LEDE}\n{BODY}\n[…]");
    let c = clean(Input::Text(&text));
    assert_eq!(c.paragraphs, [LEDE, BODY]);
    assert_eq!(c.removed[0].rule, "truncation.ellipsis");
    // Alone, it is all there is: kept.
    assert_eq!(clean(Input::Text("…")).paragraphs, ["…"]);
}

/// A © line is a footer only at the end; quoted in the body it stays.
#[test]
fn a_copyright_line_goes_only_at_the_end() {
    let text = format!("{LEDE}\n{BODY}\n© 1982 Sinclair Research Ltd\n{BODY}\n{LAST}\n{LAST}\n{LAST}");
    assert!(clean(Input::Text(&text)).paragraphs.contains(&"© 1982 Sinclair Research Ltd".to_string()));
    let text = format!("{LEDE}\n{BODY}\n{LAST}\n© 2024 Rift Valley Courier. All rights reserved.");
    assert_eq!(clean(Input::Text(&text)).paragraphs, [LEDE, BODY, LAST]);
}

#[test]
fn the_docs_list_every_builtin_rule() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cleaner.md");
    let docs = std::fs::read_to_string(docs).expect("docs/cleaner.md");
    for r in builtin_rules() {
        let row = format!("| `{}` | {} | {} | {} |", r.name, r.kind.as_str(), r.lang, r.position);
        assert!(docs.contains(&row), "docs/cleaner.md lacks the row {row}");
    }
}
