//! Server-side apply with field ownership kept next to the object (the server
//! does not store `metadata.managedFields`). Modelled on structured-merge-diff:
//! ownership is per leaf field; keyed list items are identified by their key
//! (`[name="app"]`), set-like lists by value (`[="x"]`), other lists are atomic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{ListKind, PatchError, list_kind, remove_key};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Elem {
    Field(String),
    /// Item of a keyed list: key name and the key's JSON text.
    Key(&'static str, String),
    /// Member of a set-like primitive list, as JSON text.
    Member(String),
}

type Path = Vec<Elem>;
/// Leaf paths of an object with their values (`Null` for item identities).
type Leaves = BTreeMap<Path, Value>;

/// Apply and update entries of one manager are distinct, as in managedFields:
/// an apply only gives up fields of its own previous apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Operation {
    Apply,
    Update,
}

/// Metadata written by the server: never owned, never taken from an apply body.
const SERVER_METADATA: [&str; 8] = [
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];
/// Identity fields: taken from the apply body but not owned by anyone.
const IDENTITY_METADATA: [&str; 2] = ["name", "namespace"];
const IDENTITY_TOP: [&str; 2] = ["apiVersion", "kind"];

/// Leaf field paths owned per manager, e.g. `.spec.replicas`,
/// `.spec.template.spec.containers[name="app"].image`.
#[derive(Debug, Clone, Default)]
pub struct FieldOwners {
    owners: BTreeMap<(String, Operation), BTreeSet<Path>>,
}

impl FieldOwners {
    /// Record that `manager` wrote the fields that changed between `old` and `new` by a
    /// non-apply write (create / update / patch): it now owns them, others lose them.
    /// `old == None` is a create and starts ownership afresh.
    pub fn record_update(&mut self, old: Option<&Value>, new: &Value, manager: &str) {
        let new_leaves = leaves(new);
        let old_leaves = old.map(leaves).unwrap_or_default();
        if old.is_none() {
            self.owners.clear();
        }
        let changed: BTreeSet<Path> = new_leaves
            .iter()
            .filter(|(path, value)| old_leaves.get(*path) != Some(*value))
            .map(|(path, _)| path.clone())
            .collect();
        let me = (manager.to_string(), Operation::Update);
        for (id, owned) in &mut self.owners {
            owned.retain(|p| new_leaves.contains_key(p) && (*id == me || !changed.contains(p)));
        }
        self.owners.entry(me).or_default().extend(changed);
        self.owners.retain(|_, owned| !owned.is_empty());
    }

    /// Server-side apply of `applied` (the full intent of `manager`) onto `live`
    /// (`None` = create). Returns the new object; on error nothing changes.
    ///
    /// A field in `applied` owned by another manager whose live value differs is a
    /// conflict, unless `force`, which moves ownership to `manager`. Fields `manager`
    /// applied before but no longer does, and that nobody else holds, are removed.
    /// `status` and server-set metadata are ignored; nulls in `applied` mean "unset".
    pub fn apply(
        &mut self,
        live: Option<&Value>,
        applied: &Value,
        manager: &str,
        force: bool,
    ) -> Result<Value, PatchError> {
        let intent = intent(applied)?;
        let mut object = match live {
            Some(Value::Object(m)) => Value::Object(m.clone()),
            None => Value::Object(Map::new()),
            Some(_) => {
                return Err(PatchError::Invalid(
                    "live object is not a JSON object".into(),
                ));
            }
        };
        // A create starts afresh: ownership left over from a deleted namesake is stale.
        let mut owners = if live.is_some() {
            self.owners.clone()
        } else {
            BTreeMap::new()
        };
        let me = (manager.to_string(), Operation::Apply);
        let applied_leaves = leaves(&intent);
        let live_leaves = leaves(&object);

        let mut conflicts = Vec::new();
        for (path, value) in &applied_leaves {
            if live_leaves
                .get(path)
                .is_none_or(|live_value| live_value == value)
            {
                continue; // same value (or new field): ownership is simply shared
            }
            for (id, owned) in &owners {
                if *id != me && owned.contains(path) {
                    conflicts.push((id.clone(), path.clone()));
                }
            }
        }
        if !conflicts.is_empty() && !force {
            // One line per (manager, field), even if both its apply and update entries own it.
            let mut reported: Vec<(String, String)> = Vec::new();
            for ((manager, _), path) in &conflicts {
                let entry = (manager.clone(), render(path));
                if !reported.contains(&entry) {
                    reported.push(entry);
                }
            }
            return Err(PatchError::Conflict {
                conflicts: reported,
            });
        }
        for (id, path) in &conflicts {
            if let Some(owned) = owners.get_mut(id) {
                owned.remove(path);
            }
        }

        // Give up fields no longer applied; remove those nobody else holds (a
        // list item stays while anyone owns a field inside it).
        let previous = owners.remove(&me).unwrap_or_default();
        for path in previous.iter().filter(|p| !applied_leaves.contains_key(*p)) {
            let held = |set: &BTreeSet<Path>| set.iter().any(|q| q.starts_with(path));
            let reapplied_below = applied_leaves.keys().any(|q| q.starts_with(path));
            if !reapplied_below && !owners.values().any(held) {
                remove_path(&mut object, path);
            }
        }
        apply_merge(&mut object, &intent, "");

        owners.insert(me, applied_leaves.into_keys().collect());
        let present = leaves(&object);
        for owned in owners.values_mut() {
            owned.retain(|p| present.contains_key(p));
        }
        owners.retain(|_, owned| !owned.is_empty());
        self.owners = owners;
        Ok(object)
    }

    /// Managers owning at least one field, each name once.
    pub fn managers(&self) -> impl Iterator<Item = &str> {
        let mut last: Option<&str> = None;
        self.owners
            .keys()
            .map(|(m, _)| m.as_str())
            .filter(move |m| last.replace(m) != Some(m))
    }

    /// Field paths owned by `manager` (apply and update entries together), sorted.
    pub fn fields(&self, manager: &str) -> Vec<String> {
        let paths: BTreeSet<&Path> = self
            .owners
            .iter()
            .filter(|((m, _), _)| m == manager)
            .flat_map(|(_, owned)| owned)
            .collect();
        paths.into_iter().map(|p| render(p)).collect()
    }
}

/// Kubernetes' field path notation: `.spec.ports[port=80].name`, `.metadata.finalizers[="x"]`.
fn render(path: &[Elem]) -> String {
    let mut out = String::new();
    for elem in path {
        let _ = match elem {
            Elem::Field(f) => write!(out, ".{f}"),
            Elem::Key(key, id) => write!(out, "[{key}={id}]"),
            Elem::Member(id) => write!(out, "[={id}]"),
        };
    }
    out
}

/// The apply body as merged into the object: without status, server metadata and nulls.
fn intent(applied: &Value) -> Result<Value, PatchError> {
    let Value::Object(obj) = applied else {
        return Err(PatchError::BadRequest(
            "apply configuration must be a JSON object".into(),
        ));
    };
    let mut obj = obj.clone();
    remove_key(&mut obj, "status");
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.retain(|k, _| !SERVER_METADATA.contains(&k.as_str()));
    }
    let mut intent = Value::Object(obj);
    drop_nulls(&mut intent);
    Ok(intent)
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Owned leaf paths of an object, skipping identity, server metadata and status.
fn leaves(object: &Value) -> Leaves {
    let mut out = Leaves::new();
    let Value::Object(top) = object else {
        return out;
    };
    for (key, value) in top {
        match (key.as_str(), value) {
            ("status", _) => {}
            (k, _) if IDENTITY_TOP.contains(&k) => {}
            ("metadata", Value::Object(meta)) => {
                for (mk, mv) in meta {
                    if !SERVER_METADATA.contains(&mk.as_str())
                        && !IDENTITY_METADATA.contains(&mk.as_str())
                    {
                        let mut path = vec![Elem::Field(key.clone()), Elem::Field(mk.clone())];
                        walk(mv, mk, &mut path, &mut out);
                    }
                }
            }
            _ => walk(value, key, &mut vec![Elem::Field(key.clone())], &mut out),
        }
    }
    out
}

fn walk(value: &Value, field: &str, path: &mut Path, out: &mut Leaves) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(Elem::Field(k.clone()));
                walk(child, k, path, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match ssa_list_kind(field, items) {
            ListKind::Keyed(key) => {
                for item in items {
                    let (Some(obj), Some(id)) = (item.as_object(), item.get(key)) else {
                        continue;
                    };
                    path.push(Elem::Key(key, json_text(id)));
                    out.insert(path.clone(), Value::Null);
                    for (k, child) in obj.iter().filter(|(k, _)| k.as_str() != key) {
                        path.push(Elem::Field(k.clone()));
                        walk(child, k, path, out);
                        path.pop();
                    }
                    path.pop();
                }
            }
            ListKind::Set => {
                for item in items {
                    path.push(Elem::Member(json_text(item)));
                    out.insert(path.clone(), Value::Null);
                    path.pop();
                }
            }
            ListKind::Atomic => {
                out.insert(path.clone(), value.clone());
            }
        },
        _ => {
            out.insert(path.clone(), value.clone());
        }
    }
}

/// The merge strategy, falling back to atomic when the items do not fit it
/// (missing or duplicate keys), since then there is no item identity.
fn ssa_list_kind(field: &str, items: &[Value]) -> ListKind {
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    let mut seen = BTreeSet::new();
    match list_kind(field, items.iter()) {
        ListKind::Keyed(key)
            if items.iter().all(|i| {
                i.get(key)
                    .is_some_and(|id| scalar(id) && seen.insert(id.to_string()))
            }) =>
        {
            ListKind::Keyed(key)
        }
        ListKind::Set
            if items
                .iter()
                .all(|i| scalar(i) && seen.insert(i.to_string())) =>
        {
            ListKind::Set
        }
        _ => ListKind::Atomic,
    }
}

/// Compact JSON text: how keys and set members are identified in paths.
fn json_text(value: &Value) -> String {
    value.to_string()
}

fn has_id(item: &Value, key: &str, id: &str) -> bool {
    item.get(key).is_some_and(|v| json_text(v) == id)
}

fn get_mut<'a>(mut value: &'a mut Value, path: &[Elem]) -> Option<&'a mut Value> {
    for elem in path {
        value = match (elem, value) {
            (Elem::Field(f), Value::Object(m)) => m.get_mut(f)?,
            (Elem::Key(key, id), Value::Array(items)) => {
                items.iter_mut().find(|i| has_id(i, key, id))?
            }
            (Elem::Member(id), Value::Array(items)) => {
                items.iter_mut().find(|i| json_text(i) == *id)?
            }
            _ => return None,
        };
    }
    Some(value)
}

/// Removes the field at `path`, then drops maps and lists that the removal left
/// empty (Go's `omitempty` would not serialize them), up to the top-level section.
fn remove_path(object: &mut Value, path: &[Elem]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let Some(parent) = get_mut(object, parent_path) else {
        return;
    };
    let removed = match (last, parent) {
        (Elem::Field(f), Value::Object(m)) => {
            let had = m.contains_key(f);
            remove_key(m, f);
            had
        }
        (Elem::Key(key, id), Value::Array(items)) => {
            let before = items.len();
            items.retain(|i| !has_id(i, key, id));
            items.len() != before
        }
        (Elem::Member(id), Value::Array(items)) => {
            let before = items.len();
            items.retain(|i| json_text(i) != *id);
            items.len() != before
        }
        _ => false,
    };
    let mut end = parent_path.len();
    while removed && end >= 2 {
        let Some((Elem::Field(name), above)) =
            parent_path.get(..end).and_then(<[Elem]>::split_last)
        else {
            break;
        };
        let Some(Value::Object(container)) = get_mut(object, above) else {
            break;
        };
        let emptied = match container.get(name) {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if !emptied {
            break;
        }
        remove_key(container, name);
        end -= 1;
    }
}

/// Merges the apply intent into the object: maps recursively, keyed lists per
/// item, set lists as a union, anything else replaced.
fn apply_merge(live: &mut Value, applied: &Value, field: &str) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, av) in a {
                match l.get_mut(k) {
                    Some(lv) => apply_merge(lv, av, k),
                    None => {
                        l.insert(k.clone(), av.clone());
                    }
                }
            }
        }
        (Value::Array(l), Value::Array(a)) if !l.is_empty() => {
            match (ssa_list_kind(field, l), ssa_list_kind(field, a)) {
                (ListKind::Keyed(lk), ListKind::Keyed(ak)) if lk == ak => {
                    for item in a {
                        match l.iter_mut().find(|x| x.get(ak) == item.get(ak)) {
                            Some(existing) => apply_merge(existing, item, field),
                            None => l.push(item.clone()),
                        }
                    }
                }
                (ListKind::Set, ListKind::Set) => {
                    for item in a {
                        if !l.contains(item) {
                            l.push(item.clone());
                        }
                    }
                }
                _ => *l = a.clone(),
            }
        }
        (live, applied) => *live = applied.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ml"}, "spec": spec})
    }

    fn containers(obj: &Value) -> &Value {
        &obj["spec"]["template"]["spec"]["containers"]
    }

    fn conflicts(err: PatchError) -> Vec<(String, String)> {
        match err {
            PatchError::Conflict { conflicts } => conflicts,
            other => panic!("expected a conflict, got {other}"),
        }
    }

    #[test]
    fn create_owns_leaves_but_not_identity_or_server_fields() {
        let mut owners = FieldOwners::default();
        let mut applied = deployment(
            json!({"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}),
        );
        applied["metadata"]["creationTimestamp"] = Value::Null;
        applied["status"] = json!({"replicas": 9});
        let out = owners
            .apply(None, &applied, "kubectl", false)
            .expect("create");
        assert_eq!(out["spec"], applied["spec"]);
        assert_eq!(out["metadata"], json!({"name": "web", "namespace": "ml"}));
        assert!(out.get("status").is_none());
        assert_eq!(owners.managers().collect::<Vec<_>>(), ["kubectl"]);
        assert_eq!(
            owners.fields("kubectl"),
            [
                ".spec.replicas",
                ".spec.template.spec.containers[name=\"app\"]",
                ".spec.template.spec.containers[name=\"app\"].image",
            ]
        );
    }

    #[test]
    fn reapply_changes_value_and_keeps_other_content() {
        let mut owners = FieldOwners::default();
        let v1 = deployment(
            json!({"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}),
        );
        let mut live = owners.apply(None, &v1, "kubectl", false).expect("create");
        live["status"] = json!({"readyReplicas": 2});
        let v2 = deployment(
            json!({"replicas": 3, "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}),
        );
        let out = owners
            .apply(Some(&live), &v2, "kubectl", false)
            .expect("reapply");
        assert_eq!(out["spec"], v2["spec"]);
        assert_eq!(
            out["status"],
            json!({"readyReplicas": 2}),
            "status is not the applier's"
        );
    }

    #[test]
    fn dropping_a_field_from_the_config_removes_it() {
        let mut owners = FieldOwners::default();
        let mut v1 = deployment(
            json!({"replicas": 2, "paused": true, "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "side:1"},
            ]}}}),
        );
        v1["metadata"]["labels"] = json!({"team": "ml"});
        let live = owners.apply(None, &v1, "kubectl", false).expect("create");
        let v2 = deployment(
            json!({"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}),
        );
        let out = owners
            .apply(Some(&live), &v2, "kubectl", false)
            .expect("reapply");
        assert!(out["spec"].get("paused").is_none());
        assert_eq!(
            containers(&out),
            &json!([{"name": "app", "image": "app:1"}]),
            "env and sidecar gone"
        );
        assert!(
            out["metadata"].get("labels").is_none(),
            "emptied labels map pruned"
        );
        assert_eq!(out["metadata"]["name"], "web");
    }

    #[test]
    fn conflict_with_updater_then_force_takes_ownership() {
        let mut owners = FieldOwners::default();
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train"}, "spec": {"parallelism": 1, "backoffLimit": 3}});
        owners.record_update(None, &job, "kubectl-create");
        let mut applied = job.clone();
        applied["spec"]["parallelism"] = json!(4);
        let err = owners
            .apply(Some(&job), &applied, "kubectl", false)
            .expect_err("conflict");
        assert_eq!(err.status_code(), 409);
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"kubectl-create\": .spec.parallelism"
        );
        assert_eq!(
            conflicts(err),
            [(
                "kubectl-create".to_string(),
                ".spec.parallelism".to_string()
            )]
        );
        assert!(
            owners.fields("kubectl").is_empty(),
            "failed apply changes nothing"
        );

        let out = owners
            .apply(Some(&job), &applied, "kubectl", true)
            .expect("forced");
        assert_eq!(out["spec"]["parallelism"], 4);
        assert_eq!(owners.fields("kubectl-create"), [".spec.backoffLimit"]);
        assert_eq!(
            owners.fields("kubectl"),
            [".spec.backoffLimit", ".spec.parallelism"]
        );

        // Now solely owned by the applier: leaving it out of the config removes it;
        // backoffLimit is still held by kubectl-create, so it stays.
        let trimmed = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train"}, "spec": {}});
        let out = owners
            .apply(Some(&out), &trimmed, "kubectl", false)
            .expect("trim");
        assert_eq!(out["spec"], json!({"backoffLimit": 3}));
    }

    #[test]
    fn two_managers_with_different_fields_both_kept() {
        let mut owners = FieldOwners::default();
        let mut a = deployment(json!({"replicas": 1}));
        a["metadata"]["labels"] = json!({"a": "1"});
        let live = owners.apply(None, &a, "alice", false).expect("alice");
        let mut b = deployment(json!({"minReadySeconds": 5}));
        b["metadata"]["labels"] = json!({"b": "2"});
        let live = owners.apply(Some(&live), &b, "bob", false).expect("bob");
        let live = owners
            .apply(Some(&live), &a, "alice", false)
            .expect("alice again");
        assert_eq!(live["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(live["spec"], json!({"replicas": 1, "minReadySeconds": 5}));
        assert_eq!(owners.managers().collect::<Vec<_>>(), ["alice", "bob"]);
    }

    #[test]
    fn same_value_is_shared_without_conflict() {
        let mut owners = FieldOwners::default();
        let cfg = deployment(json!({"replicas": 3}));
        let live = owners.apply(None, &cfg, "alice", false).expect("alice");
        let live = owners
            .apply(Some(&live), &cfg, "bob", false)
            .expect("same value, no conflict");
        assert_eq!(owners.fields("alice"), owners.fields("bob"));
        // Alice lets go; Bob still owns it, so the value stays and is Bob's alone.
        let live = owners
            .apply(Some(&live), &deployment(json!({})), "alice", false)
            .expect("alice drops");
        assert_eq!(live["spec"]["replicas"], 3);
        assert!(owners.fields("alice").is_empty());
        assert_eq!(owners.managers().collect::<Vec<_>>(), ["bob"]);
    }

    #[test]
    fn list_item_stays_while_another_manager_owns_a_field_in_it() {
        let mut owners = FieldOwners::default();
        let both = deployment(json!({"template": {"spec": {"containers": [
            {"name": "app", "image": "app:1"},
            {"name": "side", "image": "side:1", "ports": [{"containerPort": 9090}]},
        ]}}}));
        let live = owners.apply(None, &both, "kubectl", false).expect("create");
        let mut edited = live.clone();
        edited["spec"]["template"]["spec"]["containers"][1]["image"] = json!("side:2");
        owners.record_update(Some(&live), &edited, "kubectl-edit");
        assert_eq!(
            owners.fields("kubectl-edit"),
            [".spec.template.spec.containers[name=\"side\"].image"]
        );

        let only_app = deployment(
            json!({"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}),
        );
        let out = owners
            .apply(Some(&edited), &only_app, "kubectl", false)
            .expect("reapply");
        assert_eq!(
            containers(&out),
            &json!([{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:2"}])
        );
    }

    #[test]
    fn finalizers_are_owned_per_member() {
        let mut owners = FieldOwners::default();
        let mut cfg = deployment(json!({}));
        cfg["metadata"]["finalizers"] = json!(["a.io/x"]);
        let live = owners.apply(None, &cfg, "alice", false).expect("create");
        let mut updated = live.clone();
        updated["metadata"]["finalizers"] = json!(["a.io/x", "b.io/y"]);
        owners.record_update(Some(&live), &updated, "controller");
        cfg["metadata"]["finalizers"] = json!([]);
        let out = owners
            .apply(Some(&updated), &cfg, "alice", false)
            .expect("drop own finalizer");
        assert_eq!(out["metadata"]["finalizers"], json!(["b.io/y"]));
    }

    #[test]
    fn tolerations_are_atomic_for_apply() {
        let mut owners = FieldOwners::default();
        let cfg = deployment(
            json!({"template": {"spec": {"tolerations": [{"key": "gpu", "operator": "Exists"}]}}}),
        );
        let live = owners.apply(None, &cfg, "alice", false).expect("create");
        assert_eq!(owners.fields("alice"), [".spec.template.spec.tolerations"]);
        let other = deployment(
            json!({"template": {"spec": {"tolerations": [{"key": "spot", "operator": "Exists"}]}}}),
        );
        let err = owners
            .apply(Some(&live), &other, "bob", false)
            .expect_err("whole list conflicts");
        assert_eq!(
            conflicts(err),
            [(
                "alice".to_string(),
                ".spec.template.spec.tolerations".to_string()
            )]
        );
    }

    #[test]
    fn rejects_non_object_input() {
        let mut owners = FieldOwners::default();
        assert!(owners.apply(None, &json!([1]), "m", false).is_err());
        assert!(
            owners
                .apply(Some(&json!("x")), &json!({}), "m", false)
                .is_err()
        );
    }
}
