//! A served model version: its share of the route, its Deployment and autoscaler, what it
//! serves against its model's limits, and requests, errors and p99 over the last minutes.

use super::{Chart, Detail, Lines, chart, or_dash, split_key};
use crate::domain::serving::splits;
use crate::tui::theme::Slot;
use crate::tui::views::Inputs;
use crate::tui::views::serving::bar;

pub fn detail(inputs: &Inputs, key: &str) -> Option<Detail> {
    let (namespace, backend) = split_key(key)?;
    let snapshot = inputs.snapshot;
    let route = snapshot
        .routes
        .values()
        .find(|r| r.meta.namespace == namespace && r.backends.iter().any(|b| b.name == backend))?;
    let model = route
        .meta
        .label("mlxp.io/model")
        .unwrap_or(&route.meta.name)
        .to_string();
    let deployment = snapshot.deployments.get(namespace, backend);
    let version = deployment
        .and_then(|d| d.meta.label("mlxp.io/version").map(String::from))
        .unwrap_or_else(|| backend.trim_start_matches(&format!("{model}-")).to_string());
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
    let traffic = inputs.metrics.and_then(|m| {
        m.traffic
            .iter()
            .find(|t| t.model == model && t.version == version)
    });
    if let Some(t) = traffic {
        let max_errors = limits.and_then(|m| m.max_error_rate);
        let max_p99 = limits.and_then(|m| m.max_p99_seconds);
        let failing = max_errors.is_some_and(|l| t.rps > 0.0 && t.error_ratio > l);
        lines.field("traffic", format!("{:.1} requests/s", t.rps));
        lines.field_in(
            "errors",
            format!(
                "{:.2}% (limit {})",
                t.error_ratio * 100.0,
                or_dash(max_errors.map(|l| format!("{:.1}%", l * 100.0)))
            ),
            if failing { Slot::Alert } else { Slot::StatusOk },
        );
        let slow = matches!((t.p99_seconds, max_p99), (Some(p), Some(l)) if p > l);
        lines.field_in(
            "latency",
            format!(
                "p50 {} · p99 {} (limit {})",
                or_dash(t.p50_seconds.map(|s| format!("{:.0}ms", s * 1000.0))),
                or_dash(t.p99_seconds.map(|s| format!("{:.0}ms", s * 1000.0))),
                or_dash(max_p99.map(|s| format!("{:.0}ms", s * 1000.0)))
            ),
            if slow { Slot::Alert } else { Slot::StatusOk },
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
