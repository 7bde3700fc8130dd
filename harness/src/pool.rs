//! Funding a node's liquidity pool for a run: [`fund_rrp`] puts coins into the pool's
//! RRP partition, which caps what the node's rebalancer may spend in a day.
//!
//! It goes through the API as an operator would: the node's pool is created if it runs
//! none (`POST /v1/pools`, partitions `llp`, `cep`, `rrp`), an on-chain deposit into
//! `rrp` is quoted for [`OPERATOR_LP`] (admin tokens act for any LP), and the deposit
//! address is paid by mining coinbases straight to it, as `tests/tests/pool.rs` pays an
//! on-chain deposit. The harness's chain has no wallet to send an exact amount from, and
//! a node's API has no on-chain send, so the deposit is whatever the coinbases pay.
//! That fits the pool's rules (`actors/src/pool/decide.rs`): an on-chain quote's amount
//! only bounds what may be asked (up to the node's on-chain deposit ceiling); the
//! deposit is credited with everything paid to its address, once every output has the
//! pool's confirmations and a coinbase output has 100 (it can be spent only then). So
//! the partition gets at least `sat`: a block's subsidy (50 BTC, halving every 150 blocks
//! on the harness's chain), and more coinbases while that is short of `sat`.
//!
//! Mining the 100 blocks a coinbase needs is safe for a running cluster's channels while
//! no payment is in flight: nothing in the harness or the load driver assumes a height,
//! and channels without HTLCs have nothing that expires with blocks. An HTLC in flight
//! across 100 blocks would pass its CLTV expiry and have its channel force-closed, so
//! fund the pool before the load starts.

use std::time::Duration;

use sluice_api_types::{
    CreatePoolRequest, DepositQuoteRequest, PartitionStatus, PoolStatusResponse,
    DEPOSIT_QUOTE_REQUEST_SCHEMA,
};

use crate::setup::{COINBASE_MATURITY, NOBODYS_ADDRESS};
use crate::{wait_for, ApiClient, ChainRpc, Error};

/// The pool [`fund_rrp`] creates on a node that runs none.
pub const POOL_ID: &str = "main";
/// The partitions it is created with.
pub const PARTITIONS: [&str; 3] = ["llp", "cep", "rrp"];
/// The LP id the node's own deposits are made for.
pub const OPERATOR_LP: &str = "operator";
/// The most coinbases mined to one deposit address to reach the amount asked.
pub const MAX_COINBASES: u32 = 16;
/// How long each step (a coinbase seen, the deposit confirmed) may take: the node must
/// sync the blocks and its pool sweeps open deposits every few seconds.
pub const FUNDING_TIMEOUT: Duration = Duration::from_secs(120);

/// What [`fund_rrp`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RrpFunding {
    /// The node's pool.
    pub pool_id: String,
    /// Whether [`fund_rrp`] created it.
    pub created: bool,
    /// The LP the deposit was made for ([`OPERATOR_LP`]).
    pub lp_id: String,
    /// The deposit.
    pub deposit_id: String,
    /// The amount asked for, sat.
    pub asked_sat: u64,
    /// Coinbases mined to the deposit address.
    pub coinbases: u32,
    /// Blocks mined in all (the coinbases and those that matured them).
    pub blocks: u32,
    /// What the deposit was credited with, msat.
    pub credited_msat: u64,
    /// What the RRP partition held before, msat.
    pub rrp_before_msat: u64,
    /// What it holds now, msat.
    pub rrp_assets_msat: u64,
}

/// The node's pool: the one it runs, or [`POOL_ID`] with [`PARTITIONS`], created now.
/// Answers its id and whether it was created; a pool that takes no deposits into `rrp`
/// is refused.
///
/// A node runs at most one pool, and no route lists it: [`POOL_ID`]'s status is asked
/// first, and when the node answers that it runs another, `/stats` names it (its
/// figures are cached for up to a minute, so that is waited for).
pub fn ensure_pool(client: &ApiClient) -> Result<(String, bool), Error> {
    let create = CreatePoolRequest {
        pool_id: POOL_ID.to_owned(),
        name: None,
        partitions: Some(PARTITIONS.iter().map(|p| (*p).to_owned()).collect()),
    };
    let (pool_id, created) = match client.pool_status(POOL_ID) {
        Ok(_) => (POOL_ID.to_owned(), false),
        Err(Error::Api { status: 404, .. }) => match client.create_pool(&create) {
            Ok(pool) => (pool.pool_id, true),
            Err(Error::Api { code, .. }) if code == "pool_exists" => {
                let pool_id = wait_for("/stats to name the node's pool", FUNDING_TIMEOUT, || {
                    Ok(client.stats()?.pool.map(|p| p.pool_id))
                })?;
                (pool_id, false)
            }
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let status = client.pool_status(&pool_id)?;
    if !status.pool.partitions.iter().any(|p| p == "rrp") {
        return Err(Error::Usage(format!(
            "pool {pool_id} takes no deposits into rrp (its partitions: {})",
            status.pool.partitions.join(", ")
        )));
    }
    Ok((pool_id, created))
}

/// What the RRP partition of `status` holds, msat (0 when the pool has none).
pub fn rrp_assets_msat(status: &PoolStatusResponse) -> u64 {
    rrp(status).map_or(0, |p| p.assets_msats)
}

/// The LP deposits credited to the RRP partition of `status` so far, msat.
fn rrp_deposits_msat(status: &PoolStatusResponse) -> u64 {
    rrp(status).map_or(0, |p| p.flows.deposits_msats)
}

fn rrp(status: &PoolStatusResponse) -> Option<&PartitionStatus> {
    status.partitions.iter().find(|p| p.partition_kind == "rrp")
}

/// Puts at least `sat` into the RRP partition of the pool of the node `client` speaks to
/// (with an admin token), on the chain `rpc` serves: the pool made sure of
/// ([`ensure_pool`]), an on-chain deposit quoted into `rrp` for [`OPERATOR_LP`],
/// coinbases mined to its address until they pay `sat` or more, then the blocks that
/// mature them (at least [`COINBASE_MATURITY`], to an address no node holds); waits
/// until the deposit is confirmed and booked to the partition. See the module docs for
/// why coinbases, and why no payment may be in flight meanwhile.
pub fn fund_rrp(client: &ApiClient, rpc: &ChainRpc, sat: u64) -> Result<RrpFunding, Error> {
    let (pool_id, created) = ensure_pool(client)?;
    let before = client.pool_status(&pool_id)?;
    let (rrp_before_msat, deposits_before_msat) =
        (rrp_assets_msat(&before), rrp_deposits_msat(&before));
    let key = format!("fund-rrp-{}", crate::process::random_hex(8)?);
    let quote = client.deposit_quote(
        &pool_id,
        &DepositQuoteRequest {
            schema: DEPOSIT_QUOTE_REQUEST_SCHEMA.to_owned(),
            lp_id: OPERATOR_LP.to_owned(),
            idempotency_key: key,
            partition_kind: Some("rrp".to_owned()),
            rail: "onchain_address".to_owned(),
            amount_sats: sat,
            description: None,
            expiry_secs: None,
        },
    )?;
    let deposit = quote.deposit;
    let address = deposit.deposit_address.clone().ok_or_else(|| {
        Error::Unexpected(format!(
            "on-chain deposit {} has no address",
            deposit.deposit_id
        ))
    })?;
    let seen = |more_than: u64| {
        wait_for(
            &format!("deposit {} to see its coinbase", deposit.deposit_id),
            FUNDING_TIMEOUT,
            || {
                let now = client.deposit(&pool_id, &deposit.deposit_id)?.deposit;
                Ok(now.received_msats.filter(|&msat| msat > more_than))
            },
        )
    };
    let wanted_msat = sat.saturating_mul(1000);
    let (mut coinbases, mut received) = (0, 0);
    while received < wanted_msat {
        if coinbases == MAX_COINBASES {
            return Err(Error::Unexpected(format!(
                "{MAX_COINBASES} coinbases paid deposit {} only {received} msat of the \
                 {wanted_msat} asked",
                deposit.deposit_id
            )));
        }
        rpc.generate_to_address(1, &address)?;
        coinbases += 1;
        received = seen(received)?;
    }
    let maturity = deposit
        .required_confirmations
        .unwrap_or(0)
        .max(COINBASE_MATURITY);
    rpc.generate_to_address(maturity, NOBODYS_ADDRESS)?;
    let confirmed = wait_for(
        &format!("deposit {} to confirm", deposit.deposit_id),
        FUNDING_TIMEOUT,
        || {
            let now = client.deposit(&pool_id, &deposit.deposit_id)?.deposit;
            Ok((now.status == "confirmed").then_some(now))
        },
    )?;
    let credited_msat = confirmed.received_msats.unwrap_or(received);
    // Its deposits, not its assets: a rebalance's fee may be booked to it meanwhile.
    let rrp_assets_msat = wait_for(
        &format!("pool {pool_id}'s RRP partition to hold the deposit"),
        FUNDING_TIMEOUT,
        || {
            let status = client.pool_status(&pool_id)?;
            let booked =
                rrp_deposits_msat(&status) >= deposits_before_msat.saturating_add(credited_msat);
            Ok(booked.then(|| rrp_assets_msat(&status)))
        },
    )?;
    Ok(RrpFunding {
        pool_id,
        created,
        lp_id: OPERATOR_LP.to_owned(),
        deposit_id: deposit.deposit_id,
        asked_sat: sat,
        coinbases,
        blocks: coinbases + maturity,
        credited_msat,
        rrp_before_msat,
        rrp_assets_msat,
    })
}
