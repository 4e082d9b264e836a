//! `mlxp sim` in a process of its own, as a user runs it, for the benches: its port and its
//! kubeconfig once written; killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct SimProcess {
    pub child: Child,
    pub port: u16,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl SimProcess {
    /// `mlxp sim ARGS --listen 127.0.0.1:PORT --kubeconfig-out FILE`, once FILE is written.
    pub fn start(args: &[String]) -> anyhow::Result<SimProcess> {
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlxp"))
            .arg("sim")
            .args(args)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .stderr(Stdio::null())
            .spawn()?;
        while !kubeconfig.exists() {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("the sim exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(SimProcess {
            child,
            port,
            kubeconfig,
            _dir: dir,
        })
    }

    /// A client configuration from its kubeconfig, as any user's is read.
    pub async fn config(&self) -> anyhow::Result<kube::Config> {
        Ok(kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&self.kubeconfig)?,
            &Default::default(),
        )
        .await?)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
