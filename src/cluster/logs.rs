//! Following logs: one pod's, or every pod of a Job or a Deployment, merged as stern merges
//! them (each line with its pod). Pods that start later are picked up from a watch on the
//! target's labels, not by polling; a pod waiting to start is streamed once it runs. Every
//! line, start and end goes down one channel.

use std::collections::HashSet;
use std::sync::Arc;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;

use super::Cause;
use mlxp_core::logs::{LogLine, LogTarget};

/// What a follower reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEvent {
    Line(LogLine),
    /// Streaming this pod's log began.
    Started(String),
    /// This pod's log ended (its container exited, or it went), with why when it failed.
    Ended {
        pod: String,
        error: Option<String>,
    },
    /// No more will come (not following, and every pod's log was read).
    Done,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub follow: bool,
    /// The container (default: the pod's only one or its first).
    pub container: Option<String>,
    /// The previous (crashed) container's log.
    pub previous: bool,
}

/// Follows `target` until the receiver is dropped (or, not following, until every pod's
/// log was read: then `Done`). `selector`: the target's pods' labels (None: one pod).
pub fn follow(
    client: kube::Client,
    target: LogTarget,
    selector: Option<String>,
    options: LogOptions,
) -> mpsc::Receiver<LogEvent> {
    let (tx, rx) = mpsc::channel(8192);
    let namespace = target.namespace().to_string();
    let pods: Api<Pod> = Api::namespaced(client, &namespace);
    tokio::spawn(async move {
        match (target, selector) {
            (LogTarget::Pod { name, .. }, _) => {
                stream_pod(&pods, &name, &options, &tx).await;
                let _ = tx.send(LogEvent::Done).await;
            }
            (_, Some(selector)) if !options.follow => {
                let listed = pods
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .map(|l| l.items)
                    .unwrap_or_default();
                for pod in listed {
                    if let Some(name) = pod.metadata.name {
                        stream_pod(&pods, &name, &options, &tx).await;
                    }
                }
                let _ = tx.send(LogEvent::Done).await;
            }
            (_, selector) => {
                let selector = selector.unwrap_or_default();
                follow_pods(pods, selector, options, tx).await;
            }
        }
    });
    rx
}

/// Watches the target's pods and streams each once it has started.
async fn follow_pods(
    pods: Api<Pod>,
    selector: String,
    options: LogOptions,
    tx: mpsc::Sender<LogEvent>,
) {
    let mut streaming: HashSet<String> = HashSet::new();
    let config = watcher::Config::default().labels(&selector);
    let mut events = watcher(pods.clone(), config).applied_objects().boxed();
    loop {
        tokio::select! {
            () = tx.closed() => return,
            event = events.try_next() => match event {
                Ok(Some(pod)) => {
                    let started = pod
                        .status
                        .as_ref()
                        .and_then(|s| s.phase.as_deref())
                        .is_some_and(|p| p != "Pending");
                    let Some(name) = pod.metadata.name else { continue };
                    if started && streaming.insert(name.clone()) {
                        let (pods, options, tx) = (pods.clone(), options.clone(), tx.clone());
                        tokio::spawn(async move { stream_pod(&pods, &name, &options, &tx).await });
                    }
                }
                Ok(None) => return,
                // The watcher retries by itself; say so once per failure.
                Err(e) => {
                    let _ = tx
                        .send(LogEvent::Ended {
                            pod: String::new(),
                            error: Some(format!("watching the pods: {e}")),
                        })
                        .await;
                }
            },
        }
    }
}

async fn stream_pod(
    pods: &Api<Pod>,
    name: &str,
    options: &LogOptions,
    tx: &mpsc::Sender<LogEvent>,
) {
    let params = LogParams {
        follow: options.follow,
        container: options.container.clone(),
        previous: options.previous,
        timestamps: true,
        ..LogParams::default()
    };
    let pod: Arc<str> = name.into();
    if tx.send(LogEvent::Started(name.to_string())).await.is_err() {
        return;
    }
    let error = match pods.log_stream(name, &params).await {
        Err(e) => Some(Cause::of(&e).to_string()),
        Ok(reader) => {
            let mut lines = reader.lines();
            let mut error = None;
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    line = lines.next() => match line {
                        Some(Ok(line)) => {
                            if tx.send(LogEvent::Line(LogLine::parse(pod.clone(), &line))).await.is_err() {
                                return;
                            }
                        }
                        Some(Err(e)) => {
                            error = Some(e.to_string());
                            break;
                        }
                        None => break,
                    },
                }
            }
            error
        }
    };
    let _ = tx
        .send(LogEvent::Ended {
            pod: name.to_string(),
            error,
        })
        .await;
}
