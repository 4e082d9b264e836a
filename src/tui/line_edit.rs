//! One line being typed (the `/` filter, the `:` command line, a search in the YAML) with a
//! cursor, edited as a shell line is. Which key does what is in the keymap's `[line]`.

use super::action::Action;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineEdit {
    text: String,
    /// Byte offset of the cursor, always on a char boundary.
    cursor: usize,
    /// The whole text is selected, as in a text field just focused: typing replaces it, an
    /// edit key (a move, a deletion) keeps it and edits it.
    selected: bool,
}

impl LineEdit {
    /// The cursor at the end of `text`.
    pub fn new(text: &str) -> Self {
        LineEdit {
            text: text.to_string(),
            cursor: text.len(),
            selected: false,
        }
    }

    /// `text` selected whole, so that typing starts afresh.
    pub fn selected(text: &str) -> Self {
        LineEdit {
            selected: !text.is_empty(),
            ..LineEdit::new(text)
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn is_selected(&self) -> bool {
        self.selected
    }

    /// Replaces the text (a completion), the cursor at its end.
    pub fn set(&mut self, text: String) {
        *self = LineEdit::new(&text);
    }

    pub fn insert(&mut self, c: char) {
        if std::mem::take(&mut self.selected) {
            self.text.clear();
            self.cursor = 0;
        }
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Applies an editing action; other actions change nothing.
    pub fn apply(&mut self, action: Action) {
        self.selected = false;
        let (before, after) = (self.previous(self.cursor), self.next(self.cursor));
        match action {
            Action::CursorLeft => self.cursor = before,
            Action::CursorRight => self.cursor = after,
            Action::LineStart => self.cursor = 0,
            Action::LineEnd => self.cursor = self.text.len(),
            Action::DeleteBack => self.delete(before, self.cursor),
            Action::DeleteForward => self.delete(self.cursor, after),
            Action::DeleteToStart => self.delete(0, self.cursor),
            Action::DeleteToEnd => self.delete(self.cursor, self.text.len()),
            Action::DeleteWordBack => self.delete(self.word_start(), self.cursor),
            _ => {}
        }
    }

    fn delete(&mut self, from: usize, to: usize) {
        self.text.replace_range(from..to, "");
        self.cursor = from;
    }

    fn previous(&self, at: usize) -> usize {
        self.text[..at].char_indices().last().map_or(0, |(i, _)| i)
    }

    fn next(&self, at: usize) -> usize {
        self.text[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8())
    }

    /// Where the word before the cursor starts, spaces after it included (as a shell's
    /// ctrl-w: "ns training" becomes "ns ").
    fn word_start(&self) -> usize {
        let head = self.text[..self.cursor].trim_end();
        let space = head.char_indices().rev().find(|(_, c)| c.is_whitespace());
        space.map_or(0, |(i, c)| i + c.len_utf8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(text: &str, actions: &[Action]) -> (String, usize) {
        let mut line = LineEdit::new(text);
        for action in actions {
            line.apply(*action);
        }
        (line.text, line.cursor)
    }

    #[test]
    fn deletes_words_and_line_parts_around_the_cursor() {
        use Action::*;
        assert_eq!(edited("ns training", &[DeleteWordBack]), ("ns ".into(), 3));
        assert_eq!(
            edited("ns training  ", &[DeleteWordBack]),
            ("ns ".into(), 3)
        );
        assert_eq!(edited("gpus", &[DeleteWordBack]), ("".into(), 0));
        assert_eq!(
            edited("ns training", &[CursorLeft, CursorLeft, DeleteToStart]),
            ("ng".into(), 0)
        );
        assert_eq!(
            edited("ns training", &[LineStart, CursorRight, DeleteToEnd]),
            ("n".into(), 1)
        );
        assert_eq!(
            edited("héé", &[CursorLeft, DeleteBack, DeleteForward]),
            ("h".into(), 1)
        );
        assert_eq!(
            edited("", &[DeleteBack, CursorLeft, DeleteForward]),
            ("".into(), 0)
        );
    }

    #[test]
    fn a_selected_line_is_replaced_by_typing_and_kept_by_an_edit() {
        let mut typed = LineEdit::selected("od-b");
        typed.insert('x');
        assert_eq!((typed.text(), typed.is_selected()), ("x", false));
        let mut edited = LineEdit::selected("od-b");
        edited.apply(Action::DeleteBack);
        assert_eq!(edited.text(), "od-");
        edited.apply(Action::LineStart);
        edited.insert('^');
        assert_eq!(edited.text(), "^od-");
    }
}
