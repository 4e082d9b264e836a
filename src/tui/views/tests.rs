//! The view registry and the shipped keymaps agree: in each keymap every registered view
//! opens by its number on the tabs and by its `:` commands, and every `View…` action a keymap
//! names is a registered view. A view added to the registry without its keymap line, or a
//! keymap line naming a view that is not there, fails here.

use std::str::FromStr;

use crate::tui::action::Action;
use crate::tui::app::{App, Msg};
use crate::tui::color_depth::ColorDepth;
use crate::tui::config_file::Layered;
use crate::tui::keymap::{self, BUILTINS, Context, Keymap};
use crate::tui::keys::Key;
use crate::tui::theme;
use crate::tui::views::View;

fn app_with(keymap_name: &str) -> App {
    let (keymap, errors) = keymap::load(keymap_name, None);
    assert_eq!(errors, [], "keymaps/{keymap_name}.toml");
    let (theme, _) = theme::load("dark", None);
    let now = chrono::Utc::now();
    App::new(keymap, theme, ColorDepth::TrueColor, "test".into(), now)
}

fn press(app: &mut App, keys: &str) {
    for k in keys.split(' ') {
        app.update(Msg::Key(Key::from_str(k).expect("key")));
    }
}

/// Some other view than `view`, to come from.
fn other_than(view: View) -> View {
    View::ALL
        .into_iter()
        .find(|v| *v != view)
        .expect("two views")
}

#[test]
fn every_registered_view_opens_by_its_number_in_each_shipped_keymap() {
    for name in BUILTINS {
        let mut app = app_with(name);
        for (i, view) in View::ALL.into_iter().enumerate() {
            let action = Action::View(view);
            let bound = app.keymap.keys_of(Context::Table, action);
            assert!(
                bound.is_some(),
                "{} has no key in keymaps/{name}.toml",
                action.name()
            );
            // The tabs show "N:title": from 10 on there is no digit key to match.
            if i < 9 {
                press(&mut app, &(i + 1).to_string());
                assert_eq!(app.view, view, "key {} in keymaps/{name}.toml", i + 1);
            }
        }
    }
}

#[test]
fn every_registered_view_opens_by_each_of_its_commands() {
    for name in BUILTINS {
        let mut app = app_with(name);
        for view in View::ALL {
            assert!(!view.def().commands.is_empty(), "{view:?} has no command");
            for command in view.def().commands {
                app.view = other_than(view);
                press(&mut app, ":");
                for c in command.chars() {
                    press(&mut app, &c.to_string());
                }
                press(&mut app, "enter");
                assert_eq!(app.view, view, ":{command} with keymaps/{name}.toml");
            }
        }
    }
}

#[test]
fn every_view_action_in_the_shipped_keymaps_names_a_registered_view() {
    for name in BUILTINS {
        let text = Keymap::builtin_text(name).expect("a built-in keymap");
        let raw: toml::Table = toml::from_str(text).expect("TOML");
        let runs = raw.values().flat_map(|section| {
            let bindings = section["keys"].as_array().expect("keys");
            bindings.iter().map(|b| b["run"].as_str().expect("run"))
        });
        for run in runs.filter(|run| run.starts_with("View")) {
            let action = run.parse::<Action>();
            assert!(
                matches!(action, Ok(Action::View(_))),
                "{run} in keymaps/{name}.toml is no registered view"
            );
            assert_eq!(action.map(Action::name).ok().as_deref(), Some(run));
        }
    }
}
