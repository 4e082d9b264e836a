//! The agent against `mlxp sim` in its own process (`cargo bench --bench agent`;
//! MLXP_BENCH_SCALE=large by default, MLXP_BENCH_MODELS=500 Models added to the seeded ones).
//!
//! 1. Metric queries per evaluation, Prometheus as the source (a counting stand-in that
//!    answers empty vectors), with the seeded Models and with MLXP_BENCH_MODELS more.
//! 2. From a metric breach to the op: the agent's loop at a 5 s interval; a scripted source
//!    turns fraud-detector's canary from healthy to failing (and back) at a random moment
//!    of the interval; timed until the agent has recorded the analysis on the cluster.
//! 3. The agent's CPU seconds over 60 s of its loop (10 s interval) and its RSS after.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use kube::api::{Api, DynamicObject, PostParams};
use mlxp::agent::Agent;
use mlxp::agent::telemetry::Telemetry;
use mlxp::exec::Executor;
use mlxp_core::agent::Policy;
use mlxp_core::metrics::{
    BoxFuture, MetricsError, MetricsFrame, MetricsSource, Series, VersionTraffic,
};

#[path = "common/rss.rs"]
mod rss;
#[path = "common/sim_process.rs"]
mod sim_process;

use rss::{cpu_seconds, rss_mib};
use sim_process::SimProcess;

fn main() -> anyhow::Result<()> {
    mlxp::install_crypto_provider();
    let scale = std::env::var("MLXP_BENCH_SCALE").unwrap_or_else(|_| "large".into());
    let models: usize = std::env::var("MLXP_BENCH_MODELS")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(500);
    eprintln!("starting mlxp sim --scale {scale}…");
    let sim = SimProcess::start(&["--scale".to_string(), scale])?;
    eprintln!("mlxp sim listens on 127.0.0.1:{}", sim.port);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let client = kube::Client::try_from(sim.config().await?)?;
        let seeded = queries_per_evaluation(&client).await?;
        add_models(&client, models).await?;
        let more = queries_per_evaluation(&client).await?;
        println!("metric queries per evaluation: {seeded} with the seeded Models, {more} with {models} more");
        breach_to_op(&client).await?;
        cost(&client).await
    })
}

fn resource(kind: &str, plural: &str) -> kube::api::ApiResource {
    kube::api::ApiResource {
        group: "mlxp.io".into(),
        version: "v1alpha1".into(),
        api_version: "mlxp.io/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// `n` Models like churn-predictor, each with a Production version.
async fn add_models(client: &kube::Client, n: usize) -> anyhow::Result<()> {
    let models: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "serving", &resource("Model", "models"));
    let versions: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "serving",
        &resource("ModelVersion", "modelversions"),
    );
    let template = models.get("churn-predictor").await?;
    for i in 0..n {
        let name = format!("bench-model-{i}");
        let mut model = template.clone();
        model.metadata = kube::api::ObjectMeta {
            name: Some(name.clone()),
            namespace: Some("serving".into()),
            ..Default::default()
        };
        model.data["spec"]["route"]["name"] = serde_json::json!(name);
        models.create(&PostParams::default(), &model).await?;
        let version: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "mlxp.io/v1alpha1", "kind": "ModelVersion",
            "metadata": {"name": format!("{name}-v1"), "namespace": "serving"},
            "spec": {"model": name, "version": "v1", "stage": "Production", "metrics": {"accuracy": 0.9}},
        }))?;
        versions.create(&PostParams::default(), &version).await?;
    }
    Ok(())
}

/// A Prometheus that counts queries and answers each with an empty vector.
async fn counting_prometheus() -> anyhow::Result<(String, Arc<AtomicU64>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counted = counted.clone();
            let service = hyper::service::service_fn(move |_request| {
                counted.fetch_add(1, Ordering::SeqCst);
                async {
                    let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
                    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    Ok((url, count))
}

async fn queries_per_evaluation(client: &kube::Client) -> anyhow::Result<u64> {
    let (url, count) = counting_prometheus().await?;
    let mut config = mlxp::metrics::MetricsConfig::defaults();
    config.url = url;
    config.refresh = Duration::ZERO;
    let source = Arc::new(mlxp::metrics::Prometheus::new(&config)?);
    let mut agent = Agent::new(
        Executor::new(client.clone(), "bench".into(), None),
        source,
        Policy::default(),
        true,
        mlxp::exec::wall_clock(),
    );
    let snapshot = mlxp::cluster::snapshot_once(client.clone(), Duration::from_secs(300)).await?;
    let before = count.load(Ordering::SeqCst);
    agent.evaluate(&snapshot).await;
    Ok(count.load(Ordering::SeqCst) - before)
}

/// fraud-detector v2's traffic, healthy or failing as the bench says.
struct Scripted {
    failing: Arc<AtomicBool>,
}

impl MetricsSource for Scripted {
    fn frame(&self) -> BoxFuture<'_, Result<MetricsFrame, MetricsError>> {
        let error_ratio = if self.failing.load(Ordering::SeqCst) {
            0.08
        } else {
            0.001
        };
        Box::pin(async move {
            Ok(MetricsFrame {
                at: chrono::Utc::now(),
                gpus: Vec::new(),
                traffic: vec![VersionTraffic {
                    model: "fraud-detector".into(),
                    version: "v2".into(),
                    rps: 40.0,
                    error_ratio,
                    p50_seconds: Some(0.04),
                    p99_seconds: Some(0.2),
                }],
                quality: Vec::new(),
            })
        })
    }
    fn history(
        &self,
        _: &str,
        _: Duration,
        _: Duration,
    ) -> BoxFuture<'_, Result<Vec<Series>, MetricsError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn describe(&self) -> String {
        "scripted".into()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn breach_to_op(client: &kube::Client) -> anyhow::Result<()> {
    let interval = Duration::from_secs(5);
    let failing = Arc::new(AtomicBool::new(false));
    let telemetry = Arc::new(Telemetry::default());
    let agent = Agent::new(
        Executor::new(client.clone(), "bench".into(), None),
        Arc::new(Scripted {
            failing: failing.clone(),
        }),
        // Never rolled back: each flip is one more analysis recorded.
        Policy {
            interval,
            canary_failures: 1000,
            ..Policy::default()
        },
        false,
        mlxp::exec::wall_clock(),
    )
    .with_telemetry(telemetry.clone());
    let watch = mlxp::cluster::start(client.clone());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(mlxp::agent::run(agent, watch.subscribe(), false, stopped));
    while telemetry.evaluations() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut took = Vec::new();
    for round in 0..8u64 {
        // A moment of the interval that is not always the same.
        tokio::time::sleep(Duration::from_millis(700 * (round % 7) + 300)).await;
        let done = telemetry.ops_done("record-analysis");
        let breach = Instant::now();
        failing.store(round % 2 == 0, Ordering::SeqCst);
        while telemetry.ops_done("record-analysis") == done {
            anyhow::ensure!(
                breach.elapsed() < 4 * interval,
                "no op within {:?}",
                4 * interval
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        took.push(breach.elapsed());
    }
    took.sort();
    println!(
        "metric breach (or recovery) → its op recorded, interval {} s: p50 {:.2} s, max {:.2} s ({} flips; target ≤ interval + 2 s)",
        interval.as_secs(),
        percentile(&took, 0.5).as_secs_f64(),
        took[took.len() - 1].as_secs_f64(),
        took.len()
    );
    Ok(())
}

async fn cost(client: &kube::Client) -> anyhow::Result<()> {
    let telemetry = Arc::new(Telemetry::default());
    let agent = Agent::new(
        Executor::new(client.clone(), "bench".into(), None),
        Arc::new(Scripted {
            failing: Arc::new(AtomicBool::new(false)),
        }),
        Policy {
            interval: Duration::from_secs(10),
            ..Policy::default()
        },
        true,
        mlxp::exec::wall_clock(),
    )
    .with_telemetry(telemetry.clone());
    let started = Instant::now();
    let watch = mlxp::cluster::start(client.clone());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(mlxp::agent::run(agent, watch.subscribe(), false, stopped));
    while telemetry.evaluations() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let synced = started.elapsed();
    let cpu = cpu_seconds();
    tokio::time::sleep(Duration::from_secs(60)).await;
    println!(
        "agent (its watches and its loop, dry-run): first evaluation {:.1} s after start; CPU {:.2} s over 60 s ({} evaluations); RSS {:.0} MiB",
        synced.as_secs_f64(),
        cpu_seconds() - cpu,
        telemetry.evaluations(),
        rss_mib()
    );
    Ok(())
}
