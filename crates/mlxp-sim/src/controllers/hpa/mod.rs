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
mod tests;
