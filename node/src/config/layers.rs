//! The three layers as tables of raw values keyed by [`Key`], read without knowing the
//! settings one by one: the file's keys are checked against the [`RunArgs`] fields, the
//! environment is looked up for each field's variable, and the flags are serialized from
//! [`RunArgs`] with serde. `Layers::all` then checks one setting in every layer.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use sluice_actors::lsps2::Lsps2Config;
use sluice_actors::lsps5::Lsps5Config;
use sluice_actors::nostr::NostrConfig;
use sluice_actors::pool::PoolConfig;
use sluice_actors::rebalance::RebalancerConfig;

use super::error::{ConfigError, Key, Origin, Setting};
use super::{lsps2, lsps5, nostr, pool, rebalancer, RunArgs};

/// A value with the setting it came from.
#[derive(Debug, Clone)]
pub(super) struct Sourced<T> {
    pub value: T,
    pub setting: Setting,
}

/// Checks one layer's raw value of a setting. A value from the file is TOML (typed); one
/// from the environment is a string; one from a flag is a string, a list of strings or a
/// boolean, as clap parsed it.
pub(super) trait Check<T>: Fn(&Value, &Setting) -> Result<T, ConfigError> {}
impl<T, F: Fn(&Value, &Setting) -> Result<T, ConfigError>> Check<T> for F {}

/// The config file's `[lsps2]`, `[lsps5]`, `[pool]`, `[nostr]` and `[rebalancer]`
/// sections, which only the file sets.
#[derive(Default)]
pub(super) struct Sections {
    pub lsps2: Option<Lsps2Config>,
    pub lsps5: Option<Lsps5Config>,
    pub pool: Option<PoolConfig>,
    pub nostr: Option<NostrConfig>,
    pub rebalancer: Option<RebalancerConfig>,
}

/// The layers that set values, in rising precedence: file, environment, flags.
pub(super) struct Layers(Vec<(Origin, Table)>);

impl Layers {
    /// Reads the config file (named by `--config` or `SLUICE_CONFIG`), the `SLUICE_*`
    /// variables through `env` (empty or blank ones count as unset; values are trimmed)
    /// and the flags.
    pub fn read(
        args: &RunArgs,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Layers, Option<PathBuf>, Sections), ConfigError> {
        let env = |key: Key| {
            env(&key.env_var())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let config = Key::new("config");
        let config_file = match (&args.config, env(config)) {
            (Some(path), _) => Some((path.clone(), Setting::new(config, &Origin::Flag))),
            (None, Some(path)) => Some((PathBuf::from(path), Setting::new(config, &Origin::Env))),
            (None, None) => None,
        };
        let mut layers = Vec::new();
        let mut sections = Sections::default();
        if let Some((path, given_by)) = &config_file {
            let (table, found) = read_file(path, given_by)?;
            layers.push((Origin::File(path.clone()), table));
            sections = found;
        }
        let from_env = Key::all()
            .filter(|key| *key != config)
            .filter_map(|key| Some((key.field().to_owned(), Value::String(env(key)?))));
        layers.push((Origin::Env, from_env.collect()));
        // Unset (`None`) fields are left out.
        let flags = Table::try_from(args).map_err(|e| ConfigError::Flags(e.to_string()))?;
        layers.push((Origin::Flag, flags));
        Ok((Layers(layers), config_file.map(|(path, _)| path), sections))
    }

    /// `key` in every layer that sets it, lowest first, each checked with `check`, so that
    /// a bad value is reported even where a higher layer overrides it.
    pub fn all<T>(&self, key: Key, check: impl Check<T>) -> Result<Vec<Sourced<T>>, ConfigError> {
        debug_assert!(Key::all().any(|k| k == key), "{key} is not a RunArgs field");
        let set = self.0.iter().filter_map(|(origin, table)| {
            let value = table.get(key.field())?;
            let setting = Setting::new(key, origin);
            Some(check(value, &setting).map(|value| Sourced { value, setting }))
        });
        set.collect()
    }

    /// `key`'s value from the highest layer that sets it, every layer's value checked.
    pub fn get<T>(
        &self,
        key: Key,
        check: impl Check<T>,
    ) -> Result<Option<Sourced<T>>, ConfigError> {
        Ok(self.all(key, check)?.pop())
    }

    /// `key`'s value from the highest layer that sets it, or `default`.
    pub fn value<T>(
        &self,
        key: &'static str,
        default: T,
        check: impl Check<T>,
    ) -> Result<T, ConfigError> {
        Ok(self.get(Key::new(key), check)?.map_or(default, |s| s.value))
    }
}

/// Reads and parses the file, takes out the `[lsps2]` and `[lsps5]` sections (the
/// `[lsps2]` keys that are layered settings move to the table as `lsps2_KEY`), rejects
/// keys that are not settings and moves `[api] tokens` to `api_tokens`.
fn read_file(path: &Path, given_by: &Setting) -> Result<(Table, Sections), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        given_by: given_by.clone(),
        source,
    })?;
    let mut table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::FileSyntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
    // The `[lsps2]` keys that are layered settings (also set by a variable or a flag) go
    // to the top-level table under their field names, after the unknown-key check.
    let mut layered = Table::new();
    if let Some(Value::Table(section)) = table.get_mut("lsps2") {
        for key in Key::all() {
            if let Some(value) = key.lsps2_key().and_then(|k| section.remove(k)) {
                layered.insert(key.field().to_owned(), value);
            }
        }
    }
    let lsps2 = table.remove("lsps2").map(|v| lsps2::parse(path, &v));
    let lsps5 = table.remove("lsps5").map(|v| lsps5::parse(path, &v));
    let pool = table.remove("pool").map(|v| pool::parse(path, &v));
    let nostr = table.remove("nostr").map(|v| nostr::parse(path, &v));
    let rebalancer = table
        .remove("rebalancer")
        .map(|v| rebalancer::parse(path, &v));
    let sections = Sections {
        lsps2: lsps2.transpose()?,
        lsps5: lsps5.transpose()?,
        pool: pool.transpose()?,
        nostr: nostr.transpose()?,
        rebalancer: rebalancer.transpose()?,
    };
    if sections.lsps5.is_some() && sections.lsps2.is_none() {
        return Err(ConfigError::InvalidLsps5 {
            path: path.to_owned(),
            message: "needs an `[lsps2]` section: webhooks wake clients for JIT payments".into(),
        });
    }
    let known: Vec<&str> = Key::all()
        .map(Key::config_key)
        .filter(|key| *key != "config" && !key.contains('.'))
        .chain(["api"])
        .collect();
    if let Some(key) = table.keys().find(|key| !known.contains(&key.as_str())) {
        let known = [
            &known[..],
            &["lsps2", "lsps5", "pool", "nostr", "rebalancer"],
        ]
        .concat();
        return Err(unknown_key(path, key, &known, ""));
    }
    table.extend(layered);
    if let Some(api) = table.remove("api") {
        let Value::Table(mut api) = api else {
            return Err(wrong_type(path, "api", "a table", &api));
        };
        if let Some(key) = api.keys().find(|key| *key != "tokens") {
            return Err(unknown_key(path, key, &["tokens"], "api."));
        }
        if let Some(tokens) = api.remove("tokens") {
            table.insert("api_tokens".to_owned(), tokens);
        }
    }
    Ok((table, sections))
}

/// A config-file value of the wrong TOML type.
pub(super) fn wrong_type(
    path: &Path,
    key: &str,
    expected: &'static str,
    found: &Value,
) -> ConfigError {
    ConfigError::WrongType {
        path: path.to_owned(),
        key: key.to_owned(),
        expected,
        found: found.type_str(),
    }
}

/// An unknown key in the file, with the closest known one if it is close enough to be a
/// typo (at most a third of the longer name, or 2, single-character edits away).
pub(super) fn unknown_key(path: &Path, key: &str, known: &[&str], prefix: &str) -> ConfigError {
    let suggestion = known
        .iter()
        .map(|k| (strsim::levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(key.len().max(k.len()) / 3))
        .min()
        .map(|(_, k)| format!("{prefix}{k}"));
    ConfigError::UnknownKey {
        path: path.to_owned(),
        key: format!("{prefix}{key}"),
        suggestion,
    }
}
