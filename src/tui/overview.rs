//! The Overview: pools, a GPU heat strip, the queue, serving, alerts and health at a glance.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::App;
use super::derived::{HeatCell, POOL_TREND};
use super::render::style;
use super::theme::Slot;
use super::views::serving::bar;
use crate::domain::cost::dollars;
use crate::domain::serving::splits;

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
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(pool_lines.len() as u16 + 2),
        Constraint::Min(4),
        Constraint::Length(6),
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
    frame.render_widget(panel(app, "Serving", serving_lines(app)), serving);
    frame.render_widget(panel(app, "Alerts", alerts(app)).wrap(wrap), bottom);
}

fn pools(app: &App) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        format!(
            " {:<18} {:<10} {:>5} {:>7} {:>5} {:>8} {:<trend$} {:<9} {}",
            "POOL",
            "ROLE",
            "NODES",
            "GPUS",
            "UTIL",
            "$/H",
            "TREND",
            "CAPACITY",
            "GPU",
            trend = POOL_TREND
        ),
        style(app, Slot::Header),
    )];
    for line in &app.derived.overview.pools {
        let (pool, mean) = (&line.pool, line.util);
        let slot = mean.map(Slot::gpu).unwrap_or(Slot::Text);
        let gpus = if pool.gpus > 0 {
            format!("{}/{}", pool.gpus_allocated, pool.gpus)
        } else {
            "-".into()
        };
        let util = mean.map_or_else(|| "-".into(), |m| format!("{m:.0}%"));
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    " {:<18} {:<10} {:>5} {gpus:>7} ",
                    pool.name,
                    pool.role,
                    format!("{}/{}", pool.ready, pool.nodes),
                ),
                style(app, Slot::Text),
            ),
            Span::styled(format!("{util:>5}"), style(app, slot)),
            Span::styled(
                format!(" {:>8} ", dollars(line.cost_per_hour)),
                style(app, Slot::Text),
            ),
            Span::styled(format!("{:<POOL_TREND$}", line.trend), style(app, slot)),
            Span::styled(
                format!(
                    " {:<9} {}",
                    if pool.spot { "spot" } else { "on-demand" },
                    pool.gpu_product.clone().unwrap_or_default()
                ),
                style(app, Slot::Muted),
            ),
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

/// A line per served version (the model named on its first): weight, requests/s, errors, p99.
fn serving_lines(app: &App) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for route in app.snapshot.routes.values() {
        let model = route
            .meta
            .label("mlxp.io/model")
            .unwrap_or(&route.meta.name)
            .to_string();
        let live = splits(route).into_iter().filter(|s| s.weight > 0);
        for (i, split) in live.enumerate() {
            let version = split
                .backend
                .trim_start_matches(&format!("{model}-"))
                .to_string();
            let traffic = app
                .metrics
                .iter()
                .flat_map(|m| &m.traffic)
                .find(|t| t.model == model && t.version == version);
            let slot = if split.share < 0.5 {
                Slot::Canary
            } else {
                Slot::Stable
            };
            let name = if i == 0 { model.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {name:<16}"), style(app, Slot::Text)),
                Span::styled(
                    format!(
                        " {version:<3} {:>3}% {} {}",
                        split.weight,
                        bar(split.share, 5),
                        traffic
                            .map(|t| format!(
                                "{:>4.0}rps {:>4.1}% p99 {}",
                                t.rps,
                                t.error_ratio * 100.0,
                                t.p99_seconds
                                    .map_or_else(|| "-".into(), |s| format!("{:.0}ms", s * 1000.0))
                            ))
                            .unwrap_or_default()
                    ),
                    style(app, slot),
                ),
            ]));
        }
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

/// Why the alerts cannot be complete: the kinds they read are not current, or the metrics
/// behind the idle, drift and error alerts are missing.
fn alert_blind_spots(app: &App) -> Vec<String> {
    use crate::cluster::KindName::{Jobs, Models, Nodes, Pods};
    let mut unknown = Vec::new();
    let blind: Vec<&str> = app
        .snapshot
        .blind_spots()
        .into_iter()
        .filter(|k| matches!(k, Nodes | Pods | Jobs | Models))
        .map(|k| k.label())
        .collect();
    if app.snapshot.api.silent() {
        unknown.push("the API server cannot be read".to_string());
    } else if !blind.is_empty() {
        unknown.push(format!("{} not synced", blind.join(", ")));
    }
    match (&app.metrics, &app.metrics_error) {
        (_, Some(_)) => unknown.push("metrics failing: idle GPUs, drift and errors".into()),
        (None, None) => unknown.push("no metrics: idle GPUs, drift and errors".into()),
        (Some(_), None) => {}
    }
    unknown
}

fn alerts(app: &App) -> Vec<Line<'static>> {
    let snapshot = &app.snapshot;
    let unknown = alert_blind_spots(app);
    let mut alerts = Vec::new();
    if let Some(metrics) = &app.metrics {
        let overview = &app.derived.overview;
        if overview.idle_gpus > 0 {
            alerts.push((
                Slot::Alert,
                format!(
                    "{} GPU(s) allocated but idle ({}/h wasted): {}",
                    overview.idle_gpus,
                    dollars(overview.idle_per_hour),
                    overview.idle_pods.join(", ")
                ),
            ));
        }
        for model in snapshot.models.values() {
            for q in metrics
                .quality
                .iter()
                .filter(|q| q.model == model.meta.name)
            {
                if let (Some(drift), Some(limit)) = (q.drift, model.drift_threshold)
                    && drift > limit
                {
                    alerts.push((
                        Slot::Warning,
                        format!("{} {} drift {drift:.2} > {limit:.2}", q.model, q.version),
                    ));
                }
            }
            for t in metrics
                .traffic
                .iter()
                .filter(|t| t.model == model.meta.name)
            {
                if let Some(limit) = model
                    .max_error_rate
                    .filter(|l| t.rps > 0.0 && t.error_ratio > *l)
                {
                    alerts.push((
                        Slot::Alert,
                        format!(
                            "{} {} failing: {:.1}% errors > {:.1}%",
                            t.model,
                            t.version,
                            t.error_ratio * 100.0,
                            limit * 100.0
                        ),
                    ));
                }
            }
        }
    }
    let failed = app.derived.overview.failed_jobs;
    if failed > 0 {
        alerts.push((
            Slot::StatusFailed,
            format!("{failed} training job(s) failed (:jobs)"),
        ));
    }
    // "all clear" only when nothing is unknown; otherwise say what is.
    if alerts.is_empty() && unknown.is_empty() {
        return vec![Line::styled(" all clear", style(app, Slot::StatusOk))];
    }
    let none_seen = alerts.is_empty();
    let mut lines: Vec<Line<'static>> = unknown
        .into_iter()
        .map(|why| (Slot::Warning, format!("unknown: {why}")))
        .chain(alerts)
        .map(|(slot, text)| Line::styled(format!(" ● {text}"), style(app, slot)))
        .collect();
    if none_seen {
        lines.push(Line::styled(
            " no alert among what can be seen",
            style(app, Slot::Muted),
        ));
    }
    lines
}
