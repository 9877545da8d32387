//! The arithmetic of invoice lines, in integer minor units (7999 is 79.99 of a currency
//! with two minor digits). Every division rounds half to even, once, where a line's
//! amount is made; totals are sums of lines and never rounded again.

use chrono::{Datelike, Months, NaiveDate};

/// Tax rates are percentages with up to four decimals, held as ten-thousandths of a
/// percent: 16 % is 160_000, 7.5 % is 75_000.
pub const RATE_SCALE: i128 = 10_000;

/// `numerator / denominator` rounded to the nearest integer, ties to the even one.
/// `denominator` must be positive; a zero denominator gives zero rather than a panic.
pub fn div_half_even(numerator: i128, denominator: i128) -> i128 {
    if denominator <= 0 {
        return 0;
    }
    let quotient = numerator.div_euclid(denominator);
    let twice_rest = 2 * numerator.rem_euclid(denominator);
    match twice_rest.cmp(&denominator) {
        std::cmp::Ordering::Less => quotient,
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal if quotient % 2 == 0 => quotient,
        std::cmp::Ordering::Equal => quotient + 1,
    }
}

/// A billing period: `start` included, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first day billed.
    pub start: NaiveDate,
    /// The day after the last day billed (the next period's start).
    pub end: NaiveDate,
}

impl Period {
    /// The period of `months` months starting on `start` (1, 3, 6 or 12 for plans).
    pub fn starting(start: NaiveDate, months: u32) -> Period {
        let end = start
            .checked_add_months(Months::new(months))
            .unwrap_or(NaiveDate::MAX);
        Period { start, end }
    }

    /// The period of `months` months that ends on `end`.
    pub fn ending(end: NaiveDate, months: u32) -> Period {
        let start = end
            .checked_sub_months(Months::new(months))
            .unwrap_or(NaiveDate::MIN);
        Period { start, end }
    }

    /// Its length in days.
    pub fn days(self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// The days from `from` (included) to the period's end; none before the start counts,
    /// and a day after the end leaves none.
    pub fn days_from(self, from: NaiveDate) -> i64 {
        (self.end - from.max(self.start))
            .num_days()
            .clamp(0, self.days())
    }
}

/// The first billing date on or after `date` for billing day `day` (1 to 28, so that every
/// month has it).
pub fn next_billing_date(date: NaiveDate, day: u32) -> NaiveDate {
    let day = day.clamp(1, 28);
    let this_month = date.with_day(day).unwrap_or(date);
    if this_month >= date {
        return this_month;
    }
    this_month
        .checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX)
}

/// The last billing date on or before `date` for billing day `day` (1 to 28).
pub fn previous_billing_date(date: NaiveDate, day: u32) -> NaiveDate {
    let day = day.clamp(1, 28);
    let this_month = date.with_day(day).unwrap_or(date);
    if this_month <= date {
        return this_month;
    }
    this_month
        .checked_sub_months(Months::new(1))
        .unwrap_or(NaiveDate::MIN)
}

/// `amount` for `days` of a period of `period_days`, rounded half to even.
pub fn prorate(amount_minor: i64, days: i64, period_days: i64) -> i64 {
    let value = div_half_even(
        i128::from(amount_minor) * i128::from(days),
        i128::from(period_days),
    );
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// The first charge of a service billed `prorata` that starts on `activation`: the days
/// up to its first billing date, as a share of the full period that ends there. `None`
/// when it starts on a billing date (its first period is a whole one).
pub fn first_prorated(
    fee_minor: i64,
    activation: NaiveDate,
    billing_day: u32,
    months: u32,
) -> Option<(Period, i64)> {
    let first_billing = next_billing_date(activation, billing_day);
    if first_billing == activation {
        return None;
    }
    let full = Period::ending(first_billing, months);
    let part = Period {
        start: activation,
        end: first_billing,
    };
    Some((part, prorate(fee_minor, part.days(), full.days())))
}

/// A plan change on `day` within `period`: the credit of the old plan's unused days
/// (negative) and the charge of the new plan for the same days, as two lines.
pub fn plan_change(
    old_fee_minor: i64,
    new_fee_minor: i64,
    period: Period,
    day: NaiveDate,
) -> (i64, i64) {
    let remaining = period.days_from(day);
    let days = period.days();
    (
        -prorate(old_fee_minor, remaining, days),
        prorate(new_fee_minor, remaining, days),
    )
}

/// The credit (negative) for `days` of a period not to be charged: days suspended, or the
/// days after a termination (`period.days_from(termination)`).
pub fn unused_days_credit(fee_minor: i64, days: i64, period: Period) -> i64 {
    -prorate(fee_minor, days, period.days())
}

/// The tax on a net amount at `rate` (ten-thousandths of a percent), rounded half to even.
pub fn tax_on_net(net_minor: i64, rate: i64) -> i64 {
    let value = div_half_even(i128::from(net_minor) * i128::from(rate), 100 * RATE_SCALE);
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A gross amount that includes tax at `rate`, split into (net, tax): the tax is rounded
/// half to even and the net is the rest, so the two always add up to the gross.
pub fn split_inclusive(gross_minor: i64, rate: i64) -> (i64, i64) {
    let tax = div_half_even(
        i128::from(gross_minor) * i128::from(rate),
        100 * RATE_SCALE + i128::from(rate),
    );
    let tax = i64::try_from(tax).unwrap_or(0);
    (gross_minor - tax, tax)
}

/// Scale of a line's quantity: thousandths.
pub const QUANTITY_SCALE: i128 = 1_000;
/// Scale of a line's proration factor: millionths.
pub const FACTOR_SCALE: i128 = 1_000_000;

/// How a line is taxed: a rate in ten-thousandths of a percent, and whether its price
/// includes the tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTax {
    /// Ten-thousandths of a percent.
    pub rate: i64,
    /// The price includes the tax.
    pub inclusive: bool,
}

/// A line's (net, tax): the unit price times quantity (thousandths) times proration factor
/// (millionths), rounded half to even once; then the tax, on the net or split out of an
/// inclusive price. An exempt customer pays no tax: from an inclusive price the tax is
/// taken out, so they pay the net.
pub fn line_amounts(
    unit_minor: i64,
    quantity_milli: i64,
    factor_micro: i64,
    tax: Option<LineTax>,
    exempt: bool,
) -> (i64, i64) {
    let amount = div_half_even(
        i128::from(unit_minor) * i128::from(quantity_milli) * i128::from(factor_micro),
        QUANTITY_SCALE * FACTOR_SCALE,
    );
    let amount = i64::try_from(amount).unwrap_or(if amount < 0 { i64::MIN } else { i64::MAX });
    taxed(amount, tax, exempt)
}

/// A line amount's (net, tax): the tax on the net, or split out of an inclusive amount; an
/// exempt customer pays none (from an inclusive amount it is taken out).
pub fn taxed(amount: i64, tax: Option<LineTax>, exempt: bool) -> (i64, i64) {
    match tax {
        None => (amount, 0),
        Some(LineTax {
            rate,
            inclusive: true,
        }) => {
            let (net, tax) = split_inclusive(amount, rate);
            if exempt { (net, 0) } else { (net, tax) }
        }
        Some(LineTax {
            rate,
            inclusive: false,
        }) => (amount, if exempt { 0 } else { tax_on_net(amount, rate) }),
    }
}

/// `amount` shared among `weights` in proportion, each share rounded down and the rest
/// handed out by largest remainder, so the shares add up to `amount` exactly. All weights
/// zero: everything on the first.
pub fn share(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if total == 0 {
        let mut shares = vec![0; weights.len()];
        shares[0] = amount;
        return shares;
    }
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = i128::from(amount) * i128::from(*w);
        shares.push(i64::try_from(exact.div_euclid(total)).unwrap_or(0));
        remainders.push((exact.rem_euclid(total), i));
    }
    let mut left = amount - shares.iter().sum::<i64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left <= 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn halves_round_to_the_even_neighbour() {
        let table = [
            (5, 2, 2),
            (15, 2, 8),
            (25, 10, 2),
            (35, 10, 4),
            (-5, 2, -2),
            (-15, 2, -8),
            (7, 3, 2),
            (8, 3, 3),
            (1, 0, 0),
        ];
        for (numerator, denominator, expected) in table {
            assert_eq!(
                div_half_even(numerator, denominator),
                expected,
                "{numerator}/{denominator}"
            );
        }
    }

    #[test]
    fn periods_follow_the_calendar() {
        assert_eq!(Period::starting(day("2026-02-01"), 1).days(), 28);
        assert_eq!(Period::starting(day("2028-02-01"), 1).days(), 29);
        assert_eq!(Period::starting(day("2026-04-01"), 1).days(), 30);
        assert_eq!(Period::starting(day("2026-03-01"), 1).days(), 31);
        assert_eq!(
            Period::starting(day("2026-01-28"), 3).end,
            day("2026-04-28")
        );
        assert_eq!(Period::starting(day("2026-01-01"), 12).days(), 365);
        assert_eq!(Period::starting(day("2028-01-01"), 12).days(), 366);
        assert_eq!(next_billing_date(day("2026-01-30"), 28), day("2026-02-28"));
        assert_eq!(next_billing_date(day("2026-03-01"), 1), day("2026-03-01"));
        assert_eq!(next_billing_date(day("2026-02-28"), 1), day("2026-03-01"));
    }

    /// Prorated first charges of a 30.00 monthly plan (3000 minor units), by hand.
    #[test]
    fn previous_billing_dates_are_on_or_before_the_day() {
        assert_eq!(
            previous_billing_date(day("2026-03-15"), 1),
            day("2026-03-01")
        );
        assert_eq!(
            previous_billing_date(day("2026-03-01"), 1),
            day("2026-03-01")
        );
        assert_eq!(
            previous_billing_date(day("2026-03-15"), 28),
            day("2026-02-28")
        );
        assert_eq!(
            previous_billing_date(day("2026-01-27"), 28),
            day("2025-12-28")
        );
        assert_eq!(
            previous_billing_date(day("2026-03-28"), 28),
            day("2026-03-28")
        );
    }

    #[test]
    fn first_charges_are_prorated_to_the_billing_day() {
        let table = [
            // activation, billing day, days billed, of days, amount
            ("2026-02-15", 1, 14, 28, 1500), // 28-day February: 3000 × 14/28
            ("2028-02-15", 1, 15, 29, 1552), // leap February: 1551.72 → 1552
            ("2026-04-11", 1, 20, 30, 2000), // 30-day April
            ("2026-03-17", 1, 15, 31, 1452), // 31-day March: 1451.61 → 1452
            ("2026-01-30", 28, 29, 31, 2806), // billing day 28: Jan 30 → Feb 28 of Jan 28 → Feb 28
            ("2026-02-28", 1, 1, 28, 107),   // the day before the billing day: 107.14 → 107
        ];
        for (activation, billing_day, days, of, amount) in table {
            let (part, charged) = first_prorated(3000, day(activation), billing_day, 1)
                .unwrap_or_else(|| panic!("{activation} is prorated"));
            assert_eq!(part.days(), days, "{activation}");
            assert_eq!(Period::ending(part.end, 1).days(), of, "{activation}");
            assert_eq!(charged, amount, "{activation}");
        }
        // On the billing day itself the first period is a whole one.
        assert_eq!(first_prorated(3000, day("2026-03-01"), 1, 1), None);
        assert_eq!(first_prorated(3000, day("2026-03-28"), 28, 1), None);
    }

    #[test]
    fn plan_changes_credit_the_old_plan_and_charge_the_new_for_the_rest() {
        let april = Period::starting(day("2026-04-01"), 1);
        // Upgrade 30.00 → 60.00 on 16 April: 15 of 30 days left.
        assert_eq!(
            plan_change(3000, 6000, april, day("2026-04-16")),
            (-1500, 3000)
        );
        // Downgrade 60.00 → 45.00 on 21 April: 10 of 30 days left.
        assert_eq!(
            plan_change(6000, 4500, april, day("2026-04-21")),
            (-2000, 1500)
        );
        // On the first day: the whole period moves.
        assert_eq!(
            plan_change(3000, 6000, april, day("2026-04-01")),
            (-3000, 6000)
        );
    }

    #[test]
    fn suspended_and_terminated_days_are_credited() {
        // 5 suspended days of a 31-day March at 31.00: 5.00 back.
        let march = Period::starting(day("2026-03-01"), 1);
        assert_eq!(unused_days_credit(3100, 5, march), -500);
        // Terminated on 10 April: 10 April to 1 May unused, 21 of 30 days of 30.00.
        let april = Period::starting(day("2026-04-01"), 1);
        let unused = april.days_from(day("2026-04-10"));
        assert_eq!(unused, 21);
        assert_eq!(unused_days_credit(3000, unused, april), -2100);
        // After the period nothing is left; before it, all of it.
        assert_eq!(april.days_from(day("2026-05-03")), 0);
        assert_eq!(april.days_from(day("2026-03-20")), 30);
    }

    #[test]
    fn taxes_round_once_per_line_and_add_up() {
        // Exclusive: 49.99 at 16 % is 7.9984 → 8.00; 10.00 at 7.5 % is 0.75;
        // 0.25 at 2 % is 0.005 → 0.00 (half to even); 0.75 at 2 % is 0.015 → 0.02.
        assert_eq!(tax_on_net(4999, 160_000), 800);
        assert_eq!(tax_on_net(1000, 75_000), 75);
        assert_eq!(tax_on_net(25, 20_000), 0);
        assert_eq!(tax_on_net(75, 20_000), 2);
        // A rate with four decimals: 100.00 at 8.8125 % is 8.8125 → 8.81.
        assert_eq!(tax_on_net(10_000, 88_125), 881);
        // Inclusive: 11.60 with 16 % is 10.00 + 1.60; 10.00 with 7.5 % is
        // 9.30 + 0.70 (0.6977 → 0.70).
        assert_eq!(split_inclusive(1160, 160_000), (1000, 160));
        assert_eq!(split_inclusive(1000, 75_000), (930, 70));
        for gross in [1, 99, 1000, 4999, 123_457] {
            let (net, tax) = split_inclusive(gross, 160_000);
            assert_eq!(net + tax, gross);
        }
    }

    #[test]
    fn a_line_is_rounded_once_half_to_even() {
        let vat = Some(LineTax {
            rate: 160_000,
            inclusive: false,
        });
        let vat_in = Some(LineTax {
            rate: 160_000,
            inclusive: true,
        });
        // (unit, quantity in thousandths, factor in millionths, tax, exempt) -> (net, tax)
        let table = [
            (4999, 1000, 1_000_000, None, false, (4999, 0)),
            // 49.99 x 0.5 = 24.995 -> 25.00 (half to even: 2499.5 -> 2500)
            (4999, 500, 1_000_000, None, false, (2500, 0)),
            // 10.01 x 0.5 = 5.005 -> 5.00 (500.5 -> 500, even)
            (1001, 500, 1_000_000, None, false, (500, 0)),
            // 30.00 x 16/31 = 15.483870... -> 15.48
            (3000, 1000, 516_129, None, false, (1548, 0)),
            // 16 % on 49.99 = 7.9984 -> 8.00
            (4999, 1000, 1_000_000, vat, false, (4999, 800)),
            // 116.00 including 16 %: 100.00 + 16.00
            (11600, 1000, 1_000_000, vat_in, false, (10000, 1600)),
            // 3 x 9.99 including 16 %: 29.97 -> tax 4.1338 -> 4.13, net 25.84
            (999, 3000, 1_000_000, vat_in, false, (2584, 413)),
            // exempt: no tax on top; out of an inclusive price the net only
            (4999, 1000, 1_000_000, vat, true, (4999, 0)),
            (11600, 1000, 1_000_000, vat_in, true, (10000, 0)),
            // a discount line
            (-1000, 1000, 1_000_000, vat, false, (-1000, -160)),
        ];
        for (unit, quantity, factor, tax, exempt, expected) in table {
            assert_eq!(
                line_amounts(unit, quantity, factor, tax, exempt),
                expected,
                "{unit} x {quantity} x {factor}"
            );
        }
    }

    #[test]
    fn shares_add_up_to_the_amount() {
        assert_eq!(share(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(share(1000, &[5800, 4200]), vec![580, 420]);
        assert_eq!(share(1, &[1, 1]), vec![1, 0]);
        assert_eq!(share(5, &[0, 0]), vec![5, 0]);
        assert_eq!(share(-7, &[1, 1]), vec![-3, -4]);
        assert_eq!(share(0, &[3, 4]), vec![0, 0]);
    }
}
