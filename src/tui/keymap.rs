//! Key bindings as data: TOML files with one section per context, compiled-in
//! defaults, and an optional user file laid over them. The help screen is
//! generated from the same bindings so it can never drift from behaviour.
//!
//! Depends on `toml` 0.9 (not an older or hand-rolled parser) because it
//! reports byte spans (`toml::Spanned`, `de::Error::span`), which is what lets
//! every error name the file and line to fix.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::action::Action;
use super::config_file::{ConfigError, ConfigFile, Layered};
use super::keys::Key;

/// Built-in keymap names, for `--keymap` completion and error messages.
pub const BUILTINS: &[&str] = &["default", "vim"];

/// Where a key is pressed. Bindings in `Global` apply everywhere unless the
/// current context binds the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    Global,
    Table,
    /// The help overlay.
    Help,
    Yaml,
    /// An operation's dialog: its effect and dry-run, confirmed or not.
    Dialog,
    /// The logs view.
    Logs,
    /// Editing an object's YAML: keys not bound here type.
    Editor,
    /// A form's fields: keys not bound here edit the field, as on a line.
    Form,
    /// Typing a line: no global bindings, other keys type.
    Line,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Context::Global => "global",
            Context::Table => "table",
            Context::Help => "help",
            Context::Yaml => "yaml",
            Context::Dialog => "dialog",
            Context::Logs => "logs",
            Context::Editor => "editor",
            Context::Form => "form",
            Context::Line => "line",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Binding {
    keys: Vec<Key>,
    action: Action,
    desc: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keymap {
    contexts: BTreeMap<Context, Vec<Binding>>,
}

/// One row of the help screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpLine {
    pub context: Context,
    /// The binding's keys in canonical spelling, e.g. "j, down".
    pub keys: String,
    pub action: Action,
    pub desc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    keys: Vec<RawBinding>,
}

// Strings stay `Spanned` so errors found after parsing still have a line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    on: Spanned<Vec<Spanned<String>>>,
    run: Spanned<String>,
    desc: Option<String>,
}

/// Loads a built-in keymap ("default" or "vim") with `user_file` laid over it.
/// Never fails: any problem in the user file means the built-in is returned
/// unchanged, along with errors to show the user.
pub fn load(builtin: &str, user_file: Option<&Path>) -> (Keymap, Vec<ConfigError>) {
    Keymap::load(builtin, user_file)
}

impl Keymap {
    /// The action for `key` in `context`, falling back to the global bindings (except while
    /// typing a line, where `q` is a letter).
    pub fn lookup(&self, context: Context, key: &Key) -> Option<Action> {
        let find = |context| {
            let bindings = self.contexts.get(&context)?;
            let binding = bindings.iter().find(|b| b.keys.contains(key))?;
            Some(binding.action)
        };
        let global = || find(Context::Global).filter(|_| context != Context::Line);
        find(context).or_else(global)
    }

    /// The keys bound to `action` in `context`, else globally, as the help spells them.
    pub fn keys_of(&self, context: Context, action: Action) -> Option<String> {
        [context, Context::Global].iter().find_map(|c| {
            let binding = self.contexts.get(c)?.iter().find(|b| b.action == action)?;
            Some(spelled(&binding.keys))
        })
    }

    /// Every binding, grouped by context in a stable order.
    pub fn help(&self) -> Vec<HelpLine> {
        let lines = self.contexts.iter().flat_map(|(&context, bindings)| {
            bindings.iter().map(move |binding| HelpLine {
                context,
                keys: spelled(&binding.keys),
                action: binding.action,
                desc: binding
                    .desc
                    .clone()
                    .unwrap_or_else(|| binding.action.describe().to_owned()),
            })
        });
        lines.collect()
    }
}

/// Keys in their canonical spelling, e.g. "j, down".
fn spelled(keys: &[Key]) -> String {
    keys.iter()
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Layered for Keymap {
    const KIND: &'static str = "keymap";
    const DIR: &'static str = "keymaps";
    const BUILTINS: &'static [&'static str] = BUILTINS;

    fn builtin_text(name: &str) -> Option<&'static str> {
        match name {
            "default" => Some(include_str!("../../keymaps/default.toml")),
            "vim" => Some(include_str!("../../keymaps/vim.toml")),
            _ => None,
        }
    }

    fn parse(file: &ConfigFile) -> Result<Self, Vec<ConfigError>> {
        let raw: BTreeMap<Context, RawSection> = file.parse().map_err(|err| vec![err])?;
        let mut errors = Vec::new();
        let mut keymap = Keymap::default();
        for (context, section) in raw {
            let mut seen = HashSet::new();
            let bindings = keymap.contexts.entry(context).or_default();
            for raw in section.keys {
                let binding = parse_binding(file, context, raw, &mut seen, &mut errors);
                bindings.extend(binding);
            }
        }
        if errors.is_empty() {
            Ok(keymap)
        } else {
            Err(errors)
        }
    }

    /// A user binding takes its keys away from any built-in binding in the
    /// same context; built-in bindings left with no keys disappear.
    fn overlay(&mut self, user: Self) {
        for (context, user_bindings) in user.contexts {
            let bindings = self.contexts.entry(context).or_default();
            let rebound = |key: &Key| user_bindings.iter().any(|b| b.keys.contains(key));
            for binding in bindings.iter_mut() {
                binding.keys.retain(|key| !rebound(key));
            }
            bindings.retain(|binding| !binding.keys.is_empty());
            bindings.extend(user_bindings);
        }
    }
}

/// Checks one binding, recording every problem so a user fixes them in one go.
fn parse_binding(
    file: &ConfigFile,
    context: Context,
    raw: RawBinding,
    seen: &mut HashSet<Key>,
    errors: &mut Vec<ConfigError>,
) -> Option<Binding> {
    let action = raw.run.get_ref().parse::<Action>().ok();
    if action.is_none() {
        let message = format!("unknown action {:?}", raw.run.get_ref());
        errors.push(file.error_at(raw.run.span(), message));
    }
    if raw.on.get_ref().is_empty() {
        errors.push(file.error_at(raw.on.span(), "binding has no keys"));
    }
    let mut keys = Vec::new();
    for text in raw.on.into_inner() {
        match text.get_ref().parse::<Key>() {
            Ok(key) if !seen.insert(key) => {
                let message = format!("key {:?} is bound twice in [{context}]", text.get_ref());
                errors.push(file.error_at(text.span(), message));
            }
            Ok(key) => keys.push(key),
            Err(err) => errors.push(file.error_at(text.span(), err.to_string())),
        }
    }
    Some(Binding {
        keys,
        action: action?,
        desc: raw.desc,
    })
}

#[cfg(test)]
mod tests;
