use std::str::FromStr;
use std::sync::Arc;

use super::app::*;
use super::keys::Key;
use super::views::View;
use super::{color_depth::ColorDepth, keymap, theme};
use crate::cluster::Snapshot;

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
    press(&mut app, ":");
    type_text(&mut app, "gp");
    press(&mut app, "tab");
    assert_eq!(app.mode, Mode::Command("gpus".into()));
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
    assert_eq!(
        app.filter.as_ref().map(|(t, _)| t.as_str()),
        Some("-l mlxp.io/pool=training")
    );
    press(&mut app, "/");
    press(&mut app, "esc");
    assert!(
        app.filter.is_some(),
        "esc in the filter line cancels the edit only"
    );
    press(&mut app, "esc");
    assert!(app.filter.is_none(), "esc in the table clears the filter");
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
    assert_eq!(app.mode, Mode::Command("ctx prod-".into()));
    type_text(&mut app, "u");
    press(&mut app, "tab");
    assert_eq!(app.mode, Mode::Command("ctx prod-us".into()));
    press(&mut app, "esc :");
    type_text(&mut app, "ns t");
    press(&mut app, "tab");
    assert_eq!(app.mode, Mode::Command("ns training".into()));
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
