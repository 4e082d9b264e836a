//! The certificate authority clients trust, and the serving certificate it signs at every
//! start. The authority is made once per identity (kept in a data dir, a later run signs
//! with it, so the kubeconfigs of earlier runs keep working); the serving certificate is
//! always fresh, so it names whatever address this run listens on.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA certificate and its private key, both PEM.
#[derive(Clone)]
pub struct Authority {
    pub cert_pem: String,
    pub key_pem: String,
}

/// What the CA certificate says of itself. Signing with a kept key rebuilds the issuer from
/// these same parameters, so the names and key identifier match the kept certificate.
fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mlxp-sim-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    Ok(ca_params)
}

impl Authority {
    /// A new CA.
    pub fn generate() -> Result<Authority, rcgen::Error> {
        let key = KeyPair::generate()?;
        let cert = ca_params()?.self_signed(&key)?;
        Ok(Authority {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The server configuration presenting a certificate this CA signs for `localhost`,
    /// 127.0.0.1, ::1 and `extra_ip`.
    pub fn serving(&self, extra_ip: std::net::IpAddr) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let issuer = Issuer::new(ca_params()?, KeyPair::from_pem(&self.key_pem)?);
        let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
        if !extra_ip.is_loopback() && !extra_ip.is_unspecified() {
            names.push(extra_ip.to_string());
        }
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "mlxp-sim");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;

        let chain = vec![CertificateDer::from(cert.der().to_vec())];
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let mut server_config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, private)?;
        server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(server_config))
    }
}
