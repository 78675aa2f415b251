//! Reading a row by column name, cheaply: a field reads the column of its name wherever
//! the SELECT put it, so reordering a SELECT cannot swap two fields.
//!
//! rusqlite's `Row::get("name")` looks the name up among all the columns on every call,
//! through the C API: a 21-column factor row costs some 200 lookups. This tries the
//! column after the last one read first (fields are usually read in the SELECT's order),
//! so a row costs one name comparison per field, and falls back to rusqlite's lookup.

use rusqlite::Row;
use rusqlite::types::FromSql;

use twofold_core::store::UnknownValue;

/// A row type read from a SQLite row.
pub(crate) trait FromSqlite: Sized {
    fn from_sqlite(r: &Row<'_>) -> rusqlite::Result<Self>;
}

pub(crate) struct ByName<'r, 's> {
    row: &'r Row<'s>,
    next: usize,
}

impl<'r, 's> ByName<'r, 's> {
    pub(crate) fn new(row: &'r Row<'s>) -> Self {
        Self { row, next: 0 }
    }

    /// Column `name`'s value.
    pub(crate) fn get<T: FromSql>(&mut self, name: &str) -> rusqlite::Result<T> {
        let stmt = self.row.as_ref();
        let at = match stmt.column_name(self.next) {
            Ok(n) if n.eq_ignore_ascii_case(name) => self.next,
            _ => stmt.column_index(name)?,
        };
        self.next = at + 1;
        self.row.get(at)
    }

    /// Column `name`, the stored name of one of `T`'s values.
    pub(crate) fn parsed<T>(&mut self, name: &str) -> rusqlite::Result<T>
    where
        T: TryFrom<String, Error = UnknownValue>,
    {
        let text: String = self.get(name)?;
        T::try_from(text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                self.next - 1,
                rusqlite::types::Type::Text,
                Box::new(e),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::Connection;

    use super::*;

    /// (a, b) read by name from `sql`.
    fn read(sql: &str) -> rusqlite::Result<(String, i64)> {
        let conn = Connection::open_in_memory().unwrap();
        conn.query_row(sql, [], |r| {
            let mut col = ByName::new(r);
            Ok((col.get("a")?, col.get("b")?))
        })
    }

    #[test]
    fn a_field_reads_its_own_column_wherever_the_select_put_it() {
        assert_eq!(read("SELECT 'x' AS a, 7 AS b").unwrap(), ("x".into(), 7));
        assert_eq!(read("SELECT 7 AS b, 'x' AS a").unwrap(), ("x".into(), 7));
        assert_eq!(
            read("SELECT 1 AS z, 7 AS B, 'x' AS A").unwrap(),
            ("x".into(), 7)
        );
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = read("SELECT 'x' AS a, 7 AS c").unwrap_err();
        assert!(
            matches!(&e, rusqlite::Error::InvalidColumnName(n) if n == "b"),
            "{e:?}"
        );
    }
}
