//! The logs view (`l` on a Job or a served version): every pod's lines merged, each after
//! its pod (as stern), in a bounded buffer. It follows the end until scrolled; `G` follows
//! again. `/` searches, `w` wraps, `t` shows the server's timestamps, `p` reads the
//! previous containers' logs instead.

use std::collections::BTreeMap;

use super::{App, Effect, Mode, PAGE};
use crate::cluster::Snapshot;
use crate::cluster::{LogEvent, LogOptions};
use crate::tui::action::Action;
use crate::tui::keymap::Context;
use crate::tui::keys::Key;
use crate::tui::line_edit::LineEdit;
use crate::tui::views::View;
use mlxp_core::logs::{LogBuffer, LogLine, LogTarget};

/// Lines kept; older ones are let go (and counted).
pub const LOG_LINES: usize = 20_000;

/// A pod's log, as far as the view knows.
#[derive(Debug, Clone, PartialEq)]
pub enum PodLog {
    Streaming,
    /// Its stream was cut (why); the follower is reaching it again.
    Reconnecting(String),
    Ended,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct LogsView {
    pub target: LogTarget,
    pub buffer: LogBuffer,
    /// Showing the end as lines come; scrolling up pauses it.
    pub follow: bool,
    pub wrap: bool,
    pub timestamps: bool,
    pub previous: bool,
    /// The container read (None: each pod's default one).
    pub container: Option<String>,
    /// The first line shown while paused.
    pub top: usize,
    pub pods: BTreeMap<String, PodLog>,
    pub typing: Option<LineEdit>,
    pub search: Option<String>,
    /// Lines shown at the last frame (the loop tells on resize; a page before that).
    pub height: usize,
}

impl PartialEq for LogsView {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target
    }
}

impl LogsView {
    fn new(target: LogTarget) -> LogsView {
        LogsView {
            target,
            buffer: LogBuffer::new(LOG_LINES),
            follow: true,
            wrap: false,
            timestamps: false,
            previous: false,
            container: None,
            top: 0,
            pods: BTreeMap::new(),
            typing: None,
            search: None,
            height: PAGE,
        }
    }

    /// The first line a frame of `height` lines shows.
    pub fn first_shown(&self, height: usize) -> usize {
        if self.follow {
            self.buffer.len().saturating_sub(height)
        } else {
            self.top.min(self.buffer.len().saturating_sub(1))
        }
    }

    /// Lines, starts and ends from the follower.
    pub fn take(&mut self, events: Vec<LogEvent>) {
        for event in events {
            match event {
                LogEvent::Line(line) => {
                    let dropped = self.buffer.dropped();
                    self.buffer.push(line);
                    // Paused, the same lines stay in view as old ones go.
                    if self.buffer.dropped() > dropped {
                        self.top = self.top.saturating_sub(1);
                    }
                }
                LogEvent::Started(pod) => {
                    self.pods.insert(pod, PodLog::Streaming);
                }
                LogEvent::Reconnecting { pod, cause } => {
                    self.pods.insert(pod, PodLog::Reconnecting(cause));
                }
                LogEvent::Ended { pod, error } => {
                    let state = error.map_or(PodLog::Ended, PodLog::Failed);
                    self.pods.insert(pod, state);
                }
                LogEvent::Note(note) => {
                    self.buffer
                        .push(LogLine::parse("mlxp".into(), &format!("[{note}]")));
                }
                LogEvent::Done => {}
            }
        }
    }

    /// The pods and how their streams stand: `3 pods (2 streaming, 1 reconnecting: …)`.
    /// While the API server is silent a stream that sends nothing may be cut without a
    /// word, so none is called streaming.
    pub fn streams(&self, api_silent: bool) -> String {
        let count = |wanted: fn(&PodLog) -> bool| self.pods.values().filter(|p| wanted(p)).count();
        let streaming = count(|p| *p == PodLog::Streaming);
        let mut parts = vec![if api_silent && streaming > 0 {
            format!("{streaming} unconfirmed: the API server is silent")
        } else {
            format!("{streaming} streaming")
        }];
        let reconnecting: Vec<&str> = self
            .pods
            .values()
            .filter_map(|p| match p {
                PodLog::Reconnecting(why) => Some(why.as_str()),
                _ => None,
            })
            .collect();
        if let Some(why) = reconnecting.first() {
            parts.push(format!("{} reconnecting: {why}", reconnecting.len()));
        }
        let failed: Vec<String> = self
            .pods
            .iter()
            .filter_map(|(pod, p)| match p {
                PodLog::Failed(why) => Some(format!("{pod}: {why}")),
                _ => None,
            })
            .collect();
        let failed = if failed.is_empty() {
            String::new()
        } else {
            format!(" · failed: {}", failed.join("; "))
        };
        format!("{} pods ({}){failed}", self.pods.len(), parts.join(", "))
    }

    fn scroll(&mut self, action: Action) -> bool {
        let last = self.buffer.len().saturating_sub(1);
        let from = self.first_shown(self.height);
        let to = match action {
            Action::Up => from.saturating_sub(1),
            Action::Down => from + 1,
            Action::PageUp => from.saturating_sub(PAGE),
            Action::PageDown => from + PAGE,
            Action::Top => 0,
            Action::Bottom => {
                self.follow = true;
                return true;
            }
            _ => return false,
        };
        // Down to the end follows again; anything else pauses.
        self.follow = to + self.height > last + 1 && action != Action::Top;
        self.top = to.min(last);
        true
    }
}

impl LogsView {
    /// The same view, its lines gone, to follow again another way.
    fn restarted(&self) -> LogsView {
        let mut fresh = LogsView::new(self.target.clone());
        fresh.previous = self.previous;
        fresh.container = self.container.clone();
        fresh.wrap = self.wrap;
        fresh.timestamps = self.timestamps;
        // The pods known so far stay listed (their containers choose the next one).
        fresh.pods = self.pods.clone();
        fresh
    }
}

/// The containers the followed pods have, when they have more than one.
fn containers_of(snapshot: &Snapshot, view: &LogsView) -> Vec<String> {
    let namespace = view.target.namespace();
    let mut names: Vec<String> = Vec::new();
    for pod in view.pods.keys() {
        let Some(found) = snapshot.pods.get(namespace, pod) else {
            continue;
        };
        for name in found.containers.iter() {
            if !names.iter().any(|n| n == name.as_ref()) {
                names.push(name.to_string());
            }
        }
    }
    names
}

impl App {
    /// `l` on a row: the logs of its Job or served version.
    pub(super) fn open_logs(&mut self) {
        let key = self.selected_here();
        let target = match (self.view, key.as_deref().and_then(|k| k.split_once('/'))) {
            (View::Jobs, Some((namespace, name))) => LogTarget::Job {
                namespace: namespace.into(),
                name: name.into(),
            },
            (View::Serving | View::Models, Some((namespace, name)))
                if self.snapshot.deployments.get(namespace, name).is_some() =>
            {
                LogTarget::Deployment {
                    namespace: namespace.into(),
                    name: name.into(),
                }
            }
            _ => {
                self.message =
                    Some("logs: select a job (Jobs) or a served version (Serving) first".into());
                return;
            }
        };
        let view = LogsView::new(target);
        self.follow_logs(&view);
        self.mode = Mode::Logs(Box::new(view));
    }

    fn follow_logs(&mut self, view: &LogsView) {
        self.effects.push(Effect::FollowLogs {
            selector: view.target.selector(&self.snapshot),
            target: view.target.clone(),
            options: LogOptions {
                follow: true,
                container: view.container.clone(),
                previous: view.previous,
            },
        });
    }

    pub(super) fn logs_key(&mut self, key: Key) {
        let Some(action) = self.keymap.lookup(Context::Logs, &key) else {
            return;
        };
        let Mode::Logs(view) = &mut self.mode else {
            return;
        };
        // The body's rows: the screen less the header, health and bottom lines and borders.
        view.height = self
            .height
            .map_or(PAGE, |h| usize::from(h).saturating_sub(5).max(1));
        if view.scroll(action) {
            return;
        }
        match action {
            Action::Back => {
                self.mode = Mode::Normal;
                self.effects.push(Effect::StopLogs);
            }
            Action::Quit => self.quit = true,
            Action::ToggleFollow => view.follow = !view.follow,
            Action::ToggleWrap => view.wrap = !view.wrap,
            Action::ToggleTimestamps => view.timestamps = !view.timestamps,
            Action::TogglePrevious => {
                let mut fresh = view.restarted();
                fresh.previous = !view.previous;
                self.follow_logs(&fresh);
                self.mode = Mode::Logs(Box::new(fresh));
            }
            Action::NextContainer => {
                let names = containers_of(&self.snapshot, view);
                if names.is_empty() {
                    self.message = Some("its pods have one container each".into());
                    return;
                }
                // The default, then each container by name, then the default again.
                let next = match &view.container {
                    None => names.first().cloned(),
                    Some(now) => names
                        .iter()
                        .position(|n| n == now)
                        .and_then(|i| names.get(i + 1).cloned()),
                };
                let mut fresh = view.restarted();
                fresh.container = next;
                self.follow_logs(&fresh);
                self.mode = Mode::Logs(Box::new(fresh));
            }
            Action::Search => view.typing = Some(LineEdit::default()),
            Action::SearchNext => self.search_logs(true),
            Action::SearchPrev => self.search_logs(false),
            _ => {}
        }
    }

    /// Enter after `/` in the logs: the search runs from the first line shown.
    pub(super) fn submit_logs_search(&mut self) {
        let Mode::Logs(view) = &mut self.mode else {
            return;
        };
        let term = view.typing.take().map(|line| line.text().to_string());
        if term.as_deref().is_some_and(|t| !t.is_empty()) {
            view.search = term;
            self.search_logs(true);
        }
    }

    /// Pauses on the next (or previous) line holding the search, around the end.
    fn search_logs(&mut self, forward: bool) {
        let Mode::Logs(view) = &mut self.mode else {
            return;
        };
        let Some(term) = view.search.clone() else {
            return;
        };
        let from = view.first_shown(view.height);
        match view.buffer.find(&term, from, forward) {
            Some(at) => {
                view.follow = false;
                view.top = at;
            }
            None => self.message = Some(format!("no match for {term}")),
        }
    }

    /// Lines from the follower, for the view that asked for them.
    pub(super) fn logs_arrived(&mut self, events: Vec<LogEvent>) {
        if let Mode::Logs(view) = &mut self.mode {
            view.take(events);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_stream_is_called_streaming_while_the_api_server_is_silent() {
        let mut view = LogsView::new(LogTarget::Job {
            namespace: "training".into(),
            name: "train-a".into(),
        });
        view.take(vec![
            LogEvent::Started("a-1".into()),
            LogEvent::Started("a-2".into()),
            LogEvent::Started("a-3".into()),
            LogEvent::Reconnecting {
                pod: "a-2".into(),
                cause: "connection reset".into(),
            },
            LogEvent::Ended {
                pod: "a-3".into(),
                error: Some("forbidden".into()),
            },
        ]);
        assert_eq!(
            view.streams(false),
            "3 pods (1 streaming, 1 reconnecting: connection reset) · failed: a-3: forbidden"
        );
        assert_eq!(
            view.streams(true),
            "3 pods (1 unconfirmed: the API server is silent, 1 reconnecting: connection reset) · failed: a-3: forbidden"
        );
    }
}
