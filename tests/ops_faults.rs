//! Ops through a fault: a server that takes requests and never answers is reported within
//! the executor's patience, not waited on for kube's 295 s, and nothing is sent behind the
//! user's back once it answers again.

mod common;

use std::time::{Duration, Instant};

use common::ops::{platform, routes};
use common::proxy::FaultProxy;
use mlxp::cluster::snapshot_once;
use mlxp::exec::{Executor, Mode};
use mlxp_core::ops::Op;

#[tokio::test]
async fn an_op_to_a_frozen_server_fails_within_its_patience_and_changes_nothing() {
    let p = platform().await;
    let proxy = FaultProxy::start(p.sim.addr()).await;
    let mut config = p.sim.config(false).await.expect("config");
    config.cluster_url = format!("https://{}", proxy.addr()).parse().expect("url");
    let client = kube::Client::try_from(config).expect("client");
    let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
        .await
        .expect("a snapshot");
    let weights = || async {
        let route = routes(&p.sim)
            .await
            .get("fraud-detector")
            .await
            .expect("route");
        route.data["spec"]["rules"][0]["backendRefs"].clone()
    };
    let before = weights().await;

    proxy.freeze();
    let executor =
        Executor::new(client, "mlxp-sim".into(), None).with_patience(Duration::from_secs(1));
    let op = Op::SetWeights {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        weights: vec![("v1".into(), 50), ("v2".into(), 50)],
        force: false,
    };
    let started = Instant::now();
    let error = executor
        .run(&op, &snapshot, Mode::Apply)
        .await
        .expect_err("no answer, no change");
    let took = started.elapsed();
    assert!(
        error.to_string().contains("no answer"),
        "says there was no answer: {error}"
    );
    assert!(
        took < Duration::from_secs(10),
        "within its patience: {took:?}"
    );

    // The server answers again: the op was not sent behind the user's back.
    proxy.resume();
    assert_eq!(weights().await, before);
}
