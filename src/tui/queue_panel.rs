//! The Training & Queue view's top panel: each Kueue ClusterQueue with its GPU usage against
//! the nominal quota of every flavor, and how many Workloads wait and run. Read from the
//! snapshot as it is drawn: there are a handful of queues, not thousands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::App;
use super::style::style;
use super::theme::Slot;
use super::views::serving::bar;
use crate::cluster::SourceState;

/// Queue lines shown before "… more".
const SHOWN: usize = 4;

/// Rows the panel needs, borders included.
pub fn height(app: &App) -> u16 {
    app.snapshot.cluster_queues.len().clamp(1, SHOWN) as u16 + 2
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let snapshot = &app.snapshot;
    let mut lines: Vec<Line> = Vec::new();
    for cq in snapshot.cluster_queues.values().take(SHOWN) {
        let mut spans = vec![
            Span::styled(format!(" {} ", cq.meta.name), style(app, Slot::Title)),
            Span::styled(format!("{} ", cq.strategy), style(app, Slot::Muted)),
        ];
        for f in &cq.flavors {
            let share = if f.gpu_quota > 0 {
                f.gpu_used as f64 / f.gpu_quota as f64
            } else {
                0.0
            };
            spans.push(Span::styled(
                format!(" {} ", f.flavor),
                style(app, Slot::Text),
            ));
            spans.push(Span::styled(
                bar(share, 8),
                style(app, Slot::gpu(share * 100.0)),
            ));
            spans.push(Span::styled(
                format!(" {}/{} GPU ", f.gpu_used, f.gpu_quota),
                style(app, Slot::Text),
            ));
        }
        spans.push(Span::styled(
            format!(" · {} pending · {} admitted", cq.pending, cq.admitted),
            style(
                app,
                if cq.pending > 0 {
                    Slot::StatusPending
                } else {
                    Slot::Muted
                },
            ),
        ));
        lines.push(Line::from(spans));
    }
    if snapshot.cluster_queues.is_empty() {
        let why = match snapshot.cluster_queues.status.state {
            SourceState::NotInstalled => {
                "Kueue is not installed: Pending Jobs are the queue".to_string()
            }
            SourceState::Forbidden => "Kueue ClusterQueues: not allowed to list".to_string(),
            _ => "no Kueue ClusterQueues".to_string(),
        };
        lines.push(Line::styled(format!(" {why}"), style(app, Slot::Muted)));
    }
    let mut local: Vec<String> = snapshot
        .local_queues
        .values()
        .take(SHOWN)
        .map(|q| format!("{}/{}→{}", q.meta.namespace, q.meta.name, q.cluster_queue))
        .collect();
    if snapshot.local_queues.len() > SHOWN {
        local.push(format!("+{}", snapshot.local_queues.len() - SHOWN));
    }
    let title = format!(
        " Queues ({}) · LocalQueues: {} ",
        snapshot.cluster_queues.len(),
        local.join(", ")
    );
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(style(app, Slot::Border))
                .title(Span::styled(title, style(app, Slot::Title))),
        ),
        area,
    );
}
