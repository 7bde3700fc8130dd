//! The `scriptPubKey` and `scriptSig` objects of Core's transaction JSON.

use bitcoin::hex::DisplayHex;
use bitcoin::{Network, Script};
use serde_json::{Map, Value};

use super::asm::script_asm;
use super::descriptor::{descriptor_with_checksum, infer_descriptor};
use super::solver::{address_of, solve};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bitcoin::{Address, ScriptBuf};

    use super::*;

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
}
