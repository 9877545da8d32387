//! IPv4 networks: parsing a pool's CIDR (a network address only, /8 to /32) and the
//! addresses it can hand out. Up to /30 the first address names the network and the last
//! is its broadcast, so neither is a host; a /31 (RFC 3021, point-to-point) and a /32 have
//! no such addresses and every address is a host.

use std::fmt;
use std::net::Ipv4Addr;

use lastmile_proto::CIDR_PREFIX;

/// An IPv4 network with no host bits set, prefix /8 to /32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u32,
    prefix: u8,
}

impl Cidr {
    /// Reads `10.0.0.0/24` (surrounding white space ignored), or says what is wrong with it
    /// in the contract's words.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let form =
            || "The cidr must be an IPv4 network in CIDR notation, e.g. 10.0.0.0/24.".to_owned();
        let (address, prefix) = text.trim().split_once('/').ok_or_else(form)?;
        let address: Ipv4Addr = address.parse().map_err(|_| form())?;
        let canonical = prefix == "0" || (!prefix.starts_with('0') && prefix.len() <= 2);
        if !canonical || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(form());
        }
        let prefix: u8 = prefix.parse().map_err(|_| form())?;
        let (shortest, longest) = CIDR_PREFIX;
        if !(shortest..=longest).contains(&prefix) {
            return Err(format!(
                "The cidr prefix must be between /{shortest} and /{longest}."
            ));
        }
        let bits = u32::from(address);
        let cidr = Cidr {
            network: bits & mask(prefix),
            prefix,
        };
        if cidr.network != bits {
            return Err(format!("The cidr must be a network address, e.g. {cidr}."));
        }
        Ok(cidr)
    }

    /// The prefix length.
    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// The first address of the network.
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    /// The last address of the network (its broadcast up to /30).
    pub fn last(self) -> Ipv4Addr {
        Ipv4Addr::from(self.network | !mask(self.prefix))
    }

    /// Whether `address` is inside the network.
    pub fn contains(self, address: Ipv4Addr) -> bool {
        u32::from(address) & mask(self.prefix) == self.network
    }

    /// Whether `address` is a host of the network: inside it, and up to /30 neither the
    /// network nor the broadcast address.
    pub fn is_host(self, address: Ipv4Addr) -> bool {
        self.contains(address)
            && (self.prefix >= 31 || (address != self.network() && address != self.last()))
    }

    /// The hosts, lowest first.
    pub fn hosts(self) -> impl Iterator<Item = Ipv4Addr> {
        let (first, last) = if self.prefix >= 31 {
            (self.network, u32::from(self.last()))
        } else {
            (self.network + 1, u32::from(self.last()) - 1)
        };
        (first..=last).map(Ipv4Addr::from)
    }

    /// How many hosts the network has.
    pub fn host_count(self) -> i64 {
        let size = 1i64 << (32 - u32::from(self.prefix));
        if self.prefix >= 31 { size } else { size - 2 }
    }
}

impl Default for Cidr {
    /// `0.0.0.0/32`: the placeholder of a pool whose network is not read yet (a create
    /// without a valid cidr fails before anything reads it).
    fn default() -> Self {
        Cidr {
            network: 0,
            prefix: 32,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

/// The netmask of a prefix (`prefix` is 8 to 32 once parsed; anything larger is /32).
fn mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

/// Reads a dotted IPv4 address (surrounding white space ignored).
pub fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        Cidr::parse(text).unwrap()
    }

    #[test]
    fn only_network_addresses_with_a_prefix_from_8_to_32_are_networks() {
        assert_eq!(cidr(" 10.0.0.0/24 ").to_string(), "10.0.0.0/24");
        assert_eq!(cidr("10.0.0.7/32").to_string(), "10.0.0.7/32");
        assert_eq!(
            Cidr::parse("10.0.0.1/24").unwrap_err(),
            "The cidr must be a network address, e.g. 10.0.0.0/24."
        );
        assert_eq!(
            Cidr::parse("192.168.1.77/26").unwrap_err(),
            "The cidr must be a network address, e.g. 192.168.1.64/26."
        );
        for prefix in ["0", "7", "33"] {
            assert_eq!(
                Cidr::parse(&format!("10.0.0.0/{prefix}")).unwrap_err(),
                "The cidr prefix must be between /8 and /32.",
                "{prefix}"
            );
        }
        for bad in [
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/024",
            "10.0.0/24",
            "10.0.0.0/2a",
            "010.0.0.0/24",
            "10.0.0.0/+8",
            "x/24",
            "",
        ] {
            assert_eq!(
                Cidr::parse(bad).unwrap_err(),
                "The cidr must be an IPv4 network in CIDR notation, e.g. 10.0.0.0/24.",
                "{bad}"
            );
        }
    }

    #[test]
    fn hosts_leave_out_network_and_broadcast_up_to_30() {
        let net = cidr("10.0.0.0/30");
        let hosts: Vec<String> = net.hosts().map(|a| a.to_string()).collect();
        assert_eq!(hosts, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(net.host_count(), 2);
        assert!(!net.is_host("10.0.0.0".parse().unwrap()));
        assert!(!net.is_host("10.0.0.3".parse().unwrap()));
        let p2p = cidr("10.0.0.0/31");
        assert_eq!(p2p.hosts().count(), 2);
        assert_eq!(p2p.host_count(), 2);
        assert!(p2p.is_host("10.0.0.0".parse().unwrap()));
        let single = cidr("10.0.0.9/32");
        assert_eq!(
            single.hosts().collect::<Vec<_>>(),
            [Ipv4Addr::new(10, 0, 0, 9)]
        );
        assert_eq!(cidr("10.0.0.0/25").host_count(), 126);
        assert_eq!(cidr("10.0.0.0/8").host_count(), 16_777_214);
        assert!(!cidr("10.0.0.0/24").contains("10.0.1.0".parse().unwrap()));
        assert_eq!(cidr("255.255.255.0/24").last(), Ipv4Addr::BROADCAST);
    }
}
