//! Listing directory entries: a name search and the columns a list may be sorted by; the
//! paging and sort rules are those of every list ([`crate::paging`]).

use crate::error::Result;
use crate::paging::{PageQuery, Sort};

/// Sortable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// name, ignoring case
    Name,
    /// created_at
    CreatedAt,
    /// updated_at
    UpdatedAt,
    /// id
    Id,
}

impl SortColumn {
    /// The sort keys a client may use, each with its column.
    pub const KEYS: [(&'static str, SortColumn); 4] = [
        ("name", SortColumn::Name),
        ("created_at", SortColumn::CreatedAt),
        ("updated_at", SortColumn::UpdatedAt),
        ("id", SortColumn::Id),
    ];

    /// By name.
    pub const DEFAULT: Sort<SortColumn> = Sort {
        column: SortColumn::Name,
        descending: false,
    };

    /// The ORDER BY expression, for SQL.
    pub fn as_sql(self) -> &'static str {
        match self {
            SortColumn::Name => "lower(name)",
            SortColumn::CreatedAt => "created_at",
            SortColumn::UpdatedAt => "updated_at",
            SortColumn::Id => "id",
        }
    }
}

/// What to list.
#[derive(Debug, Clone)]
pub struct DirectoryQuery {
    /// The page.
    pub page: PageQuery,
    /// Name search text.
    pub search: String,
    /// Order.
    pub sort: Sort<SortColumn>,
}

impl DirectoryQuery {
    /// A query for `page`, reading `sort` (`name`, `-created_at`, …; empty means by name).
    pub fn new(page: PageQuery, search: String, sort: &str) -> Result<Self> {
        Ok(Self {
            page,
            search: search.trim().to_owned(),
            sort: Sort::parse(sort, &SortColumn::KEYS, SortColumn::DEFAULT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn sort_defaults_to_name_and_refuses_unknown_columns() {
        let q = DirectoryQuery::new(PageQuery::default(), " a ".into(), "").unwrap();
        assert_eq!(q.sort, SortColumn::DEFAULT);
        assert_eq!(q.search, "a");
        let q = DirectoryQuery::new(PageQuery::default(), String::new(), "-created_at").unwrap();
        assert_eq!(
            q.sort,
            Sort {
                column: SortColumn::CreatedAt,
                descending: true
            }
        );
        assert!(matches!(
            DirectoryQuery::new(
                PageQuery::default(),
                String::new(),
                "name; DROP TABLE partners"
            ),
            Err(Error::BadRequest(_))
        ));
    }
}
