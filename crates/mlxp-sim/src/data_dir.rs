//! A data dir: what one run of the embedded cluster leaves to the next, so that stopping it
//! and starting it again (`mlxp sim --data-dir DIR`) keeps what users made and the
//! kubeconfig they hold.
//!
//! - `identity.json` (mode 0600): the CA certificate and key and the two tokens. The serving
//!   certificate is not kept: every run has the CA sign one for the address it listens on.
//! - `objects.json` (mode 0600): every object of every kind as served (uids,
//!   resourceVersions, timestamps), one a line, after the store's resourceVersion and the
//!   simulated time. Rewritten whole (a temporary file, then a rename) on a clean stop and
//!   every few seconds while something changes, so a crash loses only the last seconds.
//!
//! Not kept, because the running simulation makes them again and nobody wrote them: the
//! traffic counters behind /metrics, pod logs, and the watch history (a watch from before the
//! restart gets 410 Gone and relists, as against an apiserver that lost its cache). Nor is
//! server-side apply's field ownership: after a restart, an apply does not remove what its
//! manager applied in the previous run and no longer applies, and sees no conflicts yet.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::ApiState;
use crate::resources::ResourceType;
use crate::{Identity, clock, tls};

const IDENTITY: &str = "identity.json";
const OBJECTS: &str = "objects.json";

/// How often a running cluster saves its objects, if they changed: what a crash loses at most.
pub const SAVE_EVERY: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: unreadable ({reason}); it is left as it is (move it away to start afresh)", path.display())]
    Damaged { path: PathBuf, reason: String },
}

fn damaged(path: &Path) -> impl Fn(String) -> DataDirError + use<> {
    let path = path.to_path_buf();
    move |reason| DataDirError::Damaged {
        path: path.clone(),
        reason,
    }
}

/// The on-disk form of an `Identity`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityFile {
    ca_cert: String,
    ca_key: String,
    admin_token: String,
    readonly_token: String,
}

/// `objects.json` as read back.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectsFile {
    resource_version: u64,
    time: String,
    objects: Vec<Value>,
}

/// What an earlier run saved, read but not yet put back.
pub struct Saved {
    path: PathBuf,
    /// The store's resourceVersion when saved.
    pub rv: u64,
    /// The simulated time when saved.
    pub time: DateTime<Utc>,
    objects: Vec<Value>,
}

pub struct DataDir {
    dir: PathBuf,
    /// The store's resourceVersion last saved (a save finding it unchanged writes nothing).
    /// Held while saving, so two saves never interleave and an older one never lands last.
    saved_rv: Mutex<Option<u64>>,
}

impl DataDir {
    /// The directory, made (owner-only) if absent.
    pub fn open(dir: &Path) -> Result<DataDir, DataDirError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|source| DataDirError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(DataDir {
            dir: dir.to_path_buf(),
            saved_rv: Mutex::new(None),
        })
    }

    /// The identity an earlier run kept; None if there is none yet.
    pub fn load_identity(&self) -> Result<Option<Identity>, DataDirError> {
        let path = self.dir.join(IDENTITY);
        let Some(text) = read(&path)? else {
            return Ok(None);
        };
        let bad = damaged(&path);
        let file: IdentityFile = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        // Checked here, so that a damaged key or certificate is reported with its file.
        rcgen::KeyPair::from_pem(&file.ca_key).map_err(|e| bad(format!("caKey: {e}")))?;
        CertificateDer::from_pem_slice(file.ca_cert.as_bytes())
            .map_err(|e| bad(format!("caCert: {e}")))?;
        if file.admin_token.is_empty() || file.readonly_token.is_empty() {
            return Err(bad("a token is empty".into()));
        }
        Ok(Some(Identity {
            authority: tls::Authority {
                cert_pem: file.ca_cert,
                key_pem: file.ca_key,
            },
            admin_token: file.admin_token,
            readonly_token: file.readonly_token,
        }))
    }

    pub fn save_identity(&self, identity: &Identity) -> Result<(), DataDirError> {
        let file = IdentityFile {
            ca_cert: identity.authority.cert_pem.clone(),
            ca_key: identity.authority.key_pem.clone(),
            admin_token: identity.admin_token.clone(),
            readonly_token: identity.readonly_token.clone(),
        };
        write_atomically(&self.dir.join(IDENTITY), |out| {
            serde_json::to_writer_pretty(&mut *out, &file)?;
            out.write_all(b"\n")
        })
    }

    /// The objects an earlier run saved; None if it saved none.
    pub fn read_objects(&self) -> Result<Option<Saved>, DataDirError> {
        let path = self.dir.join(OBJECTS);
        let Some(text) = read(&path)? else {
            return Ok(None);
        };
        let bad = damaged(&path);
        let file: ObjectsFile = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        let time = clock::parse(&file.time)
            .ok_or_else(|| bad(format!("time {:?} is not a timestamp", file.time)))?;
        Ok(Some(Saved {
            rv: file.resource_version,
            time,
            objects: file.objects,
            path,
        }))
    }

    /// Puts saved objects into a new run's store, the kinds their CustomResourceDefinitions
    /// define served first.
    pub fn restore(&self, saved: Saved, state: &ApiState) -> Result<(), DataDirError> {
        let bad = damaged(&saved.path);
        for crd in saved
            .objects
            .iter()
            .filter(|o| o["kind"] == "CustomResourceDefinition")
        {
            state
                .registry_mut()
                .register_crd(crd)
                .map_err(|e| bad(format!("{}: {e}", describe(crd))))?;
        }
        let registry = state.registry();
        let types: HashMap<(String, &str), &Arc<ResourceType>> = registry
            .all()
            .map(|t| ((t.api_version(), t.kind.as_str()), t))
            .collect();
        let mut objects = Vec::with_capacity(saved.objects.len());
        for object in saved.objects {
            let served = types.get(&(
                object["apiVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                object["kind"].as_str().unwrap_or_default(),
            ));
            let Some(&rt) = served else {
                return Err(bad(format!("{}: not a served kind", describe(&object))));
            };
            let rv = object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|rv| rv.parse().ok());
            let named = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|name| !name.is_empty());
            let Some(rv) = rv.filter(|_| named) else {
                return Err(bad(format!(
                    "{}: no name or resourceVersion",
                    describe(&object)
                )));
            };
            objects.push((rt.clone(), rv, object));
        }
        drop(registry);
        state.store.restore(saved.rv, objects);
        *self.saved_rv.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(state.store.resource_version());
        Ok(())
    }

    /// Writes every object to `objects.json`, unless nothing changed since the last save.
    pub fn save_objects(&self, state: &ApiState) -> Result<(), DataDirError> {
        let mut saved_rv = self.saved_rv.lock().unwrap_or_else(|e| e.into_inner());
        let time = clock::timestamp(state.clock.now());
        let (rv, objects) = state.store.snapshot();
        if *saved_rv == Some(rv) {
            return Ok(());
        }
        write_atomically(&self.dir.join(OBJECTS), |out| {
            // Written by hand around the stored bytes (each a JSON object already), one
            // object a line: no re-serializing, and a file that greps and diffs well.
            writeln!(
                out,
                "{{\"resourceVersion\": {rv}, \"time\": \"{time}\", \"objects\": ["
            )?;
            for (i, json) in objects.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",\n")?;
                }
                out.write_all(json)?;
            }
            out.write_all(b"\n]}\n")
        })?;
        *saved_rv = Some(rv);
        Ok(())
    }
}

/// Saves the objects every `SAVE_EVERY` while the cluster serves. A failure is logged, not
/// fatal: a full disk should not take the cluster down; the next save tries again, and the
/// save of a clean stop reports its own.
pub async fn keep_saving(dir: Arc<DataDir>, state: Arc<ApiState>) {
    let mut every = tokio::time::interval(SAVE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = state.shutdown.cancelled() => return,
        }
        let (dir, state) = (dir.clone(), state.clone());
        match tokio::task::spawn_blocking(move || dir.save_objects(&state)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("saving the cluster's objects: {e}"),
            Err(e) => tracing::warn!("saving the cluster's objects: {e}"),
        }
    }
}

/// A file's bytes; None if it does not exist.
fn read(path: &Path) -> Result<Option<Vec<u8>>, DataDirError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DataDirError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `path` whole or not at all: into a temporary file beside it (owner-only: it holds
/// keys, tokens, or whatever users put in their objects), synced, then renamed over it.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), DataDirError> {
    let tmp = path.with_extension("json.tmp");
    let written = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut out = BufWriter::new(options.open(&tmp)?);
        write(&mut out)?;
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|source| DataDirError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `Kind namespace/name`, for errors.
fn describe(object: &Value) -> String {
    let text = |pointer| object.pointer(pointer).and_then(Value::as_str);
    format!(
        "{} {}/{}",
        text("/kind").unwrap_or("?"),
        text("/metadata/namespace").unwrap_or(""),
        text("/metadata/name").unwrap_or("?")
    )
}
