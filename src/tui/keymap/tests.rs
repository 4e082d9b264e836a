use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::config_file::write_temp;

/// Actions with no key in the built-in keymaps. None today: every action is
/// reachable from the keyboard. Add one here only on purpose.
const DELIBERATELY_UNBOUND: &[Action] = &[];

fn key(text: &str) -> Key {
    text.parse().unwrap()
}

fn builtin(name: &str) -> Keymap {
    let (keymap, errors) = load(name, None);
    assert_eq!(errors, []);
    keymap
}

fn load_user(name: &str, text: &str) -> (Keymap, Vec<ConfigError>, String) {
    let path = write_temp(name, text);
    let (keymap, errors) = load("default", Some(&path));
    (keymap, errors, path.display().to_string())
}

#[test]
fn builtins_bind_every_action() {
    for name in BUILTINS {
        let bound: HashSet<Action> = builtin(name).help().iter().map(|l| l.action).collect();
        for action in Action::ALL {
            assert_eq!(
                bound.contains(action),
                !DELIBERATELY_UNBOUND.contains(action),
                "{action:?} in keymaps/{name}.toml"
            );
        }
    }
}

#[test]
fn context_bindings_win_over_global_ones() {
    let keymap = builtin("default");
    assert_eq!(keymap.lookup(Context::Table, &key("q")), Some(Action::Quit));
    assert_eq!(keymap.lookup(Context::Help, &key("q")), Some(Action::Back));
    assert_eq!(keymap.lookup(Context::Global, &key("j")), None);
    let shifted_g = Key::from_event(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT));
    assert_eq!(
        keymap.lookup(Context::Table, &shifted_g),
        Some(Action::Bottom)
    );
}

#[test]
fn vim_pages_with_ctrl_d_and_ctrl_u() {
    let keymap = builtin("vim");
    assert_eq!(
        keymap.lookup(Context::Table, &key("ctrl-d")),
        Some(Action::PageDown)
    );
    assert_eq!(
        keymap.lookup(Context::Help, &key("ctrl-u")),
        Some(Action::PageUp)
    );
}

#[test]
fn help_lists_every_default_binding_with_its_desc() {
    let help = builtin("default").help();
    let raw: toml::Table = toml::from_str(include_str!("../../../keymaps/default.toml")).unwrap();
    let mut expected = 0;
    for (context, section) in &raw {
        for binding in section["keys"].as_array().unwrap() {
            let on: Vec<&str> = binding["on"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            let action: Action = binding["run"].as_str().unwrap().parse().unwrap();
            let desc = binding
                .get("desc")
                .map_or(action.describe(), |d| d.as_str().unwrap());
            let found = help.iter().any(|line| {
                line.context.to_string() == *context
                    && line.keys == on.join(", ")
                    && line.action == action
                    && line.desc == desc
            });
            assert!(found, "[{context}] {on:?} -> {action:?} missing from help");
            expected += 1;
        }
    }
    assert_eq!(help.len(), expected);
}

#[test]
fn user_binding_replaces_default_key_and_adds_new_ones() {
    let (keymap, errors, _) = load_user(
        "overlay.toml",
        r#"
[table]
keys = [
  { on = ["j"], run = "PageDown" },
  { on = ["x"], run = "ShowYaml", desc = "YAML!" },
]
"#,
    );
    assert_eq!(errors, []);
    assert_eq!(
        keymap.lookup(Context::Table, &key("j")),
        Some(Action::PageDown)
    );
    assert_eq!(
        keymap.lookup(Context::Table, &key("down")),
        Some(Action::Down)
    );
    assert_eq!(
        keymap.lookup(Context::Table, &key("x")),
        Some(Action::ShowYaml)
    );
    // Other contexts keep their own `j`.
    assert_eq!(keymap.lookup(Context::Help, &key("j")), Some(Action::Down));
    let help = keymap.help();
    let line = |action| {
        help.iter()
            .find(|l| l.context == Context::Table && l.action == action)
    };
    assert_eq!(line(Action::Down).unwrap().keys, "down");
    assert!(help.iter().any(|l| l.keys == "x" && l.desc == "YAML!"));
}

#[test]
fn binding_all_keys_of_a_default_removes_it_from_help() {
    let (keymap, errors, _) = load_user(
        "rebind-all.toml",
        "[global]\nkeys = [{ on = [\"f1\", \"?\"], run = \"Filter\" }]\n",
    );
    assert_eq!(errors, []);
    assert!(!keymap.help().iter().any(|l| l.action == Action::Help));
}

#[test]
fn unknown_action_reports_path_and_line_and_keeps_defaults() {
    let (keymap, errors, path) = load_user(
        "bad-action.toml",
        "[global]\nkeys = [\n  { on = [\"x\"], run = \"Filter\" },\n  { on = [\"q\"], run = \"Quitt\" },\n]\n",
    );
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages, [format!("{path}:4: unknown action \"Quitt\"")]);
    assert_eq!(keymap, builtin("default"));
}

#[test]
fn unknown_key_reports_path_and_line() {
    let (_, errors, path) = load_user(
        "bad-key.toml",
        "# comment\n\n[table]\nkeys = [\n  { on = [\"j\",\n          \"ctrl-x-y\"], run = \"Down\" },\n]\n",
    );
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages, [format!("{path}:6: unknown key \"ctrl-x-y\"")]);
}

#[test]
fn duplicate_key_in_a_context_is_reported_at_its_second_use() {
    let (_, errors, path) = load_user(
        "dup.toml",
        "[table]\nkeys = [\n  { on = [\"j\"], run = \"Down\" },\n  { on = [\"x\"], run = \"Up\" },\n  { on = [\"j\"], run = \"Up\" },\n]\n",
    );
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [format!("{path}:5: key \"j\" is bound twice in [table]")]
    );
}

#[test]
fn toml_shape_errors_report_their_line() {
    let (_, errors, path) = load_user("bad-context.toml", "\n[tabel]\nkeys = []\n");
    let message = errors[0].to_string();
    assert!(
        message.starts_with(&format!("{path}:2: unknown variant `tabel`")),
        "{message}"
    );

    let (_, errors, path) = load_user(
        "bad-field.toml",
        "[yaml]\nkeys = [\n  { on = [\"a\"], go = \"Up\" },\n]\n",
    );
    let message = errors[0].to_string();
    assert!(
        message.starts_with(&format!("{path}:3: unknown field `go`")),
        "{message}"
    );
}

#[test]
fn unreadable_user_file_and_unknown_builtin_fall_back_to_default() {
    let missing = std::env::temp_dir().join("mlxp-test-no-such-keymap.toml");
    let (keymap, errors) = load("emacs", Some(&missing));
    assert_eq!(keymap, builtin("default"));
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[0].to_string(),
        "unknown built-in keymap \"emacs\", expected one of: default, vim"
    );
    assert!(
        errors[1]
            .to_string()
            .starts_with(&missing.display().to_string())
    );
}

#[test]
fn keys_of_an_action_come_from_its_context_then_the_global_bindings() {
    let (keymap, _) = load("default", None);
    assert_eq!(
        keymap
            .keys_of(Context::Table, Action::DetailDown)
            .as_deref(),
        Some("J, shift-down")
    );
    assert_eq!(
        keymap.keys_of(Context::Table, Action::Quit).as_deref(),
        Some("q, ctrl-c")
    );
    assert_eq!(keymap.keys_of(Context::Yaml, Action::ToggleDetail), None);
}

/// Enter opens the selected row's YAML: the help says so (issue 9, item 22).
#[test]
fn the_help_says_enter_shows_the_yaml() {
    for name in BUILTINS {
        let help = builtin(name).help();
        let enter = help
            .iter()
            .find(|l| l.context == Context::Table && l.keys.split(", ").any(|k| k == "enter"))
            .expect("enter is bound");
        assert!(enter.desc.contains("YAML"), "{name}: {}", enter.desc);
    }
}
