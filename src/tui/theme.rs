//! Colour themes as data: TOML files that give a style to each semantic slot
//! ("selection", "gpu_hot", ...), so widgets never name a colour and a theme
//! can be swapped or edited without touching code.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

pub use super::color_depth::ColorDepth;
use super::config_file::{ConfigError, ConfigFile, Layered};

/// Built-in theme names, in the order the "next theme" action cycles them.
pub const BUILTINS: &[&str] = &["dark", "light", "high-contrast", "solarized-dark"];

/// What a piece of the screen means; each theme styles every slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// Normal text; apps paint the whole frame with it, so its `bg` (if any)
    /// is the theme's background.
    Text,
    Muted,
    Title,
    Border,
    Header,
    Selection,
    StatusOk,
    StatusRunning,
    StatusPending,
    StatusFailed,
    StatusUnknown,
    GpuIdle,
    GpuCool,
    GpuWarm,
    GpuHot,
    Canary,
    Stable,
    Alert,
    Warning,
    StaleBanner,
    CommandLine,
    Filter,
}

impl Slot {
    pub const ALL: &[Slot] = &[
        Slot::Text,
        Slot::Muted,
        Slot::Title,
        Slot::Border,
        Slot::Header,
        Slot::Selection,
        Slot::StatusOk,
        Slot::StatusRunning,
        Slot::StatusPending,
        Slot::StatusFailed,
        Slot::StatusUnknown,
        Slot::GpuIdle,
        Slot::GpuCool,
        Slot::GpuWarm,
        Slot::GpuHot,
        Slot::Canary,
        Slot::Stable,
        Slot::Alert,
        Slot::Warning,
        Slot::StaleBanner,
        Slot::CommandLine,
        Slot::Filter,
    ];

    /// The slot for a GPU at `percent` utilisation: 0 / <40 / <75 / >=75.
    pub fn gpu(percent: f64) -> Slot {
        match percent {
            p if p >= 75.0 => Slot::GpuHot,
            p if p >= 40.0 => Slot::GpuWarm,
            p if p > 0.0 => Slot::GpuCool,
            // Includes NaN: a GPU that reports nothing is shown as idle.
            _ => Slot::GpuIdle,
        }
    }

    /// What keeps the slot visible when colours are off: these three only
    /// stand out by their background otherwise.
    fn without_colour(self) -> Modifier {
        match self {
            Slot::Selection | Slot::StaleBanner => Modifier::REVERSED,
            // Not reversed, so the header cannot be mistaken for a selection.
            Slot::Header => Modifier::BOLD | Modifier::UNDERLINED,
            _ => Modifier::empty(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SlotStyle {
    fg: Option<Color>,
    bg: Option<Color>,
    modifiers: Modifier,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    slots: BTreeMap<Slot, SlotStyle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    // Optional so an empty user file is valid (and changes nothing).
    #[serde(default)]
    slots: BTreeMap<Slot, RawStyle>,
}

// Values stay `Spanned` so errors found after parsing still have a line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStyle {
    fg: Option<Spanned<toml::Value>>,
    bg: Option<Spanned<toml::Value>>,
    #[serde(default)]
    modifiers: Vec<Spanned<String>>,
}

/// Loads a built-in theme with `user_file` laid over it slot by slot. Never
/// fails: any problem in the user file means the built-in is returned
/// unchanged, along with errors to show the user.
pub fn load(builtin: &str, user_file: Option<&Path>) -> (Theme, Vec<ConfigError>) {
    Theme::load(builtin, user_file)
}

impl Theme {
    /// The style for `slot`, reduced to what the terminal can show.
    pub fn style(&self, slot: Slot, depth: ColorDepth) -> Style {
        let slot_style = self.slots.get(&slot).copied().unwrap_or_default();
        let style = Style::new().add_modifier(slot_style.modifiers);
        if depth == ColorDepth::NoColor {
            return style.add_modifier(slot.without_colour());
        }
        let convert = |color: Option<Color>| color.map(|c| depth.convert(c));
        Style {
            fg: convert(slot_style.fg),
            bg: convert(slot_style.bg),
            ..style
        }
    }
}

impl Layered for Theme {
    const KIND: &'static str = "theme";
    const DIR: &'static str = "themes";
    const BUILTINS: &'static [&'static str] = BUILTINS;

    fn builtin_text(name: &str) -> Option<&'static str> {
        match name {
            "dark" => Some(include_str!("../../themes/dark.toml")),
            "light" => Some(include_str!("../../themes/light.toml")),
            "high-contrast" => Some(include_str!("../../themes/high-contrast.toml")),
            "solarized-dark" => Some(include_str!("../../themes/solarized-dark.toml")),
            _ => None,
        }
    }

    fn parse(file: &ConfigFile) -> Result<Self, Vec<ConfigError>> {
        let raw: RawTheme = file.parse().map_err(|err| vec![err])?;
        let mut errors = Vec::new();
        let slots = raw
            .slots
            .into_iter()
            .map(|(slot, raw)| (slot, parse_style(file, raw, &mut errors)))
            .collect();
        if errors.is_empty() {
            Ok(Theme { slots })
        } else {
            Err(errors)
        }
    }

    /// A slot in the user file replaces the built-in slot as a whole, so a
    /// user's `fg` never ends up on a built-in `bg` it was not chosen for.
    fn overlay(&mut self, user: Self) {
        self.slots.extend(user.slots);
    }
}

fn parse_style(file: &ConfigFile, raw: RawStyle, errors: &mut Vec<ConfigError>) -> SlotStyle {
    let mut color = |value: Option<Spanned<toml::Value>>| {
        let value = value?;
        checked(file, errors, value.span(), parse_color(value.get_ref()))
    };
    let (fg, bg) = (color(raw.fg), color(raw.bg));
    let modifiers = raw
        .modifiers
        .iter()
        .filter_map(|m| checked(file, errors, m.span(), parse_modifier(m.get_ref())))
        .fold(Modifier::empty(), |all, m| all | m);
    SlotStyle { fg, bg, modifiers }
}

/// The value, or `None` after recording why it is wrong at `span`'s line.
fn checked<T>(
    file: &ConfigFile,
    errors: &mut Vec<ConfigError>,
    span: Range<usize>,
    result: Result<T, String>,
) -> Option<T> {
    result
        .map_err(|message| errors.push(file.error_at(span, message)))
        .ok()
}

fn parse_color(value: &toml::Value) -> Result<Color, String> {
    match value {
        toml::Value::Integer(index) => u8::try_from(*index)
            .map(Color::Indexed)
            .map_err(|_| format!("colour index {index} is out of range 0-255")),
        toml::Value::String(text) => Color::from_str(text).map_err(|_| {
            format!("unknown colour {text:?} (use \"#rrggbb\", 0-255 or a name like \"lightblue\")")
        }),
        other => Err(format!(
            "a colour must be a string or a number, not {}",
            other.type_str()
        )),
    }
}

fn parse_modifier(name: &str) -> Result<Modifier, String> {
    match name {
        "bold" => Ok(Modifier::BOLD),
        "dim" => Ok(Modifier::DIM),
        "italic" => Ok(Modifier::ITALIC),
        "underlined" => Ok(Modifier::UNDERLINED),
        "reversed" => Ok(Modifier::REVERSED),
        _ => Err(format!(
            "unknown modifier {name:?} (expected bold, dim, italic, underlined or reversed)"
        )),
    }
}

#[cfg(test)]
mod tests;
