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

/// A write carried out whose answer never comes back (the connection closed before it):
/// the op fails saying it may have been made, and it is not sent again, so one Job, not two.
#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_sent_twice_and_says_it_may_have_been_made() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
        .await
        .expect("a snapshot");
    let jobs =
        kube::Api::<k8s_openapi::api::batch::v1::Job>::namespaced(client.clone(), "training");
    let runs = || async {
        jobs.list(&Default::default())
            .await
            .expect("jobs")
            .items
            .into_iter()
            .filter_map(|j| j.metadata.name)
            .filter(|n| n.starts_with("train-churn-predictor-"))
            .collect::<Vec<_>>()
    };
    let before = runs().await;
    let namespace = mlxp_core::ops::model_namespace(&snapshot, "churn-predictor", None)
        .expect("the model's namespace");
    let op = Op::Train {
        namespace,
        model: "churn-predictor".into(),
        overrides: Default::default(),
        job: None,
    };
    let executor = Executor::new(client.clone(), "mlxp-sim".into(), None);
    let creates = || {
        p.sim
            .recorded_requests()
            .into_iter()
            .filter(|r| r.verb == "create" && r.resource == "jobs")
            .count()
    };
    // Answered: how many creates of a Job the op sends (its dry run, then the Job).
    p.sim.record_requests();
    executor
        .run(&op, &snapshot, Mode::Apply)
        .await
        .expect("answered, made");
    let answered = creates();
    let before = [before, runs().await].concat();
    let before: std::collections::BTreeSet<String> = before.into_iter().collect();

    // Its answer lost: the same requests, none sent again.
    let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
        .await
        .expect("a snapshot");
    p.sim.lose_answers(1);
    p.sim.record_requests();
    let error = executor
        .run(&op, &snapshot, Mode::Apply)
        .await
        .expect_err("no answer");
    let lost = creates();
    let after: std::collections::BTreeSet<String> = runs().await.into_iter().collect();
    let made: Vec<_> = after.difference(&before).collect();
    println!("lost answer: {error}; creates sent: {lost} (answered: {answered}); made: {made:?}");
    assert_eq!(lost, answered, "sent as often as when answered, not again");
    assert_eq!(made.len(), 1, "made once, on the cluster: {made:?}");
    assert!(
        error.to_string().contains("may have been made"),
        "says the outcome is unknown: {error}"
    );
}
