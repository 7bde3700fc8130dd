//! [`NodeKeys`]: the node's keys (LDK's `KeysManager`), with every signature counted.
//!
//! What a payment costs in signatures depends on how LDK batches HTLCs into commitments:
//! each `commitment_signed` carries one signature for the commitment and one for every
//! HTLC output in it, so under load a payment's HTLC is re-signed in every commitment
//! made while it is pending. The load report needs the real figure, not a model of it,
//! so the signers count what they do:
//! - [`SIGNATURES_MADE`]: every signature the node makes with its channel or node keys
//!   (commitments and their HTLC signatures, invoices, gossip, closing and justice
//!   transactions, ...);
//! - [`SIGNATURES_CHECKED`]: the counterparty's signatures on the node's own commitments
//!   (the commitment's and one per HTLC), which LDK verifies before it hands the
//!   commitment to the signer for validation.
//!
//! Everything else is LDK's `KeysManager` and `InMemorySigner` unchanged.

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{self, schnorr, All, PublicKey, Scalar, Secp256k1, SecretKey};
use bitcoin::{ScriptBuf, Transaction, TxOut, Txid};
use lightning::ln::chan_utils::{
    ChannelPublicKeys, ChannelTransactionParameters, ClosingTransaction, CommitmentTransaction,
    HTLCOutputInCommitment, HolderCommitmentTransaction,
};
use lightning::ln::inbound_payment::ExpandedKey;
use lightning::ln::msgs::{UnsignedChannelAnnouncement, UnsignedGossipMessage};
use lightning::ln::script::ShutdownScript;
use lightning::offers::invoice::UnsignedBolt12Invoice;
use lightning::sign::ecdsa::EcdsaChannelSigner;
use lightning::sign::{
    ChannelSigner, EntropySource, HTLCDescriptor, InMemorySigner, KeysManager, NodeSigner,
    OutputSpender, PeerStorageKey, ReceiveAuthKey, Recipient, SignerProvider,
    SpendableOutputDescriptor,
};
use lightning::types::payment::PaymentPreimage;
use lightning_invoice::RawBolt11Invoice;

/// Counter: signatures the node made.
pub const SIGNATURES_MADE: &str = "sluice_signatures_made_total";
/// Counter: counterparty signatures on the node's own commitments.
pub const SIGNATURES_CHECKED: &str = "sluice_signatures_checked_total";

fn made<T>(signed: Result<T, ()>, count: impl FnOnce(&T) -> usize) -> Result<T, ()> {
    if let Ok(value) = &signed {
        metrics::counter!(SIGNATURES_MADE).increment(count(value) as u64);
    }
    signed
}

fn one<T>(signed: Result<T, ()>) -> Result<T, ()> {
    made(signed, |_| 1)
}

/// The node's keys: LDK's `KeysManager`, handing out [`CountingSigner`]s and counting
/// its own node-key signatures.
pub struct NodeKeys {
    inner: KeysManager,
}

impl NodeKeys {
    /// The keys of `seed`; the start time makes channel key ids unique per run (see
    /// `KeysManager::new`).
    pub fn new(seed: &[u8; 32], starting_time_secs: u64, starting_time_nanos: u32) -> Self {
        NodeKeys {
            inner: KeysManager::new(seed, starting_time_secs, starting_time_nanos, true),
        }
    }
}

impl EntropySource for NodeKeys {
    fn get_secure_random_bytes(&self) -> [u8; 32] {
        self.inner.get_secure_random_bytes()
    }
}

impl NodeSigner for NodeKeys {
    fn get_expanded_key(&self) -> ExpandedKey {
        self.inner.get_expanded_key()
    }

    fn get_peer_storage_key(&self) -> PeerStorageKey {
        self.inner.get_peer_storage_key()
    }

    fn get_receive_auth_key(&self) -> ReceiveAuthKey {
        self.inner.get_receive_auth_key()
    }

    fn get_node_id(&self, recipient: Recipient) -> Result<PublicKey, ()> {
        self.inner.get_node_id(recipient)
    }

    fn ecdh(
        &self,
        recipient: Recipient,
        other_key: &PublicKey,
        tweak: Option<&Scalar>,
    ) -> Result<SharedSecret, ()> {
        self.inner.ecdh(recipient, other_key, tweak)
    }

    fn sign_invoice(
        &self,
        invoice: &RawBolt11Invoice,
        recipient: Recipient,
    ) -> Result<RecoverableSignature, ()> {
        one(self.inner.sign_invoice(invoice, recipient))
    }

    fn sign_bolt12_invoice(
        &self,
        invoice: &UnsignedBolt12Invoice,
    ) -> Result<schnorr::Signature, ()> {
        one(self.inner.sign_bolt12_invoice(invoice))
    }

    fn sign_gossip_message(&self, msg: UnsignedGossipMessage) -> Result<Signature, ()> {
        one(self.inner.sign_gossip_message(msg))
    }

    fn sign_message(&self, msg: &[u8]) -> Result<String, ()> {
        one(self.inner.sign_message(msg))
    }
}

impl SignerProvider for NodeKeys {
    type EcdsaSigner = CountingSigner;

    fn generate_channel_keys_id(&self, inbound: bool, user_channel_id: u128) -> [u8; 32] {
        self.inner
            .generate_channel_keys_id(inbound, user_channel_id)
    }

    fn derive_channel_signer(&self, channel_keys_id: [u8; 32]) -> CountingSigner {
        CountingSigner(self.inner.derive_channel_signer(channel_keys_id))
    }

    fn get_destination_script(&self, channel_keys_id: [u8; 32]) -> Result<ScriptBuf, ()> {
        self.inner.get_destination_script(channel_keys_id)
    }

    fn get_shutdown_scriptpubkey(&self) -> Result<ShutdownScript, ()> {
        self.inner.get_shutdown_scriptpubkey()
    }
}

impl OutputSpender for NodeKeys {
    fn spend_spendable_outputs(
        &self,
        descriptors: &[&SpendableOutputDescriptor],
        outputs: Vec<TxOut>,
        change_destination_script: ScriptBuf,
        feerate_sat_per_1000_weight: u32,
        locktime: Option<LockTime>,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Transaction, ()> {
        // One signature per input spent.
        made(
            self.inner.spend_spendable_outputs(
                descriptors,
                outputs,
                change_destination_script,
                feerate_sat_per_1000_weight,
                locktime,
                secp_ctx,
            ),
            |tx| tx.input.len(),
        )
    }
}

/// One channel's signer: LDK's `InMemorySigner`, counting.
pub struct CountingSigner(InMemorySigner);

impl ChannelSigner for CountingSigner {
    fn get_per_commitment_point(
        &self,
        idx: u64,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<PublicKey, ()> {
        self.0.get_per_commitment_point(idx, secp_ctx)
    }

    fn release_commitment_secret(&self, idx: u64) -> Result<[u8; 32], ()> {
        self.0.release_commitment_secret(idx)
    }

    fn validate_holder_commitment(
        &self,
        holder_tx: &HolderCommitmentTransaction,
        outbound_htlc_preimages: Vec<PaymentPreimage>,
    ) -> Result<(), ()> {
        let valid = self
            .0
            .validate_holder_commitment(holder_tx, outbound_htlc_preimages);
        if valid.is_ok() {
            let checked = 1 + holder_tx.counterparty_htlc_sigs.len();
            metrics::counter!(SIGNATURES_CHECKED).increment(checked as u64);
        }
        valid
    }

    fn validate_counterparty_revocation(&self, idx: u64, secret: &SecretKey) -> Result<(), ()> {
        self.0.validate_counterparty_revocation(idx, secret)
    }

    fn pubkeys(&self, secp_ctx: &Secp256k1<All>) -> ChannelPublicKeys {
        self.0.pubkeys(secp_ctx)
    }

    fn new_funding_pubkey(
        &self,
        splice_parent_funding_txid: Txid,
        secp_ctx: &Secp256k1<All>,
    ) -> PublicKey {
        self.0
            .new_funding_pubkey(splice_parent_funding_txid, secp_ctx)
    }

    fn channel_keys_id(&self) -> [u8; 32] {
        self.0.channel_keys_id()
    }
}

impl EcdsaChannelSigner for CountingSigner {
    fn sign_counterparty_commitment(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        commitment_tx: &CommitmentTransaction,
        inbound_htlc_preimages: Vec<PaymentPreimage>,
        outbound_htlc_preimages: Vec<PaymentPreimage>,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<(Signature, Vec<Signature>), ()> {
        made(
            self.0.sign_counterparty_commitment(
                channel_parameters,
                commitment_tx,
                inbound_htlc_preimages,
                outbound_htlc_preimages,
                secp_ctx,
            ),
            |(_, htlcs)| 1 + htlcs.len(),
        )
    }

    fn sign_holder_commitment(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        commitment_tx: &HolderCommitmentTransaction,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Signature, ()> {
        one(self
            .0
            .sign_holder_commitment(channel_parameters, commitment_tx, secp_ctx))
    }

    fn sign_justice_revoked_output(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        justice_tx: &Transaction,
        input: usize,
        amount: u64,
        per_commitment_key: &SecretKey,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Signature, ()> {
        one(self.0.sign_justice_revoked_output(
            channel_parameters,
            justice_tx,
            input,
            amount,
            per_commitment_key,
            secp_ctx,
        ))
    }

    fn sign_justice_revoked_htlc(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        justice_tx: &Transaction,
        input: usize,
        amount: u64,
        per_commitment_key: &SecretKey,
        htlc: &HTLCOutputInCommitment,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Signature, ()> {
        one(self.0.sign_justice_revoked_htlc(
            channel_parameters,
            justice_tx,
            input,
            amount,
            per_commitment_key,
            htlc,
            secp_ctx,
        ))
    }

    fn sign_holder_htlc_transaction(
        &self,
        htlc_tx: &Transaction,
        input: usize,
        htlc_descriptor: &HTLCDescriptor,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Signature, ()> {
        one(self
            .0
            .sign_holder_htlc_transaction(htlc_tx, input, htlc_descriptor, secp_ctx))
    }

    fn sign_counterparty_htlc_transaction(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        htlc_tx: &Transaction,
        input: usize,
        amount: u64,
        per_commitment_point: &PublicKey,
        htlc: &HTLCOutputInCommitment,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Signature, ()> {
        one(self.0.sign_counterparty_htlc_transaction(
            channel_parameters,
            htlc_tx,
            input,
            amount,
            per_commitment_point,
            htlc,
            secp_ctx,
        ))
    }

    fn sign_closing_transaction(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        closing_tx: &ClosingTransaction,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Signature, ()> {
        one(self
            .0
            .sign_closing_transaction(channel_parameters, closing_tx, secp_ctx))
    }

    fn sign_holder_keyed_anchor_input(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        anchor_tx: &Transaction,
        input: usize,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Signature, ()> {
        one(self
            .0
            .sign_holder_keyed_anchor_input(channel_parameters, anchor_tx, input, secp_ctx))
    }

    fn sign_channel_announcement_with_funding_key(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        msg: &UnsignedChannelAnnouncement,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Signature, ()> {
        one(self
            .0
            .sign_channel_announcement_with_funding_key(channel_parameters, msg, secp_ctx))
    }

    fn sign_splice_shared_input(
        &self,
        channel_parameters: &ChannelTransactionParameters,
        tx: &Transaction,
        input_index: usize,
        secp_ctx: &Secp256k1<secp256k1::All>,
    ) -> Signature {
        metrics::counter!(SIGNATURES_MADE).increment(1);
        self.0
            .sign_splice_shared_input(channel_parameters, tx, input_index, secp_ctx)
    }
}
