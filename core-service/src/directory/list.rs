//! Listing directory entries: the pages of every list, a name search and a few sort keys.

use super::Entry;
use crate::customers::ListQuery;
use crate::error::{Error, Result};

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
    const ALL: [(&'static str, SortColumn); 4] = [
        ("name", SortColumn::Name),
        ("created_at", SortColumn::CreatedAt),
        ("updated_at", SortColumn::UpdatedAt),
        ("id", SortColumn::Id),
    ];

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
    /// Page, from 1.
    pub page: i32,
    /// Page size, 1–100.
    pub per_page: i32,
    /// Name search text.
    pub search: String,
    /// Order column.
    pub sort: SortColumn,
    /// Descending when true.
    pub descending: bool,
}

impl DirectoryQuery {
    /// Applies the page rules of every list (see [`ListQuery::new`]) and reads `sort`:
    /// `name`, `-created_at`, …; empty means by name.
    pub fn new(page: i32, per_page: i32, search: String, sort: &str) -> Result<Self> {
        let pages = ListQuery::new(page, per_page, String::new(), None, None, "")?;
        let sort = sort.trim();
        let (descending, name) = match sort.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, sort.strip_prefix('+').unwrap_or(sort)),
        };
        let column = if name.is_empty() {
            SortColumn::Name
        } else {
            SortColumn::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, column)| *column)
                .ok_or_else(|| {
                    let names: Vec<&str> = SortColumn::ALL.iter().map(|(n, _)| *n).collect();
                    Error::BadRequest(format!(
                        "The sort parameter must be one of {} (prefix with - for descending).",
                        names.join(", ")
                    ))
                })?
        };
        Ok(Self {
            page: pages.page,
            per_page: pages.per_page,
            search: search.trim().to_owned(),
            sort: column,
            descending,
        })
    }
}

/// A page of entries.
#[derive(Debug)]
pub struct EntryList {
    /// The entries on this page.
    pub entries: Vec<Entry>,
    /// Matches in all.
    pub total: i64,
    /// The page returned.
    pub page: i32,
    /// The page size applied.
    pub per_page: i32,
}

impl EntryList {
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
    fn sort_defaults_to_name_and_refuses_unknown_columns() {
        let q = DirectoryQuery::new(0, 0, " a ".into(), "").unwrap();
        assert_eq!(
            (q.page, q.per_page, q.sort, q.descending),
            (1, 25, SortColumn::Name, false)
        );
        assert_eq!(q.search, "a");
        let q = DirectoryQuery::new(2, 500, String::new(), "-created_at").unwrap();
        assert_eq!(
            (q.per_page, q.sort, q.descending),
            (100, SortColumn::CreatedAt, true)
        );
        assert!(matches!(
            DirectoryQuery::new(1, 1, String::new(), "name; DROP TABLE partners"),
            Err(Error::BadRequest(_))
        ));
        assert!(DirectoryQuery::new(-1, 1, String::new(), "").is_err());
    }
}
