//! The views: each turns the snapshot (and the metrics, when there are some) into a table.
//! Pure functions of their inputs, so they are tested without a terminal.

pub mod detail;
mod events;
pub mod gpus;
mod jobs;
mod models;
mod nodes;
pub mod serving;

use chrono::{DateTime, Utc};

use super::table::Table;
use crate::cluster::Snapshot;
use crate::metrics::MetricsFrame;
use crate::tui::history::History;
use mlxp_core::domain::cost::PriceTable;

pub use gpus::gpu_slot;

/// What every view reads.
pub struct Inputs<'a> {
    pub snapshot: &'a Snapshot,
    pub metrics: Option<&'a MetricsFrame>,
    pub now: DateTime<Utc>,
    /// What the metrics said over the last minutes.
    pub history: &'a History,
    /// Only this namespace, for namespaced kinds (None: all).
    pub namespace: Option<&'a str>,
    /// Dollars per hour of GPUs and nodes.
    pub prices: &'a PriceTable,
}

impl Inputs<'_> {
    fn in_namespace(&self, namespace: &str) -> bool {
        self.namespace.is_none_or(|n| n == namespace)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Nodes,
    Gpus,
    Jobs,
    Models,
    Serving,
    Events,
}

impl View {
    pub const ALL: [View; 7] = [
        View::Overview,
        View::Nodes,
        View::Gpus,
        View::Jobs,
        View::Models,
        View::Serving,
        View::Events,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Nodes => "Pools & Nodes",
            View::Gpus => "GPUs",
            View::Jobs => "Training & Queue",
            View::Models => "Models",
            View::Serving => "Serving & Canary",
            View::Events => "Events",
        }
    }

    /// The `:command` that opens it.
    pub fn command(self) -> &'static str {
        match self {
            View::Overview => "overview",
            View::Nodes => "nodes",
            View::Gpus => "gpus",
            View::Jobs => "jobs",
            View::Models => "models",
            View::Serving => "serving",
            View::Events => "events",
        }
    }

    /// The column `S` puts largest first before any sort is chosen: what the view is watched
    /// for (on GPUs, the idle ones' cost). None: the first column.
    pub fn reverse_sort_column(self) -> Option<&'static str> {
        match self {
            View::Gpus => Some("IDLE $/H"),
            _ => None,
        }
    }

    /// The view's table (the Overview has none: it is panels).
    pub fn table(self, inputs: &Inputs) -> Table {
        match self {
            View::Overview => Table::default(),
            View::Nodes => nodes::table(inputs),
            View::Gpus => gpus::table(inputs),
            View::Jobs => jobs::table(inputs),
            View::Models => models::table(inputs),
            View::Serving => serving::table(inputs),
            View::Events => events::table(inputs),
        }
    }
}

/// "3m", "2h", "5d": ages as kubectl prints them.
pub fn age(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(since) = since else {
        return "-".into();
    };
    let s = (now - since).num_seconds().max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", s / 60),
        7_200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}
