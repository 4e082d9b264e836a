//! Labels and short strings that many objects carry alike, kept once.
//!
//! 150,000 pods carry a handful of distinct label sets, node names and phases. As owned maps
//! and strings they were two thirds of the cockpit's live memory at `--scale xlarge` (a
//! `BTreeMap`'s first node alone takes 544 bytes, for one label). Each distinct value is kept
//! once behind a reference count and found again in a table of the values in use; the table
//! forgets the values no object holds any more, so it stays as small as what is live.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Deserializer};

/// Values in use, each once. Pruned of the values only the table holds whenever it has
/// doubled since the last pruning, so its cost is bounded by what is live.
struct Table<T: ?Sized> {
    values: HashSet<Arc<T>>,
    pruned_at: usize,
}

impl<T: ?Sized + Hash + Eq> Table<T> {
    fn new() -> Mutex<Self> {
        Mutex::new(Table {
            values: HashSet::new(),
            pruned_at: 0,
        })
    }
}

/// The table's copy of `value`, made by `make` the first time.
fn intern<T: ?Sized + Hash + Eq>(
    table: &Mutex<Table<T>>,
    value: &T,
    make: impl FnOnce() -> Arc<T>,
) -> Arc<T> {
    // A poisoned table is still a valid set of values.
    let mut table = table.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = table.values.get(value) {
        return Arc::clone(known);
    }
    if table.values.len() >= (2 * table.pruned_at).max(1024) {
        table.values.retain(|v| Arc::strong_count(v) > 1);
        table.pruned_at = table.values.len();
    }
    let made = make();
    table.values.insert(Arc::clone(&made));
    made
}

static STRINGS: LazyLock<Mutex<Table<str>>> = LazyLock::new(Table::new);
/// A label: key and value.
type Pair = (Box<str>, Box<str>);

static LABEL_SETS: LazyLock<Mutex<Table<[Pair]>>> = LazyLock::new(Table::new);

/// A string many objects share (a node's name, a phase, an owner's kind): one copy for all.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedStr(Arc<str>);

impl SharedStr {
    pub fn new(text: &str) -> Self {
        SharedStr(intern(&STRINGS, text, || Arc::from(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        static EMPTY: LazyLock<SharedStr> = LazyLock::new(|| SharedStr(Arc::from("")));
        EMPTY.clone()
    }
}

impl Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl From<&str> for SharedStr {
    fn from(text: &str) -> Self {
        SharedStr::new(text)
    }
}

impl From<String> for SharedStr {
    fn from(text: String) -> Self {
        SharedStr::new(&text)
    }
}

impl From<&SharedStr> for String {
    fn from(text: &SharedStr) -> Self {
        text.as_str().to_string()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == &*other.0
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        **self == *other.0
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SharedStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            // Borrowed from the input where it can be: no copy for a value already known.
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SharedStr, E> {
                Ok(SharedStr::new(text))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<SharedStr, E> {
                Ok(SharedStr::default())
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// An object's labels, sorted by key; every object with the same set shares one copy.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Option<Arc<[Pair]>>);

impl Labels {
    pub fn get(&self, key: &str) -> Option<&str> {
        let pairs = self.pairs();
        let at = pairs.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&pairs[at].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs().iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.pairs().len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }

    /// The labels whose key `keep` accepts.
    pub fn filtered(&self, keep: impl Fn(&str) -> bool) -> Labels {
        if self.keys().all(&keep) {
            return self.clone();
        }
        self.iter().filter(|(k, _)| keep(k)).collect()
    }

    fn pairs(&self) -> &[Pair] {
        self.0.as_deref().unwrap_or(&[])
    }

    /// From pairs sorted by key, each key once.
    fn from_sorted(pairs: Vec<Pair>) -> Labels {
        if pairs.is_empty() {
            return Labels(None);
        }
        // Copied only the first time the set is seen.
        Labels(Some(intern(&LABEL_SETS, &pairs[..], || {
            Arc::from(pairs.clone())
        })))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let map: BTreeMap<Box<str>, Box<str>> = pairs
            .into_iter()
            .map(|(k, v)| (k.as_ref().into(), v.as_ref().into()))
            .collect();
        Labels::from_sorted(map.into_iter().collect())
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        Labels::from_sorted(
            map.into_iter()
                .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                .collect(),
        )
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map: Option<BTreeMap<String, String>> = Option::deserialize(d)?;
        Ok(map.map(Labels::from).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_label_sets_share_one_copy() {
        let a: Labels = [("mlxp.io/model", "fraud"), ("app", "w")]
            .into_iter()
            .collect();
        let b: Labels = serde_json::from_str(r#"{"app":"w","mlxp.io/model":"fraud"}"#).unwrap();
        assert_eq!(a, b);
        let (Some(a_pairs), Some(b_pairs)) = (&a.0, &b.0) else {
            panic!("both have labels");
        };
        assert!(Arc::ptr_eq(a_pairs, b_pairs));
        assert_eq!(a.get("app"), Some("w"));
        assert_eq!(a.get("mlxp.io/model"), Some("fraud"));
        assert_eq!(a.get("nope"), None);
        assert_eq!(a.keys().collect::<Vec<_>>(), ["app", "mlxp.io/model"]);
        let only_mlxp = a.filtered(|k| k.starts_with("mlxp.io/"));
        assert_eq!(only_mlxp.keys().collect::<Vec<_>>(), ["mlxp.io/model"]);
        let none: Labels = serde_json::from_str("null").unwrap();
        assert!(none.is_empty() && none.0.is_none());
    }

    #[test]
    fn equal_strings_share_one_copy_and_compare_as_text() {
        let a: SharedStr = serde_json::from_str(r#""gke-node-00001""#).unwrap();
        let b = SharedStr::new("gke-node-00001");
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert!(a == "gke-node-00001");
        assert!("gke-node-00001" == a);
        assert_eq!(format!("{a:>16}|"), "  gke-node-00001|");
        assert!(SharedStr::default().is_empty());
    }

    #[test]
    fn the_table_forgets_what_nothing_holds() {
        let table: Mutex<Table<str>> = Table::new();
        let kept = intern(&table, "kept", || Arc::from("kept"));
        for i in 0..5000 {
            let text = format!("gone-{i}");
            intern(&table, text.as_str(), || Arc::from(text.as_str()));
        }
        let table = table.lock().unwrap();
        // Pruned every time it doubled: what is left is what came after the last pruning.
        assert!(table.values.len() < 2100, "{}", table.values.len());
        assert!(table.values.contains("kept"));
        drop(kept);
    }
}
