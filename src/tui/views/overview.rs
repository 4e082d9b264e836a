//! The Overview: panels rather than a table (pools, cost, serving, queue, alerts), built in
//! `derived.rs` and drawn by `tui/overview.rs`.

use super::{Body, ViewDef};

pub const VIEW: ViewDef = ViewDef {
    title: "Overview",
    commands: &["overview", "o"],
    key_help: "Overview",
    body: Body::Panels,
};
