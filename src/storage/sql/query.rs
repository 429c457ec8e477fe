//! Building queries: the `$N`-placeholder query builder for statements assembled at run time
//! (filters, pagination, multi-row inserts), keyset pages, and the column aliasing of joined
//! reads.
//!
//! Owns: query assembly. Must not touch: what any query reads or writes.

use super::values::col;
use crate::storage::{Page, Result};
use sqlx::Any;
use sqlx::any::AnyRow;

/// Keyset pagination: `rows` were fetched with `LIMIT limit + 1`.
pub(super) fn page_of<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
    let limit = limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next }
}

/// A query assembled from fixed fragments with `$N` placeholders for every value.
pub(super) struct DynQuery {
    sql: String,
    args: Vec<DynArg>,
}

pub(super) enum DynArg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

impl DynQuery {
    pub(super) fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            args: Vec::new(),
        }
    }
    pub(super) fn push(&mut self, fragment: &str) -> &mut Self {
        self.sql.push_str(fragment);
        self
    }
    /// Appends a placeholder for `arg`.
    pub(super) fn arg(&mut self, arg: DynArg) -> &mut Self {
        self.args.push(arg);
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }
    pub(super) fn text(&mut self, s: &str) -> &mut Self {
        self.arg(DynArg::Text(s.to_owned()))
    }
    pub(super) fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        self.arg(DynArg::OptText(s.map(str::to_owned)))
    }
    pub(super) fn int(&mut self, i: i64) -> &mut Self {
        self.arg(DynArg::Int(i))
    }
    pub(super) fn build(self) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        // Only fixed fragments and placeholders are ever pushed into `sql`.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for a in self.args {
            q = match a {
                DynArg::Text(s) => q.bind(s),
                DynArg::OptText(s) => q.bind(s),
                DynArg::Int(i) => q.bind(i),
            };
        }
        q
    }
}

/// Column names of one table in a joined read: `""` for a plain `SELECT {X_COLS} FROM x`, or
/// the alias prefix given to [`aliased`] (`"o_"` for `o.id AS o_id, …`).
#[derive(Clone, Copy)]
pub(super) struct Prefix(pub(super) &'static str);

impl Prefix {
    pub(super) const NONE: Prefix = Prefix("");

    pub(super) fn n(self, column: &'static str) -> std::borrow::Cow<'static, str> {
        if self.0.is_empty() {
            std::borrow::Cow::Borrowed(column)
        } else {
            std::borrow::Cow::Owned(format!("{}{column}", self.0))
        }
    }
}

/// The rows a LEFT JOIN brought, read by `read`; `None` when `key` (a NOT NULL column of the
/// joined table) is NULL, i.e. when the join found no row.
pub(super) fn left_joined<T>(
    r: &AnyRow,
    key: &str,
    read: impl FnOnce() -> Result<T>,
) -> Result<Option<T>> {
    match col::<Option<String>>(r, key)? {
        None => Ok(None),
        Some(_) => read().map(Some),
    }
}

/// `"id, name"`, table alias `o`, prefix `o_` → `"o.id AS o_id, o.name AS o_name"`.
pub(super) fn aliased(cols: &str, table: &str, prefix: Prefix) -> String {
    cols.split(',')
        .map(str::trim)
        .map(|c| format!("{table}.{c} AS {}{c}", prefix.0))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_have_a_next_key_only_when_more_exist() {
        let p = page_of(vec![1, 2, 3, 4], 3, |i| i.to_string());
        assert_eq!((p.items, p.next), (vec![1, 2, 3], Some("3".into())));
        let p = page_of(vec![1, 2, 3], 3, |i| i.to_string());
        assert_eq!((p.items, p.next), (vec![1, 2, 3], None));
    }
}
