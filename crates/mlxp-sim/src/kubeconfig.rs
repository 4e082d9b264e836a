//! The kubeconfig `mlxp sim` writes: one cluster, an admin and a read-only user.

use base64::Engine;
use serde_json::json;

pub const CONTEXT: &str = "mlxp-sim";
pub const READONLY_CONTEXT: &str = "mlxp-sim-readonly";

pub fn render(server: &str, ca_pem: &str, admin_token: &str, readonly_token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "mlxp-sim", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [
            {"name": "mlxp-sim-admin", "user": {"token": admin_token}},
            {"name": "mlxp-sim-readonly", "user": {"token": readonly_token}},
        ],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": "mlxp-sim", "user": "mlxp-sim-admin", "namespace": "default"}},
            {"name": READONLY_CONTEXT, "context": {"cluster": "mlxp-sim", "user": "mlxp-sim-readonly", "namespace": "default"}},
        ],
        "current-context": CONTEXT,
        "preferences": {},
    });
    // JSON is YAML; kubectl and kube-rs both read it.
    serde_json::to_string_pretty(&config).unwrap_or_default()
}
