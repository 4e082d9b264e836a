//! The kinds the cockpit watches, and where each lives in the API.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    Nodes,
    Pods,
    Jobs,
    Workloads,
    ClusterQueues,
    LocalQueues,
    ResourceFlavors,
    Deployments,
    Hpas,
    HttpRoutes,
    Models,
    ModelVersions,
    Events,
    /// Written only (a served version's Service, with its Deployment), never watched: not
    /// in ALL.
    Services,
}

impl KindName {
    pub const ALL: [KindName; 13] = [
        KindName::Nodes,
        KindName::Pods,
        KindName::Jobs,
        KindName::Workloads,
        KindName::ClusterQueues,
        KindName::LocalQueues,
        KindName::ResourceFlavors,
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
            KindName::ResourceFlavors => ("kueue.x-k8s.io", "v1beta1", "resourceflavors"),
            KindName::Deployments => ("apps", "v1", "deployments"),
            KindName::Hpas => ("autoscaling", "v2", "horizontalpodautoscalers"),
            KindName::HttpRoutes => ("gateway.networking.k8s.io", "v1", "httproutes"),
            KindName::Models => ("mlxp.io", "v1alpha1", "models"),
            KindName::ModelVersions => ("mlxp.io", "v1alpha1", "modelversions"),
            KindName::Events => ("", "v1", "events"),
            KindName::Services => ("", "v1", "services"),
        }
    }

    /// The object's `kind`, as an Event's `involvedObject` names it.
    pub fn kind(self) -> &'static str {
        match self {
            KindName::Nodes => "Node",
            KindName::Pods => "Pod",
            KindName::Jobs => "Job",
            KindName::Workloads => "Workload",
            KindName::ClusterQueues => "ClusterQueue",
            KindName::LocalQueues => "LocalQueue",
            KindName::ResourceFlavors => "ResourceFlavor",
            KindName::Deployments => "Deployment",
            KindName::Hpas => "HorizontalPodAutoscaler",
            KindName::HttpRoutes => "HTTPRoute",
            KindName::Models => "Model",
            KindName::ModelVersions => "ModelVersion",
            KindName::Events => "Event",
            KindName::Services => "Service",
        }
    }

    /// `apiVersion`: "v1" for the core group, "GROUP/VERSION" for the others.
    pub fn api_version(self) -> String {
        match self.api() {
            ("", version, _) => version.to_string(),
            (group, version, _) => format!("{group}/{version}"),
        }
    }

    /// The cluster-wide list/watch path.
    pub fn path(self) -> String {
        format!("{}/{}", self.group_version_path(), self.label())
    }

    /// The path of one object: `namespace` is None for cluster-scoped kinds.
    pub fn object_path(self, namespace: Option<&str>, name: &str) -> String {
        let (root, plural) = (self.group_version_path(), self.label());
        match namespace {
            Some(ns) => format!("{root}/namespaces/{ns}/{plural}/{name}"),
            None => format!("{root}/{plural}/{name}"),
        }
    }

    /// "/api/v1" for the core group, "/apis/GROUP/VERSION" for the others.
    fn group_version_path(self) -> String {
        match self.api() {
            ("", version, _) => format!("/api/{version}"),
            (group, version, _) => format!("/apis/{group}/{version}"),
        }
    }

    pub fn label(self) -> &'static str {
        self.api().2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_lists_and_of_one_object() {
        assert_eq!(KindName::Nodes.path(), "/api/v1/nodes");
        assert_eq!(KindName::Jobs.path(), "/apis/batch/v1/jobs");
        assert_eq!(
            KindName::Nodes.object_path(None, "gpu-1"),
            "/api/v1/nodes/gpu-1"
        );
        assert_eq!(
            KindName::Events.object_path(Some("ml"), "e1"),
            "/api/v1/namespaces/ml/events/e1"
        );
        assert_eq!(
            KindName::ModelVersions.object_path(Some("ml"), "fraud-v2"),
            "/apis/mlxp.io/v1alpha1/namespaces/ml/modelversions/fraud-v2"
        );
    }
}
