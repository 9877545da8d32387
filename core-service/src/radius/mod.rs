//! RADIUS for the product's routers: a hand-rolled codec (RFC 2865 access, RFC 2866
//! accounting, RFC 2869 Message-Authenticator, RFC 5176 CoA and Disconnect).
#![warn(missing_docs)]

mod attribute;
mod code;
mod crypto;
mod packet;

pub use attribute::{Attribute, MAX_VALUE_LEN, VendorAttribute, kind, vendor};
pub use code::Code;
pub use packet::{DecodeError, EncodeError, HEADER_LEN, MAX_PACKET_LEN, MAX_PASSWORD_LEN, Packet};
