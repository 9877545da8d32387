//! Listing customers: pages, sorting, filters.

use super::Customer;
use super::CustomerStatus;
use crate::error::{Error, Result};

/// Sortable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// created_at
    CreatedAt,
    /// updated_at
    UpdatedAt,
    /// id
    Id,
    /// first_name
    FirstName,
    /// last_name
    LastName,
    /// email
    Email,
    /// portal_id
    PortalId,
}

impl SortColumn {
    const ALL: [(&'static str, SortColumn); 7] = [
        ("created_at", SortColumn::CreatedAt),
        ("updated_at", SortColumn::UpdatedAt),
        ("id", SortColumn::Id),
        ("first_name", SortColumn::FirstName),
        ("last_name", SortColumn::LastName),
        ("email", SortColumn::Email),
        ("portal_id", SortColumn::PortalId),
    ];

    /// The column name, for SQL.
    pub fn as_sql(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, c)| *c == self)
            .map(|(n, _)| *n)
            .unwrap_or("created_at")
    }
}

/// A sort order: a column and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub column: SortColumn,
    /// Descending when true.
    pub descending: bool,
}

impl Sort {
    /// Parses `created_at`, `-created_at`, …; empty means newest first.
    pub fn parse(text: &str) -> Result<Sort> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Sort {
                column: SortColumn::CreatedAt,
                descending: true,
            });
        }
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        SortColumn::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, column)| Sort {
                column: *column,
                descending,
            })
            .ok_or_else(|| {
                let names: Vec<&str> = SortColumn::ALL.iter().map(|(n, _)| *n).collect();
                Error::BadRequest(format!(
                    "The sort parameter must be one of {} (prefix with - for descending).",
                    names.join(", ")
                ))
            })
    }
}

/// What to list.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Page, from 1.
    pub page: i32,
    /// Page size, 1–100.
    pub per_page: i32,
    /// Search text.
    pub search: String,
    /// Only this state.
    pub status: Option<CustomerStatus>,
    /// Only this partner.
    pub partner_id: Option<i64>,
    /// Order.
    pub sort: Sort,
}

impl ListQuery {
    /// Default page size.
    pub const DEFAULT_PER_PAGE: i32 = 25;
    /// Largest page size; larger requests are capped, not refused.
    pub const MAX_PER_PAGE: i32 = 100;

    /// Applies the list rules: page 0 means 1, per_page 0 means 25, above 100 means 100;
    /// negative numbers are refused.
    pub fn new(
        page: i32,
        per_page: i32,
        search: String,
        status: Option<CustomerStatus>,
        partner_id: Option<i64>,
        sort: &str,
    ) -> Result<Self> {
        if page < 0 {
            return Err(Error::BadRequest(
                "The page parameter must be a positive integer.".into(),
            ));
        }
        if per_page < 0 {
            return Err(Error::BadRequest(
                "The per_page parameter must be a positive integer.".into(),
            ));
        }
        let per_page = match per_page {
            0 => Self::DEFAULT_PER_PAGE,
            n => n.min(Self::MAX_PER_PAGE),
        };
        Ok(Self {
            page: page.max(1),
            per_page,
            search,
            status,
            partner_id,
            sort: Sort::parse(sort)?,
        })
    }
}

/// A page of customers.
#[derive(Debug)]
pub struct CustomerList {
    /// The customers on this page.
    pub customers: Vec<Customer>,
    /// Matches in all.
    pub total: i64,
    /// The page returned.
    pub page: i32,
    /// The page size applied.
    pub per_page: i32,
}

impl CustomerList {
    /// The last page number; at least 1.
    pub fn last_page(&self) -> i32 {
        let pages = (self.total + i64::from(self.per_page) - 1) / i64::from(self.per_page);
        i32::try_from(pages.max(1)).unwrap_or(i32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_accepts_known_columns_in_both_directions() {
        assert_eq!(
            Sort::parse("").unwrap(),
            Sort {
                column: SortColumn::CreatedAt,
                descending: true
            }
        );
        assert_eq!(
            Sort::parse("-first_name").unwrap(),
            Sort {
                column: SortColumn::FirstName,
                descending: true
            }
        );
        assert_eq!(
            Sort::parse("id").unwrap(),
            Sort {
                column: SortColumn::Id,
                descending: false
            }
        );
        assert!(matches!(
            Sort::parse("password_hash"),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            Sort::parse("id; DROP TABLE customers"),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn page_sizes_are_defaulted_and_capped() {
        let q = |page, per_page| ListQuery::new(page, per_page, String::new(), None, None, "");
        assert_eq!(q(0, 0).unwrap().per_page, 25);
        assert_eq!(q(0, 0).unwrap().page, 1);
        assert_eq!(q(2, 500).unwrap().per_page, 100);
        assert!(q(-1, 10).is_err());
        assert!(q(1, -10).is_err());
    }

    #[test]
    fn last_page_is_at_least_one() {
        let list = |total| CustomerList {
            customers: vec![],
            total,
            page: 1,
            per_page: 25,
        };
        assert_eq!(list(0).last_page(), 1);
        assert_eq!(list(25).last_page(), 1);
        assert_eq!(list(26).last_page(), 2);
        assert_eq!(list(150).last_page(), 6);
    }
}
