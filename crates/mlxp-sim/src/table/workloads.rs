//! Workload kinds: Job, CronJob, Deployment, ReplicaSet and HorizontalPodAutoscaler, plus the selector and
//! container-list formatting they share.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{age, at, flag, human_duration, int, items, name, or_none, since, text, time_at};

/// `layoutContainerCells`: comma-joined container names and images.
fn containers(pod_spec: &Value) -> [Value; 2] {
    let list = items(pod_spec, &["containers"]);
    let join = |key: &str| {
        list.iter()
            .map(|c| text(c, &[key]))
            .collect::<Vec<_>>()
            .join(",")
    };
    [join("name").into(), join("image").into()]
}

/// `LabelSelectorAsSelector(..).String()`; `None` for an invalid selector.
fn selector_string(selector: &Value) -> Option<String> {
    let mut requirements: Vec<(&str, String)> = Vec::new();
    if let Some(labels) = at(selector, &["matchLabels"]).as_object() {
        for (key, value) in labels {
            requirements.push((key, format!("{key}={}", value.as_str()?)));
        }
    }
    for expr in items(selector, &["matchExpressions"]) {
        let key = text(expr, &["key"]);
        let mut values: Vec<&str> = items(expr, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let rendered = match text(expr, &["operator"]) {
            "In" if !values.is_empty() => format!("{key} in ({})", values.join(",")),
            "NotIn" if !values.is_empty() => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        };
        requirements.push((key, rendered));
    }
    requirements.sort_by(|a, b| a.0.cmp(b.0));
    Some(
        requirements
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// `metav1.FormatLabelSelector`.
fn format_selector(selector: &Value) -> Value {
    match selector_string(selector) {
        Some(s) => or_none(&s).into(),
        None => "<error>".into(),
    }
}

/// `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty.
pub(super) fn format_labels(labels: &Value) -> Value {
    let mut pairs: Vec<String> = match labels.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", text(v, &[])))
            .collect(),
        None => vec![],
    };
    pairs.sort();
    or_none(&pairs.join(",")).into()
}

/// `printJob`: the 1.33 Status column, completions and duration.
pub(super) fn job(job: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (spec, status) = (at(job, &["spec"]), at(job, &["status"]));
    let succeeded = int(status, &["succeeded"]);
    let completions = match at(spec, &["completions"]).as_i64() {
        Some(c) => format!("{succeeded}/{c}"),
        None => match at(spec, &["parallelism"]).as_i64().unwrap_or(1) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let duration = match (
        time_at(status, &["startTime"]),
        time_at(status, &["completionTime"]),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now - start),
        (Some(start), Some(end)) => human_duration(end - start),
    };
    let conditions = items(status, &["conditions"]);
    // hasJobCondition looks at the first condition of a type only.
    let has = |type_: &str| {
        conditions
            .iter()
            .find(|c| text(c, &["type"]) == type_)
            .is_some_and(|c| text(c, &["status"]) == "True")
    };
    let state = if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if !at(job, &["metadata", "deletionTimestamp"]).is_null() {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let [names, images] = containers(at(spec, &["template", "spec"]));
    let selector = format_selector(at(spec, &["selector"]));
    vec![
        name(job),
        state.into(),
        completions.into(),
        duration.into(),
        age(job, now),
        names,
        images,
        selector,
    ]
}

/// `printCronJob`.
pub(super) fn cron_job(cj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = at(cj, &["spec"]);
    let last_schedule = match at(cj, &["status", "lastScheduleTime"]) {
        Value::Null => "<none>".to_string(),
        t => since(t, &[], now),
    };
    // spec.suspend is defaulted to false by the apiserver.
    let suspend = if flag(spec, &["suspend"]) {
        "True"
    } else {
        "False"
    };
    let job_spec = at(spec, &["jobTemplate", "spec"]);
    let [names, images] = containers(at(job_spec, &["template", "spec"]));
    vec![
        name(cj),
        text(spec, &["schedule"]).into(),
        or_none(text(spec, &["timeZone"])).into(),
        suspend.into(),
        items(cj, &["status", "active"]).len().into(),
        last_schedule.into(),
        age(cj, now),
        names,
        images,
        format_selector(at(job_spec, &["selector"])),
    ]
}

/// `printDeployment`.
pub(super) fn deployment(d: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (spec, status) = (at(d, &["spec"]), at(d, &["status"]));
    // spec.replicas is defaulted to 1 by the apiserver.
    let desired = at(spec, &["replicas"]).as_i64().unwrap_or(1);
    let [names, images] = containers(at(spec, &["template", "spec"]));
    let selector = selector_string(at(spec, &["selector"])).unwrap_or_else(|| "<invalid>".into());
    vec![
        name(d),
        format!("{}/{desired}", int(status, &["readyReplicas"])).into(),
        int(status, &["updatedReplicas"]).into(),
        int(status, &["availableReplicas"]).into(),
        age(d, now),
        names,
        images,
        selector.into(),
    ]
}

/// `printReplicaSet`.
pub(super) fn replica_set(rs: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (spec, status) = (at(rs, &["spec"]), at(rs, &["status"]));
    let [names, images] = containers(at(spec, &["template", "spec"]));
    let selector = selector_string(at(spec, &["selector"])).unwrap_or_else(|| "<invalid>".into());
    vec![
        name(rs),
        at(spec, &["replicas"]).as_i64().unwrap_or(1).into(),
        int(status, &["replicas"]).into(),
        int(status, &["readyReplicas"]).into(),
        age(rs, now),
        names,
        images,
        selector.into(),
    ]
}

/// `printHorizontalPodAutoscaler`.
pub(super) fn hpa(hpa: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = at(hpa, &["spec"]);
    let reference = format!(
        "{}/{}",
        text(spec, &["scaleTargetRef", "kind"]),
        text(spec, &["scaleTargetRef", "name"])
    );
    let min_pods = at(spec, &["minReplicas"])
        .as_i64()
        .map_or("<unset>".to_string(), |m| m.to_string());
    vec![
        name(hpa),
        reference.into(),
        hpa_targets(hpa).into(),
        min_pods.into(),
        int(spec, &["maxReplicas"]).into(),
        int(hpa, &["status", "currentReplicas"]).into(),
        age(hpa, now),
    ]
}

/// `formatHPAMetrics` for autoscaling/v2 specs (and v1's targetCPUUtilizationPercentage).
fn hpa_targets(hpa: &Value) -> String {
    let (spec, status) = (at(hpa, &["spec"]), at(hpa, &["status"]));
    let mut specs = items(spec, &["metrics"]).to_vec();
    let mut statuses = items(status, &["currentMetrics"]).to_vec();
    if specs.is_empty()
        && let Some(target) = at(spec, &["targetCPUUtilizationPercentage"]).as_i64()
    {
        let cpu = json!({"name": "cpu", "target": {"averageUtilization": target}});
        specs = vec![json!({"type": "Resource", "resource": cpu})];
        let current = at(status, &["currentCPUUtilizationPercentage"]);
        statuses = vec![json!({"resource": {"current": {"averageUtilization": current}}})];
    }
    if specs.is_empty() {
        return "<none>".into();
    }
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, metric)| hpa_metric(metric, statuses.get(i)))
        .collect();
    match list.len() {
        n if n > 2 => format!("{} + {} more...", list[..2].join(", "), n - 2),
        _ => list.join(", "),
    }
}

/// One metric of `formatHPAMetrics`; `reported` is the status entry at the same index.
fn hpa_metric(metric: &Value, reported: Option<&Value>) -> String {
    const UNKNOWN: &str = "<unknown>";
    let source = match text(metric, &["type"]) {
        "External" => "external",
        "Pods" => "pods",
        "Object" => "object",
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        _ => return "<unknown type>".into(),
    };
    let name = text(metric, &[source, "name"]);
    let target = at(metric, &[source, "target"]);
    let target_average = at(target, &["averageValue"]);
    let reported = reported.map(|r| at(r, &[source])).filter(|r| r.is_object());
    let current =
        |key: &str| reported.map_or(UNKNOWN.into(), |r| quantity(at(r, &["current", key])));
    let percent = |v: &Value| v.as_i64().map(|p| format!("{p}%"));
    match source {
        "pods" => format!("{}/{}", current("averageValue"), quantity(target_average)),
        "external" | "object" if !target_average.is_null() => {
            let current = reported.map(|r| at(r, &["current", "averageValue"]));
            let current = current
                .filter(|v| !v.is_null())
                .map_or(UNKNOWN.into(), quantity);
            format!("{current}/{} (avg)", quantity(target_average))
        }
        "external" | "object" => {
            format!("{}/{}", current("value"), quantity(at(target, &["value"])))
        }
        _ if !target_average.is_null() => {
            format!(
                "{name}: {}/{}",
                current("averageValue"),
                quantity(target_average)
            )
        }
        _ => {
            let current = reported.and_then(|r| percent(at(r, &["current", "averageUtilization"])));
            let target = percent(at(target, &["averageUtilization"]));
            let (current, target) = (
                current.as_deref().unwrap_or(UNKNOWN),
                target.as_deref().unwrap_or("<auto>"),
            );
            format!("{name}: {current}/{target}")
        }
    }
}

/// A `resource.Quantity` as the printer shows it (kept in the user's notation).
fn quantity(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "<nil>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Printer;
    use super::super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn job_complete_with_duration() {
        let job = json!({
            "metadata": {"name": "train", "creationTimestamp": ago(3600)},
            "spec": {"completions": 1, "parallelism": 1,
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
                "template": {"spec": {"containers": [{"name": "train", "image": "trainer:1"}, {"name": "log", "image": "fluent"}]}}},
            "status": {"succeeded": 1, "startTime": ago(3000), "completionTime": ago(3000 - 192),
                "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}
        });
        let want = "train | Complete | 1/1 | 3m12s | 60m | train,log | trainer:1,fluent | batch.kubernetes.io/controller-uid=abc";
        assert_eq!(cells(&Printer::Job, job), want);
        let running =
            json!({"spec": {"parallelism": 3}, "status": {"startTime": ago(45), "succeeded": 2}});
        assert!(cells(&Printer::Job, running).starts_with(" | Running | 2/1 of 3 | 45s | "));
        let state = |conditions: Value| {
            let job = json!({"status": {"conditions": conditions}});
            row(&Printer::Job, job)["cells"][1]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            state(json!([{"type": "Failed", "status": "True"}])),
            "Failed"
        );
        assert_eq!(
            state(json!([{"type": "Suspended", "status": "True"}])),
            "Suspended"
        );
        assert_eq!(
            state(json!([{"type": "Complete", "status": "False"}])),
            "Running"
        );
    }

    #[test]
    fn cron_job_and_deployment() {
        let cj = json!({
            "metadata": {"name": "nightly", "creationTimestamp": ago(86400)},
            "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Paris",
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "img"}]}}}}},
            "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(7 * 3600)}
        });
        let r = row(&Printer::CronJob, cj);
        assert_eq!(
            line(&r["cells"]),
            "nightly | 0 3 * * * | Europe/Paris | False | 1 | 7h | 24h | c | img | <none>"
        );
        assert_eq!(r["cells"][4], json!(1));
        let deploy = json!({
            "metadata": {"name": "api", "creationTimestamp": ago(120)},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"},
                     "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "canary"]}]},
                     "template": {"spec": {"containers": [{"name": "api", "image": "api:2"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        let r = row(&Printer::Deployment, deploy);
        assert_eq!(
            line(&r["cells"]),
            "api | 2/3 | 3 | 2 | 2m | api | api:2 | app=api,env in (canary,prod)"
        );
        assert_eq!(r["cells"][2], json!(3));
    }

    #[test]
    fn hpa_targets_and_replicas() {
        let hpa = json!({
            "metadata": {"name": "api", "creationTimestamp": ago(60)},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [
                         {"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 70}}},
                         {"type": "Resource", "resource": {"name": "memory", "target": {"averageValue": "1Gi"}}},
                         {"type": "Pods", "pods": {"target": {"averageValue": "100"}}}
                     ]},
            "status": {"currentReplicas": 3, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45}}}]}
        });
        let want = "api | Deployment/api | cpu: 45%/70%, memory: <unknown>/1Gi + 1 more... | 2 | 10 | 3 | 60s";
        assert_eq!(cells(&Printer::Hpa, hpa), want);
        let v1 = json!({"spec": {"targetCPUUtilizationPercentage": 80}});
        assert_eq!(row(&Printer::Hpa, v1)["cells"][2], "cpu: <unknown>/80%");
    }

    #[test]
    fn selectors() {
        let invalid = json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]});
        assert_eq!(format_selector(&invalid), "<error>");
        let exprs = json!({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}, {"key": "0", "operator": "Exists"}]});
        assert_eq!(format_selector(&exprs), "0,!a");
        assert_eq!(format_selector(&json!({})), "<none>");
        assert_eq!(format_labels(&json!({"b": "2", "a": "1"})), "a=1,b=2");
    }
}
