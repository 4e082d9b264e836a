use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use mlxp::cli::act::Asked;

/// mlxp: operate an ML platform on Kubernetes from the terminal.
#[derive(Parser, Debug)]
#[command(name = "mlxp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    // Global: taken on the bare command and on every verb, before or after it, as kubectl
    // takes its flags.
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    cockpit: CockpitArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the cockpit on the current kubeconfig context (the default).
    Tui,
    /// Start the embedded GPU cluster and open the cockpit on it.
    #[cfg(feature = "sim")]
    Demo(DemoArgs),
    /// Serve the embedded GPU cluster over the Kubernetes API and write a kubeconfig for it.
    #[cfg(feature = "sim")]
    Sim(SimArgs),
    /// Run the automation headless on the current context: the pipeline, canary analysis,
    /// drift retraining; one JSON line per decision on stderr.
    Agent(mlxp::agent::start::AgentArgs),
    /// Print pools, nodes, GPUs, jobs, queues, models or canaries.
    Get(GetArgs),
    /// Print (or follow) the log of a pod, or of every pod of a Job or a Deployment.
    Logs(mlxp::cli::logs::LogsArgs),
    /// Launch a training run of a model: a Job from its training spec, with overrides.
    Train(mlxp::cli::act::TrainArgs),
    /// Retrain a model: its next training run, a Job from its own training spec.
    Retrain(mlxp::cli::act::RetrainArgs),
    /// Set a model's traffic weights, or step its canary.
    Canary {
        #[command(subcommand)]
        command: mlxp::cli::act::CanaryCommand,
    },
    /// Restart a served version, or bound its replicas.
    Serving {
        #[command(subcommand)]
        command: mlxp::cli::act::ServingCommand,
    },
    /// Cordon, uncordon or drain a node.
    Node {
        #[command(subcommand)]
        command: mlxp::cli::act::NodeCommand,
    },
    /// Stop or resume a Kueue queue or Workload, as kueuectl does.
    Queue {
        #[command(subcommand)]
        command: mlxp::cli::act::QueueCommand,
    },
    /// Suspend or resume a Job.
    Job {
        #[command(subcommand)]
        command: mlxp::cli::act::JobCommand,
    },
    /// Promote a model version: all traffic, stage Production, the previous one archived.
    Promote(mlxp::cli::act::PromoteArgs),
    /// Roll a model's canary back: its traffic to the Production version, the canary rejected.
    Rollback(mlxp::cli::act::RollbackArgs),
    /// Approve a model version: the gate a rollout waits on (who and when, as annotations).
    Approve(mlxp::cli::act::GateArgs),
    /// Reject a model version that takes no traffic, with the reason.
    Reject(mlxp::cli::act::RejectArgs),
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Tui => "tui",
            #[cfg(feature = "sim")]
            Command::Demo(_) => "demo",
            #[cfg(feature = "sim")]
            Command::Sim(_) => "sim",
            Command::Agent(_) => "agent",
            Command::Get(_) => "get",
            Command::Logs(_) => "logs",
            Command::Train(_) => "train",
            Command::Retrain(_) => "retrain",
            Command::Canary { .. } => "canary",
            Command::Serving { .. } => "serving",
            Command::Node { .. } => "node",
            Command::Queue { .. } => "queue",
            Command::Job { .. } => "job",
            Command::Promote(_) => "promote",
            Command::Rollback(_) => "rollback",
            Command::Approve(_) => "approve",
            Command::Reject(_) => "reject",
        }
    }
}

/// Which cluster and which metrics: as kubectl picks the cluster.
#[derive(clap::Args, Debug, Default)]
struct ClusterArgs {
    /// The kubeconfig to read (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true)]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, global = true)]
    context: Option<String>,
    /// The namespace: the cockpit starts in it, `get` keeps to it (default: all).
    #[arg(short = 'n', long, global = true)]
    namespace: Option<String>,
    /// Prometheus to read GPU, serving and model metrics from (overrides the config's url).
    #[arg(long, global = true)]
    prometheus: Option<String>,
    /// The config file (default: $XDG_CONFIG_HOME/mlxp/mlxp.toml when it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

/// How the cockpit opens (`mlxp`, `mlxp tui`, `mlxp demo`).
#[derive(clap::Args, Debug, Default)]
struct CockpitArgs {
    /// Read-only: offer no action that changes the cluster, and refuse the verbs that do
    /// (exit 4). With demo: start on its read-only context, mlxp-demo-readonly.
    #[arg(long, global = true)]
    readonly: bool,
    /// Built-in theme: dark (the default), light, high-contrast, solarized-dark.
    #[arg(long, global = true)]
    theme: Option<String>,
    /// Built-in keymap: default or vim.
    #[arg(long, global = true)]
    keymap: Option<String>,
    /// Run the agent too: beside the cockpit (its decisions become Events, its log goes to
    /// the state directory), or beside `mlxp sim` (its decisions on stderr).
    #[arg(long, global = true)]
    agent: bool,
}

impl Cli {
    /// The cluster flags given to a verb that runs its own cluster: refused rather than
    /// ignored, so that `mlxp demo --kubeconfig F` does not seem to be showing F's cluster.
    fn foreign_cluster_flags(&self, command: &Command) -> Vec<&'static str> {
        #[cfg(feature = "sim")]
        let own_cluster = matches!(command, Command::Demo(_) | Command::Sim(_));
        #[cfg(not(feature = "sim"))]
        let own_cluster = {
            let _ = command;
            false
        };
        if !own_cluster {
            return Vec::new();
        }
        let cluster = &self.cluster;
        [
            ("--kubeconfig", cluster.kubeconfig.is_some()),
            ("--context", cluster.context.is_some()),
            ("--prometheus", cluster.prometheus.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

type Metrics = Option<std::sync::Arc<dyn mlxp::metrics::MetricsSource>>;

/// What the cluster flags and the config file lead to.
struct Connected {
    client: kube::Client,
    /// The context connected to.
    context: String,
    /// The metrics source, if one is configured.
    metrics: Metrics,
    prices: mlxp_core::domain::cost::PriceTable,
    /// Every context of the kubeconfig, for `:ctx`.
    contexts: mlxp::cluster::Contexts,
}

impl ClusterArgs {
    async fn connect(&self) -> anyhow::Result<Connected> {
        mlxp::install_crypto_provider();
        let contexts = mlxp::cluster::Contexts::read(self.kubeconfig.clone())?;
        let context = self
            .context
            .clone()
            .or_else(|| contexts.current())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the kubeconfig has no current context: use --context NAME ({})",
                    mlxp::cluster::context_listing(&contexts.names())
                )
            })?;
        let client = contexts.connect(&context).await?;
        let file = config_file(self.config.as_deref())?;
        let metrics = metrics_source(file.as_ref(), self.prometheus.as_deref())?;
        Ok(Connected {
            client,
            context,
            metrics,
            prices: prices(file.as_ref())?,
            contexts,
        })
    }
}

/// The user's mlxp.toml and its text, read once for every section: the --config file, else
/// `$XDG_CONFIG_HOME/mlxp/mlxp.toml` (`~/.config/mlxp/mlxp.toml`) when it exists.
fn config_file(file: Option<&std::path::Path>) -> anyhow::Result<Option<(PathBuf, String)>> {
    let default_file = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|base| base.join("mlxp").join("mlxp.toml"))
        .filter(|p| p.exists());
    file.map(PathBuf::from)
        .or(default_file)
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok((path, text))
        })
        .transpose()
}

/// The metrics config: the built-in defaults, the user's file laid over them, then --prometheus.
fn metrics_config(
    file: Option<&(PathBuf, String)>,
    prometheus: Option<&str>,
) -> anyhow::Result<mlxp::metrics::MetricsConfig> {
    let mut config = match file {
        Some((path, text)) => mlxp::metrics::MetricsConfig::from_toml(text, path)?,
        None => mlxp::metrics::MetricsConfig::defaults(),
    };
    if let Some(url) = prometheus {
        config.url = url.to_string();
    }
    Ok(config)
}

/// Prometheus when a URL is configured, else none.
fn metrics_source(
    file: Option<&(PathBuf, String)>,
    prometheus: Option<&str>,
) -> anyhow::Result<Metrics> {
    let config = metrics_config(file, prometheus)?;
    if config.url.is_empty() {
        return Ok(None);
    }
    Ok(Some(std::sync::Arc::new(mlxp::metrics::Prometheus::new(
        &config,
    )?)))
}

/// The `[cost]` prices: the built-in examples with the user's file laid over them.
fn prices(file: Option<&(PathBuf, String)>) -> anyhow::Result<mlxp_core::domain::cost::PriceTable> {
    Ok(match file {
        Some((path, text)) => mlxp_core::domain::cost::PriceTable::from_toml(text, path)?,
        None => mlxp_core::domain::cost::PriceTable::defaults(),
    })
}

#[derive(clap::Args, Debug)]
struct GetArgs {
    /// What to print.
    what: mlxp::cli::get::What,
    /// Output format.
    #[arg(short = 'o', long, default_value = "table")]
    output: mlxp::cli::get::Output,
}

#[cfg(feature = "sim")]
#[derive(clap::Args, Debug)]
struct DemoArgs {
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Same seed, same cluster.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The agent's time between evaluations (with --agent).
    #[arg(long, value_parser = mlxp::agent::start::parse_interval, requires = "agent")]
    interval: Option<std::time::Duration>,
}

#[cfg(feature = "sim")]
#[derive(clap::Args, Debug)]
struct SimArgs {
    /// Address to serve the Kubernetes API on (HTTPS).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: std::net::SocketAddr,
    /// Seed of the generated cluster; the same seed gives the same cluster.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Where to write the kubeconfig (contexts `mlxp-sim` and `mlxp-sim-readonly`).
    #[arg(long, default_value = "mlxp-sim.kubeconfig")]
    kubeconfig_out: PathBuf,
    /// Keep the objects, the CA and the tokens in this directory (made if absent): a later
    /// run with it starts from them instead of the scenario, and earlier kubeconfigs still work.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Size of the platform scenario: small (20 nodes), large (pools x4) or xlarge (5,060
    /// nodes, 40,000 GPUs, ~150,000 pods).
    #[arg(long, default_value = "small")]
    scale: ScaleArg,
    /// Instead of the platform scenario, just this many pods (and nodes to hold them).
    #[arg(long)]
    pods: Option<usize>,
    /// The agent's time between evaluations (with --agent).
    #[arg(long, value_parser = mlxp::agent::start::parse_interval, requires = "agent")]
    interval: Option<std::time::Duration>,
}

#[cfg(feature = "sim")]
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ScaleArg {
    Small,
    Large,
    Xlarge,
}

#[cfg(feature = "sim")]
impl From<ScaleArg> for mlxp_sim::Scale {
    fn from(scale: ScaleArg) -> Self {
        match scale {
            ScaleArg::Small => mlxp_sim::Scale::Small,
            ScaleArg::Large => mlxp_sim::Scale::Large,
            ScaleArg::Xlarge => mlxp_sim::Scale::Xlarge,
        }
    }
}

fn main() {
    // Errors are for the user: one line each, the causes after colons, no backtrace.
    if let Err(e) = run(Cli::parse()) {
        eprintln!("mlxp: {e:#}");
        std::process::exit(1);
    }
}

fn run(mut cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.take().unwrap_or(Command::Tui);
    let foreign = cli.foreign_cluster_flags(&command);
    if !foreign.is_empty() {
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "mlxp {} runs a cluster of its own: {} does not apply",
                    command.name(),
                    foreign.join(", ")
                ),
            )
            .exit();
    }
    if cli.cockpit.readonly && cli.cockpit.agent {
        eprintln!(
            "mlxp: --readonly and --agent: the agent changes the cluster; nothing was started"
        );
        std::process::exit(2);
    }
    if cli.cockpit.readonly && cli.cockpit.agent {
        eprintln!(
            "mlxp: --readonly and --agent: the agent changes the cluster; nothing was started"
        );
        std::process::exit(2);
    }
    match command {
        #[cfg(feature = "sim")]
        Command::Sim(args) => run_sim(args, cli.cluster, cli.cockpit.agent),
        Command::Tui => run_tui(cli.cluster, cli.cockpit),
        #[cfg(feature = "sim")]
        Command::Demo(args) => run_demo(args, cli.cluster, cli.cockpit),
        Command::Get(args) => run_get(args, cli.cluster),
        Command::Logs(args) => run_logs(args, cli.cluster),
        Command::Canary { .. }
        | Command::Node { .. }
        | Command::Queue { .. }
        | Command::Job { .. }
        | Command::Serving { .. }
        | Command::Promote(_)
        | Command::Rollback(_)
        | Command::Retrain(_)
        | Command::Train(_)
        | Command::Approve(_)
        | Command::Reject(_)
            if cli.cockpit.readonly =>
        {
            eprintln!(
                "mlxp: --readonly: mlxp {} changes the cluster; nothing was sent",
                command.name()
            );
            std::process::exit(4);
        }
        Command::Canary { command } => run_act(cli.cluster, Asked::Canary(command)),
        Command::Node { command } => run_act(cli.cluster, Asked::Node(command)),
        Command::Queue { command } => run_act(cli.cluster, Asked::Queue(command)),
        Command::Job { command } => run_act(cli.cluster, Asked::Job(command)),
        Command::Serving { command } => run_act(cli.cluster, Asked::Serving(command)),
        Command::Promote(args) => run_act(cli.cluster, Asked::Promote(args)),
        Command::Rollback(args) => run_act(cli.cluster, Asked::Rollback(args)),
        Command::Retrain(args) => run_act(cli.cluster, Asked::Retrain(args)),
        Command::Train(args) => run_act(cli.cluster, Asked::Train(args)),
        Command::Approve(args) => run_act(cli.cluster, Asked::Approve(args)),
        Command::Reject(args) => run_act(cli.cluster, Asked::Reject(args)),
        Command::Agent(_) if cli.cockpit.readonly => {
            eprintln!("mlxp: --readonly: the agent changes the cluster; use --dry-run");
            std::process::exit(4);
        }
        Command::Agent(args) => run_agent(args, cli.cluster),
    }
}

/// The agent on a cluster the kubeconfig reaches, until Ctrl-C.
fn run_agent(args: mlxp::agent::start::AgentArgs, cluster: ClusterArgs) -> anyhow::Result<()> {
    let file = config_file(cluster.config.as_deref())?;
    let settings =
        mlxp::agent::start::settings(file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())), &args)?;
    mlxp::agent::start::log_as_json();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let namespace = cluster
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let (client, context, metrics) = match cluster.connect().await {
            Ok(connected) => {
                connected.answering().await?;
                (connected.client, connected.context, connected.metrics)
            }
            // In a pod: no kubeconfig, its ServiceAccount instead.
            Err(no_kubeconfig) => match mlxp::cluster::in_cluster() {
                Some(client) => {
                    let client = client.map_err(|e| anyhow::anyhow!("in-cluster config: {e}"))?;
                    let metrics = metrics_source(file.as_ref(), cluster.prometheus.as_deref())?;
                    (client, "in-cluster".to_string(), metrics)
                }
                None => return Err(no_kubeconfig),
            },
        };
        let stop = mlxp::agent::start::stop_on_ctrl_c();
        let at = mlxp::agent::start::Placement {
            client,
            context,
            namespace,
            metrics,
            clock: mlxp::exec::wall_clock(),
            telemetry: Default::default(),
        };
        mlxp::agent::start::run(at, settings, &args, stop).await
    })
}

fn options(
    cockpit: CockpitArgs,
    namespace: Option<String>,
    context: String,
    prices: mlxp_core::domain::cost::PriceTable,
) -> mlxp::tui::run::Options {
    mlxp::tui::run::Options {
        keymap: cockpit.keymap.unwrap_or_else(|| "default".into()),
        theme: cockpit.theme.unwrap_or_else(|| "dark".into()),
        readonly: cockpit.readonly,
        namespace,
        context,
        prices,
        ..Default::default()
    }
}

/// The cockpit on the embedded cluster: it runs in-process on a free port and the cockpit
/// reaches it as any cluster, through the kube client over HTTPS.
#[cfg(feature = "sim")]
fn run_demo(args: DemoArgs, cluster: ClusterArgs, cockpit: CockpitArgs) -> anyhow::Result<()> {
    // The user's prices apply to the demo's cluster too.
    let prices = prices(config_file(cluster.config.as_deref())?.as_ref())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let agent = if cockpit.agent {
        let (settings, agent_args) = embedded_agent(args.interval, &cluster)?;
        // The cockpit has the terminal: the decisions go to a file (and become Events).
        let log = mlxp::agent::start::log_to_state_file()?;
        Some((settings, agent_args, log))
    } else {
        None
    };
    runtime.block_on(async move {
        let demo = mlxp::cli::embedded::start_demo(args.seed, args.speed, cockpit.readonly).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let telemetry = std::sync::Arc::new(mlxp::agent::telemetry::Telemetry::default());
        let log = match agent {
            Some((settings, agent_args, log)) => {
                let way_in = mlxp::cli::embedded::beside(&demo.sim, stopped.clone()).await?;
                let at = placement_beside(way_in, telemetry.clone());
                mlxp::agent::start::spawn(at, settings, agent_args, stopped);
                Some(log)
            }
            None => None,
        };
        let client = demo.contexts.connect(demo.context).await?;
        let mut options = options(cockpit, cluster.namespace, demo.context.to_string(), prices);
        options.contexts = demo.contexts;
        if log.is_some() {
            options.agent_status = Some(std::sync::Arc::new(move || telemetry.line()));
        }
        let _sim = demo.sim;
        let shown = mlxp::tui::run::run(client, Some(demo.metrics), options).await;
        let _ = stop.send(true);
        if let Some(log) = log {
            eprintln!("mlxp demo: the agent's decisions: {}", log.display());
        }
        shown
    })
}

/// The cockpit on a cluster the kubeconfig reaches, as kubectl picks it.
fn run_tui(cluster: ClusterArgs, cockpit: CockpitArgs) -> anyhow::Result<()> {
    let agent = if cockpit.agent {
        let file = config_file(cluster.config.as_deref())?;
        let agent_args = mlxp::agent::start::AgentArgs::default();
        let settings = mlxp::agent::start::settings(
            file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
            &agent_args,
        )?;
        // The cockpit has the terminal: the decisions go to a file (and become Events).
        let log = mlxp::agent::start::log_to_state_file()?;
        Some((settings, agent_args, log))
    } else {
        None
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let connected = cluster.connect().await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let telemetry = std::sync::Arc::new(mlxp::agent::telemetry::Telemetry::default());
        let log = agent.map(|(settings, agent_args, log)| {
            let at = mlxp::agent::start::Placement {
                client: connected.client.clone(),
                context: connected.context.clone(),
                namespace: cluster
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into()),
                metrics: connected.metrics.clone(),
                clock: mlxp::exec::wall_clock(),
                telemetry: telemetry.clone(),
            };
            mlxp::agent::start::spawn(at, settings, agent_args, stopped);
            log
        });
        let mut options = options(
            cockpit,
            cluster.namespace.clone(),
            connected.context,
            connected.prices,
        );
        options.contexts = connected.contexts;
        if log.is_some() {
            options.agent_status = Some(std::sync::Arc::new(move || telemetry.line()));
        }
        let shown = mlxp::tui::run::run(connected.client, connected.metrics, options).await;
        let _ = stop.send(true);
        if let Some(log) = log {
            eprintln!("mlxp: the agent's decisions: {}", log.display());
        }
        shown
    })
}

/// How long `mlxp get` waits for the API server's `/version` before saying it is not there.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Connected {
    /// What keeps the cluster from answering, said at once as kubectl does, not after the
    /// watchers have retried it until the sync times out.
    async fn answering(&self) -> anyhow::Result<()> {
        if let Err(cause) = mlxp::cluster::probe(&self.client, PROBE_TIMEOUT).await {
            let server = self.contexts.server(&self.context).unwrap_or("?");
            anyhow::bail!(
                "the cluster at {server} (context {}): {cause}",
                self.context
            );
        }
        Ok(())
    }
}

fn run_get(args: GetArgs, cluster: ClusterArgs) -> anyhow::Result<()> {
    let (what, output) = (args.what, args.output);
    let runtime = tokio::runtime::Runtime::new()?;
    let text = runtime.block_on(async move {
        let connected = cluster.connect().await?;
        connected.answering().await?;
        mlxp::cli::get::get(
            connected.client,
            connected.metrics,
            &connected.prices,
            what,
            output,
            cluster.namespace.as_deref(),
        )
        .await
    })?;
    write_stdout(&text)
}

/// A verb that changes the cluster: its output, then its exit code (3 refused, 4 forbidden).
fn run_logs(args: mlxp::cli::logs::LogsArgs, cluster: ClusterArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let code = runtime.block_on(async move {
        let connected = cluster.connect().await?;
        connected.answering().await?;
        mlxp::cli::logs::logs(connected.client, cluster.namespace.as_deref(), args).await
    })?;
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

fn run_act(cluster: ClusterArgs, asked: Asked) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let (text, code) = runtime.block_on(async move {
        let connected = cluster.connect().await?;
        connected.answering().await?;
        let namespace = cluster.namespace.as_deref();
        mlxp::cli::act::act(connected.client, connected.context, namespace, asked).await
    })?;
    write_stdout(&text)?;
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

/// Writes `text` to stdout. A reader that has gone (`| head -n 1`) ends the output quietly,
/// as it does for Unix tools: what it did not read, it did not want.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => Ok(written?),
    }
}

/// How often the agent beside the embedded cluster evaluates, unless told: its clock may
/// run 60 times faster than the machine's.
#[cfg(feature = "sim")]
const EMBEDDED_AGENT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The agent's settings and flags beside the embedded cluster.
#[cfg(feature = "sim")]
fn embedded_agent(
    interval: Option<std::time::Duration>,
    cluster: &ClusterArgs,
) -> anyhow::Result<(mlxp::agent::start::Settings, mlxp::agent::start::AgentArgs)> {
    let file = config_file(cluster.config.as_deref())?;
    let agent_args = mlxp::agent::start::AgentArgs {
        interval: interval.or(Some(EMBEDDED_AGENT_INTERVAL)),
        // Any free port: two demos on one machine must not collide.
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Default::default()
    };
    let settings = mlxp::agent::start::settings(
        file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
        &agent_args,
    )?;
    Ok((settings, agent_args))
}

/// Where the agent beside the embedded cluster runs: as its admin, on its clock and
/// numbers, its Lease in `default`.
#[cfg(feature = "sim")]
fn placement_beside(
    way_in: mlxp::cli::embedded::Beside,
    telemetry: std::sync::Arc<mlxp::agent::telemetry::Telemetry>,
) -> mlxp::agent::start::Placement {
    mlxp::agent::start::Placement {
        client: way_in.client,
        context: way_in.context,
        namespace: "default".into(),
        metrics: Some(way_in.metrics),
        clock: way_in.clock,
        telemetry,
    }
}

#[cfg(feature = "sim")]
fn run_sim(args: SimArgs, cluster: ClusterArgs, agent: bool) -> anyhow::Result<()> {
    let agent = if agent {
        Some(embedded_agent(args.interval, &cluster)?)
    } else {
        None
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("MLXP_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // With the agent its decisions are JSON lines, and so is the rest.
    if agent.is_some() {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let beside = agent.map(|(settings, agent_args)| {
        Box::new(move |way_in: mlxp::cli::embedded::Beside| {
            let stop = way_in.stop.clone();
            let at = placement_beside(way_in, Default::default());
            mlxp::agent::start::spawn(at, settings, agent_args, stop);
        }) as Box<dyn FnOnce(mlxp::cli::embedded::Beside) + Send>
    });
    runtime.block_on(mlxp::cli::embedded::serve(mlxp::cli::embedded::Serve {
        beside,
        listen: args.listen,
        seed: args.seed,
        speed: args.speed,
        kubeconfig_out: args.kubeconfig_out,
        data_dir: args.data_dir,
        scenario: match args.pods {
            Some(pods) => mlxp_sim::Scenario::Pods(pods),
            None => mlxp_sim::Scenario::Platform {
                scale: args.scale.into(),
            },
        },
    }))
}
