//! The `mlxp-agent` Leases, in every namespace, watched (never polled): what the cockpit
//! knows of an agent running elsewhere. Only leases of that name are asked for, so a big
//! cluster's node leases (one per node, renewed every 10 s) never reach us.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use mlxp_core::agent::{LeaseRecord, LeaseSeen};
use tokio::sync::watch;

use super::cause::Cause;

fn record(lease: &DynamicObject) -> LeaseRecord {
    let spec = &lease.data["spec"];
    let renewed = spec["renewTime"]
        .as_str()
        .or(spec["acquireTime"].as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    LeaseRecord {
        namespace: lease.metadata.namespace.clone().unwrap_or_default(),
        holder: spec["holderIdentity"]
            .as_str()
            .filter(|h| !h.is_empty())
            .map(String::from),
        renewed,
        duration_seconds: spec["leaseDurationSeconds"].as_i64().unwrap_or(15),
    }
}

/// `coordination.k8s.io/v1` Lease, as the dynamic API names it.
pub fn lease_resource() -> ApiResource {
    ApiResource {
        group: "coordination.k8s.io".into(),
        version: "v1".into(),
        api_version: "coordination.k8s.io/v1".into(),
        kind: "Lease".into(),
        plural: "leases".into(),
    }
}

/// The watch of the `mlxp-agent` Leases; dropping it stops the watch.
pub struct AgentLeases {
    pub seen: watch::Receiver<LeaseSeen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AgentLeases {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches the `mlxp-agent` Leases; a failing watch is `Unknown` with its cause until it
/// recovers (it backs off and never gives up).
pub fn agent_leases(client: kube::Client) -> AgentLeases {
    let (tx, rx) = watch::channel(LeaseSeen::Unknown("not read yet".into()));
    let api: Api<DynamicObject> = Api::all_with(client, &lease_resource());
    let config = watcher::Config::default().fields("metadata.name=mlxp-agent");
    let task = tokio::spawn(async move {
        let mut events = watcher(api, config).default_backoff().boxed();
        let mut leases: BTreeMap<String, LeaseRecord> = BTreeMap::new();
        let mut relisting: Option<BTreeMap<String, LeaseRecord>> = None;
        while let Some(event) = events.next().await {
            let publish = match event {
                Ok(watcher::Event::Init) => {
                    relisting = Some(BTreeMap::new());
                    false
                }
                Ok(watcher::Event::InitApply(lease)) => {
                    let r = record(&lease);
                    if let Some(fresh) = relisting.as_mut() {
                        fresh.insert(r.namespace.clone(), r);
                    }
                    false
                }
                Ok(watcher::Event::InitDone) => {
                    leases = relisting.take().unwrap_or_default();
                    true
                }
                Ok(watcher::Event::Apply(lease)) => {
                    let r = record(&lease);
                    leases.insert(r.namespace.clone(), r);
                    true
                }
                Ok(watcher::Event::Delete(lease)) => {
                    leases.remove(&lease.metadata.namespace.clone().unwrap_or_default());
                    true
                }
                Err(e) => {
                    let why = Cause::of_chain(&e).to_string();
                    if tx.send(LeaseSeen::Unknown(why)).is_err() {
                        return;
                    }
                    false
                }
            };
            if publish
                && tx
                    .send(LeaseSeen::Seen(leases.values().cloned().collect()))
                    .is_err()
            {
                return;
            }
        }
    });
    AgentLeases { seen: rx, task }
}
