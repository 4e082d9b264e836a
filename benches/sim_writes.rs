//! The embedded cluster's memory under a steady write load (`cargo bench --bench
//! sim_writes`): `mlxp sim` in its own process, one ConfigMap patched 200,000 times by 16
//! writers at once, the server's RSS read before and after every 50,000. Its change
//! history is bounded (the newest 100,000 changes, as etcd compacts), so the RSS grows
//! while the window fills and then stays where it is.

#[path = "common/rss.rs"]
#[allow(dead_code)]
mod rss;
#[path = "common/sim_process.rs"]
#[allow(dead_code)]
mod sim_process;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use sim_process::SimProcess;

const WRITERS: usize = 16;
const STEP: usize = 50_000;
/// Steps of STEP writes (MLXP_BENCH_STEPS, default 4).
fn steps() -> usize {
    std::env::var("MLXP_BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}

fn rss_mib(pid: u32) -> f64 {
    rss::rss_mib_of(&pid.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The platform at its small size, its clock stopped after start-up (SIGUSR1), so only
    // these writes change the cluster.
    let sim = SimProcess::start(&[])?;
    let pid = sim.child.id();
    let client = kube::Client::try_from(sim.config().await?)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    std::process::Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()?;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let map: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "churn"}, "data": {"n": "0", "payload": "x".repeat(400)},
    }))?;
    maps.create(&PostParams::default(), &map).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("| writes | server RSS (MiB) | writes/s |");
    println!("|---|---|---|");
    println!("| 0 | {:.0} | — |", rss_mib(pid));
    let mut written = 0usize;
    for _ in 0..steps() {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let maps = maps.clone();
            tasks.push(tokio::spawn(async move {
                for i in (w..STEP).step_by(WRITERS) {
                    let patch = serde_json::json!({"data": {"n": (written + i).to_string()}});
                    maps.patch("churn", &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .expect("patched");
                }
            }));
        }
        for task in tasks {
            task.await?;
        }
        written += STEP;
        let rate = STEP as f64 / started.elapsed().as_secs_f64();
        println!("| {written} | {:.0} | {rate:.0} |", rss_mib(pid));
    }
    Ok(())
}
