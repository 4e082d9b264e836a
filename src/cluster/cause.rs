//! What went wrong talking to the API server, named as kubectl names it: the cause at the
//! bottom of the error chain (`connection refused`, `x509: certificate signed by unknown
//! authority`, `Unauthorized`), not the wrapper's `ServiceError: client error (Connect)`.

use std::fmt;

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
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Cause::Refused,
                    std::io::ErrorKind::TimedOut => return Cause::TimedOut,
                    _ => {}
                }
                // tokio-rustls hands a handshake failure back as an io::Error around it,
                // and io::Error's source() skips to the inner error's own source.
                if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return Cause::Tls(x509(tls));
                }
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

/// rustls's words for a certificate problem, in the x509 terms kubectl users know.
fn x509(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match error {
        // A new CA with the old one's name fails on the signature: Go says the same then.
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            UNKNOWN_AUTHORITY.into()
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
            Cause::TimedOut => f.write_str("no answer (timed out)"),
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
    }

    #[test]
    fn a_401_is_unauthorized() {
        let status = kube::core::Status::failure("Unauthorized", "Unauthorized").with_code(401);
        let cause = Cause::of(&kube::Error::Api(Box::new(status)));
        assert_eq!(cause, Cause::Unauthorized);
        assert!(cause.to_string().starts_with("Unauthorized"));
    }
}
