//! Graceful deletion of pods, as the apiserver and the kubelet share it: a DELETE (or an
//! eviction) of a pod that runs on a node marks it — `deletionTimestamp` = now + its grace
//! period, `deletionGracePeriodSeconds` — and the pod shows as Terminating; the kubelet
//! stops its containers and then removes it. A pod on no node, or finished, or deleted
//! with `gracePeriodSeconds: 0`, goes at once. A second DELETE may shorten the grace,
//! never lengthen it.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::clock::{parse, timestamp};

/// The sim's containers exit this long after SIGTERM (a well-behaved server's shutdown),
/// so a pod is gone then unless its grace period is shorter.
pub const STOPS_WITHIN: i64 = 1;

/// The grace period a DELETE of `pod` with DeleteOptions `options` gets; None: it is
/// removed now.
pub fn pod_grace(pod: &Value, options: &Value) -> Option<i64> {
    let on_node = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if !on_node || finished {
        return None;
    }
    let grace = options["gracePeriodSeconds"]
        .as_i64()
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30);
    (grace > 0).then_some(grace)
}

/// `pod` marked at `now` to be gone within `grace` seconds; one already marked to be gone
/// sooner is left as it is (None).
pub fn terminating(pod: &Value, now: DateTime<Utc>, grace: i64) -> Option<Value> {
    let end = now + Duration::seconds(grace);
    let marked_end = pod["metadata"]["deletionTimestamp"]
        .as_str()
        .and_then(parse);
    if marked_end.is_some_and(|marked| marked <= end) {
        return None;
    }
    let mut pod = pod.clone();
    pod["metadata"]["deletionTimestamp"] = json!(timestamp(end));
    pod["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
    Some(pod)
}

/// When the kubelet removes a terminating pod: its containers stopped (`STOPS_WITHIN`
/// after the DELETE), or its grace period over, whichever is first. None for a pod not
/// terminating on a node, or one finalizers hold (they keep it until taken off).
pub fn kubelet_removes_at(pod: &Value) -> Option<DateTime<Utc>> {
    let meta = &pod["metadata"];
    let end = meta["deletionTimestamp"].as_str().and_then(parse)?;
    let held = meta["finalizers"].as_array().is_some_and(|f| !f.is_empty());
    let on_node = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    if held || !on_node {
        return None;
    }
    let grace = meta["deletionGracePeriodSeconds"].as_i64().unwrap_or(0);
    let asked = end - Duration::seconds(grace);
    Some(end.min(asked + Duration::seconds(STOPS_WITHIN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        parse("2026-12-07T10:00:00Z").expect("time") + Duration::seconds(secs)
    }

    fn running(grace: Option<i64>) -> Value {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"},
                             "status": {"phase": "Running"}});
        if let Some(grace) = grace {
            pod["spec"]["terminationGracePeriodSeconds"] = json!(grace);
        }
        pod
    }

    #[test]
    fn the_grace_is_the_options_then_the_pods_then_thirty_seconds() {
        assert_eq!(pod_grace(&running(None), &json!({})), Some(30));
        assert_eq!(pod_grace(&running(Some(5)), &json!({})), Some(5));
        assert_eq!(
            pod_grace(&running(Some(5)), &json!({"gracePeriodSeconds": 2})),
            Some(2)
        );
        // Forced, on no node, finished: removed now.
        assert_eq!(
            pod_grace(&running(None), &json!({"gracePeriodSeconds": 0})),
            None
        );
        assert_eq!(pod_grace(&json!({"spec": {}}), &json!({})), None);
        let mut done = running(None);
        done["status"]["phase"] = json!("Succeeded");
        assert_eq!(pod_grace(&done, &json!({})), None);
    }

    #[test]
    fn a_marked_pod_goes_when_its_containers_stop_or_its_grace_ends() {
        let marked = terminating(&running(None), at(0), 30).expect("marked");
        assert_eq!(marked["metadata"]["deletionTimestamp"], timestamp(at(30)));
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(kubelet_removes_at(&marked), Some(at(STOPS_WITHIN)));
        // A longer grace later changes nothing; a shorter one shortens it.
        assert!(terminating(&marked, at(0), 60).is_none());
        let sooner = terminating(&marked, at(0), 0).expect("shortened");
        assert_eq!(kubelet_removes_at(&sooner), Some(at(0)));
        // Finalizers hold it; a pod on no node is not the kubelet's.
        let mut held = marked.clone();
        held["metadata"]["finalizers"] = json!(["x"]);
        assert_eq!(kubelet_removes_at(&held), None);
        assert_eq!(kubelet_removes_at(&running(None)), None);
    }
}
