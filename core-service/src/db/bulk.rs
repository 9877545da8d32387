//! Many rows in one statement: the one kind of write whose SQL differs by engine.
//!
//! PostgreSQL gets one array per column and `INSERT … SELECT … FROM UNNEST(…)`: the text
//! never changes with the number of rows, so it is prepared once and cached, and a few
//! parameters carry thousands of rows. SQLite has no arrays; it gets multi-row `VALUES`,
//! in chunks under its parameter limit, in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite};

use super::{Conn, Db, Tx, TxEngine};

/// SQLite's bound on parameters per statement (32,766 since 3.32), with room to spare.
const SQLITE_PARAMETERS: usize = 30_000;

/// One column's values, one per row.
#[derive(Debug, Clone)]
enum Values {
    Int(Vec<i64>),
    OptInt(Vec<Option<i64>>),
    Int4(Vec<i32>),
    Text(Vec<String>),
    Bool(Vec<bool>),
    Date(Vec<NaiveDate>),
    OptDate(Vec<Option<NaiveDate>>),
    Time(Vec<DateTime<Utc>>),
    OptTime(Vec<Option<DateTime<Utc>>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::OptInt(v) => v.len(),
            Values::Int4(v) => v.len(),
            Values::Text(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Date(v) => v.len(),
            Values::OptDate(v) => v.len(),
            Values::Time(v) => v.len(),
            Values::OptTime(v) => v.len(),
        }
    }

    /// The PostgreSQL array type the column travels as.
    fn array_type(&self) -> &'static str {
        match self {
            Values::Int(_) | Values::OptInt(_) => "bigint[]",
            Values::Int4(_) => "integer[]",
            Values::Text(_) => "text[]",
            Values::Bool(_) => "boolean[]",
            Values::Date(_) | Values::OptDate(_) => "date[]",
            Values::Time(_) | Values::OptTime(_) => "timestamptz[]",
        }
    }
}

/// Rows for one table, built column by column.
///
/// ```no_run
/// # async fn example(tx: &mut lastmile_core::db::Tx) -> sqlx::Result<u64> {
/// use lastmile_core::db::bulk::Rows;
/// let mut rows = Rows::new("notes");
/// rows.int("customer_id", [1, 2])
///     .text("body", ["First".to_owned(), "Second".to_owned()]);
/// rows.execute(&mut tx.conn()).await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Rows {
    table: &'static str,
    columns: Vec<(&'static str, Values)>,
}

macro_rules! column {
    ($(#[$doc:meta] $name:ident: $ty:ty => $variant:ident),* $(,)?) => {
        $(
            #[$doc]
            pub fn $name(&mut self, column: &'static str, values: impl IntoIterator<Item = $ty>) -> &mut Self {
                self.columns.push((column, Values::$variant(values.into_iter().collect())));
                self
            }
        )*
    };
}

impl Rows {
    /// No columns yet for `table`.
    pub fn new(table: &'static str) -> Self {
        Self {
            table,
            columns: Vec::new(),
        }
    }

    column! {
        /// A BIGINT column.
        int: i64 => Int,
        /// A nullable BIGINT column.
        opt_int: Option<i64> => OptInt,
        /// An INTEGER column.
        int4: i32 => Int4,
        /// A TEXT column.
        text: String => Text,
        /// A BOOLEAN column.
        bool: bool => Bool,
        /// A DATE column.
        date: NaiveDate => Date,
        /// A nullable DATE column.
        opt_date: Option<NaiveDate> => OptDate,
        /// A TIMESTAMPTZ column.
        time: DateTime<Utc> => Time,
        /// A nullable TIMESTAMPTZ column.
        opt_time: Option<DateTime<Utc>> => OptTime,
    }

    /// The number of rows (every column must have as many values).
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self) {
        let n = self.len();
        debug_assert!(
            self.columns.iter().all(|(_, v)| v.len() == n),
            "every column of a bulk insert into {} has one value per row",
            self.table
        );
    }

    fn names(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn postgres_sql(&self, returning: &str) -> String {
        let arrays = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, v))| format!("${}::{}", i + 1, v.array_type()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "INSERT INTO {} ({}) SELECT * FROM UNNEST({arrays})",
            self.table,
            self.names()
        );
        if !returning.is_empty() {
            sql.push_str(" RETURNING ");
            sql.push_str(returning);
        }
        sql
    }

    fn sqlite_sql(&self, rows: usize, returning: &str) -> String {
        let width = self.columns.len();
        let values = (0..rows)
            .map(|r| {
                let cells = (0..width)
                    .map(|c| format!("${}", r * width + c + 1))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({cells})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES {values}",
            self.table,
            self.names()
        );
        if !returning.is_empty() {
            sql.push_str(" RETURNING ");
            sql.push_str(returning);
        }
        sql
    }

    fn postgres_query(
        &self,
        sql: &str,
    ) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for (_, values) in &self.columns {
            q = match values {
                Values::Int(v) => q.bind(v),
                Values::OptInt(v) => q.bind(v),
                Values::Int4(v) => q.bind(v),
                Values::Text(v) => q.bind(v),
                Values::Bool(v) => q.bind(v),
                Values::Date(v) => q.bind(v),
                Values::OptDate(v) => q.bind(v),
                Values::Time(v) => q.bind(v),
                Values::OptTime(v) => q.bind(v),
            };
        }
        q
    }

    fn sqlite_query(
        &self,
        sql: &str,
        rows: std::ops::Range<usize>,
    ) -> sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for r in rows {
            for (_, values) in &self.columns {
                q = match values {
                    Values::Int(v) => q.bind(v[r]),
                    Values::OptInt(v) => q.bind(v[r]),
                    Values::Int4(v) => q.bind(v[r]),
                    Values::Text(v) => q.bind(&v[r]),
                    Values::Bool(v) => q.bind(v[r]),
                    Values::Date(v) => q.bind(v[r]),
                    Values::OptDate(v) => q.bind(v[r]),
                    Values::Time(v) => q.bind(v[r]),
                    Values::OptTime(v) => q.bind(v[r]),
                };
            }
        }
        q
    }

    /// Rows per SQLite statement.
    fn sqlite_chunk(&self) -> usize {
        (SQLITE_PARAMETERS / self.columns.len().max(1)).max(1)
    }

    /// The rows of each SQLite statement.
    fn sqlite_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let (len, chunk) = (self.len(), self.sqlite_chunk());
        (0..len)
            .step_by(chunk)
            .map(|start| start..(start + chunk).min(len))
            .collect()
    }

    /// Inserts the rows; returns how many were inserted.
    pub async fn execute(&self, conn: &mut Conn<'_>) -> sqlx::Result<u64> {
        self.check();
        if self.is_empty() {
            return Ok(0);
        }
        macro_rules! sqlite {
            ($c:expr) => {{
                let mut done = 0;
                for rows in self.sqlite_ranges() {
                    let sql = self.sqlite_sql(rows.len(), "");
                    done += self
                        .sqlite_query(&sql, rows)
                        .execute($c)
                        .await?
                        .rows_affected();
                }
                Ok(done)
            }};
        }
        match conn {
            Conn::Pool(Db::Postgres(pool)) => Ok(self
                .postgres_query(&self.postgres_sql(""))
                .execute(pool)
                .await?
                .rows_affected()),
            Conn::Tx(Tx {
                engine: TxEngine::Postgres(tx),
                ..
            }) => Ok(self
                .postgres_query(&self.postgres_sql(""))
                .execute(&mut **tx)
                .await?
                .rows_affected()),
            Conn::Pool(Db::Sqlite(pool)) => sqlite!(pool),
            Conn::Tx(Tx {
                engine: TxEngine::Sqlite(tx),
                ..
            }) => sqlite!(&mut **tx),
        }
    }

    /// Inserts the rows and reads `returning` back from each (in no promised order: carry
    /// a key to match them).
    pub async fn returning<T>(&self, conn: &mut Conn<'_>, returning: &str) -> sqlx::Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
    {
        self.check();
        if self.is_empty() {
            return Ok(Vec::new());
        }
        macro_rules! sqlite {
            ($c:expr) => {{
                let mut out = Vec::with_capacity(self.len());
                for rows in self.sqlite_ranges() {
                    let sql = self.sqlite_sql(rows.len(), returning);
                    for row in &self.sqlite_query(&sql, rows).fetch_all($c).await? {
                        out.push(T::from_row(row)?);
                    }
                }
                Ok(out)
            }};
        }
        macro_rules! postgres {
            ($c:expr) => {{
                let sql = self.postgres_sql(returning);
                let rows = self.postgres_query(&sql).fetch_all($c).await?;
                rows.iter().map(|row| T::from_row(row)).collect()
            }};
        }
        match conn {
            Conn::Pool(Db::Postgres(pool)) => postgres!(pool),
            Conn::Tx(Tx {
                engine: TxEngine::Postgres(tx),
                ..
            }) => postgres!(&mut **tx),
            Conn::Pool(Db::Sqlite(pool)) => sqlite!(pool),
            Conn::Tx(Tx {
                engine: TxEngine::Sqlite(tx),
                ..
            }) => sqlite!(&mut **tx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Rows {
        let mut rows = Rows::new("things");
        rows.int("id", [1, 2])
            .text("name", ["a".to_owned(), "b".to_owned()])
            .opt_date("day", [None, NaiveDate::from_ymd_opt(2026, 1, 31)]);
        rows
    }

    #[test]
    fn postgres_text_does_not_depend_on_the_rows() {
        let r = rows();
        assert_eq!(
            r.postgres_sql("id"),
            "INSERT INTO things (id, name, day) SELECT * FROM UNNEST($1::bigint[], $2::text[], \
             $3::date[]) RETURNING id"
        );
    }

    #[test]
    fn sqlite_values_number_the_cells_row_by_row() {
        assert_eq!(
            rows().sqlite_sql(2, ""),
            "INSERT INTO things (id, name, day) VALUES ($1, $2, $3), ($4, $5, $6)"
        );
    }

    #[test]
    fn sqlite_chunks_stay_under_the_parameter_limit() {
        let r = rows();
        assert_eq!(r.sqlite_chunk(), 10_000);
        assert_eq!(r.sqlite_ranges(), vec![0..2]);
        let mut wide = Rows::new("wide");
        wide.int("n", 0..30_001);
        assert_eq!(wide.sqlite_ranges(), vec![0..30_000, 30_000..30_001]);
    }
}
