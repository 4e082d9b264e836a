//! Kueue's view of a Workload: its pod sets and their requests, its owner, its conditions as
//! decided so far, the quota it holds, and what starting its Job injects.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::assign::Assignment;
use super::job::QueuedJob;
use super::model::{Amounts, Flavor, Usage, count, parse_amount, pod_requests};
use super::status::{Cond, condition_true, set_condition};
use super::{MSG_ADMITTED, MSG_NO_RESERVATION, POD_SET_NAME, REASON_PENDING};
use crate::clock;

pub(super) struct PodSet<'a> {
    pub(super) name: String,
    pub(super) count: i64,
    /// count × the pod's requests.
    pub(super) requests: Amounts,
    /// The template's pod spec (node selector, affinity, tolerations).
    pub(super) spec: &'a Value,
}

pub(super) struct Workload<'a> {
    pub(super) raw: &'a Value,
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) queue: String,
    /// spec.active: false deactivates it (evicted, never queued) until set back.
    pub(super) active: bool,
    pub(super) priority: i64,
    pub(super) created: Option<DateTime<Utc>>,
    pub(super) generation: Option<i64>,
    pub(super) pod_sets: Vec<PodSet<'a>>,
    /// The controlling Job's (name, uid).
    pub(super) owner: Option<(&'a str, &'a str)>,
    /// The status as decided so far (starts as stored; copied when first changed).
    pub(super) status: Cow<'a, Map<String, Value>>,
    /// The status may have changed (and is written if it did).
    pub(super) touched: bool,
    /// Finished, QuotaReserved and Admitted are True: asked often, kept with the status.
    flags: Flags,
}

#[derive(Clone, Copy)]
struct Flags {
    finished: bool,
    reserved: bool,
    admitted: bool,
}

impl Flags {
    fn of(status: &Map<String, Value>) -> Self {
        Flags {
            finished: condition_true(status, "Finished"),
            reserved: condition_true(status, "QuotaReserved"),
            admitted: condition_true(status, "Admitted"),
        }
    }
}

pub(super) fn parse_workloads(wls: &[Value]) -> Vec<Workload<'_>> {
    let mut out: BTreeMap<(String, String), Workload> = BTreeMap::new();
    for raw in wls {
        let meta = &raw["metadata"];
        let Some(name) = meta["name"].as_str().filter(|n| !n.is_empty()) else {
            continue;
        };
        let namespace = meta["namespace"].as_str().unwrap_or("").to_string();
        let key = (namespace.clone(), name.to_string());
        if out.contains_key(&key) {
            continue;
        }
        let spec = &raw["spec"];
        let pod_sets = spec["podSets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|ps| ps.is_object())
            .map(|ps| {
                let pods = count(&ps["count"]).unwrap_or(1);
                let pod_spec = &ps["template"]["spec"];
                let requests = pod_requests(pod_spec)
                    .into_iter()
                    .map(|(r, v)| (r, v.saturating_mul(pods)))
                    .collect();
                PodSet {
                    name: ps["name"].as_str().unwrap_or("").to_string(),
                    count: pods,
                    requests,
                    spec: pod_spec,
                }
            })
            .collect();
        let owner = meta["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| {
                r["controller"] == true && r["kind"] == "Job" && r["apiVersion"] == "batch/v1"
            })
            .and_then(|r| Some((r["name"].as_str()?, r["uid"].as_str().unwrap_or(""))));
        let status = match raw["status"].as_object() {
            Some(status) => Cow::Borrowed(status),
            None => Cow::Owned(Map::new()),
        };
        let wl = Workload {
            flags: Flags::of(&status),
            raw,
            namespace,
            name: name.to_string(),
            queue: spec["queueName"].as_str().unwrap_or("").to_string(),
            active: spec["active"] != false,
            priority: spec["priority"].as_i64().unwrap_or(0),
            created: meta["creationTimestamp"].as_str().and_then(clock::parse),
            generation: meta["generation"].as_i64(),
            pod_sets,
            owner,
            status,
            touched: false,
        };
        out.insert(key, wl);
    }
    out.into_values().collect()
}

impl Workload<'_> {
    pub(super) fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub(super) fn finished(&self) -> bool {
        self.flags.finished
    }

    /// HasQuotaReservation.
    pub(super) fn reserved(&self) -> bool {
        self.flags.reserved
    }

    /// IsAdmitted.
    pub(super) fn admitted(&self) -> bool {
        self.flags.admitted
    }

    /// Waiting in a queue: neither holding quota nor done.
    pub(super) fn pending(&self) -> bool {
        !self.finished() && !self.reserved()
    }

    /// Queue order: higher priority first, then older, then by name (for a stable order).
    pub(super) fn order_key(&self) -> (Reverse<i64>, bool, Option<DateTime<Utc>>, &str, &str) {
        (
            Reverse(self.priority),
            self.created.is_none(),
            self.created,
            &self.namespace,
            &self.name,
        )
    }

    pub(super) fn owned_by(&self, job: &QueuedJob) -> bool {
        if self.namespace != job.namespace {
            return false;
        }
        match self.owner {
            Some((name, uid)) => {
                name == job.name && (uid.is_empty() || job.uid.is_empty() || uid == job.uid)
            }
            // Without an owner reference, the name Kueue gives a Job's Workload.
            None => self.name == job.workload_name,
        }
    }

    pub(super) fn set(&mut self, c: Cond, now: DateTime<Utc>) {
        set_condition(self.status.to_mut(), c, self.generation, now);
        self.flags = Flags::of(&self.status);
        self.touched = true;
    }

    /// UnsetQuotaReservationWithCondition: QuotaReserved=False with the reason, no admission,
    /// and an Admitted=True left over turned False.
    pub(super) fn set_pending(&mut self, reason: &str, message: &str, now: DateTime<Utc>) {
        self.set(
            Cond {
                kind: "QuotaReserved",
                status: "False",
                reason,
                message,
            },
            now,
        );
        self.status.to_mut().remove("admission");
        if self.admitted() {
            self.set(
                Cond {
                    kind: "Admitted",
                    status: "False",
                    reason: "NoReservation",
                    message: MSG_NO_RESERVATION,
                },
                now,
            );
        }
    }

    /// Evicted=True with the reason, then its quota released (the Job is suspended as it
    /// follows its Workload); queued again once the cause is gone.
    pub(super) fn evict(&mut self, reason: &str, message: &str, now: DateTime<Utc>) {
        self.set(
            Cond {
                kind: "Evicted",
                status: "True",
                reason,
                message,
            },
            now,
        );
        self.set_pending(REASON_PENDING, message, now);
    }

    /// SetQuotaReservation, then SyncAdmittedCondition (no admission checks: admitted at once).
    pub(super) fn admit(
        &mut self,
        cluster_queue: &str,
        assignment: &Assignment,
        now: DateTime<Utc>,
    ) {
        self.status
            .to_mut()
            .insert("admission".into(), assignment.to_admission(cluster_queue));
        let message = format!("Quota reserved in ClusterQueue {cluster_queue}");
        self.set(
            Cond {
                kind: "QuotaReserved",
                status: "True",
                reason: "QuotaReserved",
                message: &message,
            },
            now,
        );
        // SetQuotaReservation: an earlier eviction is over.
        if condition_true(&self.status, "Evicted") {
            let previously = format!(
                "Previously: {}",
                self.status["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["type"] == "Evicted")
                    .and_then(|c| c["message"].as_str())
                    .unwrap_or_default()
            );
            self.set(
                Cond {
                    kind: "Evicted",
                    status: "False",
                    reason: "QuotaReserved",
                    message: &previously,
                },
                now,
            );
        }
        self.set_admitted(now);
    }

    pub(super) fn set_admitted(&mut self, now: DateTime<Utc>) {
        self.set(
            Cond {
                kind: "Admitted",
                status: "True",
                reason: "Admitted",
                message: MSG_ADMITTED,
            },
            now,
        );
    }

    pub(super) fn admitted_in(&self) -> Option<&str> {
        self.status.get("admission")?["clusterQueue"].as_str()
    }

    /// The quota this Workload holds, by (flavor, resource), from its admission; a usage the
    /// admission does not state is recomputed from the pod set.
    pub(super) fn usage(&self) -> Usage {
        let mut out = Usage::new();
        let Some(admission) = self.status.get("admission") else {
            return out;
        };
        for psa in admission["podSetAssignments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let ps_name = psa["name"].as_str().unwrap_or("");
            let pod_set = self.pod_sets.iter().find(|p| p.name == ps_name);
            let Some(flavors) = psa["flavors"].as_object() else {
                continue;
            };
            for (res, flavor) in flavors {
                let Some(flavor) = flavor.as_str() else {
                    continue;
                };
                let amount = parse_amount(res, &psa["resourceUsage"][res.as_str()])
                    .or_else(|| {
                        let ps = pod_set?;
                        if res == "pods" {
                            Some(ps.count)
                        } else {
                            ps.requests.get(res).copied()
                        }
                    })
                    .unwrap_or(0);
                let e = out.entry((flavor.to_string(), res.clone())).or_insert(0);
                *e = e.saturating_add(amount);
            }
        }
        out
    }

    /// What Kueue's job integration injects on start: the assigned flavors' node labels and
    /// tolerations (podset.FromAssignment for the Job's one pod set).
    pub(super) fn start_info(
        &self,
        flavors: &BTreeMap<String, Flavor>,
    ) -> (Map<String, Value>, Vec<Value>) {
        let mut node_selector = BTreeMap::new();
        let mut tolerations: Vec<Value> = Vec::new();
        let assignments = self
            .status
            .get("admission")
            .map(|a| &a["podSetAssignments"])
            .and_then(Value::as_array);
        let psa = assignments.and_then(|a| {
            a.iter()
                .find(|p| p["name"] == POD_SET_NAME)
                .or_else(|| a.first())
        });
        // Sorted by resource, each flavor once.
        let assigned: BTreeMap<&str, &str> = psa
            .and_then(|p| p["flavors"].as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(r, f)| Some((r.as_str(), f.as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        for flavor in assigned.values() {
            if !seen.insert(*flavor) {
                continue;
            }
            let Some(f) = flavors.get(*flavor) else {
                continue;
            };
            for (k, v) in &f.node_labels {
                node_selector.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for t in &f.tolerations {
                if !tolerations.contains(t) {
                    tolerations.push(t.clone());
                }
            }
        }
        let node_selector = node_selector
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        (node_selector, tolerations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kueue::testkit::*;

    #[test]
    fn start_job_carries_the_flavor_node_labels_and_tolerations() {
        let mut w = World::new("StrictFIFO");
        w.submit("a", 16, 0);
        let actions = w.step(1);
        let start = actions
            .iter()
            .find(|a| matches!(a, KueueAction::StartJob { .. }))
            .cloned();
        let Some(KueueAction::StartJob {
            namespace,
            name,
            node_selector,
            tolerations,
        }) = start
        else {
            panic!("no StartJob in {actions:?}");
        };
        assert_eq!((namespace.as_str(), name.as_str()), (NS, "a"));
        assert_eq!(
            Value::Object(node_selector),
            json!({SPOT_LABEL: "true", PRODUCT_LABEL: H100})
        );
        assert_eq!(tolerations, [gpu_toleration(), spot_toleration()]);
        let spec = &w.job("a")["spec"];
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["template"]["spec"]["nodeSelector"][SPOT_LABEL], "true");

        w.submit("b", 8, 2);
        w.settle(3);
        assert_eq!(w.flavor_of("b"), ON_DEMAND);
        let spec = &w.job("b")["spec"]["template"]["spec"];
        assert_eq!(spec["nodeSelector"][SPOT_LABEL], "false");
        assert_eq!(spec["tolerations"], json!([gpu_toleration()]));
    }
}
