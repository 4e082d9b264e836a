//! The help overlay's rows, generated from the keymap in use and the table of `:` commands:
//! what `update()` scrolls through and what render draws are the same list.

use super::action::Action;
use super::commands;
use super::keymap::{Context, Keymap};

/// One row of the help: where it applies, its keys, what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    pub section: String,
    pub keys: String,
    pub desc: String,
}

/// `disabled`: why the operations that change the cluster are off, when they are.
pub fn rows(keymap: &Keymap, disabled: Option<&str>) -> Vec<HelpRow> {
    let keys = keymap.help().into_iter().map(|line| HelpRow {
        section: line.context.to_string(),
        keys: line.keys,
        desc: match disabled {
            Some(why) if line.action.changes_the_cluster() => {
                format!("{} (disabled: read-only, {why})", line.desc)
            }
            _ => line.desc,
        },
    });
    let commands = commands::all().map(|command| HelpRow {
        section: "command".into(),
        keys: format!(":{} {}", command.name(), command.usage)
            .trim_end()
            .to_string(),
        desc: command.describe(),
    });
    keys.chain(commands).collect()
}

/// "q closes, j scrolls": hints from the keymap in use, so they say what the keys do.
pub fn key_hints(keymap: &Keymap, context: Context, hints: &[(Action, &str)]) -> String {
    let hint = |(action, what): &(Action, &str)| {
        let keys = keymap.keys_of(context, *action)?;
        let first = keys.split(", ").next()?.to_string();
        Some(format!("{first} {what}"))
    };
    hints.iter().filter_map(hint).collect::<Vec<_>>().join(", ")
}
