//! Listing customers: the columns a list may be sorted by and its filters; the paging
//! and sort rules are those of every list ([`crate::paging`]).

use super::CustomerStatus;
use crate::error::Result;
use crate::paging::{PageQuery, Sort};

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
    /// The sort keys a client may use, each with its column.
    pub const KEYS: [(&'static str, SortColumn); 7] = [
        ("created_at", SortColumn::CreatedAt),
        ("updated_at", SortColumn::UpdatedAt),
        ("id", SortColumn::Id),
        ("first_name", SortColumn::FirstName),
        ("last_name", SortColumn::LastName),
        ("email", SortColumn::Email),
        ("portal_id", SortColumn::PortalId),
    ];

    /// Newest first.
    pub const DEFAULT: Sort<SortColumn> = Sort {
        column: SortColumn::CreatedAt,
        descending: true,
    };

    /// The column name, for SQL.
    pub fn as_sql(self) -> &'static str {
        Self::KEYS
            .iter()
            .find(|(_, c)| *c == self)
            .map(|(n, _)| *n)
            .unwrap_or("created_at")
    }
}

/// What to list.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The page.
    pub page: PageQuery,
    /// Search text.
    pub search: String,
    /// Only this state.
    pub status: Option<CustomerStatus>,
    /// Only this partner.
    pub partner_id: Option<i64>,
    /// Order.
    pub sort: Sort<SortColumn>,
}

impl ListQuery {
    /// A query for `page`, reading `sort` against the customers' sort keys.
    pub fn new(
        page: PageQuery,
        search: String,
        status: Option<CustomerStatus>,
        partner_id: Option<i64>,
        sort: &str,
    ) -> Result<Self> {
        Ok(Self {
            page,
            search,
            status,
            partner_id,
            sort: Sort::parse(sort, &SortColumn::KEYS, SortColumn::DEFAULT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn sort_accepts_known_columns_in_both_directions() {
        let sort = |text| ListQuery::new(PageQuery::default(), String::new(), None, None, text);
        assert_eq!(sort("").unwrap().sort, SortColumn::DEFAULT);
        assert_eq!(
            sort("-first_name").unwrap().sort,
            Sort {
                column: SortColumn::FirstName,
                descending: true
            }
        );
        assert_eq!(
            sort("id").unwrap().sort,
            Sort {
                column: SortColumn::Id,
                descending: false
            }
        );
        assert!(matches!(sort("password_hash"), Err(Error::BadRequest(_))));
        assert!(matches!(
            sort("id; DROP TABLE customers"),
            Err(Error::BadRequest(_))
        ));
    }
}
