//! The pod garbage collector's orphan sweep, as kube-controller-manager's podgc runs it:
//! a pod bound to a node that no longer exists is deleted (its controller makes another
//! where there is room). Pods are looked at only when a node has gone, so a quiet cluster
//! of 150,000 pods costs a list of node names per pass.

use std::collections::BTreeSet;

use crate::api::ApiState;

#[derive(Default)]
pub struct PodGc {
    /// The nodes seen at the last pass; None before the first.
    nodes: Option<BTreeSet<String>>,
}

impl PodGc {
    pub fn reconcile(&mut self, state: &ApiState) -> usize {
        let now: BTreeSet<String> = state
            .list_stored("", "nodes", |_| true)
            .iter()
            .map(|n| n.name.to_string())
            .collect();
        let gone: Vec<String> = match &self.nodes {
            Some(before) => before.difference(&now).cloned().collect(),
            None => Vec::new(),
        };
        self.nodes = Some(now);
        if gone.is_empty() {
            return 0;
        }
        let orphans = state.list_stored("", "pods", |p| {
            p.field("spec.nodeName")
                .is_some_and(|node| gone.iter().any(|g| g == node))
        });
        let mut deleted = 0;
        for pod in orphans {
            if state.delete_object("", "pods", &pod.namespace, &pod.name) {
                deleted += 1;
            }
        }
        deleted
    }
}
