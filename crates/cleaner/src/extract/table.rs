//! Per-node tables of one parsed page, indexed by the node's position in
//! the tree: the extractor's walks read and write a number or a flag for
//! every element, and a hash map per walk was a tenth of its time.
//!
//! ego_tree's `NodeId` is an index into the tree's node vector (one more
//! than the index, as a `NonZeroUsize`) but does not expose it; it hashes
//! as that number, so [`index`] reads it through a `Hasher`. The test below
//! holds that to the tree's own order.

use std::hash::{Hash, Hasher};

use ego_tree::NodeId;

/// Reads the one `usize` a `NodeId` hashes as.
#[derive(Default)]
struct Index(usize);

impl Hasher for Index {
    fn finish(&self) -> u64 {
        self.0 as u64
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not reached for a NodeId (it writes one usize); folded in so the
        // index stays a function of the id whatever it writes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ usize::from(b);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = n;
    }
}

/// The position of a node in its tree's node vector.
pub(crate) fn index(id: NodeId) -> usize {
    let mut h = Index::default();
    id.hash(&mut h);
    h.0.saturating_sub(1)
}

/// A value for some of the nodes of a tree of `len` nodes.
pub(crate) struct NodeMap<T> {
    values: Vec<Option<T>>,
}

impl<T: Copy> NodeMap<T> {
    pub(crate) fn new(len: usize) -> NodeMap<T> {
        NodeMap { values: vec![None; len] }
    }

    pub(crate) fn get(&self, id: &NodeId) -> Option<&T> {
        self.values.get(index(*id)).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, id: &NodeId) -> Option<&mut T> {
        self.values.get_mut(index(*id)).and_then(Option::as_mut)
    }

    pub(crate) fn remove(&mut self, id: &NodeId) -> Option<T> {
        self.values.get_mut(index(*id)).and_then(Option::take)
    }

    pub(crate) fn insert(&mut self, id: NodeId, value: T) {
        let i = index(id);
        if i >= self.values.len() {
            self.values.resize(i + 1, None);
        }
        self.values[i] = Some(value);
    }
}

/// A set of the nodes of a tree of `len` nodes.
#[derive(Clone)]
pub(crate) struct NodeSet {
    bits: Vec<bool>,
}

impl NodeSet {
    pub(crate) fn new(len: usize) -> NodeSet {
        NodeSet { bits: vec![false; len] }
    }

    pub(crate) fn contains(&self, id: &NodeId) -> bool {
        self.bits.get(index(*id)).copied().unwrap_or(false)
    }

    /// Add a node; false when it was in already.
    pub(crate) fn insert(&mut self, id: NodeId) -> bool {
        let i = index(id);
        if i >= self.bits.len() {
            self.bits.resize(i + 1, false);
        }
        !std::mem::replace(&mut self.bits[i], true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_index_the_tree_in_creation_order() {
        let doc = crate::parse::document("<p>a<b>b</b></p><div><span>c</span></div>");
        let ids: Vec<usize> = doc.tree.nodes().map(|n| index(n.id())).collect();
        assert_eq!(ids, (0..doc.tree.values().len()).collect::<Vec<_>>());
        let mut set = NodeSet::new(ids.len());
        let root = doc.tree.root().id();
        assert!(set.insert(root) && !set.insert(root) && set.contains(&root));
    }
}
