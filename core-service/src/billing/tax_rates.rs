//! Tax rates. A plan's tax class names rates; among the live active rates of that name the
//! one of the customer's country and region applies, else the one of its country, else
//! the one without a country. Rates are held in ten-thousandths of a percent.

use chrono::{DateTime, Utc};
use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use serde_json::{Map, Value, json};

use super::decimal_text;
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::{Conn, Db, Tx, unique_violation};
use crate::error::{Error, FieldErrors, Result};
use crate::fields::decimal;
use crate::on_conn;
use crate::paging::{Page, PageQuery};

/// Every path an update may name.
pub const PATHS: [&str; 7] = [
    "name",
    "rate_percent",
    "inclusive",
    "country",
    "region",
    "active",
    "description",
];

/// The message of a second rate for the same name and jurisdiction.
pub const TAKEN: &str = "A tax rate with this name, country and region already exists.";

/// Decimal places of a rate in percent.
const RATE_DIGITS: u32 = 4;

/// What a client writes of a rate, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRateFields {
    /// The name tax classes refer to.
    pub name: String,
    /// Ten-thousandths of a percent.
    pub rate: i64,
    /// Prices include it.
    pub inclusive: bool,
    /// ISO 3166 alpha-2, upper case; empty: any.
    pub country: String,
    /// Empty: the whole country.
    pub region: String,
    /// Applied to new lines.
    pub active: bool,
    /// Free text.
    pub description: String,
}

impl Default for TaxRateFields {
    fn default() -> Self {
        Self {
            name: String::new(),
            rate: 0,
            inclusive: false,
            country: String::new(),
            region: String::new(),
            active: true,
            description: String::new(),
        }
    }
}

/// A stored rate.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TaxRate {
    /// Id.
    pub id: i64,
    /// The name.
    pub name: String,
    /// Ten-thousandths of a percent.
    pub rate: i64,
    /// Inclusive.
    pub inclusive: bool,
    /// Country.
    pub country: String,
    /// Region.
    pub region: String,
    /// Active.
    pub active: bool,
    /// Description.
    pub description: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl TaxRate {
    fn fields(&self) -> TaxRateFields {
        TaxRateFields {
            name: self.name.clone(),
            rate: self.rate,
            inclusive: self.inclusive,
            country: self.country.clone(),
            region: self.region.clone(),
            active: self.active,
            description: self.description.clone(),
        }
    }

    fn audit_view(&self) -> Map<String, Value> {
        let value = json!({
            "name": self.name, "rate_percent": percent_text(self.rate),
            "inclusive": self.inclusive, "country": self.country, "region": self.region,
            "active": self.active, "description": self.description,
        });
        value.as_object().cloned().unwrap_or_default()
    }

    /// How invoices label it: "VAT 16%".
    pub fn label(&self) -> String {
        format!("{} {}%", self.name, percent_text(self.rate))
    }
}

/// A rate in ten-thousandths of a percent as a client writes it: 160000 is "16".
pub fn percent_text(rate: i64) -> String {
    decimal_text(rate, RATE_DIGITS)
}

impl From<TaxRate> for pb::TaxRate {
    fn from(r: TaxRate) -> Self {
        pb::TaxRate {
            id: r.id,
            rate_percent: percent_text(r.rate),
            name: r.name,
            inclusive: r.inclusive,
            country: r.country,
            region: r.region,
            active: r.active,
            description: r.description,
            created_at: Some(timestamp(r.created_at)),
            updated_at: Some(timestamp(r.updated_at)),
        }
    }
}

/// The fields of `current` with the `selected` paths read from `input`, and every message.
pub fn read(
    current: &TaxRateFields,
    input: &pb::TaxRateInput,
    selected: &[&str],
) -> (TaxRateFields, FieldErrors) {
    let mut f = current.clone();
    let mut errors = FieldErrors::new();
    let has = |path: &str| selected.contains(&path);
    if has("name") {
        let name = input.name.trim();
        match name.chars().count() {
            0 => errors.add("name", "The name field is required."),
            n if n > 50 => errors.add("name", "The name may not be greater than 50 characters."),
            _ => f.name = name.to_owned(),
        }
    }
    if has("rate_percent") {
        let text = input.rate_percent.trim();
        if text.is_empty() {
            errors.add("rate_percent", "The rate percent field is required.");
        } else {
            match decimal::bounded(
                text,
                RATE_DIGITS,
                "rate percent",
                (0, "0"),
                (100 * 10_000, "100"),
            ) {
                Ok(rate) => f.rate = rate,
                Err(messages) => messages
                    .into_iter()
                    .for_each(|m| errors.add("rate_percent", m)),
            }
        }
    }
    if has("inclusive") {
        f.inclusive = input.inclusive.unwrap_or(false);
    }
    if has("country") {
        let country = input.country.trim().to_uppercase();
        let iso = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
        if !country.is_empty() && !iso {
            errors.add("country", "The country must be a two-letter ISO 3166 code.");
        }
        f.country = country;
    }
    if has("region") {
        let region = input.region.trim();
        if region.chars().count() > 100 {
            errors.add(
                "region",
                "The region may not be greater than 100 characters.",
            );
        }
        f.region = region.to_owned();
    }
    if has("active") {
        f.active = input.active.unwrap_or(true);
    }
    if has("description") {
        let description = input.description.trim();
        if description.chars().count() > 500 {
            errors.add(
                "description",
                "The description may not be greater than 500 characters.",
            );
        }
        f.description = description.to_owned();
    }
    if !f.region.is_empty() && f.country.is_empty() && errors.messages("country").is_empty() {
        errors.add("region", "A region needs a country.");
    }
    (f, errors)
}

const COLUMNS: &str =
    "id, name, rate, inclusive, country, region, active, description, created_at, updated_at";

/// The tax rate operations.
#[derive(Debug, Clone)]
pub struct TaxRates {
    db: Db,
    clock: SharedClock,
}

impl TaxRates {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    async fn check(
        conn: &mut Conn<'_>,
        current: &TaxRateFields,
        input: &pb::TaxRateInput,
        selected: &[&str],
        except: Option<i64>,
    ) -> Result<TaxRateFields> {
        let (fields, mut errors) = read(current, input, selected);
        if errors.is_empty() && taken(conn, &fields, except).await? {
            errors.add("name", TAKEN);
        }
        errors.into_result()?;
        Ok(fields)
    }

    /// Checks a create; writes nothing.
    pub async fn validate_create(&self, input: &pb::TaxRateInput) -> Result<()> {
        let current = TaxRateFields::default();
        Self::check(&mut self.db.conn(), &current, input, &PATHS, None)
            .await
            .map(drop)
    }

    /// Creates a rate inside `tx`.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &pb::TaxRateInput,
    ) -> Result<TaxRate> {
        let current = TaxRateFields::default();
        let f = Self::check(&mut tx.conn(), &current, input, &PATHS, None).await?;
        let now = self.clock.now();
        let id: i64 = on_conn!(&mut tx.conn(), c => sqlx::query_scalar(
            "INSERT INTO tax_rates (name, rate, inclusive, country, region, active, description, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id")
            .bind(&f.name).bind(f.rate).bind(f.inclusive).bind(&f.country).bind(&f.region)
            .bind(f.active).bind(&f.description).bind(now).fetch_one(c).await)
        .map_err(clash)?;
        let rate = find(&mut tx.conn(), id).await?;
        // Tax rates are configuration: audited, not published as events.
        let change = Change::created("tax_rate", id, rate.audit_view()).unpublished();
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(rate)
    }

    /// Rate `id`.
    pub async fn get(&self, id: i64) -> Result<TaxRate> {
        find(&mut self.db.conn(), id).await
    }

    /// A page of live rates by name, country, region.
    pub async fn list(
        &self,
        page: PageQuery,
        active: Option<bool>,
        name: Option<&str>,
    ) -> Result<Page<TaxRate>> {
        let filter = "deleted_at IS NULL AND ($1 = 0 OR ($1 = 1) = active) \
                      AND ($2 = '' OR lower(name) = lower($2))";
        let active = active.map_or(0, |a| if a { 1 } else { 2 });
        let name = name.unwrap_or("").trim();
        let page_sql = format!(
            "SELECT {COLUMNS} FROM tax_rates WHERE {filter} \
             ORDER BY lower(name), country, region, id LIMIT $3 OFFSET $4"
        );
        let count_sql = format!("SELECT COUNT(*) FROM tax_rates WHERE {filter}");
        let mut conn = self.db.conn();
        let items: Vec<TaxRate> = on_conn!(&mut conn, c => sqlx::query_as(sqlx::AssertSqlSafe(page_sql))
            .bind(active).bind(name).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let total: i64 = on_conn!(&mut conn, c => sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
            .bind(active).bind(name).fetch_one(c).await)?;
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// Changes the fields `paths` name inside `tx`. Issued lines keep their own copy.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        input: &pb::TaxRateInput,
        paths: &[String],
    ) -> Result<TaxRate> {
        let selected = super::selected_paths(paths, &PATHS)?;
        // Locked to the end, so that two changes to one rate do not overwrite each other.
        if tx.is_postgres() && id > 0 {
            on_conn!(&mut tx.conn(), c => sqlx::query(
                "SELECT id FROM tax_rates WHERE id = $1 FOR UPDATE")
                .bind(id).execute(c).await.map(drop))?;
        }
        let current = find(&mut tx.conn(), id).await?;
        let f = Self::check(
            &mut tx.conn(),
            &current.fields(),
            input,
            &selected,
            Some(id),
        )
        .await?;
        if f == current.fields() {
            return Ok(current);
        }
        let now = self.clock.now();
        on_conn!(&mut tx.conn(), c => sqlx::query(
            "UPDATE tax_rates SET name = $2, rate = $3, inclusive = $4, country = $5, region = $6, \
             active = $7, description = $8, updated_at = $9 WHERE id = $1 AND deleted_at IS NULL")
            .bind(id).bind(&f.name).bind(f.rate).bind(f.inclusive).bind(&f.country)
            .bind(&f.region).bind(f.active).bind(&f.description).bind(now)
            .execute(c).await.map(drop))
        .map_err(clash)?;
        let rate = find(&mut tx.conn(), id).await?;
        let change = Change::updated(
            "tax_rate.updated".into(),
            "tax_rate",
            id,
            &current.audit_view(),
            &rate.audit_view(),
        )
        .unpublished();
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(rate)
    }

    /// Deletes rate `id` inside `tx`; issued lines keep what they were issued with.
    pub async fn delete(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        let current = find(&mut tx.conn(), id).await?;
        let now = self.clock.now();
        on_conn!(&mut tx.conn(), c => sqlx::query(
            "UPDATE tax_rates SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL")
            .bind(id).bind(now).execute(c).await.map(drop))?;
        let change = Change::deleted("tax_rate", id, current.audit_view()).unpublished();
        audit::record(&mut tx.conn(), context, change, now).await
    }
}

fn clash(err: sqlx::Error) -> Error {
    match unique_violation(&err) {
        Some(_) => {
            let mut errors = FieldErrors::new();
            errors.add("name", TAKEN);
            Error::Validation(errors)
        }
        None => err.into(),
    }
}

async fn taken(conn: &mut Conn<'_>, f: &TaxRateFields, except: Option<i64>) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM tax_rates WHERE lower(name) = lower($1) AND country = $2 AND lower(region) = lower($3) \
         AND deleted_at IS NULL AND id <> $4 LIMIT 1")
        .bind(&f.name).bind(&f.country).bind(&f.region).bind(except.unwrap_or(0))
        .fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// The live rate `id`, or "Tax rate not found".
pub async fn find(conn: &mut Conn<'_>, id: i64) -> Result<TaxRate> {
    if id <= 0 {
        return Err(Error::NotFound("Tax rate"));
    }
    let sql = format!("SELECT {COLUMNS} FROM tax_rates WHERE id = $1 AND deleted_at IS NULL");
    let row: Option<TaxRate> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(c).await)?;
    row.ok_or(Error::NotFound("Tax rate"))
}

/// Every active live rate (a billing run picks from them with [`pick`]).
pub async fn active(conn: &mut Conn<'_>) -> Result<Vec<TaxRate>> {
    let sql =
        format!("SELECT {COLUMNS} FROM tax_rates WHERE active AND deleted_at IS NULL ORDER BY id");
    Ok(on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await)?)
}

/// Among `rates` (active and live), the one [`for_class`] finds: of that name, for the
/// region, else for the country, else without a country; the oldest among equals.
pub fn pick<'a>(
    rates: &'a [TaxRate],
    class: &str,
    country: &str,
    region: &str,
) -> Option<&'a TaxRate> {
    let (class, country, region) = (
        class.trim().to_lowercase(),
        country.trim().to_uppercase(),
        region.trim().to_lowercase(),
    );
    rates
        .iter()
        .filter(|r| r.name.to_lowercase() == class)
        .filter_map(|r| {
            let rank = if r.country.is_empty() {
                0
            } else if r.country != country {
                return None;
            } else if r.region.is_empty() {
                1
            } else if r.region.to_lowercase() == region {
                2
            } else {
                return None;
            };
            Some((rank, r))
        })
        .min_by_key(|(rank, r)| (-rank, r.id))
        .map(|(_, r)| r)
}

/// The active rate a tax class gives a customer of `country` and `region`: the rate of
/// that name for the region, else for the country, else without a country.
pub async fn for_class(
    conn: &mut Conn<'_>,
    class: &str,
    country: &str,
    region: &str,
) -> Result<Option<TaxRate>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tax_rates WHERE lower(name) = lower($1) AND active \
         AND deleted_at IS NULL AND (country = '' OR (country = $2 AND (region = '' OR lower(region) = lower($3)))) \
         ORDER BY CASE WHEN country = '' THEN 0 WHEN region = '' THEN 1 ELSE 2 END DESC, id LIMIT 1"
    );
    let country = country.trim().to_uppercase();
    let found: Option<TaxRate> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(class.trim()).bind(country).bind(region.trim()).fetch_optional(c).await)?;
    Ok(found)
}
