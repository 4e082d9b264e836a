//! Finding and reading the kubeconfig as kubectl does (`--kubeconfig`, else the files of
//! `$KUBECONFIG`, else `~/.kube/config`), with errors that name the file and, when there is
//! none, say what to do.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use kube::config::{Kubeconfig, KubeconfigError};

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigLoadError {
    #[error(
        "no kubeconfig: {0}; give one with --kubeconfig FILE, or try `mlxp demo` (the cockpit \
         on a cluster of its own)"
    )]
    None(String),
    // The io error is in the message and not a source, so it is said once.
    #[error("cannot read the kubeconfig {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path} is not a valid kubeconfig: {error}")]
    Invalid { path: String, error: String },
}

/// The kubeconfig to use: `explicit`, else `$KUBECONFIG`'s files merged, else
/// `~/.kube/config`.
pub fn read_kubeconfig(explicit: Option<&Path>) -> Result<Kubeconfig, KubeconfigLoadError> {
    read_kubeconfig_with(
        explicit,
        std::env::var_os("KUBECONFIG"),
        std::env::home_dir(),
    )
}

fn read_kubeconfig_with(
    explicit: Option<&Path>,
    env: Option<OsString>,
    home: Option<PathBuf>,
) -> Result<Kubeconfig, KubeconfigLoadError> {
    if let Some(path) = explicit {
        return read_file(path);
    }
    let listed: Vec<PathBuf> = env
        .iter()
        .flat_map(std::env::split_paths)
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    if listed.is_empty() {
        let Some(default) = home.map(|h| h.join(".kube").join("config")) else {
            return Err(KubeconfigLoadError::None(
                "$KUBECONFIG is not set and there is no home directory".into(),
            ));
        };
        if !default.exists() {
            return Err(KubeconfigLoadError::None(format!(
                "{} does not exist and $KUBECONFIG is not set",
                default.display()
            )));
        }
        return read_file(&default);
    }
    // As kubectl: the files of $KUBECONFIG that are not there are passed over.
    let present: Vec<&PathBuf> = listed.iter().filter(|p| p.exists()).collect();
    if present.is_empty() {
        let names: Vec<String> = listed.iter().map(|p| p.display().to_string()).collect();
        let none = if names.len() == 1 {
            "which does not exist"
        } else {
            "none of which exists"
        };
        return Err(KubeconfigLoadError::None(format!(
            "$KUBECONFIG names {}, {none}",
            names.join(", ")
        )));
    }
    present
        .into_iter()
        .try_fold(Kubeconfig::default(), |merged, path| {
            let next = read_file(path)?;
            merged.merge(next).map_err(|e| invalid(path, e.to_string()))
        })
}

fn read_file(path: &Path) -> Result<Kubeconfig, KubeconfigLoadError> {
    Kubeconfig::read_from(path).map_err(|e| match e {
        KubeconfigError::ReadConfig(error, _) => KubeconfigLoadError::Read {
            path: path.display().to_string(),
            error,
        },
        // The YAML error without its snippet, whose source is called `<input>`.
        KubeconfigError::Parse(error) => invalid(path, error.without_snippet().to_string()),
        other => invalid(path, other.to_string()),
    })
}

fn invalid(path: &Path, error: String) -> KubeconfigLoadError {
    KubeconfigLoadError::Invalid {
        path: path.display().to_string(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n";

    #[test]
    fn without_any_kubeconfig_the_default_path_and_the_demo_are_named() {
        let home = tempfile::tempdir().expect("dir");
        let error = read_kubeconfig_with(None, None, Some(home.path().into()))
            .expect_err("nothing to read");
        let text = error.to_string();
        let default = home.path().join(".kube/config");
        assert!(
            text.starts_with(&format!(
                "no kubeconfig: {} does not exist and $KUBECONFIG is not set",
                default.display()
            )),
            "{text}"
        );
        assert!(text.contains("mlxp demo"), "{text}");
    }

    #[test]
    fn kubeconfig_files_not_there_are_passed_over_and_named_when_none_is() {
        let dir = tempfile::tempdir().expect("dir");
        let (gone, there) = (dir.path().join("gone"), dir.path().join("there"));
        let error = read_kubeconfig_with(None, Some(gone.clone().into()), None)
            .expect_err("nothing to read");
        assert!(
            error.to_string().starts_with(&format!(
                "no kubeconfig: $KUBECONFIG names {}",
                gone.display()
            )),
            "{error}"
        );
        std::fs::write(&there, CONFIG).expect("written");
        let env = std::env::join_paths([&gone, &there]).expect("paths");
        let config = read_kubeconfig_with(None, Some(env), None).expect("read");
        assert_eq!(config.current_context.as_deref(), Some("a"));
    }

    #[test]
    fn a_malformed_file_is_named_and_its_error_said_once() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("broken");
        std::fs::write(&path, "clusters: [\n").expect("written");
        let text = read_kubeconfig_with(Some(&path), None, None)
            .expect_err("malformed")
            .to_string();
        assert!(
            text.starts_with(&format!("{} is not a valid kubeconfig: ", path.display())),
            "{text}"
        );
        assert!(!text.contains("<input>"), "{text}");
        let missing = dir.path().join("missing");
        let text = read_kubeconfig_with(Some(&missing), None, None)
            .expect_err("missing")
            .to_string();
        assert_eq!(text.matches("No such file").count(), 1, "{text}");
        assert!(text.contains(&missing.display().to_string()), "{text}");
    }
}
