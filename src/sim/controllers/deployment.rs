//! The decision core of the apps/v1 Deployment controller, as a pure function of state: the
//! Deployment, the pods it controls and the simulated time go in, the actions to take come
//! out (reconcile, as in kube-rs controller-rs). No I/O; the caller applies them.
//!
//! Simplified honestly: there are no ReplicaSets. The sim's Deployments own their pods
//! directly (the pods' controller ownerReference names the Deployment). Every pod carries the
//! label `pod-template-hash` = [`template_hash`] of the template it was made from, as a
//! ReplicaSet's pods do, so a rollout can tell old pods (any other hash, or none) from new
//! ones. "The new ReplicaSet" of the status messages is `<deployment>-<hash>`, the name it
//! would have. What the ReplicaSet controller would add (replacing lost pods, the per-sync
//! burst limit) is folded in here.
//!
//! Left out: revision history and rollback, proportional scaling of old ReplicaSets when
//! the replica count changes mid-rollout, collisionCount handling (kept, never raised).

use std::cmp::Reverse;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

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
/// was written in, and across runs), encoded as 10 characters of k8s's safe alphabet.
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

fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
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

/// One reconcile of a Deployment at `now`. `pods` are the pods whose ownerReferences name
/// this Deployment as controller (pods controlled by another uid are ignored anyway).
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
    let views: Vec<PodView> = pods
        .iter()
        .filter_map(|p| PodView::parse(p, spec.uid))
        .collect();
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
        for p in pods.iter().filter_map(|p| PodView::parse(p, spec.uid)) {
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
    uid: Option<&'a str>,
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
            uid: meta["uid"].as_str().filter(|u| !u.is_empty()),
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
    /// `None` for anything that is not a pod object, or whose controller is another object.
    fn parse(pod: &'a Value, owner_uid: Option<&str>) -> Option<Self> {
        pod.as_object()?;
        let meta = &pod["metadata"];
        if let (Some(uid), Some(refs)) = (owner_uid, meta["ownerReferences"].as_array()) {
            let controller = refs
                .iter()
                .find(|r| r["controller"].as_bool() == Some(true));
            if let Some(other) = controller.and_then(|r| r["uid"].as_str())
                && other != uid
            {
                return None;
            }
        }
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
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        parse_time("2026-11-29T08:00:00Z").expect("valid time") + TimeDelta::seconds(secs)
    }

    fn ts(secs: i64) -> String {
        timestamp(at(secs))
    }

    fn deployment(spec: Value) -> Value {
        let mut full = json!({
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": {"team": "ml"}},
                "spec": {"containers": [{"name": "main", "image": "web:1"}]},
            },
        });
        if let (Some(full), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
            for (k, v) in extra {
                full.insert(k.clone(), v.clone());
            }
        }
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ml", "uid": "dep-uid", "generation": 1},
            "spec": full,
        })
    }

    /// The Deployment and its pods, changed by the actions as the real caller would change
    /// them (deletion is immediate unless `graceful`, which leaves the pod terminating).
    struct World {
        dep: Value,
        pods: Vec<Value>,
        created: usize,
        graceful: bool,
    }

    impl World {
        fn new(spec: Value) -> Self {
            World {
                dep: deployment(spec),
                pods: Vec::new(),
                created: 0,
                graceful: false,
            }
        }

        fn step(&mut self, secs: i64) -> Vec<DeploymentAction> {
            let actions = reconcile(&self.dep, &self.pods, at(secs));
            for action in &actions {
                match action {
                    DeploymentAction::CreatePod { pod } => {
                        self.created += 1;
                        let mut pod = pod.clone();
                        pod["metadata"]["name"] = json!(format!("web-{}", self.created));
                        pod["metadata"]["creationTimestamp"] = json!(ts(secs));
                        pod["metadata"]["ownerReferences"] = json!([{"kind": "Deployment", "name": "web", "uid": "dep-uid", "controller": true}]);
                        pod["status"] = json!({"phase": "Pending"});
                        self.pods.push(pod);
                    }
                    DeploymentAction::DeletePod { name } if self.graceful => {
                        self.pod(name)["metadata"]["deletionTimestamp"] = json!(ts(secs));
                    }
                    DeploymentAction::DeletePod { name } => {
                        self.pods.retain(|p| p["metadata"]["name"] != *name)
                    }
                    DeploymentAction::SetStatus { status } => self.dep["status"] = status.clone(),
                }
            }
            actions
        }

        fn pod(&mut self, name: &str) -> &mut Value {
            self.pods
                .iter_mut()
                .find(|p| p["metadata"]["name"] == name)
                .expect("pod exists")
        }

        fn run(&mut self, name: &str, ready: bool, secs: i64) {
            let pod = self.pod(name);
            pod["spec"]["nodeName"] = json!("gpu-node-1");
            pod["status"] = json!({
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": ts(secs)}],
            });
        }

        /// Every pod not yet running becomes running and ready.
        fn ready_all(&mut self, secs: i64) {
            let names: Vec<String> = self
                .pods
                .iter()
                .filter(|p| p["status"]["phase"] == "Pending")
                .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            for n in names {
                self.run(&n, true, secs);
            }
        }

        fn set_image(&mut self, image: &str) {
            self.dep["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
            self.dep["metadata"]["generation"] =
                json!(self.dep["metadata"]["generation"].as_i64().unwrap_or(0) + 1);
        }

        fn status(&self) -> &Value {
            &self.dep["status"]
        }

        fn hash_of(&self, name: &str) -> String {
            self.pods
                .iter()
                .find(|p| p["metadata"]["name"] == name)
                .and_then(|p| p["metadata"]["labels"][TEMPLATE_HASH_LABEL].as_str())
                .unwrap_or("")
                .to_string()
        }

        /// (pods of the current template, others), not being deleted.
        fn split(&self) -> (usize, usize) {
            let hash = template_hash(&self.dep);
            let live: Vec<&Value> = self
                .pods
                .iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .collect();
            let new = live
                .iter()
                .filter(|p| p["metadata"]["labels"][TEMPLATE_HASH_LABEL] == *hash)
                .count();
            (new, live.len() - new)
        }

        fn ready_count(&self) -> usize {
            self.pods
                .iter()
                .filter(|p| p["status"]["conditions"][0]["status"] == "True")
                .count()
        }
    }

    fn creates(actions: &[DeploymentAction]) -> Vec<&Value> {
        actions
            .iter()
            .filter_map(|a| match a {
                DeploymentAction::CreatePod { pod } => Some(pod),
                _ => None,
            })
            .collect()
    }

    fn deletes(actions: &[DeploymentAction]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                DeploymentAction::DeletePod { name } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    fn cond<'v>(status: &'v Value, kind: &str) -> &'v Value {
        condition(status, kind).unwrap_or(&Value::Null)
    }

    #[test]
    fn template_hash_is_stable_short_safe_and_order_blind() {
        let a = deployment(json!({}));
        let h = template_hash(&a);
        assert_eq!(h.len(), 10);
        assert!(h.bytes().all(|b| HASH_ALPHABET.contains(&b)), "{h}");
        assert_eq!(template_hash(&a), h);
        // Same template written in another key order: same hash.
        let b: Value = serde_json::from_str(
            r#"{"spec": {"template": {"spec": {"containers": [{"image": "web:1", "name": "main"}]},
                "metadata": {"annotations": {"team": "ml"}, "labels": {"app": "web"}}}}}"#,
        )
        .expect("valid json");
        assert_eq!(template_hash(&b), h);
        // Only the template counts: replicas do not change it, an image does.
        let mut c = a.clone();
        c["spec"]["replicas"] = json!(9);
        assert_eq!(template_hash(&c), h);
        c["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
        assert_ne!(template_hash(&c), h);
        // Pinned: pods made before a restart (or by another build) must keep matching.
        assert_eq!(
            template_hash(&json!({})),
            template_hash(&json!({"spec": {}}))
        );
        assert_eq!(template_hash(&a), "ftd44qq42w");
    }

    #[test]
    fn a_new_deployment_creates_its_pods_and_reports_progress_then_availability() {
        let mut w = World::new(json!({}));
        let hash = template_hash(&w.dep);
        let actions = w.step(0);
        let pods = creates(&actions);
        assert_eq!(pods.len(), 3);
        assert_eq!(
            *pods[0],
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": format!("web-{hash}-"),
                             "labels": {"app": "web", "pod-template-hash": hash},
                             "annotations": {"team": "ml"}},
                "spec": {"containers": [{"name": "main", "image": "web:1"}]},
            })
        );
        let rs = format!("\"web-{hash}\"");
        assert_eq!(
            *w.status(),
            json!({
                "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "unavailableReplicas": 3,
                "conditions": [
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                     "message": "Deployment does not have minimum availability.",
                     "lastUpdateTime": ts(0), "lastTransitionTime": ts(0)},
                    {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                     "message": format!("ReplicaSet {rs} is progressing."),
                     "lastUpdateTime": ts(0), "lastTransitionTime": ts(0)},
                ],
            })
        );
        // Nothing changed: nothing to do, not even a status write.
        assert_eq!(w.step(1), vec![]);
        w.ready_all(5);
        let actions = w.step(6);
        assert_eq!(actions.len(), 1, "{actions:?}");
        let status = w.status();
        assert_eq!(status["readyReplicas"], 3);
        assert_eq!(status["availableReplicas"], 3);
        assert!(status.get("unavailableReplicas").is_none());
        assert_eq!(
            *cond(status, "Available"),
            json!({"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                   "message": "Deployment has minimum availability.",
                   "lastUpdateTime": ts(6), "lastTransitionTime": ts(6)})
        );
        let progressing = cond(status, "Progressing");
        assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
        assert_eq!(
            progressing["message"],
            format!("ReplicaSet {rs} has successfully progressed.")
        );
        assert_eq!(progressing["lastTransitionTime"], ts(0));
        assert_eq!(w.step(100), vec![]);
    }

    #[test]
    fn scaling_up_creates_and_scaling_down_deletes_not_ready_then_newest() {
        let mut w = World::new(json!({}));
        w.step(0);
        w.ready_all(1);
        w.step(2);
        w.dep["spec"]["replicas"] = json!(6);
        let actions = w.step(10);
        assert_eq!(creates(&actions).len(), 3);
        assert!(deletes(&actions).is_empty());
        assert_eq!(w.status()["replicas"], 6);
        // web-4 ready, web-5 running not ready, web-6 still pending.
        w.run("web-4", true, 11);
        w.run("web-5", false, 11);
        w.dep["spec"]["replicas"] = json!(2);
        let actions = w.step(12);
        assert!(creates(&actions).is_empty());
        // Pending first, then not ready, then the most recently ready (web-4); web-1..3 tie
        // (same age, ready together) and the name decides.
        assert_eq!(deletes(&actions), ["web-6", "web-5", "web-4", "web-1"]);
        assert_eq!(w.pods.len(), 2);
        assert_eq!(w.status()["replicas"], 2);
        assert_eq!(w.status()["availableReplicas"], 2);
        // Down to zero: every pod goes, the status drops its zero counts.
        w.dep["spec"]["replicas"] = json!(0);
        assert_eq!(deletes(&w.step(13)).len(), 2);
        assert!(w.status().get("replicas").is_none());
        assert_eq!(cond(w.status(), "Available")["status"], "True");
    }

    #[test]
    fn rolling_update_with_surge_one_never_drops_below_the_replica_count() {
        let mut w = World::new(json!({
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        }));
        w.step(0);
        w.ready_all(1);
        w.step(2);
        let old_hash = w.hash_of("web-1");
        w.set_image("web:2");
        let new_hash = template_hash(&w.dep);
        assert_ne!(old_hash, new_hash);

        // Step 1: one new pod (4 in all), nothing deleted while it is not ready.
        let actions = w.step(10);
        assert_eq!(creates(&actions).len(), 1);
        assert!(deletes(&actions).is_empty());
        assert_eq!(w.split(), (1, 3));
        assert_eq!(w.status()["updatedReplicas"], 1);
        assert_eq!(w.status()["replicas"], 4);
        assert_eq!(w.status()["observedGeneration"], 2);
        // A new rollout; no gain yet (fewer updated pods than the old status counted).
        let progressing = cond(w.status(), "Progressing");
        assert_eq!(progressing["reason"], "NewReplicaSetCreated");
        assert_eq!(
            progressing["message"],
            format!("Created new replica set \"web-{new_hash}\"")
        );
        assert_eq!(progressing["lastUpdateTime"], ts(10));
        // Still not ready: no change.
        assert_eq!(w.step(11), vec![]);
        w.ready_all(15);
        let actions = w.step(16);
        assert_eq!(deletes(&actions).len(), 1);
        let progressing = cond(w.status(), "Progressing");
        assert_eq!(progressing["reason"], "ReplicaSetUpdated");
        assert_eq!(
            progressing["message"],
            format!("ReplicaSet \"web-{new_hash}\" is progressing.")
        );
        assert_eq!(progressing["lastUpdateTime"], ts(16));
        assert_eq!(w.split(), (1, 2));

        let mut t = 20;
        let mut rounds = 0;
        while w.split() != (3, 0) {
            rounds += 1;
            assert!(
                rounds < 10,
                "the rollout does not converge: {:?}",
                w.split()
            );
            w.ready_all(t);
            let actions = w.step(t + 1);
            // A ready new pod lets exactly one old pod go, and one more new pod come next time.
            assert!(deletes(&actions).len() <= 1, "{actions:?}");
            assert!(
                w.ready_count() >= 3,
                "availability fell to {}",
                w.ready_count()
            );
            assert!(w.pods.len() <= 4, "surge exceeded: {}", w.pods.len());
            w.step(t + 2);
            assert!(w.pods.len() <= 4);
            assert!(w.ready_count() >= 3);
            t += 10;
        }
        w.ready_all(t);
        w.step(t + 1);
        assert!(
            w.pods
                .iter()
                .all(|p| p["metadata"]["labels"][TEMPLATE_HASH_LABEL] == *new_hash)
        );
        let status = w.status();
        assert_eq!(
            (
                &status["replicas"],
                &status["updatedReplicas"],
                &status["availableReplicas"]
            ),
            (&json!(3), &json!(3), &json!(3))
        );
        assert_eq!(
            cond(status, "Progressing")["reason"],
            "NewReplicaSetAvailable"
        );
        assert_eq!(cond(status, "Available")["status"], "True");
    }

    #[test]
    fn default_fenceposts_surge_and_cut_a_quarter_each() {
        let mut w = World::new(json!({"replicas": 4}));
        w.step(0);
        w.ready_all(1);
        w.step(2);
        w.set_image("web:2");
        // 25% of 4: surge 1, unavailable 1: one new pod and one old pod gone at once.
        let actions = w.step(10);
        assert_eq!(creates(&actions).len(), 1);
        assert_eq!(deletes(&actions).len(), 1);
        assert_eq!(w.split(), (1, 3));
        assert_eq!(w.status()["availableReplicas"], 3);
        assert_eq!(cond(w.status(), "Available")["status"], "True");
        // With 25% of 4 gone, 4 - 1 available is still the minimum.
        assert_eq!(
            fenceposts(&json!({"maxSurge": "50%", "maxUnavailable": "10%"}), 10),
            (5, 1)
        );
        assert_eq!(
            fenceposts(&json!({"maxSurge": 0, "maxUnavailable": "0%"}), 10),
            (0, 1)
        );
        assert_eq!(
            fenceposts(&json!({"maxSurge": "x", "maxUnavailable": 2.5}), 1),
            (1, 0)
        );
        assert_eq!(fenceposts(&json!({}), 0), (0, 1));
    }

    #[test]
    fn unavailable_old_pods_are_replaced_first() {
        let mut w = World::new(json!({
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        }));
        w.step(0);
        w.ready_all(1);
        w.run("web-2", false, 3);
        w.step(4);
        w.set_image("web:2");
        // One new pod; with it unavailable and only 2 of 3 available, nothing may go.
        let actions = w.step(10);
        assert_eq!(creates(&actions).len(), 1);
        assert!(deletes(&actions).is_empty());
        assert_eq!(w.status()["availableReplicas"], 2);
        w.ready_all(11);
        // The new pod is ready: 4 pods, 3 available. The broken old pod goes (it costs no
        // availability); a healthy one would drop below 3 available, so it stays.
        let actions = w.step(12);
        assert_eq!(deletes(&actions), ["web-2"]);
        assert_eq!(w.status()["availableReplicas"], 3);
    }

    #[test]
    fn recreate_deletes_every_old_pod_and_waits_for_them_to_go() {
        let mut w = World::new(json!({"strategy": {"type": "Recreate"}}));
        w.step(0);
        w.ready_all(1);
        w.step(2);
        w.graceful = true;
        w.set_image("web:2");
        let actions = w.step(10);
        let mut gone = deletes(&actions);
        gone.sort_unstable();
        assert_eq!(gone, ["web-1", "web-2", "web-3"]);
        assert!(creates(&actions).is_empty());
        assert_eq!(w.split(), (0, 0));
        assert!(w.status().get("replicas").is_none());
        assert_eq!(cond(w.status(), "Available")["status"], "False");
        // Old pods still terminating: nothing new yet.
        let actions = w.step(11);
        assert!(creates(&actions).is_empty() && deletes(&actions).is_empty());
        // Gone: the new version comes up in full.
        w.pods.clear();
        let actions = w.step(20);
        assert_eq!(creates(&actions).len(), 3);
        assert_eq!(w.split(), (3, 0));
        w.ready_all(21);
        w.step(22);
        assert_eq!(
            cond(w.status(), "Progressing")["reason"],
            "NewReplicaSetAvailable"
        );
    }

    #[test]
    fn terminal_pods_are_deleted_and_replaced_and_terminating_ones_do_not_count() {
        let mut w = World::new(json!({}));
        w.step(0);
        w.ready_all(1);
        w.step(2);
        w.pod("web-1")["status"] = json!({"phase": "Failed"});
        w.pod("web-2")["status"] = json!({"phase": "Succeeded"});
        w.pod("web-3")["metadata"]["deletionTimestamp"] = json!(ts(5));
        let actions = w.step(6);
        let mut gone = deletes(&actions);
        gone.sort_unstable();
        assert_eq!(gone, ["web-1", "web-2"]);
        assert_eq!(creates(&actions).len(), 3);
        assert_eq!(w.status()["replicas"], 3);
        assert!(w.status().get("readyReplicas").is_none());
        assert_eq!(cond(w.status(), "Available")["status"], "False");
        assert_eq!(cond(w.status(), "Available")["lastTransitionTime"], ts(6));
    }

    #[test]
    fn paused_deployments_scale_but_do_not_roll_out() {
        let mut w = World::new(json!({}));
        w.step(0);
        w.ready_all(1);
        w.step(2);
        w.dep["spec"]["paused"] = json!(true);
        w.set_image("web:2");
        let actions = w.step(10);
        assert_eq!(actions.len(), 1, "status only: {actions:?}");
        let progressing = cond(w.status(), "Progressing");
        assert_eq!(progressing["status"], "Unknown");
        assert_eq!(progressing["reason"], "DeploymentPaused");
        assert_eq!(progressing["message"], "Deployment is paused");
        // Resumed: the rollout starts.
        w.dep["spec"]["paused"] = json!(false);
        let actions = w.step(20);
        assert_eq!(creates(&actions).len(), 1);
        assert_eq!(cond(w.status(), "Progressing")["status"], "True");

        // Paused with every pod on the current template: replicas are still kept.
        let mut w = World::new(json!({}));
        w.step(0);
        w.dep["spec"]["paused"] = json!(true);
        w.dep["spec"]["replicas"] = json!(5);
        assert_eq!(creates(&w.step(1)).len(), 2);
        // Created paused: nothing at all is made (there is no ReplicaSet to scale).
        let mut w = World::new(json!({"paused": true}));
        assert!(creates(&w.step(0)).is_empty());
    }

    #[test]
    fn a_stuck_rollout_times_out_after_the_progress_deadline() {
        let mut w = World::new(json!({"progressDeadlineSeconds": 60}));
        w.step(0);
        assert_eq!(next_due(&w.dep, &w.pods, at(0)), Some(at(61)));
        assert_eq!(w.step(60), vec![]);
        w.step(61);
        let progressing = cond(w.status(), "Progressing");
        assert_eq!(progressing["status"], "False");
        assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
        assert_eq!(
            progressing["message"],
            format!(
                "ReplicaSet \"web-{}\" has timed out progressing.",
                template_hash(&w.dep)
            )
        );
        assert_eq!(next_due(&w.dep, &w.pods, at(61)), None);
        // Progress after all: the condition comes back.
        w.ready_all(70);
        w.step(71);
        assert_eq!(
            cond(w.status(), "Progressing")["reason"],
            "NewReplicaSetAvailable"
        );
        assert_eq!(cond(w.status(), "Progressing")["status"], "True");
        // No deadline (MaxInt32): no Progressing condition at all.
        w.dep["spec"]["progressDeadlineSeconds"] = json!(i32::MAX);
        w.step(80);
        assert!(condition(w.status(), "Progressing").is_none());
    }

    #[test]
    fn min_ready_seconds_delays_availability() {
        let mut w = World::new(json!({"replicas": 1, "minReadySeconds": 30}));
        w.step(0);
        w.ready_all(10);
        w.step(10);
        assert_eq!(w.status()["readyReplicas"], 1);
        assert!(w.status().get("availableReplicas").is_none());
        assert_eq!(next_due(&w.dep, &w.pods, at(10)), Some(at(41)));
        w.step(40);
        assert!(w.status().get("availableReplicas").is_none());
        w.step(41);
        assert_eq!(w.status()["availableReplicas"], 1);
        assert_eq!(cond(w.status(), "Available")["status"], "True");
    }

    #[test]
    fn foreign_pods_are_ignored_and_a_deleted_deployment_only_reports() {
        let mut w = World::new(json!({"replicas": 1}));
        w.pods.push(json!({"metadata": {"name": "alien", "labels": {"app": "web"},
            "ownerReferences": [{"controller": true, "uid": "other"}]}, "status": {"phase": "Running"}}));
        let actions = w.step(0);
        assert_eq!(creates(&actions).len(), 1);
        assert!(deletes(&actions).is_empty());

        let mut w = World::new(json!({}));
        w.dep["metadata"]["deletionTimestamp"] = json!(ts(0));
        let actions = w.step(0);
        assert_eq!(actions.len(), 1);
        assert!(matches!(actions[0], DeploymentAction::SetStatus { .. }));
    }

    #[test]
    fn a_pod_of_an_old_template_without_its_label_counts_as_old() {
        let mut w = World::new(json!({"replicas": 1, "strategy": {"type": "Recreate"}}));
        w.pods
            .push(json!({"metadata": {"name": "legacy"}, "status": {"phase": "Running"}}));
        let actions = w.step(0);
        assert_eq!(deletes(&actions), ["legacy"]);
        assert!(creates(&actions).is_empty());
    }

    #[test]
    fn garbage_never_panics() {
        let deployments = [
            Value::Null,
            json!("deployment"),
            json!([1]),
            json!({}),
            json!({"spec": 5, "status": "x", "metadata": []}),
            json!({"metadata": {"name": 7, "uid": null, "generation": "2", "deletionTimestamp": 1},
                   "spec": {"replicas": -4, "paused": "yes", "minReadySeconds": u64::MAX,
                            "progressDeadlineSeconds": -1, "template": 7,
                            "strategy": {"type": 3, "rollingUpdate": {"maxSurge": "-5%", "maxUnavailable": "%"}}},
                   "status": {"conditions": [1, "a", {"type": 3},
                              {"type": "Progressing", "status": "True", "lastUpdateTime": "never"}],
                              "replicas": "many"}}),
            json!({"metadata": {"name": "big"},
                   "spec": {"replicas": u64::MAX, "strategy": {"rollingUpdate": {"maxSurge": "999999999999%", "maxUnavailable": i64::MAX}},
                            "template": {"metadata": {"labels": 3}, "spec": {}}}}),
            json!({"metadata": {"name": "r"}, "spec": {"replicas": 2, "strategy": {"type": "Recreate"},
                   "template": {"metadata": {"labels": [1]}, "spec": {"containers": 1}}}}),
            deployment(
                json!({"minReadySeconds": i64::MAX, "progressDeadlineSeconds": i64::MAX - 1}),
            ),
        ];
        let pods = [
            Value::Null,
            json!(3),
            json!({"status": {"phase": 5, "conditions": "no"}}),
            json!({"metadata": {"labels": {TEMPLATE_HASH_LABEL: 4}, "ownerReferences": [7, {"controller": true}]}}),
            json!({"metadata": {"name": "", "deletionTimestamp": "9999-99-99"}, "status": {"phase": "Running"}}),
            json!({"metadata": {"name": "r1"}, "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "+262142-12-31T23:59:59Z"}],
                   "containerStatuses": [{"restartCount": i64::MAX}, 7]}}),
            json!({"metadata": {"name": "f1", "creationTimestamp": 12}, "status": {"phase": "Failed"}}),
        ];
        for d in &deployments {
            for now in [at(0), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                let _ = reconcile(d, &pods, now);
                let _ = reconcile(d, &[], now);
                let _ = next_due(d, &pods, now);
            }
            let _ = template_hash(d);
        }
        assert_eq!(reconcile(&Value::Null, &pods, at(0)), vec![]);
        // Huge counts are capped per pass.
        assert_eq!(creates(&reconcile(&deployments[6], &[], at(0))).len(), 500);
        // No template spec: no pod can be made, but the status is reported.
        let actions = reconcile(&json!({}), &[], at(0));
        assert!(creates(&actions).is_empty());
        assert!(matches!(
            actions.last(),
            Some(DeploymentAction::SetStatus { .. })
        ));
    }
}
