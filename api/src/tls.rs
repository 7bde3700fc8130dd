//! TLS for the API: a rustls server configuration from a PEM certificate chain and a PEM
//! private key, served by [`crate::serve_with`] through [`TlsAcceptor`].
//!
//! The crypto provider is rustls's `ring`, the one the rest of the workspace already
//! uses, so there is one crypto stack. Only HTTP/1.1 is offered (ALPN `http/1.1`), with
//! rustls's safe default protocol versions (TLS 1.2 and 1.3). Every failure is a
//! [`TlsError`] naming the file and what is wrong with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

pub use tokio_rustls::TlsAcceptor;

/// Why the API's certificate and key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file cannot be read.
    #[error("cannot read the API's TLS certificate file {}: {source}", path.display())]
    ReadCertificate {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The certificate file holds no certificate, or a malformed one.
    #[error(
        "the API's TLS certificate file {} is not a PEM certificate chain \
         (-----BEGIN CERTIFICATE----- blocks): {problem}",
        path.display()
    )]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The key file cannot be read.
    #[error("cannot read the API's TLS key file {}: {source}", path.display())]
    ReadKey {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file holds no private key, or a malformed one.
    #[error(
        "the API's TLS key file {} is not a PEM private key (PKCS#8 \
         -----BEGIN PRIVATE KEY-----, PKCS#1 RSA or SEC1 EC): {problem}",
        path.display()
    )]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// rustls refused the pair: the key does not match the certificate, or is of a kind
    /// it does not support.
    #[error(
        "the API's TLS certificate {} and key {} cannot be used together: {problem}",
        certificate.display(),
        key.display()
    )]
    Refused {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        problem: String,
    },
}

/// The server configuration for the certificate chain in `certificate` (leaf first) and
/// the private key in `key`, both PEM files. Checks that the key matches the certificate.
pub fn server_config(certificate: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_chain(certificate)?;
    let private_key = read_key(key)?;
    let refused = |problem: String| TlsError::Refused {
        certificate: certificate.to_owned(),
        key: key.to_owned(),
        problem,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| refused(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| refused(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A [`TlsAcceptor`] serving [`server_config`]'s configuration.
pub fn acceptor(certificate: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    server_config(certificate, key).map(TlsAcceptor::from)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::ReadCertificate {
        path: path.to_owned(),
        source,
    })?;
    let bad = |problem: String| TlsError::BadCertificate {
        path: path.to_owned(),
        problem,
    };
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| bad(e.to_string()))?;
    if chain.is_empty() {
        return Err(bad("it holds no certificate".to_owned()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::ReadKey {
        path: path.to_owned(),
        source,
    })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::BadKey {
        path: path.to_owned(),
        problem: match e {
            pem::Error::NoItemsFound => "it holds no private key".to_owned(),
            other => other.to_string(),
        },
    })
}
