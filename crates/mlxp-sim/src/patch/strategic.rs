//! Kubernetes strategic merge patch, following
//! `k8s.io/apimachinery/pkg/util/strategicpatch` with the server's options
//! (`MergeParallelList` and `IgnoreUnmatchedNulls`): directives are consumed,
//! nulls delete, and the list order rules of "preserve order in SMP" apply.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{ListKind, PatchError, list_kind, remove_key};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

type Object = Map<String, Value>;

fn bad(msg: impl Into<String>) -> PatchError {
    PatchError::BadRequest(msg.into())
}

/// Kubernetes strategic merge patch. On error `target` is left unchanged.
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Object(patch) = patch else {
        return Err(bad("strategic merge patch must be a JSON object"));
    };
    let original = match target {
        Value::Object(m) => m.clone(),
        Value::Null => Object::new(),
        _ => return Err(PatchError::Invalid("patch target is not an object".into())),
    };
    // A root-level `$patch: delete` empties the object; there is no key to drop.
    let merged = merge_map(Some(original), patch)?.unwrap_or_default();
    *target = Value::Object(merged);
    Ok(())
}

/// Merges a map patch into `original` (`None` when the key is absent or of another
/// type). Returns `None` when the key must not exist afterwards.
fn merge_map(original: Option<Object>, patch: &Object) -> Result<Option<Object>, PatchError> {
    match patch.get(DIRECTIVE) {
        None => merge_map_body(original.unwrap_or_default(), patch).map(Some),
        Some(Value::String(d)) if d == "replace" => merge_map_body(Object::new(), patch).map(Some),
        // Upstream's handleDirectiveInMergeMap returns an empty map for an existing
        // map, and drops the key when it did not exist (removeDirectives).
        Some(Value::String(d)) if d == "delete" => Ok(original.map(|_| Object::new())),
        Some(other) => Err(bad(format!("unknown patch type: {other} in map"))),
    }
}

fn merge_map_body(mut original: Object, patch: &Object) -> Result<Object, PatchError> {
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        retain_keys(&mut original, patch, retain)?;
    }
    // $setElementOrder orders against the live list as it was before merging.
    let mut live_lists = BTreeMap::new();
    for key in patch.keys() {
        if let Some(field) = key.strip_prefix(SET_ORDER)
            && let Some(Value::Array(live)) = original.get(field)
        {
            live_lists.insert(field, live.clone());
        }
    }

    for (key, value) in patch {
        if key.starts_with('$') {
            continue; // directives are handled around this loop; unknown ones are dropped
        }
        if value.is_null() {
            remove_key(&mut original, key);
            continue;
        }
        // Taken in place so a merged key keeps its position (with preserve_order).
        let existing = original.get_mut(key).map(std::mem::take);
        match merge_value(existing, value, key)? {
            Some(merged) => {
                original.insert(key.clone(), merged);
            }
            None => remove_key(&mut original, key),
        }
    }

    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_PRIMITIVE) {
            let Value::Array(remove) = value else {
                return Err(bad(format!("{key} must be a list")));
            };
            // Applies whatever the field's strategy is, as upstream does.
            if let Some(Value::Array(list)) = original.get_mut(field) {
                list.retain(|v| !remove.contains(v));
            }
        }
    }

    for (key, value) in patch {
        let Some(field) = key.strip_prefix(SET_ORDER) else {
            continue;
        };
        let Value::Array(order) = value else {
            return Err(bad(format!("{key} must be a list")));
        };
        let live = live_lists.get(field).map(Vec::as_slice).unwrap_or_default();
        if let Some(Value::Array(list)) = original.get_mut(field) {
            let id_key = match list_kind(field, list.iter().chain(order)) {
                ListKind::Keyed(k) => Some(k),
                ListKind::Set => None,
                ListKind::Atomic => continue, // replaced wholesale, already in patch order
            };
            *list = order_items(std::mem::take(list), order, live, id_key);
        }
    }
    Ok(original)
}

/// `$retainKeys`: drop keys of the original that are not listed; every key the
/// patch sets must be listed (upstream's ErrBadPatchFormatForRetainKeys).
fn retain_keys(original: &mut Object, patch: &Object, retain: &Value) -> Result<(), PatchError> {
    let keys: Vec<&str> = match retain {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if keys.len() != retain.as_array().map_or(usize::MAX, Vec::len) {
        return Err(bad("$retainKeys must be a list of strings"));
    }
    for (k, v) in patch {
        if !v.is_null() && !k.starts_with('$') && !keys.contains(&k.as_str()) {
            return Err(bad(format!(
                "field {k:?} is set by the patch but missing from $retainKeys"
            )));
        }
    }
    original.retain(|k, _| keys.contains(&k.as_str()));
    Ok(())
}

/// Merges one patch value (never null) into an optional original value.
fn merge_value(
    original: Option<Value>,
    patch: &Value,
    field: &str,
) -> Result<Option<Value>, PatchError> {
    match (original, patch) {
        (Some(Value::Object(o)), Value::Object(p)) => Ok(merge_map(Some(o), p)?.map(Value::Object)),
        // Absent or of another type: the patch value is taken, directives consumed.
        (_, Value::Object(p)) => Ok(merge_map(None, p)?.map(Value::Object)),
        (Some(Value::Array(o)), Value::Array(p)) => {
            merge_list(o, p, field).map(|l| Some(Value::Array(l)))
        }
        (_, Value::Array(p)) => merge_list(Vec::new(), p, field).map(|l| Some(Value::Array(l))),
        (_, scalar) => Ok(Some(scalar.clone())),
    }
}

fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    field: &str,
) -> Result<Vec<Value>, PatchError> {
    match list_kind(field, original.iter().chain(patch)) {
        // No merge key (e.g. tolerations): the patch list replaces the live one.
        ListKind::Atomic => {
            let mut out = Vec::with_capacity(patch.len());
            for item in patch {
                if item.get(DIRECTIVE).is_some() {
                    continue; // e.g. a `{"$patch": "replace"}` marker: replacing is the default
                }
                out.extend(merge_value(None, item, field)?);
            }
            Ok(out)
        }
        ListKind::Set => merge_primitive_list(original, patch, field),
        ListKind::Keyed(key) => merge_keyed_list(original, patch, field, key),
    }
}

/// Union of live and patch values (deduplicated), as for `finalizers`.
fn merge_primitive_list(
    original: Vec<Value>,
    patch: &[Value],
    field: &str,
) -> Result<Vec<Value>, PatchError> {
    let mut replace = false;
    let mut values = Vec::new();
    for item in patch {
        match item.get(DIRECTIVE) {
            None => values.extend(merge_value(None, item, field)?),
            Some(Value::String(d)) if d == "replace" => replace = true,
            Some(other) => return Err(bad(format!("unknown patch type: {other} in list"))),
        }
    }
    let live = if replace { Vec::new() } else { original };
    let mut merged: Vec<Value> = Vec::new();
    for v in live.iter().chain(&values) {
        if !merged.contains(v) {
            merged.push(v.clone());
        }
    }
    Ok(order_items(merged, &values, &live, None))
}

fn merge_keyed_list(
    mut original: Vec<Value>,
    patch: &[Value],
    field: &str,
    key: &'static str,
) -> Result<Vec<Value>, PatchError> {
    let missing_key = |item: &Value| {
        PatchError::Invalid(format!(
            "{field}: item {item} does not contain declared merge key: {key}"
        ))
    };
    let mut items: Vec<(&Value, &Object)> = Vec::new();
    let mut replace = false;
    for item in patch {
        let Value::Object(obj) = item else {
            return Err(PatchError::Invalid(format!(
                "{field}: expected a list of objects, found {item}"
            )));
        };
        match obj.get(DIRECTIVE) {
            None => items.push((item, obj)),
            Some(Value::String(d)) if d == "delete" => {
                let id = obj.get(key).ok_or_else(|| missing_key(item))?;
                original.retain(|o| o.get(key) != Some(id));
            }
            Some(Value::String(d)) if d == "replace" => replace = true,
            Some(Value::String(d)) if d == "merge" => {
                return Err(bad("merging lists cannot yet be specified in the patch"));
            }
            Some(other) => return Err(bad(format!("unknown patch type: {other} in list"))),
        }
    }
    if replace {
        original.clear();
    }
    let live = original.clone();
    for (item, obj) in &items {
        let id = obj.get(key).ok_or_else(|| missing_key(item))?;
        match original.iter_mut().find(|o| o.get(key) == Some(id)) {
            Some(Value::Object(existing)) => {
                *existing = merge_map_body(std::mem::take(existing), obj)?;
            }
            _ => original.push(Value::Object(merge_map_body(Object::new(), obj)?)),
        }
    }
    let patch_order: Vec<Value> = items.iter().map(|(item, _)| (*item).clone()).collect();
    Ok(order_items(original, &patch_order, &live, Some(key)))
}

/// Upstream's normalizeElementOrder + mergeSortedSlice: items named in `order`
/// follow that order; the others keep their live order and are slotted in
/// before the first ordered item that comes later in the live list. Items new
/// to the live list are never "later", so a patch's new items land before the
/// remaining live ones, exactly like kubectl against a real cluster.
fn order_items(
    items: Vec<Value>,
    order: &[Value],
    live: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let id = |v: &Value| -> Option<Value> {
        match key {
            Some(k) => v.get(k).cloned(),
            None => Some(v.clone()),
        }
    };
    let pos = |list: &[Value], v: &Value| -> Option<usize> {
        let wanted = id(v)?;
        list.iter().position(|x| id(x).as_ref() == Some(&wanted))
    };
    let (mut ordered, mut live_only): (Vec<Value>, Vec<Value>) =
        items.into_iter().partition(|v| pos(order, v).is_some());
    ordered.sort_by_key(|v| pos(order, v).unwrap_or(usize::MAX));
    live_only.sort_by_key(|v| pos(live, v).unwrap_or(usize::MAX));

    let mut out = Vec::with_capacity(ordered.len() + live_only.len());
    let mut left = live_only.into_iter().peekable();
    let mut right = ordered.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => {
                matches!((pos(live, l), pos(live, r)), (Some(a), Some(b)) if a < b)
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_left { left.next() } else { right.next() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn smp(mut target: Value, patch: Value) -> Value {
        strategic_merge(&mut target, &patch).expect("patch applies");
        target
    }

    fn pod(containers: Value) -> Value {
        json!({"spec": {"containers": containers}})
    }

    #[test]
    fn containers_merge_by_name() {
        let live =
            pod(json!([{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:1"}]));
        let out = smp(live, pod(json!([{"name": "app", "image": "app:2"}])));
        assert_eq!(
            out,
            pod(json!([{"name": "app", "image": "app:2"}, {"name": "side", "image": "side:1"}]))
        );
    }

    #[test]
    fn env_merge_and_new_items_go_first() {
        let live = pod(
            json!([{"name": "c", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]),
        );
        let out = smp(
            live.clone(),
            pod(
                json!([{"name": "c", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]),
            ),
        );
        let env = &out["spec"]["containers"][0]["env"];
        assert_eq!(
            env,
            &json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}])
        );
        // Upstream quirk kept on purpose: a lone new item is placed before the live ones.
        let out = smp(
            live,
            pod(json!([{"name": "c", "env": [{"name": "Z", "value": "9"}]}])),
        );
        let names: Vec<&str> = out["spec"]["containers"][0]["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert_eq!(names, ["Z", "A", "B"]);
    }

    #[test]
    fn patch_delete_removes_env_item() {
        let live = pod(
            json!([{"name": "c", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]),
        );
        let out = smp(
            live,
            pod(json!([{"name": "c", "env": [{"name": "A", "$patch": "delete"}]}])),
        );
        assert_eq!(
            out["spec"]["containers"][0]["env"],
            json!([{"name": "B", "value": "2"}])
        );
    }

    #[test]
    fn patch_replace_in_list_and_map() {
        let live = json!({"spec": {"volumes": [{"name": "a", "emptyDir": {}}], "securityContext": {"runAsUser": 1, "fsGroup": 2}}});
        let patch = json!({"spec": {
            "volumes": [{"$patch": "replace"}, {"name": "b", "emptyDir": {}}],
            "securityContext": {"$patch": "replace", "runAsUser": 5},
        }});
        assert_eq!(
            smp(live, patch),
            json!({"spec": {"volumes": [{"name": "b", "emptyDir": {}}], "securityContext": {"runAsUser": 5}}})
        );
    }

    #[test]
    fn patch_delete_in_map_empties_it_like_upstream() {
        let live = json!({"spec": {"securityContext": {"runAsUser": 1}, "x": 1}});
        let out = smp(
            live,
            json!({"spec": {"securityContext": {"$patch": "delete"}, "new": {"$patch": "delete"}}}),
        );
        assert_eq!(out, json!({"spec": {"securityContext": {}, "x": 1}}));
    }

    #[test]
    fn set_element_order_reorders_and_is_removed() {
        let live = pod(json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]));
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "a:2"}],
        }});
        assert_eq!(
            smp(live, patch),
            pod(json!([{"name": "b", "image": "b:1"}, {"name": "a", "image": "a:2"}]))
        );

        // Items not mentioned stay where the live order puts them relative to the others.
        let live = pod(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
        let patch =
            json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]}});
        assert_eq!(
            smp(live, patch),
            pod(json!([{"name": "b"}, {"name": "c"}, {"name": "a"}]))
        );
    }

    #[test]
    fn retain_keys_drops_unlisted_fields() {
        let live = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}});
        assert_eq!(
            smp(live.clone(), patch),
            json!({"spec": {"strategy": {"type": "Recreate"}}})
        );
        let bad_patch =
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}});
        let mut target = live.clone();
        assert!(strategic_merge(&mut target, &bad_patch).is_err());
        assert_eq!(target, live, "unchanged on error");
    }

    #[test]
    fn finalizers_union_delete_and_order() {
        let live = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
        let patch = json!({"metadata": {
            "$setElementOrder/finalizers": ["a", "c", "d"],
            "$deleteFromPrimitiveList/finalizers": ["b"],
            "finalizers": ["d"],
        }});
        assert_eq!(
            smp(live.clone(), patch),
            json!({"metadata": {"finalizers": ["a", "c", "d"]}})
        );
        let out = smp(live, json!({"metadata": {"finalizers": ["c", "e"]}}));
        assert_eq!(
            out,
            json!({"metadata": {"finalizers": ["a", "b", "c", "e"]}})
        );
    }

    #[test]
    fn tolerations_have_no_merge_key_and_are_replaced() {
        let live = json!({"spec": {"tolerations": [{"key": "gpu", "operator": "Exists"}, {"key": "spot", "operator": "Exists"}]}});
        let patch = json!({"spec": {"tolerations": [{"key": "arm", "operator": "Exists"}]}});
        assert_eq!(
            smp(live, patch),
            json!({"spec": {"tolerations": [{"key": "arm", "operator": "Exists"}]}})
        );
    }

    #[test]
    fn labels_null_delete_and_nested_nulls_dropped() {
        let live = json!({"metadata": {"labels": {"app": "x", "tier": "web"}}});
        let patch = json!({"metadata": {"labels": {"tier": null, "new": "y"}, "annotations": {"a": "1", "gone": null}}});
        assert_eq!(
            smp(live, patch),
            json!({"metadata": {"labels": {"app": "x", "new": "y"}, "annotations": {"a": "1"}}})
        );
    }

    #[test]
    fn service_ports_merge_by_port_and_container_ports_by_container_port() {
        let live = json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}});
        let out = smp(
            live,
            json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}),
        );
        assert_eq!(
            out["spec"]["ports"][1],
            json!({"port": 443, "name": "https", "targetPort": 8443})
        );
        let live =
            pod(json!([{"name": "c", "ports": [{"containerPort": 80}, {"containerPort": 81}]}]));
        let out = smp(
            live,
            pod(json!([{"name": "c", "ports": [{"containerPort": 81, "name": "m"}]}])),
        );
        assert_eq!(
            out["spec"]["containers"][0]["ports"],
            json!([{"containerPort": 80}, {"containerPort": 81, "name": "m"}])
        );
    }

    #[test]
    fn new_keys_never_keep_directives() {
        let out = smp(
            json!({}),
            pod(
                json!([{"name": "a", "env": [{"name": "X", "$patch": "delete"}, {"name": "Y", "value": null}]}]),
            ),
        );
        assert_eq!(out, pod(json!([{"name": "a", "env": [{"name": "Y"}]}])));
    }

    #[test]
    fn errors_for_bad_directives_and_missing_keys() {
        let live = pod(json!([{"name": "a"}]));
        for patch in [
            json!({"spec": {"$patch": "explode"}}),
            pod(json!([{"name": "a", "$patch": "explode"}])),
            pod(json!([{"image": "no-name"}])),
            pod(json!(["not-an-object"])),
            json!({"metadata": {"$setElementOrder/finalizers": "x"}}),
            json!([1]),
        ] {
            let mut target = live.clone();
            assert!(strategic_merge(&mut target, &patch).is_err(), "{patch}");
            assert_eq!(target, live);
        }
    }
}
