use std::collections::BTreeMap;

use chrono::{DateTime, Duration as Span, Utc};
use serde_json::{Value, json};

use super::*;
use crate::domain::cost::PriceTable;
use crate::metrics::VersionTraffic;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .expect("a time")
        .with_timezone(&Utc)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// fraud-detector: v1 Production at 80, v2 Canary at 20 (its step since `step_since`,
/// `failures` analyses failed in a row); steps 10 → 20 → 50 → 100 with 600 s pauses,
/// errors at most 1 %, p99 at most 500 ms, drift at most 0.3, accuracy at least 0.85.
fn platform(step_since: DateTime<Utc>, failures: u32) -> Snapshot {
    let mut s = Snapshot::synced_for_tests();
    s.models.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"canary": {"steps": [{"weight": 10, "pauseSeconds": 600}, {"weight": 20, "pauseSeconds": 600},
                                      {"weight": 50, "pauseSeconds": 600}, {"weight": 100}],
                            "maxErrorRate": 0.01, "maxP99LatencySeconds": 0.5},
                 "validation": {"minAccuracy": 0.85, "maxLoss": 0.4},
                 "drift": {"threshold": 0.3, "retrainCooldownSeconds": 3600},
                 "training": {"namespace": "training"},
                 "route": {"name": "fraud-detector", "namespace": "serving"}},
    }));
    let mut annotations = json!({"mlxp.io/step-since": stamp(step_since)});
    if failures > 0 {
        annotations["mlxp.io/analysis-failures"] = json!(failures.to_string());
    }
    for (version, stage, annotations) in [
        ("v1", "Production", json!({})),
        ("v2", "Canary", annotations),
    ] {
        s.model_versions.add_json(json!({
            "metadata": {"name": format!("fraud-detector-{version}"), "namespace": "serving",
                         "annotations": annotations},
            "spec": {"model": "fraud-detector", "version": version, "stage": stage},
        }));
        s.deployments.add_json(json!({
            "metadata": {"name": format!("fraud-detector-{version}"), "namespace": "serving"},
            "spec": {"replicas": 2}, "status": {"readyReplicas": 2},
        }));
    }
    s.routes.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"rules": [{"backendRefs": [
            {"name": "fraud-detector-v1", "weight": 80},
            {"name": "fraud-detector-v2", "weight": 20},
        ]}]},
    }));
    s
}

fn frame(rps: f64, error_ratio: f64, p99: f64) -> MetricsFrame {
    MetricsFrame {
        at: now(),
        gpus: Vec::new(),
        traffic: vec![VersionTraffic {
            model: "fraud-detector".into(),
            version: "v2".into(),
            rps,
            error_ratio,
            p50_seconds: Some(p99 / 4.0),
            p99_seconds: Some(p99),
        }],
        quality: Vec::new(),
    }
}

fn decide_with(
    snapshot: &Snapshot,
    frame: Result<&MetricsFrame, String>,
    sustained: &BTreeMap<(String, String), Sustained>,
) -> Vec<Decision> {
    let policy = Policy::default();
    decide(&Inputs {
        snapshot,
        numbers: Numbers {
            frame,
            sustained: Ok(sustained),
        },
        now: now(),
        policy: &policy,
        prices: &PriceTable::defaults(),
        idle_since: &IdleSince::default(),
    })
}

fn of<'a>(decisions: &'a [Decision], policy: &str) -> Vec<&'a Decision> {
    decisions.iter().filter(|d| d.policy == policy).collect()
}

fn only<'a>(decisions: &'a [Decision], policy: &str) -> &'a Decision {
    match of(decisions, policy).as_slice() {
        [one] => one,
        other => panic!("one {policy} decision, not {other:?}"),
    }
}

#[test]
fn a_passing_canary_waits_out_its_pause_then_steps() {
    let healthy = frame(40.0, 0.002, 0.08);
    let none = BTreeMap::new();
    let early = platform(now() - Span::seconds(200), 0);
    let d = decide_with(&early, Ok(&healthy), &none);
    let canary = only(&d, "canary");
    assert_eq!(canary.op, None);
    assert_eq!(
        canary.reason,
        "passes at 20 %: next step in 400 s (pause 600 s)"
    );

    let later = platform(now() - Span::seconds(601), 0);
    let d = decide_with(&later, Ok(&healthy), &none);
    let canary = only(&d, "canary");
    assert!(
        matches!(&canary.op, Some(Op::Promote { version, step: true, .. }) if version == "v2"),
        "{canary:?}"
    );
    assert_eq!(canary.figures["rps"], 40.0);
}

#[test]
fn a_failing_canary_is_counted_then_rolled_back_at_the_limit() {
    let bad = frame(40.0, 0.08, 0.9);
    let none = BTreeMap::new();
    let d = decide_with(&platform(now(), 0), Ok(&bad), &none);
    let first = only(&d, "canary");
    assert!(
        matches!(&first.op, Some(Op::RecordAnalysis { failures: 1, .. })),
        "{first:?}"
    );
    assert_eq!(
        first.reason,
        "failing (errors 8.0% > 1.0%, p99 900ms > 500ms): 1 of 2 before a rollback"
    );

    let d = decide_with(&platform(now(), 1), Ok(&bad), &none);
    let second = only(&d, "canary");
    assert!(
        matches!(&second.op, Some(Op::Rollback { reason, .. })
            if reason == "failing: errors 8.0% > 1.0%, p99 900ms > 500ms"),
        "{second:?}"
    );
    assert!(second.alert);

    // A pass after a failure starts the count again before anything moves on.
    let healthy = frame(40.0, 0.002, 0.08);
    let d = decide_with(&platform(now() - Span::hours(1), 1), Ok(&healthy), &none);
    assert!(matches!(
        &only(&d, "canary").op,
        Some(Op::RecordAnalysis { failures: 0, .. })
    ));
}

#[test]
fn a_canary_is_neither_stepped_nor_rolled_back_on_stale_or_thin_numbers() {
    let none = BTreeMap::new();
    let snapshot = platform(now() - Span::hours(1), 1);
    let mut old = frame(40.0, 0.08, 0.9);
    old.at = now() - Span::seconds(300);
    let d = decide_with(&snapshot, Ok(&old), &none);
    let held = only(&d, "canary");
    assert_eq!(held.op, None);
    assert_eq!(
        held.reason,
        "held: the metrics are 300 s old (at most 120 s); no step and no rollback"
    );
    assert!(held.alert);

    let d = decide_with(
        &snapshot,
        Err("metrics server unreachable: refused".into()),
        &none,
    );
    assert_eq!(only(&d, "canary").op, None);

    let thin = frame(0.1, 0.5, 2.0);
    let d = decide_with(&snapshot, Ok(&thin), &none);
    let canary = only(&d, "canary");
    assert_eq!(canary.op, None);
    assert!(
        canary.reason.contains("too little to tell"),
        "{}",
        canary.reason
    );
}

#[test]
fn nothing_is_decided_on_a_cluster_not_seen_whole() {
    let mut snapshot = platform(now() - Span::hours(1), 1);
    snapshot.routes.status.state = crate::source::SourceState::Failing;
    let bad = frame(40.0, 0.08, 0.9);
    let d = decide_with(&snapshot, Ok(&bad), &BTreeMap::new());
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].op, None);
    assert!(
        d[0].reason
            .starts_with("held: the cluster is not seen whole")
    );
}

fn add(kind: &mut crate::snapshot::Kind<impl serde::de::DeserializeOwned>, object: Value) {
    kind.add_json(object);
}

/// A finished run of fraud-detector, and its pod with the metrics it handed back.
fn run(snapshot: &mut Snapshot, run: u32, accuracy: f64) {
    let job = format!("train-fraud-detector-r{run}");
    add(
        &mut snapshot.jobs,
        json!({"metadata": {"name": job, "namespace": "training", "uid": format!("j{run}"),
                            "labels": {"mlxp.io/model": "fraud-detector"}},
               "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}),
    );
    add(
        &mut snapshot.pods,
        json!({"metadata": {"name": format!("{job}-abcde"), "namespace": "training",
                            "ownerReferences": [{"kind": "Job", "name": job, "uid": format!("j{run}"), "controller": true}]},
               "status": {"phase": "Succeeded", "containerStatuses": [{"name": "main", "state": {"terminated": {
                   "exitCode": 0, "message": json!({"accuracy": accuracy, "loss": 0.2}).to_string()}}}]}}),
    );
}

fn version(snapshot: &mut Snapshot, version: &str, stage: &str, annotations: Value) {
    add(
        &mut snapshot.model_versions,
        json!({"metadata": {"name": format!("fraud-detector-{version}"), "namespace": "serving",
                            "annotations": annotations},
               "spec": {"model": "fraud-detector", "version": version, "stage": stage,
                        "sourceJob": format!("train-fraud-detector-r{}", &version[1..]),
                        "metrics": {"accuracy": 0.9, "loss": 0.2}}}),
    );
}

#[test]
fn a_succeeded_run_is_registered_once_with_its_metrics() {
    let mut snapshot = platform(now(), 0);
    run(&mut snapshot, 12, 0.93);
    let d = decide_with(&snapshot, Ok(&frame(40.0, 0.0, 0.1)), &BTreeMap::new());
    let registered = of(&d, "pipeline");
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert!(
        matches!(&registered[0].op, Some(Op::Register { job, .. }) if job == "train-fraud-detector-r12")
    );
    assert_eq!(registered[0].figures["accuracy"], 0.93);

    version(&mut snapshot, "v12", "Registered", json!({}));
    let d = decide_with(&snapshot, Ok(&frame(40.0, 0.0, 0.1)), &BTreeMap::new());
    let next = of(&d, "pipeline");
    assert_eq!(next.len(), 1, "registered once, then validated: {next:?}");
    assert!(matches!(&next[0].op, Some(Op::Validate { version, .. }) if version == "v12"));
}

#[test]
fn a_validated_version_waits_for_the_canary_then_its_approval_then_is_deployed() {
    let mut snapshot = platform(now(), 0);
    version(&mut snapshot, "v12", "Validated", json!({}));
    let decide_now = |s: &Snapshot| decide_with(s, Ok(&frame(40.0, 0.0, 0.1)), &BTreeMap::new());
    let d = decide_now(&snapshot);
    assert_eq!(only(&d, "pipeline").reason, "v12 waits: v2 is in canary");

    // v2 promoted: v12 is next. With approval required, it waits for it.
    let mut promoted = Snapshot::synced_for_tests();
    promoted.models.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"canary": {"steps": [{"weight": 10}, {"weight": 100}], "requireApproval": true},
                 "serving": {"template": {"spec": {"containers": [{"name": "server", "image": "m"}]}}}},
    }));
    version(&mut promoted, "v2", "Production", json!({}));
    version(&mut promoted, "v12", "Validated", json!({}));
    let d = decide_now(&promoted);
    assert_eq!(
        only(&d, "pipeline").reason,
        "v12 waits for approval (mlxp approve fraud-detector v12)"
    );
    assert_eq!(only(&d, "pipeline").op, None);

    let mut approved = promoted.clone();
    version(
        &mut approved,
        "v12",
        "Validated",
        json!({"mlxp.io/approved-by": "ana"}),
    );
    let d = decide_now(&approved);
    assert!(
        matches!(&only(&d, "pipeline").op, Some(Op::Deploy { version, .. }) if version == "v12")
    );

    add(
        &mut approved.deployments,
        json!({"metadata": {"name": "fraud-detector-v12", "namespace": "serving"},
               "spec": {"replicas": 1}, "status": {"readyReplicas": 1}}),
    );
    let d = decide_now(&approved);
    assert!(
        matches!(&only(&d, "pipeline").op, Some(Op::StartCanary { version, .. }) if version == "v12")
    );
}

fn drifting(drift: f64) -> BTreeMap<(String, String), Sustained> {
    BTreeMap::from([(
        ("fraud-detector".to_string(), "v1".to_string()),
        Sustained {
            drift_min: Some(drift),
            accuracy_max: Some(0.9),
        },
    )])
}

#[test]
fn sustained_drift_retrains_once_per_cooldown_and_never_twice_at_once() {
    let healthy = frame(40.0, 0.002, 0.08);
    let snapshot = platform(now(), 0);
    assert!(
        of(
            &decide_with(&snapshot, Ok(&healthy), &drifting(0.2)),
            "drift"
        )
        .is_empty()
    );

    let d = decide_with(&snapshot, Ok(&healthy), &drifting(0.42));
    let drift = only(&d, "drift");
    assert!(
        matches!(&drift.op, Some(Op::Retrain { force: false, .. })),
        "{drift:?}"
    );
    assert_eq!(
        drift.reason,
        "drift above 0.3 for 600 s (at least 0.420): retrained"
    );

    let mut cooling = snapshot.clone();
    cooling.models.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"drift": {"threshold": 0.3, "retrainCooldownSeconds": 3600}},
        "status": {"lastRetrainTime": stamp(now() - Span::seconds(600))},
    }));
    let d = decide_with(&cooling, Ok(&healthy), &drifting(0.42));
    assert_eq!(only(&d, "drift").op, None);
    assert!(only(&d, "drift").reason.contains("cooldown 3600 s"));

    let mut running = snapshot.clone();
    add(
        &mut running.jobs,
        json!({"metadata": {"name": "train-fraud-detector-r13", "namespace": "training",
                            "labels": {"mlxp.io/model": "fraud-detector"}},
               "status": {"active": 1}}),
    );
    let d = decide_with(&running, Ok(&healthy), &drifting(0.42));
    assert_eq!(only(&d, "drift").op, None);
    assert!(
        only(&d, "drift")
            .reason
            .contains("train-fraud-detector-r13 is still running")
    );
}

/// What the policies decide on `snapshot` with no numbers to judge on, at `now()`.
fn without_numbers(snapshot: &Snapshot, policy: &Policy) -> Vec<Decision> {
    decide(&Inputs {
        snapshot,
        numbers: Numbers {
            frame: Err("none".into()),
            sustained: Err("none".into()),
        },
        now: now(),
        policy,
        prices: &PriceTable::defaults(),
        idle_since: &IdleSince::default(),
    })
}

fn gpu(node: &str, index: &str, pod: Option<&str>, util: f64) -> crate::metrics::GpuSample {
    crate::metrics::GpuSample {
        node: node.into(),
        gpu: index.into(),
        uuid: format!("{node}-{index}"),
        model_name: "NVIDIA H100 80GB HBM3".into(),
        util,
        fb_used_mib: 0.0,
        fb_free_mib: 0.0,
        power_watts: 0.0,
        pod: pod.map(|p| crate::metrics::PodRef {
            namespace: "training".into(),
            name: p.into(),
            container: "main".into(),
        }),
    }
}

#[test]
fn gpus_held_idle_for_a_while_are_an_alert_with_their_waste_and_suspend_when_asked() {
    let mut s = Snapshot::synced_for_tests();
    add(
        &mut s.pods,
        json!({"metadata": {"name": "train-a-r1-x", "namespace": "training",
                            "ownerReferences": [{"kind": "Job", "name": "train-a-r1", "uid": "j", "controller": true}]},
               "spec": {"nodeName": "gpu-1"}, "status": {"phase": "Running"}}),
    );
    let frame_at = |at: DateTime<Utc>, util: f64| MetricsFrame {
        at,
        gpus: vec![
            gpu("gpu-1", "0", Some("train-a-r1-x"), util),
            gpu("gpu-1", "1", Some("train-a-r1-x"), util),
        ],
        traffic: Vec::new(),
        quality: Vec::new(),
    };
    let mut idle = IdleSince::default();
    idle.observe(&frame_at(now() - Span::minutes(40), 1.0));
    let mut policy = Policy::default();
    let prices = PriceTable::defaults();
    let latest = frame_at(now(), 2.0);
    idle.observe(&latest);
    let inputs = |policy: &Policy, idle: &IdleSince| {
        decide(&Inputs {
            snapshot: &s,
            numbers: Numbers {
                frame: Ok(&latest),
                sustained: Err("none".into()),
            },
            now: now(),
            policy,
            prices: &prices,
            idle_since: idle,
        })
    };
    let d = inputs(&policy, &idle);
    let alert = only(&d, "gpu-cost");
    let per_gpu = prices.gpu_hourly(Some("NVIDIA H100 80GB HBM3"), false);
    assert_eq!(alert.figures["wasted_per_hour"], 2.0 * per_gpu);
    assert!(
        alert
            .reason
            .starts_with("2 GPU(s) held idle (under 5 %) for 40 min: $"),
        "{}",
        alert.reason
    );
    assert_eq!(alert.op, None);
    assert!(alert.alert);

    policy.suspend_idle = true;
    let d = inputs(&policy, &idle);
    assert!(
        matches!(&only(&d, "gpu-cost").op, Some(Op::SuspendJob { name, .. }) if name == "train-a-r1")
    );

    // One busy GPU: the pod is not idle, the clock starts again.
    let mut busy = idle.clone();
    busy.observe(&MetricsFrame {
        gpus: vec![
            gpu("gpu-1", "0", Some("train-a-r1-x"), 1.0),
            gpu("gpu-1", "1", Some("train-a-r1-x"), 80.0),
        ],
        ..latest.clone()
    });
    assert!(of(&inputs(&policy, &busy), "gpu-cost").is_empty());
}

#[test]
fn a_queue_near_its_quota_is_an_alert_and_empty_training_nodes_are_drained_outside_the_window() {
    let mut s = Snapshot::synced_for_tests();
    add(
        &mut s.cluster_queues,
        json!({"metadata": {"name": "training"},
               "spec": {"resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": [
                   {"name": "h100-spot", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 40}]}]}]},
               "status": {"flavorsUsage": [{"name": "h100-spot", "resources": [{"name": "nvidia.com/gpu", "total": 38}]}]}}),
    );
    for (node, pool) in [
        ("t-1", "training"),
        ("t-2", "training"),
        ("s-1", "serving-gpu"),
    ] {
        add(
            &mut s.nodes,
            json!({"metadata": {"name": node, "labels": {"mlxp.io/pool": pool}}}),
        );
    }
    add(
        &mut s.pods,
        json!({"metadata": {"name": "busy", "namespace": "training"}, "spec": {"nodeName": "t-2"}, "status": {"phase": "Running"}}),
    );
    add(
        &mut s.pods,
        json!({"metadata": {"name": "agent-x", "namespace": "kube-system",
                            "ownerReferences": [{"kind": "DaemonSet", "name": "agent", "uid": "d", "controller": true}]},
               "spec": {"nodeName": "t-1"}, "status": {"phase": "Running"}}),
    );
    let decide_at = |policy: &Policy| without_numbers(&s, policy);
    let mut policy = Policy::default();
    let d = decide_at(&policy);
    let quota = only(&d, "quota");
    assert_eq!(
        quota.reason,
        "h100-spot: 38 of 40 GPUs in use (95 %, alert at 90 %)"
    );
    assert!(
        of(&d, "gpu-cost").is_empty(),
        "no window set: nothing drained"
    );

    // 10:00 UTC is outside 20:00–08:00: t-1 runs only a DaemonSet's pod; t-2 is busy; the
    // serving node is never touched.
    policy.training_hours = Some((20, 8));
    let d = decide_at(&policy);
    let drained: Vec<&Op> = of(&d, "gpu-cost")
        .iter()
        .filter_map(|d| d.op.as_ref())
        .collect();
    assert_eq!(
        drained,
        [&Op::Drain {
            node: "t-1".into(),
            force: false
        }]
    );
    policy.training_hours = Some((8, 20));
    assert!(
        of(&decide_at(&policy), "gpu-cost").is_empty(),
        "inside the window"
    );
}

#[test]
fn listed_queues_are_held_in_their_hours_and_released_after_only_when_held() {
    let mut s = Snapshot::synced_for_tests();
    for (name, policy) in [("experiments", None), ("drained", Some("HoldAndDrain"))] {
        let mut spec = json!({});
        if let Some(policy) = policy {
            spec["stopPolicy"] = json!(policy);
        }
        add(
            &mut s.cluster_queues,
            json!({"metadata": {"name": name}, "spec": spec}),
        );
    }
    let decide_with_policy = without_numbers;
    let policy = Policy {
        hold_queues: vec!["experiments".into(), "drained".into()],
        // 10:00 UTC is in 09:00–18:00.
        hold_hours: Some((9, 18)),
        ..Policy::default()
    };
    let d = decide_with_policy(&s, &policy);
    let ops: Vec<&Op> = of(&d, "gpu-cost")
        .iter()
        .filter_map(|d| d.op.as_ref())
        .collect();
    assert_eq!(
        ops,
        [&Op::StopQueue {
            queue: crate::ops::Target {
                kind: crate::kinds::KindName::ClusterQueues,
                namespace: None,
                name: "experiments".into()
            },
            keep_running: true,
        }],
        "one held drained by someone is left as it is"
    );
    // Outside the hours: the one held (Hold) is released, the drained one is not touched.
    s.cluster_queues
        .add_json(json!({"metadata": {"name": "experiments"}, "spec": {"stopPolicy": "Hold"}}));
    let after = Policy {
        hold_hours: Some((18, 9)),
        ..policy
    };
    let d = decide_with_policy(&s, &after);
    let ops: Vec<&Op> = of(&d, "gpu-cost")
        .iter()
        .filter_map(|d| d.op.as_ref())
        .collect();
    assert!(
        matches!(ops.as_slice(), [Op::ResumeQueue { queue }] if queue.name == "experiments"),
        "{ops:?}"
    );
}

mod validation;
