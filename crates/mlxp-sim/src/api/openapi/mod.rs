//! OpenAPI v3: the root index and one document per group version (v2, for kubectl 1.27 and
//! 1.28, is in `v2.rs`).
//!
//! kubectl 1.29 and later read these to learn that the server validates fields itself (the
//! `fieldValidation` parameter of each PATCH operation, found by `x-kubernetes-group-version-kind`);
//! without them they would validate client-side from schemas in `/openapi/v2`.
//! `kubectl explain` reads the component schemas: custom kinds carry their CRD schema; built-in
//! kinds the schemas of k8s-openapi's types with everything they reference (`builtin.rs`).
//! PATCH operations deliberately do not list `application/strategic-merge-patch+json`: kubectl
//! apply then computes its patches from its compiled-in types rather than from these schemas,
//! which lack the `x-kubernetes-patch-*` extensions.

mod builtin;
mod v2;

use hyper::{Response, StatusCode};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::status::ApiError;
use super::{ApiState, Body, bytes_response, json_response};
use crate::resources::ResourceType;

/// `/openapi/v2` in protobuf, the one encoding kubectl asks it in (`v2.rs`).
pub fn v2(state: &ApiState) -> Response<Body> {
    let registry = state.registry();
    let mut response = bytes_response(StatusCode::OK, v2::document(registry.all().map(|t| &**t)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        // As kube-openapi answers it: Go's mime parser refuses the `@` of the media type asked.
        hyper::header::HeaderValue::from_static("application/octet-stream"),
    );
    response
}

pub fn serve(state: &ApiState, path: &str) -> Result<Response<Body>, ApiError> {
    let registry = state.registry();
    if path.is_empty() {
        let mut paths = Map::new();
        for (group, versions) in registry.groups() {
            for version in versions {
                let gv = group_version_path(&group, &version);
                let hash = content_hash(&registry, &group, &version);
                paths.insert(
                    gv.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={hash:016X}")}),
                );
            }
        }
        return Ok(json_response(StatusCode::OK, &json!({"paths": paths})));
    }
    let (group, version) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", version] => (String::new(), version.to_string()),
        ["apis", group, version] => (group.to_string(), version.to_string()),
        _ => return Err(ApiError::path_not_found()),
    };
    let types: Vec<_> = registry
        .all()
        .filter(|t| t.group == group && t.version == version)
        .cloned()
        .collect();
    if types.is_empty() {
        return Err(ApiError::path_not_found());
    }
    let builtin = builtin::components(&group, &version);
    let mut paths = Map::new();
    let mut custom = Map::new();
    for t in &types {
        let name = builtin
            .and_then(|b| b.names.get(t.kind.as_str()).cloned())
            .unwrap_or_else(|| schema_name(t));
        if builtin.is_none_or(|b| !b.schemas.contains_key(&name)) {
            let mut schema = t.schema.clone().unwrap_or_else(
                || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
            schema["x-kubernetes-group-version-kind"] =
                json!([{"group": t.group, "version": t.version, "kind": t.kind}]);
            custom.insert(name.clone(), schema);
        }
        for (path, item) in path_items(t, &name) {
            paths.insert(path, item);
        }
    }
    let doc = Document {
        openapi: "3.0.0",
        info: json!({"title": "Kubernetes", "version": "v1.33.0"}),
        paths,
        components: Components {
            schemas: Schemas {
                builtin: builtin.map(|b| &b.schemas),
                custom,
            },
        },
    };
    let bytes = serde_json::to_vec(&doc).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(bytes_response(StatusCode::OK, bytes))
}

/// A group version's document, serialized without copying the cached built-in schemas.
#[derive(Serialize)]
struct Document<'a> {
    openapi: &'static str,
    info: Value,
    paths: Map<String, Value>,
    components: Components<'a>,
}

#[derive(Serialize)]
struct Components<'a> {
    schemas: Schemas<'a>,
}

struct Schemas<'a> {
    builtin: Option<&'a Map<String, Value>>,
    custom: Map<String, Value>,
}

impl Serialize for Schemas<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.builtin.into_iter().flatten().chain(&self.custom))
    }
}

/// Changes whenever what the group version's document says changes (a CRD's schema is
/// updated, a kind comes or goes), so clients that cache documents by URL re-fetch then.
fn content_hash(registry: &crate::resources::Registry, group: &str, version: &str) -> u64 {
    let text: String = registry
        .all()
        .filter(|t| t.group == group && t.version == version)
        .map(|t| {
            let schema = t.schema.as_ref().map(Value::to_string).unwrap_or_default();
            format!("{}\n{schema}\n", t.plural)
        })
        .collect();
    crate::ids::stable_hash(&text)
}

fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn schema_name(t: &ResourceType) -> String {
    let mut reversed: Vec<&str> = t.group.split('.').collect();
    reversed.reverse();
    match t.group.as_str() {
        "" => format!("io.k8s.api.core.{}.{}", t.version, t.kind),
        g if !g.contains('.') => format!("io.k8s.api.{g}.{}.{}", t.version, t.kind),
        _ => format!("{}.{}.{}", reversed.join("."), t.version, t.kind),
    }
}

fn path_items(t: &ResourceType, schema_name: &str) -> Vec<(String, Value)> {
    let base = format!("/{}", group_version_path(&t.group, &t.version));
    let scope = if t.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", t.plural)
    } else {
        format!("{base}/{}", t.plural)
    };
    let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
    let reference = json!({"$ref": format!("#/components/schemas/{schema_name}")});
    let query = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    let write_params = json!([
        query("dryRun"),
        query("fieldManager"),
        query("fieldValidation")
    ]);
    let op = |action: &str, params: &Value| {
        json!({
            "operationId": format!("{action}{}", t.kind),
            "parameters": params,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}},
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        })
    };
    let mut patch_content = Map::new();
    for media in [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ] {
        patch_content.insert(media.into(), json!({"schema": {"type": "object"}}));
    }
    let mut patch = op("patch", &write_params);
    if let Some(params) = patch["parameters"].as_array_mut() {
        params.push(query("force"));
    }
    patch["requestBody"] = json!({"content": patch_content});
    let mut item = json!({
        "get": op("get", &json!([])),
        "put": op("put", &write_params),
        "delete": op("delete", &json!([query("dryRun")])),
        "patch": patch,
    });
    item["put"]["requestBody"] = json!({"content": {"application/json": {"schema": reference}}});
    let mut collection = json!({
        "get": op("list", &json!([query("labelSelector"), query("fieldSelector"), query("limit"), query("continue"), query("watch")])),
        "post": op("post", &write_params),
    });
    collection["post"]["requestBody"] =
        json!({"content": {"application/json": {"schema": reference}}});
    if t.create_only {
        return vec![(scope, json!({"post": collection["post"].clone()}))];
    }
    let mut out = vec![
        (format!("{scope}/{{name}}"), item),
        (scope.clone(), collection),
    ];
    if t.status {
        let mut status = json!({"get": op("get", &json!([])), "put": op("put", &write_params), "patch": op("patch", &write_params)});
        status["patch"]["requestBody"] = json!({"content": patch_content});
        out.push((format!("{scope}/{{name}}/status"), status));
    }
    out
}
