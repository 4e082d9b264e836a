//! Server-side apply, modelled on structured-merge-diff: ownership is per field; keyed
//! list items are identified by their keys (`[name="app"]`), set-like lists by value
//! (`[="x"]`), other lists are atomic. Owners come from and go back to managedFields.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fieldpath::{
    ATOMIC_MAPS, Elem, Node, SERVER_METADATA, get_mut, has_id, item_key, json_text, leaves,
    ssa_keys, ssa_list_kind,
};
use super::managed::{FieldOwners, ManagerId, Operation, Writer};
use super::{ListKind, PatchError, remove_key};

impl FieldOwners {
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
        w: &Writer<'_>,
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
        let me = ManagerId::new(w, Operation::Apply);
        // An apply owns what it sets, the items of its lists, but not the maps themselves.
        let mut applied_leaves = leaves(&intent, false);
        applied_leaves.retain(|_, node| *node != Node::Map);
        let live_leaves = leaves(&object, true);

        let mut conflicts = Vec::new();
        for (path, value) in &applied_leaves {
            if live_leaves
                .get(path)
                .is_none_or(|live_value| live_value == value)
            {
                continue; // same value (or new field): ownership is simply shared
            }
            for (id, owned) in &owners {
                if *id != me && owned.paths.contains(path) {
                    conflicts.push((id.clone(), path.clone()));
                }
            }
        }
        if !conflicts.is_empty() && !force {
            // One line per (manager, field), even if both its apply and update entries own it.
            let mut reported: Vec<(String, String)> = Vec::new();
            for (id, path) in &conflicts {
                let entry = (id.printed(), super::fieldpath::render(path));
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
                owned.paths.remove(path);
            }
        }

        // Give up fields no longer applied; remove those nobody else holds (a
        // list item stays while anyone owns a field inside it).
        let previous = owners.remove(&me).unwrap_or_default();
        for path in previous
            .paths
            .iter()
            .filter(|p| !applied_leaves.contains_key(*p))
        {
            let held =
                |owned: &super::managed::Owned| owned.paths.iter().any(|q| q.starts_with(path));
            let reapplied_below = applied_leaves.keys().any(|q| q.starts_with(path));
            if !reapplied_below && !owners.values().any(held) {
                remove_path(&mut object, path);
            }
        }
        let before = object.clone();
        apply_merge(&mut object, &intent, "");

        let time = if object != before || previous.time.is_empty() {
            w.time.to_string()
        } else {
            previous.time
        };
        let mine = super::managed::Owned {
            paths: applied_leaves.into_keys().collect(),
            api_version: w.api_version.to_string(),
            time,
        };
        let present = leaves(&object, true);
        let mut mine = mine;
        // An empty map applied where others have since put content is no longer a leaf.
        mine.paths
            .retain(|p| present.get(p).is_some_and(|n| *n != Node::Map));
        owners.insert(me, mine);
        for owned in owners.values_mut() {
            owned.paths.retain(|p| present.contains_key(p));
        }
        owners.retain(|_, owned| !owned.paths.is_empty());
        self.owners = owners;
        Ok(object)
    }
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
        (Elem::Key(id), Value::Array(items)) => {
            let before = items.len();
            items.retain(|i| !has_id(i, id));
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
        (Value::Object(l), Value::Object(a)) if !ATOMIC_MAPS.contains(&field) => {
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
                    let keys = ssa_keys(ak);
                    for item in a {
                        let id = item_key(item, keys);
                        match l.iter_mut().find(|x| item_key(x, keys) == id) {
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
    use crate::patch::managed::Scope;
    use serde_json::json;

    fn w(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            subresource: "",
            time: "2026-01-01T00:00:00Z",
        }
    }

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
            .apply(None, &applied, &w("kubectl"), false)
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
        let mut live = owners
            .apply(None, &v1, &w("kubectl"), false)
            .expect("create");
        live["status"] = json!({"readyReplicas": 2});
        let v2 = deployment(
            json!({"replicas": 3, "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}),
        );
        let out = owners
            .apply(Some(&live), &v2, &w("kubectl"), false)
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
        let live = owners
            .apply(None, &v1, &w("kubectl"), false)
            .expect("create");
        let v2 = deployment(
            json!({"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}),
        );
        let out = owners
            .apply(Some(&live), &v2, &w("kubectl"), false)
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
        owners.record_update(None, &job, &w("kubectl-create"), Scope::Object);
        let mut applied = job.clone();
        applied["spec"]["parallelism"] = json!(4);
        let err = owners
            .apply(Some(&job), &applied, &w("kubectl"), false)
            .expect_err("conflict");
        assert_eq!(err.status_code(), 409);
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .spec.parallelism"
        );
        assert_eq!(
            conflicts(err),
            [(
                "\"kubectl-create\" using v1".to_string(),
                ".spec.parallelism".to_string()
            )]
        );
        assert!(
            owners.fields("kubectl").is_empty(),
            "failed apply changes nothing"
        );

        let out = owners
            .apply(Some(&job), &applied, &w("kubectl"), true)
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
            .apply(Some(&out), &trimmed, &w("kubectl"), false)
            .expect("trim");
        assert_eq!(out["spec"], json!({"backoffLimit": 3}));
    }

    #[test]
    fn two_managers_with_different_fields_both_kept() {
        let mut owners = FieldOwners::default();
        let mut a = deployment(json!({"replicas": 1}));
        a["metadata"]["labels"] = json!({"a": "1"});
        let live = owners.apply(None, &a, &w("alice"), false).expect("alice");
        let mut b = deployment(json!({"minReadySeconds": 5}));
        b["metadata"]["labels"] = json!({"b": "2"});
        let live = owners
            .apply(Some(&live), &b, &w("bob"), false)
            .expect("bob");
        let live = owners
            .apply(Some(&live), &a, &w("alice"), false)
            .expect("alice again");
        assert_eq!(live["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(live["spec"], json!({"replicas": 1, "minReadySeconds": 5}));
        assert_eq!(owners.managers().collect::<Vec<_>>(), ["alice", "bob"]);
    }

    #[test]
    fn same_value_is_shared_without_conflict() {
        let mut owners = FieldOwners::default();
        let cfg = deployment(json!({"replicas": 3}));
        let live = owners.apply(None, &cfg, &w("alice"), false).expect("alice");
        let live = owners
            .apply(Some(&live), &cfg, &w("bob"), false)
            .expect("same value, no conflict");
        assert_eq!(owners.fields("alice"), owners.fields("bob"));
        // Alice lets go; Bob still owns it, so the value stays and is Bob's alone.
        let live = owners
            .apply(Some(&live), &deployment(json!({})), &w("alice"), false)
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
        let live = owners
            .apply(None, &both, &w("kubectl"), false)
            .expect("create");
        let mut edited = live.clone();
        edited["spec"]["template"]["spec"]["containers"][1]["image"] = json!("side:2");
        owners.record_update(Some(&live), &edited, &w("kubectl-edit"), Scope::Object);
        assert_eq!(
            owners.fields("kubectl-edit"),
            [".spec.template.spec.containers[name=\"side\"].image"]
        );

        let only_app = deployment(
            json!({"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}),
        );
        let out = owners
            .apply(Some(&edited), &only_app, &w("kubectl"), false)
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
        let live = owners
            .apply(None, &cfg, &w("alice"), false)
            .expect("create");
        let mut updated = live.clone();
        updated["metadata"]["finalizers"] = json!(["a.io/x", "b.io/y"]);
        owners.record_update(Some(&live), &updated, &w("controller"), Scope::Object);
        cfg["metadata"]["finalizers"] = json!([]);
        let out = owners
            .apply(Some(&updated), &cfg, &w("alice"), false)
            .expect("drop own finalizer");
        assert_eq!(out["metadata"]["finalizers"], json!(["b.io/y"]));
    }

    #[test]
    fn tolerations_are_atomic_for_apply() {
        let mut owners = FieldOwners::default();
        let cfg = deployment(
            json!({"template": {"spec": {"tolerations": [{"key": "gpu", "operator": "Exists"}]}}}),
        );
        let live = owners
            .apply(None, &cfg, &w("alice"), false)
            .expect("create");
        assert_eq!(owners.fields("alice"), [".spec.template.spec.tolerations"]);
        let other = deployment(
            json!({"template": {"spec": {"tolerations": [{"key": "spot", "operator": "Exists"}]}}}),
        );
        let err = owners
            .apply(Some(&live), &other, &w("bob"), false)
            .expect_err("whole list conflicts");
        assert_eq!(
            conflicts(err),
            [(
                "\"alice\"".to_string(),
                ".spec.template.spec.tolerations".to_string()
            )]
        );
    }

    #[test]
    fn rejects_non_object_input() {
        let mut owners = FieldOwners::default();
        assert!(owners.apply(None, &json!([1]), &w("m"), false).is_err());
        assert!(
            owners
                .apply(Some(&json!("x")), &json!({}), &w("m"), false)
                .is_err()
        );
    }
}
