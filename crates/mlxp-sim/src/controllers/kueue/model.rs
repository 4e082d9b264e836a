//! Kueue's view of the stored objects: amounts and quantities, ResourceFlavors, ClusterQueues
//! (with their resource groups and why one is inactive) and LocalQueues. Everything reads
//! user-provided JSON: missing or malformed fields are absent, nothing panics.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{MAX_COUNT, NAMESPACE_NAME_LABEL};
use crate::controllers::scheduling::{Taint, Toleration, spec_requests};
use mlxp_core::domain::quantity::{format_bytes, parse_millicores, parse_units};

// ---------------------------------------------------------------------------------------------
// Resources

/// Resource name → amount: cpu in millicores, everything else in whole units (Kueue's int64s).
pub(super) type Amounts = BTreeMap<String, i64>;
/// (flavor, resource) → amount held.
pub(super) type Usage = BTreeMap<(String, String), i64>;

/// A quantity as Kueue counts it; `None` when invalid or negative.
pub(super) fn parse_amount(resource: &str, v: &Value) -> Option<i64> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let amount = if resource == "cpu" {
        parse_millicores(&text)
    } else {
        parse_units(&text)
    }?;
    (amount >= 0).then_some(amount)
}

/// A pod template spec's requests the way Kubernetes sums them (the scheduler's
/// [`spec_requests`]: limits stand in for missing requests, sidecars and init containers,
/// overhead), as Kueue counts them: "pods" is the pod set's count, not a request, and a zero
/// request needs no quota (and no ClusterQueue covering it).
pub(super) fn pod_requests(spec: &Value) -> Amounts {
    let r = spec_requests(spec);
    let mut total = Amounts::from([("cpu".into(), r.cpu_milli), ("memory".into(), r.memory)]);
    total.extend(r.extended);
    total.retain(|_, v| *v > 0);
    total
}

/// Kueue's ResourceQuantityString: cpu as milli DecimalSI, memory-like as BinarySI, the rest
/// DecimalSI ("500m", "64Gi", "16").
pub(super) fn quantity_string(resource: &str, amount: i64) -> String {
    if resource == "cpu" {
        decimal_si(i128::from(amount))
    } else if resource == "memory"
        || resource == "ephemeral-storage"
        || resource.starts_with("hugepages-")
    {
        format_bytes(amount)
    } else {
        decimal_si(i128::from(amount) * 1000)
    }
}

/// The canonical DecimalSI form of a value in milli-units: "500m", "2", "1500", "1k".
pub(super) fn decimal_si(milli: i128) -> String {
    const SUFFIXES: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    if milli % 1000 != 0 {
        return format!("{milli}m");
    }
    let mut n = milli / 1000;
    let mut exp = 0;
    while n != 0 && n % 1000 == 0 && exp + 1 < SUFFIXES.len() {
        n /= 1000;
        exp += 1;
    }
    format!("{n}{}", SUFFIXES.get(exp).copied().unwrap_or(""))
}

/// A non-negative int32 count; absent or not an integer reads as unset.
pub(super) fn count(v: &Value) -> Option<i64> {
    let n = v.as_i64().or_else(|| v.as_u64().map(|_| MAX_COUNT))?;
    Some(n.clamp(0, MAX_COUNT))
}

// ---------------------------------------------------------------------------------------------
// ResourceFlavors

/// A toleration as the scheduler reads it; a malformed entry tolerates what an empty one does.
pub(super) fn toleration(t: &Value) -> Toleration {
    let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
    Toleration {
        key: s("key"),
        operator: s("operator"),
        value: s("value"),
        effect: s("effect"),
    }
}

pub(super) struct Flavor {
    pub(super) node_labels: BTreeMap<String, String>,
    /// Only the taints that keep pods off (NoSchedule / NoExecute).
    pub(super) taints: Vec<Taint>,
    pub(super) tolerations: Vec<Value>,
}

pub(super) fn parse_flavors(flavors: &[Value]) -> BTreeMap<String, Flavor> {
    let mut out = BTreeMap::new();
    for f in flavors {
        let Some(name) = f["metadata"]["name"].as_str().filter(|n| !n.is_empty()) else {
            continue;
        };
        let spec = &f["spec"];
        let node_labels = spec["nodeLabels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let taints = spec["nodeTaints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let effect = t["effect"].as_str()?;
                (effect == "NoSchedule" || effect == "NoExecute").then(|| Taint {
                    key: t["key"].as_str().unwrap_or("").to_string(),
                    value: t["value"].as_str().unwrap_or("").to_string(),
                    effect: effect.to_string(),
                })
            })
            .collect();
        let tolerations = spec["tolerations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t.is_object())
            .cloned()
            .collect();
        out.entry(name.to_string()).or_insert(Flavor {
            node_labels,
            taints,
            tolerations,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// ClusterQueues and LocalQueues

pub(super) struct FlavorQuotas {
    pub(super) name: String,
    pub(super) nominal: Amounts,
}

pub(super) struct ResourceGroup {
    pub(super) covered: Vec<String>,
    pub(super) flavors: Vec<FlavorQuotas>,
    /// Every node label key of the group's flavors: only these constrain the flavor choice.
    pub(super) label_keys: BTreeSet<String>,
}

pub(super) struct ClusterQueue<'a> {
    pub(super) raw: &'a Value,
    pub(super) best_effort: bool,
    pub(super) namespace_selector: &'a Value,
    pub(super) groups: Vec<ResourceGroup>,
    /// (reason, message) of Active=False.
    pub(super) inactive: Option<(String, String)>,
    /// stopPolicy HoldAndDrain: what it admitted is evicted too.
    pub(super) draining: bool,
}

impl ClusterQueue<'_> {
    /// The ResourceGroup covering a resource (the first, should the spec repeat it).
    pub(super) fn group_of(&self, resource: &str) -> Option<&ResourceGroup> {
        self.groups
            .iter()
            .find(|g| g.covered.iter().any(|r| r == resource))
    }
}

pub(super) fn parse_cluster_queues<'a>(
    cqs: &'a [Value],
    flavors: &BTreeMap<String, Flavor>,
) -> BTreeMap<String, ClusterQueue<'a>> {
    let mut out = BTreeMap::new();
    for raw in cqs {
        let Some(name) = raw["metadata"]["name"].as_str().filter(|n| !n.is_empty()) else {
            continue;
        };
        if out.contains_key(name) {
            continue;
        }
        let spec = &raw["spec"];
        let mut missing: Vec<String> = Vec::new();
        let groups: Vec<ResourceGroup> = spec["resourceGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| {
                let covered = g["coveredResources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect();
                let group_flavors: Vec<FlavorQuotas> = g["flavors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| {
                        let name = f["name"].as_str()?.to_string();
                        let nominal = f["resources"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| {
                                let res = r["name"].as_str()?;
                                let q = parse_amount(res, &r["nominalQuota"]).unwrap_or(0);
                                Some((res.to_string(), q))
                            })
                            .collect();
                        Some(FlavorQuotas { name, nominal })
                    })
                    .collect();
                let mut label_keys = BTreeSet::new();
                for fq in &group_flavors {
                    match flavors.get(&fq.name) {
                        Some(f) => label_keys.extend(f.node_labels.keys().cloned()),
                        None if !missing.contains(&fq.name) => missing.push(fq.name.clone()),
                        None => {}
                    }
                }
                ResourceGroup {
                    covered,
                    flavors: group_flavors,
                    label_keys,
                }
            })
            .collect();
        // clusterQueue.inactiveReason: every reason counts, the first names the condition.
        let mut reasons = Vec::new();
        let mut messages = Vec::new();
        if matches!(spec["stopPolicy"].as_str(), Some("Hold" | "HoldAndDrain")) {
            reasons.push("Stopped");
            messages.push("is stopped".to_string());
        }
        if !missing.is_empty() {
            reasons.push("FlavorNotFound");
            messages.push(format!(
                "references missing ResourceFlavor(s): {}",
                missing.join(",")
            ));
        }
        let inactive = reasons.first().map(|r| {
            (
                r.to_string(),
                format!("Can't admit new workloads: {}.", messages.join(", ")),
            )
        });
        out.insert(
            name.to_string(),
            ClusterQueue {
                raw,
                best_effort: spec["queueingStrategy"] == "BestEffortFIFO",
                namespace_selector: &spec["namespaceSelector"],
                groups,
                inactive,
                draining: spec["stopPolicy"] == "HoldAndDrain",
            },
        );
    }
    out
}

/// Whether the ClusterQueue takes Workloads from this namespace. As in Kueue a null selector
/// matches nothing and `{}` everything. The state carries no Namespace objects, so the only
/// label known is the automatic kubernetes.io/metadata.name.
pub(super) fn namespace_matches(selector: &Value, namespace: &str) -> bool {
    let Some(sel) = selector.as_object() else {
        return false;
    };
    let label = |k: &str| (k == NAMESPACE_NAME_LABEL).then_some(namespace);
    match sel.get("matchLabels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            if m.iter().any(|(k, v)| label(k) != v.as_str()) {
                return false;
            }
        }
        Some(_) => return false,
    }
    match sel.get("matchExpressions") {
        None | Some(Value::Null) => true,
        Some(Value::Array(exprs)) => exprs.iter().all(|e| {
            let Some(key) = e["key"].as_str() else {
                return false;
            };
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let v = label(key);
            match e["operator"].as_str() {
                Some("In") => v.is_some_and(|v| values.contains(&v)),
                Some("NotIn") => v.is_none_or(|v| !values.contains(&v)),
                Some("Exists") => v.is_some(),
                Some("DoesNotExist") => v.is_none(),
                _ => false,
            }
        }),
        Some(_) => false,
    }
}

pub(super) struct LocalQueue<'a> {
    pub(super) raw: &'a Value,
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) cluster_queue: String,
    /// stopPolicy Hold or HoldAndDrain: nothing of it is admitted.
    pub(super) stopped: bool,
    /// stopPolicy HoldAndDrain: what it admitted is evicted too.
    pub(super) draining: bool,
}

pub(super) fn parse_local_queues(lqs: &[Value]) -> BTreeMap<(String, String), LocalQueue<'_>> {
    let mut out = BTreeMap::new();
    for raw in lqs {
        let meta = &raw["metadata"];
        let Some(name) = meta["name"].as_str().filter(|n| !n.is_empty()) else {
            continue;
        };
        let namespace = meta["namespace"].as_str().unwrap_or("").to_string();
        out.entry((namespace.clone(), name.to_string()))
            .or_insert(LocalQueue {
                raw,
                namespace,
                name: name.to_string(),
                cluster_queue: raw["spec"]["clusterQueue"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                stopped: matches!(
                    raw["spec"]["stopPolicy"].as_str(),
                    Some("Hold" | "HoldAndDrain")
                ),
                draining: raw["spec"]["stopPolicy"] == "HoldAndDrain",
            });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kueue::testkit::*;

    #[test]
    fn namespace_selector_decides_who_may_queue_without_blocking() {
        let mut w = World::new("StrictFIFO");
        w.cqs[0]["spec"]["namespaceSelector"] =
            json!({"matchLabels": {"kubernetes.io/metadata.name": NS}});
        w.lqs.push(local_queue("other", "team", "gpu"));
        let mut outsider = job("outsider", 8);
        outsider["metadata"]["namespace"] = json!("other");
        w.jobs.push(outsider);
        w.step(0);
        w.submit("insider", 8, 1);
        w.settle(2);
        let c = w
            .workloads
            .iter()
            .find(|x| x["metadata"]["namespace"] == "other")
            .map(|x| cond(x, "QuotaReserved"))
            .unwrap_or_default();
        assert_eq!(c["reason"], "Pending");
        assert_eq!(
            c["message"],
            "Workload namespace doesn't match ClusterQueue selector"
        );
        // Older, but a mismatch does not hold the StrictFIFO queue.
        assert_eq!(w.flavor_of("insider"), SPOT);

        assert!(!namespace_matches(&Value::Null, "ml"));
        assert!(namespace_matches(&json!({}), "ml"));
        let sel = json!({"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["ml", "research"]},
            {"key": "team", "operator": "DoesNotExist"}]});
        assert!(namespace_matches(&sel, "research"));
        assert!(!namespace_matches(&sel, "default"));
        assert!(!namespace_matches(
            &json!({"matchLabels": {"team": "ml"}}),
            "ml"
        ));
    }

    #[test]
    fn requests_sum_like_kubernetes_and_fall_back_to_limits() {
        let spec = json!({
            "containers": [
                {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "4", "nvidia.com/gpu": 2}}},
                {"resources": {"limits": {"cpu": "500m"}}},
            ],
            "initContainers": [
                {"resources": {"requests": {"cpu": "8", "nvidia.com/gpu": "0"}}},
                {"restartPolicy": "Always", "resources": {"requests": {"memory": "1Gi"}}},
            ],
            "overhead": {"cpu": "100m"},
        });
        let r = pod_requests(&spec);
        // max(1 + 0.5 + sidecar 0, init 8) + overhead 0.1; zero requests need no quota.
        assert_eq!(r.get("cpu"), Some(&8100));
        assert_eq!(r.get("memory"), Some(&(2 << 30)));
        assert_eq!(r.get("nvidia.com/gpu"), Some(&2));
        assert_eq!(r.len(), 3);
    }
}
