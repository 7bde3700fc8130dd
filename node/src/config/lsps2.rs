//! The `[lsps2]` section of the config file: the JIT channel service's menus, tokens and
//! limits. Without the section the node sells no JIT channels. The section is structured
//! (menus are lists of tables), so most of its keys are file only; the griefing and growth
//! bounds are also settings of their own, each with a variable and a flag that override
//! the file's key ([`super::RunArgs`]'s `lsps2_*` fields, read by [`layered`]):
//!
//! | key in `[lsps2]`             | environment variable                      | default   |
//! |------------------------------|-------------------------------------------|-----------|
//! | `max_unclaimed_sat`          | `SLUICE_LSPS2_MAX_UNCLAIMED_SAT`          | 5000000   |
//! | `unclaimed_window_secs`      | `SLUICE_LSPS2_UNCLAIMED_WINDOW_SECS`      | 3600      |
//! | `unclaimed_close_after_secs` | `SLUICE_LSPS2_UNCLAIMED_CLOSE_AFTER_SECS` | 1800      |
//! | `max_live_orders`            | `SLUICE_LSPS2_MAX_LIVE_ORDERS`            | 1000      |
//! | `order_retention_secs`       | `SLUICE_LSPS2_ORDER_RETENTION_SECS`       | 86400     |
//!
//! (flags `--lsps2-max-unclaimed-sat` and so on). They only apply with the section.
//!
//! ```toml
//! [lsps2]
//! client_trusts_lsp = false        # true: hold the funding tx until the fee is claimed
//! over_provisioning_ppm = 100000   # 10 % more capacity than the first payment needs
//! min_channel_sat = 100000
//! max_channel_sat = 1000000        # default 0.01 BTC
//! max_pending_buys_per_peer = 5
//! max_pending_opens = 10
//! max_committed_sat = 10000000     # default 0.1 BTC in JIT channels at once
//! client_wait_secs = 30            # a paid open waits this long for its client; max 600
//! # What clients that buy and never claim can tie up: capacity opened and not claimed
//! # (closed unclaimed ones count for the window after their open), at least max_channel_sat.
//! max_unclaimed_sat = 5000000
//! unclaimed_window_secs = 3600     # 1 to 86400
//! unclaimed_close_after_secs = 1800 # close a channel never claimed; > client_wait_secs
//! max_live_orders = 1000           # bought-and-payable or opening orders, all clients
//! order_retention_secs = 86400     # ended orders leave memory (not the store); >= 60
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
//!
//! The defaults keep what anonymous clients can cost small (see [`Lsps2Config`]'s
//! "Defaults"); the section is checked as a whole once every layer is applied.

use std::path::Path;
use std::str::FromStr;

use bitcoin::secp256k1::PublicKey;
use serde::Deserialize;
use sluice_actors::lsps2::{FeeOption, Lsps2Config, TokenMenu};

use super::error::{Key, Origin, Setting};
use super::layers::{Layers, Sourced};
use super::values::number;
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

/// Reads the `[lsps2]` table of the config file at `path` (without the layered keys, which
/// [`layered`] applies); the whole is checked once they are.
pub fn parse(path: &Path, value: &toml::Value) -> Result<Lsps2Config, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidLsps2 {
        path: path.to_owned(),
        message,
    };
    let section: Section = super::read_section(value, invalid)?;
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
        max_unclaimed_sat: d.max_unclaimed_sat,
        unclaimed_window_secs: d.unclaimed_window_secs,
        unclaimed_close_after_secs: d.unclaimed_close_after_secs,
        max_live_orders: d.max_live_orders,
        order_retention_secs: d.order_retention_secs,
        allow: keys(section.allow, "allow")?,
        deny: keys(section.deny, "deny")?,
    };
    Ok(config)
}

/// `key`'s value from the highest layer that sets it, checked to be in `range`, or
/// `default` (from the default layer).
fn setting<T>(
    v: &Layers,
    key: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<Sourced<T>, ConfigError>
where
    T: TryFrom<i64> + std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let key = Key::new(key);
    Ok(v.get(key, number(range))?.unwrap_or(Sourced {
        value: default,
        setting: Setting::new(key, &Origin::Default),
    }))
}

/// Applies the layered LSPS2 settings (the `[lsps2]` keys also set by a `SLUICE_LSPS2_*`
/// variable or an `--lsps2-*` flag) to `config`, the section read from the file at
/// `path`, and checks the whole. Without a section, any such setting is an error: the
/// section is what enables the service.
pub(super) fn layered(
    v: &Layers,
    path: Option<&Path>,
    config: Option<Lsps2Config>,
) -> Result<Option<Lsps2Config>, ConfigError> {
    let (Some(mut config), Some(path)) = (config, path) else {
        if let Some(key) = Key::all()
            .filter(|k| k.lsps2_key().is_some())
            .find_map(|k| {
                let set = v.get(k, |_, setting| Ok(setting.clone())).ok()??;
                Some(set.setting)
            })
        {
            return Err(ConfigError::Lsps2SettingWithoutSection { setting: key });
        }
        return Ok(None);
    };
    let invalid = |s: &Sourced<_>, value: String, problem: String| ConfigError::Invalid {
        setting: s.setting.clone(),
        value,
        problem,
    };
    let budget = setting(
        v,
        "lsps2_max_unclaimed_sat",
        Lsps2Config::DEFAULT_MAX_UNCLAIMED_SAT,
        1..=u64::MAX,
    )?;
    if budget.value < config.max_channel_sat {
        return Err(invalid(
            &budget,
            budget.value.to_string(),
            format!(
                "it is below max_channel_sat ({}): the largest channel could never open; raise \
                 it or lower max_channel_sat",
                config.max_channel_sat
            ),
        ));
    }
    let window = setting(
        v,
        "lsps2_unclaimed_window_secs",
        Lsps2Config::DEFAULT_UNCLAIMED_WINDOW_SECS,
        1..=Lsps2Config::MAX_UNCLAIMED_WINDOW_SECS,
    )?;
    let close_after = setting(
        v,
        "lsps2_unclaimed_close_after_secs",
        Lsps2Config::DEFAULT_UNCLAIMED_CLOSE_AFTER_SECS,
        1..=Lsps2Config::MAX_UNCLAIMED_CLOSE_AFTER_SECS,
    )?;
    if close_after.value <= config.client_wait_secs {
        return Err(invalid(
            &close_after,
            close_after.value.to_string(),
            format!(
                "it must be longer than client_wait_secs ({}), which a paid open may wait for \
                 its client",
                config.client_wait_secs
            ),
        ));
    }
    let live = setting(
        v,
        "lsps2_max_live_orders",
        Lsps2Config::DEFAULT_MAX_LIVE_ORDERS,
        1..=Lsps2Config::MAX_LIVE_ORDERS,
    )?;
    let retention = setting(
        v,
        "lsps2_order_retention_secs",
        Lsps2Config::DEFAULT_ORDER_RETENTION_SECS,
        Lsps2Config::MIN_ORDER_RETENTION_SECS..=Lsps2Config::MAX_ORDER_RETENTION_SECS,
    )?;
    config.max_unclaimed_sat = budget.value;
    config.unclaimed_window_secs = window.value;
    config.unclaimed_close_after_secs = close_after.value;
    config.max_live_orders = live.value;
    config.order_retention_secs = retention.value;
    config
        .check()
        .map_err(|message| ConfigError::InvalidLsps2 {
            path: path.to_owned(),
            message,
        })?;
    Ok(Some(config))
}
