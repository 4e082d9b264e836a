//! The kubelet of every simulated node: runs the pods bound to it.
//!
//! Pending (ContainerCreating) → Running → Ready after a start-up delay; a pod whose template
//! says how long it runs (`sim.mlxp.io/duration`) then ends Succeeded — or Failed when it asks
//! to (`sim.mlxp.io/fail: "true"`) — with its result as the container's termination message,
//! the Kubernetes-native way for a training run to hand back its metrics.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::queue::{Work, WorkQueue};
use crate::api::ApiState;
use crate::clock::{parse, timestamp};
use crate::ids::stable_hash;
use crate::resources::StoreKey;
use crate::traffic::MODEL_LABEL;

/// How long an image pull and container start take.
const CREATE_DELAY: i64 = 3;
/// Default time from container start to Ready.
const DEFAULT_STARTUP: i64 = 5;

pub const DURATION: &str = "sim.mlxp.io/duration";
pub const FAIL: &str = "sim.mlxp.io/fail";
pub const RESULT: &str = "sim.mlxp.io/result";
pub const STARTUP: &str = "sim.mlxp.io/startup-seconds";

/// The kubelets of all nodes: which pods to look at, and when.
pub struct Kubelet {
    queue: WorkQueue,
    /// Training epochs already written to each running pod's log (by uid).
    epochs_logged: HashMap<String, i32>,
    /// Until when each serving pod's access log is written (by uid).
    access_logged: HashMap<String, DateTime<Utc>>,
}

/// How often a serving pod's access log gets its next lines.
const ACCESS_LOG_EVERY: i64 = 30;
/// Requests written per interval: a sample, as servers log at a sampling rate under load.
const ACCESS_LINES: i64 = 3;
const VERSION_LABEL: &str = "mlxp.io/version";

/// Epochs a training run is split into; one log line each, spread over its duration.
const EPOCHS: i32 = 10;

impl Kubelet {
    pub fn new(state: &ApiState) -> Self {
        Kubelet {
            queue: WorkQueue::new(&state.store, vec![pods_key()]),
            epochs_logged: HashMap::new(),
            access_logged: HashMap::new(),
        }
    }

    /// One pass over the pods that changed or are due; returns how many it moved.
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        let pods: Box<dyn Iterator<Item = Value>> = match self.queue.take(now) {
            Work::All => Box::new(state.list_objects("", "pods")),
            Work::Some(refs) => Box::new(
                refs.into_iter()
                    .filter_map(|(_, ns, name)| state.get_object("", "pods", &ns, &name)),
            ),
        };
        let mut changed = 0;
        for pod in pods {
            let key = (
                pods_key(),
                pod["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                pod["metadata"]["name"].as_str().unwrap_or("").to_string(),
            );
            // Terminating: removed once its containers have stopped (the final delete).
            if let Some(at) = crate::api::graceful::kubelet_removes_at(&pod) {
                if now >= at {
                    changed += usize::from(state.delete_object("", "pods", &key.1, &key.2));
                } else {
                    self.queue.after(at, key);
                }
                continue;
            }
            let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
            let mut lines = self.epoch_lines(&pod, &uid, now);
            lines.push_str(&self.access_lines(state, &pod, &uid, now));
            if !lines.is_empty() {
                state.store.append_log(&uid, &lines);
            }
            let Some(next) = step(&pod, now) else {
                if let Some(at) = next_due(&pod, now) {
                    self.queue.after(at, key);
                }
                continue;
            };
            let log = log_for_transition(&pod, &next, now);
            // A failed write means the pod changed meanwhile: its change event brings it back.
            if state.replace_object("", "pods", next) {
                changed += 1;
                if !log.is_empty() {
                    state.store.append_log(&uid, &log);
                }
            }
        }
        changed
    }
}

impl Kubelet {
    /// Log lines for the epochs a running training pod has finished by `now`, not yet written.
    fn epoch_lines(&mut self, pod: &Value, uid: &str, now: DateTime<Utc>) -> String {
        let Some((since, run_for)) = training_run(pod) else {
            self.epochs_logged.remove(uid);
            return String::new();
        };
        let per_epoch = run_for / EPOCHS;
        if per_epoch <= Duration::zero() {
            return String::new();
        }
        let done =
            (((now - since).num_seconds() / per_epoch.num_seconds().max(1)) as i32).min(EPOCHS);
        let logged = self.epochs_logged.entry(uid.to_string()).or_insert(0);
        let mut text = String::new();
        for epoch in (*logged + 1)..=done {
            let at = timestamp(since + per_epoch * epoch);
            let loss = 2.0 * 0.72f64.powi(epoch);
            let speed = 8.0 + (stable_hash(&format!("{uid}/{epoch}")) % 20) as f64 / 10.0;
            text.push_str(&format!(
                "{at} epoch {epoch}/{EPOCHS} step {} loss={loss:.4} step/s={speed:.1}\n",
                epoch * 500
            ));
        }
        *logged = (*logged).max(done);
        text
    }
}

impl Kubelet {
    /// Access log lines of a ready serving pod since it last got some: a sample of requests
    /// with the status and latency its version serves now.
    fn access_lines(
        &mut self,
        state: &ApiState,
        pod: &Value,
        uid: &str,
        now: DateTime<Utc>,
    ) -> String {
        let labels = &pod["metadata"]["labels"];
        let (Some(model), Some(version)) =
            (labels[MODEL_LABEL].as_str(), labels[VERSION_LABEL].as_str())
        else {
            return String::new();
        };
        if !serving_ready(pod) {
            self.access_logged.remove(uid);
            return String::new();
        }
        let since = *self.access_logged.entry(uid.to_string()).or_insert(now);
        let intervals = (now - since).num_seconds() / ACCESS_LOG_EVERY;
        if intervals <= 0 {
            return String::new();
        }
        self.access_logged.insert(
            uid.to_string(),
            since + Duration::seconds(intervals * ACCESS_LOG_EVERY),
        );
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("");
        let served = state
            .traffic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .served
            .get(&(
                namespace.to_string(),
                model.to_string(),
                version.to_string(),
            ))
            .cloned()
            .unwrap_or_default();
        let total = served.ok + served.errors;
        let error_ratio = if total > 0.0 {
            served.errors / total
        } else {
            0.0
        };
        let mean_ms = if total > 0.0 {
            served.latency_sum / total * 1000.0
        } else {
            40.0
        };
        let mut text = String::new();
        // Only the last few intervals: a pod looked at after a long pause does not flood.
        for interval in (intervals - 2).max(0)..intervals {
            for i in 0..ACCESS_LINES {
                let at = since
                    + Duration::seconds(
                        interval * ACCESS_LOG_EVERY + i * ACCESS_LOG_EVERY / ACCESS_LINES,
                    );
                let h = stable_hash(&format!("{uid}/{}/{i}", at.timestamp()));
                let failed = (h % 10_000) as f64 / 10_000.0 < error_ratio;
                let status = if failed { 503 } else { 200 };
                // Around the version's mean latency: from half of it to one and a half times.
                let latency = mean_ms * (0.5 + ((h >> 16) % 1000) as f64 / 1000.0);
                text.push_str(&format!(
                    "{} {} \"POST /v2/models/{model}/infer HTTP/1.1\" {status} {:.1}ms version={version}\n",
                    timestamp(at),
                    client_ip(h),
                    latency
                ));
            }
        }
        text
    }
}

/// A caller's address inside the cluster network.
fn client_ip(h: u64) -> String {
    format!(
        "10.{}.{}.{}",
        64 + (h >> 24) % 8,
        (h >> 32) % 250,
        (h >> 40) % 250 + 2
    )
}

/// Running with its container ready.
fn serving_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["status"]["containerStatuses"][0]["ready"].as_bool() == Some(true)
        && annotation(pod, DURATION).is_none()
}

/// When a running training pod's containers started, and how long it runs.
fn training_run(pod: &Value) -> Option<(DateTime<Utc>, Duration)> {
    if pod["status"]["phase"] != "Running" {
        return None;
    }
    let since =
        parse(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"].as_str()?)?;
    Some((since, annotation(pod, DURATION).and_then(parse_duration)?))
}

fn pods_key() -> StoreKey {
    StoreKey {
        group: String::new(),
        plural: "pods".into(),
    }
}

/// When a pod that does not move now will move by itself, if ever.
pub fn next_due(pod: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty())?;
    let status = &pod["status"];
    match status["phase"].as_str().unwrap_or("Pending") {
        "Pending" => Some(parse(status["startTime"].as_str()?)? + Duration::seconds(CREATE_DELAY)),
        "Running" => {
            let since =
                parse(status["containerStatuses"][0]["state"]["running"]["startedAt"].as_str()?)?;
            let ready_at =
                (status["containerStatuses"][0]["ready"].as_bool() != Some(true)).then(|| {
                    since
                        + Duration::seconds(
                            annotation(pod, STARTUP)
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(DEFAULT_STARTUP),
                        )
                });
            let end_at = annotation(pod, DURATION)
                .and_then(parse_duration)
                .or_else(|| super::commands::of_pod(pod).map(|run| Duration::seconds(run.seconds)))
                .map(|d| since + d);
            // A training run also logs each epoch as it ends.
            let next_epoch = training_run(pod).and_then(|(since, run_for)| {
                let per_epoch = run_for / EPOCHS;
                let secs = per_epoch.num_seconds();
                (secs > 0).then(|| {
                    let done = (now - since).num_seconds().max(0) / secs;
                    since + Duration::seconds(secs * (done + 1))
                })
            });
            // A ready serving pod writes its access log every ACCESS_LOG_EVERY seconds.
            let next_access = (serving_ready(pod)
                && pod["metadata"]["labels"][VERSION_LABEL].is_string())
            .then(|| now + Duration::seconds(ACCESS_LOG_EVERY));
            [ready_at, end_at, next_epoch, next_access]
                .into_iter()
                .flatten()
                .min()
        }
        _ => None,
    }
}

fn annotation<'a>(pod: &'a Value, key: &str) -> Option<&'a str> {
    pod["metadata"]["annotations"][key].as_str()
}

/// The pod's next state at `now`, if it moves.
pub fn step(pod: &Value, now: DateTime<Utc>) -> Option<Value> {
    let node = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty())?;
    if pod["metadata"]["deletionTimestamp"].is_string() {
        return None;
    }
    let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
    let started = pod["status"]["startTime"].as_str().and_then(parse);
    let mut next = pod.clone();
    let status = &mut next["status"];
    let containers: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|c| c["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    match (phase, started) {
        ("Pending", None) => {
            status["startTime"] = json!(timestamp(now));
            status["hostIP"] = json!(node_ip(node));
            set_condition(status, "PodScheduled", true, now);
            set_condition(status, "Initialized", true, now);
            set_condition(status, "Ready", false, now);
            set_condition(status, "ContainersReady", false, now);
            status["containerStatuses"] = json!(
                containers
                    .iter()
                    .map(|name| container_status(
                        pod,
                        name,
                        json!({"waiting": {"reason": "ContainerCreating"}}),
                        false
                    ))
                    .collect::<Vec<_>>()
            );
            Some(next)
        }
        ("Pending", Some(start)) if now >= start + Duration::seconds(CREATE_DELAY) => {
            status["phase"] = json!("Running");
            status["podIP"] = json!(pod_ip(pod));
            status["podIPs"] = json!([{"ip": pod_ip(pod)}]);
            set_condition(status, "PodReadyToStartContainers", true, now);
            status["containerStatuses"] = json!(
                containers
                    .iter()
                    .map(|name| container_status(
                        pod,
                        name,
                        json!({"running": {"startedAt": timestamp(now)}}),
                        false
                    ))
                    .collect::<Vec<_>>()
            );
            Some(next)
        }
        ("Running", _) => {
            let running_since =
                pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
                    .as_str()
                    .and_then(parse)?;
            let command = super::commands::of_pod(pod);
            let ends = match (annotation(pod, DURATION).and_then(parse_duration), &command) {
                (Some(run_for), _) => Some(running_since + run_for),
                (None, Some(run)) => Some(running_since + Duration::seconds(run.seconds)),
                (None, None) => None,
            };
            if ends.is_some_and(|end| now >= end) {
                let (exit_code, message) = match &command {
                    Some(run) if annotation(pod, DURATION).is_none() => (run.exit_code, None),
                    _ => {
                        let failed = annotation(pod, FAIL) == Some("true");
                        (i64::from(failed), Some(termination_message(pod, failed)))
                    }
                };
                let failed = exit_code != 0;
                let finished = timestamp(now);
                status["phase"] = json!(if failed { "Failed" } else { "Succeeded" });
                set_condition(status, "Ready", false, now);
                set_condition(status, "ContainersReady", false, now);
                let mut state = json!({"terminated": {
                    "exitCode": exit_code,
                    "reason": if failed { "Error" } else { "Completed" },
                    "startedAt": timestamp(running_since),
                    "finishedAt": finished,
                }});
                if let Some(message) = message {
                    state["terminated"]["message"] = json!(message);
                }
                status["containerStatuses"] = json!(
                    containers
                        .iter()
                        .map(|name| container_status(pod, name, state.clone(), false))
                        .collect::<Vec<_>>()
                );
                return Some(next);
            }
            let startup = annotation(pod, STARTUP)
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_STARTUP);
            let ready = pod["status"]["containerStatuses"][0]["ready"].as_bool() == Some(true);
            if !ready && now >= running_since + Duration::seconds(startup) {
                set_condition(status, "Ready", true, now);
                set_condition(status, "ContainersReady", true, now);
                if let Some(list) = status["containerStatuses"].as_array_mut() {
                    for c in list {
                        c["ready"] = json!(true);
                        c["started"] = json!(true);
                    }
                }
                return Some(next);
            }
            None
        }
        _ => None,
    }
}

fn container_status(pod: &Value, name: &str, state: Value, ready: bool) -> Value {
    let image = pod["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .and_then(|c| c["image"].as_str())
        .unwrap_or("")
        .to_string();
    let running = state.get("running").is_some();
    let mut status = json!({
        "name": name, "image": image, "imageID": "",
        "ready": ready, "started": running, "restartCount": 0, "state": state,
    });
    if running || state.get("terminated").is_some() {
        status["containerID"] = json!(format!(
            "containerd://{:016x}",
            stable_hash(&format!("{}/{name}", pod["metadata"]["uid"]))
        ));
        status["imageID"] = json!(format!("{image}@sha256:{:016x}", stable_hash(&image)));
    }
    status
}

fn set_condition(status: &mut Value, kind: &str, value: bool, now: DateTime<Utc>) {
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    let wanted = if value { "True" } else { "False" };
    if let Some(list) = status["conditions"].as_array_mut() {
        match list.iter_mut().find(|c| c["type"] == kind) {
            Some(c) if c["status"] == wanted => {}
            Some(c) => {
                c["status"] = json!(wanted);
                c["lastTransitionTime"] = json!(timestamp(now));
            }
            None => list.push(json!({"type": kind, "status": wanted, "lastProbeTime": null, "lastTransitionTime": timestamp(now)})),
        }
    }
}

/// The result a training container writes to /dev/termination-log: the template's own, or
/// metrics made up from the pod's identity, so the same run always reports the same numbers.
fn termination_message(pod: &Value, failed: bool) -> String {
    if failed {
        return annotation(pod, RESULT)
            .unwrap_or("RuntimeError: CUDA error: an illegal memory access was encountered")
            .to_string();
    }
    if let Some(result) = annotation(pod, RESULT) {
        return result.to_string();
    }
    let h = stable_hash(pod["metadata"]["name"].as_str().unwrap_or(""));
    let accuracy = 0.86 + (h % 1000) as f64 / 1000.0 * 0.1;
    let loss = 0.12 + ((h >> 10) % 1000) as f64 / 1000.0 * 0.2;
    json!({"accuracy": round3(accuracy), "loss": round3(loss)}).to_string()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn log_for_transition(old: &Value, new: &Value, now: DateTime<Utc>) -> String {
    let before = old["status"]["phase"].as_str().unwrap_or("Pending");
    let after = new["status"]["phase"].as_str().unwrap_or("Pending");
    let ts = timestamp(now);
    let training = annotation(new, DURATION).is_some();
    if !training && let Some(run) = super::commands::of_pod(new) {
        // A known command's log is what it printed.
        return match (after, run.output) {
            ("Succeeded" | "Failed", Some(output)) => output
                .lines()
                .map(|line| format!("{ts} {line}\n"))
                .collect(),
            _ => String::new(),
        };
    }
    match (before, after) {
        ("Pending", "Running") if training => format!(
            "{ts} loading dataset shards from object storage\n{ts} starting training on {} GPU(s)\n",
            gpus(new)
        ),
        ("Pending", "Running") => {
            format!("{ts} model server listening on :8080 (REST) and :9000 (gRPC)\n")
        }
        ("Running", "Succeeded") => {
            let message = &new["status"]["containerStatuses"][0]["state"]["terminated"]["message"];
            format!(
                "{ts} training finished: {}\n",
                message.as_str().unwrap_or("")
            )
        }
        ("Running", "Failed") => {
            let message = &new["status"]["containerStatuses"][0]["state"]["terminated"]["message"];
            format!("{ts} {}\n", message.as_str().unwrap_or("error"))
        }
        _ => String::new(),
    }
}

fn gpus(pod: &Value) -> i64 {
    pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    c["resources"]["limits"]["nvidia.com/gpu"]
                        .as_str()?
                        .parse::<i64>()
                        .ok()
                })
                .sum()
        })
        .unwrap_or(0)
}

/// How long a pod's duration annotation says it runs.
pub fn parse_duration(s: &str) -> Option<Duration> {
    Duration::from_std(super::go_duration(s)?).ok()
}

fn node_ip(node: &str) -> String {
    let h = stable_hash(node);
    format!("10.128.{}.{}", (h >> 8) % 250, h % 250 + 2)
}

fn pod_ip(pod: &Value) -> String {
    let h = stable_hash(pod["metadata"]["uid"].as_str().unwrap_or(""));
    format!(
        "10.{}.{}.{}",
        64 + (h >> 16) % 8,
        (h >> 8) % 250,
        h % 250 + 2
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse(s).expect("timestamp")
    }

    fn training_pod(extra: Value) -> Value {
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "train-1", "namespace": "training", "uid": "u-1", "resourceVersion": "5",
                          "annotations": {DURATION: "10m"}},
            "spec": {"nodeName": "gpu-node-1", "containers": [{"name": "trainer", "image": "trainer:1",
                      "resources": {"limits": {"nvidia.com/gpu": "8"}}}]},
            "status": {"phase": "Pending"},
        });
        if let (Some(a), Some(b)) = (
            pod["metadata"]["annotations"].as_object_mut(),
            extra.as_object(),
        ) {
            a.extend(b.clone());
        }
        pod
    }

    fn run_to(pod: Value, times: &[&str]) -> Value {
        times
            .iter()
            .fold(pod, |pod, t| step(&pod, at(t)).unwrap_or(pod))
    }

    #[test]
    fn a_training_pod_runs_for_its_duration_and_reports_metrics() {
        let pod = run_to(
            training_pod(json!({})),
            &["2026-11-29T08:00:00Z", "2026-11-29T08:00:03Z"],
        );
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(
            step(&pod, at("2026-11-29T08:05:00Z")).map(|p| p["status"]["phase"].clone()),
            Some(json!("Running"))
        );
        let done = step(&pod, at("2026-11-29T08:10:03Z")).expect("finishes");
        assert_eq!(done["status"]["phase"], "Succeeded");
        let terminated = &done["status"]["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(terminated["reason"], "Completed");
        let metrics: Value =
            serde_json::from_str(terminated["message"].as_str().expect("message")).expect("json");
        assert!(
            metrics["accuracy"]
                .as_f64()
                .is_some_and(|a| (0.8..1.0).contains(&a))
        );
        assert!(metrics["loss"].as_f64().is_some());
    }

    #[test]
    fn a_pod_asked_to_fail_fails_with_its_message() {
        let pod = run_to(
            training_pod(json!({FAIL: "true", RESULT: "OOM"})),
            &[
                "2026-11-29T08:00:00Z",
                "2026-11-29T08:00:03Z",
                "2026-11-29T08:11:00Z",
            ],
        );
        assert_eq!(pod["status"]["phase"], "Failed");
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"],
            "OOM"
        );
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
    }

    #[test]
    fn a_serving_pod_turns_ready_after_startup_and_stays_running() {
        let mut pod = training_pod(json!({}));
        pod["metadata"]["annotations"] = json!({STARTUP: "30"});
        let pod = run_to(pod, &["2026-11-29T08:00:00Z", "2026-11-29T08:00:03Z"]);
        assert_eq!(pod["status"]["containerStatuses"][0]["ready"], false);
        assert!(step(&pod, at("2026-11-29T08:00:20Z")).is_none());
        let ready = step(&pod, at("2026-11-29T08:00:40Z")).expect("ready");
        assert_eq!(ready["status"]["containerStatuses"][0]["ready"], true);
        assert!(
            step(&ready, at("2026-11-30T08:00:00Z")).is_none(),
            "serving pods run until deleted"
        );
    }

    #[test]
    fn unbound_and_deleting_pods_are_left_alone() {
        let mut pod = training_pod(json!({}));
        pod["spec"]["nodeName"] = json!(null);
        assert!(step(&pod, at("2026-11-29T08:00:00Z")).is_none());
        let mut pod = training_pod(json!({}));
        pod["metadata"]["deletionTimestamp"] = json!("2026-11-29T08:00:00Z");
        assert!(step(&pod, at("2026-11-29T08:00:00Z")).is_none());
    }

    #[test]
    fn next_due_is_the_next_transition() {
        let pod = run_to(training_pod(json!({})), &["2026-11-29T08:00:00Z"]);
        assert_eq!(
            next_due(&pod, at("2026-11-29T08:00:00Z")),
            Some(at("2026-11-29T08:00:03Z"))
        );
        let pod = step(&pod, at("2026-11-29T08:00:03Z")).expect("runs");
        assert_eq!(
            next_due(&pod, at("2026-11-29T08:00:03Z")),
            Some(at("2026-11-29T08:00:08Z")),
            "ready first"
        );
        let pod = step(&pod, at("2026-11-29T08:00:08Z")).expect("ready");
        assert_eq!(
            next_due(&pod, at("2026-11-29T08:00:08Z")),
            Some(at("2026-11-29T08:01:03Z")),
            "then the end of the first of ten epochs"
        );
        assert_eq!(
            next_due(&pod, at("2026-11-29T08:09:30Z")),
            Some(at("2026-11-29T08:10:03Z")),
            "and at last the end of the run"
        );
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
        // As Go, and as the CronJob controller's `@every`: fractions and any unit order.
        assert_eq!(parse_duration("1.5h"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::milliseconds(500)));
        assert_eq!(parse_duration("-5s"), None);
    }
}
