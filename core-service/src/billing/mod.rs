//! Billing: tax rates, the deployment's billing settings, invoices and credit notes with
//! gapless numbers, payments and their allocation, and each customer's append-only ledger.
//!
//! `rules` holds the arithmetic every invoice line goes through — periods, proration by
//! days, rounding half to even once per line, inclusive and exclusive tax — as pure
//! functions over integer minor units. `ledger` is the one place a customer's balance
//! changes: every issued invoice, credit note, payment, refund and void is an entry written
//! under the customer's row in the transaction of the change itself, so the balance always
//! equals the sum of the entries.

pub mod adjustments;
pub mod dunning;
pub mod grpc;
mod invoice_store;
pub mod invoices;
pub mod ledger;
pub mod payments;
pub mod pdf;
pub mod rules;
pub mod runs;
pub mod settings;
pub mod tax_rates;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::sync::OnceLock;

use crate::error::{Error, FieldErrors, Result};

/// The deployment's time zone, in which billing's days (issue and due dates, overdue, the
/// statement's days) are counted.
static TIME_ZONE: OnceLock<Tz> = OnceLock::new();

/// Sets the deployment's time zone once, at start (later calls keep the first).
pub fn set_time_zone(zone: Tz) {
    let _ = TIME_ZONE.set(zone);
}

fn zone() -> Tz {
    TIME_ZONE.get().copied().unwrap_or(Tz::UTC)
}

/// The deployment's day at `at`: an invoice issued at 01:00 in Nairobi is dated that day,
/// not the UTC day before.
pub fn day(at: DateTime<Utc>) -> NaiveDate {
    day_in(zone(), at)
}

fn day_in(zone: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The first instant of `date` in the deployment's time zone (after a DST gap at midnight,
/// the first instant after it).
pub fn day_start(date: NaiveDate) -> DateTime<Utc> {
    day_start_in(zone(), date)
}

fn day_start_in(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    zone.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// Decimals written without trailing zeros (quantities, factors, rates): the contract's one
/// writer of them.
pub use lastmile_proto::decimal_text;

/// An amount as the proto carries it.
pub(crate) fn money(minor_units: i64, currency: &str) -> Option<lastmile_proto::v1::Money> {
    Some(lastmile_proto::v1::Money {
        minor_units,
        currency: currency.to_owned(),
    })
}

/// An amount of `digits` minor digits with all of them: 4999, 2 is "49.99", 5, 0 is "5".
pub fn amount_text(minor: i64, digits: u32) -> String {
    pdf::format_amount(minor, digits)
}

/// The update mask's paths among `known`, or a field error for each stranger.
pub(crate) fn selected_paths<'a>(paths: &[String], known: &[&'a str]) -> Result<Vec<&'a str>> {
    let mut selected = Vec::new();
    let mut errors = FieldErrors::new();
    for path in paths {
        match known.iter().find(|p| **p == path.as_str()) {
            Some(p) => selected.push(*p),
            None => errors.add(
                "update_mask",
                format!("The field \"{path}\" cannot be updated."),
            ),
        }
    }
    errors.into_result()?;
    Ok(selected)
}

/// A stored value that is not one of its column's names: the database was changed behind
/// the core's back.
pub(crate) fn stored<T>(column: &str, value: &str) -> Result<T> {
    Err(Error::Internal(anyhow::anyhow!(
        "unknown stored {column} {value:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_the_deployments_days() {
        let nairobi: Tz = "Africa/Nairobi".parse().unwrap();
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // 22:30 UTC on the 30th is 01:30 on the 1st in Nairobi (UTC+3).
        assert_eq!(
            day_in(nairobi, at("2026-11-30T22:30:00Z")),
            date(2026, 12, 1)
        );
        assert_eq!(
            day_in(Tz::UTC, at("2026-11-30T22:30:00Z")),
            date(2026, 11, 30)
        );
        assert_eq!(
            day_start_in(nairobi, date(2026, 12, 1)),
            at("2026-11-30T21:00:00Z")
        );
        // Santiago skips midnight when summer time starts (2026-09-06): the day starts at 01:00.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        assert_eq!(
            day_start_in(santiago, date(2026, 9, 6)),
            at("2026-09-06T04:00:00Z")
        );
    }

    #[test]
    fn amounts_keep_every_minor_digit() {
        for (minor, digits, text) in [
            (4999, 2, "49.99"),
            (5000, 2, "50.00"),
            (-5, 2, "-0.05"),
            (0, 2, "0.00"),
            (7, 0, "7"),
            (1234, 3, "1.234"),
        ] {
            assert_eq!(amount_text(minor, digits), text, "{minor} at {digits}");
        }
    }
}
