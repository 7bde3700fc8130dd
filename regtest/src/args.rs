//! RPC parameters the way Bitcoin Core v30 checks them.
//!
//! - Named parameters (a JSON object) become positions as in Core's
//!   `transformNamedArguments`: aliases (`verbosity|verbose`), `null` in the holes before
//!   a given parameter, the `args` member for leading positional values, -8 for an
//!   unknown name.
//! - The number of parameters is checked first: too few or too many answers Core's help
//!   (as a -1 error; ours is only the one-line summary, Core's goes on with the full text).
//! - Each parameter's JSON type is then checked (-3 "Wrong type passed" listing every
//!   mismatch, with Core's wording); a required parameter given as `null` is a mismatch,
//!   an optional one means "use the default". Verbosity and amount parameters are not
//!   checked up front, as in Core: the method reads them with [`Args::verbosity`] and
//!   [`Args::amount`], which fail the way Core's `ParseVerbosity` and `AmountFromValue` do.
//! - Integers are read like UniValue's `getInt<T>`: a non-integer or a value outside `T`
//!   is -1 "JSON integer out of range".

use std::str::FromStr;

use bitcoin::Amount;
use serde_json::{Map, Value};

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
    /// A verbosity: a number or a boolean, not checked up front (Core's
    /// `skip_type_check`); read it with [`Args::verbosity`].
    Verbosity,
    /// A BTC amount: a number or a numeric string, not checked up front (Core's `AMOUNT`
    /// type); read it with [`Args::amount`].
    Amount,
}

impl Kind {
    /// The JSON type checked before the method runs (Core's `uvTypeName`), if any.
    fn expected(self) -> Option<&'static str> {
        match self {
            Kind::Num => Some("number"),
            Kind::Str => Some("string"),
            Kind::Bool => Some("bool"),
            Kind::Arr => Some("array"),
            Kind::Verbosity | Kind::Amount => None,
        }
    }
}

/// One parameter of a method.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name as in Core's help; aliases are separated by `|` (`verbosity|verbose`).
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

impl Param {
    /// The names it may be given under.
    fn names(&self) -> impl Iterator<Item = &'static str> {
        self.name.split('|')
    }

    /// How Core's one-line help shows it: `"blockhash"`, `height`, `[transactions,...]`.
    fn summary(&self) -> String {
        let first = self.names().next().unwrap_or(self.name);
        match self.kind {
            Kind::Str => format!("\"{first}\""),
            Kind::Arr => format!("[{first},...]"),
            _ => first.to_owned(),
        }
    }

    /// Core's `RPCArg::MatchesType`: the mismatch message, if `value` does not fit.
    fn mismatch(&self, value: &Value) -> Option<String> {
        let expected = self.kind.expected()?;
        if !self.required && value.is_null() {
            return None;
        }
        let actual = type_name(value);
        (actual != expected)
            .then(|| format!("JSON value of type {actual} is not of expected type {expected}"))
    }
}

/// UniValue's name of a JSON type.
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

/// UniValue's `type_error` (a -3 without the "Wrong type passed" wrapper), thrown when a
/// method reads a value as the wrong type.
fn type_error(value: &Value, expected: &str) -> RpcError {
    RpcError::new(
        RpcError::TYPE_ERROR,
        format!(
            "JSON value of type {} is not of expected type {expected}",
            type_name(value)
        ),
    )
}

fn invalid_parameter(message: String) -> RpcError {
    RpcError::new(RpcError::INVALID_PARAMETER, message)
}

/// The help Core returns (as a -1 error) for a call with the wrong number of parameters:
/// here only its first line (`getblock "blockhash" ( verbosity )`) and a newline. Core
/// goes on with the description, arguments, result and examples.
fn usage(method: &str, spec: &[Param]) -> RpcError {
    let mut line = method.to_owned();
    let mut in_optional = false;
    for param in spec {
        line.push(' ');
        if !param.required && !in_optional {
            line.push_str("( ");
        } else if param.required && in_optional {
            line.push_str(") ");
        }
        in_optional = !param.required;
        line.push_str(&param.summary());
    }
    if in_optional {
        line.push_str(" )");
    }
    RpcError::new(RpcError::MISC_ERROR, format!("{line}\n"))
}

/// Core's `transformNamedArguments`: named parameters as positional ones.
///
/// Parameters left out before a given one become `null`; those after the last given one
/// are left out (so the count check sees only what was given). An `args` array supplies
/// leading positional values (a non-array `args` is ignored, as in Core). A name that
/// is not a parameter's is -8. Core also refuses a name given twice; serde_json keeps
/// only the last one, so this cannot be seen here.
fn positional_from_named(
    spec: &[Param],
    named: &Map<String, Value>,
) -> Result<Vec<Value>, RpcError> {
    let mut left = named.clone();
    let mut out = Vec::new();
    let (mut hole, mut initial_hole) = (0, 0);
    let mut initial_param = None;
    for param in spec {
        match param.names().find_map(|name| left.remove(name)) {
            Some(value) => {
                out.extend(std::iter::repeat_n(Value::Null, hole));
                hole = 0;
                initial_param.get_or_insert(param.name);
                out.push(value);
            }
            None => {
                hole += 1;
                if out.is_empty() {
                    initial_hole = hole;
                }
            }
        }
    }
    if let Some(Value::Array(positional)) = left.remove("args") {
        if let Some(name) = initial_param.filter(|_| initial_hole < positional.len()) {
            return Err(invalid_parameter(format!(
                "Parameter {name} specified twice both as positional and named argument"
            )));
        }
        let named_values = std::mem::replace(&mut out, positional);
        let skip = out.len();
        out.extend(named_values.into_iter().skip(skip));
    }
    match left.keys().next() {
        Some(name) => Err(invalid_parameter(format!("Unknown named parameter {name}"))),
        None => Ok(out),
    }
}

/// Core's `IsValidNumArgs`: at least up to the last required parameter, at most all.
fn check_count(method: &str, spec: &[Param], given: usize) -> Result<(), RpcError> {
    let required = spec.iter().rposition(|p| p.required).map_or(0, |i| i + 1);
    if given < required || given > spec.len() {
        return Err(usage(method, spec));
    }
    Ok(())
}

/// Core's type check of every parameter, reported together.
fn check_types(spec: &[Param], values: &[Value]) -> Result<(), RpcError> {
    let wrong: Vec<String> = spec
        .iter()
        .enumerate()
        .filter_map(|(i, param)| {
            let value = values.get(i).unwrap_or(&Value::Null);
            let message = param.mismatch(value)?;
            Some(format!(
                "    \"Position {} ({})\": \"{message}\"",
                i + 1,
                param.name
            ))
        })
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(RpcError::new(
        RpcError::TYPE_ERROR,
        format!("Wrong type passed:\n{{\n{}\n}}", wrong.join(",\n")),
    ))
}

/// The parameters of one call, checked against the method's spec.
pub struct Args {
    values: Vec<Value>,
}

impl Args {
    /// Checks `params` (an array, or an object of named parameters) against `spec`.
    pub fn parse(method: &str, params: &Value, spec: &[Param]) -> Result<Args, RpcError> {
        let values = match params {
            Value::Array(list) => list.clone(),
            Value::Object(named) => positional_from_named(spec, named)?,
            _ => return Err(usage(method, spec)),
        };
        check_count(method, spec, values.len())?;
        check_types(spec, &values)?;
        Ok(Args { values })
    }

    /// The value at `index`, if given and not null.
    pub fn value(&self, index: usize) -> Option<&Value> {
        self.values.get(index).filter(|v| !v.is_null())
    }

    /// A string parameter (its type is checked by [`Args::parse`]).
    pub fn str(&self, index: usize) -> Option<&str> {
        self.value(index).and_then(Value::as_str)
    }

    /// A boolean parameter (its type is checked by [`Args::parse`]), or `default`.
    pub fn bool_or(&self, index: usize, default: bool) -> bool {
        self.value(index)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// An integer parameter read like UniValue's `getInt<T>`, or `default`.
    pub fn int_or<T>(&self, index: usize, default: T) -> Result<T, RpcError>
    where
        T: TryFrom<i64> + TryFrom<u64>,
    {
        self.value(index).map_or(Ok(default), json_int)
    }

    /// A verbosity read like Core's `ParseVerbosity` with booleans allowed (`true` is 1,
    /// `false` 0), or `default`.
    pub fn verbosity(&self, index: usize, default: i32) -> Result<i32, RpcError> {
        match self.value(index) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(i32::from(*b)),
            Some(value) => json_int(value),
        }
    }

    /// An amount parameter read like Core's `AmountFromValue`, if given.
    pub fn amount(&self, index: usize) -> Result<Option<Amount>, RpcError> {
        self.value(index).map(amount_from_value).transpose()
    }

    /// A 32-byte hash parameter, parsed like Core's `ParseHashV` (`name` is used in the
    /// error messages).
    pub fn hash<H: FromStr>(&self, index: usize, name: &str) -> Result<H, RpcError> {
        parse_hash(self.str(index).unwrap_or_default(), name)
    }
}

/// UniValue's `get_str`: the text of a string value, a -3 for anything else.
pub fn get_str(value: &Value) -> Result<&str, RpcError> {
    value.as_str().ok_or_else(|| type_error(value, "string"))
}

/// UniValue's `getInt<T>`: a number whose text is an integer that fits `T`.
fn json_int<T>(value: &Value) -> Result<T, RpcError>
where
    T: TryFrom<i64> + TryFrom<u64>,
{
    let Value::Number(number) = value else {
        return Err(type_error(value, "number"));
    };
    number
        .as_i64()
        .and_then(|i| T::try_from(i).ok())
        .or_else(|| number.as_u64().and_then(|u| T::try_from(u).ok()))
        .ok_or_else(|| RpcError::new(RpcError::MISC_ERROR, "JSON integer out of range"))
}

/// Core's `AmountFromValue`: a number or string of BTC, at most 8 decimals, within
/// `MoneyRange`.
pub fn amount_from_value(value: &Value) -> Result<Amount, RpcError> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(RpcError::new(
                RpcError::TYPE_ERROR,
                "Amount is not a number or string",
            ))
        }
    };
    let sats = parse_fixed_point(&text, 8)
        .ok_or_else(|| RpcError::new(RpcError::TYPE_ERROR, "Invalid amount"))?;
    u64::try_from(sats)
        .ok()
        .map(Amount::from_sat)
        .filter(|amount| *amount <= Amount::MAX_MONEY)
        .ok_or_else(|| RpcError::new(RpcError::TYPE_ERROR, "Amount out of range"))
}

/// Largest magnitude `parse_fixed_point` handles: 10^18 - 1.
const FIXED_POINT_BOUND: i64 = 999_999_999_999_999_999;

/// Core's `ParseFixedPoint`: a JSON number's text (`-1.5`, `1e-5`, `0.00002000`) as an
/// integer count of 10^-`decimals`; `None` for malformed text, values finer than
/// 10^-`decimals`, or magnitudes of 10^(18 - `decimals`) and more.
pub fn parse_fixed_point(text: &str, decimals: i64) -> Option<i64> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (number, exponent_text) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (integer, fraction) = match number.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (number, None),
    };
    let integer_ok = integer == "0" || (integer.starts_with(|c: char| ('1'..='9').contains(&c)));
    if !integer_ok
        || !all_digits(integer)
        || fraction.is_some_and(|f| f.is_empty() || !all_digits(f))
    {
        return None;
    }
    let fraction = fraction.unwrap_or("");
    // Like Core, a lone leading 0 is not a mantissa digit (it would count as a
    // trailing zero and shift the scale).
    let digits = if integer == "0" {
        fraction.to_owned()
    } else {
        format!("{integer}{fraction}")
    };
    let mut mantissa: i64 = 0;
    let mut trailing_zeros: i64 = 0;
    for digit in digits.bytes().map(|b| i64::from(b - b'0')) {
        if digit == 0 {
            trailing_zeros += 1;
            continue;
        }
        for _ in 0..=trailing_zeros {
            mantissa = mantissa
                .checked_mul(10)
                .filter(|m| *m <= FIXED_POINT_BOUND)?;
        }
        mantissa += digit;
        trailing_zeros = 0;
    }
    let exponent = match exponent_text {
        Some(text) => parse_exponent(text)?,
        None => 0,
    };
    let scale = exponent - fraction.len() as i64 + trailing_zeros + decimals;
    if !(0..18).contains(&scale) {
        return None;
    }
    for _ in 0..scale {
        mantissa = mantissa
            .checked_mul(10)
            .filter(|m| *m <= FIXED_POINT_BOUND)?;
    }
    Some(if negative { -mantissa } else { mantissa })
}

/// The exponent of `ParseFixedPoint`: an optional sign and at least one digit.
fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !all_digits(digits) {
        return None;
    }
    let mut exponent: i64 = 0;
    for digit in digits.bytes().map(|b| i64::from(b - b'0')) {
        if exponent > FIXED_POINT_BOUND / 10 {
            return None;
        }
        exponent = exponent * 10 + digit;
    }
    Some(if negative { -exponent } else { exponent })
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a 64-hex-digit hash like Core's `ParseHashV`.
pub fn parse_hash<H: FromStr>(text: &str, name: &str) -> Result<H, RpcError> {
    if text.len() != 64 {
        return Err(invalid_parameter(format!(
            "{name} must be of length 64 (not {}, for '{text}')",
            text.len()
        )));
    }
    let not_hex = || invalid_parameter(format!("{name} must be hexadecimal string (not '{text}')"));
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_hex());
    }
    text.parse().map_err(|_| not_hex())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: [Param; 3] = [
        req("nblocks", Kind::Num),
        req("address", Kind::Str),
        opt("maxtries", Kind::Num),
    ];

    fn parse(params: Value) -> Result<Args, RpcError> {
        Args::parse("generatetoaddress", &params, &SPEC)
    }

    #[test]
    fn type_errors_read_like_core() {
        let err = parse(json!(["1", 2])).err().unwrap();
        assert_eq!(err.code, -3);
        assert_eq!(
            err.message,
            "Wrong type passed:\n{\n    \"Position 1 (nblocks)\": \"JSON value of type string is not of expected type number\",\n    \"Position 2 (address)\": \"JSON value of type number is not of expected type string\"\n}"
        );
        let err = parse(json!([null, "a"])).err().unwrap();
        assert!(err
            .message
            .contains("JSON value of type null is not of expected type number"));
        assert!(
            parse(json!([1, "a", null])).is_ok(),
            "optional null is the default"
        );
    }

    #[test]
    fn wrong_counts_give_the_help_summary() {
        for params in [json!([1]), json!([1, "a", 3, 4]), json!({"nblocks": 1})] {
            let err = parse(params).err().unwrap();
            assert_eq!(err.code, -1);
            assert_eq!(
                err.message,
                "generatetoaddress nblocks \"address\" ( maxtries )\n"
            );
        }
    }

    #[test]
    fn named_parameters_become_positions() {
        let args = parse(json!({"address": "a", "nblocks": 2})).unwrap();
        assert_eq!(args.int_or(0, 0u32).unwrap(), 2);
        assert_eq!(args.str(1), Some("a"));
        let err = parse(json!({"maxtries": 1, "nblocks": 1})).err().unwrap();
        assert_eq!(err.code, -3, "the hole before maxtries is a null address");
        let err = parse(json!({"nblocks": 1, "address": "a", "bogus": 1}))
            .err()
            .unwrap();
        assert_eq!(
            (err.code, err.message.as_str()),
            (-8, "Unknown named parameter bogus")
        );
        let args = parse(json!({"args": [3, "b"], "maxtries": 7})).unwrap();
        assert_eq!(args.int_or(2, 0u64).unwrap(), 7);
        let err = parse(json!({"args": [3, "b"], "nblocks": 1}))
            .err()
            .unwrap();
        assert_eq!(
            err.message,
            "Parameter nblocks specified twice both as positional and named argument"
        );
        let spec = [
            req("blockhash", Kind::Str),
            opt("verbosity|verbose", Kind::Verbosity),
        ];
        let args = Args::parse(
            "getblock",
            &json!({"blockhash": "h", "verbose": true}),
            &spec,
        )
        .unwrap();
        assert_eq!(args.verbosity(1, 1).unwrap(), 1);
    }

    #[test]
    fn integers_and_verbosity_read_like_univalue() {
        let args = parse(json!([1.5, "a", -1])).unwrap();
        assert_eq!(
            args.int_or(0, 0i32).err().unwrap().message,
            "JSON integer out of range"
        );
        assert_eq!(args.int_or(2, 0u64).err().unwrap().code, -1);
        assert_eq!(args.int_or(2, 0i32).unwrap(), -1);
        let spec = [opt("verbosity", Kind::Verbosity)];
        let verbosity = |v: Value| {
            Args::parse("m", &json!([v]), &spec)
                .unwrap()
                .verbosity(0, 1)
        };
        assert_eq!(verbosity(json!(false)).unwrap(), 0);
        assert_eq!(verbosity(json!(3)).unwrap(), 3);
        assert_eq!(verbosity(json!(null)).unwrap(), 1);
        let err = verbosity(json!("2")).err().unwrap();
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                -3,
                "JSON value of type string is not of expected type number"
            )
        );
    }

    #[test]
    fn amounts_parse_like_core() {
        let sats = |v: Value| amount_from_value(&v).map(Amount::to_sat);
        assert_eq!(sats(json!(0.1)).unwrap(), 10_000_000);
        assert_eq!(
            sats(json!(0.00001)).unwrap(),
            1_000,
            "serde prints this as 1e-5"
        );
        assert_eq!(sats(json!("0.00002000")).unwrap(), 2_000);
        assert_eq!(sats(json!("1E+2")).unwrap(), 10_000_000_000);
        assert_eq!(sats(json!(21_000_000)).unwrap(), 2_100_000_000_000_000);
        assert_eq!(sats(json!(0)).unwrap(), 0);
        for bad in [
            json!("0.123456789"),
            json!("01"),
            json!("1."),
            json!(".5"),
            json!("x"),
            json!(""),
        ] {
            assert_eq!(
                amount_from_value(&bad).err().unwrap().message,
                "Invalid amount",
                "{bad}"
            );
        }
        for out in [json!(-1), json!("21000000.00000001")] {
            assert_eq!(
                amount_from_value(&out).err().unwrap().message,
                "Amount out of range"
            );
        }
        assert_eq!(
            amount_from_value(&json!(true)).err().unwrap().message,
            "Amount is not a number or string"
        );
    }

    #[test]
    fn hashes_parse_like_core() {
        let err = parse_hash::<bitcoin::BlockHash>("zz", "hash")
            .err()
            .unwrap();
        assert_eq!(err.message, "hash must be of length 64 (not 2, for 'zz')");
        let bad = "g".repeat(64);
        let err = parse_hash::<bitcoin::Txid>(&bad, "txid").err().unwrap();
        assert_eq!(
            err.message,
            format!("txid must be hexadecimal string (not '{bad}')")
        );
    }
}
