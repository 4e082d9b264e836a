//! Random key sequences through the cockpit's `update()`, each key followed by a frame
//! drawn at a small and a large size: whatever a user (or a cat on the keyboard) types, in
//! whatever mode it lands (filter, command line, dialogs, YAML, logs, help), nothing
//! panics. The cluster is the demo's, with its metrics, so every view has rows.

mod common;

use std::str::FromStr;

use mlxp::tui::app::{App, Msg};
use mlxp::tui::keys::Key;
use mlxp_sim::{Scale, Scenario, Sim, SimConfig};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

/// Every key of the default keymap's kind, and the ones that move between modes.
fn key() -> impl Strategy<Value = Key> {
    const NAMED: &[&str] = &[
        "esc",
        "enter",
        "tab",
        "backtab",
        "up",
        "down",
        "left",
        "right",
        "pgup",
        "pgdown",
        "home",
        "end",
        "space",
        "backspace",
        "delete",
        "ctrl-c",
        "ctrl-d",
        "ctrl-u",
        "ctrl-e",
        "ctrl-f",
        "ctrl-b",
        "ctrl-a",
        "ctrl-w",
    ];
    prop_oneof![
        3 => proptest::char::range('!', '~').prop_map(|c| Key::from_str(&c.to_string()).expect("a char key")),
        1 => prop::sample::select(NAMED).prop_map(|n| Key::from_str(n).expect("a named key")),
    ]
}

fn draw(app: &App, width: u16, height: u16) {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("terminal");
    terminal
        .draw(|frame| mlxp::tui::render::render(app, frame))
        .expect("drawn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_sequence_makes_the_cockpit_panic() {
    let sim = Sim::start(SimConfig {
        manual_clock: true,
        scenario: Scenario::Platform {
            scale: Scale::Small,
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim starts");
    let (_sim, base) = common::cockpit::cockpit_on(sim).await;
    let frame = base.metrics.clone().expect("metrics");
    let mut runner = TestRunner::new(Config {
        cases: 200,
        ..Config::default()
    });
    let sequences = prop::collection::vec(key(), 1..80);
    let mut keys_sent = 0;
    for _ in 0..200 {
        let keys = sequences
            .new_tree(&mut runner)
            .expect("a sequence")
            .current();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut app = common::cockpit::app_showing(base.snapshot.clone());
            app.update(Msg::Metrics(Ok(frame.clone())));
            for (i, key) in keys.iter().enumerate() {
                app.update(Msg::Key(*key));
                // What the keys asked the loop to do is not done here; no result comes.
                app.take_effects();
                if i % 10 == 0 {
                    app.update(Msg::Tick(app.now + chrono::Duration::seconds(1)));
                }
                draw(&app, 80, 24);
                draw(&app, 160, 48);
                keys_sent += 1;
                if app.quit {
                    break;
                }
            }
        }));
        if run.is_err() {
            let typed: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            panic!("the cockpit panicked on the keys {typed:?}");
        }
    }
    assert!(keys_sent >= 200, "{keys_sent} keys sent");
    println!("{keys_sent} keys through update() and render, no panic");
}
