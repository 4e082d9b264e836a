//! What the apiserver fills into objects before storing them — its defaulting functions
//! (`SetDefaults_*`) and, for new objects, what its create strategies and admission add
//! (a Job's selector, a Service's cluster IP, a Pod's service account). Applied to every
//! body, JSON or protobuf: a protobuf body carries each Go zero value ("" for an unset
//! string), which the server's defaulting treats as unset, and so does this.

mod pod;
mod service;
mod workloads;

use serde_json::{Map, Value};

pub use pod::pod;

/// Sets `field` to `value` when it is unset: absent, null, or the empty string.
pub(super) fn unset_to(map: &mut Map<String, Value>, field: &str, value: Value) {
    let unset = match map.get(field) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    };
    if unset {
        map.insert(field.to_string(), value);
    }
}

/// What is known of the object being created (None on an update: what only a create
/// gives — a Job's selector, a Service's IP — is already there).
pub struct Created<'a> {
    pub uid: &'a str,
    /// A free cluster IP, for a Service that asks for one.
    pub cluster_ip: &'a mut dyn FnMut() -> String,
}

/// The defaults of `kind` (of API `group`) laid into `object`.
pub fn apply(group: &str, kind: &str, object: &mut Value, created: Option<Created>) {
    match (group, kind) {
        ("", "Pod") => {
            if created.is_some() {
                pod(object);
            } else if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
                pod::pod_spec(spec);
            }
        }
        ("", "Service") => service::service(object, created),
        ("apps", "Deployment") => workloads::deployment(object),
        ("apps", "ReplicaSet") => workloads::replica_set(object),
        ("apps", "StatefulSet") => workloads::stateful_set(object),
        ("apps", "DaemonSet") => workloads::daemon_set(object),
        ("batch", "Job") => workloads::job(object, created),
        ("batch", "CronJob") => workloads::cron_job(object),
        _ => {}
    }
}
