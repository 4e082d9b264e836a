//! What went wrong talking to the API server, named as kubectl names it: the cause at the
//! bottom of the error chain (`connection refused`, `x509: certificate signed by unknown
//! authority`, `Unauthorized`), not the wrapper's `ServiceError: client error (Connect)`.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// The server's certificate is not trusted by the kubeconfig's CA (or is otherwise bad).
    Tls(String),
    /// 401: the token or client certificate is not (or no longer) accepted.
    Unauthorized,
    /// Nothing listens there (or a proxy in between refused).
    Refused,
    /// No answer in time: a hung server, a frozen proxy, a dropped route.
    TimedOut,
    /// The connection closed before the answer was whole (a proxy or load balancer cut
    /// it, a server that died mid-answer).
    CutShort,
    /// The server answered with an error status.
    Api { code: u16, message: String },
    /// Anything else, as the innermost error said it.
    Other(String),
}

impl Cause {
    pub fn of(error: &kube::Error) -> Cause {
        if let kube::Error::Api(status) = error {
            return match status.code {
                401 => Cause::Unauthorized,
                code => Cause::Api {
                    code,
                    message: status.message.clone(),
                },
            };
        }
        Cause::of_chain(error)
    }

    /// Classifies any error by its chain of sources.
    pub fn of_chain(error: &(dyn std::error::Error + 'static)) -> Cause {
        let mut messages = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = next {
            // tokio-rustls hands a handshake failure back inside an io::Error (hyper-util
            // wraps that in another), and io::Error's source() skips the error it wraps, to
            // that error's own source: look inside each by hand.
            let mut io = e.downcast_ref::<std::io::Error>();
            while let Some(outer) = io {
                match outer.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Cause::Refused,
                    std::io::ErrorKind::TimedOut => return Cause::TimedOut,
                    std::io::ErrorKind::UnexpectedEof => return Cause::CutShort,
                    _ => {}
                }
                let inner = outer.get_ref();
                if let Some(tls) = inner.and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return Cause::Tls(x509(tls));
                }
                io = inner.and_then(|i| i.downcast_ref::<std::io::Error>());
            }
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return Cause::Tls(x509(tls));
            }
            messages.push(e.to_string());
            next = e.source();
        }
        let text = messages.join(": ");
        let lower = text.to_ascii_lowercase();
        if lower.contains("connection refused") {
            Cause::Refused
        } else if lower.contains("unknownissuer") || lower.contains("badsignature") {
            Cause::Tls(UNKNOWN_AUTHORITY.into())
        } else if lower.contains("certificate") {
            Cause::Tls(format!(
                "x509: {}",
                messages.last().cloned().unwrap_or_default()
            ))
        } else if lower.contains("timed out") || lower.contains("deadline") {
            Cause::TimedOut
        } else if lower.contains("close_notify")
            || lower.contains("connection closed before message completed")
            || lower.contains("unexpected eof")
        {
            Cause::CutShort
        } else {
            Cause::Other(messages.last().cloned().unwrap_or(text))
        }
    }

    /// A new CA or token may be in the kubeconfig by now: re-read it and reconnect, as
    /// kubectl does on its next run.
    pub fn wants_fresh_credentials(&self) -> bool {
        matches!(self, Cause::Tls(_) | Cause::Unauthorized)
    }
}

const UNKNOWN_AUTHORITY: &str = "x509: certificate signed by unknown authority";

/// Whether the API server answers `GET /version` within `within`, and if not, why. A cause
/// that waiting will not fix (refused, TLS, 401) is known at once this way, where a watch
/// would retry it with backoff.
pub async fn probe(client: &kube::Client, within: Duration) -> Result<(), Cause> {
    match tokio::time::timeout(within, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Cause::of(&e)),
        Err(_) => Err(Cause::TimedOut),
    }
}

/// rustls's words for a certificate problem, in the x509 terms kubectl users know.
fn x509(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => UNKNOWN_AUTHORITY.into(),
        // A CA of the same name as the issuer, that did not sign it: another cluster's CA
        // made by the same tool. Go's x509 (so kubectl) calls it an unknown authority too.
        rustls::Error::InvalidCertificate(C::BadSignature) => {
            "x509: certificate signed by unknown authority (another CA of that name)".into()
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "x509: certificate has expired or is not yet valid".into()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "x509: certificate is not valid for this server's name".into(),
        other => format!("tls: {other}"),
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Tls(text) => f.write_str(text),
            Cause::Unauthorized => {
                f.write_str("Unauthorized (the token or certificate was refused)")
            }
            Cause::Refused => f.write_str("connection refused"),
            Cause::CutShort => f.write_str("the connection closed before the answer was whole"),
            Cause::TimedOut => f.write_str("no answer in time"),
            Cause::Api { code, message } => write!(f, "{message} ({code})"),
            Cause::Other(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Box<dyn std::error::Error + Send + Sync>);
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("client error (Connect)")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(self.0.as_ref())
        }
    }

    #[test]
    fn the_cause_under_a_wrapper_is_named() {
        let refused = Wrapper(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(Cause::of_chain(&refused), Cause::Refused);
        let tls = Wrapper(Box::new(std::io::Error::other(
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        )));
        let cause = Cause::of_chain(&tls);
        assert_eq!(
            cause.to_string(),
            "x509: certificate signed by unknown authority"
        );
        assert!(cause.wants_fresh_credentials());
        assert!(!Cause::Refused.wants_fresh_credentials());
        // As hyper-util hands it over: an io::Error around tokio-rustls's io::Error.
        let same_name = Wrapper(Box::new(std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature),
        ))));
        assert!(
            Cause::of_chain(&same_name)
                .to_string()
                .starts_with("x509: certificate signed by unknown authority"),
            "another cluster's CA of the same name"
        );
    }

    #[test]
    fn an_answer_cut_short_is_named_so() {
        // As rustls says it when the peer goes mid-record, and as hyper says it.
        let tls_eof = Wrapper(Box::new(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify",
        )));
        assert_eq!(Cause::of_chain(&tls_eof), Cause::CutShort);
        let hyper = Wrapper(Box::new(std::io::Error::other(
            "connection closed before message completed",
        )));
        assert_eq!(Cause::of_chain(&hyper), Cause::CutShort);
        assert_eq!(
            Cause::CutShort.to_string(),
            "the connection closed before the answer was whole"
        );
    }

    #[test]
    fn a_401_is_unauthorized() {
        let status = kube::core::Status::failure("Unauthorized", "Unauthorized").with_code(401);
        let cause = Cause::of(&kube::Error::Api(Box::new(status)));
        assert_eq!(cause, Cause::Unauthorized);
        assert!(cause.to_string().starts_with("Unauthorized"));
    }
}
