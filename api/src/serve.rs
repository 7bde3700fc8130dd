//! The API's accept loop: HTTP/1.1 over TCP or TLS, with the limits of
//! [`ConnectionLimits`].
//!
//! Not `axum::serve`, which has no timeouts and no connection cap. Here each accepted
//! connection takes a permit from a semaphore of `max_connections`; with none left it is
//! closed at once (and counted in [`CONNECTIONS_REFUSED_TOTAL`]) rather than left queued.
//! hyper serves each connection; a small state machine beside it (`Phase`) tracks
//! whether the connection is idle (no request since it was accepted or since its last
//! answer), reading a request's head (bytes arrived, no request yet), or busy (a request
//! is being answered), and enforces the two timeouts:
//!
//! - `idle_timeout` while idle: the connection is shut down gracefully (hyper closes an
//!   idle connection at once).
//! - `header_read_timeout` while reading a head: the connection is dropped without an
//!   answer, the slow-loris defence. A TLS handshake gets the same time.
//!
//! hyper's own `header_read_timeout` is not used: it starts when hyper begins waiting for
//! a request, so it would also close idle kept-alive connections, and the idle timeout
//! could never be the longer of the two. A busy connection has no timeout here: the
//! router's request timeout bounds the answer.
//!
//! Shutdown: the listener is dropped (new connections are refused by the system), every
//! connection is shut down gracefully (in-flight requests are answered, then the
//! connection closes), and the server waits for them, at most `shutdown_grace`, after
//! which the rest are closed.

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::ConnectionLimits;
use crate::tls::TlsAcceptor;

/// The counter of connections closed on arrival because `max_connections` were open.
pub const CONNECTIONS_REFUSED_TOTAL: &str = "sluice_api_connections_refused_total";
/// The gauge of open API connections.
pub const CONNECTIONS_OPEN: &str = "sluice_api_connections_open";
/// The most connections [`ConnectionLimits::max_connections`] may allow (larger values
/// are taken as this); the node's configuration caps the setting here too.
pub const MAX_CONNECTIONS_LIMIT: usize = 65_536;

/// How [`serve_with`] serves: the connection limits and, optionally, TLS.
#[derive(Clone, Default)]
pub struct ServeOptions {
    /// Timeouts and the connection cap.
    pub limits: ConnectionLimits,
    /// Serve HTTPS with this acceptor; plain HTTP when `None`.
    pub tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Serves `router` on `listener` with the default [`ConnectionLimits`] and no TLS until
/// `shutdown` completes, then finishes the requests in flight and returns. See
/// [`serve_with`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, router, ServeOptions::default(), shutdown).await
}

/// Serves `router` on `listener` as `options` say until `shutdown` completes, then
/// finishes the requests in flight (for at most `shutdown_grace`) and returns.
/// Connections have Nagle's algorithm off, so an answer written in parts never waits on
/// the client's delayed ACK.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = options
        .limits
        .max_connections
        .clamp(1, MAX_CONNECTIONS_LIMIT);
    let permits = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(Stop::Serving);
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                if accept_failed(&e, &mut shutdown).await {
                    break;
                }
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            metrics::counter!(CONNECTIONS_REFUSED_TOTAL).increment(1);
            tracing::debug!(max, "API connection refused: too many open");
            drop(tcp);
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set on an API connection");
        }
        tokio::spawn(connection(
            tcp,
            router.clone(),
            options.clone(),
            stopped.clone(),
            permit,
        ));
    }
    drop(listener);
    stop.send_replace(Stop::Draining);
    // Every connection holds a permit until it ends.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let grace = options.limits.shutdown_grace;
    if tokio::time::timeout(grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        let open = max - permits.available_permits();
        tracing::warn!(
            open,
            ?grace,
            "API connections still open after the shutdown grace; closing them"
        );
        stop.send_replace(Stop::Closing);
        let _ = permits.acquire_many(all).await;
    }
    Ok(())
}

/// Handles a failed `accept`: a connection that failed before it was accepted is skipped;
/// anything else (such as running out of file descriptors) is logged and retried after a
/// second, unless `shutdown` completes meanwhile (then `true`).
async fn accept_failed(
    error: &io::Error,
    shutdown: &mut Pin<&mut impl Future<Output = ()>>,
) -> bool {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return false;
    }
    tracing::error!(error = %error, "accepting an API connection failed; retrying in 1 s");
    tokio::select! {
        () = shutdown.as_mut() => true,
        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => false,
    }
}

/// What the server asks of its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Serve.
    Serving,
    /// Finish the request in flight, if any, then close.
    Draining,
    /// Close now.
    Closing,
}

/// Counts a connection in [`CONNECTIONS_OPEN`] while it lives.
struct Open;

impl Open {
    fn new() -> Self {
        metrics::gauge!(CONNECTIONS_OPEN).increment(1.0);
        Open
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!(CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// One connection: the TLS handshake if any (within the header read timeout), then HTTP.
/// `_permit` goes back to the semaphore when the connection ends.
async fn connection(
    tcp: TcpStream,
    router: Router,
    options: ServeOptions,
    mut stop: watch::Receiver<Stop>,
    _permit: OwnedSemaphorePermit,
) {
    let _open = Open::new();
    let limits = options.limits;
    let Some(acceptor) = options.tls else {
        return http(tcp, router, limits, stop).await;
    };
    let handshake = tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp));
    let tls = tokio::select! {
        done = handshake => match done {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return tracing::debug!(error = %e, "API TLS handshake failed"),
            Err(_) => return tracing::debug!("API TLS handshake timed out"),
        },
        _ = stop.wait_for(|s| *s == Stop::Closing) => return,
    };
    http(tls, router, limits, stop).await
}

/// Where a connection is between requests; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request since this instant (accepted, or the last answer was made).
    Idle(Instant),
    /// The first byte of a request arrived at this instant; its head is not complete.
    Head(Instant),
    /// This many requests are being answered.
    Busy(usize),
}

/// Which timeout ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expired {
    Idle,
    Head,
}

/// Serves HTTP/1.1 on `io` until the client or the server closes it, or a timeout runs
/// out.
async fn http<IO>(io: IO, router: Router, limits: ConnectionLimits, mut stop: watch::Receiver<Stop>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (phase_sender, mut phase) = watch::channel(Phase::Idle(Instant::now()));
    let phase_sender = Arc::new(phase_sender);
    let io = TokioIo::new(Watched {
        io,
        phase: Arc::clone(&phase_sender),
    });
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let busy = Busy::start(Arc::clone(&phase_sender));
        let answer = router.clone().oneshot(request);
        async move {
            let response = answer.await;
            drop(busy);
            response
        }
    });
    let mut builder = http1::Builder::new();
    builder.keep_alive(true).header_read_timeout(None);
    let mut conn = pin!(builder.serve_connection(io, service));
    // Once shut down gracefully, the idle timeout no longer applies: an idle connection
    // closes at once, and a busy one closes after its answer.
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "API connection ended with an error");
                }
                return;
            }
            expired = expiry(&mut phase, limits, shutting_down) => match expired {
                Expired::Idle => {
                    conn.as_mut().graceful_shutdown();
                    shutting_down = true;
                }
                Expired::Head => {
                    tracing::debug!(
                        timeout = ?limits.header_read_timeout,
                        "API request head too slow; connection closed"
                    );
                    return;
                }
            },
            changed = stop.changed() => {
                let now = if changed.is_ok() { *stop.borrow_and_update() } else { Stop::Closing };
                match now {
                    Stop::Serving => {}
                    Stop::Draining if !shutting_down => {
                        conn.as_mut().graceful_shutdown();
                        shutting_down = true;
                    }
                    Stop::Draining => {}
                    Stop::Closing => return,
                }
            }
        }
    }
}

/// Completes when the connection's current phase has lasted longer than its timeout:
/// idle longer than `idle_timeout` (not once `shutting_down`), or reading a head longer
/// than `header_read_timeout`. Never while busy.
async fn expiry(
    phase: &mut watch::Receiver<Phase>,
    limits: ConnectionLimits,
    shutting_down: bool,
) -> Expired {
    loop {
        let deadline = match *phase.borrow_and_update() {
            Phase::Idle(since) if !shutting_down => {
                Some((since + limits.idle_timeout, Expired::Idle))
            }
            Phase::Head(since) => Some((since + limits.header_read_timeout, Expired::Head)),
            Phase::Idle(_) | Phase::Busy(_) => None,
        };
        let changed = match deadline {
            None => phase.changed().await,
            Some((at, expired)) => tokio::select! {
                () = tokio::time::sleep_until(at) => {
                    // A change in the same instant wins: look again.
                    if !phase.has_changed().unwrap_or(false) {
                        return expired;
                    }
                    Ok(())
                }
                changed = phase.changed() => changed,
            },
        };
        if changed.is_err() {
            // The connection is gone; its own branch finishes the loop.
            std::future::pending::<()>().await;
        }
    }
}

/// Marks its connection busy while a request is answered; idle again when dropped.
struct Busy(Arc<watch::Sender<Phase>>);

impl Busy {
    fn start(phase: Arc<watch::Sender<Phase>>) -> Self {
        phase.send_modify(|p| {
            *p = match *p {
                Phase::Busy(n) => Phase::Busy(n + 1),
                Phase::Idle(_) | Phase::Head(_) => Phase::Busy(1),
            }
        });
        Busy(phase)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|p| {
            *p = match *p {
                Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
                _ => Phase::Idle(Instant::now()),
            }
        });
    }
}

/// A connection's byte stream that moves an idle connection to [`Phase::Head`] when bytes
/// arrive.
struct Watched<IO> {
    io: IO,
    phase: Arc<watch::Sender<Phase>>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.phase.send_if_modified(|p| match *p {
                Phase::Idle(_) => {
                    *p = Phase::Head(Instant::now());
                    true
                }
                Phase::Head(_) | Phase::Busy(_) => false,
            });
        }
        poll
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
