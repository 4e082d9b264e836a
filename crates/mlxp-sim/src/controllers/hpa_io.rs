//! The HorizontalPodAutoscaler controller's I/O: every sync period it measures each HPA's
//! target — a Deployment serving a model version (labels `mlxp.io/model`,
//! `mlxp.io/version`) — from the traffic it serves, asks `hpa::reconcile`, and writes the
//! HPA's status and the Deployment's replicas.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::hpa;
use crate::api::ApiState;

/// kube-controller-manager's --horizontal-pod-autoscaler-sync-period.
const SYNC_PERIOD: i64 = 15;
/// What one replica serves at 100 % utilisation, unless the Deployment says
/// (`sim.mlxp.io/rps-per-replica`).
const DEFAULT_RPS_PER_REPLICA: f64 = 50.0;
pub const RPS_PER_REPLICA: &str = "sim.mlxp.io/rps-per-replica";

/// An HPA's recent (time, recommended replicas).
type Recommendations = Vec<(DateTime<Utc>, i32)>;

#[derive(Default)]
pub struct Autoscaler {
    last_sync: Option<DateTime<Utc>>,
    /// Recent recommendations per HPA, kept in memory as kube-controller-manager does.
    recommendations: HashMap<(String, String), Recommendations>,
}

impl Autoscaler {
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        if self
            .last_sync
            .is_some_and(|last| now < last + Duration::seconds(SYNC_PERIOD))
        {
            return 0;
        }
        self.last_sync = Some(now);
        let mut changed = 0;
        let mut seen = Vec::new();
        for autoscaler in state.list_objects("autoscaling", "horizontalpodautoscalers") {
            let namespace = autoscaler["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let name = autoscaler["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let key = (namespace.clone(), name);
            seen.push(key.clone());
            let Some(target) = hpa::scale_target(&autoscaler).filter(|t| t.kind == "Deployment")
            else {
                continue;
            };
            let Some(deployment) =
                state.get_object("apps", "deployments", &namespace, &target.name)
            else {
                continue;
            };
            let current = deployment["spec"]["replicas"].as_i64().unwrap_or(1) as i32;
            let utilization = utilization(state, &deployment);
            let previous = self.recommendations.get(&key).cloned().unwrap_or_default();
            let decision = hpa::reconcile(&autoscaler, current, utilization, &previous, now);
            self.recommendations.insert(key, decision.recommendations);
            let mut next = autoscaler.clone();
            next["status"] = decision.status;
            if next != autoscaler
                && state.replace_object("autoscaling", "horizontalpodautoscalers", next)
            {
                changed += 1;
            }
            if decision.desired_replicas != current {
                let mut scaled = deployment.clone();
                scaled["spec"]["replicas"] = json!(decision.desired_replicas);
                if state.replace_object("apps", "deployments", scaled) {
                    changed += 1;
                }
            }
        }
        self.recommendations.retain(|k, _| seen.contains(k));
        changed
    }
}

/// Average utilisation of the Deployment's ready replicas in percent, from the requests
/// per second its model version serves; None when it serves no known model version.
fn utilization(state: &ApiState, deployment: &Value) -> Option<f64> {
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let model = labels["mlxp.io/model"].as_str()?;
    let version = labels["mlxp.io/version"].as_str()?;
    let namespace = deployment["metadata"]["namespace"].as_str().unwrap_or("");
    let per_replica = deployment["metadata"]["annotations"][RPS_PER_REPLICA]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(DEFAULT_RPS_PER_REPLICA);
    let ready = deployment["status"]["readyReplicas"]
        .as_f64()
        .unwrap_or(0.0)
        .max(1.0);
    let rps = state
        .traffic
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .rps(namespace, model, version);
    Some(rps / (ready * per_replica) * 100.0)
}
