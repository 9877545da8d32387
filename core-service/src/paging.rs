//! The paging and sorting rules of every list, written once: page from 1, `per_page` from
//! 1 to 100 (0, the proto default, means 25; more than 100 is capped, not refused), an
//! offset that cannot overflow however large the page, a page past the last that is an
//! empty list with correct meta, and sort keys checked against the list a resource
//! declares.

use lastmile_proto::v1 as pb;

use crate::error::{Error, Result};

/// The page a list call asked for, after the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    page: i32,
    per_page: i32,
}

impl Default for PageQuery {
    fn default() -> Self {
        PageQuery {
            page: 1,
            per_page: PageQuery::DEFAULT_PER_PAGE,
        }
    }
}

impl PageQuery {
    /// Page size when none is asked for.
    pub const DEFAULT_PER_PAGE: i32 = 25;
    /// Largest page size; larger requests are capped, not refused.
    pub const MAX_PER_PAGE: i32 = 100;

    /// Applies the rules: page 0 (unset) means 1, per_page 0 (unset) means 25, above 100
    /// means 100; negative numbers are refused.
    pub fn new(page: i32, per_page: i32) -> Result<Self> {
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
        })
    }

    /// The page of a list request (absent: the defaults).
    pub fn from_request(request: Option<pb::PageRequest>) -> Result<Self> {
        let request = request.unwrap_or_default();
        Self::new(request.page, request.per_page)
    }

    /// The page number, from 1.
    pub fn page(self) -> i32 {
        self.page
    }

    /// The page size, 1 to 100.
    pub fn per_page(self) -> i32 {
        self.per_page
    }

    /// Rows to return, for SQL `LIMIT`.
    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }

    /// Rows to skip, for SQL `OFFSET`. At most (2³¹ − 2) × 100, far inside an `i64`, so
    /// no page number overflows; a page past the last simply finds no rows.
    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    /// The last page for `total` matches; at least 1, even for an empty list.
    pub fn last_page(self, total: i64) -> i32 {
        let per_page = i64::from(self.per_page);
        let total = total.max(0);
        // Not `total + per_page - 1`, which overflows near `i64::MAX`.
        let pages = total / per_page + i64::from(total % per_page != 0);
        i32::try_from(pages.max(1)).unwrap_or(i32::MAX)
    }

    /// The page facts of an answer with `total` matches.
    pub fn meta(self, total: i64) -> pb::PageMeta {
        pb::PageMeta {
            current_page: self.page,
            per_page: self.per_page,
            total,
            last_page: self.last_page(total),
        }
    }
}

/// One page of a list: its items, how many match in all, and the page it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Matches in all.
    pub total: i64,
    /// The page returned.
    pub query: PageQuery,
}

impl<T> Page<T> {
    /// The page facts of the answer.
    pub fn meta(&self) -> pb::PageMeta {
        self.query.meta(self.total)
    }

    /// The items converted one by one (to their proto message, typically).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            query: self.query,
        }
    }

    /// The items converted, each of which may fail.
    pub fn try_map<U>(self, f: impl FnMut(T) -> Result<U>) -> Result<Page<U>> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_>>()?,
            total: self.total,
            query: self.query,
        })
    }
}

/// A LIKE pattern for a list's search text: lower-cased, with `%`, `_` and the backslash
/// escaped (for `LIKE $n ESCAPE` backslash); `""` when there is nothing to search for.
pub fn search_pattern(search: &str) -> String {
    let search = search.trim();
    if search.is_empty() {
        return String::new();
    }
    let escaped = search
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A sort order over a resource's own column type `C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<C> {
    /// The column.
    pub column: C,
    /// Descending when true.
    pub descending: bool,
}

impl<C: Copy + PartialEq> Sort<C> {
    /// Reads `created_at`, `-created_at`, `+name`, … against the `keys` a resource
    /// declares (name and column); empty means `default`. Any other key is refused with
    /// the list of the allowed ones.
    pub fn parse(text: &str, keys: &[(&str, C)], default: Sort<C>) -> Result<Sort<C>> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(default);
        }
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        keys.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, column)| Sort {
                column: *column,
                descending,
            })
            .ok_or_else(|| {
                let names: Vec<&str> = keys.iter().map(|(key, _)| *key).collect();
                Error::BadRequest(format!(
                    "The sort parameter must be one of {} (prefix with - for descending).",
                    names.join(", ")
                ))
            })
    }

    /// `ASC` or `DESC`, for SQL.
    pub fn direction(self) -> &'static str {
        if self.descending { "DESC" } else { "ASC" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_defaulted_and_capped_and_negatives_refused() {
        let q = |page, per_page| PageQuery::new(page, per_page);
        assert_eq!(q(0, 0).unwrap(), PageQuery::default());
        assert_eq!(
            (q(0, 0).unwrap().page(), q(0, 0).unwrap().per_page()),
            (1, 25)
        );
        assert_eq!(q(2, 500).unwrap().per_page(), 100);
        assert_eq!(q(2, 100).unwrap().per_page(), 100);
        assert_eq!(q(3, 1).unwrap().per_page(), 1);
        assert!(matches!(q(-1, 10), Err(Error::BadRequest(m)) if m.contains("page")));
        assert!(matches!(q(1, -10), Err(Error::BadRequest(m)) if m.contains("per_page")));
        assert_eq!(PageQuery::from_request(None).unwrap(), PageQuery::default());
    }

    #[test]
    fn the_largest_page_has_an_offset_and_correct_meta() {
        let q = PageQuery::new(i32::MAX, 100).unwrap();
        assert_eq!(q.offset(), (i64::from(i32::MAX) - 1) * 100);
        let meta = q.meta(3);
        assert_eq!(
            (meta.current_page, meta.per_page, meta.total, meta.last_page),
            (i32::MAX, 100, 3, 1)
        );
    }

    #[test]
    fn last_page_is_at_least_one() {
        let q = PageQuery::default();
        assert_eq!(q.last_page(0), 1);
        assert_eq!(q.last_page(25), 1);
        assert_eq!(q.last_page(26), 2);
        assert_eq!(q.last_page(150), 6);
        assert_eq!(PageQuery::new(1, 1).unwrap().last_page(i64::MAX), i32::MAX);
    }

    #[test]
    fn search_patterns_escape_like_wildcards() {
        assert_eq!(search_pattern("  "), "");
        assert_eq!(search_pattern(" North_50% "), "%north\\_50\\%%");
    }

    #[test]
    fn sort_keys_come_from_the_resource_and_nothing_else() {
        let keys = [("name", 'n'), ("created_at", 'c')];
        let default = Sort {
            column: 'n',
            descending: false,
        };
        assert_eq!(Sort::parse(" ", &keys, default).unwrap(), default);
        let sort = Sort::parse("-created_at", &keys, default).unwrap();
        assert_eq!((sort.column, sort.direction()), ('c', "DESC"));
        assert_eq!(Sort::parse("+name", &keys, default).unwrap(), default);
        let refused = Sort::parse("name; DROP TABLE partners", &keys, default);
        assert!(
            matches!(refused, Err(Error::BadRequest(m)) if m.contains("one of name, created_at"))
        );
    }
}
