//! The embedded cluster's controllers, on a manual clock, seen through kube-rs over HTTPS.
//! Time moves only when a test moves it, so every wait is a bounded number of steps.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams, PostParams};
use mlxp_sim::{Sim, SimConfig};
use serde_json::{Value, json};

async fn start() -> Sim {
    Sim::start(SimConfig {
        manual_clock: true,
        start: mlxp_sim::testing::eight_am(),
        ..SimConfig::default()
    })
    .await
    .expect("sim starts")
}

/// Steps the clock by `step` until `done` holds for the pod, at most `steps` times.
async fn step_until(
    sim: &Sim,
    pods: &Api<Pod>,
    name: &str,
    step: Duration,
    steps: usize,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..steps {
        let pod = serde_json::to_value(pods.get(name).await.expect("pod")).expect("json");
        if done(&pod) {
            return pod;
        }
        sim.advance(step);
    }
    panic!("pod {name} did not get there in {steps} steps of {step:?}");
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_bound_training_pod_runs_and_reports_its_metrics() {
    let sim = start().await;
    let pods: Api<Pod> = Api::namespaced(sim.client(false).await.expect("client"), "training");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "train-once", "annotations": {"sim.mlxp.io/duration": "20m"}},
        "spec": {
            "nodeName": "gke-mlxp-training-3a10-0",
            "restartPolicy": "Never",
            "containers": [{"name": "trainer", "image": "ghcr.io/mlxp/trainer:2.4"}],
        },
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("created");

    let running = step_until(&sim, &pods, "train-once", Duration::from_secs(2), 10, |p| {
        phase(p) == "Running"
    })
    .await;
    assert!(running["status"]["containerStatuses"][0]["state"]["running"].is_object());
    // Nothing ends before its time.
    sim.advance(Duration::from_secs(10 * 60));
    let midway = serde_json::to_value(pods.get("train-once").await.expect("pod")).expect("json");
    assert_eq!(phase(&midway), "Running");
    // The log grows epoch by epoch while it runs.
    let midway_logs = pods
        .logs("train-once", &LogParams::default())
        .await
        .expect("logs");
    assert!(midway_logs.contains("epoch 4/10"), "{midway_logs}");
    assert!(
        !midway_logs.contains("epoch 10/10") && !midway_logs.contains("training finished"),
        "{midway_logs}"
    );

    let done = step_until(
        &sim,
        &pods,
        "train-once",
        Duration::from_secs(60),
        15,
        |p| phase(p) == "Succeeded",
    )
    .await;
    let message = done["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
        .as_str()
        .expect("termination message");
    let metrics: Value = serde_json::from_str(message).expect("metrics are JSON");
    assert!(metrics["accuracy"].as_f64().is_some(), "{metrics}");
    let logs = pods
        .logs("train-once", &LogParams::default())
        .await
        .expect("logs");
    assert!(logs.contains("training finished"), "{logs}");
    assert_eq!(
        logs.matches("epoch ").count(),
        10,
        "each epoch once: {logs}"
    );
}

fn gpu_pod(name: &str, gpus: u32, tolerate: bool) -> Pod {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": {"sim.mlxp.io/duration": "30m"}},
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {"mlxp.io/pool": "training"},
            "containers": [{"name": "trainer", "image": "ghcr.io/mlxp/trainer:2.4",
                            "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}}}],
        },
    });
    if tolerate {
        pod["spec"]["tolerations"] =
            json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]);
    }
    serde_json::from_value(pod).expect("pod")
}

#[tokio::test]
async fn a_gpu_pod_lands_on_a_tolerating_gpu_node_with_free_gpus() {
    let sim = start().await;
    let pods: Api<Pod> = Api::namespaced(sim.client(false).await.expect("client"), "training");
    pods.create(&PostParams::default(), &gpu_pod("fits", 8, true))
        .await
        .expect("created");
    let running = step_until(&sim, &pods, "fits", Duration::from_secs(2), 10, |p| {
        phase(p) == "Running"
    })
    .await;
    // Three of the four training nodes already run an 8-GPU pod: only one has room.
    assert_eq!(running["spec"]["nodeName"], "gke-mlxp-training-3a13-3");
    let scheduled = running["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "PodScheduled"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(scheduled["status"], "True");
}

#[tokio::test]
async fn a_pod_no_node_can_hold_stays_pending_and_says_why() {
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "training");
    pods.create(&PostParams::default(), &gpu_pod("too-big", 16, true))
        .await
        .expect("created");
    pods.create(&PostParams::default(), &gpu_pod("untolerated", 1, false))
        .await
        .expect("created");
    sim.advance(Duration::from_secs(5));
    for (name, reason) in [
        ("too-big", "Insufficient nvidia.com/gpu"),
        ("untolerated", "untolerated taint {nvidia.com/gpu: present}"),
    ] {
        let pod = serde_json::to_value(pods.get(name).await.expect("pod")).expect("json");
        assert_eq!(phase(&pod), "Pending");
        assert!(pod["spec"]["nodeName"].is_null(), "{pod}");
        let condition = pod["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "PodScheduled"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(condition["status"], "False");
        assert_eq!(condition["reason"], "Unschedulable");
        let message = condition["message"].as_str().unwrap_or("");
        assert!(
            message.starts_with("0/10 nodes are available:"),
            "{message}"
        );
        assert!(message.contains(reason), "{message}");

        let events: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(client.clone(), "training");
        let selector = format!("involvedObject.name={name},reason=FailedScheduling");
        let listed = events
            .list(&kube::api::ListParams::default().fields(&selector))
            .await
            .expect("events");
        assert_eq!(
            listed.items.len(),
            1,
            "one FailedScheduling event for {name}"
        );
        assert!(
            listed.items[0]
                .message
                .as_deref()
                .unwrap_or("")
                .contains(reason)
        );
    }
}

/// The whole path of a training run: Job → pod → scheduled on a free, tolerating GPU node →
/// runs → Succeeded with metrics → Job Complete → deleted with its pod after its TTL.
#[tokio::test]
async fn a_gpu_job_runs_completes_and_is_cleaned_up_after_its_ttl() {
    use k8s_openapi::api::batch::v1::Job;
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let jobs: Api<Job> = Api::namespaced(client.clone(), "training");
    let pods: Api<Pod> = Api::namespaced(client, "training");
    let job: Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "train-fraud-r9", "labels": {"mlxp.io/model": "fraud-detector"}},
        "spec": {
            "backoffLimit": 2,
            "ttlSecondsAfterFinished": 120,
            "template": {
                "metadata": {"annotations": {"sim.mlxp.io/duration": "10m"}},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"mlxp.io/pool": "training"},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [{"name": "trainer", "image": "ghcr.io/mlxp/trainer:2.4",
                                    "resources": {"limits": {"nvidia.com/gpu": "8"}}}],
                },
            },
        },
    }))
    .expect("job");
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("created");

    let selector =
        kube::api::ListParams::default().labels("batch.kubernetes.io/job-name=train-fraud-r9");
    let mut pod_name = None;
    for _ in 0..10 {
        sim.advance(Duration::from_secs(2));
        let listed = pods.list(&selector).await.expect("pods");
        if let Some(pod) = listed.items.first() {
            pod_name = pod.metadata.name.clone();
            break;
        }
    }
    let pod_name = pod_name.expect("the Job created a pod");
    let running = step_until(&sim, &pods, &pod_name, Duration::from_secs(2), 10, |p| {
        phase(p) == "Running"
    })
    .await;
    assert_eq!(running["spec"]["nodeName"], "gke-mlxp-training-3a13-3");

    let done = step_until(&sim, &pods, &pod_name, Duration::from_secs(60), 15, |p| {
        phase(p) == "Succeeded"
    })
    .await;
    let message = done["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
        .as_str()
        .unwrap_or("");
    assert!(message.contains("accuracy"), "{message}");

    sim.advance(Duration::from_secs(2));
    let job = serde_json::to_value(jobs.get("train-fraud-r9").await.expect("job")).expect("json");
    let complete = job["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Complete" && c["status"] == "True")
    });
    assert!(complete, "{}", job["status"]);
    assert_eq!(job["status"]["succeeded"], 1);

    // After the TTL the Job goes, and its pod with it.
    for _ in 0..10 {
        sim.advance(Duration::from_secs(30));
        if jobs.get_opt("train-fraud-r9").await.expect("get").is_none() {
            break;
        }
    }
    assert!(
        jobs.get_opt("train-fraud-r9").await.expect("get").is_none(),
        "deleted after its TTL"
    );
    assert!(
        pods.get_opt(&pod_name).await.expect("get").is_none(),
        "its pod went with it"
    );
}

/// Everything a run leaves in the cluster after a scripted few simulated minutes.
async fn scripted_run(seed: u64) -> Vec<Value> {
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Event;
    let sim = Sim::start(SimConfig {
        seed,
        manual_clock: true,
        start: mlxp_sim::testing::eight_am(),
        ..SimConfig::default()
    })
    .await
    .expect("sim starts");
    let client = sim.client(false).await.expect("client");
    let jobs: Api<Job> = Api::namespaced(client.clone(), "training");
    let job: Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "train-determinism"},
        "spec": {"template": {
            "metadata": {"annotations": {"sim.mlxp.io/duration": "5m"}},
            "spec": {"restartPolicy": "Never",
                     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                     "containers": [{"name": "t", "image": "trainer",
                     "resources": {"limits": {"nvidia.com/gpu": "8"}}}]},
        }},
    }))
    .expect("job");
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("created");
    for _ in 0..30 {
        sim.advance(Duration::from_secs(15));
    }
    let mut everything = Vec::new();
    let pods: Api<Pod> = Api::all(client.clone());
    for pod in pods.list(&Default::default()).await.expect("pods") {
        everything.push(serde_json::to_value(pod).expect("json"));
    }
    for job in Api::<Job>::all(client.clone())
        .list(&Default::default())
        .await
        .expect("jobs")
    {
        everything.push(serde_json::to_value(job).expect("json"));
    }
    for event in Api::<Event>::all(client)
        .list(&Default::default())
        .await
        .expect("events")
    {
        everything.push(serde_json::to_value(event).expect("json"));
    }
    everything
}

#[tokio::test]
async fn the_same_seed_gives_the_same_cluster_and_the_same_events() {
    let first = scripted_run(42).await;
    let second = scripted_run(42).await;
    let succeeded = first.iter().any(|o| o["status"]["phase"] == "Succeeded");
    let scheduled = first.iter().any(|o| o["reason"] == "Scheduled");
    assert!(
        succeeded && scheduled,
        "the run did something to compare: {first:?}"
    );
    assert_eq!(first, second);
    let other = scripted_run(43).await;
    assert_ne!(first, other, "another seed gives another cluster");
}

/// `DCGM_FI_DEV_GPU_UTIL` samples from `/metrics`: (Hostname, gpu index, pod, value).
async fn gpu_util(sim: &Sim) -> Vec<(String, String, String, f64)> {
    let text = mlxp_sim::testing::metrics(sim).await;
    let label = |line: &str, name: &str| {
        line.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("")
            .to_string()
    };
    text.lines()
        .filter(|l| l.starts_with("DCGM_FI_DEV_GPU_UTIL{"))
        .map(|l| {
            let value = l
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1.0);
            (
                label(l, "Hostname"),
                label(l, "gpu"),
                label(l, "pod"),
                value,
            )
        })
        .collect()
}

#[tokio::test]
async fn dcgm_metrics_follow_what_runs_on_each_gpu() {
    let sim = start().await;
    let samples = gpu_util(&sim).await;
    // 4 training nodes × 8 H100 and 2 serving nodes × 2 L4.
    assert_eq!(samples.len(), 36, "{samples:?}");
    let busy: Vec<_> = samples
        .iter()
        .filter(|s| s.2.starts_with("train-"))
        .collect();
    assert_eq!(busy.len(), 24, "three 8-GPU training pods");
    assert!(
        busy.iter().all(|s| s.3 >= 88.0),
        "training GPUs are busy: {busy:?}"
    );
    let free: Vec<_> = samples
        .iter()
        .filter(|s| s.0 == "gke-mlxp-training-3a13-3")
        .collect();
    assert_eq!(free.len(), 8);
    assert!(
        free.iter().all(|s| s.2.is_empty() && s.3 == 0.0),
        "{free:?}"
    );

    // A pod that holds a GPU and does nothing with it shows as ~0 %.
    let pods: Api<Pod> = Api::namespaced(sim.client(false).await.expect("client"), "training");
    let idle: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "notebook", "annotations": {"sim.mlxp.io/gpu-idle": "true"}},
        "spec": {"nodeSelector": {"mlxp.io/pool": "training"},
                 "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                 "containers": [{"name": "jupyter", "image": "jupyter",
                                 "resources": {"limits": {"nvidia.com/gpu": "1"}}}]},
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &idle)
        .await
        .expect("created");
    step_until(&sim, &pods, "notebook", Duration::from_secs(2), 10, |p| {
        phase(p) == "Running"
    })
    .await;
    let samples = gpu_util(&sim).await;
    let notebook: Vec<_> = samples.iter().filter(|s| s.2 == "notebook").collect();
    assert_eq!(notebook.len(), 1, "{samples:?}");
    assert!(
        notebook[0].3 <= 2.0,
        "allocated but idle: {:?}",
        notebook[0]
    );
}

/// A Deployment's pods come up Ready, roll over to a new template, and follow its scale.
#[tokio::test]
async fn a_deployment_rolls_out_and_scales() {
    use k8s_openapi::api::apps::v1::Deployment;
    use kube::api::{Patch, PatchParams};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "serving");
    let pods: Api<Pod> = Api::namespaced(client, "serving");
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "ranker-v8"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "ranker-v8"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "ranker-v8"}},
                "spec": {"containers": [{"name": "server", "image": "ghcr.io/mlxp/server:1.8",
                                         "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]},
            },
        },
    }))
    .expect("deployment");
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .expect("created");
    let selector = kube::api::ListParams::default().labels("app=ranker-v8");
    let ready = |d: &Deployment| {
        d.status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0)
    };
    let updated = |d: &Deployment| {
        d.status
            .as_ref()
            .and_then(|s| s.updated_replicas)
            .unwrap_or(0)
    };
    let mut settled = false;
    for _ in 0..20 {
        sim.advance(Duration::from_secs(2));
        if ready(&deployments.get("ranker-v8").await.expect("get")) == 3 {
            settled = true;
            break;
        }
    }
    assert!(settled, "3 ready replicas");
    assert_eq!(pods.list(&selector).await.expect("pods").items.len(), 3);

    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "server", "image": "ghcr.io/mlxp/server:1.9"}]}}}});
    deployments
        .patch(
            "ranker-v8",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("patched");
    let mut rolled = false;
    for _ in 0..40 {
        sim.advance(Duration::from_secs(2));
        let d = deployments.get("ranker-v8").await.expect("get");
        let listed = pods.list(&selector).await.expect("pods").items;
        let ready_pods = listed
            .iter()
            .filter(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        assert!(
            ready_pods >= 3,
            "maxUnavailable 0: never fewer than 3 ready ({ready_pods})"
        );
        let all_new = listed.iter().all(|p| {
            p.spec.as_ref().map(|s| s.containers[0].image.as_deref())
                == Some(Some("ghcr.io/mlxp/server:1.9"))
        });
        if updated(&d) == 3 && ready(&d) == 3 && listed.len() == 3 && all_new {
            rolled = true;
            break;
        }
    }
    assert!(rolled, "the rollout finished with 3 new pods");

    let scale = json!({"spec": {"replicas": 1}});
    deployments
        .patch_scale("ranker-v8", &PatchParams::default(), &Patch::Merge(&scale))
        .await
        .expect("scaled");
    sim.advance(Duration::from_secs(2));
    sim.advance(Duration::from_secs(2));
    assert_eq!(pods.list(&selector).await.expect("pods").items.len(), 1);
}

/// `mlxp_requests_total` for one model, per version, from `/metrics`.
async fn requests_by_version(sim: &Sim, model: &str) -> std::collections::BTreeMap<String, f64> {
    let text = mlxp_sim::testing::metrics(sim).await;
    let mut out = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("mlxp_requests_total{"))
    {
        if !line.contains(&format!("model=\"{model}\"")) {
            continue;
        }
        let version = line
            .split("version=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string();
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        *out.entry(version).or_insert(0.0) += value;
    }
    out
}

#[tokio::test]
async fn httproute_weights_split_the_requests_between_versions() {
    use kube::api::{Patch, PatchParams};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let routes = create_fraud_route(&client, 80, 20).await;
    sim.advance(Duration::from_secs(1));
    for _ in 0..10 {
        sim.advance(Duration::from_secs(6));
    }
    let first = requests_by_version(&sim, "fraud-detector").await;
    let (v1, v2) = (first["v1"], first["v2"]);
    assert!(v2 > 100.0, "{first:?}");
    let ratio = v1 / v2;
    assert!(
        (3.8..4.2).contains(&ratio),
        "80/20 split, got {ratio:.2} ({first:?})"
    );

    let weights = json!({"spec": {"rules": [{"backendRefs": [
        {"name": "fraud-detector-v1", "port": 8080, "weight": 0},
        {"name": "fraud-detector-v2", "port": 8080, "weight": 100},
    ]}]}});
    routes
        .patch(
            "fraud-detector",
            &PatchParams::default(),
            &Patch::Merge(&weights),
        )
        .await
        .expect("patched");
    for _ in 0..10 {
        sim.advance(Duration::from_secs(6));
    }
    let second = requests_by_version(&sim, "fraud-detector").await;
    assert_eq!(second["v1"], v1, "v1 gets nothing at weight 0");
    assert!(second["v2"] - v2 > 1000.0, "v2 takes it all: {second:?}");
}

/// An HPA scales a model version's Deployment up with its traffic, and back down once the
/// traffic is gone and the scale-down stabilization window has passed.
#[tokio::test]
async fn hpa_replicas_follow_the_traffic() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "serving");
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "serving");
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    );
    let routes: Api<DynamicObject> = Api::namespaced_with(client, "serving", &resource);
    let labels = json!({"app": "churn-v4", "mlxp.io/model": "churn", "mlxp.io/version": "v4"});
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "churn-v4"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "churn-v4"}},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "server", "image": "server",
                                       "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}}]}}},
    }))
    .expect("deployment");
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .expect("deployment");
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "churn-v4"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "churn-v4"},
                 "minReplicas": 1, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                              "target": {"type": "Utilization", "averageUtilization": 60}}}]},
    }))
    .expect("hpa");
    hpas.create(&PostParams::default(), &hpa)
        .await
        .expect("hpa");
    let route: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "churn", "labels": {"mlxp.io/model": "churn"}},
        "spec": {"rules": [{"backendRefs": [{"name": "churn-v4", "port": 8080, "weight": 100}]}]},
    }))
    .expect("route");
    routes
        .create(&PostParams::default(), &route)
        .await
        .expect("route");

    let replicas = |d: &Deployment| d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let mut peak = 1;
    for _ in 0..30 {
        sim.advance(Duration::from_secs(5));
        peak = peak.max(replicas(&deployments.get("churn-v4").await.expect("get")));
    }
    // ~100 requests/s at 50 per replica and a 60 % target needs more than one replica.
    assert!(peak >= 3, "scaled up with traffic: peak {peak}");
    let status = hpas
        .get("churn-v4")
        .await
        .expect("hpa")
        .status
        .expect("status");
    assert!(status.desired_replicas >= 3, "{status:?}");

    let off = json!({"spec": {"rules": [{"backendRefs": [{"name": "churn-v4", "port": 8080, "weight": 0}]}]}});
    routes
        .patch("churn", &PatchParams::default(), &Patch::Merge(&off))
        .await
        .expect("patched");
    sim.advance(Duration::from_secs(60));
    assert_eq!(
        replicas(&deployments.get("churn-v4").await.expect("get")),
        peak,
        "held by the 300 s scale-down stabilization window"
    );
    for _ in 0..30 {
        sim.advance(Duration::from_secs(15));
    }
    assert_eq!(
        replicas(&deployments.get("churn-v4").await.expect("get")),
        1,
        "back to minReplicas"
    );
}

/// `mlxp_model_drift_score` / `mlxp_model_accuracy` of one version, from `/metrics`.
async fn model_quality(sim: &Sim, model: &str, version: &str) -> (f64, f64) {
    let text = mlxp_sim::testing::metrics(sim).await;
    let labels = format!("{{model=\"{model}\",version=\"{version}\"}}");
    let value = |metric: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{metric}{labels}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {metric}{labels} in /metrics"))
    };
    (
        value("mlxp_model_accuracy"),
        value("mlxp_model_drift_score"),
    )
}

#[tokio::test]
async fn a_drifting_models_version_drifts_and_loses_accuracy_over_time() {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let api = |kind: &str, plural: &str| -> Api<DynamicObject> {
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("mlxp.io", "v1alpha1", kind),
            plural,
        );
        Api::namespaced_with(client.clone(), "serving", &resource)
    };
    for (api, object) in [
        (
            api("Model", "models"),
            json!({"apiVersion": "mlxp.io/v1alpha1", "kind": "Model",
            "metadata": {"name": "recsys", "annotations": {"sim.mlxp.io/drifting": "true"}},
            "spec": {"route": {"name": "recsys"}}}),
        ),
        (
            api("Model", "models"),
            json!({"apiVersion": "mlxp.io/v1alpha1", "kind": "Model",
            "metadata": {"name": "fraud"}, "spec": {"route": {"name": "fraud"}}}),
        ),
        (
            api("ModelVersion", "modelversions"),
            json!({"apiVersion": "mlxp.io/v1alpha1", "kind": "ModelVersion",
            "metadata": {"name": "recsys-v7"},
            "spec": {"model": "recsys", "version": "v7", "stage": "Production", "metrics": {"accuracy": 0.91}}}),
        ),
        (
            api("ModelVersion", "modelversions"),
            json!({"apiVersion": "mlxp.io/v1alpha1", "kind": "ModelVersion",
            "metadata": {"name": "fraud-v3"},
            "spec": {"model": "fraud", "version": "v3", "stage": "Production", "metrics": {"accuracy": 0.95}}}),
        ),
    ] {
        let object: DynamicObject = serde_json::from_value(object).expect("object");
        api.create(&PostParams::default(), &object)
            .await
            .expect("created");
    }
    let (recsys_accuracy, recsys_drift) = model_quality(&sim, "recsys", "v7").await;
    let (fraud_accuracy, _) = model_quality(&sim, "fraud", "v3").await;
    assert!(recsys_drift < 0.1 && (recsys_accuracy - 0.91).abs() < 0.01);
    sim.advance(Duration::from_secs(24 * 3600));
    let (later_accuracy, later_drift) = model_quality(&sim, "recsys", "v7").await;
    assert!(later_drift > 0.4, "drifted: {later_drift}");
    assert!(
        later_accuracy < recsys_accuracy - 0.1,
        "{recsys_accuracy} -> {later_accuracy}"
    );
    let (fraud_later, _) = model_quality(&sim, "fraud", "v3").await;
    assert!(
        (fraud_later - fraud_accuracy).abs() < 0.01,
        "a stable model keeps its accuracy"
    );
}

/// A kueue.x-k8s.io/v1beta1 kind.
fn kueue_kind(kind: &str, plural: &str) -> kube::api::ApiResource {
    kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("kueue.x-k8s.io", "v1beta1", kind),
        plural,
    )
}

/// The status condition of `kind` (Null when absent).
fn condition(object: &Value, kind: &str) -> Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Three 8-GPU Jobs queued into a ClusterQueue of 16 GPUs: Kueue suspends them, admits the
/// first two in order (unsuspended, with the flavor's node selector and toleration), keeps the
/// third at quota, and admits it once the first Job is done.
#[tokio::test]
async fn kueue_admits_queued_jobs_up_to_quota_and_releases_it_when_one_finishes() {
    use k8s_openapi::api::batch::v1::Job;
    use kube::api::DynamicObject;
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let flavors: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &kueue_kind("ResourceFlavor", "resourceflavors"),
    );
    let cqs: Api<DynamicObject> =
        Api::all_with(client.clone(), &kueue_kind("ClusterQueue", "clusterqueues"));
    let lqs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "training",
        &kueue_kind("LocalQueue", "localqueues"),
    );
    let workloads: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "training",
        &kueue_kind("Workload", "workloads"),
    );
    let jobs: Api<Job> = Api::namespaced(client, "training");
    let gpu_toleration =
        json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"});
    for (api, object) in [
        (
            &flavors,
            json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ResourceFlavor",
                "metadata": {"name": "h100-spot"},
                "spec": {"nodeLabels": {"mlxp.io/pool": "training"}, "tolerations": [gpu_toleration]}}),
        ),
        (
            &cqs,
            json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue",
                "metadata": {"name": "training"},
                "spec": {"namespaceSelector": {}, "queueingStrategy": "StrictFIFO",
                    "resourceGroups": [{"coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                        "flavors": [{"name": "h100-spot", "resources": [
                            {"name": "cpu", "nominalQuota": "1000"},
                            {"name": "memory", "nominalQuota": "10000Gi"},
                            {"name": "nvidia.com/gpu", "nominalQuota": "16"}]}]}]}}),
        ),
        (
            &lqs,
            json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue",
                "metadata": {"name": "training", "namespace": "training"},
                "spec": {"clusterQueue": "training"}}),
        ),
    ] {
        let object: DynamicObject = serde_json::from_value(object).expect("object");
        api.create(&PostParams::default(), &object)
            .await
            .expect("created");
    }

    let names = ["queued-0", "queued-1", "queued-2"];
    let get_job = async |name: &str| -> Value {
        serde_json::to_value(jobs.get(name).await.expect("job")).expect("json")
    };
    let workload_of = async |job: &str| -> Value {
        let listed = workloads
            .list(&Default::default())
            .await
            .expect("workloads");
        listed
            .items
            .into_iter()
            .map(|w| serde_json::to_value(w).expect("json"))
            .find(|w| w["metadata"]["ownerReferences"][0]["name"] == job)
            .unwrap_or(Value::Null)
    };
    let admitted = |wl: &Value| condition(wl, "Admitted")["status"] == "True";

    for (i, name) in names.iter().enumerate() {
        let job: Job = serde_json::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": "training"}},
            "spec": {"template": {
                "metadata": {"annotations": {"sim.mlxp.io/duration": "10m"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "trainer", "image": "ghcr.io/mlxp/trainer:2.4",
                                    "resources": {"limits": {"nvidia.com/gpu": "8"}}}],
                },
            }},
        }))
        .expect("job");
        jobs.create(&PostParams::default(), &job)
            .await
            .expect("created");
        for _ in 0..3 {
            sim.advance(Duration::from_secs(1));
        }
        // In order: each of the first two is admitted before the next one even exists.
        let wl = workload_of(name).await;
        assert_eq!(wl["spec"]["queueName"], "training", "{name} has a Workload");
        assert_eq!(admitted(&wl), i < 2, "{name}: {}", wl["status"]);
    }

    for name in &names[..2] {
        let job = get_job(name).await;
        assert_eq!(job["spec"]["suspend"], false, "{name} runs");
        let spec = &job["spec"]["template"]["spec"];
        assert_eq!(spec["nodeSelector"], json!({"mlxp.io/pool": "training"}));
        assert_eq!(spec["tolerations"], json!([gpu_toleration]));
        let wl = workload_of(name).await;
        assert_eq!(
            wl["status"]["admission"]["podSetAssignments"][0]["flavors"]["nvidia.com/gpu"],
            "h100-spot"
        );
    }
    let third = get_job("queued-2").await;
    assert_eq!(third["spec"]["suspend"], true, "the third waits suspended");
    // Suspended before the Job controller ran: it never got a pod.
    let pods: Api<Pod> = Api::namespaced(sim.client(false).await.expect("client"), "training");
    let third_pods = pods
        .list(&kube::api::ListParams::default().labels("batch.kubernetes.io/job-name=queued-2"))
        .await
        .expect("pods");
    assert!(third_pods.items.is_empty(), "no pods for a queued Job");
    let waiting = condition(&workload_of("queued-2").await, "QuotaReserved");
    assert_eq!(waiting["status"], "False");
    assert!(
        waiting["message"]
            .as_str()
            .is_some_and(|m| m.contains("insufficient unused quota")),
        "{waiting}"
    );
    let cq = serde_json::to_value(cqs.get("training").await.expect("cq")).expect("json");
    let gpus_in_use = cq["status"]["flavorsUsage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["name"] == "h100-spot")
        .flat_map(|f| f["resources"].as_array().cloned().unwrap_or_default())
        .find(|r| r["name"] == "nvidia.com/gpu")
        .map(|r| r["total"].clone());
    assert_eq!(gpus_in_use, Some(json!("16")), "{}", cq["status"]);
    assert_eq!(cq["status"]["admittedWorkloads"], 2);
    assert_eq!(cq["status"]["pendingWorkloads"], 1);
    // The same figures as Kueue's own metrics, for Prometheus.
    let metrics = mlxp_sim::testing::metrics(&sim).await;
    assert!(metrics.lines().any(|l| l == "kueue_cluster_queue_resource_usage{cluster_queue=\"training\",flavor=\"h100-spot\",resource=\"nvidia.com/gpu\"} 16"), "{metrics}");
    assert!(metrics.lines().any(|l| l == "kueue_pending_workloads{cluster_queue=\"training\",status=\"active\"} 1"));

    // The first Job's pod runs its 10 minutes; once the Job is Complete, its quota is free.
    let mut complete = false;
    for _ in 0..15 {
        sim.advance(Duration::from_secs(60));
        let job = get_job("queued-0").await;
        complete = job["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Complete" && c["status"] == "True")
        });
        if complete {
            break;
        }
    }
    assert!(complete, "the first Job completes");
    sim.advance(Duration::from_secs(1));
    let finished = condition(&workload_of("queued-0").await, "Finished");
    assert_eq!(finished["status"], "True", "{finished}");
    let third = workload_of("queued-2").await;
    assert!(admitted(&third), "{}", third["status"]);
    assert_eq!(get_job("queued-2").await["spec"]["suspend"], false);
}

fn training_nodes(nodes: &[k8s_openapi::api::core::v1::Node]) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| {
            n.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("mlxp.io/pool"))
                .map(String::as_str)
                == Some("training")
        })
        .filter_map(|n| n.metadata.name.clone())
        .collect()
}

/// Pending pods that fit a fresh node of the pool bring one up; once empty long enough it goes.
#[tokio::test]
async fn the_pool_autoscaler_adds_a_node_for_pending_pods_and_removes_it_when_idle() {
    use k8s_openapi::api::core::v1::Node;
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client, "training");
    let before = training_nodes(&nodes.list(&Default::default()).await.expect("nodes").items);
    assert_eq!(before.len(), 4);
    // One free training node: the second 8-GPU pod needs a new one.
    for name in ["big-a", "big-b"] {
        pods.create(&PostParams::default(), &gpu_pod(name, 8, true))
            .await
            .expect("created");
    }
    let mut grown = Vec::new();
    for _ in 0..30 {
        sim.advance(Duration::from_secs(10));
        grown = training_nodes(&nodes.list(&Default::default()).await.expect("nodes").items);
        if grown.len() == 5 {
            break;
        }
    }
    assert_eq!(grown.len(), 5, "a node was added: {grown:?}");
    let new_node: String = grown
        .iter()
        .find(|n| !before.contains(n))
        .cloned()
        .expect("new node");
    let placed = step_until(&sim, &pods, "big-b", Duration::from_secs(5), 20, |p| {
        phase(p) == "Running"
    })
    .await;
    let on = placed["spec"]["nodeName"].as_str().unwrap_or("");
    assert!(on == new_node || grown.contains(&on.to_string()), "{on}");

    for name in ["big-a", "big-b"] {
        pods.delete(name, &Default::default())
            .await
            .expect("deleted");
    }
    for _ in 0..40 {
        sim.advance(Duration::from_secs(30));
        if training_nodes(&nodes.list(&Default::default()).await.expect("nodes").items).len() == 4 {
            break;
        }
    }
    let after = training_nodes(&nodes.list(&Default::default()).await.expect("nodes").items);
    assert!(after.len() < 5, "an idle node was removed: {after:?}");
    assert!(after.len() >= 2, "never below the pool's min: {after:?}");
}

/// A reclaimed spot node fails its pods; their Job retries elsewhere; the node goes away.
#[tokio::test]
async fn a_preempted_spot_nodes_job_retries_elsewhere() {
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Node;
    use kube::api::{Patch, PatchParams};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    let jobs: Api<Job> = Api::namespaced(client.clone(), "training");
    let pods: Api<Pod> = Api::namespaced(client, "training");
    let job: Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "train-spot"},
        "spec": {"backoffLimit": 3, "template": {
            "metadata": {"annotations": {"sim.mlxp.io/duration": "2h"}},
            "spec": {"restartPolicy": "Never",
                     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                     "containers": [{"name": "t", "image": "trainer", "resources": {"limits": {"nvidia.com/gpu": "8"}}}]},
        }},
    }))
    .expect("job");
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("created");
    let selector =
        kube::api::ListParams::default().labels("batch.kubernetes.io/job-name=train-spot");
    let mut first = None;
    for _ in 0..20 {
        sim.advance(Duration::from_secs(2));
        let listed = pods.list(&selector).await.expect("pods").items;
        if let Some(p) = listed
            .iter()
            .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        {
            first = Some((
                p.metadata.name.clone().unwrap_or_default(),
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default(),
            ));
            break;
        }
    }
    let (first_pod, node) = first.expect("the Job's pod runs");
    nodes
        .patch(
            &node,
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"annotations": {"sim.mlxp.io/preempt": "true"}}})),
        )
        .await
        .expect("annotated");
    sim.advance(Duration::from_secs(10));
    let failed = serde_json::to_value(pods.get(&first_pod).await.expect("pod")).expect("json");
    assert_eq!(phase(&failed), "Failed");
    assert_eq!(failed["status"]["reason"], "Preempted");

    let mut retried = None;
    for _ in 0..60 {
        sim.advance(Duration::from_secs(10));
        let listed = pods.list(&selector).await.expect("pods").items;
        if let Some(p) = listed.iter().find(|p| {
            p.metadata.name.as_deref() != Some(first_pod.as_str())
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        }) {
            retried = p.spec.as_ref().and_then(|s| s.node_name.clone());
            break;
        }
    }
    let retried_on = retried.expect("the Job retried its pod");
    assert_ne!(retried_on, node, "not on the reclaimed node");
    let status = jobs
        .get("train-spot")
        .await
        .expect("job")
        .status
        .expect("status");
    assert_eq!(
        status.failed,
        Some(1),
        "the preempted pod counts against backoffLimit"
    );
    assert!(
        nodes.get_opt(&node).await.expect("get").is_none(),
        "the reclaimed node is gone"
    );
}

fn retrain_cronjob() -> k8s_openapi::api::batch::v1::CronJob {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "retrain-nightly"},
        "spec": {
            "schedule": "*/10 * * * *",
            "jobTemplate": {
                "metadata": {"labels": {"mlxp.io/model": "fraud-detector"}},
                "spec": {"template": {
                    "metadata": {"annotations": {"sim.mlxp.io/duration": "2m"}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "trainer", "image": "ghcr.io/mlxp/trainer:2.4"}],
                    },
                }},
            },
        },
    }))
    .expect("cronjob")
}

fn job_complete(job: &Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Complete" && c["status"] == "True")
    })
}

#[tokio::test]
async fn a_cronjob_starts_a_job_at_each_schedule_time() {
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), "training");
    let jobs: Api<Job> = Api::namespaced(client, "training");
    cronjobs
        .create(&PostParams::default(), &retrain_cronjob())
        .await
        .expect("created");
    // 08:00 → 08:35 in 30-second steps: runs at 08:10, 08:20 and 08:30.
    for _ in 0..70 {
        sim.advance(Duration::from_secs(30));
    }
    let listed = jobs.list(&Default::default()).await.expect("jobs");
    let mut ours: Vec<Value> = listed
        .items
        .iter()
        .map(|j| serde_json::to_value(j).expect("json"))
        .filter(|j| {
            j["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("retrain-nightly-"))
        })
        .collect();
    ours.sort_by_key(|j| j["metadata"]["name"].as_str().unwrap_or("").to_string());
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-29T08:00:00Z").expect("time");
    let names: Vec<String> = ours
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    let expected: Vec<String> = [10, 20, 30]
        .iter()
        .map(|m| format!("retrain-nightly-{}", start.timestamp() / 60 + m))
        .collect();
    assert_eq!(names, expected);
    for job in &ours {
        assert!(job_complete(job), "{}", job["status"]);
        assert_eq!(job["metadata"]["labels"]["mlxp.io/model"], "fraud-detector");
        assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
        let minutes: i64 = job["metadata"]["name"]
            .as_str()
            .and_then(|n| n.rsplit('-').next())
            .and_then(|m| m.parse().ok())
            .expect("minutes");
        let scheduled = chrono::DateTime::from_timestamp(minutes * 60, 0).expect("time");
        assert_eq!(
            job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"],
            scheduled.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        );
    }
    let cj =
        serde_json::to_value(cronjobs.get("retrain-nightly").await.expect("cj")).expect("json");
    assert_eq!(cj["status"]["lastScheduleTime"], "2026-11-29T08:30:00Z");
    assert!(
        cj["status"]["lastSuccessfulTime"].is_string(),
        "{}",
        cj["status"]
    );
    assert!(cj["status"]["active"].is_null(), "{}", cj["status"]);
}

/// What `kubectl create job manual-1 --from=cronjob/retrain-nightly` does: GET the CronJob,
/// POST a Job with its template's spec, the "manual" annotation and an owner reference.
#[tokio::test]
async fn kubectl_create_job_from_a_cronjob_runs_it_now() {
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), "training");
    let jobs: Api<Job> = Api::namespaced(client, "training");
    cronjobs
        .create(&PostParams::default(), &retrain_cronjob())
        .await
        .expect("created");
    let cj = cronjobs.get("retrain-nightly").await.expect("get");
    let template = cj.spec.as_ref().expect("spec").job_template.clone();
    let mut annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    annotations.insert("cronjob.kubernetes.io/instantiate".into(), "manual".into());
    let job = Job {
        metadata: kube::api::ObjectMeta {
            name: Some("manual-1".into()),
            annotations: Some(annotations),
            labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
            owner_references: Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    api_version: "batch/v1".into(),
                    kind: "CronJob".into(),
                    name: "retrain-nightly".into(),
                    uid: cj.metadata.uid.clone().expect("uid"),
                    controller: Some(true),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    };
    let params = PostParams {
        field_manager: Some("kubectl-create".into()),
        ..Default::default()
    };
    jobs.create(&params, &job)
        .await
        .expect("the Job is accepted");
    let mut done = Value::Null;
    for _ in 0..20 {
        sim.advance(Duration::from_secs(15));
        done = serde_json::to_value(jobs.get("manual-1").await.expect("job")).expect("json");
        if job_complete(&done) {
            break;
        }
    }
    assert!(job_complete(&done), "{}", done["status"]);
    // A manual run is not the CronJob's scheduled one, but a success is a success.
    let cj =
        serde_json::to_value(cronjobs.get("retrain-nightly").await.expect("cj")).expect("json");
    assert!(cj["status"]["active"].is_null(), "{}", cj["status"]);
    assert!(
        cj["status"]["lastSuccessfulTime"].is_string(),
        "{}",
        cj["status"]
    );
}

/// A pool kept at a fixed size gets a reclaimed spot node back, as a cloud instance group
/// recreates it, after the provisioning delay.
#[tokio::test]
async fn a_fixed_size_pool_gets_a_reclaimed_node_back() {
    use k8s_openapi::api::core::v1::{ConfigMap, Node};
    use kube::api::{Patch, PatchParams};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "kube-system");
    // Make the training pool fixed at its current 4 nodes.
    let pools_cm = config_maps.get("mlxp-sim-node-pools").await.expect("pools");
    let mut pools: Vec<Value> = serde_json::from_str(
        pools_cm
            .data
            .as_ref()
            .and_then(|d| d.get("pools.json"))
            .expect("pools.json"),
    )
    .expect("pools json");
    for pool in pools.iter_mut().filter(|p| p["name"] == "training") {
        pool["min"] = json!(4);
        pool["max"] = json!(4);
    }
    config_maps
        .patch(
            "mlxp-sim-node-pools",
            &PatchParams::default(),
            &Patch::Merge(
                &json!({"data": {"pools.json": serde_json::to_string(&pools).expect("json")}}),
            ),
        )
        .await
        .expect("pools patched");
    let before = training_nodes(&nodes.list(&Default::default()).await.expect("nodes").items);
    assert_eq!(before.len(), 4);
    let reclaimed = before[0].clone();
    nodes
        .patch(
            &reclaimed,
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"annotations": {"sim.mlxp.io/preempt": "true"}}})),
        )
        .await
        .expect("annotated");
    let mut gone = false;
    let mut now = before.clone();
    for _ in 0..40 {
        sim.advance(Duration::from_secs(10));
        now = training_nodes(&nodes.list(&Default::default()).await.expect("nodes").items);
        gone |= !now.contains(&reclaimed);
        if gone && now.len() == 4 {
            break;
        }
    }
    assert!(gone, "the reclaimed node went away");
    assert_eq!(now.len(), 4, "a replacement came: {now:?}");
    assert!(
        now.iter().any(|n| !before.contains(n)),
        "the replacement is a new node: {now:?}"
    );
}

/// The Events about one object, by its name and, when given, the Event's reason.
async fn events_about(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    reason: &str,
) -> Vec<k8s_openapi::api::core::v1::Event> {
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), namespace);
    let selector = format!("involvedObject.name={name},reason={reason}");
    events
        .list(&kube::api::ListParams::default().fields(&selector))
        .await
        .expect("events")
        .items
}

/// A Job whose pods keep failing past its backoffLimit fails, and the Job controller says
/// so in an Event on the Job, as kube's job-controller does; one that succeeds says so too.
#[tokio::test]
async fn a_job_past_its_backoff_limit_gets_a_warning_event_and_a_finished_one_a_normal_one() {
    use k8s_openapi::api::batch::v1::Job;
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let jobs: Api<Job> = Api::namespaced(client.clone(), "training");
    let job = |name: &str, fail: bool| -> Job {
        serde_json::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name},
            "spec": {"backoffLimit": 1, "template": {
                "metadata": {"annotations": {"sim.mlxp.io/duration": "1m",
                                             "sim.mlxp.io/fail": fail.to_string()}},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "t", "image": "trainer"}]},
            }},
        }))
        .expect("job")
    };
    for (name, fail) in [("train-doomed", true), ("train-fine", false)] {
        jobs.create(&PostParams::default(), &job(name, fail))
            .await
            .expect("created");
    }
    let finished = |job: &Value, kind: &str| {
        job["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
    };
    // Two failed pods (backoffLimit 1), with a backoff of 10s between them.
    for _ in 0..40 {
        sim.advance(Duration::from_secs(10));
        let doomed =
            serde_json::to_value(jobs.get("train-doomed").await.expect("job")).expect("json");
        if finished(&doomed, "Failed") {
            break;
        }
    }
    let doomed = serde_json::to_value(jobs.get("train-doomed").await.expect("job")).expect("json");
    assert!(finished(&doomed, "Failed"), "{}", doomed["status"]);
    let fine = serde_json::to_value(jobs.get("train-fine").await.expect("job")).expect("json");
    assert!(finished(&fine, "Complete"), "{}", fine["status"]);

    let failed = events_about(&client, "training", "train-doomed", "BackoffLimitExceeded").await;
    assert_eq!(
        failed.len(),
        1,
        "one BackoffLimitExceeded event: {failed:?}"
    );
    let event = &failed[0];
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(
        event.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
    assert_eq!(event.involved_object.kind.as_deref(), Some("Job"));
    assert_eq!(
        event.involved_object.api_version.as_deref(),
        Some("batch/v1")
    );
    assert_eq!(
        event.involved_object.uid,
        doomed["metadata"]["uid"].as_str().map(String::from)
    );
    assert_eq!(
        event.source.as_ref().and_then(|s| s.component.as_deref()),
        Some("job-controller")
    );
    assert_eq!(event.reporting_component.as_deref(), Some("job-controller"));

    let completed = events_about(&client, "training", "train-fine", "Completed").await;
    assert_eq!(completed.len(), 1, "one Completed event: {completed:?}");
    assert_eq!(completed[0].type_.as_deref(), Some("Normal"));
    assert_eq!(completed[0].message.as_deref(), Some("Job completed"));
    assert_eq!(completed[0].involved_object.kind.as_deref(), Some("Job"));
    // A successful Job says nothing of failing, and the other way round.
    assert!(
        events_about(&client, "training", "train-fine", "BackoffLimitExceeded")
            .await
            .is_empty()
    );
    assert!(
        events_about(&client, "training", "train-doomed", "Completed")
            .await
            .is_empty()
    );
}

/// Changing an HTTPRoute's weights is recorded as an Event on the route naming the new
/// split, so "what changed recently?" has an answer; a change elsewhere in the route is not.
#[tokio::test]
async fn patching_an_httproutes_weights_records_an_event_naming_them() {
    use kube::api::{Patch, PatchParams};
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let routes = create_fraud_route(&client, 90, 10).await;
    sim.advance(Duration::from_secs(5));
    // A new route is not a change of weights.
    assert!(
        events_about(&client, "serving", "fraud-detector", "WeightsChanged")
            .await
            .is_empty()
    );

    // Not the weights: nothing to say.
    let hostnames = json!({"spec": {"hostnames": ["fraud.models.mlxp.internal"]}});
    routes
        .patch(
            "fraud-detector",
            &PatchParams::default(),
            &Patch::Merge(&hostnames),
        )
        .await
        .expect("patched");
    sim.advance(Duration::from_secs(5));
    assert!(
        events_about(&client, "serving", "fraud-detector", "WeightsChanged")
            .await
            .is_empty()
    );

    let weights = json!({"spec": {"rules": [{"backendRefs": [
        {"name": "fraud-detector-v1", "port": 8080, "weight": 50},
        {"name": "fraud-detector-v2", "port": 8080, "weight": 50},
    ]}]}});
    let patched = routes
        .patch(
            "fraud-detector",
            &PatchParams::default(),
            &Patch::Merge(&weights),
        )
        .await
        .expect("patched");
    sim.advance(Duration::from_secs(5));
    let changed = events_about(&client, "serving", "fraud-detector", "WeightsChanged").await;
    assert_eq!(changed.len(), 1, "one WeightsChanged event: {changed:?}");
    let event = &changed[0];
    assert_eq!(event.type_.as_deref(), Some("Normal"));
    assert_eq!(event.involved_object.kind.as_deref(), Some("HTTPRoute"));
    assert_eq!(event.involved_object.uid, patched.metadata.uid);
    let message = event.message.as_deref().unwrap_or("");
    assert!(
        message.contains("fraud-detector-v1=50") && message.contains("fraud-detector-v2=50"),
        "names the new weights: {message}"
    );
    assert!(
        message.contains("fraud-detector-v1=90") && message.contains("fraud-detector-v2=10"),
        "and the old ones: {message}"
    );
    assert_eq!(
        event.reporting_component.as_deref(),
        Some("mlxp-sim-gateway")
    );
}

/// The fraud-detector HTTPRoute in `serving`, split v1/v2 by these weights.
async fn create_fraud_route(
    client: &kube::Client,
    v1: u32,
    v2: u32,
) -> Api<kube::api::DynamicObject> {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    );
    let routes: Api<DynamicObject> = Api::namespaced_with(client.clone(), "serving", &resource);
    let route: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "fraud-detector", "labels": {"mlxp.io/model": "fraud-detector"}},
        "spec": {"rules": [{"backendRefs": [
            {"name": "fraud-detector-v1", "port": 8080, "weight": v1},
            {"name": "fraud-detector-v2", "port": 8080, "weight": v2},
        ]}]},
    }))
    .expect("route");
    routes
        .create(&PostParams::default(), &route)
        .await
        .expect("created");
    routes
}

#[tokio::test]
async fn the_pods_of_a_deleted_node_are_removed_as_podgc_removes_them() {
    let sim = start().await;
    let client = sim.client(false).await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "training");
    pods.create(&PostParams::default(), &gpu_pod("orphan", 8, true))
        .await
        .expect("created");
    let running = step_until(&sim, &pods, "orphan", Duration::from_secs(2), 10, |p| {
        phase(p) == "Running"
    })
    .await;
    let node = running["spec"]["nodeName"]
        .as_str()
        .expect("bound")
        .to_string();
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client);
    nodes
        .delete(&node, &Default::default())
        .await
        .expect("node deleted");
    for _ in 0..10 {
        if pods.get_opt("orphan").await.expect("read").is_none() {
            return;
        }
        sim.advance(Duration::from_secs(2));
    }
    panic!("the pod of the deleted node {node} is still there");
}
