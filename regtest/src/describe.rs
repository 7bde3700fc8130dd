//! Core-style JSON for transactions, blocks and scripts.
//!
//! Pure functions that render rust-bitcoin values the way Bitcoin Core v30 prints them in
//! `getrawtransaction`, `getblock`, `getblockheader`, `gettxout` and friends: the same
//! keys (inserted in Core's order, which only shows if serde_json's `preserve_order` is
//! on), the same script assembly (`asm`), the same inferred output descriptors (`desc`,
//! with their BIP-380 checksum), the same output type names and addresses.
//!
//! Numbers: Core prints BTC amounts with exactly 8 decimals (`48.99997180`) and other
//! doubles with 16 significant digits. serde_json cannot print a fixed number of decimals,
//! so amounts are emitted as the `f64` a client gets when it parses Core's text (see
//! [`btc_value`]), and doubles are first rounded to 16 significant digits (see
//! [`core_f64`]). A client that parses numbers therefore sees the very same values.
//!
//! The module is checked against recorded Bitcoin Core v30 regtest answers (see the tests).

use bitcoin::block::Header;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::hex::DisplayHex;
use bitcoin::pow::CompactTarget;
use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::{Address, Amount, Block, BlockHash, Network, Script, Transaction, TxOut};
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------

/// A BTC amount as Core prints it (`ValueFromAmount`: `48.99997180`), as a JSON number.
///
/// The value is `sat as f64 / 1e8`. Both operands are exact and IEEE division is correctly
/// rounded, so this is exactly the `f64` nearest to Core's decimal text: what any client
/// gets when it parses Core's answer.
pub fn btc_value(amount: Amount) -> Value {
    Value::from(amount.to_sat() as f64 / 100_000_000.0)
}

/// A double as Core prints it (UniValue uses `std::setprecision(16)`), as a JSON number.
///
/// Core's text has 16 significant digits, which is not always enough to round-trip an
/// `f64` (regtest's difficulty is `4.6565423739069247e-10`, Core prints
/// `4.656542373906925e-10`). This rounds `x` to 16 significant digits so that clients
/// parse the same value from this answer as from Core's. Non-finite values become `null`.
pub fn core_f64(x: f64) -> Value {
    let rounded = format!("{x:.15e}").parse::<f64>().unwrap_or(x);
    serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number)
}

/// Core's `GetDifficulty` for compact bits: `0xffff / mantissa`, scaled by 256 per step of
/// the exponent away from 29 (so regtest's `207fffff` gives `4.656542373906925e-10`).
/// A zero mantissa gives infinity (rendered as `null`), as Core's double division would.
pub fn difficulty(bits: CompactTarget) -> f64 {
    let bits = bits.to_consensus();
    let mut shift = (bits >> 24) & 0xff;
    let mut diff = f64::from(0xffff_u32) / f64::from(bits & 0x00ff_ffff);
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

/// The target encoded by compact bits, as Core's 64-hex-digit big-endian `target` field
/// (`SetCompact` semantics: the sign bit is ignored, bits shifted past 256 are dropped).
pub fn target_hex(bits: CompactTarget) -> String {
    let compact = bits.to_consensus();
    let size = (compact >> 24) as usize;
    let word = compact & 0x007f_ffff;
    let mut target = [0u8; 32];
    if size <= 3 {
        let value = word >> (8 * (3 - size));
        target[28..].copy_from_slice(&value.to_be_bytes());
    } else {
        // Byte `j` of the word (0 = least significant) lands at byte `j + size - 3` of the
        // target, counted from its least significant end.
        let [_, b2, b1, b0] = word.to_be_bytes();
        for (j, byte) in [b0, b1, b2].into_iter().enumerate() {
            let from_end = j + size - 3;
            if let Some(slot) = 31usize
                .checked_sub(from_end)
                .and_then(|i| target.get_mut(i))
            {
                *slot = byte;
            }
        }
    }
    target.to_lower_hex_string()
}

/// Accumulated chain work as Core's 64-hex-digit `chainwork` field.
pub fn chainwork_hex(chainwork: u128) -> String {
    format!("{chainwork:064x}")
}

// ---------------------------------------------------------------------------------------
// Scripts: parsing, assembly
// ---------------------------------------------------------------------------------------

const OP_0: u8 = 0x00;
const OP_PUSHDATA1: u8 = 0x4c;
const OP_PUSHDATA2: u8 = 0x4d;
const OP_PUSHDATA4: u8 = 0x4e;
const OP_1: u8 = 0x51;
const OP_16: u8 = 0x60;
const OP_RETURN: u8 = 0x6a;
const OP_DUP: u8 = 0x76;
const OP_EQUAL: u8 = 0x87;
const OP_EQUALVERIFY: u8 = 0x88;
const OP_HASH160: u8 = 0xa9;
const OP_CHECKSIG: u8 = 0xac;
const OP_CHECKMULTISIG: u8 = 0xae;
/// Core's `MAX_SCRIPT_SIZE`: longer scripts are unspendable.
const MAX_SCRIPT_SIZE: usize = 10_000;
/// Core's `MAX_PUBKEYS_PER_MULTISIG`.
const MAX_PUBKEYS_PER_MULTISIG: i64 = 20;

/// Core's `GetScriptOp`: reads one operation at `*pc`, returning the opcode and its push
/// data (empty for non-push opcodes), or `None` when the script ends or a push runs past
/// the end.
fn get_op<'a>(script: &'a [u8], pc: &mut usize) -> Option<(u8, &'a [u8])> {
    let opcode = *script.get(*pc)?;
    *pc += 1;
    if opcode > OP_PUSHDATA4 {
        return Some((opcode, &[]));
    }
    let size = match opcode {
        OP_PUSHDATA1 => {
            let n = *script.get(*pc)?;
            *pc += 1;
            usize::from(n)
        }
        OP_PUSHDATA2 => {
            let bytes: [u8; 2] = script.get(*pc..pc.checked_add(2)?)?.try_into().ok()?;
            *pc += 2;
            usize::from(u16::from_le_bytes(bytes))
        }
        OP_PUSHDATA4 => {
            let bytes: [u8; 4] = script.get(*pc..pc.checked_add(4)?)?.try_into().ok()?;
            *pc += 4;
            usize::try_from(u32::from_le_bytes(bytes)).ok()?
        }
        n => usize::from(n),
    };
    let data = script.get(*pc..pc.checked_add(size)?)?;
    *pc += size;
    Some((opcode, data))
}

/// `CScriptNum(data, /*fRequireMinimal=*/false).getint()` for pushes of at most 4 bytes:
/// little-endian magnitude with the sign in the top bit of the last byte.
fn script_num(data: &[u8]) -> i64 {
    let Some(&last) = data.last() else { return 0 };
    let mut value: i64 = 0;
    for (i, byte) in data.iter().enumerate().take(8) {
        value |= i64::from(*byte) << (8 * i);
    }
    if last & 0x80 != 0 {
        let sign_bit = 0x80_i64 << (8 * (data.len().min(8) - 1));
        -(value & !sign_bit)
    } else {
        value
    }
}

/// Core's `GetOpName` for non-push opcodes (and `OP_0`).
fn op_name(opcode: u8) -> &'static str {
    match opcode {
        0x00 => "0",
        0x4c => "OP_PUSHDATA1",
        0x4d => "OP_PUSHDATA2",
        0x4e => "OP_PUSHDATA4",
        0x4f => "-1",
        0x50 => "OP_RESERVED",
        0x51 => "1",
        0x52 => "2",
        0x53 => "3",
        0x54 => "4",
        0x55 => "5",
        0x56 => "6",
        0x57 => "7",
        0x58 => "8",
        0x59 => "9",
        0x5a => "10",
        0x5b => "11",
        0x5c => "12",
        0x5d => "13",
        0x5e => "14",
        0x5f => "15",
        0x60 => "16",
        0x61 => "OP_NOP",
        0x62 => "OP_VER",
        0x63 => "OP_IF",
        0x64 => "OP_NOTIF",
        0x65 => "OP_VERIF",
        0x66 => "OP_VERNOTIF",
        0x67 => "OP_ELSE",
        0x68 => "OP_ENDIF",
        0x69 => "OP_VERIFY",
        0x6a => "OP_RETURN",
        0x6b => "OP_TOALTSTACK",
        0x6c => "OP_FROMALTSTACK",
        0x6d => "OP_2DROP",
        0x6e => "OP_2DUP",
        0x6f => "OP_3DUP",
        0x70 => "OP_2OVER",
        0x71 => "OP_2ROT",
        0x72 => "OP_2SWAP",
        0x73 => "OP_IFDUP",
        0x74 => "OP_DEPTH",
        0x75 => "OP_DROP",
        0x76 => "OP_DUP",
        0x77 => "OP_NIP",
        0x78 => "OP_OVER",
        0x79 => "OP_PICK",
        0x7a => "OP_ROLL",
        0x7b => "OP_ROT",
        0x7c => "OP_SWAP",
        0x7d => "OP_TUCK",
        0x7e => "OP_CAT",
        0x7f => "OP_SUBSTR",
        0x80 => "OP_LEFT",
        0x81 => "OP_RIGHT",
        0x82 => "OP_SIZE",
        0x83 => "OP_INVERT",
        0x84 => "OP_AND",
        0x85 => "OP_OR",
        0x86 => "OP_XOR",
        0x87 => "OP_EQUAL",
        0x88 => "OP_EQUALVERIFY",
        0x89 => "OP_RESERVED1",
        0x8a => "OP_RESERVED2",
        0x8b => "OP_1ADD",
        0x8c => "OP_1SUB",
        0x8d => "OP_2MUL",
        0x8e => "OP_2DIV",
        0x8f => "OP_NEGATE",
        0x90 => "OP_ABS",
        0x91 => "OP_NOT",
        0x92 => "OP_0NOTEQUAL",
        0x93 => "OP_ADD",
        0x94 => "OP_SUB",
        0x95 => "OP_MUL",
        0x96 => "OP_DIV",
        0x97 => "OP_MOD",
        0x98 => "OP_LSHIFT",
        0x99 => "OP_RSHIFT",
        0x9a => "OP_BOOLAND",
        0x9b => "OP_BOOLOR",
        0x9c => "OP_NUMEQUAL",
        0x9d => "OP_NUMEQUALVERIFY",
        0x9e => "OP_NUMNOTEQUAL",
        0x9f => "OP_LESSTHAN",
        0xa0 => "OP_GREATERTHAN",
        0xa1 => "OP_LESSTHANOREQUAL",
        0xa2 => "OP_GREATERTHANOREQUAL",
        0xa3 => "OP_MIN",
        0xa4 => "OP_MAX",
        0xa5 => "OP_WITHIN",
        0xa6 => "OP_RIPEMD160",
        0xa7 => "OP_SHA1",
        0xa8 => "OP_SHA256",
        0xa9 => "OP_HASH160",
        0xaa => "OP_HASH256",
        0xab => "OP_CODESEPARATOR",
        0xac => "OP_CHECKSIG",
        0xad => "OP_CHECKSIGVERIFY",
        0xae => "OP_CHECKMULTISIG",
        0xaf => "OP_CHECKMULTISIGVERIFY",
        0xb0 => "OP_NOP1",
        0xb1 => "OP_CHECKLOCKTIMEVERIFY",
        0xb2 => "OP_CHECKSEQUENCEVERIFY",
        0xb3 => "OP_NOP4",
        0xb4 => "OP_NOP5",
        0xb5 => "OP_NOP6",
        0xb6 => "OP_NOP7",
        0xb7 => "OP_NOP8",
        0xb8 => "OP_NOP9",
        0xb9 => "OP_NOP10",
        0xba => "OP_CHECKSIGADD",
        0xff => "OP_INVALIDOPCODE",
        _ => "OP_UNKNOWN",
    }
}

/// Core's `IsValidSignatureEncoding` (BIP66 strict DER, sighash byte included).
fn is_valid_signature_encoding(sig: &[u8]) -> bool {
    let len = sig.len();
    if !(9..=73).contains(&len) {
        return false;
    }
    let at = |i: usize| sig.get(i).copied().unwrap_or(0);
    if at(0) != 0x30 || usize::from(at(1)) != len - 3 {
        return false;
    }
    let len_r = usize::from(at(3));
    if 5 + len_r >= len {
        return false;
    }
    let len_s = usize::from(at(5 + len_r));
    if len_r + len_s + 7 != len {
        return false;
    }
    if at(2) != 0x02 || len_r == 0 || at(4) & 0x80 != 0 {
        return false;
    }
    if len_r > 1 && at(4) == 0x00 && at(5) & 0x80 == 0 {
        return false;
    }
    if at(len_r + 4) != 0x02 || len_s == 0 || at(len_r + 6) & 0x80 != 0 {
        return false;
    }
    if len_s > 1 && at(len_r + 6) == 0x00 && at(len_r + 7) & 0x80 == 0 {
        return false;
    }
    true
}

/// The name Core's asm appends to a signature push, for a defined sighash byte.
fn sighash_name(byte: u8) -> Option<&'static str> {
    match byte {
        0x01 => Some("ALL"),
        0x81 => Some("ALL|ANYONECANPAY"),
        0x02 => Some("NONE"),
        0x82 => Some("NONE|ANYONECANPAY"),
        0x03 => Some("SINGLE"),
        0x83 => Some("SINGLE|ANYONECANPAY"),
        _ => None,
    }
}

/// Core's `ScriptToAsmStr(script, fAttemptSighashDecode)`.
///
/// Operations are separated by spaces. Pushes of up to 4 bytes print as script numbers
/// (`OP_0` as `0`, `0166` as `102`), longer pushes as hex, `OP_1`…`OP_16` as `1`…`16`,
/// other opcodes by name (`OP_UNKNOWN` for unassigned ones). A push running past the end
/// prints `[error]` and stops. With `decode_sighash` (Core does this for scriptSigs only),
/// a push that is a strictly DER-encoded signature with a defined sighash type prints as
/// `<der hex>[ALL]` (or `[NONE]`, `[SINGLE]`, `…|ANYONECANPAY`), unless the script is
/// unspendable (starts with `OP_RETURN` or exceeds 10,000 bytes).
pub fn script_asm(script: &Script, decode_sighash: bool) -> String {
    let bytes = script.as_bytes();
    let unspendable = bytes.first() == Some(&OP_RETURN) || bytes.len() > MAX_SCRIPT_SIZE;
    let mut out = String::new();
    let mut pc = 0;
    while pc < bytes.len() {
        if !out.is_empty() {
            out.push(' ');
        }
        let Some((opcode, data)) = get_op(bytes, &mut pc) else {
            out.push_str("[error]");
            return out;
        };
        if opcode <= OP_PUSHDATA4 {
            if data.len() <= 4 {
                out.push_str(&script_num(data).to_string());
            } else if decode_sighash && !unspendable && is_valid_signature_encoding(data) {
                // Strict encoding also requires a defined hash type, which is exactly when
                // there is a name for the last byte.
                match data
                    .split_last()
                    .and_then(|(last, der)| Some((sighash_name(*last)?, der)))
                {
                    Some((name, der)) => {
                        out.push_str(&der.to_lower_hex_string());
                        out.push('[');
                        out.push_str(name);
                        out.push(']');
                    }
                    None => out.push_str(&data.to_lower_hex_string()),
                }
            } else {
                out.push_str(&data.to_lower_hex_string());
            }
        } else {
            out.push_str(op_name(opcode));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Scripts: classification (Core's `Solver`), descriptors, addresses
// ---------------------------------------------------------------------------------------

/// An output script's template, as Core's `Solver` finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Template<'a> {
    NonStandard,
    PubKey(&'a [u8]),
    PubKeyHash,
    ScriptHash,
    Multisig { required: i64, keys: Vec<&'a [u8]> },
    NullData,
    Anchor,
    WitnessV0KeyHash,
    WitnessV0ScriptHash,
    WitnessV1Taproot(&'a [u8]),
    WitnessUnknown,
}

impl Template<'_> {
    /// Core's `GetTxnOutputType`.
    fn type_name(&self) -> &'static str {
        match self {
            Template::NonStandard => "nonstandard",
            Template::PubKey(_) => "pubkey",
            Template::PubKeyHash => "pubkeyhash",
            Template::ScriptHash => "scripthash",
            Template::Multisig { .. } => "multisig",
            Template::NullData => "nulldata",
            Template::Anchor => "anchor",
            Template::WitnessV0KeyHash => "witness_v0_keyhash",
            Template::WitnessV0ScriptHash => "witness_v0_scripthash",
            Template::WitnessV1Taproot(_) => "witness_v1_taproot",
            Template::WitnessUnknown => "witness_unknown",
        }
    }

    /// Whether Core's `ExtractDestination` succeeds (and so an `address` is shown).
    fn has_address(&self) -> bool {
        matches!(
            self,
            Template::PubKeyHash
                | Template::ScriptHash
                | Template::Anchor
                | Template::WitnessV0KeyHash
                | Template::WitnessV0ScriptHash
                | Template::WitnessV1Taproot(_)
                | Template::WitnessUnknown
        )
    }
}

/// Core's `CPubKey::ValidSize`: the length matches the header byte.
fn pubkey_valid_size(key: &[u8]) -> bool {
    match key.first() {
        Some(0x02 | 0x03) => key.len() == 33,
        Some(0x04 | 0x06 | 0x07) => key.len() == 65,
        _ => false,
    }
}

/// Core's `CPubKey::IsValidNonHybrid` (syntactic: compressed or uncompressed, not hybrid).
fn pubkey_non_hybrid(key: &[u8]) -> bool {
    pubkey_valid_size(key) && matches!(key.first(), Some(0x02..=0x04))
}

/// Core's `CheckMinimalPush`.
fn is_minimal_push(data: &[u8], opcode: u8) -> bool {
    match data {
        [] => opcode == OP_0,
        [b] if (1..=16).contains(b) || *b == 0x81 => false,
        _ if data.len() <= 75 => usize::from(opcode) == data.len(),
        _ if data.len() <= 255 => opcode == OP_PUSHDATA1,
        _ if data.len() <= 65_535 => opcode == OP_PUSHDATA2,
        _ => true,
    }
}

/// `CScriptNum(data, /*fRequireMinimal=*/true)` with the default 4-byte limit.
fn minimal_script_num(data: &[u8]) -> Option<i64> {
    if data.len() > 4 {
        return None;
    }
    if let Some(last) = data.last() {
        if last & 0x7f == 0 {
            let second = data.len().checked_sub(2).and_then(|i| data.get(i));
            if second.is_none_or(|b| b & 0x80 == 0) {
                return None;
            }
        }
    }
    Some(script_num(data))
}

/// Core's `GetScriptNumber` (as used by `MatchMultisig`).
fn script_number(opcode: u8, data: &[u8], min: i64, max: i64) -> Option<i64> {
    let count = if (OP_1..=OP_16).contains(&opcode) {
        i64::from(opcode - OP_1 + 1)
    } else if opcode > OP_0 && opcode <= OP_PUSHDATA4 {
        if !is_minimal_push(data, opcode) {
            return None;
        }
        minimal_script_num(data)?
    } else {
        return None;
    };
    (min..=max).contains(&count).then_some(count)
}

/// Core's `MatchMultisig`: `<m> <key>… <n> OP_CHECKMULTISIG`.
fn match_multisig(script: &[u8]) -> Option<(i64, Vec<&[u8]>)> {
    if script.last() != Some(&OP_CHECKMULTISIG) {
        return None;
    }
    let mut pc = 0;
    let (opcode, data) = get_op(script, &mut pc)?;
    let required = script_number(opcode, data, 1, MAX_PUBKEYS_PER_MULTISIG)?;
    let mut keys = Vec::new();
    let (opcode, data) = loop {
        let (opcode, data) = get_op(script, &mut pc)?;
        if !pubkey_valid_size(data) {
            break (opcode, data);
        }
        keys.push(data);
    };
    let count = script_number(opcode, data, required, MAX_PUBKEYS_PER_MULTISIG)?;
    if usize::try_from(count).ok()? != keys.len() || pc + 1 != script.len() {
        return None;
    }
    Some((required, keys))
}

/// Core's `IsPushOnly` over a script suffix.
fn is_push_only(script: &[u8]) -> bool {
    let mut pc = 0;
    while pc < script.len() {
        match get_op(script, &mut pc) {
            Some((opcode, _)) if opcode <= OP_16 => {}
            _ => return false,
        }
    }
    true
}

/// Core's `Solver`.
fn solve(script: &[u8]) -> Template<'_> {
    // P2SH: OP_HASH160 <20> OP_EQUAL.
    if script.len() == 23
        && script.first() == Some(&OP_HASH160)
        && script.get(1) == Some(&0x14)
        && script.last() == Some(&OP_EQUAL)
    {
        return Template::ScriptHash;
    }
    // Witness programs: version opcode, then one direct push of 2..=40 bytes.
    if (4..=42).contains(&script.len()) {
        if let (Some(&version_op), Some(&push)) = (script.first(), script.get(1)) {
            let version = match version_op {
                OP_0 => Some(0),
                OP_1..=OP_16 => Some(version_op - OP_1 + 1),
                _ => None,
            };
            if let (Some(version), true) = (version, usize::from(push) + 2 == script.len()) {
                let program = script.get(2..).unwrap_or_default();
                return match (version, program.len()) {
                    (0, 20) => Template::WitnessV0KeyHash,
                    (0, 32) => Template::WitnessV0ScriptHash,
                    (1, 32) => Template::WitnessV1Taproot(program),
                    _ if script == [OP_1, 0x02, 0x4e, 0x73] => Template::Anchor,
                    (0, _) => Template::NonStandard,
                    _ => Template::WitnessUnknown,
                };
            }
        }
    }
    // Data carrier: OP_RETURN followed by pushes only.
    if script.first() == Some(&OP_RETURN) && is_push_only(script.get(1..).unwrap_or_default()) {
        return Template::NullData;
    }
    // Bare public key: <33 or 65 byte key> OP_CHECKSIG.
    if ((script.len() == 67 && script.first() == Some(&65))
        || (script.len() == 35 && script.first() == Some(&33)))
        && script.last() == Some(&OP_CHECKSIG)
    {
        let key = script.get(1..script.len() - 1).unwrap_or_default();
        if pubkey_valid_size(key) {
            return Template::PubKey(key);
        }
    }
    // P2PKH: OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG.
    if script.len() == 25
        && script.first() == Some(&OP_DUP)
        && script.get(1) == Some(&OP_HASH160)
        && script.get(2) == Some(&20)
        && script.get(23) == Some(&OP_EQUALVERIFY)
        && script.get(24) == Some(&OP_CHECKSIG)
    {
        return Template::PubKeyHash;
    }
    if let Some((required, keys)) = match_multisig(script) {
        return Template::Multisig { required, keys };
    }
    Template::NonStandard
}

/// Core's output address for a script, when it has one (never for bare keys, bare
/// multisig, `OP_RETURN` or non-standard scripts).
fn address_of(script: &Script, template: &Template<'_>, network: Network) -> Option<Address> {
    if !template.has_address() {
        return None;
    }
    Address::from_script(script, network).ok()
}

/// Core's `InferDescriptor` with no signing data (what node RPCs print), without the
/// checksum: `pk(<key>)` for bare keys, `multi(<m>,<key>,…)` for bare multisig,
/// `rawtr(<x-only key>)` for taproot outputs whose key is on the curve, `addr(<address>)`
/// for other scripts with an address, `raw(<hex>)` for everything else (including bare
/// keys or multisig with hybrid keys).
fn infer_descriptor(script: &Script, template: &Template<'_>, address: Option<&Address>) -> String {
    match template {
        Template::PubKey(key) if pubkey_non_hybrid(key) => {
            return format!("pk({})", key.to_lower_hex_string());
        }
        Template::Multisig { required, keys } if keys.iter().all(|k| pubkey_non_hybrid(k)) => {
            let keys: Vec<String> = keys.iter().map(|k| k.to_lower_hex_string()).collect();
            return format!("multi({required},{})", keys.join(","));
        }
        Template::WitnessV1Taproot(key) if XOnlyPublicKey::from_slice(key).is_ok() => {
            return format!("rawtr({})", key.to_lower_hex_string());
        }
        _ => {}
    }
    match address {
        Some(address) => format!("addr({address})"),
        None => format!("raw({})", script.as_bytes().to_lower_hex_string()),
    }
}

/// The characters a descriptor may contain, in BIP-380's checksum order.
const DESCRIPTOR_INPUT_CHARSET: &[u8] =
    b"0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
/// The checksum's alphabet (bech32's).
const DESCRIPTOR_CHECKSUM_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// One step of BIP-380's checksum polynomial (Core's `PolyMod`).
fn descriptor_polymod(c: u64, value: u64) -> u64 {
    let top = c >> 35;
    let mut c = ((c & 0x7_ffff_ffff) << 5) ^ value;
    const GENERATOR: [u64; 5] = [
        0xf5_dee5_1989,
        0xa9_fdca_3312,
        0x1b_ab10_e32d,
        0x37_06b1_677a,
        0x64_4d62_6ffd,
    ];
    for (i, generator) in GENERATOR.iter().enumerate() {
        if (top >> i) & 1 != 0 {
            c ^= generator;
        }
    }
    c
}

/// The 8-character BIP-380 checksum of a descriptor (the part after `#`), or `None` if
/// the descriptor contains a character outside the descriptor character set.
pub fn descriptor_checksum(descriptor: &str) -> Option<String> {
    let mut c: u64 = 1;
    let mut class: u64 = 0;
    let mut class_count = 0;
    for ch in descriptor.bytes() {
        let pos = DESCRIPTOR_INPUT_CHARSET.iter().position(|&x| x == ch)? as u64;
        c = descriptor_polymod(c, pos & 31);
        class = class * 3 + (pos >> 5);
        class_count += 1;
        if class_count == 3 {
            c = descriptor_polymod(c, class);
            class = 0;
            class_count = 0;
        }
    }
    if class_count > 0 {
        c = descriptor_polymod(c, class);
    }
    for _ in 0..8 {
        c = descriptor_polymod(c, 0);
    }
    c ^= 1;
    let checksum = (0..8)
        .map(|j| {
            let index = ((c >> (5 * (7 - j))) & 31) as usize;
            char::from(
                DESCRIPTOR_CHECKSUM_CHARSET
                    .get(index)
                    .copied()
                    .unwrap_or(b'q'),
            )
        })
        .collect();
    Some(checksum)
}

/// A descriptor with its checksum appended (`addr(…)#2upg96q8`), like Core's
/// `AddChecksum` (which appends a bare `#` if the checksum cannot be computed).
pub fn descriptor_with_checksum(descriptor: &str) -> String {
    format!(
        "{descriptor}#{}",
        descriptor_checksum(descriptor).unwrap_or_default()
    )
}

/// An output script as Core's `scriptPubKey` object:
/// `{asm, desc, hex, address?, type}`.
///
/// - `asm`: [`script_asm`] without sighash decoding (`0 f07f5a…`, `OP_RETURN aa21a9ed…`,
///   `1 <32-byte hex>` for taproot);
/// - `desc`: the inferred descriptor with checksum: `addr(bcrt1…)#…` for scripts with an
///   address, `rawtr(…)#…` for taproot, `pk(04…)#…` for bare keys (the genesis coinbase),
///   `multi(…)#…` for bare multisig, `raw(6a24…)#…` otherwise;
/// - `address`: only for P2PKH, P2SH, segwit v0, taproot, anchor and unknown witness
///   versions (encoded for `network`);
/// - `type`: `pubkey`, `pubkeyhash`, `scripthash`, `multisig`, `nulldata`, `anchor`,
///   `witness_v0_keyhash`, `witness_v0_scripthash`, `witness_v1_taproot`,
///   `witness_unknown` or `nonstandard`.
pub fn script_pubkey_json(script: &Script, network: Network) -> Value {
    let template = solve(script.as_bytes());
    let address = address_of(script, &template, network);
    let descriptor = infer_descriptor(script, &template, address.as_ref());
    let mut object = Map::new();
    object.insert("asm".into(), Value::from(script_asm(script, false)));
    object.insert(
        "desc".into(),
        Value::from(descriptor_with_checksum(&descriptor)),
    );
    object.insert(
        "hex".into(),
        Value::from(script.as_bytes().to_lower_hex_string()),
    );
    if let Some(address) = address {
        object.insert("address".into(), Value::from(address.to_string()));
    }
    object.insert("type".into(), Value::from(template.type_name()));
    Value::Object(object)
}

/// An input script as Core's `scriptSig` object: `{asm, hex}`, where `asm` decodes
/// signature sighash bytes (`3044…[ALL]`), see [`script_asm`].
pub fn script_sig_json(script: &Script) -> Value {
    let mut object = Map::new();
    object.insert("asm".into(), Value::from(script_asm(script, true)));
    object.insert(
        "hex".into(),
        Value::from(script.as_bytes().to_lower_hex_string()),
    );
    Value::Object(object)
}

// ---------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------

/// An output spent by a transaction input, as block undo data records it: what
/// `getblock` verbosity 2 needs for `fee`, and verbosity 3 (and `getrawtransaction`
/// verbosity 2) for `prevout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentOutput {
    /// The spent output.
    pub txout: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether it was created by a coinbase transaction (`generated`).
    pub is_coinbase: bool,
}

/// Renders a transaction; `undo` holds the spent outputs (one per input) and whether to
/// show them as `prevout`, with `fee` already computed.
fn render_tx(
    tx: &Transaction,
    network: Network,
    undo: Option<(&[SpentOutput], bool, Amount)>,
) -> Map<String, Value> {
    let mut entry = Map::new();
    entry.insert("txid".into(), Value::from(tx.compute_txid().to_string()));
    entry.insert("hash".into(), Value::from(tx.compute_wtxid().to_string()));
    // Core v30 keeps the version as an unsigned 32-bit number.
    entry.insert("version".into(), Value::from(tx.version.0 as u32));
    entry.insert("size".into(), Value::from(tx.total_size()));
    entry.insert("vsize".into(), Value::from(tx.vsize()));
    entry.insert("weight".into(), Value::from(tx.weight().to_wu()));
    entry.insert(
        "locktime".into(),
        Value::from(tx.lock_time.to_consensus_u32()),
    );

    let coinbase = tx.is_coinbase();
    let vin: Vec<Value> = tx
        .input
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let mut object = Map::new();
            if coinbase {
                object.insert(
                    "coinbase".into(),
                    Value::from(input.script_sig.as_bytes().to_lower_hex_string()),
                );
            } else {
                object.insert(
                    "txid".into(),
                    Value::from(input.previous_output.txid.to_string()),
                );
                object.insert("vout".into(), Value::from(input.previous_output.vout));
                object.insert("scriptSig".into(), script_sig_json(&input.script_sig));
            }
            if !input.witness.is_empty() {
                let items: Vec<Value> = input
                    .witness
                    .iter()
                    .map(|item| Value::from(item.to_lower_hex_string()))
                    .collect();
                object.insert("txinwitness".into(), Value::Array(items));
            }
            if let Some((spent, true, _)) = undo {
                if let Some(spent) = spent.get(i) {
                    object.insert("prevout".into(), prevout_json(spent, network));
                }
            }
            object.insert(
                "sequence".into(),
                Value::from(input.sequence.to_consensus_u32()),
            );
            Value::Object(object)
        })
        .collect();
    entry.insert("vin".into(), Value::Array(vin));

    let vout: Vec<Value> = tx
        .output
        .iter()
        .enumerate()
        .map(|(n, output)| {
            let mut object = Map::new();
            object.insert("value".into(), btc_value(output.value));
            object.insert("n".into(), Value::from(n));
            object.insert(
                "scriptPubKey".into(),
                script_pubkey_json(&output.script_pubkey, network),
            );
            Value::Object(object)
        })
        .collect();
    entry.insert("vout".into(), Value::Array(vout));

    if let Some((_, _, fee)) = undo {
        entry.insert("fee".into(), btc_value(fee));
    }
    entry.insert("hex".into(), Value::from(serialize_hex(tx)));
    entry
}

/// The `prevout` object of an input: `{generated, height, value, scriptPubKey}`.
fn prevout_json(spent: &SpentOutput, network: Network) -> Value {
    let mut object = Map::new();
    object.insert("generated".into(), Value::from(spent.is_coinbase));
    object.insert("height".into(), Value::from(spent.height));
    object.insert("value".into(), btc_value(spent.txout.value));
    object.insert(
        "scriptPubKey".into(),
        script_pubkey_json(&spent.txout.script_pubkey, network),
    );
    Value::Object(object)
}

/// A transaction as Core's `TxToUniv` renders it without undo data (`getrawtransaction`
/// verbosity 1, `getblock` verbosity 2 when undo data is missing, `decoderawtransaction`
/// plus `hex`): `txid, hash, version, size, vsize, weight, locktime, vin, vout, hex`.
///
/// Coinbase inputs are `{coinbase, txinwitness?, sequence}`, others
/// `{txid, vout, scriptSig, txinwitness?, sequence}`; outputs are
/// `{value, n, scriptPubKey}`. `getrawtransaction` adds the block fields with
/// [`add_tx_block_fields`].
pub fn tx_json(tx: &Transaction, network: Network) -> Map<String, Value> {
    render_tx(tx, network, None)
}

/// A transaction with its spent outputs (`spent[i]` is what input `i` spends), as Core
/// renders it with undo data: a `fee` (inputs minus outputs) after `vout`, and, when
/// `show_prevouts` (`getblock` verbosity 3, `getrawtransaction` verbosity 2), a
/// `prevout` `{generated, height, value, scriptPubKey}` in each input, between
/// `txinwitness` and `sequence`.
///
/// A coinbase transaction has no undo data: it renders as [`tx_json`] whatever `spent`
/// holds. Returns `None` if `spent` does not have one entry per input, or if the inputs
/// are worth less than the outputs (or the sums overflow).
pub fn tx_json_with_undo(
    tx: &Transaction,
    network: Network,
    spent: &[SpentOutput],
    show_prevouts: bool,
) -> Option<Map<String, Value>> {
    if tx.is_coinbase() {
        return Some(tx_json(tx, network));
    }
    if spent.len() != tx.input.len() {
        return None;
    }
    let total_in = spent
        .iter()
        .try_fold(Amount::ZERO, |sum, s| sum.checked_add(s.txout.value))?;
    let total_out = tx
        .output
        .iter()
        .try_fold(Amount::ZERO, |sum, o| sum.checked_add(o.value))?;
    let fee = total_in.checked_sub(total_out)?;
    Some(render_tx(tx, network, Some((spent, show_prevouts, fee))))
}

/// Adds what `getrawtransaction` prints after `hex` for a transaction found in a block:
/// `blockhash`, `confirmations`, and `time` and `blocktime` (both the block's header time)
/// when the block is in the active chain. For a block outside the active chain Core
/// prints `confirmations: 0` and no times: pass `0` and `None`.
///
/// (With a `blockhash` argument Core also prints `in_active_chain`, as the first key; the
/// caller adds it.)
pub fn add_tx_block_fields(
    entry: &mut Map<String, Value>,
    block_hash: BlockHash,
    confirmations: i64,
    block_time: Option<u32>,
) {
    entry.insert("blockhash".into(), Value::from(block_hash.to_string()));
    entry.insert("confirmations".into(), Value::from(confirmations));
    if let Some(time) = block_time {
        entry.insert("time".into(), Value::from(time));
        entry.insert("blocktime".into(), Value::from(time));
    }
}

// ---------------------------------------------------------------------------------------
// Headers and blocks
// ---------------------------------------------------------------------------------------

/// A block header as Core's `getblockheader` (verbose) renders it, keys in Core's order:
/// `hash, confirmations, height, version, versionHex, merkleroot, time, mediantime, nonce,
/// bits, target, difficulty, chainwork, nTx, previousblockhash?, nextblockhash?`.
///
/// The chain context is passed in: `confirmations` (tip height − height + 1 in the active
/// chain, −1 outside it), `chainwork` (total work up to and including this block),
/// `n_tx` (transactions in the block), `median_time` (median time past of this block),
/// `prev` (absent only for genesis) and `next` (the next block in the active chain; absent
/// for the tip and for blocks outside the active chain).
#[allow(clippy::too_many_arguments)]
pub fn header_json(
    header: &Header,
    height: u32,
    confirmations: i64,
    chainwork: u128,
    n_tx: usize,
    median_time: u32,
    prev: Option<BlockHash>,
    next: Option<BlockHash>,
) -> Map<String, Value> {
    let version = header.version.to_consensus();
    let mut entry = Map::new();
    entry.insert("hash".into(), Value::from(header.block_hash().to_string()));
    entry.insert("confirmations".into(), Value::from(confirmations));
    entry.insert("height".into(), Value::from(height));
    entry.insert("version".into(), Value::from(version));
    entry.insert("versionHex".into(), Value::from(format!("{version:08x}")));
    entry.insert(
        "merkleroot".into(),
        Value::from(header.merkle_root.to_string()),
    );
    entry.insert("time".into(), Value::from(header.time));
    entry.insert("mediantime".into(), Value::from(median_time));
    entry.insert("nonce".into(), Value::from(header.nonce));
    entry.insert(
        "bits".into(),
        Value::from(format!("{:08x}", header.bits.to_consensus())),
    );
    entry.insert("target".into(), Value::from(target_hex(header.bits)));
    entry.insert("difficulty".into(), core_f64(difficulty(header.bits)));
    entry.insert("chainwork".into(), Value::from(chainwork_hex(chainwork)));
    entry.insert("nTx".into(), Value::from(n_tx));
    if let Some(prev) = prev {
        entry.insert("previousblockhash".into(), Value::from(prev.to_string()));
    }
    if let Some(next) = next {
        entry.insert("nextblockhash".into(), Value::from(next.to_string()));
    }
    entry
}

/// Size of a Bitcoin compact-size integer.
fn compact_size_len(n: usize) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// A block's size without witness data (Core's `strippedsize`).
pub fn block_stripped_size(block: &Block) -> usize {
    Header::SIZE
        + compact_size_len(block.txdata.len())
        + block
            .txdata
            .iter()
            .map(Transaction::base_size)
            .sum::<usize>()
}

/// A block as Core's `getblock` renders it for verbosity 1 and up: the header fields
/// (from [`header_json`], passed in) followed by `strippedsize, size, weight, tx`.
///
/// `tx` lists txids for verbosity 1 (and below), transaction objects for 2, and for 3 and
/// above (Core treats every value ≥ 3 as 3) transaction objects with `prevout`s. Undo
/// data, when given, holds one entry per non-coinbase transaction (`undo[i]` for
/// `block.txdata[i + 1]`, one [`SpentOutput`] per input) and adds `fee` (verbosity ≥ 2)
/// and `prevout` (verbosity ≥ 3); without it the transactions render as [`tx_json`], as
/// Core does for blocks without undo data. The coinbase never has `fee` or `prevout`.
///
/// Returns `None` if the undo data does not match the block's transactions (see
/// [`tx_json_with_undo`]).
pub fn block_json(
    header_fields: Map<String, Value>,
    block: &Block,
    network: Network,
    verbosity: i64,
    undo: Option<&[Vec<SpentOutput>]>,
) -> Option<Map<String, Value>> {
    let mut entry = header_fields;
    entry.insert(
        "strippedsize".into(),
        Value::from(block_stripped_size(block)),
    );
    entry.insert("size".into(), Value::from(block.total_size()));
    entry.insert("weight".into(), Value::from(block.weight().to_wu()));
    let txs: Vec<Value> = if verbosity <= 1 {
        block
            .txdata
            .iter()
            .map(|tx| Value::from(tx.compute_txid().to_string()))
            .collect()
    } else {
        if let Some(undo) = undo {
            if undo.len() + 1 != block.txdata.len() {
                return None;
            }
        }
        let mut txs = Vec::with_capacity(block.txdata.len());
        for (i, tx) in block.txdata.iter().enumerate() {
            let spent = i
                .checked_sub(1)
                .and_then(|i| undo.and_then(|undo| undo.get(i)));
            let object = match spent {
                Some(spent) => tx_json_with_undo(tx, network, spent, verbosity >= 3)?,
                None => tx_json(tx, network),
            };
            txs.push(Value::Object(object));
        }
        txs
    };
    entry.insert("tx".into(), Value::Array(txs));
    Some(entry)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use bitcoin::consensus::encode::deserialize_hex;
    use bitcoin::{OutPoint, ScriptBuf, Txid};

    use super::*;

    const RECORDINGS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bitcoind-regtest-rpc/"
    );

    const FILES: &[&str] = &[
        "auth.json",
        "batch.json",
        "empty_body.json",
        "estimatesmartfee.json",
        "generateblock.json",
        "generatetoaddress.json",
        "getbestblockhash.json",
        "getblock.json",
        "getblockchaininfo.json",
        "getblockcount.json",
        "getblockfilter.json",
        "getblockhash.json",
        "getblockheader.json",
        "getmempoolentry.json",
        "getmempoolinfo.json",
        "getrawmempool.json",
        "getrawtransaction.json",
        "gettxout.json",
        "id_and_version_handling.json",
        "invalidateblock.json",
        "large_response.json",
        "malformed_json.json",
        "reconsiderblock.json",
        "sendrawtransaction.json",
        "unknown_method.json",
        "wrong_param_types.json",
    ];

    /// Parses JSON text, reading every number with a fraction or exponent with Rust's
    /// correctly rounded parser (serde_json's default float parsing is not always
    /// correctly rounded, e.g. for `4.656542373906925e-10`).
    fn parse_exact(text: &str) -> Option<Value> {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let mut in_string = false;
        let mut start = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if in_string {
                if c == b'\\' {
                    i += 1;
                } else if c == b'"' {
                    in_string = false;
                }
                i += 1;
                continue;
            }
            if c == b'"' {
                in_string = true;
                i += 1;
                continue;
            }
            if c == b'-' || c.is_ascii_digit() {
                out.push_str(&text[start..i]);
                let token_start = i;
                while i < bytes.len() && b"+-0123456789.eE".contains(&bytes[i]) {
                    i += 1;
                }
                let token = &text[token_start..i];
                if token.contains(['.', 'e', 'E']) {
                    out.push_str(&format!("{{\"$float\":\"{token}\"}}"));
                } else {
                    out.push_str(token);
                }
                start = i;
                continue;
            }
            i += 1;
        }
        out.push_str(&text[start..]);
        let mut value: Value = serde_json::from_str(&out).ok()?;
        fix_floats(&mut value);
        Some(value)
    }

    fn fix_floats(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.len() == 1 {
                    if let Some(Value::String(token)) = map.get("$float") {
                        *value = Value::from(token.parse::<f64>().unwrap());
                        return;
                    }
                }
                map.values_mut().for_each(fix_floats);
            }
            Value::Array(items) => items.iter_mut().for_each(fix_floats),
            _ => {}
        }
    }

    /// One recorded single (non-batch) call: method, params and result.
    struct Call {
        file: &'static str,
        method: String,
        params: Vec<Value>,
        result: Value,
    }

    fn calls() -> Vec<Call> {
        let mut calls = Vec::new();
        for file in FILES {
            let text = std::fs::read_to_string(format!("{RECORDINGS}{file}")).unwrap();
            let records: Vec<Value> = serde_json::from_str(&text).unwrap();
            for record in records {
                let Some(body) = record["request"]["body"].as_str() else {
                    continue;
                };
                let Ok(Value::Object(request)) = serde_json::from_str::<Value>(body) else {
                    continue;
                };
                let Some(response) = record["body"].as_str().and_then(parse_exact) else {
                    continue;
                };
                let Some(result) = response.get("result") else {
                    continue;
                };
                calls.push(Call {
                    file,
                    method: request
                        .get("method")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    params: request
                        .get("params")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    result: result.clone(),
                });
            }
        }
        calls
    }

    /// Every recorded value (results, plus `context.json`).
    fn all_values() -> Vec<Value> {
        let mut values: Vec<Value> = calls().into_iter().map(|c| c.result).collect();
        let context = std::fs::read_to_string(format!("{RECORDINGS}context.json")).unwrap();
        values.push(parse_exact(&context).unwrap());
        values
    }

    fn walk<'a>(value: &'a Value, visit: &mut dyn FnMut(&'a Value)) {
        visit(value);
        match value {
            Value::Object(map) => map.values().for_each(|v| walk(v, visit)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
            _ => {}
        }
    }

    fn sat(value: &Value) -> Amount {
        Amount::from_sat((value.as_f64().unwrap() * 1e8).round() as u64)
    }

    fn script(hex: &str) -> ScriptBuf {
        ScriptBuf::from_hex(hex).unwrap()
    }

    fn assert_same(what: &str, actual: &Value, expected: &Value) {
        assert!(
            actual == expected,
            "{what} differs:\nactual:   {}\nexpected: {}",
            serde_json::to_string_pretty(actual).unwrap(),
            serde_json::to_string_pretty(expected).unwrap()
        );
    }

    /// Every spent output the recordings show (`prevout` objects), by outpoint.
    fn recorded_prevouts() -> HashMap<OutPoint, SpentOutput> {
        let mut prevouts = HashMap::new();
        for value in all_values() {
            walk(&value, &mut |v| {
                if let (Some(txid), Some(vout), Some(prevout)) =
                    (v.get("txid"), v.get("vout"), v.get("prevout"))
                {
                    let outpoint = OutPoint {
                        txid: txid.as_str().unwrap().parse::<Txid>().unwrap(),
                        vout: vout.as_u64().unwrap() as u32,
                    };
                    let spent = SpentOutput {
                        txout: TxOut {
                            value: sat(&prevout["value"]),
                            script_pubkey: script(prevout["scriptPubKey"]["hex"].as_str().unwrap()),
                        },
                        height: prevout["height"].as_u64().unwrap() as u32,
                        is_coinbase: prevout["generated"].as_bool().unwrap(),
                    };
                    prevouts.insert(outpoint, spent);
                }
            });
        }
        prevouts
    }

    fn spent_outputs(
        tx: &Transaction,
        prevouts: &HashMap<OutPoint, SpentOutput>,
    ) -> Vec<SpentOutput> {
        tx.input
            .iter()
            .map(|input| prevouts[&input.previous_output].clone())
            .collect()
    }

    #[test]
    fn descriptor_checksums_match_recordings() {
        let mut checked = 0;
        for value in all_values() {
            walk(&value, &mut |v| {
                let Value::Object(map) = v else { return };
                let mut descs: Vec<&str> = Vec::new();
                if let Some(Value::String(desc)) = map.get("desc") {
                    descs.push(desc);
                }
                if let Some(Value::Array(parents)) = map.get("parent_descs") {
                    descs.extend(parents.iter().filter_map(Value::as_str));
                }
                for desc in descs {
                    let (body, checksum) = desc.rsplit_once('#').unwrap();
                    assert_eq!(
                        descriptor_checksum(body).as_deref(),
                        Some(checksum),
                        "{desc}"
                    );
                    assert_eq!(descriptor_with_checksum(body), desc);
                    checked += 1;
                }
            });
        }
        // Wallet descriptors with key origins and xpubs (context.json) are among them.
        assert!(checked >= 20, "only {checked} descriptors checked");
        assert_eq!(descriptor_checksum("addr(x\u{e9})"), None);
    }

    #[test]
    fn script_objects_match_recordings() {
        let mut pubkeys = 0;
        let mut sigs = 0;
        for value in all_values() {
            walk(&value, &mut |v| {
                let Value::Object(map) = v else { return };
                let (Some(Value::String(_)), Some(Value::String(hex))) =
                    (map.get("asm"), map.get("hex"))
                else {
                    return;
                };
                if map.contains_key("type") {
                    assert_same(
                        "scriptPubKey",
                        &script_pubkey_json(&script(hex), Network::Regtest),
                        v,
                    );
                    pubkeys += 1;
                } else if map.len() == 2 {
                    assert_same("scriptSig", &script_sig_json(&script(hex)), v);
                    sigs += 1;
                }
            });
        }
        assert!(
            pubkeys >= 30 && sigs >= 5,
            "only {pubkeys} scriptPubKeys and {sigs} scriptSigs"
        );
    }

    #[test]
    fn transactions_match_recordings() {
        let prevouts = recorded_prevouts();
        let mut checked = 0;
        let mut with_fee = 0;
        let mut with_prevouts = 0;
        let calls = calls();
        let mut raw_hex: HashMap<String, String> = HashMap::new();
        for call in &calls {
            if call.method == "getrawtransaction" {
                if let Value::String(hex) = &call.result {
                    raw_hex.insert(call.params[0].as_str().unwrap().into(), hex.clone());
                }
            }
        }
        for call in &calls {
            walk(&call.result, &mut |v| {
                let Value::Object(expected) = v else { return };
                let (Some(Value::String(hex)), true, true) = (
                    expected.get("hex"),
                    expected.contains_key("vin"),
                    expected.contains_key("txid"),
                ) else {
                    return;
                };
                let tx: Transaction = deserialize_hex(hex).unwrap();
                let shows_prevouts = expected["vin"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|input| input.get("prevout").is_some());
                let mut actual = if expected.contains_key("fee") {
                    with_fee += 1;
                    with_prevouts += usize::from(shows_prevouts);
                    tx_json_with_undo(
                        &tx,
                        Network::Regtest,
                        &spent_outputs(&tx, &prevouts),
                        shows_prevouts,
                    )
                    .unwrap()
                } else {
                    assert!(!shows_prevouts);
                    tx_json(&tx, Network::Regtest)
                };
                if let Some(in_active_chain) = expected.get("in_active_chain") {
                    actual.insert("in_active_chain".into(), in_active_chain.clone());
                }
                if let Some(block_hash) = expected.get("blockhash") {
                    add_tx_block_fields(
                        &mut actual,
                        block_hash.as_str().unwrap().parse().unwrap(),
                        expected["confirmations"].as_i64().unwrap(),
                        expected.get("time").map(|t| t.as_u64().unwrap() as u32),
                    );
                }
                assert_same(
                    &format!("transaction in {}", call.file),
                    &Value::Object(actual),
                    v,
                );
                // The verbose=false answer is the same transaction.
                if let Some(raw) = raw_hex.get(expected["txid"].as_str().unwrap()) {
                    assert_eq!(raw, hex);
                }
                checked += 1;
            });
        }
        assert!(
            checked >= 10 && with_fee >= 3 && with_prevouts >= 2,
            "{checked} {with_fee} {with_prevouts}"
        );
    }

    /// The header fields of a recorded verbose header or block, rebuilt from `header` with
    /// the chain context taken from the recording.
    fn header_fields(header: &Header, expected: &Map<String, Value>) -> Map<String, Value> {
        let hash = |key: &str| {
            expected
                .get(key)
                .map(|h| h.as_str().unwrap().parse::<BlockHash>().unwrap())
        };
        let height = expected["height"].as_u64().unwrap() as u32;
        let prev = hash("previousblockhash");
        assert_eq!(prev.is_some(), height > 0);
        assert_eq!(prev.unwrap_or(header.prev_blockhash), header.prev_blockhash);
        header_json(
            header,
            height,
            expected["confirmations"].as_i64().unwrap(),
            u128::from_str_radix(expected["chainwork"].as_str().unwrap(), 16).unwrap(),
            expected["nTx"].as_u64().unwrap() as usize,
            expected["mediantime"].as_u64().unwrap() as u32,
            prev,
            hash("nextblockhash"),
        )
    }

    #[test]
    fn headers_match_recordings() {
        let calls = calls();
        let mut hex_by_hash: HashMap<String, String> = HashMap::new();
        for call in calls.iter().filter(|c| c.method == "getblockheader") {
            if let Value::String(hex) = &call.result {
                hex_by_hash.insert(call.params[0].as_str().unwrap().into(), hex.clone());
            }
        }
        let mut checked = 0;
        for call in calls.iter().filter(|c| c.method == "getblockheader") {
            let Value::Object(expected) = &call.result else {
                continue;
            };
            let Some(hex) = hex_by_hash.get(expected["hash"].as_str().unwrap()) else {
                continue;
            };
            let header: Header = deserialize_hex(hex).unwrap();
            let actual = header_fields(&header, expected);
            assert_same("header", &Value::Object(actual), &call.result);
            checked += 1;
        }
        assert!(checked >= 4, "only {checked} headers checked");
    }

    #[test]
    fn blocks_match_recordings() {
        let prevouts = recorded_prevouts();
        let calls = calls();
        let mut hex_by_hash: HashMap<String, String> = HashMap::new();
        for call in calls.iter().filter(|c| c.method == "getblock") {
            if let Value::String(hex) = &call.result {
                hex_by_hash.insert(call.params[0].as_str().unwrap().into(), hex.clone());
            }
        }
        let mut checked = Vec::new();
        for call in calls.iter().filter(|c| c.method == "getblock") {
            let Value::Object(expected) = &call.result else {
                continue;
            };
            let Some(hex) = hex_by_hash.get(expected["hash"].as_str().unwrap()) else {
                continue;
            };
            let verbosity = match call.params.get(1) {
                None => 1,
                Some(Value::Bool(verbose)) => i64::from(*verbose),
                Some(v) => v.as_i64().unwrap(),
            };
            let block: Block = deserialize_hex(hex).unwrap();
            let undo: Vec<Vec<SpentOutput>> = block
                .txdata
                .iter()
                .skip(1)
                .map(|tx| spent_outputs(tx, &prevouts))
                .collect();
            let header = header_fields(&block.header, expected);
            let actual =
                block_json(header, &block, Network::Regtest, verbosity, Some(&undo)).unwrap();
            assert_same(
                &format!("block (verbosity {verbosity})"),
                &Value::Object(actual),
                &call.result,
            );
            checked.push(verbosity);
        }
        for verbosity in [1, 2, 3, 9] {
            assert!(
                checked.contains(&verbosity),
                "verbosity {verbosity} not checked: {checked:?}"
            );
        }
    }

    #[test]
    fn block_without_undo_data_has_no_fees() {
        let calls = calls();
        let hex = calls
            .iter()
            .filter(|c| c.method == "getblock" && c.params.get(1) == Some(&Value::from(0)))
            .filter_map(|c| c.result.as_str())
            .find(|hex| hex.len() > 900)
            .unwrap();
        let block: Block = deserialize_hex(hex).unwrap();
        let header = header_json(&block.header, 1, 1, 2, 2, 0, None, None);
        let entry = block_json(header.clone(), &block, Network::Regtest, 3, None).unwrap();
        let txs = entry["tx"].as_array().unwrap();
        assert_eq!(txs.len(), 2);
        assert!(txs.iter().all(|tx| tx.get("fee").is_none()));
        assert_eq!(
            Value::Object(tx_json(&block.txdata[1], Network::Regtest)),
            txs[1]
        );
        // Undo data that does not fit the block is refused.
        assert!(block_json(header.clone(), &block, Network::Regtest, 2, Some(&[])).is_none());
        let short = vec![Vec::new()];
        assert!(block_json(header, &block, Network::Regtest, 2, Some(&short)).is_none());
    }

    fn asm(hex: &str) -> String {
        script_asm(&script(hex), false)
    }

    #[test]
    fn asm_follows_core() {
        assert_eq!(asm(""), "");
        assert_eq!(asm("5100"), "1 0");
        assert_eq!(asm("016600"), "102 0");
        assert_eq!(asm("0181"), "-1");
        assert_eq!(asm("0180"), "0");
        assert_eq!(asm("04ffffffff"), "-2147483647");
        assert_eq!(asm("04ffff001d"), "486604799");
        assert_eq!(asm("6a02ac01"), "OP_RETURN 428");
        assert_eq!(asm("4f50"), "-1 OP_RESERVED");
        assert_eq!(asm("4c0100"), "0");
        assert_eq!(asm("4d0500aabbccddee"), "aabbccddee");
        assert_eq!(asm("4e05000000aabbccddee"), "aabbccddee");
        assert_eq!(
            asm("ba bb fe ff".replace(' ', "").as_str()),
            "OP_CHECKSIGADD OP_UNKNOWN OP_UNKNOWN OP_INVALIDOPCODE"
        );
        assert_eq!(
            asm("b1b2b3b9"),
            "OP_CHECKLOCKTIMEVERIFY OP_CHECKSEQUENCEVERIFY OP_NOP4 OP_NOP10"
        );
        // Truncated pushes stop with [error].
        assert_eq!(asm("4c"), "[error]");
        assert_eq!(asm("51 05 aabb".replace(' ', "").as_str()), "1 [error]");
        assert_eq!(asm("514d01"), "1 [error]");
    }

    /// The signature and key of the recorded segwit spend (context.json).
    const SIG: &str = "3044022057541f75f29606cc0638a49ad2d38c52e7ebae4ed95b7e5c76f5c81d77e332bd0220123fdbd990cb819c4634cb518581bf96b7605d5238f0fdfaa9a39307f2ff902701";
    const KEY: &str = "037f126a65ff47086105c611002fe54a2bd550342b4de1b630dc1c03bcdf67a361";

    #[test]
    fn script_sig_asm_decodes_sighash() {
        let der = &SIG[..SIG.len() - 2];
        let p2pkh_sig = script(&format!("47{SIG}21{KEY}"));
        assert_eq!(script_asm(&p2pkh_sig, true), format!("{der}[ALL] {KEY}"));
        assert_eq!(script_asm(&p2pkh_sig, false), format!("{SIG} {KEY}"));
        for (byte, name) in [
            ("81", "ALL|ANYONECANPAY"),
            ("02", "NONE"),
            ("83", "SINGLE|ANYONECANPAY"),
        ] {
            let sig = script(&format!("47{der}{byte}"));
            assert_eq!(script_asm(&sig, true), format!("{der}[{name}]"));
        }
        // Undefined sighash types and non-DER data print as plain hex.
        let odd = script(&format!("47{der}04"));
        assert_eq!(script_asm(&odd, true), format!("{der}04"));
        let not_der = script(&format!("47{}01", &der.replacen("30", "31", 1)));
        assert_eq!(
            script_asm(&not_der, true),
            format!("{}01", &der.replacen("30", "31", 1))
        );
        // No decoding in unspendable scripts.
        let op_return = script(&format!("6a47{SIG}"));
        assert_eq!(script_asm(&op_return, true), format!("OP_RETURN {SIG}"));
        assert_eq!(
            script_sig_json(&p2pkh_sig),
            serde_json::json!({"asm": format!("{der}[ALL] {KEY}"), "hex": p2pkh_sig.to_hex_string()})
        );
    }

    fn spk(hex: &str) -> Value {
        script_pubkey_json(&script(hex), Network::Regtest)
    }

    fn check_spk(hex: &str, asm: &str, desc: &str, address: Option<&str>, kind: &str) {
        let mut expected = serde_json::json!({
            "asm": asm,
            "desc": descriptor_with_checksum(desc),
            "hex": hex,
            "type": kind,
        });
        if let Some(address) = address {
            expected["address"] = Value::from(address);
        }
        assert_same(hex, &spk(hex), &expected);
    }

    #[test]
    fn output_types_follow_core() {
        let h20 = "00112233445566778899aabbccddeeff00112233";
        let h32 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let addr = |hex: &str| {
            Address::from_script(&script(hex), Network::Regtest)
                .unwrap()
                .to_string()
        };
        // P2PKH and P2SH use testnet base58 prefixes on regtest.
        let p2pkh = format!("76a914{h20}88ac");
        let a = addr(&p2pkh);
        assert!(a.starts_with('m') || a.starts_with('n'));
        check_spk(
            &p2pkh,
            &format!("OP_DUP OP_HASH160 {h20} OP_EQUALVERIFY OP_CHECKSIG"),
            &format!("addr({a})"),
            Some(&a),
            "pubkeyhash",
        );
        let p2sh = format!("a914{h20}87");
        let a = addr(&p2sh);
        assert!(a.starts_with('2'));
        check_spk(
            &p2sh,
            &format!("OP_HASH160 {h20} OP_EQUAL"),
            &format!("addr({a})"),
            Some(&a),
            "scripthash",
        );
        let p2wsh = format!("0020{h32}");
        let a = addr(&p2wsh);
        assert!(a.starts_with("bcrt1q"));
        check_spk(
            &p2wsh,
            &format!("0 {h32}"),
            &format!("addr({a})"),
            Some(&a),
            "witness_v0_scripthash",
        );
        // Taproot: rawtr() when the key is on the curve, addr() otherwise.
        let g = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
        let p2tr = format!("5120{g}");
        let a = addr(&p2tr);
        assert!(a.starts_with("bcrt1p"));
        check_spk(
            &p2tr,
            &format!("1 {g}"),
            &format!("rawtr({g})"),
            Some(&a),
            "witness_v1_taproot",
        );
        let bad = "ff".repeat(32);
        let p2tr_bad = format!("5120{bad}");
        let a = addr(&p2tr_bad);
        check_spk(
            &p2tr_bad,
            &format!("1 {bad}"),
            &format!("addr({a})"),
            Some(&a),
            "witness_v1_taproot",
        );
        // Pay-to-anchor.
        assert_eq!(spk("51024e73")["desc"], "addr(bcrt1pfeesnyr2tx)#swxgse0y");
        check_spk(
            "51024e73",
            "1 29518",
            "addr(bcrt1pfeesnyr2tx)",
            Some("bcrt1pfeesnyr2tx"),
            "anchor",
        );
        // Unknown witness versions have (bech32m) addresses; odd v0 sizes are nonstandard.
        let a = addr("5202aabb");
        assert!(a.starts_with("bcrt1z"));
        check_spk(
            "5202aabb",
            "2 -15274",
            &format!("addr({a})"),
            Some(&a),
            "witness_unknown",
        );
        let v1_short = format!("5114{h20}");
        let a = addr(&v1_short);
        check_spk(
            &v1_short,
            &format!("1 {h20}"),
            &format!("addr({a})"),
            Some(&a),
            "witness_unknown",
        );
        let v0_odd = format!("0015{h20}ff");
        check_spk(
            &v0_odd,
            &format!("0 {h20}ff"),
            &format!("raw({v0_odd})"),
            None,
            "nonstandard",
        );
        // Bare keys: pk() unless hybrid.
        let p2pk = format!("21{KEY}ac");
        check_spk(
            &p2pk,
            &format!("{KEY} OP_CHECKSIG"),
            &format!("pk({KEY})"),
            None,
            "pubkey",
        );
        let hybrid = format!("06{}", "11".repeat(64));
        let p2pk_hybrid = format!("41{hybrid}ac");
        check_spk(
            &p2pk_hybrid,
            &format!("{hybrid} OP_CHECKSIG"),
            &format!("raw({p2pk_hybrid})"),
            None,
            "pubkey",
        );
        // A 33-byte key with an uncompressed header is not a key.
        let not_key = format!("04{}", "11".repeat(32));
        let p2pk_bad = format!("21{not_key}ac");
        check_spk(
            &p2pk_bad,
            &format!("{not_key} OP_CHECKSIG"),
            &format!("raw({p2pk_bad})"),
            None,
            "nonstandard",
        );
        // Bare multisig.
        let key2 = format!("02{}", "22".repeat(32));
        let multi = format!("5121{KEY}21{key2}52ae");
        check_spk(
            &multi,
            &format!("1 {KEY} {key2} 2 OP_CHECKMULTISIG"),
            &format!("multi(1,{KEY},{key2})"),
            None,
            "multisig",
        );
        let multi_hybrid = format!("5121{KEY}41{hybrid}52ae");
        check_spk(
            &multi_hybrid,
            &format!("1 {KEY} {hybrid} 2 OP_CHECKMULTISIG"),
            &format!("raw({multi_hybrid})"),
            None,
            "multisig",
        );
        // m > n, and trailing bytes, are not multisig.
        let multi_bad = format!("5221{KEY}51ae");
        check_spk(
            &multi_bad,
            &format!("2 {KEY} 1 OP_CHECKMULTISIG"),
            &format!("raw({multi_bad})"),
            None,
            "nonstandard",
        );
        // OP_RETURN: pushes only (small-number opcodes count as pushes).
        check_spk("6a", "OP_RETURN", "raw(6a)", None, "nulldata");
        check_spk(
            "6a510102",
            "OP_RETURN 1 2",
            "raw(6a510102)",
            None,
            "nulldata",
        );
        check_spk("6a61", "OP_RETURN OP_NOP", "raw(6a61)", None, "nonstandard");
        check_spk(
            "6a4c",
            "OP_RETURN [error]",
            "raw(6a4c)",
            None,
            "nonstandard",
        );
        check_spk("", "", "raw()", None, "nonstandard");
    }

    #[test]
    fn numbers_follow_core() {
        assert_eq!(
            btc_value(Amount::from_sat(4_899_997_180)),
            Value::from(48.9999718)
        );
        assert_eq!(btc_value(Amount::ZERO), Value::from(0.0));
        assert_eq!(btc_value(Amount::MAX_MONEY), Value::from(21_000_000.0));
        let regtest = CompactTarget::from_consensus(0x207f_ffff);
        assert_eq!(
            core_f64(difficulty(regtest)),
            Value::from("4.656542373906925e-10".parse::<f64>().unwrap())
        );
        assert_eq!(
            core_f64(difficulty(CompactTarget::from_consensus(0x1d00_ffff))),
            Value::from(1.0)
        );
        assert_eq!(core_f64(f64::INFINITY), Value::Null);
        assert_eq!(target_hex(regtest), format!("7fffff{}", "0".repeat(58)));
        assert_eq!(
            target_hex(CompactTarget::from_consensus(0x1d00_ffff)),
            format!("00000000ffff{}", "0".repeat(52))
        );
        assert_eq!(
            target_hex(CompactTarget::from_consensus(0x0212_3456)),
            format!("{}1234", "0".repeat(60))
        );
        assert_eq!(chainwork_hex(0xce), format!("{}ce", "0".repeat(62)));
    }
}
