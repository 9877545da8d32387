//! Rules about RADIUS logins that the core and the edge share.

/// The longest login FreeRADIUS's SQL tables hold here.
pub const RADIUS_USERNAME_MAX: usize = 64;

/// Whether `name` can be a RADIUS username. FreeRADIUS rewrites characters outside
/// `a-z A-Z 0-9 @ . - _ :` before its SQL query (SQLite has no escape for them), so a
/// login with any other character could never match its own row.
pub fn valid_radius_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= RADIUS_USERNAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@.-_:".contains(&b))
}
