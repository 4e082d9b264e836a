//! `mlxp sim --data-dir` across a restart, as a user does it: the real binary, stopped with
//! SIGTERM and started again on the same address and data dir, and the real kubectl with the
//! FIRST run's kubeconfig, which still works and still finds the ConfigMap it created.
//!
//! kubectl is looked for as `kubectl.1.33` on PATH and beside the `kubectl` on PATH. Missing:
//! skipped with a printed reason, or a failure when MLXP_REQUIRE_E2E=1.

use std::path::Path;
use std::time::Duration;

/// `mlxp sim` on `port` keeping its data in `data`, once its kubeconfig is written.
async fn start_sim(port: u16, kubeconfig: &Path, data: &Path) -> tokio::process::Child {
    let sim = tokio::process::Command::new(env!("CARGO_BIN_EXE_mlxp"))
        .args([
            "sim",
            "--pods",
            "3",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--kubeconfig-out")
        .arg(kubeconfig)
        .arg("--data-dir")
        .arg(data)
        .kill_on_drop(true)
        .spawn()
        .expect("mlxp sim runs");
    tokio::time::timeout(Duration::from_secs(60), async {
        while !std::fs::read_to_string(kubeconfig).is_ok_and(|text| {
            kube::config::Kubeconfig::from_yaml(&text).is_ok_and(|k| !k.clusters.is_empty())
        }) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the kubeconfig written within 60 s");
    sim
}

async fn stop(mut sim: tokio::process::Child) {
    let pid = sim.id().expect("its pid").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(10), sim.wait())
        .await
        .expect("it exits within 10 s")
        .expect("its status");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// kubectl with `kubeconfig`; its stdout, insisting on success.
async fn kubectl(binary: &Path, kubeconfig: &Path, args: &[&str]) -> String {
    let out = tokio::process::Command::new(binary)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .kill_on_drop(true)
        .output()
        .await
        .expect("kubectl runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_with_the_first_runs_kubeconfig_finds_its_configmap_after_a_restart() {
    let Some(kubectl_bin) = mlxp_sim::testing::kubectl_or_skip("1.33") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (first_kubeconfig, second_kubeconfig) = (
        dir.path().join("first.yaml"),
        dir.path().join("second.yaml"),
    );
    // A free port, the same for both runs (a kubeconfig names its server's address).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();

    let first = start_sim(port, &first_kubeconfig, &data).await;
    kubectl(
        &kubectl_bin,
        &first_kubeconfig,
        &["create", "configmap", "keep", "--from-literal=a=1"],
    )
    .await;
    let get_uid = ["get", "configmap", "keep", "-o", "jsonpath={.metadata.uid}"];
    let uid = kubectl(&kubectl_bin, &first_kubeconfig, &get_uid).await;
    assert!(!uid.is_empty());
    stop(first).await;
    let saved = std::fs::read_to_string(data.join("objects.json")).expect("objects saved");
    assert!(saved.contains(&uid), "the ConfigMap saved on SIGTERM");

    // The second run writes its kubeconfig elsewhere: the first one is used as it was.
    let second = start_sim(port, &second_kubeconfig, &data).await;
    assert_eq!(
        kubectl(&kubectl_bin, &first_kubeconfig, &get_uid).await,
        uid,
        "the same ConfigMap, through the first run's CA and token"
    );
    let rv = |text: String| text.parse::<u64>().expect("a numeric resourceVersion");
    let kept_rv = rv(kubectl(
        &kubectl_bin,
        &first_kubeconfig,
        &[
            "get",
            "configmap",
            "keep",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ],
    )
    .await);
    kubectl(
        &kubectl_bin,
        &first_kubeconfig,
        &["create", "configmap", "after", "--from-literal=b=2"],
    )
    .await;
    let after_rv = rv(kubectl(
        &kubectl_bin,
        &first_kubeconfig,
        &[
            "get",
            "configmap",
            "after",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ],
    )
    .await);
    assert!(after_rv > kept_rv, "{after_rv} after {kept_rv}");
    stop(second).await;
}
