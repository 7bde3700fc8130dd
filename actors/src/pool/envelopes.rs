//! Credit envelopes' movements booked to the pool ledger (spec §7.2): the envelope
//! ledger decides what an envelope's step books (a draw, a repayment, a write-off, a
//! recovery) and hands it here with the envelope's changed record and receipt, so the
//! pool actor stays the one writer of its ledger and everything lands in one commit.

use sluice_pool::Movement;
use sluice_storage::WriteBatch;

use super::book::Pools;
use crate::clock::unix_ms;
use crate::{Components, NodeError};

/// Movements to book with the records that go with them.
#[derive(Debug)]
pub struct EnvelopeBooking {
    /// The pool whose ledger books them.
    pub pool_id: String,
    /// What happened, in order.
    pub movements: Vec<Movement>,
    /// The envelope's records (its new status, its receipt), committed with the entries.
    pub batch: WriteBatch,
}

/// Books `booking`: the entries and its records in one commit, then the ledger in
/// memory. Nothing is stored if the ledger refuses any movement. The entries' seqs.
pub async fn book(
    c: &Components,
    pools: &mut Pools,
    booking: EnvelopeBooking,
) -> Result<Vec<u64>, NodeError> {
    let EnvelopeBooking {
        pool_id,
        movements,
        batch,
    } = booking;
    pools
        .commit_movements(&c.store, &pool_id, movements, batch, unix_ms())
        .await
}
