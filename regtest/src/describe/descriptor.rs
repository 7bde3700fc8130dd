//! Output descriptors as node RPCs print them: Core's `InferDescriptor` without signing
//! data, and BIP-380's descriptor checksum.

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::{Address, Script};

use super::solver::{pubkey_non_hybrid, Template};

/// Core's `InferDescriptor` with no signing data (what node RPCs print), without the
/// checksum: `pk(<key>)` for bare keys, `multi(<m>,<key>,…)` for bare multisig,
/// `rawtr(<x-only key>)` for taproot outputs whose key is on the curve, `addr(<address>)`
/// for other scripts with an address, `raw(<hex>)` for everything else (including bare
/// keys or multisig with hybrid keys).
pub(super) fn infer_descriptor(
    script: &Script,
    template: &Template<'_>,
    address: Option<&Address>,
) -> String {
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
