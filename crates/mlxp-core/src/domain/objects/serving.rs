//! Serving: Deployments and HPAs per model version, HTTPRoutes splitting traffic by weight;
//! and cluster Events.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::meta::{Condition, Meta, last_transition};
use super::null_default;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawDeployment")]
pub struct Deployment {
    pub meta: Meta,
    pub replicas: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    /// The last transition of its conditions (Available, Progressing).
    pub last_change: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct RawDeployment {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RawDeploymentSpec,
    #[serde(default)]
    status: RawDeploymentStatus,
}

#[derive(Default, Deserialize)]
struct RawDeploymentSpec {
    #[serde(default)]
    replicas: Option<i32>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDeploymentStatus {
    #[serde(default)]
    ready_replicas: Option<i32>,
    #[serde(default)]
    updated_replicas: Option<i32>,
    #[serde(default)]
    available_replicas: Option<i32>,
    #[serde(default, deserialize_with = "null_default")]
    conditions: Vec<Condition>,
}

impl From<RawDeployment> for Deployment {
    fn from(raw: RawDeployment) -> Self {
        Deployment {
            replicas: raw.spec.replicas.unwrap_or(1),
            ready: raw.status.ready_replicas.unwrap_or(0),
            updated: raw.status.updated_replicas.unwrap_or(0),
            available: raw.status.available_replicas.unwrap_or(0),
            last_change: last_transition(&raw.status.conditions),
            meta: raw.metadata,
        }
    }
}

/// An autoscaling/v2 HorizontalPodAutoscaler on CPU utilisation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawHpa")]
pub struct Hpa {
    pub meta: Meta,
    pub target: String,
    pub min: i32,
    pub max: i32,
    pub target_utilization: Option<i32>,
    pub current_utilization: Option<i32>,
    pub current: i32,
    pub desired: i32,
}

#[derive(Deserialize)]
struct RawHpa {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: serde_json::Value,
    #[serde(default)]
    status: serde_json::Value,
}

impl From<RawHpa> for Hpa {
    fn from(raw: RawHpa) -> Self {
        let int = |v: &serde_json::Value| v.as_i64().map(|n| n as i32);
        let spec = &raw.spec;
        let status = &raw.status;
        Hpa {
            target: spec["scaleTargetRef"]["name"].as_str().unwrap_or("").into(),
            min: int(&spec["minReplicas"]).unwrap_or(1),
            max: int(&spec["maxReplicas"]).unwrap_or(1),
            target_utilization: int(
                &spec["metrics"][0]["resource"]["target"]["averageUtilization"],
            ),
            current_utilization: int(
                &status["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
            ),
            current: int(&status["currentReplicas"]).unwrap_or(0),
            desired: int(&status["desiredReplicas"]).unwrap_or(0),
            meta: raw.metadata,
        }
    }
}

/// A Gateway API HTTPRoute: its backends and their weights, over all rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawRoute")]
pub struct HttpRoute {
    pub meta: Meta,
    pub backends: Vec<Backend>,
    /// The last transition of the conditions its gateways report (Accepted, ResolvedRefs).
    pub last_change: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Backend {
    #[serde(default)]
    pub name: String,
    /// Gateway API defaults a missing weight to 1.
    #[serde(default = "one")]
    pub weight: i32,
    #[serde(default)]
    pub port: Option<i64>,
    /// Where it sits in the route: `spec.rules[rule].backendRefs[index]`, so that a change
    /// of its weight names this very entry.
    #[serde(skip)]
    pub at: (usize, usize),
}

fn one() -> i32 {
    1
}

#[derive(Deserialize)]
struct RawRoute {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RawRouteSpec,
    #[serde(default)]
    status: RawRouteStatus,
}

#[derive(Default, Deserialize)]
struct RawRouteStatus {
    #[serde(default, deserialize_with = "null_default")]
    parents: Vec<RawRouteParent>,
}

#[derive(Deserialize)]
struct RawRouteParent {
    #[serde(default, deserialize_with = "null_default")]
    conditions: Vec<Condition>,
}

#[derive(Default, Deserialize)]
struct RawRouteSpec {
    #[serde(default, deserialize_with = "null_default")]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    #[serde(default, deserialize_with = "null_default")]
    backend_refs: Vec<Backend>,
}

impl From<RawRoute> for HttpRoute {
    fn from(raw: RawRoute) -> Self {
        HttpRoute {
            backends: raw
                .spec
                .rules
                .into_iter()
                .enumerate()
                .flat_map(|(rule, r)| {
                    r.backend_refs
                        .into_iter()
                        .enumerate()
                        .map(move |(index, backend)| Backend {
                            at: (rule, index),
                            ..backend
                        })
                })
                .collect(),
            last_change: raw
                .status
                .parents
                .iter()
                .filter_map(|p| last_transition(&p.conditions))
                .max(),
            meta: raw.metadata,
        }
    }
}

/// A core/v1 Event about an object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawEvent")]
pub struct Event {
    pub meta: Meta,
    pub object_kind: String,
    pub object_name: String,
    pub object_namespace: String,
    pub reason: String,
    pub message: String,
    /// Normal or Warning.
    pub kind: String,
    pub count: i32,
    pub last_seen: Option<DateTime<Utc>>,
    pub source: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    involved_object: serde_json::Value,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    count: Option<i32>,
    #[serde(default)]
    last_timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    event_time: Option<DateTime<Utc>>,
    #[serde(default)]
    source: serde_json::Value,
    #[serde(default)]
    reporting_component: Option<String>,
}

impl From<RawEvent> for Event {
    fn from(raw: RawEvent) -> Self {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
        Event {
            object_kind: text(&raw.involved_object["kind"]),
            object_name: text(&raw.involved_object["name"]),
            object_namespace: text(&raw.involved_object["namespace"]),
            reason: raw.reason.unwrap_or_default(),
            message: raw.message.unwrap_or_default(),
            kind: raw.kind.unwrap_or_else(|| "Normal".into()),
            count: raw.count.unwrap_or(1),
            last_seen: raw
                .last_timestamp
                .or(raw.event_time)
                .or(raw.metadata.creation_timestamp),
            source: raw
                .reporting_component
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| text(&raw.source["component"])),
            meta: raw.metadata,
        }
    }
}
