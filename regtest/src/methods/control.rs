//! Changing which chain is active by hand: `invalidateblock` and `reconsiderblock`.

use bitcoin::BlockHash;
use serde_json::Value;

use super::chain_error;
use crate::args::Args;
use crate::rpc::RpcError;
use crate::RegtestChain;

/// `invalidateblock`: marks the block and its descendants invalid and reorganises to the
/// best valid chain, sending the disconnected transactions back to the mempool.
pub(super) fn invalidate_block(chain: &RegtestChain, args: &Args) -> Result<Value, RpcError> {
    let hash: BlockHash = args.hash(0, "blockhash")?;
    let result = chain.lock().invalidate(&hash);
    result.map(|()| Value::Null).map_err(chain_error)
}

/// `reconsiderblock`: clears the invalid mark of the block, its ancestors and descendants
/// and reorganises to the best chain.
pub(super) fn reconsider_block(chain: &RegtestChain, args: &Args) -> Result<Value, RpcError> {
    let hash: BlockHash = args.hash(0, "blockhash")?;
    let result = chain.lock().reconsider(&hash);
    result.map(|()| Value::Null).map_err(chain_error)
}
