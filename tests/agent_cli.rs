//! `mlxp agent` as a script or a Deployment runs it: against the embedded cluster through
//! its kubeconfig, one JSON line per decision on stderr; `--dry-run` changes nothing.

mod common;

use common::ops::{platform, registry, text};
use serde_json::Value;

fn lines(stderr: &[u8]) -> Vec<Value> {
    text(stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

async fn version_exists(sim: &mlxp_sim::Sim, name: &str) -> bool {
    let client = sim.client(false).await.expect("client");
    registry(client, "ModelVersion", "modelversions")
        .get_opt(name)
        .await
        .expect("read")
        .is_some()
}

#[tokio::test]
async fn agent_once_decides_in_json_lines_and_dry_run_changes_nothing() {
    let p = platform().await;
    let out = p.mlxp(&["agent", "--once", "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let decisions = lines(&out.stderr);
    let register = decisions
        .iter()
        .find(|d| d["subject"] == "serving/churn-predictor run train-churn-predictor-r7")
        .unwrap_or_else(|| panic!("a decision on run r7: {decisions:#?}"));
    assert_eq!(register["policy"], "pipeline");
    assert_eq!(register["dry_run"], true);
    assert!(
        register["result"]
            .as_str()
            .is_some_and(|r| r.starts_with("dry-run: churn-predictor v7 registered")),
        "{register}"
    );
    assert!(
        !version_exists(&p.sim, "churn-predictor-v7").await,
        "dry-run made it"
    );
    // No metrics source configured: the canary is held, and says why.
    let held = decisions
        .iter()
        .find(|d| d["subject"] == "serving/fraud-detector v2")
        .expect("the canary's decision");
    assert!(
        held["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("held: no metrics source"))
    );
    assert!(held.get("op").is_none(), "{held}");

    let out = p.mlxp(&["agent", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(version_exists(&p.sim, "churn-predictor-v7").await);
    let audit = common::ops::audit_lines(&p.audit_path());
    assert!(
        audit
            .iter()
            .any(|l| l.op["op"] == "register" && l.result == "done"),
        "an audit line for the register"
    );
}
