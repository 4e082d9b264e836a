//! The only code that writes to the cluster. The cockpit, the CLI verbs and the agent hand
//! it an `Op`; it plans it on the snapshot they see (`mlxp_core::ops::plan`), asks the server
//! whether each request is allowed (SelfSubjectAccessReview), sends each as a server-side
//! dry-run and diffs the object before and after, then — unless only a preview was asked —
//! sends them for real, records an Event on the target and appends a line to the audit log.
//! Every attempt, refused or not, is in the audit log.

mod audit;
mod diff;
mod verdicts;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

use crate::cluster::{Access, Cause, Snapshot, may, snapshot_once, whoami};
use mlxp_core::ops::{self, Actor, Change, Op, Plan, Refused, Request, Target};

pub use audit::{AuditLine, default_audit_path};
pub use diff::Diff;
pub use verdicts::{VERDICT_TTL, Verdicts};

/// How long a rollback waits for the version it goes back to to be Ready.
/// How long one request may go unanswered by default.
const ANSWER_PATIENCE: Duration = Duration::from_secs(30);
const READY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(180);

/// How long the fresh snapshot a conflict asks for may take.
const FRESH_SNAPSHOT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a conflict's message says, for those who must tell one from another failure.
pub const CONFLICT: &str = "changed since it was read";

/// A preview (every request sent as a server-side dry-run) or the real thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    DryRun,
    Apply,
}

/// What an op did (or, in a dry-run, would do).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub op: &'static str,
    pub effect: String,
    pub mode: Mode,
    pub user: String,
    /// Each object's change, from the server's dry-run.
    pub diffs: Vec<Diff>,
    /// Recording the Event failed (the op itself succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("forbidden: {user} may not {verb} {resource} ({target}){reason}")]
    Forbidden {
        user: String,
        verb: String,
        resource: String,
        target: String,
        reason: String,
    },
    /// The object changed since the snapshot the op was planned on.
    #[error("{target} {CONFLICT} ({message}): nothing was changed; run it again")]
    Conflict { target: String, message: String },
    #[error("{target}: {cause}")]
    Api { target: String, cause: Cause },
    /// The server took the request and said nothing back in time: a change may or may
    /// not have been made.
    #[error(
        "{target}: no answer from the API server in {secs} s{}",
        if *.maybe_done { "; the change may have been made: look before running it again" } else { "; nothing was changed" }
    )]
    Unanswered {
        target: String,
        secs: u64,
        maybe_done: bool,
    },
    /// The connection closed after the change was sent and before its answer: it may or
    /// may not have been made.
    #[error("{target}: {cause}; the change may have been made: look before running it again")]
    AnswerLost { target: String, cause: Cause },
    /// A request after the first failed: what was done before it stays done.
    #[error("stopped after {done} of {of} changes ({error}); the first {done} stay done")]
    Stopped {
        done: usize,
        of: usize,
        error: Box<ExecError>,
    },
}

impl ExecError {
    /// The exit code scripts see: 3 refused by a precondition, 4 forbidden, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecError::Refused(Refused::Precondition(_)) | ExecError::Conflict { .. } => 3,
            ExecError::Forbidden { .. } => 4,
            ExecError::Refused(Refused::NotFound(_))
            | ExecError::Api { .. }
            | ExecError::Unanswered { .. }
            | ExecError::AnswerLost { .. } => 1,
            ExecError::Stopped { error, .. } => error.exit_code(),
        }
    }
}

pub struct Executor {
    client: kube::Client,
    context: String,
    /// Where the audit lines go; None: nowhere (tests that do not look at them).
    audit: Option<PathBuf>,
    /// Access verdicts already given (a fresh executor asks every time).
    verdicts: Verdicts,
    /// How long one request may go unanswered (kube's own read timeout is 295 s).
    patience: Duration,
    /// What time it is for what the ops stamp (the embedded cluster's, on a fast clock).
    clock: Clock,
    /// Who its Events say reported them: `mlxp`, or `mlxp-agent` for the agent's.
    component: &'static str,
}

/// A source of the current time.
pub type Clock = std::sync::Arc<dyn Fn() -> chrono::DateTime<Utc> + Send + Sync>;

/// The machine's clock.
pub fn wall_clock() -> Clock {
    std::sync::Arc::new(Utc::now)
}

impl Executor {
    pub fn new(client: kube::Client, context: String, audit: Option<PathBuf>) -> Self {
        Executor {
            client,
            context,
            audit,
            verdicts: Verdicts::default(),
            patience: ANSWER_PATIENCE,
            clock: wall_clock(),
            component: "mlxp",
        }
    }

    /// Its Events are reported by `mlxp-agent`: the automation's decisions told apart from
    /// what people did, in the Events view and `kubectl get events`.
    pub fn for_agent(mut self) -> Self {
        self.component = "mlxp-agent";
        self
    }

    /// A Warning Event on `target` that is not the record of an op (an alert); `uid`: the
    /// object's, as read.
    pub async fn warn(
        &self,
        target: &Target,
        uid: &str,
        reason: &str,
        message: &str,
    ) -> Result<(), Cause> {
        let mut event = ops::event(target, uid, reason, message, (self.clock)());
        event["type"] = Value::from("Warning");
        self.create_event(target, event).await.map(|_| ())
    }

    /// Stamps what the ops record (approvals, a canary step's start) with `clock`'s time.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Waits `patience` for each answer instead of the default 30 s.
    pub fn with_patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// `request`'s answer, or Unanswered once `patience` has passed: a frozen server is
    /// reported, not waited on. `maybe_done`: the request would change the cluster.
    async fn answered<T>(
        &self,
        target: &Target,
        maybe_done: bool,
        request: impl std::future::Future<Output = Result<T, ExecError>>,
    ) -> Result<T, ExecError> {
        tokio::time::timeout(self.patience, request)
            .await
            .unwrap_or_else(|_| {
                Err(ExecError::Unanswered {
                    target: target.to_string(),
                    secs: self.patience.as_secs(),
                    maybe_done,
                })
            })
    }

    /// Uses verdicts kept from earlier ops (the cockpit keeps them a minute per context).
    pub fn with_verdicts(mut self, verdicts: Verdicts) -> Self {
        self.verdicts = verdicts;
        self
    }

    /// Plans `op` on `snapshot` and runs it; the audit log records the attempt either way.
    pub async fn run(
        &self,
        op: &Op,
        snapshot: &Snapshot,
        mode: Mode,
    ) -> Result<Outcome, ExecError> {
        let user = tokio::time::timeout(self.patience, whoami(&self.client))
            .await
            .unwrap_or(Err(Cause::TimedOut))
            .unwrap_or_else(|cause| format!("unknown ({cause})"));
        let actor = Actor {
            user: user.clone(),
            now: (self.clock)(),
        };
        let planned = ops::plan(op, snapshot, &actor);
        let result = match &planned {
            Ok(plan) => self.run_plan(plan, mode, &user).await,
            Err(refused) => Err(ExecError::from(refused.clone())),
        };
        // A rollback's first step scaled the version it goes back to up: once it is Ready,
        // the rollback is planned again on the cluster as it is, and moves the traffic.
        let result = match (result, &planned) {
            (Ok(first), Ok(plan))
                if mode == Mode::Apply && plan.reason == ops::SCALED_UP_FOR_ROLLBACK =>
            {
                self.then_when_ready(op, plan, first, &actor).await
            }
            (result, _) => result,
        };
        // Something changed since the snapshot, before anything was applied: where the op
        // still means the same on the cluster as it is now, it is planned and sent again
        // once; else the conflict is what the user hears.
        let result = match result {
            Err(conflict @ ExecError::Conflict { .. }) if op.holds_on_fresh_state() => {
                match snapshot_once(self.client.clone(), FRESH_SNAPSHOT).await {
                    Ok(fresh) => match ops::plan(op, &fresh, &actor) {
                        Ok(plan) => self.run_plan(&plan, mode, &user).await.map(|mut done| {
                            done.effect.push_str(
                                " (sent again on the cluster as it is now: it had changed since it was read)",
                            );
                            done
                        }),
                        Err(refused) => Err(ExecError::from(refused)),
                    },
                    Err(_) => Err(conflict),
                }
            }
            other => other,
        };
        if let Some(path) = &self.audit {
            let line = AuditLine::of(&self.context, &user, op, mode, &result);
            if let Err(e) = audit::append(path, &line) {
                eprintln!("mlxp: the audit log {}: {e}", path.display());
            }
        }
        result
    }

    async fn run_plan(&self, plan: &Plan, mode: Mode, user: &str) -> Result<Outcome, ExecError> {
        for request in &plan.requests {
            self.check_access(request, user).await?;
        }
        let mut diffs = Vec::new();
        for request in &plan.requests {
            let before = match request.change {
                Change::Create(_) | Change::Ensure(_) => Value::Null,
                _ => self.get(&request.target).await?,
            };
            let diff = match (&request.change, self.send(request, Mode::DryRun).await) {
                (Change::Evict(_), Ok(_)) => Diff::note(&request.target, "evicted"),
                // Blocked now is not refused: the drain waits for the budget.
                (Change::Evict(_), Err(e)) if blocked(&e) => Diff::note(
                    &request.target,
                    &format!(
                        "blocked now by its PodDisruptionBudget; the drain waits up to {} s for it",
                        EVICTION_PATIENCE.as_secs()
                    ),
                ),
                (Change::Delete(_), Ok(_)) => Diff::of(&request.target, &before, &Value::Null),
                (Change::Ensure(_), Ok(Value::Null)) => {
                    Diff::note(&request.target, "kept: it already exists")
                }
                (_, Ok(after)) => Diff::of(&request.target, &before, &after),
                (_, Err(e)) => return Err(e),
            };
            diffs.push(diff);
        }
        let mut outcome = Outcome {
            op: plan.op.name(),
            effect: plan.effect.clone(),
            mode,
            user: user.to_string(),
            diffs,
            event_error: None,
        };
        if mode == Mode::DryRun || plan.requests.is_empty() {
            return Ok(outcome);
        }
        let mut uid = String::new();
        for (done, request) in plan.requests.iter().enumerate() {
            let after = match self.send_patiently(request).await {
                Ok(after) => after,
                Err(error) if done == 0 => return Err(error),
                Err(error) => {
                    return Err(ExecError::Stopped {
                        done,
                        of: plan.requests.len(),
                        error: Box::new(error),
                    });
                }
            };
            if request.target == plan.target && uid.is_empty() {
                uid = after["metadata"]["uid"].as_str().unwrap_or("").to_string();
            }
        }
        let message = format!("{} (by {user} with mlxp)", plan.effect);
        let event = ops::event(&plan.target, &uid, plan.reason, &message, (self.clock)());
        if let Err(e) = self.create_event(&plan.target, event).await {
            outcome.event_error = Some(e.to_string());
        }
        Ok(outcome)
    }

    /// The second step of a plan that scaled a Deployment up: once it is Ready, `op` planned
    /// again on a fresh snapshot and run; the outcome tells both steps.
    async fn then_when_ready(
        &self,
        op: &Op,
        plan: &Plan,
        first: Outcome,
        actor: &Actor,
    ) -> Result<Outcome, ExecError> {
        let stopped = |error: ExecError| ExecError::Stopped {
            done: plan.requests.len(),
            of: plan.requests.len() + 1,
            error: Box::new(error),
        };
        self.when_ready(&plan.target)
            .await
            .map_err(|cause| stopped(api(&plan.target, cause)))?;
        let fresh = snapshot_once(self.client.clone(), FRESH_SNAPSHOT)
            .await
            .map_err(|e| stopped(api(&plan.target, Cause::Other(e.to_string()))))?;
        let then = ops::plan(op, &fresh, actor).map_err(|r| stopped(ExecError::from(r)))?;
        let mut done = self.run_plan(&then, Mode::Apply, &actor.user).await?;
        done.effect = format!("{}; then {}", first.effect, done.effect);
        done.diffs.splice(0..0, first.diffs);
        Ok(done)
    }

    /// Waits (a watch on the one object, bounded) until a Deployment has a ready replica.
    async fn when_ready(&self, deployment: &Target) -> Result<(), Cause> {
        use k8s_openapi::api::apps::v1::Deployment;
        let namespace = deployment.namespace.as_deref().unwrap_or_default();
        let api: kube::Api<Deployment> = kube::Api::namespaced(self.client.clone(), namespace);
        let ready = |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.ready_replicas)
                .is_some_and(|n| n > 0)
        };
        let waited = tokio::time::timeout(
            READY_PATIENCE,
            kube::runtime::wait::await_condition(api, &deployment.name, ready),
        )
        .await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Cause::Other(e.to_string())),
            Err(_) => Err(Cause::Other(format!(
                "not Ready within {} s: the traffic was not moved",
                READY_PATIENCE.as_secs()
            ))),
        }
    }

    async fn check_access(&self, request: &Request, user: &str) -> Result<(), ExecError> {
        let target = &request.target;
        let (group, _, resource) = target.kind.api();
        let verb = request.change.verb();
        let access = Access {
            verb,
            group,
            resource,
            subresource: request.subresource,
            namespace: target.namespace.as_deref(),
            // RBAC cannot name what is not there yet.
            name: match request.change {
                Change::Create(_) | Change::Ensure(_) => None,
                _ => Some(&target.name),
            },
        };
        let now = std::time::Instant::now();
        let verdict = match self.verdicts.get(&self.context, &access, now) {
            Some(kept) => kept,
            None => {
                let asked = tokio::time::timeout(self.patience, may(&self.client, access))
                    .await
                    .unwrap_or(Err(Cause::TimedOut))
                    .map_err(|cause| api(target, cause))?;
                self.verdicts
                    .put(&self.context, &access, asked.clone(), now);
                asked
            }
        };
        if verdict.allowed {
            return Ok(());
        }
        Err(ExecError::Forbidden {
            user: user.to_string(),
            verb: verb.to_string(),
            resource: {
                let sub = request
                    .subresource
                    .map(|s| format!("/{s}"))
                    .unwrap_or_default();
                if group.is_empty() {
                    format!("{resource}{sub}")
                } else {
                    format!("{resource}.{group}{sub}")
                }
            },
            target: target.to_string(),
            reason: if verdict.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", verdict.reason)
            },
        })
    }

    async fn get(&self, target: &Target) -> Result<Value, ExecError> {
        let request = http::Request::get(target.path())
            .body(Vec::new())
            .expect("a GET of a path");
        self.answered(target, false, async {
            self.client
                .request::<Value>(request)
                .await
                .map_err(|e| api(target, Cause::of(&e)))
        })
        .await
    }

    /// Sends a request for real; an eviction a PodDisruptionBudget blocks is tried again
    /// every few seconds for a while, as `kubectl drain` does, the budget freeing as the
    /// evicted pods' replacements become ready.
    async fn send_patiently(&self, request: &Request) -> Result<Value, ExecError> {
        let deadline = tokio::time::Instant::now() + EVICTION_PATIENCE;
        loop {
            match self.send(request, Mode::Apply).await {
                Err(e)
                    if matches!(request.change, Change::Evict(_))
                        && blocked(&e)
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(EVICTION_RETRY).await;
                }
                result => return result,
            }
        }
    }

    async fn send(&self, request: &Request, mode: Mode) -> Result<Value, ExecError> {
        let target = &request.target;
        let mut uri = format!("{}?fieldManager=mlxp", request.path());
        if mode == Mode::DryRun {
            uri.push_str("&dryRun=All");
        }
        let body = serde_json::to_vec(request.change.body()).expect("JSON of a JSON value");
        let method = match request.change {
            Change::Create(_) | Change::Ensure(_) | Change::Evict(_) => http::Method::POST,
            Change::Delete(_) => http::Method::DELETE,
            Change::Update(_) => http::Method::PUT,
            Change::JsonPatch(_) | Change::MergePatch(_) => http::Method::PATCH,
        };
        let http = http::Request::builder()
            .method(method)
            .uri(uri)
            .header(http::header::CONTENT_TYPE, request.change.content_type())
            .body(body)
            .expect("a request to a path");
        let sent = async {
            self.client
                .request::<Value>(http)
                .await
                .map_err(|e| match Cause::of(&e) {
                    // 409: a resourceVersion that moved on; 422 to a JSON patch: one of its
                    // `test`s no longer holds, or a path it names is gone (the route's
                    // backends changed under it). Its values were checked when planned.
                    Cause::Api { code: 409, message }
                        if matches!(request.change, Change::Create(_)) =>
                    {
                        conflict(target, format!("it already exists: {message}"))
                    }
                    Cause::Api { code: 409, message } => conflict(target, message),
                    Cause::Api { code: 422, message }
                        if matches!(request.change, Change::JsonPatch(_)) =>
                    {
                        conflict(target, message)
                    }
                    // Sent for real, the answer cut off: the change may be made.
                    cause @ Cause::CutShort if mode == Mode::Apply => ExecError::AnswerLost {
                        target: target.to_string(),
                        cause,
                    },
                    cause => api(target, cause),
                })
        };
        // An Ensure that meets an object of its name keeps it: nothing (null) was sent.
        let ensure = matches!(request.change, Change::Ensure(_));
        let sent = async move {
            match sent.await {
                Err(ExecError::Conflict { .. }) if ensure => Ok(Value::Null),
                result => result,
            }
        };
        self.answered(target, mode == Mode::Apply, sent).await
    }

    async fn create_event(&self, target: &Target, mut event: Value) -> Result<Value, Cause> {
        for field in ["reportingComponent", "reportingInstance"] {
            event[field] = Value::from(self.component);
        }
        event["source"]["component"] = Value::from(self.component);
        let namespace = target.namespace.as_deref().unwrap_or("default");
        let request = http::Request::post(format!("/api/v1/namespaces/{namespace}/events"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&event).expect("JSON of a JSON value"))
            .expect("a POST of a path");
        tokio::time::timeout(self.patience, self.client.request::<Value>(request))
            .await
            .map_err(|_| Cause::TimedOut)?
            .map_err(|e| Cause::of(&e))
    }
}

/// How long a drain waits for a PodDisruptionBudget to allow an eviction, and how often it
/// asks again (kubectl drain asks every 5 s, until its --timeout).
const EVICTION_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);
const EVICTION_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// 429 to an eviction: a PodDisruptionBudget allows no disruption now.
fn blocked(e: &ExecError) -> bool {
    matches!(
        e,
        ExecError::Api {
            cause: Cause::Api { code: 429, .. },
            ..
        }
    )
}

fn api(target: &Target, cause: Cause) -> ExecError {
    ExecError::Api {
        target: target.to_string(),
        cause,
    }
}

fn conflict(target: &Target, message: String) -> ExecError {
    ExecError::Conflict {
        target: target.to_string(),
        message,
    }
}
