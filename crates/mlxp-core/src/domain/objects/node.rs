//! Nodes: pool, GPUs, taints, readiness.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::meta::{Condition, Meta, is_true, last_transition};
use super::{Resources, null_default, resources};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawNode")]
pub struct Node {
    pub meta: Meta,
    pub allocatable: Resources,
    pub capacity: Resources,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub ready: bool,
    /// The last transition of any of its conditions (Ready, pressure …).
    pub last_change: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Taint {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub effect: String,
}

#[derive(Deserialize)]
struct RawNode {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RawSpec,
    #[serde(default)]
    status: RawStatus,
}

#[derive(Default, Deserialize)]
struct RawSpec {
    #[serde(default, deserialize_with = "null_default")]
    taints: Vec<Taint>,
    #[serde(default, deserialize_with = "null_default")]
    unschedulable: bool,
}

#[derive(Default, Deserialize)]
struct RawStatus {
    #[serde(default, deserialize_with = "resources")]
    allocatable: Resources,
    #[serde(default, deserialize_with = "resources")]
    capacity: Resources,
    #[serde(default, deserialize_with = "null_default")]
    conditions: Vec<Condition>,
}

impl From<RawNode> for Node {
    fn from(raw: RawNode) -> Self {
        Node {
            ready: is_true(&raw.status.conditions, "Ready"),
            last_change: last_transition(&raw.status.conditions),
            meta: raw.metadata,
            allocatable: raw.status.allocatable,
            capacity: raw.status.capacity,
            taints: raw.spec.taints,
            unschedulable: raw.spec.unschedulable,
        }
    }
}
