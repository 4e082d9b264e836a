//! The agent's HTTP port against the embedded cluster: a CI pipeline's authorised POST
//! creates exactly one Job; a second while it runs is 409; a missing or wrong token is 401
//! and changes nothing; /metrics counts it, /healthz and /readyz answer.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::ops::platform;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams};
use mlxp::agent::http::{Port, bind, serve};
use mlxp::agent::telemetry::Telemetry;
use mlxp::exec::Executor;
use serde_json::Value;
use tokio::sync::watch;

const TOKEN: &str = "s3cret-token";

async fn churn_jobs(client: &kube::Client) -> Vec<String> {
    Api::<Job>::namespaced(client.clone(), "training")
        .list(&ListParams::default().labels("mlxp.io/model=churn-predictor"))
        .await
        .expect("jobs")
        .items
        .into_iter()
        .filter_map(|j| j.metadata.name)
        .collect()
}

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = http.post(url).body(body.to_string());
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trigger_creates_one_job_for_a_valid_token_and_nothing_otherwise() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let watch = mlxp::cluster::start(client.clone());
    let mut snapshots = watch.subscribe();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !snapshots.borrow_and_update().complete() {
            snapshots.changed().await.expect("watching");
        }
    })
    .await
    .expect("synced");
    let telemetry = Arc::new(Telemetry::default());
    let listener = bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bound");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (_stop, stopped) = watch::channel(false);
    tokio::spawn(serve(
        listener,
        Port {
            executor: Executor::new(client.clone(), "mlxp-sim".into(), None),
            snapshots: watch.subscribe(),
            telemetry: telemetry.clone(),
            token: Some(TOKEN.into()),
        },
        stopped,
    ));
    let http = reqwest::Client::new();
    let retrain = format!("{base}/v1/models/churn-predictor/retrain");
    let before = churn_jobs(&client).await;

    for token in [None, Some("wrong"), Some("s3cret-toke")] {
        let (status, body) = post(&http, &retrain, token, "").await;
        assert_eq!(status, 401, "{token:?}: {body}");
    }
    assert_eq!(churn_jobs(&client).await, before, "nothing changed");

    let (status, body) = post(&http, &retrain, Some(TOKEN), "").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["job"], "training/train-churn-predictor-r8", "{body}");
    let after = churn_jobs(&client).await;
    assert_eq!(after.len(), before.len() + 1, "{after:?}");

    let (status, body) = post(&http, &retrain, Some(TOKEN), "").await;
    assert_eq!(status, 409, "a second while one runs: {body}");
    assert_eq!(churn_jobs(&client).await.len(), after.len());

    // /train takes overrides, right after: its run is the next one, not r8 again.
    let train = format!("{base}/v1/models/churn-predictor/train");
    let (status, body) = post(&http, &train, Some(TOKEN), r#"{"gpus": 4, "spot": true}"#).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["job"], "training/train-churn-predictor-r9", "{body}");
    // A bad one is refused before anything is sent.
    let (status, body) = post(&http, &train, Some(TOKEN), r#"{"gpus": "abc"}"#).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(&http, &train, Some(TOKEN), r#"{"gpus": 64}"#).await;
    assert_eq!(status, 409, "more GPUs than a node holds: {body}");
    let (status, body) = post(
        &http,
        &format!("{base}/v1/models/nope/retrain"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, 404, "{body}");

    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("mlxp_agent_ops_total{op=\"retrain\",result=\"done\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mlxp_agent_ops_total{op=\"retrain\",result=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mlxp_agent_ops_total{op=\"train\",result=\"done\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("mlxp_agent_errors_total 2"), "{metrics}");
    assert!(!metrics.contains(TOKEN), "the token is never shown");

    let status = |path: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.get(format!("{base}{path}"))
                .send()
                .await
                .expect("an answer")
                .status()
                .as_u16()
        }
    };
    assert_eq!(status("/healthz").await, 200);
    assert_eq!(status("/readyz").await, 503, "no evaluation yet");
    telemetry.evaluated(&[], Duration::from_millis(3), 0.0);
    assert_eq!(status("/readyz").await, 200);
}
