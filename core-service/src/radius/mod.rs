//! RADIUS for the product's routers: a hand-rolled codec and UDP client (RFC 2865 access,
//! RFC 2866 accounting, RFC 2869 Message-Authenticator, RFC 5176 CoA and Disconnect), and
//! the FreeRADIUS dictionaries (to check reply attributes an operator types in).
#![warn(missing_docs)]

mod attribute;
mod client;
mod code;
mod crypto;
mod dictionary;
mod packet;

pub use attribute::{Attribute, MAX_VALUE_LEN, VendorAttribute, kind, vendor};
pub use client::{
    Outcome, Reply, SendError, access_request, coa, disconnect, error_cause_name, send,
    status_server,
};
pub use code::Code;
pub use dictionary::{
    AttributeDef, AttributeType, DEFAULT_PATH as DEFAULT_DICTIONARY, Dictionary, DictionaryError,
    VendorDef,
};
pub use packet::{DecodeError, EncodeError, HEADER_LEN, MAX_PACKET_LEN, MAX_PASSWORD_LEN, Packet};
