//! The attribute names FreeRADIUS knows, read from its dictionaries, so that a reply or check
//! attribute an operator types in (a plan's `Mikrotik-Rate-Limit`, a `Session-Timeout`) is
//! refused by the API with a message rather than silently ignored by the server.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::attribute::MAX_VALUE_LEN;

mod builtin;

/// Where Debian's FreeRADIUS 3 packages install the main dictionary.
pub const DEFAULT_PATH: &str = "/usr/share/freeradius/dictionary";

/// How deep `$INCLUDE`s may nest: the stock tree uses two levels; more is a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

/// The value type of an attribute, as the dictionary names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeType {
    /// Text.
    String,
    /// Raw octets (`0x…` or text).
    Octets,
    /// An unsigned 32-bit number, or one of the attribute's named values.
    Integer,
    /// An unsigned 8-bit number.
    Byte,
    /// An unsigned 16-bit number.
    Short,
    /// An unsigned 64-bit number.
    Integer64,
    /// A signed 32-bit number.
    Signed,
    /// An IPv4 address.
    IpAddr,
    /// An IPv6 address.
    Ipv6Addr,
    /// An IPv4 or IPv6 address.
    ComboIp,
    /// An IPv4 prefix (`10.0.0.0/8`).
    Ipv4Prefix,
    /// An IPv6 prefix (`2001:db8::/32`).
    Ipv6Prefix,
    /// A date (epoch seconds or a date FreeRADIUS parses).
    Date,
    /// Anything else (`ifid`, `ether`, `abinary`, `tlv`, `vsa`, `evs`, …): not checked.
    Other,
}

impl AttributeType {
    /// The type for a dictionary type word (`string`, `octets[16]`, `ipaddr`, …).
    pub fn from_dictionary(word: &str) -> AttributeType {
        let base = word.split('[').next().unwrap_or(word).to_ascii_lowercase();
        match base.as_str() {
            "string" => AttributeType::String,
            "octets" => AttributeType::Octets,
            "integer" | "uint32" => AttributeType::Integer,
            "byte" | "uint8" => AttributeType::Byte,
            "short" | "uint16" => AttributeType::Short,
            "integer64" | "uint64" => AttributeType::Integer64,
            "signed" | "int32" => AttributeType::Signed,
            "ipaddr" | "ipv4addr" => AttributeType::IpAddr,
            "ipv6addr" => AttributeType::Ipv6Addr,
            "combo-ip" => AttributeType::ComboIp,
            "ipv4prefix" => AttributeType::Ipv4Prefix,
            "ipv6prefix" => AttributeType::Ipv6Prefix,
            "date" => AttributeType::Date,
            _ => AttributeType::Other,
        }
    }
}

/// A vendor of Vendor-Specific attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDef {
    /// Its dictionary name (`Mikrotik`).
    pub name: String,
    /// Its SMI private enterprise number (14988).
    pub id: u32,
}

/// One attribute of the dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDef {
    /// The canonical spelling (`Mikrotik-Rate-Limit`).
    pub name: String,
    /// Its number within its vendor; `None` for extended (dotted, `241.26`) numbers.
    pub number: Option<u32>,
    /// Its value type.
    pub kind: AttributeType,
    /// Its vendor, for a Vendor-Specific attribute.
    pub vendor: Option<VendorDef>,
    /// The names its integer values may be given by (`Framed-User` for Service-Type).
    pub values: Vec<String>,
}

/// Why a dictionary could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    /// A file (or one it includes) could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line that FreeRADIUS would refuse too.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The attributes known by name (case-insensitively, as FreeRADIUS matches them).
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    attributes: HashMap<String, AttributeDef>,
}

/// What a file's parse shares with the files it includes.
#[derive(Default)]
struct Loading {
    dictionary: Dictionary,
    vendors: HashMap<String, VendorDef>,
    values: HashMap<String, Vec<String>>,
    open: HashSet<PathBuf>,
}

impl Dictionary {
    /// The dictionary at `path` and everything it `$INCLUDE`s.
    pub fn load(path: &Path) -> Result<Dictionary, DictionaryError> {
        let mut loading = Loading::default();
        loading.file(path, 0)?;
        let mut dictionary = loading.dictionary;
        for (name, values) in loading.values {
            if let Some(attribute) = dictionary.attributes.get_mut(&name) {
                attribute.values = values;
            }
        }
        Ok(dictionary)
    }

    /// The installed FreeRADIUS dictionary, or [`Dictionary::builtin`] when it is missing
    /// or unreadable (a machine without FreeRADIUS still validates what the product writes).
    pub fn load_default() -> Dictionary {
        Dictionary::load(Path::new(DEFAULT_PATH)).unwrap_or_else(|_| Dictionary::builtin())
    }

    /// The standard reply and check attributes and the MikroTik and WISPr ones the product
    /// writes.
    pub fn builtin() -> Dictionary {
        builtin::dictionary()
    }

    /// [`Dictionary::load_default`], read once per process.
    pub fn shared() -> &'static Dictionary {
        static SHARED: OnceLock<Dictionary> = OnceLock::new();
        SHARED.get_or_init(Dictionary::load_default)
    }

    /// An attribute by name, in any letter case.
    pub fn lookup(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.get(&name.to_ascii_lowercase())
    }

    /// How many attributes are known.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// Whether no attribute is known.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// Whether `value` is one FreeRADIUS accepts for `attribute`, with a message an API can
    /// show when it is not ("Session-Timeout needs a whole number.").
    pub fn check_value(&self, attribute: &str, value: &str) -> Result<(), String> {
        let Some(def) = self.lookup(attribute) else {
            return Err(format!("{attribute} is not a known RADIUS attribute."));
        };
        let name = &def.name;
        let value = value.trim();
        let numeric = |ok: bool, range: &str| {
            let named = def.values.iter().any(|v| v.eq_ignore_ascii_case(value));
            if ok || named {
                Ok(())
            } else if def.values.is_empty() {
                Err(format!("{name} needs a whole number{range}."))
            } else {
                Err(format!(
                    "{name} needs a whole number{range} or one of {}.",
                    examples(&def.values)
                ))
            }
        };
        match def.kind {
            AttributeType::Integer => numeric(value.parse::<u32>().is_ok(), ""),
            AttributeType::Byte => numeric(value.parse::<u8>().is_ok(), " from 0 to 255"),
            AttributeType::Short => numeric(value.parse::<u16>().is_ok(), " from 0 to 65535"),
            AttributeType::Integer64 => numeric(value.parse::<u64>().is_ok(), ""),
            AttributeType::Signed => numeric(value.parse::<i32>().is_ok(), ""),
            AttributeType::IpAddr => value
                .parse::<Ipv4Addr>()
                .map(drop)
                .map_err(|_| format!("{name} needs an IPv4 address such as 100.64.0.10.")),
            AttributeType::Ipv6Addr => value
                .parse::<Ipv6Addr>()
                .map(drop)
                .map_err(|_| format!("{name} needs an IPv6 address such as 2001:db8::1.")),
            AttributeType::ComboIp => value
                .parse::<IpAddr>()
                .map(drop)
                .map_err(|_| format!("{name} needs an IPv4 or IPv6 address.")),
            AttributeType::Ipv4Prefix => check_prefix::<Ipv4Addr>(value, 32)
                .ok_or_else(|| format!("{name} needs an IPv4 prefix such as 10.0.0.0/8.")),
            AttributeType::Ipv6Prefix => check_prefix::<Ipv6Addr>(value, 128)
                .ok_or_else(|| format!("{name} needs an IPv6 prefix such as 2001:db8::/32.")),
            AttributeType::String | AttributeType::Octets if value.len() > MAX_VALUE_LEN => {
                Err(format!("{name} is longer than {MAX_VALUE_LEN} bytes."))
            }
            _ if value.is_empty() => Err(format!("{name} needs a value.")),
            _ => Ok(()),
        }
    }
}

/// The first few names, for a message.
fn examples(names: &[String]) -> String {
    let mut shown = names.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 4 {
        shown.push_str(", …");
    }
    shown
}

fn check_prefix<A: std::str::FromStr>(value: &str, max: u8) -> Option<()> {
    let (address, length) = value.split_once('/')?;
    address.parse::<A>().ok()?;
    length.parse::<u8>().ok().filter(|l| *l <= max).map(drop)
}

/// A decimal or `0x` hexadecimal number, as dictionaries write them.
fn parse_number(word: &str) -> Option<u32> {
    match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => word.parse().ok(),
    }
}

impl Loading {
    fn file(&mut self, path: &Path, depth: usize) -> Result<(), DictionaryError> {
        let text = std::fs::read_to_string(path).map_err(|source| DictionaryError::Io {
            path: path.to_owned(),
            source,
        })?;
        if !self.open.insert(path.to_owned()) {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut block_vendor: Option<VendorDef> = None;
        for (index, line) in text.lines().enumerate() {
            let syntax = |message: String| DictionaryError::Syntax {
                path: path.to_owned(),
                line: index + 1,
                message,
            };
            let line = line.split('#').next().unwrap_or_default();
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [include @ ("$INCLUDE" | "$INCLUDE-"), file, ..] => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(syntax("$INCLUDE nests too deep".into()));
                    }
                    let target = dir.join(file);
                    match self.file(&target, depth + 1) {
                        Err(DictionaryError::Io { .. }) if *include == "$INCLUDE-" => {}
                        result => result?,
                    }
                }
                ["VENDOR", name, id, ..] => {
                    let id = parse_number(id)
                        .ok_or_else(|| syntax(format!("bad vendor number {id}")))?;
                    let vendor = VendorDef {
                        name: (*name).to_owned(),
                        id,
                    };
                    self.vendors.insert(name.to_ascii_lowercase(), vendor);
                }
                ["BEGIN-VENDOR", name, ..] => {
                    let vendor = self.vendors.get(&name.to_ascii_lowercase());
                    block_vendor =
                        Some(vendor.cloned().ok_or_else(|| {
                            syntax(format!("BEGIN-VENDOR of unknown vendor {name}"))
                        })?);
                }
                ["END-VENDOR", ..] => block_vendor = None,
                ["ATTRIBUTE", name, number, kind, rest @ ..] => {
                    // The old layout names the vendor after the type instead of a block.
                    let vendor = rest
                        .first()
                        .and_then(|word| self.vendors.get(&word.to_ascii_lowercase()))
                        .or(block_vendor.as_ref())
                        .cloned();
                    let def = AttributeDef {
                        name: (*name).to_owned(),
                        number: parse_number(number),
                        kind: AttributeType::from_dictionary(kind),
                        vendor,
                        values: Vec::new(),
                    };
                    self.dictionary
                        .attributes
                        .insert(name.to_ascii_lowercase(), def);
                }
                ["ATTRIBUTE", ..] => {
                    return Err(syntax("ATTRIBUTE needs a name, number and type".into()));
                }
                ["VALUE", attribute, value, _number, ..] => self
                    .values
                    .entry(attribute.to_ascii_lowercase())
                    .or_default()
                    .push((*value).to_owned()),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
