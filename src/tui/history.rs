//! What the metrics said over the last minutes, for sparklines and nvtop-like charts: a
//! fixed number of samples per series, recorded in `update()` as frames arrive. Compact on
//! purpose (a byte or two a sample): at 40,000 GPUs this is the cockpit's biggest history.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::metrics::MetricsFrame;
use mlxp_core::gpus::pool_means;

/// Samples kept per series: ten minutes at the cockpit's five-second metrics interval.
pub const KEEP: usize = 120;

/// The last `KEEP` values of one series, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ring<T> {
    values: VecDeque<T>,
}

impl<T: Copy> Ring<T> {
    pub fn push(&mut self, value: T) {
        if self.values.capacity() == 0 {
            self.values.reserve_exact(KEEP);
        }
        if self.values.len() == KEEP {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = T> + ExactSizeIterator + '_ {
        self.values.iter().copied()
    }

    pub fn last(&self) -> Option<T> {
        self.values.back().copied()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// One GPU at one instant: utilisation and memory in percent, power in watts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuPoint {
    pub util: u8,
    pub memory: u8,
    pub power: u16,
}

/// A GPU of the history: where its samples are in each frame's points, and since when.
#[derive(Debug, Clone)]
struct Slot {
    node: String,
    gpu: String,
    /// The frame of its first sample (frames are numbered from 1).
    since: u64,
}

/// Every GPU's samples, frame by frame: a frame's points in one vector, each GPU at the
/// same position (its slot) in all of them. Recording 40,000 GPUs then writes one array
/// instead of pushing onto 40,000 rings scattered over the heap, and a frame whose GPUs
/// come in the order of the last one (Prometheus answers them sorted) is matched without a
/// single hash lookup.
#[derive(Debug, Clone, Default)]
struct GpuFrames {
    /// Slot of each GPU, by node then GPU index: looked up by `&str`, so a frame allocates
    /// nothing for the GPUs already known.
    slots: HashMap<String, HashMap<String, usize>>,
    /// Each slot's GPU; None once its GPU is gone (then reused by the next new one).
    keys: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// The points of the last `KEEP` frames, oldest first, by slot; the newest is frame
    /// `History::frames`. A slot's values before its `since` belong to an earlier GPU.
    points: VecDeque<Vec<GpuPoint>>,
    /// The slot of each GPU of the last frame, in that frame's order.
    order: Vec<usize>,
}

impl GpuFrames {
    /// The slot of a GPU, given one if it is new since frame `frame`.
    fn slot_of(&mut self, node: &str, gpu: &str, frame: u64) -> usize {
        if let Some(slot) = self.slots.get(node).and_then(|n| n.get(gpu)) {
            return *slot;
        }
        let key = Slot {
            node: node.to_string(),
            gpu: gpu.to_string(),
            since: frame,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.keys[slot] = Some(key);
                slot
            }
            None => {
                self.keys.push(Some(key));
                self.keys.len() - 1
            }
        };
        let by_gpu = match self.slots.get_mut(node) {
            Some(by_gpu) => by_gpu,
            None => self.slots.entry(node.to_string()).or_default(),
        };
        by_gpu.insert(gpu.to_string(), slot);
        slot
    }

    /// Whether the frame's GPUs are those of the last frame, in the same order.
    fn same_order(&self, gpus: &[crate::metrics::GpuSample]) -> bool {
        gpus.len() == self.order.len()
            && gpus.iter().zip(&self.order).all(|(g, slot)| {
                self.keys[*slot]
                    .as_ref()
                    .is_some_and(|k| k.node == g.node && k.gpu == g.gpu)
            })
    }

    /// Frees the slots of the GPUs not in the last frame.
    fn forget_gone(&mut self) {
        let mut seen = vec![false; self.keys.len()];
        for slot in &self.order {
            seen[*slot] = true;
        }
        for (slot, key) in self.keys.iter_mut().enumerate() {
            if seen[slot] {
                continue;
            }
            if let Some(gone) = key.take() {
                if let Some(by_gpu) = self.slots.get_mut(&gone.node) {
                    by_gpu.remove(&gone.gpu);
                    if by_gpu.is_empty() {
                        self.slots.remove(&gone.node);
                    }
                }
                self.free.push(slot);
            }
        }
    }
}

/// One model version's serving: requests/s, errors in percent, p99 in milliseconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrafficSeries {
    pub rps: Ring<f32>,
    pub errors: Ring<f32>,
    pub p99_ms: Ring<f32>,
}

/// One model version's live quality.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QualitySeries {
    pub accuracy: Ring<f32>,
    pub drift: Ring<f32>,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    gpus: GpuFrames,
    /// Frames recorded.
    frames: u64,
    /// Mean GPU utilisation per pool, percent.
    pub pools: BTreeMap<String, Ring<u8>>,
    /// By (model, version).
    pub traffic: BTreeMap<(String, String), TrafficSeries>,
    pub quality: BTreeMap<(String, String), QualitySeries>,
    last_at: Option<DateTime<Utc>>,
}

fn percent(x: f64) -> u8 {
    x.clamp(0.0, 100.0).round() as u8
}

/// One GPU's samples in the history, oldest first.
#[derive(Debug, Clone, Copy)]
pub struct GpuSeries<'a> {
    points: &'a VecDeque<Vec<GpuPoint>>,
    slot: usize,
    /// The first frame (index in `points`) that is this GPU's.
    from: usize,
}

impl GpuSeries<'_> {
    pub fn values(&self) -> impl DoubleEndedIterator<Item = GpuPoint> + ExactSizeIterator + '_ {
        let slot = self.slot;
        self.points
            .range(self.from..)
            .map(move |frame| frame.get(slot).copied().unwrap_or_default())
    }

    pub fn last(&self) -> Option<GpuPoint> {
        self.values().next_back()
    }

    pub fn len(&self) -> usize {
        self.points.len() - self.from
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl History {
    /// Adds a frame's values (a frame seen before is not counted twice). Series whose
    /// object left the frame are dropped, so the history never outgrows the cluster.
    pub fn record<'a>(
        &mut self,
        frame: &MetricsFrame,
        pool_of_node: impl Fn(&str) -> Option<&'a str>,
    ) {
        if self.last_at == Some(frame.at) {
            return;
        }
        self.last_at = Some(frame.at);
        self.frames += 1;
        self.record_gpus(frame);
        let means = pool_means(&frame.gpus, pool_of_node);
        self.pools
            .retain(|name, _| means.iter().any(|(pool, _)| pool == name));
        for (pool, mean) in means {
            self.pools
                .entry(pool.to_string())
                .or_default()
                .push(percent(mean));
        }
        let mut live = std::collections::BTreeSet::new();
        for t in &frame.traffic {
            let key = (t.model.clone(), t.version.clone());
            let series = self.traffic.entry(key.clone()).or_default();
            series.rps.push(t.rps as f32);
            series.errors.push((t.error_ratio * 100.0) as f32);
            series
                .p99_ms
                .push(t.p99_seconds.map_or(0.0, |s| (s * 1000.0) as f32));
            live.insert(key);
        }
        self.traffic.retain(|key, _| live.contains(key));
        let mut live = std::collections::BTreeSet::new();
        for q in &frame.quality {
            let key = (q.model.clone(), q.version.clone());
            let series = self.quality.entry(key.clone()).or_default();
            if let Some(a) = q.accuracy {
                series.accuracy.push(a as f32);
            }
            if let Some(d) = q.drift {
                series.drift.push(d as f32);
            }
            live.insert(key);
        }
        self.quality.retain(|key, _| live.contains(key));
    }

    /// The frame's GPUs' points, each at its GPU's slot; GPUs no longer in it forgotten.
    fn record_gpus(&mut self, frame: &MetricsFrame) {
        let gpus = &mut self.gpus;
        if frame.gpus.is_empty() {
            // Nothing left to keep: start afresh rather than keep slots no GPU holds.
            *gpus = GpuFrames::default();
            return;
        }
        if !gpus.same_order(&frame.gpus) {
            let order: Vec<usize> = frame
                .gpus
                .iter()
                .map(|g| gpus.slot_of(&g.node, &g.gpu, self.frames))
                .collect();
            gpus.order = order;
            gpus.forget_gone();
        }
        // The oldest frame's vector is reused once the window is full.
        let mut points = match gpus.points.len() {
            KEEP => gpus.points.pop_front().unwrap_or_default(),
            _ => Vec::new(),
        };
        points.clear();
        points.resize(gpus.keys.len(), GpuPoint::default());
        for (gpu, slot) in frame.gpus.iter().zip(&gpus.order) {
            let total = gpu.fb_used_mib + gpu.fb_free_mib;
            let memory = if total > 0.0 {
                gpu.fb_used_mib / total * 100.0
            } else {
                0.0
            };
            points[*slot] = GpuPoint {
                util: percent(gpu.util),
                memory: percent(memory),
                power: gpu.power_watts.clamp(0.0, f64::from(u16::MAX)) as u16,
            };
        }
        gpus.points.push_back(points);
    }

    /// A GPU's samples, oldest first.
    pub fn gpu(&self, node: &str, gpu: &str) -> Option<GpuSeries<'_>> {
        let slot = *self.gpus.slots.get(node)?.get(gpu)?;
        let since = self.gpus.keys[slot].as_ref()?.since;
        let held = self.gpus.points.len();
        // Frames `since..=frames`, of which the window holds the last `held`.
        let len = usize::try_from(self.frames - since + 1).map_or(held, |n| n.min(held));
        Some(GpuSeries {
            points: &self.gpus.points,
            slot,
            from: held - len,
        })
    }

    /// GPUs with a history.
    pub fn gpu_count(&self) -> usize {
        self.gpus.slots.values().map(HashMap::len).sum()
    }

    pub fn traffic(&self, model: &str, version: &str) -> Option<&TrafficSeries> {
        self.traffic.get(&(model.to_string(), version.to_string()))
    }

    pub fn quality(&self, model: &str, version: &str) -> Option<&QualitySeries> {
        self.quality.get(&(model.to_string(), version.to_string()))
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` values as a one-line text sparkline, from zero to `max`, or over the
/// values' own range when there is no `max`; empty when there is nothing yet.
pub fn spark(
    values: impl DoubleEndedIterator<Item = f64>,
    width: usize,
    max: Option<f64>,
) -> String {
    let mut recent: Vec<f64> = values.rev().take(width).collect();
    recent.reverse();
    let (floor, top) = match max {
        Some(max) => (0.0, max),
        None => auto_range(&recent),
    };
    let steps = (BARS.len() - 1) as f64;
    recent
        .iter()
        .map(|v| {
            let level = ((v - floor) / (top - floor).max(f64::EPSILON) * steps).round();
            BARS[level.clamp(0.0, steps) as usize]
        })
        .collect()
}

/// (floor, top) of a series drawn without a fixed scale, as monitoring charts do (a 5 %
/// swing in requests is invisible from zero): its range with a margin below, so the lowest
/// sample still shows; a flat series sits at half height.
pub fn auto_range(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    if !lo.is_finite() || hi <= lo {
        return (0.0, if hi > 0.0 { hi * 2.0 } else { 1.0 });
    }
    ((lo - (hi - lo) / 4.0).max(0.0), hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{GpuSample, VersionTraffic};

    fn gpu(node: &str, index: &str, util: f64) -> GpuSample {
        GpuSample {
            node: node.into(),
            gpu: index.into(),
            uuid: format!("GPU-{node}-{index}"),
            model_name: "NVIDIA-L4".into(),
            util,
            fb_used_mib: 6_000.0,
            fb_free_mib: 18_000.0,
            power_watts: 51.6,
            pod: None,
        }
    }

    fn frame(second: i64, gpus: Vec<GpuSample>, rps: f64) -> MetricsFrame {
        MetricsFrame {
            at: DateTime::from_timestamp(1_800_000_000 + second, 0).expect("time"),
            gpus,
            traffic: vec![VersionTraffic {
                model: "fraud".into(),
                version: "v2".into(),
                rps,
                error_ratio: 0.08,
                p50_seconds: Some(0.1),
                p99_seconds: Some(0.25),
            }],
            quality: Vec::new(),
        }
    }

    fn pool(node: &str) -> Option<&'static str> {
        Some(if node.starts_with('t') {
            "training"
        } else {
            "serving"
        })
    }

    #[test]
    fn records_each_gpu_pool_means_and_traffic_once_per_frame() {
        let mut history = History::default();
        let first = frame(
            0,
            vec![
                gpu("t1", "0", 80.0),
                gpu("t1", "1", 40.0),
                gpu("s1", "0", 10.0),
            ],
            100.0,
        );
        history.record(&first, pool);
        history.record(&first, pool);
        history.record(
            &frame(
                5,
                vec![
                    gpu("t1", "0", 100.0),
                    gpu("t1", "1", 100.0),
                    gpu("s1", "0", 12.4),
                ],
                50.0,
            ),
            pool,
        );
        let t10 = history.gpu("t1", "0").expect("series");
        assert_eq!(t10.values().map(|p| p.util).collect::<Vec<_>>(), [80, 100]);
        assert_eq!(
            t10.last(),
            Some(GpuPoint {
                util: 100,
                memory: 25,
                power: 51
            })
        );
        assert_eq!(
            history.pools["training"].values().collect::<Vec<_>>(),
            [60, 100]
        );
        assert_eq!(
            history.pools["serving"].values().collect::<Vec<_>>(),
            [10, 12]
        );
        let traffic = history.traffic("fraud", "v2").expect("traffic");
        assert_eq!(traffic.rps.values().collect::<Vec<_>>(), [100.0, 50.0]);
        assert_eq!(traffic.errors.last(), Some(8.0));
        assert_eq!(traffic.p99_ms.last(), Some(250.0));
    }

    #[test]
    fn keeps_a_bounded_window_and_forgets_gone_gpus() {
        let mut history = History::default();
        for i in 0..(KEEP as i64 + 30) {
            history.record(
                &frame(i * 5, vec![gpu("t1", "0", (i % 100) as f64)], 1.0),
                pool,
            );
        }
        let series = history.gpu("t1", "0").expect("series");
        assert_eq!(series.len(), KEEP);
        assert_eq!(series.values().next().map(|p| p.util), Some(30));
        history.record(&frame(100_000, vec![gpu("t2", "0", 5.0)], 1.0), pool);
        assert!(history.gpu("t1", "0").is_none());
        assert_eq!(history.gpu_count(), 1);
    }

    fn utils(history: &History, node: &str, index: &str) -> Option<Vec<u8>> {
        Some(history.gpu(node, index)?.values().map(|p| p.util).collect())
    }

    #[test]
    fn a_reordered_frame_continues_each_series_and_a_new_gpu_inherits_no_samples() {
        let mut history = History::default();
        history.record(
            &frame(0, vec![gpu("t1", "0", 10.0), gpu("t1", "1", 20.0)], 1.0),
            pool,
        );
        // Another order, t1/1 gone and t2/0 new (in the place t1/1 leaves).
        for (i, util) in [(1, 30.0), (2, 31.0)] {
            history.record(
                &frame(
                    i * 5,
                    vec![gpu("t2", "0", util), gpu("t1", "0", 10.0 + i as f64)],
                    1.0,
                ),
                pool,
            );
        }
        assert_eq!(utils(&history, "t1", "0"), Some(vec![10, 11, 12]));
        assert_eq!(utils(&history, "t2", "0"), Some(vec![30, 31]));
        assert_eq!(utils(&history, "t1", "1"), None);
        // t1/1 back: a series of its own from now.
        history.record(
            &frame(
                15,
                vec![
                    gpu("t1", "0", 13.0),
                    gpu("t1", "1", 21.0),
                    gpu("t2", "0", 32.0),
                ],
                1.0,
            ),
            pool,
        );
        assert_eq!(utils(&history, "t1", "1"), Some(vec![21]));
        assert_eq!(utils(&history, "t2", "0"), Some(vec![30, 31, 32]));
        assert_eq!(history.gpu_count(), 3);
        assert_eq!(
            history.pools["training"].values().collect::<Vec<_>>(),
            [15, 21, 22, 22]
        );
    }

    #[test]
    fn a_gpu_that_joins_a_full_window_has_only_its_own_samples() {
        let mut history = History::default();
        for i in 0..(KEEP as i64 + 10) {
            let mut gpus = vec![gpu("t1", "0", (i % 100) as f64)];
            if i >= KEEP as i64 + 5 {
                gpus.push(gpu("t1", "1", 50.0));
            }
            history.record(&frame(i * 5, gpus, 1.0), pool);
        }
        assert_eq!(history.gpu("t1", "0").map(|s| s.len()), Some(KEEP));
        assert_eq!(utils(&history, "t1", "1"), Some(vec![50; 5]));
        assert_eq!(
            history
                .gpu("t1", "1")
                .and_then(|s| s.last())
                .map(|p| p.util),
            Some(50)
        );
    }

    #[test]
    fn spark_scales_to_the_max_and_shows_the_newest() {
        let values = [0.0, 50.0, 100.0, 25.0];
        assert_eq!(spark(values.iter().copied(), 3, Some(100.0)), "▅█▃");
        // Own range: floor 0 (the margin stops at zero), top 100.
        assert_eq!(spark(values.iter().copied(), 10, None), "▁▅█▃");
        // 100..120: floor 95.
        assert_eq!(spark([100.0, 110.0, 120.0].into_iter(), 3, None), "▂▅█");
        assert_eq!(spark(std::iter::empty(), 5, None), "");
        assert_eq!(spark([0.0, 0.0].into_iter(), 5, None), "▁▁");
        assert_eq!(spark([3.0, 3.0].into_iter(), 5, None), "▅▅");
    }
}
