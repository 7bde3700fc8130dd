//! The endpoints, one module per group, and the router that mounts them.

pub(crate) mod budgets;
pub(crate) mod channels;
pub(crate) mod credit;
pub(crate) mod health;
pub(crate) mod invoices;
pub(crate) mod liquidity;
pub(crate) mod lsps2;
pub(crate) mod metrics;
pub(crate) mod node_info;
pub(crate) mod nostr;
pub(crate) mod openapi;
pub(crate) mod payments;
pub(crate) mod peers;
pub(crate) mod pool_snapshots;
pub(crate) mod pool_withdrawals;
pub(crate) mod pools;
pub(crate) mod rebalancer;
pub(crate) mod receipts;
pub(crate) mod stats;
pub(crate) mod wallet;

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;

use crate::auth::{self, Access, Authenticator, Guard};
use crate::backend::NodeBackend;
use crate::paths;
use crate::rate_limit::{self, MoneyLimit};
use crate::MetricsRenderer;

/// What every handler can reach.
pub(crate) struct AppState<B> {
    /// The node.
    pub backend: Arc<B>,
    /// Renders the Prometheus text for `/metrics`.
    pub metrics: MetricsRenderer,
    /// The API's request timeout (a synchronous pay answers before it).
    pub request_timeout: std::time::Duration,
}

impl<B> Clone for AppState<B> {
    fn clone(&self) -> Self {
        AppState {
            backend: Arc::clone(&self.backend),
            metrics: Arc::clone(&self.metrics),
            request_timeout: self.request_timeout,
        }
    }
}

/// `route` behind an auth check of `access`. The check wraps only the methods `route`
/// serves, so a wrong method still answers 405 rather than 401.
fn guarded<B: NodeBackend>(
    auth: &Arc<Authenticator>,
    access: Access,
    route: MethodRouter<AppState<B>>,
) -> MethodRouter<AppState<B>> {
    route.route_layer(from_fn_with_state(
        Guard::new(Arc::clone(auth), access),
        auth::require,
    ))
}

/// `route` behind an auth check of `access` and, inside it, the money routes' per-token
/// rate limit: [`guarded`] for the routes that move money or create invoices.
fn limited<B: NodeBackend>(
    auth: &Arc<Authenticator>,
    money: &MoneyLimit,
    access: Access,
    route: MethodRouter<AppState<B>>,
) -> MethodRouter<AppState<B>> {
    let route = route.route_layer(from_fn_with_state(money.clone(), rate_limit::limit));
    guarded(auth, access, route)
}

/// The node administration routes under `prefix` (`/v1` or `/internal/v1`). The money
/// routes share `money`'s buckets under both prefixes.
pub(crate) fn node_routes<B: NodeBackend>(
    auth: &Arc<Authenticator>,
    money: &MoneyLimit,
    prefix: &str,
) -> Router<AppState<B>> {
    let at = |path: &str| format!("{prefix}{}", path.strip_prefix(paths::V1).unwrap_or(path));
    Router::new()
        .route(
            &at(paths::NODE_INFO),
            guarded(auth, Access::Read, get(node_info::get_info::<B>)),
        )
        .route(
            &at(paths::PEERS),
            guarded(auth, Access::Read, get(peers::list_peers::<B>)),
        )
        .route(
            &at(paths::PEERS),
            guarded(auth, Access::Admin, post(peers::connect_peer::<B>)),
        )
        .route(
            &at(paths::PEER),
            guarded(auth, Access::Admin, delete(peers::disconnect_peer::<B>)),
        )
        .route(
            &at(paths::CHANNELS),
            guarded(auth, Access::Read, get(channels::list_channels::<B>)),
        )
        .route(
            &at(paths::CHANNELS),
            guarded(auth, Access::Admin, post(channels::open_channel::<B>)),
        )
        .route(
            &at(paths::CHANNEL_CLOSE),
            guarded(auth, Access::Admin, post(channels::close_channel::<B>)),
        )
        .route(
            &at(paths::INVOICES),
            limited(
                auth,
                money,
                Access::Pay,
                post(invoices::create_invoice::<B>),
            ),
        )
        .route(
            &at(paths::PAYMENTS),
            guarded(auth, Access::ReadOrPay, get(payments::list_payments::<B>)).merge(limited(
                auth,
                money,
                Access::Pay,
                post(payments::pay_invoice::<B>),
            )),
        )
        .route(
            &at(paths::PAYMENT),
            guarded(auth, Access::ReadOrPay, get(payments::get_payment::<B>)),
        )
        .route(
            &at(paths::KEYSEND),
            limited(auth, money, Access::Pay, post(payments::keysend::<B>)),
        )
        .route(
            &at(paths::QUOTE_PAY),
            limited(auth, money, Access::Pay, post(liquidity::quote_pay::<B>)),
        )
        .route(
            &at(paths::PAY),
            limited(auth, money, Access::Pay, post(liquidity::pay::<B>)),
        )
        .route(
            &at(paths::QUOTE_PAYMENT),
            guarded(auth, Access::ReadOrPay, get(liquidity::get_pay::<B>)),
        )
        .route(
            &at(paths::RECEIPT),
            guarded(auth, Access::ReadOrPay, get(receipts::get_receipt::<B>)),
        )
        .route(
            &at(paths::WALLET_ADDRESS),
            guarded(auth, Access::Admin, post(wallet::new_address::<B>)),
        )
        .route(
            &at(paths::WALLET_BALANCE),
            guarded(auth, Access::Read, get(wallet::balance::<B>)),
        )
        .route(
            &at(paths::POOLS),
            guarded(auth, Access::Admin, post(pools::create_pool::<B>)),
        )
        .route(
            &at(paths::POOL_STATUS),
            guarded(auth, Access::ReadOrLp, get(pools::pool_status::<B>)),
        )
        .route(
            &at(paths::POOL_DEPOSIT_QUOTE),
            limited(auth, money, Access::Lp, post(pools::deposit_quote::<B>)),
        )
        .route(
            &at(paths::POOL_DEPOSIT),
            guarded(auth, Access::Lp, get(pools::get_deposit::<B>)),
        )
        .route(
            &at(paths::POOL_POSITION),
            guarded(auth, Access::Lp, get(pools::position::<B>)),
        )
        .route(
            &at(paths::POOL_SNAPSHOTS),
            guarded(
                auth,
                Access::Admin,
                post(pool_snapshots::take_snapshot::<B>),
            ),
        )
        .route(
            &at(paths::POOL_SNAPSHOT),
            guarded(
                auth,
                Access::ReadOrLp,
                get(pool_snapshots::get_snapshot::<B>),
            ),
        )
        .route(
            &at(paths::POOL_SNAPSHOT_PROOF),
            guarded(auth, Access::Lp, get(pool_snapshots::inclusion_proof::<B>)),
        )
        .route(
            &at(paths::POOL_WITHDRAW_REQUEST),
            limited(
                auth,
                money,
                Access::Lp,
                post(pool_withdrawals::withdraw_request::<B>),
            ),
        )
        .route(
            &at(paths::POOL_WITHDRAWAL),
            guarded(auth, Access::Lp, get(pool_withdrawals::get_withdrawal::<B>)),
        )
        .route(
            &at(paths::POOL_WITHDRAWAL_CANCEL),
            limited(
                auth,
                money,
                Access::Lp,
                post(pool_withdrawals::cancel_withdrawal::<B>),
            ),
        )
        .route(
            &at(paths::POOL_WITHDRAWAL_APPROVE),
            guarded(
                auth,
                Access::Admin,
                post(pool_withdrawals::approve_withdrawal::<B>),
            ),
        )
        .route(
            &at(paths::POOL_WITHDRAWALS_HALT),
            guarded(
                auth,
                Access::Admin,
                post(pool_withdrawals::halt_withdrawals::<B>),
            ),
        )
        .route(
            &at(paths::CREDIT_INTENT),
            limited(auth, money, Access::Pay, post(credit::credit_intent::<B>)),
        )
        .route(
            &at(paths::CREDIT_OFFER),
            limited(auth, money, Access::Pay, post(credit::credit_offer::<B>)),
        )
        .route(
            &at(paths::CREDIT_ENVELOPE),
            limited(auth, money, Access::Pay, post(credit::credit_envelope::<B>)),
        )
        .route(
            &at(paths::CREDIT_SETTLE),
            limited(auth, money, Access::Pay, post(credit::credit_settle::<B>)),
        )
        .route(
            &at(paths::CREDIT_REPAYMENT),
            limited(
                auth,
                money,
                Access::Pay,
                post(credit::credit_repayment::<B>),
            ),
        )
        .route(
            &at(paths::CREDIT_ENVELOPE_VIEW),
            guarded(
                auth,
                Access::ReadOrPay,
                get(credit::get_credit_envelope::<B>),
            ),
        )
        .route(
            &at(paths::CREDIT_AGENT_EXPOSURE),
            guarded(auth, Access::ReadOrPay, get(credit::credit_exposure::<B>)),
        )
        .route(
            &at(paths::CREDIT_HEALTH),
            guarded(auth, Access::ReadOrPay, get(credit::credit_health::<B>)),
        )
        .route(
            &at(paths::NOSTR_STATUS),
            guarded(auth, Access::ReadOrPay, get(nostr::nostr_status::<B>)),
        )
        .route(
            &at(paths::REBALANCER),
            guarded(auth, Access::Read, get(rebalancer::status::<B>)),
        )
        .route(
            &at(paths::REBALANCER_HALT),
            guarded(auth, Access::Admin, post(rebalancer::halt::<B>)),
        )
        .route(
            &at(paths::REBALANCER_RESUME),
            guarded(auth, Access::Admin, post(rebalancer::resume::<B>)),
        )
        .route(
            &at(paths::REBALANCER_CHANNEL),
            guarded(auth, Access::Admin, put(rebalancer::set_channel::<B>)),
        )
        .route(
            &at(paths::BUDGET),
            guarded(auth, Access::ReadOrPay, get(budgets::own_budget::<B>)),
        )
        .route(
            &at(paths::BUDGETS),
            guarded(auth, Access::Admin, get(budgets::all_budgets::<B>)),
        )
        .route(
            &at(paths::LSPS2_MENU),
            guarded(auth, Access::Admin, get(lsps2::menu::<B>)),
        )
        .route(
            &at(paths::LSPS2_ORDERS),
            guarded(auth, Access::Read, get(lsps2::orders::<B>)),
        )
        .route(
            &at(paths::LSPS2_SUMMARY),
            guarded(auth, Access::Read, get(lsps2::summary::<B>)),
        )
}

/// The unversioned routes: health, metrics, the OpenAPI document, the public stats.
pub(crate) fn service_routes<B: NodeBackend>(auth: &Arc<Authenticator>) -> Router<AppState<B>> {
    Router::new()
        .route(paths::HEALTHZ, get(health::healthz::<B>))
        .route(paths::OPENAPI, get(openapi::openapi_json))
        .route(paths::STATS, get(stats::stats::<B>))
        .route(
            paths::METRICS,
            guarded(auth, Access::Read, get(metrics::metrics::<B>)),
        )
}
