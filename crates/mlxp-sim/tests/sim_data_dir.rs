//! A sim with a data dir, stopped and started again: its objects come back as they were
//! (uids, resourceVersions), new writes go on above them, and the first run's kubeconfig
//! (its CA and token) works against the second. A damaged file stops the start, naming it.
//!
//! Nothing sleeps blindly: waits are on conditions, bounded.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use kube::api::{WatchEvent, WatchParams};
use kube::{Client, ResourceExt};
use mlxp_sim::{Sim, SimConfig};
use serde_json::json;

/// The API server alone (no controller writes behind the test's back), keeping its data in
/// `dir`.
fn keeping_in(dir: &Path) -> SimConfig {
    SimConfig {
        manual_clock: true,
        data_dir: Some(dir.to_path_buf()),
        ..SimConfig::default()
    }
}

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"a": "1"},
    }))
    .expect("a ConfigMap")
}

/// A client made only from a kubeconfig's text, as kubectl would use the file.
async fn client_from(kubeconfig: &str) -> Client {
    let parsed = kube::config::Kubeconfig::from_yaml(kubeconfig).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(parsed, &Default::default())
        .await
        .expect("kubeconfig loads");
    Client::try_from(config).expect("client")
}

fn rv_of(cm: &ConfigMap) -> u64 {
    cm.resource_version()
        .and_then(|rv| rv.parse().ok())
        .expect("a numeric resourceVersion")
}

#[tokio::test]
async fn a_restarted_sim_keeps_its_objects_and_its_kubeconfig_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let first = Sim::start(keeping_in(&data)).await.expect("first run");
    let kubeconfig = first.kubeconfig_yaml();
    let cms: Api<ConfigMap> = Api::namespaced(first.client(false).await.unwrap(), "default");
    let kept = cms
        .create(&PostParams::default(), &config_map("keep"))
        .await
        .expect("created");
    let listed_at: u64 = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .and_then(|rv| rv.parse().ok())
        .expect("the list's resourceVersion");
    first.shut_down().await.expect("stops, saving");
    let addr = first.addr();
    drop(first);

    let second = Sim::start(SimConfig {
        listen: addr,
        ..keeping_in(&data)
    })
    .await
    .expect("second run, same address and data dir");
    // Only what the first run wrote: its kubeconfig's CA and admin token.
    let client = client_from(&kubeconfig).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let back = cms.get("keep").await.expect("the ConfigMap is back");
    assert_eq!(back.uid(), kept.uid());
    assert_eq!(back.resource_version(), kept.resource_version());
    assert_eq!(back.creation_timestamp(), kept.creation_timestamp());
    assert_eq!(back.data, kept.data);

    let after = cms
        .create(&PostParams::default(), &config_map("after"))
        .await
        .expect("a new write");
    assert!(
        rv_of(&after) > listed_at,
        "resourceVersions go on upward: {} after {listed_at}",
        rv_of(&after)
    );
    assert_ne!(after.uid(), kept.uid());

    // The kinds of the saved CustomResourceDefinitions are served again.
    let models = ApiResource::from_gvk(&GroupVersionKind::gvk("mlxp.io", "v1alpha1", "Model"));
    let models: Api<DynamicObject> = Api::all_with(client, &models);
    models.list(&ListParams::default()).await.expect("Models");

    // The first run's watch history is gone: watching from before the restart is 410 Gone.
    let mut events = cms
        .watch(&WatchParams::default().timeout(5), "1")
        .await
        .expect("a watch")
        .boxed();
    match tokio::time::timeout(Duration::from_secs(15), events.next()).await {
        Ok(Some(Ok(WatchEvent::Error(status)))) => assert_eq!(status.code, 410, "{status:?}"),
        other => panic!("expected a 410, got {other:?}"),
    }
    drop(second);
}

/// A crash (no clean stop) loses only what the last periodic save missed: a ConfigMap seen
/// in the saved file is there in the next run.
#[tokio::test]
async fn objects_are_saved_while_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let first = Sim::start(keeping_in(&data)).await.expect("first run");
    let file = data.join("objects.json");
    let saved_with = |name: &'static str| {
        let file = file.clone();
        async move {
            let bound = mlxp_sim::data_dir::SAVE_EVERY * 3;
            let deadline = tokio::time::Instant::now() + bound;
            while !std::fs::read_to_string(&file).is_ok_and(|text| text.contains(name)) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{name} saved within {bound:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // The first save (the seeded objects) comes first, so the next is the timer's.
    saved_with("kube-system").await;
    let cms: Api<ConfigMap> = Api::namespaced(first.client(false).await.unwrap(), "default");
    let kept = cms
        .create(&PostParams::default(), &config_map("saved-by-the-timer"))
        .await
        .expect("created");
    saved_with("saved-by-the-timer").await;
    // Dropped without shut_down: as good as killed.
    drop(first);

    let second = Sim::start(keeping_in(&data)).await.expect("second run");
    let cms: Api<ConfigMap> = Api::namespaced(second.client(false).await.unwrap(), "default");
    let back = cms.get("saved-by-the-timer").await.expect("it is back");
    assert_eq!(back.uid(), kept.uid());
}

/// A damaged file is an error that names it, and is left as it was: the user's data is
/// never replaced by a fresh scenario.
#[tokio::test]
async fn a_damaged_data_file_stops_the_start_and_is_left_alone() {
    for name in ["objects.json", "identity.json"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        std::fs::write(&path, "{\"objects\": [tru").unwrap();
        let error = match Sim::start(keeping_in(dir.path())).await {
            Ok(_) => panic!("{name}: started on a damaged file"),
            Err(error) => format!("{error:#}"),
        };
        assert!(
            error.contains(&path.display().to_string()),
            "{name}: {error}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"objects\": [tru"
        );
        // Everything is read before anything is written.
        let other = if name == "objects.json" {
            "identity.json"
        } else {
            "objects.json"
        };
        assert!(!dir.path().join(other).exists(), "{name}: {other} written");
    }
}
