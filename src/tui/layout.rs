//! Where the detail pane goes beside a view's table (render lays the body out with it, and
//! the table widget reads it to know how many columns fit), and where an overlay goes.

use ratatui::layout::{Constraint, Layout, Rect};

/// From this many columns the detail pane is beside the table rather than under it.
pub const PANE_BESIDE_FROM: u16 = 160;

/// The table's and the detail pane's areas side by side.
pub fn beside(area: Rect) -> [Rect; 2] {
    Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(area)
}

/// Cells inside a view's table borders on a terminal `width` columns wide.
pub fn table_inner_width(width: u16, with_pane: bool) -> u16 {
    let outer = if with_pane && width >= PANE_BESIDE_FROM {
        beside(Rect::new(0, 0, width, 1))[0].width
    } else {
        width
    };
    outer.saturating_sub(2)
}

/// A column of `area` at most `width` wide, centred, its full height: where the help and an
/// operation's dialog are drawn.
pub fn centred(area: Rect, width: u16) -> Rect {
    let width = area.width.min(width);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y,
        width,
        height: area.height,
    }
}
