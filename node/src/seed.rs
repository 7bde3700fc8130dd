//! The node seed: 32 random bytes in `DATA_DIR/seed`, mode 0600, from which LDK's keys
//! and the on-chain wallet are derived. Losing it loses the funds; a readable one gives
//! them away, so start-up refuses both a missing seed (for an existing node) and a seed
//! that group or others can read.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Why the seed cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The node has state but its seed file is gone.
    #[error(
        "the seed file {0} is missing but the node has data: restore the seed; refusing to start"
    )]
    Missing(String),
    /// The seed file can be read by group or others.
    #[error(
        "the seed file {path} has mode {mode:o}; it must be readable by its owner only (chmod 600)"
    )]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The seed file is not 32 bytes.
    #[error("the seed file {0} is not 32 bytes")]
    Malformed(String),
    /// Reading or writing the seed failed.
    #[error("seed file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
}

/// Reads the seed at `path`, or creates one when `new_node` (nothing else of the node
/// exists yet).
pub fn load_or_create(path: &Path, new_node: bool) -> Result<[u8; 32], SeedError> {
    let shown = path.display().to_string();
    let io = |source| SeedError::Io {
        path: shown.clone(),
        source,
    };
    match fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SeedError::TooOpen { path: shown, mode });
            }
            let mut bytes = Vec::new();
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(io)?;
            bytes.try_into().map_err(|_| SeedError::Malformed(shown))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && new_node => create(path).map_err(io),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SeedError::Missing(shown)),
        Err(e) => Err(io(e)),
    }
}

fn create(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    File::open("/dev/urandom")?.read_exact(&mut seed)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&seed)?;
    file.sync_all()?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_reads_and_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed");
        assert!(matches!(
            load_or_create(&path, false),
            Err(SeedError::Missing(_))
        ));
        let seed = load_or_create(&path, true).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_or_create(&path, false).unwrap(), seed);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_or_create(&path, false),
            Err(SeedError::TooOpen { mode: 0o644, .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, b"short").unwrap();
        assert!(matches!(
            load_or_create(&path, false),
            Err(SeedError::Malformed(_))
        ));
    }
}
