//! An operation's dialog over the view: the effect in words, who runs it, the server's
//! dry-run as a diff (added lines in the ok style, removed in the failed one; the `+`/`-`
//! stay readable without colour), and the keys that apply or cancel it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::action::Action;
use super::app::{App, OpDialog};
use super::help;
use super::keymap::Context;
use super::layout::centred;
use super::style::style;
use super::theme::Slot;

const HINTS: &[(Action, &str)] = &[
    (Action::Confirm, "applies"),
    (Action::Back, "cancels"),
    (Action::Down, "scrolls"),
];

pub fn render(app: &App, dialog: &OpDialog, frame: &mut Frame, area: Rect) {
    let text = |s: String, slot: Slot| Line::styled(s, style(app, slot));
    let mut lines = vec![
        text(format!(" {}", dialog.effect), Slot::Title),
        Line::raw(""),
    ];
    match &dialog.preview {
        None => lines.push(text(
            " asking the server for a dry-run…".into(),
            Slot::Muted,
        )),
        Some(Err(e)) => {
            lines.push(text(format!(" not possible: {e}"), Slot::StatusFailed));
            lines.push(text(" nothing was changed".into(), Slot::Muted));
        }
        Some(Ok(outcome)) => {
            lines.push(text(
                format!(
                    " as {} on {} · the server's dry-run:",
                    outcome.user, app.context
                ),
                Slot::Muted,
            ));
            let diff = outcome.diffs.iter().flat_map(|d| d.text.lines());
            lines.extend(diff.skip(dialog.scroll).map(|line| {
                let slot = match line.chars().next() {
                    _ if line.starts_with("---") || line.starts_with("+++") => Slot::Header,
                    Some('+') => Slot::StatusOk,
                    Some('-') => Slot::StatusFailed,
                    Some('@') => Slot::Muted,
                    _ => Slot::Text,
                };
                text(format!(" {line}"), slot)
            }));
        }
    }
    let state = if dialog.running {
        "running…".to_string()
    } else {
        help::key_hints(&app.keymap, Context::Dialog, HINTS)
    };
    let popup = centred(area, 100);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .style(style(app, Slot::Text))
            .wrap(Wrap { trim: false })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(style(app, Slot::Border))
                    .title(Span::styled(
                        format!(" {} ({state}) ", dialog.op.name()),
                        style(app, Slot::Title),
                    )),
            ),
        popup,
    );
}
