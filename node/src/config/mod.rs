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
//! | `--api-allow-plaintext[=BOOL]` | `SLUICE_API_ALLOW_PLAINTEXT`        | `api_allow_plaintext`        |
//! | `--api-tls-cert FILE`          | `SLUICE_API_TLS_CERT`               | `api_tls_cert`               |
//! | `--api-tls-key FILE`           | `SLUICE_API_TLS_KEY`                | `api_tls_key`                |
//! | `--api-header-read-timeout-secs N` | `SLUICE_API_HEADER_READ_TIMEOUT_SECS` | `api_header_read_timeout_secs` |
//! | `--api-idle-timeout-secs N`    | `SLUICE_API_IDLE_TIMEOUT_SECS`      | `api_idle_timeout_secs`      |
//! | `--api-max-connections N`      | `SLUICE_API_MAX_CONNECTIONS`        | `api_max_connections`        |
//! | `--api-rate-limit N`           | `SLUICE_API_RATE_LIMIT`             | `api_rate_limit`             |
//! | `--api-rate-limit-burst N`     | `SLUICE_API_RATE_LIMIT_BURST`       | `api_rate_limit_burst`       |
//! | `--trusted-peer-0conf NODE_ID` | `SLUICE_TRUSTED_PEERS_0CONF`        | `trusted_peers_0conf`        |
//! | `--exclude-node NODE_ID`       | `SLUICE_EXCLUDED_NODES`             | `excluded_nodes`             |
//! | `--exclude-channel SCID`       | `SLUICE_EXCLUDED_CHANNELS`          | `excluded_channels`          |
//! | `--pathfinding-workers N`      | `SLUICE_PATHFINDING_WORKERS`        | `pathfinding_workers`        |
//! | `--quote-ttl-secs N`           | `SLUICE_QUOTE_TTL_SECS`             | `quote_ttl_secs`             |
//! | `--skip-forward-delay[=BOOL]`  | `SLUICE_SKIP_FORWARD_DELAY`         | `skip_forward_delay`         |
//! | `--send-window N`              | `SLUICE_SEND_WINDOW`                | `send_window`                |
//! | `--ldk-timer-tick-secs N`      | `SLUICE_LDK_TIMER_TICK_SECS`        | `ldk_timer_tick_secs`        |
//! | `--refresh-monitor-kib N`      | `SLUICE_REFRESH_MONITOR_KIB`        | `refresh_monitor_kib`        |
//! | `--forwarding-fee-base-msat N` | `SLUICE_FORWARDING_FEE_BASE_MSAT`   | `forwarding_fee_base_msat`   |
//! | `--forwarding-fee-ppm N`       | `SLUICE_FORWARDING_FEE_PPM`         | `forwarding_fee_ppm`         |
//! | —                              | —                                   | `[lsps2]` ([`lsps2`])        |
//! | `--lsps2-max-unclaimed-sat N`  | `SLUICE_LSPS2_MAX_UNCLAIMED_SAT`    | `max_unclaimed_sat` in `[lsps2]` |
//! | `--lsps2-unclaimed-window-secs N` | `SLUICE_LSPS2_UNCLAIMED_WINDOW_SECS` | `unclaimed_window_secs` in `[lsps2]` |
//! | `--lsps2-unclaimed-close-after-secs N` | `SLUICE_LSPS2_UNCLAIMED_CLOSE_AFTER_SECS` | `unclaimed_close_after_secs` in `[lsps2]` |
//! | `--lsps2-max-live-orders N`    | `SLUICE_LSPS2_MAX_LIVE_ORDERS`      | `max_live_orders` in `[lsps2]` |
//! | `--lsps2-order-retention-secs N` | `SLUICE_LSPS2_ORDER_RETENTION_SECS` | `order_retention_secs` in `[lsps2]` |
//! | —                              | —                                   | `[lsps5]` ([`lsps5`])        |
//! | —                              | —                                   | `[pool]` ([`pool`])          |
//! | —                              | —                                   | `[nostr]` ([`nostr`])        |
//! | —                              | —                                   | `[rebalancer]` ([`rebalancer`]) |
//!
//! A TOML file with every key (the `[lsps2]`, `[lsps5]`, `[pool]`, `[nostr]` and
//! `[rebalancer]` sections are in their modules):
//!
//! ```toml
//! data_dir = "/var/lib/sluice"
//! network = "signet"                       # regtest (default) | signet | bitcoin (or mainnet)
//! bitcoind_rpc = "http://user:pass@127.0.0.1:38332"
//! # embedded_chain = true                  # instead of bitcoind_rpc; regtest only
//! # embedded_chain_automine_ms = 1000      # embedded chain only
//! listen = "0.0.0.0:9735"                  # default 127.0.0.1:9735
//! api_addr = "127.0.0.1:3000"              # default 127.0.0.1:3000
//! # Not loopback needs TLS (both files, PEM) or api_allow_plaintext = true.
//! # api_tls_cert = "/etc/sluice/api-cert.pem"   # the chain, leaf first
//! # api_tls_key = "/etc/sluice/api-key.pem"
//! # api_allow_plaintext = false            # default false
//! api_header_read_timeout_secs = 10        # 1 to 3600; default 10
//! api_idle_timeout_secs = 60               # 1 to 3600; default 60
//! api_max_connections = 512                # 1 to 65536; default 512
//! api_rate_limit = 1000                    # per token, money routes; 0 = off; default 1000
//! api_rate_limit_burst = 2000              # 1 to 1000000; default 2000
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
//! # batching delay (50 ms on average, hides payment timing). For latency-bound routers.
//! skip_forward_delay = true                # default false
//! send_window = 64                         # payments in flight at once, 1 to 4096; default 64
//! ldk_timer_tick_secs = 30                 # 1 to 60; default 30 (LDK's own: 60)
//! refresh_monitor_kib = 16384              # 0 (off) to 4194304 (4 GiB); default 16384
//! forwarding_fee_base_msat = 1000          # for channels opened from now on; default 1000
//! forwarding_fee_ppm = 0                   # millionths, 0 to 1000000; default 0
//!
//! [[api.tokens]]
//! sha256 = "<64 hex chars: SHA-256 of the bearer token>"
//! scopes = ["admin"]                       # any of admin, pay, lp, read
//!
//! [[api.tokens]]                           # an agent's token with a spend budget
//! sha256 = "<64 hex chars>"
//! scopes = ["pay", "read"]
//! budget = { max_per_payment_msat = 100000, max_per_period_msat = 10000000, renewal = "daily",
//!            expires_at = "2027-01-01T00:00:00Z", allowed_destinations = ["02…"] }
//! ```
//!
//! Unknown keys are rejected, so a typo does not silently fall back to a default; a key
//! close to a known one gets a "did you mean".
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
//! - `pathfinding_workers` (1 to 64), `quote_ttl_secs` (1 to 3600), `send_window` (1 to 4096),
//!   `embedded_chain_automine_ms` (at least 1) and the `api_*` numbers (ranges above) are
//!   whole numbers; a value outside its range is an error, not clamped.
//! - `skip_forward_delay` forwards HTLCs (and makes received ones claimable) as soon as they
//!   are irrevocably committed, instead of after a random batching delay (50 ms on average,
//!   exponential), which exists to make payment timing harder to correlate. It is
//!   node-wide: LDK processes all pending forwards at once, so it cannot be chosen per HTLC.
//!   For routers where latency matters more than that timing privacy.
//! - `ldk_timer_tick_secs` (1 to 60, default 30) is how often LDK's timer tick runs. LDK
//!   forgets a fulfilled payment 8 ticks after it ended and writes every payment it still
//!   remembers with each channel manager write, so at LDK's own minute a busy payer writes
//!   eight minutes of payments each time; sluice's own records make a payment happen once
//!   whatever LDK remembers. LDK's other tick-counted timeouts shorten with it (listed in
//!   `sluice_actors::processor::DEFAULT_TIMER_TICK`): below 30 s a payee fails incomplete
//!   multi-part payments sooner than BOLT 4's 60 s and a slow cooperative close can turn
//!   into a force close, so shorter ticks suit nodes that mostly pay.
//! - `refresh_monitor_kib` (0 to 4194304, default 16384, 16 MiB): a channel whose monitor
//!   has grown to this many KiB is spliced (a "refresh", `sluice_actors::refresh`), which
//!   lets LDK drop the history of every commitment of the old funding output. The funder
//!   refreshes at this size and the other end at twice it. Each refresh moves 1,000 sat
//!   from the channel to the wallet and pays one on-chain fee. 0 turns refreshing off:
//!   monitors then grow by about 230 bytes per payment until their channels close.
//! - The API listens on loopback by default. On any other address (`0.0.0.0` included) it
//!   needs TLS (`api_tls_cert` and `api_tls_key`, both or neither; their files are read and
//!   checked, key against certificate, when the configuration is loaded) or
//!   `api_allow_plaintext = true`, which logs a warning at start: bearer tokens must not
//!   cross a network in the clear unless something else (a TLS-terminating proxy, a private
//!   link) protects them.
//! - The API's limits (ARCHITECTURE.md §8): a request's head must arrive within
//!   `api_header_read_timeout_secs` of its first byte (a TLS handshake too); a connection
//!   waiting for a request is closed after `api_idle_timeout_secs`; at most
//!   `api_max_connections` are open, more are closed as they arrive; each token may make
//!   `api_rate_limit` requests a second (bursts of `api_rate_limit_burst`) to the money
//!   routes (paying, keysend, quoting, invoices), beyond which they answer 429
//!   `rate_limited` with `Retry-After`. `api_rate_limit = 0` turns the rate limit off.
//! - Exactly one chain source. Setting both `bitcoind_rpc` and `embedded_chain = true` in one
//!   layer is an error; across layers, the chain source chosen by the higher layer wins (so
//!   `--embedded-chain` overrides a file's `bitcoind_rpc`, and an overridden embedded chain takes
//!   its lower-layer `embedded_chain_automine_ms` with it).
//! - The `lsps2_*` settings are keys of the `[lsps2]` section in the file (`lsps2.KEY` in
//!   messages) and apply only with that section: given in the environment or as a flag
//!   without it, they are an error ([`ConfigError::Lsps2SettingWithoutSection`]).
//! - Every layer's value is checked, so a bad value is reported even where a higher layer
//!   overrides it.
//! - An environment variable that is empty (or only whitespace) counts as unset; values are
//!   trimmed. Boolean variables accept `1/0`, `true/false`, `yes/no`, `on/off`.
//! - The bitcoind URL is `http://USER:PASS@HOST:PORT`; in error messages its password is
//!   replaced by `***`.
//! - Relative paths are taken relative to the working directory of the process (the
//!   `[lsps5]` CA file: relative to the config file's directory).
//! - Addresses are `IP:PORT` (no host names): they are bound, not resolved.
//!
//! # How it is built
//!
//! clap derives the flags and `--help` from [`RunArgs`], whose fields are also the list of
//! settings: the file's known keys, the environment variables to look up and the flag names
//! all come from it ([`Key`]). Each layer is read into a table of raw values (the file with
//! `toml`, the flags by serializing [`RunArgs`] with serde; `layers.rs`), and `resolve`
//! takes every setting once, in one line: its value in each layer is checked with a check
//! from `values.rs` (typed TOML in the file, text elsewhere) and the highest layer's is kept,
//! or the default. The `[lsps2]` and `[lsps5]` sections are serde-derived structs ([`lsps2`],
//! [`lsps5`]). `url` parses the bitcoind URL, `strsim` finds the "did you mean".
//!
//! Not clap's `env` feature: clap reads only the process environment (tests and embedders
//! pass a lookup), reads a variable only when the flag is absent (so an overridden bad value
//! would go unreported), and its errors name the flag even for a variable. Not figment: it
//! merges before anything is checked (the same two problems), its environment provider
//! reads the process too and guesses types from the text (`SLUICE_ALIAS=8080` would be a
//! number, not the alias), and its errors would have to be mapped back to the setting and
//! layer that [`ConfigError`] names; the provenance it keeps is what `layers.rs` keeps here
//! in a few lines.

mod budget;
mod error;
mod layers;
pub mod lsps2;
pub mod lsps5;
pub mod nostr;
pub mod pool;
pub mod rebalancer;
mod values;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use serde::Serialize;
use sluice_actors::lsps2::Lsps2Config;
use sluice_actors::lsps5::Lsps5Config;
use sluice_actors::nostr::NostrConfig;
use sluice_actors::pool::PoolConfig;
use sluice_actors::rebalance::RebalancerConfig;

pub use error::{ConfigError, Key, Origin, Setting};
use layers::{Layers, Sourced};
pub use values::{ApiScope, ApiTls, ApiToken, ChainSource, LogFormat};

/// Appended to `sluice run --help`.
const PRECEDENCE_HELP: &str = "\
Every flag is also a config-file key and a SLUICE_* environment variable. Flags override \
the environment, the environment overrides the config file, and the file overrides the \
defaults. Exactly one chain source is required: --bitcoind-rpc or --embedded-chain \
(regtest only).";

/// Flags of `sluice run`, and the list of settings: each field is named after the setting's
/// config key, its environment variable is `SLUICE_` and the name in upper case, and its
/// flag is the clap `long` name (see [`Key`]). Every field is optional so that an absent
/// flag leaves the lower layers in force, and is a string, a list of strings or a boolean:
/// [`load`] checks the text itself, so that a bad value is reported the same way whichever
/// layer gave it. Adding a setting: a field here (its doc is its `--help`, naming its
/// variable and key), a field in [`NodeConfig`] and its line in `resolve` with a check from
/// `values.rs` (or a new one there), and its tests.
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
#[command(after_long_help = PRECEDENCE_HELP)]
pub struct RunArgs {
    /// TOML config file; unknown keys are rejected. [env: SLUICE_CONFIG]
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Directory holding the node's keys and store (required). [env: SLUICE_DATA_DIR]
    /// [config: data_dir]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,

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
    pub embedded_chain_automine_ms: Option<String>,

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
    pub api_tokens: Option<Vec<String>>,

    /// Serve the API in plain HTTP on an address that is not loopback. Without TLS
    /// (--api-tls-cert, --api-tls-key) the node refuses such an address unless this is set,
    /// for example behind a TLS-terminating proxy; bearer tokens would otherwise cross the
    /// network in the clear. [env: SLUICE_API_ALLOW_PLAINTEXT] [config: api_allow_plaintext]
    /// [default: false]
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub api_allow_plaintext: Option<bool>,

    /// Serve the API over HTTPS with this certificate chain, a PEM file (leaf first); needs
    /// --api-tls-key. [env: SLUICE_API_TLS_CERT] [config: api_tls_cert]
    #[arg(long, value_name = "FILE")]
    pub api_tls_cert: Option<String>,

    /// The private key of --api-tls-cert, a PEM file (PKCS#8, PKCS#1 or SEC1). [env:
    /// SLUICE_API_TLS_KEY] [config: api_tls_key]
    #[arg(long, value_name = "FILE")]
    pub api_tls_key: Option<String>,

    /// How long, in seconds, a request's head (request line and header fields) may take to
    /// arrive from its first byte, and a TLS handshake may take; a slower client's
    /// connection is closed. 1 to 3600. [env: SLUICE_API_HEADER_READ_TIMEOUT_SECS] [config:
    /// api_header_read_timeout_secs] [default: 10]
    #[arg(long, value_name = "N")]
    pub api_header_read_timeout_secs: Option<String>,

    /// How long, in seconds, an API connection may wait for a request (after it is accepted,
    /// or between requests when kept alive) before it is closed. 1 to 3600. [env:
    /// SLUICE_API_IDLE_TIMEOUT_SECS] [config: api_idle_timeout_secs] [default: 60]
    #[arg(long, value_name = "N")]
    pub api_idle_timeout_secs: Option<String>,

    /// The most API connections open at once; more are closed as they arrive. 1 to 65536.
    /// [env: SLUICE_API_MAX_CONNECTIONS] [config: api_max_connections] [default: 512]
    #[arg(long, value_name = "N")]
    pub api_max_connections: Option<String>,

    /// Requests per second each API token may make to the money routes (paying, keysend,
    /// quoting, invoices) sustained; over it they answer 429 rate_limited. 0 turns the limit
    /// off; at most 1000000. [env: SLUICE_API_RATE_LIMIT] [config: api_rate_limit] [default:
    /// 1000]
    #[arg(long, value_name = "N")]
    pub api_rate_limit: Option<String>,

    /// How many money-route requests an API token may make at once after a quiet spell (its
    /// bucket's size), 1 to 1000000. [env: SLUICE_API_RATE_LIMIT_BURST] [config:
    /// api_rate_limit_burst] [default: 2000]
    #[arg(long, value_name = "N")]
    pub api_rate_limit_burst: Option<String>,

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
    pub trusted_peers_0conf: Option<Vec<String>>,

    /// Node id (66 hex chars) of a node pathfinding must never route a payment through, e.g.
    /// one known to be unreliable or hostile. Repeat the flag or separate with commas; replaces
    /// the nodes of lower layers. [env: SLUICE_EXCLUDED_NODES, comma-separated] [config:
    /// excluded_nodes = ["NODE_ID", …]]
    #[arg(long = "exclude-node", value_name = "NODE_ID", value_delimiter = ',')]
    pub excluded_nodes: Option<Vec<String>>,

    /// Short channel id of a channel pathfinding must never use, as BLOCKxTXxOUTPUT (e.g.
    /// 812x1x0) or as its decimal number. Repeat the flag or separate with commas; replaces the
    /// channels of lower layers. [env: SLUICE_EXCLUDED_CHANNELS, comma-separated] [config:
    /// excluded_channels = ["SCID", …]]
    #[arg(long = "exclude-channel", value_name = "SCID", value_delimiter = ',')]
    pub excluded_channels: Option<Vec<String>>,

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

    /// Seconds between LDK's timer ticks, 1 to 60. LDK forgets a fulfilled payment 8 ticks
    /// after it ended and writes every one it remembers with each channel manager write;
    /// it counts its other timeouts in ticks too (listed in sluice_actors::processor), so
    /// they shorten with it. [env: SLUICE_LDK_TIMER_TICK_SECS] [config:
    /// ldk_timer_tick_secs] [default: 30]
    #[arg(long, value_name = "N")]
    pub ldk_timer_tick_secs: Option<String>,

    /// Splice a channel once its monitor reached this many KiB, 0 to 4194304 (0: never). A
    /// monitor keeps every revoked commitment's HTLCs of its funding output; a splice
    /// replaces the output and lets LDK drop them. [env: SLUICE_REFRESH_MONITOR_KIB]
    /// [config: refresh_monitor_kib] [default: 16384]
    #[arg(long, value_name = "N")]
    pub refresh_monitor_kib: Option<String>,

    /// The base fee this node charges to forward a payment, in msat, for channels opened
    /// after it is set (0 to 4294967295). [env: SLUICE_FORWARDING_FEE_BASE_MSAT] [config:
    /// forwarding_fee_base_msat] [default: 1000, LDK's]
    #[arg(long, value_name = "MSAT")]
    pub forwarding_fee_base_msat: Option<String>,

    /// The proportional fee this node charges to forward a payment, in millionths of the
    /// amount, for channels opened after it is set (0 to 1000000). [env:
    /// SLUICE_FORWARDING_FEE_PPM] [config: forwarding_fee_ppm] [default: 0, LDK's]
    #[arg(long, value_name = "PPM")]
    pub forwarding_fee_ppm: Option<String>,

    /// LSPS2: the most capacity, in satoshis, opened in JIT channels whose client has not
    /// claimed the payment (every open not yet claimed, and every one closed unclaimed that
    /// started within --lsps2-unclaimed-window-secs), at least the section's
    /// max_channel_sat. Bounds what clients that buy and never claim can tie up. Needs an
    /// [lsps2] section. [env: SLUICE_LSPS2_MAX_UNCLAIMED_SAT] [config:
    /// lsps2.max_unclaimed_sat, i.e. max_unclaimed_sat in [lsps2]] [default: 5000000]
    #[arg(long, value_name = "SAT")]
    pub lsps2_max_unclaimed_sat: Option<String>,

    /// LSPS2: the sliding window, in seconds (1 to 86400), over which JIT channels closed
    /// unclaimed still count against --lsps2-max-unclaimed-sat. [env:
    /// SLUICE_LSPS2_UNCLAIMED_WINDOW_SECS] [config: lsps2.unclaimed_window_secs] [default:
    /// 3600]
    #[arg(long, value_name = "N")]
    pub lsps2_unclaimed_window_secs: Option<String>,

    /// LSPS2: seconds after its open (1 to 604800, longer than client_wait_secs) a JIT
    /// channel whose client has not claimed the payment is closed, cooperatively if the
    /// client is connected, else by force; its order ends `unclaimed`. [env:
    /// SLUICE_LSPS2_UNCLAIMED_CLOSE_AFTER_SECS] [config: lsps2.unclaimed_close_after_secs]
    /// [default: 1800]
    #[arg(long, value_name = "N")]
    pub lsps2_unclaimed_close_after_secs: Option<String>,

    /// LSPS2: the most live JIT orders (bought and payable, or opening) over all clients,
    /// 1 to 100000; a buy beyond is refused. [env: SLUICE_LSPS2_MAX_LIVE_ORDERS] [config:
    /// lsps2.max_live_orders] [default: 1000]
    #[arg(long, value_name = "N")]
    pub lsps2_max_live_orders: Option<String>,

    /// LSPS2: seconds an ended JIT order (forwarded, failed, unclaimed, expired) stays in
    /// memory, 60 to 2592000; the store keeps it and GET /v1/lsps2/orders lists it. [env:
    /// SLUICE_LSPS2_ORDER_RETENTION_SECS] [config: lsps2.order_retention_secs] [default:
    /// 86400]
    #[arg(long, value_name = "N")]
    pub lsps2_order_retention_secs: Option<String>,
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
    /// Whether the API may serve plain HTTP on an address that is not loopback. Off by
    /// default: bearer tokens must not cross a network in the clear unless the operator
    /// says something else protects them (e.g. a TLS-terminating proxy).
    pub api_allow_plaintext: bool,
    /// The API's TLS certificate and key, loaded and checked; `None` serves plain HTTP.
    pub api_tls: Option<ApiTls>,
    /// How long a request's head (and a TLS handshake) may take, in seconds (1 to
    /// [`NodeConfig::MAX_API_TIMEOUT_SECS`]): the defence against clients that trickle
    /// bytes to hold connections open.
    pub api_header_read_timeout_secs: u64,
    /// How long an API connection may wait for a request, in seconds (1 to
    /// [`NodeConfig::MAX_API_TIMEOUT_SECS`]): idle kept-alive connections hold memory and a
    /// connection slot.
    pub api_idle_timeout_secs: u64,
    /// The most API connections open at once (1 to
    /// [`NodeConfig::MAX_API_MAX_CONNECTIONS`]); more are closed as they arrive, so that
    /// connections cannot exhaust the process's file descriptors.
    pub api_max_connections: usize,
    /// Requests per second each token may make to the money routes, sustained (0: no
    /// limit; at most [`NodeConfig::MAX_API_RATE_LIMIT`]): one runaway agent cannot starve
    /// the node's payments for everyone else.
    pub api_rate_limit: u32,
    /// The money routes' burst per token (1 to [`NodeConfig::MAX_API_RATE_LIMIT`]).
    pub api_rate_limit_burst: u32,
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
    /// irrevocably committed, instead of after a random batching delay (50 ms on average,
    /// exponential), which exists to make payment timing harder to correlate.
    /// Node-wide: LDK processes all pending forwards at once, so it cannot be chosen per HTLC.
    /// For routers where latency matters more than that timing privacy. Default `false`.
    pub skip_forward_delay: bool,
    /// Seconds between LDK's timer ticks (1 to [`NodeConfig::MAX_LDK_TIMER_TICK_SECS`]);
    /// see `sluice_actors::processor::DEFAULT_TIMER_TICK` for what the tick drives.
    pub ldk_timer_tick_secs: u64,
    /// The monitor size, KiB, at which a channel is spliced to shed its history (0 to
    /// [`NodeConfig::MAX_REFRESH_MONITOR_KIB`]; 0 never): `sluice_actors::refresh`.
    pub refresh_monitor_kib: u64,
    /// How many outgoing payments may be in flight at once (1 to
    /// [`NodeConfig::MAX_SEND_WINDOW`]); further sends wait for a slot, at most 1 s. Each HTLC
    /// in a channel adds a signature to every commitment round, so bounding them keeps rounds
    /// short and latency flat under load.
    pub send_window: usize,
    /// The base forwarding fee, msat, of channels opened from now on.
    pub forwarding_fee_base_msat: u32,
    /// The proportional forwarding fee, millionths, of channels opened from now on.
    pub forwarding_fee_ppm: u32,
    /// The LSPS2 JIT channel service (the config file's `[lsps2]` section; see
    /// [`lsps2`]); `None` when the node sells no JIT channels.
    pub lsps2: Option<Lsps2Config>,
    /// LSPS5 webhooks (the config file's `[lsps5]` section; see
    /// [`lsps5`]); `None` when clients cannot register webhooks.
    pub lsps5: Option<Lsps5Config>,
    /// The liquidity pool's settings (the config file's `[pool]` section; see [`pool`]).
    pub pool: PoolConfig,
    /// The Nostr mirror (the config file's `[nostr]` section; see [`nostr`]); `None`
    /// when the node publishes nothing.
    pub nostr: Option<NostrConfig>,
    /// The rebalancer (the config file's `[rebalancer]` section; see [`rebalancer`]);
    /// `None` when the node does not rebalance.
    pub rebalancer: Option<RebalancerConfig>,
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
    /// By default HTLCs wait for a random batching delay, for timing privacy.
    pub const DEFAULT_SKIP_FORWARD_DELAY: bool = false;
    /// Default seconds between LDK's timer ticks (see `ldk_timer_tick_secs`).
    pub const DEFAULT_LDK_TIMER_TICK_SECS: u64 =
        sluice_actors::processor::DEFAULT_TIMER_TICK.as_secs();
    /// Longest time between LDK's timer ticks: LDK's own minute.
    pub const MAX_LDK_TIMER_TICK_SECS: u64 = 60;
    /// Default monitor size that makes a channel refresh, KiB.
    pub const DEFAULT_REFRESH_MONITOR_KIB: u64 =
        sluice_actors::refresh::RefreshConfig::DEFAULT_MONITOR_BYTES >> 10;
    /// Largest refresh threshold, KiB (4 GiB): beyond it a monitor is past any sensible size.
    pub const MAX_REFRESH_MONITOR_KIB: u64 = 4 << 20;
    /// Default send window: on the bench line it holds p99 latency near capacity to about a
    /// quarter of the unbounded figure while keeping closed-loop throughput (README).
    pub const DEFAULT_SEND_WINDOW: usize = sluice_actors::payments::DEFAULT_SEND_WINDOW;
    /// Largest send window: LDK accepts at most 483 HTLCs per channel direction, and a node
    /// rarely has more than a few channels' worth of useful parallelism.
    pub const MAX_SEND_WINDOW: usize = 4096;
    /// Default base forwarding fee: LDK's (1 sat).
    pub const DEFAULT_FORWARDING_FEE_BASE_MSAT: u32 = 1000;
    /// Default proportional forwarding fee: LDK's (none).
    pub const DEFAULT_FORWARDING_FEE_PPM: u32 = 0;
    /// Largest proportional forwarding fee: the whole amount.
    pub const MAX_FORWARDING_FEE_PPM: u32 = 1_000_000;
    /// By default the API refuses plain HTTP on an address that is not loopback.
    pub const DEFAULT_API_ALLOW_PLAINTEXT: bool = false;
    /// Default time a request's head may take, in seconds.
    pub const DEFAULT_API_HEADER_READ_TIMEOUT_SECS: u64 =
        sluice_api::DEFAULT_HEADER_READ_TIMEOUT.as_secs();
    /// Default time an API connection may wait for a request, in seconds.
    pub const DEFAULT_API_IDLE_TIMEOUT_SECS: u64 = sluice_api::DEFAULT_IDLE_TIMEOUT.as_secs();
    /// Longest API header-read or idle timeout, in seconds (an hour).
    pub const MAX_API_TIMEOUT_SECS: u64 = 3600;
    /// Default cap on open API connections.
    pub const DEFAULT_API_MAX_CONNECTIONS: usize = sluice_api::DEFAULT_MAX_CONNECTIONS;
    /// Largest cap on open API connections.
    pub const MAX_API_MAX_CONNECTIONS: usize = sluice_api::serve::MAX_CONNECTIONS_LIMIT;
    /// Default money-route requests per second per token: far above what the load driver
    /// makes (about 200 payments a second per token, a quote and a pay each).
    pub const DEFAULT_API_RATE_LIMIT: u32 = sluice_api::DEFAULT_RATE_LIMIT_PER_SECOND;
    /// Default money-route burst per token.
    pub const DEFAULT_API_RATE_LIMIT_BURST: u32 = sluice_api::DEFAULT_RATE_LIMIT_BURST;
    /// Largest rate and burst: a million requests a second is no limit at all.
    pub const MAX_API_RATE_LIMIT: u32 = 1_000_000;
}

/// Reads the process environment: the lookup to pass to [`load`] outside tests. A variable
/// that is not valid Unicode counts as unset.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Resolves the configuration of `sluice run`: defaults ← the TOML file (from `--config` or
/// `SLUICE_CONFIG`) ← `SLUICE_*` variables looked up with `env` ← `args`. Every layer's
/// value of every setting is checked (so a bad value is reported even if a higher layer
/// overrides it), then the merged result is checked as a whole.
pub fn load(
    args: RunArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<NodeConfig, ConfigError> {
    let (layers, config_file, sections) = Layers::read(&args, env)?;
    let pool = sections.pool.unwrap_or_default();
    let mut config = resolve(&layers, config_file, sections.lsps2, sections.lsps5, pool)?;
    config.nostr = sections.nostr;
    config.rebalancer = sections.rebalancer;
    Ok(config)
}

/// Every setting, once: its value from the highest layer that sets it (each layer's value
/// checked), or its default.
fn resolve(
    v: &Layers,
    config_file: Option<PathBuf>,
    lsps2: Option<Lsps2Config>,
    lsps5: Option<Lsps5Config>,
    pool: PoolConfig,
) -> Result<NodeConfig, ConfigError> {
    use values::*;
    let lsps2 = lsps2::layered(v, config_file.as_deref(), lsps2)?;
    let data_dir = v.get(Key::new("data_dir"), path)?;
    let api_addr = v
        .get(Key::new("api_addr"), socket_addr)?
        .unwrap_or_else(|| Sourced {
            value: NodeConfig::DEFAULT_API_ADDR,
            setting: Setting::new(Key::new("api_addr"), &Origin::Default),
        });
    let api_tls = api_tls(v)?;
    let api_allow_plaintext = v.value(
        "api_allow_plaintext",
        NodeConfig::DEFAULT_API_ALLOW_PLAINTEXT,
        boolean,
    )?;
    if !is_loopback(api_addr.value) && api_tls.is_none() && !api_allow_plaintext {
        return Err(ConfigError::PlaintextApi {
            addr: api_addr.value,
            setting: api_addr.setting,
        });
    }
    let network = v
        .get(Key::new("network"), network)?
        .unwrap_or_else(|| Sourced {
            value: NodeConfig::DEFAULT_NETWORK,
            setting: Setting::new(Key::new("network"), &Origin::Default),
        });
    Ok(NodeConfig {
        config_file,
        data_dir: data_dir.ok_or(ConfigError::MissingDataDir)?.value,
        chain_source: chain_source(v, &network)?,
        network: network.value,
        listen: v.value("listen", NodeConfig::DEFAULT_LISTEN, socket_addr)?,
        api_addr: api_addr.value,
        alias: Some(v.value("alias", String::new(), alias)?).filter(|a| !a.is_empty()),
        log_format: v.value("log_format", NodeConfig::DEFAULT_LOG_FORMAT, log_format)?,
        api_tokens: v.value("api_tokens", Vec::new(), api_tokens)?,
        api_allow_plaintext,
        api_tls,
        api_header_read_timeout_secs: v.value(
            "api_header_read_timeout_secs",
            NodeConfig::DEFAULT_API_HEADER_READ_TIMEOUT_SECS,
            number(1..=NodeConfig::MAX_API_TIMEOUT_SECS),
        )?,
        api_idle_timeout_secs: v.value(
            "api_idle_timeout_secs",
            NodeConfig::DEFAULT_API_IDLE_TIMEOUT_SECS,
            number(1..=NodeConfig::MAX_API_TIMEOUT_SECS),
        )?,
        api_max_connections: v.value(
            "api_max_connections",
            NodeConfig::DEFAULT_API_MAX_CONNECTIONS,
            number(1..=NodeConfig::MAX_API_MAX_CONNECTIONS),
        )?,
        api_rate_limit: v.value(
            "api_rate_limit",
            NodeConfig::DEFAULT_API_RATE_LIMIT,
            number(0..=NodeConfig::MAX_API_RATE_LIMIT),
        )?,
        api_rate_limit_burst: v.value(
            "api_rate_limit_burst",
            NodeConfig::DEFAULT_API_RATE_LIMIT_BURST,
            number(1..=NodeConfig::MAX_API_RATE_LIMIT),
        )?,
        trusted_peers_0conf: v.value(
            "trusted_peers_0conf",
            Vec::new(),
            node_ids("trusted 0-conf peer"),
        )?,
        excluded_nodes: v.value("excluded_nodes", Vec::new(), node_ids("excluded node"))?,
        excluded_channels: v.value("excluded_channels", Vec::new(), scids)?,
        pathfinding_workers: v.value(
            "pathfinding_workers",
            NodeConfig::DEFAULT_PATHFINDING_WORKERS,
            number(1..=NodeConfig::MAX_PATHFINDING_WORKERS),
        )?,
        quote_ttl_secs: v.value(
            "quote_ttl_secs",
            NodeConfig::DEFAULT_QUOTE_TTL_SECS,
            number(1..=NodeConfig::MAX_QUOTE_TTL_SECS),
        )?,
        skip_forward_delay: v.value(
            "skip_forward_delay",
            NodeConfig::DEFAULT_SKIP_FORWARD_DELAY,
            boolean,
        )?,
        ldk_timer_tick_secs: v.value(
            "ldk_timer_tick_secs",
            NodeConfig::DEFAULT_LDK_TIMER_TICK_SECS,
            number(1..=NodeConfig::MAX_LDK_TIMER_TICK_SECS),
        )?,
        refresh_monitor_kib: v.value(
            "refresh_monitor_kib",
            NodeConfig::DEFAULT_REFRESH_MONITOR_KIB,
            number(0..=NodeConfig::MAX_REFRESH_MONITOR_KIB),
        )?,
        send_window: v.value(
            "send_window",
            NodeConfig::DEFAULT_SEND_WINDOW,
            number(1..=NodeConfig::MAX_SEND_WINDOW),
        )?,
        forwarding_fee_base_msat: v.value(
            "forwarding_fee_base_msat",
            NodeConfig::DEFAULT_FORWARDING_FEE_BASE_MSAT,
            number(0..=u32::MAX),
        )?,
        forwarding_fee_ppm: v.value(
            "forwarding_fee_ppm",
            NodeConfig::DEFAULT_FORWARDING_FEE_PPM,
            number(0..=NodeConfig::MAX_FORWARDING_FEE_PPM),
        )?,
        lsps2,
        lsps5,
        pool,
        nostr: None,
        rebalancer: None,
    })
}

/// Whether `addr` is on this machine only (`127.0.0.0/8`, `::1`, or an IPv4-mapped
/// loopback address).
pub fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// The API's TLS identity: both files or neither (across layers: the certificate may come
/// from one and the key from another), loaded and checked together.
fn api_tls(v: &Layers) -> Result<Option<ApiTls>, ConfigError> {
    let (cert_key, key_key) = (Key::new("api_tls_cert"), Key::new("api_tls_key"));
    let certificate = v.get(cert_key, values::path)?;
    let key = v.get(key_key, values::path)?;
    let (certificate, key) = match (certificate, key) {
        (None, None) => return Ok(None),
        (Some(given), None) => {
            return Err(ConfigError::IncompleteApiTls {
                given: given.setting,
                missing: key_key,
            })
        }
        (None, Some(given)) => {
            return Err(ConfigError::IncompleteApiTls {
                given: given.setting,
                missing: cert_key,
            })
        }
        (Some(certificate), Some(key)) => (certificate, key),
    };
    let acceptor = sluice_api::tls::acceptor(&certificate.value, &key.value).map_err(|source| {
        ConfigError::ApiTls {
            certificate: certificate.setting,
            key: key.setting,
            source: Box::new(source),
        }
    })?;
    Ok(Some(ApiTls {
        certificate: certificate.value,
        key: key.value,
        acceptor,
    }))
}

/// Picks the chain source. Both sources in one layer are an error (in any layer); across
/// layers the higher layer's choice wins, and an automine interval set at or above the layer
/// that chose bitcoind is an error (below it, it was overridden with the embedded chain).
fn chain_source(v: &Layers, network: &Sourced<Network>) -> Result<ChainSource, ConfigError> {
    let rpcs = v.all(Key::new("bitcoind_rpc"), values::bitcoind_rpc)?;
    let embedded = v.all(Key::new("embedded_chain"), values::boolean)?;
    let automine = v.get(
        Key::new("embedded_chain_automine_ms"),
        values::number(1..=u64::MAX),
    )?;
    for e in embedded.iter().filter(|e| e.value) {
        if let Some(r) = rpcs.iter().find(|r| r.setting.origin == e.setting.origin) {
            return Err(ConfigError::ConflictingChainSources {
                bitcoind_rpc: r.setting.clone(),
                embedded_chain: e.setting.clone(),
            });
        }
    }
    let embedded = embedded.into_iter().last().filter(|e| e.value);
    match (rpcs.into_iter().last(), embedded) {
        (None, None) => Err(ConfigError::MissingChainSource),
        (Some(r), Some(e)) if e.setting.origin.rank() < r.setting.origin.rank() => {
            bitcoind(r, automine)
        }
        (Some(r), None) => bitcoind(r, automine),
        (_, Some(e)) => {
            if network.value != Network::Regtest {
                return Err(ConfigError::EmbeddedChainRequiresRegtest {
                    embedded_chain: e.setting,
                    network: network.value,
                    network_setting: network.setting.clone(),
                });
            }
            Ok(ChainSource::Embedded {
                automine_ms: automine.map(|a| a.value),
            })
        }
    }
}

fn bitcoind(
    rpc: Sourced<ChainSource>,
    automine: Option<Sourced<u64>>,
) -> Result<ChainSource, ConfigError> {
    match automine {
        Some(a) if a.setting.origin.rank() >= rpc.setting.origin.rank() => {
            Err(ConfigError::AutomineWithoutEmbeddedChain {
                setting: a.setting,
                chain_setting: rpc.setting,
            })
        }
        _ => Ok(rpc.value),
    }
}

/// A file-only section (`[lsps2]`, `[lsps5]`, `[pool]`) read into its serde struct; a
/// malformed one is the error `invalid` makes of toml's message.
pub(crate) fn read_section<T: serde::de::DeserializeOwned>(
    value: &toml::Value,
    invalid: impl Fn(String) -> ConfigError,
) -> Result<T, ConfigError> {
    value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| invalid(e.message().to_owned()))
}
