//! Scripts as Core reads and prints them: one operation at a time (`GetScriptOp`), script
//! numbers, and the assembly (`asm`) of `scriptPubKey` and `scriptSig` objects.

use bitcoin::hex::DisplayHex;
use bitcoin::Script;

pub(super) const OP_PUSHDATA1: u8 = 0x4c;
pub(super) const OP_PUSHDATA2: u8 = 0x4d;
pub(super) const OP_PUSHDATA4: u8 = 0x4e;
pub(super) const OP_RETURN: u8 = 0x6a;
/// Core's `MAX_SCRIPT_SIZE`: longer scripts are unspendable.
const MAX_SCRIPT_SIZE: usize = 10_000;

/// Core's `GetScriptOp`: reads one operation at `*pc`, returning the opcode and its push
/// data (empty for non-push opcodes), or `None` when the script ends or a push runs past
/// the end.
pub(super) fn get_op<'a>(script: &'a [u8], pc: &mut usize) -> Option<(u8, &'a [u8])> {
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
pub(super) fn script_num(data: &[u8]) -> i64 {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bitcoin::ScriptBuf;

    use super::*;

    fn script(hex: &str) -> ScriptBuf {
        ScriptBuf::from_hex(hex).unwrap()
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
}
