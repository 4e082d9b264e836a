//! How big the platform is. The same pools, queue and workloads at three sizes: `small` for
//! a laptop and the tests, `large` (×4), and `xlarge` — the size the cockpit is measured at:
//! 5,060 nodes, 40,000 GPUs and about 150,000 pods, most of them finished batch pods that
//! nobody cleaned up, as on real clusters whose Jobs carry no TTL.

use crate::controllers::nodepools::PoolSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    #[default]
    Small,
    Large,
    Xlarge,
}

/// What a scale puts in the cluster.
pub struct Shape {
    /// Pools with their starting node counts.
    pub pools: Vec<(PoolSpec, usize)>,
    /// Kueue nominal quota of `nvidia.com/gpu` for the spot and the on-demand flavor.
    pub gpu_quota: (usize, usize),
    /// 8-GPU training runs queued besides the named ones (the fleet of a big platform).
    pub fleet_runs: usize,
    /// Pods of finished data-preparation Jobs kept from before the warm-up.
    pub finished_pods: usize,
}

/// A cloud machine type.
struct Machine {
    kind: &'static str,
    cpu: u32,
    memory_gi: u32,
    gpus: u32,
    product: Option<&'static str>,
}

const E2_STANDARD_8: Machine = Machine {
    kind: "e2-standard-8",
    cpu: 8,
    memory_gi: 32,
    gpus: 0,
    product: None,
};
const E2_STANDARD_16: Machine = Machine {
    kind: "e2-standard-16",
    cpu: 16,
    memory_gi: 64,
    gpus: 0,
    product: None,
};
const N2_STANDARD_16: Machine = Machine {
    kind: "n2-standard-16",
    cpu: 16,
    memory_gi: 64,
    gpus: 0,
    product: None,
};
const A3_HIGHGPU_8G: Machine = Machine {
    kind: "a3-highgpu-8g",
    cpu: 208,
    memory_gi: 1872,
    gpus: 8,
    product: Some("NVIDIA-H100-80GB-HBM3"),
};
const G2_STANDARD_24: Machine = Machine {
    kind: "g2-standard-24",
    cpu: 24,
    memory_gi: 96,
    gpus: 2,
    product: Some("NVIDIA-L4"),
};
const G2_STANDARD_96: Machine = Machine {
    kind: "g2-standard-96",
    cpu: 96,
    memory_gi: 384,
    gpus: 8,
    product: Some("NVIDIA-L4"),
};

/// A pool of `count` nodes that the autoscaler keeps between its min and `max`.
fn pool(
    name: &str,
    role: &str,
    count: usize,
    max: usize,
    spot: bool,
    machine: &Machine,
) -> (PoolSpec, usize) {
    (
        PoolSpec {
            name: name.into(),
            role: role.into(),
            // Fixed-size pools (max == count) never shrink; the others keep two nodes.
            min: if max <= count { count } else { count.min(2) },
            max,
            spot,
            machine_type: machine.kind.into(),
            cpu: machine.cpu,
            memory_gi: machine.memory_gi,
            gpus: machine.gpus,
            gpu_product: machine.product.map(String::from),
            preemptions_per_hour: if spot { 0.02 } else { 0.0 },
        },
        count,
    )
}

impl Scale {
    pub fn shape(self) -> Shape {
        match self {
            Scale::Small => grown(1, 0, 24),
            Scale::Large => grown(4, 16, 2_000),
            // Reserved capacity: at this size GPU pools are bought, not autoscaled, so every
            // pool is fixed (a reclaimed spot node is still replaced, up to the same size).
            // 5,000 nodes of 8 GPUs (4,000 + 800 H100, 200 L4) and 60 CPU nodes.
            Scale::Xlarge => Shape {
                pools: vec![
                    pool("system", "system", 12, 12, false, &E2_STANDARD_8),
                    pool("training", "training", 4_000, 4_000, true, &A3_HIGHGPU_8G),
                    pool(
                        "training-ondemand",
                        "training",
                        800,
                        800,
                        false,
                        &A3_HIGHGPU_8G,
                    ),
                    pool("serving-gpu", "serving", 200, 200, false, &G2_STANDARD_96),
                    pool("serving-cpu", "serving", 40, 40, false, &N2_STANDARD_16),
                    pool("monitoring", "monitoring", 8, 8, false, &E2_STANDARD_16),
                ],
                gpu_quota: (30_000, 6_000),
                // 56,000 GPUs asked for against 36,000 of quota: a queue of thousands of
                // runs, which the runs ending drain over some simulated hours.
                fleet_runs: 7_000,
                finished_pods: 144_500,
            },
        }
    }
}

/// The small platform with its autoscaled pools grown `f` times.
fn grown(f: usize, fleet_runs: usize, finished_pods: usize) -> Shape {
    Shape {
        pools: vec![
            pool("system", "system", 3, 3, false, &E2_STANDARD_8),
            pool("training", "training", 8 * f, 12 * f, true, &A3_HIGHGPU_8G),
            pool(
                "training-ondemand",
                "training",
                2 * f,
                2 * f,
                false,
                &A3_HIGHGPU_8G,
            ),
            pool(
                "serving-gpu",
                "serving",
                4 * f,
                8 * f,
                false,
                &G2_STANDARD_24,
            ),
            pool(
                "serving-cpu",
                "serving",
                3 * f,
                6 * f,
                false,
                &N2_STANDARD_16,
            ),
            pool("monitoring", "monitoring", 2, 2, false, &E2_STANDARD_16),
        ],
        gpu_quota: (40 * f, 8 * f),
        fleet_runs,
        finished_pods,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(shape: &Shape) -> (usize, usize) {
        shape.pools.iter().fold((0, 0), |(nodes, gpus), (pool, n)| {
            (nodes + n, gpus + n * pool.gpus as usize)
        })
    }

    #[test]
    fn xlarge_is_five_thousand_gpu_nodes_with_forty_thousand_gpus() {
        let shape = Scale::Xlarge.shape();
        assert_eq!(totals(&shape), (5_060, 40_000));
        // Demand above quota, so a queue forms; quota within the training pools.
        let (spot, ondemand) = shape.gpu_quota;
        assert!(shape.fleet_runs * 8 > spot + ondemand);
        assert!(spot <= 4_000 * 8 && ondemand <= 800 * 8);
    }

    #[test]
    fn every_scale_has_the_same_pools() {
        let names = |s: Scale| -> Vec<String> {
            s.shape()
                .pools
                .iter()
                .map(|(p, _)| p.name.clone())
                .collect()
        };
        assert_eq!(names(Scale::Small), names(Scale::Xlarge));
        assert_eq!(names(Scale::Small), names(Scale::Large));
        assert!(totals(&Scale::Large.shape()).1 > totals(&Scale::Small.shape()).1);
    }
}
