//! The decision core of the autoscaling/v2 HorizontalPodAutoscaler controller, as a pure
//! function of state: the HPA, its target's replica count, the measured utilization, the
//! recent recommendations and the simulated time go in; the replica count to set and the
//! new status come out. No I/O; the caller reads the target's scale and writes it back.
//!
//! Kubernetes keeps the recent recommendations (for the scale-down stabilization window) in
//! the controller's memory, not in the object; so does the sim: the caller keeps
//! [`HpaDecision::recommendations`] per HPA and hands them back as `previous` next time
//! (empty for an HPA it has not seen, as after a kube-controller-manager restart).
//!
//! Simplified: one metric drives the decision, the first Resource metric with a Utilization
//! target (cpu 80% when the spec names none); the sim computes its utilization from traffic,
//! over all the target's pods (no per-pod missing / unready adjustments). Other metrics are
//! ignored. With `spec.behavior` the stabilization windows and `selectPolicy: Disabled` are
//! honoured but the rate policies (pods / percent per period) are not, and the alpha
//! configurable tolerance is not read: the tolerance is the default 10%.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

/// One reconcile's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct HpaDecision {
    /// The replica count the target should have; when it differs from `current_replicas`
    /// the caller sets the target's spec.replicas (its scale) to it.
    pub desired_replicas: i32,
    /// The HPA's full new status. Unchanged inputs give an equal status (times are kept), so
    /// the caller writes it only when it differs from the current one.
    pub status: Value,
    /// The recent unstabilized recommendations (time, replicas), to hand back as `previous`.
    pub recommendations: Vec<(DateTime<Utc>, i32)>,
}

/// The object an HPA scales (`spec.scaleTargetRef`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleTarget {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// The metric the sim measures for an HPA: average utilization of `resource` (cpu or
/// memory) in percent of the pods' requests, against `target_utilization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceTarget {
    pub resource: String,
    pub target_utilization: i32,
}

/// The default tolerance: no scaling while the usage ratio is within 10% of 1.
const TOLERANCE: f64 = 0.1;
/// `--horizontal-pod-autoscaler-downscale-stabilization`, and the default of
/// spec.behavior.scaleDown.stabilizationWindowSeconds.
const DEFAULT_DOWNSCALE_WINDOW_SECS: i64 = 300;
/// Default CPU utilization target when the spec names no metric.
const DEFAULT_CPU_UTILIZATION: i64 = 80;
/// Without spec.behavior one step scales up to at most max(2 × current, 4).
const SCALE_UP_LIMIT_FACTOR: i64 = 2;
const SCALE_UP_LIMIT_MINIMUM: i64 = 4;
const MAX_COUNT: i64 = i32::MAX as i64;
/// Kept from a window no longer than this (a day), whatever the spec says, so the list stays small.
const MAX_WINDOW_SECS: i64 = 86_400;

/// `spec.scaleTargetRef`, if it names something.
pub fn scale_target(hpa: &Value) -> Option<ScaleTarget> {
    let r = &hpa["spec"]["scaleTargetRef"];
    let name = r["name"].as_str().filter(|n| !n.is_empty())?;
    Some(ScaleTarget {
        api_version: r["apiVersion"].as_str().unwrap_or("").to_string(),
        kind: r["kind"].as_str().unwrap_or("").to_string(),
        name: name.to_string(),
    })
}

/// Which utilization the caller should measure for this HPA; `None` when it names no metric
/// the sim can serve (then [`reconcile`] reports ScalingActive False and holds the scale).
pub fn resource_target(hpa: &Value) -> Option<ResourceTarget> {
    let (_, metric) = metric_spec(hpa).ok()?;
    Some(ResourceTarget {
        resource: metric.resource,
        target_utilization: metric.target as i32,
    })
}

/// One reconcile of an HPA at `now`.
///
/// `current_replicas` is the target's spec.replicas; `utilization` the current average
/// utilization in percent for the metric [`resource_target`] names (None: metrics
/// unavailable); `previous` the recommendations returned last time.
///
/// desired = ceil(current × utilization / target), unchanged within the 10% tolerance, then
/// stabilized (the highest recommendation of the scale-down window, 300 s by default) and
/// clamped to [minReplicas, maxReplicas] (and, without spec.behavior, to max(2 × current, 4)
/// per step). A target outside [min, max] is brought inside without reading metrics; a
/// target at 0 replicas means autoscaling is off.
pub fn reconcile(
    hpa: &Value,
    current_replicas: i32,
    utilization: Option<f64>,
    previous: &[(DateTime<Utc>, i32)],
    now: DateTime<Utc>,
) -> HpaDecision {
    let spec = Spec::parse(hpa);
    let old = &hpa["status"];
    let current = i64::from(current_replicas.max(0));
    let mut conditions: Vec<Value> = old["conditions"]
        .as_array()
        .map(|cs| cs.iter().filter(|c| c.is_object()).cloned().collect())
        .unwrap_or_default();
    let at = timestamp(now);
    set_condition(
        &mut conditions,
        "AbleToScale",
        "True",
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
        &at,
    );
    // recordInitialRecommendation: a first sight counts the current size as recommended now,
    // so a new HPA (or a restarted controller) does not scale down at once.
    let mut recommendations: Vec<(DateTime<Utc>, i64)> =
        previous.iter().map(|&(t, r)| (t, i64::from(r))).collect();
    if recommendations.is_empty() {
        recommendations.push((now, current));
    }

    let mut metric_statuses: Option<Vec<Value>> = None;
    let desired;
    let rescale;
    if current == 0 {
        desired = 0;
        rescale = false;
        set_condition(
            &mut conditions,
            "ScalingActive",
            "False",
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
            &at,
        );
    } else if current > spec.max {
        desired = spec.max;
        rescale = true;
    } else if current < spec.min {
        desired = spec.min;
        rescale = true;
    } else {
        let measured = match metric_spec(hpa) {
            Err(failure) => Err(failure),
            Ok((index, metric)) => match utilization.filter(|u| !u.is_nan()) {
                // Utilization is an int32 percentage in the API (truncated, as k8s computes it).
                Some(u) => Ok((index, metric, u.clamp(0.0, MAX_COUNT as f64) as i64)),
                None => Err(Failure {
                    statuses: placeholders(metric_count(hpa)),
                    reason: "FailedGetResourceMetric",
                    message: format!(
                        "the HPA was unable to compute the replica count: failed to get {0} utilization: \
                         unable to get metrics for resource {0}: no metrics returned from resource metrics API",
                        metric.resource
                    ),
                }),
            },
        };
        let (index, metric, used) = match measured {
            Ok(found) => found,
            Err(failure) => {
                // The scale stays; the status keeps its old desiredReplicas and lastScaleTime.
                set_condition(
                    &mut conditions,
                    "ScalingActive",
                    "False",
                    failure.reason,
                    &failure.message,
                    &at,
                );
                let mut status = base_status(old, current, None, Some(failure.statuses));
                if let Some(d) = old.get("desiredReplicas").filter(|d| d.is_number()) {
                    status.insert("desiredReplicas".into(), d.clone());
                }
                finish_status(&mut status, conditions);
                return HpaDecision {
                    desired_replicas: current as i32,
                    status: Value::Object(status),
                    recommendations: prune(recommendations, spec.retention(), now),
                };
            }
        };
        let mut statuses = placeholders(metric_count(hpa).max(index + 1));
        if let Some(slot) = statuses.get_mut(index) {
            *slot = json!({"type": "Resource", "resource": {
                "name": metric.resource, "current": {"averageUtilization": used}}});
        }
        metric_statuses = Some(statuses);
        set_condition(
            &mut conditions,
            "ScalingActive",
            "True",
            "ValidMetricFound",
            &format!(
                "the HPA was able to successfully calculate a replica count from {} resource utilization (percentage of request)",
                metric.resource
            ),
            &at,
        );

        let ratio = used as f64 / metric.target as f64;
        let proposed = if ((1.0 - TOLERANCE)..=(1.0 + TOLERANCE)).contains(&ratio) {
            current
        } else {
            ((ratio * current as f64).ceil() as i64).clamp(0, MAX_COUNT)
        };
        let (stabilized, stabilized_reason, stabilized_message) =
            stabilize(&spec, current, proposed, &recommendations, now);
        recommendations.push((now, proposed));
        if stabilized != proposed {
            set_condition(
                &mut conditions,
                "AbleToScale",
                "True",
                stabilized_reason,
                stabilized_message,
                &at,
            );
        } else {
            set_condition(
                &mut conditions,
                "AbleToScale",
                "True",
                "ReadyForNewScale",
                "recommended size matches current size",
                &at,
            );
        }
        let (limited, reason, message) = limit(&spec, current, stabilized);
        let limited_status = if limited == stabilized {
            "False"
        } else {
            "True"
        };
        set_condition(
            &mut conditions,
            "ScalingLimited",
            limited_status,
            reason,
            message,
            &at,
        );
        desired = limited;
        rescale = desired != current;
    }

    let desired = if rescale { desired } else { current };
    if rescale {
        set_condition(
            &mut conditions,
            "AbleToScale",
            "True",
            "SucceededRescale",
            &format!("the HPA controller was able to update the target scale to {desired}"),
            &at,
        );
    }
    let last_scale = rescale.then_some(now);
    let mut status = base_status(old, current, last_scale, metric_statuses);
    status.insert("desiredReplicas".into(), json!(desired));
    finish_status(&mut status, conditions);
    HpaDecision {
        desired_replicas: desired as i32,
        status: Value::Object(status),
        recommendations: prune(recommendations, spec.retention(), now),
    }
}

/// The parts of an HPA this controller reads, defaulted as the API server would.
struct Spec {
    /// At least 1: minReplicas 0 needs the alpha HPAScaleToZero gate, off by default.
    min: i64,
    /// At least `min` (validation requires it).
    max: i64,
    /// `Some` when spec.behavior is set: the newer algorithm.
    behavior: Option<Behavior>,
}

struct Behavior {
    up_window: i64,
    down_window: i64,
    up_disabled: bool,
    down_disabled: bool,
}

impl Spec {
    fn parse(hpa: &Value) -> Self {
        let spec = &hpa["spec"];
        let min = count(&spec["minReplicas"]).unwrap_or(1).max(1);
        let max = count(&spec["maxReplicas"]).unwrap_or(0).max(min);
        let behavior = spec["behavior"].as_object().map(|_| {
            let rules = |key: &str, default: i64| {
                let r = &spec["behavior"][key];
                (
                    count(&r["stabilizationWindowSeconds"])
                        .unwrap_or(default)
                        .min(MAX_WINDOW_SECS),
                    r["selectPolicy"].as_str() == Some("Disabled"),
                )
            };
            let (up_window, up_disabled) = rules("scaleUp", 0);
            let (down_window, down_disabled) = rules("scaleDown", DEFAULT_DOWNSCALE_WINDOW_SECS);
            Behavior {
                up_window,
                down_window,
                up_disabled,
                down_disabled,
            }
        });
        Spec { min, max, behavior }
    }

    /// How far back recommendations matter.
    fn retention(&self) -> i64 {
        match &self.behavior {
            None => DEFAULT_DOWNSCALE_WINDOW_SECS,
            Some(b) => b.up_window.max(b.down_window),
        }
    }
}

/// A non-negative int32 count; absent or not an integer reads as unset.
fn count(v: &Value) -> Option<i64> {
    let n = v.as_i64().or_else(|| v.as_u64().map(|_| MAX_COUNT))?;
    Some(n.clamp(0, MAX_COUNT))
}

struct Metric {
    resource: String,
    target: i64,
}

/// Why no replica count could be computed.
struct Failure {
    statuses: Vec<Value>,
    reason: &'static str,
    message: String,
}

/// How many metrics the status lists (one, the default, when the spec names none).
fn metric_count(hpa: &Value) -> usize {
    match hpa["spec"]["metrics"].as_array() {
        Some(ms) if !ms.is_empty() => ms.len(),
        _ => 1,
    }
}

/// The first Resource metric with a Utilization target, and its index; cpu 80% without
/// metrics (the API default).
fn metric_spec(hpa: &Value) -> Result<(usize, Metric), Failure> {
    let metrics = match hpa["spec"]["metrics"].as_array() {
        Some(ms) if !ms.is_empty() => ms,
        _ => {
            return Ok((
                0,
                Metric {
                    resource: "cpu".into(),
                    target: DEFAULT_CPU_UTILIZATION,
                },
            ));
        }
    };
    let found = metrics.iter().enumerate().find_map(|(i, m)| {
        let resource = &m["resource"];
        let target = &resource["target"];
        let usable = m["type"] == "Resource" && target["type"] == "Utilization";
        let name = resource["name"].as_str().filter(|n| !n.is_empty())?;
        let pct = count(&target["averageUtilization"]).filter(|p| *p > 0)?;
        usable.then(|| {
            (
                i,
                Metric {
                    resource: name.to_string(),
                    target: pct,
                },
            )
        })
    });
    found.ok_or_else(|| {
        let kind = metrics
            .first()
            .and_then(|m| m["type"].as_str())
            .unwrap_or("");
        let reason = match kind {
            "Resource" => "FailedGetResourceMetric",
            "ContainerResource" => "FailedGetContainerResourceMetric",
            "Pods" => "FailedGetPodsMetric",
            "Object" => "FailedGetObjectMetric",
            "External" => "FailedGetExternalMetric",
            _ => "InvalidMetricSourceType",
        };
        Failure {
            statuses: placeholders(metrics.len()),
            reason,
            message:
                "the HPA was unable to compute the replica count: the simulated metrics pipeline \
                      serves only Resource metrics with a Utilization target"
                    .into(),
        }
    })
}

/// Empty metric statuses, as k8s writes for metrics it could not read (kept in step with
/// spec.metrics, which the printer pairs them with by index).
fn placeholders(n: usize) -> Vec<Value> {
    (0..n.min(64)).map(|_| json!({"type": ""})).collect()
}

/// The stabilized recommendation, with the AbleToScale reason and message used when it
/// differs from the proposal.
fn stabilize(
    spec: &Spec,
    current: i64,
    proposed: i64,
    previous: &[(DateTime<Utc>, i64)],
    now: DateTime<Utc>,
) -> (i64, &'static str, &'static str) {
    const DOWN: (&str, &str) = (
        "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent recommendation",
    );
    const UP: (&str, &str) = (
        "ScaleUpStabilized",
        "recent recommendations were lower than current one, applying the lowest recent recommendation",
    );
    let cutoff = |secs: i64| {
        TimeDelta::try_seconds(secs)
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    match &spec.behavior {
        // stabilizeRecommendation: the highest of the window (cutoff included) and the proposal.
        None => {
            let from = cutoff(DEFAULT_DOWNSCALE_WINDOW_SECS);
            let highest = previous
                .iter()
                .filter(|(t, _)| *t >= from)
                .map(|(_, r)| *r)
                .fold(proposed, i64::max);
            (highest, DOWN.0, DOWN.1)
        }
        // stabilizeRecommendationWithBehaviors: the current size moved no further than the
        // lowest of the scale-up window and the highest of the scale-down window allow.
        Some(b) => {
            let (up_from, down_from) = (cutoff(b.up_window), cutoff(b.down_window));
            let mut up = proposed;
            let mut down = proposed;
            for &(t, r) in previous {
                if t > up_from {
                    up = up.min(r);
                }
                if t > down_from {
                    down = down.max(r);
                }
            }
            let stabilized = current.max(up).min(down);
            let (reason, message) = if proposed >= current { UP } else { DOWN };
            (stabilized, reason, message)
        }
    }
}

/// The bounds a step may not cross, with the ScalingLimited reason and message:
/// convertDesiredReplicasWithRules (no behavior) or, with behavior, its min / max part and
/// `selectPolicy: Disabled`.
fn limit(spec: &Spec, current: i64, desired: i64) -> (i64, &'static str, &'static str) {
    const TOO_MANY: (&str, &str) = (
        "TooManyReplicas",
        "the desired replica count is more than the maximum replica count",
    );
    const TOO_FEW: (&str, &str) = (
        "TooFewReplicas",
        "the desired replica count is less than the minimum replica count",
    );
    const WITHIN: (&str, &str) = (
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    );
    let (ceiling, ceiling_why) = match &spec.behavior {
        None => {
            let rate = current
                .saturating_mul(SCALE_UP_LIMIT_FACTOR)
                .max(SCALE_UP_LIMIT_MINIMUM);
            if spec.max > rate {
                (
                    rate,
                    (
                        "ScaleUpLimit",
                        "the desired replica count is increasing faster than the maximum scale rate",
                    ),
                )
            } else {
                (spec.max, TOO_MANY)
            }
        }
        Some(b) if b.up_disabled && desired > current => (
            current,
            (
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            ),
        ),
        Some(_) => (spec.max, TOO_MANY),
    };
    let (floor, floor_why) = match &spec.behavior {
        Some(b) if b.down_disabled && desired < current => (
            current.max(spec.min),
            (
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
            ),
        ),
        _ => (spec.min, TOO_FEW),
    };
    if desired < floor {
        (floor, floor_why.0, floor_why.1)
    } else if desired > ceiling {
        (ceiling, ceiling_why.0, ceiling_why.1)
    } else {
        (desired, WITHIN.0, WITHIN.1)
    }
}

/// Drops recommendations older than the window, and older duplicates of a value (the
/// newest of equal values decides for longer), so a fast-ticking caller keeps a short list.
fn prune(
    mut recs: Vec<(DateTime<Utc>, i64)>,
    window_secs: i64,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, i32)> {
    let from = TimeDelta::try_seconds(window_secs)
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    recs.retain(|(t, _)| *t >= from);
    // Oldest first; the sort is stable, so equal times keep their order and the latest
    // entry is the later one.
    recs.sort_by_key(|r| r.0);
    let mut kept: Vec<(DateTime<Utc>, i32)> = Vec::new();
    for (t, r) in recs.into_iter().rev() {
        let r = r.clamp(0, MAX_COUNT) as i32;
        if !kept.iter().any(|(_, k)| *k == r) {
            kept.push((t, r));
        }
    }
    kept.reverse();
    kept
}

/// The status fields every outcome writes (setStatus): currentReplicas, the kept or new
/// lastScaleTime, the metrics. desiredReplicas and conditions are added by the caller.
fn base_status(
    old: &Value,
    current: i64,
    scaled_at: Option<DateTime<Utc>>,
    metrics: Option<Vec<Value>>,
) -> Map<String, Value> {
    let mut status = Map::new();
    // omitempty in the API, unlike desiredReplicas.
    if current > 0 {
        status.insert("currentReplicas".into(), json!(current));
    }
    match scaled_at {
        Some(t) => {
            status.insert("lastScaleTime".into(), json!(timestamp(t)));
        }
        None => {
            if let Some(t) = old.get("lastScaleTime").filter(|t| t.is_string()) {
                status.insert("lastScaleTime".into(), t.clone());
            }
        }
    }
    if let Some(metrics) = metrics.filter(|m| !m.is_empty()) {
        status.insert("currentMetrics".into(), Value::Array(metrics));
    }
    status
}

fn finish_status(status: &mut Map<String, Value>, conditions: Vec<Value>) {
    if !status.contains_key("desiredReplicas") {
        status.insert("desiredReplicas".into(), json!(0));
    }
    if !conditions.is_empty() {
        status.insert("conditions".into(), Value::Array(conditions));
    }
}

/// setConditionInList: reason and message always updated, lastTransitionTime only when the
/// status changes; a missing condition is appended.
fn set_condition(
    conditions: &mut Vec<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    at: &str,
) {
    let transition = conditions
        .iter()
        .find(|c| c["type"] == kind)
        .filter(|c| c["status"] == status)
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(at)
        .to_string();
    let cond = json!({
        "type": kind, "status": status, "lastTransitionTime": transition,
        "reason": reason, "message": message,
    });
    match conditions.iter_mut().find(|c| c["type"] == kind) {
        Some(c) => *c = cond,
        None => conditions.push(cond),
    }
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-29T08:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc)
            + TimeDelta::seconds(secs)
    }

    fn ts(secs: i64) -> String {
        timestamp(at(secs))
    }

    fn hpa(spec: Value) -> Value {
        let mut full = json!({
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                         "target": {"type": "Utilization", "averageUtilization": 80}}}],
        });
        if let (Some(full), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
            for (k, v) in extra {
                full.insert(k.clone(), v.clone());
            }
        }
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "web", "namespace": "ml"}, "spec": full})
    }

    /// The HPA, its target's replica count and the controller's memory, as the caller keeps them.
    struct World {
        hpa: Value,
        replicas: i32,
        memory: Vec<(DateTime<Utc>, i32)>,
    }

    impl World {
        fn new(spec: Value, replicas: i32) -> Self {
            World {
                hpa: hpa(spec),
                replicas,
                memory: Vec::new(),
            }
        }

        fn step(&mut self, secs: i64, utilization: Option<f64>) -> HpaDecision {
            let d = reconcile(
                &self.hpa,
                self.replicas,
                utilization,
                &self.memory,
                at(secs),
            );
            self.hpa["status"] = d.status.clone();
            self.replicas = d.desired_replicas;
            self.memory = d.recommendations.clone();
            d
        }

        fn cond(&self, kind: &str) -> (String, String) {
            let c = self.hpa["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
                .cloned()
                .unwrap_or(Value::Null);
            (
                c["status"].as_str().unwrap_or("-").to_string(),
                c["reason"].as_str().unwrap_or("-").to_string(),
            )
        }
    }

    fn pair(status: &str, reason: &str) -> (String, String) {
        (status.to_string(), reason.to_string())
    }

    #[test]
    fn high_utilization_scales_up_and_reports_it() {
        let mut w = World::new(json!({}), 2);
        let d = w.step(0, Some(160.0));
        assert_eq!(d.desired_replicas, 4);
        assert_eq!(
            d.status,
            json!({
                "currentReplicas": 2, "desiredReplicas": 4, "lastScaleTime": ts(0),
                "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 160}}}],
                "conditions": [
                    {"type": "AbleToScale", "status": "True", "lastTransitionTime": ts(0), "reason": "SucceededRescale",
                     "message": "the HPA controller was able to update the target scale to 4"},
                    {"type": "ScalingActive", "status": "True", "lastTransitionTime": ts(0), "reason": "ValidMetricFound",
                     "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"},
                    {"type": "ScalingLimited", "status": "False", "lastTransitionTime": ts(0), "reason": "DesiredWithinRange",
                     "message": "the desired count is within the acceptable range"},
                ],
            })
        );
        // The load spread over 4 pods sits at the target: nothing moves, lastScaleTime stays.
        let d = w.step(15, Some(80.0));
        assert_eq!(d.desired_replicas, 4);
        assert_eq!(d.status["lastScaleTime"], ts(0));
        assert_eq!(d.status["currentReplicas"], 4);
        assert_eq!(w.cond("AbleToScale"), pair("True", "ReadyForNewScale"));
        // Same inputs again: the very same status (the caller then writes nothing).
        let before = w.hpa["status"].clone();
        assert_eq!(w.step(30, Some(80.0)).status, before);
    }

    #[test]
    fn small_deviations_within_the_tolerance_change_nothing() {
        for (util, expected) in [(88.0, 4), (72.0, 4), (88.9, 4), (89.0, 5), (71.0, 4)] {
            // 71% would scale down to ceil(4 × 0.8875) = 4 anyway: the ratio rounds up.
            let mut w = World::new(json!({}), 4);
            let d = w.step(0, Some(util));
            assert_eq!(d.desired_replicas, expected, "utilization {util}");
        }
        let mut w = World::new(json!({}), 10);
        w.memory = vec![(at(-1000), 10)];
        assert_eq!(w.step(0, Some(70.0)).desired_replicas, 9);
    }

    #[test]
    fn clamping_is_reported_as_scaling_limited() {
        let mut w = World::new(json!({"maxReplicas": 5}), 4);
        let d = w.step(0, Some(400.0));
        assert_eq!(d.desired_replicas, 5);
        assert_eq!(w.cond("ScalingLimited"), pair("True", "TooManyReplicas"));
        assert_eq!(
            w.hpa["status"]["conditions"][2]["message"],
            "the desired replica count is more than the maximum replica count"
        );

        // Without spec.behavior one step at most doubles (or reaches 4).
        let mut w = World::new(json!({"maxReplicas": 20}), 2);
        assert_eq!(w.step(0, Some(800.0)).desired_replicas, 4);
        assert_eq!(w.cond("ScalingLimited"), pair("True", "ScaleUpLimit"));
        assert_eq!(w.step(15, Some(800.0)).desired_replicas, 8);

        let mut w = World::new(json!({"minReplicas": 2}), 3);
        w.memory = vec![(at(-400), 3)];
        let d = w.step(0, Some(10.0));
        assert_eq!(d.desired_replicas, 2);
        assert_eq!(w.cond("ScalingLimited"), pair("True", "TooFewReplicas"));
        // Back within range: the condition clears.
        w.step(15, Some(80.0));
        assert_eq!(
            w.cond("ScalingLimited"),
            pair("False", "DesiredWithinRange")
        );
    }

    #[test]
    fn scale_down_waits_out_the_stabilization_window() {
        let mut w = World::new(json!({}), 6);
        // First sight: the current size counts as recommended now.
        let d = w.step(0, Some(20.0));
        assert_eq!(d.desired_replicas, 6);
        assert_eq!(w.cond("AbleToScale"), pair("True", "ScaleDownStabilized"));
        assert!(w.hpa["status"].get("lastScaleTime").is_none());
        for t in (15..=300).step_by(15) {
            assert_eq!(w.step(t, Some(20.0)).desired_replicas, 6, "at {t}s");
        }
        // 300 s after the last recommendation of 6, it no longer counts.
        let d = w.step(301, Some(20.0));
        assert_eq!(d.desired_replicas, 2);
        assert_eq!(d.status["lastScaleTime"], ts(301));
        assert_eq!(w.cond("AbleToScale"), pair("True", "SucceededRescale"));
        // The memory stays short however often the caller ticks.
        assert!(w.memory.len() <= 2, "{:?}", w.memory);

        // A spike inside the window holds the size up for another window.
        let mut w = World::new(json!({}), 2);
        w.memory = vec![(at(-1000), 2)];
        assert_eq!(w.step(0, Some(160.0)).desired_replicas, 4);
        assert_eq!(w.step(100, Some(20.0)).desired_replicas, 4);
        assert_eq!(w.step(301, Some(20.0)).desired_replicas, 1);
    }

    #[test]
    fn behavior_sets_the_window() {
        let spec = json!({"behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}});
        let mut w = World::new(spec, 6);
        assert_eq!(w.step(0, Some(20.0)).desired_replicas, 6);
        assert_eq!(w.step(59, Some(20.0)).desired_replicas, 6);
        // With behavior a recommendation counts while strictly inside the window.
        assert_eq!(w.step(60, Some(20.0)).desired_replicas, 2);
        // A scale-up window keeps the lowest recent recommendation.
        let spec = json!({"behavior": {"scaleUp": {"stabilizationWindowSeconds": 30}}});
        let mut w = World::new(spec, 2);
        assert_eq!(w.step(0, Some(160.0)).desired_replicas, 2);
        assert_eq!(w.cond("AbleToScale"), pair("True", "ScaleUpStabilized"));
        assert_eq!(w.step(31, Some(160.0)).desired_replicas, 4);
        // Scale-down disabled: never below the current size.
        let spec = json!({"behavior": {"scaleDown": {"selectPolicy": "Disabled", "stabilizationWindowSeconds": 0}}});
        let mut w = World::new(spec, 6);
        assert_eq!(w.step(0, Some(10.0)).desired_replicas, 6);
        assert_eq!(w.cond("ScalingLimited"), pair("True", "ScaleDownLimit"));
    }

    #[test]
    fn missing_metrics_hold_the_scale() {
        let mut w = World::new(json!({}), 3);
        w.step(0, Some(160.0));
        assert_eq!(w.replicas, 6);
        let memory = w.memory.clone();
        let d = w.step(15, None);
        assert_eq!(d.desired_replicas, 6);
        assert_eq!(d.recommendations, memory);
        assert_eq!(
            w.cond("ScalingActive"),
            pair("False", "FailedGetResourceMetric")
        );
        assert_eq!(w.cond("AbleToScale"), pair("True", "SucceededGetScale"));
        let status = &w.hpa["status"];
        assert_eq!(status["desiredReplicas"], 6);
        assert_eq!(status["currentReplicas"], 6);
        assert_eq!(status["lastScaleTime"], ts(0));
        assert_eq!(status["currentMetrics"], json!([{"type": ""}]));
        let message = status["conditions"][1]["message"].as_str().unwrap_or("");
        assert!(message.starts_with(
            "the HPA was unable to compute the replica count: failed to get cpu utilization"
        ));
        // Back: active again, the transition time is new.
        w.step(30, Some(80.0));
        assert_eq!(w.cond("ScalingActive"), pair("True", "ValidMetricFound"));
        assert_eq!(
            w.hpa["status"]["conditions"][1]["lastTransitionTime"],
            ts(30)
        );
        // NaN is no measurement either.
        assert_eq!(w.step(45, Some(f64::NAN)).desired_replicas, 6);
        assert_eq!(
            w.cond("ScalingActive"),
            pair("False", "FailedGetResourceMetric")
        );
    }

    #[test]
    fn the_target_is_brought_within_bounds_and_zero_turns_scaling_off() {
        let mut w = World::new(json!({"minReplicas": 2, "maxReplicas": 5}), 9);
        let d = w.step(0, Some(80.0));
        assert_eq!(d.desired_replicas, 5);
        assert!(d.status.get("currentMetrics").is_none());
        let mut w = World::new(json!({"minReplicas": 2, "maxReplicas": 5}), 1);
        assert_eq!(w.step(0, None).desired_replicas, 2);
        let mut w = World::new(json!({}), 0);
        let d = w.step(0, Some(500.0));
        assert_eq!(d.desired_replicas, 0);
        assert_eq!(w.cond("ScalingActive"), pair("False", "ScalingDisabled"));
        assert!(d.status.get("currentReplicas").is_none());
        assert_eq!(d.status["desiredReplicas"], 0);
    }

    #[test]
    fn the_metric_is_the_first_resource_utilization_one() {
        let spec = json!({"metrics": [
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 50}}},
        ]});
        let h = hpa(spec.clone());
        assert_eq!(
            resource_target(&h),
            Some(ResourceTarget {
                resource: "memory".into(),
                target_utilization: 50
            })
        );
        let mut w = World::new(spec, 2);
        let d = w.step(0, Some(100.0));
        assert_eq!(d.desired_replicas, 4);
        assert_eq!(
            d.status["currentMetrics"],
            json!([{"type": ""}, {"type": "Resource", "resource": {"name": "memory", "current": {"averageUtilization": 100}}}])
        );
        // No metrics: cpu at 80%.
        let mut bare = hpa(json!({}));
        bare["spec"].as_object_mut().map(|s| s.remove("metrics"));
        assert_eq!(
            resource_target(&bare),
            Some(ResourceTarget {
                resource: "cpu".into(),
                target_utilization: 80
            })
        );
        // Only metrics the sim cannot serve: the scale holds.
        let h = hpa(json!({"metrics": [{"type": "External", "external": {}}]}));
        assert_eq!(resource_target(&h), None);
        let d = reconcile(&h, 3, Some(500.0), &[], at(0));
        assert_eq!(d.desired_replicas, 3);
        assert_eq!(
            d.status["conditions"][1]["reason"],
            "FailedGetExternalMetric"
        );
        assert_eq!(
            scale_target(&h),
            Some(ScaleTarget {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: "web".into()
            })
        );
    }

    #[test]
    fn garbage_never_panics() {
        let hpas = [
            Value::Null,
            json!(7),
            json!({}),
            json!({"spec": [], "status": 3}),
            json!({"spec": {"minReplicas": -5, "maxReplicas": "x", "metrics": [1, {"type": "Resource"},
                    {"type": "Resource", "resource": {"name": "", "target": {"type": "Utilization", "averageUtilization": 0}}}],
                    "behavior": {"scaleUp": {"stabilizationWindowSeconds": i64::MAX}, "scaleDown": 4}},
                   "status": {"conditions": [1, {"type": 5}, {"type": "AbleToScale", "lastTransitionTime": 2}],
                              "desiredReplicas": "many", "lastScaleTime": 4}}),
            json!({"spec": {"minReplicas": u64::MAX, "maxReplicas": u64::MAX, "metrics": {"type": "Resource"}}}),
            hpa(
                json!({"behavior": {"scaleDown": {"stabilizationWindowSeconds": -1, "selectPolicy": "Disabled"}}}),
            ),
        ];
        let memories = [
            vec![],
            vec![
                (DateTime::<Utc>::MIN_UTC, i32::MAX),
                (DateTime::<Utc>::MAX_UTC, -7),
            ],
        ];
        for h in &hpas {
            for current in [i32::MIN, -1, 0, 1, 5, i32::MAX] {
                for util in [
                    None,
                    Some(f64::NAN),
                    Some(f64::INFINITY),
                    Some(-5.0),
                    Some(1e300),
                    Some(0.0),
                ] {
                    for memory in &memories {
                        for now in [at(0), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                            let d = reconcile(h, current, util, memory, now);
                            assert!(d.desired_replicas >= 0);
                        }
                    }
                }
            }
            let _ = resource_target(h);
            let _ = scale_target(h);
        }
    }
}
