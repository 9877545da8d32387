//! The dictionary used where FreeRADIUS's files are missing: the RFC 2865/2869 reply
//! attributes, the FreeRADIUS check attributes the product writes, and the MikroTik and
//! WISPr vendor attributes, with the numbers and types of FreeRADIUS 3.2's dictionaries.

use super::{AttributeDef, AttributeType, Dictionary, VendorDef};
use crate::radius::vendor;

use AttributeType as T;

/// Name, number, type, and the named values an integer may be given by.
type Entry = (&'static str, u32, AttributeType, &'static [&'static str]);

const STANDARD: &[Entry] = &[
    ("User-Name", 1, T::String, &[]),
    (
        "Service-Type",
        6,
        T::Integer,
        &[
            "Login-User",
            "Framed-User",
            "Callback-Login-User",
            "Callback-Framed-User",
            "Outbound-User",
            "Administrative-User",
            "NAS-Prompt-User",
            "Authenticate-Only",
            "Callback-NAS-Prompt",
            "Call-Check",
            "Callback-Administrative",
        ],
    ),
    (
        "Framed-Protocol",
        7,
        T::Integer,
        &[
            "PPP",
            "SLIP",
            "ARAP",
            "Gandalf-SLML",
            "Xylogics-IPX-SLIP",
            "X.75-Synchronous",
        ],
    ),
    ("Framed-IP-Address", 8, T::IpAddr, &[]),
    ("Framed-IP-Netmask", 9, T::IpAddr, &[]),
    (
        "Framed-Routing",
        10,
        T::Integer,
        &["None", "Broadcast", "Listen", "Broadcast-Listen"],
    ),
    ("Filter-Id", 11, T::String, &[]),
    ("Framed-MTU", 12, T::Integer, &[]),
    (
        "Framed-Compression",
        13,
        T::Integer,
        &[
            "None",
            "Van-Jacobson-TCP-IP",
            "IPX-Header-Compression",
            "Stac-LZS",
        ],
    ),
    ("Reply-Message", 18, T::String, &[]),
    ("Callback-Number", 19, T::String, &[]),
    ("Callback-Id", 20, T::String, &[]),
    ("Framed-Route", 22, T::String, &[]),
    ("Class", 25, T::Octets, &[]),
    ("Session-Timeout", 27, T::Integer, &[]),
    ("Idle-Timeout", 28, T::Integer, &[]),
    (
        "Termination-Action",
        29,
        T::Integer,
        &["Default", "RADIUS-Request"],
    ),
    ("Port-Limit", 62, T::Integer, &[]),
    ("Acct-Interim-Interval", 85, T::Integer, &[]),
    ("Framed-Pool", 88, T::String, &[]),
    // FreeRADIUS's own check attributes (dictionary.freeradius.internal).
    (
        "Auth-Type",
        1000,
        T::Integer,
        &["Local", "Reject", "Accept"],
    ),
    ("Simultaneous-Use", 1034, T::Integer, &[]),
    ("Cleartext-Password", 1100, T::String, &[]),
];

const MIKROTIK: &[Entry] = &[
    (
        "Mikrotik-Rate-Limit",
        vendor::MIKROTIK_RATE_LIMIT as u32,
        T::String,
        &[],
    ),
    (
        "Mikrotik-Address-List",
        vendor::MIKROTIK_ADDRESS_LIST as u32,
        T::String,
        &[],
    ),
];

const WISPR: &[Entry] = &[
    (
        "WISPr-Bandwidth-Max-Up",
        vendor::WISPR_BANDWIDTH_MAX_UP as u32,
        T::Integer,
        &[],
    ),
    (
        "WISPr-Bandwidth-Max-Down",
        vendor::WISPR_BANDWIDTH_MAX_DOWN as u32,
        T::Integer,
        &[],
    ),
];

pub(super) fn dictionary() -> Dictionary {
    let mut dictionary = Dictionary::default();
    let groups = [
        (STANDARD, None),
        (MIKROTIK, Some(("Mikrotik", vendor::MIKROTIK))),
        (WISPR, Some(("WISPr", vendor::WISPR))),
    ];
    for (entries, vendor) in groups {
        for (name, number, kind, values) in entries {
            let def = AttributeDef {
                name: (*name).to_owned(),
                number: Some(*number),
                kind: *kind,
                vendor: vendor.map(|(name, id)| VendorDef {
                    name: name.to_owned(),
                    id,
                }),
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            };
            dictionary.attributes.insert(name.to_ascii_lowercase(), def);
        }
    }
    dictionary
}
