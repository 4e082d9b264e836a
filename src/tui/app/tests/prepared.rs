//! Keys show prepared tables: a view switch or a filter typed never builds a table between
//! the key and its frame; an outdated table is rebuilt right after that frame. And a quiet
//! cockpit neither rebuilds nor redraws.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cluster::Snapshot;
use crate::tui::app::*;
use crate::tui::keys::Key;
use crate::tui::views::View;
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
    let mut snapshot = Snapshot::default();
    for name in names {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
        }))
        .expect("a node");
        snapshot
            .nodes
            .items
            .insert((String::new(), name.to_string()), Arc::new(node));
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
