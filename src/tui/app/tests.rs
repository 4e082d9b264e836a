use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::json;

use crate::cluster::Snapshot;
use crate::metrics::{GpuSample, MetricsFrame, PodRef};
use crate::tui::app::*;
use crate::tui::keys::Key;
use crate::tui::views::View;
use crate::tui::{color_depth::ColorDepth, keymap, theme};
use mlxp_core::domain::cost::PriceTable;
use mlxp_core::domain::objects::Node;

pub(crate) fn app() -> App {
    let (keymap, _) = keymap::load("default", None);
    let (theme, _) = theme::load("dark", None);
    App::new(
        keymap,
        theme,
        ColorDepth::TrueColor,
        "test".into(),
        chrono::Utc::now(),
    )
}

fn press(app: &mut App, keys: &str) {
    for k in keys.split(' ') {
        app.update(Msg::Key(Key::from_str(k).expect("key")));
    }
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let key = if c == ' ' {
            "space".to_string()
        } else {
            c.to_string()
        };
        app.update(Msg::Key(Key::from_str(&key).expect("key")));
    }
}

#[test]
fn number_keys_and_tab_switch_views_and_esc_goes_back() {
    let mut app = app();
    press(&mut app, "3");
    assert_eq!(app.view, View::Gpus);
    press(&mut app, "tab");
    assert_eq!(app.view, View::Jobs);
    press(&mut app, "esc");
    assert_eq!(app.view, View::Gpus);
    press(&mut app, "esc");
    assert_eq!(app.view, View::Overview);
}

#[test]
fn the_command_line_opens_views_with_completion_and_sets_the_namespace() {
    let mut app = app();
    app.update(Msg::Snapshot(Arc::new(snapshot_with_pods(&[(
        "training", "a",
    )]))));
    press(&mut app, ":");
    type_text(&mut app, "gp");
    press(&mut app, "tab");
    assert_eq!(command_text(&app), "gpus");
    press(&mut app, "enter");
    assert_eq!(app.view, View::Gpus);
    press(&mut app, ":");
    type_text(&mut app, "ns training");
    press(&mut app, "enter");
    assert_eq!(app.namespace.as_deref(), Some("training"));
    press(&mut app, ":");
    type_text(&mut app, "bogus");
    press(&mut app, "enter");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("unknown command"))
    );
    press(&mut app, ":");
    type_text(&mut app, "q");
    press(&mut app, "enter");
    assert!(app.quit);
}

#[test]
fn filter_is_typed_applied_and_cleared_by_esc() {
    let mut app = app();
    press(&mut app, "2 /");
    type_text(&mut app, "-l mlxp.io/pool=training");
    press(&mut app, "enter");
    assert_eq!(app.filter(), Some("-l mlxp.io/pool=training"));
    press(&mut app, "/");
    press(&mut app, "esc");
    assert!(
        app.filter().is_some(),
        "esc in the filter line cancels the edit only"
    );
    press(&mut app, "esc");
    assert!(app.filter().is_none(), "esc in the table clears the filter");
    assert_eq!(app.view, View::Nodes);
    press(&mut app, "/");
    type_text(&mut app, "-l in (");
    press(&mut app, "enter");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("filter:"))
    );
}

#[test]
fn sort_cycles_columns_and_reverses() {
    let mut app = app();
    press(&mut app, "2 s");
    assert_eq!(app.sort().map(|s| (s.column, s.reverse)), Some((0, false)));
    press(&mut app, "s S");
    assert_eq!(app.sort().map(|s| (s.column, s.reverse)), Some((1, true)));
}

#[test]
fn help_opens_and_closes_and_themes_cycle() {
    let mut app = app();
    press(&mut app, "?");
    assert_eq!(app.mode, Mode::Help { scroll: 0 });
    press(&mut app, "j");
    assert_eq!(app.mode, Mode::Help { scroll: 1 });
    press(&mut app, "esc");
    assert_eq!(app.mode, Mode::Normal);
    press(&mut app, "t");
    assert_eq!(app.message.as_deref(), Some("theme: light"));
}

fn gpu_node(name: &str, pool: &str, gpus: i64, spot: bool) -> Node {
    let labels = json!({
        "mlxp.io/pool": pool,
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
        "cloud.google.com/gke-spot": spot.to_string(),
    });
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"nvidia.com/gpu": gpus.to_string()}},
    }))
    .expect("node")
}

fn sample(node: &str, gpu: &str, util: f64, pod: Option<&str>) -> GpuSample {
    GpuSample {
        node: node.into(),
        gpu: gpu.into(),
        uuid: format!("GPU-{node}-{gpu}"),
        model_name: "NVIDIA H100 80GB HBM3".into(),
        util,
        fb_used_mib: 1024.0,
        fb_free_mib: 80_000.0,
        power_watts: 100.0,
        pod: pod.map(|name| PodRef {
            namespace: "training".into(),
            name: name.into(),
            container: "main".into(),
        }),
    }
}

/// Two H100 nodes, spot and on-demand, priced by a user's file; two GPUs held but idle,
/// one busy, one free.
fn priced_app() -> App {
    let mut app = app();
    app.prices = PriceTable::from_toml(
        "[cost.gpus]\n\"NVIDIA-H100-80GB-HBM3\" = { on_demand = 10.0, spot = 3.0 }\n",
        Path::new("mlxp.toml"),
    )
    .expect("prices");
    let mut snapshot = Snapshot::default();
    for node in [
        gpu_node("spot-a", "training", 2, true),
        gpu_node("od-b", "training-ondemand", 2, false),
    ] {
        let key = (Default::default(), node.meta.name.clone());
        snapshot.nodes.items.insert(key, Arc::new(node));
    }
    app.update(Msg::Snapshot(Arc::new(snapshot)));
    app.update(Msg::Metrics(Ok(Arc::new(MetricsFrame {
        at: app.now,
        gpus: vec![
            sample("spot-a", "0", 1.0, Some("notebook")),
            sample("spot-a", "1", 0.0, None),
            sample("od-b", "0", 90.0, Some("train")),
            sample("od-b", "1", 2.0, Some("stuck")),
        ],
        traffic: Vec::new(),
        quality: Vec::new(),
    }))));
    app
}

/// Frames of the minutes before the start go into the history only; the live frame that
/// follows is what the views show, and the charts continue from the past ones.
#[test]
fn recent_frames_open_the_history_and_live_frames_follow() {
    use crate::metrics::VersionTraffic;
    let frame = |second: i64, rps: f64| MetricsFrame {
        at: chrono::DateTime::from_timestamp(1_800_000_000 + second, 0).expect("time"),
        gpus: Vec::new(),
        traffic: vec![VersionTraffic {
            model: "fraud".into(),
            version: "v2".into(),
            rps,
            error_ratio: 0.0,
            p50_seconds: None,
            p99_seconds: None,
        }],
        quality: Vec::new(),
    };
    let mut app = app();
    app.update(Msg::Recent(Arc::new(frame(0, 10.0))));
    app.update(Msg::Recent(Arc::new(frame(5, 20.0))));
    assert!(
        app.metrics.is_none(),
        "a past frame is not what the views show"
    );
    app.update(Msg::Metrics(Ok(Arc::new(frame(10, 30.0)))));
    let rps: Vec<f32> = app
        .history
        .traffic("fraud", "v2")
        .expect("a history")
        .rps
        .values()
        .collect();
    assert_eq!(rps, [10.0, 20.0, 30.0]);
    assert_eq!(app.metrics.as_ref().map(|m| m.traffic[0].rps), Some(30.0));
}

/// Without metrics the heat strip still shows where GPUs are used: each node's GPUs held by
/// running pods, then its free ones; finished pods hold nothing.
#[test]
fn without_metrics_the_heat_strip_shows_allocated_and_free_gpus() {
    use crate::tui::derived::HeatCell::{Allocated, Free};
    let mut app = app();
    let mut snapshot = Snapshot::default();
    for node in [
        gpu_node("a-node", "training", 4, true),
        gpu_node("b-node", "training", 2, true),
    ] {
        let key = (Default::default(), node.meta.name.clone());
        snapshot.nodes.items.insert(key, Arc::new(node));
    }
    for (name, node, gpus, phase) in [
        ("p1", "a-node", 3, "Running"),
        ("p2", "b-node", 2, "Succeeded"),
    ] {
        let pod = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "training"},
            "spec": {"nodeName": node, "containers": [
                {"name": "t", "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}}}]},
            "status": {"phase": phase},
        }))
        .expect("pod");
        let key = ("training".into(), name.to_string());
        snapshot.pods.items.insert(key, Arc::new(pod));
    }
    app.update(Msg::Snapshot(Arc::new(snapshot)));
    assert_eq!(
        app.derived.overview.heat,
        [Allocated, Allocated, Allocated, Free, Free, Free]
    );
}

#[test]
fn the_overview_carries_each_pools_burn_and_what_idle_gpus_cost() {
    let app = priced_app();
    let overview = &app.derived.overview;
    let burn: Vec<(&str, f64)> = overview
        .pools
        .iter()
        .map(|line| (line.pool.name.as_str(), line.cost_per_hour))
        .collect();
    assert_eq!(burn, [("training", 6.0), ("training-ondemand", 20.0)]);
    assert_eq!(overview.burn_per_hour, 26.0);
    let idle = overview.alerts.iter().find_map(|a| match a {
        mlxp_core::health::Alert::IdleAllocated { per_hour, .. } => Some(*per_hour),
        _ => None,
    });
    assert_eq!(idle, Some(3.0 + 10.0));
}

#[test]
fn idle_gpus_show_their_cost_and_a_reversed_sort_puts_the_costliest_first() {
    let mut app = priced_app();
    press(&mut app, "3");
    let column = |app: &App, name: &str| {
        app.table()
            .columns
            .iter()
            .position(|c| c.name == name)
            .expect("column")
    };
    let idle = column(&app, "IDLE $/H");
    for _ in 0..=idle {
        press(&mut app, "s");
    }
    press(&mut app, "S");
    assert_eq!(
        app.sort().map(|s| (s.column, s.reverse)),
        Some((idle, true))
    );
    let (price, state) = (column(&app, "$/H"), column(&app, "STATE"));
    let rows: Vec<(&str, &str, &str, &str)> = app
        .table()
        .rows
        .iter()
        .map(|r| {
            let cell = |i: usize| r.cells[i].as_str();
            (r.key.as_str(), cell(price), cell(idle), cell(state))
        })
        .collect();
    assert_eq!(
        rows[..2],
        [
            ("od-b/1", "10.00", "10.00", "IDLE $10.00/h"),
            ("spot-a/0", "3.00", "3.00", "IDLE $3.00/h"),
        ]
    );
    let mut rest = rows[2..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        [
            ("od-b/0", "10.00", "-", "busy"),
            ("spot-a/1", "3.00", "-", "free"),
        ]
    );
}

fn command(app: &mut App, text: &str) {
    press(app, ":");
    type_text(app, text);
    press(app, "enter");
}

fn message(app: &App) -> &str {
    app.message.as_deref().unwrap_or_default()
}

#[test]
fn ctx_lists_the_contexts_refuses_unknown_ones_and_asks_to_switch_to_a_known_one() {
    let mut app = app();
    app.contexts = vec!["test".into(), "prod-eu".into()];
    command(&mut app, "ctx");
    assert_eq!(message(&app), "contexts: test, prod-eu (on test)");
    command(&mut app, "ctx prod-us");
    assert_eq!(
        message(&app),
        "no context prod-us · contexts: test, prod-eu (on test)"
    );
    assert!(app.take_effects().is_empty());
    command(&mut app, "ctx prod-eu");
    assert_eq!(message(&app), "switching to prod-eu…");
    assert_eq!(
        app.take_effects(),
        [Effect::SwitchContext {
            name: "prod-eu".into()
        }]
    );
    assert_eq!(
        app.context, "test",
        "unchanged until the loop says it switched"
    );
}

#[test]
fn a_switched_context_starts_from_an_empty_snapshot_and_a_failed_one_changes_nothing() {
    let mut app = app();
    let mut snapshot = snapshot_with_pods(&[("training", "a")]);
    for name in ["node-a", "node-b"] {
        let node = serde_json::from_str("{}").expect("an empty node");
        let key = (Default::default(), name.to_string());
        snapshot.nodes.items.insert(key, Arc::new(node));
    }
    snapshot.generation = 7;
    app.update(Msg::Snapshot(Arc::new(snapshot)));
    app.update(Msg::ContextSwitched {
        name: "prod-eu".into(),
        result: Err("connection refused".into()),
    });
    assert_eq!(
        message(&app),
        "could not switch to prod-eu: connection refused"
    );
    assert_eq!((app.context.as_str(), app.snapshot.generation), ("test", 7));
    press(&mut app, "2 j");
    assert_eq!(app.selected(), 1);
    app.update(Msg::ContextSwitched {
        name: "prod-eu".into(),
        result: Ok(()),
    });
    assert_eq!(message(&app), "context: prod-eu");
    assert_eq!(
        (app.context.as_str(), app.snapshot.generation),
        ("prod-eu", 0)
    );
    assert_eq!(app.selected(), 0);
}

#[test]
fn tab_completes_contexts_and_the_namespaces_in_the_snapshot() {
    let mut app = app();
    app.contexts = vec!["prod-eu".into(), "prod-us".into(), "staging".into()];
    app.update(Msg::Snapshot(Arc::new(snapshot_with_pods(&[
        ("training", "a"),
        ("training", "b"),
        ("serving", "c"),
    ]))));
    press(&mut app, ":");
    type_text(&mut app, "ctx p");
    press(&mut app, "tab");
    assert_eq!(command_text(&app), "ctx prod-");
    type_text(&mut app, "u");
    press(&mut app, "tab");
    assert_eq!(command_text(&app), "ctx prod-us");
    press(&mut app, "esc :");
    type_text(&mut app, "ns t");
    press(&mut app, "tab");
    assert_eq!(command_text(&app), "ns training");
}

/// A snapshot holding empty pods under these (namespace, name) keys.
fn snapshot_with_pods(keys: &[(&str, &str)]) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for (ns, name) in keys {
        let pod = serde_json::from_str("{}").expect("an empty pod");
        snapshot.pods.items.insert(
            (
                mlxp_core::domain::objects::SharedStr::new(ns),
                name.to_string(),
            ),
            Arc::new(pod),
        );
    }
    snapshot
}

fn command_text(app: &App) -> String {
    match &app.mode {
        Mode::Command(line) => line.text().to_string(),
        other => panic!("not the command line: {other:?}"),
    }
}

/// Issue 9's keys: overlays, line editing, the commands, filters and namespaces.
mod keys;
/// Issue 9's prepared tables: a view switch shows the last build at once.
mod prepared;
