//! What the agent has done, as Prometheus would scrape it from `/metrics`: decisions by
//! policy, ops by result, failures, how long evaluations take, whether it leads, and the
//! alerts of the last evaluation (one series each, so Alertmanager rules can route them).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use super::Record;

#[derive(Debug, Default)]
struct Counts {
    decisions: BTreeMap<&'static str, u64>,
    /// (op, done|failed|dry-run) → count.
    ops: BTreeMap<(String, &'static str), u64>,
    evaluations: u64,
    evaluation_seconds: f64,
    last_evaluation: Option<f64>,
    leader: bool,
    /// (policy, subject) of the last evaluation's alerts.
    alerts: Vec<(&'static str, String)>,
    /// Whether the cluster has been seen whole and one evaluation ran.
    ready: bool,
    /// Webhook deliveries: sent, failed (after its tries), dropped (over the rate).
    webhooks: BTreeMap<&'static str, u64>,
    /// When the last evaluation ended, on this machine's clock.
    last_at: Option<std::time::Instant>,
    /// Ops the last evaluation sent (done or failed).
    last_ops: usize,
    /// Why the agent stopped on its own (an error, a panic); None while it runs.
    stopped: Option<String>,
}

/// Shared by the agent loop (which writes it once per evaluation) and the HTTP port.
#[derive(Debug, Default)]
pub struct Telemetry {
    counts: Mutex<Counts>,
}

impl Telemetry {
    fn with<T>(&self, f: impl FnOnce(&mut Counts) -> T) -> T {
        f(&mut self.counts.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// One evaluation's records, how long it took, and when (seconds since the epoch).
    pub fn evaluated(&self, records: &[Record], took: Duration, at_epoch_seconds: f64) {
        self.with(|c| {
            c.evaluations += 1;
            c.evaluation_seconds += took.as_secs_f64();
            c.last_evaluation = Some(at_epoch_seconds);
            c.last_at = Some(std::time::Instant::now());
            c.last_ops = records.iter().filter(|r| r.result.is_some()).count();
            c.ready = true;
            c.alerts.clear();
            for r in records {
                let d = &r.decision;
                *c.decisions.entry(d.policy).or_default() += 1;
                if d.alert {
                    c.alerts.push((d.policy, d.subject.clone()));
                }
                if let (Some(op), Some(result)) = (&d.op, &r.result) {
                    let outcome = match result {
                        Ok(_) if r.dry_run => "dry-run",
                        Ok(_) => "done",
                        Err(_) => "failed",
                    };
                    *c.ops.entry((op.name().to_string(), outcome)).or_default() += 1;
                }
            }
        });
    }

    /// An op the trigger endpoint ran.
    pub fn triggered(&self, op: &'static str, done: bool) {
        self.with(|c| {
            let outcome = if done { "done" } else { "failed" };
            *c.ops.entry((op.to_string(), outcome)).or_default() += 1;
        });
    }

    /// A webhook delivery's end: sent, or failed after its tries.
    pub fn webhook(&self, sent: bool) {
        self.with(|c| {
            *c.webhooks
                .entry(if sent { "sent" } else { "failed" })
                .or_default() += 1
        });
    }

    /// Alerts the rate limit kept from the webhooks.
    pub fn webhooks_dropped(&self, n: u64) {
        if n > 0 {
            self.with(|c| *c.webhooks.entry("dropped").or_default() += n);
        }
    }

    /// In a few words, for the cockpit's header: `leading · evaluated 3 s ago · 1 op`.
    pub fn summary(&self) -> String {
        self.with(|c| match c.last_at {
            _ if c.stopped.is_some() => format!("stopped: {}", c.stopped.as_deref().unwrap_or("")),
            None => "starting".into(),
            Some(_) if !c.leader => "following (another agent holds the lease)".into(),
            Some(at) => format!(
                "leading · evaluated {} s ago · {} op{}",
                at.elapsed().as_secs(),
                c.last_ops,
                if c.last_ops == 1 { "" } else { "s" }
            ),
        })
    }

    /// The summary for the cockpit's header, marked as trouble once the agent stopped.
    pub fn line(&self) -> mlxp_core::agent::AgentLine {
        mlxp_core::agent::AgentLine {
            text: self.summary(),
            trouble: self.with(|c| c.stopped.is_some()),
        }
    }

    /// The agent ended on its own: it decides nothing more, and says why.
    pub fn stopped(&self, why: String) {
        self.with(|c| {
            c.stopped = Some(why);
            c.leader = false;
            c.ready = false;
        });
    }

    pub fn set_leader(&self, leader: bool) {
        self.with(|c| c.leader = leader);
    }

    /// How many `op`s were done so far.
    pub fn ops_done(&self, op: &str) -> u64 {
        self.with(|c| {
            c.ops
                .iter()
                .filter(|((name, result), _)| name == op && *result == "done")
                .map(|(_, n)| n)
                .sum()
        })
    }

    pub fn evaluations(&self) -> u64 {
        self.with(|c| c.evaluations)
    }

    pub fn ready(&self) -> bool {
        self.with(|c| c.ready)
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        self.with(|c| exposition(c))
    }
}

/// Each family's HELP and TYPE, then its samples: (what follows the name — a suffix,
/// labels — and the value).
fn exposition(c: &Counts) -> String {
    let mut text = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(text, "{name}{labels} {value}");
        }
    };
    family(
        "mlxp_agent_decisions_total",
        "counter",
        "Decisions made, by policy.",
        c.decisions
            .iter()
            .map(|(policy, n)| (format!("{{policy=\"{}\"}}", escape(policy)), n.to_string()))
            .collect(),
    );
    family(
        "mlxp_agent_ops_total",
        "counter",
        "Ops sent, by op and result (done, failed, dry-run).",
        c.ops
            .iter()
            .map(|((op, result), n)| {
                (
                    format!("{{op=\"{}\",result=\"{result}\"}}", escape(op)),
                    n.to_string(),
                )
            })
            .collect(),
    );
    let failed_ops: u64 = c
        .ops
        .iter()
        .filter(|((_, result), _)| *result == "failed")
        .map(|(_, n)| n)
        .sum();
    family(
        "mlxp_agent_errors_total",
        "counter",
        "Ops that failed.",
        vec![(String::new(), failed_ops.to_string())],
    );
    family(
        "mlxp_agent_evaluation_seconds",
        "summary",
        "Time the evaluations took.",
        vec![
            ("_sum".into(), c.evaluation_seconds.to_string()),
            ("_count".into(), c.evaluations.to_string()),
        ],
    );
    family(
        "mlxp_agent_last_evaluation_timestamp_seconds",
        "gauge",
        "When the last evaluation ran.",
        c.last_evaluation
            .map(|at| vec![(String::new(), at.to_string())])
            .unwrap_or_default(),
    );
    family(
        "mlxp_agent_leader",
        "gauge",
        "Whether this agent holds the lease.",
        vec![(String::new(), u8::from(c.leader).to_string())],
    );
    family(
        "mlxp_agent_webhook_sends_total",
        "counter",
        "Alerts to webhooks: sent, failed after their tries, dropped over the rate limit.",
        c.webhooks
            .iter()
            .map(|(result, n)| (format!("{{result=\"{result}\"}}"), n.to_string()))
            .collect(),
    );
    family(
        "mlxp_agent_alert",
        "gauge",
        "An alert of the last evaluation, by policy and subject.",
        c.alerts
            .iter()
            .map(|(policy, subject)| {
                (
                    format!(
                        "{{policy=\"{}\",subject=\"{}\"}}",
                        escape(policy),
                        escape(subject)
                    ),
                    "1".into(),
                )
            })
            .collect(),
    );
    text
}

/// A label value as the exposition format quotes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_whether_it_leads_and_when_it_last_evaluated() {
        let t = Telemetry::default();
        assert_eq!(t.summary(), "starting");
        t.set_leader(true);
        t.evaluated(&[], Duration::from_millis(2), 0.0);
        assert_eq!(t.summary(), "leading · evaluated 0 s ago · 0 ops");
        t.set_leader(false);
        assert_eq!(t.summary(), "following (another agent holds the lease)");
    }
}
