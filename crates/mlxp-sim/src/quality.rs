//! Model quality over time: each served ModelVersion's live accuracy and drift score, as a
//! model-monitoring exporter would report them (`mlxp_model_accuracy`,
//! `mlxp_model_drift_score`).
//!
//! A version starts at the accuracy its training reported (spec.metrics.accuracy) with a low
//! drift score. A version of a Model annotated `sim.mlxp.io/drifting: "true"` drifts as it
//! ages — its data moves away from what it was trained on — and loses accuracy once drift
//! passes 0.1, until a retrained (newer) version replaces it.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::api::ApiState;
use super::clock::parse;
use super::ids::stable_hash;

pub const DRIFTING: &str = "sim.mlxp.io/drifting";
/// Drift gained per hour by a drifting model's version.
const DRIFT_PER_HOUR: f64 = 0.02;

/// (accuracy, drift score) of a version `age_hours` old.
pub fn quality(trained_accuracy: f64, drifting: bool, age_hours: f64, noise: f64) -> (f64, f64) {
    let base_drift = 0.02 + 0.03 * noise;
    let drift = if drifting {
        (base_drift + DRIFT_PER_HOUR * age_hours.max(0.0)).min(1.0)
    } else {
        base_drift
    };
    let loss = 0.5 * (drift - 0.1).max(0.0);
    let accuracy = (trained_accuracy - loss + (noise - 0.5) * 0.004).clamp(0.0, 1.0);
    (round4(accuracy), round4(drift))
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// (model, version, accuracy, drift) of every version that is serving or about to.
pub fn versions(state: &ApiState, now: DateTime<Utc>) -> Vec<(String, String, f64, f64)> {
    let drifting: Vec<(String, String)> = state
        .list_objects("mlxp.io", "models")
        .filter(|m| m["metadata"]["annotations"][DRIFTING] == "true")
        .map(|m| (text(&m, "namespace"), text(&m, "name")))
        .collect();
    let mut out = Vec::new();
    for version in state.list_objects("mlxp.io", "modelversions") {
        let stage = version["spec"]["stage"].as_str().unwrap_or("Registered");
        if matches!(stage, "Archived" | "Rejected") {
            continue;
        }
        let model = version["spec"]["model"].as_str().unwrap_or("");
        let name = version["spec"]["version"].as_str().unwrap_or("");
        let trained = version["spec"]["metrics"]["accuracy"]
            .as_f64()
            .unwrap_or(0.9);
        let created = version["metadata"]["creationTimestamp"]
            .as_str()
            .and_then(parse)
            .unwrap_or(now);
        let age_hours = (now - created).num_seconds() as f64 / 3600.0;
        let minute = state.clock.scenario_time(now).timestamp() / 60;
        let noise = (stable_hash(&format!("{model}/{name}/{minute}")) % 1000) as f64 / 1000.0;
        let is_drifting = drifting.contains(&(text(&version, "namespace"), model.to_string()));
        let (a, d) = quality(trained, is_drifting, age_hours, noise);
        out.push((model.to_string(), name.to_string(), a, d));
    }
    out
}

/// The model-quality metrics, in the Prometheus text format.
pub fn render(state: &ApiState, now: DateTime<Utc>, out: &mut String) {
    let mut accuracy = String::new();
    let mut drift = String::new();
    for (model, name, a, d) in versions(state, now) {
        let labels = format!("model=\"{model}\",version=\"{name}\"");
        let _ = writeln!(accuracy, "mlxp_model_accuracy{{{labels}}} {a}");
        let _ = writeln!(drift, "mlxp_model_drift_score{{{labels}}} {d}");
    }
    let _ = writeln!(
        out,
        "# HELP mlxp_model_accuracy Live accuracy of a model version.\n# TYPE mlxp_model_accuracy gauge"
    );
    out.push_str(&accuracy);
    let _ = writeln!(
        out,
        "# HELP mlxp_model_drift_score Input drift of a model version (0 none, 1 total).\n# TYPE mlxp_model_drift_score gauge"
    );
    out.push_str(&drift);
}

fn text(object: &Value, field: &str) -> String {
    object["metadata"][field].as_str().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stable_model_keeps_its_accuracy() {
        let (accuracy, drift) = quality(0.93, false, 500.0, 0.5);
        assert_eq!(accuracy, 0.93);
        assert!(drift < 0.06);
    }

    #[test]
    fn a_drifting_model_loses_accuracy_as_it_ages() {
        let (fresh_accuracy, fresh_drift) = quality(0.93, true, 0.0, 0.5);
        let (old_accuracy, old_drift) = quality(0.93, true, 24.0, 0.5);
        assert!(
            fresh_drift < 0.1 && old_drift > 0.45,
            "{fresh_drift} -> {old_drift}"
        );
        assert!(
            old_accuracy < fresh_accuracy - 0.15,
            "{fresh_accuracy} -> {old_accuracy}"
        );
        let (_, capped) = quality(0.93, true, 10_000.0, 0.5);
        assert_eq!(capped, 1.0);
    }
}
