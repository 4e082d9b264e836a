//! Training & Queue: Jobs with their model, queue, state, GPUs, how long they waited and ran,
//! when they last changed, and the metrics their pod reported; queued ones in Kueue's
//! admission order first.

use std::collections::BTreeMap;

use super::detail::{Detail, Lines, split_key};
use super::{Body, Inputs, RowObject, TableDef, ViewDef, age};
use crate::cluster::KindName;
use crate::tui::table::{Column, Row, Table};
use crate::tui::theme::Slot;
use mlxp_core::domain::quantity::format_bytes;
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
        detail,
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
                    .and_then(|p| p.unschedulable.as_deref())
                    .unwrap_or_default()
                    .to_string(),
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
                    job.meta.namespace.to_string(),
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
                labels: job.meta.labels.clone(),
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

const PODS_SHOWN: usize = 12;

pub fn detail(inputs: &Inputs, key: &str) -> Option<Detail> {
    let (namespace, name) = split_key(key)?;
    let snapshot = inputs.snapshot;
    let job = snapshot.jobs.get(namespace, name)?;
    let state = job_state(job);
    let mut lines = Lines::default();
    lines.field_in("state", state.label(), state_slot(state));
    lines.field("model", job.meta.label("mlxp.io/model").unwrap_or("-"));
    let workload = snapshot.workloads.values().find(|w| {
        w.meta.namespace == namespace && w.meta.controller().is_some_and(|o| o.name == name)
    });
    let queue = job.queue().unwrap_or("-").to_string();
    match workload {
        Some(wl) if wl.pending() => {
            let order = admission_order(snapshot.workloads.values().map(|w| w.as_ref()));
            let position = order.iter().position(|w| w.meta.name == wl.meta.name);
            lines.field_in(
                "queue",
                format!(
                    "{queue} · #{} of {} waiting · {}",
                    position.map_or(0, |p| p + 1),
                    order.len(),
                    wl.pending_reason().unwrap_or("waiting for quota")
                ),
                Slot::StatusPending,
            );
        }
        Some(wl) => lines.field(
            "queue",
            format!(
                "{queue} · admitted to {} (flavor {})",
                wl.cluster_queue.as_deref().unwrap_or("?"),
                wl.gpu_flavor.as_deref().unwrap_or("-")
            ),
        ),
        None => lines.field("queue", queue),
    }
    let per_pod = &job.pod_requests;
    lines.field(
        "asks",
        format!(
            "{} pod(s) × {} GPU · {} cpu · {} memory{}",
            job.parallelism,
            per_pod.gpus,
            per_pod.cpu_milli as f64 / 1000.0,
            format_bytes(per_pod.memory),
            job.pool
                .as_deref()
                .map(|p| format!(" · pool {p}"))
                .unwrap_or_default()
        ),
    );
    lines.field(
        "pods",
        format!(
            "{} active · {} succeeded · {} failed (of {} completions)",
            job.active, job.succeeded, job.failed, job.completions
        ),
    );
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| match t {
        Some(t) => format!(
            "{} ({} ago)",
            t.format("%H:%M:%S"),
            age(Some(t), inputs.now)
        ),
        None => "-".into(),
    };
    lines.field("created", when(job.meta.creation_timestamp));
    lines.field("started", when(job.start_time));
    lines.field("finished", when(job.completion_time));
    if let Some(c) = job
        .conditions
        .iter()
        .find(|c| c.status == "True" && c.kind == "Failed")
    {
        lines.field_in(
            "failed",
            format!(
                "{}: {}",
                c.reason.as_deref().unwrap_or("-"),
                c.message.as_deref().unwrap_or("")
            ),
            Slot::StatusFailed,
        );
    }

    let pods: Vec<_> = snapshot.pods_of_job(namespace, name).collect();
    if let Some(end) = pods.iter().rev().find_map(|p| p.ended.as_ref()) {
        results(&mut lines, &end.message, state);
    }
    let using: Vec<f64> = inputs
        .metrics
        .iter()
        .flat_map(|m| &m.gpus)
        .filter(|g| {
            g.pod.as_ref().is_some_and(|p| {
                p.namespace == namespace && pods.iter().any(|q| q.meta.name == p.name)
            })
        })
        .map(|g| g.util)
        .collect();
    if !using.is_empty() {
        let mean = using.iter().sum::<f64>() / using.len() as f64;
        lines.field_in(
            "GPUs now",
            format!("{} in use, mean utilisation {mean:.0}%", using.len()),
            Slot::gpu(mean),
        );
    }
    lines.heading(format!("Pods ({})", pods.len()));
    lines.list(&pods, PODS_SHOWN, |p| {
        let status = p
            .unschedulable
            .as_ref()
            .map(|why| format!("Pending: {why}"))
            .or_else(|| p.waiting.as_deref().map(str::to_string))
            .unwrap_or_else(|| p.phase.to_string());
        vec![
            (Slot::Text, format!(" {}", p.meta.name)),
            (
                Slot::Muted,
                format!("  {}", if p.node.is_empty() { "-" } else { &p.node }),
            ),
            (Slot::Text, format!("  {status}")),
        ]
    });
    lines.done(format!("job {key}"), Vec::new())
}

/// The final metrics a training pod writes as JSON in its termination message, one per
/// line; anything else is shown as the text it is.
fn results(lines: &mut Lines, message: &str, state: JobState) {
    let slot = if state == JobState::Failed {
        Slot::StatusFailed
    } else {
        Slot::StatusOk
    };
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(message) {
        Ok(metrics) if !metrics.is_empty() => {
            lines.heading("Results (termination message)");
            for (name, value) in metrics {
                let value = match value.as_f64() {
                    Some(x) if x.fract() != 0.0 => format!("{x:.4}"),
                    _ => value.to_string(),
                };
                lines.field_in(&format!(" {name}"), value, slot);
            }
        }
        _ if !message.trim().is_empty() => lines.field_in("message", message.trim(), slot),
        _ => {}
    }
}
