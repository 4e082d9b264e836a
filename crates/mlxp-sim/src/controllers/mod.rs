//! The embedded cluster's controllers, on the simulated clock. Each is a function of the
//! stored state and the time (reconcile, as in kube-rs controller-rs) that writes back
//! through the server's own API, so every change is a watch event like any other.
//!
//! A controller is a pair: `job` decides (a pure function of the objects and the time) and
//! `job_io` reads what changed and carries out what `job` decided; so are `deployment`,
//! `hpa`, `cronjob` (with `cron`, its schedules), `kueue` and `scheduling`. `kubelet`,
//! `nodepools` and `gateway` are small enough to be one file each.

mod commands;
pub mod cron;
pub mod cronjob;
pub mod cronjob_io;
pub mod deployment;
pub mod deployment_io;
pub mod gateway;
pub mod hpa;
pub mod hpa_io;
pub mod job;
pub mod job_io;
pub mod kubelet;
pub mod kueue;
pub mod kueue_io;
mod mirror;
mod namespaces;
pub mod nodepools;
mod podgc;
mod queue;
pub mod scheduling;
pub mod scheduling_io;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::api::ApiState;

/// How often, in real time, the controllers' loop looks for due steps.
const TICK: Duration = Duration::from_millis(200);

/// The simulated step a running clock takes: the controllers settle after each one, exactly
/// as after `Sim::advance(STEP)`, so a run's history is a function of the seed and the
/// simulated time, whatever the speed and however late the loop wakes.
pub const STEP: chrono::Duration = chrono::Duration::seconds(1);

/// Most passes one `settle` makes: a pod goes bound → creating → running in a few.
const MAX_PASSES: usize = 8;

pub use mlxp_core::duration::go_duration;

/// Whether `object`'s controller ownerReference names another owner than `owner_uid`
/// (false when either is unknown): such objects belong to someone else.
pub fn controlled_by_another(object: &serde_json::Value, owner_uid: Option<&str>) -> bool {
    let controller = object["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|refs| {
            refs.iter()
                .find(|r| r["controller"].as_bool() == Some(true))
        })
        .and_then(|r| r["uid"].as_str());
    matches!((owner_uid, controller), (Some(mine), Some(theirs)) if mine != theirs)
}

/// Every controller with its work queue.
pub struct Controllers {
    kueue: kueue_io::KueueController,
    cronjobs: cronjob_io::CronJobController,
    jobs: job_io::JobController,
    deployments: deployment_io::DeploymentController,
    gateway: gateway::GatewayController,
    autoscaler: hpa_io::Autoscaler,
    node_pools: nodepools::NodePools,
    pod_gc: podgc::PodGc,
    scheduler: scheduling_io::Scheduler,
    kubelet: kubelet::Kubelet,
}

impl Controllers {
    pub fn new(state: &ApiState) -> Self {
        Controllers {
            kueue: kueue_io::KueueController::new(state),
            cronjobs: cronjob_io::CronJobController::new(state),
            jobs: job_io::JobController::new(state),
            deployments: deployment_io::DeploymentController::new(state),
            gateway: gateway::GatewayController::new(state),
            autoscaler: hpa_io::Autoscaler::default(),
            node_pools: nodepools::NodePools::new(state),
            pod_gc: podgc::PodGc::default(),
            scheduler: scheduling_io::Scheduler::new(state),
            kubelet: kubelet::Kubelet::new(state),
        }
    }

    /// One pass of every controller at the clock's current time; how many objects changed.
    pub fn reconcile(&mut self, state: &ApiState) -> usize {
        let now = state.clock.now();
        state
            .traffic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .advance(state, now);
        // Kueue first: a queued Job is suspended before the Job controller makes its pods.
        self.kueue.reconcile(state, now)
            + self.cronjobs.reconcile(state, now)
            + self.jobs.reconcile(state, now)
            + self.autoscaler.reconcile(state, now)
            + self.deployments.reconcile(state, now)
            + self.gateway.reconcile(state, now)
            + self.scheduler.reconcile(state, now)
            + self.node_pools.reconcile(state, now)
            + self.pod_gc.reconcile(state)
            + self.kubelet.reconcile(state, now)
            + namespaces::reconcile(state)
    }

    /// Runs passes until nothing changes (bounded): what tests call after moving the clock.
    pub fn settle(&mut self, state: &ApiState) {
        for _ in 0..MAX_PASSES {
            if self.reconcile(state) == 0 {
                return;
            }
        }
    }
}

/// The controllers' loop for a clock that runs by itself; ends with the server. It takes
/// every step that fell due, in order: if the controllers cannot keep up with the speed,
/// simulated time falls behind real time rather than skipping steps.
pub async fn run(state: Arc<ApiState>, controllers: Arc<Mutex<Controllers>>) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = state.shutdown.cancelled() => return,
        }
        let (pass_state, pass_controllers) = (state.clone(), controllers.clone());
        // Controllers do blocking work (JSON, the store's lock): keep it off the I/O threads.
        let steps = tokio::task::spawn_blocking(move || {
            let mut controllers = pass_controllers.lock().unwrap_or_else(|e| e.into_inner());
            while !pass_state.shutdown.is_cancelled() && pass_state.clock.step_if_due(STEP) {
                controllers.settle(&pass_state);
            }
        });
        if steps.await.is_err() {
            tracing::error!("a controller pass panicked; continuing with the next one");
        }
    }
}
