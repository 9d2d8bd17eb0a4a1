//! A feed's learned template, as stored with the feed's state.
//!
//! The cleaner learns which paragraphs a feed repeats in many of its items
//! (promotion, footers, sign-offs no rule names) and removes them as kind
//! `template`. What it has learned is kept here, in [`FeedState`]
//! (crate::state::FeedState), so it survives restarts and is committed with
//! the checkpoint, in the same transaction as the records where the store
//! allows: the same crash guarantees as the rest of the state.
//!
//! This is data only: the rules (fingerprints, counting, eviction, what may
//! be removed) are the cleaner's `TemplateTable`.

use serde::{Deserialize, Serialize};

/// Paragraph fingerprints seen in a feed's items, bounded by the cleaner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateState {
    /// Items observed so far (a clock for eviction: older entries go first).
    pub tick: u32,
    /// One per fingerprint.
    pub entries: Vec<TemplateEntry>,
}

impl TemplateState {
    /// Whether nothing has been learned (then it is not written).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One normalised paragraph and the distinct items it was seen in.
/// Stored as a compact array `[fingerprint, count, last, [items]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "EntryTuple", into = "EntryTuple")]
pub struct TemplateEntry {
    /// Hash of the normalised paragraph.
    pub fingerprint: u64,
    /// Distinct items it was seen in (saturating).
    pub count: u32,
    /// The tick it was last seen at.
    pub last: u32,
    /// Hashes of the first items it was seen in, to count each item once
    /// (as many as the removal threshold needs).
    pub items: Vec<u32>,
}

type EntryTuple = (u64, u32, u32, Vec<u32>);

impl From<EntryTuple> for TemplateEntry {
    fn from((fingerprint, count, last, items): EntryTuple) -> TemplateEntry {
        TemplateEntry { fingerprint, count, last, items }
    }
}

impl From<TemplateEntry> for EntryTuple {
    fn from(e: TemplateEntry) -> EntryTuple {
        (e.fingerprint, e.count, e.last, e.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_compactly_and_read_back() {
        let state = TemplateState {
            tick: 7,
            entries: vec![TemplateEntry { fingerprint: u64::MAX - 1, count: 3, last: 6, items: vec![1, 2, 3] }],
        };
        let json = serde_json::to_string(&state).expect("serialises");
        assert_eq!(json, r#"{"tick":7,"entries":[[18446744073709551614,3,6,[1,2,3]]]}"#);
        assert_eq!(serde_json::from_str::<TemplateState>(&json).expect("reads"), state);
        assert_eq!(serde_json::from_str::<TemplateState>("{}").expect("reads"), TemplateState::default());
    }
}
