//! Drawing a view's `Table`: only the rows that fit, around the selection; columns as wide
//! as the data needs (measured when the table was built, so a sort or a scroll moves no
//! column); on a narrow terminal what matters least gives way first, names and statuses last.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table as TableWidget};

use super::app::App;
use super::column_fit::fit_widths;
use super::style::style;
use super::table::Table;
use super::theme::Slot;

pub fn render(app: &App, table: &Table, frame: &mut Frame, area: Rect) {
    let title = format!(
        " {} ({}){} ",
        app.view.title(),
        table.rows.len(),
        app.sort()
            .and_then(|s| table.columns.get(s.column).map(|c| (c, s.reverse)))
            .map(|(c, r)| format!(" sorted by {}{}", c.name, if r { " ↓" } else { " ↑" }))
            .unwrap_or_default()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(style(app, Slot::Border))
        .title(Span::styled(title, style(app, Slot::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let visible = inner.height.saturating_sub(1) as usize;
    let selected = app.selected().min(table.rows.len().saturating_sub(1));
    let first = selected.saturating_sub(visible.saturating_sub(1));
    // (column index, width) of the columns shown.
    let shown: Vec<(usize, u16)> = fit_widths(table, inner.width)
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let rows = table
        .rows
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, row)| {
            let slot = if i == selected {
                Some(Slot::Selection)
            } else {
                row.slot
            };
            let cells = shown.iter().map(|&(c, width)| {
                let text = row.cells.get(c).map_or("", String::as_str);
                Cell::from(if table.columns[c].numeric {
                    format!("{text:>width$}", width = width as usize)
                } else {
                    text.to_string()
                })
            });
            TableRow::new(cells).style(slot.map(|s| style(app, s)).unwrap_or_default())
        });
    let widths: Vec<Constraint> = shown
        .iter()
        .enumerate()
        .map(|(i, &(_, w))| {
            if i + 1 == shown.len() {
                Constraint::Min(w)
            } else {
                Constraint::Length(w)
            }
        })
        .collect();
    let header = TableRow::new(
        shown
            .iter()
            .map(|&(c, _)| Cell::from(table.columns[c].name)),
    )
    .style(style(app, Slot::Header));
    frame.render_widget(
        TableWidget::new(rows, widths)
            .header(header)
            .column_spacing(1),
        inner,
    );
    // An empty table says why: nothing matched, or nothing could be seen yet; never a
    // blank that reads as "there is none".
    let blind = app.snapshot.blind_spots();
    let why = if app.filter().is_some() {
        Some(("no match".to_string(), Slot::Muted))
    } else if !blind.is_empty() {
        let kinds: Vec<&str> = blind.iter().map(|k| k.label()).collect();
        Some((
            format!("unknown: {} not synced", kinds.join(", ")),
            Slot::Warning,
        ))
    } else {
        None
    };
    if let Some((text, slot)) = why.filter(|_| table.rows.is_empty() && inner.height > 1) {
        let under_header = Rect {
            y: inner.y + 1,
            height: 1,
            ..inner
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, style(app, slot))),
            under_header,
        );
    }
}
