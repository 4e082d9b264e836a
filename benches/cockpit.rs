//! The cockpit against `mlxp sim --scale xlarge` (5,060 nodes, 40,000 GPUs, ~150,000 pods)
//! run as its own process: time to the first complete Overview (direct, and through a
//! proxy adding 100 ms each way), RSS after sync, render time of every view, key → frame,
//! CPU while the cluster's watch events stream in, CPU of the idle cockpit (clock paused).
//!
//!   cargo bench --bench cockpit            (MLXP_BENCH_SCALE=large|small for other sizes,
//!                                           MLXP_BENCH_PODS=N for N pods and nothing else,
//!                                           MLXP_BENCH_SYNC_ONLY=1 for the two syncs alone,
//!                                           MLXP_BENCH_IDLE_ONLY=1 for the idle phase alone,
//!                                           MLXP_BENCH_KINDS=1 for each kind's share of the
//!                                           heap after the sync, then stop)
//!
//! MLXP_BENCH_IDLE_ONLY=1 skips everything but the idle phase (the sim's clock is paused as
//! soon as it has seeded), to iterate on the idle figures without the minutes of the phases
//! before them; the cluster is then as seeded rather than as it is after their churn.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mlxp::tui::app::{App, Msg};
use mlxp::tui::color_depth::ColorDepth;
use mlxp::tui::views::View;
use mlxp::tui::{keymap, render, theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "cockpit/delay.rs"]
mod delay;
#[path = "common/sim_process.rs"]
mod sim_process;

use sim_process::SimProcess;

/// Latency the proxy adds in each direction.
const ADDED_LATENCY: Duration = Duration::from_millis(100);
/// How long the idle cockpit is measured.
const IDLE: Duration = Duration::from_secs(60);

#[path = "common/rss.rs"]
mod rss;
use rss::{cpu_seconds, rss_mib};
#[path = "common/heap.rs"]
mod heap;
use heap::live_mib;

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

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
    eprintln!("starting mlxp sim --scale {scale} --speed {speed} (about a minute at xlarge)…");
    // MLXP_BENCH_PODS=N: just N pods (and their nodes), seeded in seconds, for the sync.
    let size = match std::env::var("MLXP_BENCH_PODS") {
        Ok(pods) => ["--pods".to_string(), pods],
        Err(_) => ["--scale".to_string(), scale.clone()],
    };
    let sim = SimProcess::start(&[&size[..], &["--speed".to_string(), speed]].concat())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let config = sim.config().await?;
        let sync_only = std::env::var_os("MLXP_BENCH_SYNC_ONLY").is_some();
        // Set (to anything): the idle phase alone.
        if std::env::var_os("MLXP_BENCH_IDLE_ONLY").is_none() {
            measure(kube::Client::try_from(config.clone())?, sync_only).await?;
            synced_through_delay(config, sim.port).await?;
            if sync_only {
                return Ok(());
            }
        }
        pause(&sim.child)?;
        idle(kube::Client::try_from(sim.config().await?)?).await
    })
}

/// Stops the sim's clock (SIGUSR1): no more watch events from then on.
fn pause(sim: &std::process::Child) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-USR1", &sim.id().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "could not signal the sim");
    Ok(())
}

/// Time to the first complete snapshot through the delaying proxy.
async fn synced_through_delay(mut config: kube::Config, sim_port: u16) -> anyhow::Result<()> {
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], sim_port));
    let port = delay::start(target, ADDED_LATENCY).await?;
    config.cluster_url = format!("https://127.0.0.1:{port}").parse()?;
    let client = kube::Client::try_from(config)?;
    let started = Instant::now();
    let watch = mlxp::cluster::start(client);
    let mut updates = watch.subscribe();
    let snapshot = tokio::time::timeout(Duration::from_secs(300), async {
        loop {
            let latest = updates.borrow_and_update().clone();
            if latest.complete() {
                return Ok::<_, anyhow::Error>(latest);
            }
            updates.changed().await?;
        }
    })
    .await??;
    println!(
        "first complete snapshot through the proxy (+{} ms each way, per chunk): {:.2} s ({} pods)",
        ADDED_LATENCY.as_millis(),
        started.elapsed().as_secs_f64(),
        snapshot.pods.len()
    );
    Ok(())
}

/// The cockpit's own loop on a test terminal, the cluster quiet (its clock paused): CPU per
/// minute without metrics, then with a 40,000-GPU metrics frame every 5 s.
async fn idle(client: kube::Client) -> anyhow::Result<()> {
    use mlxp::tui::run::{Cockpit, Options};
    for with_metrics in [false, true] {
        let metrics = if with_metrics {
            let watch = mlxp::cluster::start(client.clone());
            let mut updates = watch.subscribe();
            while !updates.borrow_and_update().complete() {
                updates.changed().await?;
            }
            let source: Arc<dyn mlxp::metrics::MetricsSource> =
                Arc::new(FixedFrame(gpu_frame(&watch.latest(), chrono::Utc::now())));
            Some(source)
        } else {
            None
        };
        let mut cockpit = Cockpit::new(client.clone(), metrics, Options::default());
        let mut terminal = Terminal::new(TestBackend::new(200, 50))?;
        while !cockpit.app.snapshot.complete() {
            let _ =
                tokio::time::timeout(Duration::from_secs(1), cockpit.drive(&mut terminal)).await;
        }
        // Let the first rebuilds and the sim's last in-flight events pass.
        let _ = tokio::time::timeout(Duration::from_secs(10), cockpit.drive(&mut terminal)).await;
        let (events, cpu) = (cockpit.app.snapshot.events(), cpu_seconds());
        let _ = tokio::time::timeout(IDLE, cockpit.drive(&mut terminal)).await;
        println!(
            "idle cockpit ({}, clock paused, Overview): {:.2} CPU-s in {} s, {} watch events",
            if with_metrics {
                "a 40,000-GPU metrics frame every 5 s"
            } else {
                "no metrics"
            },
            cpu_seconds() - cpu,
            IDLE.as_secs(),
            cockpit.app.snapshot.events() - events,
        );
    }
    Ok(())
}

/// A metrics source that answers the same frame (with the time of asking) every time.
struct FixedFrame(mlxp::metrics::MetricsFrame);

impl mlxp::metrics::MetricsSource for FixedFrame {
    fn frame(
        &self,
    ) -> mlxp::metrics::BoxFuture<
        '_,
        Result<mlxp::metrics::MetricsFrame, mlxp::metrics::MetricsError>,
    > {
        let mut frame = self.0.clone();
        frame.at = chrono::Utc::now();
        Box::pin(async move { Ok(frame) })
    }

    fn history(
        &self,
        _query: &str,
        _range: Duration,
        _step: Duration,
    ) -> mlxp::metrics::BoxFuture<'_, Result<Vec<mlxp::metrics::Series>, mlxp::metrics::MetricsError>>
    {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn describe(&self) -> String {
        "bench".into()
    }
}

async fn measure(client: kube::Client, sync_only: bool) -> anyhow::Result<()> {
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
    println!(
        "RSS after sync: {:.0} MiB (live heap {:.0} MiB)",
        rss_mib(),
        live_mib()
    );
    if std::env::var_os("MLXP_BENCH_KINDS").is_some() {
        macro_rules! cost {
            ($name:literal, $kind:expr) => {{
                let before = live_mib();
                let copy: Vec<_> = $kind
                    .items
                    .iter()
                    .map(|(k, v)| (k.clone(), (**v).clone()))
                    .collect();
                println!(
                    "{}: {} objects, deep copy {:.1} MiB",
                    $name,
                    copy.len(),
                    live_mib() - before
                );
                drop(copy);
            }};
        }
        cost!("nodes", snapshot.nodes);
        cost!("pods", snapshot.pods);
        cost!("jobs", snapshot.jobs);
        cost!("workloads", snapshot.workloads);
        cost!("events", snapshot.events);
        cost!("deployments", snapshot.deployments);
        cost!("model_versions", snapshot.model_versions);
        let before = live_mib();
        drop(app);
        println!("app dropped: {:.1} MiB freed", before - live_mib());
        return Ok(());
    }
    if sync_only {
        return Ok(());
    }

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut first_visits = Vec::new();
    for (i, view) in View::ALL.iter().enumerate() {
        let t = Instant::now();
        app.update(Msg::Key(key(&(i + 1).to_string())));
        terminal.draw(|f| render::render(&app, f))?;
        first_visits.push(format!("{} {:.1}", view.title(), ms(t.elapsed())));
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

    println!(
        "key → frame, first visit of each view (ms): {}",
        first_visits.join(", ")
    );
    println!(
        "after every view: RSS {:.0} MiB (live heap {:.0} MiB)",
        rss_mib(),
        live_mib()
    );

    history(&mut app, &snapshot);
    key_to_frame(&mut app, &mut terminal, &mut updates).await?;

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
            "under churn ({seconds:.0} s, {} redrawn per snapshot): {:.0} watch events/s, CPU {:.1} % of one core, RSS {:.0} MiB (live heap {:.0} MiB)",
            view.title(),
            events as f64 / seconds,
            cpu / seconds * 100.0,
            rss_mib(),
            live_mib()
        );
    }
    Ok(())
}

/// Key → frame: from a key message to the end of the draw of the frame showing its
/// effect, as the loop does it (new snapshots taken between keys, so the views' data moves
/// on while they are not shown). Every view in turn, 10 rounds; then a filter typed. After
/// each frame, as the loop does, an outdated table is rebuilt and drawn: key → fresh frame.
async fn key_to_frame(
    app: &mut App,
    terminal: &mut Terminal<TestBackend>,
    updates: &mut tokio::sync::watch::Receiver<Arc<mlxp::cluster::Snapshot>>,
) -> anyhow::Result<()> {
    app.rebuild_every = Duration::from_millis(250);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut times = vec![Vec::new(); View::ALL.len()];
    let mut fresh = vec![Vec::new(); View::ALL.len()];
    for _ in 0..10 {
        for (i, (times, fresh)) in times.iter_mut().zip(&mut fresh).enumerate() {
            let latest = updates.borrow_and_update().clone();
            app.update(Msg::Snapshot(latest));
            let t = Instant::now();
            app.update(Msg::Key(key(&(i + 1).to_string())));
            terminal.draw(|f| render::render(app, f))?;
            times.push(t.elapsed());
            if app.rebuild_if_due() {
                terminal.draw(|f| render::render(app, f))?;
            }
            fresh.push(t.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for ((view, times), fresh) in View::ALL.iter().zip(&mut times).zip(&mut fresh) {
        times.sort();
        fresh.sort();
        println!(
            "key → frame, {:<18} p50 {:>6.1} ms  p99 {:>6.1} ms   key → fresh frame (rebuilt after it) p50 {:>6.1} ms  p99 {:>6.1} ms",
            view.title(),
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.99)),
            ms(percentile(fresh, 0.5)),
            ms(percentile(fresh, 0.99)),
        );
    }
    // A filter typed on the two largest tables: each key re-filters.
    for (number, text) in [("3", "node-1"), ("4", "train")] {
        app.update(Msg::Key(key(number)));
        app.update(Msg::Key(key("/")));
        let mut typed = Vec::new();
        for c in text.chars() {
            let t = Instant::now();
            app.update(Msg::Key(key(&c.to_string())));
            terminal.draw(|f| render::render(app, f))?;
            typed.push(t.elapsed());
            if app.rebuild_if_due() {
                terminal.draw(|f| render::render(app, f))?;
            }
        }
        app.update(Msg::Key(key("enter")));
        let rows = app.table().rows.len();
        app.update(Msg::Key(key("esc")));
        typed.sort();
        println!(
            "key → frame, filter typed on {} (\"{text}\", {rows} rows kept): p50 {:.1} ms  max {:.1} ms",
            app.view.title(),
            ms(percentile(&typed, 0.5)),
            ms(*typed.last().unwrap_or(&Duration::ZERO)),
        );
    }
    Ok(())
}

/// A metrics frame with one sample per allocatable GPU of the cluster.
fn gpu_frame(
    snapshot: &mlxp::cluster::Snapshot,
    at: chrono::DateTime<chrono::Utc>,
) -> mlxp::metrics::MetricsFrame {
    let gpus = snapshot
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
    mlxp::metrics::MetricsFrame {
        at,
        gpus,
        traffic: Vec::new(),
        quality: Vec::new(),
    }
}

/// The metrics history at full size: one sample per allocatable GPU of the cluster (there is
/// no Prometheus in this bench), 120 frames — the whole window the cockpit keeps.
fn history(app: &mut App, snapshot: &mlxp::cluster::Snapshot) {
    let start = chrono::Utc::now();
    let template = gpu_frame(snapshot, start);
    let gpus = template.gpus.len();
    let before = (rss_mib(), live_mib());
    let mut times = Vec::new();
    for i in 0..mlxp::tui::history::KEEP {
        let mut frame = template.clone();
        frame.at = start + chrono::Duration::seconds(5 * i as i64);
        let t = Instant::now();
        app.update(Msg::Metrics(Ok(Arc::new(frame))));
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "metrics history: {} GPUs × {} frames, a frame recorded (and the view rebuilt) p50 {:.1} ms p99 {:.1} ms; RSS {:.0} → {:.0} MiB, live heap {:.0} → {:.0} MiB (the frame itself included)",
        gpus,
        mlxp::tui::history::KEEP,
        percentile(&times, 0.5).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        before.0,
        rss_mib(),
        before.1,
        live_mib()
    );
}
