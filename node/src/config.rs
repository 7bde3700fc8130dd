//! Configuration of `sluice run`.
//!
//! Four layers, each overriding the one before, key by key:
//!
//! 1. built-in defaults (the `DEFAULT_*` constants of [`NodeConfig`]);
//! 2. the TOML file named by `--config` or `SLUICE_CONFIG`;
//! 3. `SLUICE_*` environment variables (read through a lookup function, so tests and
//!    embedders can supply their own environment);
//! 4. command-line flags ([`RunArgs`]).
//!
//! [`load`] reads and validates every layer, merges them and checks the result as a whole.
//! Every failure is a [`ConfigError`] whose message names the offending setting and where it
//! came from (`key in config file F`, `environment variable SLUICE_X`, `flag --x`).
//!
//! # Settings
//!
//! | flag                           | environment variable                | config key                   |
//! |--------------------------------|-------------------------------------|------------------------------|
//! | `--config FILE`                | `SLUICE_CONFIG`                     | —                            |
//! | `--data-dir DIR` (required)    | `SLUICE_DATA_DIR`                   | `data_dir`                   |
//! | `--network NET`                | `SLUICE_NETWORK`                    | `network`                    |
//! | `--bitcoind-rpc URL`           | `SLUICE_BITCOIND_RPC`               | `bitcoind_rpc`               |
//! | `--embedded-chain[=BOOL]`      | `SLUICE_EMBEDDED_CHAIN`             | `embedded_chain`             |
//! | `--embedded-chain-automine-ms` | `SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS` | `embedded_chain_automine_ms` |
//! | `--listen ADDR`                | `SLUICE_LISTEN`                     | `listen`                     |
//! | `--api-addr ADDR`              | `SLUICE_API_ADDR`                   | `api_addr`                   |
//! | `--alias NAME`                 | `SLUICE_ALIAS`                      | `alias`                      |
//! | `--log-format human\|json`     | `SLUICE_LOG_FORMAT`                 | `log_format`                 |
//! | `--api-token-sha256 HEX:SCOPES`| `SLUICE_API_TOKENS`                 | `[[api.tokens]]`             |
//! | `--trusted-peer-0conf NODE_ID` | `SLUICE_TRUSTED_PEERS_0CONF`        | `trusted_peers_0conf`        |
//! | `--exclude-node NODE_ID`       | `SLUICE_EXCLUDED_NODES`             | `excluded_nodes`             |
//! | `--exclude-channel SCID`       | `SLUICE_EXCLUDED_CHANNELS`          | `excluded_channels`          |
//! | `--pathfinding-workers N`      | `SLUICE_PATHFINDING_WORKERS`        | `pathfinding_workers`        |
//! | `--quote-ttl-secs N`           | `SLUICE_QUOTE_TTL_SECS`             | `quote_ttl_secs`             |
//! | `--skip-forward-delay[=BOOL]`  | `SLUICE_SKIP_FORWARD_DELAY`         | `skip_forward_delay`         |
//!
//! A TOML file with every key:
//!
//! ```toml
//! data_dir = "/var/lib/sluice"
//! network = "signet"                       # regtest (default) | signet | bitcoin (or mainnet)
//! bitcoind_rpc = "http://user:pass@127.0.0.1:38332"
//! # embedded_chain = true                  # instead of bitcoind_rpc; regtest only
//! # embedded_chain_automine_ms = 1000      # embedded chain only
//! listen = "0.0.0.0:9735"                  # default 127.0.0.1:9735
//! api_addr = "127.0.0.1:3000"              # default 127.0.0.1:3000
//! alias = "my-lsp"                         # at most 32 bytes
//! log_format = "json"                      # human (default) | json
//! # Accept channels these peers open to us as zero-conf: usable before the funding transaction
//! # confirms. Such a peer could double-spend the funding, so list only peers you trust.
//! trusted_peers_0conf = ["<66 hex chars: node id>"]   # default none
//! # Pathfinding never routes a payment through these nodes or over these channels.
//! excluded_nodes = ["<66 hex chars: node id>"]        # default none
//! excluded_channels = ["812x1x0", "912594651188232193"]  # default none; 2nd is 830000x2047x1
//! pathfinding_workers = 4                  # 1 to 64; default 2
//! quote_ttl_secs = 120                     # 1 to 3600; default 60
//! # Forward HTLCs as soon as they are irrevocably committed, without LDK's randomised
//! # batching delay (~50 ms, hides payment timing). For latency-bound routers.
//! skip_forward_delay = true                # default false
//!
//! [[api.tokens]]
//! sha256 = "<64 hex chars: SHA-256 of the bearer token>"
//! scopes = ["admin"]                       # any of admin, pay, lp, read
//! ```
//!
//! Unknown keys are rejected, so a typo does not silently fall back to a default.
//!
//! # Rules worth knowing
//!
//! - On the command line and in the environment an API token is written `HEX:scope+scope`;
//!   `SLUICE_API_TOKENS` and `--api-token-sha256` take a comma-separated list, and the flag may
//!   be repeated. The token list is replaced as a whole by a higher layer, never merged.
//! - A trusted 0-conf peer is its node id, 66 hex characters (a compressed public key). The
//!   same as for tokens: `SLUICE_TRUSTED_PEERS_0CONF` and `--trusted-peer-0conf` take a
//!   comma-separated list, the flag may be repeated, a repeated node id is an error, and a
//!   higher layer replaces the list as a whole.
//! - The excluded nodes (`--exclude-node`, `SLUICE_EXCLUDED_NODES`, `excluded_nodes`) and the
//!   excluded channels (`--exclude-channel`, `SLUICE_EXCLUDED_CHANNELS`, `excluded_channels`)
//!   are lists in the same way: comma-separated on the command line and in the environment, a
//!   repeatable flag, a repeated entry is an error, and a higher layer replaces the list as a
//!   whole. A node is its node id as for trusted peers. A channel is its short channel id,
//!   written either `BLOCKxTXxOUTPUT` (block height and transaction index below 2^24, output
//!   index below 2^16; e.g. `812x1x0`) or as the decimal number
//!   `BLOCK << 40 | TX << 16 | OUTPUT` (e.g. `892803441819648`, the same channel); in the
//!   file the entries are strings either way.
//! - `pathfinding_workers` (1 to 64) and `quote_ttl_secs` (1 to 3600) are whole numbers; a
//!   value outside its range is an error, not clamped.
//! - `skip_forward_delay` forwards HTLCs (and makes received ones claimable) as soon as they
//!   are irrevocably committed, instead of after LDK's randomised batching delay (about 50 ms
//!   on average, log-normal), which exists to make payment timing harder to correlate. It is
//!   node-wide: LDK processes all pending forwards at once, so it cannot be chosen per HTLC.
//!   For routers where latency matters more than that timing privacy.
//! - Exactly one chain source. Setting both `bitcoind_rpc` and `embedded_chain = true` in one
//!   layer is an error; across layers, the chain source chosen by the higher layer wins (so
//!   `--embedded-chain` overrides a file's `bitcoind_rpc`, and an overridden embedded chain takes
//!   its lower-layer `embedded_chain_automine_ms` with it).
//! - An environment variable that is empty (or only whitespace) counts as unset; values are
//!   trimmed. Boolean variables accept `1/0`, `true/false`, `yes/no`, `on/off`.
//! - Relative paths are taken relative to the working directory of the process.
//! - Addresses are `IP:PORT` (no host names): they are bound, not resolved.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use sluice_actors::lsps2::Lsps2Config;
use sluice_actors::lsps5::Lsps5Config;

/// Appended to `sluice run --help`.
const PRECEDENCE_HELP: &str = "\
Every flag is also a config-file key and a SLUICE_* environment variable. Flags override \
the environment, the environment overrides the config file, and the file overrides the \
defaults. Exactly one chain source is required: --bitcoind-rpc or --embedded-chain \
(regtest only).";

/// Flags of `sluice run`. Every field is optional so that an absent flag leaves the
/// lower layers (environment, config file, defaults) in force; see [`load`].
#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_long_help = PRECEDENCE_HELP)]
pub struct RunArgs {
    /// TOML config file; unknown keys are rejected. [env: SLUICE_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory holding the node's keys and store (required). [env: SLUICE_DATA_DIR]
    /// [config: data_dir]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Bitcoin network: regtest, signet or bitcoin (mainnet). [env: SLUICE_NETWORK] [config:
    /// network] [default: regtest]
    #[arg(long, value_name = "NETWORK")]
    pub network: Option<String>,

    /// Bitcoin Core JSON-RPC endpoint, http://USER:PASS@HOST:PORT (percent-encode special
    /// characters in USER and PASS). One chain source is required: this or --embedded-chain.
    /// [env: SLUICE_BITCOIND_RPC] [config: bitcoind_rpc]
    #[arg(long, value_name = "URL")]
    pub bitcoind_rpc: Option<String>,

    /// Run the embedded regtest chain in this process instead of using bitcoind (regtest
    /// only; a one-process demo). [env: SLUICE_EMBEDDED_CHAIN] [config: embedded_chain]
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub embedded_chain: Option<bool>,

    /// With --embedded-chain: mine a block every MS milliseconds. [env:
    /// SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS] [config: embedded_chain_automine_ms]
    #[arg(long, value_name = "MS")]
    pub embedded_chain_automine_ms: Option<u64>,

    /// Lightning peer-to-peer listening address, IP:PORT. [env: SLUICE_LISTEN] [config:
    /// listen] [default: 127.0.0.1:9735]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// HTTP API listening address, IP:PORT. [env: SLUICE_API_ADDR] [config: api_addr]
    /// [default: 127.0.0.1:3000]
    #[arg(long, value_name = "ADDR")]
    pub api_addr: Option<String>,

    /// Node alias announced to the network, at most 32 bytes. [env: SLUICE_ALIAS] [config:
    /// alias]
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,

    /// Log format: human or json. [env: SLUICE_LOG_FORMAT] [config: log_format] [default:
    /// human]
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// API bearer token, given as the hex SHA-256 of the token and its scopes (admin, pay, lp,
    /// read), e.g. 9f86…0f08:pay+read. Repeat the flag or separate with commas; replaces the
    /// tokens of lower layers. [env: SLUICE_API_TOKENS, comma-separated] [config:
    /// [[api.tokens]] sha256 = "HEX", scopes = ["pay", "read"]]
    #[arg(
        long = "api-token-sha256",
        value_name = "HEX:SCOPES",
        value_delimiter = ','
    )]
    pub api_token_sha256: Option<Vec<String>>,

    /// Node id (66 hex chars) of a peer whose channels to us are accepted as zero-conf: usable
    /// before the funding transaction confirms. The peer could double-spend the funding, so
    /// list only peers you trust, e.g. your own LSP. Repeat the flag or separate with commas;
    /// replaces the peers of lower layers. [env: SLUICE_TRUSTED_PEERS_0CONF, comma-separated]
    /// [config: trusted_peers_0conf = ["NODE_ID", …]]
    #[arg(
        long = "trusted-peer-0conf",
        value_name = "NODE_ID",
        value_delimiter = ','
    )]
    pub trusted_peer_0conf: Option<Vec<String>>,

    /// Node id (66 hex chars) of a node pathfinding must never route a payment through, e.g.
    /// one known to be unreliable or hostile. Repeat the flag or separate with commas; replaces
    /// the nodes of lower layers. [env: SLUICE_EXCLUDED_NODES, comma-separated] [config:
    /// excluded_nodes = ["NODE_ID", …]]
    #[arg(long = "exclude-node", value_name = "NODE_ID", value_delimiter = ',')]
    pub exclude_node: Option<Vec<String>>,

    /// Short channel id of a channel pathfinding must never use, as BLOCKxTXxOUTPUT (e.g.
    /// 812x1x0) or as its decimal number. Repeat the flag or separate with commas; replaces the
    /// channels of lower layers. [env: SLUICE_EXCLUDED_CHANNELS, comma-separated] [config:
    /// excluded_channels = ["SCID", …]]
    #[arg(long = "exclude-channel", value_name = "SCID", value_delimiter = ',')]
    pub exclude_channel: Option<Vec<String>>,

    /// How many route-finding workers run in parallel, 1 to 64. [env:
    /// SLUICE_PATHFINDING_WORKERS] [config: pathfinding_workers] [default: 2]
    #[arg(long, value_name = "N")]
    pub pathfinding_workers: Option<String>,

    /// How long a payment quote stays valid, in seconds, 1 to 3600. [env:
    /// SLUICE_QUOTE_TTL_SECS] [config: quote_ttl_secs] [default: 60]
    #[arg(long, value_name = "N")]
    pub quote_ttl_secs: Option<String>,

    /// Forward HTLCs (and make received ones claimable) as soon as they are irrevocably
    /// committed, instead of after LDK's randomised batching delay (about 50 ms on average,
    /// log-normal), which exists to make payment timing harder to correlate. Node-wide: LDK
    /// processes all pending forwards at once, so it cannot be chosen per HTLC. For routers
    /// where latency matters more than that timing privacy. [env: SLUICE_SKIP_FORWARD_DELAY]
    /// [config: skip_forward_delay] [default: false]
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub skip_forward_delay: Option<bool>,

    /// How many outgoing payments this node keeps in flight at once, 1 to 4096. A send
    /// beyond that waits (first come, first served; at most 1 s) for one to settle. Every
    /// HTLC in a channel adds a signature to each commitment round, so an unbounded number in
    /// flight makes every round slower and latency run away under load. [env:
    /// SLUICE_SEND_WINDOW] [config: send_window] [default: 64]
    #[arg(long, value_name = "N")]
    pub send_window: Option<String>,
}

/// One setting of `sluice run`, under the three names it has in the three layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// The config file itself (flag and environment only).
    Config,
    /// The data directory.
    DataDir,
    /// The Bitcoin network.
    Network,
    /// The Bitcoin Core RPC URL.
    BitcoindRpc,
    /// Whether to run the embedded regtest chain.
    EmbeddedChain,
    /// The embedded chain's automine interval.
    EmbeddedChainAutomineMs,
    /// The peer-to-peer listening address.
    Listen,
    /// The HTTP API listening address.
    ApiAddr,
    /// The node alias.
    Alias,
    /// The log format.
    LogFormat,
    /// The API bearer tokens.
    ApiTokens,
    /// The peers whose inbound channels are accepted as zero-conf.
    TrustedPeers0conf,
    /// The nodes pathfinding never routes through.
    ExcludedNodes,
    /// The channels pathfinding never uses.
    ExcludedChannels,
    /// The number of route-finding workers.
    PathfindingWorkers,
    /// How long a payment quote stays valid.
    QuoteTtlSecs,
    /// Whether HTLCs are forwarded without LDK's randomised batching delay.
    SkipForwardDelay,
    /// How many outgoing payments may be in flight at once.
    SendWindow,
}

impl Key {
    /// Every key, in `--help` order.
    pub const ALL: [Key; 18] = [
        Key::Config,
        Key::DataDir,
        Key::Network,
        Key::BitcoindRpc,
        Key::EmbeddedChain,
        Key::EmbeddedChainAutomineMs,
        Key::Listen,
        Key::ApiAddr,
        Key::Alias,
        Key::LogFormat,
        Key::ApiTokens,
        Key::TrustedPeers0conf,
        Key::ExcludedNodes,
        Key::ExcludedChannels,
        Key::PathfindingWorkers,
        Key::QuoteTtlSecs,
        Key::SkipForwardDelay,
        Key::SendWindow,
    ];

    /// The key's name in the TOML file (`api.tokens` for the `[[api.tokens]]` tables;
    /// `config` is not accepted in the file).
    pub fn config_key(self) -> &'static str {
        match self {
            Key::Config => "config",
            Key::DataDir => "data_dir",
            Key::Network => "network",
            Key::BitcoindRpc => "bitcoind_rpc",
            Key::EmbeddedChain => "embedded_chain",
            Key::EmbeddedChainAutomineMs => "embedded_chain_automine_ms",
            Key::Listen => "listen",
            Key::ApiAddr => "api_addr",
            Key::Alias => "alias",
            Key::LogFormat => "log_format",
            Key::ApiTokens => "api.tokens",
            Key::TrustedPeers0conf => "trusted_peers_0conf",
            Key::ExcludedNodes => "excluded_nodes",
            Key::ExcludedChannels => "excluded_channels",
            Key::PathfindingWorkers => "pathfinding_workers",
            Key::QuoteTtlSecs => "quote_ttl_secs",
            Key::SkipForwardDelay => "skip_forward_delay",
            Key::SendWindow => "send_window",
        }
    }

    /// The environment variable that sets the key.
    pub fn env_var(self) -> &'static str {
        match self {
            Key::Config => "SLUICE_CONFIG",
            Key::DataDir => "SLUICE_DATA_DIR",
            Key::Network => "SLUICE_NETWORK",
            Key::BitcoindRpc => "SLUICE_BITCOIND_RPC",
            Key::EmbeddedChain => "SLUICE_EMBEDDED_CHAIN",
            Key::EmbeddedChainAutomineMs => "SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS",
            Key::Listen => "SLUICE_LISTEN",
            Key::ApiAddr => "SLUICE_API_ADDR",
            Key::Alias => "SLUICE_ALIAS",
            Key::LogFormat => "SLUICE_LOG_FORMAT",
            Key::ApiTokens => "SLUICE_API_TOKENS",
            Key::TrustedPeers0conf => "SLUICE_TRUSTED_PEERS_0CONF",
            Key::ExcludedNodes => "SLUICE_EXCLUDED_NODES",
            Key::ExcludedChannels => "SLUICE_EXCLUDED_CHANNELS",
            Key::PathfindingWorkers => "SLUICE_PATHFINDING_WORKERS",
            Key::QuoteTtlSecs => "SLUICE_QUOTE_TTL_SECS",
            Key::SkipForwardDelay => "SLUICE_SKIP_FORWARD_DELAY",
            Key::SendWindow => "SLUICE_SEND_WINDOW",
        }
    }

    /// The command-line flag that sets the key.
    pub fn flag(self) -> &'static str {
        match self {
            Key::Config => "--config",
            Key::DataDir => "--data-dir",
            Key::Network => "--network",
            Key::BitcoindRpc => "--bitcoind-rpc",
            Key::EmbeddedChain => "--embedded-chain",
            Key::EmbeddedChainAutomineMs => "--embedded-chain-automine-ms",
            Key::Listen => "--listen",
            Key::ApiAddr => "--api-addr",
            Key::Alias => "--alias",
            Key::LogFormat => "--log-format",
            Key::ApiTokens => "--api-token-sha256",
            Key::TrustedPeers0conf => "--trusted-peer-0conf",
            Key::ExcludedNodes => "--exclude-node",
            Key::ExcludedChannels => "--exclude-channel",
            Key::PathfindingWorkers => "--pathfinding-workers",
            Key::QuoteTtlSecs => "--quote-ttl-secs",
            Key::SkipForwardDelay => "--skip-forward-delay",
            Key::SendWindow => "--send-window",
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
    fn rank(&self) -> u8 {
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
    fn new(key: Key, origin: &Origin) -> Self {
        Setting {
            key,
            origin: origin.clone(),
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Default => write!(f, "the default `{}`", self.key.config_key()),
            Origin::File(path) => match self.key {
                Key::ApiTokens => write!(f, "[[api.tokens]] in config file {}", path.display()),
                key => write!(
                    f,
                    "`{}` in config file {}",
                    key.config_key(),
                    path.display()
                ),
            },
            Origin::Env => write!(f, "environment variable {}", self.key.env_var()),
            Origin::Flag => write!(f, "flag {}", self.key.flag()),
        }
    }
}

/// How the node writes its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        }
    }
}

/// What an API token may do (ARCHITECTURE.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiScope {
    /// Node administration; everything.
    Admin,
    /// Make and receive payments.
    Pay,
    /// Liquidity-pool operations.
    Lp,
    /// Read-only access.
    Read,
}

impl ApiScope {
    /// Every scope.
    pub const ALL: [ApiScope; 4] = [ApiScope::Admin, ApiScope::Pay, ApiScope::Lp, ApiScope::Read];

    /// The scope's name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Admin => "admin",
            ApiScope::Pay => "pay",
            ApiScope::Lp => "lp",
            ApiScope::Read => "read",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        ApiScope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// An accepted API bearer token: the node stores only the token's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// SHA-256 of the bearer token.
    pub sha256: [u8; 32],
    /// What the token may do (never empty).
    pub scopes: BTreeSet<ApiScope>,
}

/// Where the node gets its chain data.
#[derive(Clone, PartialEq, Eq)]
pub enum ChainSource {
    /// A Bitcoin Core JSON-RPC endpoint.
    BitcoindRpc {
        /// `http://HOST:PORT`, without the credentials (safe to log).
        url: String,
        /// Host name or IP address (an IPv6 address without its brackets).
        host: String,
        /// TCP port.
        port: u16,
        /// RPC user (percent-decoded).
        user: String,
        /// RPC password (percent-decoded). Redacted from `Debug`.
        password: String,
    },
    /// The embedded regtest chain, run in this process (regtest only).
    Embedded {
        /// Mine a block every this many milliseconds, if set.
        automine_ms: Option<u64>,
    },
}

impl fmt::Debug for ChainSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainSource::BitcoindRpc {
                url,
                host,
                port,
                user,
                password: _,
            } => f
                .debug_struct("BitcoindRpc")
                .field("url", url)
                .field("host", host)
                .field("port", port)
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            ChainSource::Embedded { automine_ms } => f
                .debug_struct("Embedded")
                .field("automine_ms", automine_ms)
                .finish(),
        }
    }
}

/// The resolved, validated configuration of `sluice run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Directory holding the node's keys and store.
    pub data_dir: PathBuf,
    /// The Bitcoin network.
    pub network: Network,
    /// Where chain data comes from.
    pub chain_source: ChainSource,
    /// Lightning peer-to-peer listening address.
    pub listen: SocketAddr,
    /// HTTP API listening address.
    pub api_addr: SocketAddr,
    /// Node alias (at most [`NodeConfig::MAX_ALIAS_BYTES`]); `None` when unset or empty.
    pub alias: Option<String>,
    /// Log format.
    pub log_format: LogFormat,
    /// Accepted API tokens (possibly none).
    pub api_tokens: Vec<ApiToken>,
    /// Peers whose inbound channels this node accepts as zero-confirmation (0-conf) channels
    /// (possibly none): a channel such a peer opens to us is usable before its funding
    /// transaction confirms. Until then the peer could double-spend the funding and so take
    /// back what it paid us over the channel; list only peers you trust, e.g. your own LSP.
    pub trusted_peers_0conf: Vec<PublicKey>,
    /// Nodes pathfinding never routes a payment through (possibly none). Lets the operator
    /// steer payments around nodes known to be unreliable, slow or hostile, without waiting
    /// for pathfinding's own scoring to learn it from failed payments.
    pub excluded_nodes: Vec<PublicKey>,
    /// Short channel ids of the channels pathfinding never uses (possibly none), in the BOLT 7
    /// 64-bit form `block << 40 | tx_index << 16 | output_index`. Lets the operator avoid
    /// particular channels, e.g. ones that keep failing, while still using their nodes.
    pub excluded_channels: Vec<u64>,
    /// How many route-finding workers run in parallel (1 to
    /// [`NodeConfig::MAX_PATHFINDING_WORKERS`]). More workers let more payments search for a
    /// route at once; each search costs CPU time and memory, so the default is small.
    pub pathfinding_workers: usize,
    /// How long a payment quote stays valid, in seconds (1 to
    /// [`NodeConfig::MAX_QUOTE_TTL_SECS`]). The route and fees a quote promises go stale as the
    /// network changes, so an expired quote must be asked for again; a longer TTL gives the
    /// payer more time to decide, at the price of staler quotes.
    pub quote_ttl_secs: u64,
    /// Whether HTLCs are forwarded (and received ones made claimable) as soon as they are
    /// irrevocably committed, instead of after LDK's randomised batching delay (about 50 ms on
    /// average, log-normal), which exists to make payment timing harder to correlate.
    /// Node-wide: LDK processes all pending forwards at once, so it cannot be chosen per HTLC.
    /// For routers where latency matters more than that timing privacy. Default `false`.
    pub skip_forward_delay: bool,
    /// How many outgoing payments may be in flight at once (1 to
    /// [`NodeConfig::MAX_SEND_WINDOW`]); further sends wait for a slot, at most 1 s. Each HTLC
    /// in a channel adds a signature to every commitment round, so bounding them keeps rounds
    /// short and latency flat under load.
    pub send_window: usize,
    /// The LSPS2 JIT channel service (the config file's `[lsps2]` section; see
    /// [`crate::lsps2_config`]); `None` when the node sells no JIT channels.
    pub lsps2: Option<Lsps2Config>,
    /// LSPS5 webhooks (the config file's `[lsps5]` section; see
    /// [`crate::lsps5_config`]); `None` when clients cannot register webhooks.
    pub lsps5: Option<Lsps5Config>,
}

impl NodeConfig {
    /// Default network.
    pub const DEFAULT_NETWORK: Network = Network::Regtest;
    /// Default peer-to-peer listening address.
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9735));
    /// Default HTTP API listening address.
    pub const DEFAULT_API_ADDR: SocketAddr =
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 3000));
    /// Default log format.
    pub const DEFAULT_LOG_FORMAT: LogFormat = LogFormat::Human;
    /// Longest alias, in bytes (the size of a BOLT 7 node alias).
    pub const MAX_ALIAS_BYTES: usize = 32;
    /// Default number of route-finding workers: enough that one slow search does not hold up
    /// every other payment, few enough to stay light on a small machine.
    pub const DEFAULT_PATHFINDING_WORKERS: usize = 2;
    /// Most route-finding workers allowed: more would only contend for the same CPUs and
    /// network graph.
    pub const MAX_PATHFINDING_WORKERS: usize = 64;
    /// Default time a payment quote stays valid, in seconds.
    pub const DEFAULT_QUOTE_TTL_SECS: u64 = 60;
    /// Longest time a payment quote may stay valid, in seconds (an hour): older routes and fees
    /// are too likely to have changed.
    pub const MAX_QUOTE_TTL_SECS: u64 = 3600;
    /// By default HTLCs wait for LDK's randomised batching delay, for timing privacy.
    pub const DEFAULT_SKIP_FORWARD_DELAY: bool = false;
    /// Default send window: on the bench line it holds p99 latency near capacity to about a
    /// quarter of the unbounded figure while keeping closed-loop throughput (README).
    pub const DEFAULT_SEND_WINDOW: usize = sluice_actors::payments::DEFAULT_SEND_WINDOW;
    /// Largest send window: LDK accepts at most 483 HTLCs per channel direction, and a node
    /// rarely has more than a few channels' worth of useful parallelism.
    pub const MAX_SEND_WINDOW: usize = 4096;
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
    /// The `[lsps5]` section of the config file is malformed or inconsistent.
    #[error("`lsps5` in config file {}: {message}", path.display())]
    InvalidLsps5 {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The `[lsps2]` section of the config file is malformed or inconsistent.
    #[error("`lsps2` in config file {}: {message}", path.display())]
    InvalidLsps2 {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
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
    /// No data directory was given.
    #[error("no data directory: set --data-dir, SLUICE_DATA_DIR or `data_dir` in the config file")]
    MissingDataDir,
    /// The data directory is the empty path.
    #[error("the data directory from {setting} is empty")]
    EmptyDataDir {
        /// Where it came from.
        setting: Setting,
    },
    /// Not a network sluice runs on.
    #[error(
        "invalid network {value:?} from {setting}: expected regtest, signet or bitcoin (mainnet)"
    )]
    InvalidNetwork {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
    },
    /// Not an `IP:PORT` socket address.
    #[error("invalid address {value:?} from {setting}: expected IP:PORT, e.g. 127.0.0.1:9735")]
    InvalidSocketAddr {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
    },
    /// Not a usable bitcoind RPC URL.
    #[error(
        "invalid bitcoind RPC URL {redacted_url:?} from {setting}: {reason}; expected \
         http://USER:PASS@HOST:PORT"
    )]
    InvalidBitcoindRpc {
        /// Where it came from.
        setting: Setting,
        /// The value given, with any password replaced by `***`.
        redacted_url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a boolean.
    #[error(
        "invalid boolean {value:?} from {setting}: expected true/false, 1/0, yes/no or on/off"
    )]
    InvalidBool {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
    },
    /// Not a positive number of milliseconds.
    #[error("invalid automine interval {value:?} from {setting}: expected milliseconds ≥ 1")]
    InvalidAutomine {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
    },
    /// The alias is longer than [`NodeConfig::MAX_ALIAS_BYTES`].
    #[error("alias from {setting} is {len} bytes long; at most 32 bytes are allowed")]
    AliasTooLong {
        /// Where it came from.
        setting: Setting,
        /// Its length in bytes.
        len: usize,
    },
    /// Not a log format.
    #[error("invalid log format {value:?} from {setting}: expected human or json")]
    InvalidLogFormat {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
    },
    /// A token's hash is not 64 hex characters. The value is not echoed, in case a raw
    /// token was pasted by mistake.
    #[error(
        "API token #{entry} from {setting}: the SHA-256 must be 64 hex characters, got {len} \
         characters{}",
        if *non_hex { " including non-hex ones" } else { "" }
    )]
    InvalidTokenHash {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
        /// Length of the value given, in characters.
        len: usize,
        /// Whether it contains characters that are not hex digits.
        non_hex: bool,
    },
    /// A token names no scope (`HEX` without `:scope`, or `scopes = []`).
    #[error(
        "API token #{entry} from {setting} has no scopes: write HEX:scope+scope on the command \
         line or in the environment, scopes = [\"…\"] in the file; scopes are admin, pay, lp, read"
    )]
    MissingTokenScopes {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
    },
    /// A token names an unknown scope.
    #[error(
        "API token #{entry} from {setting}: unknown scope {scope:?}; expected admin, pay, lp or \
         read"
    )]
    InvalidTokenScope {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
        /// The scope given.
        scope: String,
    },
    /// The same token hash appears twice in one list.
    #[error("API token #{entry} from {setting} repeats an earlier token's SHA-256")]
    DuplicateToken {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
    },
    /// A trusted 0-conf peer is not a node id (66 hex characters: a compressed public key).
    #[error("trusted 0-conf peer #{entry} from {setting}: {value:?} is not a node id: {reason}")]
    InvalidTrustedPeer {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same node id appears twice in one list of trusted 0-conf peers.
    #[error("trusted 0-conf peer #{entry} from {setting} repeats an earlier node id")]
    DuplicateTrustedPeer {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
    },
    /// An excluded node is not a node id (66 hex characters: a compressed public key).
    #[error("excluded node #{entry} from {setting}: {value:?} is not a node id: {reason}")]
    InvalidExcludedNode {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same node id appears twice in one list of excluded nodes.
    #[error("excluded node #{entry} from {setting} repeats an earlier node id")]
    DuplicateExcludedNode {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
    },
    /// An excluded channel is not a short channel id.
    #[error(
        "excluded channel #{entry} from {setting}: {value:?} is not a short channel id: \
         {reason}; expected BLOCKxTXxOUTPUT (e.g. 812x1x0) or a decimal number"
    )]
    InvalidExcludedChannel {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same short channel id appears twice in one list of excluded channels (in either
    /// form).
    #[error("excluded channel #{entry} from {setting} repeats an earlier short channel id")]
    DuplicateExcludedChannel {
        /// Where it came from.
        setting: Setting,
        /// Position in its list, from 1.
        entry: usize,
    },
    /// Not a worker count from 1 to [`NodeConfig::MAX_PATHFINDING_WORKERS`].
    #[error(
        "invalid pathfinding worker count {value:?} from {setting}: expected a whole number from \
         1 to {}",
        NodeConfig::MAX_PATHFINDING_WORKERS
    )]
    InvalidPathfindingWorkers {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
    },
    /// Not a quote lifetime from 1 to [`NodeConfig::MAX_QUOTE_TTL_SECS`] seconds.
    #[error(
        "invalid quote TTL {value:?} from {setting}: expected whole seconds from 1 to {}",
        NodeConfig::MAX_QUOTE_TTL_SECS
    )]
    InvalidQuoteTtl {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
    },
    /// Not a send window from 1 to [`NodeConfig::MAX_SEND_WINDOW`].
    #[error(
        "invalid send window {value:?} from {setting}: expected a whole number from 1 to {}",
        NodeConfig::MAX_SEND_WINDOW
    )]
    InvalidSendWindow {
        /// Where it came from.
        setting: Setting,
        /// The value given.
        value: String,
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

/// Reads the process environment: the lookup to pass to [`load`] outside tests. A variable
/// that is not valid Unicode counts as unset.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Resolves the configuration of `sluice run`: defaults ← the TOML file (from `--config` or
/// `SLUICE_CONFIG`) ← `SLUICE_*` variables looked up with `env` ← `args`. Each layer is
/// validated as it is read (so a bad value is reported even if a higher layer overrides it),
/// then the merged result is checked as a whole.
pub fn load(
    args: RunArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<NodeConfig, ConfigError> {
    let env = |key: Key| -> Option<String> {
        env(key.env_var())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };

    let config_file = match (&args.config, env(Key::Config)) {
        (Some(path), _) => Some((path.clone(), Setting::new(Key::Config, &Origin::Flag))),
        (None, Some(path)) => Some((PathBuf::from(path), Setting::new(Key::Config, &Origin::Env))),
        (None, None) => None,
    };
    let file = match &config_file {
        Some((path, given_by)) => file_layer(path, given_by)?,
        None => Values::default(),
    };
    let env = env_layer(env)?;
    let flags = flag_layer(args)?;
    let merged = flags.over(env).over(file);
    resolve(merged, config_file.map(|(path, _)| path))
}

/// A value with the setting it came from.
#[derive(Debug, Clone)]
struct Sourced<T> {
    value: T,
    setting: Setting,
}

/// The values one layer sets (or, after merging, the values in force).
#[derive(Default)]
struct Values {
    data_dir: Option<Sourced<PathBuf>>,
    network: Option<Sourced<Network>>,
    bitcoind_rpc: Option<Sourced<ChainSource>>,
    embedded_chain: Option<Sourced<bool>>,
    automine_ms: Option<Sourced<u64>>,
    listen: Option<Sourced<SocketAddr>>,
    api_addr: Option<Sourced<SocketAddr>>,
    alias: Option<Sourced<String>>,
    log_format: Option<Sourced<LogFormat>>,
    api_tokens: Option<Sourced<Vec<ApiToken>>>,
    trusted_peers_0conf: Option<Sourced<Vec<PublicKey>>>,
    excluded_nodes: Option<Sourced<Vec<PublicKey>>>,
    excluded_channels: Option<Sourced<Vec<u64>>>,
    pathfinding_workers: Option<Sourced<usize>>,
    quote_ttl_secs: Option<Sourced<u64>>,
    skip_forward_delay: Option<Sourced<bool>>,
    send_window: Option<Sourced<usize>>,
    lsps2: Option<Lsps2Config>,
    lsps5: Option<Lsps5Config>,
}

impl Values {
    /// Key by key, `self` where set, else `lower`.
    fn over(self, lower: Values) -> Values {
        Values {
            data_dir: self.data_dir.or(lower.data_dir),
            network: self.network.or(lower.network),
            bitcoind_rpc: self.bitcoind_rpc.or(lower.bitcoind_rpc),
            embedded_chain: self.embedded_chain.or(lower.embedded_chain),
            automine_ms: self.automine_ms.or(lower.automine_ms),
            listen: self.listen.or(lower.listen),
            api_addr: self.api_addr.or(lower.api_addr),
            alias: self.alias.or(lower.alias),
            log_format: self.log_format.or(lower.log_format),
            api_tokens: self.api_tokens.or(lower.api_tokens),
            trusted_peers_0conf: self.trusted_peers_0conf.or(lower.trusted_peers_0conf),
            excluded_nodes: self.excluded_nodes.or(lower.excluded_nodes),
            excluded_channels: self.excluded_channels.or(lower.excluded_channels),
            pathfinding_workers: self.pathfinding_workers.or(lower.pathfinding_workers),
            quote_ttl_secs: self.quote_ttl_secs.or(lower.quote_ttl_secs),
            skip_forward_delay: self.skip_forward_delay.or(lower.skip_forward_delay),
            send_window: self.send_window.or(lower.send_window),
            lsps2: self.lsps2.or(lower.lsps2),
            lsps5: self.lsps5.or(lower.lsps5),
        }
    }

    /// Checks what must hold within one layer.
    fn check_layer(self) -> Result<Values, ConfigError> {
        if let (Some(rpc), Some(embedded)) = (&self.bitcoind_rpc, &self.embedded_chain) {
            if embedded.value {
                return Err(ConfigError::ConflictingChainSources {
                    bitcoind_rpc: rpc.setting.clone(),
                    embedded_chain: embedded.setting.clone(),
                });
            }
        }
        Ok(self)
    }
}

fn sourced<T>(value: T, key: Key, origin: &Origin) -> Sourced<T> {
    Sourced {
        value,
        setting: Setting::new(key, origin),
    }
}

/// Parses a string value of `key`, as given in any layer.
struct Parse<'a> {
    key: Key,
    origin: &'a Origin,
}

impl Parse<'_> {
    fn setting(&self) -> Setting {
        Setting::new(self.key, self.origin)
    }

    fn done<T>(&self, value: T) -> Sourced<T> {
        sourced(value, self.key, self.origin)
    }

    fn data_dir(&self, raw: PathBuf) -> Result<Sourced<PathBuf>, ConfigError> {
        if raw.as_os_str().is_empty() {
            return Err(ConfigError::EmptyDataDir {
                setting: self.setting(),
            });
        }
        Ok(self.done(raw))
    }

    fn network(&self, raw: &str) -> Result<Sourced<Network>, ConfigError> {
        let network = match raw.to_ascii_lowercase().as_str() {
            "regtest" => Network::Regtest,
            "signet" => Network::Signet,
            "bitcoin" | "mainnet" => Network::Bitcoin,
            _ => {
                return Err(ConfigError::InvalidNetwork {
                    setting: self.setting(),
                    value: raw.to_owned(),
                })
            }
        };
        Ok(self.done(network))
    }

    fn socket_addr(&self, raw: &str) -> Result<Sourced<SocketAddr>, ConfigError> {
        raw.parse()
            .map(|addr| self.done(addr))
            .map_err(|_| ConfigError::InvalidSocketAddr {
                setting: self.setting(),
                value: raw.to_owned(),
            })
    }

    fn bitcoind_rpc(&self, raw: &str) -> Result<Sourced<ChainSource>, ConfigError> {
        parse_bitcoind_url(raw)
            .map(|source| self.done(source))
            .map_err(|reason| ConfigError::InvalidBitcoindRpc {
                setting: self.setting(),
                redacted_url: redact_url(raw),
                reason,
            })
    }

    fn bool(&self, raw: &str) -> Result<Sourced<bool>, ConfigError> {
        let value = match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => {
                return Err(ConfigError::InvalidBool {
                    setting: self.setting(),
                    value: raw.to_owned(),
                })
            }
        };
        Ok(self.done(value))
    }

    fn automine_str(&self, raw: &str) -> Result<Sourced<u64>, ConfigError> {
        match raw.parse::<u64>() {
            Ok(ms) => self.automine(ms, raw),
            Err(_) => Err(ConfigError::InvalidAutomine {
                setting: self.setting(),
                value: raw.to_owned(),
            }),
        }
    }

    fn automine(&self, ms: u64, raw: &str) -> Result<Sourced<u64>, ConfigError> {
        if ms == 0 {
            return Err(ConfigError::InvalidAutomine {
                setting: self.setting(),
                value: raw.to_owned(),
            });
        }
        Ok(self.done(ms))
    }

    fn alias(&self, raw: String) -> Result<Sourced<String>, ConfigError> {
        if raw.len() > NodeConfig::MAX_ALIAS_BYTES {
            return Err(ConfigError::AliasTooLong {
                setting: self.setting(),
                len: raw.len(),
            });
        }
        Ok(self.done(raw))
    }

    fn log_format(&self, raw: &str) -> Result<Sourced<LogFormat>, ConfigError> {
        let format = match raw.to_ascii_lowercase().as_str() {
            "human" => LogFormat::Human,
            "json" => LogFormat::Json,
            _ => {
                return Err(ConfigError::InvalidLogFormat {
                    setting: self.setting(),
                    value: raw.to_owned(),
                })
            }
        };
        Ok(self.done(format))
    }

    /// Parses `HEX:scope+scope` entries (empty entries are skipped).
    fn token_specs<'s>(
        &self,
        specs: impl IntoIterator<Item = &'s str>,
    ) -> Result<Sourced<Vec<ApiToken>>, ConfigError> {
        let mut tokens = Vec::new();
        for spec in specs.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
            let entry = tokens.len() + 1;
            let (hex, scopes) = spec.split_once(':').unwrap_or((spec, ""));
            let scopes: Vec<&str> = scopes
                .split('+')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            tokens.push(self.token(entry, hex.trim(), &scopes)?);
        }
        self.tokens(tokens)
    }

    fn token(&self, entry: usize, hex: &str, scopes: &[&str]) -> Result<ApiToken, ConfigError> {
        let sha256 = decode_hash(hex).ok_or_else(|| ConfigError::InvalidTokenHash {
            setting: self.setting(),
            entry,
            len: hex.chars().count(),
            non_hex: !hex.chars().all(|c| c.is_ascii_hexdigit()),
        })?;
        if scopes.is_empty() {
            return Err(ConfigError::MissingTokenScopes {
                setting: self.setting(),
                entry,
            });
        }
        let scopes = scopes
            .iter()
            .map(|s| {
                ApiScope::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
                    ConfigError::InvalidTokenScope {
                        setting: self.setting(),
                        entry,
                        scope: (*s).to_owned(),
                    }
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(ApiToken { sha256, scopes })
    }

    fn tokens(&self, tokens: Vec<ApiToken>) -> Result<Sourced<Vec<ApiToken>>, ConfigError> {
        for (i, token) in tokens.iter().enumerate() {
            if tokens[..i].iter().any(|t| t.sha256 == token.sha256) {
                return Err(ConfigError::DuplicateToken {
                    setting: self.setting(),
                    entry: i + 1,
                });
            }
        }
        Ok(self.done(tokens))
    }

    /// Parses comma-separated or repeated node ids: entries are trimmed, empty ones skipped.
    fn node_id_specs<'s>(
        &self,
        specs: impl IntoIterator<Item = &'s str>,
    ) -> Result<Sourced<Vec<PublicKey>>, ConfigError> {
        self.node_ids(specs.into_iter().map(str::trim).filter(|s| !s.is_empty()))
    }

    /// Parses a list of node ids, numbered from 1; a repeated node id is an error.
    fn node_ids<'s>(
        &self,
        ids: impl IntoIterator<Item = &'s str>,
    ) -> Result<Sourced<Vec<PublicKey>>, ConfigError> {
        let mut node_ids: Vec<PublicKey> = Vec::new();
        for raw in ids {
            let entry = node_ids.len() + 1;
            let node_id = self.node_id(entry, raw)?;
            if node_ids.contains(&node_id) {
                let setting = self.setting();
                return Err(match self.key {
                    Key::ExcludedNodes => ConfigError::DuplicateExcludedNode { setting, entry },
                    _ => ConfigError::DuplicateTrustedPeer { setting, entry },
                });
            }
            node_ids.push(node_id);
        }
        Ok(self.done(node_ids))
    }

    /// A node id: a 33-byte compressed public key as 66 hex characters.
    fn node_id(&self, entry: usize, raw: &str) -> Result<PublicKey, ConfigError> {
        let reason = if !raw.chars().all(|c| c.is_ascii_hexdigit()) {
            "it contains characters that are not hex digits"
        } else if raw.len() != 66 {
            "a node id is 66 hex characters (a 33-byte compressed public key)"
        } else {
            match PublicKey::from_str(raw) {
                Ok(node_id) => return Ok(node_id),
                Err(_) => {
                    "it is not a valid public key (it must start with 02 or 03 and be a \
                           point on the secp256k1 curve)"
                }
            }
        };
        let (setting, value) = (self.setting(), raw.to_owned());
        Err(match self.key {
            Key::ExcludedNodes => ConfigError::InvalidExcludedNode {
                setting,
                entry,
                value,
                reason,
            },
            _ => ConfigError::InvalidTrustedPeer {
                setting,
                entry,
                value,
                reason,
            },
        })
    }

    /// Parses comma-separated or repeated short channel ids: entries are trimmed, empty ones
    /// skipped.
    fn scid_specs<'s>(
        &self,
        specs: impl IntoIterator<Item = &'s str>,
    ) -> Result<Sourced<Vec<u64>>, ConfigError> {
        self.scids(specs.into_iter().map(str::trim).filter(|s| !s.is_empty()))
    }

    /// Parses a list of short channel ids, numbered from 1; the same channel twice (in either
    /// form) is an error.
    fn scids<'s>(
        &self,
        raws: impl IntoIterator<Item = &'s str>,
    ) -> Result<Sourced<Vec<u64>>, ConfigError> {
        let mut scids: Vec<u64> = Vec::new();
        for raw in raws {
            let entry = scids.len() + 1;
            let scid = parse_scid(raw).map_err(|reason| ConfigError::InvalidExcludedChannel {
                setting: self.setting(),
                entry,
                value: raw.to_owned(),
                reason,
            })?;
            if scids.contains(&scid) {
                return Err(ConfigError::DuplicateExcludedChannel {
                    setting: self.setting(),
                    entry,
                });
            }
            scids.push(scid);
        }
        Ok(self.done(scids))
    }

    fn pathfinding_workers(&self, raw: &str) -> Result<Sourced<usize>, ConfigError> {
        match raw.parse::<usize>() {
            Ok(n) if (1..=NodeConfig::MAX_PATHFINDING_WORKERS).contains(&n) => Ok(self.done(n)),
            _ => Err(ConfigError::InvalidPathfindingWorkers {
                setting: self.setting(),
                value: raw.to_owned(),
            }),
        }
    }

    fn send_window(&self, raw: &str) -> Result<Sourced<usize>, ConfigError> {
        match raw.parse::<usize>() {
            Ok(n) if (1..=NodeConfig::MAX_SEND_WINDOW).contains(&n) => Ok(self.done(n)),
            _ => Err(ConfigError::InvalidSendWindow {
                setting: self.setting(),
                value: raw.to_owned(),
            }),
        }
    }

    fn quote_ttl_secs(&self, raw: &str) -> Result<Sourced<u64>, ConfigError> {
        match raw.parse::<u64>() {
            Ok(secs) if (1..=NodeConfig::MAX_QUOTE_TTL_SECS).contains(&secs) => Ok(self.done(secs)),
            _ => Err(ConfigError::InvalidQuoteTtl {
                setting: self.setting(),
                value: raw.to_owned(),
            }),
        }
    }
}

/// Parses a short channel id: `BLOCKxTXxOUTPUT` (block height and transaction index below
/// 2^24, output index below 2^16) or the decimal `u64` it packs into (BOLT 7),
/// `BLOCK << 40 | TX << 16 | OUTPUT`. On failure, says what is wrong.
fn parse_scid(raw: &str) -> Result<u64, &'static str> {
    fn decimal(part: &str) -> Option<u64> {
        let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| part.parse().ok()).flatten()
    }
    if !raw.contains('x') {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err("it is neither BLOCKxTXxOUTPUT nor a decimal number");
        }
        return decimal(raw).ok_or("the decimal number does not fit in 64 bits");
    }
    let parts: Vec<&str> = raw.split('x').collect();
    let [block, tx, output] = parts[..] else {
        return Err("BLOCKxTXxOUTPUT has exactly three parts separated by x");
    };
    let block = decimal(block).ok_or("the block height is not a decimal number")?;
    let tx = decimal(tx).ok_or("the transaction index is not a decimal number")?;
    let output = decimal(output).ok_or("the output index is not a decimal number")?;
    if block >= 1 << 24 {
        return Err("the block height must be below 16777216 (2^24)");
    }
    if tx >= 1 << 24 {
        return Err("the transaction index must be below 16777216 (2^24)");
    }
    if output >= 1 << 16 {
        return Err("the output index must be below 65536 (2^16)");
    }
    Ok(block << 40 | tx << 16 | output)
}

fn parse(key: Key, origin: &Origin) -> Parse<'_> {
    Parse { key, origin }
}

fn flag_layer(args: RunArgs) -> Result<Values, ConfigError> {
    let o = &Origin::Flag;
    let mut v = Values::default();
    if let Some(dir) = args.data_dir {
        v.data_dir = Some(parse(Key::DataDir, o).data_dir(dir)?);
    }
    if let Some(raw) = &args.network {
        v.network = Some(parse(Key::Network, o).network(raw)?);
    }
    if let Some(raw) = &args.bitcoind_rpc {
        v.bitcoind_rpc = Some(parse(Key::BitcoindRpc, o).bitcoind_rpc(raw)?);
    }
    v.embedded_chain = args
        .embedded_chain
        .map(|b| sourced(b, Key::EmbeddedChain, o));
    if let Some(ms) = args.embedded_chain_automine_ms {
        v.automine_ms = Some(parse(Key::EmbeddedChainAutomineMs, o).automine(ms, &ms.to_string())?);
    }
    if let Some(raw) = &args.listen {
        v.listen = Some(parse(Key::Listen, o).socket_addr(raw)?);
    }
    if let Some(raw) = &args.api_addr {
        v.api_addr = Some(parse(Key::ApiAddr, o).socket_addr(raw)?);
    }
    if let Some(raw) = args.alias {
        v.alias = Some(parse(Key::Alias, o).alias(raw)?);
    }
    if let Some(raw) = &args.log_format {
        v.log_format = Some(parse(Key::LogFormat, o).log_format(raw)?);
    }
    if let Some(specs) = &args.api_token_sha256 {
        v.api_tokens =
            Some(parse(Key::ApiTokens, o).token_specs(specs.iter().map(String::as_str))?);
    }
    if let Some(specs) = &args.trusted_peer_0conf {
        v.trusted_peers_0conf =
            Some(parse(Key::TrustedPeers0conf, o).node_id_specs(specs.iter().map(String::as_str))?);
    }
    if let Some(specs) = &args.exclude_node {
        v.excluded_nodes =
            Some(parse(Key::ExcludedNodes, o).node_id_specs(specs.iter().map(String::as_str))?);
    }
    if let Some(specs) = &args.exclude_channel {
        v.excluded_channels =
            Some(parse(Key::ExcludedChannels, o).scid_specs(specs.iter().map(String::as_str))?);
    }
    if let Some(raw) = &args.pathfinding_workers {
        v.pathfinding_workers = Some(parse(Key::PathfindingWorkers, o).pathfinding_workers(raw)?);
    }
    if let Some(raw) = &args.quote_ttl_secs {
        v.quote_ttl_secs = Some(parse(Key::QuoteTtlSecs, o).quote_ttl_secs(raw)?);
    }
    v.skip_forward_delay = args
        .skip_forward_delay
        .map(|b| sourced(b, Key::SkipForwardDelay, o));
    if let Some(raw) = &args.send_window {
        v.send_window = Some(parse(Key::SendWindow, o).send_window(raw)?);
    }
    v.check_layer()
}

fn env_layer(env: impl Fn(Key) -> Option<String>) -> Result<Values, ConfigError> {
    let o = &Origin::Env;
    let mut v = Values::default();
    if let Some(raw) = env(Key::DataDir) {
        v.data_dir = Some(parse(Key::DataDir, o).data_dir(PathBuf::from(raw))?);
    }
    if let Some(raw) = env(Key::Network) {
        v.network = Some(parse(Key::Network, o).network(&raw)?);
    }
    if let Some(raw) = env(Key::BitcoindRpc) {
        v.bitcoind_rpc = Some(parse(Key::BitcoindRpc, o).bitcoind_rpc(&raw)?);
    }
    if let Some(raw) = env(Key::EmbeddedChain) {
        v.embedded_chain = Some(parse(Key::EmbeddedChain, o).bool(&raw)?);
    }
    if let Some(raw) = env(Key::EmbeddedChainAutomineMs) {
        v.automine_ms = Some(parse(Key::EmbeddedChainAutomineMs, o).automine_str(&raw)?);
    }
    if let Some(raw) = env(Key::Listen) {
        v.listen = Some(parse(Key::Listen, o).socket_addr(&raw)?);
    }
    if let Some(raw) = env(Key::ApiAddr) {
        v.api_addr = Some(parse(Key::ApiAddr, o).socket_addr(&raw)?);
    }
    if let Some(raw) = env(Key::Alias) {
        v.alias = Some(parse(Key::Alias, o).alias(raw)?);
    }
    if let Some(raw) = env(Key::LogFormat) {
        v.log_format = Some(parse(Key::LogFormat, o).log_format(&raw)?);
    }
    if let Some(raw) = env(Key::ApiTokens) {
        v.api_tokens = Some(parse(Key::ApiTokens, o).token_specs(raw.split(','))?);
    }
    if let Some(raw) = env(Key::TrustedPeers0conf) {
        v.trusted_peers_0conf =
            Some(parse(Key::TrustedPeers0conf, o).node_id_specs(raw.split(','))?);
    }
    if let Some(raw) = env(Key::ExcludedNodes) {
        v.excluded_nodes = Some(parse(Key::ExcludedNodes, o).node_id_specs(raw.split(','))?);
    }
    if let Some(raw) = env(Key::ExcludedChannels) {
        v.excluded_channels = Some(parse(Key::ExcludedChannels, o).scid_specs(raw.split(','))?);
    }
    if let Some(raw) = env(Key::PathfindingWorkers) {
        v.pathfinding_workers = Some(parse(Key::PathfindingWorkers, o).pathfinding_workers(&raw)?);
    }
    if let Some(raw) = env(Key::QuoteTtlSecs) {
        v.quote_ttl_secs = Some(parse(Key::QuoteTtlSecs, o).quote_ttl_secs(&raw)?);
    }
    if let Some(raw) = env(Key::SkipForwardDelay) {
        v.skip_forward_delay = Some(parse(Key::SkipForwardDelay, o).bool(&raw)?);
    }
    if let Some(raw) = env(Key::SendWindow) {
        v.send_window = Some(parse(Key::SendWindow, o).send_window(&raw)?);
    }
    v.check_layer()
}

/// Top-level keys of the config file, for "did you mean" hints.
const FILE_KEYS: [&str; 19] = [
    "data_dir",
    "network",
    "bitcoind_rpc",
    "embedded_chain",
    "embedded_chain_automine_ms",
    "listen",
    "api_addr",
    "alias",
    "log_format",
    "api",
    "trusted_peers_0conf",
    "excluded_nodes",
    "excluded_channels",
    "pathfinding_workers",
    "quote_ttl_secs",
    "skip_forward_delay",
    "send_window",
    "lsps2",
    "lsps5",
];

fn file_layer(path: &Path, given_by: &Setting) -> Result<Values, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        given_by: given_by.clone(),
        source,
    })?;
    let table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ConfigError::FileSyntax {
                path: path.to_owned(),
                message: e.to_string().trim_end().to_owned(),
            })?;
    let file = FileReader { path };
    let o = &Origin::File(path.to_owned());
    let mut v = Values::default();
    for (name, value) in &table {
        match name.as_str() {
            "data_dir" => {
                let raw = file.str(name, value)?;
                v.data_dir = Some(parse(Key::DataDir, o).data_dir(PathBuf::from(raw))?);
            }
            "network" => v.network = Some(parse(Key::Network, o).network(file.str(name, value)?)?),
            "bitcoind_rpc" => {
                v.bitcoind_rpc =
                    Some(parse(Key::BitcoindRpc, o).bitcoind_rpc(file.str(name, value)?)?);
            }
            "embedded_chain" => {
                let b = value
                    .as_bool()
                    .ok_or_else(|| file.wrong(name, "a boolean", value))?;
                v.embedded_chain = Some(sourced(b, Key::EmbeddedChain, o));
            }
            "embedded_chain_automine_ms" => {
                let n = value
                    .as_integer()
                    .ok_or_else(|| file.wrong(name, "an integer (milliseconds)", value))?;
                let p = parse(Key::EmbeddedChainAutomineMs, o);
                let ms = u64::try_from(n).map_err(|_| ConfigError::InvalidAutomine {
                    setting: p.setting(),
                    value: n.to_string(),
                })?;
                v.automine_ms = Some(p.automine(ms, &n.to_string())?);
            }
            "listen" => v.listen = Some(parse(Key::Listen, o).socket_addr(file.str(name, value)?)?),
            "api_addr" => {
                v.api_addr = Some(parse(Key::ApiAddr, o).socket_addr(file.str(name, value)?)?);
            }
            "alias" => {
                v.alias = Some(parse(Key::Alias, o).alias(file.str(name, value)?.to_owned())?)
            }
            "log_format" => {
                v.log_format = Some(parse(Key::LogFormat, o).log_format(file.str(name, value)?)?);
            }
            "api" => v.api_tokens = file.api(value, o)?,
            "trusted_peers_0conf" => {
                let ids = file.strings(name, value)?;
                v.trusted_peers_0conf = Some(parse(Key::TrustedPeers0conf, o).node_ids(ids)?);
            }
            "excluded_nodes" => {
                let ids = file.strings(name, value)?;
                v.excluded_nodes = Some(parse(Key::ExcludedNodes, o).node_ids(ids)?);
            }
            "excluded_channels" => {
                let scids = file.strings(name, value)?;
                v.excluded_channels = Some(parse(Key::ExcludedChannels, o).scids(scids)?);
            }
            "pathfinding_workers" => {
                let n = file.integer(name, value)?;
                v.pathfinding_workers =
                    Some(parse(Key::PathfindingWorkers, o).pathfinding_workers(&n.to_string())?);
            }
            "quote_ttl_secs" => {
                let n = file.integer(name, value)?;
                v.quote_ttl_secs =
                    Some(parse(Key::QuoteTtlSecs, o).quote_ttl_secs(&n.to_string())?);
            }
            "skip_forward_delay" => {
                let b = value
                    .as_bool()
                    .ok_or_else(|| file.wrong(name, "a boolean", value))?;
                v.skip_forward_delay = Some(sourced(b, Key::SkipForwardDelay, o));
            }
            "send_window" => {
                let n = file.integer(name, value)?;
                v.send_window = Some(parse(Key::SendWindow, o).send_window(&n.to_string())?);
            }
            "lsps2" => v.lsps2 = Some(crate::lsps2_config::parse(path, value)?),
            "lsps5" => v.lsps5 = Some(crate::lsps5_config::parse(path, value)?),
            _ => return Err(file.unknown(name, &FILE_KEYS, "")),
        }
    }
    if v.lsps5.is_some() && v.lsps2.is_none() {
        return Err(ConfigError::InvalidLsps5 {
            path: path.to_owned(),
            message: "needs an `[lsps2]` section: webhooks wake clients for JIT payments".into(),
        });
    }
    v.check_layer()
}

/// Reads typed values out of the config file, naming the file and key on failure.
struct FileReader<'a> {
    path: &'a Path,
}

impl FileReader<'_> {
    fn wrong(&self, key: &str, expected: &'static str, found: &toml::Value) -> ConfigError {
        ConfigError::WrongType {
            path: self.path.to_owned(),
            key: key.to_owned(),
            expected,
            found: found.type_str(),
        }
    }

    fn unknown(&self, key: &str, known: &[&str], prefix: &str) -> ConfigError {
        ConfigError::UnknownKey {
            path: self.path.to_owned(),
            key: format!("{prefix}{key}"),
            suggestion: closest(key, known).map(|k| format!("{prefix}{k}")),
        }
    }

    fn str<'v>(&self, key: &str, value: &'v toml::Value) -> Result<&'v str, ConfigError> {
        value
            .as_str()
            .ok_or_else(|| self.wrong(key, "a string", value))
    }

    /// An integer.
    fn integer(&self, key: &str, value: &toml::Value) -> Result<i64, ConfigError> {
        value
            .as_integer()
            .ok_or_else(|| self.wrong(key, "an integer", value))
    }

    /// An array of strings.
    fn strings<'v>(&self, key: &str, value: &'v toml::Value) -> Result<Vec<&'v str>, ConfigError> {
        let array = value
            .as_array()
            .ok_or_else(|| self.wrong(key, "an array of strings", value))?;
        array.iter().map(|s| self.str(key, s)).collect()
    }

    /// The `[api]` table: only `tokens`, an array of `{ sha256, scopes }` tables.
    fn api(
        &self,
        value: &toml::Value,
        o: &Origin,
    ) -> Result<Option<Sourced<Vec<ApiToken>>>, ConfigError> {
        let table = value
            .as_table()
            .ok_or_else(|| self.wrong("api", "a table", value))?;
        let mut tokens = None;
        for (name, value) in table {
            if name != "tokens" {
                return Err(self.unknown(name, &["tokens"], "api."));
            }
            let entries = value.as_array().ok_or_else(|| {
                self.wrong("api.tokens", "an array of tables ([[api.tokens]])", value)
            })?;
            let p = parse(Key::ApiTokens, o);
            let mut list = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                list.push(self.token(&p, i + 1, entry)?);
            }
            tokens = Some(p.tokens(list)?);
        }
        Ok(tokens)
    }

    fn token(
        &self,
        p: &Parse<'_>,
        entry: usize,
        value: &toml::Value,
    ) -> Result<ApiToken, ConfigError> {
        let table = value.as_table().ok_or_else(|| {
            self.wrong("api.tokens", "an array of tables ([[api.tokens]])", value)
        })?;
        let mut sha256 = None;
        let mut scopes = None;
        for (name, value) in table {
            match name.as_str() {
                "sha256" => sha256 = Some(self.str("api.tokens.sha256", value)?),
                "scopes" => {
                    let array = value.as_array().ok_or_else(|| {
                        self.wrong("api.tokens.scopes", "an array of strings", value)
                    })?;
                    let names = array
                        .iter()
                        .map(|s| self.str("api.tokens.scopes", s))
                        .collect::<Result<Vec<_>, _>>()?;
                    scopes = Some(names);
                }
                _ => return Err(self.unknown(name, &["sha256", "scopes"], "api.tokens.")),
            }
        }
        let sha256 = sha256.ok_or_else(|| ConfigError::MissingFileKey {
            path: self.path.to_owned(),
            key: "api.tokens.sha256",
        })?;
        p.token(entry, sha256, &scopes.unwrap_or_default())
    }
}

/// The known key closest to `key`, if it is close enough to be a typo.
fn closest(key: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(key.len().max(k.len()) / 3))
        .min()
        .map(|(_, k)| k.to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

fn decode_hash(hex: &str) -> Option<[u8; 32]> {
    use bitcoin::hex::FromHex;
    <[u8; 32]>::from_hex(hex).ok()
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses `http://USER:PASS@HOST:PORT` (an optional trailing `/`; USER and PASS
/// percent-decoded; HOST a name, an IPv4 address or a bracketed IPv6 address).
fn parse_bitcoind_url(raw: &str) -> Result<ChainSource, &'static str> {
    let rest = match raw.strip_prefix("http://") {
        Some(rest) => rest,
        None if raw.starts_with("https://") => {
            return Err("https is not supported (Bitcoin Core's RPC speaks plain HTTP)")
        }
        None => return Err("it must start with http://"),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (userinfo, hostport) = rest
        .rsplit_once('@')
        .ok_or("credentials are missing (USER:PASS@)")?;
    if hostport.contains(['/', '?', '#']) {
        return Err("a path, query or fragment is not supported");
    }
    let (user, password) = userinfo
        .split_once(':')
        .ok_or("the password is missing (USER:PASS@)")?;
    let user = percent_decode(user).ok_or("the user is not valid percent-encoded UTF-8")?;
    let password =
        percent_decode(password).ok_or("the password is not valid percent-encoded UTF-8")?;
    if user.is_empty() {
        return Err("the user is empty");
    }
    if password.is_empty() {
        return Err("the password is empty");
    }
    let (host, port, url_host) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (ip, port) = bracketed
            .split_once("]:")
            .ok_or("the port is missing (HOST:PORT)")?;
        ip.parse::<Ipv6Addr>()
            .map_err(|_| "the bracketed host is not an IPv6 address")?;
        (ip, port, format!("[{ip}]"))
    } else {
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or("the port is missing (HOST:PORT)")?;
        if host.contains(':') {
            return Err("an IPv6 host must be in brackets, e.g. http://u:p@[::1]:8332");
        }
        let valid_name = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if !valid_name {
            return Err("the host is not a host name or IP address");
        }
        (host, port, host.to_owned())
    };
    let port: u16 = port
        .parse()
        .map_err(|_| "the port is not a number from 1 to 65535")?;
    if port == 0 {
        return Err("the port is not a number from 1 to 65535");
    }
    Ok(ChainSource::BitcoindRpc {
        url: format!("http://{url_host}:{port}"),
        host: host.to_owned(),
        port,
        user,
        password,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex_value(*bytes.get(i + 1)?)?;
            let lo = hex_value(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with everything between the user's `:` and the last `@` replaced by `***`.
fn redact_url(raw: &str) -> String {
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), raw),
    };
    match rest.rsplit_once('@') {
        Some((userinfo, hostport)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}{user}:***@{hostport}"),
            None => format!("{scheme}{userinfo}@{hostport}"),
        },
        None => raw.to_owned(),
    }
}

fn resolve(v: Values, config_file: Option<PathBuf>) -> Result<NodeConfig, ConfigError> {
    let data_dir = v.data_dir.ok_or(ConfigError::MissingDataDir)?.value;
    let network = v
        .network
        .unwrap_or_else(|| sourced(NodeConfig::DEFAULT_NETWORK, Key::Network, &Origin::Default));
    let chain_source = resolve_chain(v.bitcoind_rpc, v.embedded_chain, v.automine_ms, &network)?;
    Ok(NodeConfig {
        config_file,
        data_dir,
        network: network.value,
        chain_source,
        listen: v.listen.map_or(NodeConfig::DEFAULT_LISTEN, |s| s.value),
        api_addr: v.api_addr.map_or(NodeConfig::DEFAULT_API_ADDR, |s| s.value),
        alias: v.alias.map(|s| s.value).filter(|a| !a.is_empty()),
        log_format: v
            .log_format
            .map_or(NodeConfig::DEFAULT_LOG_FORMAT, |s| s.value),
        api_tokens: v.api_tokens.map(|s| s.value).unwrap_or_default(),
        trusted_peers_0conf: v.trusted_peers_0conf.map(|s| s.value).unwrap_or_default(),
        excluded_nodes: v.excluded_nodes.map(|s| s.value).unwrap_or_default(),
        excluded_channels: v.excluded_channels.map(|s| s.value).unwrap_or_default(),
        pathfinding_workers: v
            .pathfinding_workers
            .map_or(NodeConfig::DEFAULT_PATHFINDING_WORKERS, |s| s.value),
        quote_ttl_secs: v
            .quote_ttl_secs
            .map_or(NodeConfig::DEFAULT_QUOTE_TTL_SECS, |s| s.value),
        skip_forward_delay: v
            .skip_forward_delay
            .map_or(NodeConfig::DEFAULT_SKIP_FORWARD_DELAY, |s| s.value),
        send_window: v
            .send_window
            .map_or(NodeConfig::DEFAULT_SEND_WINDOW, |s| s.value),
        lsps2: v.lsps2,
        lsps5: v.lsps5,
    })
}

/// Picks the chain source. Within a layer both sources are already rejected; across layers
/// the higher layer's choice wins, and an automine interval set at or above the layer that
/// chose bitcoind is an error (below it, it was overridden with the embedded chain).
fn resolve_chain(
    rpc: Option<Sourced<ChainSource>>,
    embedded: Option<Sourced<bool>>,
    automine: Option<Sourced<u64>>,
    network: &Sourced<Network>,
) -> Result<ChainSource, ConfigError> {
    let embedded = embedded.filter(|e| e.value);
    match (rpc, embedded) {
        (None, None) => Err(ConfigError::MissingChainSource),
        (Some(r), Some(e)) if r.setting.origin.rank() == e.setting.origin.rank() => {
            Err(ConfigError::ConflictingChainSources {
                bitcoind_rpc: r.setting,
                embedded_chain: e.setting,
            })
        }
        (Some(r), Some(e)) if e.setting.origin.rank() > r.setting.origin.rank() => {
            embedded_chain(e, automine, network)
        }
        (Some(r), _) => {
            if let Some(a) = automine {
                if a.setting.origin.rank() >= r.setting.origin.rank() {
                    return Err(ConfigError::AutomineWithoutEmbeddedChain {
                        setting: a.setting,
                        chain_setting: r.setting,
                    });
                }
            }
            Ok(r.value)
        }
        (None, Some(e)) => embedded_chain(e, automine, network),
    }
}

fn embedded_chain(
    embedded: Sourced<bool>,
    automine: Option<Sourced<u64>>,
    network: &Sourced<Network>,
) -> Result<ChainSource, ConfigError> {
    if network.value != Network::Regtest {
        return Err(ConfigError::EmbeddedChainRequiresRegtest {
            embedded_chain: embedded.setting,
            network: network.value,
            network_setting: network.setting.clone(),
        });
    }
    Ok(ChainSource::Embedded {
        automine_ms: automine.map(|a| a.value),
    })
}
