//! Shared plumbing for the TOML files users can drop in (keymaps, themes):
//! reading them and turning byte spans into `path:line` errors, so every
//! complaint points at the exact line to fix.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;

/// A problem with a keymap or theme. Loading never fails on these: the
/// caller gets the built-in configuration plus the list to show the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Something wrong at a known place in a file.
    #[error("{path}:{line}: {message}")]
    At {
        path: String,
        line: usize,
        message: String,
    },
    /// A problem with the file as a whole (unreadable, or a parse error the
    /// TOML parser could not place).
    #[error("{path}: {message}")]
    File { path: String, message: String },
    /// A built-in name (e.g. from the command line) that does not exist.
    #[error("unknown built-in {kind} {name:?}, expected one of: {}", .expected.join(", "))]
    UnknownBuiltin {
        kind: &'static str,
        name: String,
        expected: &'static [&'static str],
    },
}

/// The text of one configuration file together with the name to report it by.
pub struct ConfigFile<'a> {
    pub path: String,
    pub text: &'a str,
}

impl<'a> ConfigFile<'a> {
    /// A file compiled into the binary; `name` is its path in the repository.
    pub fn builtin(name: &str, text: &'a str) -> Self {
        Self {
            path: format!("<built-in>/{name}"),
            text,
        }
    }

    /// An error at the line containing the start of `span`.
    pub fn error_at(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::At {
            path: self.path.clone(),
            line: mlxp_core::domain::located::line_of(self.text, span.start),
            message: message.into(),
        }
    }

    /// Parses the whole file, mapping TOML syntax and shape errors to lines.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(self.text).map_err(|err| match err.span() {
            Some(span) => self.error_at(span, err.message()),
            None => ConfigError::File {
                path: self.path.clone(),
                message: err.message().to_owned(),
            },
        })
    }
}

/// Reads a user's file; the text is returned so spans can be resolved later.
fn read_user_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|err| ConfigError::File {
        path: path.display().to_string(),
        message: err.to_string(),
    })
}

/// A configuration that ships as built-in files and can be refined by a user
/// file laid over one of them. Keymaps and themes share this loading policy:
/// never fail, fall back to the built-in, and report what was wrong.
pub(crate) trait Layered: Sized {
    /// Singular noun for messages ("keymap").
    const KIND: &'static str;
    /// Folder of the built-in files in the repository ("keymaps").
    const DIR: &'static str;
    /// Built-in names; the first is the fallback for an unknown name.
    const BUILTINS: &'static [&'static str];

    fn builtin_text(name: &str) -> Option<&'static str>;
    fn parse(file: &ConfigFile) -> Result<Self, Vec<ConfigError>>;
    /// Lays `user` over `self`, which holds a built-in.
    fn overlay(&mut self, user: Self);

    fn load(builtin: &str, user_file: Option<&Path>) -> (Self, Vec<ConfigError>) {
        let mut errors = Vec::new();
        let (name, text) = match Self::builtin_text(builtin) {
            Some(text) => (builtin, text),
            None => {
                errors.push(ConfigError::UnknownBuiltin {
                    kind: Self::KIND,
                    name: builtin.to_owned(),
                    expected: Self::BUILTINS,
                });
                let fallback = Self::BUILTINS[0];
                let text = Self::builtin_text(fallback).expect("BUILTINS names a built-in");
                (fallback, text)
            }
        };
        let file = ConfigFile::builtin(&format!("{}/{name}.toml", Self::DIR), text);
        // Compiled-in files are checked by the unit tests, so this cannot fire
        // in a released binary.
        let mut config = Self::parse(&file).expect("built-in configuration is valid");
        if let Some(path) = user_file {
            let user = read_user_file(path)
                .map_err(|err| vec![err])
                .and_then(|text| {
                    Self::parse(&ConfigFile {
                        path: path.display().to_string(),
                        text: &text,
                    })
                });
            match user {
                Ok(user) => config.overlay(user),
                Err(user_errors) => errors.extend(user_errors),
            }
        }
        (config, errors)
    }
}

/// Writes `text` to a fresh file in the temp dir, for tests that need a real
/// path in their error messages.
#[cfg(test)]
pub(crate) fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("mlxp-test-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}
