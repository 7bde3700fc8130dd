//! `sluice`: the sluice node's command-line entry point.
//!
//! Today it offers store administration only; `sluice run` (the node) and
//! `sluice regtest-chain` arrive with their issues.

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
    /// Inspect a node's store.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
