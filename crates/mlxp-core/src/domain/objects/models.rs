//! The model registry: Models (mlxp.io/v1alpha1) and their ModelVersions.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::meta::Meta;

/// Canary analyses failed in a row, kept on the version so that a restarted agent counts on.
pub const ANALYSIS_FAILURES: &str = "mlxp.io/analysis-failures";
/// When the canary reached its current step: its pause is counted from there.
pub const STEP_SINCE: &str = "mlxp.io/step-since";

fn time(value: &serde_json::Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawModel")]
pub struct Model {
    pub meta: Meta,
    pub description: String,
    /// The HTTPRoute carrying its traffic (namespace, name).
    pub route: Option<(String, String)>,
    pub drift_threshold: Option<f64>,
    pub max_error_rate: Option<f64>,
    pub max_p99_seconds: Option<f64>,
    /// The canary's weights, step by step (`spec.canary.steps[].weight`).
    pub canary_steps: Vec<i32>,
    /// How long the canary stays at each step before the next (`pauseSeconds`, 0 if unset).
    pub canary_pauses: Vec<i64>,
    /// A new version waits for `mlxp approve` before it takes traffic.
    pub require_approval: bool,
    /// What a new version's training metrics must meet (`spec.validation`).
    pub min_accuracy: Option<f64>,
    pub max_loss: Option<f64>,
    pub retrain_cooldown_seconds: Option<i64>,
    /// `status.lastRetrainTime`.
    pub last_retrain: Option<DateTime<Utc>>,
    /// How it trains (`spec.training`), as written: what a retrain's Job is made from.
    pub training: serde_json::Value,
    /// How a version is served (`spec.serving`), as written: what its Deployment is made from.
    pub serving: serde_json::Value,
    /// How a version is validated (`spec.validation`), as written: its thresholds and, if
    /// it has one, the template of the Job that validates it.
    pub validation: serde_json::Value,
}

#[derive(Deserialize)]
struct RawModel {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: serde_json::Value,
    #[serde(default)]
    status: serde_json::Value,
}

impl From<RawModel> for Model {
    fn from(raw: RawModel) -> Self {
        let spec = &raw.spec;
        let route = spec["route"]["name"].as_str().map(|name| {
            let ns = spec["route"]["namespace"]
                .as_str()
                .unwrap_or(&raw.metadata.namespace);
            (ns.to_string(), name.to_string())
        });
        Model {
            description: spec["description"].as_str().unwrap_or("").into(),
            route,
            drift_threshold: spec["drift"]["threshold"].as_f64(),
            max_error_rate: spec["canary"]["maxErrorRate"].as_f64(),
            max_p99_seconds: spec["canary"]["maxP99LatencySeconds"].as_f64(),
            canary_steps: spec["canary"]["steps"]
                .as_array()
                .map(|steps| {
                    steps
                        .iter()
                        .filter_map(|s| s["weight"].as_i64())
                        .map(|w| w.clamp(0, 100) as i32)
                        .collect()
                })
                .unwrap_or_default(),
            canary_pauses: spec["canary"]["steps"]
                .as_array()
                .map(|steps| {
                    steps
                        .iter()
                        .filter(|s| s["weight"].is_i64())
                        .map(|s| s["pauseSeconds"].as_i64().unwrap_or(0).max(0))
                        .collect()
                })
                .unwrap_or_default(),
            require_approval: spec["canary"]["requireApproval"].as_bool() == Some(true),
            min_accuracy: spec["validation"]["minAccuracy"].as_f64(),
            max_loss: spec["validation"]["maxLoss"].as_f64(),
            retrain_cooldown_seconds: spec["drift"]["retrainCooldownSeconds"].as_i64(),
            last_retrain: time(&raw.status["lastRetrainTime"]),
            training: spec["training"].clone(),
            serving: spec["serving"].clone(),
            validation: spec["validation"].clone(),
            meta: raw.metadata,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawVersion")]
pub struct ModelVersion {
    pub meta: Meta,
    pub model: String,
    pub version: String,
    pub stage: String,
    pub accuracy: Option<f64>,
    pub loss: Option<f64>,
    pub source_job: String,
    pub artifact: String,
    /// Who approved it (annotation `mlxp.io/approved-by`): the gate a rollout waits on.
    pub approved_by: Option<String>,
    /// Canary analyses failed in a row (annotation `mlxp.io/analysis-failures`).
    pub analysis_failures: u32,
    /// When the canary reached its current step (annotation `mlxp.io/step-since`).
    pub step_since: Option<DateTime<Utc>>,
}

impl ModelVersion {
    /// Validated, its Model asks for an approval before a version takes traffic, and none
    /// was given: the pipeline waits on a human (`mlxp approve`, `a` in the cockpit).
    pub fn awaits_approval(&self, model: Option<&Model>) -> bool {
        self.stage == "Validated"
            && self.approved_by.is_none()
            && model.is_some_and(|m| m.require_approval)
    }
}

#[derive(Deserialize)]
struct RawVersion {
    #[serde(default)]
    metadata: serde_json::Value,
    #[serde(default)]
    spec: serde_json::Value,
}

impl From<RawVersion> for ModelVersion {
    fn from(raw: RawVersion) -> Self {
        let spec = &raw.spec;
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
        ModelVersion {
            model: text(&spec["model"]),
            version: text(&spec["version"]),
            stage: text(&spec["stage"]),
            accuracy: spec["metrics"]["accuracy"].as_f64(),
            loss: spec["metrics"]["loss"].as_f64(),
            source_job: text(&spec["sourceJob"]),
            artifact: text(&spec["artifactURI"]),
            approved_by: raw.metadata["annotations"]["mlxp.io/approved-by"]
                .as_str()
                .map(String::from),
            analysis_failures: raw.metadata["annotations"][ANALYSIS_FAILURES]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            step_since: time(&raw.metadata["annotations"][STEP_SINCE]),
            meta: serde_json::from_value(raw.metadata).unwrap_or_default(),
        }
    }
}
