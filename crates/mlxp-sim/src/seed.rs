//! The objects the embedded cluster starts with: namespaces, the bundled CRDs, node pools and
//! the pods on them. Deterministic for a seed. (The living scenario — controllers, queues,
//! models, traffic — builds on this in the next stage.)

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::api::ApiState;
use super::controllers::nodepools::{self, PoolSpec};
use super::{Scenario, SimConfig};
use super::{clock, ids, resources};

/// The default cluster's node pools, with how many nodes each starts with.
fn default_pools() -> Vec<(PoolSpec, usize)> {
    let pool = |name: &str,
                role: &str,
                min,
                max,
                spot,
                machine: &str,
                cpu,
                memory_gi,
                gpus,
                product: Option<&str>| PoolSpec {
        name: name.into(),
        role: role.into(),
        min,
        max,
        spot,
        machine_type: machine.into(),
        cpu,
        memory_gi,
        gpus,
        gpu_product: product.map(String::from),
        preemptions_per_hour: if spot { 0.02 } else { 0.0 },
    };
    vec![
        (
            pool(
                "system",
                "system",
                3,
                3,
                false,
                "e2-standard-8",
                8,
                32,
                0,
                None,
            ),
            3,
        ),
        (
            pool(
                "training",
                "training",
                2,
                8,
                true,
                "a3-highgpu-8g",
                208,
                1872,
                8,
                Some("NVIDIA-H100-80GB-HBM3"),
            ),
            4,
        ),
        (
            pool(
                "serving",
                "serving",
                2,
                4,
                false,
                "g2-standard-24",
                24,
                96,
                2,
                Some("NVIDIA-L4"),
            ),
            2,
        ),
        (
            pool(
                "monitoring",
                "monitoring",
                1,
                1,
                false,
                "e2-standard-16",
                16,
                64,
                0,
                None,
            ),
            1,
        ),
    ]
}

pub const NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "mlxp-system",
    "training",
    "serving",
    "monitoring",
];

/// Fills the store with the configured scenario.
pub fn populate(state: &ApiState, config: &SimConfig) -> anyhow::Result<()> {
    let create = |object: Value| {
        state
            .create_object(object)
            .map_err(|e| anyhow::anyhow!("seeding: {}", e.message))
    };
    for crd in resources::bundled_crds().map_err(anyhow::Error::msg)? {
        create(crd)?;
    }
    for ns in NAMESPACES {
        create(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}}),
        )?;
    }
    let mut rng = StdRng::seed_from_u64(config.seed);
    match config.scenario {
        Scenario::Pods(pods) => populate_scale(state, &mut rng, pods),
        Scenario::Basic => populate_default(state, &mut rng),
        Scenario::Platform { scale } => super::scenario::populate(state, scale),
    }
}

fn populate_default(state: &ApiState, rng: &mut StdRng) -> anyhow::Result<()> {
    let started = clock::timestamp(state.clock.now());
    let create = |object: Value| {
        state
            .create_object(object)
            .map_err(|e| anyhow::anyhow!("seeding: {}", e.message))
    };
    let pools = default_pools();
    let specs: Vec<PoolSpec> = pools.iter().map(|(p, _)| p.clone()).collect();
    create(nodepools::pools_configmap(&specs))?;
    let mut nodes_by_pool: Vec<(String, Vec<String>)> = Vec::new();
    for (p, (pool, count)) in pools.iter().enumerate() {
        let mut names = Vec::new();
        for i in 0..*count {
            let name = format!("gke-mlxp-{}-{:04x}-{i}", pool.name, 0x3a00 + p * 16 + i);
            create(nodepools::node_object(pool, &name, p * 16 + i, &started))?;
            names.push(name);
        }
        nodes_by_pool.push((pool.name.clone(), names));
    }
    let nodes = |pool: &str| -> Vec<String> {
        nodes_by_pool
            .iter()
            .find(|(p, _)| *p == pool)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let system = nodes("system");
    for (i, name) in ["coredns-5d78c9869d-8xq2v", "coredns-5d78c9869d-tk4lm"]
        .iter()
        .enumerate()
    {
        create(pod(
            rng,
            PodSpec {
                name,
                namespace: "kube-system",
                node: &system[i % system.len()],
                app: "kube-dns",
                image: "registry.k8s.io/coredns/coredns:v1.11.3",
                gpus: 0,
                labels: &[],
                owner: None,
                started: &started,
            },
        ))?;
    }
    create(pod(
        rng,
        PodSpec {
            name: "mlxp-agent-7c9f8b6d4-qz2mx",
            namespace: "mlxp-system",
            node: &system[0],
            app: "mlxp-agent",
            image: "ghcr.io/mlxp/mlxp:0.1.0",
            gpus: 0,
            labels: &[],
            owner: None,
            started: &started,
        },
    ))?;
    let monitoring = nodes("monitoring");
    create(pod(
        rng,
        PodSpec {
            name: "prometheus-0",
            namespace: "monitoring",
            node: &monitoring[0],
            app: "prometheus",
            image: "quay.io/prometheus/prometheus:v2.53.0",
            gpus: 0,
            labels: &[],
            owner: None,
            started: &started,
        },
    ))?;

    // Training: Jobs whose pods run on the spot GPU pool.
    let training = nodes("training");
    for (i, model) in ["fraud-detector", "recsys-ranker", "churn-predictor"]
        .iter()
        .enumerate()
    {
        let job_name = format!("train-{model}-r{}", 3 + i);
        let job = create_job(state, &job_name, model)?;
        let pod_name = format!("{job_name}-{}", ids::name_suffix(rng));
        let labels = [
            ("mlxp.io/model", *model),
            ("batch.kubernetes.io/job-name", job_name.as_str()),
        ];
        create(pod(
            rng,
            PodSpec {
                name: &pod_name,
                namespace: "training",
                node: &training[i % training.len()],
                app: "trainer",
                image: "ghcr.io/mlxp/trainer:2.4",
                gpus: 8,
                labels: &labels,
                owner: Some(("batch/v1", "Job", &job_name, &job)),
                started: &started,
            },
        ))?;
        append_training_log(state, "training", &pod_name, rng);
    }
    // Serving: one pod per model version on the serving pool.
    let serving = nodes("serving");
    for (i, (model, version)) in [
        ("fraud-detector", "v1"),
        ("fraud-detector", "v2"),
        ("recsys-ranker", "v7"),
        ("churn-predictor", "v3"),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("{model}-{version}-6b8f9c7d5-{}", ids::name_suffix(rng));
        let labels = [("mlxp.io/model", *model), ("mlxp.io/version", *version)];
        create(pod(
            rng,
            PodSpec {
                name: &name,
                namespace: "serving",
                node: &serving[i % serving.len()],
                app: model,
                image: "ghcr.io/mlxp/server:1.8",
                gpus: 1,
                labels: &labels,
                owner: None,
                started: &started,
            },
        ))?;
    }
    Ok(())
}

/// Nodes and pods for scale runs: `pods` pods spread 30 to a node over ten namespaces.
fn populate_scale(state: &ApiState, rng: &mut StdRng, pods: usize) -> anyhow::Result<()> {
    let started = clock::timestamp(state.clock.now());
    let (pool, _) = &default_pools()[1];
    let per_node = 30;
    let node_count = pods.div_ceil(per_node).max(1);
    let mut node_names = Vec::with_capacity(node_count);
    for i in 0..node_count {
        let name = format!("gke-mlxp-scale-{i:05}");
        state
            .create_object(nodepools::node_object(pool, &name, i, &started))
            .map_err(|e| anyhow::anyhow!("seeding: {}", e.message))?;
        node_names.push(name);
    }
    for ns in 0..10 {
        let name = format!("scale-{ns}");
        state
            .create_object(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
            )
            .map_err(|e| anyhow::anyhow!("seeding: {}", e.message))?;
    }
    for i in 0..pods {
        let name = format!("worker-{i:06}-{}", ids::name_suffix(rng));
        let namespace = format!("scale-{}", i % 10);
        let model = ["fraud-detector", "recsys-ranker", "churn-predictor"][i % 3];
        let labels = [("mlxp.io/model", model)];
        state
            .create_object(pod(
                rng,
                PodSpec {
                    name: &name,
                    namespace: &namespace,
                    node: &node_names[i / per_node],
                    app: "worker",
                    image: "ghcr.io/mlxp/trainer:2.4",
                    gpus: (i % 4 == 0) as u32,
                    labels: &labels,
                    owner: None,
                    started: &started,
                },
            ))
            .map_err(|e| anyhow::anyhow!("seeding: {}", e.message))?;
    }
    Ok(())
}

struct PodSpec<'a> {
    name: &'a str,
    namespace: &'a str,
    node: &'a str,
    app: &'a str,
    image: &'a str,
    gpus: u32,
    labels: &'a [(&'a str, &'a str)],
    /// When its containers started (the server's start).
    started: &'a str,
    /// (apiVersion, kind, name, uid) of the controlling owner.
    owner: Option<(&'a str, &'a str, &'a str, &'a str)>,
}

/// A running pod as a kubelet would report it.
fn pod(rng: &mut StdRng, spec: PodSpec<'_>) -> Value {
    let mut labels = json!({"app": spec.app});
    for (k, v) in spec.labels {
        labels[*k] = json!(v);
    }
    let mut resources =
        json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}});
    let mut tolerations = vec![
        json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}),
        json!({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}),
    ];
    if spec.gpus > 0 {
        resources["limits"]["nvidia.com/gpu"] = json!(spec.gpus.to_string());
        resources["requests"]["nvidia.com/gpu"] = json!(spec.gpus.to_string());
        tolerations
            .push(json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}));
    }
    let ip = format!(
        "10.{}.{}.{}",
        64 + rng.random_range(0..8),
        rng.random_range(0..250),
        rng.random_range(2..250)
    );
    let container_id = format!(
        "containerd://{:016x}{:016x}",
        rng.random::<u64>(),
        rng.random::<u64>()
    );
    let mut metadata = json!({"name": spec.name, "namespace": spec.namespace, "labels": labels});
    if spec.owner.is_some() {
        // Training runs end: six simulated hours after the server starts.
        metadata["annotations"] = json!({"sim.mlxp.io/duration": "6h"});
    }
    if let Some((api_version, kind, name, uid)) = spec.owner {
        metadata["ownerReferences"] = json!([{"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}]);
    }
    let started = spec.started;
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "nodeName": spec.node,
            "restartPolicy": if spec.owner.is_some() { "Never" } else { "Always" },
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "containers": [{
                "name": spec.app,
                "image": spec.image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "env": [{"name": "MLXP_NAMESPACE", "value": spec.namespace}, {"name": "MLXP_LOG_FORMAT", "value": "json"}],
                "resources": resources,
                "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}],
            "tolerations": tolerations,
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": started},
                {"type": "Initialized", "status": "True", "lastTransitionTime": started},
                {"type": "Ready", "status": "True", "lastTransitionTime": started},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": started},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
            ],
            "hostIP": "10.128.0.2",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": started,
            "qosClass": "Burstable",
            "containerStatuses": [{
                "name": spec.app, "ready": true, "started": true, "restartCount": 0,
                "image": spec.image, "imageID": format!("{}@sha256:{:016x}", spec.image, rng.random::<u64>()),
                "containerID": container_id,
                "state": {"running": {"startedAt": started}},
            }],
        },
    })
}

fn create_job(state: &ApiState, name: &str, model: &str) -> anyhow::Result<String> {
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "training", "labels": {"mlxp.io/model": model}},
        "spec": {
            "parallelism": 1, "completions": 1, "backoffLimit": 3, "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": {"mlxp.io/model": model}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "trainer", "image": "ghcr.io/mlxp/trainer:2.4", "resources": {"limits": {"nvidia.com/gpu": "8"}}}]},
            },
        },
        "status": {"active": 1, "startTime": clock::timestamp(state.clock.now()), "ready": 1},
    });
    state
        .create_object(job)
        .map_err(|e| anyhow::anyhow!("seeding: {}", e.message))?;
    let uid = state
        .store
        .get(&job_key(), "training", name)
        .map(|j| j.uid.to_string())
        .unwrap_or_default();
    Ok(uid)
}

fn job_key() -> resources::StoreKey {
    resources::StoreKey {
        group: "batch".into(),
        plural: "jobs".into(),
    }
}

fn append_training_log(state: &ApiState, namespace: &str, pod: &str, rng: &mut StdRng) {
    let Some(object) = state.store.get(
        &resources::StoreKey {
            group: String::new(),
            plural: "pods".into(),
        },
        namespace,
        pod,
    ) else {
        return;
    };
    let mut text = String::from(
        "loading dataset shards 0-63 from gs://mlxp-datasets/\nstarting training: 8 GPUs, global batch 2048\n",
    );
    let mut loss: f64 = 2.3;
    for epoch in 1..=5 {
        loss *= 0.72 + rng.random_range(0.0..0.05);
        text.push_str(&format!(
            "epoch {epoch}/20 step {} loss={loss:.4} lr=3.0e-4 throughput={:.1} samples/s\n",
            epoch * 500,
            9000.0 + rng.random_range(0.0..600.0)
        ));
    }
    state.store.append_log(&object.uid, &text);
}
