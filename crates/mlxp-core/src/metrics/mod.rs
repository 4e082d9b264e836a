//! The numbers the views show, as one frame: GPU use, serving traffic and model quality,
//! and the trait every source of them (Prometheus, the embedded cluster) implements.

pub mod assemble;

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use crate::domain::serving::Served;
use std::time::Duration;

/// One GPU as its exporter reports it at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSample {
    pub node: String,
    /// The exporter's GPU index label on that node ("0", "1", …).
    pub gpu: String,
    pub uuid: String,
    pub model_name: String,
    /// Utilisation in percent.
    pub util: f64,
    pub fb_used_mib: f64,
    pub fb_free_mib: f64,
    pub power_watts: f64,
    /// The container using the GPU, when the exporter maps GPUs to pods.
    pub pod: Option<PodRef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub container: String,
}

/// Serving traffic of one model version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionTraffic {
    pub model: String,
    pub version: String,
    pub rps: f64,
    /// Failed requests over all requests, 0..1 (0 when there is no traffic).
    pub error_ratio: f64,
    /// None when the latency histogram is missing or has no samples.
    pub p50_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
}

impl VersionTraffic {
    /// What the version serves, as the domain judges it.
    pub fn served(&self) -> Served {
        Served {
            rps: self.rps,
            error_ratio: self.error_ratio,
            p99_seconds: self.p99_seconds,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelQuality {
    pub model: String,
    pub version: String,
    pub accuracy: Option<f64>,
    pub drift: Option<f64>,
}

/// Everything the views show at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsFrame {
    pub at: DateTime<Utc>,
    pub gpus: Vec<GpuSample>,
    pub traffic: Vec<VersionTraffic>,
    pub quality: Vec<ModelQuality>,
}

/// One labelled time series of a history query.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics server unreachable: {0}")]
    Unreachable(String),
    #[error("metrics server did not answer in time")]
    Timeout,
    #[error("query {name} failed: {message}")]
    Query { name: String, message: String },
    /// Carries "path:line: message" when it comes from a configuration file.
    #[error("{0}")]
    Config(String),
}

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Object-safe so the cockpit can hold a `Arc<dyn MetricsSource>`.
pub trait MetricsSource: Send + Sync {
    /// Everything the views show now: one batched query per metric, never one per object.
    fn frame(&self) -> BoxFuture<'_, Result<MetricsFrame, MetricsError>>;
    /// A named query (a key of [queries]) over the last `range`, one point per `step`.
    fn history(
        &self,
        query: &str,
        range: Duration,
        step: Duration,
    ) -> BoxFuture<'_, Result<Vec<Series>, MetricsError>>;
    /// Where the numbers come from, for the health line ("prometheus http://…", "embedded").
    fn describe(&self) -> String;

    /// The serving and model-quality numbers of the last `range`, one frame per `step`,
    /// oldest first, from `history` — so the charts open with the minutes before the
    /// cockpit started. GPUs are left out: at 40,000 GPUs their range queries would return
    /// millions of points. Fails when the requests/s query does.
    fn recent(
        &self,
        range: Duration,
        step: Duration,
    ) -> BoxFuture<'_, Result<Vec<MetricsFrame>, MetricsError>> {
        Box::pin(async move {
            let results = futures::future::join_all(
                assemble::RECENT_QUERIES.map(|name| self.history(name, range, step)),
            )
            .await;
            let mut found = Vec::new();
            for (name, result) in assemble::RECENT_QUERIES.into_iter().zip(results) {
                match result {
                    Ok(series) => found.push((name, series)),
                    Err(e) if name == "rps" => return Err(e),
                    // A missing latency or quality series leaves its charts empty.
                    Err(_) => {}
                }
            }
            Ok(assemble::frames_of(found, step))
        })
    }
}
