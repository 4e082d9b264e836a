//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection
//! does it: the holder renews every `renew_every`; another takes over once it has seen the
//! record unchanged for `duration` (its own clock, not the holder's: clocks differ); a
//! leader that cannot renew within `renew_deadline` stops leading at once; a leader that
//! stops releases the lease, so another takes over without waiting it out.

use std::time::{Duration, Instant};

use chrono::Utc;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// Who this agent is (its pod's name in a cluster, host and pid elsewhere).
    pub identity: String,
    pub duration: Duration,
    pub renew_every: Duration,
    pub renew_deadline: Duration,
}

impl LeaseConfig {
    /// `mlxp-agent` in `namespace`, with client-go's default timings (15 s, 2 s, 10 s).
    pub fn new(namespace: &str, identity: String) -> LeaseConfig {
        LeaseConfig {
            namespace: namespace.to_string(),
            name: "mlxp-agent".into(),
            identity,
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(2),
            renew_deadline: Duration::from_secs(10),
        }
    }
}

/// This process's name for the lease: `$POD_NAME` in a cluster, else host and pid.
pub fn identity() -> String {
    std::env::var("POD_NAME").unwrap_or_else(|_| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "mlxp".into());
        format!("{host}-{}", std::process::id())
    })
}

fn leases(client: kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, namespace, &crate::cluster::lease_resource())
}

fn micro_time() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The record as last seen, and when it was first seen so (on this clock).
struct Observed {
    record: (String, String),
    since: Instant,
}

/// An election in progress.
pub struct Election {
    /// Whether this agent leads.
    pub leading: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Election {
    /// Ends it as a killed process would: no more renewals, nothing released.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Waits (at most `bound`) for it to end after its stop, the lease released.
    pub async fn ended(self, bound: Duration) {
        let _ = tokio::time::timeout(bound, self.task).await;
    }
}

/// Elects this agent leader or not, until `stop` (then the lease is released).
pub fn elect(
    client: kube::Client,
    config: LeaseConfig,
    mut stop: watch::Receiver<bool>,
) -> Election {
    let (leading, rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let api = leases(client, &config.namespace);
        let mut observed: Option<Observed> = None;
        let mut renewed: Option<Instant> = None;
        loop {
            // A round never outlives the renew deadline: a request to a hung server (or
            // through a frozen network) would otherwise keep a leader leading for kube's
            // read timeout, minutes, while another agent takes the lease over.
            let patience = renewed.map_or(config.renew_deadline, |at| {
                config.renew_deadline.saturating_sub(at.elapsed())
            });
            let round = tokio::time::timeout(patience, try_lead(&api, &config, &mut observed))
                .await
                .map(|r| r.map_err(|e| e.to_string()))
                .unwrap_or_else(|_| Err(format!("no answer in {} ms", patience.as_millis())));
            match round {
                Ok(true) => {
                    renewed = Some(Instant::now());
                    leading.send_if_modified(|l| !std::mem::replace(l, true));
                }
                Ok(false) => {
                    renewed = None;
                    leading.send_if_modified(|l| std::mem::replace(l, false));
                }
                Err(e) => {
                    // Not renewed in time: another may hold it by now.
                    if renewed.is_none_or(|at| at.elapsed() >= config.renew_deadline) {
                        renewed = None;
                        leading.send_if_modified(|l| std::mem::replace(l, false));
                    }
                    tracing::warn!(target: "mlxp::agent", lease = %config.name, "the lease could not be read or renewed: {e}");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(config.renew_every) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        if *leading.borrow() {
            leading.send_replace(false);
            release(&api, &config).await;
        }
    });
    Election { leading: rx, task }
}

/// One round: Ok(true) when this agent holds the lease after it.
async fn try_lead(
    api: &Api<DynamicObject>,
    config: &LeaseConfig,
    observed: &mut Option<Observed>,
) -> Result<bool, kube::Error> {
    let me = config.identity.as_str();
    let Some(lease) = api.get_opt(&config.name).await? else {
        let created = api
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": config.name, "namespace": config.namespace},
                    "spec": spec(me, config, micro_time(), 0),
                }))
                .expect("a Lease"),
            )
            .await;
        return match created {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        };
    };
    let spec_now = &lease.data["spec"];
    let holder = spec_now["holderIdentity"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let record = (
        holder.clone(),
        spec_now["renewTime"].as_str().unwrap_or("").to_string(),
    );
    if observed.as_ref().is_none_or(|o| o.record != record) {
        *observed = Some(Observed {
            record,
            since: Instant::now(),
        });
    }
    let expired = observed
        .as_ref()
        .is_some_and(|o| o.since.elapsed() >= config.duration);
    let transitions = spec_now["leaseTransitions"].as_i64().unwrap_or(0);
    let next = if holder == me {
        // Renewed: acquireTime and transitions stay.
        let mut spec = spec(
            me,
            config,
            spec_now["acquireTime"].as_str().unwrap_or("").into(),
            transitions,
        );
        if spec["acquireTime"] == "" {
            spec["acquireTime"] = json!(micro_time());
        }
        spec
    } else if holder.is_empty() || expired {
        spec(me, config, micro_time(), transitions + 1)
    } else {
        return Ok(false);
    };
    let mut updated = lease.clone();
    updated.data["spec"] = next;
    // The resourceVersion read: a change since (another agent's) fails this one.
    match api
        .replace(&config.name, &PostParams::default(), &updated)
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

fn spec(me: &str, config: &LeaseConfig, acquired: String, transitions: i64) -> Value {
    json!({
        "holderIdentity": me,
        "leaseDurationSeconds": config.duration.as_secs().max(1),
        "acquireTime": acquired,
        "renewTime": micro_time(),
        "leaseTransitions": transitions,
    })
}

/// Gives the lease up (no holder), so that another agent need not wait it out.
async fn release(api: &Api<DynamicObject>, config: &LeaseConfig) {
    let Ok(Some(mut lease)) = api.get_opt(&config.name).await else {
        return;
    };
    if lease.data["spec"]["holderIdentity"] != config.identity.as_str() {
        return;
    }
    if let Some(spec) = lease.data["spec"].as_object_mut() {
        spec.remove("holderIdentity");
    }
    let _ = api
        .replace(&config.name, &PostParams::default(), &lease)
        .await;
}
