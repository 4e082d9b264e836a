//! Events: warnings first, then the newest.

use super::Inputs;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;

pub fn table(inputs: &Inputs) -> Table {
    let mut events: Vec<_> = inputs
        .snapshot
        .events
        .values()
        .filter(|e| inputs.in_namespace(&e.meta.namespace))
        .collect();
    events.sort_by(|a, b| {
        (b.kind == "Warning", b.last_seen).cmp(&(a.kind == "Warning", a.last_seen))
    });
    let rows = events
        .into_iter()
        .map(|e| Row {
            key: format!("{}/{}", e.meta.namespace, e.meta.name),
            cells: vec![
                super::age(e.last_seen, inputs.now),
                e.kind.clone(),
                e.reason.clone(),
                format!("{}/{}", e.object_kind.to_lowercase(), e.object_name),
                e.count.to_string(),
                e.source.clone(),
                e.message.clone(),
            ],
            slot: (e.kind == "Warning").then_some(Slot::Warning),
            labels: Vec::new(),
        })
        .collect();
    Table {
        columns: vec![
            Column::number("LAST", 5),
            Column::text("TYPE", 8),
            Column::text("REASON", 17),
            Column::text("OBJECT", 36),
            Column::number("COUNT", 5),
            Column::text("FROM", 18),
            Column::text("MESSAGE", 60),
        ],
        rows,
    }
}
