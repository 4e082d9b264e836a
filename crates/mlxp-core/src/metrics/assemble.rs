//! Turns the flat series of the frame queries into the cockpit's types: one
//! query per metric returns every GPU or model version at once, and the
//! series are joined here by their identifying labels.

use super::{GpuSample, MetricsFrame, ModelQuality, PodRef, Series, VersionTraffic};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// One series of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub labels: HashMap<String, String>,
    pub value: f64,
}

/// The series of each frame query, by its [queries] name. A query that
/// failed is absent, so the numbers it would have given stay empty.
pub type Readings = HashMap<&'static str, Vec<Reading>>;

/// DCGM exporters name the node label either way, depending on version.
const HOST_LABELS: &[&str] = &["Hostname", "hostname"];

type GpuKey = (String, String);
type VersionKey = (String, String);

/// One sample per GPU that reports utilisation; the memory and power series
/// of the same (host, index) fill in the rest, 0 where a series is missing.
pub fn gpus(readings: &Readings) -> Vec<GpuSample> {
    let fb_used = by_key(series(readings, "gpu_fb_used"), gpu_key);
    let fb_free = by_key(series(readings, "gpu_fb_free"), gpu_key);
    let power = by_key(series(readings, "gpu_power"), gpu_key);
    let mut gpus: Vec<GpuSample> = series(readings, "gpu_util")
        .iter()
        .map(|reading| {
            let key = gpu_key(&reading.labels);
            let value_of = |map: &HashMap<GpuKey, f64>| map.get(&key).copied().unwrap_or(0.0);
            GpuSample {
                uuid: label(&reading.labels, &["UUID"]),
                model_name: label(&reading.labels, &["modelName"]),
                util: reading.value,
                fb_used_mib: value_of(&fb_used),
                fb_free_mib: value_of(&fb_free),
                power_watts: value_of(&power),
                pod: pod_ref(&reading.labels),
                node: key.0.clone(),
                gpu: key.1.clone(),
            }
        })
        .collect();
    gpus.sort_by(|a, b| {
        a.node
            .cmp(&b.node)
            .then_with(|| index_order(&a.gpu, &b.gpu))
    });
    gpus
}

/// One row per model version that has a request rate.
pub fn traffic(readings: &Readings) -> Vec<VersionTraffic> {
    let errors = by_key(series(readings, "errors"), version_key);
    let p50 = by_key(series(readings, "p50"), version_key);
    let p99 = by_key(series(readings, "p99"), version_key);
    let mut traffic: Vec<VersionTraffic> = series(readings, "rps")
        .iter()
        .map(|reading| {
            let key = version_key(&reading.labels);
            let rps = reading.value;
            let failed = errors.get(&key).copied().unwrap_or(0.0);
            // Both rates are extrapolated separately, so their ratio can
            // overshoot 1 by a hair; the views expect a proportion.
            let error_ratio = if rps > 0.0 {
                (failed / rps).clamp(0.0, 1.0)
            } else {
                0.0
            };
            VersionTraffic {
                rps,
                error_ratio,
                p50_seconds: p50.get(&key).copied().and_then(known),
                p99_seconds: p99.get(&key).copied().and_then(known),
                model: key.0,
                version: key.1,
            }
        })
        .collect();
    traffic.sort_by(|a, b| (&a.model, &a.version).cmp(&(&b.model, &b.version)));
    traffic
}

/// One row per model version that has an accuracy or a drift score.
pub fn quality(readings: &Readings) -> Vec<ModelQuality> {
    let mut rows: BTreeMap<VersionKey, ModelQuality> = BTreeMap::new();
    let mut fill = |name: &str, field: fn(&mut ModelQuality) -> &mut Option<f64>| {
        for reading in series(readings, name) {
            let (model, version) = version_key(&reading.labels);
            let row = rows
                .entry((model.clone(), version.clone()))
                .or_insert_with(|| ModelQuality {
                    model,
                    version,
                    accuracy: None,
                    drift: None,
                });
            *field(row) = known(reading.value);
        }
    };
    fill("accuracy", |row| &mut row.accuracy);
    fill("drift", |row| &mut row.drift);
    rows.into_values().collect()
}

fn series<'a>(readings: &'a Readings, name: &str) -> &'a [Reading] {
    readings.get(name).map_or(&[], Vec::as_slice)
}

fn by_key<K: Eq + std::hash::Hash>(
    readings: &[Reading],
    key: impl Fn(&HashMap<String, String>) -> K,
) -> HashMap<K, f64> {
    readings
        .iter()
        .map(|reading| (key(&reading.labels), reading.value))
        .collect()
}

/// The first of `names` that is set, or "" when none is.
fn label(labels: &HashMap<String, String>, names: &[&str]) -> String {
    names
        .iter()
        .filter_map(|name| labels.get(*name))
        .find(|value| !value.is_empty())
        .cloned()
        .unwrap_or_default()
}

fn gpu_key(labels: &HashMap<String, String>) -> GpuKey {
    (label(labels, HOST_LABELS), label(labels, &["gpu"]))
}

fn version_key(labels: &HashMap<String, String>) -> VersionKey {
    (label(labels, &["model"]), label(labels, &["version"]))
}

/// When Prometheus scrapes the exporter without `honor_labels`, the
/// workload's labels are renamed `exported_*` and the plain ones name the
/// exporter's own pod, so the exported set wins and is never mixed with the
/// plain one.
fn pod_ref(labels: &HashMap<String, String>) -> Option<PodRef> {
    ["exported_", ""].iter().find_map(|prefix| {
        let get = |name: &str| label(labels, &[&format!("{prefix}{name}")]);
        let name = get("pod");
        (!name.is_empty()).then(|| PodRef {
            namespace: get("namespace"),
            name,
            container: get("container"),
        })
    })
}

/// The [queries] names whose history opens the charts (`MetricsSource::recent`).
pub const RECENT_QUERIES: [&str; 6] = ["rps", "errors", "p50", "p99", "accuracy", "drift"];

/// One frame per point of the requests/s series, the other queries' points matched to the
/// nearest of them: each range query sets its own end, so their points may be a second or
/// so apart.
pub fn frames_of(
    series: Vec<(&'static str, Vec<Series>)>,
    step: std::time::Duration,
) -> Vec<MetricsFrame> {
    let step = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    let rps_points = series
        .iter()
        .filter(|(name, _)| *name == "rps")
        .flat_map(|(_, s)| s.iter().flat_map(|s| &s.points));
    let Some(offset) = rps_points
        .clone()
        .map(|(at, _)| at.timestamp_millis())
        .min()
    else {
        return Vec::new();
    };
    let slot = |ms: i64| (ms - offset + step / 2).div_euclid(step);
    let mut slots: BTreeMap<i64, (chrono::DateTime<chrono::Utc>, Readings)> = rps_points
        .map(|(at, _)| (slot(at.timestamp_millis()), (*at, Readings::new())))
        .collect();
    for (name, series) in series {
        for one in series {
            let labels: HashMap<String, String> = one.labels.into_iter().collect();
            for (at, value) in one.points {
                if let Some((_, readings)) = slots.get_mut(&slot(at.timestamp_millis())) {
                    readings.entry(name).or_default().push(Reading {
                        labels: labels.clone(),
                        value,
                    });
                }
            }
        }
    }
    slots
        .into_values()
        .map(|(at, readings)| MetricsFrame {
            at,
            gpus: Vec::new(),
            traffic: traffic(&readings),
            quality: quality(&readings),
        })
        .collect()
}

/// histogram_quantile gives NaN when a histogram has no observations: that is
/// "no latency known", not a number to draw.
fn known(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

/// GPU indexes are numbers in strings: "2" sorts before "10".
fn index_order(a: &str, b: &str) -> Ordering {
    (a.parse::<u32>().ok(), a).cmp(&(b.parse::<u32>().ok(), b))
}
