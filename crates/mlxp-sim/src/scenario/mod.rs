//! The platform scenario `mlxp sim` runs by default: an ML platform mid-day. Node pools by
//! role (spot and on-demand H100 for training, L4 and CPU for serving), a Kueue queue with
//! less GPU quota than the training demand, three models in production — one mid-canary
//! with a bad canary, one drifting, one stable — with their Deployments, HPAs and
//! HTTPRoutes, a notebook holding a GPU it does not use, and training Jobs that ran, failed,
//! run and wait. The controllers then play a warm-up period on the simulated clock, so the
//! cluster opens with history: finished Jobs, events, traffic counters.

use serde_json::{Value, json};

use super::api::ApiState;
use super::clock::timestamp;
use super::controllers::hpa_io::RPS_PER_REPLICA;
use super::controllers::kubelet::{DURATION, FAIL};
use super::controllers::kueue::QUEUE_NAME_LABEL;
use super::controllers::nodepools::{self, PoolSpec};

mod history;
mod shape;
use super::metrics::GPU_IDLE;
use super::quality::DRIFTING;
use super::traffic::{BAD, MODEL_LABEL, RPS};
pub use shape::Scale;

/// How long the controllers run before the server opens.
pub const WARM_UP_HOURS: i64 = 2;

fn create(state: &ApiState, object: Value) -> anyhow::Result<Value> {
    state
        .create_object(object)
        .map_err(|e| anyhow::anyhow!("scenario: {}", e.message))
}

pub fn populate(state: &ApiState, scale: Scale) -> anyhow::Result<()> {
    let now = timestamp(state.clock.now());
    let shape = scale.shape();
    let pools = shape.pools;
    let specs: Vec<PoolSpec> = pools.iter().map(|(p, _)| p.clone()).collect();
    create(state, nodepools::pools_configmap(&specs))?;
    let mut index = 0;
    let mut node_names: Vec<(String, String)> = Vec::new();
    for (pool, count) in &pools {
        for i in 0..*count {
            let name = format!("gke-mlxp-{}-{:05x}-{i}", pool.name, 0x3a000 + index);
            create(state, nodepools::node_object(pool, &name, index, &now))?;
            node_names.push((pool.name.clone(), name));
            index += 1;
        }
    }
    let on = |pool: &str, i: usize| -> String {
        let names: Vec<&String> = node_names
            .iter()
            .filter(|(p, _)| p == pool)
            .map(|(_, n)| n)
            .collect();
        names
            .get(i % names.len().max(1))
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    // What every cluster runs besides the workloads.
    for (namespace, name, app, image, node) in [
        (
            "kube-system",
            "coredns-5d78c9869d-8xq2v",
            "kube-dns",
            "registry.k8s.io/coredns/coredns:v1.11.3",
            on("system", 0),
        ),
        (
            "kube-system",
            "coredns-5d78c9869d-tk4lm",
            "kube-dns",
            "registry.k8s.io/coredns/coredns:v1.11.3",
            on("system", 1),
        ),
        (
            "mlxp-system",
            "mlxp-agent-7c9f8b6d4-qz2mx",
            "mlxp-agent",
            "ghcr.io/mlxp/mlxp:0.1.0",
            on("system", 2),
        ),
        (
            "monitoring",
            "prometheus-0",
            "prometheus",
            "quay.io/prometheus/prometheus:v2.53.0",
            on("monitoring", 0),
        ),
        (
            "monitoring",
            "grafana-6f9d8c7b5-x2kq9",
            "grafana",
            "grafana/grafana:11.1.0",
            on("monitoring", 1),
        ),
    ] {
        create(
            state,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
                "spec": {"nodeName": node, "containers": [{"name": app, "image": image,
                         "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}}}]},
            }),
        )?;
    }
    queues(state, shape.gpu_quota)?;
    models(state)?;
    training(state)?;
    fleet(state, shape.fleet_runs)?;
    create(
        state,
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": history::NAMESPACE, "labels": {"kubernetes.io/metadata.name": history::NAMESPACE}}}),
    )?;
    // Finished batch pods ran on the CPU pools.
    let cpu_nodes: Vec<String> = node_names
        .iter()
        .filter(|(pool, _)| pool == "serving-cpu" || pool == "system")
        .map(|(_, name)| name.clone())
        .collect();
    history::populate(state, shape.finished_pods, &cpu_nodes)?;
    // The waste the cockpit should point at: a GPU held by a notebook that does nothing.
    create(
        state,
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "notebook-ana-0", "namespace": "training",
                         "labels": {"app": "jupyter"}, "annotations": {GPU_IDLE: "true"}},
            "spec": {"nodeSelector": {"mlxp.io/pool": "training-ondemand"},
                     "tolerations": [gpu_toleration()],
                     "containers": [{"name": "jupyter", "image": "jupyter/pytorch-notebook:2024",
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"cpu": "2", "memory": "16Gi"}}}]},
        }),
    )?;
    Ok(())
}

fn gpu_toleration() -> Value {
    json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
}

fn queues(state: &ApiState, (spot, ondemand): (usize, usize)) -> anyhow::Result<()> {
    // The spot flavor names the spot label too, so a Job asking for spot (or not) is
    // steered by Kueue to the flavor that has it.
    for (flavor, labels) in [
        (
            "h100-spot",
            json!({"mlxp.io/pool": "training", "cloud.google.com/gke-spot": "true"}),
        ),
        (
            "h100-ondemand",
            json!({"mlxp.io/pool": "training-ondemand"}),
        ),
    ] {
        create(
            state,
            json!({
                "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ResourceFlavor",
                "metadata": {"name": flavor},
                "spec": {"nodeLabels": labels, "tolerations": [gpu_toleration()]},
            }),
        )?;
    }
    // Less quota than the training demand, so a queue forms.
    // Per GPU of quota, the CPU and memory its runs come with.
    let quota = |gpus: usize, cpu: usize, memory_gi: usize| {
        json!([{"name": "cpu", "nominalQuota": (gpus * cpu).to_string()},
               {"name": "memory", "nominalQuota": format!("{}Gi", gpus * memory_gi)},
               {"name": "nvidia.com/gpu", "nominalQuota": gpus.to_string()}])
    };
    create(
        state,
        json!({
            "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue",
            "metadata": {"name": "training"},
            "spec": {
                "namespaceSelector": {},
                "queueingStrategy": "BestEffortFIFO",
                "resourceGroups": [{
                    "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                    "flavors": [
                        {"name": "h100-spot", "resources": quota(spot, 25, 200)},
                        {"name": "h100-ondemand", "resources": quota(ondemand, 50, 375)},
                    ],
                }],
            },
        }),
    )?;
    create(
        state,
        json!({
            "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue",
            "metadata": {"name": "training", "namespace": "training"},
            "spec": {"clusterQueue": "training"},
        }),
    )?;
    Ok(())
}

/// (model, peak rps, rps per replica, drifting, [(version, stage, accuracy, weight, replicas, gpu, bad)])
type ModelSpec = (
    &'static str,
    u32,
    u32,
    bool,
    &'static [(&'static str, &'static str, f64, u32, u32, bool, bool)],
);

const MODELS: &[ModelSpec] = &[
    (
        "fraud-detector",
        300,
        100,
        false,
        &[
            ("v1", "Production", 0.941, 80, 3, true, false),
            ("v2", "Canary", 0.948, 20, 1, true, true),
        ],
    ),
    (
        "recsys-ranker",
        500,
        150,
        true,
        &[
            ("v6", "Archived", 0.902, 0, 0, true, false),
            ("v7", "Production", 0.915, 100, 2, true, false),
        ],
    ),
    (
        "churn-predictor",
        80,
        50,
        false,
        &[
            ("v2", "Archived", 0.871, 0, 0, false, false),
            ("v3", "Production", 0.884, 100, 2, false, false),
        ],
    ),
];

fn models(state: &ApiState) -> anyhow::Result<()> {
    for (model, peak, per_replica, drifting, versions) in MODELS {
        let mut annotations = json!({RPS: peak.to_string()});
        if *drifting {
            annotations[DRIFTING] = json!("true");
        }
        create(
            state,
            json!({
                "apiVersion": "mlxp.io/v1alpha1", "kind": "Model",
                "metadata": {"name": model, "namespace": "serving", "annotations": annotations},
                "spec": {
                    "description": format!("{model} model"),
                    "training": {"namespace": "training", "queueName": "training", "gpus": 8, "ttlSecondsAfterFinished": 3600,
                                 "template": trainer_template(model, json!({DURATION: "30m"}))},
                    "serving": {"namespace": "serving", "minReplicas": 1, "maxReplicas": 6, "targetUtilization": 60,
                                "template": serving_template(model, versions.iter().any(|v| v.5 && v.1 == "Production"))},
                    "validation": {"minAccuracy": 0.85, "maxLoss": 0.4},
                    "canary": {"steps": [{"weight": 10, "pauseSeconds": 600}, {"weight": 20, "pauseSeconds": 600},
                                         {"weight": 50, "pauseSeconds": 900}, {"weight": 100}],
                               "maxErrorRate": 0.01, "maxP99LatencySeconds": 0.5},
                    "drift": {"threshold": 0.3, "retrainCooldownSeconds": 21600},
                    "route": {"name": model, "namespace": "serving"},
                },
            }),
        )?;
        let mut backends = Vec::new();
        for (version, stage, accuracy, weight, replicas, gpu, bad) in *versions {
            let mut mv_annotations = json!({});
            if *bad {
                mv_annotations[BAD] = json!("true");
            }
            create(
                state,
                json!({
                    "apiVersion": "mlxp.io/v1alpha1", "kind": "ModelVersion",
                    "metadata": {"name": format!("{model}-{version}"), "namespace": "serving", "annotations": mv_annotations},
                    "spec": {"model": model, "version": version, "stage": stage,
                             "artifactURI": format!("gs://mlxp-models/{model}/{version}/model.safetensors"),
                             "sourceJob": format!("train-{model}-{version}"),
                             "metrics": {"accuracy": accuracy, "loss": ((1.0 - accuracy) * 3.0 * 1000.0).round() / 1000.0}},
                }),
            )?;
            if *replicas == 0 {
                continue;
            }
            serving(state, model, version, *replicas, *gpu, *per_replica)?;
            backends.push(
                json!({"name": format!("{model}-{version}"), "port": 8080, "weight": weight}),
            );
        }
        create(
            state,
            json!({
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                "metadata": {"name": model, "namespace": "serving", "labels": {MODEL_LABEL: model}},
                "spec": {"parentRefs": [{"name": "mlxp-gateway", "namespace": "serving"}],
                         "hostnames": [format!("{model}.models.mlxp.internal")],
                         "rules": [{"backendRefs": backends}]},
            }),
        )?;
    }
    Ok(())
}

/// How a model's versions are served: the pod template of their Deployments (the Model's
/// `spec.serving.template`, which the agent deploys new versions from).
fn serving_template(model: &str, gpu: bool) -> Value {
    let (pool, resources, tolerations) = if gpu {
        (
            "serving-gpu",
            json!({"limits": {"nvidia.com/gpu": "1"}, "requests": {"cpu": "4", "memory": "16Gi"}}),
            json!([gpu_toleration()]),
        )
    } else {
        (
            "serving-cpu",
            json!({"requests": {"cpu": "2", "memory": "4Gi"}}),
            json!([]),
        )
    };
    json!({
        "metadata": {"labels": {MODEL_LABEL: model}},
        "spec": {"nodeSelector": {"mlxp.io/pool": pool}, "tolerations": tolerations,
                 "containers": [{"name": "server", "image": format!("ghcr.io/mlxp/{model}-server:1"),
                                 "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9000, "name": "grpc"}],
                                 "resources": resources}]},
    })
}

/// A version's Deployment and HPA.
fn serving(
    state: &ApiState,
    model: &str,
    version: &str,
    replicas: u32,
    gpu: bool,
    per_replica: u32,
) -> anyhow::Result<()> {
    let name = format!("{model}-{version}");
    let labels = json!({"app": name, MODEL_LABEL: model, "mlxp.io/version": version});
    let mut template = serving_template(model, gpu);
    template["metadata"]["labels"] = labels.clone();
    template["spec"]["containers"][0]["image"] = json!(format!("ghcr.io/mlxp/{model}:{version}"));
    create(
        state,
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "serving", "labels": labels,
                         "annotations": {RPS_PER_REPLICA: per_replica.to_string()}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": template,
            },
        }),
    )?;
    create(
        state,
        json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "serving"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": 1, "maxReplicas": 6,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]},
        }),
    )?;
    Ok(())
}

/// (name, model, pods × GPUs each, duration, fails)
const JOBS: &[(&str, &str, u32, &str, bool)] = &[
    (
        "train-churn-predictor-r7",
        "churn-predictor",
        1,
        "25m",
        false,
    ),
    ("train-fraud-detector-r11", "fraud-detector", 1, "8m", true),
    ("train-fraud-detector-r12", "fraud-detector", 1, "3h", false),
    ("train-recsys-ranker-r31", "recsys-ranker", 2, "4h", false),
    ("finetune-llm-r2", "llm-assistant", 4, "6h", false),
    ("train-vision-embed-r5", "vision-embed", 2, "3h", false),
    ("train-qa-ranker-r9", "qa-ranker", 1, "90m", false),
];

fn training(state: &ApiState) -> anyhow::Result<()> {
    for (name, model, pods, duration, fails) in JOBS {
        create(state, training_job(name, model, *pods, duration, *fails))?;
    }
    Ok(())
}

/// The teams' models a big platform trains besides the served ones.
const FLEET_MODELS: &[&str] = &[
    "llm-assistant",
    "vision-embed",
    "qa-ranker",
    "speech-asr",
    "ads-ctr",
    "search-embed",
    "fraud-detector",
    "recsys-ranker",
];

/// `runs` more single-node runs (8 GPUs each) of many lengths, every 29th failing; submitted
/// together, so the quota admits what it can and the rest queue.
fn fleet(state: &ApiState, runs: usize) -> anyhow::Result<()> {
    for i in 0..runs {
        let model = FLEET_MODELS[i % FLEET_MODELS.len()];
        let duration = format!("{}m", 45 + (i * 37) % 600);
        let name = format!("train-{model}-r{}", 100 + i);
        create(
            state,
            training_job(&name, model, 1, &duration, i % 29 == 28),
        )?;
    }
    Ok(())
}

/// A training Job through the `training` queue: `pods` pods of 8 GPUs each that run for
/// `duration`, or fail when `fails`.
fn training_job(name: &str, model: &str, pods: u32, duration: &str, fails: bool) -> Value {
    let mut annotations = json!({DURATION: duration});
    if fails {
        annotations[FAIL] = json!("true");
        annotations["sim.mlxp.io/result"] =
            json!("RuntimeError: CUDA out of memory. Tried to allocate 12.00 GiB");
    }
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "training",
                     "labels": {MODEL_LABEL: model, QUEUE_NAME_LABEL: "training"}},
        "spec": {
            "parallelism": pods, "completions": pods,
            "backoffLimit": if fails { 1 } else { 4 },
            "ttlSecondsAfterFinished": 86400,
            "template": trainer_template(model, annotations),
        },
    })
}

/// The trainer's pod template: one 8-GPU pod running `--model MODEL`. A Model's
/// `spec.training.template` is this too, so a retrain makes a Job like the seeded ones.
fn trainer_template(model: &str, annotations: Value) -> Value {
    json!({
        "metadata": {"labels": {MODEL_LABEL: model}, "annotations": annotations},
        "spec": {"restartPolicy": "Never",
                 "containers": [{"name": "trainer", "image": "ghcr.io/mlxp/trainer:2.4",
                                 "args": ["--model", model, "--epochs", "20"],
                                 "resources": {"limits": {"nvidia.com/gpu": "8"},
                                               "requests": {"cpu": "96", "memory": "900Gi"}}}]},
    })
}
