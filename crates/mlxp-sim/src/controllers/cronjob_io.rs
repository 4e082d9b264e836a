//! The CronJob controller's I/O: which CronJobs to reconcile, and carrying out what
//! `cronjob::reconcile` decides (Jobs created with the CronJob as controller owner, Jobs
//! deleted with their pods, status written), waking up at each CronJob's next schedule time.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::cronjob::{self, CronJobAction};
use super::queue::{Work, WorkQueue};
use crate::api::ApiState;
use crate::resources::StoreKey;

pub struct CronJobController {
    queue: WorkQueue,
}

fn key(group: &str, plural: &str) -> StoreKey {
    StoreKey {
        group: group.into(),
        plural: plural.into(),
    }
}

impl CronJobController {
    pub fn new(state: &ApiState) -> Self {
        CronJobController {
            queue: WorkQueue::new(
                &state.store,
                vec![key("batch", "cronjobs"), key("batch", "jobs")],
            ),
        }
    }

    /// One pass over the CronJobs that changed, whose Jobs changed, or that are due.
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        let cronjobs: Vec<Value> = match self.queue.take(now) {
            Work::All => state.list_objects("batch", "cronjobs").collect(),
            Work::Some(refs) => {
                let mut names: Vec<(String, String)> = refs
                    .into_iter()
                    .filter_map(|(kind, ns, name)| match kind.plural.as_str() {
                        "cronjobs" => Some((ns, name)),
                        _ => owner_name(state, &ns, &name).map(|owner| (ns, owner)),
                    })
                    .collect();
                names.sort();
                names.dedup();
                names
                    .iter()
                    .filter_map(|(ns, name)| state.get_object("batch", "cronjobs", ns, name))
                    .collect()
            }
        };
        let mut changed = 0;
        for cronjob in cronjobs {
            changed += self.reconcile_one(state, &cronjob, now);
        }
        changed
    }

    fn reconcile_one(&mut self, state: &ApiState, cronjob: &Value, now: DateTime<Utc>) -> usize {
        let meta = &cronjob["metadata"];
        let uid = meta["uid"].as_str().unwrap_or("");
        let namespace = meta["namespace"].as_str().unwrap_or("").to_string();
        let name = meta["name"].as_str().unwrap_or("").to_string();
        let jobs = jobs_owned_by(state, &namespace, uid);
        let mut changed = 0;
        for action in cronjob::reconcile(cronjob, &jobs, now) {
            let done = match action {
                CronJobAction::CreateJob { mut job } => {
                    job["metadata"]["namespace"] = json!(namespace);
                    job["metadata"]["ownerReferences"] = json!([{
                        "apiVersion": "batch/v1", "kind": "CronJob", "name": name, "uid": uid,
                        "controller": true, "blockOwnerDeletion": true,
                    }]);
                    state.create_object(job).is_ok()
                }
                CronJobAction::DeleteJob { name } => {
                    state.delete_object("batch", "jobs", &namespace, &name)
                }
                CronJobAction::SetStatus { status } => {
                    let mut next = cronjob.clone();
                    next["status"] = status;
                    state.replace_object("batch", "cronjobs", next)
                }
            };
            changed += usize::from(done);
        }
        if let Some(at) = cronjob::next_due(cronjob, now) {
            self.queue.after(
                at.max(now + chrono::Duration::seconds(1)),
                (key("batch", "cronjobs"), namespace, name),
            );
        }
        changed
    }
}

/// The Jobs in `namespace` whose ownerReferences name `uid` (`ApiState::owned_by` is pods only).
pub fn jobs_owned_by(state: &ApiState, namespace: &str, uid: &str) -> Vec<Value> {
    if uid.is_empty() {
        return Vec::new();
    }
    state
        .list_objects("batch", "jobs")
        .filter(|job| {
            job["metadata"]["namespace"] == namespace
                && job["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
        })
        .collect()
}

/// The CronJob a Job belongs to: its owner reference of kind CronJob, or, when the Job is
/// already gone, its name minus the `-<scheduled minutes>` suffix.
fn owner_name(state: &ApiState, namespace: &str, job: &str) -> Option<String> {
    if let Some(job) = state.get_object("batch", "jobs", namespace, job) {
        return job["metadata"]["ownerReferences"]
            .as_array()?
            .iter()
            .find(|r| r["kind"] == "CronJob")?["name"]
            .as_str()
            .map(String::from);
    }
    let (owner, suffix) = job.rsplit_once('-')?;
    (!suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit())).then(|| owner.to_string())
}
