//! Business-hours calendar for SLA due times.
//!
//! Business time is real elapsed time (UTC) that falls inside local opening
//! intervals, so a DST day is as short or as long as the wall clock makes it.

use std::fmt;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Consecutive days without any opening after which counting falls back to
/// plain elapsed time, so a calendar made only of holidays cannot stall.
const IDLE_LIMIT_DAYS: u32 = 3 * 366;

/// Total days walked before counting falls back to plain elapsed time; bounds
/// the work an absurd minute count can cause.
const SCAN_LIMIT_DAYS: u32 = 200 * 366;

const DAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "monday"),
    (Weekday::Tue, "tuesday"),
    (Weekday::Wed, "wednesday"),
    (Weekday::Thu, "thursday"),
    (Weekday::Fri, "friday"),
    (Weekday::Sat, "saturday"),
    (Weekday::Sun, "sunday"),
];

fn day_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

fn day_name(day: Weekday) -> &'static str {
    DAYS[day_index(day)].1
}

fn clock(t: NaiveTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// One opening interval on a weekday in local wall-clock time; `end: None`
/// stands for 24:00 so a day can be open up to midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HoursRepr", into = "HoursRepr")]
pub struct Hours {
    /// Weekday the interval applies to.
    pub day: Weekday,
    /// Local opening time.
    pub start: NaiveTime,
    /// Local closing time; `None` is 24:00.
    pub end: Option<NaiveTime>,
}

impl Hours {
    fn label(&self) -> String {
        let end = self.end.map_or_else(|| "24:00".to_owned(), clock);
        format!("{}–{end}", clock(self.start))
    }

    fn is_empty(&self) -> bool {
        matches!(self.end, Some(end) if end <= self.start)
    }
}

/// Wire form of [`Hours`]: plain strings, as a REST client sends them.
#[derive(Serialize, Deserialize)]
struct HoursRepr {
    day: String,
    start: String,
    end: String,
}

impl TryFrom<HoursRepr> for Hours {
    type Error = CalendarError;

    fn try_from(r: HoursRepr) -> Result<Self, Self::Error> {
        parse_hours(&r.day, &r.start, &r.end)
    }
}

impl From<Hours> for HoursRepr {
    fn from(h: Hours) -> Self {
        HoursRepr {
            day: day_name(h.day).to_owned(),
            start: clock(h.start),
            end: h.end.map_or_else(|| "24:00".to_owned(), clock),
        }
    }
}

/// Why a calendar definition was rejected; `Display` is meant to be shown to
/// the API client as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalendarError {
    /// The IANA time zone name is not known.
    UnknownTimeZone(String),
    /// A time is not `HH:MM` in 00:00–24:00.
    BadTime(String),
    /// A day is not an English weekday name.
    BadDay(String),
    /// An interval does not end after it starts.
    EmptyInterval {
        /// The offending interval.
        hours: Hours,
    },
    /// Two intervals on the same day share time.
    Overlap {
        /// The interval that starts first.
        first: Hours,
        /// The interval that starts inside `first`.
        second: Hours,
    },
    /// No opening at all in the week, so no due time could ever be reached.
    NoHours,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTimeZone(name) => write!(f, "The time zone \"{name}\" is not known."),
            Self::BadTime(s) => write!(
                f,
                "The time \"{s}\" is not valid; use HH:MM between 00:00 and 24:00."
            ),
            Self::BadDay(s) => write!(
                f,
                "The day \"{s}\" is not valid; use an English weekday name such as \"monday\"."
            ),
            Self::EmptyInterval { hours } => write!(
                f,
                "Opening hours on {} must end after they start: {}.",
                day_name(hours.day),
                hours.label()
            ),
            Self::Overlap { first, second } => write!(
                f,
                "Opening hours on {} overlap: {} and {}.",
                day_name(first.day),
                first.label(),
                second.label()
            ),
            Self::NoHours => write!(f, "The calendar has no opening hours on any day."),
        }
    }
}

impl std::error::Error for CalendarError {}

/// Parses strict `HH:MM`; `Ok(None)` is 24:00, which only an end may use.
fn parse_time(s: &str) -> Result<Option<NaiveTime>, CalendarError> {
    let bad = || CalendarError::BadTime(s.to_owned());
    let num = |p: &str| match p.as_bytes() {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(b - b'0')),
        _ => None,
    };
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    match (num(h).ok_or_else(bad)?, num(m).ok_or_else(bad)?) {
        (24, 0) => Ok(None),
        (h, m) => NaiveTime::from_hms_opt(h, m, 0).map(Some).ok_or_else(bad),
    }
}

/// Builds [`Hours`] from the strings an API client sends: day as an English
/// weekday name (any case), times as `HH:MM`, and `end` "24:00" for midnight.
pub fn parse_hours(day: &str, start: &str, end: &str) -> Result<Hours, CalendarError> {
    let day = DAYS
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(day.trim()))
        .map(|(d, _)| *d)
        .ok_or_else(|| CalendarError::BadDay(day.to_owned()))?;
    let start = parse_time(start)?.ok_or_else(|| CalendarError::BadTime(start.to_owned()))?;
    let hours = Hours {
        day,
        start,
        end: parse_time(end)?,
    };
    if hours.is_empty() {
        return Err(CalendarError::EmptyInterval { hours });
    }
    Ok(hours)
}

fn is_valid(tz: Tz, t: NaiveDateTime) -> bool {
    !matches!(tz.from_local_datetime(&t), LocalResult::None)
}

/// Maps a local time to UTC. A time repeated by a DST overlap takes its
/// `later` instant (for ends) or its earlier one (for starts), so no business
/// time is lost; a time inside a DST gap becomes the first instant after it.
fn to_utc(tz: Tz, t: NaiveDateTime, later: bool) -> Option<DateTime<Utc>> {
    match (tz.from_local_datetime(&t), later) {
        (LocalResult::Single(x), _)
        | (LocalResult::Ambiguous(x, _), false)
        | (LocalResult::Ambiguous(_, x), true) => Some(x.with_timezone(&Utc)),
        (LocalResult::None, _) => {
            // Widen until a valid time is found, then bisect to the gap's end.
            let (mut lo, mut hi) = (0_i64, 60_i64);
            loop {
                if hi > 4 * 86_400 {
                    return None;
                }
                if is_valid(tz, t.checked_add_signed(TimeDelta::try_seconds(hi)?)?) {
                    break;
                }
                lo = hi;
                hi *= 2;
            }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if is_valid(tz, t.checked_add_signed(TimeDelta::try_seconds(mid)?)?) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            let after = t.checked_add_signed(TimeDelta::try_seconds(hi)?)?;
            Some(
                tz.from_local_datetime(&after)
                    .earliest()?
                    .with_timezone(&Utc),
            )
        }
    }
}

/// Local date of an instant; falls back to the UTC date at the very ends of
/// the representable range, where adding the offset would overflow.
fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    let utc = at.naive_utc();
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).unwrap_or(utc).date()
}

#[derive(Clone, Debug)]
struct Rules {
    tz: Tz,
    /// Intervals per weekday (Monday first), sorted by start.
    week: [Vec<Hours>; 7],
    /// Sorted, deduplicated.
    holidays: Vec<NaiveDate>,
}

impl Rules {
    fn intervals_on(&self, date: NaiveDate) -> &[Hours] {
        if self.holidays.binary_search(&date).is_ok() {
            &[]
        } else {
            &self.week[day_index(date.weekday())]
        }
    }

    fn span(&self, date: NaiveDate, h: &Hours) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = to_utc(self.tz, date.and_time(h.start), false)?;
        let end = match h.end {
            Some(e) => date.and_time(e),
            None => date.succ_opt()?.and_time(NaiveTime::MIN),
        };
        Some((start, to_utc(self.tz, end, true)?))
    }
}

/// Business spans in UTC from a point onwards, disjoint and ascending. When
/// the search limits are hit it ends with one unbounded span, which is what
/// makes both counting directions fall back to plain elapsed time identically.
struct Spans<'a> {
    rules: &'a Rules,
    date: NaiveDate,
    idx: usize,
    cursor: DateTime<Utc>,
    idle: u32,
    scanned: u32,
    done: bool,
}

impl<'a> Spans<'a> {
    fn new(rules: &'a Rules, from: DateTime<Utc>) -> Self {
        let local = local_date(rules.tz, from);
        // Earlier days may still reach `from` through DST overlaps.
        let date = local
            .checked_sub_days(chrono::Days::new(2))
            .unwrap_or(local);
        Spans {
            rules,
            date,
            idx: 0,
            cursor: from,
            idle: 0,
            scanned: 0,
            done: false,
        }
    }
}

impl Iterator for Spans<'_> {
    type Item = (DateTime<Utc>, DateTime<Utc>);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if let Some(h) = self.rules.intervals_on(self.date).get(self.idx) {
                self.idx += 1;
                if let Some((a, b)) = self.rules.span(self.date, h) {
                    let a = a.max(self.cursor);
                    if b > a {
                        self.cursor = b;
                        self.idle = 0;
                        return Some((a, b));
                    }
                }
                continue;
            }
            self.idle += 1;
            self.scanned += 1;
            let next = self.date.succ_opt();
            match next {
                Some(d) if self.idle <= IDLE_LIMIT_DAYS && self.scanned <= SCAN_LIMIT_DAYS => {
                    self.date = d;
                    self.idx = 0;
                }
                _ => {
                    self.done = true;
                    let from = next
                        .and_then(|d| to_utc(self.rules.tz, d.and_time(NaiveTime::MIN), false))
                        .map_or(self.cursor, |p| p.max(self.cursor));
                    return Some((from, DateTime::<Utc>::MAX_UTC));
                }
            }
        }
        None
    }
}

/// Opening hours, time zone and holidays used to turn SLA minutes into due
/// times and back.
#[derive(Clone, Debug)]
pub struct Calendar {
    /// `None` is round-the-clock, which needs no time zone arithmetic.
    rules: Option<Rules>,
}

impl Calendar {
    /// Round-the-clock calendar without holidays, for SLAs in plain minutes.
    pub fn always() -> Self {
        Calendar { rules: None }
    }

    /// Validates a calendar definition up front so due-time arithmetic can
    /// never fail later.
    pub fn new(
        time_zone: &str,
        hours: &[Hours],
        holidays: &[NaiveDate],
    ) -> Result<Calendar, CalendarError> {
        let tz: Tz = time_zone
            .parse()
            .map_err(|_| CalendarError::UnknownTimeZone(time_zone.to_owned()))?;
        let mut week: [Vec<Hours>; 7] = Default::default();
        for h in hours {
            if h.is_empty() {
                return Err(CalendarError::EmptyInterval { hours: *h });
            }
            week[day_index(h.day)].push(*h);
        }
        for day in &mut week {
            day.sort_by_key(|h| h.start);
            for (first, second) in day.iter().zip(day.iter().skip(1)) {
                if first.end.is_none_or(|e| e > second.start) {
                    return Err(CalendarError::Overlap {
                        first: *first,
                        second: *second,
                    });
                }
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(CalendarError::NoHours);
        }
        let mut holidays = holidays.to_vec();
        holidays.sort_unstable();
        holidays.dedup();
        Ok(Calendar {
            rules: Some(Rules { tz, week, holidays }),
        })
    }

    /// Due time: the instant at which `minutes` business minutes have elapsed
    /// since `start`. Counting from outside business hours begins at the next
    /// opening, and landing exactly on a closing time returns that closing
    /// time rather than the next opening. If no opening exists for three years
    /// (or after 200 years of counting), the rest counts as plain elapsed time;
    /// results past the representable range saturate at the maximum instant.
    pub fn add_business_minutes(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        if minutes <= 0 {
            return start;
        }
        let Some(remaining) = TimeDelta::try_minutes(minutes) else {
            return DateTime::<Utc>::MAX_UTC;
        };
        self.add_business_time(start, remaining)
    }

    /// Like [`Calendar::add_business_minutes`], to the nanosecond.
    pub fn add_business_time(&self, start: DateTime<Utc>, time: TimeDelta) -> DateTime<Utc> {
        if time <= TimeDelta::zero() {
            return start;
        }
        let mut remaining = time;
        let Some(rules) = &self.rules else {
            return start
                .checked_add_signed(remaining)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
        };
        for (a, b) in Spans::new(rules, start) {
            let len = b.signed_duration_since(a);
            if remaining <= len {
                return a
                    .checked_add_signed(remaining)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
            }
            remaining -= len;
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// Business minutes elapsed in `[from, to)`, rounded down, so that it
    /// inverts [`Calendar::add_business_minutes`] for starts on whole minutes.
    pub fn business_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.business_time_between(from, to).num_seconds() / 60
    }

    /// Business time elapsed in `[from, to)`, to the nanosecond.
    pub fn business_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        if to <= from {
            return TimeDelta::zero();
        }
        let Some(rules) = &self.rules else {
            return to.signed_duration_since(from);
        };
        let mut total = TimeDelta::zero();
        for (a, b) in Spans::new(rules, from) {
            if a >= to {
                break;
            }
            let part = b.min(to).signed_duration_since(a);
            total = total.checked_add(&part).unwrap_or(TimeDelta::MAX);
        }
        total
    }

    /// Whether `at` lies inside an opening interval on a non-holiday.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let Some(rules) = &self.rules else {
            return true;
        };
        let local = local_date(rules.tz, at);
        // Neighbouring days can reach `at` when DST shifts cross midnight.
        [local.pred_opt(), Some(local), local.succ_opt()]
            .into_iter()
            .flatten()
            .any(|d| {
                rules
                    .intervals_on(d)
                    .iter()
                    .filter_map(|h| rules.span(d, h))
                    .any(|(a, b)| a <= at && at < b)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        format!("{s}:00Z").parse().expect("test literal")
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test literal")
    }

    fn h(day: &str, start: &str, end: &str) -> Hours {
        parse_hours(day, start, end).expect("test literal")
    }

    fn berlin(hours: &[Hours], holidays: &[NaiveDate]) -> Calendar {
        Calendar::new("Europe/Berlin", hours, holidays).expect("valid calendar")
    }

    fn office(holidays: &[NaiveDate]) -> Calendar {
        let days = ["monday", "tuesday", "wednesday", "thursday", "friday"];
        let hours: Vec<Hours> = days.iter().map(|d| h(d, "09:00", "17:00")).collect();
        berlin(&hours, holidays)
    }

    /// Asserts the due time and that counting back gives the same minutes.
    fn check(cal: &Calendar, start: &str, minutes: i64, due: &str) {
        let (start, due) = (utc(start), utc(due));
        let got = cal.add_business_minutes(start, minutes);
        assert_eq!(got, due, "{start} + {minutes}");
        assert_eq!(cal.business_minutes_between(start, due), minutes, "{start}");
    }

    #[test]
    fn always_is_plain_arithmetic() {
        let cal = Calendar::always();
        check(&cal, "2026-03-02T10:00", 60, "2026-03-02T11:00");
        let s = utc("2026-03-02T10:00");
        assert_eq!(cal.add_business_minutes(s, 0), s);
        assert_eq!(cal.add_business_minutes(s, -5), s);
        assert!(cal.is_open(s));
    }

    #[test]
    fn friday_ticket_rolls_to_monday_or_past_holiday() {
        let cal = office(&[]);
        check(&cal, "2026-03-06T15:00", 120, "2026-03-09T09:00");
        let (s, almost) = (utc("2026-03-06T15:00"), utc("2026-03-09T08:59"));
        assert_eq!(cal.business_minutes_between(s, almost), 119);
        // Reaching exactly the close returns the close, not the next opening.
        check(&cal, "2026-03-06T15:00", 60, "2026-03-06T16:00");
        assert!(cal.is_open(s));
        assert!(!cal.is_open(utc("2026-03-06T16:00")));
        // With Monday a holiday the same ticket is due on Tuesday.
        let cal = office(&[date("2026-03-09")]);
        check(&cal, "2026-03-06T15:00", 120, "2026-03-10T09:00");
        assert!(!cal.is_open(utc("2026-03-09T10:00")));
    }

    #[test]
    fn dst_changes() {
        check(&office(&[]), "2026-03-27T15:00", 120, "2026-03-30T08:00");
        let all_day: Vec<Hours> = DAYS.iter().map(|(_, d)| h(d, "00:00", "24:00")).collect();
        let cal = berlin(&all_day, &[]);
        check(&cal, "2026-03-28T11:00", 1440, "2026-03-29T11:00");
        check(&cal, "2026-10-24T10:00", 1440, "2026-10-25T10:00");
        // Whole local Sundays: 23 hours in spring, 25 hours in autumn.
        check(&cal, "2026-03-28T23:00", 23 * 60, "2026-03-29T22:00");
        check(&cal, "2026-10-24T22:00", 25 * 60, "2026-10-25T23:00");
    }

    #[test]
    fn boundaries_inside_gap_and_overlap() {
        // 02:30 does not exist on 2026-03-29: the interval opens at 03:00 CEST.
        let gap = berlin(&[h("sunday", "02:30", "04:00")], &[]);
        check(&gap, "2026-03-28T00:00", 1, "2026-03-29T01:01");
        check(&gap, "2026-03-28T00:00", 60, "2026-03-29T02:00");
        // 02:30 occurs twice on 2026-10-25: open from 02:00 CEST to 02:30 CET.
        let overlap = berlin(&[h("sunday", "02:00", "02:30")], &[]);
        check(&overlap, "2026-10-24T00:00", 90, "2026-10-25T01:30");
        assert!(!overlap.is_open(utc("2026-10-25T01:30")));
    }

    #[test]
    fn start_on_weekend_waits_for_monday() {
        let cal = office(&[]);
        assert!(!cal.is_open(utc("2026-03-07T10:00")));
        check(&cal, "2026-03-07T10:00", 30, "2026-03-09T08:30");
        check(&cal, "2026-03-07T10:00", 480, "2026-03-09T16:00");
        check(&cal, "2026-03-07T10:00", 481, "2026-03-10T08:01");
    }

    #[test]
    fn split_day() {
        let split = [h("monday", "13:00", "17:00"), h("monday", "09:00", "12:00")];
        let cal = berlin(&split, &[]);
        check(&cal, "2026-03-02T09:00", 240, "2026-03-02T14:00");
        assert!(!cal.is_open(utc("2026-03-02T11:30")));
    }

    #[test]
    fn round_trip_over_dst_and_holidays() {
        let hours = [
            h("monday", "08:00", "12:00"),
            h("monday", "13:00", "18:00"),
            h("wednesday", "09:00", "17:00"),
            h("friday", "09:00", "15:30"),
            h("saturday", "10:00", "14:00"),
            h("sunday", "00:00", "24:00"),
        ];
        let holidays = ["2026-03-27", "2026-03-30", "2026-10-23", "2026-10-26"].map(date);
        let cal = berlin(&hours, &holidays);
        let base = utc("2026-01-01T00:00").timestamp();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as i64
        };
        for _ in 0..300 {
            let s = DateTime::from_timestamp(base + next() % (366 * 1440) * 60, 0).expect("range");
            let m = next() % 6000 + 1;
            let due = cal.add_business_minutes(s, m);
            assert_eq!(cal.business_minutes_between(s, due), m, "{s} + {m}");
            let before = due - TimeDelta::minutes(1);
            assert_eq!(cal.business_minutes_between(s, before), m - 1, "{s} + {m}");
            assert!(cal.is_open(before), "{s} + {m}");
        }
    }

    #[test]
    fn large_count_round_trips() {
        // 208 eight-hour days and 160 minutes from Monday 2 March, plus two holidays.
        let cal = office(&[date("2026-05-01"), date("2026-10-05")]);
        check(&cal, "2026-03-02T08:00", 100_000, "2026-12-21T10:40");
    }

    #[test]
    fn closed_for_years_falls_back_to_plain_time() {
        let mondays: Vec<NaiveDate> = (0..400)
            .map(|w| date("2026-03-02") + chrono::Days::new(7 * w))
            .collect();
        let cal = Calendar::new("UTC", &[h("monday", "09:00", "10:00")], &mondays).expect("valid");
        let s = utc("2026-03-02T09:00");
        let due = cal.add_business_minutes(s, 60);
        assert!(due > utc("2029-01-01T00:00") && due < utc("2030-01-01T00:00"));
        assert_eq!(cal.business_minutes_between(s, due), 60);
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        for cal in [office(&[]), Calendar::always()] {
            for t in [min, max] {
                let _ = cal.is_open(t);
                for m in [1, 100_000, i64::MAX] {
                    let _ = cal.add_business_minutes(t, m);
                }
            }
            assert_eq!(cal.add_business_minutes(max, 1), max);
            assert_eq!(cal.business_minutes_between(max, min), 0);
            assert!(cal.business_minutes_between(min, max) > 0);
        }
    }

    #[test]
    fn definition_errors() {
        let mon = h("monday", "09:00", "12:00");
        let err = Calendar::new("Europe/Berln", &[mon], &[]).expect_err("zone");
        let msg = "The time zone \"Europe/Berln\" is not known.";
        assert_eq!(err.to_string(), msg);
        let err = Calendar::new("UTC", &[h("monday", "11:00", "13:00"), mon], &[]).expect_err("");
        let msg = "Opening hours on monday overlap: 09:00–12:00 and 11:00–13:00.";
        assert_eq!(err.to_string(), msg);
        let err = Calendar::new("UTC", &[h("monday", "00:00", "24:00"), mon], &[]).expect_err("");
        assert!(matches!(err, CalendarError::Overlap { .. }));
        let err = parse_hours("monday", "12:00", "12:00").expect_err("empty");
        let msg = "Opening hours on monday must end after they start: 12:00–12:00.";
        assert_eq!(err.to_string(), msg);
        let mut raw = h("tuesday", "10:00", "11:00");
        raw.end = NaiveTime::from_hms_opt(9, 0, 0);
        let err = Calendar::new("UTC", &[raw], &[]).expect_err("empty");
        assert_eq!(err, CalendarError::EmptyInterval { hours: raw });
        for bad in ["25:00", "24:30", "9:00", "09:60", "", "ab:cd", "09:00:00"] {
            let err = CalendarError::BadTime(bad.to_owned());
            assert_eq!(parse_hours("monday", bad, "17:00"), Err(err));
        }
        let err = CalendarError::BadTime("24:00".to_owned());
        assert_eq!(parse_hours("monday", "24:00", "24:00"), Err(err));
        let err = CalendarError::BadDay("funday".to_owned());
        assert_eq!(parse_hours("funday", "09:00", "17:00"), Err(err));
        let no_hours = Calendar::new("UTC", &[], &[date("2026-01-01")]).expect_err("none");
        assert_eq!(no_hours, CalendarError::NoHours);
        let sunday = parse_hours("Sunday", "00:00", "24:00");
        assert_eq!(sunday.map(|x| x.end), Ok(None));
    }

    #[test]
    fn serde_uses_plain_strings() {
        use serde::de::value::{Error, MapDeserializer};
        let fields = [("day", "friday"), ("start", "09:30"), ("end", "24:00")];
        let de = MapDeserializer::<_, Error>::new(fields.into_iter());
        let hours = Hours::deserialize(de).expect("valid hours");
        assert_eq!(hours, h("friday", "09:30", "24:00"));
        let repr = HoursRepr::from(hours);
        let expected = ["friday", "09:30", "24:00"];
        assert_eq!([repr.day, repr.start, repr.end], expected);
    }
}
