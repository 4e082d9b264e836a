//! The logs view over a 100,000-line log (`cargo bench --bench logs`): the lines arrive as
//! the loop passes them (batches of up to 4,096), each batch followed by a frame on a
//! 160×45 test terminal; then frames over the full buffer following, paused in the middle,
//! wrapped, and a search. Printed: per-frame times (p50 / p99 / max) and the process's RSS
//! before and after, with the lines kept and let go (the buffer is bounded).

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlxp::cluster::{LogEvent, Snapshot};
use mlxp::tui::app::{App, Effect, Mode, Msg};
use mlxp::tui::color_depth::ColorDepth;
use mlxp::tui::keys::Key;
use mlxp::tui::{keymap, render, theme};
use mlxp_core::domain::objects::Job;
use mlxp_core::logs::LogLine;

const LINES: usize = 100_000;
const BATCH: usize = 4096;
const PODS: usize = 8;

fn press(app: &mut App, keys: &str) {
    for key in keys.split(' ') {
        app.update(Msg::Key(Key::from_str(key).expect("a key")));
    }
}

#[path = "common/rss.rs"]
mod rss;
use rss::rss_mib;

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} frames)",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn main() -> anyhow::Result<()> {
    let job: Job = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "train-big", "namespace": "training"},
        "status": {"active": PODS},
    }))?;
    let mut snapshot = Snapshot::default();
    snapshot
        .jobs
        .items
        .insert(("training".into(), "train-big".into()), Arc::new(job));
    let (keymap, _) = keymap::load("default", None);
    let (theme, _) = theme::load("dark", None);
    let mut app = App::new(
        keymap,
        theme,
        ColorDepth::TrueColor,
        "bench".into(),
        chrono::Utc::now(),
    );
    app.update(Msg::Snapshot(Arc::new(snapshot)));
    app.update(Msg::Resized {
        width: 160,
        height: 45,
    });
    press(&mut app, "4 g");
    app.rebuild_if_due();
    press(&mut app, "l");
    anyhow::ensure!(
        matches!(app.take_effects().pop(), Some(Effect::FollowLogs { .. })),
        "l did not open the logs: {:?}",
        app.message
    );
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 45))?;
    let pods: Vec<Arc<str>> = (0..PODS)
        .map(|i| format!("train-big-{i:05}").into())
        .collect();
    let before = rss_mib();

    let mut arriving = Vec::new();
    let mut sent = 0;
    while sent < LINES {
        let n = BATCH.min(LINES - sent);
        let batch: Vec<LogEvent> = (sent..sent + n)
            .map(|i| {
                let raw = format!(
                    "2026-12-07T10:{:02}:{:02}.{:06}Z epoch {} step {i} loss={:.4} lr=3e-4 grad_norm={:.3} tokens/s=184{:03}",
                    (i / 60) % 60,
                    i % 60,
                    i % 1_000_000,
                    i / 10_000,
                    1.0 / (1.0 + i as f64 / 1000.0),
                    (i % 97) as f64 / 10.0,
                    i % 1000
                );
                LogEvent::Line(LogLine::parse(pods[i % PODS].clone(), &raw))
            })
            .collect();
        sent += n;
        let start = Instant::now();
        app.update(Msg::Logs(batch));
        terminal.draw(|frame| render::render(&app, frame))?;
        arriving.push(start.elapsed());
    }
    let Mode::Logs(view) = &app.mode else {
        anyhow::bail!("the logs view closed");
    };
    println!(
        "{LINES} lines from {PODS} pods: {} kept, {} let go; RSS {before:.1} MiB before, {:.1} MiB after",
        view.buffer.len(),
        view.buffer.dropped(),
        rss_mib()
    );
    report("batch of 4,096 lines in + frame (following)", &mut arriving);

    let mut frames = |app: &mut App, keys: &str, rounds: usize| -> anyhow::Result<Vec<Duration>> {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            if !keys.is_empty() {
                press(app, keys);
            }
            terminal.draw(|frame| render::render(app, frame))?;
            times.push(start.elapsed());
        }
        Ok(times)
    };
    report(
        "frame, full buffer, following",
        &mut frames(&mut app, "", 200)?,
    );
    press(&mut app, "g");
    for _ in 0..500 {
        press(&mut app, "pgdown");
    }
    report(
        "key (pgdown) + frame, paused mid-buffer",
        &mut frames(&mut app, "pgdown", 200)?,
    );
    press(&mut app, "w");
    report("key (k) + frame, wrapped", &mut frames(&mut app, "k", 200)?);
    press(&mut app, "/ s t e p space 9 9 9 9 9 enter");
    report(
        "key (n: search the next match) + frame",
        &mut frames(&mut app, "n", 50)?,
    );
    Ok(())
}
