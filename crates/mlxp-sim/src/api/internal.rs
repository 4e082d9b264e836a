//! The server's own reads and writes, for controllers: no HTTP, no authorization, no field
//! ownership, but the same store, resourceVersions, watch events and garbage collection.

use std::sync::Arc;

use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::ApiState;
use super::write::{Propagation, remove};
use crate::clock;
use crate::ids;
use crate::resources::ResourceType;
use crate::store::StoredObject;

impl ApiState {
    /// The served type of a kind's store (any version: they share one).
    pub fn resource(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.registry()
            .all()
            .find(|t| t.group == group && t.plural == plural)
            .cloned()
    }

    /// Every object of a kind, decoded one at a time as the iterator is walked (decoding
    /// 150,000 pods at once would hold gigabytes).
    pub fn list_objects(&self, group: &str, plural: &str) -> impl Iterator<Item = Value> + use<> {
        let stored = match self.resource(group, plural) {
            Some(rt) => {
                self.store
                    .list(&rt.store_key(), None, None, None, |_| true)
                    .items
            }
            None => Vec::new(),
        };
        stored.into_iter().map(|o| o.value())
    }

    /// The stored objects of a kind that `keep` accepts, judged on their indexed labels and
    /// fields without decoding them: what controllers use to look at a few of many.
    pub fn list_stored(
        &self,
        group: &str,
        plural: &str,
        keep: impl Fn(&StoredObject) -> bool,
    ) -> Vec<Arc<StoredObject>> {
        match self.resource(group, plural) {
            Some(rt) => {
                self.store
                    .list(&rt.store_key(), None, None, None, keep)
                    .items
            }
            None => Vec::new(),
        }
    }

    /// Runs `f` with the cluster's seeded random source: the names and uids the server and
    /// its controllers make come from it, so the same seed gives the same cluster.
    pub fn random<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        f(&mut self.rng.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Runs `f` with the random source of what clients ask the server to create.
    pub fn random_for_requests<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        f(&mut self.requests_rng.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// One object, decoded.
    pub fn get_object(
        &self,
        group: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let rt = self.resource(group, plural)?;
        Some(self.store.get(&rt.store_key(), namespace, name)?.value())
    }

    /// The pods whose ownerReferences name `uid`, decoded.
    pub fn owned_by(&self, uid: &str) -> Vec<Value> {
        self.store
            .dependents(uid)
            .into_iter()
            .filter(|(key, _)| key.group.is_empty() && key.plural == "pods")
            .map(|(_, pod)| pod.value())
            .collect()
    }

    /// Replaces an object with `object`, unless it changed since it was read (its
    /// metadata.resourceVersion no longer current) or is gone; returns whether it was written.
    /// Writing an unchanged object is a no-op, as in the apiserver.
    pub fn replace_object(&self, group: &str, plural: &str, object: Value) -> bool {
        let Some(rt) = self.resource(group, plural) else {
            return false;
        };
        let namespace = text(&object, "namespace");
        let name = text(&object, "name");
        let rv = text(&object, "resourceVersion");
        self.store.transact(|tx| {
            let Some(current) = tx.get(&rt.store_key(), &namespace, &name) else {
                return false;
            };
            if current.rv.to_string() != rv {
                return false;
            }
            if current.value() == object {
                return true;
            }
            tx.put(&rt, object);
            true
        })
    }

    /// Deletes an object and, in the background, what it owns.
    pub fn delete_object(&self, group: &str, plural: &str, namespace: &str, name: &str) -> bool {
        let Some(rt) = self.resource(group, plural) else {
            return false;
        };
        let registry = self.registry().clone();
        self.store.transact(|tx| {
            let Some(current) = tx.get(&rt.store_key(), namespace, name) else {
                return false;
            };
            remove(tx, self, &registry, &rt, &current, Propagation::Cascade);
            true
        })
    }

    /// Records a core/v1 Event about `involved` (an object as stored), as a component does.
    pub fn record_event(
        &self,
        involved: &Value,
        kind: EventKind,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let now = clock::timestamp(self.clock.now());
        let meta = &involved["metadata"];
        let namespace = meta["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or("default");
        let object_name = meta["name"].as_str().unwrap_or("");
        let name = format!("{object_name}.{}", self.random(|rng| ids::hex(rng, 16)));
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved["apiVersion"], "kind": involved["kind"],
                "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
            },
            "reason": reason,
            "message": message,
            "type": kind.as_str(),
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        });
        // An event that cannot be stored (its namespace just went away) is not worth failing for.
        let _ = self.create_object(event);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Normal,
    Warning,
}

impl EventKind {
    fn as_str(self) -> &'static str {
        match self {
            EventKind::Normal => "Normal",
            EventKind::Warning => "Warning",
        }
    }
}

fn text(object: &Value, field: &str) -> String {
    object["metadata"][field].as_str().unwrap_or("").to_string()
}
