//! What a caller may send for a service, and the rules each field obeys on its own. Rules
//! that need stored data (the plan exists and is for sale, the username is free, the
//! router exists, the address is free) run in the operations.

use chrono::{DateTime, Utc};
use rand::Rng;

use super::Service;
use crate::error::FieldErrors;

/// The writable fields as sent (proto-shaped: `None` is absent or cleared).
#[derive(Debug, Clone, Default)]
pub struct ServiceInput {
    /// Plan (creation).
    pub plan_id: Option<i64>,
    /// Download override, Mbit/s as decimal text.
    pub speed_download_mbps: Option<String>,
    /// Upload override, Mbit/s as decimal text.
    pub speed_upload_mbps: Option<String>,
    /// Data cap override, GB as decimal text.
    pub data_limit_gb: Option<String>,
    /// Installation address.
    pub installation_address: Option<String>,
    /// Scheduled activation.
    pub scheduled_activation: Option<DateTime<Utc>>,
    /// Free text.
    pub notes: Option<String>,
    /// RADIUS username.
    pub username: Option<String>,
    /// RADIUS password.
    pub password: Option<String>,
    /// MAC binding.
    pub mac: Option<String>,
    /// Login expiry.
    pub expiration: Option<DateTime<Utc>>,
    /// Router.
    pub router_id: Option<i64>,
    /// VLAN.
    pub vlan_id: Option<i32>,
    /// Static pool.
    pub ip_pool_id: Option<i64>,
    /// Static address.
    pub static_ip: Option<String>,
}

/// Every field name a mask may hold.
pub const FIELDS: &[&str] = &[
    "plan_id",
    "speed_download_mbps",
    "speed_upload_mbps",
    "data_limit_gb",
    "installation_address",
    "scheduled_activation",
    "notes",
    "username",
    "password",
    "mac",
    "expiration",
    "router_id",
    "vlan_id",
    "ip_pool_id",
    "static_ip",
];

/// The fine-grained fields after their own rules: what the service will hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    pub plan_id: Option<i64>,
    pub download_kbps: Option<i64>,
    pub upload_kbps: Option<i64>,
    pub data_limit_mb: Option<i64>,
    pub installation_address: Option<String>,
    pub scheduled_activation: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    /// `None` on creation means "generate one".
    pub username: Option<String>,
    /// `None` on creation means "generate one".
    pub password: Option<String>,
    pub mac: Option<String>,
    pub expiration: Option<DateTime<Utc>>,
    pub router_id: Option<i64>,
    pub vlan_id: Option<i32>,
    pub ip_pool_id: Option<i64>,
    pub static_ip: Option<String>,
}

impl Checked {
    /// The values `current` holds, as the starting point of an update.
    pub fn of(current: &Service) -> Self {
        Self {
            plan_id: Some(current.plan_id),
            download_kbps: current.download_kbps,
            upload_kbps: current.upload_kbps,
            data_limit_mb: current.data_limit_mb,
            installation_address: current.installation_address.clone(),
            scheduled_activation: current.scheduled_activation,
            notes: current.notes.clone(),
            username: Some(current.username.clone()),
            password: Some(current.password.clone()),
            mac: current.mac.clone(),
            expiration: current.expiration,
            router_id: current.router_id,
            vlan_id: current.vlan_id,
            ip_pool_id: current.ip_pool_id,
            static_ip: current.ip_address.clone(),
        }
    }
}

const PASSWORD_MIN: usize = 4;
const PASSWORD_MAX: usize = 128;
const TEXT_MAX: usize = 500;
const NOTES_MAX: usize = 2000;
/// 1,000,000 GB (a petabyte) in MB.
const DATA_LIMIT_MAX_MB: i64 = 1_000_000_000;
/// 100 Gbit/s: beyond any access link, and far inside i64 once in bit/s.
const SPEED_MAX_KBPS: i64 = 100_000_000;

/// Whether `name` can be a RADIUS username (the rule the edge checks too).
pub fn valid_username(name: &str) -> bool {
    lastmile_proto::valid_radius_username(name)
}

/// A MAC in any common notation as `AA:BB:CC:DD:EE:FF`, or `None`.
pub fn normalize_mac(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let upper = hex.to_ascii_uppercase();
    let pairs: Vec<&str> = (0..6).map(|i| &upper[i * 2..i * 2 + 2]).collect();
    Some(pairs.join(":"))
}

/// A new RADIUS password: 12 characters a subscriber can type without confusing any.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Checks the fields `selected` names into `checked`; failures go to `errors`.
pub fn apply(
    input: &ServiceInput,
    selected: &[&str],
    checked: &mut Checked,
    errors: &mut FieldErrors,
    now: DateTime<Utc>,
) {
    let pick = |name: &str| selected.contains(&name);
    if pick("plan_id") {
        checked.plan_id = input.plan_id;
    }
    for (name, value, slot) in [
        (
            "speed_download_mbps",
            &input.speed_download_mbps,
            &mut checked.download_kbps,
        ),
        (
            "speed_upload_mbps",
            &input.speed_upload_mbps,
            &mut checked.upload_kbps,
        ),
    ] {
        if !pick(name) {
            continue;
        }
        match value.as_deref().map(|text| scaled(text, 3)) {
            None => *slot = None,
            Some(Ok(v)) if v > 0 && v <= SPEED_MAX_KBPS => *slot = Some(v),
            Some(Ok(_)) => errors.add(
                name,
                "The speed must be greater than 0 and at most 100000 Mbit/s.",
            ),
            Some(Err(message)) => errors.add(name, message.replace("{}", &name.replace('_', " "))),
        }
    }
    if pick("data_limit_gb") {
        match input.data_limit_gb.as_deref().map(|text| scaled(text, 3)) {
            None => checked.data_limit_mb = None,
            Some(Ok(v)) if v > 0 && v <= DATA_LIMIT_MAX_MB => checked.data_limit_mb = Some(v),
            Some(Ok(_)) => errors.add(
                "data_limit_gb",
                "The data limit must be greater than 0 and at most 1000000 GB.",
            ),
            Some(Err(message)) => {
                errors.add("data_limit_gb", message.replace("{}", "data limit gb"))
            }
        }
    }
    if pick("installation_address") {
        let value = text(input.installation_address.as_deref());
        if value.as_ref().is_some_and(|v| v.chars().count() > TEXT_MAX) {
            errors.add(
                "installation_address",
                format!("The installation address may not be greater than {TEXT_MAX} characters."),
            );
        }
        checked.installation_address = value;
    }
    if pick("notes") {
        let value = text(input.notes.as_deref());
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > NOTES_MAX)
        {
            errors.add(
                "notes",
                format!("The notes may not be greater than {NOTES_MAX} characters."),
            );
        }
        checked.notes = value;
    }
    if pick("scheduled_activation") {
        if input.scheduled_activation.is_some_and(|at| at <= now) {
            errors.add(
                "scheduled_activation",
                "The scheduled activation must be a time in the future.",
            );
        }
        checked.scheduled_activation = input.scheduled_activation;
    }
    if pick("username") {
        match text(input.username.as_deref()) {
            Some(name) if !valid_username(&name) => errors.add(
                "username",
                "The username may only contain letters, digits and @ . - _ : (at most 64).",
            ),
            // Blank is not given: generated on creation, unchanged on update.
            Some(name) => checked.username = Some(name),
            None => {}
        }
    }
    if pick("password") {
        match input.password.as_deref().filter(|p| !p.is_empty()) {
            Some(p)
                if p.len() < PASSWORD_MIN
                    || p.len() > PASSWORD_MAX
                    || !p.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                errors.add(
                    "password",
                    format!(
                        "The password must be {PASSWORD_MIN} to {PASSWORD_MAX} printable characters without spaces."
                    ),
                )
            }
            // Empty is not given: generated on creation, unchanged on update.
            Some(p) => checked.password = Some(p.to_owned()),
            None => {}
        }
    }
    if pick("mac") {
        match text(input.mac.as_deref()) {
            None => checked.mac = None,
            Some(mac) => match normalize_mac(&mac) {
                Some(mac) => checked.mac = Some(mac),
                None => errors.add(
                    "mac",
                    "The mac must be a MAC address, e.g. AA:BB:CC:DD:EE:FF.",
                ),
            },
        }
    }
    if pick("expiration") {
        checked.expiration = input.expiration;
    }
    if pick("router_id") {
        checked.router_id = input.router_id;
    }
    if pick("vlan_id") {
        match input.vlan_id {
            Some(v) if !(1..=4094).contains(&v) => {
                errors.add("vlan_id", "The vlan id must be between 1 and 4094.")
            }
            v => checked.vlan_id = v,
        }
    }
    if pick("ip_pool_id") {
        checked.ip_pool_id = input.ip_pool_id;
    }
    if pick("static_ip") {
        match text(input.static_ip.as_deref()) {
            None => checked.static_ip = None,
            Some(ip) => match ip.parse::<std::net::Ipv4Addr>() {
                Ok(ip) => checked.static_ip = Some(ip.to_string()),
                Err(_) => errors.add("static_ip", "The static ip must be an IPv4 address."),
            },
        }
    }
}

/// `text` × 10^`digits` exactly, or the message (`{}` stands for the field's name): a
/// value with more decimals than the scale holds is refused, never rounded.
fn scaled(text: &str, digits: u32) -> Result<i64, String> {
    crate::fields::decimal::scaled(text, digits).map_err(|error| match error {
        crate::fields::decimal::DecimalError::TooPrecise => {
            format!("The {{}} may have at most {digits} decimal places.")
        }
        _ => "The {} must be a number.".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_limited_to_what_freeradius_leaves_alone() {
        for good in ["10000001", "alice@isp.example", "a.b-c_d:e"] {
            assert!(valid_username(good), "{good}");
        }
        for bad in ["", "O'Neil", "a b", "x+y", "ümlaut", &"a".repeat(65)] {
            assert!(!valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn macs_are_read_in_every_common_notation() {
        for text in [
            "aa:bb:cc:00:11:22",
            "AA-BB-CC-00-11-22",
            "aabb.cc00.1122",
            "aabbcc001122",
        ] {
            assert_eq!(normalize_mac(text).as_deref(), Some("AA:BB:CC:00:11:22"));
        }
        for bad in ["aa:bb:cc", "gg:bb:cc:00:11:22", ""] {
            assert_eq!(normalize_mac(bad), None);
        }
    }

    #[test]
    fn generated_passwords_are_twelve_unambiguous_characters() {
        let password = new_password();
        assert_eq!(password.len(), 12);
        assert!(!password.contains(['0', 'O', 'l', '1', 'I']));
    }
}
