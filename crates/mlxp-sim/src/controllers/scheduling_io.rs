//! The scheduler: binds pending pods to nodes (decisions in `scheduling`), keeps a running
//! account of what each node has promised, and says why a pod cannot be placed — as a
//! `PodScheduled=False` condition and a `FailedScheduling` event, like kube-scheduler.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::queue::{Work, WorkQueue};
use super::scheduling::{NodeInfo, PodNeeds, Resources, requests_of, schedule};
use crate::api::ApiState;
use crate::api::internal::EventKind;
use crate::clock::timestamp;
use crate::resources::StoreKey;

type PodKey = (String, String);

pub struct Scheduler {
    queue: WorkQueue,
    /// Pods bound to a node and not finished: node and requests, for the nodes' accounts.
    bound: HashMap<PodKey, (String, Resources)>,
    /// The last reason each pending pod was told, so an event is not repeated every pass.
    told: HashMap<PodKey, String>,
    /// Pods waiting to be bound, kept up to date from the pods' changes.
    pending: BTreeSet<PodKey>,
    /// Each node as last decoded, with its resourceVersion then.
    node_infos: HashMap<Box<str>, (u64, Option<NodeInfo>)>,
}

fn key(group: &str, plural: &str) -> StoreKey {
    StoreKey {
        group: group.into(),
        plural: plural.into(),
    }
}

fn pod_key(pod: &Value) -> PodKey {
    (
        pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        pod["metadata"]["name"].as_str().unwrap_or("").to_string(),
    )
}

/// Pods that hold resources on their node: bound and not finished.
fn holds_resources(pod: &Value) -> Option<String> {
    let node = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty())?;
    match pod["status"]["phase"].as_str() {
        Some("Succeeded") | Some("Failed") => None,
        _ => Some(node.to_string()),
    }
}

impl Scheduler {
    pub fn new(state: &ApiState) -> Self {
        Scheduler {
            queue: WorkQueue::new(&state.store, vec![key("", "pods"), key("", "nodes")]),
            bound: HashMap::new(),
            told: HashMap::new(),
            pending: BTreeSet::new(),
            node_infos: HashMap::new(),
        }
    }

    fn account(&mut self, key: PodKey, pod: Option<&Value>) {
        match pod.and_then(|p| holds_resources(p).map(|node| (node, requests_of(p)))) {
            Some(entry) => {
                self.bound.insert(key, entry);
            }
            None => {
                self.bound.remove(&key);
            }
        }
    }

    /// Whether `pod` waits for this scheduler.
    fn track(&mut self, key: PodKey, pod: Option<&Value>) {
        let waiting = pod.is_some_and(|p| {
            p["status"]["phase"] == "Pending"
                && p["spec"]["nodeName"].as_str().unwrap_or("").is_empty()
                && p["spec"]["schedulerName"]
                    .as_str()
                    .is_none_or(|s| s == "default-scheduler")
                && p["metadata"]["deletionTimestamp"].is_null()
        });
        if waiting {
            self.pending.insert(key);
        } else {
            self.pending.remove(&key);
            self.told.remove(&key);
        }
    }

    /// One pass: bring the accounts up to date, then try every pending pod if anything
    /// changed. Returns how many pods it bound.
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        match self.queue.take(now) {
            Work::All => {
                self.bound.clear();
                self.pending.clear();
                for pod in state.list_objects("", "pods") {
                    self.account(pod_key(&pod), Some(&pod));
                    self.track(pod_key(&pod), Some(&pod));
                }
            }
            Work::Some(refs) if refs.is_empty() => return 0,
            Work::Some(refs) => {
                for (kind, ns, name) in refs {
                    if kind.plural == "pods" {
                        let pod = state.get_object("", "pods", &ns, &name);
                        self.account((ns.clone(), name.clone()), pod.as_ref());
                        self.track((ns, name), pod.as_ref());
                    }
                }
            }
        }
        if self.pending.is_empty() {
            return 0;
        }
        let mut pending: Vec<Value> = self
            .pending
            .iter()
            .filter_map(|(ns, name)| state.get_object("", "pods", ns, name))
            .collect();
        // First come, first served, as the scheduling queue does for pods of one priority.
        pending.sort_by(|a, b| {
            let created = |p: &Value| {
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            (created(a), pod_key(a)).cmp(&(created(b), pod_key(b)))
        });
        let mut nodes = self.nodes(state);
        let mut bound = 0;
        for pod in pending {
            let needs = PodNeeds::from_json(&pod);
            match schedule(&needs, &nodes) {
                Ok(node) => {
                    if self.bind(state, &pod, &node, now) {
                        bound += 1;
                        if let Some(n) = nodes.iter_mut().find(|n| n.name == node) {
                            n.requested.add(&needs.requests);
                        }
                        self.bound.insert(pod_key(&pod), (node, needs.requests));
                        self.pending.remove(&pod_key(&pod));
                        self.told.remove(&pod_key(&pod));
                    }
                }
                Err(reason) => self.unschedulable(state, &pod, &reason, now),
            }
        }
        bound
    }

    /// Every node with what its bound pods request. A node is decoded again only when it
    /// changed: thousands of nodes, one pass per change of any pod.
    fn nodes(&mut self, state: &ApiState) -> Vec<NodeInfo> {
        let mut requested: BTreeMap<&str, Resources> = BTreeMap::new();
        for (node, requests) in self.bound.values() {
            requested.entry(node.as_str()).or_default().add(requests);
        }
        let stored = state.list_stored("", "nodes", |_| true);
        let mut infos = HashMap::with_capacity(stored.len());
        let mut nodes = Vec::with_capacity(stored.len());
        for node in stored {
            let info = match self.node_infos.remove(&*node.name) {
                Some((rv, info)) if rv == node.rv => info,
                _ => NodeInfo::from_json(&node.value()),
            };
            if let Some(mut info) = info.clone() {
                if let Some(r) = requested.get(info.name.as_str()) {
                    info.requested = r.clone();
                }
                nodes.push(info);
            }
            infos.insert(node.name.clone(), (node.rv, info));
        }
        self.node_infos = infos;
        nodes
    }

    fn bind(&self, state: &ApiState, pod: &Value, node: &str, now: DateTime<Utc>) -> bool {
        let mut next = pod.clone();
        next["spec"]["nodeName"] = json!(node);
        set_scheduled(&mut next, "True", None, now);
        if !state.replace_object("", "pods", next) {
            return false;
        }
        let (ns, name) = pod_key(pod);
        state.record_event(
            pod,
            EventKind::Normal,
            "Scheduled",
            &format!("Successfully assigned {ns}/{name} to {node}"),
            "default-scheduler",
        );
        true
    }

    fn unschedulable(&mut self, state: &ApiState, pod: &Value, reason: &str, now: DateTime<Utc>) {
        let key = pod_key(pod);
        if self.told.get(&key).map(String::as_str) == Some(reason) {
            return;
        }
        let mut next = pod.clone();
        set_scheduled(&mut next, "False", Some(reason), now);
        if state.replace_object("", "pods", next) {
            state.record_event(
                pod,
                EventKind::Warning,
                "FailedScheduling",
                reason,
                "default-scheduler",
            );
            self.told.insert(key, reason.to_string());
        }
    }
}

fn set_scheduled(pod: &mut Value, status: &str, message: Option<&str>, now: DateTime<Utc>) {
    let mut condition = json!({
        "type": "PodScheduled", "status": status,
        "lastProbeTime": null, "lastTransitionTime": timestamp(now),
    });
    if let Some(message) = message {
        condition["reason"] = json!("Unschedulable");
        condition["message"] = json!(message);
    }
    if !pod["status"]["conditions"].is_array() {
        pod["status"]["conditions"] = json!([]);
    }
    if let Some(list) = pod["status"]["conditions"].as_array_mut() {
        list.retain(|c| c["type"] != "PodScheduled");
        list.push(condition);
    }
}
