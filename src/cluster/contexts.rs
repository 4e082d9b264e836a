//! The kube contexts the cockpit can switch between (`:ctx NAME`), and connecting to one.

use std::future::Future;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no context {0}")]
    Unknown(String),
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    #[error(transparent)]
    Client(#[from] kube::Error),
}

/// A kubeconfig and the names its contexts go by. No `Debug`: the kubeconfig holds tokens.
#[derive(Clone, Default)]
pub struct Contexts {
    kubeconfig: Kubeconfig,
    /// (the name shown and typed, the context's name in the kubeconfig)
    names: Vec<(String, String)>,
}

impl Contexts {
    /// Every context of the kubeconfig, under its own name.
    pub fn from_kubeconfig(kubeconfig: Kubeconfig) -> Self {
        let names = kubeconfig
            .contexts
            .iter()
            .map(|c| (c.name.clone(), c.name.clone()))
            .collect();
        Contexts { kubeconfig, names }
    }

    /// Some of the kubeconfig's contexts, under other names: (shown, in the kubeconfig).
    pub fn renamed(kubeconfig: Kubeconfig, names: &[(&str, &str)]) -> Self {
        let names = names
            .iter()
            .map(|(shown, inner)| (shown.to_string(), inner.to_string()))
            .collect();
        Contexts { kubeconfig, names }
    }

    pub fn names(&self) -> Vec<String> {
        self.names.iter().map(|(shown, _)| shown.clone()).collect()
    }

    /// A client for the named context. The future owns what it needs, so it can run in a
    /// task while the cockpit goes on.
    pub fn connect(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<kube::Client, ConnectError>> + Send + 'static {
        let inner = self
            .names
            .iter()
            .find(|(shown, _)| shown == name)
            .map(|(_, inner)| inner.clone())
            .ok_or_else(|| ConnectError::Unknown(name.to_string()));
        let kubeconfig = self.kubeconfig.clone();
        async move {
            let options = KubeConfigOptions {
                context: Some(inner?),
                ..Default::default()
            };
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?;
            Ok(kube::Client::try_from(config)?)
        }
    }
}
