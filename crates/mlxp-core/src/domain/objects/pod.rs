//! Pods: where they run, what they ask for, how they are doing, and what they left behind.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::meta::{Condition, Meta, find};
use super::shared::SharedStr;
use super::{RawContainer, Resources, container_requests, null_default};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawPod")]
pub struct Pod {
    pub meta: Meta,
    pub node: SharedStr,
    pub phase: SharedStr,
    /// status.reason (Evicted, Preempted …).
    pub reason: Option<Box<str>>,
    /// What the containers ask for (limits standing in for missing requests).
    pub requests: Resources,
    pub ready: bool,
    pub restarts: i32,
    /// Why a container waits (ImagePullBackOff, CrashLoopBackOff …).
    pub waiting: Option<Box<str>>,
    /// How the first container ended, if it did.
    /// Boxed: most pods have not ended, and a pod's every byte counts 150,000 times.
    pub ended: Option<Box<ContainerEnd>>,
    /// Why the scheduler could not place it (PodScheduled=False).
    pub unschedulable: Option<Box<str>>,
    pub started: Option<DateTime<Utc>>,
    /// Its containers' names when it has more than one (a log view then offers a choice);
    /// empty for the usual one, which costs nothing across 150,000 pods.
    pub containers: Box<[Box<str>]>,
}

/// A terminated container: its exit code, reason and termination message (training pods
/// hand back their metrics there as JSON).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerEnd {
    pub exit_code: i32,
    pub reason: String,
    pub message: String,
    pub finished: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct RawPod {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RawSpec,
    #[serde(default)]
    status: RawStatus,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    node_name: Option<SharedStr>,
    #[serde(default, deserialize_with = "null_default")]
    containers: Vec<RawContainer>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatus {
    #[serde(default)]
    phase: Option<SharedStr>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    conditions: Vec<Condition>,
    #[serde(default, deserialize_with = "null_default")]
    container_statuses: Vec<RawContainerStatus>,
    #[serde(default)]
    start_time: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawContainerStatus {
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    restart_count: i32,
    #[serde(default)]
    state: RawState,
}

#[derive(Default, Deserialize)]
struct RawState {
    #[serde(default)]
    waiting: Option<RawWaiting>,
    #[serde(default)]
    terminated: Option<RawTerminated>,
}

#[derive(Deserialize)]
struct RawWaiting {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTerminated {
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    finished_at: Option<DateTime<Utc>>,
}

impl From<RawPod> for Pod {
    fn from(mut raw: RawPod) -> Self {
        // Pods are most of a big cluster's objects and the views use none of their labels
        // but mlxp's own, nor owners but the controller: keeping them cost ~60 MB at 150,000.
        let meta = &mut raw.metadata;
        meta.labels = meta.labels.filtered(|k| k.starts_with("mlxp.io/"));
        meta.owner_references.retain(|o| o.controller == Some(true));
        meta.uid = String::new();
        let requests = container_requests(&raw.spec.containers);
        let containers = match raw.spec.containers.as_slice() {
            [_] | [] => Box::default(),
            many => many.iter().map(|c| c.name.as_str().into()).collect(),
        };
        let statuses = &raw.status.container_statuses;
        let ended = statuses
            .first()
            .and_then(|s| s.state.terminated.as_ref())
            .map(|t| {
                Box::new(ContainerEnd {
                    exit_code: t.exit_code,
                    reason: t.reason.clone().unwrap_or_default(),
                    message: t.message.clone().unwrap_or_default(),
                    finished: t.finished_at,
                })
            });
        let unschedulable = find(&raw.status.conditions, "PodScheduled")
            .filter(|c| c.status == "False")
            .map(|c| {
                c.message
                    .as_deref()
                    .or(c.reason.as_deref())
                    .unwrap_or_default()
                    .into()
            });
        Pod {
            node: raw.spec.node_name.unwrap_or_default(),
            phase: raw
                .status
                .phase
                .unwrap_or_else(|| SharedStr::new("Pending")),
            reason: raw.status.reason.map(String::into_boxed_str),
            requests,
            ready: !statuses.is_empty() && statuses.iter().all(|s| s.ready),
            restarts: statuses.iter().map(|s| s.restart_count).sum(),
            waiting: statuses
                .iter()
                .find_map(|s| s.state.waiting.as_ref()?.reason.as_deref().map(Box::from)),
            ended,
            unschedulable,
            started: raw.status.start_time,
            containers,
            meta: raw.metadata,
        }
    }
}

impl Pod {
    /// Bound to a node and not finished: it holds its node's resources.
    pub fn holds_resources(&self) -> bool {
        !self.node.is_empty() && !matches!(self.phase.as_str(), "Succeeded" | "Failed")
    }
}
