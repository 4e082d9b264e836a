use serde_json::{Value, json};

use super::*;
use crate::metrics::{GpuSample, ModelQuality, PodRef, VersionTraffic};
use crate::snapshot::Kind;
use crate::source::{Reachability, SourceState};

const H100: &str = "NVIDIA-H100-80GB-HBM3";

/// Every kind listed and the server answering.
fn synced() -> Snapshot {
    Snapshot::synced_for_tests()
}

fn set_state(snapshot: &mut Snapshot, state: SourceState) {
    snapshot.set_states_for_tests(&state);
}

fn add<T: serde::de::DeserializeOwned>(kind: &mut Kind<T>, object: Value) {
    kind.add_json(object);
}

/// A ready on-demand H100 node with `gpus` GPUs.
fn node(snapshot: &mut Snapshot, name: &str, gpus: i64) {
    add(
        &mut snapshot.nodes,
        json!({
            "metadata": {"name": name, "labels": {
                "mlxp.io/pool": "training", "nvidia.com/gpu.product": H100}},
            "status": {
                "allocatable": {"nvidia.com/gpu": gpus.to_string()},
                "conditions": [{"type": "Ready", "status": "True"}]},
        }),
    );
}

/// A running pod holding `gpus` GPUs of `node`.
fn pod(snapshot: &mut Snapshot, name: &str, node: &str, gpus: i64) {
    add(
        &mut snapshot.pods,
        json!({
            "metadata": {"name": name, "namespace": "training"},
            "spec": {"nodeName": node, "containers": [
                {"name": "t", "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}}}]},
            "status": {"phase": "Running"},
        }),
    );
}

fn failed_job(snapshot: &mut Snapshot, name: &str) {
    add(
        &mut snapshot.jobs,
        json!({
            "metadata": {"name": name, "namespace": "training"},
            "status": {"conditions": [{"type": "Failed", "status": "True"}]},
        }),
    );
}

/// A ClusterQueue with (flavor, quota, used) GPUs.
fn queue(snapshot: &mut Snapshot, name: &str, flavors: &[(&str, i64, i64)]) {
    let gpus = |n: i64| json!([{"name": "nvidia.com/gpu", "nominalQuota": n.to_string(), "total": n.to_string()}]);
    add(
        &mut snapshot.cluster_queues,
        json!({
            "metadata": {"name": name},
            "spec": {"resourceGroups": [{"flavors": flavors.iter()
                .map(|(f, quota, _)| json!({"name": f, "resources": gpus(*quota)}))
                .collect::<Vec<_>>()}]},
            "status": {"flavorsUsage": flavors.iter()
                .map(|(f, _, used)| json!({"name": f, "resources": gpus(*used)}))
                .collect::<Vec<_>>()},
        }),
    );
}

/// fraud-detector in `serving`: v1 80 %, v2 20 %, at most 1 % errors, p99 500 ms, drift 0.25.
fn fraud_detector(snapshot: &mut Snapshot) {
    add(
        &mut snapshot.routes,
        json!({
            "metadata": {"name": "fraud-detector", "namespace": "serving",
                         "labels": {"mlxp.io/model": "fraud-detector"}},
            "spec": {"rules": [{"backendRefs": [
                {"name": "fraud-detector-v1", "weight": 80},
                {"name": "fraud-detector-v2", "weight": 20}]}]},
        }),
    );
    add(
        &mut snapshot.models,
        json!({
            "metadata": {"name": "fraud-detector", "namespace": "serving"},
            "spec": {"drift": {"threshold": 0.25},
                     "canary": {"maxErrorRate": 0.01, "maxP99LatencySeconds": 0.5}},
        }),
    );
}

fn gpu(node: &str, index: usize, util: f64, pod: Option<&str>) -> GpuSample {
    GpuSample {
        node: node.into(),
        gpu: index.to_string(),
        uuid: format!("GPU-{node}-{index}"),
        model_name: "NVIDIA H100 80GB HBM3".into(),
        util,
        fb_used_mib: 0.0,
        fb_free_mib: 0.0,
        power_watts: 0.0,
        pod: pod.map(|name| PodRef {
            namespace: "training".into(),
            name: name.into(),
            container: "t".into(),
        }),
    }
}

fn traffic(version: &str, error_ratio: f64, p99_ms: f64) -> VersionTraffic {
    VersionTraffic {
        model: "fraud-detector".into(),
        version: version.into(),
        rps: 30.0,
        error_ratio,
        p50_seconds: None,
        p99_seconds: Some(p99_ms / 1000.0),
    }
}

fn quality(version: &str, drift: f64) -> ModelQuality {
    ModelQuality {
        model: "fraud-detector".into(),
        version: version.into(),
        accuracy: None,
        drift: Some(drift),
    }
}

fn frame(
    gpus: Vec<GpuSample>,
    traffic: Vec<VersionTraffic>,
    quality: Vec<ModelQuality>,
) -> MetricsFrame {
    MetricsFrame {
        at: chrono::DateTime::UNIX_EPOCH,
        gpus,
        traffic,
        quality,
    }
}

fn texts(alerts: &[Alert]) -> Vec<String> {
    alerts.iter().map(Alert::to_string).collect()
}

#[test]
fn idle_allocated_gpus_are_one_alert_with_their_cost_and_each_pod_named_once() {
    let mut snapshot = synced();
    node(&mut snapshot, "gpu-a", 8);
    let frame = frame(
        vec![
            gpu("gpu-a", 0, 1.0, Some("notebook")),
            gpu("gpu-a", 1, 0.0, Some("notebook")),
            gpu("gpu-a", 2, 2.0, Some("eval")),
            gpu("gpu-a", 3, 90.0, Some("train")),
            gpu("gpu-a", 4, 0.0, None),
        ],
        Vec::new(),
        Vec::new(),
    );
    let alerts = alerts(&snapshot, Some(&frame), &PriceTable::defaults());
    assert_eq!(
        alerts[0],
        Alert::IdleAllocated {
            gpus: 3,
            per_hour: 3.0 * 11.06,
            pods: vec!["training/notebook".into(), "training/eval".into()],
        }
    );
    assert_eq!(alerts[0].severity(), Severity::Critical);
    assert_eq!(
        alerts[0].to_string(),
        "idle allocated: 3 GPUs $33.18/h (training/notebook, training/eval)"
    );
}

#[test]
fn a_version_over_its_limits_says_which_in_the_serving_domains_words() {
    let mut snapshot = synced();
    fraud_detector(&mut snapshot);
    let frame = frame(
        Vec::new(),
        vec![traffic("v1", 0.003, 237.0), traffic("v2", 0.08, 907.0)],
        Vec::new(),
    );
    let alerts = alerts(&snapshot, Some(&frame), &PriceTable::defaults());
    assert_eq!(
        texts(&alerts),
        ["fraud-detector v2 failing: errors 8.0% > 1.0%, p99 907ms > 500ms"]
    );
    assert_eq!(alerts[0].kind(), "failing_version");
    assert_eq!(alerts[0].namespace(), Some("serving"));
}

#[test]
fn drift_over_the_models_threshold_warns_and_at_it_does_not() {
    let mut snapshot = synced();
    fraud_detector(&mut snapshot);
    let frame = frame(
        Vec::new(),
        Vec::new(),
        vec![quality("v1", 0.25), quality("v2", 0.31)],
    );
    let alerts = alerts(&snapshot, Some(&frame), &PriceTable::defaults());
    assert_eq!(texts(&alerts), ["fraud-detector v2 drift 0.31 > 0.25"]);
    assert_eq!(alerts[0].severity(), Severity::Warning);
}

#[test]
fn free_gpus_on_billed_nodes_only_from_nodes_and_pods_that_are_current() {
    let mut snapshot = synced();
    node(&mut snapshot, "gpu-a", 8);
    pod(&mut snapshot, "train", "gpu-a", 2);
    let prices = PriceTable::defaults();
    assert_eq!(
        texts(&alerts(&snapshot, None, &prices)),
        ["free on billed nodes: 6 GPUs $66.36/h"]
    );
    snapshot.api.reachability = Reachability::Silent;
    assert!(alerts(&snapshot, None, &prices).is_empty());
    snapshot.api.reachability = Reachability::Answering;
    snapshot.pods.status.state = SourceState::Syncing;
    assert!(alerts(&snapshot, None, &prices).is_empty());
}

#[test]
fn failed_jobs_are_one_alert_naming_the_first_three() {
    let mut snapshot = synced();
    for i in 1..=5 {
        failed_job(&mut snapshot, &format!("train-r{i}"));
    }
    let alerts = alerts(&snapshot, None, &PriceTable::defaults());
    assert_eq!(
        texts(&alerts),
        [
            "5 training job(s) failed (training/train-r1, training/train-r2, training/train-r3, +2 more)"
        ]
    );
    assert_eq!(alerts[0].severity(), Severity::Critical);
}

#[test]
fn a_queue_at_ninety_percent_of_its_gpu_quota_over_its_flavors_is_under_pressure() {
    assert_eq!(QUOTA_PRESSURE_AT, 0.9);
    let mut snapshot = synced();
    // 8/8 on-demand is full, but the queue falls back to spot: 40/48 is 83 %.
    queue(
        &mut snapshot,
        "roomy",
        &[("spot", 40, 32), ("ondemand", 8, 8)],
    );
    queue(&mut snapshot, "at-90", &[("spot", 10, 9)]);
    queue(&mut snapshot, "under-90", &[("spot", 100, 89)]);
    queue(
        &mut snapshot,
        "over",
        &[("spot", 40, 40), ("ondemand", 8, 7)],
    );
    queue(&mut snapshot, "no-gpus", &[("cpu", 0, 0)]);
    let alerts = alerts(&snapshot, None, &PriceTable::defaults());
    assert_eq!(
        texts(&alerts),
        [
            "queue at-90 at 90% of its GPU quota (9/10)",
            "queue over at 98% of its GPU quota (47/48)",
        ]
    );
    assert_eq!(alerts[0].kind(), "quota_pressure");
    assert_eq!(alerts[0].severity(), Severity::Warning);
}

#[test]
fn critical_alerts_come_first_and_metrics_alerts_need_metrics() {
    let mut snapshot = synced();
    fraud_detector(&mut snapshot);
    node(&mut snapshot, "gpu-a", 8);
    pod(&mut snapshot, "notebook", "gpu-a", 1);
    failed_job(&mut snapshot, "train-r1");
    queue(&mut snapshot, "training", &[("spot", 8, 8)]);
    let frame = frame(
        vec![gpu("gpu-a", 0, 0.0, Some("notebook"))],
        vec![traffic("v2", 0.08, 100.0)],
        vec![quality("v2", 0.4)],
    );
    let prices = PriceTable::defaults();
    let kinds = |alerts: Vec<Alert>| alerts.iter().map(Alert::kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(alerts(&snapshot, Some(&frame), &prices)),
        [
            "idle_allocated",
            "failing_version",
            "failed_jobs",
            "drift",
            "free_on_billed_nodes",
            "quota_pressure"
        ]
    );
    assert_eq!(
        kinds(alerts(&snapshot, None, &prices)),
        ["failed_jobs", "free_on_billed_nodes", "quota_pressure"]
    );
}

#[test]
fn what_cannot_be_seen_is_unknown_and_only_nothing_unseen_is_all_clear() {
    let prices = PriceTable::defaults();
    let empty = frame(Vec::new(), Vec::new(), Vec::new());
    let snapshot = synced();
    assert!(assess(&snapshot, Some(&empty), false, &prices).all_clear());

    let unknown = |s: &Snapshot, frame: Option<&MetricsFrame>, failing: bool| {
        let assessment = assess(s, frame, failing, &prices);
        assert!(!assessment.all_clear());
        assessment
            .unknown
            .iter()
            .map(Unknown::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        unknown(&snapshot, None, false),
        ["no metrics: idle GPUs, drift and errors"]
    );
    assert_eq!(
        unknown(&snapshot, Some(&empty), true),
        ["metrics failing: idle GPUs, drift and errors"]
    );
    let mut listing = synced();
    set_state(&mut listing, SourceState::Syncing);
    assert_eq!(
        unknown(&listing, Some(&empty), false),
        ["nodes, pods, jobs, clusterqueues, httproutes, models not synced"]
    );
    let mut silent = synced();
    silent.api.reachability = Reachability::Silent;
    assert_eq!(
        unknown(&silent, None, false),
        [
            "the API server cannot be read",
            "no metrics: idle GPUs, drift and errors"
        ]
    );
    // A kind the alerts do not read is no blind spot of theirs.
    let mut events = synced();
    events.events.status.state = SourceState::Failing;
    assert!(assess(&events, Some(&empty), false, &prices).all_clear());
}

#[test]
fn an_alert_serialises_as_its_figures() {
    let alert = Alert::FailingVersion {
        namespace: "serving".into(),
        model: "m".into(),
        version: "v2".into(),
        breaches: vec![Breach::Errors {
            ratio: 0.08,
            limit: 0.01,
        }],
    };
    assert_eq!(
        serde_json::to_value(&alert).expect("json"),
        json!({"namespace": "serving", "model": "m", "version": "v2",
               "breaches": [{"breach": "errors", "ratio": 0.08, "limit": 0.01}]})
    );
}
