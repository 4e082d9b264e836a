//! Prometheus as users run it: behind a bearer token or basic auth, multi-tenant with a
//! header (Thanos, Cortex, Mimir), over TLS with its own CA. The credentials are sent, and
//! never printed: not in the config's debug form, not in trace-level logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::config_for;
use super::fake_prometheus::{FakePrometheus, vector};
use crate::metrics::config::Access;
use crate::metrics::{MetricsConfig, MetricsSource, Prometheus};

async fn one_gpu() -> FakePrometheus {
    let util = vector(&[(&[("Hostname", "node-a"), ("gpu", "0")], "0")]);
    FakePrometheus::start(vec![(super::promql("gpu_util"), util)]).await
}

fn file_with(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("written");
    path
}

/// Every line tracing writes, at trace level, while `f` runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_bearer_token_and_a_tenant_header_are_sent_and_never_logged() {
    let fake = one_gpu().await;
    let dir = tempfile::tempdir().expect("dir");
    let token = "s3cret-t0ken-4f9a";
    let config = MetricsConfig {
        access: Access {
            bearer_token_file: Some(file_with(&dir, "token", &format!("{token}\n"))),
            headers: [("X-Scope-OrgID".to_string(), "team-ml".to_string())].into(),
            ..Access::default()
        },
        ..config_for(fake.url())
    };
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::debug!(config = ?config, "metrics config");
    let source = Prometheus::new(&config).expect("a source");
    source.frame().await.expect("a frame");

    let request = &fake.requests()[0];
    assert_eq!(request.headers["authorization"], format!("Bearer {token}"));
    assert_eq!(request.headers["x-scope-orgid"], "team-ml");
    let logged = String::from_utf8_lossy(&captured.0.lock().unwrap()).to_string();
    assert!(logged.contains("metrics config"), "the capture works");
    assert!(!logged.contains(token), "the token in the logs:\n{logged}");
}

#[tokio::test]
async fn basic_auth_is_sent_from_its_password_file() {
    let fake = one_gpu().await;
    let dir = tempfile::tempdir().expect("dir");
    let config = MetricsConfig {
        access: Access {
            basic_auth: Some(("grafana".into(), file_with(&dir, "pw", "hunter2"))),
            ..Access::default()
        },
        ..config_for(fake.url())
    };
    Prometheus::new(&config)
        .expect("a source")
        .frame()
        .await
        .expect("a frame");
    // base64("grafana:hunter2")
    assert_eq!(
        fake.requests()[0].headers["authorization"],
        "Basic Z3JhZmFuYTpodW50ZXIy"
    );
    let missing = MetricsConfig {
        access: Access {
            basic_auth: Some(("grafana".into(), dir.path().join("nope"))),
            ..Access::default()
        },
        ..config_for(fake.url())
    };
    let refused = Prometheus::new(&missing)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        refused.contains("basic_auth_password_file") && refused.contains("nope"),
        "{refused}"
    );
}

#[test]
fn the_keys_are_read_from_the_file_relative_to_it_and_checked() {
    let text = "[prometheus]\nurl = \"https://prom:9090\"\nbearer_token_file = \"token\"\nca_file = \"/etc/ssl/prom.pem\"\ninsecure_skip_verify = true\n[prometheus.headers]\nX-Scope-OrgID = \"team-ml\"\n";
    let config =
        MetricsConfig::from_toml(text, std::path::Path::new("/etc/mlxp/mlxp.toml")).expect("read");
    assert_eq!(
        config.access.bearer_token_file.as_deref(),
        Some(std::path::Path::new("/etc/mlxp/token"))
    );
    assert_eq!(
        config.access.ca_file.as_deref(),
        Some(std::path::Path::new("/etc/ssl/prom.pem"))
    );
    assert!(config.access.insecure_skip_verify);
    assert_eq!(config.access.headers["X-Scope-OrgID"], "team-ml");
    let both = "[prometheus]\nbearer_token_file = \"t\"\nbasic_auth_username = \"u\"\nbasic_auth_password_file = \"p\"\n";
    let err = MetricsConfig::from_toml(both, std::path::Path::new("m.toml"))
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("m.toml:2") && err.contains("cannot both be set"),
        "{err}"
    );
}

#[tokio::test]
async fn a_prometheus_over_tls_is_trusted_by_its_ca_file_or_when_told_not_to_check() {
    // An HTTPS server with a CA of its own: the embedded cluster's. It does not speak
    // the Prometheus API, so a reached server fails the query; an untrusted one is not
    // reached at all.
    let sim = mlxp_sim::Sim::start(mlxp_sim::SimConfig {
        manual_clock: true,
        ..Default::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let ca = file_with(&dir, "ca.pem", sim.ca_pem());
    let frame = |access: Access| {
        let config = MetricsConfig {
            access,
            ..config_for(&sim.url())
        };
        async move { Prometheus::new(&config).expect("a source").frame().await }
    };
    let unreached = |e: &crate::metrics::MetricsError| {
        matches!(e, crate::metrics::MetricsError::Unreachable(_))
    };
    let untrusted = frame(Access::default()).await.expect_err("not trusted");
    assert!(unreached(&untrusted), "{untrusted}");
    let with_ca = frame(Access {
        ca_file: Some(ca),
        ..Access::default()
    })
    .await
    .expect_err("not Prometheus");
    assert!(!unreached(&with_ca), "reached with its CA: {with_ca}");
    let unchecked = frame(Access {
        insecure_skip_verify: true,
        ..Access::default()
    })
    .await
    .expect_err("not Prometheus");
    assert!(!unreached(&unchecked), "reached unchecked: {unchecked}");
}
