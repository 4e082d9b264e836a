//! The embedded GPU cluster: a real HTTPS server speaking the Kubernetes API, so the cockpit,
//! the agent, kubectl and any kube-rs client use it exactly as they use a real cluster.

pub mod api;
pub mod clock;
pub mod controllers;
pub mod data_dir;
pub mod ids;
pub mod kubeconfig;
pub mod metrics;
pub mod metrics_source;
pub mod patch;
pub mod quality;
pub mod resources;
pub mod scenario;
pub mod seed;
pub mod store;
pub mod table;
pub mod testing;
pub mod tls;
pub mod traffic;
pub mod validate;

pub use scenario::Scale;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use api::ApiState;

/// What the embedded cluster starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A small fixed cluster for tests: four pools, a few pods, nothing moving until a test
    /// makes it move.
    Basic,
    /// The ML platform of `scenario`, at a size, after a warm-up of its controllers
    /// (`mlxp sim`'s default).
    Platform { scale: scenario::Scale },
    /// This many pods (and nodes to hold them), for scale runs.
    Pods(usize),
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub listen: SocketAddr,
    pub seed: u64,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Where simulated time starts (default: now, playing the scenario's day of
    /// `played_day`). Fixed in tests, with `manual_clock`.
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    /// Time moves only through `Sim::advance` (tests), and controllers run only then.
    pub manual_clock: bool,
    /// What the cluster starts with.
    pub scenario: Scenario,
    /// Requests served at once before the server answers 429 (watches not counted).
    pub max_inflight: usize,
    /// Serve with this certificate authority and these tokens (those of an earlier run, so
    /// its clients reconnect to this one) instead of new ones.
    pub identity: Option<Identity>,
    /// Keep the identity and the objects here, for the next run to start from (see
    /// `data_dir`): what the directory holds wins over `identity` and `scenario`.
    pub data_dir: Option<PathBuf>,
    /// How long a client may take over its part of a request before it is cut off.
    pub patience: api::Patience,
}

/// What clients trust and present: the certificate authority and the two tokens.
#[derive(Clone)]
pub struct Identity {
    authority: tls::Authority,
    admin_token: String,
    readonly_token: String,
}

impl Identity {
    fn generate() -> anyhow::Result<Identity> {
        Ok(Identity {
            authority: tls::Authority::generate()?,
            admin_token: ids::hex(&mut rand::rng(), 32),
            readonly_token: ids::hex(&mut rand::rng(), 32),
        })
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: never printed.
        f.write_str("Identity { .. }")
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 1,
            speed: 1.0,
            start: None,
            manual_clock: false,
            scenario: Scenario::Basic,
            max_inflight: 400,
            identity: None,
            data_dir: None,
            patience: api::Patience::default(),
        }
    }
}

/// A running embedded cluster. Dropping it stops the server.
pub struct Sim {
    addr: SocketAddr,
    identity: Identity,
    data_dir: Option<Arc<data_dir::DataDir>>,
    state: Arc<ApiState>,
    controllers: Arc<Mutex<controllers::Controllers>>,
    server: tokio::task::JoinHandle<()>,
}

impl Sim {
    /// Seeds the cluster (or restores it from its data dir), binds the listener and serves
    /// until dropped.
    pub async fn start(config: SimConfig) -> anyhow::Result<Sim> {
        // The server's TLS needs the process's crypto provider (ring, the only one linked);
        // an error means a caller installed it first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data_dir = match &config.data_dir {
            Some(dir) => Some(Arc::new(data_dir::DataDir::open(dir)?)),
            None => None,
        };
        let kept = match &data_dir {
            Some(dir) => dir.load_identity()?,
            None => None,
        };
        let identity = match kept.clone().or(config.identity.clone()) {
            Some(identity) => identity,
            None => Identity::generate()?,
        };
        // Everything is read before anything is written: a damaged file stops the start
        // with the directory as it was.
        let saved = match &data_dir {
            Some(dir) => dir.read_objects()?,
            None => None,
        };
        if let Some(dir) = &data_dir
            && kept.is_none()
        {
            dir.save_identity(&identity)?;
        }
        let server_config = identity.authority.serving(config.listen.ip())?;
        let (start, day_shift) = match config.start {
            Some(start) => (start, chrono::Duration::zero()),
            None => {
                // Whole seconds, as timestamps are: a fraction would move some of them.
                let now = chrono::Utc::now();
                let now = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
                // Never before the saved run's time (a fast clock runs ahead of real time):
                // timestamps and ages must not go backwards across a restart.
                let start = saved.as_ref().map_or(now, |saved| saved.time.max(now));
                (start, now - played_day())
            }
        };
        // Restored objects have lived already: no warm-up.
        let warm_up = match config.scenario {
            Scenario::Platform { .. } if saved.is_none() => {
                chrono::Duration::hours(scenario::WARM_UP_HOURS)
            }
            _ => chrono::Duration::zero(),
        };
        // The warm-up plays on a standing clock that ends at `start`; then it runs, if asked.
        let clock = clock::SimClock::manual(start - warm_up, day_shift);
        // A restored run draws other names and uids than the run that made its objects
        // (same seed, same draws): the saved resourceVersion differs from run to run.
        let draws = config.seed ^ saved.as_ref().map_or(0, |saved| saved.rv);
        let state = Arc::new(ApiState::new(
            identity.admin_token.clone(),
            identity.readonly_token.clone(),
            config.max_inflight,
            Arc::new(clock),
            draws,
        )?);
        match (&data_dir, saved) {
            (Some(dir), Some(saved)) => dir.restore(saved, &state)?,
            _ => seed::populate(&state, &config)?,
        }
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let _ = state.address.set(addr);
        let server = tokio::spawn(api::serve(
            listener,
            server_config,
            state.clone(),
            config.patience,
        ));
        let controllers = Arc::new(Mutex::new(controllers::Controllers::new(&state)));
        if !warm_up.is_zero() {
            let mut warming = controllers.lock().unwrap_or_else(|e| e.into_inner());
            let step = chrono::Duration::seconds(10);
            while state.clock.now() < start {
                state.clock.advance(step);
                warming.settle(&state);
            }
        }
        if !config.manual_clock {
            state.clock.start_running(config.speed);
            tokio::spawn(controllers::run(state.clone(), controllers.clone()));
        }
        if let Some(dir) = &data_dir {
            tokio::spawn(data_dir::keep_saving(dir.clone(), state.clone()));
        }
        Ok(Sim {
            addr,
            identity,
            data_dir,
            state,
            controllers,
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA (PEM) that signed the server's certificate: what a client trusts it by.
    pub fn ca_pem(&self) -> &str {
        &self.identity.authority.cert_pem
    }

    /// Ends every open watch with 410 Gone (a watch fallen out of the server's window).
    pub fn expire_watches(&self) {
        self.state.watch_epoch.send_modify(|epoch| *epoch += 1);
    }

    /// The certificates and tokens, to start another run that clients of this one trust.
    pub fn identity(&self) -> Identity {
        self.identity.clone()
    }

    /// The next `count` requests are answered with `code` (see `ApiState::inject_errors`).
    pub fn inject_errors(&self, code: u16, count: usize) {
        self.state.inject_errors(code, count);
    }

    /// The next `count` writes are made and their answers lost (see
    /// `ApiState::lose_answers`).
    pub fn lose_answers(&self, count: usize) {
        self.state.lose_answers(count);
    }

    pub fn state(&self) -> &Arc<ApiState> {
        &self.state
    }

    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::render(
            &self.url(),
            self.ca_pem(),
            &self.identity.admin_token,
            &self.identity.readonly_token,
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            // It holds bearer tokens: owner-only, like kubectl's own files.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        file.write_all(self.kubeconfig_yaml().as_bytes())?;
        Ok(())
    }

    /// Moves simulated time forward and lets the controllers catch up (for a manual clock,
    /// the only way time passes).
    pub fn advance(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        self.state.clock.advance(by);
        self.controllers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .settle(&self.state);
    }

    /// From now on, keeps what every request asks for, as RBAC names it.
    pub fn record_requests(&self) {
        *self
            .state
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Vec::new());
    }

    /// What the requests asked for since `record_requests`, and stops keeping it.
    pub fn recorded_requests(&self) -> Vec<api::Access> {
        self.state
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }

    /// Stops simulated time where it stands, once the controllers' step in progress is done:
    /// from then on it moves only through `advance`, as with a manual clock.
    pub fn pause(&self) {
        self.state.clock.pause();
        drop(self.controllers.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The kube client configuration of one of the two contexts, read from the kubeconfig
    /// as any user's is.
    pub async fn config(&self, readonly: bool) -> anyhow::Result<kube::Config> {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml())?;
        let context = if readonly {
            kubeconfig::READONLY_CONTEXT
        } else {
            kubeconfig::CONTEXT
        };
        let options = kube::config::KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        Ok(kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?)
    }

    /// A kube client for one of the two contexts.
    pub async fn client(&self, readonly: bool) -> anyhow::Result<kube::Client> {
        Ok(kube::Client::try_from(self.config(readonly).await?)?)
    }
}

/// The day a run started now plays (its traffic and noise follow it): mid-day, as the
/// platform scenario describes, and the same day for every run of a seed.
fn played_day() -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
        .and_then(|day| day.and_hms_opt(14, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

impl Sim {
    /// Ends every open watch and connection and stops accepting, then waits (a few seconds
    /// at most) for the server to wind down, and saves the objects to the data dir, if
    /// any: a graceful stop, as on SIGTERM. (Dropping a Sim does not save.)
    pub async fn shut_down(&self) -> anyhow::Result<()> {
        self.state.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
        while !self.server.is_finished() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if let Some(dir) = &self.data_dir {
            let (dir, state) = (dir.clone(), self.state.clone());
            tokio::task::spawn_blocking(move || dir.save_objects(&state)).await??;
        }
        Ok(())
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // Ends the accept loop and every open connection (watches included).
        self.state.shutdown.cancel();
        self.server.abort();
    }
}
