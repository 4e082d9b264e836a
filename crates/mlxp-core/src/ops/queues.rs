//! Queues and Jobs, with kueuectl's meanings: stop / resume a Workload (`spec.active`) or
//! a LocalQueue / ClusterQueue (`spec.stopPolicy`); suspend / resume a Job; delete any
//! object, or replace it with an edit of it.

use serde_json::{Value, json};

use super::{Change, Op, Plan, Refused, Request, Target};
use crate::domain::objects::Workload;
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

/// What a stop or resume does to the queue: whether it is stopped now, and its admitted
/// Workloads that are not finished.
fn queue_state(snapshot: &Snapshot, queue: &Target) -> Result<(bool, Vec<String>), Refused> {
    let ns = queue.namespace.as_deref().unwrap_or("");
    let missing = || Refused::NotFound(format!("no {queue}"));
    let running = |keep: &dyn Fn(&Workload) -> bool| {
        snapshot
            .workloads
            .values()
            .filter(|w| w.admitted() && !w.finished() && keep(w))
            .map(|w| format!("{}/{}", w.meta.namespace, w.meta.name))
            .collect::<Vec<_>>()
    };
    match queue.kind {
        KindName::Workloads => {
            let w = snapshot
                .workloads
                .get(ns, &queue.name)
                .ok_or_else(missing)?;
            Ok((!w.active, running(&|x| x.meta.uid == w.meta.uid)))
        }
        KindName::LocalQueues => {
            let q = snapshot
                .local_queues
                .get(ns, &queue.name)
                .ok_or_else(missing)?;
            Ok((
                q.stop_policy.is_some(),
                running(&|w| w.meta.namespace == ns && w.queue == queue.name),
            ))
        }
        KindName::ClusterQueues => {
            let q = snapshot
                .cluster_queues
                .get("", &queue.name)
                .ok_or_else(missing)?;
            Ok((
                q.stop_policy.is_some(),
                running(&|w| w.cluster_queue.as_deref() == Some(&queue.name)),
            ))
        }
        _ => Err(Refused::Precondition(format!(
            "{queue} is not a Workload, LocalQueue or ClusterQueue: only those stop and resume"
        ))),
    }
}

pub(super) fn stop(
    op: &Op,
    snapshot: &Snapshot,
    queue: &Target,
    keep_running: bool,
) -> Result<Plan, Refused> {
    let (stopped, running) = queue_state(snapshot, queue)?;
    let (change, effect) = if queue.kind == KindName::Workloads {
        (
            json!({"spec": {"active": false}}),
            format!("{queue} stopped: its Job is suspended and it waits in no queue"),
        )
    } else {
        let policy = if keep_running { "Hold" } else { "HoldAndDrain" };
        let evicted = if keep_running || running.is_empty() {
            "what runs keeps running".to_string()
        } else {
            format!("{} admitted workloads evicted", running.len())
        };
        (
            json!({"spec": {"stopPolicy": policy}}),
            format!("{queue} stopped ({policy}): admits nothing new; {evicted}"),
        )
    };
    Ok(Plan {
        op: op.clone(),
        target: queue.clone(),
        effect: if stopped && queue.kind == KindName::Workloads {
            format!("{queue} is already stopped")
        } else {
            effect
        },
        requests: if stopped && queue.kind == KindName::Workloads {
            Vec::new()
        } else {
            vec![Request::merge(queue, change)]
        },
        reason: "QueueStopped",
    })
}

pub(super) fn resume(op: &Op, snapshot: &Snapshot, queue: &Target) -> Result<Plan, Refused> {
    let (stopped, _) = queue_state(snapshot, queue)?;
    let change = if queue.kind == KindName::Workloads {
        json!({"spec": {"active": true}})
    } else {
        json!({"spec": {"stopPolicy": "None"}})
    };
    Ok(Plan {
        op: op.clone(),
        target: queue.clone(),
        effect: match (stopped, queue.kind) {
            (true, KindName::Workloads) => format!("{queue} resumed: it is queued again"),
            (true, _) => format!("{queue} resumed: it admits again"),
            (false, _) => format!("{queue} is not stopped"),
        },

        requests: if stopped {
            vec![Request::merge(queue, change)]
        } else {
            Vec::new()
        },
        reason: "QueueResumed",
    })
}

pub(super) fn suspend_job(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    name: &str,
    suspend: bool,
) -> Result<Plan, Refused> {
    let job = snapshot
        .jobs
        .get(namespace, name)
        .ok_or_else(|| Refused::NotFound(format!("no job {name} in {namespace}")))?;
    if job.complete() || job.failed_for_good() {
        return Err(Refused::Precondition(format!(
            "job {namespace}/{name} has finished: there is nothing to {}",
            if suspend { "suspend" } else { "resume" }
        )));
    }
    let job_target = Target::namespaced(KindName::Jobs, namespace, name);
    let (word, reason) = if suspend {
        ("suspended", "JobSuspended")
    } else {
        ("resumed", "JobResumed")
    };
    // Kueue starts a suspended Job it has admitted again: its Workload is what stops.
    let workload = snapshot.workloads.values().find(|w| {
        w.meta.namespace == namespace
            && w.meta
                .controller()
                .is_some_and(|o| o.kind == "Job" && o.name == name)
    });
    let (requests, how) = match workload {
        Some(w) => {
            let target = Target::namespaced(KindName::Workloads, namespace, &w.meta.name);
            let done = w.active != suspend;
            (
                if done {
                    Vec::new()
                } else {
                    vec![Request::merge(
                        &target,
                        json!({"spec": {"active": !suspend}}),
                    )]
                },
                format!(" through its Workload {}", w.meta.name),
            )
        }
        None => (
            if job.suspend == suspend {
                Vec::new()
            } else {
                vec![Request::merge(
                    &job_target,
                    json!({"spec": {"suspend": suspend}}),
                )]
            },
            String::new(),
        ),
    };
    Ok(Plan {
        op: op.clone(),
        effect: if requests.is_empty() {
            format!("job {namespace}/{name} is already {word}")
        } else if suspend {
            format!("job {namespace}/{name} {word}{how}: its pods stop")
        } else {
            format!("job {namespace}/{name} {word}{how}: its pods start again")
        },
        target: job_target,
        requests,
        reason,
    })
}

pub(super) fn delete(op: &Op, snapshot: &Snapshot, target: &Target) -> Result<Plan, Refused> {
    let ns = target.namespace.as_deref().unwrap_or("");
    let meta = snapshot
        .meta_of(target.kind, ns, &target.name)
        .ok_or_else(|| Refused::NotFound(format!("no {target}")))?;
    Ok(Plan {
        op: op.clone(),
        target: target.clone(),
        effect: format!("{target} deleted, and what it owns"),
        requests: vec![Request::delete(target, &meta.uid)],
        reason: "ObjectDeleted",
    })
}

/// The queue a user names, as kueuectl takes it: `clusterqueue/NAME` (cq), `localqueue/NAME`
/// (lq) or `workload/NAME` (wl); a bare name is a ClusterQueue, else a LocalQueue, else a
/// Workload. A namespaced one is looked for in `namespace`, or in the only namespace that
/// has it.
pub fn find_queue(
    snapshot: &Snapshot,
    named: &str,
    namespace: Option<&str>,
) -> Result<Target, Refused> {
    let (kinds, name): (&[KindName], &str) = match named.split_once('/') {
        Some(("clusterqueue" | "clusterqueues" | "cq", name)) => (&[KindName::ClusterQueues], name),
        Some(("localqueue" | "localqueues" | "lq", name)) => (&[KindName::LocalQueues], name),
        Some(("workload" | "workloads" | "wl", name)) => (&[KindName::Workloads], name),
        Some((kind, _)) => {
            return Err(Refused::NotFound(format!(
                "{kind:?} is not a queue kind: say clusterqueue/NAME, localqueue/NAME or workload/NAME"
            )));
        }
        None => (
            &[
                KindName::ClusterQueues,
                KindName::LocalQueues,
                KindName::Workloads,
            ],
            named,
        ),
    };
    for kind in kinds {
        if *kind == KindName::ClusterQueues {
            if snapshot.cluster_queues.get("", name).is_some() {
                return Ok(Target {
                    kind: *kind,
                    namespace: None,
                    name: name.to_string(),
                });
            }
            continue;
        }
        let mut namespaces: Vec<&str> = match kind {
            KindName::LocalQueues => snapshot
                .local_queues
                .values()
                .filter(|q| q.meta.name == name)
                .map(|q| q.meta.namespace.as_str())
                .collect(),
            _ => snapshot
                .workloads
                .values()
                .filter(|w| w.meta.name == name)
                .map(|w| w.meta.namespace.as_str())
                .collect(),
        };
        if let Some(ns) = namespace {
            namespaces.retain(|n| *n == ns);
        }
        match namespaces.as_slice() {
            [] => continue,
            [ns] => return Ok(Target::namespaced(*kind, ns, name)),
            many => {
                return Err(Refused::NotFound(format!(
                    "{name} is in several namespaces ({}): say which with -n",
                    many.join(", ")
                )));
            }
        }
    }
    Err(Refused::NotFound(format!(
        "no ClusterQueue, LocalQueue or Workload named {name}{}",
        namespace.map(|n| format!(" in {n}")).unwrap_or_default()
    )))
}

/// An edit sent whole: it must still name the object it was read from, and carry the
/// resourceVersion it was read at.
pub(super) fn replace(op: &Op, target: &Target, object: &Value) -> Result<Plan, Refused> {
    let meta = &object["metadata"];
    if meta["name"].as_str() != Some(target.name.as_str())
        || meta["namespace"].as_str() != target.namespace.as_deref()
    {
        return Err(Refused::Precondition(format!(
            "the edit names another object than {target}: a name or namespace cannot be edited"
        )));
    }
    if object["kind"].as_str() != Some(target.kind.kind()) {
        return Err(Refused::Precondition(format!(
            "the edit is not a {} any more: the kind cannot be edited",
            target.kind.kind()
        )));
    }
    if !meta["resourceVersion"].is_string() {
        return Err(Refused::Precondition(
            "the edit has no metadata.resourceVersion: keep the one it was read at, so a change made since is not overwritten".into(),
        ));
    }
    Ok(Plan {
        op: op.clone(),
        target: target.clone(),
        effect: format!("{target} replaced with your edit"),
        requests: vec![Request {
            target: target.clone(),
            subresource: None,
            change: Change::Update(object.clone()),
        }],
        reason: "ObjectEdited",
    })
}
