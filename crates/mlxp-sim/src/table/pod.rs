//! `printPod`: the READY / STATUS / RESTARTS logic of kube-apiserver, branch for branch.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{age, at, flag, human_duration, int, items, name, or_none, text, time_at};

/// `printPod`'s row conditions, which mark finished pods.
pub(super) fn pod_row_conditions(pod: &Value) -> Option<Value> {
    let (reason, message) = match text(pod, &["status", "phase"]) {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

/// The later of two optional timestamps (`lastRestartDate.Before(..)` in Go).
fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    a.max(b)
}

/// Whether some pod condition of this type has status `True`.
fn condition_true(conditions: &[Value], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| text(c, &["type"]) == type_ && text(c, &["status"]) == "True")
}

/// `Signal:N` / `ExitCode:N` / the termination reason, for a `state.terminated` object.
fn terminated_reason(terminated: &Value) -> String {
    match text(terminated, &["reason"]) {
        "" if int(terminated, &["signal"]) != 0 => {
            format!("Signal:{}", int(terminated, &["signal"]))
        }
        "" => format!("ExitCode:{}", int(terminated, &["exitCode"])),
        reason => reason.to_string(),
    }
}

/// `printPod`. Init containers are checked first: the first one that has not finished decides
/// the status (`Init:N/M`, `Init:<reason>`); restartable init containers (sidecars) count as
/// regular containers once started. Then the main containers, last to first, override it with
/// their waiting/terminated reasons.
pub(super) fn pod(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (spec, status) = (at(pod, &["spec"]), at(pod, &["status"]));
    let phase = text(status, &["phase"]);
    let conditions = items(status, &["conditions"]);
    let mut reason = match text(status, &["reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if conditions
        .iter()
        .any(|c| text(c, &["type"]) == "PodScheduled" && text(c, &["reason"]) == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let init_specs = items(spec, &["initContainers"]);
    let sidecars: Vec<&str> = init_specs
        .iter()
        .filter(|c| text(c, &["restartPolicy"]) == "Always")
        .map(|c| text(c, &["name"]))
        .collect();
    let total = items(spec, &["containers"]).len() + sidecars.len();
    let (mut ready, mut restarts, mut sidecar_restarts) = (0, 0, 0);
    let (mut last_restart, mut last_sidecar_restart) = (None, None);

    let mut initializing = false;
    for (i, c) in items(status, &["initContainerStatuses"]).iter().enumerate() {
        let count = int(c, &["restartCount"]);
        let finished = time_at(c, &["lastState", "terminated", "finishedAt"]);
        restarts += count;
        last_restart = later(last_restart, finished);
        let sidecar = sidecars.contains(&text(c, &["name"]));
        if sidecar {
            sidecar_restarts += count;
            last_sidecar_restart = later(last_sidecar_restart, finished);
        }
        let terminated = at(c, &["state", "terminated"]);
        let waiting = text(c, &["state", "waiting", "reason"]);
        if terminated.is_object() && int(terminated, &["exitCode"]) == 0 {
            continue;
        }
        if sidecar && flag(c, &["started"]) {
            ready += usize::from(flag(c, &["ready"]));
            continue;
        }
        reason = if terminated.is_object() {
            format!("Init:{}", terminated_reason(terminated))
        } else if !waiting.is_empty() && waiting != "PodInitializing" {
            format!("Init:{waiting}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(conditions, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in items(status, &["containerStatuses"]).iter().rev() {
            restarts += int(c, &["restartCount"]);
            last_restart = later(
                last_restart,
                time_at(c, &["lastState", "terminated", "finishedAt"]),
            );
            let waiting = text(c, &["state", "waiting", "reason"]);
            let terminated = at(c, &["state", "terminated"]);
            if !waiting.is_empty() {
                reason = waiting.into();
            } else if terminated.is_object() {
                reason = terminated_reason(terminated);
            } else if flag(c, &["ready"]) && at(c, &["state", "running"]).is_object() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(conditions, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .into();
        }
    }

    let deleting = !at(pod, &["metadata", "deletionTimestamp"]).is_null();
    if deleting && text(status, &["reason"]) == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".into();
    }

    let restarts = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(now - t)),
        _ => restarts.to_string(),
    };
    let ip = match items(status, &["podIPs"]).first() {
        Some(first) => text(first, &["ip"]),
        None => text(status, &["podIP"]),
    };
    let gates = items(spec, &["readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let passing = gates
            .iter()
            .filter(|gate| {
                let wanted = text(gate, &["conditionType"]);
                conditions
                    .iter()
                    .find(|c| text(c, &["type"]) == wanted)
                    .is_some_and(|c| text(c, &["status"]) == "True")
            })
            .count();
        format!("{passing}/{}", gates.len())
    };
    vec![
        name(pod),
        format!("{ready}/{total}").into(),
        reason.into(),
        restarts.into(),
        age(pod, now),
        or_none(ip).into(),
        or_none(text(spec, &["nodeName"])).into(),
        or_none(text(status, &["nominatedNodeName"])).into(),
        readiness_gates.into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::Printer;
    use super::super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn running_pod() {
        let pod = json!({
            "metadata": {"name": "web-7d4b9c", "namespace": "default", "creationTimestamp": ago(3 * 86400 + 5 * 3600)},
            "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx"}],
                     "readinessGates": [{"conditionType": "example.com/lb"}]},
            "status": {
                "phase": "Running", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.7"}],
                "conditions": [{"type": "Ready", "status": "True"}, {"type": "example.com/lb", "status": "True"}],
                "containerStatuses": [{"name": "web", "ready": true, "restartCount": 2,
                    "state": {"running": {"startedAt": ago(300)}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}}]
            }
        });
        let r = row(&Printer::Pod, pod);
        let want =
            "web-7d4b9c | 1/1 | Running | 2 (5m ago) | 3d5h | 10.0.0.7 | node-1 | <none> | 1/1";
        assert_eq!(line(&r["cells"]), want);
        assert!(r.get("conditions").is_none());
    }

    #[test]
    fn pending_container_creating_pod() {
        let pod = json!({
            "metadata": {"name": "p", "creationTimestamp": ago(12)},
            "spec": {"nodeName": "node-2", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Pending", "podIP": "10.0.0.3", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}},
                {"name": "b", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
            ]}
        });
        let want = "p | 0/2 | ContainerCreating | 0 | 12s | 10.0.0.3 | node-2 | <none> | <none>";
        assert_eq!(cells(&Printer::Pod, pod), want);
    }

    #[test]
    fn completed_pod_has_completed_row_condition() {
        let pod = json!({
            "metadata": {"name": "job-x", "creationTimestamp": ago(600)},
            "spec": {"containers": [{"name": "main"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [{"name": "main", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}
        });
        let r = row(&Printer::Pod, pod);
        assert!(line(&r["cells"]).starts_with("job-x | 0/1 | Completed | 0 | 10m | "));
        assert_eq!(r["conditions"][0]["type"], "Completed");
        assert_eq!(r["conditions"][0]["reason"], "Succeeded");
    }

    #[test]
    fn pod_status_reasons() {
        let status = |pod: Value| {
            row(&Printer::Pod, pod)["cells"][2]
                .as_str()
                .unwrap()
                .to_string()
        };
        let crash = json!({"spec": {"containers": [{}]}, "status": {"phase": "Running", "containerStatuses": [
            {"restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(status(crash), "CrashLoopBackOff");
        let error = json!({"status": {"phase": "Failed", "containerStatuses": [
            {"state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}});
        assert_eq!(status(error), "Error");
        let killed = json!({"status": {"phase": "Failed", "containerStatuses": [
            {"state": {"terminated": {"exitCode": 137, "signal": 9}}}]}});
        assert_eq!(status(killed), "Signal:9");
        let init = json!({"spec": {"initContainers": [{"name": "i"}, {"name": "j"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]}});
        assert_eq!(status(init), "Init:0/2");
        let init_crash = json!({"spec": {"initContainers": [{"name": "i"}]}, "status": {"phase": "Pending",
            "initContainerStatuses": [{"name": "i", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(status(init_crash), "Init:CrashLoopBackOff");
        let terminating =
            json!({"metadata": {"deletionTimestamp": ago(1)}, "status": {"phase": "Running"}});
        assert_eq!(status(terminating), "Terminating");
        let gated = json!({"status": {"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "reason": "SchedulingGated"}]}});
        assert_eq!(status(gated), "SchedulingGated");
        assert_eq!(
            status(json!({"status": {"phase": "Failed", "reason": "Evicted"}})),
            "Evicted"
        );
    }

    #[test]
    fn pod_with_running_sidecar_counts_it() {
        let pod = json!({
            "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "restartCount": 1,
                    "state": {"running": {}}}],
                "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]}
        });
        assert!(cells(&Printer::Pod, pod).starts_with(" | 2/2 | Running | 1 | "));
    }
}
