//! Core-style JSON for transactions, blocks and scripts.
//!
//! Pure functions that render rust-bitcoin values the way Bitcoin Core v30 prints them in
//! `getrawtransaction`, `getblock`, `getblockheader`, `gettxout` and friends: the same
//! keys (inserted in Core's order, which only shows if serde_json's `preserve_order` is
//! on), the same script assembly (`asm`), the same inferred output descriptors (`desc`,
//! with their BIP-380 checksum), the same output type names and addresses.
//!
//! - `numbers`: amounts, doubles, difficulty, `target` and `chainwork` as Core prints them
//!   (see [`btc_value`] and [`core_f64`] for how a number reaches a client unchanged);
//! - `asm`: reading scripts one operation at a time, and their assembly ([`script_asm`]);
//! - `solver`: which standard template an output script matches (Core's `Solver`);
//! - `descriptor`: inferred output descriptors and their BIP-380 checksum;
//! - `script`: the `scriptPubKey` and `scriptSig` objects;
//! - `tx`: transactions, with the outputs they spend when known ([`SpentOutput`]);
//! - `block`: headers and blocks.
//!
//! The module is checked against recorded Bitcoin Core v30 regtest answers (`tests.rs`).

mod asm;
mod block;
mod descriptor;
mod numbers;
mod script;
mod solver;
mod tx;

#[cfg(test)]
mod tests;

pub use asm::script_asm;
pub use block::{block_json, block_stripped_size, header_json};
pub use descriptor::{descriptor_checksum, descriptor_with_checksum};
pub use numbers::{btc_value, chainwork_hex, core_f64, difficulty, target_hex};
pub use script::{script_pubkey_json, script_sig_json};
pub use tx::{add_tx_block_fields, tx_json, tx_json_with_undo, SpentOutput};
