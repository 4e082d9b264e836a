//! One list-then-watch loop per kind, and the task that folds their changes into snapshots.
//!
//! A loop lists in pages (500 objects), then watches from the list's resourceVersion with
//! bookmarks. A watch that times out is resumed where it was; a 410 Gone, or any lost
//! connection, relists (after a server restart resourceVersions mean nothing any more).
//! Failures back off 0.5 s → 30 s and never give up.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::TryStreamExt;
use imbl::OrdMap;
use kube::core::params::{ListParams, WatchParams};
use kube::core::{Request, WatchEvent};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::kinds::{KindName, Watched};
use super::snapshot::Snapshot;
use super::source::SourceState;
use crate::domain::objects::{
    ClusterQueue, Deployment, Event, Hpa, HttpRoute, Job, LocalQueue, Model, ModelVersion, Node,
    Pod, Workload,
};

/// A change to the snapshot, made by a source.
type Mutation = Box<dyn FnOnce(&mut Snapshot) + Send>;

const PAGE: u32 = 500;
/// Server-side watch timeout; the watch is then resumed from the last resourceVersion.
const WATCH_SECONDS: u32 = 290;
/// A burst of changes arriving within this time becomes one new snapshot.
const COALESCE: Duration = Duration::from_millis(50);
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The running watchers and the snapshots they publish; dropping it stops them.
pub struct ClusterWatch {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    tasks: Vec<JoinHandle<()>>,
}

impl ClusterWatch {
    /// A receiver that sees every new snapshot (`changed().await`).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    pub fn latest(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }
}

impl Drop for ClusterWatch {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts watching every kind the cockpit shows, cluster-wide.
pub fn start(client: kube::Client) -> ClusterWatch {
    let (changes, received) = mpsc::channel::<Mutation>(4096);
    let (publish, snapshots) = watch::channel(Arc::new(Snapshot::default()));
    let mut tasks = vec![tokio::spawn(fold(received, publish))];
    let mut spawn = |task: JoinHandle<()>| tasks.push(task);
    spawn(tokio::spawn(source::<Node>(
        client.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Pod>(client.clone(), changes.clone())));
    spawn(tokio::spawn(source::<Job>(client.clone(), changes.clone())));
    spawn(tokio::spawn(source::<Workload>(
        client.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<ClusterQueue>(
        client.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<LocalQueue>(
        client.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Deployment>(
        client.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Hpa>(client.clone(), changes.clone())));
    spawn(tokio::spawn(source::<HttpRoute>(
        client.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Model>(
        client.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<ModelVersion>(
        client.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Event>(client, changes)));
    ClusterWatch { snapshots, tasks }
}

/// Applies the sources' changes to the working snapshot and publishes a copy after each
/// burst. Only this task writes; readers get immutable `Arc<Snapshot>`s.
async fn fold(mut changes: mpsc::Receiver<Mutation>, publish: watch::Sender<Arc<Snapshot>>) {
    let mut snapshot = Snapshot::default();
    while let Some(change) = changes.recv().await {
        change(&mut snapshot);
        let deadline = tokio::time::Instant::now() + COALESCE;
        while let Ok(Some(change)) = tokio::time::timeout_at(deadline, changes.recv()).await {
            change(&mut snapshot);
        }
        snapshot.generation += 1;
        publish.send_replace(Arc::new(snapshot.clone()));
    }
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageMeta {
    #[serde(default)]
    resource_version: String,
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// Why a list or watch stopped.
enum Stop {
    /// The server closed the watch at its timeout: resume from the same version.
    TimedOut,
    /// 410 Gone: the version is too old; relist.
    Expired,
    Failed(Failure),
}

struct Failure {
    state: SourceState,
    message: String,
}

impl From<kube::Error> for Failure {
    fn from(e: kube::Error) -> Self {
        let state = match &e {
            kube::Error::Api(status) if status.code == 404 => SourceState::NotInstalled,
            kube::Error::Api(status) if status.code == 403 => SourceState::Forbidden,
            _ => SourceState::Failing,
        };
        let message = match &e {
            kube::Error::Api(status) => status.message.clone(),
            other => other.to_string(),
        };
        Failure { state, message }
    }
}

async fn send(changes: &mpsc::Sender<Mutation>, change: Mutation) -> bool {
    changes.send(change).await.is_ok()
}

/// List-then-watch for one kind, forever (until the fold task is gone).
async fn source<T: Watched + Clone>(client: kube::Client, changes: mpsc::Sender<Mutation>) {
    let kind = T::KIND;
    let mut backoff = BACKOFF_FIRST;
    let mut version: Option<String> = None;
    loop {
        let stop = match &version {
            None => match list::<T>(&client, kind).await {
                Ok((items, listed_at)) => {
                    backoff = BACKOFF_FIRST;
                    version = Some(listed_at);
                    let reset: Mutation = Box::new(move |s: &mut Snapshot| {
                        let slot = T::slot(s);
                        slot.items = items;
                        slot.status.state = SourceState::Synced;
                        slot.status.lists += 1;
                        slot.status.last_event = Some(Utc::now());
                        slot.status.failing_since = None;
                        slot.status.error = None;
                    });
                    if !send(&changes, reset).await {
                        return;
                    }
                    continue;
                }
                Err(failure) => Stop::Failed(failure),
            },
            Some(at) => watch_from::<T>(&client, kind, at.clone(), &changes, &mut version).await,
        };
        match stop {
            Stop::TimedOut => {}
            Stop::Expired => version = None,
            Stop::Failed(failure) => {
                version = None;
                let wait = match failure.state {
                    // A CRD may be installed, or a role granted, later: look again now and then.
                    SourceState::NotInstalled | SourceState::Forbidden => BACKOFF_MAX,
                    _ => backoff,
                };
                backoff = (backoff * 2).min(BACKOFF_MAX);
                let report: Mutation = Box::new(move |s: &mut Snapshot| {
                    let status = &mut T::slot(s).status;
                    status.failing_since.get_or_insert_with(Utc::now);
                    status.state = failure.state;
                    status.error = Some(failure.message);
                });
                if !send(&changes, report).await {
                    return;
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Every object of the kind, page by page; with the list's resourceVersion.
async fn list<T: Watched + Clone>(
    client: &kube::Client,
    kind: KindName,
) -> Result<(OrdMap<(String, String), Arc<T>>, String), Failure> {
    let request = Request::new(kind.path());
    let mut items = OrdMap::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(PAGE);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let http = request.list(&params).map_err(|e| Failure {
            state: SourceState::Failing,
            message: e.to_string(),
        })?;
        let page: Page<T> = client.request(http).await?;
        for item in page.items {
            let meta = item.meta();
            items.insert((meta.namespace.clone(), meta.name.clone()), Arc::new(item));
        }
        match page.metadata.continue_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok((items, page.metadata.resource_version)),
        }
    }
}

/// Watches from `from`, applying each event; keeps `version` at the last one seen.
async fn watch_from<T: Watched + Clone>(
    client: &kube::Client,
    kind: KindName,
    from: String,
    changes: &mpsc::Sender<Mutation>,
    version: &mut Option<String>,
) -> Stop {
    let params = WatchParams::default().timeout(WATCH_SECONDS);
    let http = match Request::new(kind.path()).watch(&params, &from) {
        Ok(http) => http,
        Err(e) => {
            return Stop::Failed(Failure {
                state: SourceState::Failing,
                message: e.to_string(),
            });
        }
    };
    let events = match client.request_events::<T>(http).await {
        Ok(events) => events,
        Err(e) => return Stop::Failed(e.into()),
    };
    futures::pin_mut!(events);
    loop {
        let event = match events.try_next().await {
            Ok(Some(event)) => event,
            Ok(None) => return Stop::TimedOut,
            Err(e) => return Stop::Failed(e.into()),
        };
        let change: Mutation = match event {
            WatchEvent::Added(object) | WatchEvent::Modified(object) => {
                *version = Some(object.meta().resource_version.clone());
                Box::new(move |s: &mut Snapshot| {
                    let key = (object.meta().namespace.clone(), object.meta().name.clone());
                    let slot = T::slot(s);
                    slot.items.insert(key, Arc::new(object));
                    touched(&mut slot.status);
                })
            }
            WatchEvent::Deleted(object) => {
                *version = Some(object.meta().resource_version.clone());
                Box::new(move |s: &mut Snapshot| {
                    let key = (object.meta().namespace.clone(), object.meta().name.clone());
                    let slot = T::slot(s);
                    slot.items.remove(&key);
                    touched(&mut slot.status);
                })
            }
            WatchEvent::Bookmark(bookmark) => {
                *version = Some(bookmark.metadata.resource_version);
                continue;
            }
            WatchEvent::Error(status) if status.code == 410 => return Stop::Expired,
            WatchEvent::Error(status) => {
                return Stop::Failed(Failure {
                    state: SourceState::Failing,
                    message: status.message,
                });
            }
        };
        if !send(changes, change).await {
            return Stop::Failed(Failure {
                state: SourceState::Failing,
                message: "the cockpit stopped".into(),
            });
        }
    }
}

fn touched(status: &mut super::source::SourceStatus) {
    status.events += 1;
    status.last_event = Some(Utc::now());
    status.state = SourceState::Synced;
    status.failing_since = None;
    status.error = None;
}
