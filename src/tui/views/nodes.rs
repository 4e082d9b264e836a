//! Pools & Nodes: nodes grouped by pool, GPUs allocated of allocatable, taints, readiness,
//! and when each last changed (its conditions' last transition).

use std::collections::BTreeMap;

use super::detail::{Chart, Detail, Lines, chart};
use super::serving::bar;
use super::{Body, Inputs, RowObject, TableDef, ViewDef, age};
use crate::cluster::KindName;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::pools::{GPU_PRODUCT_LABEL, ROLE_LABEL, is_spot, pool_of};
use mlxp_core::domain::quantity::format_bytes;
use mlxp_core::gpus::idle_allocated;

pub const VIEW: ViewDef = ViewDef {
    title: "Pools & Nodes",
    commands: &["nodes", "no", "pools"],
    key_help: "Nodes",
    body: Body::Table(TableDef {
        rows: table,
        detail,
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
                labels: node.meta.labels.clone(),
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

/// Pods listed before "… N more".
const PODS_SHOWN: usize = 40;

pub fn detail(inputs: &Inputs, key: &str) -> Option<Detail> {
    let node = inputs.snapshot.nodes.get("", key)?;
    let mut lines = Lines::default();
    let status = match (node.ready, node.unschedulable) {
        (true, false) => ("Ready", Slot::StatusOk),
        (true, true) => ("Ready, cordoned", Slot::StatusPending),
        (false, _) => ("NotReady", Slot::StatusFailed),
    };
    lines.field_in("status", status.0, status.1);
    lines.field(
        "pool",
        format!(
            "{} ({}) · {}",
            pool_of(node),
            node.meta.label(ROLE_LABEL).unwrap_or("no role"),
            if is_spot(node) { "spot" } else { "on-demand" }
        ),
    );
    let gpus = match node.allocatable.gpus {
        0 => String::new(),
        n => format!(
            "{n} GPU {} · ",
            node.meta.label(GPU_PRODUCT_LABEL).unwrap_or("")
        ),
    };
    lines.field(
        "allocatable",
        format!(
            "{gpus}{} cpu · {} memory",
            node.allocatable.cpu_milli as f64 / 1000.0,
            format_bytes(node.allocatable.memory)
        ),
    );
    let taints: Vec<String> = node
        .taints
        .iter()
        .map(|t| match &t.value {
            Some(v) => format!("{}={v}:{}", t.key, t.effect),
            None => format!("{}:{}", t.key, t.effect),
        })
        .collect();
    lines.field(
        "taints",
        if taints.is_empty() {
            "none".into()
        } else {
            taints.join(", ")
        },
    );
    lines.field(
        "price",
        format!(
            "{}/h",
            mlxp_core::domain::cost::dollars(inputs.prices.node_hourly(node))
        ),
    );
    lines.field("age", age(node.meta.creation_timestamp, inputs.now));

    let mut gpus: Vec<_> = inputs
        .metrics
        .iter()
        .flat_map(|m| &m.gpus)
        .filter(|g| g.node == key)
        .collect();
    gpus.sort_by_key(|g| g.gpu.parse::<u32>().unwrap_or(u32::MAX));
    if !gpus.is_empty() {
        lines.heading(format!("GPUs ({})", gpus.len()));
        for g in &gpus {
            let idle = idle_allocated(g);
            let total = g.fb_used_mib + g.fb_free_mib;
            lines.line(vec![
                (Slot::Muted, format!(" {:>2} ", g.gpu)),
                (
                    if idle { Slot::Alert } else { Slot::gpu(g.util) },
                    bar(g.util / 100.0, 10),
                ),
                (
                    Slot::Text,
                    format!(
                        " {:>3.0}% {:>3.0}/{:.0}G {:>4.0}W ",
                        g.util,
                        g.fb_used_mib / 1024.0,
                        total / 1024.0,
                        g.power_watts
                    ),
                ),
                match &g.pod {
                    Some(p) if idle => (Slot::Alert, format!("{}/{} (idle)", p.namespace, p.name)),
                    Some(p) => (Slot::Text, format!("{}/{}", p.namespace, p.name)),
                    None => (Slot::Muted, "free".into()),
                },
            ]);
        }
    } else if node.allocatable.gpus > 0 {
        lines.text(
            Slot::Muted,
            format!("{} GPUs, no metrics", node.allocatable.gpus),
        );
    }

    let mut pods: Vec<_> = inputs
        .snapshot
        .pods
        .values()
        .filter(|p| p.node == key && p.holds_resources())
        .collect();
    pods.sort_by(|a, b| (&a.meta.namespace, &a.meta.name).cmp(&(&b.meta.namespace, &b.meta.name)));
    lines.heading(format!("Pods ({})", pods.len()));
    lines.list(&pods, PODS_SHOWN, |p| {
        vec![
            (Slot::Text, format!(" {}/{}", p.meta.namespace, p.meta.name)),
            (
                if p.ready {
                    Slot::StatusRunning
                } else {
                    Slot::StatusPending
                },
                format!("  {}", p.waiting.as_deref().unwrap_or(&p.phase)),
            ),
            (
                Slot::Muted,
                format!(
                    "{}  {}",
                    if p.requests.gpus > 0 {
                        format!("  {} GPU", p.requests.gpus)
                    } else {
                        String::new()
                    },
                    age(p.started, inputs.now)
                ),
            ),
        ]
    });

    lines.done(
        format!("node {key}"),
        mean_util_chart(inputs, key, gpus.len()),
    )
}

/// The node's GPUs' mean utilisation, sample by sample.
fn mean_util_chart(inputs: &Inputs, node: &str, count: usize) -> Vec<Chart> {
    let series: Vec<_> = (0..count)
        .filter_map(|i| inputs.history.gpu(node, &i.to_string()))
        .collect();
    let Some(len) = series.iter().map(|s| s.len()).min().filter(|l| *l > 0) else {
        return Vec::new();
    };
    // Aligned on the newest sample: every GPU of a node arrives in the same frame.
    let means: Vec<f64> = (0..len)
        .map(|i| {
            let sum: f64 = series
                .iter()
                .map(|s| f64::from(s.values().rev().nth(len - 1 - i).map_or(0, |p| p.util)))
                .sum();
            sum / series.len() as f64
        })
        .collect();
    let now = means.last().copied().unwrap_or(0.0);
    vec![chart(
        format!("GPU util, mean of {} · {now:.0}%", series.len()),
        means.into_iter(),
        Some(100),
        Slot::gpu(now),
    )]
}
