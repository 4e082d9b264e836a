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
