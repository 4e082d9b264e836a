//! The decision core of the batch/v1 CronJob controller (cronjob_controllerv2.go, Kubernetes
//! 1.33), as a pure function of state: the CronJob, the Jobs it owns and the simulated time
//! go in, the actions to take come out. No I/O; the caller applies them.
//!
//! Differences from the real controller: `spec.timeZone` other than UTC is read as UTC (no
//! time zone database here); no events (MissSchedule, TooManyMissedTimes, ...); and a Job the
//! controller created is put in `status.active` on the next call, when it shows in `jobs`
//! (its uid is not known before): an unfinished owned Job carrying the scheduled-timestamp
//! annotation under its scheduled name is taken in. Manual Jobs (`kubectl create job
//! --from`) are not, as in Kubernetes.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::cron::{self, Schedule};
use crate::clock;

/// The annotation with a scheduled Job's nominal start time (RFC 3339).
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// API defaults of the history limits.
const DEFAULT_SUCCESSFUL_HISTORY: i64 = 3;
const DEFAULT_FAILED_HISTORY: i64 = 1;
/// More missed schedules than this is "too many" (a warning event in Kubernetes; only the
/// latest missed schedule is ever started either way).
pub const TOO_MANY_MISSED: i64 = 100;

#[derive(Debug, Clone, PartialEq)]
pub enum CronJobAction {
    /// Create this Job (name, labels, annotations and spec set; the caller adds the namespace
    /// and the controller ownerReference to the CronJob).
    CreateJob { job: Value },
    /// Delete a Job with background propagation (history limit, or concurrencyPolicy Replace).
    DeleteJob { name: String },
    /// Replace the CronJob's status with this one (only when it differs).
    SetStatus { status: Value },
}

/// The parts of a CronJob this controller reads, defaulted as the API server would.
struct Spec<'a> {
    name: &'a str,
    schedule: Option<Schedule>,
    suspend: bool,
    policy: &'a str,
    deadline: Option<i64>,
    created: Option<DateTime<Utc>>,
    deleting: bool,
}

impl<'a> Spec<'a> {
    fn parse(cj: &'a Value) -> Spec<'a> {
        let spec = &cj["spec"];
        Spec {
            name: cj["metadata"]["name"].as_str().unwrap_or(""),
            schedule: spec["schedule"].as_str().and_then(cron::parse),
            suspend: spec["suspend"].as_bool().unwrap_or(false),
            policy: spec["concurrencyPolicy"].as_str().unwrap_or("Allow"),
            deadline: spec["startingDeadlineSeconds"].as_i64(),
            created: time(&cj["metadata"]["creationTimestamp"]),
            deleting: !cj["metadata"]["deletionTimestamp"].is_null(),
        }
    }
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(clock::parse)
}

/// `getJobName`: `<cronjob>-<scheduled time in minutes since the epoch>`.
pub fn job_name(cronjob: &str, scheduled: DateTime<Utc>) -> String {
    format!("{cronjob}-{}", scheduled.timestamp().div_euclid(60))
}

/// "Complete" or "Failed" if the Job has that condition True.
fn finished(job: &Value) -> Option<&str> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")?["type"]
        .as_str()
}

fn reference(job: &Value) -> Value {
    let meta = &job["metadata"];
    json!({
        "apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
        "namespace": meta["namespace"], "uid": meta["uid"],
        "resourceVersion": meta["resourceVersion"],
    })
}

/// `mostRecentScheduleTime`: the time to start from, and the latest schedule time in
/// (earliest, now] if any, with how many were missed. Its approximation is the real one.
fn most_recent(
    spec: &Spec,
    schedule: &Schedule,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    with_deadline: bool,
) -> (DateTime<Utc>, Option<DateTime<Utc>>, i64) {
    let mut earliest = last.or(spec.created).unwrap_or(now);
    if let Some(secs) = spec.deadline.filter(|_| with_deadline)
        && let Some(deadline) = Duration::try_seconds(secs).and_then(|d| now.checked_sub_signed(d))
        && deadline > earliest
    {
        earliest = deadline;
    }
    let Some(t1) = schedule.next(earliest).filter(|t1| *t1 <= now) else {
        return (earliest, None, 0);
    };
    let Some(t2) = schedule.next(t1).filter(|t2| *t2 <= now) else {
        return (earliest, Some(t1), 1);
    };
    let between = (t2 - t1).num_seconds();
    if between < 1 {
        return (earliest, None, 0);
    }
    let missed = (now - t1).num_seconds() / between + 1;
    let mut recent = None;
    let mut t = schedule.next(t1 + Duration::seconds((missed - 2) * between));
    while let Some(at) = t.filter(|at| *at <= now) {
        recent = Some(at);
        t = schedule.next(at);
    }
    (earliest, recent, missed)
}

/// One reconcile of a CronJob at `now`; `jobs` are the Jobs whose ownerReferences name it.
pub fn reconcile(cronjob: &Value, jobs: &[Value], now: DateTime<Utc>) -> Vec<CronJobAction> {
    let spec = Spec::parse(cronjob);
    let status = &cronjob["status"];
    let mut actions = Vec::new();
    let uid_of = |j: &Value| j["metadata"]["uid"].as_str().unwrap_or("").to_string();
    // Active: the listed Jobs still there and unfinished, plus our own scheduled ones.
    let mut active: Vec<Value> = status["active"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            jobs.iter()
                .any(|j| uid_of(j) == r["uid"].as_str().unwrap_or("-") && finished(j).is_none())
        })
        .cloned()
        .collect();
    let mut last_schedule = time(&status["lastScheduleTime"]);
    let mut last_success = time(&status["lastSuccessfulTime"]);
    for job in jobs {
        let meta = &job["metadata"];
        match finished(job) {
            Some("Complete") => {
                let done = time(&job["status"]["completionTime"]);
                last_success = last_success.max(done);
            }
            Some(_) => {}
            None => {
                let scheduled = time(&meta["annotations"][SCHEDULED_TIMESTAMP]);
                let ours = scheduled.is_some_and(|t| meta["name"] == job_name(spec.name, t));
                if ours && !active.iter().any(|r| r["uid"] == meta["uid"]) {
                    active.push(reference(job));
                    last_schedule = last_schedule.max(scheduled);
                }
            }
        }
    }
    if !spec.deleting {
        history(cronjob, jobs, &mut actions);
        if !spec.suspend
            && let Some(schedule) = &spec.schedule
        {
            schedule_run(
                &spec,
                cronjob,
                schedule,
                jobs,
                now,
                &mut active,
                &mut last_schedule,
                &mut actions,
            );
        }
    }
    let mut next = status.as_object().cloned().unwrap_or_default();
    set(
        &mut next,
        "active",
        (!active.is_empty()).then(|| json!(active)),
    );
    set(
        &mut next,
        "lastScheduleTime",
        last_schedule.map(|t| json!(clock::timestamp(t))),
    );
    set(
        &mut next,
        "lastSuccessfulTime",
        last_success.map(|t| json!(clock::timestamp(t))),
    );
    if next != status.as_object().cloned().unwrap_or_default() {
        actions.push(CronJobAction::SetStatus {
            status: Value::Object(next),
        });
    }
    actions
}

fn set(status: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => status.insert(key.into(), v),
        None => status.remove(key),
    };
}

/// `cleanupFinishedJobs`: the oldest finished Jobs past the history limits go.
fn history(cronjob: &Value, jobs: &[Value], actions: &mut Vec<CronJobAction>) {
    for (kind, field, default) in [
        (
            "Complete",
            "successfulJobsHistoryLimit",
            DEFAULT_SUCCESSFUL_HISTORY,
        ),
        ("Failed", "failedJobsHistoryLimit", DEFAULT_FAILED_HISTORY),
    ] {
        let limit = cronjob["spec"][field].as_i64().unwrap_or(default).max(0);
        let mut done: Vec<&Value> = jobs.iter().filter(|j| finished(j) == Some(kind)).collect();
        // byJobStartTime: by start time, those without one last, then by name.
        done.sort_by_key(|j| {
            let start = time(&j["status"]["startTime"]);
            (
                start.is_none(),
                start,
                j["metadata"]["name"].as_str().unwrap_or(""),
            )
        });
        let excess = (done.len() as i64 - limit).max(0) as usize;
        for job in &done[..excess] {
            let name = job["metadata"]["name"].as_str().unwrap_or("").to_string();
            actions.push(CronJobAction::DeleteJob { name });
        }
    }
}

/// The scheduling half of `syncCronJob`: start the latest unmet schedule, if it is not too
/// late and the concurrency policy lets it.
#[allow(clippy::too_many_arguments)]
fn schedule_run(
    spec: &Spec,
    cronjob: &Value,
    schedule: &Schedule,
    jobs: &[Value],
    now: DateTime<Utc>,
    active: &mut Vec<Value>,
    last_schedule: &mut Option<DateTime<Utc>>,
    actions: &mut Vec<CronJobAction>,
) {
    let (_, Some(scheduled), _) = most_recent(spec, schedule, *last_schedule, now, true) else {
        return;
    };
    if let Some(secs) = spec.deadline
        && Duration::try_seconds(secs).is_some_and(|d| scheduled + d < now)
    {
        return; // MissSchedule
    }
    let name = job_name(spec.name, scheduled);
    if active.iter().any(|r| r["name"] == name.as_str()) || *last_schedule == Some(scheduled) {
        return;
    }
    // Already created (by us, before a status write was lost): record it, as on AlreadyExists.
    if jobs.iter().any(|j| j["metadata"]["name"] == name.as_str()) {
        *last_schedule = Some(scheduled);
        return;
    }
    match spec.policy {
        "Forbid" if !active.is_empty() => return,
        "Replace" => {
            for r in active.drain(..) {
                let name = r["name"].as_str().unwrap_or("").to_string();
                actions.push(CronJobAction::DeleteJob { name });
            }
        }
        _ => {}
    }
    let template = &cronjob["spec"]["jobTemplate"];
    let mut annotations = template["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    annotations.insert(
        SCHEDULED_TIMESTAMP.into(),
        json!(clock::timestamp(scheduled)),
    );
    let mut metadata = json!({"name": name, "annotations": annotations});
    if let Some(labels) = template["metadata"]["labels"].as_object() {
        metadata["labels"] = json!(labels);
    }
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
        "spec": if template["spec"].is_object() { template["spec"].clone() } else { json!({}) },
    });
    actions.push(CronJobAction::CreateJob { job });
    *last_schedule = Some(scheduled);
}

/// When the CronJob is next due with nothing else happening: its next schedule time
/// (`nextScheduleTimeDuration`), none when suspended, being deleted or unparseable.
pub fn next_due(cronjob: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let spec = Spec::parse(cronjob);
    if spec.suspend || spec.deleting {
        return None;
    }
    let schedule = spec.schedule.as_ref()?;
    let last = time(&cronjob["status"]["lastScheduleTime"]);
    let (earliest, recent, _) = most_recent(&spec, schedule, last, now, false);
    schedule.next(recent.unwrap_or(earliest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        clock::parse(s).expect("time")
    }

    fn cronjob(schedule: &str, spec: Value, status: Value) -> Value {
        let mut cj = json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "nightly", "namespace": "training", "uid": "cj-uid",
                         "creationTimestamp": "2026-11-29T08:00:00Z"},
            "spec": {
                "schedule": schedule,
                "jobTemplate": {
                    "metadata": {"labels": {"team": "ml"}, "annotations": {"a": "b"}},
                    "spec": {"template": {"spec": {"restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "i"}]}}},
                },
            },
            "status": status,
        });
        for (k, v) in spec.as_object().cloned().unwrap_or_default() {
            cj["spec"][k] = v;
        }
        cj
    }

    /// A Job of this CronJob scheduled at `t`, in state "running", "Complete" or "Failed".
    fn job(t: &str, state: &str) -> Value {
        let scheduled = at(t);
        let mut job = json!({
            "metadata": {"name": job_name("nightly", scheduled), "uid": format!("uid-{t}"),
                         "namespace": "training", "resourceVersion": "7",
                         "annotations": {SCHEDULED_TIMESTAMP: t}},
            "status": {"startTime": t},
        });
        if state != "running" {
            let done = clock::timestamp(scheduled + Duration::minutes(2));
            job["status"]["conditions"] = json!([{"type": state, "status": "True"}]);
            job["status"]["completionTime"] = json!(done);
        }
        job
    }

    fn created(actions: &[CronJobAction]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                CronJobAction::CreateJob { job } => {
                    job["metadata"]["name"].as_str().map(String::from)
                }
                _ => None,
            })
            .collect()
    }

    fn deleted(actions: &[CronJobAction]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                CronJobAction::DeleteJob { name } => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    fn status(actions: &[CronJobAction]) -> Option<Value> {
        actions.iter().find_map(|a| match a {
            CronJobAction::SetStatus { status } => Some(status.clone()),
            _ => None,
        })
    }

    #[test]
    fn creates_the_job_of_a_due_schedule_from_the_template() {
        let cj = cronjob("*/10 * * * *", json!({}), Value::Null);
        assert_eq!(reconcile(&cj, &[], at("2026-11-29T08:09:59Z")), vec![]);
        assert_eq!(
            next_due(&cj, at("2026-11-29T08:09:59Z")),
            Some(at("2026-11-29T08:10:00Z"))
        );
        let actions = reconcile(&cj, &[], at("2026-11-29T08:10:00Z"));
        let CronJobAction::CreateJob { job } = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(
            job["metadata"]["name"],
            format!("nightly-{}", at("2026-11-29T08:10:00Z").timestamp() / 60)
        );
        assert_eq!(job["metadata"]["labels"]["team"], "ml");
        assert_eq!(job["metadata"]["annotations"]["a"], "b");
        assert_eq!(
            job["metadata"]["annotations"][SCHEDULED_TIMESTAMP],
            "2026-11-29T08:10:00Z"
        );
        assert_eq!(job["spec"], cj["spec"]["jobTemplate"]["spec"]);
        let status = status(&actions).expect("status");
        assert_eq!(status["lastScheduleTime"], "2026-11-29T08:10:00Z");
        // Next call: the created Job shows up and is taken into active; nothing new.
        let mut cj = cj;
        cj["status"] = status;
        let running = job_with_uid(job, "u1");
        let actions = reconcile(
            &cj,
            std::slice::from_ref(&running),
            at("2026-11-29T08:10:30Z"),
        );
        assert!(created(&actions).is_empty());
        let status = status_of(&actions);
        assert_eq!(status["active"][0]["uid"], "u1");
        assert_eq!(
            next_due(&cj, at("2026-11-29T08:10:30Z")),
            Some(at("2026-11-29T08:20:00Z"))
        );
        // Finished: out of active, lastSuccessfulTime set; then nothing more to do.
        cj["status"] = status;
        let mut done = running;
        done["status"] = json!({"conditions": [{"type": "Complete", "status": "True"}],
                                "completionTime": "2026-11-29T08:12:05Z"});
        let actions = reconcile(&cj, std::slice::from_ref(&done), at("2026-11-29T08:12:10Z"));
        let status = status_of(&actions);
        assert!(status["active"].is_null(), "{status}");
        assert_eq!(status["lastSuccessfulTime"], "2026-11-29T08:12:05Z");
        cj["status"] = status;
        assert_eq!(reconcile(&cj, &[done], at("2026-11-29T08:13:00Z")), vec![]);
    }

    fn job_with_uid(job: &Value, uid: &str) -> Value {
        let mut job = job.clone();
        job["metadata"]["uid"] = json!(uid);
        job
    }

    fn status_of(actions: &[CronJobAction]) -> Value {
        status(actions).unwrap_or_else(|| panic!("a status in {actions:?}"))
    }

    fn with_active(schedule: &str, spec: Value, running: &Value) -> Value {
        cronjob(
            schedule,
            spec,
            json!({
            "active": [reference(running)], "lastScheduleTime": "2026-11-29T08:10:00Z"}),
        )
    }

    #[test]
    fn concurrency_policies() {
        let running = job("2026-11-29T08:10:00Z", "running");
        let now = at("2026-11-29T08:20:00Z");
        let allow = with_active("*/10 * * * *", json!({}), &running);
        let actions = reconcile(&allow, std::slice::from_ref(&running), now);
        assert_eq!(created(&actions).len(), 1);
        assert!(deleted(&actions).is_empty());

        let forbid = with_active(
            "*/10 * * * *",
            json!({"concurrencyPolicy": "Forbid"}),
            &running,
        );
        assert_eq!(
            reconcile(&forbid, std::slice::from_ref(&running), now),
            vec![]
        );
        // Once the running one finished, the skipped run starts (late).
        let mut done = running.clone();
        done["status"]["conditions"] = json!([{"type": "Failed", "status": "True"}]);
        let actions = reconcile(
            &forbid,
            std::slice::from_ref(&done),
            now + Duration::minutes(3),
        );
        assert_eq!(created(&actions), vec![job_name("nightly", now)]);

        let replace = with_active(
            "*/10 * * * *",
            json!({"concurrencyPolicy": "Replace"}),
            &running,
        );
        let actions = reconcile(&replace, std::slice::from_ref(&running), now);
        assert_eq!(
            deleted(&actions),
            vec![job_name("nightly", at("2026-11-29T08:10:00Z"))]
        );
        assert_eq!(created(&actions), vec![job_name("nightly", now)]);
        assert!(status_of(&actions)["active"].is_null());
    }

    #[test]
    fn history_limits_keep_the_newest_finished_jobs() {
        let jobs: Vec<Value> = (0..5)
            .map(|i| {
                job(
                    &format!("2026-11-29T0{i}:00:00Z"),
                    if i % 2 == 0 { "Complete" } else { "Failed" },
                )
            })
            .collect();
        let cj = cronjob("0 0 1 1 *", json!({}), Value::Null);
        let names = |is: &[usize]| {
            is.iter()
                .map(|&i| {
                    jobs[i]["metadata"]["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_string()
                })
                .collect::<Vec<_>>()
        };
        // Three succeeded (0, 2, 4): all kept; two failed (1, 3): the older goes.
        assert_eq!(
            deleted(&reconcile(&cj, &jobs, at("2026-11-29T08:00:00Z"))),
            names(&[1])
        );
        let cj = cronjob(
            "0 0 1 1 *",
            json!({"successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 0}),
            Value::Null,
        );
        assert_eq!(
            deleted(&reconcile(&cj, &jobs, at("2026-11-29T08:00:00Z"))),
            names(&[0, 2, 1, 3])
        );
    }

    #[test]
    fn suspended_deleted_or_garbage_cronjobs_start_nothing() {
        let now = at("2026-11-29T09:00:00Z");
        let suspended = cronjob("*/10 * * * *", json!({"suspend": true}), Value::Null);
        assert_eq!(reconcile(&suspended, &[], now), vec![]);
        assert_eq!(next_due(&suspended, now), None);
        let mut deleting = cronjob("*/10 * * * *", json!({}), Value::Null);
        deleting["metadata"]["deletionTimestamp"] = json!("2026-11-29T08:30:00Z");
        assert_eq!(reconcile(&deleting, &[], now), vec![]);
        for garbage in [
            json!("not cron"),
            json!(5),
            Value::Null,
            json!("0 0 30 2 *"),
        ] {
            let mut cj = cronjob("", json!({}), Value::Null);
            cj["spec"]["schedule"] = garbage;
            assert_eq!(reconcile(&cj, &[], now), vec![]);
            assert_eq!(next_due(&cj, now), None);
        }
        for junk in [
            json!(null),
            json!([1, 2]),
            json!({"metadata": 3, "spec": "x", "status": []}),
        ] {
            assert_eq!(
                reconcile(
                    &junk,
                    &[json!(7), json!({"status": {"conditions": 1}})],
                    now
                ),
                vec![]
            );
            assert_eq!(next_due(&junk, now), None);
        }
    }

    #[test]
    fn only_the_latest_missed_schedule_runs_and_not_past_the_deadline() {
        // Created 08:00, first looked at 09:05: 6 runs missed, only 09:00 starts.
        let cj = cronjob("*/10 * * * *", json!({}), Value::Null);
        let actions = reconcile(&cj, &[], at("2026-11-29T09:05:00Z"));
        assert_eq!(
            created(&actions),
            vec![job_name("nightly", at("2026-11-29T09:00:00Z"))]
        );
        // With a 4-minute starting deadline, 09:00 is 5 minutes late: skipped.
        let late = cronjob(
            "*/10 * * * *",
            json!({"startingDeadlineSeconds": 240}),
            Value::Null,
        );
        assert_eq!(reconcile(&late, &[], at("2026-11-29T09:05:00Z")), vec![]);
        assert_eq!(
            next_due(&late, at("2026-11-29T09:05:00Z")),
            Some(at("2026-11-29T09:10:00Z"))
        );
        let actions = reconcile(&late, &[], at("2026-11-29T09:13:59Z"));
        assert_eq!(
            created(&actions),
            vec![job_name("nightly", at("2026-11-29T09:10:00Z"))]
        );
        // A week of minutes missed (> 100): still only the latest one.
        let spec = Spec::parse(&cj);
        let schedule = cron::parse("* * * * *").expect("cron");
        let now = at("2026-12-06T08:00:30Z");
        let (_, recent, missed) = most_recent(&spec, &schedule, None, now, true);
        assert_eq!(recent, Some(at("2026-12-06T08:00:00Z")));
        assert!(missed > TOO_MANY_MISSED);
        let every = cronjob("@every 7m", json!({}), Value::Null);
        let actions = reconcile(&every, &[], at("2026-11-29T08:30:00Z"));
        assert_eq!(
            created(&actions),
            vec![job_name("nightly", at("2026-11-29T08:28:00Z"))]
        );
    }
}
