//! `:ctx NAME` through the cockpit's loop, without a terminal: the demo's contexts on the
//! embedded cluster, a switch that fails and one that lands on the read-only context.

use std::str::FromStr;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
mod common;

use common::cockpit::{step_until, synced};
use mlxp::cli::embedded::{DEMO_CONTEXT, DEMO_READONLY_CONTEXT, demo_contexts};
use mlxp::cluster::Contexts;
use mlxp::tui::app::{App, Msg};
use mlxp::tui::keys::Key;
use mlxp::tui::run::{Cockpit, Options};
use mlxp_sim::Sim;

async fn type_command(cockpit: &Cockpit, text: &str) {
    let keys = std::iter::once(":".to_string())
        .chain(text.chars().map(|c| match c {
            ' ' => "space".to_string(),
            c => c.to_string(),
        }))
        .chain(std::iter::once("enter".to_string()));
    for key in keys {
        let key = Key::from_str(&key).expect("key");
        cockpit.messages().send(Msg::Key(key)).await.expect("sent");
    }
}

/// The basic cluster on a clock that stands still.
async fn standing_sim() -> Sim {
    Sim::start(mlxp_sim::SimConfig {
        manual_clock: true,
        ..Default::default()
    })
    .await
    .expect("sim starts")
}

#[tokio::test]
async fn ctx_switches_to_the_readonly_demo_context_and_a_failed_switch_stays() {
    let sim = standing_sim().await;
    let demo = demo_contexts(&sim).expect("contexts");
    assert_eq!(demo.names(), [DEMO_CONTEXT, DEMO_READONLY_CONTEXT]);
    // The same kubeconfig, plus a name whose context it lacks: connecting to it fails.
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).expect("yaml");
    let contexts = Contexts::renamed(
        kubeconfig,
        &[
            (DEMO_CONTEXT, "mlxp-sim"),
            (DEMO_READONLY_CONTEXT, "mlxp-sim-readonly"),
            ("gone", "no-such-context"),
        ],
    );
    let admin = demo.connect(DEMO_CONTEXT).await.expect("admin client");
    let options = Options {
        context: DEMO_CONTEXT.into(),
        contexts,
        ..Default::default()
    };
    let mut cockpit = Cockpit::new(admin, None, options);
    step_until(&mut cockpit, "the admin context synced", synced).await;
    let before = cockpit.app.snapshot.generation;

    type_command(&cockpit, "ctx gone").await;
    step_until(&mut cockpit, "the failed switch reported", |app| {
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("could not switch to gone:"))
    })
    .await;
    assert_eq!(cockpit.app.context, DEMO_CONTEXT);
    assert_eq!(
        cockpit.app.snapshot.generation, before,
        "still the old snapshot"
    );

    type_command(&cockpit, "ctx mlxp-demo-readonly").await;
    step_until(&mut cockpit, "the switch", |app| {
        app.context == DEMO_READONLY_CONTEXT
    })
    .await;
    assert!(!synced(&cockpit.app), "the new context starts from nothing");
    step_until(&mut cockpit, "the read-only context synced", synced).await;
    assert!(!cockpit.app.snapshot.nodes.is_empty());

    let readonly = demo.connect(DEMO_READONLY_CONTEXT).await.expect("client");
    let denied = write_config_map(readonly).await;
    assert!(
        matches!(&denied, Err(kube::Error::Api(s)) if s.code == 403),
        "{denied:?}"
    );
    let admin = demo.connect(DEMO_CONTEXT).await.expect("client");
    write_config_map(admin)
        .await
        .expect("the same write is allowed to the admin");
}

async fn write_config_map(client: kube::Client) -> kube::Result<ConfigMap> {
    let config_map = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("written".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(client, "default")
        .create(&PostParams::default(), &config_map)
        .await
}

#[test]
fn the_header_says_read_only_when_asked() {
    let header = |readonly: bool| {
        let (keymap, _) = mlxp::tui::keymap::load("default", None);
        let (theme, _) = mlxp::tui::theme::load("dark", None);
        let depth = mlxp::tui::color_depth::ColorDepth::TrueColor;
        let mut app = App::new(keymap, theme, depth, "prod".into(), chrono::Utc::now());
        app.readonly = readonly;
        let backend = ratatui::backend::TestBackend::new(120, 24);
        let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
        terminal
            .draw(|frame| mlxp::tui::render::render(&app, frame))
            .expect("drawn");
        let screen = terminal.backend().to_string();
        screen.lines().next().unwrap_or_default().to_string()
    };
    assert!(
        header(true).contains("ns:all read-only "),
        "{}",
        header(true)
    );
    assert!(!header(false).contains("read-only"), "{}", header(false));
}

/// The first line of the cockpit as drawn now.
fn header_of(app: &App) -> String {
    let backend = ratatui::backend::TestBackend::new(120, 24);
    let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
    terminal
        .draw(|frame| mlxp::tui::render::render(app, frame))
        .expect("drawn");
    let screen = terminal.backend().to_string();
    screen.lines().next().unwrap_or_default().to_string()
}

/// Without `--readonly`, the header still says read-only when the credentials in use may
/// not change anything (asked of the server on connect and on each context switch).
#[tokio::test]
async fn the_header_says_read_only_when_the_credentials_are() {
    let sim = standing_sim().await;
    let demo = demo_contexts(&sim).expect("contexts");
    let readonly = demo.connect(DEMO_READONLY_CONTEXT).await.expect("client");
    let options = Options {
        context: DEMO_READONLY_CONTEXT.into(),
        contexts: demo,
        ..Default::default()
    };
    let mut cockpit = Cockpit::new(readonly, None, options);
    step_until(&mut cockpit, "read-only in the header", |app| {
        header_of(app).contains("read-only")
    })
    .await;
    type_command(&cockpit, "ctx mlxp-demo").await;
    step_until(&mut cockpit, "the admin context, writable", |app| {
        app.context == DEMO_CONTEXT && app.access_checked() && !header_of(app).contains("read-only")
    })
    .await;
}
