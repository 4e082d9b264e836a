//! Key → the operation's dialog with its dry-run preview, against `mlxp sim` in its own
//! process (`cargo bench --bench ops`; MLXP_BENCH_SCALE=large by default).
//!
//! The cockpit's App over the sim's snapshot, on Serving with fraud-detector v2 selected.
//! Each round: `R` (planned in `update()`, the dialog opens), the executor's dry-run as the
//! loop runs it (whoami, an access review and a GET and a dry-run PATCH per object, over
//! HTTPS), the preview message, then the frame drawn on a 120×40 test terminal; `esc`
//! closes it. Printed: the time of the first frame (the dialog without its preview) and of
//! the frame with the preview, p50 / p99 / max over the rounds.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlxp::exec::{Executor, Mode as ExecMode};
use mlxp::tui::app::{App, Effect, Mode, Msg};
use mlxp::tui::color_depth::ColorDepth;
use mlxp::tui::keys::Key;
use mlxp::tui::{keymap, render, theme};

#[path = "common/sim_process.rs"]
mod sim_process;

use sim_process::SimProcess;

const ROUNDS: usize = 30;

fn press(app: &mut App, key: &str) {
    app.update(Msg::Key(Key::from_str(key).expect("a key")));
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    mlxp::install_crypto_provider();
    let scale = std::env::var("MLXP_BENCH_SCALE").unwrap_or_else(|_| "large".into());
    eprintln!("starting mlxp sim --scale {scale}…");
    let sim = SimProcess::start(&["--scale".to_string(), scale])?;
    eprintln!("mlxp sim listens on 127.0.0.1:{}", sim.port);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async { measure(kube::Client::try_from(sim.config().await?)?).await })
}

async fn measure(client: kube::Client) -> anyhow::Result<()> {
    let snapshot = mlxp::cluster::snapshot_once(client.clone(), Duration::from_secs(120)).await?;
    eprintln!(
        "{} nodes, {} pods, {} routes",
        snapshot.nodes.len(),
        snapshot.pods.len(),
        snapshot.routes.len()
    );
    let (keymap, _) = keymap::load("default", None);
    let (theme, _) = theme::load("dark", None);
    let mut app = App::new(
        keymap,
        theme,
        ColorDepth::TrueColor,
        "mlxp-sim".into(),
        chrono::Utc::now(),
    );
    app.update(Msg::Snapshot(Arc::clone(&snapshot)));
    press(&mut app, "6");
    press(&mut app, "g");
    while app.selected_key() != Some("serving/fraud-detector-v2") {
        anyhow::ensure!(app.selected_key().is_some(), "no rows");
        press(&mut app, "j");
    }
    let executor = Executor::new(client, "mlxp-sim".into(), None);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40))?;
    let (mut dialog, mut preview) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        press(&mut app, "R");
        terminal.draw(|frame| render::render(&app, frame))?;
        dialog.push(start.elapsed());
        let Some(Effect::PreviewOp { op }) = app.take_effects().pop() else {
            anyhow::bail!("no preview asked: {:?}", app.message);
        };
        let result = executor.run(&op, &app.snapshot, ExecMode::DryRun).await;
        anyhow::ensure!(result.is_ok(), "the dry-run failed: {:?}", result.err());
        app.update(Msg::OpPreview {
            op,
            result: result.map_err(|e| e.to_string()),
        });
        terminal.draw(|frame| render::render(&app, frame))?;
        preview.push(start.elapsed());
        anyhow::ensure!(matches!(app.mode, Mode::Dialog(_)), "the dialog closed");
        press(&mut app, "esc");
    }
    for (what, times) in [
        ("key → dialog (effect, no preview yet)", &mut dialog),
        ("key → dialog with the dry-run diff", &mut preview),
    ] {
        times.sort();
        println!(
            "{what}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({ROUNDS} rounds)",
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.99)),
            ms(times[times.len() - 1])
        );
    }
    Ok(())
}
