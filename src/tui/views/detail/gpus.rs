//! A GPU, nvtop-like: what it is, who holds it, and its utilisation, memory and power over
//! the last minutes.

use super::{Chart, Detail, Lines, chart, split_key};
use crate::tui::theme::Slot;
use crate::tui::views::Inputs;
use mlxp_core::domain::cost::IDLE_BELOW;
use mlxp_core::domain::cost::dollars;
use mlxp_core::domain::pools::pool_of;
use mlxp_core::gpus::{hourly_price, idle_allocated};

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
