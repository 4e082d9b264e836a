//! The agent's policies: what the automation does next, as a pure function of the cluster
//! (a Snapshot), the numbers (a MetricsFrame and the drift of the last window) and the time.
//! Each decision carries its reason and the figures behind it; the agent runs its op
//! through the same executor as the cockpit and the CLI.
//!
//! State lives in the cluster — stages, annotations (`mlxp.io/step-since`,
//! `mlxp.io/analysis-failures`), the route's weights, the Model's status — so a restarted
//! agent decides from where things are, never repeating or skipping a step.

mod canary;
mod cost;
mod drift;
mod leader;
mod pipeline;
#[cfg(test)]
mod tests;
mod window;

pub use cost::IdleSince;
pub use leader::{AgentLine, LeaseRecord, LeaseSeen, leader_line};
pub use window::QualityWindow;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::cost::PriceTable;
use crate::metrics::MetricsFrame;
use crate::ops::{Op, Target};
use crate::snapshot::Snapshot;

/// How the policies judge; the agent's config file sets these.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// How often the agent evaluates.
    pub interval: Duration,
    /// Metrics older than this are not judged on.
    pub metrics_max_age: Duration,
    /// Failed canary analyses in a row that roll a canary back.
    pub canary_failures: u32,
    /// Below this many requests/s a canary is not judged: too few to tell.
    pub canary_min_rps: f64,
    /// Drift (or accuracy) must hold over this window to retrain.
    pub drift_window: Duration,
    /// GPUs a pod holds idle this long are an alert.
    pub idle_for: Duration,
    /// And its Job is suspended.
    pub suspend_idle: bool,
    /// A ClusterQueue flavor using this share of its GPU quota is an alert.
    pub quota_share: f64,
    /// Hours (UTC, [start, end), may wrap midnight) training runs; outside them empty
    /// training nodes are drained. None: always.
    pub training_hours: Option<(u32, u32)>,
    /// Pools whose name starts so are training pools (the others are never touched).
    pub training_pool_prefix: String,
    /// ClusterQueues (experiments) held during `hold_hours` — Kueue `stopPolicy: Hold`,
    /// what runs keeps running — and released outside them.
    pub hold_queues: Vec<String>,
    /// Hours (UTC, [start, end), may wrap midnight) the listed queues are held.
    pub hold_hours: Option<(u32, u32)>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            interval: Duration::from_secs(30),
            metrics_max_age: Duration::from_secs(120),
            canary_failures: 2,
            canary_min_rps: 0.5,
            drift_window: Duration::from_secs(600),
            idle_for: Duration::from_secs(1800),
            suspend_idle: false,
            quota_share: 0.9,
            training_hours: None,
            training_pool_prefix: "training".into(),
            hold_queues: Vec::new(),
            hold_hours: None,
        }
    }
}

/// A model's quality over the drift window: the lowest drift and the highest accuracy
/// seen in it (so a threshold crossed by both held the whole window).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sustained {
    pub drift_min: Option<f64>,
    pub accuracy_max: Option<f64>,
}

/// The numbers the policies judge, or why there are none fit to judge.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbers<'a> {
    pub frame: Result<&'a MetricsFrame, String>,
    /// Per (model, version), over the drift window; Err: why the window could not be read.
    pub sustained: Result<&'a BTreeMap<(String, String), Sustained>, String>,
}

pub struct Inputs<'a> {
    pub snapshot: &'a Snapshot,
    pub numbers: Numbers<'a>,
    pub now: DateTime<Utc>,
    pub policy: &'a Policy,
    pub prices: &'a PriceTable,
    /// Since when pods have held their GPUs idle (from the frames the agent read).
    pub idle_since: &'a IdleSince,
}

/// What a policy decided about one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// pipeline, canary, drift.
    pub policy: &'static str,
    /// `serving/fraud-detector v3`.
    pub subject: String,
    /// None: nothing to do now (held, waiting), or an alert.
    pub op: Option<Op>,
    /// Why, in words, with the figures.
    pub reason: String,
    /// The figures behind it, by name.
    pub figures: BTreeMap<&'static str, f64>,
    /// Something a human should hear of (a failed run, a canary held on stale data).
    pub alert: bool,
    /// The object it is about, where an alert's Event goes (None: the cluster as a whole).
    #[serde(skip)]
    pub object: Option<Target>,
}

impl Decision {
    fn new(policy: &'static str, subject: String, reason: String) -> Decision {
        Decision {
            policy,
            subject,
            op: None,
            reason,
            figures: BTreeMap::new(),
            alert: false,
            object: None,
        }
    }

    fn about(mut self, object: Target) -> Decision {
        self.object = Some(object);
        self
    }

    /// The reason of the Event an alert with no op leaves on its object (an op leaves its
    /// own): what kubectl describe and the Events view show.
    pub fn event_reason(&self) -> &'static str {
        match self.policy {
            "canary" => "CanaryHeld",
            "pipeline" => "TrainingFailed",
            "gpu-cost" => "GPUsIdle",
            "quota" => "GPUQuotaNearlyUsed",
            _ => "AgentAlert",
        }
    }

    fn with_op(mut self, op: Op) -> Decision {
        self.op = Some(op);
        self
    }

    fn figure(mut self, name: &'static str, value: f64) -> Decision {
        self.figures.insert(name, value);
        self
    }

    fn alerting(mut self) -> Decision {
        self.alert = true;
        self
    }
}

/// Everything the policies decide now. Nothing is decided on a cluster the agent cannot
/// see whole: one decision says so instead.
pub fn decide(inputs: &Inputs) -> Vec<Decision> {
    let blind = inputs.snapshot.blind_spots();
    if !blind.is_empty() {
        let kinds: Vec<&str> = blind.iter().map(|k| k.label()).collect();
        return vec![
            Decision::new(
                "agent",
                "cluster".into(),
                format!(
                    "held: the cluster is not seen whole ({} not synced or the API server silent)",
                    kinds.join(", ")
                ),
            )
            .alerting(),
        ];
    }
    let mut decisions = pipeline::decide(inputs);
    decisions.extend(canary::decide(inputs));
    decisions.extend(drift::decide(inputs));
    decisions.extend(cost::decide(inputs));
    decisions
}

/// The frame when it is fresh enough to judge on, else why not.
fn fresh_frame<'a>(inputs: &Inputs<'a>) -> Result<&'a MetricsFrame, String> {
    let frame = inputs.numbers.frame.clone()?;
    let age = (inputs.now - frame.at).to_std().unwrap_or_default();
    if age > inputs.policy.metrics_max_age {
        return Err(format!(
            "the metrics are {} s old (at most {} s)",
            age.as_secs(),
            inputs.policy.metrics_max_age.as_secs()
        ));
    }
    Ok(frame)
}
