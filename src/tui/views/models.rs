//! Models: each ModelVersion with its model, stage, metrics, source Job and age.

use super::{Body, Inputs, RowObject, TableDef, ViewDef, detail};
use crate::cluster::KindName;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::objects::ModelVersion;

pub(super) fn stage_slot(stage: &str) -> Option<Slot> {
    match stage {
        "Production" => Some(Slot::Stable),
        "Canary" => Some(Slot::Canary),
        "Rejected" => Some(Slot::StatusFailed),
        "Archived" => Some(Slot::Muted),
        _ => None,
    }
}

/// The version's training Job, "(gone)" when the cluster no longer has it (its TTL after
/// finishing ran out, or it was deleted); the Job is looked for in every namespace, training
/// runs in its own.
pub(super) fn source_job(inputs: &Inputs, version: &ModelVersion) -> String {
    let snapshot = inputs.snapshot;
    let gone = snapshot.status(KindName::Jobs).synced()
        && !snapshot
            .jobs
            .values()
            .any(|j| j.meta.name == version.source_job);
    if gone && !version.source_job.is_empty() {
        format!("{} (gone)", version.source_job)
    } else {
        version.source_job.clone()
    }
}

pub const VIEW: ViewDef = ViewDef {
    title: "Models",
    commands: &["models", "model", "mv", "modelversions"],
    key_help: "Models",
    body: Body::Table(TableDef {
        rows: table,
        detail: detail::models::detail,
        object: Some(RowObject::Namespaced(KindName::ModelVersions)),
        reverse_sort_column: None,
        queues_above: false,
    }),
};

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
                    source_job(inputs, v),
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
    Table::new(
        vec![
            Column::text("MODEL").keeps(),
            Column::text("VERSION").keeps(),
            Column::text("STAGE").keeps(),
            Column::number("ACC(REG)").drops(1),
            Column::number("ACC(LIVE)"),
            Column::number("DRIFT"),
            Column::text("SOURCE JOB").drops(2),
            Column::number("AGE").drops(3),
        ],
        rows,
    )
}
