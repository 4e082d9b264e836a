//! Property tests that throw generated requests at the embedded API server: arbitrary paths
//! and methods, malformed and hostile bodies under every content type, arbitrary selector
//! strings. The server must never fail (no 5xx, no dropped connection), must answer with a
//! code from the set a Kubernetes API server uses for such requests, and must describe every
//! error as a `Status` object whose `code` is the HTTP status. After each run it still answers.
//!
//! One sim serves the whole file, on one shared tokio runtime; requests go out through kube's
//! client (TLS, bearer token) with the path, headers and body exactly as generated, each on a
//! fresh connection so the cases stay independent (connection reuse has tests of its own at
//! the end). A panic on the server's threads fails the case that was running, even though
//! tokio keeps the server up. The properties run side by side on the same cluster and the
//! path property deletes whatever it hits, so the others re-create what they need and accept
//! a 404 where something may have vanished under them.
//!
//! `FUZZ_CASES=5000 cargo test --test api_fuzz` for a longer run.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use kube::Client;
use mlxp_sim::{Sim, SimConfig};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// The API server alone: the clock stands still, so no controller acts behind the test's back.
fn api_only() -> SimConfig {
    SimConfig {
        manual_clock: true,
        ..SimConfig::default()
    }
}

/// Cases per property: enough to reach the odd corners, few enough for a quick debug run.
/// `FUZZ_CASES` overrides it for a longer run.
const CASES: u32 = 512;

/// The codes a request may legitimately end with.
const EXPECTED: &[u16] = &[200, 201, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422];

/// Namespace the body properties write into; re-created before each case if a case (or a
/// concurrently running property) deleted it.
const NS: &str = "fuzz";

// ---------------------------------------------------------------------------------------
// The shared server and its clients
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Who {
    Admin,
    ReadOnly,
    BadToken,
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    sim: Sim,
    admin: Client,
    readonly: Client,
    bad_token: Client,
}

/// Name of the runtime's worker threads, where the server's tasks run.
const SERVER_THREAD: &str = "sim-worker";

/// Panics on the server's threads so far. A panic in a request handler or a watch task
/// does not take the process down (tokio catches it), so it is caught here instead.
static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_server_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(SERVER_THREAD) {
            let location = info.location().map(|l| l.to_string()).unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            SERVER_PANICS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{message} at {location}"));
        }
        default_hook(info);
    }));
}

fn server_panics() -> Vec<String> {
    SERVER_PANICS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        record_server_panics();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .thread_name(SERVER_THREAD)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (sim, admin, readonly, bad_token) = runtime.block_on(async {
            let sim = Sim::start(api_only()).await.expect("sim starts");
            let admin = sim.client(false).await.expect("admin client");
            let readonly = sim.client(true).await.expect("read-only client");
            let bad_token = bad_token_client(&sim).await;
            (sim, admin, readonly, bad_token)
        });
        Harness {
            runtime,
            sim,
            admin,
            readonly,
            bad_token,
        }
    })
}

/// A client for the sim whose bearer token is wrong.
async fn bad_token_client(sim: &Sim) -> Client {
    let mut kubeconfig: Value =
        serde_json::from_str(&sim.kubeconfig_yaml()).expect("kubeconfig is JSON");
    for user in kubeconfig["users"].as_array_mut().expect("users") {
        user["user"]["token"] = json!("not-a-token");
    }
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&kubeconfig.to_string()).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

impl Harness {
    fn client(&self, who: Who) -> &Client {
        match who {
            Who::Admin => &self.admin,
            Who::ReadOnly => &self.readonly,
            Who::BadToken => &self.bad_token,
        }
    }
}

/// One generated request, sent as is.
#[derive(Debug, Clone)]
struct Req {
    who: Who,
    method: Method,
    /// Path and query.
    uri: String,
    content_type: Option<&'static str>,
    accept: Option<&'static str>,
    body: Vec<u8>,
    /// Reuse a pooled connection instead of asking for a fresh one (`Connection: close`).
    /// Fresh connections keep the cases independent of each other; the two tests of
    /// connection reuse set it.
    keep_alive: bool,
}

impl Req {
    fn new(method: Method, uri: String) -> Req {
        Req {
            who: Who::Admin,
            method,
            uri,
            content_type: None,
            accept: None,
            body: Vec::new(),
            keep_alive: false,
        }
    }
}

/// What came back: the status and, unless it is still streaming, the body.
struct Answer {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: Option<Bytes>,
}

/// Sends a request. `None` when the URI cannot even be expressed as an HTTP request
/// (the generator made something `http::Uri` rejects: nothing reaches the server).
fn send(req: &Req) -> Result<Option<Answer>, TestCaseError> {
    send_with(harness().client(req.who), req)
}

/// Sends a request through `client`, on the shared runtime.
fn send_with(client: &Client, req: &Req) -> Result<Option<Answer>, TestCaseError> {
    let h = harness();
    let mut builder = hyper::Request::builder()
        .method(req.method.clone())
        .uri(&req.uri);
    if let Some(ct) = req.content_type {
        builder = builder.header(hyper::header::CONTENT_TYPE, ct);
    }
    if let Some(accept) = req.accept {
        builder = builder.header(hyper::header::ACCEPT, accept);
    }
    if !req.keep_alive {
        builder = builder.header(hyper::header::CONNECTION, "close");
    }
    let Ok(request) = builder.body(kube::client::Body::from(req.body.clone())) else {
        return Ok(None);
    };
    let client = client.clone();
    h.runtime.block_on(async move {
        let response = tokio::time::timeout(Duration::from_secs(20), client.send(request))
            .await
            .map_err(|_| TestCaseError::fail("no response within 20 s"))?
            .map_err(|e| {
                TestCaseError::fail(format!("transport error (did the server fail?): {e}"))
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        // Watches and followed logs stream until the client leaves: a short read suffices
        // for successes. Errors are complete bodies and must arrive whole.
        let patience = if status.is_success() {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(10)
        };
        let body = match tokio::time::timeout(patience, response.into_body().collect_bytes()).await
        {
            Ok(Ok(bytes)) => Some(bytes),
            Ok(Err(e)) => {
                return Err(TestCaseError::fail(format!(
                    "{status}: the body broke off: {e}"
                )));
            }
            Err(_) if status.is_success() => None,
            Err(_) => {
                return Err(TestCaseError::fail(format!(
                    "{status}: the body never ended"
                )));
            }
        };
        Ok(Some(Answer {
            status,
            headers,
            body,
        }))
    })
}

/// The checks every answer passes: an expected code, and errors as well-formed Statuses.
fn check_answer(req: &Req, answer: &Answer, allowed: &[u16]) -> Result<(), TestCaseError> {
    let code = answer.status.as_u16();
    let shown = |body: &Option<Bytes>| {
        body.as_ref()
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(600)]).into_owned())
            .unwrap_or_default()
    };
    prop_assert!(
        allowed.contains(&code),
        "{} {} ({:?}) answered {code}: {}",
        req.method,
        abbreviated(&req.uri),
        req.content_type,
        shown(&answer.body)
    );
    if code < 400 || req.method == Method::HEAD {
        return Ok(());
    }
    let body = answer.body.as_ref().expect("error bodies are read whole");
    let status: Value = serde_json::from_slice(body).map_err(|e| {
        TestCaseError::fail(format!(
            "{} {} answered {code} with a body that is not JSON ({e}): {}",
            req.method,
            abbreviated(&req.uri),
            shown(&answer.body)
        ))
    })?;
    prop_assert_eq!(
        status["kind"].as_str(),
        Some("Status"),
        "not a Status: {}",
        status
    );
    prop_assert_eq!(status["apiVersion"].as_str(), Some("v1"), "{}", status);
    prop_assert_eq!(status["status"].as_str(), Some("Failure"), "{}", status);
    prop_assert_eq!(status["code"].as_u64(), Some(u64::from(code)), "{}", status);
    prop_assert!(
        status["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "Status without a reason: {}",
        status
    );
    prop_assert!(
        status["message"].is_string(),
        "Status without a message: {}",
        status
    );
    Ok(())
}

fn send_and_check(req: &Req, allowed: &[u16]) -> Result<Option<Answer>, TestCaseError> {
    let panics_before = server_panics().len();
    let answer = send(req);
    let panics = server_panics();
    prop_assert!(
        panics.len() == panics_before,
        "the server panicked on {} {}: {:?}",
        req.method,
        abbreviated(&req.uri),
        &panics[panics_before..]
    );
    let answer = answer?;
    if let Some(answer) = &answer {
        check_answer(req, answer, allowed)?;
    }
    Ok(answer)
}

fn abbreviated(s: &str) -> String {
    if s.len() <= 300 {
        return s.to_string();
    }
    let mut end = 300;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Runs `property` on `CASES` values of `strategy`, then checks the server still answers.
fn run<S: Strategy>(strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    });
    let result = runner.run(&strategy, property);
    assert_still_serving();
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn assert_still_serving() {
    let h = harness();
    let version = h
        .runtime
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(10), h.admin.apiserver_version()).await
        })
        .expect("/version answers in time")
        .expect("/version answers");
    assert!(!version.git_version.is_empty());
    assert!(h.sim.addr().port() > 0);
}

/// Makes sure the namespace and the objects the body properties address exist.
fn ensure_fixtures() -> Result<(), TestCaseError> {
    static MODEL_VERSION_CRD: OnceLock<Value> = OnceLock::new();
    let crd = MODEL_VERSION_CRD.get_or_init(|| {
        mlxp_sim::resources::bundled_crds()
            .expect("bundled CRDs parse")
            .into_iter()
            .find(|crd| crd["metadata"]["name"] == "modelversions.mlxp.io")
            .expect("the ModelVersion CRD is bundled")
    });
    let fixtures = [
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            crd.clone(),
        ),
        (
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        ),
        (
            "/api/v1/namespaces/fuzz/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-0", "labels": {"app": "fuzz"}}, "data": {"a": "1"}}),
        ),
        ("/api/v1/namespaces/fuzz/pods", manifest(Kind::Pod, "p-0")),
        (
            "/apis/apps/v1/namespaces/fuzz/deployments",
            manifest(Kind::Deployment, "d-0"),
        ),
        (
            "/apis/batch/v1/namespaces/fuzz/jobs",
            manifest(Kind::Job, "j-0"),
        ),
        (
            "/apis/mlxp.io/v1alpha1/namespaces/fuzz/modelversions",
            manifest(Kind::ModelVersion, "mv-0"),
        ),
    ];
    for (path, object) in fixtures {
        let mut req = Req::new(Method::POST, path.to_string());
        req.content_type = Some("application/json");
        req.body = serde_json::to_vec(&object).expect("serializes");
        // 409 when it is already there; 404 if a CRD was deleted by another property.
        send_and_check(&req, &[201, 404, 409])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => Just(Method::GET),
        2 => Just(Method::POST),
        2 => Just(Method::PUT),
        2 => Just(Method::PATCH),
        2 => Just(Method::DELETE),
        1 => Just(Method::HEAD),
        1 => Just(Method::OPTIONS),
        1 => Just(Method::from_bytes(b"PROPFIND").expect("valid method")),
        1 => Just(Method::from_bytes(b"BREW").expect("valid method")),
    ]
}

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/json; charset=utf-8",
    "application/vnd.kubernetes.protobuf",
    "text/plain",
    "application/x-nonsense",
    "multipart/form-data; boundary=xyz",
    "",
];

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        1 => Just(None),
        8 => proptest::sample::select(CONTENT_TYPES).prop_map(Some),
    ]
}

fn accept() -> impl Strategy<Value = Option<&'static str>> {
    proptest::sample::select(
        &[
            None,
            Some("application/json"),
            Some("application/json;as=Table;v=v1;g=meta.k8s.io"),
            Some("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"),
            Some("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"),
            Some("text/html"),
        ][..],
    )
}

/// Percent-encodes everything outside the unreserved set, so any text fits in a path.
fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const REAL_SEGMENTS: &[&str] = &[
    "api",
    "apis",
    "v1",
    "v2",
    "v1alpha1",
    "batch",
    "apps",
    "autoscaling",
    "mlxp.io",
    "apiextensions.k8s.io",
    "authorization.k8s.io",
    "coordination.k8s.io",
    "namespaces",
    "default",
    "training",
    "kube-system",
    "fuzz",
    "pods",
    "jobs",
    "cronjobs",
    "configmaps",
    "deployments",
    "nodes",
    "events",
    "services",
    "leases",
    "modelversions",
    "models",
    "customresourcedefinitions",
    "selfsubjectaccessreviews",
    "horizontalpodautoscalers",
    "watch",
    "log",
    "status",
    "scale",
    "finalize",
    "openapi",
    "v3",
    "version",
    "healthz",
    "prometheus-0",
    "train-fraud-detector-r3",
    "gke-mlxp-system-3a00-0",
    "cm-0",
    "d-0",
    "p-0",
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(REAL_SEGMENTS).prop_map(String::from),
        2 => "[a-zA-Z0-9._~-]{1,16}",
        1 => "\\PC{1,8}".prop_map(|s| encode_segment(&s)),
        1 => proptest::sample::select(&[
            "..", ".", "%", "%%", "%2F", "%2f", "%00", "%zz", "%25", "%2e%2e", "~", "%C3%28",
            "%FF", "-", "_", "A",
        ][..]).prop_map(String::from),
        1 => (1usize..9000).prop_map(|n| "a".repeat(n)),
    ]
}

/// A path: one of the API roots, then up to six segments, with slashes doubled now and then.
fn path() -> impl Strategy<Value = String> {
    let root = proptest::sample::select(
        &[
            "",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/batch/v1",
            "/apis/apps/v1",
            "/apis/mlxp.io/v1alpha1",
            "/apis/apiextensions.k8s.io/v1",
            "/apis/nope/v9",
            "/api/v1/namespaces/training",
            "/apis/batch/v1/namespaces/training",
            "/openapi/v3",
            "/api/v1/watch",
            "/api/v1/namespaces/fuzz",
        ][..],
    );
    (root, vec((segment(), any::<bool>()), 0..6), any::<bool>()).prop_map(
        |(root, segments, trailing)| {
            let mut path = root.to_string();
            for (s, double) in segments {
                path.push_str(if double { "//" } else { "/" });
                path.push_str(&s);
            }
            if trailing || path.is_empty() {
                path.push('/');
            }
            path
        },
    )
}

fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "true",
                "false",
                "1",
                "0",
                "-1",
                "All",
                "Strict",
                "Warn",
                "Ignore",
                "Background",
                "Orphan",
                "Foreground",
                "Bogus",
                "",
                "18446744073709551616",
                "18446744073709551615",
                "9223372036854775807",
                "4294967296",
                "app=trainer",
                "app in (",
                "status.phase=Running",
                "spec.bogus=1",
                "fuzz-manager",
            ][..]
        )
        .prop_map(String::from),
        "\\PC{0,16}",
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

/// An optional query string of well-known and unknown parameters. Watches are bounded by a
/// short timeout (first, so a generated `timeoutSeconds` overrides it) so a forgotten stream
/// cannot outlive the run.
fn query() -> impl Strategy<Value = String> {
    let key = proptest::sample::select(
        &[
            "labelSelector",
            "fieldSelector",
            "limit",
            "continue",
            "resourceVersion",
            "watch",
            "timeoutSeconds",
            "allowWatchBookmarks",
            "sendInitialEvents",
            "dryRun",
            "fieldManager",
            "force",
            "fieldValidation",
            "propagationPolicy",
            "follow",
            "tailLines",
            "pretty",
            "zzz",
        ][..],
    );
    prop_oneof![
        3 => Just(String::new()),
        6 => vec((key, query_value()), 1..5).prop_map(|pairs| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("timeoutSeconds", "1");
            for (k, v) in &pairs {
                q.append_pair(k, v);
            }
            format!("?{}", q.finish())
        }),
        1 => proptest::sample::select(&["?", "?&&&", "?=", "?%", "?a=%zz", "?labelSelector=%"][..])
            .prop_map(String::from),
    ]
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "apiVersion",
                "kind",
                "metadata",
                "name",
                "namespace",
                "labels",
                "annotations",
                "ownerReferences",
                "uid",
                "resourceVersion",
                "generateName",
                "spec",
                "status",
                "data",
                "containers",
                "image",
                "replicas",
                "selector",
                "template",
                "stage",
                "model",
                "version",
                "nodeName",
                "managedFields",
                "finalizers",
                "$patch",
                "$retainKeys",
            ][..]
        )
        .prop_map(String::from),
        "\\PC{0,10}",
    ]
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::from),
        proptest::sample::select(&["Bad_Name", "", "v1", "Pod", "Running", "a/b"][..])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(json_key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    ConfigMap,
    Pod,
    Deployment,
    Job,
    ModelVersion,
    Namespace,
    Crd,
    AccessReview,
}

/// A valid object of `kind` named `name` (in the fuzz namespace where it has one).
fn manifest(kind: Kind, name: &str) -> Value {
    let container = json!([{"name": "main", "image": "busybox:1.36"}]);
    match kind {
        Kind::ConfigMap => {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
        }
        Kind::Pod => {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "fuzz"}}, "spec": {"containers": container}})
        }
        Kind::Deployment => json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": container}}},
        }),
        Kind::Job => json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": container}}},
        }),
        Kind::ModelVersion => json!({
            "apiVersion": "mlxp.io/v1alpha1", "kind": "ModelVersion", "metadata": {"name": name},
            "spec": {"model": "fraud-detector", "version": "v1", "stage": "Registered"},
        }),
        Kind::Namespace => {
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        }
        Kind::Crd => json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{name}s.fuzz.example.com")},
            "spec": {"group": "fuzz.example.com", "scope": "Namespaced",
                     "names": {"kind": "Thing", "plural": format!("{name}s"), "singular": name},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
        }),
        Kind::AccessReview => json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "create", "resource": "pods", "namespace": NS}},
        }),
    }
}

/// Where a kind's objects live: the collection, and an existing object's path.
fn paths_of(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::ConfigMap => (
            "/api/v1/namespaces/fuzz/configmaps",
            "/api/v1/namespaces/fuzz/configmaps/cm-0",
        ),
        Kind::Pod => (
            "/api/v1/namespaces/fuzz/pods",
            "/api/v1/namespaces/fuzz/pods/p-0",
        ),
        Kind::Deployment => (
            "/apis/apps/v1/namespaces/fuzz/deployments",
            "/apis/apps/v1/namespaces/fuzz/deployments/d-0",
        ),
        Kind::Job => (
            "/apis/batch/v1/namespaces/fuzz/jobs",
            "/apis/batch/v1/namespaces/fuzz/jobs/j-0",
        ),
        Kind::ModelVersion => (
            "/apis/mlxp.io/v1alpha1/namespaces/fuzz/modelversions",
            "/apis/mlxp.io/v1alpha1/namespaces/fuzz/modelversions/mv-0",
        ),
        Kind::Namespace => ("/api/v1/namespaces", "/api/v1/namespaces/fuzz"),
        Kind::Crd => (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/modelversions.mlxp.io",
        ),
        Kind::AccessReview => (
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        ),
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => Just(Kind::ConfigMap),
        3 => Just(Kind::Pod),
        3 => Just(Kind::Deployment),
        2 => Just(Kind::Job),
        3 => Just(Kind::ModelVersion),
        1 => Just(Kind::Namespace),
        1 => Just(Kind::Crd),
        1 => Just(Kind::AccessReview),
    ]
}

const BAD_NAMES: &[&str] = &[
    "Bad_Name",
    "",
    "-lead",
    "trail-",
    "UPPER",
    "a..b",
    "a/b",
    "a b",
    " ",
    "ünïcödé",
    "%2F",
    "..",
    ".",
    "a\nb",
];

fn name() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "[a-z][a-z0-9-]{0,12}".prop_map(Value::from),
        3 => proptest::sample::select(BAD_NAMES).prop_map(Value::from),
        1 => (250usize..300).prop_map(|n| Value::from("n".repeat(n))),
        1 => json_value(),
    ]
}

/// Sets `value` at `keys` inside `object`, making objects along the way (replacing whatever
/// was there): a valid manifest with one part of it wrong.
fn mutate(mut object: Value, keys: &[String], value: Value) -> Value {
    let mut slot = &mut object;
    for key in keys {
        if !slot.is_object() {
            *slot = json!({});
        }
        slot = slot
            .as_object_mut()
            .expect("just made an object")
            .entry(key.clone())
            .or_insert(Value::Null);
    }
    *slot = value;
    object
}

/// `[[[...]]]`, `{"a":{"a":...}}` or a mix, `depth` deep, as text (a Value that deep would
/// be a stack hazard for the test itself).
fn nested_text(depth: usize, style: u8) -> String {
    let mut s = String::with_capacity(depth * 6);
    for i in 0..depth {
        let array = match style % 3 {
            0 => true,
            1 => false,
            _ => i % 2 == 0,
        };
        s.push_str(if array { "[" } else { "{\"a\":" });
    }
    s.push_str("null");
    for i in (0..depth).rev() {
        let array = match style % 3 {
            0 => true,
            1 => false,
            _ => i % 2 == 0,
        };
        s.push(if array { ']' } else { '}' });
    }
    s
}

/// Block-style YAML nested `depth` mappings deep.
fn nested_yaml(depth: usize) -> String {
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n");
    for i in 0..depth {
        s.push_str(&"  ".repeat(i + 1));
        s.push_str("a:\n");
    }
    s.push_str(&"  ".repeat(depth + 1));
    s.push_str("x\n");
    s
}

/// YAML whose aliases expand exponentially (a "billion laughs").
fn yaml_bomb(levels: usize) -> String {
    let mut s = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..=levels {
        let prev = format!("*l{}", i - 1);
        let items = vec![prev; 9].join(", ");
        s.push_str(&format!("l{i}: &l{i} [{items}]\n"));
    }
    s
}

/// The name of the fixture object of a kind (what PUT and PATCH address).
fn fixture_name(kind: Kind) -> &'static str {
    match kind {
        Kind::ConfigMap => "cm-0",
        Kind::Pod => "p-0",
        Kind::Deployment => "d-0",
        Kind::Job => "j-0",
        Kind::ModelVersion => "mv-0",
        Kind::Namespace => NS,
        Kind::Crd => "modelversions.mlxp.io",
        Kind::AccessReview => "review",
    }
}

/// Keys along which a manifest of `kind` is worth breaking.
fn field_path(kind: Kind) -> impl Strategy<Value = Vec<String>> {
    let known: &'static [&'static [&'static str]] = match kind {
        Kind::Pod => &[
            &["spec", "containers"],
            &["spec", "containers", "0"],
            &["spec", "nodeName"],
            &["spec", "restartPolicy"],
            &["status", "phase"],
            &["spec"],
        ],
        Kind::Deployment => &[
            &["spec", "replicas"],
            &["spec", "selector"],
            &["spec", "selector", "matchLabels"],
            &["spec", "template", "spec", "containers"],
            &["spec", "template", "metadata", "labels"],
        ],
        Kind::Job => &[
            &["spec", "template"],
            &["spec", "backoffLimit"],
            &["spec", "completions"],
        ],
        Kind::ModelVersion => &[
            &["spec", "stage"],
            &["spec", "model"],
            &["spec", "version"],
            &["spec", "metrics"],
            &["spec", "metrics", "accuracy"],
            &["status", "stageSince"],
            &["spec"],
        ],
        Kind::Crd => &[
            &["spec", "names"],
            &["spec", "names", "plural"],
            &["spec", "group"],
            &["spec", "versions"],
            &["spec", "scope"],
            &["spec", "versions", "0"],
        ],
        Kind::AccessReview => &[&["spec", "resourceAttributes"], &["spec"], &["status"]],
        Kind::ConfigMap | Kind::Namespace => {
            &[&["data"], &["binaryData"], &["spec"], &["immutable"]]
        }
    };
    let common: &'static [&'static [&'static str]] = &[
        &["metadata", "labels"],
        &["metadata", "annotations"],
        &["metadata", "ownerReferences"],
        &["metadata", "resourceVersion"],
        &["metadata", "namespace"],
        &["metadata", "uid"],
        &["metadata", "generateName"],
        &["metadata", "finalizers"],
        &["metadata", "managedFields"],
        &["metadata"],
        &["kind"],
        &["apiVersion"],
    ];
    prop_oneof![
        4 => proptest::sample::select(known),
        2 => proptest::sample::select(common),
    ]
    .prop_flat_map(|prefix| {
        vec(json_key(), 0..3).prop_map(move |extra| {
            prefix
                .iter()
                .map(|k| k.to_string())
                .chain(extra)
                .collect::<Vec<String>>()
        })
    })
}

/// Values that often have the right type for where they go, but not the right content.
fn plausible_value() -> impl Strategy<Value = Value> {
    let label_key = prop_oneof![
        proptest::sample::select(
            &[
                "app",
                "mlxp.io/model",
                "a/b/c",
                "-bad",
                "Bad Key",
                "",
                "x/",
                "/x",
                "ok.example.com/k",
            ][..]
        )
        .prop_map(String::from),
        (60usize..70).prop_map(|n| "k".repeat(n)),
        "\\PC{0,8}",
    ];
    let text = prop_oneof![
        proptest::sample::select(BAD_NAMES).prop_map(String::from),
        "[a-z0-9-]{0,10}",
        (60usize..70).prop_map(|n| "v".repeat(n)),
        "\\PC{0,10}",
    ];
    prop_oneof![
        3 => text.clone().prop_map(Value::from),
        3 => btree_map(label_key, text, 0..4).prop_map(|m| json!(m)),
        2 => (-3i64..5).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        2 => keyed_list(),
        3 => json_value(),
    ]
}

/// A list like `containers` or `env`: items keyed by name, some carrying a `$patch`.
fn keyed_list() -> impl Strategy<Value = Value> {
    let item = (
        proptest::sample::select(vec![
            json!("main"),
            json!("a"),
            json!("b"),
            json!(""),
            json!(1),
            Value::Null,
        ]),
        proptest::sample::select(
            &[
                None,
                Some("delete"),
                Some("replace"),
                Some("merge"),
                Some("explode"),
            ][..],
        ),
        prop_oneof![
            Just(Value::Null),
            "[a-z:0-9./]{0,12}".prop_map(Value::from),
            json_value()
        ],
    )
        .prop_map(|(name, directive, image)| {
            let mut item = json!({"name": name, "image": image});
            if let Some(d) = directive {
                item["$patch"] = json!(d);
            }
            item
        });
    vec(item, 0..4).prop_map(Value::Array)
}

/// A strategic-merge directive: `$patch`, `$retainKeys`, `$setElementOrder/…`,
/// `$deleteFromPrimitiveList/…`, with fitting or unfitting values.
fn directive() -> impl Strategy<Value = (String, Value)> {
    let list_field = proptest::sample::select(
        &[
            "containers",
            "finalizers",
            "env",
            "ports",
            "volumes",
            "labels",
            "nope",
            "",
        ][..],
    );
    prop_oneof![
        (
            Just("$patch".to_string()),
            prop_oneof![
                3 => proptest::sample::select(&["delete", "replace", "merge", "explode", ""][..]).prop_map(Value::from),
                1 => json_value(),
            ],
        ),
        (
            Just("$retainKeys".to_string()),
            prop_oneof![vec(json_key(), 0..4).prop_map(|k| json!(k)), json_value()],
        ),
        (
            list_field
                .clone()
                .prop_map(|f| format!("$setElementOrder/{f}")),
            prop_oneof![
                keyed_list(),
                vec("[a-z]{0,3}", 0..4).prop_map(|k| json!(k)),
                json_value(),
            ],
        ),
        (
            list_field.prop_map(|f| format!("$deleteFromPrimitiveList/{f}")),
            prop_oneof![vec("[a-z]{0,3}", 0..4).prop_map(|k| json!(k)), json_value()],
        ),
        ("\\$[a-zA-Z/]{0,12}", json_value()),
    ]
}

/// Malformed input of every sort, whatever the target.
fn malformed() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => vec(any::<u8>(), 0..300),
        // Deeply nested JSON (also valid YAML flow style), bare or inside a manifest.
        2 => (1usize..3000, any::<u8>(), any::<bool>()).prop_map(|(depth, style, wrapped)| {
            let nested = nested_text(depth, style);
            if wrapped {
                format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cm-0","labels":{nested}}},"data":{nested}}}"#).into_bytes()
            } else {
                nested.into_bytes()
            }
        }),
        1 => (1usize..200).prop_map(|depth| nested_yaml(depth).into_bytes()),
        1 => (1usize..12).prop_map(|levels| yaml_bomb(levels).into_bytes()),
        // YAML of the wrong kind or version, or several documents.
        2 => (
            proptest::sample::select(&["v1", "apps/v1", "batch/v1", "mlxp.io/v1alpha1", "", "v2", "[]"][..]),
            proptest::sample::select(&["Pod", "ConfigMap", "Job", "Deployment", "ModelVersion", "Bogus", "", "List", "Status", "{}"][..]),
            name(),
            any::<bool>(),
        ).prop_map(|(api_version, kind, name, multi)| {
            let name = serde_json::to_string(&name).expect("serializes");
            let doc = format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: x\n    image: y\n");
            if multi { format!("---\n{doc}---\n{doc}") } else { doc }.into_bytes()
        }),
        // Anything at all, as JSON.
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("serializes")),
    ]
}

/// `kind`'s own manifest with a bad name, wrong types, unknown fields, bad metadata.
fn broken_manifest(kind: Kind) -> impl Strategy<Value = Vec<u8>> {
    let base = manifest(kind, fixture_name(kind));
    let text = serde_json::to_vec(&base).expect("serializes");
    let truncated =
        any::<prop::sample::Index>().prop_map(move |cut| text[..cut.index(text.len())].to_vec());
    let broken = (
        prop_oneof![3 => Just(None), 1 => name().prop_map(Some)],
        vec((field_path(kind), plausible_value()), 0..4),
    )
        .prop_map(move |(name, changes)| {
            let mut object = base.clone();
            if let Some(name) = name {
                object = mutate(object, &["metadata".into(), "name".into()], name);
            }
            for (keys, value) in changes {
                object = mutate(object, &keys, value);
            }
            serde_json::to_vec(&object).expect("serializes")
        });
    prop_oneof![6 => broken, 1 => truncated]
}

/// A merge (or strategic merge) patch of a few fields.
/// With `directives`, strategic-merge directives are dropped in along the way.
fn merge_patch(kind: Kind, directives: bool) -> impl Strategy<Value = Vec<u8>> {
    let placed_directives = if directives {
        vec((field_path(kind), directive()), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (
        vec((field_path(kind), plausible_value()), 1..4),
        placed_directives,
    )
        .prop_map(|(changes, directives)| {
            let mut patch = changes.into_iter().fold(json!({}), |patch, (keys, value)| {
                mutate(patch, &keys, value)
            });
            for (mut keys, (key, value)) in directives {
                // Inside what the patch already has where possible, else wherever it lands.
                while !keys.is_empty()
                    && !patch.pointer(&pointer(&keys)).is_some_and(Value::is_object)
                {
                    keys.pop();
                }
                keys.push(key);
                patch = mutate(patch, &keys, value);
            }
            serde_json::to_vec(&patch).expect("serializes")
        })
}

/// The JSON pointer of a key path.
fn pointer(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A JSON patch of any operations.
fn json_patch() -> impl Strategy<Value = Vec<u8>> {
    let op = (
        proptest::sample::select(
            &[
                "add", "remove", "replace", "move", "copy", "test", "bogus", "",
            ][..],
        ),
        proptest::sample::select(
            &[
                "/metadata/name",
                "/metadata/labels/x",
                "/data/k",
                "/spec/containers/0/image",
                "/spec/containers/-",
                "/spec/replicas",
                "",
                "/",
                "x",
                "/a~2b",
                "/metadata/uid",
                "/kind",
                "/apiVersion",
                "/status",
                "/spec/template/spec/containers/1",
                "/spec/stage",
                "/metadata/labels",
                "/spec/containers/99",
                "/data/~1",
            ][..],
        ),
        proptest::sample::select(&["/data", "/metadata/labels", "/spec", "/nope", ""][..]),
        plausible_value(),
    );
    vec(op, 0..5).prop_map(|ops| {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}))
            .collect();
        serde_json::to_vec(&ops).expect("serializes")
    })
}

/// A body for `kind` sent as `content_type`: mostly what that content type carries, with
/// something wrong in it; sometimes anything malformed.
fn body(kind: Kind, content_type: Option<&str>) -> BoxedStrategy<Vec<u8>> {
    let fitting = match content_type.unwrap_or("") {
        "application/json-patch+json" => json_patch().boxed(),
        "application/merge-patch+json" => merge_patch(kind, false).boxed(),
        "application/strategic-merge-patch+json" => merge_patch(kind, true).boxed(),
        _ => broken_manifest(kind).boxed(),
    };
    prop_oneof![3 => fitting, 1 => malformed()].boxed()
}

/// A content type that mostly fits the method (patch types for PATCH), sometimes anything.
fn content_type_for(method: &Method) -> BoxedStrategy<Option<&'static str>> {
    let fitting: &'static [&'static str] = if *method == Method::PATCH {
        &[
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
        ]
    } else {
        &["application/json", "application/json", "application/yaml"]
    };
    prop_oneof![
        4 => proptest::sample::select(fitting).prop_map(Some),
        1 => content_type(),
    ]
    .boxed()
}

fn selector() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => proptest::sample::select(&[
            "app", "env", "mlxp.io/model", "batch.kubernetes.io/job-name", "a.b/c", "Bad Key",
            "metadata.name", "metadata.namespace", "spec.nodeName", "status.phase",
            "spec.restartPolicy", "spec.bogus", "involvedObject.kind", "trainer", "Running",
            "kube-dns", "prometheus-0",
        ][..]).prop_map(String::from),
        4 => proptest::sample::select(&[
            "=", "==", "!=", " in ", " notin ", "!", "(", ")", ",", " ", "in", "notin", "=!",
            "\\", "\\,", "/", ">", "<",
        ][..]).prop_map(String::from),
        2 => "[a-zA-Z0-9._-]{0,10}",
        1 => "\\PC{0,12}",
        1 => (60usize..320).prop_map(|n| "k".repeat(n)),
    ];
    vec(token, 0..10).prop_map(|tokens| tokens.concat())
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// Arbitrary methods on arbitrary paths, as any of the three users, with arbitrary queries.
#[test]
fn arbitrary_paths_and_methods() {
    let who = proptest::sample::select(
        &[
            Who::Admin,
            Who::Admin,
            Who::Admin,
            Who::ReadOnly,
            Who::BadToken,
        ][..],
    );
    let strategy = (
        who,
        method(),
        path(),
        query(),
        content_type(),
        accept(),
        vec(any::<u8>(), 0..64),
    );
    run(
        strategy,
        |(who, method, path, query, content_type, accept, body)| {
            let req = Req {
                who,
                method,
                uri: format!("{path}{query}"),
                content_type,
                accept,
                body,
                keep_alive: false,
            };
            let Some(answer) = send_and_check(&req, EXPECTED)? else {
                return Ok(());
            };
            // A wrong token never gets past authentication, except to the public endpoints.
            if matches!(who, Who::BadToken) {
                prop_assert_eq!(
                    answer.status.as_u16(),
                    401,
                    "{} {}",
                    req.method,
                    abbreviated(&req.uri)
                );
            }
            Ok(())
        },
    );
}

/// Malformed and hostile bodies, under every content type, to real resources.
#[test]
fn arbitrary_bodies() {
    // Mostly the method that fits the path (POST to the collection, the rest to the object).
    let method = prop_oneof![
        3 => Just((Method::POST, false)),
        2 => Just((Method::PUT, true)),
        4 => Just((Method::PATCH, true)),
        1 => Just((Method::DELETE, true)),
        1 => (
            proptest::sample::select(&[Method::POST, Method::PUT, Method::PATCH, Method::DELETE][..]),
            any::<bool>(),
        ),
    ];
    let options = proptest::sample::select(
        &[
            "",
            "?fieldManager=fuzz",
            "?fieldManager=fuzz",
            "?fieldManager=fuzz&force=true",
            "?fieldManager=fuzz&dryRun=All",
            "?fieldValidation=Strict",
            "?fieldValidation=Ignore",
            "?propagationPolicy=Orphan",
            "?fieldManager=fuzz&fieldValidation=Strict&dryRun=All",
        ][..],
    );
    let who = prop_oneof![9 => Just(Who::Admin), 1 => Just(Who::ReadOnly)];
    let strategy = (who, method, kind(), options)
        .prop_flat_map(|(who, (method, named), kind, options)| {
            let content_type = content_type_for(&method);
            (Just((who, method, named, kind, options)), content_type)
        })
        .prop_flat_map(|(request, content_type)| {
            let body = body(request.3, content_type);
            (Just(request), Just(content_type), body)
        });
    run(
        strategy,
        |((who, method, named, kind, options), content_type, body)| {
            ensure_fixtures()?;
            let (collection, object) = paths_of(kind);
            let target = if named { object } else { collection };
            let req = Req {
                who,
                method,
                uri: format!("{target}{options}"),
                content_type,
                accept: None,
                body,
                keep_alive: false,
            };
            send_and_check(&req, EXPECTED)?;
            Ok(())
        },
    );
}

/// Writes to subresources (status, scale, log) with hostile bodies.
#[test]
fn arbitrary_subresource_writes() {
    let target = proptest::sample::select(
        &[
            (
                "/apis/apps/v1/namespaces/fuzz/deployments/d-0/scale",
                Kind::Deployment,
            ),
            (
                "/apis/apps/v1/namespaces/fuzz/deployments/d-0/status",
                Kind::Deployment,
            ),
            ("/api/v1/namespaces/fuzz/pods/p-0/status", Kind::Pod),
            ("/apis/batch/v1/namespaces/fuzz/jobs/j-0/status", Kind::Job),
            (
                "/apis/mlxp.io/v1alpha1/namespaces/fuzz/modelversions/mv-0/status",
                Kind::ModelVersion,
            ),
            ("/api/v1/namespaces/fuzz/status", Kind::Namespace),
            ("/api/v1/namespaces/fuzz/pods/p-0/log", Kind::Pod),
        ][..],
    );
    let method = proptest::sample::select(
        &[
            Method::PUT,
            Method::PATCH,
            Method::PATCH,
            Method::PATCH,
            Method::GET,
            Method::POST,
        ][..],
    );
    let scale = || {
        (any::<i64>(), json_value()).prop_map(|(replicas, extra)| {
            serde_json::to_vec(&json!({
                "apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": "d-0", "namespace": NS}, "spec": {"replicas": replicas}, "status": extra,
            }))
            .expect("serializes")
        })
    };
    let strategy = (target, method)
        .prop_flat_map(|((path, kind), method)| {
            (
                Just((path, kind, method.clone())),
                content_type_for(&method),
            )
        })
        .prop_flat_map(move |((path, kind, method), content_type)| {
            let bodies = prop_oneof![3 => body(kind, content_type), 1 => scale()];
            (Just((path, method)), Just(content_type), bodies)
        });
    run(strategy, |((path, method), content_type, body)| {
        ensure_fixtures()?;
        let req = Req {
            who: Who::Admin,
            method,
            uri: format!("{path}?fieldManager=fuzz"),
            content_type,
            accept: None,
            body,
            keep_alive: false,
        };
        send_and_check(&req, EXPECTED)?;
        Ok(())
    });
}

/// Arbitrary label and field selectors (and paging parameters) on lists: a list or a 400.
#[test]
fn arbitrary_selectors() {
    let collection = proptest::sample::select(
        &[
            "/api/v1/pods",
            "/api/v1/namespaces/training/pods",
            "/apis/batch/v1/jobs",
            "/api/v1/nodes",
            "/api/v1/namespaces",
            "/api/v1/events",
            "/api/v1/configmaps",
            "/apis/mlxp.io/v1alpha1/modelversions",
            "/apis/apps/v1/deployments",
        ][..],
    );
    let limit = prop_oneof![Just(None), (-5i64..30).prop_map(Some)];
    let continue_token = prop_oneof![
        4 => Just(None),
        1 => "[a-zA-Z0-9_-]{0,40}".prop_map(Some),
        1 => (any::<u64>(), "[a-z-]{0,8}", "[a-z-]{0,8}").prop_map(|(rv, ns, name)| {
            use base64::Engine;
            let raw = json!({"rv": rv, "ns": ns, "name": name}).to_string();
            Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
        }),
    ];
    let strategy = (
        collection,
        selector(),
        selector(),
        limit,
        continue_token,
        accept(),
    );
    run(
        strategy,
        |(collection, labels, fields, limit, continue_token, accept)| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("labelSelector", &labels);
            q.append_pair("fieldSelector", &fields);
            if let Some(limit) = limit {
                q.append_pair("limit", &limit.to_string());
            }
            if let Some(token) = &continue_token {
                q.append_pair("continue", token);
            }
            let mut req = Req::new(Method::GET, format!("{collection}?{}", q.finish()));
            req.accept = accept;
            // 410 for a continue token from before the history; 404 when the CRD behind the
            // collection has just been deleted by the path property running alongside.
            let mut allowed = vec![200, 400];
            if continue_token.is_some() {
                allowed.push(410);
            }
            if collection.contains("mlxp.io") {
                allowed.push(404);
            }
            let Some(answer) = send_and_check(&req, &allowed)? else {
                return Ok(());
            };
            if answer.status == StatusCode::OK {
                let body = answer.body.as_ref().expect("a list ends");
                let list: Value = serde_json::from_slice(body)
                    .map_err(|e| TestCaseError::fail(format!("list is not JSON: {e}")))?;
                prop_assert!(list["kind"].is_string(), "{}", list);
            }
            // The same selectors on a delete-collection, dry run: parsed the same way.
            let mut delete = Req::new(Method::DELETE, format!("{}&dryRun=All", req.uri));
            delete.body = b"{}".to_vec();
            delete.content_type = Some("application/json");
            send_and_check(&delete, &[200, 400, 404, 405, 410])?;
            Ok(())
        },
    );
}

/// A JSONPath as CRD printer columns have them, often odd.
fn json_path() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        6 => proptest::sample::select(&[
            ".spec", ".status", ".metadata.name", ".metadata.creationTimestamp", ".x", ".items",
            ".when", ".conditions", ".n", "[0]", "[-1]", "[1:3]", "[-1:]", "[:]", "[::2]", "[3:1]",
            "[-9223372036854775808]", "[9223372036854775807:]", "[-9223372036854775808:]",
            "[*]", ".*", "..", "['a.b/c']", "[\"k\"]", "[?(@.type==\"Ready\")]", "[?(@.x)]",
            "[?(@.n>1)]", "[?(@.n<=-1.5)]", "[?(@==1)]", "{", "}", "[", "]", "@", "$", "{.spec}",
            "[,]", "['", "[?(", ".", "",
        ][..]).prop_map(String::from),
        1 => "\\PC{0,6}",
    ];
    let meaningful = proptest::sample::select(
        &[
            ".spec.x",
            ".spec.n",
            ".spec.when",
            ".spec.items",
            ".spec.items[0]",
            ".spec.items[-1]",
            ".spec.items[1:3]",
            ".spec.items[-2:]",
            ".spec.items[*]",
            ".spec.*",
            ".spec['x']",
            ".spec.items[-9223372036854775808]",
            ".spec.items[9223372036854775807:]",
            ".spec.items[-9223372036854775808:]",
            ".spec.items[0:-9223372036854775808]",
            ".status.conditions[?(@.type==\"Ready\")].status",
            ".status.conditions[?(@.n>1)].n",
            ".status.conditions[?(@.n)].type",
            ".status.conditions[*].type",
            ".metadata.name",
            ".metadata.creationTimestamp",
            ".spec",
            ".status",
        ][..],
    );
    prop_oneof![
        3 => meaningful.prop_map(String::from),
        2 => vec(step, 0..5).prop_map(|steps| steps.concat()),
    ]
}

/// A value a printer column may meet: timestamps (good, odd, out of range), numbers, text.
fn column_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::sample::select(
            &[
                "2026-11-29T08:00:00Z",
                "1970-01-01T00:00:00Z",
                "0001-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "+262143-01-01T00:00:00Z",
                "2026-11-29T08:00:00.123456789+14:00",
                "2026-13-45T99:99:99Z",
                "yesterday",
                "",
            ][..]
        )
        .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(u64::MAX)),
        plausible_value(),
    ]
}

/// Custom resources with generated printer columns, listed and fetched as Tables.
#[test]
fn arbitrary_printer_columns() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let column = (
        "[A-Za-z ]{0,8}",
        proptest::sample::select(&["string", "integer", "number", "boolean", "date", "", "bogus"][..]),
        proptest::sample::select(&["", "int32", "int64", "date-time", "byte", "bogus"][..]),
        json_path(),
        -1i64..3,
    )
        .prop_map(|(name, type_, format, path, priority)| {
            json!({"name": name, "type": type_, "format": format, "jsonPath": path, "priority": priority})
        });
    let object = (column_value(), vec(column_value(), 0..4), column_value(), column_value())
        .prop_map(|(x, items, when, status)| {
            json!({
                "spec": {"x": x, "items": items, "when": when, "n": x},
                "status": {"conditions": [{"type": "Ready", "status": status}, {"type": "Other", "n": 2}]},
            })
        });
    let strategy = (vec(column, 0..5), vec(object, 1..3), accept());
    run(strategy, |(columns, objects, accept)| {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let (group, plural, kind) = ("fuzz.example.com", format!("t{n}s"), format!("T{n}"));
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "additionalPrinterColumns": columns,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
        });
        let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
        let mut create = Req::new(Method::POST, crds.into());
        create.content_type = Some("application/json");
        create.body = serde_json::to_vec(&crd).expect("serializes");
        let created = send_and_check(&create, &[201, 400, 422])?;
        // The path property running alongside may delete the namespace, or every CRD, at
        // any moment: 404s are expected from here on.
        let mut namespace = Req::new(Method::POST, "/api/v1/namespaces".into());
        namespace.content_type = Some("application/json");
        namespace.body = serde_json::to_vec(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        )
        .expect("serializes");
        send_and_check(&namespace, &[201, 409])?;
        if created.is_none_or(|a| a.status != StatusCode::CREATED) {
            return Ok(());
        }
        let collection = format!("/apis/{group}/v1/namespaces/{NS}/{plural}");
        for (i, spec) in objects.iter().enumerate() {
            let mut object = spec.clone();
            object["apiVersion"] = json!(format!("{group}/v1"));
            object["kind"] = json!(kind);
            object["metadata"] = json!({"name": format!("o-{i}")});
            let mut post = Req::new(Method::POST, collection.clone());
            post.content_type = Some("application/json");
            post.body = serde_json::to_vec(&object).expect("serializes");
            send_and_check(&post, &[201, 400, 404, 422])?;
        }
        let table = Some("application/json;as=Table;v=v1;g=meta.k8s.io");
        for (path, accept) in [
            (collection.clone(), table),
            (format!("{collection}/o-0"), table),
            (collection.clone(), accept),
        ] {
            let mut get = Req::new(Method::GET, path);
            get.accept = accept;
            if let Some(answer) = send_and_check(&get, &[200, 404])?
                && answer.status == StatusCode::OK
            {
                let body = answer.body.as_ref().expect("a complete answer");
                let value: Value = serde_json::from_slice(body)
                    .map_err(|e| TestCaseError::fail(format!("not JSON: {e}")))?;
                if accept == table {
                    prop_assert_eq!(value["kind"].as_str(), Some("Table"), "{}", value);
                    let width = value["columnDefinitions"].as_array().map_or(0, Vec::len);
                    for row in value["rows"].as_array().into_iter().flatten() {
                        prop_assert_eq!(
                            row["cells"].as_array().map_or(0, Vec::len),
                            width,
                            "{}",
                            value
                        );
                    }
                }
            }
        }
        let mut delete = Req::new(Method::DELETE, format!("{crds}/{plural}.{group}"));
        delete.body = Vec::new();
        send_and_check(&delete, &[200, 404])?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Fixed edge cases
// ---------------------------------------------------------------------------------------

/// A body over the 3 MiB limit is refused as too large, with a Status, and the client's
/// connection stays usable: the server answers before reading the whole body, so it must
/// tell the client it closes the connection (`Connection: close`), as the apiserver does.
/// Uses a client of its own so a broken pooled connection cannot upset the other tests.
#[test]
fn oversized_body_is_413() {
    let h = harness();
    let client = h
        .runtime
        .block_on(h.sim.client(false))
        .expect("a client of its own");
    let mut req = Req::new(Method::POST, "/api/v1/namespaces/default/configmaps".into());
    req.content_type = Some("application/json");
    req.keep_alive = true;
    let padding = "x".repeat(4 * 1024 * 1024);
    req.body = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"x":"{padding}"}}}}"#
    )
    .into_bytes();
    let answer = send_with(&client, &req).unwrap().expect("valid request");
    check_answer(&req, &answer, &[413]).unwrap();
    assert_eq!(
        answer
            .headers
            .get(hyper::header::CONNECTION)
            .and_then(|v| v.to_str().ok()),
        Some("close"),
        "a 413 sent before the body was read must close the connection, or the client \
         reuses a connection the server is about to drop",
    );

    let mut next = Req::new(Method::GET, "/version".into());
    next.keep_alive = true;
    let answer = send_with(&client, &next)
        .unwrap_or_else(|e| panic!("the request after a 413 on the same client failed: {e}"))
        .expect("valid request");
    assert_eq!(answer.status, StatusCode::OK);
    assert_still_serving();
}

/// Errors answered before the request body is read (404, 405, 401, 403, a bad query) must
/// leave the client's connection usable: the server has to drain the body or say
/// `Connection: close`, as the apiserver does. Otherwise the client's next request on that
/// pooled connection fails. Uses a client of its own.
#[test]
fn early_errors_leave_the_connection_usable() {
    let h = harness();
    let client = h
        .runtime
        .block_on(h.sim.client(false))
        .expect("a client of its own");
    let early_errors = [
        (Method::POST, "/api/v1/namespaces/default/pods/x", 405),
        (Method::POST, "/apis/nope/v1/things", 404),
        (
            Method::POST,
            "/api/v1/namespaces/default/configmaps?dryRun=Some",
            400,
        ),
    ];
    let mut failures = Vec::new();
    for round in 0..20 {
        for (method, path, code) in &early_errors {
            let mut req = Req::new(method.clone(), path.to_string());
            req.content_type = Some("application/json");
            req.body = vec![b' '; 64 * 1024];
            req.keep_alive = true;
            match send_with(&client, &req) {
                Ok(Some(answer)) => check_answer(&req, &answer, &[*code]).unwrap(),
                other => {
                    failures.push(format!("round {round}: {method} {path}: {:?}", other.err()))
                }
            }
            let mut next = Req::new(Method::GET, "/version".into());
            next.keep_alive = true;
            if let Err(e) = send_with(&client, &next) {
                failures.push(format!(
                    "round {round}: GET /version after {method} {path}: {e}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 120 requests failed: {failures:#?}",
        failures.len()
    );
    assert_still_serving();
}

/// A watch with the largest `timeoutSeconds` a u64 holds streams like any other (its
/// deadline is just far away): after the initial events it stays open. Its own sim, on this
/// test's own runtime, so whatever happens there stays out of the shared server's record.
#[tokio::test]
async fn watch_with_huge_timeout_stays_open() {
    use http_body_util::BodyExt;
    let sim = Sim::start(api_only()).await.expect("sim starts");
    let client = sim.client(false).await.expect("admin client");
    let request =
        hyper::Request::get("/api/v1/namespaces?watch=true&timeoutSeconds=18446744073709551615")
            .body(kube::client::Body::from(Vec::new()))
            .expect("valid request");
    let response = client.send(request).await.expect("the watch is answered");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut text = Vec::new();
    let namespaces = mlxp_sim::seed::NAMESPACES.len();
    while text.iter().filter(|b| **b == b'\n').count() < namespaces {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("the initial events in time")
            .expect("the watch sends every namespace before it ends")
            .expect("a frame");
        text.extend_from_slice(&frame.into_data().unwrap_or_default());
    }
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let event: Value = serde_json::from_slice(line).expect("a JSON watch event");
        assert_eq!(event["type"], "ADDED", "{event}");
    }
    let more = tokio::time::timeout(Duration::from_millis(500), body.frame()).await;
    assert!(
        more.is_err(),
        "the watch ended right after its initial events: {more:?}"
    );
}

/// A very long URI is still answered with a Status, not dropped.
#[test]
fn very_long_uri() {
    for len in [1_000, 10_000, 60_000] {
        let req = Req::new(
            Method::GET,
            format!("/api/v1/namespaces/default/configmaps/{}", "a".repeat(len)),
        );
        let answer = send(&req).unwrap().expect("valid request");
        check_answer(&req, &answer, &[400, 404, 422]).unwrap();
    }
    assert_still_serving();
}
