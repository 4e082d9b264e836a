//! Helpers shared by the integration tests (each test binary uses its own subset).
#![allow(dead_code)]

use mlxp::sim::Sim;

/// The sim's `/metrics` exposition, read with the read-only token as a scraper would.
pub async fn metrics(sim: &Sim) -> String {
    sim.client(true)
        .await
        .expect("client")
        .request_text(
            http::Request::get("/metrics")
                .body(Vec::new())
                .expect("request"),
        )
        .await
        .expect("metrics")
}

/// A fixed start for simulated time, so runs compare.
pub fn eight_am() -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339("2026-11-29T08:00:00Z")
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The small platform scenario on a standing clock at `start`.
pub async fn platform_at(start: Option<chrono::DateTime<chrono::Utc>>) -> Sim {
    Sim::start(mlxp::sim::SimConfig {
        scenario: mlxp::sim::Scenario::Platform {
            scale: mlxp::sim::Scale::Small,
        },
        manual_clock: true,
        start,
        ..mlxp::sim::SimConfig::default()
    })
    .await
    .expect("sim starts")
}

/// A cluster-wide API of any kind, as dynamic objects.
pub fn dynamic(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> kube::Api<kube::api::DynamicObject> {
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(group, version, kind),
        plural,
    );
    kube::Api::all_with(client.clone(), &resource)
}
