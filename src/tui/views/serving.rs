//! Serving & Canary: per model, each version's traffic weight, replicas, autoscaler, what
//! it serves (requests/s, errors, latency), whether that holds to its Model's limits, and
//! when its Deployment or route last changed.

use super::{Body, Inputs, RowObject, TableDef, ViewDef, detail};
use crate::cluster::KindName;
use crate::tui::history::spark;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::serving::{Health, splits};
use mlxp_core::served::{model_of, traffic_of, version_health, version_of};

/// Cells of the weight bar in the table.
const WEIGHT_BAR: usize = 8;

/// Samples in the requests/s trend column.
const TREND: usize = 12;

/// A weight as a bar of `width` cells.
pub fn bar(share: f64, width: usize) -> String {
    let filled = (share.clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

pub const VIEW: ViewDef = ViewDef {
    title: "Serving & Canary",
    commands: &["serving", "canary", "canaries"],
    key_help: "Serving endpoints",
    body: Body::Table(TableDef {
        rows: table,
        detail: detail::serving::detail,
        object: Some(RowObject::Namespaced(KindName::Deployments)),
        reverse_sort_column: None,
        queues_above: false,
    }),
};

pub fn table(inputs: &Inputs) -> Table {
    let snapshot = inputs.snapshot;
    let mut rows = Vec::new();
    for route in snapshot
        .routes
        .values()
        .filter(|r| inputs.in_namespace(&r.meta.namespace))
    {
        let model = model_of(route).to_string();
        let ns = route.meta.namespace.as_str();
        let canary = route.backends.iter().filter(|b| b.weight > 0).count() > 1;
        for split in splits(route) {
            let deployment = snapshot.deployments.get(ns, &split.backend);
            let version = version_of(snapshot, ns, &model, &split.backend);
            let hpa = snapshot
                .hpas
                .values()
                .find(|h| h.meta.namespace == ns && h.target == split.backend);
            let traffic = inputs.metrics.and_then(|m| traffic_of(m, &model, &version));
            let ms = |s: Option<f64>| {
                s.map(|s| format!("{:.0}ms", s * 1000.0))
                    .unwrap_or_else(|| "-".into())
            };
            let health = version_health(snapshot, inputs.metrics, ns, &model, &version);
            let changed = deployment
                .and_then(|d| d.last_change)
                .max(route.last_change);
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
                    format!("{:>3}% {}", split.weight, bar(split.share, WEIGHT_BAR)),
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
                    super::age(changed, inputs.now),
                    health
                        .as_ref()
                        .map_or_else(|| "-".into(), Health::to_string),
                ],
                slot: Some(if health.as_ref().is_some_and(Health::failing) {
                    Slot::StatusFailed
                } else if canary && split.share < 0.5 {
                    Slot::Canary
                } else {
                    Slot::Stable
                }),
                labels: Vec::new(),
            });
        }
    }
    Table::new(
        vec![
            Column::text("MODEL").keeps(),
            Column::text("VERSION").keeps(),
            Column::text("WEIGHT"),
            Column::number("READY"),
            Column::text("HPA").drops(4),
            Column::number("RPS"),
            Column::text("RPS TREND").drops(2),
            Column::number("ERR"),
            Column::number("P50").drops(3),
            Column::number("P99"),
            Column::number("CHANGED").drops(1),
            Column::text("STATUS").keeps(),
        ],
        rows,
    )
}
