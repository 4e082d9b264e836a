//! Least privilege: the agent does its whole job on the embedded cluster — watches, the
//! pipeline, a canary stepped and promoted, one rolled back, a drift retrain, the lease,
//! its token from a Secret, the trigger — while the server records every request; each is
//! allowed by the roles in config/deploy, and the roles grant nothing it did not use.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::ops::{platform, registry};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use mlxp::agent::Agent;
use mlxp::agent::lease::{LeaseConfig, elect};
use mlxp::cluster::snapshot_once;
use mlxp::exec::Executor;
use mlxp_core::agent::Policy;
use mlxp_core::ops::Op;
use mlxp_sim::api::Access;
use serde_json::{Value, json};
use tokio::sync::watch;

/// (group, resource, verb, namespace the rule is limited to, resource names).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    group: String,
    resource: String,
    verb: String,
    namespace: Option<String>,
    names: Vec<String>,
}

fn grants() -> Vec<Grant> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/deploy");
    let mut out = Vec::new();
    for file in ["20-clusterrole.yaml", "40-role.yaml"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("the role");
        for doc in text.split("\n---\n") {
            let role: Value = serde_saphyr::from_str(doc).expect("YAML");
            if !matches!(role["kind"].as_str(), Some("ClusterRole" | "Role")) {
                continue;
            }
            let namespace = role["metadata"]["namespace"].as_str().map(String::from);
            for rule in role["rules"].as_array().expect("rules") {
                let list = |key: &str| -> Vec<String> {
                    rule[key]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                for group in list("apiGroups") {
                    for resource in list("resources") {
                        for verb in list("verbs") {
                            out.push(Grant {
                                group: group.clone(),
                                resource: resource.clone(),
                                verb,
                                namespace: namespace.clone(),
                                names: list("resourceNames"),
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

fn allows(grant: &Grant, access: &Access) -> bool {
    grant.group == access.group
        && grant.resource == access.resource
        && grant.verb == access.verb
        && grant
            .namespace
            .as_ref()
            .is_none_or(|ns| access.namespace.as_ref() == Some(ns))
        && (grant.names.is_empty()
            || access
                .name
                .as_ref()
                .is_some_and(|n| grant.names.contains(n)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_the_agent_is_granted_and_every_grant_is_used() {
    let p = platform().await;
    let admin = p.sim.client(false).await.expect("client");
    // Set up as an admin would, before recording: the token's Secret, a drifting model.
    Api::<Secret>::namespaced(admin.clone(), "mlxp-system")
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "mlxp-agent-token", "namespace": "mlxp-system"},
                "stringData": {"token": "t0ken"}, "data": {"token": "dDBrZW4="},
            }))
            .expect("a Secret"),
        )
        .await
        .expect("the token's Secret");
    let models = registry(admin.clone(), "Model", "models");
    models
        .patch(
            "churn-predictor",
            &PatchParams::default(),
            &Patch::Merge(
                &json!({"metadata": {"annotations": {"sim.mlxp.io/drifting": "true"}},
                                  "spec": {"drift": {"threshold": 0.08}}}),
            ),
        )
        .await
        .expect("drifting");

    p.sim.record_requests();
    let client = p.sim.client(false).await.expect("client");
    let args = mlxp::agent::start::AgentArgs {
        token_secret: Some("mlxp-agent-token".into()),
        ..Default::default()
    };
    let token = mlxp::agent::start::token(&client, "mlxp-system", &args)
        .await
        .expect("the token");
    assert_eq!(token.as_deref(), Some("t0ken"));
    let watch_handle = mlxp::cluster::start(client.clone());
    let (stop, stopped) = watch::channel(false);
    let election = elect(
        client.clone(),
        LeaseConfig {
            renew_every: Duration::from_millis(200),
            ..LeaseConfig::new("mlxp-system", "agent-0".into())
        },
        stopped,
    );
    let leading = election.leading.clone();
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut l = leading.clone();
        l.wait_for(|l| *l).await.expect("elected");
    })
    .await
    .expect("leading within 5 s");
    let state = p.sim.state().clone();
    let mut agent = Agent::new(
        Executor::new(client.clone(), "mlxp-sim".into(), None),
        Arc::new(mlxp_sim::metrics_source::Embedded::new(state.clone())),
        // The training queue held the whole day: the hold is part of the job too.
        Policy {
            hold_queues: vec!["training".into()],
            hold_hours: Some((0, 24)),
            ..Policy::default()
        },
        false,
        Arc::new(move || state.clock.now()),
    )
    .with_lease(leading);
    let mut done: BTreeSet<&'static str> = BTreeSet::new();
    for _ in 0..400 {
        p.sim.advance(Duration::from_secs(120));
        let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
            .await
            .expect("a snapshot");
        for record in agent.evaluate(&snapshot).await {
            if let (Some(op), Some(Ok(_))) = (&record.decision.op, &record.result) {
                done.insert(op.name());
                if matches!(op, Op::Promote { .. })
                    && record
                        .result
                        .as_ref()
                        .is_some_and(|r| r.as_ref().is_ok_and(|e| e.contains(" promoted: ")))
                {
                    done.insert("promoted");
                }
            }
        }
        if [
            "rollback",
            "retrain",
            "promoted",
            "deploy",
            "record-analysis",
        ]
        .iter()
        .all(|op| done.contains(op))
        {
            break;
        }
    }
    assert!(
        [
            "rollback",
            "retrain",
            "promoted",
            "deploy",
            "record-analysis",
            "register",
            "validate",
            "start-canary"
        ]
        .iter()
        .all(|op| done.contains(op)),
        "the agent's whole job: {done:?}"
    );
    stop.send_replace(true);
    election.ended(Duration::from_secs(3)).await;
    drop(watch_handle);

    let recorded = p.sim.recorded_requests();
    let grants = grants();
    let refused: BTreeSet<String> = recorded
        .iter()
        .filter(|a| !grants.iter().any(|g| allows(g, a)))
        .map(|a| format!("{} {}/{} in {:?}", a.verb, a.group, a.resource, a.namespace))
        .collect();
    assert!(refused.is_empty(), "not granted: {refused:#?}");
    let unused: Vec<String> = grants
        .iter()
        .filter(|g| !recorded.iter().any(|a| allows(g, a)))
        .map(|g| format!("{} {}/{}", g.verb, g.group, g.resource))
        .collect();
    assert!(unused.is_empty(), "granted, never used: {unused:#?}");
}
