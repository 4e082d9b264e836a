//! A model version's lifecycle: promote it (all traffic, stage Production, the previous
//! Production archived and scaled to zero) or roll a canary back (the stable version takes
//! all traffic again, the canary is rejected with the reason and scaled to zero).

use serde_json::json;

use super::{Actor, Op, Plan, Refused, Request, Target};
use super::{pipeline, weights};
use crate::domain::objects::ModelVersion;
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

/// A model's versions, as its ModelVersions register them.
fn versions<'a>(
    snapshot: &'a Snapshot,
    namespace: &'a str,
    model: &'a str,
) -> impl Iterator<Item = &'a ModelVersion> {
    snapshot
        .model_versions
        .values()
        .map(|v| v.as_ref())
        .filter(move |v| v.meta.namespace == namespace && v.model == model)
}

fn model_target(snapshot: &Snapshot, namespace: &str, model: &str) -> Result<Target, Refused> {
    snapshot
        .models
        .get(namespace, model)
        .map(|_| Target::namespaced(KindName::Models, namespace, model))
        .ok_or_else(|| Refused::NotFound(format!("no model {model} in {namespace}")))
}

/// Requests that scale each of these versions' Deployments to zero, where it runs replicas.
fn scale_to_zero(
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    versions: &[&str],
) -> Vec<Request> {
    snapshot
        .deployments
        .values()
        .filter(|d| {
            d.meta.namespace == namespace
                && d.replicas > 0
                && d.meta.label("mlxp.io/model").unwrap_or(model) == model
                && versions.iter().any(|v| {
                    d.meta.label("mlxp.io/version") == Some(v)
                        || d.meta.name == format!("{model}-{v}")
                })
        })
        .map(|d| {
            Request::merge(
                &Target::namespaced(KindName::Deployments, namespace, &d.meta.name),
                json!({"spec": {"replicas": 0}}),
            )
        })
        .collect()
}

/// A version moved to `stage`.
fn to_stage(namespace: &str, version: &ModelVersion, stage: &str) -> Request {
    Request::merge(
        &Target::namespaced(KindName::ModelVersions, namespace, &version.meta.name),
        json!({"spec": {"stage": stage}}),
    )
}

/// A version taken out of the rollout: Rejected, the reason kept on it.
fn rejected_for(namespace: &str, version: &ModelVersion, reason: &str) -> Request {
    Request::merge(
        &Target::namespaced(KindName::ModelVersions, namespace, &version.meta.name),
        json!({
            "metadata": {"annotations": {"mlxp.io/rejected-reason": reason}},
            "spec": {"stage": "Rejected"},
        }),
    )
}

/// Every version of the route at 0 but `to`, at 100.
fn all_to(snapshot: &Snapshot, namespace: &str, model: &str, to: &str) -> Vec<(String, i32)> {
    let mut asked = vec![(to.to_string(), 100)];
    for v in versions(snapshot, namespace, model).filter(|v| v.version != to) {
        asked.push((v.version.clone(), 0));
    }
    asked
}

pub(super) fn promote(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
    force: bool,
) -> Result<Plan, Refused> {
    let model_target = model_target(snapshot, namespace, model)?;
    let promoted = version_of_model(snapshot, namespace, model, version)?;
    if promoted.stage == "Rejected" {
        return Err(Refused::Precondition(format!(
            "{model} {version} was rejected: promote another version"
        )));
    }
    let route = weights_on_route(op, snapshot, namespace, model, version, force)?;
    let previous: Vec<&ModelVersion> = versions(snapshot, namespace, model)
        .filter(|v| v.version != version && v.stage == "Production")
        .collect();
    let mut requests = route.requests.clone();
    if promoted.stage != "Production" {
        requests.push(to_stage(namespace, promoted, "Production"));
    }
    for old in &previous {
        requests.push(to_stage(namespace, old, "Archived"));
    }
    let others: Vec<&str> = versions(snapshot, namespace, model)
        .filter(|v| v.version != version)
        .map(|v| v.version.as_str())
        .collect();
    let scaled = scale_to_zero(snapshot, namespace, model, &others);
    let mut effect = format!("{model} {version} promoted: {}", split_of(&route));
    if !previous.is_empty() {
        let names: Vec<&str> = previous.iter().map(|v| v.version.as_str()).collect();
        effect.push_str(&format!("; {} archived", names.join(", ")));
    }
    if !scaled.is_empty() {
        let names: Vec<&str> = scaled.iter().map(|r| r.target.name.as_str()).collect();
        effect.push_str(&format!("; {} scaled to 0", names.join(", ")));
    }
    let already = requests.is_empty() && scaled.is_empty();
    requests.extend(scaled);
    if !already {
        requests.push(Request::merge_status(
            &model_target,
            json!({"status": {"productionVersion": version, "canaryVersion": null}}),
        ));
    }
    Ok(Plan {
        op: op.clone(),
        target: model_target,
        effect: if already {
            format!("{model} {version} is already in production with all traffic")
        } else {
            effect
        },
        requests,
        reason: "ModelPromoted",
    })
}

/// Promote step by step: a canary short of its last step below 100 % moves to the next step;
/// from there (or already past it) it is promoted.
pub(super) fn promote_step(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
    force: bool,
    actor: &Actor,
) -> Result<Plan, Refused> {
    let promoted = version_of_model(snapshot, namespace, model, version)?;
    if promoted.stage != "Canary" {
        return Err(Refused::Precondition(format!(
            "{model} {version} is {}, not the canary: only a canary is promoted step by step",
            if promoted.stage.is_empty() {
                "in no stage"
            } else {
                &promoted.stage
            }
        )));
    }
    let steps = snapshot
        .models
        .get(namespace, model)
        .map(|m| m.canary_steps.clone())
        .unwrap_or_default();
    let now = weights::weight_of(snapshot, namespace, model, version);
    match steps.iter().copied().find(|&s| s > now) {
        Some(next) if next < 100 => {
            let mut plan = weights::step(op, snapshot, namespace, model, force, actor)?;
            plan.effect = format!("{} — promoting step by step", plan.effect);
            Ok(plan)
        }
        _ => promote(op, snapshot, namespace, model, version, force),
    }
}

pub(super) fn rollback(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    reason: &str,
) -> Result<Plan, Refused> {
    let model_target = model_target(snapshot, namespace, model)?;
    let in_stage = |stage: &str| versions(snapshot, namespace, model).find(|v| v.stage == stage);
    let Some(canary) = in_stage("Canary") else {
        return back_to_archived(op, snapshot, namespace, model, reason);
    };
    let stable = in_stage("Production").ok_or_else(|| {
        Refused::Precondition(format!("{model} has no Production version to roll back to"))
    })?;
    let route = weights_on_route(op, snapshot, namespace, model, &stable.version, false)?;
    let mut requests = route.requests.clone();
    requests.push(rejected_for(namespace, canary, reason));
    let scaled = scale_to_zero(snapshot, namespace, model, &[canary.version.as_str()]);
    let mut effect = format!(
        "{model} rolled back to {}: {}; {} rejected ({reason})",
        stable.version,
        split_of(&route),
        canary.version
    );
    if !scaled.is_empty() {
        effect.push_str(", scaled to 0");
    }
    requests.extend(scaled);
    requests.push(Request::merge_status(
        &model_target,
        json!({"status": {"productionVersion": stable.version, "canaryVersion": null}}),
    ));
    Ok(Plan {
        op: op.clone(),
        target: model_target,
        effect,
        requests,
        reason: "ModelRolledBack",
    })
}

/// The Deployment of a model's version: labelled with it, or named `MODEL-VERSION`.
fn deployment_of<'a>(
    snapshot: &'a Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
) -> Option<&'a crate::domain::objects::Deployment> {
    snapshot.deployments.values().map(|d| d.as_ref()).find(|d| {
        d.meta.namespace == namespace
            && d.meta.label("mlxp.io/model").unwrap_or(model) == model
            && (d.meta.label("mlxp.io/version") == Some(version)
                || d.meta.name == format!("{model}-{version}"))
    })
}

/// Rollback with no canary: the Production version's traffic back to the newest Archived
/// version still deployed, or deployable again from the serving template. Its Deployment
/// is made again (when deleted) or scaled up first when it runs nothing (the
/// executor waits for it to be Ready, then plans the rollback again: traffic moves only to
/// ready replicas); then all traffic to it, it Production, the bad one Rejected with the
/// reason and scaled to zero.
fn back_to_archived(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    reason: &str,
) -> Result<Plan, Refused> {
    let model_target = model_target(snapshot, namespace, model)?;
    let production = versions(snapshot, namespace, model)
        .find(|v| v.stage == "Production")
        .ok_or_else(|| {
            Refused::Precondition(format!("{model} has no Production version to roll back"))
        })?;
    let the_model = pipeline::model(snapshot, namespace, model)?;
    let redeployable = the_model.serving["template"]["spec"]["containers"].is_array();
    let mut archived: Vec<&ModelVersion> = versions(snapshot, namespace, model)
        .filter(|v| {
            v.stage == "Archived" && weights::on_route(snapshot, namespace, model, &v.version)
        })
        .filter(|v| deployment_of(snapshot, namespace, model, &v.version).is_some() || redeployable)
        .collect();
    archived.sort_by_key(|v| std::cmp::Reverse(v.meta.creation_timestamp));
    let Some(previous) = archived.first() else {
        return Err(Refused::Precondition(format!(
            "{model} has no canary to roll back, and no Archived version on its route that is \
             still deployed or can be deployed again (spec.serving.template) to roll {} back to",
            production.version
        )));
    };
    let Some(deployment) = deployment_of(snapshot, namespace, model, &previous.version) else {
        // Its Deployment was deleted: made again from the serving template, then the same
        // wait for Ready as a scale-up.
        let served = pipeline::serving_objects(snapshot, the_model, previous)?;
        return Ok(Plan {
            op: op.clone(),
            effect: format!(
                "{model}: {} deployed again first (its Deployment was gone): {}; the traffic \
                 moves to it once it is Ready",
                previous.version, served.effect
            ),
            requests: served.requests,
            target: served.deployment,
            reason: SCALED_UP_FOR_ROLLBACK,
        });
    };
    if deployment.ready == 0 {
        let replicas = deployment_of(snapshot, namespace, model, &production.version)
            .map_or(1, |d| d.replicas.max(1));
        let target = Target::namespaced(KindName::Deployments, namespace, &deployment.meta.name);
        return Ok(Plan {
            op: op.clone(),
            effect: format!(
                "{model}: {} scaled up to {replicas} first (it has no ready replica); the \
                 traffic moves to it once it is Ready",
                previous.version
            ),
            requests: vec![Request::merge(
                &target,
                json!({"spec": {"replicas": replicas}}),
            )],
            target,
            reason: SCALED_UP_FOR_ROLLBACK,
        });
    }
    let route = weights_on_route(op, snapshot, namespace, model, &previous.version, false)?;
    let mut requests = route.requests.clone();
    requests.push(to_stage(namespace, previous, "Production"));
    requests.push(rejected_for(namespace, production, reason));
    requests.extend(scale_to_zero(
        snapshot,
        namespace,
        model,
        &[production.version.as_str()],
    ));
    requests.push(Request::merge_status(
        &model_target,
        json!({"status": {"productionVersion": previous.version, "canaryVersion": null}}),
    ));
    Ok(Plan {
        op: op.clone(),
        target: model_target,
        effect: format!(
            "{model} rolled back to {}: {}; {} rejected ({reason}), scaled to 0",
            previous.version,
            split_of(&route),
            production.version
        ),
        requests,
        reason: "ModelRolledBack",
    })
}

/// The reason of a rollback's first step, scaling the version it goes back to up: the
/// executor then waits for that Deployment to be Ready and plans the rollback again.
pub const SCALED_UP_FOR_ROLLBACK: &str = "VersionScaledUpForRollback";

/// The route's weights with all traffic to `version`.
fn weights_on_route(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
    force: bool,
) -> Result<Plan, Refused> {
    let asked = all_to(snapshot, namespace, model, version);
    // Versions registered but not on the route have no weight to set.
    let on_route: Vec<(String, i32)> = asked
        .into_iter()
        .filter(|(v, _)| weights::on_route(snapshot, namespace, model, v))
        .collect();
    if !on_route.iter().any(|(v, _)| v == version) {
        return Err(Refused::Precondition(format!(
            "{model} {version} is not on its route: it has no backend to send traffic to"
        )));
    }
    weights::set(op, snapshot, namespace, model, &on_route, force)
}

/// The weights part of a weights plan's effect: `v1 80→0 %, v2 20→100 %`.
fn split_of(route: &Plan) -> &str {
    let split = route.effect.split_once(": ").map_or("", |(_, split)| split);
    split.trim_end_matches(" (already so)")
}

/// The version of a model, as its ModelVersion registers it.
pub(super) fn version_of_model<'a>(
    snapshot: &'a Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
) -> Result<&'a ModelVersion, Refused> {
    snapshot
        .model_versions
        .values()
        .map(|v| v.as_ref())
        .find(|v| v.meta.namespace == namespace && v.model == model && v.version == version)
        .ok_or_else(|| {
            Refused::NotFound(format!(
                "{model} has no version {version} (no ModelVersion of it in {namespace})"
            ))
        })
}

pub(super) fn approve(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
    actor: &Actor,
) -> Result<Plan, Refused> {
    let mv = version_of_model(snapshot, namespace, model, version)?;
    if mv.stage == "Rejected" {
        return Err(Refused::Precondition(format!(
            "{model} {version} was rejected: it cannot be approved"
        )));
    }
    let target = Target::namespaced(KindName::ModelVersions, namespace, &mv.meta.name);
    let (effect, requests) = match &mv.approved_by {
        Some(by) => (
            format!("{model} {version} is already approved by {by}"),
            Vec::new(),
        ),
        None => (
            format!("{model} {version} approved by {}", actor.user),
            vec![Request::merge(
                &target,
                json!({"metadata": {"annotations": {
                    "mlxp.io/approved-by": actor.user,
                    "mlxp.io/approved-at": actor.stamp(),
                }}}),
            )],
        ),
    };
    Ok(Plan {
        op: op.clone(),
        target,
        effect,
        requests,
        reason: "VersionApproved",
    })
}

pub(super) fn reject(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
    reason: &str,
    actor: &Actor,
) -> Result<Plan, Refused> {
    let mv = version_of_model(snapshot, namespace, model, version)?;
    let serving = weights::weight_of(snapshot, namespace, model, version);
    if serving > 0 {
        return Err(Refused::Precondition(format!(
            "{model} {version} takes {serving} % of the traffic: roll it back (or set its weight \
             to 0) first"
        )));
    }
    let target = Target::namespaced(KindName::ModelVersions, namespace, &mv.meta.name);
    let (effect, requests) = if mv.stage == "Rejected" {
        (format!("{model} {version} is already rejected"), Vec::new())
    } else {
        (
            format!("{model} {version} rejected by {} ({reason})", actor.user),
            vec![Request::merge(
                &target,
                json!({
                    "metadata": {"annotations": {
                        "mlxp.io/rejected-reason": reason,
                        "mlxp.io/rejected-by": actor.user,
                        "mlxp.io/rejected-at": actor.stamp(),
                    }},
                    "spec": {"stage": "Rejected"},
                }),
            )],
        )
    };
    Ok(Plan {
        op: op.clone(),
        target,
        effect,
        requests,
        reason: "VersionRejected",
    })
}
