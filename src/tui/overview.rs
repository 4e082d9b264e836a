//! The Overview: pools, a GPU heat strip, the queue, serving, alerts and health at a glance.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::App;
use super::derived::{HeatCell, POOL_TREND};
use super::style::style;
use super::theme::Slot;
use super::views::serving::bar;
use mlxp_core::domain::cost::dollars;
use mlxp_core::health::{self, Severity};
use mlxp_core::served::ServedVersion;

fn panel<'a>(app: &App, title: &str, lines: Vec<Line<'a>>) -> Paragraph<'a> {
    Paragraph::new(lines).block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(style(app, Slot::Border))
            .title(Span::styled(format!(" {title} "), style(app, Slot::Title))),
    )
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let pool_lines = pools(app);
    let alert_lines = alerts(app);
    // Four lines at least, as many as there are up to a third of the screen.
    let alert_rows = (alert_lines.len() as u16).clamp(4, (area.height / 3).max(4));
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(pool_lines.len() as u16 + 2),
        Constraint::Min(4),
        Constraint::Length(alert_rows + 2),
    ])
    .areas(area);
    // A burn summed over nodes the cockpit cannot see is no figure at all.
    let burn = if cost_blind(app) {
        "$?".to_string()
    } else {
        dollars(app.derived.overview.burn_per_hour)
    };
    frame.render_widget(panel(app, &format!("Pools · {burn}/h"), pool_lines), top);
    let [heat, queue] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
    let title = if app.metrics.is_some() {
        "GPU heat (one cell per GPU)"
    } else {
        "GPUs allocated ▓ / free ░ (no metrics)"
    };
    frame.render_widget(
        panel(
            app,
            title,
            heat_strip(
                app,
                heat.width.saturating_sub(2),
                heat.height.saturating_sub(2),
            ),
        ),
        heat,
    );
    let [queue, serving] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(queue);
    // Queue and alert lines are sentences: they wrap rather than lose their ends.
    let wrap = Wrap { trim: false };
    frame.render_widget(panel(app, "Queue", queue_lines(app)).wrap(wrap), queue);
    let lines = serving_lines(app, serving.height.saturating_sub(2));
    frame.render_widget(panel(app, "Serving", lines), serving);
    let alert_lines = fit(app, alert_lines, bottom.height.saturating_sub(2));
    frame.render_widget(panel(app, "Alerts", alert_lines).wrap(wrap), bottom);
}

/// The pools as a table whose columns are as wide as their values (an xlarge pool's
/// `29984/31960` GPUs included), so that every line stays in line with the header.
fn pools(app: &App) -> Vec<Line<'static>> {
    const HEADER: [&str; 9] = [
        "POOL", "ROLE", "NODES", "GPUS", "UTIL", "$/H", "TREND", "CAPACITY", "GPU",
    ];
    // Right-aligned: the numbers.
    const NUMERIC: [bool; 9] = [false, false, true, true, true, true, false, false, false];
    let rows: Vec<([String; 9], Slot)> = app
        .derived
        .overview
        .pools
        .iter()
        .map(|line| {
            let pool = &line.pool;
            let gpus = if pool.gpus > 0 {
                format!("{}/{}", pool.gpus_allocated, pool.gpus)
            } else {
                "-".into()
            };
            let cells = [
                pool.name.clone(),
                pool.role.clone(),
                format!("{}/{}", pool.ready, pool.nodes),
                gpus,
                line.util.map_or_else(|| "-".into(), |m| format!("{m:.0}%")),
                dollars(line.cost_per_hour),
                line.trend.clone(),
                if pool.spot { "spot" } else { "on-demand" }.into(),
                pool.gpu_product.clone().unwrap_or_default(),
            ];
            (cells, line.util.map(Slot::gpu).unwrap_or(Slot::Text))
        })
        .collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    widths[6] = widths[6].max(POOL_TREND);
    for (cells, _) in &rows {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let cell = |i: usize, text: &str| match NUMERIC[i] {
        true => format!(" {text:>width$}", width = widths[i]),
        false => format!(" {text:<width$}", width = widths[i]),
    };
    let join = |range: std::ops::Range<usize>, cells: &[String]| {
        range.map(|i| cell(i, &cells[i])).collect::<String>()
    };
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    let mut lines = vec![Line::styled(join(0..9, &header), style(app, Slot::Header))];
    for (cells, slot) in rows {
        lines.push(Line::from(vec![
            Span::styled(join(0..4, &cells), style(app, Slot::Text)),
            Span::styled(cell(4, &cells[4]), style(app, slot)),
            Span::styled(cell(5, &cells[5]), style(app, Slot::Text)),
            Span::styled(cell(6, &cells[6]), style(app, slot)),
            Span::styled(join(7..9, &cells), style(app, Slot::Muted)),
        ]));
    }
    lines
}

/// One cell per GPU, nodes in order: coloured by utilisation, idle-but-allocated GPUs
/// standing out; without metrics, allocated or free.
fn heat_strip(app: &App, width: u16, height: u16) -> Vec<Line<'static>> {
    if app.derived.overview.heat.is_empty() {
        return vec![Line::styled(" no GPUs", style(app, Slot::Muted))];
    }
    let cells = (width as usize) * (height as usize);
    let gpus = &app.derived.overview.heat;
    let mut lines = Vec::new();
    let shown = gpus.len().min(cells.saturating_sub(if gpus.len() > cells {
        width as usize
    } else {
        0
    }));
    for chunk in gpus[..shown].chunks(width.max(1) as usize) {
        lines.push(Line::from(
            chunk
                .iter()
                .map(|cell| {
                    let (text, slot) = match *cell {
                        HeatCell::Util { idle: true, .. } => ("▒", Slot::Alert),
                        HeatCell::Util { util, .. } => ("█", Slot::gpu(util)),
                        HeatCell::Allocated => ("▓", Slot::GpuWarm),
                        HeatCell::Free => ("░", Slot::GpuIdle),
                    };
                    Span::styled(text, style(app, slot))
                })
                .collect::<Vec<_>>(),
        ));
    }
    if shown < gpus.len() {
        lines.push(Line::styled(
            format!(" +{} more GPUs (:gpus)", gpus.len() - shown),
            style(app, Slot::Muted),
        ));
    }
    lines
}

fn queue_lines(app: &App) -> Vec<Line<'static>> {
    let snapshot = &app.snapshot;
    let mut lines = Vec::new();
    for cq in snapshot.cluster_queues.values() {
        let flavors: Vec<String> = cq
            .flavors
            .iter()
            .map(|f| format!("{} {}/{}", f.flavor, f.gpu_used, f.gpu_quota))
            .collect();
        lines.push(Line::styled(
            format!(
                " {} ({}): {} · {} pending",
                cq.meta.name,
                cq.strategy,
                flavors.join(", "),
                cq.pending
            ),
            style(app, Slot::Text),
        ));
    }
    for (i, (name, gpus)) in app.derived.overview.queue_head.iter().enumerate() {
        lines.push(Line::styled(
            format!("  #{} {name} ({gpus} GPUs)", i + 1),
            style(app, Slot::StatusPending),
        ));
    }
    if snapshot.cluster_queues.is_empty() {
        lines.push(Line::styled(
            " no Kueue ClusterQueues",
            style(app, Slot::Muted),
        ));
    }
    lines
}

/// A line per served version (the model named on its first): weight, requests/s, errors,
/// p99, failing ones in the failure style. When the panel cannot show them all, the failing
/// ones come first.
fn serving_lines(app: &App, height: u16) -> Vec<Line<'static>> {
    let mut served: Vec<&ServedVersion> = app.derived.overview.serving.iter().collect();
    if served.len() > usize::from(height) {
        served.sort_by_key(|s| !s.failing());
    }
    let mut lines = Vec::new();
    let mut previous: Option<&str> = None;
    for line in served {
        let name = if previous == Some(line.model.as_str()) {
            ""
        } else {
            line.model.as_str()
        };
        previous = Some(&line.model);
        let slot = if line.failing() {
            Slot::StatusFailed
        } else if line.share < 0.5 {
            Slot::Canary
        } else {
            Slot::Stable
        };
        let traffic = line.traffic.as_ref().map(|t| {
            format!(
                "{:>4.0}rps {:>4.1}% p99 {}",
                t.rps,
                t.error_ratio * 100.0,
                t.p99_seconds
                    .map_or_else(|| "-".into(), |s| format!("{:.0}ms", s * 1000.0))
            )
        });
        lines.push(Line::from(vec![
            Span::styled(format!(" {name:<16}"), style(app, Slot::Text)),
            Span::styled(
                format!(
                    " {:<3} {:>3}% {} {}",
                    line.version,
                    line.weight,
                    bar(line.share, 5),
                    traffic.unwrap_or_default()
                ),
                style(app, slot),
            ),
        ]));
    }
    lines
}

/// The kinds the pools' costs are summed from are not current.
fn cost_blind(app: &App) -> bool {
    use crate::cluster::KindName::{Nodes, Pods};
    app.snapshot
        .blind_spots()
        .iter()
        .any(|k| matches!(k, Nodes | Pods))
}

/// The alerts the core decided, then what it cannot see; "all clear" only when it says so.
fn alerts(app: &App) -> Vec<Line<'static>> {
    let alerts = &app.derived.overview.alerts;
    let unknown = health::unknowns(
        &app.snapshot,
        app.metrics.is_some(),
        app.metrics_error.is_some(),
    );
    if health::all_clear(alerts, &unknown) {
        return vec![Line::styled(" all clear", style(app, Slot::StatusOk))];
    }
    let mut lines: Vec<Line<'static>> = alerts
        .iter()
        .map(|alert| {
            let slot = match alert.severity() {
                Severity::Critical => Slot::Alert,
                Severity::Warning => Slot::Warning,
            };
            Line::styled(format!(" ● {alert}"), style(app, slot))
        })
        .chain(
            unknown
                .iter()
                .map(|why| Line::styled(format!(" ● unknown: {why}"), style(app, Slot::Warning))),
        )
        .collect();
    if alerts.is_empty() {
        lines.push(Line::styled(
            " no alert among what can be seen",
            style(app, Slot::Muted),
        ));
    }
    lines
}

/// At most `rows` lines: when they do not all fit, the last one says how many are left out
/// and where to read them all.
fn fit(app: &App, mut lines: Vec<Line<'static>>, rows: u16) -> Vec<Line<'static>> {
    let rows = usize::from(rows.max(1));
    if lines.len() > rows {
        let more = lines.len() - rows + 1;
        lines.truncate(rows - 1);
        lines.push(Line::styled(
            format!(" +{more} more: mlxp get alerts"),
            style(app, Slot::Muted),
        ));
    }
    lines
}

#[cfg(test)]
mod tests;
