//! A list's body cut into its items as it arrives, so a page is decoded while it streams in
//! and never held whole (a page of 50,000 pods is ~115 MB of JSON).
//!
//! The body is `{"kind":…,"metadata":{…},"items":[{…},{…}]}` in any key order. The splitter
//! hands back the complete items seen so far as one JSON array (`[{…},{…}]`) for serde, and
//! keeps everything else as the head, with `"items":[]`, to be read once the body ends.

/// Items are handed back once at least this many bytes of them are complete.
const BATCH: usize = 4 * 1024 * 1024;

#[derive(Default)]
pub struct ItemSplitter {
    /// Bytes not yet handed back: the start of an item, or of the head before the items.
    pending: Vec<u8>,
    /// How far `pending` has been scanned.
    scanned: usize,
    /// Where the first complete item not yet handed back starts, and where the last ends.
    complete: Option<(usize, usize)>,
    /// Where the item being read started.
    item_start: usize,
    head: Vec<u8>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The last string closed at depth 1 (a key, or a value): "items" before `[` opens them.
    last_string_at_top: Vec<u8>,
    string_start: usize,
    in_items: bool,
    items_done: bool,
}

impl ItemSplitter {
    /// Takes the next bytes of the body; returns complete items as a JSON array when there
    /// are enough of them.
    pub fn push(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        if self.items_done {
            self.head.extend_from_slice(chunk);
            return None;
        }
        self.pending.extend_from_slice(chunk);
        self.scan();
        self.take_items(BATCH)
    }

    /// The body has ended: the items not yet handed back, and the head with empty items.
    pub fn finish(mut self) -> (Option<Vec<u8>>, Vec<u8>) {
        let items = self.take_items(1);
        if !self.in_items && !self.items_done {
            // No items at all: the body was all head.
            let rest = std::mem::take(&mut self.pending);
            self.head.extend_from_slice(&rest);
        }
        (items, self.head)
    }

    fn scan(&mut self) {
        let mut i = self.scanned;
        while i < self.pending.len() {
            let byte = self.pending[i];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte != b'"' {
                    // Most of a body is inside strings: skip to the next quote or escape.
                    match memchr::memchr2(b'"', b'\\', &self.pending[i..]) {
                        Some(at) => i += at,
                        None => i = self.pending.len(),
                    }
                    continue;
                } else {
                    self.in_string = false;
                    if self.depth == 1 {
                        self.last_string_at_top = self.pending[self.string_start..i].to_vec();
                    }
                }
                i += 1;
                continue;
            }
            match byte {
                b'"' => {
                    self.in_string = true;
                    self.string_start = i + 1;
                }
                b'{' | b'[' => {
                    let opens_items = byte == b'['
                        && self.depth == 1
                        && !self.items_done
                        && self.last_string_at_top == b"items";
                    if self.in_items && self.depth == 2 {
                        self.item_start = i;
                    }
                    self.depth += 1;
                    if opens_items {
                        // The head keeps `[`; the items are cut from what follows.
                        self.in_items = true;
                        self.head.extend_from_slice(&self.pending[..=i]);
                        self.pending.drain(..=i);
                        self.complete = None;
                        i = 0;
                        continue;
                    }
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.in_items && self.depth == 2 {
                        let start = self.complete.map_or(self.item_start, |(s, _)| s);
                        self.complete = Some((start, i + 1));
                    } else if self.in_items && self.depth == 1 {
                        // The items' closing `]`: everything from here on is head.
                        self.in_items = false;
                        self.items_done = true;
                        return self.after_items(i);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.scanned = i;
    }

    /// The items' array closed at `close`: the items before it stay to be handed back, the
    /// rest of the body is head.
    fn after_items(&mut self, close: usize) {
        let rest = self.pending.split_off(close);
        self.head.extend_from_slice(&rest);
        self.scanned = self.pending.len();
    }

    fn take_items(&mut self, at_least: usize) -> Option<Vec<u8>> {
        let (start, end) = self.complete?;
        if end - start < at_least {
            return None;
        }
        let mut items = Vec::with_capacity(end - start + 2);
        items.push(b'[');
        items.extend_from_slice(&self.pending[start..end]);
        items.push(b']');
        self.pending.drain(..end);
        self.scanned -= end;
        self.item_start = self.item_start.saturating_sub(end);
        self.complete = None;
        Some(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Splits `body` fed in chunks of `size` bytes: (every item, the head).
    fn split(body: &str, size: usize) -> (Vec<Value>, Value) {
        let mut splitter = ItemSplitter::default();
        let mut items = Vec::new();
        let mut take = |batch: Option<Vec<u8>>| {
            if let Some(batch) = batch {
                let values: Vec<Value> = serde_json::from_slice(&batch).unwrap();
                items.extend(values);
            }
        };
        for chunk in body.as_bytes().chunks(size) {
            take(splitter.push(chunk));
        }
        let (rest, head) = splitter.finish();
        take(rest);
        (items, serde_json::from_slice(&head).unwrap())
    }

    #[test]
    fn items_come_out_whole_whatever_the_chunks_and_the_head_keeps_the_rest() {
        let body = r#"{"kind":"PodList","metadata":{"resourceVersion":"7","continue":"x\"items\"["},"items":[{"metadata":{"name":"a}[\\"}},{"metadata":{"name":"b","labels":{"items":"[{"}}} , {"k":[1,{"a":2}]}],"tail":{"items":[3]}}"#;
        let expected: Value = serde_json::from_str(body).unwrap();
        for size in [1, 2, 3, 7, 64, body.len()] {
            let (items, head) = split(body, size);
            assert_eq!(
                items,
                expected["items"].as_array().unwrap().clone(),
                "{size}"
            );
            let mut without_items = expected.clone();
            without_items["items"] = Value::Array(Vec::new());
            assert_eq!(head, without_items, "{size}");
        }
    }

    #[test]
    fn metadata_after_the_items_is_read_too() {
        let body = r#"{"items":[{"n":1}],"metadata":{"continue":"c"}}"#;
        let (items, head) = split(body, 5);
        assert_eq!(items.len(), 1);
        assert_eq!(head["metadata"]["continue"], "c");
    }

    #[test]
    fn a_list_without_items_is_all_head() {
        for body in [
            r#"{"kind":"PodList","metadata":{}}"#,
            r#"{"items":[]}"#,
            r#"{"items":null}"#,
        ] {
            let (items, head) = split(body, 4);
            assert!(items.is_empty(), "{body}");
            assert!(head.is_object(), "{body}");
        }
    }

    #[test]
    fn large_pages_are_handed_back_in_batches_while_they_stream() {
        let item = format!(r#"{{"metadata":{{"name":"{}"}}}}"#, "x".repeat(1000));
        let body = format!(
            r#"{{"metadata":{{}},"items":[{}]}}"#,
            vec![item; 10_000].join(",")
        );
        let mut splitter = ItemSplitter::default();
        let mut batches = 0;
        let mut held = 0;
        for chunk in body.as_bytes().chunks(256 * 1024) {
            if splitter.push(chunk).is_some() {
                batches += 1;
            }
            held = held.max(splitter.pending.len());
        }
        assert!(batches >= 2, "{batches} batches before the end");
        assert!(
            held < 2 * BATCH,
            "held {held} bytes of a {} byte body",
            body.len()
        );
    }
}
