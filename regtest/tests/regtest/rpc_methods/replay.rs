//! The recordings, and replaying them: a record's request sent to the chain with the
//! recorded chain's identifiers replaced by the chain's own, its answer compared exactly,
//! as a help error, or by shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::{post, Chain};

fn recordings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bitcoind-regtest-rpc")
}

pub(super) fn load(file: &str) -> Vec<Value> {
    let path = recordings_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A value of `context.json`: the recorded chain's addresses, txids and hashes.
pub(super) fn context_value(key: &str) -> Value {
    let text = std::fs::read_to_string(recordings_dir().join("context.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()[key].clone()
}

pub(super) fn context(key: &str) -> String {
    context_value(key).as_str().unwrap().to_owned()
}

/// How a record's answer is compared.
#[derive(Clone, Copy)]
pub(super) enum Check {
    /// The whole body.
    Exact,
    /// A -1 help error: status, code, and a message starting with the method's name.
    Help,
    /// The result by shape, with the listed top-level result fields compared exactly;
    /// the rest of the body (envelope, errors) exactly.
    Shape(&'static [&'static str]),
}

pub(super) const EXACT: Check = Check::Exact;
pub(super) const SHAPE: Check = Check::Shape(&[]);

/// Replays records against one chain, replacing the recorded chain's identifiers by the
/// chain's own, and counts the records replayed per file.
pub(super) struct Replayer {
    addr: SocketAddr,
    files: BTreeMap<&'static str, Vec<Value>>,
    substitutions: Vec<(String, String)>,
    replayed: BTreeMap<&'static str, usize>,
}

impl Replayer {
    pub(super) fn new(chain: &Chain) -> Self {
        Replayer {
            addr: chain.addr(),
            files: BTreeMap::new(),
            substitutions: Vec::new(),
            replayed: BTreeMap::new(),
        }
    }

    /// From now on, `recorded` (a hash or txid of the recorded chain) reads `ours`.
    pub(super) fn substitute(&mut self, recorded: &str, ours: impl ToString) {
        self.substitutions
            .push((recorded.to_owned(), ours.to_string()));
    }

    fn substituted(&self, text: &str) -> String {
        self.substitutions
            .iter()
            .fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
    }

    fn record(&mut self, file: &'static str, index: usize) -> Value {
        let records = self.files.entry(file).or_insert_with(|| load(file));
        records[index].clone()
    }

    /// Replays each of `indices` of `file` with `check`.
    pub(super) fn replay(&mut self, file: &'static str, indices: &[usize], check: Check) {
        for &index in indices {
            self.replay_one(file, index, check);
        }
    }

    fn replay_one(&mut self, file: &'static str, index: usize, check: Check) {
        let record = self.record(file, index);
        let what = format!("{file} #{index} ({})", record["note"].as_str().unwrap());
        let request = &record["request"];
        let path = request["request_line"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap();
        let content_type = request["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("content-type"))
            .map_or("application/json", |h| h[1].as_str().unwrap());
        let body = self.substituted(request["body"].as_str().unwrap());
        let (status, text) = post(self.addr, path, content_type, &body);
        assert_eq!(
            status,
            record["status"].as_u64().unwrap() as u16,
            "{what}: status; body {text}"
        );
        let expected_text = self.substituted(record["body"].as_str().unwrap());
        if expected_text.is_empty() {
            assert_eq!(text, "", "{what}: body");
        } else {
            let ours: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
            let core: Value = serde_json::from_str(&expected_text).unwrap();
            compare(&what, check, ours, core);
        }
        *self.replayed.entry(file).or_default() += 1;
    }

    pub(super) fn report(&self, test: &str) {
        let total: usize = self.replayed.values().sum();
        eprintln!("{test}: {total} records replayed");
        for (file, count) in &self.replayed {
            eprintln!("  {file}: {count}");
        }
    }
}

fn compare(what: &str, check: Check, mut ours: Value, mut core: Value) {
    match check {
        Check::Exact => assert_eq!(ours, core, "{what}"),
        Check::Help => {
            let method = method_of_help(&core);
            let message = ours["error"]["message"].as_str().unwrap_or_default();
            assert_eq!(ours["error"]["code"], json!(-1), "{what}: {ours}");
            assert!(
                message.starts_with(&format!("{method}\n"))
                    || message.starts_with(&format!("{method} ")),
                "{what}: help text {message:?}"
            );
            // Our help is only Core's first line (accepted difference).
            ours["error"]["message"] = core["error"]["message"].clone();
            assert_eq!(ours, core, "{what}");
        }
        Check::Shape(exact) => {
            let has_result = core.get("result").is_some_and(|r| !r.is_null());
            if !has_result {
                assert_eq!(ours, core, "{what}");
                return;
            }
            let ours_result = ours["result"].take();
            let core_result = core["result"].take();
            assert_eq!(ours, core, "{what}: envelope");
            let mut differences = Vec::new();
            shape_differences("result", &ours_result, &core_result, &mut differences);
            for key in exact {
                if ours_result.get(key) != core_result.get(key) {
                    differences.push(format!(
                        "result.{key}: {:?} vs Core's {:?}",
                        ours_result.get(key),
                        core_result.get(key)
                    ));
                }
            }
            assert!(
                differences.is_empty(),
                "{what}:\n  {}\nours: {ours_result}\nCore: {core_result}",
                differences.join("\n  ")
            );
        }
    }
}

/// The method of the request a help error answered (the first word of Core's help).
fn method_of_help(core: &Value) -> String {
    let message = core["error"]["message"].as_str().unwrap();
    message.split([' ', '\n']).next().unwrap().to_owned()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `ours` and `core` differ in shape: keys, JSON types, array lengths.
fn shape_differences(path: &str, ours: &Value, core: &Value, out: &mut Vec<String>) {
    match (ours, core) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(format!("{path}.{key}: not in Core's answer"));
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{key}: missing"));
            }
            for (key, value) in a {
                if let Some(other) = b.get(key) {
                    shape_differences(&format!("{path}.{key}"), value, other, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!(
                    "{path}: {} elements vs Core's {}",
                    a.len(),
                    b.len()
                ));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                shape_differences(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if json_kind(ours) == json_kind(core) => {}
        _ => out.push(format!(
            "{path}: {} {ours} vs Core's {} {core}",
            json_kind(ours),
            json_kind(core)
        )),
    }
}
