use serde_json::json;

use super::*;

#[test]
fn a_training_pod_keeps_what_the_cockpit_shows() {
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "train-a-x", "namespace": "training", "uid": "u1", "resourceVersion": "42",
                     "labels": {"mlxp.io/model": "fraud-detector", "app": "trainer"}, "annotations": {"big": "ignored"},
                     "managedFields": [{"manager": "kubectl"}],
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "train-a", "uid": "j", "controller": true}],
                     "creationTimestamp": "2026-11-29T08:00:00Z"},
        "spec": {"nodeName": "gke-training-0", "containers": [
            {"name": "t", "resources": {"limits": {"nvidia.com/gpu": "8", "cpu": "2"}, "requests": {"cpu": "96", "memory": "900Gi"}}},
            {"name": "sidecar", "resources": {"requests": {"cpu": "100m"}}}]},
        "status": {"phase": "Succeeded", "startTime": "2026-11-29T08:00:05Z",
                   "containerStatuses": [{"ready": false, "restartCount": 1, "state": {"terminated": {
                       "exitCode": 0, "reason": "Completed", "message": "{\"accuracy\":0.93}",
                       "finishedAt": "2026-11-29T09:00:00Z"}}}]},
    }))
    .expect("decodes");
    assert_eq!(pod.meta.name, "train-a-x");
    assert_eq!(pod.meta.resource_version, "42");
    assert_eq!(
        pod.meta.labels.keys().collect::<Vec<_>>(),
        ["mlxp.io/model"],
        "only mlxp's labels are kept on pods"
    );
    assert_eq!(
        pod.meta.controller().map(|o| o.name.as_str()),
        Some("train-a")
    );
    assert_eq!(pod.node, "gke-training-0");
    assert_eq!(
        pod.requests.gpus, 8,
        "a GPU limit stands in for the request"
    );
    assert_eq!(pod.requests.cpu_milli, 96_100);
    assert_eq!(pod.requests.memory, 900 * 1024 * 1024 * 1024);
    assert_eq!(pod.restarts, 1);
    assert_eq!(
        pod.ended.as_ref().map(|e| e.message.as_str()),
        Some("{\"accuracy\":0.93}")
    );
    assert!(!pod.holds_resources(), "finished pods free their node");
}

#[test]
fn a_pending_pod_says_why_and_nulls_are_empty() {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p", "labels": null, "ownerReferences": null},
        "spec": {"containers": null},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]},
    }))
    .expect("decodes");
    assert_eq!(
        pod.unschedulable.as_deref(),
        Some("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
    );
    assert!(pod.meta.labels.is_empty());
    assert!(!pod.ready);
}

#[test]
fn a_gpu_node_counts_gpus_and_mig_slices() {
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": "n", "labels": {"mlxp.io/pool": "training"}},
        "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}], "unschedulable": true},
        "status": {"allocatable": {"nvidia.com/gpu": "6", "nvidia.com/mig-1g.10gb": "2", "cpu": "207500m", "memory": "1800Gi"},
                   "capacity": {"nvidia.com/gpu": "8"},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }))
    .expect("decodes");
    assert_eq!(node.allocatable.gpus, 8);
    assert_eq!(node.allocatable.cpu_milli, 207_500);
    assert!(node.ready && node.unschedulable);
    assert_eq!(node.taints[0].key, "nvidia.com/gpu");
}

#[test]
fn kueue_objects_give_quota_usage_and_pending_reasons() {
    let cq: ClusterQueue = serde_json::from_value(json!({
        "metadata": {"name": "training"},
        "spec": {"queueingStrategy": "StrictFIFO", "resourceGroups": [{"flavors": [
            {"name": "h100-spot", "resources": [{"name": "cpu", "nominalQuota": "1000"}, {"name": "nvidia.com/gpu", "nominalQuota": "40"}]},
            {"name": "h100-ondemand", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 8}]}]}]},
        "status": {"pendingWorkloads": 2, "admittedWorkloads": 3,
                   "flavorsUsage": [{"name": "h100-spot", "resources": [{"name": "nvidia.com/gpu", "total": "32"}]}]},
    }))
    .expect("decodes");
    assert_eq!(cq.strategy, "StrictFIFO");
    assert_eq!(
        cq.flavors,
        vec![
            FlavorQuota {
                flavor: "h100-spot".into(),
                gpu_quota: 40,
                gpu_used: 32
            },
            FlavorQuota {
                flavor: "h100-ondemand".into(),
                gpu_quota: 8,
                gpu_used: 0
            },
        ]
    );
    let wl: Workload = serde_json::from_value(json!({
        "metadata": {"name": "job-x-1", "namespace": "training"},
        "spec": {"queueName": "training", "podSets": [{"name": "main", "count": 2, "template": {"spec": {"containers": [
            {"resources": {"limits": {"nvidia.com/gpu": "8"}}}]}}}]},
        "status": {"conditions": [{"type": "QuotaReserved", "status": "False", "reason": "Pending",
            "message": "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor h100-spot, 16 more needed"}]},
    }))
    .expect("decodes");
    assert_eq!(wl.requests.gpus, 16);
    assert!(wl.pending() && !wl.admitted());
    assert!(
        wl.pending_reason()
            .is_some_and(|r| r.contains("16 more needed"))
    );
}

#[test]
fn a_route_gives_weights_defaulting_to_one() {
    let route: HttpRoute = serde_json::from_value(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"rules": [{"backendRefs": [{"name": "fraud-detector-v1", "weight": 80}, {"name": "fraud-detector-v2"}]}]},
    }))
    .expect("decodes");
    assert_eq!(
        route.backends,
        vec![
            Backend {
                name: "fraud-detector-v1".into(),
                weight: 80,
                port: None,
                at: (0, 0),
            },
            Backend {
                name: "fraud-detector-v2".into(),
                weight: 1,
                port: None,
                at: (0, 1),
            },
        ]
    );
}

#[test]
fn a_failed_job_says_when_and_why_from_its_failed_condition() {
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "train-a", "namespace": "training"},
        "status": {"failed": 3, "startTime": "2026-11-29T07:00:00Z", "conditions": [
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
             "lastTransitionTime": "2026-11-29T07:09:00Z"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit",
             "lastTransitionTime": "2026-11-29T07:10:00Z"},
        ]},
    }))
    .expect("job");
    assert_eq!(
        job.failure().as_deref(),
        Some("BackoffLimitExceeded: Job has reached the specified backoff limit")
    );
    assert_eq!(
        job.finished_at().map(|t| t.to_rfc3339()),
        Some("2026-11-29T07:10:00+00:00".to_string())
    );
    let running: Job =
        serde_json::from_value(json!({"metadata": {"name": "b"}, "status": {"active": 1}}))
            .expect("job");
    assert_eq!((running.failure(), running.finished_at()), (None, None));
}
