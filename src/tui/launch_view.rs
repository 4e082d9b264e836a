//! The launch form over the body: each field with what to type, the one being typed in
//! marked, and under each field what is wrong with it, as of the last key.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::action::Action;
use super::app::{App, LAUNCH_FIELDS, LaunchForm};
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

pub fn render(app: &App, form: &LaunchForm, frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    for (i, ((name, what), line)) in LAUNCH_FIELDS.iter().zip(&form.fields).enumerate() {
        let focused = i == form.focus;
        let shown = if line.text().is_empty() && !focused {
            Span::styled(format!("({what})"), style(app, Slot::Muted))
        } else {
            Span::styled(
                format!("{}▏", line.text()),
                style(app, if focused { Slot::Selection } else { Slot::Text }),
            )
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {} {name:<9}", if focused { '>' } else { ' ' }),
                style(app, Slot::Text),
            ),
            shown,
        ]));
        for (_, why) in form.wrong.iter().filter(|(f, _)| f == name) {
            lines.push(Line::styled(
                format!("             {why}"),
                style(app, Slot::StatusFailed),
            ));
        }
    }
    lines.push(Line::raw(""));
    lines.push(if form.wrong.is_empty() {
        Line::styled(
            " ready: enter previews the run's Job",
            style(app, Slot::StatusOk),
        )
    } else {
        Line::styled(" not ready: see above", style(app, Slot::Warning))
    });
    let popup = centred(area, 90);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(titled_block(
            app,
            format!(
                " launch a training run ({}) ",
                help::key_hints(&app.keymap, Context::Form, HINTS)
            ),
        )),
        popup,
    );
}
