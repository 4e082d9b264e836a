//! A TCP proxy between a client and the embedded cluster that a test can freeze (the
//! connections stay open and nothing passes: a hung server, a dead node behind a load
//! balancer), resume, cut (every connection closed), make refuse new connections (a
//! server gone), slow down (latency on every chunk) or cut each answer short after some
//! bytes (a truncated body).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct FaultProxy {
    addr: SocketAddr,
    frozen: watch::Sender<bool>,
    cuts: watch::Sender<u64>,
    refusing: watch::Sender<bool>,
    shaping: watch::Sender<Shaping>,
    task: tokio::task::JoinHandle<()>,
}

/// How each chunk passes: held this long first; and, downstream, the connection closed
/// once this many more bytes have passed (the rest of the answer never arrives).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shaping {
    pub latency: Duration,
    pub truncate_after: Option<usize>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (frozen, _) = watch::channel(false);
        let (cuts, _) = watch::channel(0u64);
        let (refusing, refusing_rx) = watch::channel(false);
        let (shaping, shaping_rx) = watch::channel(Shaping::default());
        let (frozen_rx, cuts_rx) = (frozen.subscribe(), cuts.subscribe());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *refusing_rx.borrow() {
                    drop(client);
                    continue;
                }
                let (frozen, cuts, shaping) =
                    (frozen_rx.clone(), cuts_rx.clone(), shaping_rx.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, frozen, cuts, shaping).await;
                    }
                });
            }
        });
        FaultProxy {
            addr,
            frozen,
            cuts,
            refusing,
            shaping,
            task,
        }
    }

    /// From now on, on every connection (open or new).
    pub fn shape(&self, shaping: Shaping) {
        self.shaping.send_replace(shaping);
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Nothing passes either way until `resume`; connections stay open.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    pub fn resume(&self) {
        self.frozen.send_replace(false);
    }

    /// New connections are closed as soon as they are made (or, `false`, relayed again).
    pub fn refuse(&self, refusing: bool) {
        self.refusing.send_replace(refusing);
    }

    /// Closes every connection open now.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    frozen: watch::Receiver<bool>,
    mut cuts: watch::Receiver<u64>,
    shaping: watch::Receiver<Shaping>,
) {
    cuts.borrow_and_update();
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(
        client_read,
        server_write,
        frozen.clone(),
        shaping.clone(),
        false,
    );
    let down = pump(server_read, client_write, frozen, shaping, true);
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = cuts.changed() => {}
    }
}

/// Copies one direction, holding each chunk while the proxy is frozen and for the
/// latency; downstream, stops after `truncate_after` bytes.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
    mut shaping: watch::Receiver<Shaping>,
    downstream: bool,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut passed = 0usize;
    loop {
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // A new shaping counts its bytes from when it is seen.
        if shaping.has_changed().unwrap_or(false) {
            passed = 0;
        }
        let Shaping {
            latency,
            truncate_after,
        } = *shaping.borrow_and_update();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let allowed = match truncate_after.filter(|_| downstream) {
            Some(limit) => n.min(limit.saturating_sub(passed)),
            None => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err()
            || to.write_all(&buffer[..allowed]).await.is_err()
        {
            return;
        }
        passed += allowed;
        if allowed < n {
            return;
        }
    }
}
