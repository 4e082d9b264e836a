//! The weights form over the body: a line per version with its weight as typed (the field
//! being typed in is marked), the live sum, and why `enter` did not go on.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::action::Action;
use super::app::{App, WeightsForm};
use super::help;
use super::keymap::Context;
use super::layout::centred;
use super::style::{style, titled_block};
use super::theme::Slot;

const HINTS: &[(Action, &str)] = &[
    (Action::Submit, "previews"),
    (Action::Down, "next field"),
    (Action::Back, "leaves"),
];

pub fn render(app: &App, form: &WeightsForm, frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = form
        .fields
        .iter()
        .enumerate()
        .map(|(i, (version, line))| {
            let focused = i == form.focus;
            Line::from(vec![
                Span::styled(
                    format!(" {} {version:<12}", if focused { '>' } else { ' ' }),
                    style(app, Slot::Text),
                ),
                Span::styled(
                    format!("[{:>4}] %", line.text()),
                    style(app, if focused { Slot::Selection } else { Slot::Text }),
                ),
            ])
        })
        .collect();
    let sum = form.sum();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            " sum: {sum} %{}",
            if sum == 100 { "" } else { " — must be 100" }
        ),
        style(
            app,
            if sum == 100 {
                Slot::StatusOk
            } else {
                Slot::StatusFailed
            },
        ),
    ));
    if let Some(note) = &form.note {
        lines.push(Line::styled(format!(" {note}"), style(app, Slot::Warning)));
    }
    let popup = centred(area, 64);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(titled_block(
            app,
            format!(
                " weights of {} ({}) ",
                form.model,
                help::key_hints(&app.keymap, Context::Form, HINTS)
            ),
        )),
        popup,
    );
}
