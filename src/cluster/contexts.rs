//! The kube contexts the cockpit can switch between (`:ctx NAME`), and connecting to one.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use super::kubeconfig::{KubeconfigLoadError, read_kubeconfig};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no context {name} in the kubeconfig; {}", context_listing(.known))]
    Unknown { name: String, known: Vec<String> },
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    #[error(transparent)]
    Client(#[from] kube::Error),
}

/// The contexts there are, for a message saying which exist.
pub fn context_listing(names: &[String]) -> String {
    if names.is_empty() {
        "it has no contexts".into()
    } else {
        format!("its contexts: {}", names.join(", "))
    }
}

/// A kubeconfig and the names its contexts go by. No `Debug`: the kubeconfig holds tokens.
#[derive(Clone, Default)]
pub struct Contexts {
    kubeconfig: Kubeconfig,
    /// (the name shown and typed, the context's name in the kubeconfig)
    names: Vec<(String, String)>,
    /// Where it was read from, to read it again when credentials stop working: a file, or
    /// `$KUBECONFIG` / `~/.kube/config` (Some(None)); None when it was given in memory.
    origin: Option<Option<PathBuf>>,
}

impl Contexts {
    /// The kubeconfig at `path`, or kubectl's default ($KUBECONFIG, then ~/.kube/config).
    pub fn read(path: Option<PathBuf>) -> Result<Self, KubeconfigLoadError> {
        let kubeconfig = read_kubeconfig(path.as_deref())?;
        Ok(Contexts {
            origin: Some(path),
            ..Contexts::from_kubeconfig(kubeconfig)
        })
    }

    /// The same kubeconfig read again (a rotated token, a new CA), as kubectl reads it on
    /// each run; what was given in memory stays as it is.
    pub fn reread(&self) -> Result<Self, KubeconfigLoadError> {
        match &self.origin {
            Some(path) => Contexts::read(path.clone()),
            None => Ok(self.clone()),
        }
    }

    /// Connects to `name` with the kubeconfig as it is at each call: what the watchers ask
    /// for after a TLS or 401 error.
    pub fn reconnect(&self, name: &str) -> crate::cluster::Reconnect {
        let (contexts, name) = (self.clone(), name.to_string());
        Arc::new(move || {
            let connect = contexts
                .reread()
                .map(|fresh| fresh.connect(&name))
                .map_err(|e| e.to_string());
            Box::pin(async move { connect?.await.map_err(|e| e.to_string()) })
        })
    }

    /// Every context of the kubeconfig, under its own name.
    pub fn from_kubeconfig(kubeconfig: Kubeconfig) -> Self {
        let names = kubeconfig
            .contexts
            .iter()
            .map(|c| (c.name.clone(), c.name.clone()))
            .collect();
        Contexts {
            kubeconfig,
            names,
            origin: None,
        }
    }

    /// Some of the kubeconfig's contexts, under other names: (shown, in the kubeconfig).
    pub fn renamed(kubeconfig: Kubeconfig, names: &[(&str, &str)]) -> Self {
        let names = names
            .iter()
            .map(|(shown, inner)| (shown.to_string(), inner.to_string()))
            .collect();
        Contexts {
            kubeconfig,
            names,
            origin: None,
        }
    }

    /// The kubeconfig's current context.
    pub fn current(&self) -> Option<String> {
        self.kubeconfig.current_context.clone()
    }

    pub fn names(&self) -> Vec<String> {
        self.names.iter().map(|(shown, _)| shown.clone()).collect()
    }

    /// The API server's URL of the named context, to say which server did not answer.
    pub fn server(&self, name: &str) -> Option<&str> {
        let (_, inner) = self.names.iter().find(|(shown, _)| shown == name)?;
        let context = self.kubeconfig.contexts.iter().find(|c| &c.name == inner)?;
        let cluster_name = &context.context.as_ref()?.cluster;
        let cluster = self
            .kubeconfig
            .clusters
            .iter()
            .find(|c| &c.name == cluster_name)?;
        cluster.cluster.as_ref()?.server.as_deref()
    }

    /// A client for the named context. The future owns what it needs, so it can run in a
    /// task while the cockpit goes on.
    pub fn connect(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<kube::Client, ConnectError>> + Send + 'static + use<> {
        let inner = self
            .names
            .iter()
            .find(|(shown, _)| shown == name)
            .map(|(_, inner)| inner.clone())
            .ok_or_else(|| ConnectError::Unknown {
                name: name.to_string(),
                known: self.names(),
            });
        let kubeconfig = self.kubeconfig.clone();
        async move {
            let options = KubeConfigOptions {
                context: Some(inner?),
                ..Default::default()
            };
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?;
            client_of(config)
        }
    }
}

fn client_of(mut config: kube::Config) -> Result<kube::Client, ConnectError> {
    // kube retries 429 / 503 / 504 inside the request, up to 15 times with a backoff of up
    // to 1000 s: a blocked eviction or an overloaded server would hang an op or a list
    // silently. Our watches retry with their own backoff and say so; an op reports the
    // answer.
    config.default_retry = false;
    Ok(kube::Client::try_from(config)?)
}

/// In a pod with no kubeconfig: its ServiceAccount's token and the cluster's CA, as
/// client-go's rest.InClusterConfig. None outside a cluster.
pub fn in_cluster() -> Option<Result<kube::Client, String>> {
    std::env::var_os("KUBERNETES_SERVICE_HOST")?;
    Some(
        kube::Config::incluster()
            .map_err(|e| e.to_string())
            .and_then(|config| client_of(config).map_err(|e| e.to_string())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_context_is_answered_with_those_there_are() {
        let kubeconfig = Kubeconfig::from_yaml(
            "contexts:\n- name: prod\n  context: {cluster: c, user: u}\n- name: staging\n  context: {cluster: c, user: u}\n",
        )
        .expect("kubeconfig");
        let contexts = Contexts::from_kubeconfig(kubeconfig);
        let error = contexts.connect("nope").await.err().expect("unknown");
        assert_eq!(
            error.to_string(),
            "no context nope in the kubeconfig; its contexts: prod, staging"
        );
        let none = Contexts::from_kubeconfig(Kubeconfig::default());
        let error = none.connect("nope").await.err().expect("unknown");
        assert!(error.to_string().ends_with("it has no contexts"), "{error}");
    }
}
