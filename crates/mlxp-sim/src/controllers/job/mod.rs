//! The decision core of the batch/v1 Job controller (Kubernetes 1.33 semantics), as a pure
//! function of state: the Job, the pods it controls and the simulated time go in, the actions
//! to take come out (reconcile, as in kube-rs controller-rs). No I/O; the caller applies them.
//!
//! The real controller keeps counters exact with a tracking finalizer on every pod and an
//! in-memory backoff record. Here the only memory is the Job's own status, so counters are
//! `max(status, what the pods show)` (a pod that disappears never lowers a count) and the
//! backoff is rebuilt from the finished pods still present.

use std::cmp::Reverse;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum JobAction {
    /// Create a pod from the Job's template (the caller fills name = <job>-<5 random chars>, namespace, ownerReference
    /// (controller: true, blockOwnerDeletion: true), labels batch.kubernetes.io/job-name, job-name, controller-uid,
    /// batch.kubernetes.io/controller-uid from the Job's uid, and for Indexed jobs the completion index annotation).
    /// `pod` is the full pod object minus those.
    CreatePod { pod: Value },
    /// Delete a pod (active pods when the Job is suspended, failed past its deadline or backoff, or complete with extra active pods).
    DeletePod { name: String },
    /// Replace the Job's status with this one (only when it differs from the current one).
    SetStatus { status: Value },
    /// Delete the Job itself (ttlSecondsAfterFinished passed after it finished; the caller deletes with background propagation).
    DeleteJob,
}

/// The annotation (and label) naming an Indexed Job pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// The env var an Indexed Job's containers read their index from.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// The value of `spec.managedBy` that means this controller (absent means the same).
const JOB_CONTROLLER: &str = "kubernetes.io/job-controller";

/// API default of `spec.backoffLimit`.
const DEFAULT_BACKOFF_LIMIT: i64 = 6;
/// First delay before re-creating pods after a failure; doubles per failure since the last success.
const POD_FAILURE_BACKOFF_SECS: i64 = 10;
/// Cap of that delay: `MaxJobPodFailureBackOff` in job_controller.go is 10 minutes (the
/// "six minutes" in the user docs is older than the code).
const MAX_POD_FAILURE_BACKOFF_SECS: i64 = 600;
/// `MaxPodCreateDeletePerSync`: one reconcile never creates or deletes more pods than this.
const MAX_POD_CREATE_DELETE_PER_SYNC: i64 = 500;
/// Counts in the Job API are int32.
const MAX_COUNT: i64 = i32::MAX as i64;

const MSG_COMPLETIONS: &str = "Reached expected number of succeeded pods";
const MSG_BACKOFF: &str = "Job has reached the specified backoff limit";
const MSG_DEADLINE: &str = "Job was active longer than specified deadline";

/// One reconcile of a Job at `now`. `pods` are the pods whose ownerReferences name this Job as controller.
///
/// Apply the actions in order before the next call: the pod list handed in next time must
/// show the pods created or deleted here, or the creations are repeated (the real
/// controller's "expectations" are the caller's job here).
pub fn reconcile(job: &Value, pods: &[Value], now: DateTime<Utc>) -> Vec<JobAction> {
    plan(job, pods, now).actions
}

/// When the next reconcile is due with nothing else happening (activeDeadlineSeconds, TTL expiry), if ever.
///
/// The time may already have passed (due now). A Job not yet started is due `now`. The pod
/// failure backoff cannot be seen from the Job alone (it depends on the pods' finish times):
/// [`next_due_with_pods`] includes it.
pub fn next_due(job: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let spec = Spec::parse(job)?;
    let status = &job["status"];
    if let Some(finished) = terminal_condition(status) {
        return ttl_expiry(&spec, finished);
    }
    // Waiting for its pods to go before Complete / Failed: pod events drive it, not the clock.
    if true_condition(status, "SuccessCriteriaMet").is_some()
        || true_condition(status, "FailureTarget").is_some()
    {
        return None;
    }
    // Suspended, no clock runs; due once if the suspension is not recorded yet.
    if spec.suspend {
        return true_condition(status, "Suspended").is_none().then_some(now);
    }
    // Not started (new, or just resumed): due now; otherwise at the deadline, if any.
    match status["startTime"].as_str().and_then(parse_time) {
        None => Some(now),
        Some(start) => spec
            .active_deadline
            .and_then(|secs| start.checked_add_signed(TimeDelta::try_seconds(secs)?)),
    }
}

/// [`next_due`], also counting the end of a pod failure backoff that holds back pod creation.
pub fn next_due_with_pods(
    job: &Value,
    pods: &[Value],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let due = next_due(job, now);
    match (due, plan(job, pods, now).backoff_until) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What one reconcile decided, and what it is waiting for.
#[derive(Debug, Default)]
struct Plan {
    actions: Vec<JobAction>,
    /// Pod creation is held back by the failure backoff until then.
    backoff_until: Option<DateTime<Utc>>,
}

/// The parts of a Job this controller reads, defaulted as the API server would.
struct Spec<'a> {
    name: &'a str,
    uid: Option<&'a str>,
    parallelism: i64,
    /// `None`: work-queue mode, done once any pod succeeds and the rest have ended.
    completions: Option<i64>,
    /// Indexed completion mode (only with completions, which the API requires for it).
    indexed: bool,
    backoff_limit: i64,
    active_deadline: Option<i64>,
    suspend: bool,
    ttl: Option<i64>,
    /// podReplacementPolicy Failed (the default when a podFailurePolicy is set): terminating
    /// pods still hold their slot.
    only_replace_failed: bool,
    restart_on_failure: bool,
    /// The Job has a deletionTimestamp: it is counted but no longer managed.
    deleting: bool,
    template: &'a Value,
}

impl<'a> Spec<'a> {
    /// `None` when this controller must leave the Job alone: not an object, managed by
    /// another controller, or an unknown completion mode (the real one skips those too).
    fn parse(job: &'a Value) -> Option<Self> {
        job.as_object()?;
        let spec = &job["spec"];
        match &spec["managedBy"] {
            Value::Null => {}
            Value::String(s) if s == JOB_CONTROLLER => {}
            _ => return None,
        }
        let indexed = match &spec["completionMode"] {
            Value::Null => false,
            Value::String(s) if s == "NonIndexed" => false,
            Value::String(s) if s == "Indexed" => true,
            _ => return None,
        };
        let parallelism = count(&spec["parallelism"]);
        // Defaulting: completions is 1 only when neither it nor parallelism was given.
        let completions = match (count(&spec["completions"]), parallelism) {
            (Some(c), _) => Some(c),
            (None, None) => Some(1),
            (None, Some(_)) => None,
        };
        let template = &spec["template"];
        Some(Spec {
            name: job["metadata"]["name"].as_str().unwrap_or(""),
            uid: job["metadata"]["uid"].as_str().filter(|u| !u.is_empty()),
            parallelism: parallelism.unwrap_or(1),
            completions,
            indexed: indexed && completions.is_some(),
            backoff_limit: count(&spec["backoffLimit"]).unwrap_or(DEFAULT_BACKOFF_LIMIT),
            active_deadline: spec["activeDeadlineSeconds"].as_i64().filter(|s| *s >= 0),
            suspend: spec["suspend"].as_bool() == Some(true),
            ttl: count(&spec["ttlSecondsAfterFinished"]),
            only_replace_failed: spec["podReplacementPolicy"].as_str() == Some("Failed")
                || spec["podFailurePolicy"].is_object(),
            restart_on_failure: template["spec"]["restartPolicy"].as_str() == Some("OnFailure"),
            deleting: job["metadata"]["deletionTimestamp"].is_string(),
            template,
        })
    }

    /// The completion count when the Job is Indexed.
    fn index_limit(&self) -> Option<i64> {
        self.completions.filter(|_| self.indexed)
    }
}

/// A non-negative int32 count; absent or not an integer reads as unset.
fn count(v: &Value) -> Option<i64> {
    let n = v.as_i64().or_else(|| v.as_u64().map(|_| MAX_COUNT))?;
    Some(n.clamp(0, MAX_COUNT))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// Orders pods by how early they should be deleted (see [`PodView::removal_key`]).
type RemovalKey<'s> = (
    bool,
    u8,
    bool,
    (bool, Reverse<DateTime<Utc>>),
    Reverse<i64>,
    (bool, Reverse<DateTime<Utc>>),
    &'s str,
);

/// What the controller needs from one pod.
struct PodView<'a> {
    name: &'a str,
    phase: Phase,
    deleting: bool,
    ready: bool,
    /// When it became Ready (only while ready): longer-ready pods are deleted last.
    ready_since: Option<DateTime<Utc>>,
    scheduled: bool,
    max_restarts: i64,
    restarts_total: i64,
    created: Option<DateTime<Utc>>,
    index: Option<i64>,
    /// When a terminal pod finished (meaningless for the others).
    finished: DateTime<Utc>,
}

impl<'a> PodView<'a> {
    /// `None` for anything that is not a pod object, or whose controller is another object.
    fn parse(pod: &'a Value, job_uid: Option<&str>) -> Option<Self> {
        pod.as_object()?;
        let meta = &pod["metadata"];
        if super::controlled_by_another(pod, job_uid) {
            return None;
        }
        let status = &pod["status"];
        let phase = match status["phase"].as_str() {
            None | Some("Pending") => Phase::Pending,
            Some("Running") => Phase::Running,
            Some("Succeeded") => Phase::Succeeded,
            Some("Failed") => Phase::Failed,
            Some(_) => Phase::Unknown,
        };
        let ready_cond = pod_condition(status, "Ready");
        let ready = ready_cond.is_some_and(|c| c["status"] == "True");
        let restarts = |key: &str| {
            statuses(status, key).map(|c| c["restartCount"].as_i64().unwrap_or(0).max(0))
        };
        Some(PodView {
            name: meta["name"].as_str().unwrap_or(""),
            phase,
            deleting: meta["deletionTimestamp"].is_string(),
            ready,
            ready_since: ready_cond
                .filter(|_| ready)
                .and_then(|c| c["lastTransitionTime"].as_str())
                .and_then(parse_time),
            scheduled: pod["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| !n.is_empty()),
            max_restarts: restarts("containerStatuses").max().unwrap_or(0),
            restarts_total: restarts("initContainerStatuses")
                .chain(restarts("containerStatuses"))
                .fold(0i64, i64::saturating_add),
            created: meta["creationTimestamp"].as_str().and_then(parse_time),
            index: meta["annotations"][COMPLETION_INDEX]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|i| *i >= 0),
            finished: finish_time(pod),
        })
    }

    fn terminal(&self) -> bool {
        matches!(self.phase, Phase::Succeeded | Phase::Failed)
    }

    /// Counted in `active`: not finished and not being deleted.
    fn active(&self) -> bool {
        !self.terminal() && !self.deleting
    }

    /// Counted in `terminating`: being deleted before it finished.
    fn terminating(&self) -> bool {
        !self.terminal() && self.deleting
    }

    /// Sort key for choosing which active pods to delete first (controller.ActivePods):
    /// unscheduled, then Pending < Unknown < Running, not ready, ready most recently,
    /// most restarted, newest; the name last, so the choice is stable.
    fn removal_key(&self) -> RemovalKey<'_> {
        let phase = match self.phase {
            Phase::Pending => 0,
            Phase::Unknown => 1,
            _ => 2,
        };
        let newest_first = |t: Option<DateTime<Utc>>| match t {
            None => (false, Reverse(DateTime::<Utc>::MIN_UTC)),
            Some(t) => (true, Reverse(t)),
        };
        (
            self.scheduled,
            phase,
            self.ready,
            newest_first(self.ready_since),
            Reverse(self.max_restarts),
            newest_first(self.created),
            self.name,
        )
    }
}

fn pod_condition<'v>(status: &'v Value, kind: &str) -> Option<&'v Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn statuses<'v>(status: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> + use<'v> {
    status[key].as_array().into_iter().flatten()
}

/// When a pod finished, as getFinishedTime does it: the last container's finishedAt when all
/// containers terminated, else the Ready=False transition, else the deletion time less its
/// grace period, else the creation time. A pod with none of these counts as finished long
/// ago (Go's zero time), so it never holds creation back.
fn finish_time(pod: &Value) -> DateTime<Utc> {
    let status = &pod["status"];
    let from_containers = status["containerStatuses"].as_array().and_then(|cs| {
        cs.iter()
            .try_fold(None, |latest: Option<DateTime<Utc>>, c| {
                let t = c["state"]["terminated"]["finishedAt"]
                    .as_str()
                    .and_then(parse_time)?;
                Some(Some(latest.map_or(t, |l| l.max(t))))
            })
            .flatten()
    });
    let from_ready = || {
        pod_condition(status, "Ready")
            .filter(|c| c["status"] == "False")
            .and_then(|c| c["lastTransitionTime"].as_str())
            .and_then(parse_time)
    };
    let from_deletion = || {
        let at = pod["metadata"]["deletionTimestamp"]
            .as_str()
            .and_then(parse_time)?;
        let grace = pod["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(0);
        at.checked_sub_signed(TimeDelta::try_seconds(grace)?)
    };
    from_containers
        .or_else(from_ready)
        .or_else(from_deletion)
        .or_else(|| {
            pod["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(parse_time)
        })
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Kubernetes' timestamp format: RFC 3339, whole seconds, UTC.
fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The first condition of `kind` whose status is True.
fn true_condition<'v>(status: &'v Value, kind: &str) -> Option<&'v Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
}

/// The Complete or Failed condition that makes a Job finished (IsJobFinished).
fn terminal_condition(status: &Value) -> Option<&Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
}

/// The Event kube's job-controller records when a Job finishes (recordJobFinished).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Warning for a failure, Normal for a success.
    pub failed: bool,
    pub reason: String,
    pub message: String,
}

/// What to say when `new` is the status that first finishes a Job whose status was `old`:
/// `Completed` / "Job completed" for a success, the Failed condition's reason and message
/// (`BackoffLimitExceeded`, `DeadlineExceeded`, …) for a failure. None for any other change.
pub fn finished(old: &Value, new: &Value) -> Option<Finished> {
    if terminal_condition(old).is_some() {
        return None;
    }
    let cond = terminal_condition(new)?;
    Some(if cond["type"] == "Complete" {
        Finished {
            failed: false,
            reason: "Completed".into(),
            message: "Job completed".into(),
        }
    } else {
        Finished {
            failed: true,
            reason: cond["reason"].as_str().unwrap_or("").into(),
            message: cond["message"].as_str().unwrap_or("").into(),
        }
    })
}

/// When the TTL-after-finished controller deletes a finished Job: the terminal condition's
/// transition time plus the TTL. A Job already being deleted, or with no such time, is left.
fn ttl_expiry(spec: &Spec, finished: &Value) -> Option<DateTime<Utc>> {
    if spec.deleting {
        return None;
    }
    let ttl = TimeDelta::try_seconds(spec.ttl?)?;
    finished["lastTransitionTime"]
        .as_str()
        .and_then(parse_time)?
        .checked_add_signed(ttl)
}

/// How a Job ends, once decided: first the interim condition (SuccessCriteriaMet /
/// FailureTarget), then the terminal one once no pod is still terminating.
struct Finish {
    success: bool,
    reason: String,
    message: String,
}

impl Finish {
    fn failure(reason: &str, message: &str) -> Self {
        Finish {
            success: false,
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// Resumes a decision recorded by an earlier reconcile.
    fn from_condition(success: bool, cond: &Value) -> Self {
        Finish {
            success,
            reason: cond["reason"].as_str().unwrap_or("").into(),
            message: cond["message"].as_str().unwrap_or("").into(),
        }
    }

    fn interim(&self) -> &'static str {
        if self.success {
            "SuccessCriteriaMet"
        } else {
            "FailureTarget"
        }
    }

    fn terminal(&self) -> &'static str {
        if self.success { "Complete" } else { "Failed" }
    }
}

/// ensureJobConditionStatus: replaces a condition of that type whose status, reason or message
/// differs (with fresh times), appends a missing one unless it would be False. Returns
/// whether anything changed.
fn ensure_condition(
    conditions: &mut Vec<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: DateTime<Utc>,
) -> bool {
    let at = timestamp(now);
    let fresh = json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastProbeTime": at, "lastTransitionTime": at,
    });
    match conditions.iter_mut().find(|c| c["type"] == kind) {
        Some(c) if c["status"] == status && c["reason"] == reason && c["message"] == message => {
            false
        }
        Some(c) => {
            *c = fresh;
            true
        }
        None if status == "False" => false,
        None => {
            conditions.push(fresh);
            true
        }
    }
}

/// Sorted, disjoint, non-adjacent inclusive ranges of completion indexes, as in
/// `status.completedIndexes` ("1,3-5,7"); ranges keep a huge index space cheap.
#[derive(Debug, Default, Clone, PartialEq)]
struct Intervals(Vec<(i64, i64)>);

impl Intervals {
    /// parseIndexesFromString: indexes at or past `limit` are dropped, and a corrupt entry
    /// ends the parse.
    fn parse(s: &str, limit: i64) -> Self {
        let mut out = Intervals::default();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let mut ends = part.splitn(2, '-');
            let Some(first) = ends.next().and_then(|f| f.trim().parse::<i64>().ok()) else {
                break;
            };
            let last = match ends.next() {
                None => first,
                Some(l) => match l.trim().parse::<i64>() {
                    Ok(l) => l,
                    Err(_) => break,
                },
            };
            if first < 0 || last < first || first >= limit {
                break;
            }
            out.add(first, last.min(limit - 1));
        }
        out
    }

    fn add(&mut self, first: i64, last: i64) {
        self.0.push((first, last));
        self.normalize();
    }

    /// Adds single indexes in bulk (one sort, not one per index).
    fn add_all(&mut self, indexes: impl Iterator<Item = i64>) {
        self.0.extend(indexes.map(|i| (i, i)));
        self.normalize();
    }

    fn normalize(&mut self) {
        self.0.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.0.len());
        for &(a, b) in &self.0 {
            match merged.last_mut() {
                Some(prev) if a <= prev.1.saturating_add(1) => prev.1 = prev.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.0 = merged;
    }

    fn total(&self) -> i64 {
        self.0.iter().map(|(a, b)| b - a + 1).sum()
    }

    fn render(&self) -> String {
        self.0
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// firstPendingIndexes: the lowest `count` indexes below `limit` not in `self`.
    fn first_missing(&self, count: usize, limit: i64) -> Vec<i64> {
        let mut out = Vec::with_capacity(count.min(64));
        let mut candidate = 0i64;
        for &(a, b) in &self.0 {
            while candidate < limit && out.len() < count && candidate < a {
                out.push(candidate);
                candidate += 1;
            }
            if candidate <= b {
                candidate = b.saturating_add(1);
            }
        }
        while candidate < limit && out.len() < count {
            out.push(candidate);
            candidate += 1;
        }
        out
    }
}

/// The counters one reconcile works on and finally writes into the status.
struct Counts {
    active: i64,
    ready: i64,
    terminating: i64,
    succeeded: i64,
    failed: i64,
}

fn plan(job: &Value, pods: &[Value], now: DateTime<Utc>) -> Plan {
    let mut plan = Plan::default();
    let Some(spec) = Spec::parse(job) else {
        return plan;
    };
    let old_status = &job["status"];

    // A finished Job is the TTL-after-finished controller's alone.
    if let Some(finished) = terminal_condition(old_status) {
        if ttl_expiry(&spec, finished).is_some_and(|at| now >= at) {
            plan.actions.push(JobAction::DeleteJob);
        }
        return plan;
    }

    let views: Vec<PodView> = pods
        .iter()
        .filter_map(|p| PodView::parse(p, spec.uid))
        .collect();
    // Indexed Jobs ignore pods without a usable index in their counts.
    let counted = |p: &&PodView| {
        spec.index_limit()
            .is_none_or(|limit| p.index.is_some_and(|i| i < limit))
    };
    let finished_pods: Vec<&PodView> = views
        .iter()
        .filter(counted)
        .filter(|p| p.terminal())
        .collect();

    let mut completed = Intervals::default();
    let succeeded = match spec.index_limit() {
        Some(limit) => {
            completed =
                Intervals::parse(old_status["completedIndexes"].as_str().unwrap_or(""), limit);
            completed.add_all(
                finished_pods
                    .iter()
                    .filter(|p| p.phase == Phase::Succeeded)
                    .filter_map(|p| p.index),
            );
            completed.total()
        }
        None => {
            let seen = finished_pods
                .iter()
                .filter(|p| p.phase == Phase::Succeeded)
                .count() as i64;
            count(&old_status["succeeded"]).unwrap_or(0).max(seen)
        }
    };
    let seen_failed = finished_pods
        .iter()
        .filter(|p| p.phase == Phase::Failed)
        .count() as i64;
    let active_pods: Vec<&PodView> = views.iter().filter(|p| p.active()).collect();
    let mut counts = Counts {
        active: active_pods.len() as i64,
        ready: active_pods.iter().filter(|p| p.ready).count() as i64,
        terminating: views.iter().filter(|p| p.terminating()).count() as i64,
        succeeded,
        failed: count(&old_status["failed"]).unwrap_or(0).max(seen_failed),
    };

    let mut conditions: Vec<Value> = old_status["conditions"]
        .as_array()
        .map(|cs| cs.iter().filter(|c| c.is_object()).cloned().collect())
        .unwrap_or_default();
    // First start: the deadline runs from the first reconcile that finds the Job not suspended.
    let mut start_time = old_status["startTime"].as_str().and_then(parse_time);
    if start_time.is_none() && !spec.suspend {
        start_time = Some(now);
    }
    let mut completion_time = old_status["completionTime"].as_str().and_then(parse_time);

    // An end decided earlier stands (success first, as in syncJob); otherwise failures are
    // checked before success.
    let mut finish = if let Some(c) = true_condition(old_status, "SuccessCriteriaMet") {
        Some(Finish::from_condition(true, c))
    } else if let Some(c) = true_condition(old_status, "FailureTarget") {
        Some(Finish::from_condition(false, c))
    } else if counts.failed > spec.backoff_limit || past_backoff_limit_on_failure(&spec, &views) {
        Some(Finish::failure("BackoffLimitExceeded", MSG_BACKOFF))
    } else if past_deadline(&spec, start_time, now) {
        Some(Finish::failure("DeadlineExceeded", MSG_DEADLINE))
    } else {
        None
    };

    if let Some(end) = &finish {
        // The Job is ending: no pod of it runs on. Pods killed by a failure count as failed.
        for p in &active_pods {
            if delete(&mut plan, p, &mut counts) && !end.success {
                counts.failed = (counts.failed + 1).min(MAX_COUNT);
            }
        }
    } else {
        let managed = !spec.deleting;
        if managed {
            manage(
                &spec,
                &active_pods,
                &views,
                &completed,
                &mut counts,
                now,
                &mut plan,
            );
        }
        let complete = match spec.completions {
            None => counts.succeeded > 0 && counts.active == 0,
            Some(c) => counts.succeeded >= c && counts.active == 0,
        };
        if complete {
            finish = Some(Finish {
                success: true,
                reason: "CompletionsReached".into(),
                message: MSG_COMPLETIONS.into(),
            });
        } else if managed && spec.suspend {
            ensure_condition(
                &mut conditions,
                "Suspended",
                "True",
                "JobSuspended",
                "Job suspended",
                now,
            );
            // Cleared so the deadline clock restarts from the resume. (Kubernetes 1.33 still
            // keeps it while suspended; releases with MutableSchedulingDirectivesForSuspendedJobs
            // clear it, and a stale startTime could fail a resumed Job's deadline at once.)
            start_time = None;
        } else if managed
            && ensure_condition(
                &mut conditions,
                "Suspended",
                "False",
                "JobResumed",
                "Job resumed",
                now,
            )
        {
            // activeDeadlineSeconds counts continuous activity: resuming restarts it.
            start_time = Some(now);
        }
    }

    if let Some(end) = &finish {
        ensure_condition(
            &mut conditions,
            end.interim(),
            "True",
            &end.reason,
            &end.message,
            now,
        );
        // The terminal condition waits until every pod of the Job has gone.
        if counts.terminating == 0 {
            ensure_condition(
                &mut conditions,
                end.terminal(),
                "True",
                &end.reason,
                &end.message,
                now,
            );
            if end.success {
                completion_time = Some(now);
            }
        }
    }

    let status = build_status(
        old_status,
        &counts,
        &conditions,
        start_time,
        completion_time,
        spec.index_limit().map(|_| completed.render()),
    );
    if status != *old_status {
        plan.actions.push(JobAction::SetStatus { status });
    }
    plan
}

/// manageJob: deletes every active pod of a suspended Job, otherwise deletes the surplus or
/// creates the shortfall (never both in one pass), holding creation back during the failure
/// backoff.
fn manage(
    spec: &Spec,
    active_pods: &[&PodView],
    views: &[PodView],
    completed: &Intervals,
    counts: &mut Counts,
    now: DateTime<Utc>,
    plan: &mut Plan,
) {
    if spec.suspend {
        for p in removal_order(active_pods) {
            delete(plan, p, counts);
        }
        return;
    }
    let want = match spec.completions {
        // Work queue: once one pod succeeded, let the others finish but start no more.
        None if counts.succeeded > 0 => counts.active,
        None => spec.parallelism,
        Some(c) => (c - counts.succeeded).min(spec.parallelism).max(0),
    };
    let surplus = (counts.active - want).max(0) as usize;
    let mut doomed = pods_for_removal(spec, active_pods, surplus);
    doomed.truncate(MAX_POD_CREATE_DELETE_PER_SYNC as usize);
    if !doomed.is_empty() {
        for p in doomed {
            delete(plan, p, counts);
        }
        return;
    }
    let held = if spec.only_replace_failed {
        counts.terminating
    } else {
        0
    };
    let missing = (want - held - counts.active).min(MAX_POD_CREATE_DELETE_PER_SYNC);
    if missing <= 0 {
        return;
    }
    if let Some(until) = backoff_until(spec, views)
        && now < until
    {
        plan.backoff_until = Some(until);
        return;
    }
    let Some(template) = pod_template(spec) else {
        return;
    };
    match spec.index_limit() {
        Some(limit) => {
            let mut taken = completed.clone();
            let holders = active_pods.iter().copied().chain(
                views
                    .iter()
                    .filter(|p| spec.only_replace_failed && p.terminating()),
            );
            taken.add_all(holders.filter_map(|p| p.index));
            for index in taken.first_missing(missing as usize, limit) {
                let pod = indexed_pod(&template, spec.name, index);
                plan.actions.push(JobAction::CreatePod { pod });
                counts.active += 1;
            }
        }
        None => {
            for _ in 0..missing {
                plan.actions.push(JobAction::CreatePod {
                    pod: template.clone(),
                });
                counts.active += 1;
            }
        }
    }
}

/// Emits the deletion of an active pod and moves it from active to terminating. A pod with
/// no name cannot be deleted and stays counted where it was.
fn delete(plan: &mut Plan, pod: &PodView, counts: &mut Counts) -> bool {
    if pod.name.is_empty() {
        return false;
    }
    plan.actions.push(JobAction::DeletePod {
        name: pod.name.to_string(),
    });
    counts.active -= 1;
    counts.terminating += 1;
    if pod.ready {
        counts.ready -= 1;
    }
    true
}

fn removal_order<'p, 'a>(pods: &[&'p PodView<'a>]) -> Vec<&'p PodView<'a>> {
    let mut sorted = pods.to_vec();
    sorted.sort_by(|a, b| a.removal_key().cmp(&b.removal_key()));
    sorted
}

/// activePodsForRemoval: for Indexed Jobs, first every pod without a valid index and all but
/// the most advanced pod of a repeated index; then, by removal order, enough to drop `at_least`.
fn pods_for_removal<'p, 'a>(
    spec: &Spec,
    pods: &[&'p PodView<'a>],
    at_least: usize,
) -> Vec<&'p PodView<'a>> {
    let mut doomed = Vec::new();
    let mut left = Vec::new();
    match spec.index_limit() {
        Some(limit) => {
            let mut by_index: Vec<&PodView> = Vec::new();
            for p in pods {
                match p.index {
                    Some(i) if i < limit => by_index.push(p),
                    _ => doomed.push(*p),
                }
            }
            by_index.sort_by(|a, b| (a.index, a.removal_key()).cmp(&(b.index, b.removal_key())));
            for (pos, p) in by_index.iter().enumerate() {
                let repeated = by_index
                    .get(pos + 1)
                    .is_some_and(|next| next.index == p.index);
                if repeated {
                    doomed.push(*p);
                } else {
                    left.push(*p);
                }
            }
        }
        None => left = pods.to_vec(),
    }
    if doomed.len() < at_least {
        let extra = at_least - doomed.len();
        doomed.extend(removal_order(&left).into_iter().take(extra));
    }
    doomed
}

/// When the failure backoff ends: failures after the last success (by finish time) count,
/// the delay is 10s doubled per further failure up to the cap, from the last failure.
fn backoff_until(spec: &Spec, views: &[PodView]) -> Option<DateTime<Utc>> {
    let counted = |p: &&PodView| {
        spec.index_limit()
            .is_none_or(|limit| p.index.is_some_and(|i| i < limit))
    };
    let last_success = views
        .iter()
        .filter(counted)
        .filter(|p| p.phase == Phase::Succeeded)
        .map(|p| p.finished)
        .max();
    let failures: Vec<DateTime<Utc>> = views
        .iter()
        .filter(counted)
        .filter(|p| p.phase == Phase::Failed)
        .map(|p| p.finished)
        .filter(|t| last_success.is_none_or(|s| *t > s))
        .collect();
    let last_failure = failures.iter().copied().max()?;
    let mut delay = POD_FAILURE_BACKOFF_SECS;
    for _ in 1..failures.len() {
        delay *= 2;
        if delay >= MAX_POD_FAILURE_BACKOFF_SECS {
            delay = MAX_POD_FAILURE_BACKOFF_SECS;
            break;
        }
    }
    last_failure.checked_add_signed(TimeDelta::seconds(delay))
}

/// pastBackoffLimitOnFailure: with restartPolicy OnFailure failures are container restarts in
/// the pods still Pending or Running, so those count against the backoff limit.
fn past_backoff_limit_on_failure(spec: &Spec, views: &[PodView]) -> bool {
    if !spec.restart_on_failure {
        return false;
    }
    let restarts = views
        .iter()
        .filter(|p| matches!(p.phase, Phase::Pending | Phase::Running))
        .fold(0i64, |a, p| a.saturating_add(p.restarts_total));
    if spec.backoff_limit == 0 {
        restarts > 0
    } else {
        restarts >= spec.backoff_limit
    }
}

/// pastActiveDeadline: never while suspended.
fn past_deadline(spec: &Spec, start: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let (Some(secs), Some(start), false) = (spec.active_deadline, start, spec.suspend) else {
        return false;
    };
    TimeDelta::try_seconds(secs)
        .and_then(|d| start.checked_add_signed(d))
        .is_some_and(|deadline| now >= deadline)
}

/// The pod every creation starts from: the template's labels, annotations and finalizers
/// (GetPodFromTemplate copies only those) and its spec. `None` without a template spec, as
/// no valid pod can come of it.
fn pod_template(spec: &Spec) -> Option<Value> {
    let pod_spec = spec.template["spec"].as_object()?;
    let mut meta = Map::new();
    for key in ["labels", "annotations", "finalizers"] {
        let v = &spec.template["metadata"][key];
        if v.is_object() || v.is_array() {
            meta.insert(key.into(), v.clone());
        }
    }
    if !spec.name.is_empty() {
        meta.insert("generateName".into(), json!(format!("{}-", spec.name)));
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": pod_spec,
    }))
}

/// An Indexed Job's pod for `index`: the index as annotation and label, the hostname
/// `<job>-<index>`, and JOB_COMPLETION_INDEX read from the annotation in every container.
fn indexed_pod(template: &Value, job_name: &str, index: i64) -> Value {
    let mut pod = template.clone();
    let ix = index.to_string();
    for key in ["annotations", "labels"] {
        let field = &mut pod["metadata"][key];
        if !field.is_object() {
            *field = json!({});
        }
        field[COMPLETION_INDEX] = json!(ix);
    }
    if !job_name.is_empty() {
        pod["metadata"]["generateName"] = json!(format!("{job_name}-{ix}-"));
        pod["spec"]["hostname"] = json!(format!("{job_name}-{ix}"));
    }
    let env = json!({
        "name": COMPLETION_INDEX_ENV,
        "valueFrom": {"fieldRef": {"fieldPath": format!("metadata.annotations['{COMPLETION_INDEX}']")}},
    });
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod["spec"][list].as_array_mut() else {
            continue;
        };
        for c in containers.iter_mut().filter(|c| c.is_object()) {
            if c["env"].is_null() {
                c["env"] = json!([]);
            }
            if let Some(vars) = c["env"].as_array_mut()
                && !vars.iter().any(|v| v["name"] == COMPLETION_INDEX_ENV)
            {
                vars.push(env.clone());
            }
        }
    }
    pod
}

/// The new status: the old one's other fields kept, the controller's own rewritten. Zero
/// counts are left out (omitempty) except `ready` and `terminating`, which the API reports.
fn build_status(
    old: &Value,
    counts: &Counts,
    conditions: &[Value],
    start_time: Option<DateTime<Utc>>,
    completion_time: Option<DateTime<Utc>>,
    completed_indexes: Option<String>,
) -> Value {
    let mut status = old.as_object().cloned().unwrap_or_default();
    let mut set = |key: &str, value: Option<Value>| match value {
        Some(v) => {
            status.insert(key.into(), v);
        }
        None => {
            status.remove(key);
        }
    };
    let nonzero = |n: i64| (n > 0).then(|| json!(n));
    set("active", nonzero(counts.active));
    set("ready", Some(json!(counts.ready.max(0))));
    set("succeeded", nonzero(counts.succeeded));
    set("failed", nonzero(counts.failed));
    set("terminating", Some(json!(counts.terminating.max(0))));
    set("uncountedTerminatedPods", Some(json!({})));
    // An unchanged time keeps its original spelling, so re-reconciling changes nothing.
    let keep_or = |key: &str, t: Option<DateTime<Utc>>| {
        t.map(|t| match old[key].as_str() {
            Some(s) if parse_time(s) == Some(t) => json!(s),
            _ => json!(timestamp(t)),
        })
    };
    let start = keep_or("startTime", start_time);
    let completion = keep_or("completionTime", completion_time);
    set("startTime", start);
    set("completionTime", completion);
    set(
        "conditions",
        (!conditions.is_empty()).then(|| Value::Array(conditions.to_vec())),
    );
    if let Some(indexes) = completed_indexes {
        set(
            "completedIndexes",
            (!indexes.is_empty()).then(|| json!(indexes)),
        );
    }
    Value::Object(status)
}

#[cfg(test)]
mod tests;
