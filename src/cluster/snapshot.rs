//! The immutable picture of the cluster the UI and the agent read.

use std::sync::Arc;

use imbl::OrdMap;

use super::kinds::KindName;
use super::source::SourceStatus;
use crate::domain::objects::{
    ClusterQueue, Deployment, Event, Hpa, HttpRoute, Job, LocalQueue, Model, ModelVersion, Node,
    Pod, Workload,
};

/// (namespace, name); namespace empty for cluster-scoped kinds.
pub type ObjectKey = (String, String);

/// One kind's objects and how its source is doing.
#[derive(Debug, Clone)]
pub struct Kind<T> {
    pub items: OrdMap<ObjectKey, Arc<T>>,
    pub status: SourceStatus,
}

impl<T> Default for Kind<T> {
    fn default() -> Self {
        Kind {
            items: OrdMap::new(),
            status: SourceStatus::default(),
        }
    }
}

impl<T> Kind<T> {
    pub fn get(&self, namespace: &str, name: &str) -> Option<&Arc<T>> {
        self.items.get(&(namespace.to_string(), name.to_string()))
    }

    pub fn values(&self) -> impl Iterator<Item = &Arc<T>> {
        self.items.values()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub nodes: Kind<Node>,
    pub pods: Kind<Pod>,
    pub jobs: Kind<Job>,
    pub workloads: Kind<Workload>,
    pub cluster_queues: Kind<ClusterQueue>,
    pub local_queues: Kind<LocalQueue>,
    pub deployments: Kind<Deployment>,
    pub hpas: Kind<Hpa>,
    pub routes: Kind<HttpRoute>,
    pub models: Kind<Model>,
    pub model_versions: Kind<ModelVersion>,
    pub events: Kind<Event>,
    /// Bumped at every change, so readers can tell snapshots apart cheaply.
    pub generation: u64,
}

impl Snapshot {
    pub fn status(&self, kind: KindName) -> &SourceStatus {
        match kind {
            KindName::Nodes => &self.nodes.status,
            KindName::Pods => &self.pods.status,
            KindName::Jobs => &self.jobs.status,
            KindName::Workloads => &self.workloads.status,
            KindName::ClusterQueues => &self.cluster_queues.status,
            KindName::LocalQueues => &self.local_queues.status,
            KindName::Deployments => &self.deployments.status,
            KindName::Hpas => &self.hpas.status,
            KindName::HttpRoutes => &self.routes.status,
            KindName::Models => &self.models.status,
            KindName::ModelVersions => &self.model_versions.status,
            KindName::Events => &self.events.status,
        }
    }

    /// Watch events received by every source so far.
    pub fn events(&self) -> u64 {
        KindName::ALL.iter().map(|k| self.status(*k).events).sum()
    }

    /// Every source has finished its first list (or cannot: not installed, forbidden).
    pub fn complete(&self) -> bool {
        use super::source::SourceState::*;
        KindName::ALL.iter().all(|k| {
            let s = self.status(*k);
            matches!(s.state, Synced | NotInstalled | Forbidden) || s.lists > 0
        })
    }
}
