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
