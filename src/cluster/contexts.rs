//! The kube contexts the cockpit can switch between (`:ctx NAME`), and connecting to one.

use std::future::Future;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

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
    ) -> impl Future<Output = Result<kube::Client, ConnectError>> + Send + 'static {
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
            Ok(kube::Client::try_from(config)?)
        }
    }
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
