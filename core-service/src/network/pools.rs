//! IP pools: their types and the rules of their fields. A pool's gateway and excluded
//! addresses lie inside its network; the rules that depend on stored data (a taken name,
//! an unknown router, addresses in use) are checked by `pool_service`.

use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1::IpPoolKind;
use serde_json::{Map, Value, json};

use super::address::{Cidr, parse_ipv4};
use super::allocation::Usage;
use crate::error::FieldErrors;

/// Every writable field, as update masks name them.
pub(super) const FIELDS: &[&str] = &["name", "cidr", "gateway", "router_id", "kind", "excluded"];

/// The writable fields of a pool, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolFields {
    /// 2-64 characters, trimmed; unique ignoring case.
    pub name: String,
    /// The network.
    pub cidr: Cidr,
    /// The subscribers' gateway: a host of the network.
    pub gateway: Option<Ipv4Addr>,
    /// The router serving the pool.
    pub router_id: Option<i64>,
    /// Static or dynamic.
    pub kind: IpPoolKind,
    /// Addresses of the network never handed out, ascending, each once.
    pub excluded: Vec<Ipv4Addr>,
}

impl PoolFields {
    /// Whether `address` may be handed out: a host of the network that is neither the
    /// gateway nor excluded.
    pub fn hands_out(&self, address: Ipv4Addr) -> bool {
        self.cidr.is_host(address)
            && self.gateway != Some(address)
            && self.excluded.binary_search(&address).is_err()
    }

    /// How many addresses the pool can hand out.
    pub fn capacity(&self) -> i64 {
        let reserved = self
            .gateway
            .iter()
            .chain(self.excluded.iter().filter(|a| self.gateway != Some(**a)))
            .filter(|a| self.cidr.is_host(**a))
            .count();
        self.cidr.host_count() - i64::try_from(reserved).unwrap_or(i64::MAX)
    }
}

/// An IP pool as stored, with its usage when it is static.
#[derive(Debug, Clone, PartialEq)]
pub struct IpPool {
    /// Id.
    pub id: i64,
    /// The writable fields.
    pub fields: PoolFields,
    /// What a static pool's addresses are doing; none for a dynamic pool.
    pub usage: Option<Usage>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl IpPool {
    /// The pool's fields as the audit log records them.
    pub fn audit_view(&self) -> Map<String, Value> {
        let f = &self.fields;
        let value = json!({
            "name": f.name,
            "cidr": f.cidr.to_string(),
            "gateway": f.gateway.map(|g| g.to_string()),
            "router_id": f.router_id,
            "kind": f.kind.rest_name(),
            "excluded": excluded_texts(&f.excluded),
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// The excluded addresses as text, ascending.
pub(super) fn excluded_texts(excluded: &[Ipv4Addr]) -> Vec<String> {
    excluded.iter().map(Ipv4Addr::to_string).collect()
}

/// A pool as a client sent it; only the fields an update names are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpPoolInput {
    /// Name.
    pub name: String,
    /// `10.0.0.0/24`.
    pub cidr: String,
    /// Dotted IPv4 address (absent or blank: none).
    pub gateway: Option<String>,
    /// Router id (absent: none).
    pub router_id: Option<i64>,
    /// A wire number of `IpPoolKind` (0: not given).
    pub kind: i32,
    /// Dotted IPv4 addresses.
    pub excluded: Vec<String>,
}

/// The fields of `input` that `chosen` names, over `current` (a create starts empty);
/// every broken rule is in `errors`. The gateway and the excluded addresses are checked
/// against the network the pool will have, when that network is valid.
pub(super) fn apply(
    input: &IpPoolInput,
    chosen: &[&str],
    current: Option<&PoolFields>,
    errors: &mut FieldErrors,
) -> PoolFields {
    let mut fields = current.cloned().unwrap_or(PoolFields {
        name: String::new(),
        cidr: Cidr::default(),
        gateway: None,
        router_id: None,
        kind: IpPoolKind::Unspecified,
        excluded: Vec::new(),
    });
    let pick = |field: &str| chosen.contains(&field);
    if pick("name") {
        match super::name(&input.name) {
            Ok(name) => fields.name = name,
            Err(message) => errors.add("name", message),
        }
    }
    let mut network_known = current.is_some();
    if pick("cidr") {
        network_known = false;
        if input.cidr.trim().is_empty() {
            errors.add("cidr", "The cidr field is required.");
        } else {
            match Cidr::parse(&input.cidr) {
                Ok(cidr) => {
                    fields.cidr = cidr;
                    network_known = true;
                }
                Err(message) => errors.add("cidr", message),
            }
        }
    }
    if pick("kind") {
        match IpPoolKind::try_from(input.kind) {
            Ok(IpPoolKind::Unspecified) => errors.add("kind", "The kind field is required."),
            Ok(kind) => fields.kind = kind,
            Err(_) => errors.add("kind", "The selected kind is invalid."),
        }
    }
    if pick("router_id") {
        match input.router_id {
            Some(id) if id <= 0 => errors.add("router_id", "The selected router id is invalid."),
            other => fields.router_id = other,
        }
    }
    // A new network moves the gateway and the excluded addresses with it: the stored ones
    // are checked again even when the update does not name them.
    if pick("gateway") || (pick("cidr") && current.is_some()) {
        let raw = if pick("gateway") {
            input.gateway.clone()
        } else {
            fields.gateway.map(|g| g.to_string())
        };
        fields.gateway = gateway(raw.as_deref(), &fields.cidr, network_known, errors);
    }
    if pick("excluded") || (pick("cidr") && current.is_some()) {
        let raw = if pick("excluded") {
            input.excluded.clone()
        } else {
            excluded_texts(&fields.excluded)
        };
        fields.excluded = excluded(&raw, &fields.cidr, network_known, errors);
    }
    fields
}

fn gateway(
    raw: Option<&str>,
    cidr: &Cidr,
    network_known: bool,
    errors: &mut FieldErrors,
) -> Option<Ipv4Addr> {
    let raw = raw.map(str::trim).filter(|g| !g.is_empty())?;
    let Some(address) = parse_ipv4(raw) else {
        errors.add("gateway", "The gateway must be a valid IPv4 address.");
        return None;
    };
    if !network_known {
        return Some(address);
    }
    if !cidr.contains(address) {
        errors.add("gateway", format!("The gateway must be inside {cidr}."));
    } else if !cidr.is_host(address) {
        errors.add(
            "gateway",
            format!("The gateway may not be the network or broadcast address of {cidr}."),
        );
    }
    Some(address)
}

fn excluded(
    raw: &[String],
    cidr: &Cidr,
    network_known: bool,
    errors: &mut FieldErrors,
) -> Vec<Ipv4Addr> {
    let max = lastmile_proto::EXCLUDED_MAX;
    if raw.len() > max {
        errors.add(
            "excluded",
            format!("The excluded field may not list more than {max} addresses."),
        );
        return Vec::new();
    }
    let mut addresses = Vec::with_capacity(raw.len());
    for text in raw {
        match parse_ipv4(text) {
            None => errors.add(
                "excluded",
                format!(
                    "The excluded entry \"{}\" is not a valid IPv4 address.",
                    text.trim()
                ),
            ),
            Some(address) if network_known && !cidr.contains(address) => errors.add(
                "excluded",
                format!("The excluded address {address} is outside {cidr}."),
            ),
            Some(address) => addresses.push(address),
        }
    }
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> IpPoolInput {
        IpPoolInput {
            name: "Residential".into(),
            cidr: "10.0.0.0/24".into(),
            gateway: Some("10.0.0.1".into()),
            router_id: Some(3),
            kind: IpPoolKind::Static as i32,
            excluded: vec!["10.0.0.10".into(), "10.0.0.5".into(), "10.0.0.5".into()],
        }
    }

    fn check(input: &IpPoolInput) -> (PoolFields, FieldErrors) {
        let mut errors = FieldErrors::new();
        let fields = apply(input, FIELDS, None, &mut errors);
        (fields, errors)
    }

    #[test]
    fn a_complete_pool_passes_with_its_exclusions_sorted_once() {
        let (fields, errors) = check(&input());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(excluded_texts(&fields.excluded), ["10.0.0.5", "10.0.0.10"]);
        // 254 hosts less the gateway and two exclusions.
        assert_eq!(fields.capacity(), 251);
        assert!(!fields.hands_out("10.0.0.1".parse().unwrap()));
        assert!(!fields.hands_out("10.0.0.5".parse().unwrap()));
        assert!(fields.hands_out("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn gateway_and_exclusions_must_lie_inside_the_network() {
        let bad = IpPoolInput {
            gateway: Some("10.0.1.1".into()),
            excluded: vec!["10.9.9.9".into(), "abc".into()],
            ..input()
        };
        let (_, errors) = check(&bad);
        assert_eq!(
            errors.messages("gateway"),
            ["The gateway must be inside 10.0.0.0/24."]
        );
        assert_eq!(
            errors.messages("excluded"),
            [
                "The excluded address 10.9.9.9 is outside 10.0.0.0/24.",
                "The excluded entry \"abc\" is not a valid IPv4 address."
            ]
        );
        let broadcast = IpPoolInput {
            gateway: Some("10.0.0.255".into()),
            ..input()
        };
        assert_eq!(
            check(&broadcast).1.messages("gateway"),
            ["The gateway may not be the network or broadcast address of 10.0.0.0/24."]
        );
    }

    #[test]
    fn missing_and_invalid_fields_are_named() {
        let (_, errors) = check(&IpPoolInput::default());
        assert_eq!(errors.messages("name"), ["The name field is required."]);
        assert_eq!(errors.messages("cidr"), ["The cidr field is required."]);
        assert_eq!(errors.messages("kind"), ["The kind field is required."]);
        let (_, errors) = check(&IpPoolInput {
            cidr: "10.0.0.1/24".into(),
            kind: 7,
            router_id: Some(0),
            ..input()
        });
        assert_eq!(
            errors.messages("cidr"),
            ["The cidr must be a network address, e.g. 10.0.0.0/24."]
        );
        assert_eq!(errors.messages("kind"), ["The selected kind is invalid."]);
        assert_eq!(
            errors.messages("router_id"),
            ["The selected router id is invalid."]
        );
        // With the network in doubt, the gateway is not measured against it.
        assert!(errors.messages("gateway").is_empty());
    }
}
