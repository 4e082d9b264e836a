//! The kinds the cockpit watches, and where each lives in the API.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KindName {
    Nodes,
    Pods,
    Jobs,
    Workloads,
    ClusterQueues,
    LocalQueues,
    Deployments,
    Hpas,
    HttpRoutes,
    Models,
    ModelVersions,
    Events,
}

impl KindName {
    pub const ALL: [KindName; 12] = [
        KindName::Nodes,
        KindName::Pods,
        KindName::Jobs,
        KindName::Workloads,
        KindName::ClusterQueues,
        KindName::LocalQueues,
        KindName::Deployments,
        KindName::Hpas,
        KindName::HttpRoutes,
        KindName::Models,
        KindName::ModelVersions,
        KindName::Events,
    ];

    /// (group, version, plural).
    pub fn api(self) -> (&'static str, &'static str, &'static str) {
        match self {
            KindName::Nodes => ("", "v1", "nodes"),
            KindName::Pods => ("", "v1", "pods"),
            KindName::Jobs => ("batch", "v1", "jobs"),
            KindName::Workloads => ("kueue.x-k8s.io", "v1beta1", "workloads"),
            KindName::ClusterQueues => ("kueue.x-k8s.io", "v1beta1", "clusterqueues"),
            KindName::LocalQueues => ("kueue.x-k8s.io", "v1beta1", "localqueues"),
            KindName::Deployments => ("apps", "v1", "deployments"),
            KindName::Hpas => ("autoscaling", "v2", "horizontalpodautoscalers"),
            KindName::HttpRoutes => ("gateway.networking.k8s.io", "v1", "httproutes"),
            KindName::Models => ("mlxp.io", "v1alpha1", "models"),
            KindName::ModelVersions => ("mlxp.io", "v1alpha1", "modelversions"),
            KindName::Events => ("", "v1", "events"),
        }
    }

    /// The cluster-wide list/watch path.
    pub fn path(self) -> String {
        match self.api() {
            ("", version, plural) => format!("/api/{version}/{plural}"),
            (group, version, plural) => format!("/apis/{group}/{version}/{plural}"),
        }
    }

    pub fn label(self) -> &'static str {
        self.api().2
    }
}
