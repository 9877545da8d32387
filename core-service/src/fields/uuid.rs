//! UUIDs as the contract writes them: 36 characters, lowercase hex, hyphenated
//! (`8-4-4-4-12`). New ones are random (version 4).

use rand::RngCore;

/// A new random (version 4, RFC 9562) UUID.
pub fn new_v4() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `text` as a UUID in the contract's spelling (any case accepted, lowercase returned);
/// `None` when it is not one.
pub fn parse(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    shaped.then(|| text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_uuids_are_version_4_and_parse() {
        let a = new_v4();
        let b = new_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!("89ab".contains(&a[19..20]), "{a}");
        assert_eq!(parse(&a).as_deref(), Some(a.as_str()));
    }

    #[test]
    fn only_the_hyphenated_form_is_a_uuid() {
        assert_eq!(
            parse("6F9619FF-8B86-D011-B42D-00CF4FC964FF").as_deref(),
            Some("6f9619ff-8b86-d011-b42d-00cf4fc964ff")
        );
        for text in [
            "",
            "12345678",
            "6f9619ff8b86d011b42d00cf4fc964ff",
            "6f9619ff-8b86-d011-b42d-00cf4fc964f",
            "6f9619ff-8b86-d011-b42d-00cf4fc964fg",
            "{6f9619ff-8b86-d011-b42d-00cf4fc964ff}",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
