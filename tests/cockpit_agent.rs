//! What the cockpit's header says of an agent running elsewhere, read from the
//! `mlxp-agent` Lease through the cockpit's own loop: nothing when no agent was ever
//! elected, who leads while its lease is renewed, and that none acts once it lapses.

mod common;

use std::time::Duration;

use common::cockpit::{step_until, synced};
use mlxp::agent::lease::{LeaseConfig, elect};
use mlxp::tui::app::App;
use mlxp::tui::run::{Cockpit, Options};
use mlxp_sim::Sim;
use tokio::sync::watch;

fn agent_says(app: &App) -> String {
    app.agent_line
        .as_ref()
        .map(|l| format!("{}{}", if l.trouble { "! " } else { "" }, l.text))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_says_who_leads_an_agent_elsewhere_and_when_none_acts() {
    let sim = Sim::start(mlxp_sim::SimConfig {
        manual_clock: true,
        ..Default::default()
    })
    .await
    .expect("sim starts");
    let client = sim.client(false).await.expect("client");
    let mut cockpit = Cockpit::new(client.clone(), None, Options::default());
    step_until(&mut cockpit, "synced", |app| {
        synced(app) && matches!(app.agent_leases, mlxp_core::agent::LeaseSeen::Seen(_))
    })
    .await;
    assert_eq!(
        agent_says(&cockpit.app),
        "",
        "no lease: no word of an agent"
    );

    let (_stop, stop) = watch::channel(false);
    let config = LeaseConfig {
        duration: Duration::from_secs(2),
        renew_every: Duration::from_millis(300),
        renew_deadline: Duration::from_secs(1),
        ..LeaseConfig::new("mlxp-system", "mlxp-agent-7f9c".into())
    };
    let election = elect(client, config, stop);
    step_until(&mut cockpit, "the leader shown", |app| {
        agent_says(app).starts_with("mlxp-agent-7f9c leads · renewed ")
    })
    .await;

    // Killed: no more renewals. Once its lease is older than its duration, none acts.
    election.abort();
    step_until(&mut cockpit, "the lapse shown", |app| {
        agent_says(app).starts_with("! none acting: mlxp-agent-7f9c's lease lapsed (renewed ")
    })
    .await;
}
