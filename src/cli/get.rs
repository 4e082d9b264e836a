//! `mlxp get pools|nodes|gpus|jobs|queues|models|canaries|alerts [-o table|json|yaml]`: one
//! snapshot through the same watchers as the cockpit, one metrics frame, printed.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::ordered::Json;
use super::{records, table};
use crate::cluster::Snapshot;
use crate::metrics::{MetricsFrame, MetricsSource};
use mlxp_core::domain::cost::PriceTable;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    Pools,
    Nodes,
    Gpus,
    Jobs,
    Queues,
    Models,
    Canaries,
    /// What the Overview's Alerts panel says, and what it cannot know.
    Alerts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
    Yaml,
}

/// How long to wait for every source's first list.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn get(
    client: kube::Client,
    metrics: Option<Arc<dyn MetricsSource>>,
    prices: &PriceTable,
    what: What,
    output: Output,
    namespace: Option<&str>,
) -> anyhow::Result<String> {
    let snapshot = crate::cluster::snapshot_once(client, SYNC_TIMEOUT).await?;
    if what == What::Alerts {
        // Metrics that fail make their alerts unknown, not the command fail.
        let (frame, failing) = match &metrics {
            Some(source) => match source.frame().await {
                Ok(frame) => (Some(frame), false),
                Err(e) => {
                    eprintln!("mlxp get alerts: metrics: {e}");
                    (None, true)
                }
            },
            None => (None, false),
        };
        return super::alerts::alerts(
            &snapshot,
            frame.as_ref(),
            failing,
            prices,
            output,
            namespace,
        );
    }
    let frame = match &metrics {
        Some(source) => Some(source.frame().await?),
        None => None,
    };
    if what == What::Gpus && frame.is_none() {
        anyhow::bail!(
            "mlxp get gpus needs metrics: --prometheus URL, or [prometheus] url in the config"
        );
    }
    let text = records_of(&snapshot, frame.as_ref(), prices, what)?;
    let mut rows: Vec<Json> = serde_json::from_str(&text)?;
    if let Some(namespace) = namespace {
        // As kubectl: -n keeps namespaced records to it and leaves cluster-wide ones be.
        rows.retain(|row| {
            row.field("namespace")
                .and_then(Json::as_str)
                .is_none_or(|ns| ns == namespace)
        });
    }
    Ok(match output {
        Output::Json => serde_json::to_string_pretty(&rows)? + "\n",
        Output::Yaml => serde_saphyr::to_string(&rows)?,
        Output::Table => table::table(&rows),
    })
}

/// The records as JSON text (fields in their declared order, which `Value` would lose).
fn records_of(
    snapshot: &Snapshot,
    frame: Option<&MetricsFrame>,
    prices: &PriceTable,
    what: What,
) -> anyhow::Result<String> {
    fn json<T: Serialize>(records: Vec<T>) -> anyhow::Result<String> {
        Ok(serde_json::to_string(&records)?)
    }
    match what {
        What::Pools => json(records::pools(snapshot, frame, prices)),
        What::Nodes => json(records::nodes(snapshot)),
        What::Gpus => json(
            frame
                .map(|f| records::gpus(snapshot, f, prices))
                .unwrap_or_default(),
        ),
        What::Jobs => json(records::jobs(snapshot)),
        What::Queues => json(records::queues(snapshot)),
        What::Models => json(records::models(snapshot, frame)),
        What::Canaries => json(records::canaries(snapshot, frame)),
        // A report (alerts and unknowns), not a list of records: `get` prints it apart.
        What::Alerts => anyhow::bail!("alerts are not records"),
    }
}
