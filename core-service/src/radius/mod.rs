//! RADIUS for the product's routers: a hand-rolled codec and UDP client (RFC 2865 access,
//! RFC 2866 accounting, RFC 2869 Message-Authenticator, RFC 5176 CoA and Disconnect), the
//! FreeRADIUS dictionaries (to check reply attributes an operator types in), and the
//! FreeRADIUS 3.2 configuration that authenticates subscribers from the product's own
//! database through the stock SQL schema.
//!
//! No database code lives here: the tables are FreeRADIUS's, and the configuration only
//! points the server at them. The vendored `queries/*.conf` are FreeRADIUS 3.2.1's stock
//! `mods-config/sql/main/<dialect>/queries.conf` (GPL-2.0-or-later, as FreeRADIUS ships
//! them), with one marked fix in the SQLite Simultaneous-Use query.
#![warn(missing_docs)]

mod attribute;
mod client;
mod code;
mod config;
mod crypto;
mod dictionary;
mod packet;

pub use attribute::{Attribute, MAX_VALUE_LEN, VendorAttribute, kind, vendor};
pub use client::{
    Outcome, Reply, SendError, access_request, coa, disconnect, error_cause_name, send,
    status_server,
};
pub use code::Code;
pub use config::{Client, ConfigError, ServerConfig, SqlTarget, postgres_conninfo, sqlite_path};
pub use dictionary::{
    AttributeDef, AttributeType, DEFAULT_PATH as DEFAULT_DICTIONARY, Dictionary, DictionaryError,
    VendorDef,
};
pub use packet::{DecodeError, EncodeError, HEADER_LEN, MAX_PACKET_LEN, MAX_PASSWORD_LEN, Packet};

#[cfg(test)]
mod tests;
