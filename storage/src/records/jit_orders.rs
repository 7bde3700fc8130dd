//! JIT channel orders: what the LSPS2 service sold, opened and earned.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// Where a JIT channel order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JitOrderState {
    /// An intercept SCID was issued; no payment to it has arrived yet.
    Bought,
    /// A payment arrived and the channel is being opened.
    Opening,
    /// The channel is open and the payment (minus the fee) was forwarded over it.
    Forwarded,
    /// The payment arrived but the channel was not opened (a limit, a refused or failed
    /// open): the held HTLCs were failed back.
    Failed,
    /// The channel was opened but the client never claimed the payment within the service's
    /// `unclaimed_close_after_secs`: the LSP closed the channel to get its capital back, and
    /// [`JitOrderRecord::failure`] says so. Terminal, like `Forwarded` and `Failed`.
    Unclaimed,
}

/// One LSPS2 purchase: a client bought a JIT channel at a fee from the menu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitOrderRecord {
    /// The `user_channel_id` of the channel, as 32 hex digits: unique per order, and what
    /// LDK and lightning-liquidity name the channel by.
    pub order_id: String,
    /// The client's node id, hex.
    pub client_node_id: String,
    /// The intercept short channel id the client put in its invoice's route hint.
    pub intercept_scid: u64,
    /// The fee menu entry bought: minimum fee.
    pub min_fee_msat: u64,
    /// The fee menu entry bought: proportional fee, parts per million of the payment.
    pub proportional_ppm: u32,
    /// The fee menu entry bought: valid until (RFC 3339).
    pub valid_until: String,
    /// The payment size the client announced (MPP allowed), if any.
    pub payment_size_msat: Option<u64>,
    /// Where the order stands.
    pub state: JitOrderState,
    /// The opening fee to skim, once the payment arrived.
    pub opening_fee_msat: Option<u64>,
    /// The amount forwarded to the client, once the payment arrived.
    pub amt_to_forward_msat: Option<u64>,
    /// The capacity of the channel opened, in satoshis.
    pub channel_sat: Option<u64>,
    /// The channel, hex, once opened.
    pub channel_id: Option<String>,
    /// The fee actually skimmed from forwarded HTLCs.
    pub skimmed_fee_msat: u64,
    /// Why the order failed, if it did.
    pub failure: Option<String>,
    /// When the order was bought (Unix ms).
    pub created_at_ms: u64,
    /// When the payment arrived and the open started (Unix ms).
    pub open_started_at_ms: Option<u64>,
    /// When the new channel became ready and the payment was sent over it (Unix ms).
    #[serde(default)]
    pub channel_ready_at_ms: Option<u64>,
    /// When the client claimed the payment and the fee was skimmed (Unix ms).
    pub forwarded_at_ms: Option<u64>,
    /// When the order ended for good: forwarded, failed for good, or closed unclaimed (Unix
    /// ms). The service keeps an ended order in memory for a retention period after this,
    /// then only in the store. Absent in records written before it existed.
    #[serde(default)]
    pub ended_at_ms: Option<u64>,
    /// The HTLCs intercepted for the order while its payment was not yet forwarded: what a
    /// restart between lightning-liquidity's state and LDK's can leave held, to be opened
    /// for or forwarded again. Cleared once they are forwarded or failed back.
    #[serde(default)]
    pub held_htlcs: Vec<HeldHtlc>,
}

/// An HTLC intercepted at an order's SCID, as LDK's `HTLCIntercepted` named it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldHtlc {
    /// LDK's intercept id, hex: what forwarding or failing the HTLC takes.
    pub intercept_id: String,
    /// The payment it is part of, hex.
    pub payment_hash: String,
    /// What the payer asked the LSP to forward, before the opening fee.
    pub expected_outbound_msat: u64,
}

impl Record for JitOrderRecord {
    const TABLE: Table = Table::JitOrders;

    fn key(&self) -> String {
        self.order_id.clone()
    }
}

impl JitOrderRecord {
    /// The order's entry in the by-time index, stored in the same batch as the order.
    pub fn time_key(&self) -> JitOrderTimeKey {
        JitOrderTimeKey {
            created_at_ms: self.created_at_ms,
            order_id: self.order_id.clone(),
        }
    }
}

/// One entry of the JIT orders' by-time index ([`Table::JitOrdersByTime`]): orders are keyed
/// by a random id, so listing them newest first a page at a time needs a second key that
/// sorts by time. The key is the creation time as 16 hex digits followed by the order id,
/// so keys sort by time, then id; a listing reads the index backwards from a cursor (the
/// last key it returned) and then each order by its id.
///
/// An order's creation time never changes, so writing its entry again with every change
/// of the order rewrites the same key. An entry whose order is missing, or has another
/// creation time, is stale: readers skip it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitOrderTimeKey {
    /// When the order was bought (Unix ms), as in [`JitOrderRecord::created_at_ms`].
    pub created_at_ms: u64,
    /// The order's id ([`JitOrderRecord::order_id`]).
    pub order_id: String,
}

impl JitOrderTimeKey {
    /// The length of every key: 16 hex digits of time and the 32 of the order id.
    pub const KEY_LEN: usize = 48;

    /// Whether `key` has the shape of an index key (lower-case hex, [`Self::KEY_LEN`] long):
    /// what an API takes as a listing cursor.
    pub fn is_key(key: &str) -> bool {
        key.len() == Self::KEY_LEN && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

impl Record for JitOrderTimeKey {
    const TABLE: Table = Table::JitOrdersByTime;

    fn key(&self) -> String {
        format!("{:016x}{}", self.created_at_ms, self.order_id)
    }
}
