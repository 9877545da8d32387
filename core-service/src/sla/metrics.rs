//! SLA compliance of the tickets opened in the last days, summed in SQL per priority (one
//! text for both engines: durations are the seconds kept on each ticket, so no engine's
//! date arithmetic is needed).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use lastmile_proto::v1 as pb;
use lastmile_proto::{RestName, timestamp};

use crate::db::Conn;
use crate::error::{Error, FieldErrors, Result};
use crate::on_conn;

/// The longest period.
pub const PERIOD_MAX: i32 = 365;

/// A target counts as breached: reported, met late, or unmet past due with its clock
/// running; a first response never given is late if the ticket was resolved after it was
/// due. `$2` is now.
const FIRST_RESPONSE_BREACHED: &str = "(first_response_breached_at IS NOT NULL \
    OR (first_response_at IS NOT NULL AND first_response_at > first_response_due_at) \
    OR (first_response_at IS NULL AND resolved_at IS NOT NULL \
        AND resolved_at > first_response_due_at) \
    OR (first_response_at IS NULL AND resolved_at IS NULL AND closed_at IS NULL \
        AND paused_since IS NULL AND first_response_due_at <= $2))";
const RESOLUTION_BREACHED: &str = "(resolution_breached_at IS NOT NULL \
    OR (resolved_at IS NOT NULL AND resolved_at > resolution_due_at) \
    OR (resolved_at IS NULL AND paused_since IS NULL AND resolution_due_at <= $2))";

#[derive(sqlx::FromRow)]
struct PriorityRow {
    priority: String,
    total: i64,
    breached: i64,
    first_response_breached: i64,
    escalated: i64,
    resolution_seconds: Option<i64>,
    resolved: i64,
    first_response_seconds: Option<i64>,
    responded: i64,
}

/// `part` of `whole` in percent with two decimals ("95.24"); 100 of nothing.
pub fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "100.00".into();
    }
    let hundredths = (i128::from(part) * 20_000 + i128::from(whole)) / (2 * i128::from(whole));
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// Mean minutes of `seconds` over `count`, two decimals; empty when there are none.
pub fn mean_minutes(seconds: i64, count: i64) -> String {
    if count <= 0 {
        return String::new();
    }
    let denominator = 60 * i128::from(count);
    let hundredths = (i128::from(seconds) * 200 + denominator) / (2 * denominator);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// Compliance of the tickets opened in the `period_days` before `now` (30 when not given)
/// that `partner` may see.
pub async fn compute(
    conn: &mut Conn<'_>,
    partner: Option<i64>,
    now: DateTime<Utc>,
    period_days: Option<i32>,
) -> Result<pb::GetPerformanceMetricsResponse> {
    let days = period_days.unwrap_or(30);
    if !(1..=PERIOD_MAX).contains(&days) {
        let mut errors = FieldErrors::new();
        errors.add(
            "period_days",
            format!("The period days must be between 1 and {PERIOD_MAX}."),
        );
        return Err(Error::Validation(errors));
    }
    let start = now - Duration::days(i64::from(days));
    let sql = format!(
        "SELECT priority, COUNT(*) AS total, \
         SUM(CASE WHEN {FIRST_RESPONSE_BREACHED} OR {RESOLUTION_BREACHED} THEN 1 ELSE 0 END) AS breached, \
         SUM(CASE WHEN {FIRST_RESPONSE_BREACHED} THEN 1 ELSE 0 END) AS first_response_breached, \
         SUM(CASE WHEN escalation_level > 0 THEN 1 ELSE 0 END) AS escalated, \
         CAST(SUM(resolution_seconds) AS BIGINT) AS resolution_seconds, COUNT(resolution_seconds) AS resolved, \
         CAST(SUM(first_response_seconds) AS BIGINT) AS first_response_seconds, \
         COUNT(first_response_seconds) AS responded \
         FROM tickets WHERE deleted_at IS NULL AND created_at >= $1 AND created_at <= $2 \
         AND ($3 IS NULL OR partner_id = $3) GROUP BY priority"
    );
    let rows: Vec<PriorityRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(start).bind(now).bind(partner).fetch_all(c).await)?;
    let mut by_priority = HashMap::new();
    for p in pb::TicketPriority::ALL {
        by_priority.insert(
            p.rest_name().to_owned(),
            pb::PriorityCompliance {
                total: 0,
                within_sla: 0,
                compliance_rate: percent(0, 0),
            },
        );
    }
    let (mut total, mut breached, mut fr_breached, mut escalated) = (0, 0, 0, 0);
    let (mut res_seconds, mut resolved, mut fr_seconds, mut responded) = (0, 0, 0, 0);
    for r in rows {
        total += r.total;
        breached += r.breached;
        fr_breached += r.first_response_breached;
        escalated += r.escalated;
        res_seconds += r.resolution_seconds.unwrap_or(0);
        resolved += r.resolved;
        fr_seconds += r.first_response_seconds.unwrap_or(0);
        responded += r.responded;
        let within = r.total - r.breached;
        by_priority.insert(
            r.priority,
            pb::PriorityCompliance {
                total: r.total,
                within_sla: within,
                compliance_rate: percent(within, r.total),
            },
        );
    }
    Ok(pb::GetPerformanceMetricsResponse {
        period_start: Some(timestamp(start)),
        period_end: Some(timestamp(now)),
        period_days: days,
        total_tickets: total,
        tickets_within_sla: total - breached,
        tickets_breached: breached,
        sla_compliance_rate: percent(total - breached, total),
        first_response_compliance_rate: percent(total - fr_breached, total),
        average_resolution_time_minutes: mean_minutes(res_seconds, resolved),
        average_first_response_time_minutes: mean_minutes(fr_seconds, responded),
        escalation_rate: if total == 0 {
            "0.00".into()
        } else {
            percent(escalated, total)
        },
        by_priority,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_half_up_to_two_decimals() {
        assert_eq!(percent(20, 21), "95.24");
        assert_eq!(percent(1, 3), "33.33");
        assert_eq!(percent(2, 3), "66.67");
        assert_eq!(percent(1, 8), "12.50");
        assert_eq!(percent(0, 5), "0.00");
        assert_eq!(percent(0, 0), "100.00");
    }

    #[test]
    fn means_are_minutes_with_two_decimals() {
        assert_eq!(mean_minutes(5400, 2), "45.00");
        assert_eq!(mean_minutes(100, 3), "0.56");
        assert_eq!(mean_minutes(0, 0), "");
    }
}
