//! The verbs that change the cluster (`mlxp canary set|step`, `mlxp promote`, `mlxp
//! rollback`, `mlxp retrain`, `mlxp approve`, `mlxp reject`, `mlxp serving restart|scale`, `mlxp node
//! cordon|uncordon|drain`, `mlxp queue stop|resume`, `mlxp job suspend|resume`):
//! each reads one snapshot, builds its `Op` and hands it to the executor, as the cockpit
//! and the agent do. Exit codes: 0 done, 1 error, 2 usage, 3 refused by a precondition,
//! 4 forbidden.

use std::time::Duration;

use crate::cluster::{Snapshot, snapshot_once};
use crate::exec::{ExecError, Executor, Mode, Outcome, default_audit_path};
use mlxp_core::ops::{Capacity, Op, Overrides, Refused, find_queue, model_namespace};

/// How long to wait for every source's first list.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(clap::Subcommand, Debug)]
pub enum CanaryCommand {
    /// Set the weights of a model's versions on its route (they must sum to 100; versions
    /// not named keep theirs), e.g. `mlxp canary set fraud-detector v1=50 v2=50`.
    Set {
        model: String,
        #[arg(required = true, value_parser = version_weight)]
        weights: Vec<(String, i32)>,
        /// Send traffic to a version with no ready replica anyway (it would fail).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        how: How,
    },
    /// Move the canary to the next of its Model's canary steps.
    Step {
        model: String,
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        how: How,
    },
}

/// `mlxp promote MODEL VERSION`.
#[derive(clap::Args, Debug)]
pub struct PromoteArgs {
    model: String,
    version: String,
    /// Send all traffic to it even with no ready replica (it would fail).
    #[arg(long)]
    force: bool,
    /// Step by step: the canary to its Model's next canary step; promoted at the last.
    #[arg(long)]
    step: bool,
    #[command(flatten)]
    how: How,
}

/// `mlxp rollback MODEL`.
#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    model: String,
    /// Why, kept on the rejected canary (annotation mlxp.io/rejected-reason).
    #[arg(long, default_value = "rolled back by hand")]
    reason: String,
    #[command(flatten)]
    how: How,
}

/// `mlxp retrain MODEL`.
#[derive(clap::Args, Debug)]
pub struct RetrainArgs {
    model: String,
    /// Start another run even while one of its training Jobs is active.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    how: How,
}

/// `mlxp train MODEL [--gpus N] [--pool P] [--spot|--on-demand] [--image I] [--set K=V]…`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    model: String,
    /// GPUs per pod (default: the Model's).
    #[arg(long)]
    gpus: Option<i64>,
    /// The node pool (label mlxp.io/pool).
    #[arg(long)]
    pool: Option<String>,
    /// The GPU product (label nvidia.com/gpu.product), e.g. NVIDIA-H100-80GB-HBM3.
    #[arg(long)]
    product: Option<String>,
    /// On spot capacity only.
    #[arg(long, conflicts_with = "on_demand")]
    spot: bool,
    /// Off spot capacity.
    #[arg(long)]
    on_demand: bool,
    /// The trainer's image (default: the Model's).
    #[arg(long)]
    image: Option<String>,
    /// A hyperparameter, as KEY=VALUE in the trainer's environment; repeat for more.
    #[arg(long = "set", value_parser = key_value)]
    set: Vec<(String, String)>,
    /// The dataset URI (DATASET_URI in the trainer's environment).
    #[arg(long)]
    dataset: Option<String>,
    /// The Kueue LocalQueue (default: the Model's).
    #[arg(long)]
    queue: Option<String>,
    #[command(flatten)]
    how: How,
}

impl TrainArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            gpus: self.gpus,
            pool: self.pool.clone(),
            product: self.product.clone(),
            capacity: match (self.spot, self.on_demand) {
                (true, _) => Some(Capacity::Spot),
                (_, true) => Some(Capacity::OnDemand),
                _ => None,
            },
            image: self.image.clone(),
            env: self.set.clone(),
            dataset: self.dataset.clone(),
            queue: self.queue.clone(),
        }
    }
}

fn key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    Ok((key.to_string(), value.to_string()))
}

/// `mlxp approve MODEL VERSION`, `mlxp reject MODEL VERSION --reason TEXT`.
#[derive(clap::Args, Debug)]
pub struct GateArgs {
    model: String,
    version: String,
    #[command(flatten)]
    how: How,
}

/// `mlxp reject`.
#[derive(clap::Args, Debug)]
pub struct RejectArgs {
    #[command(flatten)]
    gate: GateArgs,
    /// Why, kept on the version (annotation mlxp.io/rejected-reason).
    #[arg(long)]
    reason: String,
}

#[derive(clap::Subcommand, Debug)]
pub enum ServingCommand {
    /// Replace a version's pods one by one, as `kubectl rollout restart` does.
    Restart {
        model: String,
        version: String,
        #[command(flatten)]
        how: How,
    },
    /// Bound a version's replicas: its autoscaler's min and max (with no autoscaler, give
    /// one number as both).
    Scale {
        model: String,
        version: String,
        #[arg(long)]
        min: i32,
        #[arg(long)]
        max: i32,
        #[command(flatten)]
        how: How,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum NodeCommand {
    /// Mark a node unschedulable: no new pods land on it.
    Cordon {
        node: String,
        #[command(flatten)]
        how: How,
    },
    /// Mark a node schedulable again.
    Uncordon {
        node: String,
        #[command(flatten)]
        how: How,
    },
    /// Cordon a node, then evict its pods (not its DaemonSets'), honouring their
    /// PodDisruptionBudgets; waits up to a minute for a budget that blocks.
    Drain {
        node: String,
        /// Also evict pods no controller would bring back (they are lost).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        how: How,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum QueueCommand {
    /// Stop a ClusterQueue or LocalQueue (stopPolicy HoldAndDrain: admits nothing new and
    /// evicts what it admitted), or a Workload (spec.active false). NAME: a bare name, or
    /// clusterqueue/NAME, localqueue/NAME, workload/NAME.
    Stop {
        name: String,
        /// Hold only: admit nothing new, let what runs run (stopPolicy Hold).
        #[arg(long)]
        keep_running: bool,
        #[command(flatten)]
        how: How,
    },
    /// Resume a stopped queue or Workload.
    Resume {
        name: String,
        #[command(flatten)]
        how: How,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum JobCommand {
    /// Stop a Job's pods (a Job Kueue admitted: through its Workload).
    Suspend {
        name: String,
        #[command(flatten)]
        how: How,
    },
    /// Start a suspended Job's pods again.
    Resume {
        name: String,
        #[command(flatten)]
        how: How,
    },
}

/// How every op verb runs and answers.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct How {
    /// Print what would change (the server's dry-run, as a diff) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(short = 'o', long, default_value = "text")]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

fn version_weight(text: &str) -> Result<(String, i32), String> {
    let (version, weight) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not VERSION=WEIGHT"))?;
    let weight = weight
        .parse()
        .map_err(|_| format!("{weight:?} in {text:?} is not a whole number"))?;
    Ok((version.to_string(), weight))
}

/// What a verb asks, before the snapshot says which namespace its model is in.
pub enum Asked {
    Canary(CanaryCommand),
    Promote(PromoteArgs),
    Rollback(RollbackArgs),
    Retrain(RetrainArgs),
    Train(TrainArgs),
    Approve(GateArgs),
    Reject(RejectArgs),
    Serving(ServingCommand),
    Node(NodeCommand),
    Queue(QueueCommand),
    Job(JobCommand),
}

impl Asked {
    fn how(&self) -> How {
        match self {
            Asked::Canary(CanaryCommand::Set { how, .. } | CanaryCommand::Step { how, .. })
            | Asked::Promote(PromoteArgs { how, .. })
            | Asked::Rollback(RollbackArgs { how, .. })
            | Asked::Retrain(RetrainArgs { how, .. })
            | Asked::Train(TrainArgs { how, .. })
            | Asked::Approve(GateArgs { how, .. })
            | Asked::Reject(RejectArgs {
                gate: GateArgs { how, .. },
                ..
            })
            | Asked::Serving(
                ServingCommand::Restart { how, .. } | ServingCommand::Scale { how, .. },
            )
            | Asked::Node(
                NodeCommand::Cordon { how, .. }
                | NodeCommand::Uncordon { how, .. }
                | NodeCommand::Drain { how, .. },
            )
            | Asked::Queue(QueueCommand::Stop { how, .. } | QueueCommand::Resume { how, .. })
            | Asked::Job(JobCommand::Suspend { how, .. } | JobCommand::Resume { how, .. }) => *how,
        }
    }

    fn op(self, snapshot: &Snapshot, namespace: Option<&str>) -> Result<Op, Refused> {
        Ok(match self {
            Asked::Canary(CanaryCommand::Set {
                model,
                weights,
                force,
                ..
            }) => Op::SetWeights {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                weights,
                force,
            },
            Asked::Canary(CanaryCommand::Step { model, force, .. }) => Op::StepCanary {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                force,
            },
            Asked::Promote(PromoteArgs {
                model,
                version,
                force,
                step,
                ..
            }) => Op::Promote {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                version,
                force,
                step,
            },
            Asked::Rollback(RollbackArgs { model, reason, .. }) => Op::Rollback {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                reason,
            },
            Asked::Retrain(RetrainArgs { model, force, .. }) => Op::Retrain {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                force,
            },
            Asked::Train(args) => Op::Train {
                namespace: model_namespace(snapshot, &args.model, namespace)?,
                overrides: args.overrides(),
                model: args.model,
                job: None,
            },
            Asked::Approve(GateArgs { model, version, .. }) => Op::Approve {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                version,
            },
            Asked::Reject(RejectArgs {
                gate: GateArgs { model, version, .. },
                reason,
            }) => Op::Reject {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                version,
                reason,
            },
            Asked::Serving(ServingCommand::Restart { model, version, .. }) => Op::RestartVersion {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                version,
            },
            Asked::Serving(ServingCommand::Scale {
                model,
                version,
                min,
                max,
                ..
            }) => Op::ScaleVersion {
                namespace: model_namespace(snapshot, &model, namespace)?,
                model,
                version,
                min,
                max,
            },
            Asked::Node(NodeCommand::Cordon { node, .. }) => Op::Cordon { node },
            Asked::Node(NodeCommand::Uncordon { node, .. }) => Op::Uncordon { node },
            Asked::Node(NodeCommand::Drain { node, force, .. }) => Op::Drain { node, force },
            Asked::Queue(QueueCommand::Stop {
                name, keep_running, ..
            }) => Op::StopQueue {
                queue: find_queue(snapshot, &name, namespace)?,
                keep_running,
            },
            Asked::Queue(QueueCommand::Resume { name, .. }) => Op::ResumeQueue {
                queue: find_queue(snapshot, &name, namespace)?,
            },
            Asked::Job(JobCommand::Suspend { name, .. }) => Op::SuspendJob {
                namespace: job_namespace(snapshot, &name, namespace)?,
                name,
            },
            Asked::Job(JobCommand::Resume { name, .. }) => Op::ResumeJob {
                namespace: job_namespace(snapshot, &name, namespace)?,
                name,
            },
        })
    }
}

/// The namespace of the Job named: `-n`, or the only one that has a Job of that name.
fn job_namespace(
    snapshot: &Snapshot,
    name: &str,
    namespace: Option<&str>,
) -> Result<String, Refused> {
    let found: Vec<&str> = snapshot
        .jobs
        .values()
        .filter(|j| j.meta.name == name && namespace.is_none_or(|n| j.meta.namespace == n))
        .map(|j| j.meta.namespace.as_str())
        .collect();
    match found.as_slice() {
        [ns] => Ok(ns.to_string()),
        [] => Err(Refused::NotFound(format!(
            "no job {name}{}",
            namespace.map(|n| format!(" in {n}")).unwrap_or_default()
        ))),
        many => Err(Refused::NotFound(format!(
            "job {name} is in several namespaces ({}): say which with -n",
            many.join(", ")
        ))),
    }
}

/// What to print on stdout and the exit code; an error that is not the op's (the cluster
/// unreachable) is the Err.
pub async fn act(
    client: kube::Client,
    context: String,
    namespace: Option<&str>,
    asked: Asked,
) -> anyhow::Result<(String, i32)> {
    let how = asked.how();
    let snapshot = snapshot_once(client.clone(), SYNC_TIMEOUT).await?;
    let executor = Executor::new(client, context, default_audit_path());
    let mode = if how.dry_run {
        Mode::DryRun
    } else {
        Mode::Apply
    };
    let result = match asked.op(&snapshot, namespace) {
        Ok(op) => executor.run(&op, &snapshot, mode).await,
        Err(refused) => Err(ExecError::Refused(refused)),
    };
    Ok(match result {
        Ok(outcome) => (printed(&outcome, how.output)?, 0),
        Err(e) => {
            eprintln!("mlxp: {e}");
            (String::new(), e.exit_code())
        }
    })
}

fn printed(outcome: &Outcome, output: Output) -> anyhow::Result<String> {
    if output == Output::Json {
        return Ok(serde_json::to_string_pretty(outcome)? + "\n");
    }
    if let Some(e) = &outcome.event_error {
        eprintln!("mlxp: done, but its Event could not be recorded: {e}");
    }
    let mut text = outcome.effect.clone();
    if outcome.mode == Mode::DryRun {
        text.push_str(" (dry run: nothing changed)");
    }
    text.push('\n');
    if outcome.mode == Mode::DryRun {
        for diff in &outcome.diffs {
            text.push_str(&diff.text);
        }
    }
    Ok(text)
}
