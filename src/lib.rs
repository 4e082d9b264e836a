//! mlxp: a terminal cockpit and headless agent for an ML platform on Kubernetes.
//! This crate is the I/O around the pure core (`mlxp_core`): it reads the cluster, fetches
//! metrics, draws the cockpit and runs the verbs. Crates, modules and the rules between
//! them: the README's Architecture.

pub mod agent;
pub mod cli;
pub mod cluster;
pub mod exec;
pub mod metrics;
pub mod tui;

/// rustls is linked with one crypto provider (ring); make it the process default so every
/// TLS client and server (kube, reqwest, the embedded API server) finds it.
pub fn install_crypto_provider() {
    // Err only means another caller installed it first, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
