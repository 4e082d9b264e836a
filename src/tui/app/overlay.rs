//! The two overlays over a view: the help and an object's read-only YAML. Both scroll as the
//! keymap says (lines, pages, top, bottom); the YAML is searched with `/`, `n` and `N`. A key
//! that means something else (a view, `:`) closes the overlay and does it.

use super::{App, Effect, Mode, PAGE};
use crate::tui::action::Action;
use crate::tui::help;
use crate::tui::keymap::Context;
use crate::tui::keys::Key;
use crate::tui::line_edit::LineEdit;

/// An object's YAML over the view.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlOverlay {
    /// The object's key, as its row has it.
    pub title: String,
    /// The text once fetched.
    pub text: Option<String>,
    /// Lines scrolled off the top.
    pub scroll: usize,
    /// A search being typed after `/`.
    pub typing: Option<LineEdit>,
    /// What `n` and `N` look for: the last search.
    pub search: Option<String>,
}

impl YamlOverlay {
    pub fn new(title: String) -> Self {
        YamlOverlay {
            title,
            text: None,
            scroll: 0,
            typing: None,
            search: None,
        }
    }

    fn lines(&self) -> usize {
        self.text.as_deref().map_or(0, |t| t.lines().count())
    }
}

/// Where a scrolling action puts the top line of `lines`; None for other actions.
fn scrolled(scroll: usize, action: Action, lines: usize) -> Option<usize> {
    let last = lines.saturating_sub(1);
    let to = match action {
        Action::Up | Action::DetailUp => scroll.saturating_sub(1),
        Action::Down | Action::DetailDown => scroll + 1,
        Action::PageUp => scroll.saturating_sub(PAGE),
        Action::PageDown => scroll + PAGE,
        Action::Top => 0,
        Action::Bottom => last,
        _ => return None,
    };
    Some(to.min(last))
}

impl App {
    /// A key over the help or the YAML (not while a search is typed).
    pub(super) fn overlay_key(&mut self, key: Key) {
        let (context, lines) = match &self.mode {
            Mode::Help { .. } => (Context::Help, help::rows(&self.keymap, None).len()),
            Mode::Yaml(yaml) => (Context::Yaml, yaml.lines()),
            _ => return,
        };
        // A key bound to nothing here or globally does nothing.
        let Some(action) = self.keymap.lookup(context, &key) else {
            return;
        };
        let (Mode::Help { scroll } | Mode::Yaml(YamlOverlay { scroll, .. })) = &mut self.mode
        else {
            return;
        };
        if let Some(to) = scrolled(*scroll, action, lines) {
            *scroll = to;
            return;
        }
        match (&mut self.mode, action) {
            (_, Action::Back) => self.mode = Mode::Normal,
            (_, Action::Quit) => self.quit = true,
            (Mode::Yaml(yaml), Action::Search) => yaml.typing = Some(LineEdit::default()),
            (Mode::Yaml(_), Action::SearchNext) => self.search_yaml(1, true),
            (Mode::Yaml(_), Action::SearchPrev) => self.search_yaml(1, false),
            _ => {
                self.mode = Mode::Normal;
                self.act(action);
            }
        }
    }

    /// Enter after `/` in the YAML: the search starts at the top line.
    pub(super) fn submit_yaml_search(&mut self) {
        let Mode::Yaml(yaml) = &mut self.mode else {
            return;
        };
        let term = yaml.typing.take().map(|line| line.text().to_string());
        if term.as_deref().is_some_and(|t| !t.is_empty()) {
            yaml.search = term;
            self.search_yaml(0, true);
        }
    }

    /// Scrolls the YAML to the next line (or the previous) holding the last search, `skip`
    /// lines from the top one, around the end; says so when no line holds it.
    fn search_yaml(&mut self, skip: usize, forward: bool) {
        let Mode::Yaml(yaml) = &mut self.mode else {
            return;
        };
        let (Some(term), Some(text)) = (&yaml.search, &yaml.text) else {
            return;
        };
        let wanted = term.to_lowercase();
        let lines: Vec<&str> = text.lines().collect();
        let count = lines.len().max(1);
        let found = (0..lines.len())
            .map(|k| match forward {
                true => (yaml.scroll + skip + k) % count,
                false => (yaml.scroll + count * 2 - skip - k) % count,
            })
            .find(|&at| lines[at].to_lowercase().contains(&wanted));
        match found {
            Some(at) => yaml.scroll = at,
            None => self.message = Some(format!("no match for {term}")),
        }
    }

    /// Opens the YAML of the selected row's object and asks the loop to fetch it.
    pub(super) fn show_yaml(&mut self) {
        let Some(row) = self.derived.table.rows.get(self.selected()) else {
            return;
        };
        let Some(path) = self.view.object_path(&row.key) else {
            self.message = Some("this row has no object to show".into());
            return;
        };
        self.mode = Mode::Yaml(YamlOverlay::new(row.key.clone()));
        self.effects.push(Effect::FetchYaml { path });
    }
}

#[cfg(test)]
mod tests {
    use crate::tui::views::View;

    #[test]
    fn each_views_rows_name_their_object_as_before() {
        let cases = [
            (View::Nodes, "gpu-1", Some("/api/v1/nodes/gpu-1")),
            (View::Gpus, "gpu-1/3", Some("/api/v1/nodes/gpu-1")),
            (
                View::Jobs,
                "ml/t1",
                Some("/apis/batch/v1/namespaces/ml/jobs/t1"),
            ),
            (
                View::Models,
                "ml/fraud-v2",
                Some("/apis/mlxp.io/v1alpha1/namespaces/ml/modelversions/fraud-v2"),
            ),
            (
                View::Serving,
                "ml/fraud-v2",
                Some("/apis/apps/v1/namespaces/ml/deployments/fraud-v2"),
            ),
            (
                View::Events,
                "ml/e1",
                Some("/api/v1/namespaces/ml/events/e1"),
            ),
            (View::Jobs, "no-namespace", None),
            (View::Gpus, "no-index", None),
            (View::Overview, "anything", None),
        ];
        for (view, key, path) in cases {
            assert_eq!(view.object_path(key).as_deref(), path, "{view:?} {key}");
        }
    }
}
