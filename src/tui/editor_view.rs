//! The editor over the body: the object's YAML as text, its title naming the object and
//! the keys, and a line under it with why the last save did not go through.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Clear, Paragraph};

use super::action::Action;
use super::app::{App, EditFor, Editor};
use super::help;
use super::keymap::Context;
use super::style::{style, titled_block};
use super::theme::Slot;

const HINTS: &[(Action, &str)] = &[
    (Action::Save, "saves"),
    (Action::Back, "leaves"),
    (Action::Reload, "takes the fresh resourceVersion"),
];
/// A run being launched was never read from the cluster: nothing to take afresh.
const LAUNCH_HINTS: &[(Action, &str)] = &[(Action::Save, "previews"), (Action::Back, "leaves")];

pub fn render(app: &App, editor: &Editor, frame: &mut Frame, area: Rect) {
    let [text_area, note_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    frame.render_widget(Clear, area);
    let mut text = editor.text.clone();
    text.set_block(titled_block(
        app,
        format!(
            " edit {} ({}) ",
            editor.target,
            help::key_hints(
                &app.keymap,
                Context::Editor,
                match editor.purpose {
                    EditFor::Replace => HINTS,
                    EditFor::Launch(_) => LAUNCH_HINTS,
                }
            )
        ),
    ));
    text.set_style(style(app, Slot::Text));
    frame.render_widget(&text, text_area);
    if let Some(note) = &editor.note {
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {note}"), style(app, Slot::Warning))),
            note_area,
        );
    }
}
