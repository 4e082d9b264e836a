//! GPUs: one row per GPU with utilisation, memory, power and the pod holding it; from the
//! metrics when there are some, otherwise from the nodes' allocatable counts.

use super::Inputs;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;

/// The heat slot of a utilisation percentage.
pub fn gpu_slot(util: f64) -> Slot {
    Slot::gpu(util)
}

/// Below this a GPU held by a pod counts as idle: paid for, doing nothing.
pub const IDLE_BELOW: f64 = 5.0;

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
                let idle = pod.is_some() && g.util < IDLE_BELOW;
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
                        pod.clone().unwrap_or_else(|| "-".into()),
                        if idle {
                            "IDLE (allocated)"
                        } else if pod.is_some() {
                            "busy"
                        } else {
                            "free"
                        }
                        .to_string(),
                    ],
                    slot: Some(if idle { Slot::Alert } else { gpu_slot(g.util) }),
                    labels: Vec::new(),
                }
            })
            .collect(),
        None => inputs
            .snapshot
            .nodes
            .values()
            .flat_map(|n| {
                (0..n.allocatable.gpus).map(move |i| Row {
                    key: format!("{}/{i}", n.meta.name),
                    cells: vec![
                        n.meta.name.clone(),
                        i.to_string(),
                        n.meta
                            .label(crate::domain::pools::GPU_PRODUCT_LABEL)
                            .unwrap_or("-")
                            .to_string(),
                        "?".into(),
                        "?".into(),
                        "?".into(),
                        "-".into(),
                        "no metrics".into(),
                    ],
                    slot: None,
                    labels: Vec::new(),
                })
            })
            .collect(),
    };
    Table {
        columns: vec![
            Column::text("NODE", 34),
            Column::number("GPU", 4),
            Column::text("PRODUCT", 22),
            Column::number("UTIL", 5),
            Column::number("MEM", 9),
            Column::number("POWER", 6),
            Column::text("POD", 36),
            Column::text("STATE", 16),
        ],
        rows,
    }
}
