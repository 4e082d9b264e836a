//! Two agents on one cluster: one holds the `mlxp-agent` Lease and acts, the other does
//! nothing; the leader dies (its election stops without a word, as a killed process) and
//! the other takes over within the lease's duration; no op is done twice.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ops::platform;
use common::proxy::FaultProxy;
use mlxp::agent::lease::{LeaseConfig, elect};
use mlxp::agent::{Agent, Record};
use mlxp::cluster::snapshot_once;
use mlxp::exec::Executor;
use mlxp_core::agent::Policy;
use tokio::sync::watch;

const LEASE: Duration = Duration::from_secs(3);

fn config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        duration: LEASE,
        renew_every: Duration::from_millis(300),
        renew_deadline: Duration::from_secs(2),
        ..LeaseConfig::new("default", identity.into())
    }
}

fn agent(sim: &mlxp_sim::Sim, client: kube::Client, leading: watch::Receiver<bool>) -> Agent {
    let state = sim.state().clone();
    Agent::new(
        Executor::new(client, "mlxp-sim".into(), None),
        Arc::new(mlxp_sim::metrics_source::Embedded::new(state.clone())),
        Policy::default(),
        false,
        Arc::new(move || state.clock.now()),
    )
    .with_lease(leading)
}

async fn until(what: &str, bound: Duration, done: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < bound, "{what} within {bound:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

fn done_ops(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| matches!(r.result, Some(Ok(_))))
        .filter_map(|r| r.decision.op.as_ref())
        .map(|op| serde_json::to_string(op).expect("json"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_two_agents_acts_and_the_other_takes_over_when_it_dies() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let (_stop_a, stopped_a) = watch::channel(false);
    let (_stop_b, stopped_b) = watch::channel(false);
    let election_a = elect(client.clone(), config("agent-a"), stopped_a);
    let leads_a = election_a.leading.clone();
    // B starts a little later: A takes the free lease first.
    until("agent-a leading", Duration::from_secs(5), || {
        *leads_a.borrow()
    })
    .await;
    let leads_b = elect(client.clone(), config("agent-b"), stopped_b).leading;
    let mut a = agent(&p.sim, client.clone(), leads_a.clone());
    let mut b = agent(&p.sim, client.clone(), leads_b.clone());

    let (mut by_a, mut by_b) = (Vec::new(), Vec::new());
    for _ in 0..6 {
        p.sim.advance(Duration::from_secs(120));
        let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
            .await
            .expect("a snapshot");
        by_a.extend(a.evaluate(&snapshot).await);
        by_b.extend(b.evaluate(&snapshot).await);
        assert!(!(*leads_a.borrow() && *leads_b.borrow()), "two leaders");
    }
    assert!(!done_ops(&by_a).is_empty(), "the leader acts");
    assert!(by_b.is_empty(), "the follower decides nothing: {by_b:?}");

    // A dies without giving the lease up: its renewals stop, nothing is released.
    election_a.abort();
    drop(a);
    let took = until("agent-b leading", LEASE + Duration::from_secs(3), || {
        *leads_b.borrow()
    })
    .await;
    assert!(
        took <= LEASE + Duration::from_secs(1),
        "took over in {took:?}"
    );

    for _ in 0..30 {
        p.sim.advance(Duration::from_secs(120));
        let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
            .await
            .expect("a snapshot");
        by_b.extend(b.evaluate(&snapshot).await);
    }
    let (ops_a, ops_b) = (done_ops(&by_a), done_ops(&by_b));
    assert!(!ops_b.is_empty(), "the new leader acts");
    for op in &ops_b {
        let once_only =
            op.contains("\"register\"") || op.contains("\"deploy\"") || op.contains("\"validate\"");
        assert!(
            !(once_only && ops_a.contains(op)),
            "{op} done by both agents"
        );
    }
    let registered = |ops: &[String]| {
        ops.iter()
            .filter(|o| o.contains("\"op\":\"register\""))
            .count()
    };
    assert_eq!(
        registered(&ops_a) + registered(&ops_b),
        1,
        "v7 registered once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_stops_gives_the_lease_up_and_another_leads_at_once() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let (stop_a, stopped_a) = watch::channel(false);
    let (_stop_b, stopped_b) = watch::channel(false);
    let leads_a = elect(client.clone(), config("agent-a"), stopped_a).leading;
    until("agent-a leading", Duration::from_secs(5), || {
        *leads_a.borrow()
    })
    .await;
    let leads_b = elect(client.clone(), config("agent-b"), stopped_b).leading;
    stop_a.send_replace(true);
    let took = until("agent-b leading", LEASE, || *leads_b.borrow()).await;
    assert!(!*leads_a.borrow());
    // Released, not waited out: a renewal period or two, not the lease's duration.
    assert!(took < LEASE, "took over in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_by_a_frozen_network_stops_leading_before_another_takes_over() {
    let p = platform().await;
    let proxy = FaultProxy::start(p.sim.addr()).await;
    let mut through_proxy = p.sim.config(false).await.expect("config");
    through_proxy.cluster_url = format!("https://{}", proxy.addr()).parse().expect("url");
    let cut_off = kube::Client::try_from(through_proxy).expect("client");
    let direct = p.sim.client(false).await.expect("client");
    let (_stop_a, stopped_a) = watch::channel(false);
    let (_stop_b, stopped_b) = watch::channel(false);
    let leads_a = elect(cut_off, config("agent-a"), stopped_a).leading;
    until("agent-a leading", Duration::from_secs(5), || {
        *leads_a.borrow()
    })
    .await;
    let leads_b = elect(direct, config("agent-b"), stopped_b).leading;

    // A's requests now go unanswered (not refused): it must stop leading on its own,
    // within its renew deadline, before B takes the lease over.
    proxy.freeze();
    let frozen = Instant::now();
    let mut a_stopped = None;
    while !*leads_b.borrow() {
        assert!(
            frozen.elapsed() < LEASE + Duration::from_secs(3),
            "agent-b never took over"
        );
        if a_stopped.is_none() && !*leads_a.borrow() {
            a_stopped = Some(frozen.elapsed());
        }
        assert!(
            !(*leads_a.borrow() && *leads_b.borrow()),
            "two leaders at {:?}",
            frozen.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a_stopped = a_stopped.expect("agent-a stopped leading before agent-b led");
    assert!(
        a_stopped <= Duration::from_secs(2) + Duration::from_millis(500),
        "agent-a stopped leading {a_stopped:?} after the freeze (renew deadline 2 s)"
    );
    proxy.resume();
}
