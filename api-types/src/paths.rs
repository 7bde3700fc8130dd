//! The API's paths, for the router, the OpenAPI document and clients.
//!
//! Every path under [`V1`] is also served under [`INTERNAL_V1`] (ARCHITECTURE.md §8); use
//! [`internal`] to get the mirrored path. Paths with `{…}` segments are templates.

/// The prefix of the public versioned API.
pub const V1: &str = "/v1";
/// The prefix under which every [`V1`] route is mirrored.
pub const INTERNAL_V1: &str = "/internal/v1";

/// `GET`: liveness and readiness, no auth.
pub const HEALTHZ: &str = "/healthz";
/// `GET`: Prometheus metrics, scope `read`.
pub const METRICS: &str = "/metrics";
/// `GET`: the node's public figures, JSON or (`Accept: text/html`) a page.
pub const STATS: &str = "/stats";
/// `GET`: the OpenAPI document, no auth.
pub const OPENAPI: &str = "/openapi.json";

/// `GET`: node info.
pub const NODE_INFO: &str = "/v1/node/info";
/// `GET`: list peers; `POST`: connect a peer.
pub const PEERS: &str = "/v1/node/peers";
/// `DELETE`: disconnect a peer.
pub const PEER: &str = "/v1/node/peers/{node_id}";
/// `GET`: list channels; `POST`: open a channel.
pub const CHANNELS: &str = "/v1/node/channels";
/// `POST`: close a channel.
pub const CHANNEL_CLOSE: &str = "/v1/node/channels/{channel_id}/close";
/// `POST`: create a BOLT11 invoice.
pub const INVOICES: &str = "/v1/node/invoices";
/// `GET`: list payments; `POST`: pay an invoice.
pub const PAYMENTS: &str = "/v1/node/payments";
/// `GET`: one payment.
pub const PAYMENT: &str = "/v1/node/payments/{payment_id}";
/// `POST`: a keysend payment.
pub const KEYSEND: &str = "/v1/node/payments/keysend";
/// `POST`: quote an invoice (TreasuryRouter).
pub const QUOTE_PAY: &str = "/v1/liquidity/quote_pay";
/// `POST`: pay a quote (TreasuryRouter).
pub const PAY: &str = "/v1/liquidity/pay";
/// `GET`: a quote's payment.
pub const QUOTE_PAYMENT: &str = "/v1/liquidity/pay/{quote_id}";
/// `GET`: a signed receipt.
pub const RECEIPT: &str = "/v1/receipts/{receipt_id}";
/// `POST`: a fresh on-chain address.
pub const WALLET_ADDRESS: &str = "/v1/node/wallet/address";
/// `GET`: the on-chain balance.
pub const WALLET_BALANCE: &str = "/v1/node/wallet/balance";
/// `GET`: the calling token's spend budget.
pub const BUDGET: &str = "/v1/node/budget";
/// `GET`: every token's spend budget (admin).
pub const BUDGETS: &str = "/v1/node/budgets";
/// `GET`: the LSPS2 service's fee menus and limits.
pub const LSPS2_MENU: &str = "/v1/lsps2/menu";
/// `GET`: the LSPS2 service's JIT channel orders, newest first, a page at a time (`limit`,
/// `cursor`).
pub const LSPS2_ORDERS: &str = "/v1/lsps2/orders";
/// `GET`: totals over the LSPS2 orders, revenue included.
pub const LSPS2_SUMMARY: &str = "/v1/lsps2/summary";
/// `POST`: create the node's liquidity pool (admin).
pub const POOLS: &str = "/v1/pools";
/// `GET`: a pool's status.
pub const POOL_STATUS: &str = "/v1/pools/{pool_id}/status";
/// `POST`: quote a deposit into a pool.
pub const POOL_DEPOSIT_QUOTE: &str = "/v1/pools/{pool_id}/deposit_quote";
/// `GET`: one deposit.
pub const POOL_DEPOSIT: &str = "/v1/pools/{pool_id}/deposits/{deposit_id}";
/// `GET`: an LP's position.
pub const POOL_POSITION: &str = "/v1/pools/{pool_id}/lps/{lp_id}";
/// `POST`: take a proof snapshot now (admin).
pub const POOL_SNAPSHOTS: &str = "/v1/pools/{pool_id}/snapshots";
/// `GET`: one proof snapshot, by number or `latest`.
pub const POOL_SNAPSHOT: &str = "/v1/pools/{pool_id}/snapshots/{seq}";
/// `GET`: an LP's inclusion proofs in a snapshot.
pub const POOL_SNAPSHOT_PROOF: &str = "/v1/pools/{pool_id}/snapshots/{seq}/proofs/{lp_id}";
/// `POST`: ask for a withdrawal from a pool.
pub const POOL_WITHDRAW_REQUEST: &str = "/v1/pools/{pool_id}/withdraw_request";
/// `GET`: one withdrawal.
pub const POOL_WITHDRAWAL: &str = "/v1/pools/{pool_id}/withdrawals/{withdrawal_id}";
/// `POST`: cancel a withdrawal nothing was paid from yet.
pub const POOL_WITHDRAWAL_CANCEL: &str = "/v1/pools/{pool_id}/withdrawals/{withdrawal_id}/cancel";
/// `POST`: approve a withdrawal that waits for an operator (admin).
pub const POOL_WITHDRAWAL_APPROVE: &str = "/v1/pools/{pool_id}/withdrawals/{withdrawal_id}/approve";
/// `POST`: halt or resume a pool's withdrawal payouts (admin). Its static last segment
/// wins over [`POOL_WITHDRAWAL`]'s `{withdrawal_id}` (withdrawal ids are never `halt`).
pub const POOL_WITHDRAWALS_HALT: &str = "/v1/pools/{pool_id}/withdrawals/halt";
/// `POST`: file an agent's credit intent.
pub const CREDIT_INTENT: &str = "/v1/credit/intent";
/// `POST`: ask for a credit offer.
pub const CREDIT_OFFER: &str = "/v1/credit/offer";
/// `POST`: issue a credit envelope from an offer.
pub const CREDIT_ENVELOPE: &str = "/v1/credit/envelope";
/// `POST`: settle a credit envelope: pay its provider, or record its default.
pub const CREDIT_SETTLE: &str = "/v1/credit/settle";
/// `GET`: one credit envelope.
pub const CREDIT_ENVELOPE_VIEW: &str = "/v1/credit/envelopes/{envelope_id}";
/// `POST`: an invoice for what a credit envelope owes now; paying it repays the envelope.
pub const CREDIT_REPAYMENT: &str = "/v1/credit/envelopes/{envelope_id}/repayment";
/// `GET`: an agent's credit exposure and terms now.
pub const CREDIT_AGENT_EXPOSURE: &str = "/v1/credit/agents/{agent_id}/exposure";
/// `GET`: the credit health: commitments, breakers, the policy in force.
pub const CREDIT_HEALTH: &str = "/v1/credit/health";
/// `GET`: the Nostr mirror's state: its key, relays and outbox.
pub const NOSTR_STATUS: &str = "/v1/nostr";
/// `GET`: the rebalancer's state: budget, channels against their bands, plan, recent
/// rebalances.
pub const REBALANCER: &str = "/v1/rebalancer";
/// `POST` (admin): pull the rebalancer's kill switch.
pub const REBALANCER_HALT: &str = "/v1/rebalancer/halt";
/// `POST` (admin): release the rebalancer's kill switch.
pub const REBALANCER_RESUME: &str = "/v1/rebalancer/resume";
/// `PUT` (admin): one channel's rebalancing settings (band, opt-out, commitment).
pub const REBALANCER_CHANNEL: &str = "/v1/rebalancer/channels/{channel_id}";

/// Every `/v1` path (templates included).
pub const ALL_V1: &[&str] = &[
    NODE_INFO,
    PEERS,
    PEER,
    CHANNELS,
    CHANNEL_CLOSE,
    INVOICES,
    PAYMENTS,
    PAYMENT,
    KEYSEND,
    QUOTE_PAY,
    PAY,
    QUOTE_PAYMENT,
    RECEIPT,
    WALLET_ADDRESS,
    WALLET_BALANCE,
    BUDGET,
    BUDGETS,
    LSPS2_MENU,
    LSPS2_ORDERS,
    LSPS2_SUMMARY,
    POOLS,
    POOL_STATUS,
    POOL_DEPOSIT_QUOTE,
    POOL_DEPOSIT,
    POOL_POSITION,
    POOL_SNAPSHOTS,
    POOL_SNAPSHOT,
    POOL_SNAPSHOT_PROOF,
    POOL_WITHDRAW_REQUEST,
    POOL_WITHDRAWAL,
    POOL_WITHDRAWAL_CANCEL,
    POOL_WITHDRAWAL_APPROVE,
    POOL_WITHDRAWALS_HALT,
    CREDIT_INTENT,
    CREDIT_OFFER,
    CREDIT_ENVELOPE,
    CREDIT_SETTLE,
    CREDIT_ENVELOPE_VIEW,
    CREDIT_REPAYMENT,
    CREDIT_AGENT_EXPOSURE,
    CREDIT_HEALTH,
    NOSTR_STATUS,
    REBALANCER,
    REBALANCER_HALT,
    REBALANCER_RESUME,
    REBALANCER_CHANNEL,
];

/// `path` (a `/v1/...` path) under the `/internal/v1` mirror; other paths unchanged.
pub fn internal(path: &str) -> String {
    match path.strip_prefix(V1) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{INTERNAL_V1}{rest}"),
        _ => path.to_owned(),
    }
}

/// `template` with each `{name}` segment replaced by its value from `params`.
pub fn fill(template: &str, params: &[(&str, &str)]) -> String {
    params
        .iter()
        .fold(template.to_owned(), |path, (name, value)| {
            path.replace(&format!("{{{name}}}"), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_mirror() {
        assert_eq!(internal(NODE_INFO), "/internal/v1/node/info");
        assert_eq!(internal(HEALTHZ), HEALTHZ);
        assert_eq!(internal("/v10/x"), "/v10/x");
    }

    #[test]
    fn fill_templates() {
        assert_eq!(
            fill(PAYMENT, &[("payment_id", "ab")]),
            "/v1/node/payments/ab"
        );
    }
}
