//! End to end: a real Prometheus (Debian's package) scrapes the embedded cluster's
//! `/metrics` over HTTPS, and what it answers through its HTTP API agrees with the sim.
//!
//! `prometheus` is looked for on PATH. Missing: skipped with a printed reason, or a
//! failure when MLXP_REQUIRE_E2E=1 (set by CI, whose .ci/run installs it).

use std::path::PathBuf;
use std::time::Duration;

use mlxp_sim::{Sim, SimConfig};
use prometheus_http_query::Client as Prometheus;

fn prometheus_or_skip() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("prometheus"))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => Some(path),
        None if std::env::var("MLXP_REQUIRE_E2E").as_deref() == Ok("1") => {
            panic!("prometheus not found on PATH, and MLXP_REQUIRE_E2E=1 requires it")
        }
        None => {
            eprintln!(
                "skipped: prometheus not found on PATH (apt-get install prometheus; MLXP_REQUIRE_E2E=1 makes this a failure)"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The value of one instant-vector query, once Prometheus has it (bounded wait).
async fn query_value(prometheus: &Prometheus, query: &str) -> f64 {
    for _ in 0..120 {
        if let Ok(result) = prometheus.query(query).get().await
            && let Some(vector) = result.data().as_vector()
            && let Some(sample) = vector.first()
        {
            return sample.sample().value();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("Prometheus had no value for {query} within 30 s");
}

/// Prometheus scraping the sim every second, and its URL; the temp dir must outlive it.
async fn start_prometheus(
    binary: PathBuf,
    sim: &Sim,
) -> (tempfile::TempDir, tokio::process::Child, Prometheus, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: mlxp-sim\n    scheme: https\n    tls_config:\n      insecure_skip_verify: true\n    static_configs:\n      - targets: ['{}']\n",
            sim.addr()
        ),
    )
    .expect("config written");
    let port = free_port();
    let server = tokio::process::Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    let url = format!("http://127.0.0.1:{port}");
    let prometheus = Prometheus::try_from(url.as_str()).expect("client");
    (dir, server, prometheus, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_sims_gpu_metrics() {
    let Some(binary) = prometheus_or_skip() else {
        return;
    };
    // A standing clock: the sim's values do not move between the scrape and the check.
    let sim = Sim::start(SimConfig {
        manual_clock: true,
        ..SimConfig::default()
    })
    .await
    .expect("sim starts");
    let (_dir, mut server, prometheus, _) = start_prometheus(binary, &sim).await;

    // The sim's own view of one busy GPU and one free one.
    let samples = mlxp_sim::metrics::gpu_samples(sim.state(), sim.state().clock.now());
    let busy = samples
        .iter()
        .find(|s| s.pod.is_some())
        .expect("a GPU in use");
    let free = samples
        .iter()
        .find(|s| s.pod.is_none())
        .expect("a free GPU");
    for gpu in [busy, free] {
        let query = format!(
            "DCGM_FI_DEV_GPU_UTIL{{Hostname=\"{}\",gpu=\"{}\"}}",
            gpu.node, gpu.index
        );
        let scraped = query_value(&prometheus, &query).await;
        eprintln!("{query} = {scraped} (the sim: {})", gpu.util);
        assert_eq!(scraped, gpu.util, "{query}");
        let power = query_value(
            &prometheus,
            &format!("DCGM_FI_DEV_POWER_USAGE{{UUID=\"{}\"}}", gpu.uuid),
        )
        .await;
        assert_eq!(power, gpu.power_watts);
    }
    let total = query_value(&prometheus, "count(DCGM_FI_DEV_GPU_UTIL)").await;
    assert_eq!(total as usize, samples.len());
    let _ = server.kill().await;
}

/// `sum by (version) (rate(mlxp_requests_total[1m]))` for a model mid-canary follows its
/// HTTPRoute's 80/20 weights and the rates the sim serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_the_canary_split_of_requests() {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
    let Some(binary) = prometheus_or_skip() else {
        return;
    };
    // A running clock: rates need time to pass between scrapes.
    let sim = Sim::start(SimConfig::default()).await.expect("sim starts");
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    );
    let routes: Api<DynamicObject> = Api::namespaced_with(
        sim.client(false).await.expect("client"),
        "serving",
        &resource,
    );
    let route: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "fraud-detector", "labels": {"mlxp.io/model": "fraud-detector"}},
        "spec": {"rules": [{"backendRefs": [
            {"name": "fraud-detector-v1", "port": 8080, "weight": 80},
            {"name": "fraud-detector-v2", "port": 8080, "weight": 20},
        ]}]},
    }))
    .expect("route");
    routes
        .create(&PostParams::default(), &route)
        .await
        .expect("created");
    let (_dir, mut server, prometheus, url) = start_prometheus(binary, &sim).await;

    // rate(...[1m]) divides by the whole minute: wait until a minute of samples is in.
    let history = "min(count_over_time(mlxp_requests_total{model=\"fraud-detector\"}[1m]))";
    let mut samples = 0.0;
    for _ in 0..150 {
        samples = query_value(&prometheus, history).await;
        if samples >= 55.0 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(samples >= 55.0, "a minute of scrapes: {samples}");
    let query = "sum by (version) (rate(mlxp_requests_total{model=\"fraud-detector\"}[1m]))";
    let mut rates = std::collections::BTreeMap::new();
    if let Ok(result) = prometheus.query(query).get().await
        && let Some(vector) = result.data().as_vector()
    {
        for sample in vector {
            let version = sample.metric().get("version").cloned().unwrap_or_default();
            rates.insert(version, sample.sample().value());
        }
    }
    let (Some(v1), Some(v2)) = (rates.get("v1").copied(), rates.get("v2").copied()) else {
        panic!("both versions have a rate: {rates:?}");
    };
    assert!((3.5..4.5).contains(&(v1 / v2)), "80/20 weights: {rates:?}");
    let served = {
        let traffic = sim.state().traffic.lock().expect("traffic");
        traffic.rps("serving", "fraud-detector", "v1")
            + traffic.rps("serving", "fraud-detector", "v2")
    };
    let scraped = v1 + v2;
    eprintln!("{query} = {rates:?}; sum {scraped:.1} req/s (the sim serves {served:.1})");
    assert!(
        (scraped - served).abs() / served < 0.2,
        "Prometheus {scraped:.1} req/s vs the sim's {served:.1}"
    );

    // The cockpit's opening history comes from range queries of the same numbers.
    let source = mlxp::metrics::Prometheus::new(&mlxp::metrics::MetricsConfig {
        url,
        ..mlxp::metrics::MetricsConfig::defaults()
    })
    .expect("a source");
    use mlxp::metrics::MetricsSource;
    let frames = source
        .recent(Duration::from_secs(120), Duration::from_secs(5))
        .await
        .expect("recent frames");
    let last = frames.last().expect("at least one frame");
    let rps = |version: &str| {
        last.traffic
            .iter()
            .find(|t| t.model == "fraud-detector" && t.version == version)
            .map(|t| t.rps)
    };
    let (Some(v1), Some(v2)) = (rps("v1"), rps("v2")) else {
        panic!("both versions in the last recent frame: {:?}", last.traffic);
    };
    eprintln!(
        "recent: {} frames; the last at {} has fraud-detector v1 {v1:.1} / v2 {v2:.1} req/s",
        frames.len(),
        last.at
    );
    assert!((3.5..4.5).contains(&(v1 / v2)), "80/20 in the history too");
    let _ = server.kill().await;
}

/// `mlxp get gpus -o json --prometheus URL`, run as a user would, reports the utilisation
/// the cluster has for every GPU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlxp_get_gpus_reports_what_prometheus_scraped() {
    let Some(binary) = prometheus_or_skip() else {
        return;
    };
    let sim = Sim::start(SimConfig {
        manual_clock: true,
        ..SimConfig::default()
    })
    .await
    .expect("sim starts");
    let (dir, mut server, prometheus, url) = start_prometheus(binary, &sim).await;
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let samples = mlxp_sim::metrics::gpu_samples(sim.state(), sim.state().clock.now());
    let mut scraped = 0.0;
    for _ in 0..120 {
        scraped = query_value(&prometheus, "count(DCGM_FI_DEV_GPU_UTIL)").await;
        if scraped as usize == samples.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(scraped as usize, samples.len(), "Prometheus has every GPU");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_mlxp"))
        .args([
            "get",
            "gpus",
            "-o",
            "json",
            "--prometheus",
            &url,
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .await
        .expect("mlxp runs");
    assert!(
        output.status.success(),
        "mlxp get failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let gpus: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(gpus.len(), samples.len());
    for sample in &samples {
        let reported = gpus
            .iter()
            .find(|g| {
                g["node"] == sample.node.as_str() && g["gpu"] == sample.index.to_string().as_str()
            })
            .unwrap_or_else(|| panic!("{}/{} reported", sample.node, sample.index));
        assert_eq!(
            reported["util"].as_f64(),
            Some(sample.util),
            "{}/{}",
            sample.node,
            sample.index
        );
        assert_eq!(reported["pod"].is_string(), sample.pod.is_some());
    }
    eprintln!(
        "mlxp get gpus: {} GPUs, utilisation as in the cluster; first: {}",
        gpus.len(),
        gpus[0]
    );
    let _ = server.kill().await;
}
