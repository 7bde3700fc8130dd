//! The API's limits and TLS in `sluice run`'s configuration (defaults, precedence, ranges,
//! the refusal of plain HTTP off loopback, the TLS files), the binary's refusal, and a node
//! run in this process serving HTTPS with the configured rate limit.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rustls::pki_types::{CertificateDer, ServerName};
use sluice_api::TlsError;
use sluice_node::config::{load, ConfigError, Key, NodeConfig, Origin, RunArgs};
use sluice_node::run::RunningNode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

const BASE: &[&str] = &["--data-dir", "/d", "--embedded-chain"];

/// Loads `flags` (after [`BASE`]) with `env`, and `file` as the config file if given.
fn load_with(
    file: Option<&str>,
    env: &[(&str, &str)],
    flags: &[&str],
) -> Result<NodeConfig, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    let mut argv: Vec<String> = ["sluice"]
        .iter()
        .chain(BASE)
        .chain(flags)
        .map(|s| s.to_string())
        .collect();
    if let Some(text) = file {
        std::fs::write(&path, text).unwrap();
        argv.extend(["--config".to_owned(), path.display().to_string()]);
    }
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    load(Cli::parse_from(argv).run, lookup)
}

fn ok(result: Result<NodeConfig, ConfigError>) -> NodeConfig {
    result.unwrap_or_else(|e| panic!("unexpected error: {e}"))
}

fn err(result: Result<NodeConfig, ConfigError>) -> ConfigError {
    match result {
        Ok(config) => panic!("unexpectedly accepted: {config:?}"),
        Err(e) => e,
    }
}

/// A self-signed certificate for `localhost`, written to `dir` as `cert.pem` and
/// `key.pem`: their paths and the certificate.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf, CertificateDer<'static>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    (cert, key, certified.cert.der().clone())
}

#[test]
fn api_limits_default_to_the_apis_own() {
    let config = ok(load_with(None, &[], &[]));
    assert!(!config.api_allow_plaintext);
    assert_eq!(config.api_tls, None);
    assert_eq!(config.api_header_read_timeout_secs, 10);
    assert_eq!(config.api_idle_timeout_secs, 60);
    assert_eq!(config.api_max_connections, 512);
    assert_eq!(config.api_rate_limit, 1000);
    assert_eq!(config.api_rate_limit_burst, 2000);
    assert_eq!(
        Duration::from_secs(NodeConfig::DEFAULT_API_HEADER_READ_TIMEOUT_SECS),
        sluice_api::DEFAULT_HEADER_READ_TIMEOUT
    );
    assert_eq!(
        Duration::from_secs(NodeConfig::DEFAULT_API_IDLE_TIMEOUT_SECS),
        sluice_api::DEFAULT_IDLE_TIMEOUT
    );
}

#[test]
fn api_limits_take_the_highest_layer() {
    // (config key, flag, file value, env value, flag value)
    let settings = [
        (
            "api_header_read_timeout_secs",
            "--api-header-read-timeout-secs",
            "5",
            "6",
            "7",
        ),
        (
            "api_idle_timeout_secs",
            "--api-idle-timeout-secs",
            "30",
            "31",
            "32",
        ),
        (
            "api_max_connections",
            "--api-max-connections",
            "8",
            "9",
            "10",
        ),
        ("api_rate_limit", "--api-rate-limit", "0", "50", "60"),
        (
            "api_rate_limit_burst",
            "--api-rate-limit-burst",
            "1",
            "70",
            "80",
        ),
    ];
    let get = |config: &NodeConfig, key: &str| match key {
        "api_header_read_timeout_secs" => config.api_header_read_timeout_secs.to_string(),
        "api_idle_timeout_secs" => config.api_idle_timeout_secs.to_string(),
        "api_max_connections" => config.api_max_connections.to_string(),
        "api_rate_limit" => config.api_rate_limit.to_string(),
        "api_rate_limit_burst" => config.api_rate_limit_burst.to_string(),
        other => panic!("{other}"),
    };
    for (key, flag, in_file, in_env, in_flag) in settings {
        let file = format!("{key} = {in_file}");
        let var = Key::new(key).env_var();
        let env = [(var.as_str(), in_env)];
        let config = ok(load_with(Some(&file), &[], &[]));
        assert_eq!(get(&config, key), in_file, "{key} from the file");
        let config = ok(load_with(Some(&file), &env, &[]));
        assert_eq!(get(&config, key), in_env, "{key} from the environment");
        let config = ok(load_with(Some(&file), &env, &[flag, in_flag]));
        assert_eq!(get(&config, key), in_flag, "{key} from the flag");
    }
}

#[test]
fn api_limits_out_of_range_are_refused() {
    for (flag, key, bad, range) in [
        (
            "--api-header-read-timeout-secs",
            "api_header_read_timeout_secs",
            "0",
            "from 1 to 3600",
        ),
        (
            "--api-header-read-timeout-secs",
            "api_header_read_timeout_secs",
            "3601",
            "from 1 to 3600",
        ),
        (
            "--api-idle-timeout-secs",
            "api_idle_timeout_secs",
            "0",
            "from 1 to 3600",
        ),
        (
            "--api-max-connections",
            "api_max_connections",
            "0",
            "from 1 to 65536",
        ),
        (
            "--api-max-connections",
            "api_max_connections",
            "65537",
            "from 1 to 65536",
        ),
        (
            "--api-rate-limit",
            "api_rate_limit",
            "1000001",
            "from 0 to 1000000",
        ),
        (
            "--api-rate-limit",
            "api_rate_limit",
            "many",
            "from 0 to 1000000",
        ),
        (
            "--api-rate-limit-burst",
            "api_rate_limit_burst",
            "0",
            "from 1 to 1000000",
        ),
    ] {
        let e = err(load_with(None, &[], &[flag, bad]));
        assert!(
            matches!(&e, ConfigError::Invalid { setting, .. } if setting.key == Key::new(key)),
            "{flag} {bad}: {e:?}"
        );
        let message = e.to_string();
        assert!(
            message.contains(range) && message.contains(flag),
            "{message}"
        );
    }
}

#[test]
fn plain_http_off_loopback_is_refused_without_the_flag() {
    for addr in ["0.0.0.0:3000", "[::]:3000", "192.0.2.7:3000"] {
        let e = err(load_with(None, &[], &["--api-addr", addr]));
        match &e {
            ConfigError::PlaintextApi { addr: a, setting } => {
                assert_eq!(a.to_string(), addr);
                assert_eq!(setting.origin, Origin::Flag);
            }
            other => panic!("{addr}: {other:?}"),
        }
        let message = e.to_string();
        for needed in ["flag --api-addr", "--api-tls-cert", "--api-allow-plaintext"] {
            assert!(message.contains(needed), "{needed} missing: {message}");
        }
    }
    // From the file and the environment too, naming where it came from.
    let e = err(load_with(Some("api_addr = \"0.0.0.0:3000\""), &[], &[]));
    assert!(e.to_string().contains("`api_addr` in config file"), "{e}");
    let e = err(load_with(None, &[("SLUICE_API_ADDR", "0.0.0.0:3000")], &[]));
    assert!(
        e.to_string()
            .contains("environment variable SLUICE_API_ADDR"),
        "{e}"
    );

    // Loopback, IPv4-mapped loopback included, needs nothing.
    for addr in [
        "127.0.0.1:3000",
        "127.0.0.2:3000",
        "[::1]:3000",
        "[::ffff:127.0.0.1]:3000",
    ] {
        ok(load_with(None, &[], &["--api-addr", addr]));
    }
}

#[test]
fn plain_http_off_loopback_is_allowed_with_the_flag() {
    let config = ok(load_with(
        None,
        &[],
        &["--api-addr", "0.0.0.0:3000", "--api-allow-plaintext"],
    ));
    assert!(config.api_allow_plaintext);
    let env = [
        ("SLUICE_API_ALLOW_PLAINTEXT", "1"),
        ("SLUICE_API_ADDR", "0.0.0.0:3000"),
    ];
    assert!(ok(load_with(None, &env, &[])).api_allow_plaintext);
    let file = "api_addr = \"[::]:3000\"\napi_allow_plaintext = true\n";
    assert!(ok(load_with(Some(file), &[], &[])).api_allow_plaintext);
    // The flag can also say no.
    let e = err(load_with(None, &env, &["--api-allow-plaintext=false"]));
    assert!(matches!(e, ConfigError::PlaintextApi { .. }), "{e:?}");
}

#[test]
fn tls_files_are_loaded_and_allow_any_address() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = self_signed(dir.path());
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let config = ok(load_with(
        None,
        &[],
        &[
            "--api-addr",
            "0.0.0.0:3000",
            "--api-tls-cert",
            cert_s,
            "--api-tls-key",
            key_s,
        ],
    ));
    let tls = config.api_tls.expect("TLS configured");
    assert_eq!(
        (tls.certificate.as_path(), tls.key.as_path()),
        (cert.as_path(), key.as_path())
    );
    assert!(!config.api_allow_plaintext);
    // The two may come from different layers.
    let file = format!("api_tls_cert = {cert_s:?}\n");
    let config = ok(load_with(
        Some(&file),
        &[("SLUICE_API_TLS_KEY", key_s)],
        &[],
    ));
    assert!(config.api_tls.is_some());
}

#[test]
fn a_missing_tls_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key, _) = self_signed(dir.path());
    let missing = dir.path().join("no-such-cert.pem");
    let e = err(load_with(
        None,
        &[],
        &[
            "--api-tls-cert",
            missing.to_str().unwrap(),
            "--api-tls-key",
            key.to_str().unwrap(),
        ],
    ));
    match &e {
        ConfigError::ApiTls {
            certificate,
            source,
            ..
        } => {
            assert_eq!(certificate.key, Key::new("api_tls_cert"));
            assert!(
                matches!(**source, TlsError::ReadCertificate { .. }),
                "{source:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let message = e.to_string();
    assert!(
        message.contains("cannot read the API's TLS certificate file")
            && message.contains("no-such-cert.pem")
            && message.contains("flag --api-tls-cert"),
        "{message}"
    );

    // A key that is not the certificate's.
    let other = tempfile::tempdir().unwrap();
    let (cert, _, _) = self_signed(other.path());
    let e = err(load_with(
        None,
        &[],
        &[
            "--api-tls-cert",
            cert.to_str().unwrap(),
            "--api-tls-key",
            key.to_str().unwrap(),
        ],
    ));
    assert!(
        matches!(&e, ConfigError::ApiTls { source, .. } if matches!(**source, TlsError::Refused { .. })),
        "{e:?}"
    );
}

#[test]
fn a_certificate_without_its_key_is_refused() {
    let e = err(load_with(None, &[], &["--api-tls-cert", "/etc/cert.pem"]));
    assert!(
        matches!(&e, ConfigError::IncompleteApiTls { missing, .. } if *missing == Key::new("api_tls_key")),
        "{e:?}"
    );
    let message = e.to_string();
    assert!(
        message.contains("flag --api-tls-cert") && message.contains("--api-tls-key"),
        "{message}"
    );
    let e = err(load_with(
        None,
        &[("SLUICE_API_TLS_KEY", "/etc/key.pem")],
        &[],
    ));
    assert!(
        matches!(&e, ConfigError::IncompleteApiTls { missing, .. } if *missing == Key::new("api_tls_cert")),
        "{e:?}"
    );
}

/// The binary stops with the configuration's exit code and says why. The address is one
/// this machine does not have (TEST-NET-1), so that were the check missing, the node
/// would fail to bind it (exit 7) rather than serve; and the test gives it 60 s.
#[test]
fn the_binary_refuses_plain_http_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--embedded-chain", "--listen", "127.0.0.1:0"])
        .args(["--api-addr", "192.0.2.1:0", "--data-dir"])
        .arg(dir.path())
        .env_clear()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("sluice run did not stop within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--api-allow-plaintext"), "{stderr}");
}

/// Sends `request` over a TLS connection to `addr` that trusts only `cert`; the answer.
async fn https(
    addr: std::net::SocketAddr,
    cert: &CertificateDer<'static>,
    request: &str,
) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_https_with_its_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = self_signed(dir.path());
    let token = "node-test-pay-token";
    let token_spec = format!("{}:pay", sluice_api::hash_token(token));
    let data_dir = dir.path().join("node");
    let cli = Cli::parse_from([
        "sluice",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--embedded-chain",
        "--listen",
        "127.0.0.1:0",
        "--api-addr",
        "127.0.0.1:0",
        "--api-tls-cert",
        cert.to_str().unwrap(),
        "--api-tls-key",
        key.to_str().unwrap(),
        "--api-token-sha256",
        &token_spec,
        "--api-rate-limit",
        "1",
        "--api-rate-limit-burst",
        "1",
    ]);
    let config = load(cli.run, |_| None).unwrap();
    let node = RunningNode::start(config).await.unwrap();
    let addr = node.api_addr();

    let answer = https(
        addr,
        &der,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // The bucket holds one request: the first is charged (and refused for its body), the
    // second is over the limit.
    let keysend = format!(
        "POST /v1/node/payments/keysend HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: 2\r\n\r\n{{}}"
    );
    let first = https(addr, &der, &keysend).await;
    assert!(first.starts_with("HTTP/1.1 400"), "{first}");
    let second = https(addr, &der, &keysend).await;
    assert!(second.starts_with("HTTP/1.1 429"), "{second}");
    assert!(second.contains(r#""code":"rate_limited""#), "{second}");
    assert!(
        second.to_ascii_lowercase().contains("retry-after: 1"),
        "{second}"
    );

    node.stop().await.unwrap();
}
