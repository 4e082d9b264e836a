//! OpenAPI v3: the root index and one document per group version.
//!
//! kubectl reads these to learn that the server validates fields itself (the `fieldValidation`
//! parameter of each PATCH operation, found by `x-kubernetes-group-version-kind`); without them
//! it insists on client-side validation from `/openapi/v2`, which this server does not serve.
//! Component schemas: custom kinds carry their CRD schema; built-in kinds an open object
//! (their fields are checked server-side by decoding, see `body.rs`).

use hyper::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::status::ApiError;
use super::{ApiState, Body, json_response};
use crate::sim::resources::ResourceType;

pub fn serve(state: &ApiState, path: &str) -> Result<Response<Body>, ApiError> {
    let registry = state.registry();
    if path.is_empty() {
        let mut paths = Map::new();
        for (group, versions) in registry.groups() {
            for version in versions {
                let gv = group_version_path(&group, &version);
                let hash = registry.all().filter(|t| t.group == group).count();
                paths.insert(
                    gv.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={hash:08X}")}),
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
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in &types {
        let schema_name = schema_name(t);
        let schema = t.schema.clone().unwrap_or_else(
            || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        );
        let mut schema = schema;
        schema["x-kubernetes-group-version-kind"] =
            json!([{"group": t.group, "version": t.version, "kind": t.kind}]);
        schemas.insert(schema_name.clone(), schema);
        for (path, item) in path_items(t, &schema_name) {
            paths.insert(path, item);
        }
    }
    let doc = json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    });
    Ok(json_response(StatusCode::OK, &doc))
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
