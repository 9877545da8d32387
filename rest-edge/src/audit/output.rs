//! The JSON of the roles table and of audit entries.

use crate::format::{text, timestamp};
use lastmile_proto::v1::{AuditActor, AuditEntry, Operation, RoleGrants};
use lastmile_proto::{RestName, struct_to_json};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Per resource, the operations allowed, in the order of the core's table.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Permissions(Vec<(String, Vec<String>)>);

impl Serialize for Permissions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (resource, operations) in &self.0 {
            map.serialize_entry(resource, operations)?;
        }
        map.end()
    }
}

/// One role and what it may do.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "technician",
    "permissions": {"customers": ["read"], "api_keys": ["read", "create", "delete"], "roles": ["read"]}}))]
pub(crate) struct RoleJson {
    /// `admin`, `manager`, `billing`, `support`, `technician`, `reseller` or `read_only`.
    pub name: String,
    /// Per resource (`customers`, `partners`, `organizations`, `user_groups`, `users`,
    /// `api_keys`, `api_clients`, `audit_log`, `roles`, `jobs`, `events`, `webhooks`), the
    /// allowed operations (`read`, `create`, `update`, `delete`, `act`). A resource the role
    /// may not touch is absent. `jobs`: `read` lists and shows jobs, `act` retries one;
    /// `events`: `read` follows the event log (over gRPC); `webhooks`: `act` rotates a
    /// secret, sends a test event and redelivers.
    #[schema(value_type = std::collections::HashMap<String, Vec<String>>)]
    pub permissions: Permissions,
}

impl From<RoleGrants> for RoleJson {
    fn from(role: RoleGrants) -> Self {
        Self {
            name: role.name,
            permissions: Permissions(
                role.grants
                    .into_iter()
                    .map(|grant| {
                        let operations = grant.operations.iter();
                        let names = operations.map(|&o| Operation::rest_name_of(o).to_owned());
                        (grant.resource, names.collect())
                    })
                    .collect(),
            ),
        }
    }
}

/// Who made a change.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub(crate) struct AuditActorJson {
    /// The user, if a user acted.
    pub user_id: Option<i64>,
    /// The API key used, if any.
    pub api_key_id: Option<i64>,
    /// The actor's role at the time.
    #[schema(example = "admin")]
    pub role: String,
}

impl From<AuditActor> for AuditActorJson {
    fn from(actor: AuditActor) -> Self {
        Self {
            user_id: actor.user_id,
            api_key_id: actor.api_key_id,
            role: actor.role,
        }
    }
}

/// One recorded change. Entries are never changed or deleted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEntryJson {
    /// Entry id.
    pub id: i64,
    /// When, e.g. `2024-01-15T10:30:00.000000Z`.
    #[schema(example = "2024-01-15T10:30:00.000000Z")]
    pub occurred_at: Option<String>,
    /// Who.
    pub actor: AuditActorJson,
    /// What, e.g. `customer.created`, `customer.suspended`, `api_key.revoked`.
    #[schema(example = "customer.suspended")]
    pub action: String,
    /// The kind of resource, e.g. `customer`.
    #[schema(example = "customer")]
    pub resource_type: String,
    /// Its id.
    #[schema(example = "42")]
    pub resource_id: String,
    /// The changed fields as they were; null on creation. Secrets show as `[redacted]`.
    #[schema(value_type = Option<Object>, example = json!({"status": "active", "status_reason": null}))]
    pub before: Option<Map<String, Value>>,
    /// The changed fields as they became; null on deletion.
    #[schema(value_type = Option<Object>, example = json!({"status": "suspended", "status_reason": "Unpaid"}))]
    pub after: Option<Map<String, Value>>,
    /// Why: the `reason` of the request body, else its `X-Reason` header.
    pub reason: Option<String>,
    /// The id of the request that made the change (its `X-Request-Id`).
    pub request_id: Option<String>,
    /// The address of the client that made the change.
    #[schema(example = "203.0.113.7")]
    pub client_address: Option<String>,
}

impl From<AuditEntry> for AuditEntryJson {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            occurred_at: timestamp(entry.occurred_at),
            actor: entry.actor.unwrap_or_default().into(),
            action: entry.action,
            resource_type: entry.resource_type,
            resource_id: entry.resource_id,
            before: entry.before.map(struct_to_json),
            after: entry.after.map(struct_to_json),
            reason: entry.reason.and_then(text),
            request_id: text(entry.request_id),
            client_address: text(entry.client_address),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lastmile_proto::json_to_struct;
    use lastmile_proto::v1::ResourceGrant;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_role_shows_its_grants_as_an_object_in_table_order() {
        let role = RoleGrants {
            role: 6,
            name: "reseller".into(),
            grants: vec![
                ResourceGrant {
                    resource: "customers".into(),
                    operations: vec![Operation::Read as i32, Operation::Create as i32],
                },
                ResourceGrant {
                    resource: "api_keys".into(),
                    operations: vec![Operation::Read as i32],
                },
            ],
        };
        let text = serde_json::to_string(&RoleJson::from(role)).unwrap();
        assert_eq!(
            text,
            r#"{"name":"reseller","permissions":{"customers":["read","create"],"api_keys":["read"]}}"#
        );
    }

    #[test]
    fn an_entry_renders_every_field() {
        let entry = AuditEntry {
            id: 9,
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_705_314_600,
                nanos: 123_456_789,
            }),
            actor: Some(AuditActor {
                user_id: None,
                api_key_id: Some(3),
                role: "admin".into(),
            }),
            action: "customer.updated".into(),
            resource_type: "customer".into(),
            resource_id: "42".into(),
            before: Some(json_to_struct(object(
                json!({"city": "Nairobi", "billing_day": 5, "state": null}),
            ))),
            after: Some(json_to_struct(object(
                json!({"city": "Mombasa", "billing_day": 12, "state": "Coast"}),
            ))),
            reason: Some("Moved".into()),
            request_id: "req-1".into(),
            client_address: "127.0.0.1".into(),
        };
        assert_eq!(
            serde_json::to_value(AuditEntryJson::from(entry)).unwrap(),
            json!({
                "id": 9,
                "occurred_at": "2024-01-15T10:30:00.123456Z",
                "actor": {"user_id": null, "api_key_id": 3, "role": "admin"},
                "action": "customer.updated",
                "resource_type": "customer",
                "resource_id": "42",
                "before": {"city": "Nairobi", "billing_day": 5, "state": null},
                "after": {"city": "Mombasa", "billing_day": 12, "state": "Coast"},
                "reason": "Moved",
                "request_id": "req-1",
                "client_address": "127.0.0.1",
            })
        );
    }

    #[test]
    fn absent_parts_are_null() {
        let entry = AuditEntry {
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_705_314_600,
                nanos: 0,
            }),
            ..AuditEntry::default()
        };
        let json = serde_json::to_value(AuditEntryJson::from(entry)).unwrap();
        assert_eq!(json["occurred_at"], "2024-01-15T10:30:00.000000Z");
        for key in ["before", "after", "reason", "request_id", "client_address"] {
            assert_eq!(json[key], Value::Null, "{key}");
        }
        assert_eq!(
            json["actor"],
            json!({"user_id": null, "api_key_id": null, "role": ""})
        );
    }
}
