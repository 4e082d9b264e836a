use super::fake_prometheus::{Answer, FakePrometheus, vector};
use super::{config_for, promql};
use crate::metrics::prometheus::FRAME_QUERIES;
use crate::metrics::{
    GpuSample, MetricsError, MetricsSource, ModelQuality, PodRef, Prometheus, VersionTraffic,
};
use std::collections::BTreeSet;

const A100: &str = "NVIDIA A100-SXM4-80GB";

/// Two nodes whose exporters spell the host label differently, one GPU
/// mapped through `exported_*` labels (the plain ones name the exporter's own
/// pod), one through plain labels, one idle; no answer for p99.
fn cluster() -> Vec<(String, Answer)> {
    let a0: &[(&str, &str)] = &[("Hostname", "node-a"), ("gpu", "0")];
    let a1: &[(&str, &str)] = &[("hostname", "node-a"), ("gpu", "1")];
    let b0: &[(&str, &str)] = &[("Hostname", "node-b"), ("gpu", "0")];
    let version = |model, version| [("model", model), ("version", version)];
    let (resnet1, resnet2, bert3) = (
        version("resnet", "v1"),
        version("resnet", "v2"),
        version("bert", "v3"),
    );
    let util = vector(&[
        (
            &[
                ("Hostname", "node-a"),
                ("gpu", "1"),
                ("UUID", "GPU-a1"),
                ("modelName", A100),
                ("pod", "dcgm-exporter-x7"),
                ("namespace", "gpu-operator"),
                ("container", "exporter"),
                ("exported_pod", "train-1"),
                ("exported_namespace", "ml"),
                ("exported_container", "trainer"),
            ],
            "87",
        ),
        (
            &[
                ("hostname", "node-b"),
                ("gpu", "0"),
                ("UUID", "GPU-b0"),
                ("modelName", A100),
                ("pod", "serve-7"),
                ("namespace", "serving"),
                ("container", "server"),
            ],
            "12.5",
        ),
        (
            &[
                ("Hostname", "node-a"),
                ("gpu", "0"),
                ("UUID", "GPU-a0"),
                ("modelName", A100),
                ("pod", ""),
            ],
            "0",
        ),
    ]);
    // node-a/0 reports no memory in use; node-c has no utilisation series.
    let node_c: &[(&str, &str)] = &[("Hostname", "node-c"), ("gpu", "0")];
    [
        ("gpu_util", util),
        (
            "gpu_fb_used",
            vector(&[(a1, "40000"), (b0, "1024"), (node_c, "5")]),
        ),
        (
            "gpu_fb_free",
            vector(&[(a0, "81920"), (a1, "41000"), (b0, "80000")]),
        ),
        (
            "gpu_power",
            vector(&[(a0, "60"), (a1, "310.5"), (b0, "95")]),
        ),
        (
            "rps",
            vector(&[(&resnet1, "10"), (&resnet2, "4"), (&bert3, "0")]),
        ),
        ("errors", vector(&[(&resnet1, "0.5"), (&resnet2, "0")])),
        ("p50", vector(&[(&resnet1, "0.02"), (&resnet2, "NaN")])),
        (
            "accuracy",
            vector(&[(&resnet1, "0.91"), (&resnet2, "0.93")]),
        ),
        ("drift", vector(&[(&resnet2, "0.2"), (&bert3, "0.05")])),
    ]
    .map(|(name, answer)| (promql(name), answer))
    .into()
}

fn gpu(
    node: &str,
    index: &str,
    util: f64,
    fb: (f64, f64),
    power: f64,
    pod: Option<(&str, &str, &str)>,
) -> GpuSample {
    GpuSample {
        node: node.into(),
        gpu: index.into(),
        uuid: format!("GPU-{}{index}", &node[node.len() - 1..]),
        model_name: A100.into(),
        util,
        fb_used_mib: fb.0,
        fb_free_mib: fb.1,
        power_watts: power,
        pod: pod.map(|(namespace, name, container)| PodRef {
            namespace: namespace.into(),
            name: name.into(),
            container: container.into(),
        }),
    }
}

#[tokio::test]
async fn frame_joins_gpu_series_by_host_and_index_across_label_spellings() {
    let fake = FakePrometheus::start(cluster()).await;
    let source = Prometheus::new(&config_for(fake.url())).unwrap();

    let frame = source.frame().await.unwrap();

    assert_eq!(
        frame.gpus,
        vec![
            gpu("node-a", "0", 0.0, (0.0, 81920.0), 60.0, None),
            gpu(
                "node-a",
                "1",
                87.0,
                (40000.0, 41000.0),
                310.5,
                Some(("ml", "train-1", "trainer"))
            ),
            gpu(
                "node-b",
                "0",
                12.5,
                (1024.0, 80000.0),
                95.0,
                Some(("serving", "serve-7", "server"))
            ),
        ]
    );
}

#[tokio::test]
async fn frame_sends_one_query_per_metric_and_survives_a_failed_p99() {
    let fake = FakePrometheus::start(cluster()).await;
    let source = Prometheus::new(&config_for(fake.url())).unwrap();

    let frame = source.frame().await.unwrap();

    let traffic = |model: &str, version: &str, rps, error_ratio, p50_seconds| VersionTraffic {
        model: model.into(),
        version: version.into(),
        rps,
        error_ratio,
        p50_seconds,
        p99_seconds: None,
    };
    assert_eq!(
        frame.traffic,
        vec![
            traffic("bert", "v3", 0.0, 0.0, None),
            traffic("resnet", "v1", 10.0, 0.05, Some(0.02)),
            traffic("resnet", "v2", 4.0, 0.0, None),
        ]
    );
    let quality = |model: &str, version: &str, accuracy, drift| ModelQuality {
        model: model.into(),
        version: version.into(),
        accuracy,
        drift,
    };
    assert_eq!(
        frame.quality,
        vec![
            quality("bert", "v3", None, Some(0.05)),
            quality("resnet", "v1", Some(0.91), None),
            quality("resnet", "v2", Some(0.93), Some(0.2)),
        ]
    );
    let errors = source.last_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("p99") && errors[0].contains("fake: no answer"),
        "{errors:?}"
    );

    let requests = fake.requests();
    let sent: BTreeSet<&str> = requests
        .iter()
        .map(|r| r.params["query"].as_str())
        .collect();
    let expected: Vec<String> = FRAME_QUERIES.map(promql).into();
    assert_eq!(requests.len(), FRAME_QUERIES.len());
    assert_eq!(sent, expected.iter().map(String::as_str).collect());
    assert!(
        requests
            .iter()
            .all(|r| r.method == "POST" && r.path == "/api/v1/query")
    );
}

#[tokio::test]
async fn failed_gpu_utilisation_fails_the_frame() {
    let answers = cluster()
        .into_iter()
        .filter(|(query, _)| *query != promql("gpu_util"))
        .collect();
    let fake = FakePrometheus::start(answers).await;
    let source = Prometheus::new(&config_for(fake.url())).unwrap();

    let result = source.frame().await;

    assert!(
        matches!(&result, Err(MetricsError::Query { name, .. }) if name == "gpu_util"),
        "{result:?}"
    );
}
