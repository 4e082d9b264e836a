use serde_json::json;

use super::*;

/// Plans as the executor does, for a fixed user at a fixed time.
fn plan(op: &Op, snapshot: &Snapshot) -> Result<Plan, Refused> {
    super::plan(op, snapshot, &actor())
}

fn actor() -> Actor {
    Actor {
        user: "ana".into(),
        now: DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc),
    }
}

/// fraud-detector as the embedded cluster seeds it: v1 Production at 80, v2 Canary at 20,
/// both ready, canary steps 10 → 20 → 50 → 100; and two nodes, one cordoned.
fn platform() -> Snapshot {
    let mut s = Snapshot::default();
    s.models.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"canary": {"steps": [{"weight": 10}, {"weight": 20}, {"weight": 50}, {"weight": 100}]},
                 "route": {"name": "fraud-detector", "namespace": "serving"}},
    }));
    for (version, stage, ready) in [
        ("v1", "Production", 3),
        ("v2", "Canary", 1),
        ("v0", "Archived", 0),
    ] {
        s.model_versions.add_json(json!({
            "metadata": {"name": format!("fraud-detector-{version}"), "namespace": "serving"},
            "spec": {"model": "fraud-detector", "version": version, "stage": stage},
        }));
        s.deployments.add_json(json!({
            "metadata": {"name": format!("fraud-detector-{version}"), "namespace": "serving",
                         "labels": {"mlxp.io/version": version}},
            "spec": {"replicas": ready},
            "status": {"readyReplicas": ready},
        }));
    }
    s.routes.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"rules": [{"backendRefs": [
            {"name": "fraud-detector-v1", "weight": 80},
            {"name": "fraud-detector-v2", "weight": 20},
            {"name": "fraud-detector-v0", "weight": 0},
        ]}]},
    }));
    s.nodes.add_json(json!({"metadata": {"name": "gpu-1"}}));
    s.nodes
        .add_json(json!({"metadata": {"name": "gpu-2"}, "spec": {"unschedulable": true}}));
    s
}

fn set_weights(weights: &[(&str, i32)], force: bool) -> Op {
    Op::SetWeights {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        weights: weights.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
        force,
    }
}

fn step() -> Op {
    Op::StepCanary {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        force: false,
    }
}

fn refusal(op: &Op, snapshot: &Snapshot) -> String {
    plan(op, snapshot).expect_err("refused").to_string()
}

#[test]
fn weights_are_one_json_patch_naming_each_backend_it_changes() {
    let plan = plan(&set_weights(&[("v1", 50), ("v2", 50)], false), &platform()).expect("a plan");
    assert_eq!(
        plan.effect,
        "fraud-detector: v1 80→50 %, v2 20→50 %, v0 0 %"
    );
    assert_eq!(plan.reason, "CanaryWeightsSet");
    assert_eq!(plan.requests.len(), 1);
    let request = &plan.requests[0];
    assert_eq!(
        request.target.path(),
        "/apis/gateway.networking.k8s.io/v1/namespaces/serving/httproutes/fraud-detector"
    );
    assert_eq!(
        request.change,
        Change::JsonPatch(json!([
            {"op": "test", "path": "/spec/rules/0/backendRefs/0/name", "value": "fraud-detector-v1"},
            {"op": "add", "path": "/spec/rules/0/backendRefs/0/weight", "value": 50},
            {"op": "test", "path": "/spec/rules/0/backendRefs/1/name", "value": "fraud-detector-v2"},
            {"op": "add", "path": "/spec/rules/0/backendRefs/1/weight", "value": 50},
        ]))
    );
}

#[test]
fn weights_that_do_not_sum_to_100_or_name_no_version_are_refused() {
    let snapshot = platform();
    assert_eq!(
        refusal(&set_weights(&[("v2", 50)], false), &snapshot),
        "the weights would sum to 130, not 100 (v1 80 + v2 50 + v0 0)"
    );
    assert_eq!(
        refusal(&set_weights(&[("v9", 0)], false), &snapshot),
        "fraud-detector has no version v9 on HTTPRoute serving/fraud-detector; its versions: v1, v2, v0"
    );
    assert_eq!(
        refusal(&set_weights(&[("v1", 120), ("v2", -20)], false), &snapshot),
        "v1=120: a weight is 0 to 100"
    );
    assert_eq!(
        refusal(&set_weights(&[("v1", 50), ("v1", 50)], false), &snapshot),
        "v1 is given twice"
    );
}

#[test]
fn weight_to_a_version_with_no_ready_replica_needs_force() {
    let snapshot = platform();
    let to_v0 = [("v1", 70), ("v2", 20), ("v0", 10)];
    assert_eq!(
        refusal(&set_weights(&to_v0, false), &snapshot),
        "v0 has no ready replica: traffic sent to it would fail (force to send it anyway)"
    );
    assert!(plan(&set_weights(&to_v0, true), &snapshot).is_ok());
    // Taking weight away from a version with no ready replica is always allowed.
    let mut unready = snapshot.clone();
    unready.deployments.add_json(json!({
        "metadata": {"name": "fraud-detector-v2", "namespace": "serving"},
        "status": {"readyReplicas": 0},
    }));
    assert!(plan(&set_weights(&[("v1", 90), ("v2", 10)], false), &unready).is_ok());
}

#[test]
fn weights_already_set_plan_no_request() {
    let plan = plan(&set_weights(&[("v1", 80)], false), &platform()).expect("a plan");
    assert!(plan.requests.is_empty());
    assert_eq!(
        plan.effect,
        "fraud-detector: v1 80 %, v2 20 %, v0 0 % (already so)"
    );
}

#[test]
fn a_step_moves_the_canary_to_its_next_step_and_production_takes_the_rest() {
    let mut snapshot = platform();
    let plan_of = |s: &Snapshot| plan(&step(), s).expect("a plan");
    let first = plan_of(&snapshot);
    assert_eq!(
        first.effect,
        "fraud-detector: v1 80→50 %, v2 20→50 %, v0 0 % (canary step 3 of 4)"
    );
    // At the last step there is nothing left to step to.
    snapshot.routes.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"rules": [{"backendRefs": [
            {"name": "fraud-detector-v1", "weight": 0},
            {"name": "fraud-detector-v2", "weight": 100},
        ]}]},
    }));
    assert_eq!(
        refusal(&step(), &snapshot),
        "canary v2 is at 100 %, past its last step (100 %): promote it or roll it back"
    );
}

#[test]
fn a_step_without_a_canary_is_refused() {
    let mut snapshot = platform();
    snapshot.model_versions.add_json(json!({
        "metadata": {"name": "fraud-detector-v2", "namespace": "serving"},
        "spec": {"model": "fraud-detector", "version": "v2", "stage": "Archived"},
    }));
    assert_eq!(
        refusal(&step(), &snapshot),
        "fraud-detector has no Canary version (a ModelVersion in stage Canary)"
    );
    assert_eq!(
        refusal(
            &Op::StepCanary {
                namespace: "serving".into(),
                model: "nope".into(),
                force: false
            },
            &snapshot
        ),
        "no model nope in serving"
    );
}

#[test]
fn cordon_patches_the_node_once_and_uncordon_removes_the_field() {
    let snapshot = platform();
    let cordon = plan(
        &Op::Cordon {
            node: "gpu-1".into(),
        },
        &snapshot,
    )
    .expect("a plan");
    assert_eq!(cordon.requests[0].target.path(), "/api/v1/nodes/gpu-1");
    assert_eq!(
        cordon.requests[0].change,
        Change::MergePatch(json!({"spec": {"unschedulable": true}}))
    );
    let again = plan(
        &Op::Cordon {
            node: "gpu-2".into(),
        },
        &snapshot,
    )
    .expect("a plan");
    assert!(again.requests.is_empty());
    assert_eq!(again.effect, "node gpu-2 is already cordoned");
    let uncordon = plan(
        &Op::Uncordon {
            node: "gpu-2".into(),
        },
        &snapshot,
    )
    .expect("a plan");
    assert_eq!(
        uncordon.requests[0].change,
        Change::MergePatch(json!({"spec": {"unschedulable": null}}))
    );
    assert_eq!(
        refusal(
            &Op::Cordon {
                node: "gpu-9".into()
            },
            &snapshot
        ),
        "no node gpu-9"
    );
}

#[test]
fn the_event_names_its_object_and_goes_to_default_for_a_node() {
    let target = Target {
        kind: KindName::Nodes,
        namespace: None,
        name: "gpu-1".into(),
    };
    let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .expect("a time")
        .with_timezone(&Utc);
    let event = event(&target, "uid-1", "NodeCordoned", "node gpu-1 cordoned", now);
    assert_eq!(event["metadata"]["namespace"], "default");
    assert_eq!(
        event["involvedObject"],
        json!({"apiVersion": "v1", "kind": "Node", "name": "gpu-1", "uid": "uid-1"})
    );
    assert_eq!(event["lastTimestamp"], "2026-12-07T10:00:00Z");
    assert_eq!(event["reportingComponent"], "mlxp");
}

fn paths(plan: &Plan) -> Vec<String> {
    plan.requests.iter().map(Request::path).collect()
}

#[test]
fn promote_moves_all_traffic_archives_the_old_production_and_scales_it_down() {
    let op = Op::Promote {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        version: "v2".into(),
        force: false,
        step: false,
    };
    let plan = plan(&op, &platform()).expect("a plan");
    assert_eq!(
        plan.effect,
        "fraud-detector v2 promoted: v1 80→0 %, v2 20→100 %, v0 0 %; v1 archived; \
         fraud-detector-v1 scaled to 0"
    );
    let mlxp = "/apis/mlxp.io/v1alpha1/namespaces/serving";
    assert_eq!(
        paths(&plan),
        [
            "/apis/gateway.networking.k8s.io/v1/namespaces/serving/httproutes/fraud-detector"
                .to_string(),
            format!("{mlxp}/modelversions/fraud-detector-v2"),
            format!("{mlxp}/modelversions/fraud-detector-v1"),
            "/apis/apps/v1/namespaces/serving/deployments/fraud-detector-v1".to_string(),
            format!("{mlxp}/models/fraud-detector/status"),
        ]
    );
    assert_eq!(
        plan.requests[1].change,
        Change::MergePatch(json!({"spec": {"stage": "Production"}}))
    );
    assert_eq!(
        plan.requests[2].change,
        Change::MergePatch(json!({"spec": {"stage": "Archived"}}))
    );
    assert_eq!(
        plan.requests[4].change,
        Change::MergePatch(json!({"status": {"productionVersion": "v2", "canaryVersion": null}}))
    );
    assert_eq!(plan.reason, "ModelPromoted");
    assert_eq!(plan.target.kind, KindName::Models);
}

#[test]
fn a_rejected_or_unknown_version_is_not_promoted() {
    let mut snapshot = platform();
    snapshot.model_versions.add_json(json!({
        "metadata": {"name": "fraud-detector-v2", "namespace": "serving"},
        "spec": {"model": "fraud-detector", "version": "v2", "stage": "Rejected"},
    }));
    let promote = |version: &str| Op::Promote {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        version: version.into(),
        force: false,
        step: false,
    };
    assert_eq!(
        refusal(&promote("v2"), &snapshot),
        "fraud-detector v2 was rejected: promote another version"
    );
    assert_eq!(
        refusal(&promote("v9"), &snapshot),
        "fraud-detector has no version v9 (no ModelVersion of it in serving)"
    );
    // v0 has no ready replica: all traffic to it would fail.
    assert_eq!(
        refusal(&promote("v0"), &snapshot),
        "v0 has no ready replica: traffic sent to it would fail (force to send it anyway)"
    );
}

#[test]
fn rollback_gives_the_stable_version_all_traffic_and_rejects_the_canary() {
    let op = Op::Rollback {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        reason: "errors 8.0% > 1.0%".into(),
    };
    let plan = plan(&op, &platform()).expect("a plan");
    assert_eq!(
        plan.effect,
        "fraud-detector rolled back to v1: v1 80→100 %, v2 20→0 %, v0 0 %; v2 rejected \
         (errors 8.0% > 1.0%), scaled to 0"
    );
    assert_eq!(
        plan.requests[1].change,
        Change::MergePatch(json!({
            "metadata": {"annotations": {"mlxp.io/rejected-reason": "errors 8.0% > 1.0%"}},
            "spec": {"stage": "Rejected"},
        }))
    );
    assert_eq!(
        plan.requests[2].target.name, "fraud-detector-v2",
        "the canary's Deployment scaled down"
    );
    assert_eq!(plan.reason, "ModelRolledBack");
    // Without a canary, and nothing Archived to go back to, there is nothing to do.
    let mut no_canary = platform();
    for (name, version) in [("fraud-detector-v2", "v2"), ("fraud-detector-v0", "v0")] {
        no_canary.model_versions.add_json(json!({
            "metadata": {"name": name, "namespace": "serving"},
            "spec": {"model": "fraud-detector", "version": version, "stage": "Rejected"},
        }));
    }
    assert_eq!(
        refusal(&op, &no_canary),
        "fraud-detector has no canary to roll back, and no Archived version on its route that \
         is still deployed or can be deployed again (spec.serving.template) to roll v1 back to"
    );
}

fn gate(op: &str, version: &str) -> Op {
    let (namespace, model, version) = ("serving".into(), "fraud-detector".into(), version.into());
    match op {
        "approve" => Op::Approve {
            namespace,
            model,
            version,
        },
        _ => Op::Reject {
            namespace,
            model,
            version,
            reason: "accuracy under the floor".into(),
        },
    }
}

#[test]
fn approval_records_who_and_when_once() {
    let first = plan(&gate("approve", "v2"), &platform()).expect("a plan");
    assert_eq!(first.effect, "fraud-detector v2 approved by ana");
    assert_eq!(first.reason, "VersionApproved");
    assert_eq!(
        first.requests[0].change,
        Change::MergePatch(json!({"metadata": {"annotations": {
            "mlxp.io/approved-by": "ana",
            "mlxp.io/approved-at": "2026-12-07T10:00:00Z",
        }}}))
    );
    let mut approved = platform();
    approved.model_versions.add_json(json!({
        "metadata": {"name": "fraud-detector-v2", "namespace": "serving",
                     "annotations": {"mlxp.io/approved-by": "bo"}},
        "spec": {"model": "fraud-detector", "version": "v2", "stage": "Canary"},
    }));
    let again = plan(&gate("approve", "v2"), &approved).expect("a plan");
    assert!(again.requests.is_empty());
    assert_eq!(again.effect, "fraud-detector v2 is already approved by bo");
}

#[test]
fn a_version_taking_traffic_is_not_rejected_and_an_idle_one_is() {
    assert_eq!(
        refusal(&gate("reject", "v2"), &platform()),
        "fraud-detector v2 takes 20 % of the traffic: roll it back (or set its weight to 0) first"
    );
    let rejected = plan(&gate("reject", "v0"), &platform()).expect("a plan");
    assert_eq!(
        rejected.effect,
        "fraud-detector v0 rejected by ana (accuracy under the floor)"
    );
    assert_eq!(
        rejected.requests[0].change.body()["spec"]["stage"],
        "Rejected"
    );
    assert_eq!(rejected.reason, "VersionRejected");
}

fn serving_op(what: &str, version: &str, (min, max): (i32, i32)) -> Op {
    let (namespace, model, version) = ("serving".into(), "fraud-detector".into(), version.into());
    match what {
        "restart" => Op::RestartVersion {
            namespace,
            model,
            version,
        },
        _ => Op::ScaleVersion {
            namespace,
            model,
            version,
            min,
            max,
        },
    }
}

#[test]
fn a_restart_stamps_the_template_as_kubectl_rollout_restart_does() {
    let restart = plan(&serving_op("restart", "v1", (0, 0)), &platform()).expect("a plan");
    assert_eq!(
        restart.effect,
        "fraud-detector v1: fraud-detector-v1 restarted, its 3 replicas replaced one by one"
    );
    assert_eq!(
        restart.requests[0].change,
        Change::MergePatch(json!({"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": "2026-12-07T10:00:00Z",
        }}}}}))
    );
    assert_eq!(
        refusal(&serving_op("restart", "v0", (0, 0)), &platform()),
        "fraud-detector-v0 is scaled to zero: there is nothing to restart"
    );
}

#[test]
fn scaling_bounds_the_autoscaler_or_sets_a_count_without_one() {
    let mut snapshot = platform();
    // No autoscaler: one number sets the Deployment's replicas, two are refused.
    let count = plan(&serving_op("scale", "v1", (5, 5)), &snapshot).expect("a plan");
    assert_eq!(count.effect, "fraud-detector v1: replicas 3→5");
    assert_eq!(count.requests[0].target.kind, KindName::Deployments);
    assert_eq!(
        refusal(&serving_op("scale", "v1", (2, 6)), &snapshot),
        "fraud-detector-v1 has no autoscaler to give bounds to: give one number (--min 6 --max 6)"
    );
    assert!(refusal(&serving_op("scale", "v1", (0, 6)), &snapshot).starts_with("replicas 0 to 6"));
    snapshot.hpas.add_json(json!({
        "metadata": {"name": "fraud-detector-v1", "namespace": "serving"},
        "spec": {"scaleTargetRef": {"name": "fraud-detector-v1"}, "minReplicas": 1, "maxReplicas": 6},
    }));
    let bounds = plan(&serving_op("scale", "v1", (2, 8)), &snapshot).expect("a plan");
    assert_eq!(bounds.effect, "fraud-detector v1: replicas 1–6→2–8");
    assert_eq!(
        bounds.requests[0].change,
        Change::MergePatch(json!({"spec": {"minReplicas": 2, "maxReplicas": 8}}))
    );
    assert_eq!(
        bounds.requests[0].target.path(),
        "/apis/autoscaling/v2/namespaces/serving/horizontalpodautoscalers/fraud-detector-v1"
    );
}

/// fraud-detector with a training spec, and its Jobs: `runs` of (name, finished).
fn training(runs: &[(&str, bool)]) -> Snapshot {
    let mut s = platform();
    s.models.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"training": {"namespace": "training", "queueName": "training", "gpus": 8,
                              "ttlSecondsAfterFinished": 3600,
                              "template": {"spec": {"containers": [{"name": "trainer", "image": "t:1"}]}}},
                 "route": {"name": "fraud-detector", "namespace": "serving"}},
    }));
    s.local_queues.add_json(
        json!({"metadata": {"name": "training", "namespace": "training"},
                                   "spec": {"clusterQueue": "gpu"}}),
    );
    for (pool, spot) in [("training", true), ("training-ondemand", false)] {
        let mut labels = json!({"mlxp.io/pool": pool, "nvidia.com/gpu.product": "H100"});
        if spot {
            labels["cloud.google.com/gke-spot"] = json!("true");
        }
        s.nodes.add_json(json!({
            "metadata": {"name": format!("{pool}-0"), "labels": labels},
            "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]},
            "status": {"capacity": {"nvidia.com/gpu": "8"}, "allocatable": {"nvidia.com/gpu": "8"}},
        }));
    }
    for (name, finished) in runs {
        let conditions = if *finished {
            json!([{"type": "Complete", "status": "True"}])
        } else {
            json!([])
        };
        s.jobs.add_json(json!({
            "metadata": {"name": name, "namespace": "training",
                         "labels": {"mlxp.io/model": "fraud-detector"}},
            "status": {"conditions": conditions},
        }));
    }
    s
}

fn retrain(force: bool) -> Op {
    Op::Retrain {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        force,
    }
}

#[test]
fn a_retrain_creates_the_next_run_from_the_models_training_spec() {
    let done = training(&[
        ("train-fraud-detector-r11", true),
        ("train-fraud-detector-r9", true),
    ]);
    let plan = plan(&retrain(false), &done).expect("a plan");
    assert_eq!(
        plan.effect,
        "fraud-detector: training Job training/train-fraud-detector-r12 (8 GPUs a pod, queue training)"
    );
    assert_eq!(
        plan.requests[0].path(),
        "/apis/batch/v1/namespaces/training/jobs"
    );
    let Change::Create(job) = &plan.requests[0].change else {
        panic!("a create: {:?}", plan.requests[0].change);
    };
    assert_eq!(job["metadata"]["name"], "train-fraud-detector-r12");
    assert_eq!(
        job["metadata"]["labels"],
        json!({"mlxp.io/model": "fraud-detector", "mlxp.io/run": "r12",
               "kueue.x-k8s.io/queue-name": "training"})
    );
    let pod = &job["spec"]["template"];
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"],
        "8"
    );
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);
    assert_eq!(
        plan.requests[1].change,
        Change::MergePatch(
            json!({"status": {"lastTrainingJob": "train-fraud-detector-r12",
                                             "lastRetrainTime": "2026-12-07T10:00:00Z"}})
        )
    );
    assert_eq!(plan.reason, "RetrainTriggered");
}

#[test]
fn a_retrain_while_one_runs_needs_force_and_a_model_without_a_template_is_refused() {
    let running = training(&[("train-fraud-detector-r12", false)]);
    assert_eq!(
        refusal(&retrain(false), &running),
        "fraud-detector is already training (train-fraud-detector-r12): retrain it when that \
         ends, or force it"
    );
    let forced = plan(&retrain(true), &running).expect("a plan");
    assert!(
        forced.effect.contains("train-fraud-detector-r13"),
        "{}",
        forced.effect
    );
    assert_eq!(
        refusal(&retrain(false), &platform()),
        "fraud-detector has no training template (spec.training.template with containers)"
    );
}

fn train(overrides: Overrides) -> Op {
    Op::Train {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        overrides,
        job: None,
    }
}

#[test]
fn a_train_lays_the_overrides_over_the_models_template() {
    let s = training(&[("train-fraud-detector-r3", false)]);
    let overrides = Overrides {
        gpus: Some(4),
        pool: Some("training-ondemand".into()),
        capacity: Some(Capacity::OnDemand),
        image: Some("t:2".into()),
        env: vec![("LR".into(), "0.01".into())],
        dataset: Some("gs://d/v7".into()),
        ..Overrides::default()
    };
    // A run already active does not stop a Train (only a Retrain waits).
    let p = plan(&train(overrides), &s).expect("planned");
    assert_eq!(p.reason, "TrainingLaunched");
    let job = p.requests[0].change.body();
    assert_eq!(job["metadata"]["name"], "train-fraud-detector-r4");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        pod["nodeSelector"],
        json!({"mlxp.io/pool": "training-ondemand"})
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    );
    assert_eq!(
        pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchExpressions"][0]["operator"],
        "NotIn"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "t:2");
    assert_eq!(c["resources"]["limits"]["nvidia.com/gpu"], "4");
    assert_eq!(
        c["env"],
        json!([{"name": "LR", "value": "0.01"}, {"name": "DATASET_URI", "value": "gs://d/v7"}])
    );
    assert_eq!(
        job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"],
        "training"
    );
    assert_eq!(
        p.requests[1].change.body(),
        &json!({"status": {"lastTrainingJob": "train-fraud-detector-r4"}})
    );
}

#[test]
fn overrides_the_cluster_cannot_meet_are_refused_field_by_field() {
    let s = training(&[]);
    let check = |o: Overrides| check_overrides(&s, "serving", "fraud-detector", &o);
    assert_eq!(
        check(Overrides {
            gpus: Some(0),
            ..Overrides::default()
        }),
        [("gpus", "0 GPUs: a run needs at least 1".to_string())]
    );
    assert_eq!(
        check(Overrides {
            gpus: Some(16),
            pool: Some("training".into()),
            ..Overrides::default()
        }),
        [(
            "gpus",
            "16 GPUs a pod: the largest node there holds 8".to_string()
        )]
    );
    assert_eq!(
        check(Overrides {
            pool: Some("nope".into()),
            queue: Some("other".into()),
            ..Overrides::default()
        }),
        [
            ("pool", "no node pool nope".to_string()),
            ("queue", "no LocalQueue other in training".to_string())
        ]
    );
    assert_eq!(
        check(Overrides {
            pool: Some("training".into()),
            capacity: Some(Capacity::OnDemand),
            env: vec![("1X".into(), "y".into())],
            ..Overrides::default()
        })
        .iter()
        .map(|(f, _)| *f)
        .collect::<Vec<_>>(),
        ["pool", "env"]
    );
    assert_eq!(
        check_overrides(&s, "serving", "nope", &Overrides::default()),
        [("model", "no model nope in serving".to_string())]
    );
    let refused = plan(
        &train(Overrides {
            gpus: Some(0),
            ..Overrides::default()
        }),
        &s,
    )
    .expect_err("refused");
    assert_eq!(refused.to_string(), "0 GPUs: a run needs at least 1");
}

#[test]
fn promote_step_by_step_walks_the_canary_steps_then_promotes() {
    let promote = |version: &str| Op::Promote {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        version: version.into(),
        force: false,
        step: true,
    };
    let s = platform();
    // v2 at 20: the next step is 50.
    let p = plan(&promote("v2"), &s).expect("planned");
    assert_eq!(
        p.effect,
        "fraud-detector: v1 80→50 %, v2 20→50 %, v0 0 % (canary step 3 of 4) — promoting step by \
         step"
    );
    assert_eq!(p.reason, "CanaryWeightsSet");
    // At 50 the next step is the last (100): promoted.
    let mut at_50 = s.clone();
    at_50.routes.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"rules": [{"backendRefs": [
            {"name": "fraud-detector-v1", "weight": 50},
            {"name": "fraud-detector-v2", "weight": 50},
            {"name": "fraud-detector-v0", "weight": 0},
        ]}]},
    }));
    let p = plan(&promote("v2"), &at_50).expect("planned");
    assert_eq!(p.reason, "ModelPromoted");
    assert!(
        p.effect.starts_with("fraud-detector v2 promoted: "),
        "{}",
        p.effect
    );
    let refused = plan(&promote("v1"), &s).expect_err("refused").to_string();
    assert_eq!(
        refused,
        "fraud-detector v1 is Production, not the canary: only a canary is promoted step by step"
    );
}

#[test]
fn rollback_with_no_canary_scales_the_archived_version_up_then_moves_traffic_to_it() {
    let mut s = platform();
    // No canary: v2 was rejected earlier; v0 is archived, deployed at 0, on the route.
    s.model_versions.add_json(json!({
        "metadata": {"name": "fraud-detector-v2", "namespace": "serving"},
        "spec": {"model": "fraud-detector", "version": "v2", "stage": "Rejected"},
    }));
    let rollback = Op::Rollback {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        reason: "v1 errors".into(),
    };
    let first = plan(&rollback, &s).expect("planned");
    assert_eq!(first.reason, SCALED_UP_FOR_ROLLBACK);
    assert_eq!(
        first.effect,
        "fraud-detector: v0 scaled up to 3 first (it has no ready replica); the traffic moves to \
         it once it is Ready"
    );
    assert_eq!(
        first.requests[0].change.body(),
        &json!({"spec": {"replicas": 3}})
    );
    s.deployments.add_json(json!({
        "metadata": {"name": "fraud-detector-v0", "namespace": "serving",
                     "labels": {"mlxp.io/version": "v0"}},
        "spec": {"replicas": 3},
        "status": {"readyReplicas": 3},
    }));
    let then = plan(&rollback, &s).expect("planned");
    assert_eq!(then.reason, "ModelRolledBack");
    assert!(
        then.effect
            .starts_with("fraud-detector rolled back to v0: v1 80→0 %, v2 20→0 %, v0 0→100 %"),
        "{}",
        then.effect
    );
    assert!(
        then.effect
            .ends_with("v1 rejected (v1 errors), scaled to 0"),
        "{}",
        then.effect
    );
}

#[test]
fn an_edited_run_is_sent_as_edited_but_keeps_the_runs_name() {
    let s = training(&[]);
    let made = plan(&train(Overrides::default()), &s).expect("planned");
    let mut edited = made.requests[0].change.body().clone();
    edited["spec"]["backoffLimit"] = json!(0);
    let op = |job: serde_json::Value| Op::Train {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        overrides: Overrides::default(),
        job: Some(job),
    };
    let p = plan(&op(edited.clone()), &s).expect("planned");
    assert_eq!(p.requests[0].change.body()["spec"]["backoffLimit"], 0);
    edited["metadata"]["name"] = json!("my-run");
    assert_eq!(
        plan(&op(edited), &s).expect_err("refused").to_string(),
        "the edited run must stay Job training/train-fraud-detector-r1: its name is the model's next run"
    );
}

#[test]
fn a_retrain_runs_on_spot_where_its_queue_has_spot_quota_free_for_it() {
    let with_queue = |spot_used: i64| {
        let mut s = training(&[("train-fraud-detector-r11", true)]);
        s.cluster_queues.add_json(json!({
            "metadata": {"name": "gpu"},
            "spec": {"resourceGroups": [{"flavors": [
                {"name": "h100-ondemand", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": "16"}]},
                {"name": "h100-spot", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": "16"}]}]}]},
            "status": {"flavorsUsage": [{"name": "h100-spot", "resources": [
                {"name": "nvidia.com/gpu", "total": spot_used.to_string()}]}]},
        }));
        for (flavor, labels) in [
            (
                "h100-ondemand",
                json!({"mlxp.io/pool": "training-ondemand"}),
            ),
            (
                "h100-spot",
                json!({"mlxp.io/pool": "training", "cloud.google.com/gke-spot": "true"}),
            ),
        ] {
            s.resource_flavors
                .add_json(json!({"metadata": {"name": flavor}, "spec": {"nodeLabels": labels}}));
        }
        s
    };
    let selector = |plan: &Plan| match &plan.requests[0].change {
        Change::Create(job) => job["spec"]["template"]["spec"]["nodeSelector"].clone(),
        other => panic!("a create: {other:?}"),
    };
    // The spot flavor listed second still wins while it has the run's 8 GPUs free.
    let room = plan(&retrain(false), &with_queue(4)).expect("a plan");
    assert_eq!(selector(&room)["cloud.google.com/gke-spot"], "true");
    assert!(
        room.effect
            .ends_with(", on spot: flavor h100-spot has 12 GPUs free"),
        "{}",
        room.effect
    );
    // Without room on spot (or a flavor known to be spot), Kueue chooses as it would.
    let full = plan(&retrain(false), &with_queue(12)).expect("a plan");
    assert!(selector(&full)["cloud.google.com/gke-spot"].is_null());
    assert!(!full.effect.contains("spot"), "{}", full.effect);
    // A person's Train is launched as asked.
    let asked = plan(&train(Overrides::default()), &with_queue(0)).expect("a plan");
    assert!(selector(&asked)["cloud.google.com/gke-spot"].is_null());
}
