//! The filters of `GET /api/v1/audit-log` → `ListAuditEntriesRequest`.

use crate::envelope::ApiError;
use crate::resource::QueryPairs;
use crate::resource::query::{invalid, pattern_parameter, text_parameter, time_parameter};
use chrono::{DateTime, Utc};
use lastmile_proto::v1::{ListAuditEntriesRequest, PageRequest};
use utoipa::openapi::path::Parameter;

/// `actor_id` as the document states it (ids of up to 18 digits, all of which fit).
const ACTOR: &str = r"^\s*(((user|key):)?0*[1-9][0-9]{0,17})?\s*$";

/// The filters, as the document states them.
pub(crate) fn filters() -> Vec<Parameter> {
    vec![
        pattern_parameter(
            "actor_id",
            "Entries by this user or API key: `user:<id>`, `key:<id>`, or a bare user id, the \
             id a positive 64-bit integer; empty is as if not given; anything else is a 400.",
            ACTOR,
        ),
        text_parameter("action", "Exact action, e.g. `customer.updated`.", &[]),
        text_parameter(
            "resource_type",
            "Exact resource type, e.g. `customer`.",
            &[],
        ),
        text_parameter("resource_id", "Exact resource id.", &[]),
        time_parameter(
            "from",
            "Entries at or after this time. Later than `to`: an empty page.",
        ),
        time_parameter("to", "Entries at or before this time."),
    ]
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

/// Reads the audit log's filters for `page`.
pub(crate) fn list_request(
    page: PageRequest,
    query: &QueryPairs,
) -> Result<ListAuditEntriesRequest, ApiError> {
    // `from` later than `to` is an empty range: an empty page, like any range with no entry.
    let from = query.get("from").map(|v| time(v, "from")).transpose()?;
    let to = query.get("to").map(|v| time(v, "to")).transpose()?;
    Ok(ListAuditEntriesRequest {
        page: Some(page),
        actor_id: query
            .get("actor_id")
            .map(actor)
            .transpose()?
            .unwrap_or_default(),
        action: query.text("action"),
        resource_type: query.text("resource_type"),
        resource_id: query.text("resource_id"),
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
        let query = QueryPairs(pairs);
        list_request(query.page()?, &query)
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
                per_page: 100
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
        let inverted = parse(&[
            ("from", "2024-01-02T00:00:00Z"),
            ("to", "2024-01-01T00:00:00Z"),
        ])
        .unwrap();
        assert!(inverted.from.unwrap().seconds > inverted.to.unwrap().seconds);
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
