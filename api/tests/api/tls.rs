//! TLS: certificates made on the spot with rcgen, a client that trusts them, and the
//! errors for unusable certificate and key files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use sluice_api::tls::{self, TlsError};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A self-signed certificate for `localhost` and `127.0.0.1`, written to `dir` as
/// `cert.pem` and `key.pem`: their paths and the certificate.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf, CertificateDer<'static>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).unwrap();
    (cert_path, key_path, certified.cert.der().clone())
}

/// A TLS connection to `addr` as `localhost`, trusting only `cert`.
pub async fn connect(addr: SocketAddr, cert: CertificateDer<'static>) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

#[test]
fn a_missing_certificate_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key, _) = self_signed(dir.path());
    let missing = dir.path().join("nope.pem");
    let e = tls::server_config(&missing, &key).unwrap_err();
    assert!(matches!(e, TlsError::ReadCertificate { .. }), "{e:?}");
    let message = e.to_string();
    assert!(
        message.contains("certificate file") && message.contains("nope.pem"),
        "{message}"
    );
}

#[test]
fn files_that_are_not_pem_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = self_signed(dir.path());
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();

    let e = tls::server_config(&junk, &key).unwrap_err();
    assert!(matches!(e, TlsError::BadCertificate { .. }), "{e:?}");
    assert!(e.to_string().contains("holds no certificate"), "{e}");

    let e = tls::server_config(&cert, &junk).unwrap_err();
    assert!(matches!(e, TlsError::BadKey { .. }), "{e:?}");
    assert!(e.to_string().contains("holds no private key"), "{e}");

    // The certificate given as the key, and the key as the certificate.
    assert!(matches!(
        tls::server_config(&cert, &cert),
        Err(TlsError::BadKey { .. })
    ));
    assert!(matches!(
        tls::server_config(&key, &key),
        Err(TlsError::BadCertificate { .. })
    ));
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, _) = self_signed(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (_, other_key, _) = self_signed(other.path());
    let e = tls::server_config(&cert, &other_key).unwrap_err();
    assert!(matches!(e, TlsError::Refused { .. }), "{e:?}");
    assert!(tls::server_config(&cert, &dir.path().join("key.pem")).is_ok());
}
