//! mlxp's pure core: the domain's types and rules, the cluster as one immutable `Snapshot`,
//! the metrics as one `MetricsFrame` and the trait of their sources. No I/O: no Kubernetes
//! client, no async runtime, no terminal (see the README's Architecture).

pub mod agent;
pub mod domain;
pub mod duration;
pub mod gpus;
pub mod health;
pub mod kinds;
pub mod logs;
pub mod metrics;
pub mod ops;
pub mod served;
pub mod snapshot;
pub mod source;
