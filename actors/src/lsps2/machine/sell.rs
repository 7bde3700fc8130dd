//! Selling: the fee menu a client is offered, and buying an intercept SCID, recorded
//! before the client learns it. A client that may not buy now is offered an empty menu,
//! and a buy is refused with LSPS0's `client_rejected` error naming the limit
//! ([`BuyRefusal`]).

use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning_liquidity::lsps0::ser::LSPSRequestId;
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;

use super::{refused, Action, Lsps2Machine, NodeView};
use crate::lsps2::limits::{channel_sat, BuyRefusal};
use crate::lsps2::menu::{menu_for, MenuAnswer};
use crate::lsps2::order::{bought, Purchase};

/// How many intercept SCIDs LDK is asked for before the service gives up on a buy. LDK
/// draws them at random from a space that is small where the chain is short (2,500 on a
/// young regtest chain) and does not remember the ones it gave; lightning-liquidity
/// refuses to load state in which two orders share one. The draws are bounded, and so are
/// the SCIDs taken (`max_live_orders`), so a buy that finds none free is refused
/// ([`BuyRefusal::NoFreeScid`]) rather than looping.
pub const SCID_ATTEMPTS: usize = 64;

impl Lsps2Machine {
    /// `lsps2.get_info`: the client's menu, empty while it may not buy.
    pub fn get_info(
        &self,
        view: &dyn NodeView,
        request_id: LSPSRequestId,
        client: PublicKey,
        token: Option<&str>,
    ) -> Vec<Action> {
        metrics::counter!("sluice_lsps2_requests_total", "method" => "get_info").increment(1);
        let options = match menu_for(&self.config, token) {
            MenuAnswer::InvalidToken => {
                refused("invalid_token");
                return vec![Action::RejectToken { client, request_id }];
            }
            MenuAnswer::Offers(options) => options,
        };
        let options = match self.may_buy(view, &client, None) {
            Ok(()) => options,
            Err(reason) => {
                refused(reason.label());
                tracing::info!(%client, reason = reason.label(), "LSPS2: offering an empty menu");
                &[]
            }
        };
        vec![Action::OfferMenu {
            client,
            request_id,
            options: options.to_vec(),
            made_at: Duration::from_millis(view.unix_ms()),
        }]
    }

    /// Whether `client` may buy now (a channel for `payment_size_msat`, if it says): admitted,
    /// under its pending-buy limit, the live orders under theirs, and the service not at its
    /// open, commitment or unclaimed-capacity limits.
    fn may_buy(
        &self,
        view: &dyn NodeView,
        client: &PublicKey,
        payment_size_msat: Option<u64>,
    ) -> Result<(), BuyRefusal> {
        if !self.config.admits(client) {
            return Err(BuyRefusal::NotAdmitted);
        }
        let now_secs = view.unix_ms() / 1000;
        if self.book.pending_buys(&client.to_string(), now_secs)
            >= self.config.max_pending_buys_per_peer
        {
            return Err(BuyRefusal::PendingBuys);
        }
        if self.book.live_orders(now_secs) >= self.config.max_live_orders {
            return Err(BuyRefusal::TooManyOrders);
        }
        let now = self.commitments(view, None);
        if now.opening >= self.config.max_pending_opens {
            return Err(BuyRefusal::TooManyOpens);
        }
        if now.committed_sat >= self.config.max_committed_sat {
            return Err(BuyRefusal::OverCommitted);
        }
        // The smallest channel the buy could open: for the size it announced, or the least.
        let needed = payment_size_msat.map_or(self.config.min_channel_sat, |size| {
            channel_sat(&self.config, size)
        });
        if now.unclaimed_sat.saturating_add(needed) > self.config.max_unclaimed_sat {
            return Err(BuyRefusal::UnclaimedBudget);
        }
        Ok(())
    }

    /// `lsps2.buy`: issues an intercept SCID, recorded before the client learns it. A client
    /// that may not buy now, or for which no unused SCID can be drawn, is refused with
    /// LSPS0's `client_rejected` error saying why.
    pub fn buy(
        &mut self,
        view: &dyn NodeView,
        request_id: LSPSRequestId,
        client: PublicKey,
        params: LSPS2OpeningFeeParams,
        payment_size_msat: Option<u64>,
    ) -> Vec<Action> {
        metrics::counter!("sluice_lsps2_requests_total", "method" => "buy").increment(1);
        let refuse = |reason: BuyRefusal| {
            refused(reason.label());
            vec![Action::RefuseBuy {
                client,
                request_id: request_id.clone(),
                reason,
            }]
        };
        if let Err(reason) = self.may_buy(view, &client, payment_size_msat) {
            tracing::info!(%client, reason = reason.label(), "LSPS2: refusing a buy");
            return refuse(reason);
        }
        let Some(intercept_scid) = (0..SCID_ATTEMPTS)
            .map(|_| view.new_intercept_scid())
            .find(|scid| !self.book.scid_taken(*scid))
        else {
            tracing::error!(
                %client,
                attempts = SCID_ATTEMPTS,
                "LSPS2: no intercept SCID free of the ones sold; refusing the buy"
            );
            return refuse(BuyRefusal::NoFreeScid);
        };
        let user_channel_id = view.new_user_channel_id();
        let purchase = Purchase {
            intercept_scid,
            min_fee_msat: params.min_fee_msat,
            proportional_ppm: params.proportional,
            valid_until: params.valid_until.to_rfc3339(),
            payment_size_msat,
        };
        let order = bought(
            user_channel_id,
            &client.to_string(),
            purchase,
            view.unix_ms(),
        );
        vec![
            self.save(user_channel_id, order),
            Action::Sell {
                client,
                request_id,
                intercept_scid,
                cltv_expiry_delta: view.cltv_expiry_delta(),
                client_trusts_lsp: self.config.client_trusts_lsp,
                user_channel_id,
            },
        ]
    }
}
