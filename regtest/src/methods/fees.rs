//! Fee estimates: `estimatesmartfee`.

use serde_json::{json, Value};

use super::{btc_per_kvb, err};
use crate::args::Args;
use crate::chain::ChainState;
use crate::params::MAX_CONF_TARGET;
use crate::rpc::RpcError;

pub(super) fn estimate_smart_fee(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let target: i32 = args.int_or(0, 0)?;
    let Some(target) = u32::try_from(target)
        .ok()
        .filter(|t| (1..=MAX_CONF_TARGET).contains(&u64::from(*t)))
    else {
        return Err(err(
            RpcError::INVALID_PARAMETER,
            format!("Invalid conf_target, must be between 1 and {MAX_CONF_TARGET}"),
        ));
    };
    let mode = args.str(1).unwrap_or("economical").to_ascii_lowercase();
    let conservative = match mode.as_str() {
        "unset" | "economical" => false,
        "conservative" => true,
        _ => {
            return Err(err(
                RpcError::INVALID_PARAMETER,
                "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\"",
            ))
        }
    };
    Ok(match state.fees.estimate(target, conservative) {
        Some((rate, blocks)) => json!({ "feerate": btc_per_kvb(rate), "blocks": blocks }),
        None => json!({ "errors": ["Insufficient data or no feerate found"], "blocks": 0 }),
    })
}
