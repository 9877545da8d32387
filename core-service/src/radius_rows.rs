//! A row of FreeRADIUS's check and reply tables (`radcheck`, `radreply`, `radgroupcheck`,
//! `radgroupreply`): what Lastmile writes for a plan's group and a service's user alike,
//! so both are built as plain values first and written by one statement shape.

/// One attribute with its operator and value, as FreeRADIUS reads it from SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusRow {
    /// The dictionary name, e.g. `Mikrotik-Rate-Limit`.
    pub attribute: String,
    /// `=`, `:=`, `+=` (reply) or `==`, `:=` … (check).
    pub op: String,
    /// The value as text.
    pub value: String,
}

impl RadiusRow {
    /// A row of `attribute`, `op` and `value`.
    pub fn new(
        attribute: impl Into<String>,
        op: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            attribute: attribute.into(),
            op: op.into(),
            value: value.into(),
        }
    }
}
