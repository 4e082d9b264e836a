//! Models: each ModelVersion with its model, stage, metrics, what mlxp (the agent or a
//! person) last did to it — or that it awaits an approval — its source Job and age.

use super::detail::{Chart, Detail, Lines, chart, or_dash, split_key};
use super::{Body, Inputs, RowObject, TableDef, ViewDef, age, last_action};
use crate::cluster::KindName;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::objects::ModelVersion;
use mlxp_core::domain::serving::last_actions;

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
        detail,
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
    let events_seen = inputs.snapshot.status(KindName::Events).synced();
    let last = events_seen.then(|| last_actions(inputs.snapshot));
    let mut rows: Vec<Row> = inputs
        .snapshot
        .model_versions
        .values()
        .filter(|v| inputs.in_namespace(&v.meta.namespace))
        .map(|v| {
            let live = quality(&v.model, &v.version);
            let model = inputs.snapshot.models.get(&v.meta.namespace, &v.model);
            let waiting = v.awaits_approval(model.map(|m| m.as_ref()));
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
                    if waiting {
                        "awaits approval".to_string()
                    } else {
                        last_action(last.as_ref(), &v.meta.namespace, &v.meta.name, inputs.now)
                    },
                    source_job(inputs, v),
                    super::age(v.meta.creation_timestamp, inputs.now),
                ],
                slot: if waiting {
                    Some(Slot::Warning)
                } else {
                    stage_slot(&v.stage)
                },
                labels: v.meta.labels.clone(),
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
            Column::text("LAST ACTION").drops(2),
            Column::text("SOURCE JOB").drops(3),
            Column::number("AGE").drops(4),
        ],
        rows,
    )
}

/// A score (accuracy, loss, drift) to three decimals, "-" when unknown.
fn score(value: Option<f64>) -> String {
    or_dash(value.map(|v| format!("{v:.3}")))
}

pub fn detail(inputs: &Inputs, key: &str) -> Option<Detail> {
    let (namespace, name) = split_key(key)?;
    let snapshot = inputs.snapshot;
    let version = snapshot.model_versions.get(namespace, name)?;
    let mut lines = Lines::default();
    lines.field("stage", &version.stage);
    lines.field("artifact", &version.artifact);
    lines.field(
        "source job",
        source_job(inputs, version),
    );
    lines.field(
        "registered",
        format!(
            "accuracy {} · loss {} · {} ago",
            score(version.accuracy),
            score(version.loss),
            age(version.meta.creation_timestamp, inputs.now)
        ),
    );
    let live = inputs.metrics.and_then(|m| {
        m.quality
            .iter()
            .find(|q| q.model == version.model && q.version == version.version)
    });
    let model = snapshot.models.get(namespace, &version.model);
    // The gate the agent's rollout waits on.
    match (&version.approved_by, model.is_some_and(|m| m.require_approval)) {
        (Some(who), _) => lines.field("approval", format!("approved by {who}")),
        (None, true) if version.stage == "Validated" => lines.field_in(
            "approval",
            "waiting: its model requires one before it takes traffic".to_string(),
            Slot::Warning,
        ),
        _ => {}
    }
    let drift_limit = model.and_then(|m| m.drift_threshold);
    if let Some(q) = live {
        let drifting = matches!((q.drift, drift_limit), (Some(d), Some(l)) if d > l);
        lines.field_in(
            "live",
            format!(
                "accuracy {} · drift {}{}",
                score(q.accuracy),
                score(q.drift),
                if drifting { " (above threshold)" } else { "" }
            ),
            if drifting { Slot::Warning } else { Slot::Text },
        );
    }
    match model {
        Some(model) => {
            lines.heading(format!("Model {}", model.meta.name));
            if !model.description.is_empty() {
                lines.field("about", &model.description);
            }
            lines.field(
                "route",
                or_dash(model.route.as_ref().map(|(ns, n)| format!("{ns}/{n}"))),
            );
            lines.field(
                "thresholds",
                format!(
                    "drift ≤ {} · errors ≤ {} · p99 ≤ {}",
                    or_dash(drift_limit.map(|d| format!("{d:.2}"))),
                    or_dash(model.max_error_rate.map(|e| format!("{:.1}%", e * 100.0))),
                    or_dash(
                        model
                            .max_p99_seconds
                            .map(|s| format!("{:.0}ms", s * 1000.0))
                    )
                ),
            );
        }
        None => lines.text(
            Slot::Muted,
            format!("no Model {} in {namespace}", version.model),
        ),
    }
    let mut siblings: Vec<_> = snapshot
        .model_versions
        .values()
        .filter(|v| v.meta.namespace == namespace && v.model == version.model)
        .collect();
    siblings.sort_by_key(|v| v.meta.creation_timestamp);
    lines.heading(format!("Versions ({})", siblings.len()));
    lines.list(&siblings, 12, |v| {
        let marker = if v.meta.name == version.meta.name {
            "▶"
        } else {
            " "
        };
        vec![
            (Slot::Text, format!(" {marker} {:<8}", v.version)),
            (
                stage_slot(&v.stage).unwrap_or(Slot::Text),
                format!("{:<11}", v.stage),
            ),
            (
                Slot::Muted,
                format!(
                    "acc {}  {}",
                    score(v.accuracy),
                    age(v.meta.creation_timestamp, inputs.now)
                ),
            ),
        ]
    });
    lines.done(
        format!("{} {}", version.model, version.version),
        charts(inputs, &version.model, &version.version),
    )
}

fn charts(inputs: &Inputs, model: &str, version: &str) -> Vec<Chart> {
    let Some(series) = inputs.history.quality(model, version) else {
        return Vec::new();
    };
    let mut charts = Vec::new();
    if let Some(a) = series.accuracy.last() {
        let low = series.accuracy.values().fold(f32::MAX, f32::min);
        charts.push(chart(
            format!("live accuracy {a:.3} (low {low:.3})"),
            series.accuracy.values(),
            None,
            Slot::StatusOk,
        ));
    }
    if let Some(d) = series.drift.last() {
        charts.push(chart(
            format!("drift {d:.3}"),
            series.drift.values(),
            None,
            Slot::Warning,
        ));
    }
    charts
}
