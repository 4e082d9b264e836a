//! The model registry: Models (mlxp.io/v1alpha1) and their ModelVersions.

use serde::Deserialize;

use super::meta::Meta;

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
    /// How it trains (`spec.training`), as written: what a retrain's Job is made from.
    pub training: serde_json::Value,
}

#[derive(Deserialize)]
struct RawModel {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: serde_json::Value,
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
            training: spec["training"].clone(),
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
            meta: serde_json::from_value(raw.metadata).unwrap_or_default(),
        }
    }
}
