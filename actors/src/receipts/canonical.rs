//! Canonical JSON: the one byte string a receipt hashes to.
//!
//! Object keys sorted by their UTF-8 bytes, recursively; no whitespace; strings escaped
//! as `serde_json` writes them (`"`, `\` and control characters escaped, everything else
//! literal UTF-8); integers in decimal; `null`, `true`, `false`. Numbers that are not
//! integers are refused. Optional fields a receipt does not have are written as `null`
//! by the receipt types (they never skip a field), so they are hashed as `null`.

use bitcoin::hashes::{sha256, Hash};
use serde_json::Value;

use super::{ReceiptError, UNHASHED_FIELDS};

/// The canonical JSON text of `value`.
pub fn to_string(value: &Value) -> Result<String, ReceiptError> {
    let mut out = String::new();
    write(value, "", &mut out)?;
    Ok(out)
}

fn write(value: &Value, path: &str, out: &mut String) -> Result<(), ReceiptError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
        Value::Number(_) => return Err(ReceiptError::NotAnInteger(path.to_owned())),
        Value::String(s) => out.push_str(&Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, &format!("{path}[{i}]"), out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                write(&map[key], &child, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// The digest a receipt is sealed with: SHA-256 of its canonical JSON without
/// [`UNHASHED_FIELDS`].
pub fn receipt_digest(receipt: &Value) -> Result<[u8; 32], ReceiptError> {
    let Value::Object(fields) = receipt else {
        return Err(ReceiptError::NotAnObject);
    };
    let mut hashed = fields.clone();
    for field in UNHASHED_FIELDS {
        hashed.remove(field);
    }
    let text = to_string(&Value::Object(hashed))?;
    Ok(sha256::Hash::hash(text.as_bytes()).to_byte_array())
}

#[cfg(test)]
mod props {
    //! Property tests: canonical JSON never panics, refuses exactly the non-integer
    //! numbers, reads back as the value it wrote, and does not depend on key order.

    use proptest::prelude::*;
    use serde_json::{Map, Number};

    use super::*;

    /// Any JSON value: integers of both signs, floats, strings with any characters,
    /// arrays and objects nested a few levels.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            any::<u64>().prop_map(|n| Value::Number(n.into())),
            any::<f64>()
                .prop_filter_map("finite", Number::from_f64)
                .prop_map(Value::Number),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    fn has_float(value: &Value) -> bool {
        match value {
            Value::Number(n) => !(n.is_i64() || n.is_u64()),
            Value::Array(items) => items.iter().any(has_float),
            Value::Object(map) => map.values().any(has_float),
            _ => false,
        }
    }

    /// The same object with its keys inserted in reverse order, recursively.
    fn reversed(value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map.iter().rev() {
                    out.insert(k.clone(), reversed(v));
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn canonical_json_is_total_stable_and_order_free(value in json()) {
            match to_string(&value) {
                Err(ReceiptError::NotAnInteger(_)) => prop_assert!(has_float(&value)),
                Err(other) => prop_assert!(false, "unexpected {other}"),
                Ok(text) => {
                    prop_assert!(!has_float(&value));
                    let read: Value = serde_json::from_str(&text).expect("canonical JSON parses");
                    prop_assert_eq!(&read, &value);
                    prop_assert_eq!(to_string(&read).ok(), Some(text.clone()));
                    prop_assert_eq!(to_string(&reversed(&value)).ok(), Some(text));
                }
            }
        }
    }
}
