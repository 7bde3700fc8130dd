//! [`HealthBoard`]: what the node's parts report about themselves, summed up for
//! `GET /healthz`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// Failed polls of the chain backend in a row after which the node reports itself
/// degraded (at the 500 ms poll interval: 1.5 s without a chain).
pub const CHAIN_FAILURES_DEGRADED: u32 = 3;

/// The node's health, worst first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The node cannot serve: it is stopping or failed fatally.
    Unavailable(String),
    /// The node serves, but something needs attention.
    Degraded(String),
    /// Everything works.
    Ok,
}

#[derive(Debug, Default)]
struct Board {
    fatal: Option<String>,
    stopping: bool,
    /// Supervised actors that failed and are not running again yet, with why.
    down: BTreeMap<String, String>,
    chain_failures: u32,
    chain_error: Option<String>,
}

/// Health reports from the supervisor and the chain follower; read by the API.
#[derive(Debug, Default)]
pub struct HealthBoard {
    board: Mutex<Board>,
}

impl HealthBoard {
    /// A board with nothing to report.
    pub fn new() -> Self {
        HealthBoard::default()
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        // Every update is a single assignment: a panic cannot leave the board half-changed.
        self.board
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A supervised actor failed (`why`) and waits for its restart.
    pub fn actor_down(&self, actor: &str, why: &str) {
        self.lock().down.insert(actor.to_owned(), why.to_owned());
    }

    /// A supervised actor (re)started.
    pub fn actor_up(&self, actor: &str) {
        self.lock().down.remove(actor);
    }

    /// The node must stop: `why`.
    pub fn fatal(&self, why: &str) {
        self.lock().fatal = Some(why.to_owned());
    }

    /// The node is shutting down.
    pub fn stopping(&self) {
        self.lock().stopping = true;
    }

    /// A poll of the chain backend succeeded (`Ok`) or failed.
    pub fn chain_polled(&self, outcome: Result<(), String>) {
        let mut board = self.lock();
        match outcome {
            Ok(()) => {
                board.chain_failures = 0;
                board.chain_error = None;
            }
            Err(error) => {
                board.chain_failures = board.chain_failures.saturating_add(1);
                board.chain_error = Some(error);
            }
        }
    }

    /// The node's health now.
    pub fn health(&self) -> Health {
        let board = self.lock();
        if let Some(why) = &board.fatal {
            return Health::Unavailable(format!("stopping after a fatal failure: {why}"));
        }
        if board.stopping {
            return Health::Unavailable("shutting down".into());
        }
        let mut problems: Vec<String> = board
            .down
            .iter()
            .map(|(actor, why)| format!("{actor} is restarting after: {why}"))
            .collect();
        if board.chain_failures >= CHAIN_FAILURES_DEGRADED {
            problems.push(format!(
                "the chain backend failed {} polls in a row: {}",
                board.chain_failures,
                board.chain_error.as_deref().unwrap_or("unknown error")
            ));
        }
        if problems.is_empty() {
            Health::Ok
        } else {
            Health::Degraded(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_report_wins_and_recoveries_clear_it() {
        let board = HealthBoard::new();
        assert_eq!(board.health(), Health::Ok);

        for _ in 1..CHAIN_FAILURES_DEGRADED {
            board.chain_polled(Err("connection refused".into()));
        }
        assert_eq!(board.health(), Health::Ok, "a short blip is not reported");
        board.chain_polled(Err("connection refused".into()));
        let Health::Degraded(why) = board.health() else {
            panic!("{:?}", board.health())
        };
        assert!(why.contains("connection refused"), "{why}");

        board.actor_down("ChainSync", "chain following stopped");
        let Health::Degraded(why) = board.health() else {
            panic!("{:?}", board.health())
        };
        assert!(
            why.contains("ChainSync") && why.contains("chain backend"),
            "{why}"
        );

        board.chain_polled(Ok(()));
        board.actor_up("ChainSync");
        assert_eq!(board.health(), Health::Ok);

        board.stopping();
        assert!(matches!(board.health(), Health::Unavailable(_)));
        board.fatal("persisting failed");
        let Health::Unavailable(why) = board.health() else {
            panic!("{:?}", board.health())
        };
        assert!(why.contains("persisting failed"), "{why}");
    }
}
