//! The platform scenario `mlxp sim` opens with: after its warm-up it must look like a
//! working ML platform, with something in every state the cockpit shows.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use mlxp_sim::Sim;
use serde_json::Value;

async fn platform() -> Sim {
    mlxp_sim::testing::platform_at(
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

    let queues = mlxp_sim::testing::dynamic(
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

    let versions = mlxp_sim::testing::dynamic(
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
    let routes = mlxp_sim::testing::dynamic(
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
    let metrics = mlxp_sim::testing::metrics(&sim).await;
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

/// When a run's simulated time began (when its node pools' ConfigMap was made): histories
/// of runs started at different wall times are compared on the time since then.
async fn began(client: &kube::Client) -> chrono::DateTime<chrono::Utc> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let pools = Api::<ConfigMap>::namespaced(client.clone(), "kube-system")
        .get(mlxp_sim::controllers::nodepools::POOLS_CONFIGMAP)
        .await
        .expect("the node pools");
    let created = pools.metadata.creation_timestamp.expect("created").0;
    chrono::DateTime::from_timestamp(created.as_second(), 0).expect("in range")
}

/// What a run did, as lines to compare: its Events in the order they were recorded (time
/// since the run began, object, reason, message) until `until` after it began, then (with
/// `state`) its nodes, pods and Jobs as they stand.
async fn history(sim: &Sim, until: chrono::Duration, state: bool) -> Vec<String> {
    use k8s_openapi::api::core::v1::Event;
    let client = sim.client(true).await.expect("client");
    let began = began(&client).await.timestamp();
    let mut events: Vec<(u64, String)> = Api::<Event>::all(client.clone())
        .list(&Default::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter_map(|e| {
            let at = e.last_timestamp.as_ref()?.0.as_second() - began;
            if at >= until.num_seconds() {
                return None;
            }
            let rv = e.metadata.resource_version.as_deref()?.parse().ok()?;
            let object = &e.involved_object;
            let line = format!(
                "event +{at}s {}/{}/{} {}: {}",
                object.namespace.as_deref().unwrap_or(""),
                object.kind.as_deref().unwrap_or(""),
                object.name.as_deref().unwrap_or(""),
                e.reason.as_deref().unwrap_or(""),
                e.message.as_deref().unwrap_or(""),
            );
            Some((rv, line))
        })
        .collect();
    events.sort();
    let mut lines: Vec<String> = events.into_iter().map(|(_, line)| line).collect();
    if !state {
        return lines;
    }
    for node in Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await
        .expect("nodes")
    {
        let ready = node
            .status
            .and_then(|s| s.conditions)
            .and_then(|c| c.into_iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status)
            .unwrap_or_default();
        let name = node.metadata.name.unwrap_or_default();
        lines.push(format!("node {name} ready={ready}"));
    }
    for pod in Api::<Pod>::all(client.clone())
        .list(&Default::default())
        .await
        .expect("pods")
    {
        let status = pod.status.unwrap_or_default();
        lines.push(format!(
            "pod {}/{} on {} {} {}",
            pod.metadata.namespace.unwrap_or_default(),
            pod.metadata.name.unwrap_or_default(),
            pod.spec.and_then(|s| s.node_name).unwrap_or_default(),
            status.phase.unwrap_or_default(),
            status.reason.unwrap_or_default(),
        ));
    }
    for job in Api::<Job>::all(client)
        .list(&Default::default())
        .await
        .expect("jobs")
    {
        let state = job_state(&serde_json::to_value(&job).expect("json"));
        let name = job.metadata.name.unwrap_or_default();
        lines.push(format!("job {name} {state}"));
    }
    lines
}

/// Where two histories part, for a readable failure.
fn difference(first: &[String], second: &[String]) -> Option<String> {
    let at = first
        .iter()
        .zip(second)
        .position(|(a, b)| a != b)
        .or_else(|| (first.len() != second.len()).then(|| first.len().min(second.len())))?;
    Some(format!(
        "{} and {} lines, parting at line {at}:\n  {:?}\n  {:?}",
        first.len(),
        second.len(),
        first.get(at),
        second.get(at)
    ))
}

/// `mlxp demo --seed N` at `--speed`: the small platform on a running clock from now.
async fn demo(seed: u64, speed: f64) -> Sim {
    Sim::start(mlxp_sim::SimConfig {
        seed,
        speed,
        scenario: mlxp_sim::Scenario::Platform {
            scale: mlxp_sim::Scale::Small,
        },
        ..mlxp_sim::SimConfig::default()
    })
    .await
    .expect("sim starts")
}

/// Waits (bounded) until the run's clock is `after` past its start (the warm-up's end).
async fn reach(sim: &Sim, after: chrono::Duration) {
    let began = began(&sim.client(true).await.expect("client")).await;
    let instant = began + chrono::Duration::hours(mlxp_sim::scenario::WARM_UP_HOURS) + after;
    for _ in 0..1200 {
        if sim.state().clock.now() >= instant {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the clock did not reach {instant} in a minute");
}

/// How long after the demo opens its histories are compared: long enough for training
/// runs to finish, queued ones to be admitted, serving to scale and spot nodes to go.
fn played() -> chrono::Duration {
    chrono::Duration::minutes(90)
}

/// The serving stack's request counters, from `/metrics`.
async fn served(sim: &Sim) -> Vec<String> {
    let metrics = mlxp_sim::testing::metrics(sim).await;
    metrics
        .lines()
        .filter(|l| l.starts_with("mlxp_requests_total{"))
        .map(String::from)
        .collect()
}

/// Stops both runs, then steps the one behind until both stand at the same time since they
/// began; that time.
async fn pause_together(first: &Sim, second: &Sim) -> chrono::Duration {
    first.pause();
    second.pause();
    let mut since = Vec::new();
    for sim in [first, second] {
        let began = began(&sim.client(true).await.expect("client")).await;
        since.push(sim.state().clock.now() - began);
    }
    let (behind, gap) = if since[0] < since[1] {
        (first, since[1] - since[0])
    } else {
        (second, since[0] - since[1])
    };
    let step = chrono::Duration::seconds(1);
    let mut left = gap;
    while left > chrono::Duration::zero() {
        let by = left.min(step);
        behind.advance(by.to_std().expect("positive"));
        left -= by;
    }
    since[0].max(since[1])
}

/// `mlxp demo --seed 14` twice, started at different wall times with the clock running, seen
/// at the same simulated time since each began: the same Events at the same times in the
/// same order, the same nodes, pods and Jobs, the same requests served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_plays_the_same_history_on_a_running_clock() {
    // Seed 14 preempts a spot node in this time, after the demo opens.
    let (first, second) = (demo(14, 600.0).await, demo(14, 600.0).await);
    reach(&first, played()).await;
    reach(&second, played()).await;
    let since = pause_together(&first, &second).await;
    let mut histories = Vec::new();
    for sim in [&first, &second] {
        let mut lines = history(sim, since + chrono::Duration::seconds(1), true).await;
        lines.extend(served(sim).await);
        histories.push(lines);
    }
    let happened = |reason: &str| {
        let reason = format!(" {reason}: ");
        histories[0].iter().any(|l| l.contains(&reason))
    };
    let serving = histories[0]
        .iter()
        .any(|l| l.starts_with("mlxp_requests_total"));
    assert!(
        happened("Preempted") && happened("FailedScheduling") && serving,
        "a spot node was preempted, pods waited for room, requests were served: {:#?}",
        histories[0]
    );
    if let Some(difference) = difference(&histories[0], &histories[1]) {
        panic!("the same seed gave two histories: {difference}");
    }
}

/// Another seed plays another history (so the comparison above is not vacuous).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_seed_plays_another_history() {
    let (first, second) = (demo(14, 600.0).await, demo(15, 600.0).await);
    reach(&first, played()).await;
    reach(&second, played()).await;
    let since = pause_together(&first, &second).await;
    let first = history(&first, since, true).await;
    let second = history(&second, since, true).await;
    assert_ne!(first, second);
}

/// What a client does that the controllers do not act on — a server-side dry run of a Job, a
/// ConfigMap of its own — leaves the rest of the history as it was: the cluster's names and
/// its spot luck are its own, not drawn from what clients ask for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_writes_leave_the_clusters_history_alone() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::PostParams;
    let run = |client_writes: bool| async move {
        let sim = Sim::start(mlxp_sim::SimConfig {
            seed: 1,
            manual_clock: true,
            scenario: mlxp_sim::Scenario::Platform {
                scale: mlxp_sim::Scale::Small,
            },
            ..mlxp_sim::SimConfig::default()
        })
        .await
        .expect("sim starts");
        if client_writes {
            let client = sim.client(false).await.expect("client");
            let job: Job = serde_json::from_value(serde_json::json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"generateName": "train-preview-"},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "t", "image": "trainer"}]}}},
            }))
            .expect("job");
            let dry_run = PostParams {
                dry_run: true,
                ..Default::default()
            };
            Api::<Job>::namespaced(client.clone(), "training")
                .create(&dry_run, &job)
                .await
                .expect("dry run");
            let notes: ConfigMap = serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"generateName": "notes-"},
            }))
            .expect("config map");
            Api::<ConfigMap>::namespaced(client, "default")
                .create(&PostParams::default(), &notes)
                .await
                .expect("created");
        }
        // Six simulated hours: seed 1's spot luck takes nodes in them.
        for _ in 0..(6 * 360) {
            sim.advance(std::time::Duration::from_secs(10));
        }
        history(&sim, chrono::Duration::days(1), true).await
    };
    let (quiet, busy) = (run(false).await, run(true).await);
    assert!(
        quiet.iter().any(|l| l.contains(" Preempted: ")),
        "a spot node was preempted: {quiet:#?}"
    );
    if let Some(difference) = difference(&quiet, &busy) {
        panic!("a client's writes changed the cluster's history: {difference}");
    }
}
