//! The query string of `GET /api/v1/audit-log` → `ListAuditEntriesRequest`.

use crate::envelope::ApiError;
use chrono::{DateTime, Utc};
use lastmile_proto::v1::{ListAuditEntriesRequest, PageRequest};
use utoipa::IntoParams;

/// Query parameters of the audit log (for the OpenAPI document; the handler reads them by
/// hand so that every bad value gets the contract's 400).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "describes the query string for the OpenAPI document only"
)]
pub(crate) struct AuditLogParams {
    /// Page number, from 1. Default 1.
    page: Option<u32>,
    /// Items per page. Default 25; values above 100 are capped at 100.
    per_page: Option<u32>,
    /// Entries by this user or API key: `user:<id>`, `key:<id>`, or a bare user id.
    #[param(example = "key:3")]
    actor_id: Option<String>,
    /// Exact action, e.g. `customer.updated`.
    #[param(example = "customer.updated")]
    action: Option<String>,
    /// Exact resource type, e.g. `customer`.
    #[param(example = "customer")]
    resource_type: Option<String>,
    /// Exact resource id.
    resource_id: Option<String>,
    /// Entries at or after this time (RFC 3339).
    #[param(example = "2024-01-15T00:00:00Z")]
    from: Option<String>,
    /// Entries at or before this time (RFC 3339).
    #[param(example = "2024-01-16T00:00:00Z")]
    to: Option<String>,
}

fn invalid(detail: &str) -> ApiError {
    ApiError::bad_request("Invalid request", detail)
}

/// A positive integer written in plain digits (no sign, no spaces); huge values clamp.
fn positive_i32(value: &str, name: &str) -> Result<i32, ApiError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    // All digits, so only an overflow fails; such a number is simply very large.
    let n = digits.then(|| value.parse::<u64>().unwrap_or(u64::MAX));
    match n {
        Some(n) if n > 0 => Ok(i32::try_from(n).unwrap_or(i32::MAX)),
        _ => Err(invalid(&format!(
            "The {name} parameter must be a positive integer."
        ))),
    }
}

/// An RFC 3339 time. A `+` of the offset that arrived unencoded reads as a space in a
/// query string, so a space is taken for it.
fn time(value: &str, name: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .or_else(|e| match value.contains(' ') {
            true => DateTime::parse_from_rfc3339(&value.replace(' ', "+")),
            false => Err(e),
        })
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            invalid(&format!(
                "The {name} parameter must be an RFC 3339 time, e.g. 2024-01-15T10:30:00Z."
            ))
        })
}

/// `user:<id>`, `key:<id>` or a bare user id, the id a positive integer.
fn actor(value: &str) -> Result<String, ApiError> {
    let (kind, id) = value.split_once(':').unwrap_or(("user", value));
    let id_ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && id.parse::<i64>().is_ok_and(|n| n > 0);
    if !id_ok || !matches!(kind, "user" | "key") {
        return Err(invalid(
            "The actor_id parameter must be a user id, user:<id> or key:<id>.",
        ));
    }
    Ok(value.to_owned())
}

/// Reads the audit log query. Unknown parameters are ignored; an empty value counts as
/// absent; when a parameter repeats, the last one wins.
pub(crate) fn list_request(
    pairs: &[(String, String)],
) -> Result<ListAuditEntriesRequest, ApiError> {
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let page = get("page").map(|v| positive_i32(v, "page")).transpose()?;
    let per_page = get("per_page")
        .map(|v| positive_i32(v, "per_page"))
        .transpose()?;
    let from = get("from").map(|v| time(v, "from")).transpose()?;
    let to = get("to").map(|v| time(v, "to")).transpose()?;
    if from.zip(to).is_some_and(|(from, to)| from > to) {
        return Err(invalid("The from parameter must not be later than to."));
    }
    Ok(ListAuditEntriesRequest {
        page: Some(PageRequest {
            page: page.unwrap_or(1),
            per_page: per_page.unwrap_or(25),
        }),
        actor_id: get("actor_id").map(actor).transpose()?.unwrap_or_default(),
        action: get("action").unwrap_or_default().to_owned(),
        resource_type: get("resource_type").unwrap_or_default().to_owned(),
        resource_id: get("resource_id").unwrap_or_default().to_owned(),
        from: from.map(lastmile_proto::timestamp),
        to: to.map(lastmile_proto::timestamp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn parse(query: &[(&str, &str)]) -> Result<ListAuditEntriesRequest, ApiError> {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        list_request(&pairs)
    }

    fn detail(query: &[(&str, &str)]) -> String {
        let error = parse(query).unwrap_err();
        assert_eq!(error.status.as_u16(), 400);
        assert_eq!(error.body.message, "Invalid request");
        assert_eq!(error.body.code, "BAD_REQUEST");
        error.body.error.unwrap()
    }

    #[test]
    fn defaults_are_page_one_of_twenty_five_without_filters() {
        assert_eq!(
            parse(&[]).unwrap(),
            ListAuditEntriesRequest {
                page: Some(PageRequest {
                    page: 1,
                    per_page: 25
                }),
                ..ListAuditEntriesRequest::default()
            }
        );
    }

    #[test]
    fn every_filter_is_read_and_unknown_parameters_ignored() {
        let request = parse(&[
            ("page", "2"),
            ("per_page", "500"),
            ("actor_id", "key:7"),
            ("action", "customer.updated"),
            ("resource_type", "customer"),
            ("resource_id", " 42 "),
            ("from", "2024-01-15T10:30:00Z"),
            ("to", "2024-01-15T12:30:00.5+02:00"),
            ("colour", "blue"),
        ])
        .unwrap();
        assert_eq!(
            request.page,
            Some(PageRequest {
                page: 2,
                per_page: 500
            })
        );
        assert_eq!(request.actor_id, "key:7");
        assert_eq!(request.action, "customer.updated");
        assert_eq!(request.resource_type, "customer");
        assert_eq!(request.resource_id, "42");
        let from = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap();
        assert_eq!(request.from, Some(lastmile_proto::timestamp(from)));
        let to = request.to.unwrap();
        assert_eq!(to.seconds, from.timestamp());
        assert_eq!(to.nanos, 500_000_000);
    }

    #[test]
    fn an_offset_whose_plus_became_a_space_still_reads() {
        let request = parse(&[("from", "2024-01-15T12:30:00 02:00")]).unwrap();
        let from = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap();
        assert_eq!(request.from, Some(lastmile_proto::timestamp(from)));
    }

    #[test]
    fn bad_times_are_refused() {
        for bad in [
            "yesterday",
            "2024-01-15",
            "2024-13-01T00:00:00Z",
            "1705312200",
        ] {
            assert_eq!(
                detail(&[("from", bad)]),
                "The from parameter must be an RFC 3339 time, e.g. 2024-01-15T10:30:00Z.",
                "{bad}"
            );
            assert_eq!(
                detail(&[("to", bad)]),
                "The to parameter must be an RFC 3339 time, e.g. 2024-01-15T10:30:00Z.",
                "{bad}"
            );
        }
        assert_eq!(
            detail(&[
                ("from", "2024-01-02T00:00:00Z"),
                ("to", "2024-01-01T00:00:00Z")
            ]),
            "The from parameter must not be later than to."
        );
    }

    #[test]
    fn page_and_per_page_must_be_positive_integers() {
        for bad in ["0", "-1", "abc", "1.5", "+2"] {
            assert_eq!(
                detail(&[("page", bad)]),
                "The page parameter must be a positive integer."
            );
            assert_eq!(
                detail(&[("per_page", bad)]),
                "The per_page parameter must be a positive integer."
            );
        }
        let huge = parse(&[("page", "99999999999999999999999")]).unwrap();
        assert_eq!(huge.page.unwrap().page, i32::MAX);
    }

    #[test]
    fn actor_ids_name_a_user_or_a_key() {
        for good in ["12", "user:12", "key:3"] {
            assert_eq!(parse(&[("actor_id", good)]).unwrap().actor_id, good);
        }
        for bad in ["robot:1", "key:", "user:x", "key:0", "-3", "key:+3", "0"] {
            assert_eq!(
                detail(&[("actor_id", bad)]),
                "The actor_id parameter must be a user id, user:<id> or key:<id>.",
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_values_count_as_absent() {
        let request = parse(&[("page", ""), ("from", " "), ("actor_id", "")]).unwrap();
        assert_eq!(request.page.unwrap().page, 1);
        assert_eq!(request.from, None);
        assert_eq!(request.actor_id, "");
    }
}
