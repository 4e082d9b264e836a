//! Operations as values: what a user, a script or the agent asks of the cluster (`Op`),
//! planned by a pure function of the snapshot into the exact requests to send (`Plan`), or
//! refused before anything is sent (`Refused`). The executor (`mlxp::exec`) is the only code
//! that writes: it adds the access check, the dry-run, the Event and the audit line.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::kinds::KindName;
use crate::snapshot::Snapshot;

mod lifecycle;
mod nodes;
pub mod pipeline;
mod queues;
mod serving;
mod training;
pub mod validation;
mod weights;
pub(crate) use weights::weight_of;

pub use lifecycle::SCALED_UP_FOR_ROLLBACK;
pub use queues::find_queue;
pub use training::{Capacity, Overrides, check_overrides};
pub use weights::model_namespace;

#[cfg(test)]
mod queue_tests;
#[cfg(test)]
mod tests;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// The weights of a model's versions on its HTTPRoute; versions not named keep theirs.
    SetWeights {
        namespace: String,
        model: String,
        weights: Vec<(String, i32)>,
        /// Allows weight to a version with no ready replica (its traffic would be lost).
        force: bool,
    },
    /// The canary to the next of its Model's canary steps, the production version taking
    /// the rest.
    StepCanary {
        namespace: String,
        model: String,
        force: bool,
    },
    /// A version to all traffic and stage Production; the previous Production archived,
    /// the other versions' Deployments scaled to zero.
    Promote {
        namespace: String,
        model: String,
        version: String,
        force: bool,
        /// Step by step: the canary to its next canary step, promoted at the last one.
        step: bool,
    },
    /// The canary's traffic back to the Production version; the canary Rejected with the
    /// reason and scaled to zero.
    Rollback {
        namespace: String,
        model: String,
        reason: String,
    },
    /// The gate a rollout waits on: who approved the version and when, as annotations.
    Approve {
        namespace: String,
        model: String,
        version: String,
    },
    /// A version Rejected, with the reason, who and when; not one that takes traffic.
    Reject {
        namespace: String,
        model: String,
        version: String,
        reason: String,
    },
    /// A training Job from the Model's training spec with the overrides, the next run of it.
    Train {
        namespace: String,
        model: String,
        overrides: Overrides,
        /// The run's Job as the user last changed it (the launch form's editor step), sent
        /// instead of the one made from the overrides; it keeps the run's name.
        #[serde(skip_serializing_if = "Option::is_none")]
        job: Option<Value>,
    },
    /// A training Job from the Model's own training spec, the next run of it; refused while
    /// one of its training Jobs is active, unless forced.
    Retrain {
        namespace: String,
        model: String,
        force: bool,
    },
    /// A version's pods replaced one by one, as `kubectl rollout restart` does.
    RestartVersion {
        namespace: String,
        model: String,
        version: String,
    },
    /// A version's replicas bounded: its autoscaler's min and max (or, with none, a count).
    ScaleVersion {
        namespace: String,
        model: String,
        version: String,
        min: i32,
        max: i32,
    },
    Cordon {
        node: String,
    },
    Uncordon {
        node: String,
    },
    /// Cordon, then evict every pod the node runs but its DaemonSets' (as `kubectl drain
    /// --ignore-daemonsets`); PodDisruptionBudgets are honoured by the server. A pod no
    /// controller would bring back is refused unless forced.
    Drain {
        node: String,
        force: bool,
    },
    /// kueuectl stop: a Workload deactivated (spec.active false), or a LocalQueue or
    /// ClusterQueue given stopPolicy HoldAndDrain (Hold when what runs keeps running).
    StopQueue {
        queue: Target,
        keep_running: bool,
    },
    /// kueuectl resume: the Workload active again, the queue's stopPolicy None.
    ResumeQueue {
        queue: Target,
    },
    /// A Job's pods stopped (spec.suspend; a Job Kueue admits is stopped through its
    /// Workload, as Kueue would start a suspended Job it admitted again).
    SuspendJob {
        namespace: String,
        name: String,
    },
    ResumeJob {
        namespace: String,
        name: String,
    },
    /// Any object deleted, its dependents in the background.
    Delete {
        target: Target,
    },
    /// A ModelVersion (stage Registered) for the run a training Job made, with its metrics.
    Register {
        namespace: String,
        model: String,
        job_namespace: String,
        job: String,
    },
    /// A Registered version's validation Job, from its Model's validation template.
    RunValidation {
        namespace: String,
        model: String,
        version: String,
    },
    /// A Registered version judged by its Model's thresholds: Validated, or Rejected with
    /// what fell short.
    Validate {
        namespace: String,
        model: String,
        version: String,
    },
    /// A Validated version's Deployment, Service and autoscaler, from its Model's serving
    /// template.
    Deploy {
        namespace: String,
        model: String,
        version: String,
    },
    /// A deployed, Validated version on the route at the first canary step: stage Canary.
    StartCanary {
        namespace: String,
        model: String,
        version: String,
    },
    /// The canary's failed analyses in a row, kept on it; `why` says what was measured.
    RecordAnalysis {
        namespace: String,
        model: String,
        version: String,
        failures: u32,
        why: String,
    },
    /// An object replaced by an edit of it (as `kubectl edit`): sent with the
    /// resourceVersion it was read at, so a change made since fails it instead of being
    /// overwritten.
    Replace {
        target: Target,
        object: Value,
    },
}

impl Op {
    /// Planned again on a fresher state, it still asks for what was asked: it says where
    /// things end up (weights, a stage, a bound), not a move from where they were (a
    /// canary's next step), nor a create, an eviction or an edit of what was read.
    pub fn holds_on_fresh_state(&self) -> bool {
        matches!(
            self,
            Op::SetWeights { .. }
                | Op::Promote { step: false, .. }
                | Op::Rollback { .. }
                | Op::Approve { .. }
                | Op::Reject { .. }
                | Op::ScaleVersion { .. }
                | Op::Cordon { .. }
                | Op::Uncordon { .. }
                | Op::StopQueue { .. }
                | Op::ResumeQueue { .. }
                | Op::SuspendJob { .. }
                | Op::ResumeJob { .. }
                | Op::Validate { .. }
                | Op::RecordAnalysis { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::SetWeights { .. } => "set-weights",
            Op::StepCanary { .. } => "step-canary",
            Op::Promote { .. } => "promote",
            Op::Rollback { .. } => "rollback",
            Op::Approve { .. } => "approve",
            Op::Reject { .. } => "reject",
            Op::Train { .. } => "train",
            Op::Retrain { .. } => "retrain",
            Op::RestartVersion { .. } => "restart",
            Op::ScaleVersion { .. } => "scale",
            Op::Cordon { .. } => "cordon",
            Op::Uncordon { .. } => "uncordon",
            Op::Drain { .. } => "drain",
            Op::StopQueue { .. } => "stop",
            Op::ResumeQueue { .. } => "resume",
            Op::SuspendJob { .. } => "suspend",
            Op::ResumeJob { .. } => "resume-job",
            Op::Delete { .. } => "delete",
            Op::Replace { .. } => "edit",
            Op::Register { .. } => "register",
            Op::RunValidation { .. } => "run-validation",
            Op::Validate { .. } => "validate",
            Op::Deploy { .. } => "deploy",
            Op::StartCanary { .. } => "start-canary",
            Op::RecordAnalysis { .. } => "record-analysis",
        }
    }
}

/// One object of the cluster, as the API names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub kind: KindName,
    /// None for cluster-scoped kinds.
    pub namespace: Option<String>,
    pub name: String,
}

impl Target {
    pub fn namespaced(kind: KindName, namespace: &str, name: &str) -> Target {
        Target {
            kind,
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
        }
    }

    pub fn path(&self) -> String {
        self.kind.object_path(self.namespace.as_deref(), &self.name)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.kind().to_lowercase();
        match &self.namespace {
            Some(ns) => write!(f, "{kind} {ns}/{}", self.name),
            None => write!(f, "{kind} {}", self.name),
        }
    }
}

/// A change of one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub target: Target,
    /// `status` for a change of what the object reports, through its status subresource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subresource: Option<&'static str>,
    pub change: Change,
}

impl Request {
    pub fn merge(target: &Target, body: Value) -> Request {
        Request {
            target: target.clone(),
            subresource: None,
            change: Change::MergePatch(body),
        }
    }

    pub fn merge_status(target: &Target, body: Value) -> Request {
        Request {
            subresource: Some("status"),
            ..Request::merge(target, body)
        }
    }

    pub fn json_patch(target: &Target, operations: Vec<Value>) -> Request {
        Request {
            target: target.clone(),
            subresource: None,
            change: Change::JsonPatch(Value::Array(operations)),
        }
    }

    /// Created unless an object of its name exists, which is then kept as it is (a
    /// version's Service when only its Deployment is made again).
    pub fn ensure(target: &Target, object: Value) -> Request {
        Request {
            target: target.clone(),
            subresource: None,
            change: Change::Ensure(object),
        }
    }

    pub fn create(target: &Target, object: Value) -> Request {
        Request {
            target: target.clone(),
            subresource: None,
            change: Change::Create(object),
        }
    }

    /// DELETE, dependents removed in the background, and only the object planned on (a
    /// new one of the same name is not touched).
    pub fn delete(target: &Target, uid: &str) -> Request {
        let mut options = json!({"propagationPolicy": "Background"});
        if !uid.is_empty() {
            options["preconditions"] = json!({"uid": uid});
        }
        Request {
            target: target.clone(),
            subresource: None,
            change: Change::Delete(options),
        }
    }

    /// A pod's eviction (policy/v1), which the server refuses (429) while it would break
    /// a PodDisruptionBudget.
    pub fn evict(pod: &Target) -> Request {
        let mut metadata = json!({"name": pod.name});
        if let Some(ns) = &pod.namespace {
            metadata["namespace"] = json!(ns);
        }
        Request {
            target: pod.clone(),
            subresource: Some("eviction"),
            change: Change::Evict(json!({
                "apiVersion": "policy/v1",
                "kind": "Eviction",
                "metadata": metadata,
            })),
        }
    }

    /// Where it is sent: the collection for a create, else the object (or its subresource).
    pub fn path(&self) -> String {
        let target = &self.target;
        match (&self.change, self.subresource) {
            (Change::Create(_) | Change::Ensure(_), _) => {
                let object = target.path();
                let cut = object.len() - target.name.len() - 1;
                object[..cut].to_string()
            }
            (_, Some(sub)) => format!("{}/{sub}", target.path()),
            (_, None) => target.path(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "body", rename_all = "kebab-case")]
pub enum Change {
    /// RFC 6902; its `test` operations guard what the change assumes of the object, so a
    /// concurrent change fails it instead of being overwritten.
    JsonPatch(Value),
    /// RFC 7386.
    MergePatch(Value),
    /// A new object, POSTed to its collection; a second create of the same name meets
    /// AlreadyExists instead of making a second one.
    Create(Value),
    /// A create where an object of the name already there is kept, not an error.
    Ensure(Value),
    /// DeleteOptions.
    Delete(Value),
    /// The whole object, PUT with its resourceVersion.
    Update(Value),
    /// An Eviction, POSTed to the pod's eviction subresource.
    Evict(Value),
}

impl Change {
    /// The verb an access review asks about.
    pub fn verb(&self) -> &'static str {
        match self {
            Change::Create(_) | Change::Ensure(_) | Change::Evict(_) => "create",
            Change::JsonPatch(_) | Change::MergePatch(_) => "patch",
            Change::Delete(_) => "delete",
            Change::Update(_) => "update",
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            Change::JsonPatch(_) => "application/json-patch+json",
            Change::MergePatch(_) => "application/merge-patch+json",
            Change::Create(_)
            | Change::Ensure(_)
            | Change::Delete(_)
            | Change::Evict(_)
            | Change::Update(_) => "application/json",
        }
    }

    pub fn body(&self) -> &Value {
        match self {
            Change::JsonPatch(body)
            | Change::MergePatch(body)
            | Change::Create(body)
            | Change::Ensure(body)
            | Change::Delete(body)
            | Change::Evict(body)
            | Change::Update(body) => body,
        }
    }
}

/// What an op will do, request by request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub op: Op,
    /// Where the Event goes.
    pub target: Target,
    /// The effect in words: `fraud-detector: v1 80→50 %, v2 20→50 %`.
    pub effect: String,
    /// In order; empty when the cluster already is as asked.
    pub requests: Vec<Request>,
    /// The Event's reason once the requests succeed.
    pub reason: &'static str,
}

/// Why an op is not attempted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// What it names is not in the cluster.
    #[error("{0}")]
    NotFound(String),
    /// The cluster is not in a state the op may change safely, or the op asks for what
    /// cannot hold (weights that do not sum to 100).
    #[error("{0}")]
    Precondition(String),
}

/// Who asks, and when: what an approval or a rejection records.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub user: String,
    pub now: DateTime<Utc>,
}

impl Actor {
    /// When, as the API's timestamps are written (RFC 3339, seconds, Z).
    pub fn stamp(&self) -> String {
        stamp(self.now)
    }
}

fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The requests `op` needs on this snapshot, or why it must not be attempted.
pub fn plan(op: &Op, snapshot: &Snapshot, actor: &Actor) -> Result<Plan, Refused> {
    match op {
        Op::SetWeights {
            namespace,
            model,
            weights,
            force,
        } => weights::set(op, snapshot, namespace, model, weights, *force),
        Op::StepCanary {
            namespace,
            model,
            force,
        } => weights::step(op, snapshot, namespace, model, *force, actor),
        Op::Promote {
            namespace,
            model,
            version,
            force,
            step: true,
        } => lifecycle::promote_step(op, snapshot, namespace, model, version, *force, actor),
        Op::Promote {
            namespace,
            model,
            version,
            force,
            step: false,
        } => lifecycle::promote(op, snapshot, namespace, model, version, *force),
        Op::Rollback {
            namespace,
            model,
            reason,
        } => lifecycle::rollback(op, snapshot, namespace, model, reason),
        Op::Approve {
            namespace,
            model,
            version,
        } => lifecycle::approve(op, snapshot, namespace, model, version, actor),
        Op::Reject {
            namespace,
            model,
            version,
            reason,
        } => lifecycle::reject(op, snapshot, namespace, model, version, reason, actor),
        Op::Train {
            namespace,
            model,
            overrides,
            job,
        } => training::train(
            op,
            snapshot,
            training::Asked {
                namespace,
                model,
                overrides,
                retrain: None,
                job: job.as_ref(),
            },
            actor,
        ),
        Op::Retrain {
            namespace,
            model,
            force,
        } => training::train(
            op,
            snapshot,
            training::Asked {
                namespace,
                model,
                overrides: &Overrides::default(),
                retrain: Some(*force),
                job: None,
            },
            actor,
        ),
        Op::RestartVersion {
            namespace,
            model,
            version,
        } => serving::restart(op, snapshot, namespace, model, version, actor),
        Op::ScaleVersion {
            namespace,
            model,
            version,
            min,
            max,
        } => serving::scale(op, snapshot, namespace, model, version, (*min, *max)),
        Op::Register {
            namespace,
            model,
            job_namespace,
            job,
        } => pipeline::register(op, snapshot, namespace, model, (job_namespace, job)),
        Op::Validate {
            namespace,
            model,
            version,
        } => validation::validate(op, snapshot, namespace, model, version, actor),
        Op::RunValidation {
            namespace,
            model,
            version,
        } => validation::run_validation(op, snapshot, namespace, model, version),
        Op::Deploy {
            namespace,
            model,
            version,
        } => pipeline::deploy(op, snapshot, namespace, model, version),
        Op::StartCanary {
            namespace,
            model,
            version,
        } => pipeline::start_canary(op, snapshot, namespace, model, version, actor),
        Op::RecordAnalysis {
            namespace,
            model,
            version,
            failures,
            why,
        } => pipeline::record_analysis(op, snapshot, namespace, model, version, *failures, why),
        Op::Cordon { node } => nodes::cordon(op, snapshot, node, true),
        Op::Uncordon { node } => nodes::cordon(op, snapshot, node, false),
        Op::Drain { node, force } => nodes::drain(op, snapshot, node, *force),
        Op::StopQueue {
            queue,
            keep_running,
        } => queues::stop(op, snapshot, queue, *keep_running),
        Op::ResumeQueue { queue } => queues::resume(op, snapshot, queue),
        Op::SuspendJob { namespace, name } => {
            queues::suspend_job(op, snapshot, namespace, name, true)
        }
        Op::ResumeJob { namespace, name } => {
            queues::suspend_job(op, snapshot, namespace, name, false)
        }
        Op::Delete { target } => queues::delete(op, snapshot, target),
        Op::Replace { target, object } => queues::replace(op, target, object),
    }
}

/// The core/v1 Event that records a done op on its target, as a controller records one.
/// Cluster-scoped targets' Events go to `default`, as the kubelet's Node Events do.
pub fn event(target: &Target, uid: &str, reason: &str, message: &str, now: DateTime<Utc>) -> Value {
    let namespace = target.namespace.as_deref().unwrap_or("default");
    let time = stamp(now);
    let mut involved = json!({
        "apiVersion": target.kind.api_version(),
        "kind": target.kind.kind(),
        "name": target.name,
        "uid": uid,
    });
    if let Some(ns) = &target.namespace {
        involved["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": format!("{}.", target.name), "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": "Normal",
        "source": {"component": "mlxp"},
        "reportingComponent": "mlxp",
        "reportingInstance": "mlxp",
        "firstTimestamp": time,
        "lastTimestamp": time,
        "count": 1,
    })
}
