//! train → register → validate → (approve) → deploy → canary: each model's next step, from
//! what the cluster shows of its runs and versions.

use super::{Decision, Inputs};
use crate::domain::objects::{Job, Model, ModelVersion};
use crate::domain::training::last_change;
use crate::kinds::KindName;
use crate::ops::pipeline::{run_metrics, version_of_run};
use crate::ops::validation::{has_validation_job, validation_job, validation_job_of};
use crate::ops::{Op, Target};

const MODEL_LABEL: &str = "mlxp.io/model";

pub(super) fn decide(inputs: &Inputs) -> Vec<Decision> {
    let mut decisions = Vec::new();
    for model in inputs.snapshot.models.values() {
        decisions.extend(runs(inputs, model));
        decisions.extend(versions(inputs, model));
    }
    decisions
}

fn jobs_of<'a>(inputs: &'a Inputs, model: &'a Model) -> impl Iterator<Item = &'a Job> + 'a {
    inputs
        .snapshot
        .jobs
        .values()
        .map(|j| j.as_ref())
        .filter(move |j| j.meta.label(MODEL_LABEL) == Some(model.meta.name.as_str()))
}

fn versions_of<'a>(
    inputs: &'a Inputs,
    model: &'a Model,
) -> impl Iterator<Item = &'a ModelVersion> + 'a {
    inputs
        .snapshot
        .model_versions
        .values()
        .map(|v| v.as_ref())
        .filter(move |v| v.meta.namespace == model.meta.namespace && v.model == model.meta.name)
}

/// A succeeded run with no version yet is registered; a run that failed lately is alerted.
fn runs(inputs: &Inputs, model: &Model) -> Vec<Decision> {
    let name = &model.meta.name;
    let mut decisions = Vec::new();
    for job in jobs_of(inputs, model) {
        let subject = format!("{}/{} run {}", model.meta.namespace, name, job.meta.name);
        if job.failed_for_good() {
            // Said while it is news: within two evaluations of its failure.
            let lately = last_change(job).is_some_and(|at| {
                (inputs.now - at).to_std().unwrap_or_default() <= 2 * inputs.policy.interval
            });
            if lately {
                decisions.push(
                    Decision::new(
                        "pipeline",
                        subject,
                        format!(
                            "training Job {} failed: the pipeline stops for this run",
                            job.meta.name
                        ),
                    )
                    .about(Target::namespaced(
                        KindName::Jobs,
                        &job.meta.namespace,
                        &job.meta.name,
                    ))
                    .alerting(),
                );
            }
            continue;
        }
        if !job.complete() {
            continue;
        }
        let Some(version) = version_of_run(name, &job.meta.name) else {
            continue;
        };
        let registered = versions_of(inputs, model)
            .any(|v| v.version == version || v.source_job == job.meta.name);
        if registered {
            continue;
        }
        let metrics = run_metrics(inputs.snapshot, job).unwrap_or_default();
        let mut decision = Decision::new(
            "pipeline",
            subject,
            format!("run {} succeeded: registered as {version}", job.meta.name),
        )
        .with_op(Op::Register {
            namespace: model.meta.namespace.to_string(),
            model: name.clone(),
            job_namespace: job.meta.namespace.to_string(),
            job: job.meta.name.clone(),
        });
        for key in ["accuracy", "loss"] {
            if let Some(value) = metrics[key].as_f64() {
                decision = decision.figure(key, value);
            }
        }
        decisions.push(decision);
    }
    decisions
}

/// Registered versions are validated; the newest Validated one is deployed and put on the
/// route once nothing else is in canary (and, where asked, once approved).
fn versions(inputs: &Inputs, model: &Model) -> Vec<Decision> {
    let (ns, name) = (&model.meta.namespace, &model.meta.name);
    let mut decisions = Vec::new();
    for v in versions_of(inputs, model).filter(|v| v.stage == "Registered") {
        decisions.push(validation(inputs, model, v));
    }
    let Some(next) = versions_of(inputs, model)
        .filter(|v| v.stage == "Validated")
        .max_by_key(|v| (v.meta.creation_timestamp, v.meta.name.clone()))
    else {
        return decisions;
    };
    let subject = format!("{ns}/{name} {}", next.version);
    let say = |reason: String| Decision::new("pipeline", subject.clone(), reason);
    if let Some(canary) = versions_of(inputs, model).find(|v| v.stage == "Canary") {
        decisions.push(say(format!(
            "{} waits: {} is in canary",
            next.version, canary.version
        )));
        return decisions;
    }
    if next.awaits_approval(Some(model)) {
        decisions.push(say(format!(
            "{} waits for approval (mlxp approve {name} {})",
            next.version, next.version
        )));
        return decisions;
    }
    let deployment = format!("{name}-{}", next.version);
    let ready = inputs
        .snapshot
        .deployments
        .values()
        .find(|d| d.meta.name == deployment)
        .map(|d| d.ready);
    let op = match ready {
        None => Op::Deploy {
            namespace: ns.to_string(),
            model: name.clone(),
            version: next.version.clone(),
        },
        Some(0) => {
            decisions.push(say(format!(
                "{} waits: Deployment {deployment} has no ready replica yet",
                next.version
            )));
            return decisions;
        }
        Some(_) => Op::StartCanary {
            namespace: ns.to_string(),
            model: name.clone(),
            version: next.version.clone(),
        },
    };
    let reason = match &op {
        Op::Deploy { .. } => format!(
            "{} validated: deployed from the serving template",
            next.version
        ),
        _ => format!("{} ready: canary at the first step", next.version),
    };
    decisions.push(say(reason).with_op(op));
    decisions
}

/// A registered version is judged: on its training metrics, or by its Model's validation
/// Job — run first, judged once it has ended.
fn validation(inputs: &Inputs, model: &Model, v: &ModelVersion) -> Decision {
    let (ns, name) = (&model.meta.namespace, &model.meta.name);
    let subject = format!("{ns}/{name} {}", v.version);
    let validate = Op::Validate {
        namespace: ns.to_string(),
        model: name.clone(),
        version: v.version.clone(),
    };
    if !has_validation_job(model) {
        let reason = format!(
            "{} registered: judged against {name}'s thresholds",
            v.version
        );
        return Decision::new("pipeline", subject, reason).with_op(validate);
    }
    let (job_ns, job_name) = validation_job(model, &v.version);
    match validation_job_of(inputs.snapshot, model, &v.version) {
        None => Decision::new(
            "pipeline",
            subject,
            format!(
                "{} registered: validation Job {job_ns}/{job_name} runs it",
                v.version
            ),
        )
        .with_op(Op::RunValidation {
            namespace: ns.to_string(),
            model: name.clone(),
            version: v.version.clone(),
        }),
        Some(job) if job.complete() || job.failed_for_good() => Decision::new(
            "pipeline",
            subject,
            format!(
                "validation Job {job_ns}/{job_name} ended: {} judged on its metrics",
                v.version
            ),
        )
        .with_op(validate),
        Some(_) => Decision::new(
            "pipeline",
            subject,
            format!(
                "{} waits: validation Job {job_ns}/{job_name} runs",
                v.version
            ),
        ),
    }
}
