//! A Deployment's ReplicaSets, as the Deployment controller keeps them, as pure functions
//! of state: the one its template needs (the "new" one), the revision numbers
//! (`deployment.kubernetes.io/revision`, what `kubectl rollout history|undo` read), each
//! one's replica count and status from the pods it holds, and the old ones beyond
//! `revisionHistoryLimit`.
//!
//! The pods themselves are still counted and placed by [`super::reconcile`]; a ReplicaSet
//! here records what its pods are (spec.replicas = its live pods; the new one, rolled out,
//! the Deployment's count), so an old one scaled to nothing stays as the template to roll
//! back to.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{TEMPLATE_HASH_LABEL, count, template_hash};

/// The revision of a ReplicaSet, and of the Deployment (its new ReplicaSet's).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// The earlier revisions a ReplicaSet had before it became the new one again (a rollback).
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Annotations of the Deployment not copied to its ReplicaSets (annotationsToSkip).
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
];
const DEFAULT_HISTORY_LIMIT: i64 = 10;

/// A ReplicaSet's revision; 0 when unset or not a number.
pub fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// `<deployment>-<hash>`: the name of the ReplicaSet of the Deployment's current template.
pub fn new_name(deployment: &Value) -> String {
    let name = deployment["metadata"]["name"].as_str().unwrap_or("");
    format!("{name}-{}", template_hash(deployment))
}

/// The ReplicaSet to create for the Deployment's current template, when none of `owned`
/// is it: no replicas yet, the next revision.
pub fn to_create(deployment: &Value, owned: &[Value]) -> Option<Value> {
    let name = new_name(deployment);
    if owned
        .iter()
        .any(|rs| rs["metadata"]["name"] == name.as_str())
    {
        return None;
    }
    let meta = &deployment["metadata"];
    let spec = &deployment["spec"];
    let hash = template_hash(deployment);
    let mut template = spec["template"].clone();
    if !template.is_object() || !meta.is_object() {
        return None;
    }
    object_at(&mut template, "metadata");
    with_hash_label(&mut template["metadata"]["labels"], &hash);
    let mut selector = spec["selector"].clone();
    if !selector.is_object() {
        selector = Value::Object(Map::new());
    }
    with_hash_label(&mut selector["matchLabels"], &hash);
    let mut labels = Value::Object(Map::new());
    if spec["template"]["metadata"]["labels"].is_object() {
        labels = spec["template"]["metadata"]["labels"].clone();
    }
    with_hash_label(&mut labels, &hash);
    let mut rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                "uid": meta["uid"], "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    });
    if let Some(secs) = count(&spec["minReadySeconds"]).filter(|s| *s > 0) {
        rs["spec"]["minReadySeconds"] = json!(secs);
    }
    let next = owned.iter().map(revision).max().unwrap_or(0) + 1;
    rs["metadata"]["annotations"] = annotations(deployment, next, None);
    Some(rs)
}

/// `value[key]`, made an empty object when it is something else (so indexing into it
/// cannot panic).
fn object_at<'v>(value: &'v mut Value, key: &str) -> &'v mut Value {
    if !value[key].is_object() {
        value[key] = Value::Object(Map::new());
    }
    &mut value[key]
}

fn with_hash_label(labels: &mut Value, hash: &str) {
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    labels[TEMPLATE_HASH_LABEL] = json!(hash);
}

/// The new ReplicaSet's annotations: the Deployment's own (but the controller's), its
/// revision, and the replica counts the rollout aims at.
fn annotations(deployment: &Value, revision: i64, history: Option<String>) -> Value {
    let mut out: Map<String, Value> = deployment["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| v.is_string() && !NOT_COPIED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert(REVISION.into(), json!(revision.to_string()));
    if let Some(history) = history {
        out.insert(REVISION_HISTORY.into(), json!(history));
    }
    let replicas = count(&deployment["spec"]["replicas"]).unwrap_or(1);
    let surge = super::max_surge(deployment);
    out.insert(DESIRED_REPLICAS.into(), json!(replicas.to_string()));
    out.insert(MAX_REPLICAS.into(), json!((replicas + surge).to_string()));
    Value::Object(out)
}

/// One ReplicaSet brought up to date with the pods it holds (`pods`, its own), and, for
/// the new one, with the Deployment: a revision above every other when it became new
/// again (the earlier one kept in the revision history), the Deployment's annotations.
/// `None` when nothing changed.
pub fn synced(
    deployment: &Value,
    rs: &Value,
    others: &[Value],
    pods: &[Value],
    now: DateTime<Utc>,
) -> Option<Value> {
    if !rs.is_object() {
        return None;
    }
    let mut out = rs.clone();
    object_at(&mut out, "spec");
    object_at(&mut out, "metadata");
    let min_ready = count(&rs["spec"]["minReadySeconds"]).unwrap_or(0);
    let held = super::pod_counts(pods, min_ready, now);
    let is_new = rs["metadata"]["name"] == new_name(deployment).as_str();
    // Desired: what the pods are, except that the new one, once no old one holds pods,
    // wants the Deployment's count even while a lost pod is being replaced.
    let rolled_out = others
        .iter()
        .filter(|o| o["metadata"]["name"] != rs["metadata"]["name"])
        .all(|o| o["status"]["replicas"].as_i64().unwrap_or(0) == 0);
    let paused = deployment["spec"]["paused"].as_bool() == Some(true);
    out["spec"]["replicas"] = match count(&deployment["spec"]["replicas"]) {
        Some(want) if is_new && rolled_out && !paused => json!(want),
        None if is_new && rolled_out && !paused => json!(1),
        _ => json!(held.active),
    };
    let mut status = Map::new();
    let mut put = |key: &str, n: i64| {
        if n > 0 {
            status.insert(key.into(), json!(n));
        }
    };
    put("fullyLabeledReplicas", held.active);
    put("readyReplicas", held.ready);
    put("availableReplicas", held.available);
    status.insert("replicas".into(), json!(held.active));
    if let Some(generation) = rs["metadata"]["generation"].as_i64() {
        status.insert("observedGeneration".into(), json!(generation));
    }
    out["status"] = Value::Object(status);
    if is_new {
        let mine = revision(rs);
        let highest = others
            .iter()
            .filter(|o| o["metadata"]["name"] != rs["metadata"]["name"])
            .map(revision)
            .max()
            .unwrap_or(0);
        let (revision, history) = if mine > highest {
            let kept = rs["metadata"]["annotations"][REVISION_HISTORY].as_str();
            (mine, kept.map(String::from))
        } else if mine == 0 {
            (highest + 1, None)
        } else {
            let earlier = rs["metadata"]["annotations"][REVISION_HISTORY]
                .as_str()
                .filter(|h| !h.is_empty())
                .map_or(mine.to_string(), |h| format!("{h},{mine}"));
            (highest + 1, Some(earlier))
        };
        out["metadata"]["annotations"] = annotations(deployment, revision, history);
    }
    (out != *rs).then_some(out)
}

/// The old ReplicaSets to delete: those holding no pods, beyond `revisionHistoryLimit`,
/// lowest revision first.
pub fn beyond_history(deployment: &Value, owned: &[Value]) -> Vec<String> {
    let limit = count(&deployment["spec"]["revisionHistoryLimit"]).unwrap_or(DEFAULT_HISTORY_LIMIT);
    let new = new_name(deployment);
    let mut idle: Vec<&Value> = owned
        .iter()
        .filter(|rs| rs["metadata"]["name"] != new.as_str())
        .filter(|rs| rs["spec"]["replicas"].as_i64() == Some(0))
        .filter(|rs| rs["status"]["replicas"].as_i64().unwrap_or(0) == 0)
        .collect();
    let surplus = idle.len().saturating_sub(limit as usize);
    idle.sort_by_key(|rs| revision(rs));
    idle.into_iter()
        .take(surplus)
        .filter_map(|rs| rs["metadata"]["name"].as_str().map(String::from))
        .collect()
}

/// The Deployment with its revision annotation set to its new ReplicaSet's; `None` when it
/// already says so.
pub fn with_revision(deployment: &Value, new: &Value) -> Option<Value> {
    let revision = revision(new);
    if revision == 0 {
        return None;
    }
    let want = json!(revision.to_string());
    if deployment["metadata"]["annotations"][REVISION] == want {
        return None;
    }
    if !deployment.is_object() {
        return None;
    }
    let mut out = deployment.clone();
    object_at(object_at(&mut out, "metadata"), "annotations")[REVISION] = want;
    Some(out)
}

#[cfg(test)]
mod tests;
