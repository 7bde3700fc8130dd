//! The error type of the node's actors and LDK wiring.

use sluice_storage::StoreError;

/// Why a node operation failed. The API crate maps every variant to a stable error
/// code in one place; the variants say what went wrong, not how to show it.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The request is malformed or inconsistent (bad public key, zero amount, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The named object (channel, payment, peer) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The operation needs a connected peer and the peer is not connected.
    #[error("peer {0} is not connected")]
    PeerNotConnected(String),
    /// Connecting to a peer failed (unreachable, refused, handshake failed).
    #[error("could not connect to the peer: {0}")]
    PeerUnreachable(String),
    /// Not enough on-chain funds for a channel open or payout.
    #[error("insufficient funds: {needed_sat} sat needed, {available_sat} sat available")]
    InsufficientFunds {
        /// What the operation needs.
        needed_sat: u64,
        /// What the wallet can spend.
        available_sat: u64,
    },
    /// LDK refused a channel operation (its `APIError`, as text).
    #[error("channel operation refused: {0}")]
    ChannelRefused(String),
    /// An invoice could not be created or parsed.
    #[error("invoice: {0}")]
    Invoice(String),
    /// No route reaches the payee (with the channels usable now and the operator's
    /// exclusions).
    #[error("no route: {0}")]
    RouteNotFound(String),
    /// Routes exist, but every one costs more in fees than the caller allows.
    #[error("no route within the fee limit: {0}")]
    FeeLimitExceeded(String),
    /// The invoice expired (or will have by the time it could be paid).
    #[error("the invoice expired")]
    InvoiceExpired,
    /// An invoice or address is for another Bitcoin network than the node's.
    #[error("the {what} is for {theirs}, this node runs on {node}")]
    WrongNetwork {
        /// What was given: "invoice", "address".
        what: &'static str,
        /// Its network.
        theirs: String,
        /// The node's network.
        node: String,
    },
    /// The invoice has no amount and the request gave none.
    #[error("the invoice has no amount: give one")]
    AmountRequired,
    /// The amount to pay is more than the caller's ceiling.
    #[error("the amount {amount_msat} msat is above the maximum of {max_msat} msat")]
    AmountAboveMaximum {
        /// What the invoice (or request) asks.
        amount_msat: u64,
        /// The caller's ceiling.
        max_msat: u64,
    },
    /// A pool with that id exists with other settings, or the node runs another pool.
    #[error("pool exists: {0}")]
    PoolExists(String),
    /// The caller may not act for what it named (another token's LP id).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// An LP asked to withdraw more shares than it holds free (not locked by another
    /// withdrawal).
    #[error("{asked} share units asked for, {free} held and not locked")]
    NotEnoughShares {
        /// Units asked for.
        asked: u128,
        /// Units held and free.
        free: u128,
    },
    /// The withdrawal cannot change that way any more (canceling one already paid from,
    /// approving one that needs no approval).
    #[error("withdrawal: {0}")]
    WithdrawalState(String),
    /// The credit offer cannot be taken up that way (another provider took it up).
    #[error("offer: {0}")]
    OfferState(String),
    /// The credit offer is past its expiry.
    #[error("offer {0} has expired")]
    OfferExpired(String),
    /// Underwriting allows the agent no credit, or less than asked, now.
    #[error("no credit: {0}")]
    NoCredit(String),
    /// The agent has as many live envelopes as it may.
    #[error("the agent has {open} live envelopes, the most allowed is {max}")]
    TooManyEnvelopes {
        /// Live now.
        open: u32,
        /// The most allowed.
        max: u32,
    },
    /// The CEP partition cannot cover the envelope beside what it has committed already.
    #[error(
        "the credit partition has {free_msat} msat uncommitted, the envelope needs {asked_msat}"
    )]
    CreditCommitted {
        /// The envelope's cap.
        asked_msat: u64,
        /// What the partition holds and has not committed.
        free_msat: u64,
    },
    /// A circuit breaker holds credit back (spec §6.3).
    #[error("credit halted: {0}")]
    CreditHalted(String),
    /// The provider's invoice is not payable to the envelope's provider.
    #[error("wrong provider: {0}")]
    WrongProvider(String),
    /// The provider's invoice asks more than the envelope's cap.
    #[error("the invoice asks {amount_msat} msat, the envelope's cap is {cap_msat} msat")]
    OverEnvelopeCap {
        /// The invoice's amount.
        amount_msat: u64,
        /// The envelope's cap.
        cap_msat: u64,
    },
    /// The envelope was settled (or is being settled) by another request.
    #[error("envelope: {0}")]
    EnvelopeSettled(String),
    /// The provider's invoice is the settlement of another envelope.
    #[error("the invoice settles envelope {0} already")]
    InvoiceReserved(String),
    /// A spend authorization (mode 2) does not verify against the agent's key.
    #[error("spend authorization: {0}")]
    AuthorizationInvalid(String),
    /// A spend authorization (mode 2) was used by another settlement already.
    #[error("the spend authorization was used by settlement {0}")]
    AuthorizationReplayed(String),
    /// The envelope owes nothing to repay.
    #[error("nothing owed: {0}")]
    NothingOwed(String),
    /// The provider's payment failed for good; the envelope is open again (until its
    /// expiry) for another invoice. The stable code of the payment's failure.
    #[error("the provider's payment failed: {0}")]
    SettlementFailed(String),
    /// The pool's books refused a change that should have been valid: the ledger and the
    /// records disagree. Nothing was stored.
    #[error("the pool ledger refused a change: {0}")]
    Ledger(String),
    /// The invoice was paid already; paying it again would pay twice.
    #[error("already paid: {0}")]
    AlreadyPaid(String),
    /// A payment of this invoice is in flight; its outcome decides what happens next.
    #[error("a payment is in flight: {0}")]
    PaymentInProgress(String),
    /// The quote is past its `valid_until` and was never paid.
    #[error("quote {0} expired")]
    QuoteExpired(String),
    /// An idempotency key was reused for a different request.
    #[error("idempotency key reused with a different request: {0}")]
    IdempotencyConflict(String),
    /// A request with this idempotency key has not finished (it is running, or a crash
    /// cut it short); its effect, if any, is not known yet.
    #[error("a request with this idempotency key has not finished: {0}")]
    RequestInProgress(String),
    /// The token's spend budget refuses the payment.
    #[error("{0}")]
    Budget(crate::budgets::Refusal),
    /// Sealing a receipt failed.
    #[error("receipt: {0}")]
    Receipt(String),
    /// Building or storing a Nostr event of the mirror failed.
    #[error("nostr: {0}")]
    Nostr(String),
    /// The on-chain wallet failed.
    #[error("wallet: {0}")]
    Wallet(String),
    /// The chain backend (bitcoind RPC or the embedded chain) failed or is unreachable.
    #[error("chain backend: {0}")]
    Chain(String),
    /// The store failed; fatal for the node.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node is at capacity for this kind of work (a full queue); retry shortly.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// An actor did not answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The feature is not enabled in this node's configuration.
    #[error("{0} is not enabled on this node")]
    NotEnabled(&'static str),
    /// The node is starting or shutting down and cannot serve the request.
    #[error("the node is not running")]
    NotRunning,
}
