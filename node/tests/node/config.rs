//! `sluice run` configuration: layer precedence (defaults < TOML file < `SLUICE_*` env <
//! flags), validation errors and their messages, and the `--help` text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::Network;
use clap::{CommandFactory, Parser, Subcommand};
use sluice_node::config::{
    load, ApiScope, ChainSource, ConfigError, Key, LogFormat, NodeConfig, Origin, RunArgs,
};

/// Stands in for the `sluice` binary's command line: `sluice run <RunArgs>`.
#[derive(Parser)]
#[command(name = "sluice")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node.
    Run(RunArgs),
}

fn run_args(flags: &[&str]) -> RunArgs {
    let argv = ["sluice", "run"].iter().chain(flags).copied();
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Run(args),
        }) => args,
        Err(e) => panic!("flags {flags:?} rejected by clap: {e}"),
    }
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |key| map.get(key).cloned()
}

/// A temporary directory holding `sluice.toml`.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Self {
        Case {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("sluice.toml")
    }

    /// Loads with `file` (if any) passed through `--config`, the environment and the flags.
    fn load(
        &self,
        file: Option<&str>,
        env: &[(&str, &str)],
        flags: &[&str],
    ) -> Result<NodeConfig, ConfigError> {
        let path = self.path();
        let path_str = path.to_str().expect("utf-8 temp path").to_owned();
        let mut all: Vec<&str> = flags.to_vec();
        if let Some(text) = file {
            std::fs::write(&path, text).expect("write config");
            all.extend(["--config", &path_str]);
        }
        load(run_args(&all), env_of(env))
    }
}

fn load_once(
    file: Option<&str>,
    env: &[(&str, &str)],
    flags: &[&str],
) -> (Result<NodeConfig, ConfigError>, PathBuf) {
    let case = Case::new();
    (case.load(file, env, flags), case.path())
}

fn ok(result: Result<NodeConfig, ConfigError>) -> NodeConfig {
    match result {
        Ok(config) => config,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn err(result: Result<NodeConfig, ConfigError>) -> ConfigError {
    match result {
        Ok(config) => panic!("unexpectedly accepted: {config:?}"),
        Err(e) => e,
    }
}

/// Whether `e` is a bad value of the setting `key` (its config key, e.g. "listen").
fn invalid(e: &ConfigError, key: &'static str) -> bool {
    matches!(e, ConfigError::Invalid { setting, .. } if setting.key == Key::new(key))
}

/// Whether `e` rejects entry `entry` of a list setting with a message containing `text`.
fn bad_entry(e: &ConfigError, entry: usize, text: &str) -> bool {
    matches!(e, ConfigError::InvalidEntry { entry: n, .. } if *n == entry)
        && e.to_string().contains(text)
}

const H1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const H2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const H3: &str = "33333333333333333333333333333333333333333333333333333333333333AB";
const RPC: &str = "http://alice:s3cret@127.0.0.1:18443";
/// The secp256k1 generator: the node id of secret key 1.
const G: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

/// The node id of the secret key `[n; 32]`.
fn node_id(n: u8) -> PublicKey {
    let secret = SecretKey::from_slice(&[n; 32]).expect("valid secret key");
    PublicKey::from_secret_key(&Secp256k1::new(), &secret)
}

/// The node id of the secret key `[n; 32]`, as 66 hex characters.
fn node_id_hex(n: u8) -> String {
    node_id(n).to_string()
}

/// The trusted 0-conf peers as the `n`s of their secret keys `[n; 32]` (`g` for [`G`]),
/// e.g. "1,2".
fn peer_summary(config: &NodeConfig) -> String {
    keys_summary(&config.trusted_peers_0conf)
}

/// The excluded nodes, written as in [`peer_summary`].
fn excluded_node_summary(config: &NodeConfig) -> String {
    keys_summary(&config.excluded_nodes)
}

/// The excluded channels as `BLOCKxTXxOUTPUT`, e.g. "812x1x0,9x8x7".
fn excluded_channel_summary(config: &NodeConfig) -> String {
    config
        .excluded_channels
        .iter()
        .map(|scid| {
            format!(
                "{}x{}x{}",
                scid >> 40,
                (scid >> 16) & 0xff_ffff,
                scid & 0xffff
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Node ids as the `n`s of their secret keys `[n; 32]` (`g` for [`G`]), e.g. "1,2".
fn keys_summary(keys: &[PublicKey]) -> String {
    keys.iter()
        .map(|pk| {
            if pk.to_string() == G {
                return "g".to_owned();
            }
            (1..=9)
                .find(|n| node_id(*n) == *pk)
                .map_or_else(|| pk.to_string(), |n| n.to_string())
        })
        .collect::<Vec<_>>()
        .join(",")
}

// ---------------------------------------------------------------------------------------
// Defaults and a full file
// ---------------------------------------------------------------------------------------

#[test]
fn defaults_fill_everything_but_data_dir_and_chain_source() {
    let config = ok(load_once(None, &[], &["--data-dir", "/d", "--embedded-chain"]).0);
    assert_eq!(config.config_file, None);
    assert_eq!(config.data_dir, PathBuf::from("/d"));
    assert_eq!(config.network, NodeConfig::DEFAULT_NETWORK);
    assert_eq!(config.network, Network::Regtest);
    assert_eq!(
        config.chain_source,
        ChainSource::Embedded { automine_ms: None }
    );
    assert_eq!(config.listen, NodeConfig::DEFAULT_LISTEN);
    assert_eq!(config.listen.to_string(), "127.0.0.1:9735");
    assert_eq!(config.api_addr, NodeConfig::DEFAULT_API_ADDR);
    assert_eq!(config.api_addr.to_string(), "127.0.0.1:3000");
    assert_eq!(config.alias, None);
    assert_eq!(config.log_format, LogFormat::Human);
    assert!(config.api_tokens.is_empty());
    assert!(config.trusted_peers_0conf.is_empty());
    assert!(config.excluded_nodes.is_empty());
    assert!(config.excluded_channels.is_empty());
    assert_eq!(
        config.pathfinding_workers,
        NodeConfig::DEFAULT_PATHFINDING_WORKERS
    );
    assert_eq!(config.pathfinding_workers, 2);
    assert_eq!(config.quote_ttl_secs, NodeConfig::DEFAULT_QUOTE_TTL_SECS);
    assert_eq!(config.quote_ttl_secs, 60);
    assert_eq!(
        config.skip_forward_delay,
        NodeConfig::DEFAULT_SKIP_FORWARD_DELAY
    );
    assert!(!config.skip_forward_delay);
    assert_eq!(config.send_window, NodeConfig::DEFAULT_SEND_WINDOW);
    assert_eq!(config.send_window, 64);
}

#[test]
fn a_file_with_every_key_loads() {
    let file = format!(
        r#"
data_dir = "/var/lib/sluice"
network = "signet"
bitcoind_rpc = "{RPC}"
embedded_chain = false
listen = "0.0.0.0:9736"
api_addr = "[::1]:3001"
alias = "my-lsp"
log_format = "json"
trusted_peers_0conf = ["{G}"]
excluded_nodes = ["{G}"]
excluded_channels = ["812x1x0", "912594651188232193"]
pathfinding_workers = 4
quote_ttl_secs = 120
skip_forward_delay = true
api_allow_plaintext = true
api_header_read_timeout_secs = 5
api_idle_timeout_secs = 30
api_max_connections = 100
api_rate_limit = 10
api_rate_limit_burst = 20

[[api.tokens]]
sha256 = "{H1}"
scopes = ["admin"]

[[api.tokens]]
sha256 = "{H3}"
scopes = ["pay", "read", "pay"]
"#
    );
    let (result, path) = load_once(Some(&file), &[], &[]);
    let config = ok(result);
    assert_eq!(config.config_file, Some(path));
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/sluice"));
    assert_eq!(config.network, Network::Signet);
    assert_eq!(
        config.chain_source,
        ChainSource::BitcoindRpc {
            url: "http://127.0.0.1:18443".into(),
            host: "127.0.0.1".into(),
            port: 18443,
            user: "alice".into(),
            password: "s3cret".into(),
        }
    );
    assert_eq!(config.listen.to_string(), "0.0.0.0:9736");
    assert_eq!(config.api_addr.to_string(), "[::1]:3001");
    assert_eq!(config.alias.as_deref(), Some("my-lsp"));
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(config.api_tokens.len(), 2);
    assert_eq!(config.api_tokens[0].sha256, [0x11; 32]);
    assert_eq!(
        config.api_tokens[0]
            .scopes
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [ApiScope::Admin]
    );
    let mut h3 = [0x33; 32];
    h3[31] = 0xab;
    assert_eq!(config.api_tokens[1].sha256, h3);
    assert_eq!(
        config.api_tokens[1]
            .scopes
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [ApiScope::Pay, ApiScope::Read]
    );
    let g: PublicKey = G.parse().expect("the generator is a valid key");
    assert_eq!(config.trusted_peers_0conf, [g]);
    assert_eq!(config.excluded_nodes, [g]);
    assert_eq!(
        config.excluded_channels,
        [812 << 40 | 1 << 16, 912_594_651_188_232_193]
    );
    assert_eq!(excluded_channel_summary(&config), "812x1x0,830000x2047x1");
    assert_eq!(config.pathfinding_workers, 4);
    assert_eq!(config.quote_ttl_secs, 120);
    assert!(config.skip_forward_delay);
    assert!(config.api_allow_plaintext);
    assert_eq!(config.api_header_read_timeout_secs, 5);
    assert_eq!(config.api_idle_timeout_secs, 30);
    assert_eq!(config.api_max_connections, 100);
    assert_eq!(config.api_rate_limit, 10);
    assert_eq!(config.api_rate_limit_burst, 20);
}

#[test]
fn embedded_chain_with_automine_from_the_file() {
    let file = "data_dir = \"/d\"\nembedded_chain = true\nembedded_chain_automine_ms = 250\n";
    let config = ok(load_once(Some(file), &[], &[]).0);
    assert_eq!(
        config.chain_source,
        ChainSource::Embedded {
            automine_ms: Some(250)
        }
    );
}

// ---------------------------------------------------------------------------------------
// Precedence: file < env < flag, key by key
// ---------------------------------------------------------------------------------------

/// One key set to a different value in each layer.
struct Layers<'a> {
    file: &'a str,
    env: (&'a str, &'a str),
    flag: &'a [&'a str],
    /// Flags every run needs besides the key under test.
    base: &'a [&'a str],
    /// Renders the key's resolved value.
    get: fn(&NodeConfig) -> String,
    /// Expected renderings when the file, the environment or the flag wins.
    expect: [&'a str; 3],
}

fn check_precedence(l: Layers<'_>) {
    let base: Vec<&str> = l.base.to_vec();
    let with_flag: Vec<&str> = l.base.iter().chain(l.flag).copied().collect();
    let env = [l.env];
    let file = Some(l.file);
    // (what, file, env, flags, expected)
    let runs = [
        ("file only", file, &[][..], &base, l.expect[0]),
        ("env only", None, &env[..], &base, l.expect[1]),
        ("file + env", file, &env[..], &base, l.expect[1]),
        ("file + env + flag", file, &env[..], &with_flag, l.expect[2]),
        ("file + flag", file, &[][..], &with_flag, l.expect[2]),
        ("env + flag", None, &env[..], &with_flag, l.expect[2]),
    ];
    for (what, file, env, flags, expect) in runs {
        let config = ok(load_once(file, env, flags).0);
        assert_eq!((l.get)(&config), expect, "{what} for {}", l.file.trim());
    }
}

fn token_summary(config: &NodeConfig) -> String {
    config
        .api_tokens
        .iter()
        .map(|t| {
            let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
            format!("{:02x}:{}", t.sha256[0], scopes.join("+"))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn rpc_url(config: &NodeConfig) -> String {
    match &config.chain_source {
        ChainSource::BitcoindRpc { url, .. } => url.clone(),
        other => format!("{other:?}"),
    }
}

#[test]
fn precedence_data_dir() {
    check_precedence(Layers {
        file: "data_dir = \"/from/file\"",
        env: ("SLUICE_DATA_DIR", "/from/env"),
        flag: &["--data-dir", "/from/flag"],
        base: &["--embedded-chain"],
        get: |c| c.data_dir.display().to_string(),
        expect: ["/from/file", "/from/env", "/from/flag"],
    });
}

#[test]
fn precedence_network() {
    check_precedence(Layers {
        file: "network = \"signet\"",
        env: ("SLUICE_NETWORK", "bitcoin"),
        flag: &["--network", "regtest"],
        base: &["--data-dir", "/d", "--bitcoind-rpc", RPC],
        get: |c| format!("{:?}", c.network),
        expect: ["Signet", "Bitcoin", "Regtest"],
    });
}

#[test]
fn precedence_bitcoind_rpc() {
    check_precedence(Layers {
        file: "bitcoind_rpc = \"http://u:p@10.0.0.1:1\"",
        env: ("SLUICE_BITCOIND_RPC", "http://u:p@10.0.0.2:2"),
        flag: &["--bitcoind-rpc", "http://u:p@10.0.0.3:3"],
        base: &["--data-dir", "/d"],
        get: rpc_url,
        expect: [
            "http://10.0.0.1:1",
            "http://10.0.0.2:2",
            "http://10.0.0.3:3",
        ],
    });
}

#[test]
fn precedence_automine() {
    check_precedence(Layers {
        file: "embedded_chain_automine_ms = 100",
        env: ("SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS", "200"),
        flag: &["--embedded-chain-automine-ms", "300"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| format!("{:?}", c.chain_source),
        expect: [
            "Embedded { automine_ms: Some(100) }",
            "Embedded { automine_ms: Some(200) }",
            "Embedded { automine_ms: Some(300) }",
        ],
    });
}

#[test]
fn precedence_listen() {
    check_precedence(Layers {
        file: "listen = \"127.0.0.1:1001\"",
        env: ("SLUICE_LISTEN", "127.0.0.1:1002"),
        flag: &["--listen", "127.0.0.1:1003"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.listen.to_string(),
        expect: ["127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"],
    });
}

#[test]
fn precedence_api_addr() {
    check_precedence(Layers {
        file: "api_addr = \"127.0.0.1:2001\"",
        env: ("SLUICE_API_ADDR", "127.0.0.1:2002"),
        flag: &["--api-addr", "127.0.0.1:2003"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.api_addr.to_string(),
        expect: ["127.0.0.1:2001", "127.0.0.1:2002", "127.0.0.1:2003"],
    });
}

#[test]
fn precedence_alias() {
    check_precedence(Layers {
        file: "alias = \"file\"",
        env: ("SLUICE_ALIAS", "env"),
        flag: &["--alias", "flag"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.alias.clone().unwrap_or_default(),
        expect: ["file", "env", "flag"],
    });
}

#[test]
fn precedence_log_format() {
    check_precedence(Layers {
        file: "log_format = \"json\"",
        env: ("SLUICE_LOG_FORMAT", "human"),
        flag: &["--log-format", "json"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.log_format.as_str().to_owned(),
        expect: ["json", "human", "json"],
    });
}

#[test]
fn precedence_api_tokens_replaces_the_whole_list() {
    let file = format!(
        "[[api.tokens]]\nsha256 = \"{H1}\"\nscopes = [\"admin\"]\n\n\
         [[api.tokens]]\nsha256 = \"{H2}\"\nscopes = [\"read\"]\n"
    );
    let env = format!("{H2}:pay");
    let flag = format!("{H3}:read+lp");
    check_precedence(Layers {
        file: &file,
        env: ("SLUICE_API_TOKENS", &env),
        flag: &["--api-token-sha256", &flag],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: token_summary,
        expect: ["11:admin,22:read", "22:pay", "33:lp+read"],
    });
}

#[test]
fn precedence_trusted_peers_0conf_replaces_the_whole_list() {
    let [k1, k2, k3, k4, k5] = [1, 2, 3, 4, 5].map(node_id_hex);
    let file = format!("trusted_peers_0conf = [\"{k1}\", \"{k2}\"]");
    let flag = format!("{k4},{k5}");
    check_precedence(Layers {
        file: &file,
        env: ("SLUICE_TRUSTED_PEERS_0CONF", &k3),
        flag: &["--trusted-peer-0conf", &flag],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: peer_summary,
        expect: ["1,2", "3", "4,5"],
    });
}

#[test]
fn precedence_excluded_nodes_replaces_the_whole_list() {
    let [k1, k2, k3, k4, k5] = [1, 2, 3, 4, 5].map(node_id_hex);
    let file = format!("excluded_nodes = [\"{k1}\", \"{k2}\"]");
    let flag = format!("{k4},{k5}");
    check_precedence(Layers {
        file: &file,
        env: ("SLUICE_EXCLUDED_NODES", &k3),
        flag: &["--exclude-node", &flag],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: excluded_node_summary,
        expect: ["1,2", "3", "4,5"],
    });
}

#[test]
fn precedence_excluded_channels_replaces_the_whole_list() {
    check_precedence(Layers {
        file: "excluded_channels = [\"1x2x3\", \"4x5x6\"]",
        env: ("SLUICE_EXCLUDED_CHANNELS", "7x8x9"),
        flag: &["--exclude-channel", "10x11x12,13x14x15"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: excluded_channel_summary,
        expect: ["1x2x3,4x5x6", "7x8x9", "10x11x12,13x14x15"],
    });
}

#[test]
fn precedence_pathfinding_workers() {
    check_precedence(Layers {
        file: "pathfinding_workers = 3",
        env: ("SLUICE_PATHFINDING_WORKERS", "5"),
        flag: &["--pathfinding-workers", "7"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.pathfinding_workers.to_string(),
        expect: ["3", "5", "7"],
    });
}

#[test]
fn precedence_quote_ttl_secs() {
    check_precedence(Layers {
        file: "quote_ttl_secs = 30",
        env: ("SLUICE_QUOTE_TTL_SECS", "90"),
        flag: &["--quote-ttl-secs", "600"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.quote_ttl_secs.to_string(),
        expect: ["30", "90", "600"],
    });
}

#[test]
fn ldk_timer_tick_defaults_to_thirty_seconds_and_takes_each_layer_within_a_minute() {
    let case = Case::new();
    let config = ok(case.load(None, &[], BASE_EMBEDDED));
    assert_eq!(config.ldk_timer_tick_secs, 30);
    assert_eq!(
        config.ldk_timer_tick_secs,
        NodeConfig::DEFAULT_LDK_TIMER_TICK_SECS
    );
    check_precedence(Layers {
        file: "ldk_timer_tick_secs = 30",
        env: ("SLUICE_LDK_TIMER_TICK_SECS", "5"),
        flag: &["--ldk-timer-tick-secs", "60"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.ldk_timer_tick_secs.to_string(),
        expect: ["30", "5", "60"],
    });
    for bad in ["0", "61", "-1", "ten"] {
        let flag = format!("--ldk-timer-tick-secs={bad}");
        let mut flags: Vec<&str> = BASE_EMBEDDED.to_vec();
        flags.push(&flag);
        let e = err(case.load(None, &[], &flags));
        assert!(
            invalid(&e, "ldk_timer_tick_secs") && e.to_string().contains("from 1 to 60"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn refresh_defaults_to_sixteen_mib_takes_each_layer_and_zero_turns_it_off() {
    let case = Case::new();
    let config = ok(case.load(None, &[], BASE_EMBEDDED));
    assert_eq!(config.refresh_monitor_kib, 16_384);
    assert_eq!(
        config.refresh_monitor_kib,
        NodeConfig::DEFAULT_REFRESH_MONITOR_KIB
    );
    check_precedence(Layers {
        file: "refresh_monitor_kib = 0",
        env: ("SLUICE_REFRESH_MONITOR_KIB", "512"),
        flag: &["--refresh-monitor-kib", "4194304"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.refresh_monitor_kib.to_string(),
        expect: ["0", "512", "4194304"],
    });
    for bad in ["4194305", "-1", "16MiB"] {
        let flag = format!("--refresh-monitor-kib={bad}");
        let mut flags: Vec<&str> = BASE_EMBEDDED.to_vec();
        flags.push(&flag);
        let e = err(case.load(None, &[], &flags));
        assert!(
            invalid(&e, "refresh_monitor_kib") && e.to_string().contains("from 0 to 4194304"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn precedence_skip_forward_delay() {
    check_precedence(Layers {
        file: "skip_forward_delay = true",
        env: ("SLUICE_SKIP_FORWARD_DELAY", "off"),
        flag: &["--skip-forward-delay"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.skip_forward_delay.to_string(),
        expect: ["true", "false", "true"],
    });
    check_precedence(Layers {
        file: "skip_forward_delay = false",
        env: ("SLUICE_SKIP_FORWARD_DELAY", "yes"),
        flag: &["--skip-forward-delay=false"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.skip_forward_delay.to_string(),
        expect: ["false", "true", "false"],
    });
}

#[test]
fn skip_forward_delay_is_off_unless_a_layer_sets_it() {
    let case = Case::new();
    let skip = |file: Option<&str>, env: &[(&str, &str)], flags: &[&str]| {
        let all: Vec<&str> = BASE_EMBEDDED.iter().chain(flags).copied().collect();
        ok(case.load(file, env, &all)).skip_forward_delay
    };
    // Unset anywhere (an empty variable counts as unset): the default, off.
    assert!(!skip(None, &[], &[]));
    assert!(!skip(None, &[("SLUICE_SKIP_FORWARD_DELAY", " ")], &[]));
    assert!(!skip(Some("alias = \"a\""), &[], &[]));
    // Each layer alone turns it on ...
    assert!(skip(Some("skip_forward_delay = true"), &[], &[]));
    assert!(skip(None, &[("SLUICE_SKIP_FORWARD_DELAY", "true")], &[]));
    assert!(skip(None, &[], &["--skip-forward-delay"]));
    assert!(skip(None, &[], &["--skip-forward-delay=true"]));
    // ... or explicitly off.
    assert!(!skip(Some("skip_forward_delay = false"), &[], &[]));
    assert!(!skip(None, &[("SLUICE_SKIP_FORWARD_DELAY", "0")], &[]));
    assert!(!skip(None, &[], &["--skip-forward-delay=no"]));
    // A higher layer's false overrides a lower layer's true, and the other way round.
    assert!(!skip(
        Some("skip_forward_delay = true"),
        &[("SLUICE_SKIP_FORWARD_DELAY", "false")],
        &[]
    ));
    assert!(!skip(
        None,
        &[("SLUICE_SKIP_FORWARD_DELAY", "on")],
        &["--skip-forward-delay=0"]
    ));
    assert!(skip(
        Some("skip_forward_delay = false"),
        &[("SLUICE_SKIP_FORWARD_DELAY", "no")],
        &["--skip-forward-delay"]
    ));
}

#[test]
fn precedence_config_file_flag_over_env() {
    let case = Case::new();
    let from_env = case.dir.path().join("env.toml");
    std::fs::write(
        &from_env,
        "data_dir = \"/env-file\"\nembedded_chain = true\n",
    )
    .unwrap();
    let from_flag = case.dir.path().join("flag.toml");
    std::fs::write(
        &from_flag,
        "data_dir = \"/flag-file\"\nembedded_chain = true\n",
    )
    .unwrap();
    let env_path = from_env.to_str().unwrap();

    let config = ok(load(run_args(&[]), env_of(&[("SLUICE_CONFIG", env_path)])));
    assert_eq!(config.data_dir, PathBuf::from("/env-file"));
    assert_eq!(config.config_file.as_deref(), Some(from_env.as_path()));

    let config = ok(load(
        run_args(&["--config", from_flag.to_str().unwrap()]),
        env_of(&[("SLUICE_CONFIG", env_path)]),
    ));
    assert_eq!(config.data_dir, PathBuf::from("/flag-file"));
}

#[test]
fn chain_source_chosen_by_a_higher_layer_wins() {
    let case = Case::new();
    let file_rpc = format!("data_dir = \"/d\"\nbitcoind_rpc = \"{RPC}\"\n");

    // env's embedded chain overrides the file's bitcoind ...
    let config = ok(case.load(Some(&file_rpc), &[("SLUICE_EMBEDDED_CHAIN", "1")], &[]));
    assert_eq!(
        config.chain_source,
        ChainSource::Embedded { automine_ms: None }
    );
    // ... and a flag's bitcoind overrides the env's embedded chain.
    let config = ok(case.load(
        Some(&file_rpc),
        &[("SLUICE_EMBEDDED_CHAIN", "1")],
        &["--bitcoind-rpc", "http://u:p@h:1"],
    ));
    assert_eq!(rpc_url(&config), "http://h:1");
    // --embedded-chain=false switches the env's embedded chain off again: the file's
    // bitcoind is back in force.
    let config = ok(case.load(
        Some(&file_rpc),
        &[("SLUICE_EMBEDDED_CHAIN", "yes")],
        &["--embedded-chain=false"],
    ));
    assert_eq!(rpc_url(&config), "http://127.0.0.1:18443");

    // The file's automine goes with the file's embedded chain when a flag picks bitcoind.
    let file_embedded =
        "data_dir = \"/d\"\nembedded_chain = true\nembedded_chain_automine_ms = 5\n";
    let config = ok(case.load(Some(file_embedded), &[], &["--bitcoind-rpc", RPC]));
    assert_eq!(rpc_url(&config), "http://127.0.0.1:18443");
}

#[test]
fn empty_env_vars_count_as_unset_and_values_are_trimmed() {
    let file = "data_dir = \"/d\"\nembedded_chain = true\nnetwork = \"regtest\"\nalias = \"f\"\n";
    let config = ok(load_once(
        Some(file),
        &[
            ("SLUICE_NETWORK", ""),
            ("SLUICE_ALIAS", "   "),
            ("SLUICE_LISTEN", " 127.0.0.1:4444\n"),
            ("SLUICE_BITCOIND_RPC", ""),
        ],
        &[],
    )
    .0);
    assert_eq!(config.network, Network::Regtest);
    assert_eq!(config.alias.as_deref(), Some("f"));
    assert_eq!(config.listen.to_string(), "127.0.0.1:4444");
}

#[test]
fn boolean_spellings_in_flags_and_env() {
    for (flag, expected) in [
        (&["--embedded-chain"][..], Some(true)),
        (&["--embedded-chain=true"][..], Some(true)),
        (&["--embedded-chain=no"][..], Some(false)),
        (&["--embedded-chain=0"][..], Some(false)),
        (&[][..], None),
    ] {
        assert_eq!(run_args(flag).embedded_chain, expected, "{flag:?}");
    }
    for value in ["1", "true", "YES", "on"] {
        let config = ok(load_once(
            None,
            &[("SLUICE_EMBEDDED_CHAIN", value), ("SLUICE_DATA_DIR", "/d")],
            &[],
        )
        .0);
        assert!(matches!(config.chain_source, ChainSource::Embedded { .. }));
    }
    let e = err(load_once(
        None,
        &[
            ("SLUICE_EMBEDDED_CHAIN", "maybe"),
            ("SLUICE_DATA_DIR", "/d"),
        ],
        &[],
    )
    .0);
    assert!(invalid(&e, "embedded_chain"), "{e:?}");
    assert!(e.to_string().contains("SLUICE_EMBEDDED_CHAIN"), "{e}");

    for (flag, expected) in [
        (&["--skip-forward-delay"][..], Some(true)),
        (&["--skip-forward-delay=yes"][..], Some(true)),
        (&["--skip-forward-delay=off"][..], Some(false)),
        (&["--skip-forward-delay=false"][..], Some(false)),
        (&[][..], None),
    ] {
        assert_eq!(run_args(flag).skip_forward_delay, expected, "{flag:?}");
    }
    // require_equals: a separate word is not the flag's value.
    let argv = ["sluice", "run", "--skip-forward-delay", "true"];
    assert!(Cli::try_parse_from(argv).is_err());
    for (value, expected) in [
        ("1", true),
        ("True", true),
        ("yes", true),
        ("ON", true),
        ("0", false),
        ("false", false),
        ("No", false),
        ("off", false),
    ] {
        let config = ok(load_once(None, &[("SLUICE_SKIP_FORWARD_DELAY", value)], BASE_EMBEDDED).0);
        assert_eq!(config.skip_forward_delay, expected, "{value}");
    }
}

#[test]
fn invalid_skip_forward_delay_in_the_environment() {
    let e = err(load_once(
        None,
        &[("SLUICE_SKIP_FORWARD_DELAY", "sometimes")],
        BASE_EMBEDDED,
    )
    .0);
    match &e {
        ConfigError::Invalid { setting, value, .. } => {
            assert_eq!(setting.key, Key::new("skip_forward_delay"));
            assert_eq!(setting.origin, Origin::Env);
            assert_eq!(value, "sometimes");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "invalid value \"sometimes\" from environment variable SLUICE_SKIP_FORWARD_DELAY: \
         expected true/false, 1/0, yes/no or on/off"
    );
    // Reported even when the flag overrides it.
    let flags = [BASE_EMBEDDED, &["--skip-forward-delay"]].concat();
    let e = err(load_once(None, &[("SLUICE_SKIP_FORWARD_DELAY", "2")], &flags).0);
    assert!(invalid(&e, "skip_forward_delay"), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// Validation: each failure, in each layer, names the key and where it came from
// ---------------------------------------------------------------------------------------

/// Sets one bad value in each layer in turn and checks the variant and that the message
/// names the setting: the key and file path, the variable, or the flag.
fn check_rejected_in_each_layer(
    toml_line: &str,
    env: (&str, &str),
    flag: &[&str],
    base: &[&str],
    is_variant: fn(&ConfigError) -> bool,
) {
    let key = toml_line.split(['=', ' ']).next().unwrap_or_default();
    let case = Case::new();

    let e = err(case.load(Some(toml_line), &[], base));
    assert!(is_variant(&e), "file {toml_line}: {e:?}");
    let message = e.to_string();
    assert!(message.contains(&format!("`{key}`")), "{message}");
    assert!(
        message.contains(&case.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("config file"), "{message}");

    let e = err(case.load(None, &[env], base));
    assert!(is_variant(&e), "env {env:?}: {e:?}");
    let message = e.to_string();
    assert!(
        message.contains(&format!("environment variable {}", env.0)),
        "{message}"
    );

    let flags: Vec<&str> = base.iter().chain(flag).copied().collect();
    let e = err(case.load(None, &[], &flags));
    assert!(is_variant(&e), "flag {flag:?}: {e:?}");
    let message = e.to_string();
    assert!(message.contains(&format!("flag {}", flag[0])), "{message}");
}

const BASE_EMBEDDED: &[&str] = &["--data-dir", "/d", "--embedded-chain"];
const BASE_RPC: &[&str] = &["--data-dir", "/d", "--bitcoind-rpc", RPC];

#[test]
fn invalid_network() {
    check_rejected_in_each_layer(
        "network = \"testnet\"",
        ("SLUICE_NETWORK", "testnet"),
        &["--network", "testnet"],
        BASE_RPC,
        |e| {
            matches!(e, ConfigError::Invalid { value, .. } if value == "testnet")
                && invalid(e, "network")
        },
    );
    // "mainnet" is accepted as another name for bitcoin.
    let mut flags = BASE_RPC.to_vec();
    flags.extend(["--network", "mainnet"]);
    assert_eq!(ok(load_once(None, &[], &flags).0).network, Network::Bitcoin);
}

#[test]
fn invalid_listen_address() {
    check_rejected_in_each_layer(
        "listen = \"localhost:9735\"",
        ("SLUICE_LISTEN", "127.0.0.1"),
        &["--listen", "9735"],
        BASE_EMBEDDED,
        |e| invalid(e, "listen") && e.to_string().contains("expected IP:PORT"),
    );
}

#[test]
fn invalid_api_address() {
    check_rejected_in_each_layer(
        "api_addr = \"127.0.0.1:70000\"",
        ("SLUICE_API_ADDR", "nope"),
        &["--api-addr", ":3000"],
        BASE_EMBEDDED,
        |e| invalid(e, "api_addr") && e.to_string().contains("expected IP:PORT"),
    );
}

#[test]
fn alias_longer_than_32_bytes() {
    // 11 euro signs: 11 characters, 33 bytes.
    let long = "€".repeat(11);
    let line = format!("alias = \"{long}\"");
    check_rejected_in_each_layer(
        &line,
        ("SLUICE_ALIAS", &long),
        &["--alias", &long],
        BASE_EMBEDDED,
        |e| invalid(e, "alias") && e.to_string().contains("33 bytes long"),
    );
    let mut flags = BASE_EMBEDDED.to_vec();
    let exact = "x".repeat(32);
    flags.extend(["--alias", &exact]);
    assert_eq!(
        ok(load_once(None, &[], &flags).0).alias,
        Some(exact.clone())
    );
}

#[test]
fn invalid_log_format() {
    check_rejected_in_each_layer(
        "log_format = \"yaml\"",
        ("SLUICE_LOG_FORMAT", "yaml"),
        &["--log-format", "yaml"],
        BASE_EMBEDDED,
        |e| invalid(e, "log_format"),
    );
}

#[test]
fn invalid_automine_interval() {
    check_rejected_in_each_layer(
        "embedded_chain_automine_ms = 0",
        ("SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS", "soon"),
        &["--embedded-chain-automine-ms", "0"],
        BASE_EMBEDDED,
        |e| invalid(e, "embedded_chain_automine_ms"),
    );
    let e = err(load_once(Some("embedded_chain_automine_ms = -5"), &[], BASE_EMBEDDED).0);
    assert!(invalid(&e, "embedded_chain_automine_ms"), "{e:?}");
    // The flag's text is checked like the variable's, not by clap.
    let flags = [BASE_EMBEDDED, &["--embedded-chain-automine-ms", "soon"]].concat();
    let e = err(load_once(None, &[], &flags).0);
    assert!(invalid(&e, "embedded_chain_automine_ms"), "{e:?}");
    assert!(
        e.to_string()
            .contains("invalid value \"soon\" from flag --embedded-chain-automine-ms"),
        "{e}"
    );
}

#[test]
fn pathfinding_workers_out_of_range() {
    for bad in ["0", "65"] {
        check_rejected_in_each_layer(
            &format!("pathfinding_workers = {bad}"),
            ("SLUICE_PATHFINDING_WORKERS", bad),
            &["--pathfinding-workers", bad],
            BASE_EMBEDDED,
            |e| invalid(e, "pathfinding_workers") && e.to_string().contains("from 1 to 64"),
        );
    }
    // Not a number at all, or negative, is the same error.
    check_rejected_in_each_layer(
        "pathfinding_workers = -1",
        ("SLUICE_PATHFINDING_WORKERS", "two"),
        &["--pathfinding-workers", "1.5"],
        BASE_EMBEDDED,
        |e| invalid(e, "pathfinding_workers"),
    );
    let e = err(load_once(None, &[("SLUICE_PATHFINDING_WORKERS", "65")], BASE_EMBEDDED).0);
    assert!(
        e.to_string()
            .contains("invalid value \"65\" from environment variable SLUICE_PATHFINDING_WORKERS"),
        "{e}"
    );
    // Both ends of the range are accepted.
    for (good, expected) in [("1", 1), ("64", NodeConfig::MAX_PATHFINDING_WORKERS)] {
        let flags = [BASE_EMBEDDED, &["--pathfinding-workers", good]].concat();
        let config = ok(load_once(None, &[], &flags).0);
        assert_eq!(config.pathfinding_workers, expected);
    }
    assert_eq!(NodeConfig::MAX_PATHFINDING_WORKERS, 64);
}

#[test]
fn precedence_send_window() {
    check_precedence(Layers {
        file: "send_window = 16",
        env: ("SLUICE_SEND_WINDOW", "128"),
        flag: &["--send-window", "4096"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.send_window.to_string(),
        expect: ["16", "128", "4096"],
    });
}

#[test]
fn send_window_out_of_range() {
    for bad in ["0", "4097"] {
        check_rejected_in_each_layer(
            &format!("send_window = {bad}"),
            ("SLUICE_SEND_WINDOW", bad),
            &["--send-window", bad],
            BASE_EMBEDDED,
            |e| invalid(e, "send_window") && e.to_string().contains("from 1 to 4096"),
        );
    }
    // Not a number at all: the env and flag layers say so; the file says it is not an integer.
    check_rejected_in_each_layer(
        "send_window = \"many\"",
        ("SLUICE_SEND_WINDOW", "64.5"),
        &["--send-window", "many"],
        BASE_EMBEDDED,
        |e| {
            invalid(e, "send_window")
                || matches!(
                    e,
                    ConfigError::WrongType {
                        expected: "an integer",
                        ..
                    }
                )
        },
    );
}

#[test]
fn quote_ttl_out_of_range() {
    for bad in ["0", "3601"] {
        check_rejected_in_each_layer(
            &format!("quote_ttl_secs = {bad}"),
            ("SLUICE_QUOTE_TTL_SECS", bad),
            &["--quote-ttl-secs", bad],
            BASE_EMBEDDED,
            |e| invalid(e, "quote_ttl_secs") && e.to_string().contains("from 1 to 3600"),
        );
    }
    check_rejected_in_each_layer(
        "quote_ttl_secs = -60",
        ("SLUICE_QUOTE_TTL_SECS", "60s"),
        &["--quote-ttl-secs", "1m"],
        BASE_EMBEDDED,
        |e| invalid(e, "quote_ttl_secs"),
    );
    let e = err(load_once(
        None,
        &[],
        &[BASE_EMBEDDED, &["--quote-ttl-secs", "0"]].concat(),
    )
    .0);
    assert!(
        e.to_string()
            .contains("invalid value \"0\" from flag --quote-ttl-secs"),
        "{e}"
    );
    for (good, expected) in [("1", 1), ("3600", NodeConfig::MAX_QUOTE_TTL_SECS)] {
        let config = ok(load_once(None, &[("SLUICE_QUOTE_TTL_SECS", good)], BASE_EMBEDDED).0);
        assert_eq!(config.quote_ttl_secs, expected);
    }
    assert_eq!(NodeConfig::MAX_QUOTE_TTL_SECS, 3600);
}

#[test]
fn automine_without_the_embedded_chain() {
    let case = Case::new();
    let is_variant =
        |e: &ConfigError| matches!(e, ConfigError::AutomineWithoutEmbeddedChain { .. });

    let file = format!("bitcoind_rpc = \"{RPC}\"\nembedded_chain_automine_ms = 100\n");
    let e = err(case.load(Some(&file), &[], &["--data-dir", "/d"]));
    assert!(is_variant(&e), "{e:?}");
    let message = e.to_string();
    assert!(
        message.contains(&format!(
            "`embedded_chain_automine_ms` in config file {}",
            case.path().display()
        )),
        "{message}"
    );
    assert!(
        message.contains("`bitcoind_rpc` in config file"),
        "{message}"
    );

    let e = err(case.load(
        None,
        &[
            ("SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS", "100"),
            ("SLUICE_BITCOIND_RPC", RPC),
        ],
        &["--data-dir", "/d"],
    ));
    assert!(is_variant(&e), "{e:?}");
    assert!(
        e.to_string()
            .contains("environment variable SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS"),
        "{e}"
    );

    // Set above the layer that chose bitcoind: still an error.
    let e = err(case.load(
        Some(&format!("bitcoind_rpc = \"{RPC}\"")),
        &[],
        &["--data-dir", "/d", "--embedded-chain-automine-ms", "100"],
    ));
    assert!(is_variant(&e), "{e:?}");
    let message = e.to_string();
    assert!(
        message.contains("flag --embedded-chain-automine-ms"),
        "{message}"
    );
    assert!(
        message.contains("`bitcoind_rpc` in config file"),
        "{message}"
    );

    // Set below it: overridden together with the embedded chain, so ignored.
    let config = ok(case.load(
        None,
        &[("SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS", "100")],
        BASE_RPC,
    ));
    assert_eq!(rpc_url(&config), "http://127.0.0.1:18443");
}

#[test]
fn invalid_bitcoind_rpc_in_each_layer() {
    check_rejected_in_each_layer(
        "bitcoind_rpc = \"127.0.0.1:8332\"",
        ("SLUICE_BITCOIND_RPC", "http://127.0.0.1:8332"),
        &["--bitcoind-rpc", "https://u:p@h:1"],
        &["--data-dir", "/d"],
        |e| invalid(e, "bitcoind_rpc"),
    );
}

#[test]
fn bitcoind_rpc_url_shapes() {
    let parse = |url: &str| load_once(None, &[], &["--data-dir", "/d", "--bitcoind-rpc", url]).0;

    let config = ok(parse("http://us%40er:p%3A%2Fss@[::1]:8332/"));
    assert_eq!(
        config.chain_source,
        ChainSource::BitcoindRpc {
            url: "http://[::1]:8332".into(),
            host: "::1".into(),
            port: 8332,
            user: "us@er".into(),
            password: "p:/ss".into(),
        }
    );
    // An unencoded '@' or ':' in the password still works: the host follows the last '@'.
    let config = ok(parse("http://__cookie__:a:b@c@bitcoind.internal:38332"));
    match config.chain_source {
        ChainSource::BitcoindRpc {
            url,
            host,
            port,
            user,
            password,
        } => {
            assert_eq!(url, "http://bitcoind.internal:38332");
            assert_eq!(host, "bitcoind.internal");
            assert_eq!(port, 38332);
            assert_eq!(user, "__cookie__");
            assert_eq!(password, "a:b@c");
        }
        other => panic!("{other:?}"),
    }

    for (url, reason) in [
        ("ftp://u:hunter2@h:1", "http://"),
        ("https://u:hunter2@h:1", "https"),
        ("http://h:1", "credentials"),
        ("http://u@h:1", "password is missing"),
        ("http://:hunter2@h:1", "user is empty"),
        ("http://u:@h:1", "password is empty"),
        ("http://u:hunter2@h", "port is missing"),
        ("http://u:hunter2@h:0", "port"),
        ("http://u:hunter2@h:65536", "port"),
        ("http://u:hunter2@h:x", "port"),
        ("http://u:hunter2@:1", "host"),
        ("http://u:hunter2@h:1/wallet/w", "path"),
        ("http://u:hunter2@::1:8332", "brackets"),
        ("http://u:hunter2@[nothost]:1", "IPv6"),
        ("http://u:hunter2%zz@h:1", "percent"),
        ("http://u:hunter2%4@h:1", "percent"),
    ] {
        let e = err(parse(url));
        assert!(invalid(&e, "bitcoind_rpc"), "{url}: {e:?}");
        let message = e.to_string();
        assert!(message.contains(reason), "{url}: {message}");
        assert!(message.contains("flag --bitcoind-rpc"), "{message}");
        assert!(!message.contains("hunter2"), "password leaked: {message}");
    }
}

#[test]
fn bitcoind_rpc_on_the_default_http_port() {
    // url leaves out a port equal to the scheme's default; one written is still required.
    let flags = [
        "--data-dir",
        "/d",
        "--bitcoind-rpc",
        "http://u:p@example.org:80",
    ];
    let config = ok(load_once(None, &[], &flags).0);
    assert_eq!(rpc_url(&config), "http://example.org:80");
    let flags = ["--data-dir", "/d", "--bitcoind-rpc", "http://u:p@[::1]"];
    let e = err(load_once(None, &[], &flags).0);
    assert!(e.to_string().contains("port is missing"), "{e}");
}

#[test]
fn the_password_stays_out_of_debug_output() {
    let config = ok(load_once(None, &[], BASE_RPC).0);
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("alice"), "{debug}");
}

#[test]
fn data_dir_is_required() {
    let e = err(load_once(None, &[], &["--embedded-chain"]).0);
    assert!(matches!(e, ConfigError::MissingDataDir), "{e:?}");
    let message = e.to_string();
    for name in ["--data-dir", "SLUICE_DATA_DIR", "data_dir"] {
        assert!(message.contains(name), "{message}");
    }
    // An empty path is rejected where it can be given (an empty variable counts as unset).
    let (result, path) = load_once(Some("data_dir = \"\""), &[], &["--embedded-chain"]);
    let e = err(result);
    assert!(invalid(&e, "data_dir"), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("`data_dir` in config file {}", path.display())),
        "{e}"
    );
    // So is an empty flag, whether clap parsed it or a caller built RunArgs by hand.
    let e = err(load_once(None, &[], &["--embedded-chain", "--data-dir", ""]).0);
    assert!(e.to_string().contains("flag --data-dir"), "{e}");
    let args = RunArgs {
        data_dir: Some(String::new()),
        embedded_chain: Some(true),
        ..RunArgs::default()
    };
    let e = err(load(args, env_of(&[])));
    assert!(invalid(&e, "data_dir"), "{e:?}");
    assert!(e.to_string().contains("flag --data-dir"), "{e}");
    let e = err(load_once(None, &[("SLUICE_DATA_DIR", "")], &["--embedded-chain"]).0);
    assert!(matches!(e, ConfigError::MissingDataDir), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// Chain source: exactly one, embedded only on regtest
// ---------------------------------------------------------------------------------------

#[test]
fn missing_chain_source_is_rejected() {
    let e = err(load_once(None, &[], &["--data-dir", "/d"]).0);
    assert!(matches!(e, ConfigError::MissingChainSource), "{e:?}");
    let message = e.to_string();
    for name in [
        "--bitcoind-rpc",
        "SLUICE_BITCOIND_RPC",
        "bitcoind_rpc",
        "--embedded-chain",
        "SLUICE_EMBEDDED_CHAIN",
        "embedded_chain",
    ] {
        assert!(message.contains(name), "{message}");
    }
    // embedded_chain = false is not a chain source either.
    let e = err(load_once(Some("data_dir = \"/d\"\nembedded_chain = false"), &[], &[]).0);
    assert!(matches!(e, ConfigError::MissingChainSource), "{e:?}");
}

#[test]
fn both_chain_sources_in_one_layer_are_rejected() {
    let case = Case::new();
    let both = |e: &ConfigError| matches!(e, ConfigError::ConflictingChainSources { .. });

    let e = err(case.load(
        None,
        &[],
        &[
            "--data-dir",
            "/d",
            "--bitcoind-rpc",
            RPC,
            "--embedded-chain",
        ],
    ));
    assert!(both(&e), "{e:?}");
    assert!(
        e.to_string()
            .contains("flag --bitcoind-rpc and flag --embedded-chain"),
        "{e}"
    );

    let e = err(case.load(
        None,
        &[
            ("SLUICE_BITCOIND_RPC", RPC),
            ("SLUICE_EMBEDDED_CHAIN", "true"),
        ],
        &["--data-dir", "/d"],
    ));
    assert!(both(&e), "{e:?}");
    assert!(e.to_string().contains("SLUICE_BITCOIND_RPC"), "{e}");
    assert!(e.to_string().contains("SLUICE_EMBEDDED_CHAIN"), "{e}");

    let file = format!("bitcoind_rpc = \"{RPC}\"\nembedded_chain = true\n");
    let e = err(case.load(Some(&file), &[], &["--data-dir", "/d"]));
    assert!(both(&e), "{e:?}");
    assert!(
        e.to_string().contains("`bitcoind_rpc` in config file"),
        "{e}"
    );
    assert!(
        e.to_string().contains("`embedded_chain` in config file"),
        "{e}"
    );
    // The password is not in the message.
    assert!(!e.to_string().contains("s3cret"), "{e}");
}

#[test]
fn embedded_chain_off_regtest_is_rejected() {
    let e = err(load_once(
        None,
        &[],
        &[
            "--data-dir",
            "/d",
            "--embedded-chain",
            "--network",
            "bitcoin",
        ],
    )
    .0);
    assert!(
        matches!(
            e,
            ConfigError::EmbeddedChainRequiresRegtest {
                network: Network::Bitcoin,
                ..
            }
        ),
        "{e:?}"
    );
    let message = e.to_string();
    assert!(message.contains("flag --embedded-chain"), "{message}");
    assert!(message.contains("flag --network"), "{message}");

    let (result, path) = load_once(
        Some("network = \"signet\""),
        &[("SLUICE_EMBEDDED_CHAIN", "1")],
        &["--data-dir", "/d"],
    );
    let e = err(result);
    assert!(
        matches!(
            e,
            ConfigError::EmbeddedChainRequiresRegtest {
                network: Network::Signet,
                ..
            }
        ),
        "{e:?}"
    );
    let message = e.to_string();
    assert!(
        message.contains("environment variable SLUICE_EMBEDDED_CHAIN"),
        "{message}"
    );
    assert!(
        message.contains(&format!("`network` in config file {}", path.display())),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------
// API tokens in each layer
// ---------------------------------------------------------------------------------------

#[test]
fn token_syntax_on_the_command_line() {
    let t1 = format!("{H1}:admin");
    let t2 = format!("{H2}:pay+read");
    let t3 = format!("{H3}:LP");
    let t23 = format!("{t2},{t3}");
    let args = run_args(&["--api-token-sha256", &t1, "--api-token-sha256", &t23]);
    assert_eq!(args.api_tokens.as_ref().map(Vec::len), Some(3));
    let mut flags = BASE_EMBEDDED.to_vec();
    flags.extend(["--api-token-sha256", &t1, "--api-token-sha256", &t23]);
    let config = ok(load_once(None, &[], &flags).0);
    assert_eq!(token_summary(&config), "11:admin,22:pay+read,33:lp");
}

#[test]
fn token_syntax_in_the_environment() {
    let value = format!(" {H1}:admin , {H2}:pay+read ,");
    let config = ok(load_once(None, &[("SLUICE_API_TOKENS", &value)], BASE_EMBEDDED).0);
    assert_eq!(token_summary(&config), "11:admin,22:pay+read");
}

#[test]
fn token_syntax_in_the_file() {
    let file = format!(
        "[api]\ntokens = [{{ sha256 = \"{H1}\", scopes = [\"lp\"] }}, \
         {{ sha256 = \"{H2}\", scopes = [\"read\", \"admin\"] }}]\n"
    );
    let config = ok(load_once(Some(&file), &[], BASE_EMBEDDED).0);
    assert_eq!(token_summary(&config), "11:lp,22:admin+read");
    // An empty list is allowed.
    let config = ok(load_once(Some("[api]\ntokens = []\n"), &[], BASE_EMBEDDED).0);
    assert!(config.api_tokens.is_empty());
}

/// A bad token in each layer; `entry_2` is the bad second entry as `HEX:scopes` and as TOML.
fn check_bad_second_token(spec: &str, toml_entry: &str, is_variant: fn(&ConfigError) -> bool) {
    let good = format!("{H1}:admin");
    let case = Case::new();

    let e = err(case.load(
        None,
        &[],
        &[
            BASE_EMBEDDED,
            &["--api-token-sha256", &good, "--api-token-sha256", spec],
        ]
        .concat(),
    ));
    assert!(is_variant(&e), "flag {spec}: {e:?}");
    assert!(
        e.to_string()
            .contains("API token #2 from flag --api-token-sha256"),
        "{e}"
    );

    let e = err(case.load(
        None,
        &[("SLUICE_API_TOKENS", &format!("{good},{spec}"))],
        BASE_EMBEDDED,
    ));
    assert!(is_variant(&e), "env {spec}: {e:?}");
    assert!(
        e.to_string()
            .contains("API token #2 from environment variable SLUICE_API_TOKENS"),
        "{e}"
    );

    let file = format!(
        "[[api.tokens]]\nsha256 = \"{H1}\"\nscopes = [\"admin\"]\n[[api.tokens]]\n{toml_entry}\n"
    );
    let e = err(case.load(Some(&file), &[], BASE_EMBEDDED));
    assert!(is_variant(&e), "file {toml_entry}: {e:?}");
    let expected = format!(
        "API token #2 from [[api.tokens]] in config file {}",
        case.path().display()
    );
    assert!(e.to_string().contains(&expected), "{e}");
}

#[test]
fn token_hash_must_be_64_hex_chars() {
    let short = &H2[..63];
    check_bad_second_token(
        &format!("{short}:pay"),
        &format!("sha256 = \"{short}\"\nscopes = [\"pay\"]"),
        |e| {
            bad_entry(e, 2, "must be 64 hex characters, got 63 characters")
                && !e.to_string().contains("non-hex")
        },
    );
    let not_hex = format!("{}g", &H2[..63]);
    check_bad_second_token(
        &format!("{not_hex}:pay"),
        &format!("sha256 = \"{not_hex}\"\nscopes = [\"pay\"]"),
        |e| bad_entry(e, 2, "got 64 characters including non-hex ones"),
    );
    // The raw value is not echoed (it might be a token pasted by mistake).
    let e = err(load_once(
        None,
        &[("SLUICE_API_TOKENS", "my-secret-token:admin")],
        BASE_EMBEDDED,
    )
    .0);
    assert!(!e.to_string().contains("my-secret-token"), "{e}");
}

#[test]
fn token_scopes_must_be_known() {
    check_bad_second_token(
        &format!("{H2}:pay+write"),
        &format!("sha256 = \"{H2}\"\nscopes = [\"pay\", \"write\"]"),
        |e| bad_entry(e, 2, "unknown scope \"write\""),
    );
}

#[test]
fn token_scopes_must_be_given() {
    check_bad_second_token(H2, &format!("sha256 = \"{H2}\"\nscopes = []"), |e| {
        bad_entry(e, 2, "has no scopes")
    });
    check_bad_second_token(&format!("{H2}:"), &format!("sha256 = \"{H2}\""), |e| {
        bad_entry(e, 2, "has no scopes")
    });
}

#[test]
fn tokens_must_not_repeat() {
    check_bad_second_token(
        &format!("{}:read", H1.to_uppercase()),
        &format!("sha256 = \"{H1}\"\nscopes = [\"read\"]"),
        |e| {
            matches!(e, ConfigError::DuplicateEntry { entry: 2, .. })
                && e.to_string().contains("repeats an earlier token's SHA-256")
        },
    );
}

#[test]
fn file_token_without_sha256() {
    let (result, path) = load_once(
        Some("[[api.tokens]]\nscopes = [\"read\"]\n"),
        &[],
        BASE_EMBEDDED,
    );
    let e = err(result);
    assert!(
        matches!(
            e,
            ConfigError::MissingFileKey {
                key: "api.tokens.sha256",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
}

// ---------------------------------------------------------------------------------------
// Trusted 0-conf peers in each layer
// ---------------------------------------------------------------------------------------

#[test]
fn trusted_peers_on_the_command_line() {
    let [k1, k2, k3] = [1, 2, 3].map(node_id_hex);
    // Repeated, comma-separated, with spaces around entries; upper-case hex is fine.
    let k23 = format!("{k2} , {}", k3.to_uppercase());
    let args = run_args(&["--trusted-peer-0conf", &k1, "--trusted-peer-0conf", &k23]);
    assert_eq!(args.trusted_peers_0conf.as_ref().map(Vec::len), Some(3));
    let mut flags = BASE_EMBEDDED.to_vec();
    flags.extend(["--trusted-peer-0conf", &k1, "--trusted-peer-0conf", &k23]);
    let config = ok(load_once(None, &[], &flags).0);
    assert_eq!(
        config.trusted_peers_0conf,
        [node_id(1), node_id(2), node_id(3)]
    );
    assert_eq!(peer_summary(&config), "1,2,3");
    // The order given is kept.
    let mut flags = BASE_EMBEDDED.to_vec();
    flags.extend(["--trusted-peer-0conf", G, "--trusted-peer-0conf", &k1]);
    assert_eq!(peer_summary(&ok(load_once(None, &[], &flags).0)), "g,1");
}

#[test]
fn trusted_peers_in_the_environment() {
    let [k1, k2] = [1, 2].map(node_id_hex);
    let value = format!(" {k1} ,{k2}, ");
    let config = ok(load_once(
        None,
        &[("SLUICE_TRUSTED_PEERS_0CONF", &value)],
        BASE_EMBEDDED,
    )
    .0);
    assert_eq!(peer_summary(&config), "1,2");
    // An empty variable counts as unset: the file's list stays in force.
    let file = format!("trusted_peers_0conf = [\"{k1}\"]");
    for empty in ["", "  "] {
        let config = ok(load_once(
            Some(&file),
            &[("SLUICE_TRUSTED_PEERS_0CONF", empty)],
            BASE_EMBEDDED,
        )
        .0);
        assert_eq!(peer_summary(&config), "1", "{empty:?}");
    }
}

#[test]
fn trusted_peers_in_the_file() {
    let [k1, k2] = [1, 2].map(node_id_hex);
    let file = format!("trusted_peers_0conf = [\"{k2}\", \"{G}\", \"{k1}\"]\n");
    let config = ok(load_once(Some(&file), &[], BASE_EMBEDDED).0);
    assert_eq!(peer_summary(&config), "2,g,1");
    // An empty list is allowed.
    let config = ok(load_once(Some("trusted_peers_0conf = []\n"), &[], BASE_EMBEDDED).0);
    assert!(config.trusted_peers_0conf.is_empty());
}

#[test]
fn trusted_peers_flag_replaces_lower_layers_even_when_shorter() {
    let [k1, k2, k3] = [1, 2, 3].map(node_id_hex);
    let file = format!("trusted_peers_0conf = [\"{k1}\", \"{k2}\"]\n");
    let env = format!("{k1},{k2}");
    let mut flags = BASE_EMBEDDED.to_vec();
    flags.extend(["--trusted-peer-0conf", &k3]);
    let config = ok(load_once(Some(&file), &[("SLUICE_TRUSTED_PEERS_0CONF", &env)], &flags).0);
    assert_eq!(peer_summary(&config), "3");
    // An explicitly empty flag clears the list.
    let mut flags = BASE_EMBEDDED.to_vec();
    flags.push("--trusted-peer-0conf=");
    let config = ok(load_once(Some(&file), &[], &flags).0);
    assert!(config.trusted_peers_0conf.is_empty());
}

/// A bad trusted peer in each layer: `bad` is the second entry, after a good one. Checks the
/// variant and that the message names the entry and the setting it came from.
fn check_bad_second_peer(bad: &str, is_variant: fn(&ConfigError) -> bool) {
    let good = node_id_hex(1);
    let case = Case::new();

    let e = err(case.load(
        None,
        &[],
        &[
            BASE_EMBEDDED,
            &["--trusted-peer-0conf", &good, "--trusted-peer-0conf", bad],
        ]
        .concat(),
    ));
    assert!(is_variant(&e), "flag {bad}: {e:?}");
    assert!(
        e.to_string()
            .contains("trusted 0-conf peer #2 from flag --trusted-peer-0conf"),
        "{e}"
    );

    let e = err(case.load(
        None,
        &[("SLUICE_TRUSTED_PEERS_0CONF", &format!("{good}, {bad}"))],
        BASE_EMBEDDED,
    ));
    assert!(is_variant(&e), "env {bad}: {e:?}");
    assert!(
        e.to_string().contains(
            "trusted 0-conf peer #2 from environment variable SLUICE_TRUSTED_PEERS_0CONF"
        ),
        "{e}"
    );

    let file = format!("trusted_peers_0conf = [\"{good}\", \"{bad}\"]\n");
    let e = err(case.load(Some(&file), &[], BASE_EMBEDDED));
    assert!(is_variant(&e), "file {bad}: {e:?}");
    let expected = format!(
        "trusted 0-conf peer #2 from `trusted_peers_0conf` in config file {}",
        case.path().display()
    );
    assert!(e.to_string().contains(&expected), "{e}");
}

/// Whether `e` rejects the second trusted peer, `bad`, for a reason mentioning `reason`, and
/// quotes it in the message.
fn invalid_peer(e: &ConfigError, bad: &str, reason: &str) -> bool {
    matches!(e, ConfigError::InvalidEntry { setting, .. }
        if setting.key == Key::new("trusted_peers_0conf"))
        && bad_entry(e, 2, &format!("{bad:?} is not a node id"))
        && e.to_string().contains(reason)
}

#[test]
fn trusted_peer_of_the_wrong_length() {
    const X_ONLY: &str = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    const ONE_SHORT: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179";
    const UNCOMPRESSED: &str = "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\
                                483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";
    check_bad_second_peer(X_ONLY, |e| invalid_peer(e, X_ONLY, "66 hex characters"));
    check_bad_second_peer(ONE_SHORT, |e| {
        invalid_peer(e, ONE_SHORT, "66 hex characters")
    });
    check_bad_second_peer(UNCOMPRESSED, |e| {
        invalid_peer(e, UNCOMPRESSED, "66 hex characters")
    });
}

#[test]
fn trusted_peer_that_is_not_hex() {
    const LAST_G: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179g";
    check_bad_second_peer(LAST_G, |e| invalid_peer(e, LAST_G, "not hex digits"));
    check_bad_second_peer("my-lsp@1.2.3.4:9735", |e| {
        invalid_peer(e, "my-lsp@1.2.3.4:9735", "not hex digits")
    });
}

#[test]
fn trusted_peer_that_is_not_a_public_key() {
    // Right length and hex, but not a compressed point: a bad prefix, an x coordinate beyond
    // the field size, and an x with no point on the curve (y² = 7 has no solution).
    const BAD_PREFIX: &str = "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    const X_TOO_BIG: &str = "02ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    const X_ZERO: &str = "020000000000000000000000000000000000000000000000000000000000000000";
    check_bad_second_peer(BAD_PREFIX, |e| invalid_peer(e, BAD_PREFIX, "secp256k1"));
    check_bad_second_peer(X_TOO_BIG, |e| invalid_peer(e, X_TOO_BIG, "secp256k1"));
    check_bad_second_peer(X_ZERO, |e| invalid_peer(e, X_ZERO, "secp256k1"));
}

#[test]
fn trusted_peers_must_not_repeat() {
    // The same key in another case is the same node id.
    let upper = node_id_hex(1).to_uppercase();
    check_bad_second_peer(&upper, |e| {
        matches!(e, ConfigError::DuplicateEntry { entry: 2, .. })
    });
    let e = err(load_once(
        None,
        &[(
            "SLUICE_TRUSTED_PEERS_0CONF",
            &format!("{G},{},{G}", node_id_hex(2)),
        )],
        BASE_EMBEDDED,
    )
    .0);
    assert!(
        matches!(e, ConfigError::DuplicateEntry { entry: 3, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("repeats an earlier node id"), "{e}");
}

#[test]
fn a_bad_trusted_peer_is_reported_even_when_a_higher_layer_overrides_it() {
    let mut flags = BASE_EMBEDDED.to_vec();
    flags.extend(["--trusted-peer-0conf", G]);
    let e = err(load_once(Some("trusted_peers_0conf = [\"02\"]"), &[], &flags).0);
    assert!(matches!(e, ConfigError::InvalidEntry { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// Excluded nodes and channels in each layer
// ---------------------------------------------------------------------------------------

#[test]
fn excluded_nodes_on_the_command_line() {
    let [k1, k2, k3] = [1, 2, 3].map(node_id_hex);
    // Repeated, comma-separated, with spaces around entries; upper-case hex is fine.
    let k23 = format!("{k2} , {}", k3.to_uppercase());
    let args = run_args(&["--exclude-node", &k1, "--exclude-node", &k23]);
    assert_eq!(args.excluded_nodes.as_ref().map(Vec::len), Some(3));
    let flags = [
        BASE_EMBEDDED,
        &["--exclude-node", &k1, "--exclude-node", &k23],
    ]
    .concat();
    let config = ok(load_once(None, &[], &flags).0);
    assert_eq!(config.excluded_nodes, [node_id(1), node_id(2), node_id(3)]);
    // The order given is kept, and the list is its own: trusted peers are untouched.
    let flags = [BASE_EMBEDDED, &["--exclude-node", G, "--exclude-node", &k1]].concat();
    let config = ok(load_once(None, &[], &flags).0);
    assert_eq!(excluded_node_summary(&config), "g,1");
    assert!(config.trusted_peers_0conf.is_empty());
}

#[test]
fn excluded_nodes_in_the_environment() {
    let [k1, k2] = [1, 2].map(node_id_hex);
    let value = format!(" {k1} ,{k2}, ");
    let config = ok(load_once(None, &[("SLUICE_EXCLUDED_NODES", &value)], BASE_EMBEDDED).0);
    assert_eq!(excluded_node_summary(&config), "1,2");
    // An empty variable counts as unset: the file's list stays in force.
    let file = format!("excluded_nodes = [\"{k1}\"]");
    for empty in ["", "  "] {
        let config = ok(load_once(
            Some(&file),
            &[("SLUICE_EXCLUDED_NODES", empty)],
            BASE_EMBEDDED,
        )
        .0);
        assert_eq!(excluded_node_summary(&config), "1", "{empty:?}");
    }
}

#[test]
fn excluded_nodes_in_the_file() {
    let [k1, k2] = [1, 2].map(node_id_hex);
    let file = format!("excluded_nodes = [\"{k2}\", \"{G}\", \"{k1}\"]\n");
    let config = ok(load_once(Some(&file), &[], BASE_EMBEDDED).0);
    assert_eq!(excluded_node_summary(&config), "2,g,1");
    let config = ok(load_once(Some("excluded_nodes = []\n"), &[], BASE_EMBEDDED).0);
    assert!(config.excluded_nodes.is_empty());
}

#[test]
fn excluded_nodes_flag_replaces_lower_layers_even_when_shorter() {
    let [k1, k2, k3] = [1, 2, 3].map(node_id_hex);
    let file = format!("excluded_nodes = [\"{k1}\", \"{k2}\"]\n");
    let env = format!("{k1},{k2}");
    let flags = [BASE_EMBEDDED, &["--exclude-node", &k3]].concat();
    let config = ok(load_once(Some(&file), &[("SLUICE_EXCLUDED_NODES", &env)], &flags).0);
    assert_eq!(excluded_node_summary(&config), "3");
    // An explicitly empty flag clears the list.
    let flags = [BASE_EMBEDDED, &["--exclude-node="]].concat();
    let config = ok(load_once(Some(&file), &[], &flags).0);
    assert!(config.excluded_nodes.is_empty());
}

/// The three names of a list setting and what its error messages call one entry.
struct ListSetting {
    flag: &'static str,
    env: &'static str,
    toml_key: &'static str,
    /// E.g. "excluded node".
    entry: &'static str,
}

const EXCLUDED_NODES: ListSetting = ListSetting {
    flag: "--exclude-node",
    env: "SLUICE_EXCLUDED_NODES",
    toml_key: "excluded_nodes",
    entry: "excluded node",
};

const EXCLUDED_CHANNELS: ListSetting = ListSetting {
    flag: "--exclude-channel",
    env: "SLUICE_EXCLUDED_CHANNELS",
    toml_key: "excluded_channels",
    entry: "excluded channel",
};

/// A bad entry in each layer: `bad` is the second entry, after `good`. Checks the variant
/// and that the message names the entry and the setting it came from.
fn check_bad_second_entry(
    list: &ListSetting,
    good: &str,
    bad: &str,
    is_variant: &dyn Fn(&ConfigError) -> bool,
) {
    let case = Case::new();
    let entry = list.entry;

    // `--flag=VALUE`, so that a value like "-1" is not taken for a flag.
    let (good_flag, bad_flag) = (
        format!("{}={good}", list.flag),
        format!("{}={bad}", list.flag),
    );
    let flags = [BASE_EMBEDDED, &[good_flag.as_str(), bad_flag.as_str()]].concat();
    let e = err(case.load(None, &[], &flags));
    assert!(is_variant(&e), "flag {bad:?}: {e:?}");
    let expected = format!("{entry} #2 from flag {}", list.flag);
    assert!(e.to_string().contains(&expected), "{e}");

    let e = err(case.load(
        None,
        &[(list.env, &format!("{good}, {bad}"))],
        BASE_EMBEDDED,
    ));
    assert!(is_variant(&e), "env {bad:?}: {e:?}");
    let expected = format!("{entry} #2 from environment variable {}", list.env);
    assert!(e.to_string().contains(&expected), "{e}");

    let file = format!("{} = [\"{good}\", \"{bad}\"]\n", list.toml_key);
    let e = err(case.load(Some(&file), &[], BASE_EMBEDDED));
    assert!(is_variant(&e), "file {bad:?}: {e:?}");
    let expected = format!(
        "{entry} #2 from `{}` in config file {}",
        list.toml_key,
        case.path().display()
    );
    assert!(e.to_string().contains(&expected), "{e}");
}

/// Whether `e` rejects the second excluded node, `bad`, for a reason mentioning `reason`,
/// and quotes it in the message.
fn invalid_excluded_node(e: &ConfigError, bad: &str, reason: &str) -> bool {
    matches!(e, ConfigError::InvalidEntry { setting, .. }
        if setting.key == Key::new("excluded_nodes"))
        && bad_entry(e, 2, &format!("{bad:?} is not a node id"))
        && e.to_string().contains(reason)
}

#[test]
fn bad_excluded_nodes() {
    const ONE_SHORT: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179";
    const LAST_G: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179g";
    const X_ZERO: &str = "020000000000000000000000000000000000000000000000000000000000000000";
    let good = node_id_hex(1);
    for (bad, reason) in [
        (ONE_SHORT, "66 hex characters"),
        ("02", "66 hex characters"),
        (LAST_G, "not hex digits"),
        ("my-lsp@1.2.3.4:9735", "not hex digits"),
        (X_ZERO, "secp256k1"),
    ] {
        check_bad_second_entry(&EXCLUDED_NODES, &good, bad, &|e| {
            invalid_excluded_node(e, bad, reason)
        });
    }
    // A repeated node id (in any case) is an error too, as for trusted peers.
    check_bad_second_entry(&EXCLUDED_NODES, &good, &good.to_uppercase(), &|e| {
        matches!(e, ConfigError::DuplicateEntry { entry: 2, .. })
            && e.to_string().contains("repeats an earlier node id")
    });
    // Reported even when a higher layer overrides it.
    let flags = [BASE_EMBEDDED, &["--exclude-node", G]].concat();
    let e = err(load_once(Some("excluded_nodes = [\"02\"]"), &[], &flags).0);
    assert!(matches!(e, ConfigError::InvalidEntry { .. }), "{e:?}");
}

#[test]
fn excluded_channels_on_the_command_line() {
    let args = run_args(&[
        "--exclude-channel",
        "812x1x0",
        "--exclude-channel",
        "1x2x3 , 4x5x6",
    ]);
    assert_eq!(args.excluded_channels.as_ref().map(Vec::len), Some(3));
    let flags = [
        BASE_EMBEDDED,
        &[
            "--exclude-channel",
            "812x1x0",
            "--exclude-channel",
            "1x2x3 , 4x5x6",
        ],
    ]
    .concat();
    let config = ok(load_once(None, &[], &flags).0);
    assert_eq!(excluded_channel_summary(&config), "812x1x0,1x2x3,4x5x6");
}

#[test]
fn excluded_channels_in_the_environment() {
    let config = ok(load_once(
        None,
        &[("SLUICE_EXCLUDED_CHANNELS", " 9x8x7 ,, 892803441819648 ,")],
        BASE_EMBEDDED,
    )
    .0);
    assert_eq!(excluded_channel_summary(&config), "9x8x7,812x1x0");
    // An empty variable counts as unset: the file's list stays in force.
    for empty in ["", "  "] {
        let config = ok(load_once(
            Some("excluded_channels = [\"1x1x1\"]"),
            &[("SLUICE_EXCLUDED_CHANNELS", empty)],
            BASE_EMBEDDED,
        )
        .0);
        assert_eq!(excluded_channel_summary(&config), "1x1x1", "{empty:?}");
    }
}

#[test]
fn excluded_channels_in_the_file() {
    let file = "excluded_channels = [\"3x2x1\", \"892803441819648\"]\n";
    let config = ok(load_once(Some(file), &[], BASE_EMBEDDED).0);
    assert_eq!(excluded_channel_summary(&config), "3x2x1,812x1x0");
    let config = ok(load_once(Some("excluded_channels = []\n"), &[], BASE_EMBEDDED).0);
    assert!(config.excluded_channels.is_empty());
}

#[test]
fn excluded_channels_flag_replaces_lower_layers_even_when_shorter() {
    let file = "excluded_channels = [\"1x1x1\", \"2x2x2\"]\n";
    let flags = [BASE_EMBEDDED, &["--exclude-channel", "3x3x3"]].concat();
    let config = ok(load_once(
        Some(file),
        &[("SLUICE_EXCLUDED_CHANNELS", "1x1x1,2x2x2")],
        &flags,
    )
    .0);
    assert_eq!(excluded_channel_summary(&config), "3x3x3");
    let flags = [BASE_EMBEDDED, &["--exclude-channel="]].concat();
    let config = ok(load_once(Some(file), &[], &flags).0);
    assert!(config.excluded_channels.is_empty());
}

#[test]
fn both_scid_forms_name_the_same_channel() {
    // block << 40 | tx << 16 | output
    for (human, decimal, value) in [
        ("812x1x0", "892803441819648", 812 << 40 | 1 << 16),
        (
            "830000x2047x1",
            "912594651188232193",
            912_594_651_188_232_193,
        ),
        ("0x0x0", "0", 0),
        ("0x0x1", "1", 1),
        ("0x1x0", "65536", 1 << 16),
        ("1x0x0", "1099511627776", 1 << 40),
        // The largest of each part: every bit set.
        ("16777215x16777215x65535", "18446744073709551615", u64::MAX),
        // Leading zeros are only digits.
        ("000812x01x00", "000892803441819648", 812 << 40 | 1 << 16),
    ] {
        let from_flag = |scid: &str| {
            let flags = [BASE_EMBEDDED, &["--exclude-channel", scid]].concat();
            ok(load_once(None, &[], &flags).0).excluded_channels
        };
        let from_env = |scid: &str| {
            ok(load_once(None, &[("SLUICE_EXCLUDED_CHANNELS", scid)], BASE_EMBEDDED).0)
                .excluded_channels
        };
        let from_file = |scid: &str| {
            let file = format!("excluded_channels = [\"{scid}\"]");
            ok(load_once(Some(&file), &[], BASE_EMBEDDED).0).excluded_channels
        };
        for scid in [human, decimal] {
            assert_eq!(from_flag(scid), [value], "flag {scid}");
            assert_eq!(from_env(scid), [value], "env {scid}");
            assert_eq!(from_file(scid), [value], "file {scid}");
        }
    }
    // So one channel in both forms is a repeat.
    check_bad_second_entry(&EXCLUDED_CHANNELS, "812x1x0", "892803441819648", &|e| {
        matches!(e, ConfigError::DuplicateEntry { setting, entry: 2, .. }
            if setting.key == Key::new("excluded_channels"))
            && e.to_string()
                .contains("repeats an earlier short channel id")
    });
}

#[test]
fn bad_excluded_channels() {
    for (bad, reason) in [
        ("1x2", "exactly three parts"),
        ("1x2x3x4", "exactly three parts"),
        ("0x1f", "exactly three parts"),
        ("abc", "neither BLOCKxTXxOUTPUT nor a decimal number"),
        ("-1", "neither BLOCKxTXxOUTPUT nor a decimal number"),
        ("+5", "neither BLOCKxTXxOUTPUT nor a decimal number"),
        ("1.5", "neither BLOCKxTXxOUTPUT nor a decimal number"),
        ("812:1:0", "neither BLOCKxTXxOUTPUT nor a decimal number"),
        ("812X1X0", "neither BLOCKxTXxOUTPUT nor a decimal number"),
        ("18446744073709551616", "does not fit in 64 bits"),
        ("16777216x0x0", "block height must be below 16777216"),
        ("0x16777216x0", "transaction index must be below 16777216"),
        ("0x0x65536", "output index must be below 65536"),
        ("x1x2", "block height is not a decimal number"),
        ("1x-2x3", "transaction index is not a decimal number"),
        ("1x2x 3", "output index is not a decimal number"),
        ("1x2x", "output index is not a decimal number"),
    ] {
        check_bad_second_entry(&EXCLUDED_CHANNELS, "812x1x0", bad, &|e| {
            matches!(e, ConfigError::InvalidEntry { setting, .. }
                if setting.key == Key::new("excluded_channels"))
                && bad_entry(e, 2, reason)
                && e.to_string()
                    .contains(&format!("{bad:?} is not a short channel id"))
                && e.to_string().contains("expected BLOCKxTXxOUTPUT")
        });
    }
    // In the file an empty string is an entry too (on the command line and in the
    // environment empty entries are skipped).
    let (result, path) = load_once(Some("excluded_channels = [\"\"]"), &[], BASE_EMBEDDED);
    let e = err(result);
    assert!(bad_entry(&e, 1, "is not a short channel id"), "{e:?}");
    let expected = format!(
        "excluded channel #1 from `excluded_channels` in config file {}",
        path.display()
    );
    assert!(e.to_string().contains(&expected), "{e}");
}

// ---------------------------------------------------------------------------------------
// The file itself
// ---------------------------------------------------------------------------------------

fn unknown_key(file: &str) -> (String, Option<String>, String) {
    let (result, path) = load_once(Some(file), &[], BASE_EMBEDDED);
    match err(result) {
        ConfigError::UnknownKey {
            path: p,
            key,
            suggestion,
        } => {
            assert_eq!(p, path);
            let message = ConfigError::UnknownKey {
                path: p,
                key: key.clone(),
                suggestion: suggestion.clone(),
            }
            .to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            (key, suggestion, message)
        }
        other => panic!("{file}: {other:?}"),
    }
}

#[test]
fn unknown_toml_keys_are_rejected() {
    let (key, suggestion, message) = unknown_key("netwrok = \"signet\"");
    assert_eq!(key, "netwrok");
    assert_eq!(suggestion.as_deref(), Some("network"));
    assert!(message.contains("unknown key `netwrok`"), "{message}");
    assert!(message.contains("did you mean `network`?"), "{message}");

    let (key, suggestion, _) = unknown_key("api_address = \"127.0.0.1:1\"");
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("api_address", Some("api_addr"))
    );

    let (key, suggestion, _) = unknown_key("trusted_peer_0conf = []");
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("trusted_peer_0conf", Some("trusted_peers_0conf"))
    );

    let (key, suggestion, _) = unknown_key("exclude_nodes = []");
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("exclude_nodes", Some("excluded_nodes"))
    );
    let (key, suggestion, _) = unknown_key("quote_ttl_sec = 60");
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("quote_ttl_sec", Some("quote_ttl_secs"))
    );
    let (key, suggestion, _) = unknown_key("pathfinding_worker = 2");
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("pathfinding_worker", Some("pathfinding_workers"))
    );
    let (key, suggestion, _) = unknown_key("skip_forwards_delay = true");
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("skip_forwards_delay", Some("skip_forward_delay"))
    );

    let (key, suggestion, _) = unknown_key("[api]\ntoken = []");
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("api.token", Some("api.tokens"))
    );

    let file = format!("[[api.tokens]]\nsha256 = \"{H1}\"\nscope = [\"read\"]");
    let (key, suggestion, _) = unknown_key(&file);
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("api.tokens.scope", Some("api.tokens.scopes"))
    );

    // `[[api.tokens]]` is only a table in the file, not a flat key.
    let (key, _, _) = unknown_key("api_tokens = []");
    assert_eq!(key, "api_tokens");

    // The config file cannot name another one; far-off names get no suggestion.
    let (key, suggestion, _) = unknown_key("config = \"other.toml\"");
    assert_eq!((key.as_str(), suggestion), ("config", None));
    let (key, suggestion, _) = unknown_key("[tls]\ncert = \"x\"");
    assert_eq!((key.as_str(), suggestion), ("tls", None));
    // ldk-server style tables point at the flat key.
    let (key, suggestion, _) = unknown_key("[bitcoind]\nrpc_user = \"x\"");
    assert_eq!(
        (key.as_str(), suggestion.as_deref()),
        ("bitcoind", Some("bitcoind_rpc"))
    );
}

#[test]
fn wrong_toml_types_are_rejected() {
    for (file, key, expected, found) in [
        ("listen = 9735", "listen", "a string", "integer"),
        (
            "embedded_chain = \"yes\"",
            "embedded_chain",
            "a boolean",
            "string",
        ),
        (
            "embedded_chain_automine_ms = \"1s\"",
            "embedded_chain_automine_ms",
            "an integer",
            "string",
        ),
        ("api = 1", "api", "a table", "integer"),
        (
            "[api]\ntokens = \"x\"",
            "api.tokens",
            "an array of tables ([[api.tokens]])",
            "string",
        ),
        (
            "[[api.tokens]]\nsha256 = 1",
            "api.tokens.sha256",
            "a string",
            "integer",
        ),
        (
            "[[api.tokens]]\nscopes = \"read\"",
            "api.tokens.scopes",
            "an array of strings",
            "string",
        ),
        (
            "trusted_peers_0conf = \"0279be\"",
            "trusted_peers_0conf",
            "an array of strings",
            "string",
        ),
        (
            "trusted_peers_0conf = [1]",
            "trusted_peers_0conf",
            "a string",
            "integer",
        ),
        (
            "excluded_nodes = \"0279be\"",
            "excluded_nodes",
            "an array of strings",
            "string",
        ),
        (
            "excluded_channels = [812]",
            "excluded_channels",
            "a string",
            "integer",
        ),
        (
            "pathfinding_workers = \"4\"",
            "pathfinding_workers",
            "an integer",
            "string",
        ),
        (
            "quote_ttl_secs = 1.5",
            "quote_ttl_secs",
            "an integer",
            "float",
        ),
        (
            "skip_forward_delay = \"true\"",
            "skip_forward_delay",
            "a boolean",
            "string",
        ),
        (
            "skip_forward_delay = 1",
            "skip_forward_delay",
            "a boolean",
            "integer",
        ),
    ] {
        let (result, path) = load_once(Some(file), &[], BASE_EMBEDDED);
        let e = err(result);
        match &e {
            ConfigError::WrongType {
                path: p,
                key: k,
                expected: x,
                found: f,
            } => {
                assert_eq!(
                    (p.as_path(), k.as_str(), *x, *f),
                    (path.as_path(), key, expected, found)
                );
            }
            other => panic!("{file}: {other:?}"),
        }
        let message = e.to_string();
        assert!(
            message.contains(&format!("`{key}` in config file {}", path.display())),
            "{message}"
        );
    }
}

#[test]
fn invalid_toml_is_rejected() {
    let (result, path) = load_once(Some("network = \"regtest\nlisten ="), &[], BASE_EMBEDDED);
    let e = err(result);
    assert!(matches!(e, ConfigError::FileSyntax { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("line"), "{message}");
}

#[test]
fn unreadable_config_file_is_rejected() {
    let missing = Path::new("/nonexistent/sluice.toml");
    let e = err(load(
        run_args(&[
            "--config",
            missing.to_str().unwrap(),
            "--data-dir",
            "/d",
            "--embedded-chain",
        ]),
        env_of(&[]),
    ));
    match &e {
        ConfigError::ReadFile { path, given_by, .. } => {
            assert_eq!(path, missing);
            assert_eq!(given_by.key, Key::new("config"));
            assert_eq!(given_by.origin, Origin::Flag);
        }
        other => panic!("{other:?}"),
    }
    let message = e.to_string();
    assert!(message.contains("/nonexistent/sluice.toml"), "{message}");
    assert!(message.contains("flag --config"), "{message}");

    let e = err(load(
        run_args(&["--data-dir", "/d", "--embedded-chain"]),
        env_of(&[("SLUICE_CONFIG", "/nonexistent/sluice.toml")]),
    ));
    assert!(
        e.to_string().contains("environment variable SLUICE_CONFIG"),
        "{e}"
    );
}

#[test]
fn a_bad_value_is_reported_even_when_a_higher_layer_overrides_it() {
    let e = err(load_once(
        Some("network = \"testnet\""),
        &[],
        &[BASE_RPC, &["--network", "regtest"]].concat(),
    )
    .0);
    assert!(invalid(&e, "network"), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// --help
// ---------------------------------------------------------------------------------------

/// The `sluice run --help` text as clap renders it for [`RunArgs`]. (The real binary does
/// not have a `run` subcommand yet; this checks the same text in-process.)
/// Every setting, in `--help` order: the fields of `RunArgs`.
#[test]
fn the_settings_are_the_fields_of_run_args() {
    let fields: Vec<&str> = Key::all().map(Key::field).collect();
    assert_eq!(
        fields,
        [
            "config",
            "data_dir",
            "network",
            "bitcoind_rpc",
            "embedded_chain",
            "embedded_chain_automine_ms",
            "listen",
            "api_addr",
            "alias",
            "log_format",
            "api_tokens",
            "api_allow_plaintext",
            "api_tls_cert",
            "api_tls_key",
            "api_header_read_timeout_secs",
            "api_idle_timeout_secs",
            "api_max_connections",
            "api_rate_limit",
            "api_rate_limit_burst",
            "trusted_peers_0conf",
            "excluded_nodes",
            "excluded_channels",
            "pathfinding_workers",
            "quote_ttl_secs",
            "skip_forward_delay",
            "send_window",
            "ldk_timer_tick_secs",
            "refresh_monitor_kib",
            "forwarding_fee_base_msat",
            "forwarding_fee_ppm",
            "lsps2_max_unclaimed_sat",
            "lsps2_unclaimed_window_secs",
            "lsps2_unclaimed_close_after_secs",
            "lsps2_max_live_orders",
            "lsps2_order_retention_secs",
        ]
    );
    let names = |key: &'static str| {
        let key = Key::new(key);
        (key.flag(), key.env_var(), key.config_key())
    };
    assert_eq!(
        names("api_tokens"),
        (
            "--api-token-sha256".to_owned(),
            "SLUICE_API_TOKENS".to_owned(),
            "api.tokens"
        )
    );
    assert_eq!(
        names("excluded_nodes"),
        (
            "--exclude-node".to_owned(),
            "SLUICE_EXCLUDED_NODES".to_owned(),
            "excluded_nodes"
        )
    );
    assert_eq!(
        names("embedded_chain_automine_ms"),
        (
            "--embedded-chain-automine-ms".to_owned(),
            "SLUICE_EMBEDDED_CHAIN_AUTOMINE_MS".to_owned(),
            "embedded_chain_automine_ms"
        )
    );
    // An LSPS2 setting is a key of the `[lsps2]` section.
    assert_eq!(
        names("lsps2_max_unclaimed_sat"),
        (
            "--lsps2-max-unclaimed-sat".to_owned(),
            "SLUICE_LSPS2_MAX_UNCLAIMED_SAT".to_owned(),
            "lsps2.max_unclaimed_sat"
        )
    );
    assert_eq!(
        Key::new("lsps2_max_live_orders").lsps2_key(),
        Some("max_live_orders")
    );
    assert_eq!(Key::new("send_window").lsps2_key(), None);
}

#[test]
fn run_help_documents_every_setting() {
    let mut command = Cli::command();
    let run = command.find_subcommand_mut("run").expect("run subcommand");
    let help = run.render_long_help().to_string();
    for key in Key::all() {
        assert!(
            help.contains(&key.flag()),
            "{} missing from:\n{help}",
            key.flag()
        );
        assert!(
            help.contains(&key.env_var()),
            "{} missing from:\n{help}",
            key.env_var()
        );
        if key != Key::new("config") {
            assert!(
                help.contains(&format!("config: {}", key.config_key()))
                    || help.contains(&format!("[[{}]]", key.config_key())),
                "config key {} missing from:\n{help}",
                key.config_key()
            );
        }
    }
    for default in [
        "default: regtest",
        "default: 127.0.0.1:9735",
        "default: 127.0.0.1:3000",
        "default: human",
        "default: 2]",
        "default: 60]",
        "default: false]",
        "default: 10]",
        "default: 512]",
        "default: 1000]",
        "default: 2000]",
    ] {
        assert!(help.contains(default), "{default} missing from:\n{help}");
    }
    assert!(help.contains("Flags override the environment"), "{help}");
}

/// The built binary's `sluice run --help` documents every flag, variable and config key.
#[test]
fn binary_run_help_documents_every_setting() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--help"])
        .env_clear()
        .output()
        .expect("run sluice");
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8(output.stdout).expect("utf-8 help");
    for key in Key::all() {
        assert!(
            help.contains(&key.flag()),
            "{} missing:\n{help}",
            key.flag()
        );
        assert!(
            help.contains(&key.env_var()),
            "{} missing:\n{help}",
            key.env_var()
        );
        if key != Key::new("config") {
            assert!(
                help.contains(key.config_key()),
                "config key {} missing:\n{help}",
                key.config_key()
            );
        }
    }
    assert!(help.contains("Flags override the environment"), "{help}");
}

// [lsps2]

const LSPS2_SECTION: &str = r#"
[lsps2]
client_trusts_lsp = true
max_pending_opens = 3
client_wait_secs = 5
deny = ["0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"]

[[lsps2.fee_menu]]
min_fee_msat = 10000
proportional_ppm = 5000
min_payment_size_msat = 1000000
max_payment_size_msat = 100000000

[[lsps2.tokens]]
token = "partner"
fee_menu = [{ min_fee_msat = 0, proportional_ppm = 1000, valid_for_secs = 60, min_payment_size_msat = 1000, max_payment_size_msat = 1000000 }]
"#;

#[test]
fn without_an_lsps2_section_no_jit_channels_are_sold() {
    let config = ok(load_once(None, &[], BASE_EMBEDDED).0);
    assert_eq!(config.lsps2, None);
}

#[test]
fn the_lsps2_section_sets_menus_tokens_and_limits_with_defaults_for_the_rest() {
    let case = Case::new();
    let config = ok(case.load(Some(LSPS2_SECTION), &[], BASE_EMBEDDED));
    let lsps2 = config.lsps2.expect("the service is configured");
    assert!(lsps2.client_trusts_lsp);
    assert_eq!(lsps2.max_pending_opens, 3);
    assert_eq!(lsps2.client_wait_secs, 5);
    assert_eq!(lsps2.deny.len(), 1);
    assert_eq!(lsps2.fee_menu.len(), 1);
    assert_eq!(lsps2.fee_menu[0].proportional_ppm, 5000);
    // Unset entry fields and limits take their defaults.
    assert_eq!(lsps2.fee_menu[0].valid_for_secs, 600);
    assert_eq!(lsps2.fee_menu[0].min_lifetime_blocks, 1008);
    assert_eq!(lsps2.max_channel_sat, 1_000_000);
    assert_eq!(lsps2.tokens[0].token, "partner");
    assert_eq!(lsps2.tokens[0].fee_menu[0].valid_for_secs, 60);
}

#[test]
fn a_bad_lsps2_section_is_refused_with_what_is_wrong() {
    let cases = [
        ("[lsps2]\nfee_menu = []\n", "no fee menu"),
        ("[lsps2]\nmax_pending_opens = \"many\"\n", "invalid type"),
        (
            "[lsps2]\nunknown_limit = 1\n",
            "unknown field `unknown_limit`",
        ),
        (
            "[lsps2]\ndeny = [\"not-a-key\"]\n[[lsps2.fee_menu]]\nmin_fee_msat = 1\n\
             proportional_ppm = 1\nmin_payment_size_msat = 1\nmax_payment_size_msat = 2\n",
            "\"not-a-key\" is not a node id",
        ),
        (
            "[[lsps2.fee_menu]]\nmin_fee_msat = 1\nproportional_ppm = 1\n\
             min_payment_size_msat = 5\nmax_payment_size_msat = 2\n",
            "payment sizes",
        ),
        (
            "[lsps2]\nclient_wait_secs = 601\n[[lsps2.fee_menu]]\nmin_fee_msat = 1\n\
             proportional_ppm = 1\nmin_payment_size_msat = 1\nmax_payment_size_msat = 2\n",
            "client_wait_secs above 600",
        ),
        (
            "[lsps2]\nmax_pending_buys_per_peer = 11\n[[lsps2.fee_menu]]\nmin_fee_msat = 1\n\
             proportional_ppm = 1\nmin_payment_size_msat = 1\nmax_payment_size_msat = 2\n",
            "max_pending_buys_per_peer above 10",
        ),
    ];
    for (toml, expected) in cases {
        let case = Case::new();
        let e = err(case.load(Some(toml), &[], BASE_EMBEDDED));
        assert!(
            matches!(e, ConfigError::InvalidLsps2 { .. }),
            "{toml}: {e:?}"
        );
        let message = e.to_string();
        assert!(message.contains(expected), "{toml}: {message}");
        assert!(message.contains("`lsps2` in config file"), "{message}");
    }
}

/// The smallest valid `[lsps2]` section.
const LSPS2_MENU: &str = "[[lsps2.fee_menu]]\nmin_fee_msat = 1\nproportional_ppm = 1\n\
                          min_payment_size_msat = 1\nmax_payment_size_msat = 2\n";

/// The griefing and growth bounds: conservative defaults, then each set in the file's
/// `[lsps2]` section, overridden by its variable, overridden by its flag.
#[test]
fn the_lsps2_bounds_have_safe_defaults_and_come_from_the_section_the_environment_or_a_flag() {
    let defaults = ok(load_once(Some(LSPS2_MENU), &[], BASE_EMBEDDED).0);
    let d = defaults.lsps2.expect("the service is configured");
    let at_most_sat = |sat: u64| sat <= 10_000_000; // 0.1 BTC
    assert!(at_most_sat(d.max_committed_sat) && at_most_sat(d.max_unclaimed_sat));
    assert!(d.max_channel_sat <= d.max_unclaimed_sat && d.max_unclaimed_sat <= d.max_committed_sat);
    assert_eq!(
        (
            d.max_unclaimed_sat,
            d.unclaimed_window_secs,
            d.unclaimed_close_after_secs
        ),
        (5_000_000, 3_600, 1_800)
    );
    assert_eq!((d.max_live_orders, d.order_retention_secs), (1_000, 86_400));
    assert_eq!((d.max_pending_opens, d.max_channel_sat), (10, 1_000_000));

    let file = format!(
        "[lsps2]\nmax_unclaimed_sat = 2000000\nunclaimed_window_secs = 60\n\
         unclaimed_close_after_secs = 120\nmax_live_orders = 7\norder_retention_secs = 600\n\
         {LSPS2_MENU}"
    );
    let bounds = |config: NodeConfig| {
        let c = config.lsps2.expect("the service is configured");
        (
            c.max_unclaimed_sat,
            c.unclaimed_window_secs,
            c.unclaimed_close_after_secs,
            c.max_live_orders as u64,
            c.order_retention_secs,
        )
    };
    let case = Case::new();
    let from_file = ok(case.load(Some(&file), &[], BASE_EMBEDDED));
    assert_eq!(bounds(from_file), (2_000_000, 60, 120, 7, 600));
    let env = [
        ("SLUICE_LSPS2_MAX_UNCLAIMED_SAT", "3000000"),
        ("SLUICE_LSPS2_UNCLAIMED_WINDOW_SECS", "61"),
        ("SLUICE_LSPS2_UNCLAIMED_CLOSE_AFTER_SECS", "121"),
        ("SLUICE_LSPS2_MAX_LIVE_ORDERS", "8"),
        ("SLUICE_LSPS2_ORDER_RETENTION_SECS", "601"),
    ];
    let from_env = ok(case.load(Some(&file), &env, BASE_EMBEDDED));
    assert_eq!(bounds(from_env), (3_000_000, 61, 121, 8, 601));
    let flags = [
        "--lsps2-max-unclaimed-sat",
        "4000000",
        "--lsps2-unclaimed-window-secs",
        "62",
        "--lsps2-unclaimed-close-after-secs",
        "122",
        "--lsps2-max-live-orders",
        "9",
        "--lsps2-order-retention-secs",
        "602",
    ];
    let with_flags: Vec<&str> = BASE_EMBEDDED.iter().chain(&flags).copied().collect();
    let from_flags = ok(case.load(Some(&file), &env, &with_flags));
    assert_eq!(bounds(from_flags), (4_000_000, 62, 122, 9, 602));
}

#[test]
fn a_bad_lsps2_bound_names_the_setting_and_where_it_came_from() {
    let case = Case::new();
    let path = case.path().display().to_string();
    let section = |lines: &str| format!("[lsps2]\n{lines}\n{LSPS2_MENU}");
    // (file, env, flags, the error's variant, what its message says)
    type Bad<'a> = (
        String,
        Vec<(&'a str, &'a str)>,
        Vec<&'a str>,
        &'a str,
        Vec<String>,
    );
    let cases: [Bad<'_>; 7] = [
        (
            section("max_live_orders = 0"),
            vec![],
            vec![],
            "Invalid",
            vec![
                format!("`lsps2.max_live_orders` in config file {path}"),
                "from 1 to 100000".into(),
            ],
        ),
        (
            section("max_live_orders = \"many\""),
            vec![],
            vec![],
            "WrongType",
            vec!["`lsps2.max_live_orders`".into(), "an integer".into()],
        ),
        (
            section(""),
            vec![("SLUICE_LSPS2_ORDER_RETENTION_SECS", "59")],
            vec![],
            "Invalid",
            vec![
                "environment variable SLUICE_LSPS2_ORDER_RETENTION_SECS".into(),
                "from 60 to 2592000".into(),
            ],
        ),
        (
            section(""),
            vec![],
            vec!["--lsps2-max-unclaimed-sat", "999999"],
            "Invalid",
            vec![
                "flag --lsps2-max-unclaimed-sat".into(),
                "below max_channel_sat (1000000)".into(),
            ],
        ),
        (
            // The default budget is below this section's largest channel.
            section("max_channel_sat = 6000000"),
            vec![],
            vec![],
            "Invalid",
            vec![
                "the default `lsps2.max_unclaimed_sat`".into(),
                "max_channel_sat".into(),
            ],
        ),
        (
            section("client_wait_secs = 120\nunclaimed_close_after_secs = 120"),
            vec![],
            vec![],
            "Invalid",
            vec![
                "`lsps2.unclaimed_close_after_secs` in config file".into(),
                "longer than client_wait_secs (120)".into(),
            ],
        ),
        (
            // Without the section there is no service to bound.
            String::new(),
            vec![("SLUICE_LSPS2_MAX_LIVE_ORDERS", "5")],
            vec![],
            "Lsps2SettingWithoutSection",
            vec![
                "environment variable SLUICE_LSPS2_MAX_LIVE_ORDERS".into(),
                "`[lsps2]`".into(),
            ],
        ),
    ];
    for (file, env, flags, variant, says) in cases {
        let file = (!file.is_empty()).then_some(file.as_str());
        let flags: Vec<&str> = BASE_EMBEDDED.iter().chain(&flags).copied().collect();
        let e = err(case.load(file, &env, &flags));
        let is = match &e {
            ConfigError::Invalid { .. } => "Invalid",
            ConfigError::WrongType { .. } => "WrongType",
            ConfigError::Lsps2SettingWithoutSection { .. } => "Lsps2SettingWithoutSection",
            _ => "another",
        };
        assert_eq!(is, variant, "{file:?} {env:?} {flags:?}: {e:?}");
        let message = e.to_string();
        for said in says {
            assert!(message.contains(&said), "{said:?} not in: {message}");
        }
    }
}

// [lsps5]

#[test]
fn the_lsps5_section_sets_webhook_delivery_with_defaults_for_the_rest() {
    let case = Case::new();
    let text = format!("{LSPS2_SECTION}\n[lsps5]\nattempts = 4\n");
    let config = ok(case.load(Some(&text), &[], BASE_EMBEDDED));
    let lsps5 = config.lsps5.expect("webhooks are configured");
    assert_eq!(lsps5.attempts, 4);
    assert_eq!(lsps5.timeout_secs, 5);
    assert_eq!(lsps5.max_webhooks_per_client, 10);
    assert_eq!(lsps5.ca_file, None);
    assert!(!lsps5.allow_private_addresses);
    assert_eq!(ok(load_once(None, &[], BASE_EMBEDDED).0).lsps5, None);
}

#[test]
fn a_bad_lsps5_section_is_refused_with_what_is_wrong() {
    let case = Case::new();
    let missing_ca = case.dir.path().join("missing-ca.pem");
    let cases = [
        (
            "[lsps5]\n".to_owned(),
            "needs an `[lsps2]` section".to_owned(),
        ),
        (
            format!("{LSPS2_SECTION}\n[lsps5]\nattempts = 0\n"),
            "attempts must be between 1 and 6".to_owned(),
        ),
        (
            format!("{LSPS2_SECTION}\n[lsps5]\nretries = 2\n"),
            "unknown field `retries`".to_owned(),
        ),
        // A relative CA file is looked for beside the config file.
        (
            format!("{LSPS2_SECTION}\n[lsps5]\nca_file = \"missing-ca.pem\"\n"),
            format!("ca_file {}", missing_ca.display()),
        ),
    ];
    for (toml, expected) in cases {
        let e = err(case.load(Some(&toml), &[], BASE_EMBEDDED));
        assert!(
            matches!(e, ConfigError::InvalidLsps5 { .. }),
            "{toml}: {e:?}"
        );
        let message = e.to_string();
        assert!(message.contains(&expected), "{toml}: {message}");
        assert!(message.contains("`lsps5` in config file"), "{message}");
    }
}

// [pool]

#[test]
fn the_pool_section_sets_the_pool_with_defaults_for_the_rest() {
    let case = Case::new();
    let text = "[pool]\nonchain_confirmations = 6\nsnapshot_every_secs = 600\n";
    let pool = ok(case.load(Some(text), &[], BASE_EMBEDDED)).pool;
    assert_eq!(pool.onchain_confirmations, 6);
    assert_eq!(pool.snapshot_every, std::time::Duration::from_secs(600));
    let defaults = sluice_actors::pool::PoolConfig::default();
    assert_eq!(pool.sweep_every, defaults.sweep_every);
    assert_eq!(
        pool.max_lightning_deposit_sats,
        defaults.max_lightning_deposit_sats
    );
    assert_eq!(ok(load_once(None, &[], BASE_EMBEDDED).0).pool, defaults);
}

#[test]
fn a_bad_pool_section_is_refused_with_what_is_wrong() {
    let case = Case::new();
    let cases = [
        (
            "[pool]\nonchain_confirmations = 0\n",
            "onchain_confirmations: must be 1 to 100",
        ),
        (
            "[pool]\nsnapshot_every_secs = 1\n",
            "snapshot_every_secs: must be at least 10",
        ),
        (
            "[pool]\nsweep_every_secs = 0\n",
            "sweep_every_secs: must be 1 to 3600",
        ),
        ("[pool]\nmax_onchain_deposit_sats = 0\n", "above 0 sat"),
        ("[pool]\nsnapshots = 2\n", "unknown field `snapshots`"),
        (
            "[pool]\nrrp_skim_bps = 5001\n",
            "rrp_skim_bps: must be at most 5000",
        ),
        ("[pool]\nonchain_confirmations = -1\n", "expected u32"),
    ];
    for (toml, expected) in cases {
        let e = err(case.load(Some(toml), &[], BASE_EMBEDDED));
        assert!(
            matches!(e, ConfigError::InvalidPool { .. }),
            "{toml}: {e:?}"
        );
        let message = e.to_string();
        assert!(message.contains(expected), "{toml}: {message}");
        assert!(message.contains("`pool` in config file"), "{message}");
    }
}

#[test]
fn the_withdrawals_table_sets_withdrawals_with_defaults_for_the_rest() {
    let case = Case::new();
    let text =
        "[pool]\n[pool.withdrawals]\nmax_delay_secs = 172800\ntick_every_secs = 5\nhalted = true\n";
    let withdrawals = ok(case.load(Some(text), &[], BASE_EMBEDDED))
        .pool
        .withdrawals;
    assert_eq!(
        withdrawals.max_delay,
        std::time::Duration::from_secs(172_800)
    );
    assert_eq!(withdrawals.tick_every, std::time::Duration::from_secs(5));
    assert!(withdrawals.halted);
    let defaults = sluice_actors::withdrawals::WithdrawalConfig::default();
    assert_eq!(withdrawals.tick_cap_sats, defaults.tick_cap_sats);
    assert_eq!(withdrawals.min_sats, defaults.min_sats);
    assert!(defaults.check().is_ok());
}

#[test]
fn a_bad_withdrawals_table_is_refused_with_what_is_wrong() {
    let case = Case::new();
    let cases = [
        (
            "max_lightning_sats = 20000000\n",
            "max_lightning_sats (20000000) must be at most tick_cap_sats",
        ),
        (
            "tick_cap_sats = 15000\n",
            "must be at least twice the minimum fill",
        ),
        ("max_delay_secs = 0\n", "the longest delay must be above 0"),
        ("tick_every_secs = 0\n", "tick_every and rbf_after_blocks"),
        (
            "halted_below_usable_bps = 8000\n",
            "halted_below_usable_bps ≤ stressed_below_usable_bps",
        ),
        ("breaker_failure_bps = 10001\n", "basis points above 10000"),
        ("min_sats = 0\n", "min_sats must be above 0"),
        ("delay = 5\n", "unknown field `delay`"),
    ];
    for (body, expected) in cases {
        let toml = format!("[pool]\n[pool.withdrawals]\n{body}");
        let e = err(case.load(Some(&toml), &[], BASE_EMBEDDED));
        assert!(
            matches!(e, ConfigError::InvalidPool { .. }),
            "{toml}: {e:?}"
        );
        let message = e.to_string();
        assert!(message.contains(expected), "{toml}: {message}");
    }
}

#[test]
fn the_credit_table_sets_credit_with_defaults_for_the_rest() {
    let case = Case::new();
    let text = "[pool]\n[pool.credit]\nbase_sats = 50000\nmax_open_envelopes_per_agent = 2\nrepay_within_secs = 600\n";
    let credit = ok(case.load(Some(text), &[], BASE_EMBEDDED)).pool.credit;
    assert_eq!(credit.base_sats, 50_000);
    assert_eq!(credit.max_open_envelopes_per_agent, 2);
    assert_eq!(credit.repay_within, std::time::Duration::from_secs(600));
    let defaults = sluice_actors::credit::CreditConfig::default();
    assert_eq!(credit.max_envelope_sats, defaults.max_envelope_sats);
    assert_eq!(credit.max_offer_ttl, defaults.max_offer_ttl);
    assert!(defaults.check().is_ok());
}

#[test]
fn a_bad_credit_table_is_refused_with_what_is_wrong() {
    let case = Case::new();
    let cases = [
        (
            "max_envelope_sats = 0\n",
            "max_envelope_sats: must be above 0",
        ),
        (
            "min_fee_bps = 300\nmax_fee_bps = 200\n",
            "min_fee_bps ≤ max_fee_bps",
        ),
        (
            "max_open_envelopes_per_agent = 0\n",
            "max_open_envelopes_per_agent",
        ),
        ("max_offer_ttl_secs = 0\n", "max_offer_ttl_secs"),
        ("loss_clear_bps = 6000\n", "loss breaker: clear_bps"),
        ("limit = 5\n", "unknown field `limit`"),
    ];
    for (body, expected) in cases {
        let toml = format!("[pool]\n[pool.credit]\n{body}");
        let e = err(case.load(Some(&toml), &[], BASE_EMBEDDED));
        assert!(
            matches!(e, ConfigError::InvalidPool { .. }),
            "{toml}: {e:?}"
        );
        let message = e.to_string();
        assert!(message.contains(expected), "{toml}: {message}");
    }
}

// [rebalancer]

#[test]
fn the_rebalancer_section_turns_the_rebalancer_on_with_defaults_for_the_rest() {
    use sluice_actors::rebalance::RebalancerConfig;
    assert_eq!(ok(load_once(None, &[], BASE_EMBEDDED).0).rebalancer, None);
    let case = Case::new();
    let empty = ok(case.load(Some("[rebalancer]\n"), &[], BASE_EMBEDDED));
    assert_eq!(empty.rebalancer, Some(RebalancerConfig::default()));
    let text = "[rebalancer]\ndry_run = true\ndaily_budget_sat = 5000\n\
                band = { min_ppm = 300000, max_ppm = 700000, deadband_ppm = 50000 }\n";
    let config = ok(case.load(Some(text), &[], BASE_EMBEDDED))
        .rebalancer
        .unwrap();
    assert!(config.dry_run);
    assert_eq!(config.daily_budget_msat, 5_000_000);
    assert_eq!(config.default_band.min_ppm, 300_000);
    assert_eq!(config.tick, RebalancerConfig::default().tick);
}

#[test]
fn a_bad_rebalancer_section_is_refused_with_what_is_wrong() {
    let case = Case::new();
    for (toml, expected) in [
        (
            "[rebalancer]\nband = { min_ppm = 9, max_ppm = 1 }\n",
            "min <= max",
        ),
        (
            "[rebalancer]\nmax_fee_msat = 5\n",
            "unknown field `max_fee_msat`",
        ),
        (
            "[rebalancer]\nstart_sat = 18446744073709552\n",
            "start_sat: 18446744073709552 sat is too large",
        ),
        ("[rebalancer]\ntick_secs = 0\n", "must not be zero"),
    ] {
        let e = err(case.load(Some(toml), &[], BASE_EMBEDDED));
        assert!(
            matches!(e, ConfigError::InvalidRebalancer { .. }),
            "{toml}: {e:?}"
        );
        let message = e.to_string();
        assert!(message.contains(expected), "{toml}: {message}");
        assert!(message.contains("`rebalancer` in config file"), "{message}");
    }
    // A misspelt section is an unknown key, with the section as a suggestion.
    let e = err(case.load(Some("[rebalance]\ndry_run = true\n"), &[], BASE_EMBEDDED));
    assert!(e.to_string().contains("did you mean `rebalancer`?"), "{e}");
}

#[test]
fn forwarding_fees_default_to_ldks_and_layer() {
    let config = ok(load_once(None, &[], BASE_EMBEDDED).0);
    assert_eq!(
        (config.forwarding_fee_base_msat, config.forwarding_fee_ppm),
        (1000, 0)
    );
    check_precedence(Layers {
        file: "forwarding_fee_base_msat = 0",
        env: ("SLUICE_FORWARDING_FEE_BASE_MSAT", "2000"),
        flag: &["--forwarding-fee-base-msat", "4294967295"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.forwarding_fee_base_msat.to_string(),
        expect: ["0", "2000", "4294967295"],
    });
    check_precedence(Layers {
        file: "forwarding_fee_ppm = 1",
        env: ("SLUICE_FORWARDING_FEE_PPM", "500"),
        flag: &["--forwarding-fee-ppm", "1000000"],
        base: &["--data-dir", "/d", "--embedded-chain"],
        get: |c| c.forwarding_fee_ppm.to_string(),
        expect: ["1", "500", "1000000"],
    });
    check_rejected_in_each_layer(
        "forwarding_fee_ppm = 1000001",
        ("SLUICE_FORWARDING_FEE_PPM", "1000001"),
        &["--forwarding-fee-ppm", "1000001"],
        BASE_EMBEDDED,
        |e| invalid(e, "forwarding_fee_ppm"),
    );
    check_rejected_in_each_layer(
        "forwarding_fee_base_msat = -1",
        ("SLUICE_FORWARDING_FEE_BASE_MSAT", "4294967296"),
        &["--forwarding-fee-base-msat", "4294967296"],
        BASE_EMBEDDED,
        |e| invalid(e, "forwarding_fee_base_msat"),
    );
}
