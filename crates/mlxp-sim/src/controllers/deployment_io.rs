//! The Deployment controller's I/O: which Deployments to reconcile, and carrying out what
//! `deployment::reconcile` and `deployment::replica_sets` decide. A Deployment controls a
//! ReplicaSet `<deployment>-<template hash>` per template, each its pods
//! `<deployment>-<template hash>-<suffix>`, as in Kubernetes.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::deployment::{self, DeploymentAction, replica_sets};
use super::queue::{Work, WorkQueue};
use crate::api::ApiState;
use crate::ids;
use crate::resources::StoreKey;

pub struct DeploymentController {
    queue: WorkQueue,
}

fn key(group: &str, plural: &str) -> StoreKey {
    StoreKey {
        group: group.into(),
        plural: plural.into(),
    }
}

impl DeploymentController {
    pub fn new(state: &ApiState) -> Self {
        DeploymentController {
            queue: WorkQueue::new(
                &state.store,
                vec![
                    key("apps", "deployments"),
                    key("apps", "replicasets"),
                    key("", "pods"),
                ],
            ),
        }
    }

    /// One pass over the Deployments that changed, whose pods changed, or that are due.
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        let deployments: Vec<Value> = match self.queue.take(now) {
            Work::All => state.list_objects("apps", "deployments").collect(),
            Work::Some(refs) => {
                let mut names: Vec<(String, String)> = refs
                    .into_iter()
                    .filter_map(|(kind, ns, name)| match kind.plural.as_str() {
                        "deployments" => Some((ns, name)),
                        // <deployment>-<hash>: the owner even of one already gone.
                        "replicasets" => {
                            let (owner, _) = name.rsplit_once('-')?;
                            Some((ns, owner.to_string()))
                        }
                        // <deployment>-<hash>-<suffix>: the owner even of a pod already gone.
                        _ => {
                            let (rest, _) = name.rsplit_once('-')?;
                            let (owner, _) = rest.rsplit_once('-')?;
                            Some((ns, owner.to_string()))
                        }
                    })
                    .collect();
                names.sort();
                names.dedup();
                names
                    .iter()
                    .filter_map(|(ns, name)| state.get_object("apps", "deployments", ns, name))
                    .collect()
            }
        };
        deployments
            .iter()
            .map(|d| self.reconcile_one(state, d, now))
            .sum()
    }

    fn reconcile_one(&mut self, state: &ApiState, deployment: &Value, now: DateTime<Utc>) -> usize {
        let uid = deployment["metadata"]["uid"].as_str().unwrap_or("");
        let namespace = deployment["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = deployment["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let spec = &deployment["spec"];
        let mut changed = 0;
        let mut owned = replica_sets_of(state, uid);
        // A paused Deployment rolls nothing out, and one being deleted makes nothing.
        let settled = spec["paused"].as_bool() != Some(true)
            && !deployment["metadata"]["deletionTimestamp"].is_string();
        if settled
            && let Some(rs) = replica_sets::to_create(deployment, &owned)
            && let Ok(created) = state.create_object(rs)
        {
            owned.push(created);
            changed += 1;
        }
        let new_name = replica_sets::new_name(deployment);
        let new_rs = owned
            .iter()
            .find(|rs| rs["metadata"]["name"] == new_name.as_str())
            .cloned();
        let pods = pods_of(state, &owned);
        let mut current = deployment.clone();
        for action in deployment::reconcile(deployment, &pods, now) {
            let done = match action {
                DeploymentAction::CreatePod { pod } => new_rs
                    .as_ref()
                    .is_some_and(|rs| state.create_object(owned_pod(state, rs, pod)).is_ok()),
                DeploymentAction::DeletePod { name } => {
                    state.delete_object("", "pods", &namespace, &name)
                }
                DeploymentAction::SetStatus { status } => {
                    current["status"] = status;
                    let written = state.replace_object("apps", "deployments", current.clone());
                    if written
                        && let Some(now) =
                            state.get_object("apps", "deployments", &namespace, &name)
                    {
                        current = now;
                    }
                    written
                }
            };
            changed += usize::from(done);
        }
        changed += self.sync_replica_sets(state, &current, &owned, now);
        if let Some(new_rs) = state.get_object("apps", "replicasets", &namespace, &new_name)
            && let Some(revised) = replica_sets::with_revision(&current, &new_rs)
            && state.replace_object("apps", "deployments", revised.clone())
        {
            current = revised;
            changed += 1;
        }
        let pods = pods_of(state, &replica_sets_of(state, uid));
        if let Some(at) = deployment::next_due(&current, &pods, now) {
            self.queue.after(
                at.max(now + chrono::Duration::seconds(1)),
                (key("apps", "deployments"), namespace, name),
            );
        }
        changed
    }

    /// Each ReplicaSet's count and status from its pods (the new one's revision and
    /// annotations from the Deployment); old ones beyond the history limit deleted.
    fn sync_replica_sets(
        &self,
        state: &ApiState,
        deployment: &Value,
        owned: &[Value],
        now: DateTime<Utc>,
    ) -> usize {
        let namespace = deployment["metadata"]["namespace"].as_str().unwrap_or("");
        let mut changed = 0;
        let mut fresh = Vec::with_capacity(owned.len());
        for rs in owned {
            let name = rs["metadata"]["name"].as_str().unwrap_or("");
            let Some(rs) = state.get_object("apps", "replicasets", namespace, name) else {
                continue;
            };
            let pods = state.owned_by(rs["metadata"]["uid"].as_str().unwrap_or(""));
            match replica_sets::synced(deployment, &rs, owned, &pods, now) {
                Some(synced) if state.replace_object("apps", "replicasets", synced.clone()) => {
                    changed += 1;
                    fresh.push(synced);
                }
                _ => fresh.push(rs),
            }
        }
        for name in replica_sets::beyond_history(deployment, &fresh) {
            changed += usize::from(state.delete_object("apps", "replicasets", namespace, &name));
        }
        changed
    }
}

/// The ReplicaSets a Deployment (by uid) controls.
fn replica_sets_of(state: &ApiState, uid: &str) -> Vec<Value> {
    if uid.is_empty() {
        return Vec::new();
    }
    state
        .store
        .dependents(uid)
        .into_iter()
        .filter(|(key, _)| key.group == "apps" && key.plural == "replicasets")
        .map(|(_, rs)| rs.value())
        .filter(|rs| !super::controlled_by_another(rs, Some(uid)))
        .collect()
}

/// The pods the ReplicaSets control.
fn pods_of(state: &ApiState, replica_sets: &[Value]) -> Vec<Value> {
    replica_sets
        .iter()
        .filter_map(|rs| rs["metadata"]["uid"].as_str())
        .flat_map(|uid| {
            state
                .owned_by(uid)
                .into_iter()
                .filter(move |pod| !super::controlled_by_another(pod, Some(uid)))
        })
        .collect()
}

/// The pod the Deployment asked for, named, placed and owned as its new ReplicaSet's.
fn owned_pod(state: &ApiState, replica_set: &Value, mut pod: Value) -> Value {
    let meta = &replica_set["metadata"];
    let name = meta["name"].as_str().unwrap_or("");
    let prefix = pod["metadata"]["generateName"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| format!("{name}-"));
    pod["metadata"]["name"] = json!(format!("{prefix}{}", state.random(ids::name_suffix)));
    pod["metadata"]["namespace"] = meta["namespace"].clone();
    pod["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name, "uid": meta["uid"],
        "controller": true, "blockOwnerDeletion": true,
    }]);
    pod
}
