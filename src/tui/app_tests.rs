use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::json;

use super::app::*;
use super::keys::Key;
use super::views::View;
use super::{color_depth::ColorDepth, keymap, theme};
use crate::cluster::Snapshot;
use crate::domain::cost::PriceTable;
use crate::domain::objects::Node;
use crate::metrics::{GpuSample, MetricsFrame, PodRef};

fn app() -> App {
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
        let key = (String::new(), node.meta.name.clone());
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
    use super::derived::HeatCell::{Allocated, Free};
    let mut app = app();
    let mut snapshot = Snapshot::default();
    for node in [
        gpu_node("a-node", "training", 4, true),
        gpu_node("b-node", "training", 2, true),
    ] {
        let key = (String::new(), node.meta.name.clone());
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
        let key = ("training".to_string(), name.to_string());
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
    assert_eq!(overview.idle_per_hour, 3.0 + 10.0);
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
        let key = (String::new(), name.to_string());
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
        snapshot
            .pods
            .items
            .insert((ns.to_string(), name.to_string()), Arc::new(pod));
    }
    snapshot
}

#[test]
fn zero_toggles_between_all_namespaces_and_the_last_one_chosen() {
    let mut app = app();
    app.update(Msg::Snapshot(Arc::new(snapshot_with_pods(&[(
        "training", "a",
    )]))));
    command(&mut app, "ns training");
    press(&mut app, "0");
    assert_eq!(app.namespace, None);
    press(&mut app, "0");
    assert_eq!(app.namespace.as_deref(), Some("training"));
}

fn keys_of_rows(app: &App) -> Vec<&str> {
    app.table().rows.iter().map(|r| r.key.as_str()).collect()
}

#[test]
fn shift_s_on_the_gpus_view_puts_the_costliest_idle_gpus_first() {
    let mut app = priced_app();
    press(&mut app, "3 S");
    assert_eq!(keys_of_rows(&app)[..2], ["od-b/1", "spot-a/0"]);
}

#[test]
fn the_command_line_edits_as_a_shell_does() {
    let mut app = app();
    press(&mut app, ":");
    type_text(&mut app, "ns training");
    press(&mut app, "ctrl-w");
    assert_eq!(command_text(&app), "ns ");
    press(&mut app, "ctrl-u");
    assert_eq!(command_text(&app), "");
    type_text(&mut app, "pus");
    press(&mut app, "ctrl-a");
    type_text(&mut app, "g");
    press(&mut app, "ctrl-e");
    type_text(&mut app, "!");
    assert_eq!(command_text(&app), "gpus!");
    press(&mut app, "left delete enter");
    assert_eq!(app.view, View::Gpus);
}

#[test]
fn the_filter_line_edits_the_same_way() {
    let mut app = priced_app();
    press(&mut app, "3 /");
    type_text(&mut app, "od-b stuck");
    press(&mut app, "ctrl-w");
    assert_eq!(filter_text(&app), "od-b ");
    press(&mut app, "ctrl-a");
    type_text(&mut app, "^");
    press(&mut app, "ctrl-e backspace");
    assert_eq!(filter_text(&app), "^od-b");
}

#[test]
fn the_filter_narrows_the_table_as_it_is_typed_and_esc_restores_it() {
    let mut app = priced_app();
    press(&mut app, "3 /");
    type_text(&mut app, "od-");
    assert_eq!(app.table().rows.len(), 2, "{:?}", keys_of_rows(&app));
    press(&mut app, "ctrl-u");
    type_text(&mut app, "stuck");
    assert_eq!(keys_of_rows(&app), ["od-b/1"]);
    press(&mut app, "esc");
    assert_eq!(app.table().rows.len(), 4);
}

#[test]
fn a_reopened_filter_is_selected_typing_replaces_it_and_an_edit_key_keeps_it() {
    let mut app = priced_app();
    press(&mut app, "3 /");
    type_text(&mut app, "od-b");
    press(&mut app, "enter /");
    type_text(&mut app, "spot");
    assert_eq!(
        filter_text(&app),
        "spot",
        "typing replaces the selected filter"
    );
    press(&mut app, "enter /");
    press(&mut app, "backspace");
    assert_eq!(filter_text(&app), "spo", "an edit key edits it");
    press(&mut app, "esc /");
    press(&mut app, "left");
    type_text(&mut app, "-");
    assert_eq!(filter_text(&app), "spo-t");
}

#[test]
fn each_view_keeps_its_own_filter() {
    let mut app = priced_app();
    press(&mut app, "3 /");
    type_text(&mut app, "od-b");
    press(&mut app, "enter 2");
    assert_eq!(app.table().rows.len(), 2, "the nodes view is not filtered");
    press(&mut app, "3");
    assert_eq!(keys_of_rows(&app).len(), 2, "the GPUs view still is");
    assert!(keys_of_rows(&app).iter().all(|k| k.starts_with("od-b")));
}

fn command_text(app: &App) -> String {
    match &app.mode {
        Mode::Command(line) => line.text().to_string(),
        other => panic!("not the command line: {other:?}"),
    }
}

fn filter_text(app: &App) -> String {
    match &app.mode {
        Mode::Filter { line, .. } => line.text().to_string(),
        other => panic!("not the filter line: {other:?}"),
    }
}

/// The GPUs view of `priced_app` with the YAML of its first row open, 100 lines long.
fn yaml_open() -> App {
    let mut app = priced_app();
    press(&mut app, "3 y");
    let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
    app.update(Msg::Yaml(Ok(text)));
    app
}

fn yaml_scroll(app: &App) -> Option<usize> {
    match &app.mode {
        Mode::Yaml(yaml) => Some(yaml.scroll),
        _ => None,
    }
}

fn help_scroll(app: &App) -> Option<usize> {
    match &app.mode {
        Mode::Help { scroll } => Some(*scroll),
        _ => None,
    }
}

#[test]
fn the_yaml_overlay_goes_to_the_top_bottom_and_pages_as_the_help_lists() {
    let mut app = yaml_open();
    press(&mut app, "G");
    assert_eq!(yaml_scroll(&app), Some(99), "G: the last line");
    press(&mut app, "g");
    assert_eq!(yaml_scroll(&app), Some(0), "g: the top");
    press(&mut app, "end");
    assert_eq!(yaml_scroll(&app), Some(99), "end");
    press(&mut app, "home pgdown");
    assert_eq!(yaml_scroll(&app), Some(20), "home, pgdown");
}

#[test]
fn slash_in_the_yaml_searches_and_n_finds_the_next_match() {
    let mut app = yaml_open();
    press(&mut app, "/");
    assert_eq!(yaml_scroll(&app), Some(0), "still the YAML");
    type_text(&mut app, "line 4");
    press(&mut app, "enter");
    assert_eq!(yaml_scroll(&app), Some(4));
    press(&mut app, "n");
    assert_eq!(yaml_scroll(&app), Some(40));
    press(&mut app, "N");
    assert_eq!(yaml_scroll(&app), Some(4));
    press(&mut app, "/");
    type_text(&mut app, "nowhere");
    press(&mut app, "enter");
    assert_eq!(yaml_scroll(&app), Some(4));
    assert_eq!(message(&app), "no match for nowhere");
}

#[test]
fn the_help_goes_to_the_bottom_and_pages_instead_of_closing() {
    let mut app = app();
    press(&mut app, "? pgdown");
    assert_eq!(help_scroll(&app), Some(20));
    press(&mut app, "G");
    let bottom = help_scroll(&app).expect("still the help");
    assert!(bottom > 20, "{bottom}");
    press(&mut app, "j");
    assert_eq!(
        help_scroll(&app),
        Some(bottom),
        "no further than the last line"
    );
    press(&mut app, "g");
    assert_eq!(help_scroll(&app), Some(0));
}

#[test]
fn a_view_key_in_an_overlay_closes_it_and_goes_to_the_view() {
    let mut app = app();
    press(&mut app, "? 4");
    assert_eq!((app.mode.clone(), app.view), (Mode::Normal, View::Jobs));
    let mut app = yaml_open();
    press(&mut app, "5");
    assert_eq!((app.mode.clone(), app.view), (Mode::Normal, View::Models));
}

#[test]
fn tab_on_an_empty_command_line_lists_the_commands() {
    let mut app = app();
    press(&mut app, ": tab");
    for command in ["gpus", "ns", "ctx", "theme", "quit"] {
        assert!(
            message(&app).contains(command),
            "{command} in {}",
            message(&app)
        );
    }
}

#[test]
fn theme_alone_lists_the_themes() {
    let mut app = app();
    command(&mut app, "theme");
    for theme in theme::BUILTINS {
        assert!(
            message(&app).contains(theme),
            "{theme} in {}",
            message(&app)
        );
    }
}

#[test]
fn ns_refuses_a_namespace_the_cluster_does_not_have() {
    let mut app = app();
    app.update(Msg::Snapshot(Arc::new(snapshot_with_pods(&[
        ("training", "a"),
        ("serving", "b"),
    ]))));
    command(&mut app, "ns nope");
    assert_eq!(
        message(&app),
        "no namespace nope · namespaces: serving, training"
    );
    assert_eq!(app.namespace, None);
    command(&mut app, "ns training");
    assert_eq!(app.namespace.as_deref(), Some("training"));
}

#[test]
fn keys_and_commands_not_built_yet_say_so() {
    let mut app = priced_app();
    for (command_text, said) in [
        (
            "promote fraud v2",
            "promote is not built yet (planned: lifecycle operations)",
        ),
        (
            "rollback fraud",
            "rollback is not built yet (planned: lifecycle operations)",
        ),
        (
            "canary fraud 20",
            "canary is not built yet (planned: lifecycle operations)",
        ),
        (
            "approve fraud",
            "approve is not built yet (planned: lifecycle operations)",
        ),
        (
            "train fraud",
            "train is not built yet (planned: training operations)",
        ),
        (
            "retrain fraud",
            "retrain is not built yet (planned: training operations)",
        ),
        (
            "drain od-b",
            "drain is not built yet (planned: node operations)",
        ),
        (
            "cordon od-b",
            "cordon is not built yet (planned: node operations)",
        ),
    ] {
        command(&mut app, command_text);
        assert_eq!(message(&app), said);
    }
    press(&mut app, "3");
    for (key, said) in [
        ("l", "logs is not built yet (planned: pod logs)"),
        ("e", "edit is not built yet (planned: editing objects)"),
        (
            "ctrl-d",
            "delete is not built yet (planned: deleting objects)",
        ),
    ] {
        press(&mut app, key);
        assert_eq!(message(&app), said, "{key}");
    }
}

#[test]
fn the_help_lists_the_commands() {
    use ratatui::{Terminal, backend::TestBackend};
    let mut app = app();
    press(&mut app, "?");
    let mut terminal = Terminal::new(TestBackend::new(100, 200)).expect("terminal");
    terminal
        .draw(|frame| super::render::render(&app, frame))
        .expect("drawn");
    let screen = terminal.backend().to_string();
    for command in [":ns", ":ctx", ":theme", ":quit", ":promote"] {
        assert!(screen.contains(command), "{command} in {screen}");
    }
}
