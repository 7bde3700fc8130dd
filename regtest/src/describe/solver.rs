//! Output scripts classified as Core's `Solver` does: which standard template a script
//! matches (P2PKH, P2SH, segwit, taproot, bare keys and multisig, `OP_RETURN`, anchors),
//! which gives its `type`, whether it has an `address`, and what its descriptor is.

use bitcoin::{Address, Network, Script};

use super::asm::{get_op, script_num, OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4, OP_RETURN};

const OP_0: u8 = 0x00;
const OP_1: u8 = 0x51;
const OP_16: u8 = 0x60;
const OP_DUP: u8 = 0x76;
const OP_EQUAL: u8 = 0x87;
const OP_EQUALVERIFY: u8 = 0x88;
const OP_HASH160: u8 = 0xa9;
const OP_CHECKSIG: u8 = 0xac;
const OP_CHECKMULTISIG: u8 = 0xae;
/// Core's `MAX_PUBKEYS_PER_MULTISIG`.
const MAX_PUBKEYS_PER_MULTISIG: i64 = 20;

/// An output script's template, as Core's `Solver` finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Template<'a> {
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
    pub(super) fn type_name(&self) -> &'static str {
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
pub(super) fn pubkey_non_hybrid(key: &[u8]) -> bool {
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
pub(super) fn solve(script: &[u8]) -> Template<'_> {
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
pub(super) fn address_of(
    script: &Script,
    template: &Template<'_>,
    network: Network,
) -> Option<Address> {
    if !template.has_address() {
        return None;
    }
    Address::from_script(script, network).ok()
}
