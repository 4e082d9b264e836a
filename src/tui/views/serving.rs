//! Serving & Canary: per model, each version's traffic weight, replicas, autoscaler, and what
//! it serves (requests/s, errors, latency).

use super::Inputs;
use crate::domain::serving::splits;
use crate::tui::history::spark;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;

/// Samples in the requests/s trend column.
const TREND: usize = 12;

/// A weight as a bar of `width` cells.
pub fn bar(share: f64, width: usize) -> String {
    let filled = (share.clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

pub fn table(inputs: &Inputs) -> Table {
    let snapshot = inputs.snapshot;
    let mut rows = Vec::new();
    for route in snapshot
        .routes
        .values()
        .filter(|r| inputs.in_namespace(&r.meta.namespace))
    {
        let model = route
            .meta
            .label("mlxp.io/model")
            .unwrap_or(&route.meta.name)
            .to_string();
        let ns = route.meta.namespace.as_str();
        let canary = route.backends.iter().filter(|b| b.weight > 0).count() > 1;
        for split in splits(route) {
            let deployment = snapshot.deployments.get(ns, &split.backend);
            let version = deployment
                .and_then(|d| d.meta.label("mlxp.io/version").map(String::from))
                .unwrap_or_else(|| {
                    split
                        .backend
                        .trim_start_matches(&format!("{model}-"))
                        .to_string()
                });
            let hpa = snapshot
                .hpas
                .values()
                .find(|h| h.meta.namespace == ns && h.target == split.backend);
            let traffic = inputs.metrics.and_then(|m| {
                m.traffic
                    .iter()
                    .find(|t| t.model == model && t.version == version)
            });
            let ms = |s: Option<f64>| {
                s.map(|s| format!("{:.0}ms", s * 1000.0))
                    .unwrap_or_else(|| "-".into())
            };
            let trend = inputs
                .history
                .traffic(&model, &version)
                .map(|h| spark(h.rps.values().map(f64::from), TREND, None))
                .unwrap_or_default();
            rows.push(Row {
                key: format!("{ns}/{}", split.backend),
                cells: vec![
                    model.clone(),
                    version,
                    format!("{:>3}% {}", split.weight, bar(split.share, 10)),
                    deployment
                        .map(|d| format!("{}/{}", d.ready, d.replicas))
                        .unwrap_or_else(|| "-".into()),
                    hpa.map(|h| {
                        format!(
                            "{}-{} @{}%",
                            h.min,
                            h.max,
                            h.target_utilization
                                .map(|t| t.to_string())
                                .unwrap_or_else(|| "?".into())
                        )
                    })
                    .unwrap_or_else(|| "-".into()),
                    traffic
                        .map(|t| format!("{:.1}", t.rps))
                        .unwrap_or_else(|| "-".into()),
                    trend,
                    traffic
                        .map(|t| format!("{:.2}%", t.error_ratio * 100.0))
                        .unwrap_or_else(|| "-".into()),
                    ms(traffic.and_then(|t| t.p50_seconds)),
                    ms(traffic.and_then(|t| t.p99_seconds)),
                ],
                slot: Some(if canary && split.share < 0.5 {
                    Slot::Canary
                } else {
                    Slot::Stable
                }),
                labels: Vec::new(),
            });
        }
    }
    Table {
        columns: vec![
            Column::text("MODEL", 18),
            Column::text("VERSION", 8),
            Column::text("WEIGHT", 16),
            Column::number("READY", 6),
            Column::text("HPA", 11).drops(3),
            Column::number("RPS", 7),
            Column::text("RPS TREND", TREND as u16).drops(1),
            Column::number("ERR", 7),
            Column::number("P50", 6).drops(2),
            Column::number("P99", 6),
        ],
        rows,
    }
}
