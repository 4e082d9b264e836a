//! Drawing the state: header, health line, the view, the bottom line. A pure function of
//! `App`: it reads, never changes, never waits.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::action::Action;
use super::app::{App, Mode, YamlOverlay};
use super::help;
use super::keymap::Context;
use super::layout::{PANE_BESIDE_FROM, beside, centred};
use super::line_edit::LineEdit;
use super::style::style;
use super::theme::Slot;
use super::views::{Body, View};
use super::{detail_pane, op_dialog, overview, queue_panel, table_widget};
use crate::cluster::{KindName, SourceState};

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    frame.render_widget(Block::default().style(style(app, Slot::Text)), area);
    let [header, health, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(header_line(app, header.width), header);
    frame.render_widget(health_line(app), health);
    match app.view.def().body {
        Body::Panels => overview::render(app, frame, body),
        Body::Table(_) => table_view(app, frame, body),
    }
    frame.render_widget(bottom_line(app), bottom);
    match &app.mode {
        Mode::Help { scroll } => help(app, *scroll, frame, body),
        Mode::Yaml(overlay) => yaml(app, overlay, frame, body),
        Mode::Dialog(dialog) => op_dialog::render(app, dialog, frame, body),
        Mode::Logs(view) => super::logs_view::render(app, view, frame, body),
        Mode::Edit(editor) => super::editor_view::render(app, editor, frame, body),
        Mode::Weights(form) => super::weights_view::render(app, form, frame, body),
        Mode::Launch(form) => super::launch_view::render(app, form, frame, body),
        _ => {}
    }
}

/// A view's table, the queues above it when the view asks (Training), the detail pane under it (beside
/// it on a wide terminal).
fn table_view(app: &App, frame: &mut Frame, area: Rect) {
    let area = if app.view.table_def().is_some_and(|t| t.queues_above) {
        let [queues, rest] = Layout::vertical([
            Constraint::Length(queue_panel::height(app)),
            Constraint::Min(5),
        ])
        .areas(area);
        queue_panel::render(app, frame, queues);
        rest
    } else {
        area
    };
    let Some(detail) = app.derived.detail.as_ref().filter(|_| app.show_detail) else {
        return table_widget::render(app, app.table(), frame, area);
    };
    let [rows, pane] = if area.width >= PANE_BESIDE_FROM {
        beside(area)
    } else {
        // The table as tall as its rows need (header and borders: 3), up to what leaves the
        // pane its share; the pane takes the rest.
        let pane = (area.height * 2 / 5).clamp(6, 16);
        let needed = u16::try_from(app.table().rows.len())
            .unwrap_or(u16::MAX)
            .saturating_add(3);
        let table = needed.clamp(5, area.height.saturating_sub(pane).max(5));
        Layout::vertical([Constraint::Length(table), Constraint::Min(0)]).areas(area)
    };
    table_widget::render(app, app.table(), frame, rows);
    detail_pane::render(app, detail, frame, pane);
}

fn header_line(app: &App, width: u16) -> Paragraph<'static> {
    let mut spans = vec![
        Span::styled(" mlxp ", style(app, Slot::Title)),
        Span::styled(format!("ctx:{} ", app.context), style(app, Slot::Muted)),
        Span::styled(
            format!("ns:{} ", app.namespace.as_deref().unwrap_or("all")),
            style(app, Slot::Muted),
        ),
        Span::styled(
            if app.read_only() { "read-only " } else { "" },
            style(app, Slot::Warning),
        ),
        match &app.agent_line {
            Some(line) => Span::styled(
                format!("agent: {} ", line.text),
                style(
                    app,
                    if line.trouble {
                        Slot::Warning
                    } else {
                        Slot::Muted
                    },
                ),
            ),
            None => Span::raw(""),
        },
    ];
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let current = app.view;
    let tabs = |name: fn(View) -> &'static str, others: bool| -> Vec<(View, String)> {
        View::ALL
            .iter()
            .enumerate()
            .map(|(i, view)| match *view == current || others {
                true => (*view, format!(" {}:{} ", i + 1, name(*view))),
                false => (*view, format!(" {} ", i + 1)),
            })
            .collect()
    };
    // The views' titles when they fit, else their short command names, else numbers with
    // the current view's title.
    let fits = |tabs: &[(View, String)]| {
        used + tabs.iter().map(|(_, t)| t.chars().count()).sum::<usize>() <= width as usize
    };
    let names = [
        tabs(View::title, true),
        tabs(View::command, true),
        tabs(View::title, false),
    ]
    .into_iter()
    .find(|t| fits(t))
    .unwrap_or_else(|| tabs(View::command, false));
    for (view, name) in names {
        let slot = if view == app.view {
            Slot::Selection
        } else {
            Slot::Text
        };
        spans.push(Span::styled(name, style(app, slot)));
    }
    Paragraph::new(Line::from(spans))
}

/// Connection health: a "stale since" banner when the server is silent, a source is
/// failing or a read did not reach the server; else what is synced.
fn health_line(app: &App) -> Paragraph<'static> {
    if let Some(text) = stale_banner(app) {
        return Paragraph::new(Span::styled(text, style(app, Slot::StaleBanner)));
    }
    let snapshot = &app.snapshot;
    let syncing = KindName::ALL
        .iter()
        .filter(|k| snapshot.status(**k).state == SourceState::Syncing)
        .count();
    let missing: Vec<&str> = KindName::ALL
        .iter()
        .filter(|k| {
            matches!(
                snapshot.status(**k).state,
                SourceState::NotInstalled | SourceState::Forbidden
            )
        })
        .map(|k| k.label())
        .collect();
    let mut text = if syncing > 0 {
        format!(" ◌ syncing {syncing} source(s)…")
    } else {
        format!(
            " ● live · {} nodes · {} pods · {} jobs",
            snapshot.nodes.len(),
            snapshot.pods.len(),
            snapshot.jobs.len()
        )
    };
    if !missing.is_empty() {
        text.push_str(&format!(" · not available: {}", missing.join(", ")));
    }
    match (&app.metrics, &app.metrics_error) {
        (_, Some(e)) => text.push_str(&format!(" · metrics: {e}")),
        (Some(m), None) => text.push_str(&format!(
            " · metrics {} ({}s ago)",
            app.metrics_source,
            (app.now - m.at).num_seconds().max(0)
        )),
        (None, None) => text.push_str(" · no metrics"),
    }
    Paragraph::new(Span::styled(text, style(app, Slot::Muted)))
}

fn bottom_line(app: &App) -> Paragraph<'static> {
    let typing = match &app.mode {
        Mode::Filter { line, .. } => Some(('/', line, Slot::Filter)),
        Mode::Command(line) => Some((':', line, Slot::CommandLine)),
        Mode::Yaml(overlay) => overlay.typing.as_ref().map(|l| ('/', l, Slot::Filter)),
        Mode::Logs(view) => view.typing.as_ref().map(|l| ('/', l, Slot::Filter)),
        _ => None,
    };
    if let Some((prompt, line, slot)) = typing {
        // A message (tab's choices) after the line, as a shell lists them.
        let mut spans = typed_line(app, prompt, line, slot);
        if let Some(message) = &app.message {
            spans.push(Span::styled(
                format!("  {message}"),
                style(app, Slot::Muted),
            ));
        }
        return Paragraph::new(Line::from(spans));
    }
    let (text, slot) = match &app.message {
        Some(message) => (format!(" {message}"), Slot::Warning),
        None => {
            let filter = app
                .filter()
                .map(|t| format!(" filter: {t} (esc clears) ·"))
                .unwrap_or_default();
            (
                format!("{filter} ?:help  /:filter  ::command  s:sort  tab:next view  q:quit"),
                Slot::Muted,
            )
        }
    };
    Paragraph::new(Span::styled(text, style(app, slot)))
}

/// What the cockpit cannot see right now, most fundamental first: the server itself, then
/// a kind's source, then one of its own reads.
fn stale_banner(app: &App) -> Option<String> {
    let snapshot = &app.snapshot;
    let clock = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%H:%M:%S").to_string())
            .unwrap_or_default()
    };
    if snapshot.api.silent() {
        return Some(format!(
            " ⚠ stale since {}: cannot read the API server: {} · showing what was last seen, reconnecting…",
            clock(snapshot.api.silent_since),
            snapshot.api.cause.clone().unwrap_or_default()
        ));
    }
    let failing: Vec<_> = KindName::ALL
        .iter()
        .filter(|k| snapshot.status(**k).state == SourceState::Failing)
        .collect();
    if let Some(kind) = failing.first() {
        let status = snapshot.status(**kind);
        return Some(format!(
            " ⚠ stale since {}: {} source(s) lost ({}: {}), reconnecting…",
            clock(status.failing_since),
            failing.len(),
            kind.label(),
            status.error.clone().unwrap_or_default()
        ));
    }
    app.read_failure.as_ref().map(|(at, cause)| {
        format!(
            " ⚠ a read did not reach the API server at {}: {cause}",
            clock(Some(*at))
        )
    })
}

/// A line being typed after its prompt: the cursor a reversed cell (a block past the end),
/// a text selected whole in the selection's colours.
fn typed_line(app: &App, prompt: char, line: &LineEdit, slot: Slot) -> Vec<Span<'static>> {
    let plain = style(app, slot);
    let (head, tail) = line.text().split_at(line.cursor());
    let mut tail = tail.chars();
    let cursor = match tail.next() {
        Some(c) => Span::styled(c.to_string(), plain.add_modifier(Modifier::REVERSED)),
        None => Span::styled("█", plain),
    };
    let head_style = match line.is_selected() {
        true => style(app, Slot::Selection),
        false => plain,
    };
    vec![
        Span::styled(prompt.to_string(), plain),
        Span::styled(head.to_string(), head_style),
        cursor,
        Span::styled(tail.collect::<String>(), plain),
    ]
}

/// An object's YAML over the view, scrollable.
fn yaml(app: &App, overlay: &YamlOverlay, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = match &overlay.text {
        Some(text) => text
            .lines()
            .skip(overlay.scroll)
            .map(|l| Line::raw(l.to_string()))
            .collect(),
        None => vec![Line::styled(" reading…", style(app, Slot::Muted))],
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).style(style(app, Slot::Text)).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(style(app, Slot::Border))
                .title(Span::styled(
                    format!(
                        " {} (read-only; {}) ",
                        overlay.title,
                        key_hints(app, Context::Yaml, YAML_HINTS)
                    ),
                    style(app, Slot::Title),
                )),
        ),
        area,
    );
}

/// What the overlays' titles say about their keys, each with the first key bound to it.
const YAML_HINTS: &[(Action, &str)] = &[
    (Action::Back, "closes"),
    (Action::Down, "scrolls"),
    (Action::Search, "searches"),
];
const HELP_HINTS: &[(Action, &str)] = &[
    (Action::Back, "closes"),
    (Action::Down, "scrolls"),
    (Action::Bottom, "goes to the end"),
];

fn key_hints(app: &App, context: Context, hints: &[(Action, &str)]) -> String {
    help::key_hints(&app.keymap, context, hints)
}

/// The help's keys column: 18 wide, and a space after longer keys.
fn keys_cell(keys: &str) -> String {
    let width = 18.max(keys.chars().count() + 1);
    format!("{keys:<width$}")
}

/// The help, generated from the keymap.
fn help(app: &App, scroll: usize, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = help::rows(&app.keymap, app.read_only_reason())
        .into_iter()
        .skip(scroll)
        .map(|h| {
            Line::from(vec![
                Span::styled(format!(" {:<8}", h.section), style(app, Slot::Muted)),
                Span::styled(keys_cell(&h.keys), style(app, Slot::Title)),
                Span::styled(h.desc, style(app, Slot::Text)),
            ])
        })
        .collect();
    // Wide enough for a description with its "(disabled: read-only, …)" note.
    let popup = centred(area, 110);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).style(style(app, Slot::Text)).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(style(app, Slot::Border))
                .title(Span::styled(
                    format!(" Help ({}) ", key_hints(app, Context::Help, HELP_HINTS)),
                    style(app, Slot::Title),
                )),
        ),
        popup,
    );
}
