//! `sluice`: the sluice node's command-line entry point.
//!
//! Subcommands: `regtest-chain` (the embedded regtest chain) and `store` (store
//! administration); `sluice run` (the node) arrives with its issue.

mod regtest_cmd;
mod store_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The sluice Lightning payment router.
#[derive(Parser)]
#[command(name = "sluice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded regtest chain: a Bitcoin Core compatible JSON-RPC server over a
    /// real, validated regtest chain. Prints one line with the RPC URL when ready.
    RegtestChain(regtest_cmd::RegtestChainArgs),
    /// Inspect a node's store.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::RegtestChain(args) => regtest_cmd::run(args),
        Command::Store(cmd) => store_cmd::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
