//! Following logs: one pod's, or every pod of a Job or a Deployment, merged as stern merges
//! them (each line with its pod). Pods that start later are picked up from a watch on the
//! target's labels, not by polling; a pod waiting to start is streamed once it runs. Every
//! line, start and end goes down one channel.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

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
    /// This pod's log stream broke while the pod still runs: the follower reconnects and
    /// goes on after the last line it had.
    Reconnecting {
        pod: String,
        cause: String,
    },
    /// This pod's log ended (its container exited, or it went), with why when it failed.
    Ended {
        pod: String,
        error: Option<String>,
    },
    /// A word from the follower itself: watching the pods failed, or works again.
    Note(String),
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
    // Backoff: without it the watcher tries again at once, in a tight loop, while the
    // server cannot be reached.
    let mut events = watcher(pods.clone(), config)
        .default_backoff()
        .applied_objects()
        .boxed();
    // A failure is said once, when it starts, and its end once, not at every try.
    let mut failing = false;
    loop {
        tokio::select! {
            () = tx.closed() => return,
            event = events.try_next() => match event {
                Ok(Some(pod)) => {
                    if std::mem::take(&mut failing) {
                        let _ = tx.send(note("watching the pods again")).await;
                    }
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
                // The watcher retries by itself (with its backoff).
                Err(e) => {
                    if !std::mem::replace(&mut failing, true) {
                        let why = format!("watching the pods: {e}; trying again");
                        let _ = tx.send(note(&why)).await;
                    }
                }
            },
        }
    }
}

fn note(text: &str) -> LogEvent {
    LogEvent::Note(text.to_string())
}

/// The longest wait between two tries to reach a pod's log again.
const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// Streams a pod's log. Following, a stream that ends while the pod's container still
/// runs was cut (a proxy, a node, the server going away), not finished: it is opened
/// again, and only the lines after the last one had are passed on.
async fn stream_pod(
    pods: &Api<Pod>,
    name: &str,
    options: &LogOptions,
    tx: &mpsc::Sender<LogEvent>,
) {
    let pod: Arc<str> = name.into();
    if tx.send(LogEvent::Started(name.to_string())).await.is_err() {
        return;
    }
    let mut had = Had::default();
    let mut wait = Duration::from_secs(1);
    loop {
        let params = LogParams {
            follow: options.follow,
            container: options.container.clone(),
            previous: options.previous,
            timestamps: true,
            since_seconds: had.since_seconds(),
            ..LogParams::default()
        };
        let mut fresh = had.fresh_stream();
        let outcome = match pods.log_stream(name, &params).await {
            Err(e) if lasting(&e) => Err(Stop(Cause::of(&e).to_string())),
            Err(e) => Ok(Some(Cause::of(&e).to_string())),
            Ok(reader) => {
                let mut lines = reader.lines();
                loop {
                    tokio::select! {
                        () = tx.closed() => return,
                        line = lines.next() => match line {
                            Some(Ok(line)) => {
                                let line = LogLine::parse(pod.clone(), &line);
                                if fresh.is_new(&line, &mut had)
                                    && tx.send(LogEvent::Line(line)).await.is_err()
                                {
                                    return;
                                }
                                wait = Duration::from_secs(1);
                            }
                            Some(Err(e)) => break Ok(Some(e.to_string())),
                            None => break Ok(None),
                        },
                    }
                }
            }
        };
        let error = match outcome {
            Err(Stop(why)) => Some(why),
            Ok(cut) if options.follow && !options.previous => {
                match still_running(pods, name, options.container.as_deref()).await {
                    Ok(false) => cut,
                    Ok(true) | Err(_) => {
                        let cause = cut.unwrap_or_else(|| "the log stream ended".into());
                        let reconnecting = LogEvent::Reconnecting {
                            pod: name.to_string(),
                            cause,
                        };
                        if tx.send(reconnecting).await.is_err() {
                            return;
                        }
                        tokio::select! {
                            () = tx.closed() => return,
                            () = tokio::time::sleep(wait) => {}
                        }
                        wait = (wait * 2).min(RECONNECT_MAX);
                        if tx.send(LogEvent::Started(name.to_string())).await.is_err() {
                            return;
                        }
                        continue;
                    }
                }
            }
            Ok(cut) => cut,
        };
        let _ = tx
            .send(LogEvent::Ended {
                pod: name.to_string(),
                error,
            })
            .await;
        return;
    }
}

/// An answer that trying again will not change (forbidden, not found, a bad request).
struct Stop(String);

fn lasting(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.code / 100 == 4 && s.code != 429)
}

/// Whether the pod is there with its container not yet terminated.
async fn still_running(
    pods: &Api<Pod>,
    name: &str,
    container: Option<&str>,
) -> Result<bool, kube::Error> {
    let Some(pod) = pods.get_opt(name).await? else {
        return Ok(false);
    };
    let Some(status) = pod.status else {
        return Ok(true);
    };
    if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
        return Ok(false);
    }
    let statuses = status.container_statuses.unwrap_or_default();
    let followed = match container {
        Some(c) => statuses.iter().find(|s| s.name == c),
        None => statuses.first(),
    };
    Ok(followed
        .and_then(|s| s.state.as_ref())
        .is_none_or(|s| s.terminated.is_none()))
}

/// What was passed on of a pod's log, to go on after it when the stream is opened again.
#[derive(Debug, Default)]
struct Had {
    lines: usize,
    last_time: Option<DateTime<Utc>>,
    /// Lines had that carry `last_time` (several lines may share a time).
    at_last_time: usize,
}

impl Had {
    /// From a minute before the last line's time (clocks differ; what is older is dropped here); none on
    /// the first stream or when the lines carry no time.
    fn since_seconds(&self) -> Option<i64> {
        let last = self.last_time?;
        Some((Utc::now() - last).num_seconds().max(0) + 60)
    }

    fn fresh_stream(&self) -> Fresh {
        Fresh {
            after: self.last_time,
            same_time: self.at_last_time,
            skip: if self.last_time.is_some() {
                0
            } else {
                self.lines
            },
        }
    }
}

/// One stream's way past what was had: lines older than the last time had and as many
/// of that time as were had, or (lines without time: the whole log comes again) as many
/// lines as were had.
struct Fresh {
    after: Option<DateTime<Utc>>,
    same_time: usize,
    skip: usize,
}

impl Fresh {
    fn is_new(&mut self, line: &LogLine, had: &mut Had) -> bool {
        let time = line
            .time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let new = match (time, self.after) {
            (Some(time), Some(after)) if time < after => false,
            (Some(time), Some(after)) if time == after && self.same_time > 0 => {
                self.same_time -= 1;
                false
            }
            (Some(_), Some(_)) => true,
            _ if self.skip > 0 => {
                self.skip -= 1;
                false
            }
            _ => true,
        };
        if new {
            had.lines += 1;
            if let Some(time) = time {
                if had.last_time == Some(time) {
                    had.at_last_time += 1;
                } else {
                    had.last_time = Some(time);
                    had.at_last_time = 1;
                }
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(raw: &[&str]) -> Vec<LogLine> {
        raw.iter().map(|r| LogLine::parse("p".into(), r)).collect()
    }

    /// The texts a stream of `raw` passes on after what `had` holds.
    fn passed(had: &mut Had, raw: &[&str]) -> Vec<String> {
        let mut fresh = had.fresh_stream();
        lines(raw)
            .into_iter()
            .filter(|l| fresh.is_new(l, had))
            .map(|l| l.text.to_string())
            .collect()
    }

    #[test]
    fn a_stream_opened_again_passes_on_only_the_lines_after_those_had() {
        let (t1, t2) = ("2026-12-07T10:00:00Z", "2026-12-07T10:00:01.5Z");
        let mut had = Had::default();
        let first = [format!("{t1} a"), format!("{t1} b")];
        let first: Vec<&str> = first.iter().map(String::as_str).collect();
        assert_eq!(
            passed(&mut had, &first),
            ["a", "b"],
            "lines of one time all pass"
        );
        // The server sends from before the last time: a and b again, then c of that time.
        let again = [
            format!("{t1} a"),
            format!("{t1} b"),
            format!("{t1} c"),
            format!("{t2} d"),
        ];
        let again: Vec<&str> = again.iter().map(String::as_str).collect();
        assert_eq!(passed(&mut had, &again), ["c", "d"]);
    }

    #[test]
    fn without_times_the_lines_had_are_counted_off_the_log_sent_again() {
        let mut had = Had::default();
        assert_eq!(passed(&mut had, &["a", "b"]), ["a", "b"]);
        assert_eq!(had.since_seconds(), None, "the whole log is asked again");
        assert_eq!(passed(&mut had, &["a", "b", "c"]), ["c"]);
    }
}
