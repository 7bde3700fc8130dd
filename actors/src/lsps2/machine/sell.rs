//! Selling: the fee menu a client is offered, and buying an intercept SCID, recorded
//! before the client learns it.

use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning_liquidity::lsps0::ser::LSPSRequestId;
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;

use super::{refused, Action, Lsps2Machine, NodeView};
use crate::lsps2::menu::{menu_for, MenuAnswer};
use crate::lsps2::order::{bought, Purchase};

/// How many intercept SCIDs LDK is asked for before the service gives up on a buy. LDK
/// draws them at random from a space that is small where the chain is short (2,500 on a
/// young regtest chain) and does not remember the ones it gave; lightning-liquidity
/// refuses to load state in which two orders share one.
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
        let options = match self.may_buy(view, &client) {
            Ok(()) => options,
            Err(reason) => {
                refused(reason);
                tracing::info!(%client, reason, "LSPS2: offering an empty menu");
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

    /// Whether `client` may buy now: admitted, under its pending-buy limit, and the service
    /// not at its open limits.
    fn may_buy(&self, view: &dyn NodeView, client: &PublicKey) -> Result<(), &'static str> {
        if !self.config.admits(client) {
            return Err("not_admitted");
        }
        let now_secs = view.unix_ms() / 1000;
        if self.book.pending_buys(&client.to_string(), now_secs)
            >= self.config.max_pending_buys_per_peer
        {
            return Err("pending_buys");
        }
        let now = self.book.commitments(&Self::open_sat(view), None);
        if now.opening >= self.config.max_pending_opens {
            return Err("too_many_opens");
        }
        if now.committed_sat >= self.config.max_committed_sat {
            return Err("over_committed");
        }
        Ok(())
    }

    /// `lsps2.buy`: issues an intercept SCID, recorded before the client learns it. A
    /// client that may not buy gets no answer: lightning-liquidity has no refusal for a
    /// valid buy; it bounds unanswered requests per peer and the client times out.
    pub fn buy(
        &mut self,
        view: &dyn NodeView,
        request_id: LSPSRequestId,
        client: PublicKey,
        params: LSPS2OpeningFeeParams,
        payment_size_msat: Option<u64>,
    ) -> Vec<Action> {
        metrics::counter!("sluice_lsps2_requests_total", "method" => "buy").increment(1);
        if let Err(reason) = self.may_buy(view, &client) {
            refused(reason);
            tracing::info!(%client, reason, "LSPS2: not selling");
            return Vec::new();
        }
        let Some(intercept_scid) = (0..SCID_ATTEMPTS)
            .map(|_| view.new_intercept_scid())
            .find(|scid| !self.book.scid_taken(*scid))
        else {
            refused("no_free_scid");
            tracing::error!(%client, "LSPS2: no intercept SCID free of the ones sold; not selling");
            return Vec::new();
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
