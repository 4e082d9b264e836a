//! Serving traffic: each model's requests per second (a daily curve with noise), split
//! between its versions by the weights of its HTTPRoute, with per-version error rate and
//! latency — counted as Prometheus counters and a latency histogram, as a serving stack's
//! metrics would be.
//!
//! Conventions read from the cluster: an HTTPRoute labelled `mlxp.io/model` carries that
//! model's traffic, each backendRef named `<model>-<version>`; a ModelVersion annotated
//! `sim.mlxp.io/bad: "true"` serves more errors and slower. A Model annotated
//! `sim.mlxp.io/rps` sets its peak rate (default 200/s).

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Timelike, Utc};

use super::api::ApiState;
use super::ids::stable_hash;

pub const MODEL_LABEL: &str = "mlxp.io/model";
pub const BAD: &str = "sim.mlxp.io/bad";
pub const RPS: &str = "sim.mlxp.io/rps";

/// Latency histogram bounds, seconds (Prometheus client defaults).
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What one version has served so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Served {
    pub ok: f64,
    pub errors: f64,
    /// Cumulative counts per bucket of BUCKETS, then the sum of latencies.
    pub buckets: [f64; BUCKETS.len()],
    pub latency_sum: f64,
    /// The current rate, for autoscaling.
    pub rps: f64,
}

#[derive(Debug, Default)]
pub struct Traffic {
    last: Option<DateTime<Utc>>,
    /// (namespace, model, version) → served.
    pub served: BTreeMap<(String, String, String), Served>,
}

/// How busy a version is right now: (requests/s, error ratio, median latency in seconds).
fn version_load(model_rps: f64, weight_share: f64, bad: bool) -> (f64, f64, f64) {
    let rps = model_rps * weight_share;
    if bad {
        (rps, 0.08, 0.180)
    } else {
        (rps, 0.003, 0.045)
    }
}

/// A model's request rate at `now`: a daily curve peaking mid-afternoon, with noise that is
/// the same for the same model and minute.
pub fn model_rps(peak: f64, model: &str, now: DateTime<Utc>) -> f64 {
    let hour = f64::from(now.hour()) + f64::from(now.minute()) / 60.0;
    let daily = 0.6 + 0.4 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).sin();
    let noise = (stable_hash(&format!("{model}/{}", now.timestamp() / 60)) % 1000) as f64 / 1000.0;
    peak * daily * (0.95 + 0.1 * noise)
}

/// Share of requests at or under `bound` for a log-normal latency with median `median`.
fn cdf(bound: f64, median: f64) -> f64 {
    let sigma = 0.6;
    let z = (bound.ln() - median.ln()) / sigma;
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// Abramowitz–Stegun 7.1.26 (error below 1.5e-7), enough for a simulated histogram.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let y = 1.0
        - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
            + 0.254829592)
            * t
            * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}

impl Traffic {
    /// Serves the traffic of the time since the last call.
    pub fn advance(&mut self, state: &ApiState, now: DateTime<Utc>) {
        let Some(last) = self.last.replace(now) else {
            return;
        };
        let seconds = (now - last).num_milliseconds() as f64 / 1000.0;
        if seconds <= 0.0 {
            return;
        }
        let bad: Vec<(String, String, String)> = state
            .list_objects("mlxp.io", "modelversions")
            .filter(|v| v["metadata"]["annotations"][BAD] == "true")
            .map(|v| {
                (
                    v["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    v["spec"]["model"].as_str().unwrap_or("").to_string(),
                    v["spec"]["version"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let peaks: BTreeMap<String, f64> = state
            .list_objects("mlxp.io", "models")
            .filter_map(|m| {
                let name = m["metadata"]["name"].as_str()?.to_string();
                let rps = m["metadata"]["annotations"][RPS].as_str()?.parse().ok()?;
                Some((name, rps))
            })
            .collect();
        for served in self.served.values_mut() {
            served.rps = 0.0;
        }
        for route in state.list_objects("gateway.networking.k8s.io", "httproutes") {
            let Some(model) = route["metadata"]["labels"][MODEL_LABEL].as_str() else {
                continue;
            };
            let namespace = route["metadata"]["namespace"].as_str().unwrap_or("");
            let backends: Vec<(String, f64)> = route["spec"]["rules"][0]["backendRefs"]
                .as_array()
                .map(|refs| {
                    refs.iter()
                        .filter_map(|r| {
                            let name = r["name"].as_str()?;
                            let version = name.strip_prefix(&format!("{model}-"))?.to_string();
                            Some((version, r["weight"].as_f64().unwrap_or(1.0).max(0.0)))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let total: f64 = backends.iter().map(|(_, w)| w).sum();
            if total <= 0.0 {
                continue;
            }
            let peak = peaks.get(model).copied().unwrap_or(200.0);
            let rps = model_rps(peak, model, state.clock.scenario_time(now));
            for (version, weight) in backends {
                let key = (namespace.to_string(), model.to_string(), version.clone());
                let is_bad = bad.contains(&key);
                let (v_rps, error_ratio, median) = version_load(rps, weight / total, is_bad);
                let requests = v_rps * seconds;
                let served = self.served.entry(key).or_default();
                served.rps = v_rps;
                served.ok += requests * (1.0 - error_ratio);
                served.errors += requests * error_ratio;
                for (i, bound) in BUCKETS.iter().enumerate() {
                    served.buckets[i] += requests * cdf(*bound, median);
                }
                // Mean of a log-normal: median × e^(σ²/2).
                served.latency_sum += requests * median * (0.18f64).exp();
            }
        }
    }

    /// The serving metrics in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP mlxp_requests_total Requests served, by response code.\n# TYPE mlxp_requests_total counter"
        );
        for ((_, model, version), s) in &self.served {
            for (code, value) in [("200", s.ok), ("500", s.errors)] {
                let _ = writeln!(
                    out,
                    "mlxp_requests_total{{model=\"{model}\",version=\"{version}\",code=\"{code}\"}} {}",
                    value.floor()
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP mlxp_request_duration_seconds Request latency.\n# TYPE mlxp_request_duration_seconds histogram"
        );
        for ((_, model, version), s) in &self.served {
            let labels = format!("model=\"{model}\",version=\"{version}\"");
            for (bound, count) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "mlxp_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    count.floor()
                );
            }
            let count = (s.ok + s.errors).floor();
            let _ = writeln!(
                out,
                "mlxp_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "mlxp_request_duration_seconds_sum{{{labels}}} {:.3}",
                s.latency_sum
            );
            let _ = writeln!(
                out,
                "mlxp_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
    }

    /// Requests per second a version serves now (0 when it gets no traffic).
    pub fn rps(&self, namespace: &str, model: &str, version: &str) -> f64 {
        self.served
            .get(&(
                namespace.to_string(),
                model.to_string(),
                version.to_string(),
            ))
            .map_or(0.0, |s| s.rps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_centred_on_the_median() {
        let mut previous = 0.0;
        for bound in BUCKETS {
            let share = cdf(bound, 0.045);
            assert!(share >= previous && share <= 1.0);
            previous = share;
        }
        assert!((cdf(0.045, 0.045) - 0.5).abs() < 1e-6);
        assert!(cdf(10.0, 0.045) > 0.999);
    }

    #[test]
    fn rates_follow_the_day_and_stay_positive() {
        let at = |h: u32| {
            DateTime::parse_from_rfc3339(&format!("2026-11-29T{h:02}:00:00Z"))
                .map(|t| t.with_timezone(&Utc))
                .expect("time")
        };
        let afternoon = model_rps(200.0, "m", at(15));
        let night = model_rps(200.0, "m", at(3));
        assert!(afternoon > night * 2.0, "{afternoon} vs {night}");
        assert!(night > 0.0);
        assert_eq!(
            model_rps(200.0, "m", at(15)),
            afternoon,
            "same minute, same rate"
        );
    }

    #[test]
    fn a_bad_version_errs_more_and_is_slower() {
        let (rps, good_errors, good_latency) = version_load(100.0, 0.2, false);
        let (_, bad_errors, bad_latency) = version_load(100.0, 0.2, true);
        assert_eq!(rps, 20.0);
        assert!(bad_errors > good_errors * 10.0);
        assert!(bad_latency > good_latency * 3.0);
    }
}
