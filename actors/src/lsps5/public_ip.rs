//! Which addresses a webhook may reach: public unicast only, so a client cannot aim the
//! LSP's POSTs at its own network (SSRF). Every range in IANA's special-purpose address
//! registries is refused, whether or not the registry calls it globally reachable, and so
//! is every IPv6 form that carries an IPv4 address (mapped, compatible, NAT64, 6to4,
//! Teredo), since the host behind it could be anywhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IANA IPv4 Special-Purpose Address Registry, plus multicast (224.0.0.0/4).
const REFUSED_V4: [(Ipv4Addr, u8); 20] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),          // "this network" (RFC 791)
    (Ipv4Addr::new(10, 0, 0, 0), 8),         // private (RFC 1918)
    (Ipv4Addr::new(100, 64, 0, 0), 10),      // shared address space (RFC 6598)
    (Ipv4Addr::new(127, 0, 0, 0), 8),        // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),     // link-local
    (Ipv4Addr::new(172, 16, 0, 0), 12),      // private (RFC 1918)
    (Ipv4Addr::new(192, 0, 0, 0), 24),       // IETF protocol assignments (RFC 6890)
    (Ipv4Addr::new(192, 0, 2, 0), 24),       // documentation TEST-NET-1
    (Ipv4Addr::new(192, 31, 196, 0), 24),    // AS112-v4 (RFC 7535)
    (Ipv4Addr::new(192, 52, 193, 0), 24),    // AMT (RFC 7450)
    (Ipv4Addr::new(192, 88, 99, 0), 24),     // deprecated 6to4 relay anycast (RFC 7526)
    (Ipv4Addr::new(192, 168, 0, 0), 16),     // private (RFC 1918)
    (Ipv4Addr::new(192, 175, 48, 0), 24),    // direct delegation AS112 (RFC 7534)
    (Ipv4Addr::new(198, 18, 0, 0), 15),      // benchmarking (RFC 2544)
    (Ipv4Addr::new(198, 51, 100, 0), 24),    // documentation TEST-NET-2
    (Ipv4Addr::new(203, 0, 113, 0), 24),     // documentation TEST-NET-3
    (Ipv4Addr::new(224, 0, 0, 0), 4),        // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),        // reserved (RFC 1112)
    (Ipv4Addr::new(255, 255, 255, 255), 32), // limited broadcast
    (Ipv4Addr::new(0, 0, 0, 0), 32),         // unspecified (inside 0/8; named for clarity)
];

/// IANA IPv6 Special-Purpose Address Registry, plus multicast, site-local and the IPv6
/// forms that embed an IPv4 address.
const REFUSED_V6: [(Ipv6Addr, u8); 19] = [
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96), // ::, ::1 and IPv4-compatible (RFC 4291)
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96), // IPv4-mapped
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96), // NAT64 well-known (RFC 6052)
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // NAT64 local-use (RFC 8215)
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64), // discard-only (RFC 6666)
    (Ipv6Addr::new(0x100, 0, 0, 1, 0, 0, 0, 0), 64), // dummy IPv6 prefix (RFC 9780)
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments, Teredo
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation (RFC 3849)
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), // 6to4 (RFC 3056)
    (Ipv6Addr::new(0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0), 48), // direct delegation AS112
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16), // segment routing SIDs (RFC 9602)
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7), // unique local (RFC 4193)
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), // link-local unicast
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10), // site-local, deprecated (RFC 3879)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8), // multicast
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1), 128), // loopback (inside ::/96; named)
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 128), // unspecified (inside ::/96; named)
    (Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96), // IPv4-translated (RFC 2765)
];

/// Whether `address` lies in `base/len`.
fn within(address: u128, base: u128, len: u8, bits: u32) -> bool {
    let shift = bits - u32::from(len);
    len == 0 || address >> shift == base >> shift
}

/// Whether a webhook may be sent to `ip`: it lies in none of the refused ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !REFUSED_V4
            .iter()
            .any(|(base, len)| within(u32::from(v4).into(), u32::from(*base).into(), *len, 32)),
        IpAddr::V6(v6) => !REFUSED_V6
            .iter()
            .any(|(base, len)| within(u128::from(v6), u128::from(*base), *len, 128)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IANA's special-purpose registries as published (address block, one address
    /// inside it), written out apart from the tables above, plus the IPv6 forms that
    /// carry an IPv4 address. Before this module, the NAT64, 6to4, Teredo, IPv4-compatible
    /// and most IETF-assignment rows were taken as public.
    const REGISTRY: &[(&str, &str)] = &[
        ("0.0.0.0/8", "0.1.2.3"),
        ("10.0.0.0/8", "10.255.255.255"),
        ("100.64.0.0/10", "100.127.255.254"),
        ("127.0.0.0/8", "127.0.0.1"),
        ("169.254.0.0/16", "169.254.169.254"),
        ("172.16.0.0/12", "172.31.0.1"),
        ("192.0.0.0/24", "192.0.0.9"),
        ("192.0.0.0/29", "192.0.0.1"),
        ("192.0.0.170/32", "192.0.0.170"),
        ("192.0.2.0/24", "192.0.2.1"),
        ("192.31.196.0/24", "192.31.196.1"),
        ("192.52.193.0/24", "192.52.193.1"),
        ("192.88.99.0/24", "192.88.99.1"),
        ("192.168.0.0/16", "192.168.1.1"),
        ("192.175.48.0/24", "192.175.48.1"),
        ("198.18.0.0/15", "198.19.255.255"),
        ("198.51.100.0/24", "198.51.100.7"),
        ("203.0.113.0/24", "203.0.113.7"),
        ("240.0.0.0/4", "250.1.2.3"),
        ("255.255.255.255/32", "255.255.255.255"),
        ("224.0.0.0/4 multicast", "239.255.255.250"),
        ("::1/128", "::1"),
        ("::/128", "::"),
        ("::ffff:0:0/96", "::ffff:127.0.0.1"),
        ("::ffff:0:0/96 of a public IPv4", "::ffff:1.1.1.1"),
        ("::/96 IPv4-compatible", "::10.0.0.1"),
        ("64:ff9b::/96", "64:ff9b::7f00:1"),
        ("64:ff9b:1::/48", "64:ff9b:1::a00:1"),
        ("100::/64", "100::1"),
        ("100:0:0:1::/64", "100:0:0:1::1"),
        ("2001::/23", "2001:1::1"),
        ("2001::/32 Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
        ("2001:2::/48", "2001:2::1"),
        ("2001:20::/28", "2001:20::1"),
        ("2001:db8::/32", "2001:db8::1"),
        ("2002::/16", "2002:7f00:1::1"),
        ("2620:4f:8000::/48", "2620:4f:8000::1"),
        ("3fff::/20", "3fff:fff::1"),
        ("5f00::/16", "5f00::1"),
        ("fc00::/7", "fd12:3456::1"),
        ("fe80::/10", "febf::1"),
        ("fec0::/10 site-local", "fec0::1"),
        ("ff00::/8 multicast", "ff02::1"),
    ];

    #[test]
    fn every_special_purpose_address_is_refused() {
        for (block, inside) in REGISTRY {
            let ip: IpAddr = inside.parse().expect("an address");
            assert!(!is_public(ip), "{inside} ({block}) was taken as public");
        }
    }

    #[test]
    fn public_unicast_addresses_are_allowed() {
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.0",
            "192.0.1.0",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700::1111",
            "2001:200::1",
            "2003::1",
            "2620:4f:8001::1",
        ];
        for address in public {
            assert!(is_public(address.parse().expect("an address")), "{address}");
        }
    }
}
