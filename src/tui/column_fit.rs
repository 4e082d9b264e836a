//! Which columns a table shows on a terminal of a given width, and how wide each is: decided
//! from the table alone, so the drawing and the keys (`s` sorts by a shown column) agree.

use super::layout::table_inner_width;
use super::table::Table;

/// What a free-text last column (reasons, taints, messages) keeps before droppable columns
/// are hidden for it.
const FREE_TEXT_KEEPS: u16 = 30;
/// What it keeps before other columns are cut.
const FREE_TEXT_MIN: u16 = 8;
/// No column is cut below this.
const CUT_FLOOR: u16 = 4;

/// The columns drawn on a terminal `width` columns wide (every column while the width is
/// not known), in order: those `s` sorts by.
pub fn columns_shown(table: &Table, width: Option<u16>, with_pane: bool) -> Vec<usize> {
    match width {
        Some(width) => shown_columns(table, table_inner_width(width, with_pane)),
        None => (0..table.columns.len()).collect(),
    }
}

/// The columns drawn in `width` cells, in order.
fn shown_columns(table: &Table, width: u16) -> Vec<usize> {
    fit_widths(table, width)
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|_| i))
        .collect()
}

/// Each column's width, None for a hidden one: as wide as its header and its widest cell.
/// Too wide for `width`, in this order until it fits: a column empty on every row gives way;
/// the last column, when it is free text, gives down to `FREE_TEXT_KEEPS`; droppable columns
/// go, highest rank first; the free text gives down to `FREE_TEXT_MIN`; the other text
/// columns are cut, widest first, then names and statuses, then numbers.
pub fn fit_widths(table: &Table, width: u16) -> Vec<Option<u16>> {
    let columns = &table.columns;
    let cells = |i: usize| table.cell_widths.get(i).copied().unwrap_or(0);
    let mut widths: Vec<Option<u16>> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Some(cells(i).max(c.name.chars().count() as u16)))
        .collect();
    let total = |widths: &[Option<u16>]| {
        let shown = widths.iter().flatten();
        let spacing = shown.clone().count().saturating_sub(1);
        shown.map(|w| usize::from(*w)).sum::<usize>() + spacing
    };
    let fits = |widths: &[Option<u16>]| total(widths) <= usize::from(width);
    for i in (0..columns.len()).rev() {
        if !fits(&widths) && cells(i) == 0 {
            widths[i] = None;
        }
    }
    let free_text = widths
        .iter()
        .rposition(Option::is_some)
        .filter(|&i| !columns[i].keeps_width);
    let give = |widths: &mut [Option<u16>], i: usize, floor: u16| {
        let excess = total(widths).saturating_sub(usize::from(width));
        if let Some(w) = widths[i].as_mut() {
            let floor = floor.min(*w);
            *w = (usize::from(*w).saturating_sub(excess) as u16).max(floor);
        }
    };
    if let Some(i) = free_text {
        give(&mut widths, i, FREE_TEXT_KEEPS);
    }
    while !fits(&widths) {
        let droppable = (0..columns.len())
            .filter(|&i| widths[i].is_some() && columns[i].drop_rank > 0)
            .max_by_key(|&i| (columns[i].drop_rank, i));
        match droppable {
            Some(i) => widths[i] = None,
            None => break,
        }
    }
    if let Some(i) = free_text.filter(|&i| widths[i].is_some()) {
        let header = columns[i].name.chars().count() as u16;
        give(&mut widths, i, header.max(FREE_TEXT_MIN));
    }
    // A number cut short reads as another number: numbers are cut last of all.
    let other_text = |i: usize| !columns[i].keeps_width && !columns[i].numeric;
    let names = |i: usize| columns[i].keeps_width && !columns[i].numeric;
    let any = |_: usize| true;
    for cuttable in [&other_text as &dyn Fn(usize) -> bool, &names, &any] {
        while !fits(&widths) {
            let widest = (0..columns.len())
                .filter(|&i| cuttable(i))
                .filter(|&i| widths[i].is_some_and(|w| w > CUT_FLOOR))
                .max_by_key(|&i| widths[i]);
            match widest {
                Some(i) => widths[i] = widths[i].map(|w| w - 1),
                None => break,
            }
        }
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::table::{Column, Labels, Row};

    fn row(cells: &[&str]) -> Row {
        Row {
            key: cells[0].into(),
            cells: cells.iter().map(|c| c.to_string()).collect(),
            slot: None,
            labels: Labels::default(),
        }
    }

    fn table() -> Table {
        Table::new(
            vec![
                Column::text("NODE").keeps(),
                Column::text("PRODUCT").drops(2),
                Column::number("POWER").drops(1),
                Column::text("POD").keeps(),
                Column::text("STATE"),
            ],
            vec![row(&[
                "gke-mlxp-training-3a004-1",
                "NVIDIA-H100-80GB-HBM3",
                "684W",
                "training/finetune-llm-r2-7qdvc",
                "IDLE $11.06/h",
            ])],
        )
        .arranged(None, None)
    }

    #[test]
    fn wide_enough_shows_every_column_as_wide_as_it_needs() {
        let widths = fit_widths(&table(), 120);
        assert_eq!(widths, [Some(25), Some(21), Some(5), Some(30), Some(13)]);
    }

    #[test]
    fn narrow_hides_droppable_columns_highest_rank_first_before_cutting_names() {
        // 25 + 21 + 5 + 30 + 13 + 4 = 98: PRODUCT goes, the short free text stays whole.
        let widths = fit_widths(&table(), 93);
        assert_eq!(widths, [Some(25), None, Some(5), Some(30), Some(13)]);
        assert_eq!(fit_widths(&table(), 80), widths);
        // 25 + 30 + 13 + 2 = 70: both droppable go, the free text gives, then names.
        let widths = fit_widths(&table(), 60);
        assert_eq!(widths, [Some(25), None, None, Some(29), Some(4)]);
        assert_eq!(shown_columns(&table(), 60), [0, 3, 4]);
    }

    /// Issue 9 #14: a status keeps its width (no `Ready,Schedu`), and a column empty on
    /// every row gives way before anything is cut.
    #[test]
    fn statuses_keep_their_width_and_an_empty_column_gives_way() {
        let table = Table::new(
            vec![
                Column::text("NODE").keeps(),
                Column::text("STATUS").keeps(),
                Column::text("NOTE"),
                Column::text("TAINTS"),
            ],
            vec![row(&[
                "gke-mlxp-training-3a004-1",
                "Ready,SchedulingDisabled",
                "",
                "nvidia.com/gpu:NoSchedule",
            ])],
        )
        .arranged(None, None);
        let widths = fit_widths(&table, 80);
        assert_eq!(widths, [Some(25), Some(24), None, Some(25)]);
    }
}
