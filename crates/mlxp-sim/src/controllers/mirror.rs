//! Decoded copies of stored objects kept between a controller's passes: only objects whose
//! resourceVersion changed are decoded again. A controller that decides over a whole kind
//! at once (Kueue over every Job and Workload) would otherwise decode thousands of objects
//! per pass for the one that changed.

use std::sync::Arc;

use serde_json::Value;

use crate::store::StoredObject;

pub struct Mirror {
    /// (namespace, name, resourceVersion, fingerprint) of each value, in the store's order.
    keys: Vec<(Box<str>, Box<str>, u64, u64)>,
    values: Vec<Value>,
    /// What of an object matters to its controller, hashed: a change elsewhere in it
    /// (status counters) does not count as a change.
    fingerprint: fn(&Value) -> u64,
}

impl Default for Mirror {
    /// Every change counts.
    fn default() -> Self {
        Mirror::new(|_| 0)
    }
}

impl Mirror {
    pub fn new(fingerprint: fn(&Value) -> u64) -> Self {
        Mirror {
            keys: Vec::new(),
            values: Vec::new(),
            fingerprint,
        }
    }

    /// Brings the copies in line with `stored` (as listed: ordered by namespace and name);
    /// whether any object came, went, or changed in what its fingerprint covers.
    pub fn refresh(&mut self, stored: &[Arc<StoredObject>]) -> bool {
        let old_keys = std::mem::take(&mut self.keys);
        let old_values = std::mem::take(&mut self.values);
        let mut changed = old_keys.len() != stored.len();
        let mut old = old_keys.into_iter().zip(old_values).peekable();
        for object in stored {
            let here = (&*object.namespace, &*object.name);
            while old
                .peek()
                .is_some_and(|((ns, name, _, _), _)| (&**ns, &**name) < here)
            {
                old.next();
                changed = true;
            }
            let before = old
                .next_if(|((ns, name, _, _), _)| (&**ns, &**name) == here)
                .map(|((_, _, rv, print), value)| (rv, print, value));
            let (value, print) = match before {
                Some((rv, print, value)) if rv == object.rv => (value, print),
                before => {
                    let value = object.value();
                    let print = (self.fingerprint)(&value);
                    changed |=
                        before.is_none_or(|(_, old_print, _)| old_print != print) || print == 0;
                    (value, print)
                }
            };
            self.keys.push((
                object.namespace.clone(),
                object.name.clone(),
                object.rv,
                print,
            ));
            self.values.push(value);
        }
        changed
    }

    /// The copies, ordered by namespace and name.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// A hash of `parts` of an object, for `Mirror::new`; never 0 (which means "always changed").
pub fn hash_of(parts: &[&Value]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for part in parts {
        part.to_string().hash(&mut hasher);
    }
    hasher.finish().max(1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::Registry;
    use crate::store::Store;

    fn put(store: &Store, name: &str, spec: Value) -> Arc<StoredObject> {
        let registry = Registry::with_builtins();
        let rt = registry
            .all()
            .find(|t| t.plural == "configmaps")
            .expect("configmaps")
            .clone();
        store.transact(|tx| {
            tx.put(
                &rt,
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "namespace": "default"}, "data": spec}),
            )
        })
    }

    fn by_data_a(object: &Value) -> u64 {
        hash_of(&[&object["data"]["a"]])
    }

    #[test]
    fn only_changes_the_fingerprint_covers_count_and_values_follow_the_store() {
        let store = Store::new(100);
        let mut mirror = Mirror::new(by_data_a);
        let one = put(&store, "one", json!({"a": "1", "b": "1"}));
        let two = put(&store, "two", json!({"a": "2"}));
        assert!(mirror.refresh(&[one.clone(), two.clone()]), "first sight");
        assert!(!mirror.refresh(&[one.clone(), two.clone()]), "nothing new");
        // A change outside the fingerprint is taken in, but is not a change.
        let one_b = put(&store, "one", json!({"a": "1", "b": "9"}));
        assert!(!mirror.refresh(&[one_b.clone(), two.clone()]));
        assert_eq!(mirror.values()[0]["data"]["b"], "9");
        let one_a = put(&store, "one", json!({"a": "5", "b": "9"}));
        assert!(mirror.refresh(&[one_a.clone(), two.clone()]));
        // Objects going away and coming count.
        assert!(mirror.refresh(std::slice::from_ref(&two)));
        assert_eq!(mirror.values().len(), 1);
        assert_eq!(mirror.values()[0]["metadata"]["name"], "two");
        assert!(mirror.refresh(&[one_a, two]));
        assert_eq!(mirror.values().len(), 2);
    }

    #[test]
    fn without_a_fingerprint_every_new_version_counts() {
        let store = Store::new(100);
        let mut mirror = Mirror::default();
        let one = put(&store, "one", json!({"a": "1"}));
        assert!(mirror.refresh(std::slice::from_ref(&one)));
        assert!(!mirror.refresh(std::slice::from_ref(&one)));
        let again = put(&store, "one", json!({"a": "1", "b": "2"}));
        assert!(mirror.refresh(&[again]));
    }
}
