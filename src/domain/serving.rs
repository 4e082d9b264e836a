//! Serving: how a model's traffic is split between its versions.

use super::objects::HttpRoute;

/// A version's share of its model's traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The backend (the version's Service / Deployment name).
    pub backend: String,
    pub weight: i32,
    /// weight / sum of weights, 0 when every weight is 0.
    pub share: f64,
}

pub fn splits(route: &HttpRoute) -> Vec<Split> {
    let total: i32 = route.backends.iter().map(|b| b.weight.max(0)).sum();
    route
        .backends
        .iter()
        .map(|b| Split {
            backend: b.name.clone(),
            weight: b.weight,
            share: if total > 0 {
                f64::from(b.weight.max(0)) / f64::from(total)
            } else {
                0.0
            },
        })
        .collect()
}
