//! The style of a slot in the app's theme at its colour depth. Every panel draws with it,
//! so it sits below them and `render`: imports run render → panels → style.

use ratatui::style::Style;

use super::app::App;
use super::theme::Slot;

pub fn style(app: &App, slot: Slot) -> Style {
    app.theme.style(slot, app.depth)
}

/// A bordered box titled `title`, as the overlays (logs, editor, forms) draw themselves.
pub fn titled_block(app: &App, title: String) -> ratatui::widgets::Block<'static> {
    ratatui::widgets::Block::default()
        .borders(ratatui::widgets::Borders::ALL)
        .border_style(style(app, Slot::Border))
        .title(ratatui::text::Span::styled(title, style(app, Slot::Title)))
}
