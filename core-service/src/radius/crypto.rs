//! The MD5 constructions RADIUS binds packets to the shared secret with: User-Password
//! hiding (RFC 2865 §5.2) and the Message-Authenticator HMAC (RFC 2869 §5.14).

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};

use super::attribute::kind;
use super::packet::{EncodeError, HEADER_LEN, MAX_PASSWORD_LEN};

/// RFC 2865 §5.2: the password, NUL-padded to a multiple of 16, XORed block by block with
/// MD5(secret + previous ciphertext block), the first block chained on the authenticator.
pub(crate) fn hide_password(
    password: &[u8],
    secret: &[u8],
    authenticator: &[u8; 16],
) -> Result<Vec<u8>, EncodeError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(EncodeError::PasswordTooLong);
    }
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut hidden = password.to_vec();
    hidden.resize(padded_len, 0);
    let mut previous = *authenticator;
    for block in hidden.chunks_mut(16) {
        let pad = md5_of(&[secret, &previous]);
        for (octet, p) in block.iter_mut().zip(pad) {
            *octet ^= p;
        }
        previous.copy_from_slice(block);
    }
    Ok(hidden)
}

/// Where the Message-Authenticator's 16 value octets are in an encoded packet.
pub(crate) fn message_authenticator_range(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut offset = HEADER_LEN;
    while let [kind, length, ..] = *bytes.get(offset..)? {
        if kind == kind::MESSAGE_AUTHENTICATOR && length == 18 {
            return Some(offset + 2..offset + 18);
        }
        offset += usize::from(length.max(2));
    }
    None
}

/// Replaces the Message-Authenticator (if any) with the HMAC-MD5 of the packet as it is
/// now, with the tag's own octets zeroed (RFC 2869 §5.14).
pub(crate) fn sign_message_authenticator(bytes: &mut [u8], secret: &[u8]) {
    let Some(range) = message_authenticator_range(bytes) else {
        return;
    };
    bytes[range.clone()].fill(0);
    let tag = hmac_md5(secret, bytes);
    bytes[range].copy_from_slice(&tag);
}

/// MD5 over the concatenation of `parts`.
pub(crate) fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut digest = Md5::new();
    for part in parts {
        digest.update(part);
    }
    digest.finalize().into()
}

/// HMAC-MD5 (RFC 2104).
pub(crate) fn hmac_md5(secret: &[u8], data: &[u8]) -> [u8; 16] {
    // RFC 2104 zero-pads a key to the 64-octet block and hashes a longer one first; doing
    // that here gives the infallible fixed-size constructor the same key.
    let mut key = hmac::digest::Key::<Hmac<Md5>>::default();
    if secret.len() > key.len() {
        key[..16].copy_from_slice(&md5_of(&[secret]));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let mut mac = <Hmac<Md5> as KeyInit>::new(&key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_md5_matches_rfc_2202_including_a_key_longer_than_a_block() {
        let short = hmac_md5(&[0x0b; 16], b"Hi There");
        assert_eq!(hex::encode(short), "9294727a3638bb1c13f48ef8158bfc9d");
        let long = hmac_md5(
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(hex::encode(long), "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
        let exactly_a_block = hmac_md5(&[0x61; 64], b"x");
        let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(&[0x61; 64]).unwrap();
        mac.update(b"x");
        assert_eq!(exactly_a_block[..], mac.finalize().into_bytes()[..]);
    }
}
