//! The cockpit under faults, each injected between it and what it reads and then healed:
//! latency on every chunk, bursts of 429 / 500 / 503, answers cut short, a server that
//! accepts and never answers; Prometheus down, silent and answering garbage. For each:
//! the header must stop saying `● live` (or name the metrics error) while the cockpit is
//! blind, come back without a key pressed, and a key must reach the screen in well under a
//! second all along (the UI never waits on I/O). Figures are printed for BENCHMARKS.md.

mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::prometheus::{Behaviour, FaultyPrometheus};
use common::proxy::{FaultProxy, Shaping};
use mlxp::cluster::{Contexts, KindName, SourceState};
use mlxp::metrics::{MetricsConfig, Prometheus};
use mlxp::tui::app::{App, Msg};
use mlxp::tui::keys::Key;
use mlxp::tui::run::{Cockpit, Options};
use mlxp_sim::{Sim, SimConfig};

/// How long a fault or its healing may take to show before the test fails.
const BOUND: Duration = Duration::from_secs(40);
/// A key that reaches the screen later than this means the UI waited on I/O.
const FRAME_LIMIT: Duration = Duration::from_secs(1);

fn header(app: &App) -> String {
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).expect("terminal");
    terminal
        .draw(|frame| mlxp::tui::render::render(app, frame))
        .expect("drawn");
    let screen = terminal.backend().to_string();
    screen.lines().nth(1).unwrap_or_default().trim().to_string()
}

fn live(app: &App) -> bool {
    let s = &app.snapshot;
    !s.api.silent()
        && s.api.last_answer.is_some()
        && KindName::ALL
            .iter()
            .all(|k| s.status(*k).state == SourceState::Synced)
        && header(app).contains("● live")
}

fn metrics_fresh(app: &App) -> bool {
    app.metrics_error.is_none() && app.metrics.is_some()
}

/// The cockpit as a user runs it, stepped by the test, with a key sent every 50 ms and
/// the time from each key to its frame kept.
struct Driven {
    cockpit: Cockpit,
    key_to_frame: Vec<Duration>,
}

impl Driven {
    /// Steps until `done` holds; how long that took.
    async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) -> Duration {
        let started = Instant::now();
        let key = Key::from_str("j").expect("key");
        let messages = self.cockpit.messages();
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).expect("terminal");
        while !done(&self.cockpit.app) {
            assert!(
                started.elapsed() < BOUND,
                "{what} within {BOUND:?}: {}",
                header(&self.cockpit.app)
            );
            let sent = Instant::now();
            messages.send(Msg::Key(key)).await.expect("sent");
            self.cockpit.step().await;
            terminal
                .draw(|frame| mlxp::tui::render::render(&self.cockpit.app, frame))
                .expect("drawn");
            self.key_to_frame.push(sent.elapsed());
            let _ = tokio::time::timeout(Duration::from_millis(50), self.cockpit.step()).await;
        }
        started.elapsed()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_through_every_fault_says_so_and_recovers_by_itself() {
    let sim = Sim::start(SimConfig {
        manual_clock: true,
        ..SimConfig::default()
    })
    .await
    .expect("sim starts");
    let proxy = FaultProxy::start(sim.addr()).await;
    let prometheus = FaultyPrometheus::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let kubeconfig = dir.path().join("config");
    common::write_kubeconfig_through(&sim, &proxy, &kubeconfig);
    let contexts = Contexts::read(Some(kubeconfig)).expect("kubeconfig");
    let context = contexts.current().expect("current context");
    let client = contexts.connect(&context).await.expect("client");
    let metrics = Prometheus::new(&MetricsConfig {
        url: prometheus.url(),
        timeout: Duration::from_secs(2),
        refresh: Duration::from_millis(500),
        ..MetricsConfig::defaults()
    })
    .expect("metrics source");
    let options = Options {
        context: context.clone(),
        contexts,
        metrics_every: Duration::from_secs(1),
        ..Default::default()
    };
    let mut driven = Driven {
        cockpit: Cockpit::new(client, Some(Arc::new(metrics)), options),
        key_to_frame: Vec::new(),
    };
    let first = driven
        .until("synced, metrics read", |app| {
            live(app) && metrics_fresh(app)
        })
        .await;
    println!("healthy: live with metrics after {first:?}");
    let mut figures = Vec::new();

    // Latency on every chunk, both ways: slower, never blind. A node cordoned straight on
    // the cluster, timed to the screen, without and with it.
    let node = driven
        .cockpit
        .app
        .snapshot
        .nodes
        .values()
        .next()
        .expect("a node")
        .meta
        .name
        .clone();
    let mut cordoned = false;
    for latency in [Duration::ZERO, Duration::from_millis(200)] {
        proxy.shape(Shaping {
            latency,
            truncate_after: None,
        });
        cordoned = !cordoned;
        common::set_unschedulable(&sim, &node, cordoned).await;
        let shown = driven
            .until("the cordon shown", |app| {
                live(app)
                    && app
                        .snapshot
                        .nodes
                        .get("", &node)
                        .is_some_and(|n| n.unschedulable == cordoned)
            })
            .await;
        figures.push((
            format!("{} ms latency a chunk: a change shown", latency.as_millis()),
            None,
            shown,
        ));
    }
    proxy.shape(Shaping::default());

    // Bursts of errors, every request answered so and the connections cut (a restarting
    // or overloaded apiserver): the header names the answer; live again once it passes.
    for code in [429u16, 500, 503] {
        sim.inject_errors(code, usize::MAX);
        proxy.cut();
        let said = format!("({code})");
        let blind = driven
            .until(&format!("{code}s named"), |app| header(app).contains(&said))
            .await;
        let shown = header(&driven.cockpit.app);
        assert!(shown.contains("stale since"), "{shown}");
        sim.inject_errors(code, 0);
        let back = driven.until(&format!("live after the {code}s"), live).await;
        println!("{code} on every request: {shown}");
        figures.push((format!("{code} on every request"), Some(blind), back));
    }

    // Answers cut short: every connection closed after 8 KiB more (a probe fits, a list
    // does not), and the watches ended so the cockpit lists again.
    proxy.shape(Shaping {
        latency: Duration::ZERO,
        truncate_after: Some(8 * 1024),
    });
    sim.expire_watches();
    let blind = driven.until("cut answers noticed", |app| !live(app)).await;
    let shown = header(&driven.cockpit.app);
    assert!(
        shown.contains("closed before the answer was whole"),
        "{shown}"
    );
    println!("answers cut short: {shown}");
    proxy.shape(Shaping::default());
    let back = driven.until("live after the cut answers", live).await;
    figures.push(("answers cut after 8 KiB".to_string(), Some(blind), back));

    // A server that holds every connection and never answers.
    proxy.freeze();
    let blind = driven.until("the silence noticed", |app| !live(app)).await;
    let shown = header(&driven.cockpit.app);
    assert!(shown.contains("no answer in time"), "{shown}");
    println!("never answering: {shown}");
    proxy.resume();
    let back = driven.until("live after the silence", live).await;
    figures.push(("never answers".to_string(), Some(blind), back));

    // Prometheus down, silent, answering garbage: the header names it; then fresh again.
    for (behaviour, name) in [
        (Behaviour::Down, "Prometheus down"),
        (Behaviour::Silent, "Prometheus silent"),
        (Behaviour::Garbage, "Prometheus garbage"),
    ] {
        prometheus.behave(behaviour);
        let blind = driven
            .until(&format!("{name} noticed"), |app| {
                app.metrics_error.is_some()
            })
            .await;
        let shown = header(&driven.cockpit.app);
        assert!(shown.contains("metrics: "), "{shown}");
        assert!(
            live(&driven.cockpit.app),
            "the cluster is still read: {shown}"
        );
        println!("{name}: {shown}");
        prometheus.behave(Behaviour::Answering);
        let back = driven
            .until(&format!("fresh after {name}"), metrics_fresh)
            .await;
        figures.push((name.to_string(), Some(blind), back));
    }

    let mut times = driven.key_to_frame.clone();
    times.sort();
    let (p50, p99, max) = (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
    );
    println!("| fault | header leaves live / names it | back without a key |");
    for (name, blind, back) in &figures {
        let blind = blind.map_or("— (stays live)".to_string(), |b| {
            format!("{:.2} s", b.as_secs_f64())
        });
        println!("| {name} | {blind} | {:.2} s |", back.as_secs_f64());
    }
    println!(
        "key → frame over {} keys: p50 {p50:?}, p99 {p99:?}, max {max:?}",
        times.len()
    );
    assert!(
        max < FRAME_LIMIT,
        "a key waited {max:?} for its frame: the UI waited on I/O"
    );
}
