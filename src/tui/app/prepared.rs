//! Building what the current view shows, and keeping each view's last build so that keys
//! show a prepared table: a view switch shows the view as it was left, a new filter or sort
//! arranges the rows already built. A table built from older data is rebuilt after the
//! frame that shows it (at 150,000 pods a build takes tens of milliseconds; a frame must
//! follow a key within 16).

use std::time::Instant;

use super::{App, Shown, index};
use crate::tui::derived::derive;
use crate::tui::views::Body;

impl App {
    /// Builds what the current view shows from the current data. The selection follows
    /// its object when rows move (a live table re-sorts as things change).
    pub fn rebuild(&mut self) {
        let filter = self.filters[index(self.view)]
            .as_ref()
            .map(|(_, f)| f.clone());
        let sort = self.sorts[index(self.view)];
        let was = self.selected_here();
        let part = matches!(self.view.def().body, Body::Panels)
            .then(|| self.kept.snapshot_part(&self.snapshot, &self.prices));
        self.derived = derive(self.view, &self.inputs(), part.as_deref(), |t| {
            t.arranged(filter.as_ref(), sort)
        });
        self.derived.data = self.data;
        // A row asked for (the Job a launch made) is selected once it is there.
        let asked = self.select_when_seen.take_if(|(view, key)| {
            *view == self.view && self.derived.table.rows.iter().any(|r| r.key == *key)
        });
        self.follow(asked.map(|(_, key)| key).or(was));
        self.refresh_detail();
        self.last_rebuild = Some(Instant::now());
        self.frame_due = true;
    }

    /// Rebuilds the shown table when it is outdated and a rebuild is due (new data waits
    /// `rebuild_every`; a view shown outdated by a key, not at all). The loop calls it after
    /// each frame; true when it rebuilt (a frame is then due).
    pub fn rebuild_if_due(&mut self) -> bool {
        let due = self
            .last_rebuild
            .is_none_or(|at| at.elapsed() >= self.rebuild_every);
        let outdated = self.derived.data != self.data;
        if outdated && due {
            self.rebuild();
        }
        outdated && due
    }

    /// After a key changed what is shown (from `before`): shows it from what is prepared.
    /// A new namespace or theme, or a view never built, is built at once.
    pub(super) fn show(&mut self, before: Shown) {
        if self.namespace != before.namespace {
            // Every view's rows depend on it.
            self.data += 1;
            self.rebuild();
        } else if self.theme_index != before.theme {
            self.rebuild();
        } else if self.view != before.view {
            let leaving = std::mem::take(&mut self.derived);
            self.prepared[index(before.view)] = Some(leaving);
            match self.prepared[index(self.view)].take() {
                Some(prepared) => {
                    self.derived = prepared;
                    if self.derived.detail.is_some() != self.show_detail {
                        self.refresh_detail();
                    }
                    if self.derived.data != self.data {
                        // Outdated: rebuilt right after this frame, whatever the pace.
                        self.last_rebuild = None;
                    }
                }
                None => self.rebuild(),
            }
        } else {
            self.rearrange();
        }
    }

    /// The rows already built, filtered and sorted as now asked.
    fn rearrange(&mut self) {
        let filter = self.filters[index(self.view)].as_ref().map(|(_, f)| f);
        let sort = self.sorts[index(self.view)];
        let was = self.selected_here();
        self.derived.table = self.derived.built.arranged(filter, sort);
        self.follow(was);
        self.refresh_detail();
    }

    /// The selected row's key, when the table shown is this view's: another view's keys
    /// may look alike (a ModelVersion and its Deployment share a name).
    pub(super) fn selected_here(&self) -> Option<String> {
        self.selected_key()
            .filter(|_| self.derived.view == Some(self.view))
            .map(String::from)
    }

    /// Selects the row of `key` again, wherever it moved.
    fn follow(&mut self, key: Option<String>) {
        if let Some(at) =
            key.and_then(|key| self.derived.table.rows.iter().position(|r| r.key == key))
        {
            self.selected[index(self.view)] = at;
        }
    }

    /// The detail pane of the selected row, built from the current data.
    pub(super) fn refresh_detail(&mut self) {
        self.derived.detail = match (self.show_detail, self.selected_key()) {
            (true, Some(key)) => self.view.detail(&self.inputs(), key),
            _ => None,
        };
    }
}
