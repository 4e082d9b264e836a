//! Drawing the detail pane: the selected object's lines on the left (scrollable), its charts
//! on the right as sparklines, newest sample at the right edge as nvtop draws them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, RenderDirection, Sparkline, Wrap};

use super::action::Action;
use super::app::App;
use super::keymap::Context;
use super::render::style;
use super::theme::Slot;
use super::views::detail::{CHART_TOP, Chart, Detail};

/// Charts are drawn beside the text when the pane is at least this wide.
const CHARTS_FROM_WIDTH: u16 = 56;

pub fn render(app: &App, detail: &Detail, frame: &mut Frame, area: Rect) {
    let hint = [Action::DetailDown, Action::ToggleDetail]
        .iter()
        .filter_map(|a| {
            app.keymap
                .keys_of(Context::Table, *a)
                .map(|k| format!("{k}: {}", short(*a)))
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style(app, Slot::Border))
        .title(Span::styled(
            format!(" {} ", detail.title),
            style(app, Slot::Title),
        ))
        .title_bottom(Line::styled(format!(" {hint} "), style(app, Slot::Muted)).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (text_area, charts_area) = if detail.charts.is_empty() || inner.width < CHARTS_FROM_WIDTH {
        (inner, None)
    } else {
        let chart_width = (inner.width * 2 / 5).min(64);
        let [text, charts] =
            Layout::horizontal([Constraint::Min(20), Constraint::Length(chart_width)]).areas(inner);
        (text, Some(charts))
    };
    let lines: Vec<Line> = detail
        .lines
        .iter()
        .map(|line| {
            Line::from(
                line.iter()
                    .map(|(slot, text)| Span::styled(text.clone(), style(app, *slot)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let scroll = u16::try_from(app.detail_scroll).unwrap_or(u16::MAX);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        text_area,
    );
    if let Some(area) = charts_area {
        charts(app, &detail.charts, frame, area);
    }
}

/// The charts one above the other, each a title line and a sparkline.
fn charts(app: &App, charts: &[Chart], frame: &mut Frame, area: Rect) {
    // A title line and at most four rows of bars each: taller, a flat series is a slab.
    let each = (area.height / charts.len().max(1) as u16).clamp(2, 5);
    for (i, chart) in charts.iter().enumerate() {
        let y = area.y + i as u16 * each;
        if y + 1 >= area.y + area.height {
            break;
        }
        let height = each.min(area.y + area.height - y);
        let title = Rect {
            height: 1,
            y,
            ..area
        };
        let plot = Rect {
            y: y + 1,
            height: height - 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!(" {}", chart.title),
                style(app, Slot::Muted),
            )),
            title,
        );
        // Newest first, drawn from the right edge leftwards.
        let newest: Vec<u64> = chart
            .values
            .iter()
            .rev()
            .take(plot.width as usize)
            .copied()
            .collect();
        frame.render_widget(
            Sparkline::default()
                .data(newest)
                .max(CHART_TOP)
                .direction(RenderDirection::RightToLeft)
                .style(style(app, chart.slot)),
            plot,
        );
    }
}

fn short(action: Action) -> &'static str {
    match action {
        Action::DetailDown => "scroll",
        Action::ToggleDetail => "hide",
        _ => action.describe(),
    }
}
