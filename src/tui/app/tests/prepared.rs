//! Keys show prepared tables: a view switch or a filter typed never builds a table between
//! the key and its frame; an outdated table is rebuilt right after that frame. A quiet
//! cockpit neither rebuilds nor redraws, and a metrics frame does not sum the snapshot again.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cluster::Snapshot;
use crate::metrics::{GpuSample, MetricsFrame};
use crate::tui::app::*;
use crate::tui::derived::derive;
use crate::tui::keys::Key;
use crate::tui::snapshot_part::Builds;
use crate::tui::table::Table;
use crate::tui::views::View;
use mlxp_core::domain::cost::{Price, PriceTable};
use mlxp_core::domain::objects::Node;

fn app() -> App {
    let mut app = crate::tui::app::tests::app();
    app.now = at("2026-12-07T10:00:00.100Z");
    app
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a time")
}

fn press(app: &mut App, keys: &str) {
    for k in keys.split(' ') {
        app.update(Msg::Key(Key::from_str(k).expect("key")));
    }
}

fn nodes(names: &[&str]) -> Arc<Snapshot> {
    snapshot_of_nodes(
        names,
        |name| serde_json::json!({"metadata": {"name": name}}),
    )
}

/// A snapshot holding a node per name, each read from `node(name)`.
fn snapshot_of_nodes(names: &[&str], node: impl Fn(&str) -> serde_json::Value) -> Arc<Snapshot> {
    let mut snapshot = Snapshot::default();
    for name in names {
        let node: Node = serde_json::from_value(node(name)).expect("a node");
        snapshot
            .nodes
            .items
            .insert((Default::default(), name.to_string()), Arc::new(node));
    }
    Arc::new(snapshot)
}

fn keys(app: &App) -> Vec<&str> {
    app.table().rows.iter().map(|r| r.key.as_str()).collect()
}

#[test]
fn a_view_switch_shows_the_prepared_table_then_rebuilds_it_after_the_frame() {
    let mut app = app();
    app.update(Msg::Snapshot(nodes(&["a", "b"])));
    press(&mut app, "2");
    assert_eq!(keys(&app), ["a", "b"]);
    press(&mut app, "1");
    app.update(Msg::Snapshot(nodes(&["a", "b", "c"])));
    press(&mut app, "2");
    // The key shows what was built before: no table is built between a key and its frame.
    assert_eq!(app.view, View::Nodes);
    assert_eq!(keys(&app), ["a", "b"]);
    // Right after that frame the outdated table is replaced, whatever the rebuild pace.
    assert!(
        app.rebuild_if_due(),
        "an outdated table is rebuilt after the frame"
    );
    assert_eq!(keys(&app), ["a", "b", "c"]);
    assert!(!app.rebuild_if_due(), "nothing left to rebuild");
}

#[test]
fn a_prepared_table_from_the_current_data_is_not_rebuilt() {
    let mut app = app();
    app.update(Msg::Snapshot(nodes(&["a", "b"])));
    press(&mut app, "2 1 2");
    assert_eq!(keys(&app), ["a", "b"]);
    assert!(!app.rebuild_if_due());
}

#[test]
fn a_filter_typed_refilters_the_prepared_rows_without_rebuilding_them() {
    let mut app = app();
    app.rebuild_every = std::time::Duration::from_secs(3600);
    app.update(Msg::Snapshot(nodes(&["alpha", "beta"])));
    press(&mut app, "2");
    // New data, not yet due for a rebuild: typing filters the rows already built.
    app.update(Msg::Snapshot(nodes(&["alpha", "beta", "alps"])));
    press(&mut app, "/ a l");
    assert_eq!(keys(&app), ["alpha"]);
    press(&mut app, "backspace");
    assert_eq!(keys(&app), ["alpha", "beta"]);
    press(&mut app, "esc");
    assert_eq!(keys(&app), ["alpha", "beta"]);
}

#[test]
fn a_tick_with_nothing_new_neither_rebuilds_nor_redraws_within_a_second() {
    let mut app = app();
    app.update(Msg::Snapshot(nodes(&["a"])));
    press(&mut app, "2");
    assert!(app.take_frame_due(), "a key is shown");
    assert!(!app.take_frame_due(), "and only once");
    app.update(Msg::Tick(at("2026-12-07T10:00:00.350Z")));
    assert!(!app.take_frame_due(), "the same second: nothing to redraw");
    assert!(!app.rebuild_if_due(), "nothing new: nothing to rebuild");
    app.update(Msg::Tick(at("2026-12-07T10:00:01.100Z")));
    assert!(app.take_frame_due(), "the clock's second moved on");
    app.update(Msg::Snapshot(nodes(&["a", "b"])));
    assert!(app.take_frame_due(), "new data is shown");
}

/// Nodes of the training pool, two GPUs each.
fn gpu_nodes(names: &[&str]) -> Arc<Snapshot> {
    snapshot_of_nodes(names, |name| {
        serde_json::json!({
            "metadata": {"name": name, "labels": {"mlxp.io/pool": "training"}},
            "status": {"allocatable": {"nvidia.com/gpu": "2"}},
        })
    })
}

/// A frame `second`s from the app's clock: node a's GPUs at `util` percent.
fn frame(app: &App, second: i64, util: f64) -> Msg {
    let gpu = |index: &str| GpuSample {
        node: "a".into(),
        gpu: index.into(),
        uuid: format!("GPU-a-{index}"),
        model_name: "NVIDIA-L4".into(),
        util,
        fb_used_mib: 1024.0,
        fb_free_mib: 23_000.0,
        power_watts: 70.0,
        pod: None,
    };
    Msg::Metrics(Ok(Arc::new(MetricsFrame {
        at: app.now + chrono::Duration::seconds(second),
        gpus: vec![gpu("0"), gpu("1")],
        traffic: Vec::new(),
        quality: Vec::new(),
    })))
}

#[test]
fn a_metrics_frame_rebuilds_the_overview_without_summing_the_snapshot_again() {
    let mut app = app();
    app.update(Msg::Snapshot(gpu_nodes(&["a", "b"])));
    let built = app.kept.builds;
    assert_eq!(
        built,
        Builds {
            node_pools: 1,
            snapshot_parts: 1
        }
    );
    for (i, util) in [(1, 10.0), (2, 50.0), (3, 90.0)] {
        app.update(frame(&app, i * 5, util));
        // What the frame changes is shown…
        assert_eq!(app.derived.overview.pools[0].util, Some(util));
    }
    // … and neither the sums over the snapshot nor each node's pool was built again.
    assert_eq!(app.kept.builds, built);
    // Another snapshot with the same nodes: its sums are built again, the nodes' pools not.
    let mut same_nodes = (*app.snapshot).clone();
    same_nodes.generation += 1;
    app.update(Msg::Snapshot(Arc::new(same_nodes)));
    let builds = |app: &App| (app.kept.builds.node_pools, app.kept.builds.snapshot_parts);
    assert_eq!(builds(&app), (1, 2));
    // Other prices: the burn is summed again at the next frame.
    let burn = app.derived.overview.burn_per_hour;
    let price = Price {
        on_demand: 100.0,
        spot: 50.0,
    };
    app.prices = PriceTable::new(Vec::new(), price, price);
    app.update(frame(&app, 20, 40.0));
    assert_eq!(builds(&app), (1, 3));
    assert_ne!(app.derived.overview.burn_per_hour, burn);
    // New nodes: both.
    app.update(Msg::Snapshot(gpu_nodes(&["a", "b", "c"])));
    assert_eq!(builds(&app), (2, 4));
    // Built in two parts, the Overview is the one built from scratch.
    app.update(frame(&app, 25, 30.0));
    let fresh = derive(View::Overview, &app.inputs(), None, Table::clone);
    assert_eq!(app.derived.overview, fresh.overview);
}
