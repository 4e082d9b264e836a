//! Config errors that point at their line: "path:line: message" from a parser's byte span.

use std::ops::Range;
use std::path::Path;

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    before.iter().filter(|&&byte| byte == b'\n').count() + 1
}

/// "path:line: message", or "path: message" when the parser gave no span.
pub fn located(text: &str, path: &Path, span: Option<Range<usize>>, message: &str) -> String {
    let message = message.trim_end();
    match span {
        Some(span) => format!(
            "{}:{}: {message}",
            path.display(),
            line_of(text, span.start)
        ),
        None => format!("{}: {message}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_line_of_the_span() {
        let text = "[a]\nx = 1\ny = oops\n";
        let at = text.find("oops").expect("in text");
        let path = Path::new("mlxp.toml");
        assert_eq!(
            located(text, path, Some(at..at + 4), "bad\n"),
            "mlxp.toml:3: bad"
        );
        assert_eq!(located(text, path, None, "bad"), "mlxp.toml: bad");
        assert_eq!(line_of(text, 10_000), 4);
    }
}
