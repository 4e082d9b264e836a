//! The namespace controller's last step: a Terminating namespace is removed once nothing
//! is left in it (its pods' kubelets have removed them). Namespaces are few; only the
//! terminating ones are looked into.

use crate::api::ApiState;
use crate::api::namespaces::{is_empty, terminating};

pub fn reconcile(state: &ApiState) -> usize {
    let registry = state.registry().clone();
    state
        .list_objects("", "namespaces")
        .filter(terminating)
        .filter_map(|ns| ns["metadata"]["name"].as_str().map(String::from))
        .filter(|name| state.store.transact(|tx| is_empty(tx, &registry, name)))
        .map(|name| usize::from(state.delete_object("", "namespaces", "", &name)))
        .sum()
}
