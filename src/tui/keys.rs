//! A key press as written in keymap files ("ctrl-c", "G", "pgdown") and as
//! reported by crossterm, normalised so both compare equal.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    modifiers: KeyModifiers,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key {0:?}")]
pub struct KeyParseError(String);

/// Named keys, spelled as `Display` writes them (the parser also accepts
/// upper case, and "shift-tab" via `Key::new`).
const NAMED: &[(&str, KeyCode)] = &[
    ("esc", KeyCode::Esc),
    ("enter", KeyCode::Enter),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pgup", KeyCode::PageUp),
    ("pgdown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
];

impl Key {
    /// Builds a key in canonical form. Terminals disagree on how they report
    /// shifted keys: 'Q' arrives as `Char('Q')` with or without SHIFT, ':' may
    /// carry SHIFT, and shift-tab is `BackTab` plus SHIFT. The character (or
    /// `BackTab`) already says the key was shifted, so SHIFT is dropped there
    /// and letters are upper-cased instead.
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        let shifted = modifiers.contains(KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) if shifted => KeyCode::Char(c.to_ascii_uppercase()),
            KeyCode::Tab if shifted => KeyCode::BackTab,
            other => other,
        };
        let modifiers = match code {
            KeyCode::Char(_) | KeyCode::BackTab => modifiers - KeyModifiers::SHIFT,
            _ => modifiers,
        };
        Self { code, modifiers }
    }

    /// The character this key types into a line, if it types one (ctrl and alt keys do not).
    pub fn typed_char(&self) -> Option<char> {
        let typing = !self
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self.code {
            KeyCode::Char(c) if typing => Some(c),
            _ => None,
        }
    }

    /// The key as crossterm reports it (for widgets that read crossterm events).
    pub fn to_event(&self) -> KeyEvent {
        KeyEvent::new(self.code, self.modifiers)
    }

    pub fn from_event(event: &KeyEvent) -> Self {
        Self::new(event.code, event.modifiers)
    }
}

impl FromStr for Key {
    type Err = KeyParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut rest = text;
        let mut modifiers = KeyModifiers::NONE;
        // Strip modifier prefixes; "-" and "ctrl--" work because the text
        // before a lone "-" is not a modifier name.
        while let Some((prefix, tail)) = rest.split_once('-') {
            modifiers |= match prefix.to_ascii_lowercase().as_str() {
                "ctrl" => KeyModifiers::CONTROL,
                "alt" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                _ => break,
            };
            rest = tail;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => named_code(&rest.to_ascii_lowercase())
                .ok_or_else(|| KeyParseError(text.to_owned()))?,
        };
        Ok(Key::new(code, modifiers))
    }
}

fn named_code(name: &str) -> Option<KeyCode> {
    if let Some((_, code)) = NAMED.iter().find(|(known, _)| *known == name) {
        return Some(*code);
    }
    match name.strip_prefix('f')?.parse::<u8>() {
        Ok(n @ 1..=12) => Some(KeyCode::F(n)),
        _ => None,
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (modifier, prefix) in [
            (KeyModifiers::CONTROL, "ctrl-"),
            (KeyModifiers::ALT, "alt-"),
            (KeyModifiers::SHIFT, "shift-"),
        ] {
            if self.modifiers.contains(modifier) {
                f.write_str(prefix)?;
            }
        }
        match NAMED.iter().find(|(_, code)| *code == self.code) {
            Some((name, _)) => f.write_str(name),
            None => match self.code {
                KeyCode::Char(c) => write!(f, "{c}"),
                KeyCode::F(n) => write!(f, "f{n}"),
                // Only reachable for keys read from the terminal that no
                // keymap can name; still worth showing something in logs.
                other => write!(f, "{other:?}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        text.parse().unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn canonical_spellings_round_trip() {
        for text in [
            "q",
            "Q",
            ":",
            "/",
            "?",
            "-",
            "0",
            "esc",
            "enter",
            "tab",
            "backtab",
            "up",
            "down",
            "left",
            "right",
            "pgup",
            "pgdown",
            "home",
            "end",
            "f1",
            "f12",
            "ctrl-c",
            "ctrl-d",
            "alt-x",
            "space",
            "ctrl-alt-x",
            "shift-up",
            "ctrl--",
        ] {
            assert_eq!(key(text).to_string(), text);
        }
    }

    #[test]
    fn aliases_display_canonically() {
        assert_eq!(key("shift-tab").to_string(), "backtab");
        assert_eq!(key("shift-q").to_string(), "Q");
        assert_eq!(key("CTRL-c").to_string(), "ctrl-c");
        assert_eq!(key("ESC").to_string(), "esc");
        assert_eq!(key(" ").to_string(), "space");
    }

    #[test]
    fn parsed_keys_have_the_expected_codes() {
        assert_eq!(key("pgdown").code, KeyCode::PageDown);
        assert_eq!(key("f7").code, KeyCode::F(7));
        let ctrl_c = key("ctrl-c");
        assert_eq!(
            (ctrl_c.code, ctrl_c.modifiers),
            (KeyCode::Char('c'), KeyModifiers::CONTROL)
        );
    }

    #[test]
    fn rejects_unknown_names() {
        for text in ["", "f0", "f13", "pageup", "hyper-x", "ctrl-", "qq"] {
            assert_eq!(text.parse::<Key>(), Err(KeyParseError(text.to_owned())));
        }
    }

    #[test]
    fn shifted_terminal_events_match_written_keys() {
        let event = |code, modifiers| Key::from_event(&KeyEvent::new(code, modifiers));
        // Uppercase letters arrive with SHIFT on most terminals, without on some.
        assert_eq!(event(KeyCode::Char('Q'), KeyModifiers::SHIFT), key("Q"));
        assert_eq!(event(KeyCode::Char('Q'), KeyModifiers::NONE), key("Q"));
        assert_eq!(
            event(KeyCode::Char('q'), KeyModifiers::SHIFT),
            key("shift-q")
        );
        assert_ne!(event(KeyCode::Char('q'), KeyModifiers::NONE), key("Q"));
        assert_eq!(event(KeyCode::Char(':'), KeyModifiers::SHIFT), key(":"));
        assert_eq!(event(KeyCode::BackTab, KeyModifiers::SHIFT), key("backtab"));
        assert_eq!(
            event(KeyCode::BackTab, KeyModifiers::SHIFT),
            key("shift-tab")
        );
        assert_eq!(
            event(KeyCode::Char('c'), KeyModifiers::CONTROL),
            key("ctrl-c")
        );
        // SHIFT still matters on keys that do not change when shifted.
        assert_ne!(event(KeyCode::Up, KeyModifiers::SHIFT), key("up"));
        assert_eq!(event(KeyCode::Up, KeyModifiers::SHIFT), key("shift-up"));
    }
}
