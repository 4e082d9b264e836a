//! `metadata.managedFields` on API writes: who writes (fieldManager, else the User-Agent
//! up to its first `/`, as the apiserver names managers), which entries a write starts
//! from, and stamping the result onto the object.

use serde_json::Value;

use super::request::Context;
use super::status::ApiError;
use crate::clock;
use crate::patch::{self, FieldOwners, Scope, Writer};
use crate::resources::ResourceType;

/// The apiserver's limit on a field manager's name.
const MANAGER_MAX_BYTES: usize = 128;

/// One API write's manager, group/version, subresource and time.
pub struct WriteInfo {
    pub manager: String,
    pub api_version: String,
    pub subresource: String,
    pub time: String,
}

impl WriteInfo {
    pub fn of(ctx: &Context) -> Self {
        WriteInfo {
            manager: manager(ctx.query.field_manager.as_deref(), &ctx.user_agent),
            api_version: ctx.rt.api_version(),
            subresource: ctx.target.subresource.clone().unwrap_or_default(),
            time: clock::timestamp(ctx.state.clock.now()),
        }
    }

    pub fn writer(&self) -> Writer<'_> {
        Writer {
            manager: &self.manager,
            api_version: &self.api_version,
            subresource: &self.subresource,
            time: &self.time,
        }
    }

    /// What of the object this write may own.
    pub fn scope(&self, rt: &ResourceType) -> Scope {
        match self.subresource.as_str() {
            "status" => Scope::Status,
            _ if rt.status => Scope::Object,
            _ => Scope::ObjectAndStatus,
        }
    }
}

/// How a write's ownership is decided.
pub enum Ownership<'a> {
    /// Create, update or a non-apply patch: the writer owns what it changed.
    Update(&'a WriteInfo),
    /// Server-side apply already worked it out.
    Applied(FieldOwners),
}

/// `fieldManager` if given, else the User-Agent's first part without unprintable
/// characters, cut at 128 bytes (the apiserver's `prefixFromUserAgent`).
pub fn manager(field_manager: Option<&str>, user_agent: &str) -> String {
    if let Some(m) = field_manager.filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MANAGER_MAX_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

/// Sent managedFields that fail the apiserver's validation: 422.
pub fn check_sent(rt: &ResourceType, name: &str, sent: Option<&Value>) -> Result<(), ApiError> {
    let causes = patch::validation_errors(sent);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&rt.kind, &rt.group, name, causes))
    }
}

/// The entries a write starts from: cleared by `[]` or `[{}]`; the client's when it sent
/// some that decode (and it is not writing a subresource); else the live object's.
pub fn starting_owners(
    live: Option<&Value>,
    sent: Option<&Value>,
    subresource: bool,
) -> FieldOwners {
    let live_owners = || {
        FieldOwners::from_managed_fields(live.and_then(|l| l.pointer("/metadata/managedFields")))
            .unwrap_or_default()
    };
    if subresource {
        return live_owners();
    }
    if patch::is_reset(sent) {
        return FieldOwners::default();
    }
    match FieldOwners::from_managed_fields(sent) {
        Ok(owners) if !owners.is_empty() => owners,
        _ => live_owners(),
    }
}

/// The entries of an object the cluster's own components made (its controllers, its
/// seeding), as a real cluster has them: the creator's Update of all but the status, and
/// the status writer's (a pod's kubelet) Update through the status subresource. The store
/// keeps one copy of entries alike (`StoredObject::managed`): a controller's pods of one
/// second share theirs.
pub fn creators(rt: &ResourceType, object: &Value) -> FieldOwners {
    let api_version = rt.api_version();
    let time = object
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .unwrap_or("");
    let creator = creator_of(object);
    let writer = |manager, subresource| Writer {
        manager,
        api_version: &api_version,
        subresource,
        time,
    };
    let mut owners = FieldOwners::default();
    let scope = if rt.status {
        Scope::Object
    } else {
        Scope::ObjectAndStatus
    };
    owners.record_update(None, object, &writer(creator, ""), scope);
    if rt.status {
        let status_writer = if rt.kind == "Pod" { "kubelet" } else { creator };
        owners.record_update(
            None,
            object,
            &writer(status_writer, "status"),
            Scope::Status,
        );
    }
    owners
}

/// Who makes an object on a real cluster: the component reporting an Event; the
/// controller manager for what a controller owns (Kueue for Workloads); `mlxp-sim` for
/// what the sim seeds, standing for whoever installed the platform.
fn creator_of(object: &Value) -> &'static str {
    if object["kind"] == "Event" {
        return match object["reportingComponent"].as_str().unwrap_or("") {
            "kubelet" => "kubelet",
            "default-scheduler" => "kube-scheduler",
            c if c.starts_with("kueue") => "kueue",
            _ => "kube-controller-manager",
        };
    }
    let controlled = object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r["controller"] == true));
    match (controlled, object["kind"].as_str()) {
        (true, Some("Workload")) => "kueue",
        (true, _) => "kube-controller-manager",
        (false, _) => "mlxp-sim",
    }
}

/// Writes the entries into the object's metadata (none: no managedFields).
pub fn stamp(object: &mut Value, owners: &FieldOwners) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    meta.retain(|k, _| k != "managedFields");
    if !owners.is_empty() {
        meta.insert(
            "managedFields".into(),
            Value::Array(owners.managed_fields()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_is_field_manager_or_user_agent_prefix() {
        assert_eq!(manager(Some("mine"), "kubectl/v1.29.0"), "mine");
        assert_eq!(
            manager(
                None,
                "kubectl-label/v1.33.1 (linux/amd64) kubernetes/8adc0f0"
            ),
            "kubectl-label"
        );
        assert_eq!(manager(Some(""), "curl/8.5.0"), "curl");
        assert_eq!(manager(None, ""), "");
        assert_eq!(manager(None, &"x".repeat(200)).len(), 128);
    }
}
