//! [`MemoryCluster`]: several PubSubs in one process, linked as the nodes of a
//! cluster, with partitions on demand. For tests of anything that spans nodes
//! (presence replication above all) without a broker.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use embercast_protocol::Broadcast;
use parking_lot::Mutex;

use super::{Adapter, LocalDispatch, PubSub, PubSubError};

/// In-process nodes that deliver each other's broadcasts synchronously.
///
/// ```
/// use embercast_server::MemoryCluster;
///
/// let cluster = MemoryCluster::new();
/// let a = cluster.node("a");
/// let b = cluster.node("b");
/// let _listener = b.listen("room:1");
/// a.broadcast("room:1", "hello", serde_json::json!({})).unwrap(); // reaches b
/// cluster.partition(&["a"], &["b"]); // from now on a and b do not hear each other
/// ```
#[derive(Clone, Default)]
pub struct MemoryCluster {
    inner: Arc<Mutex<Links>>,
}

#[derive(Default)]
struct Links {
    nodes: HashMap<Arc<str>, LocalDispatch>,
    /// Pairs (from, to) whose messages are dropped.
    cut: HashSet<(Arc<str>, Arc<str>)>,
    /// Nodes cut off from every other.
    isolated: HashSet<Arc<str>>,
}

impl Links {
    fn linked(&self, from: &Arc<str>, to: &Arc<str>) -> bool {
        !self.isolated.contains(from) && !self.isolated.contains(to) && !self.cut.contains(&(from.clone(), to.clone()))
    }
}

impl std::fmt::Debug for MemoryCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let links = self.inner.lock();
        f.debug_struct("MemoryCluster").field("nodes", &links.nodes.keys().collect::<Vec<_>>()).finish()
    }
}

impl MemoryCluster {
    /// A cluster with no nodes.
    pub fn new() -> Self {
        MemoryCluster::default()
    }

    /// A new PubSub joined to the cluster as `name`. A node added under a name
    /// already in use replaces the old one (a restart): the old PubSub no longer
    /// receives anything.
    pub fn node(&self, name: &str) -> PubSub {
        PubSub::with_adapter(Arc::new(MemoryAdapter { name: name.into(), cluster: self.inner.clone() }))
    }

    /// Drops every message between a node of `left` and a node of `right`, both ways.
    pub fn partition(&self, left: &[&str], right: &[&str]) {
        let mut links = self.inner.lock();
        for l in left {
            for r in right {
                links.cut.insert((Arc::from(*l), Arc::from(*r)));
                links.cut.insert((Arc::from(*r), Arc::from(*l)));
            }
        }
    }

    /// Cuts `name` off from every other node, present and future, until [`heal`](Self::heal).
    pub fn isolate(&self, name: &str) {
        self.inner.lock().isolated.insert(name.into());
    }

    /// Removes every partition and isolation.
    pub fn heal(&self) {
        let mut links = self.inner.lock();
        links.cut.clear();
        links.isolated.clear();
    }
}

struct MemoryAdapter {
    name: Arc<str>,
    cluster: Arc<Mutex<Links>>,
}

impl MemoryAdapter {
    /// The nodes `self` can reach now, among `targets`, taken out of the lock
    /// so that delivery runs without it.
    fn reachable(&self, targets: impl Fn(&str) -> bool) -> Vec<LocalDispatch> {
        let links = self.cluster.lock();
        links
            .nodes
            .iter()
            .filter(|(n, _)| **n != self.name && targets(n) && links.linked(&self.name, n))
            .map(|(_, d)| d.clone())
            .collect()
    }
}

impl Adapter for MemoryAdapter {
    fn node_name(&self) -> &str {
        &self.name
    }

    fn start(&self, local: LocalDispatch) {
        self.cluster.lock().nodes.insert(self.name.clone(), local);
    }

    fn publish(&self, broadcast: &Broadcast) -> Result<(), PubSubError> {
        for node in self.reachable(|_| true) {
            node.dispatch(broadcast);
        }
        Ok(())
    }

    fn publish_to(&self, node: &str, broadcast: &Broadcast) -> Result<(), PubSubError> {
        let known = self.cluster.lock().nodes.contains_key(node);
        if !known {
            return Err(PubSubError(format!("no node named {node:?} in this cluster")));
        }
        // A cut link drops the message silently, as a real network would.
        for target in self.reachable(|n| n == node) {
            target.dispatch(broadcast);
        }
        Ok(())
    }
}
