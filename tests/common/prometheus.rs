//! A Prometheus HTTP API a test can make fail: answering (every query an empty vector),
//! down (each connection closed at once), silent (requests read, never answered) or
//! answering garbage (a proxy's HTML error page with status 200).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Answering,
    Down,
    Silent,
    Garbage,
}

pub struct FaultyPrometheus {
    addr: SocketAddr,
    behaviour: watch::Sender<Behaviour>,
    task: tokio::task::JoinHandle<()>,
}

const EMPTY_VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
const GARBAGE: &str = "<html><body><h1>502 Bad Gateway</h1></body></html>";

impl FaultyPrometheus {
    pub async fn start() -> FaultyPrometheus {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (behaviour, seen) = watch::channel(Behaviour::Answering);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let behaviour = *seen.borrow();
                tokio::spawn(async move {
                    if behaviour == Behaviour::Down {
                        return;
                    }
                    let mut request = vec![0u8; 64 * 1024];
                    if stream.read(&mut request).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let (content_type, body) = match behaviour {
                        Behaviour::Silent => {
                            // Holds the connection open, answering nothing.
                            let _ = stream.read(&mut request).await;
                            return;
                        }
                        Behaviour::Garbage => ("text/html", GARBAGE),
                        _ => ("application/json", EMPTY_VECTOR),
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        FaultyPrometheus {
            addr,
            behaviour,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn behave(&self, behaviour: Behaviour) {
        self.behaviour.send_replace(behaviour);
    }
}

impl Drop for FaultyPrometheus {
    fn drop(&mut self) {
        self.task.abort();
    }
}
