//! Keys as the help lists them: the overlays, editing a line, the `:` commands, filters
//! that apply as typed and stay with their view, namespaces, operations named on the line.

use std::sync::Arc;

use super::*;

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
fn op_commands_check_their_words_and_go_through_the_same_checks_as_keys() {
    let mut app = priced_app();
    for (command_text, said) in [
        ("promote fraud", "usage: promote MODEL VERSION"),
        ("drain", "usage: drain NODE"),
        ("canary fraud", "usage: canary MODEL VERSION=WEIGHT…"),
    ] {
        command(&mut app, command_text);
        assert_eq!(message(&app), said, "{command_text}");
    }
    for command_text in ["promote fraud v2", "drain od-b", "canary fraud v1=50 v2=50"] {
        command(&mut app, command_text);
        let said = message(&app);
        assert!(
            said.starts_with("not done: ") || said.starts_with("read-only"),
            "{command_text}: {said}"
        );
        assert!(
            app.take_effects().is_empty(),
            "{command_text}: nothing is sent"
        );
    }
    // A GPU is part of a node: there is no object of its own to edit.
    press(&mut app, "3");
    press(&mut app, "e");
    assert_eq!(message(&app), "edit: select a row with an object first");
}

#[test]
fn the_help_lists_the_commands() {
    use ratatui::{Terminal, backend::TestBackend};
    let mut app = app();
    press(&mut app, "?");
    let mut terminal = Terminal::new(TestBackend::new(100, 200)).expect("terminal");
    terminal
        .draw(|frame| crate::tui::render::render(&app, frame))
        .expect("drawn");
    let screen = terminal.backend().to_string();
    for command in [":ns", ":ctx", ":theme", ":quit", ":promote"] {
        assert!(screen.contains(command), "{command} in {screen}");
    }
}

fn filter_text(app: &App) -> String {
    match &app.mode {
        Mode::Filter { line, .. } => line.text().to_string(),
        other => panic!("not the filter line: {other:?}"),
    }
}
