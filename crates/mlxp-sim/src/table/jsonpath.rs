//! The subset of k8s.io/client-go/util/jsonpath that CRD printer columns use:
//! `.a.b`, `.a['x.y/z']`, `.a["k"]`, `.a[0]`, `.a[-1]`, `.a[1:3]`, `.a[-1:]`, `.a[*]`, `.a.*`,
//! `.a[?(@.k=="v")].b` (with `==`, `!=`, `<`, `<=`, `>`, `>=` or bare existence).
//! Anything else (recursive descent, unions, ranges) yields no value. Missing keys yield no value,
//! as with `AllowMissingKeys(true)`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Wildcard,
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Filter(Vec<Step>, Option<(Op, Value)>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The first value `path` selects in `root`, as the CRD table convertor uses (`results[0][0]`).
pub(super) fn first<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    eval(root, &parse(path)?).into_iter().next()
}

/// How jsonpath prints a value into a `string` column (Go `fmt.Print` of the decoded JSON).
pub(super) fn go_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        Value::Bool(_) | Value::Number(_) => v.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_text).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let mut pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_text(v)))
                .collect();
            pairs.sort();
            format!("map[{}]", pairs.join(" "))
        }
    }
}

fn eval<'a>(root: &'a Value, steps: &[Step]) -> Vec<&'a Value> {
    steps.iter().fold(vec![root], |current, step| {
        current.into_iter().flat_map(|v| apply(step, v)).collect()
    })
}

fn apply<'a>(step: &Step, v: &'a Value) -> Vec<&'a Value> {
    match (step, v) {
        (Step::Field(key), Value::Object(map)) => map.get(key).into_iter().collect(),
        (Step::Wildcard, Value::Object(map)) => map.values().collect(),
        (Step::Wildcard, Value::Array(items)) => items.iter().collect(),
        (Step::Index(index), Value::Array(items)) => {
            let index = if *index < 0 {
                index + i64::try_from(items.len()).unwrap_or(0)
            } else {
                *index
            };
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i))
                .into_iter()
                .collect()
        }
        (Step::Slice(start, end), Value::Array(items)) => slice(items, *start, *end),
        (Step::Filter(lhs, test), Value::Array(items)) => items
            .iter()
            .filter(|item| matches(item, lhs, test.as_ref()))
            .collect(),
        _ => vec![],
    }
}

/// Go jsonpath slice semantics: negative bounds count from the end, out-of-range is an error (no value).
fn slice(items: &[Value], start: Option<i64>, end: Option<i64>) -> Vec<&Value> {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let start = start.map_or(0, |s| if s < 0 { s + len } else { s });
    let end = end.map_or(len, |e| if e < 0 { e + len } else { e });
    if start == end || start < 0 || start >= len || end < 0 || end > len || start > end {
        return vec![];
    }
    let (start, end) = (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(end).unwrap_or(0),
    );
    items[start..end].iter().collect()
}

fn matches(item: &Value, lhs: &[Step], test: Option<&(Op, Value)>) -> bool {
    let Some(left) = eval(item, lhs).into_iter().next() else {
        return false;
    };
    let Some((op, right)) = test else {
        return true;
    };
    let numbers = left.as_f64().zip(right.as_f64());
    match (op, numbers) {
        (Op::Eq, Some((a, b))) => a == b,
        (Op::Ne, Some((a, b))) => a != b,
        (Op::Eq, None) => left == right,
        (Op::Ne, None) => left != right,
        (Op::Lt, Some((a, b))) => a < b,
        (Op::Le, Some((a, b))) => a <= b,
        (Op::Gt, Some((a, b))) => a > b,
        (Op::Ge, Some((a, b))) => a >= b,
        _ => false,
    }
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let path = path.trim();
    let path = path
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path)
        .trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let chars: Vec<char> = path.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => return None,
            '.' => {
                let (name, next) = identifier(&chars, i + 1);
                i = next;
                match name.as_str() {
                    "" => {}
                    "*" => steps.push(Step::Wildcard),
                    _ => steps.push(Step::Field(name)),
                }
            }
            '[' => {
                let (step, next) = bracket(&chars, i + 1)?;
                steps.push(step);
                i = next;
            }
            // A leading bare identifier (`metadata.name`) is read as a field.
            _ if i == 0 => {
                let (name, next) = identifier(&chars, 0);
                steps.push(Step::Field(name));
                i = next;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// Reads a dotted field name up to the next `.` or `[`; `\.` is a literal dot.
fn identifier(chars: &[char], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' if chars.get(i + 1) == Some(&'.') => {
                name.push('.');
                i += 2;
                continue;
            }
            '.' | '[' => break,
            _ => name.push(c),
        }
        i += 1;
    }
    (name, i)
}

/// Parses the inside of `[...]` starting after the `[`; returns the step and the index after `]`.
fn bracket(chars: &[char], i: usize) -> Option<(Step, usize)> {
    let rest: String = chars.get(i..)?.iter().collect();
    if let Some(quote @ ('\'' | '"')) = rest.chars().next() {
        let close = rest[1..].find(quote)? + 1;
        if rest[close + 1..].starts_with(']') {
            let consumed = rest[..close + 2].chars().count();
            return Some((Step::Field(rest[1..close].to_string()), i + consumed));
        }
        return None;
    }
    if let Some(filter) = rest.strip_prefix("?(") {
        let end = filter.find(")]")?;
        let consumed = rest[..end + 4].chars().count();
        return Some((parse_filter(&filter[..end])?, i + consumed));
    }
    let end = rest.find(']')?;
    let inner = rest[..end].trim();
    let consumed = rest[..=end].chars().count();
    let step = match inner.split_once(':') {
        _ if inner == "*" => Step::Wildcard,
        Some((start, end)) => {
            let bound = |s: &str| {
                if s.trim().is_empty() {
                    Some(None)
                } else {
                    s.trim().parse().ok().map(Some)
                }
            };
            Step::Slice(
                bound(start)?,
                bound(end.split(':').next().unwrap_or_default())?,
            )
        }
        None => Step::Index(inner.parse().ok()?),
    };
    Some((step, i + consumed))
}

/// `@.a.b`, optionally followed by a comparison with a quoted string, number or boolean literal.
fn parse_filter(expr: &str) -> Option<Step> {
    const OPS: [(&str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let found = OPS
        .iter()
        .filter_map(|(tok, op)| expr.find(tok).map(|at| (at, *tok, *op)))
        .min_by_key(|(at, ..)| *at);
    let (lhs, test) = match found {
        Some((at, tok, op)) => {
            let literal = expr[at + tok.len()..].trim();
            let value = match literal {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ if literal.len() >= 2
                    && (literal.starts_with('"') || literal.starts_with('\'')) =>
                {
                    let quote = literal.chars().next()?;
                    Value::String(
                        literal
                            .strip_prefix(quote)?
                            .strip_suffix(quote)?
                            .to_string(),
                    )
                }
                _ => serde_json::from_str::<serde_json::Number>(literal)
                    .ok()
                    .map(Value::Number)?,
            };
            (expr[..at].trim(), Some((op, value)))
        }
        None => (expr.trim(), None),
    };
    let steps = parse(lhs.strip_prefix('@')?)?;
    Some(Step::Filter(steps, test))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "metadata": {"name": "n", "labels": {"app.kubernetes.io/name": "web", "tier": "x"}},
            "spec": {"containers": [{"name": "a", "image": "i1", "ports": [{"port": 80}]}, {"name": "b", "image": "i2"}],
                     "weight": 1.5, "on": true, "nothing": null},
            "status": {"conditions": [
                {"type": "Ready", "status": "True", "priority": 2},
                {"type": "Synced", "status": "False", "priority": 5}
            ]}
        })
    }

    fn get(path: &str) -> Option<Value> {
        first(&doc(), path).cloned()
    }

    #[test]
    fn simple_paths() {
        assert_eq!(get(".metadata.name"), Some(json!("n")));
        assert_eq!(get("{.metadata.name}"), Some(json!("n")));
        assert_eq!(get("$.metadata.name"), Some(json!("n")));
        assert_eq!(get("metadata.name"), Some(json!("n")));
        assert_eq!(get(".spec.containers[0].image"), Some(json!("i1")));
        assert_eq!(get(".spec.containers[1].name"), Some(json!("b")));
        assert_eq!(get(".spec.containers[-1].name"), Some(json!("b")));
        assert_eq!(get(".spec.containers[0].ports[0].port"), Some(json!(80)));
        assert_eq!(get(".spec.containers[*].image"), Some(json!("i1")));
        assert_eq!(get(".spec.containers[5].image"), None);
        assert_eq!(get(".spec.missing.deeper"), None);
        assert_eq!(get(".spec.nothing"), Some(Value::Null));
    }

    #[test]
    fn quoted_and_escaped_keys() {
        assert_eq!(
            get(".metadata.labels['app.kubernetes.io/name']"),
            Some(json!("web"))
        );
        assert_eq!(
            get(".metadata.labels[\"app.kubernetes.io/name\"]"),
            Some(json!("web"))
        );
        assert_eq!(
            get(".metadata.labels.app\\.kubernetes\\.io/name"),
            Some(json!("web"))
        );
        assert_eq!(get(".metadata['labels'].tier"), Some(json!("x")));
    }

    #[test]
    fn slices_and_filters() {
        assert_eq!(get(".status.conditions[-1:].type"), Some(json!("Synced")));
        assert_eq!(get(".status.conditions[0:1].type"), Some(json!("Ready")));
        assert_eq!(
            get(".status.conditions[?(@.type==\"Synced\")].status"),
            Some(json!("False"))
        );
        assert_eq!(
            get(".status.conditions[?(@.type == 'Ready')].status"),
            Some(json!("True"))
        );
        assert_eq!(
            get(".status.conditions[?(@.type!=\"Ready\")].type"),
            Some(json!("Synced"))
        );
        assert_eq!(
            get(".status.conditions[?(@.priority>3)].type"),
            Some(json!("Synced"))
        );
        assert_eq!(
            get(".status.conditions[?(@.priority)].type"),
            Some(json!("Ready"))
        );
        assert_eq!(get(".status.conditions[?(@.type==\"Nope\")].status"), None);
        assert_eq!(first(&json!({"c": []}), ".c[-1:].type"), None);
    }

    #[test]
    fn unsupported_or_malformed_paths_yield_nothing() {
        for path in [
            "..name",
            ".spec.containers[0,1]",
            ".a[",
            ".a['x",
            ".a[?(@.x==)]",
            ".a[x]",
            "}{",
            "[?(x)]",
        ] {
            assert!(first(&doc(), path).is_none(), "{path}");
        }
        // The empty path is the root itself.
        assert_eq!(first(&doc(), "").map(|v| v.is_object()), Some(true));
    }

    #[test]
    fn go_text_formats_like_fmt_print() {
        assert_eq!(go_text(&json!("s")), "s");
        assert_eq!(go_text(&json!(3)), "3");
        assert_eq!(go_text(&json!(1.5)), "1.5");
        assert_eq!(go_text(&json!(true)), "true");
        assert_eq!(go_text(&json!(["a", 1])), "[a 1]");
        assert_eq!(go_text(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
    }
}
