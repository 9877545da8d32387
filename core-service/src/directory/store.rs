//! Directory SQL, written once for both engines and all three kinds: the table name comes
//! from [`Kind`] (a closed list), and only partners have the contact columns. Only the row
//! lock differs: PostgreSQL takes `FOR UPDATE`; SQLite needs none because its write
//! transactions are `IMMEDIATE` and so already exclusive.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::{DirectoryQuery, Entry, EntryFields, Kind};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::paging::search_pattern;

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    name: String,
    description: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl EntryRow {
    fn into_entry(self, kind: Kind) -> Entry {
        Entry {
            kind,
            id: self.id,
            fields: EntryFields {
                name: self.name,
                description: self.description,
                contact_email: self.contact_email,
                contact_phone: self.contact_phone,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The selected columns of `kind`; kinds without contact details read them as NULL so that
/// one row type decodes every kind.
fn columns(kind: Kind) -> &'static str {
    if kind.has_contact() {
        "id, name, description, contact_email, contact_phone, created_at, updated_at"
    } else {
        "id, name, description, CAST(NULL AS TEXT) AS contact_email, \
         CAST(NULL AS TEXT) AS contact_phone, created_at, updated_at"
    }
}

/// The live entry `id` of `kind`, locked for the transaction when `lock`.
pub(super) async fn find(
    conn: &mut Conn<'_>,
    kind: Kind,
    id: i64,
    lock: bool,
) -> Result<Option<Entry>> {
    let lock = if lock && conn.is_postgres() {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE id = $1 AND deleted_at IS NULL{lock}",
        columns(kind),
        kind.table()
    );
    let row: Option<EntryRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(sql))
        .bind(id).fetch_optional(c).await)?;
    Ok(row.map(|r| r.into_entry(kind)))
}

/// Whether another live entry of `kind` (not `except`) has `name`, ignoring case.
pub(super) async fn name_taken(
    conn: &mut Conn<'_>,
    kind: Kind,
    name: &str,
    except: Option<i64>,
) -> Result<bool> {
    let sql = format!(
        "SELECT id FROM {} WHERE lower(name) = lower($1) AND deleted_at IS NULL \
         AND ($2 IS NULL OR id <> $2) LIMIT 1",
        kind.table()
    );
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(name).bind(except).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Inserts a live entry; returns its id. The raw error is returned so that the caller can
/// turn a unique violation (a concurrent create of the same name) into a field error.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    kind: Kind,
    f: &EntryFields,
    now: DateTime<Utc>,
) -> std::result::Result<i64, sqlx::Error> {
    let table = kind.table();
    if kind.has_contact() {
        let sql = format!(
            "INSERT INTO {table} (name, description, contact_email, contact_phone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id"
        );
        on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(&f.name).bind(&f.description).bind(&f.contact_email).bind(&f.contact_phone).bind(now)
            .fetch_one(c).await)
    } else {
        let sql = format!(
            "INSERT INTO {table} (name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $3) RETURNING id"
        );
        on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(&f.name).bind(&f.description).bind(now).fetch_one(c).await)
    }
}

/// Writes every field of a live entry.
pub(super) async fn update(
    conn: &mut Conn<'_>,
    kind: Kind,
    id: i64,
    f: &EntryFields,
    now: DateTime<Utc>,
) -> std::result::Result<(), sqlx::Error> {
    let table = kind.table();
    if kind.has_contact() {
        let sql = format!(
            "UPDATE {table} SET name = $2, description = $3, contact_email = $4, contact_phone = $5, \
             updated_at = $6 WHERE id = $1 AND deleted_at IS NULL"
        );
        on_conn!(conn, c => sqlx::query(AssertSqlSafe(sql))
            .bind(id).bind(&f.name).bind(&f.description).bind(&f.contact_email).bind(&f.contact_phone)
            .bind(now).execute(c).await.map(|done| done.rows_affected()))?;
    } else {
        let sql = format!(
            "UPDATE {table} SET name = $2, description = $3, updated_at = $4 \
             WHERE id = $1 AND deleted_at IS NULL"
        );
        on_conn!(conn, c => sqlx::query(AssertSqlSafe(sql))
            .bind(id).bind(&f.name).bind(&f.description).bind(now)
            .execute(c).await.map(|done| done.rows_affected()))?;
    }
    Ok(())
}

/// Marks a live entry deleted; the row stays for history (and for the customers and
/// audit entries that name it).
pub(super) async fn soft_delete(
    conn: &mut Conn<'_>,
    kind: Kind,
    id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        kind.table()
    );
    on_conn!(conn, c => sqlx::query(AssertSqlSafe(sql))
        .bind(id).bind(now).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

/// How many live customers reference entry `id` of `kind`.
pub(super) async fn referencing_customers(conn: &mut Conn<'_>, kind: Kind, id: i64) -> Result<i64> {
    let sql = match kind {
        Kind::Partner => {
            "SELECT COUNT(*) FROM customers WHERE partner_id = $1 AND deleted_at IS NULL"
        }
        Kind::UserGroup => {
            "SELECT COUNT(*) FROM customers WHERE user_group_id = $1 AND deleted_at IS NULL"
        }
        Kind::Organization => {
            "SELECT COUNT(*) FROM customer_organizations co JOIN customers c ON c.id = co.customer_id \
             WHERE co.organization_id = $1 AND c.deleted_at IS NULL"
        }
    };
    let count: i64 = on_conn!(conn, c => sqlx::query_scalar(sql).bind(id).fetch_one(c).await)?;
    Ok(count)
}

/// How many unrevoked API keys act for partner `id`.
pub(super) async fn partner_api_keys(conn: &mut Conn<'_>, id: i64) -> Result<i64> {
    let count: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_keys WHERE partner_id = $1 AND revoked_at IS NULL")
        .bind(id).fetch_one(c).await)?;
    Ok(count)
}

// One WHERE clause for the page and its count; `$1` is the escaped name pattern ('' for
// no search).
const LIST_FILTER: &str = "deleted_at IS NULL AND ($1 = '' OR lower(name) LIKE $1 ESCAPE '\\')";

/// One page of live entries of `kind` matching `query`, and how many match in all.
pub(super) async fn list(
    conn: &mut Conn<'_>,
    kind: Kind,
    query: &DirectoryQuery,
) -> Result<(Vec<Entry>, i64)> {
    let pattern = search_pattern(&query.search);
    let direction = query.sort.direction();
    // The table and the sort expression come from closed lists, never from client text.
    let page_sql = format!(
        "SELECT {} FROM {} WHERE {LIST_FILTER} ORDER BY {} {direction}, id {direction} LIMIT $2 OFFSET $3",
        columns(kind),
        kind.table(),
        query.sort.column.as_sql()
    );
    let count_sql = format!("SELECT COUNT(*) FROM {} WHERE {LIST_FILTER}", kind.table());
    let rows: Vec<EntryRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(page_sql))
        .bind(&pattern).bind(query.page.limit()).bind(query.page.offset()).fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(count_sql))
        .bind(&pattern).fetch_one(c).await)?;
    Ok((
        rows.into_iter().map(|r| r.into_entry(kind)).collect(),
        total,
    ))
}
