//! One list-then-watch loop per kind, and the task that folds their changes into snapshots.
//!
//! A loop lists in pages of 10,000 objects, each page decoded while the next is fetched
//! (behind a long round trip the sync would otherwise grow with round trips × pages), then
//! watches from the list's resourceVersion with bookmarks. A watch that times out is resumed where it was; a 410 Gone, or any lost
//! connection, relists (after a server restart resourceVersions mean nothing any more).
//! Failures back off 0.5 s → 30 s and never give up.
//!
//! A probe beside them asks the server's `/version` every 2 s with a 3 s deadline: a hung
//! server keeps watches open and silent, and only the probe tells that apart from a quiet
//! cluster. When the server answers again, or fresh credentials were read after a TLS or
//! 401 error, every source drops what it had in flight and relists on the current client.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::TryStreamExt;
use imbl::OrdMap;
use kube::core::params::{ListParams, WatchParams};
use kube::core::{Request, WatchEvent};
use mlxp_core::snapshot::ObjectKey;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::cause::Cause;
use super::list_body::ItemSplitter;
use mlxp_core::domain::objects::{
    ClusterQueue, Deployment, Event, Hpa, HttpRoute, Job, LocalQueue, Model, ModelVersion, Node,
    Pod, ResourceFlavor, Workload,
};
use mlxp_core::kinds::KindName;
use mlxp_core::snapshot::Snapshot;
use mlxp_core::snapshot::Watched;
use mlxp_core::source::{Reachability, SourceState};

/// A change to the snapshot, made by a source.
type Mutation = Box<dyn FnOnce(&mut Snapshot) + Send>;

/// Objects per list page: 3 round trips for 150,000 pods. A page streams in and is decoded
/// as it comes, so its size costs no memory here (client-go's informers list everything at
/// once, from the server's cache).
const PAGE: u32 = 50_000;
/// Server-side watch timeout; the watch is then resumed from the last resourceVersion.
const WATCH_SECONDS: u32 = 290;
/// A burst of changes arriving within this time becomes one new snapshot.
const COALESCE: Duration = Duration::from_millis(50);
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const PROBE_EVERY: Duration = Duration::from_secs(2);
const PROBE_DEADLINE: Duration = Duration::from_secs(3);

/// Builds a client from the kubeconfig as it is now: after a TLS or 401 error the CA or the
/// token may have been rotated (a restarted `mlxp sim`, a refreshed cloud token).
pub type Reconnect = Arc<
    dyn Fn() -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<kube::Client, String>> + Send>,
        > + Send
        + Sync,
>;

/// What every source takes its client from, and what tells it to start over.
#[derive(Clone)]
struct Link {
    client: watch::Receiver<kube::Client>,
    /// Sent when the server answers again after a silence or the client was replaced:
    /// whatever a source had in flight may be dead, so it drops it and relists.
    restart: watch::Receiver<Restart>,
}

/// When a source last heard from the server. A lock, not a Cell: the source's future
/// holds it across awaits and must be Send; only that one task ever takes it.
struct Heard(std::sync::Mutex<tokio::time::Instant>);

impl Default for Heard {
    fn default() -> Self {
        Heard(std::sync::Mutex::new(tokio::time::Instant::now()))
    }
}

impl Heard {
    fn now(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = tokio::time::Instant::now();
    }

    fn get(&self) -> tokio::time::Instant {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why the sources may have to start over.
#[derive(Clone, Copy)]
struct Restart {
    /// The silence began then: a source that heard from the server since (an event, a
    /// bookmark, a page) is alive and goes on; a slow answer to the probe under load must
    /// not make every source relist.
    silent_since: tokio::time::Instant,
    /// The client was replaced (new credentials): every source starts over.
    new_client: bool,
}

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

/// Starts watching every kind the cockpit shows, cluster-wide, on this client for good.
pub fn start(client: kube::Client) -> ClusterWatch {
    start_with(client, None)
}

/// Starts watching every kind the cockpit shows, cluster-wide; after a TLS or 401 error,
/// `reconnect` (when given) is asked for a client with fresh credentials.
pub fn start_with(client: kube::Client, reconnect: Option<Reconnect>) -> ClusterWatch {
    let (changes, received) = mpsc::channel::<Mutation>(4096);
    let (publish, snapshots) = watch::channel(Arc::new(Snapshot::default()));
    let (clients, client_rx) = watch::channel(client);
    let (restarts, restart_rx) = watch::channel(Restart {
        silent_since: tokio::time::Instant::now(),
        new_client: false,
    });
    let link = Link {
        client: client_rx,
        restart: restart_rx,
    };
    let mut tasks = vec![
        tokio::spawn(fold(received, publish)),
        tokio::spawn(probe(clients, restarts, reconnect, changes.clone())),
    ];
    let mut spawn = |task: JoinHandle<()>| tasks.push(task);
    spawn(tokio::spawn(source::<Node>(link.clone(), changes.clone())));
    spawn(tokio::spawn(source::<Pod>(link.clone(), changes.clone())));
    spawn(tokio::spawn(source::<Job>(link.clone(), changes.clone())));
    spawn(tokio::spawn(source::<Workload>(
        link.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<ClusterQueue>(
        link.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<LocalQueue>(
        link.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<ResourceFlavor>(
        link.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Deployment>(
        link.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Hpa>(link.clone(), changes.clone())));
    spawn(tokio::spawn(source::<HttpRoute>(
        link.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Model>(link.clone(), changes.clone())));
    spawn(tokio::spawn(source::<ModelVersion>(
        link.clone(),
        changes.clone(),
    )));
    spawn(tokio::spawn(source::<Event>(link, changes)));
    ClusterWatch { snapshots, tasks }
}

/// Asks the server whether it answers, and says so in the snapshot when that changes. On
/// a TLS or 401 error it reads the credentials again; when the server answers after a
/// silence, or the client changed, the sources start over.
async fn probe(
    clients: watch::Sender<kube::Client>,
    restarts: watch::Sender<Restart>,
    reconnect: Option<Reconnect>,
    changes: mpsc::Sender<Mutation>,
) {
    let mut ticks = tokio::time::interval(PROBE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // What was last published: None before the first probe, then the cause or None.
    let mut published: Option<Option<String>> = None;
    let mut replaced = false;
    let mut silent_since = None;
    loop {
        let tick = ticks.tick().await;
        let client = clients.borrow().clone();
        let cause = super::cause::probe(&client, PROBE_DEADLINE).await.err();
        let mut reloaded = false;
        if let (Some(cause), Some(reconnect)) = (&cause, &reconnect)
            && cause.wants_fresh_credentials()
            && let Ok(fresh) = reconnect().await
        {
            clients.send_replace(fresh);
            reloaded = true;
            replaced = true;
        }
        let text = cause.map(|c| c.to_string());
        if text.is_some() {
            silent_since.get_or_insert(tick);
        } else if let Some(since) = silent_since.take() {
            restarts.send_replace(Restart {
                silent_since: since,
                new_client: replaced,
            });
            replaced = false;
        }
        if published.as_ref() == Some(&text) && !reloaded {
            continue;
        }
        published = Some(text.clone());
        let report: Mutation = Box::new(move |s: &mut Snapshot| {
            let api = &mut s.api;
            let now = Utc::now();
            api.credential_reloads += u32::from(reloaded);
            match text {
                None => {
                    api.reachability = Reachability::Answering;
                    api.silent_since = None;
                    api.cause = None;
                    api.last_answer = Some(now);
                }
                Some(cause) => {
                    api.reachability = Reachability::Silent;
                    api.silent_since.get_or_insert(now);
                    api.cause = Some(cause);
                }
            }
        });
        if !send(&changes, report).await {
            return;
        }
    }
}

/// Resolves when this source is to start over: the client was replaced, or it has not
/// heard from the server since the silence began (never, once nobody can tell it).
async fn restarted(restart: &mut watch::Receiver<Restart>, heard: &Heard) {
    loop {
        if restart.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        let why = *restart.borrow_and_update();
        if why.new_client || heard.get() < why.silent_since {
            return;
        }
    }
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

/// A page's metadata: where the next page starts.
#[derive(Deserialize)]
struct PageHead {
    #[serde(default)]
    metadata: PageMeta,
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
        Failure {
            state,
            message: Cause::of(&e).to_string(),
        }
    }
}

async fn send(changes: &mpsc::Sender<Mutation>, change: Mutation) -> bool {
    changes.send(change).await.is_ok()
}

/// List-then-watch for one kind, forever (until the fold task is gone).
async fn source<T: Watched + Clone>(mut link: Link, changes: mpsc::Sender<Mutation>) {
    let kind = T::KIND;
    let mut backoff = BACKOFF_FIRST;
    let mut version: Option<String> = None;
    let heard = Heard::default();
    loop {
        link.restart.borrow_and_update();
        let client = link.client.borrow().clone();
        let step = async {
            match &version {
                None => match list::<T>(&client, kind, &heard, PAGE).await {
                    Ok(listed) => Ok(listed),
                    Err(failure) => Err(Stop::Failed(failure)),
                },
                Some(at) => {
                    Err(
                        watch_from::<T>(&client, kind, at.clone(), &changes, &mut version, &heard)
                            .await,
                    )
                }
            }
        };
        let stop = tokio::select! {
            step = step => step,
            () = restarted(&mut link.restart, &heard) => {
                version = None;
                backoff = BACKOFF_FIRST;
                continue;
            }
        };
        let stop = match stop {
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
            Err(stop) => stop,
        };
        match stop {
            Stop::TimedOut => {}
            Stop::Expired => version = None,
            Stop::Failed(failure) => {
                version = None;
                let wait = jittered(
                    match failure.state {
                        // A CRD may be installed, or a role granted, later: look again now
                        // and then.
                        SourceState::NotInstalled | SourceState::Forbidden => BACKOFF_MAX,
                        _ => backoff,
                    },
                    rand::random(),
                );
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
                // The server answering again (or new credentials) ends the wait at once.
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = restarted(&mut link.restart, &heard) => backoff = BACKOFF_FIRST,
                }
            }
        }
    }
}

/// Half to all of `wait` (`unit` in 0..1): the twelve sources of every cockpit and agent
/// that lost the same server do not come back to it in step.
fn jittered(wait: Duration, unit: f64) -> Duration {
    wait.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

/// Every object of the kind, page by page; with the list's resourceVersion.
async fn list<T: Watched + Clone>(
    client: &kube::Client,
    kind: KindName,
    heard: &Heard,
    page: u32,
) -> Result<(OrdMap<ObjectKey, Arc<T>>, String), Failure> {
    let request = Request::new(kind.path());
    let mut items = OrdMap::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(page);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let http = request.list(&params).map_err(failing)?;
        let head = read_page(client, http, heard, &mut items).await?;
        match head.metadata.continue_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok((items, head.metadata.resource_version)),
        }
    }
}

/// Reads one page as it streams in, its items decoded in batches on blocking threads while
/// the rest arrives (never the whole page in memory as text); returns its metadata.
async fn read_page<T: Watched + Clone>(
    client: &kube::Client,
    http: hyper::Request<Vec<u8>>,
    heard: &Heard,
    items: &mut OrdMap<ObjectKey, Arc<T>>,
) -> Result<PageHead, Failure> {
    use futures::AsyncBufReadExt;
    let body = client.request_stream(http).await?;
    futures::pin_mut!(body);
    let mut splitter = ItemSplitter::default();
    let mut decoding: Option<tokio::task::JoinHandle<Result<Vec<T>, Failure>>> = None;
    let decode = |batch: Vec<u8>| {
        tokio::task::spawn_blocking(move || {
            serde_json::from_slice::<Vec<T>>(&batch).map_err(failing)
        })
    };
    loop {
        let chunk = body
            .fill_buf()
            .await
            .map_err(|e| Failure::from(kube::Error::ReadEvents(e)))?;
        if chunk.is_empty() {
            break;
        }
        heard.now();
        let batch = splitter.push(chunk);
        let read = chunk.len();
        body.consume_unpin(read);
        if let Some(batch) = batch {
            // One batch decodes while the next is read: at most two in memory.
            if let Some(previous) = decoding.replace(decode(batch)) {
                insert(items, previous.await.map_err(failing)??);
            }
        }
    }
    let (rest, head) = splitter.finish();
    if let Some(previous) = decoding.take() {
        insert(items, previous.await.map_err(failing)??);
    }
    if let Some(rest) = rest {
        insert(items, decode(rest).await.map_err(failing)??);
    }
    serde_json::from_slice(&head).map_err(failing)
}

fn insert<T: Watched>(items: &mut OrdMap<ObjectKey, Arc<T>>, page: Vec<T>) {
    for item in page {
        let meta = item.meta();
        items.insert((meta.namespace.clone(), meta.name.clone()), Arc::new(item));
    }
}

/// A failure of the client's own making (a request it could not build, a body it could not
/// read).
fn failing(e: impl std::fmt::Display) -> Failure {
    Failure {
        state: SourceState::Failing,
        message: e.to_string(),
    }
}

/// Watches from `from`, applying each event; keeps `version` at the last one seen.
async fn watch_from<T: Watched + Clone>(
    client: &kube::Client,
    kind: KindName,
    from: String,
    changes: &mpsc::Sender<Mutation>,
    version: &mut Option<String>,
    heard: &Heard,
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
            Ok(Some(event)) => {
                heard.now();
                event
            }
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

fn touched(status: &mut mlxp_core::source::SourceStatus) {
    status.events += 1;
    status.last_event = Some(Utc::now());
    status.state = SourceState::Synced;
    status.failing_since = None;
    status.error = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlxp_sim::{Scale, Scenario, Sim, SimConfig};

    #[test]
    fn backoff_waits_between_half_and_all_of_its_step() {
        let step = Duration::from_secs(8);
        assert_eq!(jittered(step, 0.0), Duration::from_secs(4));
        assert_eq!(jittered(step, 1.0), step);
        let waits: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| jittered(step, rand::random())).collect();
        assert!(waits.iter().all(|w| *w >= step / 2 && *w <= step));
        assert!(waits.len() > 1, "twenty draws, one wait: {waits:?}");
    }

    #[tokio::test]
    async fn a_list_read_in_many_pages_holds_every_object_once() {
        let sim = Sim::start(SimConfig {
            scenario: Scenario::Platform {
                scale: Scale::Small,
            },
            manual_clock: true,
            ..SimConfig::default()
        })
        .await
        .expect("sim starts");
        let client = sim.client(true).await.expect("client");
        let heard = Heard::default();
        let (whole, _) = list::<Pod>(&client, KindName::Pods, &heard, PAGE)
            .await
            .map_err(|f| f.message)
            .expect("one page");
        let (paged, version) = list::<Pod>(&client, KindName::Pods, &heard, 7)
            .await
            .map_err(|f| f.message)
            .expect("pages of 7");
        assert!(
            whole.len() > 3 * 7,
            "{} pods: too few for pages",
            whole.len()
        );
        assert_eq!(
            paged.keys().collect::<Vec<_>>(),
            whole.keys().collect::<Vec<_>>()
        );
        assert!(!version.is_empty());
    }
}
