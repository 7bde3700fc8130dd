//! RPC parameters the way Bitcoin Core checks them: positional or named, a type per
//! parameter checked before the method runs (-3 with Core's message), the help text as a
//! -1 error for a wrong number of parameters, `null` meaning "use the default".

use std::str::FromStr;

use bitcoin::hashes::Hash;
use serde_json::Value;

use super::rpc::RpcError;

/// The JSON type a parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A number.
    Num,
    /// A string.
    Str,
    /// A boolean.
    Bool,
    /// An array.
    Arr,
    /// A number or a boolean (`getblock` verbosity, `getrawtransaction` verbose).
    NumOrBool,
    /// A string or a number (`estimatesmartfee`'s `maxfeerate` style amounts).
    Amount,
}

/// One parameter of a method.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name, as in Core's help.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether it must be given.
    pub required: bool,
}

/// A required parameter.
pub const fn req(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        required: true,
    }
}

/// An optional parameter.
pub const fn opt(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        required: false,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn matches(kind: Kind, value: &Value) -> bool {
    match kind {
        Kind::Num => value.is_number(),
        Kind::Str => value.is_string(),
        Kind::Bool => value.is_boolean(),
        Kind::Arr => value.is_array(),
        Kind::NumOrBool => value.is_number() || value.is_boolean(),
        Kind::Amount => value.is_number() || value.is_string(),
    }
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Num | Kind::Amount => "number",
        Kind::Str => "string",
        Kind::Bool => "bool",
        Kind::Arr => "array",
        Kind::NumOrBool => "number or bool",
    }
}

/// The help text Core returns (as a -1 error) for a call with the wrong parameters.
fn usage(method: &str, spec: &[Param]) -> RpcError {
    let mut line = method.to_owned();
    for param in spec {
        if param.required {
            line.push_str(&format!(" {}", param.name));
        } else {
            line.push_str(&format!(" ( {} )", param.name));
        }
    }
    RpcError::new(RpcError::MISC_ERROR, format!("{line}\n"))
}

/// The parameters of one call, checked against the method's spec.
pub struct Args {
    values: Vec<Option<Value>>,
}

impl Args {
    /// Checks `params` (array or object) against `spec`.
    pub fn parse(method: &str, params: &Value, spec: &[Param]) -> Result<Args, RpcError> {
        let mut values: Vec<Option<Value>> = vec![None; spec.len()];
        match params {
            Value::Array(list) => {
                if list.len() > spec.len() {
                    return Err(usage(method, spec));
                }
                for (slot, value) in values.iter_mut().zip(list) {
                    *slot = (!value.is_null()).then(|| value.clone());
                }
            }
            Value::Object(named) => {
                for (name, value) in named {
                    let Some(position) = spec.iter().position(|p| p.name == name) else {
                        return Err(RpcError::new(
                            RpcError::INVALID_PARAMETER,
                            format!("Unknown named parameter {name}"),
                        ));
                    };
                    values[position] = (!value.is_null()).then(|| value.clone());
                }
            }
            _ => return Err(usage(method, spec)),
        }
        if spec
            .iter()
            .zip(&values)
            .any(|(p, v)| p.required && v.is_none())
        {
            return Err(usage(method, spec));
        }
        let wrong: Vec<String> = spec
            .iter()
            .zip(&values)
            .enumerate()
            .filter_map(|(i, (param, value))| {
                let value = value.as_ref()?;
                (!matches(param.kind, value)).then(|| {
                    format!(
                        "    \"Position {} ({})\": \"JSON value of type {} is not of expected type {}\"",
                        i + 1,
                        param.name,
                        type_name(value),
                        expected(param.kind)
                    )
                })
            })
            .collect();
        if !wrong.is_empty() {
            return Err(RpcError::new(
                RpcError::TYPE_ERROR,
                format!("Wrong type passed:\n{{\n{}\n}}", wrong.join(",\n")),
            ));
        }
        Ok(Args { values })
    }

    /// The raw value at `index`, if given and not null.
    pub fn value(&self, index: usize) -> Option<&Value> {
        self.values.get(index).and_then(Option::as_ref)
    }

    /// A string parameter (type already checked).
    pub fn str(&self, index: usize) -> Option<&str> {
        self.value(index).and_then(Value::as_str)
    }

    /// A boolean parameter, or `default`.
    pub fn bool_or(&self, index: usize, default: bool) -> bool {
        self.value(index)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// An integer parameter, or `default`. Non-integers fail like Core's `getInt`.
    pub fn int_or(&self, index: usize, default: i64) -> Result<i64, RpcError> {
        match self.value(index) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(i64::from(*b)),
            Some(value) => value
                .as_i64()
                .ok_or_else(|| RpcError::new(RpcError::MISC_ERROR, "JSON integer out of range")),
        }
    }

    /// A 32-byte hash parameter, parsed like Core's `ParseHashV` (`name` is used in the
    /// error messages).
    pub fn hash<H: Hash + FromStr>(&self, index: usize, name: &str) -> Result<H, RpcError> {
        parse_hash(self.str(index).unwrap_or_default(), name)
    }
}

/// Parses a 64-hex-digit hash like Core's `ParseHashV`.
pub fn parse_hash<H: FromStr>(text: &str, name: &str) -> Result<H, RpcError> {
    if text.len() != 64 {
        return Err(RpcError::new(
            RpcError::INVALID_PARAMETER,
            format!(
                "{name} must be of length 64 (not {}, for '{text}')",
                text.len()
            ),
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RpcError::new(
            RpcError::INVALID_PARAMETER,
            format!("{name} must be hexadecimal string (not '{text}')"),
        ));
    }
    text.parse().map_err(|_| {
        RpcError::new(
            RpcError::INVALID_PARAMETER,
            format!("{name} must be hexadecimal string (not '{text}')"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: [Param; 2] = [req("nblocks", Kind::Num), opt("address", Kind::Str)];

    #[test]
    fn type_errors_read_like_core() {
        let err = Args::parse("generatetoaddress", &json!(["1", "x"]), &SPEC)
            .err()
            .unwrap();
        assert_eq!(err.code, -3);
        assert_eq!(
            err.message,
            "Wrong type passed:\n{\n    \"Position 1 (nblocks)\": \"JSON value of type string is not of expected type number\"\n}"
        );
    }

    #[test]
    fn wrong_counts_give_help_and_names_work() {
        assert_eq!(Args::parse("m", &json!([]), &SPEC).err().unwrap().code, -1);
        assert_eq!(
            Args::parse("m", &json!([1, "a", 3]), &SPEC)
                .err()
                .unwrap()
                .code,
            -1
        );
        let args = Args::parse("m", &json!({"nblocks": 2}), &SPEC).unwrap();
        assert_eq!(args.int_or(0, 0).unwrap(), 2);
        assert_eq!(
            Args::parse("m", &json!({"bogus": 2}), &SPEC)
                .err()
                .unwrap()
                .code,
            -8
        );
        let args = Args::parse("m", &json!([3, null]), &SPEC).unwrap();
        assert_eq!(args.str(1), None, "null means the default");
    }
}
