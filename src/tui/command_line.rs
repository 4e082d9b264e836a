//! The bottom line's two editors: the `/` filter and the `:` command line (view names,
//! `ns`, `ctx`, `theme`, `q`, `help`, with tab completion).

use super::{App, Effect, Mode, index};
use crate::tui::complete::complete;
use crate::tui::keys::Key;
use crate::tui::table::Filter;
use crate::tui::theme;
use crate::tui::views::View;

/// The `:` commands besides the view names, for completion.
const COMMANDS: &[&str] = &["ns", "theme", "ctx", "quit", "q", "help"];

impl App {
    /// Typing in the filter or command line.
    pub(super) fn edit(&mut self, key: Key, mut text: String, filter: bool) {
        use crossterm::event::KeyCode;
        let set = |text: String| {
            if filter {
                Mode::Filter(text)
            } else {
                Mode::Command(text)
            }
        };
        match key.code() {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                if filter {
                    self.apply_filter(&text);
                } else {
                    self.command(&text);
                }
            }
            KeyCode::Backspace => {
                text.pop();
                self.mode = set(text);
            }
            KeyCode::Tab if !filter => {
                if let Some(done) = self.complete(&text) {
                    text = done;
                }
                self.mode = set(text);
            }
            KeyCode::Char(c) => {
                text.push(c);
                self.mode = set(text);
            }
            _ => {}
        }
    }

    fn apply_filter(&mut self, text: &str) {
        if text.trim().is_empty() {
            self.filter = None;
            return;
        }
        match Filter::parse(text) {
            Ok(filter) => {
                self.filter = Some((text.to_string(), filter));
                self.selected[index(self.view)] = 0;
            }
            Err(e) => self.message = Some(format!("filter: {e}")),
        }
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
    fn complete(&self, text: &str) -> Option<String> {
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
