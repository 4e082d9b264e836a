//! The embedded cluster's object store: objects kept as their serialized JSON plus the few
//! fields the server filters on, one cluster-wide resourceVersion counter, and a bounded
//! history of changes that watches replay from.
//!
//! Objects are stored as bytes, not `serde_json::Value`s: a Value costs several times its
//! JSON size, and a list becomes a concatenation instead of a re-serialization.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::broadcast;

use super::resources::{ResourceType, StoreKey};

/// One stored object.
#[derive(Debug)]
pub struct StoredObject {
    pub namespace: Box<str>,
    pub name: Box<str>,
    pub uid: Box<str>,
    pub rv: u64,
    /// The whole object, apiVersion and kind included, as served.
    pub json: Bytes,
    /// Its `metadata.managedFields` (a JSON array), kept apart from `json` and shared by
    /// every object with the same entries: the pods a controller makes in one second share
    /// one copy. Served objects carry it (`served`, `value`).
    pub managed: Option<Arc<[u8]>>,
    pub labels: Box<[(Box<str>, Box<str>)]>,
    /// Values of the kind's selectable fields (see `ResourceType::field_labels`).
    pub fields: Box<[(&'static str, Box<str>)]>,
    pub owner_uids: Box<[Box<str>]>,
}

impl StoredObject {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }

    /// A selectable field's value, `metadata.name` and `metadata.namespace` included.
    pub fn field(&self, path: &str) -> Option<&str> {
        match path {
            "metadata.name" => Some(&self.name),
            "metadata.namespace" => Some(&self.namespace),
            _ => self
                .fields
                .iter()
                .find(|(k, _)| *k == path)
                .map(|(_, v)| &**v),
        }
    }

    /// The object as served, managedFields included.
    pub fn value(&self) -> Value {
        // Stored bytes were produced by serde_json from a Value, so they parse back.
        let mut object: Value = serde_json::from_slice(&self.json).unwrap_or(Value::Null);
        if let Some(managed) = &self.managed
            && let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
        {
            let entries = serde_json::from_slice(managed).unwrap_or(Value::Null);
            meta.insert("managedFields".into(), entries);
        }
        object
    }

    /// The object's JSON as served, managedFields included.
    pub fn served(&self) -> Bytes {
        if self.managed.is_none() {
            return self.json.clone();
        }
        let extra = self.managed.as_ref().map_or(0, |m| m.len());
        let mut out = Vec::with_capacity(self.json.len() + extra + 20);
        self.write_served(|bytes| out.extend_from_slice(bytes));
        Bytes::from(out)
    }

    /// Hands the object's JSON as served to `put`, piece by piece: managedFields spliced in
    /// as the first field of `metadata`, where a list or a watch event copies the bytes.
    pub fn write_served(&self, mut put: impl FnMut(&[u8])) {
        const META: &[u8] = b"\"metadata\":{";
        let spliced = self.managed.as_ref().and_then(|managed| {
            let at = self.json.windows(META.len()).position(|w| w == META)? + META.len();
            Some((at, managed))
        });
        let Some((at, managed)) = spliced else {
            put(&self.json);
            return;
        };
        put(&self.json[..at]);
        put(b"\"managedFields\":");
        put(managed);
        if self.json.get(at) != Some(&b'}') {
            put(b",");
        }
        put(&self.json[at..]);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One entry of the change history, as watches see it.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub key: StoreKey,
    pub kind: ChangeType,
    pub object: Arc<StoredObject>,
    /// What a MODIFIED change replaced: a watch with a selector tells from it whether the
    /// object started or stopped matching (then ADDED or DELETED, as the apiserver's).
    pub previous: Option<Arc<StoredObject>>,
}

/// Where an object is: its kind, namespace and name.
type ObjectKey = (StoreKey, Box<str>, Box<str>);

type Objects = BTreeMap<(Box<str>, Box<str>), Arc<StoredObject>>;

#[derive(Default)]
struct State {
    rv: u64,
    kinds: HashMap<StoreKey, Objects>,
    history: VecDeque<Arc<Change>>,
    /// Highest resourceVersion whose change is no longer in `history`.
    compacted_rv: u64,
    logs: HashMap<Box<str>, String>,
    /// Owner uid → its dependents, so garbage collection does not scan every object.
    dependents: HashMap<Box<str>, HashSet<ObjectKey>>,
    /// The managedFields in use, each once (`StoredObject::managed`).
    managed: HashSet<Arc<[u8]>>,
    /// Size of `managed` when last pruned of what no object holds.
    managed_pruned_at: usize,
}

impl State {
    /// Takes `metadata.managedFields` out of `object`, as the shared copy of its bytes.
    fn managed_of(&mut self, object: &mut Value) -> Option<Arc<[u8]>> {
        let entries = object
            .get_mut("metadata")
            .and_then(Value::as_object_mut)?
            .remove("managedFields")?;
        if entries.as_array().is_none_or(Vec::is_empty) {
            return None;
        }
        let bytes = serde_json::to_vec(&entries).ok()?;
        if let Some(known) = self.managed.get(&bytes[..]) {
            return Some(known.clone());
        }
        if self.managed.len() >= (2 * self.managed_pruned_at).max(1024) {
            self.managed.retain(|m| Arc::strong_count(m) > 1);
            self.managed_pruned_at = self.managed.len();
        }
        let shared: Arc<[u8]> = Arc::from(bytes);
        self.managed.insert(shared.clone());
        Some(shared)
    }

    fn dependents_of(&self, uid: &str) -> Vec<(StoreKey, Arc<StoredObject>)> {
        let Some(set) = self.dependents.get(uid) else {
            return Vec::new();
        };
        let mut out: Vec<_> = set
            .iter()
            .filter_map(|(key, ns, name)| {
                let object = self.kinds.get(key)?.get(&(ns.clone(), name.clone()))?;
                Some((key.clone(), object.clone()))
            })
            .collect();
        // Deterministic order, whatever the hash set's.
        out.sort_by(|a, b| {
            (&a.0, &a.1.namespace, &a.1.name).cmp(&(&b.0, &b.1.namespace, &b.1.name))
        });
        out
    }

    fn index_owners(&mut self, key: &StoreKey, object: &StoredObject, add: bool) {
        for owner in &object.owner_uids {
            let entry = (key.clone(), object.namespace.clone(), object.name.clone());
            if add {
                self.dependents
                    .entry(owner.clone())
                    .or_default()
                    .insert(entry);
            } else if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(&entry);
                if set.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
    }
}

/// A page of a list.
pub struct Listed {
    pub rv: u64,
    pub items: Vec<Arc<StoredObject>>,
    /// More objects pass the filter after the last one returned.
    pub more: bool,
}

/// The history is shorter than what the watch asked to start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    pub oldest: u64,
}

pub struct Store {
    state: RwLock<State>,
    changes: broadcast::Sender<Arc<Change>>,
    window: usize,
    log_appended: tokio::sync::Notify,
}

impl Store {
    /// `window`: how many changes a watch can resume across before it gets 410 Gone.
    pub fn new(window: usize) -> Self {
        let (changes, _) = broadcast::channel(window.clamp(1024, 1 << 16));
        Store {
            state: RwLock::new(State::default()),
            changes,
            window,
            log_appended: tokio::sync::Notify::new(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic elsewhere while holding the lock must not take the server down with it.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Watches and continue tokens from before this resourceVersion are expired.
    pub fn compacted_rv(&self) -> u64 {
        self.read().compacted_rv
    }

    pub fn resource_version(&self) -> u64 {
        self.read().rv
    }

    pub fn get(&self, key: &StoreKey, namespace: &str, name: &str) -> Option<Arc<StoredObject>> {
        self.read()
            .kinds
            .get(key)?
            .get(&(namespace.into(), name.into()))
            .cloned()
    }

    /// Objects of a kind (in one namespace, or all) that pass `keep`, in (namespace, name)
    /// order, starting after `after`, at most `limit` of them; with the store's
    /// resourceVersion and whether more would follow. Work is proportional to what is read,
    /// not to the size of the kind, so a page of a large list is cheap.
    pub fn list(
        &self,
        key: &StoreKey,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
        limit: Option<usize>,
        keep: impl Fn(&StoredObject) -> bool,
    ) -> Listed {
        use std::ops::Bound;
        let state = self.read();
        let mut listed = Listed {
            rv: state.rv,
            items: Vec::new(),
            more: false,
        };
        let Some(objects) = state.kinds.get(key) else {
            return listed;
        };
        let start: (Box<str>, Box<str>) = match (after, namespace) {
            (Some((ns, name)), _) => (ns.into(), name.into()),
            (None, Some(ns)) => (ns.into(), "".into()),
            (None, None) => ("".into(), "".into()),
        };
        let lower = if after.is_some() {
            Bound::Excluded(start)
        } else {
            Bound::Included(start)
        };
        let limit = limit.unwrap_or(usize::MAX);
        let matching = objects
            .range((lower, Bound::Unbounded))
            .take_while(|((ns, _), _)| namespace.is_none_or(|want| &**ns == want))
            .map(|(_, o)| o)
            .filter(|o| keep(o));
        for object in matching {
            if listed.items.len() == limit {
                listed.more = true;
                break;
            }
            listed.items.push(object.clone());
        }
        listed
    }

    pub fn count(&self, key: &StoreKey) -> usize {
        self.read().kinds.get(key).map_or(0, BTreeMap::len)
    }

    /// Runs `f` with exclusive access; every write inside it gets the next resourceVersion
    /// and becomes visible to watches, in order, when it is made.
    pub fn transact<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> T) -> T {
        let mut state = self.write();
        let mut tx = Tx {
            state: &mut state,
            changes: &self.changes,
            window: self.window,
        };
        f(&mut tx)
    }

    /// The changes after `rv` still in the history, and a receiver for those to come.
    /// Subscribing under the lock means no change falls between the two.
    #[allow(clippy::type_complexity)]
    pub fn watch_from(
        &self,
        rv: u64,
    ) -> Result<(Vec<Arc<Change>>, broadcast::Receiver<Arc<Change>>), Expired> {
        let state = self.read();
        if rv < state.compacted_rv {
            return Err(Expired {
                oldest: state.compacted_rv,
            });
        }
        let receiver = self.changes.subscribe();
        let start = state.history.partition_point(|c| c.rv <= rv);
        let backlog = state.history.range(start..).cloned().collect();
        Ok((backlog, receiver))
    }

    /// Objects of any kind that name `uid` among their ownerReferences.
    pub fn dependents(&self, uid: &str) -> Vec<(StoreKey, Arc<StoredObject>)> {
        self.read().dependents_of(uid)
    }

    /// A receiver of every change from now on (controllers' work queues).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// Forgets the whole change history, so every watch resuming from before now gets
    /// 410 Gone (tests use it to check that clients re-list).
    pub fn compact(&self) {
        let mut state = self.write();
        state.compacted_rv = state.rv;
        state.history.clear();
    }

    /// Every object's JSON, kind by kind, read at one instant, with the resourceVersion
    /// the store had then: what a data dir saves. Cheap under the lock (shared bytes).
    pub fn snapshot(&self) -> (u64, Vec<Bytes>) {
        let state = self.read();
        let mut kinds: Vec<_> = state.kinds.iter().collect();
        // Custom resources' definitions first, so a reader can serve their kinds before
        // it meets their objects; then a stable order, for files that diff well.
        kinds.sort_by_key(|(key, _)| (key.plural != "customresourcedefinitions", *key));
        let objects = kinds
            .into_iter()
            .flat_map(|(_, objects)| objects.values().map(|o| o.served()))
            .collect();
        (state.rv, objects)
    }

    /// Puts back what an earlier run saved, as it was (uids, resourceVersions, timestamps),
    /// without recording changes: no watch can have started yet. The counter continues from
    /// `rv` (or the highest object's, if higher) and the history starts there, so every
    /// later write gets a greater resourceVersion and a watch from before gets 410 Gone.
    pub fn restore(&self, rv: u64, objects: Vec<(Arc<ResourceType>, u64, Value)>) {
        let mut state = self.write();
        state.rv = rv;
        for (rt, object_rv, mut object) in objects {
            let managed = state.managed_of(&mut object);
            let stored = Arc::new(index(&rt, &object, object_rv, managed));
            let key = rt.store_key();
            state.index_owners(&key, &stored, true);
            state.rv = state.rv.max(object_rv);
            let slot = (stored.namespace.clone(), stored.name.clone());
            state.kinds.entry(key).or_default().insert(slot, stored);
        }
        state.compacted_rv = state.rv;
        state.history.clear();
    }

    pub fn logs(&self, uid: &str) -> String {
        self.read().logs.get(uid).cloned().unwrap_or_default()
    }

    pub fn append_log(&self, uid: &str, text: &str) {
        self.write()
            .logs
            .entry(uid.into())
            .or_default()
            .push_str(text);
        self.log_appended.notify_waiters();
    }

    /// Resolves at the next `append_log`, for followers of a log.
    pub fn log_appended(&self) -> tokio::sync::futures::Notified<'_> {
        self.log_appended.notified()
    }
}

/// Exclusive access to the store for one request's reads and writes.
pub struct Tx<'a> {
    state: &'a mut State,
    changes: &'a broadcast::Sender<Arc<Change>>,
    window: usize,
}

impl Tx<'_> {
    pub fn get(&self, key: &StoreKey, namespace: &str, name: &str) -> Option<Arc<StoredObject>> {
        self.state
            .kinds
            .get(key)?
            .get(&(namespace.into(), name.into()))
            .cloned()
    }

    pub fn next_rv(&self) -> u64 {
        self.state.rv + 1
    }

    /// Stores `object` (creating or replacing), stamping `metadata.resourceVersion`.
    pub fn put(&mut self, rt: &ResourceType, mut object: Value) -> Arc<StoredObject> {
        self.state.rv += 1;
        let rv = self.state.rv;
        set_rv(&mut object, rv);
        let managed = self.state.managed_of(&mut object);
        let stored = Arc::new(index(rt, &object, rv, managed));
        let key = rt.store_key();
        let slot = (stored.namespace.clone(), stored.name.clone());
        let previous = self
            .state
            .kinds
            .entry(key.clone())
            .or_default()
            .insert(slot, stored.clone());
        if let Some(old) = &previous {
            self.state.index_owners(&key, old, false);
        }
        self.state.index_owners(&key, &stored, true);
        let kind = if previous.is_some() {
            ChangeType::Modified
        } else {
            ChangeType::Added
        };
        self.record(key, kind, stored.clone(), previous);
        stored
    }

    /// Removes an object; the DELETED change carries its last state at a new resourceVersion.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<StoredObject>> {
        let key = rt.store_key();
        let old = self
            .state
            .kinds
            .get_mut(&key)?
            .remove(&(namespace.into(), name.into()))?;
        self.state.index_owners(&key, &old, false);
        self.state.rv += 1;
        let rv = self.state.rv;
        let mut object = old.value();
        set_rv(&mut object, rv);
        let managed = self.state.managed_of(&mut object);
        let stored = Arc::new(index(rt, &object, rv, managed));
        self.state.logs.remove(&old.uid);
        self.record(key, ChangeType::Deleted, stored.clone(), None);
        Some(stored)
    }

    /// Objects of any kind that name `uid` among their ownerReferences.
    pub fn dependents(&self, uid: &str) -> Vec<(StoreKey, Arc<StoredObject>)> {
        self.state.dependents_of(uid)
    }

    /// (namespace, name) of every object of a kind, in one namespace or all.
    pub fn names(&self, key: &StoreKey, namespace: Option<&str>) -> Vec<(String, String)> {
        self.state.kinds.get(key).map_or_else(Vec::new, |objects| {
            objects
                .keys()
                .filter(|(ns, _)| namespace.is_none_or(|want| &**ns == want))
                .map(|(ns, name)| (ns.to_string(), name.to_string()))
                .collect()
        })
    }

    fn record(
        &mut self,
        key: StoreKey,
        kind: ChangeType,
        object: Arc<StoredObject>,
        previous: Option<Arc<StoredObject>>,
    ) {
        let change = Arc::new(Change {
            rv: object.rv,
            key,
            kind,
            object,
            previous,
        });
        self.state.history.push_back(change.clone());
        while self.state.history.len() > self.window {
            if let Some(dropped) = self.state.history.pop_front() {
                self.state.compacted_rv = dropped.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.changes.send(change);
    }
}

/// The object's JSON in an allocation of its exact size: serializing grows a buffer by
/// doubling, and keeping that slack would cost up to as much again as the data.
fn compact_json(object: &Value) -> Bytes {
    // Serializing a Value cannot fail (its keys are strings).
    let mut bytes = serde_json::to_vec(object).unwrap_or_default();
    bytes.shrink_to_fit();
    Bytes::from(bytes)
}

fn set_rv(object: &mut Value, rv: u64) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

fn index(rt: &ResourceType, object: &Value, rv: u64, managed: Option<Arc<[u8]>>) -> StoredObject {
    let meta = object.get("metadata");
    let text = |path: &str| -> Box<str> {
        meta.and_then(|m| m.get(path))
            .and_then(Value::as_str)
            .unwrap_or("")
            .into()
    };
    let labels = meta
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .filter_map(|(k, v)| Some((k.as_str().into(), v.as_str()?.into())))
                .collect()
        })
        .unwrap_or_default();
    let fields = rt
        .field_labels
        .iter()
        .filter_map(|path| {
            let pointer = format!("/{}", path.replace('.', "/"));
            let value = match object.pointer(&pointer)? {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                // Event's `source` selects on the component.
                Value::Object(o) => o.get("component")?.as_str()?.to_string(),
                _ => return None,
            };
            Some((*path, value.into_boxed_str()))
        })
        .collect();
    let owner_uids = meta
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| Some(r.get("uid")?.as_str()?.into()))
                .collect()
        })
        .unwrap_or_default();
    StoredObject {
        namespace: text("namespace"),
        name: text("name"),
        uid: text("uid"),
        rv,
        json: compact_json(object),
        managed,
        labels,
        fields,
        owner_uids,
    }
}
