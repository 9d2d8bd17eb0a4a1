//! The near-duplicate index contract, run against each state store: a copy
//! finds its story (through its keys, within the window, never itself), a
//! record indexed again leaves no stale keys, and entries past the window
//! are pruned.

use chrono::{Duration, Utc};
use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::{Sink, StateStore};
use newswire_core::state::Indexed;

use crate::contract;

pub const BRIDGE: &str = "The Alder Street bridge, which carries about 30,000 vehicles a day across the River Wend, was closed to all traffic on Monday evening after inspectors found cracks in two of its steel support beams. City engineers said the cracks had been spotted during a routine ultrasound survey that the bridge undergoes every eighteen months. Buses that normally use the bridge will be diverted over the Canal Road crossing.";
pub const FROST: &str = "Apple growers in the northern valleys expect their smallest harvest in a decade after a late frost in April destroyed most of the blossom on the higher slopes. The growers cooperative said yields could fall by as much as 40 percent, and that some family farms would need emergency loans to pay seasonal workers.";
pub const FERRY: &str = "A passenger ferry carrying 420 people ran aground in thick fog off Skellig Point early on Saturday, and all passengers were taken off safely by lifeboats and fishing vessels over the following six hours, the coastguard said.";

pub fn fp(text: &str) -> Fingerprint {
    Fingerprint::of(text).expect("enough words")
}

pub fn entry(id: &str, text: &str, cluster: Option<&str>, age: Duration) -> Indexed {
    Indexed { id: id.into(), fingerprint: fp(text), cluster: cluster.map(str::to_string), at: Utc::now() - age }
}

/// Index `entries` through a state-holding sink, committed with a
/// checkpoint as the pipeline does.
pub async fn index(sink: &mut dyn Sink, feed: &str, entries: Vec<Indexed>) {
    let mut batch = contract::batch(feed, "\"e\"", &[]);
    batch.checkpoint.fingerprints = entries;
    sink.write(&batch).await.expect("write the index entries with the checkpoint");
}

/// The contract. `size` counts (fingerprints, keys).
pub async fn run<F, Fut>(sink: &mut dyn Sink, state: &dyn StateStore, size: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (u64, u64)>,
{
    let week = Utc::now() - Duration::days(7);
    index(
        sink,
        "wire",
        vec![
            entry("bridge", BRIDGE, None, Duration::zero()),
            entry("frost", FROST, None, Duration::zero()),
            entry("ferry-old", FERRY, None, Duration::days(10)),
        ],
    )
    .await;
    let (fingerprints, keys) = size().await;
    assert_eq!(fingerprints, 3);
    let expected_keys: usize = [BRIDGE, FROST, FERRY].iter().map(|t| fp(t).keys().len()).sum();
    assert_eq!(keys, expected_keys as u64);

    let wrapped = format!("Our partners report: {BRIDGE} This article has been adapted from its original source.");
    let teaser: String = FROST.split_whitespace().take(30).collect::<Vec<_>>().join(" ");
    let items = vec![
        ("copy".to_string(), fp(&wrapped)),
        ("teaser".to_string(), fp(&teaser)),
        ("bridge".to_string(), fp(BRIDGE)),
        ("ferry-copy".to_string(), fp(FERRY)),
    ];
    let found = state.find_similar(&items, week, 0.5).await.expect("lookup");
    assert_eq!(found.len(), 4);
    let story = |i: usize| found[i].as_ref().map(|m| m.cluster.as_str());
    assert_eq!(story(0), Some("bridge"), "a wrapped copy");
    assert!(found[0].as_ref().is_some_and(|m| m.similarity > 0.9));
    assert_eq!(story(1), Some("frost"), "a teaser");
    assert_eq!(story(2), None, "a record is not a copy of itself");
    assert_eq!(story(3), None, "entries before the window are not found");
    let found = state.find_similar(&items[3..], week - Duration::days(7), 0.5).await.expect("lookup");
    assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("ferry-old"), "a wider window finds it");

    // A copy that joined a story gives the story, not itself.
    index(sink, "partner", vec![entry("copy", &wrapped, Some("bridge"), Duration::zero())]).await;
    let again = vec![("third".to_string(), fp(&format!("{BRIDGE} Reporting by the river desk.")))];
    let found = state.find_similar(&again, week, 0.5).await.expect("lookup");
    assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("bridge"));

    // No chaining: a member that holds another story's text does not bring
    // that text's copies into its story; they are judged against the
    // story's first record.
    let both = format!("{BRIDGE} {FERRY}");
    index(sink, "partner", vec![entry("bridge-and-ferry", &both, Some("bridge"), Duration::zero())]).await;
    let ferry = vec![("ferry-new".to_string(), fp(&format!("Breaking: {FERRY}")))];
    let found = state.find_similar(&ferry, week, 0.5).await.expect("lookup");
    assert_eq!(found[0], None, "similar to a member only, not to the bridge story's first record");

    // The feed's shingle counts are stored with its checkpoint.
    assert_eq!(state.feed_sketch("wire").await.expect("read"), None);
    let mut batch = contract::batch("wire", "\"e\"", &[]);
    batch.checkpoint.sketch = Some(vec![1, 2, 3]);
    sink.write(&batch).await.expect("write the counts with the checkpoint");
    batch.checkpoint.sketch = Some(vec![4, 5]);
    sink.write(&batch).await.expect("replace them");
    assert_eq!(state.feed_sketch("wire").await.expect("read"), Some(vec![4, 5]));
    assert_eq!(state.feed_sketch("partner").await.expect("read"), None);

    // Indexed again with other text: its old keys are gone.
    index(sink, "wire", vec![entry("frost", FERRY, None, Duration::zero())]).await;
    let found = state.find_similar(&items[1..2], week, 0.5).await.expect("lookup");
    assert_eq!(found[0], None, "the old text of a re-indexed record is not found");
    let (fingerprints, keys) = size().await;
    assert_eq!(fingerprints, 5);
    let expected_keys: usize = [BRIDGE, FERRY, FERRY, &wrapped, &both].iter().map(|t| fp(t).keys().len()).sum();
    assert_eq!(keys, expected_keys as u64, "no stale keys");

    // Pruning removes what is older than the window, a bounded number at a time.
    index(
        sink,
        "wire",
        (0..5).map(|i| entry(&format!("old-{i}"), &format!("{FROST} Item {i}."), None, Duration::days(30))).collect(),
    )
    .await;
    assert_eq!(size().await.0, 10);
    assert_eq!(state.prune_index(week, 4).await.expect("prune"), 4, "at most the limit");
    assert_eq!(state.prune_index(week, 100).await.expect("prune"), 2, "the rest, and ferry-old");
    assert_eq!(state.prune_index(week, 100).await.expect("prune"), 0);
    let (fingerprints, keys) = size().await;
    assert_eq!(fingerprints, 4);
    let expected_keys: usize = [BRIDGE, FERRY, &wrapped, &both].iter().map(|t| fp(t).keys().len()).sum();
    assert_eq!(keys, expected_keys as u64, "their keys went with them");
    let found = state.find_similar(&items[..1], week, 0.5).await.expect("lookup");
    assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("bridge"), "entries in the window stay");
}
