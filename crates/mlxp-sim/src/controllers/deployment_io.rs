//! The Deployment controller's I/O: which Deployments to reconcile, and carrying out what
//! `deployment::reconcile` decides. The sim's Deployments own their pods directly (see
//! `deployment.rs`), named `<deployment>-<template hash>-<suffix>` as ReplicaSet pods are.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::deployment::{self, DeploymentAction};
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
                vec![key("apps", "deployments"), key("", "pods")],
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
        let pods = state.owned_by(uid);
        let mut changed = 0;
        let mut current = deployment.clone();
        for action in deployment::reconcile(deployment, &pods, now) {
            let done = match action {
                DeploymentAction::CreatePod { pod } => state
                    .create_object(owned_pod(state, deployment, pod))
                    .is_ok(),
                DeploymentAction::DeletePod { name } => {
                    state.delete_object("", "pods", &namespace, &name)
                }
                DeploymentAction::SetStatus { status } => {
                    current["status"] = status;
                    state.replace_object("apps", "deployments", current.clone())
                }
            };
            changed += usize::from(done);
        }
        let pods = state.owned_by(uid);
        if let Some(at) = deployment::next_due(&current, &pods, now) {
            self.queue.after(
                at.max(now + chrono::Duration::seconds(1)),
                (key("apps", "deployments"), namespace, name),
            );
        }
        changed
    }
}

/// The pod a Deployment asked for, named, placed and owned as a ReplicaSet's would be.
fn owned_pod(state: &ApiState, deployment: &Value, mut pod: Value) -> Value {
    let meta = &deployment["metadata"];
    let name = meta["name"].as_str().unwrap_or("");
    let prefix = pod["metadata"]["generateName"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| format!("{name}-"));
    pod["metadata"]["name"] = json!(format!("{prefix}{}", state.random(ids::name_suffix)));
    pod["metadata"]["namespace"] = meta["namespace"].clone();
    pod["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": meta["uid"],
        "controller": true, "blockOwnerDeletion": true,
    }]);
    pod
}
