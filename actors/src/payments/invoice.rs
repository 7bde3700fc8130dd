//! Checks an invoice before anything is quoted or sent: it parses, it is for this
//! network, it has not expired, and the amount to pay is known.

use std::str::FromStr;

use bitcoin::Network;
use lightning_invoice::Bolt11Invoice;

use crate::clock;
use crate::NodeError;

/// An invoice that may be paid, and how much to pay.
#[derive(Debug, Clone)]
pub struct CheckedInvoice {
    /// The parsed invoice.
    pub invoice: Bolt11Invoice,
    /// What the payee gets.
    pub amount_msat: u64,
    /// The amount to hand LDK for an invoice without one (`None` when it has one).
    pub explicit_amount_msat: Option<u64>,
}

/// Parses `text` and checks it against `network` and the clock. `amount_msat` is the
/// caller's amount: required for an invoice without one, refused for an invoice with
/// one unless it is the same amount.
pub fn check_invoice(
    text: &str,
    network: Network,
    amount_msat: Option<u64>,
) -> Result<CheckedInvoice, NodeError> {
    let invoice = Bolt11Invoice::from_str(text.trim())
        .map_err(|e| NodeError::InvalidRequest(format!("invoice: {e}")))?;
    if invoice.network() != network {
        return Err(NodeError::WrongNetwork {
            invoice: invoice.network().to_string(),
            node: network.to_string(),
        });
    }
    if invoice.would_expire(clock::since_epoch()) {
        return Err(NodeError::InvoiceExpired);
    }
    let (amount_msat, explicit_amount_msat) = match (invoice.amount_milli_satoshis(), amount_msat) {
        (Some(amount), None) => (amount, None),
        (Some(amount), Some(given)) if given == amount => (amount, None),
        (Some(amount), Some(given)) => {
            return Err(NodeError::InvalidRequest(format!(
                "amount: the invoice asks {amount} msat, the request says {given} msat"
            )))
        }
        (None, Some(given)) => (given, Some(given)),
        (None, None) => return Err(NodeError::AmountRequired),
    };
    if amount_msat == 0 {
        return Err(NodeError::InvalidRequest(
            "amount: must be more than 0 msat".into(),
        ));
    }
    Ok(CheckedInvoice {
        invoice,
        amount_msat,
        explicit_amount_msat,
    })
}
