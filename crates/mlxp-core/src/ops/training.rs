//! Training a model: a `batch/v1` Job made from the Model's own `spec.training` (its pod
//! template, GPUs, Kueue queue, TTL) with the user's overrides (GPUs, pool, GPU product,
//! spot or on-demand, image, hyperparameters, dataset, queue), named for the next run so
//! that a repeated create meets AlreadyExists instead of making a second Job. Retrain is
//! Train with the Model's defaults, refused while one of its runs is active.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Actor, Op, Plan, Refused, Request, Target};
use crate::domain::objects::Job;
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

const MODEL_LABEL: &str = "mlxp.io/model";
const QUEUE_LABEL: &str = "kueue.x-k8s.io/queue-name";
const RUN_LABEL: &str = "mlxp.io/run";
const POOL_LABEL: &str = "mlxp.io/pool";
const PRODUCT_LABEL: &str = "nvidia.com/gpu.product";
const SPOT_LABEL: &str = "cloud.google.com/gke-spot";

/// What a training run changes of its Model's defaults; None / empty: the default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Overrides {
    /// GPUs per pod.
    pub gpus: Option<i64>,
    /// The node pool (`mlxp.io/pool`).
    pub pool: Option<String>,
    /// The GPU product (`nvidia.com/gpu.product`).
    pub product: Option<String>,
    pub capacity: Option<Capacity>,
    /// The first container's image.
    pub image: Option<String>,
    /// Hyperparameters, as environment variables of the first container.
    pub env: Vec<(String, String)>,
    /// As `DATASET_URI` in the first container's environment.
    pub dataset: Option<String>,
    /// The Kueue LocalQueue (in the Jobs' namespace).
    pub queue: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capacity {
    Spot,
    OnDemand,
}

/// The run number of a training Job named `train-MODEL-rN`.
fn run_of(job: &Job, model: &str) -> Option<u32> {
    job.meta
        .name
        .strip_prefix(&format!("train-{model}-r"))?
        .parse()
        .ok()
}

/// What is wrong with `overrides` for a run of `model`, field by field (empty: nothing);
/// the launch form shows these as the user types.
pub fn check_overrides(
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    overrides: &Overrides,
) -> Vec<(&'static str, String)> {
    let mut wrong = Vec::new();
    let Some(found) = snapshot.models.get(namespace, model) else {
        wrong.push(("model", format!("no model {model} in {namespace}")));
        return wrong;
    };
    let jobs_ns = found.training["namespace"].as_str().unwrap_or(namespace);
    let nodes: Vec<_> = snapshot
        .nodes
        .values()
        .filter(|n| n.capacity.gpus > 0)
        .filter(|n| {
            overrides
                .pool
                .as_deref()
                .is_none_or(|p| n.meta.label(POOL_LABEL) == Some(p))
        })
        .filter(|n| {
            overrides
                .product
                .as_deref()
                .is_none_or(|p| n.meta.label(PRODUCT_LABEL) == Some(p))
        })
        .filter(|n| match overrides.capacity {
            Some(Capacity::Spot) => n.meta.label(SPOT_LABEL) == Some("true"),
            Some(Capacity::OnDemand) => n.meta.label(SPOT_LABEL) != Some("true"),
            None => true,
        })
        .collect();
    if let Some(pool) = &overrides.pool
        && !snapshot
            .nodes
            .values()
            .any(|n| n.meta.label(POOL_LABEL) == Some(pool))
    {
        wrong.push(("pool", format!("no node pool {pool}")));
    } else if let Some(product) = &overrides.product
        && !snapshot
            .nodes
            .values()
            .any(|n| n.meta.label(PRODUCT_LABEL) == Some(product))
    {
        wrong.push(("product", format!("no node has GPU product {product}")));
    } else if nodes.is_empty()
        && (overrides.pool.is_some() || overrides.product.is_some() || overrides.capacity.is_some())
    {
        wrong.push((
            "pool",
            "no GPU node has that pool, product and capacity together".to_string(),
        ));
    }
    let gpus = overrides.gpus.or(found.training["gpus"].as_i64());
    if let Some(gpus) = gpus {
        let largest = nodes.iter().map(|n| n.capacity.gpus).max().unwrap_or(0);
        if gpus < 1 {
            wrong.push(("gpus", format!("{gpus} GPUs: a run needs at least 1")));
        } else if largest > 0 && gpus > largest {
            wrong.push((
                "gpus",
                format!("{gpus} GPUs a pod: the largest node there holds {largest}"),
            ));
        }
    }
    let queue = overrides
        .queue
        .as_deref()
        .or(found.training["queueName"].as_str());
    if let Some(queue) = queue
        && snapshot.local_queues.get(jobs_ns, queue).is_none()
    {
        wrong.push(("queue", format!("no LocalQueue {queue} in {jobs_ns}")));
    }
    if overrides.image.as_deref().is_some_and(str::is_empty) {
        wrong.push((
            "image",
            "an image name, or nothing for the default".to_string(),
        ));
    }
    for (key, _) in &overrides.env {
        let valid = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            wrong.push((
                "env",
                format!("{key:?} is not an environment variable name (letters, digits, _)"),
            ));
        }
    }
    wrong
}

/// The request kinds: a run asked for (Train) or the Model's own retrain (Retrain).
pub(super) struct Asked<'a> {
    pub namespace: &'a str,
    pub model: &'a str,
    pub overrides: &'a Overrides,
    /// Retrain: refused while a run is active, unless forced.
    pub retrain: Option<bool>,
    /// The Job as the user changed it, sent instead of the one made here.
    pub job: Option<&'a Value>,
}

pub(super) fn train(
    op: &Op,
    snapshot: &Snapshot,
    asked: Asked,
    actor: &Actor,
) -> Result<Plan, Refused> {
    let Asked {
        namespace,
        model,
        overrides,
        retrain,
        job: edited,
    } = asked;
    let found = snapshot
        .models
        .get(namespace, model)
        .ok_or_else(|| Refused::NotFound(format!("no model {model} in {namespace}")))?;
    let training = &found.training;
    let template = training["template"].clone();
    if !template["spec"]["containers"].is_array() {
        return Err(Refused::Precondition(format!(
            "{model} has no training template (spec.training.template with containers)"
        )));
    }
    let wrong = check_overrides(snapshot, namespace, model, overrides);
    if !wrong.is_empty() {
        let said: Vec<String> = wrong.into_iter().map(|(_, why)| why).collect();
        return Err(Refused::Precondition(said.join("; ")));
    }
    let jobs_ns = training["namespace"].as_str().unwrap_or(namespace);
    let jobs: Vec<&Job> = snapshot
        .jobs
        .values()
        .map(|j| j.as_ref())
        .filter(|j| j.meta.namespace == jobs_ns && j.meta.label(MODEL_LABEL) == Some(model))
        .collect();
    let active: Vec<&str> = jobs
        .iter()
        .filter(|j| !j.complete() && !j.failed_for_good())
        .map(|j| j.meta.name.as_str())
        .collect();
    if !active.is_empty() && retrain == Some(false) {
        return Err(Refused::Precondition(format!(
            "{model} is already training ({}): retrain it when that ends, or force it",
            active.join(", ")
        )));
    }
    let run = jobs
        .iter()
        .filter_map(|j| run_of(j, model))
        .max()
        .unwrap_or(0)
        + 1;
    let name = format!("train-{model}-r{run}");
    let spec = RunSpec::of(training, overrides, snapshot);
    // A retrain (the Model's defaults, no one chose) runs on spot where its queue has
    // spot quota free for it: the cheaper capacity first, as GPU cost asks.
    let mut overrides = overrides.clone();
    let mut spot = None;
    if retrain.is_some() && overrides.capacity.is_none() && !pins_capacity(&template) {
        spot = spot_with_room(snapshot, jobs_ns, spec.queue.as_deref(), spec.gpus);
        if spot.is_some() {
            overrides.capacity = Some(Capacity::Spot);
        }
    }
    let made = job(model, &name, jobs_ns, &spec, template, &overrides);
    let job = match edited {
        None => made,
        Some(edited) => {
            let meta = &edited["metadata"];
            if meta["name"].as_str() != Some(name.as_str())
                || meta["namespace"].as_str() != Some(jobs_ns)
                || edited["kind"] != "Job"
            {
                return Err(Refused::Precondition(format!(
                    "the edited run must stay Job {jobs_ns}/{name}: its name is the model's next run"
                )));
            }
            edited.clone()
        }
    };
    let job_target = Target::namespaced(KindName::Jobs, jobs_ns, &name);
    let model_target = Target::namespaced(KindName::Models, namespace, model);
    let mut status = json!({"lastTrainingJob": name});
    if retrain.is_some() {
        status["lastRetrainTime"] = json!(actor.stamp());
    }
    Ok(Plan {
        op: op.clone(),
        effect: format!(
            "{model}: training Job {jobs_ns}/{name} ({} GPUs a pod{}{})",
            spec.gpus,
            spec.pool
                .as_deref()
                .map(|p| format!(", pool {p}"))
                .unwrap_or_default(),
            spec.queue
                .as_deref()
                .map(|q| format!(", queue {q}"))
                .unwrap_or_default()
        ) + &spot
            .map(|(flavor, free)| format!(", on spot: flavor {flavor} has {free} GPUs free"))
            .unwrap_or_default(),
        requests: vec![
            Request::create(&job_target, job),
            Request::merge_status(&model_target, json!({ "status": status })),
        ],
        target: model_target,
        reason: if retrain.is_some() {
            "RetrainTriggered"
        } else {
            "TrainingLaunched"
        },
    })
}

/// Whether the pod template already says spot or on-demand (a selector or an affinity on
/// the spot label): then it is not for a retrain to choose.
fn pins_capacity(template: &Value) -> bool {
    let pod = &template["spec"];
    !pod["nodeSelector"][SPOT_LABEL].is_null()
        || pod["affinity"]["nodeAffinity"]
            .to_string()
            .contains(SPOT_LABEL)
}

/// The first spot flavor of the queue's ClusterQueue with `gpus` of GPU quota free, and
/// how many are free: (flavor, free). None when the queue, its flavors or their kinds are
/// not known — Kueue then chooses as the ClusterQueue orders them.
fn spot_with_room(
    snapshot: &Snapshot,
    namespace: &str,
    queue: Option<&str>,
    gpus: i64,
) -> Option<(String, i64)> {
    let local = snapshot.local_queues.get(namespace, queue?)?;
    let cluster = snapshot.cluster_queues.get("", &local.cluster_queue)?;
    cluster.flavors.iter().find_map(|f| {
        let free = f.gpu_quota - f.gpu_used;
        let spot = snapshot
            .resource_flavors
            .get("", &f.flavor)
            .is_some_and(|rf| rf.spot());
        (spot && free >= gpus.max(1)).then(|| (f.flavor.clone(), free))
    })
}

/// The run's settings: the Model's, with the overrides laid over them.
struct RunSpec {
    gpus: i64,
    pool: Option<String>,
    queue: Option<String>,
    ttl: Option<i64>,
    /// The taints of the pool's nodes, tolerated.
    tolerations: Vec<Value>,
}

impl RunSpec {
    fn of(training: &Value, overrides: &Overrides, snapshot: &Snapshot) -> RunSpec {
        let pool = overrides.pool.clone();
        let mut tolerations: Vec<Value> = Vec::new();
        if let Some(pool) = &pool {
            for node in snapshot.nodes.values() {
                if node.meta.label(POOL_LABEL) != Some(pool) {
                    continue;
                }
                for taint in &node.taints {
                    let toleration =
                        json!({"key": taint.key, "operator": "Exists", "effect": taint.effect});
                    if !tolerations.contains(&toleration) {
                        tolerations.push(toleration);
                    }
                }
            }
        }
        RunSpec {
            gpus: overrides.gpus.or(training["gpus"].as_i64()).unwrap_or(0),
            pool,
            queue: overrides
                .queue
                .clone()
                .or(training["queueName"].as_str().map(String::from)),
            ttl: training["ttlSecondsAfterFinished"].as_i64(),
            tolerations,
        }
    }
}

/// The Job: the Model's pod template with the run's GPUs, placement and environment, its
/// queue and TTL, labelled with the model and the run.
fn job(
    model: &str,
    name: &str,
    namespace: &str,
    spec: &RunSpec,
    mut template: Value,
    overrides: &Overrides,
) -> Value {
    let run = name.rsplit('-').next().unwrap_or_default();
    template["metadata"]["labels"][MODEL_LABEL] = json!(model);
    template["metadata"]["labels"][RUN_LABEL] = json!(run);
    let pod = &mut template["spec"];
    if pod["restartPolicy"].is_null() {
        pod["restartPolicy"] = json!("Never");
    }
    if let Some(pool) = &spec.pool {
        pod["nodeSelector"][POOL_LABEL] = json!(pool);
    }
    if let Some(product) = &overrides.product {
        pod["nodeSelector"][PRODUCT_LABEL] = json!(product);
    }
    match overrides.capacity {
        Some(Capacity::Spot) => pod["nodeSelector"][SPOT_LABEL] = json!("true"),
        Some(Capacity::OnDemand) => {
            pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": SPOT_LABEL, "operator": "NotIn", "values": ["true"]}]}]});
        }
        None => {}
    }
    if !spec.tolerations.is_empty() {
        let list = pod["tolerations"].as_array().cloned().unwrap_or_default();
        let mut list = list;
        for t in &spec.tolerations {
            if !list.contains(t) {
                list.push(t.clone());
            }
        }
        pod["tolerations"] = json!(list);
    }
    if let Some(containers) = pod["containers"].as_array_mut() {
        for (i, c) in containers.iter_mut().enumerate() {
            // The run's GPUs: the asked number on every container that asks for GPUs, or
            // the first when none does.
            let has_gpus = !c["resources"]["limits"]["nvidia.com/gpu"].is_null();
            if spec.gpus > 0 && (has_gpus || i == 0) && (overrides.gpus.is_some() || !has_gpus) {
                c["resources"]["limits"]["nvidia.com/gpu"] = json!(spec.gpus.to_string());
                if !c["resources"]["requests"]["nvidia.com/gpu"].is_null() {
                    c["resources"]["requests"]["nvidia.com/gpu"] = json!(spec.gpus.to_string());
                }
            }
        }
        if let Some(first) = containers.first_mut() {
            if let Some(image) = &overrides.image {
                first["image"] = json!(image);
            }
            let mut env: Vec<(String, String)> = overrides.env.clone();
            if let Some(dataset) = &overrides.dataset {
                env.push(("DATASET_URI".into(), dataset.clone()));
            }
            if !env.is_empty() {
                let mut list = first["env"].as_array().cloned().unwrap_or_default();
                for (key, value) in env {
                    list.retain(|e| e["name"] != key.as_str());
                    list.push(json!({"name": key, "value": value}));
                }
                first["env"] = json!(list);
            }
        }
    }
    let mut labels = json!({MODEL_LABEL: model, RUN_LABEL: run});
    if let Some(queue) = &spec.queue {
        labels[QUEUE_LABEL] = json!(queue);
    }
    let mut job_spec = json!({"backoffLimit": 4, "template": template});
    if let Some(ttl) = spec.ttl {
        job_spec["ttlSecondsAfterFinished"] = json!(ttl);
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": job_spec,
    })
}
