//! Models: each ModelVersion with its model, stage, metrics, source Job and age.

use super::Inputs;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;

pub(super) fn stage_slot(stage: &str) -> Option<Slot> {
    match stage {
        "Production" => Some(Slot::Stable),
        "Canary" => Some(Slot::Canary),
        "Rejected" => Some(Slot::StatusFailed),
        "Archived" => Some(Slot::Muted),
        _ => None,
    }
}

pub fn table(inputs: &Inputs) -> Table {
    let quality = |model: &str, version: &str| {
        inputs.metrics.and_then(|m| {
            m.quality
                .iter()
                .find(|q| q.model == model && q.version == version)
        })
    };
    let mut rows: Vec<Row> = inputs
        .snapshot
        .model_versions
        .values()
        .filter(|v| inputs.in_namespace(&v.meta.namespace))
        .map(|v| {
            let live = quality(&v.model, &v.version);
            let number =
                |x: Option<f64>| x.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
            Row {
                key: format!("{}/{}", v.meta.namespace, v.meta.name),
                cells: vec![
                    v.model.clone(),
                    v.version.clone(),
                    v.stage.clone(),
                    number(v.accuracy),
                    number(live.and_then(|q| q.accuracy)),
                    number(live.and_then(|q| q.drift)),
                    v.source_job.clone(),
                    super::age(v.meta.creation_timestamp, inputs.now),
                ],
                slot: stage_slot(&v.stage),
                labels: v
                    .meta
                    .labels
                    .iter()
                    .map(|(k, l)| (k.clone(), l.clone()))
                    .collect(),
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.cells[0], &a.cells[1]).cmp(&(&b.cells[0], &b.cells[1])));
    Table {
        columns: vec![
            Column::text("MODEL", 18),
            Column::text("VERSION", 8),
            Column::text("STAGE", 11),
            Column::number("ACC(REG)", 9).drops(1),
            Column::number("ACC(LIVE)", 10),
            Column::number("DRIFT", 6),
            Column::text("SOURCE JOB", 28).drops(2),
            Column::number("AGE", 5).drops(3),
        ],
        rows,
    }
}
