//! Routers (NAS): their types, the rules of their fields, and what other domains read of
//! them (the RADIUS configuration and the CoA sender need the secret; nothing else does).

use std::fmt;
use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1::RouterKind;
use serde_json::{Map, Value, json};

use super::address::parse_ipv4;
use super::router_store;
use crate::db::Conn;
use crate::error::{FieldErrors, Result};
use crate::fields;

/// The message for an address another router already has.
pub const IP_TAKEN: &str = "A router with this IP address already exists.";

/// Every writable field, as update masks name them.
pub(super) const FIELDS: &[&str] = &[
    "name",
    "ip_address",
    "kind",
    "secret",
    "coa_port",
    "location",
];

/// The writable fields of a router but its secret, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterFields {
    /// 2-64 characters, trimmed; unique ignoring case.
    pub name: String,
    /// Where its RADIUS requests come from; unique.
    pub ip_address: Ipv4Addr,
    /// Its make.
    pub kind: RouterKind,
    /// Its CoA/Disconnect port, 1-65535.
    pub coa_port: i32,
    /// Where it stands.
    pub location: Option<String>,
}

/// A router as stored (its secret stays in the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Router {
    /// Id (also its `nas` row's).
    pub id: i64,
    /// The writable fields.
    pub fields: RouterFields,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl Router {
    /// The router as the audit log records it: the secret only as `secret_set`.
    pub fn audit_view(&self) -> Map<String, Value> {
        let f = &self.fields;
        let value = json!({
            "name": f.name,
            "ip_address": f.ip_address.to_string(),
            "kind": f.kind.rest_name(),
            "secret_set": true,
            "coa_port": f.coa_port,
            "location": f.location,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// What talking RADIUS to a router takes. Its `Debug` leaves the secret out, so that it
/// cannot end up in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct RouterSecret {
    /// Router id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its address.
    pub ip: Ipv4Addr,
    /// Its make.
    pub kind: RouterKind,
    /// The RADIUS shared secret.
    pub secret: String,
    /// Its CoA/Disconnect port.
    pub coa_port: u16,
}

impl fmt::Debug for RouterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterSecret")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("ip", &self.ip)
            .field("kind", &self.kind)
            .field("secret", &crate::audit::REDACTED)
            .field("coa_port", &self.coa_port)
            .finish()
    }
}

/// Every router with its secret, by id (for `lastmile radius config`).
pub async fn all_routers_with_secrets(conn: &mut Conn<'_>) -> Result<Vec<RouterSecret>> {
    router_store::secrets(conn, None, None).await
}

/// Router `router_id` with its secret, if it exists (for the CoA sender).
pub async fn router_secret(conn: &mut Conn<'_>, router_id: i64) -> Result<Option<RouterSecret>> {
    Ok(router_store::secrets(conn, Some(router_id), None)
        .await?
        .into_iter()
        .next())
}

/// The router whose address is `ip`, with its secret, if there is one (a RADIUS packet's
/// source names its NAS).
pub async fn router_by_ip(conn: &mut Conn<'_>, ip: Ipv4Addr) -> Result<Option<RouterSecret>> {
    Ok(router_store::secrets(conn, None, Some(ip))
        .await?
        .into_iter()
        .next())
}

/// A router as a client sent it; only the fields an update names are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterInput {
    /// Name.
    pub name: String,
    /// Dotted IPv4 address.
    pub ip_address: String,
    /// A wire number of `RouterKind` (0: not given).
    pub kind: i32,
    /// The RADIUS secret (empty: not given).
    pub secret: String,
    /// The CoA port (absent: 3799 on create).
    pub coa_port: Option<i32>,
    /// Location (absent or blank: none).
    pub location: Option<String>,
}

/// The fields of `input` that `selected` names, over `current` (a create starts from the
/// defaults), and the new secret if one was given; every broken rule is in `errors`.
pub(super) fn apply(
    input: &RouterInput,
    selected: &[&str],
    current: Option<&RouterFields>,
    errors: &mut FieldErrors,
) -> (RouterFields, Option<String>) {
    let mut fields = current.cloned().unwrap_or(RouterFields {
        name: String::new(),
        ip_address: Ipv4Addr::UNSPECIFIED,
        kind: RouterKind::Unspecified,
        coa_port: lastmile_proto::DEFAULT_COA_PORT,
        location: None,
    });
    let mut secret = None;
    for field in selected {
        match *field {
            "name" => match super::name(&input.name) {
                Ok(name) => fields.name = name,
                Err(message) => errors.add("name", message),
            },
            "ip_address" => match ip_address(&input.ip_address) {
                Ok(ip) => fields.ip_address = ip,
                Err(message) => errors.add("ip_address", message),
            },
            "kind" => match kind(input.kind) {
                Ok(kind) => fields.kind = kind,
                Err(message) => errors.add("kind", message),
            },
            "secret" => match check_secret(&input.secret) {
                Ok(()) => secret = Some(input.secret.clone()),
                Err(message) => errors.add("secret", message),
            },
            "coa_port" => match coa_port(input.coa_port, current.is_none()) {
                Ok(port) => fields.coa_port = port,
                Err(message) => errors.add("coa_port", message),
            },
            "location" => match fields::optional_text(
                input.location.as_deref(),
                "location",
                lastmile_proto::LOCATION_MAX,
            ) {
                Ok(location) => fields.location = location,
                Err(messages) => messages.into_iter().for_each(|m| errors.add("location", m)),
            },
            _ => {}
        }
    }
    (fields, secret)
}

fn ip_address(raw: &str) -> Result<Ipv4Addr, String> {
    if raw.trim().is_empty() {
        return Err("The ip address field is required.".into());
    }
    parse_ipv4(raw).ok_or_else(|| "The ip address must be a valid IPv4 address.".into())
}

fn kind(wire: i32) -> Result<RouterKind, String> {
    match RouterKind::try_from(wire) {
        Ok(RouterKind::Unspecified) => Err("The kind field is required.".into()),
        Ok(kind) => Ok(kind),
        Err(_) => Err("The selected kind is invalid.".into()),
    }
}

/// The secret is taken as sent (no trimming): a space in it would not survive the
/// configuration files it is written into, so it is refused rather than changed.
fn check_secret(secret: &str) -> Result<(), String> {
    let (min, max) = lastmile_proto::RADIUS_SECRET_LENGTH;
    if secret.is_empty() {
        return Err("The secret field is required.".into());
    }
    if !(min..=max).contains(&secret.chars().count()) {
        return Err(format!(
            "The secret must be between {min} and {max} characters."
        ));
    }
    if !lastmile_proto::is_radius_secret(secret) {
        return Err(
            "The secret may only contain printable ASCII characters other than spaces and \
             quotes."
                .into(),
        );
    }
    Ok(())
}

/// `coa_port`: 1-65535; left out of a create it is the default, named in an update
/// without a value it is refused.
fn coa_port(port: Option<i32>, creating: bool) -> Result<i32, String> {
    match port {
        None if creating => Ok(lastmile_proto::DEFAULT_COA_PORT),
        Some(port) if (1..=65535).contains(&port) => Ok(port),
        None => Err("The coa port field is required.".into()),
        Some(_) => Err("The coa port must be between 1 and 65535.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &RouterInput) -> (RouterFields, Option<String>, FieldErrors) {
        let mut errors = FieldErrors::new();
        let (fields, secret) = apply(input, FIELDS, None, &mut errors);
        (fields, secret, errors)
    }

    #[test]
    fn a_complete_router_passes_with_the_default_coa_port() {
        let input = RouterInput {
            name: " Core-1 ".into(),
            ip_address: "10.0.0.1".into(),
            kind: RouterKind::Mikrotik as i32,
            secret: "s3cr3t-Key!".into(),
            coa_port: None,
            location: Some("  ".into()),
        };
        let (fields, secret, errors) = check(&input);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(fields.name, "Core-1");
        assert_eq!(fields.coa_port, 3799);
        assert_eq!(fields.location, None);
        assert_eq!(secret.as_deref(), Some("s3cr3t-Key!"));
    }

    #[test]
    fn every_broken_rule_is_reported_on_its_field() {
        let input = RouterInput {
            name: String::new(),
            ip_address: "10.0.0.300".into(),
            kind: 99,
            secret: "short".into(),
            coa_port: Some(0),
            location: Some("x".repeat(256)),
        };
        let (_, secret, errors) = check(&input);
        assert_eq!(secret, None);
        assert_eq!(errors.messages("name"), ["The name field is required."]);
        assert_eq!(
            errors.messages("ip_address"),
            ["The ip address must be a valid IPv4 address."]
        );
        assert_eq!(errors.messages("kind"), ["The selected kind is invalid."]);
        assert_eq!(
            errors.messages("secret"),
            ["The secret must be between 8 and 128 characters."]
        );
        assert_eq!(
            errors.messages("coa_port"),
            ["The coa port must be between 1 and 65535."]
        );
        assert_eq!(
            errors.messages("location"),
            ["The location may not be greater than 255 characters."]
        );
        let (_, _, errors) = check(&RouterInput::default());
        assert_eq!(errors.messages("kind"), ["The kind field is required."]);
        assert_eq!(errors.messages("secret"), ["The secret field is required."]);
        assert_eq!(
            errors.messages("ip_address"),
            ["The ip address field is required."]
        );
    }

    #[test]
    fn secrets_with_spaces_quotes_or_non_ascii_are_refused() {
        let refused =
            "The secret may only contain printable ASCII characters other than spaces and quotes.";
        for bad in ["with space", "quote\"here", "quote'here", "ünïcödé-secret"] {
            assert_eq!(check_secret(bad).unwrap_err(), refused, "{bad}");
        }
        assert!(check_secret(&"k".repeat(128)).is_ok());
        assert!(check_secret(&"k".repeat(129)).is_err());
    }

    #[test]
    fn the_debug_of_a_secret_leaves_it_out() {
        let secret = RouterSecret {
            id: 1,
            name: "Core-1".into(),
            ip: Ipv4Addr::new(10, 0, 0, 1),
            kind: RouterKind::Mikrotik,
            secret: "s3cr3t-Key!".into(),
            coa_port: 3799,
        };
        let shown = format!("{secret:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
