//! Alerts to webhooks, tested against a local receiver: a Slack-compatible body and a
//! generic JSON one per alert, sent once while it lasts (not at every evaluation), a 500
//! from the receiver tried again.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::ops::platform;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mlxp::agent::Agent;
use mlxp::agent::alerts::{AlertConfig, Format, Webhook};
use mlxp::agent::telemetry::Telemetry;
use mlxp::cluster::snapshot_once;
use mlxp::exec::Executor;
use mlxp_core::agent::Policy;
use serde_json::Value;

/// A receiver that keeps (path, body) of every POST; the first one answered 500.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let got: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0u32));
    let kept = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (kept, calls) = (kept.clone(), calls.clone());
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let (kept, calls) = (kept.clone(), calls.clone());
                    async move {
                        let path = request.uri().path().to_string();
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .expect("body")
                            .to_bytes();
                        let first = {
                            let mut n = calls.lock().expect("lock");
                            *n += 1;
                            *n == 1
                        };
                        let mut response = hyper::Response::new(Full::new(Bytes::new()));
                        if first {
                            *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                        } else {
                            let value = serde_json::from_slice(&body).expect("JSON");
                            kept.lock().expect("lock").push((path, value));
                        }
                        Ok::<_, Infallible>(response)
                    }
                },
            );
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_alert_goes_once_to_each_webhook_and_a_failed_send_is_tried_again() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let (url, got) = receiver().await;
    let state = p.sim.state().clone();
    let telemetry = Arc::new(Telemetry::default());
    let mut agent = Agent::new(
        Executor::new(client.clone(), "mlxp-sim".into(), None),
        Arc::new(common::metrics::Down),
        Policy::default(),
        false,
        Arc::new(move || state.clock.now()),
    )
    .with_telemetry(telemetry.clone())
    .with_alerts(AlertConfig {
        webhooks: vec![
            Webhook {
                url: format!("{url}/slack"),
                format: Format::Slack,
            },
            Webhook {
                url: format!("{url}/generic"),
                format: Format::Json,
            },
        ],
        backoff: Duration::from_millis(20),
        ..AlertConfig::default()
    });
    // Five evaluations: the canary is held (no numbers) at every one.
    for _ in 0..5 {
        p.sim.advance(Duration::from_secs(60));
        let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
            .await
            .expect("a snapshot");
        agent.evaluate(&snapshot).await;
    }
    let held = "serving/fraud-detector v2";
    let of = |path: &str| -> Vec<Value> {
        got.lock()
            .expect("lock")
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
            .collect()
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        while of("/slack").is_empty() || of("/generic").is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("both webhooks called within 10 s");
    let slack: Vec<String> = of("/slack")
        .iter()
        .map(|v| v["text"].as_str().unwrap_or_default().to_string())
        .filter(|t| t.contains(held))
        .collect();
    assert_eq!(
        slack,
        [format!(
            "mlxp agent · canary · {held}: held: metrics server unreachable: connection refused; no step and no rollback"
        )],
        "once, though held at each of five evaluations"
    );
    let generic: Vec<Value> = of("/generic")
        .into_iter()
        .filter(|v| v["subject"] == held)
        .collect();
    assert_eq!(generic.len(), 1, "{generic:?}");
    assert_eq!(generic[0]["policy"], "canary");
    let metrics = telemetry.render();
    assert!(
        metrics.contains(&format!(
            "mlxp_agent_alert{{policy=\"canary\",subject=\"{held}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("mlxp_agent_webhook_sends_total{result=\"sent\"}"),
        "{metrics}"
    );
}
