//! Peer sockets as LDK's networking wants them: blocking-mode std streams handed to
//! `lightning_net_tokio`, with Nagle's algorithm off.
//!
//! The commitment dance writes small messages back to back (`update_add_htlc` then
//! `commitment_signed`, `revoke_and_ack` then `commitment_signed`). With Nagle on, the
//! second waits for the peer's ACK of the first, and the peer delays that ACK by up to
//! 40 ms: a trace of one two-hop payment showed 41 ms between a router sending its
//! commitment and the payee receiving it. `lightning_net_tokio` leaves the option as the
//! OS sets it, so every peer socket passes through here.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

/// How long an outbound TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A peer socket for `lightning_net_tokio::setup_inbound` / `setup_outbound`: `TCP_NODELAY`
/// on, converted to a std stream.
pub fn prepare(stream: TcpStream) -> io::Result<std::net::TcpStream> {
    stream.set_nodelay(true)?;
    stream.into_std()
}

/// Connects to `address` within [`CONNECT_TIMEOUT`] and prepares the socket.
pub async fn connect(address: SocketAddr) -> io::Result<std::net::TcpStream> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the TCP connect timed out"))??;
    prepare(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn peer_sockets_have_nagle_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (outbound, accepted) = tokio::join!(connect(address), listener.accept());
        assert!(outbound.unwrap().nodelay().unwrap());
        let inbound = prepare(accepted.unwrap().0).unwrap();
        assert!(inbound.nodelay().unwrap());
    }

    #[tokio::test]
    async fn a_refused_connect_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        assert!(connect(address).await.is_err());
    }
}
