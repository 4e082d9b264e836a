//! GPUs: one row per GPU with utilisation, memory, power, what it costs and the pod holding
//! it; from the metrics when there are some, otherwise from the nodes' allocatable counts.

use super::detail::{Chart, Detail, Lines, chart, split_key};
use super::{Body, Inputs, RowObject, TableDef, ViewDef};
use crate::cluster::KindName;
use crate::tui::table::{Column, Labels, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::cost::{IDLE_BELOW, dollars};
use mlxp_core::domain::pools::{GPU_PRODUCT_LABEL, is_spot, pool_of};
use mlxp_core::gpus::{hourly_price, idle_allocated};

/// The heat slot of a utilisation percentage.
pub fn gpu_slot(util: f64) -> Slot {
    Slot::gpu(util)
}

/// A price as a sortable cell: the header says it is dollars per hour.
fn per_hour(amount: f64) -> String {
    format!("{amount:.2}")
}

pub const VIEW: ViewDef = ViewDef {
    title: "GPUs",
    commands: &["gpus", "gpu"],
    key_help: "GPUs",
    body: Body::Table(TableDef {
        rows: table,
        detail,
        object: Some(RowObject::PartOf(KindName::Nodes)),
        // What the view is watched for: the idle GPUs' cost.
        reverse_sort_column: Some("IDLE $/H"),
        queues_above: false,
    }),
};

pub fn table(inputs: &Inputs) -> Table {
    let rows = match inputs.metrics {
        Some(metrics) => metrics
            .gpus
            .iter()
            .map(|g| {
                let pod = g
                    .pod
                    .as_ref()
                    .map(|p| format!("{}/{}", p.namespace, p.name));
                let idle = idle_allocated(g);
                let price = hourly_price(inputs.prices, inputs.snapshot, g);
                let total = g.fb_used_mib + g.fb_free_mib;
                Row {
                    key: format!("{}/{}", g.node, g.gpu),
                    cells: vec![
                        g.node.clone(),
                        g.gpu.clone(),
                        g.model_name.clone(),
                        format!("{:.0}%", g.util),
                        format!("{:.0}/{:.0}G", g.fb_used_mib / 1024.0, total / 1024.0),
                        format!("{:.0}W", g.power_watts),
                        per_hour(price),
                        if idle { per_hour(price) } else { "-".into() },
                        pod.clone().unwrap_or_else(|| "-".into()),
                        if idle {
                            format!("IDLE {}/h", dollars(price))
                        } else if pod.is_some() {
                            "busy".into()
                        } else {
                            "free".into()
                        },
                    ],
                    slot: Some(if idle { Slot::Alert } else { gpu_slot(g.util) }),
                    labels: Labels::default(),
                }
            })
            .collect(),
        None => inputs
            .snapshot
            .nodes
            .values()
            .flat_map(|n| {
                let product = n.meta.label(GPU_PRODUCT_LABEL);
                let price = inputs.prices.gpu_hourly(product, is_spot(n));
                (0..n.allocatable.gpus).map(move |i| Row {
                    key: format!("{}/{i}", n.meta.name),
                    cells: vec![
                        n.meta.name.clone(),
                        i.to_string(),
                        product.unwrap_or("-").to_string(),
                        "?".into(),
                        "?".into(),
                        "?".into(),
                        per_hour(price),
                        "?".into(),
                        "-".into(),
                        "no metrics".into(),
                    ],
                    slot: None,
                    labels: Labels::default(),
                })
            })
            .collect(),
    };
    Table::new(
        vec![
            Column::text("NODE").keeps(),
            Column::number("GPU"),
            Column::text("PRODUCT").drops(4),
            Column::number("UTIL"),
            Column::number("MEM").drops(1),
            Column::number("POWER").drops(2),
            Column::number("$/H"),
            // What the idle-allocated GPUs waste; `S` on it puts the costliest first.
            Column::number("IDLE $/H").drops(3),
            Column::text("POD").keeps(),
            Column::text("STATE").keeps(),
        ],
        rows,
    )
}

pub fn detail(inputs: &Inputs, key: &str) -> Option<Detail> {
    let (node, index) = split_key(key)?;
    let pool = inputs
        .snapshot
        .nodes
        .get("", node)
        .map(|n| pool_of(n).to_string());
    let mut lines = Lines::default();
    lines.field(
        "node",
        format!("{node} (pool {})", pool.as_deref().unwrap_or("?")),
    );
    let Some(g) = inputs
        .metrics
        .and_then(|m| m.gpus.iter().find(|g| g.node == node && g.gpu == index))
    else {
        lines.text(Slot::Muted, "no metrics for this GPU");
        return lines.done(format!("GPU {index} of {node}"), Vec::new());
    };
    lines.field("product", &g.model_name);
    lines.field("uuid", &g.uuid);
    let idle = idle_allocated(g);
    let total = g.fb_used_mib + g.fb_free_mib;
    lines.field_in(
        "util",
        format!("{:.0}%", g.util),
        if idle { Slot::Alert } else { Slot::gpu(g.util) },
    );
    lines.field(
        "memory",
        format!(
            "{:.1} of {:.1} GiB ({:.0}%)",
            g.fb_used_mib / 1024.0,
            total / 1024.0,
            if total > 0.0 {
                g.fb_used_mib / total * 100.0
            } else {
                0.0
            }
        ),
    );
    lines.field("power", format!("{:.0} W", g.power_watts));
    let price = hourly_price(inputs.prices, inputs.snapshot, g);
    lines.field_in(
        "price",
        format!(
            "{}/h{}",
            dollars(price),
            if idle { " (paid for, idle)" } else { "" }
        ),
        if idle { Slot::Alert } else { Slot::Text },
    );
    match &g.pod {
        Some(p) => {
            lines.field(
                "pod",
                format!("{}/{} (container {})", p.namespace, p.name, p.container),
            );
            if idle {
                lines.text(
                    Slot::Alert,
                    format!(" allocated but idle: under {IDLE_BELOW:.0}% while a pod holds it"),
                );
            }
        }
        None => lines.field_in("pod", "none (free)", Slot::Muted),
    }
    lines.done(
        format!("GPU {index} of {node}"),
        charts(inputs, node, index),
    )
}

fn charts(inputs: &Inputs, node: &str, index: &str) -> Vec<Chart> {
    let Some(series) = inputs.history.gpu(node, index) else {
        return Vec::new();
    };
    let last = series.last().unwrap_or_default();
    vec![
        chart(
            format!("util {}%", last.util),
            series.values().map(|p| p.util),
            Some(100),
            Slot::gpu(f64::from(last.util)),
        ),
        chart(
            format!("memory {}%", last.memory),
            series.values().map(|p| p.memory),
            Some(100),
            Slot::GpuWarm,
        ),
        chart(
            format!("power {} W", last.power),
            series.values().map(|p| p.power),
            None,
            Slot::GpuCool,
        ),
    ]
}
