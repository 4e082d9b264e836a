//! The help overlay's rows, generated from the keymap in use: what `update()` scrolls through
//! and what render draws are the same list.

use super::keymap::Keymap;

/// One row of the help: where it applies, its keys, what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    pub section: String,
    pub keys: String,
    pub desc: String,
}

pub fn rows(keymap: &Keymap) -> Vec<HelpRow> {
    keymap
        .help()
        .into_iter()
        .map(|line| HelpRow {
            section: line.context.to_string(),
            keys: line.keys,
            desc: line.desc,
        })
        .collect()
}
