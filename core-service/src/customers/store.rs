//! Customer SQL, written once for both engines. Only the row lock differs: PostgreSQL
//! takes `FOR UPDATE`; SQLite needs none because its write transactions are `IMMEDIATE`
//! and so already exclusive.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::{
    Address, BillingMethod, Customer, CustomerFields, CustomerStatus, ListQuery, Lookup,
    Organization,
};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::tenancy::Tenancy;

macro_rules! columns {
    () => {
        "id, portal_id, uuid, company_name, first_name, last_name, email, phone, street, city, state, postal_code, country, \
         billing_street, billing_city, billing_state, billing_postal_code, billing_country, \
         user_group_id, partner_id, billing_method, billing_day, auto_suspension, suspend_after_days, \
         status, status_reason, balance_minor, currency, created_at, updated_at, tax_exempt, tax_exempt_reference"
    };
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: i64,
    portal_id: String,
    uuid: String,
    company_name: Option<String>,
    first_name: String,
    last_name: Option<String>,
    email: Option<String>,
    phone: String,
    street: String,
    city: String,
    state: String,
    postal_code: String,
    country: String,
    billing_street: String,
    billing_city: String,
    billing_state: String,
    billing_postal_code: String,
    billing_country: String,
    user_group_id: Option<i64>,
    partner_id: Option<i64>,
    billing_method: Option<String>,
    billing_day: Option<i32>,
    auto_suspension: bool,
    suspend_after_days: i32,
    status: String,
    status_reason: Option<String>,
    balance_minor: i64,
    currency: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    tax_exempt: bool,
    tax_exempt_reference: Option<String>,
}

impl CustomerRow {
    fn into_customer(self, organizations: Vec<Organization>) -> Result<Customer> {
        let status = CustomerStatus::parse(&self.status).ok_or_else(|| {
            anyhow::anyhow!("customer {} has unknown status {:?}", self.id, self.status)
        })?;
        let billing_method = match self.billing_method.as_deref() {
            None => None,
            Some(name) => Some(BillingMethod::parse(name).ok_or_else(|| {
                anyhow::anyhow!("customer {} has unknown billing method {name:?}", self.id)
            })?),
        };
        Ok(Customer {
            id: self.id,
            portal_id: self.portal_id,
            uuid: self.uuid,
            fields: CustomerFields {
                first_name: self.first_name,
                last_name: self.last_name,
                email: self.email,
                phone: self.phone,
                address: Address {
                    street: self.street,
                    city: self.city,
                    state: self.state,
                    zip: self.postal_code,
                    country: self.country,
                },
                billing_address: Address {
                    street: self.billing_street,
                    city: self.billing_city,
                    state: self.billing_state,
                    zip: self.billing_postal_code,
                    country: self.billing_country,
                },
                user_group_id: self.user_group_id,
                organization_ids: organizations.iter().map(|o| o.id).collect(),
                partner_id: self.partner_id,
                billing_method,
                billing_day: self.billing_day,
                auto_suspension: self.auto_suspension,
                suspend_after_days: self.suspend_after_days,
                company_name: self.company_name,
                tax_exempt: self.tax_exempt,
                tax_exempt_reference: self.tax_exempt_reference,
            },
            organizations,
            status,
            status_reason: self.status_reason,
            balance_minor: self.balance_minor,
            currency: self.currency,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The live customer found by `lookup`; with `lock`, the row is locked until the
/// transaction ends.
pub(super) async fn find(
    conn: &mut Conn<'_>,
    tenancy: Tenancy,
    lookup: &Lookup,
    lock: bool,
) -> Result<Option<Customer>> {
    // Column and lock come from the closed lists below, never from input.
    let lock = if lock && conn.is_postgres() {
        " FOR UPDATE"
    } else {
        ""
    };
    let column = match lookup {
        Lookup::Id(_) => "id",
        Lookup::PortalId(_) => "portal_id",
        Lookup::Uuid(_) => "uuid",
    };
    let sql = format!(
        "SELECT {} FROM customers WHERE {column} = $1 AND deleted_at IS NULL \
         AND ($2 IS NULL OR partner_id = $2){lock}",
        columns!()
    );
    let partner = tenancy.partner();
    let row: Option<CustomerRow> = match lookup {
        Lookup::Id(id) => on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id).bind(partner).fetch_optional(c).await)?,
        Lookup::PortalId(text) | Lookup::Uuid(text) => {
            on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(sql))
            .bind(text).bind(partner).fetch_optional(c).await)?
        }
    };
    let Some(row) = row else { return Ok(None) };
    let mut organizations = organizations_of(conn, &[row.id]).await?;
    let organizations = organizations.remove(&row.id).unwrap_or_default();
    row.into_customer(organizations).map(Some)
}

/// Whether a live customer other than `except` has this phone.
pub(super) async fn phone_taken(
    conn: &mut Conn<'_>,
    phone: &str,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM customers WHERE phone = $1 AND deleted_at IS NULL AND ($2 IS NULL OR id <> $2) LIMIT 1")
        .bind(phone).bind(except).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Whether a live customer other than `except` has this e-mail.
pub(super) async fn email_taken(
    conn: &mut Conn<'_>,
    email: &str,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM customers WHERE email = $1 AND deleted_at IS NULL AND ($2 IS NULL OR id <> $2) LIMIT 1")
        .bind(email).bind(except).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Whether any customer, live or deleted, has this portal id (they are never reused).
pub(super) async fn portal_id_taken(conn: &mut Conn<'_>, portal_id: &str) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM customers WHERE portal_id = $1").bind(portal_id).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// A table customers reference.
#[derive(Debug, Clone, Copy)]
pub(super) enum Referenced {
    Partner,
    UserGroup,
}

/// Whether the live row `id` exists in `table`.
pub(super) async fn exists(conn: &mut Conn<'_>, table: Referenced, id: i64) -> Result<bool> {
    // On PostgreSQL the referenced row is share-locked until the transaction ends, so a
    // concurrent delete of it (which locks it for update) waits, then sees the reference.
    // SQLite's write transactions are exclusive already.
    let lock = if conn.is_postgres() { " FOR SHARE" } else { "" };
    let table = match table {
        Referenced::Partner => "partners",
        Referenced::UserGroup => "user_groups",
    };
    // Table and lock come from the closed lists above, never from input.
    let sql = format!("SELECT id FROM {table} WHERE id = $1 AND deleted_at IS NULL{lock}");
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(sql)).bind(id).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// The ids among `ids` that name no live organization.
pub(super) async fn missing_organizations(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Only the placeholders are generated; every value is bound.
    let lock = if conn.is_postgres() { " FOR SHARE" } else { "" };
    let sql = format!(
        "SELECT id FROM organizations WHERE deleted_at IS NULL AND id IN ({}){lock}",
        placeholders(1, ids.len())
    );
    let found: Vec<i64> = on_conn!(conn, c => {
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_all(c).await
    })?;
    Ok(ids
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect())
}

/// Inserts a live customer; returns its id. Unique violations come back as `sqlx::Error`
/// for the caller to name the field.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    portal_id: &str,
    fields: &CustomerFields,
    password_hash: &str,
    status: CustomerStatus,
    currency: &str,
    now: DateTime<Utc>,
) -> std::result::Result<i64, sqlx::Error> {
    let f = fields;
    on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO customers (portal_id, first_name, last_name, email, phone, portal_password_hash, \
         street, city, state, postal_code, country, \
         billing_street, billing_city, billing_state, billing_postal_code, billing_country, \
         user_group_id, partner_id, billing_method, billing_day, auto_suspension, suspend_after_days, \
         status, balance_minor, currency, created_at, updated_at, uuid, company_name, \
         tax_exempt, tax_exempt_reference) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
         $21, $22, $23, 0, $24, $25, $25, $26, $27, $28, $29) RETURNING id")
        .bind(portal_id).bind(&f.first_name).bind(&f.last_name).bind(&f.email).bind(&f.phone).bind(password_hash)
        .bind(&f.address.street).bind(&f.address.city).bind(&f.address.state).bind(&f.address.zip).bind(&f.address.country)
        .bind(&f.billing_address.street).bind(&f.billing_address.city).bind(&f.billing_address.state)
        .bind(&f.billing_address.zip).bind(&f.billing_address.country)
        .bind(f.user_group_id).bind(f.partner_id).bind(f.billing_method.map(BillingMethod::as_str)).bind(f.billing_day)
        .bind(f.auto_suspension).bind(f.suspend_after_days).bind(status.as_str()).bind(currency).bind(now)
        .bind(crate::fields::uuid::new_v4()).bind(&f.company_name)
        .bind(f.tax_exempt).bind(&f.tax_exempt_reference)
        .fetch_one(c).await)
}

/// Writes every field of a live customer (and the password hash when given).
pub(super) async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    fields: &CustomerFields,
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> std::result::Result<(), sqlx::Error> {
    let f = fields;
    on_conn!(conn, c => sqlx::query(
        "UPDATE customers SET first_name = $2, last_name = $3, email = $4, phone = $5, \
         portal_password_hash = COALESCE($6, portal_password_hash), \
         street = $7, city = $8, state = $9, postal_code = $10, country = $11, \
         billing_street = $12, billing_city = $13, billing_state = $14, billing_postal_code = $15, billing_country = $16, \
         user_group_id = $17, partner_id = $18, billing_method = $19, billing_day = $20, auto_suspension = $21, \
         suspend_after_days = $22, updated_at = $23, company_name = $24, \
         tax_exempt = $25, tax_exempt_reference = $26 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).bind(&f.first_name).bind(&f.last_name).bind(&f.email).bind(&f.phone).bind(password_hash)
        .bind(&f.address.street).bind(&f.address.city).bind(&f.address.state).bind(&f.address.zip).bind(&f.address.country)
        .bind(&f.billing_address.street).bind(&f.billing_address.city).bind(&f.billing_address.state)
        .bind(&f.billing_address.zip).bind(&f.billing_address.country)
        .bind(f.user_group_id).bind(f.partner_id).bind(f.billing_method.map(BillingMethod::as_str)).bind(f.billing_day)
        .bind(f.auto_suspension).bind(f.suspend_after_days).bind(now).bind(&f.company_name)
        .bind(f.tax_exempt).bind(&f.tax_exempt_reference)
        .execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

/// Replaces a customer's organizations.
pub(super) async fn set_organizations(
    conn: &mut Conn<'_>,
    id: i64,
    organization_ids: &[i64],
) -> Result<()> {
    on_conn!(conn, c => sqlx::query("DELETE FROM customer_organizations WHERE customer_id = $1")
        .bind(id).execute(c).await.map(|done| done.rows_affected()))?;
    for organization_id in organization_ids {
        on_conn!(conn, c => sqlx::query(
            "INSERT INTO customer_organizations (customer_id, organization_id) VALUES ($1, $2)")
            .bind(id).bind(organization_id).execute(c).await.map(|done| done.rows_affected()))?;
    }
    Ok(())
}

/// Sets a live customer's life-cycle state.
pub(super) async fn set_status(
    conn: &mut Conn<'_>,
    id: i64,
    status: CustomerStatus,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE customers SET status = $2, status_reason = $3, updated_at = $4, \
         dunning_suspended = FALSE WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).bind(status.as_str()).bind(reason).bind(now).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

/// Marks a live customer deleted; the row and its history stay.
pub(super) async fn soft_delete(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE customers SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).bind(now).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

// One WHERE clause for the page and its count. `$1` is the escaped name/e-mail/portal
// pattern ('' for no search), `$2` the phone pattern, `$3` the status ('' for any),
// `$4` the partner filter (NULL for any), `$5` the tenancy's partner (NULL for all).
const LIST_FILTER: &str = "deleted_at IS NULL \
    AND ($1 = '' OR lower(first_name || ' ' || COALESCE(last_name, '')) LIKE $1 ESCAPE '\\' \
         OR lower(COALESCE(email, '')) LIKE $1 ESCAPE '\\' OR portal_id LIKE $1 ESCAPE '\\' \
         OR phone LIKE $2 ESCAPE '\\') \
    AND ($3 = '' OR status = $3) \
    AND ($4 IS NULL OR partner_id = $4) \
    AND ($5 IS NULL OR partner_id = $5)";

/// One page of live customers matching `query`, and how many match in all.
pub(super) async fn list(
    conn: &mut Conn<'_>,
    tenancy: Tenancy,
    query: &ListQuery,
) -> Result<(Vec<Customer>, i64)> {
    let (name_pattern, phone_pattern) = search_patterns(&query.search);
    let status = query.status.map(CustomerStatus::as_str).unwrap_or("");
    let direction = query.sort.direction();
    // The sort column comes from a closed list (`SortColumn::KEYS`), never from the
    // client's text.
    let page_sql = format!(
        "SELECT {} FROM customers WHERE {LIST_FILTER} ORDER BY {} {direction}, id {direction} LIMIT $6 OFFSET $7",
        columns!(),
        query.sort.column.as_sql()
    );
    let count_sql = format!("SELECT COUNT(*) FROM customers WHERE {LIST_FILTER}");
    let rows: Vec<CustomerRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(page_sql))
        .bind(&name_pattern).bind(&phone_pattern).bind(status).bind(query.partner_id).bind(tenancy.partner())
        .bind(query.page.limit()).bind(query.page.offset()).fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(count_sql))
        .bind(&name_pattern).bind(&phone_pattern).bind(status).bind(query.partner_id).bind(tenancy.partner()).fetch_one(c).await)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut organizations = organizations_of(conn, &ids).await?;
    let customers = rows
        .into_iter()
        .map(|row| {
            let orgs = organizations.remove(&row.id).unwrap_or_default();
            row.into_customer(orgs)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((customers, total))
}

/// LIKE patterns for a search text: lower-cased with `%`, `_` and `\` escaped, and a
/// phone pattern with the separators people type dropped.
fn search_patterns(search: &str) -> (String, String) {
    let search = search.trim();
    if search.is_empty() {
        return (String::new(), String::new());
    }
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    };
    let name = format!("%{}%", escape(&search.to_lowercase()));
    let phone_digits = crate::fields::normalize_phone(search);
    let phone = if phone_digits.is_empty() {
        name.clone()
    } else {
        format!("%{}%", escape(&phone_digits))
    };
    (name, phone)
}

async fn organizations_of(
    conn: &mut Conn<'_>,
    customer_ids: &[i64],
) -> Result<HashMap<i64, Vec<Organization>>> {
    let mut by_customer: HashMap<i64, Vec<Organization>> = HashMap::new();
    if customer_ids.is_empty() {
        return Ok(by_customer);
    }
    let sql = format!(
        "SELECT co.customer_id, o.id, o.name FROM customer_organizations co \
         JOIN organizations o ON o.id = co.organization_id \
         WHERE co.customer_id IN ({}) ORDER BY o.id",
        placeholders(1, customer_ids.len())
    );
    let rows: Vec<(i64, i64, String)> = on_conn!(conn, c => {
        let mut query = sqlx::query_as(AssertSqlSafe(sql));
        for id in customer_ids {
            query = query.bind(id);
        }
        query.fetch_all(c).await
    })?;
    for (customer_id, id, name) in rows {
        by_customer
            .entry(customer_id)
            .or_default()
            .push(Organization { id, name });
    }
    Ok(by_customer)
}

/// "$first, $first+1, …" for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_escape_like_wildcards() {
        assert_eq!(search_patterns(""), (String::new(), String::new()));
        assert_eq!(search_patterns(" Ana_50% ").0, "%ana\\_50\\%%");
        assert_eq!(search_patterns("+1 555-01").1, "%+155501%");
    }

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(placeholders(1, 3), "$1, $2, $3");
    }
}
