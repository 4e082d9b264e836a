//! GPU cost and quota: GPUs a pod holds and leaves idle for a while → an alert with the
//! waste in $/h (and, where the policy says so, that Job suspended); a ClusterQueue past a
//! share of a flavor's GPU quota → an alert; outside the training window, empty training
//! nodes drained so the autoscaler reclaims them. Serving pools are never touched.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};

use super::{Decision, Inputs, fresh_frame};
use crate::domain::cost::{IDLE_BELOW, dollars};
use crate::domain::pools::{is_spot, pool_of};
use crate::kinds::KindName;
use crate::metrics::MetricsFrame;
use crate::ops::{Op, Target};

/// Since when each pod (namespace, name) has held its GPUs idle, from the frames seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdleSince {
    since: BTreeMap<(String, String), DateTime<Utc>>,
}

impl IdleSince {
    /// A pod is idle when every GPU it holds is under the idle line; one busy GPU, or a
    /// frame without it, starts it again.
    pub fn observe(&mut self, frame: &MetricsFrame) {
        let mut idle: BTreeMap<(String, String), bool> = BTreeMap::new();
        for gpu in &frame.gpus {
            if let Some(pod) = &gpu.pod {
                let entry = idle
                    .entry((pod.namespace.clone(), pod.name.clone()))
                    .or_insert(true);
                *entry &= gpu.util < IDLE_BELOW;
            }
        }
        self.since.retain(|pod, _| idle.get(pod) == Some(&true));
        for (pod, is_idle) in idle {
            if is_idle {
                self.since.entry(pod).or_insert(frame.at);
            }
        }
    }

    pub fn get(&self, namespace: &str, pod: &str) -> Option<DateTime<Utc>> {
        self.since
            .get(&(namespace.to_string(), pod.to_string()))
            .copied()
    }
}

pub(super) fn decide(inputs: &Inputs) -> Vec<Decision> {
    let mut decisions = idle_gpus(inputs);
    decisions.extend(quotas(inputs));
    decisions.extend(reclaim(inputs));
    decisions.extend(hold(inputs));
    decisions
}

/// During the hold hours the listed ClusterQueues admit nothing new (stopPolicy Hold;
/// what runs keeps running); outside them the agent releases those it holds (Hold), not
/// one drained (HoldAndDrain) by someone.
fn hold(inputs: &Inputs) -> Vec<Decision> {
    let Some(window) = inputs.policy.hold_hours else {
        return Vec::new();
    };
    let holding = in_window(inputs.now.hour(), window);
    let mut decisions = Vec::new();
    for name in &inputs.policy.hold_queues {
        let Some(queue) = inputs.snapshot.cluster_queues.get("", name) else {
            continue;
        };
        let target = Target {
            kind: KindName::ClusterQueues,
            namespace: None,
            name: name.clone(),
        };
        let hours = format!("{:02}:00–{:02}:00 UTC", window.0, window.1);
        let (op, reason) = match (holding, queue.stop_policy.as_deref()) {
            (true, None | Some("None")) => (
                Op::StopQueue {
                    queue: target,
                    keep_running: true,
                },
                format!("held during {hours}: admits nothing new, what runs keeps running"),
            ),
            (false, Some("Hold")) => (
                Op::ResumeQueue { queue: target },
                format!("released outside {hours}"),
            ),
            _ => continue,
        };
        decisions
            .push(Decision::new("gpu-cost", format!("clusterqueue/{name}"), reason).with_op(op));
    }
    decisions
}

fn idle_gpus(inputs: &Inputs) -> Vec<Decision> {
    let Ok(frame) = fresh_frame(inputs) else {
        return Vec::new();
    };
    let policy = inputs.policy;
    // (namespace, pod) → (GPUs, $/h).
    let mut held: BTreeMap<(&str, &str), (i64, f64)> = BTreeMap::new();
    for gpu in &frame.gpus {
        let Some(pod) = &gpu.pod else { continue };
        let spot = inputs
            .snapshot
            .nodes
            .get("", &gpu.node)
            .is_some_and(|n| is_spot(n));
        let entry = held.entry((&pod.namespace, &pod.name)).or_default();
        entry.0 += 1;
        entry.1 += inputs.prices.gpu_hourly(Some(&gpu.model_name), spot);
    }
    let mut decisions = Vec::new();
    for ((namespace, name), (gpus, per_hour)) in held {
        let Some(since) = inputs.idle_since.get(namespace, name) else {
            continue;
        };
        let idle_for = (inputs.now - since).to_std().unwrap_or_default();
        if idle_for < policy.idle_for {
            continue;
        }
        let minutes = idle_for.as_secs() / 60;
        let job = inputs.snapshot.pods.get(namespace, name).and_then(|p| {
            p.meta
                .controller()
                .filter(|o| o.kind == "Job")
                .map(|o| o.name.clone())
        });
        let mut decision = Decision::new(
            "gpu-cost",
            format!("{namespace}/{name}"),
            format!(
                "{gpus} GPU(s) held idle (under {IDLE_BELOW} %) for {minutes} min: {}/h wasted",
                dollars(per_hour)
            ),
        )
        .figure("gpus", gpus as f64)
        .figure("wasted_per_hour", per_hour)
        .figure("idle_minutes", minutes as f64)
        .about(Target::namespaced(KindName::Pods, namespace, name))
        .alerting();
        if let (true, Some(job)) = (policy.suspend_idle, job) {
            decision.reason.push_str(&format!("; Job {job} suspended"));
            decision = decision.with_op(Op::SuspendJob {
                namespace: namespace.to_string(),
                name: job,
            });
        }
        decisions.push(decision);
    }
    decisions
}

fn quotas(inputs: &Inputs) -> Vec<Decision> {
    let share = inputs.policy.quota_share;
    let mut decisions = Vec::new();
    for queue in inputs.snapshot.cluster_queues.values() {
        for flavor in queue.flavors.iter().filter(|f| f.gpu_quota > 0) {
            let used = flavor.gpu_used as f64 / flavor.gpu_quota as f64;
            if used >= share {
                decisions.push(
                    Decision::new(
                        "quota",
                        format!("clusterqueue/{}", queue.meta.name),
                        format!(
                            "{}: {} of {} GPUs in use ({:.0} %, alert at {:.0} %)",
                            flavor.flavor,
                            flavor.gpu_used,
                            flavor.gpu_quota,
                            used * 100.0,
                            share * 100.0
                        ),
                    )
                    .figure("gpu_used", flavor.gpu_used as f64)
                    .figure("gpu_quota", flavor.gpu_quota as f64)
                    .about(Target {
                        kind: KindName::ClusterQueues,
                        namespace: None,
                        name: queue.meta.name.clone(),
                    })
                    .alerting(),
                );
            }
        }
    }
    decisions
}

/// Whether `hour` (UTC) falls in the window `[start, end)`, which may wrap midnight.
fn in_window(hour: u32, (start, end): (u32, u32)) -> bool {
    if start <= end {
        (start..end).contains(&hour)
    } else {
        hour >= start || hour < end
    }
}

/// Outside the training window: training nodes that run nothing but their DaemonSets are
/// drained (cordoned first), so the autoscaler takes them away.
fn reclaim(inputs: &Inputs) -> Vec<Decision> {
    let Some(window) = inputs.policy.training_hours else {
        return Vec::new();
    };
    if in_window(inputs.now.hour(), window) {
        return Vec::new();
    }
    let snapshot = inputs.snapshot;
    let mut running: BTreeMap<&str, usize> = BTreeMap::new();
    for pod in snapshot.pods.values() {
        let daemon = pod.meta.controller().is_some_and(|o| o.kind == "DaemonSet");
        let done = matches!(pod.phase.as_str(), "Succeeded" | "Failed");
        if !pod.node.is_empty() && !daemon && !done {
            *running.entry(pod.node.as_str()).or_default() += 1;
        }
    }
    snapshot
        .nodes
        .values()
        .filter(|n| pool_of(n).starts_with(&inputs.policy.training_pool_prefix))
        .filter(|n| !n.unschedulable && !running.contains_key(n.meta.name.as_str()))
        .map(|n| {
            Decision::new(
                "gpu-cost",
                format!("node/{}", n.meta.name),
                format!(
                    "outside the training window ({:02}:00–{:02}:00 UTC), pool {} node empty: drained for the autoscaler",
                    window.0,
                    window.1,
                    pool_of(n)
                ),
            )
            .with_op(Op::Drain {
                node: n.meta.name.clone(),
                force: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::in_window;

    #[test]
    fn windows_may_wrap_midnight() {
        assert!(in_window(9, (8, 20)));
        assert!(!in_window(20, (8, 20)));
        assert!(in_window(23, (22, 6)));
        assert!(in_window(3, (22, 6)));
        assert!(!in_window(12, (22, 6)));
    }
}
