//! End to end: the machine's kubectl 1.29 and 1.33 (1.27 and 1.28 for manifests) against the
//! embedded cluster, through the kubeconfig `mlxp sim` writes, with client-side validation left
//! on (no `--validate=false`).
//!
//! kubectl is looked for as `kubectl.1.29` / `kubectl.1.33` on PATH and beside the `kubectl`
//! on PATH. Missing: skipped with a printed reason, or a failure when MLXP_REQUIRE_E2E=1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use mlxp_sim::testing::kubectl_or_skip;
use mlxp_sim::{Sim, SimConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The API server alone: the clock stands still, so no controller acts behind the test's back.
fn api_only() -> SimConfig {
    SimConfig {
        manual_clock: true,
        ..SimConfig::default()
    }
}

struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .args(args)
            .kill_on_drop(true);
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None).await
    }

    async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = self.command(args);
        let output = match stdin {
            Some(text) => {
                use tokio::io::AsyncWriteExt;
                command
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = command.spawn().expect("kubectl starts");
                let mut pipe = child.stdin.take().expect("stdin is piped");
                pipe.write_all(text.as_bytes())
                    .await
                    .expect("stdin written");
                drop(pipe);
                child.wait_with_output().await.expect("kubectl runs")
            }
            None => command.output().await.expect("kubectl runs"),
        };
        Output {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs and insists on success; returns stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.ok,
            "kubectl {args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        assert!(
            !out.stderr.contains("failed to download openapi"),
            "kubectl {args:?} fell back to client-side validation: {}",
            out.stderr
        );
        out.stdout
    }

    async fn apply(&self, manifest: &str) -> String {
        let out = self
            .run_with_stdin(&["apply", "-f", "-"], Some(manifest))
            .await;
        assert!(out.ok, "apply failed:\n{}\n{}", out.stdout, out.stderr);
        out.stdout
    }
}

const JOB: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: e2e-train
  namespace: training
  labels: {mlxp.io/model: fraud-detector}
spec:
  backoffLimit: BACKOFF
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: trainer
        image: ghcr.io/mlxp/trainer:2.4
        env:
        - {name: EPOCHS, value: \"20\"}
";

async fn start(version: &str) -> Option<(Sim, Kubectl, tempfile::TempDir)> {
    let binary = kubectl_or_skip(version)?;
    let sim = Sim::start(api_only()).await.expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig)
        .expect("kubeconfig written");
    Some((sim, Kubectl { binary, kubeconfig }, dir))
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

async fn reads(k: &Kubectl) {
    let nodes = k.ok(&["get", "nodes"]).await;
    let header = nodes.lines().next().unwrap_or("");
    for column in ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] {
        assert!(header.contains(column), "get nodes header: {header}");
    }
    assert!(nodes.contains("gke-mlxp-training-"), "{nodes}");
    assert!(nodes.contains("Ready"), "{nodes}");

    let wide = k.ok(&["get", "pods", "-A", "-o", "wide"]).await;
    let header = wide.lines().next().unwrap_or("");
    for column in ["NAMESPACE", "NAME", "READY", "STATUS", "IP", "NODE"] {
        assert!(
            header.contains(column),
            "get pods -A -o wide header: {header}"
        );
    }
    assert!(
        wide.contains("kube-system") && wide.contains("training"),
        "{wide}"
    );

    let labelled = k
        .ok(&["get", "pods", "-A", "-l", "app=kube-dns", "--no-headers"])
        .await;
    assert_eq!(labelled.lines().count(), 2, "{labelled}");
    assert!(
        labelled.lines().all(|l| l.contains("coredns")),
        "{labelled}"
    );

    // Every pod on one node, and only those.
    let node = "gke-mlxp-training-3a10-0";
    let all_on_node = lines_with(&wide, node).len();
    assert!(all_on_node > 0, "seeded pods run on {node}: {wide}");
    let on_node = k
        .ok(&[
            "get",
            "pods",
            "-A",
            "--field-selector",
            &format!("spec.nodeName={node}"),
            "-o",
            "wide",
            "--no-headers",
        ])
        .await;
    assert_eq!(on_node.lines().count(), all_on_node, "{on_node}");
    assert!(on_node.lines().all(|l| l.contains(node)), "{on_node}");

    let resources = k.ok(&["api-resources"]).await;
    for kind in ["Pod", "Job", "ModelVersion", "Workload", "HTTPRoute"] {
        assert!(
            resources.contains(kind),
            "api-resources lacks {kind}: {resources}"
        );
    }

    let logs = k
        .ok(&[
            "logs",
            "-n",
            "training",
            "-l",
            "mlxp.io/model=fraud-detector",
            "--tail",
            "3",
        ])
        .await;
    assert_eq!(logs.lines().count(), 3, "{logs}");
    assert!(logs.contains("epoch"), "{logs}");
}

async fn writes(k: &Kubectl, dir: &Path) {
    let job_file = dir.join("job.yaml");
    std::fs::write(&job_file, JOB.replace("BACKOFF", "2")).expect("manifest written");
    let job_path = job_file.to_str().expect("utf-8 path");
    let created = k.ok(&["create", "-f", job_path]).await;
    assert!(created.contains("job.batch/e2e-train created"), "{created}");
    let again = k.run(&["create", "-f", job_path]).await;
    assert!(
        !again.ok && again.stderr.contains("AlreadyExists"),
        "{}",
        again.stderr
    );

    // apply, then apply again with a change.
    let manifest = JOB
        .replace("e2e-train", "e2e-apply")
        .replace("BACKOFF", "2");
    assert!(
        k.apply(&manifest)
            .await
            .contains("job.batch/e2e-apply created")
    );
    let changed = k
        .apply(&manifest.replace("backoffLimit: 2", "backoffLimit: 5"))
        .await;
    assert!(
        changed.contains("job.batch/e2e-apply configured"),
        "{changed}"
    );
    let backoff = k
        .ok(&[
            "get",
            "job",
            "-n",
            "training",
            "e2e-apply",
            "-o",
            "jsonpath={.spec.backoffLimit}",
        ])
        .await;
    assert_eq!(backoff, "5");
    let unchanged = k
        .apply(&manifest.replace("backoffLimit: 2", "backoffLimit: 5"))
        .await;
    assert!(unchanged.contains("unchanged"), "{unchanged}");

    // Each patch type.
    let get = |path: &'static str| {
        let args = ["get", "job", "-n", "training", "e2e-train", "-o"];
        async move {
            let jsonpath = format!("jsonpath={path}");
            let mut all: Vec<&str> = args.to_vec();
            all.push(&jsonpath);
            k.ok(&all).await
        }
    };
    k.ok(&[
        "patch",
        "job",
        "-n",
        "training",
        "e2e-train",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"backoffLimit":3}}"#,
    ])
    .await;
    assert_eq!(get("{.spec.backoffLimit}").await, "3");
    k.ok(&[
        "patch",
        "job",
        "-n",
        "training",
        "e2e-train",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/backoffLimit","value":4}]"#,
    ])
    .await;
    assert_eq!(get("{.spec.backoffLimit}").await, "4");
    k.ok(&["patch", "job", "-n", "training", "e2e-train", "--type", "strategic", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"trainer","env":[{"name":"LR","value":"0.001"}]}]}}}}"#]).await;
    let env = get("{.spec.template.spec.containers[0].env[*].name}").await;
    assert!(
        env.contains("EPOCHS") && env.contains("LR"),
        "strategic merge keeps EPOCHS and adds LR: {env}"
    );
    // kubectl patch asks for no field validation: the server warns and drops the field.
    let bogus = k
        .run(&[
            "patch",
            "job",
            "-n",
            "training",
            "e2e-train",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"bogusField":1}}"#,
        ])
        .await;
    assert!(
        bogus.ok && bogus.stderr.contains("unknown field"),
        "{}",
        bogus.stderr
    );
    let spec = get("{.spec}").await;
    assert!(
        !spec.contains("bogusField"),
        "unknown fields are not stored: {spec}"
    );
    // kubectl create validates strictly through the server.
    let strict = k
        .run_with_stdin(
            &["create", "-f", "-"],
            Some(
                &JOB.replace("e2e-train", "e2e-strict")
                    .replace("BACKOFF", "1")
                    .replace("  backoffLimit", "  bogusLimit: 1\n  backoffLimit"),
            ),
        )
        .await;
    assert!(
        !strict.ok
            && strict
                .stderr
                .contains("strict decoding error: unknown field \"spec.bogusLimit\""),
        "{}",
        strict.stderr
    );

    // Read-only and unknown tokens.
    let denied = k
        .run(&["--context", "mlxp-sim-readonly", "create", "-f", job_path])
        .await;
    assert!(
        !denied.ok && denied.stderr.contains("Forbidden"),
        "{}",
        denied.stderr
    );
    let listed = k
        .run(&["--context", "mlxp-sim-readonly", "get", "pods", "-A"])
        .await;
    assert!(listed.ok, "{}", listed.stderr);
    let stranger = k.run(&["--token", "not-a-token", "get", "pods"]).await;
    assert!(
        !stranger.ok && stranger.stderr.contains("Unauthorized"),
        "{}",
        stranger.stderr
    );
}

/// `get pods -w` prints a pod created after its list, as a watch event.
async fn watch(k: &Kubectl, sim: &Sim) {
    let mut child = k
        .command(&["get", "pods", "-n", "training", "-w"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let within = Duration::from_secs(20);
    // The list comes first: once its rows are printed, kubectl is watching.
    let listed = tokio::time::timeout(within, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("train-") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        listed,
        Ok(true),
        "kubectl get pods -w printed no list within 20 s"
    );
    let pods: Api<Pod> = Api::namespaced(sim.client(false).await.expect("client"), "training");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "watched-pod"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("pod created");
    let seen = tokio::time::timeout(within, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("watched-pod") {
                return true;
            }
        }
        false
    })
    .await;
    let _ = child.kill().await;
    assert_eq!(
        seen,
        Ok(true),
        "kubectl get pods -w did not stream the new pod within 20 s"
    );
}

/// `delete job` takes the Job's pods along (background propagation, kubectl's default).
async fn delete(k: &Kubectl) {
    let before = k
        .ok(&[
            "get",
            "pods",
            "-n",
            "training",
            "-l",
            "mlxp.io/model=recsys-ranker",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(before.lines().count(), 1, "{before}");
    let out = k
        .ok(&["delete", "job", "-n", "training", "train-recsys-ranker-r4"])
        .await;
    assert!(out.contains("deleted"), "{out}");
    let after = k
        .ok(&[
            "get",
            "pods",
            "-n",
            "training",
            "-l",
            "mlxp.io/model=recsys-ranker",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(after.trim(), "", "owned pods are gone");
}

const CRONJOB: &str = "apiVersion: batch/v1
kind: CronJob
metadata: {name: retrain, namespace: training}
spec:
  schedule: \"0 3 * * *\"
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: trainer
            image: ghcr.io/mlxp/trainer:2.4
            args: [--epochs, \"5\"]
            resources: {limits: {nvidia.com/gpu: \"1\"}, requests: {cpu: 500m}}
            livenessProbe: {httpGet: {path: /healthz, port: 8080}}
";

/// Runs a create command; kubectl must say `said`.
async fn creates(k: &Kubectl, args: &[&str], said: &str) {
    let out = k.ok(args).await;
    assert!(out.contains(said), "kubectl {args:?}: {out}");
}

/// kubectl's typed creates, which 1.33 sends as protobuf: `create job --from=cronjob/X`,
/// `create deployment`, `run`.
async fn typed_creates(k: &Kubectl, sim: &Sim) {
    k.apply(CRONJOB).await;
    let from_cronjob = [
        "create",
        "job",
        "retrain-now",
        "--from=cronjob/retrain",
        "-n",
        "training",
    ];
    creates(k, &from_cronjob, "job.batch/retrain-now created").await;
    let job: serde_json::Value = serde_json::from_str(
        &k.ok(&["get", "job", "retrain-now", "-n", "training", "-o", "json"])
            .await,
    )
    .expect("job json");
    assert_eq!(
        job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(job["spec"]["backoffLimit"], 2);
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"], serde_json::json!(["--epochs", "5"]));
    assert_eq!(container["resources"]["limits"]["nvidia.com/gpu"], "1");
    assert_eq!(container["resources"]["requests"]["cpu"], "500m");
    assert_eq!(container["livenessProbe"]["httpGet"]["port"], 8080);
    let deployment = [
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
        "-n",
        "serving",
    ];
    creates(k, &deployment, "deployment.apps/web created").await;
    let replicas = k
        .ok(&[
            "get",
            "deployment",
            "web",
            "-n",
            "serving",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await;
    assert_eq!(replicas, "2");
    // Defaulted as the apiserver does, protobuf zero values and all: its pods are
    // scheduled and run (with `schedulerName: ""` they stayed Pending forever).
    let defaults = k
        .ok(&[
            "get",
            "deployment",
            "web",
            "-n",
            "serving",
            "-o",
            "jsonpath={.spec.strategy.type} {.spec.revisionHistoryLimit} {.spec.template.spec.schedulerName}",
        ])
        .await;
    assert_eq!(defaults, "RollingUpdate 10 default-scheduler");
    // The protobuf body's empty metadata strings are not kept (the apiserver shows none).
    let yaml = k
        .ok(&["get", "deployment", "web", "-n", "serving", "-o", "yaml"])
        .await;
    assert!(
        !yaml.contains("selfLink") && !yaml.contains("generateName"),
        "{yaml}"
    );
    let phases = || async {
        k.ok(&[
            "get",
            "pods",
            "-n",
            "serving",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].status.phase}",
        ])
        .await
    };
    // Simulated time passes, five seconds a step, until they run (two minutes at most).
    for _ in 0..24 {
        if phases().await == "Running Running" {
            break;
        }
        sim.advance(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let phases = phases().await;
    assert_eq!(phases, "Running Running");
    // A Job's selector ties `kubectl logs job/NAME` to its own pod.
    let job = [
        "create",
        "job",
        "once",
        "--image=busybox:1.36",
        "-n",
        "default",
        "--",
        "echo",
        "hi",
    ];
    creates(k, &job, "job.batch/once created").await;
    let selector = k
        .ok(&[
            "get",
            "job",
            "once",
            "-o",
            "jsonpath={.spec.selector.matchLabels}",
        ])
        .await;
    assert!(
        selector.contains("batch.kubernetes.io/controller-uid"),
        "{selector}"
    );
    sim.advance(Duration::from_secs(10));
    let picked = k.run(&["logs", "job/once", "-v=6"]).await;
    assert!(picked.ok, "{}", picked.stderr);
    assert!(
        picked.stderr.contains("/pods/once-"),
        "the Job's own pod: {}",
        picked.stderr
    );
    // `echo hi` ends as it would: the Job completes and its log is what echo printed.
    let complete = "{.status.succeeded}";
    for _ in 0..24 {
        if k.ok(&["get", "job", "once", "-o", &format!("jsonpath={complete}")])
            .await
            == "1"
        {
            break;
        }
        sim.advance(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        k.ok(&["get", "job", "once", "-o", &format!("jsonpath={complete}")])
            .await,
        "1"
    );
    assert_eq!(k.ok(&["logs", "job/once"]).await, "hi\n");
    let service = [
        "create",
        "service",
        "clusterip",
        "web",
        "--tcp=80:8080",
        "-n",
        "serving",
    ];
    creates(k, &service, "service/web created").await;
    let ip = k
        .ok(&[
            "get",
            "service",
            "web",
            "-n",
            "serving",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ])
        .await;
    assert!(ip.starts_with("10.96."), "{ip}");
    let run = [
        "run",
        "shell",
        "--image=busybox",
        "--restart=Never",
        "-n",
        "default",
    ];
    creates(k, &run, "pod/shell created").await;
}

/// Simulated time passes, five seconds a step, until `jsonpath` of `what` reads `want`
/// (two minutes at most); returns what it read last.
async fn advance_until(
    k: &Kubectl,
    sim: &Sim,
    what: &[&str],
    jsonpath: &str,
    want: &str,
) -> String {
    let jsonpath = format!("jsonpath={jsonpath}");
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-n", "serving", "-o", &jsonpath]);
    let mut seen = String::new();
    for _ in 0..24 {
        seen = k.ok(&args).await;
        if seen == want {
            break;
        }
        sim.advance(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen
}

/// Revisions as ReplicaSets keep them: the Deployment `web` of `typed_creates` rolled to a
/// new image, `kubectl rollout history` lists both, `kubectl rollout undo` brings the first
/// template back as revision 3 (its ReplicaSet reused, not a third made), and the pods
/// belong to the ReplicaSet, which belongs to the Deployment.
async fn rollouts(k: &Kubectl, sim: &Sim) {
    let web = ["deployment", "web"];
    let counts = "{.metadata.generation}/{.status.observedGeneration} {.status.updatedReplicas} {.status.availableReplicas} {.status.replicas}";
    let image = "{.spec.template.spec.containers[0].image}";
    k.ok(&[
        "set",
        "image",
        "deployment/web",
        "nginx=nginx:1.28",
        "-n",
        "serving",
    ])
    .await;
    let cause = "kubernetes.io/change-cause=to nginx 1.28";
    k.ok(&["annotate", "deployment/web", cause, "-n", "serving"])
        .await;
    assert_eq!(
        advance_until(k, sim, &web, counts, "2/2 2 2 2").await,
        "2/2 2 2 2"
    );
    let history = k
        .ok(&["rollout", "history", "deployment/web", "-n", "serving"])
        .await;
    let revisions = |history: &str| -> Vec<String> {
        history
            .lines()
            .skip_while(|l| !l.starts_with("REVISION"))
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        revisions(&history),
        ["1 <none>", "2 to nginx 1.28"],
        "{history}"
    );
    let undone = k
        .ok(&["rollout", "undo", "deployment/web", "-n", "serving"])
        .await;
    assert_eq!(undone.trim(), "deployment.apps/web rolled back");
    assert_eq!(advance_until(k, sim, &web, image, "nginx").await, "nginx");
    assert_eq!(
        advance_until(k, sim, &web, counts, "3/3 2 2 2").await,
        "3/3 2 2 2"
    );
    let history = k
        .ok(&["rollout", "history", "deployment/web", "-n", "serving"])
        .await;
    assert_eq!(
        revisions(&history),
        ["2 to nginx 1.28", "3 <none>"],
        "{history}"
    );
    let sets: serde_json::Value = serde_json::from_str(
        &k.ok(&["get", "rs", "-l", "app=web", "-n", "serving", "-o", "json"])
            .await,
    )
    .expect("replicaset list");
    let mut replicas: Vec<String> = sets["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rs| {
            let revision = &rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"];
            format!(
                "{}={}",
                revision.as_str().unwrap_or("?"),
                rs["spec"]["replicas"]
            )
        })
        .collect();
    replicas.sort();
    assert_eq!(replicas, ["2=0", "3=2"]);
    let owners = "{range .items[*]}{.metadata.ownerReferences[0].kind} {end}";
    let pods = ["pods", "-l", "app=web"];
    assert_eq!(
        advance_until(k, sim, &pods, owners, "ReplicaSet ReplicaSet ")
            .await
            .trim(),
        "ReplicaSet ReplicaSet"
    );
}

/// `kubectl logs` options as a kubelet serves them: `--tail`, `--timestamps` (each line
/// stamped with its time), `--limit-bytes`, and `--previous` refused with the apiserver's
/// words (the sim's containers never restart).
async fn log_options(k: &Kubectl) {
    let listing = k
        .ok(&[
            "get", "pods", "-A", "-o",
            "jsonpath={range .items[*]}{.metadata.namespace} {.metadata.name} {.spec.containers[-1:].name}{\"\\n\"}{end}",
        ])
        .await;
    // The first pod with a line of more than 10 bytes in its log (`--limit-bytes=10` cuts it).
    let mut found = None;
    for entry in listing.lines() {
        let [ns, pod, container] = entry.split(' ').collect::<Vec<_>>()[..] else {
            continue;
        };
        let last = k
            .run(&[
                "logs",
                "-n",
                ns,
                pod,
                "-c",
                container,
                "--tail=1",
                "--timestamps",
            ])
            .await;
        let line = last.stdout.trim().split_once(' ').map_or("", |(_, l)| l);
        if last.ok && line.len() > 10 {
            found = Some((
                ns.to_string(),
                pod.to_string(),
                container.to_string(),
                last.stdout,
            ));
            break;
        }
    }
    let (ns, pod, container, last) = found.expect("a pod with a log");
    let (stamp, line) = last.trim_end().split_once(' ').expect("a stamped line");
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "{last}"
    );
    let plain = k
        .ok(&["logs", "-n", &ns, &pod, "-c", &container, "--tail=1"])
        .await;
    assert_eq!(
        plain.trim_end(),
        line,
        "the same line, stamped only when asked"
    );
    assert_eq!(last.lines().count(), 1, "{last}");
    let cut = k
        .ok(&[
            "logs",
            "-n",
            &ns,
            &pod,
            "-c",
            &container,
            "--limit-bytes=10",
        ])
        .await;
    assert_eq!(cut.len(), 10, "{cut:?}");
    let previous = k
        .run(&["logs", "-n", &ns, &pod, "-c", &container, "--previous"])
        .await;
    assert!(!previous.ok);
    assert!(
        previous.stderr.contains(&format!(
            "previous terminated container \"{container}\" in pod \"{pod}\" not found"
        )),
        "{}",
        previous.stderr
    );
}

/// `kubectl auth can-i` (a SelfSubjectAccessReview, protobuf from 1.33), `can-i --list`
/// (SelfSubjectRulesReview) and `auth whoami` (SelfSubjectReview) answer; `/api` names the
/// address the server really listens on.
async fn who(k: &Kubectl, sim: &Sim) {
    assert_eq!(
        k.ok(&["auth", "can-i", "create", "pods"]).await.trim(),
        "yes"
    );
    let denied = k
        .run(&[
            "auth",
            "can-i",
            "delete",
            "nodes",
            "--context",
            "mlxp-sim-readonly",
        ])
        .await;
    assert_eq!(
        denied.stdout.trim(),
        "no - mlxp-readonly is read-only",
        "{}",
        denied.stderr
    );
    let whoami = k.ok(&["auth", "whoami"]).await;
    assert!(whoami.contains("mlxp-admin"), "{whoami}");
    let rules = k
        .ok(&["auth", "can-i", "--list", "--context", "mlxp-sim-readonly"])
        .await;
    assert!(
        rules
            .lines()
            .any(|l| l.starts_with("*.*") && l.ends_with("[get list watch]")),
        "{rules}"
    );
    let api = k.ok(&["get", "--raw", "/api"]).await;
    assert!(
        api.contains(&format!("\"serverAddress\":\"{}\"", sim.addr())),
        "{api}"
    );
}

/// What the apiserver refuses, refused in its words: a Deployment with a negative count,
/// no image and a selector its template does not match (every cause listed), a pod asking
/// for `cpu: lots`, a ConfigMap over 1 MiB. Nothing is stored.
async fn refusals(k: &Kubectl) {
    let deployment = "apiVersion: apps/v1
kind: Deployment
metadata: {name: refused, namespace: serving}
spec:
  replicas: -1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: web}]
";
    let out = k
        .run_with_stdin(&["apply", "-f", "-"], Some(deployment))
        .await;
    assert!(!out.ok, "{}", out.stdout);
    for cause in [
        "spec.template.spec.containers[0].image: Required value",
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`",
    ] {
        assert!(out.stderr.contains(cause), "{cause}: {}", out.stderr);
    }
    let pod = "apiVersion: v1
kind: Pod
metadata: {name: hungry, namespace: default}
spec:
  containers: [{name: a, image: busybox, resources: {requests: {cpu: lots}}}]
";
    let out = k.run_with_stdin(&["apply", "-f", "-"], Some(pod)).await;
    assert!(
        out.stderr.contains("Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression"),
        "{}",
        out.stderr
    );
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big, namespace: default}}\ndata: {{blob: {}}}\n",
        "x".repeat(1024 * 1024 + 1)
    );
    let out = k.run_with_stdin(&["create", "-f", "-"], Some(&big)).await;
    assert!(
        out.stderr
            .contains("\"big\" is invalid: []: Too long: must have at most 1048576 bytes"),
        "{}",
        &out.stderr[..out.stderr.len().min(400)]
    );
    for (kind, name, ns) in [
        ("deployment", "refused", "serving"),
        ("pod", "hungry", "default"),
        ("configmap", "big", "default"),
    ] {
        assert!(
            !k.run(&["get", kind, name, "-n", ns]).await.ok,
            "{kind} {name} stored"
        );
    }
}

/// The agent's in-cluster manifests (config/deploy) pass a server-side dry-run, each object.
async fn deploy_manifests(k: &Kubectl) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/deploy");
    let dir = dir.to_str().expect("a UTF-8 path");
    let out = k.ok(&["apply", "--dry-run=server", "-f", dir]).await;
    for object in [
        "serviceaccount/mlxp-agent",
        "clusterrole.rbac.authorization.k8s.io/mlxp-agent",
        "clusterrolebinding.rbac.authorization.k8s.io/mlxp-agent",
        "role.rbac.authorization.k8s.io/mlxp-agent",
        "rolebinding.rbac.authorization.k8s.io/mlxp-agent",
        "deployment.apps/mlxp-agent",
        "service/mlxp-agent",
    ] {
        assert!(
            out.contains(&format!("{object} created (server dry run)")),
            "{object}: {out}"
        );
    }
    let after = k
        .run(&["get", "deployment", "mlxp-agent", "-n", "mlxp-system"])
        .await;
    assert!(!after.ok, "a dry-run creates nothing: {}", after.stdout);
}

async fn full_run(version: &str) {
    let Some((sim, k, dir)) = start(version).await else {
        return;
    };
    reads(&k).await;
    writes(&k, dir.path()).await;
    watch(&k, &sim).await;
    delete(&k).await;
    typed_creates(&k, &sim).await;
    rollouts(&k, &sim).await;
    refusals(&k).await;
    who(&k, &sim).await;
    log_options(&k).await;
    deploy_manifests(&k).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_29_works_against_the_sim() {
    full_run("1.29").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_33_works_against_the_sim() {
    full_run("1.33").await;
}

/// kubectl 1.27 and 1.28 read `/openapi/v2` before any `create -f` / `apply -f`: without it
/// they stopped with "the server could not find the requested resource". They find there that
/// the server validates fields, so they send `fieldValidation=Strict` and leave it to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27_and_1_28_create_and_apply_manifests() {
    for version in ["1.27", "1.28"] {
        let Some((_sim, k, _dir)) = start(version).await else {
            continue;
        };
        let manifest = |name: &str, extra: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}data:\n  a: \"1\"\n"
            )
        };
        let ok = |out: Output, said: &str| {
            assert!(
                out.ok && out.stdout.contains(said),
                "{version}: {} {}",
                out.stdout,
                out.stderr
            );
        };
        let stdin = |args: &'static [&'static str], text: String| {
            let k = &k;
            async move { k.run_with_stdin(args, Some(&text)).await }
        };
        ok(
            stdin(&["create", "-f", "-"], manifest("made", "")).await,
            "configmap/made created",
        );
        ok(
            stdin(&["apply", "-f", "-"], manifest("applied", "")).await,
            "configmap/applied created",
        );
        ok(
            stdin(&["apply", "--server-side", "-f", "-"], manifest("ssa", "")).await,
            "configmap/ssa serverside-applied",
        );
        let refused = stdin(&["create", "-f", "-"], manifest("odd", "bogus: 1\n")).await;
        assert!(
            !refused.ok && refused.stderr.contains(r#"unknown field "bogus""#),
            "{version}: {}",
            refused.stderr
        );
        let names = k.ok(&["get", "configmaps", "-o", "name"]).await;
        assert_eq!(
            lines_with(&names, "configmap/").len(),
            3,
            "{version}: {names}"
        );
    }
}
