//! The verbs that run the embedded cluster (`mlxp demo`, `mlxp sim`): the only place the
//! binary touches `mlxp_sim`, behind the `sim` feature.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use mlxp_core::metrics::MetricsSource;
use mlxp_sim::{Scenario, Sim, SimConfig};

use crate::cluster::Contexts;
use crate::exec::Clock;

pub const DEMO_CONTEXT: &str = "mlxp-demo";
pub const DEMO_READONLY_CONTEXT: &str = "mlxp-demo-readonly";

/// The embedded cluster the demo runs, and how the cockpit reaches it.
pub struct Demo {
    /// Kept alive as long as the cockpit runs: dropping it stops the server.
    pub sim: Sim,
    pub contexts: Contexts,
    pub context: &'static str,
    pub metrics: Arc<dyn MetricsSource>,
}

/// Starts the small platform on a free port, with its two contexts (`mlxp-demo`, admin, and
/// `mlxp-demo-readonly`) and its in-process metrics.
pub async fn start_demo(seed: u64, speed: f64, readonly: bool) -> anyhow::Result<Demo> {
    let sim = Sim::start(SimConfig {
        seed,
        speed,
        scenario: Scenario::Platform {
            scale: mlxp_sim::Scale::Small,
        },
        ..Default::default()
    })
    .await?;
    let contexts = demo_contexts(&sim)?;
    let metrics = Arc::new(mlxp_sim::metrics_source::Embedded::new(sim.state().clone()));
    Ok(Demo {
        sim,
        contexts,
        context: if readonly {
            DEMO_READONLY_CONTEXT
        } else {
            DEMO_CONTEXT
        },
        metrics,
    })
}

/// The sim's contexts under the demo's names.
pub fn demo_contexts(sim: &Sim) -> anyhow::Result<Contexts> {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml())?;
    Ok(Contexts::renamed(
        kubeconfig,
        &[
            (DEMO_CONTEXT, mlxp_sim::kubeconfig::CONTEXT),
            (
                DEMO_READONLY_CONTEXT,
                mlxp_sim::kubeconfig::READONLY_CONTEXT,
            ),
        ],
    ))
}

/// What `mlxp sim` serves.
pub struct Serve {
    /// What to start beside it once it serves (the agent), handed the way in.
    pub beside: Option<Box<dyn FnOnce(Beside) + Send>>,
    pub listen: SocketAddr,
    pub seed: u64,
    pub speed: f64,
    pub kubeconfig_out: PathBuf,
    /// Where the objects, the CA and the tokens are kept across runs.
    pub data_dir: Option<PathBuf>,
    pub scenario: Scenario,
}

/// Serves the embedded cluster until Ctrl-C; SIGUSR1 stops its clock.
pub async fn serve(serve: Serve) -> anyhow::Result<()> {
    let sim = Sim::start(SimConfig {
        listen: serve.listen,
        seed: serve.seed,
        speed: serve.speed,
        scenario: serve.scenario,
        data_dir: serve.data_dir.clone(),
        ..Default::default()
    })
    .await?;
    sim.write_kubeconfig(&serve.kubeconfig_out)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(start) = serve.beside {
        start(beside(&sim, stopped).await?);
    }
    eprintln!(
        "mlxp sim: serving the Kubernetes API on https://{} \n  kubeconfig: {} (contexts mlxp-sim, mlxp-sim-readonly)\n  try: KUBECONFIG={} kubectl get nodes",
        sim.addr(),
        serve.kubeconfig_out.display(),
        serve.kubeconfig_out.display()
    );
    if let Some(dir) = &serve.data_dir {
        eprintln!("  data dir: {} (kept across runs)", dir.display());
    }
    // SIGUSR1 stops the simulated clock (no more watch events): a quiet cluster, for
    // measuring what an idle client costs.
    let mut pause = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?;
    // SIGTERM (what a container runtime or a service manager sends) stops it as Ctrl-C
    // does: what runs beside it is told, every watch is ended, and it exits 0.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            stopped = tokio::signal::ctrl_c() => {
                stopped?;
                return stop_serving(&sim, &stop).await;
            }
            _ = terminate.recv() => return stop_serving(&sim, &stop).await,
            _ = pause.recv() => {
                sim.pause();
                eprintln!("mlxp sim: clock paused (SIGUSR1)");
            }
        }
    }
}

/// Tells what runs beside the cluster to stop, ends every open watch and connection (a
/// client sees its watch end, not a reset), and gives the agent beside it a moment to
/// release its lease.
async fn stop_serving(
    sim: &mlxp_sim::Sim,
    stop: &tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<()> {
    eprintln!("mlxp sim: stopping");
    let _ = stop.send(true);
    sim.shut_down().await
}

/// The way in for what runs beside the embedded cluster: its admin's client, its numbers,
/// its clock (simulated time, however fast it runs), and when to stop.
pub struct Beside {
    pub client: kube::Client,
    pub context: String,
    pub metrics: Arc<dyn MetricsSource>,
    pub clock: Clock,
    pub stop: tokio::sync::watch::Receiver<bool>,
}

pub async fn beside(sim: &Sim, stop: tokio::sync::watch::Receiver<bool>) -> anyhow::Result<Beside> {
    let state = sim.state().clone();
    Ok(Beside {
        client: sim.client(false).await?,
        context: mlxp_sim::kubeconfig::CONTEXT.to_string(),
        metrics: Arc::new(mlxp_sim::metrics_source::Embedded::new(state.clone())),
        clock: Arc::new(move || state.clock.now()),
        stop,
    })
}
