//! The agent: every interval, the core's policies decide on the cluster as the watches
//! show it and the numbers as the metrics source gives them; each op goes through the
//! same executor as the cockpit's and the CLI's (RBAC, dry-run, Event, audit line). Every
//! decision is one JSON line (tracing, target `mlxp::agent`).

pub mod alerts;
pub mod http;
pub mod lease;
pub mod start;
pub mod telemetry;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::cluster::Snapshot;
use crate::exec::{Clock, Executor, Mode};
use mlxp_core::agent::{Decision, IdleSince, Inputs, Numbers, Policy, QualityWindow, decide};
use mlxp_core::domain::cost::PriceTable;
use mlxp_core::metrics::{MetricsFrame, MetricsSource};
use telemetry::Telemetry;

/// How long a metrics frame may take before the numbers count as unavailable.
const FRAME_PATIENCE: Duration = Duration::from_secs(10);
/// How long the agent waits, after changing the cluster, for its watches to show it.
const SEEN_PATIENCE: Duration = Duration::from_secs(10);
/// An alert that holds is said again (logged at info, a new Event) this often; in between
/// it is logged at debug. One that clears and comes back is said at once.
const REANNOUNCE: chrono::TimeDelta = chrono::TimeDelta::minutes(30);

/// A decision and what came of its op.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    #[serde(flatten)]
    pub decision: Decision,
    /// None: no op; Ok: what it did (or would do, dry-run); Err: why it did not.
    pub result: Option<Result<String, String>>,
    pub dry_run: bool,
}

pub struct Agent {
    executor: Executor,
    metrics: Arc<dyn MetricsSource>,
    pub policy: Policy,
    dry_run: bool,
    clock: Clock,
    window: QualityWindow,
    idle: IdleSince,
    prices: PriceTable,
    /// Whether this agent holds the lease (None: no election, it always acts).
    leading: Option<watch::Receiver<bool>>,
    telemetry: Arc<Telemetry>,
    alerts: Option<Alerts>,
    /// When each alert that holds was last said: (policy, subject) → time on its clock.
    announced: HashMap<(&'static str, String), DateTime<Utc>>,
}

/// Where alerts go, and which have gone.
struct Alerts {
    config: alerts::AlertConfig,
    gate: alerts::Gate,
    out: tokio::sync::mpsc::Sender<Record>,
}

impl Agent {
    pub fn new(
        executor: Executor,
        metrics: Arc<dyn MetricsSource>,
        policy: Policy,
        dry_run: bool,
        clock: Clock,
    ) -> Agent {
        Agent {
            executor: executor.with_clock(clock.clone()).for_agent(),
            metrics,
            policy,
            dry_run,
            clock,
            window: QualityWindow::default(),
            idle: IdleSince::default(),
            prices: PriceTable::defaults(),
            leading: None,
            telemetry: Arc::default(),
            alerts: None,
            announced: HashMap::new(),
        }
    }

    /// Sends alerting decisions to the config's webhooks (none: nowhere). Call it after
    /// `with_telemetry`: the deliveries are counted there.
    pub fn with_alerts(mut self, config: alerts::AlertConfig) -> Agent {
        if !config.webhooks.is_empty() {
            let out = alerts::deliver(config.clone(), self.telemetry.clone());
            self.alerts = Some(Alerts {
                config,
                gate: alerts::Gate::default(),
                out,
            });
        }
        self
    }

    /// Counts what it does into `telemetry` (what `/metrics` serves).
    pub fn with_telemetry(mut self, telemetry: Arc<Telemetry>) -> Agent {
        self.telemetry = telemetry;
        self
    }

    /// Prices idle GPUs with `prices` (the `[cost]` table) instead of the built-in ones.
    pub fn with_prices(mut self, prices: PriceTable) -> Agent {
        self.prices = prices;
        self
    }

    /// Acts only while `leading` says this agent holds the lease.
    pub fn with_lease(mut self, leading: watch::Receiver<bool>) -> Agent {
        self.leading = Some(leading);
        self
    }

    pub fn leads(&self) -> bool {
        self.leading.as_ref().is_none_or(|l| *l.borrow())
    }

    /// One evaluation: decide on `snapshot` and the numbers now, run the ops. An agent that
    /// does not lead decides nothing; one that loses the lease midway sends nothing more.
    pub async fn evaluate(&mut self, snapshot: &Snapshot) -> Vec<Record> {
        let started = std::time::Instant::now();
        let records = self.decide_and_act(snapshot).await;
        let now = (self.clock)();
        let at = now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
        self.telemetry.set_leader(self.leads());
        self.telemetry.evaluated(&records, started.elapsed(), at);
        if let Some(alerts) = &mut self.alerts {
            let mut dropped = 0;
            let due = alerts.gate.pass(
                &records,
                &alerts.config,
                std::time::Instant::now(),
                &mut dropped,
            );
            for record in due {
                if alerts.out.try_send(record.clone()).is_err() {
                    dropped += 1;
                }
            }
            self.telemetry.webhooks_dropped(dropped);
        }
        records
    }

    async fn decide_and_act(&mut self, snapshot: &Snapshot) -> Vec<Record> {
        let frame: Result<MetricsFrame, String> =
            match tokio::time::timeout(FRAME_PATIENCE, self.metrics.frame()).await {
                Ok(Ok(frame)) => Ok(frame),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "the metrics source did not answer in {} s",
                    FRAME_PATIENCE.as_secs()
                )),
            };
        let now = (self.clock)();
        // A follower keeps the window too: taking over, it need not wait one out.
        if let Ok(frame) = &frame {
            self.window.push(frame, self.policy.drift_window);
            self.idle.observe(frame);
        }
        if !self.leads() {
            return Vec::new();
        }
        let sustained = match &frame {
            Ok(_) => self.window.sustained(now, self.policy.drift_window),
            Err(why) => Err(why.clone()),
        };
        let decisions = decide(&Inputs {
            snapshot,
            numbers: Numbers {
                frame: frame.as_ref().map_err(Clone::clone),
                sustained: sustained.as_ref().map_err(Clone::clone),
            },
            now,
            policy: &self.policy,
            prices: &self.prices,
            idle_since: &self.idle,
        });
        let mode = if self.dry_run {
            Mode::DryRun
        } else {
            Mode::Apply
        };
        let mut records = Vec::with_capacity(decisions.len());
        let mut announced = HashMap::new();
        for decision in decisions {
            let said = self
                .alert_said(&decision, snapshot, now, &mut announced)
                .await;
            let result = match &decision.op {
                None => None,
                Some(_) if !self.leads() => {
                    Some(Err("not done: this agent no longer holds the lease".into()))
                }
                Some(op) => Some(
                    self.executor
                        .run(op, snapshot, mode)
                        .await
                        .map(|done| done.effect)
                        .map_err(|e| e.to_string()),
                ),
            };
            let record = Record {
                decision,
                result,
                dry_run: self.dry_run,
            };
            log(&record, said);
            records.push(record);
        }
        self.announced = announced;
        records
    }

    /// Whether an alert with no op is to be said now (new, or not said for REANNOUNCE), and
    /// if so its Warning Event on its object (not in a dry run: that changes nothing). What
    /// was said is kept in `announced` for the next evaluation; an alert gone is forgotten.
    async fn alert_said(
        &self,
        decision: &Decision,
        snapshot: &Snapshot,
        now: DateTime<Utc>,
        announced: &mut HashMap<(&'static str, String), DateTime<Utc>>,
    ) -> bool {
        if !decision.alert || decision.op.is_some() {
            return false;
        }
        let key = (decision.policy, decision.subject.clone());
        let last = self.announced.get(&key).copied();
        let due = last.is_none_or(|at| now - at >= REANNOUNCE);
        announced.insert(key, if due { now } else { last.unwrap_or(now) });
        if !due || self.dry_run {
            return due;
        }
        if let Some(target) = &decision.object {
            let uid = snapshot
                .meta_of(
                    target.kind,
                    target.namespace.as_deref().unwrap_or(""),
                    &target.name,
                )
                .map(|m| m.uid.clone())
                .unwrap_or_default();
            let message = format!("{} (mlxp agent)", decision.reason);
            if let Err(e) = self
                .executor
                .warn(target, &uid, decision.event_reason(), &message)
                .await
            {
                tracing::warn!(target: "mlxp::agent", "the Event of an alert on {target} was not written: {e}");
            }
        }
        true
    }
}

/// One JSON line per decision, its fields at the top: those that act, and alerts when
/// they are said (`said`), at info; the waiting, and alerts said lately, at debug.
fn log(record: &Record, said: bool) {
    let d = &record.decision;
    let op =
        d.op.as_ref()
            .map(|op| serde_json::to_string(op).unwrap_or_default());
    let figures = serde_json::to_string(&d.figures).unwrap_or_default();
    let result = match &record.result {
        None => None,
        Some(Ok(effect)) if record.dry_run => Some(format!("dry-run: {effect}")),
        Some(Ok(effect)) => Some(format!("done: {effect}")),
        Some(Err(e)) => Some(format!("failed: {e}")),
    };
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "mlxp::agent",
                policy = d.policy,
                subject = %d.subject,
                reason = %d.reason,
                figures = %figures,
                op = op.as_deref(),
                result = result.as_deref(),
                alert = d.alert,
                dry_run = record.dry_run,
            )
        };
    }
    if d.op.is_some() || said {
        line!(info);
    } else {
        line!(debug);
    }
}

/// Runs the agent on the snapshots the watches publish: every `policy.interval` (once,
/// with `once`) from the first complete one, until `stop` says so.
pub async fn run(
    mut agent: Agent,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    once: bool,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    loop {
        let snapshot = snapshots.borrow_and_update().clone();
        if snapshot.complete() {
            break;
        }
        tokio::select! {
            changed = snapshots.changed() => changed?,
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    }
    loop {
        let snapshot = snapshots.borrow_and_update().clone();
        let records = agent.evaluate(&snapshot).await;
        if once {
            return Ok(());
        }
        // What was changed is decided on once the watches show it, not on the state
        // before it (a bounded wait: a change may be invisible to the watches).
        if records.iter().any(|r| matches!(r.result, Some(Ok(_)))) && !agent.dry_run {
            let _ = tokio::time::timeout(SEEN_PATIENCE, snapshots.changed()).await;
        }
        tokio::select! {
            () = tokio::time::sleep(agent.policy.interval) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    }
}
