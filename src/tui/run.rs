//! The cockpit's loop: keys, snapshots, metrics and the clock become messages to `update()`;
//! the frame is redrawn after them (at most ~60 times a second). Network work runs in tasks,
//! so a slow or lost cluster never freezes the screen.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyEventKind};
use tokio::sync::mpsc;

use super::app::{App, Effect, Msg};
use super::color_depth::ColorDepth;
use super::keys::Key;
use super::{keymap, render, theme};
use crate::domain::cost::PriceTable;
use crate::metrics::MetricsSource;

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keymap: "default".into(),
            theme: "dark".into(),
            context: String::new(),
            namespace: None,
            metrics_every: Duration::from_secs(5),
            prices: PriceTable::defaults(),
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
    app
}

pub async fn run(
    client: kube::Client,
    metrics: Option<Arc<dyn MetricsSource>>,
    options: Options,
) -> anyhow::Result<()> {
    let watch = crate::cluster::start(client.clone());
    let mut snapshots = watch.subscribe();
    let mut app = app(&options);
    app.metrics_source = metrics.as_ref().map(|m| m.describe()).unwrap_or_default();
    // A busy cluster sends snapshots many times a second; tables follow at most 4 times.
    app.rebuild_every = Duration::from_millis(250);
    let (messages, mut inbox) = mpsc::channel::<Msg>(256);
    spawn_keys(messages.clone());
    if let Some(source) = metrics {
        spawn_metrics(source, options.metrics_every, messages.clone());
    }
    let mut terminal = ratatui::try_init()?;
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    let result = loop {
        if let Err(e) = terminal.draw(|frame| render::render(&app, frame)) {
            break Err(e.into());
        }
        tokio::select! {
            Some(msg) = inbox.recv() => app.update(msg),
            Ok(()) = snapshots.changed() => {
                let latest = snapshots.borrow_and_update().clone();
                app.update(Msg::Snapshot(latest));
            }
            _ = ticks.tick() => app.update(Msg::Tick(chrono::Utc::now())),
        }
        // Take whatever else is waiting before drawing again.
        while let Ok(msg) = inbox.try_recv() {
            app.update(msg);
        }
        for effect in app.take_effects() {
            spawn_effect(effect, client.clone(), messages.clone());
        }
        if app.quit {
            break Ok(());
        }
        tokio::time::sleep(Duration::from_millis(16)).await;
    };
    ratatui::restore();
    result
}

/// Runs what `update()` asked for; the result comes back as a message.
fn spawn_effect(effect: Effect, client: kube::Client, messages: mpsc::Sender<Msg>) {
    tokio::spawn(async move {
        let msg = match effect {
            Effect::FetchYaml { path } => {
                Msg::Yaml(crate::cluster::fetch_yaml(&client, &path).await)
            }
        };
        let _ = messages.send(msg).await;
    });
}

/// Keys are read on their own thread: crossterm's read blocks.
fn spawn_keys(messages: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        while let Ok(event) = crossterm::event::read() {
            if let Event::Key(key) = event
                && key.kind != KeyEventKind::Release
                && messages
                    .blocking_send(Msg::Key(Key::from_event(&key)))
                    .is_err()
            {
                return;
            }
        }
    });
}

fn spawn_metrics(source: Arc<dyn MetricsSource>, every: Duration, messages: mpsc::Sender<Msg>) {
    tokio::spawn(async move {
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
