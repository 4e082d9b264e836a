//! Serving & Canary: per model, each version's traffic weight, replicas, autoscaler, what
//! it serves (requests/s, errors, latency), whether that holds to its Model's limits,
//! when its Deployment or route last changed, and what mlxp (the agent or a person) last
//! did to it.

use super::detail::{Chart, Detail, Lines, chart, or_dash, split_key};
use super::{Body, Inputs, RowObject, TableDef, ViewDef, last_action};
use crate::cluster::KindName;
use crate::tui::history::spark;
use crate::tui::table::{Column, Labels, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::serving::{Breach, Health, last_actions, splits};
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
        detail,
        object: Some(RowObject::Namespaced(KindName::Deployments)),
        reverse_sort_column: None,
        queues_above: false,
    }),
};

pub fn table(inputs: &Inputs) -> Table {
    let snapshot = inputs.snapshot;
    let events_seen = snapshot.status(KindName::Events).synced();
    let last = events_seen.then(|| last_actions(snapshot));
    let mut rows = Vec::new();
    for route in snapshot
        .routes
        .values()
        .filter(|r| inputs.in_namespace(&r.meta.namespace))
    {
        let model = model_of(route).to_string();
        let ns = route.meta.namespace.as_str();
        // The versions' ModelVersions live with their Model, which may not be the route's.
        let model_namespace = snapshot
            .models
            .values()
            .find(|m| m.meta.name == model && m.route.as_ref().is_none_or(|(rns, _)| rns == ns))
            .map_or(ns, |m| m.meta.namespace.as_str());
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
                    last_action(last.as_ref(), model_namespace, &split.backend, inputs.now),
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
                labels: Labels::default(),
            });
        }
    }
    Table::new(
        vec![
            Column::text("MODEL").keeps(),
            Column::text("VERSION").keeps(),
            Column::text("WEIGHT"),
            Column::number("READY"),
            Column::text("HPA").drops(5),
            Column::number("RPS"),
            Column::text("RPS TREND").drops(2),
            Column::number("ERR"),
            Column::number("P50").drops(4),
            Column::number("P99"),
            Column::number("CHANGED").drops(1),
            Column::text("LAST ACTION").drops(3),
            Column::text("STATUS").keeps(),
        ],
        rows,
    )
}

pub fn detail(inputs: &Inputs, key: &str) -> Option<Detail> {
    let (namespace, backend) = split_key(key)?;
    let snapshot = inputs.snapshot;
    let route = snapshot
        .routes
        .values()
        .find(|r| r.meta.namespace == namespace && r.backends.iter().any(|b| b.name == backend))?;
    let model = model_of(route).to_string();
    let deployment = snapshot.deployments.get(namespace, backend);
    let version = version_of(snapshot, namespace, &model, backend);
    let mut lines = Lines::default();
    lines.heading(format!("Route {}/{}", namespace, route.meta.name));
    for split in splits(route) {
        let this = split.backend == backend;
        lines.line(vec![
            (
                if this { Slot::Title } else { Slot::Text },
                format!(" {} {:<24}", if this { "▶" } else { " " }, split.backend),
            ),
            (
                if split.share < 0.5 {
                    Slot::Canary
                } else {
                    Slot::Stable
                },
                format!("{:>3}% {}", split.weight, bar(split.share, 20)),
            ),
        ]);
    }
    match deployment {
        Some(d) => lines.field(
            "deployment",
            format!(
                "{} ready / {} desired · {} updated · {} available",
                d.ready, d.replicas, d.updated, d.available
            ),
        ),
        None => lines.field_in(
            "deployment",
            format!("no Deployment {backend}"),
            Slot::Warning,
        ),
    }
    if let Some(h) = snapshot
        .hpas
        .values()
        .find(|h| h.meta.namespace == namespace && h.target == backend)
    {
        lines.field(
            "autoscaler",
            format!(
                "{}–{} replicas, cpu {} of target {} · now {} → {}",
                h.min,
                h.max,
                or_dash(h.current_utilization.map(|u| format!("{u}%"))),
                or_dash(h.target_utilization.map(|u| format!("{u}%"))),
                h.current,
                h.desired
            ),
        );
    }
    let limits = snapshot.models.get(namespace, &model);
    let traffic = inputs.metrics.and_then(|m| traffic_of(m, &model, &version));
    // The core's verdict; the lines below only mark the limits it names.
    let health = version_health(snapshot, inputs.metrics, namespace, &model, &version);
    if let Some(health) = &health {
        let slot = match health {
            Health::Healthy => Slot::StatusOk,
            Health::Failing(_) => Slot::StatusFailed,
            Health::NoTraffic => Slot::Muted,
        };
        lines.field_in("status", health.to_string(), slot);
    }
    // Which limits it is over, to mark their lines.
    let breaches = match &health {
        Some(Health::Failing(breaches)) => breaches.as_slice(),
        _ => &[],
    };
    let over = |wanted: fn(&Breach) -> bool| {
        if breaches.iter().any(wanted) {
            Slot::Alert
        } else {
            Slot::StatusOk
        }
    };
    if let Some(t) = traffic {
        let max_errors = limits.and_then(|m| m.max_error_rate);
        let max_p99 = limits.and_then(|m| m.max_p99_seconds);
        lines.field("traffic", format!("{:.1} requests/s", t.rps));
        lines.field_in(
            "errors",
            format!(
                "{:.2}% (limit {})",
                t.error_ratio * 100.0,
                or_dash(max_errors.map(|l| format!("{:.1}%", l * 100.0)))
            ),
            over(|b| matches!(b, Breach::Errors { .. })),
        );
        lines.field_in(
            "latency",
            format!(
                "p50 {} · p99 {} (limit {})",
                or_dash(t.p50_seconds.map(|s| format!("{:.0}ms", s * 1000.0))),
                or_dash(t.p99_seconds.map(|s| format!("{:.0}ms", s * 1000.0))),
                or_dash(max_p99.map(|s| format!("{:.0}ms", s * 1000.0)))
            ),
            over(|b| matches!(b, Breach::P99 { .. })),
        );
    } else {
        lines.text(Slot::Muted, "no traffic metrics");
    }
    lines.done(
        format!("{model} {version}"),
        charts(inputs, &model, &version),
    )
}

fn charts(inputs: &Inputs, model: &str, version: &str) -> Vec<Chart> {
    let Some(series) = inputs.history.traffic(model, version) else {
        return Vec::new();
    };
    let last =
        |v: Option<f32>, unit: &str| v.map_or_else(|| "-".into(), |v| format!("{v:.1}{unit}"));
    vec![
        chart(
            format!("requests/s {}", last(series.rps.last(), "")),
            series.rps.values(),
            None,
            Slot::Stable,
        ),
        chart(
            format!("errors {}", last(series.errors.last(), "%")),
            series.errors.values(),
            None,
            Slot::Alert,
        ),
        chart(
            format!("p99 {}", last(series.p99_ms.last(), "ms")),
            series.p99_ms.values(),
            None,
            Slot::Warning,
        ),
    ]
}
