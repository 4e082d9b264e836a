//! Operations from the cockpit: a key on a row builds the `Op` it means (promote the selected
//! version, cordon the selected node …), planned at once on the snapshot shown so a refusal
//! is said before anything is sent; then a dialog shows the effect in words and the server's
//! dry-run as a diff, and a second key (`y`) has the executor run it. The view shows the new
//! state when the watch delivers it; the result stays in the message line.

use super::editor::Editor;
use super::{App, Effect, Mode, PAGE};
use crate::exec::{CONFLICT, Outcome};
use crate::tui::action::Action;
use crate::tui::keymap::Context;
use crate::tui::keys::Key;
use crate::tui::views::View;
use mlxp_core::ops::{self, Actor, Op};
use mlxp_core::served::{model_of, version_health, version_of};

/// An operation waiting for its confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDialog {
    pub op: Op,
    /// The effect in words, from the plan.
    pub effect: String,
    /// The server's dry-run once it answered: the diff of each object, or why it failed.
    pub preview: Option<Result<Outcome, String>>,
    /// Sent for real: waiting for its result.
    pub running: bool,
    /// Lines scrolled off the top of the diff.
    pub scroll: usize,
    /// The edit this dialog applies: cancelling, or a conflict, goes back to it.
    pub editor: Option<Box<Editor>>,
}

impl OpDialog {
    pub fn new(op: Op, effect: String) -> OpDialog {
        OpDialog {
            op,
            effect,
            preview: None,
            running: false,
            scroll: 0,
            editor: None,
        }
    }

    /// The dry-run's diff lines.
    pub fn diff_lines(&self) -> usize {
        match &self.preview {
            Some(Ok(outcome)) => outcome.diffs.iter().map(|d| d.text.lines().count()).sum(),
            _ => 0,
        }
    }
}

/// Where an operation's key applies: its view (None: any with objects) and what to select.
fn applies_to(action: Action) -> (Option<View>, &'static str) {
    match action {
        Action::Cordon | Action::Uncordon | Action::Drain => (Some(View::Nodes), "a node"),
        Action::Retrain | Action::Approve | Action::Reject => {
            (Some(View::Models), "a model's version")
        }
        Action::ToggleSuspend => (Some(View::Jobs), "a job"),
        Action::Delete => (None, "an object"),
        _ => (Some(View::Serving), "a served version"),
    }
}

impl App {
    /// An operation's key on the current view.
    pub(super) fn start_op(&mut self, action: Action) {
        if !self.may_act(action.describe()) {
            return;
        }
        match self.op_for(action) {
            Ok(op) => self.propose(op),
            Err(why) => self.message = Some(why),
        }
    }

    /// Whether an op may be planned now; if not, the message says why (read-only, or the
    /// cockpit blind to part of the cluster).
    pub(super) fn may_act(&mut self, what: &str) -> bool {
        if let Some(why) = self.read_only_reason() {
            self.message = Some(format!("read-only ({why}): {what} is disabled"));
            return false;
        }
        // An op is planned on what the cockpit sees: not while part of it is unknown.
        let blind = self.snapshot.blind_spots();
        if !blind.is_empty() {
            let kinds: Vec<&str> = blind.iter().map(|k| k.label()).collect();
            self.message = Some(format!(
                "not done: the cockpit cannot see all of the cluster now ({} not synced or \
                 the API server silent); nothing is sent while it is blind",
                kinds.join(", ")
            ));
            return false;
        }
        true
    }

    /// `op` planned on what is shown: refused in the message line, or its dialog opened.
    pub(super) fn propose(&mut self, op: Op) {
        // The executor plans again as the user the server names; this plan is for the
        // words and a refusal before anything is sent.
        let actor = Actor {
            user: "you".into(),
            now: self.now,
        };
        match ops::plan(&op, &self.snapshot, &actor) {
            Err(refused) => self.message = Some(format!("not done: {refused}")),
            Ok(plan) if plan.requests.is_empty() => self.message = Some(plan.effect),
            Ok(plan) => {
                self.effects.push(Effect::PreviewOp { op: op.clone() });
                self.mode = Mode::Dialog(Box::new(OpDialog::new(op, plan.effect)));
            }
        }
    }

    /// The operation `action` means on the selected row.
    fn op_for(&self, action: Action) -> Result<Op, String> {
        let (view, what) = applies_to(action);
        let view_here = view.is_none_or(|v| v == self.view);
        let key = self
            .selected_here()
            .filter(|_| view_here)
            .ok_or_else(|| match view {
                Some(view) => format!(
                    "{}: select {what} on the {} view first",
                    action.describe(),
                    view.def().title
                ),
                None => format!("{}: select {what} first", action.describe()),
            })?;
        let view = self.view;
        if action == Action::Delete {
            let target = view
                .table_def()
                .and_then(|t| t.object)
                .and_then(|o| o.target(&key))
                .ok_or("this row is part of an object: delete the object from its own view")?;
            return Ok(Op::Delete { target });
        }
        if view == View::Nodes {
            return Ok(match action {
                Action::Cordon => Op::Cordon { node: key },
                Action::Drain => Op::Drain {
                    node: key,
                    force: false,
                },
                _ => Op::Uncordon { node: key },
            });
        }
        if view == View::Jobs {
            let (namespace, name) = key.split_once('/').ok_or("no job selected")?;
            let (namespace, name) = (namespace.to_string(), name.to_string());
            return Ok(if self.job_stopped(&namespace, &name) {
                Op::ResumeJob { namespace, name }
            } else {
                Op::SuspendJob { namespace, name }
            });
        }
        if view == View::Models {
            let (namespace, name) = key.split_once('/').ok_or("no version selected")?;
            let version = self
                .snapshot
                .model_versions
                .get(namespace, name)
                .ok_or("the selected version is gone")?;
            let (namespace, model) = (namespace.to_string(), version.model.clone());
            return Ok(match action {
                Action::Approve => Op::Approve {
                    namespace,
                    model,
                    version: version.version.clone(),
                },
                Action::Reject => Op::Reject {
                    namespace,
                    model,
                    version: version.version.clone(),
                    reason: "rejected from the cockpit".into(),
                },
                _ => Op::Retrain {
                    namespace,
                    model,
                    force: false,
                },
            });
        }
        let (namespace, backend) = key.split_once('/').ok_or("no version selected")?;
        let snapshot = &self.snapshot;
        let route = snapshot
            .routes
            .values()
            .find(|r| r.meta.namespace == namespace && r.backends.iter().any(|b| b.name == backend))
            .ok_or("the selected version's route is gone")?;
        let model = model_of(route).to_string();
        let namespace = namespace.to_string();
        Ok(match action {
            Action::Promote => Op::Promote {
                version: version_of(snapshot, &namespace, &model, backend),
                namespace,
                model,
                force: false,
                step: false,
            },
            Action::Rollback => Op::Rollback {
                reason: self.rollback_reason(&namespace, &model),
                namespace,
                model,
            },
            _ => Op::StepCanary {
                namespace,
                model,
                force: false,
            },
        })
    }

    /// A job stopped: through its Kueue Workload when it has one (Kueue itself suspends a
    /// Job that waits for quota), else suspended.
    fn job_stopped(&self, namespace: &str, name: &str) -> bool {
        let snapshot = &self.snapshot;
        let workload = snapshot.workloads.values().find(|w| {
            w.meta.namespace == namespace
                && w.meta
                    .controller()
                    .is_some_and(|o| o.kind == "Job" && o.name == name)
        });
        match workload {
            Some(w) => !w.active,
            None => snapshot
                .jobs
                .get(namespace, name)
                .is_some_and(|j| j.suspend),
        }
    }

    /// Why the canary is rolled back: what its metrics say when they fail it.
    fn rollback_reason(&self, namespace: &str, model: &str) -> String {
        let canary = self
            .snapshot
            .model_versions
            .values()
            .find(|v| v.meta.namespace == namespace && v.model == model && v.stage == "Canary");
        let metrics = self.metrics.as_deref();
        canary
            .and_then(|v| version_health(&self.snapshot, metrics, namespace, model, &v.version))
            .filter(|health| health.failing())
            .map_or_else(|| "rolled back from the cockpit".into(), |h| h.to_string())
    }

    /// A key while the dialog is open.
    pub(super) fn dialog_key(&mut self, key: Key) {
        let Some(action) = self.keymap.lookup(Context::Dialog, &key) else {
            return;
        };
        let Mode::Dialog(dialog) = &mut self.mode else {
            return;
        };
        let last = dialog.diff_lines().saturating_sub(1);
        match action {
            Action::Back if !dialog.running => {
                self.mode = match dialog.editor.take() {
                    Some(editor) => Mode::Edit(editor),
                    None => Mode::Normal,
                }
            }
            Action::Quit => self.quit = true,
            Action::Down => dialog.scroll = (dialog.scroll + 1).min(last),
            Action::Up => dialog.scroll = dialog.scroll.saturating_sub(1),
            Action::PageDown => dialog.scroll = (dialog.scroll + PAGE).min(last),
            Action::PageUp => dialog.scroll = dialog.scroll.saturating_sub(PAGE),
            // Only what the dry-run showed is sent, once.
            Action::Confirm if matches!(dialog.preview, Some(Ok(_))) && !dialog.running => {
                dialog.running = true;
                self.effects.push(Effect::RunOp {
                    op: dialog.op.clone(),
                });
            }
            _ => {}
        }
    }

    /// The dry-run of the dialog's op answered.
    pub(super) fn op_previewed(&mut self, op: Op, result: Result<Outcome, String>) {
        if let Mode::Dialog(dialog) = &mut self.mode
            && dialog.op == op
        {
            if let Err(e) = &result
                && e.contains(CONFLICT)
                && dialog.editor.is_some()
            {
                return self.back_to_editor(e);
            }
            dialog.preview = Some(result);
        }
    }

    /// An edit the object moved past: back to the editor, the text kept.
    fn back_to_editor(&mut self, error: &str) {
        let Mode::Dialog(dialog) = &mut self.mode else {
            return;
        };
        let Some(mut editor) = dialog.editor.take() else {
            return;
        };
        editor.note = Some(format!(
            "not applied: {error}. Your text is kept; ctrl-r takes the object's new \
             resourceVersion into it"
        ));
        self.mode = Mode::Edit(editor);
    }

    /// The op ran (or failed): the dialog closes and the message line keeps the result.
    pub(super) fn op_done(&mut self, op: Op, result: Result<Outcome, String>) {
        if let Mode::Dialog(dialog) = &mut self.mode
            && dialog.op == op
        {
            if let Err(e) = &result
                && e.contains(CONFLICT)
                && dialog.editor.is_some()
            {
                return self.back_to_editor(e);
            }
            self.mode = Mode::Normal;
        }
        // A launched run: the Jobs view, its Job selected when the watch brings it.
        if let (Op::Train { .. } | Op::Retrain { .. }, Ok(outcome)) = (&op, &result)
            && let Some(job) = outcome
                .diffs
                .first()
                .and_then(|d| d.target.strip_prefix("job "))
        {
            self.select_when_seen = Some((View::Jobs, job.to_string()));
            self.view = View::Jobs;
            self.data += 1;
        }
        self.message = Some(match result {
            Ok(outcome) => match outcome.event_error {
                Some(e) => format!("done: {} (its Event failed: {e})", outcome.effect),
                None => format!("done: {}", outcome.effect),
            },
            Err(e) => format!("failed: {e}"),
        });
    }
}
