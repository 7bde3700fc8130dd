//! Stopping on SIGTERM or SIGINT, for `sluice run` and `sluice regtest-chain`.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGTERM and SIGINT, watched from the start of a command: a signal that arrives just
/// after it printed its ready line would otherwise meet the default action and kill
/// the process before it could shut down cleanly.
pub struct StopSignals {
    term: Option<Signal>,
    interrupt: Option<Signal>,
}

impl StopSignals {
    /// Starts watching both signals; one that cannot be watched is logged and ignored,
    /// so the other still stops the process.
    pub fn install() -> Self {
        let watch = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(watched) => Some(watched),
            Err(e) => {
                tracing::error!(error = %e, "cannot watch {name}; it will not stop the node cleanly");
                None
            }
        };
        StopSignals {
            term: watch(SignalKind::terminate(), "SIGTERM"),
            interrupt: watch(SignalKind::interrupt(), "SIGINT"),
        }
    }

    /// Returns when either signal arrives.
    pub async fn recv(&mut self) {
        async fn next(signal: &mut Option<Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = next(&mut self.term) => {}
            () = next(&mut self.interrupt) => {}
        }
    }
}
