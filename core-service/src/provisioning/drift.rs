//! Drift: the difference between what FreeRADIUS's tables hold and what Lastmile's services
//! and plans say they must hold. Every write keeps them equal in its own transaction, so
//! drift only appears when someone edits the tables behind Lastmile's back; the report
//! lists each differing row, and the repair writes the expected rows back.

use std::collections::{BTreeMap, BTreeSet};

use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::radius_rows::RadiusRow;
use crate::services::radius::{self as rows, UserRows, WALLED_GARDEN_GROUP};
use crate::services::{ServiceSettings, ServiceStatus, SuspendedMode};

/// Services read per round trip.
const BATCH: i64 = 500;

/// One row that differs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// `radcheck`, `radreply`, `radusergroup` or `radgroupreply`.
    pub table: &'static str,
    /// The username (or, for `radgroupreply`, the group).
    pub name: String,
    /// The service the username belongs to, if any.
    pub service_id: Option<i64>,
    /// `missing` (expected, not in the table) or `unexpected` (in the table, not expected).
    pub kind: &'static str,
    /// The attribute (for `radusergroup`, the group name).
    pub attribute: String,
    /// The operator (for `radusergroup`, empty).
    pub op: String,
    /// The value (for `radusergroup`, the priority).
    pub value: String,
}

/// What must be where: every live service's rows and every group's.
#[derive(Debug, Default)]
pub struct Expected {
    /// Rows per username, with the service.
    pub users: BTreeMap<String, (i64, UserRows)>,
    /// Reply rows per group.
    pub groups: BTreeMap<String, Vec<RadiusRow>>,
}

/// The drift of the whole database. `groups` are the expected plan groups (the catalog
/// owns them); the walled-garden group is added when the deployment uses it.
pub async fn report(
    conn: &mut Conn<'_>,
    settings: &ServiceSettings,
    mut groups: BTreeMap<String, Vec<RadiusRow>>,
) -> Result<Vec<Difference>> {
    let mut differences = Vec::new();
    let mut seen = BTreeSet::new();
    let mut after = 0;
    loop {
        let batch = crate::services::batch(conn, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let names: Vec<String> = batch.iter().map(|s| s.username.clone()).collect();
        let mut stored = stored_rows(conn, &names).await?;
        for service in &batch {
            seen.insert(service.username.clone());
            let expected = rows::expected(service, settings);
            let found = stored.remove(&service.username).unwrap_or_default();
            diff_user(
                &service.username,
                Some(service.id),
                expected,
                found,
                &mut differences,
            );
        }
    }
    for (name, found) in orphans(conn, &seen).await? {
        let empty = UserRows::default();
        diff_user(&name, None, empty, found, &mut differences);
    }
    if matches!(settings.suspended, SuspendedMode::WalledGarden { .. }) {
        groups.insert(
            WALLED_GARDEN_GROUP.to_owned(),
            rows::walled_garden_rows(settings),
        );
    }
    let stored_groups = group_rows(conn).await?;
    let names: BTreeSet<&String> = groups.keys().chain(stored_groups.keys()).collect();
    for name in names {
        let mut expected = groups.get(name).cloned().unwrap_or_default();
        let mut found = stored_groups.get(name).cloned().unwrap_or_default();
        expected.sort();
        found.sort();
        diff_rows(
            "radgroupreply",
            name,
            None,
            &expected,
            &found,
            &mut differences,
        );
    }
    differences.sort();
    Ok(differences)
}

fn diff_user(
    name: &str,
    service_id: Option<i64>,
    expected: UserRows,
    found: UserRows,
    out: &mut Vec<Difference>,
) {
    let (expected, found) = (expected.normalized(), found.normalized());
    diff_rows(
        "radcheck",
        name,
        service_id,
        &expected.check,
        &found.check,
        out,
    );
    diff_rows(
        "radreply",
        name,
        service_id,
        &expected.reply,
        &found.reply,
        out,
    );
    let as_rows = |groups: &[(String, i32)]| -> Vec<RadiusRow> {
        groups
            .iter()
            .map(|(group, priority)| RadiusRow::new(group, "", priority.to_string()))
            .collect()
    };
    diff_rows(
        "radusergroup",
        name,
        service_id,
        &as_rows(&expected.groups),
        &as_rows(&found.groups),
        out,
    );
}

/// Multiset difference of two sorted row lists.
fn diff_rows(
    table: &'static str,
    name: &str,
    service_id: Option<i64>,
    expected: &[RadiusRow],
    found: &[RadiusRow],
    out: &mut Vec<Difference>,
) {
    let mut remaining: Vec<&RadiusRow> = found.iter().collect();
    let mut push = |kind: &'static str, row: &RadiusRow| {
        out.push(Difference {
            table,
            name: name.to_owned(),
            service_id,
            kind,
            attribute: row.attribute.clone(),
            op: row.op.clone(),
            value: row.value.clone(),
        })
    };
    for row in expected {
        match remaining.iter().position(|r| *r == row) {
            Some(i) => {
                remaining.remove(i);
            }
            None => push("missing", row),
        }
    }
    for row in remaining {
        push("unexpected", row);
    }
}

/// The stored rows of `names`, in one query per table.
async fn stored_rows(conn: &mut Conn<'_>, names: &[String]) -> Result<BTreeMap<String, UserRows>> {
    let mut out: BTreeMap<String, UserRows> = BTreeMap::new();
    if names.is_empty() {
        return Ok(out);
    }
    let list = (1..=names.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    for table in ["radcheck", "radreply"] {
        let sql = format!(
            "SELECT username, attribute, op, value FROM {table} WHERE username IN ({list})"
        );
        let found: Vec<(String, String, String, String)> = on_conn!(conn, c => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for name in names {
                query = query.bind(name);
            }
            query.fetch_all(c).await
        })?;
        for (name, attribute, op, value) in found {
            let entry = out.entry(name).or_default();
            let row = RadiusRow {
                attribute,
                op,
                value,
            };
            if table == "radcheck" {
                entry.check.push(row);
            } else {
                entry.reply.push(row);
            }
        }
    }
    let sql = format!(
        "SELECT username, groupname, priority FROM radusergroup WHERE username IN ({list})"
    );
    let found: Vec<(String, String, i32)> = on_conn!(conn, c => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for name in names {
            query = query.bind(name);
        }
        query.fetch_all(c).await
    })?;
    for (name, group, priority) in found {
        out.entry(name).or_default().groups.push((group, priority));
    }
    Ok(out)
}

/// Rows of usernames no live service has.
async fn orphans(
    conn: &mut Conn<'_>,
    live: &BTreeSet<String>,
) -> Result<BTreeMap<String, UserRows>> {
    let mut names = BTreeSet::new();
    for table in ["radcheck", "radreply", "radusergroup"] {
        let sql = format!("SELECT DISTINCT username FROM {table}");
        let found: Vec<String> =
            on_conn!(conn, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(c).await)?;
        names.extend(found.into_iter().filter(|n| !live.contains(n)));
    }
    let names: Vec<String> = names.into_iter().collect();
    let mut out = BTreeMap::new();
    for chunk in names.chunks(BATCH as usize) {
        out.extend(stored_rows(conn, chunk).await?);
    }
    Ok(out)
}

/// Every group's reply rows.
async fn group_rows(conn: &mut Conn<'_>) -> Result<BTreeMap<String, Vec<RadiusRow>>> {
    let found: Vec<(String, String, String, String)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT groupname, attribute, op, value FROM radgroupreply ORDER BY id")
        .fetch_all(c)
        .await)?;
    let mut out: BTreeMap<String, Vec<RadiusRow>> = BTreeMap::new();
    for (group, attribute, op, value) in found {
        out.entry(group).or_default().push(RadiusRow {
            attribute,
            op,
            value,
        });
    }
    Ok(out)
}

/// Writes back what `differences` name: each differing username's rows as its service
/// says (none for a username without a live service), each differing group's rows.
/// Answers how many names were repaired.
pub async fn repair(
    conn: &mut Conn<'_>,
    settings: &ServiceSettings,
    groups: &BTreeMap<String, Vec<RadiusRow>>,
    differences: &[Difference],
) -> Result<usize> {
    let mut users: BTreeMap<&str, Option<i64>> = BTreeMap::new();
    let mut touched_groups = BTreeSet::new();
    for d in differences {
        if d.table == "radgroupreply" {
            touched_groups.insert(d.name.as_str());
        } else {
            users.insert(&d.name, d.service_id);
        }
    }
    for (name, service_id) in &users {
        let expected = match service_id {
            Some(id) => match crate::services::by_id(conn, *id).await? {
                Some(service) if service.status != ServiceStatus::Terminated => {
                    rows::expected(&service, settings)
                }
                _ => UserRows::default(),
            },
            None => UserRows::default(),
        };
        rows::write(conn, name, &expected).await?;
    }
    for group in &touched_groups {
        let expected = if *group == WALLED_GARDEN_GROUP {
            rows::walled_garden_rows(settings)
        } else {
            groups.get(*group).cloned().unwrap_or_default()
        };
        crate::radius_rows::write_group(conn, group, &expected).await?;
    }
    Ok(users.len() + touched_groups.len())
}
