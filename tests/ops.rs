//! Operations against the embedded cluster, as a script runs them (`mlxp canary …`, `mlxp
//! node …`) and through the executor itself: the result read back through kube, nothing
//! changed by a dry-run, a refusal or a read-only token, an Event and an audit line for each.

mod common;

use std::time::Duration;

use common::ops::{audit_lines, events_with_reason, platform, routes, text};

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use mlxp::cluster::snapshot_once;
use mlxp::exec::{ExecError, Executor, Mode};
use mlxp_core::ops::Op;
use mlxp_sim::Sim;
use serde_json::{Value, json};

/// What a test checks of a route: each backend's weight, by name.
fn weights(route: &DynamicObject) -> Vec<(String, i64)> {
    route.data["spec"]["rules"][0]["backendRefs"]
        .as_array()
        .expect("backendRefs")
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap_or("").to_string(),
                b["weight"].as_i64().unwrap_or(1),
            )
        })
        .collect()
}

async fn first_node(sim: &Sim) -> String {
    let client = sim.client(false).await.expect("client");
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client);
    nodes
        .list(&ListParams::default())
        .await
        .expect("nodes")
        .items[0]
        .metadata
        .name
        .clone()
        .expect("a name")
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(n, w)| (n.to_string(), *w)).collect()
}

#[tokio::test]
async fn canary_set_moves_the_weights_and_records_an_event_and_an_audit_line() {
    let p = platform().await;
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v1", 80), ("fraud-detector-v2", 20)])
    );
    let out = p
        .mlxp(&["canary", "set", "fraud-detector", "v1=50", "v2=50"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "fraud-detector: v1 80→50 %, v2 20→50 %\n"
    );
    let now = weights(&p.route().await);
    assert_eq!(
        now,
        pairs(&[("fraud-detector-v1", 50), ("fraud-detector-v2", 50)])
    );
    assert_eq!(now.iter().map(|(_, w)| w).sum::<i64>(), 100);
    let events = events_with_reason(&p.sim, "CanaryWeightsSet").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["involvedObject"]["kind"], "HTTPRoute");
    assert_eq!(events[0]["involvedObject"]["name"], "fraud-detector");
    assert_eq!(
        events[0]["message"],
        "fraud-detector: v1 80→50 %, v2 20→50 % (by mlxp-admin with mlxp)"
    );
    let audit = audit_lines(&p.audit_path());
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].result, "done");
    assert_eq!(audit[0].user, "mlxp-admin");
    assert_eq!(audit[0].context, "mlxp-sim");
    assert!(!audit[0].dry_run);
    assert_eq!(audit[0].op["op"], "set-weights");

    // The same again changes nothing and records no second Event.
    let version = p.route().await.metadata.resource_version;
    let again = p
        .mlxp(&["canary", "set", "fraud-detector", "v1=50", "v2=50"])
        .await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("(already so)"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(p.route().await.metadata.resource_version, version);
    assert_eq!(
        events_with_reason(&p.sim, "CanaryWeightsSet").await.len(),
        1
    );
}

#[tokio::test]
async fn a_dry_run_prints_the_servers_diff_and_changes_nothing() {
    let p = platform().await;
    let before = p.route().await;
    let out = p
        .mlxp(&[
            "canary",
            "set",
            "fraud-detector",
            "v1=0",
            "v2=100",
            "--dry-run",
        ])
        .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.starts_with("fraud-detector: v1 80→0 %, v2 20→100 % (dry run: nothing changed)\n"),
        "{stdout}"
    );
    for line in [
        "-      weight: 80",
        "+      weight: 0",
        "-      weight: 20",
        "+      weight: 100",
    ] {
        assert!(
            stdout.lines().any(|l| l.trim_end() == line),
            "{line:?} in:\n{stdout}"
        );
    }
    let after = p.route().await;
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
    assert_eq!(weights(&after), weights(&before));
    assert!(
        events_with_reason(&p.sim, "CanaryWeightsSet")
            .await
            .is_empty()
    );
    let audit = audit_lines(&p.audit_path());
    assert!(audit[0].dry_run && audit[0].result == "done", "{audit:?}");
}

#[tokio::test]
async fn weights_that_cannot_hold_are_refused_with_exit_3_and_nothing_changes() {
    let p = platform().await;
    let before = p.route().await.metadata.resource_version;
    for (args, says) in [
        (
            vec!["v2=50"],
            "the weights would sum to 130, not 100 (v1 80 + v2 50)",
        ),
        (
            vec!["v1=50", "v9=50"],
            "fraud-detector has no version v9 on HTTPRoute serving/fraud-detector; its versions: v1, v2",
        ),
    ] {
        let mut all = vec!["canary", "set", "fraud-detector"];
        all.extend(args);
        let out = p.mlxp(&all).await;
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), format!("mlxp: {says}\n"));
    }
    assert_eq!(p.route().await.metadata.resource_version, before);
    let audit = audit_lines(&p.audit_path());
    assert_eq!(audit.len(), 2);
    assert!(
        audit.iter().all(|l| l.result.starts_with("refused: ")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn the_read_only_token_is_refused_with_exit_4_and_nothing_changes() {
    let p = platform().await;
    let before = p.route().await.metadata.resource_version;
    let out = p
        .mlxp(&[
            "canary",
            "set",
            "fraud-detector",
            "v1=50",
            "v2=50",
            "--context",
            "mlxp-sim-readonly",
        ])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "mlxp: forbidden: mlxp-readonly may not patch httproutes.gateway.networking.k8s.io \
         (httproute serving/fraud-detector): mlxp-readonly is read-only\n"
    );
    assert_eq!(p.route().await.metadata.resource_version, before);
    assert!(
        events_with_reason(&p.sim, "CanaryWeightsSet")
            .await
            .is_empty()
    );
    let node = first_node(&p.sim).await;
    let out = p
        .mlxp(&["node", "cordon", &node, "--context", "mlxp-sim-readonly"])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    // --readonly refuses before reaching the cluster, whatever the token may do.
    let out = p.mlxp(&["--readonly", "node", "cordon", &node]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "mlxp: --readonly: mlxp node changes the cluster; nothing was sent\n"
    );
    assert!(events_with_reason(&p.sim, "NodeCordoned").await.is_empty());
}

#[tokio::test]
async fn canary_step_walks_the_models_steps_then_says_to_promote() {
    let p = platform().await;
    let out = p
        .mlxp(&["canary", "step", "fraud-detector", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        outcome["effect"],
        "fraud-detector: v1 80→50 %, v2 20→50 % (canary step 3 of 4)"
    );
    assert_eq!(outcome["mode"], "apply");
    let out = p.mlxp(&["canary", "step", "fraud-detector"]).await;
    assert_eq!(
        text(&out.stdout),
        "fraud-detector: v1 50→0 %, v2 50→100 % (canary step 4 of 4)\n"
    );
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v1", 0), ("fraud-detector-v2", 100)])
    );
    let out = p.mlxp(&["canary", "step", "fraud-detector"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out.stderr),
        "mlxp: canary v2 is at 100 %, past its last step (100 %): promote it or roll it back\n"
    );
}

#[tokio::test]
async fn promote_step_by_step_moves_the_canary_then_promotes_it_at_the_last_step() {
    let p = platform().await;
    let out = p.mlxp(&["promote", "fraud-detector", "v2", "--step"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "fraud-detector: v1 80→50 %, v2 20→50 % (canary step 3 of 4) — promoting step by step\n"
    );
    assert_eq!(stage(&p.sim, "v2").await, "Canary");
    let out = p.mlxp(&["promote", "fraud-detector", "v2", "--step"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("fraud-detector v2 promoted: v1 50→0 %, v2 50→100 %"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v1", 0), ("fraud-detector-v2", 100)])
    );
    assert_eq!(stage(&p.sim, "v2").await, "Production");
    assert_eq!(stage(&p.sim, "v1").await, "Archived");
}

#[tokio::test]
async fn cordon_and_uncordon_a_node() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client);
    let node = first_node(&p.sim).await;
    let unschedulable = || async {
        let n = nodes.get(&node).await.expect("node");
        n.spec.and_then(|s| s.unschedulable).unwrap_or(false)
    };
    let out = p.mlxp(&["node", "cordon", &node]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("node {node} cordoned: no new pods land on it\n")
    );
    assert!(unschedulable().await);
    let again = p.mlxp(&["node", "cordon", &node]).await;
    assert_eq!(
        text(&again.stdout),
        format!("node {node} is already cordoned\n")
    );
    let out = p.mlxp(&["node", "uncordon", &node]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!unschedulable().await);
    let events = events_with_reason(&p.sim, "NodeCordoned").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["metadata"]["namespace"], "default");
    assert_eq!(events_with_reason(&p.sim, "NodeUncordoned").await.len(), 1);
}

#[tokio::test]
async fn a_route_changed_since_the_snapshot_is_sent_again_when_the_op_still_means_the_same() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let stale = snapshot_once(client.clone(), Duration::from_secs(30))
        .await
        .expect("a snapshot");
    // Someone else swaps the backends' order after the snapshot was taken.
    let swapped = json!({"spec": {"rules": [{"backendRefs": [
        {"name": "fraud-detector-v2", "port": 8080, "weight": 20},
        {"name": "fraud-detector-v1", "port": 8080, "weight": 80},
    ]}]}});
    routes(&p.sim)
        .await
        .patch(
            "fraud-detector",
            &PatchParams::default(),
            &Patch::Merge(&swapped),
        )
        .await
        .expect("patched");
    let executor = Executor::new(client.clone(), "mlxp-sim".into(), None);
    // Weights say where traffic ends up: planned again on the route as it is, the same.
    let op = Op::SetWeights {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        weights: vec![("v1".into(), 0), ("v2".into(), 100)],
        force: false,
    };
    let done = executor
        .run(&op, &stale, Mode::Apply)
        .await
        .expect("sent again");
    assert!(
        done.effect.ends_with(
            "(sent again on the cluster as it is now: it had changed since it was read)"
        ),
        "{}",
        done.effect
    );
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v2", 100), ("fraud-detector-v1", 0)])
    );
    // A step is a move from where the canary was: on a stale snapshot it is reported, and
    // what the other writer set stands.
    routes(&p.sim)
        .await
        .patch(
            "fraud-detector",
            &PatchParams::default(),
            &Patch::Merge(&swapped),
        )
        .await
        .expect("patched");
    let stale = snapshot_once(client, Duration::from_secs(30))
        .await
        .expect("a snapshot");
    let back = json!({"spec": {"rules": [{"backendRefs": [
        {"name": "fraud-detector-v1", "port": 8080, "weight": 80},
        {"name": "fraud-detector-v2", "port": 8080, "weight": 20},
    ]}]}});
    routes(&p.sim)
        .await
        .patch(
            "fraud-detector",
            &PatchParams::default(),
            &Patch::Merge(&back),
        )
        .await
        .expect("patched");
    let step = Op::StepCanary {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        force: false,
    };
    let error = executor
        .run(&step, &stale, Mode::Apply)
        .await
        .expect_err("a conflict");
    assert!(matches!(error, ExecError::Conflict { .. }), "{error}");
    assert_eq!(error.exit_code(), 3);
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v1", 80), ("fraud-detector-v2", 20)])
    );
}

/// A namespaced object of any kind in `serving`, read back through kube.
async fn serving_object(sim: &Sim, gvk: (&str, &str, &str), plural: &str, name: &str) -> Value {
    let client = sim.client(false).await.expect("client");
    let (group, version, kind) = gvk;
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(group, version, kind),
        plural,
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client, "serving", &resource);
    serde_json::to_value(api.get(name).await.expect("the object")).expect("json")
}

async fn stage(sim: &Sim, version: &str) -> Value {
    let name = format!("fraud-detector-{version}");
    let mv = ("mlxp.io", "v1alpha1", "ModelVersion");
    serving_object(sim, mv, "modelversions", &name).await["spec"]["stage"].clone()
}

async fn replicas(sim: &Sim, version: &str) -> Value {
    let name = format!("fraud-detector-{version}");
    let deployment = ("apps", "v1", "Deployment");
    serving_object(sim, deployment, "deployments", &name).await["spec"]["replicas"].clone()
}

async fn model_status(sim: &Sim) -> Value {
    let model = ("mlxp.io", "v1alpha1", "Model");
    serving_object(sim, model, "models", "fraud-detector").await["status"].clone()
}

#[tokio::test]
async fn promote_sends_all_traffic_to_the_version_and_archives_the_old_one() {
    let p = platform().await;
    let out = p.mlxp(&["promote", "fraud-detector", "v2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "fraud-detector v2 promoted: v1 80→0 %, v2 20→100 %; v1 archived; fraud-detector-v1 \
         scaled to 0\n"
    );
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v1", 0), ("fraud-detector-v2", 100)])
    );
    assert_eq!(stage(&p.sim, "v2").await, "Production");
    assert_eq!(stage(&p.sim, "v1").await, "Archived");
    let status = model_status(&p.sim).await;
    assert_eq!(status["productionVersion"], "v2", "{status}");
    assert!(status.get("canaryVersion").is_none(), "{status}");
    assert_eq!(replicas(&p.sim, "v1").await, 0);
    // Its autoscaler leaves a Deployment scaled to zero alone, as Kubernetes' does.
    p.sim.advance(Duration::from_secs(120));
    assert_eq!(replicas(&p.sim, "v1").await, 0);
    // … while v2's scales it up to take all the traffic.
    let v2 = replicas(&p.sim, "v2").await.as_i64().expect("replicas");
    assert!(v2 > 1, "v2 at {v2} replicas");
    let events = events_with_reason(&p.sim, "ModelPromoted").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["involvedObject"]["kind"], "Model");
    // Again: nothing left to do.
    let again = p.mlxp(&["promote", "fraud-detector", "v2"]).await;
    assert_eq!(
        text(&again.stdout),
        "fraud-detector v2 is already in production with all traffic\n"
    );
}

#[tokio::test]
async fn rollback_returns_the_traffic_and_rejects_the_canary_with_its_reason() {
    let p = platform().await;
    let out = p
        .mlxp(&["rollback", "fraud-detector", "--reason", "errors 8% > 1%"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "fraud-detector rolled back to v1: v1 80→100 %, v2 20→0 %; v2 rejected (errors 8% > \
         1%), scaled to 0\n"
    );
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v1", 100), ("fraud-detector-v2", 0)])
    );
    assert_eq!(stage(&p.sim, "v2").await, "Rejected");
    assert_eq!(stage(&p.sim, "v1").await, "Production");
    let mv = ("mlxp.io", "v1alpha1", "ModelVersion");
    let v2 = serving_object(&p.sim, mv, "modelversions", "fraud-detector-v2").await;
    assert_eq!(
        v2["metadata"]["annotations"]["mlxp.io/rejected-reason"],
        "errors 8% > 1%"
    );
    assert_eq!(replicas(&p.sim, "v2").await, 0);
    assert_eq!(model_status(&p.sim).await["productionVersion"], "v1");
    assert_eq!(events_with_reason(&p.sim, "ModelRolledBack").await.len(), 1);
    // Nothing left to roll back; a rejected version is not promoted.
    let again = p.mlxp(&["rollback", "fraud-detector"]).await;
    assert_eq!(again.status.code(), Some(3), "{}", text(&again.stderr));
    let promote = p.mlxp(&["promote", "fraud-detector", "v2"]).await;
    assert_eq!(promote.status.code(), Some(3));
    assert_eq!(
        text(&promote.stderr),
        "mlxp: fraud-detector v2 was rejected: promote another version\n"
    );
}

#[tokio::test]
async fn approve_and_reject_record_who_and_why_on_the_version() {
    let p = platform().await;
    let out = p.mlxp(&["approve", "fraud-detector", "v2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "fraud-detector v2 approved by mlxp-admin\n"
    );
    let mv = ("mlxp.io", "v1alpha1", "ModelVersion");
    let v2 = serving_object(&p.sim, mv, "modelversions", "fraud-detector-v2").await;
    assert_eq!(
        v2["metadata"]["annotations"]["mlxp.io/approved-by"],
        "mlxp-admin"
    );
    assert!(v2["metadata"]["annotations"]["mlxp.io/approved-at"].is_string());
    assert_eq!(events_with_reason(&p.sim, "VersionApproved").await.len(), 1);
    let again = p.mlxp(&["approve", "fraud-detector", "v2"]).await;
    assert_eq!(
        text(&again.stdout),
        "fraud-detector v2 is already approved by mlxp-admin\n"
    );
    // v2 takes traffic: rejecting it would leave it serving; the rollback is the way.
    let out = p
        .mlxp(&["reject", "fraud-detector", "v2", "--reason", "bad"])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(stage(&p.sim, "v2").await, "Canary");
    // A version taking no traffic is.
    p.mlxp(&["canary", "set", "fraud-detector", "v1=100", "v2=0"])
        .await;
    let out = p
        .mlxp(&["reject", "fraud-detector", "v2", "--reason", "bad"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(stage(&p.sim, "v2").await, "Rejected");
    assert_eq!(events_with_reason(&p.sim, "VersionRejected").await.len(), 1);
}

#[tokio::test]
async fn a_restart_replaces_a_versions_pods_and_scale_bounds_its_autoscaler() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client, "serving");
    let of_v1 = ListParams::default().labels("app=fraud-detector-v1");
    let names = |list: Vec<k8s_openapi::api::core::v1::Pod>| {
        let mut names: Vec<String> = list.into_iter().filter_map(|p| p.metadata.name).collect();
        names.sort();
        names
    };
    let before = names(pods.list(&of_v1).await.expect("pods").items);
    let replicas = replicas(&p.sim, "v1").await;
    let out = p
        .mlxp(&["serving", "restart", "fraud-detector", "v1"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "fraud-detector v1: fraud-detector-v1 restarted, its {replicas} replicas replaced \
             one by one\n"
        )
    );
    let deployment = ("apps", "v1", "Deployment");
    let d = serving_object(&p.sim, deployment, "deployments", "fraud-detector-v1").await;
    assert!(
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string(),
        "{d}"
    );
    // The Deployment controller rolls the pods, one surge at a time: within ten simulated
    // minutes none of the old ones is left.
    let mut after = before.clone();
    for _ in 0..20 {
        p.sim.advance(Duration::from_secs(30));
        after = names(pods.list(&of_v1).await.expect("pods").items);
        if after.iter().all(|n| !before.contains(n)) {
            break;
        }
    }
    assert!(
        !after.is_empty() && after.iter().all(|n| !before.contains(n)),
        "{before:?} → {after:?}"
    );
    assert_eq!(
        events_with_reason(&p.sim, "VersionRestarted").await.len(),
        1
    );

    let out = p
        .mlxp(&[
            "serving",
            "scale",
            "fraud-detector",
            "v1",
            "--min",
            "2",
            "--max",
            "8",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hpa = ("autoscaling", "v2", "HorizontalPodAutoscaler");
    let h = serving_object(&p.sim, hpa, "horizontalpodautoscalers", "fraud-detector-v1").await;
    assert_eq!(
        (
            h["spec"]["minReplicas"].clone(),
            h["spec"]["maxReplicas"].clone()
        ),
        (json!(2), json!(8))
    );
    let out = p
        .mlxp(&[
            "serving",
            "scale",
            "fraud-detector",
            "v1",
            "--min",
            "0",
            "--max",
            "8",
        ])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

async fn jobs_of(sim: &Sim, model: &str) -> Vec<String> {
    let client = sim.client(false).await.expect("client");
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client, "training");
    let of = ListParams::default().labels(&format!("mlxp.io/model={model}"));
    let mut names: Vec<String> = jobs
        .list(&of)
        .await
        .expect("jobs")
        .items
        .into_iter()
        .filter_map(|j| j.metadata.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_retrain_creates_one_job_of_the_next_run_even_when_asked_twice_at_once() {
    let p = platform().await;
    assert_eq!(
        jobs_of(&p.sim, "churn-predictor").await,
        ["train-churn-predictor-r7"]
    );
    // Two at once: both see no active run and plan r8; the second create meets
    // AlreadyExists.
    let (a, b) = tokio::join!(
        p.mlxp(&["retrain", "churn-predictor"]),
        p.mlxp(&["retrain", "churn-predictor"])
    );
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(3)],
        "{} | {}",
        text(&a.stderr),
        text(&b.stderr)
    );
    let loser = if a.status.code() == Some(3) { &a } else { &b };
    assert!(
        text(&loser.stderr).contains("already"),
        "{}",
        text(&loser.stderr)
    );
    assert_eq!(
        jobs_of(&p.sim, "churn-predictor").await,
        ["train-churn-predictor-r7", "train-churn-predictor-r8"]
    );
    let model = ("mlxp.io", "v1alpha1", "Model");
    let status = serving_object(&p.sim, model, "models", "churn-predictor").await["status"].clone();
    assert_eq!(
        status["lastTrainingJob"], "train-churn-predictor-r8",
        "{status}"
    );
    assert!(status["lastRetrainTime"].is_string());
    // r8 runs now: another retrain waits for it, unless forced.
    let again = p.mlxp(&["retrain", "churn-predictor"]).await;
    assert_eq!(again.status.code(), Some(3), "{}", text(&again.stderr));
    assert_eq!(
        text(&again.stderr),
        "mlxp: churn-predictor is already training (train-churn-predictor-r8): retrain it when \
         that ends, or force it\n"
    );
    assert_eq!(
        events_with_reason(&p.sim, "RetrainTriggered").await.len(),
        1
    );
}

#[tokio::test]
async fn rollback_with_no_canary_scales_the_archived_version_up_then_moves_the_traffic() {
    let p = platform().await;
    let out = p.mlxp(&["promote", "fraud-detector", "v2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(replicas(&p.sim, "v1").await, 0);
    let (status, out) = rollback_driving_the_clock(&p, "v2 p99 over budget").await;
    assert!(status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with("fraud-detector: v1 scaled up to ")
            && said.contains("; then fraud-detector rolled back to v1: v1 0→100 %, v2 100→0 %; v2 rejected (v2 p99 over budget), scaled to 0"),
        "{said}"
    );
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v1", 100), ("fraud-detector-v2", 0)])
    );
    assert_eq!(stage(&p.sim, "v1").await, "Production");
    assert_eq!(stage(&p.sim, "v2").await, "Rejected");
    assert_eq!(replicas(&p.sim, "v2").await, 0);
}

/// `mlxp rollback fraud-detector --reason REASON`, which waits for the version it goes back
/// to to be Ready: the embedded cluster's clock is driven meanwhile, as time would pass,
/// until the verb is done (bounded).
async fn rollback_driving_the_clock(
    p: &common::ops::Platform,
    reason: &str,
) -> (std::process::ExitStatus, std::process::Output) {
    let kubeconfig = p.kubeconfig.to_str().expect("utf-8").to_string();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mlxp"))
        .args(["rollback", "fraud-detector", "--reason", reason])
        .args(["--kubeconfig", &kubeconfig])
        .env("HOME", p.home.path())
        .env("XDG_STATE_HOME", p.home.path().join(".state"))
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mlxp runs");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waited") {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rollback did not end"
        );
        p.sim.advance(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    (status, child.wait_with_output().await.expect("output"))
}

#[tokio::test]
async fn rollback_to_an_archived_version_whose_deployment_was_deleted_deploys_it_again() {
    let p = platform().await;
    let out = p.mlxp(&["promote", "fraud-detector", "v2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let client = p.sim.client(false).await.expect("client");
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client, "serving");
    deployments
        .delete("fraud-detector-v1", &Default::default())
        .await
        .expect("v1's Deployment deleted");

    let (status, out) = rollback_driving_the_clock(&p, "v2 errors").await;
    assert!(status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with("fraud-detector: v1 deployed again first (its Deployment was gone): Deployment, Service and autoscaler serving/fraud-detector-v1 (1..6 replicas)")
            && said.contains("; then fraud-detector rolled back to v1: "),
        "{said}"
    );
    assert!(
        deployments
            .get("fraud-detector-v1")
            .await
            .expect("made again")
            .status
            .and_then(|s| s.ready_replicas)
            .is_some_and(|n| n > 0)
    );
    assert_eq!(
        weights(&p.route().await),
        pairs(&[("fraud-detector-v1", 100), ("fraud-detector-v2", 0)])
    );
    assert_eq!(stage(&p.sim, "v1").await, "Production");
    assert_eq!(stage(&p.sim, "v2").await, "Rejected");
}
