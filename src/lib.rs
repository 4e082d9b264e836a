//! mlxp: a terminal cockpit and headless agent for an ML platform on Kubernetes.
//! Module map and data flow: see DESIGN.md in the project's shared folder.

pub mod agent;
pub mod cli;
pub mod cluster;
pub mod domain;
pub mod metrics;
pub mod sim;
pub mod tui;

/// rustls is linked with one crypto provider (ring); make it the process default so every
/// TLS client and server (kube, reqwest, the embedded API server) finds it.
pub fn install_crypto_provider() {
    // Err only means another caller installed it first, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
