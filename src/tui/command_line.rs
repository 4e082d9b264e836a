//! The bottom line's two editors: the `/` filter and the `:` command line (view names,
//! `ns`, `ctx`, `theme`, `q`, `help`, with tab completion).

use super::{App, Effect, Mode, index};
use crate::tui::action::Action;
use crate::tui::complete::complete;
use crate::tui::keymap::Context;
use crate::tui::keys::Key;
use crate::tui::table::Filter;
use crate::tui::theme;
use crate::tui::views::View;

/// The `:` commands besides the view names, for completion.
const COMMANDS: &[&str] = &["ns", "theme", "ctx", "quit", "q", "help"];

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
            _ => {}
        }
    }

    /// Tab on the command line.
    fn complete_line(&mut self) {
        let Mode::Command(line) = &self.mode else {
            return;
        };
        if let Some(done) = self.complete_command(line.text())
            && let Mode::Command(line) = &mut self.mode
        {
            line.set(done);
        }
    }

    /// Enter: the command runs, the filter stays (or, when it is not valid, the one before),
    /// the YAML is searched.
    fn submit_line(&mut self) {
        if let Mode::Yaml(_) = self.mode {
            return self.submit_yaml_search();
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
        let Some(first) = words.next() else { return };
        let arg = words.next();
        if let Some(view) = view_named(first) {
            self.go(view);
            return;
        }
        match (first, arg) {
            ("q" | "quit", _) => self.quit = true,
            ("help", _) => self.mode = Mode::Help { scroll: 0 },
            ("ns", None | Some("all" | "-")) => self.choose_namespace(None),
            ("ns", Some(ns)) => self.choose_namespace(Some(ns.to_string())),
            ("theme", Some(name)) => match theme::BUILTINS.iter().position(|t| *t == name) {
                Some(i) => self.set_theme(i),
                None => {
                    self.message = Some(format!("no theme {name}: {}", theme::BUILTINS.join(", ")))
                }
            },
            ("ctx", None) => self.message = Some(self.known_contexts()),
            ("ctx", Some(name)) if name == self.context => {
                self.message = Some(format!("already on {name}"))
            }
            ("ctx", Some(name)) if self.contexts.iter().any(|c| c == name) => {
                self.message = Some(format!("switching to {name}…"));
                self.effects.push(Effect::SwitchContext {
                    name: name.to_string(),
                });
            }
            ("ctx", Some(name)) => {
                self.message = Some(format!("no context {name} · {}", self.known_contexts()))
            }
            _ => self.message = Some(format!("unknown command: {text}")),
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

    /// Completes the command line: commands, then contexts, namespaces or themes.
    fn complete_command(&self, text: &str) -> Option<String> {
        let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        complete(text, |command| match command {
            None => View::ALL
                .iter()
                .map(|v| v.command().to_string())
                .chain(COMMANDS.iter().map(|c| c.to_string()))
                .collect(),
            Some("ctx") => self.contexts.clone(),
            Some("ns") => self.namespaces(),
            Some("theme") => owned(theme::BUILTINS),
            Some(_) => Vec::new(),
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

fn view_named(name: &str) -> Option<View> {
    match name {
        "overview" | "o" => Some(View::Overview),
        "nodes" | "no" | "pools" => Some(View::Nodes),
        "gpus" | "gpu" => Some(View::Gpus),
        "jobs" | "job" | "queues" | "queue" | "training" => Some(View::Jobs),
        "models" | "model" | "mv" | "modelversions" => Some(View::Models),
        "serving" | "canary" | "canaries" => Some(View::Serving),
        "events" | "ev" => Some(View::Events),
        _ => None,
    }
}
