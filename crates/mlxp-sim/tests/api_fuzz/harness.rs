//! One sim for the whole run, the requests sent to it and the checks every answer passes.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use kube::Client;
use mlxp_sim::{Sim, SimConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use super::strategies::{Kind, NS, manifest};

/// The API server alone: the clock stands still, so no controller acts behind the test's back.
pub fn api_only() -> SimConfig {
    SimConfig {
        manual_clock: true,
        ..SimConfig::default()
    }
}

/// Cases per property: enough to reach the odd corners, few enough for a quick debug run.
/// `FUZZ_CASES` overrides it for a longer run.
pub const CASES: u32 = 512;

/// The codes a request may legitimately end with.
pub const EXPECTED: &[u16] = &[200, 201, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422];

// ---------------------------------------------------------------------------------------
// The shared server and its clients
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
pub enum Who {
    Admin,
    ReadOnly,
    BadToken,
}

pub struct Harness {
    pub runtime: tokio::runtime::Runtime,
    pub sim: Sim,
    pub admin: Client,
    pub readonly: Client,
    pub bad_token: Client,
}

/// Name of the runtime's worker threads, where the server's tasks run.
pub const SERVER_THREAD: &str = "sim-worker";

/// Panics on the server's threads so far. A panic in a request handler or a watch task
/// does not take the process down (tokio catches it), so it is caught here instead.
pub static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub fn record_server_panics() {
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

pub fn server_panics() -> Vec<String> {
    SERVER_PANICS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

pub fn harness() -> &'static Harness {
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
pub async fn bad_token_client(sim: &Sim) -> Client {
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
    pub fn client(&self, who: Who) -> &Client {
        match who {
            Who::Admin => &self.admin,
            Who::ReadOnly => &self.readonly,
            Who::BadToken => &self.bad_token,
        }
    }
}

/// One generated request, sent as is.
#[derive(Debug, Clone)]
pub struct Req {
    pub who: Who,
    pub method: Method,
    /// Path and query.
    pub uri: String,
    pub content_type: Option<&'static str>,
    pub accept: Option<&'static str>,
    pub body: Vec<u8>,
    /// Reuse a pooled connection instead of asking for a fresh one (`Connection: close`).
    /// Fresh connections keep the cases independent of each other; the two tests of
    /// connection reuse set it.
    pub keep_alive: bool,
}

impl Req {
    pub fn new(method: Method, uri: String) -> Req {
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
pub struct Answer {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Option<Bytes>,
}

/// Sends a request. `None` when the URI cannot even be expressed as an HTTP request
/// (the generator made something `http::Uri` rejects: nothing reaches the server).
pub fn send(req: &Req) -> Result<Option<Answer>, TestCaseError> {
    send_with(harness().client(req.who), req)
}

/// Sends a request through `client`, on the shared runtime.
pub fn send_with(client: &Client, req: &Req) -> Result<Option<Answer>, TestCaseError> {
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
pub fn check_answer(req: &Req, answer: &Answer, allowed: &[u16]) -> Result<(), TestCaseError> {
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

pub fn send_and_check(req: &Req, allowed: &[u16]) -> Result<Option<Answer>, TestCaseError> {
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

pub fn abbreviated(s: &str) -> String {
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
pub fn run<S: Strategy>(strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
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

pub fn assert_still_serving() {
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
pub fn ensure_fixtures() -> Result<(), TestCaseError> {
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
