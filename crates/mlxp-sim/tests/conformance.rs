//! Every object the sim serves, of every kind it lists, read back as the strictest client
//! would: each object checked against the `required` lists of its kind's schema in the
//! sim's own OpenAPI v3 document (at every level, through `$ref`s, arrays and maps), and
//! each built-in one decoded into its k8s-openapi type with nothing left over (a field the
//! type does not know is a field a strict decoder refuses). A missing field fails here, not
//! in a user's client.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::{apps, autoscaling, batch, coordination, core, policy, rbac};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use kube::Client;
use mlxp_sim::{Scale, Scenario, Sim, SimConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

async fn get(client: &Client, path: &str) -> Value {
    let text = client
        .request_text(http::Request::get(path).body(Vec::new()).expect("request"))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
}

/// (group version, kind, plural) of every resource that can be listed.
async fn listable(client: &Client) -> Vec<(String, String, String)> {
    let mut versions = vec!["v1".to_string()];
    let groups = get(client, "/apis").await;
    for group in groups["groups"].as_array().into_iter().flatten() {
        for v in group["versions"].as_array().into_iter().flatten() {
            versions.extend(v["groupVersion"].as_str().map(String::from));
        }
    }
    let mut out = Vec::new();
    for gv in versions {
        let path = if gv == "v1" {
            "/api/v1".to_string()
        } else {
            format!("/apis/{gv}")
        };
        let list = get(client, &path).await;
        for r in list["resources"].as_array().into_iter().flatten() {
            let name = r["name"].as_str().unwrap_or("");
            let lists = r["verbs"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v == "list"));
            if lists && !name.contains('/') {
                let kind = r["kind"].as_str().unwrap_or("").to_string();
                out.push((gv.clone(), kind, name.to_string()));
            }
        }
    }
    out
}

/// The component schemas of a group version's OpenAPI v3 document.
async fn schemas(client: &Client, gv: &str) -> Value {
    let path = if gv == "v1" {
        "/openapi/v3/api/v1".to_string()
    } else {
        format!("/openapi/v3/apis/{gv}")
    };
    get(client, &path).await["components"]["schemas"].clone()
}

/// The schema of `kind` in `schemas`: the one whose x-kubernetes-group-version-kind names it.
fn schema_of<'s>(schemas: &'s Value, gv: &str, kind: &str) -> Option<&'s Value> {
    let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
    schemas.as_object()?.values().find(|s| {
        s["x-kubernetes-group-version-kind"]
            .as_array()
            .is_some_and(|gvks| {
                gvks.iter()
                    .any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
            })
    })
}

/// A schema with its `$ref` (plain or wrapped in allOf) followed.
fn resolved<'s>(schema: &'s Value, schemas: &'s Value) -> &'s Value {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    match reference.and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => resolved(&schemas[name], schemas),
        None => schema,
    }
}

/// Every place in `value` where a field its schema requires is missing.
fn missing_required(
    value: &Value,
    schema: &Value,
    schemas: &Value,
    path: &str,
    out: &mut Vec<String>,
) {
    let schema = resolved(schema, schemas);
    match value {
        Value::Object(fields) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap_or("");
                if fields.get(key).is_none_or(Value::is_null) {
                    out.push(format!("{path}.{key}"));
                }
            }
            for (key, field) in fields {
                let property = &schema["properties"][key];
                if property.is_object() {
                    missing_required(field, property, schemas, &format!("{path}.{key}"), out);
                } else if schema["additionalProperties"].is_object() {
                    let each = &schema["additionalProperties"];
                    missing_required(field, each, schemas, &format!("{path}[{key}]"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                missing_required(
                    item,
                    &schema["items"],
                    schemas,
                    &format!("{path}[{i}]"),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// Decodes `object` into `K` and back: the decode must succeed and keep every field.
fn decode_strictly<K: DeserializeOwned + Serialize>(
    object: &Value,
    path: &str,
    out: &mut Vec<String>,
) {
    match serde_json::from_value::<K>(object.clone()) {
        Err(e) => out.push(format!("{path}: does not decode: {e}")),
        Ok(typed) => {
            let back = serde_json::to_value(&typed).expect("encodes");
            unknown_fields(object, &back, path, out);
        }
    }
}

/// Fields of `sent` the typed round trip dropped: fields the type does not have.
fn unknown_fields(sent: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    match (sent, kept) {
        (Value::Object(sent), Value::Object(kept)) => {
            for (key, value) in sent.iter().filter(|(_, v)| !v.is_null()) {
                match kept.get(key) {
                    None => out.push(format!("{path}.{key}: unknown field")),
                    Some(k) => unknown_fields(value, k, &format!("{path}.{key}"), out),
                }
            }
        }
        (Value::Array(sent), Value::Array(kept)) => {
            for (i, (s, k)) in sent.iter().zip(kept).enumerate() {
                unknown_fields(s, k, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The strict decode of a built-in kind; false for kinds without a k8s-openapi type here
/// (custom resources: their CRD schema's `required` lists are checked all the same).
fn decode_builtin(kind: &str, object: &Value, path: &str, out: &mut Vec<String>) -> bool {
    match kind {
        "Namespace" => decode_strictly::<core::v1::Namespace>(object, path, out),
        "Node" => decode_strictly::<core::v1::Node>(object, path, out),
        "Pod" => decode_strictly::<core::v1::Pod>(object, path, out),
        "Event" => decode_strictly::<core::v1::Event>(object, path, out),
        "Service" => decode_strictly::<core::v1::Service>(object, path, out),
        "ConfigMap" => decode_strictly::<core::v1::ConfigMap>(object, path, out),
        "Secret" => decode_strictly::<core::v1::Secret>(object, path, out),
        "ServiceAccount" => decode_strictly::<core::v1::ServiceAccount>(object, path, out),
        "Deployment" => decode_strictly::<apps::v1::Deployment>(object, path, out),
        "ReplicaSet" => decode_strictly::<apps::v1::ReplicaSet>(object, path, out),
        "Job" => decode_strictly::<batch::v1::Job>(object, path, out),
        "CronJob" => decode_strictly::<batch::v1::CronJob>(object, path, out),
        "HorizontalPodAutoscaler" => {
            decode_strictly::<autoscaling::v2::HorizontalPodAutoscaler>(object, path, out)
        }
        "PodDisruptionBudget" => {
            decode_strictly::<policy::v1::PodDisruptionBudget>(object, path, out)
        }
        "Lease" => decode_strictly::<coordination::v1::Lease>(object, path, out),
        "Role" => decode_strictly::<rbac::v1::Role>(object, path, out),
        "RoleBinding" => decode_strictly::<rbac::v1::RoleBinding>(object, path, out),
        "ClusterRole" => decode_strictly::<rbac::v1::ClusterRole>(object, path, out),
        "ClusterRoleBinding" => decode_strictly::<rbac::v1::ClusterRoleBinding>(object, path, out),
        "CustomResourceDefinition" => {
            decode_strictly::<apiext::CustomResourceDefinition>(object, path, out)
        }
        _ => return false,
    }
    true
}

async fn post(client: &Client, path: &str, body: Value) {
    let request = http::Request::post(path)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).expect("encodes"))
        .expect("request");
    client
        .request_text(request)
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
}

/// One object of each kind the platform does not make itself, as a user would send it
/// (the least the apiserver accepts; the rest is the sim's defaulting).
async fn one_of_each_other_kind(client: &Client) {
    let meta = json!({"name": "conformance", "namespace": "default"});
    let selector = json!({"matchLabels": {"app": "web"}});
    let rules = json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]);
    let subjects =
        json!([{"kind": "ServiceAccount", "name": "conformance", "namespace": "default"}]);
    let bodies = [
        (
            "/api/v1/namespaces/default/secrets",
            json!({"kind": "Secret", "stringData": {"a": "b"}}),
        ),
        (
            "/api/v1/namespaces/default/serviceaccounts",
            json!({"kind": "ServiceAccount"}),
        ),
        (
            "/api/v1/namespaces/default/services",
            json!({"kind": "Service", "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}}),
        ),
        (
            "/apis/batch/v1/namespaces/default/cronjobs",
            json!({"kind": "CronJob", "spec": {
            "schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}}),
        ),
        (
            "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            json!({"kind": "Lease", "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}),
        ),
        (
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            json!({"kind": "PodDisruptionBudget", "spec": {"minAvailable": 1, "selector": selector}}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            json!({"kind": "Role", "rules": rules}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            json!({"kind": "RoleBinding",
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "conformance"},
            "subjects": subjects}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            json!({"kind": "ClusterRole", "rules": rules}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({"kind": "ClusterRoleBinding",
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "conformance"},
            "subjects": subjects}),
        ),
    ];
    for (path, mut body) in bodies {
        let group_version = match path.strip_prefix("/apis/") {
            Some(rest) => rest.split('/').take(2).collect::<Vec<_>>().join("/"),
            None => "v1".to_string(),
        };
        body["apiVersion"] = json!(group_version);
        body["metadata"] = meta.clone();
        if !path.contains("/namespaces/") {
            body["metadata"] = json!({"name": "conformance"});
        }
        post(client, path, body).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_served_object_has_its_required_fields_and_decodes_strictly() {
    let sim = Sim::start(SimConfig {
        manual_clock: true,
        scenario: Scenario::Platform {
            scale: Scale::Small,
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim starts");
    // Two simulated minutes: the controllers make what they make (pods, ReplicaSets,
    // Events, Workloads, Leases), so their objects are checked too.
    for _ in 0..12 {
        sim.advance(Duration::from_secs(10));
    }
    let client = sim.client(false).await.expect("admin client");
    one_of_each_other_kind(&client).await;
    let mut problems = Vec::new();
    let mut checked: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    let mut documents: BTreeMap<String, Value> = BTreeMap::new();
    for (gv, kind, plural) in listable(&client).await {
        if !documents.contains_key(&gv) {
            documents.insert(gv.clone(), schemas(&client, &gv).await);
        }
        let schemas = &documents[&gv];
        let Some(schema) = schema_of(schemas, &gv, &kind) else {
            problems.push(format!("{gv} {kind}: no schema in /openapi/v3"));
            continue;
        };
        let base = if gv == "v1" {
            "/api/v1".to_string()
        } else {
            format!("/apis/{gv}")
        };
        let list = get(&client, &format!("{base}/{plural}")).await;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let mut strict = false;
        for item in &items {
            let name = format!(
                "{kind} {}/{}",
                item["metadata"]["namespace"].as_str().unwrap_or(""),
                item["metadata"]["name"].as_str().unwrap_or("")
            );
            missing_required(item, schema, schemas, &name, &mut problems);
            strict = decode_builtin(&kind, item, &name, &mut problems);
        }
        checked.insert(format!("{gv} {kind}"), (items.len(), strict));
    }
    let summary: Vec<String> = checked
        .iter()
        .map(|(k, (n, strict))| format!("{k}: {n}{}", if *strict { " (typed)" } else { "" }))
        .collect();
    eprintln!("checked:\n  {}", summary.join("\n  "));
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Every kind served had objects to check.
    let empty: Vec<&String> = checked
        .iter()
        .filter(|(_, (n, _))| *n == 0)
        .map(|(k, _)| k)
        .collect();
    assert!(empty.is_empty(), "kinds with nothing checked: {empty:?}");
    assert!(
        checked.keys().any(|k| k.ends_with(" Model")),
        "custom resources checked too: {summary:?}"
    );
}

/// The checks themselves catch what they are for: a field the type does not know, a
/// required field missing deep inside (through a `$ref` and an array).
#[test]
fn the_checks_find_unknown_and_missing_fields() {
    let mut problems = Vec::new();
    let pod = json!({"metadata": {"name": "p", "nickname": "x"},
                     "spec": {"containers": [{"name": "c", "colour": "red"}]}});
    decode_strictly::<core::v1::Pod>(&pod, "Pod p", &mut problems);
    assert_eq!(
        problems,
        [
            "Pod p.metadata.nickname: unknown field",
            "Pod p.spec.containers[0].colour: unknown field"
        ]
    );
    let schemas = json!({
        "Spec": {"properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
        "Item": {"required": ["name"], "properties": {"name": {"type": "string"}}},
    });
    let kind = json!({"required": ["spec"], "properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/Spec"}]}}});
    let mut problems = Vec::new();
    missing_required(
        &json!({"spec": {"items": [{"name": "a"}, {}]}}),
        &kind,
        &schemas,
        "K",
        &mut problems,
    );
    missing_required(&json!({}), &kind, &schemas, "L", &mut problems);
    assert_eq!(problems, ["K.spec.items[1].name", "L.spec"]);
}
