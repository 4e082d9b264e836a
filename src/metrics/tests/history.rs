use super::fake_prometheus::{FakePrometheus, matrix};
use super::{config_for, promql};
use crate::metrics::{MetricsError, MetricsSource, Prometheus, Series};
use chrono::DateTime;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test]
async fn history_runs_a_range_query_and_parses_the_matrix() {
    let answer = matrix(&[
        (
            &[("model", "resnet"), ("version", "v1")],
            &[(1700000000.0, "1.5"), (1700000015.0, "2")],
        ),
        (
            &[("model", "resnet"), ("version", "v2")],
            &[(1700000015.5, "0.25")],
        ),
    ]);
    let fake = FakePrometheus::start(vec![(promql("rps"), answer)]).await;
    let source = Prometheus::new(&config_for(fake.url())).unwrap();

    let series = source
        .history("rps", Duration::from_secs(3600), Duration::from_secs(15))
        .await
        .unwrap();

    let labels = |version: &str| -> BTreeMap<String, String> {
        [("model", "resnet"), ("version", version)]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into()
    };
    let at = |millis: i64| DateTime::from_timestamp_millis(millis).unwrap();
    assert_eq!(
        series,
        vec![
            Series {
                labels: labels("v1"),
                points: vec![(at(1_700_000_000_000), 1.5), (at(1_700_000_015_000), 2.0)]
            },
            Series {
                labels: labels("v2"),
                points: vec![(at(1_700_000_015_500), 0.25)]
            },
        ]
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/api/v1/query_range");
    assert_eq!(request.params["step"], "15");
    let bound = |name: &str| request.params[name].parse::<i64>().unwrap();
    assert_eq!(bound("end") - bound("start"), 3600);
}

#[tokio::test]
async fn history_of_an_unknown_name_fails_without_a_request() {
    let fake = FakePrometheus::start(Vec::new()).await;
    let source = Prometheus::new(&config_for(fake.url())).unwrap();

    let result = source
        .history(
            "no_such_query",
            Duration::from_secs(60),
            Duration::from_secs(5),
        )
        .await;

    assert!(
        matches!(&result, Err(MetricsError::Query { name, .. }) if name == "no_such_query"),
        "{result:?}"
    );
    assert!(fake.requests().is_empty());
}

/// The charts' opening history: one frame per requests/s point, the error and latency
/// points of each query matched to the nearest one even when their range ends a second
/// apart; queries that fail (here accuracy and drift) leave their numbers out.
#[tokio::test]
async fn recent_frames_join_the_queries_point_by_point() {
    let v1: &[(&str, &str)] = &[("model", "fraud"), ("version", "v1")];
    let v2: &[(&str, &str)] = &[("model", "fraud"), ("version", "v2")];
    let rps = matrix(&[
        (
            v1,
            &[
                (1700000000.0, "100"),
                (1700000005.0, "110"),
                (1700000010.0, "120"),
            ],
        ),
        (v2, &[(1700000005.0, "20"), (1700000010.0, "30")]),
    ]);
    let errors = matrix(&[(v2, &[(1700000006.0, "2"), (1700000011.0, "3")])]);
    let p99 = matrix(&[(v1, &[(1699999999.0, "0.25"), (1700000009.0, "0.5")])]);
    let fake = FakePrometheus::start(vec![
        (promql("rps"), rps),
        (promql("errors"), errors),
        (promql("p99"), p99),
    ])
    .await;
    let source = Prometheus::new(&config_for(fake.url())).unwrap();

    let frames = source
        .recent(Duration::from_secs(600), Duration::from_secs(5))
        .await
        .expect("frames");

    let at: Vec<i64> = frames.iter().map(|f| f.at.timestamp()).collect();
    assert_eq!(at, [1700000000, 1700000005, 1700000010]);
    let row = |frame: usize, version: &str| {
        frames[frame]
            .traffic
            .iter()
            .find(|t| t.version == version)
            .cloned()
    };
    assert_eq!(
        row(0, "v1").map(|t| (t.rps, t.p99_seconds)),
        Some((100.0, Some(0.25)))
    );
    assert!(row(0, "v2").is_none(), "v2 had no traffic yet");
    assert_eq!(row(1, "v2").map(|t| t.error_ratio), Some(0.1));
    assert_eq!(row(2, "v2").map(|t| t.error_ratio), Some(0.1));
    assert_eq!(row(2, "v1").and_then(|t| t.p99_seconds), Some(0.5));
    assert!(
        frames
            .iter()
            .all(|f| f.gpus.is_empty() && f.quality.is_empty())
    );
    let ranges = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/query_range")
        .count();
    assert_eq!(ranges, 6, "one range query per serving and quality number");
}

#[tokio::test]
async fn recent_fails_when_requests_per_second_do() {
    let fake = FakePrometheus::start(Vec::new()).await;
    let source = Prometheus::new(&config_for(fake.url())).unwrap();
    let result = source
        .recent(Duration::from_secs(600), Duration::from_secs(5))
        .await;
    assert!(
        matches!(result, Err(MetricsError::Query { ref name, .. }) if name == "rps"),
        "{result:?}"
    );
}
