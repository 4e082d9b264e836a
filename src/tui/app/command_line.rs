//! The bottom line's editors: the `/` filter, the `:` command line (the commands are in
//! `commands.rs`, with tab completion) and the YAML's search.

use super::{App, Effect, Mode, index};
use crate::tui::action::Action;
use crate::tui::commands::{self, OpCommand, Run};
use crate::tui::complete::{Completion, complete};
use crate::tui::keymap::Context;
use crate::tui::keys::Key;
use crate::tui::table::Filter;
use crate::tui::theme;
use mlxp_core::ops::{self, Op};

impl App {
    /// A key while a line is being typed: an editing action from `[line]`, else the
    /// character it types. The filter applies at each key.
    pub(super) fn line_key(&mut self, key: Key) {
        let action = self.keymap.lookup(Context::Line, &key);
        match action {
            Some(Action::Submit) => return self.submit_line(),
            Some(Action::Back) => return self.cancel_line(),
            Some(Action::Complete) => return self.complete_line(),
            _ => {}
        }
        let Some(line) = self.mode.line_mut() else {
            return;
        };
        match (action, key.typed_char()) {
            (Some(action), _) => line.apply(action),
            (None, Some(c)) => line.insert(c),
            (None, None) => {}
        }
        if let Mode::Filter { line, .. } = &self.mode {
            let text = line.text().to_string();
            // A selector half typed is not one yet: the table stays as it was until it is.
            let _ = self.set_filter(&text);
        }
    }

    /// Esc: the command or the search is dropped, the filter goes back to what it was.
    fn cancel_line(&mut self) {
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Filter { before, .. } => {
                // It was valid when it was set.
                let _ = self.set_filter(before.as_deref().unwrap_or_default());
            }
            Mode::Yaml(yaml) => {
                self.mode = Mode::Yaml(super::YamlOverlay {
                    typing: None,
                    ..yaml
                })
            }
            Mode::Logs(mut view) => {
                view.typing = None;
                self.mode = Mode::Logs(view);
            }
            _ => {}
        }
    }

    /// Tab on the command line.
    fn complete_line(&mut self) {
        let Mode::Command(line) = &self.mode else {
            return;
        };
        match self.complete_command(line.text()) {
            Completion::Done(done) => {
                if let Mode::Command(line) = &mut self.mode {
                    line.set(done);
                }
            }
            Completion::Choices(choices) => self.message = Some(choices.join(" ")),
            Completion::Nothing => {}
        }
    }

    /// Enter: the command runs, the filter stays (or, when it is not valid, the one before),
    /// the YAML is searched.
    fn submit_line(&mut self) {
        if let Mode::Yaml(_) = self.mode {
            return self.submit_yaml_search();
        }
        if let Mode::Logs(_) = self.mode {
            return self.submit_logs_search();
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Command(line) => self.command(line.text()),
            Mode::Filter { line, before } => {
                if let Err(e) = self.set_filter(line.text()) {
                    let _ = self.set_filter(before.as_deref().unwrap_or_default());
                    self.message = Some(format!("filter: {e}"));
                }
            }
            other => self.mode = other,
        }
    }

    /// Filters the current view by `text` (empty: no filter).
    fn set_filter(&mut self, text: &str) -> Result<(), String> {
        let i = index(self.view);
        let filter = match text.trim() {
            "" => None,
            _ => Some((text.to_string(), Filter::parse(text)?)),
        };
        if self.filter() != filter.as_ref().map(|(t, _)| t.as_str()) {
            self.filters[i] = filter;
            self.selected[i] = 0;
        }
        Ok(())
    }

    fn command(&mut self, text: &str) {
        let mut words = text.split_whitespace();
        let Some(name) = words.next() else { return };
        let args: Vec<&str> = words.collect();
        let arg = args.first().copied();
        let Some(command) = commands::find(name, arg.is_some()) else {
            self.message = Some(format!("unknown command: {text} (tab lists them)"));
            return;
        };
        match (command.run, arg) {
            (Run::View(view), _) => self.go(view),
            (Run::Quit, _) => self.quit = true,
            (Run::Help, _) => self.mode = Mode::Help { scroll: 0 },
            (Run::Op(kind), _) => self.op_command(kind, command.usage, &args),
            (Run::Namespace, None | Some("all" | "-")) => self.choose_namespace(None),
            (Run::Namespace, Some(ns)) => match self.namespaces().iter().any(|n| n == ns) {
                true => self.choose_namespace(Some(ns.to_string())),
                false => {
                    self.message = Some(format!("no namespace {ns} · {}", self.known_namespaces()))
                }
            },
            (Run::Theme, None) => self.message = Some(self.known_themes()),
            (Run::Theme, Some(name)) => match theme::BUILTINS.iter().position(|t| *t == name) {
                Some(i) => self.set_theme(i),
                None => self.message = Some(format!("no theme {name} · {}", self.known_themes())),
            },
            (Run::Context, None) => self.message = Some(self.known_contexts()),
            (Run::Context, Some(name)) if name == self.context => {
                self.message = Some(format!("already on {name}"))
            }
            (Run::Context, Some(name)) if self.contexts.iter().any(|c| c == name) => {
                self.message = Some(format!("switching to {name}…"));
                self.effects.push(Effect::SwitchContext {
                    name: name.to_string(),
                });
            }
            (Run::Context, Some(name)) => {
                self.message = Some(format!("no context {name} · {}", self.known_contexts()))
            }
        }
    }

    fn known_themes(&self) -> String {
        let current = theme::BUILTINS[self.theme_index % theme::BUILTINS.len()];
        format!("themes: {} (on {current})", theme::BUILTINS.join(", "))
    }

    fn known_namespaces(&self) -> String {
        match self.namespaces().join(", ") {
            names if names.is_empty() => "none seen yet".into(),
            names => format!("namespaces: {names}"),
        }
    }

    fn known_contexts(&self) -> String {
        if self.contexts.is_empty() {
            return format!("no other contexts known (on {})", self.context);
        }
        format!(
            "contexts: {} (on {})",
            self.contexts.join(", "),
            self.context
        )
    }

    /// Completes the command line (commands, then contexts, namespaces or themes), or lists
    /// what it could be when nothing more is certain.
    fn complete_command(&self, text: &str) -> Completion {
        let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        complete(text, |command| {
            let Some(command) = command else {
                return commands::all().map(|c| c.name().to_string()).collect();
            };
            match commands::find(command, true).map(|c| c.run) {
                Some(Run::Context) => self.contexts.clone(),
                Some(Run::Namespace) => self.namespaces(),
                Some(Run::Theme) => owned(theme::BUILTINS),
                _ => Vec::new(),
            }
        })
    }

    /// The namespaces of the pods and jobs in the snapshot, each once.
    fn namespaces(&self) -> Vec<String> {
        let pods = self.snapshot.pods.items.keys();
        let jobs = self.snapshot.jobs.items.keys();
        let names: std::collections::BTreeSet<&str> =
            pods.chain(jobs).map(|(ns, _)| ns.as_str()).collect();
        names.into_iter().map(str::to_string).collect()
    }
}

impl App {
    /// `:promote fraud-detector v2` and the like: the op named on the line, through the same
    /// checks and dialog as its key.
    fn op_command(&mut self, kind: OpCommand, usage: &str, args: &[&str]) {
        let wanted = usage.split_whitespace().count();
        let enough = match kind {
            OpCommand::Weights => args.len() >= 2,
            _ => args.len() == wanted,
        };
        if !enough {
            self.message = Some(format!("usage: {} {usage}", command_name(kind)));
            return;
        }
        if !self.may_act(command_name(kind)) {
            return;
        }
        let node = || args[0].to_string();
        let model = || {
            ops::model_namespace(&self.snapshot, args[0], None)
                .map(|namespace| (namespace, args[0].to_string()))
                .map_err(|e| e.to_string())
        };
        let op = match kind {
            OpCommand::Drain => Ok(Op::Drain {
                node: node(),
                force: false,
            }),
            OpCommand::Cordon => Ok(Op::Cordon { node: node() }),
            OpCommand::Uncordon => Ok(Op::Uncordon { node: node() }),
            OpCommand::Train => {
                // The form, its model filled in.
                return self.open_launch_form_for(args[0]);
            }
            OpCommand::Retrain => model().map(|(namespace, model)| Op::Retrain {
                namespace,
                model,
                force: false,
            }),
            OpCommand::Rollback => model().map(|(namespace, model)| Op::Rollback {
                namespace,
                model,
                reason: "rolled back from the cockpit".into(),
            }),
            OpCommand::Promote => model().map(|(namespace, model)| Op::Promote {
                namespace,
                model,
                version: args[1].to_string(),
                force: false,
                step: false,
            }),
            OpCommand::Approve => model().map(|(namespace, model)| Op::Approve {
                namespace,
                model,
                version: args[1].to_string(),
            }),
            OpCommand::Weights => weights(&args[1..]).and_then(|weights| {
                model().map(|(namespace, model)| Op::SetWeights {
                    namespace,
                    model,
                    weights,
                    force: false,
                })
            }),
        };
        match op {
            Ok(op) => self.propose(op),
            Err(why) => self.message = Some(format!("not done: {why}")),
        }
    }
}

fn command_name(kind: OpCommand) -> &'static str {
    commands::all()
        .find(|c| c.run == Run::Op(kind))
        .map_or("", |c| c.name())
}

/// `v1=80 v2=20` as weights.
fn weights(words: &[&str]) -> Result<Vec<(String, i32)>, String> {
    words
        .iter()
        .map(|w| {
            let (version, weight) = w
                .split_once('=')
                .ok_or_else(|| format!("{w:?} is not VERSION=WEIGHT"))?;
            let weight = weight
                .parse()
                .map_err(|_| format!("{weight:?} in {w:?} is not a whole number"))?;
            Ok((version.to_string(), weight))
        })
        .collect()
}
