//! The `mlxp` binary as a user runs it: flags where kubectl takes them, errors that say what
//! is wrong and what to do, `mlxp get` against the embedded cluster, in a pipe too.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use mlxp_sim::{Sim, SimConfig};

/// Runs `mlxp` with `args`, without the user's config or kubeconfig: `home` is its $HOME.
async fn mlxp(home: &Path, args: &[&str]) -> Output {
    command(home, args).output().await.expect("mlxp runs")
}

fn command(home: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mlxp"));
    command
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A basic embedded cluster on a standing clock.
/// The basic cluster and its kubeconfig, written in a directory of its own.
async fn basic_with_kubeconfig() -> (tempfile::TempDir, Sim, std::path::PathBuf) {
    let home = tempfile::tempdir().expect("home");
    let sim = basic().await;
    let file = home.path().join("sim.kubeconfig");
    sim.write_kubeconfig(&file).expect("kubeconfig");
    (home, sim, file)
}

async fn basic() -> Sim {
    Sim::start(SimConfig {
        manual_clock: true,
        ..Default::default()
    })
    .await
    .expect("sim starts")
}

/// Writes `yaml` as a kubeconfig in `dir`.
fn kubeconfig(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).expect("kubeconfig written");
    path
}

/// The sim's kubeconfig with one field changed (it is JSON, which is YAML).
fn altered(sim: &Sim, change: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut config: serde_json::Value =
        serde_json::from_str(&sim.kubeconfig_yaml()).expect("kubeconfig is JSON");
    change(&mut config);
    config.to_string()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[tokio::test]
async fn cluster_flags_are_taken_before_and_after_the_verb_and_on_the_bare_command() {
    let (home, _sim, file) = basic_with_kubeconfig().await;
    let file = path_str(&file);
    for args in [
        vec!["--kubeconfig", file, "get", "nodes", "-o", "json"],
        vec!["get", "nodes", "--kubeconfig", file, "-o", "json"],
        vec![
            "--context",
            "mlxp-sim-readonly",
            "get",
            "nodes",
            "--kubeconfig",
            file,
        ],
        vec!["-n", "default", "--kubeconfig", file, "get", "jobs"],
        vec!["get", "jobs", "-n", "default", "--kubeconfig", file],
    ] {
        let output = mlxp(home.path(), &args).await;
        assert!(
            output.status.success(),
            "mlxp {}: {}",
            args.join(" "),
            stderr(&output)
        );
    }
    // The bare command (the cockpit) takes them too: here it stops at the missing file.
    let missing = home.path().join("missing.kubeconfig");
    let output = mlxp(home.path(), &["--kubeconfig", path_str(&missing)]).await;
    let text = stderr(&output);
    assert!(!output.status.success());
    assert!(!text.contains("unexpected argument"), "{text}");
    assert!(text.contains(path_str(&missing)), "{text}");
    // The demo runs its own cluster: a kubeconfig given to it is an error, not ignored.
    let output = mlxp(home.path(), &["demo", "--kubeconfig", file]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--kubeconfig"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn get_keeps_to_the_namespace_asked_for() {
    let home = tempfile::tempdir().expect("home");
    let sim = common::platform_at(common::eight_am()).await;
    let file = home.path().join("sim.kubeconfig");
    sim.write_kubeconfig(&file).expect("kubeconfig");
    let output = mlxp(
        home.path(),
        &[
            "get",
            "models",
            "-n",
            "nowhere",
            "-o",
            "json",
            "--kubeconfig",
            path_str(&file),
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "[]");
}

#[tokio::test]
async fn without_a_kubeconfig_it_says_which_file_is_missing_and_offers_the_demo() {
    let home = tempfile::tempdir().expect("home");
    let output = mlxp(home.path(), &[]).await;
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let default = home.path().join(".kube").join("config");
    assert!(text.contains(path_str(&default)), "{text}");
    assert!(text.contains("$KUBECONFIG"), "{text}");
    assert!(text.contains("mlxp demo"), "{text}");
    assert!(!text.contains("'\""), "the path is quoted twice: {text}");
    assert!(
        text.matches("No such file").count() <= 1,
        "said twice: {text}"
    );

    // $KUBECONFIG naming a file that is not there: that file is named.
    let missing = home.path().join("gone.kubeconfig");
    let output = command(home.path(), &["get", "nodes"])
        .env("KUBECONFIG", &missing)
        .output()
        .await
        .expect("mlxp runs");
    let text = stderr(&output);
    assert!(!output.status.success());
    assert!(text.contains(path_str(&missing)), "{text}");
    assert!(text.contains("$KUBECONFIG"), "{text}");
}

/// `mlxp get nodes` on `kubeconfig`: it must fail within a few seconds, saying `cause`.
async fn get_fails_fast_naming(home: &Path, kubeconfig: &Path, cause: &str) {
    let started = Instant::now();
    let output = mlxp(
        home,
        &["get", "nodes", "--kubeconfig", path_str(kubeconfig)],
    )
    .await;
    let took = started.elapsed();
    let text = stderr(&output);
    assert!(!output.status.success(), "{text}");
    assert!(took < Duration::from_secs(15), "took {took:?}: {text}");
    assert!(text.contains(cause), "{cause} in: {text}");
}

#[tokio::test]
async fn get_on_a_refused_port_fails_at_once_naming_it() {
    let home = tempfile::tempdir().expect("home");
    let sim = basic().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let yaml = altered(&sim, |c| {
        c["clusters"][0]["cluster"]["server"] = format!("https://127.0.0.1:{port}").into();
    });
    let file = kubeconfig(home.path(), "refused.kubeconfig", &yaml);
    get_fails_fast_naming(home.path(), &file, "connection refused").await;
}

#[tokio::test]
async fn get_with_a_refused_token_fails_at_once_naming_it() {
    let home = tempfile::tempdir().expect("home");
    let sim = basic().await;
    let yaml = altered(&sim, |c| {
        c["users"][0]["user"]["token"] = "not-a-token-the-cluster-knows".into();
    });
    let file = kubeconfig(home.path(), "401.kubeconfig", &yaml);
    get_fails_fast_naming(home.path(), &file, "Unauthorized").await;
}

#[tokio::test]
async fn get_on_a_server_of_an_unknown_ca_fails_at_once_naming_it() {
    let home = tempfile::tempdir().expect("home");
    let (sim, other) = (basic().await, basic().await);
    // This sim's CA and token, the other sim's server: its certificate is not trusted.
    let yaml = altered(&sim, |c| {
        c["clusters"][0]["cluster"]["server"] = other.url().into();
    });
    let file = kubeconfig(home.path(), "unknown-ca.kubeconfig", &yaml);
    get_fails_fast_naming(
        home.path(),
        &file,
        "x509: certificate signed by unknown authority",
    )
    .await;
}

#[tokio::test]
async fn get_into_a_closed_pipe_exits_quietly() {
    let (home, _sim, file) = basic_with_kubeconfig().await;
    // As `mlxp get nodes | head -n 0`: the reader is gone before anything is written.
    let child = command(
        home.path(),
        &["get", "nodes", "--kubeconfig", path_str(&file)],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("mlxp starts");
    let mut child = child;
    drop(child.stdout.take());
    let output = child.wait_with_output().await.expect("mlxp ends");
    let text = stderr(&output);
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(output.status.code(), Some(0), "{text}");
}

#[tokio::test]
async fn an_unknown_context_is_answered_with_those_there_are() {
    let (home, _sim, file) = basic_with_kubeconfig().await;
    let file = path_str(&file);
    for args in [
        vec!["--context", "nope", "--kubeconfig", file],
        vec!["get", "nodes", "--context", "nope", "--kubeconfig", file],
    ] {
        let output = mlxp(home.path(), &args).await;
        let text = stderr(&output);
        assert!(!output.status.success(), "{text}");
        assert!(text.contains("nope"), "{text}");
        assert!(text.contains("mlxp-sim, mlxp-sim-readonly"), "{text}");
    }
}

#[tokio::test]
async fn a_malformed_kubeconfig_is_named_by_its_path() {
    let home = tempfile::tempdir().expect("home");
    let file = kubeconfig(home.path(), "broken.kubeconfig", "clusters: [\n");
    let output = mlxp(
        home.path(),
        &["get", "nodes", "--kubeconfig", path_str(&file)],
    )
    .await;
    let text = stderr(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains(path_str(&file)), "{text}");
    assert!(!text.contains("<input>"), "{text}");
}

#[tokio::test]
async fn the_agent_without_a_cluster_says_what_to_give_it() {
    let home = tempfile::tempdir().expect("home");
    let output = mlxp(home.path(), &["agent", "--once"]).await;
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.starts_with("mlxp: no kubeconfig: "), "{text}");
    assert!(text.contains("--kubeconfig FILE"), "{text}");
    assert_eq!(text.lines().count(), 1, "one line: {text}");
}

#[tokio::test]
async fn get_tables_are_for_people_and_failed_jobs_say_when_and_why() {
    let home = tempfile::tempdir().expect("home");
    let sim = common::platform_at(common::eight_am()).await;
    let file = home.path().join("sim.kubeconfig");
    sim.write_kubeconfig(&file).expect("kubeconfig");
    let file = path_str(&file);
    for what in [
        "pools", "nodes", "jobs", "queues", "models", "canaries", "alerts",
    ] {
        let output = mlxp(home.path(), &["get", what, "--kubeconfig", file]).await;
        let text = stdout(&output);
        assert!(output.status.success(), "{what}: {}", stderr(&output));
        for json in ["[{", "{\"", "[\"", "[]"] {
            assert!(
                !text.contains(json),
                "JSON ({json}) in the {what} table:\n{text}"
            );
        }
    }

    let output = mlxp(
        home.path(),
        &["get", "jobs", "-o", "json", "--kubeconfig", file],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect("json");
    let failed: Vec<&serde_json::Value> = jobs.iter().filter(|j| j["state"] == "Failed").collect();
    assert!(!failed.is_empty(), "the platform has failed jobs: {jobs:?}");
    for job in &failed {
        assert!(job["finished"].is_string(), "when it failed: {job}");
        assert!(job["reason"].is_string(), "why it failed: {job}");
    }
    let table = stdout(&mlxp(home.path(), &["get", "jobs", "--kubeconfig", file]).await);
    assert!(
        table.lines().next().is_some_and(|h| h.contains("REASON")),
        "{table}"
    );
    for job in &failed {
        let name = job["name"].as_str().expect("name");
        let line = table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} in:\n{table}"));
        let reason = job["reason"].as_str().expect("reason");
        let first_word = reason.split_whitespace().next().expect("a word");
        assert!(line.contains(first_word), "{reason} in: {line}");
        let finished = job["finished"].as_str().expect("finished");
        assert!(line.contains(finished), "{finished} in: {line}");
    }
}

/// Without metrics `get alerts` gives the alerts the objects decide and says the ones the
/// metrics would decide are unknown: never "all clear" while blind.
#[tokio::test]
async fn get_alerts_without_metrics_says_what_it_cannot_see() {
    let home = tempfile::tempdir().expect("home");
    let sim = common::platform_at(common::eight_am()).await;
    let file = home.path().join("sim.kubeconfig");
    sim.write_kubeconfig(&file).expect("kubeconfig");
    let file = path_str(&file);
    let output = mlxp(
        home.path(),
        &["get", "alerts", "-o", "json", "--kubeconfig", file],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["all_clear"], false, "{report}");
    assert_eq!(report["unknown"][0]["kind"], "no_metrics", "{report}");
    let alerts = report["alerts"].as_array().expect("alerts");
    let kinds: Vec<&str> = alerts.iter().filter_map(|a| a["kind"].as_str()).collect();
    assert!(kinds.contains(&"failed_jobs"), "{report}");
    assert!(!kinds.contains(&"idle_allocated"), "{report}");
    for alert in alerts {
        assert!(
            alert["text"].is_string() && alert["figures"].is_object(),
            "{alert}"
        );
    }

    let table = stdout(&mlxp(home.path(), &["get", "alerts", "--kubeconfig", file]).await);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines
            .first()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["SEVERITY", "KIND", "ALERT"]),
        "{table}"
    );
    assert_eq!(
        lines.last(),
        Some(&"unknown: no metrics: idle GPUs, drift and errors"),
        "{table}"
    );
}
