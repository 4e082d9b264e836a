//! The embedded API server ("the sim") driven by kube-rs over HTTPS, as any client drives a
//! real cluster: CRUD, every patch type, dry run, conflicts, paging, selectors, garbage
//! collection, watches across a 410, authentication and authorization, CRD validation, logs.
//!
//! Each test starts its own sim. Nothing sleeps blindly: waits are on conditions, bounded.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, LogParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::Status;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use mlxp_sim::{Sim, SimConfig};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The API server alone: the clock stands still, so no controller acts behind the test's back.
fn api_only() -> SimConfig {
    SimConfig {
        manual_clock: true,
        ..SimConfig::default()
    }
}

/// How long any single wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(15);

async fn start() -> (Sim, Client) {
    let sim = Sim::start(api_only()).await.expect("sim starts");
    let client = sim.client(false).await.expect("admin client");
    (sim, client)
}

/// Builds a typed object from JSON (the readable way to write manifests in a test).
fn object<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("manifest matches its type")
}

fn config_map(name: &str, labels: Value, data: Value) -> ConfigMap {
    object(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": data,
    }))
}

fn job(name: &str) -> Job {
    object(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"test": "crud"}},
        "spec": {
            "backoffLimit": 2,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}],
            }},
        },
    }))
}

/// A pod that names `owner` (a Job) as its controller.
fn owned_pod(name: &str, owner: &Job, labels: Value) -> Pod {
    object(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": owner.name_any(),
                "uid": owner.uid().expect("stored job has a uid"),
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox:1.36"}],
        },
    }))
}

/// A Job in `default` and two pods it owns, labelled `gc=<tag>`.
async fn job_with_pods(client: &Client, tag: &str) -> (Api<Job>, Api<Pod>, Job) {
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let owner = jobs
        .create(&PostParams::default(), &job(&format!("gc-{tag}")))
        .await
        .unwrap();
    for i in 0..2 {
        pods.create(
            &PostParams::default(),
            &owned_pod(&format!("gc-{tag}-{i}"), &owner, json!({"gc": tag})),
        )
        .await
        .unwrap();
    }
    let listed = pods
        .list(&ListParams::default().labels(&format!("gc={tag}")))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    (jobs, pods, owner)
}

async fn create_namespace(client: &Client, name: &str) {
    let ns: Namespace =
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}));
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
}

/// The Status of a failed call; panics if the call failed otherwise (or did not fail).
fn api_error<T: std::fmt::Debug>(result: kube::Result<T>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error Status, got {other:?}"),
    }
}

fn assert_status(status: &Status, code: u16, reason: &str) {
    assert_eq!(
        (status.code, status.reason.as_str()),
        (code, reason),
        "unexpected status: {status:?}"
    );
}

/// Sorted names of a list's items.
fn names<K: ResourceExt>(items: &[K]) -> Vec<String> {
    let mut names: Vec<String> = items.iter().map(ResourceExt::name_any).collect();
    names.sort();
    names
}

fn data_of(cm: &ConfigMap) -> Vec<(String, String)> {
    cm.data.clone().unwrap_or_default().into_iter().collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Polls `check` until it yields a value, failing the test after `WAIT`.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next item of a stream, failing the test if none arrives within `WAIT`.
async fn next_within<S: Stream + Unpin>(stream: &mut S, what: &str) -> S::Item {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("stream ended while waiting for {what}"))
}

/// A CRD of `plural.group` (named `name`) serving kind `kind` at v1, schema open.
fn crd(name: &str, group: &str, plural: &str, kind: &str) -> CustomResourceDefinition {
    object(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase()},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
        },
    }))
}

fn model_version_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("mlxp.io", "v1alpha1", "ModelVersion"),
        "modelversions",
    )
}

// ---------------------------------------------------------------------------------------
// CRUD
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn job_crud() {
    let (_sim, client) = start().await;
    let jobs: Api<Job> = Api::namespaced(client, "default");

    let created = jobs
        .create(&PostParams::default(), &job("crud-job"))
        .await
        .unwrap();
    assert_eq!(created.name_any(), "crud-job");
    assert_eq!(created.namespace().as_deref(), Some("default"));
    assert!(created.uid().is_some(), "server assigns a uid");
    assert!(
        created.resource_version().is_some(),
        "server assigns a resourceVersion"
    );

    let fetched = jobs.get("crud-job").await.unwrap();
    assert_eq!(fetched.uid(), created.uid());
    let spec = fetched.spec.as_ref().unwrap();
    assert_eq!(spec.backoff_limit, Some(2));

    let listed = jobs
        .list(&ListParams::default().labels("test=crud"))
        .await
        .unwrap();
    assert_eq!(names(&listed.items), ["crud-job"]);

    let mut changed = fetched.clone();
    changed
        .labels_mut()
        .insert("stage".into(), "replaced".into());
    changed.spec.as_mut().unwrap().backoff_limit = Some(5);
    let replaced = jobs
        .replace("crud-job", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(
        replaced.labels().get("stage").map(String::as_str),
        Some("replaced")
    );
    assert_eq!(replaced.spec.as_ref().unwrap().backoff_limit, Some(5));
    assert_ne!(replaced.resource_version(), fetched.resource_version());
    assert_eq!(
        jobs.get("crud-job")
            .await
            .unwrap()
            .spec
            .unwrap()
            .backoff_limit,
        Some(5)
    );

    jobs.delete("crud-job", &DeleteParams::default())
        .await
        .unwrap();
    let status = api_error(jobs.get("crud-job").await);
    assert_status(&status, 404, "NotFound");
    assert!(
        jobs.list(&ListParams::default().labels("test=crud"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn config_map_crud() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");

    let created = cms
        .create(
            &PostParams::default(),
            &config_map("crud-cm", json!({"test": "crud"}), json!({"a": "1"})),
        )
        .await
        .unwrap();
    assert_eq!(data_of(&created), pairs(&[("a", "1")]));

    let fetched = cms.get("crud-cm").await.unwrap();
    assert_eq!(fetched.uid(), created.uid());

    let listed = cms.list(&ListParams::default()).await.unwrap();
    assert!(names(&listed.items).contains(&"crud-cm".to_string()));

    let mut changed = fetched;
    changed.data = Some([("b".to_string(), "2".to_string())].into());
    let replaced = cms
        .replace("crud-cm", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(data_of(&replaced), pairs(&[("b", "2")]));
    assert_eq!(
        data_of(&cms.get("crud-cm").await.unwrap()),
        pairs(&[("b", "2")])
    );

    // Creating it again is a conflict of names.
    let status = api_error(
        cms.create(
            &PostParams::default(),
            &config_map("crud-cm", json!({}), json!({})),
        )
        .await,
    );
    assert_status(&status, 409, "AlreadyExists");

    let deleted = cms
        .delete("crud-cm", &DeleteParams::default())
        .await
        .unwrap();
    assert!(deleted.is_left(), "delete returns the object: {deleted:?}");
    assert_status(&api_error(cms.get("crud-cm").await), 404, "NotFound");
    assert_status(
        &api_error(cms.delete("crud-cm", &DeleteParams::default()).await),
        404,
        "NotFound",
    );
}

// ---------------------------------------------------------------------------------------
// Patches
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn merge_patch() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(
        &PostParams::default(),
        &config_map("merge", json!({"keep": "yes"}), json!({"a": "1", "b": "2"})),
    )
    .await
    .unwrap();

    let patch = json!({"metadata": {"labels": {"added": "true"}}, "data": {"a": "10", "b": null, "c": "3"}});
    let patched = cms
        .patch("merge", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(data_of(&patched), pairs(&[("a", "10"), ("c", "3")]));
    assert_eq!(
        patched.labels().get("keep").map(String::as_str),
        Some("yes")
    );
    assert_eq!(
        patched.labels().get("added").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        data_of(&cms.get("merge").await.unwrap()),
        pairs(&[("a", "10"), ("c", "3")])
    );

    let status = api_error(
        cms.patch("missing", &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );
    assert_status(&status, 404, "NotFound");
}

#[tokio::test]
async fn json_patch() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(
        &PostParams::default(),
        &config_map("jp", json!({}), json!({"a": "1", "b": "2"})),
    )
    .await
    .unwrap();

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "replace", "path": "/data/a", "value": "one"},
        {"op": "remove", "path": "/data/b"},
        {"op": "add", "path": "/data/c", "value": "3"},
        {"op": "add", "path": "/metadata/labels", "value": {"patched": "json"}},
    ]))
    .unwrap();
    let patched = cms
        .patch("jp", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .unwrap();
    assert_eq!(data_of(&patched), pairs(&[("a", "one"), ("c", "3")]));
    assert_eq!(
        patched.labels().get("patched").map(String::as_str),
        Some("json")
    );

    // A failing `test` op rejects the whole patch and changes nothing.
    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/data/c", "value": "changed"},
        {"op": "test", "path": "/data/a", "value": "not-one"},
    ]))
    .unwrap();
    let status = api_error(
        cms.patch("jp", &PatchParams::default(), &Patch::<()>::Json(failing))
            .await,
    );
    assert_eq!(status.code, 422, "failed test op: {status:?}");
    assert_eq!(
        data_of(&cms.get("jp").await.unwrap()),
        pairs(&[("a", "one"), ("c", "3")])
    );
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name() {
    let (_sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    let deployment: Deployment = object(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "two-containers"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "two"}},
            "template": {
                "metadata": {"labels": {"app": "two"}},
                "spec": {"containers": [
                    {"name": "server", "image": "ghcr.io/mlxp/server:1.8"},
                    {"name": "sidecar", "image": "envoyproxy/envoy:v1.30"},
                ]},
            },
        },
    }));
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();

    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "server", "image": "ghcr.io/mlxp/server:1.9"},
    ]}}}});
    let patched = deployments
        .patch(
            "two-containers",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .unwrap();
    let images = |d: &Deployment| -> Vec<(String, String)> {
        d.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let expected = pairs(&[
        ("server", "ghcr.io/mlxp/server:1.9"),
        ("sidecar", "envoyproxy/envoy:v1.30"),
    ]);
    assert_eq!(images(&patched), expected);
    assert_eq!(
        images(&deployments.get("two-containers").await.unwrap()),
        expected
    );
    assert_eq!(
        patched.metadata.generation,
        Some(2),
        "a spec change bumps the generation"
    );
}

#[tokio::test]
async fn server_side_apply_and_conflicts() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let manifest = |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": data});

    // Apply creates what does not exist.
    let created = cms
        .patch(
            "applied",
            &PatchParams::apply("mgr"),
            &Patch::Apply(manifest(json!({"a": "1", "b": "2"}))),
        )
        .await
        .unwrap();
    assert_eq!(data_of(&created), pairs(&[("a", "1"), ("b", "2")]));

    // Re-applying with a change updates it.
    let changed = cms
        .patch(
            "applied",
            &PatchParams::apply("mgr"),
            &Patch::Apply(manifest(json!({"a": "1", "b": "3"}))),
        )
        .await
        .unwrap();
    assert_eq!(data_of(&changed), pairs(&[("a", "1"), ("b", "3")]));

    // A field the manager owned alone and no longer applies is removed.
    let dropped = cms
        .patch(
            "applied",
            &PatchParams::apply("mgr"),
            &Patch::Apply(manifest(json!({"a": "1"}))),
        )
        .await
        .unwrap();
    assert_eq!(data_of(&dropped), pairs(&[("a", "1")]));

    // Another manager setting a field "mgr" owns to another value is a conflict.
    let status = api_error(
        cms.patch(
            "applied",
            &PatchParams::apply("other"),
            &Patch::Apply(manifest(json!({"a": "x"}))),
        )
        .await,
    );
    assert_status(&status, 409, "Conflict");
    assert_eq!(
        data_of(&cms.get("applied").await.unwrap()),
        pairs(&[("a", "1")])
    );

    // Forcing takes the field over.
    let forced = cms
        .patch(
            "applied",
            &PatchParams::apply("other").force(),
            &Patch::Apply(manifest(json!({"a": "x"}))),
        )
        .await
        .unwrap();
    assert_eq!(data_of(&forced), pairs(&[("a", "x")]));
    assert_eq!(
        data_of(&cms.get("applied").await.unwrap()),
        pairs(&[("a", "x")])
    );
}

// ---------------------------------------------------------------------------------------
// Dry run, conflicts, paging
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn dry_run_create_patch_delete_store_nothing() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let dry_post = PostParams {
        dry_run: true,
        ..Default::default()
    };

    let would_be = cms
        .create(&dry_post, &config_map("dry", json!({}), json!({"a": "1"})))
        .await
        .unwrap();
    assert_eq!(would_be.name_any(), "dry");
    assert_eq!(data_of(&would_be), pairs(&[("a", "1")]));
    assert_status(&api_error(cms.get("dry").await), 404, "NotFound");

    let real = cms
        .create(
            &PostParams::default(),
            &config_map("dry", json!({}), json!({"a": "1"})),
        )
        .await
        .unwrap();

    let patched = cms
        .patch(
            "dry",
            &PatchParams::default().dry_run(),
            &Patch::Merge(json!({"data": {"a": "2"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        data_of(&patched),
        pairs(&[("a", "2")]),
        "the dry-run result shows the change"
    );
    let stored = cms.get("dry").await.unwrap();
    assert_eq!(data_of(&stored), pairs(&[("a", "1")]));
    assert_eq!(stored.resource_version(), real.resource_version());

    let deleted = cms
        .delete(
            "dry",
            &DeleteParams {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        deleted.left().map(|cm| cm.name_any()).as_deref(),
        Some("dry")
    );
    assert_eq!(cms.get("dry").await.unwrap().uid(), real.uid());
}

#[tokio::test]
async fn replace_with_stale_resource_version_conflicts() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let original = cms
        .create(
            &PostParams::default(),
            &config_map("stale", json!({}), json!({"v": "1"})),
        )
        .await
        .unwrap();

    let mut first = original.clone();
    first.data = Some([("v".to_string(), "2".to_string())].into());
    cms.replace("stale", &PostParams::default(), &first)
        .await
        .unwrap();

    let mut second = original;
    second.data = Some([("v".to_string(), "3".to_string())].into());
    let status = api_error(cms.replace("stale", &PostParams::default(), &second).await);
    assert_status(&status, 409, "Conflict");
    assert_eq!(
        data_of(&cms.get("stale").await.unwrap()),
        pairs(&[("v", "2")])
    );
}

#[tokio::test]
async fn paging_with_continue_tokens_returns_every_object_once() {
    let (_sim, client) = start().await;
    create_namespace(&client, "paging").await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "paging");
    let mut expected = BTreeSet::new();
    for i in 0..25 {
        let name = format!("page-{i:02}");
        cms.create(
            &PostParams::default(),
            &config_map(&name, json!({}), json!({})),
        )
        .await
        .unwrap();
        expected.insert(name);
    }

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(10);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let page = cms.list(&params).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 10, "page of {} items", page.items.len());
        seen.extend(page.items.iter().map(ResourceExt::name_any));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25, "every object exactly once: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
}

// ---------------------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn label_selector_operators() {
    let (_sim, client) = start().await;
    create_namespace(&client, "selectors").await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "selectors");
    for (name, labels) in [
        ("prod-web", json!({"env": "prod", "tier": "web"})),
        ("dev-web", json!({"env": "dev", "tier": "web"})),
        ("staging", json!({"env": "staging"})),
        ("unlabeled", json!({"other": "x"})),
    ] {
        cms.create(&PostParams::default(), &config_map(name, labels, json!({})))
            .await
            .unwrap();
    }

    let cases: &[(&str, &[&str])] = &[
        ("env=prod", &["prod-web"]),
        ("env==prod", &["prod-web"]),
        ("env!=prod", &["dev-web", "staging", "unlabeled"]),
        ("env in (prod,dev)", &["dev-web", "prod-web"]),
        ("env notin (prod,dev)", &["staging", "unlabeled"]),
        ("tier", &["dev-web", "prod-web"]),
        ("!tier", &["staging", "unlabeled"]),
        ("env=dev,tier", &["dev-web"]),
        ("env in (prod,staging),!tier", &["staging"]),
        ("env=nope", &[]),
    ];
    for (selector, expected) in cases {
        let listed = cms
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap();
        assert_eq!(
            names(&listed.items),
            *expected,
            "labelSelector {selector:?}"
        );
    }

    let status = api_error(
        cms.list(&ListParams::default().labels("env in (prod"))
            .await,
    );
    assert_status(&status, 400, "BadRequest");
}

#[tokio::test]
async fn field_selectors_on_name_node_and_phase() {
    let (_sim, client) = start().await;
    let all_pods: Api<Pod> = Api::all(client.clone());
    let everything = all_pods.list(&ListParams::default()).await.unwrap().items;
    assert!(everything.len() > 3, "the seeded cluster has pods");

    // spec.nodeName: exactly the pods on that node.
    let node = everything[0]
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap();
    let mut on_node: Vec<String> = everything
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()))
        .map(ResourceExt::name_any)
        .collect();
    on_node.sort();
    let selected = all_pods
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .unwrap();
    assert_eq!(names(&selected.items), on_node);
    assert!(on_node.len() < everything.len(), "the selector selects");

    // status.phase=Running: the running ones, and only them.
    let mut running: Vec<String> = everything
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .map(ResourceExt::name_any)
        .collect();
    running.sort();
    assert!(!running.is_empty());
    let selected = all_pods
        .list(&ListParams::default().fields("status.phase=Running"))
        .await
        .unwrap();
    assert_eq!(names(&selected.items), running);
    let none = all_pods
        .list(&ListParams::default().fields("status.phase=Failed"))
        .await
        .unwrap();
    assert!(none.items.is_empty());

    // metadata.name, combined with the namespace the Api is scoped to.
    let target = &everything[everything.len() - 1];
    let namespaced: Api<Pod> = Api::namespaced(client.clone(), &target.namespace().unwrap());
    let selected = namespaced
        .list(&ListParams::default().fields(&format!("metadata.name={}", target.name_any())))
        .await
        .unwrap();
    assert_eq!(names(&selected.items), [target.name_any()]);
    let excluded = namespaced
        .list(&ListParams::default().fields(&format!("metadata.name!={}", target.name_any())))
        .await
        .unwrap();
    assert!(!names(&excluded.items).contains(&target.name_any()));

    // A field the kind cannot be selected on is refused.
    let status = api_error(
        all_pods
            .list(&ListParams::default().fields("spec.bogus=1"))
            .await,
    );
    assert_status(&status, 400, "BadRequest");
}

// ---------------------------------------------------------------------------------------
// Garbage collection
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn background_deletion_collects_dependents() {
    let (_sim, client) = start().await;
    let (jobs, pods, owner) = job_with_pods(&client, "bg").await;

    jobs.delete(&owner.name_any(), &DeleteParams::background())
        .await
        .unwrap();
    assert_status(
        &api_error(jobs.get(&owner.name_any()).await),
        404,
        "NotFound",
    );
    eventually("the job's pods to be garbage-collected", || {
        let pods = pods.clone();
        async move {
            let left = pods
                .list(&ListParams::default().labels("gc=bg"))
                .await
                .unwrap();
            left.items.is_empty().then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_owner_reference() {
    let (_sim, client) = start().await;
    let (jobs, pods, owner) = job_with_pods(&client, "orphan").await;

    jobs.delete(&owner.name_any(), &DeleteParams::orphan())
        .await
        .unwrap();
    assert_status(
        &api_error(jobs.get(&owner.name_any()).await),
        404,
        "NotFound",
    );
    let left = pods
        .list(&ListParams::default().labels("gc=orphan"))
        .await
        .unwrap();
    assert_eq!(names(&left.items), ["gc-orphan-0", "gc-orphan-1"]);
    for pod in &left.items {
        let refs = pod.owner_references();
        assert!(
            refs.iter().all(|r| Some(&r.uid) != owner.uid().as_ref()),
            "{} still names the deleted job: {refs:?}",
            pod.name_any()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Watches
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn watcher_relists_after_410_gone() {
    let (sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &config_map("before", json!({}), json!({})),
    )
    .await
    .unwrap();

    // A short server-side timeout: the watcher re-watches from its last resourceVersion.
    let mut stream = watcher(cms.clone(), watcher::Config::default().timeout(1)).boxed();
    assert!(matches!(
        next_within(&mut stream, "Init").await,
        Ok(watcher::Event::Init)
    ));
    let mut initial = Vec::new();
    loop {
        match next_within(&mut stream, "the initial list").await {
            Ok(watcher::Event::InitApply(cm)) => initial.push(cm.name_any()),
            Ok(watcher::Event::InitDone) => break,
            other => panic!("unexpected event during the initial list: {other:?}"),
        }
    }
    assert_eq!(initial, ["before"]);

    // Let the watch start; nothing happens in `default`, so nothing may arrive.
    let quiet = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(
        quiet.is_err(),
        "no change, yet the watcher yielded {quiet:?}"
    );

    // A change the watcher does not see moves the store past its resourceVersion; then
    // the history is dropped, so its next re-watch is too old.
    Api::<ConfigMap>::namespaced(client, "kube-system")
        .create(
            &PostParams::default(),
            &config_map("elsewhere", json!({}), json!({})),
        )
        .await
        .unwrap();
    sim.state().store.compact();

    // The 410 surfaces as an error (the watcher's next poll re-lists).
    loop {
        match next_within(&mut stream, "the 410 from the re-watch").await {
            Err(watcher::Error::WatchError(status)) if status.code == 410 => break,
            Err(watcher::Error::WatchError(status)) => panic!("unexpected watch error {status:?}"),
            // Transient failures are retried by polling again.
            Err(_) => continue,
            Ok(event) => panic!("expected a 410, got {event:?}"),
        }
    }
    cms.create(
        &PostParams::default(),
        &config_map("after", json!({}), json!({})),
    )
    .await
    .unwrap();

    assert!(matches!(
        next_within(&mut stream, "re-list Init").await,
        Ok(watcher::Event::Init)
    ));
    let mut relisted = Vec::new();
    loop {
        match next_within(&mut stream, "the re-list").await {
            Ok(watcher::Event::InitApply(cm)) => relisted.push(cm.name_any()),
            Ok(watcher::Event::InitDone) => break,
            other => panic!("unexpected event during the re-list: {other:?}"),
        }
    }
    relisted.sort();
    assert_eq!(relisted, ["after", "before"]);

    // And it keeps watching after the re-list.
    cms.create(
        &PostParams::default(),
        &config_map("later", json!({}), json!({})),
    )
    .await
    .unwrap();
    loop {
        match next_within(&mut stream, "the object created after the re-list").await {
            Ok(watcher::Event::Apply(cm)) if cm.name_any() == "later" => break,
            Ok(watcher::Event::Apply(cm)) => panic!("unexpected Apply({})", cm.name_any()),
            // Re-watches after the 1 s timeout are fine; errors are not.
            Ok(_) => continue,
            Err(e) => panic!("watcher error after the re-list: {e}"),
        }
    }
}

#[tokio::test]
async fn a_watch_with_a_selector_sees_objects_start_and_stop_matching() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = cms
        .create(
            &PostParams::default(),
            &config_map("moving", json!({"tier": "gold"}), json!({"a": "1"})),
        )
        .await
        .unwrap();
    let rv = created.resource_version().unwrap();
    let mut events = cms
        .watch(&WatchParams::default().labels("tier=gold").timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    let relabel = |tier: &str| {
        let patch = json!({"metadata": {"labels": {"tier": tier}}});
        let cms = cms.clone();
        async move {
            cms.patch("moving", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap()
        }
    };
    // It stops matching: DELETED, with what it was (still gold) at the new version.
    let silver = relabel("silver").await;
    match next_within(&mut events, "the DELETED event").await {
        Ok(WatchEvent::Deleted(cm)) => {
            assert_eq!(cm.labels().get("tier").map(String::as_str), Some("gold"));
            assert_eq!(cm.resource_version(), silver.resource_version());
        }
        other => panic!("expected DELETED, got {other:?}"),
    }
    // A change while it does not match is not seen; matching again is ADDED.
    cms.patch(
        "moving",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"a": "2"}})),
    )
    .await
    .unwrap();
    relabel("gold").await;
    match next_within(&mut events, "the ADDED event").await {
        Ok(WatchEvent::Added(cm)) => {
            assert_eq!(
                cm.data.unwrap_or_default().get("a").map(String::as_str),
                Some("2")
            );
        }
        other => panic!("expected ADDED, got {other:?}"),
    }
}

#[tokio::test]
async fn raw_watch_from_compacted_resource_version_is_410() {
    let (sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = cms
        .create(
            &PostParams::default(),
            &config_map("old", json!({}), json!({})),
        )
        .await
        .unwrap();
    let old_rv = created.resource_version().unwrap();
    // Make the store move past it, then forget the history.
    cms.create(
        &PostParams::default(),
        &config_map("newer", json!({}), json!({})),
    )
    .await
    .unwrap();
    sim.state().store.compact();

    let mut events = cms
        .watch(&WatchParams::default().timeout(5), &old_rv)
        .await
        .unwrap()
        .boxed();
    match next_within(&mut events, "the watch's first event").await {
        Ok(WatchEvent::Error(status)) => {
            assert_eq!(status.code, 410, "{status:?}");
            assert_eq!(status.reason, "Expired");
        }
        other => panic!("expected an ERROR event with 410, got {other:?}"),
    }

    // Watching from the current resourceVersion works and sees new objects.
    let list = cms.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut events = cms
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    cms.create(
        &PostParams::default(),
        &config_map("fresh", json!({}), json!({})),
    )
    .await
    .unwrap();
    match next_within(&mut events, "ADDED fresh").await {
        Ok(WatchEvent::Added(cm)) => assert_eq!(cm.name_any(), "fresh"),
        other => panic!("expected ADDED, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Authentication and authorization
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn read_only_client_can_read_but_not_write() {
    let (sim, _admin) = start().await;
    let readonly = sim.client(true).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(readonly.clone(), "default");

    let status = api_error(
        cms.create(
            &PostParams::default(),
            &config_map("nope", json!({}), json!({})),
        )
        .await,
    );
    assert_status(&status, 403, "Forbidden");

    let pods: Api<Pod> = Api::all(readonly);
    assert!(
        !pods
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_status(&api_error(cms.get("nope").await), 404, "NotFound");
}

#[tokio::test]
async fn wrong_token_is_unauthorized() {
    let (sim, _admin) = start().await;
    let mut kubeconfig: Value = serde_json::from_str(&sim.kubeconfig_yaml()).unwrap();
    for user in kubeconfig["users"].as_array_mut().unwrap() {
        user["user"]["token"] = json!("0000000000000000000000000000000f");
    }
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&kubeconfig.to_string()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = Client::try_from(config).unwrap();

    let pods: Api<Pod> = Api::all(client);
    let status = api_error(pods.list(&ListParams::default()).await);
    assert_status(&status, 401, "Unauthorized");
}

#[tokio::test]
async fn a_created_pod_starts_pending() {
    let (_sim, client) = start().await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod: Pod = object(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "fresh"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }));
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();
    let phase = created.status.and_then(|s| s.phase);
    assert_eq!(phase.as_deref(), Some("Pending"));
}

#[tokio::test]
async fn requests_past_the_inflight_limit_get_429() {
    let sim = Sim::start(SimConfig {
        max_inflight: 0,
        ..api_only()
    })
    .await
    .expect("sim starts");
    // kube retries 429s by default (honouring Retry-After); this test wants the answer itself.
    let mut config = sim.config(false).await.expect("config");
    config.default_retry = false;
    let pods: Api<Pod> = Api::all(Client::try_from(config).expect("client"));
    let status = api_error(pods.list(&ListParams::default()).await);
    assert_status(&status, 429, "TooManyRequests");
}

// ---------------------------------------------------------------------------------------
// Custom resources
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn model_version_custom_resource_is_validated() {
    let (_sim, client) = start().await;
    let resource = model_version_resource();
    let versions: Api<DynamicObject> = Api::namespaced_with(client.clone(), "training", &resource);
    let model_version =
        |name: &str, spec: Value| DynamicObject::new(name, &resource).data(json!({ "spec": spec }));

    let created = versions
        .create(
            &PostParams::default(),
            &model_version(
                "fraud-detector-v9",
                json!({"model": "fraud-detector", "version": "v9", "stage": "Registered", "metrics": {"accuracy": 0.97}}),
            ),
        )
        .await
        .unwrap();
    assert!(created.uid().is_some());
    let fetched = versions.get("fraud-detector-v9").await.unwrap();
    assert_eq!(fetched.data["spec"]["stage"], "Registered");
    assert_eq!(
        fetched.types.as_ref().map(|t| t.kind.as_str()),
        Some("ModelVersion")
    );

    // A stage outside the schema's enum.
    let status = api_error(
        versions
            .create(
                &PostParams::default(),
                &model_version(
                    "bogus-stage",
                    json!({"model": "m", "version": "v1", "stage": "Bogus"}),
                ),
            )
            .await,
    );
    assert_status(&status, 422, "Invalid");
    let causes = status.details.map(|d| d.causes).unwrap_or_default();
    assert!(
        causes.iter().any(|c| c.field.contains("spec.stage")),
        "the cause names spec.stage: {causes:?}"
    );
    assert_status(
        &api_error(versions.get("bogus-stage").await),
        404,
        "NotFound",
    );

    // A required field missing.
    let status = api_error(
        versions
            .create(
                &PostParams::default(),
                &model_version("no-version", json!({"model": "m"})),
            )
            .await,
    );
    assert_status(&status, 422, "Invalid");
}

#[tokio::test]
async fn unknown_field_with_strict_validation_is_400() {
    let (_sim, client) = start().await;
    // kube's PostParams has no fieldValidation: send the request by hand.
    let body = json!({
        "apiVersion": "mlxp.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": "strict"},
        "spec": {"model": "m", "version": "v1", "unknownField": true},
    });
    let request = |query: &str| {
        hyper::Request::post(format!(
            "/apis/mlxp.io/v1alpha1/namespaces/training/modelversions{query}"
        ))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap()
    };
    let status = api_error(
        client
            .request_text(request("?fieldValidation=Strict"))
            .await,
    );
    assert_status(&status, 400, "BadRequest");
    assert!(status.message.contains("unknownField"), "{status:?}");
    assert_status(
        &api_error(
            Api::<DynamicObject>::namespaced_with(
                client.clone(),
                "training",
                &model_version_resource(),
            )
            .get("strict")
            .await,
        ),
        404,
        "NotFound",
    );

    // Without Strict the default (Warn) accepts the object.
    client
        .request_text(request(""))
        .await
        .expect("fieldValidation=Warn accepts unknown fields");
}

#[tokio::test]
async fn unknown_field_in_patch_with_strict_validation_is_400() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(
        &PostParams::default(),
        &config_map("strict", json!({}), json!({})),
    )
    .await
    .unwrap();
    let status = api_error(
        cms.patch(
            "strict",
            &PatchParams::default().validation_strict(),
            &Patch::Merge(json!({"notAField": 1})),
        )
        .await,
    );
    assert_status(&status, 400, "BadRequest");
    assert!(status.message.contains("notAField"), "{status:?}");
}

#[tokio::test]
async fn new_crd_is_served_until_deleted() {
    let (_sim, client) = start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(
        &PostParams::default(),
        &crd("widgets.example.com", "example.com", "widgets", "Widget"),
    )
    .await
    .unwrap();
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let widget = DynamicObject::new("w-1", &resource).data(json!({"spec": {"size": 3}}));
    widgets
        .create(&PostParams::default(), &widget)
        .await
        .unwrap();
    assert_eq!(widgets.get("w-1").await.unwrap().data["spec"]["size"], 3);

    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    let status = api_error(widgets.list(&ListParams::default()).await);
    assert_eq!(
        status.code, 404,
        "the kind is gone with its CRD: {status:?}"
    );
}

#[tokio::test]
async fn crd_name_must_be_plural_dot_group() {
    let (_sim, client) = start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let status = api_error(
        crds.create(
            &PostParams::default(),
            &crd("mismatch.example.com", "example.com", "things", "Thing"),
        )
        .await,
    );
    assert_status(&status, 422, "Invalid");
}

#[tokio::test]
async fn crd_cannot_take_over_a_builtin_kind() {
    let (_sim, client) = start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client);
    let before = pods.list(&ListParams::default()).await.unwrap().items.len();

    // The core group's pods, claimed by a CRD: the apiserver refuses it (the name must be
    // plural.group, the group a domain with a dot). Should it be accepted, deleting it must
    // still leave the built-in pods alone.
    let created = crds
        .create(&PostParams::default(), &crd("pods", "", "pods", "Pod"))
        .await;
    if created.is_ok() {
        crds.delete("pods", &DeleteParams::default()).await.unwrap();
    }
    let after = pods
        .list(&ListParams::default())
        .await
        .map(|l| l.items.len());
    assert!(
        matches!(after, Ok(n) if n == before),
        "built-in pods after a CRD claimed them and was deleted: {after:?} (before: {before}); \
         the CRD create answered {:?}",
        created.map(|c| c.name_any())
    );
    let Err(kube::Error::Api(status)) = created else {
        panic!("a CRD claiming the core pods was accepted");
    };
    assert_status(&status, 422, "Invalid");
}

// ---------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn training_pod_logs() {
    let (_sim, client) = start().await;
    let pods: Api<Pod> = Api::namespaced(client, "training");
    let trainers = pods
        .list(&ListParams::default().labels("app=trainer"))
        .await
        .unwrap();
    let pod = trainers.items.first().expect("a seeded training pod");
    let text = pods
        .logs(&pod.name_any(), &LogParams::default())
        .await
        .unwrap();
    assert!(!text.is_empty());
    assert!(text.contains("epoch"), "log of {}: {text}", pod.name_any());

    let tail = pods
        .logs(
            &pod.name_any(),
            &LogParams {
                tail_lines: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tail.lines().count(), 1);
    assert_eq!(tail.trim_end(), text.lines().last().unwrap());

    let status = api_error(pods.logs("no-such-pod", &LogParams::default()).await);
    assert_status(&status, 404, "NotFound");
}

// ---------------------------------------------------------------------------------------
// OpenAPI v3
// ---------------------------------------------------------------------------------------

/// The `$ref` of a property schema: bare, or wrapped in `allOf` beside a description.
fn schema_ref(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str())
}

/// Every `$ref` string anywhere in `value`.
fn all_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => all_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| all_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_v3_serves_built_in_schemas_with_their_definitions() {
    let sim = Sim::start(api_only()).await.expect("sim starts");
    let client = sim.client(false).await.expect("admin client");
    let text = client
        .request_text(
            http::Request::get("/openapi/v3/apis/batch/v1")
                .body(Vec::new())
                .unwrap(),
        )
        .await
        .expect("the batch/v1 document");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let schemas = &doc["components"]["schemas"];
    let resolve = |reference: &str| -> &Value {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{reference} is not a component reference"));
        let schema = &schemas[name];
        assert!(schema.is_object(), "{reference} does not resolve");
        schema
    };

    let job = &schemas["io.k8s.api.batch.v1.Job"];
    assert_eq!(
        job["x-kubernetes-group-version-kind"],
        json!([{"group": "batch", "version": "v1", "kind": "Job"}])
    );
    let spec_ref = schema_ref(&job["properties"]["spec"])
        .unwrap_or_else(|| panic!("Job spec has no $ref: {}", job["properties"]["spec"]));
    let job_spec = resolve(spec_ref);
    assert_eq!(
        job_spec["properties"]["backoffLimit"]["type"], "integer",
        "JobSpec: {job_spec}"
    );

    // The paths name the Job schema; every reference in the document resolves in it.
    let item = &doc["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"];
    assert_eq!(
        item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.batch.v1.Job"
    );
    let mut refs = Vec::new();
    all_refs(&doc, &mut refs);
    assert!(refs.len() > 50, "only {} references", refs.len());
    for reference in refs {
        resolve(reference);
    }
    // Deliberately absent: kubectl apply computes its patches from its compiled-in types.
    let patch_types = item["patch"]["requestBody"]["content"].as_object().unwrap();
    assert!(!patch_types.contains_key("application/strategic-merge-patch+json"));
}

/// CBOR bodies are refused with 415, the answer on which client-go falls back to JSON;
/// a broken protobuf body (client-go's typed clients send protobuf, without a fallback) is a
/// 400 that says why.
#[tokio::test]
async fn cbor_is_unsupported_media_and_broken_protobuf_a_bad_request() {
    let (_sim, client) = start().await;
    for (content_type, code, reason) in [
        ("application/cbor", 415, "UnsupportedMediaType"),
        ("application/vnd.kubernetes.protobuf", 400, "BadRequest"),
    ] {
        let request = http::Request::post("/api/v1/namespaces/default/configmaps")
            .header("Content-Type", content_type)
            .body(b"k8s\0\x0a\x0b".to_vec())
            .expect("request");
        let status = api_error(client.request_text(request).await);
        assert_status(&status, code, reason);
    }
}

/// pods/eviction as kubectl drain and the operations' drain use it: a PodDisruptionBudget
/// that would be broken answers 429 with its figures and the pod stays; a dry run changes
/// nothing; with room in the budget the pod goes.
#[tokio::test]
async fn eviction_honours_pod_disruption_budgets() {
    use kube::api::EvictParams;
    let sim = Sim::start(api_only()).await.expect("sim starts");
    // kube retries 429s by default; this test wants the answer itself.
    let mut config = sim.config(false).await.expect("config");
    config.default_retry = false;
    let client = Client::try_from(config).expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for name in ["web-a", "web-b"] {
        let pod: Pod = object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }));
        pods.create(&PostParams::default(), &pod)
            .await
            .expect("pod");
        // Running and Ready, as the kubelet would report it (the clock stands still).
        let status = json!({"status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("status");
    }
    let budgets = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("policy", "v1", "PodDisruptionBudget"),
            "poddisruptionbudgets",
        ),
    );
    let budget: DynamicObject = object(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
    }));
    budgets
        .create(&PostParams::default(), &budget)
        .await
        .expect("pdb");

    let refused = api_error(pods.evict("web-a", &EvictParams::default()).await);
    assert_status(&refused, 429, "TooManyRequests");
    assert_eq!(
        refused.message,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert!(pods.get_opt("web-a").await.expect("get").is_some());

    let loosened = json!({"spec": {"minAvailable": 1}});
    budgets
        .patch("web", &PatchParams::default(), &Patch::Merge(&loosened))
        .await
        .expect("patch pdb");
    // As ?dryRun=All: kube-rs sends its delete options as `delete_options`, a field the
    // API server drops, so a dry run must go in the query.
    let dry = EvictParams {
        post_options: PostParams {
            dry_run: true,
            ..PostParams::default()
        },
        ..EvictParams::default()
    };
    pods.evict("web-a", &dry).await.expect("dry-run eviction");
    assert!(pods.get_opt("web-a").await.expect("get").is_some());
    pods.evict("web-a", &EvictParams::default())
        .await
        .expect("eviction");
    assert!(pods.get_opt("web-a").await.expect("get").is_none());
    // One healthy pod left and one needed: the budget has no disruption to give.
    let refused = api_error(pods.evict("web-b", &EvictParams::default()).await);
    assert_status(&refused, 429, "TooManyRequests");
}

#[tokio::test]
async fn a_tables_rows_carry_what_include_object_asks_for() {
    let (_sim, client) = start().await;
    let table = |include: &'static str| {
        let client = client.clone();
        async move {
            let request = http::Request::get(format!(
                "/api/v1/namespaces/kube-system/pods?limit=1&includeObject={include}"
            ))
            .header(
                http::header::ACCEPT,
                "application/json;as=Table;v=v1;g=meta.k8s.io",
            )
            .body(Vec::new())
            .expect("a request");
            client.request::<Value>(request).await
        }
    };
    let none = table("None").await.expect("a table");
    assert!(none["rows"][0]["object"].is_null(), "{}", none["rows"][0]);
    let metadata = table("Metadata").await.expect("a table");
    assert_eq!(
        metadata["rows"][0]["object"]["kind"],
        "PartialObjectMetadata"
    );
    let object = table("Object").await.expect("a table");
    assert_eq!(object["rows"][0]["object"]["kind"], "Pod");
    assert!(object["rows"][0]["object"]["spec"]["containers"].is_array());
    let refused = api_error(table("All").await);
    assert_status(&refused, 400, "BadRequest");
    assert!(
        refused
            .message
            .contains("includeObject: Unsupported value: \"All\""),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn an_object_with_finalizers_is_marked_and_goes_when_the_last_is_taken_off() {
    let (_sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut held = config_map("held", json!({}), json!({"a": "1"}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &held).await.unwrap();

    cms.delete("held", &DeleteParams::default()).await.unwrap();
    let marked = cms.get("held").await.expect("still there");
    assert!(marked.metadata.deletion_timestamp.is_some());
    // Nothing may be added to what holds it now.
    let refused = api_error(
        cms.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(
                &json!({"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}}),
            ),
        )
        .await,
    );
    assert_status(&refused, 422, "Invalid");
    assert!(
        refused
            .message
            .contains("no new finalizers can be added if the object is being deleted"),
        "{}",
        refused.message
    );
    // The last finalizer taken off: it is gone.
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("held").await.unwrap().is_none());
}

/// A pod bound to a node, as the scheduler leaves it.
fn bound_pod(name: &str, grace: Option<i64>) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"nodeName": "gke-mlxp-system-3a02-2", "terminationGracePeriodSeconds": grace,
                 "containers": [{"name": "c", "image": "busybox"}]},
    }))
    .expect("pod")
}

#[tokio::test]
async fn a_pod_on_a_node_terminates_gracefully_and_a_namespace_waits_for_its_contents() {
    let (sim, client) = start().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let scratch: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "scratch"}})).expect("namespace");
    namespaces
        .create(&PostParams::default(), &scratch)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "scratch");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "scratch");
    for (name, grace) in [("slow", Some(45)), ("plain", None)] {
        pods.create(&PostParams::default(), &bound_pod(name, grace))
            .await
            .unwrap();
    }
    cms.create(
        &PostParams::default(),
        &config_map("c", json!({}), json!({})),
    )
    .await
    .unwrap();
    let now = sim.state().clock.now();

    // DELETE marks it: gone within its grace (45 s), Terminating meanwhile.
    pods.delete("slow", &DeleteParams::default()).await.unwrap();
    let marked = pods.get("slow").await.expect("still there");
    let meta = &marked.metadata;
    assert_eq!(meta.deletion_grace_period_seconds, Some(45));
    let deadline = serde_json::to_value(&meta.deletion_timestamp).expect("json");
    assert_eq!(
        deadline,
        json!(mlxp_sim::clock::timestamp(
            now + chrono::Duration::seconds(45)
        ))
    );
    // The namespace: Terminating, emptied of all but the pods still stopping, closed to
    // new content.
    namespaces
        .delete("scratch", &DeleteParams::default())
        .await
        .unwrap();
    let ns = namespaces.get("scratch").await.expect("still there");
    assert_eq!(
        ns.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    assert!(cms.get_opt("c").await.unwrap().is_none());
    let plain = pods.get("plain").await.expect("stopping");
    assert_eq!(plain.metadata.deletion_grace_period_seconds, Some(30));
    let refused = api_error(
        cms.create(
            &PostParams::default(),
            &config_map("late", json!({}), json!({})),
        )
        .await,
    );
    assert_status(&refused, 403, "Forbidden");
    assert_eq!(
        refused.message,
        "configmaps \"late\" is forbidden: unable to create new content in namespace scratch because it is being terminated"
    );

    // The containers stop within a second of SIGTERM: the pods go, then the namespace.
    sim.advance(Duration::from_secs(2));
    assert!(pods.get_opt("slow").await.unwrap().is_none());
    assert!(pods.get_opt("plain").await.unwrap().is_none());
    assert!(namespaces.get_opt("scratch").await.unwrap().is_none());
}
