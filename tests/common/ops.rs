//! The seeded platform with a kubeconfig and a home of its own, for tests that run the
//! `mlxp` binary's verbs against it, and what they read back (audit lines, Events).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use mlxp::exec::AuditLine;
use mlxp_sim::Sim;
use mlxp_sim::testing::{eight_am, platform_at};
use serde_json::Value;

pub struct Platform {
    pub home: tempfile::TempDir,
    pub sim: Sim,
    pub kubeconfig: PathBuf,
}

/// The seeded platform (fraud-detector: v1 at 80, v2 canary at 20) with its kubeconfig.
pub async fn platform() -> Platform {
    let home = tempfile::tempdir().expect("home");
    let sim = platform_at(eight_am()).await;
    // Long enough for the serving Deployments' pods to be ready.
    sim.advance(Duration::from_secs(120));
    let kubeconfig = home.path().join("sim.kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    Platform {
        home,
        sim,
        kubeconfig,
    }
}

impl Platform {
    pub async fn mlxp(&self, args: &[&str]) -> Output {
        let kubeconfig = self.kubeconfig.to_str().expect("utf-8 path");
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mlxp"))
            .args(args)
            .args(["--kubeconfig", kubeconfig])
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("XDG_STATE_HOME", self.home.path().join(".state"))
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .output()
            .await
            .expect("mlxp runs")
    }

    pub fn audit_path(&self) -> PathBuf {
        self.home.path().join(".state/mlxp/audit.jsonl")
    }

    pub async fn route(&self) -> DynamicObject {
        routes(&self.sim)
            .await
            .get("fraud-detector")
            .await
            .expect("the route")
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn audit_lines(path: &Path) -> Vec<AuditLine> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit line"))
        .collect()
}

pub async fn events_with_reason(sim: &Sim, reason: &str) -> Vec<Value> {
    let client = sim.client(false).await.expect("client");
    let events: Api<DynamicObject> = Api::all_with(
        client,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Event>(&()),
    );
    events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .map(|e| serde_json::to_value(e).expect("json"))
        .filter(|e| e["reason"] == reason)
        .collect()
}

pub async fn routes(sim: &Sim) -> Api<DynamicObject> {
    let client = sim.client(false).await.expect("client");
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    );
    Api::namespaced_with(client, "serving", &resource)
}

/// An mlxp.io kind (`Model` / `models`, `ModelVersion` / `modelversions`) in `serving`.
pub fn registry(client: kube::Client, kind: &str, plural: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client,
        "serving",
        &kube::api::ApiResource {
            group: "mlxp.io".into(),
            version: "v1alpha1".into(),
            api_version: "mlxp.io/v1alpha1".into(),
            kind: kind.into(),
            plural: plural.into(),
        },
    )
}
