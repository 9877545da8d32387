//! A plan as FreeRADIUS sees it: the group `plan-<id>` in `radgroupreply`, rewritten in the
//! transaction that changes the plan. The rows are built by a pure function
//! ([`group_rows`]) and written by [`sync_group`].
//!
//! Every row Lastmile derives from the plan uses `=`: it adds the attribute only when the
//! reply lacks it, so a subscriber's own `:=` row in `radreply` (a per-service speed)
//! beats the plan's. The plan's extra attributes keep the operator the operator chose.

use super::{Plan, store};
use crate::db::Conn;
use crate::error::Result;
use crate::radius_rows::RadiusRow;

/// The operator of the rows derived from the plan.
const DERIVED_OP: &str = "=";

/// The RADIUS group of plan `plan_id`.
pub fn group_name(plan_id: i64) -> String {
    format!("plan-{plan_id}")
}

/// A rate as MikroTik writes it: whole Mbit/s in `M`, anything else in `k`
/// (10000 kbit/s is `10M`, 10500 is `10500k`).
pub fn rate(kbps: i64) -> String {
    if kbps % 1000 == 0 {
        format!("{}M", kbps / 1000)
    } else {
        format!("{kbps}k")
    }
}

/// `Mikrotik-Rate-Limit` for these speeds, the subscriber's upload first (see
/// [`rate_limit`]).
pub fn speed_limit(download_kbps: i64, upload_kbps: i64) -> String {
    format!("{}/{}", rate(upload_kbps), rate(download_kbps))
}

/// `Mikrotik-Rate-Limit` of a plan. MikroTik reads `rx/tx` from the router's side, so the
/// subscriber's upload comes first; a burst adds `burst-rate threshold time`, each as
/// `rx/tx` too.
pub fn rate_limit(plan: &Plan) -> String {
    let f = &plan.fields;
    let pair = |up: i64, down: i64| format!("{}/{}", rate(up), rate(down));
    let mut value = pair(f.upload_kbps, f.download_kbps);
    if let Some(b) = f.burst {
        value.push_str(&format!(
            " {} {} {}/{}",
            pair(b.upload_kbps, b.download_kbps),
            pair(b.threshold_upload_kbps, b.threshold_download_kbps),
            b.time_seconds,
            b.time_seconds
        ));
    }
    value
}

/// The group's rows, in the order FreeRADIUS reads them: the rate limit, the WISPr
/// bandwidth in bit/s, `Framed-Pool` when the plan's pool is a dynamic one (its name on
/// the NAS), then the plan's own attributes.
pub fn group_rows(plan: &Plan, dynamic_pool: Option<&str>) -> Vec<RadiusRow> {
    let f = &plan.fields;
    let bits = |kbps: i64| kbps.saturating_mul(1000).to_string();
    let mut rows = vec![
        RadiusRow::new("Mikrotik-Rate-Limit", DERIVED_OP, rate_limit(plan)),
        RadiusRow::new("WISPr-Bandwidth-Max-Up", DERIVED_OP, bits(f.upload_kbps)),
        RadiusRow::new(
            "WISPr-Bandwidth-Max-Down",
            DERIVED_OP,
            bits(f.download_kbps),
        ),
    ];
    if let Some(pool) = dynamic_pool {
        rows.push(RadiusRow::new("Framed-Pool", DERIVED_OP, pool));
    }
    rows.extend(
        f.radius_attributes
            .iter()
            .map(|a| RadiusRow::new(a.attribute.as_str(), a.op.as_str(), a.value.as_str())),
    );
    rows
}

/// Replaces the rows of the plan's group with those the plan has now (its pool looked
/// up for `Framed-Pool`). Runs inside the caller's transaction, so the group never shows
/// half a plan.
pub async fn sync_group(conn: &mut Conn<'_>, plan: &Plan) -> Result<()> {
    let pool = match plan.fields.ip_pool_id {
        Some(id) => store::dynamic_pool_name(conn, id).await?,
        None => None,
    };
    let rows = group_rows(plan, pool.as_deref());
    store::replace_group(conn, &group_name(plan.id), &rows).await
}

/// Rewrites the groups of every live plan drawing from pool `pool_id`: for a pool whose
/// name or kind changed.
pub async fn sync_groups_of_pool(conn: &mut Conn<'_>, pool_id: i64) -> Result<()> {
    for id in store::plans_of_pool(conn, pool_id).await? {
        if let Some(plan) = store::find(conn, id, false).await? {
            sync_group(conn, &plan).await?;
        }
    }
    Ok(())
}

/// The rows every live plan's group must have, by group (the drift report's expectation).
pub async fn expected_groups(
    conn: &mut Conn<'_>,
) -> Result<std::collections::BTreeMap<String, Vec<RadiusRow>>> {
    let mut groups = std::collections::BTreeMap::new();
    for plan in store::live(conn).await? {
        let pool = match plan.fields.ip_pool_id {
            Some(id) => store::dynamic_pool_name(conn, id).await?,
            None => None,
        };
        groups.insert(group_name(plan.id), group_rows(&plan, pool.as_deref()));
    }
    Ok(groups)
}

/// Removes the group of plan `plan_id`.
pub async fn delete_group(conn: &mut Conn<'_>, plan_id: i64) -> Result<()> {
    store::replace_group(conn, &group_name(plan_id), &[]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Burst, PlanFields, RadiusAttribute, RadiusOp};

    fn plan(download_kbps: i64, upload_kbps: i64) -> Plan {
        Plan {
            id: 7,
            fields: PlanFields {
                name: "Home".into(),
                download_kbps,
                upload_kbps,
                ..PlanFields::default()
            },
            services_count: 0,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn rows(expected: &[(&str, &str, &str)]) -> Vec<RadiusRow> {
        expected
            .iter()
            .map(|(a, op, v)| RadiusRow::new(*a, *op, *v))
            .collect()
    }

    #[test]
    fn groups_are_named_after_their_plan() {
        assert_eq!(group_name(42), "plan-42");
    }

    #[test]
    fn a_plan_becomes_its_rate_limit_and_bandwidth_rows() {
        let with_burst = {
            let mut p = plan(100_000, 10_000);
            p.fields.burst = Some(Burst {
                download_kbps: 150_000,
                upload_kbps: 15_000,
                threshold_download_kbps: 80_000,
                threshold_upload_kbps: 8_000,
                time_seconds: 16,
            });
            p
        };
        let with_attributes = {
            let mut p = plan(20_000, 5_000);
            p.fields.radius_attributes = vec![
                RadiusAttribute {
                    attribute: "Session-Timeout".into(),
                    op: RadiusOp::Set,
                    value: "86400".into(),
                },
                RadiusAttribute {
                    attribute: "Mikrotik-Address-List".into(),
                    op: RadiusOp::Append,
                    value: "residential".into(),
                },
            ];
            p
        };
        let cases: Vec<(&str, Plan, Option<&str>, Vec<RadiusRow>)> = vec![
            (
                "100 down, 10 up",
                plan(100_000, 10_000),
                None,
                rows(&[
                    ("Mikrotik-Rate-Limit", "=", "10M/100M"),
                    ("WISPr-Bandwidth-Max-Up", "=", "10000000"),
                    ("WISPr-Bandwidth-Max-Down", "=", "100000000"),
                ]),
            ),
            (
                "10.5 down, 1 up",
                plan(10_500, 1_000),
                None,
                rows(&[
                    ("Mikrotik-Rate-Limit", "=", "1M/10500k"),
                    ("WISPr-Bandwidth-Max-Up", "=", "1000000"),
                    ("WISPr-Bandwidth-Max-Down", "=", "10500000"),
                ]),
            ),
            (
                "sub-megabit upload",
                plan(2_000, 512),
                None,
                rows(&[
                    ("Mikrotik-Rate-Limit", "=", "512k/2M"),
                    ("WISPr-Bandwidth-Max-Up", "=", "512000"),
                    ("WISPr-Bandwidth-Max-Down", "=", "2000000"),
                ]),
            ),
            (
                "burst",
                with_burst,
                None,
                rows(&[
                    ("Mikrotik-Rate-Limit", "=", "10M/100M 15M/150M 8M/80M 16/16"),
                    ("WISPr-Bandwidth-Max-Up", "=", "10000000"),
                    ("WISPr-Bandwidth-Max-Down", "=", "100000000"),
                ]),
            ),
            (
                "dynamic pool",
                plan(50_000, 50_000),
                Some("cgnat-north"),
                rows(&[
                    ("Mikrotik-Rate-Limit", "=", "50M/50M"),
                    ("WISPr-Bandwidth-Max-Up", "=", "50000000"),
                    ("WISPr-Bandwidth-Max-Down", "=", "50000000"),
                    ("Framed-Pool", "=", "cgnat-north"),
                ]),
            ),
            (
                "extra attributes, in order, with their operators",
                with_attributes,
                None,
                rows(&[
                    ("Mikrotik-Rate-Limit", "=", "5M/20M"),
                    ("WISPr-Bandwidth-Max-Up", "=", "5000000"),
                    ("WISPr-Bandwidth-Max-Down", "=", "20000000"),
                    ("Session-Timeout", ":=", "86400"),
                    ("Mikrotik-Address-List", "+=", "residential"),
                ]),
            ),
        ];
        for (name, plan, pool, expected) in cases {
            assert_eq!(group_rows(&plan, pool), expected, "{name}");
        }
    }
}
