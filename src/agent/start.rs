//! Starting the agent: `mlxp agent` on the current context, or beside the embedded cluster
//! (`mlxp sim --agent`, `mlxp demo --agent`). Its settings: the `[agent]` table of
//! mlxp.toml laid over the defaults, then the flags.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mlxp_core::agent::Policy;
use mlxp_core::duration::go_duration;
use mlxp_core::metrics::{BoxFuture, MetricsError, MetricsFrame, MetricsSource, Series};
use serde::Deserialize;
use tokio::sync::watch;

use super::alerts::{AlertConfig, Webhook};
use super::lease::{self, LeaseConfig};
use super::telemetry::Telemetry;
use super::{Agent, http};
use crate::exec::{Clock, Executor, default_audit_path};

#[derive(clap::Args, Debug, Clone)]
pub struct AgentArgs {
    /// Decide and log, change nothing (each op is sent as a server-side dry-run).
    #[arg(long)]
    pub dry_run: bool,
    /// Evaluate once and exit.
    #[arg(long)]
    pub once: bool,
    /// Time between evaluations ("30s", "2m"); default 30s, or the config's.
    #[arg(long, value_parser = parse_interval)]
    pub interval: Option<Duration>,
    /// Act without holding the `mlxp-agent` Lease (only when one agent runs).
    #[arg(long)]
    pub no_lease: bool,
    /// The HTTP port: /metrics, /healthz, /readyz and the trigger (not with --once).
    #[arg(long, default_value = "127.0.0.1:9470")]
    pub listen: std::net::SocketAddr,
    /// The trigger's bearer token, from this file.
    #[arg(long, conflicts_with = "token_secret")]
    pub token_file: Option<std::path::PathBuf>,
    /// The trigger's bearer token, from this Secret's `token` key (in the lease's namespace).
    #[arg(long)]
    pub token_secret: Option<String>,
}

impl Default for AgentArgs {
    fn default() -> Self {
        AgentArgs {
            dry_run: false,
            once: false,
            interval: None,
            no_lease: false,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 9470)),
            token_file: None,
            token_secret: None,
        }
    }
}

pub fn parse_interval(text: &str) -> Result<Duration, String> {
    go_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a duration such as 30s, 2m or 1h"))
}

/// The `[agent]` table of mlxp.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AgentTable {
    interval: Option<String>,
    metrics_max_age: Option<String>,
    canary_failures: Option<u32>,
    canary_min_rps: Option<f64>,
    drift_window: Option<String>,
    idle_for: Option<String>,
    suspend_idle: Option<bool>,
    quota_share: Option<f64>,
    /// [start, end) hours UTC.
    training_hours: Option<[u32; 2]>,
    training_pool_prefix: Option<String>,
    #[serde(default)]
    hold_queues: Vec<String>,
    /// [start, end) hours UTC.
    hold_hours: Option<[u32; 2]>,
    #[serde(default)]
    webhooks: Vec<Webhook>,
    alert_repeat: Option<String>,
    alerts_per_minute: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    agent: AgentTable,
}

/// How the agent judges, and where its alerts go.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: Policy,
    pub alerts: AlertConfig,
    /// The `[cost]` prices idle GPUs are priced with.
    pub prices: mlxp_core::domain::cost::PriceTable,
}

/// The settings: defaults, the `[agent]` table of the config file when there is one
/// (errors name the file), then the flags.
pub fn settings(file: Option<(&Path, &str)>, args: &AgentArgs) -> anyhow::Result<Settings> {
    let mut policy = Policy::default();
    let mut alerts = AlertConfig::default();
    if let Some((path, text)) = file {
        // Other tables are other sections' business.
        let table: File = toml::from_str::<toml::Table>(text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
            .and_then(|t| {
                let agent = t
                    .get("agent")
                    .cloned()
                    .unwrap_or(toml::Value::Table(Default::default()));
                let mut only = toml::Table::new();
                only.insert("agent".into(), agent);
                only.try_into::<File>()
                    .map_err(|e| anyhow::anyhow!("{}: [agent]: {e}", path.display()))
            })?;
        let t = table.agent;
        let duration = |name: &str, value: &Option<String>| -> anyhow::Result<Option<Duration>> {
            value
                .as_deref()
                .map(|v| {
                    parse_interval(v)
                        .map_err(|e| anyhow::anyhow!("{}: [agent] {name}: {e}", path.display()))
                })
                .transpose()
        };
        if let Some(d) = duration("interval", &t.interval)? {
            policy.interval = d;
        }
        if let Some(d) = duration("metrics-max-age", &t.metrics_max_age)? {
            policy.metrics_max_age = d;
        }
        if let Some(d) = duration("drift-window", &t.drift_window)? {
            policy.drift_window = d;
        }
        if let Some(n) = t.canary_failures {
            policy.canary_failures = n.max(1);
        }
        if let Some(rps) = t.canary_min_rps {
            policy.canary_min_rps = rps;
        }
        if let Some(d) = duration("idle-for", &t.idle_for)? {
            policy.idle_for = d;
        }
        if let Some(suspend) = t.suspend_idle {
            policy.suspend_idle = suspend;
        }
        if let Some(share) = t.quota_share {
            if !(0.0..=1.0).contains(&share) {
                anyhow::bail!(
                    "{}: [agent] quota-share: {share} is not between 0 and 1",
                    path.display()
                );
            }
            policy.quota_share = share;
        }
        if let Some([start, end]) = t.training_hours {
            if start > 23 || end > 24 {
                anyhow::bail!(
                    "{}: [agent] training-hours: hours are 0 to 24",
                    path.display()
                );
            }
            policy.training_hours = Some((start, end));
        }
        if let Some(prefix) = t.training_pool_prefix {
            policy.training_pool_prefix = prefix;
        }
        let hours = |name: &str, given: Option<[u32; 2]>| -> anyhow::Result<Option<(u32, u32)>> {
            match given {
                Some([start, end]) if start > 23 || end > 24 => {
                    anyhow::bail!("{}: [agent] {name}: hours are 0 to 24", path.display())
                }
                other => Ok(other.map(|[start, end]| (start, end))),
            }
        };
        if let Some(window) = hours("training-hours", t.training_hours)? {
            policy.training_hours = Some(window);
        }
        if let Some(window) = hours("hold-hours", t.hold_hours)? {
            policy.hold_hours = Some(window);
        }
        policy.hold_queues = t.hold_queues;
        if let Some(d) = duration("alert-repeat", &t.alert_repeat)? {
            alerts.repeat = d;
        }
        if let Some(n) = t.alerts_per_minute {
            alerts.per_minute = n.max(1);
        }
        alerts.webhooks = t.webhooks;
    }
    if let Some(interval) = args.interval {
        policy.interval = interval;
    }
    let prices = match file {
        Some((path, text)) => mlxp_core::domain::cost::PriceTable::from_toml(text, path)?,
        None => mlxp_core::domain::cost::PriceTable::defaults(),
    };
    Ok(Settings {
        policy,
        alerts,
        prices,
    })
}

/// Stands in when no metrics source is configured: canary analysis and drift hold, and
/// say why; the pipeline, which needs no numbers, goes on.
struct NoMetrics;

impl MetricsSource for NoMetrics {
    fn frame(&self) -> BoxFuture<'_, Result<MetricsFrame, MetricsError>> {
        Box::pin(async {
            Err(MetricsError::Config(
                "no metrics source: set [metrics] url in mlxp.toml or --prometheus".into(),
            ))
        })
    }

    fn history(
        &self,
        _query: &str,
        _range: Duration,
        _step: Duration,
    ) -> BoxFuture<'_, Result<Vec<Series>, MetricsError>> {
        Box::pin(async { Err(MetricsError::Config("no metrics source".into())) })
    }

    fn describe(&self) -> String {
        "none".into()
    }
}

/// Decisions as JSON lines on stderr (`RUST_LOG` filters them; default: the agent's info).
pub fn log_as_json() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mlxp::agent=info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Decisions as JSON lines appended to `agent.jsonl` in the state directory (next to the
/// audit log): for when the terminal is the cockpit's. Returns the file's path.
pub fn log_to_state_file() -> anyhow::Result<std::path::PathBuf> {
    let dir = default_audit_path()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .ok_or_else(|| anyhow::anyhow!("no state directory: set XDG_STATE_HOME or HOME"))?;
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let path = dir.join("agent.jsonl");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::new("mlxp::agent=info");
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(path)
}

/// Where the agent runs: its cluster, its lease's namespace, its numbers and clock.
pub struct Placement {
    pub client: kube::Client,
    pub context: String,
    /// The namespace of the `mlxp-agent` Lease.
    pub namespace: String,
    pub metrics: Option<Arc<dyn MetricsSource>>,
    pub clock: Clock,
    /// Where it counts what it does (what `/metrics` and the cockpit's header show).
    pub telemetry: Arc<Telemetry>,
}

/// Runs the agent until Ctrl-C (or `stop`), or once. Unless told otherwise it acts only
/// while it holds the `mlxp-agent` Lease (a single evaluation does not wait for it).
pub async fn run(
    at: Placement,
    settings: Settings,
    args: &AgentArgs,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let token = token(&at.client, &at.namespace, args).await?;
    let watch = crate::cluster::start(at.client.clone());
    let telemetry = at.telemetry.clone();
    if !args.once {
        let listener = http::bind(args.listen).await?;
        let port = http::Port {
            executor: Executor::new(at.client.clone(), at.context.clone(), default_audit_path())
                .with_clock(at.clock.clone())
                .for_agent(),
            snapshots: watch.subscribe(),
            telemetry: telemetry.clone(),
            token,
        };
        tokio::spawn(http::serve(listener, port, stop.clone()));
    }
    let executor = Executor::new(at.client.clone(), at.context, default_audit_path());
    let metrics = at.metrics.unwrap_or_else(|| Arc::new(NoMetrics));
    let mut agent = Agent::new(executor, metrics, settings.policy, args.dry_run, at.clock)
        .with_telemetry(telemetry)
        .with_alerts(settings.alerts);
    let election = (!args.no_lease && !args.once).then(|| {
        let config = LeaseConfig::new(&at.namespace, lease::identity());
        lease::elect(at.client, config, stop.clone())
    });
    if let Some(election) = &election {
        agent = agent.with_lease(election.leading.clone());
    }
    let ran = super::run(agent, watch.subscribe(), args.once, stop).await;
    if let Some(election) = election {
        election.ended(Duration::from_secs(3)).await;
    }
    ran
}

/// The agent in a task of its own (beside the embedded cluster, the cockpit); if it ends
/// on an error or a panic, it is logged and its telemetry says so (the cockpit's header).
pub fn spawn(at: Placement, settings: Settings, args: AgentArgs, stop: watch::Receiver<bool>) {
    let telemetry = at.telemetry.clone();
    let agent = tokio::spawn(async move { run(at, settings, &args, stop).await });
    tokio::spawn(async move {
        let why = match agent.await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!("{e:#}"),
            Err(e) if e.is_panic() => "it panicked (a bug: see the log)".to_string(),
            Err(e) => e.to_string(),
        };
        tracing::error!(target: "mlxp::agent", "the agent stopped: {why}");
        telemetry.stopped(why);
    });
}

/// The trigger's token, from its file or its Secret (never logged); None: no trigger.
pub async fn token(
    client: &kube::Client,
    namespace: &str,
    args: &AgentArgs,
) -> anyhow::Result<Option<String>> {
    let token = if let Some(path) = &args.token_file {
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else if let Some(name) = &args.token_secret {
        let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(client.clone(), namespace);
        let secret = secrets.get(name).await.map_err(|e| {
            anyhow::anyhow!(
                "Secret {namespace}/{name}: {}",
                crate::cluster::Cause::of(&e)
            )
        })?;
        let bytes = secret
            .data
            .and_then(|mut d| d.remove("token"))
            .ok_or_else(|| anyhow::anyhow!("Secret {namespace}/{name} has no key \"token\""))?;
        String::from_utf8(bytes.0)
            .map_err(|_| anyhow::anyhow!("Secret {namespace}/{name}: the token is not UTF-8"))?
    } else {
        return Ok(None);
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        anyhow::bail!("the trigger's token is empty");
    }
    Ok(Some(token))
}

/// A stop signal set by Ctrl-C or SIGTERM (what a pod is sent when it is deleted).
pub fn stop_on_ctrl_c() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(term) => term.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        let _ = tx.send(true);
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_table_lays_over_the_defaults_and_the_flags_over_it() {
        let text = "[agent]\ninterval = \"10s\"\ncanary-failures = 3\n[metrics]\nurl = \"x\"\n";
        let args = AgentArgs::default();
        let p = settings(Some((Path::new("mlxp.toml"), text)), &args)
            .expect("read")
            .policy;
        assert_eq!(p.interval, Duration::from_secs(10));
        assert_eq!(p.canary_failures, 3);
        assert_eq!(p.drift_window, Policy::default().drift_window);
        let args = AgentArgs {
            interval: Some(Duration::from_secs(2)),
            ..AgentArgs::default()
        };
        let p = settings(Some((Path::new("mlxp.toml"), text)), &args)
            .expect("read")
            .policy;
        assert_eq!(p.interval, Duration::from_secs(2));
    }

    #[test]
    fn a_wrong_setting_names_the_file_and_the_key() {
        let bad = "[agent]\ninterval = \"soon\"\n";
        let err = settings(
            Some((Path::new("/etc/mlxp.toml"), bad)),
            &AgentArgs::default(),
        )
        .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "/etc/mlxp.toml: [agent] interval: \"soon\" is not a duration such as 30s, 2m or 1h"
        );
        let unknown = "[agent]\nintervall = \"5s\"\n";
        let err = settings(Some((Path::new("m.toml"), unknown)), &AgentArgs::default())
            .expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("m.toml: [agent]: unknown field `intervall`"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_agent_that_ends_on_an_error_says_so_in_its_summary() {
        // Nothing listens there: the agent ends on its token file before any request.
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("a url"));
        let telemetry = Arc::new(Telemetry::default());
        let at = Placement {
            client: kube::Client::try_from(config).expect("a client"),
            context: "test".into(),
            namespace: "default".into(),
            metrics: None,
            clock: Arc::new(chrono::Utc::now),
            telemetry: telemetry.clone(),
        };
        let args = AgentArgs {
            token_file: Some("/nonexistent/mlxp-token".into()),
            ..AgentArgs::default()
        };
        let settings = settings(None, &args).expect("the defaults");
        let (_stop, stop) = watch::channel(false);
        spawn(at, settings, args, stop);
        let said = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let said = telemetry.summary();
                if said != "starting" {
                    return said;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the summary changes within 10 s");
        assert_eq!(
            said,
            "stopped: /nonexistent/mlxp-token: No such file or directory (os error 2)"
        );
    }
}
