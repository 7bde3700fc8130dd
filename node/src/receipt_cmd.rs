//! `sluice receipt …`: offline checks of signed receipts.

use std::path::PathBuf;
use std::str::FromStr;

use bitcoin::secp256k1::XOnlyPublicKey;
use clap::Subcommand;
use sluice_actors::receipts::verify;

/// Receipt commands.
#[derive(Subcommand)]
pub enum ReceiptCommand {
    /// Check a receipt (a JSON file, `-` for stdin) without the node: its content matches
    /// its hash and id, and its signature verifies. Exits 0 and prints what it checked if
    /// valid, 1 with the reason if not.
    Verify {
        /// The receipt file.
        file: PathBuf,
        /// Also require this signer (the node's receipt key, x-only, 64 hex
        /// characters); without it any valid signature is accepted.
        #[arg(long, value_name = "PUBKEY")]
        signer: Option<String>,
    },
}

/// Runs one receipt command; the error is the message to print.
pub fn run(command: ReceiptCommand) -> Result<(), String> {
    let ReceiptCommand::Verify { file, signer } = command;
    let expected = signer
        .map(|hex| {
            XOnlyPublicKey::from_str(&hex)
                .map_err(|e| format!("--signer {hex:?}: not an x-only public key: {e}"))
        })
        .transpose()?;
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading stdin: {e}"))?
    } else {
        std::fs::read_to_string(&file).map_err(|e| format!("reading {}: {e}", file.display()))?
    };
    let receipt: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
    let verified =
        verify(&receipt, expected.as_ref()).map_err(|e| format!("invalid receipt: {e}"))?;
    println!(
        "valid: {} {} signed by {}",
        verified.schema, verified.receipt_id, verified.signer
    );
    Ok(())
}
