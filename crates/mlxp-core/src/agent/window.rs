//! The models' quality over the drift window, from the frames the agent has read: a
//! threshold counts as crossed for the window only when every frame in it crossed it, and
//! only once the frames reach back the whole window (a freshly started agent waits).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Sustained;
use crate::metrics::MetricsFrame;

type Key = (String, String);
/// Per (model, version) of one frame: (drift, accuracy).
type Rows = BTreeMap<Key, (Option<f64>, Option<f64>)>;

#[derive(Debug, Clone, Default)]
pub struct QualityWindow {
    /// (when, per (model, version): drift, accuracy), oldest first.
    frames: VecDeque<(DateTime<Utc>, Rows)>,
}

impl QualityWindow {
    /// Keeps `frame`'s quality rows; forgets what is older than `window` before it, but
    /// the newest frame at or before the window's start, which tells what held then.
    pub fn push(&mut self, frame: &MetricsFrame, window: Duration) {
        let rows = frame
            .quality
            .iter()
            .map(|q| ((q.model.clone(), q.version.clone()), (q.drift, q.accuracy)))
            .collect();
        self.frames.push_back((frame.at, rows));
        let start = frame.at - chrono::Duration::from_std(window).unwrap_or_default();
        while self.frames.len() > 1 && self.frames[1].0 <= start {
            self.frames.pop_front();
        }
    }

    /// The lowest drift and highest accuracy of each (model, version) over the window
    /// ending `now`, or how much of the window has been seen when not all of it.
    pub fn sustained(
        &self,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<BTreeMap<Key, Sustained>, String> {
        let start = now - chrono::Duration::from_std(window).unwrap_or_default();
        match self.frames.front() {
            Some((oldest, _)) if *oldest <= start => {}
            Some((oldest, _)) => {
                return Err(format!(
                    "quality seen for {} s of the {} s window",
                    (now - *oldest).num_seconds().max(0),
                    window.as_secs()
                ));
            }
            None => return Err("no quality figures read yet".into()),
        }
        let mut out: BTreeMap<Key, Sustained> = BTreeMap::new();
        let mut seen: BTreeMap<&Key, usize> = BTreeMap::new();
        for (_, rows) in &self.frames {
            for (key, (drift, accuracy)) in rows {
                *seen.entry(key).or_default() += 1;
                let s = out.entry(key.clone()).or_insert(Sustained {
                    drift_min: *drift,
                    accuracy_max: *accuracy,
                });
                s.drift_min = min_of(s.drift_min, *drift);
                s.accuracy_max = max_of(s.accuracy_max, *accuracy);
            }
        }
        // A version missing from a frame was not seen crossing anything then.
        let frames = self.frames.len();
        out.retain(|key, _| seen.get(key) == Some(&frames));
        Ok(out)
    }
}

/// Missing in one frame: the window does not hold it.
fn min_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a?.min(b?))
}

fn max_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a?.max(b?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ModelQuality;

    fn frame(at_seconds: i64, drift: f64) -> MetricsFrame {
        MetricsFrame {
            at: DateTime::from_timestamp(1_800_000_000 + at_seconds, 0).expect("a time"),
            gpus: Vec::new(),
            traffic: Vec::new(),
            quality: vec![ModelQuality {
                model: "m".into(),
                version: "v1".into(),
                accuracy: Some(0.9),
                drift: Some(drift),
            }],
        }
    }

    #[test]
    fn drift_counts_for_the_window_only_once_the_frames_reach_back_all_of_it() {
        let window = Duration::from_secs(600);
        let mut w = QualityWindow::default();
        for (t, drift) in [(0, 0.35), (300, 0.5), (540, 0.4)] {
            w.push(&frame(t, drift), window);
        }
        let at = |t: i64| DateTime::from_timestamp(1_800_000_000 + t, 0).expect("a time");
        assert_eq!(
            w.sustained(at(540), window),
            Err("quality seen for 540 s of the 600 s window".into())
        );
        w.push(&frame(660, 0.45), window);
        let s = w.sustained(at(660), window).expect("the whole window");
        let key = ("m".to_string(), "v1".to_string());
        // The frame at 0 stays: it tells what held from 60 (the window's start) to 300.
        assert_eq!(s[&key].drift_min, Some(0.35));
        w.push(&frame(900, 0.1), window);
        assert_eq!(
            w.sustained(at(900), window).expect("window")[&key].drift_min,
            Some(0.1)
        );
    }
}
