//! The steps a new model version goes through on its way to traffic: registered from the
//! training run that made it, validated against its Model's thresholds, deployed from its
//! Model's serving template, put on the route at the first canary step; and the canary
//! analysis kept on the version, so that whoever looks next (a restarted agent) counts on.

use serde_json::{Value, json};

use super::lifecycle::version_of_model;
use super::weights;
use super::{Actor, Op, Plan, Refused, Request, Target};
use crate::domain::objects::{ANALYSIS_FAILURES, Job, Model, ModelVersion, STEP_SINCE};
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

const MODEL_LABEL: &str = "mlxp.io/model";
pub(super) const VERSION_LABEL: &str = "mlxp.io/version";

pub(super) fn model<'a>(
    snapshot: &'a Snapshot,
    namespace: &str,
    name: &str,
) -> Result<&'a Model, Refused> {
    snapshot
        .models
        .get(namespace, name)
        .map(|m| m.as_ref())
        .ok_or_else(|| Refused::NotFound(format!("no model {name} in {namespace}")))
}

/// The version, in `stage`: a step of the pipeline starts only from the one before it.
pub(super) fn version_in<'a>(
    snapshot: &'a Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
    stage: &str,
) -> Result<&'a ModelVersion, Refused> {
    let v = version_of_model(snapshot, namespace, model, version)?;
    if v.stage != stage {
        return Err(Refused::Precondition(format!(
            "{model} {version} is {}, not {stage}",
            v.stage
        )));
    }
    Ok(v)
}

pub(super) fn version_target(namespace: &str, v: &ModelVersion) -> Target {
    Target::namespaced(KindName::ModelVersions, namespace, &v.meta.name)
}

/// The version a training run makes: `vN` of run `train-MODEL-rN`, so that registering
/// the same run twice meets AlreadyExists instead of making a second version.
pub fn version_of_run(model: &str, job: &str) -> Option<String> {
    let run: u32 = job
        .strip_prefix(&format!("train-{model}-r"))?
        .parse()
        .ok()?;
    Some(format!("v{run}"))
}

/// The metrics a training run handed back: its pods' termination message, as JSON.
pub fn run_metrics(snapshot: &Snapshot, job: &Job) -> Option<Value> {
    snapshot
        .pods_of_job(&job.meta.namespace, &job.meta.name)
        .filter_map(|p| p.ended.as_ref())
        .filter(|end| end.exit_code == 0)
        .find_map(|end| serde_json::from_str::<Value>(&end.message).ok())
        .filter(Value::is_object)
}

pub(super) fn register(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model_name: &str,
    job: (&str, &str),
) -> Result<Plan, Refused> {
    model(snapshot, namespace, model_name)?;
    let (job_ns, job_name) = job;
    let found = snapshot
        .jobs
        .get(job_ns, job_name)
        .ok_or_else(|| Refused::NotFound(format!("no Job {job_ns}/{job_name}")))?;
    if !found.complete() {
        return Err(Refused::Precondition(format!(
            "Job {job_ns}/{job_name} has not succeeded"
        )));
    }
    let version = version_of_run(model_name, job_name).ok_or_else(|| {
        Refused::Precondition(format!(
            "{job_name} is not named as a run of {model_name} (train-{model_name}-rN)"
        ))
    })?;
    let metrics = run_metrics(snapshot, found).unwrap_or_else(|| json!({}));
    let name = format!("{model_name}-{version}");
    let target = Target::namespaced(KindName::ModelVersions, namespace, &name);
    let figures = ["accuracy", "loss"]
        .iter()
        .filter_map(|k| metrics[k].as_f64().map(|v| format!("{k} {v}")))
        .collect::<Vec<_>>();
    Ok(Plan {
        op: op.clone(),
        effect: format!(
            "{model_name} {version} registered from Job {job_ns}/{job_name} ({})",
            if figures.is_empty() {
                "no metrics handed back".to_string()
            } else {
                figures.join(", ")
            }
        ),
        requests: vec![Request::create(
            &target,
            json!({
                "apiVersion": "mlxp.io/v1alpha1",
                "kind": "ModelVersion",
                "metadata": {"name": name, "namespace": namespace,
                             "labels": {MODEL_LABEL: model_name}},
                "spec": {"model": model_name, "version": version, "stage": "Registered",
                         "sourceJob": job_name, "metrics": metrics},
            }),
        )],
        target,
        reason: "VersionRegistered",
    })
}

/// The port the model's route sends traffic to (its backends'), else 8080.
fn route_port(snapshot: &Snapshot, m: &Model) -> i64 {
    let (ns, name) = m
        .route
        .clone()
        .unwrap_or_else(|| (m.meta.namespace.to_string(), m.meta.name.clone()));
    snapshot
        .routes
        .get(&ns, &name)
        .and_then(|r| r.backends.first().map(|b| b.port))
        .flatten()
        .unwrap_or(8080)
}

pub(super) fn deploy(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model_name: &str,
    version_name: &str,
) -> Result<Plan, Refused> {
    let m = model(snapshot, namespace, model_name)?;
    let v = version_of_model(snapshot, namespace, model_name, version_name)?;
    if !matches!(v.stage.as_str(), "Validated" | "Canary") {
        return Err(Refused::Precondition(format!(
            "{model_name} {version_name} is {}: only a Validated version is deployed",
            v.stage
        )));
    }
    if m.require_approval && v.approved_by.is_none() {
        return Err(Refused::Precondition(format!(
            "{model_name} requires approval: {version_name} waits for mlxp approve"
        )));
    }
    let served = serving_objects(snapshot, m, v)?;
    Ok(Plan {
        op: op.clone(),
        effect: format!("{model_name} {version_name} deployed: {}", served.effect),
        requests: served.requests,
        target: version_target(namespace, v),
        reason: "VersionDeployed",
    })
}

/// The version and its artifact in the first container's environment (`MODEL_VERSION`,
/// `MODEL_URI`): what a serving or validating pod loads.
pub(super) fn with_version_env(template: &mut Value, v: &ModelVersion) {
    if let Some(first) = template["spec"]["containers"].get_mut(0) {
        let mut env = first["env"].as_array().cloned().unwrap_or_default();
        env.push(json!({"name": "MODEL_VERSION", "value": v.version}));
        if !v.artifact.is_empty() {
            env.push(json!({"name": "MODEL_URI", "value": v.artifact}));
        }
        first["env"] = Value::Array(env);
    }
}

/// A version's Deployment, Service and autoscaler, made from its Model's serving template.
/// The Deployment is created (a second deploy meets AlreadyExists); its Service and
/// autoscaler are ensured, so a Deployment made again beside them keeps them.
pub(super) struct Served {
    pub deployment: Target,
    pub requests: Vec<Request>,
    /// `Deployment, Service and autoscaler serving/m-v2 (2..6 replicas)`.
    pub effect: String,
}

/// What serving `v` takes, from its Model's serving template (refused without one).
pub(super) fn serving_objects(
    snapshot: &Snapshot,
    m: &Model,
    v: &ModelVersion,
) -> Result<Served, Refused> {
    let (model_name, version_name) = (m.meta.name.as_str(), v.version.as_str());
    let namespace = m.meta.namespace.as_str();
    let serving = &m.serving;
    let mut template = serving["template"].clone();
    if !template["spec"]["containers"].is_array() {
        return Err(Refused::Precondition(format!(
            "{model_name} has no serving template (spec.serving.template with containers)"
        )));
    }
    let ns = serving["namespace"].as_str().unwrap_or(namespace);
    let name = format!("{model_name}-{version_name}");
    let labels = json!({"app": name, MODEL_LABEL: model_name, VERSION_LABEL: version_name});
    for (k, val) in labels.as_object().into_iter().flatten() {
        template["metadata"]["labels"][k] = val.clone();
    }
    with_version_env(&mut template, v);
    let min = serving["minReplicas"].as_i64().unwrap_or(1).max(1);
    let max = serving["maxReplicas"].as_i64().unwrap_or(min).max(min);
    let utilization = serving["targetUtilization"].as_i64().unwrap_or(70);
    let port = route_port(snapshot, m);
    let deployment = Target::namespaced(KindName::Deployments, ns, &name);
    let service = Target::namespaced(KindName::Services, ns, &name);
    let hpa = Target::namespaced(KindName::Hpas, ns, &name);
    let metadata = json!({"name": name, "namespace": ns, "labels": labels});
    Ok(Served {
        effect: format!("Deployment, Service and autoscaler {ns}/{name} ({min}..{max} replicas)"),
        requests: vec![
            Request::create(
                &deployment,
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
                       "spec": {"replicas": min, "selector": {"matchLabels": {"app": name}},
                                "template": template}}),
            ),
            Request::ensure(
                &service,
                json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata,
                       "spec": {"selector": {"app": name},
                                "ports": [{"name": "http", "port": port, "targetPort": port}]}}),
            ),
            Request::ensure(
                &hpa,
                json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                       "metadata": metadata,
                       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                                "minReplicas": min, "maxReplicas": max,
                                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                             "target": {"type": "Utilization", "averageUtilization": utilization}}}]}}),
            ),
        ],
        deployment,
    })
}

/// The version on its model's route at the first canary step, the Production version
/// taking the rest; the version's stage Canary, its step counted from now.
pub(super) fn start_canary(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model_name: &str,
    version_name: &str,
    actor: &Actor,
) -> Result<Plan, Refused> {
    let m = model(snapshot, namespace, model_name)?;
    let v = version_in(snapshot, namespace, model_name, version_name, "Validated")?;
    if let Some(canary) = snapshot
        .model_versions
        .values()
        .find(|c| c.meta.namespace == namespace && c.model == model_name && c.stage == "Canary")
    {
        return Err(Refused::Precondition(format!(
            "{model_name} already has a canary ({})",
            canary.version
        )));
    }
    let first = *m.canary_steps.first().ok_or_else(|| {
        Refused::Precondition(format!(
            "{model_name} has no canary steps (spec.canary.steps)"
        ))
    })?;
    let ready = snapshot
        .deployments
        .values()
        .find(|d| d.meta.name == format!("{model_name}-{version_name}"))
        .map_or(0, |d| d.ready);
    if ready == 0 {
        return Err(Refused::Precondition(format!(
            "{model_name} {version_name} has no ready replica yet"
        )));
    }
    let production = snapshot
        .model_versions
        .values()
        .find(|p| p.meta.namespace == namespace && p.model == model_name && p.stage == "Production")
        .ok_or_else(|| Refused::Precondition(format!("{model_name} has no Production version")))?;
    let mut route = weights::add_backend(
        op,
        snapshot,
        namespace,
        model_name,
        (&format!("{model_name}-{version_name}"), first),
        (&production.version, 100 - first),
    )?;
    route.requests.push(Request::merge(
        &version_target(namespace, v),
        json!({"metadata": {"annotations": {STEP_SINCE: actor.stamp(), ANALYSIS_FAILURES: null}},
               "spec": {"stage": "Canary"}}),
    ));
    route.requests.push(Request::merge_status(
        &Target::namespaced(KindName::Models, namespace, model_name),
        json!({"status": {"canaryVersion": version_name}}),
    ));
    Ok(Plan {
        op: op.clone(),
        effect: format!(
            "{model_name} {version_name} canary at {first} %: {}",
            route.effect
        ),
        requests: route.requests,
        target: version_target(namespace, v),
        reason: "CanaryStarted",
    })
}

/// The canary's analyses failed in a row, kept on it (0: the last one passed).
pub(super) fn record_analysis(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model_name: &str,
    version_name: &str,
    failures: u32,
    why: &str,
) -> Result<Plan, Refused> {
    let v = version_of_model(snapshot, namespace, model_name, version_name)?;
    let target = version_target(namespace, v);
    let value = if failures == 0 {
        Value::Null
    } else {
        json!(failures.to_string())
    };
    Ok(Plan {
        op: op.clone(),
        effect: format!("{model_name} {version_name} canary analysis: {why}"),
        requests: if failures == v.analysis_failures {
            Vec::new()
        } else {
            vec![Request::merge(
                &target,
                json!({"metadata": {"annotations": {ANALYSIS_FAILURES: value}}}),
            )]
        },
        target,
        reason: "CanaryAnalysis",
    })
}
