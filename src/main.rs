use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mlxp: operate an ML platform on Kubernetes from the terminal.
#[derive(Parser, Debug)]
#[command(name = "mlxp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the cockpit on the current kubeconfig context (the default).
    Tui,
    /// Start the embedded GPU cluster and open the cockpit on it.
    Demo,
    /// Serve the embedded GPU cluster over the Kubernetes API and write a kubeconfig for it.
    Sim(SimArgs),
    /// Run the automation policies headless.
    Agent,
    /// Print pools, nodes, GPUs, jobs, queues, models or canaries.
    Get,
    /// Launch a training run for a model.
    Train,
    /// Trigger retraining of a model.
    Retrain,
    /// Show or step a model's canary.
    Canary,
    /// Promote a model version.
    Promote,
    /// Roll a model back to its previous version.
    Rollback,
}

#[derive(clap::Args, Debug)]
struct SimArgs {
    /// Address to serve the Kubernetes API on (HTTPS).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Seed of the generated cluster; the same seed gives the same cluster.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Where to write the kubeconfig (contexts `mlxp-sim` and `mlxp-sim-readonly`).
    #[arg(long, default_value = "mlxp-sim.kubeconfig")]
    kubeconfig_out: PathBuf,
    /// Size of the platform scenario: small (20 nodes), large (pools x4) or xlarge (5,060
    /// nodes, 40,000 GPUs, ~150,000 pods).
    #[arg(long, default_value = "small")]
    scale: ScaleArg,
    /// Instead of the platform scenario, just this many pods (and nodes to hold them).
    #[arg(long)]
    pods: Option<usize>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ScaleArg {
    Small,
    Large,
    Xlarge,
}

impl From<ScaleArg> for mlxp::sim::Scale {
    fn from(scale: ScaleArg) -> Self {
        match scale {
            ScaleArg::Small => mlxp::sim::Scale::Small,
            ScaleArg::Large => mlxp::sim::Scale::Large,
            ScaleArg::Xlarge => mlxp::sim::Scale::Xlarge,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Tui);
    let name = match command {
        Command::Sim(args) => return run_sim(args),
        Command::Tui => "the cockpit",
        Command::Demo => "demo",
        Command::Agent => "agent",
        Command::Get => "get",
        Command::Train => "train",
        Command::Retrain => "retrain",
        Command::Canary => "canary",
        Command::Promote => "promote",
        Command::Rollback => "rollback",
    };
    eprintln!("mlxp: {name} is not yet available (only `mlxp sim` is, so far)");
    std::process::exit(2);
}

fn run_sim(args: SimArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MLXP_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let config = mlxp::sim::SimConfig {
            listen: args.listen,
            seed: args.seed,
            speed: args.speed,
            scenario: match args.pods {
                Some(pods) => mlxp::sim::Scenario::Pods(pods),
                None => mlxp::sim::Scenario::Platform {
                    scale: args.scale.into(),
                },
            },
            ..Default::default()
        };
        let sim = mlxp::sim::Sim::start(config).await?;
        sim.write_kubeconfig(&args.kubeconfig_out)?;
        eprintln!(
            "mlxp sim: serving the Kubernetes API on https://{} \n  kubeconfig: {} (contexts mlxp-sim, mlxp-sim-readonly)\n  try: KUBECONFIG={} kubectl get nodes",
            sim.addr(),
            args.kubeconfig_out.display(),
            args.kubeconfig_out.display()
        );
        tokio::signal::ctrl_c().await?;
        eprintln!("mlxp sim: stopping");
        Ok(())
    })
}
