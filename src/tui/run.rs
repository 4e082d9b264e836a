//! The cockpit's loop: keys, snapshots, metrics and the clock become messages to `update()`;
//! the frame is redrawn after them (at most ~60 times a second). Network work runs in tasks,
//! so a slow or lost cluster never freezes the screen; so does connecting to another context.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{Event, KeyEventKind};
use tokio::sync::{mpsc, watch};

use super::app::{App, Editor, Effect, Msg};
use super::color_depth::ColorDepth;
use super::keys::Key;
use super::{keymap, render, theme};
use crate::cluster::{ClusterWatch, Contexts, Snapshot};
use crate::exec::{Executor, Mode, Verdicts, default_audit_path};
use crate::metrics::MetricsSource;
use mlxp_core::domain::cost::PriceTable;
use mlxp_core::ops::Op;

pub struct Options {
    pub keymap: String,
    pub theme: String,
    /// The kube context, for the header.
    pub context: String,
    /// The namespace to start in (None: all).
    pub namespace: Option<String>,
    pub metrics_every: Duration,
    /// From `[cost]` of the user's mlxp.toml.
    pub prices: PriceTable,
    /// The contexts `:ctx NAME` can switch to.
    pub contexts: Contexts,
    /// `--readonly`: shown in the header, kept for the actions that will change the cluster.
    pub readonly: bool,
    /// An agent running beside the cockpit (`--agent`): how it stands, in a few words.
    pub agent_status: Option<AgentStatus>,
}

/// How an agent beside the cockpit stands (`leading · evaluated 3 s ago · 2 ops`); read
/// at each tick, so it must be cheap.
pub type AgentStatus = Arc<dyn Fn() -> mlxp_core::agent::AgentLine + Send + Sync>;

impl Default for Options {
    fn default() -> Self {
        Options {
            keymap: "default".into(),
            theme: "dark".into(),
            context: String::new(),
            namespace: None,
            metrics_every: Duration::from_secs(5),
            prices: PriceTable::defaults(),
            contexts: Contexts::default(),
            readonly: false,
            agent_status: None,
        }
    }
}

/// `$XDG_CONFIG_HOME/mlxp/NAME` (or `~/.config/mlxp/NAME`) when it exists.
fn user_file(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("mlxp").join(name)).filter(|p| p.exists())
}

/// Builds the app with the user's keymap and theme laid over the built-ins; file errors
/// become the first message on screen.
pub fn app(options: &Options) -> App {
    let (keymap, mut errors) = keymap::load(&options.keymap, user_file("keymap.toml").as_deref());
    let (theme, theme_errors) = theme::load(&options.theme, user_file("theme.toml").as_deref());
    errors.extend(theme_errors);
    let depth = ColorDepth::detect(|k| std::env::var(k).ok());
    let mut app = App::new(
        keymap,
        theme,
        depth,
        options.context.clone(),
        chrono::Utc::now(),
    );
    app.message = errors.first().map(|e| format!("{e} (built-in used)"));
    app.namespace = options.namespace.clone();
    app.prices = options.prices.clone();
    app.contexts = options.contexts.names();
    app.readonly = options.readonly;
    app
}

/// A context's client once connected, or why it could not be.
type Connected = (String, Result<kube::Client, String>);

/// The cockpit without its terminal: the app, the cluster it watches, and what feeds it
/// messages. `run` draws it between steps; tests drive it with keys.
pub struct Cockpit {
    pub app: App,
    client: kube::Client,
    /// The current context's watchers; replacing it stops the old ones.
    watch: ClusterWatch,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    contexts: Contexts,
    messages: mpsc::Sender<Msg>,
    inbox: mpsc::Receiver<Msg>,
    connected_tx: mpsc::Sender<Connected>,
    connected: mpsc::Receiver<Connected>,
    ticks: tokio::time::Interval,
    agent_status: Option<AgentStatus>,
    /// The current context's `mlxp-agent` Leases; replacing it stops the old watch.
    leases: crate::cluster::AgentLeases,
    /// The task forwarding the followed logs; aborted when they are no longer shown.
    logs: Option<tokio::task::JoinHandle<()>>,
    /// Access verdicts for the ops, a minute per context.
    verdicts: Verdicts,
    /// An edit waiting for the terminal to be handed to `$EDITOR`.
    outside: Option<Box<Editor>>,
    /// Stops the key thread reading while `$EDITOR` has the terminal.
    keys_paused: Arc<KeyGate>,
}

/// The key thread's gate: `paused` asks it to stop reading, `parked` says it has.
#[derive(Default)]
pub struct KeyGate {
    paused: AtomicBool,
    parked: AtomicBool,
}

impl KeyGate {
    /// Asks the key thread to stop reading and waits (a second at most) until it has, so
    /// no key meant for `$EDITOR` is read here.
    fn pause(&self) {
        self.paused.store(true, Ordering::Release);
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while !self.parked.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::Release);
    }
}

impl Cockpit {
    /// Starts watching the client's cluster (and polling metrics); needs a tokio runtime.
    pub fn new(
        client: kube::Client,
        metrics: Option<Arc<dyn MetricsSource>>,
        options: Options,
    ) -> Cockpit {
        let reconnect = options.contexts.reconnect(&options.context);
        let watch = crate::cluster::start_with(client.clone(), Some(reconnect));
        let snapshots = watch.subscribe();
        let mut app = app(&options);
        app.metrics_source = metrics.as_ref().map(|m| m.describe()).unwrap_or_default();
        // A busy cluster sends snapshots many times a second; tables follow at most 4 times.
        app.rebuild_every = Duration::from_millis(250);
        let (messages, inbox) = mpsc::channel::<Msg>(256);
        if let Some(source) = metrics {
            spawn_metrics(source, options.metrics_every, messages.clone());
        }
        let (connected_tx, connected) = mpsc::channel(4);
        check_access(&client, options.context.clone(), messages.clone());
        Cockpit {
            app,
            leases: crate::cluster::agent_leases(client.clone()),
            client,
            watch,
            snapshots,
            contexts: options.contexts,
            messages,
            inbox,
            connected_tx,
            connected,
            ticks: tokio::time::interval(Duration::from_millis(250)),
            agent_status: options.agent_status.clone(),
            logs: None,
            verdicts: Verdicts::default(),
            outside: None,
            keys_paused: Arc::new(KeyGate::default()),
        }
    }

    /// Where keys (and other messages for the app) are sent.
    pub fn messages(&self) -> mpsc::Sender<Msg> {
        self.messages.clone()
    }

    /// Waits for the next message, gives it and whatever else is waiting to the app, then
    /// starts the work the app asked for.
    pub async fn step(&mut self) {
        tokio::select! {
            Some(msg) = self.inbox.recv() => self.app.update(msg),
            Ok(()) = self.snapshots.changed() => {
                let latest = self.snapshots.borrow_and_update().clone();
                self.app.update(Msg::Snapshot(latest));
            }
            Some((name, result)) = self.connected.recv() => self.switch(name, result),
            Ok(()) = self.leases.seen.changed() => {
                let seen = self.leases.seen.borrow_and_update().clone();
                self.app.update(Msg::AgentLeases(seen));
            }
            _ = self.ticks.tick() => {
                self.app.update(Msg::Tick(chrono::Utc::now()));
                if let Some(status) = &self.agent_status {
                    self.app.update(Msg::AgentStatus(status()));
                }
            }
        }
        while let Ok(msg) = self.inbox.try_recv() {
            self.app.update(msg);
        }
        for effect in self.app.take_effects() {
            self.spawn_effect(effect);
        }
    }

    /// Watches the newly connected context instead of the current one; a failed
    /// connection leaves everything as it was.
    fn switch(&mut self, name: String, result: Result<kube::Client, String>) {
        let result = result.map(|client| {
            let reconnect = self.contexts.reconnect(&name);
            self.watch = crate::cluster::start_with(client.clone(), Some(reconnect));
            self.snapshots = self.watch.subscribe();
            self.leases = crate::cluster::agent_leases(client.clone());
            check_access(&client, name.clone(), self.messages.clone());
            self.verdicts.forget(&name);
            self.client = client;
        });
        self.app.update(Msg::ContextSwitched { name, result });
    }

    /// Runs what `update()` asked for in a task; the result comes back as a message.
    fn spawn_effect(&mut self, effect: Effect) {
        match effect {
            Effect::FetchYaml { path } => {
                let (client, messages) = (self.client.clone(), self.messages.clone());
                tokio::spawn(async move {
                    let yaml = crate::cluster::fetch_yaml(&client, &path).await;
                    let _ = messages.send(Msg::Yaml(yaml)).await;
                });
            }
            Effect::PreviewOp { op } => self.spawn_op(op, Mode::DryRun),
            Effect::RunOp { op } => self.spawn_op(op, Mode::Apply),
            Effect::FollowLogs {
                target,
                selector,
                options,
            } => {
                if let Some(old) = self.logs.take() {
                    old.abort();
                }
                let events =
                    crate::cluster::follow_logs(self.client.clone(), target, selector, options);
                self.logs = Some(tokio::spawn(forward_logs(events, self.messages.clone())));
            }
            Effect::EditOutside(editor) => self.outside = Some(editor),
            Effect::FetchForEdit { target } => {
                let (client, messages) = (self.client.clone(), self.messages.clone());
                tokio::spawn(async move {
                    let request = http::Request::get(target.path())
                        .body(Vec::new())
                        .expect("a GET of a path");
                    let result = client
                        .request::<serde_json::Value>(request)
                        .await
                        .map_err(|e| crate::cluster::Cause::of(&e).to_string());
                    let _ = messages.send(Msg::ForEdit { target, result }).await;
                });
            }
            Effect::StopLogs => {
                if let Some(old) = self.logs.take() {
                    old.abort();
                }
            }
            Effect::SwitchContext { name } => {
                let (connect, connected) =
                    (self.contexts.connect(&name), self.connected_tx.clone());
                tokio::spawn(async move {
                    let result = connect.await.map_err(|e| e.to_string());
                    let _ = connected.send((name, result)).await;
                });
            }
        }
    }
}

impl Cockpit {
    /// The executor plans `op` on the snapshot shown and runs it (or its dry-run); every
    /// attempt goes to the audit log, as the CLI's do.
    fn spawn_op(&self, op: Op, mode: Mode) {
        let executor = Executor::new(
            self.client.clone(),
            self.app.context.clone(),
            default_audit_path(),
        )
        .with_verdicts(self.verdicts.clone());
        let (snapshot, messages) = (Arc::clone(&self.app.snapshot), self.messages.clone());
        tokio::spawn(async move {
            let result = executor
                .run(&op, &snapshot, mode)
                .await
                .map_err(|e| e.to_string());
            let msg = match mode {
                Mode::DryRun => Msg::OpPreview { op, result },
                Mode::Apply => Msg::OpDone { op, result },
            };
            let _ = messages.send(msg).await;
        });
    }
}

pub async fn run(
    client: kube::Client,
    metrics: Option<Arc<dyn MetricsSource>>,
    options: Options,
) -> anyhow::Result<()> {
    let mut cockpit = Cockpit::new(client, metrics, options);
    // As kubectl edit picks it.
    cockpit.app.external_editor = ["KUBE_EDITOR", "EDITOR"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()));
    spawn_keys(cockpit.messages(), cockpit.keys_paused.clone());
    let mut terminal = ratatui::try_init()?;
    if let Ok(size) = terminal.size() {
        cockpit.app.update(Msg::Resized {
            width: size.width,
            height: size.height,
        });
    }
    let result = cockpit.drive(&mut terminal).await;
    ratatui::restore();
    result
}

impl Cockpit {
    /// Draws (when something shown changed) and steps until the app quits, at most ~60
    /// frames a second. A table a key showed outdated is rebuilt after that frame, then
    /// drawn. Generic over the backend so that the bench runs this very loop on a test
    /// terminal.
    pub async fn drive<B: ratatui::backend::Backend>(
        &mut self,
        terminal: &mut ratatui::Terminal<B>,
    ) -> anyhow::Result<()>
    where
        B::Error: Send + Sync + 'static,
    {
        loop {
            if self.app.take_frame_due() {
                terminal.draw(|frame| render::render(&self.app, frame))?;
            }
            if self.app.rebuild_if_due() {
                continue;
            }
            self.step().await;
            if self.app.quit {
                return Ok(());
            }
            if let Some(editor) = self.outside.take() {
                let result = self.edit_outside(&editor);
                terminal.clear()?;
                self.app.update(Msg::EditedOutside { editor, result });
            }
            tokio::time::sleep(Duration::from_millis(16)).await;
        }
    }
}

impl Cockpit {
    /// Hands the terminal to `$EDITOR` on the edit's text (as kubectl edit does) and takes
    /// it back; the text it left, or why it could not be run.
    fn edit_outside(&self, editor: &Editor) -> Result<String, String> {
        let command = self.app.external_editor.clone().unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "mlxp-edit-{}-{}.yaml",
            std::process::id(),
            editor.target.name
        ));
        std::fs::write(&path, editor.text.lines().join("\n") + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        self.keys_paused.pause();
        ratatui::restore();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{command} \"$1\""))
            .arg("mlxp-edit")
            .arg(&path)
            .status();
        let _ = crossterm::terminal::enable_raw_mode();
        let _ = crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen);
        self.keys_paused.resume();
        let text = match status {
            Ok(done) if done.success() => {
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
            }
            Ok(done) => Err(format!("{command} ended with {done}")),
            Err(e) => Err(format!("{command}: {e}")),
        };
        let _ = std::fs::remove_file(&path);
        text
    }
}

/// Lines as they come, in batches of what has arrived (one message per batch, not per
/// line, so a fast log costs the loop one update per frame or so).
async fn forward_logs(
    mut events: mpsc::Receiver<crate::cluster::LogEvent>,
    messages: mpsc::Sender<Msg>,
) {
    const BATCH: usize = 4096;
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match events.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        if messages.send(Msg::Logs(batch)).await.is_err() {
            return;
        }
    }
}

/// Keys are read on their own thread: crossterm's read blocks. A resize is passed on with
/// the new width (what `s` sorts by depends on it), so the loop redraws at the new size at
/// once (the draw itself fits the frame).
fn spawn_keys(messages: mpsc::Sender<Msg>, gate: Arc<KeyGate>) {
    std::thread::spawn(move || {
        loop {
            // While `$EDITOR` has the terminal its keys are its own.
            let paused = gate.paused.load(Ordering::Acquire);
            gate.parked.store(paused, Ordering::Release);
            if paused {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            match crossterm::event::poll(Duration::from_millis(50)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let Ok(event) = crossterm::event::read() else {
                return;
            };
            let msg = match event {
                Event::Key(key) if key.kind != KeyEventKind::Release => {
                    Msg::Key(Key::from_event(&key))
                }
                Event::Resize(width, height) => Msg::Resized { width, height },
                _ => continue,
            };
            if messages.blocking_send(msg).is_err() {
                return;
            }
        }
    });
}

/// Asks the server what the context's credentials may change; the answer comes back as
/// `Msg::Access`.
fn check_access(client: &kube::Client, context: String, messages: mpsc::Sender<Msg>) {
    let client = client.clone();
    tokio::spawn(async move {
        let result = crate::cluster::read_only(&client)
            .await
            .map_err(|e| e.to_string());
        let _ = messages.send(Msg::Access { context, result }).await;
    });
}

fn spawn_metrics(source: Arc<dyn MetricsSource>, every: Duration, messages: mpsc::Sender<Msg>) {
    tokio::spawn(async move {
        // The minutes before the start first, so the charts open with a history; a source
        // without one (the embedded cluster) just starts with the live frames.
        let window = every * u32::try_from(crate::tui::history::KEEP).unwrap_or(u32::MAX);
        if let Ok(frames) = source.recent(window, every).await {
            for frame in frames {
                if messages.send(Msg::Recent(Arc::new(frame))).await.is_err() {
                    return;
                }
            }
        }
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            let frame = source
                .frame()
                .await
                .map(Arc::new)
                .map_err(|e| e.to_string());
            if messages.send(Msg::Metrics(frame)).await.is_err() {
                return;
            }
        }
    });
}
