//! The typed values settings resolve to, and the checks that turn one layer's raw value into
//! them. A check takes the raw value and the [`Setting`] it came from: a config-file value
//! must already have the right TOML type ([`ConfigError::WrongType`] otherwise), while an
//! environment or flag value is text to parse. Lists are comma-separated in the environment
//! (clap splits the flags), their entries trimmed and empty ones skipped; in the file they
//! are arrays whose entries are taken as they are.

use std::collections::BTreeSet;
use std::fmt;
use std::fmt::Display;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use lightning::util::scid_utils::{scid_from_parts, ShortChannelIdError};
use sluice_actors::budgets::BudgetPolicy;
use toml::Value;
use url::{Host, Url};

use super::error::{ConfigError, Setting};
use super::layers::{wrong_type, Check};
use super::NodeConfig;

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
}

/// An accepted API bearer token: the node stores only the token's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// SHA-256 of the bearer token.
    pub sha256: [u8; 32],
    /// What the token may do (never empty).
    pub scopes: BTreeSet<ApiScope>,
    /// What the token may spend, if limited (config file only).
    pub budget: Option<BudgetPolicy>,
}

/// The API's TLS identity: the PEM files it was read from and the acceptor made of them,
/// checked when the configuration was loaded (so a bad file stops `sluice run` with a
/// configuration error, not at the first connection). Two are equal when they name the
/// same files; `Debug` shows only the paths.
#[derive(Clone)]
pub struct ApiTls {
    /// The certificate chain file.
    pub certificate: PathBuf,
    /// The private key file.
    pub key: PathBuf,
    /// Serves TLS with them.
    pub acceptor: sluice_api::TlsAcceptor,
}

impl PartialEq for ApiTls {
    fn eq(&self, other: &Self) -> bool {
        self.certificate == other.certificate && self.key == other.key
    }
}

impl Eq for ApiTls {}

impl fmt::Debug for ApiTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTls")
            .field("certificate", &self.certificate)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
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

fn invalid(setting: &Setting, value: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.clone(),
        value: value.into(),
        problem: problem.into(),
    }
}

/// A value of the wrong TOML type (only a file value can be one: the environment gives
/// strings, and clap types the flags).
fn wrong(setting: &Setting, key: &str, expected: &'static str, found: &Value) -> ConfigError {
    let path = setting.file().cloned().unwrap_or_default();
    wrong_type(&path, key, expected, found)
}

/// A string.
pub(super) fn text<'v>(v: &'v Value, s: &Setting) -> Result<&'v str, ConfigError> {
    v.as_str()
        .ok_or_else(|| wrong(s, s.key.config_key(), "a string", v))
}

/// A whole number in `range`: a TOML integer in the file, decimal text elsewhere. Out of
/// range is an error, not clamped.
pub(super) fn number<T>(range: RangeInclusive<T>) -> impl Check<T>
where
    T: TryFrom<i64> + FromStr + PartialOrd + Display,
{
    move |v, s| {
        let (raw, n) = match v {
            Value::Integer(i) => (i.to_string(), T::try_from(*i).ok()),
            Value::String(t) if s.file().is_none() => (t.clone(), t.parse().ok()),
            _ => return Err(wrong(s, s.key.config_key(), "an integer", v)),
        };
        n.filter(|n| range.contains(n)).ok_or_else(|| {
            let (min, max) = (range.start(), range.end());
            invalid(
                s,
                raw,
                format!("expected a whole number from {min} to {max}"),
            )
        })
    }
}

/// A boolean: TOML `true`/`false` in the file; `1/0`, `true/false`, `yes/no` or `on/off` in
/// the environment (clap parses the flags the same way).
pub(super) fn boolean(v: &Value, s: &Setting) -> Result<bool, ConfigError> {
    match v {
        Value::Boolean(b) => Ok(*b),
        Value::String(t) if s.file().is_none() => match t.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(invalid(s, t, "expected true/false, 1/0, yes/no or on/off")),
        },
        _ => Err(wrong(s, s.key.config_key(), "a boolean", v)),
    }
}

/// A non-empty path.
pub(super) fn path(v: &Value, s: &Setting) -> Result<PathBuf, ConfigError> {
    match text(v, s)? {
        "" => Err(invalid(s, "", "the path is empty")),
        raw => Ok(PathBuf::from(raw)),
    }
}

/// `regtest`, `signet` or `bitcoin` (also `mainnet`), in any case.
pub(super) fn network(v: &Value, s: &Setting) -> Result<Network, ConfigError> {
    let raw = text(v, s)?;
    match raw.to_ascii_lowercase().as_str() {
        "regtest" => Ok(Network::Regtest),
        "signet" => Ok(Network::Signet),
        "bitcoin" | "mainnet" => Ok(Network::Bitcoin),
        _ => Err(invalid(
            s,
            raw,
            "expected regtest, signet or bitcoin (mainnet)",
        )),
    }
}

/// `IP:PORT`; host names are not resolved.
pub(super) fn socket_addr(v: &Value, s: &Setting) -> Result<SocketAddr, ConfigError> {
    let raw = text(v, s)?;
    raw.parse()
        .map_err(|_| invalid(s, raw, "expected IP:PORT, e.g. 127.0.0.1:9735"))
}

/// At most [`NodeConfig::MAX_ALIAS_BYTES`] bytes.
pub(super) fn alias(v: &Value, s: &Setting) -> Result<String, ConfigError> {
    let raw = text(v, s)?;
    if raw.len() > NodeConfig::MAX_ALIAS_BYTES {
        let max = NodeConfig::MAX_ALIAS_BYTES;
        return Err(invalid(
            s,
            raw,
            format!(
                "it is {} bytes long; at most {max} bytes are allowed",
                raw.len()
            ),
        ));
    }
    Ok(raw.to_owned())
}

/// `human` or `json`, in any case.
pub(super) fn log_format(v: &Value, s: &Setting) -> Result<LogFormat, ConfigError> {
    let raw = text(v, s)?;
    match raw.to_ascii_lowercase().as_str() {
        "human" => Ok(LogFormat::Human),
        "json" => Ok(LogFormat::Json),
        _ => Err(invalid(s, raw, "expected human or json")),
    }
}

/// `http://USER:PASS@HOST:PORT` (a trailing `/` allowed; USER and PASS percent-decoded;
/// HOST a name, an IPv4 address or a bracketed IPv6 address). The error shows the URL with
/// the password replaced by `***`.
pub(super) fn bitcoind_rpc(v: &Value, s: &Setting) -> Result<ChainSource, ConfigError> {
    let raw = text(v, s)?;
    parse_bitcoind_url(raw).map_err(|reason| {
        invalid(
            s,
            redact_url(raw),
            format!("{reason}; expected http://USER:PASS@HOST:PORT"),
        )
    })
}

fn parse_bitcoind_url(raw: &str) -> Result<ChainSource, &'static str> {
    const BAD_PORT: &str = "the port is not a number from 1 to 65535";
    if raw.starts_with("https://") {
        return Err("https is not supported (Bitcoin Core's RPC speaks plain HTTP)");
    }
    let Some(rest) = raw.strip_prefix("http://") else {
        return Err("it must start with http://");
    };
    // What url would take for a host with a port (or reject as an empty host) is most
    // likely an unbracketed IPv6 address.
    let (userinfo, host_port) = rest
        .rsplit_once('@')
        .ok_or("credentials are missing (USER:PASS@)")?;
    let host_port = host_port.strip_suffix('/').unwrap_or(host_port);
    if !host_port.starts_with('[') && host_port.matches(':').count() > 1 {
        return Err("an IPv6 host must be in brackets, e.g. http://u:p@[::1]:8332");
    }
    let url = Url::parse(raw).map_err(|e| match e {
        url::ParseError::InvalidPort => BAD_PORT,
        url::ParseError::InvalidIpv6Address => "the bracketed host is not an IPv6 address",
        _ => "the host is not a host name or IP address",
    })?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("a path, query or fragment is not supported");
    }
    let decode = |part: &str, what| {
        let hex2 = |e: &str| e.bytes().take(2).filter(u8::is_ascii_hexdigit).count() == 2;
        let strict = part.split('%').skip(1).all(hex2);
        let decoded = percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .ok();
        decoded
            .filter(|_| strict)
            .map(|d| d.into_owned())
            .ok_or(what)
    };
    let user = decode(
        url.username(),
        "the user is not valid percent-encoded UTF-8",
    )?;
    let password = match url.password() {
        Some(p) => decode(p, "the password is not valid percent-encoded UTF-8")?,
        // url drops an empty password, so look at what was written.
        None if userinfo.contains(':') => String::new(),
        None => return Err("the password is missing (USER:PASS@)"),
    };
    if user.is_empty() {
        return Err("the user is empty");
    }
    if password.is_empty() {
        return Err("the password is empty");
    }
    // url leaves out a port equal to the scheme's default (80), so look for one written.
    let written_port = host_port
        .rsplit_once(']')
        .map_or(host_port, |(_, p)| p)
        .contains(':');
    let port = match url.port_or_known_default() {
        Some(0) => return Err(BAD_PORT),
        Some(port) if written_port => port,
        _ => return Err("the port is missing (HOST:PORT)"),
    };
    let (host, url_host) = match url.host() {
        Some(Host::Ipv6(ip)) => (ip.to_string(), format!("[{ip}]")),
        Some(host) => (host.to_string(), host.to_string()),
        None => return Err("the host is not a host name or IP address"),
    };
    Ok(ChainSource::BitcoindRpc {
        url: format!("http://{url_host}:{port}"),
        host,
        port,
        user,
        password,
    })
}

/// The URL with everything between the user's `:` and the last `@` replaced by `***`.
/// Done on the text, not with url, so that it works on URLs url cannot parse too.
fn redact_url(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    let parts = raw[start..].rsplit_once('@');
    match parts.and_then(|(userinfo, host)| Some((userinfo.split_once(':')?.0, host))) {
        Some((user, host)) => format!("{}{user}:***@{host}", &raw[..start]),
        None => raw.to_owned(),
    }
}

/// A list's entries as written: a file array of strings, a comma-separated environment
/// variable, or a flag's values (already split by clap); outside the file, entries are
/// trimmed and empty ones skipped.
fn entries<'v>(v: &'v Value, s: &Setting) -> Result<Vec<&'v str>, ConfigError> {
    let key = s.key.config_key();
    match v {
        Value::Array(items) if s.file().is_some() => {
            items.iter().map(|item| text(item, s)).collect()
        }
        Value::Array(items) => Ok(items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect()),
        Value::String(list) if s.file().is_none() => Ok(list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect()),
        _ => Err(wrong(s, key, "an array of strings", v)),
    }
}

/// Checks a list entry by entry (numbered from 1 in errors), rejecting an entry that is
/// `same` as an earlier one.
fn list<I, T>(
    s: &Setting,
    what: &'static str,
    of: &'static str,
    items: impl IntoIterator<Item = I>,
    parse: impl Fn(usize, I) -> Result<T, ConfigError>,
    same: impl Fn(&T, &T) -> bool,
) -> Result<Vec<T>, ConfigError> {
    let mut list: Vec<T> = Vec::new();
    for item in items {
        let entry = list.len() + 1;
        let value = parse(entry, item)?;
        if list.iter().any(|earlier| same(earlier, &value)) {
            let setting = s.clone();
            return Err(ConfigError::DuplicateEntry {
                setting,
                what,
                entry,
                of,
            });
        }
        list.push(value);
    }
    Ok(list)
}

fn bad_entry(s: &Setting, what: &'static str, entry: usize, problem: String) -> ConfigError {
    ConfigError::InvalidEntry {
        setting: s.clone(),
        what,
        entry,
        problem,
    }
}

/// Node ids (66 hex characters: a compressed public key), each given once; `what` names
/// one in errors, e.g. "excluded node".
pub(super) fn node_ids(what: &'static str) -> impl Check<Vec<PublicKey>> {
    move |v, s| {
        list(
            s,
            what,
            "node id",
            entries(v, s)?,
            |entry, raw| {
                node_id(raw).map_err(|reason| {
                    bad_entry(
                        s,
                        what,
                        entry,
                        format!("{raw:?} is not a node id: {reason}"),
                    )
                })
            },
            PartialEq::eq,
        )
    }
}

fn node_id(raw: &str) -> Result<PublicKey, &'static str> {
    if !raw.chars().all(|c| c.is_ascii_hexdigit()) {
        Err("it contains characters that are not hex digits")
    } else if raw.len() != 66 {
        Err("a node id is 66 hex characters (a 33-byte compressed public key)")
    } else {
        PublicKey::from_str(raw).map_err(|_| {
            "it is not a valid public key (it must start with 02 or 03 and be a point on the \
             secp256k1 curve)"
        })
    }
}

/// Short channel ids, each given once, as `BLOCKxTXxOUTPUT` or as the decimal BOLT 7
/// number `BLOCK << 40 | TX << 16 | OUTPUT`.
pub(super) fn scids(v: &Value, s: &Setting) -> Result<Vec<u64>, ConfigError> {
    let what = "excluded channel";
    list(
        s,
        what,
        "short channel id",
        entries(v, s)?,
        |entry, raw| {
            scid(raw).map_err(|reason| {
                let problem = format!(
                    "{raw:?} is not a short channel id: {reason}; expected BLOCKxTXxOUTPUT (e.g. \
                 812x1x0) or a decimal number"
                );
                bad_entry(s, what, entry, problem)
            })
        },
        PartialEq::eq,
    )
}

fn scid(raw: &str) -> Result<u64, &'static str> {
    let decimal = |part: &str| -> Option<u64> {
        let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| part.parse().ok()).flatten()
    };
    if !raw.contains('x') {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err("it is neither BLOCKxTXxOUTPUT nor a decimal number");
        }
        return decimal(raw).ok_or("the decimal number does not fit in 64 bits");
    }
    let [block, tx, output] = raw.split('x').collect::<Vec<_>>()[..] else {
        return Err("BLOCKxTXxOUTPUT has exactly three parts separated by x");
    };
    let block = decimal(block).ok_or("the block height is not a decimal number")?;
    let tx = decimal(tx).ok_or("the transaction index is not a decimal number")?;
    let output = decimal(output).ok_or("the output index is not a decimal number")?;
    scid_from_parts(block, tx, output).map_err(|e| match e {
        ShortChannelIdError::BlockOverflow => "the block height must be below 16777216 (2^24)",
        ShortChannelIdError::TxIndexOverflow => {
            "the transaction index must be below 16777216 (2^24)"
        }
        ShortChannelIdError::VoutIndexOverflow => "the output index must be below 65536 (2^16)",
    })
}

/// API tokens, each hash given once: `HEX:scope+scope` outside the file, `{ sha256 = "HEX",
/// scopes = ["scope", …] }` tables in it.
pub(super) fn api_tokens(v: &Value, s: &Setting) -> Result<Vec<ApiToken>, ConfigError> {
    let (what, of) = ("API token", "token's SHA-256");
    let same = |a: &ApiToken, b: &ApiToken| a.sha256 == b.sha256;
    let Some(path) = s.file() else {
        return list(
            s,
            what,
            of,
            entries(v, s)?,
            |entry, spec| {
                let (hex, scopes) = spec.split_once(':').unwrap_or((spec, ""));
                let scopes = scopes.split('+').map(str::trim).filter(|s| !s.is_empty());
                api_token(s, entry, hex.trim(), &scopes.collect::<Vec<_>>())
            },
            same,
        );
    };
    let tables = "an array of tables ([[api.tokens]])";
    let items = v
        .as_array()
        .ok_or_else(|| wrong(s, "api.tokens", tables, v))?;
    list(
        s,
        what,
        of,
        items,
        |entry, item| {
            let table = item
                .as_table()
                .ok_or_else(|| wrong(s, "api.tokens", tables, item))?;
            const KEYS: [&str; 3] = ["sha256", "scopes", "budget"];
            if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
                return Err(super::layers::unknown_key(path, key, &KEYS, "api.tokens."));
            }
            let scopes = match table.get("scopes") {
                None => Vec::new(),
                Some(Value::Array(scopes)) => scopes
                    .iter()
                    .map(|scope| {
                        scope
                            .as_str()
                            .ok_or_else(|| wrong(s, "api.tokens.scopes", "a string", scope))
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => {
                    return Err(wrong(s, "api.tokens.scopes", "an array of strings", other))
                }
            };
            let sha256 = match table.get("sha256") {
                Some(Value::String(hex)) => hex,
                Some(other) => return Err(wrong(s, "api.tokens.sha256", "a string", other)),
                None => {
                    let key = "api.tokens.sha256";
                    return Err(ConfigError::MissingFileKey {
                        path: path.clone(),
                        key,
                    });
                }
            };
            let budget = table
                .get("budget")
                .map(super::budget::parse)
                .transpose()
                .map_err(|problem| bad_entry(s, "API token", entry, problem))?;
            Ok(ApiToken {
                budget,
                ..api_token(s, entry, sha256, &scopes)?
            })
        },
        same,
    )
}

fn api_token(
    s: &Setting,
    entry: usize,
    hex: &str,
    scopes: &[&str],
) -> Result<ApiToken, ConfigError> {
    let bad = |problem: String| bad_entry(s, "API token", entry, problem);
    let sha256 = <[u8; 32]>::from_hex(hex).map_err(|_| {
        let non_hex = if hex.chars().all(|c| c.is_ascii_hexdigit()) {
            ""
        } else {
            " including non-hex ones"
        };
        bad(format!(
            "the SHA-256 must be 64 hex characters, got {} characters{non_hex}",
            hex.chars().count()
        ))
    })?;
    if scopes.is_empty() {
        return Err(bad(
            "it has no scopes: write HEX:scope+scope on the command line or in the environment, \
             scopes = [\"…\"] in the file; scopes are admin, pay, lp, read"
                .to_owned(),
        ));
    }
    let scopes = scopes.iter().map(|name| {
        let scope = ApiScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == name.to_ascii_lowercase());
        scope.ok_or_else(|| {
            bad(format!(
                "unknown scope {name:?}; expected admin, pay, lp or read"
            ))
        })
    });
    Ok(ApiToken {
        sha256,
        scopes: scopes.collect::<Result<_, _>>()?,
        budget: None,
    })
}
