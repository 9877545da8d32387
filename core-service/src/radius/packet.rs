//! RADIUS packets (RFC 2865 §3): the header, the attributes, and the three checks that bind
//! a packet to the shared secret — the Request and Response Authenticators and the
//! Message-Authenticator (RFC 2869 §5.14, RFC 5176 §3.4).

use std::net::Ipv4Addr;

use subtle::ConstantTimeEq;

use super::attribute::{Attribute, MAX_VALUE_LEN, VendorAttribute, kind};
use super::code::Code;
use super::crypto::{
    hide_password, hmac_md5, md5_of, message_authenticator_range, sign_message_authenticator,
};

/// The header: code, identifier, length and authenticator.
pub const HEADER_LEN: usize = 20;
/// The largest packet RFC 2865 §3 allows.
pub const MAX_PACKET_LEN: usize = 4096;
/// The longest User-Password RFC 2865 §5.2 can hide.
pub const MAX_PASSWORD_LEN: usize = 128;

/// Why a packet could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// An attribute value is over 253 octets.
    #[error("attribute {0} is longer than 253 octets")]
    AttributeTooLong(u8),
    /// The User-Password is over 128 octets.
    #[error("the password is longer than 128 octets")]
    PasswordTooLong,
    /// The whole packet is over 4096 octets.
    #[error("the packet is longer than 4096 octets")]
    PacketTooLong,
    /// More than one Message-Authenticator was given.
    #[error("the packet has more than one Message-Authenticator")]
    SeveralMessageAuthenticators,
    /// `encode_request` was asked for a reply code, or `encode_response` for a request code.
    #[error("{0:?} cannot be encoded this way")]
    WrongDirection(Code),
}

/// Why received octets are not a RADIUS packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer octets than a header, or than the length field says.
    #[error("the packet is truncated")]
    Truncated,
    /// The length field is below 20 or above 4096.
    #[error("the length field {0} is out of range")]
    BadLength(u16),
    /// The code is not one this client knows.
    #[error("unknown code {0}")]
    UnknownCode(u8),
    /// An attribute's length is below 2 or runs past the packet.
    #[error("malformed attribute at offset {0}")]
    BadAttribute(usize),
}

/// A RADIUS packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The packet type.
    pub code: Code,
    /// Matches a reply to its request.
    pub identifier: u8,
    /// The Request or Response Authenticator. [`Packet::encode_request`] sets it.
    pub authenticator: [u8; 16],
    /// The attributes, in order. A User-Password is kept in clear here and hidden when
    /// encoded; a Message-Authenticator's value is computed when encoded.
    pub attributes: Vec<Attribute>,
}

impl Packet {
    /// An empty packet with a zero authenticator.
    pub fn new(code: Code, identifier: u8) -> Self {
        Self {
            code,
            identifier,
            authenticator: [0; 16],
            attributes: Vec::new(),
        }
    }

    /// Adds an attribute.
    pub fn with(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Asks for a Message-Authenticator, computed when the packet is encoded. It goes first,
    /// as the Blast-RADIUS (CVE-2024-3596) hardening of servers and NASes expects.
    pub fn with_message_authenticator(mut self) -> Self {
        self.attributes
            .retain(|a| a.kind != kind::MESSAGE_AUTHENTICATOR);
        self.attributes
            .insert(0, Attribute::new(kind::MESSAGE_AUTHENTICATOR, [0; 16]));
        self
    }

    /// The first attribute of a type.
    pub fn attribute(&self, kind: u8) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.kind == kind)
    }

    /// The Error-Cause of a NAK (RFC 5176 §3.5).
    pub fn error_cause(&self) -> Option<u32> {
        self.attribute(kind::ERROR_CAUSE)?.as_integer()
    }

    /// Every Reply-Message, joined: RFC 2865 §5.18 lets a long message span several.
    pub fn reply_message(&self) -> Option<String> {
        let parts: Vec<_> = self
            .attributes
            .iter()
            .filter(|a| a.kind == kind::REPLY_MESSAGE)
            .map(|a| String::from_utf8_lossy(&a.value))
            .collect();
        (!parts.is_empty()).then(|| parts.concat())
    }

    /// The Framed-IP-Address.
    pub fn framed_ip_address(&self) -> Option<Ipv4Addr> {
        self.attribute(kind::FRAMED_IP_ADDRESS)?.as_ipv4()
    }

    /// The Framed-Pool.
    pub fn framed_pool(&self) -> Option<&str> {
        self.attribute(kind::FRAMED_POOL)?.as_str()
    }

    /// Every vendor sub-attribute of every Vendor-Specific attribute.
    pub fn vendor_attributes(&self) -> impl Iterator<Item = VendorAttribute<'_>> {
        self.attributes
            .iter()
            .flat_map(Attribute::vendor_attributes)
    }

    /// The first vendor sub-attribute of a vendor and type, as text (e.g. the
    /// `Mikrotik-Rate-Limit` of an Access-Accept).
    pub fn vendor_string(&self, vendor_id: u32, vendor_type: u8) -> Option<&str> {
        self.vendor_attributes()
            .find(|v| v.vendor_id == vendor_id && v.vendor_type == vendor_type)?
            .as_str()
    }

    /// Encodes a request, sets its Request Authenticator (random for Access-Request and
    /// Status-Server, else the RFC 2866/5176 MD5), hides a User-Password and fills in a
    /// Message-Authenticator when one was asked for.
    pub fn encode_request(&mut self, secret: &[u8]) -> Result<Vec<u8>, EncodeError> {
        if self.code.has_random_authenticator() {
            self.authenticator = rand::random();
        }
        self.encode_request_with_authenticator(secret)
    }

    /// [`Packet::encode_request`] with the current authenticator of an Access-Request or
    /// Status-Server kept (known vectors need it).
    pub(crate) fn encode_request_with_authenticator(
        &mut self,
        secret: &[u8],
    ) -> Result<Vec<u8>, EncodeError> {
        match self.code {
            Code::AccessRequest | Code::StatusServer => {
                let hide = Form::Outgoing {
                    hide_password_with: Some(secret),
                };
                let mut bytes = self.serialize(&self.authenticator, hide)?;
                sign_message_authenticator(&mut bytes, secret);
                Ok(bytes)
            }
            Code::AccountingRequest | Code::CoaRequest | Code::DisconnectRequest => {
                // RFC 5176 §3.4: the HMAC is taken with the authenticator field zeroed, then
                // the Request Authenticator is the MD5 over the packet that includes it.
                let outgoing = Form::Outgoing {
                    hide_password_with: None,
                };
                let mut bytes = self.serialize(&[0; 16], outgoing)?;
                sign_message_authenticator(&mut bytes, secret);
                self.authenticator = md5_of(&[&bytes, secret]);
                bytes[4..HEADER_LEN].copy_from_slice(&self.authenticator);
                Ok(bytes)
            }
            code => Err(EncodeError::WrongDirection(code)),
        }
    }

    /// Encodes a reply to a request whose authenticator was `request_authenticator`, with
    /// the Response Authenticator of RFC 2865 §3.
    pub fn encode_response(
        &self,
        request_authenticator: &[u8; 16],
        secret: &[u8],
    ) -> Result<Vec<u8>, EncodeError> {
        if self.code.has_random_authenticator() || self.is_md5_request() {
            return Err(EncodeError::WrongDirection(self.code));
        }
        let outgoing = Form::Outgoing {
            hide_password_with: None,
        };
        let mut bytes = self.serialize(request_authenticator, outgoing)?;
        sign_message_authenticator(&mut bytes, secret);
        let response = md5_of(&[&bytes, secret]);
        bytes[4..HEADER_LEN].copy_from_slice(&response);
        Ok(bytes)
    }

    /// Decodes a packet. Octets after the length field's end are padding and ignored (RFC
    /// 2865 §3); anything malformed is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
        let Some((header, _)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::Truncated);
        };
        let length = u16::from_be_bytes([header[2], header[3]]);
        let declared = usize::from(length);
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&declared) {
            return Err(DecodeError::BadLength(length));
        }
        let Some(body) = bytes.get(HEADER_LEN..declared) else {
            return Err(DecodeError::Truncated);
        };
        let code = Code::from_u8(header[0]).ok_or(DecodeError::UnknownCode(header[0]))?;
        let mut authenticator = [0; 16];
        authenticator.copy_from_slice(&header[4..HEADER_LEN]);
        let mut attributes = Vec::new();
        let mut rest = body;
        while let [kind, length, ..] = *rest {
            let length = usize::from(length);
            if length < 2 || length > rest.len() {
                return Err(DecodeError::BadAttribute(declared - rest.len()));
            }
            attributes.push(Attribute::new(kind, &rest[2..length]));
            rest = &rest[length..];
        }
        if !rest.is_empty() {
            return Err(DecodeError::BadAttribute(declared - rest.len()));
        }
        Ok(Packet {
            code,
            identifier: header[1],
            authenticator,
            attributes,
        })
    }

    /// Whether this decoded reply was sent with the secret for the request whose
    /// authenticator was `request_authenticator`: its Response Authenticator matches and,
    /// when it has a Message-Authenticator, that matches too.
    pub fn verify_response(&self, request_authenticator: &[u8; 16], secret: &[u8]) -> bool {
        let Ok(bytes) = self.serialize(request_authenticator, Form::Received) else {
            return false;
        };
        let expected = md5_of(&[&bytes, secret]);
        bool::from(expected.ct_eq(&self.authenticator))
            && self.message_authenticator_holds(bytes, secret)
    }

    /// Whether this decoded request was sent with the secret: for Accounting, CoA and
    /// Disconnect its Request Authenticator matches; for every code its
    /// Message-Authenticator, when present, matches. Status-Server must carry one; an
    /// Access-Request without one has nothing to check and passes.
    pub fn verify_request(&self, secret: &[u8]) -> bool {
        if self.code.has_random_authenticator() {
            let has_tag = self.attribute(kind::MESSAGE_AUTHENTICATOR).is_some();
            let Ok(bytes) = self.serialize(&self.authenticator, Form::Received) else {
                return false;
            };
            return (has_tag || self.code == Code::AccessRequest)
                && self.message_authenticator_holds(bytes, secret);
        }
        if !self.is_md5_request() {
            return false;
        }
        let Ok(bytes) = self.serialize(&[0; 16], Form::Received) else {
            return false;
        };
        let expected = md5_of(&[&bytes, secret]);
        bool::from(expected.ct_eq(&self.authenticator))
            && self.message_authenticator_holds(bytes, secret)
    }

    /// The clear User-Password of a decoded Access-Request (RFC 2865 §5.2), without its
    /// NUL padding.
    pub fn user_password(&self, secret: &[u8]) -> Option<Vec<u8>> {
        let hidden = &self.attribute(kind::USER_PASSWORD)?.value;
        if hidden.is_empty() || hidden.len() % 16 != 0 || hidden.len() > MAX_PASSWORD_LEN {
            return None;
        }
        let mut clear = Vec::with_capacity(hidden.len());
        let mut previous: &[u8] = &self.authenticator;
        for block in hidden.chunks(16) {
            let pad = md5_of(&[secret, previous]);
            clear.extend(block.iter().zip(pad).map(|(c, p)| c ^ p));
            previous = block;
        }
        while clear.last() == Some(&0) {
            clear.pop();
        }
        Some(clear)
    }

    /// Whether the Message-Authenticator (if any) of this packet, serialized as `bytes`
    /// with the authenticator its HMAC was taken over, is right.
    fn message_authenticator_holds(&self, mut bytes: Vec<u8>, secret: &[u8]) -> bool {
        let Some(tag) = self.attribute(kind::MESSAGE_AUTHENTICATOR) else {
            return true;
        };
        let Some(range) = message_authenticator_range(&bytes) else {
            return false;
        };
        bytes[range].fill(0);
        bool::from(hmac_md5(secret, &bytes).ct_eq(tag.value.as_slice()))
    }

    fn is_md5_request(&self) -> bool {
        matches!(
            self.code,
            Code::AccountingRequest | Code::CoaRequest | Code::DisconnectRequest
        )
    }

    /// The wire form with `authenticator` in the header.
    fn serialize(&self, authenticator: &[u8; 16], form: Form) -> Result<Vec<u8>, EncodeError> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + 64);
        bytes.extend_from_slice(&[self.code.as_u8(), self.identifier, 0, 0]);
        bytes.extend_from_slice(authenticator);
        let mut tags = 0;
        for attribute in &self.attributes {
            let hidden;
            let value = match (form, attribute.kind) {
                (Form::Outgoing { .. }, kind::MESSAGE_AUTHENTICATOR) => &[0; 16][..],
                (
                    Form::Outgoing {
                        hide_password_with: Some(secret),
                    },
                    kind::USER_PASSWORD,
                ) => {
                    hidden = hide_password(&attribute.value, secret, authenticator)?;
                    &hidden
                }
                _ => &attribute.value,
            };
            if value.len() > MAX_VALUE_LEN {
                return Err(EncodeError::AttributeTooLong(attribute.kind));
            }
            if attribute.kind == kind::MESSAGE_AUTHENTICATOR {
                tags += 1;
            }
            bytes.push(attribute.kind);
            bytes.push((value.len() + 2) as u8);
            bytes.extend_from_slice(value);
        }
        if tags > 1 {
            return Err(EncodeError::SeveralMessageAuthenticators);
        }
        let length = u16::try_from(bytes.len())
            .ok()
            .filter(|l| usize::from(*l) <= MAX_PACKET_LEN)
            .ok_or(EncodeError::PacketTooLong)?;
        bytes[2..4].copy_from_slice(&length.to_be_bytes());
        Ok(bytes)
    }
}

/// How [`Packet::serialize`] treats the attributes whose wire value is computed.
#[derive(Clone, Copy)]
enum Form<'a> {
    /// As decoded: every value verbatim, to check what was received.
    Received,
    /// To send: the Message-Authenticator as 16 zero octets to be signed, and the
    /// User-Password hidden under the secret when one is given.
    Outgoing {
        hide_password_with: Option<&'a [u8]>,
    },
}

#[cfg(test)]
mod tests;
