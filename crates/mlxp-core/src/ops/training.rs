//! Retraining a model: a `batch/v1` Job made from the Model's own `spec.training` (its pod
//! template, GPUs, Kueue queue, TTL), named for the next run so that a repeated retrain
//! meets AlreadyExists instead of making a second Job.

use serde_json::{Value, json};

use super::{Actor, Op, Plan, Refused, Request, Target};
use crate::domain::objects::Job;
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

const MODEL_LABEL: &str = "mlxp.io/model";
const QUEUE_LABEL: &str = "kueue.x-k8s.io/queue-name";
const RUN_LABEL: &str = "mlxp.io/run";

/// The run number of a training Job named `train-MODEL-rN`.
fn run_of(job: &Job, model: &str) -> Option<u32> {
    job.meta
        .name
        .strip_prefix(&format!("train-{model}-r"))?
        .parse()
        .ok()
}

pub(super) fn retrain(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    force: bool,
    actor: &Actor,
) -> Result<Plan, Refused> {
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
    if !active.is_empty() && !force {
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
    let job = job(model, &name, jobs_ns, training, template);
    let job_target = Target::namespaced(KindName::Jobs, jobs_ns, &name);
    let model_target = Target::namespaced(KindName::Models, namespace, model);
    let time = actor.stamp();
    let gpus = training["gpus"].as_i64().unwrap_or(0);
    Ok(Plan {
        op: op.clone(),
        effect: format!(
            "{model}: training Job {jobs_ns}/{name} ({gpus} GPUs a pod{})",
            training["queueName"]
                .as_str()
                .map(|q| format!(", queue {q}"))
                .unwrap_or_default()
        ),
        requests: vec![
            Request::create(&job_target, job),
            Request::merge_status(
                &model_target,
                json!({"status": {"lastTrainingJob": name, "lastRetrainTime": time}}),
            ),
        ],
        target: model_target,
        reason: "RetrainTriggered",
    })
}

/// The Job: the Model's pod template, its GPUs on every container that asks for none, its
/// queue and TTL, labelled with the model and the run.
fn job(model: &str, name: &str, namespace: &str, training: &Value, mut template: Value) -> Value {
    let run = name.rsplit('-').next().unwrap_or_default();
    template["metadata"]["labels"][MODEL_LABEL] = json!(model);
    template["metadata"]["labels"][RUN_LABEL] = json!(run);
    if template["spec"]["restartPolicy"].is_null() {
        template["spec"]["restartPolicy"] = json!("Never");
    }
    if let Some(gpus) = training["gpus"].as_i64().filter(|g| *g > 0)
        && let Some(containers) = template["spec"]["containers"].as_array_mut()
    {
        for c in containers {
            if c["resources"]["limits"]["nvidia.com/gpu"].is_null() {
                c["resources"]["limits"]["nvidia.com/gpu"] = json!(gpus.to_string());
            }
        }
    }
    let mut labels = json!({MODEL_LABEL: model, RUN_LABEL: run});
    if let Some(queue) = training["queueName"].as_str() {
        labels[QUEUE_LABEL] = json!(queue);
    }
    let mut spec = json!({"backoffLimit": 4, "template": template});
    if let Some(ttl) = training["ttlSecondsAfterFinished"].as_i64() {
        spec["ttlSecondsAfterFinished"] = json!(ttl);
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    })
}
