//! `mlxp sim` stops cleanly on SIGTERM (what a container runtime or a service manager
//! sends) and on SIGINT: an open watch is ended by the server, and it exits 0.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, WatchParams};

async fn stops_cleanly_on(signal: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("sim.kubeconfig");
    let mut sim = tokio::process::Command::new(env!("CARGO_BIN_EXE_mlxp"))
        .args(["sim", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mlxp sim runs");
    let config = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&kubeconfig)
                && let Ok(parsed) = kube::config::Kubeconfig::from_yaml(&text)
                && let Ok(config) = kube::Config::from_custom_kubeconfig(
                    parsed,
                    &kube::config::KubeConfigOptions::default(),
                )
                .await
            {
                return config;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the kubeconfig written within 60 s");
    let client = kube::Client::try_from(config).expect("client");
    let pods: Api<Pod> = Api::all(client);
    let mut watch = pods
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .expect("a watch")
        .boxed();

    let pid = sim.id().expect("its pid").to_string();
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(10), sim.wait())
        .await
        .expect("it exits within 10 s")
        .expect("its status");
    assert_eq!(status.code(), Some(0), "{signal}: {status:?}");
    // The watch ends, rather than hanging on a dead connection.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = watch.next().await {
            if event.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch ended with the server");
    let mut stderr = String::new();
    if let Some(mut err) = sim.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = err.read_to_string(&mut stderr).await;
    }
    assert!(stderr.contains("mlxp sim: stopping"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_embedded_cluster_with_exit_0() {
    stops_cleanly_on("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_the_embedded_cluster_with_exit_0() {
    stops_cleanly_on("INT").await;
}
