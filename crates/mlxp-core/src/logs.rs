//! Logs as a cockpit and a script read them: which pods a target's log comes from (a pod,
//! a Job's pods, a served version's replicas, as stern merges them), and a bounded buffer
//! of their lines, each with its pod and, when the server sent one, its timestamp.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::snapshot::Snapshot;

/// Whose log: one pod, or every pod of a Job or of a served version (new ones too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Pod {
        namespace: String,
        name: String,
    },
    Job {
        namespace: String,
        name: String,
    },
    /// A Deployment's replicas, found by its labels.
    Deployment {
        namespace: String,
        name: String,
    },
}

impl LogTarget {
    pub fn namespace(&self) -> &str {
        match self {
            LogTarget::Pod { namespace, .. }
            | LogTarget::Job { namespace, .. }
            | LogTarget::Deployment { namespace, .. } => namespace,
        }
    }

    /// The label selector of its pods, so pods that start later are followed too; None for
    /// one pod.
    pub fn selector(&self, snapshot: &Snapshot) -> Option<String> {
        match self {
            LogTarget::Pod { .. } => None,
            LogTarget::Job { name, .. } => Some(format!("job-name={name}")),
            LogTarget::Deployment { namespace, name } => {
                let labels = &snapshot.deployments.get(namespace, name)?.meta.labels;
                match (labels.get("mlxp.io/model"), labels.get("mlxp.io/version")) {
                    (Some(model), Some(version)) => {
                        Some(format!("mlxp.io/model={model},mlxp.io/version={version}"))
                    }
                    _ => Some(format!("app={name}")),
                }
            }
        }
    }
}

impl std::fmt::Display for LogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogTarget::Pod { namespace, name } => write!(f, "pod {namespace}/{name}"),
            LogTarget::Job { namespace, name } => write!(f, "job {namespace}/{name}"),
            LogTarget::Deployment { namespace, name } => {
                write!(f, "deployment {namespace}/{name}")
            }
        }
    }
}

/// The target a user names: `pod/NAME`, `job/NAME`, `deploy/NAME`, or a bare name (a pod,
/// else a Job, else a Deployment), in `namespace` or the only namespace that has it.
pub fn find_target(
    snapshot: &Snapshot,
    named: &str,
    namespace: Option<&str>,
) -> Result<LogTarget, String> {
    let (kinds, name): (&[&str], &str) = match named.split_once('/') {
        Some(("pod" | "pods" | "po", n)) => (&["pod"], n),
        Some(("job" | "jobs", n)) => (&["job"], n),
        Some(("deploy" | "deployment" | "deployments", n)) => (&["deploy"], n),
        Some((kind, _)) => {
            return Err(format!(
                "{kind:?} has no logs here: say pod/NAME, job/NAME or deploy/NAME"
            ));
        }
        None => (&["pod", "job", "deploy"], named),
    };
    for kind in kinds {
        let namespaces: Vec<String> = match *kind {
            "pod" => in_namespaces(snapshot.pods.values().map(|p| &p.meta), name, namespace),
            "job" => in_namespaces(snapshot.jobs.values().map(|j| &j.meta), name, namespace),
            _ => in_namespaces(
                snapshot.deployments.values().map(|d| &d.meta),
                name,
                namespace,
            ),
        };
        let namespace = match namespaces.as_slice() {
            [] => continue,
            [one] => one.clone(),
            many => {
                return Err(format!(
                    "{name} is in several namespaces ({}): say which with -n",
                    many.join(", ")
                ));
            }
        };
        let name = name.to_string();
        return Ok(match *kind {
            "pod" => LogTarget::Pod { namespace, name },
            "job" => LogTarget::Job { namespace, name },
            _ => LogTarget::Deployment { namespace, name },
        });
    }
    Err(format!(
        "no pod, job or deployment named {name}{}",
        namespace.map(|n| format!(" in {n}")).unwrap_or_default()
    ))
}

fn in_namespaces<'a>(
    metas: impl Iterator<Item = &'a crate::domain::objects::Meta>,
    name: &str,
    namespace: Option<&str>,
) -> Vec<String> {
    metas
        .filter(|m| m.name == name && namespace.is_none_or(|n| m.namespace == n))
        .map(|m| m.namespace.to_string())
        .collect()
}

/// One line of a pod's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub pod: Arc<str>,
    /// The RFC 3339 time the server put before it (`timestamps=true`), if it did.
    pub time: Option<Box<str>>,
    pub text: Box<str>,
}

impl LogLine {
    /// A line as the server sent it, its leading timestamp taken apart when it has one.
    pub fn parse(pod: Arc<str>, raw: &str) -> LogLine {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (time, text) = match raw.split_once(' ') {
            Some((first, rest)) if looks_like_time(first) => (Some(first.into()), rest),
            _ => (None, raw),
        };
        LogLine {
            pod,
            time,
            text: text.into(),
        }
    }
}

/// `2026-12-07T10:00:00.123456789Z`: a date, a T, a time, a zone.
fn looks_like_time(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && (word.ends_with('Z') || word.contains('+'))
        && chrono::DateTime::parse_from_rfc3339(word).is_ok()
}

/// The last `capacity` lines of the log, and how many older ones were let go.
#[derive(Debug, Clone)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    capacity: usize,
    dropped: u64,
}

impl LogBuffer {
    pub fn new(capacity: usize) -> LogBuffer {
        LogBuffer {
            lines: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines let go to keep the buffer bounded.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn get(&self, index: usize) -> Option<&LogLine> {
        self.lines.get(index)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// The index of the next line (after `from`, or before it going back) that contains
    /// `query`, ignoring case; wraps around.
    pub fn find(&self, query: &str, from: usize, forward: bool) -> Option<usize> {
        if query.is_empty() || self.lines.is_empty() {
            return None;
        }
        let query = query.to_lowercase();
        let n = self.lines.len();
        (1..=n)
            .map(|step| {
                if forward {
                    (from + step) % n
                } else {
                    (from + n * 2 - step) % n
                }
            })
            .find(|&i| self.lines[i].text.to_lowercase().contains(&query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_buffer_keeps_the_last_lines_and_counts_what_it_let_go() {
        let pod: Arc<str> = "p".into();
        let mut buffer = LogBuffer::new(3);
        for i in 0..5 {
            buffer.push(LogLine::parse(pod.clone(), &format!("line {i}")));
        }
        let kept: Vec<&str> = buffer.iter().map(|l| &*l.text).collect();
        assert_eq!(kept, ["line 2", "line 3", "line 4"]);
        assert_eq!(buffer.dropped(), 2);
        assert_eq!(buffer.find("LINE 3", 0, true), Some(1));
        assert_eq!(buffer.find("line", 2, true), Some(0), "wraps around");
        assert_eq!(
            buffer.find("line 4", 0, false),
            Some(2),
            "backwards wraps too"
        );
        assert_eq!(buffer.find("absent", 0, true), None);
    }

    #[test]
    fn a_leading_timestamp_is_taken_apart_and_anything_else_kept_whole() {
        let pod: Arc<str> = "p".into();
        let line = LogLine::parse(pod.clone(), "2026-12-07T10:00:00.5Z step 10 loss 0.3\r");
        assert_eq!(line.time.as_deref(), Some("2026-12-07T10:00:00.5Z"));
        assert_eq!(&*line.text, "step 10 loss 0.3");
        let plain = LogLine::parse(pod, "2026 was a year");
        assert_eq!((plain.time, &*plain.text), (None, "2026 was a year"));
    }

    #[test]
    fn targets_are_found_by_kind_or_bare_name_and_followed_by_their_labels() {
        let mut s = Snapshot::default();
        s.pods
            .add_json(json!({"metadata": {"name": "train-a-x1", "namespace": "training"}}));
        s.jobs
            .add_json(json!({"metadata": {"name": "train-a", "namespace": "training"}}));
        s.deployments
            .add_json(json!({"metadata": {"name": "fd-v2", "namespace": "serving",
            "labels": {"mlxp.io/model": "fd", "mlxp.io/version": "v2"}}}));
        let job = find_target(&s, "train-a", None).expect("found");
        assert_eq!(job.to_string(), "job training/train-a");
        assert_eq!(job.selector(&s).as_deref(), Some("job-name=train-a"));
        let version = find_target(&s, "deploy/fd-v2", None).expect("found");
        assert_eq!(
            version.selector(&s).as_deref(),
            Some("mlxp.io/model=fd,mlxp.io/version=v2")
        );
        let pod = find_target(&s, "train-a-x1", Some("training")).expect("found");
        assert_eq!(pod.selector(&s), None);
        assert!(find_target(&s, "train-a", Some("serving")).is_err());
        assert!(find_target(&s, "node/x", None).is_err());
    }
}
