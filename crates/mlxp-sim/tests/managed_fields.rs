//! `metadata.managedFields` as kube-apiserver keeps them, seen through the machine's kubectl
//! 1.29 and 1.33 (skipped when absent, a failure when MLXP_REQUIRE_E2E=1): one entry per
//! manager and operation, in the FieldsV1 format, for creates, updates, patches, server-side
//! apply and the status subresource.

use std::path::PathBuf;

use mlxp_sim::testing::kubectl_or_skip;
use mlxp_sim::{Sim, SimConfig};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
}

impl Kubectl {
    /// Runs with `stdin`; returns (success, stdout, stderr).
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        let mut command = Command::new(&self.binary);
        command
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("kubectl starts");
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(stdin.unwrap_or("").as_bytes())
            .await
            .expect("stdin written");
        drop(pipe);
        let out = child.wait_with_output().await.expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (ok, stdout, stderr) = self.run(args, stdin).await;
        assert!(ok, "kubectl {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }

    async fn managed(&self, kind: &str, name: &str) -> Vec<Value> {
        let out = self
            .ok(
                &["get", kind, name, "-o", "json", "--show-managed-fields"],
                None,
            )
            .await;
        let object: Value = serde_json::from_str(&out).expect("JSON");
        object["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// (manager, operation, subresource, fieldsV1) of each entry, in order.
fn summary(entries: &[Value]) -> Vec<(String, String, String, Value)> {
    entries
        .iter()
        .map(|e| {
            let text = |f: &str| e[f].as_str().unwrap_or("").to_string();
            assert_eq!(e["fieldsType"], "FieldsV1", "{e}");
            let time = text("time");
            assert!(
                time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
                "RFC 3339 to the second: {time}"
            );
            (
                text("manager"),
                text("operation"),
                text("subresource"),
                e["fieldsV1"].clone(),
            )
        })
        .collect()
}

fn entry(
    manager: &str,
    operation: &str,
    sub: &str,
    fields: Value,
) -> (String, String, String, Value) {
    (manager.into(), operation.into(), sub.into(), fields)
}

async fn run(version: &str) {
    let Some(binary) = kubectl_or_skip(version) else {
        return;
    };
    let sim = Sim::start(SimConfig {
        manual_clock: true,
        ..SimConfig::default()
    })
    .await
    .expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let k = Kubectl { binary, kubeconfig };

    // Create, then label: two Update entries, each with the fields it set.
    k.ok(&["create", "configmap", "m1", "--from-literal=a=1"], None)
        .await;
    k.ok(&["label", "cm", "m1", "x=y"], None).await;
    let create = entry(
        "kubectl-create",
        "Update",
        "",
        json!({"f:data": {".": {}, "f:a": {}}}),
    );
    let label = entry(
        "kubectl-label",
        "Update",
        "",
        json!({"f:metadata": {"f:labels": {".": {}, "f:x": {}}}}),
    );
    let entries = k.managed("cm", "m1").await;
    assert_eq!(summary(&entries), [create.clone(), label.clone()]);
    assert_eq!(entries[0]["apiVersion"], "v1");
    let plain = k.ok(&["get", "cm", "m1", "-o", "yaml"], None).await;
    assert!(
        !plain.contains("managedFields"),
        "kubectl hides them: {plain}"
    );

    // Server-side apply adds an Apply entry, listed first.
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m1\ndata:\n  b: \"2\"\n";
    k.ok(&["apply", "--server-side", "-f", "-"], Some(manifest))
        .await;
    let applied = entry("kubectl", "Apply", "", json!({"f:data": {"f:b": {}}}));
    assert_eq!(
        summary(&k.managed("cm", "m1").await),
        [applied.clone(), create.clone(), label.clone()]
    );

    // Applying a field another manager set to another value conflicts, naming it.
    let clash = manifest.replace("b: \"2\"", "a: \"9\"");
    let (ok, _, stderr) = k
        .run(&["apply", "--server-side", "-f", "-"], Some(&clash))
        .await;
    assert!(!ok);
    assert!(
        stderr.contains(
            "Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .data.a"
        ),
        "{stderr}"
    );

    // What a client read back and sends again changes nothing (kubectl replace).
    let read = k
        .ok(
            &["get", "cm", "m1", "-o", "json", "--show-managed-fields"],
            None,
        )
        .await;
    k.ok(&["replace", "-f", "-"], Some(&read)).await;
    assert_eq!(
        summary(&k.managed("cm", "m1").await),
        [applied, create, label]
    );

    // Invalid entries are refused; `[{}]` clears them all.
    let bogus = r#"{"metadata":{"managedFields":[{"manager":"m","operation":"Bogus","fieldsType":"FieldsV1"}]}}"#;
    let (ok, _, stderr) = k
        .run(&["patch", "cm", "m1", "--type=merge", "-p", bogus], None)
        .await;
    assert!(
        !ok && stderr.contains("Unsupported value: \"Bogus\""),
        "{stderr}"
    );
    k.ok(
        &[
            "patch",
            "cm",
            "m1",
            "--type=merge",
            "-p",
            r#"{"metadata":{"managedFields":[{}]}}"#,
        ],
        None,
    )
    .await;
    assert!(k.managed("cm", "m1").await.is_empty());

    // A status write is an entry of its own, with subresource: status; the create owns
    // none of the status the server gave the pod.
    k.ok(&["run", "p1", "--image=nginx"], None).await;
    k.ok(
        &[
            "patch",
            "pod",
            "p1",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"message":"hi"}}"#,
        ],
        None,
    )
    .await;
    // (The clock stands still: same time, so by manager name, as the apiserver orders them.)
    let pod = summary(&k.managed("pod", "p1").await);
    assert_eq!(pod.len(), 2, "{pod:?}");
    assert_eq!(
        pod[0],
        entry(
            "kubectl-patch",
            "Update",
            "status",
            json!({"f:status": {"f:message": {}}})
        )
    );
    assert_eq!((pod[1].0.as_str(), pod[1].2.as_str()), ("kubectl-run", ""));
    assert!(pod[1].3.get("f:status").is_none(), "{:?}", pod[1].3);
    assert_eq!(
        pod[1].3["f:spec"]["f:containers"]["k:{\"name\":\"p1\"}"]["f:image"],
        json!({})
    );

    // What the cluster's own components make carries their entries as well: the Job
    // controller's pod (kube-controller-manager) and its status (the kubelet's).
    k.ok(
        &[
            "create",
            "job",
            "j1",
            "--image=busybox",
            "--",
            "sleep",
            "600",
        ],
        None,
    )
    .await;
    let mut made = String::new();
    for _ in 0..50 {
        sim.advance(std::time::Duration::from_secs(1));
        made = k
            .ok(&["get", "pods", "-l", "job-name=j1", "-o", "name"], None)
            .await;
        if !made.trim().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let name = made.trim().trim_start_matches("pod/").to_string();
    assert!(!name.is_empty(), "the Job controller made no pod");
    let pod = summary(&k.managed("pod", &name).await);
    assert_eq!(pod.len(), 2, "{pod:?}");
    assert_eq!(
        (pod[0].0.as_str(), pod[0].1.as_str(), pod[0].2.as_str()),
        ("kube-controller-manager", "Update", "")
    );
    let owned = &pod[0].3["f:metadata"];
    assert!(owned["f:ownerReferences"].is_object(), "{owned}");
    assert!(owned["f:labels"]["f:job-name"].is_object(), "{owned}");
    assert!(pod[0].3.get("f:status").is_none(), "{:?}", pod[0].3);
    assert_eq!(
        (pod[1].0.as_str(), pod[1].2.as_str()),
        ("kubelet", "status")
    );
    assert!(
        pod[1].3["f:status"]["f:phase"].is_object(),
        "{:?}",
        pod[1].3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_fields_with_kubectl_1_29() {
    run("1.29").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_fields_with_kubectl_1_33() {
    run("1.33").await;
}
