//! A row of FreeRADIUS's check and reply tables (`radcheck`, `radreply`, `radgroupcheck`,
//! `radgroupreply`): what Lastmile writes for a plan's group and a service's user alike,
//! so both are built as plain values first and written by one statement shape.

use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

/// One attribute with its operator and value, as FreeRADIUS reads it from SQL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// Makes the reply rows of `group` exactly `rows`, inside the caller's transaction.
pub async fn write_group(conn: &mut Conn<'_>, group: &str, rows: &[RadiusRow]) -> Result<()> {
    on_conn!(conn, c => sqlx::query("DELETE FROM radgroupreply WHERE groupname = $1")
        .bind(group)
        .execute(c)
        .await
        .map(drop))?;
    for row in rows {
        on_conn!(conn, c => sqlx::query(
            "INSERT INTO radgroupreply (groupname, attribute, op, value) VALUES ($1, $2, $3, $4)")
            .bind(group)
            .bind(&row.attribute)
            .bind(&row.op)
            .bind(&row.value)
            .execute(c)
            .await
            .map(drop))?;
    }
    Ok(())
}
