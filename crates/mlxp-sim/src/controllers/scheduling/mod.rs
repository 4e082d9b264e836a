//! The decision core of the simulated kube-scheduler: pure functions from
//! Node/Pod JSON to "bind to node X" or the `FailedScheduling` message
//! kube-scheduler would print. The controller around it does the I/O.
//!
//! What is modelled is the default profile's filters that matter for this
//! cluster, in kube-scheduler's order: NodeUnschedulable, TaintToleration,
//! NodeAffinity (nodeSelector + required node affinity) and NodeResourcesFit.
//! A node counts under the first filter that rejects it, with every reason
//! that filter gives (NodeResourcesFit may give several). The wording and the
//! histogram format are the ones in `pkg/scheduler/framework` (`FitError`),
//! including the DefaultPreemption post-filter message.
//!
//! Everything here reads user-provided objects: missing or malformed fields
//! are treated as absent, nothing panics.

use std::collections::BTreeMap;

use serde_json::Value;

use mlxp_core::domain::quantity;

/// The extended resource the NVIDIA device plugin advertises for whole GPUs.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";

const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
const NO_SCHEDULE: &str = "NoSchedule";
const NO_EXECUTE: &str = "NoExecute";

/// Resource amounts: cpu in millicores, memory in bytes, pods, and every
/// other resource ("nvidia.com/gpu", "nvidia.com/mig-1g.10gb",
/// "ephemeral-storage", "hugepages-2Mi"…) in whole units.
/// All arithmetic saturates; zero extended amounts are not stored so that
/// equality means "same amounts".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_milli: i64,
    pub memory: i64,
    pub pods: i64,
    pub extended: BTreeMap<String, i64>,
}

impl Resources {
    /// Adds `other` into `self` (saturating).
    pub fn add(&mut self, other: &Resources) {
        self.combine(other, i64::saturating_add);
    }

    /// Subtracts `other` from `self` (saturating; results may go negative).
    pub fn sub(&mut self, other: &Resources) {
        self.combine(other, i64::saturating_sub);
    }

    /// Whole GPUs (`nvidia.com/gpu`).
    pub fn gpus(&self) -> i64 {
        self.get(GPU_RESOURCE)
    }

    /// Amount of any resource by its Kubernetes name ("cpu" in millicores).
    pub fn get(&self, name: &str) -> i64 {
        match name {
            "cpu" => self.cpu_milli,
            "memory" => self.memory,
            "pods" => self.pods,
            _ => self.extended.get(name).copied().unwrap_or(0),
        }
    }

    /// Parses a `ResourceList` object (`{"cpu": "500m", "memory": "1Gi",
    /// "nvidia.com/gpu": 1}`); quantities may be strings or JSON numbers.
    /// Unparsable and negative entries are skipped, as the apiserver would
    /// never have stored them.
    pub fn from_resource_list(list: &Value) -> Resources {
        from_amounts(parse_amounts(list))
    }

    fn combine(&mut self, other: &Resources, op: fn(i64, i64) -> i64) {
        self.cpu_milli = op(self.cpu_milli, other.cpu_milli);
        self.memory = op(self.memory, other.memory);
        self.pods = op(self.pods, other.pods);
        for (name, &v) in &other.extended {
            let slot = self.extended.entry(name.clone()).or_insert(0);
            *slot = op(*slot, v);
            if *slot == 0 {
                self.extended.remove(name);
            }
        }
    }

    /// Per-resource maximum, as used for init containers.
    fn max_with(&mut self, other: &Resources) {
        self.cpu_milli = self.cpu_milli.max(other.cpu_milli);
        self.memory = self.memory.max(other.memory);
        self.pods = self.pods.max(other.pods);
        for (name, &v) in &other.extended {
            let slot = self.extended.entry(name.clone()).or_insert(0);
            *slot = (*slot).max(v);
            if *slot == 0 {
                self.extended.remove(name);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toleration {
    pub key: String,
    /// `Equal` (also when empty) or `Exists`.
    pub operator: String,
    pub value: String,
    /// Empty matches every effect.
    pub effect: String,
}

/// One node selector requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub key: String,
    /// In, NotIn, Exists, DoesNotExist, Gt, Lt.
    pub operator: String,
    pub values: Vec<String>,
}

/// What the scheduler needs of a node.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub ready: bool,
    pub allocatable: Resources,
    /// Sum of `requests_of` over the pods bound to the node; filled by the caller.
    pub requested: Resources,
}

/// What the scheduler needs of a pod.
#[derive(Debug, Clone)]
pub struct PodNeeds {
    /// Effective requests (see [`requests_of`]).
    pub requests: Resources,
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: OR of terms, AND of expressions inside a term.
    /// Empty = no required affinity; an empty term matches no node.
    pub required_terms: Vec<Vec<Expr>>,
    pub tolerations: Vec<Toleration>,
}

impl NodeInfo {
    /// Reads a Node object. `None` only when it has no `metadata.name`.
    /// Allocatable falls back to capacity (the apiserver's defaulting);
    /// a node without a `Ready=True` condition is not ready.
    pub fn from_json(node: &Value) -> Option<NodeInfo> {
        let name = node
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())?
            .to_string();
        let taints = node
            .pointer("/spec/taints")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .filter(|t| t.is_object())
                    .map(|t| Taint {
                        key: str_field(t, "key"),
                        value: str_field(t, "value"),
                        effect: str_field(t, "effect"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ready = node
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
            })
            .and_then(|c| c.get("status"))
            .and_then(Value::as_str)
            == Some("True");
        let allocatable = node
            .pointer("/status/allocatable")
            .filter(|a| a.is_object())
            .or_else(|| node.pointer("/status/capacity"))
            .map(Resources::from_resource_list)
            .unwrap_or_default();
        Some(NodeInfo {
            name,
            labels: string_map(node.pointer("/metadata/labels")),
            taints,
            unschedulable: node
                .pointer("/spec/unschedulable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ready,
            allocatable,
            requested: Resources::default(),
        })
    }

    /// Taints as the scheduler sees them: a not-ready node carries
    /// `node.kubernetes.io/not-ready:NoSchedule` (added by the node lifecycle
    /// controller), unless it already has that or the unreachable taint.
    fn effective_taints(&self) -> Vec<Taint> {
        let mut taints = self.taints.clone();
        let has_lifecycle_taint = taints.iter().any(|t| {
            (t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE) && t.effect == NO_SCHEDULE
        });
        if !self.ready && !has_lifecycle_taint {
            taints.push(Taint {
                key: TAINT_NOT_READY.to_string(),
                value: String::new(),
                effect: NO_SCHEDULE.to_string(),
            });
        }
        taints
    }
}

impl PodNeeds {
    /// Reads a Pod object; anything missing or malformed is simply absent.
    pub fn from_json(pod: &Value) -> PodNeeds {
        let tolerations = pod
            .pointer("/spec/tolerations")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .filter(|t| t.is_object())
                    .map(|t| Toleration {
                        key: str_field(t, "key"),
                        operator: str_field(t, "operator"),
                        value: str_field(t, "value"),
                        effect: str_field(t, "effect"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        PodNeeds {
            requests: requests_of(pod),
            node_selector: string_map(pod.pointer("/spec/nodeSelector")),
            required_terms: required_terms(pod),
            tolerations,
        }
    }
}

/// The pod's effective requests, computed like `resourcehelper.PodRequests`:
/// per container, a resource with a limit but no request requests its limit
/// (the apiserver's defaulting, applied here because simulated objects may
/// skip it); the sum over containers; restartable (sidecar) init containers
/// add to it; the result is the per-resource max with each regular init
/// container (plus the sidecars started before it); then `spec.overhead`.
/// `pods` is always 1.
pub fn requests_of(pod: &Value) -> Resources {
    pod.get("spec")
        .map(spec_requests)
        .unwrap_or_else(|| Resources {
            pods: 1,
            ..Resources::default()
        })
}

/// What a pod with this spec requests (see `requests_of`).
pub fn spec_requests(spec: &Value) -> Resources {
    let containers = |field: &str| {
        spec.get(field)
            .and_then(Value::as_array)
            .map(|a| a.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(|c| c.is_object())
            .collect::<Vec<_>>()
    };

    let mut total = Resources::default();
    for c in containers("containers") {
        total.add(&container_requests(c));
    }
    let mut sidecars = Resources::default();
    let mut init_max = Resources::default();
    for c in containers("initContainers") {
        let mut r = container_requests(c);
        if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            // Sidecars keep running next to the app containers.
            total.add(&r);
            sidecars.add(&r);
            r = sidecars.clone();
        } else {
            r.add(&sidecars);
        }
        init_max.max_with(&r);
    }
    total.max_with(&init_max);
    if let Some(overhead) = spec.get("overhead") {
        total.add(&Resources::from_resource_list(overhead));
    }
    total.pods = 1;
    total
}

/// Whether the taint leaves the pod schedulable: effects other than
/// NoSchedule/NoExecute (PreferNoSchedule) never block, otherwise one of the
/// tolerations must match (`v1.Toleration.ToleratesTaint`).
pub fn tolerates(tolerations: &[Toleration], taint: &Taint) -> bool {
    if taint.effect != NO_SCHEDULE && taint.effect != NO_EXECUTE {
        return true;
    }
    tolerations.iter().any(|t| toleration_matches(t, taint))
}

/// Picks a node for the pod, or returns kube-scheduler's FailedScheduling message.
///
/// Among fitting nodes: for pods asking for accelerators (`nvidia.com/gpu`,
/// or other vendor extended resources such as MIG slices) the node with the
/// fewest of them left free after placement (bin-packing keeps whole nodes
/// free for big jobs); otherwise the node with the most free cpu (spreading).
/// Ties go to the smallest name.
///
/// The failure message is `FitError.Error()` followed by DefaultPreemption's
/// verdict. Pod priorities are not modelled, so preemption never finds
/// victims: nodes rejected by resources get "No preemption victims found for
/// incoming pod", the others "Preemption is not helpful for scheduling".
/// Since Kubernetes 1.26 the post-filter part ends with "..": that is real.
pub fn schedule(pod: &PodNeeds, nodes: &[NodeInfo]) -> Result<String, String> {
    if nodes.is_empty() {
        return Err("no nodes available to schedule pods".to_string());
    }
    let mut filter_hist: BTreeMap<String, usize> = BTreeMap::new();
    let mut post_hist: BTreeMap<&str, usize> = BTreeMap::new();
    let mut feasible = Vec::new();
    for node in nodes {
        match filter(pod, node) {
            None => feasible.push(node),
            Some(rejection) => {
                let (reasons, preemption) = match rejection {
                    Rejection::Unresolvable(r) => (r, "Preemption is not helpful for scheduling"),
                    Rejection::Resources(r) => (r, "No preemption victims found for incoming pod"),
                };
                for reason in reasons {
                    *filter_hist.entry(reason).or_insert(0) += 1;
                }
                *post_hist.entry(preemption).or_insert(0) += 1;
            }
        }
    }

    if let Some(best) = pick(pod, &feasible) {
        return Ok(best.name.clone());
    }

    let n = nodes.len();
    Err(format!(
        "0/{n} nodes are available: {}. preemption: 0/{n} nodes are available: {}..",
        histogram(filter_hist.iter().map(|(r, c)| (r.as_str(), *c))),
        histogram(post_hist.into_iter()),
    ))
}

/// Why a node was rejected, tagged with whether preemption could help
/// (framework.Unschedulable) or not (UnschedulableAndUnresolvable).
enum Rejection {
    Unresolvable(Vec<String>),
    Resources(Vec<String>),
}

/// The filter plugins in kube-scheduler's order; `None` if the node fits.
fn filter(pod: &PodNeeds, node: &NodeInfo) -> Option<Rejection> {
    // NodeUnschedulable: a cordoned node is fine only for pods tolerating
    // node.kubernetes.io/unschedulable:NoSchedule (e.g. DaemonSet pods).
    let cordon = Taint {
        key: TAINT_UNSCHEDULABLE.to_string(),
        value: String::new(),
        effect: NO_SCHEDULE.to_string(),
    };
    if node.unschedulable && !tolerates(&pod.tolerations, &cordon) {
        return Some(Rejection::Unresolvable(vec![
            "node(s) were unschedulable".to_string(),
        ]));
    }

    // TaintToleration: the first untolerated NoSchedule/NoExecute taint.
    if let Some(t) = node
        .effective_taints()
        .iter()
        .find(|t| !tolerates(&pod.tolerations, t))
    {
        return Some(Rejection::Unresolvable(vec![format!(
            "node(s) had untolerated taint {{{}: {}}}",
            t.key, t.value
        )]));
    }

    // NodeAffinity: nodeSelector AND required node affinity.
    if !matches_affinity(pod, &node.labels) {
        return Some(Rejection::Unresolvable(vec![
            "node(s) didn't match Pod's node affinity/selector".to_string(),
        ]));
    }

    let reasons = insufficient(&pod.requests, node);
    if reasons.is_empty() {
        None
    } else {
        Some(Rejection::Resources(reasons))
    }
}

/// NodeResourcesFit's `fitsRequest`: every resource that does not fit.
fn insufficient(req: &Resources, node: &NodeInfo) -> Vec<String> {
    let mut reasons = Vec::new();
    let (alloc, used) = (&node.allocatable, &node.requested);
    // The pod count always includes the new pod, whatever `req.pods` says.
    if used.pods.saturating_add(1) > alloc.pods {
        reasons.push("Too many pods".to_string());
    }
    let free = |name: &str| alloc.get(name).saturating_sub(used.get(name));
    if req.cpu_milli > 0 && req.cpu_milli > free("cpu") {
        reasons.push("Insufficient cpu".to_string());
    }
    if req.memory > 0 && req.memory > free("memory") {
        reasons.push("Insufficient memory".to_string());
    }
    for (name, &amount) in &req.extended {
        if amount > 0 && amount > free(name) {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    reasons
}

/// The deterministic choice among feasible nodes (see [`schedule`]).
fn pick<'a>(pod: &PodNeeds, feasible: &[&'a NodeInfo]) -> Option<&'a NodeInfo> {
    let free_after = |node: &NodeInfo, name: &str| {
        node.allocatable
            .get(name)
            .saturating_sub(node.requested.get(name))
            .saturating_sub(pod.requests.get(name))
    };
    let accelerators: Vec<&str> = if pod.requests.gpus() > 0 {
        vec![GPU_RESOURCE]
    } else {
        // Vendor extended resources (with a domain prefix), e.g. MIG slices.
        pod.requests
            .extended
            .iter()
            .filter(|(name, amount)| **amount > 0 && name.contains('/'))
            .map(|(name, _)| name.as_str())
            .collect()
    };
    if accelerators.is_empty() {
        feasible.iter().copied().min_by(|a, b| {
            free_after(b, "cpu")
                .cmp(&free_after(a, "cpu"))
                .then_with(|| a.name.cmp(&b.name))
        })
    } else {
        let left = |node: &NodeInfo| {
            accelerators
                .iter()
                .fold(0i64, |acc, r| acc.saturating_add(free_after(node, r)))
        };
        feasible
            .iter()
            .copied()
            .min_by(|a, b| left(a).cmp(&left(b)).then_with(|| a.name.cmp(&b.name)))
    }
}

/// `"<count> <reason>"` entries sorted as strings, as `FitError` does
/// (so "12 …" sorts before "4 …"), joined with ", ".
fn histogram<'a>(counts: impl Iterator<Item = (&'a str, usize)>) -> String {
    let mut entries: Vec<String> = counts.map(|(r, c)| format!("{c} {r}")).collect();
    entries.sort();
    entries.join(", ")
}

fn matches_affinity(pod: &PodNeeds, labels: &BTreeMap<String, String>) -> bool {
    let selector_ok = pod
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let affinity_ok = pod.required_terms.is_empty()
        || pod
            .required_terms
            .iter()
            .any(|term| !term.is_empty() && term.iter().all(|e| expr_matches(e, labels)));
    selector_ok && affinity_ok
}

/// A node selector requirement; requirements the apiserver would reject
/// (In without values, Exists with values, Gt with a non-integer…) match
/// nothing, as the scheduler drops the whole term on a parse error.
fn expr_matches(e: &Expr, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&e.key);
    let int_cmp = |ord: std::cmp::Ordering| {
        let [bound] = e.values.as_slice() else {
            return false;
        };
        let (Some(v), Ok(bound)) = (value, bound.parse::<i64>()) else {
            return false;
        };
        v.parse::<i64>().is_ok_and(|v| v.cmp(&bound) == ord)
    };
    match e.operator.as_str() {
        "In" => !e.values.is_empty() && value.is_some_and(|v| e.values.contains(v)),
        "NotIn" => !e.values.is_empty() && !value.is_some_and(|v| e.values.contains(v)),
        "Exists" => e.values.is_empty() && value.is_some(),
        "DoesNotExist" => e.values.is_empty() && value.is_none(),
        "Gt" => int_cmp(std::cmp::Ordering::Greater),
        "Lt" => int_cmp(std::cmp::Ordering::Less),
        _ => false,
    }
}

fn toleration_matches(t: &Toleration, taint: &Taint) -> bool {
    if !t.effect.is_empty() && t.effect != taint.effect {
        return false;
    }
    // An empty key (only valid with Exists) matches every key.
    if !t.key.is_empty() && t.key != taint.key {
        return false;
    }
    match t.operator.as_str() {
        "" | "Equal" => t.value == taint.value,
        "Exists" => true,
        _ => false,
    }
}

/// `spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
/// A present selector without terms matches nothing, which is kept as a
/// single empty term. `matchFields` are not modelled and are ignored.
fn required_terms(pod: &Value) -> Vec<Vec<Expr>> {
    let Some(required) =
        pod.pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")
    else {
        return Vec::new();
    };
    if required.is_null() {
        return Vec::new();
    }
    let terms: Vec<Vec<Expr>> = required
        .get("nodeSelectorTerms")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .map(|term| {
                    term.get("matchExpressions")
                        .and_then(Value::as_array)
                        .map(|es| es.iter().filter(|e| e.is_object()).map(expr_of).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    if terms.is_empty() {
        vec![Vec::new()]
    } else {
        terms
    }
}

fn expr_of(e: &Value) -> Expr {
    Expr {
        key: str_field(e, "key"),
        operator: str_field(e, "operator"),
        values: e
            .get("values")
            .and_then(Value::as_array)
            .map(|vs| {
                vs.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// One container's requests, with limits standing in for missing requests.
fn container_requests(c: &Value) -> Resources {
    let res = c.get("resources");
    let mut amounts = parse_amounts(res.and_then(|r| r.get("limits")).unwrap_or(&Value::Null));
    amounts.extend(parse_amounts(
        res.and_then(|r| r.get("requests")).unwrap_or(&Value::Null),
    ));
    from_amounts(amounts)
}

/// Resource name → amount (cpu in millicores, everything else in whole
/// units); invalid or negative quantities are left out.
fn parse_amounts(list: &Value) -> BTreeMap<String, i64> {
    let Some(obj) = list.as_object() else {
        return BTreeMap::new();
    };
    obj.iter()
        .filter_map(|(name, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let amount = if name == "cpu" {
                quantity::parse_millicores(&text)
            } else {
                quantity::parse_units(&text)
            }?;
            (amount >= 0).then(|| (name.clone(), amount))
        })
        .collect()
}

fn from_amounts(amounts: BTreeMap<String, i64>) -> Resources {
    let mut r = Resources::default();
    for (name, amount) in amounts {
        match name.as_str() {
            "cpu" => r.cpu_milli = amount,
            "memory" => r.memory = amount,
            "pods" => r.pods = amount,
            _ if amount == 0 => {}
            _ => {
                r.extended.insert(name, amount);
            }
        }
    }
    r
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
