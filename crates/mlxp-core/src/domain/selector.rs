//! Kubernetes label selectors and field selectors.
//!
//! The grammar, the validation rules and the error wording follow
//! `k8s.io/apimachinery` (`labels.Parse`, `fields.ParseSelector`,
//! `metav1.LabelSelectorAsSelector`, `validation.IsQualifiedName`) so that the
//! embedded API server answers the way a real one would and the cockpit's `-l`
//! filter accepts exactly what `kubectl -l` accepts. Everything here parses
//! untrusted input: it never panics and never recurses.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::names::{label_value_errors, qualified_name_errors, quote, value_for_message};

/// Why a selector could not be parsed. The messages are the apiserver's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectorError {
    /// A single requirement is malformed or names an invalid key or value.
    #[error("unable to parse requirement: {0}")]
    Requirement(String),
    /// A token appeared where the grammar does not allow one.
    #[error("found '{found}', expected: {expected}")]
    Unexpected { found: String, expected: String },
    /// A field selector term has no recognised operator or no field name.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    FieldTerm { selector: String, term: String },
    /// A field selector value has a bad escape or an unescaped ',' or '='.
    #[error("invalid field selector: {0}")]
    FieldValue(String),
    /// A `metav1.LabelSelector` object is malformed; the message starts with
    /// the offending field relative to the selector (e.g. `matchExpressions[0].operator`).
    #[error("{0}")]
    Invalid(String),
}

/// One label requirement. `In`/`NotIn` value lists are kept sorted and
/// deduplicated (Kubernetes stores them as a set), which makes the canonical
/// string form and equality independent of how the user wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    /// The label key this requirement tests.
    pub fn key(&self) -> &str {
        match self {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::NotExists(k) => k,
        }
    }

    /// Kubernetes semantics: negative operators match objects that lack the label.
    pub fn matches<'a>(&self, labels: &impl Fn(&str) -> Option<&'a str>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => labels(k) != Some(v.as_str()),
            Requirement::In(k, vs) => labels(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => labels(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Requirement::Exists(k) => labels(k).is_some(),
            Requirement::NotExists(k) => labels(k).is_none(),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::In(k, vs) => write!(f, "{k} in ({})", vs.join(",")),
            Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", vs.join(",")),
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::NotExists(k) => write!(f, "!{k}"),
        }
    }
}

/// A conjunction of label requirements; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses the string form used by `-l` and `?labelSelector=`, e.g.
    /// `a=b,c!=d,e in (x,y),f notin (z),g,!h`. Requirements come back sorted by
    /// key (stable), as Kubernetes does, so the result is canonical.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut p = Parser::new(s);
        let mut requirements = Vec::new();
        loop {
            let (kind, lit) = p.lookahead(Ctx::Values);
            match kind {
                Kind::Ident | Kind::Bang => {
                    let r = p.parse_requirement().map_err(SelectorError::Requirement)?;
                    requirements.push(r);
                    let (kind, lit) = p.consume(Ctx::Values);
                    match kind {
                        Kind::End => break,
                        Kind::Comma => {
                            let (next, lit) = p.lookahead(Ctx::Values);
                            if next != Kind::Ident && next != Kind::Bang {
                                return Err(unexpected(lit, "identifier after ','"));
                            }
                        }
                        _ => return Err(unexpected(lit, "',' or 'end of string'")),
                    }
                }
                Kind::End => break,
                _ => return Err(unexpected(lit, "!, identifier, or 'end of string'")),
            }
        }
        requirements.sort_by(|a, b| a.key().cmp(b.key()));
        Ok(LabelSelector { requirements })
    }

    /// Converts a `metav1.LabelSelector` (`{matchLabels, matchExpressions}`).
    /// `null` yields the empty selector; callers for which a missing selector
    /// means "nothing" (as in `LabelSelectorAsSelector(nil)`) must check for
    /// null themselves.
    pub fn from_label_selector_json(v: &Value) -> Result<Self, SelectorError> {
        let obj = match v {
            Value::Null => return Ok(Self::default()),
            Value::Object(o) => o,
            other => {
                return Err(SelectorError::Invalid(format!(
                    "Invalid value: {}: a label selector must be an object",
                    value_for_message(other)
                )));
            }
        };
        let mut requirements = Vec::new();

        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let Value::String(v) = v else {
                        return Err(SelectorError::Invalid(format!(
                            "matchLabels: Invalid value: {}: label values must be strings",
                            value_for_message(v)
                        )));
                    };
                    check_key(k)
                        .map_err(|e| SelectorError::Invalid(format!("matchLabels: {e}")))?;
                    check_value(v)
                        .map_err(|e| SelectorError::Invalid(format!("matchLabels: {e}")))?;
                    requirements.push(Requirement::Equals(k.clone(), v.clone()));
                }
            }
            Some(other) => {
                return Err(SelectorError::Invalid(format!(
                    "matchLabels: Invalid value: {}: must be an object",
                    value_for_message(other)
                )));
            }
        }

        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for (i, e) in exprs.iter().enumerate() {
                    requirements.push(expression_requirement(i, e)?);
                }
            }
            Some(other) => {
                return Err(SelectorError::Invalid(format!(
                    "matchExpressions: Invalid value: {}: must be an array",
                    value_for_message(other)
                )));
            }
        }

        requirements.sort_by(|a, b| a.key().cmp(b.key()));
        Ok(LabelSelector { requirements })
    }

    /// `labels` looks a label up by key, so callers can keep labels in
    /// whatever compact form they like.
    pub fn matches<'a>(&self, labels: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| r.matches(&labels))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// The canonical string form: `parse(&sel.to_string()) == Ok(sel)` for every
/// selector built by `parse` or `from_label_selector_json` (hand-built ones
/// need sorted keys, sorted unique non-empty value lists and valid names).
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// One `matchExpressions` entry, with `ValidateLabelSelectorRequirement`'s messages.
fn expression_requirement(i: usize, e: &Value) -> Result<Requirement, SelectorError> {
    let at = |field: &str, msg: String| {
        SelectorError::Invalid(format!("matchExpressions[{i}]{field}: {msg}"))
    };
    let Value::Object(e) = e else {
        return Err(at(
            "",
            format!("Invalid value: {}: must be an object", value_for_message(e)),
        ));
    };
    let key = match e.get("key") {
        Some(Value::String(k)) => k.clone(),
        None | Some(Value::Null) => return Err(at(".key", "Required value".to_string())),
        Some(other) => {
            return Err(at(
                ".key",
                format!(
                    "Invalid value: {}: must be a string",
                    value_for_message(other)
                ),
            ));
        }
    };
    check_key(&key).map_err(|m| at(".key", m))?;
    let op = match e.get("operator") {
        Some(Value::String(o)) => o.as_str(),
        None | Some(Value::Null) => return Err(at(".operator", "Required value".to_string())),
        Some(other) => {
            return Err(at(
                ".operator",
                format!(
                    "Invalid value: {}: must be a string",
                    value_for_message(other)
                ),
            ));
        }
    };
    let values: Vec<String> = match e.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(vs)) => {
            let mut out = Vec::with_capacity(vs.len());
            for (j, v) in vs.iter().enumerate() {
                let Value::String(v) = v else {
                    return Err(at(
                        &format!(".values[{j}]"),
                        format!("Invalid value: {}: must be a string", value_for_message(v)),
                    ));
                };
                check_value(v).map_err(|m| at(&format!(".values[{j}]"), m))?;
                out.push(v.clone());
            }
            out
        }
        Some(other) => {
            return Err(at(
                ".values",
                format!(
                    "Invalid value: {}: must be an array",
                    value_for_message(other)
                ),
            ));
        }
    };
    match op {
        "In" | "NotIn" => {
            if values.is_empty() {
                return Err(at(
                    ".values",
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'"
                        .to_string(),
                ));
            }
            let set = canonical_values(values);
            Ok(if op == "In" {
                Requirement::In(key, set)
            } else {
                Requirement::NotIn(key, set)
            })
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                return Err(at(
                    ".values",
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                        .to_string(),
                ));
            }
            Ok(if op == "Exists" {
                Requirement::Exists(key)
            } else {
                Requirement::NotExists(key)
            })
        }
        other => Err(at(
            ".operator",
            format!(
                "Unsupported value: {}: supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\"",
                quote(other)
            ),
        )),
    }
}

fn canonical_values(values: impl IntoIterator<Item = String>) -> Vec<String> {
    values
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn unexpected(found: &str, expected: &str) -> SelectorError {
    SelectorError::Unexpected {
        found: found.to_string(),
        expected: expected.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Lexer and parser, mirroring apimachinery's labels.Lexer / labels.Parser.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    End,
    Ident,
    In,
    NotIn,
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
    OpenPar,
    ClosePar,
    Comma,
}

/// In value position `in` and `notin` are plain identifiers (so `in=notin` works).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    Values,
}

#[derive(Debug)]
struct Token<'s> {
    kind: Kind,
    lit: &'s str,
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

/// Splits the whole input into tokens up front. Every special character is a
/// token by itself, so lexing cannot fail; anything else up to the next
/// whitespace or special character is an identifier, validated later.
fn tokenize(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(is_whitespace);
        let Some(c) = rest.chars().next() else { break };
        let (kind, len) = if is_special(c) {
            if rest.starts_with("!=") {
                (Kind::NotEq, 2)
            } else if rest.starts_with("==") {
                (Kind::DoubleEq, 2)
            } else {
                let kind = match c {
                    '=' => Kind::Eq,
                    '!' => Kind::Bang,
                    '(' => Kind::OpenPar,
                    ')' => Kind::ClosePar,
                    ',' => Kind::Comma,
                    '>' => Kind::Gt,
                    _ => Kind::Lt,
                };
                (kind, 1)
            }
        } else {
            let len = rest
                .find(|c: char| is_whitespace(c) || is_special(c))
                .unwrap_or(rest.len());
            let kind = match &rest[..len] {
                "in" => Kind::In,
                "notin" => Kind::NotIn,
                _ => Kind::Ident,
            };
            (kind, len)
        };
        // `len` is either a found char boundary or the byte length of an ASCII symbol.
        let (lit, tail) = rest.split_at(len);
        out.push(Token { kind, lit });
        rest = tail;
    }
    out
}

struct Parser<'s> {
    tokens: Vec<Token<'s>>,
    pos: usize,
}

impl<'s> Parser<'s> {
    fn new(s: &'s str) -> Self {
        Parser {
            tokens: tokenize(s),
            pos: 0,
        }
    }

    fn lookahead(&self, ctx: Ctx) -> (Kind, &'s str) {
        match self.tokens.get(self.pos) {
            None => (Kind::End, ""),
            Some(t) => {
                let kind = match (ctx, t.kind) {
                    (Ctx::Values, Kind::In | Kind::NotIn) => Kind::Ident,
                    (_, k) => k,
                };
                (kind, t.lit)
            }
        }
    }

    fn consume(&mut self, ctx: Ctx) -> (Kind, &'s str) {
        let t = self.lookahead(ctx);
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    /// Errors are returned bare; the caller wraps them in "unable to parse requirement".
    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (mut kind, mut lit) = self.consume(Ctx::Values);
        let negated = kind == Kind::Bang;
        if negated {
            (kind, lit) = self.consume(Ctx::Values);
        }
        if kind != Kind::Ident {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        check_key(lit)?;
        let key = lit.to_string();
        if negated {
            // Like Kubernetes, whatever follows `!key` is left to the caller,
            // which rejects anything but ',' or the end.
            return Ok(Requirement::NotExists(key));
        }
        let (next, _) = self.lookahead(Ctx::Values);
        if next == Kind::End || next == Kind::Comma {
            return Ok(Requirement::Exists(key));
        }
        let (op, lit) = self.consume(Ctx::KeyAndOperator);
        match op {
            Kind::In | Kind::NotIn => {
                let values = self.parse_values()?;
                for v in &values {
                    check_value(v)?;
                }
                Ok(if op == Kind::In {
                    Requirement::In(key, values)
                } else {
                    Requirement::NotIn(key, values)
                })
            }
            Kind::Eq | Kind::DoubleEq | Kind::NotEq => {
                let value = self.parse_exact_value()?;
                check_value(&value)?;
                Ok(if op == Kind::NotEq {
                    Requirement::NotEquals(key, value)
                } else {
                    Requirement::Equals(key, value)
                })
            }
            // `gt`/`lt` (numeric comparisons) are not supported here, so they
            // are reported like any other non-operator.
            _ => Err(format!("found '{lit}', expected: in, notin, =, ==, !=")),
        }
    }

    /// `( v1, v2, ... )`. Like Kubernetes, `()` is the set {""} and empty
    /// slots (`(,a)`, `(a,)`) contribute "".
    fn parse_values(&mut self) -> Result<Vec<String>, String> {
        let (kind, lit) = self.consume(Ctx::Values);
        if kind != Kind::OpenPar {
            return Err(format!("found '{lit}', expected: '('"));
        }
        let (kind, lit) = self.lookahead(Ctx::Values);
        match kind {
            Kind::Ident | Kind::Comma => {
                let set = self.parse_identifiers_list()?;
                let (kind, lit) = self.consume(Ctx::Values);
                if kind != Kind::ClosePar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(set.into_iter().collect())
            }
            Kind::ClosePar => {
                self.consume(Ctx::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut set = BTreeSet::new();
        loop {
            let (kind, lit) = self.consume(Ctx::Values);
            match kind {
                Kind::Ident => {
                    set.insert(lit.to_string());
                    let (next, lit) = self.lookahead(Ctx::Values);
                    match next {
                        Kind::Comma => continue,
                        Kind::ClosePar => return Ok(set),
                        _ => return Err(format!("found '{lit}', expected: ',' or ')'")),
                    }
                }
                Kind::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    let (next, _) = self.lookahead(Ctx::Values);
                    if next == Kind::ClosePar {
                        set.insert(String::new());
                        return Ok(set);
                    }
                    if next == Kind::Comma {
                        self.consume(Ctx::Values);
                        set.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<String, String> {
        let (kind, _) = self.lookahead(Ctx::Values);
        if kind == Kind::End || kind == Kind::Comma {
            return Ok(String::new());
        }
        let (kind, lit) = self.consume(Ctx::Values);
        if kind == Kind::Ident {
            Ok(lit.to_string())
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

fn check_key(k: &str) -> Result<(), String> {
    let errs = qualified_name_errors(k);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("Invalid value: {}: {}", quote(k), errs.join("; ")))
    }
}

fn check_value(v: &str) -> Result<(), String> {
    let errs = label_value_errors(v);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("Invalid value: {}: {}", quote(v), errs.join("; ")))
    }
}

// ---------------------------------------------------------------------------
// Field selectors (apimachinery/pkg/fields).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRequirement {
    Equals(String, String),
    NotEquals(String, String),
}

impl FieldRequirement {
    pub fn field(&self) -> &str {
        match self {
            FieldRequirement::Equals(f, _) | FieldRequirement::NotEquals(f, _) => f,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRequirement::Equals(k, v) => write!(f, "{k}={}", escape_field_value(v)),
            FieldRequirement::NotEquals(k, v) => write!(f, "{k}!={}", escape_field_value(v)),
        }
    }
}

/// A conjunction of field requirements; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses `spec.nodeName=n1,status.phase!=Running`; `==` equals `=`;
    /// values may be empty and may escape `\`, `,` and `=` with a backslash.
    /// Unlike Kubernetes, whitespace around a field name or value is trimmed
    /// (`a = b` is `a=b`), since no field name or selectable value has any.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for term in split_terms(s) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let bad_term = || SelectorError::FieldTerm {
                selector: s.to_string(),
                term: term.to_string(),
            };
            let (lhs, op, rhs) = split_term(term).ok_or_else(bad_term)?;
            let field = lhs.trim();
            if field.is_empty() {
                return Err(bad_term());
            }
            let value = unescape_field_value(rhs.trim())?;
            requirements.push(if op == "!=" {
                FieldRequirement::NotEquals(field.to_string(), value)
            } else {
                FieldRequirement::Equals(field.to_string(), value)
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// A field the lookup does not know compares as "" (Kubernetes' field
    /// sets carry "" for unset fields such as `spec.nodeName` of a pending pod).
    pub fn matches<'a>(&self, field: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| match r {
            FieldRequirement::Equals(f, v) => field(f).unwrap_or("") == v,
            FieldRequirement::NotEquals(f, v) => field(f).unwrap_or("") != v,
        })
    }

    /// The field names used, so the server can reject unsupported ones.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(FieldRequirement::field)
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Splits on commas not escaped by a backslash; escapes are kept for unescaping later.
fn split_terms(s: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits at the first operator; `!=` and `==` are tried before `=` so no
/// stray '=' is left on the value.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

fn unescape_field_value(s: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::FieldValue(format!(
                    "invalid escape sequence: \\{c}"
                )));
            }
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => {
                return Err(SelectorError::FieldValue(format!(
                    "unescaped character in value: {c}"
                )));
            }
            _ => out.push(c),
        }
    }
    if escaped {
        return Err(SelectorError::FieldValue(
            "invalid escape sequence: \\".to_string(),
        ));
    }
    Ok(out)
}

fn escape_field_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn s(x: &str) -> String {
        x.to_string()
    }

    fn sel(x: &str) -> LabelSelector {
        match LabelSelector::parse(x) {
            Ok(v) => v,
            Err(e) => panic!("{x:?} should parse: {e}"),
        }
    }

    fn err(x: &str) -> String {
        match LabelSelector::parse(x) {
            Ok(v) => panic!("{x:?} should not parse, got {v:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn labels(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    fn matches(selector: &str, pairs: &[(&'static str, &'static str)]) -> bool {
        let l = labels(pairs);
        sel(selector).matches(|k| l.get(k).copied())
    }

    #[test]
    fn parses_each_operator() {
        assert_eq!(
            sel("a=b").requirements,
            vec![Requirement::Equals(s("a"), s("b"))]
        );
        assert_eq!(
            sel("a==b").requirements,
            vec![Requirement::Equals(s("a"), s("b"))]
        );
        assert_eq!(
            sel("a!=b").requirements,
            vec![Requirement::NotEquals(s("a"), s("b"))]
        );
        assert_eq!(
            sel("a in (y,x,y)").requirements,
            vec![Requirement::In(s("a"), vec![s("x"), s("y")])]
        );
        assert_eq!(
            sel("a notin (z)").requirements,
            vec![Requirement::NotIn(s("a"), vec![s("z")])]
        );
        assert_eq!(sel("a").requirements, vec![Requirement::Exists(s("a"))]);
        assert_eq!(sel("!a").requirements, vec![Requirement::NotExists(s("a"))]);
        assert_eq!(
            sel("! a").requirements,
            vec![Requirement::NotExists(s("a"))]
        );
    }

    #[test]
    fn parses_combination_sorted_by_key() {
        let got = sel(" g , c != d ,a=b,e in ( x , y ),f notin(z),!h ");
        assert_eq!(
            got.requirements,
            vec![
                Requirement::Equals(s("a"), s("b")),
                Requirement::NotEquals(s("c"), s("d")),
                Requirement::In(s("e"), vec![s("x"), s("y")]),
                Requirement::NotIn(s("f"), vec![s("z")]),
                Requirement::Exists(s("g")),
                Requirement::NotExists(s("h")),
            ]
        );
        assert_eq!(got.to_string(), "a=b,c!=d,e in (x,y),f notin (z),g,!h");
    }

    #[test]
    fn empty_and_whitespace_select_everything() {
        assert!(sel("").is_empty());
        assert!(sel(" \t\n").is_empty());
        assert!(matches("", &[]));
        assert!(matches("", &[("a", "b")]));
    }

    #[test]
    fn prefixed_keys_and_keyword_like_identifiers() {
        assert_eq!(
            sel("app.kubernetes.io/name=web").requirements,
            vec![Requirement::Equals(s("app.kubernetes.io/name"), s("web"))]
        );
        // `in` and `notin` are identifiers outside operator position.
        assert_eq!(
            sel("in=notin").requirements,
            vec![Requirement::Equals(s("in"), s("notin"))]
        );
        assert_eq!(
            sel("notin in (in)").requirements,
            vec![Requirement::In(s("notin"), vec![s("in")])]
        );
    }

    #[test]
    fn empty_values() {
        assert_eq!(
            sel("a=").requirements,
            vec![Requirement::Equals(s("a"), s(""))]
        );
        assert_eq!(
            sel("a!=,b").requirements,
            vec![
                Requirement::NotEquals(s("a"), s("")),
                Requirement::Exists(s("b"))
            ]
        );
        // Kubernetes reads an empty set as the set holding "".
        assert_eq!(
            sel("a in ()").requirements,
            vec![Requirement::In(s("a"), vec![s("")])]
        );
        assert_eq!(
            sel("a in (,x)").requirements,
            vec![Requirement::In(s("a"), vec![s(""), s("x")])]
        );
        assert_eq!(
            sel("a in (x,)").requirements,
            vec![Requirement::In(s("a"), vec![s(""), s("x")])]
        );
        assert!(matches("a in ()", &[("a", "")]));
        assert!(!matches("a in ()", &[]));
        assert!(!matches("a in ()", &[("a", "x")]));
    }

    #[test]
    fn matching_semantics() {
        let l = &[("app", "web"), ("tier", "front"), ("empty", "")];
        assert!(matches("app=web", l));
        assert!(matches("app==web", l));
        assert!(!matches("app=db", l));
        assert!(!matches("missing=x", l));
        assert!(matches("app!=db", l));
        assert!(!matches("app!=web", l));
        assert!(
            matches("missing!=x", l),
            "!= matches when the label is absent"
        );
        assert!(matches("app in (db,web)", l));
        assert!(!matches("app in (db)", l));
        assert!(!matches("missing in (x)", l));
        assert!(matches("app notin (db)", l));
        assert!(!matches("app notin (web)", l));
        assert!(
            matches("missing notin (x)", l),
            "notin matches when the label is absent"
        );
        assert!(matches("app", l));
        assert!(matches("empty", l));
        assert!(!matches("missing", l));
        assert!(matches("!missing", l));
        assert!(!matches("!app", l));
        assert!(matches("empty=", l));
        assert!(matches("app=web,tier in (front,back),!missing", l));
        assert!(!matches("app=web,tier in (back)", l));
    }

    #[test]
    fn syntax_errors_use_apiserver_wording() {
        assert_eq!(
            err("a in ("),
            "unable to parse requirement: found '', expected: ',', ')' or identifier"
        );
        assert_eq!(
            err("=b"),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            err("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !="
        );
        assert_eq!(err("a,"), "found '', expected: identifier after ','");
        assert_eq!(err("a,,b"), "found ',', expected: identifier after ','");
        assert_eq!(err("a=b=c"), "found '=', expected: ',' or 'end of string'");
        assert_eq!(err("a=b c"), "found 'c', expected: ',' or 'end of string'");
        assert_eq!(err("!a=b"), "found '=', expected: ',' or 'end of string'");
        assert_eq!(
            err("a=(b)"),
            "unable to parse requirement: found '(', expected: identifier"
        );
        assert_eq!(
            err("a in x"),
            "unable to parse requirement: found 'x', expected: '('"
        );
        assert_eq!(
            err("a in (x y)"),
            "unable to parse requirement: found 'y', expected: ',' or ')'"
        );
        assert_eq!(
            err("a in (x"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            err("!"),
            "unable to parse requirement: found '', expected: identifier"
        );
        assert_eq!(
            err("a>1"),
            "unable to parse requirement: found '>', expected: in, notin, =, ==, !="
        );
        assert!(err(")").starts_with("found ')'"));
    }

    #[test]
    fn invalid_keys_and_values_are_rejected() {
        let e = err("-a=b");
        assert!(
            e.starts_with(
                "unable to parse requirement: Invalid value: \"-a\": name part must consist of"
            ),
            "{e}"
        );
        assert!(
            e.contains("(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used"),
            "{e}"
        );

        let long = "k".repeat(64);
        let e = err(&format!("{long}=v"));
        assert!(
            e.contains("name part must be no more than 63 characters"),
            "{e}"
        );
        assert!(LabelSelector::parse(&format!("{}=v", "k".repeat(63))).is_ok());

        let e = err("Bad_Prefix/a=b");
        assert!(
            e.contains("prefix part a lowercase RFC 1123 subdomain"),
            "{e}"
        );
        let e = err("/a");
        assert!(e.contains("prefix part must be non-empty"), "{e}");
        let e = err("a/");
        assert!(e.contains("name part must be non-empty"), "{e}");
        let e = err("a/b/c");
        assert!(e.contains("a qualified name must consist of"), "{e}");

        let e = err(&format!("a={}", "v".repeat(64)));
        assert!(e.contains("must be no more than 63 characters"), "{e}");
        let e = err("a=-v");
        assert!(e.contains("a valid label must be an empty string"), "{e}");
        let e = err("a in (ok,bad_)");
        assert!(e.contains("Invalid value: \"bad_\""), "{e}");
        let e = err("ключ=v");
        assert!(
            e.starts_with("unable to parse requirement: Invalid value:"),
            "{e}"
        );
        assert!(LabelSelector::parse("a=ключ").is_err());
    }

    #[test]
    fn display_round_trips() {
        for input in [
            "",
            "a",
            "!a",
            "a=b",
            "a==b",
            "a=",
            "a!=",
            "a in ()",
            "a in (,x)",
            "a notin (z,y,x)",
            "x/y.z=1,app.kubernetes.io/name in (a,b),!gone,exists",
            "in=in,notin notin (in,notin)",
        ] {
            let parsed = sel(input);
            let shown = parsed.to_string();
            assert_eq!(sel(&shown), parsed, "{input:?} -> {shown:?}");
            // Display is canonical: showing twice gives the same string.
            assert_eq!(sel(&shown).to_string(), shown);
        }
        assert_eq!(sel("b,a==1,c in (y,x)").to_string(), "a=1,b,c in (x,y)");
    }

    #[test]
    fn label_selector_json() {
        let v = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a", "b"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "gpu", "operator": "Exists"},
                {"key": "spot", "operator": "DoesNotExist", "values": []}
            ]
        });
        let got = match LabelSelector::from_label_selector_json(&v) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            got.requirements,
            vec![
                Requirement::Equals(s("app"), s("web")),
                Requirement::NotIn(s("env"), vec![s("prod")]),
                Requirement::Exists(s("gpu")),
                Requirement::NotExists(s("spot")),
                Requirement::In(s("tier"), vec![s("a"), s("b")]),
            ]
        );
        assert_eq!(sel(&got.to_string()), got);
        let l = labels(&[("app", "web"), ("tier", "a"), ("gpu", "1")]);
        assert!(got.matches(|k| l.get(k).copied()));
        let l = labels(&[("app", "web"), ("tier", "a"), ("gpu", "1"), ("spot", "y")]);
        assert!(!got.matches(|k| l.get(k).copied()));

        for empty in [
            json!(null),
            json!({}),
            json!({"matchLabels": {}, "matchExpressions": []}),
        ] {
            assert_eq!(
                LabelSelector::from_label_selector_json(&empty),
                Ok(LabelSelector::default())
            );
        }
    }

    #[test]
    fn label_selector_json_errors() {
        let e = |v: Value| match LabelSelector::from_label_selector_json(&v) {
            Ok(x) => panic!("{v} should fail, got {x:?}"),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            e(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})),
            "matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        );
        assert_eq!(
            e(json!({"matchExpressions": [{"key": "a", "operator": "NotIn"}]})),
            "matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        );
        assert!(
            e(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}))
                .starts_with("matchExpressions[0].values: Forbidden")
        );
        assert_eq!(
            e(json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})),
            "matchExpressions[0].operator: Unsupported value: \"Gt\": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\""
        );
        assert_eq!(
            e(json!({"matchExpressions": [{"operator": "Exists"}]})),
            "matchExpressions[0].key: Required value"
        );
        assert!(
            e(json!({"matchLabels": {"-bad": "x"}}))
                .starts_with("matchLabels: Invalid value: \"-bad\"")
        );
        assert!(
            e(json!({"matchLabels": {"a": "bad value"}}))
                .starts_with("matchLabels: Invalid value: \"bad value\"")
        );
        assert!(e(json!({"matchLabels": {"a": 1}})).starts_with("matchLabels: Invalid value: 1"));
        assert!(e(json!({"matchLabels": []})).starts_with("matchLabels: Invalid value"));
        assert!(e(json!({"matchExpressions": {}})).starts_with("matchExpressions: Invalid value"));
        assert!(
            e(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]}))
                .starts_with("matchExpressions[0].values[0]: Invalid value: 1")
        );
        assert!(
            e(json!({"matchExpressions": ["x"]})).starts_with("matchExpressions[0]: Invalid value")
        );
        assert!(e(json!("a=b")).starts_with("Invalid value"));
    }

    fn fsel(x: &str) -> FieldSelector {
        match FieldSelector::parse(x) {
            Ok(v) => v,
            Err(e) => panic!("{x:?} should parse: {e}"),
        }
    }

    #[test]
    fn field_selector_parse_and_match() {
        let f = fsel("spec.nodeName=n1,status.phase!=Running");
        assert_eq!(
            f.requirements,
            vec![
                FieldRequirement::Equals(s("spec.nodeName"), s("n1")),
                FieldRequirement::NotEquals(s("status.phase"), s("Running")),
            ]
        );
        assert_eq!(
            f.fields().collect::<Vec<_>>(),
            vec!["spec.nodeName", "status.phase"]
        );
        let fields: HashMap<&str, &str> =
            [("spec.nodeName", "n1"), ("status.phase", "Pending")].into();
        assert!(f.matches(|k| fields.get(k).copied()));
        let fields: HashMap<&str, &str> =
            [("spec.nodeName", "n1"), ("status.phase", "Running")].into();
        assert!(!f.matches(|k| fields.get(k).copied()));

        assert_eq!(
            fsel("a==b").requirements,
            vec![FieldRequirement::Equals(s("a"), s("b"))]
        );
        assert_eq!(fsel(" a = b , c!=d ").to_string(), "a=b,c!=d");
        assert!(fsel("").requirements.is_empty());
        assert!(fsel(",,").requirements.is_empty());

        // Unscheduled pods: a missing field compares as "".
        let unscheduled = fsel("spec.nodeName=");
        assert_eq!(
            unscheduled.requirements,
            vec![FieldRequirement::Equals(s("spec.nodeName"), s(""))]
        );
        assert!(unscheduled.matches(|_| None));
        assert!(!unscheduled.matches(|_| Some("n1")));
        assert!(fsel("spec.nodeName!=").matches(|_| Some("n1")));
        assert!(!fsel("spec.nodeName!=").matches(|_| None));
    }

    #[test]
    fn field_selector_escapes() {
        let f = fsel(r"metadata.name=a\,b\=c\\d,x=y");
        assert_eq!(
            f.requirements,
            vec![
                FieldRequirement::Equals(s("metadata.name"), s(r"a,b=c\d")),
                FieldRequirement::Equals(s("x"), s("y")),
            ]
        );
        assert_eq!(fsel(&f.to_string()), f);
    }

    #[test]
    fn field_selector_errors() {
        let e = |x: &str| match FieldSelector::parse(x) {
            Ok(v) => panic!("{x:?} should fail, got {v:?}"),
            Err(e) => e.to_string(),
        };
        assert_eq!(e("a"), "invalid selector: 'a'; can't understand 'a'");
        assert_eq!(
            e("x=1,nonsense"),
            "invalid selector: 'x=1,nonsense'; can't understand 'nonsense'"
        );
        assert_eq!(e("=b"), "invalid selector: '=b'; can't understand '=b'");
        assert_eq!(
            e("a=b=c"),
            "invalid field selector: unescaped character in value: ="
        );
        assert_eq!(
            e(r"a=b\x"),
            r"invalid field selector: invalid escape sequence: \x"
        );
        assert_eq!(
            e(r"a=b\"),
            r"invalid field selector: invalid escape sequence: \"
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let long_parens = "(".repeat(10_000);
        let nested = format!("a in {long_parens}");
        for input in [
            "\u{0}",
            "é=ü",
            "a=\u{1F600}",
            "!!!!",
            "((((",
            ")))",
            ",,,,",
            "a in (((",
            "a notin",
            "a in",
            "a !",
            "a ==",
            "a =!",
            "\\",
            nested.as_str(),
        ] {
            let _ = LabelSelector::parse(input);
            let _ = FieldSelector::parse(input);
        }
        let _ = FieldSelector::parse("é!=ü,\u{1F600}==\\\u{1F600}");
    }
}
