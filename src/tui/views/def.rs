//! What a view declares about itself, in its own file as `pub const VIEW: ViewDef`: the
//! tabs, the command line, the help, `update()` and the YAML fetch all read it from there.

use super::Inputs;
use super::detail::Detail;
use crate::cluster::KindName;
use crate::tui::table::Table;

pub struct ViewDef {
    /// Its tab's title.
    pub title: &'static str,
    /// The `:` names that open it: its command (also its short tab name) first.
    pub commands: &'static [&'static str],
    /// What its key does, in the help.
    pub key_help: &'static str,
    pub body: Body,
}

/// What fills the screen under the header.
pub enum Body {
    /// The Overview's panels: built in `derived.rs`, drawn by `tui/overview.rs`.
    Panels,
    Table(TableDef),
}

pub struct TableDef {
    /// Its columns and rows, from the snapshot and metrics.
    pub rows: fn(&Inputs) -> Table,
    /// The detail pane of the row with this key, if its object is still there.
    pub detail: fn(&Inputs, &str) -> Option<Detail>,
    /// The object a row stands for, for its YAML (None: no one object).
    pub object: Option<RowObject>,
    /// The column `S` puts largest first before any sort is chosen: what the view is
    /// watched for. None: the first column.
    pub reverse_sort_column: Option<&'static str>,
    /// The queues panel is drawn above the table.
    pub queues_above: bool,
}

/// The kind of object behind a row, and how the row's key names it.
#[derive(Debug, Clone, Copy)]
pub enum RowObject {
    /// `name`, cluster-scoped.
    Named(KindName),
    /// `namespace/name`.
    Namespaced(KindName),
    /// `name/part`: a part of a cluster-scoped object (a node's GPU), shown whole.
    PartOf(KindName),
}

impl RowObject {
    /// The object behind the row `key`, for an operation on it; None for a part of one.
    pub fn target(self, key: &str) -> Option<mlxp_core::ops::Target> {
        match self {
            RowObject::Named(kind) => Some(mlxp_core::ops::Target {
                kind,
                namespace: None,
                name: key.to_string(),
            }),
            RowObject::Namespaced(kind) => {
                let (ns, name) = key.split_once('/')?;
                Some(mlxp_core::ops::Target::namespaced(kind, ns, name))
            }
            RowObject::PartOf(_) => None,
        }
    }

    /// The API path of the object behind the row `key`, through the core's paths.
    pub fn path(self, key: &str) -> Option<String> {
        match self {
            RowObject::Named(kind) => Some(kind.object_path(None, key)),
            RowObject::Namespaced(kind) => {
                let (ns, name) = key.split_once('/')?;
                Some(kind.object_path(Some(ns), name))
            }
            RowObject::PartOf(kind) => {
                let (name, _) = key.split_once('/')?;
                Some(kind.object_path(None, name))
            }
        }
    }
}
