use super::*;
use crate::tui::config_file::write_temp;

fn builtin(name: &str) -> Theme {
    let (theme, errors) = load(name, None);
    assert_eq!(errors, []);
    theme
}

fn load_user(name: &str, text: &str) -> (Theme, Vec<String>, String) {
    let path = write_temp(name, text);
    let (theme, errors) = load("dark", Some(&path));
    let messages = errors.iter().map(ToString::to_string).collect();
    (theme, messages, path.display().to_string())
}

#[test]
fn every_builtin_defines_every_slot() {
    for name in BUILTINS {
        let theme = builtin(name);
        for slot in Slot::ALL {
            assert!(theme.slots.contains_key(slot), "{slot:?} missing in {name}");
        }
        assert_eq!(theme.slots.len(), Slot::ALL.len());
    }
}

#[test]
fn true_color_keeps_theme_values() {
    let style = builtin("dark").style(Slot::Header, ColorDepth::TrueColor);
    assert_eq!(style.fg, Some(Color::Rgb(0xec, 0xef, 0xf4)));
    assert_eq!(style.bg, Some(Color::Rgb(0x3b, 0x42, 0x52)));
    assert!(style.add_modifier.contains(Modifier::BOLD));
}

#[test]
fn reduced_depths_convert_colours() {
    let theme = builtin("dark");
    let ansi256 = theme.style(Slot::Selection, ColorDepth::Ansi256);
    assert!(matches!(ansi256.bg, Some(Color::Indexed(16..=255))));
    let ansi16 = theme.style(Slot::Header, ColorDepth::Ansi16);
    assert_eq!(ansi16.bg, Some(Color::DarkGray));
}

#[test]
fn no_color_drops_colours_and_keeps_key_slots_visible() {
    for name in BUILTINS {
        let theme = builtin(name);
        for slot in Slot::ALL {
            let style = theme.style(*slot, ColorDepth::NoColor);
            assert_eq!((style.fg, style.bg), (None, None), "{name} {slot:?}");
        }
        let reversed = |slot| {
            let style = theme.style(slot, ColorDepth::NoColor);
            style.add_modifier.contains(Modifier::REVERSED)
        };
        assert!(reversed(Slot::Selection) && reversed(Slot::StaleBanner));
        let header = theme.style(Slot::Header, ColorDepth::NoColor);
        assert!(
            header
                .add_modifier
                .contains(Modifier::BOLD | Modifier::UNDERLINED)
        );
    }
    // Theme modifiers survive.
    let failed = builtin("dark").style(Slot::StatusFailed, ColorDepth::NoColor);
    assert!(failed.add_modifier.contains(Modifier::BOLD));
}

#[test]
fn user_slots_replace_builtin_slots_whole() {
    let (theme, errors, _) = load_user(
        "theme-overlay.toml",
        "[slots]\nselection = { fg = 202, modifiers = [\"underlined\"] }\ntext = { fg = \"lightblue\" }\n",
    );
    assert_eq!(errors, Vec::<String>::new());
    let selection = theme.style(Slot::Selection, ColorDepth::TrueColor);
    assert_eq!(
        (selection.fg, selection.bg),
        (Some(Color::Indexed(202)), None)
    );
    assert_eq!(selection.add_modifier, Modifier::UNDERLINED);
    assert_eq!(
        theme.style(Slot::Text, ColorDepth::Ansi16).fg,
        Some(Color::LightBlue)
    );
    let dark = builtin("dark");
    assert_eq!(
        theme.style(Slot::Border, ColorDepth::TrueColor),
        dark.style(Slot::Border, ColorDepth::TrueColor)
    );
}

#[test]
fn bad_values_report_path_and_line_and_keep_builtin() {
    let (theme, errors, path) = load_user(
        "theme-bad.toml",
        "[slots]\ntext = { fg = \"#d8dee9\" }\nmuted = { fg = \"#12345\" }\ntitle = { bg = 300 }\n\nborder = { modifiers = [\"bold\", \"blink\"] }\n",
    );
    assert_eq!(
        errors,
        [
            format!(
                "{path}:3: unknown colour \"#12345\" (use \"#rrggbb\", 0-255 or a name like \"lightblue\")"
            ),
            format!("{path}:4: colour index 300 is out of range 0-255"),
            format!(
                "{path}:6: unknown modifier \"blink\" (expected bold, dim, italic, underlined or reversed)"
            ),
        ]
    );
    assert_eq!(theme, builtin("dark"));
}

#[test]
fn unknown_slot_reports_its_line() {
    let (_, errors, path) = load_user(
        "theme-slot.toml",
        "[slots]\n\nselektion = { fg = \"red\" }\n",
    );
    assert!(
        errors[0].starts_with(&format!("{path}:3: unknown variant `selektion`")),
        "{errors:?}"
    );
}

#[test]
fn unknown_builtin_falls_back_to_dark() {
    let (theme, errors) = load("neon", None);
    assert_eq!(theme, builtin("dark"));
    assert_eq!(errors.len(), 1);
}

#[test]
fn gpu_utilisation_picks_slot() {
    let slots: Vec<Slot> = [0.0, 0.5, 39.9, 40.0, 74.9, 75.0, 100.0, f64::NAN]
        .into_iter()
        .map(Slot::gpu)
        .collect();
    use Slot::*;
    assert_eq!(
        slots,
        [
            GpuIdle, GpuCool, GpuCool, GpuWarm, GpuWarm, GpuHot, GpuHot, GpuIdle
        ]
    );
}
