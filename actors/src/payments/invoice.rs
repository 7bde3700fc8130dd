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
            what: "invoice",
            theirs: invoice.network().to_string(),
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

#[cfg(test)]
mod props {
    //! Property tests: any text, and any one-character change of a valid invoice, is
    //! either accepted as that invoice or refused with a client error; never a panic.

    use bitcoin::hashes::{sha256, Hash};
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};
    use proptest::prelude::*;

    use super::*;

    /// A valid regtest invoice of `amount_msat` (if any), signed by a fixed key.
    fn invoice(amount_msat: Option<u64>) -> String {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&[0x11; 32]).expect("a key");
        let builder = InvoiceBuilder::new(Currency::Regtest)
            .description("proptest".into())
            .payment_hash(sha256::Hash::hash(b"preimage"))
            .payment_secret(PaymentSecret([0x22; 32]))
            .duration_since_epoch(clock::since_epoch())
            .min_final_cltv_expiry_delta(40);
        let signed = match amount_msat {
            Some(amount) => builder
                .amount_milli_satoshis(amount)
                .build_signed(|hash| secp.sign_ecdsa_recoverable(hash, &key)),
            None => builder.build_signed(|hash| secp.sign_ecdsa_recoverable(hash, &key)),
        };
        signed.expect("a valid invoice").to_string()
    }

    /// Whether `error` is one a client caused (a 4xx), as every refusal must be.
    fn is_client_error(error: &NodeError) -> bool {
        matches!(
            error,
            NodeError::InvalidRequest(_)
                | NodeError::WrongNetwork { .. }
                | NodeError::InvoiceExpired
                | NodeError::AmountRequired
        )
    }

    #[test]
    fn the_valid_invoices_pass() {
        let with = check_invoice(&invoice(Some(5_000)), Network::Regtest, None).expect("valid");
        assert_eq!((with.amount_msat, with.explicit_amount_msat), (5_000, None));
        let without = check_invoice(&invoice(None), Network::Regtest, Some(7)).expect("valid");
        assert_eq!(
            (without.amount_msat, without.explicit_amount_msat),
            (7, Some(7))
        );
    }

    proptest! {
        #[test]
        fn any_text_is_refused_cleanly(text in any::<String>(), amount in any::<Option<u64>>()) {
            if let Err(e) = check_invoice(&text, Network::Regtest, amount) {
                prop_assert!(is_client_error(&e), "{e}");
            }
        }

        #[test]
        fn any_change_to_an_invoice_is_refused_cleanly(
            with_amount in any::<bool>(),
            at in any::<prop::sample::Index>(),
            with in any::<char>(),
            amount in any::<Option<u64>>(),
            network in prop::sample::select(vec![Network::Regtest, Network::Bitcoin, Network::Testnet]),
        ) {
            let valid = invoice(with_amount.then_some(1_000));
            let mut chars: Vec<char> = valid.chars().collect();
            let i = at.index(chars.len());
            chars[i] = with;
            let changed: String = chars.into_iter().collect();
            if let Err(e) = check_invoice(&changed, network, amount) {
                prop_assert!(is_client_error(&e), "{e}");
            }
        }
    }
}
