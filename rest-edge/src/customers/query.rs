//! The query string of `GET /api/v1/customers` → `ListCustomersRequest`.

use crate::envelope::ApiError;
use lastmile_proto::v1::{CustomerStatus, ListCustomersRequest, PageRequest};
use utoipa::IntoParams;

/// Query parameters of the customer list (for the OpenAPI document; the handler reads
/// them by hand so that every bad value gets the contract's 400).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "describes the query string for the OpenAPI document only"
)]
pub(crate) struct ListCustomersParams {
    /// Page number, from 1. Default 1.
    page: Option<u32>,
    /// Items per page. Default 25; values above 100 are capped at 100.
    per_page: Option<u32>,
    /// Matches name, e-mail, phone or portal id (case-insensitive substring).
    search: Option<String>,
    /// `active`, `suspended` or `terminated`.
    status: Option<String>,
    /// Only customers of this partner.
    partner_id: Option<u64>,
    /// `created_at`, `updated_at`, `id`, `first_name`, `last_name`, `email` or `portal_id`;
    /// a leading `-` sorts descending. Default `-created_at`.
    sort: Option<String>,
}

fn invalid(detail: &str) -> ApiError {
    ApiError::bad_request("Invalid request", detail)
}

/// A positive integer written in plain digits (no sign, no spaces).
fn positive(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits, so only an overflow fails; such a number is simply very large.
    let n = value.parse::<u64>().unwrap_or(u64::MAX);
    (n > 0).then_some(n)
}

fn positive_i32(value: &str, name: &str) -> Result<i32, ApiError> {
    let n = positive(value)
        .ok_or_else(|| invalid(&format!("The {name} parameter must be a positive integer.")))?;
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Reads the list query. Unknown parameters are ignored; an empty value counts as absent;
/// when a parameter repeats, the last one wins.
pub(crate) fn list_request(pairs: &[(String, String)]) -> Result<ListCustomersRequest, ApiError> {
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
    let status = match get("status") {
        None => CustomerStatus::Unspecified,
        Some("active") => CustomerStatus::Active,
        Some("suspended") => CustomerStatus::Suspended,
        Some("terminated") => CustomerStatus::Terminated,
        Some(_) => {
            return Err(invalid(
                "The status parameter must be one of: active, suspended, terminated.",
            ));
        }
    };
    let partner_id = get("partner_id")
        .map(|v| {
            positive(v)
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| invalid("The partner_id parameter must be a positive integer."))
        })
        .transpose()?;
    Ok(ListCustomersRequest {
        page: Some(PageRequest {
            page: page.unwrap_or(1),
            per_page: per_page.unwrap_or(25),
        }),
        search: get("search").unwrap_or_default().to_owned(),
        status: status as i32,
        partner_id,
        sort: get("sort").unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> Result<ListCustomersRequest, ApiError> {
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
    fn defaults_are_page_one_of_twenty_five() {
        let request = parse(&[]).unwrap();
        assert_eq!(
            request.page,
            Some(PageRequest {
                page: 1,
                per_page: 25
            })
        );
        assert_eq!(request.status, 0);
        assert_eq!(request.partner_id, None);
        assert_eq!(request.search, "");
        assert_eq!(request.sort, "");
    }

    #[test]
    fn every_parameter_is_read_and_unknown_ones_ignored() {
        let request = parse(&[
            ("page", "3"),
            ("per_page", "500"),
            ("search", "ada"),
            ("status", "suspended"),
            ("partner_id", "9"),
            ("sort", "-first_name"),
            ("colour", "blue"),
        ])
        .unwrap();
        assert_eq!(
            request.page,
            Some(PageRequest {
                page: 3,
                per_page: 500
            })
        );
        assert_eq!(request.search, "ada");
        assert_eq!(request.status, CustomerStatus::Suspended as i32);
        assert_eq!(request.partner_id, Some(9));
        assert_eq!(request.sort, "-first_name");
    }

    #[test]
    fn page_and_per_page_must_be_positive_integers() {
        for bad in ["0", "-1", "abc", "1.5", "+2", "1e3"] {
            assert_eq!(
                detail(&[("page", bad)]),
                "The page parameter must be a positive integer.",
                "{bad}"
            );
            assert_eq!(
                detail(&[("per_page", bad)]),
                "The per_page parameter must be a positive integer.",
                "{bad}"
            );
        }
    }

    #[test]
    fn huge_pages_are_clamped_rather_than_refused() {
        let request = parse(&[("page", "99999999999999999999999")]).unwrap();
        assert_eq!(request.page.unwrap().page, i32::MAX);
    }

    #[test]
    fn an_unknown_status_is_refused() {
        assert_eq!(
            detail(&[("status", "deleted")]),
            "The status parameter must be one of: active, suspended, terminated."
        );
    }

    #[test]
    fn a_bad_partner_id_is_refused() {
        for bad in ["0", "x", "-4", "99999999999999999999"] {
            assert_eq!(
                detail(&[("partner_id", bad)]),
                "The partner_id parameter must be a positive integer.",
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_values_count_as_absent() {
        let request = parse(&[("page", ""), ("status", ""), ("partner_id", "")]).unwrap();
        assert_eq!(request.page.unwrap().page, 1);
        assert_eq!(request.status, 0);
        assert_eq!(request.partner_id, None);
    }
}
