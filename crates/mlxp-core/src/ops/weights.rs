//! A model's traffic split: set its versions' weights on its HTTPRoute, or step its canary.

use serde_json::json;

use super::{Actor, Op, Plan, Refused, Request, Target};
use crate::domain::objects::{ANALYSIS_FAILURES, Backend, HttpRoute, STEP_SINCE};
use crate::kinds::KindName;
use crate::served::version_of;
use crate::snapshot::Snapshot;

/// A backend of the route and the version it serves.
struct Entry<'a> {
    backend: &'a Backend,
    version: String,
}

/// The route a model's traffic takes: the one its Model names, else the one named after it.
fn route<'a>(
    snapshot: &'a Snapshot,
    namespace: &str,
    model: &str,
) -> Result<&'a HttpRoute, Refused> {
    let (ns, name) = snapshot
        .models
        .get(namespace, model)
        .and_then(|m| m.route.clone())
        .unwrap_or_else(|| (namespace.to_string(), model.to_string()));
    snapshot
        .routes
        .get(&ns, &name)
        .map(|r| r.as_ref())
        .ok_or_else(|| Refused::NotFound(format!("no HTTPRoute {ns}/{name} carries model {model}")))
}

fn entries<'a>(snapshot: &Snapshot, route: &'a HttpRoute, model: &str) -> Vec<Entry<'a>> {
    route
        .backends
        .iter()
        .map(|backend| Entry {
            backend,
            version: version_of(snapshot, &route.meta.namespace, model, &backend.name),
        })
        .collect()
}

/// Whether the model's route has a backend serving `version`.
pub(super) fn on_route(snapshot: &Snapshot, namespace: &str, model: &str, version: &str) -> bool {
    route(snapshot, namespace, model).is_ok_and(|route| {
        entries(snapshot, route, model)
            .iter()
            .any(|e| e.version == version)
    })
}

/// The weight the model's route gives `version`, over its backends (0 when not on it).
pub(crate) fn weight_of(snapshot: &Snapshot, namespace: &str, model: &str, version: &str) -> i32 {
    route(snapshot, namespace, model).map_or(0, |route| {
        entries(snapshot, route, model)
            .iter()
            .filter(|e| e.version == version)
            .map(|e| e.backend.weight.max(0))
            .sum()
    })
}

/// Each version once, in the route's order.
fn versions<'a>(entries: &'a [Entry]) -> Vec<&'a str> {
    let mut versions: Vec<&str> = Vec::new();
    for e in entries {
        if !versions.contains(&e.version.as_str()) {
            versions.push(&e.version);
        }
    }
    versions
}

pub(super) fn set(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    asked: &[(String, i32)],
    force: bool,
) -> Result<Plan, Refused> {
    let route = route(snapshot, namespace, model)?;
    let ns = route.meta.namespace.as_str();
    let entries = entries(snapshot, route, model);
    let known = versions(&entries);
    for (i, (version, weight)) in asked.iter().enumerate() {
        if asked[..i].iter().any(|(v, _)| v == version) {
            return Err(Refused::Precondition(format!("{version} is given twice")));
        }
        if !(0..=100).contains(weight) {
            return Err(Refused::Precondition(format!(
                "{version}={weight}: a weight is 0 to 100"
            )));
        }
        if !known.contains(&version.as_str()) {
            return Err(Refused::Precondition(format!(
                "{model} has no version {version} on HTTPRoute {ns}/{}; its versions: {}",
                route.meta.name,
                known.join(", ")
            )));
        }
    }
    let weight = |e: &Entry| {
        asked
            .iter()
            .find(|(v, _)| *v == e.version)
            .map_or(e.backend.weight, |(_, w)| *w)
    };
    // Each rule splits its own traffic.
    let mut rules: Vec<usize> = entries.iter().map(|e| e.backend.at.0).collect();
    rules.dedup();
    for rule in rules {
        let in_rule = || entries.iter().filter(move |e| e.backend.at.0 == rule);
        let sum: i32 = in_rule().map(weight).sum();
        if sum != 100 {
            let split: Vec<String> = in_rule()
                .map(|e| format!("{} {}", e.version, weight(e)))
                .collect();
            return Err(Refused::Precondition(format!(
                "the weights would sum to {sum}, not 100 ({})",
                split.join(" + ")
            )));
        }
    }
    if !force {
        // More traffic to a version with no ready replica would be lost.
        for e in &entries {
            let ready = snapshot
                .deployments
                .get(ns, &e.backend.name)
                .map_or(0, |d| d.ready);
            if weight(e) > e.backend.weight.max(0) && ready == 0 {
                return Err(Refused::Precondition(format!(
                    "{} has no ready replica: traffic sent to it would fail (force to send it anyway)",
                    e.version
                )));
            }
        }
    }
    // A JSON patch of the weight leaves, each behind a `test` of its backend's name, rather
    // than a server-side apply: in the Gateway API CRDs `spec.rules` and `backendRefs` are
    // atomic lists (no list-map keys), so an apply carrying the weights must carry every
    // rule whole — mlxp would take the matches and filters from whoever wrote the route
    // (a conflict without force, their fields taken with it). The patch changes only the
    // weights and fails (422, planned again) if a backend moved.
    let mut patch = Vec::new();
    for e in entries.iter().filter(|e| weight(e) != e.backend.weight) {
        let (rule, index) = e.backend.at;
        let at = format!("/spec/rules/{rule}/backendRefs/{index}");
        patch.push(json!({"op": "test", "path": format!("{at}/name"), "value": e.backend.name}));
        patch.push(json!({"op": "add", "path": format!("{at}/weight"), "value": weight(e)}));
    }
    let split: Vec<String> = versions(&entries)
        .into_iter()
        .filter_map(|v| entries.iter().find(|e| e.version == v))
        .map(|e| match (e.backend.weight, weight(e)) {
            (was, now) if was == now => format!("{} {now} %", e.version),
            (was, now) => format!("{} {was}→{now} %", e.version),
        })
        .collect();
    let target = Target::namespaced(KindName::HttpRoutes, ns, &route.meta.name);
    Ok(Plan {
        op: op.clone(),
        effect: format!(
            "{model}: {}{}",
            split.join(", "),
            if patch.is_empty() {
                " (already so)"
            } else {
                ""
            }
        ),
        requests: if patch.is_empty() {
            Vec::new()
        } else {
            vec![Request::json_patch(&target, patch)]
        },
        target,
        reason: "CanaryWeightsSet",
    })
}

/// A backend added to the model's route with `added`'s weight, `production` taking
/// `100 - added - others`. Guarded by the route's resourceVersion: two adds planned on the
/// same route cannot both land (the second fails and is planned again, finding it there).
pub(super) fn add_backend(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    added: (&str, i32),
    production: (&str, i32),
) -> Result<Plan, Refused> {
    let route = route(snapshot, namespace, model)?;
    let entries = entries(snapshot, route, model);
    let (backend, weight) = added;
    if entries.iter().any(|e| e.backend.name == backend) {
        let version = version_of(snapshot, &route.meta.namespace, model, backend);
        let asked = [(version, weight), (production.0.to_string(), production.1)];
        return set(op, snapshot, namespace, model, &asked, false);
    }
    let stable = entries
        .iter()
        .find(|e| e.version == production.0)
        .ok_or_else(|| {
            Refused::Precondition(format!(
                "{model} {} is not on HTTPRoute {}/{}",
                production.0, route.meta.namespace, route.meta.name
            ))
        })?;
    let (rule, index) = stable.backend.at;
    let others: i32 = entries
        .iter()
        .filter(|e| e.backend.at.0 == rule && e.backend.at != stable.backend.at)
        .map(|e| e.backend.weight.max(0))
        .sum();
    let rest = 100 - weight - others;
    if rest < 0 {
        return Err(Refused::Precondition(format!(
            "other versions hold {others} %: no room for {weight} % to {backend}"
        )));
    }
    let at = format!("/spec/rules/{rule}/backendRefs");
    let mut entry = json!({"name": backend, "weight": weight});
    if let Some(port) = stable.backend.port {
        entry["port"] = json!(port);
    }
    let patch = vec![
        json!({"op": "test", "path": "/metadata/resourceVersion", "value": route.meta.resource_version}),
        json!({"op": "test", "path": format!("{at}/{index}/name"), "value": stable.backend.name}),
        json!({"op": "add", "path": format!("{at}/{index}/weight"), "value": rest}),
        json!({"op": "add", "path": format!("{at}/-"), "value": entry}),
    ];
    let target = Target::namespaced(
        KindName::HttpRoutes,
        &route.meta.namespace,
        &route.meta.name,
    );
    Ok(Plan {
        op: op.clone(),
        effect: format!(
            "{model}: {} {}→{rest} %, {backend} added at {weight} %",
            stable.version, stable.backend.weight
        ),
        requests: vec![Request::json_patch(&target, patch)],
        target,
        reason: "CanaryWeightsSet",
    })
}

pub(super) fn step(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model_name: &str,
    force: bool,
    actor: &Actor,
) -> Result<Plan, Refused> {
    let model = snapshot
        .models
        .get(namespace, model_name)
        .ok_or_else(|| Refused::NotFound(format!("no model {model_name} in {namespace}")))?;
    let steps = &model.canary_steps;
    if steps.is_empty() {
        return Err(Refused::Precondition(format!(
            "{model_name} has no canary steps (spec.canary.steps)"
        )));
    }
    let in_stage = |stage: &str| {
        snapshot
            .model_versions
            .values()
            .find(|v| v.meta.namespace == namespace && v.model == model_name && v.stage == stage)
            .map(|v| v.version.clone())
            .ok_or_else(|| {
                Refused::Precondition(format!(
                    "{model_name} has no {stage} version (a ModelVersion in stage {stage})"
                ))
            })
    };
    let (canary, production) = (in_stage("Canary")?, in_stage("Production")?);
    let route = route(snapshot, namespace, model_name)?;
    let entries = entries(snapshot, route, model_name);
    let on_route = |version: &str| {
        entries
            .iter()
            .find(|e| e.version == version)
            .ok_or_else(|| {
                Refused::Precondition(format!(
                    "{version} is not on HTTPRoute {}/{}",
                    route.meta.namespace, route.meta.name
                ))
            })
    };
    let (now, rule) = {
        let e = on_route(&canary)?;
        (e.backend.weight, e.backend.at.0)
    };
    on_route(&production)?;
    let Some((i, next)) = steps.iter().copied().enumerate().find(|&(_, s)| s > now) else {
        return Err(Refused::Precondition(format!(
            "canary {canary} is at {now} %, past its last step ({} %): promote it or roll it back",
            steps[steps.len() - 1]
        )));
    };
    let others: i32 = entries
        .iter()
        .filter(|e| e.backend.at.0 == rule && e.version != canary && e.version != production)
        .map(|e| e.backend.weight.max(0))
        .sum();
    if next + others > 100 {
        return Err(Refused::Precondition(format!(
            "other versions hold {others} %: no room for the canary's {next} %"
        )));
    }
    let canary_object = snapshot
        .model_versions
        .values()
        .find(|v| v.meta.namespace == namespace && v.model == model_name && v.version == canary)
        .map(|v| v.meta.name.clone());
    let asked = [(canary, next), (production, 100 - next - others)];
    let mut plan = set(op, snapshot, namespace, model_name, &asked, force)?;
    plan.effect = format!("{} (canary step {} of {})", plan.effect, i + 1, steps.len());
    // The new step's pause counts from now; the analyses of the last one are done with.
    if let Some(name) = canary_object.filter(|_| !plan.requests.is_empty()) {
        plan.requests.push(Request::merge(
            &Target::namespaced(KindName::ModelVersions, namespace, &name),
            json!({"metadata": {"annotations": {STEP_SINCE: actor.stamp(), ANALYSIS_FAILURES: null}}}),
        ));
    }
    Ok(plan)
}

/// The namespace of the model a user names: the one given, else the only one holding a
/// Model of that name.
pub fn model_namespace(
    snapshot: &Snapshot,
    model: &str,
    namespace: Option<&str>,
) -> Result<String, Refused> {
    if let Some(ns) = namespace {
        return Ok(ns.to_string());
    }
    let holding: Vec<&str> = snapshot
        .models
        .values()
        .filter(|m| m.meta.name == model)
        .map(|m| m.meta.namespace.as_str())
        .collect();
    match holding.as_slice() {
        [ns] => Ok(ns.to_string()),
        [] => Err(Refused::NotFound(format!(
            "no model {model} in any namespace"
        ))),
        several => Err(Refused::Precondition(format!(
            "model {model} is in several namespaces ({}): say which with -n",
            several.join(", ")
        ))),
    }
}
