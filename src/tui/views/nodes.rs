//! Pools & Nodes: nodes grouped by pool, GPUs allocated of allocatable, taints, readiness,
//! and when each last changed (its conditions' last transition).

use std::collections::BTreeMap;

use super::{Body, Inputs, RowObject, TableDef, ViewDef, detail};
use crate::cluster::KindName;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::pools::{GPU_PRODUCT_LABEL, is_spot, pool_of};

pub const VIEW: ViewDef = ViewDef {
    title: "Pools & Nodes",
    commands: &["nodes", "no", "pools"],
    key_help: "Nodes",
    body: Body::Table(TableDef {
        rows: table,
        detail: detail::nodes::detail,
        object: Some(RowObject::Named(KindName::Nodes)),
        reverse_sort_column: None,
        queues_above: false,
    }),
};

pub fn table(inputs: &Inputs) -> Table {
    let snapshot = inputs.snapshot;
    let mut allocated: BTreeMap<&str, i64> = BTreeMap::new();
    for pod in snapshot.pods.values().filter(|p| p.holds_resources()) {
        *allocated.entry(pod.node.as_str()).or_default() += pod.requests.gpus;
    }
    // Mean utilisation of each node's GPUs, when there are metrics.
    let mut util: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for gpu in inputs.metrics.iter().flat_map(|m| &m.gpus) {
        let entry = util.entry(gpu.node.as_str()).or_default();
        entry.0 += gpu.util;
        entry.1 += 1;
    }
    let mut rows: Vec<Row> = snapshot
        .nodes
        .values()
        .map(|node| {
            let name = node.meta.name.as_str();
            let status = match (node.ready, node.unschedulable) {
                (true, false) => "Ready",
                (true, true) => "Ready,SchedulingDisabled",
                (false, true) => "NotReady,SchedulingDisabled",
                (false, false) => "NotReady",
            };
            let gpus = if node.allocatable.gpus > 0 {
                format!(
                    "{}/{}",
                    allocated.get(name).copied().unwrap_or(0),
                    node.allocatable.gpus
                )
            } else {
                "-".into()
            };
            let taints: Vec<String> = node
                .taints
                .iter()
                .map(|t| format!("{}:{}", t.key, t.effect))
                .collect();
            Row {
                key: name.to_string(),
                cells: vec![
                    pool_of(node).to_string(),
                    name.to_string(),
                    status.to_string(),
                    node.meta
                        .label(GPU_PRODUCT_LABEL)
                        .unwrap_or("-")
                        .to_string(),
                    gpus,
                    util.get(name)
                        .filter(|(_, n)| *n > 0)
                        .map(|(sum, n)| format!("{:.0}%", sum / *n as f64))
                        .unwrap_or_else(|| "-".into()),
                    if is_spot(node) { "spot" } else { "on-demand" }.to_string(),
                    super::age(node.last_change, inputs.now),
                    taints.join(","),
                ],
                slot: (!node.ready).then_some(Slot::StatusFailed),
                labels: node
                    .meta
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }
        })
        .collect();
    // Grouped by pool, then by name.
    rows.sort_by(|a, b| (&a.cells[0], &a.cells[1]).cmp(&(&b.cells[0], &b.cells[1])));
    Table::new(
        vec![
            Column::text("POOL").keeps(),
            Column::text("NODE").keeps(),
            Column::text("STATUS").keeps(),
            Column::text("GPU").drops(1),
            Column::number("GPUS"),
            Column::number("UTIL"),
            Column::text("CAPACITY").drops(2),
            Column::number("CHANGED").drops(3),
            Column::text("TAINTS"),
        ],
        rows,
    )
}
