//! The API over a real socket on 127.0.0.1: graceful shutdown, the body limit over the
//! wire, and the connection limits (header-read and idle timeouts, the connection cap).

use std::net::SocketAddr;
use std::time::Duration;

use sluice_api::{serve, serve_with, ApiConfig, ConnectionLimits, ServeOptions, TlsAcceptor};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::common::*;

/// How long a test waits for something the server should do well before it.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// The short timeout the limit tests configure.
const SHORT: Duration = Duration::from_millis(200);
/// A timeout no test reaches.
const LONG: Duration = Duration::from_secs(60);

const HEALTHZ_KEPT_ALIVE: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the server answers and closes")
        .ok();
    String::from_utf8_lossy(&response).into_owned()
}

/// A server on 127.0.0.1 with the test backend, stopped by [`Server::stop`].
pub struct Server {
    pub addr: SocketAddr,
    pub app: TestApp,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(limits: ConnectionLimits, tls: Option<TlsAcceptor>) -> Server {
        let app = app_with(ApiConfig {
            auth: auth_config(),
            connections: limits,
            ..ApiConfig::default()
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let options = ServeOptions { limits, tls };
        let task = tokio::spawn(serve_with(listener, app.router.clone(), options, async {
            stopped.await.ok();
        }));
        Server {
            addr,
            app,
            stop,
            task,
        }
    }

    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

/// Reads until the peer closes the connection (end of stream, or reset), at most until
/// [`DEADLINE`]; what was read. Panics if the connection is still open then.
pub async fn read_until_closed(stream: &mut (impl AsyncRead + Unpin), what: &str) -> Vec<u8> {
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => panic!("{what}: the connection is still open after {DEADLINE:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return read,
            Ok(Ok(n)) => read.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one answer to `GET /healthz` (its body is `{"status":"ok"}`), leaving the
/// connection open.
async fn read_health_answer(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + DEADLINE;
    while !String::from_utf8_lossy(&read).ends_with(r#"{"status":"ok"}"#) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("an answer before the deadline")
            .expect("the connection stays open");
        assert!(
            n > 0,
            "closed mid-answer: {}",
            String::from_utf8_lossy(&read)
        );
        read.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&read).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

/// A kept-alive connection that has had one answer, so the server has surely accepted it
/// (and holds a connection slot for it).
async fn served_connection(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HEALTHZ_KEPT_ALIVE).await.unwrap();
    read_health_answer(&mut stream).await;
    stream
}

#[tokio::test]
async fn serves_until_shutdown() {
    let app = app_with(ApiConfig {
        auth: auth_config(),
        max_body_bytes: 1024,
        ..ApiConfig::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app.router.clone(), async {
        stopped.await.ok();
    }));

    let response = raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"status":"ok"}"#), "{response}");

    // A chunked body (no Content-Length) over the limit is cut off with a 413.
    let mut request = format!(
        "POST /v1/node/invoices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: Bearer {PAY}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..4 {
        request.extend_from_slice(b"200\r\n");
        request.extend_from_slice(&[b' '; 0x200]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let response = raw(addr, &request).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(r#""code":"payload_too_large""#),
        "{response}"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns after shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() {
    let server = Server::start(ConnectionLimits::default(), None).await;
    server.app.backend.delay(Duration::from_millis(300));
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request =
        format!("GET /v1/node/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READ}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    // The backend is called once the request is in; then stop the server under it.
    let deadline = Instant::now() + DEADLINE;
    while server.app.backend.calls().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the request never reached the node"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let addr = server.addr;
    server.stop().await;
    let answer =
        String::from_utf8_lossy(&read_until_closed(&mut stream, "draining").await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off_after_the_header_read_timeout() {
    let server = Server::start(
        ConnectionLimits {
            header_read_timeout: SHORT,
            idle_timeout: LONG,
            ..ConnectionLimits::default()
        },
        None,
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /heal").await.unwrap();
    let sent = Instant::now();
    let read = read_until_closed(&mut stream, "half a request line").await;
    assert!(
        read.is_empty(),
        "no answer: {}",
        String::from_utf8_lossy(&read)
    );
    assert!(sent.elapsed() >= SHORT - Duration::from_millis(20));

    // A request whose head arrives in time is served, on a fresh connection.
    let stream = served_connection(server.addr).await;
    drop(stream);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let server = Server::start(
        ConnectionLimits {
            header_read_timeout: LONG,
            idle_timeout: SHORT,
            ..ConnectionLimits::default()
        },
        None,
    )
    .await;
    // Kept alive after an answer, then idle.
    let mut stream = served_connection(server.addr).await;
    let answered = Instant::now();
    let read = read_until_closed(&mut stream, "a kept-alive idle connection").await;
    assert!(read.is_empty(), "{}", String::from_utf8_lossy(&read));
    assert!(answered.elapsed() >= SHORT - Duration::from_millis(20));

    // Idle from the start: connected, nothing sent.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    assert!(read_until_closed(&mut silent, "a silent connection")
        .await
        .is_empty());

    // A request that takes longer than the idle timeout is busy, not idle.
    server.app.backend.delay(SHORT * 3);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request =
        format!("GET /v1/node/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READ}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = String::from_utf8_lossy(&read_until_closed(&mut stream, "a slow request").await)
        .into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let server = Server::start(
        ConnectionLimits {
            max_connections: 2,
            header_read_timeout: LONG,
            idle_timeout: LONG,
            ..ConnectionLimits::default()
        },
        None,
    )
    .await;
    let first = served_connection(server.addr).await;
    let mut second = served_connection(server.addr).await;

    // A third is closed without an answer, long before any timeout.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let _ = third.write_all(HEALTHZ_KEPT_ALIVE).await;
    let read = read_until_closed(&mut third, "a connection over the cap").await;
    assert!(read.is_empty(), "{}", String::from_utf8_lossy(&read));

    // The two kept are still served.
    second.write_all(HEALTHZ_KEPT_ALIVE).await.unwrap();
    read_health_answer(&mut second).await;

    // Once one closes, a new connection is served (as soon as the server has seen the
    // close: until then a new one may still be refused).
    drop(first);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let served = match stream.write_all(HEALTHZ_KEPT_ALIVE).await {
            Ok(()) => {
                let mut buf = [0u8; 16];
                matches!(
                    tokio::time::timeout_at(deadline, stream.read(&mut buf)).await,
                    Ok(Ok(n)) if n > 0
                )
            }
            Err(_) => false,
        };
        if served {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no connection served after one closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(second);
    server.stop().await;
}

#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path, cert_der) = crate::tls::self_signed(dir.path());
    let acceptor = sluice_api::tls::acceptor(&cert_path, &key_path).unwrap();
    let server = Server::start(ConnectionLimits::default(), Some(acceptor)).await;

    let mut stream = crate::tls::connect(server.addr, cert_der).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer =
        String::from_utf8_lossy(&read_until_closed(&mut stream, "https").await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#"{"status":"ok"}"#), "{answer}");

    // Plain HTTP to the TLS port gets no answer.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain.write_all(HEALTHZ_KEPT_ALIVE).await.unwrap();
    let read = read_until_closed(&mut plain, "plain HTTP to the TLS port").await;
    assert!(!String::from_utf8_lossy(&read).contains("HTTP/1.1 200"));
    server.stop().await;
}
