//! The Gateway's account of its HTTPRoutes: it remembers each route's backend weights and,
//! when an update of the route (by any client) changes them, records a `WeightsChanged`
//! Event on the route naming the new split and the old one, so "what changed recently?"
//! has an answer. A new route, or a change elsewhere in one, says nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::queue::{Work, WorkQueue};
use crate::api::ApiState;
use crate::api::internal::EventKind;
use crate::resources::StoreKey;

const GROUP: &str = "gateway.networking.k8s.io";
const PLURAL: &str = "httproutes";
/// Who reports the Events.
pub const COMPONENT: &str = "mlxp-sim-gateway";
pub const WEIGHTS_CHANGED: &str = "WeightsChanged";

/// Each rule's backends as `name=weight`, in the route's order.
type Split = Vec<Vec<String>>;

pub struct GatewayController {
    queue: WorkQueue,
    /// Each route's split as last seen, by (namespace, name), with the route's uid: a route
    /// deleted and made again under its name is a new route.
    seen: HashMap<(String, String), (String, Split)>,
}

/// A route's split. A backendRef without a weight weighs 1, as the Gateway API says; one in
/// another namespace is named with it.
pub fn split(route: &Value) -> Split {
    let own_namespace = route["metadata"]["namespace"].as_str();
    let backend = |r: &Value| {
        let name = r["name"].as_str().unwrap_or("");
        let weight = r["weight"].as_i64().unwrap_or(1);
        match r["namespace"].as_str() {
            Some(ns) if Some(ns) != own_namespace => format!("{ns}/{name}={weight}"),
            _ => format!("{name}={weight}"),
        }
    };
    let empty = Vec::new();
    route["spec"]["rules"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|rule| {
            rule["backendRefs"]
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .map(backend)
                .collect()
        })
        .collect()
}

/// "a=90, b=10", rules apart by "; ".
fn render(split: &Split) -> String {
    if split.iter().all(Vec::is_empty) {
        return "no backends".into();
    }
    split
        .iter()
        .map(|rule| rule.join(", "))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The Event's message: the new weights first, then what they were.
pub fn message(before: &Split, after: &Split) -> String {
    format!(
        "Backend weights now {} (were {})",
        render(after),
        render(before)
    )
}

fn key(route: &Value) -> (String, String) {
    let meta = &route["metadata"];
    (
        meta["namespace"].as_str().unwrap_or("").to_string(),
        meta["name"].as_str().unwrap_or("").to_string(),
    )
}

impl GatewayController {
    pub fn new(state: &ApiState) -> Self {
        GatewayController {
            queue: WorkQueue::new(
                &state.store,
                vec![StoreKey {
                    group: GROUP.into(),
                    plural: PLURAL.into(),
                }],
            ),
            seen: HashMap::new(),
        }
    }

    /// One pass over the routes that changed; how many Events it recorded (the routes
    /// themselves are not written).
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        let routes: Vec<Value> = match self.queue.take(now) {
            Work::All => {
                let routes: Vec<Value> = state.list_objects(GROUP, PLURAL).collect();
                let present: std::collections::HashSet<_> = routes.iter().map(key).collect();
                self.seen.retain(|k, _| present.contains(k));
                routes
            }
            Work::Some(refs) => refs
                .into_iter()
                .filter_map(|(_, ns, name)| {
                    let route = state.get_object(GROUP, PLURAL, &ns, &name);
                    if route.is_none() {
                        self.seen.remove(&(ns, name));
                    }
                    route
                })
                .collect(),
        };
        let mut told = 0;
        for route in routes {
            let uid = route["metadata"]["uid"].as_str().unwrap_or("").to_string();
            let now_split = split(&route);
            let before = self
                .seen
                .insert(key(&route), (uid.clone(), now_split.clone()));
            if let Some((was_uid, was)) = before
                && was_uid == uid
                && was != now_split
            {
                state.record_event(
                    &route,
                    EventKind::Normal,
                    WEIGHTS_CHANGED,
                    &message(&was, &now_split),
                    COMPONENT,
                );
                told += 1;
            }
        }
        told
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_message_names_new_and_old_weights_per_rule() {
        let route = |w1: Value, w2: i64| {
            json!({"metadata": {"namespace": "serving"}, "spec": {"rules": [
                {"backendRefs": [{"name": "m-v1", "weight": w1}, {"name": "m-v2", "weight": w2}]},
                {"backendRefs": [{"name": "m-v1", "namespace": "other"}]},
            ]}})
        };
        let before = split(&route(json!(90), 10));
        let after = split(&route(Value::Null, 0));
        assert_eq!(
            message(&before, &after),
            "Backend weights now m-v1=1, m-v2=0; other/m-v1=1 (were m-v1=90, m-v2=10; other/m-v1=1)"
        );
        assert_eq!(
            message(&split(&json!({"spec": {}})), &before),
            "Backend weights now m-v1=90, m-v2=10; other/m-v1=1 (were no backends)"
        );
    }
}
