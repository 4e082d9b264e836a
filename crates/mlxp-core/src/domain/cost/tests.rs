use std::path::Path;

use serde_json::json;

use super::*;

const USER_FILE: &str = "/home/me/.config/mlxp/mlxp.toml";

fn load(text: &str) -> Result<PriceTable, CostConfigError> {
    PriceTable::from_toml(text, Path::new(USER_FILE))
}

fn error(text: &str) -> String {
    match load(text) {
        Err(CostConfigError(message)) => message,
        Ok(table) => panic!("expected an error, got {table:?}"),
    }
}

fn node(pool: &str, gpus: i64, product: Option<&str>, spot: bool) -> Node {
    let mut labels = json!({"mlxp.io/pool": pool});
    if let Some(product) = product {
        labels[GPU_PRODUCT_LABEL] = json!(product);
    }
    if spot {
        labels["cloud.google.com/gke-spot"] = json!("true");
    }
    serde_json::from_value(json!({
        "metadata": {"name": format!("{pool}-{gpus}"), "labels": labels},
        "status": {"allocatable": {"nvidia.com/gpu": gpus.to_string()}},
    }))
    .expect("node")
}

const H100: &str = "NVIDIA-H100-80GB-HBM3";

#[test]
fn the_built_in_prices_are_the_documented_examples() {
    let prices = PriceTable::defaults();
    assert_eq!(prices.gpu_hourly(Some(H100), false), 11.06);
    assert_eq!(prices.gpu_hourly(Some(H100), true), 3.5);
    assert_eq!(prices.gpu_hourly(Some("NVIDIA-L4"), true), 0.28);
    assert_eq!(prices.gpu_hourly(Some("NVIDIA-B300"), false), 4.0);
    assert_eq!(prices.gpu_hourly(None, true), 1.5);
    assert_eq!(prices.cpu_node.hourly(false), 0.4);
}

#[test]
fn a_product_is_found_whatever_its_case_and_spaces() {
    let prices = PriceTable::defaults();
    assert_eq!(
        prices.gpu_hourly(Some("NVIDIA H100 80GB HBM3"), false),
        11.06
    );
    assert_eq!(prices.gpu_hourly(Some("nvidia-l4"), false), 0.71);
}

#[test]
fn a_node_costs_its_gpus_or_the_cpu_node_price_and_pools_add_up() {
    let prices = PriceTable::defaults();
    let nodes = [
        node("training", 8, Some(H100), true),
        node("training", 8, Some(H100), true),
        node("training-ondemand", 8, Some(H100), false),
        node("system", 0, None, false),
        node("system", 0, None, true),
    ];
    assert_eq!(prices.node_hourly(&nodes[0]), 8.0 * 3.5);
    assert_eq!(prices.node_hourly(&nodes[3]), 0.4);
    let burn = prices.burn_by_pool(&nodes);
    assert_eq!(burn["training"], 56.0);
    assert!((burn["training-ondemand"] - 88.48).abs() < 1e-9);
    assert!((burn["system"] - 0.52).abs() < 1e-9);
    assert_eq!(burn.len(), 3);
}

#[test]
fn a_users_file_changes_only_the_prices_it_gives() {
    let prices = load(
        r#"
[prometheus]
url = "http://prometheus:9090"

[cost]
cpu_node = { spot = 0.05 }

[cost.gpus]
"NVIDIA H100 80GB HBM3" = { on_demand = 8.0 }
"NVIDIA-B200" = { on_demand = 14.0, spot = 5.0 }
"#,
    )
    .expect("valid");
    let defaults = PriceTable::defaults();
    assert_eq!(prices.gpu_hourly(Some(H100), false), 8.0);
    assert_eq!(prices.gpu_hourly(Some(H100), true), 3.5, "spot kept");
    assert_eq!(prices.gpu_hourly(Some("NVIDIA-B200"), true), 5.0);
    assert_eq!(prices.cpu_node.spot, 0.05);
    assert_eq!(prices.cpu_node.on_demand, defaults.cpu_node.on_demand);
    assert_eq!(prices.default_gpu, defaults.default_gpu);
    assert_eq!(
        prices.gpu(Some("NVIDIA-L4")),
        defaults.gpu(Some("NVIDIA-L4"))
    );
}

#[test]
fn a_file_without_cost_keeps_every_default() {
    assert_eq!(load("[queries]\np99 = \"x\"\n"), Ok(PriceTable::defaults()));
}

#[test]
fn a_misspelt_key_is_reported_with_path_and_line() {
    let message = error("[cost]\n\ncpu_nodes = { on_demand = 1 }\n");
    assert!(
        message.starts_with(&format!("{USER_FILE}:3: ")),
        "{message}"
    );
    assert!(message.contains("cpu_nodes"), "{message}");
    let message = error("[cost.gpus]\n\"NVIDIA-L4\" = { ondemand = 1 }\n");
    assert!(
        message.starts_with(&format!("{USER_FILE}:2: ")),
        "{message}"
    );
    assert!(message.contains("ondemand"), "{message}");
}

#[test]
fn a_negative_price_or_a_half_new_product_is_an_error_at_its_line() {
    let negative = error("[cost]\ndefault_gpu = { on_demand = 2.0 }\ncpu_node = { spot = -0.1 }\n");
    assert_eq!(
        negative,
        format!("{USER_FILE}:3: a price is dollars per hour, zero or more, not -0.1")
    );
    let half = error("[cost.gpus]\n\n\"NVIDIA-B200\" = { spot = 5.0 }\n");
    assert!(half.starts_with(&format!("{USER_FILE}:3: ")), "{half}");
    assert!(half.contains("give on_demand and spot"), "{half}");
}

#[test]
fn dollars_keep_about_four_figures() {
    assert_eq!(dollars(0.714), "$0.71");
    assert_eq!(dollars(11.06), "$11.06");
    assert_eq!(dollars(352.04), "$352.0");
    assert_eq!(dollars(1770.4), "$1770");
    // The burn of no pools at all (an empty sum of floats is -0.0).
    assert_eq!(dollars(std::iter::empty::<f64>().sum()), "$0.00");
}

fn ready(mut node: Node, name: &str) -> Node {
    node.ready = true;
    node.meta.name = name.into();
    node
}

fn pod_on(node: &str, gpus: i64, phase: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": format!("{node}-{gpus}"), "namespace": "training"},
        "spec": {"nodeName": node, "containers": [
            {"resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}}}]},
        "status": {"phase": phase},
    }))
    .expect("pod")
}

/// Issue 9 #12: a whole free spot node and 7 free GPUs of an on-demand one are paid for;
/// GPUs of a node that is not up, and those pods hold, are not counted.
#[test]
fn free_gpus_on_nodes_that_are_up_are_counted_with_their_price() {
    let prices = PriceTable::defaults();
    let spot = ready(node("training", 8, Some(H100), true), "spot-free");
    let on_demand = ready(node("training-ondemand", 8, Some(H100), false), "od");
    let mut down = node("training", 8, Some(H100), true);
    down.meta.name = "down".into();
    let pods = [
        pod_on("od", 1, "Running"),
        pod_on("od", 8, "Succeeded"),
        pod_on("down", 2, "Running"),
    ];
    let free = prices.free_on_billed_nodes([&spot, &on_demand, &down], &pods);
    assert_eq!(free.gpus, 15);
    let expected = 8.0 * prices.gpu_hourly(Some(H100), true) + 7.0 * 11.06;
    assert!((free.per_hour - expected).abs() < 1e-9, "{free:?}");
}

#[test]
fn a_gpu_is_idle_allocated_when_a_pod_holds_it_under_five_percent() {
    assert!(idle_allocated(true, 0.0));
    assert!(!idle_allocated(true, IDLE_BELOW));
    assert!(!idle_allocated(false, 0.0), "free, not idle-allocated");
}
