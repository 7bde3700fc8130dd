//! Outcome-scoped credit envelopes (CEP, spec §6.2, §7): the decisions behind them, free
//! of I/O so they can be tested exhaustively and replayed from what was recorded.
//!
//! Layout:
//! - `envelope`: an envelope's life as a pure state machine (settle, pay, owe, repay,
//!   default), each step returning the actions the actor performs;
//! - `offer`: an offer from what an agent asked, its intent's bounds and underwriting's
//!   terms;
//! - `exposure`: an agent's record and exposure, and the partition's commitments, from
//!   its envelopes as stored;
//! - `underwriting`: an agent's limit and fee from its record at this node
//!   (`base + k·√volume`, less defaults and open exposure; fee from the default rate,
//!   clamped);
//! - `breaker`: circuit breakers with a minimum sample and hysteresis (the loss-rate
//!   breaker that halts new envelopes, the failure breaker that blocks large
//!   settlements).

pub mod breaker;
pub mod envelope;
pub mod exposure;
pub mod offer;
pub mod underwriting;
