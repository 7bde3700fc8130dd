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
