//! Everything a user can ask the app to do. Keymaps bind keys to these by
//! variant name (`run = "Quit"`), so the names are part of the config format.

use std::str::FromStr;

use serde::de::IntoDeserializer;
use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::{Deserialize, Serialize};

use super::views::View;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    Quit,
    Back,
    Help,
    CommandLine,
    Filter,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    NextView,
    PrevView,
    ShowYaml,
    SortNext,
    SortReverse,
    ToggleAllNamespaces,
    NextTheme,
    DetailUp,
    DetailDown,
    ToggleDetail,
    Search,
    SearchNext,
    SearchPrev,
    // Operations on the selected row: a dialog with the effect and the server's dry-run,
    // then `Confirm` runs it.
    Promote,
    Rollback,
    StepCanary,
    Weights,
    Launch,
    Retrain,
    Approve,
    Reject,
    Cordon,
    Uncordon,
    Drain,
    ToggleSuspend,
    Delete,
    Confirm,
    Logs,
    // In the logs view.
    ToggleFollow,
    ToggleWrap,
    ToggleTimestamps,
    TogglePrevious,
    NextContainer,
    Edit,
    // In the editor.
    Save,
    Reload,
    // Editing the line being typed (filter, command, search).
    Submit,
    Complete,
    CursorLeft,
    CursorRight,
    LineStart,
    LineEnd,
    DeleteBack,
    DeleteForward,
    DeleteToStart,
    DeleteWordBack,
    DeleteToEnd,
    /// Open a view: `ViewNodes` in a keymap (the view's registered name after `View`).
    #[serde(skip)]
    View(View),
}

impl Action {
    /// Every action: the fixed ones (`FIXED`), then one per registered view.
    pub const ALL: &[Action] = &{
        let mut all = [Action::Quit; FIXED.len() + View::ALL.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = if i < FIXED.len() {
                FIXED[i]
            } else {
                Action::View(View::ALL[i - FIXED.len()])
            };
            i += 1;
        }
        all
    };

    /// One line for the help screen when a binding has no `desc` of its own.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "Quit mlxp",
            Action::Back => "Go back / close",
            Action::Help => "Show key bindings",
            Action::CommandLine => "Open the command line",
            Action::Filter => "Filter rows",
            Action::Up => "Move up",
            Action::Down => "Move down",
            Action::PageUp => "Page up",
            Action::PageDown => "Page down",
            Action::Top => "Go to top",
            Action::Bottom => "Go to bottom",
            Action::Enter => "Open the selected row's YAML",
            Action::NextView => "Next view",
            Action::PrevView => "Previous view",
            Action::ShowYaml => "Show YAML",
            Action::SortNext => "Sort by next column",
            Action::SortReverse => "Reverse sort order",
            Action::ToggleAllNamespaces => "Toggle all namespaces",
            Action::NextTheme => "Next colour theme",
            Action::DetailUp => "Scroll details up",
            Action::DetailDown => "Scroll details down",
            Action::ToggleDetail => "Show or hide the detail pane",
            Action::Search => "Search",
            Action::SearchNext => "Next match",
            Action::SearchPrev => "Previous match",
            Action::Promote => "Promote the selected version",
            Action::Rollback => "Roll the selected model's canary back",
            Action::StepCanary => "Step the selected model's canary",
            Action::Weights => "Set the selected model's weights, version by version",
            Action::Launch => "Launch a training run of the selected model (a form)",
            Action::Retrain => "Retrain the selected version's model",
            Action::Approve => "Approve the selected version (the gate its rollout waits on)",
            Action::Reject => "Reject the selected version",
            Action::Cordon => "Cordon the selected node",
            Action::Uncordon => "Uncordon the selected node",
            Action::Drain => "Drain the selected node (evict its pods)",
            Action::ToggleSuspend => "Suspend or resume the selected job",
            Action::Confirm => "Apply the operation",
            Action::Logs => "Logs of the selected job or served version",
            Action::ToggleFollow => "Follow the end, or pause",
            Action::ToggleWrap => "Wrap long lines, or cut them",
            Action::ToggleTimestamps => "Show each line's time, or hide it",
            Action::TogglePrevious => "The previous containers' logs, or the current ones",
            Action::NextContainer => "The next container's logs (pods with several)",
            Action::Edit => "Edit the selected object's YAML",
            Action::Save => "Check the edit and preview it",
            Action::Reload => "Take the object's fresh resourceVersion into the edit",
            Action::Delete => "Delete the selected object",
            Action::Submit => "Run the command / apply the filter",
            Action::Complete => "Complete the command or its argument",
            Action::CursorLeft => "Cursor left",
            Action::CursorRight => "Cursor right",
            Action::LineStart => "Cursor to the start",
            Action::LineEnd => "Cursor to the end",
            Action::DeleteBack => "Delete the character before the cursor",
            Action::DeleteForward => "Delete the character under the cursor",
            Action::DeleteToStart => "Delete to the start of the line",
            Action::DeleteWordBack => "Delete the word before the cursor",
            Action::DeleteToEnd => "Delete to the end of the line",
            Action::View(view) => view.def().key_help,
        }
    }
}

impl Action {
    /// The operations that change the cluster: disabled while read-only.
    pub fn changes_the_cluster(self) -> bool {
        matches!(
            self,
            Action::Promote
                | Action::Rollback
                | Action::StepCanary
                | Action::Weights
                | Action::Launch
                | Action::Retrain
                | Action::Approve
                | Action::Reject
                | Action::Cordon
                | Action::Uncordon
                | Action::Drain
                | Action::ToggleSuspend
                | Action::Delete
                | Action::Edit
        )
    }

    /// The keys on the selected row a view offers, for its detail pane's hints.
    pub fn on_rows_of(view: View) -> &'static [Action] {
        match view {
            View::Serving => &[
                Action::Promote,
                Action::Rollback,
                Action::StepCanary,
                Action::Weights,
                Action::Logs,
                Action::Edit,
                Action::Delete,
            ],
            View::Models => &[
                Action::Launch,
                Action::Retrain,
                Action::Approve,
                Action::Reject,
                Action::Logs,
                Action::Edit,
                Action::Delete,
            ],
            View::Nodes => &[
                Action::Cordon,
                Action::Uncordon,
                Action::Drain,
                Action::Edit,
                Action::Delete,
            ],
            View::Jobs => &[
                Action::Launch,
                Action::ToggleSuspend,
                Action::Logs,
                Action::Edit,
                Action::Delete,
            ],
            View::Events => &[Action::Edit, Action::Delete],
            _ => &[],
        }
    }

    /// A word or two for a key hint.
    pub fn short(self) -> &'static str {
        match self {
            Action::Promote => "promote",
            Action::Rollback => "roll back",
            Action::StepCanary => "step",
            Action::Weights => "weights",
            Action::Launch => "train",
            Action::Retrain => "retrain",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cordon => "cordon",
            Action::Uncordon => "uncordon",
            Action::Drain => "drain",
            Action::ToggleSuspend => "suspend/resume",
            Action::Delete => "delete",
            Action::Logs => "logs",
            Action::Edit => "edit",
            Action::DetailDown => "scroll",
            Action::ToggleDetail => "hide",
            _ => self.describe(),
        }
    }
}

/// The actions that are not a view's.
const FIXED: &[Action] = &[
    Action::Quit,
    Action::Back,
    Action::Help,
    Action::CommandLine,
    Action::Filter,
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
    Action::Enter,
    Action::NextView,
    Action::PrevView,
    Action::ShowYaml,
    Action::SortNext,
    Action::SortReverse,
    Action::ToggleAllNamespaces,
    Action::NextTheme,
    Action::DetailUp,
    Action::DetailDown,
    Action::ToggleDetail,
    Action::Search,
    Action::SearchNext,
    Action::SearchPrev,
    Action::Promote,
    Action::Rollback,
    Action::StepCanary,
    Action::Weights,
    Action::Launch,
    Action::Retrain,
    Action::Approve,
    Action::Reject,
    Action::Cordon,
    Action::Uncordon,
    Action::Drain,
    Action::ToggleSuspend,
    Action::Confirm,
    Action::Logs,
    Action::ToggleFollow,
    Action::ToggleWrap,
    Action::ToggleTimestamps,
    Action::TogglePrevious,
    Action::NextContainer,
    Action::Edit,
    Action::Save,
    Action::Reload,
    Action::Delete,
    Action::Submit,
    Action::Complete,
    Action::CursorLeft,
    Action::CursorRight,
    Action::LineStart,
    Action::LineEnd,
    Action::DeleteBack,
    Action::DeleteForward,
    Action::DeleteToStart,
    Action::DeleteWordBack,
    Action::DeleteToEnd,
];

impl Action {
    /// Its name in keymap files.
    pub fn name(self) -> String {
        match self {
            Action::View(view) => format!("View{}", view.name()),
            // A unit variant's Debug is its name, which serde reads.
            other => format!("{other:?}"),
        }
    }
}

/// Parses the variant name exactly as serde does, so there is one spelling; a view's is
/// `View` and its registered name.
impl FromStr for Action {
    type Err = ValueError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let view = name.strip_prefix("View").and_then(|name| {
            let mut views = View::ALL.into_iter();
            views.find(|view| view.name() == name)
        });
        if let Some(view) = view {
            return Ok(Action::View(view));
        }
        let deserializer: StrDeserializer<'_, ValueError> = name.into_deserializer();
        Action::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Binding {
        run: Action,
    }

    #[test]
    fn serde_uses_the_variant_name() {
        let text = toml::to_string(&Binding {
            run: Action::ToggleAllNamespaces,
        })
        .unwrap();
        assert_eq!(text.trim(), r#"run = "ToggleAllNamespaces""#);
        let back: Binding = toml::from_str(&text).unwrap();
        assert_eq!(back.run, Action::ToggleAllNamespaces);
    }

    #[test]
    fn from_str_accepts_every_variant_and_rejects_others() {
        for &action in Action::ALL {
            assert_eq!(action.name().parse::<Action>().unwrap(), action);
        }
        assert!("Quitt".parse::<Action>().is_err());
        assert!("quit".parse::<Action>().is_err());
    }

    #[test]
    fn all_has_no_duplicates() {
        let unique: std::collections::HashSet<_> = Action::ALL.iter().collect();
        assert_eq!(unique.len(), Action::ALL.len());
    }
}
