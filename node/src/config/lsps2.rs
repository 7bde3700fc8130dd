//! The `[lsps2]` section of the config file: the JIT channel service's menus, tokens and
//! limits. File only — it is structured (menus are lists of tables), so it has no
//! environment variable or flag; without the section the node sells no JIT channels.
//!
//! ```toml
//! [lsps2]
//! client_trusts_lsp = false        # true: hold the funding tx until the fee is claimed
//! over_provisioning_ppm = 100000   # 10 % more capacity than the first payment needs
//! min_channel_sat = 100000
//! max_channel_sat = 16777215
//! max_pending_buys_per_peer = 5
//! max_pending_opens = 50
//! max_committed_sat = 1000000000
//! client_wait_secs = 30            # a paid open waits this long for its client; max 600
//! allow = []                       # node ids; empty serves everyone not denied
//! deny = []
//! require_token = false
//!
//! [[lsps2.fee_menu]]
//! min_fee_msat = 10000
//! proportional_ppm = 5000
//! valid_for_secs = 600             # optional, default 600
//! min_lifetime_blocks = 1008       # optional, default 1008
//! max_client_to_self_delay = 2016  # optional, default 2016
//! min_payment_size_msat = 1000000
//! max_payment_size_msat = 1000000000
//!
//! [[lsps2.tokens]]                 # a partner's own menu, for clients sending its token
//! token = "partner-a"
//! fee_menu = [{ min_fee_msat = 0, proportional_ppm = 1000, min_payment_size_msat = 1000000, max_payment_size_msat = 1000000000 }]
//! ```

use std::path::Path;
use std::str::FromStr;

use bitcoin::secp256k1::PublicKey;
use serde::Deserialize;
use sluice_actors::lsps2::{FeeOption, Lsps2Config, TokenMenu};

use super::ConfigError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    fee_menu: Vec<FeeOption>,
    #[serde(default)]
    tokens: Vec<TokenMenu>,
    #[serde(default)]
    require_token: bool,
    #[serde(default)]
    client_trusts_lsp: bool,
    over_provisioning_ppm: Option<u32>,
    min_channel_sat: Option<u64>,
    max_channel_sat: Option<u64>,
    max_pending_buys_per_peer: Option<usize>,
    max_pending_opens: Option<usize>,
    max_committed_sat: Option<u64>,
    client_wait_secs: Option<u64>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

/// Reads the `[lsps2]` table of the config file at `path`, checked.
pub fn parse(path: &Path, value: &toml::Value) -> Result<Lsps2Config, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidLsps2 {
        path: path.to_owned(),
        message,
    };
    let section: Section = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| invalid(e.message().to_owned()))?;
    let keys = |list: Vec<String>, name: &str| -> Result<Vec<PublicKey>, ConfigError> {
        list.iter()
            .map(|k| {
                PublicKey::from_str(k)
                    .map_err(|_| invalid(format!("`{name}`: {k:?} is not a node id")))
            })
            .collect()
    };
    let d = Lsps2Config::with_menu(Vec::new());
    let config = Lsps2Config {
        fee_menu: section.fee_menu,
        tokens: section.tokens,
        require_token: section.require_token,
        client_trusts_lsp: section.client_trusts_lsp,
        over_provisioning_ppm: section
            .over_provisioning_ppm
            .unwrap_or(d.over_provisioning_ppm),
        min_channel_sat: section.min_channel_sat.unwrap_or(d.min_channel_sat),
        max_channel_sat: section.max_channel_sat.unwrap_or(d.max_channel_sat),
        max_pending_buys_per_peer: section
            .max_pending_buys_per_peer
            .unwrap_or(d.max_pending_buys_per_peer),
        max_pending_opens: section.max_pending_opens.unwrap_or(d.max_pending_opens),
        max_committed_sat: section.max_committed_sat.unwrap_or(d.max_committed_sat),
        client_wait_secs: section.client_wait_secs.unwrap_or(d.client_wait_secs),
        allow: keys(section.allow, "allow")?,
        deny: keys(section.deny, "deny")?,
    };
    config.check().map_err(invalid)?;
    Ok(config)
}
