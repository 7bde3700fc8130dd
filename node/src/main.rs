//! `sluice`: the sluice node's command-line entry point.
//!
//! Subcommands: `run` (the node), `regtest-chain` (the embedded regtest chain), `store`
//! (store administration), `receipt` (offline receipt checks) and `snapshot` (offline
//! proof snapshot checks).

mod receipt_cmd;
mod regtest_cmd;
mod snapshot_cmd;
mod store_cmd;

use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: a busy node allocates and frees multi-megabyte
/// buffers every persist round (the channel manager), and glibc's per-thread heaps kept
/// the freed memory as fragmentation. On the line bench the payer's RSS after four
/// minutes was 381 MiB with jemalloc and 554 MiB with glibc (ARCHITECTURE.md §3).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::{Parser, Subcommand};
use sluice_node::config::{self, LogFormat, RunArgs};

/// The sluice Lightning payment router.
#[derive(Parser)]
#[command(name = "sluice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node. Settings come from the config file, then `SLUICE_*` variables, then
    /// flags (each overriding the one before). Prints one line with the API and peer
    /// addresses when it serves; exits 0 after SIGTERM or SIGINT.
    Run(Box<RunArgs>),
    /// Run the embedded regtest chain: a Bitcoin Core compatible JSON-RPC server over a
    /// real, validated regtest chain. Prints one line with the RPC URL when ready.
    RegtestChain(regtest_cmd::RegtestChainArgs),
    /// Inspect a node's store.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// Check signed receipts offline.
    #[command(subcommand)]
    Receipt(receipt_cmd::ReceiptCommand),
    /// Check a pool's proof snapshots and LPs' inclusion proofs offline.
    #[command(subcommand)]
    Snapshot(snapshot_cmd::SnapshotCommand),
}

/// Logs go to stderr, filtered by `SLUICE_LOG` (default `info` for the node, `warn`
/// otherwise), as text or JSON lines.
fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}

/// `sluice run`: exit 2 for a bad configuration, 3–7 for a refused start (see
/// `RunError::exit_code`).
fn run_node(args: RunArgs) -> ExitCode {
    let config = match config::load(args, config::process_env) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format, "info");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scheme = if config.api_tls.is_some() {
        "https"
    } else {
        "http"
    };
    let result = runtime.block_on(sluice_node::run::run(config, |api, peers| {
        println!("sluice: API at {scheme}://{api}, peers at {peers}");
    }));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => return run_node(*args),
        Command::RegtestChain(args) => {
            init_logging(LogFormat::Human, "warn");
            regtest_cmd::run(args)
        }
        Command::Store(cmd) => {
            init_logging(LogFormat::Human, "warn");
            store_cmd::run(cmd)
        }
        Command::Receipt(cmd) => receipt_cmd::run(cmd),
        Command::Snapshot(cmd) => snapshot_cmd::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
