//! Syndicated copies across feeds are linked through `backfill` and the
//! records' `cluster` field; other stories, translations and other writers'
//! takes on the same news are not.

use axum::http::header;
use axum::routing::get;

use crate::harness::{Workdir, run, stderr, stdout};

const TUNNEL: &str = "The regional council voted on Tuesday to extend the harbour tunnel project by two years, after engineers reported that the rock under the old quay was softer than the surveys had shown.\n\nThe extension will cost an estimated 48 million euros, which the council said would come from the national infrastructure fund rather than local taxes.\n\nResidents of the waterfront district, who have lived with the construction noise since 2021, greeted the decision with dismay. A spokesperson for the residents association said the council had promised the works would end this year.\n\nThe council leader said the delay was regrettable but that safety could not be compromised, and that night work would be reduced from next month.";

const ORCHARD: &str = "Apple growers in the northern valleys expect their smallest harvest in a decade after a late frost in April destroyed most of the blossom on the higher slopes.\n\nThe growers cooperative said yields could fall by as much as 40 percent, and that some family farms would need emergency loans to pay seasonal workers.\n\nThe agriculture ministry has promised to review the frost insurance scheme, which many growers say pays out too slowly and covers too little of their losses.\n\nPrices for local apples are expected to rise in the autumn, while supermarkets have said they will import more fruit from the south to fill the gap.";

fn item(guid: &str, title: &str, text: &str) -> String {
    let html: String = text.split("\n\n").map(|p| format!("<p>{p}</p>")).collect();
    format!(
        "<item><title>{title}</title><link>https://{guid}.example.org/story</link><guid>{guid}</guid><description><![CDATA[{html}]]></description></item>"
    )
}

fn feed(items: &[String]) -> String {
    format!(
        "<rss version=\"2.0\"><channel><title>F</title><link>https://f.example.org/</link>{}</channel></rss>",
        items.concat()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_are_linked_and_other_stories_are_not() {
    let wire = feed(&[
        item("wire-tunnel", "Council extends harbour tunnel works", TUNNEL),
        item("wire-orchard", "Frost hits apple harvest", ORCHARD),
    ]);
    let wrapped = format!(
        "Our partners at the Harbour Times report:\n\n{TUNNEL}\n\nThis article first appeared on the Harbour Times and is republished with permission."
    );
    let teaser: String = ORCHARD.split("\n\n").next().unwrap_or_default().to_string();
    let partner = feed(&[
        item("partner-tunnel", "Tunnel delay: two more years of works", &wrapped),
        item("partner-orchard", "Growers fear small harvest", &teaser),
    ]);
    let french = "Le conseil régional a voté mardi la prolongation de deux ans du projet de tunnel du port, après que les ingénieurs ont constaté que la roche sous l'ancien quai était plus tendre que prévu.\n\nLa prolongation coûtera environ 48 millions d'euros, que le conseil dit vouloir prendre sur le fonds national d'infrastructures plutôt que sur les impôts locaux.\n\nLes habitants du quartier du front de mer, qui vivent avec le bruit du chantier depuis 2021, ont accueilli la décision avec consternation.";
    let other_writer = "The harbour tunnel will take two more years to finish, the regional council decided on Tuesday. Engineers found the ground beneath the old quay weaker than earlier surveys suggested.\n\nThe added cost, put at 48 million euros, is to be met from national funds. People living on the waterfront, tired of years of drilling, were unhappy, and their association recalled an earlier promise that the work would be finished in 2024.\n\nNight-time drilling will be cut back from next month, the council leader said, adding that safety came first.";
    let mirror = feed(&[
        item("mirror-fr", "Tunnel du port : deux ans de plus", french),
        item("mirror-other", "Harbour tunnel delayed again", other_writer),
    ]);
    let app = axum::Router::new()
        .route("/wire.xml", get(move || async move { ([(header::CONTENT_TYPE, "application/rss+xml")], wire) }))
        .route("/partner.xml", get(move || async move { ([(header::CONTENT_TYPE, "application/rss+xml")], partner) }))
        .route("/mirror.xml", get(move || async move { ([(header::CONTENT_TYPE, "application/rss+xml")], mirror) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let work = Workdir::new();
    let url = |p: &str| format!("http://{addr}/{p}");
    let config =
        work.config(&[("wire", url("wire.xml")), ("partner", url("partner.xml")), ("mirror", url("mirror.xml"))], "");
    let cfg = config.to_str().expect("utf-8");
    let out = run(&["backfill", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("items: 6 new"), "nothing is dropped for being a copy: {}", stdout(&out));

    // A record's story: its cluster, or itself when it started one.
    let story = |guid: &str| -> String {
        work.db()
            .query_row("SELECT coalesce(cluster, id) FROM records WHERE guid = ?1", [guid], |r| r.get(0))
            .expect("record")
    };
    assert_eq!(story("wire-tunnel"), story("partner-tunnel"), "a wrapped copy with another headline");
    assert_eq!(story("wire-orchard"), story("partner-orchard"), "a teaser of the story");
    assert_ne!(story("wire-tunnel"), story("mirror-fr"), "a translation is another record");
    assert_ne!(story("wire-tunnel"), story("mirror-other"), "another writer's take is another story");
    assert_ne!(story("wire-tunnel"), story("wire-orchard"));
    let linked: i64 = work.count("SELECT COUNT(*) FROM records WHERE cluster IS NOT NULL AND similarity >= 0.6");
    assert_eq!(linked, 2, "exactly the two copies carry a cluster and a similarity");

    let out = run(&["clusters", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().filter(|l| l.starts_with("story ")).count(), 2, "{}", stdout(&out));

    // on_duplicate = "skip": copies are remembered but not written.
    let skip = Workdir::new();
    let config = skip
        .config(&[("wire", url("wire.xml")), ("partner", url("partner.xml"))], "on_duplicate = \"skip\"\nretries = 0");
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8")], skip.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(skip.count("SELECT COUNT(*) FROM records"), 2, "only the first of each story is written");
}
