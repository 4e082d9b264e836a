//! Patch flavours of the simulated API server, all over `serde_json::Value`:
//! RFC 7386 merge patch, RFC 6902 JSON patch, Kubernetes strategic merge patch
//! (`patch/strategic.rs`) and server-side apply with field ownership (`patch/apply.rs`).

mod apply;
mod fieldpath;
mod fields_v1;
mod managed;
mod strategic;

pub use managed::{FieldOwners, Scope, Writer, is_reset, validation_errors};
pub use strategic::strategic_merge;

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The patch document itself is malformed (Kubernetes answers 400 BadRequest).
    #[error("{0}")]
    BadRequest(String),
    /// The patch is well-formed but cannot be applied to this object (422 Unprocessable Entity).
    #[error("{0}")]
    Invalid(String),
    /// Server-side apply conflicts (409 Conflict), as `(manager, field path)` pairs, the
    /// manager as the apiserver prints it (`"kubectl-create" using v1`).
    #[error("{}", conflict_message(.conflicts))]
    Conflict { conflicts: Vec<(String, String)> },
}

impl PatchError {
    /// The `(manager, field path)` pairs of an apply conflict (empty for other
    /// errors), for the `FieldManagerConflict` causes of the Status.
    pub fn conflicts(&self) -> Vec<(String, String)> {
        match self {
            PatchError::Conflict { conflicts } => conflicts.clone(),
            _ => Vec::new(),
        }
    }

    /// HTTP status code Kubernetes uses for this kind of failure.
    pub fn status_code(&self) -> u16 {
        match self {
            PatchError::BadRequest(_) => 400,
            PatchError::Invalid(_) => 422,
            PatchError::Conflict { .. } => 409,
        }
    }
}

/// Same text as the apiserver's `getConflictMessage`: a single conflict fits on
/// one line, several are grouped per manager with one `- path` line each.
fn conflict_message(conflicts: &[(String, String)]) -> String {
    if let [(manager, path)] = conflicts {
        return format!("Apply failed with 1 conflict: conflict with {manager}: {path}");
    }
    let mut by_manager: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (manager, path) in conflicts {
        by_manager.entry(manager).or_default().push(path);
    }
    let mut lines = Vec::new();
    for (manager, paths) in by_manager {
        lines.push(format!("conflicts with {manager}:"));
        lines.extend(paths.iter().map(|p| format!("- {p}")));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// RFC 7386 JSON merge patch (null deletes a key; non-object patch replaces).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    ::json_patch::merge(target, patch);
}

/// RFC 6902 JSON patch. The whole patch applies or nothing does: it is applied to a copy,
/// which replaces the target only when every operation succeeded. (The crate's own
/// rollback panics when it cannot undo a `move` into what was moved.)
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops: ::json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| PatchError::BadRequest(format!("invalid JSON patch: {e}")))?;
    let mut patched = target.clone();
    ::json_patch::patch_unsafe(&mut patched, &ops)
        .map_err(|e| PatchError::Invalid(format!("JSON patch failed: {e}")))?;
    *target = patched;
    Ok(())
}

/// Order-preserving key removal: `Map::remove` swaps entries under `preserve_order`.
fn remove_key(map: &mut serde_json::Map<String, Value>, key: &str) {
    map.retain(|k, _| k != key);
}

/// How a list field merges, shared by strategic merge patch and apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    /// Replaced as a whole (no `patchStrategy` upstream).
    Atomic,
    /// List of objects merged item by item on this key.
    Keyed(&'static str),
    /// Primitive list merged as a union (`patchStrategy:"merge"` on a `[]string`).
    Set,
}

/// Patch strategy by field name alone. Upstream's metadata is per Go type, but for
/// these names it does not depend on the enclosing type, except `ports`
/// (container ports by `containerPort`, Service ports by `port`), decided by the items.
/// Deliberately absent (atomic upstream): `tolerations`, `readinessGates`, `args`,
/// `command`, `envFrom`, `resizePolicy`, `taints`.
fn list_kind<'a>(field: &str, mut items: impl Iterator<Item = &'a Value>) -> ListKind {
    let key = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" if items.any(|i| i.get("containerPort").is_some()) => "containerPort",
        "ports" => "port",
        "hostAliases" => "ip",
        "conditions" => "type",
        "ownerReferences" => "uid",
        // Upstream lists whenUnsatisfiable as a second key for apply; SMP uses topologyKey.
        "topologySpreadConstraints" => "topologyKey",
        "finalizers" => return ListKind::Set,
        _ => return ListKind::Atomic,
    };
    ListKind::Keyed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failed_json_patch_leaves_the_object_as_it_was_even_when_it_cannot_be_undone() {
        // The move puts spec.x in place of spec; undoing it would move spec into itself,
        // where the crate's rollback panics. The test that fails after it forces that undo.
        let original = json!({"spec": {"x": {"y": 1}}, "kept": true});
        let mut target = original.clone();
        let patch = json!([
            {"op": "move", "from": "/spec/x", "path": "/spec"},
            {"op": "test", "path": "/kept", "value": false},
        ]);
        assert!(matches!(
            json_patch(&mut target, &patch),
            Err(PatchError::Invalid(_))
        ));
        assert_eq!(target, original);
        // And a patch that holds applies whole.
        let patch = json!([{"op": "move", "from": "/spec/x", "path": "/spec"}]);
        json_patch(&mut target, &patch).expect("applies");
        assert_eq!(target, json!({"spec": {"y": 1}, "kept": true}));
    }

    #[test]
    fn merge_patch_null_deletes_and_nested_merges() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        merge_patch(
            &mut doc,
            &json!({"a": null, "b": {"d": null, "e": 4}, "l": [3]}),
        );
        assert_eq!(doc, json!({"b": {"c": 2, "e": 4}, "l": [3]}));
        merge_patch(&mut doc, &json!("scalar"));
        assert_eq!(doc, json!("scalar"));
    }

    #[test]
    fn json_patch_add_replace_remove() {
        let mut doc = json!({"spec": {"replicas": 1, "x": true}});
        let patch = json!([
            {"op": "add", "path": "/spec/paused", "value": true},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "remove", "path": "/spec/x"},
        ]);
        json_patch(&mut doc, &patch).expect("patch applies");
        assert_eq!(doc, json!({"spec": {"replicas": 3, "paused": true}}));
    }

    #[test]
    fn json_patch_test_failure_leaves_doc_unchanged() {
        let mut doc = json!({"spec": {"replicas": 1}});
        let patch = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 5},
            {"op": "test", "path": "/spec/replicas", "value": 2},
        ]);
        let err = json_patch(&mut doc, &patch).expect_err("test op must fail");
        assert_eq!(err.status_code(), 422);
        let msg = err.to_string();
        assert!(
            msg.contains("/spec/replicas") && msg.contains("did not match"),
            "{msg}"
        );
        assert_eq!(doc, json!({"spec": {"replicas": 1}}));
    }

    #[test]
    fn json_patch_malformed_is_bad_request() {
        let mut doc = json!({});
        let err = json_patch(&mut doc, &json!([{"op": "frobnicate", "path": "/a"}]))
            .expect_err("unknown op");
        assert_eq!(err.status_code(), 400);
        assert!(json_patch(&mut doc, &json!({"op": "add"})).is_err());
    }

    #[test]
    fn conflict_message_matches_kubernetes() {
        let one = PatchError::Conflict {
            conflicts: vec![(
                "\"kubectl-create\" using v1".into(),
                ".spec.parallelism".into(),
            )],
        };
        assert_eq!(one.conflicts().len(), 1);
        assert_eq!(
            one.to_string(),
            "Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .spec.parallelism"
        );
        let two = PatchError::Conflict {
            conflicts: vec![
                ("\"b\"".into(), ".spec.x".into()),
                ("\"a\"".into(), ".spec.y".into()),
            ],
        };
        assert_eq!(
            two.to_string(),
            "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.y\nconflicts with \"b\":\n- .spec.x"
        );
    }
}
