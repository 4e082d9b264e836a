//! The launch form (`T` on a model's version or a training job): a training run's
//! overrides field by field — model, GPUs, pool, GPU product, capacity, image,
//! hyperparameters, dataset, queue — checked against the cluster as they are typed (the
//! same checks `mlxp train` makes); `enter` opens the run's Job in the editor for last
//! changes, and saving it previews the run through the dialog.

use super::editor::{EditFor, Editor, editable_yaml};
use super::{App, Mode};
use crate::tui::action::Action;
use crate::tui::keymap::Context;
use crate::tui::keys::Key;
use crate::tui::line_edit::LineEdit;
use crate::tui::views::View;
use mlxp_core::ops::{self, Actor, Capacity, Op, Overrides, check_overrides, model_namespace};

/// The fields, in order: (name, what to type).
pub const LAUNCH_FIELDS: [(&str, &str); 9] = [
    ("model", "a Model's name"),
    ("gpus", "GPUs a pod (empty: the Model's)"),
    ("pool", "node pool (mlxp.io/pool)"),
    ("product", "GPU product"),
    ("capacity", "spot, on-demand or empty"),
    ("image", "trainer image (empty: the Model's)"),
    ("env", "hyperparameters KEY=VALUE, space apart"),
    ("dataset", "dataset URI"),
    ("queue", "Kueue LocalQueue (empty: the Model's)"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchForm {
    pub fields: Vec<LineEdit>,
    pub focus: usize,
    /// What is wrong, field by field, as of the last key.
    pub wrong: Vec<(&'static str, String)>,
}

impl LaunchForm {
    fn text(&self, field: &str) -> &str {
        let i = LAUNCH_FIELDS
            .iter()
            .position(|(f, _)| *f == field)
            .unwrap_or(0);
        self.fields[i].text().trim()
    }

    fn optional(&self, field: &str) -> Option<String> {
        Some(self.text(field).to_string()).filter(|t| !t.is_empty())
    }

    /// The model and the overrides typed, or what cannot be read as one.
    pub fn read(&self) -> Result<(String, Overrides), Vec<(&'static str, String)>> {
        let mut wrong = Vec::new();
        let gpus = match self.text("gpus") {
            "" => None,
            text => match text.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    wrong.push(("gpus", format!("{text:?} is not a whole number")));
                    None
                }
            },
        };
        let capacity = match self.text("capacity") {
            "" => None,
            "spot" => Some(Capacity::Spot),
            "on-demand" => Some(Capacity::OnDemand),
            other => {
                wrong.push(("capacity", format!("{other:?}: spot, on-demand or empty")));
                None
            }
        };
        let mut env = Vec::new();
        for pair in self.text("env").split_whitespace() {
            match pair.split_once('=') {
                Some((k, v)) => env.push((k.to_string(), v.to_string())),
                None => wrong.push(("env", format!("{pair:?} is not KEY=VALUE"))),
            }
        }
        if !wrong.is_empty() {
            return Err(wrong);
        }
        Ok((
            self.text("model").to_string(),
            Overrides {
                gpus,
                pool: self.optional("pool"),
                product: self.optional("product"),
                capacity,
                image: self.optional("image"),
                env,
                dataset: self.optional("dataset"),
                queue: self.optional("queue"),
            },
        ))
    }
}

impl App {
    /// `T`: the form, its model the selected version's (Models) or job's (Training).
    pub(super) fn open_launch_form(&mut self) {
        let key = self.selected_here();
        let split = key.as_deref().and_then(|k| k.split_once('/'));
        let model = match (self.view, split) {
            (View::Models, Some((ns, name))) => self
                .snapshot
                .model_versions
                .get(ns, name)
                .map(|v| v.model.clone()),
            (View::Jobs, Some((ns, name))) => self
                .snapshot
                .jobs
                .get(ns, name)
                .and_then(|j| j.meta.label("mlxp.io/model").map(String::from)),
            _ => None,
        };
        self.open_launch_form_for(model.as_deref().unwrap_or_default());
    }

    /// The form with `model` filled in (or empty, to type it).
    pub(super) fn open_launch_form_for(&mut self, model: &str) {
        // Read-only, or blind to part of the cluster: no form to fill in for nothing.
        if !self.may_act("launching training") {
            return;
        }
        let model = Some(model).filter(|m| !m.is_empty());
        let mut fields: Vec<LineEdit> = LAUNCH_FIELDS.iter().map(|_| LineEdit::default()).collect();
        fields[0] = LineEdit::new(model.unwrap_or_default());
        let mut form = LaunchForm {
            fields,
            focus: usize::from(model.is_some()),
            wrong: Vec::new(),
        };
        form.wrong = self.check_launch(&form);
        self.mode = Mode::Launch(Box::new(form));
    }

    /// What is wrong with the form as typed, against the cluster shown.
    fn check_launch(&self, form: &LaunchForm) -> Vec<(&'static str, String)> {
        let (model, overrides) = match form.read() {
            Ok(read) => read,
            Err(wrong) => return wrong,
        };
        if model.is_empty() {
            return vec![("model", "which model? type its name".into())];
        }
        match model_namespace(&self.snapshot, &model, None) {
            Ok(ns) => check_overrides(&self.snapshot, &ns, &model, &overrides),
            Err(e) => vec![("model", e.to_string())],
        }
    }

    pub(super) fn launch_key(&mut self, key: Key) {
        let Mode::Launch(form) = &mut self.mode else {
            return;
        };
        let n = form.fields.len();
        match self.keymap.lookup(Context::Form, &key) {
            Some(Action::Back) => return self.mode = Mode::Normal,
            Some(Action::Submit) => return self.submit_launch(),
            Some(Action::Down) => return form.focus = (form.focus + 1) % n,
            Some(Action::Up) => return form.focus = (form.focus + n - 1) % n,
            _ => {}
        }
        let line = &mut form.fields[form.focus];
        match (self.keymap.lookup(Context::Line, &key), key.typed_char()) {
            (Some(action), _) => line.apply(action),
            (None, Some(c)) => line.insert(c),
            (None, None) => return,
        }
        let form = form.clone();
        let wrong = self.check_launch(&form);
        if let Mode::Launch(form) = &mut self.mode {
            form.wrong = wrong;
        }
    }

    fn submit_launch(&mut self) {
        let Mode::Launch(form) = &self.mode else {
            return;
        };
        if !form.wrong.is_empty() {
            self.message = Some(format!("not launched: {}", form.wrong[0].1));
            return;
        }
        let Ok((model, overrides)) = form.read() else {
            return;
        };
        let Ok(namespace) = model_namespace(&self.snapshot, &model, None) else {
            return;
        };
        let op = Op::Train {
            namespace,
            model,
            overrides,
            job: None,
        };
        let actor = Actor {
            user: "you".into(),
            now: self.now,
        };
        // The run's Job in the editor for last changes; saving previews it.
        match ops::plan(&op, &self.snapshot, &actor) {
            Err(refused) => self.message = Some(format!("not launched: {refused}")),
            Ok(plan) => {
                let Some(create) = plan.requests.first() else {
                    return;
                };
                let yaml = editable_yaml(create.change.body());
                let mut editor =
                    Editor::new(create.target.clone(), &yaml, EditFor::Launch(Box::new(op)));
                editor.note = Some(format!(
                    "{}: last changes, then ctrl-s previews it",
                    plan.effect
                ));
                self.open_edit(editor);
            }
        }
    }
}
