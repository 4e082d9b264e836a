//! The weights form (`W` on a served version): one field per version of the model's route
//! with its weight, the sum shown live; `enter` sends them through the dialog (effect,
//! dry-run, `y`) only when they are whole numbers summing to 100.

use super::op_dialog::OpDialog;
use super::{App, Effect, Mode};
use crate::tui::action::Action;
use crate::tui::keymap::Context;
use crate::tui::keys::Key;
use crate::tui::line_edit::LineEdit;
use crate::tui::views::View;
use mlxp_core::ops::{self, Actor, Op};
use mlxp_core::served::{model_of, version_of};

#[derive(Debug, Clone, PartialEq)]
pub struct WeightsForm {
    pub namespace: String,
    pub model: String,
    /// Each version on the route and its weight as typed.
    pub fields: Vec<(String, LineEdit)>,
    pub focus: usize,
    /// Why `enter` did not go on.
    pub note: Option<String>,
}

impl WeightsForm {
    /// Each field's weight, or what is wrong with the first that is not one.
    pub fn weights(&self) -> Result<Vec<(String, i32)>, String> {
        self.fields
            .iter()
            .map(|(version, line)| {
                let text = line.text().trim();
                match text.parse::<i32>() {
                    Ok(w) if (0..=100).contains(&w) => Ok((version.clone(), w)),
                    _ => Err(format!("{version}: {text:?} is not a weight from 0 to 100")),
                }
            })
            .collect()
    }

    /// The sum of the fields that are numbers, for the live line.
    pub fn sum(&self) -> i32 {
        self.fields
            .iter()
            .filter_map(|(_, line)| line.text().trim().parse::<i32>().ok())
            .sum()
    }
}

impl App {
    pub(super) fn open_weights_form(&mut self) {
        // Read-only, or blind to part of the cluster: no form to fill in for nothing.
        if !self.may_act("setting weights") {
            return;
        }
        let key = self.selected_here().filter(|_| self.view == View::Serving);
        let Some((namespace, backend)) = key.as_deref().and_then(|k| k.split_once('/')) else {
            self.message =
                Some("weights: select a served version on the Serving & Canary view first".into());
            return;
        };
        let snapshot = &self.snapshot;
        let Some(route) = snapshot.routes.values().find(|r| {
            r.meta.namespace == namespace && r.backends.iter().any(|b| b.name == backend)
        }) else {
            self.message = Some("weights: the selected version's route is gone".into());
            return;
        };
        let model = model_of(route).to_string();
        let fields = route
            .backends
            .iter()
            .map(|b| {
                let version = version_of(snapshot, namespace, &model, &b.name);
                (version, LineEdit::selected(&b.weight.to_string()))
            })
            .collect();
        self.mode = Mode::Weights(Box::new(WeightsForm {
            namespace: namespace.to_string(),
            model,
            fields,
            focus: 0,
            note: None,
        }));
    }

    pub(super) fn weights_key(&mut self, key: Key) {
        let Mode::Weights(form) = &mut self.mode else {
            return;
        };
        match self.keymap.lookup(Context::Form, &key) {
            Some(Action::Back) => return self.mode = Mode::Normal,
            Some(Action::Submit) => return self.submit_weights(),
            Some(Action::Down) => {
                form.focus = (form.focus + 1) % form.fields.len().max(1);
                return;
            }
            Some(Action::Up) => {
                let n = form.fields.len().max(1);
                form.focus = (form.focus + n - 1) % n;
                return;
            }
            _ => {}
        }
        form.note = None;
        let Some((_, line)) = form.fields.get_mut(form.focus) else {
            return;
        };
        match (self.keymap.lookup(Context::Line, &key), key.typed_char()) {
            (Some(action), _) => line.apply(action),
            (None, Some(c)) => line.insert(c),
            (None, None) => {}
        }
    }

    fn submit_weights(&mut self) {
        let Mode::Weights(form) = &mut self.mode else {
            return;
        };
        let weights = match form.weights() {
            Ok(weights) => weights,
            Err(e) => {
                form.note = Some(e);
                return;
            }
        };
        let sum = form.sum();
        if sum != 100 {
            form.note = Some(format!("the weights sum to {sum} %, not 100"));
            return;
        }
        let op = Op::SetWeights {
            namespace: form.namespace.clone(),
            model: form.model.clone(),
            weights,
            force: false,
        };
        let actor = Actor {
            user: "you".into(),
            now: self.now,
        };
        match ops::plan(&op, &self.snapshot, &actor) {
            Err(refused) => form.note = Some(format!("not done: {refused}")),
            Ok(plan) if plan.requests.is_empty() => form.note = Some(plan.effect),
            Ok(plan) => {
                self.effects.push(Effect::PreviewOp { op: op.clone() });
                self.mode = Mode::Dialog(Box::new(OpDialog::new(op, plan.effect)));
            }
        }
    }
}
