//! The immutable picture of the cluster the UI and the agent read.

use std::sync::Arc;

use imbl::OrdMap;
use serde::de::DeserializeOwned;

use crate::domain::objects::{
    ClusterQueue, Deployment, Event, Hpa, HttpRoute, Job, LocalQueue, Meta, Model, ModelVersion,
    Node, Pod, ResourceFlavor, SharedStr, Workload,
};
use crate::kinds::KindName;
use crate::source::{ApiStatus, SourceStatus};

/// (namespace, name); namespace empty for cluster-scoped kinds.
pub type ObjectKey = (SharedStr, String);

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

#[cfg(test)]
impl<T: serde::de::DeserializeOwned> Kind<T> {
    /// Adds an object read from its JSON, keyed by its namespace and name (tests).
    pub(crate) fn add_json(&mut self, object: serde_json::Value) {
        let text = |field: &str| object["metadata"][field].as_str().unwrap_or("").to_string();
        let key = (text("namespace").into(), text("name"));
        let object = serde_json::from_value(object).expect("an object of its kind");
        self.items.insert(key, Arc::new(object));
    }
}

impl<T> Kind<T> {
    pub fn get(&self, namespace: &str, name: &str) -> Option<&Arc<T>> {
        self.items
            .get(&(SharedStr::new(namespace), name.to_string()))
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
    pub resource_flavors: Kind<ResourceFlavor>,
    pub deployments: Kind<Deployment>,
    pub hpas: Kind<Hpa>,
    pub routes: Kind<HttpRoute>,
    pub models: Kind<Model>,
    pub model_versions: Kind<ModelVersion>,
    pub events: Kind<Event>,
    /// Whether the API server answers at all (the liveness probe).
    pub api: ApiStatus,
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
            KindName::ResourceFlavors => &self.resource_flavors.status,
            KindName::Deployments => &self.deployments.status,
            KindName::Hpas => &self.hpas.status,
            KindName::HttpRoutes => &self.routes.status,
            KindName::Models => &self.models.status,
            KindName::ModelVersions => &self.model_versions.status,
            KindName::Events => &self.events.status,
            // Not watched: what is known of serving is what the Deployments say.
            KindName::Services => &self.deployments.status,
        }
    }

    /// The pods a Job controls. The Job controller names them `<job>-…` (generateName), so
    /// this reads that stretch of the sorted pod map instead of all of it: at 150,000 pods
    /// a full scan per Job is what made the Training view slow.
    pub fn pods_of_job<'a>(
        &'a self,
        namespace: &'a str,
        job: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Pod>> + 'a {
        let prefix = format!("{job}-");
        let from = (SharedStr::new(namespace), prefix.clone());
        self.pods
            .items
            .range(from..)
            .take_while(move |((ns, name), _)| ns == namespace && name.starts_with(&prefix))
            .map(|(_, pod)| pod)
            .filter(move |pod| {
                pod.meta
                    .controller()
                    .is_some_and(|o| o.kind == "Job" && o.name == job)
            })
    }

    /// The kinds whose objects cannot be trusted to be current: not listed yet, failing,
    /// or every kind while the API server does not answer. Whatever is computed from them
    /// (an alert, a total, a cost) is unknown, not zero or "all clear".
    pub fn blind_spots(&self) -> Vec<KindName> {
        use crate::source::SourceState::*;
        KindName::ALL
            .into_iter()
            .filter(|k| self.api.silent() || matches!(self.status(*k).state, Syncing | Failing))
            .collect()
    }

    /// Watch events received by every source so far.
    pub fn events(&self) -> u64 {
        KindName::ALL.iter().map(|k| self.status(*k).events).sum()
    }

    /// Every source has finished its first list (or cannot: not installed, forbidden).
    /// The metadata of one object of any watched kind (cluster-scoped: namespace "").
    pub fn meta_of(&self, kind: KindName, namespace: &str, name: &str) -> Option<&Meta> {
        fn of<'a, T: Watched>(kind: &'a Kind<T>, ns: &str, name: &str) -> Option<&'a Meta> {
            kind.get(ns, name).map(|o| o.meta())
        }
        match kind {
            KindName::Nodes => of(&self.nodes, namespace, name),
            KindName::Pods => of(&self.pods, namespace, name),
            KindName::Jobs => of(&self.jobs, namespace, name),
            KindName::Workloads => of(&self.workloads, namespace, name),
            KindName::ClusterQueues => of(&self.cluster_queues, namespace, name),
            KindName::LocalQueues => of(&self.local_queues, namespace, name),
            KindName::ResourceFlavors => of(&self.resource_flavors, namespace, name),
            KindName::Deployments => of(&self.deployments, namespace, name),
            KindName::Hpas => of(&self.hpas, namespace, name),
            KindName::HttpRoutes => of(&self.routes, namespace, name),
            KindName::Models => of(&self.models, namespace, name),
            KindName::ModelVersions => of(&self.model_versions, namespace, name),
            KindName::Events => of(&self.events, namespace, name),
            KindName::Services => None,
        }
    }

    /// Every kind listed and the server answering: a fixture's starting point.
    #[cfg(test)]
    pub(crate) fn synced_for_tests() -> Snapshot {
        let mut snapshot = Snapshot::default();
        snapshot.set_states_for_tests(&crate::source::SourceState::Synced);
        snapshot.api.reachability = crate::source::Reachability::Answering;
        snapshot
    }

    #[cfg(test)]
    pub(crate) fn set_states_for_tests(&mut self, state: &crate::source::SourceState) {
        fn set<T>(kind: &mut Kind<T>, state: &crate::source::SourceState) {
            kind.status.state = state.clone();
        }
        set(&mut self.nodes, state);
        set(&mut self.pods, state);
        set(&mut self.jobs, state);
        set(&mut self.workloads, state);
        set(&mut self.cluster_queues, state);
        set(&mut self.local_queues, state);
        set(&mut self.resource_flavors, state);
        set(&mut self.deployments, state);
        set(&mut self.hpas, state);
        set(&mut self.routes, state);
        set(&mut self.models, state);
        set(&mut self.model_versions, state);
        set(&mut self.events, state);
    }

    pub fn complete(&self) -> bool {
        use crate::source::SourceState::*;
        KindName::ALL.iter().all(|k| {
            let s = self.status(*k);
            matches!(s.state, Synced | NotInstalled | Forbidden) || s.lists > 0
        })
    }
}

/// A compact object type and the snapshot field it lives in.
pub trait Watched: DeserializeOwned + Send + Sync + 'static {
    const KIND: KindName;
    fn meta(&self) -> &Meta;
    fn slot(snapshot: &mut Snapshot) -> &mut Kind<Self>
    where
        Self: Sized;
}

macro_rules! watched {
    ($($type:ty => $kind:ident, $field:ident;)*) => {$(
        impl Watched for $type {
            const KIND: KindName = KindName::$kind;
            fn meta(&self) -> &Meta {
                &self.meta
            }
            fn slot(snapshot: &mut Snapshot) -> &mut Kind<Self> {
                &mut snapshot.$field
            }
        }
    )*};
}

watched! {
    Node => Nodes, nodes;
    Pod => Pods, pods;
    Job => Jobs, jobs;
    Workload => Workloads, workloads;
    ClusterQueue => ClusterQueues, cluster_queues;
    LocalQueue => LocalQueues, local_queues;
    ResourceFlavor => ResourceFlavors, resource_flavors;
    Deployment => Deployments, deployments;
    Hpa => Hpas, hpas;
    HttpRoute => HttpRoutes, routes;
    Model => Models, models;
    ModelVersion => ModelVersions, model_versions;
    Event => Events, events;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(namespace: &str, name: &str, job: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": namespace, "ownerReferences": [
                    {"apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": "u", "controller": true}]},
            }))
            .expect("a pod"),
        )
    }

    #[test]
    fn pods_of_a_job_are_its_own_even_when_another_job_shares_its_prefix() {
        let mut snapshot = Snapshot::default();
        for (ns, name, job) in [
            ("training", "train-a-x1", "train-a"),
            ("training", "train-a-b-y1", "train-a-b"),
            ("training", "train-a-x2", "train-a"),
            ("training", "train-ab-z1", "train-ab"),
            ("other", "train-a-x3", "train-a"),
        ] {
            snapshot
                .pods
                .items
                .insert((ns.into(), name.into()), pod(ns, name, job));
        }
        let names = |job| -> Vec<String> {
            snapshot
                .pods_of_job("training", job)
                .map(|p| p.meta.name.clone())
                .collect()
        };
        assert_eq!(names("train-a"), ["train-a-x1", "train-a-x2"]);
        assert_eq!(names("train-a-b"), ["train-a-b-y1"]);
        assert_eq!(names("train-ab"), ["train-ab-z1"]);
        assert!(names("train").is_empty());
    }
}
