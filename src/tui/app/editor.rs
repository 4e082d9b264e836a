//! Editing an object (`e`, as `kubectl edit`): its YAML in the built-in editor; `ctrl-s`
//! checks it (a YAML error names its line), then the dialog shows the server's dry-run of
//! the replacement and `y` sends it with the resourceVersion it was read at. Changed on the
//! server meanwhile, it comes back to the editor with the text kept; `ctrl-r` takes the
//! fresh resourceVersion into it, and saving then applies the edit over the new version.

use ratatui_textarea::TextArea;
use serde_json::Value;

use super::op_dialog::OpDialog;
use super::{App, Effect, Mode};
use crate::tui::action::Action;
use crate::tui::keymap::Context;
use crate::tui::keys::Key;
use mlxp_core::ops::{self, Actor, Op, Target};

/// An object being edited.
#[derive(Debug, Clone)]
pub struct Editor {
    pub target: Target,
    pub text: TextArea<'static>,
    /// Why the last save did not go through, or what to do next.
    pub note: Option<String>,
    pub purpose: EditFor,
}

/// What saving the edit does.
#[derive(Debug, Clone, PartialEq)]
pub enum EditFor {
    /// Replaces the object it was read from.
    Replace,
    /// Creates the launch form's run (this `Op::Train`) with the Job as edited.
    Launch(Box<Op>),
}

impl Editor {
    pub fn new(target: Target, yaml: &str, purpose: EditFor) -> Editor {
        Editor {
            target,
            text: TextArea::new(yaml.lines().map(String::from).collect()),
            note: None,
            purpose,
        }
    }
}

impl PartialEq for Editor {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target && self.text.lines() == other.text.lines()
    }
}

/// The object as the editor shows it: YAML without its managedFields (the server keeps
/// those), as kubectl edit shows it.
pub fn editable_yaml(object: &Value) -> String {
    let mut object = object.clone();
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    serde_saphyr::to_string(&object).unwrap_or_else(|e| format!("# not shown: {e}\n"))
}

/// The text as an object, or the YAML error's first line (it names the line and column).
pub fn parse_edit(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        let said = e.to_string();
        let first = said.lines().next().unwrap_or("not YAML").trim();
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    })
}

/// The text with its first `resourceVersion:` line (the object's) set to `rv`.
fn with_resource_version(lines: &[String], rv: &str) -> Vec<String> {
    let mut done = false;
    lines
        .iter()
        .map(|line| {
            let trimmed = line.trim_start();
            if !done && trimmed.starts_with("resourceVersion:") {
                done = true;
                let indent = &line[..line.len() - trimmed.len()];
                format!("{indent}resourceVersion: '{rv}'")
            } else {
                line.clone()
            }
        })
        .collect()
}

impl App {
    /// `e` on a row: its object is read fresh, then opens in the editor.
    pub(super) fn open_editor(&mut self) {
        if let Some(why) = self.read_only_reason() {
            self.message = Some(format!("read-only ({why}): edit is disabled"));
            return;
        }
        let target = self
            .selected_here()
            .and_then(|key| self.view.table_def()?.object?.target(&key));
        match target {
            Some(target) => self.effects.push(Effect::FetchForEdit { target }),
            None => self.message = Some("edit: select a row with an object first".into()),
        }
    }

    /// The object to edit arrived: a new editor, or (ctrl-r after a conflict) the fresh
    /// resourceVersion taken into the text kept.
    pub(super) fn edit_loaded(&mut self, target: Target, result: Result<Value, String>) {
        let object = match result {
            Ok(object) => object,
            Err(e) => {
                self.message = Some(format!("edit: could not read {target}: {e}"));
                return;
            }
        };
        if let Mode::Edit(editor) = &mut self.mode
            && editor.target == target
        {
            let rv = object["metadata"]["resourceVersion"].as_str().unwrap_or("");
            let lines = with_resource_version(editor.text.lines(), rv);
            editor.text = TextArea::new(lines);
            editor.note = Some(format!(
                "now at resourceVersion {rv}: ctrl-s applies your text over the object as it is now"
            ));
            return;
        }
        let editor = Editor::new(target, &editable_yaml(&object), EditFor::Replace);
        self.open_edit(editor);
    }

    /// An edit opens in `$EDITOR` when it is set (as kubectl edit), else in the built-in one.
    pub(super) fn open_edit(&mut self, editor: Editor) {
        if self.external_editor.is_some() {
            self.effects.push(Effect::EditOutside(Box::new(editor)));
        } else {
            self.mode = Mode::Edit(Box::new(editor));
        }
    }

    /// `$EDITOR` closed: its text is checked and previewed as a save from the built-in
    /// editor would be; a YAML error leaves it in the built-in editor, the line named.
    pub(super) fn edited_outside(
        &mut self,
        mut editor: Box<Editor>,
        result: Result<String, String>,
    ) {
        match result {
            Ok(text) => {
                editor.text = TextArea::new(text.lines().map(String::from).collect());
                self.mode = Mode::Edit(editor);
                self.save_edit();
            }
            Err(e) => {
                editor.note = Some(format!("$EDITOR could not be run ({e}): edit it here"));
                self.mode = Mode::Edit(editor);
            }
        }
    }

    pub(super) fn editor_key(&mut self, key: Key) {
        let Mode::Edit(editor) = &mut self.mode else {
            return;
        };
        match self.keymap.lookup(Context::Editor, &key) {
            Some(Action::Back) => self.mode = Mode::Normal,
            Some(Action::Save) => self.save_edit(),
            Some(Action::Reload) if editor.purpose == EditFor::Replace => {
                let target = editor.target.clone();
                self.effects.push(Effect::FetchForEdit { target });
            }
            _ => {
                editor.text.input(key.to_event());
            }
        }
    }

    /// ctrl-s: the text checked and planned; the dialog previews it.
    fn save_edit(&mut self) {
        let Mode::Edit(editor) = &mut self.mode else {
            return;
        };
        let object = match parse_edit(&editor.text.lines().join("\n")) {
            Ok(object) => object,
            Err(e) => {
                editor.note = Some(format!("not saved: {e}"));
                return;
            }
        };
        let op = match &editor.purpose {
            EditFor::Replace => Op::Replace {
                target: editor.target.clone(),
                object,
            },
            EditFor::Launch(launch) => match launch.as_ref() {
                Op::Train {
                    namespace,
                    model,
                    overrides,
                    ..
                } => Op::Train {
                    namespace: namespace.clone(),
                    model: model.clone(),
                    overrides: overrides.clone(),
                    job: Some(object),
                },
                other => other.clone(),
            },
        };
        let actor = Actor {
            user: "you".into(),
            now: self.now,
        };
        match ops::plan(&op, &self.snapshot, &actor) {
            Err(refused) => editor.note = Some(format!("not saved: {refused}")),
            Ok(plan) => {
                let Mode::Edit(editor) = std::mem::replace(&mut self.mode, Mode::Normal) else {
                    return;
                };
                self.effects.push(Effect::PreviewOp { op: op.clone() });
                let mut dialog = OpDialog::new(op, plan.effect);
                dialog.editor = Some(editor);
                self.mode = Mode::Dialog(Box::new(dialog));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_yaml_error_names_its_line_and_the_object_shows_without_managed_fields() {
        let said = parse_edit("metadata:\n  name: x\n  labels: y\n bad: z\n").unwrap_err();
        assert!(said.starts_with("line 4 column "), "{said}");
        assert!(parse_edit("metadata: {name: x}\n").is_ok());
        let yaml =
            editable_yaml(&json!({"metadata": {"name": "x", "managedFields": [{"manager": "m"}]}}));
        assert!(!yaml.contains("managedFields"), "{yaml}");
        let lines: Vec<String> = [
            "metadata:",
            "  name: x",
            "  resourceVersion: '7'",
            "spec:",
            "  resourceVersion: 1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            with_resource_version(&lines, "9"),
            [
                "metadata:",
                "  name: x",
                "  resourceVersion: '9'",
                "spec:",
                "  resourceVersion: 1"
            ]
        );
    }
}
