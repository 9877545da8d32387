//! The packet codes of RFC 2865, 2866, 5176 and 5997, and which replies answer which
//! requests.

/// The packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Access-Request (1).
    AccessRequest,
    /// Access-Accept (2).
    AccessAccept,
    /// Access-Reject (3).
    AccessReject,
    /// Accounting-Request (4).
    AccountingRequest,
    /// Accounting-Response (5).
    AccountingResponse,
    /// Access-Challenge (11).
    AccessChallenge,
    /// Status-Server (12, RFC 5997).
    StatusServer,
    /// Disconnect-Request (40, RFC 5176).
    DisconnectRequest,
    /// Disconnect-ACK (41).
    DisconnectAck,
    /// Disconnect-NAK (42).
    DisconnectNak,
    /// CoA-Request (43).
    CoaRequest,
    /// CoA-ACK (44).
    CoaAck,
    /// CoA-NAK (45).
    CoaNak,
}

impl Code {
    /// The code for a wire octet, when it is one of the known codes.
    pub fn from_u8(octet: u8) -> Option<Code> {
        Some(match octet {
            1 => Code::AccessRequest,
            2 => Code::AccessAccept,
            3 => Code::AccessReject,
            4 => Code::AccountingRequest,
            5 => Code::AccountingResponse,
            11 => Code::AccessChallenge,
            12 => Code::StatusServer,
            40 => Code::DisconnectRequest,
            41 => Code::DisconnectAck,
            42 => Code::DisconnectNak,
            43 => Code::CoaRequest,
            44 => Code::CoaAck,
            45 => Code::CoaNak,
            _ => return None,
        })
    }

    /// The wire octet.
    pub fn as_u8(self) -> u8 {
        match self {
            Code::AccessRequest => 1,
            Code::AccessAccept => 2,
            Code::AccessReject => 3,
            Code::AccountingRequest => 4,
            Code::AccountingResponse => 5,
            Code::AccessChallenge => 11,
            Code::StatusServer => 12,
            Code::DisconnectRequest => 40,
            Code::DisconnectAck => 41,
            Code::DisconnectNak => 42,
            Code::CoaRequest => 43,
            Code::CoaAck => 44,
            Code::CoaNak => 45,
        }
    }

    /// Whether a reply with this code can answer a request with code `request`.
    pub fn answers(self, request: Code) -> bool {
        use Code::*;
        matches!(
            (request, self),
            (AccessRequest, AccessAccept | AccessReject | AccessChallenge)
                | (AccountingRequest, AccountingResponse)
                | (DisconnectRequest, DisconnectAck | DisconnectNak)
                | (CoaRequest, CoaAck | CoaNak)
                // Status-Server is answered as the port's own kind of traffic (RFC 5997 §3).
                | (StatusServer, AccessAccept | AccountingResponse)
        )
    }

    /// Whether the Request Authenticator is random (Access-Request, Status-Server) rather
    /// than an MD5 over the packet (Accounting, CoA, Disconnect).
    pub(crate) fn has_random_authenticator(self) -> bool {
        matches!(self, Code::AccessRequest | Code::StatusServer)
    }
}
