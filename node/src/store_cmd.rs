//! `sluice store …`: administration of a node's store.

use std::path::PathBuf;

use clap::Subcommand;
use sluice_storage::{Store, StoreConfig, Table};

/// Store administration commands.
#[derive(Subcommand)]
pub enum StoreCommand {
    /// Open the store (recovering it if the node crashed) and print, as JSON, how many
    /// entries each table holds and the bytes it occupies. Refuses while a node runs on
    /// the directory.
    Stats {
        /// The node's data directory.
        #[arg(long, env = "SLUICE_DATA_DIR")]
        data_dir: PathBuf,
    },
}

/// Runs one store command; the error is the message to print.
pub fn run(command: StoreCommand) -> Result<(), String> {
    match command {
        StoreCommand::Stats { data_dir } => stats(data_dir),
    }
}

fn stats(data_dir: PathBuf) -> Result<(), String> {
    let path = data_dir.join("store");
    if !path.is_dir() {
        return Err(format!("no store at {}", path.display()));
    }
    let store = Store::open(&path, StoreConfig::default())
        .map_err(|e| format!("cannot open the store at {}: {e}", path.display()))?;
    let mut tables = serde_json::Map::new();
    for table in Table::ALL {
        let count = store
            .count_blocking(table)
            .map_err(|e| format!("reading {}: {e}", table.name()))?;
        tables.insert(table.name().to_owned(), count.into());
    }
    let disk_bytes = store
        .disk_bytes()
        .map_err(|e| format!("sizing the store: {e}"))?;
    let report = serde_json::json!({
        "path": path.display().to_string(),
        "disk_bytes": disk_bytes,
        "tables": tables,
    });
    println!("{report:#}");
    Ok(())
}
