//! The fee menu a client is offered: chosen by its token, dated from now.

use std::time::Duration;

use lightning_liquidity::lsps0::ser::LSPSDateTime;
use lightning_liquidity::lsps2::msgs::LSPS2RawOpeningFeeParams;

use super::config::{FeeOption, Lsps2Config};

/// The answer to a `lsps2.get_info` request.
#[derive(Debug, PartialEq)]
pub enum MenuAnswer<'a> {
    /// These offers (perhaps none, when the client may not buy now).
    Offers(&'a [FeeOption]),
    /// The token is unknown, or one is required and none was given (bLIP-52 error 200,
    /// `unrecognized_or_stale_token`).
    InvalidToken,
}

/// The menu for a client that sent `token`: a token's own menu if it names one; the public
/// menu without a token, unless tokens are required. An unknown token is refused rather
/// than ignored, so a client learns its key is wrong instead of silently paying list price.
pub fn menu_for<'a>(config: &'a Lsps2Config, token: Option<&str>) -> MenuAnswer<'a> {
    match token {
        Some(token) => match config.tokens.iter().find(|t| t.token == token) {
            Some(menu) => MenuAnswer::Offers(&menu.fee_menu),
            None => MenuAnswer::InvalidToken,
        },
        None if config.require_token => MenuAnswer::InvalidToken,
        None => MenuAnswer::Offers(&config.fee_menu),
    }
}

/// `options` as bLIP-52 opening fee parameters valid from `now` (time since the epoch).
pub fn dated(options: &[FeeOption], now: Duration) -> Vec<LSPS2RawOpeningFeeParams> {
    options
        .iter()
        .map(|o| LSPS2RawOpeningFeeParams {
            min_fee_msat: o.min_fee_msat,
            proportional: o.proportional_ppm,
            valid_until: LSPSDateTime::new_from_duration_since_epoch(now + o.valid_for()),
            min_lifetime: o.min_lifetime_blocks,
            max_client_to_self_delay: o.max_client_to_self_delay,
            min_payment_size_msat: o.min_payment_size_msat,
            max_payment_size_msat: o.max_payment_size_msat,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsps2::config::TokenMenu;

    fn option(min_fee_msat: u64) -> FeeOption {
        FeeOption {
            min_fee_msat,
            proportional_ppm: 1_000,
            valid_for_secs: 60,
            min_lifetime_blocks: 144,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: 1_000,
            max_payment_size_msat: 1_000_000,
        }
    }

    #[test]
    fn tokens_choose_their_menu_and_unknown_ones_are_refused() {
        let mut c = Lsps2Config::with_menu(vec![option(1)]);
        c.tokens = vec![TokenMenu {
            token: "partner".into(),
            fee_menu: vec![option(2)],
        }];
        assert_eq!(menu_for(&c, None), MenuAnswer::Offers(&c.fee_menu[..]));
        assert_eq!(
            menu_for(&c, Some("partner")),
            MenuAnswer::Offers(&c.tokens[0].fee_menu[..])
        );
        assert_eq!(menu_for(&c, Some("guess")), MenuAnswer::InvalidToken);
        c.require_token = true;
        assert_eq!(menu_for(&c, None), MenuAnswer::InvalidToken);
    }

    #[test]
    fn offers_are_dated_from_now() {
        let now = Duration::from_secs(1_700_000_000);
        let params = dated(&[option(7)], now);
        assert_eq!(params.len(), 1);
        assert_eq!(params[0].min_fee_msat, 7);
        assert_eq!(params[0].proportional, 1_000);
        assert_eq!(
            params[0].valid_until.to_rfc3339(),
            "2023-11-14T22:14:20+00:00"
        );
    }
}
