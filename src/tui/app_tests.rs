use std::str::FromStr;

use super::app::*;
use super::keys::Key;
use super::views::View;
use super::{color_depth::ColorDepth, keymap, theme};

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
