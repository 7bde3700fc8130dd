//! The names a setting has in each layer ([`Key`]), where a value came from ([`Origin`],
//! [`Setting`]) and what can go wrong ([`ConfigError`]). Every message names the setting at
//! fault and where its value came from: "`network` in config file F", "environment variable
//! SLUICE_NETWORK" or "flag --network".

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use bitcoin::Network;

use super::RunArgs;

/// One setting of `sluice run`, named by its config key, which is also the name of its
/// [`RunArgs`] field. The environment variable is `SLUICE_` and the key in upper case; the
/// flag is the field's clap `long` name. So the three names live in one place, the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(&'static str);

/// The prefix of the [`RunArgs`] fields that are settings of the `[lsps2]` section.
const LSPS2_PREFIX: &str = "lsps2_";

/// The settings' names as clap knows them: (field, long flag), in `--help` order.
fn arguments() -> &'static [(String, String)] {
    static ARGUMENTS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ARGUMENTS.get_or_init(|| {
        let command = <RunArgs as clap::Args>::augment_args(clap::Command::new("run"));
        command
            .get_arguments()
            .filter_map(|arg| Some((arg.get_id().to_string(), arg.get_long()?.to_owned())))
            .collect()
    })
}

impl Key {
    /// The setting whose [`RunArgs`] field (and config key) is `field`, e.g. `"alias"`.
    pub const fn new(field: &'static str) -> Self {
        Key(field)
    }

    /// Every setting, in `--help` order, starting with `config` (the file itself).
    pub fn all() -> impl Iterator<Item = Key> {
        arguments().iter().map(|(field, _)| Key(field.as_str()))
    }

    /// The field's name: the key in the TOML file, except `api_tokens` (see
    /// [`Key::config_key`]).
    pub fn field(self) -> &'static str {
        self.0
    }

    /// The key's name in the TOML file (`api.tokens` for the `[[api.tokens]]` tables,
    /// `lsps2.KEY` for a field `lsps2_KEY`, which is `KEY` in the `[lsps2]` section;
    /// `config` is not accepted in the file).
    pub fn config_key(self) -> &'static str {
        if self.0 == "api_tokens" {
            return "api.tokens";
        }
        static DOTTED: OnceLock<Vec<(String, String)>> = OnceLock::new();
        let dotted = DOTTED.get_or_init(|| {
            arguments()
                .iter()
                .filter_map(|(field, _)| {
                    let key = field.strip_prefix(LSPS2_PREFIX)?;
                    Some((field.clone(), format!("lsps2.{key}")))
                })
                .collect()
        });
        dotted
            .iter()
            .find(|(field, _)| field == self.0)
            .map_or(self.0, |(_, key)| key.as_str())
    }

    /// The key's name inside the config file's `[lsps2]` section, for an LSPS2 setting
    /// (a field `lsps2_KEY`).
    pub fn lsps2_key(self) -> Option<&'static str> {
        self.0.strip_prefix(LSPS2_PREFIX)
    }

    /// The environment variable that sets the key.
    pub fn env_var(self) -> String {
        format!("SLUICE_{}", self.0.to_ascii_uppercase())
    }

    /// The command-line flag that sets the key.
    pub fn flag(self) -> String {
        let long = arguments().iter().find(|(field, _)| field == self.0);
        match long {
            Some((_, long)) => format!("--{long}"),
            None => format!("--{}", self.0.replace('_', "-")),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_key())
    }
}

/// The layer a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// The TOML config file at this path.
    File(PathBuf),
    /// A `SLUICE_*` environment variable.
    Env,
    /// A command-line flag.
    Flag,
}

impl Origin {
    /// Precedence: higher overrides lower.
    pub(super) fn rank(&self) -> u8 {
        match self {
            Origin::Default => 0,
            Origin::File(_) => 1,
            Origin::Env => 2,
            Origin::Flag => 3,
        }
    }
}

/// A key together with the layer that set it; its `Display` is what error messages say,
/// e.g. "`network` in config file /etc/sluice.toml", "environment variable SLUICE_NETWORK"
/// or "flag --network".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Which setting.
    pub key: Key,
    /// Where its value came from.
    pub origin: Origin,
}

impl Setting {
    /// `key` as set by `origin`.
    pub fn new(key: Key, origin: &Origin) -> Self {
        Setting {
            key,
            origin: origin.clone(),
        }
    }

    /// The config file the value came from, if it did.
    pub(super) fn file(&self) -> Option<&PathBuf> {
        match &self.origin {
            Origin::File(path) => Some(path),
            _ => None,
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Default => write!(f, "the default `{}`", self.key),
            Origin::File(path) if self.key.field() == "api_tokens" => {
                write!(f, "[[api.tokens]] in config file {}", path.display())
            }
            Origin::File(path) => write!(f, "`{}` in config file {}", self.key, path.display()),
            Origin::Env => write!(f, "environment variable {}", self.key.env_var()),
            Origin::Flag => write!(f, "flag {}", self.key.flag()),
        }
    }
}

/// Why the configuration could not be loaded. Each message names the setting at fault and
/// where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {} (from {given_by}): {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The flag or variable that named it.
        given_by: Setting,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML.
    #[error("config file {} is not valid TOML: {message}", path.display())]
    FileSyntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The config file has a key sluice does not know.
    #[error(
        "unknown key `{key}` in config file {}{}",
        path.display(),
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The dotted key, e.g. `netwrok` or `api.tokens.scope`.
        key: String,
        /// A known key with a similar name.
        suggestion: Option<String>,
    },
    /// A config-file key has a value of the wrong TOML type.
    #[error("`{key}` in config file {} must be {expected}, not {found}", path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
        /// What the key takes.
        expected: &'static str,
        /// The TOML type found.
        found: &'static str,
    },
    /// A config-file table lacks a required key.
    #[error("`{key}` is missing in config file {}", path.display())]
    MissingFileKey {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: &'static str,
    },
    /// The `[lsps2]` section of the config file is malformed or inconsistent.
    #[error("`lsps2` in config file {}: {message}", path.display())]
    InvalidLsps2 {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An LSPS2 setting was given (in the environment or a flag) without an `[lsps2]`
    /// section in the config file, which is what enables the service.
    #[error(
        "{setting} is a setting of the LSPS2 service, which only a config file's `[lsps2]` \
         section (with its fee menu) enables"
    )]
    Lsps2SettingWithoutSection {
        /// Where it was given.
        setting: Setting,
    },
    /// The `[lsps5]` section of the config file is malformed or inconsistent.
    #[error("`lsps5` in config file {}: {message}", path.display())]
    InvalidLsps5 {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The `[nostr]` section of the config file is malformed.
    #[error("`nostr` in config file {}: {message}", path.display())]
    InvalidNostr {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The `[rebalancer]` section of the config file is malformed or inconsistent.
    #[error("`rebalancer` in config file {}: {message}", path.display())]
    InvalidRebalancer {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The `[pool]` section of the config file is malformed.
    #[error("`pool` in config file {}: {message}", path.display())]
    InvalidPool {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The flags could not be read as settings: a [`RunArgs`] field that is not a string,
    /// a list of strings or a boolean.
    #[error("cannot read the flags: {0}")]
    Flags(String),
    /// No data directory was given.
    #[error("no data directory: set --data-dir, SLUICE_DATA_DIR or `data_dir` in the config file")]
    MissingDataDir,
    /// A value a setting does not take. For the bitcoind URL the value has its password
    /// replaced by `***`.
    #[error("invalid value {value:?} from {setting}: {problem}")]
    Invalid {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
        /// What is wrong, or what the setting takes.
        problem: String,
    },
    /// An entry of a list setting is not valid. An API token's hash is not echoed, in case
    /// a raw token was pasted by mistake.
    #[error("{what} #{entry} from {setting}: {problem}")]
    InvalidEntry {
        /// Where it came from.
        setting: Setting,
        /// What one entry is, e.g. "excluded node".
        what: &'static str,
        /// Position in its list, from 1.
        entry: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// An entry of a list setting repeats an earlier one.
    #[error("{what} #{entry} from {setting} repeats an earlier {of}")]
    DuplicateEntry {
        /// Where it came from.
        setting: Setting,
        /// What one entry is, e.g. "excluded node".
        what: &'static str,
        /// Position in its list, from 1.
        entry: usize,
        /// What makes two entries the same, e.g. "node id".
        of: &'static str,
    },
    /// No chain source was configured.
    #[error(
        "no chain source: set --bitcoind-rpc (SLUICE_BITCOIND_RPC, `bitcoind_rpc`) or \
         --embedded-chain (SLUICE_EMBEDDED_CHAIN, `embedded_chain`)"
    )]
    MissingChainSource,
    /// Both chain sources were configured in the same layer.
    #[error("{bitcoind_rpc} and {embedded_chain} both choose a chain source; set only one")]
    ConflictingChainSources {
        /// Where `bitcoind_rpc` was set.
        bitcoind_rpc: Setting,
        /// Where `embedded_chain` was set.
        embedded_chain: Setting,
    },
    /// The embedded chain was asked for on a network other than regtest.
    #[error(
        "{embedded_chain} asks for the embedded chain, which is regtest only, but the network \
         is {network} (from {network_setting})"
    )]
    EmbeddedChainRequiresRegtest {
        /// Where the embedded chain was asked for.
        embedded_chain: Setting,
        /// The network in force.
        network: Network,
        /// Where the network came from.
        network_setting: Setting,
    },
    /// The API would serve plain HTTP on an address that is not loopback, and
    /// `api_allow_plaintext` does not allow it.
    #[error(
        "the API address {addr} (from {setting}) is not a loopback address, and without TLS \
         bearer tokens would cross the network in the clear: set --api-tls-cert and \
         --api-tls-key (SLUICE_API_TLS_CERT, SLUICE_API_TLS_KEY, `api_tls_cert`, \
         `api_tls_key`), listen on 127.0.0.1 or ::1, or, if something in front of the node \
         protects it (e.g. a TLS-terminating proxy), set --api-allow-plaintext \
         (SLUICE_API_ALLOW_PLAINTEXT, `api_allow_plaintext`)"
    )]
    PlaintextApi {
        /// The API address.
        addr: std::net::SocketAddr,
        /// Where it came from.
        setting: Setting,
    },
    /// Only one of the API's TLS certificate and key was given.
    #[error(
        "{given} is set but {} ({}, `{}`) is not: the API's TLS needs both a certificate and \
         its key",
        missing.flag(),
        missing.env_var(),
        missing.config_key()
    )]
    IncompleteApiTls {
        /// The one given.
        given: Setting,
        /// The one missing.
        missing: Key,
    },
    /// The API's TLS certificate or key file is unusable.
    #[error("{source} (certificate from {certificate}, key from {key})")]
    ApiTls {
        /// Where the certificate path came from.
        certificate: Setting,
        /// Where the key path came from.
        key: Setting,
        /// What is wrong, naming the file (boxed: it is large, and rare).
        source: Box<sluice_api::TlsError>,
    },
    /// An automine interval was given while the chain source is bitcoind.
    #[error(
        "{setting} applies to the embedded chain only, but the chain source is bitcoind (from \
         {chain_setting})"
    )]
    AutomineWithoutEmbeddedChain {
        /// Where the automine interval came from.
        setting: Setting,
        /// Where the bitcoind chain source came from.
        chain_setting: Setting,
    },
}
