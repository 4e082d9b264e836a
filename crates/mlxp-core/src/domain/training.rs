//! Training runs: the state a Job is in as an SRE reads it, and the queue's admission order.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};

use super::objects::{Job, Workload, last_transition};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobState {
    /// Held by Kueue: suspended, waiting for quota.
    Queued,
    /// Admitted (or not queued), its pods not all running yet.
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn label(self) -> &'static str {
        match self {
            JobState::Queued => "Queued",
            JobState::Pending => "Pending",
            JobState::Running => "Running",
            JobState::Succeeded => "Succeeded",
            JobState::Failed => "Failed",
        }
    }
}

pub fn job_state(job: &Job) -> JobState {
    if job.complete() {
        JobState::Succeeded
    } else if job.failed_for_good() {
        JobState::Failed
    } else if job.suspend {
        JobState::Queued
    } else if job.active > 0 && job.start_time.is_some() {
        JobState::Running
    } else {
        JobState::Pending
    }
}

/// When the Job last changed, as the cluster records it: the newest of its conditions'
/// transitions (Complete, Failed, Suspended …), its completion and its start; else its
/// creation.
pub fn last_change(job: &Job) -> Option<DateTime<Utc>> {
    [
        last_transition(&job.conditions),
        job.completion_time,
        job.start_time,
        job.meta.creation_timestamp,
    ]
    .into_iter()
    .flatten()
    .max()
}

/// The Workloads waiting in a queue, in the order Kueue tries them: higher priority first,
/// then older, then by name.
pub fn admission_order<'a>(workloads: impl IntoIterator<Item = &'a Workload>) -> Vec<&'a Workload> {
    let mut pending: Vec<&Workload> = workloads.into_iter().filter(|w| w.pending()).collect();
    pending.sort_by_key(|w| {
        (
            Reverse(w.priority),
            w.meta.creation_timestamp,
            w.meta.namespace.clone(),
            w.meta.name.clone(),
        )
    });
    pending
}
