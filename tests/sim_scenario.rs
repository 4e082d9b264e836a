//! The platform scenario `mlxp sim` opens with: after its warm-up it must look like a
//! working ML platform, with something in every state the cockpit shows.

mod common;

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use mlxp::sim::Sim;
use serde_json::Value;

async fn platform() -> Sim {
    common::platform_at(
        chrono::DateTime::parse_from_rfc3339("2026-11-29T14:00:00Z")
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc)),
    )
    .await
}

fn job_state(job: &Value) -> &'static str {
    let condition = |kind: &str| {
        job["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
    };
    if condition("Complete") {
        "Complete"
    } else if condition("Failed") {
        "Failed"
    } else if job["spec"]["suspend"] == true {
        "Queued"
    } else {
        "Running"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_opens_with_every_state_the_cockpit_shows() {
    let sim = platform().await;
    let client = sim.client(true).await.expect("client");

    let nodes = Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await
        .expect("nodes");
    let mut pools: BTreeMap<String, usize> = BTreeMap::new();
    for node in &nodes.items {
        let pool = node
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("mlxp.io/pool"))
            .cloned()
            .unwrap_or_default();
        *pools.entry(pool).or_default() += 1;
    }
    for pool in [
        "system",
        "training",
        "training-ondemand",
        "serving-gpu",
        "serving-cpu",
        "monitoring",
    ] {
        assert!(
            pools.get(pool).is_some_and(|n| *n > 0),
            "pool {pool}: {pools:?}"
        );
    }

    let jobs = Api::<Job>::namespaced(client.clone(), "training")
        .list(&Default::default())
        .await
        .expect("jobs");
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for job in &jobs.items {
        *states
            .entry(job_state(&serde_json::to_value(job).expect("json")))
            .or_default() += 1;
    }
    for state in ["Complete", "Failed", "Running", "Queued"] {
        assert!(
            states.get(state).is_some_and(|n| *n > 0),
            "a {state} Job: {states:?}"
        );
    }

    let queues = common::dynamic(
        &client,
        "kueue.x-k8s.io",
        "v1beta1",
        "ClusterQueue",
        "clusterqueues",
    )
    .list(&Default::default())
    .await
    .expect("queues");
    let pending = queues.items[0].data["status"]["pendingWorkloads"]
        .as_i64()
        .unwrap_or(0);
    assert!(
        pending > 0,
        "demand exceeds quota: {}",
        queues.items[0].data["status"]
    );

    let versions = common::dynamic(
        &client,
        "mlxp.io",
        "v1alpha1",
        "ModelVersion",
        "modelversions",
    )
    .list(&Default::default())
    .await
    .expect("versions");
    let stages: Vec<&str> = versions
        .items
        .iter()
        .filter_map(|v| v.data["spec"]["stage"].as_str())
        .collect();
    assert!(
        stages.contains(&"Canary") && stages.contains(&"Production"),
        "{stages:?}"
    );
    let routes = common::dynamic(
        &client,
        "gateway.networking.k8s.io",
        "v1",
        "HTTPRoute",
        "httproutes",
    )
    .list(&Default::default())
    .await
    .expect("routes");
    let canary = routes
        .items
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some("fraud-detector"))
        .expect("canary route");
    let weights: Vec<i64> = canary.data["spec"]["rules"][0]["backendRefs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["weight"].as_i64())
        .collect();
    assert_eq!(weights, [80, 20]);

    let serving = Api::<Pod>::namespaced(client.clone(), "serving")
        .list(&Default::default())
        .await
        .expect("pods");
    let ready = serving
        .items
        .iter()
        .filter(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .count();
    assert!(ready >= 6, "serving replicas are up: {ready}");

    // The idle notebook's GPU, and live traffic and drift, in /metrics.
    let metrics = common::metrics(&sim).await;
    let notebook = metrics
        .lines()
        .find(|l| l.starts_with("DCGM_FI_DEV_GPU_UTIL{") && l.contains("pod=\"notebook-ana-0\""))
        .expect("the notebook holds a GPU");
    let util: f64 = notebook
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100.0);
    assert!(util <= 2.0, "allocated but idle: {notebook}");
    assert!(
        metrics
            .contains("mlxp_requests_total{model=\"fraud-detector\",version=\"v2\",code=\"500\"}")
    );
    let recsys_drift: f64 = metrics
        .lines()
        .find(|l| l.starts_with("mlxp_model_drift_score{model=\"recsys-ranker\",version=\"v7\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        recsys_drift > 0.05,
        "the drifting model has drifted: {recsys_drift}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_opens_the_same_platform() {
    let names = |sim: Sim| async move {
        let client = sim.client(true).await.expect("client");
        let pods = Api::<Pod>::all(client)
            .list(&Default::default())
            .await
            .expect("pods");
        pods.items
            .iter()
            .map(|p| {
                (
                    p.metadata.name.clone(),
                    p.spec.as_ref().and_then(|s| s.node_name.clone()),
                )
            })
            .collect::<Vec<_>>()
    };
    let first = names(platform().await).await;
    let second = names(platform().await).await;
    assert!(first.len() > 15, "{first:?}");
    assert_eq!(first, second);
}

/// Serving pods log the requests they serve; the bad canary's log shows its failures.
#[tokio::test]
async fn serving_pods_write_access_logs_with_their_versions_errors() {
    use kube::api::{ListParams, LogParams};
    let sim = platform().await;
    let client = sim.client(true).await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client, "serving");
    // Ten simulated minutes of logging.
    for _ in 0..20 {
        sim.advance(std::time::Duration::from_secs(30));
    }
    let mut lines_by_version: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for version in ["v1", "v2"] {
        let selector = ListParams::default().labels(&format!(
            "mlxp.io/model=fraud-detector,mlxp.io/version={version}"
        ));
        for pod in pods.list(&selector).await.expect("pods").items {
            let name = pod.metadata.name.unwrap_or_default();
            let log = pods.logs(&name, &LogParams::default()).await.expect("log");
            lines_by_version
                .entry(version.to_string())
                .or_default()
                .extend(
                    log.lines()
                        .filter(|l| l.contains("POST /v2/models/fraud-detector/infer"))
                        .map(String::from),
                );
        }
    }
    let v1 = &lines_by_version["v1"];
    let v2 = &lines_by_version["v2"];
    assert!(v1.len() >= 20, "{} v1 access lines", v1.len());
    assert!(v1.iter().all(|l| l.contains("version=v1")), "{v1:?}");
    let errors = |lines: &[String]| lines.iter().filter(|l| l.contains("\" 503 ")).count();
    let ok = |lines: &[String]| lines.iter().filter(|l| l.contains("\" 200 ")).count();
    assert!(
        ok(v1) > 0 && errors(v1) * 10 < v1.len(),
        "v1 mostly succeeds: {v1:?}"
    );
    assert!(!v2.is_empty(), "the canary logs too");
    assert!(
        errors(v2) as f64 / v2.len() as f64 > errors(v1) as f64 / v1.len() as f64,
        "the bad canary fails more often: {} of {} against {} of {}",
        errors(v2),
        v2.len(),
        errors(v1),
        v1.len()
    );
}
