//! The cockpit's state and `update()`: every key, snapshot and metrics frame is a message
//! that changes the state. No I/O here; rendering reads the state and never changes it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::action::Action;
use super::color_depth::ColorDepth;
use super::column_fit;
use super::derived::Derived;
use super::history::History;
use super::keymap::{Context, Keymap};
use super::keys::Key;
use super::line_edit::LineEdit;
use super::snapshot_part::Kept;
use super::table::{Filter, Sort, Table};
use super::theme::{self, Theme};
use super::views::{Inputs, View};
use crate::cluster::{Cause, LogEvent, LogOptions, Snapshot};
use crate::exec::Outcome;
use crate::metrics::MetricsFrame;
use mlxp_core::agent::{AgentLine, LeaseSeen, leader_line};
use mlxp_core::domain::cost::PriceTable;
use mlxp_core::logs::LogTarget;
use mlxp_core::ops::{Op, Target};

mod command_line;
mod editor;
mod launch_form;
mod logs;
mod op_dialog;
mod overlay;
mod prepared;
#[cfg(test)]
pub(super) mod tests;
mod weights_form;

pub use editor::{EditFor, Editor};
pub use launch_form::{LAUNCH_FIELDS, LaunchForm};
pub use logs::{LOG_LINES, LogsView, PodLog};
pub use op_dialog::OpDialog;
pub use overlay::YamlOverlay;
pub use weights_form::WeightsForm;

/// Lines or rows a page key moves.
const PAGE: usize = 20;

/// What the bottom line is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// Typing a filter after `/`: it applies as it is typed; esc puts back the one before.
    Filter {
        line: LineEdit,
        before: Option<String>,
    },
    /// Typing a command after `:`.
    Command(LineEdit),
    Help {
        scroll: usize,
    },
    /// The read-only YAML of an object.
    Yaml(YamlOverlay),
    /// An operation's effect and dry-run, waiting for its confirmation.
    // Boxed: an op with its overrides is large, and every other mode small.
    Dialog(Box<OpDialog>),
    /// The merged logs of a Job's or a served version's pods.
    Logs(Box<LogsView>),
    /// An object's YAML being edited.
    Edit(Box<Editor>),
    /// The weights of a model's versions being typed.
    Weights(Box<WeightsForm>),
    /// A training run's overrides being typed.
    Launch(Box<LaunchForm>),
}

impl Mode {
    /// The line being typed, if one is.
    fn line_mut(&mut self) -> Option<&mut LineEdit> {
        match self {
            Mode::Filter { line, .. } | Mode::Command(line) => Some(line),
            Mode::Yaml(yaml) => yaml.typing.as_mut(),
            Mode::Logs(view) => view.typing.as_mut(),
            Mode::Normal
            | Mode::Help { .. }
            | Mode::Dialog(_)
            | Mode::Edit(_)
            | Mode::Weights(_)
            | Mode::Launch(_) => None,
        }
    }
}

/// Work `update()` asks the loop to do; its result comes back as a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// GET this API path and show the object as YAML.
    FetchYaml { path: String },
    /// Connect to this kube context and watch it instead of the current one.
    SwitchContext { name: String },
    /// The executor's server-side dry-run of `op`, planned on the snapshot shown.
    PreviewOp { op: Op },
    /// The executor runs `op` for real.
    RunOp { op: Op },
    /// Follow these logs (instead of any followed before); lines come as `Msg::Logs`.
    FollowLogs {
        target: LogTarget,
        selector: Option<String>,
        options: LogOptions,
    },
    /// Stop following logs.
    StopLogs,
    /// GET the object to edit; it comes back as `Msg::ForEdit`.
    FetchForEdit { target: Target },
    /// Hand the terminal to `$EDITOR` on this edit's text; it comes back as
    /// `Msg::EditedOutside`.
    EditOutside(Box<Editor>),
}

pub enum Msg {
    Key(Key),
    Snapshot(Arc<Snapshot>),
    Metrics(Result<Arc<MetricsFrame>, String>),
    Tick(DateTime<Utc>),
    /// How the agent beside the cockpit stands (`--agent`).
    AgentStatus(AgentLine),
    /// The `mlxp-agent` Leases: who leads an agent running elsewhere.
    AgentLeases(LeaseSeen),
    /// The YAML asked for by `Effect::FetchYaml`, or why it could not be had.
    Yaml(Result<String, Cause>),
    /// A frame of the minutes before the cockpit started, oldest first: it goes into the
    /// history only (live frames come as `Metrics`).
    Recent(Arc<MetricsFrame>),
    /// Whether the credentials of `context` may make none of mlxp's writes (asked of the
    /// server on connect and on each switch), or why that could not be asked.
    Access {
        context: String,
        result: Result<bool, String>,
    },
    /// The loop now watches this context (`Effect::SwitchContext`), or why it could not.
    ContextSwitched {
        name: String,
        result: Result<(), String>,
    },
    /// The dry-run asked for by `Effect::PreviewOp`, or why it failed.
    OpPreview {
        op: Op,
        result: Result<Outcome, String>,
    },
    /// What `Effect::RunOp` did, or why it failed.
    OpDone {
        op: Op,
        result: Result<Outcome, String>,
    },
    /// Lines (and pods starting and ending) of the logs followed.
    Logs(Vec<LogEvent>),
    /// The text `$EDITOR` left (`Effect::EditOutside`), or why it could not be run.
    EditedOutside {
        editor: Box<Editor>,
        result: Result<String, String>,
    },
    /// The object asked for by `Effect::FetchForEdit`, or why it could not be read.
    ForEdit {
        target: Target,
        result: Result<serde_json::Value, String>,
    },
    /// The terminal's size (at the start and on every resize).
    Resized {
        width: u16,
        height: u16,
    },
}

pub struct App {
    pub view: View,
    back: Vec<View>,
    pub snapshot: Arc<Snapshot>,
    pub metrics: Option<Arc<MetricsFrame>>,
    pub metrics_error: Option<String>,
    pub metrics_source: String,
    /// A read of the cockpit's own (a YAML) that did not reach the server: when, and why.
    /// It stands in the health line until the server answers again.
    pub read_failure: Option<(DateTime<Utc>, String)>,
    /// The metrics of the last minutes, for sparklines and charts.
    pub history: History,
    pub now: DateTime<Utc>,
    pub namespace: Option<String>,
    /// The namespace `0` goes back to from all namespaces: the last one chosen.
    last_namespace: Option<String>,
    /// Each view's filter, as typed and as parsed: a view keeps its own.
    filters: [Option<(String, Filter)>; View::ALL.len()],
    sorts: [Option<Sort>; View::ALL.len()],
    selected: [usize; View::ALL.len()],
    /// The detail pane is shown under (or beside) the table.
    pub show_detail: bool,
    /// Lines scrolled off the top of the detail pane.
    pub detail_scroll: usize,
    pub mode: Mode,
    pub keymap: Keymap,
    pub theme: Theme,
    theme_index: usize,
    pub depth: ColorDepth,
    /// A one-line message (config errors, command results) until the next key.
    pub message: Option<String>,
    /// The kube context shown in the header.
    pub context: String,
    /// What GPUs and nodes cost, for the burn and idle figures.
    pub prices: PriceTable,
    /// The contexts `:ctx NAME` can switch to.
    pub contexts: Vec<String>,
    /// Asked for with `--readonly`: no action that changes the cluster is to be offered.
    pub readonly: bool,
    /// How the agent beside the cockpit stands (None: no agent here).
    pub agent_status: Option<AgentLine>,
    /// What the `mlxp-agent` Leases say (for an agent running elsewhere).
    pub agent_leases: LeaseSeen,
    /// The header's word on the agents: the one beside the cockpit, else the leases'.
    pub agent_line: Option<AgentLine>,
    /// The server's answer for the current context's credentials: may they change nothing?
    /// None until it has answered.
    pub credentials_read_only: Option<bool>,
    pub quit: bool,
    /// Columns of the terminal, once known: which of a table's columns are shown.
    pub width: Option<u16>,
    /// Rows of the terminal, once known: how far a page of logs goes.
    pub height: Option<u16>,
    /// `$EDITOR`, when set: edits open in it instead of the built-in editor.
    pub external_editor: Option<String>,
    /// A row to select once a rebuild of its view has it (the Job a launch made).
    select_when_seen: Option<(View, String)>,
    /// The current view's table or the Overview's numbers, built in `update()`.
    pub derived: Derived,
    /// The other views' last `derived`, as they were left: a key that comes back to one
    /// shows it at once (and, when outdated, it is rebuilt after that frame).
    prepared: [Option<Derived>; View::ALL.len()],
    /// Changes to what tables are built from (snapshots, metrics, the namespace): a
    /// `Derived` built from an older count is outdated.
    data: u64,
    /// Rebuild `derived` on new data at most this often (zero: at every message); keys
    /// build nothing, what they show outdated is rebuilt after their frame.
    pub rebuild_every: Duration,
    last_rebuild: Option<Instant>,
    /// Each node's pool and the Overview's sums over the snapshot, kept between metrics
    /// frames.
    kept: Kept,
    /// Something shown changed since the last frame was drawn.
    frame_due: bool,
    /// Effects for the loop to run (taken with `take_effects`).
    effects: Vec<Effect>,
}

/// What decides the current view's content, to tell whether a key changed it and how.
#[derive(PartialEq)]
struct Shown {
    view: View,
    filter: Option<String>,
    sort: Option<Sort>,
    namespace: Option<String>,
    theme: usize,
}

pub(super) fn index(view: View) -> usize {
    View::ALL.iter().position(|v| *v == view).unwrap_or(0)
}

impl App {
    pub fn new(
        keymap: Keymap,
        theme: Theme,
        depth: ColorDepth,
        context: String,
        now: DateTime<Utc>,
    ) -> Self {
        App {
            view: View::Overview,
            back: Vec::new(),
            snapshot: Arc::new(Snapshot::default()),
            metrics: None,
            metrics_error: None,
            metrics_source: String::new(),
            read_failure: None,
            history: History::default(),
            now,
            namespace: None,
            last_namespace: None,
            filters: Default::default(),
            sorts: [None; View::ALL.len()],
            selected: [0; View::ALL.len()],
            show_detail: true,
            detail_scroll: 0,
            mode: Mode::Normal,
            keymap,
            theme,
            theme_index: 0,
            depth,
            message: None,
            context,
            prices: PriceTable::defaults(),
            contexts: Vec::new(),
            readonly: false,
            agent_status: None,
            // Until a watch of the leases reports, nothing is said (tests run none).
            agent_leases: LeaseSeen::Seen(Vec::new()),
            agent_line: None,
            credentials_read_only: None,
            quit: false,
            width: None,
            height: None,
            select_when_seen: None,
            external_editor: None,
            derived: Derived::default(),
            prepared: Default::default(),
            data: 0,
            rebuild_every: Duration::ZERO,
            last_rebuild: None,
            kept: Kept::default(),
            frame_due: true,
            effects: Vec::new(),
        }
    }

    /// Nothing that changes the cluster is to be offered: asked for, or all the credentials
    /// allow.
    pub fn read_only(&self) -> bool {
        self.readonly || self.credentials_read_only == Some(true)
    }

    /// Why the operations are disabled, when they are.
    pub fn read_only_reason(&self) -> Option<&'static str> {
        if self.readonly {
            Some("--readonly")
        } else if self.credentials_read_only == Some(true) {
            Some("these credentials may not change the cluster")
        } else {
            None
        }
    }

    /// The server has said what the current context's credentials may change.
    pub fn access_checked(&self) -> bool {
        self.credentials_read_only.is_some()
    }

    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The selected row's key, if the table has rows.
    pub fn selected_key(&self) -> Option<&str> {
        let rows = &self.derived.table.rows;
        let at = self.selected().min(rows.len().checked_sub(1)?);
        Some(rows[at].key.as_str())
    }

    /// What decides the current view's content, to tell whether a key changed it.
    fn shown(&self) -> Shown {
        Shown {
            view: self.view,
            filter: self.filter().map(String::from),
            sort: self.sort(),
            namespace: self.namespace.clone(),
            theme: self.theme_index,
        }
    }

    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            snapshot: &self.snapshot,
            metrics: self.metrics.as_deref(),
            now: self.now,
            history: &self.history,
            namespace: self.namespace.as_deref(),
            prices: &self.prices,
        }
    }

    /// The current view's table, filtered and sorted as the user asked.
    pub fn table(&self) -> &Table {
        &self.derived.table
    }

    pub fn selected(&self) -> usize {
        self.selected[index(self.view)]
    }

    /// The current view's filter as typed.
    pub fn filter(&self) -> Option<&str> {
        let filter = self.filters[index(self.view)].as_ref();
        filter.map(|(text, _)| text.as_str())
    }

    pub fn sort(&self) -> Option<Sort> {
        self.sorts[index(self.view)]
    }

    /// Whether a frame is to be drawn (something shown changed since the last one); asking
    /// resets it.
    pub fn take_frame_due(&mut self) -> bool {
        std::mem::take(&mut self.frame_due)
    }

    /// The header's agent line, from the agent beside the cockpit or else the leases.
    fn agent_line_again(&mut self) {
        let line = self
            .agent_status
            .clone()
            .or_else(|| leader_line(&self.agent_leases, self.now, self.snapshot.api.silent()));
        self.frame_due |= line != self.agent_line;
        self.agent_line = line;
    }

    pub fn update(&mut self, msg: Msg) {
        // A tick changes only the clock, the agent's word only the header: drawn when the
        // line changes. Anything else may change what is shown.
        if !matches!(
            msg,
            Msg::Tick(_) | Msg::AgentStatus(_) | Msg::AgentLeases(_)
        ) {
            self.frame_due = true;
        }
        match msg {
            Msg::Snapshot(snapshot) => {
                let answered = snapshot.api.last_answer;
                if let Some((at, _)) = self.read_failure
                    && answered.is_some_and(|answered| answered > at)
                {
                    self.read_failure = None;
                }
                self.snapshot = snapshot;
                self.data += 1;
            }
            Msg::Metrics(Ok(frame)) => {
                let pools = self.kept.node_pools(&self.snapshot.nodes);
                self.history.record(&frame, |node| pools.get(node));
                self.metrics = Some(frame);
                self.metrics_error = None;
                self.data += 1;
            }
            Msg::Recent(frame) => {
                // Serving and quality only: no GPU, so no pool, is in these frames.
                self.history.record(&frame, |_| None);
                self.data += 1;
            }
            Msg::Metrics(Err(e)) => self.metrics_error = Some(e),
            Msg::AgentStatus(status) => {
                self.agent_status = Some(status);
                self.agent_line_again();
            }
            Msg::AgentLeases(seen) => {
                self.agent_leases = seen;
                self.agent_line_again();
            }
            Msg::Tick(now) => {
                // Ages on screen are in whole seconds: redraw once a second at most.
                self.frame_due |= now.timestamp() != self.now.timestamp();
                self.now = now;
                self.agent_line_again();
            }
            Msg::OpPreview { op, result } => self.op_previewed(op, result),
            Msg::OpDone { op, result } => self.op_done(op, result),
            Msg::Yaml(result) => {
                match &result {
                    Ok(_) => self.read_failure = None,
                    // The server's own answer (a 404 …) says it is there; anything else
                    // means it was not reached, and the health line must say so.
                    Err(Cause::Api { .. }) => {}
                    Err(cause) => self.read_failure = Some((self.now, cause.to_string())),
                }
                if let Mode::Yaml(yaml) = &mut self.mode {
                    yaml.text =
                        Some(result.unwrap_or_else(|e| format!("# could not read it: {e}")));
                }
            }
            Msg::ContextSwitched { name, result } => self.context_switched(name, result),
            Msg::Access { context, result } => {
                if context == self.context {
                    match result {
                        Ok(read_only) => self.credentials_read_only = Some(read_only),
                        Err(e) => {
                            self.message =
                                Some(format!("could not ask what {context} may change: {e}"))
                        }
                    }
                }
            }
            Msg::Resized { width, height } => {
                self.width = Some(width);
                self.height = Some(height);
            }
            Msg::ForEdit { target, result } => self.edit_loaded(target, result),
            Msg::EditedOutside { editor, result } => self.edited_outside(editor, result),
            Msg::Logs(events) => {
                self.logs_arrived(events);
                return;
            }
            Msg::Key(key) => {
                self.message = None;
                let before = self.shown();
                let selected = self.selected_key().map(String::from);
                self.key(key);
                if self.shown() != before {
                    self.detail_scroll = 0;
                    self.show(before);
                } else if self.selected_key() != selected.as_deref() {
                    self.detail_scroll = 0;
                    self.refresh_detail();
                }
                // Nothing is built between a key and its frame: the loop rebuilds what is
                // outdated after drawing it.
                return;
            }
        }
        self.rebuild_if_due();
    }

    fn key(&mut self, key: Key) {
        match &self.mode {
            Mode::Filter { .. } | Mode::Command(_) => self.line_key(key),
            Mode::Yaml(yaml) if yaml.typing.is_some() => self.line_key(key),
            Mode::Yaml(_) | Mode::Help { .. } => self.overlay_key(key),
            Mode::Dialog(_) => self.dialog_key(key),
            Mode::Logs(view) if view.typing.is_some() => self.line_key(key),
            Mode::Logs(_) => self.logs_key(key),
            Mode::Edit(_) => self.editor_key(key),
            Mode::Weights(_) => self.weights_key(key),
            Mode::Launch(_) => self.launch_key(key),
            Mode::Normal => {
                if let Some(action) = self.keymap.lookup(Context::Table, &key) {
                    self.act(action);
                }
            }
        }
    }

    fn set_theme(&mut self, i: usize) {
        self.theme_index = i % theme::BUILTINS.len();
        let (theme, _) = theme::load(theme::BUILTINS[self.theme_index], None);
        self.theme = theme;
        self.message = Some(format!("theme: {}", theme::BUILTINS[self.theme_index]));
    }

    fn go(&mut self, view: View) {
        if view != self.view {
            self.back.push(self.view);
            self.view = view;
        }
    }

    fn act(&mut self, action: Action) {
        let rows = self.derived.table.rows.len();
        let i = index(self.view);
        let select = |app: &mut App, to: usize| app.selected[i] = to.min(rows.saturating_sub(1));
        match action {
            Action::Quit => self.quit = true,
            Action::Back => {
                if self.filters[i].is_some() {
                    self.filters[i] = None;
                } else if let Some(view) = self.back.pop() {
                    self.view = view;
                }
            }
            Action::Help => self.mode = Mode::Help { scroll: 0 },
            Action::CommandLine => self.mode = Mode::Command(LineEdit::default()),
            Action::Filter => {
                let before = self.filter().map(String::from);
                let line = LineEdit::selected(before.as_deref().unwrap_or_default());
                self.mode = Mode::Filter { line, before };
            }
            Action::Down => select(self, self.selected[i] + 1),
            Action::Up => select(self, self.selected[i].saturating_sub(1)),
            Action::PageDown => select(self, self.selected[i] + PAGE),
            Action::PageUp => select(self, self.selected[i].saturating_sub(PAGE)),
            Action::Top => select(self, 0),
            Action::Bottom => select(self, rows.saturating_sub(1)),
            Action::NextView => self.go(View::ALL[(i + 1) % View::ALL.len()]),
            Action::PrevView => self.go(View::ALL[(i + View::ALL.len() - 1) % View::ALL.len()]),
            Action::View(view) => self.go(view),
            Action::SortNext => {
                let pane = self.derived.detail.is_some();
                let shown = column_fit::columns_shown(&self.derived.table, self.width, pane);
                self.sorts[i] = Some(Sort::next(self.sorts[i], &shown));
            }
            Action::SortReverse => {
                let s = self.sorts[i].unwrap_or_else(|| Sort {
                    column: self.reverse_sort_column(),
                    reverse: false,
                });
                self.sorts[i] = Some(Sort {
                    column: s.column,
                    reverse: !s.reverse,
                });
            }
            Action::ToggleAllNamespaces => self.toggle_all_namespaces(),
            Action::NextTheme => self.set_theme(self.theme_index + 1),
            Action::ShowYaml | Action::Enter => self.show_yaml(),
            Action::DetailUp => self.detail_scroll = self.detail_scroll.saturating_sub(1),
            Action::DetailDown => {
                let lines = self.derived.detail.as_ref().map_or(0, |d| d.lines.len());
                self.detail_scroll = (self.detail_scroll + 1).min(lines.saturating_sub(1));
            }
            Action::ToggleDetail => {
                self.show_detail = !self.show_detail;
                self.refresh_detail();
            }
            // Edit a line being typed; bound only in `[line]`.
            Action::Submit
            | Action::Complete
            | Action::CursorLeft
            | Action::CursorRight
            | Action::LineStart
            | Action::LineEnd
            | Action::DeleteBack
            | Action::DeleteForward
            | Action::DeleteToStart
            | Action::DeleteWordBack
            | Action::DeleteToEnd => {}
            Action::Promote
            | Action::Rollback
            | Action::StepCanary
            | Action::Retrain
            | Action::Approve
            | Action::Reject
            | Action::Cordon
            | Action::Uncordon
            | Action::Drain
            | Action::ToggleSuspend
            | Action::Delete => self.start_op(action),
            // Bound only in `[dialog]` and `[logs]`.
            Action::Confirm
            | Action::ToggleFollow
            | Action::ToggleWrap
            | Action::ToggleTimestamps
            | Action::TogglePrevious
            | Action::NextContainer => {}
            Action::Logs => self.open_logs(),
            Action::Edit => self.open_editor(),
            Action::Weights => self.open_weights_form(),
            Action::Launch => self.open_launch_form(),
            Action::Save | Action::Reload => {}
            // Search the YAML; bound only in `[yaml]`.
            Action::Search | Action::SearchNext | Action::SearchPrev => {}
        }
    }
}

impl App {
    /// Shows one namespace, remembered for `0` to come back to; None: all of them.
    fn choose_namespace(&mut self, namespace: Option<String>) {
        if namespace.is_some() {
            self.last_namespace.clone_from(&namespace);
        }
        self.namespace = namespace;
    }

    /// `0`: all namespaces, or back to the last one chosen.
    fn toggle_all_namespaces(&mut self) {
        match self.namespace.take() {
            Some(current) => self.last_namespace = Some(current),
            None if self.last_namespace.is_some() => self.namespace = self.last_namespace.clone(),
            None => self.message = Some("all namespaces; :ns NAME chooses one".into()),
        }
    }

    /// The column of the current view that `S` reverses when no sort is chosen yet.
    fn reverse_sort_column(&self) -> usize {
        let columns = &self.derived.table.columns;
        let wanted = self.view.reverse_sort_column();
        wanted
            .and_then(|name| columns.iter().position(|c| c.name == name))
            .unwrap_or(0)
    }

    /// A new context is being watched: what was shown of the old one goes, and the health
    /// line says "syncing" until the new watchers have listed.
    fn context_switched(&mut self, name: String, result: Result<(), String>) {
        if let Err(e) = result {
            self.message = Some(format!("could not switch to {name}: {e}"));
            return;
        }
        self.snapshot = Arc::new(Snapshot::default());
        self.credentials_read_only = None;
        self.read_failure = None;
        self.selected = [0; View::ALL.len()];
        if matches!(self.mode, Mode::Yaml(_)) {
            self.mode = Mode::Normal;
        }
        self.message = Some(format!("context: {name}"));
        self.context = name;
        // Nothing of the old context's may be shown again.
        self.prepared = Default::default();
        self.data += 1;
        self.rebuild();
    }
}
