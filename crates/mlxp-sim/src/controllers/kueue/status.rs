//! Conditions (apimeta.SetStatusCondition) and the ClusterQueue / LocalQueue statuses:
//! workload counts, flavor reservation and usage, and the Active condition.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::model::{ClusterQueue, LocalQueue, Usage, quantity_string};
use super::workload::Workload;
use super::{KueueAction, MSG_CQ_ACTIVE, MSG_LQ_ACTIVE, MSG_LQ_INACTIVE, MSG_LQ_STOPPED, Plan};
use crate::clock;

// ---------------------------------------------------------------------------------------------
// Conditions

pub(super) fn condition_true(status: &Map<String, Value>, kind: &str) -> bool {
    status
        .get("conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == kind && c["status"] == "True")
        })
}

/// A metav1.Condition to set.
pub(super) struct Cond<'s> {
    pub(super) kind: &'s str,
    pub(super) status: &'s str,
    pub(super) reason: &'s str,
    pub(super) message: &'s str,
}

/// apimeta.SetStatusCondition: the transition time moves only when the status changes, so a
/// new reason or message alone is not churn. Malformed entries are dropped.
pub(super) fn set_condition(
    status: &mut Map<String, Value>,
    c: Cond,
    generation: Option<i64>,
    now: DateTime<Utc>,
) {
    let list = status
        .entry("conditions")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(list) = list else { return };
    list.retain(Value::is_object);
    let at = clock::timestamp(now);
    match list.iter_mut().find(|x| x["type"] == c.kind) {
        Some(Value::Object(old)) => {
            if old.get("status").and_then(Value::as_str) != Some(c.status)
                || !old.contains_key("lastTransitionTime")
            {
                old.insert("lastTransitionTime".into(), json!(at));
            }
            old.insert("status".into(), json!(c.status));
            old.insert("reason".into(), json!(c.reason));
            old.insert("message".into(), json!(c.message));
            if let Some(g) = generation {
                old.insert("observedGeneration".into(), json!(g));
            }
        }
        _ => {
            let mut new = Map::new();
            new.insert("type".into(), json!(c.kind));
            new.insert("status".into(), json!(c.status));
            new.insert("lastTransitionTime".into(), json!(at));
            new.insert("reason".into(), json!(c.reason));
            new.insert("message".into(), json!(c.message));
            if let Some(g) = generation {
                new.insert("observedGeneration".into(), json!(g));
            }
            list.push(Value::Object(new));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ClusterQueue and LocalQueue statuses

/// Workload counts of a queue.
#[derive(Default)]
pub(super) struct Counts {
    pub(super) pending: u64,
    pub(super) reserving: u64,
    pub(super) admitted: u64,
}

/// One entry per flavor of the ClusterQueue, each covered resource sorted by name, as
/// Kueue's status lists them (with `borrowed` for ClusterQueues, always 0 without cohorts).
pub(super) fn flavor_usage(cq: &ClusterQueue, usage: &Usage, with_borrowed: bool) -> Value {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for g in &cq.groups {
        let mut resources: Vec<&String> = g.covered.iter().collect();
        resources.sort();
        resources.dedup();
        for fq in &g.flavors {
            if !seen.insert(fq.name.as_str()) {
                continue;
            }
            let list: Vec<Value> = resources
                .iter()
                .map(|r| {
                    let used = usage
                        .get(&(fq.name.clone(), r.to_string()))
                        .copied()
                        .unwrap_or(0);
                    let mut o = Map::new();
                    o.insert("name".into(), json!(r));
                    o.insert("total".into(), json!(quantity_string(r, used)));
                    if with_borrowed {
                        o.insert("borrowed".into(), json!("0"));
                    }
                    Value::Object(o)
                })
                .collect();
            out.push(json!({"name": fq.name, "resources": list}));
        }
    }
    Value::Array(out)
}

pub(super) fn queue_statuses(
    out: &mut Plan,
    cqs: &BTreeMap<String, ClusterQueue>,
    lqs: &BTreeMap<(String, String), LocalQueue>,
    wls: &[Workload],
    usage: &BTreeMap<String, Usage>,
    now: DateTime<Utc>,
) {
    let mut cq_counts: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut lq_counts: BTreeMap<(&str, &str), Counts> = BTreeMap::new();
    let mut lq_usage: BTreeMap<(&str, &str), Usage> = BTreeMap::new();
    for w in wls {
        if w.finished() {
            continue;
        }
        let lq_key = (w.namespace.as_str(), w.queue.as_str());
        if w.pending() {
            if let Some(lq) = lqs.get(&(w.namespace.clone(), w.queue.clone())) {
                cq_counts
                    .entry(lq.cluster_queue.as_str())
                    .or_default()
                    .pending += 1;
                lq_counts.entry(lq_key).or_default().pending += 1;
            }
            continue;
        }
        let admitted = u64::from(w.admitted());
        if let Some(cq) = w.admitted_in() {
            let c = cq_counts.entry(cq).or_default();
            c.reserving += 1;
            c.admitted += admitted;
        }
        let c = lq_counts.entry(lq_key).or_default();
        c.reserving += 1;
        c.admitted += admitted;
        let u = lq_usage.entry(lq_key).or_default();
        for (k, v) in w.usage() {
            let e = u.entry(k).or_insert(0);
            *e = e.saturating_add(v);
        }
    }

    let empty = Usage::new();
    for (name, cq) in cqs {
        let counts = cq_counts.remove(name.as_str()).unwrap_or_default();
        let used = usage.get(name).unwrap_or(&empty);
        let mut status = cq.raw["status"].as_object().cloned().unwrap_or_default();
        status.insert("pendingWorkloads".into(), json!(counts.pending));
        status.insert("reservingWorkloads".into(), json!(counts.reserving));
        status.insert("admittedWorkloads".into(), json!(counts.admitted));
        let listed = flavor_usage(cq, used, true);
        status.insert("flavorsReservation".into(), listed.clone());
        status.insert("flavorsUsage".into(), listed);
        let (st, reason, message) = match &cq.inactive {
            None => ("True", "Ready", MSG_CQ_ACTIVE),
            Some((reason, message)) => ("False", reason.as_str(), message.as_str()),
        };
        set_condition(
            &mut status,
            Cond {
                kind: "Active",
                status: st,
                reason,
                message,
            },
            cq.raw["metadata"]["generation"].as_i64(),
            now,
        );
        push_if_changed(out, &cq.raw["status"], status, |status| {
            KueueAction::SetClusterQueueStatus {
                name: name.clone(),
                status,
            }
        });
    }

    for lq in lqs.values() {
        let key = (lq.namespace.as_str(), lq.name.as_str());
        let counts = lq_counts.remove(&key).unwrap_or_default();
        let mut status = lq.raw["status"].as_object().cloned().unwrap_or_default();
        status.insert("pendingWorkloads".into(), json!(counts.pending));
        status.insert("reservingWorkloads".into(), json!(counts.reserving));
        status.insert("admittedWorkloads".into(), json!(counts.admitted));
        let cq = cqs.get(&lq.cluster_queue);
        match cq {
            Some(cq) => {
                let listed = flavor_usage(cq, lq_usage.get(&key).unwrap_or(&empty), false);
                status.insert("flavorsReservation".into(), listed.clone());
                status.insert("flavorUsage".into(), listed);
            }
            None => {
                status.remove("flavorsReservation");
                status.remove("flavorUsage");
            }
        }
        let (st, reason, message) = match cq {
            _ if lq.stopped => ("False", "Stopped", MSG_LQ_STOPPED),
            None => ("False", "ClusterQueueDoesNotExist", MSG_LQ_INACTIVE),
            Some(cq) if cq.inactive.is_some() => {
                ("False", "ClusterQueueIsInactive", MSG_LQ_INACTIVE)
            }
            Some(_) => ("True", "Ready", MSG_LQ_ACTIVE),
        };
        set_condition(
            &mut status,
            Cond {
                kind: "Active",
                status: st,
                reason,
                message,
            },
            lq.raw["metadata"]["generation"].as_i64(),
            now,
        );
        push_if_changed(out, &lq.raw["status"], status, |status| {
            KueueAction::SetLocalQueueStatus {
                namespace: lq.namespace.clone(),
                name: lq.name.clone(),
                status,
            }
        });
    }
}

pub(super) fn push_if_changed(
    out: &mut Plan,
    old: &Value,
    new: Map<String, Value>,
    action: impl FnOnce(Value) -> KueueAction,
) {
    let new = Value::Object(new);
    if &new != old {
        out.actions.push(action(new));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kueue::testkit::*;

    #[test]
    fn queue_statuses_report_counts_and_usage() {
        let w = five_jobs("BestEffortFIFO");
        let status = &w.cqs[0]["status"];
        assert_eq!(status["pendingWorkloads"], 2);
        assert_eq!(status["reservingWorkloads"], 3);
        assert_eq!(status["admittedWorkloads"], 3);
        let usage = json!([
            {"name": SPOT, "resources": [
                {"name": "cpu", "total": "24", "borrowed": "0"},
                {"name": "memory", "total": "192Gi", "borrowed": "0"},
                {"name": "nvidia.com/gpu", "total": "16", "borrowed": "0"}]},
            {"name": ON_DEMAND, "resources": [
                {"name": "cpu", "total": "12", "borrowed": "0"},
                {"name": "memory", "total": "96Gi", "borrowed": "0"},
                {"name": "nvidia.com/gpu", "total": "8", "borrowed": "0"}]},
        ]);
        assert_eq!(status["flavorsReservation"], usage);
        assert_eq!(status["flavorsUsage"], usage);
        let active = cond(&w.cqs[0], "Active");
        assert_eq!(
            (&active["status"], &active["reason"], &active["message"]),
            (
                &json!("True"),
                &json!("Ready"),
                &json!("Can admit new workloads")
            )
        );
        assert_eq!(active["observedGeneration"], 1);

        let lq = &w.lqs[0]["status"];
        assert_eq!(lq["pendingWorkloads"], 2);
        assert_eq!(lq["reservingWorkloads"], 3);
        assert_eq!(lq["admittedWorkloads"], 3);
        assert_eq!(
            lq["flavorUsage"][0]["resources"][2],
            json!({"name": "nvidia.com/gpu", "total": "16"})
        );
        assert_eq!(
            lq["flavorUsage"][1]["resources"][2],
            json!({"name": "nvidia.com/gpu", "total": "8"})
        );
        let active = cond(&w.lqs[0], "Active");
        assert_eq!(active["reason"], "Ready");
        assert_eq!(active["message"], "Can submit new workloads to localQueue");
    }

    #[test]
    fn missing_queues_and_flavors_make_workloads_inadmissible() {
        let mut w = World::new("StrictFIFO");
        w.lqs.push(local_queue(NS, "lost", "ghost"));
        let mut nowhere = job("nowhere", 1);
        nowhere["metadata"]["labels"][QUEUE_NAME_LABEL] = json!("nope");
        let mut lost = job("lost", 1);
        lost["metadata"]["labels"][QUEUE_NAME_LABEL] = json!("lost");
        w.jobs = vec![nowhere, lost];
        w.settle(0);
        let c = cond(w.wl("nowhere"), "QuotaReserved");
        assert_eq!(c["status"], "False");
        assert_eq!(c["reason"], "Inadmissible");
        assert_eq!(c["message"], "LocalQueue nope doesn't exist");
        let c = cond(w.wl("lost"), "QuotaReserved");
        assert_eq!(c["reason"], "Inadmissible");
        assert_eq!(c["message"], "ClusterQueue ghost doesn't exist");
        assert_eq!(
            w.pending("ghost"),
            [(
                wl_key("lost"),
                "ClusterQueue ghost doesn't exist".to_string()
            )]
        );
        let lq = w
            .lqs
            .iter()
            .find(|l| l["metadata"]["name"] == "lost")
            .cloned()
            .unwrap_or_default();
        let active = cond(&lq, "Active");
        assert_eq!(active["status"], "False");
        assert_eq!(active["reason"], "ClusterQueueDoesNotExist");
        assert_eq!(
            active["message"],
            "Can't submit new workloads to clusterQueue"
        );
        assert_eq!(lq["status"]["pendingWorkloads"], 1);
        assert_eq!(w.job("lost")["spec"]["suspend"], true);

        // A ClusterQueue naming a flavor that doesn't exist admits nothing.
        w.flavors.retain(|f| f["metadata"]["name"] != ON_DEMAND);
        w.submit("c", 1, 1);
        w.settle(2);
        let active = cond(&w.cqs[0], "Active");
        assert_eq!(active["status"], "False");
        assert_eq!(active["reason"], "FlavorNotFound");
        assert_eq!(
            active["message"],
            "Can't admit new workloads: references missing ResourceFlavor(s): h100-ondemand."
        );
        let c = cond(w.wl("c"), "QuotaReserved");
        assert_eq!(c["reason"], "Inadmissible");
        assert_eq!(c["message"], "ClusterQueue gpu is inactive");
        assert_eq!(
            cond(&w.lqs[0], "Active")["reason"],
            "ClusterQueueIsInactive"
        );
        assert_eq!(w.cqs[0]["status"]["pendingWorkloads"], 1);
    }

    #[test]
    fn statuses_are_written_once_and_keep_their_transition_times() {
        let mut w = five_jobs("StrictFIFO");
        assert_eq!(reconcile(&w.state(), at(100)), []);

        let mut w2 = World::new("StrictFIFO");
        w2.cqs = vec![cluster_queue("gpu", "StrictFIFO", &[(SPOT, 16)])];
        w2.submit("a", 8, 0);
        w2.submit("b", 8, 1);
        w2.submit("c", 12, 2);
        w2.settle(3);
        let before = cond(w2.wl("c"), "QuotaReserved");
        assert_eq!(before["message"], insufficient(&[(SPOT, 12)]).as_str());
        w2.finish("b", true);
        w2.settle(50);
        let after = cond(w2.wl("c"), "QuotaReserved");
        assert_eq!(after["message"], insufficient(&[(SPOT, 4)]).as_str());
        // Same status, new message: the transition time stays.
        assert_eq!(after["lastTransitionTime"], before["lastTransitionTime"]);
        assert_eq!(before["lastTransitionTime"], timestamp(at(3)));

        // Same input, same output.
        w.finish("train-1", true);
        assert_eq!(reconcile(&w.state(), at(7)), reconcile(&w.state(), at(7)));
    }
}
