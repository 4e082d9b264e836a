//! Drawing the detail pane: the selected object's lines on the left (scrollable), its charts
//! on the right as sparklines, newest sample at the right edge as nvtop draws them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, RenderDirection, Sparkline};

use super::action::Action;
use super::app::App;
use super::keymap::Context;
use super::style::style;
use super::theme::Slot;
use super::views::detail::{CHART_TOP, Chart, Detail, DetailLine};

/// Charts are drawn beside the text when the pane is at least this wide.
const CHARTS_FROM_WIDTH: u16 = 56;

pub fn render(app: &App, detail: &Detail, frame: &mut Frame, area: Rect) {
    let key = |a: Action| {
        let keys = app.keymap.keys_of(Context::Table, a)?;
        Some(keys.split(", ").next()?.to_string())
    };
    let ops = Action::on_rows_of(app.view);
    let (disabled, offered): (Vec<Action>, Vec<Action>) = ops
        .iter()
        .partition(|a| a.changes_the_cluster() && app.read_only());
    let mut hints: Vec<String> = offered
        .iter()
        .filter_map(|a| Some(format!("{} {}", key(*a)?, a.short())))
        .collect();
    if let (false, Some(why)) = (disabled.is_empty(), app.read_only_reason()) {
        let keys: Vec<String> = disabled.iter().filter_map(|a| key(*a)).collect();
        hints.insert(0, format!("{} disabled (read-only: {why})", keys.join(" ")));
    }
    hints.extend(
        [Action::DetailDown, Action::ToggleDetail]
            .iter()
            .filter_map(|a| {
                Some(format!(
                    "{}: {}",
                    app.keymap.keys_of(Context::Table, *a)?,
                    a.short()
                ))
            }),
    );
    // As many as fit on the border, the first ones first.
    let room = usize::from(area.width).saturating_sub(4);
    let mut hint = String::new();
    for h in hints {
        let sep = if hint.is_empty() { 0 } else { 3 };
        if hint.chars().count() + sep + h.chars().count() > room {
            break;
        }
        if !hint.is_empty() {
            hint.push_str(" · ");
        }
        hint.push_str(&h);
    }
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
        .flat_map(|line| wrap(line, usize::from(text_area.width)))
        .map(|line| {
            Line::from(
                line.into_iter()
                    .map(|(slot, text)| Span::styled(text, style(app, slot)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let scroll = u16::try_from(app.detail_scroll).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), text_area);
    if let Some(area) = charts_area {
        charts(app, &detail.charts, frame, area);
    }
}

/// A line cut at spaces to `width` cells, its continuation lines indented under its value
/// (past a field's name, a list item's marker) rather than back at the edge; a word longer
/// than a line is cut where the line ends.
fn wrap(line: &DetailLine, width: usize) -> Vec<DetailLine> {
    let indent = match line.as_slice() {
        [(_, first), _, ..] => first.chars().count(),
        [(_, only)] => only.chars().take_while(|c| *c == ' ').count(),
        [] => 0,
    }
    .min(width / 2);
    let mut rows: Vec<DetailLine> = vec![Vec::new()];
    let mut used = 0;
    for (slot, text) in line {
        for word in text.split_inclusive(' ') {
            let mut word = word.to_string();
            let len = |w: &str| w.chars().count();
            if used > indent && used + len(word.trim_end()) > width {
                rows.push(vec![(Slot::Text, " ".repeat(indent))]);
                used = indent;
                if word.trim().is_empty() {
                    continue;
                }
            }
            while len(word.trim_end()) > width.saturating_sub(used) {
                let head: String = word
                    .chars()
                    .take(width.saturating_sub(used).max(1))
                    .collect();
                word = word.chars().skip(len(&head)).collect();
                push(rows.last_mut(), *slot, head);
                rows.push(vec![(Slot::Text, " ".repeat(indent))]);
                used = indent;
            }
            used += len(&word);
            push(rows.last_mut(), *slot, word);
        }
    }
    rows
}

/// `text` at the end of `row`, in the last piece when it has the same colour.
fn push(row: Option<&mut DetailLine>, slot: Slot, text: String) {
    let Some(row) = row else { return };
    match row.last_mut() {
        Some((last, piece)) if *last == slot => piece.push_str(&text),
        _ => row.push((slot, text)),
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
