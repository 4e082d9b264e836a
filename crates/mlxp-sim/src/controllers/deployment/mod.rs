//! The decision core of the apps/v1 Deployment controller, as a pure function of state: the
//! Deployment, the pods of its ReplicaSets and the simulated time go in, the actions to take
//! come out (reconcile, as in kube-rs controller-rs). No I/O; the caller applies them.
//!
//! Pods are placed here, per template: every pod carries the label `pod-template-hash` =
//! [`template_hash`] of the template it was made from and belongs to the ReplicaSet
//! `<deployment>-<hash>` ([`replica_sets`] keeps those: revisions, counts, history), so a
//! rollout tells old pods (any other hash) from new ones. What the ReplicaSet controller
//! would do for them (replacing lost pods, the per-sync burst limit) is folded in here; a
//! ReplicaSet no Deployment controls gets no pods.
//!
//! Left out: proportional scaling of old ReplicaSets when the replica count changes
//! mid-rollout, collisionCount handling (kept, never raised).

use std::cmp::Reverse;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

pub mod replica_sets;

#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentAction {
    /// Create a pod from the template: metadata.generateName "<deployment>-<hash>-", labels =
    /// template labels + pod-template-hash, the template's annotations, finalizers and spec.
    /// (The caller adds the name suffix, namespace and the controller ownerReference to the Deployment.)
    CreatePod { pod: Value },
    /// Delete a pod (surplus, replaced by a rollout, or terminal).
    DeletePod { name: String },
    /// Replace the Deployment's status with this one (only when it differs from the current one).
    SetStatus { status: Value },
}

/// The label naming the template a pod was made from.
pub const TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// API default of `spec.progressDeadlineSeconds`.
const DEFAULT_PROGRESS_DEADLINE_SECS: i64 = 600;
/// `burstReplicas` of the ReplicaSet controller: one pass creates or deletes at most this many.
const MAX_BURST: i64 = 500;
/// Counts in the Deployment API are int32.
const MAX_COUNT: i64 = i32::MAX as i64;
/// k8s `rand.SafeEncodeString`'s alphabet: no vowels or look-alike digits, so no words.
const HASH_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const HASH_LEN: usize = 10;

const REASON_NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
const REASON_TIMED_OUT: &str = "ProgressDeadlineExceeded";
const REASON_PAUSED: &str = "DeploymentPaused";

/// The hash of `spec.template` that names its pods: FNV-1a (64 bit) of the template's
/// canonical JSON (keys sorted at every level, so it is the same whatever order the object
/// was written in, and across runs; fields holding a zero value left out, as Go's decoder
/// makes them the same as absent — a template sent back by `kubectl rollout undo` carries
/// `stdin: false` and `resources: {}` where the stored one may not), encoded as 10
/// characters of k8s's safe alphabet.
pub fn template_hash(deployment: &Value) -> String {
    let mut canon = String::new();
    canonical_json(&deployment["spec"]["template"], &mut canon);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canon.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let base = HASH_ALPHABET.len() as u64;
    (0..HASH_LEN)
        .map(|_| {
            let c = HASH_ALPHABET
                .get((h % base) as usize)
                .copied()
                .unwrap_or(b'b');
            h /= base;
            char::from(c)
        })
        .collect()
}

/// Null, "", false, 0, [] or an object of nothing but those.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(m) => m.values().all(is_zero),
    }
}

fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> =
                m.iter().filter(|(_, v)| !is_zero(v)).collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// One reconcile of a Deployment at `now`. `pods` are the pods of its ReplicaSets (the
/// caller picks them by their controller ownerReference).
///
/// Apply the actions in order before the next call: the pod list handed in next time must
/// show the pods created or deleted here, or the creations are repeated (the real
/// controller's "expectations" are the caller's job here). The status written already
/// counts the pods this pass creates and leaves out those it deletes.
///
/// - Terminal pods (Succeeded / Failed) are deleted and replaced; pods being deleted
///   (deletionTimestamp) count for nothing, except that Recreate waits for old ones to go.
/// - RollingUpdate: new pods up to `replicas + maxSurge` in all; old pods deleted while at
///   least `replicas - maxUnavailable` stay available (unavailable old ones go first).
/// - Recreate: every old pod is deleted, and new ones are made once the old ones are gone.
/// - Paused: no rollout. A paused Deployment whose pods all carry the current hash is still
///   kept at its replica count, as in Kubernetes (`kubectl scale` works while paused, and the
///   ReplicaSet replaces lost pods); one with old pods, or none yet, only gets its status.
/// - Being deleted: status only.
pub fn reconcile(deployment: &Value, pods: &[Value], now: DateTime<Utc>) -> Vec<DeploymentAction> {
    let Some(spec) = Spec::parse(deployment) else {
        return Vec::new();
    };
    let views: Vec<PodView> = pods.iter().filter_map(PodView::parse).collect();
    let mut actions = Vec::new();
    let mut fleet = Fleet::new(&spec, &views, now);

    let has_current = views
        .iter()
        .any(|p| !p.deleting && p.hash == Some(spec.hash.as_str()));
    let manage = !spec.deleting && (!spec.paused || (fleet.old.is_empty() && has_current));
    if manage {
        for p in views.iter().filter(|p| p.terminal && !p.deleting) {
            if !p.name.is_empty() {
                actions.push(DeploymentAction::DeletePod {
                    name: p.name.to_string(),
                });
            }
        }
        if spec.recreate {
            recreate(&spec, &views, &mut fleet, &mut actions);
        } else {
            rolling(&spec, &mut fleet, &mut actions);
        }
    }

    let status = new_status(deployment, &spec, &fleet, now);
    if status != deployment["status"] {
        actions.push(DeploymentAction::SetStatus { status });
    }
    actions
}

/// When the next reconcile is due with no pod changing: a ready pod becoming available
/// after minReadySeconds, or the progress deadline running out. Call it with the
/// Deployment as updated by the last reconcile. Times are one second past the boundary, as
/// both tests are strict ("more than N seconds") and API times have whole seconds.
pub fn next_due(deployment: &Value, pods: &[Value], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let spec = Spec::parse(deployment)?;
    let mut due: Option<DateTime<Utc>> = None;
    let mut consider = |t: Option<DateTime<Utc>>| {
        if let Some(t) = t {
            due = Some(due.map_or(t, |d| d.min(t)));
        }
    };
    if spec.min_ready_secs > 0 {
        for p in pods.iter().filter_map(PodView::parse) {
            if p.active() && p.ready && !p.available(spec.min_ready_secs, now) {
                consider(p.available_at(spec.min_ready_secs));
            }
        }
    }
    if let Some(deadline) = spec.progress_deadline
        && !spec.paused
        && !spec.deleting
        && let Some(cond) = condition(&deployment["status"], "Progressing")
        && cond["reason"] != REASON_NEW_RS_AVAILABLE
        && cond["reason"] != REASON_TIMED_OUT
    {
        consider(
            cond["lastUpdateTime"]
                .as_str()
                .and_then(parse_time)
                .and_then(|t| t.checked_add_signed(TimeDelta::try_seconds(deadline + 1)?)),
        );
    }
    due
}

/// The parts of a Deployment this controller reads, defaulted as the API server would.
struct Spec<'a> {
    name: &'a str,
    generation: Option<i64>,
    replicas: i64,
    recreate: bool,
    /// Resolved against `replicas` (ResolveFenceposts).
    max_surge: i64,
    max_unavailable: i64,
    min_ready_secs: i64,
    /// `None`: no deadline (set to MaxInt32), and then no Progressing condition at all.
    progress_deadline: Option<i64>,
    paused: bool,
    deleting: bool,
    template: &'a Value,
    hash: String,
    /// `<deployment>-<hash>`: the new ReplicaSet's name, for the messages.
    rs_name: String,
}

impl<'a> Spec<'a> {
    fn parse(deployment: &'a Value) -> Option<Self> {
        deployment.as_object()?;
        let meta = &deployment["metadata"];
        let spec = &deployment["spec"];
        let name = meta["name"].as_str().unwrap_or("");
        let replicas = count(&spec["replicas"]).unwrap_or(1);
        let strategy = &spec["strategy"];
        let recreate = strategy["type"].as_str() == Some("Recreate");
        let (max_surge, max_unavailable) = if recreate {
            (0, 0)
        } else {
            fenceposts(&strategy["rollingUpdate"], replicas)
        };
        let progress_deadline = match count(&spec["progressDeadlineSeconds"]) {
            None => Some(DEFAULT_PROGRESS_DEADLINE_SECS),
            Some(MAX_COUNT) => None,
            Some(secs) => Some(secs),
        };
        let hash = template_hash(deployment);
        Some(Spec {
            name,
            generation: meta["generation"].as_i64(),
            replicas,
            recreate,
            max_surge,
            max_unavailable,
            min_ready_secs: count(&spec["minReadySeconds"]).unwrap_or(0),
            progress_deadline,
            paused: spec["paused"].as_bool() == Some(true),
            deleting: meta["deletionTimestamp"].is_string(),
            template: &spec["template"],
            rs_name: format!("{name}-{hash}"),
            hash,
        })
    }

    /// MaxUnavailable as the Available condition uses it: 0 for Recreate, at most replicas.
    fn unavailable_allowed(&self) -> i64 {
        if self.recreate || self.replicas == 0 {
            0
        } else {
            self.max_unavailable.min(self.replicas)
        }
    }
}

/// The pods a ReplicaSet holds, as its status counts them.
pub(super) struct PodCounts {
    /// Neither finished nor being deleted.
    pub active: i64,
    pub ready: i64,
    pub available: i64,
}

pub(super) fn pod_counts(pods: &[Value], min_ready_secs: i64, now: DateTime<Utc>) -> PodCounts {
    let active: Vec<PodView> = pods
        .iter()
        .filter_map(PodView::parse)
        .filter(PodView::active)
        .collect();
    PodCounts {
        active: active.len() as i64,
        ready: active.iter().filter(|p| p.ready).count() as i64,
        available: active
            .iter()
            .filter(|p| p.available(min_ready_secs, now))
            .count() as i64,
    }
}

/// maxSurge resolved against the replica count (0 for Recreate).
pub(super) fn max_surge(deployment: &Value) -> i64 {
    Spec::parse(deployment).map_or(0, |s| s.max_surge)
}

/// A non-negative int32 count; absent or not an integer reads as unset.
fn count(v: &Value) -> Option<i64> {
    let n = v.as_i64().or_else(|| v.as_u64().map(|_| MAX_COUNT))?;
    Some(n.clamp(0, MAX_COUNT))
}

/// ResolveFenceposts: maxSurge rounds up, maxUnavailable down (defaults 25% each); both zero
/// would let nothing move, so maxUnavailable becomes 1 then.
fn fenceposts(rolling: &Value, replicas: i64) -> (i64, i64) {
    let surge = int_or_percent(&rolling["maxSurge"], replicas, true)
        .unwrap_or_else(|| percent_of(25, replicas, true));
    let unavailable = int_or_percent(&rolling["maxUnavailable"], replicas, false)
        .unwrap_or_else(|| percent_of(25, replicas, false));
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// An IntOrString: a count, or "N%" of `total`. Anything else (which validation rejects)
/// reads as unset, so the default applies.
fn int_or_percent(v: &Value, total: i64, round_up: bool) -> Option<i64> {
    match v {
        Value::Number(_) => count(v),
        Value::String(s) => {
            let pct = s.strip_suffix('%')?.trim().parse::<i64>().ok()?;
            (pct >= 0).then(|| percent_of(pct, total, round_up))
        }
        _ => None,
    }
}

fn percent_of(pct: i64, total: i64, round_up: bool) -> i64 {
    let product = i128::from(pct) * i128::from(total);
    let scaled = if round_up {
        (product + 99) / 100
    } else {
        product / 100
    };
    scaled.clamp(0, i128::from(MAX_COUNT)) as i64
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
    hash: Option<&'a str>,
    terminal: bool,
    deleting: bool,
    /// Pending 0 < Unknown 1 < Running 2, for the removal order.
    phase_rank: u8,
    scheduled: bool,
    ready: bool,
    /// When it became Ready (only while ready).
    ready_since: Option<DateTime<Utc>>,
    restarts: i64,
    created: Option<DateTime<Utc>>,
}

impl<'a> PodView<'a> {
    /// `None` for anything that is not a pod object.
    fn parse(pod: &'a Value) -> Option<Self> {
        pod.as_object()?;
        let meta = &pod["metadata"];
        let status = &pod["status"];
        let (terminal, phase_rank) = match status["phase"].as_str() {
            Some("Succeeded") | Some("Failed") => (true, 2),
            Some("Running") => (false, 2),
            None | Some("Pending") => (false, 0),
            Some(_) => (false, 1),
        };
        let ready_cond = status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
        let ready = ready_cond.is_some_and(|c| c["status"] == "True");
        Some(PodView {
            name: meta["name"].as_str().unwrap_or(""),
            hash: meta["labels"][TEMPLATE_HASH_LABEL].as_str(),
            terminal,
            deleting: meta["deletionTimestamp"].is_string(),
            phase_rank,
            scheduled: pod["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| !n.is_empty()),
            ready,
            ready_since: ready_cond
                .filter(|_| ready)
                .and_then(|c| c["lastTransitionTime"].as_str())
                .and_then(parse_time),
            restarts: status["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| c["restartCount"].as_i64().unwrap_or(0).max(0))
                .max()
                .unwrap_or(0),
            created: meta["creationTimestamp"].as_str().and_then(parse_time),
        })
    }

    /// Counted at all: not finished and not being deleted.
    fn active(&self) -> bool {
        !self.terminal && !self.deleting
    }

    /// IsPodAvailable: ready for more than minReadySeconds (ready is enough with 0).
    fn available(&self, min_ready_secs: i64, now: DateTime<Utc>) -> bool {
        if !self.ready {
            return false;
        }
        if min_ready_secs == 0 {
            return true;
        }
        self.ready_since
            .and_then(|t| t.checked_add_signed(TimeDelta::try_seconds(min_ready_secs)?))
            .is_some_and(|t| t < now)
    }

    /// The first whole second at which a ready pod counts as available.
    fn available_at(&self, min_ready_secs: i64) -> Option<DateTime<Utc>> {
        self.ready_since?
            .checked_add_signed(TimeDelta::try_seconds(min_ready_secs.saturating_add(1))?)
    }

    /// controller.ActivePods order, deleted first to last: unscheduled, Pending < Unknown <
    /// Running, not ready, ready most recently, most restarted, newest; the name last, so
    /// the choice is stable.
    fn removal_key(&self) -> RemovalKey<'_> {
        let newest_first = |t: Option<DateTime<Utc>>| match t {
            None => (false, Reverse(DateTime::<Utc>::MIN_UTC)),
            Some(t) => (true, Reverse(t)),
        };
        (
            self.scheduled,
            self.phase_rank,
            self.ready,
            newest_first(self.ready_since),
            Reverse(self.restarts),
            newest_first(self.created),
            self.name,
        )
    }
}

/// The active pods as they will be once this pass's actions are applied.
struct Fleet<'p, 'a> {
    new: Vec<&'p PodView<'a>>,
    old: Vec<&'p PodView<'a>>,
    /// New pods created this pass (not ready yet).
    created: i64,
    min_ready_secs: i64,
    now: DateTime<Utc>,
}

impl<'p, 'a> Fleet<'p, 'a> {
    fn new(spec: &Spec, views: &'p [PodView<'a>], now: DateTime<Utc>) -> Self {
        let (new, old) = views
            .iter()
            .filter(|p| p.active())
            .partition(|p| p.hash == Some(spec.hash.as_str()));
        Fleet {
            new,
            old,
            created: 0,
            min_ready_secs: spec.min_ready_secs,
            now,
        }
    }

    fn new_count(&self) -> i64 {
        self.new.len() as i64 + self.created
    }

    fn total(&self) -> i64 {
        self.new_count() + self.old.len() as i64
    }

    fn available_of(&self, pods: &[&PodView]) -> i64 {
        pods.iter()
            .filter(|p| p.available(self.min_ready_secs, self.now))
            .count() as i64
    }

    fn available(&self) -> i64 {
        self.available_of(&self.new) + self.available_of(&self.old)
    }

    fn ready(&self) -> i64 {
        self.new.iter().chain(&self.old).filter(|p| p.ready).count() as i64
    }

    /// Creates new pods from the template (none without a template spec).
    fn create(&mut self, spec: &Spec, n: i64, actions: &mut Vec<DeploymentAction>) {
        let n = n.min(MAX_BURST);
        if n <= 0 {
            return;
        }
        let Some(pod) = new_pod(spec) else {
            return;
        };
        for _ in 0..n {
            actions.push(DeploymentAction::CreatePod { pod: pod.clone() });
        }
        self.created += n;
    }
}

/// Deletes up to `n` pods of `group` that pass `pick`, in removal order. Pods without a name
/// cannot be deleted and stay.
fn delete_some<'p, 'a>(
    group: &mut Vec<&'p PodView<'a>>,
    n: i64,
    pick: impl Fn(&PodView) -> bool,
    actions: &mut Vec<DeploymentAction>,
) {
    let n = n.min(MAX_BURST);
    if n <= 0 {
        return;
    }
    let mut candidates: Vec<&'p PodView<'a>> = group
        .iter()
        .copied()
        .filter(|p| pick(p) && !p.name.is_empty())
        .collect();
    candidates.sort_by(|a, b| a.removal_key().cmp(&b.removal_key()));
    candidates.truncate(n as usize);
    for p in &candidates {
        actions.push(DeploymentAction::DeletePod {
            name: p.name.to_string(),
        });
    }
    group.retain(|p| !candidates.iter().any(|c| std::ptr::eq(*c, *p)));
}

/// rolloutRolling: scale the new pods up within the surge, then the old ones down within
/// the availability floor (reconcileNewReplicaSet, then reconcileOldReplicaSets).
fn rolling(spec: &Spec, fleet: &mut Fleet, actions: &mut Vec<DeploymentAction>) {
    if fleet.new_count() > spec.replicas {
        let surplus = fleet.new_count() - spec.replicas;
        delete_some(&mut fleet.new, surplus, |_| true, actions);
    } else {
        let room = spec.replicas.saturating_add(spec.max_surge) - fleet.total();
        let missing = spec.replicas - fleet.new_count();
        fleet.create(spec, room.min(missing), actions);
    }
    if fleet.old.is_empty() {
        return;
    }
    let min_available = spec.replicas - spec.max_unavailable;
    let new_unavailable = fleet.new_count() - fleet.available_of(&fleet.new);
    let max_scaled_down = fleet.total() - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return;
    }
    // Unavailable old pods first: deleting them costs no availability.
    let (min_ready, now) = (fleet.min_ready_secs, fleet.now);
    delete_some(
        &mut fleet.old,
        max_scaled_down,
        |p| !p.available(min_ready, now),
        actions,
    );
    // Then old pods while more than the floor stay available.
    let excess = fleet.available() - min_available;
    delete_some(&mut fleet.old, excess, |_| true, actions);
}

/// rolloutRecreate: every old pod goes first; new ones come once no old pod is left
/// running, terminating ones included (never two versions at once).
fn recreate(
    spec: &Spec,
    views: &[PodView],
    fleet: &mut Fleet,
    actions: &mut Vec<DeploymentAction>,
) {
    if !fleet.old.is_empty() {
        let all = fleet.old.len() as i64;
        delete_some(&mut fleet.old, all, |_| true, actions);
        return;
    }
    let old_terminating = views
        .iter()
        .any(|p| p.deleting && !p.terminal && p.hash != Some(spec.hash.as_str()));
    if old_terminating {
        return;
    }
    if fleet.new_count() > spec.replicas {
        let surplus = fleet.new_count() - spec.replicas;
        delete_some(&mut fleet.new, surplus, |_| true, actions);
    } else {
        let missing = spec.replicas - fleet.new_count();
        fleet.create(spec, missing, actions);
    }
}

/// A new pod from the template: GetPodFromTemplate copies labels, annotations, finalizers
/// and the spec. `None` without a template spec, as no valid pod can come of it.
fn new_pod(spec: &Spec) -> Option<Value> {
    let pod_spec = spec.template["spec"].as_object()?;
    let template_meta = &spec.template["metadata"];
    let mut labels = template_meta["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    labels.insert(TEMPLATE_HASH_LABEL.into(), json!(spec.hash));
    let mut meta = Map::new();
    if !spec.name.is_empty() {
        meta.insert("generateName".into(), json!(format!("{}-", spec.rs_name)));
    }
    meta.insert("labels".into(), Value::Object(labels));
    for key in ["annotations", "finalizers"] {
        let v = &template_meta[key];
        if v.is_object() || v.is_array() {
            meta.insert(key.into(), v.clone());
        }
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": pod_spec,
    }))
}

/// The counts of a status, as DeploymentProgressing compares them.
#[derive(Debug, Clone, Copy)]
struct Counts {
    replicas: i64,
    updated: i64,
    ready: i64,
    available: i64,
}

impl Counts {
    fn of_status(status: &Value) -> Self {
        let n = |key: &str| status[key].as_i64().unwrap_or(0);
        Counts {
            replicas: n("replicas"),
            updated: n("updatedReplicas"),
            ready: n("readyReplicas"),
            available: n("availableReplicas"),
        }
    }
}

/// calculateStatus plus the Available and Progressing conditions (syncRolloutStatus,
/// checkPausedConditions). Counts are omitted when zero (omitempty), as the API shows them.
fn new_status(deployment: &Value, spec: &Spec, fleet: &Fleet, now: DateTime<Utc>) -> Value {
    let old = &deployment["status"];
    let counts = Counts {
        replicas: fleet.total(),
        updated: fleet.new_count(),
        ready: fleet.ready(),
        available: fleet.available(),
    };
    let unavailable = (counts.replicas - counts.available).max(0);

    let mut conditions: Vec<Value> = old["conditions"]
        .as_array()
        .map(|cs| cs.iter().filter(|c| c.is_object()).cloned().collect())
        .unwrap_or_default();
    let at = timestamp(now);
    if counts.available >= spec.replicas - spec.unavailable_allowed() {
        set_condition(
            &mut conditions,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            &at,
        );
    } else {
        set_condition(
            &mut conditions,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            &at,
        );
    }
    match spec.progress_deadline {
        None => conditions.retain(|c| c["type"] != "Progressing"),
        Some(_) if spec.deleting => {}
        Some(deadline) => progressing(spec, deadline, old, counts, &mut conditions, now),
    }

    let mut status = Map::new();
    if let Some(generation) = spec.generation {
        status.insert("observedGeneration".into(), json!(generation));
    }
    for (key, n) in [
        ("replicas", counts.replicas),
        ("updatedReplicas", counts.updated),
        ("readyReplicas", counts.ready),
        ("availableReplicas", counts.available),
        ("unavailableReplicas", unavailable),
    ] {
        if n > 0 {
            status.insert(key.into(), json!(n));
        }
    }
    if !conditions.is_empty() {
        status.insert("conditions".into(), Value::Array(conditions));
    }
    if let Some(collisions) = old.get("collisionCount").filter(|v| v.is_number()) {
        status.insert("collisionCount".into(), collisions.clone());
    }
    Value::Object(status)
}

/// The Progressing condition: Unknown while paused; otherwise a new template starts a
/// rollout (NewReplicaSetCreated), which progresses (ReplicaSetUpdated, refreshed on every
/// gain), completes (NewReplicaSetAvailable) or runs out of its deadline
/// (ProgressDeadlineExceeded).
fn progressing(
    spec: &Spec,
    deadline: i64,
    old: &Value,
    counts: Counts,
    conditions: &mut Vec<Value>,
    now: DateTime<Utc>,
) {
    let at = timestamp(now);
    let rs = &spec.rs_name;
    let reason_now = |conditions: &[Value]| {
        find_progressing(conditions)
            .and_then(|c| c["reason"].as_str())
            .map(str::to_string)
    };
    let reason = reason_now(conditions);
    if spec.paused {
        // A reported lack of progress is not overwritten by the pause.
        if reason.as_deref() != Some(REASON_TIMED_OUT) {
            set_condition(
                conditions,
                "Progressing",
                "Unknown",
                REASON_PAUSED,
                "Deployment is paused",
                &at,
            );
        }
        return;
    }
    // The condition does not name this template's ReplicaSet (a new template, a first sync,
    // or a resume: "Deployment is paused" names none): a rollout starts, as when k8s creates
    // the new ReplicaSet. (k8s would show DeploymentResumed in between; it never lasts.)
    let quoted = format!("\"{rs}\"");
    let names_rs = find_progressing(conditions)
        .is_some_and(|c| c["message"].as_str().is_some_and(|m| m.contains(&quoted)));
    if !names_rs {
        set_condition(
            conditions,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            &format!("Created new replica set {quoted}"),
            &at,
        );
    }

    let reason = reason_now(conditions);
    let rolled_out =
        counts.replicas == counts.updated && reason.as_deref() == Some(REASON_NEW_RS_AVAILABLE);
    if rolled_out {
        return;
    }
    let before = Counts::of_status(old);
    let complete = counts.updated == spec.replicas
        && counts.replicas == spec.replicas
        && counts.available == spec.replicas;
    let progress = counts.updated > before.updated
        || counts.replicas - counts.updated < before.replicas - before.updated
        || counts.ready > before.ready
        || counts.available > before.available;
    if complete {
        set_condition(
            conditions,
            "Progressing",
            "True",
            REASON_NEW_RS_AVAILABLE,
            &format!("ReplicaSet {quoted} has successfully progressed."),
            &at,
        );
    } else if progress {
        // Same reason, fresh lastUpdateTime: the deadline counts from the last gain.
        let kept = find_progressing(conditions)
            .filter(|c| c["status"] == "True")
            .and_then(|c| c["lastTransitionTime"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| at.clone());
        let fresh = json!({
            "type": "Progressing", "status": "True",
            "lastUpdateTime": at, "lastTransitionTime": kept,
            "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet {quoted} is progressing."),
        });
        put_condition(conditions, fresh);
    } else if timed_out(find_progressing(conditions), deadline, now) {
        set_condition(
            conditions,
            "Progressing",
            "False",
            REASON_TIMED_OUT,
            &format!("ReplicaSet {quoted} has timed out progressing."),
            &at,
        );
    }
}

fn find_progressing(conditions: &[Value]) -> Option<&Value> {
    conditions.iter().find(|c| c["type"] == "Progressing")
}

/// DeploymentTimedOut: more than `deadline` seconds since the condition's lastUpdateTime. A
/// condition without a readable time cannot be measured and never times out here.
fn timed_out(cond: Option<&Value>, deadline: i64, now: DateTime<Utc>) -> bool {
    let Some(cond) = cond else {
        return false;
    };
    if cond["reason"] == REASON_NEW_RS_AVAILABLE {
        return false;
    }
    if cond["reason"] == REASON_TIMED_OUT {
        return true;
    }
    cond["lastUpdateTime"]
        .as_str()
        .and_then(parse_time)
        .and_then(|t| t.checked_add_signed(TimeDelta::try_seconds(deadline)?))
        .is_some_and(|end| end < now)
}

/// SetDeploymentCondition: nothing changes when status and reason are the same (not even
/// the message); otherwise the condition is replaced, keeping lastTransitionTime when the
/// status is unchanged.
fn set_condition(
    conditions: &mut Vec<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    at: &str,
) {
    let existing = conditions.iter().find(|c| c["type"] == kind);
    if existing.is_some_and(|c| c["status"] == status && c["reason"] == reason) {
        return;
    }
    let transition = existing
        .filter(|c| c["status"] == status)
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(at)
        .to_string();
    put_condition(
        conditions,
        json!({
            "type": kind, "status": status,
            "lastUpdateTime": at, "lastTransitionTime": transition,
            "reason": reason, "message": message,
        }),
    );
}

/// Replaces the condition of the same type in place (the order stays stable), or appends.
fn put_condition(conditions: &mut Vec<Value>, cond: Value) {
    match conditions.iter_mut().find(|c| c["type"] == cond["type"]) {
        Some(c) => *c = cond,
        None => conditions.push(cond),
    }
}

fn condition<'v>(status: &'v Value, kind: &str) -> Option<&'v Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests;
