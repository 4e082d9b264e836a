//! How many colours the terminal can show, and how to bring a theme's colours
//! down to that: themes are written in RGB once, and degrade here.

use ratatui::style::Color;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    TrueColor,
    Ansi256,
    Ansi16,
    /// The user asked for no colour (https://no-color.org).
    NoColor,
}

/// Levels of each channel in the xterm 6x6x6 colour cube (indices 16..=231).
const CUBE_LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The 16 ANSI colours in index order, with VGA-style RGB values (normal at
/// 170, bright at 255/85, yellow instead of VGA brown). Any real palette is
/// a guess; this one keeps pure primaries like #ff0000 on the base colours
/// (Red), which every terminal theme defines legibly.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (170, 0, 0)),
    (Color::Green, (0, 170, 0)),
    (Color::Yellow, (170, 170, 0)),
    (Color::Blue, (0, 0, 170)),
    (Color::Magenta, (170, 0, 170)),
    (Color::Cyan, (0, 170, 170)),
    (Color::Gray, (170, 170, 170)),
    (Color::DarkGray, (85, 85, 85)),
    (Color::LightRed, (255, 85, 85)),
    (Color::LightGreen, (85, 255, 85)),
    (Color::LightYellow, (255, 255, 85)),
    (Color::LightBlue, (85, 85, 255)),
    (Color::LightMagenta, (255, 85, 255)),
    (Color::LightCyan, (85, 255, 255)),
    (Color::White, (255, 255, 255)),
];

impl ColorDepth {
    /// Decides from environment variables; `env` is a parameter (normally
    /// `|name| std::env::var(name).ok()`) so the rules can be tested.
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| env(name).filter(|value| !value.is_empty());
        if set("NO_COLOR").is_some() {
            ColorDepth::NoColor
        } else if set("COLORTERM")
            .is_some_and(|v| v.eq_ignore_ascii_case("truecolor") || v.eq_ignore_ascii_case("24bit"))
        {
            ColorDepth::TrueColor
        } else if set("TERM").is_some_and(|term| term.contains("256color")) {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }

    /// The closest colour this depth can show. Named colours and `Reset` pass
    /// through: the terminal already knows them. `NoColor` is handled by the
    /// caller, which drops colours altogether.
    pub fn convert(self, color: Color) -> Color {
        match (self, color) {
            (ColorDepth::Ansi256, Color::Rgb(r, g, b)) => Color::Indexed(rgb_to_256((r, g, b))),
            (ColorDepth::Ansi16, Color::Rgb(r, g, b)) => nearest_ansi16((r, g, b)),
            (ColorDepth::Ansi16, Color::Indexed(index)) => match ANSI16.get(usize::from(index)) {
                Some((named, _)) => *named,
                None => nearest_ansi16(xterm_rgb(index)),
            },
            _ => color,
        }
    }
}

fn distance((r1, g1, b1): (u8, u8, u8), (r2, g2, b2): (u8, u8, u8)) -> u32 {
    let d = |a: u8, b: u8| u32::from(a.abs_diff(b)).pow(2);
    d(r1, r2) + d(g1, g2) + d(b1, b2)
}

/// Index of the cube level nearest to one channel value.
fn nearest_level(value: u8) -> u8 {
    (0u8..6)
        .min_by_key(|&i| CUBE_LEVELS[usize::from(i)].abs_diff(value))
        .expect("six levels")
}

/// Nearest xterm-256 colour among the cube and the 24-step gray ramp (the
/// first 16 are left out: their RGB values differ between terminals).
fn rgb_to_256(rgb: (u8, u8, u8)) -> u8 {
    let (r, g, b) = (
        nearest_level(rgb.0),
        nearest_level(rgb.1),
        nearest_level(rgb.2),
    );
    let cube = 16 + 36 * r + 6 * g + b;
    // Gray ramp index 232 + k has value 8 + 10k.
    let gray = (0u8..24)
        .map(|k| 232 + k)
        .min_by_key(|&index| distance(rgb, xterm_rgb(index)))
        .expect("24 grays");
    if distance(rgb, xterm_rgb(gray)) < distance(rgb, xterm_rgb(cube)) {
        gray
    } else {
        cube
    }
}

/// RGB of an xterm-256 index; the first 16 use the ANSI16 table above.
fn xterm_rgb(index: u8) -> (u8, u8, u8) {
    match index {
        0..=15 => ANSI16[usize::from(index)].1,
        16..=231 => {
            let n = index - 16;
            let level = |i: u8| CUBE_LEVELS[usize::from(i)];
            (level(n / 36), level(n / 6 % 6), level(n % 6))
        }
        _ => {
            let value = 8 + 10 * (index - 232);
            (value, value, value)
        }
    }
}

fn nearest_ansi16(rgb: (u8, u8, u8)) -> Color {
    ANSI16
        .iter()
        .min_by_key(|(_, candidate)| distance(rgb, *candidate))
        .map(|(color, _)| *color)
        .expect("16 colours")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn detect_follows_no_color_then_colorterm_then_term() {
        let detect = |vars: &[(&str, &str)]| ColorDepth::detect(env(vars));
        let truecolor = [("COLORTERM", "truecolor"), ("TERM", "xterm-256color")];
        assert_eq!(detect(&truecolor), ColorDepth::TrueColor);
        assert_eq!(detect(&[("COLORTERM", "24bit")]), ColorDepth::TrueColor);
        assert_eq!(
            detect(&[("NO_COLOR", "1"), truecolor[0]]),
            ColorDepth::NoColor
        );
        assert_eq!(
            detect(&[("NO_COLOR", ""), truecolor[0]]),
            ColorDepth::TrueColor
        );
        assert_eq!(detect(&[("TERM", "screen-256color")]), ColorDepth::Ansi256);
        assert_eq!(
            detect(&[("COLORTERM", "yes"), ("TERM", "xterm")]),
            ColorDepth::Ansi16
        );
        assert_eq!(detect(&[]), ColorDepth::Ansi16);
    }

    #[test]
    fn rgb_maps_to_nearest_xterm_256() {
        let to_256 = |r, g, b| ColorDepth::Ansi256.convert(Color::Rgb(r, g, b));
        assert_eq!(to_256(0xff, 0, 0), Color::Indexed(196));
        assert_eq!(to_256(0, 0, 0), Color::Indexed(16));
        assert_eq!(to_256(0xff, 0xff, 0xff), Color::Indexed(231));
        assert_eq!(to_256(0x5f, 0x87, 0xaf), Color::Indexed(67));
        assert_eq!(to_256(0x80, 0x80, 0x80), Color::Indexed(244));
        assert_eq!(to_256(0x30, 0x30, 0x32), Color::Indexed(236));
    }

    #[test]
    fn rgb_and_indexed_map_to_nearest_ansi16() {
        let to_16 = |color| ColorDepth::Ansi16.convert(color);
        assert_eq!(to_16(Color::Rgb(0xff, 0, 0)), Color::Red);
        assert_eq!(to_16(Color::Rgb(0, 0, 0xff)), Color::Blue);
        assert_eq!(to_16(Color::Rgb(0xff, 0xff, 0xff)), Color::White);
        assert_eq!(to_16(Color::Rgb(0x3b, 0x42, 0x52)), Color::DarkGray);
        assert_eq!(to_16(Color::Rgb(0xff, 0xff, 0x60)), Color::LightYellow);
        assert_eq!(to_16(Color::Indexed(3)), Color::Yellow);
        assert_eq!(to_16(Color::Indexed(196)), Color::Red);
        assert_eq!(to_16(Color::Indexed(244)), Color::Gray);
    }

    #[test]
    fn true_color_and_named_colors_pass_through() {
        let rgb = Color::Rgb(1, 2, 3);
        assert_eq!(ColorDepth::TrueColor.convert(rgb), rgb);
        assert_eq!(
            ColorDepth::Ansi256.convert(Color::LightBlue),
            Color::LightBlue
        );
        assert_eq!(ColorDepth::Ansi16.convert(Color::Reset), Color::Reset);
    }
}
