//! The server does not wait forever on a client: a connection that never finishes its TLS
//! handshake, a request whose headers stop half-way and a body that stops coming are each
//! cut off after their patience (short here, minutes by default).

use std::sync::Arc;
use std::time::{Duration, Instant};

use mlxp_sim::api::Patience;
use mlxp_sim::{Sim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PATIENCE: Duration = Duration::from_millis(500);

async fn sim() -> Sim {
    Sim::start(SimConfig {
        manual_clock: true,
        patience: Patience {
            handshake: PATIENCE,
            headers: PATIENCE,
            body: PATIENCE,
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim starts")
}

/// A TLS connection to the sim, trusting its CA.
async fn tls(sim: &Sim) -> tokio_rustls::client::TlsStream<TcpStream> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let mut pem = sim.ca_pem().as_bytes();
    for cert in rustls_pemfile_certs(&mut pem) {
        roots.add(cert).expect("the CA");
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(sim.addr()).await.expect("connects");
    let name = rustls::pki_types::ServerName::try_from(sim.addr().ip().to_string())
        .expect("a server name");
    connector.connect(name, tcp).await.expect("handshake")
}

fn rustls_pemfile_certs(pem: &mut &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

/// Reads until the server closes the connection; what it sent, and how long that took.
async fn until_closed(stream: &mut (impl AsyncReadExt + Unpin)) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut got)).await;
    assert!(
        read.is_ok(),
        "the server did not close the connection within 10 s"
    );
    (String::from_utf8_lossy(&got).to_string(), started.elapsed())
}

#[tokio::test]
async fn a_connection_that_never_handshakes_is_closed() {
    let sim = sim().await;
    let mut tcp = TcpStream::connect(sim.addr()).await.expect("connects");
    let (_, took) = until_closed(&mut tcp).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn headers_that_stop_half_way_are_cut_off() {
    let sim = sim().await;
    let mut stream = tls(&sim).await;
    stream
        .write_all(b"GET /version HTTP/1.1\r\nHost: sim\r\n")
        .await
        .expect("sent");
    let (_, took) = until_closed(&mut stream).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// The admin's token, as the sim's kubeconfig gives it.
fn admin_token(sim: &Sim) -> String {
    let kubeconfig: serde_json::Value =
        serde_saphyr::from_str(&sim.kubeconfig_yaml()).expect("yaml");
    kubeconfig["users"][0]["user"]["token"]
        .as_str()
        .expect("a token")
        .to_string()
}

#[tokio::test]
async fn a_body_that_stops_coming_is_answered_408() {
    let sim = sim().await;
    let mut stream = tls(&sim).await;
    let head = format!(
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: sim\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"kind\":",
        admin_token(&sim)
    );
    stream.write_all(head.as_bytes()).await.expect("sent");
    let (answer, took) = until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("the request body did not arrive within"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}
