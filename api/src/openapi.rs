//! The OpenAPI document (`GET /openapi.json`).
//!
//! Every `/v1/...` path is also served under `/internal/v1/...`; the document lists
//! the `/v1` paths once and says so in its description. Each operation's security
//! requirement names the scopes that grant it (`admin` always does).

use std::sync::OnceLock;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::routes;
use crate::types;

/// The error answers every authenticated endpoint may give, for the document.
#[derive(IntoResponses)]
#[allow(dead_code)] // Only its OpenAPI description is used.
pub(crate) enum ErrorResponses {
    /// `invalid_request`: bad JSON, missing or unknown fields, bad hex, out-of-range values.
    #[response(status = 400)]
    InvalidRequest(types::ErrorResponse),
    /// `unauthenticated`: no bearer token, or an unknown one.
    #[response(status = 401)]
    Unauthenticated(types::ErrorResponse),
    /// `forbidden`: the token lacks the scope this endpoint needs; `budget_exceeded`,
    /// `budget_expired`, `destination_not_allowed`: its spend budget refuses the payment.
    #[response(status = 403)]
    Forbidden(types::ErrorResponse),
    /// `not_found`: no such object; `not_enabled`: the feature behind the route is not
    /// enabled on this node (the LSPS2 service, the rebalancer).
    #[response(status = 404)]
    NotFound(types::ErrorResponse),
    /// `peer_not_connected`, `already_paid`, `payment_in_progress`,
    /// `idempotency_conflict`, `request_in_progress`, `withdrawal_state`, `offer_state`,
    /// `too_many_envelopes`, `envelope_settled`, `invoice_reserved`,
    /// `authorization_replayed`, `nothing_owed`.
    #[response(status = 409)]
    Conflict(types::ErrorResponse),
    /// `quote_expired`: the quote expired unpaid; `offer_expired`: the credit offer
    /// expired before it was taken up.
    #[response(status = 410)]
    Gone(types::ErrorResponse),
    /// `payload_too_large`: the body exceeds the configured limit.
    #[response(status = 413)]
    PayloadTooLarge(types::ErrorResponse),
    /// `insufficient_funds`, `channel_refused`, `invoice_failed`, `insufficient_shares`,
    /// `no_credit`, `credit_committed`, `wrong_provider`, `over_envelope_cap`,
    /// `authorization_invalid`.
    #[response(status = 422)]
    Unprocessable(types::ErrorResponse),
    /// `rate_limited`: the token is over its rate limit on this money route; the
    /// `Retry-After` header gives the seconds to wait.
    #[response(
        status = 429,
        headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
    )]
    RateLimited(types::ErrorResponse),
    /// `internal`, `wallet_error`.
    #[response(status = 500)]
    Internal(types::ErrorResponse),
    /// `peer_unreachable`; `settlement_failed`: the provider's payment failed.
    #[response(status = 502)]
    BadGateway(types::ErrorResponse),
    /// `node_not_running`, `chain_unavailable`, `overloaded`, `credit_halted`.
    #[response(status = 503)]
    Unavailable(types::ErrorResponse),
    /// `timeout`: the request or an actor took too long.
    #[response(status = 504)]
    Timeout(types::ErrorResponse),
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sluice node API",
        description = "Node administration API of a sluice Lightning node. Every `/v1/...` \
            path is also served under `/internal/v1/...`. Authenticate with \
            `Authorization: Bearer <token>`; each operation lists the scopes that grant it \
            (`admin` grants everything). Errors are `{\"error\":{\"code\",\"message\"}}` \
            with stable codes."
    ),
    paths(
        routes::health::healthz,
        routes::metrics::metrics,
        routes::openapi::openapi_json,
        routes::node_info::get_info,
        routes::peers::list_peers,
        routes::peers::connect_peer,
        routes::peers::disconnect_peer,
        routes::channels::list_channels,
        routes::channels::open_channel,
        routes::channels::close_channel,
        routes::invoices::create_invoice,
        routes::payments::pay_invoice,
        routes::payments::list_payments,
        routes::payments::get_payment,
        routes::payments::keysend,
        routes::liquidity::quote_pay,
        routes::liquidity::pay,
        routes::liquidity::get_pay,
        routes::receipts::get_receipt,
        routes::wallet::new_address,
        routes::wallet::balance,
        routes::budgets::own_budget,
        routes::budgets::all_budgets,
        routes::lsps2::menu,
        routes::lsps2::orders,
        routes::lsps2::summary,
        routes::pools::create_pool,
        routes::pools::pool_status,
        routes::pools::deposit_quote,
        routes::pools::get_deposit,
        routes::pools::position,
        routes::pool_snapshots::take_snapshot,
        routes::pool_snapshots::get_snapshot,
        routes::pool_snapshots::inclusion_proof,
        routes::pool_withdrawals::withdraw_request,
        routes::pool_withdrawals::get_withdrawal,
        routes::pool_withdrawals::cancel_withdrawal,
        routes::pool_withdrawals::approve_withdrawal,
        routes::pool_withdrawals::halt_withdrawals,
        routes::credit::credit_intent,
        routes::credit::credit_offer,
        routes::credit::credit_envelope,
        routes::credit::credit_settle,
        routes::credit::credit_repayment,
        routes::credit::get_credit_envelope,
        routes::credit::credit_exposure,
        routes::credit::credit_health,
        routes::nostr::nostr_status,
        routes::rebalancer::status,
        routes::rebalancer::halt,
        routes::rebalancer::resume,
        routes::rebalancer::set_channel,
        routes::stats::stats,
    ),
    components(schemas(types::ErrorResponse, types::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "service", description = "Health, metrics and this document"),
        (name = "node", description = "The node's identity"),
        (name = "peers", description = "Lightning peers"),
        (name = "channels", description = "Channels and their balances"),
        (name = "invoices", description = "BOLT11 invoices"),
        (name = "payments", description = "Payments sent and received"),
        (name = "liquidity", description = "TreasuryRouter: quote an invoice, pay it exactly once"),
        (name = "receipts", description = "Signed receipts"),
        (name = "wallet", description = "The on-chain wallet"),
        (name = "budgets", description = "The API tokens' spend budgets"),
        (name = "lsps2", description = "The LSPS2 JIT channel service: menus, orders, revenue"),
        (name = "pools", description = "The liquidity pool: deposits, withdrawals, shares, NAV, the books, proof snapshots"),
        (name = "credit", description = "Credit envelopes: intents, offers, envelopes, settlements, repayments, exposure, the credit health"),
        (name = "nostr", description = "The Nostr mirror: its key, relays and outbox"),
        (name = "rebalancer", description = "The rebalancer: channels against their bands, its plan, budget and recent rebalances, the kill switch, per-channel settings"),
        (name = "stats", description = "The node's public figures"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document_json() -> Result<&'static str, serde_json::Error> {
    static JSON: OnceLock<String> = OnceLock::new();
    if let Some(json) = JSON.get() {
        return Ok(json);
    }
    let json = serde_json::to_string(&ApiDoc::openapi())?;
    Ok(JSON.get_or_init(|| json))
}
