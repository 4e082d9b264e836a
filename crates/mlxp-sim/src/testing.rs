//! Helpers for tests of the embedded cluster and of its clients (this crate's tests and the
//! cockpit's): a fixed clock, the small platform, its metrics as a scraper reads them.

use crate::Sim;

/// The sim's `/metrics` exposition, read with the read-only token as a scraper would.
pub async fn metrics(sim: &Sim) -> String {
    sim.client(true)
        .await
        .expect("client")
        .request_text(
            hyper::Request::get("/metrics")
                .body(Vec::new())
                .expect("request"),
        )
        .await
        .expect("metrics")
}

/// A fixed start for simulated time, so runs compare.
pub fn eight_am() -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339("2026-11-29T08:00:00Z")
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The basic cluster on a standing clock at eight, on a port of its own that a restart
/// can take again.
pub fn restartable_config() -> crate::SimConfig {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    crate::SimConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        manual_clock: true,
        start: eight_am(),
        ..crate::SimConfig::default()
    }
}

/// Creates a one-container Job named `name` in `training`.
pub async fn create_job(client: kube::Client, name: &str) {
    let job: k8s_openapi::api::batch::v1::Job = serde_json::from_value(serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "training"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "t"}]}}},
    }))
    .expect("job");
    kube::Api::<k8s_openapi::api::batch::v1::Job>::namespaced(client, "training")
        .create(&Default::default(), &job)
        .await
        .expect("created");
}

/// The small platform scenario on a standing clock at `start`.
pub async fn platform_at(start: Option<chrono::DateTime<chrono::Utc>>) -> Sim {
    Sim::start(crate::SimConfig {
        scenario: crate::Scenario::Platform {
            scale: crate::Scale::Small,
        },
        manual_clock: true,
        start,
        ..crate::SimConfig::default()
    })
    .await
    .expect("sim starts")
}

/// A cluster-wide API of any kind, as dynamic objects.
pub fn dynamic(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> kube::Api<kube::api::DynamicObject> {
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(group, version, kind),
        plural,
    );
    kube::Api::all_with(client.clone(), &resource)
}

/// `kubectl.VERSION` on PATH, or beside the `kubectl` on PATH (the image's dispatcher).
pub fn find_kubectl(version: &str) -> Option<std::path::PathBuf> {
    let name = format!("kubectl.{version}");
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(&name);
        if candidate.is_file() {
            return Some(candidate);
        }
        // The image's kubectl is a link to a dispatcher with the versioned binaries beside it.
        if let Ok(real) = std::fs::canonicalize(dir.join("kubectl"))
            && let Some(beside) = real.parent().map(|p| p.join(&name))
            && beside.is_file()
        {
            return Some(beside);
        }
    }
    None
}

/// `find_kubectl`, or None with a printed reason; a failure when MLXP_REQUIRE_E2E=1.
pub fn kubectl_or_skip(version: &str) -> Option<std::path::PathBuf> {
    match find_kubectl(version) {
        Some(path) => Some(path),
        None if std::env::var("MLXP_REQUIRE_E2E").as_deref() == Ok("1") => {
            panic!("kubectl.{version} not found on PATH, and MLXP_REQUIRE_E2E=1 requires it")
        }
        None => {
            eprintln!(
                "skipped: kubectl.{version} not found on PATH (set MLXP_REQUIRE_E2E=1 to fail instead)"
            );
            None
        }
    }
}
