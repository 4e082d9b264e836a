//! Events: newest first, what changed recently at the top; warnings marked by their TYPE
//! (and colour), so `/Warning` keeps only them.

use super::detail::{Detail, Lines, split_key};
use super::{Body, Inputs, RowObject, TableDef, ViewDef, age};
use crate::cluster::KindName;
use crate::tui::table::{Column, Labels, Row, Table};
use crate::tui::theme::Slot;

/// The kinds of object whose events the view shows: what mlxp watches, and the
/// controllers between them (a Deployment's ReplicaSets, a CronJob's Jobs). A cluster's
/// other chatter (Leases, ConfigMaps, Services …) stays in `kubectl get events`.
const KNOWN_KINDS: &[&str] = &[
    "Node",
    "Pod",
    "Job",
    "CronJob",
    "Workload",
    "ClusterQueue",
    "LocalQueue",
    "Deployment",
    "ReplicaSet",
    "HorizontalPodAutoscaler",
    "HTTPRoute",
    "Model",
    "ModelVersion",
];

pub const VIEW: ViewDef = ViewDef {
    title: "Events",
    commands: &["events", "ev"],
    key_help: "Events",
    body: Body::Table(TableDef {
        rows: table,
        detail,
        object: Some(RowObject::Namespaced(KindName::Events)),
        reverse_sort_column: None,
        queues_above: false,
    }),
};

pub fn table(inputs: &Inputs) -> Table {
    let mut events: Vec<_> = inputs
        .snapshot
        .events
        .values()
        .filter(|e| inputs.in_namespace(&e.meta.namespace))
        .filter(|e| KNOWN_KINDS.contains(&e.object_kind.as_str()))
        .collect();
    events.sort_by(|a, b| {
        (b.last_seen, &a.meta.namespace, &a.meta.name).cmp(&(
            a.last_seen,
            &b.meta.namespace,
            &b.meta.name,
        ))
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
            labels: Labels::default(),
        })
        .collect();
    Table::new(
        vec![
            Column::number("LAST"),
            Column::text("TYPE").keeps(),
            Column::text("REASON").keeps(),
            Column::text("OBJECT").keeps(),
            Column::number("COUNT").drops(1),
            Column::text("FROM").drops(2),
            Column::text("MESSAGE"),
        ],
        rows,
    )
}

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cluster::Snapshot;
    use crate::tui::history::History;

    #[test]
    fn shows_the_events_of_known_kinds_newest_first() {
        let mut snapshot = Snapshot::default();
        for (name, kind, kind_of_event, at) in [
            ("a", "Pod", "Normal", "2026-12-04T08:00:03Z"),
            ("b", "ConfigMap", "Warning", "2026-12-04T08:00:02Z"),
            ("c", "Node", "Warning", "2026-12-04T08:00:01Z"),
            ("d", "Lease", "Normal", "2026-12-04T08:00:04Z"),
        ] {
            let event = serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "training"},
                "involvedObject": {"kind": kind, "name": format!("{name}-object")},
                "type": kind_of_event, "reason": "Something", "lastTimestamp": at,
            }))
            .expect("an event");
            let key = ("training".into(), name.to_string());
            snapshot.events.items.insert(key, Arc::new(event));
        }
        let history = History::default();
        let prices = mlxp_core::domain::cost::PriceTable::defaults();
        let inputs = Inputs {
            snapshot: &snapshot,
            metrics: None,
            now: chrono::Utc::now(),
            history: &history,
            prices: &prices,
            namespace: None,
        };
        let keys: Vec<String> = table(&inputs)
            .rows
            .into_iter()
            .map(|r| r.key.clone())
            .collect();
        assert_eq!(keys, ["training/a", "training/c"]);
    }
}
