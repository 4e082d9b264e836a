//! Alerts to webhooks: each alerting decision, as a Slack-compatible body (`{"text": …}`)
//! or a generic JSON one. An alert (a policy and a subject) is sent when it appears, and
//! again only after `repeat` while it lasts; at most `per_minute` are sent a minute, the
//! rest dropped and counted. Delivery runs beside the agent, retried with backoff, so a
//! slow receiver never holds an evaluation up.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Record;
use super::telemetry::Telemetry;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `{"text": "…"}`: Slack, Mattermost, Rocket.Chat, Google Chat and the like.
    Slack,
    /// The decision's fields as JSON.
    Json,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    pub format: Format,
}

#[derive(Debug, Clone)]
pub struct AlertConfig {
    pub webhooks: Vec<Webhook>,
    /// A lasting alert is sent again after this long.
    pub repeat: Duration,
    pub per_minute: usize,
    /// Tries per delivery, the waits between them doubling from `backoff`.
    pub tries: u32,
    pub backoff: Duration,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            webhooks: Vec::new(),
            repeat: Duration::from_secs(3600),
            per_minute: 30,
            tries: 4,
            backoff: Duration::from_secs(1),
        }
    }
}

/// Which alerts go out now: new ones, lasting ones past `repeat`, within the rate limit.
#[derive(Debug, Default)]
pub struct Gate {
    /// (policy, subject) → when it was last sent.
    sent: BTreeMap<(String, String), Instant>,
    /// When the sends of the last minute went.
    recent: VecDeque<Instant>,
}

impl Gate {
    /// The alerting records to send of one evaluation; `dropped` counts those the rate
    /// limit held back. Alerts that are gone are forgotten (they are new if they return).
    pub fn pass<'a>(
        &mut self,
        records: &'a [Record],
        config: &AlertConfig,
        now: Instant,
        dropped: &mut u64,
    ) -> Vec<&'a Record> {
        let alerting: Vec<&Record> = records.iter().filter(|r| r.decision.alert).collect();
        let key = |r: &Record| (r.decision.policy.to_string(), r.decision.subject.clone());
        let live: Vec<(String, String)> = alerting.iter().map(|r| key(r)).collect();
        self.sent.retain(|k, _| live.contains(k));
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.recent.pop_front();
        }
        let mut out = Vec::new();
        for record in alerting {
            let k = key(record);
            let due = self
                .sent
                .get(&k)
                .is_none_or(|at| now.duration_since(*at) >= config.repeat);
            if !due {
                continue;
            }
            if self.recent.len() >= config.per_minute {
                *dropped += 1;
                continue;
            }
            self.recent.push_back(now);
            self.sent.insert(k, now);
            out.push(record);
        }
        out
    }
}

/// The body a webhook of `format` is sent for `record`.
pub fn body(record: &Record, format: Format) -> Value {
    let d = &record.decision;
    let outcome = match &record.result {
        None => String::new(),
        Some(Ok(effect)) => format!(" — done: {effect}"),
        Some(Err(e)) => format!(" — failed: {e}"),
    };
    match format {
        Format::Slack => json!({
            "text": format!("mlxp agent · {} · {}: {}{outcome}", d.policy, d.subject, d.reason)
        }),
        Format::Json => json!({
            "source": "mlxp-agent",
            "policy": d.policy,
            "subject": d.subject,
            "reason": d.reason,
            "figures": d.figures,
            "op": d.op,
            "result": record.result.as_ref().map(|r| match r {
                Ok(effect) => json!({"done": effect}),
                Err(e) => json!({"failed": e}),
            }),
            "dry_run": record.dry_run,
        }),
    }
}

/// Sends what the agent hands it, each to every webhook, until the sender is dropped.
pub fn deliver(config: AlertConfig, telemetry: std::sync::Arc<Telemetry>) -> mpsc::Sender<Record> {
    let (tx, mut rx) = mpsc::channel::<Record>(256);
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        while let Some(record) = rx.recv().await {
            for hook in &config.webhooks {
                let sent = send(&http, hook, &body(&record, hook.format), &config).await;
                telemetry.webhook(sent);
            }
        }
    });
    tx
}

/// One delivery: tried again on a failure or a 5xx / 429, waiting longer each time.
async fn send(http: &reqwest::Client, hook: &Webhook, body: &Value, config: &AlertConfig) -> bool {
    let mut wait = config.backoff;
    for attempt in 1..=config.tries.max(1) {
        let answer = http
            .post(&hook.url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => return true,
            // Refused for good: trying again will not help.
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                tracing::warn!(target: "mlxp::agent", webhook = %redact(&hook.url), status = r.status().as_u16(), "the webhook refused an alert");
                return false;
            }
            Ok(r) => {
                tracing::warn!(target: "mlxp::agent", webhook = %redact(&hook.url), status = r.status().as_u16(), attempt, "the webhook failed; trying again")
            }
            Err(e) => {
                tracing::warn!(target: "mlxp::agent", webhook = %redact(&hook.url), attempt, "the webhook could not be reached ({}); trying again", e.without_url())
            }
        }
        if attempt < config.tries {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    false
}

/// A webhook's address without its path: Slack's carry their secret there.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{host}/…")
        }
        None => "…".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlxp_core::agent::Decision;

    fn alert(subject: &str) -> Record {
        Record {
            decision: Decision {
                policy: "canary",
                subject: subject.into(),
                op: None,
                reason: "held: the metrics are 300 s old".into(),
                figures: BTreeMap::new(),
                alert: true,
                object: None,
            },
            result: None,
            dry_run: false,
        }
    }

    #[test]
    fn an_alert_is_sent_when_new_again_after_repeat_and_within_the_rate() {
        let config = AlertConfig {
            repeat: Duration::from_secs(600),
            per_minute: 2,
            ..AlertConfig::default()
        };
        let mut gate = Gate::default();
        let t0 = Instant::now();
        let mut dropped = 0;
        let records = [alert("a"), alert("b"), alert("c")];
        let sent = gate.pass(&records, &config, t0, &mut dropped);
        assert_eq!(sent.len(), 2, "two a minute");
        assert_eq!(dropped, 1);
        // The same alerts a minute later: a and b were sent, c goes now.
        let later = t0 + Duration::from_secs(61);
        let sent = gate.pass(&records, &config, later, &mut dropped);
        let subjects: Vec<&str> = sent.iter().map(|r| r.decision.subject.as_str()).collect();
        assert_eq!(subjects, ["c"]);
        // Past `repeat`, a lasting alert is sent again; one that went and came back is new.
        let much_later = t0 + Duration::from_secs(700);
        let sent = gate.pass(&records[..1], &config, much_later, &mut dropped);
        assert_eq!(sent.len(), 1);
        let sent = gate.pass(
            &records[1..2],
            &config,
            much_later + Duration::from_secs(1),
            &mut dropped,
        );
        assert_eq!(
            sent.len(),
            1,
            "b went away (not in the last evaluation) and came back"
        );
    }

    #[test]
    fn bodies_say_what_and_why() {
        let record = alert("serving/fraud-detector v2");
        assert_eq!(
            body(&record, Format::Slack)["text"],
            "mlxp agent · canary · serving/fraud-detector v2: held: the metrics are 300 s old"
        );
        let generic = body(&record, Format::Json);
        assert_eq!(generic["subject"], "serving/fraud-detector v2");
        assert_eq!(generic["policy"], "canary");
        assert_eq!(
            redact("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/…"
        );
    }
}
