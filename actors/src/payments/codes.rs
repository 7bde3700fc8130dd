//! The stable failure codes of outgoing payments, and what each means.

use lightning::events::PaymentFailureReason;
use lightning::ln::channelmanager::{Bolt11PaymentError, RetryableSendFailure};

/// A payment recorded before a crash that LDK never stored: nothing was sent.
pub const INTERRUPTED: &str = "interrupted_before_sending";

/// The code of an LDK payment failure reason (`PaymentFailed`).
pub fn failure_code(reason: Option<PaymentFailureReason>) -> &'static str {
    match reason {
        Some(PaymentFailureReason::RecipientRejected) => "recipient_rejected",
        Some(PaymentFailureReason::UserAbandoned) => "abandoned",
        Some(PaymentFailureReason::RetriesExhausted) => "retries_exhausted",
        Some(PaymentFailureReason::PaymentExpired) => "payment_expired",
        Some(PaymentFailureReason::RouteNotFound) => "route_not_found",
        Some(PaymentFailureReason::UnexpectedError) => "unexpected_error",
        Some(PaymentFailureReason::UnknownRequiredFeatures) => "unknown_required_features",
        Some(PaymentFailureReason::InvoiceRequestExpired) => "invoice_request_expired",
        Some(PaymentFailureReason::InvoiceRequestRejected) => "invoice_request_rejected",
        Some(PaymentFailureReason::BlindedPathCreationFailed) => "blinded_path_creation_failed",
        None => "unknown",
    }
}

/// The code of a payment LDK refused to start.
pub fn send_failure_code(error: &RetryableSendFailure) -> &'static str {
    match error {
        RetryableSendFailure::PaymentExpired => "payment_expired",
        RetryableSendFailure::RouteNotFound => "route_not_found",
        RetryableSendFailure::DuplicatePayment => "duplicate_payment",
        RetryableSendFailure::OnionPacketSizeExceeded => "onion_too_large",
    }
}

/// The code of an invoice payment LDK refused to start.
pub fn bolt11_failure_code(error: &Bolt11PaymentError) -> &'static str {
    match error {
        Bolt11PaymentError::InvalidAmount => "invalid_amount",
        Bolt11PaymentError::SendingFailed(failure) => send_failure_code(failure),
    }
}

/// What a failure code means, for people.
pub fn failure_message(code: &str) -> &'static str {
    match code {
        "recipient_rejected" => "the payee rejected the payment",
        "abandoned" => "the payment was abandoned",
        "retries_exhausted" => "every route tried failed, and the retry budget ran out",
        "payment_expired" => "the invoice expired before the payment could complete",
        "route_not_found" => "no route to the payee was found",
        "unexpected_error" => "the payment failed unexpectedly",
        "unknown_required_features" => "the payee requires features this node lacks",
        "duplicate_payment" => "a payment with this id is still known to the node",
        "onion_too_large" => "the route's onion does not fit (too many hints or hops)",
        "invalid_amount" => "the amount does not suit the invoice",
        INTERRUPTED => "the node stopped before the payment left it; nothing was sent",
        _ => "the payment failed",
    }
}
