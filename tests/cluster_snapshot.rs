//! The cockpit's snapshot, built by its watchers over HTTPS from the embedded cluster, agrees
//! with what the cluster holds (read here through kube-rs with k8s-openapi's full types).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use mlxp::cluster::{KindName, Snapshot, SourceState};
use mlxp_core::domain::{pools, serving, training};
use mlxp_sim::{Sim, SimConfig};

async fn platform() -> Sim {
    common::platform_at(common::eight_am()).await
}

/// Waits (bounded) until the snapshot satisfies `done`.
async fn snapshot_where(
    watch: &mlxp::cluster::ClusterWatch,
    done: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut updates = watch.subscribe();
    let wait = async {
        loop {
            let latest = updates.borrow_and_update().clone();
            if done(&latest) {
                return latest;
            }
            if updates.changed().await.is_err() {
                panic!("the watchers stopped");
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("the snapshot got there within 20 s")
}

#[tokio::test]
async fn the_snapshot_agrees_with_the_cluster() {
    let sim = platform().await;
    let client = sim.client(true).await.expect("client");
    let watch = mlxp::cluster::start(client.clone());
    let snapshot = snapshot_where(&watch, |s| {
        KindName::ALL
            .iter()
            .all(|k| s.status(*k).state == SourceState::Synced)
    })
    .await;

    // GPUs per pool: allocatable, and allocated to pods still holding them.
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("nodes")
        .items;
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("pods")
        .items;
    let mut truth: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut node_pool = BTreeMap::new();
    for node in &nodes {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let pool = labels["mlxp.io/pool"].clone();
        let gpus = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .and_then(|a| a.get("nvidia.com/gpu"))
            .map(|q| q.0.parse::<i64>().expect("gpu count"))
            .unwrap_or(0);
        truth.entry(pool.clone()).or_default().0 += gpus;
        node_pool.insert(node.metadata.name.clone().unwrap_or_default(), pool);
    }
    for pod in &pods {
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
            continue;
        };
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        let gpus: i64 = pod
            .spec
            .iter()
            .flat_map(|s| &s.containers)
            .filter_map(|c| {
                c.resources
                    .as_ref()
                    .and_then(|r| r.limits.as_ref())
                    .and_then(|l| l.get("nvidia.com/gpu"))
            })
            .map(|q| q.0.parse::<i64>().expect("gpus"))
            .sum();
        truth.entry(node_pool[&node].clone()).or_default().1 += gpus;
    }
    let seen: BTreeMap<String, (i64, i64)> = pools::summarize(
        snapshot.nodes.values().map(|n| n.as_ref()),
        snapshot.pods.values().map(|p| p.as_ref()),
    )
    .into_iter()
    .map(|p| (p.name, (p.gpus, p.gpus_allocated)))
    .collect();
    assert_eq!(seen, truth, "(GPUs, allocated) per pool");
    assert!(
        truth.values().any(|(_, allocated)| *allocated > 0),
        "some GPUs in use: {truth:?}"
    );

    // The queue: pending Workloads in Kueue's order.
    let workloads = common::dynamic(
        &client,
        "kueue.x-k8s.io",
        "v1beta1",
        "Workload",
        "workloads",
    )
    .list(&ListParams::default())
    .await
    .expect("workloads")
    .items;
    let mut pending_truth: Vec<(String, String)> = workloads
        .iter()
        .filter(|w| {
            let conditions = w.data["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            !conditions.iter().any(|c| {
                (c["type"] == "QuotaReserved" || c["type"] == "Finished") && c["status"] == "True"
            })
        })
        .map(|w| {
            (
                w.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.to_string())
                    .unwrap_or_default(),
                w.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    pending_truth.sort();
    let order: Vec<String> =
        training::admission_order(snapshot.workloads.values().map(|w| w.as_ref()))
            .iter()
            .map(|w| w.meta.name.clone())
            .collect();
    assert_eq!(
        order,
        pending_truth
            .into_iter()
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
    );
    assert!(!order.is_empty(), "the platform has a queue");

    // Canary weights, from the HTTPRoute.
    let route = &snapshot
        .routes
        .get("serving", "fraud-detector")
        .expect("route");
    let weights: Vec<(String, i32)> = serving::splits(route)
        .into_iter()
        .map(|s| (s.backend, s.weight))
        .collect();
    let route_truth = common::dynamic(
        &client,
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "httproutes",
    )
    .list(&ListParams::default())
    .await
    .expect("routes")
    .items
    .into_iter()
    .find(|r| r.metadata.name.as_deref() == Some("fraud-detector"))
    .expect("route");
    let backends_truth: Vec<(String, i32)> = route_truth.data["spec"]["rules"][0]["backendRefs"]
        .as_array()
        .expect("refs")
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap_or("").to_string(),
                b["weight"].as_i64().unwrap_or(1) as i32,
            )
        })
        .collect();
    assert_eq!(weights, backends_truth);
    assert_eq!(
        weights,
        vec![
            ("fraud-detector-v1".into(), 80),
            ("fraud-detector-v2".into(), 20)
        ]
    );

    // Job states.
    let jobs = Api::<Job>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("jobs")
        .items;
    for job in &jobs {
        let name = job.metadata.name.clone().unwrap_or_default();
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        let status = job.status.clone().unwrap_or_default();
        let condition = |t: &str| {
            status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == t && c.status == "True")
        };
        let expected = if condition("Complete") {
            training::JobState::Succeeded
        } else if condition("Failed") {
            training::JobState::Failed
        } else if job.spec.as_ref().and_then(|s| s.suspend) == Some(true) {
            training::JobState::Queued
        } else if status.active.unwrap_or(0) > 0 {
            training::JobState::Running
        } else {
            training::JobState::Pending
        };
        let seen = snapshot
            .jobs
            .get(&ns, &name)
            .map(|j| training::job_state(j));
        assert_eq!(seen, Some(expected), "{ns}/{name}");
    }
    let states: std::collections::BTreeSet<_> = snapshot
        .jobs
        .values()
        .map(|j| training::job_state(j))
        .collect();
    for state in [
        training::JobState::Queued,
        training::JobState::Running,
        training::JobState::Succeeded,
        training::JobState::Failed,
    ] {
        assert!(states.contains(&state), "a {state:?} job: {states:?}");
    }
}

/// Changes made after the first list arrive by watch: a new Job appears in the snapshot.
#[tokio::test]
async fn changes_arrive_by_watch() {
    let sim = platform().await;
    let client = sim.client(false).await.expect("client");
    let watch = mlxp::cluster::start(client.clone());
    let first = snapshot_where(&watch, |s| s.jobs.status.synced()).await;
    let lists = first.jobs.status.lists;
    let job: Job = serde_json::from_value(serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "watched-job", "namespace": "training"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "t"}]}}},
    })).expect("job");
    Api::<Job>::namespaced(client, "training")
        .create(&Default::default(), &job)
        .await
        .expect("created");
    let seen = snapshot_where(&watch, |s| s.jobs.get("training", "watched-job").is_some()).await;
    assert_eq!(seen.jobs.status.lists, lists, "by watch, not by a relist");
}

/// A kind the server does not serve shows as not installed; the rest work.
#[tokio::test]
async fn a_missing_kind_is_not_installed_and_the_rest_work() {
    let sim = platform().await;
    let client = sim.client(false).await.expect("client");
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    crds.delete("models.mlxp.io", &Default::default())
        .await
        .expect("crd deleted");
    let watch = mlxp::cluster::start(client);
    let snapshot = snapshot_where(&watch, |s| {
        s.models.status.state == SourceState::NotInstalled && s.nodes.status.synced()
    })
    .await;
    assert!(snapshot.models.is_empty());
    assert!(!snapshot.nodes.is_empty());
    assert!(snapshot.models.status.error.is_some());
}

/// Stop the cluster and start it again on the same port: the cockpit's sources go Failing
/// (the "stale since" banner) within 5 s, keep what they last saw, and come back by
/// themselves with what the new run holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_cluster_is_shown_lost_then_found_again() {
    let config = common::restartable_config();
    let sim = Sim::start(config.clone()).await.expect("sim starts");
    let identity = sim.identity();
    let watch = mlxp::cluster::start(sim.client(true).await.expect("client"));
    let before = snapshot_where(&watch, |s| {
        s.nodes.status.synced() && s.jobs.status.synced()
    })
    .await;
    let nodes = before.nodes.len();
    assert!(nodes > 0);

    drop(sim);
    let lost_at = std::time::Instant::now();
    let lost = snapshot_where(&watch, |s| s.nodes.status.state == SourceState::Failing).await;
    let noticed = lost_at.elapsed();
    assert!(
        noticed < Duration::from_secs(5),
        "noticed after {noticed:?}"
    );
    assert!(lost.nodes.status.failing_since.is_some());
    assert_eq!(
        lost.nodes.len(),
        nodes,
        "what was last seen is kept while stale"
    );
    let screen = common::draw_snapshot(lost.clone(), 120, 40);
    assert!(screen.contains("⚠ stale since"), "{screen}");
    assert!(screen.contains("reconnecting"), "{screen}");

    let again = Sim::start(SimConfig {
        identity: Some(identity),
        ..config
    })
    .await
    .expect("sim starts again on the same port");
    common::create_job(again.client(false).await.expect("client"), "after-restart").await;
    let back = snapshot_where(&watch, |s| {
        s.nodes.status.synced()
            && s.jobs.get("training", "after-restart").is_some()
            && KindName::ALL
                .iter()
                .all(|k| s.status(*k).state != SourceState::Failing)
    })
    .await;
    assert!(back.nodes.status.failing_since.is_none());
    let screen = common::draw_snapshot(back.clone(), 120, 40);
    assert!(!screen.contains("stale since"), "{screen}");
    assert!(back.nodes.status.lists >= 2, "relisted after the restart");
}

/// A 410 Gone in the middle of a watch is absorbed: the source relists at once (no
/// backoff: a 410 is not a failure) and what changed meanwhile arrives.
#[tokio::test]
async fn a_410_mid_watch_relists_without_a_failure() {
    let sim = platform().await;
    let client = sim.client(false).await.expect("client");
    let watch = mlxp::cluster::start(client.clone());
    let first = snapshot_where(&watch, |s| s.jobs.status.synced()).await;
    let lists = first.jobs.status.lists;
    sim.expire_watches();
    let job: Job = serde_json::from_value(serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "after-410", "namespace": "training"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "t"}]}}},
    }))
    .expect("job");
    Api::<Job>::namespaced(client, "training")
        .create(&Default::default(), &job)
        .await
        .expect("created");
    let relisted = snapshot_where(&watch, |s| {
        s.jobs.status.lists > lists && s.jobs.get("training", "after-410").is_some()
    })
    .await;
    assert!(relisted.jobs.status.synced());
    assert_eq!(relisted.jobs.status.lists, lists + 1, "one relist");
}
