//! `mlxp get alerts`: the alerts and what cannot be known, as the core decides them for the
//! Overview's Alerts panel too; a table for people, a document for scripts.

use serde::Serialize;

use super::get::Output;
use super::ordered::Json;
use super::table;
use crate::cluster::Snapshot;
use crate::metrics::MetricsFrame;
use mlxp_core::domain::cost::PriceTable;
use mlxp_core::health::{self, Alert, Assessment, Severity};

#[derive(Serialize)]
struct Report<'a> {
    /// No alert and nothing unknown.
    all_clear: bool,
    alerts: Vec<AlertRecord<'a>>,
    unknown: Vec<UnknownRecord>,
}

#[derive(Serialize)]
struct AlertRecord<'a> {
    kind: &'static str,
    severity: Severity,
    text: String,
    figures: &'a Alert,
}

#[derive(Serialize)]
struct UnknownRecord {
    kind: &'static str,
    text: String,
}

/// The alerts of `snapshot` and `frame` (None with `metrics_failing` when reading it
/// failed). `-n` keeps the alerts about one object to that namespace and leaves the
/// cluster-wide ones be.
pub fn alerts(
    snapshot: &Snapshot,
    frame: Option<&MetricsFrame>,
    metrics_failing: bool,
    prices: &PriceTable,
    output: Output,
    namespace: Option<&str>,
) -> anyhow::Result<String> {
    let mut assessment = health::assess(snapshot, frame, metrics_failing, prices);
    if let Some(namespace) = namespace {
        assessment
            .alerts
            .retain(|a| a.namespace().is_none_or(|ns| ns == namespace));
    }
    let report = Report {
        all_clear: assessment.all_clear(),
        alerts: assessment
            .alerts
            .iter()
            .map(|alert| AlertRecord {
                kind: alert.kind(),
                severity: alert.severity(),
                text: alert.to_string(),
                figures: alert,
            })
            .collect(),
        unknown: assessment
            .unknown
            .iter()
            .map(|why| UnknownRecord {
                kind: why.kind(),
                text: why.to_string(),
            })
            .collect(),
    };
    Ok(match output {
        Output::Json => serde_json::to_string_pretty(&report)? + "\n",
        Output::Yaml => serde_saphyr::to_string(&report)?,
        Output::Table => people(&assessment)?,
    })
}

/// One line per alert (severity, kind, what), then what is unknown, as the panel says it.
fn people(assessment: &Assessment) -> anyhow::Result<String> {
    if assessment.all_clear() {
        return Ok("all clear\n".into());
    }
    let mut out = if assessment.alerts.is_empty() {
        "no alert among what can be seen\n".to_string()
    } else {
        #[derive(Serialize)]
        struct Row<'a> {
            severity: &'static str,
            kind: &'static str,
            alert: &'a str,
        }
        let texts: Vec<String> = assessment.alerts.iter().map(Alert::to_string).collect();
        let rows: Vec<Row> = assessment
            .alerts
            .iter()
            .zip(&texts)
            .map(|(a, text)| Row {
                severity: a.severity().label(),
                kind: a.kind(),
                alert: text,
            })
            .collect();
        let rows: Vec<Json> = serde_json::from_str(&serde_json::to_string(&rows)?)?;
        table::table(&rows)
    };
    for why in &assessment.unknown {
        out += &format!("unknown: {why}\n");
    }
    Ok(out)
}
