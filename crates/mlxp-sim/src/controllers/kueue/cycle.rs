//! One reconcile of the whole queueing system: Jobs get their Workloads, finished Jobs release
//! their quota, every ClusterQueue admits what fits in queue order, Jobs follow their
//! Workloads, and the queues report.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::assign::assign;
use super::job::{new_workload, parse_jobs};
use super::model::{
    Usage, namespace_matches, parse_cluster_queues, parse_flavors, parse_local_queues,
};
use super::status::{Cond, queue_statuses};
use super::workload::parse_workloads;
use super::{
    KueueAction, KueueState, MSG_NAMESPACE_MISMATCH, Plan, REASON_INADMISSIBLE, REASON_PENDING,
};

pub(super) fn plan(state: &KueueState, now: DateTime<Utc>) -> Plan {
    let mut out = Plan::default();
    let flavors = parse_flavors(state.flavors);
    let cqs = parse_cluster_queues(state.cluster_queues, &flavors);
    let lqs = parse_local_queues(state.local_queues);
    let jobs = parse_jobs(state.jobs);
    let mut wls = parse_workloads(state.workloads);
    // The order in which Workload statuses changed, so admissions come out in queue order.
    let mut changed: Vec<usize> = Vec::new();

    // Each Job's Workload: the first one it owns. Indexed by namespace and the owner's name
    // (or the Workload's own name when it has no owner), not searched: thousands of each.
    let mut by_owner: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, w) in wls.iter().enumerate() {
        let key = w.owner.map_or(w.name.as_str(), |(name, _)| name);
        by_owner
            .entry((w.namespace.as_str(), key))
            .or_default()
            .push(i);
    }
    let job_wl: Vec<Option<usize>> = jobs
        .iter()
        .map(|j| {
            [j.name, j.workload_name.as_str()]
                .iter()
                .filter_map(|key| by_owner.get(&(j.namespace, *key)))
                .flatten()
                .copied()
                .filter(|&i| wls[i].owned_by(j))
                .min()
        })
        .collect();
    drop(by_owner);

    // A queued Job without a Workload: keep it suspended, and create the Workload once its
    // pods are gone. A finished Job gets none.
    for (job, wl) in jobs.iter().zip(&job_wl) {
        if wl.is_some() || job.finished.is_some() {
            continue;
        }
        if !job.suspended {
            out.actions.push(KueueAction::SuspendJob {
                namespace: job.namespace.to_string(),
                name: job.name.to_string(),
            });
        }
        if !job.active {
            out.actions.push(KueueAction::CreateWorkload {
                workload: new_workload(job),
            });
        }
    }

    // A finished Job finishes its Workload, which then holds no quota.
    for (job, wl) in jobs.iter().zip(&job_wl) {
        let (Some((succeeded, message)), Some(i)) = (job.finished, *wl) else {
            continue;
        };
        let w = &mut wls[i];
        if w.finished() {
            continue;
        }
        let (reason, fallback) = if succeeded {
            ("Succeeded", "Job finished successfully")
        } else {
            ("Failed", "Job failed")
        };
        // Kueue copies the Job condition's message.
        let message = if message.is_empty() {
            fallback
        } else {
            message
        };
        w.set(
            Cond {
                kind: "Finished",
                status: "True",
                reason,
                message,
            },
            now,
        );
        changed.push(i);
    }

    // Quota reserved with no admission checks to wait for is admitted (SyncAdmittedCondition).
    for (i, w) in wls.iter_mut().enumerate() {
        if w.reserved() && !w.admitted() && !w.finished() {
            w.set_admitted(now);
            changed.push(i);
        }
    }

    // Evicted: a deactivated Workload, or one admitted by a queue stopped with HoldAndDrain.
    for (i, w) in wls.iter_mut().enumerate() {
        if !w.reserved() || w.finished() {
            continue;
        }
        let lq = lqs.get(&(w.namespace.clone(), w.queue.clone()));
        let cq = w.admitted_in().and_then(|name| cqs.get(name));
        let eviction = if !w.active {
            Some(("InactiveWorkload", "The workload is deactivated"))
        } else if lq.is_some_and(|lq| lq.draining) {
            Some(("LocalQueueStopped", "The LocalQueue is stopped"))
        } else if cq.is_some_and(|cq| cq.draining) {
            Some(("ClusterQueueStopped", "The ClusterQueue is stopped"))
        } else {
            None
        };
        if let Some((reason, message)) = eviction {
            w.evict(reason, message, now);
            changed.push(i);
        }
    }

    // Quota held per ClusterQueue by Workloads not finished.
    let mut usage: BTreeMap<String, Usage> = BTreeMap::new();
    for w in &wls {
        if !w.reserved() || w.finished() {
            continue;
        }
        if let Some(cq) = w.admitted_in() {
            let u = usage.entry(cq.to_string()).or_default();
            for (k, v) in w.usage() {
                let e = u.entry(k).or_insert(0);
                *e = e.saturating_add(v);
            }
        }
    }

    // Queue the pending Workloads in their ClusterQueues (via their LocalQueue).
    let mut queues: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, w) in wls.iter_mut().enumerate() {
        // A deactivated Workload waits in no queue.
        if !w.pending() || !w.active {
            continue;
        }
        match lqs.get(&(w.namespace.clone(), w.queue.clone())) {
            Some(lq) if lq.stopped => {
                let message = format!("LocalQueue {} is inactive", w.queue);
                w.set_pending(REASON_INADMISSIBLE, &message, now);
                changed.push(i);
            }
            Some(lq) => queues.entry(lq.cluster_queue.clone()).or_default().push(i),
            None => {
                let message = format!("LocalQueue {} doesn't exist", w.queue);
                w.set_pending(REASON_INADMISSIBLE, &message, now);
                changed.push(i);
            }
        }
    }

    for (cq_name, mut members) in queues {
        members.sort_by(|&a, &b| wls[a].order_key().cmp(&wls[b].order_key()));
        let waiting = out.queues.entry(cq_name.clone()).or_default();
        let inadmissible = match cqs.get(&cq_name) {
            None => Some(format!("ClusterQueue {cq_name} doesn't exist")),
            Some(cq) if cq.inactive.is_some() => {
                Some(format!("ClusterQueue {cq_name} is inactive"))
            }
            Some(_) => None,
        };
        if let Some(message) = inadmissible {
            for i in members {
                wls[i].set_pending(REASON_INADMISSIBLE, &message, now);
                changed.push(i);
                waiting.push((wls[i].key(), message.clone()));
            }
            continue;
        }
        let Some(cq) = cqs.get(&cq_name) else {
            continue;
        };
        let cq_usage = usage.entry(cq_name.clone()).or_default();
        let mut head: Option<String> = None;
        for i in members {
            // StrictFIFO: nothing behind a head that doesn't fit is tried, or written.
            if let Some(head) = &head {
                waiting.push((
                    wls[i].key(),
                    format!("Waiting for {head} at the head of the StrictFIFO queue"),
                ));
                continue;
            }
            // A namespace mismatch never blocks the queue (Kueue parks it as inadmissible).
            if !namespace_matches(cq.namespace_selector, &wls[i].namespace) {
                wls[i].set_pending(REASON_PENDING, MSG_NAMESPACE_MISMATCH, now);
                changed.push(i);
                waiting.push((wls[i].key(), MSG_NAMESPACE_MISMATCH.to_string()));
                continue;
            }
            let assignment = assign(cq, &flavors, &wls[i].pod_sets, cq_usage);
            changed.push(i);
            if assignment.fits() {
                wls[i].admit(&cq_name, &assignment, now);
                for (k, v) in wls[i].usage() {
                    let e = cq_usage.entry(k).or_insert(0);
                    *e = e.saturating_add(v);
                }
            } else {
                let message = assignment.message();
                wls[i].set_pending(REASON_PENDING, &message, now);
                waiting.push((wls[i].key(), message));
                if !cq.best_effort {
                    head = Some(wls[i].key());
                }
            }
        }
    }

    // Workload statuses that changed, each once, in the order decided.
    let mut written = BTreeSet::new();
    for i in changed {
        let w = &wls[i];
        if !w.touched || !written.insert(i) {
            continue;
        }
        let old = match &w.raw["status"] {
            Value::Null => Value::Object(Map::new()),
            s => s.clone(),
        };
        let new = Value::Object(w.status.clone().into_owned());
        if new != old {
            out.actions.push(KueueAction::SetWorkloadStatus {
                namespace: w.namespace.clone(),
                name: w.name.clone(),
                status: new,
            });
        }
    }

    // Jobs follow their Workloads: started once admitted (again if suspended since),
    // suspended while not.
    for (job, wl) in jobs.iter().zip(&job_wl) {
        let Some(i) = *wl else { continue };
        let w = &wls[i];
        if job.finished.is_some() || w.finished() {
            continue;
        }
        if w.admitted() {
            if job.suspended {
                let (node_selector, tolerations) = w.start_info(&flavors);
                out.actions.push(KueueAction::StartJob {
                    namespace: job.namespace.to_string(),
                    name: job.name.to_string(),
                    node_selector,
                    tolerations,
                });
            }
        } else if !job.suspended {
            out.actions.push(KueueAction::SuspendJob {
                namespace: job.namespace.to_string(),
                name: job.name.to_string(),
            });
        }
    }

    queue_statuses(&mut out, &cqs, &lqs, &wls, &usage, now);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kueue::testkit::*;

    #[test]
    fn five_eight_gpu_jobs_fill_spot_then_on_demand() {
        for strategy in ["StrictFIFO", "BestEffortFIFO"] {
            let w = five_jobs(strategy);
            assert_eq!(w.flavor_of("train-0"), SPOT, "{strategy}");
            assert_eq!(w.flavor_of("train-1"), SPOT);
            assert_eq!(w.flavor_of("train-2"), ON_DEMAND);
            for i in 0..3 {
                let wl = w.wl(&format!("train-{i}"));
                let reserved = cond(wl, "QuotaReserved");
                assert_eq!(reserved["status"], "True");
                assert_eq!(reserved["reason"], "QuotaReserved");
                assert_eq!(reserved["message"], "Quota reserved in ClusterQueue gpu");
                let admitted = cond(wl, "Admitted");
                assert_eq!(admitted["reason"], "Admitted");
                assert_eq!(admitted["message"], "The workload is admitted");
                let psa = &wl["status"]["admission"]["podSetAssignments"][0];
                assert_eq!(wl["status"]["admission"]["clusterQueue"], "gpu");
                assert_eq!(psa["name"], "main");
                assert_eq!(psa["count"], 1);
                assert_eq!(
                    psa["resourceUsage"],
                    json!({"cpu": "12", "memory": "96Gi", "nvidia.com/gpu": "8"})
                );
                let f = psa["flavors"]["nvidia.com/gpu"].clone();
                assert_eq!(
                    psa["flavors"],
                    json!({"cpu": f, "memory": f, "nvidia.com/gpu": f})
                );
                assert_eq!(w.job(&format!("train-{i}"))["spec"]["suspend"], false);
            }
            let full = insufficient(&[(SPOT, 8), (ON_DEMAND, 8)]);
            let waiting = cond(w.wl("train-3"), "QuotaReserved");
            assert_eq!(waiting["status"], "False");
            assert_eq!(waiting["reason"], "Pending");
            assert_eq!(waiting["message"], full.as_str());
            assert!(w.wl("train-3")["status"].get("admission").is_none());
            assert_eq!(w.job("train-3")["spec"]["suspend"], true);
            assert_eq!(w.job("train-4")["spec"]["suspend"], true);
            let pending = w.pending("gpu");
            assert_eq!(pending[0], (wl_key("train-3"), full.clone()));
            assert_eq!(pending[1].0, wl_key("train-4"));
            assert_eq!(pending.len(), 2);
            if strategy == "BestEffortFIFO" {
                assert_eq!(
                    cond(w.wl("train-4"), "QuotaReserved")["message"],
                    full.as_str()
                );
                assert_eq!(pending[1].1, full);
            } else {
                // Kueue never tries what waits behind a StrictFIFO head, so writes nothing.
                assert_eq!(cond(w.wl("train-4"), "QuotaReserved"), Value::Null);
                assert_eq!(
                    pending[1].1,
                    format!(
                        "Waiting for {} at the head of the StrictFIFO queue",
                        wl_key("train-3")
                    )
                );
            }
        }
    }

    #[test]
    fn strict_fifo_blocks_behind_the_head_and_best_effort_skips_it() {
        for (strategy, small_admitted) in [("StrictFIFO", false), ("BestEffortFIFO", true)] {
            let mut w = World::new(strategy);
            w.cqs = vec![cluster_queue("gpu", strategy, &[(SPOT, 16)])];
            w.submit("first", 8, 0);
            w.submit("big", 16, 1);
            w.submit("small", 4, 2);
            w.settle(3);
            assert_eq!(w.flavor_of("first"), SPOT);
            // Once `small` runs too, `big` lacks 12 (the message is recomputed each time).
            let lacking = if small_admitted { 12 } else { 8 };
            assert_eq!(
                cond(w.wl("big"), "QuotaReserved")["message"],
                insufficient(&[(SPOT, lacking)]).as_str()
            );
            assert_eq!(
                cond(w.wl("small"), "Admitted")["status"] == "True",
                small_admitted,
                "{strategy}"
            );
            assert_eq!(w.job("small")["spec"]["suspend"], !small_admitted);
            let pending: Vec<String> = w.pending("gpu").into_iter().map(|p| p.0).collect();
            if small_admitted {
                assert_eq!(pending, [wl_key("big")]);
            } else {
                assert_eq!(pending, [wl_key("big"), wl_key("small")]);
            }
        }
    }

    #[test]
    fn finishing_a_job_frees_its_quota_for_the_next() {
        let mut w = five_jobs("StrictFIFO");
        w.finish("train-0", true);
        let actions = w.step(10);
        let done = cond(w.wl("train-0"), "Finished");
        assert_eq!(done["status"], "True");
        assert_eq!(done["reason"], "Succeeded");
        assert_eq!(done["message"], "Reached expected number of succeeded pods");
        assert_eq!(w.flavor_of("train-3"), SPOT);
        assert!(actions.iter().any(|a| matches!(a,
            KueueAction::StartJob { name, .. } if name == "train-3")));
        // The finish is written before the admission it makes room for.
        let order: Vec<&str> = actions
            .iter()
            .filter_map(|a| match a {
                KueueAction::SetWorkloadStatus { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        // train-4 is now the head of the StrictFIFO queue: tried, and told why it waits.
        assert_eq!(
            order,
            [
                workload_name("train-0", "uid-train-0"),
                workload_name("train-3", "uid-train-3"),
                workload_name("train-4", "uid-train-4")
            ]
        );
        assert_eq!(
            cond(w.wl("train-4"), "QuotaReserved")["message"],
            insufficient(&[(SPOT, 8), (ON_DEMAND, 8)]).as_str()
        );
        w.settle(11);

        w.finish("train-2", false);
        w.step(20);
        let failed = cond(w.wl("train-2"), "Finished");
        assert_eq!(failed["reason"], "Failed");
        assert_eq!(
            failed["message"],
            "Job has reached the specified backoff limit"
        );
        assert_eq!(w.flavor_of("train-4"), ON_DEMAND);
        assert!(w.pending("gpu").is_empty());
        // A finished Workload keeps its admission but no longer counts.
        assert_eq!(
            w.wl("train-0")["status"]["admission"]["clusterQueue"],
            "gpu"
        );
        w.settle(21);
        assert_eq!(w.cqs[0]["status"]["reservingWorkloads"], 3);
    }

    #[test]
    fn priority_orders_the_queue_before_age() {
        let mut w = World::new("StrictFIFO");
        w.cqs = vec![cluster_queue("gpu", "StrictFIFO", &[(SPOT, 8)])];
        let workload = |name: &str, priority: i64, created: i64| {
            json!({"metadata": {"name": name, "namespace": NS, "creationTimestamp": timestamp(at(created))},
                   "spec": {"queueName": "team", "priority": priority, "podSets": [{"name": "main", "count": 1,
                       "template": {"spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": 8}}}]}}}]}})
        };
        w.workloads = vec![
            workload("old-low", 0, 0),
            workload("new-high", 100, 5),
            workload("mid", 50, 3),
            workload("old-mid", 50, 1),
        ];
        w.settle(6);
        let admitted: Vec<&str> = w
            .workloads
            .iter()
            .filter(|x| cond(x, "Admitted")["status"] == "True")
            .filter_map(|x| x["metadata"]["name"].as_str())
            .collect();
        assert_eq!(admitted, ["new-high"]);
        let order: Vec<String> = w.pending("gpu").into_iter().map(|p| p.0).collect();
        assert_eq!(order, ["ml/old-mid", "ml/mid", "ml/old-low"]);
    }
}
