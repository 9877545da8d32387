//! The RADIUS rows a service must have, and the one function that writes them. Whatever
//! changes a service calls [`sync`] in the same transaction; the drift report compares the
//! tables with [`expected`] for every service.

use chrono::{DateTime, Utc};

use super::{Service, ServiceSettings, ServiceStatus, SuspendedMode};
use crate::catalog::radius::{group_name, speed_limit};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::radius_rows::{RadiusRow, write_group};

/// The group suspended subscribers are put in, in walled-garden mode.
pub const WALLED_GARDEN_GROUP: &str = "walled-garden";

/// The rows of one username.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRows {
    /// `radcheck`.
    pub check: Vec<RadiusRow>,
    /// `radreply`.
    pub reply: Vec<RadiusRow>,
    /// `radusergroup`: group and priority.
    pub groups: Vec<(String, i32)>,
}

impl UserRows {
    /// Sorted, for comparing sets regardless of row order.
    pub fn normalized(mut self) -> Self {
        self.check.sort();
        self.reply.sort();
        self.groups.sort();
        self
    }
}

/// FreeRADIUS's `Expiration` date format (read in the server's time zone, which Lastmile
/// deployments run in UTC).
fn expiration_text(at: DateTime<Utc>) -> String {
    at.format("%B %d %Y %H:%M:%S").to_string()
}

/// What the tables must say for `service`:
/// - active: the password, one session at a time, the MAC and expiry checks when set, the
///   plan's group, and per-service overrides and the static address as replies;
/// - suspended: a reject, or the walled-garden group instead of the plan's;
/// - pending activation and terminated: nothing (the login is unknown to the network).
pub fn expected(service: &Service, settings: &ServiceSettings) -> UserRows {
    let mut rows = UserRows::default();
    let walled = match (&service.status, &settings.suspended) {
        (ServiceStatus::Active, _) => false,
        (ServiceStatus::Suspended, SuspendedMode::Reject) => {
            rows.check.push(RadiusRow::new("Auth-Type", ":=", "Reject"));
            return rows;
        }
        (ServiceStatus::Suspended, SuspendedMode::WalledGarden { .. }) => true,
        (ServiceStatus::PendingActivation | ServiceStatus::Terminated, _) => return rows,
    };
    rows.check.push(RadiusRow::new(
        "Cleartext-Password",
        ":=",
        service.password.clone(),
    ));
    rows.check
        .push(RadiusRow::new("Simultaneous-Use", ":=", "1"));
    if let Some(mac) = &service.mac {
        rows.check
            .push(RadiusRow::new("Calling-Station-Id", "==", mac.clone()));
    }
    if let Some(expiration) = service.expiration {
        rows.check.push(RadiusRow::new(
            "Expiration",
            ":=",
            expiration_text(expiration),
        ));
    }
    if walled {
        rows.groups.push((WALLED_GARDEN_GROUP.to_owned(), 1));
        return rows;
    }
    rows.groups.push((group_name(service.plan_id), 1));
    if service.download_kbps.is_some() || service.upload_kbps.is_some() {
        let (down, up) = (service.download(), service.upload());
        rows.reply.push(RadiusRow::new(
            "Mikrotik-Rate-Limit",
            ":=",
            speed_limit(down, up),
        ));
        rows.reply.push(RadiusRow::new(
            "WISPr-Bandwidth-Max-Down",
            ":=",
            (down * 1000).to_string(),
        ));
        rows.reply.push(RadiusRow::new(
            "WISPr-Bandwidth-Max-Up",
            ":=",
            (up * 1000).to_string(),
        ));
    }
    if let Some(address) = &service.ip_address {
        rows.reply
            .push(RadiusRow::new("Framed-IP-Address", ":=", address.clone()));
    }
    rows
}

/// The rows of the walled-garden group.
pub fn walled_garden_rows(settings: &ServiceSettings) -> Vec<RadiusRow> {
    let mut rows = Vec::new();
    if let SuspendedMode::WalledGarden { address_list, pool } = &settings.suspended {
        if let Some(list) = address_list {
            rows.push(RadiusRow::new("Mikrotik-Address-List", "=", list.clone()));
        }
        if let Some(pool) = pool {
            rows.push(RadiusRow::new("Framed-Pool", "=", pool.clone()));
        }
    }
    rows
}

/// Replaces the rows of `service` (and of `previous_username`, when the login was renamed)
/// with what they must be. Runs inside the caller's transaction.
pub async fn sync(
    conn: &mut Conn<'_>,
    service: &Service,
    previous_username: Option<&str>,
    settings: &ServiceSettings,
) -> Result<()> {
    if let Some(previous) = previous_username.filter(|p| *p != service.username) {
        write(conn, previous, &UserRows::default()).await?;
    }
    if service.status == ServiceStatus::Suspended
        && matches!(settings.suspended, SuspendedMode::WalledGarden { .. })
    {
        write_group(conn, WALLED_GARDEN_GROUP, &walled_garden_rows(settings)).await?;
    }
    write(conn, &service.username, &expected(service, settings)).await
}

/// Makes the rows of `username` exactly `rows`.
pub async fn write(conn: &mut Conn<'_>, username: &str, rows: &UserRows) -> Result<()> {
    for table in ["radcheck", "radreply", "radusergroup"] {
        let sql = format!("DELETE FROM {table} WHERE username = $1");
        on_conn!(conn, c => sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username).execute(c).await.map(|d| d.rows_affected()))?;
    }
    for (table, list) in [("radcheck", &rows.check), ("radreply", &rows.reply)] {
        let sql =
            format!("INSERT INTO {table} (username, attribute, op, value) VALUES ($1, $2, $3, $4)");
        for row in list {
            on_conn!(conn, c => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(username)
                .bind(&row.attribute)
                .bind(&row.op)
                .bind(&row.value)
                .execute(c).await.map(|d| d.rows_affected()))?;
        }
    }
    for (group, priority) in &rows.groups {
        on_conn!(conn, c => sqlx::query(
            "INSERT INTO radusergroup (username, groupname, priority) VALUES ($1, $2, $3)")
            .bind(username)
            .bind(group)
            .bind(priority)
            .execute(c).await.map(|d| d.rows_affected()))?;
    }
    Ok(())
}

/// The rows the tables hold for `username`.
pub async fn stored(conn: &mut Conn<'_>, username: &str) -> Result<UserRows> {
    let mut rows = UserRows::default();
    for table in ["radcheck", "radreply"] {
        let sql =
            format!("SELECT attribute, op, value FROM {table} WHERE username = $1 ORDER BY id");
        let found: Vec<(String, String, String)> = on_conn!(conn, c =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(username).fetch_all(c).await)?;
        let list = found
            .into_iter()
            .map(|(attribute, op, value)| RadiusRow {
                attribute,
                op,
                value,
            })
            .collect();
        if table == "radcheck" {
            rows.check = list;
        } else {
            rows.reply = list;
        }
    }
    rows.groups = on_conn!(conn, c => sqlx::query_as(
        "SELECT groupname, priority FROM radusergroup WHERE username = $1 ORDER BY id")
        .bind(username)
        .fetch_all(c)
        .await)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn service(status: ServiceStatus) -> Service {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        Service {
            id: 7,
            customer_id: 1,
            partner_id: None,
            plan_id: 3,
            plan_name: "Home 100".into(),
            plan_download_kbps: 100_000,
            plan_upload_kbps: 10_000,
            status,
            status_reason: None,
            suspended_with_customer: false,
            download_kbps: None,
            upload_kbps: None,
            data_limit_mb: None,
            installation_address: None,
            scheduled_activation: None,
            notes: None,
            username: "10000001".into(),
            password: "s3cret".into(),
            mac: None,
            expiration: None,
            router_id: None,
            vlan_id: None,
            ip_pool_id: None,
            ip_address: None,
            pending_plan_id: None,
            activated_at: None,
            terminated_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn row(attribute: &str, op: &str, value: &str) -> RadiusRow {
        RadiusRow::new(attribute, op, value)
    }

    #[test]
    fn an_active_service_has_its_password_one_session_and_its_plan() {
        let rows = expected(&service(ServiceStatus::Active), &ServiceSettings::default());
        assert_eq!(
            rows.check,
            vec![
                row("Cleartext-Password", ":=", "s3cret"),
                row("Simultaneous-Use", ":=", "1")
            ]
        );
        assert_eq!(rows.reply, vec![]);
        assert_eq!(rows.groups, vec![("plan-3".to_owned(), 1)]);
    }

    #[test]
    fn overrides_mac_expiry_and_a_static_address_become_rows() {
        let mut s = service(ServiceStatus::Active);
        s.download_kbps = Some(50_000);
        s.mac = Some("AA:BB:CC:00:11:22".into());
        s.expiration = Some(Utc.with_ymd_and_hms(2027, 1, 5, 12, 30, 0).unwrap());
        s.ip_address = Some("100.64.0.10".into());
        let rows = expected(&s, &ServiceSettings::default());
        assert_eq!(
            rows.check[2..],
            [
                row("Calling-Station-Id", "==", "AA:BB:CC:00:11:22"),
                row("Expiration", ":=", "January 05 2027 12:30:00"),
            ]
        );
        assert_eq!(
            rows.reply,
            vec![
                row("Mikrotik-Rate-Limit", ":=", "10M/50M"),
                row("WISPr-Bandwidth-Max-Down", ":=", "50000000"),
                row("WISPr-Bandwidth-Max-Up", ":=", "10000000"),
                row("Framed-IP-Address", ":=", "100.64.0.10"),
            ]
        );
    }

    #[test]
    fn suspension_rejects_or_walls_the_garden() {
        let rows = expected(
            &service(ServiceStatus::Suspended),
            &ServiceSettings::default(),
        );
        assert_eq!(rows.check, vec![row("Auth-Type", ":=", "Reject")]);
        assert!(rows.groups.is_empty() && rows.reply.is_empty());

        let walled = ServiceSettings {
            suspended: SuspendedMode::WalledGarden {
                address_list: Some("unpaid".into()),
                pool: None,
            },
        };
        let rows = expected(&service(ServiceStatus::Suspended), &walled);
        assert_eq!(rows.groups, vec![("walled-garden".to_owned(), 1)]);
        assert_eq!(rows.check[0], row("Cleartext-Password", ":=", "s3cret"));
        assert_eq!(
            walled_garden_rows(&walled),
            vec![row("Mikrotik-Address-List", "=", "unpaid")]
        );
    }

    #[test]
    fn pending_and_terminated_services_have_no_rows() {
        for status in [ServiceStatus::PendingActivation, ServiceStatus::Terminated] {
            assert_eq!(
                expected(&service(status), &ServiceSettings::default()),
                UserRows::default()
            );
        }
    }
}
