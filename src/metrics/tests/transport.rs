//! How the Prometheus source talks to its server: caching, and failures
//! that concern the whole server rather than one query.

use super::config_for;
use super::fake_prometheus::{FakePrometheus, stalled_server, vector};
use crate::metrics::{MetricsConfig, MetricsError, MetricsSource, Prometheus};
use std::time::{Duration, Instant};

/// One idle GPU: enough for a frame to succeed.
async fn one_gpu() -> FakePrometheus {
    let util = vector(&[(&[("Hostname", "node-a"), ("gpu", "0")], "0")]);
    FakePrometheus::start(vec![(super::promql("gpu_util"), util)]).await
}

#[tokio::test]
async fn frame_is_reused_until_the_refresh_interval_has_passed() {
    let fake = one_gpu().await;
    let refresh = Duration::from_secs(1);
    let source = Prometheus::new(&MetricsConfig {
        refresh,
        ..config_for(fake.url())
    })
    .unwrap();

    // Taken before the fetch, so it is never later than the cache's own clock.
    let started = Instant::now();
    let first = source.frame().await.unwrap();
    let per_frame = fake.requests().len();
    assert_eq!(
        source.frame().await.unwrap(),
        first,
        "a cached frame is the same frame"
    );
    assert_eq!(
        fake.requests().len(),
        per_frame,
        "no request within the refresh interval"
    );

    while fake.requests().len() == per_frame {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no new fetch after the refresh interval"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        source.frame().await.unwrap();
    }
    assert!(
        started.elapsed() >= refresh,
        "fetched again after {:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests().len(), 2 * per_frame);
}

#[tokio::test]
async fn unreachable_server_fails_fast() {
    // A port that was just free: nothing listens there.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let config = config_for(&url);
    let source = Prometheus::new(&config).unwrap();

    let started = Instant::now();
    let result = source.frame().await;

    assert!(
        matches!(result, Err(MetricsError::Unreachable(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < config.timeout,
        "took {:?}",
        started.elapsed()
    );
    let error = result.unwrap_err().to_string();
    assert_eq!(source.last_errors(), vec![error.clone()]);
    assert_eq!(source.describe(), format!("prometheus {url}"));
    // The health line is one line: the cause first and whole, not a query URL cut short.
    assert_eq!(error, "metrics server unreachable: connection refused");
}

#[tokio::test]
async fn silent_server_times_out() {
    let server = stalled_server().await;
    let timeout = Duration::from_millis(300);
    let source = Prometheus::new(&MetricsConfig {
        timeout,
        ..config_for(&server.url)
    })
    .unwrap();

    let started = Instant::now();
    let result = source.frame().await;

    assert_eq!(result, Err(MetricsError::Timeout));
    assert!(
        started.elapsed() >= timeout && started.elapsed() < 10 * timeout,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn empty_url_means_no_prometheus() {
    let result = Prometheus::new(&MetricsConfig::defaults());

    assert!(matches!(result, Err(MetricsError::Config(_))));
}
