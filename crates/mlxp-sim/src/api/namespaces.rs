//! A namespace's deletion, as the apiserver and the namespace controller share it: the
//! DELETE marks it Terminating (`deletionTimestamp`, `status.phase`, the `kubernetes`
//! finalizer) and empties it — its pods deleted gracefully, everything else at once — and
//! the namespace is removed when nothing is left in it. Nothing new may be made in it
//! meanwhile.

use std::sync::Arc;

use serde_json::{Value, json};

use super::ApiState;
use super::graceful;
use super::status::ApiError;
use super::write::{Propagation, remove};
use crate::resources::{Registry, ResourceType};
use crate::store::{StoredObject, Tx};

pub fn terminating(namespace: &Value) -> bool {
    namespace["metadata"]["deletionTimestamp"].is_string()
}

/// The apiserver's refusal of new content in a terminating namespace.
pub fn refuse_new_content(plural: &str, name: &str, namespace: &str) -> ApiError {
    ApiError::forbidden(format!(
        "{plural} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated"
    ))
}

/// Marks the namespace Terminating and empties it; removes it at once when nothing in it
/// has to wait (no pod still stopping). Returns what is stored after.
pub fn delete(
    tx: &mut Tx<'_>,
    state: &ApiState,
    registry: &Registry,
    rt: &ResourceType,
    namespace: &Arc<StoredObject>,
) -> Arc<StoredObject> {
    let now = state.clock.now();
    let mut marked = namespace.value();
    if !terminating(&marked) {
        marked["metadata"]["deletionTimestamp"] = json!(crate::clock::timestamp(now));
        marked["spec"]["finalizers"] = json!(["kubernetes"]);
        marked["status"]["phase"] = json!("Terminating");
    }
    let marked = tx.put(rt, marked);
    empty(tx, state, registry, &namespace.name);
    if is_empty(tx, registry, &namespace.name) {
        return remove(tx, state, registry, rt, &marked, Propagation::Cascade);
    }
    marked
}

/// Deletes what is in the namespace: pods on a node gracefully (first, so their owners'
/// removal does not take them at once), the rest now.
fn empty(tx: &mut Tx<'_>, state: &ApiState, registry: &Registry, namespace: &str) {
    let now = state.clock.now();
    let kinds: Vec<Arc<ResourceType>> = registry.all().filter(|t| t.namespaced).cloned().collect();
    let (pods, rest): (Vec<_>, Vec<_>) = kinds
        .into_iter()
        .partition(|t| t.group.is_empty() && t.kind == "Pod");
    for t in pods.iter().chain(&rest) {
        for (ns, name) in tx.names(&t.store_key(), Some(namespace)) {
            let Some(object) = tx.get(&t.store_key(), &ns, &name) else {
                continue;
            };
            let value = object.value();
            let is_pod = t.group.is_empty() && t.kind == "Pod";
            match graceful::pod_grace(&value, &json!({})).filter(|_| is_pod) {
                Some(grace) => {
                    if let Some(marked) = graceful::terminating(&value, now, grace) {
                        tx.put(t, marked);
                    }
                }
                None => {
                    remove(tx, state, registry, t, &object, Propagation::Orphan);
                }
            }
        }
    }
}

/// Whether no namespaced object of any kind is left in `namespace`.
pub fn is_empty(tx: &Tx<'_>, registry: &Registry, namespace: &str) -> bool {
    registry
        .all()
        .filter(|t| t.namespaced)
        .all(|t| tx.names(&t.store_key(), Some(namespace)).is_empty())
}
