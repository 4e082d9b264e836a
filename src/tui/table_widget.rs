//! Drawing a view's `Table`: only the rows that fit, around the selection; columns as wide
//! as what is shown needs; on a narrow terminal the least needed columns hidden before the
//! others are cut so far that names no longer read.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Row as TableRow, Table as TableWidget};

use super::app::App;
use super::render::style;
use super::table::Table;
use super::theme::Slot;

/// What the last column keeps before the others give up cells.
const LAST_COLUMN_MIN: u16 = 8;
/// An always-shown column cut below this share of what it needs hides a droppable one.
const KEEP_SHARE: f64 = 0.8;

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
    let fitted = fit_widths(table, first, visible, inner.width);
    // (column index, width) of the columns shown.
    let shown: Vec<(usize, u16)> = fitted
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
}

/// Each column's width, None for a hidden one. A column is as wide as its header and its
/// visible cells need, at most its declared width. Too wide for the terminal: droppable
/// columns go, highest rank first, while an always-shown column (but the last, free text)
/// would be cut below `KEEP_SHARE` of its need; then the rest are cut.
fn fit_widths(table: &Table, first: usize, visible: usize, width: u16) -> Vec<Option<u16>> {
    let needs: Vec<u16> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let cells = table.rows.iter().skip(first).take(visible);
            let widest = cells
                .map(|r| r.cells.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
                .max(column.name.len()) as u16;
            widest.min(column.width)
        })
        .collect();
    let mut shown: Vec<bool> = vec![true; needs.len()];
    loop {
        let widths = cut_to(table, &needs, &shown, width);
        // The last shown column is free text, there to be cut.
        let last = widths.iter().rposition(Option::is_some);
        let starved = widths.iter().enumerate().any(|(i, w)| {
            w.is_some_and(|w| {
                Some(i) != last
                    && table.columns[i].drop_rank == 0
                    && f64::from(w) < f64::from(needs[i]) * KEEP_SHARE
            })
        });
        let next = (0..needs.len())
            .filter(|&i| shown[i] && table.columns[i].drop_rank > 0)
            .max_by_key(|&i| (table.columns[i].drop_rank, i));
        match next {
            Some(i) if starved => shown[i] = false,
            _ => return widths,
        }
    }
}

/// The shown columns cut to `width`: the last shown column (free text: taints, reasons,
/// messages) gives first, down to a few cells; then the widest, a cell at a time
/// (spacing is one cell each).
fn cut_to(table: &Table, needs: &[u16], shown: &[bool], width: u16) -> Vec<Option<u16>> {
    let mut widths: Vec<Option<u16>> = needs
        .iter()
        .zip(shown)
        .map(|(n, s)| s.then_some(*n))
        .collect();
    let count = widths.iter().flatten().count();
    let spacing = count.saturating_sub(1) as u16;
    let total = |widths: &[Option<u16>]| widths.iter().flatten().sum::<u16>() + spacing;
    let excess = total(&widths).saturating_sub(width);
    if let Some(last) = widths.iter().rposition(Option::is_some)
        && let Some(w) = widths[last].as_mut()
    {
        let name = table.columns[last].name.len() as u16;
        let floor = name.max(LAST_COLUMN_MIN).min(*w);
        *w = w.saturating_sub(excess).max(floor);
    }
    while total(&widths) > width {
        let Some(widest) = widths.iter_mut().flatten().max() else {
            break;
        };
        if *widest <= 4 {
            break;
        }
        *widest -= 1;
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::table::{Column, Row};

    fn table() -> Table {
        Table {
            columns: vec![
                Column::text("NODE", 34),
                Column::text("PRODUCT", 22).drops(2),
                Column::number("POWER", 6).drops(1),
                Column::text("POD", 30),
                Column::text("STATE", 16),
            ],
            rows: vec![Row {
                key: "n/0".into(),
                cells: vec![
                    "gke-mlxp-training-3a004-1".into(),
                    "NVIDIA-H100-80GB-HBM3".into(),
                    "684W".into(),
                    "training/finetune-llm-r2-7qdvc".into(),
                    "IDLE $11.06/h".into(),
                ],
                slot: None,
                labels: Vec::new(),
            }],
        }
    }

    #[test]
    fn wide_enough_shows_every_column_as_wide_as_it_needs() {
        let widths = fit_widths(&table(), 0, 10, 120);
        assert_eq!(widths, [Some(25), Some(21), Some(5), Some(30), Some(13)]);
    }

    #[test]
    fn narrow_hides_droppable_columns_highest_rank_first_before_starving_names() {
        // 25 + 21 + 5 + 30 + 13 + 4 = 98: the last, free-text column gives 5, nothing hidden.
        let widths = fit_widths(&table(), 0, 10, 93);
        assert_eq!(widths, [Some(25), Some(21), Some(5), Some(30), Some(8)]);
        let widths = fit_widths(&table(), 0, 10, 80);
        assert_eq!(widths[1], None, "PRODUCT goes first");
        assert_eq!(widths[2], Some(5), "POWER stays while there is room");
        assert_eq!(
            (widths[0], widths[3]),
            (Some(25), Some(30)),
            "names stay whole"
        );
        let widths = fit_widths(&table(), 0, 10, 60);
        assert_eq!(widths[1..3], [None, None]);
        assert!(widths[0].is_some() && widths[3].is_some() && widths[4].is_some());
    }
}
