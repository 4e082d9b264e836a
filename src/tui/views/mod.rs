//! The views: each turns the snapshot (and the metrics, when there are some) into a table.
//! Pure functions of their inputs, so they are tested without a terminal. Each declares
//! itself in its own file (`VIEW`, see `def.rs`); the registry below lists them.

mod def;
pub mod detail;

use chrono::{DateTime, Utc};

use super::table::Table;
use crate::cluster::Snapshot;
use crate::metrics::MetricsFrame;
use crate::tui::history::History;
use detail::Detail;
use mlxp_core::domain::cost::PriceTable;

pub use def::{Body, RowObject, TableDef, ViewDef};
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

/// Makes `View` from the registry: a variant per line, `View::ALL` in the lines' order, and
/// `def()` reading each module's `VIEW`.
macro_rules! registry {
    ($($name:ident => $module:ident,)*) => {
        $(pub mod $module;)*

        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum View {
            $($name,)*
        }

        impl View {
            pub const ALL: [View; [$(stringify!($name)),*].len()] = [$(View::$name),*];

            /// What the view declares in its file.
            pub fn def(self) -> &'static ViewDef {
                match self {
                    $(View::$name => &$module::VIEW,)*
                }
            }

            /// Its name in the keymaps, after `View` (`ViewGpus`).
            pub fn name(self) -> &'static str {
                match self {
                    $(View::$name => stringify!($name),)*
                }
            }
        }
    };
}

// The registry: every view in tab order (its place is its number on the tabs, which the
// keymaps bind), as `Name => module`; the module's `VIEW` says the rest. A new view is its
// file, its line here and its key in each keymap.
registry! {
    Overview => overview,
    Nodes => nodes,
    Gpus => gpus,
    Jobs => jobs,
    Models => models,
    Serving => serving,
    Events => events,
}

impl View {
    pub fn title(self) -> &'static str {
        self.def().title
    }

    /// The `:command` that opens it.
    pub fn command(self) -> &'static str {
        self.def().commands[0]
    }

    /// Its table's declaration (None: the Overview, which is panels).
    pub fn table_def(self) -> Option<&'static TableDef> {
        match &self.def().body {
            Body::Table(table) => Some(table),
            Body::Panels => None,
        }
    }

    /// The column `S` puts largest first before any sort is chosen. None: the first column.
    pub fn reverse_sort_column(self) -> Option<&'static str> {
        self.table_def()?.reverse_sort_column
    }

    /// The view's table (empty for panels).
    pub fn table(self, inputs: &Inputs) -> Table {
        self.table_def()
            .map_or_else(Table::default, |t| (t.rows)(inputs))
    }

    /// The detail of the row whose key is `key`, if the object is still there.
    pub fn detail(self, inputs: &Inputs, key: &str) -> Option<Detail> {
        (self.table_def()?.detail)(inputs, key)
    }

    /// The API path of the object behind the row `key`, for its YAML.
    pub fn object_path(self, key: &str) -> Option<String> {
        self.table_def()?.object?.path(key)
    }
}

/// The last thing mlxp did to a ModelVersion, for a table cell: `agent: CanaryWeightsSet 3m`
/// (the agent) or `mlxp: ModelPromoted 2h` (a person with the cockpit or the CLI); "-": none
/// the cluster still keeps; "?": the Events are not seen (not synced, forbidden), so none
/// is not known.
pub fn last_action(
    last: Option<&std::collections::BTreeMap<(&str, &str), &mlxp_core::domain::objects::Event>>,
    namespace: &str,
    name: &str,
    now: DateTime<Utc>,
) -> String {
    let Some(last) = last else {
        return "?".into();
    };
    last.get(&(namespace, name))
        .map(|e| {
            format!(
                "{}: {} {}",
                mlxp_core::domain::serving::actor_of(e).unwrap_or("?"),
                e.reason,
                age(e.last_seen, now)
            )
        })
        .unwrap_or_else(|| "-".into())
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

#[cfg(test)]
mod tests;
