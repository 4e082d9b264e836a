//! Serving: how a model's traffic is split between its versions, and whether a version
//! holds to its Model's limits.

use std::fmt;

use serde::Serialize;

use std::collections::BTreeMap;

use super::objects::{Event, HttpRoute, Model};
use crate::snapshot::Snapshot;

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

/// A Model's limits for each of its versions (its canary spec).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub max_error_ratio: Option<f64>,
    pub max_p99_seconds: Option<f64>,
}

impl Limits {
    pub fn of(model: &Model) -> Limits {
        Limits {
            max_error_ratio: model.max_error_rate,
            max_p99_seconds: model.max_p99_seconds,
        }
    }
}

/// What a version serves, as the metrics measure it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Served {
    pub rps: f64,
    pub error_ratio: f64,
    pub p99_seconds: Option<f64>,
}

/// A limit a version is over.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "breach", rename_all = "snake_case")]
pub enum Breach {
    Errors { ratio: f64, limit: f64 },
    P99 { seconds: f64, limit: f64 },
}

/// Whether a served version holds to its Model's limits.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Healthy,
    Failing(Vec<Breach>),
    /// Nothing measured: no requests, so nothing to judge.
    NoTraffic,
}

/// The one place a version is judged: failing when it serves requests and is over its
/// error or p99 limit.
pub fn health(served: Option<&Served>, limits: Limits) -> Health {
    let Some(served) = served.filter(|s| s.rps > 0.0) else {
        return Health::NoTraffic;
    };
    let errors = limits
        .max_error_ratio
        .filter(|limit| served.error_ratio > *limit)
        .map(|limit| Breach::Errors {
            ratio: served.error_ratio,
            limit,
        });
    let p99 = match (served.p99_seconds, limits.max_p99_seconds) {
        (Some(seconds), Some(limit)) if seconds > limit => Some(Breach::P99 { seconds, limit }),
        _ => None,
    };
    let breaches: Vec<Breach> = errors.into_iter().chain(p99).collect();
    if breaches.is_empty() {
        Health::Healthy
    } else {
        Health::Failing(breaches)
    }
}

impl Health {
    pub fn failing(&self) -> bool {
        matches!(self, Health::Failing(_))
    }
}

/// In words, so it reads without colour: "healthy", "failing: errors 8.0% > 1.0%, p99
/// 907ms > 500ms", "no traffic".
impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Health::Healthy => f.write_str("healthy"),
            Health::NoTraffic => f.write_str("no traffic"),
            Health::Failing(breaches) => {
                f.write_str("failing: ")?;
                for (i, breach) in breaches.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{breach}")?;
                }
                Ok(())
            }
        }
    }
}

/// "errors 8.0% > 1.0%", "p99 907ms > 500ms".
impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Breach::Errors { ratio, limit } => {
                write!(f, "errors {:.1}% > {:.1}%", ratio * 100.0, limit * 100.0)
            }
            Breach::P99 { seconds, limit } => {
                write!(f, "p99 {:.0}ms > {:.0}ms", seconds * 1000.0, limit * 1000.0)
            }
        }
    }
}

/// Who an Event of mlxp's says acted: the agent, or someone with the cockpit or the CLI.
pub fn actor_of(event: &Event) -> Option<&'static str> {
    match event.source.as_str() {
        "mlxp-agent" => Some("agent"),
        "mlxp" => Some("mlxp"),
        _ => None,
    }
}

/// The last thing mlxp (the agent, or a person through mlxp) did to each ModelVersion, by
/// (namespace, name): its latest Event.
pub fn last_actions(snapshot: &Snapshot) -> BTreeMap<(&str, &str), &Event> {
    let mut last: BTreeMap<(&str, &str), &Event> = BTreeMap::new();
    for event in snapshot.events.values() {
        if event.object_kind != "ModelVersion" || actor_of(event).is_none() {
            continue;
        }
        let key = (event.object_namespace.as_str(), event.object_name.as_str());
        match last.get(&key) {
            Some(seen) if seen.last_seen >= event.last_seen => {}
            _ => {
                last.insert(key, event);
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_error_ratio: Some(0.01),
        max_p99_seconds: Some(0.5),
    };

    fn served(rps: f64, error_ratio: f64, p99_ms: f64) -> Served {
        Served {
            rps,
            error_ratio,
            p99_seconds: Some(p99_ms / 1000.0),
        }
    }

    #[test]
    fn a_version_over_its_limits_is_failing_and_says_which() {
        let canary = health(Some(&served(29.3, 0.08, 907.0)), LIMITS);
        assert!(canary.failing());
        assert_eq!(
            canary.to_string(),
            "failing: errors 8.0% > 1.0%, p99 907ms > 500ms"
        );
        let slow = health(Some(&served(10.0, 0.003, 600.0)), LIMITS);
        assert_eq!(slow.to_string(), "failing: p99 600ms > 500ms");
    }

    #[test]
    fn within_limits_is_healthy_and_no_requests_is_no_traffic() {
        assert_eq!(
            health(Some(&served(117.4, 0.003, 237.0)), LIMITS),
            Health::Healthy
        );
        assert_eq!(
            health(Some(&served(0.0, 0.5, 900.0)), LIMITS),
            Health::NoTraffic
        );
        assert_eq!(health(None, LIMITS), Health::NoTraffic);
        assert_eq!(
            health(Some(&served(5.0, 0.5, 900.0)), Limits::default()),
            Health::Healthy,
            "no limits, nothing to fail"
        );
    }
}
