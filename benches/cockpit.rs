//! The cockpit against `mlxp sim --scale xlarge` (5,060 nodes, 40,000 GPUs, ~150,000 pods)
//! run as its own process at --speed 60: time to the first complete Overview, RSS after
//! sync, render time of every view, CPU while the cluster's watch events stream in.
//!
//!   cargo bench --bench cockpit            (MLXP_BENCH_SCALE=large|small for other sizes)

use std::sync::Arc;
use std::time::{Duration, Instant};

use mlxp::tui::app::{App, Msg};
use mlxp::tui::color_depth::ColorDepth;
use mlxp::tui::views::View;
use mlxp::tui::{keymap, render, theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat, counted after the ")" that ends the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn key(text: &str) -> mlxp::tui::keys::Key {
    use std::str::FromStr;
    mlxp::tui::keys::Key::from_str(text).expect("a key")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    mlxp::install_crypto_provider();
    let scale = std::env::var("MLXP_BENCH_SCALE").unwrap_or_else(|_| "xlarge".into());
    // Fast enough a clock for the cluster to make several hundred watch events a second.
    let speed = std::env::var("MLXP_BENCH_SPEED").unwrap_or_else(|_| "240".into());
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    eprintln!("starting mlxp sim --scale {scale} --speed {speed} (about a minute at xlarge)…");
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_mlxp"))
        .args(["sim", "--scale", &scale, "--speed", &speed, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .stderr(std::process::Stdio::null())
        .spawn()?;
    while !kubeconfig.exists() {
        if let Some(status) = sim.try_wait()? {
            anyhow::bail!("the sim exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(measure(&kubeconfig));
    let _ = sim.kill();
    result
}

async fn measure(kubeconfig: &std::path::Path) -> anyhow::Result<()> {
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig)?,
        &Default::default(),
    )
    .await?;
    let client = kube::Client::try_from(config)?;
    let (keymap, _) = keymap::load("default", None);
    let (theme, _) = theme::load("dark", None);
    let mut app = App::new(
        keymap,
        theme,
        ColorDepth::TrueColor,
        "bench".into(),
        chrono::Utc::now(),
    );
    let mut terminal = Terminal::new(TestBackend::new(200, 50))?;

    let started = Instant::now();
    let watch = mlxp::cluster::start(client);
    let mut updates = watch.subscribe();
    let snapshot = loop {
        let latest = updates.borrow_and_update().clone();
        if latest.complete() {
            break latest;
        }
        updates.changed().await?;
    };
    app.update(Msg::Snapshot(snapshot.clone()));
    terminal.draw(|f| render::render(&app, f))?;
    let first_overview = started.elapsed();
    println!(
        "first complete Overview: {:.2} s ({} nodes, {} pods, {} jobs, {} workloads)",
        first_overview.as_secs_f64(),
        snapshot.nodes.len(),
        snapshot.pods.len(),
        snapshot.jobs.len(),
        snapshot.workloads.len()
    );
    println!("RSS after sync: {:.0} MiB", rss_mib());

    for (i, view) in View::ALL.iter().enumerate() {
        app.update(Msg::Key(key(&(i + 1).to_string())));
        assert_eq!(app.view, *view);
        let mut builds = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            app.rebuild();
            builds.push(t.elapsed());
        }
        let mut frames = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            terminal.draw(|f| render::render(&app, f))?;
            frames.push(t.elapsed());
        }
        // Moving the selection rebuilds the detail pane of the new row.
        let mut moves = Vec::new();
        for i in 0..20 {
            let t = Instant::now();
            app.update(Msg::Key(key(if i < 10 { "j" } else { "k" })));
            moves.push(t.elapsed());
        }
        builds.sort();
        frames.sort();
        moves.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<18} frame p50 {:>6.2} ms  p99 {:>6.2} ms   table build (on new data, at most 4/s) p50 {:>6.1} ms  p99 {:>6.1} ms   selection move (detail) p50 {:>6.1} ms  p99 {:>6.1} ms",
            view.title(),
            ms(percentile(&frames, 0.5)),
            ms(percentile(&frames, 0.99)),
            ms(percentile(&builds, 0.5)),
            ms(percentile(&builds, 0.99)),
            ms(percentile(&moves, 0.5)),
            ms(percentile(&moves, 0.99)),
        );
    }

    history(&mut app, &snapshot);

    // The cockpit's loop under the cluster's churn: every new snapshot is taken and the
    // current view redrawn (at most ~60 times a second, as the real loop does).
    app.rebuild_every = Duration::from_millis(250);
    let seconds = 30.0;
    for view in [View::Overview, View::Nodes, View::Jobs] {
        let number = View::ALL.iter().position(|v| *v == view).unwrap_or(0) + 1;
        app.update(Msg::Key(key(&number.to_string())));
        let (events_before, cpu_before) = (watch.latest().events(), cpu_seconds());
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        while Instant::now() < until {
            if tokio::time::timeout(Duration::from_millis(100), updates.changed())
                .await
                .is_ok()
            {
                let latest = updates.borrow_and_update().clone();
                app.update(Msg::Snapshot(Arc::clone(&latest)));
                app.update(Msg::Tick(chrono::Utc::now()));
                terminal.draw(|f| render::render(&app, f))?;
                tokio::time::sleep(Duration::from_millis(16)).await;
            }
        }
        let events = watch.latest().events() - events_before;
        let cpu = cpu_seconds() - cpu_before;
        println!(
            "under churn ({seconds:.0} s, {} redrawn per snapshot): {:.0} watch events/s, CPU {:.1} % of one core, RSS {:.0} MiB",
            view.title(),
            events as f64 / seconds,
            cpu / seconds * 100.0,
            rss_mib()
        );
    }
    Ok(())
}

/// The metrics history at full size: one sample per allocatable GPU of the cluster (there is
/// no Prometheus in this bench), 120 frames — the whole window the cockpit keeps.
fn history(app: &mut App, snapshot: &mlxp::cluster::Snapshot) {
    let gpus: Vec<mlxp::metrics::GpuSample> = snapshot
        .nodes
        .values()
        .flat_map(|n| {
            (0..n.allocatable.gpus).map(|i| mlxp::metrics::GpuSample {
                node: n.meta.name.clone(),
                gpu: i.to_string(),
                uuid: format!("GPU-{}-{i}", n.meta.name),
                model_name: "NVIDIA-H100-80GB-HBM3".into(),
                util: (i * 13 % 100) as f64,
                fb_used_mib: 40_000.0,
                fb_free_mib: 41_559.0,
                power_watts: 500.0,
                pod: None,
            })
        })
        .collect();
    let before = rss_mib();
    let mut times = Vec::new();
    let start = chrono::Utc::now();
    for i in 0..mlxp::tui::history::KEEP {
        let frame = mlxp::metrics::MetricsFrame {
            at: start + chrono::Duration::seconds(5 * i as i64),
            gpus: gpus.clone(),
            traffic: Vec::new(),
            quality: Vec::new(),
        };
        let t = Instant::now();
        app.update(Msg::Metrics(Ok(Arc::new(frame))));
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "metrics history: {} GPUs × {} frames, a frame recorded (and the view rebuilt) p50 {:.1} ms p99 {:.1} ms; RSS {:.0} → {:.0} MiB (the frame itself included)",
        gpus.len(),
        mlxp::tui::history::KEEP,
        percentile(&times, 0.5).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        before,
        rss_mib()
    );
}
