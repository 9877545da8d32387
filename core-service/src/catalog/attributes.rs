//! Which RADIUS attributes a plan may add to its group: names the FreeRADIUS dictionaries
//! know (so FreeRADIUS does not reject the group's rows at request time), and none of
//! those Lastmile writes itself (a plan's attribute would fight the rate limit or the
//! credentials Lastmile computes).
//!
//! [`known_attribute`] is the one place the dictionary is consulted: the dictionary files
//! installed with FreeRADIUS (`/usr/share/freeradius/dictionary*`) when present, and a
//! built-in list of the attributes ISPs use on plans otherwise.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// Where Debian's FreeRADIUS 3 installs its dictionaries.
const DICTIONARY_DIR: &str = "/usr/share/freeradius";

/// Attributes Lastmile sets from the plan or the service itself.
pub const MANAGED: &[&str] = &[
    "Mikrotik-Rate-Limit",
    "WISPr-Bandwidth-Max-Up",
    "WISPr-Bandwidth-Max-Down",
    "Cleartext-Password",
    "Auth-Type",
    "Framed-IP-Address",
    "Simultaneous-Use",
];

/// The attributes known without the dictionary files: RFC 2865/2866/2869 reply
/// attributes, MikroTik's and WISPr's, and FreeRADIUS's internal ones that SQL rows use.
const BUILT_IN: &[&str] = &[
    "Service-Type",
    "Framed-Protocol",
    "Framed-IP-Address",
    "Framed-IP-Netmask",
    "Framed-Routing",
    "Filter-Id",
    "Framed-MTU",
    "Framed-Compression",
    "Login-IP-Host",
    "Reply-Message",
    "Callback-Number",
    "Framed-Route",
    "Framed-IPX-Network",
    "State",
    "Class",
    "Session-Timeout",
    "Idle-Timeout",
    "Termination-Action",
    "Framed-Pool",
    "Framed-IPv6-Prefix",
    "Framed-IPv6-Route",
    "Framed-IPv6-Pool",
    "Delegated-IPv6-Prefix",
    "Acct-Interim-Interval",
    "Port-Limit",
    "Tunnel-Type",
    "Tunnel-Medium-Type",
    "Tunnel-Private-Group-Id",
    "Cleartext-Password",
    "Auth-Type",
    "Simultaneous-Use",
    "Mikrotik-Recv-Limit",
    "Mikrotik-Xmit-Limit",
    "Mikrotik-Group",
    "Mikrotik-Rate-Limit",
    "Mikrotik-Realm",
    "Mikrotik-Host-IP",
    "Mikrotik-Mark-Id",
    "Mikrotik-Advertise-URL",
    "Mikrotik-Advertise-Interval",
    "Mikrotik-Recv-Limit-Gigawords",
    "Mikrotik-Xmit-Limit-Gigawords",
    "Mikrotik-Address-List",
    "Mikrotik-Total-Limit",
    "Mikrotik-Total-Limit-Gigawords",
    "Mikrotik-Address-Pool",
    "Mikrotik-Delegated-IPv6-Pool",
    "WISPr-Location-ID",
    "WISPr-Location-Name",
    "WISPr-Logoff-URL",
    "WISPr-Redirection-URL",
    "WISPr-Bandwidth-Min-Up",
    "WISPr-Bandwidth-Min-Down",
    "WISPr-Bandwidth-Max-Up",
    "WISPr-Bandwidth-Max-Down",
    "WISPr-Session-Terminate-Time",
    "WISPr-Session-Terminate-End-Of-Day",
    "WISPr-Billing-Class-Of-Service",
];

/// The dictionary's spelling of `name` (matched ignoring case), or the message saying why
/// a plan cannot carry it.
pub fn known_attribute(name: &str) -> Result<String, String> {
    let name = name.trim();
    let Some(canonical) = dictionary().get(&name.to_ascii_lowercase()) else {
        return Err(format!(
            "The attribute \"{name}\" is not in the RADIUS dictionary."
        ));
    };
    if MANAGED.iter().any(|m| m.eq_ignore_ascii_case(canonical)) {
        return Err(format!(
            "The attribute \"{canonical}\" is managed by Lastmile and cannot be set on a plan."
        ));
    }
    Ok(canonical.clone())
}

/// Lower-cased name → dictionary spelling, read once.
fn dictionary() -> &'static HashMap<String, String> {
    static NAMES: OnceLock<HashMap<String, String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: HashMap<String, String> = BUILT_IN
            .iter()
            .map(|name| (name.to_ascii_lowercase(), (*name).to_owned()))
            .collect();
        for name in installed_names(Path::new(DICTIONARY_DIR)) {
            names.entry(name.to_ascii_lowercase()).or_insert(name);
        }
        names
    })
}

/// The `ATTRIBUTE` names of every `dictionary*` file in `dir` (none when it is missing).
fn installed_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let is_dictionary = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with("dictionary"));
        if !is_dictionary {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            names.extend(attribute_names(&text));
        }
    }
    names
}

/// The names of a dictionary file's `ATTRIBUTE name number type [flags]` lines.
fn attribute_names(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("ATTRIBUTE"))
            .then(|| words.next())
            .flatten()
            .map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_attributes_come_back_in_the_dictionarys_spelling() {
        for name in [
            "Mikrotik-Address-List",
            "Session-Timeout",
            "Idle-Timeout",
            "Acct-Interim-Interval",
            "Filter-Id",
            "Reply-Message",
            "Framed-Pool",
            "Class",
        ] {
            assert_eq!(known_attribute(name).as_deref(), Ok(name));
        }
        assert_eq!(
            known_attribute(" session-timeout ").as_deref(),
            Ok("Session-Timeout")
        );
    }

    #[test]
    fn unknown_and_managed_attributes_are_refused_with_a_reason() {
        assert_eq!(
            known_attribute("Made-Up-Attribute"),
            Err("The attribute \"Made-Up-Attribute\" is not in the RADIUS dictionary.".into())
        );
        for managed in MANAGED {
            let refused = known_attribute(&managed.to_lowercase()).unwrap_err();
            assert_eq!(
                refused,
                format!(
                    "The attribute \"{managed}\" is managed by Lastmile and cannot be set on a plan."
                )
            );
        }
    }

    #[test]
    fn dictionary_files_name_their_attributes() {
        let text = "# comment\nATTRIBUTE\tSession-Timeout\t27\tinteger\n\
                    VALUE\tService-Type\tLogin-User\t1\n\
                    BEGIN-VENDOR\tMikrotik\nATTRIBUTE Mikrotik-Rate-Limit 8 string\n";
        let names: Vec<String> = attribute_names(text).collect();
        assert_eq!(names, ["Session-Timeout", "Mikrotik-Rate-Limit"]);
        assert!(installed_names(Path::new("/nonexistent/lastmile")).is_empty());
    }
}
