//! The records whose answers do not depend on the recorded chain's state, replayed on a
//! fresh chain (genesis only) and compared exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::replay::{Check, Replayer, EXACT};
use super::Chain;

#[test]
fn records_independent_of_the_chain_state() {
    let chain = Chain::start();
    let mut r = Replayer::new(&chain);
    r.replay(
        "wrong_param_types.json",
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
        EXACT,
    );
    // Genesis, out-of-range and negative heights, named parameters.
    r.replay("getblockhash.json", &[0, 1, 2, 5, 6, 7, 8, 9], EXACT);
    r.replay("getblockhash.json", &[10], Check::Help);
    r.replay("getblockcount.json", &[4, 5], Check::Help);
    // No data, out-of-range targets, a bad mode.
    r.replay("estimatesmartfee.json", &[0, 1, 2, 3, 4, 5, 6, 7], EXACT);
    r.replay("getblockfilter.json", &[0, 1, 2, 3], EXACT);
    r.replay("unknown_method.json", &[0, 1, 2, 3, 4, 5, 6], EXACT);
    // nblocks 0, invalid and mainnet addresses, nblocks as a string.
    r.replay("generatetoaddress.json", &[3, 4, 5, 6, 7], EXACT);
    // An unknown txid, garbage hex, an invalid address.
    r.replay("generateblock.json", &[4, 5, 6], EXACT);
    r.replay("invalidateblock.json", &[9, 10], EXACT);
    r.replay("reconsiderblock.json", &[5], EXACT);
    // Genesis as hex; unknown hashes; malformed hashes.
    r.replay("getblock.json", &[0, 11, 12], EXACT);
    r.replay("getblockheader.json", &[1, 6, 7, 8, 9], EXACT);
    // Outputs spent, unknown or out of range on the recorded chain are unknown here: null
    // either way. Then a malformed txid.
    r.replay("gettxout.json", &[1, 3, 4, 5, 6, 7, 8, 11, 13], EXACT);
    r.replay("getmempoolentry.json", &[2, 3, 4, 5, 6], EXACT);
    // Unknown txids (also the replaced one, never mined) and the genesis coinbase.
    r.replay("getrawtransaction.json", &[10, 11, 12, 14, 15], EXACT);
    // Decode errors, an input nobody has, a wrong type.
    r.replay(
        "sendrawtransaction.json",
        &[6, 7, 8, 9, 10, 11, 12, 21],
        EXACT,
    );
    r.report("records_independent_of_the_chain_state");
}
