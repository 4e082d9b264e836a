//! The detail pane: what the selected row's object is, beyond its columns — a node's GPUs
//! and pods, a GPU's history, a Job's pods and results, a version's model and siblings.
//! Built in `update()` when the selection or the data changes, as text with style slots
//! and charts, so rendering only lays it out.

use crate::tui::history::auto_range;
use crate::tui::theme::Slot;

/// One line: pieces of text, each with its colour.
pub type DetailLine = Vec<(Slot, String)>;

/// A chart's values run from 0 to this (sparklines hold whole numbers).
pub const CHART_TOP: u64 = 1000;

/// A short history drawn as a sparkline, its values scaled to 0..=`CHART_TOP`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// What it shows and its current value ("util 83%").
    pub title: String,
    pub values: Vec<u64>,
    pub slot: Slot,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detail {
    pub title: String,
    pub lines: Vec<DetailLine>,
    pub charts: Vec<Chart>,
}

/// Lines being written, with the few shapes every detail uses (a view's file may use them
/// too).
#[derive(Default)]
pub(super) struct Lines(Vec<DetailLine>);

/// Width of a field's name column.
const NAME: usize = 12;

impl Lines {
    /// "name       value".
    pub(super) fn field(&mut self, name: &str, value: impl Into<String>) {
        self.field_in(name, value, Slot::Text);
    }

    pub(super) fn field_in(&mut self, name: &str, value: impl Into<String>, slot: Slot) {
        self.0.push(vec![
            (Slot::Muted, format!("{name:<NAME$}")),
            (slot, value.into()),
        ]);
    }

    pub(super) fn heading(&mut self, text: impl Into<String>) {
        self.0.push(vec![(Slot::Title, text.into())]);
    }

    pub(super) fn line(&mut self, line: DetailLine) {
        self.0.push(line);
    }

    pub(super) fn text(&mut self, slot: Slot, text: impl Into<String>) {
        self.0.push(vec![(slot, text.into())]);
    }

    /// Up to `limit` lines of `items`, then how many were left out.
    pub(super) fn list<T>(&mut self, items: &[T], limit: usize, line: impl Fn(&T) -> DetailLine) {
        for item in items.iter().take(limit) {
            self.0.push(line(item));
        }
        if items.len() > limit {
            self.text(Slot::Muted, format!("  … {} more", items.len() - limit));
        }
    }

    pub(super) fn done(self, title: String, charts: Vec<Chart>) -> Option<Detail> {
        Some(Detail {
            title,
            lines: self.0,
            charts,
        })
    }
}

/// "namespace/name" split in two.
pub(super) fn split_key(key: &str) -> Option<(&str, &str)> {
    key.split_once('/')
}

pub(super) fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".into(), |v| v.to_string())
}

/// A chart of `values`: from zero to `max`, or without one over the values' own range
/// (`auto_range`).
pub(super) fn chart<T: Copy + Into<f64>>(
    title: String,
    values: impl Iterator<Item = T>,
    max: Option<u64>,
    slot: Slot,
) -> Chart {
    let values: Vec<f64> = values.map(|v| v.into().max(0.0)).collect();
    let (floor, top) = match max {
        Some(max) => (0.0, max as f64),
        None => auto_range(&values),
    };
    let scale = CHART_TOP as f64 / (top - floor).max(f64::EPSILON);
    Chart {
        title,
        values: values
            .iter()
            .map(|v| ((v - floor).max(0.0) * scale).round() as u64)
            .collect(),
        slot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_without_a_scale_spans_its_own_range() {
        let c = chart(
            "rps".into(),
            [100.0, 110.0, 120.0].into_iter(),
            None,
            Slot::Stable,
        );
        // Floor 95: 100 → 5/25, 120 → the top.
        assert_eq!(c.values, [200, 600, 1000]);
        let flat = chart("err".into(), [0.3f32, 0.3].into_iter(), None, Slot::Alert);
        assert_eq!(flat.values, [500, 500]);
        let fixed = chart(
            "util".into(),
            [0u8, 50, 100].into_iter(),
            Some(100),
            Slot::GpuHot,
        );
        assert_eq!(fixed.values, [0, 500, 1000]);
    }
}
