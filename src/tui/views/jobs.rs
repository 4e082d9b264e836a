//! Training & Queue: Jobs with their model, queue, state, GPUs, how long they waited and ran,
//! when they last changed, and the metrics their pod reported; queued ones in Kueue's
//! admission order first.

use std::collections::BTreeMap;

use super::{Body, Inputs, RowObject, TableDef, ViewDef, detail};
use crate::cluster::KindName;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::training::{JobState, admission_order, job_state, last_change};

pub fn state_slot(state: JobState) -> Slot {
    match state {
        JobState::Queued | JobState::Pending => Slot::StatusPending,
        JobState::Running => Slot::StatusRunning,
        JobState::Succeeded => Slot::StatusOk,
        JobState::Failed => Slot::StatusFailed,
    }
}

/// Where a state's Jobs come in the table.
fn order_rank(state: JobState) -> u8 {
    match state {
        JobState::Queued => 0,
        JobState::Running => 1,
        JobState::Pending => 2,
        JobState::Failed => 3,
        JobState::Succeeded => 4,
    }
}

pub const VIEW: ViewDef = ViewDef {
    title: "Training & Queue",
    commands: &["jobs", "job", "queues", "queue", "training"],
    key_help: "Training jobs",
    body: Body::Table(TableDef {
        rows: table,
        detail: detail::jobs::detail,
        object: Some(RowObject::Namespaced(KindName::Jobs)),
        reverse_sort_column: None,
        queues_above: true,
    }),
};

pub fn table(inputs: &Inputs) -> Table {
    let snapshot = inputs.snapshot;
    // Queue position and pending reason of each queued Job, by its Workload's owner.
    let order = admission_order(snapshot.workloads.values().map(|w| w.as_ref()));
    let mut queued: BTreeMap<(&str, &str), (usize, Option<&str>)> = BTreeMap::new();
    for (position, wl) in order.iter().enumerate() {
        if let Some(owner) = wl.meta.controller() {
            queued.insert(
                (wl.meta.namespace.as_str(), owner.name.as_str()),
                (position + 1, wl.pending_reason()),
            );
        }
    }
    let mut rows = snapshot
        .jobs
        .values()
        .filter(|j| inputs.in_namespace(&j.meta.namespace))
        .map(|job| {
            let key = (job.meta.namespace.as_str(), job.meta.name.as_str());
            let state = job_state(job);
            let gpus = job.pod_requests.gpus * i64::from(job.parallelism);
            let queue_position = queued.get(&key).map(|(p, _)| *p);
            let position = queue_position.map(|p| format!("#{p}"));
            // Its last pod: the final metrics (termination message) or why it is stuck.
            let pod = snapshot
                .pods_of_job(&job.meta.namespace, &job.meta.name)
                .last();
            let note = match state {
                JobState::Queued => queued
                    .get(&key)
                    .and_then(|(_, r)| *r)
                    .unwrap_or("")
                    .to_string(),
                JobState::Pending => pod
                    .and_then(|p| p.unschedulable.clone())
                    .unwrap_or_default(),
                _ => pod
                    .and_then(|p| p.ended.as_ref())
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
            };
            let waited = match (job.meta.creation_timestamp, job.start_time) {
                (Some(created), Some(started)) => super::age(Some(created), started),
                (created, None) => super::age(created, inputs.now),
                _ => "-".into(),
            };
            let ran = match job.start_time {
                Some(started) => {
                    super::age(Some(started), job.completion_time.unwrap_or(inputs.now))
                }
                None => "-".into(),
            };
            let row = Row {
                key: format!("{}/{}", job.meta.namespace, job.meta.name),
                cells: vec![
                    job.meta.namespace.clone(),
                    job.meta.name.clone(),
                    job.meta.label("mlxp.io/model").unwrap_or("-").to_string(),
                    job.queue().unwrap_or("-").to_string(),
                    match position {
                        Some(p) => format!("{} {p}", state.label()),
                        None => state.label().to_string(),
                    },
                    gpus.to_string(),
                    job.pool.clone().unwrap_or_else(|| "-".into()),
                    waited,
                    ran,
                    super::age(last_change(job), inputs.now),
                    note,
                ],
                slot: Some(state_slot(state)),
                labels: job
                    .meta
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            };
            (order_rank(state), queue_position.unwrap_or(0), row)
        })
        .collect::<Vec<_>>();
    // Queued first in admission order, then running, pending, then finished ones.
    rows.sort_by(|(ra, pa, a), (rb, pb, b)| (ra, pa, &a.key).cmp(&(rb, pb, &b.key)));
    let rows = rows.into_iter().map(|(_, _, row)| row).collect();
    Table::new(
        vec![
            Column::text("NAMESPACE").drops(4),
            Column::text("JOB").keeps(),
            Column::text("MODEL").drops(1),
            Column::text("QUEUE").drops(3),
            Column::text("STATE").keeps(),
            Column::number("GPUS"),
            Column::text("POOL").drops(2),
            Column::number("WAITED"),
            Column::number("RAN"),
            Column::number("CHANGED"),
            Column::text("RESULT / REASON"),
        ],
        rows,
    )
}
