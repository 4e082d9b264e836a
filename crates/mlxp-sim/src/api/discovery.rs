//! Discovery: `/version`, `/api`, `/apis`, and the resource lists of each group version.
//!
//! Clients that ask for aggregated discovery (`as=APIGroupDiscoveryList`) get the legacy
//! documents with a plain `application/json` type, which client-go and kube-rs take as
//! "not supported" and fall back to the per-group requests.

use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::request::Discovery;
use super::status::ApiError;
use super::{ApiState, Body, json_response};
use crate::resources::ResourceType;

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-mlxp-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24",
        "compiler": "gc",
        "platform": "linux/amd64",
        "emulationMajor": "1",
        "emulationMinor": "33",
    })
}

pub fn serve(
    state: &ApiState,
    method: &hyper::Method,
    what: Discovery,
) -> Result<Response<Body>, ApiError> {
    if method != hyper::Method::GET {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let registry = state.registry();
    let body = match what {
        Discovery::CoreVersions => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress":
                state.address.get().map_or_else(|| "127.0.0.1:6443".to_string(), ToString::to_string)}],
        }),
        Discovery::Groups => {
            let groups: Vec<Value> = registry
                .groups()
                .into_iter()
                .filter(|(g, _)| !g.is_empty())
                .map(|(g, versions)| group_json(&g, &versions))
                .collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        Discovery::Group(group) => {
            let (g, versions) = registry
                .groups()
                .into_iter()
                .find(|(g, _)| *g == group && !g.is_empty())
                .ok_or_else(ApiError::path_not_found)?;
            let mut doc = group_json(&g, &versions);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        }
        Discovery::Resources { group, version } => {
            let types: Vec<&std::sync::Arc<ResourceType>> = registry
                .all()
                .filter(|t| t.group == group && t.version == version)
                .collect();
            if types.is_empty() {
                return Err(ApiError::path_not_found());
            }
            let resources: Vec<Value> = types.iter().flat_map(|t| resource_entries(t)).collect();
            let group_version = if group.is_empty() {
                version
            } else {
                format!("{group}/{version}")
            };
            json!({
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": group_version,
                "resources": resources,
            })
        }
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = list.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": list, "preferredVersion": preferred})
}

/// The resource and its subresources as discovery lists them.
fn resource_entries(t: &ResourceType) -> Vec<Value> {
    let mut main = json!({
        "name": t.plural,
        "singularName": t.singular,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": t.verbs(),
    });
    if !t.short_names.is_empty() {
        main["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        main["categories"] = json!(t.categories);
    }
    let mut out = vec![main];
    let sub = |name: &str, kind: &str, verbs: &[&str]| {
        json!({
            "name": format!("{}/{name}", t.plural),
            "singularName": "",
            "namespaced": t.namespaced,
            "kind": kind,
            "verbs": verbs,
        })
    };
    if t.status {
        out.push(sub("status", &t.kind, &["get", "patch", "update"]));
    }
    if t.scale {
        let mut scale = sub("scale", "Scale", &["get", "patch", "update"]);
        scale["group"] = json!("autoscaling");
        scale["version"] = json!("v1");
        out.push(scale);
    }
    if t.log {
        // Pods: their log, and the eviction kubectl drain looks for here.
        let mut eviction = sub("eviction", "Eviction", &["create"]);
        eviction["group"] = json!("policy");
        eviction["version"] = json!("v1");
        out.push(eviction);
        out.push(sub("log", "Pod", &["get"]));
    }
    out
}
