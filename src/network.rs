//! The rules of routers and IP pools that the core applies and the REST document states,
//! in one place so the two cannot drift: the forms of IPv4 addresses, CIDR networks and
//! RADIUS secrets, and the bounds of the fields.

/// Shortest and longest name of a router or an IP pool, in characters once trimmed.
pub const NETWORK_NAME_LENGTH: (usize, usize) = (2, 64);
/// Longest router location, in characters once trimmed.
pub const LOCATION_MAX: usize = 255;
/// Shortest and longest RADIUS shared secret.
pub const RADIUS_SECRET_LENGTH: (usize, usize) = (8, 128);
/// The CoA/Disconnect port of a router that does not say (RFC 5176).
pub const DEFAULT_COA_PORT: i32 = 3799;
/// Most addresses one pool may exclude.
pub const EXCLUDED_MAX: usize = 1024;
/// Shortest and longest prefix of a pool's network.
pub const CIDR_PREFIX: (u8, u8) = (8, 32);

/// One octet of a dotted IPv4 address, without leading zeros (as `std` parses them).
const OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

/// A dotted IPv4 address as an ECMA-262 pattern (without anchors): four octets of 0-255
/// without leading zeros. [`is_ipv4`] accepts exactly what it matches.
pub fn ipv4_pattern() -> String {
    format!("({OCTET}\\.){{3}}{OCTET}")
}

/// An IPv4 network in CIDR notation whose host bits are all zero, with a prefix from /8 to
/// /32, as an ECMA-262 pattern (without anchors): per prefix, the octets the prefix covers
/// whole, then the one it cuts (a multiple of its block size), then zeros.
pub fn cidr_pattern() -> String {
    let (shortest, longest) = CIDR_PREFIX;
    let alternatives: Vec<String> = (shortest..=longest).map(cidr_alternative).collect();
    format!("({})", alternatives.join("|"))
}

fn cidr_alternative(prefix: u8) -> String {
    let whole = usize::from(prefix / 8);
    let cut = prefix % 8;
    let mut octets: Vec<String> = vec![OCTET.to_owned(); whole];
    if octets.len() < 4 && cut > 0 {
        let block = 1u16 << (8 - cut);
        let values: Vec<String> = (0..256u16)
            .step_by(usize::from(block))
            .map(|v| v.to_string())
            .collect();
        octets.push(format!("({})", values.join("|")));
    }
    while octets.len() < 4 {
        octets.push("0".to_owned());
    }
    format!("{}/{prefix}", octets.join("\\."))
}

/// A RADIUS shared secret as an ECMA-262 pattern (anchored): 8 to 128 printable ASCII
/// characters other than space, `"` and `'` (which break the FreeRADIUS and router
/// configuration files the secret is written into). [`is_radius_secret`] accepts exactly
/// what it matches.
pub const RADIUS_SECRET_PATTERN: &str = "^[!#-&(-~]{8,128}$";

/// Whether `text` is a dotted IPv4 address of [`ipv4_pattern`]'s form.
pub fn is_ipv4(text: &str) -> bool {
    text.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Whether `text` is a RADIUS secret of [`RADIUS_SECRET_PATTERN`]'s form.
pub fn is_radius_secret(text: &str) -> bool {
    let (min, max) = RADIUS_SECRET_LENGTH;
    (min..=max).contains(&text.len()) && text.bytes().all(is_secret_byte)
}

/// A printable ASCII byte other than space and the two quotes.
pub fn is_secret_byte(b: u8) -> bool {
    (b'!'..=b'~').contains(&b) && b != b'"' && b != b'\''
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cidr_pattern_covers_every_prefix_with_its_block_sizes() {
        assert_eq!(
            cidr_alternative(32),
            format!("{OCTET}\\.{OCTET}\\.{OCTET}\\.{OCTET}/32")
        );
        assert_eq!(cidr_alternative(8), format!("{OCTET}\\.0\\.0\\.0/8"));
        assert_eq!(
            cidr_alternative(30),
            format!(
                "{OCTET}\\.{OCTET}\\.{OCTET}\\.({})/30",
                (0..64)
                    .map(|n| (n * 4).to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            )
        );
        assert_eq!(cidr_alternative(9), format!("{OCTET}\\.(0|128)\\.0\\.0/9"));
        assert_eq!(cidr_pattern().matches("/").count(), 25);
    }

    #[test]
    fn secrets_are_printable_ascii_without_spaces_or_quotes() {
        assert!(is_radius_secret("s3cr3t-Key!"));
        assert!(is_radius_secret(&"x".repeat(128)));
        for bad in [
            "short",
            "with space",
            "quote\"here",
            "quote'here",
            "tab\there1",
            "ünïcödé-secret",
        ] {
            assert!(!is_radius_secret(bad), "{bad}");
        }
        assert!(!is_radius_secret(&"x".repeat(129)));
        // The pattern's ranges are the same bytes.
        let allowed: Vec<u8> = (0..=255u8).filter(|b| is_secret_byte(*b)).collect();
        let from_pattern: Vec<u8> = (b'!'..=b'!')
            .chain(b'#'..=b'&')
            .chain(b'('..=b'~')
            .collect();
        assert_eq!(allowed, from_pattern);
    }

    #[test]
    fn ipv4_addresses_are_dotted_quads_without_leading_zeros() {
        assert!(is_ipv4("10.0.0.1"));
        assert!(is_ipv4("255.255.255.255"));
        for bad in ["01.2.3.4", "1.2.3", "1.2.3.256", " 1.2.3.4", "::1", ""] {
            assert!(!is_ipv4(bad), "{bad}");
        }
    }
}
