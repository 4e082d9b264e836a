//! The flavor assigner (FlavorAssigner.assignFlavors with the default flavor fungibility):
//! per pod set and ResourceGroup the first flavor whose taints are tolerated, whose node labels
//! match the pod's node selector / required affinity, and whose quota fits.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::model::{Amounts, ClusterQueue, Flavor, Usage, quantity_string, toleration};
use super::workload::PodSet;
use crate::controllers::scheduling::{Toleration, tolerates};

/// How a flavor can serve a request, worst first. Without preemption, Preempt means "would
/// fit within the nominal quota once others finish" (Kueue's noPreemptionCandidates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Mode {
    NoFit,
    Preempt,
    Fit,
}

/// resource → (flavor, how it serves the request).
pub(super) type FlavorChoice = BTreeMap<String, (String, Mode)>;

pub(super) struct PodSetAssignment {
    pub(super) name: String,
    pub(super) count: i64,
    pub(super) flavors: FlavorChoice,
    pub(super) requests: Amounts,
    pub(super) reasons: Vec<String>,
    pub(super) failed: bool,
}

impl PodSetAssignment {
    pub(super) fn mode(&self) -> Mode {
        if self.failed {
            Mode::NoFit
        } else if self.reasons.is_empty() {
            Mode::Fit
        } else {
            self.flavors
                .values()
                .map(|(_, m)| *m)
                .min()
                .unwrap_or(Mode::NoFit)
        }
    }
}

pub(super) struct Assignment {
    pub(super) pod_sets: Vec<PodSetAssignment>,
}

impl Assignment {
    /// RepresentativeMode: the worst pod set; no pod sets at all never fit.
    pub(super) fn fits(&self) -> bool {
        !self.pod_sets.is_empty() && self.pod_sets.iter().all(|p| p.mode() == Mode::Fit)
    }

    /// Assignment.Message: "couldn't assign flavors to pod set <ps>: <sorted reasons>".
    pub(super) fn message(&self) -> String {
        self.pod_sets
            .iter()
            .filter(|ps| !ps.reasons.is_empty())
            .map(|ps| {
                let mut reasons = ps.reasons.clone();
                reasons.sort();
                format!(
                    "couldn't assign flavors to pod set {}: {}",
                    ps.name,
                    reasons.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(super) fn to_admission(&self, cluster_queue: &str) -> Value {
        let pod_sets: Vec<Value> = self
            .pod_sets
            .iter()
            .map(|ps| {
                let flavors: Map<String, Value> = ps
                    .flavors
                    .iter()
                    .map(|(r, (f, _))| (r.clone(), json!(f)))
                    .collect();
                let usage: Map<String, Value> = ps
                    .requests
                    .iter()
                    .map(|(r, v)| (r.clone(), json!(quantity_string(r, *v))))
                    .collect();
                json!({"name": ps.name, "flavors": flavors, "resourceUsage": usage, "count": ps.count})
            })
            .collect();
        json!({"clusterQueue": cluster_queue, "podSetAssignments": pod_sets})
    }
}

/// FlavorAssigner.assignFlavors: per pod set, per ResourceGroup of a requested resource, the
/// first flavor where everything fits; failing that the first where it would fit once quota
/// frees up, with every flavor's reason. Later pod sets see the usage of earlier ones.
pub(super) fn assign(
    cq: &ClusterQueue,
    flavors: &BTreeMap<String, Flavor>,
    pod_sets: &[PodSet],
    usage: &Usage,
) -> Assignment {
    let mut assigned = Usage::new();
    let mut out = Vec::new();
    let count_pods = cq.group_of("pods").is_some();
    for ps in pod_sets {
        let mut requests = ps.requests.clone();
        // Pods count against quota only when the ClusterQueue covers "pods".
        if count_pods && ps.count > 0 {
            requests.insert("pods".into(), ps.count);
        }
        let mut psa = PodSetAssignment {
            name: ps.name.clone(),
            count: ps.count,
            flavors: BTreeMap::new(),
            requests: requests.clone(),
            reasons: Vec::new(),
            failed: false,
        };
        for res in requests.keys() {
            if psa.flavors.contains_key(res) {
                continue;
            }
            let (found, reasons) = find_flavor(cq, flavors, ps, &requests, res, usage, &assigned);
            match found {
                Some(f) => {
                    psa.flavors.extend(f);
                    psa.reasons.extend(reasons);
                }
                None => {
                    psa.flavors.clear();
                    psa.reasons = reasons;
                    psa.failed = true;
                    break;
                }
            }
        }
        for (res, (flavor, _)) in &psa.flavors {
            let e = assigned.entry((flavor.clone(), res.clone())).or_insert(0);
            *e = e.saturating_add(requests.get(res).copied().unwrap_or(0));
        }
        let failed = psa.failed;
        out.push(psa);
        if failed {
            break;
        }
    }
    Assignment { pod_sets: out }
}

/// findFlavorForPodSetResource for the ResourceGroup covering `resource`: the chosen
/// flavor for each of the group's requested resources (None when no flavor can ever serve
/// them), and why the flavors tried don't fit now.
pub(super) fn find_flavor(
    cq: &ClusterQueue,
    flavors: &BTreeMap<String, Flavor>,
    ps: &PodSet,
    requests: &Amounts,
    resource: &str,
    usage: &Usage,
    assigned: &Usage,
) -> (Option<FlavorChoice>, Vec<String>) {
    let Some(group) = cq.group_of(resource) else {
        return (
            None,
            vec![format!("resource {resource} unavailable in ClusterQueue")],
        );
    };
    let wanted: Vec<(&String, i64)> = requests
        .iter()
        .filter(|(r, _)| group.covered.contains(r))
        .map(|(r, v)| (r, *v))
        .collect();
    let selector = FlavorSelector::new(ps.spec, &group.label_keys);
    let tolerations: Vec<Toleration> = ps.spec["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(toleration)
        .collect();
    let mut reasons = Vec::new();
    let mut best: Option<(FlavorChoice, Mode)> = None;
    for fq in &group.flavors {
        let Some(flavor) = flavors.get(&fq.name) else {
            reasons.push(format!("flavor {} not found", fq.name));
            continue;
        };
        // The pod's own tolerations and the ones the flavor adds on start.
        let mut all = tolerations.clone();
        all.extend(flavor.tolerations.iter().map(toleration));
        if let Some(t) = flavor.taints.iter().find(|t| !tolerates(&all, t)) {
            // Go's %s of a corev1.Taint value (TimeAdded unset).
            reasons.push(format!(
                "untolerated taint {{{} {} {} <nil>}} in flavor {}",
                t.key, t.value, t.effect, fq.name
            ));
            continue;
        }
        if !selector.matches(&flavor.node_labels) {
            reasons.push(format!("flavor {} doesn't match node affinity", fq.name));
            continue;
        }
        let mut chosen = BTreeMap::new();
        let mut mode = Mode::Fit;
        for &(res, request) in &wanted {
            let key = (fq.name.clone(), res.clone());
            let nominal = fq.nominal.get(res).copied().unwrap_or(0);
            let used = usage.get(&key).copied().unwrap_or(0);
            let val = request.saturating_add(assigned.get(&key).copied().unwrap_or(0));
            let available = nominal.saturating_sub(used).max(0);
            // fitsResourceQuota without a cohort: the nominal quota is the most there can be.
            let res_mode = if val > nominal {
                reasons.push(format!(
                    "insufficient quota for {res} in flavor {}, request > maximum capacity ({} > {})",
                    fq.name,
                    quantity_string(res, val),
                    quantity_string(res, nominal)
                ));
                Mode::NoFit
            } else if val <= available {
                Mode::Fit
            } else {
                reasons.push(format!(
                    "insufficient unused quota for {res} in flavor {}, {} more needed",
                    fq.name,
                    quantity_string(res, val.saturating_sub(available))
                ));
                Mode::Preempt
            };
            mode = mode.min(res_mode);
            if mode == Mode::NoFit {
                break;
            }
            chosen.insert(res.clone(), (fq.name.clone(), res_mode));
        }
        if mode == Mode::Fit {
            return (Some(chosen), Vec::new());
        }
        if mode > Mode::NoFit && best.as_ref().is_none_or(|(_, m)| mode > *m) {
            best = Some((chosen, mode));
        }
    }
    (best.map(|(chosen, _)| chosen), reasons)
}

/// A node selector requirement (v1.NodeSelectorRequirement).
pub(super) struct NodeRequirement {
    pub(super) key: String,
    pub(super) operator: String,
    pub(super) values: Vec<String>,
}

impl NodeRequirement {
    pub(super) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        let int = |s: &str| s.parse::<i64>().ok();
        match self.operator.as_str() {
            "In" => v.is_some_and(|v| self.values.contains(v)),
            "NotIn" => v.is_none_or(|v| !self.values.contains(v)),
            "Exists" => v.is_some(),
            "DoesNotExist" => v.is_none(),
            "Gt" | "Lt" => {
                let (Some(have), Some(bound)) = (
                    v.and_then(|v| int(v)),
                    self.values.first().and_then(|b| int(b)),
                ) else {
                    return false;
                };
                if self.operator == "Gt" {
                    have > bound
                } else {
                    have < bound
                }
            }
            _ => false,
        }
    }
}

/// flavorSelector: the pod's nodeSelector and required node affinity, narrowed to the label
/// keys the ResourceGroup's flavors define, matched against a flavor's nodeLabels.
pub(super) struct FlavorSelector {
    pub(super) node_selector: Vec<(String, String)>,
    /// ORed terms of ANDed requirements; None when unconstrained.
    pub(super) terms: Option<Vec<Vec<NodeRequirement>>>,
}

impl FlavorSelector {
    pub(super) fn new(spec: &Value, keys: &BTreeSet<String>) -> Self {
        let node_selector = spec["nodeSelector"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| keys.contains(*k))
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let list = &spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"];
        let mut terms = Vec::new();
        for t in list.as_array().into_iter().flatten() {
            let reqs: Vec<NodeRequirement> = t["matchExpressions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let key = e["key"].as_str()?;
                    keys.contains(key).then(|| NodeRequirement {
                        key: key.to_string(),
                        operator: e["operator"].as_str().unwrap_or("").to_string(),
                        values: e["values"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                    })
                })
                .collect();
            // A term left empty matches any flavor, and terms are ORed.
            if reqs.is_empty() {
                terms.clear();
                break;
            }
            terms.push(reqs);
        }
        FlavorSelector {
            node_selector,
            terms: (!terms.is_empty()).then_some(terms),
        }
    }

    pub(super) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.node_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.terms.as_ref().is_none_or(|terms| {
                terms
                    .iter()
                    .any(|reqs| reqs.iter().all(|r| r.matches(labels)))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kueue::testkit::*;

    #[test]
    fn node_affinity_and_taints_steer_the_flavor() {
        let mut w = World::new("BestEffortFIFO");
        let mut on_demand_only = job("pinned", 8);
        on_demand_only["spec"]["template"]["spec"]["nodeSelector"] =
            json!({SPOT_LABEL: "false", "unrelated": "x"});
        w.jobs.push(on_demand_only);
        let mut affinity = job("affine", 8);
        affinity["spec"]["template"]["spec"]["affinity"] = json!({"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": SPOT_LABEL, "operator": "NotIn", "values": ["true"]}]}]}}});
        w.jobs.push(affinity);
        w.settle(0);
        assert_eq!(w.flavor_of("affine"), ON_DEMAND);
        // The unrelated selector key is not a flavor label, so it doesn't count; but on-demand is full.
        assert_eq!(
            cond(w.wl("pinned"), "QuotaReserved")["message"],
            "couldn't assign flavors to pod set main: flavor h100-spot doesn't match node affinity, \
             insufficient unused quota for nvidia.com/gpu in flavor h100-ondemand, 8 more needed"
        );

        // Spot nodes tainted, and this spot flavor doesn't add the toleration itself.
        let mut w = World::new("BestEffortFIFO");
        w.flavors[0]["spec"]["nodeTaints"] =
            json!([{"key": SPOT_LABEL, "value": "true", "effect": "NoSchedule"}]);
        w.flavors[0]["spec"]["tolerations"] = json!([gpu_toleration()]);
        w.submit("a", 8, 0);
        w.submit("b", 8, 1);
        w.settle(2);
        assert_eq!(w.flavor_of("a"), ON_DEMAND);
        assert_eq!(
            cond(w.wl("b"), "QuotaReserved")["message"],
            "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor \
             h100-ondemand, 8 more needed, untolerated taint {cloud.google.com/gke-spot true NoSchedule <nil>} \
             in flavor h100-spot"
        );
        // A pod tolerating the taint may use spot.
        let mut tolerant = job("tolerant", 8);
        tolerant["spec"]["template"]["spec"]["tolerations"] = json!([spot_toleration()]);
        w.jobs.push(tolerant);
        w.settle(3);
        assert_eq!(w.flavor_of("tolerant"), SPOT);
    }

    #[test]
    fn quota_messages_and_quantities_read_like_kueue() {
        let mut w = World::new("BestEffortFIFO");
        w.submit("huge", 24, 0);
        let mut fpga = job("fpga", 0);
        fpga["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] =
            json!({"example.com/fpga": 1});
        w.jobs.push(fpga);
        w.settle(1);
        assert_eq!(
            cond(w.wl("huge"), "QuotaReserved")["message"],
            "couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu in flavor \
             h100-ondemand, request > maximum capacity (24 > 8), insufficient quota for nvidia.com/gpu in \
             flavor h100-spot, request > maximum capacity (24 > 16)"
        );
        assert_eq!(
            cond(w.wl("fpga"), "QuotaReserved")["message"],
            "couldn't assign flavors to pod set main: resource example.com/fpga unavailable in ClusterQueue"
        );

        // "pods" counts only where the ClusterQueue covers it.
        let mut w = World::new("StrictFIFO");
        w.cqs[0]["spec"]["resourceGroups"] = json!([{"coveredResources": ["nvidia.com/gpu", "pods"],
            "flavors": [{"name": SPOT, "resources": [{"name": "nvidia.com/gpu", "nominalQuota": "16"},
                                                     {"name": "pods", "nominalQuota": 2}]}]}]);
        let mut wide = job("wide", 1);
        wide["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({"limits": {"nvidia.com/gpu": "1"}});
        wide["spec"]["parallelism"] = json!(3);
        wide["spec"]["completions"] = json!(6);
        w.jobs.push(wide);
        w.settle(0);
        assert_eq!(
            cond(w.wl("wide"), "QuotaReserved")["message"],
            "couldn't assign flavors to pod set main: insufficient quota for pods in flavor h100-spot, \
             request > maximum capacity (3 > 2)"
        );

        assert_eq!(quantity_string("cpu", 1500), "1500m");
        assert_eq!(quantity_string("cpu", 2000), "2");
        assert_eq!(quantity_string("memory", 64 << 30), "64Gi");
        assert_eq!(quantity_string("memory", 1500), "1500");
        assert_eq!(quantity_string("nvidia.com/gpu", 0), "0");
        assert_eq!(quantity_string("nvidia.com/gpu", 1000), "1k");
        assert_eq!(quantity_string("nvidia.com/gpu", 1_500_000), "1500k");
    }
}
