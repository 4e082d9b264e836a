//! The logs view over the body: a title with the target, its pods and what is on (follow,
//! wrap, timestamps, previous), then the lines in view, each after its pod. Only the lines
//! in view are laid out, so a full buffer costs a frame no more than a short one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::action::Action;
use super::app::{App, LogsView};
use super::help;
use super::keymap::Context;
use super::style::{style, titled_block};
use super::theme::Slot;

const HINTS: &[(Action, &str)] = &[
    (Action::Back, "closes"),
    (Action::ToggleFollow, "follows"),
    (Action::ToggleWrap, "wraps"),
    (Action::ToggleTimestamps, "times"),
    (Action::TogglePrevious, "previous"),
    (Action::NextContainer, "container"),
    (Action::Search, "searches"),
];

pub fn render(app: &App, view: &LogsView, frame: &mut Frame, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let first = view.first_shown(height);
    let pod_style = style(app, Slot::Muted);
    let text_style = style(app, Slot::Text);
    let found = style(app, Slot::Selection);
    let term = view.search.as_deref().map(str::to_lowercase);
    let lines: Vec<Line> = view
        .buffer
        .iter()
        .skip(first)
        .take(height)
        .map(|l| {
            let mut spans = Vec::with_capacity(3);
            if view.timestamps
                && let Some(time) = &l.time
            {
                spans.push(Span::styled(format!("{time} "), pod_style));
            }
            spans.push(Span::styled(format!("{} ", l.pod), pod_style));
            let hit = term
                .as_deref()
                .is_some_and(|t| l.text.to_lowercase().contains(t));
            spans.push(Span::styled(
                l.text.to_string(),
                if hit { found } else { text_style },
            ));
            Line::from(spans)
        })
        .collect();
    let mut paragraph = Paragraph::new(lines).style(text_style);
    if view.wrap {
        paragraph = paragraph.wrap(Wrap { trim: false });
    }
    frame.render_widget(Clear, area);
    frame.render_widget(paragraph.block(titled_block(app, title(app, view))), area);
}

fn title(app: &App, view: &LogsView) -> String {
    let streams = view.streams(app.snapshot.api.silent());
    let mut on = vec![if view.follow { "following" } else { "paused" }];
    if view.wrap {
        on.push("wrap");
    }
    if view.timestamps {
        on.push("times");
    }
    if view.previous {
        on.push("previous containers");
    }
    let container = view.container.as_ref().map(|c| format!("container {c}"));
    if let Some(container) = &container {
        on.push(container);
    }
    let dropped = match view.buffer.dropped() {
        0 => String::new(),
        n => format!(" ({n} older let go)"),
    };
    format!(
        " logs of {} · {streams} · {} · {} lines{dropped} · {} ",
        view.target,
        on.join(", "),
        view.buffer.len(),
        help::key_hints(&app.keymap, Context::Logs, HINTS)
    )
}
