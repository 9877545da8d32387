//! RADIUS attributes: a type octet and up to 253 octets of value (RFC 2865 §5), with typed
//! constructors and readers for the value kinds the product writes and reads.

use std::net::Ipv4Addr;

/// The longest value an attribute can carry: its length octet counts the two header octets.
pub const MAX_VALUE_LEN: usize = 253;

/// Standard attribute types (RFC 2865, 2866, 2869, 5176) the product uses by number.
pub mod kind {
    /// User-Name (string).
    pub const USER_NAME: u8 = 1;
    /// User-Password (hidden with the shared secret, RFC 2865 §5.2).
    pub const USER_PASSWORD: u8 = 2;
    /// NAS-IP-Address (IPv4).
    pub const NAS_IP_ADDRESS: u8 = 4;
    /// NAS-Port (integer).
    pub const NAS_PORT: u8 = 5;
    /// Service-Type (integer).
    pub const SERVICE_TYPE: u8 = 6;
    /// Framed-IP-Address (IPv4).
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    /// Filter-Id (string).
    pub const FILTER_ID: u8 = 11;
    /// Reply-Message (string).
    pub const REPLY_MESSAGE: u8 = 18;
    /// State (octets).
    pub const STATE: u8 = 24;
    /// Class (octets).
    pub const CLASS: u8 = 25;
    /// Vendor-Specific (vendor id + vendor sub-attributes).
    pub const VENDOR_SPECIFIC: u8 = 26;
    /// Session-Timeout (integer, seconds).
    pub const SESSION_TIMEOUT: u8 = 27;
    /// Idle-Timeout (integer, seconds).
    pub const IDLE_TIMEOUT: u8 = 28;
    /// Called-Station-Id (string).
    pub const CALLED_STATION_ID: u8 = 30;
    /// Calling-Station-Id (string).
    pub const CALLING_STATION_ID: u8 = 31;
    /// NAS-Identifier (string).
    pub const NAS_IDENTIFIER: u8 = 32;
    /// Acct-Status-Type (integer: 1 Start, 2 Stop, 3 Interim-Update).
    pub const ACCT_STATUS_TYPE: u8 = 40;
    /// Acct-Session-Id (string).
    pub const ACCT_SESSION_ID: u8 = 44;
    /// Event-Timestamp (integer, seconds since the epoch).
    pub const EVENT_TIMESTAMP: u8 = 55;
    /// NAS-Port-Id (string).
    pub const NAS_PORT_ID: u8 = 87;
    /// Message-Authenticator (HMAC-MD5, RFC 2869 §5.14).
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
    /// Acct-Interim-Interval (integer, seconds).
    pub const ACCT_INTERIM_INTERVAL: u8 = 85;
    /// Framed-Pool (string).
    pub const FRAMED_POOL: u8 = 88;
    /// Error-Cause (integer, RFC 5176 §3.5).
    pub const ERROR_CAUSE: u8 = 101;
}

/// Vendor ids and vendor attribute types the product writes.
pub mod vendor {
    /// MikroTik's vendor id.
    pub const MIKROTIK: u32 = 14988;
    /// Mikrotik-Rate-Limit (string, e.g. `10M/20M`).
    pub const MIKROTIK_RATE_LIMIT: u8 = 8;
    /// Mikrotik-Address-List (string).
    pub const MIKROTIK_ADDRESS_LIST: u8 = 19;
    /// The Wi-Fi Alliance's WISPr vendor id.
    pub const WISPR: u32 = 14122;
    /// WISPr-Bandwidth-Max-Up (integer, bit/s).
    pub const WISPR_BANDWIDTH_MAX_UP: u8 = 7;
    /// WISPr-Bandwidth-Max-Down (integer, bit/s).
    pub const WISPR_BANDWIDTH_MAX_DOWN: u8 = 8;
}

/// One attribute: its type and its raw value (without the two header octets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute type (see [`kind`]).
    pub kind: u8,
    /// The value octets, as sent on the wire.
    pub value: Vec<u8>,
}

/// One vendor sub-attribute read out of a Vendor-Specific attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorAttribute<'a> {
    /// The SMI private enterprise number (e.g. [`vendor::MIKROTIK`]).
    pub vendor_id: u32,
    /// The vendor's attribute type.
    pub vendor_type: u8,
    /// The value octets.
    pub value: &'a [u8],
}

impl Attribute {
    /// An attribute with raw octets.
    pub fn new(kind: u8, value: impl Into<Vec<u8>>) -> Self {
        Self {
            kind,
            value: value.into(),
        }
    }

    /// A text attribute (UTF-8, no terminating NUL).
    pub fn string(kind: u8, value: &str) -> Self {
        Self::new(kind, value.as_bytes())
    }

    /// A 32-bit integer attribute (network byte order).
    pub fn integer(kind: u8, value: u32) -> Self {
        Self::new(kind, value.to_be_bytes())
    }

    /// An IPv4 address attribute.
    pub fn ipv4(kind: u8, value: Ipv4Addr) -> Self {
        Self::new(kind, value.octets())
    }

    /// A Vendor-Specific attribute holding one sub-attribute in the RFC 2865 §5.26 layout
    /// (vendor id, vendor type, vendor length, value). A value longer than 247 octets cannot
    /// fit; encoding the packet then reports the attribute as too long.
    pub fn vendor_specific(vendor_id: u32, vendor_type: u8, value: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(6 + value.len());
        bytes.extend_from_slice(&vendor_id.to_be_bytes());
        bytes.push(vendor_type);
        // A too-long value gets a wrapped length here, but the whole attribute is then over
        // 253 octets and the packet encoder refuses it, so the wrong octet is never sent.
        bytes.push((value.len() + 2) as u8);
        bytes.extend_from_slice(value);
        Self::new(kind::VENDOR_SPECIFIC, bytes)
    }

    /// A text Vendor-Specific attribute, e.g. `Mikrotik-Rate-Limit`.
    pub fn vendor_string(vendor_id: u32, vendor_type: u8, value: &str) -> Self {
        Self::vendor_specific(vendor_id, vendor_type, value.as_bytes())
    }

    /// An integer Vendor-Specific attribute, e.g. `WISPr-Bandwidth-Max-Down`.
    pub fn vendor_integer(vendor_id: u32, vendor_type: u8, value: u32) -> Self {
        Self::vendor_specific(vendor_id, vendor_type, &value.to_be_bytes())
    }

    /// The value as text, when it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }

    /// The value as a 32-bit integer, when it is exactly four octets.
    pub fn as_integer(&self) -> Option<u32> {
        let octets: [u8; 4] = self.value.as_slice().try_into().ok()?;
        Some(u32::from_be_bytes(octets))
    }

    /// The value as an IPv4 address, when it is exactly four octets.
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        let octets: [u8; 4] = self.value.as_slice().try_into().ok()?;
        Some(Ipv4Addr::from(octets))
    }

    /// The sub-attributes of a Vendor-Specific attribute. Empty for any other attribute; a
    /// malformed tail (a length that overruns the value) ends the list rather than failing,
    /// because vendors outside RFC 2865's suggested layout exist.
    pub fn vendor_attributes(&self) -> impl Iterator<Item = VendorAttribute<'_>> {
        let (vendor_id, mut rest) = match self.value.split_first_chunk::<4>() {
            Some((id, rest)) if self.kind == kind::VENDOR_SPECIFIC => {
                (u32::from_be_bytes(*id), rest)
            }
            _ => (0, &[][..]),
        };
        std::iter::from_fn(move || {
            let [vendor_type, length, ..] = *rest else {
                return None;
            };
            let length = usize::from(length);
            if length < 2 || length > rest.len() {
                rest = &[];
                return None;
            }
            let value = &rest[2..length];
            rest = &rest[length..];
            Some(VendorAttribute {
                vendor_id,
                vendor_type,
                value,
            })
        })
    }
}

impl<'a> VendorAttribute<'a> {
    /// The value as text, when it is valid UTF-8.
    pub fn as_str(self) -> Option<&'a str> {
        std::str::from_utf8(self.value).ok()
    }

    /// The value as a 32-bit integer, when it is exactly four octets.
    pub fn as_integer(self) -> Option<u32> {
        let octets: [u8; 4] = self.value.try_into().ok()?;
        Some(u32::from_be_bytes(octets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_read_back() {
        assert_eq!(
            Attribute::string(kind::USER_NAME, "alice").as_str(),
            Some("alice")
        );
        assert_eq!(
            Attribute::integer(kind::SESSION_TIMEOUT, 3600).as_integer(),
            Some(3600)
        );
        let ip = Ipv4Addr::new(100, 64, 0, 10);
        let attribute = Attribute::ipv4(kind::FRAMED_IP_ADDRESS, ip);
        assert_eq!(attribute.value, vec![100, 64, 0, 10]);
        assert_eq!(attribute.as_ipv4(), Some(ip));
        assert_eq!(
            Attribute::new(kind::CLASS, vec![1, 2, 3]).as_integer(),
            None
        );
    }

    #[test]
    fn a_mikrotik_rate_limit_has_the_rfc_2865_vendor_layout() {
        let attribute =
            Attribute::vendor_string(vendor::MIKROTIK, vendor::MIKROTIK_RATE_LIMIT, "10M/20M");
        assert_eq!(attribute.kind, 26);
        assert_eq!(
            attribute.value,
            [&[0, 0, 0x3a, 0x8c, 8, 9][..], b"10M/20M"].concat()
        );
        let subs: Vec<_> = attribute.vendor_attributes().collect();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].vendor_id, 14988);
        assert_eq!(subs[0].vendor_type, 8);
        assert_eq!(subs[0].as_str(), Some("10M/20M"));
    }

    #[test]
    fn several_sub_attributes_in_one_vendor_specific_are_all_read() {
        let mut value = 14122u32.to_be_bytes().to_vec();
        value.extend_from_slice(&[7, 6, 0, 0, 0x27, 0x10, 8, 6, 0, 0, 0x4e, 0x20]);
        let attribute = Attribute::new(kind::VENDOR_SPECIFIC, value);
        let read: Vec<_> = attribute
            .vendor_attributes()
            .map(|s| (s.vendor_type, s.as_integer()))
            .collect();
        assert_eq!(read, vec![(7, Some(10_000)), (8, Some(20_000))]);
    }

    #[test]
    fn malformed_vendor_specific_values_end_the_list_without_panicking() {
        for value in [
            vec![],
            vec![0, 0],
            vec![0, 0, 0x3a, 0x8c],
            vec![0, 0, 0x3a, 0x8c, 8],
            vec![0, 0, 0x3a, 0x8c, 8, 0],
            vec![0, 0, 0x3a, 0x8c, 8, 1, 0],
            vec![0, 0, 0x3a, 0x8c, 8, 200, 0],
        ] {
            let attribute = Attribute::new(kind::VENDOR_SPECIFIC, value);
            assert_eq!(attribute.vendor_attributes().count(), 0);
        }
        let not_a_vsa = Attribute::string(kind::USER_NAME, "xxxx\x08\x03a");
        assert_eq!(not_a_vsa.vendor_attributes().count(), 0);
    }
}
