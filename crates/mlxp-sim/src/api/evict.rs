//! `POST pods/NAME/eviction` (policy/v1 Eviction), as `kubectl drain` sends it: the pod is
//! deleted unless a PodDisruptionBudget of its namespace would be broken, which answers
//! 429 with the budget's figures, as the API server does.
//!
//! The budget is judged on the pods as they are now (healthy: Running, Ready, not being
//! deleted), under the store's lock, so two evictions cannot both spend its last
//! disruption. Pods not Running (Pending, Succeeded, Failed) or already being deleted are
//! evicted without asking the budget, as the server does.

use hyper::{Response, StatusCode};
use mlxp_core::domain::selector::LabelSelector;
use serde_json::{Value, json};

use super::request::Context;
use super::status::ApiError;
use super::write::{Propagation, remove};
use super::{Body, body, json_response};
use crate::resources::StoreKey;

pub fn evict(ctx: &Context, bytes: &[u8]) -> Result<Response<Body>, ApiError> {
    let name = ctx.target.name.clone().unwrap_or_default();
    let eviction = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        body::decode(bytes, &ctx.content_type)?
    };
    if let Some(asked) = eviction["metadata"]["name"].as_str()
        && asked != name
    {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in Eviction object: {name} != {asked}"
        )));
    }
    let dry_run = ctx.query.dry_run
        || eviction["deleteOptions"]["dryRun"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
    let pods = ctx.rt.store_key();
    let budgets = StoreKey {
        group: "policy".into(),
        plural: "poddisruptionbudgets".into(),
    };
    let namespace = ctx.namespace().to_string();
    let registry = ctx.state.registry().clone();
    ctx.state.store.transact(|tx| {
        let pod = tx
            .get(&pods, &namespace, &name)
            .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
        let pod_value = pod.value();
        if !ignores_budgets(&pod_value) {
            let in_namespace: Vec<Value> = tx
                .names(&pods, Some(&namespace))
                .iter()
                .filter_map(|(ns, n)| tx.get(&pods, ns, n))
                .map(|p| p.value())
                .collect();
            let matching: Vec<Value> = tx
                .names(&budgets, Some(&namespace))
                .iter()
                .filter_map(|(ns, n)| tx.get(&budgets, ns, n))
                .map(|b| b.value())
                .filter(|b| selects(&b["spec"]["selector"], &pod_value))
                .collect();
            if matching.len() > 1 {
                return Err(ApiError::internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ));
            }
            if let Some(budget) = matching.first() {
                check_budget(budget, &in_namespace)?;
            }
        }
        if !dry_run {
            // Evicted as deleted: gracefully when it runs on a node.
            let options = &eviction["deleteOptions"];
            match super::graceful::pod_grace(&pod_value, options) {
                Some(grace) => {
                    let now = ctx.state.clock.now();
                    if let Some(marked) = super::graceful::terminating(&pod_value, now, grace) {
                        tx.put(&ctx.rt, marked);
                    }
                }
                None => {
                    remove(tx, &ctx.state, &registry, &ctx.rt, &pod, Propagation::Cascade);
                }
            }
        }
        Ok(())
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}

/// canIgnorePDB: a pod not running, or already on its way out, costs the budget nothing.
fn ignores_budgets(pod: &Value) -> bool {
    !pod["metadata"]["deletionTimestamp"].is_null()
        || matches!(
            pod["status"]["phase"].as_str(),
            Some("Pending" | "Succeeded" | "Failed") | None
        )
}

/// policy/v1: a null selector selects nothing, `{}` every pod of the namespace.
fn selects(selector: &Value, pod: &Value) -> bool {
    if selector.is_null() {
        return false;
    }
    let Ok(selector) = LabelSelector::from_label_selector_json(selector) else {
        return false;
    };
    let labels = &pod["metadata"]["labels"];
    selector.matches(|k| labels[k].as_str())
}

fn healthy(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["phase"] == "Running"
        && pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// 429 unless the budget allows one more disruption.
fn check_budget(budget: &Value, pods: &[Value]) -> Result<(), ApiError> {
    let selected: Vec<&Value> = pods
        .iter()
        .filter(|p| selects(&budget["spec"]["selector"], p))
        .collect();
    let expected = selected.len() as i64;
    let current = selected.iter().filter(|p| healthy(p)).count() as i64;
    let spec = &budget["spec"];
    let desired = if !spec["minAvailable"].is_null() {
        scaled(&spec["minAvailable"], expected, true)
    } else if !spec["maxUnavailable"].is_null() {
        expected - scaled(&spec["maxUnavailable"], expected, true)
    } else {
        0
    };
    if current - desired > 0 {
        return Ok(());
    }
    let name = budget["metadata"]["name"].as_str().unwrap_or_default();
    Err(ApiError::too_many_requests_with_cause(
        "Cannot evict pod as it would violate the pod's disruption budget.",
        "DisruptionBudget",
        format!(
            "The disruption budget {name} needs {desired} healthy pods and has {current} currently"
        ),
    ))
}

/// GetScaledValueFromIntOrPercent: a count, or a percentage of `total` rounded up or down.
fn scaled(value: &Value, total: i64, round_up: bool) -> i64 {
    if let Some(n) = value.as_i64() {
        return n;
    }
    let Some(percent) = value
        .as_str()
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|p| p.parse::<i64>().ok())
    else {
        return 0;
    };
    let product = percent * total;
    if round_up {
        (product + 99) / 100
    } else {
        product / 100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, app: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "labels": {"app": app}},
               "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
    }

    fn budget(spec: Value) -> Value {
        let mut spec = spec;
        spec["selector"] = json!({"matchLabels": {"app": "web"}});
        json!({"metadata": {"name": "web"}, "spec": spec})
    }

    #[test]
    fn a_budget_allows_what_leaves_enough_healthy_pods() {
        let pods = [
            pod("a", "web", true),
            pod("b", "web", true),
            pod("c", "web", false),
            pod("x", "db", true),
        ];
        // 3 selected, 2 healthy.
        assert!(check_budget(&budget(json!({"minAvailable": 1})), &pods).is_ok());
        let refused = check_budget(&budget(json!({"minAvailable": 2})), &pods).unwrap_err();
        assert_eq!(refused.code, 429);
        assert_eq!(
            refused.to_status()["details"]["causes"][0]["message"],
            "The disruption budget web needs 2 healthy pods and has 2 currently"
        );
        // 50 % of 3 rounds up to 2 unavailable: 1 must stay healthy.
        assert!(check_budget(&budget(json!({"maxUnavailable": "50%"})), &pods).is_ok());
        assert!(check_budget(&budget(json!({"maxUnavailable": 0})), &pods).is_err());
        // 67 % of 3 rounds up to 3 healthy needed.
        assert!(check_budget(&budget(json!({"minAvailable": "67%"})), &pods).is_err());
    }

    #[test]
    fn pods_not_running_or_leaving_ignore_budgets_and_null_selects_nothing() {
        assert!(ignores_budgets(&json!({"status": {"phase": "Pending"}})));
        assert!(ignores_budgets(
            &json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running"}})
        ));
        assert!(!ignores_budgets(&pod("a", "web", true)));
        assert!(!selects(&Value::Null, &pod("a", "web", true)));
        assert!(selects(&json!({}), &pod("a", "web", true)));
    }
}
