//! `mlxp get pools|nodes|gpus|jobs|queues|models|canaries [-o table|json|yaml]`: one
//! snapshot through the same watchers as the cockpit, one metrics frame, printed.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::records;
use crate::cluster::Snapshot;
use crate::domain::cost::PriceTable;
use crate::metrics::{MetricsFrame, MetricsSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    Pools,
    Nodes,
    Gpus,
    Jobs,
    Queues,
    Models,
    Canaries,
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
    let watch = crate::cluster::start(client);
    let mut updates = watch.subscribe();
    let snapshot = tokio::time::timeout(SYNC_TIMEOUT, async {
        loop {
            let latest = updates.borrow_and_update().clone();
            if latest.complete() {
                return Ok(latest);
            }
            updates.changed().await?;
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("the cluster did not answer within {SYNC_TIMEOUT:?}"))?
    .map_err(|e: tokio::sync::watch::error::RecvError| anyhow::anyhow!("{e}"))?;
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
    let mut rows: Vec<Ordered> = serde_json::from_str(&text)?;
    if let Some(namespace) = namespace {
        // As kubectl: -n keeps namespaced records to it and leaves cluster-wide ones be.
        rows.retain(|row| row.namespace().is_none_or(|ns| ns == namespace));
    }
    Ok(match output {
        Output::Json => serde_json::to_string_pretty(&rows)? + "\n",
        Output::Yaml => serde_saphyr::to_string(&rows)?,
        Output::Table => table(&rows),
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
    }
}

/// A JSON object with its fields in the order they came.
#[derive(Debug)]
struct Ordered(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(Ordered(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

impl Ordered {
    fn namespace(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == "namespace")
            .and_then(|(_, v)| v.as_str())
    }
}

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Records as aligned columns, one per field; nested values as compact JSON.
fn table(rows: &[Ordered]) -> String {
    let Some(first) = rows.first() else {
        return "No resources found\n".into();
    };
    let headers: Vec<&String> = first.0.iter().map(|(k, _)| k).collect();
    let cell = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.0.iter().map(|(_, v)| cell(v)).collect())
        .collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(h.len())
        })
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, texts: Vec<String>| {
        let padded: Vec<String> = texts
            .iter()
            .zip(&widths)
            .map(|(t, w)| format!("{t:<w$}"))
            .collect();
        out.push_str(padded.join("   ").trim_end());
        out.push('\n');
    };
    line(&mut out, headers.iter().map(|h| h.to_uppercase()).collect());
    for row in cells {
        line(&mut out, row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_aligns_fields_and_prints_nested_values_compactly() {
        let rows: Vec<Ordered> = serde_json::from_str(
            r#"[{"name": "training", "gpus": 64, "util": 74.25, "flavors": [{"f": 1}], "pod": null},
                {"name": "serving-gpu", "gpus": 8, "util": 45.0, "flavors": [], "pod": "a/b"}]"#,
        )
        .expect("rows");
        assert_eq!(
            table(&rows),
            "NAME          GPUS   UTIL    FLAVORS     POD\n\
             training      64     74.25   [{\"f\":1}]   -\n\
             serving-gpu   8      45      []          a/b\n"
        );
        assert_eq!(table(&[]), "No resources found\n");
    }
}
