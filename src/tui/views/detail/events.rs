//! An event whole: the message the table cuts, and the object it is about.

use super::{Detail, Lines, split_key};
use crate::tui::theme::Slot;
use crate::tui::views::{Inputs, age};

pub fn detail(inputs: &Inputs, key: &str) -> Option<Detail> {
    let (namespace, name) = split_key(key)?;
    let event = inputs.snapshot.events.get(namespace, name)?;
    let mut lines = Lines::default();
    let warning = event.kind == "Warning";
    lines.field_in(
        "type",
        format!("{} · {}", event.kind, event.reason),
        if warning { Slot::Warning } else { Slot::Text },
    );
    let object_ns = if event.object_namespace.is_empty() {
        String::new()
    } else {
        format!("{}/", event.object_namespace)
    };
    lines.field(
        "object",
        format!("{} {object_ns}{}", event.object_kind, event.object_name),
    );
    lines.field(
        "seen",
        format!(
            "{} time(s), last {} ago · from {}",
            event.count,
            age(event.last_seen, inputs.now),
            if event.source.is_empty() {
                "-"
            } else {
                &event.source
            }
        ),
    );
    lines.heading("Message");
    for line in event.message.lines() {
        lines.text(Slot::Text, format!(" {line}"));
    }
    lines.done(format!("event {}", event.reason), Vec::new())
}
