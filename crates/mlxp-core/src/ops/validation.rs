//! Validating a registered version: by its training metrics against its Model's thresholds,
//! or — when the Model has a validation Job template (`spec.validation.template`) — by the
//! metrics that Job hands back (its pod's termination message), the Job run first.

use serde_json::json;

use super::pipeline::{
    VERSION_LABEL, model, run_metrics, version_in, version_target, with_version_env,
};
use super::{Actor, Op, Plan, Refused, Request, Target};
use crate::domain::objects::{Job, Model};
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

/// The label a validation Job carries instead of `mlxp.io/model`, so that it is never
/// taken for a training run of its model.
const VALIDATES_LABEL: &str = "mlxp.io/validates";

/// Whether the Model validates its versions with a Job of its own.
pub fn has_validation_job(m: &Model) -> bool {
    m.validation["template"]["spec"]["containers"].is_array()
}

/// The validation Job of a version (namespace, name): one per version, so running it twice
/// meets AlreadyExists instead of making a second.
pub fn validation_job(m: &Model, version: &str) -> (String, String) {
    let ns = m.validation["namespace"]
        .as_str()
        .unwrap_or(&m.meta.namespace)
        .to_string();
    (ns, format!("validate-{}-{version}", m.meta.name))
}

/// The validation Job of a version as the snapshot has it.
pub fn validation_job_of<'a>(snapshot: &'a Snapshot, m: &Model, version: &str) -> Option<&'a Job> {
    let (ns, name) = validation_job(m, version);
    snapshot.jobs.get(&ns, &name).map(|j| j.as_ref())
}

/// Why metrics fall short of a Model's thresholds (None: they meet them). Missing metrics
/// fall short of a threshold that asks for them.
pub fn shortfall(model: &Model, accuracy: Option<f64>, loss: Option<f64>) -> Option<String> {
    let mut short = Vec::new();
    if let Some(min) = model.min_accuracy {
        match accuracy {
            Some(a) if a >= min => {}
            Some(a) => short.push(format!("accuracy {a} < {min}")),
            None => short.push(format!("no accuracy (at least {min} asked)")),
        }
    }
    if let Some(max) = model.max_loss {
        match loss {
            Some(l) if l <= max => {}
            Some(l) => short.push(format!("loss {l} > {max}")),
            None => short.push(format!("no loss (at most {max} asked)")),
        }
    }
    (!short.is_empty()).then(|| short.join(", "))
}

/// The version's validation Job, from the Model's template: the version and its artifact in
/// the first container's environment, never restarted nor retried (a failed validation is a
/// verdict, not a flake to hide).
pub(super) fn run_validation(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model_name: &str,
    version_name: &str,
) -> Result<Plan, Refused> {
    let m = model(snapshot, namespace, model_name)?;
    let v = version_in(snapshot, namespace, model_name, version_name, "Registered")?;
    if !has_validation_job(m) {
        return Err(Refused::Precondition(format!(
            "{model_name} has no validation template (spec.validation.template with containers)"
        )));
    }
    let (ns, name) = validation_job(m, version_name);
    let mut template = m.validation["template"].clone();
    template["metadata"]["labels"][VALIDATES_LABEL] = json!(model_name);
    template["metadata"]["labels"][VERSION_LABEL] = json!(version_name);
    template["spec"]["restartPolicy"] = json!("Never");
    with_version_env(&mut template, v);
    let mut labels = json!({VALIDATES_LABEL: model_name, VERSION_LABEL: version_name});
    if let Some(queue) = m.validation["queueName"].as_str() {
        labels["kueue.x-k8s.io/queue-name"] = json!(queue);
    }
    let target = Target::namespaced(KindName::Jobs, &ns, &name);
    Ok(Plan {
        op: op.clone(),
        effect: format!("{model_name} {version_name}: validation Job {ns}/{name} started"),
        requests: vec![Request::create(
            &target,
            json!({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": name, "namespace": ns, "labels": labels},
                   "spec": {"backoffLimit": 0, "template": template}}),
        )],
        target: version_target(namespace, v),
        reason: "ValidationStarted",
    })
}

/// What the version is judged on: its validation Job's metrics (the Job must have ended),
/// else its training metrics; or that the Job failed, a rejection without numbers.
fn evidence(snapshot: &Snapshot, m: &Model, version: &str) -> Result<Judged, Refused> {
    let v = version_in(
        snapshot,
        &m.meta.namespace,
        &m.meta.name,
        version,
        "Registered",
    )?;
    if !has_validation_job(m) {
        return Ok(Judged::Metrics {
            accuracy: v.accuracy,
            loss: v.loss,
            by: "its training metrics".into(),
        });
    }
    let (ns, name) = validation_job(m, version);
    let job = validation_job_of(snapshot, m, version).ok_or_else(|| {
        Refused::Precondition(format!(
            "{} {version} is validated by a Job: run it first (Job {ns}/{name})",
            m.meta.name
        ))
    })?;
    if job.failed_for_good() {
        return Ok(Judged::Failed(format!(
            "validation Job {ns}/{name} failed ({})",
            job.failure().unwrap_or_default()
        )));
    }
    if !job.complete() {
        return Err(Refused::Precondition(format!(
            "validation Job {ns}/{name} has not ended"
        )));
    }
    let metrics = run_metrics(snapshot, job).unwrap_or_default();
    Ok(Judged::Metrics {
        accuracy: metrics["accuracy"].as_f64(),
        loss: metrics["loss"].as_f64(),
        by: format!("the metrics of validation Job {ns}/{name}"),
    })
}

enum Judged {
    Metrics {
        accuracy: Option<f64>,
        loss: Option<f64>,
        by: String,
    },
    Failed(String),
}

pub(super) fn validate(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model_name: &str,
    version_name: &str,
    actor: &Actor,
) -> Result<Plan, Refused> {
    let m = model(snapshot, namespace, model_name)?;
    let v = version_in(snapshot, namespace, model_name, version_name, "Registered")?;
    let target = version_target(namespace, v);
    let verdict = match evidence(snapshot, m, version_name)? {
        Judged::Failed(why) => Err(why),
        Judged::Metrics { accuracy, loss, by } => match shortfall(m, accuracy, loss) {
            None => Ok(by),
            Some(why) => Err(format!("{why} ({by})")),
        },
    };
    let (stage, effect, reason, annotations) = match verdict {
        Ok(by) => (
            "Validated",
            format!("{model_name} {version_name} validated: {by} meet the thresholds"),
            "VersionValidated",
            json!({}),
        ),
        Err(why) => (
            "Rejected",
            format!("{model_name} {version_name} rejected: {why}"),
            "VersionRejected",
            json!({"mlxp.io/rejected-reason": why, "mlxp.io/rejected-by": actor.user,
                   "mlxp.io/rejected-at": actor.stamp()}),
        ),
    };
    Ok(Plan {
        op: op.clone(),
        effect,
        requests: vec![Request::merge(
            &target,
            json!({"metadata": {"annotations": annotations}, "spec": {"stage": stage}}),
        )],
        target,
        reason,
    })
}
