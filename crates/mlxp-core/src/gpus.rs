//! GPU accounting over a snapshot and a metrics frame: which GPUs are held and idle, what
//! one costs, how busy a pool's GPUs are. The one place each is decided; views, verbs and
//! alerts read it from here.

use std::collections::BTreeMap;

use crate::domain::cost::{self, PriceTable};
use crate::domain::pools::{GPU_PRODUCT_LABEL, is_spot, pool_of};
use crate::metrics::{GpuSample, MetricsFrame};
use crate::snapshot::Snapshot;

/// Held by a pod and doing (almost) nothing, by the domain's rule.
pub fn idle_allocated(gpu: &GpuSample) -> bool {
    cost::idle_allocated(gpu.pod.is_some(), gpu.util)
}

/// Dollars per hour of one GPU: by its node's product label and capacity type; by the
/// exporter's model name, on-demand, when the node is not (yet) in the snapshot.
pub fn hourly_price(prices: &PriceTable, snapshot: &Snapshot, gpu: &GpuSample) -> f64 {
    match snapshot.nodes.get("", &gpu.node) {
        Some(node) => prices.gpu_hourly(
            node.meta
                .label(GPU_PRODUCT_LABEL)
                .or(Some(gpu.model_name.as_str())),
            is_spot(node),
        ),
        None => prices.gpu_hourly(Some(&gpu.model_name), false),
    }
}

/// Each pool's mean GPU utilisation (%), over the GPUs the frame reports on the pool's
/// nodes; a pool without any is absent (unknown, not 0 %).
pub fn pool_utilisation(snapshot: &Snapshot, frame: &MetricsFrame) -> BTreeMap<String, f64> {
    pool_means(&frame.gpus, |node| {
        snapshot.nodes.get("", node).map(|n| pool_of(n))
    })
    .into_iter()
    .map(|(pool, mean)| (pool.to_string(), mean))
    .collect()
}

/// The same means, in the order the pools are first met, each node's pool told by
/// `pool_of_node` (a caller that keeps a node→pool map between frames passes it here). A
/// node's pool is asked once per run of its GPUs (a frame lists a node's GPUs together):
/// at 40,000 GPUs this runs for every frame.
pub fn pool_means<'a>(
    gpus: &[GpuSample],
    pool_of_node: impl Fn(&str) -> Option<&'a str>,
) -> Vec<(&'a str, f64)> {
    let mut sums: Vec<(&'a str, f64, usize)> = Vec::new();
    let mut last: Option<(&str, Option<usize>)> = None;
    for gpu in gpus {
        let at = match last {
            Some((node, at)) if node == gpu.node => at,
            _ => {
                let at = pool_of_node(&gpu.node).map(|pool| {
                    sums.iter()
                        .position(|(p, _, _)| *p == pool)
                        .unwrap_or_else(|| {
                            sums.push((pool, 0.0, 0));
                            sums.len() - 1
                        })
                });
                last = Some((&gpu.node, at));
                at
            }
        };
        if let Some(at) = at {
            sums[at].1 += gpu.util;
            sums[at].2 += 1;
        }
    }
    sums.into_iter()
        .map(|(pool, sum, n)| (pool, sum / n as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::cost::Price;
    use crate::metrics::PodRef;

    fn gpu(node: &str, util: f64, pod: Option<&str>) -> GpuSample {
        GpuSample {
            node: node.into(),
            gpu: "0".into(),
            uuid: format!("GPU-{node}"),
            model_name: "NVIDIA H100 80GB HBM3".into(),
            util,
            fb_used_mib: 0.0,
            fb_free_mib: 0.0,
            power_watts: 0.0,
            pod: pod.map(|name| PodRef {
                namespace: "training".into(),
                name: name.into(),
                container: "main".into(),
            }),
        }
    }

    fn snapshot(nodes: &[(&str, &str, bool)]) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for (name, pool, spot) in nodes {
            let node = serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "labels": {
                    "mlxp.io/pool": pool,
                    "karpenter.sh/capacity-type": if *spot { "spot" } else { "on-demand" },
                    "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
            }))
            .expect("node");
            snapshot.nodes.items.insert(
                (
                    crate::domain::objects::SharedStr::default(),
                    name.to_string(),
                ),
                Arc::new(node),
            );
        }
        snapshot
    }

    fn frame(gpus: Vec<GpuSample>) -> MetricsFrame {
        MetricsFrame {
            at: chrono::DateTime::UNIX_EPOCH,
            gpus,
            traffic: Vec::new(),
            quality: Vec::new(),
        }
    }

    #[test]
    fn a_held_gpu_under_five_percent_is_idle_a_free_one_is_not() {
        assert!(idle_allocated(&gpu("a", 1.0, Some("p"))));
        assert!(!idle_allocated(&gpu("a", 50.0, Some("p"))));
        assert!(!idle_allocated(&gpu("a", 0.0, None)));
    }

    #[test]
    fn a_gpu_costs_its_nodes_price_or_on_demand_by_its_model_name() {
        let prices = PriceTable::new(
            [(
                "NVIDIA-H100-80GB-HBM3".to_string(),
                Price {
                    on_demand: 10.0,
                    spot: 3.0,
                },
            )],
            Price {
                on_demand: 1.0,
                spot: 0.5,
            },
            Price {
                on_demand: 0.1,
                spot: 0.05,
            },
        );
        let snapshot = snapshot(&[("spot-a", "training", true)]);
        assert_eq!(
            hourly_price(&prices, &snapshot, &gpu("spot-a", 0.0, None)),
            3.0
        );
        assert_eq!(
            hourly_price(&prices, &snapshot, &gpu("gone", 0.0, None)),
            10.0,
            "a node not in the snapshot: on-demand, by the exporter's model name"
        );
    }

    #[test]
    fn a_pools_utilisation_is_the_mean_of_its_gpus_and_absent_without_any() {
        let snapshot = snapshot(&[
            ("a", "training", true),
            ("b", "training", true),
            ("c", "serving", false),
        ]);
        let util = pool_utilisation(
            &snapshot,
            &frame(vec![
                gpu("a", 20.0, None),
                gpu("b", 60.0, None),
                gpu("unknown-node", 100.0, None),
            ]),
        );
        assert_eq!(util.get("training"), Some(&40.0));
        assert_eq!(util.get("serving"), None);
        assert_eq!(util.len(), 1);
    }
}
