//! Timed scale run of the embedded API server (`cargo bench --bench scale`).
//!
//! Starts `mlxp sim --pods N` (N = MLXP_BENCH_PODS, default 150,000) as its own process and
//! measures: start-up time, list of all pods unpaged and by pages of 500, the server's RSS,
//! and watch events per second delivered to 10 concurrent watchers while a deletecollection
//! removes one namespace's pods (N/10 DELETED events to each watcher).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::io::AsyncBufReadExt;
use futures::{StreamExt, pin_mut};
use kube::Client;

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).expect("request")
}

/// Reads a whole response, frame by frame; returns its size in bytes.
async fn fetch(client: &Client, path: &str) -> usize {
    use http_body_util::BodyExt;
    let request = http::Request::get(path)
        .body(kube::client::Body::empty())
        .expect("request");
    let mut body = client.send(request).await.expect("list").into_body();
    let mut size = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("body").into_data() {
            size += data.len();
        }
    }
    size
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

type Watcher = tokio::task::JoinHandle<(usize, Instant)>;

/// 10 watches on all pods from `rv`, each counting DELETED events up to `want`.
async fn start_watchers(client: &Client, rv: &str, want: usize) -> Vec<Watcher> {
    let mut watchers = Vec::new();
    for _ in 0..10 {
        let path = format!("/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=600");
        let reader = client.request_stream(get(&path)).await.expect("watch");
        watchers.push(tokio::spawn(async move {
            let lines = reader.lines();
            pin_mut!(lines);
            let mut seen = 0usize;
            while let Some(Ok(line)) = lines.next().await {
                if line.starts_with("{\"type\":\"DELETED\"") {
                    seen += 1;
                    if seen == want {
                        break;
                    }
                }
            }
            (seen, Instant::now())
        }));
    }
    watchers
}

/// Events seen by all watchers, and the time from `start` until the last one finished.
async fn wait_watchers(watchers: Vec<Watcher>, start: Instant) -> (usize, Duration) {
    let mut total = 0;
    let mut last = start;
    for w in watchers {
        let (seen, at) = tokio::time::timeout(Duration::from_secs(600), w)
            .await
            .expect("watchers finish")
            .expect("task");
        total += seen;
        last = last.max(at);
    }
    (total, last.duration_since(start))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    mlxp::install_crypto_provider();
    let pods: usize = std::env::var("MLXP_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig: PathBuf = dir.path().join("kubeconfig");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mlxp"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--pods",
            &pods.to_string(),
        ])
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .env("MLXP_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("mlxp sim starts");
    let pid = child.id().expect("pid");
    // The kubeconfig is written once the server listens.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "sim did not start within 300 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let startup = started.elapsed();
    let yaml = std::fs::read_to_string(&kubeconfig).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&yaml).expect("parse"),
        &Default::default(),
    )
    .await
    .expect("config");
    let client = Client::try_from(config).expect("client");
    let rss_started = rss_kib(pid, "VmRSS:");
    println!("pods stored:                 {pods}");
    println!(
        "start-up (seed + listen):    {:.2} s",
        startup.as_secs_f64()
    );
    println!("RSS after start:             {} MiB", rss_started / 1024);

    let mut unpaged = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        size = fetch(&client, "/api/v1/pods").await;
        unpaged.push(t.elapsed());
    }
    println!(
        "list all pods, unpaged:      {:.0} ms median of 5 ({} MB)",
        median(unpaged).as_secs_f64() * 1000.0,
        size / 1_000_000
    );

    let mut first_pages = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        fetch(&client, "/api/v1/pods?limit=500").await;
        first_pages.push(t.elapsed());
    }
    println!(
        "list pods, limit=500 (1 page): {:.1} ms median of 20",
        median(first_pages).as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &token {
            Some(c) => format!("/api/v1/pods?limit=500&continue={c}"),
            None => "/api/v1/pods?limit=500".to_string(),
        };
        let text = client.request_text(get(&path)).await.expect("page");
        pages += 1;
        // The token is in the list's head; no need to parse 1 MB of items for it.
        token = text
            .get(..512)
            .and_then(|head| head.split("\"continue\":\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .map(String::from);
        if token.is_none() {
            break;
        }
    }
    println!(
        "list all pods, limit=500:    {:.2} s for {pages} pages",
        t.elapsed().as_secs_f64()
    );
    println!(
        "RSS after lists (peak):      {} MiB now, {} MiB peak",
        rss_kib(pid, "VmRSS:") / 1024,
        rss_kib(pid, "VmHWM:") / 1024
    );

    // 10 watchers on all pods; a deletecollection of one namespace produces the events.
    let namespace_pods = pods.div_ceil(10);
    let rv = {
        let text = client
            .request_text(get("/api/v1/pods?limit=1"))
            .await
            .expect("rv");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .to_string()
    };
    let watchers = start_watchers(&client, &rv, namespace_pods).await;
    let t = Instant::now();
    let deleted = client
        .request_text(
            http::Request::delete("/api/v1/namespaces/scale-0/pods")
                .body(Vec::new())
                .expect("request"),
        )
        .await
        .expect("deletecollection");
    let delete_done = t.elapsed();
    let (total, elapsed) = wait_watchers(watchers, t).await;
    println!(
        "watch, live: {total} events to 10 watchers in {:.2} s = {:.0} events/s (bound by the deletecollection of {namespace_pods} pods: {:.2} s, {} KB response)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        delete_done.as_secs_f64(),
        deleted.len() / 1000
    );
    // The same events again, replayed from the history as fast as the server sends them.
    let t = Instant::now();
    let watchers = start_watchers(&client, &rv, namespace_pods).await;
    let (total, elapsed) = wait_watchers(watchers, t).await;
    println!(
        "watch, replay: {total} events to 10 watchers in {:.2} s = {:.0} events/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
    );
    println!(
        "RSS at end:                  {} MiB now, {} MiB peak",
        rss_kib(pid, "VmRSS:") / 1024,
        rss_kib(pid, "VmHWM:") / 1024
    );
    let _ = child.kill().await;
}
