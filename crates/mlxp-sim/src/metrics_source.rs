//! The embedded cluster's own numbers, read in-process: what its /metrics would tell a
//! Prometheus, without one. Rates and latency quantiles come from the difference between
//! two frames, as `rate()` and `histogram_quantile()` would compute them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::api::ApiState;
use crate::traffic::{BUCKETS, Served};
use mlxp_core::metrics::{
    BoxFuture, GpuSample, MetricsError, MetricsFrame, MetricsSource, ModelQuality, PodRef, Series,
    VersionTraffic,
};

pub struct Embedded {
    state: Arc<ApiState>,
    /// The counters at the previous frame, per (namespace, model, version).
    previous: Mutex<BTreeMap<(String, String, String), Served>>,
}

impl Embedded {
    pub fn new(state: Arc<ApiState>) -> Self {
        Embedded {
            state,
            previous: Mutex::new(BTreeMap::new()),
        }
    }

    fn read(&self) -> MetricsFrame {
        let now = self.state.clock.now();
        let gpus = crate::metrics::gpu_samples(&self.state, now)
            .into_iter()
            .map(|g| GpuSample {
                node: g.node,
                gpu: g.index.to_string(),
                uuid: g.uuid,
                model_name: g.model,
                util: g.util,
                fb_used_mib: g.fb_used_mib,
                fb_free_mib: g.fb_free_mib,
                power_watts: g.power_watts,
                pod: g.pod.map(|(namespace, name, container)| PodRef {
                    namespace,
                    name,
                    container,
                }),
            })
            .collect();
        let served = self
            .state
            .traffic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .served
            .clone();
        let mut previous = self.previous.lock().unwrap_or_else(|e| e.into_inner());
        let traffic = served
            .iter()
            .map(|((_, model, version), now)| {
                let before = previous.get(&(String::new(), model.clone(), version.clone()));
                let delta = delta(now, before);
                let total = delta.ok + delta.errors;
                VersionTraffic {
                    model: model.clone(),
                    version: version.clone(),
                    rps: now.rps,
                    error_ratio: if total > 0.0 {
                        delta.errors / total
                    } else {
                        0.0
                    },
                    p50_seconds: quantile(0.5, &delta),
                    p99_seconds: quantile(0.99, &delta),
                }
            })
            .collect();
        *previous = served
            .into_iter()
            .map(|((_, model, version), s)| ((String::new(), model, version), s))
            .collect();
        let quality = crate::quality::versions(&self.state, now)
            .into_iter()
            .map(|(model, version, accuracy, drift)| ModelQuality {
                model,
                version,
                accuracy: Some(accuracy),
                drift: Some(drift),
            })
            .collect();
        MetricsFrame {
            at: now,
            gpus,
            traffic,
            quality,
        }
    }
}

/// What was served between two readings (everything so far when there is no earlier one).
fn delta(now: &Served, before: Option<&Served>) -> Served {
    let Some(before) = before.filter(|b| b.ok + b.errors < now.ok + now.errors) else {
        return now.clone();
    };
    let mut d = now.clone();
    d.ok -= before.ok;
    d.errors -= before.errors;
    d.latency_sum -= before.latency_sum;
    for (b, earlier) in d.buckets.iter_mut().zip(before.buckets) {
        *b -= earlier;
    }
    d
}

/// `histogram_quantile` over cumulative buckets: linear within the bucket that holds it.
fn quantile(q: f64, served: &Served) -> Option<f64> {
    let total = served.ok + served.errors;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = 0.0;
    let mut below = 0.0;
    for (bound, count) in BUCKETS.iter().zip(served.buckets) {
        if count >= rank {
            let within = (count - below).max(f64::MIN_POSITIVE);
            return Some(lower + (bound - lower) * ((rank - below) / within));
        }
        lower = *bound;
        below = count;
    }
    Some(*BUCKETS.last()?)
}

impl MetricsSource for Embedded {
    fn frame(&self) -> BoxFuture<'_, Result<MetricsFrame, MetricsError>> {
        Box::pin(async move { Ok(self.read()) })
    }

    fn history(
        &self,
        query: &str,
        _range: std::time::Duration,
        _step: std::time::Duration,
    ) -> BoxFuture<'_, Result<Vec<Series>, MetricsError>> {
        let query = query.to_string();
        // The embedded cluster keeps no history; the cockpit builds it from frames.
        Box::pin(async move {
            Err(MetricsError::Query {
                name: query,
                message: "the embedded cluster keeps no history".into(),
            })
        })
    }

    fn describe(&self) -> String {
        "embedded".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_the_bucket() {
        // 100 requests: 50 under 10 ms, all under 50 ms.
        let served = Served {
            ok: 100.0,
            buckets: [
                0.0, 50.0, 80.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0,
            ],
            ..Served::default()
        };
        assert_eq!(quantile(0.5, &served), Some(0.01));
        let p99 = quantile(0.99, &served).expect("p99");
        assert!(p99 > 0.025 && p99 <= 0.05, "{p99}");
        assert_eq!(quantile(0.5, &Served::default()), None);
    }
}
